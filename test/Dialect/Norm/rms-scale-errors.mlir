// RUN: norm-opt %s -split-input-file -verify-diagnostics

func.func @rank_mismatch(%v: tensor<2x3xf32>, %x: tensor<1x2x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'norm.rms_scale' op value and input must have the same rank}}
  %y = norm.rms_scale %v by %x : tensor<2x3xf32>, tensor<1x2x4xf32> -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @row_mismatch(%v: tensor<2x3xf32>, %x: tensor<5x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'norm.rms_scale' op value and input differ in dim 0, which is not normalized}}
  %y = norm.rms_scale %v by %x : tensor<2x3xf32>, tensor<5x4xf32> -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @bad_axis(%v: tensor<2x3xf32>, %x: tensor<2x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'norm.rms_scale' op axis 2 is out of range for rank 2}}
  %y = norm.rms_scale %v by %x {axis = 2 : i64} : tensor<2x3xf32>, tensor<2x4xf32> -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @negative_epsilon(%v: tensor<2x3xf32>, %x: tensor<2x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'norm.rms_scale' op epsilon must be non-negative}}
  %y = norm.rms_scale %v by %x {epsilon = -1.0 : f32} : tensor<2x3xf32>, tensor<2x4xf32> -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @result_shape(%v: tensor<2x3xf32>, %x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'norm.rms_scale' op result shape must match the value shape}}
  %y = norm.rms_scale %v by %x : tensor<2x3xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
