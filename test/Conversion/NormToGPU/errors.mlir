// RUN: norm-opt %s -split-input-file -verify-diagnostics --convert-norm-to-gpu | FileCheck %s

// What convert-norm-to-gpu refuses: each refusal is a remark on the norm and
// a `refused` entry in the report; the norm stays as it is, no kernel.

// CHECK: module attributes {norm.report = [{action = "refused", kind = "rms_norm", name = "", pass = "convert-norm-to-gpu", reason = "dynamic hidden size: the normalized dims of tensor<8x?xf32> must be static"}]}
// CHECK-NEXT: func.func @dynamic_hidden
// CHECK-NEXT: norm.rms_norm %{{.*}} : tensor<8x?xf32> -> tensor<8x?xf32>
// CHECK-NOT: gpu.module
// CHECK: // -----
func.func @dynamic_hidden(%x: tensor<8x?xf32>) -> tensor<8x?xf32> {
  // expected-remark @+1 {{dynamic hidden size: the normalized dims of tensor<8x?xf32> must be static}}
  %y = norm.rms_norm %x : tensor<8x?xf32> -> tensor<8x?xf32>
  return %y : tensor<8x?xf32>
}

// -----

func.func @dynamic_trailing_dims(%x: tensor<2x?x64xf16>) -> tensor<2x?x64xf16> {
  // expected-remark @+1 {{dynamic hidden size: the normalized dims of tensor<2x?x64xf16> must be static}}
  %y = norm.layer_norm %x {axis = 1 : i64} : tensor<2x?x64xf16> -> tensor<2x?x64xf16>
  return %y : tensor<2x?x64xf16>
}

// -----

func.func @axis_zero(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  // expected-remark @+1 {{axis 0 normalizes the whole tensor: there are no rows to spread over threads}}
  %y = norm.layer_norm %x {axis = 0 : i64} : tensor<4x64xf32> -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

func.func @unranked(%x: tensor<*xf32>) -> tensor<*xf32> {
  // expected-remark @+1 {{unranked input: the row size must be known at compile time}}
  %y = norm.rms_norm %x : tensor<*xf32> -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

func.func @f64(%x: tensor<4x64xf64>) -> tensor<4x64xf64> {
  // expected-remark @+1 {{element type f64 is not supported (f32, f16, bf16)}}
  %y = norm.rms_norm %x : tensor<4x64xf64> -> tensor<4x64xf64>
  return %y : tensor<4x64xf64>
}

// -----

func.func @broadcast_scale(%x: tensor<4x8x64xf32>, %g: tensor<1x64xf32>) -> tensor<4x8x64xf32> {
  // expected-remark @+1 {{scale of type tensor<1x64xf32> broadcasts to the normalized shape: only full-size weights (512 elements) are supported}}
  %y = norm.layer_norm %x scale(%g : tensor<1x64xf32>) {axis = 1 : i64} : tensor<4x8x64xf32> -> tensor<4x8x64xf32>
  return %y : tensor<4x8x64xf32>
}

// -----

func.func @batch_norm(%x: tensor<1x4x8x8xf32>, %s: tensor<4xf32>, %b: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>) -> tensor<1x4x8x8xf32> {
  // expected-remark @+1 {{batch_norm is not lowered to a GPU kernel (a per-channel affine map: fold it into the neighbouring convolution)}}
  %y = norm.batch_norm %x, %s, %b, %m, %v : tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32> -> tensor<1x4x8x8xf32>
  return %y : tensor<1x4x8x8xf32>
}

// -----

func.func @deferred_scale_dynamic_value_row(%xw: tensor<8x?xf32>, %x: tensor<8x64xf32>) -> tensor<8x?xf32> {
  // expected-remark @+1 {{dynamic value row size: the dims of tensor<8x?xf32> from the axis on must be static}}
  %y = norm.rms_scale %xw by %x : tensor<8x?xf32>, tensor<8x64xf32> -> tensor<8x?xf32>
  return %y : tensor<8x?xf32>
}

// -----

func.func @deferred_scale_unranked_value(%xw: tensor<*xf32>, %x: tensor<8x64xf32>) -> tensor<*xf32> {
  // expected-remark @+1 {{unranked value: the row size must be known at compile time}}
  %y = norm.rms_scale %xw by %x : tensor<*xf32>, tensor<8x64xf32> -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

func.func @deferred_scale_mixed_types(%xw: tensor<8x96xf32>, %x: tensor<8x64xbf16>) -> tensor<8x96xf32> {
  // expected-remark @+1 {{the value (f32) and the result (f32) must have the input's element type (bf16)}}
  %y = norm.rms_scale %xw by %x : tensor<8x96xf32>, tensor<8x64xbf16> -> tensor<8x96xf32>
  return %y : tensor<8x96xf32>
}

// -----

func.func @crms_broadcast_scale(%x: tensor<8x63xf32>, %g: tensor<1xf32>) -> tensor<8x64xf32> {
  // expected-remark @+1 {{scale of type tensor<1xf32> broadcasts to the normalized shape: only full-size weights (64 elements) are supported}}
  %y = norm.crms_norm %x scale(%g : tensor<1xf32>) : tensor<8x63xf32> -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
