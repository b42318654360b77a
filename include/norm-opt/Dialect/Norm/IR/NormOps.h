//===- NormOps.h - norm dialect ops -----------------------------*- C++ -*-===//
#ifndef NORM_OPT_DIALECT_NORM_IR_NORMOPS_H
#define NORM_OPT_DIALECT_NORM_IR_NORMOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "norm-opt/Dialect/Norm/IR/NormDialect.h"

#define GET_OP_CLASSES
#include "norm-opt/Dialect/Norm/IR/NormOps.h.inc"

#endif
