//===- Passes.h - norm dialect passes ---------------------------*- C++ -*-===//
#ifndef NORM_OPT_DIALECT_NORM_TRANSFORMS_PASSES_H
#define NORM_OPT_DIALECT_NORM_TRANSFORMS_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXDialect.h"

namespace mlir::norm {

#define GEN_PASS_DECL
#include "norm-opt/Dialect/Norm/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "norm-opt/Dialect/Norm/Transforms/Passes.h.inc"

/// The default pipeline of every exact norm rewrite, in order: recognize,
/// fold the BatchNorms, then fold the norms' weights into the linear layers. Other compilers add
/// it to their own pass manager with this function.
void buildNormOptimizePipeline(OpPassManager &pm);

/// Registers `buildNormOptimizePipeline` as the pipeline `norm-optimize`
/// (the `--norm-optimize` flag of norm-opt and mlir-opt-like tools).
void registerNormOptimizePipeline();

} // namespace mlir::norm

#endif
