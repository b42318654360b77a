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
