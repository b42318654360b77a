// RUN: norm-opt %s -split-input-file -verify-diagnostics

func.func @last_dim(%x: tensor<2x3xf32>) -> tensor<2x5xf32> {
  // expected-error @below {{the result's last dim (5) must be one more than the input's (3)}}
  %y = norm.crms_norm %x : tensor<2x3xf32> -> tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

func.func @rank(%x: tensor<2x3xf32>) -> tensor<4xf32> {
  // expected-error @below {{input and result must have the same rank >= 1}}
  %y = norm.crms_norm %x : tensor<2x3xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @leading_dims(%x: tensor<2x3xf32>) -> tensor<5x4xf32> {
  // expected-error @below {{input and result differ in dim 0}}
  %y = norm.crms_norm %x : tensor<2x3xf32> -> tensor<5x4xf32>
  return %y : tensor<5x4xf32>
}

// -----

func.func @scale(%x: tensor<2x3xf32>, %g: tensor<3xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{scale shape [3] does not match the normalized shape [4]}}
  %y = norm.crms_norm %x scale(%g : tensor<3xf32>) : tensor<2x3xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @epsilon(%x: tensor<2x3xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{epsilon must be non-negative}}
  %y = norm.crms_norm %x {epsilon = -1.0 : f32} : tensor<2x3xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
