// REQUIRES: ptxas, cuobjdump
// RUN: norm-opt %s --emit=cubin -o %t.cubin
// RUN: %cuobjdump -sass -fun layer_norm_bf16_h4096 %t.cubin | FileCheck %s
// RUN: %cuobjdump -sass -fun skip_rms_norm_f32_h1024 %t.cubin | FileCheck %s
// RUN: %cuobjdump -sass -fun rms_scale_bf16_h4096_n11008 %t.cubin | FileCheck %s

// The SASS of the cubin, one kernel at a time (cuobjdump's order of
// functions is not the module's): 128-bit global loads, butterfly warp
// shuffles, 128-bit stores, and no local-memory traffic (no spills): STL/LDL
// never appear. cuobjdump is not in every CUDA install (the pip-packaged
// toolkit lacks it): without it this test is UNSUPPORTED and ptxas.mlir's
// `ptxas -v` spill counts are the check that runs.

// CHECK: Function :
// CHECK-NOT: {{STL|LDL}}
// CHECK: LDG.E.128
// CHECK-NOT: {{STL|LDL}}
// CHECK: SHFL.BFLY
// CHECK-NOT: {{STL|LDL}}
// CHECK: STG.E.128
// CHECK-NOT: {{STL|LDL}}
func.func @ln(%x: tensor<?x4096xbf16>, %g: tensor<4096xbf16>, %b: tensor<4096xbf16>) -> tensor<?x4096xbf16> {
  %y = norm.layer_norm %x scale(%g : tensor<4096xbf16>) bias(%b : tensor<4096xbf16>) : tensor<?x4096xbf16> -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
func.func @skip_rms(%x: tensor<?x1024xf32>, %s: tensor<?x1024xf32>, %g: tensor<1024xf32>) -> (tensor<?x1024xf32>, tensor<?x1024xf32>) {
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<1024xf32>) : tensor<?x1024xf32>, tensor<?x1024xf32> -> tensor<?x1024xf32>, tensor<?x1024xf32>
  return %y, %sum : tensor<?x1024xf32>, tensor<?x1024xf32>
}
func.func @deferred_scale(%xw: tensor<?x11008xbf16>, %x: tensor<?x4096xbf16>) -> tensor<?x11008xbf16> {
  %y = norm.rms_scale %xw by %x : tensor<?x11008xbf16>, tensor<?x4096xbf16> -> tensor<?x11008xbf16>
  return %y : tensor<?x11008xbf16>
}
