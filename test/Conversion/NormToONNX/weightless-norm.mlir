// RUN: norm-opt %s --convert-norm-to-onnx -split-input-file | FileCheck %s

// A norm made weightless by folding, whose input type ONNX shape inference
// left unranked: the all-ones scale RMSNormalization needs takes its size
// from the MatMul that reads the norm.
// CHECK-LABEL: func.func @weightless_unranked_rms
// CHECK: %[[ONES:.*]] = onnx.Constant {value = dense<1.000000e+00> : tensor<2xf32>}
// CHECK: onnx.node "RMSNormalization"(%arg0, %[[ONES]]) {axis = -1 : i64
module attributes {onnx.opset_import = {ai.onnx = 23 : i64}} {
func.func @weightless_unranked_rms(%x: tensor<*xf32>) -> tensor<*xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x1xf32> : tensor<2x1xf32>
  %y = norm.rms_norm %x : tensor<*xf32> -> tensor<*xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<*xf32>, tensor<2x1xf32>) -> tensor<*xf32>
  return %m : tensor<*xf32>
}
}

// -----

// Same for LayerNormalization read by a Gemm with transB = 1 ([N, K] weight).
// CHECK-LABEL: func.func @weightless_unranked_layer_norm
// CHECK: %[[ONES:.*]] = onnx.Constant {value = dense<1.000000e+00> : tensor<3xf32>}
// CHECK: onnx.node "LayerNormalization"(%arg0, %[[ONES]])
module attributes {onnx.opset_import = {ai.onnx = 17 : i64}} {
func.func @weightless_unranked_layer_norm(%x: tensor<*xf32>) -> tensor<*xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<5x3xf32> : tensor<5x3xf32>
  %y = norm.layer_norm %x : tensor<*xf32> -> tensor<*xf32>
  %m = onnx.Gemm(%y, %w) {transB = 1 : i64} : (tensor<*xf32>, tensor<5x3xf32>) -> tensor<*xf32>
  return %m : tensor<*xf32>
}
}

// -----

// Neither the input type nor a linear reader gives the normalized shape
// (the reader is a Reshape; opset-23 models are untyped by ONNX 1.12): the
// ops that need a scale cannot be written, the chain can (difffuzz F9).
// CHECK-LABEL: func.func @weightless_unranked_rms_reshape_reader
// CHECK-NOT: RMSNormalization
// CHECK: onnx.ReduceMean
// CHECK: onnx.Sqrt
// CHECK: onnx.Div
// CHECK-NOT: onnx.Mul
// CHECK: onnx.Reshape
module attributes {onnx.opset_import = {ai.onnx = 23 : i64}} {
func.func @weightless_unranked_rms_reshape_reader(%x: tensor<*xf32>, %s: tensor<2xi64>) -> tensor<*xf32> {
  %y = norm.rms_norm %x : tensor<*xf32> -> tensor<*xf32>
  %r = onnx.Reshape(%y, %s) : (tensor<*xf32>, tensor<2xi64>) -> tensor<*xf32>
  return %r : tensor<*xf32>
}
}

// -----

// CHECK-LABEL: func.func @weightless_unranked_layer_norm_reshape_reader
// CHECK-NOT: LayerNormalization
// CHECK: onnx.Sub
// CHECK: onnx.Div
// CHECK: onnx.Reshape
module attributes {onnx.opset_import = {ai.onnx = 17 : i64}} {
func.func @weightless_unranked_layer_norm_reshape_reader(%x: tensor<*xf32>, %s: tensor<2xi64>) -> tensor<*xf32> {
  %y = norm.layer_norm %x : tensor<*xf32> -> tensor<*xf32>
  %r = onnx.Reshape(%y, %s) : (tensor<*xf32>, tensor<2xi64>) -> tensor<*xf32>
  return %r : tensor<*xf32>
}
}

// -----

// Below opset 23 a weightless RMSNorm is a decomposed chain that still ends
// in a Mul by ones: onnxruntime fuses the chain into one kernel only then.
// CHECK-LABEL: func.func @weightless_rms_decomposed
// CHECK: %[[DIV:.*]] = onnx.Div
// CHECK: %[[ONES:.*]] = onnx.Constant {value = dense<1.000000e+00> : tensor<4xf32>}
// CHECK: onnx.Mul(%[[DIV]], %[[ONES]])
module attributes {onnx.opset_import = {ai.onnx = 17 : i64}} {
func.func @weightless_rms_decomposed(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %y = norm.rms_norm %x : tensor<2x4xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
}

// -----

// Below opset 17 a LayerNorm's chain needs both the scale Mul and the bias
// Add for onnxruntime's fusion: a norm with a scale but no bias gets zeros.
// CHECK-LABEL: func.func @scale_only_layer_norm_decomposed
// CHECK: %[[ZEROS:.*]] = onnx.Constant {value = dense<0.000000e+00> : tensor<4xf32>}
// CHECK: %[[MUL:.*]] = onnx.Mul(%{{.*}}, %arg1)
// CHECK: onnx.Add(%[[MUL]], %[[ZEROS]])
module attributes {onnx.opset_import = {ai.onnx = 13 : i64}} {
func.func @scale_only_layer_norm_decomposed(%x: tensor<2x4xf32>, %g: tensor<4xf32>) -> tensor<2x4xf32> {
  %y = norm.layer_norm %x scale(%g : tensor<4xf32>) : tensor<2x4xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
}
