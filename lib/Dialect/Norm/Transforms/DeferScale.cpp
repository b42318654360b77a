//===- DeferScale.cpp - FlashNorm deferred normalization ------------------===//
//
// A weightless RMSNorm read only by linear layers becomes those layers on the
// raw input followed by `norm.rms_scale` (one per-row factor each), so that
// the matmul and the reduction can run in parallel and the factor can sit in
// the matmul epilogue.
//
// A weightless skip RMSNorm normalizes the residual sum: its readers read the
// sum instead, spelled as the `Add`s it is (`(input + skip) + skip_bias`, the
// order in which the op sums), and the residual stream reads the same value.
//
//===----------------------------------------------------------------------===//

#include "norm-opt/Dialect/Norm/Transforms/Passes.h"

#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/Norm/Transforms/AffineFold.h"
#include "norm-opt/Dialect/Norm/Transforms/Readers.h"
#include "norm-opt/Dialect/Norm/Transforms/Report.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXBuilder.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir::norm {
#define GEN_PASS_DEF_NORMDEFERSCALE
#include "norm-opt/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace mlir::norm

using namespace mlir;
using namespace mlir::norm;

constexpr llvm::StringLiteral kPassName = "norm-defer-scale";

namespace {

/// Where one reader's factor goes.
struct Placement {
  /// The value to scale (a product before its bias), or null when the
  /// factor cancels in a following RMSNorm.
  Value target;
  /// The layer whose product is scaled: the reader, or the down projection
  /// of the SwiGLU rule.
  Operation *layer;
  /// The linear layer reading the norm's output (its operand 0 holds the
  /// rows the factor is computed from).
  Operation *rowsOf;
  bool pastDownProjection = false;
};

/// The SwiGLU rule: a product read only by an elementwise Mul (both operands
/// and the result of one type) whose result is read only by a linear layer
/// takes its factor after that layer.
std::optional<LinearLayer> matchDownProjection(const LinearLayer &reader) {
  if (reader.hasBias())
    return std::nullopt;
  Value product = reader.getProduct();
  if (!product.hasOneUse())
    return std::nullopt;
  auto mul = dyn_cast<onnxir::MulOp>(*product.getUsers().begin());
  if (!mul || mul.getLhs().getType() != mul.getRhs().getType() ||
      mul.getType() != product.getType() || !mul.getResult().hasOneUse())
    return std::nullopt;
  OpOperand &use = *mul.getResult().getUses().begin();
  std::string reason;
  FailureOr<LinearLayer> down =
      LinearLayer::match(use.getOwner(), use.getOperandNumber(), reason);
  // A Gemm adds its bias inside the op, so the factor cannot go before it.
  if (failed(down) || (isa<onnxir::GemmOp>(down->getOp()) && down->hasBias()))
    return std::nullopt;
  return *down;
}

/// Whether a bias-free product is read only by an RMSNorm over its last dim,
/// which removes any per-row factor (up to its epsilon).
bool feedsRMSNorm(const LinearLayer &reader) {
  if (reader.hasBias())
    return false;
  Value product = reader.getProduct();
  if (!product.hasOneUse())
    return false;
  auto next = dyn_cast<RMSNormOp>(*product.getUsers().begin());
  auto type = dyn_cast<RankedTensorType>(product.getType());
  return next && type && next.getNormalizedAxis() == type.getRank() - 1;
}

/// The residual sum of a skip RMSNorm as ONNX `Add`s, named as the op's sum
/// output was; the op's sum users read it from now on.
Value materializeSum(RewriterBase &rewriter, SkipRMSNormOp op) {
  rewriter.setInsertionPoint(op);
  Type type = op.getSum().getType();
  Value sum = onnxir::AddOp::create(rewriter,
                                    onnxir::derivedNodeLoc(op.getLoc(), "sum"),
                                    type, op.getInput(), op.getSkip());
  if (Value bias = op.getSkipBias())
    sum = onnxir::AddOp::create(rewriter,
                                onnxir::derivedNodeLoc(op.getLoc(), "sum_bias"),
                                type, sum, bias);
  if (auto names = op->getAttrOfType<ArrayAttr>(onnxir::kOutputNamesAttr))
    if (names.size() > 1 && !cast<StringAttr>(names[1]).getValue().empty())
      sum.getDefiningOp()->setAttr(onnxir::kOutputNamesAttr,
                                   rewriter.getArrayAttr({names[1]}));
  rewriter.replaceAllUsesWith(op.getSum(), sum);
  return sum;
}

/// Rewrites one norm (a norm.rms_norm or norm.skip_rms_norm), or records
/// why not.
void deferNorm(RewriterBase &rewriter, Operation *op, bool cancel) {
  auto refuse = [&](const Twine &reason) {
    recordNormRefusal(op, kPassName, reason.str());
  };
  auto rms = dyn_cast<RMSNormOp>(op);
  auto skip = dyn_cast<SkipRMSNormOp>(op);
  Value normalized = op->getResult(0);
  if (rms && (rms.getScale() || rms.getBias()))
    return refuse("it has a scale or bias (run --norm-fold-weights first)");
  if (skip && skip.getScale())
    return refuse("it has a scale (run --norm-fold-weights first)");
  std::string reason;
  FailureOr<SmallVector<LinearLayer>> readers =
      matchLinearReaders(normalized, reason);
  if (failed(readers))
    return refuse("cannot defer past its readers: " + reason);
  // Through a Reshape or Transpose a row is a row of the last dim only.
  bool lookedThrough = !collectReaders(normalized).lookedThrough.empty();
  if (rms && lookedThrough) {
    std::optional<int64_t> normalizedAxis = rms.getNormalizedAxis();
    auto type = dyn_cast<RankedTensorType>(normalized.getType());
    if (!normalizedAxis || !type || *normalizedAxis != type.getRank() - 1)
      return refuse("it normalizes more than the last dim, and a reader reshapes "
                    "or transposes its output");
  }
  for (const LinearLayer &reader : *readers)
    if (isa<onnxir::GemmOp>(reader.getOp()) && reader.hasBias())
      return refuse("a Gemm reader adds a bias, which must come after the scale");
  if (rms && rms.getInput().getType() != normalized.getType())
    return refuse("its input and output types differ");
  if (skip) {
    Type sumType = skip.getSum().getType();
    if (sumType != normalized.getType() || sumType != skip.getInput().getType())
      return refuse("its input, sum and output types differ");
    // The op sums in fp32 and rounds once; two Adds in a narrower type
    // would round twice.
    if (skip.getSkipBias() &&
        getElementTypeOrSelf(sumType).getIntOrFloatBitWidth() < 32)
      return refuse("its sum with a skip bias would round twice as Adds in " +
                    Twine(getElementTypeOrSelf(sumType).getIntOrFloatBitWidth()) +
                    "-bit floats");
  }
  // A product without a known type is retyped below; it must not be a graph
  // output, whose type the signature fixes.
  for (const LinearLayer &reader : *readers) {
    Value product = reader.getProduct();
    if (!isa<TensorType>(product.getType()) &&
        llvm::any_of(product.getUsers(),
                     [](Operation *user) { return isa<func::ReturnOp>(user); }))
      return refuse("a reader's product has no tensor type and is a graph output");
  }

  SmallVector<Placement> placements;
  unsigned deferredPast = 0, cancelled = 0;
  for (const LinearLayer &reader : *readers) {
    if (cancel && feedsRMSNorm(reader)) {
      placements.push_back({Value(), reader.getOp(), reader.getOp()});
      ++cancelled;
    } else if (std::optional<LinearLayer> down = matchDownProjection(reader)) {
      placements.push_back({down->getProduct(), down->getOp(), reader.getOp(), true});
      ++deferredPast;
    } else {
      placements.push_back({reader.getProduct(), reader.getOp(), reader.getOp()});
    }
  }

  Value x = rms ? rms.getInput() : materializeSum(rewriter, skip);
  IntegerAttr axis = rms && !lookedThrough ? rms.getAxisAttr()
                                           : rewriter.getI64IntegerAttr(-1);
  FloatAttr epsilon = rms ? rms.getEpsilonAttr() : skip.getEpsilonAttr();
  // Every reader of the normalized value reads x instead (the types are
  // equal): the linear layers, directly or through the readers that hand
  // rows on unchanged, and the shape-only readers (Readers.h). Each layer's
  // factor is the RMS of the rows it reads.
  rewriter.replaceAllUsesWith(normalized, x);
  for (const Placement &place : placements) {
    if (!place.target)
      continue;
    // A product ONNX shape inference left untyped (downstream of an op it
    // does not know) is a tensor of the input's element type.
    Value target = place.target;
    if (!isa<TensorType>(target.getType()))
      rewriter.modifyOpInPlace(place.layer, [&] {
        target.setType(UnrankedTensorType::get(
            cast<TensorType>(x.getType()).getElementType()));
      });
    rewriter.setInsertionPointAfter(place.layer);
    Value rows = place.rowsOf->getOperand(0);
    auto scale = RMSScaleOp::create(
        rewriter, onnxir::derivedNodeLoc(place.layer->getLoc(), "rms_scale"),
        place.target.getType(), place.target, rows, axis, epsilon);
    rewriter.replaceAllUsesExcept(place.target, scale.getResult(), scale);
    // The ONNX name of the product now names the scaled value.
    if (auto names = place.layer->getAttrOfType<ArrayAttr>(onnxir::kOutputNamesAttr)) {
      scale->setAttr(onnxir::kOutputNamesAttr, names);
      MLIRContext *ctx = op->getContext();
      rewriter.modifyOpInPlace(place.layer, [&] {
        place.layer->setAttr(
            onnxir::kOutputNamesAttr,
            ArrayAttr::get(ctx, {StringAttr::get(
                                    ctx, cast<StringAttr>(names[0]).str() + "_unscaled")}));
      });
    }
  }
  recordNormAction(op, kPassName, "deferred",
                   llvm::formatv("1/RMS applied after {0} linear layer(s), {1} of "
                                 "them past the down projection, {2} cancelled by "
                                 "a following RMSNorm{3}",
                                 readers->size(), deferredPast, cancelled,
                                 skip ? "; they read the residual sum (Add)" : "")
                       .str());
  rewriter.eraseOp(op);
}

struct NormDeferScalePass : norm::impl::NormDeferScaleBase<NormDeferScalePass> {
  using NormDeferScaleBase::NormDeferScaleBase;
  void runOnOperation() override {
    ReportBatch reportBatch(getOperation());
    SmallVector<Operation *> norms;
    getOperation()->walk([&](Operation *op) {
      if (isa<RMSNormOp, SkipRMSNormOp>(op))
        norms.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : norms)
      deferNorm(rewriter, op, cancelBeforeRMSNorm);
  }
};

} // namespace
