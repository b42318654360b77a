//===- AffineFold.h - weight arithmetic shared by the passes -----*- C++ -*-===//
//
// The one place where passes compute new weights: in float64, rounded once
// to the stored type (TRANSFORMS.md, numerics policy). New weights are new
// initializers; a weight tensor is never changed in place, so a tensor with
// other users (a tied embedding, a shared bias) keeps its value for them.
//
//===----------------------------------------------------------------------===//
#ifndef NORM_OPT_DIALECT_NORM_TRANSFORMS_AFFINEFOLD_H
#define NORM_OPT_DIALECT_NORM_TRANSFORMS_AFFINEFOLD_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

namespace mlir::norm {

/// Subtracts from every fiber of `values` (row-major, `shape`) along `axis`
/// its mean: `W (I - 11^T/n)` when `axis` is the output dim of a weight.
void centerAlongAxis(MutableArrayRef<double> values, ArrayRef<int64_t> shape,
                     int64_t axis);

/// A new initializer holding the constant `value` centered along `axis`,
/// named after the original. An `axis` outside the tensor's dims means the
/// tensor is broadcast along it, so its centered value is zero. Fails (with
/// an error) when `value` is not a float constant with a static shape.
/// With `dropLast`, the last entry along `axis` is dropped after centering
/// (CRMSNorm: a zero-mean vector is fixed by the others).
FailureOr<Value> createCenteredConstant(OpBuilder &builder, Value value,
                                        int64_t axis, bool dropLast = false);

/// Erases the ONNX constants (initializers, Constant nodes) among `ops` that
/// no longer have users, so that replaced weights do not stay in the model.
void eraseDeadConstants(ArrayRef<Operation *> ops);

} // namespace mlir::norm

#endif
