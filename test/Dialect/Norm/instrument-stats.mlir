// RUN: norm-opt %s -split-input-file -norm-instrument-stats -verify-diagnostics | FileCheck %s

// Each norm gains one graph output, named after it, with its per-token
// statistic in fp32: the variance for a LayerNorm, the mean square for an
// RMSNorm. The norms and the original output stay.
// CHECK-LABEL: func.func @stats
// CHECK-SAME: -> (tensor<2x3x4xf16> {onnx.name = "y"}, tensor<2x3x1xf32> {onnx.name = "norm_stats:ln"}, tensor<2x3x1xf32> {onnx.name = "norm_stats:rms"})
// CHECK: %[[LN:.*]] = norm.layer_norm %arg0
// CHECK: %[[X:.*]] = onnx.Cast(%arg0) {to = 1 : i64}
// CHECK: %[[MEAN:.*]] = onnx.ReduceMean(%[[X]]) {axes = array<i64: 2>}
// CHECK: %[[D:.*]] = onnx.Sub(%[[X]], %[[MEAN]])
// CHECK: %[[SQ:.*]] = onnx.Mul(%[[D]], %[[D]])
// CHECK: %[[VAR:.*]] = onnx.ReduceMean(%[[SQ]]) {axes = array<i64: 2>}
// CHECK: %[[RMS:.*]] = norm.rms_norm %[[LN]]
// CHECK: %[[X2:.*]] = onnx.Cast(%[[LN]])
// CHECK: %[[SQ2:.*]] = onnx.Mul(%[[X2]], %[[X2]])
// CHECK: %[[MS:.*]] = onnx.ReduceMean(%[[SQ2]])
// CHECK: return %[[RMS]], %[[VAR]], %[[MS]]
module attributes {onnx.opset_import = {"ai.onnx" = 17 : i64}} {
  func.func @stats(%x: tensor<2x3x4xf16>) -> (tensor<2x3x4xf16> {onnx.name = "y"}) {
    %n = norm.layer_norm %x {onnx.outputs = ["ln"]} : tensor<2x3x4xf16> -> tensor<2x3x4xf16>
    %r = norm.rms_norm %n {onnx.outputs = ["rms"]} : tensor<2x3x4xf16> -> tensor<2x3x4xf16>
    return %r : tensor<2x3x4xf16>
  }
}

// -----

// Refusal: a norm over two dims has no per-token statistic of one dim.
// CHECK-LABEL: func.func @two_dims
// CHECK-SAME: -> tensor<2x3x4xf32>
func.func @two_dims(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  // expected-remark @+1 {{norm-instrument-stats: left unchanged: it normalizes more than the last dim}}
  %n = norm.layer_norm %x {axis = 1 : i64, onnx.outputs = ["ln2"]} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %n : tensor<2x3x4xf32>
}
