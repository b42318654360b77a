//===- Passes.h - norm dialect passes ---------------------------*- C++ -*-===//
#ifndef NORM_OPT_DIALECT_NORM_TRANSFORMS_PASSES_H
#define NORM_OPT_DIALECT_NORM_TRANSFORMS_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXDialect.h"

namespace mlir::norm {

#define GEN_PASS_DECL
#include "norm-opt/Dialect/Norm/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "norm-opt/Dialect/Norm/Transforms/Passes.h.inc"

} // namespace mlir::norm

#endif
