//===- NormOptPlugin.cpp - norm-opt as an mlir-opt plugin -----------------===//
//
// Loaded by any MLIR 22 tool built on MlirOptMain (mlir-opt-22 included):
//
//   mlir-opt-22 --load-dialect-plugin=NormOptPlugin.so \
//               --load-pass-plugin=NormOptPlugin.so \
//               --pass-pipeline='builtin.module(norm-optimize)' in.mlir
//
// The plugin holds norm-opt's own code only: MLIR and LLVM come from the
// host's shared libMLIR/libLLVM, so dialects such as func have one TypeID
// on both sides. Hence it must be loaded by a tool linked against the same
// shared libraries (Debian's mlir-opt-22 is).
//
//===----------------------------------------------------------------------===//

#include "norm-opt/Conversion/Passes.h"
#include "norm-opt/Dialect/Norm/IR/NormDialect.h"
#include "norm-opt/Dialect/Norm/Transforms/Passes.h"
#include "norm-opt/Dialect/ONNX/IR/ONNXDialect.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Compiler.h"

using namespace mlir;

/// Registers norm-opt's passes and the norm-optimize pipeline. Both plugin
/// entry points call it (a user may load the file either way or both ways),
/// and a pipeline must not be registered twice.
static void registerPasses() {
  static bool registered = [] {
    norm::registerNormPasses();
    norm::registerNormOptimizePipeline();
    registerConversionPasses();
    return true;
  }();
  (void)registered;
}

extern "C" LLVM_ATTRIBUTE_WEAK DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "NormOpt", LLVM_VERSION_STRING,
          [](DialectRegistry *registry) {
            registry->insert<norm::NormDialect, onnxir::ONNXDialect>();
            // So that --load-dialect-plugin alone suffices, as upstream's
            // standalone plugin does.
            registerPasses();
          }};
}

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "NormOptPasses", LLVM_VERSION_STRING,
          registerPasses};
}
