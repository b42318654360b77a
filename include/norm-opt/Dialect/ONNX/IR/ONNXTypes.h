//===- ONNXTypes.h - ONNX <-> MLIR element types ----------------*- C++ -*-===//
//
// The one place that maps ONNX element types to MLIR types and back, shared
// by the importer, the exporter and the passes that emit Casts.
//
//===----------------------------------------------------------------------===//
#ifndef NORM_OPT_DIALECT_ONNX_IR_ONNXTYPES_H
#define NORM_OPT_DIALECT_ONNX_IR_ONNXTYPES_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"


namespace mlir::onnxir {

namespace DataType {
/// ONNX TensorProto.DataType values (onnx.proto), stable across versions.
enum : int32_t {
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  UINT16 = 4,
  INT16 = 5,
  INT32 = 6,
  INT64 = 7,
  STRING = 8,
  BOOL = 9,
  FLOAT16 = 10,
  DOUBLE = 11,
  UINT32 = 12,
  UINT64 = 13,
  COMPLEX64 = 14,
  COMPLEX128 = 15,
  BFLOAT16 = 16,
  UNDEFINED = 0,
  FLOAT8E4M3FN = 17,
  FLOAT8E4M3FNUZ = 18,
  FLOAT8E5M2 = 19,
  FLOAT8E5M2FNUZ = 20,
};
} // namespace DataType

/// Default-domain opsets and IR versions norm-opt reads and writes. ONNX 1.12
/// knows opsets up to 17; 18 to 23 are accepted (ops it does not know, such
/// as RMSNormalization, are handled by name).
constexpr int64_t kMinOpset = 1;
constexpr int64_t kMaxOpset = 23;
constexpr int64_t kMaxIRVersion = 11;

/// The MLIR element type of an ONNX TensorProto data type, or null.
Type getElementType(MLIRContext *context, int32_t onnxType);
/// The ONNX data type of an MLIR element type, or 0 (UNDEFINED).
int32_t getONNXDataType(Type elementType);
/// Bytes per element in ONNX raw_data layout (bool is one byte).
size_t getElementByteWidth(Type elementType);

/// A dense attribute from little-endian bytes in ONNX raw_data layout.
DenseElementsAttr denseFromRawBytes(ShapedType type, ArrayRef<char> bytes);
/// The bytes of `attr` in ONNX raw_data layout (dense or resource storage);
/// `storage` receives a copy only when the layout differs.
ArrayRef<char> getRawBytes(ElementsAttr attr, std::vector<char> &storage);

} // namespace mlir::onnxir

#endif
