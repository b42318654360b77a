// RUN: norm-opt %s -split-input-file -convert-norm-to-onnx | FileCheck %s
// RUN: norm-opt %s -split-input-file -convert-norm-to-onnx=original-spelling=false | FileCheck %s --check-prefix=CANON

// An unchanged norm goes back to the nodes it was recognized from: the block
// arguments become the operands, the copy of the epsilon initializer becomes
// the initializer of that name again, and nothing is left orphaned.
// CHECK-LABEL: func.func @unchanged
// CHECK-NEXT: %[[EPS:.*]] = onnx.initializer "eps"
// CHECK-NEXT: %[[W:.*]] = onnx.initializer "w"
// CHECK-NEXT: %[[SQ:.*]] = onnx.Mul(%arg0, %arg0) {onnx.outputs = ["sq"]}
// CHECK-NEXT: %[[MS:.*]] = onnx.ReduceMean(%[[SQ]])
// CHECK-NEXT: %[[A:.*]] = onnx.Add(%[[MS]], %[[EPS]])
// CHECK-NEXT: %[[S:.*]] = onnx.Sqrt(%[[A]])
// CHECK-NEXT: %[[N:.*]] = onnx.Div(%arg0, %[[S]])
// CHECK-NEXT: %[[Y:.*]] = onnx.Mul(%[[N]], %[[W]]) {onnx.outputs = ["y"]}
// CHECK-NEXT: return %[[Y]]
// CANON-LABEL: func.func @unchanged
// CANON-NOT: onnx.initializer "eps"
// CANON: onnx.Pow
func.func @unchanged(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %eps = onnx.initializer "eps" = dense<1.0e-6> : tensor<f32> {norm.spelling_constant} : tensor<f32>
  %w = onnx.initializer "w" = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : tensor<4xf32>
  %y = norm.rms_norm %x scale(%w : tensor<4xf32>) {epsilon = 9.99999997E-7 : f32, onnx.outputs = ["y"]} : tensor<2x4xf32> -> tensor<2x4xf32> original {
  ^bb0(%a: tensor<2x4xf32>, %b: tensor<4xf32>):
    %e = onnx.initializer "eps" = dense<1.0e-6> : tensor<f32> : tensor<f32>
    %0 = onnx.Mul(%a, %a) {onnx.outputs = ["sq"]} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %1 = onnx.ReduceMean(%0) {axes = array<i64: -1>, onnx.outputs = ["ms"]} : (tensor<2x4xf32>) -> tensor<2x1xf32>
    %2 = onnx.Add(%1, %e) {onnx.outputs = ["a"]} : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
    %3 = onnx.Sqrt(%2) {onnx.outputs = ["s"]} : (tensor<2x1xf32>) -> tensor<2x1xf32>
    %4 = onnx.Div(%a, %3) {onnx.outputs = ["n"]} : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
    %5 = onnx.Mul(%4, %b) {onnx.outputs = ["y"]} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
    onnx.yield "" [] -> [] %5 : tensor<2x4xf32> {norm.recorded = ["norm.rms_norm", {axis = -1 : i64, epsilon = 9.99999997E-7 : f32, operandSegmentSizes = array<i32: 1, 1, 0>}]}
  }
  return %y : tensor<2x4xf32>
}

// -----

// A norm a pass changed (its scale folded away: the recorded operand
// segments differ) is written canonically, in the precision its original
// took its means in (fp16 here: no Casts are added); the epsilon initializer
// only its original nodes read is erased.
// CHECK-LABEL: func.func @changed
// CHECK-NOT: onnx.initializer "eps"
// CHECK-NOT: onnx.Cast
// CHECK: onnx.Pow(%arg0, %{{.*}}) {{.*}} -> tensor<2x4xf16>
// CHECK: return
func.func @changed(%x: tensor<2x4xf16>) -> tensor<2x4xf16> {
  %eps = onnx.initializer "eps" = dense<1.0e-6> : tensor<f16> {norm.spelling_constant} : tensor<f16>
  %y = norm.rms_norm %x {epsilon = 9.99999997E-7 : f32, onnx.outputs = ["y"]} : tensor<2x4xf16> -> tensor<2x4xf16> original {
  ^bb0(%a: tensor<2x4xf16>, %b: tensor<4xf16>):
    %e = onnx.initializer "eps" = dense<1.0e-6> : tensor<f16> : tensor<f16>
    %0 = onnx.Mul(%a, %a) : (tensor<2x4xf16>, tensor<2x4xf16>) -> tensor<2x4xf16>
    %1 = onnx.ReduceMean(%0) {axes = array<i64: -1>} : (tensor<2x4xf16>) -> tensor<2x1xf16>
    %2 = onnx.Add(%1, %e) : (tensor<2x1xf16>, tensor<f16>) -> tensor<2x1xf16>
    %3 = onnx.Sqrt(%2) : (tensor<2x1xf16>) -> tensor<2x1xf16>
    %4 = onnx.Div(%a, %3) : (tensor<2x4xf16>, tensor<2x1xf16>) -> tensor<2x4xf16>
    %5 = onnx.Mul(%4, %b) {onnx.outputs = ["y"]} : (tensor<2x4xf16>, tensor<4xf16>) -> tensor<2x4xf16>
    onnx.yield "" [] -> [] %5 : tensor<2x4xf16> {norm.recorded = ["norm.rms_norm", {axis = -1 : i64, epsilon = 9.99999997E-7 : f32, operandSegmentSizes = array<i32: 1, 1, 0>}]}
  }
  return %y : tensor<2x4xf16>
}

// -----

// Nodes recorded for another op are no spelling of this one.
// CHECK-LABEL: func.func @other_op
// CHECK: onnx.ReduceMean
// CHECK: onnx.Sub
func.func @other_op(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %y = norm.layer_norm %x {epsilon = 9.99999997E-7 : f32} : tensor<2x4xf32> -> tensor<2x4xf32> original {
  ^bb0(%a: tensor<2x4xf32>):
    onnx.yield "" [] -> [] %a : tensor<2x4xf32> {norm.recorded = ["norm.rms_norm", {axis = -1 : i64, epsilon = 9.99999997E-7 : f32, operandSegmentSizes = array<i32: 1, 0, 0>}]}
  }
  return %y : tensor<2x4xf32>
}
