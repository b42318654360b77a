// RUN: norm-opt %s --convert-norm-to-onnx -split-input-file | FileCheck %s

// rms_scale exports as the RMSNorm statistics of the input (fp32) dividing
// the value: value / sqrt(mean(x * x) + eps), with casts around fp16.
// CHECK-LABEL: func.func @rms_scale_f16
// CHECK: %[[X:.*]] = onnx.Cast(%arg1) {to = 1 : i64} : (tensor<2x4xf16>) -> tensor<2x4xf32>
// CHECK: %[[SQ:.*]] = onnx.Pow(%[[X]], %{{.*}})
// CHECK: %[[V:.*]] = onnx.Cast(%arg0) {to = 1 : i64} : (tensor<2x3xf16>) -> tensor<2x3xf32>
// CHECK: %[[MS:.*]] = onnx.ReduceMean(%[[SQ]]) {axes = array<i64: 1>} : (tensor<2x4xf32>) -> tensor<2x1xf32>
// CHECK: %[[EPS:.*]] = onnx.Constant {value = dense<9.99999997E-7> : tensor<f32>}
// CHECK: %[[SUM:.*]] = onnx.Add(%[[MS]], %[[EPS]])
// CHECK: %[[ROOT:.*]] = onnx.Sqrt(%[[SUM]])
// CHECK: %[[DIV:.*]] = onnx.Div(%[[V]], %[[ROOT]]) : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
// CHECK: %[[OUT:.*]] = onnx.Cast(%[[DIV]]) {onnx.outputs = ["y"], to = 10 : i64}
// CHECK: return %[[OUT]]
func.func @rms_scale_f16(%v: tensor<2x3xf16>, %x: tensor<2x4xf16>) -> tensor<2x3xf16> {
  %y = norm.rms_scale %v by %x {epsilon = 1.0e-06 : f32, onnx.outputs = ["y"]} : tensor<2x3xf16>, tensor<2x4xf16> -> tensor<2x3xf16>
  return %y : tensor<2x3xf16>
}

// -----

// Opset 18: the axes are an input.
// CHECK-LABEL: func.func @rms_scale_opset18
// CHECK: %[[AXES:.*]] = onnx.Constant {value = dense<2> : tensor<1xi64>}
// CHECK: onnx.ReduceMean(%{{.*}}, %[[AXES]])
// CHECK: onnx.Div
module attributes {onnx.opset_import = {ai.onnx = 18 : i64}} {
func.func @rms_scale_opset18(%v: tensor<2x8x3xf32>, %x: tensor<2x8x4xf32>) -> tensor<2x8x3xf32> {
  %y = norm.rms_scale %v by %x : tensor<2x8x3xf32>, tensor<2x8x4xf32> -> tensor<2x8x3xf32>
  return %y : tensor<2x8x3xf32>
}
}
