//===- WeightStore.h - the one owner of weight bytes ------------*- C++ -*-===//
//
// Every byte of a weight tensor that norm-opt holds is owned here:
//  - input files (external data) are mapped read-only once, and the importer
//    hands out views into the mapping as `dense_resource` blobs;
//  - a pass that creates a weight asks for it here, fills the bytes once
//    (typically row by row while it folds), and gets a `dense_resource`
//    attribute over them. Large new weights live in file-backed memory, not
//    on the heap: in the temporary file that becomes the output model's
//    external data when the driver named one (`openSink`), so that the bytes
//    are written once, straight to where they end up; or in an unlinked
//    scratch file otherwise.
//  - the exporter asks where bytes live (`locate`), so that it copies
//    unchanged tensors file to file (copy_file_range) and leaves new ones
//    where they already are.
//
// One store belongs to each MLIRContext (held by the onnx dialect).
//
//===----------------------------------------------------------------------===//
#ifndef NORM_OPT_DIALECT_ONNX_IR_WEIGHTSTORE_H
#define NORM_OPT_DIALECT_ONNX_IR_WEIGHTSTORE_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/StringRef.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir::onnxir {

/// Where a range of weight bytes lives in a file.
struct FileRange {
  int fd = -1;
  uint64_t offset = 0;
  /// Whether the range is in the sink (the output's external data file).
  bool inSink = false;
};

/// A new weight being written: its bytes, uninitialized, to be filled once
/// (through `getBytes`, or `write` for whole runs of bytes, which a
/// file-backed weight takes without a page fault per page); then `finish`
/// gives the attribute holding them.
class NewWeight {
public:
  MutableArrayRef<char> getBytes() { return bytes; }
  /// Writes `data` at `offset` of the weight; callable from several threads
  /// for disjoint ranges.
  void write(size_t offset, ArrayRef<char> data);
  /// Whether a write failed (the disk is full, ...), with the reason.
  std::optional<std::string> getWriteError() const;
  /// The attribute over the filled bytes: an inline `dense` attribute for a
  /// small weight, a `dense_resource` blob (no copy) for a large one.
  ElementsAttr finish();

private:
  friend class WeightStore;
  ShapedType type;
  MutableArrayRef<char> bytes;
  std::vector<char> heapBytes;
  ElementsAttr resource;
  /// The file and offset of a file-backed weight (-1 on the heap).
  int fd = -1;
  uint64_t fileOffset = 0;
  std::shared_ptr<std::atomic<int>> writeErrno = std::make_shared<std::atomic<int>>(0);
};

class WeightStore {
public:
  WeightStore();
  ~WeightStore();

  static WeightStore &get(MLIRContext *context);

  /// New weights smaller than this are built on the heap and become inline
  /// `dense` attributes.
  static constexpr size_t kFileBackedThreshold = size_t(1) << 16;

  /// Maps `size` bytes of the open file `fd` read-only (the store keeps its
  /// own descriptor; `fd` stays the caller's). `path` names it in errors.
  /// Returns the mapping's bytes, valid as long as the store or any blob
  /// made from it lives.
  FailureOr<ArrayRef<char>> mapInputFile(int fd, uint64_t size, StringRef path,
                                         std::string &error);
  /// A `dense_resource` attribute over `bytes` of a mapping returned by
  /// mapInputFile (no copy).
  ElementsAttr createMappedElements(ShapedType type, StringRef name, ArrayRef<char> bytes);

  /// Directs new weights of at least kFileBackedThreshold bytes into a new
  /// temporary file next to `dataPath`, which the exporter renames to
  /// `dataPath` once the model is written (`takeSink`). Call before passes.
  LogicalResult openSink(StringRef dataPath, std::string &error);
  /// Without a sink, large new weights go to an unlinked scratch file in
  /// `directory` (default: $TMPDIR or /tmp) instead of the heap.
  void setScratchDirectory(StringRef directory);

  /// Allocates a new weight of `type` (a float or integer tensor of static
  /// shape) named `name` (made unique among resources).
  FailureOr<NewWeight> allocate(ShapedType type, StringRef name, std::string &error);

  /// Where `bytes` live in a file, if they are a mapped input range or a
  /// file-backed new weight.
  std::optional<FileRange> locate(ArrayRef<char> bytes) const;

  /// The sink, handed to the exporter writing `dataPath`: its descriptor,
  /// temporary path and current size (new data may be appended after it).
  /// Returns nullopt when there is no sink for that path.
  struct Sink {
    int fd;
    std::string tempPath;
    uint64_t size;
  };
  std::optional<Sink> getSink(StringRef dataPath) const;
  /// Marks the sink's temporary file as renamed into place (it is then not
  /// removed when the store goes away). `liveRanges` are the sink ranges the
  /// written model refers to; the rest (weights that a later rewrite
  /// replaced) is released with a hole punched in the file.
  void commitSink(ArrayRef<std::pair<uint64_t, uint64_t>> liveRanges);

  /// What the current stage has done, for a progress display: weights
  /// created by passes (total unknown, 0) or tensors written by the exporter
  /// (total known). Updated from any thread.
  struct Progress {
    std::atomic<uint64_t> tensorsDone{0}, tensorsTotal{0};
    std::atomic<uint64_t> bytesDone{0}, bytesTotal{0};
    void reset(uint64_t tensors = 0, uint64_t bytes = 0) {
      tensorsDone = 0;
      bytesDone = 0;
      tensorsTotal = tensors;
      bytesTotal = bytes;
    }
    void add(uint64_t bytes) {
      ++tensorsDone;
      bytesDone += bytes;
    }
  };
  Progress &getProgress();

  /// Whether an allocation failed since the last call (an error was emitted
  /// where it happened); a pass that writes weights ends with this check so
  /// that it fails as a whole.
  bool takeAllocationFailure();

  struct Impl;

private:
  std::shared_ptr<Impl> impl;
};

} // namespace mlir::onnxir

#endif
