//===- NormToLinalg.cpp - norm ops -> linalg on tensors -------------------===//
//
// The CPU path for norm numerics: each norm becomes a few linalg.generic ops
// over the input's iteration space [d0, ..., dn):
// (skip) the residual sum, rounded to the activation type; (crms_norm) the
// restored last entry -sum(x) of the compressed row, concatenated with the
// stored entries in the statistics type; a reduction over the normalized dims
// [axis, n) of x (LayerNorm) or x^2 (RMSNorm); for LayerNorm a second
// reduction of (x - mean)^2; and the elementwise normalization with the
// weights broadcast along the normalized dims. rms_scale is the RMSNorm
// reduction over `input` and the elementwise map over `value`, whose dims
// from the axis on may differ: only the per-row statistic is shared.
//
//===----------------------------------------------------------------------===//

#include "norm-opt/Conversion/Passes.h"

#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/Norm/Transforms/Report.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
#define GEN_PASS_DEF_CONVERTNORMTOLINALG
#include "norm-opt/Conversion/Passes.h.inc"
} // namespace mlir

using namespace mlir;

namespace {

constexpr StringLiteral kPassName = "convert-norm-to-linalg";

/// A norm op in a uniform shape.
struct NormParts {
  /// The tensor the statistics are computed over.
  Value input, skip, scale, bias, skipBias;
  /// rms_scale: the tensor scaled by 1/RMS of `input`'s rows.
  Value value;
  std::optional<int64_t> axis;
  double epsilon = 0;
  bool layerNorm = false, unitOffset = false;
  /// crms_norm: `input` holds the first d - 1 entries of each zero-mean row.
  bool compressed = false;
  /// The op's results (normalized value, then the skip forms' sum).
  SmallVector<Type, 2> resultTypes;
};

std::optional<NormParts> getParts(Operation *op) {
  NormParts p;
  if (auto rms = dyn_cast<norm::RMSNormOp>(op)) {
    p.input = rms.getInput();
    p.scale = rms.getScale();
    p.bias = rms.getBias();
    p.axis = rms.getNormalizedAxis();
    p.epsilon = rms.getEpsilon().convertToDouble();
    p.unitOffset = rms.getUnitOffset();
  } else if (auto ln = dyn_cast<norm::LayerNormOp>(op)) {
    p.input = ln.getInput();
    p.scale = ln.getScale();
    p.bias = ln.getBias();
    p.axis = ln.getNormalizedAxis();
    p.epsilon = ln.getEpsilon().convertToDouble();
    p.layerNorm = true;
  } else if (auto crms = dyn_cast<norm::CRMSNormOp>(op)) {
    p.input = crms.getInput();
    p.scale = crms.getScale();
    p.bias = crms.getBias();
    p.epsilon = crms.getEpsilon().convertToDouble();
    p.compressed = true;
  } else if (auto srms = dyn_cast<norm::SkipRMSNormOp>(op)) {
    p.input = srms.getInput();
    p.skip = srms.getSkip();
    p.scale = srms.getScale();
    p.skipBias = srms.getSkipBias();
    p.epsilon = srms.getEpsilon().convertToDouble();
  } else if (auto sln = dyn_cast<norm::SkipLayerNormOp>(op)) {
    p.input = sln.getInput();
    p.skip = sln.getSkip();
    p.scale = sln.getScale();
    p.bias = sln.getBias();
    p.skipBias = sln.getSkipBias();
    p.epsilon = sln.getEpsilon().convertToDouble();
    p.layerNorm = true;
  } else if (auto rs = dyn_cast<norm::RMSScaleOp>(op)) {
    p.input = rs.getInput();
    p.value = rs.getValue();
    p.axis = rs.getNormalizedAxis();
    p.epsilon = rs.getEpsilon().convertToDouble();
  } else {
    return std::nullopt;
  }
  p.resultTypes.assign(op->result_type_begin(), op->result_type_end());
  if (auto type = dyn_cast<RankedTensorType>(p.input.getType()); type && !p.axis)
    p.axis = type.getRank() - 1; // The skip norms and crms_norm normalize the last dim.
  return p;
}

/// Why `parts` cannot be lowered, or nullopt.
std::optional<std::string> whyNot(const NormParts &parts) {
  auto type = dyn_cast<RankedTensorType>(parts.input.getType());
  if (!type)
    return std::string("unranked input");
  // The statistics divide by the static row size; a value row may be dynamic.
  if (ShapedType::isDynamicShape(type.getShape().drop_front(*parts.axis)))
    return "dynamic hidden size: the normalized dims of " + llvm::formatv("{0}", type).str() +
           " must be static";
  if (parts.value && !isa<RankedTensorType>(parts.value.getType()))
    return std::string("unranked value");
  for (Value w : {parts.scale, parts.bias, parts.skipBias})
    if (w && !cast<ShapedType>(w.getType()).hasRank())
      return std::string("unranked weight");
  return std::nullopt;
}

class NormLowering {
public:
  NormLowering(PatternRewriter &b, Location loc, const NormParts &parts)
      : b(b), loc(loc), parts(parts) {
    type = cast<RankedTensorType>(parts.input.getType());
    rank = type.getRank();
    axis = *parts.axis;
    elem = cast<FloatType>(type.getElementType());
    resultElem = cast<FloatType>(cast<ShapedType>(parts.resultTypes[0]).getElementType());
    // Statistics in fp32, or in the widest type involved when that is wider.
    stat = b.getF32Type();
    for (Type t : {Type(elem), Type(resultElem),
                   parts.value ? getElementTypeOrSelf(parts.value.getType()) : Type()})
      if (auto f = dyn_cast_or_null<FloatType>(t); f && f.getWidth() > stat.getWidth())
        stat = f;
    hidden = ShapedType::getNumElements(type.getShape().drop_front(axis));
  }

  /// Returns the normalized value and, for the skip forms, the sum.
  std::pair<Value, Value> lower();

private:
  Value convert(Value v, Type to) {
    auto from = mlir::cast<FloatType>(v.getType());
    auto target = mlir::cast<FloatType>(to);
    if (from == target)
      return v;
    if (from.getWidth() < target.getWidth())
      return arith::ExtFOp::create(b, loc, target, v);
    return arith::TruncFOp::create(b, loc, target, v);
  }
  Value constant(double v) { return arith::ConstantOp::create(b, loc, b.getFloatAttr(stat, v)); }

  /// A tensor of dims `dims` of `like` (a rank-`rank` tensor), then
  /// `unitDims` dims of size 1, with `like`'s dynamic sizes.
  Value empty(Value like, ArrayRef<int64_t> dims, Type elementType, int64_t unitDims = 0) {
    auto likeType = mlir::cast<RankedTensorType>(like.getType());
    SmallVector<int64_t> shape;
    SmallVector<Value> dynamic;
    for (int64_t d : dims) {
      shape.push_back(likeType.getDimSize(d));
      if (likeType.isDynamicDim(d))
        dynamic.push_back(tensor::DimOp::create(b, loc, like, d));
    }
    shape.append(unitDims, 1);
    return tensor::EmptyOp::create(b, loc, shape, elementType, dynamic);
  }
  SmallVector<int64_t> allDims() { return llvm::to_vector(llvm::seq<int64_t>(0, rank)); }
  AffineMap identity() { return b.getMultiDimIdentityMap(rank); }
  /// (d0, ..., dn) -> (d0, ..., d[axis-1]): the per-row statistics; with
  /// `keepDims`, followed by a 0 for each normalized dim.
  AffineMap rowsMap(bool keepDims = false) {
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < axis; ++d)
      exprs.push_back(b.getAffineDimExpr(d));
    if (keepDims)
      exprs.append(rank - axis, b.getAffineConstantExpr(0));
    return AffineMap::get(rank, 0, exprs, b.getContext());
  }
  /// A weight aligned with the trailing dims, size-1 dims broadcast.
  AffineMap weightMap(Value weight) {
    auto wt = mlir::cast<RankedTensorType>(weight.getType());
    SmallVector<AffineExpr> exprs;
    int64_t offset = rank - wt.getRank();
    for (int64_t i = 0; i < wt.getRank(); ++i)
      exprs.push_back(wt.getDimSize(i) == 1 && type.getDimSize(offset + i) != 1
                          ? b.getAffineConstantExpr(0)
                          : b.getAffineDimExpr(offset + i));
    return AffineMap::get(rank, 0, exprs, b.getContext());
  }
  SmallVector<utils::IteratorType> iterators(bool reduce) {
    SmallVector<utils::IteratorType> it(rank, utils::IteratorType::parallel);
    if (reduce)
      for (int64_t d = axis; d < rank; ++d)
        it[d] = utils::IteratorType::reduction;
    return it;
  }
  /// Sum over the normalized dims of `x` of `term(x, extra...)`, one
  /// statistic per row (with `keepDims`, shaped [..., 1, ..., 1]).
  Value reduce(Value x, ValueRange extra, ArrayRef<AffineMap> extraMaps,
               function_ref<Value(OpBuilder &, Location, ValueRange)> term, bool keepDims = false) {
    SmallVector<int64_t> rowDims = llvm::to_vector(llvm::seq<int64_t>(0, axis));
    Value init = linalg::FillOp::create(b, loc, constant(0),
                                        empty(x, rowDims, stat, keepDims ? rank - axis : 0))
                     .getResult(0);
    SmallVector<Value> inputs{x};
    inputs.append(extra.begin(), extra.end());
    SmallVector<AffineMap> maps{identity()};
    maps.append(extraMaps.begin(), extraMaps.end());
    maps.push_back(rowsMap(keepDims));
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iterators(true), "", "",
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value t = term(nb, nloc, args.drop_back());
          linalg::YieldOp::create(nb, nloc,
                                  ValueRange{arith::AddFOp::create(nb, nloc, args.back(), t)});
        });
    return generic.getResult(0);
  }
  /// A map over the iteration space of the first of `inputs` (read with the
  /// identity map; the others with `extraMaps`) into a new tensor of its
  /// shape and `resultType` elements.
  Value elementwise(ValueRange inputs, ArrayRef<AffineMap> extraMaps, Type resultType,
                    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
    SmallVector<AffineMap> maps{identity()};
    maps.append(extraMaps.begin(), extraMaps.end());
    maps.push_back(identity());
    Value init = empty(inputs.front(), allDims(), resultType);
    return linalg::GenericOp::create(b, loc, TypeRange{init.getType()}, inputs, ValueRange{init},
                                     maps, iterators(false), "", "",
                                     [&](OpBuilder &nb, Location nloc, ValueRange args) {
                                       linalg::YieldOp::create(
                                           nb, nloc, ValueRange{body(nb, nloc, args.drop_back())});
                                     })
        .getResult(0);
  }

  PatternRewriter &b;
  Location loc;
  const NormParts &parts;
  /// The type of the tensor the statistics are computed over.
  RankedTensorType type;
  int64_t rank, axis, hidden;
  FloatType elem, resultElem, stat;
};

std::pair<Value, Value> NormLowering::lower() {
  // The residual sum, a tensor of the activation type.
  Value x = parts.input, sum;
  if (parts.skip) {
    SmallVector<Value> inputs{parts.input, parts.skip};
    SmallVector<AffineMap> maps{identity()};
    if (parts.skipBias) {
      inputs.push_back(parts.skipBias);
      maps.push_back(weightMap(parts.skipBias));
    }
    auto sumElem = mlir::cast<ShapedType>(parts.resultTypes[1]).getElementType();
    sum = elementwise(inputs, maps, sumElem, [&](OpBuilder &nb, Location nloc, ValueRange args) {
      Value acc = convert(args[0], stat);
      for (Value term : args.drop_front())
        acc = arith::AddFOp::create(nb, nloc, acc, convert(term, stat));
      return convert(acc, sumElem);
    });
    x = sum;
  }

  // CRMSNorm: the row is [x, -sum(x)]. The restored entry stays in the
  // statistics type (the ODS formula: sum(x^2) + sum(x)^2), so the stored
  // entries are widened and the row is normalized as an RMSNorm over d.
  if (parts.compressed) {
    Value last = reduce(
        x, {}, {},
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          return arith::NegFOp::create(nb, nloc, convert(args[0], stat)).getResult();
        },
        /*keepDims=*/true);
    Value stored = x;
    if (elem != stat)
      stored = elementwise(x, {}, stat, [&](OpBuilder &, Location, ValueRange args) {
        return convert(args[0], stat);
      });
    x = tensor::ConcatOp::create(b, loc, rank - 1, ValueRange{stored, last});
    type = cast<RankedTensorType>(x.getType());
    hidden = ShapedType::getNumElements(type.getShape().drop_front(axis));
  }

  double invHidden = 1.0 / static_cast<double>(hidden);
  Value first = reduce(x, {}, {}, [&](OpBuilder &nb, Location nloc, ValueRange args) {
    Value v = convert(args[0], stat);
    return parts.layerNorm ? v : arith::MulFOp::create(nb, nloc, v, v).getResult();
  });
  Value second;
  if (parts.layerNorm)
    second = reduce(x, first, rowsMap(), [&](OpBuilder &nb, Location nloc, ValueRange args) {
      Value mean = arith::MulFOp::create(nb, nloc, args[1], constant(invHidden));
      Value d = arith::SubFOp::create(nb, nloc, convert(args[0], stat), mean);
      return arith::MulFOp::create(nb, nloc, d, d).getResult();
    });

  // rms_scale applies the statistics of `input` to the rows of `value`.
  SmallVector<Value> inputs{parts.value ? parts.value : x, first};
  SmallVector<AffineMap> maps{rowsMap()};
  if (second) {
    inputs.push_back(second);
    maps.push_back(rowsMap());
  }
  int scaleIndex = -1, biasIndex = -1;
  if (parts.scale) {
    scaleIndex = inputs.size();
    inputs.push_back(parts.scale);
    maps.push_back(weightMap(parts.scale));
  }
  if (parts.bias) {
    biasIndex = inputs.size();
    inputs.push_back(parts.bias);
    maps.push_back(weightMap(parts.bias));
  }
  Value result =
      elementwise(inputs, maps, resultElem, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value v = convert(args[0], stat);
        Value var;
        if (parts.layerNorm) {
          Value mean = arith::MulFOp::create(nb, nloc, args[1], constant(invHidden));
          v = arith::SubFOp::create(nb, nloc, v, mean);
          var = arith::MulFOp::create(nb, nloc, args[2], constant(invHidden));
        } else {
          var = arith::MulFOp::create(nb, nloc, args[1], constant(invHidden));
        }
        Value rstd = math::RsqrtOp::create(
            nb, nloc, arith::AddFOp::create(nb, nloc, var, constant(parts.epsilon)));
        Value y = arith::MulFOp::create(nb, nloc, v, rstd);
        if (scaleIndex >= 0) {
          Value g = convert(args[scaleIndex], stat);
          if (parts.unitOffset)
            g = arith::AddFOp::create(nb, nloc, g, constant(1.0));
          y = arith::MulFOp::create(nb, nloc, y, g);
        }
        if (biasIndex >= 0)
          y = arith::AddFOp::create(nb, nloc, y, convert(args[biasIndex], stat));
        return convert(y, resultElem);
      });
  return {result, sum};
}

/// One pattern for the six kinds: they differ only in the parts above.
template <typename OpTy> struct NormToLinalgPattern : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    std::optional<NormParts> parts = getParts(op);
    if (!parts)
      return rewriter.notifyMatchFailure(op, "not a norm with a known lowering");
    if (std::optional<std::string> reason = whyNot(*parts))
      return rewriter.notifyMatchFailure(op, *reason);
    norm::recordNormAction(op, kPassName, "lowered", "linalg on tensors");
    auto [result, sum] = NormLowering(rewriter, op.getLoc(), *parts).lower();
    SmallVector<Value, 2> results{result};
    if (sum)
      results.push_back(sum);
    // The tensors above take their sizes from the operands; the op's result
    // types may know more (or less) statically.
    for (auto [value, type] : llvm::zip_equal(results, parts->resultTypes))
      if (value.getType() != type)
        value = tensor::CastOp::create(rewriter, op.getLoc(), type, value);
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct ConvertNormToLinalgPass : public impl::ConvertNormToLinalgBase<ConvertNormToLinalgPass> {
  void runOnOperation() override {
    norm::ReportBatch reportBatch(getOperation());
    RewritePatternSet patterns(&getContext());
    patterns.add<NormToLinalgPattern<norm::RMSNormOp>, NormToLinalgPattern<norm::LayerNormOp>,
                 NormToLinalgPattern<norm::CRMSNormOp>, NormToLinalgPattern<norm::SkipRMSNormOp>,
                 NormToLinalgPattern<norm::SkipLayerNormOp>, NormToLinalgPattern<norm::RMSScaleOp>>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // What is left was refused: say why, once.
    getOperation().walk([](Operation *op) {
      if (auto parts = getParts(op))
        if (std::optional<std::string> reason = whyNot(*parts))
          norm::recordNormRefusal(op, kPassName, *reason);
    });
  }
};

} // namespace
