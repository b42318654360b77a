//===- RecognizeDecomposedNorms.cpp - decomposed norm chains -> norm ops --===//
//
// Exporters that do not use the ONNX normalization operators spell a norm as
// a chain of reductions and elementwise ops. Every spelling has exactly one
// root of `statistic + epsilon`: `Sqrt`, `Pow(., 0.5)`, or the inverse root
// `Pow(., -0.5)` (`var ** -0.5` in hand-written graphs). Each pattern is
// anchored there: it walks back to the statistics, forward to the normalized
// value and its affine tail, and replaces the chain by one norm op only when
// it proves that the chain computes that norm:
//
//  - the reductions are `ReduceMean` over exactly the trailing dims
//    `[axis, rank)` with keepdims = 1: on a value of known rank, or, where
//    the rank is unknown (attention reshapes without constant folding), with
//    negative axes, which name the trailing dims whatever the rank;
//  - epsilon, the exponent 2, the exponents +-0.5 of a root and the 1 of
//    `1 / sqrt` are constants, of a rank that does not widen the value they
//    combine with;
//  - a scale or bias is absorbed only where it fits the normalized dims
//    (known from the type, or from the broadcast that produced an unranked
//    input), so that broadcasting it cannot change the result's shape;
//  - no intermediate value has a user outside the chain: the erased chain
//    would still be needed. Users that compute nothing anybody reads (the
//    unused Mean / InvStdDev outputs of the ONNX function body) go with it.
//
// ONNX ops are not Pure, so the chain is erased here explicitly, followed by
// the producers (Constant nodes, shape computations) that fed only the
// chain. Initializers are never erased.
//
// A chain that has the shape of a norm (the root of a mean of squares plus
// something) but fails a precondition is a norm the user expects to see: once
// the patterns are done, `recordDecomposedNormRefusals` matches it again
// without rewriting and records why it was refused in the report.
//
//===----------------------------------------------------------------------===//

#include "RecognizeNorms.h"

#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/Norm/IR/OriginalSpelling.h"
#include "norm-opt/Dialect/Norm/Transforms/Report.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::norm;
using namespace mlir::onnxir;

namespace {

constexpr StringLiteral kPassName = "norm-recognize";

//===----------------------------------------------------------------------===//
// Small matchers
//===----------------------------------------------------------------------===//

/// A single-element constant, also through a `Cast` of one (the ONNX function
/// bodies cast epsilon to the statistics type); the value is rounded to the
/// cast's element type as the Cast would.
std::optional<double> getScalarThroughCast(Value value) {
  auto castOp = value.getDefiningOp<CastOp>();
  if (!castOp)
    return getScalarConstant(value);
  std::optional<double> scalar = getScalarConstant(castOp.getInput());
  auto type = dyn_cast<ShapedType>(castOp.getType());
  if (!scalar || !type)
    return std::nullopt;
  auto floatType = dyn_cast<FloatType>(type.getElementType());
  if (!floatType)
    return std::nullopt;
  APFloat converted(*scalar);
  bool lostInfo;
  converted.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                    &lostInfo);
  return converted.convertToDouble();
}

/// A lower bound of the rank of a value in a chain: its rank, or 1 when
/// unknown (a chain's values have at least the one reduced dim).
int64_t minRank(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  return type ? type.getRank() : 1;
}

/// `value` as a constant scalar when its rank is at most that of `other`, so
/// that broadcasting it against `other` does not widen the result.
std::optional<double> getBroadcastScalar(Value value, Value other) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || type.getRank() > minRank(other))
    return std::nullopt;
  return getScalarThroughCast(value);
}

/// The sizes of the last `count` dims of `value` (kDynamic where unknown):
/// from its type, or, for an unranked result of a broadcasting op, from the
/// operands (a static size above 1 in any operand is the result's size).
SmallVector<int64_t> getTrailingDims(Value value, int64_t count, unsigned depth = 0) {
  SmallVector<int64_t> dims(count, ShapedType::kDynamic);
  if (auto type = dyn_cast<RankedTensorType>(value.getType())) {
    if (type.getRank() >= count)
      llvm::copy(type.getShape().take_back(count), dims.begin());
    return dims;
  }
  Operation *def = value.getDefiningOp();
  if (!def || depth > 8)
    return dims;
  SmallVector<Value> operands;
  if (isa<AddOp, SubOp, MulOp, DivOp>(def))
    operands.assign(def->operand_begin(), def->operand_end());
  else if (isa<CastOp, SqrtOp, ReciprocalOp, IdentityOp>(def))
    operands.push_back(def->getOperand(0));
  for (Value operand : operands) {
    SmallVector<int64_t> known = getTrailingDims(operand, count, depth + 1);
    for (auto [dim, size] : llvm::zip_equal(dims, known))
      if (!ShapedType::isDynamic(size) && size > 1)
        dim = size;
  }
  return dims;
}

/// A Cast from `from` to `to` that every value survives exactly (f16/bf16 ->
/// f32, f32 -> f64, a type to itself).
bool isLosslessFloatCast(Type from, Type to) {
  auto fromType = dyn_cast<FloatType>(getElementTypeOrSelf(from));
  auto toType = dyn_cast<FloatType>(getElementTypeOrSelf(to));
  return fromType && toType &&
         APFloat::isRepresentableBy(fromType.getFloatSemantics(),
                                    toType.getFloatSemantics());
}

bool isFloatTensor(Value value) {
  auto type = dyn_cast<TensorType>(value.getType());
  return type && isa<FloatType>(type.getElementType());
}

/// Whether a weight of type `weight` fits the normalized dims (sizes
/// `normalized`) without widening the result: it has at most that many dims,
/// and each (right-aligned) is 1 or the input's static size.
bool fitsNormalizedDims(Type weight, ArrayRef<int64_t> normalized) {
  auto type = dyn_cast<RankedTensorType>(weight);
  if (!type || !isa<FloatType>(type.getElementType()))
    return false;
  if (type.getRank() > int64_t(normalized.size()))
    return false;
  for (auto [w, n] :
       llvm::zip_equal(type.getShape(), normalized.take_back(type.getRank())))
    if (w != 1 && (ShapedType::isDynamic(w) || w != n))
      return false;
  return true;
}

/// What a node is called in a failure message: its name, else its first
/// output's name, else its op name.
std::string describe(Operation *op) {
  StringRef name = getNodeName(op);
  if (!name.empty())
    return ("node '" + name + "'").str();
  if (auto outputs = op->getAttrOfType<ArrayAttr>(kOutputNamesAttr))
    if (!outputs.empty())
      return ("the node producing '" + cast<StringAttr>(outputs[0]).getValue() + "'").str();
  return ("'" + op->getName().getStringRef() + "'").str();
}

/// Whether `op` may be erased once nothing reads it: an ONNX node without
/// subgraphs. Initializers stay (a weight may be shared or exported as is),
/// and so do terminators (a subgraph's yield has no users but is its outputs).
bool isErasableWhenDead(Operation *op) {
  return isa<ONNXDialect>(op->getDialect()) && !isa<InitializerOp>(op) &&
         op->getNumRegions() == 0 && op->getNumResults() > 0 &&
         !op->hasTrait<OpTrait::IsTerminator>();
}

/// Whether `op`, in `block`, computes only values nobody reads (recursively):
/// a side branch that can go with the chain (`chain`) it reads from. A branch
/// that feeds back into the chain is not a side branch. Collects the ops of
/// that branch into `dead`.
bool isDeadSideBranch(Operation *op, Block *block,
                      const llvm::SetVector<Operation *> &chain,
                      llvm::SetVector<Operation *> &dead, unsigned depth = 0) {
  if (dead.contains(op))
    return true;
  if (depth > 8 || op->getBlock() != block || !isErasableWhenDead(op) ||
      chain.contains(op))
    return false;
  for (Operation *user : op->getUsers())
    if (!isDeadSideBranch(user, block, chain, dead, depth + 1))
      return false;
  dead.insert(op);
  return true;
}

/// `v` when `square` is `Pow(v, 2)` or `Mul(v, v)`, else null.
Value getSquaredValue(Value square) {
  if (auto pow = square.getDefiningOp<PowOp>()) {
    std::optional<double> exponent = getBroadcastScalar(pow.getRhs(), pow.getLhs());
    return exponent && *exponent == 2.0 ? pow.getLhs() : Value();
  }
  if (auto mul = square.getDefiningOp<MulOp>())
    return mul.getLhs() == mul.getRhs() ? mul.getLhs() : Value();
  return {};
}

/// The root a chain normalizes by: `Sqrt(radicand)`, `Pow(radicand, 0.5)`,
/// or the inverse root `Pow(radicand, -0.5)`.
struct Root {
  Value radicand;
  bool inverse = false;
};

/// `op` as the root of a chain. `Pow(v, 0.5)` differs from `Sqrt(v)` only at
/// v = -0 and v = -inf, which `statistic + epsilon` never is (a mean of
/// squares or a difference of two means, plus a non-negative constant, is
/// +0 when it is zero); `Pow(v, -0.5)` is `1 / Sqrt(v)`. The exponent must be
/// exactly +-0.5: anything else is no root.
std::optional<Root> getRoot(Operation *op) {
  if (auto sqrt = dyn_cast<SqrtOp>(op))
    return Root{sqrt.getInput(), /*inverse=*/false};
  auto pow = dyn_cast<PowOp>(op);
  if (!pow || !isFloatTensor(pow.getLhs()))
    return std::nullopt;
  std::optional<double> exponent = getBroadcastScalar(pow.getRhs(), pow.getLhs());
  if (!exponent || (*exponent != 0.5 && *exponent != -0.5))
    return std::nullopt;
  return Root{pow.getLhs(), /*inverse=*/*exponent < 0};
}

/// The norm kind a chain rooted at `op` looks like before any of its
/// preconditions is checked: the root of `statistic + e` where the statistic
/// is a mean of squares ("rms_norm"), a mean of squared centered values or
/// the moments difference `mean(x^2) - mean^2` ("layer_norm"); empty for
/// anything else. Only such chains are worth a refusal in the report: a Sqrt
/// elsewhere in a model is no norm anybody expects.
StringRef getCandidateKind(Operation *op) {
  std::optional<Root> root = getRoot(op);
  if (!root)
    return {};
  auto add = root->radicand.getDefiningOp<AddOp>();
  if (!add)
    return {};
  for (Value statistic : {add.getLhs(), add.getRhs()}) {
    if (auto meanSquare = statistic.getDefiningOp<ReduceMeanOp>()) {
      Value x = getSquaredValue(meanSquare.getData());
      if (!x)
        continue;
      // As in RMSNormChain: the square of x - mean(x) is a LayerNorm's.
      if (auto sub = x.getDefiningOp<SubOp>())
        if (auto mean = sub.getRhs().getDefiningOp<ReduceMeanOp>();
            mean && mean.getData() == sub.getLhs())
          return "layer_norm";
      return "rms_norm";
    }
    if (auto sub = statistic.getDefiningOp<SubOp>()) {
      auto meanSquare = sub.getLhs().getDefiningOp<ReduceMeanOp>();
      if (meanSquare && getSquaredValue(meanSquare.getData()) &&
          getSquaredValue(sub.getRhs()))
        return "layer_norm";
    }
  }
  return {};
}

//===----------------------------------------------------------------------===//
// ChainMatcher: the shared walk over a chain
//===----------------------------------------------------------------------===//

/// The statistics a root normalizes by.
struct Statistics {
  Value x;           ///< the value the statistics are computed over
  Value mean;        ///< E[x] (LayerNorm only)
  Value centered;    ///< x - E[x] as used by the variance (centered form)
  int64_t axis = 0;  ///< first normalized dim of x, from the end (< 0)
  double epsilon = 0;
  StringRef form;    ///< how the variance is spelled
};

/// The normalized value `numerator / root(...)` and how it was spelled.
struct Normalization {
  Value numerator;
  Value result;
  StringRef form;
  bool powSqrt = false; ///< the square root is spelled Pow(v, 0.5)
};

/// The norm a chain computes, ready to be built.
struct NormSpec {
  Value input;
  Value scale;
  Value bias;
  bool unitOffset = false;
  int64_t axis = 0; ///< first normalized dim of `input`, from the end (< 0)
  double epsilon = 0;
  Operation *last = nullptr; ///< the op whose result the norm replaces
};

/// Matches one chain from its root, collecting the ops it will erase. Every
/// failure is reported with `notifyMatchFailure` on the root and kept in
/// `failureReason`. With `dryRun`, `replace` checks everything but changes nothing:
/// that is how a refused candidate learns why.
class ChainMatcher {
public:
  ChainMatcher(Operation *root, PatternRewriter &rewriter, bool dryRun = false)
      : root(root), rewriter(rewriter), dryRun(dryRun) {
    ops.insert(root);
  }

  LogicalResult fail(const Twine &reason) {
    failureReason = reason.str();
    return rewriter.notifyMatchFailure(root, reason);
  }

  PatternRewriter &getRewriter() { return rewriter; }

  /// Matches the anchor as a root (Sqrt or Pow(v, +-0.5)); every pattern
  /// starts here.
  LogicalResult matchRoot() {
    std::optional<Root> matched = getRoot(root);
    if (!matched)
      return fail(describe(root) + " is not a square root (Sqrt, Pow(v, 0.5)) "
                  "or an inverse one (Pow(v, -0.5))");
    radicand = matched->radicand;
    inverse = matched->inverse;
    return success();
  }


  /// Matches `ReduceMean(x)` over exactly the trailing dims with keepdims = 1
  /// and returns the first reduced dim counted from the end (-1 for the last
  /// dim alone). With an unknown rank only negative axes name trailing dims.
  FailureOr<int64_t> matchTrailingMean(ReduceMeanOp mean) {
    if (!getKeepDims(mean))
      return fail(describe(mean) + " does not keep the reduced dims");
    std::optional<SmallVector<int64_t>> axes = getReduceAxes(mean);
    if (!axes)
      return fail("the axes of " + describe(mean) + " are not constant");
    auto type = dyn_cast<RankedTensorType>(mean.getData().getType());
    SmallVector<int64_t> dims; // as negative axes
    if (!type) {
      if (axes->empty() || llvm::any_of(*axes, [](int64_t a) { return a >= 0; }))
        return fail("the rank of the value " + describe(mean) +
                    " reduces is unknown, and its axes are not negative");
      dims.assign(axes->begin(), axes->end());
    } else {
      int64_t rank = type.getRank();
      if (axes->empty())
        for (int64_t d = 0; d < rank; ++d)
          dims.push_back(d - rank);
      for (int64_t axis : *axes) {
        if (axis < -rank || axis >= rank)
          return fail(describe(mean) + " reduces an axis out of range");
        dims.push_back(axis < 0 ? axis : axis - rank);
      }
    }
    llvm::sort(dims);
    if (dims.empty())
      return fail(describe(mean) + " reduces a rank-0 value");
    for (size_t i = 0; i < dims.size(); ++i)
      if (dims[i] != int64_t(i) - int64_t(dims.size()))
        return fail(describe(mean) + " does not reduce exactly the trailing dims");
    ops.insert(mean);
    return dims.front();
  }

  /// Matches `Pow(v, 2)` or `Mul(v, v)` and returns `v`.
  FailureOr<Value> matchSquare(Value square) {
    Operation *def = square.getDefiningOp();
    if (Value x = getSquaredValue(square)) {
      ops.insert(def);
      return x;
    }
    if (auto pow = dyn_cast_or_null<PowOp>(def))
      return fail("the exponent of " + describe(pow) + " is not the constant 2");
    if (auto mul = dyn_cast_or_null<MulOp>(def))
      return fail(describe(mul) + " does not square one value");
    return fail("the reduced value is not a square (Pow(v, 2) or Mul(v, v))");
  }

  /// Matches `Add(statistic, epsilon)` (either order) with a constant
  /// non-negative epsilon; returns the statistic.
  FailureOr<Value> matchPlusEpsilon(Value sum, double &epsilon) {
    auto add = sum.getDefiningOp<AddOp>();
    if (!add)
      return fail("the root (" + describe(root) + ") is not of a sum with epsilon");
    for (auto [stat, eps] : {std::pair(add.getLhs(), add.getRhs()),
                            std::pair(add.getRhs(), add.getLhs())}) {
      std::optional<double> value = getBroadcastScalar(eps, stat);
      if (!value)
        continue;
      if (!(*value >= 0))
        return fail("the epsilon of " + describe(add) + " is negative or NaN");
      epsilon = *value;
      ops.insert(add);
      return stat;
    }
    return fail("the epsilon of " + describe(add) + " is not a constant scalar");
  }

  /// Matches the statistics under the Sqrt: `ReduceMean(x^2)` for RMSNorm;
  /// `ReduceMean((x - E[x])^2)` or `ReduceMean(x^2) - E[x]^2` for LayerNorm.
  FailureOr<Statistics> matchStatistics(bool layerNorm) {
    Statistics stats;
    FailureOr<Value> statistic = matchPlusEpsilon(radicand, stats.epsilon);
    if (failed(statistic))
      return failure();

    if (!layerNorm) {
      auto meanSquare = statistic->getDefiningOp<ReduceMeanOp>();
      if (!meanSquare)
        return fail("the statistic is not a ReduceMean of a square");
      FailureOr<int64_t> axis = matchTrailingMean(meanSquare);
      if (failed(axis))
        return failure();
      FailureOr<Value> x = matchSquare(meanSquare.getData());
      if (failed(x))
        return failure();
      // (x - E[x])^2 is a LayerNorm whose other preconditions failed; an
      // rms_norm of the centered value would hide it.
      if (auto sub = x->getDefiningOp<SubOp>())
        if (auto mean = sub.getRhs().getDefiningOp<ReduceMeanOp>();
            mean && mean.getData() == sub.getLhs())
          return fail("the squared value is centered: a LayerNorm chain");
      stats.x = *x;
      stats.axis = *axis;
      stats.form = "mean(x^2)";
      return stats;
    }

    auto mean = [&](Value v) -> FailureOr<std::pair<ReduceMeanOp, int64_t>> {
      auto op = v.getDefiningOp<ReduceMeanOp>();
      if (!op)
        return fail("expected a ReduceMean in the variance");
      FailureOr<int64_t> axis = matchTrailingMean(op);
      if (failed(axis))
        return failure();
      return std::pair(op, *axis);
    };

    if (auto variance = statistic->getDefiningOp<ReduceMeanOp>()) {
      // Centered: mean((x - mean(x))^2).
      FailureOr<int64_t> axis = matchTrailingMean(variance);
      if (failed(axis))
        return failure();
      FailureOr<Value> centered = matchSquare(variance.getData());
      if (failed(centered))
        return failure();
      auto sub = centered->getDefiningOp<SubOp>();
      if (!sub)
        return fail("the squared value is not x - mean(x)");
      auto m = mean(sub.getRhs());
      if (failed(m))
        return failure();
      if (m->first.getData() != sub.getLhs())
        return fail(describe(sub) + " does not subtract the mean of its own input");
      if (m->second != *axis)
        return fail("the mean " + describe(m->first) + " and the variance " +
                    describe(variance) + " reduce different dims");
      ops.insert(sub);
      stats.x = sub.getLhs();
      stats.mean = m->first;
      stats.centered = sub;
      stats.axis = *axis;
      stats.form = "var = mean((x - mean)^2)";
      return stats;
    }

    if (auto sub = statistic->getDefiningOp<SubOp>()) {
      // Moments: mean(x^2) - mean(x)^2, as the ONNX function body spells it.
      auto meanSquare = mean(sub.getLhs());
      if (failed(meanSquare))
        return failure();
      FailureOr<Value> x = matchSquare(meanSquare->first.getData());
      if (failed(x))
        return failure();
      FailureOr<Value> squaredMean = matchSquare(sub.getRhs());
      if (failed(squaredMean))
        return failure();
      auto m = mean(*squaredMean);
      if (failed(m))
        return failure();
      if (m->first.getData() != *x)
        return fail("the mean square " + describe(meanSquare->first) +
                    " and the mean " + describe(m->first) + " are not of the same x");
      if (m->second != meanSquare->second)
        return fail("the mean " + describe(m->first) + " and the mean square " +
                    describe(meanSquare->first) + " reduce different dims");
      ops.insert(sub);
      stats.x = *x;
      stats.mean = m->first;
      stats.axis = m->second;
      stats.form = "var = mean(x^2) - mean^2";
      return stats;
    }
    return fail("the statistic is neither mean((x - mean)^2) nor mean(x^2) - mean^2");
  }

  /// The users of `value` that are not dead side branches, for a failure
  /// message: "nothing" or their names.
  std::string describeLiveUsers(Value value) {
    llvm::SetVector<Operation *> live;
    for (Operation *user : value.getUsers()) {
      llvm::SetVector<Operation *> scratch;
      if (!isDeadSideBranch(user, root->getBlock(), ops, scratch))
        live.insert(user);
    }
    if (live.empty())
      return "nothing";
    return llvm::join(llvm::map_range(live, describe), ", ");
  }

  /// The single user of `value` that is not a dead side branch, or null.
  Operation *getSoleLiveUser(Value value) {
    Operation *live = nullptr;
    for (Operation *user : value.getUsers()) {
      llvm::SetVector<Operation *> scratch;
      if (user == live ||
          isDeadSideBranch(user, root->getBlock(), ops, scratch))
        continue;
      if (live)
        return nullptr;
      live = user;
    }
    return live;
  }

  /// Matches the use of the root: for a square root `s`, `Div(n, s)`, or
  /// `Mul(n, r)` (either order) with `r = Div(1, s)` or `Reciprocal(s)`; for
  /// an inverse root `r`, `Mul(n, r)`.
  FailureOr<Normalization> matchNormalization() {
    Value rootValue = root->getResult(0);
    Value inverseRoot = rootValue;
    StringRef form = "x * (var + eps)^-0.5";
    if (!inverse) {
      Operation *user = getSoleLiveUser(rootValue);
      if (!user)
        return fail(describe(root) + " is read by " + describeLiveUsers(rootValue) +
                    ", not by one op that normalizes");
      if (auto div = dyn_cast<DivOp>(user)) {
        if (div.getRhs() != rootValue || div.getLhs() == rootValue)
          return fail(describe(div) + " does not divide by the square root");
        std::optional<double> one = getBroadcastScalar(div.getLhs(), rootValue);
        if (!one || *one != 1.0) {
          ops.insert(div);
          return Normalization{div.getLhs(), div.getResult(), "x / sqrt",
                               isa<PowOp>(root)};
        }
      } else if (!isa<ReciprocalOp>(user)) {
        return fail("the square root (" + describe(root) +
                    ") is not used by Div or Reciprocal");
      }
      ops.insert(user);
      inverseRoot = user->getResult(0);
      form = isa<ReciprocalOp>(user) ? "x * Reciprocal(sqrt)" : "x * (1 / sqrt)";
    }
    auto mul = dyn_cast_or_null<MulOp>(getSoleLiveUser(inverseRoot));
    if (!mul)
      return fail("the inverse square root (" + describe(inverseRoot.getDefiningOp()) +
                  ") is read by " + describeLiveUsers(inverseRoot) +
                  ", not by one Mul");
    ops.insert(mul);
    Value numerator = mul.getLhs() == inverseRoot ? mul.getRhs() : mul.getLhs();
    return Normalization{numerator, mul.getResult(), form,
                         !inverse && isa<PowOp>(root)};
  }

  /// Checks that the LayerNorm numerator is x - E[x] of the statistics.
  LogicalResult matchCenteredNumerator(const Statistics &stats,
                                       const Normalization &normalized) {
    Value numerator = normalized.numerator;
    if (numerator == stats.centered)
      return success();
    auto sub = numerator.getDefiningOp<SubOp>();
    if (!sub || sub.getLhs() != stats.x || sub.getRhs() != stats.mean)
      return fail(describe(normalized.result.getDefiningOp()) +
                  " does not normalize x - mean(x)");
    ops.insert(sub);
    return success();
  }

  /// The core every LayerNorm spelling shares: the statistics, the
  /// normalization by their root, and a numerator that is `x - E[x]`.
  FailureOr<std::pair<Statistics, Normalization>> matchCenteredNormalization() {
    FailureOr<Statistics> stats = matchStatistics(/*layerNorm=*/true);
    if (failed(stats))
      return failure();
    FailureOr<Normalization> normalized = matchNormalization();
    if (failed(normalized) || failed(matchCenteredNumerator(*stats, *normalized)))
      return failure();
    return std::make_pair(*stats, *normalized);
  }

  /// Chooses the norm's input among `x` and the values `x` was cast from
  /// without loss, and absorbs the Cast back after the normalized value:
  /// `Cast(x0 -> f32) ... Cast(n -> type of x0)` becomes a norm of `x0`
  /// (norm ops compute their statistics in fp32 whatever their type).
  /// Returns the value the tail continues from.
  Value matchStatisticsCasts(Value x, Value normalized, Value &input) {
    SmallVector<Value> sources{x};
    while (auto castOp = sources.back().getDefiningOp<CastOp>()) {
      if (!isFloatTensor(castOp.getInput()) ||
          !isLosslessFloatCast(castOp.getInput().getType(), castOp.getType()))
        break;
      sources.push_back(castOp.getInput());
    }
    auto deepestOfType = [&](Type elementType) -> Value {
      Value found;
      for (Value source : sources)
        if (getElementTypeOrSelf(source.getType()) == elementType)
          found = source;
      return found;
    };
    if (auto castBack = dyn_cast_or_null<CastOp>(getSoleLiveUser(normalized))) {
      if (Value source = deepestOfType(getElementTypeOrSelf(castBack.getType()))) {
        ops.insert(castBack);
        input = source;
        return castBack.getResult();
      }
    }
    input = deepestOfType(getElementTypeOrSelf(x.getType()));
    return normalized;
  }

  /// If the sole live user of `value` is `Op(value, w)` (either order for
  /// Mul/Add) with `w` accepted by `accept`, absorbs it and returns `w`.
  template <typename OpTy>
  Value absorbBinary(Value &value, llvm::function_ref<bool(Value)> accept) {
    auto op = dyn_cast_or_null<OpTy>(getSoleLiveUser(value));
    if (!op)
      return {};
    Value other = op.getLhs() == value ? op.getRhs() : op.getLhs();
    if (op.getLhs() == op.getRhs() || !accept(other) ||
        getElementTypeOrSelf(other.getType()) !=
            getElementTypeOrSelf(value.getType()))
      return {};
    ops.insert(op);
    value = op.getResult();
    return other;
  }

  /// Checks the chain's internal uses, then replaces `spec.last` by the norm
  /// built by `build` and erases the chain.
  LogicalResult replace(NormSpec &spec, StringRef spelling,
                        llvm::function_ref<Operation *(Type)> build) {
    Operation *last = spec.last;
    Block *block = root->getBlock();
    llvm::SetVector<Operation *> dead;
    for (Operation *op : ops) {
      if (op->getBlock() != block)
        return fail("the chain spans more than one graph");
      if (op == last)
        continue;
      for (Operation *user : op->getUsers())
        if (!ops.contains(user) && !isDeadSideBranch(user, block, ops, dead))
          return fail("the value of " + describe(op) +
                      " is also used outside the chain, by " + describe(user));
    }
    auto inputType = dyn_cast<TensorType>(spec.input.getType());
    auto resultType = dyn_cast<TensorType>(last->getResult(0).getType());
    if (!inputType || !isFloatTensor(spec.input))
      return fail("the normalized input is not a float tensor");
    if (!resultType || resultType.getElementType() != inputType.getElementType() ||
        failed(verifyCompatibleShape(resultType, inputType)))
      return fail("the chain's result type differs from its input's");
    if (dryRun)
      return success();

    rewriter.setInsertionPoint(last);
    Operation *norm = build(resultType);
    if (auto names = last->getAttr(kOutputNamesAttr))
      norm->setAttr(kOutputNamesAttr, names);
    recordNormAction(norm, kPassName, "recognized", spelling);
    Value replaced = last->getResult(0);
    rewriter.replaceAllUsesWith(replaced, norm->getResult(0));
    SmallVector<Operation *> chain = collectChain(dead);
    if (failed(keepOriginalSpelling(rewriter, norm, chain, replaced)))
      for (Operation *op : llvm::reverse(chain))
        rewriter.eraseOp(op);
    return success();
  }

  llvm::SetVector<Operation *> ops;
  /// Why the last match failed.
  std::string failureReason;

private:
  /// The chain, its dead side branches and every producer that fed only
  /// them (Constant nodes, shape computations), in block order: what the
  /// norm replaces. Never an initializer (a weight may be shared or exported
  /// as is), never an op with users outside.
  SmallVector<Operation *> collectChain(const llvm::SetVector<Operation *> &dead) {
    llvm::SetVector<Operation *> chain(ops.begin(), ops.end());
    chain.insert(dead.begin(), dead.end());
    SmallVector<Operation *> worklist(chain.begin(), chain.end());
    while (!worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      for (Value operand : op->getOperands()) {
        Operation *def = operand.getDefiningOp();
        if (!def || chain.contains(def) || !isErasableWhenDead(def) ||
            def->getBlock() != op->getBlock() ||
            !llvm::all_of(def->getUsers(), [&](Operation *u) { return chain.contains(u); }))
          continue;
        chain.insert(def);
        worklist.push_back(def);
      }
    }
    SmallVector<Operation *> sorted(chain.begin(), chain.end());
    llvm::sort(sorted, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    return sorted;
  }

  Operation *root;
  PatternRewriter &rewriter;
  bool dryRun;
  Value radicand;
  bool inverse = false;
};

/// The spelling details of the statistics and normalization of a chain.
SmallVector<StringRef> describeCore(const Statistics &stats,
                                    const Normalization &normalized) {
  SmallVector<StringRef> details{stats.form, normalized.form};
  if (normalized.powSqrt)
    details.push_back("sqrt as Pow(v, 0.5)");
  return details;
}

std::string spellingOf(StringRef kind, ArrayRef<StringRef> details) {
  std::string spelling = kind.str() + " (";
  llvm::raw_string_ostream os(spelling);
  llvm::interleave(details, os, ", ");
  os << ")";
  return spelling;
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// LayerNorm as exported by PyTorch at opsets 13/14 (and any spelling with
/// the same math): `ReduceMean, Sub, Pow, ReduceMean, Add(eps), Sqrt, Div`
/// (or any root and normalization `matchNormalization` takes, e.g.
/// `Mul(x - mean, Pow(var + eps, -0.5))`), then optionally `Mul(gamma)` and
/// `Add(beta)`.
LogicalResult rewriteLayerNormChain(ChainMatcher &m) {
  PatternRewriter &rewriter = m.getRewriter();
  auto core = m.matchCenteredNormalization();
  if (failed(core))
    return failure();
  const Statistics &stats = core->first;
  const Normalization &normalized = core->second;

  NormSpec spec;
  spec.epsilon = stats.epsilon;
  spec.axis = stats.axis;
  SmallVector<StringRef> details = describeCore(stats, normalized);
  Value value = m.matchStatisticsCasts(stats.x, normalized.result, spec.input);
  if (value != normalized.result)
    details.push_back("cast around the statistics");
  if (spec.input.getDefiningOp<FlattenOp>())
    details.push_back("flattened input");
  SmallVector<int64_t> normalizedDims = getTrailingDims(spec.input, -spec.axis);
  auto fits = [&](Value w) { return fitsNormalizedDims(w.getType(), normalizedDims); };
  spec.scale = m.absorbBinary<MulOp>(value, fits);
  spec.bias = m.absorbBinary<AddOp>(value, fits);
  spec.last = value.getDefiningOp();

  return m.replace(spec, spellingOf("decomposed LayerNorm", details), [&](Type type) {
    return LayerNormOp::create(
        rewriter, spec.last->getLoc(), type, spec.input, spec.scale, spec.bias,
        rewriter.getI64IntegerAttr(spec.axis), rewriter.getF32FloatAttr(spec.epsilon));
  });
}

/// The body of the ONNX LayerNormalization function (what the `_expanded`
/// conformance tests and function-inlining exporters contain): the input is
/// `Flatten(X, axis)` to 2-D, the variance is `E[x^2] - E[x]^2`, the weights
/// are `Flatten(W, 0)` / `Flatten(B, 0)`, and `Reshape(., Shape(X))` gives
/// back X's shape. Its Mean / InvStdDev outputs must be unused.
LogicalResult rewriteFlattenedLayerNormChain(ChainMatcher &m) {
  PatternRewriter &rewriter = m.getRewriter();
  auto core = m.matchCenteredNormalization();
  if (failed(core))
    return failure();
  const Statistics &stats = core->first;
  const Normalization &normalized = core->second;

  NormSpec spec;
  spec.epsilon = stats.epsilon;
  Value flatValue;
  Value value = m.matchStatisticsCasts(stats.x, normalized.result, flatValue);
  auto flatten = flatValue.getDefiningOp<FlattenOp>();
  if (!flatten)
    return m.fail("the statistics are not of a flattened input");
  if (stats.axis != -1)
    return m.fail("the flattened input is not reduced over its second dim");
  spec.input = flatten.getInput();
  auto inputType = dyn_cast<RankedTensorType>(spec.input.getType());
  if (!inputType || !isFloatTensor(spec.input))
    return m.fail("the rank of the flattened input is unknown");
  int64_t rank = inputType.getRank();
  int64_t axis = flatten.getAxis().value_or(1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return m.fail("the Flatten leaves no dims to normalize");
  spec.axis = axis - rank;

  // The weights are Flatten(W, 0): use W itself, which must hold exactly
  // the normalized dims (or a single element) for Flatten to broadcast.
  ArrayRef<int64_t> normalizedShape = inputType.getShape().drop_front(axis);
  auto unflattenedWeight = [&](Value w) -> Value {
    auto flat = w.getDefiningOp<FlattenOp>();
    if (!flat || flat.getAxis().value_or(1) != 0)
      return {};
    auto type = dyn_cast<RankedTensorType>(flat.getInput().getType());
    if (!type || !type.hasStaticShape() ||
        !fitsNormalizedDims(type, normalizedShape))
      return {};
    if (type.getNumElements() != 1 &&
        (ShapedType::isDynamicShape(normalizedShape) ||
         type.getNumElements() != ShapedType::getNumElements(normalizedShape)))
      return {};
    return flat.getInput();
  };
  auto isFlattenedWeight = [&](Value w) { return bool(unflattenedWeight(w)); };
  if (Value w = m.absorbBinary<MulOp>(value, isFlattenedWeight))
    spec.scale = unflattenedWeight(w);
  if (Value b = m.absorbBinary<AddOp>(value, isFlattenedWeight))
    spec.bias = unflattenedWeight(b);

  auto reshape = dyn_cast_or_null<ReshapeOp>(m.getSoleLiveUser(value));
  if (!reshape || reshape.getData() != value)
    return m.fail("the flattened result is not reshaped back to the input's shape");
  auto shape = reshape.getShape().getDefiningOp<ShapeOp>();
  if (!shape || shape.getData() != spec.input || shape.getEnd() ||
      shape.getStart().value_or(0) != 0)
    return m.fail("the flattened result is not reshaped to Shape(X)");
  m.ops.insert(reshape);
  spec.last = reshape;

  SmallVector<StringRef> details = describeCore(stats, normalized);
  return m.replace(
      spec, spellingOf("ONNX LayerNormalization function body", details),
      [&](Type type) {
        return LayerNormOp::create(
            rewriter, spec.last->getLoc(), type, spec.input, spec.scale,
            spec.bias, rewriter.getI64IntegerAttr(spec.axis),
            rewriter.getF32FloatAttr(spec.epsilon));
      });
}

/// RMSNorm: `x / sqrt(mean(x^2) + eps)`, `x * (1 / sqrt(...))`,
/// `x * Reciprocal(sqrt(...))` or `x * (mean(x^2) + eps)^-0.5` (the square
/// root also as `Pow(., 0.5)`), the square by `Pow(x, 2)` or `Mul(x, x)`,
/// with or without a lossless Cast to fp32 before the statistics and the
/// Cast back after them (the Hugging Face Llama spelling), then optionally
/// `Mul(gamma)`, or `Mul(Add(w, 1))` for Gemma's `(1 + w)` gain.
LogicalResult rewriteRMSNormChain(ChainMatcher &m) {
  PatternRewriter &rewriter = m.getRewriter();
  FailureOr<Statistics> stats = m.matchStatistics(/*layerNorm=*/false);
  if (failed(stats))
    return failure();
  FailureOr<Normalization> normalized = m.matchNormalization();
  if (failed(normalized))
    return failure();
  if (normalized->numerator != stats->x)
    return m.fail(describe(normalized->result.getDefiningOp()) +
                  " does not normalize the value squared in the statistic");

  NormSpec spec;
  spec.epsilon = stats->epsilon;
  spec.axis = stats->axis;
  SmallVector<StringRef> details = describeCore(*stats, *normalized);
  Value value = m.matchStatisticsCasts(stats->x, normalized->result, spec.input);
  if (value != normalized->result)
    details.push_back("cast around the statistics");
  SmallVector<int64_t> normalizedDims = getTrailingDims(spec.input, -spec.axis);
  auto fits = [&](Value w) { return fitsNormalizedDims(w.getType(), normalizedDims); };
  if (Value gain = m.absorbBinary<MulOp>(value, fits)) {
    spec.scale = gain;
    // Gemma's (1 + w): keep w and say so, unless the sum is used elsewhere.
    if (auto add = gain.getDefiningOp<AddOp>(); add && gain.hasOneUse()) {
      for (auto [w, one] : {std::pair(add.getLhs(), add.getRhs()),
                            std::pair(add.getRhs(), add.getLhs())}) {
        auto wType = dyn_cast<RankedTensorType>(w.getType());
        std::optional<double> c = getBroadcastScalar(one, w);
        if (wType && c && *c == 1.0 && fits(w) &&
            wType.getElementType() == getElementTypeOrSelf(gain.getType())) {
          spec.scale = w;
          spec.unitOffset = true;
          details.push_back("Gemma (1 + w) gain");
          break;
        }
      }
    }
  }
  spec.last = value.getDefiningOp();

  return m.replace(spec, spellingOf("decomposed RMSNorm", details), [&](Type type) {
    return RMSNormOp::create(
        rewriter, spec.last->getLoc(), type, spec.input, spec.scale,
        /*bias=*/Value(), rewriter.getI64IntegerAttr(spec.axis),
        rewriter.getF32FloatAttr(spec.epsilon),
        spec.unitOffset ? rewriter.getUnitAttr() : nullptr);
  });
}

using ChainRewrite = LogicalResult (*)(ChainMatcher &);

/// Runs one of the rewrites above on a chain rooted at an op named
/// `rootName` (a chain's root is a Sqrt or a Pow, so each rewrite is added
/// once for each).
struct ChainPattern : RewritePattern {
  ChainPattern(StringRef rootName, ChainRewrite rewrite, StringRef name,
               PatternBenefit benefit, MLIRContext *context)
      : RewritePattern(rootName, benefit, context), rewrite(rewrite) {
    setDebugName(name);
  }
  LogicalResult matchAndRewrite(Operation *op, PatternRewriter &rewriter) const override {
    if (isInOriginalSpelling(op))
      return rewriter.notifyMatchFailure(op, "a kept node of a recognized norm");
    ChainMatcher m(op, rewriter);
    if (failed(m.matchRoot()))
      return failure();
    return rewrite(m);
  }
  ChainRewrite rewrite;
};

} // namespace

void mlir::norm::populateDecomposedNormPatterns(RewritePatternSet &patterns) {
  MLIRContext *context = patterns.getContext();
  for (StringRef rootName : {SqrtOp::getOperationName(), PowOp::getOperationName()}) {
    patterns.add<ChainPattern>(rootName, rewriteLayerNormChain, "LayerNormChain",
                               /*benefit=*/1, context);
    // Before LayerNormChain, which would take the flattened 2-D value.
    patterns.add<ChainPattern>(rootName, rewriteFlattenedLayerNormChain,
                               "FlattenedLayerNormChain", /*benefit=*/2, context);
    patterns.add<ChainPattern>(rootName, rewriteRMSNormChain, "RMSNormChain",
                               /*benefit=*/1, context);
  }
}

void mlir::norm::recordDecomposedNormRefusals(Operation *scope) {
  SmallVector<std::pair<Operation *, StringRef>> candidates;
  scope->walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (isa<NormDialect>(op->getDialect()))
      return WalkResult::skip(); // Its kept nodes are no candidates.
    if (isa<SqrtOp, PowOp>(op))
      if (StringRef kind = getCandidateKind(op); !kind.empty())
        candidates.push_back({op, kind});
    return WalkResult::advance();
  });
  for (auto [op, kind] : candidates) {
    // The chain is matched as its pattern would, without rewriting. The
    // LayerNorm reason is that of the general chain: the flattened one adds
    // preconditions about Flatten and Reshape only.
    PatternRewriter rewriter(op->getContext());
    ChainMatcher m(op, rewriter, /*dryRun=*/true);
    bool rms = kind == "rms_norm";
    if (succeeded(m.matchRoot()) &&
        succeeded(rms ? rewriteRMSNormChain(m) : rewriteLayerNormChain(m)))
      continue; // Not refused: the pattern driver stopped before it.
    recordNormRefusal(op, kPassName,
                      (rms ? "decomposed RMSNorm chain: " : "decomposed LayerNorm chain: ") +
                          m.failureReason,
                      kind);
  }
}
