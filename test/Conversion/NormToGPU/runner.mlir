// REQUIRES: cuda-device, ptxas
// RUN: norm-opt %S/Inputs/norm-matrix.mlir --emit=cubin -o %t.cubin --gpu-manifest=%t.cubin.json
// RUN: norm-gpu-runner %t.cubin --rows=1000 | FileCheck %s
// RUN: norm-gpu-runner %t.cubin --rows=3 | FileCheck %s

// On a machine with an NVIDIA GPU: every kernel of Inputs/norm-matrix.mlir,
// with a partial last block at 1000 and 3 rows, checked against a float64
// reference with poisoned outputs. Skipped (UNSUPPORTED) where no GPU is
// present, as in CI; emulate.mlir checks the same kernels on the CPU.

// CHECK: device:
// CHECK-NOT: FAIL
// CHECK: 111 passed, 0 failed
