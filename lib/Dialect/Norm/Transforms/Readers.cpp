//===- Readers.cpp - how a value's readers see a per-channel map ----------===//
#include "norm-opt/Dialect/Norm/Transforms/Readers.h"

#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::norm;
using namespace mlir::onnxir;

bool mlir::norm::isShapeOnlyReader(OpOperand &use) {
  return isa<ShapeOp, SizeOp>(use.getOwner());
}

/// The static size of the last dim of `type`, if any.
static std::optional<int64_t> lastDim(Type type) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked || ranked.getRank() == 0 || ranked.isDynamicDim(ranked.getRank() - 1))
    return std::nullopt;
  return ranked.getShape().back();
}

/// The last dim a Reshape produces: from its result type, else from a
/// constant target shape whose last entry is a size (not 0 = copy, -1 =
/// infer).
static std::optional<int64_t> reshapedLastDim(ReshapeOp reshape) {
  if (std::optional<int64_t> dim = lastDim(reshape.getResult().getType()))
    return dim;
  std::optional<std::vector<double>> shape = getConstantAsDoubles(reshape.getShape());
  if (!shape || shape->empty() || shape->back() < 1)
    return std::nullopt;
  return int64_t(shape->back());
}

bool mlir::norm::isLookThroughReader(OpOperand &use, std::optional<int64_t> hidden) {
  Operation *user = use.getOwner();
  if (use.getOperandNumber() != 0)
    return false;
  if (isa<IdentityOp>(user))
    return true;
  if (auto cast = dyn_cast<CastOp>(user))
    return isa<TensorType>(use.get().getType()) &&
           getElementTypeOrSelf(use.get().getType()) ==
               getElementTypeOrSelf(cast.getResult().getType());
  if (auto transpose = dyn_cast<TransposeOp>(user)) {
    std::optional<ArrayRef<int64_t>> perm = transpose.getPerm();
    return perm && !perm->empty() && perm->back() == int64_t(perm->size()) - 1;
  }
  if (auto reshape = dyn_cast<ReshapeOp>(user)) {
    std::optional<int64_t> in = hidden ? hidden : lastDim(use.get().getType());
    return in && reshapedLastDim(reshape) == in;
  }
  return false;
}

ReaderTree mlir::norm::collectReaders(Value value, std::optional<int64_t> hidden) {
  ReaderTree tree;
  if (!hidden)
    hidden = lastDim(value.getType());
  SmallVector<Value> worklist{value};
  while (!worklist.empty()) {
    Value current = worklist.pop_back_val();
    for (OpOperand &use : current.getUses()) {
      if (isShapeOnlyReader(use)) {
        tree.shapeOnly.push_back(&use);
      } else if (isLookThroughReader(use, hidden)) {
        tree.lookedThrough.push_back(use.getOwner());
        worklist.push_back(use.getOwner()->getResult(0));
      } else {
        tree.leaves.push_back(&use);
      }
    }
  }
  return tree;
}
