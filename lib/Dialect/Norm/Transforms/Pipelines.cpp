//===- Pipelines.cpp - the default norm-opt pipeline ----------------------===//
#include "norm-opt/Dialect/Norm/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

void mlir::norm::buildNormOptimizePipeline(OpPassManager &pm) {
  // Recognition is idempotent: on an ONNX input the driver has already run
  // it, and it finds nothing more then.
  pm.addPass(createNormRecognize());
  // Before weight folding: these rewrites change which norms exist and what
  // their weights are. Pre-LN -> RMSNorm leaves every norm's scale and bias
  // in place for the fold.
  pm.addPass(createNormPreLNToRMS());
  pm.addPass(createNormFoldBatchNorm());
  pm.addPass(createNormFoldWeights());
}

void mlir::norm::registerNormOptimizePipeline() {
  PassPipelineRegistration<>(
      "norm-optimize",
      "Every exact norm rewrite in order: recognize the norms, turn Pre-LN "
      "LayerNorms into RMSNorms, fold the BatchNorms into their neighbours, "
      "then fold the other norms' weights into the linear layers that read "
      "them",
      buildNormOptimizePipeline);
}
