//===- PreLNToRMS.cpp - Pre-LN residual streams -> RMSNorm ----------------===//
//
// Finds each residual stream of a Pre-LN transformer, proves that centering
// its writers makes every LayerNorm input zero-mean, and then replaces those
// LayerNorms with RMSNorms (TRANSFORMS.md section 2). The proof is per
// stream: one writer or reader it cannot vouch for refuses the whole stream.
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
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::norm {
#define GEN_PASS_DEF_NORMPRELNTORMS
#include "norm-opt/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace mlir::norm

using namespace mlir;
using namespace mlir::norm;
using namespace mlir::onnxir;

namespace {

constexpr StringLiteral kPassName = "norm-pre-ln-to-rms";

/// A constant operand of a writer to be centered along `axis` (an axis of
/// the constant; one outside its dims means it is broadcast along the
/// hidden dim and centers to zero).
struct WeightToCenter {
  OpOperand *use;
  int64_t axis;
};

/// A residual stream: its values, each with the dim that is its hidden axis
/// (counted from the end, -1 = last, so that broadcasting operands agree),
/// the LayerNorms that read it, and the weights whose centering makes it
/// zero-mean. `refusal` is set when the stream cannot be proven.
struct ResidualStream {
  llvm::MapVector<Value, int64_t> values;
  llvm::SetVector<Operation *> readers;
  SmallVector<WeightToCenter> weights;
  /// With compress: the constant shape operands of Reshapes and Expands on
  /// the stream, and the entry of each that is the hidden dim.
  llvm::MapVector<OpOperand *, int64_t> shapeEntries;
  std::string refusal;
  int64_t hidden = ShapedType::kDynamic;
};

std::string describe(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  StringRef node = getNodeName(op);
  if (auto generic = dyn_cast<NodeOp>(op))
    os << generic.getOpType();
  else
    os << op->getName().stripDialect();
  if (!node.empty())
    os << " '" << node << "'";
  return text;
}

int64_t rankOf(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  return type ? type.getRank() : -1;
}

/// Maps a hidden axis (counted from the end) through a Reshape from
/// `fromValue` to `toValue`. In row-major order an element's index is
/// `(prefix * C + c) * S + s` for hidden size C and suffix size S, so the
/// hidden fibers survive exactly when the target has a dim of size C whose
/// following dims have the same static product S. nullopt otherwise.
std::optional<int64_t> mapAxisThroughReshape(Value fromValue, Value toValue,
                                             int64_t axis) {
  auto from = dyn_cast<RankedTensorType>(fromValue.getType());
  auto to = dyn_cast<RankedTensorType>(toValue.getType());
  if (!from || !to || -axis > from.getRank())
    return std::nullopt;
  int64_t pf = from.getRank() + axis;
  int64_t size = from.getDimSize(pf);
  ArrayRef<int64_t> suffix = from.getShape().drop_front(pf + 1);
  if (ShapedType::isDynamic(size) || ShapedType::isDynamicShape(suffix))
    return std::nullopt;
  int64_t suffixSize = ShapedType::getNumElements(suffix);
  for (int64_t pt = to.getRank() - 1; pt >= 0; --pt) {
    ArrayRef<int64_t> toSuffix = to.getShape().drop_front(pt + 1);
    if (ShapedType::isDynamicShape(toSuffix) ||
        ShapedType::getNumElements(toSuffix) > suffixSize)
      break;
    if (to.getDimSize(pt) == size &&
        ShapedType::getNumElements(toSuffix) == suffixSize)
      return pt - to.getRank();
  }
  return std::nullopt;
}

/// The hidden axis (from the end) of a Transpose's output given its input's,
/// or the reverse when `forward` is false.
std::optional<int64_t> mapAxisThroughTranspose(TransposeOp op, int64_t axis,
                                               bool forward) {
  // A perm spells the rank even where shape inference left the value untyped.
  int64_t rank = op.getPerm() ? int64_t(op.getPerm()->size()) : rankOf(op.getData());
  if (rank < 0 || -axis > rank)
    return std::nullopt;
  SmallVector<int64_t> perm;
  if (auto p = op.getPerm())
    perm.assign(p->begin(), p->end());
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i); // ONNX default: reverse the dims.
  int64_t pos = rank + axis;
  if (!forward)
    return perm[pos] - rank;
  for (int64_t i = 0; i < rank; ++i)
    if (perm[i] == pos)
      return i - rank;
  return std::nullopt;
}

/// The concatenation axis counted from the end.
std::optional<int64_t> concatAxisFromEnd(ConcatOp op) {
  int64_t rank = rankOf(op.getResult());
  auto axis = int64_t(op.getAxis()); // I64Attr reads back unsigned.
  if (axis < 0)
    return axis;
  if (rank < 0)
    return std::nullopt;
  return axis - rank;
}

class StreamBuilder {
public:
  StreamBuilder(ResidualStream &stream, bool compress)
      : stream(stream), compress(compress) {}

  /// Grows the stream from `seed` until every value's producer and readers
  /// are accounted for. Growth goes on after a refusal so that every norm of
  /// the stream is found (and reported once); the first reason is kept.
  void grow(Value seed) {
    worklist.push_back({seed, -1});
    while (!worklist.empty()) {
      auto [value, axis] = worklist.pop_back_val();
      auto [it, inserted] = stream.values.insert({value, axis});
      if (!inserted) {
        if (it->second != axis)
          refuse("a value is reached with two different hidden dims");
        continue;
      }
      classifyProducer(value, axis);
      classifyReaders(value, axis);
    }
  }

  /// Centers the constants that flow into the stream where the stream reads
  /// them; their other users keep the original.
  void finish() {
    for (auto [value, axis] : stream.values) {
      if (!getConstantValue(value))
        continue;
      int64_t rank = rankOf(value);
      for (OpOperand &use : value.getUses()) {
        Operation *user = use.getOwner();
        if (user->getNumResults() == 1 && isa<AddOp, ConcatOp, ExpandOp>(user) &&
            stream.values.contains(user->getResult(0)))
          stream.weights.push_back({&use, rank + axis});
      }
    }
  }

private:
  void refuse(const Twine &reason) {
    if (stream.refusal.empty())
      stream.refusal = reason.str();
  }

  void push(Value value, int64_t axis) { worklist.push_back({value, axis}); }

  /// Records the hidden size; a value too low in rank to have the hidden
  /// dim is broadcast along it, which only a constant may be.
  void noteHidden(Value value, int64_t axis) {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (compress && !getConstantValue(value) &&
        (!type || -axis > type.getRank() ||
         type.isDynamicDim(type.getRank() + axis)))
      refuse("compress: a stream value has no static hidden dim");
    if (!type)
      return;
    if (-axis > type.getRank())
      return;
    int64_t d = type.getDimSize(type.getRank() + axis);
    if (ShapedType::isDynamic(d) || d == 1)
      return;
    if (!ShapedType::isDynamic(stream.hidden) && stream.hidden != d)
      return refuse("stream values disagree on the hidden size (" +
                    Twine(stream.hidden) + " vs " + Twine(d) + ")");
    stream.hidden = d;
  }

  /// A constant weight operand to center along `axis`; refuses when it is
  /// not a readable constant with a static shape. A weight that is the 2-D
  /// Transpose of a constant (PyTorch's nn.Linear exported without constant
  /// folding) is centered in the stored layout, when nothing else reads the
  /// Transpose.
  void centerWeight(OpOperand &use, int64_t axis, Operation *writer) {
    if (auto transpose = use.get().getDefiningOp<TransposeOp>();
        transpose && rankOf(transpose.getData()) == 2 &&
        transpose->hasOneUse() && getConstantValue(transpose.getData()))
      return centerWeight(transpose->getOpOperand(0), 1 - axis, writer);
    auto type = dyn_cast<RankedTensorType>(use.get().getType());
    if (!getConstantValue(use.get()) || !type || !type.hasStaticShape())
      return refuse("writer " + describe(writer) +
                    " has a weight that is not a constant");
    stream.weights.push_back({&use, axis});
  }

  /// The producer of a stream value: Adds, Concats (not along the hidden
  /// dim), Expands and layout ops continue the stream; anything else writes
  /// into it and must be centerable.
  void classifyProducer(Value value, int64_t axis) {
    noteHidden(value, axis);
    Operation *def = value.getDefiningOp();
    if (!def) {
      auto arg = cast<BlockArgument>(value);
      auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
      auto name = func ? func.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                           kValueNameAttr)
                       : StringAttr();
      return refuse("the stream starts at graph input '" +
                    (name ? name.getValue() : StringRef("?")) +
                    "', which cannot be centered");
    }
    if (getConstantValue(value))
      return; // A bias, a learned table or a class token: see finish().
    if (rankOf(value) >= 0 && -axis > rankOf(value))
      return refuse("value of " + describe(def) +
                    " is broadcast along the hidden dim");
    if (auto add = dyn_cast<AddOp>(def)) {
      push(add.getLhs(), axis);
      push(add.getRhs(), axis);
      return;
    }
    if (auto concat = dyn_cast<ConcatOp>(def)) {
      if (concatAxisFromEnd(concat) != std::optional<int64_t>(axis)) {
        for (Value input : concat.getInputs())
          push(input, axis);
        return;
      }
      return refuse(describe(def) + " concatenates along the hidden dim");
    }
    if (auto expand = dyn_cast<ExpandOp>(def)) {
      noteShapeOperand(expand, axis);
      return push(expand.getInput(), axis);
    }
    if (auto identity = dyn_cast<IdentityOp>(def))
      return push(identity.getInput(), axis);
    if (auto transpose = dyn_cast<TransposeOp>(def)) {
      if (auto in = mapAxisThroughTranspose(transpose, axis, /*forward=*/false))
        return push(transpose.getData(), *in);
      return refuse(describe(def) + " reverses the dims of a value of unknown rank, so "
                    "where the hidden dim goes is not known");
    }
    if (auto reshape = dyn_cast<ReshapeOp>(def)) {
      noteShapeOperand(reshape, axis);
      if (auto in = mapAxisThroughReshape(value, reshape.getData(), axis))
        return push(reshape.getData(), *in);
      return refuse(describe(def) + " does not keep the hidden dim intact");
    }
    if (isa<LayerNormOp, RMSNormOp, SkipLayerNormOp, SkipRMSNormOp>(def))
      return refuse("a norm output (" + describe(def) +
                    ") writes into the stream: a Post-LN or sandwich-norm block");
    classifyWriter(def, axis);
  }

  /// The affine maps whose output can be made zero-mean over the hidden dim
  /// by centering their weights.
  void classifyWriter(Operation *def, int64_t axis) {
    if (auto matmul = dyn_cast<MatMulOp>(def)) {
      if (axis != -1 || rankOf(matmul.getRhs()) != 2)
        return refuse("writer " + describe(def) +
                      " is not a matmul by a 2-D weight along the hidden dim");
      return centerWeight(matmul->getOpOperand(1), /*axis=*/1, def);
    }
    if (auto gemm = dyn_cast<GemmOp>(def)) {
      if (axis != -1)
        return refuse("writer " + describe(def) + " does not write the hidden dim");
      bool transB = gemm.getTransB().value_or(0) != 0;
      centerWeight(gemm->getOpOperand(1), transB ? 0 : 1, def);
      if (gemm.getC() && !isa<NoneType>(gemm.getC().getType()))
        centerWeight(gemm->getOpOperand(2), rankOf(gemm.getC()) - 1, def);
      return;
    }
    if (auto gather = dyn_cast<GatherOp>(def)) {
      if (gather.getAxis().value_or(0) != 0 || rankOf(gather.getData()) != 2 ||
          axis != -1)
        return refuse("writer " + describe(def) +
                      " is not an embedding lookup (axis 0 of a 2-D table)");
      return centerWeight(gather->getOpOperand(0), /*axis=*/1, def);
    }
    if (auto conv = dyn_cast<ConvOp>(def)) {
      // Output channels are dim 1; only an ungrouped conv sums every output
      // channel from the same inputs, so that centering its weight over the
      // output channels centers its output.
      if (conv.getGroup().value_or(1) != 1 || rankOf(conv.getY()) < 0 ||
          rankOf(conv.getY()) + axis != 1)
        return refuse("writer " + describe(def) +
                      " is not an ungrouped conv writing the hidden dim as channels");
      centerWeight(conv->getOpOperand(1), /*axis=*/0, def);
      if (conv.getB() && !isa<NoneType>(conv.getB().getType()))
        centerWeight(conv->getOpOperand(2), /*axis=*/0, def);
      return;
    }
    refuse("writer " + describe(def) + " is not an affine map norm-opt can center");
  }

  /// Every reader of a stream value must be a LayerNorm over the hidden dim
  /// or an op whose result joins the stream. Constants are exempt: only
  /// their stream uses are centered.
  void classifyReaders(Value value, int64_t axis) {
    if (getConstantValue(value))
      return;
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      if (auto ln = dyn_cast<LayerNormOp>(user); ln && use.getOperandNumber() == 0) {
        std::optional<int64_t> normalized = ln.getNormalizedAxis();
        int64_t rank = rankOf(ln.getInput());
        bool lastOnly = ln.getAxis() == -1 || (normalized && *normalized == rank - 1);
        if (!lastOnly || axis != -1)
          refuse("LayerNorm " + describe(user) +
                 " normalizes other dims than the hidden dim");
        // In a Pre-LN model a norm output only feeds a branch; added into a
        // residual, it is the stream itself (Post-LN, e.g. BERT's embedding
        // norm), which this pass leaves alone.
        if (llvm::any_of(user->getUsers(), [](Operation *u) { return isa<AddOp>(u); }))
          refuse("the output of LayerNorm " + describe(user) +
                 " is added into a residual stream: a Post-LN block");
        stream.readers.insert(user);
        continue;
      }
      if (isa<AddOp, IdentityOp>(user)) {
        push(user->getResult(0), axis);
        continue;
      }
      if (auto concat = dyn_cast<ConcatOp>(user)) {
        if (concatAxisFromEnd(concat) == std::optional<int64_t>(axis))
          refuse(describe(user) + " concatenates along the hidden dim");
        push(user->getResult(0), axis);
        continue;
      }
      if (auto expand = dyn_cast<ExpandOp>(user); expand && use.getOperandNumber() == 0) {
        noteShapeOperand(expand, axis);
        push(user->getResult(0), axis);
        continue;
      }
      if (auto transpose = dyn_cast<TransposeOp>(user)) {
        if (auto out = mapAxisThroughTranspose(transpose, axis, /*forward=*/true))
          push(transpose.getResult(), *out);
        else
          refuse(describe(user) + " reverses the dims of a value of unknown rank, so "
                 "where the hidden dim goes is not known");
        continue;
      }
      if (auto reshape = dyn_cast<ReshapeOp>(user); reshape && use.getOperandNumber() == 0) {
        if (auto out = mapAxisThroughReshape(value, reshape.getResult(), axis)) {
          noteShapeOperand(reshape, *out);
          push(reshape.getResult(), *out);
        } else
          refuse(describe(user) + " does not keep the hidden dim intact");
        continue;
      }
      if (isShapeOnlyReader(use)) {
        // Reads only the shape, which centering keeps (compressing does not).
        if (compress)
          refuse("compress: " + describe(user) + " reads the stream's shape");
        continue;
      }
      if (isa<func::ReturnOp>(user))
        refuse("a stream value is a graph output, which centering would change");
      else
        refuse("stream value read by " + describe(user) +
               ", which is not a LayerNorm over the hidden dim");
    }
  }

  /// With compress, records the entry of `op`'s constant shape operand
  /// (Reshape's target shape, Expand's shape) that is the hidden dim of its
  /// result, whose hidden axis is `axis`.
  void noteShapeOperand(Operation *op, int64_t axis) {
    if (!compress)
      return;
    OpOperand &shape = op->getOpOperand(1);
    int64_t rank = rankOf(op->getResult(0));
    std::optional<std::vector<double>> entries = getConstantAsDoubles(shape.get());
    if (!entries || rank < 0 || int64_t(entries->size()) > rank)
      return refuse("compress: " + describe(op) + " has a shape that is not constant");
    // Expand's shape is right-aligned with its result; Reshape's has its rank.
    int64_t index = int64_t(entries->size()) + axis;
    if (index < 0)
      return;
    stream.shapeEntries[&shape] = index;
  }

  ResidualStream &stream;
  bool compress;
  SmallVector<std::pair<Value, int64_t>> worklist;
};

struct NormPreLNToRMSPass : norm::impl::NormPreLNToRMSBase<NormPreLNToRMSPass> {
  using NormPreLNToRMSBase::NormPreLNToRMSBase;

  void runOnOperation() override {
    ReportBatch reportBatch(getOperation());
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (failed(runOnGraph(func)))
        return signalPassFailure();
  }

  LogicalResult runOnGraph(func::FuncOp func) {
    // Every graph's LayerNorms, subgraphs' too: a value a subgraph reads
    // from the outer graph is a reader like any other.
    SmallVector<LayerNormOp> norms;
    func.walk([&](LayerNormOp ln) { norms.push_back(ln); });
    llvm::SmallPtrSet<Operation *, 16> seen;
    // Later norms first: the final norm's stream reaches the whole chain.
    for (LayerNormOp ln : llvm::reverse(norms)) {
      if (seen.contains(ln))
        continue;
      ResidualStream stream;
      StreamBuilder builder(stream, compress);
      builder.grow(ln.getInput());
      builder.finish();
      stream.readers.insert(ln);
      // Growth follows producers and users alike, so two streams that share
      // a value are the same stream: none of these readers was seen before.
      for (Operation *reader : stream.readers)
        seen.insert(reader);
      if (stream.refusal.empty() && ShapedType::isDynamic(stream.hidden))
        stream.refusal = "the hidden size of the stream is not static";
      Type elementType = getElementTypeOrSelf(ln.getInput().getType());
      if (stream.refusal.empty() && compress && elementType.isIntOrFloat() &&
          elementType.getIntOrFloatBitWidth() < 32)
        stream.refusal = "compress: the stream is 16-bit, and CRMSNorm recovers the dropped "
                         "entry as -sum(x), which cancellation makes inexact at that "
                         "precision (difffuzz F10)";
      if (!stream.refusal.empty()) {
        for (Operation *reader : stream.readers)
          recordNormRefusal(reader, kPassName, stream.refusal);
        continue;
      }
      if (failed(rewrite(stream)))
        return failure();
    }
    return success();
  }

  LogicalResult rewrite(ResidualStream &stream) {
    OpBuilder builder(&getContext());
    // One centered copy per (weight, axis): layers that share a weight
    // share its centered copy.
    llvm::DenseMap<std::pair<Value, int64_t>, Value> centered;
    SmallVector<Value> replaced;
    for (WeightToCenter &weight : stream.weights) {
      Value original = weight.use->get();
      int64_t axis = weight.axis;
      Value &copy = centered[{original, axis}];
      if (!copy) {
        FailureOr<Value> made =
            createCenteredConstant(builder, original, axis, /*dropLast=*/compress);
        if (failed(made))
          return failure();
        copy = *made;
      }
      weight.use->set(copy);
      // A weight read through a Transpose: its result follows the new shape.
      if (auto transpose = dyn_cast<TransposeOp>(weight.use->getOwner()))
        transpose.getResult().setType(transposedType(transpose));
      replaced.push_back(original);
    }
    if (compress)
      shrinkStream(stream, builder, replaced);
    IRRewriter rewriter(builder);
    eraseIfUnused(rewriter, replaced);

    unsigned writers = stream.weights.size();
    for (Operation *reader : stream.readers) {
      auto ln = cast<LayerNormOp>(reader);
      builder.setInsertionPoint(ln);
      Operation *replacement;
      if (compress)
        replacement = CRMSNormOp::create(builder, ln.getLoc(), ln.getType(),
                                         ln.getInput(), ln.getScale(), ln.getBias(),
                                         ln.getEpsilonAttr());
      else
        replacement = RMSNormOp::create(builder, ln.getLoc(), ln.getType(),
                                        ln.getInput(), ln.getScale(), ln.getBias(),
                                        ln.getAxisAttr(), ln.getEpsilonAttr(),
                                        /*unit_offset=*/nullptr);
      replacement->setDiscardableAttrs(ln->getDiscardableAttrDictionary());
      ln.replaceAllUsesWith(replacement->getResult(0));
      ln.erase();
      recordNormAction(replacement, kPassName, "converted",
                       ((compress ? "LayerNorm -> CRMSNorm: stream of " + Twine(stream.hidden) +
                                        " entries stored as " + Twine(stream.hidden - 1) + ", "
                                  : Twine("LayerNorm -> RMSNorm: ")) +
                        "zero-mean stream of " + Twine(stream.values.size()) +
                        " values, " + Twine(writers) + " writer weights centered")
                           .str());
    }
    return success();
  }

  static RankedTensorType transposedType(TransposeOp transpose) {
    auto input = cast<RankedTensorType>(transpose.getData().getType());
    SmallVector<int64_t> shape;
    int64_t rank = input.getRank();
    for (int64_t i = 0; i < rank; ++i)
      shape.push_back(input.getDimSize(transpose.getPerm() ? (*transpose.getPerm())[i]
                                                           : rank - 1 - i));
    return RankedTensorType::get(shape, input.getElementType());
  }

  /// CRMSNorm: every stream value loses its last hidden entry (the writers
  /// already produce d - 1 entries), and the shape constants on the stream
  /// say so.
  void shrinkStream(ResidualStream &stream, OpBuilder &builder,
                    SmallVectorImpl<Value> &replaced) {
    for (auto [value, axis] : stream.values) {
      if (getConstantValue(value))
        continue;
      auto type = cast<RankedTensorType>(value.getType());
      SmallVector<int64_t> shape(type.getShape());
      int64_t &dim = shape[type.getRank() + axis];
      if (dim == stream.hidden)
        --dim;
      value.setType(RankedTensorType::get(shape, type.getElementType()));
    }
    for (auto [operand, index] : stream.shapeEntries) {
      std::vector<double> entries = *getConstantAsDoubles(operand->get());
      if (entries[index] != double(stream.hidden))
        continue; // 0 (copy), -1 (infer) or 1 (broadcast) stay right.
      SmallVector<int64_t> shape;
      for (double e : entries)
        shape.push_back(int64_t(e));
      --shape[index];
      builder.setInsertionPoint(operand->getOwner());
      auto type = RankedTensorType::get({int64_t(shape.size())}, builder.getI64Type());
      replaced.push_back(operand->get());
      operand->set(ConstantOp::create(
          builder, derivedNodeLoc(operand->getOwner()->getLoc(), "compressed_shape"),
          type, DenseElementsAttr::get(type, ArrayRef<int64_t>(shape)), nullptr,
          nullptr, nullptr, nullptr, nullptr, nullptr));
    }
  }
};

} // namespace
