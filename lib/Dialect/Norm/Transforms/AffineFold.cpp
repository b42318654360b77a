//===- AffineFold.cpp - weight arithmetic shared by the passes ------------===//
#include "norm-opt/Dialect/Norm/Transforms/AffineFold.h"

#include "norm-opt/Dialect/ONNX/IR/ONNXBuilder.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace mlir::norm;
using namespace mlir::onnxir;

void mlir::norm::centerAlongAxis(MutableArrayRef<double> values,
                                 ArrayRef<int64_t> shape, int64_t axis) {
  int64_t n = shape.empty() ? 1 : shape[axis];
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < int64_t(shape.size()); ++d)
    inner *= shape[d];
  int64_t outer = n == 0 ? 0 : int64_t(values.size()) / (n * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double *base = values.data() + o * n * inner + i;
      double sum = 0;
      for (int64_t k = 0; k < n; ++k)
        sum += base[k * inner];
      double mean = sum / double(n);
      for (int64_t k = 0; k < n; ++k)
        base[k * inner] -= mean;
    }
}

/// The name a new weight derived from `value` gets: the initializer's or
/// Constant node's name with `suffix`.
static std::string derivedWeightName(Value value, StringRef suffix) {
  Operation *def = value.getDefiningOp();
  StringRef base;
  if (auto init = dyn_cast_or_null<InitializerOp>(def))
    base = init.getName();
  else if (def)
    base = getNodeName(def);
  return (base.empty() ? "weight" : base).str() + "_" + suffix.str();
}

FailureOr<Value> mlir::norm::createCenteredConstant(OpBuilder &builder,
                                                    Value value, int64_t axis) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  std::optional<std::vector<double>> values = getConstantAsDoubles(value);
  Operation *def = value.getDefiningOp();
  if (!type || !type.hasStaticShape() || !values || !def ||
      !isa<FloatType>(type.getElementType()))
    return emitError(value.getLoc(), "cannot center a weight that is not a "
                                     "float constant of static shape");
  if (type.getRank() > 0)
    centerAlongAxis(*values, type.getShape(), axis);
  else
    (*values)[0] = 0.0; // A scalar broadcast over the hidden dim is its mean.
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPoint(def);
  return createFloatInitializer(builder, def->getLoc(),
                                derivedWeightName(value, "centered"),
                                type.getElementType(), type.getShape(), *values);
}

void mlir::norm::eraseDeadConstants(ArrayRef<Operation *> ops) {
  llvm::SmallPtrSet<Operation *, 8> erased;
  for (Operation *op : ops) {
    if (erased.contains(op) || !op->use_empty())
      continue;
    Operation *feeding = nullptr;
    if (auto identity = dyn_cast<IdentityOp>(op))
      feeding = identity.getInput().getDefiningOp();
    if (!isa<InitializerOp, ConstantOp, IdentityOp>(op))
      continue;
    erased.insert(op);
    op->erase();
    if (feeding && !erased.contains(feeding))
      eraseDeadConstants({feeding});
  }
}
