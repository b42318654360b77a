//===- RecognizeDecomposedNorms.cpp - decomposed norm chains -> norm ops --===//
#include "RecognizeNorms.h"

using namespace mlir;

void mlir::norm::populateDecomposedNormPatterns(RewritePatternSet &patterns) {
  // TODO(in progress): chain patterns.
}
