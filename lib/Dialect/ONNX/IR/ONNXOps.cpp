//===- ONNXOps.cpp - onnx dialect ops and helpers -------------------------===//
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::onnxir;

#define GET_OP_CLASSES
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.cpp.inc"

LogicalResult InitializerOp::verify() {
  auto shaped = dyn_cast<ShapedType>(getResult().getType());
  if (!shaped || shaped != getValue().getType())
    return emitOpError("result type ")
           << getResult().getType() << " differs from the value's type "
           << getValue().getType();
  return success();
}

ElementsAttr mlir::onnxir::getConstantValue(Value value) {
  Operation *def = value.getDefiningOp();
  while (auto identity = dyn_cast_or_null<IdentityOp>(def))
    def = identity.getInput().getDefiningOp();
  if (auto init = dyn_cast_or_null<InitializerOp>(def))
    return init.getValue();
  auto constant = dyn_cast_or_null<ConstantOp>(def);
  if (!constant)
    return {};
  if (auto v = constant.getValueAttr())
    return v;
  auto type = dyn_cast<ShapedType>(constant.getType());
  if (!type)
    return {};
  if (auto f = constant.getValueFloatAttr())
    return DenseElementsAttr::get(type, f.getValue().convertToFloat());
  if (auto i = constant.getValueIntAttr())
    return DenseElementsAttr::get(type, i.getValue().getSExtValue());
  if (auto fs = constant.getValueFloatsAttr())
    return DenseElementsAttr::get(type, fs.asArrayRef());
  if (auto is = constant.getValueIntsAttr())
    return DenseElementsAttr::get(type, is.asArrayRef());
  return {};
}

/// Reads a constant's elements as doubles, from dense or resource storage.
static std::optional<std::vector<double>> readAsDoubles(ElementsAttr attr) {
  Type elementType = attr.getElementType();
  std::vector<double> out;
  out.reserve(attr.getNumElements());
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (isa<FloatType>(elementType)) {
      for (const APFloat &v : dense.getValues<APFloat>())
        out.push_back(v.convertToDouble() /*exact for <= f64*/);
      return out;
    }
    if (auto intType = dyn_cast<IntegerType>(elementType)) {
      for (const APInt &v : dense.getValues<APInt>())
        out.push_back(intType.isUnsigned() ? double(v.getZExtValue())
                                           : double(v.getSExtValue()));
      return out;
    }
    return std::nullopt;
  }
  auto resource = dyn_cast<DenseResourceElementsAttr>(attr);
  if (!resource || !resource.getRawHandle().getBlob())
    return std::nullopt;
  ArrayRef<char> bytes = resource.getRawHandle().getBlob()->getData();
  int64_t n = attr.getNumElements();
  auto read = [&](auto tag) -> bool {
    using T = decltype(tag);
    if (bytes.size() != size_t(n) * sizeof(T))
      return false;
    for (int64_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
      out.push_back(double(v));
    }
    return true;
  };
  bool ok = false;
  if (elementType.isF32())
    ok = read(float());
  else if (elementType.isF64())
    ok = read(double());
  else if (elementType.isF16() || elementType.isBF16()) {
    auto &semantics = cast<FloatType>(elementType).getFloatSemantics();
    if (bytes.size() == size_t(n) * 2) {
      for (int64_t i = 0; i < n; ++i) {
        uint16_t bits;
        std::memcpy(&bits, bytes.data() + i * 2, 2);
        out.push_back(APFloat(semantics, APInt(16, bits)).convertToDouble());
      }
      ok = true;
    }
  } else if (elementType.isInteger(64))
    ok = read(int64_t());
  else if (elementType.isInteger(32))
    ok = read(int32_t());
  if (!ok)
    return std::nullopt;
  return out;
}

std::optional<std::vector<double>> mlir::onnxir::getConstantAsDoubles(Value value) {
  ElementsAttr attr = getConstantValue(value);
  if (!attr)
    return std::nullopt;
  return readAsDoubles(attr);
}

std::optional<double> mlir::onnxir::getScalarConstant(Value value) {
  ElementsAttr attr = getConstantValue(value);
  if (!attr || attr.getNumElements() != 1)
    return std::nullopt;
  auto values = readAsDoubles(attr);
  if (!values)
    return std::nullopt;
  return values->front();
}

int64_t mlir::onnxir::getOpsetVersion(Operation *anyOpInModule,
                                      StringRef domain) {
  auto module = isa<ModuleOp>(anyOpInModule)
                    ? cast<ModuleOp>(anyOpInModule)
                    : anyOpInModule->getParentOfType<ModuleOp>();
  if (!module)
    return 0;
  auto opsets = module->getAttrOfType<DictionaryAttr>(kOpsetImportAttr);
  if (!opsets)
    return 0;
  if (auto version = opsets.getAs<IntegerAttr>(domain.empty() ? "ai.onnx" : domain))
    return version.getInt();
  if (domain.empty())
    if (auto version = opsets.getAs<IntegerAttr>(""))
      return version.getInt();
  return 0;
}

StringRef mlir::onnxir::getNodeName(Operation *op) {
  Location loc = op->getLoc();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (auto name = dyn_cast<NameLoc>(inner))
        return name.getName().getValue();
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().getValue();
  return "";
}

std::optional<SmallVector<int64_t>> mlir::onnxir::getReduceAxes(ReduceMeanOp op) {
  if (auto axes = op.getAxesAttr())
    return SmallVector<int64_t>(axes.asArrayRef());
  Value input = op.getAxesInput();
  if (!input || isa<NoneType>(input.getType())) {
    // No axes: reduce over all dims (unless noop_with_empty_axes).
    if (op.getNoopWithEmptyAxes().value_or(0) != 0)
      return std::nullopt;
    return SmallVector<int64_t>{};
  }
  auto values = getConstantAsDoubles(input);
  if (!values)
    return std::nullopt;
  SmallVector<int64_t> axes;
  for (double v : *values)
    axes.push_back(int64_t(v));
  return axes;
}

bool mlir::onnxir::getKeepDims(ReduceMeanOp op) {
  return op.getKeepdims().value_or(1) != 0;
}
