//===- RemoveLN.cpp - LayerNorm / RMSNorm removal --------------------------===//
//
// Replaces a norm whose per-token std is (provably, or by the user's choice)
// one fixed sigma by its affine form, and folds that form into the linear
// layers that read it (TRANSFORMS.md section 5). This file decides sigma and
// whether the site may go; AffineFold does the weight arithmetic.
//
//===----------------------------------------------------------------------===//

#include "norm-opt/Dialect/Norm/Transforms/Passes.h"

#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/Norm/Transforms/AffineFold.h"
#include "norm-opt/Dialect/Norm/Transforms/Report.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXBuilder.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>

namespace mlir::norm {
#define GEN_PASS_DEF_NORMREMOVELN
#include "norm-opt/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace mlir::norm

using namespace mlir;
using namespace mlir::norm;
using namespace mlir::onnxir;

namespace {

constexpr StringLiteral kPassName = "norm-remove-ln";
constexpr StringLiteral kStatsFormat = "norm-opt-statistics";

/// One site of a statistics file (docs/LNRemoval.md). `statistic` is the
/// quantity under the norm's root: the variance for a LayerNorm, the mean
/// square for an RMSNorm.
struct SiteStatistics {
  int64_t tokens = 0;
  double maxStatistic = 0;
  std::optional<double> epsilon;
  std::optional<double> meanStd;
  std::optional<double> firstStd;
  std::optional<bool> remove;
  std::optional<double> measuredError;
};

/// Reads and checks a statistics file; on failure `error` says what is wrong.
FailureOr<llvm::StringMap<SiteStatistics>> loadStatistics(StringRef path, std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer) {
    error = "cannot read '" + path.str() + "': " + buffer.getError().message();
    return failure();
  }
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse((*buffer)->getBuffer());
  if (!parsed) {
    error = "'" + path.str() + "' is not JSON: " + llvm::toString(parsed.takeError());
    return failure();
  }
  auto fail = [&](const Twine &what) {
    error = ("'" + path + "': " + what).str();
    return failure();
  };
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root || root->getString("format") != std::optional<StringRef>(kStatsFormat))
    return fail("not a statistics file (\"format\" must be \"" + kStatsFormat + "\")");
  if (root->getInteger("version") != std::optional<int64_t>(1))
    return fail("unsupported \"version\" (expected 1)");
  const llvm::json::Array *sites = root->getArray("sites");
  if (!sites)
    return fail("no \"sites\" array");
  llvm::StringMap<SiteStatistics> result;
  for (auto [i, entry] : llvm::enumerate(*sites)) {
    const llvm::json::Object *site = entry.getAsObject();
    std::optional<StringRef> name = site ? site->getString("name") : std::nullopt;
    if (!name)
      return fail("site " + Twine(i) + " has no \"name\"");
    auto where = [&](StringRef field) {
      return "site '" + name->str() + "': \"" + field.str() + "\"";
    };
    SiteStatistics stats;
    std::optional<int64_t> tokens = site->getInteger("tokens");
    std::optional<double> maxStatistic = site->getNumber("max_statistic");
    if (!tokens || *tokens < 1)
      return fail(where("tokens") + " must be a positive integer");
    if (!maxStatistic || !std::isfinite(*maxStatistic) || *maxStatistic < 0)
      return fail(where("max_statistic") + " must be a finite number >= 0");
    stats.tokens = *tokens;
    stats.maxStatistic = *maxStatistic;
    stats.epsilon = site->getNumber("epsilon");
    stats.meanStd = site->getNumber("mean_std");
    stats.firstStd = site->getNumber("first_std");
    stats.remove = site->getBoolean("remove");
    stats.measuredError = site->getNumber("measured_error");
    if (stats.meanStd && !(std::isfinite(*stats.meanStd) && *stats.meanStd > 0))
      return fail(where("mean_std") + " must be a finite number > 0");
    if (stats.remove.value_or(false) && !stats.meanStd)
      return fail(where("remove") + " is true without \"mean_std\"");
    if (!result.try_emplace(*name, stats).second)
      return fail("site '" + *name + "' is listed twice");
  }
  return result;
}

/// The largest finite value of a float type.
double largestFinite(Type type) {
  auto floatType = cast<FloatType>(type);
  return llvm::APFloat::getLargest(floatType.getFloatSemantics()).convertToDouble();
}

/// What a norm is made of, for either kind.
struct NormSite {
  Operation *op;
  Value input, output, scale, bias;
  double epsilon;
  bool center;
  bool unitOffset;
  /// Whether it normalizes the last dim alone (known even for an unranked
  /// input when its axis is -1).
  bool lastDimOnly;
};

/// The fixed std a removed site is divided by, why it may be, and (for a
/// calibrated site) the first position's own std.
struct SigmaChoice {
  double sigma;
  std::string justification;
  std::optional<double> firstStd;
};

template <typename Norm> bool normalizesLastDimOnly(Norm norm) {
  auto type = dyn_cast<RankedTensorType>(norm.getInput().getType());
  std::optional<int64_t> axis = norm.getNormalizedAxis();
  return norm.getAxis() == -1 || (type && axis && *axis == type.getRank() - 1);
}

std::optional<NormSite> getNormSite(Operation *op) {
  if (auto ln = dyn_cast<LayerNormOp>(op))
    return NormSite{op,
                    ln.getInput(),
                    ln.getResult(),
                    ln.getScale(),
                    ln.getBias(),
                    ln.getEpsilon().convertToDouble(),
                    /*center=*/true,
                    /*unitOffset=*/false,
                    normalizesLastDimOnly(ln)};
  if (auto rms = dyn_cast<RMSNormOp>(op))
    return NormSite{op,
                    rms.getInput(),
                    rms.getResult(),
                    rms.getScale(),
                    rms.getBias(),
                    rms.getEpsilon().convertToDouble(),
                    /*center=*/false,
                    rms.getUnitOffset(),
                    normalizesLastDimOnly(rms)};
  return std::nullopt;
}

struct NormRemoveLNPass : norm::impl::NormRemoveLNBase<NormRemoveLNPass> {
  using NormRemoveLNBase::NormRemoveLNBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    ReportBatch reportBatch(module);
    if (!(tolerance > 0 && tolerance < 1)) {
      module.emitError() << kPassName << ": tolerance must be in (0, 1), got " << tolerance;
      return signalPassFailure();
    }
    std::optional<llvm::StringMap<SiteStatistics>> statistics;
    if (!statsFile.empty()) {
      std::string error;
      auto loaded = loadStatistics(statsFile, error);
      if (failed(loaded)) {
        module.emitError() << kPassName << ": statistics file " << error;
        return signalPassFailure();
      }
      statistics = std::move(*loaded);
    }
    SmallVector<Operation *> norms;
    module.walk([&](Operation *op) {
      if (isa<LayerNormOp, RMSNormOp>(op))
        norms.push_back(op);
      else if (isa<SkipLayerNormOp, SkipRMSNormOp, CRMSNormOp>(op))
        recordNormRefusal(op, kPassName,
                          "only LayerNorms and RMSNorms are removed, not " + getNormKind(op).str());
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : norms) {
      const SiteStatistics *stats = nullptr;
      if (statistics) {
        auto it = statistics->find(getReportName(op));
        if (it != statistics->end())
          stats = &it->second;
      }
      if (failed(removeSite(rewriter, *getNormSite(op), stats)))
        return signalPassFailure();
    }
  }

  /// sigma and the sentence that justifies it, or a refusal.
  FailureOr<SigmaChoice> chooseSigma(const NormSite &site, Type elementType,
                                     const SiteStatistics *stats, std::string &refusal) {
    double eps = site.epsilon;
    double tolerance = this->tolerance; // formatv formats a pass Option as a plain value

    double bound = 2 * tolerance * eps; // the largest statistic within tolerance
    StringRef what = site.center ? "variance" : "mean square";
    if (stats && stats->remove == std::optional<bool>(false)) {
      refusal = "the statistics file says to keep it";
      return failure();
    }
    if (stats && stats->epsilon &&
        std::fabs(*stats->epsilon - eps) > 1e-6 * std::max(std::fabs(eps), 1e-30)) {
      refusal = llvm::formatv("the statistics were taken with epsilon {0:e3}, the norm "
                              "has {1:e3}",
                              *stats->epsilon, eps);
      return failure();
    }
    if (!stats) {
      double largest = largestFinite(elementType);
      double worst = largest * largest; // a statistic never exceeds max|x|^2
      if (std::isfinite(worst) && worst <= bound)
        return SigmaChoice{std::sqrt(eps),
                           llvm::formatv("epsilon {0:e3} dominates every finite {1} activation: "
                                         "{2} <= {3:e3}^2 = {4:e3} <= 2*{5:e1}*epsilon, so "
                                         "|sqrt({2} + eps)/sqrt(eps) - 1| <= {2}/(2 eps) <= {6:e2}",
                                         eps, elementType, what, largest, worst, tolerance,
                                         worst / (2 * eps))
                               .str()};
      // epsilon is an f32 attribute: past its range no epsilon can dominate.
      double neededEpsilon = worst / (2 * tolerance);
      if (neededEpsilon <= largestFinite(Float32Type::get(elementType.getContext())))
        refusal =
            llvm::formatv("epsilon {0:e3} is too small to dominate every finite {1} activation "
                          "({2} <= {3:e3} needs epsilon >= {4:e3} for a relative error of {5:e1}); "
                          "give calibration statistics (stats=FILE)",
                          eps, elementType, what, worst, neededEpsilon, tolerance);
      else
        refusal = llvm::formatv(
            "no statistics: no epsilon dominates every finite {0} activation's {1}, so "
            "epsilon {2:e3} does not prove {1} <= 2*{3:e1}*epsilon = {4:e3}; give calibration "
            "statistics (stats=FILE)",
            elementType, what, eps, tolerance, bound);
      return failure();
    }
    if (stats->maxStatistic <= bound)
      return SigmaChoice{
          std::sqrt(eps),
          llvm::formatv("epsilon {0:e3} dominates on calibration: max {1} {2:e3} over "
                        "{3} tokens <= 2*{4:e1}*epsilon, relative error <= {5:e2}",
                        eps, what, stats->maxStatistic, stats->tokens, tolerance,
                        stats->maxStatistic / (2 * eps))
              .str()};
    if (stats->remove.value_or(false)) {
      std::string text = llvm::formatv("calibrated: sigma = mean per-token std over {0} "
                                       "tokens, first position apart",
                                       stats->tokens);
      if (stats->firstStd)
        text += llvm::formatv(" (its std {0:e3})", *stats->firstStd).str();
      text += stats->measuredError
                  ? llvm::formatv("; measured held-out error {0:e2}", *stats->measuredError).str()
                  : std::string("; error not measured");
      return SigmaChoice{*stats->meanStd, text, stats->firstStd};
    }
    refusal = llvm::formatv("epsilon {0:e3} is too small: calibrated max {1} {2:e3} "
                            "exceeds 2*{3:e1}*epsilon = {4:e3}, and the statistics file "
                            "does not select the site for calibrated removal",
                            eps, what, stats->maxStatistic, tolerance, bound);
    return failure();
  }

  /// Removes one site or records why not; fails only when a folded weight
  /// cannot be stored (an error was emitted).
  LogicalResult removeSite(RewriterBase &rewriter, const NormSite &site,
                           const SiteStatistics *stats) {
    Operation *op = site.op;
    auto refuse = [&](const Twine &reason) {
      recordNormRefusal(op, kPassName, reason.str());
      return success();
    };
    if (!site.lastDimOnly)
      return refuse("it normalizes more than the last dim");
    // The hidden size, from the input type or else (an exporter may leave
    // the type unranked) from a weight; the readers are checked against it.
    int64_t k = ShapedType::kDynamic;
    if (auto type = dyn_cast<RankedTensorType>(site.input.getType()); type && type.getRank() > 0)
      k = type.getShape().back();
    for (Value weight : {site.scale, site.bias})
      if (auto weightType =
              weight ? dyn_cast<RankedTensorType>(weight.getType()) : RankedTensorType();
          ShapedType::isDynamic(k) && weightType && weightType.getRank() > 0 &&
          weightType.getShape().back() > 1)
        k = weightType.getShape().back();
    if (ShapedType::isDynamic(k))
      return refuse("its hidden size (the last dim) is not static");
    Type elementType = cast<ShapedType>(site.input.getType()).getElementType();

    std::string reason;
    auto sigma = chooseSigma(site, elementType, stats, reason);
    if (failed(sigma))
      return refuse(reason);
    double sigmaValue = sigma->sigma;

    ChannelAffine map;
    map.center = site.center;
    map.gain.assign(k, 1.0);
    if (site.scale) {
      FailureOr<std::vector<double>> gain = readLastDimVector(site.scale, k, reason);
      if (failed(gain))
        return refuse("scale: " + reason);
      map.gain = std::move(*gain);
      if (site.unitOffset)
        for (double &g : map.gain)
          g += 1.0;
    }
    for (double &g : map.gain)
      g /= sigmaValue;
    if (site.bias) {
      FailureOr<std::vector<double>> shift = readLastDimVector(site.bias, k, reason);
      if (failed(shift))
        return refuse("bias: " + reason);
      map.shift = std::move(*shift);
    }

    FailureOr<SmallVector<LinearLayer>> readers = matchLinearReaders(site.output, reason);
    bool foldable = succeeded(readers) && succeeded(checkAffineFold(*readers, map, reason));
    if (!foldable && site.center)
      return refuse("its centering cannot be folded: " + reason +
                    " (norm-pre-ln-to-rms can center the writers instead)");

    // What the folded readers (or the Mul/Add) read: the input, with the
    // first position rescaled to its own calibrated std when there is one.
    std::string how;
    Value x = site.input;
    if (sigma->firstStd)
      x = scaleFirstPosition(rewriter, site, sigmaValue / *sigma->firstStd, how);
    if (foldable) {
      if (failed(
              warnPrecisionLosses(op, kPassName, foldAffineIntoReaders(rewriter, *readers, map))))
        return failure();
      rewriter.replaceAllUsesWith(site.output, x);
      how = llvm::formatv("folded into {0} linear layer(s)", readers->size()).str() + how;
    } else {
      rewriter.replaceAllUsesWith(site.output, buildAffine(rewriter, site, x, map));
      how = "kept as one Mul" + std::string(map.shift.empty() ? "" : "/Add") +
            " because it cannot be folded: " + reason + how;
    }
    recordNormAction(
        op, kPassName, "removed",
        llvm::formatv("sigma = {0:e4}; {1}; {2}", sigmaValue, sigma->justification, how).str());
    SmallVector<Value> weights;
    for (Value weight : {site.scale, site.bias})
      if (weight)
        weights.push_back(weight);
    rewriter.eraseOp(op);
    eraseIfUnused(rewriter, weights);
    return success();
  }

  /// `x * gain + shift` as one Mul (and one Add), with `[K]` constants in
  /// the input's element type, named after the norm.
  Value buildAffine(RewriterBase &rewriter, const NormSite &site, Value x,
                    const ChannelAffine &map) {
    rewriter.setInsertionPoint(site.op);
    Location loc = site.op->getLoc();
    std::string name = getReportName(site.op);
    Type type = site.input.getType();
    Type elementType = cast<ShapedType>(type).getElementType();
    int64_t k = map.gain.size();
    Value gain = createFloatInitializer(rewriter, derivedNodeLoc(loc, "gain"), name + "_gain",
                                        elementType, {k}, map.gain);
    Value result = MulOp::create(rewriter, map.shift.empty() ? loc : derivedNodeLoc(loc, "Mul"),
                                 type, x, gain);
    if (!map.shift.empty()) {
      Value shift = createFloatInitializer(rewriter, derivedNodeLoc(loc, "shift"), name + "_shift",
                                           elementType, {k}, map.shift);
      result = AddOp::create(rewriter, loc, type, result, shift);
    }
    if (auto names = site.op->getAttr(kOutputNamesAttr))
      result.getDefiningOp()->setAttr(kOutputNamesAttr, names);
    return result;
  }

  /// `x * c` with `c = [ratio, 1, ..., 1]` along the position dim (-2), as a
  /// `[T, 1]` constant, so that the first position is divided by its own
  /// std; `x` as it is when the ratio is 1 or the position dim is not
  /// static (said in `note`).
  Value scaleFirstPosition(RewriterBase &rewriter, const NormSite &site, double ratio,
                           std::string &note) {
    if (std::fabs(ratio - 1) <= 1e-6)
      return site.input;
    auto type = dyn_cast<RankedTensorType>(site.input.getType());
    int64_t positions =
        type && type.getRank() >= 2 ? type.getDimSize(type.getRank() - 2) : ShapedType::kDynamic;
    if (ShapedType::isDynamic(positions) || positions < 2) {
      note = "; first position not rescaled: the position dim (-2) is not static";
      return site.input;
    }
    rewriter.setInsertionPoint(site.op);
    Location loc = derivedNodeLoc(site.op->getLoc(), "first_position");
    std::vector<double> factors(positions, 1.0);
    factors[0] = ratio;
    Value c = createFloatInitializer(rewriter, loc, getReportName(site.op) + "_first_position",
                                     type.getElementType(), {positions, 1}, factors);
    note = llvm::formatv("; first position rescaled by sigma/first_std = {0:e3} (one Mul)", ratio);
    return MulOp::create(rewriter, loc, type, site.input, c);
  }
};

} // namespace
