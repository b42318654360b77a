//===- ONNXDialect.cpp - onnx dialect registration ------------------------===//
#include "norm-opt/Dialect/ONNX/IR/ONNXDialect.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"
#include "norm-opt/Dialect/ONNX/IR/WeightStore.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::onnxir;

#include "norm-opt/Dialect/ONNX/IR/ONNXOpsDialect.cpp.inc"
#define GET_TYPEDEF_CLASSES
#include "norm-opt/Dialect/ONNX/IR/ONNXOpsTypes.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "norm-opt/Dialect/ONNX/IR/ONNXAttrs.cpp.inc"

void ONNXDialect::initialize() {
  weightStore = std::make_unique<WeightStore>();
  addOperations<
#define GET_OP_LIST
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.cpp.inc"
      >();
  registerTypes();
  registerAttributes();
}

void ONNXDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "norm-opt/Dialect/ONNX/IR/ONNXOpsTypes.cpp.inc"
      >();
}

void ONNXDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "norm-opt/Dialect/ONNX/IR/ONNXAttrs.cpp.inc"
      >();
}
