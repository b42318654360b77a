//===- fuzz-import-binary.cpp - fuzz the binary ONNX importer -------------===//
#include "FuzzCommon.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return normopt::fuzz::fuzzImport(data, size, normopt::fuzz::kBinaryPath);
}
