// REQUIRES: ptxas
// RUN: norm-opt %s --emit=ptx -o %t.ptx 2>/dev/null
// RUN: %ptxas -arch=sm_90 -v %t.ptx -o %t.cubin 2>&1 | FileCheck %s
// RUN: %ptxas -arch=sm_90 -v %t.ptx -o %t.cubin 2>&1 | FileCheck %s --check-prefix=NOSPILL
// RUN: norm-opt %s --convert-norm-to-gpu="deferred-scale=factors" --emit=ptx -o %t.factors.ptx 2>/dev/null
// RUN: %ptxas -arch=sm_90 -v %t.factors.ptx -o %t.factors.cubin 2>&1 | FileCheck %s --check-prefix=FACTORS
// RUN: norm-opt %s --emit=ptx --gpu-chip=sm_80 -o %t.sm80.ptx 2>/dev/null
// RUN: %ptxas -arch=sm_80 %t.sm80.ptx -o %t.sm80.cubin
// RUN: norm-opt %s --emit=cubin -o %t.emitted.cubin 2>/dev/null
// RUN: %python -c "import sys; d=open(sys.argv[1],'rb').read(); print('magic', d[:4] == b'\x7fELF', 'machine', int.from_bytes(d[18:20], 'little'))" %t.emitted.cubin | FileCheck %s --check-prefix=CUBIN

// Every kernel the pass accepts, over the three activation types and the
// four norm kinds plus crms_norm and the deferred scale (rms_scale, up to
// Llama-70B's 8192 -> 28672), assembles for sm_90 (and sm_80) without a byte of local
// memory: no stack frame, no spill stores or loads. The register estimate
// of convert-norm-to-gpu refuses the rows that would spill (here the widest
// fp32 LayerNorms; see row-limits.mlir).

// CHECK-COUNT-103: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// CHECK-NOT: Function properties
// NOSPILL-NOT: {{[1-9][0-9]*}} bytes stack frame
// NOSPILL-NOT: {{[1-9][0-9]*}} bytes spill
// CUBIN: magic True machine 190
// FACTORS-COUNT-103: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// FACTORS-NOT: Function properties

func.func @f32_64(%x: tensor<?x64xf32>, %s: tensor<?x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %a = norm.rms_norm %x scale(%g : tensor<64xf32>) : tensor<?x64xf32> -> tensor<?x64xf32>
  %l = norm.layer_norm %x scale(%g : tensor<64xf32>) bias(%b : tensor<64xf32>) : tensor<?x64xf32> -> tensor<?x64xf32>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<64xf32>) : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>, tensor<?x64xf32>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<64xf32>) bias(%b : tensor<64xf32>) skip_bias(%b : tensor<64xf32>) : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>, tensor<?x64xf32>
  return %a, %l, %y, %sum, %y2 : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}
func.func @f32_100(%x: tensor<?x100xf32>, %s: tensor<?x100xf32>, %g: tensor<100xf32>, %b: tensor<100xf32>) -> (tensor<?x100xf32>, tensor<?x100xf32>, tensor<?x100xf32>, tensor<?x100xf32>, tensor<?x100xf32>) {
  %a = norm.rms_norm %x scale(%g : tensor<100xf32>) : tensor<?x100xf32> -> tensor<?x100xf32>
  %l = norm.layer_norm %x scale(%g : tensor<100xf32>) bias(%b : tensor<100xf32>) : tensor<?x100xf32> -> tensor<?x100xf32>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<100xf32>) : tensor<?x100xf32>, tensor<?x100xf32> -> tensor<?x100xf32>, tensor<?x100xf32>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<100xf32>) bias(%b : tensor<100xf32>) skip_bias(%b : tensor<100xf32>) : tensor<?x100xf32>, tensor<?x100xf32> -> tensor<?x100xf32>, tensor<?x100xf32>
  return %a, %l, %y, %sum, %y2 : tensor<?x100xf32>, tensor<?x100xf32>, tensor<?x100xf32>, tensor<?x100xf32>, tensor<?x100xf32>
}
func.func @f32_768(%x: tensor<?x768xf32>, %s: tensor<?x768xf32>, %g: tensor<768xf32>, %b: tensor<768xf32>) -> (tensor<?x768xf32>, tensor<?x768xf32>, tensor<?x768xf32>, tensor<?x768xf32>, tensor<?x768xf32>) {
  %a = norm.rms_norm %x scale(%g : tensor<768xf32>) : tensor<?x768xf32> -> tensor<?x768xf32>
  %l = norm.layer_norm %x scale(%g : tensor<768xf32>) bias(%b : tensor<768xf32>) : tensor<?x768xf32> -> tensor<?x768xf32>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<768xf32>) : tensor<?x768xf32>, tensor<?x768xf32> -> tensor<?x768xf32>, tensor<?x768xf32>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<768xf32>) bias(%b : tensor<768xf32>) skip_bias(%b : tensor<768xf32>) : tensor<?x768xf32>, tensor<?x768xf32> -> tensor<?x768xf32>, tensor<?x768xf32>
  return %a, %l, %y, %sum, %y2 : tensor<?x768xf32>, tensor<?x768xf32>, tensor<?x768xf32>, tensor<?x768xf32>, tensor<?x768xf32>
}
func.func @f32_1024(%x: tensor<?x1024xf32>, %s: tensor<?x1024xf32>, %g: tensor<1024xf32>, %b: tensor<1024xf32>) -> (tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>) {
  %a = norm.rms_norm %x scale(%g : tensor<1024xf32>) : tensor<?x1024xf32> -> tensor<?x1024xf32>
  %l = norm.layer_norm %x scale(%g : tensor<1024xf32>) bias(%b : tensor<1024xf32>) : tensor<?x1024xf32> -> tensor<?x1024xf32>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<1024xf32>) : tensor<?x1024xf32>, tensor<?x1024xf32> -> tensor<?x1024xf32>, tensor<?x1024xf32>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<1024xf32>) bias(%b : tensor<1024xf32>) skip_bias(%b : tensor<1024xf32>) : tensor<?x1024xf32>, tensor<?x1024xf32> -> tensor<?x1024xf32>, tensor<?x1024xf32>
  return %a, %l, %y, %sum, %y2 : tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>
}
func.func @f32_4096(%x: tensor<?x4096xf32>, %s: tensor<?x4096xf32>, %g: tensor<4096xf32>, %b: tensor<4096xf32>) -> (tensor<?x4096xf32>, tensor<?x4096xf32>, tensor<?x4096xf32>, tensor<?x4096xf32>, tensor<?x4096xf32>) {
  %a = norm.rms_norm %x scale(%g : tensor<4096xf32>) : tensor<?x4096xf32> -> tensor<?x4096xf32>
  %l = norm.layer_norm %x scale(%g : tensor<4096xf32>) bias(%b : tensor<4096xf32>) : tensor<?x4096xf32> -> tensor<?x4096xf32>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<4096xf32>) : tensor<?x4096xf32>, tensor<?x4096xf32> -> tensor<?x4096xf32>, tensor<?x4096xf32>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<4096xf32>) bias(%b : tensor<4096xf32>) skip_bias(%b : tensor<4096xf32>) : tensor<?x4096xf32>, tensor<?x4096xf32> -> tensor<?x4096xf32>, tensor<?x4096xf32>
  return %a, %l, %y, %sum, %y2 : tensor<?x4096xf32>, tensor<?x4096xf32>, tensor<?x4096xf32>, tensor<?x4096xf32>, tensor<?x4096xf32>
}
func.func @f32_8192(%x: tensor<?x8192xf32>, %s: tensor<?x8192xf32>, %g: tensor<8192xf32>, %b: tensor<8192xf32>) -> (tensor<?x8192xf32>, tensor<?x8192xf32>, tensor<?x8192xf32>, tensor<?x8192xf32>, tensor<?x8192xf32>) {
  %a = norm.rms_norm %x scale(%g : tensor<8192xf32>) : tensor<?x8192xf32> -> tensor<?x8192xf32>
  %l = norm.layer_norm %x scale(%g : tensor<8192xf32>) bias(%b : tensor<8192xf32>) : tensor<?x8192xf32> -> tensor<?x8192xf32>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<8192xf32>) : tensor<?x8192xf32>, tensor<?x8192xf32> -> tensor<?x8192xf32>, tensor<?x8192xf32>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<8192xf32>) bias(%b : tensor<8192xf32>) skip_bias(%b : tensor<8192xf32>) : tensor<?x8192xf32>, tensor<?x8192xf32> -> tensor<?x8192xf32>, tensor<?x8192xf32>
  return %a, %l, %y, %sum, %y2 : tensor<?x8192xf32>, tensor<?x8192xf32>, tensor<?x8192xf32>, tensor<?x8192xf32>, tensor<?x8192xf32>
}
func.func @f32_16384(%x: tensor<?x16384xf32>, %s: tensor<?x16384xf32>, %g: tensor<16384xf32>, %b: tensor<16384xf32>) -> (tensor<?x16384xf32>, tensor<?x16384xf32>, tensor<?x16384xf32>, tensor<?x16384xf32>, tensor<?x16384xf32>) {
  %a = norm.rms_norm %x scale(%g : tensor<16384xf32>) : tensor<?x16384xf32> -> tensor<?x16384xf32>
  %l = norm.layer_norm %x scale(%g : tensor<16384xf32>) bias(%b : tensor<16384xf32>) : tensor<?x16384xf32> -> tensor<?x16384xf32>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<16384xf32>) : tensor<?x16384xf32>, tensor<?x16384xf32> -> tensor<?x16384xf32>, tensor<?x16384xf32>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<16384xf32>) bias(%b : tensor<16384xf32>) skip_bias(%b : tensor<16384xf32>) : tensor<?x16384xf32>, tensor<?x16384xf32> -> tensor<?x16384xf32>, tensor<?x16384xf32>
  return %a, %l, %y, %sum, %y2 : tensor<?x16384xf32>, tensor<?x16384xf32>, tensor<?x16384xf32>, tensor<?x16384xf32>, tensor<?x16384xf32>
}
func.func @f16_64(%x: tensor<?x64xf16>, %s: tensor<?x64xf16>, %g: tensor<64xf16>, %b: tensor<64xf16>) -> (tensor<?x64xf16>, tensor<?x64xf16>, tensor<?x64xf16>, tensor<?x64xf16>, tensor<?x64xf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<64xf16>) : tensor<?x64xf16> -> tensor<?x64xf16>
  %l = norm.layer_norm %x scale(%g : tensor<64xf16>) bias(%b : tensor<64xf16>) : tensor<?x64xf16> -> tensor<?x64xf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<64xf16>) : tensor<?x64xf16>, tensor<?x64xf16> -> tensor<?x64xf16>, tensor<?x64xf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<64xf16>) bias(%b : tensor<64xf16>) skip_bias(%b : tensor<64xf16>) : tensor<?x64xf16>, tensor<?x64xf16> -> tensor<?x64xf16>, tensor<?x64xf16>
  return %a, %l, %y, %sum, %y2 : tensor<?x64xf16>, tensor<?x64xf16>, tensor<?x64xf16>, tensor<?x64xf16>, tensor<?x64xf16>
}
func.func @f16_100(%x: tensor<?x100xf16>, %s: tensor<?x100xf16>, %g: tensor<100xf16>, %b: tensor<100xf16>) -> (tensor<?x100xf16>, tensor<?x100xf16>, tensor<?x100xf16>, tensor<?x100xf16>, tensor<?x100xf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<100xf16>) : tensor<?x100xf16> -> tensor<?x100xf16>
  %l = norm.layer_norm %x scale(%g : tensor<100xf16>) bias(%b : tensor<100xf16>) : tensor<?x100xf16> -> tensor<?x100xf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<100xf16>) : tensor<?x100xf16>, tensor<?x100xf16> -> tensor<?x100xf16>, tensor<?x100xf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<100xf16>) bias(%b : tensor<100xf16>) skip_bias(%b : tensor<100xf16>) : tensor<?x100xf16>, tensor<?x100xf16> -> tensor<?x100xf16>, tensor<?x100xf16>
  return %a, %l, %y, %sum, %y2 : tensor<?x100xf16>, tensor<?x100xf16>, tensor<?x100xf16>, tensor<?x100xf16>, tensor<?x100xf16>
}
func.func @f16_768(%x: tensor<?x768xf16>, %s: tensor<?x768xf16>, %g: tensor<768xf16>, %b: tensor<768xf16>) -> (tensor<?x768xf16>, tensor<?x768xf16>, tensor<?x768xf16>, tensor<?x768xf16>, tensor<?x768xf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<768xf16>) : tensor<?x768xf16> -> tensor<?x768xf16>
  %l = norm.layer_norm %x scale(%g : tensor<768xf16>) bias(%b : tensor<768xf16>) : tensor<?x768xf16> -> tensor<?x768xf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<768xf16>) : tensor<?x768xf16>, tensor<?x768xf16> -> tensor<?x768xf16>, tensor<?x768xf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<768xf16>) bias(%b : tensor<768xf16>) skip_bias(%b : tensor<768xf16>) : tensor<?x768xf16>, tensor<?x768xf16> -> tensor<?x768xf16>, tensor<?x768xf16>
  return %a, %l, %y, %sum, %y2 : tensor<?x768xf16>, tensor<?x768xf16>, tensor<?x768xf16>, tensor<?x768xf16>, tensor<?x768xf16>
}
func.func @f16_1024(%x: tensor<?x1024xf16>, %s: tensor<?x1024xf16>, %g: tensor<1024xf16>, %b: tensor<1024xf16>) -> (tensor<?x1024xf16>, tensor<?x1024xf16>, tensor<?x1024xf16>, tensor<?x1024xf16>, tensor<?x1024xf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<1024xf16>) : tensor<?x1024xf16> -> tensor<?x1024xf16>
  %l = norm.layer_norm %x scale(%g : tensor<1024xf16>) bias(%b : tensor<1024xf16>) : tensor<?x1024xf16> -> tensor<?x1024xf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<1024xf16>) : tensor<?x1024xf16>, tensor<?x1024xf16> -> tensor<?x1024xf16>, tensor<?x1024xf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<1024xf16>) bias(%b : tensor<1024xf16>) skip_bias(%b : tensor<1024xf16>) : tensor<?x1024xf16>, tensor<?x1024xf16> -> tensor<?x1024xf16>, tensor<?x1024xf16>
  return %a, %l, %y, %sum, %y2 : tensor<?x1024xf16>, tensor<?x1024xf16>, tensor<?x1024xf16>, tensor<?x1024xf16>, tensor<?x1024xf16>
}
func.func @f16_4096(%x: tensor<?x4096xf16>, %s: tensor<?x4096xf16>, %g: tensor<4096xf16>, %b: tensor<4096xf16>) -> (tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<4096xf16>) : tensor<?x4096xf16> -> tensor<?x4096xf16>
  %l = norm.layer_norm %x scale(%g : tensor<4096xf16>) bias(%b : tensor<4096xf16>) : tensor<?x4096xf16> -> tensor<?x4096xf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<4096xf16>) : tensor<?x4096xf16>, tensor<?x4096xf16> -> tensor<?x4096xf16>, tensor<?x4096xf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<4096xf16>) bias(%b : tensor<4096xf16>) skip_bias(%b : tensor<4096xf16>) : tensor<?x4096xf16>, tensor<?x4096xf16> -> tensor<?x4096xf16>, tensor<?x4096xf16>
  return %a, %l, %y, %sum, %y2 : tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>
}
func.func @f16_8192(%x: tensor<?x8192xf16>, %s: tensor<?x8192xf16>, %g: tensor<8192xf16>, %b: tensor<8192xf16>) -> (tensor<?x8192xf16>, tensor<?x8192xf16>, tensor<?x8192xf16>, tensor<?x8192xf16>, tensor<?x8192xf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<8192xf16>) : tensor<?x8192xf16> -> tensor<?x8192xf16>
  %l = norm.layer_norm %x scale(%g : tensor<8192xf16>) bias(%b : tensor<8192xf16>) : tensor<?x8192xf16> -> tensor<?x8192xf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<8192xf16>) : tensor<?x8192xf16>, tensor<?x8192xf16> -> tensor<?x8192xf16>, tensor<?x8192xf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<8192xf16>) bias(%b : tensor<8192xf16>) skip_bias(%b : tensor<8192xf16>) : tensor<?x8192xf16>, tensor<?x8192xf16> -> tensor<?x8192xf16>, tensor<?x8192xf16>
  return %a, %l, %y, %sum, %y2 : tensor<?x8192xf16>, tensor<?x8192xf16>, tensor<?x8192xf16>, tensor<?x8192xf16>, tensor<?x8192xf16>
}
func.func @f16_16384(%x: tensor<?x16384xf16>, %s: tensor<?x16384xf16>, %g: tensor<16384xf16>, %b: tensor<16384xf16>) -> (tensor<?x16384xf16>, tensor<?x16384xf16>, tensor<?x16384xf16>, tensor<?x16384xf16>, tensor<?x16384xf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<16384xf16>) : tensor<?x16384xf16> -> tensor<?x16384xf16>
  %l = norm.layer_norm %x scale(%g : tensor<16384xf16>) bias(%b : tensor<16384xf16>) : tensor<?x16384xf16> -> tensor<?x16384xf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<16384xf16>) : tensor<?x16384xf16>, tensor<?x16384xf16> -> tensor<?x16384xf16>, tensor<?x16384xf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<16384xf16>) bias(%b : tensor<16384xf16>) skip_bias(%b : tensor<16384xf16>) : tensor<?x16384xf16>, tensor<?x16384xf16> -> tensor<?x16384xf16>, tensor<?x16384xf16>
  return %a, %l, %y, %sum, %y2 : tensor<?x16384xf16>, tensor<?x16384xf16>, tensor<?x16384xf16>, tensor<?x16384xf16>, tensor<?x16384xf16>
}
func.func @bf16_64(%x: tensor<?x64xbf16>, %s: tensor<?x64xbf16>, %g: tensor<64xbf16>, %b: tensor<64xbf16>) -> (tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<64xbf16>) : tensor<?x64xbf16> -> tensor<?x64xbf16>
  %l = norm.layer_norm %x scale(%g : tensor<64xbf16>) bias(%b : tensor<64xbf16>) : tensor<?x64xbf16> -> tensor<?x64xbf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<64xbf16>) : tensor<?x64xbf16>, tensor<?x64xbf16> -> tensor<?x64xbf16>, tensor<?x64xbf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<64xbf16>) bias(%b : tensor<64xbf16>) skip_bias(%b : tensor<64xbf16>) : tensor<?x64xbf16>, tensor<?x64xbf16> -> tensor<?x64xbf16>, tensor<?x64xbf16>
  return %a, %l, %y, %sum, %y2 : tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>
}
func.func @bf16_100(%x: tensor<?x100xbf16>, %s: tensor<?x100xbf16>, %g: tensor<100xbf16>, %b: tensor<100xbf16>) -> (tensor<?x100xbf16>, tensor<?x100xbf16>, tensor<?x100xbf16>, tensor<?x100xbf16>, tensor<?x100xbf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<100xbf16>) : tensor<?x100xbf16> -> tensor<?x100xbf16>
  %l = norm.layer_norm %x scale(%g : tensor<100xbf16>) bias(%b : tensor<100xbf16>) : tensor<?x100xbf16> -> tensor<?x100xbf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<100xbf16>) : tensor<?x100xbf16>, tensor<?x100xbf16> -> tensor<?x100xbf16>, tensor<?x100xbf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<100xbf16>) bias(%b : tensor<100xbf16>) skip_bias(%b : tensor<100xbf16>) : tensor<?x100xbf16>, tensor<?x100xbf16> -> tensor<?x100xbf16>, tensor<?x100xbf16>
  return %a, %l, %y, %sum, %y2 : tensor<?x100xbf16>, tensor<?x100xbf16>, tensor<?x100xbf16>, tensor<?x100xbf16>, tensor<?x100xbf16>
}
func.func @bf16_768(%x: tensor<?x768xbf16>, %s: tensor<?x768xbf16>, %g: tensor<768xbf16>, %b: tensor<768xbf16>) -> (tensor<?x768xbf16>, tensor<?x768xbf16>, tensor<?x768xbf16>, tensor<?x768xbf16>, tensor<?x768xbf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<768xbf16>) : tensor<?x768xbf16> -> tensor<?x768xbf16>
  %l = norm.layer_norm %x scale(%g : tensor<768xbf16>) bias(%b : tensor<768xbf16>) : tensor<?x768xbf16> -> tensor<?x768xbf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<768xbf16>) : tensor<?x768xbf16>, tensor<?x768xbf16> -> tensor<?x768xbf16>, tensor<?x768xbf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<768xbf16>) bias(%b : tensor<768xbf16>) skip_bias(%b : tensor<768xbf16>) : tensor<?x768xbf16>, tensor<?x768xbf16> -> tensor<?x768xbf16>, tensor<?x768xbf16>
  return %a, %l, %y, %sum, %y2 : tensor<?x768xbf16>, tensor<?x768xbf16>, tensor<?x768xbf16>, tensor<?x768xbf16>, tensor<?x768xbf16>
}
func.func @bf16_1024(%x: tensor<?x1024xbf16>, %s: tensor<?x1024xbf16>, %g: tensor<1024xbf16>, %b: tensor<1024xbf16>) -> (tensor<?x1024xbf16>, tensor<?x1024xbf16>, tensor<?x1024xbf16>, tensor<?x1024xbf16>, tensor<?x1024xbf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<1024xbf16>) : tensor<?x1024xbf16> -> tensor<?x1024xbf16>
  %l = norm.layer_norm %x scale(%g : tensor<1024xbf16>) bias(%b : tensor<1024xbf16>) : tensor<?x1024xbf16> -> tensor<?x1024xbf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<1024xbf16>) : tensor<?x1024xbf16>, tensor<?x1024xbf16> -> tensor<?x1024xbf16>, tensor<?x1024xbf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<1024xbf16>) bias(%b : tensor<1024xbf16>) skip_bias(%b : tensor<1024xbf16>) : tensor<?x1024xbf16>, tensor<?x1024xbf16> -> tensor<?x1024xbf16>, tensor<?x1024xbf16>
  return %a, %l, %y, %sum, %y2 : tensor<?x1024xbf16>, tensor<?x1024xbf16>, tensor<?x1024xbf16>, tensor<?x1024xbf16>, tensor<?x1024xbf16>
}
func.func @bf16_4096(%x: tensor<?x4096xbf16>, %s: tensor<?x4096xbf16>, %g: tensor<4096xbf16>, %b: tensor<4096xbf16>) -> (tensor<?x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4096xbf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<4096xbf16>) : tensor<?x4096xbf16> -> tensor<?x4096xbf16>
  %l = norm.layer_norm %x scale(%g : tensor<4096xbf16>) bias(%b : tensor<4096xbf16>) : tensor<?x4096xbf16> -> tensor<?x4096xbf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<4096xbf16>) : tensor<?x4096xbf16>, tensor<?x4096xbf16> -> tensor<?x4096xbf16>, tensor<?x4096xbf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<4096xbf16>) bias(%b : tensor<4096xbf16>) skip_bias(%b : tensor<4096xbf16>) : tensor<?x4096xbf16>, tensor<?x4096xbf16> -> tensor<?x4096xbf16>, tensor<?x4096xbf16>
  return %a, %l, %y, %sum, %y2 : tensor<?x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4096xbf16>
}
func.func @bf16_8192(%x: tensor<?x8192xbf16>, %s: tensor<?x8192xbf16>, %g: tensor<8192xbf16>, %b: tensor<8192xbf16>) -> (tensor<?x8192xbf16>, tensor<?x8192xbf16>, tensor<?x8192xbf16>, tensor<?x8192xbf16>, tensor<?x8192xbf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<8192xbf16>) : tensor<?x8192xbf16> -> tensor<?x8192xbf16>
  %l = norm.layer_norm %x scale(%g : tensor<8192xbf16>) bias(%b : tensor<8192xbf16>) : tensor<?x8192xbf16> -> tensor<?x8192xbf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<8192xbf16>) : tensor<?x8192xbf16>, tensor<?x8192xbf16> -> tensor<?x8192xbf16>, tensor<?x8192xbf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<8192xbf16>) bias(%b : tensor<8192xbf16>) skip_bias(%b : tensor<8192xbf16>) : tensor<?x8192xbf16>, tensor<?x8192xbf16> -> tensor<?x8192xbf16>, tensor<?x8192xbf16>
  return %a, %l, %y, %sum, %y2 : tensor<?x8192xbf16>, tensor<?x8192xbf16>, tensor<?x8192xbf16>, tensor<?x8192xbf16>, tensor<?x8192xbf16>
}
func.func @bf16_16384(%x: tensor<?x16384xbf16>, %s: tensor<?x16384xbf16>, %g: tensor<16384xbf16>, %b: tensor<16384xbf16>) -> (tensor<?x16384xbf16>, tensor<?x16384xbf16>, tensor<?x16384xbf16>, tensor<?x16384xbf16>, tensor<?x16384xbf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<16384xbf16>) : tensor<?x16384xbf16> -> tensor<?x16384xbf16>
  %l = norm.layer_norm %x scale(%g : tensor<16384xbf16>) bias(%b : tensor<16384xbf16>) : tensor<?x16384xbf16> -> tensor<?x16384xbf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<16384xbf16>) : tensor<?x16384xbf16>, tensor<?x16384xbf16> -> tensor<?x16384xbf16>, tensor<?x16384xbf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<16384xbf16>) bias(%b : tensor<16384xbf16>) skip_bias(%b : tensor<16384xbf16>) : tensor<?x16384xbf16>, tensor<?x16384xbf16> -> tensor<?x16384xbf16>, tensor<?x16384xbf16>
  return %a, %l, %y, %sum, %y2 : tensor<?x16384xbf16>, tensor<?x16384xbf16>, tensor<?x16384xbf16>, tensor<?x16384xbf16>, tensor<?x16384xbf16>
}
func.func @f32_deferred_scales(%v0: tensor<?x96xf32>, %x0: tensor<?x64xf32>, %v1: tensor<?x3072xf32>, %x1: tensor<?x1024xf32>, %v2: tensor<?x11008xf32>, %x2: tensor<?x4096xf32>, %v3: tensor<?x28672xf32>, %x3: tensor<?x8192xf32>) -> (tensor<?x96xf32>, tensor<?x3072xf32>, tensor<?x11008xf32>, tensor<?x28672xf32>) {
  %y0 = norm.rms_scale %v0 by %x0 : tensor<?x96xf32>, tensor<?x64xf32> -> tensor<?x96xf32>
  %y1 = norm.rms_scale %v1 by %x1 : tensor<?x3072xf32>, tensor<?x1024xf32> -> tensor<?x3072xf32>
  %y2 = norm.rms_scale %v2 by %x2 : tensor<?x11008xf32>, tensor<?x4096xf32> -> tensor<?x11008xf32>
  %y3 = norm.rms_scale %v3 by %x3 : tensor<?x28672xf32>, tensor<?x8192xf32> -> tensor<?x28672xf32>
  return %y0, %y1, %y2, %y3 : tensor<?x96xf32>, tensor<?x3072xf32>, tensor<?x11008xf32>, tensor<?x28672xf32>
}
func.func @f16_deferred_scales(%v0: tensor<?x96xf16>, %x0: tensor<?x64xf16>, %v1: tensor<?x3072xf16>, %x1: tensor<?x1024xf16>, %v2: tensor<?x11008xf16>, %x2: tensor<?x4096xf16>, %v3: tensor<?x28672xf16>, %x3: tensor<?x8192xf16>) -> (tensor<?x96xf16>, tensor<?x3072xf16>, tensor<?x11008xf16>, tensor<?x28672xf16>) {
  %y0 = norm.rms_scale %v0 by %x0 : tensor<?x96xf16>, tensor<?x64xf16> -> tensor<?x96xf16>
  %y1 = norm.rms_scale %v1 by %x1 : tensor<?x3072xf16>, tensor<?x1024xf16> -> tensor<?x3072xf16>
  %y2 = norm.rms_scale %v2 by %x2 : tensor<?x11008xf16>, tensor<?x4096xf16> -> tensor<?x11008xf16>
  %y3 = norm.rms_scale %v3 by %x3 : tensor<?x28672xf16>, tensor<?x8192xf16> -> tensor<?x28672xf16>
  return %y0, %y1, %y2, %y3 : tensor<?x96xf16>, tensor<?x3072xf16>, tensor<?x11008xf16>, tensor<?x28672xf16>
}
func.func @bf16_deferred_scales(%v0: tensor<?x96xbf16>, %x0: tensor<?x64xbf16>, %v1: tensor<?x3072xbf16>, %x1: tensor<?x1024xbf16>, %v2: tensor<?x11008xbf16>, %x2: tensor<?x4096xbf16>, %v3: tensor<?x28672xbf16>, %x3: tensor<?x8192xbf16>) -> (tensor<?x96xbf16>, tensor<?x3072xbf16>, tensor<?x11008xbf16>, tensor<?x28672xbf16>) {
  %y0 = norm.rms_scale %v0 by %x0 : tensor<?x96xbf16>, tensor<?x64xbf16> -> tensor<?x96xbf16>
  %y1 = norm.rms_scale %v1 by %x1 : tensor<?x3072xbf16>, tensor<?x1024xbf16> -> tensor<?x3072xbf16>
  %y2 = norm.rms_scale %v2 by %x2 : tensor<?x11008xbf16>, tensor<?x4096xbf16> -> tensor<?x11008xbf16>
  %y3 = norm.rms_scale %v3 by %x3 : tensor<?x28672xbf16>, tensor<?x8192xbf16> -> tensor<?x28672xbf16>
  return %y0, %y1, %y2, %y3 : tensor<?x96xbf16>, tensor<?x3072xbf16>, tensor<?x11008xbf16>, tensor<?x28672xbf16>
}
func.func @f32_compressed(%x0: tensor<?x767xf32>, %g0: tensor<768xf32>, %b0: tensor<768xf32>, %x1: tensor<?x4095xf32>, %g1: tensor<4096xf32>, %b1: tensor<4096xf32>, %x2: tensor<?x8191xf32>, %g2: tensor<8192xf32>, %b2: tensor<8192xf32>) -> (tensor<?x768xf32>, tensor<?x4096xf32>, tensor<?x8192xf32>) {
  %y0 = norm.crms_norm %x0 scale(%g0 : tensor<768xf32>) bias(%b0 : tensor<768xf32>) : tensor<?x767xf32> -> tensor<?x768xf32>
  %y1 = norm.crms_norm %x1 scale(%g1 : tensor<4096xf32>) bias(%b1 : tensor<4096xf32>) : tensor<?x4095xf32> -> tensor<?x4096xf32>
  %y2 = norm.crms_norm %x2 scale(%g2 : tensor<8192xf32>) bias(%b2 : tensor<8192xf32>) : tensor<?x8191xf32> -> tensor<?x8192xf32>
  return %y0, %y1, %y2 : tensor<?x768xf32>, tensor<?x4096xf32>, tensor<?x8192xf32>
}
func.func @f16_compressed(%x0: tensor<?x767xf16>, %g0: tensor<768xf16>, %b0: tensor<768xf16>, %x1: tensor<?x4095xf16>, %g1: tensor<4096xf16>, %b1: tensor<4096xf16>, %x2: tensor<?x8191xf16>, %g2: tensor<8192xf16>, %b2: tensor<8192xf16>) -> (tensor<?x768xf16>, tensor<?x4096xf16>, tensor<?x8192xf16>) {
  %y0 = norm.crms_norm %x0 scale(%g0 : tensor<768xf16>) bias(%b0 : tensor<768xf16>) : tensor<?x767xf16> -> tensor<?x768xf16>
  %y1 = norm.crms_norm %x1 scale(%g1 : tensor<4096xf16>) bias(%b1 : tensor<4096xf16>) : tensor<?x4095xf16> -> tensor<?x4096xf16>
  %y2 = norm.crms_norm %x2 scale(%g2 : tensor<8192xf16>) bias(%b2 : tensor<8192xf16>) : tensor<?x8191xf16> -> tensor<?x8192xf16>
  return %y0, %y1, %y2 : tensor<?x768xf16>, tensor<?x4096xf16>, tensor<?x8192xf16>
}
func.func @bf16_compressed(%x0: tensor<?x767xbf16>, %g0: tensor<768xbf16>, %b0: tensor<768xbf16>, %x1: tensor<?x4095xbf16>, %g1: tensor<4096xbf16>, %b1: tensor<4096xbf16>, %x2: tensor<?x8191xbf16>, %g2: tensor<8192xbf16>, %b2: tensor<8192xbf16>) -> (tensor<?x768xbf16>, tensor<?x4096xbf16>, tensor<?x8192xbf16>) {
  %y0 = norm.crms_norm %x0 scale(%g0 : tensor<768xbf16>) bias(%b0 : tensor<768xbf16>) : tensor<?x767xbf16> -> tensor<?x768xbf16>
  %y1 = norm.crms_norm %x1 scale(%g1 : tensor<4096xbf16>) bias(%b1 : tensor<4096xbf16>) : tensor<?x4095xbf16> -> tensor<?x4096xbf16>
  %y2 = norm.crms_norm %x2 scale(%g2 : tensor<8192xbf16>) bias(%b2 : tensor<8192xbf16>) : tensor<?x8191xbf16> -> tensor<?x8192xbf16>
  return %y0, %y1, %y2 : tensor<?x768xbf16>, tensor<?x4096xbf16>, tensor<?x8192xbf16>
}
