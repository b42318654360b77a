//===- NormOptMain.h - the norm-opt driver ----------------------*- C++ -*-===//
#ifndef NORM_OPT_TOOLS_NORMOPTMAIN_H
#define NORM_OPT_TOOLS_NORMOPTMAIN_H

namespace mlir {
class DialectRegistry;

/// Registers every dialect and pass norm-opt knows.
void registerNormOptDialects(DialectRegistry &registry);
void registerNormOptPasses();

/// The norm-opt command line: mlir-opt's flags and passes, plus ONNX files in
/// and out and a JSON report. Returns the process exit code.
int normOptMain(int argc, char **argv);

} // namespace mlir

#endif
