// RUN: norm-opt %s -split-input-file -verify-diagnostics

// One case per verifier diagnostic of lib/Dialect/Norm/IR/NormOps.cpp
// (crms_norm's and rms_scale's are in crms-norm-errors.mlir and
// rms-scale-errors.mlir).

func.func @layer_norm_negative_epsilon(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.layer_norm' op epsilon must be non-negative}}
  %0 = norm.layer_norm %x {epsilon = -1.0e-05 : f32} : tensor<2x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @layer_norm_result_shape(%x: tensor<2x4xf32>) -> tensor<2x5xf32> {
  // expected-error @below {{'norm.layer_norm' op result shape must match the input shape}}
  %0 = norm.layer_norm %x : tensor<2x4xf32> -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @layer_norm_axis_out_of_range(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.layer_norm' op axis 2 is out of range for rank 2}}
  %0 = norm.layer_norm %x {axis = 2 : i64} : tensor<2x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @layer_norm_negative_axis_out_of_range(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.layer_norm' op axis -3 is out of range for rank 2}}
  %0 = norm.layer_norm %x {axis = -3 : i64} : tensor<2x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @layer_norm_scale_rank(%x: tensor<2x3x4xf32>, %g: tensor<3x4xf32>) -> tensor<2x3x4xf32> {
  // expected-error @below {{'norm.layer_norm' op scale of rank 2 does not fit the 1 normalized dim(s) of the input}}
  %0 = norm.layer_norm %x scale(%g : tensor<3x4xf32>) : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

func.func @layer_norm_bias_shape(%x: tensor<2x4xf32>, %b: tensor<3xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.layer_norm' op bias shape [3] does not match the normalized shape [4]}}
  %0 = norm.layer_norm %x bias(%b : tensor<3xf32>) : tensor<2x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// The ODS constraint rejects a non-float weight.
func.func @layer_norm_integer_scale(%x: tensor<2x4xf32>, %g: tensor<4xi32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.layer_norm' op operand #1 must be tensor of floating-point values}}
  %0 = norm.layer_norm %x scale(%g : tensor<4xi32>) : tensor<2x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @rms_norm_negative_epsilon(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.rms_norm' op epsilon must be non-negative}}
  %0 = norm.rms_norm %x {epsilon = -1.0 : f32} : tensor<2x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @rms_norm_unit_offset_without_scale(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.rms_norm' op unit_offset requires a scale}}
  %0 = norm.rms_norm %x {unit_offset} : tensor<2x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @rms_norm_result_shape(%x: tensor<2x4xf32>) -> tensor<4x2xf32> {
  // expected-error @below {{'norm.rms_norm' op result shape must match the input shape}}
  %0 = norm.rms_norm %x : tensor<2x4xf32> -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

func.func @rms_norm_axis_out_of_range(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{'norm.rms_norm' op axis 1 is out of range for rank 1}}
  %0 = norm.rms_norm %x {axis = 1 : i64} : tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @rms_norm_scale_shape(%x: tensor<2x4xf32>, %g: tensor<8xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.rms_norm' op scale shape [8] does not match the normalized shape [4]}}
  %0 = norm.rms_norm %x scale(%g : tensor<8xf32>) : tensor<2x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @rms_norm_scale_rank(%x: tensor<2x4xf32>, %g: tensor<1x4xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.rms_norm' op scale of rank 2 does not fit the 1 normalized dim(s) of the input}}
  %0 = norm.rms_norm %x scale(%g : tensor<1x4xf32>) : tensor<2x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @rms_norm_bias_shape(%x: tensor<2x4xf32>, %b: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.rms_norm' op bias of rank 2 does not fit the 1 normalized dim(s) of the input}}
  %0 = norm.rms_norm %x bias(%b : tensor<2x4xf32>) : tensor<2x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @batch_norm_negative_epsilon(%x: tensor<1x3x4xf32>, %c: tensor<3xf32>) -> tensor<1x3x4xf32> {
  // expected-error @below {{'norm.batch_norm' op epsilon must be non-negative}}
  %0 = norm.batch_norm %x, %c, %c, %c, %c {epsilon = -1.0e-05 : f32} : tensor<1x3x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32> -> tensor<1x3x4xf32>
  return %0 : tensor<1x3x4xf32>
}

// -----

func.func @batch_norm_result_shape(%x: tensor<1x3x4xf32>, %c: tensor<3xf32>) -> tensor<1x3x5xf32> {
  // expected-error @below {{'norm.batch_norm' op result shape must match the input shape}}
  %0 = norm.batch_norm %x, %c, %c, %c, %c : tensor<1x3x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32> -> tensor<1x3x5xf32>
  return %0 : tensor<1x3x5xf32>
}

// -----

func.func @batch_norm_rank(%x: tensor<3xf32>, %c: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @below {{'norm.batch_norm' op input must have rank >= 2 ([N, C, ...]), got 1}}
  %0 = norm.batch_norm %x, %c, %c, %c, %c : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @batch_norm_stat_rank(%x: tensor<1x3x4xf32>, %c: tensor<3xf32>, %v: tensor<3x1xf32>) -> tensor<1x3x4xf32> {
  // expected-error @below {{'norm.batch_norm' op var must be a 1-D tensor of C elements}}
  %0 = norm.batch_norm %x, %c, %c, %c, %v : tensor<1x3x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3x1xf32> -> tensor<1x3x4xf32>
  return %0 : tensor<1x3x4xf32>
}

// -----

func.func @batch_norm_channels(%x: tensor<1x3x4xf32>, %c: tensor<3xf32>, %m: tensor<4xf32>) -> tensor<1x3x4xf32> {
  // expected-error @below {{'norm.batch_norm' op mean has 4 elements but the input has 3 channels}}
  %0 = norm.batch_norm %x, %c, %c, %m, %c : tensor<1x3x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<4xf32>, tensor<3xf32> -> tensor<1x3x4xf32>
  return %0 : tensor<1x3x4xf32>
}

// -----

func.func @skip_layer_norm_skip_shape(%x: tensor<2x4xf32>, %s: tensor<2x5xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.skip_layer_norm' op skip shape must match the input shape}}
  %y, %sum = norm.skip_layer_norm %x, %s : tensor<2x4xf32>, tensor<2x5xf32> -> tensor<2x4xf32>, tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @skip_layer_norm_sum_shape(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.skip_layer_norm' op sum shape must match the input shape}}
  %y, %sum = norm.skip_layer_norm %x, %x : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>, tensor<4x2xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @skip_layer_norm_rank(%x: tensor<f32>) -> tensor<f32> {
  // expected-error @below {{'norm.skip_layer_norm' op input must have rank >= 1}}
  %y, %sum = norm.skip_layer_norm %x, %x : tensor<f32>, tensor<f32> -> tensor<f32>, tensor<f32>
  return %y : tensor<f32>
}

// -----

func.func @skip_layer_norm_skip_bias(%x: tensor<2x4xf32>, %sb: tensor<2xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.skip_layer_norm' op skip_bias shape [2] does not match the normalized shape [4]}}
  %y, %sum = norm.skip_layer_norm %x, %x skip_bias(%sb : tensor<2xf32>) : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>, tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @skip_rms_norm_skip_shape(%x: tensor<2x4xf32>, %s: tensor<3x4xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.skip_rms_norm' op skip shape must match the input shape}}
  %y, %sum = norm.skip_rms_norm %x, %s : tensor<2x4xf32>, tensor<3x4xf32> -> tensor<2x4xf32>, tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @skip_rms_norm_scale(%x: tensor<2x4xf32>, %g: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{'norm.skip_rms_norm' op scale of rank 2 does not fit the 1 normalized dim(s) of the input}}
  %y, %sum = norm.skip_rms_norm %x, %x scale(%g : tensor<2x4xf32>) : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>, tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
