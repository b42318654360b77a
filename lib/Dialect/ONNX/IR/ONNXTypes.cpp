//===- ONNXTypes.cpp - ONNX <-> MLIR element types ------------------------===//
#include "norm-opt/Dialect/ONNX/IR/ONNXTypes.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
using namespace mlir::onnxir;

Type mlir::onnxir::getElementType(MLIRContext *context, int32_t onnxType) {
  Builder b(context);
  switch (onnxType) {
  case DataType::FLOAT: return b.getF32Type();
  case DataType::UINT8: return b.getIntegerType(8, /*isSigned=*/false);
  case DataType::INT8: return b.getIntegerType(8);
  case DataType::UINT16: return b.getIntegerType(16, false);
  case DataType::INT16: return b.getIntegerType(16);
  case DataType::INT32: return b.getIntegerType(32);
  case DataType::INT64: return b.getIntegerType(64);
  case DataType::STRING: return StringType::get(context);
  case DataType::BOOL: return b.getI1Type();
  case DataType::FLOAT16: return b.getF16Type();
  case DataType::DOUBLE: return b.getF64Type();
  case DataType::UINT32: return b.getIntegerType(32, false);
  case DataType::UINT64: return b.getIntegerType(64, false);
  case DataType::COMPLEX64: return ComplexType::get(b.getF32Type());
  case DataType::COMPLEX128: return ComplexType::get(b.getF64Type());
  case DataType::BFLOAT16: return b.getBF16Type();
  // Newer than the ONNX 1.12 headers: FLOAT8E4M3FN .. FLOAT8E5M2FNUZ.
  case DataType::FLOAT8E4M3FN: return Float8E4M3FNType::get(context);
  case DataType::FLOAT8E4M3FNUZ: return Float8E4M3FNUZType::get(context);
  case DataType::FLOAT8E5M2: return Float8E5M2Type::get(context);
  case DataType::FLOAT8E5M2FNUZ: return Float8E5M2FNUZType::get(context);
  default: return {};
  }
}

int32_t mlir::onnxir::getONNXDataType(Type t) {
  if (t.isF32()) return DataType::FLOAT;
  if (t.isF16()) return DataType::FLOAT16;
  if (t.isBF16()) return DataType::BFLOAT16;
  if (t.isF64()) return DataType::DOUBLE;
  if (isa<Float8E4M3FNType>(t)) return DataType::FLOAT8E4M3FN;
  if (isa<Float8E4M3FNUZType>(t)) return DataType::FLOAT8E4M3FNUZ;
  if (isa<Float8E5M2Type>(t)) return DataType::FLOAT8E5M2;
  if (isa<Float8E5M2FNUZType>(t)) return DataType::FLOAT8E5M2FNUZ;
  if (isa<StringType>(t)) return DataType::STRING;
  if (auto c = dyn_cast<ComplexType>(t))
    return c.getElementType().isF32() ? DataType::COMPLEX64
                                      : DataType::COMPLEX128;
  if (auto i = dyn_cast<IntegerType>(t)) {
    bool u = i.isUnsigned();
    switch (i.getWidth()) {
    case 1: return DataType::BOOL;
    case 8: return u ? DataType::UINT8 : DataType::INT8;
    case 16: return u ? DataType::UINT16 : DataType::INT16;
    case 32: return u ? DataType::UINT32 : DataType::INT32;
    case 64: return u ? DataType::UINT64 : DataType::INT64;
    }
  }
  return DataType::UNDEFINED;
}

size_t mlir::onnxir::getElementByteWidth(Type t) {
  if (auto c = dyn_cast<ComplexType>(t))
    return 2 * getElementByteWidth(c.getElementType());
  unsigned bits = t.getIntOrFloatBitWidth();
  return bits == 1 ? 1 : bits / 8;
}

DenseElementsAttr mlir::onnxir::denseFromRawBytes(ShapedType type,
                                                  ArrayRef<char> bytes) {
  Type elementType = type.getElementType();
  if (elementType.isInteger(1)) {
    // MLIR packs i1 as bits; ONNX stores a byte per bool.
    SmallVector<bool> values;
    for (char c : bytes)
      values.push_back(c != 0);
    return DenseElementsAttr::get(type, values);
  }
  // A splat of one element is a valid raw buffer too.
  return DenseElementsAttr::getFromRawBuffer(type, bytes);
}

ArrayRef<char> mlir::onnxir::getRawBytes(ElementsAttr attr,
                                         std::vector<char> &storage) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
    return {};
  }
  auto dense = cast<DenseElementsAttr>(attr);
  Type elementType = dense.getElementType();
  int64_t n = dense.getNumElements();
  if (elementType.isInteger(1)) {
    storage.clear();
    for (bool b : dense.getValues<bool>())
      storage.push_back(b ? 1 : 0);
    return storage;
  }
  ArrayRef<char> raw = dense.getRawData();
  if (!dense.isSplat() || n == 1)
    return raw;
  // Expand a splat to every element.
  storage.resize(raw.size() * n);
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(storage.data() + i * raw.size(), raw.data(), raw.size());
  return storage;
}
