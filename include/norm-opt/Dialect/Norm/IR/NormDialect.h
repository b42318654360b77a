//===- NormDialect.h - norm dialect -----------------------------*- C++ -*-===//
#ifndef NORM_OPT_DIALECT_NORM_IR_NORMDIALECT_H
#define NORM_OPT_DIALECT_NORM_IR_NORMDIALECT_H

#include "mlir/IR/Dialect.h"

#include "norm-opt/Dialect/Norm/IR/NormOpsDialect.h.inc"

#endif
