//===- norm-opt.cpp - the norm-opt tool -----------------------------------===//
#include "norm-opt/Tools/NormOptMain.h"

int main(int argc, char **argv) { return mlir::normOptMain(argc, argv); }
