//===- NormToLinalg.cpp - norm ops -> linalg on tensors -------------------===//
//
// The CPU path for norm numerics: each norm becomes at most four
// linalg.generic ops over the input's iteration space [d0, ..., dn):
// (skip) the residual sum, rounded to the activation type; a reduction over
// the normalized dims [axis, n) of x (LayerNorm) or x^2 (RMSNorm); for
// LayerNorm a second reduction of (x - mean)^2; and the elementwise
// normalization with the weights broadcast along the normalized dims.
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
  Value input, skip, scale, bias, skipBias;
  std::optional<int64_t> axis;
  double epsilon = 0;
  bool layerNorm = false, unitOffset = false;
};

std::optional<NormParts> getParts(Operation *op) {
  NormParts p;
  if (auto rms = dyn_cast<norm::RMSNormOp>(op)) {
    p = {rms.getInput(),
         {},
         rms.getScale(),
         {},
         {},
         rms.getNormalizedAxis(),
         rms.getEpsilon().convertToDouble(),
         false,
         rms.getUnitOffset()};
  } else if (auto ln = dyn_cast<norm::LayerNormOp>(op)) {
    p = {ln.getInput(),
         {},
         ln.getScale(),
         ln.getBias(),
         {},
         ln.getNormalizedAxis(),
         ln.getEpsilon().convertToDouble(),
         true,
         false};
  } else if (auto srms = dyn_cast<norm::SkipRMSNormOp>(op)) {
    p = {srms.getInput(),
         srms.getSkip(),
         srms.getScale(),
         {},
         srms.getSkipBias(),
         std::nullopt,
         srms.getEpsilon().convertToDouble(),
         false,
         false};
  } else if (auto sln = dyn_cast<norm::SkipLayerNormOp>(op)) {
    p = {sln.getInput(),
         sln.getSkip(),
         sln.getScale(),
         sln.getBias(),
         sln.getSkipBias(),
         std::nullopt,
         sln.getEpsilon().convertToDouble(),
         true,
         false};
  } else {
    return std::nullopt;
  }
  if (auto type = dyn_cast<RankedTensorType>(p.input.getType()); type && !p.axis)
    p.axis = type.getRank() - 1; // The skip norms normalize the last dim.
  return p;
}

/// Why `parts` cannot be lowered, or nullopt.
std::optional<std::string> whyNot(const NormParts &parts) {
  auto type = dyn_cast<RankedTensorType>(parts.input.getType());
  if (!type)
    return std::string("unranked input");
  if (ShapedType::isDynamicShape(type.getShape().drop_front(*parts.axis)))
    return "dynamic hidden size: the normalized dims of " + llvm::formatv("{0}", type).str() +
           " must be static";
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
    // Statistics in fp32, or in the input type when it is wider.
    stat = elem.getWidth() > 32 ? elem : b.getF32Type();
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

  /// A tensor of `shape`'s dims with the input's dynamic sizes.
  Value empty(ArrayRef<int64_t> dims, Type elementType) {
    SmallVector<int64_t> shape;
    SmallVector<Value> dynamic;
    for (int64_t d : dims) {
      shape.push_back(type.getDimSize(d));
      if (type.isDynamicDim(d))
        dynamic.push_back(tensor::DimOp::create(b, loc, parts.input, d));
    }
    return tensor::EmptyOp::create(b, loc, shape, elementType, dynamic);
  }
  AffineMap identity() { return b.getMultiDimIdentityMap(rank); }
  /// (d0, ..., dn) -> (d0, ..., d[axis-1]): the per-row statistics.
  AffineMap rowsMap() {
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < axis; ++d)
      exprs.push_back(b.getAffineDimExpr(d));
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
  /// Sum over the normalized dims of `term(x, extra...)`.
  Value reduce(ValueRange inputs, ArrayRef<AffineMap> inputMaps,
               function_ref<Value(OpBuilder &, Location, ValueRange)> term) {
    SmallVector<int64_t> rowDims;
    for (int64_t d = 0; d < axis; ++d)
      rowDims.push_back(d);
    Value init = linalg::FillOp::create(b, loc, constant(0), empty(rowDims, stat)).getResult(0);
    SmallVector<AffineMap> maps(inputMaps);
    maps.push_back(rowsMap());
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iterators(true), "", "",
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value t = term(nb, nloc, args.drop_back());
          linalg::YieldOp::create(nb, nloc,
                                  ValueRange{arith::AddFOp::create(nb, nloc, args.back(), t)});
        });
    return generic.getResult(0);
  }

  PatternRewriter &b;
  Location loc;
  const NormParts &parts;
  RankedTensorType type;
  int64_t rank, axis, hidden;
  FloatType elem;
  Type stat;
};

std::pair<Value, Value> NormLowering::lower() {
  SmallVector<int64_t> allDims;
  for (int64_t d = 0; d < rank; ++d)
    allDims.push_back(d);

  // The residual sum, a tensor of the activation type.
  Value x = parts.input, sum;
  if (parts.skip) {
    SmallVector<Value> inputs{parts.input, parts.skip};
    SmallVector<AffineMap> maps{identity(), identity()};
    if (parts.skipBias) {
      inputs.push_back(parts.skipBias);
      maps.push_back(weightMap(parts.skipBias));
    }
    maps.push_back(identity());
    Value init = empty(allDims, elem);
    sum = linalg::GenericOp::create(
              b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iterators(false),
              "", "",
              [&](OpBuilder &nb, Location nloc, ValueRange args) {
                Value acc = convert(args[0], stat);
                for (Value term : args.drop_front().drop_back())
                  acc = arith::AddFOp::create(nb, nloc, acc, convert(term, stat));
                linalg::YieldOp::create(nb, nloc, ValueRange{convert(acc, elem)});
              })
              .getResult(0);
    x = sum;
  }

  double invHidden = 1.0 / static_cast<double>(hidden);
  Value first = reduce(x, identity(), [&](OpBuilder &nb, Location nloc, ValueRange args) {
    Value v = convert(args[0], stat);
    return parts.layerNorm ? v : arith::MulFOp::create(nb, nloc, v, v).getResult();
  });
  Value second;
  if (parts.layerNorm)
    second = reduce({x, first}, {identity(), rowsMap()},
                    [&](OpBuilder &nb, Location nloc, ValueRange args) {
                      Value mean = arith::MulFOp::create(nb, nloc, args[1], constant(invHidden));
                      Value d = arith::SubFOp::create(nb, nloc, convert(args[0], stat), mean);
                      return arith::MulFOp::create(nb, nloc, d, d).getResult();
                    });

  SmallVector<Value> inputs{x, first};
  SmallVector<AffineMap> maps{identity(), rowsMap()};
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
  maps.push_back(identity());
  Value init = empty(allDims, elem);
  Value result = linalg::GenericOp::create(
                     b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
                     iterators(false), "", "",
                     [&](OpBuilder &nb, Location nloc, ValueRange args) {
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
                       linalg::YieldOp::create(nb, nloc, ValueRange{convert(y, elem)});
                     })
                     .getResult(0);
  return {result, sum};
}

/// One pattern for the four kinds: they differ only in the parts above.
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
    if (sum)
      rewriter.replaceOp(op, ValueRange{result, sum});
    else
      rewriter.replaceOp(op, result);
    return success();
  }
};

struct ConvertNormToLinalgPass : public impl::ConvertNormToLinalgBase<ConvertNormToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns
        .add<NormToLinalgPattern<norm::RMSNormOp>, NormToLinalgPattern<norm::LayerNormOp>,
             NormToLinalgPattern<norm::SkipRMSNormOp>, NormToLinalgPattern<norm::SkipLayerNormOp>>(
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
