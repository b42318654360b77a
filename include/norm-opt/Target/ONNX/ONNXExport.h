//===- ONNXExport.h - MLIR -> ONNX model ------------------------*- C++ -*-===//
#ifndef NORM_OPT_TARGET_ONNX_ONNXEXPORT_H
#define NORM_OPT_TARGET_ONNX_ONNXEXPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

namespace normopt {
class OutputFiles;
} // namespace normopt

namespace mlir::onnxir {

struct ExportOptions {
  /// Write tensors of at least `externalDataThreshold` bytes to
  /// `<output>.data`: when true, or when unset and the input model used
  /// external data or the tensors exceed 2 GB.
  std::optional<bool> externalData;
  size_t externalDataThreshold = 1024;
  /// Print the model in ONNX text form instead of binary protobuf.
  bool textFormat = false;
  /// When set, exportONNXFile adds its files (model, .data) to these outputs
  /// uncommitted, for the caller to commit with its other files; else it
  /// commits them itself.
  normopt::OutputFiles *outputs = nullptr;
};

/// Writes `module` (a graph of `onnx` ops, as the importer makes it and
/// `convert-norm-to-onnx` leaves it) to `path`, atomically: the output and
/// its external data are written to temporary files and renamed when
/// complete. Emits a diagnostic and fails on ops it cannot export.
LogicalResult exportONNXFile(ModuleOp module, llvm::StringRef path,
                             const ExportOptions &options = {});

/// Writes the model to a stream (no external data).
LogicalResult exportONNX(ModuleOp module, llvm::raw_ostream &os,
                         const ExportOptions &options = {});

} // namespace mlir::onnxir

#endif
