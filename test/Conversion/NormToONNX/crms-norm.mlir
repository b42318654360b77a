// RUN: norm-opt %s -split-input-file -convert-norm-to-onnx | FileCheck %s

// The 4th entry is restored as minus the sum of the stored three, and the
// 4-vector exported as an RMSNorm (opset 17: the decomposition onnxruntime
// fuses, squaring with Pow).
// CHECK-LABEL: func.func @crms
// CHECK: %[[SUM:.*]] = onnx.node "ReduceSum"(%arg0, %{{.*}}) {{.*}} -> tensor<2x1xf32>
// CHECK: %[[NEG:.*]] = onnx.node "Neg"(%[[SUM]])
// CHECK: %[[FULL:.*]] = onnx.Concat(%arg0, %[[NEG]]) {axis = -1 : i64} : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
// CHECK: onnx.Pow(%[[FULL]]
// CHECK: onnx.ReduceMean
// CHECK: %[[DIV:.*]] = onnx.Div(%[[FULL]]
// CHECK: onnx.Mul(%[[DIV]], %arg1)
module attributes {onnx.opset_import = {ai.onnx = 17 : i64}} {
  func.func @crms(%x: tensor<2x3xf32>, %g: tensor<4xf32>) -> tensor<2x4xf32> {
    %y = norm.crms_norm %x scale(%g : tensor<4xf32>) : tensor<2x3xf32> -> tensor<2x4xf32>
    return %y : tensor<2x4xf32>
  }
}

// -----

// Opset 23: RMSNormalization on the restored vector; fp16 statistics in fp32.
// CHECK-LABEL: func.func @crms_fp16
// CHECK: onnx.Cast(%arg0) {to = 1 : i64}
// CHECK: onnx.node "ReduceSum"
// CHECK: onnx.Concat
// CHECK: onnx.Cast(%{{.*}}) {to = 10 : i64}
// CHECK: onnx.node "RMSNormalization"
module attributes {onnx.opset_import = {ai.onnx = 23 : i64}} {
  func.func @crms_fp16(%x: tensor<2x3xf16>, %g: tensor<4xf16>) -> tensor<2x4xf16> {
    %y = norm.crms_norm %x scale(%g : tensor<4xf16>) : tensor<2x3xf16> -> tensor<2x4xf16>
    return %y : tensor<2x4xf16>
  }
}

// -----

// An unranked result (the LayerNorm function body's Reshape leaves the norm
// untyped): the restored vector is typed from the stored one, so the mean
// is over the last dim only, not over every dim (difffuzz finding F8).
// CHECK-LABEL: func.func @crms_unranked_result
// CHECK: %[[FULL:.*]] = onnx.Concat(%arg0, %{{.*}}) {axis = -1 : i64} : (tensor<2x3x3xf32>, tensor<2x3x1xf32>) -> tensor<2x3x4xf32>
// CHECK: onnx.ReduceMean(%{{.*}}) {axes = array<i64: 2>}
// CHECK: -> tensor<*xf32>
module attributes {onnx.opset_import = {ai.onnx = 17 : i64}} {
  func.func @crms_unranked_result(%x: tensor<2x3x3xf32>, %g: tensor<4xf32>) -> tensor<*xf32> {
    %y = norm.crms_norm %x scale(%g : tensor<4xf32>) : tensor<2x3x3xf32> -> tensor<*xf32>
    return %y : tensor<*xf32>
  }
}
