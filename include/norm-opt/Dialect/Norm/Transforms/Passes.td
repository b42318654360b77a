//===- Passes.td - norm dialect passes ----------------------*- tablegen -*-===//
#ifndef NORM_OPT_DIALECT_NORM_TRANSFORMS_PASSES_TD
#define NORM_OPT_DIALECT_NORM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def NormRecognize : Pass<"norm-recognize", "ModuleOp"> {
  let summary = "Recognize normalization layers in an imported ONNX graph";
  let description = [{
    Replaces ONNX normalization nodes and the decomposed chains real
    exporters emit with `norm` ops:

    - `LayerNormalization` (opset 17+) -> `norm.layer_norm`;
    - `RMSNormalization` (opset 23) and `SimplifiedLayerNormalization` (in
      the default or `com.microsoft` domain) -> `norm.rms_norm`;
    - `BatchNormalization` in inference mode -> `norm.batch_norm`;
    - `com.microsoft` `SkipLayerNormalization` / `SkipSimplifiedLayerNormalization`
      -> `norm.skip_layer_norm` / `norm.skip_rms_norm`;
    - decomposed LayerNorm (PyTorch opset 13/14 export; the ONNX function
      body with `var = E[x^2] - E[x]^2`) and decomposed RMSNorm (square by
      `Pow` or `Mul`; `Sqrt` then `Div`, `Div(1, .)` or `Reciprocal`; with or
      without `Cast` to fp32 around the statistics).

    A chain is replaced only when it provably computes the norm: the reduced
    axes are the trailing dims, epsilon is a constant, the weights fit the
    normalized dims, and no intermediate value is used outside the chain.
    Anything else is left as it is. Every recognized norm is recorded in the
    module's `norm.report` attribute (see docs/Report.md).

    A normalization node that cannot be valid (its scale does not fit the
    normalized shape) is an error.
  }];
  let dependentDialects = ["::mlir::norm::NormDialect"];
}

#endif
