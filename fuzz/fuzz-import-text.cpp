//===- fuzz-import-text.cpp - fuzz the ONNX text-format importer ----------===//
#include "FuzzCommon.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return normopt::fuzz::fuzzImport(data, size, normopt::fuzz::kTextPath);
}
