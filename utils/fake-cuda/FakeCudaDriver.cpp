//===- FakeCudaDriver.cpp - an emulated libcuda.so.1 for norm-gpu-runner ---===//
//
// A test double of the CUDA driver API, for machines without a GPU (CI): it
// lets norm-gpu-runner's host side run for real (manifest, buffers, the
// memref-descriptor kernel parameters, the launch shape, poisoning, the
// float64 reference and the comparison) against kernels that execute in
// utils/emulate_gpu_kernels.py, the SIMT emulator of the gpu-dialect IR.
// It is not a GPU: nothing about the PTX, the cubin or timing is checked,
// and the device name says so.
//
// "Device" memory is host memory. cuLaunchKernel decodes the parameters
// (every memref is (allocated, aligned, offset, sizes..., strides...), all
// 8-byte values), checks each descriptor against the allocations (known
// pointer, offset 0, row-major strides, in bounds), writes the buffers to
// files, runs the emulator on the kernel with the launch's grid and block,
// and reads the buffers back.
//
// Environment:
//   NORM_FAKE_CUDA_KERNELS   generic-form MLIR of the kernels (norm-opt
//                            --mlir-print-op-generic after convert-norm-to-gpu
//                            and norm-lower-subgroup-reduce)
//   NORM_FAKE_CUDA_EMULATOR  path of emulate_gpu_kernels.py
//   NORM_FAKE_CUDA_PYTHON    the Python to run it with (default python3)
//   NORM_FAKE_CUDA_LAUNCHES  emulate at most this many launches per kernel
//                            (later ones do nothing: timing loops); default 1
//
//===----------------------------------------------------------------------===//

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using CUresult = int;
constexpr CUresult kSuccess = 0, kInvalidValue = 1, kLaunchFailed = 719;

std::map<uint64_t, size_t> allocations; // base -> bytes
std::map<std::string, std::vector<int>> argumentRanks;
std::map<std::string, int> launches;
std::string lastError;

const char *env(const char *name, const char *fallback) {
  const char *v = std::getenv(name);
  return v && *v ? v : fallback;
}

CUresult fail(CUresult code, const std::string &why) {
  lastError = why;
  std::fprintf(stderr, "fake-cuda: %s\n", why.c_str());
  return code;
}

/// Whether [ptr, ptr + bytes) lies inside one allocation.
bool inAllocation(uint64_t ptr, size_t bytes) {
  auto it = allocations.upper_bound(ptr);
  if (it == allocations.begin())
    return false;
  --it;
  return ptr + bytes <= it->first + it->second;
}

std::string quote(const std::string &s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// Runs a shell command; its stdout in `out`. Returns the exit status.
int run(const std::string &command, std::string &out) {
  FILE *pipe = popen(command.c_str(), "r");
  if (!pipe)
    return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0)
    out.append(buf, n);
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string emulator() {
  return std::string(env("NORM_FAKE_CUDA_PYTHON", "python3")) + " " +
         quote(env("NORM_FAKE_CUDA_EMULATOR", "emulate_gpu_kernels.py")) + " " +
         quote(env("NORM_FAKE_CUDA_KERNELS", "kernels.mlir"));
}

/// The rank of each memref argument of `kernel`, from the emulator.
const std::vector<int> *ranksOf(const std::string &kernel) {
  auto it = argumentRanks.find(kernel);
  if (it != argumentRanks.end())
    return &it->second;
  std::string out;
  if (run(emulator() + " --argument-ranks " + quote(kernel), out) != 0)
    return nullptr;
  std::vector<int> ranks;
  std::istringstream is(out);
  for (int r; is >> r;)
    ranks.push_back(r);
  return &(argumentRanks[kernel] = ranks);
}

} // namespace

extern "C" {

CUresult cuInit(unsigned) { return kSuccess; }
CUresult cuDeviceGet(int *device, int ordinal) {
  *device = ordinal;
  return ordinal == 0 ? kSuccess : kInvalidValue;
}
CUresult cuDeviceGetName(char *name, int len, int) {
  std::snprintf(name, len, "fake-cuda (kernels emulated on the CPU, not a GPU)");
  return kSuccess;
}
CUresult cuDevicePrimaryCtxRetain(void **ctx, int) {
  static int context;
  *ctx = &context;
  return kSuccess;
}
CUresult cuCtxSetCurrent(void *) { return kSuccess; }
CUresult cuCtxSynchronize() { return kSuccess; }
CUresult cuModuleLoadData(void **module, const void *image) {
  *module = const_cast<void *>(image);
  return image ? kSuccess : kInvalidValue;
}
CUresult cuModuleGetFunction(void **function, void *, const char *name) {
  // The function handle is its name (kept for the process's lifetime).
  *function = new std::string(name);
  return ranksOf(name) ? kSuccess : fail(500, std::string("no kernel ") + name);
}
CUresult cuMemAlloc_v2(uint64_t *ptr, size_t bytes) {
  void *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!p)
    return fail(2, "out of memory");
  *ptr = reinterpret_cast<uint64_t>(p);
  allocations[*ptr] = bytes;
  return kSuccess;
}
CUresult cuMemFree_v2(uint64_t ptr) {
  if (!allocations.erase(ptr))
    return fail(kInvalidValue, "cuMemFree of an unknown pointer");
  std::free(reinterpret_cast<void *>(ptr));
  return kSuccess;
}
CUresult cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t bytes) {
  if (!inAllocation(dst, bytes))
    return fail(kInvalidValue, "cuMemcpyHtoD out of bounds");
  std::memcpy(reinterpret_cast<void *>(dst), src, bytes);
  return kSuccess;
}
CUresult cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t bytes) {
  if (!inAllocation(src, bytes))
    return fail(kInvalidValue, "cuMemcpyDtoH out of bounds");
  std::memcpy(dst, reinterpret_cast<void *>(src), bytes);
  return kSuccess;
}
CUresult cuMemcpyDtoD_v2(uint64_t dst, uint64_t src, size_t bytes) {
  if (!inAllocation(dst, bytes) || !inAllocation(src, bytes))
    return fail(kInvalidValue, "cuMemcpyDtoD out of bounds");
  std::memmove(reinterpret_cast<void *>(dst), reinterpret_cast<void *>(src), bytes);
  return kSuccess;
}
CUresult cuMemsetD8_v2(uint64_t dst, unsigned char value, size_t bytes) {
  if (!inAllocation(dst, bytes))
    return fail(kInvalidValue, "cuMemsetD8 out of bounds");
  std::memset(reinterpret_cast<void *>(dst), value, bytes);
  return kSuccess;
}

CUresult cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                        unsigned by, unsigned bz, unsigned sharedBytes, void *, void **params,
                        void **extra) {
  const std::string &name = *static_cast<std::string *>(function);
  if (gy != 1 || gz != 1 || by != 1 || bz != 1 || sharedBytes != 0 || extra)
    return fail(kLaunchFailed, name + ": the norm kernels take a 1-D launch, no dynamic "
                                      "shared memory and no extra parameters");
  int limit = std::atoi(env("NORM_FAKE_CUDA_LAUNCHES", "1"));
  if (++launches[name] > limit)
    return kSuccess;
  const std::vector<int> *ranks = ranksOf(name);
  if (!ranks)
    return fail(kLaunchFailed, name + ": the emulator does not know this kernel");

  char dir[] = "/tmp/fake-cuda-XXXXXX";
  if (!mkdtemp(dir))
    return fail(kLaunchFailed, "mkdtemp failed");
  std::string command = emulator() + " --launch " + quote(name) +
                        " --grid " + std::to_string(gx) + " --block " + std::to_string(bx);
  struct Arg {
    std::string path;
    void *data;
    size_t bytes;
  };
  std::vector<Arg> args;
  size_t next = 0;
  auto param = [&](size_t i) { return *static_cast<uint64_t *>(params[i]); };
  for (size_t a = 0; a < ranks->size(); ++a) {
    int rank = (*ranks)[a];
    uint64_t allocated = param(next), aligned = param(next + 1), offset = param(next + 2);
    std::vector<uint64_t> sizes, strides;
    for (int d = 0; d < rank; ++d)
      sizes.push_back(param(next + 3 + d));
    for (int d = 0; d < rank; ++d)
      strides.push_back(param(next + 3 + rank + d));
    next += 3 + 2 * rank;
    std::string where = name + " argument " + std::to_string(a);
    if (allocated != aligned || offset != 0)
      return fail(kLaunchFailed, where + ": descriptor is not (p, p, 0, ...)");
    uint64_t elements = 1;
    for (int d = rank - 1; d >= 0; --d) {
      if (strides[d] != elements)
        return fail(kLaunchFailed, where + ": strides are not row-major contiguous");
      elements *= sizes[d];
    }
    auto it = allocations.find(aligned);
    if (it == allocations.end())
      return fail(kLaunchFailed, where + ": pointer is not an allocation");
    // The element size is the emulator's business: give it the whole
    // allocation and the shape; it checks that they agree.
    std::string shape;
    for (int d = 0; d < rank; ++d)
      shape += (d ? "x" : "") + std::to_string(sizes[d]);
    std::string path = std::string(dir) + "/arg" + std::to_string(a) + ".bin";
    FILE *f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(reinterpret_cast<void *>(aligned), 1, it->second, f) != it->second)
      return fail(kLaunchFailed, "cannot write " + path);
    std::fclose(f);
    args.push_back({path, reinterpret_cast<void *>(aligned), it->second});
    command += " --buffer " + quote(path + ":" + shape);
  }
  std::string out;
  int status = run(command + " 2>&1", out);
  if (status == 0)
    for (const Arg &arg : args) {
      FILE *f = std::fopen(arg.path.c_str(), "rb");
      size_t got = f ? std::fread(arg.data, 1, arg.bytes, f) : 0;
      if (f)
        std::fclose(f);
      if (got != arg.bytes) {
        status = -1;
        out = "cannot read back " + arg.path;
      }
    }
  for (const Arg &arg : args)
    std::remove(arg.path.c_str());
  rmdir(dir);
  if (status != 0)
    return fail(kLaunchFailed, name + ": " + out);
  return kSuccess;
}

CUresult cuEventCreate(void **event, unsigned) {
  *event = new std::chrono::steady_clock::time_point();
  return kSuccess;
}
CUresult cuEventRecord(void *event, void *) {
  *static_cast<std::chrono::steady_clock::time_point *>(event) = std::chrono::steady_clock::now();
  return kSuccess;
}
CUresult cuEventSynchronize(void *) { return kSuccess; }
CUresult cuEventElapsedTime(float *ms, void *start, void *stop) {
  using TP = std::chrono::steady_clock::time_point;
  *ms = std::chrono::duration<float, std::milli>(*static_cast<TP *>(stop) -
                                                 *static_cast<TP *>(start))
            .count();
  return kSuccess;
}
CUresult cuGetErrorString(CUresult, const char **text) {
  *text = lastError.c_str();
  return kSuccess;
}

} // extern "C"
