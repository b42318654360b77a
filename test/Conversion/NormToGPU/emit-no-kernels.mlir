// RUN: not norm-opt %s --emit=ptx -o %t.ptx 2>&1 | FileCheck %s
// RUN: not ls %t.ptx

// Nothing to compile: every norm was refused. norm-opt says so, exits
// non-zero and writes no output file.

// CHECK: norm-opt: remark: {{.*}}convert-norm-to-gpu: left unchanged: dynamic hidden size
// CHECK: norm-opt: error: {{.*}}no norm was lowered to a GPU kernel (the report and --summary say why)
func.func @dynamic(%x: tensor<4x?xf32>) -> tensor<4x?xf32> {
  %y = norm.rms_norm %x : tensor<4x?xf32> -> tensor<4x?xf32>
  return %y : tensor<4x?xf32>
}
