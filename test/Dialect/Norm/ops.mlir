// RUN: norm-opt %s | norm-opt | FileCheck %s
// RUN: norm-opt %s --mlir-print-op-generic | norm-opt | FileCheck %s

// Round trip of the custom assembly of every norm op, with and without the
// optional operands and attributes.

// CHECK-LABEL: func.func @layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x128x768xf32>, %[[G:.*]]: tensor<768xf32>, %[[B:.*]]: tensor<768xf32>)
func.func @layer_norm(%x: tensor<?x128x768xf32>, %g: tensor<768xf32>, %b: tensor<768xf32>)
    -> (tensor<?x128x768xf32>, tensor<?x128x768xf32>, tensor<?x128x768xf32>) {
  // Default axis and epsilon are elided.
  // CHECK: norm.layer_norm %[[X]] scale(%[[G]] : tensor<768xf32>) bias(%[[B]] : tensor<768xf32>) : tensor<?x128x768xf32> -> tensor<?x128x768xf32>
  %0 = norm.layer_norm %x scale(%g : tensor<768xf32>) bias(%b : tensor<768xf32>) {axis = -1 : i64, epsilon = 1.0e-05 : f32} : tensor<?x128x768xf32> -> tensor<?x128x768xf32>
  // CHECK: norm.layer_norm %[[X]] bias(%[[B]] : tensor<768xf32>) {axis = 2 : i64, epsilon = 1.000000e-03 : f32} : tensor<?x128x768xf32> -> tensor<?x128x768xf32>
  %1 = norm.layer_norm %x bias(%b : tensor<768xf32>) {axis = 2 : i64, epsilon = 1.0e-03 : f32} : tensor<?x128x768xf32> -> tensor<?x128x768xf32>
  // CHECK: norm.layer_norm %[[X]] : tensor<?x128x768xf32> -> tensor<?x128x768xf32>
  %2 = norm.layer_norm %x : tensor<?x128x768xf32> -> tensor<?x128x768xf32>
  return %0, %1, %2 : tensor<?x128x768xf32>, tensor<?x128x768xf32>, tensor<?x128x768xf32>
}

// CHECK-LABEL: func.func @layer_norm_two_dims
func.func @layer_norm_two_dims(%x: tensor<2x3x5xf32>, %g: tensor<3x5xf32>, %b: tensor<5xf32>) -> tensor<2x3x5xf32> {
  // CHECK: norm.layer_norm %{{.*}} scale(%{{.*}} : tensor<3x5xf32>) bias(%{{.*}} : tensor<5xf32>) {axis = -2 : i64} : tensor<2x3x5xf32> -> tensor<2x3x5xf32>
  %0 = norm.layer_norm %x scale(%g : tensor<3x5xf32>) bias(%b : tensor<5xf32>) {axis = -2 : i64} : tensor<2x3x5xf32> -> tensor<2x3x5xf32>
  return %0 : tensor<2x3x5xf32>
}

// CHECK-LABEL: func.func @layer_norm_unranked
func.func @layer_norm_unranked(%x: tensor<*xf16>, %g: tensor<64xf16>) -> tensor<*xf16> {
  // CHECK: norm.layer_norm %{{.*}} scale(%{{.*}} : tensor<64xf16>) : tensor<*xf16> -> tensor<*xf16>
  %0 = norm.layer_norm %x scale(%g : tensor<64xf16>) : tensor<*xf16> -> tensor<*xf16>
  return %0 : tensor<*xf16>
}

// CHECK-LABEL: func.func @rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<4x4096xbf16>, %[[G:.*]]: tensor<4096xbf16>)
func.func @rms_norm(%x: tensor<4x4096xbf16>, %g: tensor<4096xbf16>)
    -> (tensor<4x4096xbf16>, tensor<4x4096xbf16>, tensor<4x4096xbf16>) {
  // CHECK: norm.rms_norm %[[X]] scale(%[[G]] : tensor<4096xbf16>) {epsilon = 9.99999997E-7 : f32} : tensor<4x4096xbf16> -> tensor<4x4096xbf16>
  %0 = norm.rms_norm %x scale(%g : tensor<4096xbf16>) {epsilon = 1.0e-06 : f32} : tensor<4x4096xbf16> -> tensor<4x4096xbf16>
  // CHECK: norm.rms_norm %[[X]] scale(%[[G]] : tensor<4096xbf16>) {unit_offset} : tensor<4x4096xbf16> -> tensor<4x4096xbf16>
  %1 = norm.rms_norm %x scale(%g : tensor<4096xbf16>) {unit_offset} : tensor<4x4096xbf16> -> tensor<4x4096xbf16>
  // CHECK: norm.rms_norm %[[X]] : tensor<4x4096xbf16> -> tensor<4x4096xbf16>
  %2 = norm.rms_norm %x : tensor<4x4096xbf16> -> tensor<4x4096xbf16>
  return %0, %1, %2 : tensor<4x4096xbf16>, tensor<4x4096xbf16>, tensor<4x4096xbf16>
}

// CHECK-LABEL: func.func @batch_norm
// CHECK-SAME: (%[[X:.*]]: tensor<1x3x8x8xf32>, %[[S:.*]]: tensor<3xf32>, %[[B:.*]]: tensor<3xf32>, %[[M:.*]]: tensor<3xf32>, %[[V:.*]]: tensor<3xf32>)
func.func @batch_norm(%x: tensor<1x3x8x8xf32>, %s: tensor<3xf32>, %b: tensor<3xf32>,
                      %m: tensor<3xf32>, %v: tensor<3xf32>) -> tensor<1x3x8x8xf32> {
  // CHECK: norm.batch_norm %[[X]], %[[S]], %[[B]], %[[M]], %[[V]] {epsilon = 1.000000e-03 : f32} : tensor<1x3x8x8xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32> -> tensor<1x3x8x8xf32>
  %0 = norm.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0e-03 : f32} : tensor<1x3x8x8xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32> -> tensor<1x3x8x8xf32>
  return %0 : tensor<1x3x8x8xf32>
}

// CHECK-LABEL: func.func @skip_layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x32xf16>, %[[R:.*]]: tensor<2x8x32xf16>, %[[G:.*]]: tensor<32xf16>, %[[B:.*]]: tensor<32xf16>, %[[SB:.*]]: tensor<32xf16>)
func.func @skip_layer_norm(%x: tensor<2x8x32xf16>, %r: tensor<2x8x32xf16>, %g: tensor<32xf16>,
                           %b: tensor<32xf16>, %sb: tensor<32xf16>)
    -> (tensor<2x8x32xf16>, tensor<2x8x32xf16>, tensor<2x8x32xf16>) {
  // CHECK: %[[Y:.*]], %[[SUM:.*]] = norm.skip_layer_norm %[[X]], %[[R]] scale(%[[G]] : tensor<32xf16>) bias(%[[B]] : tensor<32xf16>) skip_bias(%[[SB]] : tensor<32xf16>) {epsilon = 9.99999996E-13 : f32} : tensor<2x8x32xf16>, tensor<2x8x32xf16> -> tensor<2x8x32xf16>, tensor<2x8x32xf16>
  %y, %sum = norm.skip_layer_norm %x, %r scale(%g : tensor<32xf16>) bias(%b : tensor<32xf16>) skip_bias(%sb : tensor<32xf16>) {epsilon = 1.0e-12 : f32} : tensor<2x8x32xf16>, tensor<2x8x32xf16> -> tensor<2x8x32xf16>, tensor<2x8x32xf16>
  // CHECK: norm.skip_layer_norm %[[X]], %[[R]] : tensor<2x8x32xf16>, tensor<2x8x32xf16> -> tensor<2x8x32xf16>, tensor<2x8x32xf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %r : tensor<2x8x32xf16>, tensor<2x8x32xf16> -> tensor<2x8x32xf16>, tensor<2x8x32xf16>
  return %y, %sum, %y2 : tensor<2x8x32xf16>, tensor<2x8x32xf16>, tensor<2x8x32xf16>
}

// CHECK-LABEL: func.func @skip_rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x32xf32>, %[[R:.*]]: tensor<2x8x32xf32>, %[[G:.*]]: tensor<32xf32>, %[[SB:.*]]: tensor<32xf32>)
func.func @skip_rms_norm(%x: tensor<2x8x32xf32>, %r: tensor<2x8x32xf32>, %g: tensor<32xf32>,
                         %sb: tensor<32xf32>) -> (tensor<2x8x32xf32>, tensor<2x8x32xf32>) {
  // CHECK: norm.skip_rms_norm %[[X]], %[[R]] scale(%[[G]] : tensor<32xf32>) skip_bias(%[[SB]] : tensor<32xf32>) : tensor<2x8x32xf32>, tensor<2x8x32xf32> -> tensor<2x8x32xf32>, tensor<2x8x32xf32>
  %y, %sum = norm.skip_rms_norm %x, %r scale(%g : tensor<32xf32>) skip_bias(%sb : tensor<32xf32>) : tensor<2x8x32xf32>, tensor<2x8x32xf32> -> tensor<2x8x32xf32>, tensor<2x8x32xf32>
  return %y, %sum : tensor<2x8x32xf32>, tensor<2x8x32xf32>
}

// CHECK-LABEL: func.func @rms_norm_bias
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf32>, %[[G:.*]]: tensor<16xf32>, %[[B:.*]]: tensor<16xf32>)
func.func @rms_norm_bias(%x: tensor<4x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<4x16xf32> {
  // CHECK: norm.rms_norm %[[X]] scale(%[[G]] : tensor<16xf32>) bias(%[[B]] : tensor<16xf32>) : tensor<4x16xf32> -> tensor<4x16xf32>
  %0 = norm.rms_norm %x scale(%g : tensor<16xf32>) bias(%b : tensor<16xf32>) : tensor<4x16xf32> -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// CHECK-LABEL: func.func @crms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<2x15xf32>, %[[G:.*]]: tensor<16xf32>, %[[B:.*]]: tensor<16xf32>)
func.func @crms_norm(%x: tensor<2x15xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>) -> (tensor<2x16xf32>, tensor<2x16xf32>) {
  // CHECK: norm.crms_norm %[[X]] scale(%[[G]] : tensor<16xf32>) bias(%[[B]] : tensor<16xf32>) {epsilon = 9.99999997E-7 : f32} : tensor<2x15xf32> -> tensor<2x16xf32>
  %0 = norm.crms_norm %x scale(%g : tensor<16xf32>) bias(%b : tensor<16xf32>) {epsilon = 1.0e-06 : f32} : tensor<2x15xf32> -> tensor<2x16xf32>
  // CHECK: norm.crms_norm %[[X]] : tensor<2x15xf32> -> tensor<2x16xf32>
  %1 = norm.crms_norm %x : tensor<2x15xf32> -> tensor<2x16xf32>
  return %0, %1 : tensor<2x16xf32>, tensor<2x16xf32>
}

// CHECK-LABEL: func.func @rms_scale
// CHECK-SAME: (%[[V:.*]]: tensor<2x8x64xf32>, %[[X:.*]]: tensor<2x8x32xf32>)
func.func @rms_scale(%v: tensor<2x8x64xf32>, %x: tensor<2x8x32xf32>) -> tensor<2x8x64xf32> {
  // CHECK: norm.rms_scale %[[V]] by %[[X]] {epsilon = 9.99999997E-7 : f32} : tensor<2x8x64xf32>, tensor<2x8x32xf32> -> tensor<2x8x64xf32>
  %0 = norm.rms_scale %v by %x {axis = -1 : i64, epsilon = 1.0e-06 : f32} : tensor<2x8x64xf32>, tensor<2x8x32xf32> -> tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}
