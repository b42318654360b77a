//===- NormOps.cpp - norm dialect ops -------------------------------------===//
#include "norm-opt/Dialect/Norm/IR/NormOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::norm;

#define GET_OP_CLASSES
#include "norm-opt/Dialect/Norm/IR/NormOps.cpp.inc"

/// `axis` made non-negative for a rank-`rank` input, or nullopt when out of
/// range.
static std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

/// Checks that `weight` (a scale or bias) can broadcast to the normalized
/// dims `input.shape[axis:]` in the way ONNX LayerNormalization allows: its
/// shape, right-aligned, is either equal or 1 in every dim, and it is no
/// longer than the normalized dims.
static LogicalResult verifyAffineOperand(Operation *op, StringRef what,
                                         Value weight, ShapedType input,
                                         int64_t axis) {
  if (!weight)
    return success();
  // ODS already requires float tensors of any width for every weight.
  auto weightType = cast<ShapedType>(weight.getType());
  if (!weightType.hasRank() || !input.hasRank())
    return success();
  ArrayRef<int64_t> normalized = input.getShape().drop_front(axis);
  ArrayRef<int64_t> shape = weightType.getShape();
  if (shape.size() > normalized.size())
    return op->emitOpError()
           << what << " of rank " << shape.size()
           << " does not fit the " << normalized.size()
           << " normalized dim(s) of the input";
  ArrayRef<int64_t> aligned = normalized.take_back(shape.size());
  for (auto [w, n] : llvm::zip_equal(shape, aligned)) {
    if (ShapedType::isDynamic(w) || ShapedType::isDynamic(n) || w == n || w == 1)
      continue;
    return op->emitOpError() << what << " shape [" << shape
                             << "] does not match the normalized shape ["
                             << normalized << "]";
  }
  return success();
}

/// Shared verification of layer_norm and rms_norm: axis in range, result
/// shape equal to the input shape, affine operands fit the normalized dims.
static LogicalResult verifyTrailingNorm(Operation *op, int64_t axis,
                                        ArrayRef<std::pair<StringRef, Value>> weights) {
  auto input = cast<ShapedType>(op->getOperand(0).getType());
  auto result = cast<ShapedType>(op->getResult(0).getType());
  if (failed(verifyCompatibleShape(input, result)))
    return op->emitOpError("result shape must match the input shape");
  if (!input.hasRank())
    return success();
  std::optional<int64_t> normalized = normalizeAxis(axis, input.getRank());
  if (!normalized)
    return op->emitOpError() << "axis " << axis << " is out of range for rank "
                             << input.getRank();
  for (auto [what, weight] : weights)
    if (failed(verifyAffineOperand(op, what, weight, input, *normalized)))
      return failure();
  return success();
}

std::optional<int64_t> LayerNormOp::getNormalizedAxis() {
  auto type = cast<ShapedType>(getInput().getType());
  if (!type.hasRank())
    return std::nullopt;
  return normalizeAxis(getAxis(), type.getRank());
}

LogicalResult LayerNormOp::verify() {
  if (getEpsilon().convertToDouble() < 0)
    return emitOpError("epsilon must be non-negative");
  return verifyTrailingNorm(*this, getAxis(),
                            {{"scale", getScale()}, {"bias", getBias()}});
}

std::optional<int64_t> RMSNormOp::getNormalizedAxis() {
  auto type = cast<ShapedType>(getInput().getType());
  if (!type.hasRank())
    return std::nullopt;
  return normalizeAxis(getAxis(), type.getRank());
}

LogicalResult RMSNormOp::verify() {
  if (getEpsilon().convertToDouble() < 0)
    return emitOpError("epsilon must be non-negative");
  if (getUnitOffset() && !getScale())
    return emitOpError("unit_offset requires a scale");
  return verifyTrailingNorm(*this, getAxis(),
                            {{"scale", getScale()}, {"bias", getBias()}});
}

LogicalResult CRMSNormOp::verify() {
  if (getEpsilon().convertToDouble() < 0)
    return emitOpError("epsilon must be non-negative");
  auto input = cast<ShapedType>(getInput().getType());
  auto result = cast<ShapedType>(getType());
  if (!input.hasRank() || !result.hasRank())
    return success();
  if (input.getRank() < 1 || input.getRank() != result.getRank())
    return emitOpError("input and result must have the same rank >= 1");
  for (int64_t d = 0; d + 1 < input.getRank(); ++d)
    if (!input.isDynamicDim(d) && !result.isDynamicDim(d) &&
        input.getDimSize(d) != result.getDimSize(d))
      return emitOpError("input and result differ in dim ") << d;
  int64_t stored = input.getShape().back(), full = result.getShape().back();
  if (!ShapedType::isDynamic(stored) && !ShapedType::isDynamic(full) &&
      stored + 1 != full)
    return emitOpError("the result's last dim (")
           << full << ") must be one more than the input's (" << stored << ")";
  for (auto [what, weight] : {std::pair<StringRef, Value>{"scale", getScale()},
                              {"bias", getBias()}})
    if (failed(verifyAffineOperand(*this, what, weight, result, result.getRank() - 1)))
      return failure();
  return success();
}

LogicalResult BatchNormOp::verify() {
  if (getEpsilon().convertToDouble() < 0)
    return emitOpError("epsilon must be non-negative");
  auto input = cast<ShapedType>(getInput().getType());
  if (failed(verifyCompatibleShape(input, cast<ShapedType>(getType()))))
    return emitOpError("result shape must match the input shape");
  if (!input.hasRank())
    return success();
  if (input.getRank() < 2)
    return emitOpError("input must have rank >= 2 ([N, C, ...]), got ")
           << input.getRank();
  int64_t channels = input.getDimSize(1);
  for (auto [what, operand] :
       {std::pair<StringRef, Value>{"scale", getScale()}, {"bias", getBias()},
        {"mean", getMean()}, {"var", getVar()}}) {
    auto type = cast<ShapedType>(operand.getType());
    if (!type.hasRank())
      continue;
    if (type.getRank() != 1)
      return emitOpError() << what << " must be a 1-D tensor of C elements";
    if (!ShapedType::isDynamic(channels) && !type.isDynamicDim(0) &&
        type.getDimSize(0) != channels)
      return emitOpError() << what << " has " << type.getDimSize(0)
                           << " elements but the input has " << channels
                           << " channels";
  }
  return success();
}

/// Shared verification of the residual forms: input, skip and sum agree in
/// shape, weights fit the last dim.
static LogicalResult verifySkipNorm(Operation *op, Value input, Value skip,
                                    Value sum,
                                    ArrayRef<std::pair<StringRef, Value>> weights) {
  auto inputType = cast<ShapedType>(input.getType());
  if (failed(verifyCompatibleShape(inputType, cast<ShapedType>(skip.getType()))))
    return op->emitOpError("skip shape must match the input shape");
  if (failed(verifyCompatibleShape(inputType, cast<ShapedType>(sum.getType()))))
    return op->emitOpError("sum shape must match the input shape");
  if (!inputType.hasRank())
    return success();
  if (inputType.getRank() < 1)
    return op->emitOpError("input must have rank >= 1");
  for (auto [what, weight] : weights)
    if (failed(verifyAffineOperand(op, what, weight, inputType,
                                   inputType.getRank() - 1)))
      return failure();
  return success();
}

LogicalResult SkipLayerNormOp::verify() {
  return verifySkipNorm(*this, getInput(), getSkip(), getSum(),
                        {{"scale", getScale()},
                         {"bias", getBias()},
                         {"skip_bias", getSkipBias()}});
}

LogicalResult SkipRMSNormOp::verify() {
  return verifySkipNorm(*this, getInput(), getSkip(), getSum(),
                        {{"scale", getScale()}, {"skip_bias", getSkipBias()}});
}

std::optional<int64_t> RMSScaleOp::getNormalizedAxis() {
  auto type = cast<ShapedType>(getInput().getType());
  if (!type.hasRank())
    return std::nullopt;
  return normalizeAxis(getAxis(), type.getRank());
}

LogicalResult RMSScaleOp::verify() {
  if (getEpsilon().convertToDouble() < 0)
    return emitOpError("epsilon must be non-negative");
  auto value = cast<ShapedType>(getValue().getType());
  auto input = cast<ShapedType>(getInput().getType());
  if (failed(verifyCompatibleShape(value, cast<ShapedType>(getType()))))
    return emitOpError("result shape must match the value shape");
  if (!value.hasRank() || !input.hasRank())
    return success();
  if (value.getRank() != input.getRank())
    return emitOpError("value and input must have the same rank");
  std::optional<int64_t> axis = normalizeAxis(getAxis(), input.getRank());
  if (!axis)
    return emitOpError() << "axis " << getAxis() << " is out of range for rank "
                         << input.getRank();
  for (int64_t d = 0; d < *axis; ++d)
    if (!ShapedType::isDynamic(value.getDimSize(d)) &&
        !ShapedType::isDynamic(input.getDimSize(d)) &&
        value.getDimSize(d) != input.getDimSize(d))
      return emitOpError() << "value and input differ in dim " << d
                           << ", which is not normalized";
  return success();
}
