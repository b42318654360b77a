// RUN: norm-opt %s -split-input-file -convert-norm-to-onnx | FileCheck %s

// convert-norm-to-onnx: the spellings the ONNX it writes must have.

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

// -----

// Below opset 17, LayerNorm is written as a chain whose square is Pow(x, 2):
// the spelling onnxruntime fuses back into its LayerNormalization kernel.
// CHECK-LABEL: func.func @layer_norm_opset13
// CHECK: %[[MEAN:.*]] = onnx.ReduceMean(%arg0)
// CHECK: %[[CENTERED:.*]] = onnx.Sub(%arg0, %[[MEAN]])
// CHECK: %[[TWO:.*]] = onnx.Constant {{.*}}value = dense<2.000000e+00> : tensor<f32>
// CHECK: %[[SQUARE:.*]] = onnx.Pow(%[[CENTERED]], %[[TWO]])
// CHECK: onnx.ReduceMean(%[[SQUARE]])
// CHECK-NOT: onnx.Mul(%[[CENTERED]], %[[CENTERED]])
module attributes {onnx.opset_import = {ai.onnx = 13 : i64}} {
  func.func @layer_norm_opset13(%x: tensor<2x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x8xf32> {
    %0 = norm.layer_norm %x scale(%g : tensor<8xf32>) bias(%b : tensor<8xf32>) {axis = -1 : i64, epsilon = 1.0e-05 : f32} : tensor<2x8xf32> -> tensor<2x8xf32>
    return %0 : tensor<2x8xf32>
  }
}

// -----

// Below opset 23, RMSNorm likewise squares with Pow(x, 2).
// CHECK-LABEL: func.func @rms_norm_opset13
// CHECK: %[[TWO:.*]] = onnx.Constant {{.*}}value = dense<2.000000e+00> : tensor<f32>
// CHECK: %[[SQUARE:.*]] = onnx.Pow(%arg0, %[[TWO]])
// CHECK: onnx.ReduceMean(%[[SQUARE]])
// CHECK-NOT: onnx.Mul(%arg0, %arg0)
module attributes {onnx.opset_import = {ai.onnx = 13 : i64}} {
  func.func @rms_norm_opset13(%x: tensor<2x8xf32>, %g: tensor<8xf32>) -> tensor<2x8xf32> {
    %0 = norm.rms_norm %x scale(%g : tensor<8xf32>) {axis = -1 : i64, epsilon = 1.0e-06 : f32} : tensor<2x8xf32> -> tensor<2x8xf32>
    return %0 : tensor<2x8xf32>
  }
}
