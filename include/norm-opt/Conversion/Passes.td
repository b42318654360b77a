//===- Passes.td - conversion passes ------------------------*- tablegen -*-===//
#ifndef NORM_OPT_CONVERSION_PASSES_TD
#define NORM_OPT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertNormToONNX : Pass<"convert-norm-to-onnx", "ModuleOp"> {
  let summary = "Express norm ops in standard ONNX ops for the model's opset";
  let description = [{
    Run by the exporter before writing a model; also usable on its own.

    - `norm.layer_norm` -> `LayerNormalization` at opset >= 17, else the
      decomposition `ReduceMean, Sub, Pow(2), ReduceMean, Add, Sqrt, Div, Mul,
      Add` (statistics in fp32: fp16/bf16 inputs are cast around them);
    - `norm.rms_norm` -> `RMSNormalization` at opset >= 23, else
      `Pow(2), ReduceMean, Add, Sqrt, Div, Mul` (docs/Rationale.md says why
      this form and not onnxruntime's `SimplifiedLayerNormalization`, and why
      the square is a `Pow`: it is the spelling onnxruntime fuses);
    - `norm.batch_norm` -> `BatchNormalization`;
    - `norm.skip_layer_norm` / `norm.skip_rms_norm` -> `com.microsoft`
      `SkipLayerNormalization` / `SkipSimplifiedLayerNormalization`.

    A weightless norm gets an all-ones scale where the ONNX op requires one.
    Node names derive from the norm's name; the final node keeps the norm's
    output name.
  }];
  let dependentDialects = ["::mlir::onnxir::ONNXDialect"];
}

#endif
