//===- AffineFold.cpp - weight arithmetic shared by the passes ------------===//
#include "norm-opt/Dialect/Norm/Transforms/AffineFold.h"

#include "norm-opt/Dialect/ONNX/IR/ONNXBuilder.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/SetVector.h"

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

/// `values` (row-major, `shape`) without the last entry along `axis`.
static std::vector<double> dropLastAlongAxis(ArrayRef<double> values,
                                             ArrayRef<int64_t> shape, int64_t axis) {
  int64_t n = shape[axis], inner = 1;
  for (int64_t d = axis + 1; d < int64_t(shape.size()); ++d)
    inner *= shape[d];
  std::vector<double> kept;
  kept.reserve(values.size() / n * (n - 1));
  for (size_t i = 0; i < values.size(); ++i)
    if ((int64_t(i) / inner) % n != n - 1)
      kept.push_back(values[i]);
  return kept;
}

FailureOr<Value> mlir::norm::createCenteredConstant(OpBuilder &builder,
                                                    Value value, int64_t axis,
                                                    bool dropLast) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  std::optional<std::vector<double>> values = getConstantAsDoubles(value);
  Operation *def = value.getDefiningOp();
  if (!type || !type.hasStaticShape() || !values || !def ||
      !isa<FloatType>(type.getElementType()))
    return emitError(value.getLoc(), "cannot center a weight that is not a "
                                     "float constant of static shape");
  SmallVector<int64_t> shape(type.getShape());
  bool alongHidden = axis >= 0 && axis < type.getRank() && shape[axis] > 1;
  if (alongHidden)
    centerAlongAxis(*values, shape, axis);
  else
    std::fill(values->begin(), values->end(), 0.0); // Broadcast: its own mean.
  if (dropLast && alongHidden) {
    *values = dropLastAlongAxis(*values, shape, axis);
    --shape[axis];
  }
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPoint(def);
  return createFloatInitializer(builder, def->getLoc(),
                                derivedWeightName(value, dropLast ? "compressed" : "centered"),
                                type.getElementType(), shape, *values);
}

void mlir::norm::eraseDeadConstants(ArrayRef<Operation *> ops) {
  // One worklist, so that an op listed twice, or reached again through an
  // Identity, is erased once.
  llvm::SetVector<Operation *> worklist(ops.begin(), ops.end());
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (!isa<InitializerOp, ConstantOp, IdentityOp>(op) || !op->use_empty())
      continue;
    Operation *feeding = nullptr;
    if (auto identity = dyn_cast<IdentityOp>(op))
      feeding = identity.getInput().getDefiningOp();
    op->erase();
    if (feeding)
      worklist.insert(feeding);
  }
}
