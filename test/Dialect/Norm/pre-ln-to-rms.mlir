// RUN: norm-opt %s -split-input-file -norm-pre-ln-to-rms -verify-diagnostics | FileCheck %s

// A Pre-LN block: embedding -> LN -> linear -> residual add -> final LN.
// Every writer is centered and both LayerNorms become RMSNorms with the
// same scale, bias and epsilon.
// CHECK-LABEL: func.func @pre_ln
// CHECK-DAG: %[[TABLE:.*]] = onnx.initializer "wte_centered" = dense<{{\[}}[-1.500000e+00, -5.000000e-01, 5.000000e-01, 1.500000e+00], [1.000000e+00, -1.000000e+00, 1.000000e+00, -1.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]>
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_proj_centered" = dense<{{\[}}[-1.000000e+00, 1.000000e+00, -1.000000e+00, 1.000000e+00], [1.500000e+00, 5.000000e-01, -5.000000e-01, -1.500000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [2.500000e-01, 2.500000e-01, 2.500000e-01, -7.500000e-01]]>
// CHECK-DAG: %[[C:.*]] = onnx.initializer "b_proj_centered" = dense<[-1.500000e+00, -5.000000e-01, 5.000000e-01, 1.500000e+00]>
// CHECK: %[[E:.*]] = onnx.Gather(%[[TABLE]], %arg0)
// CHECK: %[[N1:.*]] = norm.rms_norm %[[E]] scale(%[[G:.*]] : tensor<4xf32>) bias(%[[B:.*]] : tensor<4xf32>) :
// CHECK: onnx.MatMul(%[[N1]], %[[W]])
// CHECK: onnx.Add(%{{.*}}, %[[C]])
// CHECK: norm.rms_norm %{{.*}} scale(%[[G]] : tensor<4xf32>) bias(%[[B]] : tensor<4xf32>) {epsilon = 9.99999997E-7 : f32}
// CHECK-NOT: norm.layer_norm
func.func @pre_ln(%ids: tensor<2x3xi64>) -> tensor<2x3x4xf32> {
  %table = onnx.initializer "wte" = dense<[[1.0, 2.0, 3.0, 4.0], [2.0, 0.0, 2.0, 0.0], [5.0, 5.0, 5.0, 5.0]]> : tensor<3x4xf32> : tensor<3x4xf32>
  %g = onnx.initializer "g" = dense<[1.5, 0.5, 2.0, 1.0]> : tensor<4xf32> : tensor<4xf32>
  %b = onnx.initializer "b" = dense<[0.1, -0.2, 0.3, -0.4]> : tensor<4xf32> : tensor<4xf32>
  %w = onnx.initializer "w_proj" = dense<[[0.0, 2.0, 0.0, 2.0], [4.0, 3.0, 2.0, 1.0], [7.0, 7.0, 7.0, 7.0], [1.0, 1.0, 1.0, 0.0]]> : tensor<4x4xf32> : tensor<4x4xf32>
  %c = onnx.initializer "b_proj" = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
  %e = onnx.Gather(%table, %ids) : (tensor<3x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  %n1 = norm.layer_norm %e scale(%g : tensor<4xf32>) bias(%b : tensor<4xf32>) : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %m = onnx.MatMul(%n1, %w) : (tensor<2x3x4xf32>, tensor<4x4xf32>) -> tensor<2x3x4xf32>
  %mb = onnx.Add(%m, %c) : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  %h = onnx.Add(%e, %mb) : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %out = norm.layer_norm %h scale(%g : tensor<4xf32>) bias(%b : tensor<4xf32>) {epsilon = 1.0e-6 : f32} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %out : tensor<2x3x4xf32>
}

// -----

// A tied embedding: the table also feeds the LM head. The Gather gets a
// centered clone; the head keeps the original table.
// CHECK-LABEL: func.func @tied_head
// CHECK-DAG: %[[ORIG:.*]] = onnx.initializer "wte" =
// CHECK-DAG: %[[CENTERED:.*]] = onnx.initializer "wte_centered" =
// CHECK: onnx.Gather(%[[CENTERED]], %arg0)
// CHECK: onnx.Transpose(%[[ORIG]])
func.func @tied_head(%ids: tensor<2x3xi64>) -> tensor<2x3x3xf32> {
  %table = onnx.initializer "wte" = dense<[[1.0, 2.0, 3.0, 4.0], [2.0, 0.0, 2.0, 0.0], [5.0, 5.0, 5.0, 6.0]]> : tensor<3x4xf32> : tensor<3x4xf32>
  %e = onnx.Gather(%table, %ids) : (tensor<3x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  %n = norm.layer_norm %e : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %t = onnx.Transpose(%table) {perm = array<i64: 1, 0>} : (tensor<3x4xf32>) -> tensor<4x3xf32>
  %logits = onnx.MatMul(%n, %t) : (tensor<2x3x4xf32>, tensor<4x3xf32>) -> tensor<2x3x3xf32>
  return %logits : tensor<2x3x3xf32>
}

// -----

// Gemm with transB = 1 stores W^T: it is centered along axis 0. The Gemm's
// output reaches the stream through a Reshape that keeps the hidden dim.
// CHECK-LABEL: func.func @gemm_trans_b
// CHECK: onnx.initializer "wt_centered" = dense<{{\[}}[-1.250000e+00, 2.500000e-01], [7.500000e-01, -1.750000e+00], [2.750000e+00, 3.250000e+00], [-2.250000e+00, -1.750000e+00]]>
// CHECK-COUNT-2: norm.rms_norm
func.func @gemm_trans_b(%ids: tensor<6xi64>) -> tensor<2x3x4xf32> {
  %table = onnx.initializer "wte" = dense<1.0> : tensor<8x4xf32> : tensor<8x4xf32>
  %wt = onnx.initializer "wt" = dense<[[1.0, 2.0], [3.0, 0.0], [5.0, 5.0], [0.0, 0.0]]> : tensor<4x2xf32> : tensor<4x2xf32>
  %shape = onnx.initializer "shape" = dense<[2, 3, 4]> : tensor<3xi64> : tensor<3xi64>
  %e = onnx.Gather(%table, %ids) : (tensor<8x4xf32>, tensor<6xi64>) -> tensor<6x4xf32>
  %n1 = norm.layer_norm %e : tensor<6x4xf32> -> tensor<6x4xf32>
  %left = onnx.Gemm(%n1, %n1) : (tensor<6x4xf32>, tensor<6x4xf32>) -> tensor<6x6xf32>
  %p = onnx.node "Slice"(%left) : (tensor<6x6xf32>) -> tensor<6x2xf32>
  %g = onnx.Gemm(%p, %wt) {transB = 1 : i64} : (tensor<6x2xf32>, tensor<4x2xf32>) -> tensor<6x4xf32>
  %sum = onnx.Add(%e, %g) : (tensor<6x4xf32>, tensor<6x4xf32>) -> tensor<6x4xf32>
  %r = onnx.Reshape(%sum, %shape) : (tensor<6x4xf32>, tensor<3xi64>) -> tensor<2x3x4xf32>
  %out = norm.layer_norm %r : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %out : tensor<2x3x4xf32>
}

// -----

// Post-LN (BERT): a LayerNorm output writes into the next stream. The
// embedding norm's own input could be centered, but its output is the
// residual stream, so the model is refused whole.
// CHECK-LABEL: func.func @post_ln
// CHECK-COUNT-2: norm.layer_norm
func.func @post_ln(%ids: tensor<2x3xi64>) -> tensor<2x3x4xf32> {
  %table = onnx.initializer "wte" = dense<1.0> : tensor<8x4xf32> : tensor<8x4xf32>
  %w = onnx.initializer "w" = dense<0.5> : tensor<4x4xf32> : tensor<4x4xf32>
  %e = onnx.Gather(%table, %ids) : (tensor<8x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  // expected-remark @below {{norm-pre-ln-to-rms: left unchanged: the output of LayerNorm layer_norm is added into a residual stream: a Post-LN block}}
  %x0 = norm.layer_norm %e : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %m = onnx.MatMul(%x0, %w) : (tensor<2x3x4xf32>, tensor<4x4xf32>) -> tensor<2x3x4xf32>
  %s = onnx.Add(%x0, %m) : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @below {{norm-pre-ln-to-rms: left unchanged: a norm output (layer_norm) writes into the stream: a Post-LN or sandwich-norm block}}
  %x1 = norm.layer_norm %s : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %x1 : tensor<2x3x4xf32>
}

// -----

// A non-affine writer (an activation added straight into the stream).
func.func @non_affine_writer(%ids: tensor<2x3xi64>) -> tensor<2x3x4xf32> {
  %table = onnx.initializer "wte" = dense<1.0> : tensor<8x4xf32> : tensor<8x4xf32>
  %e = onnx.Gather(%table, %ids) : (tensor<8x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  // expected-remark @below {{norm-pre-ln-to-rms: left unchanged: writer Relu is not an affine map norm-opt can center}}
  %n = norm.layer_norm %e : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %r = onnx.node "Relu"(%n) : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %s = onnx.Add(%e, %r) : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // expected-remark @below {{norm-pre-ln-to-rms: left unchanged: writer Relu is not an affine map norm-opt can center}}
  %out = norm.layer_norm %s : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %out : tensor<2x3x4xf32>
}

// -----

// The residual stream itself is a graph output.
func.func @stream_is_output(%ids: tensor<2x3xi64>) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  %table = onnx.initializer "wte" = dense<1.0> : tensor<8x4xf32> : tensor<8x4xf32>
  %e = onnx.Gather(%table, %ids) : (tensor<8x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  // expected-remark @below {{norm-pre-ln-to-rms: left unchanged: a stream value is a graph output, which centering would change}}
  %n = norm.layer_norm %e : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %n, %e : tensor<2x3x4xf32>, tensor<2x3x4xf32>
}

// -----

// A reader of the stream that is not a LayerNorm.
func.func @non_norm_reader(%ids: tensor<2x3xi64>) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  %table = onnx.initializer "wte" = dense<1.0> : tensor<8x4xf32> : tensor<8x4xf32>
  %w = onnx.initializer "w" = dense<0.5> : tensor<4x4xf32> : tensor<4x4xf32>
  %e = onnx.Gather(%table, %ids) : (tensor<8x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  // expected-remark @below {{norm-pre-ln-to-rms: left unchanged: stream value read by MatMul, which is not a LayerNorm over the hidden dim}}
  %n = norm.layer_norm %e : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %m = onnx.MatMul(%e, %w) : (tensor<2x3x4xf32>, tensor<4x4xf32>) -> tensor<2x3x4xf32>
  return %n, %m : tensor<2x3x4xf32>, tensor<2x3x4xf32>
}

// -----

// A stream that starts at a graph input cannot be centered.
func.func @starts_at_input(%x: tensor<2x3x4xf32> {onnx.name = "hidden"}) -> tensor<2x3x4xf32> {
  // expected-remark @below {{norm-pre-ln-to-rms: left unchanged: the stream starts at graph input 'hidden', which cannot be centered}}
  %n = norm.layer_norm %x : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %n : tensor<2x3x4xf32>
}

// -----

// A LayerNorm over more than the hidden dim.
func.func @wide_norm(%ids: tensor<2x3xi64>) -> tensor<2x3x4xf32> {
  %table = onnx.initializer "wte" = dense<1.0> : tensor<8x4xf32> : tensor<8x4xf32>
  %e = onnx.Gather(%table, %ids) : (tensor<8x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  // expected-remark @below {{norm-pre-ln-to-rms: left unchanged: LayerNorm layer_norm normalizes other dims than the hidden dim}}
  %n = norm.layer_norm %e {axis = 1 : i64} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %n : tensor<2x3x4xf32>
}

// -----

// A ViT patch embedding: the hidden dim is the conv's output channels, moved
// last by Reshape + Transpose; a class token (expanded) is concatenated
// along the tokens and a position table added. Conv weight and bias, class
// token and position table are all centered over the hidden dim.
// CHECK-LABEL: func.func @patch_embedding
// CHECK-DAG: %[[W:.*]] = onnx.initializer "patch_w_centered"
// CHECK-DAG: %[[B:.*]] = onnx.initializer "patch_b_centered" = dense<[-1.500000e+00, -5.000000e-01, 5.000000e-01, 1.500000e+00]>
// CHECK-DAG: %[[CLS:.*]] = onnx.initializer "cls_centered" = dense<{{\[}}{{\[}}[-3.000000e+00, -1.000000e+00, 1.000000e+00, 3.000000e+00]]]>
// CHECK-DAG: %[[POS:.*]] = onnx.initializer "pos_centered" = dense<0.000000e+00>
// CHECK: onnx.Conv(%arg0, %[[W]], %[[B]])
// CHECK: onnx.Expand(%[[CLS]]
// CHECK: onnx.Add(%{{.*}}, %[[POS]])
// CHECK: norm.rms_norm
func.func @patch_embedding(%img: tensor<1x3x4x4xf32>) -> tensor<1x5x4xf32> {
  %w = onnx.initializer "patch_w" = dense<0.25> : tensor<4x3x2x2xf32> : tensor<4x3x2x2xf32>
  %b = onnx.initializer "patch_b" = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
  %cls = onnx.initializer "cls" = dense<[[[1.0, 3.0, 5.0, 7.0]]]> : tensor<1x1x4xf32> : tensor<1x1x4xf32>
  %pos = onnx.initializer "pos" = dense<2.0> : tensor<1x5x4xf32> : tensor<1x5x4xf32>
  %shape = onnx.initializer "shape" = dense<[1, 4, 4]> : tensor<3xi64> : tensor<3xi64>
  %eshape = onnx.initializer "eshape" = dense<[1, 1, 4]> : tensor<3xi64> : tensor<3xi64>
  %c = onnx.Conv(%img, %w, %b) {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x3x4x4xf32>, tensor<4x3x2x2xf32>, tensor<4xf32>) -> tensor<1x4x2x2xf32>
  %r = onnx.Reshape(%c, %shape) : (tensor<1x4x2x2xf32>, tensor<3xi64>) -> tensor<1x4x4xf32>
  %t = onnx.Transpose(%r) {perm = array<i64: 0, 2, 1>} : (tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %e = onnx.Expand(%cls, %eshape) : (tensor<1x1x4xf32>, tensor<3xi64>) -> tensor<1x1x4xf32>
  %x = onnx.Concat(%e, %t) {axis = 1 : i64} : (tensor<1x1x4xf32>, tensor<1x4x4xf32>) -> tensor<1x5x4xf32>
  %s = onnx.Add(%x, %pos) : (tensor<1x5x4xf32>, tensor<1x5x4xf32>) -> tensor<1x5x4xf32>
  %n = norm.layer_norm %s : tensor<1x5x4xf32> -> tensor<1x5x4xf32>
  return %n : tensor<1x5x4xf32>
}

// -----

// A grouped conv does not sum every output channel from the same inputs, so
// centering its weight would not center its output.
func.func @grouped_conv(%img: tensor<1x4x2x2xf32>) -> tensor<1x4x4xf32> {
  %w = onnx.initializer "w" = dense<0.25> : tensor<4x2x1x1xf32> : tensor<4x2x1x1xf32>
  %shape = onnx.initializer "shape" = dense<[1, 4, 4]> : tensor<3xi64> : tensor<3xi64>
  %c = onnx.Conv(%img, %w) {group = 2 : i64} : (tensor<1x4x2x2xf32>, tensor<4x2x1x1xf32>) -> tensor<1x4x2x2xf32>
  %r = onnx.Reshape(%c, %shape) : (tensor<1x4x2x2xf32>, tensor<3xi64>) -> tensor<1x4x4xf32>
  %t = onnx.Transpose(%r) {perm = array<i64: 0, 2, 1>} : (tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  // expected-remark @below {{norm-pre-ln-to-rms: left unchanged: writer Conv is not an ungrouped conv writing the hidden dim as channels}}
  %n = norm.layer_norm %t : tensor<1x4x4xf32> -> tensor<1x4x4xf32>
  return %n : tensor<1x4x4xf32>
}

// -----

// nn.Linear exported without constant folding reads its weight through a
// Transpose: the stored [d, k] tensor is centered along its dim 0.
// CHECK-LABEL: func.func @transposed_weight
// CHECK: %[[W:.*]] = onnx.initializer "w_centered" = dense<{{\[}}[-1.500000e+00, 5.000000e-01], [1.500000e+00, -5.000000e-01]]>
// CHECK: norm.rms_norm
// CHECK: onnx.Transpose(%[[W]])
// CHECK: norm.rms_norm
func.func @transposed_weight(%ids: tensor<2x3xi64>) -> tensor<2x3x2xf32> {
  %table = onnx.initializer "wte" = dense<[[1.0, 3.0], [2.0, 0.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %w = onnx.initializer "w" = dense<[[1.0, 3.0], [4.0, 2.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %e = onnx.Gather(%table, %ids) : (tensor<2x2xf32>, tensor<2x3xi64>) -> tensor<2x3x2xf32>
  %n = norm.layer_norm %e : tensor<2x3x2xf32> -> tensor<2x3x2xf32>
  %wt = onnx.Transpose(%w) {perm = array<i64: 1, 0>} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %m = onnx.MatMul(%n, %wt) : (tensor<2x3x2xf32>, tensor<2x2xf32>) -> tensor<2x3x2xf32>
  %s = onnx.Add(%e, %m) : (tensor<2x3x2xf32>, tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
  %out = norm.layer_norm %s : tensor<2x3x2xf32> -> tensor<2x3x2xf32>
  return %out : tensor<2x3x2xf32>
}

// -----

// A LayerNorm inside an If branch is proven like any other; its stream
// starts at a value the branch reads from the outer graph (here a graph
// input), which is a reader like any other.
func.func @norm_in_subgraph(%c: tensor<i1>, %x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %r = onnx.node "If"(%c) {then_branch = #onnx.subgraph<0>, else_branch = #onnx.subgraph<1>} : (tensor<i1>) -> tensor<2x4xf32> {
    %g = onnx.initializer "g" = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
    // expected-remark @+1 {{norm-pre-ln-to-rms: left unchanged: the stream starts at graph input '?', which cannot be centered}}
    %y = norm.layer_norm %x scale(%g : tensor<4xf32>) : tensor<2x4xf32> -> tensor<2x4xf32>
    onnx.yield "then" [] -> ["y"] %y : tensor<2x4xf32>
  }, {
    onnx.yield "else" [] -> ["x"] %x : tensor<2x4xf32>
  }
  return %r : tensor<2x4xf32>
}
