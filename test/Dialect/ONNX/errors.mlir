// RUN: norm-opt %s -split-input-file -verify-diagnostics

// The InitializerOp verifier (lib/Dialect/ONNX/IR/ONNXOps.cpp).

func.func @initializer_type_mismatch() -> tensor<3xf32> {
  // expected-error @below {{'onnx.initializer' op result type 'tensor<3xf32>' differs from the value's type 'tensor<4xf32>'}}
  %0 = onnx.initializer "w" = dense<1.0> : tensor<4xf32> : tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @initializer_not_shaped() -> f32 {
  // expected-error @below {{'onnx.initializer' op result type 'f32' differs from the value's type 'tensor<f32>'}}
  %0 = onnx.initializer "w" = dense<1.0> : tensor<f32> : f32
  return %0 : f32
}
