// RUN: norm-opt %s -split-input-file --norm-recognize | FileCheck %s
// RUN: norm-opt %s -split-input-file --norm-recognize --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s --check-prefix=LOC

//===----------------------------------------------------------------------===//
// Explicit normalization nodes
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @layer_normalization
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8xf32>
// CHECK: %[[G:.*]] = onnx.initializer "g"
// CHECK: %[[B:.*]] = onnx.initializer "b"
// CHECK: %[[Y:.*]] = norm.layer_norm %[[X]] scale(%[[G]] : tensor<8xf32>) bias(%[[B]] : tensor<8xf32>) {epsilon = 1.000000e-03 : f32, onnx.outputs = ["y"]}
// CHECK: return %[[Y]]
// LOC-LABEL: func.func @layer_normalization
// LOC: norm.layer_norm
// LOC: onnx.yield
// LOC-NEXT: {{^ *}}} loc("ln")
func.func @layer_normalization(%x: tensor<2x3x8xf32>) -> tensor<2x3x8xf32> {
  %g = onnx.initializer "g" = dense<2.0> : tensor<8xf32> : tensor<8xf32>
  %b = onnx.initializer "b" = dense<0.5> : tensor<8xf32> : tensor<8xf32>
  %y = onnx.node "LayerNormalization"(%x, %g, %b) {axis = -1 : i64, epsilon = 1.0e-03 : f32, onnx.outputs = ["y"]} : (tensor<2x3x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32> loc("ln")
  return %y : tensor<2x3x8xf32>
}

// -----

// CHECK-LABEL: func.func @rms_normalization_nodes
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>
// CHECK: %[[G:.*]] = onnx.initializer "g"
// CHECK: %[[A:.*]] = norm.rms_norm %[[X]] scale(%[[G]] : tensor<8xf32>) {axis = 1 : i64, onnx.outputs = ["a"]}
// CHECK: %[[B:.*]] = norm.rms_norm %[[X]] scale(%[[G]] : tensor<8xf32>) {epsilon = 9.99999997E-7 : f32, onnx.outputs = ["b"]}
// CHECK: %[[C:.*]] = norm.rms_norm %[[X]] scale(%[[G]] : tensor<8xf32>) {epsilon = 9.99999997E-7 : f32, onnx.outputs = ["c"]}
// CHECK: return %[[A]], %[[B]], %[[C]]
func.func @rms_normalization_nodes(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %g = onnx.initializer "g" = dense<2.0> : tensor<8xf32> : tensor<8xf32>
  %a = onnx.node "RMSNormalization"(%x, %g) {axis = 1 : i64, onnx.outputs = ["a"]} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %b = onnx.node "SimplifiedLayerNormalization"(%x, %g) {epsilon = 1.0e-06 : f32, onnx.outputs = ["b"]} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %c = onnx.node "SimplifiedLayerNormalization" domain "com.microsoft" (%x, %g) {epsilon = 1.0e-06 : f32, onnx.outputs = ["c"]} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %a, %b, %c : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// CHECK-LABEL: func.func @batch_normalization
// CHECK-SAME: (%[[X:.*]]: tensor<1x3x4x4xf32>, %[[S:.*]]: tensor<3xf32>, %[[B:.*]]: tensor<3xf32>, %[[M:.*]]: tensor<3xf32>, %[[V:.*]]: tensor<3xf32>)
// CHECK: norm.batch_norm %[[X]], %[[S]], %[[B]], %[[M]], %[[V]] {epsilon = 1.000000e-03 : f32, onnx.outputs = ["y"]}
func.func @batch_normalization(%x: tensor<1x3x4x4xf32>, %s: tensor<3xf32>, %b: tensor<3xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>) -> tensor<1x3x4x4xf32> {
  %y = onnx.node "BatchNormalization"(%x, %s, %b, %m, %v) {epsilon = 1.0e-03 : f32, onnx.outputs = ["y"]} : (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
  return %y : tensor<1x3x4x4xf32>
}

// -----

// The mean and inverse std outputs are unused; the skip sum is.
// CHECK-LABEL: func.func @skip_normalization_nodes
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8xf32>, %[[S:.*]]: tensor<2x3x8xf32>, %[[G:.*]]: tensor<8xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK: %[[Y:.*]], %[[SUM:.*]] = norm.skip_layer_norm %[[X]], %[[S]] scale(%[[G]] : tensor<8xf32>) bias(%[[B]] : tensor<8xf32>) {epsilon = 9.99999996E-13 : f32, onnx.outputs = ["y", "sum"]}
// CHECK: %[[Z:.*]], %{{.*}} = norm.skip_rms_norm %[[X]], %[[S]] scale(%[[G]] : tensor<8xf32>) {epsilon = 9.99999997E-7 : f32, onnx.outputs = ["z", ""]}
// CHECK: return %[[Y]], %[[SUM]], %[[Z]]
func.func @skip_normalization_nodes(%x: tensor<2x3x8xf32>, %s: tensor<2x3x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>)
    -> (tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>) {
  %y:4 = onnx.node "SkipLayerNormalization" domain "com.microsoft" (%x, %s, %g, %b) {onnx.outputs = ["y", "", "", "sum"]} : (tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<2x3x8xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>, tensor<2x3x8xf32>)
  %z = onnx.node "SkipSimplifiedLayerNormalization" domain "com.microsoft" (%x, %s, %g) {epsilon = 1.0e-06 : f32, onnx.outputs = ["z"]} : (tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return %y#0, %y#3, %z : tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>
}

// -----

// Refused: training-mode BatchNormalization computes batch statistics.
// CHECK-LABEL: func.func @batch_normalization_training
// CHECK-NOT: norm.
// CHECK: onnx.node "BatchNormalization"
func.func @batch_normalization_training(%x: tensor<1x3x4x4xf32>, %c: tensor<3xf32>) -> tensor<1x3x4x4xf32> {
  %y = onnx.node "BatchNormalization"(%x, %c, %c, %c, %c) {training_mode = 1 : i64} : (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
  return %y : tensor<1x3x4x4xf32>
}

// -----

// Refused: stash_type 0 computes the statistics in the input type.
// CHECK-LABEL: func.func @layer_normalization_stash_type
// CHECK-NOT: norm.
// CHECK: onnx.node "LayerNormalization"
func.func @layer_normalization_stash_type(%x: tensor<2x8xf16>, %g: tensor<8xf16>) -> tensor<2x8xf16> {
  %y = onnx.node "LayerNormalization"(%x, %g) {stash_type = 0 : i64} : (tensor<2x8xf16>, tensor<8xf16>) -> tensor<2x8xf16>
  return %y : tensor<2x8xf16>
}

// -----

// Refused: the Mean output is used, and norm.layer_norm does not produce it.
// CHECK-LABEL: func.func @layer_normalization_mean_used
// CHECK-NOT: norm.
// CHECK: onnx.node "LayerNormalization"
func.func @layer_normalization_mean_used(%x: tensor<2x8xf32>, %g: tensor<8xf32>) -> (tensor<2x8xf32>, tensor<2x1xf32>) {
  %y:3 = onnx.node "LayerNormalization"(%x, %g) : (tensor<2x8xf32>, tensor<8xf32>) -> (tensor<2x8xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  return %y#0, %y#1 : tensor<2x8xf32>, tensor<2x1xf32>
}

// -----

//===----------------------------------------------------------------------===//
// Decomposed LayerNorm
//===----------------------------------------------------------------------===//

// PyTorch opset 13/14: the chain and the Constant nodes that fed only it go;
// the initializers stay. The norm takes the last node's name and outputs.
// CHECK-LABEL: module attributes {norm.report = [{action = "recognized", kind = "layer_norm", name = "/ln/Add_1", pass = "norm-recognize", reason = "decomposed LayerNorm (var = mean((x - mean)^2), x / sqrt)"}]}
// CHECK-LABEL: func.func @layer_norm_pytorch
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8xf32>
// CHECK-NEXT: %[[G:.*]] = onnx.initializer "ln.weight"
// CHECK-NEXT: %[[B:.*]] = onnx.initializer "ln.bias"
// CHECK-NEXT: %[[Y:.*]] = norm.layer_norm %[[X]] scale(%[[G]] : tensor<8xf32>) bias(%[[B]] : tensor<8xf32>) {onnx.outputs = ["y"]} : tensor<2x3x8xf32> -> tensor<2x3x8xf32>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: return %[[Y]]
// LOC-LABEL: func.func @layer_norm_pytorch
// LOC: norm.layer_norm
// LOC: onnx.yield
// LOC-NEXT: {{^ *}}} loc("/ln/Add_1")
func.func @layer_norm_pytorch(%x: tensor<2x3x8xf32>) -> tensor<2x3x8xf32> {
  %g = onnx.initializer "ln.weight" = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32> : tensor<8xf32>
  %b = onnx.initializer "ln.bias" = dense<0.5> : tensor<8xf32> : tensor<8xf32>
  %0 = onnx.ReduceMean(%x) {axes = array<i64: -1>, onnx.outputs = ["/ln/ReduceMean_output_0"]} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32> loc("/ln/ReduceMean")
  %1 = onnx.Sub(%x, %0) {onnx.outputs = ["/ln/Sub_output_0"]} : (tensor<2x3x8xf32>, tensor<2x3x1xf32>) -> tensor<2x3x8xf32> loc("/ln/Sub")
  %2 = onnx.Constant {onnx.outputs = ["/ln/Constant_output_0"], value = dense<2.0> : tensor<f32>} : tensor<f32> loc("/ln/Constant")
  %3 = onnx.Pow(%1, %2) {onnx.outputs = ["/ln/Pow_output_0"]} : (tensor<2x3x8xf32>, tensor<f32>) -> tensor<2x3x8xf32> loc("/ln/Pow")
  %4 = onnx.ReduceMean(%3) {axes = array<i64: -1>, onnx.outputs = ["/ln/ReduceMean_1_output_0"]} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32> loc("/ln/ReduceMean_1")
  %5 = onnx.Constant {onnx.outputs = ["/ln/Constant_1_output_0"], value = dense<1.0e-05> : tensor<f32>} : tensor<f32> loc("/ln/Constant_1")
  %6 = onnx.Add(%4, %5) {onnx.outputs = ["/ln/Add_output_0"]} : (tensor<2x3x1xf32>, tensor<f32>) -> tensor<2x3x1xf32> loc("/ln/Add")
  %7 = onnx.Sqrt(%6) {onnx.outputs = ["/ln/Sqrt_output_0"]} : (tensor<2x3x1xf32>) -> tensor<2x3x1xf32> loc("/ln/Sqrt")
  %8 = onnx.Div(%1, %7) {onnx.outputs = ["/ln/Div_output_0"]} : (tensor<2x3x8xf32>, tensor<2x3x1xf32>) -> tensor<2x3x8xf32> loc("/ln/Div")
  %9 = onnx.Mul(%8, %g) {onnx.outputs = ["/ln/Mul_output_0"]} : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32> loc("/ln/Mul")
  %10 = onnx.Add(%9, %b) {onnx.outputs = ["y"]} : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32> loc("/ln/Add_1")
  return %10 : tensor<2x3x8xf32>
}

// -----

// (x - mean) * (var + eps)^-0.5 * g + b: the inverse root as Pow(v, -0.5)
// (hand-written graphs, `var ** -0.5`).
// CHECK-LABEL: module attributes {norm.report = [{action = "recognized", kind = "layer_norm", name = "y", pass = "norm-recognize", reason = "decomposed LayerNorm (var = mean((x - mean)^2), x * (var + eps)^-0.5)"}]}
// CHECK-LABEL: func.func @layer_norm_pow_rsqrt
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8xf32>, %[[G:.*]]: tensor<8xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK-NEXT: %[[Y:.*]] = norm.layer_norm %[[X]] scale(%[[G]] : tensor<8xf32>) bias(%[[B]] : tensor<8xf32>) {onnx.outputs = ["y"]} : tensor<2x3x8xf32> -> tensor<2x3x8xf32>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: return %[[Y]]
func.func @layer_norm_pow_rsqrt(%x: tensor<2x3x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x3x8xf32> {
  %0 = onnx.ReduceMean(%x) {axes = array<i64: -1>} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32>
  %1 = onnx.Sub(%x, %0) : (tensor<2x3x8xf32>, tensor<2x3x1xf32>) -> tensor<2x3x8xf32>
  %2 = onnx.Mul(%1, %1) : (tensor<2x3x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  %3 = onnx.ReduceMean(%2) {axes = array<i64: -1>} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-05> : tensor<f32>} : tensor<f32>
  %4 = onnx.Add(%3, %eps) : (tensor<2x3x1xf32>, tensor<f32>) -> tensor<2x3x1xf32>
  %half = onnx.Constant {value = dense<-0.5> : tensor<f32>} : tensor<f32>
  %5 = onnx.Pow(%4, %half) : (tensor<2x3x1xf32>, tensor<f32>) -> tensor<2x3x1xf32>
  %6 = onnx.Mul(%5, %1) : (tensor<2x3x1xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  %7 = onnx.Mul(%6, %g) : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  %8 = onnx.Add(%7, %b) {onnx.outputs = ["y"]} : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return %8 : tensor<2x3x8xf32>
}

// -----

// Operands in the other order, Mul(d, d) for the square, two trailing dims,
// and the opset-18 spelling of ReduceMean with axes as a (shared) input.
// CHECK-LABEL: func.func @layer_norm_swapped_two_dims
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8xf32>, %[[G:.*]]: tensor<3x8xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK-NEXT: %[[Y:.*]] = norm.layer_norm %[[X]] scale(%[[G]] : tensor<3x8xf32>) bias(%[[B]] : tensor<8xf32>) {axis = -2 : i64, epsilon = 9.99999997E-7 : f32} : tensor<2x3x8xf32> -> tensor<2x3x8xf32>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: return %[[Y]]
func.func @layer_norm_swapped_two_dims(%x: tensor<2x3x8xf32>, %g: tensor<3x8xf32>, %b: tensor<8xf32>) -> tensor<2x3x8xf32> {
  %axes = onnx.Constant {value = dense<[1, 2]> : tensor<2xi64>} : tensor<2xi64>
  %0 = onnx.ReduceMean(%x, %axes) : (tensor<2x3x8xf32>, tensor<2xi64>) -> tensor<2x1x1xf32>
  %1 = onnx.Sub(%x, %0) : (tensor<2x3x8xf32>, tensor<2x1x1xf32>) -> tensor<2x3x8xf32>
  %2 = onnx.Mul(%1, %1) : (tensor<2x3x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  %3 = onnx.ReduceMean(%2, %axes) {keepdims = 1 : i64} : (tensor<2x3x8xf32>, tensor<2xi64>) -> tensor<2x1x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-06> : tensor<1xf32>} : tensor<1xf32>
  %4 = onnx.Add(%eps, %3) : (tensor<1xf32>, tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %5 = onnx.Sqrt(%4) : (tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %6 = onnx.Div(%1, %5) : (tensor<2x3x8xf32>, tensor<2x1x1xf32>) -> tensor<2x3x8xf32>
  %7 = onnx.Mul(%g, %6) : (tensor<3x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  %8 = onnx.Add(%b, %7) : (tensor<8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  return %8 : tensor<2x3x8xf32>
}

// -----

// Without the affine tail (elementwise_affine=False).
// CHECK-LABEL: func.func @layer_norm_no_affine
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf32>)
// CHECK-NEXT: %[[Y:.*]] = norm.layer_norm %[[X]] : tensor<4x16xf32> -> tensor<4x16xf32>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: return %[[Y]]
func.func @layer_norm_no_affine(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %0 = onnx.ReduceMean(%x) {axes = array<i64: 1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %1 = onnx.Sub(%x, %0) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %two = onnx.Constant {value_int = 2 : i64} : tensor<i64>
  %2 = onnx.Pow(%1, %two) : (tensor<4x16xf32>, tensor<i64>) -> tensor<4x16xf32>
  %3 = onnx.ReduceMean(%2) {axes = array<i64: 1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %eps = onnx.Constant {value_float = 1.0e-05 : f32} : tensor<f32>
  %4 = onnx.Add(%3, %eps) : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %5 = onnx.Sqrt(%4) : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %6 = onnx.Div(%1, %5) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %6 : tensor<4x16xf32>
}

// -----

// var = E[x^2] - E[x]^2, with the weights in Constant nodes (paddle2onnx)
// and epsilon a Cast of a Constant (the ONNX function body). The weight
// Constants stay, as operands of the norm.
// CHECK-LABEL: func.func @layer_norm_moments_constant_weights
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf32>)
// CHECK-NEXT: %[[G:.*]] = onnx.Constant {value = dense<3.000000e+00> : tensor<16xf32>}
// CHECK-NEXT: %[[B:.*]] = onnx.Constant {value = dense<-1.000000e+00> : tensor<16xf32>}
// CHECK-NEXT: %[[Y:.*]] = norm.layer_norm %[[X]] scale(%[[G]] : tensor<16xf32>) bias(%[[B]] : tensor<16xf32>) {epsilon = 1.000000e-01 : f32}
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: return %[[Y]]
func.func @layer_norm_moments_constant_weights(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %g = onnx.Constant {value = dense<3.0> : tensor<16xf32>} : tensor<16xf32>
  %b = onnx.Constant {value = dense<-1.0> : tensor<16xf32>} : tensor<16xf32>
  %m = onnx.ReduceMean(%x) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %sq = onnx.Mul(%x, %x) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %msq = onnx.ReduceMean(%sq) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %sqm = onnx.Mul(%m, %m) : (tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x1xf32>
  %var = onnx.Sub(%msq, %sqm) : (tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x1xf32>
  %e64 = onnx.Constant {value = dense<1.0e-01> : tensor<f64>} : tensor<f64>
  %eps = onnx.Cast(%e64) {to = 1 : i64} : (tensor<f64>) -> tensor<f32>
  %a = onnx.Add(%var, %eps) : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %s = onnx.Sqrt(%a) : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %d = onnx.Sub(%x, %m) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %n = onnx.Div(%d, %s) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %y = onnx.Mul(%n, %g) : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %z = onnx.Add(%y, %b) : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  return %z : tensor<4x16xf32>
}

// -----

// The ONNX LayerNormalization function body (axis = 1 of a 3-D input), with
// its Mean / InvStdDev side outputs computed but unused: the whole body,
// shape computations included, becomes one norm of the unflattened input.
// CHECK-LABEL: module attributes {norm.report = [{action = "recognized", kind = "layer_norm", name = "Y", pass = "norm-recognize", reason = "ONNX LayerNormalization function body (var = mean(x^2) - mean^2, x / sqrt)"}]}
// CHECK-LABEL: func.func @layer_norm_function_body
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x5xf32> {onnx.name = "X"}, %[[W:.*]]: tensor<3x5xf32> {onnx.name = "W"}, %[[B:.*]]: tensor<3x5xf32> {onnx.name = "B"})
// CHECK-NEXT: %[[Y:.*]] = norm.layer_norm %[[X]] scale(%[[W]] : tensor<3x5xf32>) bias(%[[B]] : tensor<3x5xf32>) {axis = -2 : i64, epsilon = 1.000000e-01 : f32, onnx.outputs = ["Y"]}
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: return %[[Y]]
func.func @layer_norm_function_body(%X: tensor<2x3x5xf32> {onnx.name = "X"}, %W: tensor<3x5xf32> {onnx.name = "W"}, %B: tensor<3x5xf32> {onnx.name = "B"}) -> (tensor<2x3x5xf32> {onnx.name = "Y"}) {
  %0 = onnx.Constant {value = dense<1.000000e-01> : tensor<f32>} : tensor<f32>
  %1 = onnx.Cast(%0) {to = 1 : i64} : (tensor<f32>) -> tensor<f32>
  %2 = onnx.Shape(%X) : (tensor<2x3x5xf32>) -> tensor<3xi64>
  %3 = onnx.Size(%2) : (tensor<3xi64>) -> tensor<i64>
  %4 = onnx.Constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %5 = onnx.Constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %6 = onnx.node "Slice"(%2, %4, %5) : (tensor<3xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  %7 = onnx.Sub(%3, %5) : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %8 = onnx.node "ConstantOfShape"(%7) {value = dense<1> : tensor<1xi64>} : (tensor<1xi64>) -> tensor<?xi64>
  %9 = onnx.Concat(%6, %8) {axis = 0 : i64} : (tensor<1xi64>, tensor<?xi64>) -> tensor<?xi64>
  %10 = onnx.Flatten(%X) {axis = 1 : i64} : (tensor<2x3x5xf32>) -> tensor<2x15xf32>
  %11 = onnx.Cast(%10) {to = 1 : i64} : (tensor<2x15xf32>) -> tensor<2x15xf32>
  %12 = onnx.ReduceMean(%11) {axes = array<i64: 1>} : (tensor<2x15xf32>) -> tensor<2x1xf32>
  %13 = onnx.Mul(%11, %11) : (tensor<2x15xf32>, tensor<2x15xf32>) -> tensor<2x15xf32>
  %14 = onnx.ReduceMean(%13) {axes = array<i64: 1>} : (tensor<2x15xf32>) -> tensor<2x1xf32>
  %15 = onnx.Mul(%12, %12) : (tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  %16 = onnx.Sub(%14, %15) : (tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  %17 = onnx.Add(%16, %1) : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %18 = onnx.Sqrt(%17) : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %19 = onnx.Sub(%11, %12) : (tensor<2x15xf32>, tensor<2x1xf32>) -> tensor<2x15xf32>
  %20 = onnx.Div(%19, %18) : (tensor<2x15xf32>, tensor<2x1xf32>) -> tensor<2x15xf32>
  %21 = onnx.Cast(%20) {to = 1 : i64} : (tensor<2x15xf32>) -> tensor<2x15xf32>
  %22 = onnx.Flatten(%W) {axis = 0 : i64} : (tensor<3x5xf32>) -> tensor<1x15xf32>
  %23 = onnx.Mul(%21, %22) : (tensor<2x15xf32>, tensor<1x15xf32>) -> tensor<2x15xf32>
  %24 = onnx.Flatten(%B) {axis = 0 : i64} : (tensor<3x5xf32>) -> tensor<1x15xf32>
  %25 = onnx.Add(%23, %24) : (tensor<2x15xf32>, tensor<1x15xf32>) -> tensor<2x15xf32>
  %26 = onnx.Reshape(%25, %2) {onnx.outputs = ["Y"]} : (tensor<2x15xf32>, tensor<3xi64>) -> tensor<2x3x5xf32>
  %27 = onnx.Reciprocal(%18) : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %28 = onnx.Reshape(%12, %9) : (tensor<2x1xf32>, tensor<?xi64>) -> tensor<2x1x1xf32>
  %29 = onnx.Reshape(%27, %9) : (tensor<2x1xf32>, tensor<?xi64>) -> tensor<2x1x1xf32>
  return %26 : tensor<2x3x5xf32>
}

// -----

// Refused: the function body's Mean output is a graph output.
// CHECK-LABEL: func.func @layer_norm_function_body_mean_used
// CHECK-NOT: norm.
// CHECK: onnx.Sqrt
// CHECK-NOT: norm.
// CHECK: return
func.func @layer_norm_function_body_mean_used(%X: tensor<2x8xf32>, %W: tensor<8xf32>) -> (tensor<2x8xf32>, tensor<2x1xf32>) {
  %eps = onnx.Constant {value = dense<1.0e-05> : tensor<f32>} : tensor<f32>
  %shape = onnx.Shape(%X) : (tensor<2x8xf32>) -> tensor<2xi64>
  %10 = onnx.Flatten(%X) {axis = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %12 = onnx.ReduceMean(%10) {axes = array<i64: 1>} : (tensor<2x8xf32>) -> tensor<2x1xf32>
  %13 = onnx.Mul(%10, %10) : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %14 = onnx.ReduceMean(%13) {axes = array<i64: 1>} : (tensor<2x8xf32>) -> tensor<2x1xf32>
  %15 = onnx.Mul(%12, %12) : (tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  %16 = onnx.Sub(%14, %15) : (tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  %17 = onnx.Add(%16, %eps) : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %18 = onnx.Sqrt(%17) : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %19 = onnx.Sub(%10, %12) : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  %20 = onnx.Div(%19, %18) : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  %22 = onnx.Flatten(%W) {axis = 0 : i64} : (tensor<8xf32>) -> tensor<1x8xf32>
  %23 = onnx.Mul(%20, %22) : (tensor<2x8xf32>, tensor<1x8xf32>) -> tensor<2x8xf32>
  %26 = onnx.Reshape(%23, %shape) : (tensor<2x8xf32>, tensor<2xi64>) -> tensor<2x8xf32>
  return %26, %12 : tensor<2x8xf32>, tensor<2x1xf32>
}

// -----

// Refused: the statistics are over a leading dim, not the trailing ones.
// CHECK-LABEL: func.func @layer_norm_leading_axis
// CHECK-NOT: norm.
// CHECK: onnx.Sqrt
// CHECK-NOT: norm.
// CHECK: return
func.func @layer_norm_leading_axis(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %0 = onnx.ReduceMean(%x) {axes = array<i64: 0>} : (tensor<4x16xf32>) -> tensor<1x16xf32>
  %1 = onnx.Sub(%x, %0) : (tensor<4x16xf32>, tensor<1x16xf32>) -> tensor<4x16xf32>
  %2 = onnx.Mul(%1, %1) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %3 = onnx.ReduceMean(%2) {axes = array<i64: 0>} : (tensor<4x16xf32>) -> tensor<1x16xf32>
  %eps = onnx.Constant {value_float = 1.0e-05 : f32} : tensor<f32>
  %4 = onnx.Add(%3, %eps) : (tensor<1x16xf32>, tensor<f32>) -> tensor<1x16xf32>
  %5 = onnx.Sqrt(%4) : (tensor<1x16xf32>) -> tensor<1x16xf32>
  %6 = onnx.Div(%1, %5) : (tensor<4x16xf32>, tensor<1x16xf32>) -> tensor<4x16xf32>
  return %6 : tensor<4x16xf32>
}

// -----

// Refused: epsilon is a graph input, not a constant.
// CHECK-LABEL: func.func @layer_norm_variable_epsilon
// CHECK-NOT: norm.
// CHECK: onnx.Sqrt
// CHECK-NOT: norm.
// CHECK: return
func.func @layer_norm_variable_epsilon(%x: tensor<4x16xf32>, %eps: tensor<f32>) -> tensor<4x16xf32> {
  %0 = onnx.ReduceMean(%x) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %1 = onnx.Sub(%x, %0) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %2 = onnx.Mul(%1, %1) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %3 = onnx.ReduceMean(%2) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %4 = onnx.Add(%3, %eps) : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %5 = onnx.Sqrt(%4) : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %6 = onnx.Div(%1, %5) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %6 : tensor<4x16xf32>
}

// -----

// Refused: the centered value is also a graph output, so the chain would
// still be needed; nor is it taken for an RMSNorm of the centered value.
// CHECK-LABEL: func.func @layer_norm_intermediate_used
// CHECK-NOT: norm.
// CHECK: onnx.Sqrt
// CHECK-NOT: norm.
// CHECK: return
func.func @layer_norm_intermediate_used(%x: tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %0 = onnx.ReduceMean(%x) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %1 = onnx.Sub(%x, %0) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %2 = onnx.Mul(%1, %1) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %3 = onnx.ReduceMean(%2) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %eps = onnx.Constant {value_float = 1.0e-05 : f32} : tensor<f32>
  %4 = onnx.Add(%3, %eps) : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %5 = onnx.Sqrt(%4) : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %6 = onnx.Div(%1, %5) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %6, %1 : tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// Refused: keepdims = 0, and a mean over other dims than the variance's.
// CHECK-LABEL: func.func @layer_norm_keepdims_zero
// CHECK-NOT: norm.
// CHECK: onnx.Sqrt
// CHECK-NOT: norm.
// CHECK: return
// CHECK-LABEL: func.func @layer_norm_mismatched_axes
// CHECK-NOT: norm.
// CHECK: onnx.Sqrt
// CHECK-NOT: norm.
// CHECK: return
func.func @layer_norm_keepdims_zero(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %0 = onnx.ReduceMean(%x) {axes = array<i64: -1>, keepdims = 0 : i64} : (tensor<4x16xf32>) -> tensor<4xf32>
  %1 = onnx.Sub(%x, %0) : (tensor<4x16xf32>, tensor<4xf32>) -> tensor<4x16xf32>
  %2 = onnx.Mul(%1, %1) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %3 = onnx.ReduceMean(%2) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %eps = onnx.Constant {value_float = 1.0e-05 : f32} : tensor<f32>
  %4 = onnx.Add(%3, %eps) : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %5 = onnx.Sqrt(%4) : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %6 = onnx.Div(%1, %5) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %6 : tensor<4x16xf32>
}
func.func @layer_norm_mismatched_axes(%x: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %0 = onnx.ReduceMean(%x) {axes = array<i64: -2, -1>} : (tensor<2x4x16xf32>) -> tensor<2x1x1xf32>
  %1 = onnx.Sub(%x, %0) : (tensor<2x4x16xf32>, tensor<2x1x1xf32>) -> tensor<2x4x16xf32>
  %2 = onnx.Mul(%1, %1) : (tensor<2x4x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %3 = onnx.ReduceMean(%2) {axes = array<i64: -1>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %eps = onnx.Constant {value_float = 1.0e-05 : f32} : tensor<f32>
  %4 = onnx.Add(%3, %eps) : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  %5 = onnx.Sqrt(%4) : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %6 = onnx.Div(%1, %5) : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  return %6 : tensor<2x4x16xf32>
}

// -----

// Refused: with an unknown rank, a non-negative axis does not say which dims
// are trailing; and (second function) the axes are a graph input.
// CHECK-LABEL: func.func @layer_norm_unranked_positive_axis
// CHECK-NOT: norm.
// CHECK: onnx.Sqrt
// CHECK-NOT: norm.
// CHECK: return
// CHECK-LABEL: func.func @layer_norm_variable_axes
// CHECK-NOT: norm.
// CHECK: onnx.Sqrt
// CHECK-NOT: norm.
// CHECK: return
func.func @layer_norm_unranked_positive_axis(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = onnx.ReduceMean(%x) {axes = array<i64: 1>} : (tensor<*xf32>) -> tensor<*xf32>
  %1 = onnx.Sub(%x, %0) : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %2 = onnx.Mul(%1, %1) : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %3 = onnx.ReduceMean(%2) {axes = array<i64: 1>} : (tensor<*xf32>) -> tensor<*xf32>
  %eps = onnx.Constant {value_float = 1.0e-05 : f32} : tensor<f32>
  %4 = onnx.Add(%3, %eps) : (tensor<*xf32>, tensor<f32>) -> tensor<*xf32>
  %5 = onnx.Sqrt(%4) : (tensor<*xf32>) -> tensor<*xf32>
  %6 = onnx.Div(%1, %5) : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  return %6 : tensor<*xf32>
}
func.func @layer_norm_variable_axes(%x: tensor<4x16xf32>, %axes: tensor<1xi64>) -> tensor<4x16xf32> {
  %0 = onnx.ReduceMean(%x, %axes) : (tensor<4x16xf32>, tensor<1xi64>) -> tensor<4x1xf32>
  %1 = onnx.Sub(%x, %0) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %2 = onnx.Mul(%1, %1) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %3 = onnx.ReduceMean(%2, %axes) : (tensor<4x16xf32>, tensor<1xi64>) -> tensor<4x1xf32>
  %eps = onnx.Constant {value_float = 1.0e-05 : f32} : tensor<f32>
  %4 = onnx.Add(%3, %eps) : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %5 = onnx.Sqrt(%4) : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %6 = onnx.Div(%1, %5) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %6 : tensor<4x16xf32>
}

// -----

// Unknown rank (attention reshapes exported without constant folding): the
// negative axes still name the trailing dims. The residual Add's ranked
// operand gives the hidden size, so the weights are proven to fit.
// CHECK-LABEL: func.func @layer_norm_unranked_residual
// CHECK-SAME: (%[[A:.*]]: tensor<2x8x32xf32>, %[[B:.*]]: tensor<*xf32>, %[[G:.*]]: tensor<32xf32>, %[[BETA:.*]]: tensor<32xf32>)
// CHECK-NEXT: %[[X:.*]] = onnx.Add(%[[A]], %[[B]])
// CHECK-NEXT: %[[Y:.*]] = norm.layer_norm %[[X]] scale(%[[G]] : tensor<32xf32>) bias(%[[BETA]] : tensor<32xf32>) : tensor<*xf32> -> tensor<*xf32>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: return %[[Y]]
func.func @layer_norm_unranked_residual(%a: tensor<2x8x32xf32>, %b: tensor<*xf32>, %g: tensor<32xf32>, %beta: tensor<32xf32>) -> tensor<*xf32> {
  %x = onnx.Add(%a, %b) : (tensor<2x8x32xf32>, tensor<*xf32>) -> tensor<*xf32>
  %0 = onnx.ReduceMean(%x) {axes = array<i64: -1>} : (tensor<*xf32>) -> tensor<*xf32>
  %1 = onnx.Sub(%x, %0) : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %two = onnx.Constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %2 = onnx.Pow(%1, %two) : (tensor<*xf32>, tensor<f32>) -> tensor<*xf32>
  %3 = onnx.ReduceMean(%2) {axes = array<i64: -1>} : (tensor<*xf32>) -> tensor<*xf32>
  %eps = onnx.Constant {value = dense<1.0e-05> : tensor<f32>} : tensor<f32>
  %4 = onnx.Add(%3, %eps) : (tensor<*xf32>, tensor<f32>) -> tensor<*xf32>
  %5 = onnx.Sqrt(%4) : (tensor<*xf32>) -> tensor<*xf32>
  %6 = onnx.Div(%1, %5) : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %7 = onnx.Mul(%6, %g) : (tensor<*xf32>, tensor<32xf32>) -> tensor<*xf32>
  %8 = onnx.Add(%7, %beta) : (tensor<*xf32>, tensor<32xf32>) -> tensor<*xf32>
  return %8 : tensor<*xf32>
}

// -----

// Unknown rank and unknown hidden size: the norm is recognized, but a gain
// that cannot be proven to fit (a size-1 hidden dim would broadcast to it)
// stays a Mul.
// CHECK-LABEL: func.func @rms_norm_unranked_unknown_dims
// CHECK-SAME: (%[[X:.*]]: tensor<*xf32>, %[[W:.*]]: tensor<32xf32>)
// CHECK-NEXT: %[[N:.*]] = norm.rms_norm %[[X]] : tensor<*xf32> -> tensor<*xf32>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: %[[Y:.*]] = onnx.Mul(%[[N]], %[[W]])
// CHECK-NEXT: return %[[Y]]
func.func @rms_norm_unranked_unknown_dims(%x: tensor<*xf32>, %w: tensor<32xf32>) -> tensor<*xf32> {
  %0 = onnx.Mul(%x, %x) : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %1 = onnx.ReduceMean(%0) {axes = array<i64: -1>} : (tensor<*xf32>) -> tensor<*xf32>
  %eps = onnx.Constant {value = dense<1.0e-05> : tensor<f32>} : tensor<f32>
  %2 = onnx.Add(%1, %eps) : (tensor<*xf32>, tensor<f32>) -> tensor<*xf32>
  %3 = onnx.Sqrt(%2) : (tensor<*xf32>) -> tensor<*xf32>
  %4 = onnx.Div(%x, %3) : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %5 = onnx.Mul(%4, %w) : (tensor<*xf32>, tensor<32xf32>) -> tensor<*xf32>
  return %5 : tensor<*xf32>
}

// -----

// A Mul whose other operand does not fit the normalized dims (an activation
// of the full shape) is no scale: the norm ends before it and it stays.
// CHECK-LABEL: func.func @layer_norm_gate_is_not_scale
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf32>, %[[GATE:.*]]: tensor<4x16xf32>)
// CHECK-NEXT: %[[N:.*]] = norm.layer_norm %[[X]] : tensor<4x16xf32> -> tensor<4x16xf32>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: %[[Y:.*]] = onnx.Mul(%[[N]], %[[GATE]])
// CHECK-NEXT: return %[[Y]]
func.func @layer_norm_gate_is_not_scale(%x: tensor<4x16xf32>, %gate: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %0 = onnx.ReduceMean(%x) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %1 = onnx.Sub(%x, %0) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %2 = onnx.Mul(%1, %1) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %3 = onnx.ReduceMean(%2) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %eps = onnx.Constant {value_float = 1.0e-05 : f32} : tensor<f32>
  %4 = onnx.Add(%3, %eps) : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %5 = onnx.Sqrt(%4) : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %6 = onnx.Div(%1, %5) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %7 = onnx.Mul(%6, %gate) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %7 : tensor<4x16xf32>
}

// -----

//===----------------------------------------------------------------------===//
// Decomposed RMSNorm
//===----------------------------------------------------------------------===//

// x * rsqrt(mean(x^2) + eps) * w as torch exports it: Div(1, Sqrt) then Mul.
// CHECK-LABEL: module attributes {norm.report = [{action = "recognized", kind = "rms_norm", name = "/Mul_1", pass = "norm-recognize", reason = "decomposed RMSNorm (mean(x^2), x * (1 / sqrt))"}]}
// CHECK-LABEL: func.func @rms_norm_pytorch
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8xf32>
// CHECK-NEXT: %[[W:.*]] = onnx.initializer "w"
// CHECK-NEXT: %[[Y:.*]] = norm.rms_norm %[[X]] scale(%[[W]] : tensor<8xf32>) {epsilon = 9.99999997E-7 : f32, onnx.outputs = ["y"]} : tensor<2x3x8xf32> -> tensor<2x3x8xf32>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: return %[[Y]]
// LOC-LABEL: func.func @rms_norm_pytorch
// LOC: norm.rms_norm
// LOC: onnx.yield
// LOC-NEXT: {{^ *}}} loc("/Mul_1")
func.func @rms_norm_pytorch(%x: tensor<2x3x8xf32>) -> tensor<2x3x8xf32> {
  %w = onnx.initializer "w" = dense<[1.0, -2.0, 3.0, 0.5, 1.5, 2.5, -0.5, 4.0]> : tensor<8xf32> : tensor<8xf32>
  %0 = onnx.Constant {value = dense<2.0> : tensor<f32>} : tensor<f32> loc("/Constant")
  %1 = onnx.Pow(%x, %0) : (tensor<2x3x8xf32>, tensor<f32>) -> tensor<2x3x8xf32> loc("/Pow")
  %2 = onnx.ReduceMean(%1) {axes = array<i64: -1>, keepdims = 1 : i64} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32> loc("/ReduceMean")
  %3 = onnx.Constant {value = dense<1.0e-06> : tensor<f32>} : tensor<f32> loc("/Constant_1")
  %4 = onnx.Add(%2, %3) : (tensor<2x3x1xf32>, tensor<f32>) -> tensor<2x3x1xf32> loc("/Add")
  %5 = onnx.Sqrt(%4) : (tensor<2x3x1xf32>) -> tensor<2x3x1xf32> loc("/Sqrt")
  %6 = onnx.Constant {value = dense<1.0> : tensor<f32>} : tensor<f32> loc("/Constant_2")
  %7 = onnx.Div(%6, %5) : (tensor<f32>, tensor<2x3x1xf32>) -> tensor<2x3x1xf32> loc("/Div")
  %8 = onnx.Mul(%x, %7) : (tensor<2x3x8xf32>, tensor<2x3x1xf32>) -> tensor<2x3x8xf32> loc("/Mul")
  %9 = onnx.Mul(%8, %w) {onnx.outputs = ["y"]} : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32> loc("/Mul_1")
  return %9 : tensor<2x3x8xf32>
}

// -----

// Mul(x, x), x / sqrt, gain first; then Reciprocal(sqrt) without a gain.
// The epsilon initializer stays, although the chain was its only user.
// CHECK-LABEL: func.func @rms_norm_div
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf32>, %[[W:.*]]: tensor<16xf32>)
// CHECK-NEXT: onnx.initializer "eps"
// CHECK-NEXT: %[[Y:.*]] = norm.rms_norm %[[X]] scale(%[[W]] : tensor<16xf32>) : tensor<4x16xf32> -> tensor<4x16xf32>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: return %[[Y]]
// CHECK-LABEL: func.func @rms_norm_reciprocal
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf32>)
// CHECK-NEXT: %[[Y:.*]] = norm.rms_norm %[[X]] {epsilon = 9.99999997E-7 : f32} : tensor<4x16xf32> -> tensor<4x16xf32>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: return %[[Y]]
func.func @rms_norm_div(%x: tensor<4x16xf32>, %w: tensor<16xf32>) -> tensor<4x16xf32> {
  %0 = onnx.Mul(%x, %x) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %1 = onnx.ReduceMean(%0) {axes = array<i64: 1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %eps = onnx.initializer "eps" = dense<1.0e-05> : tensor<f32> : tensor<f32>
  %2 = onnx.Add(%eps, %1) : (tensor<f32>, tensor<4x1xf32>) -> tensor<4x1xf32>
  %3 = onnx.Sqrt(%2) : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %4 = onnx.Div(%x, %3) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %5 = onnx.Mul(%w, %4) : (tensor<16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %5 : tensor<4x16xf32>
}
func.func @rms_norm_reciprocal(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %two = onnx.Constant {value = dense<2.0> : tensor<1xf32>} : tensor<1xf32>
  %0 = onnx.Pow(%x, %two) : (tensor<4x16xf32>, tensor<1xf32>) -> tensor<4x16xf32>
  %1 = onnx.ReduceMean(%0) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-06> : tensor<f32>} : tensor<f32>
  %2 = onnx.Add(%1, %eps) : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %3 = onnx.Sqrt(%2) : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %4 = onnx.Reciprocal(%3) : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %5 = onnx.Mul(%4, %x) : (tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %5 : tensor<4x16xf32>
}

// -----

// x * (mean(x^2) + eps)^-0.5 * w: the inverse root as Pow(v, -0.5), the
// exponent a 1-element tensor; then x / (mean(x^2) + eps)^0.5, the square
// root as Pow(v, 0.5).
// CHECK-LABEL: module attributes {norm.report = [{action = "recognized", kind = "rms_norm", name = "y", pass = "norm-recognize", reason = "decomposed RMSNorm (mean(x^2), x * (var + eps)^-0.5)"}, {action = "recognized", kind = "rms_norm", name = "z", pass = "norm-recognize", reason = "decomposed RMSNorm (mean(x^2), x / sqrt, sqrt as Pow(v, 0.5))"}]}
// CHECK-LABEL: func.func @rms_norm_pow_roots
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8xf32>, %[[W:.*]]: tensor<8xf32>)
// CHECK-NEXT: %[[Y:.*]] = norm.rms_norm %[[X]] scale(%[[W]] : tensor<8xf32>) {epsilon = 9.99999997E-7 : f32, onnx.outputs = ["y"]} : tensor<2x3x8xf32> -> tensor<2x3x8xf32>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: %[[Z:.*]] = norm.rms_norm %[[X]] {epsilon = 9.99999997E-7 : f32, onnx.outputs = ["z"]} : tensor<2x3x8xf32> -> tensor<2x3x8xf32>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: return %[[Y]], %[[Z]]
func.func @rms_norm_pow_roots(%x: tensor<2x3x8xf32>, %w: tensor<8xf32>) -> (tensor<2x3x8xf32>, tensor<2x3x8xf32>) {
  %two = onnx.Constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %eps = onnx.Constant {value = dense<1.0e-06> : tensor<f32>} : tensor<f32>
  %0 = onnx.Pow(%x, %two) : (tensor<2x3x8xf32>, tensor<f32>) -> tensor<2x3x8xf32>
  %1 = onnx.ReduceMean(%0) {axes = array<i64: -1>} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32>
  %2 = onnx.Add(%1, %eps) : (tensor<2x3x1xf32>, tensor<f32>) -> tensor<2x3x1xf32>
  %minus_half = onnx.Constant {value = dense<-0.5> : tensor<1xf32>} : tensor<1xf32>
  %3 = onnx.Pow(%2, %minus_half) : (tensor<2x3x1xf32>, tensor<1xf32>) -> tensor<2x3x1xf32>
  %4 = onnx.Mul(%x, %3) : (tensor<2x3x8xf32>, tensor<2x3x1xf32>) -> tensor<2x3x8xf32>
  %5 = onnx.Mul(%4, %w) {onnx.outputs = ["y"]} : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  %10 = onnx.Mul(%x, %x) : (tensor<2x3x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  %11 = onnx.ReduceMean(%10) {axes = array<i64: -1>} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32>
  %12 = onnx.Add(%eps, %11) : (tensor<f32>, tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
  %half = onnx.Constant {value = dense<0.5> : tensor<f32>} : tensor<f32>
  %13 = onnx.Pow(%12, %half) : (tensor<2x3x1xf32>, tensor<f32>) -> tensor<2x3x1xf32>
  %14 = onnx.Div(%x, %13) {onnx.outputs = ["z"]} : (tensor<2x3x8xf32>, tensor<2x3x1xf32>) -> tensor<2x3x8xf32>
  return %5, %14 : tensor<2x3x8xf32>, tensor<2x3x8xf32>
}

// -----

// Refused: (.)^-0.4 and (.)^-0.5 of a rank-2 exponent (which would widen
// the rank-1 statistic) are no roots; x / (.)^-0.5 multiplies by the root.
// CHECK-LABEL: func.func @rms_norm_pow_not_rsqrt
// CHECK-NOT: norm.
// CHECK: return
func.func @rms_norm_pow_not_rsqrt(%x: tensor<16xf32>) -> (tensor<16xf32>, tensor<2x16xf32>, tensor<16xf32>) {
  %0 = onnx.Mul(%x, %x) : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %1 = onnx.ReduceMean(%0) {axes = array<i64: -1>} : (tensor<16xf32>) -> tensor<1xf32>
  %eps = onnx.Constant {value = dense<1.0e-06> : tensor<f32>} : tensor<f32>
  %2 = onnx.Add(%1, %eps) : (tensor<1xf32>, tensor<f32>) -> tensor<1xf32>
  %p = onnx.Constant {value = dense<-0.4> : tensor<f32>} : tensor<f32>
  %3 = onnx.Pow(%2, %p) : (tensor<1xf32>, tensor<f32>) -> tensor<1xf32>
  %4 = onnx.Mul(%x, %3) : (tensor<16xf32>, tensor<1xf32>) -> tensor<16xf32>
  %10 = onnx.Mul(%x, %x) : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %11 = onnx.ReduceMean(%10) {axes = array<i64: -1>} : (tensor<16xf32>) -> tensor<1xf32>
  %12 = onnx.Add(%11, %eps) : (tensor<1xf32>, tensor<f32>) -> tensor<1xf32>
  %q = onnx.Constant {value = dense<-0.5> : tensor<2x1xf32>} : tensor<2x1xf32>
  %13 = onnx.Pow(%12, %q) : (tensor<1xf32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  %14 = onnx.Mul(%x, %13) : (tensor<16xf32>, tensor<2x1xf32>) -> tensor<2x16xf32>
  %20 = onnx.Mul(%x, %x) : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %21 = onnx.ReduceMean(%20) {axes = array<i64: -1>} : (tensor<16xf32>) -> tensor<1xf32>
  %22 = onnx.Add(%21, %eps) : (tensor<1xf32>, tensor<f32>) -> tensor<1xf32>
  %h = onnx.Constant {value = dense<-0.5> : tensor<f32>} : tensor<f32>
  %23 = onnx.Pow(%22, %h) : (tensor<1xf32>, tensor<f32>) -> tensor<1xf32>
  %24 = onnx.Div(%x, %23) : (tensor<16xf32>, tensor<1xf32>) -> tensor<16xf32>
  return %4, %14, %24 : tensor<16xf32>, tensor<2x16xf32>, tensor<16xf32>
}

// -----

// Hugging Face Llama in fp16: x.to(float32), pow, mean, add, rsqrt, x * r,
// .to(float16), w * .; the norm reads the fp16 input directly. A Constant
// with another user stays.
// CHECK-LABEL: module attributes {norm.report = [{action = "recognized", kind = "rms_norm", name = "y", pass = "norm-recognize", reason = "decomposed RMSNorm (mean(x^2), x * (1 / sqrt), cast around the statistics)"}]}
// CHECK-LABEL: func.func @rms_norm_llama_fp16
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x16xf16>, %[[W:.*]]: tensor<16xf16>)
// CHECK-NEXT: %[[TWO:.*]] = onnx.Constant {value = dense<2.000000e+00> : tensor<f32>}
// CHECK-NEXT: %[[Y:.*]] = norm.rms_norm %[[X]] scale(%[[W]] : tensor<16xf16>) {epsilon = 9.99999997E-7 : f32, onnx.outputs = ["y"]} : tensor<2x8x16xf16> -> tensor<2x8x16xf16>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: return %[[Y]], %[[TWO]]
func.func @rms_norm_llama_fp16(%x: tensor<2x8x16xf16>, %w: tensor<16xf16>) -> (tensor<2x8x16xf16>, tensor<f32>) {
  %0 = onnx.Cast(%x) {to = 1 : i64} : (tensor<2x8x16xf16>) -> tensor<2x8x16xf32>
  %two = onnx.Constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %1 = onnx.Pow(%0, %two) : (tensor<2x8x16xf32>, tensor<f32>) -> tensor<2x8x16xf32>
  %2 = onnx.ReduceMean(%1) {axes = array<i64: -1>, keepdims = 1 : i64} : (tensor<2x8x16xf32>) -> tensor<2x8x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-06> : tensor<f32>} : tensor<f32>
  %3 = onnx.Add(%2, %eps) : (tensor<2x8x1xf32>, tensor<f32>) -> tensor<2x8x1xf32>
  %4 = onnx.Sqrt(%3) : (tensor<2x8x1xf32>) -> tensor<2x8x1xf32>
  %one = onnx.Constant {value = dense<1.0> : tensor<f32>} : tensor<f32>
  %5 = onnx.Div(%one, %4) : (tensor<f32>, tensor<2x8x1xf32>) -> tensor<2x8x1xf32>
  %6 = onnx.Mul(%0, %5) : (tensor<2x8x16xf32>, tensor<2x8x1xf32>) -> tensor<2x8x16xf32>
  %7 = onnx.Cast(%6) {to = 10 : i64} : (tensor<2x8x16xf32>) -> tensor<2x8x16xf16>
  %8 = onnx.Mul(%w, %7) {onnx.outputs = ["y"]} : (tensor<16xf16>, tensor<2x8x16xf16>) -> tensor<2x8x16xf16>
  return %8, %two : tensor<2x8x16xf16>, tensor<f32>
}

// -----

// The fp32 cast is not undone: the norm normalizes the cast value, in fp32.
// CHECK-LABEL: func.func @rms_norm_fp32_output
// CHECK-SAME: (%[[X:.*]]: tensor<2x16xf16>)
// CHECK-NEXT: %[[C:.*]] = onnx.Cast(%[[X]]) {to = 1 : i64}
// CHECK-NEXT: %[[Y:.*]] = norm.rms_norm %[[C]] : tensor<2x16xf32> -> tensor<2x16xf32>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: return %[[Y]]
func.func @rms_norm_fp32_output(%x: tensor<2x16xf16>) -> tensor<2x16xf32> {
  %0 = onnx.Cast(%x) {to = 1 : i64} : (tensor<2x16xf16>) -> tensor<2x16xf32>
  %1 = onnx.Mul(%0, %0) : (tensor<2x16xf32>, tensor<2x16xf32>) -> tensor<2x16xf32>
  %2 = onnx.ReduceMean(%1) {axes = array<i64: -1>} : (tensor<2x16xf32>) -> tensor<2x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-05> : tensor<f32>} : tensor<f32>
  %3 = onnx.Add(%2, %eps) : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %4 = onnx.Sqrt(%3) : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %5 = onnx.Div(%0, %4) : (tensor<2x16xf32>, tensor<2x1xf32>) -> tensor<2x16xf32>
  return %5 : tensor<2x16xf32>
}

// -----

// Gemma: Mul(n, Add(w, 1)) is the (1 + w) gain; Add(1, w) too.
// CHECK-LABEL: func.func @rms_norm_gemma
// CHECK-SAME: (%[[X:.*]]: tensor<2x16xf32>, %[[W:.*]]: tensor<16xf32>)
// CHECK-NEXT: %[[Y:.*]] = norm.rms_norm %[[X]] scale(%[[W]] : tensor<16xf32>) {epsilon = 9.99999997E-7 : f32, unit_offset} : tensor<2x16xf32> -> tensor<2x16xf32>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: %[[Z:.*]] = norm.rms_norm %[[X]] scale(%[[W]] : tensor<16xf32>) {epsilon = 9.99999997E-7 : f32, unit_offset} : tensor<2x16xf32> -> tensor<2x16xf32>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: return %[[Y]], %[[Z]]
func.func @rms_norm_gemma(%x: tensor<2x16xf32>, %w: tensor<16xf32>) -> (tensor<2x16xf32>, tensor<2x16xf32>) {
  %two = onnx.Constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %eps = onnx.Constant {value = dense<1.0e-06> : tensor<f32>} : tensor<f32>
  %one = onnx.Constant {value = dense<1.0> : tensor<f32>} : tensor<f32>
  %0 = onnx.Pow(%x, %two) : (tensor<2x16xf32>, tensor<f32>) -> tensor<2x16xf32>
  %1 = onnx.ReduceMean(%0) {axes = array<i64: -1>} : (tensor<2x16xf32>) -> tensor<2x1xf32>
  %2 = onnx.Add(%1, %eps) : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %3 = onnx.Sqrt(%2) : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %4 = onnx.Div(%one, %3) : (tensor<f32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  %5 = onnx.Mul(%x, %4) : (tensor<2x16xf32>, tensor<2x1xf32>) -> tensor<2x16xf32>
  %g = onnx.Add(%w, %one) : (tensor<16xf32>, tensor<f32>) -> tensor<16xf32>
  %6 = onnx.Mul(%5, %g) : (tensor<2x16xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  %10 = onnx.Pow(%x, %two) : (tensor<2x16xf32>, tensor<f32>) -> tensor<2x16xf32>
  %11 = onnx.ReduceMean(%10) {axes = array<i64: -1>} : (tensor<2x16xf32>) -> tensor<2x1xf32>
  %12 = onnx.Add(%11, %eps) : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %13 = onnx.Sqrt(%12) : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %14 = onnx.Div(%one, %13) : (tensor<f32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  %15 = onnx.Mul(%x, %14) : (tensor<2x16xf32>, tensor<2x1xf32>) -> tensor<2x16xf32>
  %h = onnx.Add(%one, %w) : (tensor<f32>, tensor<16xf32>) -> tensor<16xf32>
  %16 = onnx.Mul(%h, %15) : (tensor<16xf32>, tensor<2x16xf32>) -> tensor<2x16xf32>
  return %6, %16 : tensor<2x16xf32>, tensor<2x16xf32>
}

// -----

// Refused: the exponent is 3, not 2; and 2 / sqrt is no RMSNorm.
// CHECK-LABEL: func.func @rms_norm_cube
// CHECK-NOT: norm.
// CHECK: onnx.Sqrt
// CHECK-NOT: norm.
// CHECK: return
// CHECK-LABEL: func.func @rms_norm_two_over_sqrt
// CHECK-NOT: norm.
// CHECK: onnx.Sqrt
// CHECK-NOT: norm.
// CHECK: return
func.func @rms_norm_cube(%x: tensor<2x16xf32>) -> tensor<2x16xf32> {
  %three = onnx.Constant {value = dense<3.0> : tensor<f32>} : tensor<f32>
  %0 = onnx.Pow(%x, %three) : (tensor<2x16xf32>, tensor<f32>) -> tensor<2x16xf32>
  %1 = onnx.ReduceMean(%0) {axes = array<i64: -1>} : (tensor<2x16xf32>) -> tensor<2x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-06> : tensor<f32>} : tensor<f32>
  %2 = onnx.Add(%1, %eps) : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %3 = onnx.Sqrt(%2) : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %4 = onnx.Div(%x, %3) : (tensor<2x16xf32>, tensor<2x1xf32>) -> tensor<2x16xf32>
  return %4 : tensor<2x16xf32>
}
func.func @rms_norm_two_over_sqrt(%x: tensor<2x16xf32>) -> tensor<2x16xf32> {
  %0 = onnx.Mul(%x, %x) : (tensor<2x16xf32>, tensor<2x16xf32>) -> tensor<2x16xf32>
  %1 = onnx.ReduceMean(%0) {axes = array<i64: -1>} : (tensor<2x16xf32>) -> tensor<2x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-06> : tensor<f32>} : tensor<f32>
  %2 = onnx.Add(%1, %eps) : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %3 = onnx.Sqrt(%2) : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %c2 = onnx.Constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %4 = onnx.Div(%c2, %3) : (tensor<f32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  %5 = onnx.Mul(%x, %4) : (tensor<2x16xf32>, tensor<2x1xf32>) -> tensor<2x16xf32>
  return %5 : tensor<2x16xf32>
}

// -----

// Refused: the mean square is also read elsewhere.
// CHECK-LABEL: func.func @rms_norm_intermediate_used
// CHECK-NOT: norm.
// CHECK: onnx.Sqrt
// CHECK-NOT: norm.
// CHECK: return
func.func @rms_norm_intermediate_used(%x: tensor<2x16xf32>) -> (tensor<2x16xf32>, tensor<2x1xf32>) {
  %0 = onnx.Mul(%x, %x) : (tensor<2x16xf32>, tensor<2x16xf32>) -> tensor<2x16xf32>
  %1 = onnx.ReduceMean(%0) {axes = array<i64: -1>} : (tensor<2x16xf32>) -> tensor<2x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-06> : tensor<f32>} : tensor<f32>
  %2 = onnx.Add(%1, %eps) : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %3 = onnx.Sqrt(%2) : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %4 = onnx.Div(%x, %3) : (tensor<2x16xf32>, tensor<2x1xf32>) -> tensor<2x16xf32>
  return %4, %1 : tensor<2x16xf32>, tensor<2x1xf32>
}

// -----

// A chain inside a subgraph is recognized there; the outer epsilon Constant
// stays, as the other branch reads it too. A yield is no dead user: an
// intermediate that the subgraph yields keeps the second chain.
// CHECK-LABEL: func.func @rms_norm_in_subgraph
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf32>, %[[C:.*]]: tensor<i1>)
// CHECK-NEXT: %[[EPS:.*]] = onnx.Constant
// CHECK-NEXT: onnx.node "If"(%[[C]])
// CHECK-NEXT: %[[Y:.*]] = norm.rms_norm %[[X]] : tensor<4x16xf32> -> tensor<4x16xf32>
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: onnx.Constant
// CHECK-NEXT: onnx.yield "then" [] -> ["a", "z"] %[[Y]]
// CHECK-NEXT: }, {
// CHECK-NOT: norm.
// CHECK: onnx.Add(%{{.*}}, %[[EPS]])
// CHECK-NOT: norm.
// CHECK: onnx.yield "else" [] -> ["b", "ms"]
func.func @rms_norm_in_subgraph(%x: tensor<4x16xf32>, %c: tensor<i1>) -> (tensor<4x16xf32>, tensor<4x1xf32>) {
  %eps = onnx.Constant {value_float = 1.0e-05 : f32} : tensor<f32>
  %y:2 = onnx.node "If"(%c) {then_branch = #onnx.subgraph<0>, else_branch = #onnx.subgraph<1>} : (tensor<i1>) -> (tensor<4x16xf32>, tensor<4x1xf32>) {
    %0 = onnx.Mul(%x, %x) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
    %1 = onnx.ReduceMean(%0) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
    %2 = onnx.Add(%1, %eps) : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
    %3 = onnx.Sqrt(%2) : (tensor<4x1xf32>) -> tensor<4x1xf32>
    %4 = onnx.Div(%x, %3) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
    %z = onnx.Constant {value = dense<0.0> : tensor<4x1xf32>} : tensor<4x1xf32>
    onnx.yield "then" [] -> ["a", "z"] %4, %z : tensor<4x16xf32>, tensor<4x1xf32>
  }, {
    %0 = onnx.Mul(%x, %x) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
    %1 = onnx.ReduceMean(%0) {axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
    %2 = onnx.Add(%1, %eps) : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
    %3 = onnx.Sqrt(%2) : (tensor<4x1xf32>) -> tensor<4x1xf32>
    %4 = onnx.Div(%x, %3) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
    onnx.yield "else" [] -> ["b", "ms"] %4, %1 : tensor<4x16xf32>, tensor<4x1xf32>
  }
  return %y#0, %y#1 : tensor<4x16xf32>, tensor<4x1xf32>
}

// -----

// Hugging Face Llama in fp32: torch traces x.to(float32) as a no-op Cast that
// the residual Add reads too. The norm reads x; the Cast stays for the Add,
// and the kept nodes read a copy of it (found again by its name on export).
// CHECK-LABEL: func.func @rms_norm_llama_fp32_residual
// CHECK-SAME: (%[[X:.*]]: tensor<2x16xf32>, %[[W:.*]]: tensor<16xf32>)
// CHECK-NEXT: %[[C:.*]] = onnx.Cast(%[[X]]) {onnx.outputs = ["xf"], to = 1 : i64}
// CHECK-NEXT: %[[N:.*]] = norm.rms_norm %[[X]] scale(%[[W]] : tensor<16xf32>)
// CHECK-NEXT: ^bb0(%[[XA:.*]]: tensor<2x16xf32>, %{{.*}}: tensor<16xf32>):
// CHECK-NEXT: onnx.Cast(%[[XA]]) {onnx.outputs = ["xf"], to = 1 : i64}
// CHECK:      onnx.yield
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: %[[R:.*]] = onnx.Add(%[[C]], %[[N]])
// CHECK-NEXT: return %[[R]]
func.func @rms_norm_llama_fp32_residual(%x: tensor<2x16xf32>, %w: tensor<16xf32>) -> tensor<2x16xf32> {
  %0 = onnx.Cast(%x) {to = 1 : i64, onnx.outputs = ["xf"]} : (tensor<2x16xf32>) -> tensor<2x16xf32>
  %two = onnx.Constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %1 = onnx.Pow(%0, %two) : (tensor<2x16xf32>, tensor<f32>) -> tensor<2x16xf32>
  %2 = onnx.ReduceMean(%1) {axes = array<i64: -1>, keepdims = 1 : i64} : (tensor<2x16xf32>) -> tensor<2x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-06> : tensor<f32>} : tensor<f32>
  %3 = onnx.Add(%2, %eps) : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %4 = onnx.Sqrt(%3) : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %one = onnx.Constant {value = dense<1.0> : tensor<f32>} : tensor<f32>
  %5 = onnx.Div(%one, %4) : (tensor<f32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  %6 = onnx.Mul(%0, %5) : (tensor<2x16xf32>, tensor<2x1xf32>) -> tensor<2x16xf32>
  %7 = onnx.Cast(%6) {to = 1 : i64} : (tensor<2x16xf32>) -> tensor<2x16xf32>
  %8 = onnx.Mul(%w, %7) : (tensor<16xf32>, tensor<2x16xf32>) -> tensor<2x16xf32>
  %9 = onnx.Add(%0, %8) : (tensor<2x16xf32>, tensor<2x16xf32>) -> tensor<2x16xf32>
  return %9 : tensor<2x16xf32>
}
