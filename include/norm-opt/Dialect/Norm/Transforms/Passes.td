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

def NormPreLNToRMS : Pass<"norm-pre-ln-to-rms", "ModuleOp"> {
  let summary = "Turn the LayerNorms of a Pre-LN residual stream into RMSNorms, exactly";
  let description = [{
    In a Pre-LN transformer the residual stream is read only through
    LayerNorms, and a LayerNorm ignores any constant added to its input
    (Jiang et al., NeurIPS 2023; docs/Rationale.md). The pass finds each
    residual stream (the values joined by `Add`s that LayerNorms read) and
    proves, for the whole stream:

    - every reader of a stream value is a LayerNorm over the last (hidden)
      dim or another `Add` of the stream;
    - every writer into it is an affine map that can be centered: a
      `MatMul` or `Gemm` with a constant weight (attention output, FFN down
      projection), a `Gather` from a constant table (token and position
      embeddings), or a constant (a bias, a learned position table).

    It then centers every writer over the hidden dim in float64, rounded
    once (`W' = W (I - 11^T/d)`, `c' = c - mean(c)`, each embedding row minus
    its mean; a weight with other users, such as a tied LM head, is cloned
    first and never changed in place) and replaces every LayerNorm of the
    stream, the final one too, with `norm.rms_norm` with the same epsilon,
    scale and bias. Every LayerNorm input is then zero-mean, so
    `var(x) = mean(x^2)` and the result is exact in real arithmetic.

    A stream it cannot prove is left unchanged, and each of its LayerNorms
    is reported as refused with the reason (also emitted as a remark):
    a Post-LN block (a norm output writes into the stream), sandwich norms,
    a non-affine writer, a reader that is not a LayerNorm, a stream value
    that is a graph output, a stream that starts at a graph input.

    With `compress=true` (CRMSNorm), a zero-mean `d`-vector being fixed by
    its first `d - 1` entries, every writer also drops its last hidden entry
    (a weight's last output column, a table's last column, a conv's last
    output channel), the residual stream shrinks to `d - 1` entries, the
    shape constants of Reshapes and Expands on it follow, and each
    LayerNorm becomes `norm.crms_norm`, which restores the `d`-th entry as
    minus the sum of the others. Streams whose shape is read (`Shape`,
    `Size`) or whose shapes are not static are refused in this mode.
  }];
  let options = [
    Option<"compress", "compress", "bool", /*default=*/"false",
           "Shrink the residual stream to d-1 entries (CRMSNorm)">
  ];
  let dependentDialects = ["::mlir::norm::NormDialect", "::mlir::onnxir::ONNXDialect"];
}

#endif
