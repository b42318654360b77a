//===- FoldBatchNorm.cpp - BatchNorm and PRepBN folding -------------------===//
//
// An inference BatchNorm is a per-channel affine map along dim 1,
// `x -> x * a + b` with `a = gamma / sqrt(var + eps)` and `b = beta - mean a`
// (TRANSFORMS.md, section 4); SLAB's RepBN, `BN(x) + eta x`, is the same map
// with `a + eta`. This pass makes the map disappear, trying in order:
//
//  1. backwards into the layer producing the input (Conv, ConvTranspose,
//     Gemm, MatMul), following the channel axis back through Transpose,
//     Reshape and Flatten, when every value on the way has no other reader;
//  2. forwards into the linear layers reading the output (AffineFold.h),
//     following the channel axis through the same ops until it is the last
//     dim, which is what PyTorch's `Transpose -> BN -> Transpose` gives;
//  3. otherwise one per-channel `Mul` + `Add`.
//
// BatchNormalization nodes left as `onnx.node` by norm-recognize (training
// mode) are reported as refused.
//
//===----------------------------------------------------------------------===//

#include "norm-opt/Dialect/Norm/Transforms/Passes.h"

#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/Norm/Transforms/AffineFold.h"
#include "norm-opt/Dialect/Norm/Transforms/Report.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXBuilder.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"
#include "norm-opt/Dialect/ONNX/IR/WeightStore.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

namespace mlir::norm {
#define GEN_PASS_DEF_NORMFOLDBATCHNORM
#include "norm-opt/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace mlir::norm

using namespace mlir;
using namespace mlir::norm;
using namespace mlir::onnxir;

constexpr llvm::StringLiteral kPassName = "norm-fold-batchnorm";

namespace {

/// A per-channel affine map applied to `input` along `axis`, computed by
/// `ops` (the BatchNorm, and for RepBN its Mul and Add), whose last result
/// is `output`.
struct AffineSite {
  BatchNormOp norm;
  Value input;
  Value output;
  SmallVector<Operation *> ops;
  ChannelAffine map;
  std::optional<double> eta;
};

/// The affine map of one channel axis seen at another value: `axis` of
/// `value` (of rank `rank`, -1 when unknown), with one gain/shift per index
/// along it.
struct ChannelAxis {
  Value value;
  int64_t axis;
  int64_t rank;
  ChannelAffine map;
};

/// The rank of `value`: from its type, else from the perm of a Transpose
/// that defines or reads it (exports whose shapes ONNX shape inference could
/// not resolve still spell the rank there); -1 when unknown.
int64_t getRank(Value value) {
  if (auto type = dyn_cast<RankedTensorType>(value.getType()))
    return type.getRank();
  if (auto transpose = value.getDefiningOp<TransposeOp>())
    if (transpose.getPerm())
      return transpose.getPerm()->size();
  for (Operation *user : value.getUsers())
    if (auto transpose = dyn_cast<TransposeOp>(user))
      if (transpose.getPerm())
        return transpose.getPerm()->size();
  return -1;
}

std::string describe(Operation *op) {
  StringRef name = getNodeName(op);
  std::string kind = op->getName().getStringRef().str();
  if (name.empty())
    return kind;
  return ("'" + name + "' (" + kind + ")").str();
}

/// `a = gamma / sqrt(var + eps)`, `b = beta - mean a`, in float64.
FailureOr<ChannelAffine> getBatchNormAffine(BatchNormOp op, std::string &reason) {
  auto input = dyn_cast<RankedTensorType>(op.getInput().getType());
  std::vector<double> values[4];
  Value operands[4] = {op.getScale(), op.getBias(), op.getMean(), op.getVar()};
  const char *names[4] = {"scale", "bias", "mean", "var"};
  for (int i = 0; i < 4; ++i) {
    std::optional<std::vector<double>> v = getConstantAsDoubles(operands[i]);
    if (!v) {
      reason = llvm::formatv("its {0} is not a constant", names[i]).str();
      return failure();
    }
    if (auto init = operands[i].getDefiningOp<InitializerOp>(); init && init.getIsInput()) {
      reason = llvm::formatv("its {0} is an overridable graph input", names[i]).str();
      return failure();
    }
    values[i] = std::move(*v);
  }
  size_t channels = values[0].size();
  for (int i = 1; i < 4; ++i)
    if (values[i].size() != channels) {
      reason = "its scale, bias, mean and var differ in size";
      return failure();
    }
  if (input && !input.isDynamicDim(1) && size_t(input.getDimSize(1)) != channels) {
    reason = "its weights do not have one value per channel";
    return failure();
  }
  double eps = op.getEpsilonAttr().getValueAsDouble();
  ChannelAffine map;
  map.gain.resize(channels);
  map.shift.resize(channels);
  for (size_t c = 0; c < channels; ++c) {
    double var = values[3][c] + eps;
    if (!(var > 0)) {
      reason = "var + epsilon is not positive";
      return failure();
    }
    map.gain[c] = values[0][c] / std::sqrt(var);
    map.shift[c] = values[1][c] - values[2][c] * map.gain[c];
  }
  return map;
}

/// The BatchNorm alone, or RepBN `Add(BN(x), Mul(x, eta))` (operands in
/// either order) when the BatchNorm's only reader is that Add.
AffineSite getSite(BatchNormOp op, ChannelAffine map) {
  AffineSite site{op, op.getInput(), op.getResult(), {op}, std::move(map), {}};
  Value x = op.getInput();
  if (!op->hasOneUse())
    return site;
  auto add = dyn_cast<AddOp>(*op->getUsers().begin());
  if (!add || add.getType() != op.getType())
    return site;
  Value other = add.getLhs() == op.getResult() ? add.getRhs() : add.getLhs();
  auto mul = other.getDefiningOp<MulOp>();
  if (!mul || !mul->hasOneUse() || mul.getType() != op.getType())
    return site;
  Value factor = mul.getLhs() == x ? mul.getRhs() : mul.getRhs() == x ? mul.getLhs() : Value();
  if (!factor)
    return site;
  std::optional<double> eta = getScalarConstant(factor);
  auto init = factor.getDefiningOp<InitializerOp>();
  if (!eta || (init && init.getIsInput()))
    return site;
  // A factor of higher rank would broadcast x to a larger shape.
  auto factorType = dyn_cast<RankedTensorType>(factor.getType());
  int64_t rank = getRank(x);
  if (!factorType || rank < 0 || factorType.getRank() > rank)
    return site;
  site.output = add.getResult();
  site.ops = {op, mul, add};
  site.eta = eta;
  for (double &g : site.map.gain)
    g += *eta;
  return site;
}

/// The suffix product of `shape` after `axis`, or nullopt if a dim there is
/// dynamic.
std::optional<int64_t> suffixProduct(ArrayRef<int64_t> shape, int64_t axis) {
  int64_t product = 1;
  for (int64_t d = axis + 1; d < int64_t(shape.size()); ++d) {
    if (ShapedType::isDynamic(shape[d]))
      return std::nullopt;
    product *= shape[d];
  }
  return product;
}

/// Maps a channel axis across a row-major reshape from shape `from` to
/// shape `to`. With `S` the suffix product of `from` after the axis and `C`
/// its size, the channel of the element at linear index `l` is
/// `(l / S) mod C`. An axis `j` of `to` with suffix product `S_j` and size
/// `D_j` determines it when `S_j | S` and `S C | S_j D_j`: then the channel
/// is `(i_j / (S / S_j)) mod C` for index `i_j` along `j`.
std::optional<ChannelAxis> mapThroughReshape(const ChannelAxis &from,
                                             ArrayRef<int64_t> fromShape, Value to) {
  auto toType = dyn_cast<RankedTensorType>(to.getType());
  if (!toType)
    return std::nullopt;
  int64_t channels = from.map.gain.size();
  std::optional<int64_t> s = suffixProduct(fromShape, from.axis);
  if (!s || ShapedType::isDynamic(fromShape[from.axis]) || fromShape[from.axis] != channels)
    return std::nullopt;
  ArrayRef<int64_t> toShape = toType.getShape();
  std::optional<int64_t> best;
  for (int64_t j = 0; j < toType.getRank(); ++j) {
    std::optional<int64_t> sj = suffixProduct(toShape, j);
    if (!sj || ShapedType::isDynamic(toShape[j]) || *s % *sj != 0 ||
        (*sj * toShape[j]) % (*s * channels) != 0)
      continue;
    if (!best || toShape[j] > 1) {
      best = j;
      if (toShape[j] > 1)
        break;
    }
  }
  if (!best)
    return std::nullopt;
  int64_t size = toShape[*best], step = *s / *suffixProduct(toShape, *best);
  ChannelAxis result{to, *best, toType.getRank(), {}};
  result.map.gain.resize(size);
  result.map.shift.resize(size);
  for (int64_t i = 0; i < size; ++i) {
    int64_t c = (i / step) % channels;
    result.map.gain[i] = from.map.gain[c];
    result.map.shift[i] = from.map.shift[c];
  }
  return result;
}

/// The channel axis of `current` seen at the input of the Transpose,
/// Reshape or Flatten `op` (backwards) or at its output (forwards).
std::optional<ChannelAxis> mapThrough(Operation *op, const ChannelAxis &current,
                                      bool backwards) {
  Value in = op->getOperand(0), out = op->getResult(0);
  if (auto transpose = dyn_cast<TransposeOp>(op)) {
    // Without a perm the Transpose reverses the dims of a known rank.
    int64_t rank = transpose.getPerm() ? int64_t(transpose.getPerm()->size()) : getRank(in);
    if (rank < 0 || (current.rank >= 0 && current.rank != rank))
      return std::nullopt;
    SmallVector<int64_t> perm;
    if (auto p = transpose.getPerm())
      perm.assign(p->begin(), p->end());
    else
      for (int64_t d = rank - 1; d >= 0; --d)
        perm.push_back(d);
    // Output dim i is input dim perm[i].
    ChannelAxis result{backwards ? in : out, -1, rank, current.map};
    for (int64_t i = 0; i < rank; ++i) {
      if (backwards && i == current.axis)
        result.axis = perm[i];
      if (!backwards && perm[i] == current.axis)
        result.axis = i;
    }
    return result.axis < 0 ? std::nullopt : std::optional(result);
  }
  auto inType = dyn_cast<RankedTensorType>(in.getType());
  auto outType = dyn_cast<RankedTensorType>(out.getType());
  if (!inType || !outType)
    return std::nullopt;
  if (isa<ReshapeOp, FlattenOp>(op)) {
    if (backwards)
      return mapThroughReshape(current, outType.getShape(), in);
    return mapThroughReshape(current, inType.getShape(), out);
  }
  return std::nullopt;
}

/// Why mapThrough failed on `op`.
const char *axisLossReason(Operation *op) {
  if (isa<ReshapeOp, FlattenOp>(op) && (!isa<RankedTensorType>(op->getOperand(0).getType()) ||
                                        !isa<RankedTensorType>(op->getResult(0).getType())))
    return " has shapes that are not known";
  if (isa<TransposeOp>(op) && !cast<TransposeOp>(op).getPerm() &&
      !isa<RankedTensorType>(op->getOperand(0).getType()))
    return " reverses dims of an unknown rank";
  return " does not keep the channel axis whole";
}

bool isAxisOp(Operation *op) { return isa_and_nonnull<TransposeOp, ReshapeOp, FlattenOp>(op); }

/// Before opset 7, Add (and Gemm's C) broadcast only with `broadcast = 1`
/// and a B matching a run of A's dims, so the rules that add or reshape a
/// bias (every rule but the Conv one, whose bias is an operand of the Conv)
/// are off there; bumping the opset would change the meaning of every other
/// node. Returns the refusal reason, or "" when broadcasting is numpy-style.
std::string legacyBroadcastReason(Operation *op) {
  int64_t opset = getOpsetVersion(op, "");
  if (opset > 0 && opset < 7)
    return llvm::formatv("opset {0} has no numpy broadcasting for a new bias", opset).str();
  return "";
}

/// Whether every reader of `value` is one of `ops`.
bool onlyReadBy(Value value, ArrayRef<Operation *> ops) {
  return llvm::all_of(value.getUsers(),
                      [&](Operation *user) { return llvm::is_contained(ops, user); });
}

/// Removes the site: its readers read `replacement`, its ops are erased, and
/// so are the constants (and Identity/Transpose of them) nobody reads then.
void eraseSite(RewriterBase &rewriter, AffineSite &site, Value replacement) {
  // The map keeps the shape: where shape inference typed the output but not
  // the input (a graph output must keep its type), the input takes it.
  if (isa<UnrankedTensorType>(replacement.getType()) &&
      isa<RankedTensorType>(site.output.getType()))
    if (Operation *def = replacement.getDefiningOp())
      rewriter.modifyOpInPlace(def, [&] { replacement.setType(site.output.getType()); });
  rewriter.replaceAllUsesWith(site.output, replacement);
  SmallVector<Operation *> worklist;
  // A constant can be reached twice (scale and bias sharing one tensor), and
  // a site op's operand can be another site op: neither is visited again.
  llvm::SmallPtrSet<Operation *, 8> erased;
  for (Operation *op : llvm::reverse(site.ops)) {
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp())
        worklist.push_back(def);
    erased.insert(op);
    rewriter.eraseOp(op);
  }
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (erased.contains(op) ||
        !isa<InitializerOp, ConstantOp, IdentityOp, TransposeOp, NoneOp>(op) ||
        !op->use_empty())
      continue;
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp())
        worklist.push_back(def);
    erased.insert(op);
    rewriter.eraseOp(op);
  }
}

/// A constant Add on the way back to the producer, `y = p + c` with `c`
/// constant along every dim but the channel axis: `a y + b = a p + (a c + b)`,
/// so `c` becomes `a c + b` and `p` carries the map `(a, 0)`.
struct BiasRewrite {
  AddOp add;
  unsigned index;
  SmallVector<int64_t> shape;
  std::vector<double> values;
};

/// Matches `add` as `p + c` with `c` a fixed constant that varies only along
/// `current.axis`; returns the rewrite and sets `p`.
std::optional<BiasRewrite> matchChannelBias(AddOp add, const ChannelAxis &current, Value &p) {
  if (current.rank < 0)
    return std::nullopt;
  for (unsigned index : {1u, 0u}) {
    Value c = add->getOperand(index);
    auto type = dyn_cast<RankedTensorType>(c.getType());
    std::optional<std::vector<double>> values = getConstantAsDoubles(c);
    auto init = c.getDefiningOp<InitializerOp>();
    if (!type || !type.hasStaticShape() || !values || (init && init.getIsInput()) ||
        type.getRank() > current.rank || !isa<FloatType>(type.getElementType()))
      continue;
    int64_t channels = current.map.gain.size();
    int64_t offset = current.rank - type.getRank();
    bool channelOnly = true;
    for (int64_t d = 0; d < type.getRank(); ++d) {
      int64_t size = type.getDimSize(d);
      if (size != 1 && (d + offset != current.axis || size != channels))
        channelOnly = false;
    }
    if (!channelOnly)
      continue;
    BiasRewrite rewrite{add, index, SmallVector<int64_t>(current.rank - current.axis, 1), {}};
    rewrite.shape[0] = channels;
    rewrite.values.resize(channels);
    for (int64_t i = 0; i < channels; ++i)
      rewrite.values[i] = current.map.gain[i] * (*values)[values->size() == 1 ? 0 : i] +
                          current.map.shift[i];
    p = add->getOperand(1 - index);
    return rewrite;
  }
  return std::nullopt;
}

void applyBiasRewrite(RewriterBase &rewriter, const BiasRewrite &rewrite) {
  Value old = rewrite.add->getOperand(rewrite.index);
  StringRef base = getNodeName(rewrite.add);
  std::string name = (base.empty() ? "bias" : base.str()) + "/bias_folded";
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(rewrite.add);
  Value c = createFloatInitializer(rewriter, old.getLoc(), name,
                                   cast<ShapedType>(old.getType()).getElementType(),
                                   rewrite.shape, rewrite.values);
  rewriter.modifyOpInPlace(rewrite.add, [&] { rewrite.add->setOperand(rewrite.index, c); });
  eraseIfUnused(rewriter, old);
}

/// Rule 1: folds the site's map into the layer producing its input; `into`
/// names that layer. Nothing is changed unless the whole fold applies.
LogicalResult foldIntoProducer(RewriterBase &rewriter, AffineSite &site, std::string &reason,
                               std::string &into) {
  ChannelAxis current{site.input, 1, getRank(site.input), site.map};
  if (!onlyReadBy(site.input, site.ops)) {
    reason = "its input has other readers";
    return failure();
  }
  SmallVector<BiasRewrite> biasRewrites;
  auto apply = [&](auto fold) {
    for (const BiasRewrite &rewrite : biasRewrites)
      applyBiasRewrite(rewriter, rewrite);
    // A failed fold emitted its error; the pass fails at its end.
    (void)warnPrecisionLosses(site.norm, kPassName, fold());
    return success();
  };
  auto step = [&](Operation *op, Value next) {
    if (!next.hasOneUse()) {
      reason = "the input of " + describe(op) + " has other readers";
      return false;
    }
    current.value = next;
    return true;
  };
  while (true) {
    Operation *def = current.value.getDefiningOp();
    if (!def) {
      reason = "its input is a graph input";
      return failure();
    }
    if (isAxisOp(def)) {
      std::optional<ChannelAxis> next = mapThrough(def, current, /*backwards=*/true);
      if (!next) {
        reason = describe(def) + axisLossReason(def);
        return failure();
      }
      Value input = next->value;
      current = std::move(*next);
      if (!step(def, input))
        return failure();
      continue;
    }
    if (isa<ConvOp, ConvTransposeOp>(def)) {
      FailureOr<int64_t> channels = matchConvOutputChannels(def, reason);
      if (failed(channels))
        return failure();
      if (current.axis != 1 || *channels != int64_t(current.map.gain.size())) {
        reason = "the channel axis is not the output channel axis of " + describe(def);
        return failure();
      }
      into = describe(def);
      return apply([&] { return foldAffineIntoConvOutputs(rewriter, def, current.map); });
    }
    // A MatMul / Gemm, or the bias Add after a MatMul that LinearLayer knows.
    Operation *linear = def;
    if (auto add = dyn_cast<AddOp>(def)) {
      linear = nullptr;
      std::string ignored;
      for (Value operand : add->getOperands())
        if (auto matmul = operand.getDefiningOp<MatMulOp>()) {
          FailureOr<LinearLayer> layer = LinearLayer::match(matmul, 0, ignored);
          if (succeeded(layer) && layer->getOutput() == current.value)
            linear = matmul;
        }
      if (!linear) {
        // Any other Add with a per-channel constant: fold through it.
        if (std::string legacy = legacyBroadcastReason(def); !legacy.empty()) {
          reason = legacy;
          return failure();
        }
        Value p;
        std::optional<BiasRewrite> rewrite = matchChannelBias(add, current, p);
        if (!rewrite) {
          reason = "its input is produced by " + describe(def) +
                   ", not by a Conv, ConvTranspose, Gemm or MatMul";
          return failure();
        }
        biasRewrites.push_back(std::move(*rewrite));
        current.map.shift.assign(current.map.gain.size(), 0.0);
        if (!step(def, p))
          return failure();
        continue;
      }
    }
    if (!isa<MatMulOp, GemmOp>(linear)) {
      reason = "its input is produced by " + describe(def) +
               ", not by a Conv, ConvTranspose, Gemm or MatMul";
      return failure();
    }
    std::string why;
    FailureOr<LinearLayer> layer = LinearLayer::match(linear, 0, why);
    if (failed(layer)) {
      reason = "its producer is not a foldable linear layer: " + why;
      return failure();
    }
    if (layer->getOutput() != current.value) {
      reason = "its input is produced by " + describe(def) + ", not by a linear layer";
      return failure();
    }
    int64_t rank = current.rank >= 0 ? current.rank : getRank(linear->getOperand(0));
    if (isa<GemmOp>(linear))
      rank = 2;
    if (rank < 0 || current.axis != rank - 1) {
      reason = "the channel axis is not the output dim of " + describe(linear);
      return failure();
    }
    if (failed(checkOutputAffineFold(*layer, current.map, reason)))
      return failure();
    if (std::string legacy = legacyBroadcastReason(linear); !legacy.empty()) {
      reason = legacy;
      return failure();
    }
    into = describe(linear);
    return apply([&] { return foldAffineIntoOutputs(rewriter, *layer, current.map); });
  }
}

/// After a forward fold, `Transpose(Transpose(x))` with inverse perms is `x`.
void cancelTransposePair(RewriterBase &rewriter, Value value) {
  auto outer = value.getDefiningOp<TransposeOp>();
  auto inner = outer ? outer.getData().getDefiningOp<TransposeOp>() : TransposeOp();
  if (!inner || !inner.getPerm() || !outer.getPerm() ||
      inner.getData().getType() != outer.getType())
    return;
  ArrayRef<int64_t> p = *inner.getPerm(), q = *outer.getPerm();
  if (p.size() != q.size())
    return;
  // outer(inner(x)) has dim i = x's dim p[q[i]].
  for (size_t i = 0; i < q.size(); ++i)
    if (p[q[i]] != int64_t(i))
      return;
  Value x = inner.getData();
  rewriter.replaceAllUsesWith(outer.getResult(), x);
  rewriter.eraseOp(outer);
  if (inner->use_empty())
    rewriter.eraseOp(inner);
}

/// The 1-D float constant operand of `add` and its index, if any.
std::optional<std::pair<unsigned, std::vector<double>>> vectorOperand(AddOp add) {
  for (unsigned index : {1u, 0u}) {
    Value c = add->getOperand(index);
    auto type = dyn_cast<RankedTensorType>(c.getType());
    auto init = c.getDefiningOp<InitializerOp>();
    if (!type || type.getRank() > 1 || !isa<FloatType>(type.getElementType()) ||
        (init && init.getIsInput()))
      continue;
    if (std::optional<std::vector<double>> values = getConstantAsDoubles(c))
      return std::make_pair(index, std::move(*values));
  }
  return std::nullopt;
}

/// `Add(Add(p, c1), c2)` with 1-D constants becomes `Add(p, c1 + c2)`. A
/// forward fold gives a MatMul a new bias Add where AffineFold did not see
/// the one after it (an unranked product, as exports with computed reshapes
/// leave it); this keeps one Add per layer.
void mergeBiasAdds(RewriterBase &rewriter, Value value) {
  auto first = value.getDefiningOp<AddOp>();
  if (!first || !value.hasOneUse())
    return;
  auto second = dyn_cast<AddOp>(*value.getUsers().begin());
  if (!second || second.getLhs() == second.getRhs())
    return;
  auto c1 = vectorOperand(first);
  auto c2 = vectorOperand(second);
  if (!c1 || !c2 || second->getOperand(c2->first) == value)
    return;
  std::vector<double> &a = c1->second, &b = c2->second;
  if (a.size() != b.size() && a.size() != 1 && b.size() != 1)
    return;
  std::vector<double> sum(std::max(a.size(), b.size()));
  for (size_t i = 0; i < sum.size(); ++i)
    sum[i] = a[a.size() == 1 ? 0 : i] + b[b.size() == 1 ? 0 : i];
  Value old1 = first->getOperand(c1->first), old2 = second->getOperand(c2->first);
  Value p = first->getOperand(1 - c1->first);
  auto type = cast<RankedTensorType>(old2.getType());
  StringRef base = getNodeName(second);
  std::string name = (base.empty() ? std::string("bias") : base.str()) + "/bias_folded";
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(second);
  SmallVector<int64_t> shape;
  if (type.getRank() == 1 || sum.size() > 1)
    shape.push_back(sum.size());
  Value c = createFloatInitializer(rewriter, old2.getLoc(), name, type.getElementType(), shape,
                                   sum);
  rewriter.modifyOpInPlace(second, [&] {
    second->setOperand(c2->first, c);
    second->setOperand(1 - c2->first, p);
  });
  rewriter.eraseOp(first);
  eraseIfUnused(rewriter, old1);
  eraseIfUnused(rewriter, old2);
}

/// Rule 2: folds the site's map into the linear layers reading its output
/// (through the Transpose/Reshape/Flatten chain that makes the channel axis
/// the last dim); `chainEnd` is the value they read, `count` their number.
LogicalResult foldIntoConsumers(RewriterBase &rewriter, AffineSite &site, std::string &reason,
                                Value &chainEnd, size_t &count) {
  ChannelAxis current{site.output, 1, getRank(site.input), site.map};
  if (std::string legacy = legacyBroadcastReason(site.norm); !legacy.empty()) {
    reason = legacy;
    return failure();
  }
  while (current.value.hasOneUse() && isAxisOp(*current.value.getUsers().begin())) {
    Operation *user = *current.value.getUsers().begin();
    std::optional<ChannelAxis> next = mapThrough(user, current, /*backwards=*/false);
    if (!next) {
      reason = describe(user) + axisLossReason(user);
      return failure();
    }
    current = std::move(*next);
  }
  FailureOr<SmallVector<LinearLayer>> readers =
      matchLinearReaders(current.value, reason, int64_t(current.map.gain.size()));
  if (failed(readers))
    return failure();
  if (current.rank < 0 || current.axis != current.rank - 1) {
    reason = "the channel axis is not the last dim of the value the linear layers read";
    return failure();
  }
  if (failed(checkAffineFold(*readers, current.map, reason)))
    return failure();
  (void)warnPrecisionLosses(site.norm, kPassName,
                            foldAffineIntoReaders(rewriter, *readers, current.map));
  for (LinearLayer &layer : *readers)
    mergeBiasAdds(rewriter, layer.getOutput());
  chainEnd = current.value == site.output ? Value() : current.value;
  count = readers->size();
  return success();
}

/// Rule 3: `x * A + B` with A, B of shape [C, 1, ...] (broadcast along dim
/// 1); returns the Add.
FailureOr<Value> decompose(RewriterBase &rewriter, AffineSite &site, std::string &reason) {
  int64_t rank = getRank(site.input);
  if (rank < 2) {
    reason = "its input rank is not known";
    return failure();
  }
  if (std::string legacy = legacyBroadcastReason(site.norm); !legacy.empty()) {
    reason = legacy;
    return failure();
  }
  Operation *last = site.ops.back();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(last);
  int64_t channels = site.map.gain.size();
  SmallVector<int64_t> shape(rank - 1, 1);
  shape[0] = channels;
  Type elementType = cast<ShapedType>(site.input.getType()).getElementType();
  std::string base = getNodeName(site.norm).str();
  if (base.empty())
    base = "batch_norm";
  Location loc = site.norm->getLoc();
  Value scale = createFloatInitializer(rewriter, loc, base + "/scale_folded", elementType,
                                       shape, site.map.gain);
  Value shift = createFloatInitializer(rewriter, loc, base + "/shift_folded", elementType,
                                       shape, site.map.shift);
  auto mul = MulOp::create(rewriter, derivedNodeLoc(loc, "Mul"), site.output.getType(),
                           site.input, scale);
  auto add = AddOp::create(rewriter, derivedNodeLoc(loc, "Add"), site.output.getType(),
                           mul.getResult(), shift);
  // The Add produces what the last op of the site produced, under its name.
  if (auto names = last->getAttr(kOutputNamesAttr))
    add->setAttr(kOutputNamesAttr, names);
  return add.getResult();
}

void foldBatchNorm(RewriterBase &rewriter, BatchNormOp op) {
  std::string reason;
  FailureOr<ChannelAffine> map = getBatchNormAffine(op, reason);
  if (failed(map))
    return recordNormRefusal(op, kPassName, reason);
  AffineSite site = getSite(op, std::move(*map));
  std::string what = site.eta ? llvm::formatv("RepBN (eta = {0})", *site.eta).str()
                              : std::string("BatchNorm");

  // The report records are written before the site is erased: they read
  // the op's name.
  std::string producerReason, into;
  if (succeeded(foldIntoProducer(rewriter, site, producerReason, into))) {
    recordNormAction(op, kPassName, "folded", what + " folded into its producer " + into);
    eraseSite(rewriter, site, site.input);
    // A RepBN between two Transposes leaves them facing each other.
    SmallVector<Value> transposed;
    for (Operation *user : site.input.getUsers())
      if (isa<TransposeOp>(user))
        transposed.push_back(user->getResult(0));
    for (Value value : transposed)
      cancelTransposePair(rewriter, value);
    return;
  }
  std::string consumerReason;
  Value chainEnd;
  size_t count = 0;
  if (succeeded(foldIntoConsumers(rewriter, site, consumerReason, chainEnd, count))) {
    recordNormAction(op, kPassName, "folded",
                     llvm::formatv("{0} folded into {1} linear layer(s) reading it", what, count)
                         .str());
    eraseSite(rewriter, site, site.input);
    if (chainEnd)
      cancelTransposePair(rewriter, chainEnd);
    return;
  }
  std::string why = "producer: " + producerReason + "; readers: " + consumerReason;
  FailureOr<Value> replacement = decompose(rewriter, site, reason);
  if (failed(replacement))
    return recordNormRefusal(op, kPassName, why + "; Mul + Add: " + reason);
  op->emitRemark() << kPassName << ": " << what << " became a per-channel Mul + Add ("
                   << why << ")";
  recordNormAction(op, kPassName, "decomposed", why);
  eraseSite(rewriter, site, *replacement);
}

/// Why an ONNX BatchNormalization that norm-recognize left alone is not an
/// inference BatchNorm.
std::string trainingReason(NodeOp node) {
  auto intAttr = [&](StringRef name, int64_t fallback) {
    auto attr = node->getAttrOfType<IntegerAttr>(name);
    return attr ? attr.getInt() : fallback;
  };
  if (intAttr("training_mode", 0) != 0)
    return "training_mode = 1: it normalizes with batch statistics, not the running ones";
  if (intAttr("is_test", 1) == 0 && node.getNumResults() > 1)
    return "is_test = 0: it normalizes with batch statistics, not the running ones";
  if (intAttr("spatial", 1) != 1)
    return "spatial = 0: per-element statistics";
  for (unsigned i = 1; i < node.getNumResults(); ++i)
    if (!node.getResult(i).use_empty())
      return "its running mean/variance outputs (training) are used";
  return "it is not an inference BatchNormalization with float inputs";
}

struct NormFoldBatchNormPass : norm::impl::NormFoldBatchNormBase<NormFoldBatchNormPass> {
  void runOnOperation() override;
};

} // namespace

void NormFoldBatchNormPass::runOnOperation() {
  ReportBatch reportBatch(getOperation());
  SmallVector<BatchNormOp> norms;
  SmallVector<NodeOp> refused;
  getOperation()->walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (auto norm = dyn_cast<BatchNormOp>(op))
      norms.push_back(norm);
    else if (auto node = dyn_cast<NodeOp>(op);
             node && node.getOpType() == "BatchNormalization" && node.getDomain().empty())
      refused.push_back(node);
    // The node a norm op replaced is no BatchNormalization left in the graph.
    return isa<NormDialect>(op->getDialect()) ? WalkResult::skip() : WalkResult::advance();
  });
  for (NodeOp node : refused)
    recordNormRefusal(node, kPassName, trainingReason(node));
  IRRewriter rewriter(&getContext());
  for (BatchNormOp norm : norms)
    foldBatchNorm(rewriter, norm);
  if (WeightStore::get(&getContext()).takeAllocationFailure())
    signalPassFailure();
}
