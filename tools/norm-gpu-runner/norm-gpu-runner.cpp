//===- norm-gpu-runner.cpp - run and check the generated norm kernels -----===//
//
// Loads the cubin written by `norm-opt --emit=cubin` and the manifest from
// `--gpu-manifest`, runs each kernel on random inputs and checks it against
// a float64 CPU reference of the norm's definition:
//   - the outputs are poisoned (all bits set: NaN in f32/f16/bf16) first, so
//     an element the kernel does not write shows up as NaN;
//   - relative L2 error ||out - ref|| / ||ref|| below 1e-5 (f32), 2e-3 (f16),
//     1e-2 (bf16), for the normalized output and, for the fused residual
//     forms, the sum.
// With --bench it also times each kernel (CUDA events, warm-up, median of
// the runs, inputs rotated over enough buffers that L2 cannot hold them)
// and a device-to-device copy for the bandwidth ceiling.
//
// The CUDA driver API is reached through dlopen("libcuda.so.1"), so the
// runner builds on machines without a GPU or toolkit and says so clearly
// when run on one.
//
// Kernel ABI (convert-norm-to-gpu, MLIR's default memref calling
// convention): each memref argument is passed as its descriptor expanded
// into (allocated ptr, aligned ptr, offset, sizes..., strides...).
//
//===----------------------------------------------------------------------===//

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace llvm;

namespace {

//===----------------------------------------------------------------------===//
// The few driver API entry points we need, declared here so the build needs
// no CUDA headers.
//===----------------------------------------------------------------------===//

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUevent = struct CUevent_st *;
using CUstream = struct CUstream_st *;

struct Driver {
  void *handle = nullptr;
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemcpyDtoD)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, CUstream, void **, void **);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*cuGetErrorString)(CUresult, const char **);

  /// Loads libcuda.so.1; returns an error message on failure.
  std::string load() {
    handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char *why = dlerror();
      return std::string("cannot load the CUDA driver (libcuda.so.1): ") +
             (why ? why : "unknown error") +
             "; running kernels needs a machine with an NVIDIA GPU and driver";
    }
    std::string missing;
    auto sym = [&](auto &fn, std::initializer_list<const char *> names) {
      for (const char *name : names)
        if (void *p = dlsym(handle, name)) {
          fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
          return;
        }
      missing += std::string(" ") + *names.begin();
    };
    sym(cuInit, {"cuInit"});
    sym(cuDeviceGet, {"cuDeviceGet"});
    sym(cuDeviceGetName, {"cuDeviceGetName"});
    sym(cuDevicePrimaryCtxRetain, {"cuDevicePrimaryCtxRetain"});
    sym(cuCtxSetCurrent, {"cuCtxSetCurrent"});
    sym(cuCtxSynchronize, {"cuCtxSynchronize"});
    sym(cuModuleLoadData, {"cuModuleLoadData"});
    sym(cuModuleGetFunction, {"cuModuleGetFunction"});
    sym(cuMemAlloc, {"cuMemAlloc_v2"});
    sym(cuMemFree, {"cuMemFree_v2"});
    sym(cuMemcpyHtoD, {"cuMemcpyHtoD_v2"});
    sym(cuMemcpyDtoH, {"cuMemcpyDtoH_v2"});
    sym(cuMemcpyDtoD, {"cuMemcpyDtoD_v2"});
    sym(cuMemsetD8, {"cuMemsetD8_v2"});
    sym(cuLaunchKernel, {"cuLaunchKernel"});
    sym(cuEventCreate, {"cuEventCreate"});
    sym(cuEventRecord, {"cuEventRecord"});
    sym(cuEventSynchronize, {"cuEventSynchronize"});
    sym(cuEventElapsedTime, {"cuEventElapsedTime_v2", "cuEventElapsedTime"});
    sym(cuGetErrorString, {"cuGetErrorString"});
    if (!missing.empty())
      return "the CUDA driver lacks:" + missing;
    return "";
  }
};

Driver driver;

[[noreturn]] void fatal(const Twine &message) {
  errs() << "norm-gpu-runner: error: " << message << "\n";
  std::exit(2);
}

void check(CUresult result, StringRef what) {
  if (result == 0)
    return;
  const char *text = nullptr;
  if (driver.cuGetErrorString)
    driver.cuGetErrorString(result, &text);
  fatal(Twine(what) + " failed: " + (text ? text : "error") + " (" + Twine(result) + ")");
}

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

enum class Elem { F32, F16, BF16 };

std::optional<Elem> parseElem(StringRef s) {
  if (s == "f32")
    return Elem::F32;
  if (s == "f16")
    return Elem::F16;
  if (s == "bf16")
    return Elem::BF16;
  return std::nullopt;
}
size_t elemBytes(Elem e) { return e == Elem::F32 ? 4 : 2; }
double tolerance(Elem e) { return e == Elem::F32 ? 1e-5 : e == Elem::F16 ? 2e-3 : 1e-2; }

uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float bitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t toBF16(float f) {
  uint32_t u = floatBits(f);
  if (std::isnan(f))
    return 0x7fc0;
  u += 0x7fff + ((u >> 16) & 1); // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}
float fromBF16(uint16_t h) { return bitsFloat(static_cast<uint32_t>(h) << 16); }

uint16_t toF16(float f) {
  uint32_t u = floatBits(f);
  uint32_t sign = (u >> 16) & 0x8000;
  int32_t exp = static_cast<int32_t>((u >> 23) & 0xff) - 127 + 15;
  uint32_t mant = u & 0x7fffff;
  if (((u >> 23) & 0xff) == 0xff)
    return static_cast<uint16_t>(sign | 0x7c00 | (mant ? 0x200 : 0));
  if (exp >= 31)
    return static_cast<uint16_t>(sign | 0x7c00);
  if (exp <= 0) {
    if (exp < -10)
      return static_cast<uint16_t>(sign);
    mant |= 0x800000;
    uint32_t shift = static_cast<uint32_t>(14 - exp);
    uint32_t half = mant >> shift;
    uint32_t rest = mant & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rest > mid || (rest == mid && (half & 1)))
      ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
    ++half; // may carry into the exponent, which is right
  return static_cast<uint16_t>(sign | half);
}
float fromF16(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  if (exp == 0) {
    float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31)
    return bitsFloat(sign | 0x7f800000 | (mant << 13));
  return bitsFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

/// Host storage of one tensor in its element type, with its values as
/// doubles (after rounding to the type).
struct HostTensor {
  Elem elem;
  std::vector<uint8_t> bytes;
  size_t count() const { return bytes.size() / elemBytes(elem); }
  double get(size_t i) const {
    if (elem == Elem::F32) {
      float f;
      std::memcpy(&f, &bytes[i * 4], 4);
      return f;
    }
    uint16_t h;
    std::memcpy(&h, &bytes[i * 2], 2);
    return elem == Elem::F16 ? fromF16(h) : fromBF16(h);
  }
  void set(size_t i, double v) {
    float f = static_cast<float>(v);
    if (elem == Elem::F32) {
      std::memcpy(&bytes[i * 4], &f, 4);
      return;
    }
    uint16_t h = elem == Elem::F16 ? toF16(f) : toBF16(f);
    std::memcpy(&bytes[i * 2], &h, 2);
  }
  static HostTensor make(Elem elem, size_t n) {
    return HostTensor{elem, std::vector<uint8_t>(n * elemBytes(elem))};
  }
};

//===----------------------------------------------------------------------===//
// Reference
//===----------------------------------------------------------------------===//

struct KernelInfo {
  std::string name, kind;
  Elem elem;
  int64_t hidden, blockThreads, rowsPerBlock;
  double epsilon;
  bool unitOffset;
  struct Arg {
    std::string name;
    Elem elem;
    int64_t rank, cols; // rows x cols (rank 2) or cols (a weight)
  };
  std::vector<Arg> args;
  const Arg *find(StringRef arg) const {
    for (const Arg &a : args)
      if (a.name == arg)
        return &a;
    return nullptr;
  }
  bool has(StringRef arg) const { return find(arg) != nullptr; }
};

/// float64 reference of rms_scale: `value / sqrt(mean(input^2) + eps)`, or
/// (rms_scale_factors) the `1 / sqrt(mean(input^2) + eps)` of each row.
void referenceDeferredScale(const KernelInfo &k, int64_t rows,
                            const std::map<std::string, HostTensor> &in, std::vector<double> &out) {
  bool factorsOnly = k.kind == "rms_scale_factors";
  int64_t h = k.find("input")->cols, n = factorsOnly ? 1 : k.find("value")->cols;
  out.assign(rows * n, 0);
  for (int64_t r = 0; r < rows; ++r) {
    double ms = 0;
    for (int64_t c = 0; c < h; ++c) {
      double x = in.at("input").get(r * h + c);
      ms += x * x;
    }
    double rstd = 1.0 / std::sqrt(ms / h + k.epsilon);
    for (int64_t c = 0; c < n; ++c)
      out[r * n + c] = factorsOnly ? rstd : in.at("value").get(r * n + c) * rstd;
  }
}

/// float64 reference: fills `out` (and `sum`) for every row.
void reference(const KernelInfo &k, int64_t rows, const std::map<std::string, HostTensor> &in,
               std::vector<double> &out, std::vector<double> &sum) {
  if (k.kind == "rms_scale" || k.kind == "rms_scale_factors") {
    sum.clear();
    return referenceDeferredScale(k, rows, in, out);
  }
  int64_t stored = k.hidden;
  bool skip = k.kind.rfind("skip_", 0) == 0;
  bool layer = k.kind.find("layer_norm") != std::string::npos;
  // crms_norm: x holds the first d - 1 entries of a zero-mean row of d.
  bool compressed = k.kind == "crms_norm";
  int64_t h = compressed ? stored + 1 : stored;
  out.assign(rows * h, 0);
  sum.assign(skip ? rows * h : 0, 0);
  std::vector<double> v(h);
  HostTensor rounding = HostTensor::make(k.elem, 1);
  for (int64_t r = 0; r < rows; ++r) {
    double dropped = 0;
    for (int64_t c = 0; c < h; ++c) {
      if (c == stored) { // only when compressed
        v[c] = dropped;
        continue;
      }
      double x = in.at("x").get(r * stored + c);
      dropped -= x;
      if (skip) {
        x += in.at("skip").get(r * h + c);
        if (k.has("skip_bias"))
          x += in.at("skip_bias").get(c);
        // The sum is a tensor of the activation type.
        rounding.set(0, x);
        x = rounding.get(0);
        sum[r * h + c] = x;
      }
      v[c] = x;
    }
    double mean = 0;
    if (layer) {
      for (double x : v)
        mean += x;
      mean /= h;
    }
    double ms = 0;
    for (double x : v)
      ms += (x - mean) * (x - mean);
    ms /= h;
    double rstd = 1.0 / std::sqrt(ms + k.epsilon);
    for (int64_t c = 0; c < h; ++c) {
      double y = (v[c] - mean) * rstd;
      if (k.has("scale"))
        y *= in.at("scale").get(c) + (k.unitOffset ? 1.0 : 0.0);
      if (k.has("bias"))
        y += in.at("bias").get(c);
      out[r * h + c] = y;
    }
  }
}

struct Comparison {
  double relErr = 0;
  int64_t nans = 0;
};
Comparison compare(const HostTensor &got, const std::vector<double> &ref) {
  Comparison c;
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    double g = got.get(i);
    if (std::isnan(g)) {
      ++c.nans;
      continue;
    }
    num += (g - ref[i]) * (g - ref[i]);
    den += ref[i] * ref[i];
  }
  c.relErr = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  return c;
}

//===----------------------------------------------------------------------===//
// Device side
//===----------------------------------------------------------------------===//

struct DeviceBuffer {
  CUdeviceptr ptr = 0;
  size_t bytes = 0;
};

DeviceBuffer alloc(size_t bytes) {
  DeviceBuffer b;
  b.bytes = bytes;
  check(driver.cuMemAlloc(&b.ptr, std::max<size_t>(bytes, 16)), "cuMemAlloc");
  return b;
}

/// Kernel parameters for memref descriptors: each memref argument expands
/// into (ptr, ptr, offset, sizes..., strides...).
struct LaunchParams {
  std::vector<uint64_t> values;
  std::vector<void *> pointers;
  void add(CUdeviceptr ptr, ArrayRef<int64_t> shape) {
    values.push_back(ptr);
    values.push_back(ptr);
    values.push_back(0);
    for (int64_t d : shape)
      values.push_back(static_cast<uint64_t>(d));
    int64_t stride = 1;
    SmallVector<int64_t> strides(shape.size());
    for (int64_t i = shape.size() - 1; i >= 0; --i) {
      strides[i] = stride;
      stride *= shape[i];
    }
    for (int64_t s : strides)
      values.push_back(static_cast<uint64_t>(s));
  }
  void **finish() {
    pointers.clear();
    for (uint64_t &v : values)
      pointers.push_back(&v);
    return pointers.data();
  }
};

cl::opt<std::string> cubinPath(cl::Positional, cl::desc("<kernels.cubin>"), cl::Required);
cl::opt<std::string> manifestPath("manifest",
                                  cl::desc("JSON from norm-opt --gpu-manifest "
                                           "(default: <cubin>.json)"),
                                  cl::init(""));
cl::list<std::string> kernelNames("kernel", cl::desc("Kernel to run (default: all)"));
cl::opt<int64_t> rowsOpt("rows", cl::desc("Rows (tokens)"), cl::init(1000));
cl::opt<unsigned> seed("seed", cl::desc("Random seed"), cl::init(1));
cl::opt<bool> bench("bench", cl::desc("Also time each kernel"), cl::init(false));
cl::opt<int> iterations("iterations", cl::desc("Timed launches with --bench"), cl::init(100));
cl::opt<bool> jsonOut("json", cl::desc("Print one JSON object per kernel"), cl::init(false));

std::vector<KernelInfo> readManifest(StringRef path) {
  auto buffer = MemoryBuffer::getFile(path);
  if (!buffer)
    fatal(Twine(path) + ": " + buffer.getError().message());
  Expected<json::Value> value = json::parse((*buffer)->getBuffer());
  if (!value)
    fatal(Twine(path) + ": " + toString(value.takeError()));
  std::vector<KernelInfo> kernels;
  const json::Array *list =
      value->getAsObject() ? value->getAsObject()->getArray("kernels") : nullptr;
  if (!list)
    fatal(Twine(path) + ": no \"kernels\" array");
  for (const json::Value &entry : *list) {
    const json::Object *o = entry.getAsObject();
    KernelInfo k;
    k.name = o->getString("name").value_or("").str();
    k.kind = o->getString("kind").value_or("").str();
    auto elem = parseElem(o->getString("element_type").value_or(""));
    if (!elem)
      fatal(Twine(path) + ": kernel " + k.name + ": unsupported element type");
    k.elem = *elem;
    k.hidden = o->getInteger("hidden").value_or(0);
    k.blockThreads = o->getInteger("block_threads").value_or(0);
    k.rowsPerBlock = o->getInteger("rows_per_block").value_or(0);
    k.epsilon = o->getNumber("epsilon").value_or(0);
    k.unitOffset = o->getBoolean("unit_offset").value_or(false);
    if (const json::Array *args = o->getArray("arguments"))
      for (const json::Value &a : *args) {
        const json::Object *ao = a.getAsObject();
        auto ae = parseElem(ao->getString("element_type").value_or(""));
        int64_t rank = ao->getInteger("rank").value_or(0);
        int64_t cols = ao->getInteger("cols").value_or(k.hidden);
        if (!ae || (rank != 1 && rank != 2) || cols <= 0)
          fatal(Twine(path) + ": kernel " + k.name + ": bad argument");
        k.args.push_back({ao->getString("name").value_or("").str(), *ae, rank, cols});
      }
    if (k.name.empty() || k.hidden <= 0 || k.blockThreads <= 0 || k.rowsPerBlock <= 0 ||
        k.args.empty())
      fatal(Twine(path) + ": incomplete kernel entry '" + k.name + "'");
    kernels.push_back(std::move(k));
  }
  return kernels;
}

bool isOutput(StringRef name) { return name == "out" || name == "sum"; }

/// Runs one kernel, checks it; returns whether it passed.
bool runKernel(CUmodule module, const KernelInfo &k, int64_t rows, std::mt19937_64 &rng) {
  CUfunction function;
  check(driver.cuModuleGetFunction(&function, module, k.name.c_str()),
        "cuModuleGetFunction(" + k.name + ")");
  int64_t h = k.hidden;
  std::normal_distribution<double> activation(0.5, 1.5), residual(0.0, 1.0);
  std::uniform_real_distribution<double> gain(0.5, 1.5), shift(-0.5, 0.5);

  auto elements = [&](const KernelInfo::Arg &a) -> size_t {
    return a.rank == 2 ? rows * a.cols : a.cols;
  };
  std::map<std::string, HostTensor> host;
  for (const KernelInfo::Arg &a : k.args) {
    const std::string &name = a.name;
    size_t n = elements(a);
    HostTensor t = HostTensor::make(a.elem, n);
    for (size_t i = 0; i < n && !isOutput(name); ++i)
      t.set(i, name == "x" || name == "input" ? activation(rng)
               : name == "skip" || name == "value" ? residual(rng)
               : name == "scale" ? (k.unitOffset ? shift(rng) : gain(rng))
                                 : shift(rng));
    host.emplace(name, std::move(t));
  }

  // With --bench, enough copies of the per-row buffers that they do not fit
  // in L2 (50 MB on an H100) when rotated.
  size_t rowBytes = 0;
  for (const KernelInfo::Arg &a : k.args)
    if (a.rank == 2)
      rowBytes += elements(a) * elemBytes(a.elem);
  int copies = bench ? static_cast<int>(std::clamp<size_t>(
                           (256u << 20) / std::max<size_t>(rowBytes, 1) + 1, 2, 64))
                     : 1;

  std::vector<std::map<std::string, DeviceBuffer>> sets(copies);
  for (auto &set : sets)
    for (const KernelInfo::Arg &a : k.args) {
      const std::string &name = a.name;
      const HostTensor &t = host.at(name);
      DeviceBuffer b = alloc(t.bytes.size());
      if (isOutput(name))
        check(driver.cuMemsetD8(b.ptr, 0xff, b.bytes), "cuMemsetD8 (poison)");
      else
        check(driver.cuMemcpyHtoD(b.ptr, t.bytes.data(), b.bytes), "cuMemcpyHtoD");
      set.emplace(name, b);
    }
  auto params = [&](std::map<std::string, DeviceBuffer> &set) {
    LaunchParams p;
    for (const KernelInfo::Arg &a : k.args) {
      if (a.rank == 2)
        p.add(set.at(a.name).ptr, {rows, a.cols});
      else
        p.add(set.at(a.name).ptr, {a.cols});
    }
    return p;
  };
  unsigned grid = static_cast<unsigned>((rows + k.rowsPerBlock - 1) / k.rowsPerBlock);
  auto launch = [&](LaunchParams &p) {
    check(driver.cuLaunchKernel(function, grid, 1, 1, static_cast<unsigned>(k.blockThreads), 1, 1,
                                0, nullptr, p.finish(), nullptr),
          "cuLaunchKernel(" + k.name + ")");
  };

  LaunchParams first = params(sets[0]);
  launch(first);
  check(driver.cuCtxSynchronize(), "kernel " + k.name);

  std::vector<double> refOut, refSum;
  reference(k, rows, host, refOut, refSum);
  bool ok = true;
  std::string details;
  raw_string_ostream os(details);
  for (StringRef output : {"out", "sum"}) {
    if (!k.has(output))
      continue;
    HostTensor got = host.at(output.str());
    check(driver.cuMemcpyDtoH(got.bytes.data(), sets[0].at(output.str()).ptr, got.bytes.size()),
          "cuMemcpyDtoH");
    Comparison c = compare(got, output == "out" ? refOut : refSum);
    double tol = tolerance(k.find(output)->elem); // f32 for rms_scale factors
    bool pass = c.nans == 0 && c.relErr < tol;
    ok &= pass;
    os << " " << output << ": rel_err=" << format("%.3e", c.relErr) << " (tol "
       << format("%.0e", tol) << ") unwritten_or_nan=" << c.nans;
  }

  double medianUs = 0, bytes = 0;
  if (bench) {
    for (const KernelInfo::Arg &a : k.args)
      bytes += static_cast<double>(host.at(a.name).bytes.size());
    std::vector<LaunchParams> all;
    for (auto &set : sets)
      all.push_back(params(set));
    for (int i = 0; i < 10; ++i) // warm-up
      launch(all[i % copies]);
    CUevent start, stop;
    check(driver.cuEventCreate(&start, 0), "cuEventCreate");
    check(driver.cuEventCreate(&stop, 0), "cuEventCreate");
    std::vector<float> times;
    for (int i = 0; i < iterations; ++i) {
      check(driver.cuEventRecord(start, nullptr), "cuEventRecord");
      launch(all[i % copies]);
      check(driver.cuEventRecord(stop, nullptr), "cuEventRecord");
      check(driver.cuEventSynchronize(stop), "cuEventSynchronize");
      float ms = 0;
      check(driver.cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
      times.push_back(ms);
    }
    std::sort(times.begin(), times.end());
    medianUs = times[times.size() / 2] * 1000.0;
  }
  for (auto &set : sets)
    for (auto &[name, b] : set)
      driver.cuMemFree(b.ptr);

  if (jsonOut) {
    json::Object o{
        {"kernel", k.name}, {"kind", k.kind}, {"rows", rows}, {"hidden", h}, {"pass", ok}};
    if (bench) {
      o["median_us"] = medianUs;
      o["bytes"] = bytes;
      o["gbps"] = bytes / (medianUs * 1e-6) / 1e9;
    }
    outs() << json::Value(std::move(o)) << "\n";
  } else {
    outs() << (ok ? "PASS " : "FAIL ") << k.name << " rows=" << rows << os.str();
    if (bench)
      outs() << " median_us=" << format("%.2f", medianUs)
             << " GB/s=" << format("%.1f", bytes / (medianUs * 1e-6) / 1e9);
    outs() << "\n";
  }
  return ok;
}

/// Device-to-device copy bandwidth (read + write bytes / time), the
/// ceiling for a memory-bound kernel.
double copyBandwidth() {
  size_t bytes = size_t(1) << 30;
  DeviceBuffer a = alloc(bytes), b = alloc(bytes);
  CUevent start, stop;
  check(driver.cuEventCreate(&start, 0), "cuEventCreate");
  check(driver.cuEventCreate(&stop, 0), "cuEventCreate");
  std::vector<float> times;
  for (int i = 0; i < 12; ++i) {
    check(driver.cuEventRecord(start, nullptr), "cuEventRecord");
    check(driver.cuMemcpyDtoD(b.ptr, a.ptr, bytes), "cuMemcpyDtoD");
    check(driver.cuEventRecord(stop, nullptr), "cuEventRecord");
    check(driver.cuEventSynchronize(stop), "cuEventSynchronize");
    float ms;
    check(driver.cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
    if (i >= 2)
      times.push_back(ms);
  }
  driver.cuMemFree(a.ptr);
  driver.cuMemFree(b.ptr);
  std::sort(times.begin(), times.end());
  return 2.0 * bytes / (times[times.size() / 2] * 1e-3) / 1e9;
}

} // namespace

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(
      argc, argv,
      "norm-gpu-runner: run the kernels of `norm-opt --emit=cubin` on random "
      "inputs and check them against a float64 reference\n\n"
      "  norm-opt model.onnx --emit=cubin -o k.cubin --gpu-manifest=k.cubin.json\n"
      "  norm-gpu-runner k.cubin [--kernel NAME] [--rows N] [--bench]\n");
  std::string manifest = manifestPath.empty() ? cubinPath + ".json" : manifestPath;
  std::vector<KernelInfo> kernels = readManifest(manifest);
  auto cubin = MemoryBuffer::getFile(cubinPath, /*IsText=*/false,
                                     /*RequiresNullTerminator=*/false);
  if (!cubin)
    fatal(Twine(cubinPath) + ": " + cubin.getError().message());
  if (rowsOpt < 1)
    fatal("--rows must be positive");

  std::string error = driver.load();
  if (!error.empty())
    fatal(error);
  check(driver.cuInit(0), "cuInit");
  CUdevice device;
  check(driver.cuDeviceGet(&device, 0), "cuDeviceGet");
  char name[256] = {0};
  driver.cuDeviceGetName(name, sizeof(name) - 1, device);
  CUcontext context;
  check(driver.cuDevicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain");
  check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
  CUmodule module;
  check(driver.cuModuleLoadData(&module, (*cubin)->getBufferStart()),
        "cuModuleLoadData(" + cubinPath + ")");
  if (!jsonOut)
    outs() << "device: " << name << "\n";
  if (bench) {
    double bw = copyBandwidth();
    if (jsonOut)
      outs() << json::Value(json::Object{{"device", name}, {"copy_gbps", bw}}) << "\n";
    else
      outs() << "device-to-device copy: " << format("%.1f", bw) << " GB/s\n";
  }

  std::mt19937_64 rng(seed);
  int failures = 0, ran = 0;
  for (const KernelInfo &k : kernels) {
    if (!kernelNames.empty() &&
        std::find(kernelNames.begin(), kernelNames.end(), k.name) == kernelNames.end())
      continue;
    ++ran;
    failures += !runKernel(module, k, rowsOpt, rng);
  }
  if (ran == 0)
    fatal("no kernel of the manifest matched --kernel");
  if (!jsonOut)
    outs() << (ran - failures) << " passed, " << failures << " failed\n";
  return failures ? 1 : 0;
}
