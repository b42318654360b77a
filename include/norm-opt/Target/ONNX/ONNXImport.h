//===- ONNXImport.h - ONNX model -> MLIR ------------------------*- C++ -*-===//
#ifndef NORM_OPT_TARGET_ONNX_ONNXIMPORT_H
#define NORM_OPT_TARGET_ONNX_ONNXIMPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

namespace mlir::onnxir {

/// An unnamed node's location is `fused<{onnx.node_output = "OUT"}>[file]`:
/// no NameLoc (so that it is exported unnamed, as it came), but diagnostics
/// can still name the node by its first output.
constexpr llvm::StringLiteral kNodeOutputLocAttr = "onnx.node_output";

struct ImportOptions {
  /// Initializers of at least this many bytes become `dense_resource` blobs
  /// aliasing the bytes read from the file; smaller ones are inline `dense`.
  size_t resourceThresholdBytes = 1024;
};

/// Reads an ONNX model (binary protobuf, or ONNX text format for files
/// ending in `.onnxtxt`) into a module holding one `func.func` graph of
/// `onnx` dialect ops. Errors are emitted as diagnostics whose locations name
/// the file and, where there is one, the node; returns null on error.
OwningOpRef<ModuleOp> importONNXFile(llvm::StringRef path, MLIRContext *context,
                                     const ImportOptions &options = {});

/// The same from bytes already in memory (`path` names them in diagnostics
/// and resolves external data relative to its directory).
OwningOpRef<ModuleOp> importONNXBytes(llvm::StringRef bytes, llvm::StringRef path,
                                      MLIRContext *context,
                                      const ImportOptions &options = {});

/// Registers the dialects an imported module uses.
void registerONNXImportDialects(DialectRegistry &registry);

} // namespace mlir::onnxir

#endif
