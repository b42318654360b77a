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
#include "norm-opt/Dialect/Norm/Transforms/Report.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXBuilder.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
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

/// A constant operand of a writer to be centered along `axis`.
struct WeightToCenter {
  OpOperand *use;
  int64_t axis;
};

/// A residual stream: the values joined by Adds that LayerNorms read, the
/// LayerNorms that read it, and the weights whose centering makes it
/// zero-mean. `refusal` is set when the stream cannot be proven.
struct ResidualStream {
  llvm::SetVector<Value> values;
  llvm::SetVector<Operation *> readers;
  SmallVector<WeightToCenter> weights;
  std::string refusal;
  int64_t hidden = ShapedType::kDynamic;
};

/// The operand through which a layout op passes the stream on unchanged
/// along the hidden dim: a Transpose that keeps the last axis last, a
/// Reshape that keeps the last dim, an Identity. Such ops commute with
/// centering over the hidden dim. Null for any other op.
OpOperand *hiddenPreservingInput(Operation *op) {
  if (auto identity = dyn_cast<IdentityOp>(op))
    return &identity->getOpOperand(0);
  if (auto transpose = dyn_cast<TransposeOp>(op)) {
    auto type = dyn_cast<RankedTensorType>(transpose.getData().getType());
    auto perm = transpose.getPerm();
    if (!type || !perm || perm->empty() || perm->back() != type.getRank() - 1)
      return nullptr;
    return &transpose->getOpOperand(0);
  }
  if (auto reshape = dyn_cast<ReshapeOp>(op)) {
    auto in = dyn_cast<RankedTensorType>(reshape.getData().getType());
    auto out = dyn_cast<RankedTensorType>(reshape.getType());
    if (!in || !out || in.getRank() == 0 || out.getRank() == 0 ||
        ShapedType::isDynamic(in.getShape().back()) ||
        in.getShape().back() != out.getShape().back())
      return nullptr;
    return &reshape->getOpOperand(0);
  }
  return nullptr;
}

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

/// The last dim of `value`'s type, or kDynamic.
int64_t lastDim(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || type.getRank() == 0)
    return ShapedType::kDynamic;
  return type.getShape().back();
}

class StreamBuilder {
public:
  explicit StreamBuilder(ResidualStream &stream) : stream(stream) {}

  /// Grows the stream from `seed` until every value's producer and readers
  /// are accounted for. Growth goes on after a refusal so that every norm of
  /// the stream is found (and reported once); the first reason is kept.
  void grow(Value seed) {
    SmallVector<Value> worklist{seed};
    while (!worklist.empty()) {
      Value value = worklist.pop_back_val();
      if (!stream.values.insert(value))
        continue;
      classifyProducer(value, worklist);
      classifyReaders(value, worklist);
    }
  }

  /// Centers the constants added into the stream where the stream reads
  /// them; their other users keep the original.
  void finish() {
    for (Value value : stream.values) {
      if (!getConstantValue(value))
        continue;
      for (OpOperand &use : value.getUses())
        if (isa<AddOp>(use.getOwner()) &&
            stream.values.contains(use.getOwner()->getResult(0)))
          stream.weights.push_back({&use, -1});
    }
  }

private:
  void refuse(const Twine &reason) {
    if (stream.refusal.empty())
      stream.refusal = reason.str();
  }

  void noteHidden(Value value) {
    int64_t d = lastDim(value);
    if (ShapedType::isDynamic(d))
      return;
    if (!ShapedType::isDynamic(stream.hidden) && stream.hidden != d)
      return refuse("stream values disagree on the hidden size (" +
                    Twine(stream.hidden) + " vs " + Twine(d) + ")");
    stream.hidden = d;
  }

  /// A constant weight operand to center along `axis`; refuses when it is
  /// not a readable constant with a static shape.
  void centerWeight(OpOperand &use, int64_t axis, Operation *writer) {
    auto type = dyn_cast<RankedTensorType>(use.get().getType());
    if (!getConstantValue(use.get()) || !type || !type.hasStaticShape())
      return refuse("writer " + describe(writer) +
                    " has a weight that is not a constant");
    stream.weights.push_back({&use, axis});
  }

  /// The producer of a stream value: an Add continues the stream; anything
  /// else writes into it and must be centerable.
  void classifyProducer(Value value, SmallVectorImpl<Value> &worklist) {
    noteHidden(value);
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
    if (auto add = dyn_cast<AddOp>(def)) {
      worklist.push_back(add.getLhs());
      worklist.push_back(add.getRhs());
      return;
    }
    if (OpOperand *input = hiddenPreservingInput(def)) {
      worklist.push_back(input->get());
      return;
    }
    if (getConstantValue(value))
      return; // A bias or learned table: centered in finish().
    if (auto matmul = dyn_cast<MatMulOp>(def)) {
      auto weight = dyn_cast<RankedTensorType>(matmul.getRhs().getType());
      if (!weight || weight.getRank() != 2)
        return refuse("writer " + describe(def) + " is not a matmul by a 2-D weight");
      return centerWeight(matmul->getOpOperand(1), /*axis=*/1, def);
    }
    if (auto gemm = dyn_cast<GemmOp>(def)) {
      bool transB = gemm.getTransB().value_or(0) != 0;
      centerWeight(gemm->getOpOperand(1), transB ? 0 : 1, def);
      if (gemm.getC() && !isa<NoneType>(gemm.getC().getType()))
        centerWeight(gemm->getOpOperand(2), -1, def);
      return;
    }
    if (auto gather = dyn_cast<GatherOp>(def)) {
      auto table = dyn_cast<RankedTensorType>(gather.getData().getType());
      if (gather.getAxis().value_or(0) != 0 || !table || table.getRank() != 2)
        return refuse("writer " + describe(def) +
                      " is not an embedding lookup (axis 0 of a 2-D table)");
      return centerWeight(gather->getOpOperand(0), /*axis=*/1, def);
    }
    if (isa<LayerNormOp, RMSNormOp, SkipLayerNormOp, SkipRMSNormOp>(def))
      return refuse("a norm output (" + describe(def) +
                    ") writes into the stream: a Post-LN or sandwich-norm block");
    refuse("writer " + describe(def) +
           " is not an affine map norm-opt can center");
  }

  /// Every reader of a stream value must be a LayerNorm over the hidden dim
  /// or an Add whose result joins the stream. Constants are exempt: only
  /// their stream uses are centered.
  void classifyReaders(Value value, SmallVectorImpl<Value> &worklist) {
    if (getConstantValue(value))
      return;
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      if (auto ln = dyn_cast<LayerNormOp>(user);
          ln && use.getOperandNumber() == 0) {
        std::optional<int64_t> axis = ln.getNormalizedAxis();
        auto type = dyn_cast<RankedTensorType>(ln.getInput().getType());
        bool lastOnly = ln.getAxis() == -1 ||
                        (axis && type && *axis == type.getRank() - 1);
        if (!lastOnly)
          refuse("LayerNorm " + describe(user) +
                 " normalizes more than the hidden dim");
        // In a Pre-LN model a norm output only feeds a branch; added into a
        // residual, it is the stream itself (Post-LN, e.g. BERT's embedding
        // norm), which this pass leaves to the Post-LN analysis.
        if (llvm::any_of(user->getUsers(), [](Operation *u) { return isa<AddOp>(u); }))
          refuse("the output of LayerNorm " + describe(user) +
                 " is added into a residual stream: a Post-LN block");
        stream.readers.insert(user);
        continue;
      }
      if (isa<AddOp>(user)) {
        worklist.push_back(user->getResult(0));
        continue;
      }
      if (isa<ShapeOp, SizeOp>(user))
        continue; // Reads only the shape, which centering keeps.
      if (OpOperand *input = hiddenPreservingInput(user); input == &use) {
        worklist.push_back(user->getResult(0));
        continue;
      }
      if (isa<func::ReturnOp>(user))
        refuse("a stream value is a graph output, which centering would change");
      else
        refuse("stream value read by " + describe(user) +
               ", which is not a LayerNorm over the hidden dim");
    }
  }

  ResidualStream &stream;
};

struct NormPreLNToRMSPass : norm::impl::NormPreLNToRMSBase<NormPreLNToRMSPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (failed(runOnGraph(func)))
        return signalPassFailure();
  }

  LogicalResult runOnGraph(func::FuncOp func) {
    SmallVector<LayerNormOp> norms;
    for (Operation &op : func.getBody().front())
      if (auto ln = dyn_cast<LayerNormOp>(op))
        norms.push_back(ln);
    llvm::SmallPtrSet<Operation *, 16> seen;
    // Later norms first: the final norm's stream reaches the whole chain.
    for (LayerNormOp ln : llvm::reverse(norms)) {
      if (seen.contains(ln))
        continue;
      ResidualStream stream;
      StreamBuilder builder(stream);
      builder.grow(ln.getInput());
      builder.finish();
      stream.readers.insert(ln);
      // Growth follows producers and users alike, so two streams that share
      // a value are the same stream: none of these readers was seen before.
      for (Operation *reader : stream.readers)
        seen.insert(reader);
      if (stream.refusal.empty() && ShapedType::isDynamic(stream.hidden))
        stream.refusal = "the hidden size of the stream is not static";
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
    SmallVector<Operation *> maybeDead;
    for (WeightToCenter &weight : stream.weights) {
      Value original = weight.use->get();
      auto type = cast<RankedTensorType>(original.getType());
      int64_t axis = weight.axis < 0 ? type.getRank() - 1 : weight.axis;
      Value &copy = centered[{original, axis}];
      if (!copy) {
        FailureOr<Value> made = createCenteredConstant(builder, original, axis);
        if (failed(made))
          return failure();
        copy = *made;
      }
      weight.use->set(copy);
      if (Operation *def = original.getDefiningOp())
        maybeDead.push_back(def);
    }
    eraseDeadConstants(maybeDead);

    unsigned writers = stream.weights.size();
    for (Operation *reader : stream.readers) {
      auto ln = cast<LayerNormOp>(reader);
      builder.setInsertionPoint(ln);
      auto rms = RMSNormOp::create(builder, ln.getLoc(), ln.getType(), ln.getInput(),
                                   ln.getScale(), ln.getBias(), ln.getAxisAttr(),
                                   ln.getEpsilonAttr(), /*unit_offset=*/nullptr);
      rms->setDiscardableAttrs(ln->getDiscardableAttrDictionary());
      ln.replaceAllUsesWith(rms.getResult());
      ln.erase();
      recordNormAction(rms, kPassName, "converted",
                       ("LayerNorm -> RMSNorm: zero-mean stream of " +
                        Twine(stream.values.size()) + " values, " +
                        Twine(writers) + " writer weights centered")
                           .str());
    }
    return success();
  }
};

} // namespace
