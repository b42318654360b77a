//===- AffineFold.cpp - folding affine maps into linear layers ------------===//
#include "norm-opt/Dialect/Norm/Transforms/AffineFold.h"
#include "norm-opt/Dialect/Norm/Transforms/Readers.h"
#include "norm-opt/Dialect/Norm/Transforms/Report.h"

#include "norm-opt/Dialect/ONNX/IR/ONNXBuilder.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXTypes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"

#include "mlir/IR/Threading.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

using namespace mlir;
using namespace mlir::norm;
using namespace mlir::onnxir;

namespace {

/// A node's name for messages: `'name' (onnx.Op)`, or for an unnamed node
/// `onnx.Op producing 'output'`.
std::string describe(Operation *op) {
  StringRef name = getNodeName(op);
  std::string kind = op->getName().getStringRef().str();
  if (auto node = dyn_cast<NodeOp>(op))
    kind = node.getOpType().str();
  if (!name.empty())
    return ("'" + name + "' (" + kind + ")").str();
  if (auto outputs = op->getAttrOfType<ArrayAttr>(kOutputNamesAttr))
    if (!outputs.empty())
      if (auto output = dyn_cast<StringAttr>(outputs[0]); output && !output.empty())
        return kind + " producing '" + output.str() + "'";
  return kind;
}

/// Why norm-opt cannot rewrite a weight of `type`, or "".
std::string unsupportedWeightReason(Operation *op, Type elementType) {
  if (getFloatFormat(elementType))
    return "";
  std::string text;
  llvm::raw_string_ostream os(text);
  os << describe(op) << " has a weight of element type " << elementType
     << ", which norm-opt does not rewrite (fp32, fp16, bf16 and fp64 only)";
  return text;
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

//===----------------------------------------------------------------------===//
// Streaming weights: a new weight is written once, block of rows by block of
// rows, straight from the old one (no float64 copy of a whole matrix)
//===----------------------------------------------------------------------===//

namespace {

/// A constant float tensor's stored bytes, viewed where they are (copied
/// only when the attribute is a splat).
struct StoredTensor {
  ArrayRef<char> bytes;
  std::vector<char> storage;
  FloatFormat format = FloatFormat::F32;
  RankedTensorType type;

  LogicalResult init(Value value) {
    ElementsAttr attr = getConstantValue(value);
    type = attr ? dyn_cast<RankedTensorType>(attr.getType()) : RankedTensorType();
    if (!type || !type.hasStaticShape())
      return failure();
    std::optional<FloatFormat> stored = getFloatFormat(type.getElementType());
    if (!stored)
      return failure();
    format = *stored;
    bytes = getRawBytes(attr, storage);
    if (bytes.size() != size_t(type.getNumElements()) * getByteWidth(format))
      return failure();
    return success();
  }
  size_t width() const { return getByteWidth(format); }
};

/// Rows per block: enough to amortize the per-block work, at most ~16 MB of
/// float64 per block (two blocks are in flight on two cores).
int64_t rowsPerBlock(int64_t cols) {
  return std::clamp<int64_t>((int64_t(16) << 20) / (std::max<int64_t>(cols, 1) * 8), 1, 64);
}

/// `W' = diag(rowGain) W diag(colGain)` for a logical `[K, N]` matrix `W`,
/// read as stored (`[K, N]`, or `[N, K]` when `srcTransposed`) and written
/// in the layout the new weight has; `outputOffset[n]`, when given, is then
/// subtracted from every `W'[k, n]` (centering: see scaledColumnMeans). With
/// `shift`, also `shiftProduct[n] = sum_k shift[k] W[k, n]` of the unscaled
/// `W`.
struct MatrixFold {
  int64_t k = 0, n = 0;
  ArrayRef<double> rowGain, colGain, shift, outputOffset;
  bool srcTransposed = false, dstTransposed = false;
};

/// `(1/K) sum_k rowGain[k] W[k, n]` for every `n`: the offsets that center
/// the columns of `diag(rowGain) W`, i.e. make it `P diag(rowGain) W`.
std::vector<double> scaledColumnMeans(const StoredTensor &src, const MatrixFold &fold) {
  int64_t rows = fold.srcTransposed ? fold.n : fold.k;
  int64_t cols = fold.srcTransposed ? fold.k : fold.n;
  std::vector<double> means(fold.n, 0.0), row(cols);
  size_t width = src.width();
  for (int64_t i = 0; i < rows; ++i) {
    decodeToDouble(src.format, src.bytes.data() + i * cols * width, row.data(), cols);
    if (fold.srcTransposed) { // row i is W[:, i]
      double sum = 0;
      for (int64_t j = 0; j < cols; ++j)
        sum += fold.rowGain[j] * row[j];
      means[i] = sum;
    } else {
      for (int64_t j = 0; j < cols; ++j)
        means[j] += fold.rowGain[i] * row[j];
    }
  }
  for (double &m : means)
    m /= double(fold.k);
  return means;
}

RoundingStats foldMatrix(MLIRContext *context, const StoredTensor &src, const MatrixFold &fold,
                         NewWeight &out, std::vector<double> &shiftProduct) {
  char *dst = out.getBytes().data();
  int64_t rows = fold.srcTransposed ? fold.n : fold.k;
  int64_t cols = fold.srcTransposed ? fold.k : fold.n;
  ArrayRef<double> gainOfRow = fold.srcTransposed ? fold.colGain : fold.rowGain;
  ArrayRef<double> gainOfCol = fold.srcTransposed ? fold.rowGain : fold.colGain;
  bool transpose = fold.srcTransposed != fold.dstTransposed;
  bool withShift = !fold.shift.empty();
  shiftProduct.assign(withShift ? fold.n : 0, 0.0);
  size_t width = src.width();
  int64_t block = rowsPerBlock(cols);
  int64_t blocks = (rows + block - 1) / block;

  std::mutex mutex;
  RoundingStats total;
  parallelFor(context, 0, blocks, [&](size_t b) {
    int64_t first = int64_t(b) * block, count = std::min(block, rows - first);
    // Float64 rows, uninitialized (each is decoded before it is read): the
    // whole block when it is transposed, else one row, reused, so that it
    // stays in cache.
    std::unique_ptr<double[]> values(new double[size_t((transpose ? count : 1) * cols)]);
    std::vector<double> columnShift(withShift && !fold.srcTransposed ? cols : 0, 0.0);
    // Same layout: the block's rows are one run of the new weight, encoded
    // here and written at once.
    std::unique_ptr<char[]> encoded(new char[transpose ? 0 : size_t(count * cols) * width]);
    RoundingStats stats;
    for (int64_t r = 0; r < count; ++r) {
      double *row = values.get() + (transpose ? r * cols : 0);
      int64_t i = first + r;
      decodeToDouble(src.format, src.bytes.data() + i * cols * width, row, cols);
      if (withShift) {
        if (fold.srcTransposed) { // row i is W[:, i]: one output's dot product
          double dot = 0;
          for (int64_t j = 0; j < cols; ++j)
            dot += fold.shift[j] * row[j];
          shiftProduct[i] = dot;
        } else if (double s = fold.shift[i]) {
          for (int64_t j = 0; j < cols; ++j)
            columnShift[j] += s * row[j];
        }
      }
      double rowScale = gainOfRow.empty() ? 1.0 : gainOfRow[i];
      if (gainOfCol.empty()) {
        for (int64_t j = 0; j < cols; ++j)
          row[j] *= rowScale;
      } else {
        for (int64_t j = 0; j < cols; ++j)
          row[j] *= rowScale * gainOfCol[j];
      }
      if (!fold.outputOffset.empty()) {
        if (fold.srcTransposed)
          for (int64_t j = 0; j < cols; ++j)
            row[j] -= fold.outputOffset[i];
        else
          for (int64_t j = 0; j < cols; ++j)
            row[j] -= fold.outputOffset[j];
      }
      if (!transpose)
        encodeFromDouble(src.format, row, encoded.get() + r * cols * width, cols, &stats);
    }
    if (!transpose)
      out.write(size_t(first * cols) * width,
                ArrayRef<char>(encoded.get(), size_t(count * cols) * width));
    if (transpose) {
      // Column j of this block is a run of `count` values of the new
      // weight's row j.
      std::vector<double> run(count);
      for (int64_t j = 0; j < cols; ++j) {
        for (int64_t r = 0; r < count; ++r)
          run[r] = values[r * cols + j];
        encodeFromDouble(src.format, run.data(), dst + (j * rows + first) * width, count,
                         &stats);
      }
    }
    std::lock_guard<std::mutex> lock(mutex);
    total.merge(stats);
    for (size_t j = 0; j < columnShift.size(); ++j)
      shiftProduct[j] += columnShift[j];
  });
  return total;
}

/// Writes into `dst` the tensor `src` viewed as `[outer, n, inner]` with
/// every fiber along the middle axis centered (its mean subtracted); with
/// `dropLast`, the last entry of each fiber is left out (`[outer, n-1,
/// inner]`).
void centerFibers(MLIRContext *context, const StoredTensor &src, int64_t outer, int64_t n,
                  int64_t inner, bool dropLast, NewWeight &out) {
  size_t width = src.width();
  int64_t kept = dropLast ? n - 1 : n;
  if (inner == 1) {
    // Each fiber is a stored row.
    int64_t block = rowsPerBlock(n);
    int64_t blocks = (outer + block - 1) / block;
    parallelFor(context, 0, blocks, [&](size_t b) {
      std::vector<double> row(n);
      for (int64_t o = int64_t(b) * block; o < std::min(outer, int64_t(b + 1) * block); ++o) {
        decodeToDouble(src.format, src.bytes.data() + o * n * width, row.data(), n);
        double sum = 0;
        for (double v : row)
          sum += v;
        double mean = sum / double(n);
        for (double &v : row)
          v -= mean;
        std::vector<char> encoded(kept * width);
        encodeFromDouble(src.format, row.data(), encoded.data(), kept);
        out.write(size_t(o * kept) * width, encoded);
      }
    });
    return;
  }
  // Fibers are strided: one pass for the means, one to write.
  std::vector<double> means(size_t(outer * inner), 0.0);
  std::vector<double> row(inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < n; ++k) {
      decodeToDouble(src.format, src.bytes.data() + (o * n + k) * inner * width, row.data(),
                     inner);
      double *sums = means.data() + o * inner;
      for (int64_t i = 0; i < inner; ++i)
        sums[i] += row[i];
    }
  for (double &m : means)
    m /= double(n);
  int64_t rows = outer * n;
  int64_t block = rowsPerBlock(inner);
  int64_t blocks = (rows + block - 1) / block;
  parallelFor(context, 0, blocks, [&](size_t b) {
    std::vector<double> values(inner);
    for (int64_t r = int64_t(b) * block; r < std::min(rows, int64_t(b + 1) * block); ++r) {
      int64_t o = r / n, k = r % n;
      if (k >= kept)
        continue;
      decodeToDouble(src.format, src.bytes.data() + r * inner * width, values.data(), inner);
      const double *mean = means.data() + o * inner;
      for (int64_t i = 0; i < inner; ++i)
        values[i] -= mean[i];
      std::vector<char> encoded(inner * width);
      encodeFromDouble(src.format, values.data(), encoded.data(), inner);
      out.write(size_t((o * kept + k) * inner) * width, encoded);
    }
  });
}

/// The loss to report for a folded tensor, if it lost more than rounding a
/// normal value can (its type's unit roundoff) or overflowed.
std::optional<PrecisionLoss> lossOf(Operation *layer, StringRef what, Type elementType,
                                    const RoundingStats &stats) {
  std::optional<FloatFormat> format = getFloatFormat(elementType);
  if (!format)
    return std::nullopt;
  if (stats.overflowed == 0 && stats.relativeError() <= getUnitRoundoff(*format))
    return std::nullopt;
  return PrecisionLoss{layer, what.str(), elementType, stats};
}

/// Rounds `values` to `elementType` as a whole-tensor figure (for the small
/// float64 vectors that become biases).
RoundingStats roundingOf(Type elementType, ArrayRef<double> values) {
  RoundingStats stats;
  std::optional<FloatFormat> format = getFloatFormat(elementType);
  if (!format)
    return stats;
  std::vector<char> scratch(values.size() * getByteWidth(*format));
  encodeFromDouble(*format, values.data(), scratch.data(), values.size(), &stats);
  return stats;
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

bool LinearLayer::newWeightTransposed() const {
  return isGemm && cast<GemmOp>(op).getTransB().value_or(0) != 0;
}

void LinearLayer::replaceWeight(RewriterBase &rewriter, Value newWeight) const {
  Value old = weightOperand;
  rewriter.modifyOpInPlace(op, [&] { op->setOperand(1, newWeight); });
  eraseIfUnused(rewriter, old);
}

std::string LinearLayer::newWeightName(StringRef suffix) const {
  StringRef base = initializerName(weightOperand);
  return (base.empty() ? baseNameOf(op) : base.str()) + suffix.str();
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
  // A layer's product (and bias sum) that shape inference left untyped (past
  // an op it does not know) is a tensor of its weight's element type: what
  // the fold builds on needs that type.
  for (LinearLayer &layer : layers)
    for (Value v : {layer.getProduct(), layer.getOutput()}) {
      if (isa<TensorType>(v.getType()))
        continue;
      if (llvm::any_of(v.getUsers(), [](Operation *u) { return isa<func::ReturnOp>(u); })) {
        reason = describe(layer.getOp()) + " computes a graph output of no tensor type";
        return failure();
      }
      v.setType(UnrankedTensorType::get(layer.getWeightElementType()));
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
  for (const LinearLayer &layer : readers) {
    reason = unsupportedWeightReason(layer.getOp(), layer.getWeightElementType());
    if (!reason.empty())
      return failure();
    if (layer.getInputSize() != int64_t(map.gain.size())) {
      reason = llvm::formatv("{0} has a weight of {1} rows for a hidden size of {2}",
                             describe(layer.getOp()), layer.getInputSize(),
                             map.gain.size())
                   .str();
      return failure();
    }
  }
  return success();
}

/// Replaces the weight of `layer` by `fold` of it (read from `src`), written
/// once in the layout the layer reads; adds its precision loss to `losses`.
static LogicalResult replaceWithFold(RewriterBase &rewriter, LinearLayer &layer,
                                     const StoredTensor &src, const MatrixFold &fold,
                                     std::vector<double> &shiftProduct,
                                     SmallVectorImpl<PrecisionLoss> &losses) {
  Operation *op = layer.getOp();
  Type elementType = layer.getWeightElementType();
  auto type = RankedTensorType::get(fold.dstTransposed ? ArrayRef<int64_t>{fold.n, fold.k}
                                                       : ArrayRef<int64_t>{fold.k, fold.n},
                                    elementType);
  RoundingStats stats;
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  FailureOr<Value> weight = createInitializer(
      rewriter, layer.getWeightConstant().getLoc(), layer.newWeightName("_folded"), type,
      [&](NewWeight &dst) { stats = foldMatrix(op->getContext(), src, fold, dst, shiftProduct); });
  if (failed(weight))
    return failure();
  if (auto loss = lossOf(op, "weight", elementType, stats))
    losses.push_back(*loss);
  layer.replaceWeight(rewriter, *weight);
  return success();
}

FailureOr<SmallVector<PrecisionLoss>>
mlir::norm::foldAffineIntoReaders(RewriterBase &rewriter, MutableArrayRef<LinearLayer> readers,
                                  const ChannelAffine &map) {
  SmallVector<PrecisionLoss> losses;
  bool hasShift = llvm::any_of(map.shift, [](double v) { return v != 0.0; });
  for (LinearLayer &layer : readers) {
    Operation *op = layer.getOp();
    StoredTensor src;
    if (failed(src.init(layer.getWeightConstant())))
      return op->emitError("cannot read the weight of ") << describe(op);
    int64_t k = layer.getInputSize(), n = layer.getOutputSize();
    MatrixFold fold;
    fold.k = k;
    fold.n = n;
    fold.rowGain = map.gain;
    if (hasShift)
      fold.shift = map.shift;
    fold.srcTransposed = layer.isStoredTransposed();
    fold.dstTransposed = layer.newWeightTransposed();
    std::vector<double> columnMeans;
    if (map.center) { // P diag(gain) W
      columnMeans = scaledColumnMeans(src, fold);
      fold.outputOffset = columnMeans;
    }
    std::vector<double> shiftProduct;
    if (failed(replaceWithFold(rewriter, layer, src, fold, shiftProduct, losses)))
      return failure();
    if (hasShift) {
      // c' = c + shift W, from the unscaled W.
      std::vector<double> bias = layer.readBias();
      for (int64_t j = 0; j < n; ++j)
        bias[j] += shiftProduct[j];
      Type biasType = cast<ShapedType>(layer.getProduct().getType()).getElementType();
      if (auto loss = lossOf(op, "bias", biasType, roundingOf(biasType, bias)))
        losses.push_back(*loss);
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

LogicalResult mlir::norm::warnPrecisionLosses(Operation *norm, StringRef pass,
                                              FailureOr<SmallVector<PrecisionLoss>> losses) {
  if (failed(losses))
    return failure();
  for (const PrecisionLoss &loss : *losses) {
    double unitRoundoff = getUnitRoundoff(*getFloatFormat(loss.elementType));
    std::string message =
        llvm::formatv("folded {0} of {1} in {2}: relative error {3:e2} (warning above {4:e2}), "
                      "{5} value(s) overflow",
                      loss.what, describe(loss.layer), typeName(loss.elementType),
                      loss.stats.relativeError(), unitRoundoff, loss.stats.overflowed)
            .str();
    norm->emitWarning() << pass << ": " << message;
    recordNormAction(norm, pass, "warning", message);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Centering
//===----------------------------------------------------------------------===//

/// Named after the initializer behind the weight, else its producing node.
static std::string derivedWeightName(Value value, StringRef suffix) {
  StringRef base = initializerName(value);
  std::string name = !base.empty() ? base.str() : baseNameOf(value.getDefiningOp());
  return name + "_" + suffix.str();
}

FailureOr<Value> mlir::norm::createCenteredConstant(OpBuilder &builder,
                                                    Value value, int64_t axis,
                                                    bool dropLast) {
  StoredTensor src;
  Operation *def = value.getDefiningOp();
  if (!def || failed(src.init(value)))
    return emitError(value.getLoc(), "cannot center a weight that is not a "
                                     "float constant of static shape");
  SmallVector<int64_t> shape(src.type.getShape());
  bool alongHidden = axis >= 0 && axis < src.type.getRank() && shape[axis] > 1;
  int64_t outer = 1, inner = 1, n = alongHidden ? shape[axis] : 1;
  if (alongHidden) {
    for (int64_t d = 0; d < axis; ++d)
      outer *= shape[d];
    for (int64_t d = axis + 1; d < src.type.getRank(); ++d)
      inner *= shape[d];
  }
  if (dropLast && alongHidden)
    --shape[axis];
  auto type = RankedTensorType::get(shape, src.type.getElementType());
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPoint(def);
  return createInitializer(
      builder, def->getLoc(), derivedWeightName(value, dropLast ? "compressed" : "centered"),
      type, [&](NewWeight &dst) {
        if (alongHidden)
          centerFibers(builder.getContext(), src, outer, n, inner, dropLast && alongHidden, dst);
        else // Broadcast along the axis: each value is its own mean.
          dst.write(0, std::vector<char>(size_t(type.getNumElements()) * src.width(), 0));
      });
}


//===----------------------------------------------------------------------===//
// Output-channel folds (BatchNorm into its producer)
//===----------------------------------------------------------------------===//

LogicalResult mlir::norm::checkOutputAffineFold(const LinearLayer &layer,
                                                const ChannelAffine &map,
                                                std::string &reason) {
  reason = unsupportedWeightReason(layer.getOp(), layer.getWeightElementType());
  if (!reason.empty())
    return failure();
  if (layer.getOutputSize() != int64_t(map.gain.size())) {
    reason = llvm::formatv("{0} has {1} outputs for {2} channels",
                           describe(layer.getOp()), layer.getOutputSize(),
                           map.gain.size())
                 .str();
    return failure();
  }
  return success();
}

FailureOr<SmallVector<PrecisionLoss>>
mlir::norm::foldAffineIntoOutputs(RewriterBase &rewriter, LinearLayer &layer,
                                  const ChannelAffine &map) {
  SmallVector<PrecisionLoss> losses;
  Operation *op = layer.getOp();
  StoredTensor src;
  if (failed(src.init(layer.getWeightConstant())))
    return op->emitError("cannot read the weight of ") << describe(op);
  int64_t k = layer.getInputSize(), n = layer.getOutputSize();
  MatrixFold fold;
  fold.k = k;
  fold.n = n;
  fold.colGain = map.gain;
  fold.srcTransposed = layer.isStoredTransposed();
  fold.dstTransposed = layer.newWeightTransposed();
  std::vector<double> unused;
  if (failed(replaceWithFold(rewriter, layer, src, fold, unused, losses)))
    return failure();
  // A Gemm computes alpha * (x W + c): the shift enters c divided by alpha.
  double alpha = isa<GemmOp>(op) ? getGemmAttr(op, "alpha") : 1.0;
  bool hasShift = llvm::any_of(map.shift, [](double v) { return v != 0.0; });
  std::vector<double> bias = layer.readBias();
  for (int64_t c = 0; c < n; ++c)
    bias[c] = map.gain[c] * bias[c] + (hasShift ? map.shift[c] / alpha : 0.0);
  if (layer.hasBias() || hasShift) {
    Type biasType = cast<ShapedType>(layer.getProduct().getType()).getElementType();
    if (auto loss = lossOf(op, "bias", biasType, roundingOf(biasType, bias)))
      losses.push_back(*loss);
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
  reason = unsupportedWeightReason(conv, type.getElementType());
  if (!reason.empty())
    return failure();
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

FailureOr<SmallVector<PrecisionLoss>>
mlir::norm::foldAffineIntoConvOutputs(RewriterBase &rewriter, Operation *conv,
                                      const ChannelAffine &map) {
  SmallVector<PrecisionLoss> losses;
  Value weight = conv->getOperand(1);
  StoredTensor src;
  if (failed(src.init(weight)))
    return conv->emitError("cannot read the weight of ") << describe(conv);
  RankedTensorType type = src.type;
  int64_t dim0 = type.getDimSize(0), dim1 = type.getDimSize(1);
  int64_t inner = type.getNumElements() / std::max<int64_t>(dim0 * dim1, 1);
  auto groupAttr = conv->getAttrOfType<IntegerAttr>("group");
  int64_t group = groupAttr ? groupAttr.getInt() : 1;
  // Conv: W[o, i/g, k...] feeds output channel o. ConvTranspose:
  // W[i, o mod (C_out/g), k...] feeds output channel
  // (i / (C_in/g)) * (C_out/g) + j, the group of input channel i.
  std::vector<double> gainOfRow(size_t(dim0 * dim1));
  for (int64_t i = 0; i < dim0; ++i)
    for (int64_t j = 0; j < dim1; ++j)
      gainOfRow[i * dim1 + j] =
          map.gain[isa<ConvOp>(conv) ? i : (i / (dim0 / group)) * dim1 + j];
  MatrixFold fold;
  fold.k = dim0 * dim1;
  fold.n = inner;
  fold.rowGain = gainOfRow;

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
  StringRef base = initializerName(weight);
  std::string name = (base.empty() ? baseNameOf(conv) + "/weight" : base.str()) + "_folded";
  RoundingStats stats;
  std::vector<double> unused;
  FailureOr<Value> newWeight =
      createInitializer(rewriter, weight.getLoc(), name, type, [&](NewWeight &dst) {
        stats = foldMatrix(conv->getContext(), src, fold, dst, unused);
      });
  if (failed(newWeight))
    return failure();
  if (auto loss = lossOf(conv, "weight", elementType, stats))
    losses.push_back(*loss);
  rewriter.modifyOpInPlace(conv, [&] { conv->setOperand(1, *newWeight); });
  eraseIfUnused(rewriter, weight);
  if (!oldBias && !hasShift)
    return losses;

  Type biasType = oldBias ? cast<ShapedType>(oldBias.getType()).getElementType() : elementType;
  if (auto loss = lossOf(conv, "bias", biasType, roundingOf(biasType, bias)))
    losses.push_back(*loss);
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
