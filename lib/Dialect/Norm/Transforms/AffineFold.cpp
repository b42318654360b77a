//===- AffineFold.cpp - folding affine maps into linear layers ------------===//
#include "norm-opt/Dialect/Norm/Transforms/AffineFold.h"
#include "norm-opt/Dialect/Norm/Transforms/Readers.h"
#include "norm-opt/Dialect/Norm/Transforms/Report.h"

#include "norm-opt/Dialect/ONNX/IR/ONNXBuilder.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace mlir;
using namespace mlir::norm;
using namespace mlir::onnxir;

namespace {

/// A node's name for messages: `'name' (onnx.Op)` or `onnx.Op`.
std::string describe(Operation *op) {
  StringRef name = getNodeName(op);
  std::string kind = op->getName().getStringRef().str();
  if (auto node = dyn_cast<NodeOp>(op))
    kind = node.getOpType().str();
  if (name.empty())
    return kind;
  return ("'" + name + "' (" + kind + ")").str();
}

/// A static 2-D float tensor type, or null.
RankedTensorType static2D(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getRank() != 2 || !type.hasStaticShape() ||
      !isa<FloatType>(type.getElementType()))
    return {};
  return type;
}

/// A name to derive new tensor names from: the node name, else the first
/// ONNX output name, else "linear".
std::string baseNameOf(Operation *op) {
  StringRef name = getNodeName(op);
  if (!name.empty())
    return name.str();
  if (auto outputs = op->getAttrOfType<ArrayAttr>(kOutputNamesAttr))
    if (!outputs.empty() && !cast<StringAttr>(outputs[0]).getValue().empty())
      return cast<StringAttr>(outputs[0]).str();
  return "linear";
}

/// The name of the initializer behind `v`, else "".
StringRef initializerName(Value v) {
  Operation *def = v.getDefiningOp();
  while (def && isa<IdentityOp, TransposeOp>(def))
    def = def->getOperand(0).getDefiningOp();
  if (auto init = dyn_cast_or_null<InitializerOp>(def))
    return init.getName();
  return "";
}

/// Whether a Transpose swaps the two dims of a 2-D tensor.
bool isMatrixTranspose(TransposeOp op) {
  auto perm = op.getPerm();
  return !perm || (perm->size() == 2 && (*perm)[0] == 1 && (*perm)[1] == 0);
}

/// Whether `v` is a constant that the model's user cannot override (an
/// initializer also listed as a graph input can be fed at run time).
bool isFixedConstant(Value v) {
  if (!getConstantValue(v))
    return false;
  Operation *def = v.getDefiningOp();
  while (auto identity = dyn_cast_or_null<IdentityOp>(def))
    def = identity.getInput().getDefiningOp();
  auto init = dyn_cast_or_null<InitializerOp>(def);
  return !init || !init.getIsInput();
}

/// The constant behind a weight operand, looking through one 2-D Transpose;
/// `transposed` says whether it was.
Value weightConstantOf(Value weight, bool &transposed) {
  transposed = false;
  if (isFixedConstant(weight))
    return weight;
  if (auto transpose = weight.getDefiningOp<TransposeOp>())
    if (isMatrixTranspose(transpose) && static2D(transpose.getData()) &&
        isFixedConstant(transpose.getData())) {
      transposed = true;
      return transpose.getData();
    }
  return {};
}

/// Whether `bias` adds the same values to every row of an `[..., N]` result
/// of rank `rank` (shape `[N]`, `[1, ..., N]`, `[1]` or scalar).
bool isRowBias(Value bias, int64_t n, int64_t rank) {
  auto type = dyn_cast<RankedTensorType>(bias.getType());
  if (!type || !type.hasStaticShape() || type.getRank() > rank)
    return false;
  ArrayRef<int64_t> shape = type.getShape();
  for (size_t i = 0; i + 1 < shape.size(); ++i)
    if (shape[i] != 1)
      return false;
  return shape.empty() || shape.back() == n || shape.back() == 1;
}

float getGemmAttr(Operation *op, StringRef name) {
  if (auto attr = op->getAttrOfType<FloatAttr>(name))
    return attr.getValueAsDouble();
  return 1.0f;
}

} // namespace

FailureOr<LinearLayer> LinearLayer::match(Operation *user, unsigned index,
                                          std::string &reason) {
  LinearLayer layer;
  layer.op = user;
  Value weight;
  if (auto matmul = dyn_cast<MatMulOp>(user)) {
    weight = matmul.getRhs();
  } else if (auto gemm = dyn_cast<GemmOp>(user)) {
    layer.isGemm = true;
    weight = gemm.getB();
    if (gemm.getTransA().value_or(0) != 0) {
      reason = describe(user) + " reads it transposed (transA = 1)";
      return failure();
    }
    if (getGemmAttr(user, "alpha") == 0.0f) {
      reason = describe(user) + " has alpha = 0";
      return failure();
    }
  } else {
    reason = describe(user) + " is not a linear layer";
    return failure();
  }
  if (index != 0) {
    reason = describe(user) + " reads it as its weight operand";
    return failure();
  }
  if (weight == user->getOperand(0)) {
    reason = describe(user) + " multiplies it by itself";
    return failure();
  }
  bool transposed;
  layer.weightOperand = weight;
  layer.weightConstant = weightConstantOf(weight, transposed);
  if (!layer.weightConstant) {
    reason = describe(user) + " has a weight that is not a constant";
    return failure();
  }
  RankedTensorType type = static2D(layer.weightConstant);
  if (!type) {
    reason = describe(user) + " has a weight that is not a static 2-D float matrix";
    return failure();
  }
  bool transB = layer.isGemm && cast<GemmOp>(user).getTransB().value_or(0) != 0;
  layer.storedTransposed = transposed != transB;
  layer.k = type.getDimSize(layer.storedTransposed ? 1 : 0);
  layer.n = type.getDimSize(layer.storedTransposed ? 0 : 1);

  if (layer.isGemm) {
    Value c = cast<GemmOp>(user).getC();
    if (c && !isa<NoneType>(c.getType())) {
      if (!isFixedConstant(c)) {
        reason = describe(user) + " has a bias that is not a constant";
        return failure();
      }
      if (!isRowBias(c, layer.n, 2)) {
        reason = describe(user) + " has a bias that differs between rows";
        return failure();
      }
      layer.biasValue = c;
    }
    return layer;
  }
  // A MatMul's bias is the Add that alone reads its product, when the other
  // operand is a row bias constant.
  Value product = user->getResult(0);
  auto productType = dyn_cast<RankedTensorType>(product.getType());
  if (product.hasOneUse() && productType)
    if (auto add = dyn_cast<AddOp>(*product.getUsers().begin())) {
      Value other = add.getLhs() == product ? add.getRhs() : add.getLhs();
      if (other != product && isFixedConstant(other) &&
          isRowBias(other, layer.n, productType.getRank()) &&
          add.getType() == product.getType()) {
        layer.biasAdd = add;
        layer.biasValue = other;
      }
    }
  return layer;
}

Value LinearLayer::getProduct() const { return op->getResult(0); }

Value LinearLayer::getOutput() const {
  return biasAdd ? biasAdd->getResult(0) : op->getResult(0);
}

Type LinearLayer::getWeightElementType() const {
  return cast<ShapedType>(weightConstant.getType()).getElementType();
}

std::vector<double> LinearLayer::readWeight() const {
  std::vector<double> stored = *getConstantAsDoubles(weightConstant);
  if (!storedTransposed)
    return stored;
  std::vector<double> w(k * n);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c)
      w[c * n + r] = stored[r * k + c];
  return w;
}

std::vector<double> LinearLayer::readBias() const {
  std::vector<double> bias(n, 0.0);
  if (!biasValue)
    return bias;
  std::vector<double> stored = *getConstantAsDoubles(biasValue);
  double factor = 1.0;
  if (isGemm)
    factor = getGemmAttr(op, "beta") / double(getGemmAttr(op, "alpha"));
  for (int64_t j = 0; j < n; ++j)
    bias[j] = factor * stored[stored.size() == 1 ? 0 : j];
  return bias;
}

void LinearLayer::replaceWeight(RewriterBase &rewriter, ArrayRef<double> weight,
                                StringRef suffix) const {
  assert(int64_t(weight.size()) == k * n && "weight of the wrong size");
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  // A Gemm keeps its transB layout; a MatMul reads the new weight directly,
  // dropping a Transpose it read through.
  bool keepTransposed = isGemm && cast<GemmOp>(op).getTransB().value_or(0) != 0;
  std::vector<double> stored(weight.begin(), weight.end());
  SmallVector<int64_t> shape{k, n};
  if (keepTransposed) {
    shape = {n, k};
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < n; ++c)
        stored[c * k + r] = weight[r * n + c];
  }
  StringRef base = initializerName(weightOperand);
  std::string name = (base.empty() ? baseNameOf(op) : base.str()) + suffix.str();
  Value newWeight = createFloatInitializer(rewriter, weightOperand.getLoc(), name,
                                           getWeightElementType(), shape, stored);
  Value old = weightOperand;
  rewriter.modifyOpInPlace(op, [&] { op->setOperand(1, newWeight); });
  eraseIfUnused(rewriter, old);
}

void LinearLayer::replaceBias(RewriterBase &rewriter, ArrayRef<double> bias,
                              StringRef suffix) {
  assert(int64_t(bias.size()) == n && "bias of the wrong size");
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  Type elementType = cast<ShapedType>(getProduct().getType()).getElementType();
  StringRef base = biasValue ? initializerName(biasValue) : StringRef();
  std::string name =
      (base.empty() ? baseNameOf(op) + "/bias" : base.str()) + suffix.str();
  Location loc = biasValue ? biasValue.getLoc() : op->getLoc();
  if (isGemm) {
    // y = alpha * (x W + c): C = alpha * c with beta = 1.
    double alpha = getGemmAttr(op, "alpha");
    std::vector<double> scaled(bias.begin(), bias.end());
    for (double &v : scaled)
      v *= alpha;
    Value c = createFloatInitializer(rewriter, loc, name, elementType, {n}, scaled);
    Value old = biasValue;
    rewriter.modifyOpInPlace(op, [&] {
      auto gemm = cast<GemmOp>(op);
      if (gemm.getC())
        gemm.getCMutable().assign(c);
      else
        gemm.getCMutable().append(c);
      gemm.removeBetaAttr();
    });
    biasValue = c;
    eraseIfUnused(rewriter, old);
    return;
  }
  Value c = createFloatInitializer(rewriter, loc, name, elementType, {n}, bias);
  if (biasAdd) {
    Value old = biasValue;
    unsigned index = biasAdd->getOperand(0) == old ? 0 : 1;
    rewriter.modifyOpInPlace(biasAdd, [&] { biasAdd->setOperand(index, c); });
    biasValue = c;
    eraseIfUnused(rewriter, old);
    return;
  }
  // A MatMul without a bias gains an Add that every former reader reads.
  rewriter.setInsertionPointAfter(op);
  Value product = getProduct();
  auto add = AddOp::create(rewriter, derivedNodeLoc(op->getLoc(), "bias"),
                           product.getType(), product, c);
  rewriter.replaceAllUsesExcept(product, add.getResult(), add);
  // The ONNX name of the product moves to the Add, which now produces what
  // the readers (maybe graph outputs) saw.
  if (auto names = op->getAttr(kOutputNamesAttr)) {
    add->setAttr(kOutputNamesAttr, names);
    auto renamed = ArrayAttr::get(
        op->getContext(),
        {StringAttr::get(op->getContext(),
                         cast<StringAttr>(cast<ArrayAttr>(names)[0]).str() + "_nobias")});
    rewriter.modifyOpInPlace(op, [&] { op->setAttr(kOutputNamesAttr, renamed); });
  }
  biasAdd = add;
  biasValue = c;
}

FailureOr<SmallVector<LinearLayer>>
mlir::norm::matchLinearReaders(Value value, std::string &reason,
                               std::optional<int64_t> hidden) {
  SmallVector<LinearLayer> layers;
  ReaderTree readers = collectReaders(value, hidden);
  if (readers.leaves.empty()) {
    reason = readers.shapeOnly.empty() ? "the value has no readers"
                                       : "the value is only read for its shape";
    return failure();
  }
  for (OpOperand *use : readers.leaves) {
    Operation *user = use->getOwner();
    if (isa<func::ReturnOp>(user)) {
      reason = "the value is a graph output";
      return failure();
    }
    FailureOr<LinearLayer> layer =
        LinearLayer::match(user, use->getOperandNumber(), reason);
    if (failed(layer))
      return failure();
    layers.push_back(*layer);
  }
  return layers;
}

FailureOr<std::vector<double>> mlir::norm::readLastDimVector(Value weight, int64_t k,
                                                            std::string &reason) {
  auto type = dyn_cast<RankedTensorType>(weight.getType());
  std::optional<std::vector<double>> values = getConstantAsDoubles(weight);
  if (!type || !type.hasStaticShape() || !values) {
    reason = "its weight is not a constant";
    return failure();
  }
  ArrayRef<int64_t> shape = type.getShape();
  for (size_t i = 0; i + 1 < shape.size(); ++i)
    if (shape[i] != 1) {
      reason = "its weight varies along a normalized dim other than the last";
      return failure();
    }
  if (values->size() == 1)
    return std::vector<double>(k, values->front());
  if (int64_t(values->size()) != k) {
    reason = llvm::formatv("its weight has {0} values for a hidden size of {1}",
                           values->size(), k)
                 .str();
    return failure();
  }
  return *values;
}

LogicalResult mlir::norm::checkAffineFold(ArrayRef<LinearLayer> readers,
                                          const ChannelAffine &map, std::string &reason) {
  for (const LinearLayer &layer : readers)
    if (layer.getInputSize() != int64_t(map.gain.size())) {
      reason = llvm::formatv("{0} has a weight of {1} rows for a hidden size of {2}",
                             describe(layer.getOp()), layer.getInputSize(),
                             map.gain.size())
                   .str();
      return failure();
    }
  return success();
}

bool mlir::norm::checkRounding(Type elementType, ArrayRef<double> exact,
                               PrecisionLoss &loss) {
  loss.elementType = elementType;
  auto floatType = dyn_cast<FloatType>(elementType);
  if (!floatType || floatType.isF64())
    return false;
  const llvm::fltSemantics &semantics = floatType.getFloatSemantics();
  // Unit roundoff 2^-p of a p-bit significand: a normal value never rounds
  // with a larger relative error.
  double unitRoundoff =
      std::ldexp(1.0, -int(llvm::APFloat::semanticsPrecision(semantics)));
  for (double v : exact) {
    llvm::APFloat f(v);
    bool lostInfo;
    f.convert(semantics, llvm::APFloat::rmNearestTiesToEven, &lostInfo);
    if (f.isInfinity() && std::isfinite(v)) {
      ++loss.overflowed;
      continue;
    }
    if (v == 0)
      continue;
    double rel = std::fabs(f.convertToDouble() - v) / std::fabs(v);
    loss.maxRelativeError = std::max(loss.maxRelativeError, rel);
    if (rel > unitRoundoff)
      ++loss.imprecise;
  }
  return loss.overflowed || loss.imprecise;
}

SmallVector<PrecisionLoss> mlir::norm::foldAffineIntoReaders(
    RewriterBase &rewriter, MutableArrayRef<LinearLayer> readers, const ChannelAffine &map) {
  SmallVector<PrecisionLoss> losses;
  bool hasShift = llvm::any_of(map.shift, [](double v) { return v != 0.0; });
  for (LinearLayer &layer : readers) {
    int64_t k = layer.getInputSize(), n = layer.getOutputSize();
    std::vector<double> w = layer.readWeight();
    std::vector<double> bias;
    if (hasShift) {
      // c' = c + shift W, from the unscaled W.
      bias = layer.readBias();
      for (int64_t r = 0; r < k; ++r)
        if (double s = map.shift[r])
          for (int64_t c = 0; c < n; ++c)
            bias[c] += s * w[r * n + c];
    }
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < n; ++c)
        w[r * n + c] *= map.gain[r];

    Type elementType = layer.getWeightElementType();
    PrecisionLoss weightLoss{layer.getOp(), "weight"};
    if (checkRounding(elementType, w, weightLoss))
      losses.push_back(weightLoss);
    layer.replaceWeight(rewriter, w, "_folded");
    if (hasShift) {
      PrecisionLoss biasLoss{layer.getOp(), "bias"};
      if (checkRounding(cast<ShapedType>(layer.getProduct().getType()).getElementType(),
                        bias, biasLoss))
        losses.push_back(biasLoss);
      layer.replaceBias(rewriter, bias, "_folded");
    }
  }
  return losses;
}

void mlir::norm::eraseIfUnused(RewriterBase &rewriter, ArrayRef<Value> values) {
  llvm::SetVector<Operation *> worklist;
  for (Value value : values)
    if (Operation *def = value.getDefiningOp())
      worklist.insert(def);
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (!isa<InitializerOp, ConstantOp, IdentityOp, TransposeOp, NoneOp>(op) ||
        !op->use_empty())
      continue;
    Operation *input =
        op->getNumOperands() ? op->getOperand(0).getDefiningOp() : nullptr;
    rewriter.eraseOp(op);
    if (input)
      worklist.insert(input);
  }
}

static const char *typeName(Type type) {
  if (type.isF16())
    return "fp16";
  if (type.isBF16())
    return "bf16";
  if (type.isF32())
    return "fp32";
  return "float";
}

void mlir::norm::warnPrecisionLosses(Operation *norm, StringRef pass,
                                     ArrayRef<PrecisionLoss> losses) {
  for (const PrecisionLoss &loss : losses) {
    std::string message = llvm::formatv(
        "folded {0} of '{1}' loses precision in {2}: {3} value(s) overflow, "
        "{4} round with relative error above the unit roundoff (max {5:e2})",
        loss.what, getNodeName(loss.layer), typeName(loss.elementType),
        loss.overflowed, loss.imprecise, loss.maxRelativeError);
    norm->emitWarning() << pass << ": " << message;
    recordNormAction(norm, pass, "warning", message);
  }
}

//===----------------------------------------------------------------------===//
// Centering
//===----------------------------------------------------------------------===//

void mlir::norm::centerAlongAxis(MutableArrayRef<double> values,
                                 ArrayRef<int64_t> shape, int64_t axis) {
  int64_t n = shape.empty() ? 1 : shape[axis];
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < int64_t(shape.size()); ++d)
    inner *= shape[d];
  int64_t outer = n == 0 ? 0 : int64_t(values.size()) / (n * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double *base = values.data() + o * n * inner + i;
      double sum = 0;
      for (int64_t k = 0; k < n; ++k)
        sum += base[k * inner];
      double mean = sum / double(n);
      for (int64_t k = 0; k < n; ++k)
        base[k * inner] -= mean;
    }
}

/// Named after the initializer behind the weight, else its producing node.
static std::string derivedWeightName(Value value, StringRef suffix) {
  StringRef base = initializerName(value);
  std::string name = !base.empty() ? base.str() : baseNameOf(value.getDefiningOp());
  return name + "_" + suffix.str();
}

/// `values` (row-major, `shape`) without the last entry along `axis`.
static std::vector<double> dropLastAlongAxis(ArrayRef<double> values,
                                             ArrayRef<int64_t> shape, int64_t axis) {
  int64_t n = shape[axis], inner = 1;
  for (int64_t d = axis + 1; d < int64_t(shape.size()); ++d)
    inner *= shape[d];
  std::vector<double> kept;
  kept.reserve(values.size() / n * (n - 1));
  for (size_t i = 0; i < values.size(); ++i)
    if ((int64_t(i) / inner) % n != n - 1)
      kept.push_back(values[i]);
  return kept;
}

FailureOr<Value> mlir::norm::createCenteredConstant(OpBuilder &builder,
                                                    Value value, int64_t axis,
                                                    bool dropLast) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  std::optional<std::vector<double>> values = getConstantAsDoubles(value);
  Operation *def = value.getDefiningOp();
  if (!type || !type.hasStaticShape() || !values || !def ||
      !isa<FloatType>(type.getElementType()))
    return emitError(value.getLoc(), "cannot center a weight that is not a "
                                     "float constant of static shape");
  SmallVector<int64_t> shape(type.getShape());
  bool alongHidden = axis >= 0 && axis < type.getRank() && shape[axis] > 1;
  if (alongHidden)
    centerAlongAxis(*values, shape, axis);
  else
    std::fill(values->begin(), values->end(), 0.0); // Broadcast: its own mean.
  if (dropLast && alongHidden) {
    *values = dropLastAlongAxis(*values, shape, axis);
    --shape[axis];
  }
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPoint(def);
  return createFloatInitializer(builder, def->getLoc(),
                                derivedWeightName(value, dropLast ? "compressed" : "centered"),
                                type.getElementType(), shape, *values);
}


//===----------------------------------------------------------------------===//
// Output-channel folds (BatchNorm into its producer)
//===----------------------------------------------------------------------===//

LogicalResult mlir::norm::checkOutputAffineFold(const LinearLayer &layer,
                                                const ChannelAffine &map,
                                                std::string &reason) {
  if (layer.getOutputSize() != int64_t(map.gain.size())) {
    reason = llvm::formatv("{0} has {1} outputs for {2} channels",
                           describe(layer.getOp()), layer.getOutputSize(),
                           map.gain.size())
                 .str();
    return failure();
  }
  return success();
}

SmallVector<PrecisionLoss> mlir::norm::foldAffineIntoOutputs(RewriterBase &rewriter,
                                                             LinearLayer &layer,
                                                             const ChannelAffine &map) {
  SmallVector<PrecisionLoss> losses;
  int64_t k = layer.getInputSize(), n = layer.getOutputSize();
  std::vector<double> w = layer.readWeight();
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c)
      w[r * n + c] *= map.gain[c];
  // A Gemm computes alpha * (x W + c): the shift enters c divided by alpha.
  double alpha = isa<GemmOp>(layer.getOp()) ? getGemmAttr(layer.getOp(), "alpha") : 1.0;
  bool hasShift = llvm::any_of(map.shift, [](double v) { return v != 0.0; });
  std::vector<double> bias = layer.readBias();
  for (int64_t c = 0; c < n; ++c)
    bias[c] = map.gain[c] * bias[c] + (hasShift ? map.shift[c] / alpha : 0.0);

  PrecisionLoss weightLoss{layer.getOp(), "weight"};
  if (checkRounding(layer.getWeightElementType(), w, weightLoss))
    losses.push_back(weightLoss);
  layer.replaceWeight(rewriter, w, "_folded");
  if (layer.hasBias() || hasShift) {
    PrecisionLoss biasLoss{layer.getOp(), "bias"};
    if (checkRounding(cast<ShapedType>(layer.getProduct().getType()).getElementType(), bias,
                      biasLoss))
      losses.push_back(biasLoss);
    layer.replaceBias(rewriter, bias, "_folded");
  }
  return losses;
}

namespace {
/// A static-shaped float tensor type, or null.
RankedTensorType staticFloat(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || !type.hasStaticShape() || !isa<FloatType>(type.getElementType()))
    return {};
  return type;
}

/// The bias operand of a Conv or ConvTranspose, or null when omitted.
Value convBias(Operation *conv) {
  Value b = isa<ConvOp>(conv) ? cast<ConvOp>(conv).getB() : cast<ConvTransposeOp>(conv).getB();
  if (!b || isa<NoneType>(b.getType()))
    return {};
  return b;
}
} // namespace

FailureOr<int64_t> mlir::norm::matchConvOutputChannels(Operation *conv, std::string &reason) {
  if (!isa<ConvOp, ConvTransposeOp>(conv)) {
    reason = describe(conv) + " is not a Conv or ConvTranspose";
    return failure();
  }
  Value w = conv->getOperand(1);
  RankedTensorType type = staticFloat(w);
  if (!isFixedConstant(w) || !type || type.getRank() < 2) {
    reason = describe(conv) + " has a weight that is not a static float constant";
    return failure();
  }
  auto groupAttr = conv->getAttrOfType<IntegerAttr>("group");
  int64_t group = groupAttr ? groupAttr.getInt() : 1;
  if (group < 1 || (isa<ConvTransposeOp>(conv) && type.getDimSize(0) % group != 0)) {
    reason = describe(conv) + " has a group count that does not divide its channels";
    return failure();
  }
  int64_t channels =
      isa<ConvOp>(conv) ? type.getDimSize(0) : type.getDimSize(1) * group;
  if (Value b = convBias(conv)) {
    RankedTensorType biasType = staticFloat(b);
    if (!isFixedConstant(b) || !biasType || biasType.getNumElements() != channels) {
      reason = describe(conv) + " has a bias that is not a constant of one value per channel";
      return failure();
    }
  }
  return channels;
}

SmallVector<PrecisionLoss> mlir::norm::foldAffineIntoConvOutputs(RewriterBase &rewriter,
                                                                 Operation *conv,
                                                                 const ChannelAffine &map) {
  SmallVector<PrecisionLoss> losses;
  Value weight = conv->getOperand(1);
  auto type = cast<RankedTensorType>(weight.getType());
  std::vector<double> w = *getConstantAsDoubles(weight);
  int64_t dim0 = type.getDimSize(0), dim1 = type.getDimSize(1);
  int64_t inner = type.getNumElements() / (dim0 * dim1);
  auto groupAttr = conv->getAttrOfType<IntegerAttr>("group");
  int64_t group = groupAttr ? groupAttr.getInt() : 1;
  for (int64_t i = 0; i < dim0; ++i)
    for (int64_t j = 0; j < dim1; ++j) {
      // Conv: W[o, i/g, k...] feeds output channel o. ConvTranspose:
      // W[i, o mod (C_out/g), k...] feeds output channel
      // (i / (C_in/g)) * (C_out/g) + j, the group of input channel i.
      int64_t channel = isa<ConvOp>(conv) ? i : (i / (dim0 / group)) * dim1 + j;
      double g = map.gain[channel];
      for (int64_t e = 0; e < inner; ++e)
        w[(i * dim1 + j) * inner + e] *= g;
    }
  int64_t channels = map.gain.size();
  std::vector<double> bias(channels, 0.0);
  Value oldBias = convBias(conv);
  if (oldBias) {
    std::vector<double> stored = *getConstantAsDoubles(oldBias);
    for (int64_t c = 0; c < channels; ++c)
      bias[c] = map.gain[c] * stored[c];
  }
  bool hasShift = llvm::any_of(map.shift, [](double v) { return v != 0.0; });
  if (hasShift)
    for (int64_t c = 0; c < channels; ++c)
      bias[c] += map.shift[c];

  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(conv);
  Type elementType = type.getElementType();
  PrecisionLoss weightLoss{conv, "weight"};
  if (checkRounding(elementType, w, weightLoss))
    losses.push_back(weightLoss);
  StringRef base = initializerName(weight);
  std::string name = (base.empty() ? baseNameOf(conv) + "/weight" : base.str()) + "_folded";
  Value newWeight = createFloatInitializer(rewriter, weight.getLoc(), name, elementType,
                                           type.getShape(), w);
  rewriter.modifyOpInPlace(conv, [&] { conv->setOperand(1, newWeight); });
  eraseIfUnused(rewriter, weight);
  if (!oldBias && !hasShift)
    return losses;

  Type biasType = oldBias ? cast<ShapedType>(oldBias.getType()).getElementType() : elementType;
  PrecisionLoss biasLoss{conv, "bias"};
  if (checkRounding(biasType, bias, biasLoss))
    losses.push_back(biasLoss);
  base = oldBias ? initializerName(oldBias) : StringRef();
  name = (base.empty() ? baseNameOf(conv) + "/bias" : base.str()) + "_folded";
  Value newBias = createFloatInitializer(rewriter, oldBias ? oldBias.getLoc() : conv->getLoc(),
                                         name, biasType, {channels}, bias);
  // The replaced operand is the old bias or an `onnx.none` placeholder.
  Value oldOperand = conv->getNumOperands() > 2 ? conv->getOperand(2) : Value();
  rewriter.modifyOpInPlace(conv, [&] {
    if (oldOperand)
      conv->setOperand(2, newBias);
    else if (auto c = dyn_cast<ConvOp>(conv))
      c.getBMutable().append(newBias);
    else
      cast<ConvTransposeOp>(conv).getBMutable().append(newBias);
  });
  eraseIfUnused(rewriter, oldOperand);
  return losses;
}
