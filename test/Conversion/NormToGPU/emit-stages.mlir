// RUN: norm-opt %s --emit=gpu-mlir -o %t.gpu.mlir
// RUN: FileCheck %s --input-file=%t.gpu.mlir --check-prefix=GPU
// RUN: norm-opt %s --emit=nvvm-mlir -o %t.nvvm.mlir
// RUN: FileCheck %s --input-file=%t.nvvm.mlir --check-prefix=NVVM
// RUN: norm-opt %t.gpu.mlir -o /dev/null
// RUN: norm-opt %t.nvvm.mlir -o /dev/null
// RUN: norm-opt %s --emit=ptx -o /dev/null --mlir-print-ir-after-all 2>&1 | FileCheck %s --check-prefix=ALL

// The MLIR at each stage of --emit=ptx/cubin, as files that parse again:
// gpu-mlir is the kernel module as it enters MLIR's NVVM pipeline (the
// subgroup reductions already butterfly shuffles, no graph), nvvm-mlir the
// same just before serialization (kernels in the LLVM/NVVM dialects, the
// launcher lowered to LLVM). --mlir-print-ir-after-all shows every pass.

// GPU: module attributes {gpu.container_module}
// GPU-NOT: onnx.
// GPU-NOT: norm.rms_norm
// GPU: gpu.func @rms_norm_bf16_h4096(
// GPU-NOT: gpu.subgroup_reduce
// GPU: gpu.shuffle xor
// GPU: func.func @rms_norm_bf16_h4096_launch(
// GPU: gpu.launch_func @norm_kernels::@rms_norm_bf16_h4096

// NVVM: gpu.module @norm_kernels [#nvvm.target<chip = "sm_90", features = "+ptx80">]
// NVVM: llvm.func @rms_norm_bf16_h4096(
// NVVM-SAME: nvvm.kernel
// NVVM: nvvm.shfl.sync bfly
// NVVM: llvm.func @rms_norm_bf16_h4096_launch(
// NVVM: gpu.launch_func @norm_kernels::@rms_norm_bf16_h4096
// NVVM-NOT: gpu.binary

// ALL: IR Dump After ConvertNormToGPU (convert-norm-to-gpu)
// ALL: IR Dump After NormLowerSubgroupReduce (norm-lower-subgroup-reduce)
// ALL: IR Dump After ConvertGpuOpsToNVVMOps (convert-gpu-to-nvvm)
// ALL: IR Dump After GpuModuleToBinaryPass (gpu-module-to-binary)

func.func @rms(%x: tensor<?x4096xbf16>, %g: tensor<4096xbf16>) -> tensor<?x4096xbf16> {
  %y = norm.rms_norm %x scale(%g : tensor<4096xbf16>) : tensor<?x4096xbf16> -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
