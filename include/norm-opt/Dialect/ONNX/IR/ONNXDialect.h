//===- ONNXDialect.h - onnx dialect -----------------------------*- C++ -*-===//
#ifndef NORM_OPT_DIALECT_ONNX_IR_ONNXDIALECT_H
#define NORM_OPT_DIALECT_ONNX_IR_ONNXDIALECT_H

#include "mlir/IR/Dialect.h"

#include <memory>

namespace mlir::onnxir {
class WeightStore;
} // namespace mlir::onnxir

#include "norm-opt/Dialect/ONNX/IR/ONNXOpsDialect.h.inc"

#endif
