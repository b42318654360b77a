//===- InstrumentStats.cpp - norm statistics as graph outputs -------------===//
//
// Calibration for norm-remove-ln without a runtime of our own: the model
// itself computes each norm's per-token statistic and returns it, and
// onnxruntime runs it on the user's inputs (docs/LNRemoval.md).
//
//===----------------------------------------------------------------------===//

#include "norm-opt/Dialect/Norm/Transforms/Passes.h"

#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/Norm/Transforms/Report.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXBuilder.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir::norm {
#define GEN_PASS_DEF_NORMINSTRUMENTSTATS
#include "norm-opt/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace mlir::norm

using namespace mlir;
using namespace mlir::norm;
using namespace mlir::onnxir;

namespace {

constexpr StringLiteral kPassName = "norm-instrument-stats";
/// Prefix of the added outputs' names; the rest is the norm's report name.
constexpr StringLiteral kStatsOutputPrefix = "norm_stats:";

/// The per-token quantity under the norm's root, in fp32 (fp64 stays):
/// `mean((x - mean(x))^2)` when `center`, else `mean(x^2)`, over the last dim.
Value buildStatistic(OpBuilder &b, Location loc, Value input, bool center, int64_t opset) {
  auto type = cast<ShapedType>(input.getType());
  Type statType =
      type.getElementType().isF64() ? type.getElementType() : Float32Type::get(b.getContext());
  Value x = createCastIfNeeded(b, derivedNodeLoc(loc, "Cast"), input, statType);
  if (center) {
    Value mean = createMeanOverTrailingDims(b, derivedNodeLoc(loc, "ReduceMean"), x,
                                            /*axis=*/-1, opset);
    x = SubOp::create(b, derivedNodeLoc(loc, "Sub"), x.getType(), x, mean);
  }
  Value square = MulOp::create(b, derivedNodeLoc(loc, "Mul"), x.getType(), x, x);
  return createMeanOverTrailingDims(b, derivedNodeLoc(loc, "ReduceMean_1"), square,
                                    /*axis=*/-1, opset);
}

struct NormInstrumentStatsPass : norm::impl::NormInstrumentStatsBase<NormInstrumentStatsPass> {
  void runOnOperation() override {
    ReportBatch reportBatch(getOperation());
    for (auto func : getOperation().getOps<func::FuncOp>())
      instrument(func);
  }

  void instrument(func::FuncOp func) {
    SmallVector<Operation *> norms;
    func.walk([&](Operation *op) {
      if (isa<LayerNormOp, RMSNormOp>(op))
        norms.push_back(op);
    });
    if (norms.empty())
      return;
    int64_t opset = getOpsetVersion(func);
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    OpBuilder b(&getContext());
    for (Operation *op : norms) {
      Value input = op->getOperand(0);
      auto type = dyn_cast<RankedTensorType>(input.getType());
      std::optional<int64_t> axis;
      int64_t axisAttr;
      if (auto ln = dyn_cast<LayerNormOp>(op)) {
        axis = ln.getNormalizedAxis();
        axisAttr = ln.getAxis();
      } else {
        axis = cast<RMSNormOp>(op).getNormalizedAxis();
        axisAttr = cast<RMSNormOp>(op).getAxis();
      }
      // Axis -1 is the last dim even when the rank is unknown.
      if (axisAttr != -1 && !(type && axis && *axis == type.getRank() - 1)) {
        recordNormRefusal(op, kPassName, "it normalizes more than the last dim");
        continue;
      }
      std::string name = getReportName(op);
      if (name.empty()) {
        recordNormRefusal(op, kPassName, "it has no name to label its statistic with");
        continue;
      }
      b.setInsertionPointAfter(op);
      Location loc = derivedNodeLoc(op->getLoc(), "norm_stats");
      Value statistic = buildStatistic(b, loc, input, isa<LayerNormOp>(op), opset);
      unsigned index = func.getNumResults();
      if (failed(func.insertResult(
              index, statistic.getType(),
              b.getDictionaryAttr(
                  b.getNamedAttr(kValueNameAttr, b.getStringAttr(kStatsOutputPrefix + name)))))) {
        op->emitError() << kPassName << ": cannot add an output to the graph";
        return signalPassFailure();
      }
      ret->insertOperands(ret->getNumOperands(), statistic);
      // The statistics file needs epsilon (a token's std is sqrt(s + eps));
      // the reason carries it with every digit an f32 has.
      double eps = op->getAttrOfType<FloatAttr>("epsilon").getValueAsDouble();
      recordNormAction(op, kPassName, "instrumented",
                       llvm::formatv("per-token {0} returned as output '{1}{2}'; "
                                     "epsilon {3:e8}",
                                     isa<LayerNormOp>(op) ? "variance" : "mean square",
                                     kStatsOutputPrefix, name, eps)
                           .str());
    }
  }
};

} // namespace
