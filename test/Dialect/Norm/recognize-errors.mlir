// RUN: norm-opt %s -split-input-file --norm-recognize -verify-diagnostics | FileCheck %s --check-prefix=REPORT

// An explicit normalization node that cannot be valid is an error at the
// node, not a silent refusal.

func.func @layer_normalization_bad_scale(%x: tensor<2x4xf32>, %g: tensor<3xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.layer_norm' op scale shape [3] does not match the normalized shape [4]}}
  %y = onnx.node "LayerNormalization"(%x, %g) : (tensor<2x4xf32>, tensor<3xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @rms_normalization_bad_axis(%x: tensor<2x4xf32>, %g: tensor<4xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.rms_norm' op axis 2 is out of range for rank 2}}
  %y = onnx.node "RMSNormalization"(%x, %g) {axis = 2 : i64} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @batch_normalization_bad_channels(%x: tensor<1x3x4xf32>, %c: tensor<3xf32>, %m: tensor<5xf32>) -> tensor<1x3x4xf32> {
  // expected-error @below {{'norm.batch_norm' op mean has 5 elements but the input has 3 channels}}
  %y = onnx.node "BatchNormalization"(%x, %c, %c, %m, %c) : (tensor<1x3x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<5xf32>, tensor<3xf32>) -> tensor<1x3x4xf32>
  return %y : tensor<1x3x4xf32>
}

// -----

// A chain with the shape of a norm (a root of a mean of squares plus
// something) that fails a precondition is refused in the report, recorded on
// its root with the kind it would have had and a reason naming the node.
// (Remarks need file locations: the roots here are named by their outputs.)
// REPORT-LABEL: module attributes {norm.report = [{action = "refused", kind = "rms_norm", name = "/norm/Sqrt_output_0", pass = "norm-recognize", reason = "decomposed RMSNorm chain: node '/norm/ReduceMean' does not reduce exactly the trailing dims"}]}
// REPORT-LABEL: func.func @rms_norm_leading_axis
// REPORT: onnx.Sqrt
func.func @rms_norm_leading_axis(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %0 = onnx.Mul(%x, %x) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %1 = onnx.ReduceMean(%0) {axes = array<i64: 0>} : (tensor<4x16xf32>) -> tensor<1x16xf32> loc("/norm/ReduceMean")
  %eps = onnx.Constant {value = dense<1.0e-06> : tensor<f32>} : tensor<f32>
  %2 = onnx.Add(%1, %eps) : (tensor<1x16xf32>, tensor<f32>) -> tensor<1x16xf32>
  // expected-remark @below {{norm-recognize: left unchanged: decomposed RMSNorm chain: node '/norm/ReduceMean' does not reduce exactly the trailing dims}}
  %3 = onnx.Sqrt(%2) {onnx.outputs = ["/norm/Sqrt_output_0"]} : (tensor<1x16xf32>) -> tensor<1x16xf32>
  %4 = onnx.Div(%x, %3) : (tensor<4x16xf32>, tensor<1x16xf32>) -> tensor<4x16xf32>
  return %4 : tensor<4x16xf32>
}

// -----

// Epsilon fed at run time; the inverse root spelled Pow(v, -0.5).
// REPORT-LABEL: module attributes {norm.report = [{action = "refused", kind = "rms_norm", name = "r", pass = "norm-recognize", reason = "decomposed RMSNorm chain: the epsilon of node '/norm/Add' is not a constant scalar"}]}
func.func @rms_norm_variable_epsilon(%x: tensor<4x16xf32>, %eps: tensor<f32>) -> tensor<4x16xf32> {
  %0 = onnx.Mul(%x, %x) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %1 = onnx.ReduceMean(%0) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %2 = onnx.Add(%1, %eps) : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32> loc("/norm/Add")
  %h = onnx.Constant {value = dense<-0.5> : tensor<f32>} : tensor<f32>
  // expected-remark @below {{norm-recognize: left unchanged: decomposed RMSNorm chain: the epsilon of node '/norm/Add' is not a constant scalar}}
  %3 = onnx.Pow(%2, %h) {onnx.outputs = ["r"]} : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %4 = onnx.Mul(%x, %3) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %4 : tensor<4x16xf32>
}

// -----

// The centered value is also a graph output: a LayerNorm refused, named by
// the reader outside the chain.
// REPORT-LABEL: module attributes {norm.report = [{action = "refused", kind = "layer_norm", name = "/ln/Sqrt_output_0", pass = "norm-recognize", reason = "decomposed LayerNorm chain: the value of node '/ln/Sub' is also used outside the chain, by 'func.return'"}]}
func.func @layer_norm_centered_used(%x: tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %0 = onnx.ReduceMean(%x) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %1 = onnx.Sub(%x, %0) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32> loc("/ln/Sub")
  %2 = onnx.Mul(%1, %1) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %3 = onnx.ReduceMean(%2) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-05> : tensor<f32>} : tensor<f32>
  %4 = onnx.Add(%3, %eps) : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  // expected-remark @below {{norm-recognize: left unchanged: decomposed LayerNorm chain: the value of node '/ln/Sub' is also used outside the chain, by 'func.return'}}
  %5 = onnx.Sqrt(%4) {onnx.outputs = ["/ln/Sqrt_output_0"]} : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %6 = onnx.Div(%1, %5) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %6, %1 : tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// The moments spelling mean(x^2) - mean(x)^2 with the mean over other dims
// than the mean square.
// REPORT-LABEL: module attributes {norm.report = [{action = "refused", kind = "layer_norm", name = "", pass = "norm-recognize", reason = "decomposed LayerNorm chain: the mean node 'm' and the mean square node 'ms' reduce different dims"}]}
func.func @layer_norm_moments_mismatch(%x: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %m = onnx.ReduceMean(%x) {axes = array<i64: -2, -1>} : (tensor<2x4x8xf32>) -> tensor<2x1x1xf32> loc("m")
  %0 = onnx.Mul(%x, %x) : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %ms = onnx.ReduceMean(%0) {axes = array<i64: -1>} : (tensor<2x4x8xf32>) -> tensor<2x4x1xf32> loc("ms")
  %1 = onnx.Mul(%m, %m) : (tensor<2x1x1xf32>, tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %2 = onnx.Sub(%ms, %1) : (tensor<2x4x1xf32>, tensor<2x1x1xf32>) -> tensor<2x4x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-05> : tensor<f32>} : tensor<f32>
  %3 = onnx.Add(%2, %eps) : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  // expected-remark @below {{decomposed LayerNorm chain: the mean node 'm' and the mean square node 'ms' reduce different dims}}
  %4 = onnx.Sqrt(%3) : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %5 = onnx.Sub(%x, %m) : (tensor<2x4x8xf32>, tensor<2x1x1xf32>) -> tensor<2x4x8xf32>
  %6 = onnx.Div(%5, %4) : (tensor<2x4x8xf32>, tensor<2x4x1xf32>) -> tensor<2x4x8xf32>
  return %6 : tensor<2x4x8xf32>
}

// -----

// x / (ms + eps)^-0.5 multiplies by the root instead of dividing by it; the
// reason names the readers of the inverse root.
// REPORT-LABEL: module attributes {norm.report = [{action = "refused", kind = "rms_norm", name = "r", pass = "norm-recognize", reason = "decomposed RMSNorm chain: the inverse square root (the node producing 'r') is read by node 'd', not by one Mul"}]}
func.func @rms_norm_divided_by_inverse_root(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %0 = onnx.Mul(%x, %x) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %1 = onnx.ReduceMean(%0) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-06> : tensor<f32>} : tensor<f32>
  %2 = onnx.Add(%1, %eps) : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %h = onnx.Constant {value = dense<-0.5> : tensor<f32>} : tensor<f32>
  // expected-remark @below {{is read by node 'd', not by one Mul}}
  %3 = onnx.Pow(%2, %h) {onnx.outputs = ["r"]} : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %4 = onnx.Div(%x, %3) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32> loc("d")
  return %4 : tensor<4x16xf32>
}

// -----

// No norm candidates, so no remark and no record: a root of something that
// is not a mean of squares, a mean of cubes, the root of a mean square
// without epsilon.
// REPORT-NOT: norm.report
// REPORT-LABEL: func.func @not_norm_candidates
func.func @not_norm_candidates(%x: tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %eps = onnx.Constant {value = dense<1.0e-06> : tensor<f32>} : tensor<f32>
  %0 = onnx.Add(%x, %eps) : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  %1 = onnx.Sqrt(%0) : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %2 = onnx.Div(%x, %1) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %three = onnx.Constant {value = dense<3.0> : tensor<f32>} : tensor<f32>
  %10 = onnx.Pow(%x, %three) : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  %11 = onnx.ReduceMean(%10) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %12 = onnx.Add(%11, %eps) : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %13 = onnx.Sqrt(%12) : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %14 = onnx.Div(%x, %13) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %20 = onnx.Mul(%x, %x) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %21 = onnx.ReduceMean(%20) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %22 = onnx.Sqrt(%21) : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %23 = onnx.Div(%x, %22) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %2, %14, %23 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}
