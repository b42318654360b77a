//===- ONNXOps.h - onnx dialect ops and helpers -----------------*- C++ -*-===//
//
// The ops of the lossless ONNX graph image, and the few helpers every pass
// uses to read it: constant tensors (initializers and Constant nodes alike),
// ONNX attribute defaults, and the ONNX name of a node.
//
//===----------------------------------------------------------------------===//
#ifndef NORM_OPT_DIALECT_ONNX_IR_ONNXOPS_H
#define NORM_OPT_DIALECT_ONNX_IR_ONNXOPS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/RegionKindInterface.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXDialect.h"

#define GET_TYPEDEF_CLASSES
#include "norm-opt/Dialect/ONNX/IR/ONNXOpsTypes.h.inc"
#define GET_ATTRDEF_CLASSES
#include "norm-opt/Dialect/ONNX/IR/ONNXAttrs.h.inc"
#define GET_OP_CLASSES
#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h.inc"

namespace mlir::onnxir {

/// Discardable attribute names that carry ONNX facts which are not ONNX
/// attributes of the node.
constexpr llvm::StringLiteral kOutputNamesAttr = "onnx.outputs";
/// On the graph's function: the names of the graph inputs in file order, when
/// some are initializers (which are no function arguments).
constexpr llvm::StringLiteral kInputOrderAttr = "onnx.input_order";
constexpr llvm::StringLiteral kDocStringAttr = "onnx.doc_string";

/// Module attributes holding the model-level fields.
constexpr llvm::StringLiteral kOpsetImportAttr = "onnx.opset_import";
constexpr llvm::StringLiteral kIRVersionAttr = "onnx.ir_version";
/// Per-argument/result attributes of the graph function.
constexpr llvm::StringLiteral kValueNameAttr = "onnx.name";
constexpr llvm::StringLiteral kDimParamsAttr = "onnx.dim_params";

/// The constant tensor behind `value` if it is produced by an initializer or
/// a Constant node (looking through Identity), else null.
ElementsAttr getConstantValue(Value value);

/// The constant as float64 values (any float or integer element type), or
/// nullopt when `value` is not a readable constant.
std::optional<std::vector<double>> getConstantAsDoubles(Value value);

/// A constant holding a single element (any rank) as a double.
std::optional<double> getScalarConstant(Value value);

/// The default opset version of `domain` the module imports ("" is ai.onnx),
/// or 0 when it imports none.
int64_t getOpsetVersion(Operation *anyOpInModule, llvm::StringRef domain = "");

/// The node name an op was imported with (its NameLoc), or "".
llvm::StringRef getNodeName(Operation *op);

/// The reduced axes of a ReduceMean, from its attribute or constant input;
/// nullopt when they are not known at compile time. An empty list means
/// every dim (ONNX reduces all axes when none are given).
std::optional<llvm::SmallVector<int64_t>> getReduceAxes(ReduceMeanOp op);
bool getKeepDims(ReduceMeanOp op);

} // namespace mlir::onnxir

#endif
