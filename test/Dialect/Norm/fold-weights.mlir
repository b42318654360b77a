// RUN: norm-opt %s --norm-fold-weights -split-input-file -verify-diagnostics | FileCheck %s

// LayerNorm read by a MatMul + bias Add and by a bias-free MatMul: gamma
// scales the rows of both weights, beta W joins the existing bias and gives
// the other MatMul a new one. The old weights are erased.
// CHECK-LABEL: func.func @layer_norm_two_readers
// CHECK-DAG: %[[B2:.*]] = onnx.initializer "mm2/bias_folded" = dense<-5.000000e-01> : tensor<2xf32>
// CHECK-DAG: %[[W2:.*]] = onnx.initializer "w2_folded" = dense<{{\[\[}}1.000000e+00, 1.000000e+00], [2.000000e+00, 2.000000e+00], [3.000000e+00, 3.000000e+00], [4.000000e+00, 4.000000e+00]]>
// CHECK-DAG: %[[C:.*]] = onnx.initializer "c_folded" = dense<[5.000000e-01, 1.500000e+00, 2.500000e+00]>
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[}}1.000000e+00, 1.000000e+00, 1.000000e+00], [2.000000e+00, 2.000000e+00, 2.000000e+00], [3.000000e+00, 3.000000e+00, 3.000000e+00], [4.000000e+00, 4.000000e+00, 4.000000e+00]]>
// CHECK: %[[N:.*]] = norm.layer_norm %arg0 :
// CHECK: %[[M:.*]] = onnx.MatMul(%[[N]], %[[W]])
// CHECK: %[[A:.*]] = onnx.Add(%[[M]], %[[C]])
// CHECK: %[[M2:.*]] = onnx.MatMul(%[[N]], %[[W2]])
// CHECK: %[[A2:.*]] = onnx.Add(%[[M2]], %[[B2]])
// CHECK: return %[[A]], %[[A2]]
// CHECK-NOT: onnx.initializer "g"
func.func @layer_norm_two_readers(%x: tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x2xf32>) {
  %g = onnx.initializer "g" = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
  %b = onnx.initializer "b" = dense<[0.5, 0.0, 0.0, -1.0]> : tensor<4xf32> : tensor<4xf32>
  %w = onnx.initializer "w" = dense<1.0> : tensor<4x3xf32> : tensor<4x3xf32>
  %c = onnx.initializer "c" = dense<[1.0, 2.0, 3.0]> : tensor<3xf32> : tensor<3xf32>
  %w2 = onnx.initializer "w2" = dense<1.0> : tensor<4x2xf32> : tensor<4x2xf32>
  %y = norm.layer_norm %x scale(%g : tensor<4xf32>) bias(%b : tensor<4xf32>) {epsilon = 1.0e-05 : f32} : tensor<2x4xf32> -> tensor<2x4xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %a = onnx.Add(%m, %c) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %m2 = onnx.MatMul(%y, %w2) : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32> loc("mm2")
  return %a, %m2 : tensor<2x3xf32>, tensor<2x2xf32>
}

// -----

// Gemma (1 + w) gain into a Gemm with transB = 1: the gain is 1 + w, the
// weight keeps its [N, K] layout, and the norm loses unit_offset.
// CHECK-LABEL: func.func @gemma_gain_gemm_transb
// CHECK: %[[W:.*]] = onnx.initializer "wt_folded" = dense<{{\[\[}}1.000000e+00, 3.000000e+00], [2.000000e+00, 6.000000e+00]]> : tensor<2x2xf32>
// CHECK: %[[N:.*]] = norm.rms_norm %arg0 {epsilon = 9.99999997E-7 : f32} :
// CHECK: onnx.Gemm(%[[N]], %[[W]]) {transB = 1 : i64}
func.func @gemma_gain_gemm_transb(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %g = onnx.initializer "g" = dense<[0.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %w = onnx.initializer "wt" = dense<[[1.0, 1.0], [2.0, 2.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %y = norm.rms_norm %x scale(%g : tensor<2xf32>) {epsilon = 1.0e-06 : f32, unit_offset} : tensor<3x2xf32> -> tensor<3x2xf32>
  %r = onnx.Gemm(%y, %w) {transB = 1 : i64} : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}

// -----

// Gemm with transB = 0, alpha and beta, and a bias C: C becomes
// alpha * (beta / alpha * C + beta_ln W) with beta = 1.
// CHECK-LABEL: func.func @gemm_alpha_beta_bias
// CHECK-DAG: %[[C:.*]] = onnx.initializer "c_folded" = dense<[1.050000e+01, 5.000000e-01]>
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[}}2.000000e+00, 0.000000e+00], [0.000000e+00, 3.000000e+00]]>
// CHECK: onnx.Gemm(%{{.*}}, %[[W]], %[[C]]) {alpha = 2.000000e+00 : f32}
func.func @gemm_alpha_beta_bias(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %g = onnx.initializer "g" = dense<[2.0, 3.0]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[5.0, 0.0]> : tensor<2xf32> : tensor<2xf32>
  %w = onnx.initializer "w" = dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %c = onnx.initializer "c" = dense<[1.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %y = norm.layer_norm %x scale(%g : tensor<2xf32>) bias(%b : tensor<2xf32>) : tensor<3x2xf32> -> tensor<3x2xf32>
  %r = onnx.Gemm(%y, %w, %c) {alpha = 2.0 : f32, beta = 0.5 : f32} : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}

// -----

// The final norm before a tied LM head: the embedding table is read by
// Gather and, through a Transpose, by the head. The head gets its own folded
// [K, N] copy; the table and the Gather are untouched; the Transpose goes.
// CHECK-LABEL: func.func @tied_lm_head
// CHECK-DAG: %[[HEAD:.*]] = onnx.initializer "wte_folded" = dense<{{\[\[}}1.000000e+00, 3.000000e+00, 5.000000e+00], [4.000000e+00, 8.000000e+00, 1.200000e+01]]> : tensor<2x3xf32>
// CHECK-DAG: %[[WTE:.*]] = onnx.initializer "wte" = dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00]]>
// CHECK: onnx.Gather(%[[WTE]], %arg0)
// CHECK-NOT: onnx.Transpose
// CHECK: onnx.MatMul(%{{.*}}, %[[HEAD]])
func.func @tied_lm_head(%ids: tensor<4xi64>) -> tensor<4x3xf32> {
  %wte = onnx.initializer "wte" = dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32> : tensor<3x2xf32>
  %g = onnx.initializer "g" = dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>
  %e = onnx.Gather(%wte, %ids) : (tensor<3x2xf32>, tensor<4xi64>) -> tensor<4x2xf32>
  %y = norm.rms_norm %e scale(%g : tensor<2xf32>) : tensor<4x2xf32> -> tensor<4x2xf32>
  %t = onnx.Transpose(%wte) {perm = array<i64: 1, 0>} : (tensor<3x2xf32>) -> tensor<2x3xf32>
  %logits = onnx.MatMul(%y, %t) : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %logits : tensor<4x3xf32>
}

// -----

// SwiGLU gate and up projections share the norm; both take gamma. A fused
// QKV projection is one reader like any other.
// CHECK-LABEL: func.func @glu_gate_and_up
// CHECK-DAG: onnx.initializer "up_folded" = dense<{{\[\[}}2.000000e+00], [5.000000e-01]]>
// CHECK-DAG: onnx.initializer "gate_folded" = dense<{{\[\[}}-2.000000e+00], [5.000000e-01]]>
// CHECK: norm.rms_norm %arg0 :
func.func @glu_gate_and_up(%x: tensor<3x2xf32>) -> tensor<3x1xf32> {
  %g = onnx.initializer "g" = dense<[2.0, 0.5]> : tensor<2xf32> : tensor<2xf32>
  %wg = onnx.initializer "gate" = dense<[[-1.0], [1.0]]> : tensor<2x1xf32> : tensor<2x1xf32>
  %wu = onnx.initializer "up" = dense<1.0> : tensor<2x1xf32> : tensor<2x1xf32>
  %y = norm.rms_norm %x scale(%g : tensor<2xf32>) : tensor<3x2xf32> -> tensor<3x2xf32>
  %gate = onnx.MatMul(%y, %wg) : (tensor<3x2xf32>, tensor<2x1xf32>) -> tensor<3x1xf32>
  %up = onnx.MatMul(%y, %wu) : (tensor<3x2xf32>, tensor<2x1xf32>) -> tensor<3x1xf32>
  %s = onnx.node "Sigmoid"(%gate) : (tensor<3x1xf32>) -> tensor<3x1xf32>
  %silu = onnx.Mul(%gate, %s) : (tensor<3x1xf32>, tensor<3x1xf32>) -> tensor<3x1xf32>
  %h = onnx.Mul(%silu, %up) : (tensor<3x1xf32>, tensor<3x1xf32>) -> tensor<3x1xf32>
  return %h : tensor<3x1xf32>
}

// -----

// Skip form: only the normalized output is folded; the residual sum stays a
// graph output.
// CHECK-LABEL: func.func @skip_layer_norm
// CHECK: %[[W:.*]] = onnx.initializer "w_folded" = dense<3.000000e+00> : tensor<2x1xf32>
// CHECK: %[[N:.*]], %[[S:.*]] = norm.skip_layer_norm %arg0, %arg1 :
// CHECK: onnx.MatMul(%[[N]], %[[W]])
func.func @skip_layer_norm(%x: tensor<3x2xf32>, %r: tensor<3x2xf32>) -> (tensor<3x1xf32>, tensor<3x2xf32>) {
  %g = onnx.initializer "g" = dense<3.0> : tensor<2xf32> : tensor<2xf32>
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x1xf32> : tensor<2x1xf32>
  %y, %sum = norm.skip_layer_norm %x, %r scale(%g : tensor<2xf32>) {epsilon = 1.0e-05 : f32} : tensor<3x2xf32>, tensor<3x2xf32> -> tensor<3x2xf32>, tensor<3x2xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf32>, tensor<2x1xf32>) -> tensor<3x1xf32>
  return %m, %sum : tensor<3x1xf32>, tensor<3x2xf32>
}

// -----

// A weightless norm has nothing to fold: no change, no remark.
// CHECK-LABEL: func.func @already_weightless
// CHECK: onnx.initializer "w" =
func.func @already_weightless(%x: tensor<3x2xf32>) -> tensor<3x1xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x1xf32> : tensor<2x1xf32>
  %y = norm.rms_norm %x : tensor<3x2xf32> -> tensor<3x2xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf32>, tensor<2x1xf32>) -> tensor<3x1xf32>
  return %m : tensor<3x1xf32>
}

// -----

// fp16: a folded value above 65504 overflows: warn, and fold anyway.
// CHECK-LABEL: func.func @fp16_overflow
// CHECK: onnx.initializer "w_folded" = dense<0x7C00>
func.func @fp16_overflow(%x: tensor<3x2xf16>) -> tensor<3x1xf16> {
  %g = onnx.initializer "g" = dense<1000.0> : tensor<2xf16> : tensor<2xf16>
  %w = onnx.initializer "w" = dense<100.0> : tensor<2x1xf16> : tensor<2x1xf16>
  // expected-warning @+1 {{norm-fold-weights: folded weight of 'head' (onnx.MatMul) in fp16: relative error 0.00e+00 (warning above 4.88e-04), 2 value(s) overflow}}
  %y = norm.rms_norm %x scale(%g : tensor<2xf16>) : tensor<3x2xf16> -> tensor<3x2xf16>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf16>, tensor<2x1xf16>) -> tensor<3x1xf16> loc("head")
  return %m : tensor<3x1xf16>
}

// -----

// fp16: one folded value in the subnormal range rounds badly, but the tensor
// as a whole keeps its precision (relative error about 3e-8): no warning.
func.func @fp16_one_subnormal(%x: tensor<3x2xf16>) -> tensor<3x1xf16> {
  %g = onnx.initializer "g" = dense<[1.0e-3, 1.0]> : tensor<2xf16> : tensor<2xf16>
  %w = onnx.initializer "w" = dense<[[3.0e-3], [1.0]]> : tensor<2x1xf16> : tensor<2x1xf16>
  %y = norm.rms_norm %x scale(%g : tensor<2xf16>) : tensor<3x2xf16> -> tensor<3x2xf16>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf16>, tensor<2x1xf16>) -> tensor<3x1xf16> loc("proj")
  return %m : tensor<3x1xf16>
}

// -----

// fp16: every folded value falls in the subnormal range, so the tensor loses
// relative precision as a whole: warn.
func.func @fp16_subnormal(%x: tensor<3x2xf16>) -> tensor<3x1xf16> {
  %g = onnx.initializer "g" = dense<[1.0e-3, 1.0e-3]> : tensor<2xf16> : tensor<2xf16>
  %w = onnx.initializer "w" = dense<[[3.0e-3], [2.0e-3]]> : tensor<2x1xf16> : tensor<2x1xf16>
  // expected-warning-re @+1 {{folded weight of 'proj' (onnx.MatMul) in fp16: relative error {{[0-9.]+}}e-0{{[23]}} (warning above 4.88e-04), 0 value(s) overflow}}
  %y = norm.rms_norm %x scale(%g : tensor<2xf16>) : tensor<3x2xf16> -> tensor<3x2xf16>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf16>, tensor<2x1xf16>) -> tensor<3x1xf16> loc("proj")
  return %m : tensor<3x1xf16>
}

// -----

// Refusal: the normalized value is a graph output.
func.func @refuse_graph_output(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x1xf32>) {
  %g = onnx.initializer "g" = dense<2.0> : tensor<2xf32> : tensor<2xf32>
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x1xf32> : tensor<2x1xf32>
  // expected-remark @+1 {{norm-fold-weights: left unchanged: cannot fold into its readers: the value is a graph output}}
  %y = norm.rms_norm %x scale(%g : tensor<2xf32>) : tensor<3x2xf32> -> tensor<3x2xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf32>, tensor<2x1xf32>) -> tensor<3x1xf32>
  return %y, %m : tensor<3x2xf32>, tensor<3x1xf32>
}

// -----

// Refusal: one reader is not a linear layer (a residual Add of the
// normalized value).
// CHECK-LABEL: func.func @refuse_nonlinear_reader
// CHECK: onnx.initializer "w" =
// CHECK: norm.rms_norm %arg0 scale
func.func @refuse_nonlinear_reader(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x1xf32>) {
  %g = onnx.initializer "g" = dense<2.0> : tensor<2xf32> : tensor<2xf32>
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x1xf32> : tensor<2x1xf32>
  // expected-remark @+1 {{cannot fold into its readers: 'res' (onnx.Add) is not a linear layer}}
  %y = norm.rms_norm %x scale(%g : tensor<2xf32>) : tensor<3x2xf32> -> tensor<3x2xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf32>, tensor<2x1xf32>) -> tensor<3x1xf32>
  %a = onnx.Add(%x, %y) : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32> loc("res")
  return %a, %m : tensor<3x2xf32>, tensor<3x1xf32>
}

// -----

// Refusal: an activation reads the normalized value.
func.func @refuse_activation(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %g = onnx.initializer "g" = dense<2.0> : tensor<2xf32> : tensor<2xf32>
  // expected-remark @+1 {{cannot fold into its readers: 'act' (Relu) is not a linear layer}}
  %y = norm.rms_norm %x scale(%g : tensor<2xf32>) : tensor<3x2xf32> -> tensor<3x2xf32>
  %r = onnx.node "Relu"(%y) : (tensor<3x2xf32>) -> tensor<3x2xf32> loc("act")
  return %r : tensor<3x2xf32>
}

// -----

// Refusal: the weight is not a constant (a graph input).
func.func @refuse_dynamic_weight(%x: tensor<3x2xf32>, %w: tensor<2x1xf32>) -> tensor<3x1xf32> {
  %g = onnx.initializer "g" = dense<2.0> : tensor<2xf32> : tensor<2xf32>
  // expected-remark @+1 {{cannot fold into its readers: 'mm' (onnx.MatMul) has a weight that is not a constant}}
  %y = norm.rms_norm %x scale(%g : tensor<2xf32>) : tensor<3x2xf32> -> tensor<3x2xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf32>, tensor<2x1xf32>) -> tensor<3x1xf32> loc("mm")
  return %m : tensor<3x1xf32>
}

// -----

// Refusal: the weight is an initializer that is also a graph input, which a
// user may override at run time.
func.func @refuse_overridable_weight(%x: tensor<3x2xf32>) -> tensor<3x1xf32> {
  %g = onnx.initializer "g" = dense<2.0> : tensor<2xf32> : tensor<2xf32>
  %w = onnx.initializer "w" input = dense<1.0> : tensor<2x1xf32> : tensor<2x1xf32>
  // expected-remark @+1 {{has a weight that is not a constant}}
  %y = norm.rms_norm %x scale(%g : tensor<2xf32>) : tensor<3x2xf32> -> tensor<3x2xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf32>, tensor<2x1xf32>) -> tensor<3x1xf32>
  return %m : tensor<3x1xf32>
}

// -----

// Refusal: the normalized value is the right-hand side of a MatMul.
func.func @refuse_rhs(%x: tensor<2x2xf32>, %a: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %g = onnx.initializer "g" = dense<2.0> : tensor<2xf32> : tensor<2xf32>
  // expected-remark @+1 {{cannot fold into its readers: onnx.MatMul reads it as its weight operand}}
  %y = norm.rms_norm %x scale(%g : tensor<2xf32>) : tensor<2x2xf32> -> tensor<2x2xf32>
  %m = onnx.MatMul(%a, %y) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %m : tensor<3x2xf32>
}

// -----

// Refusal: a Gemm with transA = 1 contracts the rows, not the hidden dim.
func.func @refuse_gemm_transa(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %g = onnx.initializer "g" = dense<2.0> : tensor<2xf32> : tensor<2xf32>
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x2xf32> : tensor<2x2xf32>
  // expected-remark @+1 {{onnx.Gemm reads it transposed (transA = 1)}}
  %y = norm.rms_norm %x scale(%g : tensor<2xf32>) : tensor<2x2xf32> -> tensor<2x2xf32>
  %m = onnx.Gemm(%y, %w) {transA = 1 : i64} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %m : tensor<2x2xf32>
}

// -----

// Refusal: a Gemm bias that differs between rows cannot absorb beta W.
func.func @refuse_gemm_row_bias(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %g = onnx.initializer "g" = dense<2.0> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<1.0> : tensor<2xf32> : tensor<2xf32>
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x2xf32> : tensor<2x2xf32>
  %c = onnx.initializer "c" = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  // expected-remark @+1 {{onnx.Gemm has a bias that differs between rows}}
  %y = norm.layer_norm %x scale(%g : tensor<2xf32>) bias(%b : tensor<2xf32>) : tensor<2x2xf32> -> tensor<2x2xf32>
  %m = onnx.Gemm(%y, %w, %c) : (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %m : tensor<2x2xf32>
}

// -----

// Refusal: normalizing over the last two dims with a scale that varies along
// the first of them: a MatMul contracts only the last dim.
func.func @refuse_scale_over_two_dims(%x: tensor<3x2x2xf32>) -> tensor<3x2x1xf32> {
  %g = onnx.initializer "g" = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x1xf32> : tensor<2x1xf32>
  // expected-remark @+1 {{scale: its weight varies along a normalized dim other than the last}}
  %y = norm.layer_norm %x scale(%g : tensor<2x2xf32>) {axis = 1 : i64} : tensor<3x2x2xf32> -> tensor<3x2x2xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2x2xf32>, tensor<2x1xf32>) -> tensor<3x2x1xf32>
  return %m : tensor<3x2x1xf32>
}

// -----

// Refusal: the hidden size is not static.
func.func @refuse_dynamic_hidden(%x: tensor<3x?xf32>, %g: tensor<?xf32>) -> tensor<3x1xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x1xf32> : tensor<2x1xf32>
  // expected-remark @+1 {{its hidden size (the last dim) is not static}}
  %y = norm.rms_norm %x scale(%g : tensor<?xf32>) : tensor<3x?xf32> -> tensor<3x?xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<3x?xf32>, tensor<2x1xf32>) -> tensor<3x1xf32>
  return %m : tensor<3x1xf32>
}

// -----

// Refusal: the norm's scale is not a constant.
func.func @refuse_dynamic_scale(%x: tensor<3x2xf32>, %g: tensor<2xf32>) -> tensor<3x1xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x1xf32> : tensor<2x1xf32>
  // expected-remark @+1 {{scale: its weight is not a constant}}
  %y = norm.rms_norm %x scale(%g : tensor<2xf32>) : tensor<3x2xf32> -> tensor<3x2xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf32>, tensor<2x1xf32>) -> tensor<3x1xf32>
  return %m : tensor<3x1xf32>
}

// -----

// Refusal: a weight whose rows do not match the hidden size.
func.func @refuse_size_mismatch(%x: tensor<3x2xf32>) -> tensor<3x1xf32> {
  %g = onnx.initializer "g" = dense<2.0> : tensor<2xf32> : tensor<2xf32>
  %w = onnx.initializer "w" = dense<1.0> : tensor<1x1xf32> : tensor<1x1xf32>
  // expected-remark @+1 {{onnx.MatMul has a weight of 1 rows for a hidden size of 2}}
  %y = norm.rms_norm %x scale(%g : tensor<2xf32>) : tensor<3x2xf32> -> tensor<3x2xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf32>, tensor<1x1xf32>) -> tensor<3x1xf32>
  return %m : tensor<3x1xf32>
}

// -----

// ONNX shape inference leaves the outputs of ops it does not know (opset-23
// RMSNormalization) untyped: the hidden size then comes from the scale, and
// the readers' weights are checked against it; the reader's untyped product
// is a tensor of its weight's element type.
// CHECK-LABEL: func.func @unranked_hidden_size_from_scale
// CHECK: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[}}2.000000e+00], [4.000000e+00]]>
// CHECK: %[[N:.*]] = norm.rms_norm %arg0 : tensor<*xf32>
// CHECK: onnx.MatMul(%[[N]], %[[W]]) : (tensor<*xf32>, tensor<2x1xf32>) -> tensor<*xf32>
func.func @unranked_hidden_size_from_scale(%x: tensor<*xf32>) -> tensor<*xf32> {
  %g = onnx.initializer "g" = dense<[2.0, 4.0]> : tensor<2xf32> : tensor<2xf32>
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x1xf32> : tensor<2x1xf32>
  %y = norm.rms_norm %x scale(%g : tensor<2xf32>) : tensor<*xf32> -> tensor<*xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<*xf32>, tensor<2x1xf32>) -> !onnx.opaque<"">
  %r = onnx.Identity(%m) : (!onnx.opaque<"">) -> tensor<*xf32>
  return %r : tensor<*xf32>
}

// -----

// Refusal: unknown rank and a norm over more than the last dim.
func.func @refuse_unranked_axis(%x: tensor<*xf32>) -> tensor<*xf32> {
  %g = onnx.initializer "g" = dense<[2.0, 4.0]> : tensor<2xf32> : tensor<2xf32>
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x1xf32> : tensor<2x1xf32>
  // expected-remark @+1 {{its hidden size (the last dim) is not static}}
  %y = norm.rms_norm %x scale(%g : tensor<2xf32>) {axis = -2 : i64} : tensor<*xf32> -> tensor<*xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<*xf32>, tensor<2x1xf32>) -> tensor<*xf32>
  return %m : tensor<*xf32>
}

// -----

// A Gemm with transB = 1 reading a Transpose of a constant: op(B) is the
// constant itself; the new B keeps the [N, K] layout the Gemm reads.
// CHECK-LABEL: func.func @gemm_transposed_constant
// CHECK: %[[B:.*]] = onnx.initializer "w0_folded" = dense<{{\[\[}}2.000000e+00, 8.000000e+00], [4.000000e+00, 1.000000e+01], [6.000000e+00, 1.200000e+01]]> : tensor<3x2xf32>
// CHECK-NOT: onnx.Transpose
// CHECK: onnx.Gemm(%{{.*}}, %[[B]]) {transB = 1 : i64} : (tensor<4x2xf32>, tensor<3x2xf32>) -> tensor<4x3xf32>
func.func @gemm_transposed_constant(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %g = onnx.initializer "g" = dense<2.0> : tensor<2xf32> : tensor<2xf32>
  %w0 = onnx.initializer "w0" = dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32> : tensor<2x3xf32>
  %y = norm.rms_norm %x scale(%g : tensor<2xf32>) : tensor<4x2xf32> -> tensor<4x2xf32>
  %t = onnx.Transpose(%w0) : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %m = onnx.Gemm(%y, %t) {transB = 1 : i64} : (tensor<4x2xf32>, tensor<3x2xf32>) -> tensor<4x3xf32>
  return %m : tensor<4x3xf32>
}

// -----

// An RMSNorm that norm-pre-ln-to-rms made from a LayerNorm keeps beta: both
// gamma and beta go into the reader and the norm loses both.
// CHECK-LABEL: func.func @rms_norm_with_bias
// CHECK-DAG: %[[C:.*]] = onnx.initializer "mm/bias_folded" = dense<-5.000000e-01> : tensor<2xf32>
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[}}1.000000e+00, 1.000000e+00], [2.000000e+00, 2.000000e+00], [3.000000e+00, 3.000000e+00], [4.000000e+00, 4.000000e+00]]>
// CHECK: %[[N:.*]] = norm.rms_norm %arg0 : tensor<2x4xf32> -> tensor<2x4xf32>
// CHECK: %[[M:.*]] = onnx.MatMul(%[[N]], %[[W]])
// CHECK: onnx.Add(%[[M]], %[[C]])
func.func @rms_norm_with_bias(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %g = onnx.initializer "g" = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
  %b = onnx.initializer "b" = dense<[0.5, 0.0, 0.0, -1.0]> : tensor<4xf32> : tensor<4xf32>
  %w = onnx.initializer "w" = dense<1.0> : tensor<4x2xf32> : tensor<4x2xf32>
  %y = norm.rms_norm %x scale(%g : tensor<4xf32>) bias(%b : tensor<4xf32>) : tensor<2x4xf32> -> tensor<2x4xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32> loc("mm")
  return %m : tensor<2x2xf32>
}

// -----

// CRMSNorm's output is the restored d-vector: its scale and bias fold too.
// CHECK-LABEL: func.func @crms_norm
// CHECK: %[[N:.*]] = norm.crms_norm %arg0 : tensor<2x3xf32> -> tensor<2x4xf32>
// CHECK: onnx.MatMul(%[[N]], %{{.*}})
func.func @crms_norm(%x: tensor<2x3xf32>) -> tensor<2x2xf32> {
  %g = onnx.initializer "g" = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
  %b = onnx.initializer "b" = dense<[0.5, 0.0, 0.0, -1.0]> : tensor<4xf32> : tensor<4xf32>
  %w = onnx.initializer "w" = dense<1.0> : tensor<4x2xf32> : tensor<4x2xf32>
  %y = norm.crms_norm %x scale(%g : tensor<4xf32>) bias(%b : tensor<4xf32>) : tensor<2x3xf32> -> tensor<2x4xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
  return %m : tensor<2x2xf32>
}

// -----

// Readers.h: the Hugging Face attention reads the norm output's shape
// (`bsz, q_len, _ = hidden_states.size()`) and reshapes it keeping the
// hidden axis before a projection; a no-op Cast and an Identity hand rows on
// too. Shape reads stay, the gain folds into both MatMuls.
// CHECK-LABEL: func.func @shape_and_reshape_readers
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[\[}}1.000000e+00, 1.000000e+00], [2.000000e+00, 2.000000e+00], [3.000000e+00, 3.000000e+00], [4.000000e+00, 4.000000e+00]]>
// CHECK-DAG: %[[V:.*]] = onnx.initializer "v_folded"
// CHECK: %[[N:.*]] = norm.rms_norm %arg0 :
// CHECK: onnx.Shape(%[[N]])
// CHECK: %[[R:.*]] = onnx.Reshape(%[[N]], %{{.*}})
// CHECK: onnx.MatMul(%[[R]], %[[W]])
// CHECK: %[[C:.*]] = onnx.Cast(%[[N]])
// CHECK: %[[I:.*]] = onnx.Identity(%[[C]])
// CHECK: onnx.MatMul(%[[I]], %[[V]])
func.func @shape_and_reshape_readers(%x: tensor<2x3x4xf32>) -> (tensor<3xi64>, tensor<6x2xf32>, tensor<2x3x2xf32>) {
  %g = onnx.initializer "g" = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
  %w = onnx.initializer "w" = dense<1.0> : tensor<4x2xf32> : tensor<4x2xf32>
  %v = onnx.initializer "v" = dense<1.0> : tensor<4x2xf32> : tensor<4x2xf32>
  %s = onnx.initializer "s" = dense<[6, 4]> : tensor<2xi64> : tensor<2xi64>
  %y = norm.rms_norm %x scale(%g : tensor<4xf32>) : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %shape = onnx.Shape(%y) : (tensor<2x3x4xf32>) -> tensor<3xi64>
  %r = onnx.Reshape(%y, %s) : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<6x4xf32>
  %m = onnx.MatMul(%r, %w) : (tensor<6x4xf32>, tensor<4x2xf32>) -> tensor<6x2xf32>
  %c = onnx.Cast(%y) {to = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %i = onnx.Identity(%c) : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %m2 = onnx.MatMul(%i, %v) : (tensor<2x3x4xf32>, tensor<4x2xf32>) -> tensor<2x3x2xf32>
  return %shape, %m, %m2 : tensor<3xi64>, tensor<6x2xf32>, tensor<2x3x2xf32>
}

// -----

// A Reshape that splits the hidden axis does not hand rows on: it is a
// reader like any other, and no linear layer.
func.func @reshape_splitting_hidden(%x: tensor<2x4xf32>) -> tensor<4x2xf32> {
  %g = onnx.initializer "g" = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
  %s = onnx.initializer "s" = dense<[4, 2]> : tensor<2xi64> : tensor<2xi64>
  // expected-remark @+1 {{norm-fold-weights: left unchanged: cannot fold into its readers: onnx.Reshape is not a linear layer}}
  %y = norm.rms_norm %x scale(%g : tensor<4xf32>) : tensor<2x4xf32> -> tensor<2x4xf32>
  %r = onnx.Reshape(%y, %s) : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<4x2xf32>
  return %r : tensor<4x2xf32>
}

// -----

// Only read for its shape: nothing to fold into.
func.func @only_shape_read(%x: tensor<2x4xf32>) -> tensor<2xi64> {
  %g = onnx.initializer "g" = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
  // expected-remark @+1 {{norm-fold-weights: left unchanged: cannot fold into its readers: the value is only read for its shape}}
  %y = norm.rms_norm %x scale(%g : tensor<4xf32>) : tensor<2x4xf32> -> tensor<2x4xf32>
  %s = onnx.Shape(%y) : (tensor<2x4xf32>) -> tensor<2xi64>
  return %s : tensor<2xi64>
}

// -----

// A norm inside an If branch folds into the branch's MatMul of an outer
// weight, with the same proof.
// CHECK-LABEL: func.func @norm_in_subgraph
// CHECK: onnx.node "If"
// CHECK: %[[N:.*]] = norm.layer_norm %arg1 :
// CHECK: %[[M:.*]] = onnx.MatMul(%[[N]], %{{.*}})
// CHECK: onnx.Add(%[[M]], %{{.*}})
func.func @norm_in_subgraph(%c: tensor<i1>, %x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<4x2xf32> : tensor<4x2xf32>
  %r = onnx.node "If"(%c) {then_branch = #onnx.subgraph<0>, else_branch = #onnx.subgraph<1>} : (tensor<i1>) -> tensor<2x2xf32> {
    %g = onnx.initializer "g" = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
    %b = onnx.initializer "b" = dense<[1.0, 0.0, 0.0, 0.0]> : tensor<4xf32> : tensor<4xf32>
    %y = norm.layer_norm %x scale(%g : tensor<4xf32>) bias(%b : tensor<4xf32>) : tensor<2x4xf32> -> tensor<2x4xf32>
    %m = onnx.MatMul(%y, %w) : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
    onnx.yield "then" [] -> ["m"] %m : tensor<2x2xf32>
  }, {
    %z = onnx.MatMul(%x, %w) : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
    onnx.yield "else" [] -> ["z"] %z : tensor<2x2xf32>
  }
  return %r : tensor<2x2xf32>
}
