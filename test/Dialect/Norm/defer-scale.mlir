// RUN: norm-opt %s --norm-defer-scale -split-input-file -verify-diagnostics | FileCheck %s
// RUN: norm-opt %s --norm-defer-scale=cancel-before-rms-norm -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=CANCEL

// Weightless RMSNorm -> bias-free MatMul and MatMul + bias: both read the raw
// input; the factor comes right after each product, before the bias.
// CHECK-LABEL: func.func @two_readers
// CHECK-NOT: norm.rms_norm
// CHECK: %[[M:.*]] = onnx.MatMul(%arg0, %{{.*}})
// CHECK: %[[S:.*]] = norm.rms_scale %[[M]] by %arg0 {epsilon = 9.99999997E-7 : f32} : tensor<2x8x3xf32>, tensor<2x8x4xf32> -> tensor<2x8x3xf32>
// CHECK: %[[M2:.*]] = onnx.MatMul(%arg0, %{{.*}})
// CHECK: %[[S2:.*]] = norm.rms_scale %[[M2]] by %arg0
// CHECK: %[[A:.*]] = onnx.Add(%[[S2]], %{{.*}})
// CHECK: return %[[S]], %[[A]]
func.func @two_readers(%x: tensor<2x8x4xf32>) -> (tensor<2x8x3xf32>, tensor<2x8x3xf32>) {
  %w = onnx.initializer "w" = dense<1.0> : tensor<4x3xf32> : tensor<4x3xf32>
  %c = onnx.initializer "c" = dense<1.0> : tensor<3xf32> : tensor<3xf32>
  %y = norm.rms_norm %x {epsilon = 1.0e-06 : f32} : tensor<2x8x4xf32> -> tensor<2x8x4xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<2x8x4xf32>, tensor<4x3xf32>) -> tensor<2x8x3xf32>
  %m2 = onnx.MatMul(%y, %w) : (tensor<2x8x4xf32>, tensor<4x3xf32>) -> tensor<2x8x3xf32>
  %a = onnx.Add(%m2, %c) : (tensor<2x8x3xf32>, tensor<3xf32>) -> tensor<2x8x3xf32>
  return %m, %a : tensor<2x8x3xf32>, tensor<2x8x3xf32>
}

// -----

// SwiGLU: the gate's factor stays before the activation; the up branch's
// factor moves past the down projection (before its bias Add).
// CHECK-LABEL: func.func @swiglu
// CHECK: %[[G:.*]] = onnx.MatMul(%arg0, %{{.*}})
// CHECK: %[[GS:.*]] = norm.rms_scale %[[G]] by %arg0
// CHECK: %[[U:.*]] = onnx.MatMul(%arg0, %{{.*}})
// CHECK: onnx.node "Sigmoid"(%[[GS]])
// CHECK: %[[H:.*]] = onnx.Mul(%{{.*}}, %[[U]])
// CHECK: %[[D:.*]] = onnx.MatMul(%[[H]], %{{.*}})
// CHECK: %[[DS:.*]] = norm.rms_scale %[[D]] by %arg0
// CHECK: onnx.Add(%[[DS]], %{{.*}})
func.func @swiglu(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %wg = onnx.initializer "wg" = dense<1.0> : tensor<4x6xf32> : tensor<4x6xf32>
  %wu = onnx.initializer "wu" = dense<2.0> : tensor<4x6xf32> : tensor<4x6xf32>
  %wd = onnx.initializer "wd" = dense<3.0> : tensor<6x4xf32> : tensor<6x4xf32>
  %bd = onnx.initializer "bd" = dense<3.0> : tensor<4xf32> : tensor<4xf32>
  %y = norm.rms_norm %x : tensor<8x4xf32> -> tensor<8x4xf32>
  %g = onnx.MatMul(%y, %wg) : (tensor<8x4xf32>, tensor<4x6xf32>) -> tensor<8x6xf32>
  %u = onnx.MatMul(%y, %wu) : (tensor<8x4xf32>, tensor<4x6xf32>) -> tensor<8x6xf32>
  %s = onnx.node "Sigmoid"(%g) : (tensor<8x6xf32>) -> tensor<8x6xf32>
  %silu = onnx.Mul(%g, %s) : (tensor<8x6xf32>, tensor<8x6xf32>) -> tensor<8x6xf32>
  %h = onnx.Mul(%silu, %u) : (tensor<8x6xf32>, tensor<8x6xf32>) -> tensor<8x6xf32>
  %d = onnx.MatMul(%h, %wd) : (tensor<8x6xf32>, tensor<6x4xf32>) -> tensor<8x4xf32>
  %o = onnx.Add(%d, %bd) : (tensor<8x4xf32>, tensor<4xf32>) -> tensor<8x4xf32>
  return %o : tensor<8x4xf32>
}

// -----

// RMSNorm -> bias-free linear -> RMSNorm: by default the factor is deferred
// like any other; with cancel-before-rms-norm it is dropped.
// CHECK-LABEL: func.func @cancellation
// CHECK: %[[M:.*]] = onnx.MatMul(%arg0, %{{.*}})
// CHECK: %[[S:.*]] = norm.rms_scale %[[M]] by %arg0
// CHECK: norm.rms_norm %[[S]]
// CANCEL-LABEL: func.func @cancellation
// CANCEL: %[[M:.*]] = onnx.MatMul(%arg0, %{{.*}})
// CANCEL-NOT: norm.rms_scale
// CANCEL: norm.rms_norm %[[M]]
func.func @cancellation(%x: tensor<8x4xf32>) -> tensor<8x3xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<4x3xf32> : tensor<4x3xf32>
  %y = norm.rms_norm %x : tensor<8x4xf32> -> tensor<8x4xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<8x4xf32>, tensor<4x3xf32>) -> tensor<8x3xf32>
  %z = norm.rms_norm %m : tensor<8x3xf32> -> tensor<8x3xf32>
  // expected-remark @-1 {{norm-defer-scale: left unchanged: cannot defer past its readers: the value is a graph output}}
  return %z : tensor<8x3xf32>
}

// -----

// A Gemm without a bias is a linear reader like a MatMul.
// CHECK-LABEL: func.func @gemm_reader
// CHECK: %[[G:.*]] = onnx.Gemm(%arg0, %{{.*}}) {transB = 1 : i64}
// CHECK: norm.rms_scale %[[G]] by %arg0
func.func @gemm_reader(%x: tensor<8x4xf32>) -> tensor<8x3xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<3x4xf32> : tensor<3x4xf32>
  %y = norm.rms_norm %x : tensor<8x4xf32> -> tensor<8x4xf32>
  %m = onnx.Gemm(%y, %w) {transB = 1 : i64} : (tensor<8x4xf32>, tensor<3x4xf32>) -> tensor<8x3xf32>
  return %m : tensor<8x3xf32>
}

// -----

// Refusal: the norm still has a scale.
func.func @refuse_scale(%x: tensor<8x4xf32>) -> tensor<8x3xf32> {
  %g = onnx.initializer "g" = dense<2.0> : tensor<4xf32> : tensor<4xf32>
  %w = onnx.initializer "w" = dense<1.0> : tensor<4x3xf32> : tensor<4x3xf32>
  // expected-remark @+1 {{norm-defer-scale: left unchanged: it has a scale or bias (run --norm-fold-weights first)}}
  %y = norm.rms_norm %x scale(%g : tensor<4xf32>) : tensor<8x4xf32> -> tensor<8x4xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<8x4xf32>, tensor<4x3xf32>) -> tensor<8x3xf32>
  return %m : tensor<8x3xf32>
}

// -----

// Refusal: a Gemm reader adds its bias inside the op.
func.func @refuse_gemm_bias(%x: tensor<8x4xf32>) -> tensor<8x3xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<4x3xf32> : tensor<4x3xf32>
  %c = onnx.initializer "c" = dense<1.0> : tensor<3xf32> : tensor<3xf32>
  // expected-remark @+1 {{a Gemm reader adds a bias, which must come after the scale}}
  %y = norm.rms_norm %x : tensor<8x4xf32> -> tensor<8x4xf32>
  %m = onnx.Gemm(%y, %w, %c) : (tensor<8x4xf32>, tensor<4x3xf32>, tensor<3xf32>) -> tensor<8x3xf32>
  return %m : tensor<8x3xf32>
}

// -----

// Refusal: a reader is not a linear layer.
func.func @refuse_nonlinear(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  // expected-remark @+1 {{cannot defer past its readers: 'act' (Relu) is not a linear layer}}
  %y = norm.rms_norm %x : tensor<8x4xf32> -> tensor<8x4xf32>
  %r = onnx.node "Relu"(%y) : (tensor<8x4xf32>) -> tensor<8x4xf32> loc("act")
  return %r : tensor<8x4xf32>
}

// -----

// Weightless skip RMSNorm: the readers read the residual sum, which becomes
// Add(Add(input, skip), skip_bias) under the op's sum name; the residual
// stream reads the same value, and each product gets the factor of the sum.
// CHECK-LABEL: module attributes {norm.report = [{action = "deferred", kind = "skip_rms_norm", name = "n", pass = "norm-defer-scale", reason = "1/RMS applied after 2 linear layer(s), 0 of them past the down projection, 0 cancelled by a following RMSNorm; they read the residual sum (Add)"}]}
// CHECK-LABEL: func.func @skip_rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x4xf32>, %[[S:.*]]: tensor<2x8x4xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK-NOT: norm.skip_rms_norm
// CHECK: %[[A:.*]] = onnx.Add(%[[X]], %[[S]])
// CHECK: %[[SUM:.*]] = onnx.Add(%[[A]], %[[B]]) {onnx.outputs = ["h"]}
// CHECK: %[[M:.*]] = onnx.MatMul(%[[SUM]], %{{.*}})
// CHECK: %[[F:.*]] = norm.rms_scale %[[M]] by %[[SUM]] {epsilon = 9.99999997E-7 : f32}
// CHECK: %[[M2:.*]] = onnx.MatMul(%[[SUM]], %{{.*}})
// CHECK: %[[F2:.*]] = norm.rms_scale %[[M2]] by %[[SUM]] {epsilon = 9.99999997E-7 : f32}
// CHECK: %[[R:.*]] = onnx.Add(%[[SUM]], %[[F]])
// CHECK: return %[[R]], %[[F2]]
// CANCEL-LABEL: func.func @skip_rms_norm
// CANCEL: norm.rms_scale
// CANCEL: norm.rms_scale
// CANCEL: return
func.func @skip_rms_norm(%x: tensor<2x8x4xf32>, %s: tensor<2x8x4xf32>, %b: tensor<4xf32>) -> (tensor<2x8x4xf32>, tensor<2x8x3xf32>) {
  %w = onnx.initializer "w" = dense<1.0> : tensor<4x4xf32> : tensor<4x4xf32>
  %w2 = onnx.initializer "w2" = dense<1.0> : tensor<4x3xf32> : tensor<4x3xf32>
  %y, %h = norm.skip_rms_norm %x, %s skip_bias(%b : tensor<4xf32>) {epsilon = 1.0e-06 : f32, onnx.outputs = ["n", "h"]} : tensor<2x8x4xf32>, tensor<2x8x4xf32> -> tensor<2x8x4xf32>, tensor<2x8x4xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<2x8x4xf32>, tensor<4x4xf32>) -> tensor<2x8x4xf32>
  %m2 = onnx.MatMul(%y, %w2) : (tensor<2x8x4xf32>, tensor<4x3xf32>) -> tensor<2x8x3xf32>
  %r = onnx.Add(%h, %m) : (tensor<2x8x4xf32>, tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
  return %r, %m2 : tensor<2x8x4xf32>, tensor<2x8x3xf32>
}

// -----

// Refusals for the skip form: a scale left; a skip bias in fp16, which two
// Adds would round twice where the op rounds its fp32 sum once.
func.func @refuse_skip_scale(%x: tensor<8x4xf32>, %s: tensor<8x4xf32>, %g: tensor<4xf32>) -> tensor<8x3xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<4x3xf32> : tensor<4x3xf32>
  // expected-remark @+1 {{norm-defer-scale: left unchanged: it has a scale (run --norm-fold-weights first)}}
  %y, %h = norm.skip_rms_norm %x, %s scale(%g : tensor<4xf32>) : tensor<8x4xf32>, tensor<8x4xf32> -> tensor<8x4xf32>, tensor<8x4xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<8x4xf32>, tensor<4x3xf32>) -> tensor<8x3xf32>
  return %m : tensor<8x3xf32>
}
func.func @refuse_skip_bias_fp16(%x: tensor<8x4xf16>, %s: tensor<8x4xf16>, %b: tensor<4xf16>) -> tensor<8x3xf16> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<4x3xf16> : tensor<4x3xf16>
  // expected-remark @+1 {{norm-defer-scale: left unchanged: its sum with a skip bias would round twice as Adds in 16-bit floats}}
  %y, %h = norm.skip_rms_norm %x, %s skip_bias(%b : tensor<4xf16>) : tensor<8x4xf16>, tensor<8x4xf16> -> tensor<8x4xf16>, tensor<8x4xf16>
  %m = onnx.MatMul(%y, %w) : (tensor<8x4xf16>, tensor<4x3xf16>) -> tensor<8x3xf16>
  return %m : tensor<8x3xf16>
}

// -----

// Readers.h: a Shape reader and a Reshape that keeps the hidden axis read the
// raw input instead; the factor of the layer behind the Reshape is the RMS of
// the reshaped rows.
// CHECK-LABEL: func.func @shape_and_reshape_readers
// CHECK: onnx.Shape(%arg0)
// CHECK: %[[R:.*]] = onnx.Reshape(%arg0, %{{.*}})
// CHECK: %[[M:.*]] = onnx.MatMul(%[[R]], %{{.*}})
// CHECK: norm.rms_scale %[[M]] by %[[R]] : tensor<6x2xf32>, tensor<6x4xf32>
func.func @shape_and_reshape_readers(%x: tensor<2x3x4xf32>) -> (tensor<3xi64>, tensor<6x2xf32>) {
  %w = onnx.initializer "w" = dense<1.0> : tensor<4x2xf32> : tensor<4x2xf32>
  %s = onnx.initializer "s" = dense<[6, 4]> : tensor<2xi64> : tensor<2xi64>
  %y = norm.rms_norm %x : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %shape = onnx.Shape(%y) : (tensor<2x3x4xf32>) -> tensor<3xi64>
  %r = onnx.Reshape(%y, %s) : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<6x4xf32>
  %m = onnx.MatMul(%r, %w) : (tensor<6x4xf32>, tensor<4x2xf32>) -> tensor<6x2xf32>
  return %shape, %m : tensor<3xi64>, tensor<6x2xf32>
}

// -----

// A norm over the last two dims has rows of 12 values: through a Reshape
// that keeps only the last dim, the rows would differ.
func.func @reshape_of_multi_dim_norm(%x: tensor<2x3x4xf32>) -> tensor<6x2xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<4x2xf32> : tensor<4x2xf32>
  %s = onnx.initializer "s" = dense<[6, 4]> : tensor<2xi64> : tensor<2xi64>
  // expected-remark @+1 {{norm-defer-scale: left unchanged: it normalizes more than the last dim, and a reader reshapes or transposes its output}}
  %y = norm.rms_norm %x {axis = -2 : i64} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %r = onnx.Reshape(%y, %s) : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<6x4xf32>
  %m = onnx.MatMul(%r, %w) : (tensor<6x4xf32>, tensor<4x2xf32>) -> tensor<6x2xf32>
  return %m : tensor<6x2xf32>
}
