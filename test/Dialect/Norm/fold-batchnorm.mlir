// RUN: norm-opt %s --norm-fold-batchnorm -split-input-file -verify-diagnostics | FileCheck %s

// Every BatchNorm below has scale [2, 3], bias [1, -1], mean [0.5, 1],
// var [4, 1] and epsilon 0 (unless it says otherwise), i.e. the per-channel
// map a = [1, 3], b = [0.5, -4].

// Conv with a bias: output channel o of W scales by a[o],
// bias' = a * bias + b = [1.5, 2]. The BN and its constants are gone.
// CHECK: norm.report = [{action = "folded", kind = "batch_norm", name = "bn", pass = "norm-fold-batchnorm", reason = "BatchNorm folded into its producer 'conv' (onnx.Conv)"}]
// CHECK-LABEL: func.func @conv
// CHECK-DAG: %[[C:.*]] = onnx.initializer "c_folded" = dense<[1.500000e+00, 2.000000e+00]>
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[\[\[}}1.000000e+00]], {{\[\[}}1.000000e+00]]], {{\[\[\[}}3.000000e+00]], {{\[\[}}3.000000e+00]]]]>
// CHECK: %[[Y:.*]] = onnx.Conv(%arg0, %[[W]], %[[C]])
// CHECK: onnx.node "Relu"(%[[Y]])
// CHECK-NOT: norm.batch_norm
// CHECK-NOT: onnx.initializer "v"
func.func @conv(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x2x1x1xf32> : tensor<2x2x1x1xf32>
  %c = onnx.initializer "c" = dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %y = onnx.Conv(%x, %w, %c) : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv")
  %r = norm.batch_norm %y, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<1x2x4x4xf32> loc("bn")
  %relu = onnx.node "Relu"(%r) : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %relu : tensor<1x2x4x4xf32>
}

// -----

// Grouped Conv (group = 2, W [C_out, C_in / 2, 1, 1]) without a bias: row o
// still feeds output channel o; the Conv gains the bias b.
// CHECK-LABEL: func.func @grouped_conv
// CHECK-DAG: %[[C:.*]] = onnx.initializer "conv/bias_folded" = dense<[5.000000e-01, -4.000000e+00]>
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[\[\[}}1.000000e+00]], {{\[\[}}2.000000e+00]]], {{\[\[\[}}9.000000e+00]], {{\[\[}}1.200000e+01]]]]> : tensor<2x2x1x1xf32>
// CHECK: onnx.Conv(%arg0, %[[W]], %[[C]]) {group = 2 : i64}
func.func @grouped_conv(%x: tensor<1x4x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = onnx.initializer "w" = dense<[[[[1.0]], [[2.0]]], [[[3.0]], [[4.0]]]]> : tensor<2x2x1x1xf32> : tensor<2x2x1x1xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %y = onnx.Conv(%x, %w) {group = 2 : i64} : (tensor<1x4x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32> loc("conv")
  %r = norm.batch_norm %y, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<1x2x4x4xf32>
  return %r : tensor<1x2x4x4xf32>
}

// -----

// Depthwise Conv (group = C, W [C, 1, k, k]) with a Constant-node weight.
// CHECK-LABEL: func.func @depthwise_conv
// CHECK-DAG: %[[W:.*]] = onnx.initializer "dw/weight_folded" = dense<{{\[\[\[\[}}1.000000e+00, 2.000000e+00]]], {{\[\[\[}}9.000000e+00, 1.200000e+01]]]]> : tensor<2x1x1x2xf32>
// CHECK: onnx.Conv(%arg0, %[[W]], %{{.*}}) {group = 2 : i64}
// CHECK-NOT: onnx.Constant
func.func @depthwise_conv(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x3xf32> {
  %w = onnx.Constant {value = dense<[[[[1.0, 2.0]]], [[[3.0, 4.0]]]]> : tensor<2x1x1x2xf32>} : tensor<2x1x1x2xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %y = onnx.Conv(%x, %w) {group = 2 : i64} : (tensor<1x2x4x4xf32>, tensor<2x1x1x2xf32>) -> tensor<1x2x4x3xf32> loc("dw")
  %r = norm.batch_norm %y, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<1x2x4x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<1x2x4x3xf32>
  return %r : tensor<1x2x4x3xf32>
}

// -----

// Grouped ConvTranspose: W is [C_in = 4, C_out / group = 1, 1, 1] with
// group = 2, so input channels 0, 1 feed output channel 0 and 2, 3 feed
// output channel 1: W' = [1, 2, 9, 12] (not [1, 6, 3, 12], the Conv layout).
// CHECK-LABEL: func.func @grouped_conv_transpose
// CHECK-DAG: %[[C:.*]] = onnx.initializer "ct/bias_folded" = dense<[5.000000e-01, -4.000000e+00]>
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[\[\[}}1.000000e+00]]], {{\[\[\[}}2.000000e+00]]], {{\[\[\[}}9.000000e+00]]], {{\[\[\[}}1.200000e+01]]]]> : tensor<4x1x1x1xf32>
// CHECK: onnx.ConvTranspose(%arg0, %[[W]], %[[C]]) {group = 2 : i64}
func.func @grouped_conv_transpose(%x: tensor<1x4x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %w = onnx.initializer "w" = dense<[[[[1.0]]], [[[2.0]]], [[[3.0]]], [[[4.0]]]]> : tensor<4x1x1x1xf32> : tensor<4x1x1x1xf32>
  %none = onnx.none
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %y = onnx.ConvTranspose(%x, %w, %none) {group = 2 : i64} : (tensor<1x4x3x3xf32>, tensor<4x1x1x1xf32>, none) -> tensor<1x2x3x3xf32> loc("ct")
  %r = norm.batch_norm %y, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<1x2x3x3xf32>
  return %r : tensor<1x2x3x3xf32>
}

// -----

// ConvTranspose without groups: W [C_in, C_out, k...], output channel j is
// dim 1.
// CHECK-LABEL: func.func @conv_transpose
// CHECK: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[\[\[}}1.000000e+00]], {{\[\[}}6.000000e+00]]], {{\[\[\[}}3.000000e+00]], {{\[\[}}1.200000e+01]]]]> : tensor<2x2x1x1xf32>
// CHECK: onnx.ConvTranspose(%arg0, %[[W]], %{{.*}})
func.func @conv_transpose(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %w = onnx.initializer "w" = dense<[[[[1.0]], [[2.0]]], [[[3.0]], [[4.0]]]]> : tensor<2x2x1x1xf32> : tensor<2x2x1x1xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %y = onnx.ConvTranspose(%x, %w) : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %r = norm.batch_norm %y, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<1x2x3x3xf32>
  return %r : tensor<1x2x3x3xf32>
}

// -----

// Gemm with transB = 0, alpha = 2, beta = 0.5 and a bias C: columns of W
// scale by a; C' = alpha * a * (beta / alpha) * C + b = a * 0.5 * C + b.
// CHECK-LABEL: func.func @gemm_transb0
// CHECK-DAG: %[[C:.*]] = onnx.initializer "c_folded" = dense<[1.000000e+00, -1.000000e+00]>
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[}}1.000000e+00, 6.000000e+00], [3.000000e+00, 1.200000e+01]]>
// CHECK: onnx.Gemm(%arg0, %[[W]], %[[C]]) {alpha = 2.000000e+00 : f32}
func.func @gemm_transb0(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = onnx.initializer "w" = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %c = onnx.initializer "c" = dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %y = onnx.Gemm(%x, %w, %c) {alpha = 2.0 : f32, beta = 0.5 : f32} : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %r = norm.batch_norm %y, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}

// -----

// Gemm with transB = 1 (W stored [N, K]): rows of the stored tensor scale.
// CHECK-LABEL: func.func @gemm_transb1
// CHECK-DAG: %[[C:.*]] = onnx.initializer "fc/bias_folded" = dense<[5.000000e-01, -4.000000e+00]>
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[}}1.000000e+00, 2.000000e+00], [9.000000e+00, 1.200000e+01]]>
// CHECK: onnx.Gemm(%arg0, %[[W]], %[[C]]) {transB = 1 : i64}
func.func @gemm_transb1(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = onnx.initializer "w" = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %y = onnx.Gemm(%x, %w) {transB = 1 : i64} : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("fc")
  %r = norm.batch_norm %y, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}

// -----

// Token MatMul [B, T, K] x [K, C] with its bias Add, then Transpose to
// [B, C, T] and BatchNorm1d: the channel axis is followed back through the
// Transpose to the product's last dim.
// CHECK-LABEL: func.func @matmul_through_transpose
// CHECK-DAG: %[[C:.*]] = onnx.initializer "c_folded" = dense<[1.500000e+00, 2.000000e+00]>
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[}}1.000000e+00, 6.000000e+00], [3.000000e+00, 1.200000e+01]]>
// CHECK: %[[M:.*]] = onnx.MatMul(%arg0, %[[W]])
// CHECK: %[[A:.*]] = onnx.Add(%[[M]], %[[C]])
// CHECK: %[[T:.*]] = onnx.Transpose(%[[A]])
// CHECK: return %[[T]]
func.func @matmul_through_transpose(%x: tensor<1x3x2xf32>) -> tensor<1x2x3xf32> {
  %w = onnx.initializer "w" = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %c = onnx.initializer "c" = dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %p = onnx.MatMul(%x, %w) : (tensor<1x3x2xf32>, tensor<2x2xf32>) -> tensor<1x3x2xf32>
  %y = onnx.Add(%p, %c) : (tensor<1x3x2xf32>, tensor<2xf32>) -> tensor<1x3x2xf32>
  %t = onnx.Transpose(%y) {perm = array<i64: 0, 2, 1>} : (tensor<1x3x2xf32>) -> tensor<1x2x3xf32>
  %r = norm.batch_norm %t, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<1x2x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<1x2x3xf32>
  return %r : tensor<1x2x3xf32>
}

// -----

// The same with an unranked product and bias (what ONNX shape inference
// leaves after a Reshape of computed shape): the rank comes from the
// Transpose's perm, and the bias Add is folded through as a per-channel
// constant (c' = a c + b), the MatMul's columns scaled by a.
// CHECK-LABEL: func.func @unranked_matmul_bias
// CHECK-DAG: %[[C:.*]] = onnx.initializer "add/bias_folded" = dense<[1.500000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[}}1.000000e+00, 6.000000e+00], [3.000000e+00, 1.200000e+01]]>
// CHECK: %[[M:.*]] = onnx.MatMul(%arg0, %[[W]])
// CHECK: %[[A:.*]] = onnx.Add(%[[M]], %[[C]])
// CHECK: %[[T:.*]] = onnx.Transpose(%[[A]]) {{.*}} -> tensor<1x2x3xf32>
// CHECK: return %[[T]]
func.func @unranked_matmul_bias(%x: tensor<*xf32>) -> tensor<1x2x3xf32> {
  %w = onnx.initializer "w" = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %c = onnx.initializer "c" = dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %p = onnx.MatMul(%x, %w) : (tensor<*xf32>, tensor<2x2xf32>) -> tensor<*xf32>
  %y = onnx.Add(%p, %c) : (tensor<*xf32>, tensor<2xf32>) -> tensor<*xf32> loc("add")
  %t = onnx.Transpose(%y) {perm = array<i64: 0, 2, 1>} : (tensor<*xf32>) -> tensor<*xf32>
  %r = norm.batch_norm %t, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<*xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<1x2x3xf32>
  return %r : tensor<1x2x3xf32>
}

// -----

// Gemm [N, 4] -> Reshape [N, 2, 2] -> BatchNorm1d over 2 channels: feature
// f is channel f / 2, so the Gemm's output columns scale by [1, 1, 3, 3].
// CHECK-LABEL: func.func @gemm_through_reshape
// CHECK-DAG: %[[C:.*]] = onnx.initializer "fc/bias_folded" = dense<[5.000000e-01, 5.000000e-01, -4.000000e+00, -4.000000e+00]>
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[}}1.000000e+00, 1.000000e+00, 3.000000e+00, 3.000000e+00]]>
// CHECK: %[[G:.*]] = onnx.Gemm(%arg0, %[[W]], %[[C]])
// CHECK: onnx.Reshape(%[[G]], %{{.*}})
func.func @gemm_through_reshape(%x: tensor<3x1xf32>) -> tensor<3x2x2xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<1x4xf32> : tensor<1x4xf32>
  %shape = onnx.initializer "shape" = dense<[3, 2, 2]> : tensor<3xi64> : tensor<3xi64>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %y = onnx.Gemm(%x, %w) : (tensor<3x1xf32>, tensor<1x4xf32>) -> tensor<3x4xf32> loc("fc")
  %r3 = onnx.Reshape(%y, %shape) : (tensor<3x4xf32>, tensor<3xi64>) -> tensor<3x2x2xf32>
  %r = norm.batch_norm %r3, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<3x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<3x2x2xf32>
  return %r : tensor<3x2x2xf32>
}

// -----

// Conv [N, 2, 1, 1] -> Flatten -> BatchNorm1d [N, 2]: channel stays dim 1.
// CHECK-LABEL: func.func @conv_through_flatten
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[\[\[}}1.000000e+00]]], {{\[\[\[}}3.000000e+00]]]]> : tensor<2x1x1x1xf32>
// CHECK: %[[Y:.*]] = onnx.Conv(%arg0, %[[W]], %{{.*}})
// CHECK: %[[F:.*]] = onnx.Flatten(%[[Y]])
// CHECK: return %[[F]]
func.func @conv_through_flatten(%x: tensor<4x1x1x1xf32>) -> tensor<4x2xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x1x1x1xf32> : tensor<2x1x1x1xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %y = onnx.Conv(%x, %w) : (tensor<4x1x1x1xf32>, tensor<2x1x1x1xf32>) -> tensor<4x2x1x1xf32>
  %f = onnx.Flatten(%y) {axis = 1 : i64} : (tensor<4x2x1x1xf32>) -> tensor<4x2xf32>
  %r = norm.batch_norm %f, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<4x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<4x2xf32>
  return %r : tensor<4x2xf32>
}

// -----

// PRepBN as PyTorch exports it: Transpose -> BN + eta * x -> Transpose
// before a MatMul with a bias. The map a' = a + eta = [1.5, 3.5], b folds
// forwards: W' = diag(a') W, c' = c + b W; the MatMul reads the block input
// again and both Transposes, the Mul and the Add are gone.
// CHECK: reason = "RepBN (eta = 0.50) folded into 1 linear layer(s) reading it"
// CHECK-LABEL: func.func @prepbn
// CHECK-DAG: %[[C:.*]] = onnx.initializer "c_folded" = dense<[-3.500000e+00, 1.000000e+00]>
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[}}1.500000e+00, 0.000000e+00], [3.500000e+00, 3.500000e+00]]>
// CHECK-NOT: onnx.Transpose
// CHECK: %[[M:.*]] = onnx.MatMul(%arg0, %[[W]])
// CHECK: %[[A:.*]] = onnx.Add(%[[M]], %[[C]])
// CHECK: return %[[A]]
func.func @prepbn(%x: tensor<1x3x2xf32>) -> tensor<1x3x2xf32> {
  %w = onnx.initializer "w" = dense<[[1.0, 0.0], [1.0, 1.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %c = onnx.initializer "c" = dense<[0.0, 5.0]> : tensor<2xf32> : tensor<2xf32>
  %eta = onnx.initializer "eta" = dense<0.5> : tensor<1xf32> : tensor<1xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %t = onnx.Transpose(%x) {perm = array<i64: 0, 2, 1>} : (tensor<1x3x2xf32>) -> tensor<1x2x3xf32>
  %bn = norm.batch_norm %t, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<1x2x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<1x2x3xf32>
  %ex = onnx.Mul(%eta, %t) : (tensor<1xf32>, tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
  %sum = onnx.Add(%bn, %ex) : (tensor<1x2x3xf32>, tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
  %back = onnx.Transpose(%sum) {perm = array<i64: 0, 2, 1>} : (tensor<1x2x3xf32>) -> tensor<1x3x2xf32>
  %p = onnx.MatMul(%back, %w) : (tensor<1x3x2xf32>, tensor<2x2xf32>) -> tensor<1x3x2xf32>
  %y = onnx.Add(%p, %c) : (tensor<1x3x2xf32>, tensor<2xf32>) -> tensor<1x3x2xf32>
  return %y : tensor<1x3x2xf32>
}

// -----

// BatchNorm1d on [N, C] from a graph input, read by two Gemms: forwards
// into both.
// CHECK-LABEL: func.func @forward_into_gemms
// CHECK-DAG: onnx.initializer "w1_folded" = dense<{{\[\[}}1.000000e+00], [3.000000e+00]]>
// CHECK-DAG: onnx.initializer "w2_folded" = dense<{{\[\[}}2.000000e+00], [6.000000e+00]]>
// CHECK-DAG: onnx.initializer "g1/bias_folded" = dense<-3.500000e+00>
// CHECK-DAG: onnx.initializer "g2/bias_folded" = dense<-7.000000e+00>
// CHECK: onnx.Gemm(%arg0,
// CHECK: onnx.Gemm(%arg0,
// CHECK-NOT: norm.batch_norm
func.func @forward_into_gemms(%x: tensor<3x2xf32>) -> (tensor<3x1xf32>, tensor<3x1xf32>) {
  %w1 = onnx.initializer "w1" = dense<1.0> : tensor<2x1xf32> : tensor<2x1xf32>
  %w2 = onnx.initializer "w2" = dense<2.0> : tensor<2x1xf32> : tensor<2x1xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %r = norm.batch_norm %x, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<3x2xf32>
  %y1 = onnx.Gemm(%r, %w1) : (tensor<3x2xf32>, tensor<2x1xf32>) -> tensor<3x1xf32> loc("g1")
  %y2 = onnx.Gemm(%r, %w2) : (tensor<3x2xf32>, tensor<2x1xf32>) -> tensor<3x1xf32> loc("g2")
  return %y1, %y2 : tensor<3x1xf32>, tensor<3x1xf32>
}

// -----

// BN after a residual Add, feeding a Relu: neither side takes it; one
// per-channel Mul + Add with [C, 1, 1] constants, under the BN's output name.
// CHECK-LABEL: func.func @after_add
// CHECK-DAG: %[[A:.*]] = onnx.initializer "batch_norm/scale_folded" = dense<{{\[\[\[}}1.000000e+00]], {{\[\[}}3.000000e+00]]]> : tensor<2x1x1xf32>
// CHECK-DAG: %[[B:.*]] = onnx.initializer "batch_norm/shift_folded" = dense<{{\[\[\[}}5.000000e-01]], {{\[\[}}-4.000000e+00]]]> : tensor<2x1x1xf32>
// CHECK: %[[SUM:.*]] = onnx.Add(%arg0, %arg1)
// CHECK: %[[M:.*]] = onnx.Mul(%[[SUM]], %[[A]])
// CHECK: %[[Y:.*]] = onnx.Add(%[[M]], %[[B]]) {onnx.outputs = ["bn_out"]}
// CHECK: onnx.node "Relu"(%[[Y]])
func.func @after_add(%x: tensor<1x2x2x2xf32>, %z: tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %sum = onnx.Add(%x, %z) : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  // expected-remark @+1 {{norm-fold-batchnorm: BatchNorm became a per-channel Mul + Add (producer: its input is produced by onnx.Add, not by a Conv, ConvTranspose, Gemm or MatMul; readers: Relu is not a linear layer)}}
  %r = norm.batch_norm %sum, %s, %b, %m, %v {epsilon = 0.0 : f32, onnx.outputs = ["bn_out"]} : tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<1x2x2x2xf32>
  %relu = onnx.node "Relu"(%r) : (tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  return %relu : tensor<1x2x2x2xf32>
}

// -----

// The Conv's output has another reader (a graph output): its weights must
// not change, so the BN becomes a Mul + Add.
// CHECK-LABEL: func.func @producer_other_reader
// CHECK: %[[Y:.*]] = onnx.Conv(%arg0, %{{.*}}) :
// CHECK: %[[M:.*]] = onnx.Mul(%[[Y]],
// CHECK: %[[A:.*]] = onnx.Add(%[[M]],
// CHECK: return %[[Y]], %[[A]]
func.func @producer_other_reader(%x: tensor<1x2x2x2xf32>) -> (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) {
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x2x1x1xf32> : tensor<2x2x1x1xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %y = onnx.Conv(%x, %w) : (tensor<1x2x2x2xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x2x2xf32>
  // expected-remark @+1 {{became a per-channel Mul + Add (producer: its input has other readers; readers: the value is a graph output)}}
  %r = norm.batch_norm %y, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<1x2x2x2xf32>
  return %y, %r : tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>
}

// -----

// Conv [1, 4, 1, 1] -> Reshape [2, 2, 1] -> BN over 2 channels: element
// (n, c) of the reshaped value is conv channel 2 n + c, so conv channel o
// takes BN channel o mod 2: rows scale by [1, 3, 1, 3].
// CHECK-LABEL: func.func @reshape_interleaves_channels
// CHECK-DAG: onnx.initializer "conv/bias_folded" = dense<[5.000000e-01, -4.000000e+00, 5.000000e-01, -4.000000e+00]>
// CHECK-DAG: onnx.initializer "w_folded" = dense<{{\[\[\[\[}}1.000000e+00]]], {{\[\[\[}}3.000000e+00]]], {{\[\[\[}}1.000000e+00]]], {{\[\[\[}}3.000000e+00]]]]> : tensor<4x1x1x1xf32>
// CHECK-NOT: norm.batch_norm
func.func @reshape_interleaves_channels(%x: tensor<1x1x1x1xf32>) -> tensor<2x2x1xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<4x1x1x1xf32> : tensor<4x1x1x1xf32>
  %shape = onnx.initializer "shape" = dense<[2, 2, 1]> : tensor<3xi64> : tensor<3xi64>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %y = onnx.Conv(%x, %w) : (tensor<1x1x1x1xf32>, tensor<4x1x1x1xf32>) -> tensor<1x4x1x1xf32> loc("conv")
  %r3 = onnx.Reshape(%y, %shape) : (tensor<1x4x1x1xf32>, tensor<3xi64>) -> tensor<2x2x1xf32>
  %r = norm.batch_norm %r3, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<2x2x1xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<2x2x1xf32>
  return %r : tensor<2x2x1xf32>
}

// -----

// Conv [1, 2, 2, 1] -> Reshape [1, 4, 1]: BN channel 2 c + h mixes the conv
// channel with a spatial dim, which no per-channel conv scale can express.
// CHECK-LABEL: func.func @reshape_mixes_channels
// CHECK: onnx.Reshape
// CHECK: onnx.Mul
// CHECK: onnx.Add
func.func @reshape_mixes_channels(%x: tensor<1x2x2x1xf32>) -> tensor<1x4x1xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x2x1x1xf32> : tensor<2x2x1x1xf32>
  %shape = onnx.initializer "shape" = dense<[1, 4, 1]> : tensor<3xi64> : tensor<3xi64>
  %s = onnx.initializer "s" = dense<[2.0, 3.0, 1.0, 1.0]> : tensor<4xf32> : tensor<4xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0, 0.0, 0.0]> : tensor<4xf32> : tensor<4xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0, 0.0, 0.0]> : tensor<4xf32> : tensor<4xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0, 1.0, 1.0]> : tensor<4xf32> : tensor<4xf32>
  %y = onnx.Conv(%x, %w) : (tensor<1x2x2x1xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x2x1xf32>
  %r3 = onnx.Reshape(%y, %shape) : (tensor<1x2x2x1xf32>, tensor<3xi64>) -> tensor<1x4x1xf32>
  // expected-remark @+1 {{producer: onnx.Reshape does not keep the channel axis whole}}
  %r = norm.batch_norm %r3, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<1x4x1xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32> -> tensor<1x4x1xf32>
  return %r : tensor<1x4x1xf32>
}

// -----

// Training-mode BatchNormalization stays an onnx.node (norm-recognize does
// not take it); the pass reports it as refused.
// CHECK: norm.report = [{action = "refused", kind = "batch_norm", name = "", pass = "norm-fold-batchnorm", reason = "training_mode = 1: it normalizes with batch statistics, not the running ones"}]
// CHECK-LABEL: func.func @training_mode
// CHECK: onnx.node "BatchNormalization"
// CHECK-SAME: training_mode = 1
func.func @training_mode(%x: tensor<2x2x2xf32>, %s: tensor<2xf32>, %b: tensor<2xf32>, %m: tensor<2xf32>, %v: tensor<2xf32>) -> (tensor<2x2x2xf32>, tensor<2xf32>, tensor<2xf32>) {
  // expected-remark @+1 {{norm-fold-batchnorm: left unchanged: training_mode = 1: it normalizes with batch statistics, not the running ones}}
  %y, %rm, %rv = onnx.node "BatchNormalization"(%x, %s, %b, %m, %v) {training_mode = 1 : i64} : (tensor<2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<2x2x2xf32>, tensor<2xf32>, tensor<2xf32>)
  return %y, %rm, %rv : tensor<2x2x2xf32>, tensor<2xf32>, tensor<2xf32>
}

// -----

// An inference BN whose running-statistics outputs are used (before opset
// 14 spelling of training) is refused too.
// CHECK-LABEL: func.func @statistics_outputs_used
// CHECK: onnx.node "BatchNormalization"
func.func @statistics_outputs_used(%x: tensor<2x2x2xf32>, %s: tensor<2xf32>, %b: tensor<2xf32>, %m: tensor<2xf32>, %v: tensor<2xf32>) -> (tensor<2x2x2xf32>, tensor<2xf32>) {
  // expected-remark @+1 {{left unchanged: its running mean/variance outputs (training) are used}}
  %y, %rm = onnx.node "BatchNormalization"(%x, %s, %b, %m, %v) : (tensor<2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<2x2x2xf32>, tensor<2xf32>)
  return %y, %rm : tensor<2x2x2xf32>, tensor<2xf32>
}

// -----

// Statistics fed at run time are not constants: refused.
// CHECK-LABEL: func.func @runtime_statistics
// CHECK: norm.batch_norm
func.func @runtime_statistics(%x: tensor<2x2xf32>, %v: tensor<2xf32>) -> tensor<2x2xf32> {
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  // expected-remark @+1 {{norm-fold-batchnorm: left unchanged: its var is not a constant}}
  %r = norm.batch_norm %x, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// -----

// Opset 6 Mul/Add do not broadcast numpy-style: no Mul + Add, no forward
// fold (a new bias) there.
// CHECK-LABEL: func.func @opset6_no_decomposition
// CHECK: norm.batch_norm
module attributes {onnx.opset_import = {ai.onnx = 6 : i64}} {
func.func @opset6_no_decomposition(%x: tensor<2x2xf32>) -> tensor<2x1xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x1xf32> : tensor<2x1xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  // expected-remark @+1 {{left unchanged: producer: its input is a graph input; readers: opset 6 has no numpy broadcasting for a new bias; Mul + Add: opset 6 has no numpy broadcasting for a new bias}}
  %r = norm.batch_norm %x, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<2x2xf32>
  %y = onnx.Gemm(%r, %w) : (tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  return %y : tensor<2x1xf32>
}
}

// -----

// At opset 6 the Conv rule still applies: the bias is a Conv operand.
// CHECK-LABEL: func.func @opset6_conv
// CHECK: onnx.Conv(%arg0, %{{.*}}, %{{.*}})
// CHECK-NOT: norm.batch_norm
module attributes {onnx.opset_import = {ai.onnx = 6 : i64}} {
func.func @opset6_conv(%x: tensor<1x2x1x1xf32>) -> tensor<1x2x1x1xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x2x1x1xf32> : tensor<2x2x1x1xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %y = onnx.Conv(%x, %w) : (tensor<1x2x1x1xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x1x1xf32>
  %r = norm.batch_norm %y, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<1x2x1x1xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<1x2x1x1xf32>
  return %r : tensor<1x2x1x1xf32>
}
}

// -----

// BatchNorm1d on [N, C, L] read directly by a MatMul: the MatMul reduces
// over L, not over the channels, so the map cannot go into it.
// CHECK-LABEL: func.func @channel_not_last
// CHECK: %[[M:.*]] = onnx.Mul(%arg0,
// CHECK: %[[A:.*]] = onnx.Add(%[[M]],
// CHECK: onnx.MatMul(%[[A]],
func.func @channel_not_last(%x: tensor<1x2x3xf32>) -> tensor<1x2x1xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<3x1xf32> : tensor<3x1xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  // expected-remark @+1 {{readers: the channel axis is not the last dim of the value the linear layers read}}
  %r = norm.batch_norm %x, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<1x2x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<1x2x3xf32>
  %y = onnx.MatMul(%r, %w) : (tensor<1x2x3xf32>, tensor<3x1xf32>) -> tensor<1x2x1xf32>
  return %y : tensor<1x2x1xf32>
}

// -----

// fp16 Conv: the folded weight 3 * 30000 overflows fp16 (max 65504); the
// fold is still done (rounded once), with a warning.
// CHECK-LABEL: func.func @fp16_overflow
// CHECK: onnx.initializer "w_folded" = dense<{{\[\[\[\[}}3.000000e+04]]], {{\[\[\[}}0x7C00]]]]> : tensor<2x1x1x1xf16>
func.func @fp16_overflow(%x: tensor<1x1x1x1xf16>) -> tensor<1x2x1x1xf16> {
  %w = onnx.initializer "w" = dense<30000.0> : tensor<2x1x1x1xf16> : tensor<2x1x1x1xf16>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf16> : tensor<2xf16>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf16> : tensor<2xf16>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf16> : tensor<2xf16>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf16> : tensor<2xf16>
  %y = onnx.Conv(%x, %w) : (tensor<1x1x1x1xf16>, tensor<2x1x1x1xf16>) -> tensor<1x2x1x1xf16> loc("conv")
  // expected-warning @+1 {{norm-fold-batchnorm: folded weight of 'conv' (onnx.Conv) in fp16: relative error 0.00e+00 (warning above 4.88e-04), 1 value(s) overflow}}
  %r = norm.batch_norm %y, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<1x2x1x1xf16>, tensor<2xf16>, tensor<2xf16>, tensor<2xf16>, tensor<2xf16> -> tensor<1x2x1x1xf16>
  return %r : tensor<1x2x1x1xf16>
}

// -----

// PRepBN on an unranked stream (shape inference gave up after a computed
// Reshape): the rank comes from the Transposes' perms. The MatMul's own bias
// Add is not seen as its bias through the unranked product, so the fold
// gives the MatMul a new bias Add; the two constant Adds merge into one:
// c + b W = [0, 5] + [-3.5, -4].
// CHECK-LABEL: func.func @prepbn_unranked
// CHECK-DAG: %[[C:.*]] = onnx.initializer "bias/bias_folded" = dense<[-3.500000e+00, 1.000000e+00]>
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[}}1.500000e+00, 0.000000e+00], [3.500000e+00, 3.500000e+00]]>
// CHECK: %[[M:.*]] = onnx.MatMul(%arg0, %[[W]])
// CHECK-NEXT: %[[A:.*]] = onnx.Add(%[[M]], %[[C]])
// CHECK-NEXT: return %[[A]]
func.func @prepbn_unranked(%x: tensor<*xf32>) -> tensor<*xf32> {
  %w = onnx.initializer "w" = dense<[[1.0, 0.0], [1.0, 1.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %c = onnx.initializer "c" = dense<[0.0, 5.0]> : tensor<2xf32> : tensor<2xf32>
  %eta = onnx.initializer "eta" = dense<0.5> : tensor<1xf32> : tensor<1xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %t = onnx.Transpose(%x) {perm = array<i64: 0, 2, 1>} : (tensor<*xf32>) -> tensor<*xf32>
  %bn = norm.batch_norm %t, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<*xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<*xf32>
  %ex = onnx.Mul(%t, %eta) : (tensor<*xf32>, tensor<1xf32>) -> tensor<*xf32>
  %sum = onnx.Add(%ex, %bn) : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %back = onnx.Transpose(%sum) {perm = array<i64: 0, 2, 1>} : (tensor<*xf32>) -> tensor<*xf32>
  %p = onnx.MatMul(%back, %w) : (tensor<*xf32>, tensor<2x2xf32>) -> tensor<*xf32>
  %y = onnx.Add(%p, %c) : (tensor<*xf32>, tensor<2xf32>) -> tensor<*xf32> loc("bias")
  return %y : tensor<*xf32>
}

// -----

// A Reshape with unknown shapes cannot be followed: Mul + Add, with the
// reason.
// CHECK-LABEL: func.func @reshape_unknown_shapes
// CHECK: onnx.Mul
func.func @reshape_unknown_shapes(%x: tensor<*xf32>, %shape: tensor<3xi64>) -> tensor<*xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x1xf32> : tensor<2x1xf32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %y = onnx.MatMul(%x, %w) : (tensor<*xf32>, tensor<2x1xf32>) -> tensor<*xf32>
  %r3 = onnx.Reshape(%y, %shape) : (tensor<*xf32>, tensor<3xi64>) -> tensor<1x2x3xf32>
  // expected-remark @+1 {{producer: onnx.Reshape has shapes that are not known; readers: Tanh is not a linear layer}}
  %r = norm.batch_norm %r3, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<1x2x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<1x2x3xf32>
  %t = onnx.node "Tanh"(%r) : (tensor<1x2x3xf32>) -> tensor<*xf32>
  return %t : tensor<*xf32>
}

// -----

// RepBN whose input comes from a MatMul (through the Transpose) folds
// backwards like a BN: the columns scale by a + eta = [1.5, 3.5] and the
// MatMul gains the bias b. The two Transposes then cancel.
// CHECK-LABEL: func.func @repbn_backwards
// CHECK-DAG: %[[C:.*]] = onnx.initializer "mm/bias_folded" = dense<[5.000000e-01, -4.000000e+00]>
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[}}1.500000e+00, 7.000000e+00], [4.500000e+00, 1.400000e+01]]>
// CHECK: %[[M:.*]] = onnx.MatMul(%arg0, %[[W]])
// CHECK: %[[A:.*]] = onnx.Add(%[[M]], %[[C]])
// CHECK-NOT: onnx.Transpose
// CHECK: onnx.node "Relu"(%[[A]])
func.func @repbn_backwards(%x: tensor<1x3x2xf32>) -> tensor<1x3x2xf32> {
  %w = onnx.initializer "w" = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %eta = onnx.initializer "eta" = dense<0.5> : tensor<f32> : tensor<f32>
  %s = onnx.initializer "s" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[1.0, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %m = onnx.initializer "m" = dense<[0.5, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %v = onnx.initializer "v" = dense<[4.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %p = onnx.MatMul(%x, %w) : (tensor<1x3x2xf32>, tensor<2x2xf32>) -> tensor<1x3x2xf32> loc("mm")
  %t = onnx.Transpose(%p) {perm = array<i64: 0, 2, 1>} : (tensor<1x3x2xf32>) -> tensor<1x2x3xf32>
  %bn = norm.batch_norm %t, %s, %b, %m, %v {epsilon = 0.0 : f32} : tensor<1x2x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32> -> tensor<1x2x3xf32>
  %ex = onnx.Mul(%t, %eta) : (tensor<1x2x3xf32>, tensor<f32>) -> tensor<1x2x3xf32>
  %sum = onnx.Add(%bn, %ex) : (tensor<1x2x3xf32>, tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
  %back = onnx.Transpose(%sum) {perm = array<i64: 0, 2, 1>} : (tensor<1x2x3xf32>) -> tensor<1x3x2xf32>
  %r = onnx.node "Relu"(%back) : (tensor<1x3x2xf32>) -> tensor<1x3x2xf32>
  return %r : tensor<1x3x2xf32>
}
