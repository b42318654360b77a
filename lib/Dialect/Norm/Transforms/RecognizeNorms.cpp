//===- RecognizeNorms.cpp - ONNX normalization nodes -> norm ops ----------===//
//
// One pattern per ONNX spelling of a norm. The explicit nodes are here;
// decomposed chains are in RecognizeDecomposedNorms.cpp.
//
//===----------------------------------------------------------------------===//

#include "norm-opt/Dialect/Norm/Transforms/Passes.h"
#include "RecognizeNorms.h"

#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/Norm/IR/OriginalSpelling.h"
#include "norm-opt/Dialect/Norm/Transforms/Report.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::norm {
#define GEN_PASS_DEF_NORMRECOGNIZE
#include "norm-opt/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace mlir::norm

using namespace mlir;
using namespace mlir::norm;
using onnxir::NodeOp;

constexpr StringLiteral kPassName = "norm-recognize";

bool mlir::norm::detail::isNode(NodeOp node, StringRef opType,
                                ArrayRef<StringRef> domains) {
  if (node.getOpType() != opType)
    return false;
  StringRef domain = node.getDomain();
  return llvm::any_of(domains, [&](StringRef d) {
    return d == domain || (d.empty() && domain == "ai.onnx");
  });
}

namespace {
using mlir::norm::detail::isNode;

constexpr StringLiteral kMicrosoft = "com.microsoft";

int64_t intAttr(Operation *op, StringRef name, int64_t defaultValue) {
  auto attr = op->getAttrOfType<IntegerAttr>(name);
  return attr ? attr.getInt() : defaultValue;
}

FloatAttr epsilonAttr(Operation *op, double defaultValue) {
  if (auto attr = op->getAttrOfType<FloatAttr>("epsilon"))
    return FloatAttr::get(Float32Type::get(op->getContext()),
                          attr.getValueAsDouble());
  return FloatAttr::get(Float32Type::get(op->getContext()), defaultValue);
}

/// The operand at `index`, or null when absent or an omitted ("") input.
Value optionalOperand(Operation *op, unsigned index) {
  if (index >= op->getNumOperands())
    return {};
  Value v = op->getOperand(index);
  return isa<NoneType>(v.getType()) ? Value() : v;
}

/// Fails unless every result from `first` on is unused: the norm ops do not
/// produce the optional statistics outputs.
LogicalResult requireUnusedFrom(Operation *op, unsigned first,
                                PatternRewriter &rewriter) {
  for (OpResult result : op->getResults().drop_front(first))
    if (!result.use_empty())
      return rewriter.notifyMatchFailure(
          op, "an optional statistics output (mean / inverse std) is used");
  return success();
}

/// The type of the norm's result: the node's own result type where shape
/// inference gave one (it must stay what the node's users saw), else the
/// input's.
Type resultTypeFor(Operation *node) {
  Type declared = node->getResult(0).getType();
  return isa<TensorType>(declared) ? declared : node->getOperand(0).getType();
}

bool isFloatTensor(Value v) {
  auto type = dyn_cast<TensorType>(v.getType());
  return type && isa<FloatType>(type.getElementType());
}

/// Output names for the new op, picked from the node's by index.
ArrayAttr pickOutputNames(Operation *node, ArrayRef<unsigned> indices) {
  auto names = node->getAttrOfType<ArrayAttr>(onnxir::kOutputNamesAttr);
  SmallVector<Attribute> picked;
  for (unsigned i : indices)
    picked.push_back(names && i < names.size() ? names[i]
                                               : StringAttr::get(node->getContext(), ""));
  return ArrayAttr::get(node->getContext(), picked);
}

/// The preconditions LayerNormalization, RMSNormalization and
/// SimplifiedLayerNormalization share: float input and scale, statistics in
/// float32, and the optional statistics outputs unused.
LogicalResult matchTrailingNormNode(NodeOp node, PatternRewriter &rewriter) {
  if (node.getNumOperands() < 2 || !isFloatTensor(node.getOperand(0)) ||
      !isFloatTensor(node.getOperand(1)))
    return rewriter.notifyMatchFailure(node, "input or scale is not a float tensor");
  if (intAttr(node, "stash_type", 1) != 1)
    return rewriter.notifyMatchFailure(node, "stash_type is not float32");
  return requireUnusedFrom(node, 1, rewriter);
}

/// Verifies the new norm op (an ONNX node whose weights do not fit is an
/// error, reported at the node), records it, and replaces the node.
LogicalResult finishRecognition(Operation *node, Operation *normOp,
                                ArrayRef<Value> replacements, StringRef source,
                                PatternRewriter &rewriter, bool &hadError) {
  if (failed(mlir::verify(normOp))) {
    hadError = true;
    rewriter.eraseOp(normOp);
    return failure();
  }
  recordNormAction(normOp, kPassName, "recognized", source);
  SmallVector<Value> values(replacements);
  // Unused optional outputs of the node have no replacement.
  for (unsigned i = values.size(); i < node->getNumResults(); ++i)
    values.push_back(Value());
  SmallVector<Value> replaced(normOp->getNumResults());
  for (auto [result, replacement] : llvm::zip(node->getResults(), values))
    if (replacement) {
      rewriter.replaceAllUsesWith(result, replacement);
      replaced[cast<OpResult>(replacement).getResultNumber()] = result;
    }
  if (failed(keepOriginalSpelling(rewriter, normOp, {node}, replaced)))
    rewriter.eraseOp(node);
  return success();
}

/// Base of the patterns for explicit normalization nodes.
template <typename Derived>
struct NormNodePattern : OpRewritePattern<NodeOp> {
  NormNodePattern(MLIRContext *context, bool &hadError)
      : OpRewritePattern<NodeOp>(context), hadError(hadError) {}
  LogicalResult matchAndRewrite(NodeOp node, PatternRewriter &rewriter) const final {
    if (isInOriginalSpelling(node))
      return rewriter.notifyMatchFailure(node, "a kept node of a recognized norm");
    return static_cast<const Derived *>(this)->matchNode(node, rewriter);
  }
  bool &hadError;
};

struct LayerNormalizationNode : NormNodePattern<LayerNormalizationNode> {
  using NormNodePattern::NormNodePattern;
  LogicalResult matchNode(NodeOp node, PatternRewriter &rewriter) const {
    if (!isNode(node, "LayerNormalization", {""}))
      return rewriter.notifyMatchFailure(node, "not a LayerNormalization");
    if (failed(matchTrailingNormNode(node, rewriter)))
      return failure();
    auto norm = LayerNormOp::create(rewriter, 
        node.getLoc(), resultTypeFor(node), node.getOperand(0),
        node.getOperand(1), optionalOperand(node, 2),
        rewriter.getI64IntegerAttr(intAttr(node, "axis", -1)),
        epsilonAttr(node, 1e-5));
    norm->setAttr(onnxir::kOutputNamesAttr, pickOutputNames(node, {0}));
    return finishRecognition(node, norm, {norm.getResult()},
                             "LayerNormalization node", rewriter, hadError);
  }
};

/// RMSNormalization (opset 23) and onnxruntime's SimplifiedLayerNormalization
/// (default or com.microsoft domain) compute the same function.
struct RMSNormalizationNode : NormNodePattern<RMSNormalizationNode> {
  using NormNodePattern::NormNodePattern;
  LogicalResult matchNode(NodeOp node, PatternRewriter &rewriter) const {
    bool opset23 = isNode(node, "RMSNormalization", {""});
    if (!opset23 && !isNode(node, "SimplifiedLayerNormalization", {"", kMicrosoft}))
      return rewriter.notifyMatchFailure(node, "not an RMS normalization node");
    if (failed(matchTrailingNormNode(node, rewriter)))
      return failure();
    auto norm = RMSNormOp::create(rewriter, 
        node.getLoc(), resultTypeFor(node), node.getOperand(0),
        node.getOperand(1), /*bias=*/Value(),
        rewriter.getI64IntegerAttr(intAttr(node, "axis", -1)),
        epsilonAttr(node, 1e-5), /*unit_offset=*/nullptr);
    norm->setAttr(onnxir::kOutputNamesAttr, pickOutputNames(node, {0}));
    return finishRecognition(node, norm, {norm.getResult()},
                             opset23 ? "RMSNormalization node"
                                     : "SimplifiedLayerNormalization node",
                             rewriter, hadError);
  }
};

struct BatchNormalizationNode : NormNodePattern<BatchNormalizationNode> {
  using NormNodePattern::NormNodePattern;
  LogicalResult matchNode(NodeOp node, PatternRewriter &rewriter) const {
    if (!isNode(node, "BatchNormalization", {""}))
      return rewriter.notifyMatchFailure(node, "not a BatchNormalization");
    if (node.getNumOperands() != 5 ||
        !llvm::all_of(node.getOperands(), isFloatTensor))
      return rewriter.notifyMatchFailure(node, "expected five float tensor inputs");
    if (intAttr(node, "training_mode", 0) != 0)
      return rewriter.notifyMatchFailure(
          node, "training_mode = 1 computes batch statistics");
    if (intAttr(node, "is_test", 1) == 0 && node.getNumResults() > 1)
      return rewriter.notifyMatchFailure(node, "is_test = 0 (training) before opset 7");
    if (intAttr(node, "spatial", 1) != 1)
      return rewriter.notifyMatchFailure(node, "spatial = 0 (per-element statistics)");
    if (failed(requireUnusedFrom(node, 1, rewriter)))
      return failure();
    auto norm = BatchNormOp::create(rewriter, 
        node.getLoc(), resultTypeFor(node), node.getOperand(0),
        node.getOperand(1), node.getOperand(2), node.getOperand(3),
        node.getOperand(4), epsilonAttr(node, 1e-5));
    norm->setAttr(onnxir::kOutputNamesAttr, pickOutputNames(node, {0}));
    return finishRecognition(node, norm, {norm.getResult()},
                             "BatchNormalization node", rewriter, hadError);
  }
};

/// com.microsoft SkipLayerNormalization and SkipSimplifiedLayerNormalization:
/// outputs (output, mean, inv_std_var, input_skip_bias_sum).
struct SkipNormalizationNode : NormNodePattern<SkipNormalizationNode> {
  using NormNodePattern::NormNodePattern;
  LogicalResult matchNode(NodeOp node, PatternRewriter &rewriter) const {
    bool layer = isNode(node, "SkipLayerNormalization", {kMicrosoft});
    if (!layer && !isNode(node, "SkipSimplifiedLayerNormalization", {kMicrosoft}))
      return rewriter.notifyMatchFailure(node, "not a Skip*Normalization");
    if (node.getNumOperands() < 3 || !isFloatTensor(node.getOperand(0)) ||
        !isFloatTensor(node.getOperand(1)) || !isFloatTensor(node.getOperand(2)))
      return rewriter.notifyMatchFailure(node, "expected float input, skip and gamma");
    for (unsigned i = 1; i < 3 && i < node.getNumResults(); ++i)
      if (!node.getResult(i).use_empty())
        return rewriter.notifyMatchFailure(node, "mean or inv_std_var output is used");
    // The node's own result types where it has them (a graph output's is
    // fixed by the signature), else the input's.
    Type type = resultTypeFor(node);
    Type sumType = node.getNumResults() > 3 && isa<TensorType>(node.getResult(3).getType())
                       ? node.getResult(3).getType()
                       : node.getOperand(0).getType();
    Operation *norm;
    if (layer)
      norm = SkipLayerNormOp::create(rewriter, 
          node.getLoc(), TypeRange{type, sumType}, node.getOperand(0),
          node.getOperand(1), node.getOperand(2), optionalOperand(node, 3),
          optionalOperand(node, 4), epsilonAttr(node, 1e-12));
    else
      norm = SkipRMSNormOp::create(rewriter, 
          node.getLoc(), TypeRange{type, sumType}, node.getOperand(0),
          node.getOperand(1), node.getOperand(2), optionalOperand(node, 3),
          epsilonAttr(node, 1e-12));
    norm->setAttr(onnxir::kOutputNamesAttr, pickOutputNames(node, {0, 3}));
    Value sum = node.getNumResults() > 3 ? norm->getResult(1) : Value();
    SmallVector<Value> replacements{norm->getResult(0), Value(), Value(), sum};
    replacements.resize(node.getNumResults());
    return finishRecognition(node, norm, replacements,
                             layer ? "SkipLayerNormalization node"
                                   : "SkipSimplifiedLayerNormalization node",
                             rewriter, hadError);
  }
};

struct NormRecognizePass : norm::impl::NormRecognizeBase<NormRecognizePass> {
  void runOnOperation() override {
    ReportBatch reportBatch(getOperation());
    bool hadError = false;
    RewritePatternSet patterns(&getContext());
    patterns.add<LayerNormalizationNode, RMSNormalizationNode,
                 BatchNormalizationNode, SkipNormalizationNode>(&getContext(),
                                                                hadError);
    populateDecomposedNormPatterns(patterns);
    GreedyRewriteConfig config;
    // Top-down, so the report lists norms in graph order.
    config.setUseTopDownTraversal(true);
    config.enableFolding(false);
    config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns), config)) ||
        hadError)
      return signalPassFailure();
    // Only now: a chain refused in one sweep may be taken in a later one.
    recordDecomposedNormRefusals(getOperation());
  }
};

} // namespace
