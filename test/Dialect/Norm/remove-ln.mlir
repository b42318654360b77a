// RUN: norm-opt %s -split-input-file '-norm-remove-ln=stats=%inputs/remove-ln-stats.json' -verify-diagnostics | FileCheck %s
// RUN: not norm-opt %s '-norm-remove-ln=stats=%t.missing.json' 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: echo '{"format": "norm-opt-statistics", "version": 1, "sites": [{"name": "a", "tokens": 0, "max_statistic": 1}]}' > %t.bad.json
// RUN: not norm-opt %s '-norm-remove-ln=stats=%t.bad.json' 2>&1 | FileCheck %s --check-prefix=BAD

// MISSING: error: norm-remove-ln: statistics file cannot read '{{.*}}.missing.json'
// BAD: error: norm-remove-ln: statistics file '{{.*}}.bad.json': site 'a': "tokens" must be a positive integer

// An LN-free LayerNorm (eps = 1e12, gamma scaled by 1e6): the statistics
// prove var <= 2e-5 * eps, so it is (x - mean x) * gamma / 1e6 + beta,
// folded into the reader: W' = P diag(gamma / 1e6) W = [[-5, -8], [5, 8]],
// c' = c + beta W = [-1.5, -3]. No norm and no normalization arithmetic
// is left.
// CHECK-LABEL: func.func @ln_free
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[}}[-5.000000e+00, -8.000000e+00], [5.000000e+00, 8.000000e+00]]>
// CHECK-DAG: %[[C:.*]] = onnx.initializer "c_folded" = dense<[-1.500000e+00, -3.000000e+00]>
// CHECK: %[[M:.*]] = onnx.MatMul(%arg0, %[[W]])
// CHECK-NOT: norm.
// CHECK-NOT: ReduceMean
// CHECK: onnx.Add(%[[M]], %[[C]])
func.func @ln_free(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %g = onnx.initializer "g" = dense<[2.0e6, 4.0e6]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[0.5, -1.0]> : tensor<2xf32> : tensor<2xf32>
  %w = onnx.initializer "w" = dense<[[1.0, 2.0], [3.0, 5.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %c = onnx.initializer "c" = dense<[1.0, 1.0]> : tensor<2xf32> : tensor<2xf32>
  %y = norm.layer_norm %x scale(%g : tensor<2xf32>) bias(%b : tensor<2xf32>) {onnx.outputs = ["ln_free"], epsilon = 1.0e12 : f32} : tensor<3x2xf32> -> tensor<3x2xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %a = onnx.Add(%m, %c) : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %a : tensor<3x2xf32>
}

// -----

// An fp16 LayerNorm with eps = 1e15 needs no statistics: an fp16 variance
// is at most 65504^2 = 4.29e9 <= 2e-5 * eps.
// CHECK-LABEL: func.func @fp16_dominated
// CHECK: %[[W:.*]] = onnx.initializer "w16_folded" = dense<{{\[}}[-6.{{[0-9]+}}e-04
// CHECK-NOT: norm.layer_norm
// CHECK: onnx.MatMul(%arg0, %[[W]]) : (tensor<3x2xf16>
func.func @fp16_dominated(%x: tensor<3x2xf16>) -> tensor<3x2xf16> {
  %w = onnx.initializer "w16" = dense<[[2.0e4, 4.0e4], [6.0e4, 5.0e4]]> : tensor<2x2xf16> : tensor<2x2xf16>
  %y = norm.layer_norm %x {onnx.outputs = ["fp16_big_eps"], epsilon = 1.0e15 : f32} : tensor<3x2xf16> -> tensor<3x2xf16>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf16>, tensor<2x2xf16>) -> tensor<3x2xf16>
  return %m : tensor<3x2xf16>
}

// -----

// Refusal, epsilon too small: an fp16 LayerNorm with the usual epsilon and
// no statistics.
func.func @fp16_small_eps(%x: tensor<3x2xf16>) -> tensor<3x2xf16> {
  %w = onnx.initializer "w16" = dense<1.0> : tensor<2x2xf16> : tensor<2x2xf16>
  // expected-remark @+1 {{norm-remove-ln: left unchanged: epsilon 1.000e-05 is too small to dominate every finite f16 activation (variance <= 4.291e+09 needs epsilon >= 2.145e+14}}
  %y = norm.layer_norm %x {onnx.outputs = ["fp16_small_eps"]} : tensor<3x2xf16> -> tensor<3x2xf16>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf16>, tensor<2x2xf16>) -> tensor<3x2xf16>
  return %m : tensor<3x2xf16>
}

// -----

// Refusal, no statistics: fp32 activations are unbounded, so even eps =
// 1e12 proves nothing without calibration.
// CHECK-LABEL: func.func @no_statistics
// CHECK: norm.layer_norm
func.func @no_statistics(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x2xf32> : tensor<2x2xf32>
  // expected-remark @+1 {{no statistics: no epsilon dominates every finite f32 activation's variance, so epsilon 1.000e+12 does not prove variance <= 2*1.0e-05*epsilon = 2.000e+07; give calibration statistics (stats=FILE)}}
  %y = norm.layer_norm %x {onnx.outputs = ["unlisted"], epsilon = 1.0e12 : f32} : tensor<3x2xf32> -> tensor<3x2xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %m : tensor<3x2xf32>
}

// -----

// Refusal, epsilon too small on calibration, and the site not selected.
func.func @small_eps(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x2xf32> : tensor<2x2xf32>
  // expected-remark @+1 {{epsilon 1.000e-05 is too small: calibrated max variance 4.000e+00 exceeds 2*1.0e-05*epsilon = 2.000e-10, and the statistics file does not select the site for calibrated removal}}
  %y = norm.layer_norm %x {onnx.outputs = ["small_eps"]} : tensor<3x2xf32> -> tensor<3x2xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %m : tensor<3x2xf32>
}

// -----

// Refusal: the statistics file keeps the site.
func.func @keep_site(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x2xf32> : tensor<2x2xf32>
  // expected-remark @+1 {{the statistics file says to keep it}}
  %y = norm.layer_norm %x {onnx.outputs = ["keep_site"], epsilon = 1.0e12 : f32} : tensor<3x2xf32> -> tensor<3x2xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %m : tensor<3x2xf32>
}

// -----

// Refusal: statistics taken with another epsilon belong to another model.
func.func @other_eps(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = onnx.initializer "w" = dense<1.0> : tensor<2x2xf32> : tensor<2x2xf32>
  // expected-remark @+1 {{the statistics were taken with epsilon 1.000e-06, the norm has 1.000e-05}}
  %y = norm.layer_norm %x {onnx.outputs = ["other_eps"]} : tensor<3x2xf32> -> tensor<3x2xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %m : tensor<3x2xf32>
}

// -----

// Calibrated removal of an RMSNorm that is a graph output: nothing to fold
// into, so it becomes one Mul by gamma / sigma (sigma = 2) and one Add,
// after the Mul that divides the first position by its own std (3) instead.
// CHECK-LABEL: func.func @calibrated_rms
// CHECK-DAG: %[[G:.*]] = onnx.initializer "calibrated_rms_gain" = dense<[7.500000e-01, -2.500000e-01]>
// CHECK-DAG: %[[B:.*]] = onnx.initializer "calibrated_rms_shift" = dense<[1.000000e-01, 2.000000e-01]>
// CHECK-DAG: %[[F:.*]] = onnx.initializer "calibrated_rms_first_position" = dense<{{\[}}[0.666666686], [1.000000e+00], [1.000000e+00]]> : tensor<3x1xf32>
// CHECK: %[[X:.*]] = onnx.Mul(%arg0, %[[F]])
// CHECK: %[[M:.*]] = onnx.Mul(%[[X]], %[[G]])
// CHECK: %[[A:.*]] = onnx.Add(%[[M]], %[[B]])
// CHECK-NOT: norm.rms_norm
// CHECK: return %[[A]]
func.func @calibrated_rms(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %g = onnx.initializer "g" = dense<[1.5, -0.5]> : tensor<2xf32> : tensor<2xf32>
  %b = onnx.initializer "b" = dense<[0.1, 0.2]> : tensor<2xf32> : tensor<2xf32>
  %y = norm.rms_norm %x scale(%g : tensor<2xf32>) bias(%b : tensor<2xf32>) {onnx.outputs = ["calibrated_rms"], epsilon = 1.0e-6 : f32} : tensor<3x2xf32> -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Refusal: a calibrated LayerNorm read by an activation: its centering
// cannot go into a Relu.
func.func @calibrated_ln_relu(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  // expected-remark @+1 {{its centering cannot be folded: 'act' (Relu) is not a linear layer (norm-pre-ln-to-rms can center the writers instead)}}
  %y = norm.layer_norm %x {onnx.outputs = ["calibrated_ln_relu"]} : tensor<3x2xf32> -> tensor<3x2xf32>
  %r = onnx.node "Relu"(%y) : (tensor<3x2xf32>) -> tensor<3x2xf32> loc("act")
  return %r : tensor<3x2xf32>
}

// -----

// Refusal: a norm over two dims.
func.func @two_dims(%x: tensor<3x2x2xf16>) -> tensor<3x2x2xf16> {
  // expected-remark @+1 {{it normalizes more than the last dim}}
  %y = norm.layer_norm %x {onnx.outputs = ["two_dims"], axis = 1 : i64, epsilon = 1.0e15 : f32} : tensor<3x2x2xf16> -> tensor<3x2x2xf16>
  return %y : tensor<3x2x2xf16>
}

// -----

// An exporter may leave the norm's type unranked (PyTorch at opset 13
// without constant folding): axis -1 is still the last dim, and the hidden
// size comes from the weights.
// CHECK-LABEL: func.func @unranked
// CHECK: onnx.initializer "w_folded" = dense<{{\[}}[-5.000000e+00, -8.000000e+00], [5.000000e+00, 8.000000e+00]]>
// CHECK-NOT: norm.layer_norm
// CHECK: return
func.func @unranked(%x: tensor<*xf32>) -> tensor<*xf32> {
  %g = onnx.initializer "g" = dense<[2.0e6, 4.0e6]> : tensor<2xf32> : tensor<2xf32>
  %w = onnx.initializer "w" = dense<[[1.0, 2.0], [3.0, 5.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %y = norm.layer_norm %x scale(%g : tensor<2xf32>) {onnx.outputs = ["ln_free"], epsilon = 1.0e12 : f32} : tensor<*xf32> -> tensor<*xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<*xf32>, tensor<2x2xf32>) -> tensor<*xf32>
  return %m : tensor<*xf32>
}

// -----

// A Gemm storing W transposed (transB = 1): the centering is over K, which
// is the stored matrix's last dim: [[1, 3], [2, 5]] -> [[-5, 5], [-8, 8]].
// CHECK-LABEL: func.func @gemm_trans_b
// CHECK: %[[W:.*]] = onnx.initializer "wt_folded" = dense<{{\[}}[-5.000000e+00, 5.000000e+00], [-8.000000e+00, 8.000000e+00]]>
// CHECK: onnx.Gemm(%arg0, %[[W]]) {transB = 1 : i64}
func.func @gemm_trans_b(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %g = onnx.initializer "g" = dense<[2.0e6, 4.0e6]> : tensor<2xf32> : tensor<2xf32>
  %w = onnx.initializer "wt" = dense<[[1.0, 3.0], [2.0, 5.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %y = norm.layer_norm %x scale(%g : tensor<2xf32>) {onnx.outputs = ["ln_free"], epsilon = 1.0e12 : f32} : tensor<3x2xf32> -> tensor<3x2xf32>
  %r = onnx.Gemm(%y, %w) {transB = 1 : i64} : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}

// -----

// Calibrated removal folded into the reader, the first position (std 4,
// sigma 2) rescaled by one Mul by [0.5, 1, 1] along the position dim:
// W' = P diag(1/2) W.
// CHECK-LABEL: func.func @calibrated_ln
// CHECK-DAG: %[[W:.*]] = onnx.initializer "w_folded" = dense<{{\[}}[-5.000000e-01, -7.500000e-01], [5.000000e-01, 7.500000e-01]]>
// CHECK-DAG: %[[F:.*]] = onnx.initializer "calibrated_ln_first_position" = dense<{{\[}}[5.000000e-01], [1.000000e+00], [1.000000e+00]]> : tensor<3x1xf32>
// CHECK: %[[X:.*]] = onnx.Mul(%arg0, %[[F]])
// CHECK: onnx.MatMul(%[[X]], %[[W]])
func.func @calibrated_ln(%x: tensor<2x3x2xf32>) -> tensor<2x3x2xf32> {
  %w = onnx.initializer "w" = dense<[[1.0, 2.0], [3.0, 5.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %y = norm.layer_norm %x {onnx.outputs = ["calibrated_ln"]} : tensor<2x3x2xf32> -> tensor<2x3x2xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<2x3x2xf32>, tensor<2x2xf32>) -> tensor<2x3x2xf32>
  return %m : tensor<2x3x2xf32>
}

// -----

// Without a static position dim the first position cannot be told apart;
// the report says so.
// CHECK: norm.report = [{action = "removed", {{.*}}first position not rescaled: the position dim (-2) is not static
// CHECK-LABEL: func.func @dynamic_positions
// CHECK: onnx.MatMul(%arg0,
func.func @dynamic_positions(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %w = onnx.initializer "w" = dense<[[1.0, 2.0], [3.0, 5.0]]> : tensor<2x2xf32> : tensor<2x2xf32>
  %y = norm.layer_norm %x {onnx.outputs = ["calibrated_ln"]} : tensor<?x2xf32> -> tensor<?x2xf32>
  %m = onnx.MatMul(%y, %w) : (tensor<?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  return %m : tensor<?x2xf32>
}

// -----

// Refusal: the skip forms are not removed (their residual sum stays).
func.func @skip_layer_norm(%x: tensor<3x2xf32>, %r: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  // expected-remark @+1 {{norm-remove-ln: left unchanged: only LayerNorms and RMSNorms are removed, not skip_layer_norm}}
  %y, %sum = norm.skip_layer_norm %x, %r {epsilon = 1.0e12 : f32} : tensor<3x2xf32>, tensor<3x2xf32> -> tensor<3x2xf32>, tensor<3x2xf32>
  return %y, %sum : tensor<3x2xf32>, tensor<3x2xf32>
}
