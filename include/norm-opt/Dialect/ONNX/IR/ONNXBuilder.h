//===- ONNXBuilder.h - creating ONNX nodes from passes ----------*- C++ -*-===//
//
// Helpers for passes that emit ONNX nodes: named locations for new nodes,
// constants, and the reduce-over-trailing-dims idiom whose spelling depends
// on the opset.
//
//===----------------------------------------------------------------------===//
#ifndef NORM_OPT_DIALECT_ONNX_IR_ONNXBUILDER_H
#define NORM_OPT_DIALECT_ONNX_IR_ONNXBUILDER_H

#include "norm-opt/Dialect/ONNX/IR/ONNXOps.h"
#include "norm-opt/Dialect/ONNX/IR/WeightStore.h"
#include "mlir/IR/Builders.h"

namespace mlir::onnxir {

/// A location naming a node derived from `base` (e.g. "ln_1/ReduceMean"),
/// keeping the file of `base`.
Location derivedNodeLoc(Location base, llvm::StringRef suffix);

/// A location with the node name `name`, keeping the file of `base`.
Location namedNodeLoc(Location base, llvm::StringRef name);

/// An `onnx.Constant` holding `values` (converted to `elementType`, which may
/// be any float type) with the given shape.
Value createFloatConstant(OpBuilder &b, Location loc, Type elementType,
                          ArrayRef<int64_t> shape, ArrayRef<double> values);

/// An `onnx.initializer` named `name` (made unique by the exporter) holding
/// `values` converted once from float64 to `elementType`, placed at the start
/// of the graph that contains `b`'s insertion point.
Value createFloatInitializer(OpBuilder &b, Location loc, llvm::StringRef name,
                             Type elementType, ArrayRef<int64_t> shape,
                             ArrayRef<double> values);

/// An `onnx.initializer` named `name` of `type` (static shape) whose bytes
/// `fill` writes once, into memory the WeightStore owns: the way to create a
/// large weight without holding it twice. Emits an error and fails when the
/// store cannot hold it (e.g. the disk is full).
FailureOr<Value> createInitializer(OpBuilder &b, Location loc, llvm::StringRef name,
                                   ShapedType type, llvm::function_ref<void(NewWeight &)> fill);

/// `ReduceMean(input)` over the dims `[axis, rank)` with keepdims = 1, with
/// the axes as attribute (opset < 18) or as an input (opset >= 18). An
/// unranked input needs a negative `axis`.
Value createMeanOverTrailingDims(OpBuilder &b, Location loc, Value input,
                                 int64_t axis, int64_t opset);

/// `Cast(input, to)` unless it already has element type `to`.
Value createCastIfNeeded(OpBuilder &b, Location loc, Value input, Type to);

/// Makes the module import `domain` at `version` (or higher) for the nodes a
/// pass adds.
void requireOpset(ModuleOp module, llvm::StringRef domain, int64_t version);

} // namespace mlir::onnxir

#endif
