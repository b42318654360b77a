// RUN: norm-opt %s -split-input-file -norm-pre-ln-to-rms=compress=1 -verify-diagnostics | FileCheck %s

// CRMSNorm: the writers are centered and drop their last hidden entry, the
// stream shrinks from 4 to 3 entries (a Reshape's shape constant follows),
// and each LayerNorm becomes a crms_norm that restores the 4th entry.
// CHECK-LABEL: func.func @compress
// CHECK-DAG: %[[TABLE:.*]] = onnx.initializer "wte_compressed" = dense<{{\[}}[-1.500000e+00, -5.000000e-01, 5.000000e-01], [1.000000e+00, -1.000000e+00, 1.000000e+00]]> : tensor<2x3xf32>
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_compressed" = dense<{{\[}}[-1.000000e+00, 1.000000e+00, -1.000000e+00], [1.500000e+00, 5.000000e-01, -5.000000e-01], [0.000000e+00, 0.000000e+00, 0.000000e+00], [2.500000e-01, 2.500000e-01, 2.500000e-01]]> : tensor<4x3xf32>
// CHECK-DAG: %[[C:.*]] = onnx.initializer "c_compressed" = dense<[-1.500000e+00, -5.000000e-01, 5.000000e-01]> : tensor<3xf32>
// CHECK: %[[E:.*]] = onnx.Gather(%[[TABLE]], %arg0) : (tensor<2x3xf32>, tensor<6xi64>) -> tensor<6x3xf32>
// CHECK: %[[N:.*]] = norm.crms_norm %[[E]] scale(%{{.*}} : tensor<4xf32>) : tensor<6x3xf32> -> tensor<6x4xf32>
// CHECK: onnx.MatMul(%[[N]], %[[W]]) : (tensor<6x4xf32>, tensor<4x3xf32>) -> tensor<6x3xf32>
// CHECK: %[[SHAPE:.*]] = onnx.Constant {value = dense<[2, 3, 3]> : tensor<3xi64>}
// CHECK: onnx.Reshape(%{{.*}}, %[[SHAPE]]) : (tensor<6x3xf32>, tensor<3xi64>) -> tensor<2x3x3xf32>
// CHECK: norm.crms_norm %{{.*}} : tensor<2x3x3xf32> -> tensor<2x3x4xf32>
func.func @compress(%ids: tensor<6xi64>) -> tensor<2x3x4xf32> {
  %table = onnx.initializer "wte" = dense<[[1.0, 2.0, 3.0, 4.0], [2.0, 0.0, 2.0, 0.0]]> : tensor<2x4xf32> : tensor<2x4xf32>
  %g = onnx.initializer "g" = dense<[1.5, 0.5, 2.0, 1.0]> : tensor<4xf32> : tensor<4xf32>
  %w = onnx.initializer "w" = dense<[[0.0, 2.0, 0.0, 2.0], [4.0, 3.0, 2.0, 1.0], [7.0, 7.0, 7.0, 7.0], [1.0, 1.0, 1.0, 0.0]]> : tensor<4x4xf32> : tensor<4x4xf32>
  %c = onnx.initializer "c" = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
  %shape = onnx.initializer "shape" = dense<[2, 3, 4]> : tensor<3xi64> : tensor<3xi64>
  %e = onnx.Gather(%table, %ids) : (tensor<2x4xf32>, tensor<6xi64>) -> tensor<6x4xf32>
  %n = norm.layer_norm %e scale(%g : tensor<4xf32>) : tensor<6x4xf32> -> tensor<6x4xf32>
  %m = onnx.MatMul(%n, %w) : (tensor<6x4xf32>, tensor<4x4xf32>) -> tensor<6x4xf32>
  %mb = onnx.Add(%m, %c) : (tensor<6x4xf32>, tensor<4xf32>) -> tensor<6x4xf32>
  %h = onnx.Add(%e, %mb) : (tensor<6x4xf32>, tensor<6x4xf32>) -> tensor<6x4xf32>
  %r = onnx.Reshape(%h, %shape) : (tensor<6x4xf32>, tensor<3xi64>) -> tensor<2x3x4xf32>
  %out = norm.layer_norm %r : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %out : tensor<2x3x4xf32>
}

// -----

// A Shape read of the stream would see d - 1: refused in compress mode.
func.func @shape_reader(%ids: tensor<6xi64>) -> (tensor<6x4xf32>, tensor<2xi64>) {
  %table = onnx.initializer "wte" = dense<1.0> : tensor<2x4xf32> : tensor<2x4xf32>
  %e = onnx.Gather(%table, %ids) : (tensor<2x4xf32>, tensor<6xi64>) -> tensor<6x4xf32>
  // expected-remark @below {{norm-pre-ln-to-rms: left unchanged: compress: Shape reads the stream's shape}}
  %n = norm.layer_norm %e : tensor<6x4xf32> -> tensor<6x4xf32>
  %s = onnx.Shape(%e) : (tensor<6x4xf32>) -> tensor<2xi64>
  return %n, %s : tensor<6x4xf32>, tensor<2xi64>
}

// -----

// A Reshape whose target shape is computed at run time cannot follow.
func.func @dynamic_reshape(%ids: tensor<6xi64>, %shape: tensor<3xi64>) -> tensor<2x3x4xf32> {
  %table = onnx.initializer "wte" = dense<1.0> : tensor<2x4xf32> : tensor<2x4xf32>
  %e = onnx.Gather(%table, %ids) : (tensor<2x4xf32>, tensor<6xi64>) -> tensor<6x4xf32>
  %r = onnx.Reshape(%e, %shape) : (tensor<6x4xf32>, tensor<3xi64>) -> tensor<2x3x4xf32>
  // expected-remark @below {{norm-pre-ln-to-rms: left unchanged: compress: Reshape has a shape that is not constant}}
  %n = norm.layer_norm %r : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %n : tensor<2x3x4xf32>
}

// -----

// A stream value with a dynamic hidden dim cannot be shrunk.
func.func @dynamic_hidden(%ids: tensor<6xi64>, %x: tensor<6x?xf32>) -> tensor<6x?xf32> {
  %table = onnx.initializer "wte" = dense<1.0> : tensor<2x4xf32> : tensor<2x4xf32>
  %e = onnx.Gather(%table, %ids) : (tensor<2x4xf32>, tensor<6xi64>) -> tensor<6x4xf32>
  %t = onnx.Identity(%e) : (tensor<6x4xf32>) -> tensor<6x?xf32>
  // expected-remark @below {{norm-pre-ln-to-rms: left unchanged: compress: a stream value has no static hidden dim}}
  %n = norm.layer_norm %t : tensor<6x?xf32> -> tensor<6x?xf32>
  return %n : tensor<6x?xf32>
}

// -----

// A 16-bit stream: the dropped entry, recovered as -sum(x), would lose
// precision to cancellation (difffuzz F10); plain centering would be exact.
func.func @fp16_stream(%ids: tensor<6xi64>) -> tensor<6x4xf16> {
  %table = onnx.initializer "wte" = dense<[[1.0, 2.0, 3.0, 5.0], [0.5, -1.0, 2.0, 0.25]]> : tensor<2x4xf16> : tensor<2x4xf16>
  %e = onnx.Gather(%table, %ids) : (tensor<2x4xf16>, tensor<6xi64>) -> tensor<6x4xf16>
  // expected-remark @below {{norm-pre-ln-to-rms: left unchanged: compress: the stream is 16-bit, and CRMSNorm recovers the dropped entry as -sum(x), which cancellation makes inexact at that precision (difffuzz F10)}}
  %n = norm.layer_norm %e : tensor<6x4xf16> -> tensor<6x4xf16>
  return %n : tensor<6x4xf16>
}
