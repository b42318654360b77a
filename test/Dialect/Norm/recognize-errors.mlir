// RUN: norm-opt %s -split-input-file --norm-recognize -verify-diagnostics

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
