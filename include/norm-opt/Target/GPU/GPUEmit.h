//===- GPUEmit.h - norm kernels to PTX / cubin -------------------*- C++ -*-===//
//
// The back half of `norm-opt --emit=ptx|cubin`: takes a module on which
// convert-norm-to-gpu has run, lowers its `gpu.module @norm_kernels` and the
// host launchers with MLIR's gpu-lower-to-nvvm pipeline and returns the PTX
// or cubin, plus a JSON manifest of the kernels for the runner.
//
//===----------------------------------------------------------------------===//
#ifndef NORM_OPT_TARGET_GPU_GPUEMIT_H
#define NORM_OPT_TARGET_GPU_GPUEMIT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"

#include <string>

namespace mlir {
class DialectRegistry;

namespace norm {

/// Registers the dialects, dialect extensions (to-LLVM conversion
/// interfaces), LLVM IR translations and the NVVM target that the NVVM
/// pipeline needs.
void registerGPUEmitDialects(DialectRegistry &registry);

/// What emitGPUKernels returns: a stage of the lowering.
enum class GPUEmitStage {
  /// The kernels and launchers as they enter the NVVM pipeline (gpu
  /// dialect, subgroup reductions expanded to shuffles), as MLIR text.
  KernelsMLIR,
  /// The same just before serialization: kernels in the LLVM and NVVM
  /// dialects, launchers lowered to LLVM calls, as MLIR text.
  NVVMMLIR,
  PTX,
  Cubin,
};

struct GPUEmitOptions {
  std::string chip = "sm_90";
  /// PTX ISA version: sm_90 needs +ptx80 or later (the upstream default
  /// +ptx60 aborts in ptxas).
  std::string features = "+ptx80";
  GPUEmitStage stage = GPUEmitStage::PTX;
};

/// Lowers the kernels of `module` (left untouched) to the requested stage.
/// The pass manager takes the command-line pass manager options (IR
/// printing, timing) when they are registered. Fails with a diagnostic
/// when there is no kernel or lowering fails.
FailureOr<std::string> emitGPUKernels(ModuleOp module, const GPUEmitOptions &options);

/// What the runner needs to launch each kernel: name, kind, element types,
/// hidden size, epsilon, launch shape and argument list (docs/GPU.md).
llvm::json::Object describeGPUKernels(ModuleOp module, const GPUEmitOptions &options);

} // namespace norm
} // namespace mlir

#endif
