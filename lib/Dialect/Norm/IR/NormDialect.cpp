//===- NormDialect.cpp - norm dialect registration ------------------------===//
#include "norm-opt/Dialect/Norm/IR/NormDialect.h"
#include "norm-opt/Dialect/Norm/IR/NormOps.h"

using namespace mlir;
using namespace mlir::norm;

#include "norm-opt/Dialect/Norm/IR/NormOpsDialect.cpp.inc"

void NormDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "norm-opt/Dialect/Norm/IR/NormOps.cpp.inc"
      >();
}
