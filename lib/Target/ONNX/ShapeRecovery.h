//===- ShapeRecovery.h - shapes ONNX 1.12's inference leaves open -*- C++ -*-===//
#ifndef NORM_OPT_LIB_TARGET_ONNX_SHAPERECOVERY_H
#define NORM_OPT_LIB_TARGET_ONNX_SHAPERECOVERY_H

#include <onnx/onnx_pb.h>

namespace mlir::onnxir {

/// Gives the untyped output of each `Reshape` whose target shape is computed
/// from the shapes of other values (`Shape` -> `Slice`/`Gather` -> `Concat`
/// with constants, as old exporters write `flatten(start_axis=k)`) the shape
/// that computation yields, as `value_info`: ONNX 1.12 evaluates such shape
/// computations only from opset 13 on (data propagation). Dims that depend on
/// run-time sizes stay dynamic. Returns whether it added any, so that
/// inference can run again from them.
bool recoverComputedReshapes(onnx::GraphProto &graph);

} // namespace mlir::onnxir

#endif
