// RUN: norm-opt %s | norm-opt | FileCheck %s

// Round trip of the onnx dialect's assembly: initializers (plain and also a
// graph input), omitted inputs, typed nodes, generic nodes with a domain and
// subgraphs, and Constant nodes.

// CHECK-LABEL: func.func @graph
func.func @graph(%x: tensor<2x4xf32> {onnx.name = "X"}, %c: tensor<i1> {onnx.name = "cond"})
    -> (tensor<2x4xf32> {onnx.name = "Y"}) {
  // CHECK: %[[NONE:.*]] = onnx.none
  %none = onnx.none
  // CHECK: %[[W:.*]] = onnx.initializer "w" = dense<5.000000e-01> : tensor<4xf32> : tensor<4xf32>
  %w = onnx.initializer "w" = dense<0.5> : tensor<4xf32> : tensor<4xf32>
  // CHECK: onnx.initializer "d" input = dense<1.000000e+00> : tensor<f32> : tensor<f32>
  %d = onnx.initializer "d" input = dense<1.0> : tensor<f32> : tensor<f32>
  // CHECK: %[[K:.*]] = onnx.Constant {onnx.outputs = ["k"], value_float = 2.000000e+00 : f32} : tensor<f32>
  %k = onnx.Constant {onnx.outputs = ["k"], value_float = 2.0 : f32} : tensor<f32>
  // CHECK: %[[M:.*]] = onnx.Mul(%{{.*}}, %[[W]]) {onnx.outputs = ["m"]} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %m = onnx.Mul(%x, %w) {onnx.outputs = ["m"]} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  // CHECK: onnx.ReduceMean(%[[M]]) {axes = array<i64: -1>, keepdims = 1 : i64} : (tensor<2x4xf32>) -> tensor<2x1xf32>
  %r = onnx.ReduceMean(%m) {axes = array<i64: -1>, keepdims = 1 : i64} : (tensor<2x4xf32>) -> tensor<2x1xf32>
  // CHECK: onnx.node "Clip"(%[[M]], %[[K]], %[[NONE]]) : (tensor<2x4xf32>, tensor<f32>, none) -> tensor<2x4xf32>
  %clip = onnx.node "Clip"(%m, %k, %none) : (tensor<2x4xf32>, tensor<f32>, none) -> tensor<2x4xf32>
  // CHECK: onnx.node "Gelu" domain "com.microsoft"
  %g = onnx.node "Gelu" domain "com.microsoft" (%clip) : (tensor<2x4xf32>) -> tensor<2x4xf32>
  // CHECK: onnx.node "If"(%{{.*}}) {else_branch = #onnx.subgraph<1>, then_branch = #onnx.subgraph<0>} : (tensor<i1>) -> tensor<2x4xf32> {
  // CHECK:   onnx.yield "then" [] -> ["a"] %[[G:.*]] : tensor<2x4xf32>
  // CHECK: }, {
  // CHECK:   onnx.yield "else" [] -> ["b"]
  %y = onnx.node "If"(%c) {then_branch = #onnx.subgraph<0>, else_branch = #onnx.subgraph<1>} : (tensor<i1>) -> tensor<2x4xf32> {
    onnx.yield "then" [] -> ["a"] %g : tensor<2x4xf32>
  }, {
    %n = onnx.node "Neg"(%g) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    onnx.yield "else" [] -> ["b"] %n : tensor<2x4xf32>
  }
  return %y : tensor<2x4xf32>
}
