// RUN: norm-opt %S/Inputs/norm-matrix.mlir --mlir-print-op-generic -o %t.mlir \
// RUN:   --pass-pipeline="builtin.module(convert-norm-to-gpu,gpu.module(norm-lower-subgroup-reduce))"
// RUN: %python %norm_opt_src_root/utils/emulate_gpu_kernels.py %t.mlir --rows=5 --rows=1 | FileCheck %s
// RUN: norm-opt %S/Inputs/norm-matrix.mlir --mlir-print-op-generic -o %t.factors.mlir \
// RUN:   --pass-pipeline="builtin.module(convert-norm-to-gpu{deferred-scale=factors},gpu.module(norm-lower-subgroup-reduce))"
// RUN: %python %norm_opt_src_root/utils/emulate_gpu_kernels.py %t.factors.mlir --rows=5 | FileCheck %s --check-prefix=FACTORS

// CI has no GPU: the kernels of Inputs/norm-matrix.mlir run in the SIMT
// emulator (utils/emulate_gpu_kernels.py) after the subgroup reductions
// became butterfly shuffles, on random inputs, against a float64 reference
// (outputs poisoned first; bounds, double writes, shuffles with inactive
// lanes and workgroup races are errors). 5 rows leave a partial last block
// for the warp-per-row kernels.

// CHECK-NOT: FAIL
// CHECK: PASS rms_norm_f32_h64 rows=5 out: rel_err={{.*}} (tol 1e-05) unwritten_or_nan=0
// CHECK: PASS skip_layer_norm_bf16_h8192 rows=5 out: rel_err={{.*}} (tol 1e-02) unwritten_or_nan=0 sum: rel_err={{.*}} unwritten_or_nan=0
// CHECK-NOT: FAIL
// CHECK: PASS rms_scale_bf16_h4096_n11008 rows=5 out: rel_err={{.*}} (tol 1e-02) unwritten_or_nan=0
// CHECK-NOT: FAIL
// CHECK: PASS crms_norm_bf16_h4095 rows=5 out: rel_err={{.*}} (tol 1e-02) unwritten_or_nan=0
// CHECK-NOT: FAIL
// CHECK: 222 passed, 0 failed

// The rms_scale kernels that write only the per-row factors (for a matmul
// epilogue), checked in fp32 whatever the input type.
// FACTORS-NOT: FAIL
// FACTORS: PASS rms_scale_factors_bf16_h4096 rows=5 out: rel_err={{.*}} (tol 1e-05) unwritten_or_nan=0
// FACTORS: 111 passed, 0 failed
