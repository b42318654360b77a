//===- Passes.h - conversion passes -----------------------------*- C++ -*-===//
#ifndef NORM_OPT_CONVERSION_PASSES_H
#define NORM_OPT_CONVERSION_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXDialect.h"

namespace mlir {

#define GEN_PASS_DECL
#include "norm-opt/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "norm-opt/Conversion/Passes.h.inc"

} // namespace mlir

#endif
