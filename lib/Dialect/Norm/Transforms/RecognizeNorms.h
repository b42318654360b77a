//===- RecognizeNorms.h - shared pieces of norm-recognize -------*- C++ -*-===//
#ifndef NORM_OPT_LIB_DIALECT_NORM_TRANSFORMS_RECOGNIZENORMS_H
#define NORM_OPT_LIB_DIALECT_NORM_TRANSFORMS_RECOGNIZENORMS_H

#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::norm {
namespace detail {
/// Whether `node` is `opType` in one of `domains` ("" also matches "ai.onnx").
bool isNode(onnxir::NodeOp node, llvm::StringRef opType,
            llvm::ArrayRef<llvm::StringRef> domains);
} // namespace detail

/// Patterns that recognize decomposed LayerNorm / RMSNorm chains.
void populateDecomposedNormPatterns(RewritePatternSet &patterns);

/// Records in the report, as refused with the reason, every chain in `scope`
/// that has the shape of a decomposed norm but that the patterns left (run
/// it after them).
void recordDecomposedNormRefusals(Operation *scope);

} // namespace mlir::norm

#endif
