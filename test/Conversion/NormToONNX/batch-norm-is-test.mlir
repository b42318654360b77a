// RUN: norm-opt %s -split-input-file -convert-norm-to-onnx | FileCheck %s

// Before opset 7, BatchNormalization computes batch statistics unless
// is_test = 1: an inference norm must say so.
// CHECK-LABEL: func.func @opset6
// CHECK: onnx.node "BatchNormalization"
// CHECK-SAME: is_test = 1 : i64
module attributes {onnx.opset_import = {ai.onnx = 6 : i64}} {
  func.func @opset6(%x: tensor<2x3x4xf32>, %s: tensor<3xf32>, %b: tensor<3xf32>,
                    %m: tensor<3xf32>, %v: tensor<3xf32>) -> tensor<2x3x4xf32> {
    %0 = norm.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0e-05 : f32}
        : tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32> -> tensor<2x3x4xf32>
    return %0 : tensor<2x3x4xf32>
  }
}

// -----

// From opset 7 on, one output means inference: no is_test attribute.
// CHECK-LABEL: func.func @opset15
// CHECK: onnx.node "BatchNormalization"
// CHECK-NOT: is_test
// CHECK: return
module attributes {onnx.opset_import = {ai.onnx = 15 : i64}} {
  func.func @opset15(%x: tensor<2x3x4xf32>, %s: tensor<3xf32>, %b: tensor<3xf32>,
                     %m: tensor<3xf32>, %v: tensor<3xf32>) -> tensor<2x3x4xf32> {
    %0 = norm.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0e-05 : f32}
        : tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32> -> tensor<2x3x4xf32>
    return %0 : tensor<2x3x4xf32>
  }
}
