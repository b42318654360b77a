//===- Pipelines.cpp - the default norm-opt pipeline ----------------------===//
#include "norm-opt/Dialect/Norm/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

void mlir::norm::buildNormOptimizePipeline(OpPassManager &pm) {
  // Recognition is idempotent: on an ONNX input the driver has already run
  // it, and it finds nothing more then.
  pm.addPass(createNormRecognize());
  // Pre-LN -> Pre-RMSNorm goes here too, before weight folding: these
  // rewrites change which norms exist and what their weights are.
  pm.addPass(createNormFoldBatchNorm());
  pm.addPass(createNormFoldWeights());
}

void mlir::norm::registerNormOptimizePipeline() {
  PassPipelineRegistration<>(
      "norm-optimize",
      "Every exact norm rewrite in order: recognize the norms, fold the "
      "BatchNorms into their neighbours, then fold the other norms' weights "
      "into the linear layers that read them",
      buildNormOptimizePipeline);
}
