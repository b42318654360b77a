// RUN: norm-opt %s --emit=ptx -o %t.ptx --gpu-manifest=%t.json
// RUN: FileCheck %s --input-file=%t.ptx
// RUN: FileCheck %s --input-file=%t.json --check-prefix=MANIFEST
// RUN: norm-opt %s --emit=ptx --gpu-chip=sm_80 -o - | FileCheck %s --check-prefix=SM80

// `norm-opt --emit=ptx` runs convert-norm-to-gpu, expands the subgroup
// reductions to butterfly shuffles and lowers through MLIR's NVVM pipeline.
// The PTX has 128-bit global loads and stores, xor shuffles, no local
// memory, and no unresolved libdevice calls.

// CHECK: .version 8.0
// CHECK: .target sm_90
// CHECK-NOT: .extern .func __nv_
// CHECK-NOT: .local
// CHECK-LABEL: .visible .entry rms_norm_bf16_h4096(
// CHECK: ld.global.v4.b32
// CHECK: shfl.sync.bfly.b32 {{.*}}, 16, 31, -1;
// CHECK: st.shared.b32
// CHECK: bar.sync 0;
// CHECK: rsqrt.approx.f32
// CHECK: st.global.v4.b32
// CHECK-LABEL: .visible .entry skip_layer_norm_f32_h1024(
// CHECK: ld.global.v4.b32
// CHECK: shfl.sync.bfly.b32
// CHECK-NOT: bar.sync
// CHECK: st.global.v4.b32
// CHECK-LABEL: .visible .entry layer_norm_f16_h768(
// CHECK: ld.global.v4.b32
// CHECK: shfl.sync.bfly.b32
// CHECK-LABEL: .visible .entry rms_scale_bf16_h4096_n11008(
// CHECK: ld.global.v4.b32
// CHECK: shfl.sync.bfly.b32
// CHECK: bar.sync 0;
// CHECK: rsqrt.approx.f32
// CHECK: st.global.v4.b32

// MANIFEST: "abi": "memref-descriptor"
// MANIFEST: "chip": "sm_90"
// MANIFEST: "block_threads": 256
// MANIFEST: "element_type": "bf16"
// MANIFEST: "hidden": 4096
// MANIFEST: "kind": "rms_norm"
// MANIFEST: "name": "rms_norm_bf16_h4096"
// MANIFEST: "arguments": [
// MANIFEST: "cols": 11008
// MANIFEST: "name": "value"
// MANIFEST: "cols": 4096
// MANIFEST: "name": "input"
// MANIFEST: "kind": "rms_scale"
// MANIFEST: "value_hidden": 11008

// SM80: .target sm_80
// SM80: .visible .entry rms_norm_bf16_h4096(

func.func @rms(%x: tensor<?x4096xbf16>, %g: tensor<4096xbf16>) -> tensor<?x4096xbf16> {
  %y = norm.rms_norm %x scale(%g : tensor<4096xbf16>) : tensor<?x4096xbf16> -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
func.func @skip_ln(%x: tensor<?x1024xf32>, %s: tensor<?x1024xf32>, %g: tensor<1024xf32>, %b: tensor<1024xf32>) -> (tensor<?x1024xf32>, tensor<?x1024xf32>) {
  %y, %sum = norm.skip_layer_norm %x, %s scale(%g : tensor<1024xf32>) bias(%b : tensor<1024xf32>) : tensor<?x1024xf32>, tensor<?x1024xf32> -> tensor<?x1024xf32>, tensor<?x1024xf32>
  return %y, %sum : tensor<?x1024xf32>, tensor<?x1024xf32>
}
func.func @ln(%x: tensor<2x8x768xf16>, %g: tensor<768xf16>, %b: tensor<768xf16>) -> tensor<2x8x768xf16> {
  %y = norm.layer_norm %x scale(%g : tensor<768xf16>) bias(%b : tensor<768xf16>) : tensor<2x8x768xf16> -> tensor<2x8x768xf16>
  return %y : tensor<2x8x768xf16>
}
func.func @deferred_scale(%xw: tensor<?x11008xbf16>, %x: tensor<?x4096xbf16>) -> tensor<?x11008xbf16> {
  %y = norm.rms_scale %xw by %x : tensor<?x11008xbf16>, tensor<?x4096xbf16> -> tensor<?x11008xbf16>
  return %y : tensor<?x11008xbf16>
}
