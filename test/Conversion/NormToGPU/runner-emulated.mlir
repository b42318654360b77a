// UNSUPPORTED: cuda-device
// RUN: norm-opt %s --emit=ptx -o %t.ptx --gpu-manifest=%t.ptx.json
// RUN: norm-opt %s --mlir-print-op-generic -o %t.generic.mlir \
// RUN:   --pass-pipeline="builtin.module(convert-norm-to-gpu,gpu.module(norm-lower-subgroup-reduce))"
// RUN: env LD_LIBRARY_PATH=%norm_opt_obj_root/lib/fake-cuda NORM_FAKE_CUDA_KERNELS=%t.generic.mlir \
// RUN:   NORM_FAKE_CUDA_EMULATOR=%norm_opt_src_root/utils/emulate_gpu_kernels.py NORM_FAKE_CUDA_PYTHON=%python \
// RUN:   norm-gpu-runner %t.ptx --rows=5 | FileCheck %s
// RUN: env LD_LIBRARY_PATH=%norm_opt_obj_root/lib/fake-cuda NORM_FAKE_CUDA_KERNELS=%t.generic.mlir \
// RUN:   NORM_FAKE_CUDA_EMULATOR=%norm_opt_src_root/utils/emulate_gpu_kernels.py NORM_FAKE_CUDA_PYTHON=%python \
// RUN:   norm-gpu-runner %t.ptx --rows=2 --kernel=rms_scale_f16_h1024_n3072 --bench --iterations=3 --json | FileCheck %s --check-prefix=BENCH
// RUN: norm-opt %s --convert-norm-to-gpu="deferred-scale=factors" --emit=ptx -o %t.f.ptx --gpu-manifest=%t.f.ptx.json
// RUN: norm-opt %s --mlir-print-op-generic -o %t.f.generic.mlir \
// RUN:   --pass-pipeline="builtin.module(convert-norm-to-gpu{deferred-scale=factors},gpu.module(norm-lower-subgroup-reduce))"
// RUN: env LD_LIBRARY_PATH=%norm_opt_obj_root/lib/fake-cuda NORM_FAKE_CUDA_KERNELS=%t.f.generic.mlir \
// RUN:   NORM_FAKE_CUDA_EMULATOR=%norm_opt_src_root/utils/emulate_gpu_kernels.py NORM_FAKE_CUDA_PYTHON=%python \
// RUN:   norm-gpu-runner %t.f.ptx --rows=3 --kernel=rms_scale_factors_f16_h1024 | FileCheck %s --check-prefix=FACTORS
// RUN: sed -e 's/"kind": "rms_norm"/"kind": "layer_norm"/' %t.ptx.json > %t.wrong.json
// RUN: env LD_LIBRARY_PATH=%norm_opt_obj_root/lib/fake-cuda NORM_FAKE_CUDA_KERNELS=%t.generic.mlir \
// RUN:   NORM_FAKE_CUDA_EMULATOR=%norm_opt_src_root/utils/emulate_gpu_kernels.py NORM_FAKE_CUDA_PYTHON=%python \
// RUN:   not norm-gpu-runner %t.ptx --manifest=%t.wrong.json --rows=3 --kernel=rms_norm_bf16_h4096 | FileCheck %s --check-prefix=WRONG

// norm-gpu-runner's host side, run for real without a GPU: utils/fake-cuda
// is an emulated libcuda.so.1 whose "device" memory is host memory and
// whose cuLaunchKernel decodes the memref descriptors the runner packed,
// checks them against its allocations, and runs the kernel in the SIMT
// emulator with the runner's grid and block (the emulator refuses a block
// other than known_block_size). So the manifest, the buffer sizes, the
// kernel ABI, the poisoning, the float64 reference and the comparison are
// exercised here; the PTX/cubin and timing are not (runner.mlir does that
// on a GPU).

// CHECK: device: fake-cuda (kernels emulated on the CPU, not a GPU)
// CHECK-NOT: FAIL
// CHECK: PASS rms_norm_bf16_h4096 rows=5 out: rel_err={{.*}} unwritten_or_nan=0
// CHECK: PASS layer_norm_f16_h768 rows=5
// CHECK: PASS skip_rms_norm_f32_h100 rows=5 out: {{.*}} sum: rel_err={{.*}} unwritten_or_nan=0
// CHECK: PASS skip_layer_norm_bf16_h8192 rows=5
// CHECK: PASS rms_norm_bf16_h64 rows=5
// CHECK: PASS rms_scale_f16_h1024_n3072 rows=5 out: rel_err={{.*}} (tol 2e-03) unwritten_or_nan=0
// CHECK: PASS crms_norm_f16_h4095 rows=5 out: rel_err={{.*}} (tol 2e-03) unwritten_or_nan=0
// CHECK: 7 passed, 0 failed

// BENCH: "copy_gbps"
// BENCH: "kernel":"rms_scale_f16_h1024_n3072"
// BENCH-SAME: "median_us"
// BENCH-SAME: "pass":true

// The factors kernel writes one fp32 value per row, checked at fp32.
// FACTORS: PASS rms_scale_factors_f16_h1024 rows=3 out: rel_err={{.*}} (tol 1e-05) unwritten_or_nan=0

// The check fails when the kernel does not compute what the manifest says
// (here an RMSNorm checked as a LayerNorm): exit code 1.
// WRONG: FAIL rms_norm_bf16_h4096 rows=3 out: rel_err=
// WRONG: 0 passed, 1 failed

func.func @norms(%x: tensor<?x4096xbf16>, %g: tensor<4096xbf16>,
                 %h: tensor<?x768xf16>, %gh: tensor<768xf16>, %bh: tensor<768xf16>,
                 %n: tensor<?x100xf32>, %s: tensor<?x100xf32>, %gn: tensor<100xf32>,
                 %w: tensor<?x8192xbf16>, %sw: tensor<?x8192xbf16>, %gw: tensor<8192xbf16>, %bw: tensor<8192xbf16>,
                 %e: tensor<?x64xbf16>, %ge: tensor<64xf32>,
                 %v: tensor<?x3072xf16>, %i: tensor<?x1024xf16>,
                 %c: tensor<?x4095xf16>, %gc: tensor<4096xf16>, %bc: tensor<4096xf16>) {
  %0 = norm.rms_norm %x scale(%g : tensor<4096xbf16>) {epsilon = 1.0e-6 : f32} : tensor<?x4096xbf16> -> tensor<?x4096xbf16>
  %1 = norm.layer_norm %h scale(%gh : tensor<768xf16>) bias(%bh : tensor<768xf16>) : tensor<?x768xf16> -> tensor<?x768xf16>
  %2, %3 = norm.skip_rms_norm %n, %s scale(%gn : tensor<100xf32>) : tensor<?x100xf32>, tensor<?x100xf32> -> tensor<?x100xf32>, tensor<?x100xf32>
  %4, %5 = norm.skip_layer_norm %w, %sw scale(%gw : tensor<8192xbf16>) bias(%bw : tensor<8192xbf16>) skip_bias(%bw : tensor<8192xbf16>) : tensor<?x8192xbf16>, tensor<?x8192xbf16> -> tensor<?x8192xbf16>, tensor<?x8192xbf16>
  %6 = norm.rms_norm %e scale(%ge : tensor<64xf32>) {unit_offset} : tensor<?x64xbf16> -> tensor<?x64xbf16>
  %7 = norm.rms_scale %v by %i : tensor<?x3072xf16>, tensor<?x1024xf16> -> tensor<?x3072xf16>
  %8 = norm.crms_norm %c scale(%gc : tensor<4096xf16>) bias(%bc : tensor<4096xf16>) : tensor<?x4095xf16> -> tensor<?x4096xf16>
  return
}
