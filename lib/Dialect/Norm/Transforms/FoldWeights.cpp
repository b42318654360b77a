//===- FoldWeights.cpp - FlashNorm weight folding -------------------------===//
//
// Makes every norm whose output only feeds linear layers weightless, by
// folding its gain and shift into those layers (AffineFold.h does the
// arithmetic; this pass decides what a norm's affine part is).
//
//===----------------------------------------------------------------------===//

#include "norm-opt/Dialect/Norm/Transforms/Passes.h"

#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/Norm/Transforms/AffineFold.h"
#include "norm-opt/Dialect/Norm/Transforms/Report.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir::norm {
#define GEN_PASS_DEF_NORMFOLDWEIGHTS
#include "norm-opt/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace mlir::norm

using namespace mlir;
using namespace mlir::norm;

constexpr llvm::StringLiteral kPassName = "norm-fold-weights";

namespace {

/// The affine tail of a norm: its normalized output, the operands holding
/// its gain and shift, and how to drop them once folded.
struct NormAffine {
  Value output;
  Value scale;
  Value bias;
  bool unitOffset = false;
};

std::optional<NormAffine> getNormAffine(Operation *op) {
  return llvm::TypeSwitch<Operation *, std::optional<NormAffine>>(op)
      .Case([](LayerNormOp n) {
        return NormAffine{n.getResult(), n.getScale(), n.getBias()};
      })
      .Case([](RMSNormOp n) {
        return NormAffine{n.getResult(), n.getScale(), n.getBias(),
                          n.getUnitOffset()};
      })
      .Case([](CRMSNormOp n) {
        return NormAffine{n.getResult(), n.getScale(), n.getBias()};
      })
      .Case([](SkipLayerNormOp n) {
        return NormAffine{n.getResult(), n.getScale(), n.getBias()};
      })
      .Case([](SkipRMSNormOp n) {
        return NormAffine{n.getResult(), n.getScale(), Value()};
      })
      .Default([](Operation *) { return std::nullopt; });
}

/// Removes the scale and bias operands (and Gemma's unit offset) of a norm.
void dropAffineOperands(RewriterBase &rewriter, Operation *op) {
  rewriter.modifyOpInPlace(op, [&] {
    llvm::TypeSwitch<Operation *>(op)
        .Case([](LayerNormOp n) {
          n.getScaleMutable().clear();
          n.getBiasMutable().clear();
        })
        .Case([](RMSNormOp n) {
          n.getScaleMutable().clear();
          n.getBiasMutable().clear();
          n.setUnitOffset(false);
        })
        .Case([](CRMSNormOp n) {
          n.getScaleMutable().clear();
          n.getBiasMutable().clear();
        })
        .Case([](SkipLayerNormOp n) {
          n.getScaleMutable().clear();
          n.getBiasMutable().clear();
        })
        .Case([](SkipRMSNormOp n) { n.getScaleMutable().clear(); });
  });
}

/// The size of the last normalized dim: from the output type, else (ONNX
/// shape inference leaves the outputs of ops it does not know, such as
/// opset-23 RMSNormalization, untyped) from the last dim of a weight when the
/// norm is over the last dim only. The readers' weights are checked against
/// it before anything is folded.
std::optional<int64_t> getHiddenSize(Operation *op, const NormAffine &affine) {
  auto type = dyn_cast<RankedTensorType>(affine.output.getType());
  if (type && type.getRank() > 0 && !ShapedType::isDynamic(type.getShape().back()))
    return type.getShape().back();
  if (type && type.getRank() == 0)
    return std::nullopt;
  auto axis = op->getAttrOfType<IntegerAttr>("axis");
  bool lastDimOnly = !axis || axis.getInt() == -1 ||
                     (type && axis.getInt() == type.getRank() - 1);
  if (!lastDimOnly)
    return std::nullopt;
  for (Value weight : {affine.scale, affine.bias}) {
    auto weightType = weight ? dyn_cast<RankedTensorType>(weight.getType())
                             : RankedTensorType();
    if (weightType && weightType.getRank() > 0 &&
        !ShapedType::isDynamic(weightType.getShape().back()) &&
        weightType.getShape().back() > 1)
      return weightType.getShape().back();
  }
  return std::nullopt;
}

/// Folds the affine part of one norm, or records why not. Fails only when a
/// new weight could not be stored (an error was emitted).
LogicalResult foldNorm(RewriterBase &rewriter, Operation *op) {
  std::optional<NormAffine> affine = getNormAffine(op);
  if (!affine || (!affine->scale && !affine->bias))
    return success(); // Already weightless: nothing to fold.
  auto refuse = [&](const Twine &reason) {
    recordNormRefusal(op, kPassName, reason.str());
    return success();
  };

  std::optional<int64_t> k = getHiddenSize(op, *affine);
  if (!k)
    return refuse("its hidden size (the last dim) is not static");

  std::string reason;
  FailureOr<SmallVector<LinearLayer>> readers =
      matchLinearReaders(affine->output, reason, *k);
  if (failed(readers))
    return refuse("cannot fold into its readers: " + reason);

  ChannelAffine map;
  if (affine->scale) {
    FailureOr<std::vector<double>> gain = readLastDimVector(affine->scale, *k, reason);
    if (failed(gain))
      return refuse("scale: " + reason);
    map.gain = std::move(*gain);
    if (affine->unitOffset)
      for (double &g : map.gain)
        g += 1.0;
  } else {
    map.gain.assign(*k, 1.0);
  }
  if (affine->bias) {
    FailureOr<std::vector<double>> shift = readLastDimVector(affine->bias, *k, reason);
    if (failed(shift))
      return refuse("bias: " + reason);
    map.shift = std::move(*shift);
  }
  if (failed(checkAffineFold(*readers, map, reason)))
    return refuse(reason);

  if (failed(warnPrecisionLosses(op, kPassName, foldAffineIntoReaders(rewriter, *readers, map))))
    return failure();

  Value oldScale = affine->scale, oldBias = affine->bias;
  dropAffineOperands(rewriter, op);
  eraseIfUnused(rewriter, oldScale);
  eraseIfUnused(rewriter, oldBias);
  recordNormAction(op, kPassName, "folded",
                   llvm::formatv("{0}{1} folded into {2} linear layer(s)",
                                 affine->scale ? "scale" : "",
                                 affine->bias ? (affine->scale ? " and bias" : "bias") : "",
                                 readers->size())
                       .str());
  return success();
}

struct NormFoldWeightsPass
    : norm::impl::NormFoldWeightsBase<NormFoldWeightsPass> {
  void runOnOperation() override {
    ReportBatch reportBatch(getOperation());
    SmallVector<Operation *> norms;
    getOperation()->walk([&](Operation *op) {
      if (isa<LayerNormOp, RMSNormOp, CRMSNormOp, SkipLayerNormOp, SkipRMSNormOp>(op))
        norms.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : norms)
      if (failed(foldNorm(rewriter, op)))
        return signalPassFailure();
  }
};

} // namespace
