//===- WeightStore.cpp - the one owner of weight bytes --------------------===//
#include "norm-opt/Dialect/ONNX/IR/WeightStore.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXDialect.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXTypes.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::onnxir;

namespace {

/// A file that new weights are appended to: the sink (renamed into place by
/// the exporter) or an unlinked scratch file.
struct BackingFile {
  int fd = -1;
  std::string tempPath; // empty for an unlinked scratch file
  std::string finalPath;
  uint64_t end = 0;
  bool committed = false;
  ~BackingFile() {
    if (fd >= 0)
      ::close(fd);
    if (!tempPath.empty() && !committed)
      ::unlink(tempPath.c_str());
  }
};

/// A read-only mapping of an input file.
struct InputMapping {
  int fd = -1;
  void *base = nullptr;
  size_t size = 0;
  ~InputMapping() {
    if (base && size)
      ::munmap(base, size);
    if (fd >= 0)
      ::close(fd);
  }
};

/// What `locate` knows about a range of bytes the store handed out.
struct StoredRange {
  size_t size = 0;
  int fd = -1;
  uint64_t offset = 0;
  bool inSink = false;
};

size_t pageSize() {
  static const size_t size = size_t(::sysconf(_SC_PAGESIZE));
  return size;
}

} // namespace

struct WeightStore::Impl {
  mutable std::mutex mutex;
  std::vector<std::shared_ptr<InputMapping>> inputs;
  std::shared_ptr<BackingFile> sink;
  std::shared_ptr<BackingFile> scratch;
  std::string scratchDirectory;
  /// Keyed by the first byte's address.
  std::map<uintptr_t, StoredRange> regions;
  bool allocationFailed = false;
  WeightStore::Progress progress;

  std::optional<StoredRange> find(ArrayRef<char> bytes) const {
    std::lock_guard<std::mutex> lock(mutex);
    auto start = reinterpret_cast<uintptr_t>(bytes.data());
    auto it = regions.upper_bound(start);
    if (it == regions.begin())
      return std::nullopt;
    --it;
    if (start + bytes.size() > it->first + it->second.size)
      return std::nullopt;
    StoredRange region = it->second;
    region.offset += start - it->first;
    return region;
  }
  void forget(const void *data) {
    std::lock_guard<std::mutex> lock(mutex);
    regions.erase(reinterpret_cast<uintptr_t>(data));
  }
  std::shared_ptr<BackingFile> openScratch(std::string &error);
};

WeightStore::WeightStore() : impl(std::make_shared<Impl>()) {}
WeightStore::~WeightStore() = default;

WeightStore &WeightStore::get(MLIRContext *context) {
  return context->getOrLoadDialect<ONNXDialect>()->getWeightStore();
}

FailureOr<ArrayRef<char>> WeightStore::mapInputFile(int fd, uint64_t size, StringRef path,
                                                    std::string &error) {
  auto mapping = std::make_shared<InputMapping>();
  mapping->fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (mapping->fd < 0) {
    error = "cannot read '" + path.str() + "': " + std::strerror(errno);
    return failure();
  }
  mapping->size = size;
  if (size) {
    void *base = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, mapping->fd, 0);
    if (base == MAP_FAILED) {
      error = "cannot map '" + path.str() + "': " + std::strerror(errno);
      return failure();
    }
    mapping->base = base;
  }
  ArrayRef<char> bytes(static_cast<const char *>(mapping->base), size);
  std::lock_guard<std::mutex> lock(impl->mutex);
  impl->inputs.push_back(mapping);
  if (size)
    impl->regions[reinterpret_cast<uintptr_t>(mapping->base)] =
        StoredRange{size, mapping->fd, 0, /*inSink=*/false};
  return bytes;
}

ElementsAttr WeightStore::createMappedElements(ShapedType type, StringRef name,
                                               ArrayRef<char> bytes) {
  // The blob keeps the store's state (and so every mapping) alive.
  std::shared_ptr<Impl> keepAlive = impl;
  AsmResourceBlob blob(bytes, /*alignment=*/1, [keepAlive](void *, size_t, size_t) {},
                       /*dataIsMutable=*/false);
  return DenseResourceElementsAttr::get(type, name, std::move(blob));
}

LogicalResult WeightStore::openSink(StringRef dataPath, std::string &error) {
  auto file = std::make_shared<BackingFile>();
  SmallString<256> model((dataPath + ".tmp-%%%%%%").str());
  SmallString<256> tempPath;
  if (auto ec = llvm::sys::fs::createUniqueFile(model, file->fd, tempPath)) {
    error = "cannot write '" + dataPath.str() + "': " + ec.message();
    return failure();
  }
  file->tempPath = tempPath.str().str();
  file->finalPath = dataPath.str();
  std::lock_guard<std::mutex> lock(impl->mutex);
  impl->sink = std::move(file);
  return success();
}

void WeightStore::setScratchDirectory(StringRef directory) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  impl->scratchDirectory = directory.str();
}

std::shared_ptr<BackingFile> WeightStore::Impl::openScratch(std::string &error) {
  if (scratch)
    return scratch;
  std::string directory = scratchDirectory;
  if (directory.empty()) {
    const char *tmp = std::getenv("TMPDIR");
    directory = tmp && *tmp ? tmp : "/tmp";
  }
  auto file = std::make_shared<BackingFile>();
  file->fd = ::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (file->fd < 0) {
    // Filesystems without O_TMPFILE: a named file, unlinked at once.
    SmallString<256> model(directory);
    llvm::sys::path::append(model, "norm-opt-weights-%%%%%%");
    SmallString<256> path;
    if (auto ec = llvm::sys::fs::createUniqueFile(model, file->fd, path)) {
      error = "cannot create a scratch file in '" + directory + "': " + ec.message();
      return nullptr;
    }
    ::unlink(path.c_str());
  }
  scratch = std::move(file);
  return scratch;
}

namespace {
/// A new weight's bytes inside a backing file, mapped shared and writable:
/// the pages are file-backed, so they count against the page cache, not the
/// process's anonymous memory.
struct FileBackedBytes {
  std::shared_ptr<BackingFile> file;
  void *base = nullptr;
  size_t size = 0;
  ~FileBackedBytes() {
    if (base)
      ::munmap(base, size);
  }
};
} // namespace

FailureOr<NewWeight> WeightStore::allocate(ShapedType type, StringRef name,
                                           std::string &error) {
  if (!type.hasStaticShape()) {
    error = "a new weight needs a static shape";
    return failure();
  }
  size_t width = getElementByteWidth(type.getElementType());
  uint64_t size = uint64_t(type.getNumElements()) * width;
  std::shared_ptr<Impl> keepAlive = impl;

  NewWeight weight;
  weight.type = type;
  impl->progress.add(size);
  if (size < kFileBackedThreshold) {
    weight.heapBytes.resize(size);
    weight.bytes = weight.heapBytes;
    return weight;
  }

  std::unique_lock<std::mutex> lock(impl->mutex);
  auto fail = [&] {
    impl->allocationFailed = true;
    return failure();
  };
  std::shared_ptr<BackingFile> file = impl->sink ? impl->sink : impl->openScratch(error);
  if (!file)
    return fail();
  uint64_t offset = (file->end + pageSize() - 1) & ~uint64_t(pageSize() - 1);
  // Blocks reserved up front: a full disk is an error here, not a SIGBUS
  // when a page of the mapping is first written.
  int reserved = ::fallocate(file->fd, 0, off_t(offset), off_t(size));
  if (reserved != 0 && errno == EOPNOTSUPP)
    reserved = ::ftruncate(file->fd, off_t(offset + size));
  if (reserved != 0) {
    error = "cannot reserve " + std::to_string(size) + " bytes in the weight file: " +
            std::strerror(errno);
    return fail();
  }
  void *base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, file->fd, off_t(offset));
  if (base == MAP_FAILED) {
    error = std::string("cannot map a new weight: ") + std::strerror(errno);
    return fail();
  }
  file->end = offset + size;
  impl->regions[reinterpret_cast<uintptr_t>(base)] =
      StoredRange{size, file->fd, offset, /*inSink=*/file == impl->sink};
  lock.unlock();

  auto owner = std::make_shared<FileBackedBytes>();
  owner->file = file;
  owner->base = base;
  owner->size = size;
  AsmResourceBlob blob(
      ArrayRef<char>(static_cast<char *>(base), size), pageSize(),
      [owner, keepAlive](void *data, size_t, size_t) { keepAlive->forget(data); },
      /*dataIsMutable=*/true);
  weight.resource = DenseResourceElementsAttr::get(type, name, std::move(blob));
  weight.bytes = MutableArrayRef<char>(static_cast<char *>(base), size);
  weight.fd = file->fd;
  weight.fileOffset = offset;
  return weight;
}

void NewWeight::write(size_t offset, ArrayRef<char> data) {
  assert(offset + data.size() <= bytes.size() && "write past the weight's end");
  if (fd < 0) {
    std::memcpy(bytes.data() + offset, data.data(), data.size());
    return;
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done,
                         off_t(fileOffset + offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      *writeErrno = n < 0 ? errno : EIO;
      return;
    }
    done += size_t(n);
  }
}

std::optional<std::string> NewWeight::getWriteError() const {
  if (int code = writeErrno->load())
    return std::string(std::strerror(code));
  return std::nullopt;
}

ElementsAttr NewWeight::finish() {
  if (resource)
    return resource;
  return denseFromRawBytes(type, heapBytes);
}

std::optional<FileRange> WeightStore::locate(ArrayRef<char> bytes) const {
  std::optional<StoredRange> region = impl->find(bytes);
  if (!region)
    return std::nullopt;
  return FileRange{region->fd, region->offset, region->inSink};
}

std::optional<WeightStore::Sink> WeightStore::getSink(StringRef dataPath) const {
  std::lock_guard<std::mutex> lock(impl->mutex);
  if (!impl->sink || impl->sink->finalPath != dataPath)
    return std::nullopt;
  return Sink{impl->sink->fd, impl->sink->tempPath, impl->sink->end};
}

void WeightStore::commitSink(ArrayRef<std::pair<uint64_t, uint64_t>> liveRanges) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  if (!impl->sink)
    return;
  impl->sink->committed = true;
  // Punch out what no tensor of the written model refers to.
  std::vector<std::pair<uint64_t, uint64_t>> live(liveRanges.begin(), liveRanges.end());
  std::sort(live.begin(), live.end());
  uint64_t cursor = 0;
  int fd = impl->sink->fd;
  auto punch = [&](uint64_t from, uint64_t to) {
    uint64_t page = pageSize();
    from = (from + page - 1) & ~(page - 1);
    to &= ~(page - 1);
    if (to > from)
      ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(from), off_t(to - from));
  };
  for (auto [offset, size] : live) {
    if (offset > cursor)
      punch(cursor, offset);
    cursor = std::max(cursor, offset + size);
  }
}


bool WeightStore::takeAllocationFailure() {
  std::lock_guard<std::mutex> lock(impl->mutex);
  return std::exchange(impl->allocationFailed, false);
}

WeightStore::Progress &WeightStore::getProgress() { return impl->progress; }
