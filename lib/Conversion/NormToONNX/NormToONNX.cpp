//===- NormToONNX.cpp - norm ops -> standard ONNX ops ---------------------===//
//
// Expresses each norm op in the ONNX ops of the model's opset, so that the
// exporter only ever sees `onnx` ops. One pattern per norm op.
//
//===----------------------------------------------------------------------===//

#include "norm-opt/Conversion/Passes.h"

#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/Norm/IR/OriginalSpelling.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXBuilder.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
#define GEN_PASS_DEF_CONVERTNORMTOONNX
#include "norm-opt/Conversion/Passes.h.inc"
} // namespace mlir

using namespace mlir;
using namespace mlir::onnxir;
using namespace mlir::norm;
using mlir::norm::NormDialect;

namespace {

constexpr StringLiteral kMicrosoftDomain = "com.microsoft";

/// Carries the norm's ONNX output names over to the node that now produces
/// its results.
void takeOutputNames(Operation *from, Operation *to) {
  if (auto names = from->getAttr(kOutputNamesAttr))
    to->setAttr(kOutputNamesAttr, names);
}

/// The size of the last dim of `value` as the linear layers reading it
/// require it (MatMul(value, W): rows of W; Gemm: rows of op(B)), or
/// nullopt. A norm whose weights were folded away often has no static type
/// (ONNX shape inference stops at ops it does not know), but its readers do.
std::optional<int64_t> lastDimFromReaders(Value value) {
  for (OpOperand &use : value.getUses()) {
    if (use.getOperandNumber() != 0)
      continue;
    Operation *user = use.getOwner();
    auto weightType = user->getNumOperands() > 1
                          ? dyn_cast<RankedTensorType>(user->getOperand(1).getType())
                          : RankedTensorType();
    if (!weightType || weightType.getRank() < 2)
      continue;
    int64_t rows = weightType.getDimSize(weightType.getRank() - 2);
    if (auto gemm = dyn_cast<GemmOp>(user)) {
      if (gemm.getTransA().value_or(0) != 0 || weightType.getRank() != 2)
        continue;
      if (gemm.getTransB().value_or(0) != 0)
        rows = weightType.getDimSize(1);
    } else if (!isa<MatMulOp>(user)) {
      continue;
    }
    if (!ShapedType::isDynamic(rows))
      return rows;
  }
  return std::nullopt;
}

/// An all-ones scale of the normalized shape, for ONNX ops that require one:
/// from the input's type, or, for a norm over the last dim only (axis -1)
/// whose input has no static shape, from the readers of its result.
FailureOr<Value> constantOfNormalizedShape(PatternRewriter &rewriter, Operation *op,
                                           Value input, std::optional<int64_t> axis,
                                           double value, StringRef name) {
  auto type = dyn_cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> shape;
  if (type && axis)
    shape.assign(type.getShape().drop_front(*axis).begin(), type.getShape().end());
  Type elementType = type ? type.getElementType() : Type();
  if (!type || ShapedType::isDynamicShape(shape)) {
    auto axisAttr = op->getAttrOfType<IntegerAttr>("axis");
    std::optional<int64_t> k = lastDimFromReaders(op->getResult(0));
    // No axis attribute: the default -1, or a skip norm (always the last dim).
    bool lastDimOnly = !axisAttr || axisAttr.getInt() == -1 ||
                       (type && axis && *axis == type.getRank() - 1);
    auto inputType = dyn_cast<TensorType>(input.getType());
    if (!lastDimOnly || !k || !inputType)
      return failure();
    shape = {*k};
    elementType = inputType.getElementType();
  }
  int64_t n = ShapedType::getNumElements(shape);
  return createFloatConstant(rewriter, derivedNodeLoc(op->getLoc(), name),
                             elementType, shape, SmallVector<double>(n, value));
}

/// An all-ones scale of the normalized shape, for ONNX ops that require one.
FailureOr<Value> onesScale(PatternRewriter &rewriter, Operation *op, Value input,
                           std::optional<int64_t> axis) {
  return constantOfNormalizedShape(rewriter, op, input, axis, 1.0, "ones");
}

/// The decomposed chains end in `Mul(scale)` (and `Add(bias)` for a
/// LayerNorm) because onnxruntime fuses them into one kernel only with those
/// nodes present; a weightless norm gets an exact all-ones scale (and zero
/// bias) where the normalized shape is known, else keeps none.
Value identityAffineOperand(PatternRewriter &rewriter, Operation *op, Value input,
                            std::optional<int64_t> axis, double value, StringRef name) {
  FailureOr<Value> constant =
      constantOfNormalizedShape(rewriter, op, input, axis, value, name);
  return succeeded(constant) ? *constant : Value();
}

/// `1 + scale` for the Gemma gain convention.
Value offsetGain(PatternRewriter &rewriter, Location loc, Value scale) {
  auto type = cast<ShapedType>(scale.getType());
  Value one = createFloatConstant(rewriter, derivedNodeLoc(loc, "one"),
                                  type.getElementType(), {}, {1.0});
  return AddOp::create(rewriter, derivedNodeLoc(loc, "gain"), type, scale, one);
}

/// `Pow(x, 2)`. onnxruntime fuses a decomposed LayerNorm or RMSNorm back into
/// its LayerNormalization / SimplifiedLayerNormalization kernel only when the
/// square is a `Pow` by the constant 2; the same chain with `Mul(x, x)` runs
/// as separate kernels, 1.7x (RMSNorm) to 2.8x (LayerNorm) slower on its CPU
/// (docs/Rationale.md).
Value square(PatternRewriter &rewriter, Location loc, Value x) {
  auto type = cast<ShapedType>(x.getType());
  Value two = createFloatConstant(rewriter, derivedNodeLoc(loc, "two"),
                                  type.getElementType(), {}, {2.0});
  return PowOp::create(rewriter, derivedNodeLoc(loc, "Pow"), type, x, two);
}

/// The statistics type: fp32 unless the input is wider.
Type statisticsType(Type elementType) {
  if (elementType.isF64())
    return elementType;
  return Float32Type::get(elementType.getContext());
}

/// The statistics type of a norm written anew: the model's own precision
/// policy where the norm was recognized from a chain (the type its means
/// were taken in, e.g. fp16 statistics in an fp16 model without Casts, so
/// that a rewritten norm does not drift from its neighbours), else fp32 (or
/// wider) as the norm ops define it.
Type statisticsTypeOf(Operation *norm, Type elementType) {
  if (norm->getNumRegions() == 1 && !norm->getRegion(0).empty())
    for (Operation &op : norm->getRegion(0).front())
      if (auto mean = dyn_cast<ReduceMeanOp>(op))
        if (auto type = dyn_cast<FloatType>(getElementTypeOrSelf(mean.getData().getType())))
          // Pow takes bf16 only from opset 15 (the original may square by
          // Mul): below, the statistics are fp32.
          if (!type.isBF16() || getOpsetVersion(norm) >= 15)
            return type;
  return statisticsType(elementType);
}

/// `numerator / sqrt(meanSquare + epsilon)`.
Value divideByRoot(PatternRewriter &rewriter, Location loc, Value numerator,
                   Value meanSquare, double epsilon) {
  auto statType = cast<ShapedType>(meanSquare.getType());
  Value eps = createFloatConstant(rewriter, derivedNodeLoc(loc, "epsilon"),
                                  statType.getElementType(), {}, {epsilon});
  Value shifted = AddOp::create(rewriter, derivedNodeLoc(loc, "Add"), statType,
                                meanSquare, eps);
  Value root = SqrtOp::create(rewriter, derivedNodeLoc(loc, "Sqrt"), statType, shifted);
  return DivOp::create(rewriter, derivedNodeLoc(loc, "Div"), numerator.getType(),
                       numerator, root);
}

/// `x / sqrt(meanOf(v) + epsilon)` where `v` is the squared deviation
/// (LayerNorm) or the squared input (RMSNorm): the shared tail of both
/// decompositions.
Value normalizeByRootMean(PatternRewriter &rewriter, Location loc, Value numerator,
                          Value squared, int64_t axis, double epsilon,
                          int64_t opset) {
  Value meanSquare = createMeanOverTrailingDims(
      rewriter, derivedNodeLoc(loc, "ReduceMean_1"), squared, axis, opset);
  return divideByRoot(rewriter, loc, numerator, meanSquare, epsilon);
}

/// `ReduceMean(input)` over the (negative) `axes` with keepdims = 1, for an
/// input of unknown rank.
Value createMeanOverAxes(PatternRewriter &rewriter, Location loc, Value input,
                         ArrayRef<int64_t> axes, int64_t opset) {
  Type resultType = UnrankedTensorType::get(
      cast<TensorType>(input.getType()).getElementType());
  if (opset >= 18) {
    auto axesType = RankedTensorType::get({int64_t(axes.size())}, rewriter.getI64Type());
    Value axesValue = ConstantOp::create(
        rewriter, derivedNodeLoc(loc, "axes"), axesType,
        DenseElementsAttr::get(axesType, axes), nullptr, nullptr, nullptr, nullptr,
        nullptr, nullptr);
    return ReduceMeanOp::create(rewriter, loc, resultType, input, axesValue, nullptr,
                                nullptr, nullptr);
  }
  return ReduceMeanOp::create(rewriter, loc, resultType, input, Value(),
                              rewriter.getDenseI64ArrayAttr(axes), nullptr, nullptr);
}

/// Applies the optional affine tail `* scale + bias` and gives the last node
/// the norm's name and output names.
Value applyAffine(PatternRewriter &rewriter, Operation *norm, Value normalized,
                  Value scale, Value bias) {
  Location loc = norm->getLoc();
  Type type = normalized.getType();
  Value result = normalized;
  if (scale)
    result = MulOp::create(rewriter, bias ? derivedNodeLoc(loc, "Mul") : loc, type,
                                    result, scale);
  if (bias)
    result = AddOp::create(rewriter, loc, type, result, bias);
  if (Operation *last = result.getDefiningOp()) {
    takeOutputNames(norm, last);
    // The chain is typed from its input, which shape inference may have left
    // unranked; the value that replaces the norm keeps the norm's own result
    // type (a graph output's type is fixed by the signature).
    Type declared = norm->getResult(0).getType();
    if (result.getType() != declared && result.getDefiningOp()->getNumRegions() == 0)
      result.setType(declared);
  }
  return result;
}

/// The normalized value of a LayerNorm (`center`) or RMSNorm over the dims
/// `[axis, rank)` as a decomposed chain, with the statistics in fp32 and the
/// result cast back: `x' / sqrt(mean(x'^2) + epsilon)`, where `x'` is `x`
/// minus its mean for a LayerNorm. A negative `axisAttr` names the trailing
/// dims even when the rank (`axis`) is unknown.
FailureOr<Value> decompose(PatternRewriter &rewriter, Operation *op, Value input,
                           std::optional<int64_t> axis, int64_t axisAttr,
                           double epsilon, bool center) {
  int64_t reduceFrom = axis ? *axis : axisAttr;
  if (!axis && reduceFrom >= 0)
    return rewriter.notifyMatchFailure(op, "unknown input rank with a non-negative axis");
  Location loc = op->getLoc();
  int64_t opset = getOpsetVersion(op);
  auto inputType = cast<TensorType>(input.getType());
  Value x = createCastIfNeeded(rewriter, derivedNodeLoc(loc, "Cast"), input,
                               statisticsTypeOf(op, inputType.getElementType()));
  if (center) {
    Value mean = createMeanOverTrailingDims(
        rewriter, derivedNodeLoc(loc, "ReduceMean"), x, reduceFrom, opset);
    x = SubOp::create(rewriter, derivedNodeLoc(loc, "Sub"), x.getType(), x, mean);
  }
  Value normalized = normalizeByRootMean(rewriter, loc, x, square(rewriter, loc, x),
                                         reduceFrom, epsilon, opset);
  return createCastIfNeeded(rewriter, derivedNodeLoc(loc, "Cast_1"), normalized,
                            inputType.getElementType());
}

struct LayerNormToONNX : OpRewritePattern<norm::LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(norm::LayerNormOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<int64_t> axis = op.getNormalizedAxis();
    int64_t opset = getOpsetVersion(op);
    Location loc = op.getLoc();
    Value scale = op.getScale();
    if (opset >= 17) {
      if (!scale) {
        FailureOr<Value> ones = onesScale(rewriter, op, op.getInput(), axis);
        if (failed(ones))
          return rewriter.notifyMatchFailure(
              op, "a weightless LayerNormalization needs a static normalized shape");
        scale = *ones;
      }
      SmallVector<Value> operands{op.getInput(), scale};
      if (op.getBias())
        operands.push_back(op.getBias());
      auto node = NodeOp::create(rewriter, loc, TypeRange{op.getType()}, operands,
                                          "LayerNormalization", "");
      node->setAttr("axis", rewriter.getI64IntegerAttr(op.getAxis()));
      node->setAttr("epsilon", op.getEpsilonAttr());
      takeOutputNames(op, node);
      rewriter.replaceOp(op, node.getResults());
      return success();
    }
    FailureOr<Value> normalized =
        decompose(rewriter, op, op.getInput(), axis, op.getAxis(),
                  op.getEpsilon().convertToDouble(), /*center=*/true);
    if (failed(normalized))
      return failure();
    Value bias = op.getBias();
    if (!scale)
      scale = identityAffineOperand(rewriter, op, op.getInput(), axis, 1.0, "ones");
    if (scale && !bias)
      bias = identityAffineOperand(rewriter, op, op.getInput(), axis, 0.0, "zeros");
    rewriter.replaceOp(op, applyAffine(rewriter, op, *normalized, scale, bias));
    return success();
  }
};

struct RMSNormToONNX : OpRewritePattern<norm::RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(norm::RMSNormOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<int64_t> axis = op.getNormalizedAxis();
    int64_t opset = getOpsetVersion(op);
    Location loc = op.getLoc();
    Value gain = op.getScale();
    if (gain && op.getUnitOffset())
      gain = offsetGain(rewriter, loc, gain);
    if (opset >= 23) {
      if (!gain) {
        FailureOr<Value> ones = onesScale(rewriter, op, op.getInput(), axis);
        if (failed(ones))
          return rewriter.notifyMatchFailure(
              op, "a weightless RMSNormalization needs a static normalized shape");
        gain = *ones;
      }
      Location nodeLoc = op.getBias() ? derivedNodeLoc(loc, "RMSNormalization") : loc;
      auto node = NodeOp::create(rewriter, nodeLoc, TypeRange{op.getType()},
                                 ValueRange{op.getInput(), gain},
                                 "RMSNormalization", "");
      node->setAttr("axis", rewriter.getI64IntegerAttr(op.getAxis()));
      node->setAttr("epsilon", op.getEpsilonAttr());
      rewriter.replaceOp(op, applyAffine(rewriter, op, node.getResult(0),
                                         Value(), op.getBias()));
      return success();
    }
    FailureOr<Value> normalized =
        decompose(rewriter, op, op.getInput(), axis, op.getAxis(),
                  op.getEpsilon().convertToDouble(), /*center=*/false);
    if (failed(normalized))
      return failure();
    if (!gain)
      gain = identityAffineOperand(rewriter, op, op.getInput(), axis, 1.0, "ones");
    rewriter.replaceOp(op, applyAffine(rewriter, op, *normalized, gain, op.getBias()));
    return success();
  }
};

/// CRMSNorm: restore the d-th entry of the zero-mean vector as minus the sum
/// of the stored ones, then normalize it as an RMSNorm (exported by the
/// pattern above). The restored entry is computed in fp32 and rounded once
/// to the activation type.
struct CRMSNormToONNX : OpRewritePattern<norm::CRMSNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(norm::CRMSNormOp op,
                                PatternRewriter &rewriter) const override {
    auto inputType = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!inputType)
      return rewriter.notifyMatchFailure(op, "input rank is unknown");
    int64_t opset = getOpsetVersion(op);
    Location loc = op.getLoc();
    Type elementType = inputType.getElementType();
    Value x = createCastIfNeeded(rewriter, derivedNodeLoc(loc, "Cast_stored"),
                                 op.getInput(), statisticsType(elementType));
    auto xType = cast<RankedTensorType>(x.getType());
    SmallVector<int64_t> sumShape(xType.getShape());
    sumShape.back() = 1;
    auto sumType = RankedTensorType::get(sumShape, xType.getElementType());
    SmallVector<Value> sumOperands{x};
    if (opset >= 13) {
      auto axesType = RankedTensorType::get({1}, rewriter.getI64Type());
      sumOperands.push_back(ConstantOp::create(
          rewriter, derivedNodeLoc(loc, "axes"), axesType,
          DenseElementsAttr::get(axesType, ArrayRef<int64_t>{-1}), nullptr, nullptr,
          nullptr, nullptr, nullptr, nullptr));
    }
    auto sum = NodeOp::create(rewriter, derivedNodeLoc(loc, "ReduceSum"),
                              TypeRange{sumType}, sumOperands, "ReduceSum", "");
    if (opset < 13)
      sum->setAttr("axes", rewriter.getDenseI64ArrayAttr({-1}));
    auto last = NodeOp::create(rewriter, derivedNodeLoc(loc, "Neg"), TypeRange{sumType},
                               ValueRange{sum.getResult(0)}, "Neg", "");
    auto resultType = cast<RankedTensorType>(op.getType());
    auto fullType = resultType.clone(xType.getElementType());
    Value full = ConcatOp::create(rewriter, derivedNodeLoc(loc, "Concat"), fullType,
                                  ValueRange{x, last.getResult(0)},
                                  rewriter.getI64IntegerAttr(-1));
    full = createCastIfNeeded(rewriter, derivedNodeLoc(loc, "Cast_full"), full,
                              elementType);
    auto rms = norm::RMSNormOp::create(rewriter, loc, resultType, full, op.getScale(),
                                       op.getBias(), rewriter.getI64IntegerAttr(-1),
                                       op.getEpsilonAttr(), /*unit_offset=*/nullptr);
    takeOutputNames(op, rms);
    rewriter.replaceOp(op, rms.getResult());
    return success();
  }
};

/// `value / sqrt(mean(input^2) + epsilon)`: the RMSNorm statistics of
/// `input` in fp32, applied to `value` (in fp32, cast back).
struct RMSScaleToONNX : OpRewritePattern<norm::RMSScaleOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(norm::RMSScaleOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<int64_t> axis = op.getNormalizedAxis();
    // Without a rank, a negative axis still names the trailing dims.
    int64_t axisAttr = static_cast<int64_t>(op.getAxis());
    if (!axis && axisAttr >= 0)
      return rewriter.notifyMatchFailure(op, "input rank is unknown and axis >= 0");
    Location loc = op.getLoc();
    auto inputType = cast<TensorType>(op.getInput().getType());
    auto valueType = cast<TensorType>(op.getValue().getType());
    Type statType = statisticsType(inputType.getElementType());
    int64_t opset = getOpsetVersion(op);
    Value x = createCastIfNeeded(rewriter, derivedNodeLoc(loc, "Cast"),
                                 op.getInput(), statType);
    Value squared = square(rewriter, loc, x);
    Value value = createCastIfNeeded(rewriter, derivedNodeLoc(loc, "Cast_value"),
                                     op.getValue(), statType);
    Value scaled;
    double epsilon = op.getEpsilon().convertToDouble();
    if (axis) {
      scaled = normalizeByRootMean(rewriter, loc, value, squared, *axis, epsilon, opset);
    } else {
      SmallVector<int64_t> axes;
      for (int64_t d = axisAttr; d < 0; ++d)
        axes.push_back(d);
      Value meanSquare = createMeanOverAxes(
          rewriter, derivedNodeLoc(loc, "ReduceMean_1"), squared, axes, opset);
      scaled = divideByRoot(rewriter, loc, value, meanSquare, epsilon);
    }
    scaled = createCastIfNeeded(rewriter, derivedNodeLoc(loc, "Cast_1"), scaled,
                                valueType.getElementType());
    takeOutputNames(op, scaled.getDefiningOp());
    rewriter.replaceOp(op, scaled);
    return success();
  }
};

struct BatchNormToONNX : OpRewritePattern<norm::BatchNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(norm::BatchNormOp op,
                                PatternRewriter &rewriter) const override {
    auto node = NodeOp::create(rewriter, 
        op.getLoc(), TypeRange{op.getType()},
        ValueRange{op.getInput(), op.getScale(), op.getBias(), op.getMean(),
                   op.getVar()},
        "BatchNormalization", "");
    node->setAttr("epsilon", op.getEpsilonAttr());
    // Before opset 7 the node computes batch statistics unless is_test = 1.
    if (getOpsetVersion(op) < 7)
      node->setAttr("is_test", rewriter.getI64IntegerAttr(1));
    takeOutputNames(op, node);
    rewriter.replaceOp(op, node.getResults());
    return success();
  }
};

/// The com.microsoft Skip* ops: outputs (output, mean, inv_std_var, sum), the
/// middle two omitted.
template <typename SkipOp>
LogicalResult convertSkipNorm(SkipOp op, StringRef opType,
                              ArrayRef<Value> weights, PatternRewriter &rewriter) {
  SmallVector<Value> operands{op.getInput(), op.getSkip()};
  Value none;
  for (Value weight : weights) {
    if (!weight) {
      if (!none)
        none = NoneOp::create(rewriter, op.getLoc(), rewriter.getNoneType());
      weight = none;
    }
    operands.push_back(weight);
  }
  if (!op.getScale()) {
    auto type = dyn_cast<RankedTensorType>(op.getInput().getType());
    std::optional<int64_t> axis;
    if (type)
      axis = type.getRank() - 1;
    FailureOr<Value> ones = onesScale(rewriter, op, op.getInput(), axis);
    if (failed(ones))
      return rewriter.notifyMatchFailure(op, "a weightless skip norm needs a static hidden size");
    operands[2] = *ones;
  }
  Type statType = RankedTensorType::get({}, rewriter.getF32Type());
  auto node = NodeOp::create(rewriter, 
      op.getLoc(),
      TypeRange{op.getResult().getType(), statType, statType, op.getSum().getType()},
      operands, opType, kMicrosoftDomain);
  node->setAttr("epsilon", op.getEpsilonAttr());
  MLIRContext *ctx = rewriter.getContext();
  auto names = op->template getAttrOfType<ArrayAttr>(kOutputNamesAttr);
  auto nameAt = [&](unsigned i) -> Attribute {
    return names && i < names.size() ? names[i] : StringAttr::get(ctx, "");
  };
  node->setAttr(kOutputNamesAttr,
                ArrayAttr::get(ctx, {nameAt(0), StringAttr::get(ctx, ""),
                                     StringAttr::get(ctx, ""), nameAt(1)}));
  requireOpset(op->template getParentOfType<ModuleOp>(), kMicrosoftDomain, 1);
  rewriter.replaceOp(op, {node.getResult(0), node.getResult(3)});
  return success();
}

struct SkipLayerNormToONNX : OpRewritePattern<norm::SkipLayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(norm::SkipLayerNormOp op,
                                PatternRewriter &rewriter) const override {
    return convertSkipNorm(op, "SkipLayerNormalization",
                           {op.getScale(), op.getBias(), op.getSkipBias()}, rewriter);
  }
};

struct SkipRMSNormToONNX : OpRewritePattern<norm::SkipRMSNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(norm::SkipRMSNormOp op,
                                PatternRewriter &rewriter) const override {
    return convertSkipNorm(op, "SkipSimplifiedLayerNormalization",
                           {op.getScale(), op.getSkipBias()}, rewriter);
  }
};

struct ConvertNormToONNXPass
    : impl::ConvertNormToONNXBase<ConvertNormToONNXPass> {
  using ConvertNormToONNXBase::ConvertNormToONNXBase;
  void runOnOperation() override {
    // A norm no pass changed goes back to the nodes it was read from.
    IRRewriter rewriter(&getContext());
    if (originalSpelling)
      restoreOriginalSpellings(rewriter, getOperation());
    RewritePatternSet patterns(&getContext());
    patterns.add<LayerNormToONNX, RMSNormToONNX, RMSScaleToONNX, CRMSNormToONNX,
                 BatchNormToONNX,
                 SkipLayerNormToONNX, SkipRMSNormToONNX>(&getContext());
    GreedyRewriteConfig config;
    config.enableFolding(false);
    config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      return signalPassFailure();
    // A norm no pattern could express cannot be exported.
    WalkResult result = getOperation()->walk([](Operation *op) {
      if (isa<norm::NormDialect>(op->getDialect())) {
        op->emitError("cannot express '")
            << op->getName() << "' in ONNX ops: its input rank or normalized "
                                "shape is unknown";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    eraseOrphanedSpellingConstants(rewriter, getOperation());
  }
};

} // namespace
