// The norms that runner.mlir (on a GPU) and emulate.mlir (on the CPU) run:
// every kind and activation type; narrow (warp per row) and wide (block per
// row) rows, rows that do not fill a warp (64) or need narrower vectors
// (100), fp32 Gemma (1 + w) weights on every activation type.
func.func @f32_64(%x: tensor<?x64xf32>, %s: tensor<?x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>, %gf: tensor<64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %a = norm.rms_norm %x scale(%g : tensor<64xf32>) {epsilon = 1.0e-6 : f32} : tensor<?x64xf32> -> tensor<?x64xf32>
  %l = norm.layer_norm %x scale(%g : tensor<64xf32>) bias(%b : tensor<64xf32>) : tensor<?x64xf32> -> tensor<?x64xf32>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<64xf32>) : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>, tensor<?x64xf32>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<64xf32>) bias(%b : tensor<64xf32>) skip_bias(%b : tensor<64xf32>) : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>, tensor<?x64xf32>
  %gm = norm.rms_norm %x scale(%gf : tensor<64xf32>) {unit_offset} : tensor<?x64xf32> -> tensor<?x64xf32>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}
func.func @f32_100(%x: tensor<?x100xf32>, %s: tensor<?x100xf32>, %g: tensor<100xf32>, %b: tensor<100xf32>, %gf: tensor<100xf32>) -> (tensor<?x100xf32>, tensor<?x100xf32>, tensor<?x100xf32>, tensor<?x100xf32>, tensor<?x100xf32>, tensor<?x100xf32>) {
  %a = norm.rms_norm %x scale(%g : tensor<100xf32>) {epsilon = 1.0e-6 : f32} : tensor<?x100xf32> -> tensor<?x100xf32>
  %l = norm.layer_norm %x scale(%g : tensor<100xf32>) bias(%b : tensor<100xf32>) : tensor<?x100xf32> -> tensor<?x100xf32>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<100xf32>) : tensor<?x100xf32>, tensor<?x100xf32> -> tensor<?x100xf32>, tensor<?x100xf32>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<100xf32>) bias(%b : tensor<100xf32>) skip_bias(%b : tensor<100xf32>) : tensor<?x100xf32>, tensor<?x100xf32> -> tensor<?x100xf32>, tensor<?x100xf32>
  %gm = norm.rms_norm %x scale(%gf : tensor<100xf32>) {unit_offset} : tensor<?x100xf32> -> tensor<?x100xf32>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x100xf32>, tensor<?x100xf32>, tensor<?x100xf32>, tensor<?x100xf32>, tensor<?x100xf32>, tensor<?x100xf32>
}
func.func @f32_768(%x: tensor<?x768xf32>, %s: tensor<?x768xf32>, %g: tensor<768xf32>, %b: tensor<768xf32>, %gf: tensor<768xf32>) -> (tensor<?x768xf32>, tensor<?x768xf32>, tensor<?x768xf32>, tensor<?x768xf32>, tensor<?x768xf32>, tensor<?x768xf32>) {
  %a = norm.rms_norm %x scale(%g : tensor<768xf32>) {epsilon = 1.0e-6 : f32} : tensor<?x768xf32> -> tensor<?x768xf32>
  %l = norm.layer_norm %x scale(%g : tensor<768xf32>) bias(%b : tensor<768xf32>) : tensor<?x768xf32> -> tensor<?x768xf32>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<768xf32>) : tensor<?x768xf32>, tensor<?x768xf32> -> tensor<?x768xf32>, tensor<?x768xf32>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<768xf32>) bias(%b : tensor<768xf32>) skip_bias(%b : tensor<768xf32>) : tensor<?x768xf32>, tensor<?x768xf32> -> tensor<?x768xf32>, tensor<?x768xf32>
  %gm = norm.rms_norm %x scale(%gf : tensor<768xf32>) {unit_offset} : tensor<?x768xf32> -> tensor<?x768xf32>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x768xf32>, tensor<?x768xf32>, tensor<?x768xf32>, tensor<?x768xf32>, tensor<?x768xf32>, tensor<?x768xf32>
}
func.func @f32_1024(%x: tensor<?x1024xf32>, %s: tensor<?x1024xf32>, %g: tensor<1024xf32>, %b: tensor<1024xf32>, %gf: tensor<1024xf32>) -> (tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>) {
  %a = norm.rms_norm %x scale(%g : tensor<1024xf32>) {epsilon = 1.0e-6 : f32} : tensor<?x1024xf32> -> tensor<?x1024xf32>
  %l = norm.layer_norm %x scale(%g : tensor<1024xf32>) bias(%b : tensor<1024xf32>) : tensor<?x1024xf32> -> tensor<?x1024xf32>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<1024xf32>) : tensor<?x1024xf32>, tensor<?x1024xf32> -> tensor<?x1024xf32>, tensor<?x1024xf32>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<1024xf32>) bias(%b : tensor<1024xf32>) skip_bias(%b : tensor<1024xf32>) : tensor<?x1024xf32>, tensor<?x1024xf32> -> tensor<?x1024xf32>, tensor<?x1024xf32>
  %gm = norm.rms_norm %x scale(%gf : tensor<1024xf32>) {unit_offset} : tensor<?x1024xf32> -> tensor<?x1024xf32>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>
}
func.func @f32_4096(%x: tensor<?x4096xf32>, %s: tensor<?x4096xf32>, %g: tensor<4096xf32>, %b: tensor<4096xf32>, %gf: tensor<4096xf32>) -> (tensor<?x4096xf32>, tensor<?x4096xf32>, tensor<?x4096xf32>, tensor<?x4096xf32>, tensor<?x4096xf32>, tensor<?x4096xf32>) {
  %a = norm.rms_norm %x scale(%g : tensor<4096xf32>) {epsilon = 1.0e-6 : f32} : tensor<?x4096xf32> -> tensor<?x4096xf32>
  %l = norm.layer_norm %x scale(%g : tensor<4096xf32>) bias(%b : tensor<4096xf32>) : tensor<?x4096xf32> -> tensor<?x4096xf32>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<4096xf32>) : tensor<?x4096xf32>, tensor<?x4096xf32> -> tensor<?x4096xf32>, tensor<?x4096xf32>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<4096xf32>) bias(%b : tensor<4096xf32>) skip_bias(%b : tensor<4096xf32>) : tensor<?x4096xf32>, tensor<?x4096xf32> -> tensor<?x4096xf32>, tensor<?x4096xf32>
  %gm = norm.rms_norm %x scale(%gf : tensor<4096xf32>) {unit_offset} : tensor<?x4096xf32> -> tensor<?x4096xf32>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x4096xf32>, tensor<?x4096xf32>, tensor<?x4096xf32>, tensor<?x4096xf32>, tensor<?x4096xf32>, tensor<?x4096xf32>
}
func.func @f32_8192(%x: tensor<?x8192xf32>, %s: tensor<?x8192xf32>, %g: tensor<8192xf32>, %b: tensor<8192xf32>, %gf: tensor<8192xf32>) -> (tensor<?x8192xf32>, tensor<?x8192xf32>, tensor<?x8192xf32>, tensor<?x8192xf32>, tensor<?x8192xf32>, tensor<?x8192xf32>) {
  %a = norm.rms_norm %x scale(%g : tensor<8192xf32>) {epsilon = 1.0e-6 : f32} : tensor<?x8192xf32> -> tensor<?x8192xf32>
  %l = norm.layer_norm %x scale(%g : tensor<8192xf32>) bias(%b : tensor<8192xf32>) : tensor<?x8192xf32> -> tensor<?x8192xf32>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<8192xf32>) : tensor<?x8192xf32>, tensor<?x8192xf32> -> tensor<?x8192xf32>, tensor<?x8192xf32>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<8192xf32>) bias(%b : tensor<8192xf32>) skip_bias(%b : tensor<8192xf32>) : tensor<?x8192xf32>, tensor<?x8192xf32> -> tensor<?x8192xf32>, tensor<?x8192xf32>
  %gm = norm.rms_norm %x scale(%gf : tensor<8192xf32>) {unit_offset} : tensor<?x8192xf32> -> tensor<?x8192xf32>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x8192xf32>, tensor<?x8192xf32>, tensor<?x8192xf32>, tensor<?x8192xf32>, tensor<?x8192xf32>, tensor<?x8192xf32>
}
func.func @f16_64(%x: tensor<?x64xf16>, %s: tensor<?x64xf16>, %g: tensor<64xf16>, %b: tensor<64xf16>, %gf: tensor<64xf32>) -> (tensor<?x64xf16>, tensor<?x64xf16>, tensor<?x64xf16>, tensor<?x64xf16>, tensor<?x64xf16>, tensor<?x64xf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<64xf16>) {epsilon = 1.0e-6 : f32} : tensor<?x64xf16> -> tensor<?x64xf16>
  %l = norm.layer_norm %x scale(%g : tensor<64xf16>) bias(%b : tensor<64xf16>) : tensor<?x64xf16> -> tensor<?x64xf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<64xf16>) : tensor<?x64xf16>, tensor<?x64xf16> -> tensor<?x64xf16>, tensor<?x64xf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<64xf16>) bias(%b : tensor<64xf16>) skip_bias(%b : tensor<64xf16>) : tensor<?x64xf16>, tensor<?x64xf16> -> tensor<?x64xf16>, tensor<?x64xf16>
  %gm = norm.rms_norm %x scale(%gf : tensor<64xf32>) {unit_offset} : tensor<?x64xf16> -> tensor<?x64xf16>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x64xf16>, tensor<?x64xf16>, tensor<?x64xf16>, tensor<?x64xf16>, tensor<?x64xf16>, tensor<?x64xf16>
}
func.func @f16_100(%x: tensor<?x100xf16>, %s: tensor<?x100xf16>, %g: tensor<100xf16>, %b: tensor<100xf16>, %gf: tensor<100xf32>) -> (tensor<?x100xf16>, tensor<?x100xf16>, tensor<?x100xf16>, tensor<?x100xf16>, tensor<?x100xf16>, tensor<?x100xf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<100xf16>) {epsilon = 1.0e-6 : f32} : tensor<?x100xf16> -> tensor<?x100xf16>
  %l = norm.layer_norm %x scale(%g : tensor<100xf16>) bias(%b : tensor<100xf16>) : tensor<?x100xf16> -> tensor<?x100xf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<100xf16>) : tensor<?x100xf16>, tensor<?x100xf16> -> tensor<?x100xf16>, tensor<?x100xf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<100xf16>) bias(%b : tensor<100xf16>) skip_bias(%b : tensor<100xf16>) : tensor<?x100xf16>, tensor<?x100xf16> -> tensor<?x100xf16>, tensor<?x100xf16>
  %gm = norm.rms_norm %x scale(%gf : tensor<100xf32>) {unit_offset} : tensor<?x100xf16> -> tensor<?x100xf16>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x100xf16>, tensor<?x100xf16>, tensor<?x100xf16>, tensor<?x100xf16>, tensor<?x100xf16>, tensor<?x100xf16>
}
func.func @f16_768(%x: tensor<?x768xf16>, %s: tensor<?x768xf16>, %g: tensor<768xf16>, %b: tensor<768xf16>, %gf: tensor<768xf32>) -> (tensor<?x768xf16>, tensor<?x768xf16>, tensor<?x768xf16>, tensor<?x768xf16>, tensor<?x768xf16>, tensor<?x768xf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<768xf16>) {epsilon = 1.0e-6 : f32} : tensor<?x768xf16> -> tensor<?x768xf16>
  %l = norm.layer_norm %x scale(%g : tensor<768xf16>) bias(%b : tensor<768xf16>) : tensor<?x768xf16> -> tensor<?x768xf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<768xf16>) : tensor<?x768xf16>, tensor<?x768xf16> -> tensor<?x768xf16>, tensor<?x768xf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<768xf16>) bias(%b : tensor<768xf16>) skip_bias(%b : tensor<768xf16>) : tensor<?x768xf16>, tensor<?x768xf16> -> tensor<?x768xf16>, tensor<?x768xf16>
  %gm = norm.rms_norm %x scale(%gf : tensor<768xf32>) {unit_offset} : tensor<?x768xf16> -> tensor<?x768xf16>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x768xf16>, tensor<?x768xf16>, tensor<?x768xf16>, tensor<?x768xf16>, tensor<?x768xf16>, tensor<?x768xf16>
}
func.func @f16_1024(%x: tensor<?x1024xf16>, %s: tensor<?x1024xf16>, %g: tensor<1024xf16>, %b: tensor<1024xf16>, %gf: tensor<1024xf32>) -> (tensor<?x1024xf16>, tensor<?x1024xf16>, tensor<?x1024xf16>, tensor<?x1024xf16>, tensor<?x1024xf16>, tensor<?x1024xf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<1024xf16>) {epsilon = 1.0e-6 : f32} : tensor<?x1024xf16> -> tensor<?x1024xf16>
  %l = norm.layer_norm %x scale(%g : tensor<1024xf16>) bias(%b : tensor<1024xf16>) : tensor<?x1024xf16> -> tensor<?x1024xf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<1024xf16>) : tensor<?x1024xf16>, tensor<?x1024xf16> -> tensor<?x1024xf16>, tensor<?x1024xf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<1024xf16>) bias(%b : tensor<1024xf16>) skip_bias(%b : tensor<1024xf16>) : tensor<?x1024xf16>, tensor<?x1024xf16> -> tensor<?x1024xf16>, tensor<?x1024xf16>
  %gm = norm.rms_norm %x scale(%gf : tensor<1024xf32>) {unit_offset} : tensor<?x1024xf16> -> tensor<?x1024xf16>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x1024xf16>, tensor<?x1024xf16>, tensor<?x1024xf16>, tensor<?x1024xf16>, tensor<?x1024xf16>, tensor<?x1024xf16>
}
func.func @f16_4096(%x: tensor<?x4096xf16>, %s: tensor<?x4096xf16>, %g: tensor<4096xf16>, %b: tensor<4096xf16>, %gf: tensor<4096xf32>) -> (tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<4096xf16>) {epsilon = 1.0e-6 : f32} : tensor<?x4096xf16> -> tensor<?x4096xf16>
  %l = norm.layer_norm %x scale(%g : tensor<4096xf16>) bias(%b : tensor<4096xf16>) : tensor<?x4096xf16> -> tensor<?x4096xf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<4096xf16>) : tensor<?x4096xf16>, tensor<?x4096xf16> -> tensor<?x4096xf16>, tensor<?x4096xf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<4096xf16>) bias(%b : tensor<4096xf16>) skip_bias(%b : tensor<4096xf16>) : tensor<?x4096xf16>, tensor<?x4096xf16> -> tensor<?x4096xf16>, tensor<?x4096xf16>
  %gm = norm.rms_norm %x scale(%gf : tensor<4096xf32>) {unit_offset} : tensor<?x4096xf16> -> tensor<?x4096xf16>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>, tensor<?x4096xf16>
}
func.func @f16_8192(%x: tensor<?x8192xf16>, %s: tensor<?x8192xf16>, %g: tensor<8192xf16>, %b: tensor<8192xf16>, %gf: tensor<8192xf32>) -> (tensor<?x8192xf16>, tensor<?x8192xf16>, tensor<?x8192xf16>, tensor<?x8192xf16>, tensor<?x8192xf16>, tensor<?x8192xf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<8192xf16>) {epsilon = 1.0e-6 : f32} : tensor<?x8192xf16> -> tensor<?x8192xf16>
  %l = norm.layer_norm %x scale(%g : tensor<8192xf16>) bias(%b : tensor<8192xf16>) : tensor<?x8192xf16> -> tensor<?x8192xf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<8192xf16>) : tensor<?x8192xf16>, tensor<?x8192xf16> -> tensor<?x8192xf16>, tensor<?x8192xf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<8192xf16>) bias(%b : tensor<8192xf16>) skip_bias(%b : tensor<8192xf16>) : tensor<?x8192xf16>, tensor<?x8192xf16> -> tensor<?x8192xf16>, tensor<?x8192xf16>
  %gm = norm.rms_norm %x scale(%gf : tensor<8192xf32>) {unit_offset} : tensor<?x8192xf16> -> tensor<?x8192xf16>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x8192xf16>, tensor<?x8192xf16>, tensor<?x8192xf16>, tensor<?x8192xf16>, tensor<?x8192xf16>, tensor<?x8192xf16>
}
func.func @bf16_64(%x: tensor<?x64xbf16>, %s: tensor<?x64xbf16>, %g: tensor<64xbf16>, %b: tensor<64xbf16>, %gf: tensor<64xf32>) -> (tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<64xbf16>) {epsilon = 1.0e-6 : f32} : tensor<?x64xbf16> -> tensor<?x64xbf16>
  %l = norm.layer_norm %x scale(%g : tensor<64xbf16>) bias(%b : tensor<64xbf16>) : tensor<?x64xbf16> -> tensor<?x64xbf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<64xbf16>) : tensor<?x64xbf16>, tensor<?x64xbf16> -> tensor<?x64xbf16>, tensor<?x64xbf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<64xbf16>) bias(%b : tensor<64xbf16>) skip_bias(%b : tensor<64xbf16>) : tensor<?x64xbf16>, tensor<?x64xbf16> -> tensor<?x64xbf16>, tensor<?x64xbf16>
  %gm = norm.rms_norm %x scale(%gf : tensor<64xf32>) {unit_offset} : tensor<?x64xbf16> -> tensor<?x64xbf16>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>
}
func.func @bf16_100(%x: tensor<?x100xbf16>, %s: tensor<?x100xbf16>, %g: tensor<100xbf16>, %b: tensor<100xbf16>, %gf: tensor<100xf32>) -> (tensor<?x100xbf16>, tensor<?x100xbf16>, tensor<?x100xbf16>, tensor<?x100xbf16>, tensor<?x100xbf16>, tensor<?x100xbf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<100xbf16>) {epsilon = 1.0e-6 : f32} : tensor<?x100xbf16> -> tensor<?x100xbf16>
  %l = norm.layer_norm %x scale(%g : tensor<100xbf16>) bias(%b : tensor<100xbf16>) : tensor<?x100xbf16> -> tensor<?x100xbf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<100xbf16>) : tensor<?x100xbf16>, tensor<?x100xbf16> -> tensor<?x100xbf16>, tensor<?x100xbf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<100xbf16>) bias(%b : tensor<100xbf16>) skip_bias(%b : tensor<100xbf16>) : tensor<?x100xbf16>, tensor<?x100xbf16> -> tensor<?x100xbf16>, tensor<?x100xbf16>
  %gm = norm.rms_norm %x scale(%gf : tensor<100xf32>) {unit_offset} : tensor<?x100xbf16> -> tensor<?x100xbf16>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x100xbf16>, tensor<?x100xbf16>, tensor<?x100xbf16>, tensor<?x100xbf16>, tensor<?x100xbf16>, tensor<?x100xbf16>
}
func.func @bf16_768(%x: tensor<?x768xbf16>, %s: tensor<?x768xbf16>, %g: tensor<768xbf16>, %b: tensor<768xbf16>, %gf: tensor<768xf32>) -> (tensor<?x768xbf16>, tensor<?x768xbf16>, tensor<?x768xbf16>, tensor<?x768xbf16>, tensor<?x768xbf16>, tensor<?x768xbf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<768xbf16>) {epsilon = 1.0e-6 : f32} : tensor<?x768xbf16> -> tensor<?x768xbf16>
  %l = norm.layer_norm %x scale(%g : tensor<768xbf16>) bias(%b : tensor<768xbf16>) : tensor<?x768xbf16> -> tensor<?x768xbf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<768xbf16>) : tensor<?x768xbf16>, tensor<?x768xbf16> -> tensor<?x768xbf16>, tensor<?x768xbf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<768xbf16>) bias(%b : tensor<768xbf16>) skip_bias(%b : tensor<768xbf16>) : tensor<?x768xbf16>, tensor<?x768xbf16> -> tensor<?x768xbf16>, tensor<?x768xbf16>
  %gm = norm.rms_norm %x scale(%gf : tensor<768xf32>) {unit_offset} : tensor<?x768xbf16> -> tensor<?x768xbf16>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x768xbf16>, tensor<?x768xbf16>, tensor<?x768xbf16>, tensor<?x768xbf16>, tensor<?x768xbf16>, tensor<?x768xbf16>
}
func.func @bf16_1024(%x: tensor<?x1024xbf16>, %s: tensor<?x1024xbf16>, %g: tensor<1024xbf16>, %b: tensor<1024xbf16>, %gf: tensor<1024xf32>) -> (tensor<?x1024xbf16>, tensor<?x1024xbf16>, tensor<?x1024xbf16>, tensor<?x1024xbf16>, tensor<?x1024xbf16>, tensor<?x1024xbf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<1024xbf16>) {epsilon = 1.0e-6 : f32} : tensor<?x1024xbf16> -> tensor<?x1024xbf16>
  %l = norm.layer_norm %x scale(%g : tensor<1024xbf16>) bias(%b : tensor<1024xbf16>) : tensor<?x1024xbf16> -> tensor<?x1024xbf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<1024xbf16>) : tensor<?x1024xbf16>, tensor<?x1024xbf16> -> tensor<?x1024xbf16>, tensor<?x1024xbf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<1024xbf16>) bias(%b : tensor<1024xbf16>) skip_bias(%b : tensor<1024xbf16>) : tensor<?x1024xbf16>, tensor<?x1024xbf16> -> tensor<?x1024xbf16>, tensor<?x1024xbf16>
  %gm = norm.rms_norm %x scale(%gf : tensor<1024xf32>) {unit_offset} : tensor<?x1024xbf16> -> tensor<?x1024xbf16>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x1024xbf16>, tensor<?x1024xbf16>, tensor<?x1024xbf16>, tensor<?x1024xbf16>, tensor<?x1024xbf16>, tensor<?x1024xbf16>
}
func.func @bf16_4096(%x: tensor<?x4096xbf16>, %s: tensor<?x4096xbf16>, %g: tensor<4096xbf16>, %b: tensor<4096xbf16>, %gf: tensor<4096xf32>) -> (tensor<?x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4096xbf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<4096xbf16>) {epsilon = 1.0e-6 : f32} : tensor<?x4096xbf16> -> tensor<?x4096xbf16>
  %l = norm.layer_norm %x scale(%g : tensor<4096xbf16>) bias(%b : tensor<4096xbf16>) : tensor<?x4096xbf16> -> tensor<?x4096xbf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<4096xbf16>) : tensor<?x4096xbf16>, tensor<?x4096xbf16> -> tensor<?x4096xbf16>, tensor<?x4096xbf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<4096xbf16>) bias(%b : tensor<4096xbf16>) skip_bias(%b : tensor<4096xbf16>) : tensor<?x4096xbf16>, tensor<?x4096xbf16> -> tensor<?x4096xbf16>, tensor<?x4096xbf16>
  %gm = norm.rms_norm %x scale(%gf : tensor<4096xf32>) {unit_offset} : tensor<?x4096xbf16> -> tensor<?x4096xbf16>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4096xbf16>, tensor<?x4096xbf16>
}
func.func @bf16_8192(%x: tensor<?x8192xbf16>, %s: tensor<?x8192xbf16>, %g: tensor<8192xbf16>, %b: tensor<8192xbf16>, %gf: tensor<8192xf32>) -> (tensor<?x8192xbf16>, tensor<?x8192xbf16>, tensor<?x8192xbf16>, tensor<?x8192xbf16>, tensor<?x8192xbf16>, tensor<?x8192xbf16>) {
  %a = norm.rms_norm %x scale(%g : tensor<8192xbf16>) {epsilon = 1.0e-6 : f32} : tensor<?x8192xbf16> -> tensor<?x8192xbf16>
  %l = norm.layer_norm %x scale(%g : tensor<8192xbf16>) bias(%b : tensor<8192xbf16>) : tensor<?x8192xbf16> -> tensor<?x8192xbf16>
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<8192xbf16>) : tensor<?x8192xbf16>, tensor<?x8192xbf16> -> tensor<?x8192xbf16>, tensor<?x8192xbf16>
  %y2, %sum2 = norm.skip_layer_norm %x, %s scale(%g : tensor<8192xbf16>) bias(%b : tensor<8192xbf16>) skip_bias(%b : tensor<8192xbf16>) : tensor<?x8192xbf16>, tensor<?x8192xbf16> -> tensor<?x8192xbf16>, tensor<?x8192xbf16>
  %gm = norm.rms_norm %x scale(%gf : tensor<8192xf32>) {unit_offset} : tensor<?x8192xbf16> -> tensor<?x8192xbf16>
  return %a, %l, %y, %sum, %y2, %gm : tensor<?x8192xbf16>, tensor<?x8192xbf16>, tensor<?x8192xbf16>, tensor<?x8192xbf16>, tensor<?x8192xbf16>, tensor<?x8192xbf16>
}
// norm.rms_scale (FlashNorm's deferred 1/RMS): the statistic of the input
// row scales a value row of another width.
func.func @f32_deferred_scales(%v0: tensor<?x96xf32>, %x0: tensor<?x64xf32>, %v1: tensor<?x200xf32>, %x1: tensor<?x100xf32>, %v2: tensor<?x3072xf32>, %x2: tensor<?x1024xf32>, %v3: tensor<?x11008xf32>, %x3: tensor<?x4096xf32>) -> (tensor<?x96xf32>, tensor<?x200xf32>, tensor<?x3072xf32>, tensor<?x11008xf32>) {
  %y0 = norm.rms_scale %v0 by %x0 {epsilon = 1.0e-6 : f32} : tensor<?x96xf32>, tensor<?x64xf32> -> tensor<?x96xf32>
  %y1 = norm.rms_scale %v1 by %x1 {epsilon = 1.0e-6 : f32} : tensor<?x200xf32>, tensor<?x100xf32> -> tensor<?x200xf32>
  %y2 = norm.rms_scale %v2 by %x2 {epsilon = 1.0e-6 : f32} : tensor<?x3072xf32>, tensor<?x1024xf32> -> tensor<?x3072xf32>
  %y3 = norm.rms_scale %v3 by %x3 {epsilon = 1.0e-6 : f32} : tensor<?x11008xf32>, tensor<?x4096xf32> -> tensor<?x11008xf32>
  return %y0, %y1, %y2, %y3 : tensor<?x96xf32>, tensor<?x200xf32>, tensor<?x3072xf32>, tensor<?x11008xf32>
}
func.func @f16_deferred_scales(%v0: tensor<?x96xf16>, %x0: tensor<?x64xf16>, %v1: tensor<?x200xf16>, %x1: tensor<?x100xf16>, %v2: tensor<?x3072xf16>, %x2: tensor<?x1024xf16>, %v3: tensor<?x11008xf16>, %x3: tensor<?x4096xf16>) -> (tensor<?x96xf16>, tensor<?x200xf16>, tensor<?x3072xf16>, tensor<?x11008xf16>) {
  %y0 = norm.rms_scale %v0 by %x0 {epsilon = 1.0e-6 : f32} : tensor<?x96xf16>, tensor<?x64xf16> -> tensor<?x96xf16>
  %y1 = norm.rms_scale %v1 by %x1 {epsilon = 1.0e-6 : f32} : tensor<?x200xf16>, tensor<?x100xf16> -> tensor<?x200xf16>
  %y2 = norm.rms_scale %v2 by %x2 {epsilon = 1.0e-6 : f32} : tensor<?x3072xf16>, tensor<?x1024xf16> -> tensor<?x3072xf16>
  %y3 = norm.rms_scale %v3 by %x3 {epsilon = 1.0e-6 : f32} : tensor<?x11008xf16>, tensor<?x4096xf16> -> tensor<?x11008xf16>
  return %y0, %y1, %y2, %y3 : tensor<?x96xf16>, tensor<?x200xf16>, tensor<?x3072xf16>, tensor<?x11008xf16>
}
func.func @bf16_deferred_scales(%v0: tensor<?x96xbf16>, %x0: tensor<?x64xbf16>, %v1: tensor<?x200xbf16>, %x1: tensor<?x100xbf16>, %v2: tensor<?x3072xbf16>, %x2: tensor<?x1024xbf16>, %v3: tensor<?x11008xbf16>, %x3: tensor<?x4096xbf16>) -> (tensor<?x96xbf16>, tensor<?x200xbf16>, tensor<?x3072xbf16>, tensor<?x11008xbf16>) {
  %y0 = norm.rms_scale %v0 by %x0 {epsilon = 1.0e-6 : f32} : tensor<?x96xbf16>, tensor<?x64xbf16> -> tensor<?x96xbf16>
  %y1 = norm.rms_scale %v1 by %x1 {epsilon = 1.0e-6 : f32} : tensor<?x200xbf16>, tensor<?x100xbf16> -> tensor<?x200xbf16>
  %y2 = norm.rms_scale %v2 by %x2 {epsilon = 1.0e-6 : f32} : tensor<?x3072xbf16>, tensor<?x1024xbf16> -> tensor<?x3072xbf16>
  %y3 = norm.rms_scale %v3 by %x3 {epsilon = 1.0e-6 : f32} : tensor<?x11008xbf16>, tensor<?x4096xbf16> -> tensor<?x11008xbf16>
  return %y0, %y1, %y2, %y3 : tensor<?x96xbf16>, tensor<?x200xbf16>, tensor<?x3072xbf16>, tensor<?x11008xbf16>
}
// norm.crms_norm (CRMSNorm, Pre-LN -> RMSNorm with compress=1): rows of
// d - 1 stored entries, outputs of d; scalar loads (d - 1 and d share no
// factor of two); warp per row (64, 768) and block per row (4096).
func.func @f32_compressed(%x0: tensor<?x63xf32>, %g0: tensor<64xf32>, %b0: tensor<64xf32>, %x1: tensor<?x767xf32>, %g1: tensor<768xf32>, %b1: tensor<768xf32>, %x2: tensor<?x4095xf32>, %g2: tensor<4096xf32>, %b2: tensor<4096xf32>) -> (tensor<?x64xf32>, tensor<?x768xf32>, tensor<?x4096xf32>) {
  %y0 = norm.crms_norm %x0 scale(%g0 : tensor<64xf32>) bias(%b0 : tensor<64xf32>) {epsilon = 1.0e-6 : f32} : tensor<?x63xf32> -> tensor<?x64xf32>
  %y1 = norm.crms_norm %x1 scale(%g1 : tensor<768xf32>) {epsilon = 1.0e-6 : f32} : tensor<?x767xf32> -> tensor<?x768xf32>
  %y2 = norm.crms_norm %x2 scale(%g2 : tensor<4096xf32>) bias(%b2 : tensor<4096xf32>) {epsilon = 1.0e-6 : f32} : tensor<?x4095xf32> -> tensor<?x4096xf32>
  return %y0, %y1, %y2 : tensor<?x64xf32>, tensor<?x768xf32>, tensor<?x4096xf32>
}
func.func @f16_compressed(%x0: tensor<?x63xf16>, %g0: tensor<64xf16>, %b0: tensor<64xf16>, %x1: tensor<?x767xf16>, %g1: tensor<768xf16>, %b1: tensor<768xf16>, %x2: tensor<?x4095xf16>, %g2: tensor<4096xf16>, %b2: tensor<4096xf16>) -> (tensor<?x64xf16>, tensor<?x768xf16>, tensor<?x4096xf16>) {
  %y0 = norm.crms_norm %x0 scale(%g0 : tensor<64xf16>) bias(%b0 : tensor<64xf16>) {epsilon = 1.0e-6 : f32} : tensor<?x63xf16> -> tensor<?x64xf16>
  %y1 = norm.crms_norm %x1 scale(%g1 : tensor<768xf16>) {epsilon = 1.0e-6 : f32} : tensor<?x767xf16> -> tensor<?x768xf16>
  %y2 = norm.crms_norm %x2 scale(%g2 : tensor<4096xf16>) bias(%b2 : tensor<4096xf16>) {epsilon = 1.0e-6 : f32} : tensor<?x4095xf16> -> tensor<?x4096xf16>
  return %y0, %y1, %y2 : tensor<?x64xf16>, tensor<?x768xf16>, tensor<?x4096xf16>
}
func.func @bf16_compressed(%x0: tensor<?x63xbf16>, %g0: tensor<64xbf16>, %b0: tensor<64xbf16>, %x1: tensor<?x767xbf16>, %g1: tensor<768xbf16>, %b1: tensor<768xbf16>, %x2: tensor<?x4095xbf16>, %g2: tensor<4096xbf16>, %b2: tensor<4096xbf16>) -> (tensor<?x64xbf16>, tensor<?x768xbf16>, tensor<?x4096xbf16>) {
  %y0 = norm.crms_norm %x0 scale(%g0 : tensor<64xbf16>) bias(%b0 : tensor<64xbf16>) {epsilon = 1.0e-6 : f32} : tensor<?x63xbf16> -> tensor<?x64xbf16>
  %y1 = norm.crms_norm %x1 scale(%g1 : tensor<768xbf16>) {epsilon = 1.0e-6 : f32} : tensor<?x767xbf16> -> tensor<?x768xbf16>
  %y2 = norm.crms_norm %x2 scale(%g2 : tensor<4096xbf16>) bias(%b2 : tensor<4096xbf16>) {epsilon = 1.0e-6 : f32} : tensor<?x4095xbf16> -> tensor<?x4096xbf16>
  return %y0, %y1, %y2 : tensor<?x64xbf16>, tensor<?x768xbf16>, tensor<?x4096xbf16>
}
