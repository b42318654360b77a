// RUN: norm-opt %s --convert-norm-to-gpu 2>&1 | FileCheck %s
// RUN: norm-opt %s --convert-norm-to-gpu="max-elements-per-thread=8" 2>&1 | FileCheck %s --check-prefix=NARROW
// RUN: norm-opt %s --convert-norm-to-gpu="warp-row-limit=256 threads-per-row=64 rows-per-block=8" 2>&1 | FileCheck %s --check-prefix=OPTS
// RUN: not norm-opt %s --convert-norm-to-gpu="threads-per-row=48" 2>&1 | FileCheck %s --check-prefix=BADOPT
// RUN: not norm-opt %s --convert-norm-to-gpu="deferred-scale=epilogue" 2>&1 | FileCheck %s --check-prefix=BADSCALE

// The launch shape follows the row size and the pass options; rows that
// would not stay in registers are refused.

// 65536 fp32 elements need 64 per thread even with 1024 threads, which
// leaves them 64 registers each: refused (it would spill).
// CHECK: remark: convert-norm-to-gpu: left unchanged: a row of 65536 elements needs about 80 registers per thread (64 elements per thread), not below the 64 a block of 1024 threads gets: it would spill to local memory

// 16384 fp32 elements: 1024 threads with 16 each; with at most 8 elements
// per thread, refused.
// CHECK-LABEL: gpu.func @rms_norm_f32_h16384
// CHECK-SAME: known_block_size = array<i32: 1024, 1, 1>
// CHECK-SAME: norm.elements_per_thread = 16
// CHECK-SAME: norm.threads_per_row = 1024
// NARROW: remark: convert-norm-to-gpu: left unchanged: a row of 16384 elements needs 16 elements per thread with 1024 threads, more than the 8 kept in registers (max-elements-per-thread)
// NARROW: remark: convert-norm-to-gpu: left unchanged: a row of 512 elements needs 16 elements per thread with 32 threads
// NARROW-NOT: gpu.func @rms_norm_f32_h16384
// NARROW-NOT: gpu.func @rms_norm_f32_h512
// NARROW: gpu.func @rms_norm_f32_h128

// 512 elements: one warp per row by default, a block of 64 threads when
// the warp limit is 256.
// CHECK-LABEL: gpu.func @rms_norm_f32_h512
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-SAME: norm.rows_per_block = 4
// CHECK-SAME: norm.threads_per_row = 32
// OPTS-LABEL: gpu.func @rms_norm_f32_h512
// OPTS-SAME: known_block_size = array<i32: 64, 1, 1>
// OPTS-SAME: norm.elements_per_thread = 8
// OPTS-SAME: norm.rows_per_block = 1
// OPTS-SAME: norm.threads_per_row = 64
// OPTS-LABEL: gpu.func @rms_norm_f32_h128
// OPTS-SAME: known_block_size = array<i32: 256, 1, 1>
// OPTS-SAME: norm.rows_per_block = 8
// OPTS-SAME: norm.threads_per_row = 32

// BADOPT: error: threads-per-row must be 0 or a multiple of 32 in [64, 1024]
// BADSCALE: error: deferred-scale must be fused or factors
func.func @rows(%w: tensor<2x65536xf32>, %a: tensor<2x16384xf32>, %b: tensor<2x512xf32>, %c: tensor<2x128xf32>) -> (tensor<2x65536xf32>, tensor<2x16384xf32>, tensor<2x512xf32>, tensor<2x128xf32>) {
  %v = norm.rms_norm %w : tensor<2x65536xf32> -> tensor<2x65536xf32>
  %x = norm.rms_norm %a : tensor<2x16384xf32> -> tensor<2x16384xf32>
  %y = norm.rms_norm %b : tensor<2x512xf32> -> tensor<2x512xf32>
  %z = norm.rms_norm %c : tensor<2x128xf32> -> tensor<2x128xf32>
  return %v, %x, %y, %z : tensor<2x65536xf32>, tensor<2x16384xf32>, tensor<2x512xf32>, tensor<2x128xf32>
}
