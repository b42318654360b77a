//===- ONNXBuilder.cpp - creating ONNX nodes from passes ------------------===//
#include "norm-opt/Dialect/ONNX/IR/ONNXBuilder.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXTypes.h"
#include "norm-opt/Dialect/ONNX/IR/FloatCodec.h"
#include "norm-opt/Dialect/ONNX/IR/WeightStore.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace mlir::onnxir;

static Location fileOf(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getChildLoc();
  return loc;
}

Location mlir::onnxir::namedNodeLoc(Location base, StringRef name) {
  return NameLoc::get(StringAttr::get(base.getContext(), name), fileOf(base));
}

Location mlir::onnxir::derivedNodeLoc(Location base, StringRef suffix) {
  StringRef baseName;
  if (auto name = dyn_cast<NameLoc>(base))
    baseName = name.getName().getValue();
  std::string full = baseName.empty() ? suffix.str() : (baseName + "/" + suffix).str();
  return namedNodeLoc(base, full);
}

/// Float64 values rounded once to `elementType`.
static DenseElementsAttr floatElements(Type elementType, ArrayRef<int64_t> shape,
                                       ArrayRef<double> values) {
  auto type = RankedTensorType::get(shape, elementType);
  if (std::optional<FloatFormat> format = getFloatFormat(elementType)) {
    std::vector<char> bytes(values.size() * getByteWidth(*format));
    encodeFromDouble(*format, values.data(), bytes.data(), values.size());
    return denseFromRawBytes(type, bytes);
  }
  // Other float types (fp8, ...): APFloat, one value at a time.
  auto floatType = cast<FloatType>(elementType);
  SmallVector<APFloat> converted;
  converted.reserve(values.size());
  for (double v : values) {
    APFloat f(v);
    bool lostInfo;
    f.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lostInfo);
    converted.push_back(f);
  }
  return DenseElementsAttr::get(type, converted);
}

Value mlir::onnxir::createFloatConstant(OpBuilder &b, Location loc, Type elementType,
                                        ArrayRef<int64_t> shape,
                                        ArrayRef<double> values) {
  DenseElementsAttr value = floatElements(elementType, shape, values);
  auto op = ConstantOp::create(b, loc, value.getType(), value, nullptr, nullptr,
                                 nullptr, nullptr, nullptr, nullptr);
  return op.getResult();
}

Value mlir::onnxir::createFloatInitializer(OpBuilder &b, Location loc, StringRef name,
                                           Type elementType, ArrayRef<int64_t> shape,
                                           ArrayRef<double> values) {
  DenseElementsAttr value = floatElements(elementType, shape, values);
  OpBuilder::InsertionGuard guard(b);
  Block *block = b.getInsertionBlock();
  b.setInsertionPointToStart(block);
  return InitializerOp::create(b, loc, value.getType(), name, value, false)
      .getResult();
}

FailureOr<Value> mlir::onnxir::createInitializer(OpBuilder &b, Location loc, StringRef name,
                                                 ShapedType type,
                                                 function_ref<void(NewWeight &)> fill) {
  std::string error;
  FailureOr<NewWeight> weight = WeightStore::get(b.getContext()).allocate(type, name, error);
  if (failed(weight))
    return emitError(loc) << "cannot store the new weight '" << name << "': " << error;
  fill(*weight);
  if (std::optional<std::string> writeError = weight->getWriteError())
    return emitError(loc) << "cannot store the new weight '" << name << "': " << *writeError;
  ElementsAttr value = weight->finish();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(b.getInsertionBlock());
  return InitializerOp::create(b, loc, type, name, value, false).getResult();
}

Value mlir::onnxir::createMeanOverTrailingDims(OpBuilder &b, Location loc,
                                               Value input, int64_t axis,
                                               int64_t opset) {
  auto type = cast<TensorType>(input.getType());
  SmallVector<int64_t> axes;
  Type resultType;
  if (auto ranked = dyn_cast<RankedTensorType>(type)) {
    int64_t rank = ranked.getRank();
    int64_t first = axis < 0 ? axis + rank : axis;
    SmallVector<int64_t> shape(ranked.getShape());
    for (int64_t d = first; d < rank; ++d) {
      axes.push_back(d);
      shape[d] = 1;
    }
    resultType = RankedTensorType::get(shape, ranked.getElementType());
  } else {
    // Unknown rank: a negative axis still names the trailing dims.
    assert(axis < 0 && "the trailing dims of an unranked tensor need axis < 0");
    for (int64_t d = axis; d < 0; ++d)
      axes.push_back(d);
    resultType = type;
  }
  if (opset >= 18) {
    auto axesType = RankedTensorType::get({int64_t(axes.size())}, b.getI64Type());
    Value axesValue = ConstantOp::create(
        b, derivedNodeLoc(loc, "axes"), axesType,
        DenseElementsAttr::get(axesType, ArrayRef<int64_t>(axes)), nullptr,
        nullptr, nullptr, nullptr, nullptr, nullptr);
    return ReduceMeanOp::create(b, loc, resultType, input, axesValue, nullptr,
                                nullptr, nullptr);
  }
  return ReduceMeanOp::create(b, loc, resultType, input, Value(),
                              b.getDenseI64ArrayAttr(axes), nullptr, nullptr);
}

Value mlir::onnxir::createCastIfNeeded(OpBuilder &b, Location loc, Value input,
                                       Type to) {
  auto type = cast<ShapedType>(input.getType());
  if (type.getElementType() == to)
    return input;
  return CastOp::create(b, loc, type.clone(to), input,
                        b.getI64IntegerAttr(getONNXDataType(to)), nullptr)
      .getResult();
}

void mlir::onnxir::requireOpset(ModuleOp module, StringRef domain, int64_t version) {
  auto opsets = module->getAttrOfType<DictionaryAttr>(kOpsetImportAttr);
  NamedAttrList entries(opsets ? opsets : DictionaryAttr::get(module.getContext()));
  StringRef key = domain.empty() ? "ai.onnx" : domain;
  if (auto existing = entries.get(key))
    if (cast<IntegerAttr>(existing).getInt() >= version)
      return;
  entries.set(key, IntegerAttr::get(IntegerType::get(module.getContext(), 64), version));
  module->setAttr(kOpsetImportAttr, entries.getDictionary(module.getContext()));
}
