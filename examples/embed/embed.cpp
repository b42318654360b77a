//===- embed.cpp - norm-opt as a library ----------------------------------===//
//
// Optimizes the norms of an ONNX model from C++: import, recognize (plus any
// passes of your own), print the report, export. Built as
// norm-opt-embed-example; the README walks through it.
//
//===----------------------------------------------------------------------===//
#include "norm-opt/Dialect/Norm/Transforms/Passes.h"
#include "norm-opt/Dialect/Norm/Transforms/Report.h"
#include "norm-opt/Target/ONNX/ONNXExport.h"
#include "norm-opt/Target/ONNX/ONNXImport.h"
#include "norm-opt/Tools/NormOptMain.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  if (argc != 3)
    return llvm::errs() << "usage: " << argv[0] << " in.onnx out.onnx\n", 2;
  mlir::DialectRegistry registry;
  mlir::registerNormOptDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();

  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::onnxir::importONNXFile(argv[1], &context);
  if (!module)
    return 1; // the diagnostic has been printed
  mlir::PassManager pm(&context);
  pm.addPass(mlir::norm::createNormRecognize());
  // ... add your own passes or pipeline here ...
  if (mlir::failed(pm.run(*module)))
    return 1;
  llvm::json::Value report(mlir::norm::buildReport(*module));
  llvm::outs() << llvm::formatv("{0:2}", report) << "\n";
  return mlir::failed(mlir::onnxir::exportONNXFile(*module, argv[2])) ? 1 : 0;
}
