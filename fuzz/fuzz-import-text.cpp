//===- fuzz-import-text.cpp - fuzz the ONNX text-format importer ----------===//
#include "FuzzCommon.h"

#include "mlir/IR/Verifier.h"

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  DialectRegistry registry;
  onnxir::registerONNXImportDialects(registry);
  normopt::fuzz::FuzzContext fuzz(registry);
  OwningOpRef<ModuleOp> module = onnxir::importONNXBytes(
      StringRef(reinterpret_cast<const char *>(data), size),
      normopt::fuzz::kTextPath, &fuzz.context);
  if (module && failed(verify(*module)))
    __builtin_trap();
  return 0;
}
