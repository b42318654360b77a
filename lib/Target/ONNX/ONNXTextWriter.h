//===- ONNXTextWriter.h - ONNX text format that reads back ------*- C++ -*-===//
#ifndef NORM_OPT_LIB_TARGET_ONNX_ONNXTEXTWRITER_H
#define NORM_OPT_LIB_TARGET_ONNX_ONNXTEXTWRITER_H

#include "llvm/Support/Error.h"

#include <onnx/onnx_pb.h>
#include <string>

namespace mlir::onnxir {

/// `model` in the ONNX text format (onnx/defs/parser.h), initializers
/// included (ONNX 1.12's printer drops them and prints floats with 6
/// digits). The text is read back and compared with `model`: what the
/// format cannot hold exactly (16-bit floats, NaN, names the parser rejects,
/// subgraph initializers, ...) is an error saying what, never a lossy file.
llvm::Expected<std::string> printONNXText(const onnx::ModelProto &model);

/// Parses ONNX text into `model`; returns the parser's message on one line,
/// or "" on success. Never throws (ONNX 1.12's parser calls std::stof).
std::string parseONNXText(const std::string &text, onnx::ModelProto &model);

} // namespace mlir::onnxir

#endif
