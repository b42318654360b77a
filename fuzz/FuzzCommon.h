//===- FuzzCommon.h - shared set-up of the libFuzzer harnesses --*- C++ -*-===//
//
// Every harness imports one input in a fresh single-threaded context whose
// diagnostics are dropped (a rejected input is a correct outcome; only a
// crash, a sanitizer report or a leak is a finding).
//
//===----------------------------------------------------------------------===//
#ifndef NORM_OPT_FUZZ_FUZZCOMMON_H
#define NORM_OPT_FUZZ_FUZZCOMMON_H

#include "norm-opt/Target/ONNX/ONNXImport.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

namespace normopt::fuzz {

/// The model's path in diagnostics; its folder does not exist, so external
/// data never resolves to a real file.
inline constexpr const char *kBinaryPath = "/nonexistent-norm-opt-fuzz/model.onnx";
inline constexpr const char *kTextPath = "/nonexistent-norm-opt-fuzz/model.onnxtxt";

struct FuzzContext {
  explicit FuzzContext(const mlir::DialectRegistry &registry)
      : context(registry, mlir::MLIRContext::Threading::DISABLED),
        handler(&context, [](mlir::Diagnostic &) { return mlir::success(); }) {
    context.loadAllAvailableDialects();
  }
  mlir::MLIRContext context;
  mlir::ScopedDiagnosticHandler handler;
};

/// Imports one input with the ONNX dialects: what the importer accepts must
/// be valid IR.
inline int fuzzImport(const uint8_t *data, size_t size, const char *path) {
  mlir::DialectRegistry registry;
  mlir::onnxir::registerONNXImportDialects(registry);
  FuzzContext fuzz(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::onnxir::importONNXBytes(
      llvm::StringRef(reinterpret_cast<const char *>(data), size), path, &fuzz.context);
  if (module && mlir::failed(mlir::verify(*module)))
    __builtin_trap();
  return 0;
}

} // namespace normopt::fuzz

#endif
