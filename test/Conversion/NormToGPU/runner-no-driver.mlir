// UNSUPPORTED: cuda-device
// REQUIRES: ptxas
// RUN: norm-opt %s --emit=cubin -o %t.cubin --gpu-manifest=%t.cubin.json
// RUN: not norm-gpu-runner %t.cubin 2>&1 | FileCheck %s
// RUN: not norm-gpu-runner %t.cubin --manifest=%t.missing.json 2>&1 | FileCheck %s --check-prefix=MANIFEST

// Without a CUDA driver (CI, this machine) the runner builds and fails with
// a clear message and exit code 2 instead of crashing. runner.mlir runs the
// kernels where a GPU is present.

// CHECK: norm-gpu-runner: error: cannot load the CUDA driver (libcuda.so.1): {{.*}}running kernels needs a machine with an NVIDIA GPU and driver
// MANIFEST: norm-gpu-runner: error: {{.*}}missing.json: No such file or directory
func.func @rms(%x: tensor<?x1024xf32>, %g: tensor<1024xf32>) -> tensor<?x1024xf32> {
  %y = norm.rms_norm %x scale(%g : tensor<1024xf32>) : tensor<?x1024xf32> -> tensor<?x1024xf32>
  return %y : tensor<?x1024xf32>
}
