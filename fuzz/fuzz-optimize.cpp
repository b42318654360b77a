//===- fuzz-optimize.cpp - fuzz import + --norm-optimize + export ---------===//
//
// The whole norm-opt flow on one binary model: import, recognition and the
// norm-optimize pipeline, then export to memory (binary, then text).
//
//===----------------------------------------------------------------------===//
#include "FuzzCommon.h"

#include "norm-opt/Dialect/Norm/IR/NormOps.h"
#include "norm-opt/Dialect/Norm/Transforms/Passes.h"
#include "norm-opt/Target/ONNX/ONNXExport.h"

#include "mlir/Pass/PassManager.h"

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  DialectRegistry registry;
  onnxir::registerONNXImportDialects(registry);
  registry.insert<norm::NormDialect>();
  normopt::fuzz::FuzzContext fuzz(registry);
  OwningOpRef<ModuleOp> module = onnxir::importONNXBytes(
      StringRef(reinterpret_cast<const char *>(data), size),
      normopt::fuzz::kBinaryPath, &fuzz.context);
  if (!module)
    return 0;
  PassManager pm(&fuzz.context);
  norm::buildNormOptimizePipeline(pm);
  if (failed(pm.run(*module)))
    return 0;
  std::string bytes;
  llvm::raw_string_ostream os(bytes);
  if (failed(onnxir::exportONNX(*module, os)))
    return 0;
  onnxir::ExportOptions text;
  text.textFormat = true;
  std::string printed;
  llvm::raw_string_ostream textOs(printed);
  (void)onnxir::exportONNX(*module, textOs, text);
  return 0;
}
