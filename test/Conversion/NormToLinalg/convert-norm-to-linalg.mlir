// RUN: norm-opt %s -split-input-file -verify-diagnostics --convert-norm-to-linalg | FileCheck %s

// RMSNorm: one reduction of x^2 over the last dim into fp32 row statistics,
// then one elementwise map: x * rsqrt(sum / H + eps) * g, rounded to bf16.

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK: module attributes {norm.report = [{action = "lowered", kind = "rms_norm", name = "", pass = "convert-norm-to-linalg", reason = "linalg on tensors"}]}
// CHECK-LABEL: func.func @rms
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xbf16>, %[[G:.*]]: tensor<64xbf16>)
// CHECK: %[[INVH:.*]] = arith.constant 1.562500e-02 : f32
// CHECK: %[[DIM:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x64xbf16>
// CHECK: %[[E:.*]] = tensor.empty(%[[DIM]]) : tensor<?xf32>
// CHECK: %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E]] : tensor<?xf32>)
// CHECK: %[[SS:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<?x64xbf16>) outs(%[[Z]] : tensor<?xf32>)
// CHECK: %[[V:.*]] = arith.extf %{{.*}} : bf16 to f32
// CHECK: %[[SQ:.*]] = arith.mulf %[[V]], %[[V]] : f32
// CHECK: arith.addf %{{.*}}, %[[SQ]] : f32
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[W]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[SS]], %[[G]] :
// CHECK: %[[MS:.*]] = arith.mulf %{{.*}}, %[[INVH]] : f32
// CHECK: %[[R:.*]] = math.rsqrt
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: return %[[Y]]
func.func @rms(%x: tensor<?x64xbf16>, %g: tensor<64xbf16>) -> tensor<?x64xbf16> {
  %y = norm.rms_norm %x scale(%g : tensor<64xbf16>) : tensor<?x64xbf16> -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// LayerNorm over two trailing dims: the sum, then the sum of squares around
// the mean (not E[x^2] - E[x]^2); a [1, 16] scale broadcasts along dim 1.

// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1, d2) -> (d0)>
// CHECK-DAG: #[[BCAST:.*]] = affine_map<(d0, d1, d2) -> (0, d2)>
// CHECK-LABEL: func.func @ln
// CHECK: %[[S:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "reduction"]
// CHECK: %[[VAR:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #[[ROW]], #[[ROW]]], iterator_types = ["parallel", "reduction", "reduction"]} ins(%{{.*}}, %[[S]] :
// CHECK: %[[MEAN:.*]] = arith.mulf
// CHECK: %[[D:.*]] = arith.subf %{{.*}}, %[[MEAN]] : f32
// CHECK: arith.mulf %[[D]], %[[D]] : f32
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[ROW]], #[[ROW]], #[[BCAST]], #[[BCAST]], #{{.*}}]
func.func @ln(%x: tensor<2x8x16xf32>, %g: tensor<1x16xf32>, %b: tensor<1x16xf32>) -> tensor<2x8x16xf32> {
  %y = norm.layer_norm %x scale(%g : tensor<1x16xf32>) bias(%b : tensor<1x16xf32>) {axis = 1 : i64} : tensor<2x8x16xf32> -> tensor<2x8x16xf32>
  return %y : tensor<2x8x16xf32>
}

// -----

// Residual form: the sum is computed in fp32, rounded to f16, and is both a
// result and the input of the statistics.

// CHECK-LABEL: func.func @skip
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<4x32xf16>, tensor<4x32xf16>, tensor<32xf16>)
// CHECK: arith.addf
// CHECK: arith.addf
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: linalg.generic {{.*}} ins(%[[SUM]] : tensor<4x32xf16>)
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[SUM]], %{{.*}}, %{{.*}} :
// CHECK: return %[[Y]], %[[SUM]]
func.func @skip(%x: tensor<4x32xf16>, %s: tensor<4x32xf16>, %g: tensor<32xf16>, %sb: tensor<32xf16>) -> (tensor<4x32xf16>, tensor<4x32xf16>) {
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<32xf16>) skip_bias(%sb : tensor<32xf16>) : tensor<4x32xf16>, tensor<4x32xf16> -> tensor<4x32xf16>, tensor<4x32xf16>
  return %y, %sum : tensor<4x32xf16>, tensor<4x32xf16>
}

// -----

// CHECK-LABEL: func.func @dynamic_hidden
// CHECK: norm.rms_norm
func.func @dynamic_hidden(%x: tensor<4x?xf32>) -> tensor<4x?xf32> {
  // expected-remark @+1 {{convert-norm-to-linalg: left unchanged: dynamic hidden size: the normalized dims of tensor<4x?xf32> must be static}}
  %y = norm.rms_norm %x : tensor<4x?xf32> -> tensor<4x?xf32>
  return %y : tensor<4x?xf32>
}

// -----

func.func @unranked(%x: tensor<*xf32>) -> tensor<*xf32> {
  // expected-remark @+1 {{convert-norm-to-linalg: left unchanged: unranked input}}
  %y = norm.layer_norm %x : tensor<*xf32> -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

// rms_scale: the RMSNorm reduction runs over the input's rows (H = 64), the
// elementwise map over the value's (96 wide); only the row statistic is
// shared, so the value's row size does not enter the mean.

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK: {action = "lowered", kind = "rms_scale", name = "", pass = "convert-norm-to-linalg", reason = "linalg on tensors"}
// CHECK-LABEL: func.func @rms_scale
// CHECK-SAME: (%[[V:.*]]: tensor<?x96xbf16>, %[[X:.*]]: tensor<?x64xbf16>)
// CHECK: %[[INVH:.*]] = arith.constant 1.562500e-02 : f32
// CHECK: %[[SS:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<?x64xbf16>) outs(%{{.*}} : tensor<?xf32>)
// CHECK: arith.mulf
// CHECK: %[[DIM:.*]] = tensor.dim %[[V]]
// CHECK: %[[E:.*]] = tensor.empty(%[[DIM]]) : tensor<?x96xbf16>
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[V]], %[[SS]] : tensor<?x96xbf16>, tensor<?xf32>) outs(%[[E]] : tensor<?x96xbf16>)
// CHECK: arith.mulf %{{.*}}, %[[INVH]] : f32
// CHECK: math.rsqrt
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: return %[[Y]]
func.func @rms_scale(%v: tensor<?x96xbf16>, %x: tensor<?x64xbf16>) -> tensor<?x96xbf16> {
  %y = norm.rms_scale %v by %x {epsilon = 1.0e-06 : f32} : tensor<?x96xbf16>, tensor<?x64xbf16> -> tensor<?x96xbf16>
  return %y : tensor<?x96xbf16>
}

// -----

// rms_scale over two dims (1/H = 1/32) with a result type more static than
// the value's: the map follows the value, a cast gives the op's type.

// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1, d2) -> (d0)>
// CHECK-LABEL: func.func @rms_scale_axis
// CHECK: arith.constant 3.125000e-02 : f32
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "reduction"]} ins(%{{.*}} : tensor<2x4x8xf32>)
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x4x?xf32>)
// CHECK: %[[C:.*]] = tensor.cast %[[Y]] : tensor<2x4x?xf32> to tensor<2x4x24xf32>
// CHECK: return %[[C]]
func.func @rms_scale_axis(%v: tensor<2x4x?xf32>, %x: tensor<2x4x8xf32>) -> tensor<2x4x24xf32> {
  %y = norm.rms_scale %v by %x {axis = 1 : i64} : tensor<2x4x?xf32>, tensor<2x4x8xf32> -> tensor<2x4x24xf32>
  return %y : tensor<2x4x24xf32>
}

// -----

// crms_norm: x_d = -sum(x) as a [?, 1] fp32 column (one reduction of -x),
// concatenated with the widened stored entries; the 64-entry row is then an
// RMSNorm (1/d = 1/64), so its sum of squares is sum(x^2) + sum(x)^2.

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[KEEP:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK: {action = "lowered", kind = "crms_norm", name = "", pass = "convert-norm-to-linalg", reason = "linalg on tensors"}
// CHECK-LABEL: func.func @crms
// CHECK-SAME: (%[[X:.*]]: tensor<?x63xf16>, %[[G:.*]]: tensor<64xf16>, %[[B:.*]]: tensor<64xf16>)
// CHECK: %[[INVD:.*]] = arith.constant 1.562500e-02 : f32
// CHECK: %[[LAST:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[KEEP]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<?x63xf16>) outs(%{{.*}} : tensor<?x1xf32>)
// CHECK: arith.negf
// CHECK: %[[WIDE:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<?x63xf16>) outs(%{{.*}} : tensor<?x63xf32>)
// CHECK: %[[FULL:.*]] = tensor.concat dim(1) %[[WIDE]], %[[LAST]] : (tensor<?x63xf32>, tensor<?x1xf32>) -> tensor<?x64xf32>
// CHECK: %[[SS:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[FULL]] : tensor<?x64xf32>)
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[W]], #[[W]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[FULL]], %[[SS]], %[[G]], %[[B]] :
// CHECK: arith.mulf %{{.*}}, %[[INVD]] : f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: return %[[Y]] : tensor<?x64xf16>
func.func @crms(%x: tensor<?x63xf16>, %g: tensor<64xf16>, %b: tensor<64xf16>) -> tensor<?x64xf16> {
  %y = norm.crms_norm %x scale(%g : tensor<64xf16>) bias(%b : tensor<64xf16>) : tensor<?x63xf16> -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}

// -----

// An f32 crms_norm concatenates its input as is.

// CHECK-LABEL: func.func @crms_f32
// CHECK-SAME: (%[[X:.*]]: tensor<4x31xf32>)
// CHECK: %[[LAST:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4x1xf32>)
// CHECK: tensor.concat dim(1) %[[X]], %[[LAST]] : (tensor<4x31xf32>, tensor<4x1xf32>) -> tensor<4x32xf32>
func.func @crms_f32(%x: tensor<4x31xf32>) -> tensor<4x32xf32> {
  %y = norm.crms_norm %x : tensor<4x31xf32> -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// CHECK-LABEL: func.func @crms_dynamic_hidden
// CHECK: norm.crms_norm
func.func @crms_dynamic_hidden(%x: tensor<4x?xf32>) -> tensor<4x?xf32> {
  // expected-remark @+1 {{convert-norm-to-linalg: left unchanged: dynamic hidden size: the normalized dims of tensor<4x?xf32> must be static}}
  %y = norm.crms_norm %x : tensor<4x?xf32> -> tensor<4x?xf32>
  return %y : tensor<4x?xf32>
}

// -----

// The value's row may be dynamic (above), the input's may not: the mean
// divides by its static size.

// CHECK-LABEL: func.func @rms_scale_dynamic_hidden
// CHECK: norm.rms_scale
func.func @rms_scale_dynamic_hidden(%v: tensor<4x96xf32>, %x: tensor<4x?xf32>) -> tensor<4x96xf32> {
  // expected-remark @+1 {{convert-norm-to-linalg: left unchanged: dynamic hidden size: the normalized dims of tensor<4x?xf32> must be static}}
  %y = norm.rms_scale %v by %x : tensor<4x96xf32>, tensor<4x?xf32> -> tensor<4x96xf32>
  return %y : tensor<4x96xf32>
}

// -----

func.func @rms_scale_unranked_value(%v: tensor<*xf32>, %x: tensor<4x64xf32>) -> tensor<*xf32> {
  // expected-remark @+1 {{convert-norm-to-linalg: left unchanged: unranked value}}
  %y = norm.rms_scale %v by %x : tensor<*xf32>, tensor<4x64xf32> -> tensor<*xf32>
  return %y : tensor<*xf32>
}
