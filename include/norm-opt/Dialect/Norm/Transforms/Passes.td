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
      `Pow` or `Mul`; `Sqrt` (or `Pow(., 0.5)`) then `Div`, `Div(1, .)` or
      `Reciprocal`, or the inverse root `Pow(., -0.5)` then `Mul`; with or
      without `Cast` to fp32 around the statistics).

    A chain is replaced only when it provably computes the norm: the reduced
    axes are the trailing dims, epsilon and the exponents are constants (a
    root's exactly +-0.5), the weights fit the normalized dims, and no
    intermediate value is used outside the chain. Anything else is left as it
    is. Every recognized norm is recorded in the module's `norm.report`
    attribute (see docs/Report.md); so is, as `refused` with the reason and a
    remark, every chain left that has the shape of a norm (the root of a mean
    of squares, of squared centered values, or of `E[x^2] - E[x]^2`, plus
    something).

    A normalization node that cannot be valid (its scale does not fit the
    normalized shape) is an error.
  }];
  let dependentDialects = ["::mlir::norm::NormDialect"];
}

def NormFoldBatchNorm : Pass<"norm-fold-batchnorm", "ModuleOp"> {
  let summary = "Fold inference BatchNorms and PRepBN into the neighbouring linear layers";
  let description = [{
    An inference `norm.batch_norm` is the per-channel affine map (channel =
    dim 1) `x * a + b`, `a = scale / sqrt(var + epsilon)`,
    `b = bias - mean * a` (TRANSFORMS.md, section 4). SLAB's RepBN,
    `Add(BN(x), Mul(x, eta))` with a scalar constant `eta`, is the same map
    with `a + eta` and is treated as one unit. Each map disappears by the
    first rule that applies:

    1. backwards into the layer producing its input: `onnx.Conv` (grouped
       and depthwise too: output channel `o` is row `o` of the weight),
       `onnx.ConvTranspose` (weight `[C_in, C_out / group, k...]`: entry
       `[i, j]` feeds output channel `(i / (C_in / group)) * (C_out / group) + j`),
       `onnx.Gemm` / `onnx.MatMul` with a constant weight when the channel is
       the product's last dim; the channel axis is followed back through
       `Transpose`, `Reshape` and `Flatten` (also when a reshape splits or
       merges it with other dims: the map is expanded per index). Weights
       scale per output channel and `bias' = a * bias + b`. Every value on the
       way must have no other reader.
    2. forwards into the linear layers reading its output (the AffineFold
       rule of norm-fold-weights), following the channel axis through
       Transpose/Reshape/Flatten until it is the last dim: this is how the
       PRepBN form `Transpose -> BatchNormalization (+ eta x) -> Transpose`
       before the attention and MLP projections folds. A pair of inverse
       Transposes left around the removed map is removed too.
    3. otherwise one per-channel `onnx.Mul` + `onnx.Add` with constants of
       shape `[C, 1, ...]` (a remark and a `decomposed` report record say
       why neither side could take it).

    `BatchNormalization` nodes left as `onnx.node` by norm-recognize
    (`training_mode = 1`, `is_test = 0`, used running-statistics outputs,
    `spatial = 0`) are refused with the reason. All weight arithmetic is in
    float64, rounded once; new weights are new initializers and the old ones
    are erased when nothing reads them.
  }];
  let dependentDialects = ["::mlir::norm::NormDialect"];
}

def NormFoldWeights : Pass<"norm-fold-weights", "ModuleOp"> {
  let summary = "Fold the scale and bias of each norm into the linear layers that read it";
  let description = [{
    FlashNorm weight folding (TRANSFORMS.md, sections 1 and 3). For every
    `norm.layer_norm`, `norm.rms_norm`, `norm.skip_layer_norm` and
    `norm.skip_rms_norm` whose normalized output is read only by linear
    layers (`onnx.MatMul` with a constant right-hand side, possibly followed
    by a bias `onnx.Add`; `onnx.Gemm` with a constant `B`, `transB` 0 or 1,
    and an optional constant `C`), the gain `gamma` (`1 + w` for a Gemma
    `unit_offset` norm) and the shift `beta` are folded into every reader:
    `W' = diag(gamma) W`, `c' = c + beta W`. A reader without a bias gains
    one when `beta != 0`. The norm becomes weightless. Fused QKV, the gate
    and up projections of a GLU and the LM head after the final norm are
    all plain readers; a weight with another user (a tied embedding table)
    is cloned, never changed in place.

    The weight arithmetic is done in float64 and rounded once to the stored
    element type. For fp16/bf16 weights a warning (a warning diagnostic
    plus a `warning` record in the report; the fold is still done) is given
    when a folded value overflows or rounds with a relative error above the
    type's unit roundoff (2^-11 for fp16, 2^-8 for bf16), i.e. lands in the
    subnormal range or at zero.

    A norm is left unchanged, with the reason recorded in the report and
    emitted as a remark, when its output is a graph output, when any
    reader is not such a linear layer, when a weight is not a constant (or
    is an overridable graph input), or when its scale varies along a
    normalized dim other than the last. For the skip forms only the
    normalized output is considered; the residual sum is untouched.
  }];
  let dependentDialects = ["::mlir::norm::NormDialect"];
}

def NormDeferScale : Pass<"norm-defer-scale", "ModuleOp"> {
  let summary = "Defer the 1/RMS factor of weightless RMSNorms past the linear layers that read them";
  let description = [{
    FlashNorm deferred normalization (TRANSFORMS.md, section 3). For a
    weightless `norm.rms_norm` (run `--norm-fold-weights` first) whose
    every reader is a linear layer, `(x s(x)) W = (x W) s(x)` with
    `s(x) = 1/sqrt(mean(x^2) + epsilon)` one scalar per row: each reader
    reads the raw `x`, and a `norm.rms_scale` applies `s(x)` to its
    product, before its bias Add if it has one, so that a GPU lowering
    can put it in the matmul epilogue and run the reduction beside the
    matmul. The norm op disappears.

    A weightless `norm.skip_rms_norm` normalizes its residual sum
    `(input + skip) + skip_bias` the same way: the sum becomes those
    `onnx.Add`s (under the op's sum name), which the residual stream and
    the linear readers read, and each product gets `s(sum)`. Refused when a
    skip bias meets a 16-bit type (two Adds would round twice where the op
    rounds its fp32 sum once).

    SwiGLU rule: a reader whose product is only multiplied elementwise
    (`onnx.Mul` with an operand of the same type) into a value read only by
    another linear layer (the down projection) gets its scale after that
    layer instead: a per-row scalar commutes with both. The gate's product
    also feeds the activation, so its scale stays before it.

    Refused (remark and report) when a reader is not a linear layer, a
    Gemm reader has a bias `C` (the scale would have to come before it),
    the norm still has a scale, or its normalized output is a graph output.
    The
    rewrite is exact in real arithmetic; in fp32 the result differs by
    rounding only.

    With `cancel-before-rms-norm`, a reader whose bias-free product is read
    only by another `norm.rms_norm` (normalizing over the product's last
    dim) gets no scale at all: the second norm removes any per-row factor,
    up to its epsilon. This is NOT exact: with `c = s(x)`,
    `m = mean((x W)^2)` and `e` the second norm's epsilon, the relative
    error of the second norm's output is
    `|sqrt((m + e/c^2) / (m + e)) - 1| <= e * |mean(x^2) + eps_1 - 1| / (2 m)`,
    of the order of `e` (about 1e-6) when `mean(x^2)` and `m` are of order
    one. Off by default.
  }];
  let options = [
    Option<"cancelBeforeRMSNorm", "cancel-before-rms-norm", "bool",
           /*default=*/"false",
           "Drop the deferred scale of a product that only feeds another "
           "RMSNorm (approximate: see the error bound above)">,
  ];
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

def NormInstrumentStats : Pass<"norm-instrument-stats", "ModuleOp"> {
  let summary = "Add graph outputs with the per-token statistic of every norm, for calibration";
  let description = [{
    For every `norm.layer_norm` and `norm.rms_norm` over the last dim, adds
    one graph output named `norm_stats:<norm name>` (the name the report
    uses) holding, per token, the quantity under the norm's root: the
    variance over the hidden dim for a LayerNorm, the mean square for an
    RMSNorm (`ReduceMean` with keepdims, computed in fp32 even for
    fp16/bf16 activations). The norms and every other output are left as
    they are, so the instrumented model computes what the original does.

    Running the result in onnxruntime on sample inputs gives everything
    `norm-remove-ln` needs: each token's std is `sqrt(statistic + eps)`;
    the first position (dim -2) is kept apart because in many causal LMs it
    carries an outlier norm. `python3 -m norm_opt remove-ln` and
    `norm_opt.remove_layernorm` do this and write the statistics file
    (docs/LNRemoval.md).

    Norms over more than the last dim are refused (remark and report).
  }];
  let dependentDialects = ["::mlir::norm::NormDialect", "::mlir::onnxir::ONNXDialect"];
}

def NormRemoveLN : Pass<"norm-remove-ln", "ModuleOp"> {
  let summary = "Remove LayerNorms and RMSNorms whose epsilon dominates, or chosen calibrated ones";
  let description = [{
    LayerNorm removal (TRANSFORMS.md, section 5). A norm `n(x) = c(x) /
    sqrt(s(x) + eps) * gamma + beta` (`c(x) = x - mean(x)` and `s` the
    variance for a LayerNorm, `c(x) = x` and `s` the mean square for an
    RMSNorm) is replaced by the affine map `c(x) / sigma * gamma + beta`:

    - **epsilon dominates** (LN-free checkpoints ship LayerNorms with
      `eps = 1e12` and `gamma * 1e6 / sigma`): with `sigma = sqrt(eps)`,
      `sqrt(s + eps) / sigma - 1 <= s / (2 eps)`, so the normalized value
      changes by a relative error of at most `tolerance` (default 1e-5)
      whenever `s <= 2 * tolerance * eps`. Without statistics this is
      applied only when it holds for every finite activation of the input's
      type: `s <= max^2`, so an fp16 input needs
      `eps >= 65504^2 / (2 * tolerance)` (2.15e14 at 1e-5); fp32 and bf16
      activations are unbounded for this purpose. With statistics, it is
      applied when the calibrated maximum of `s` satisfies the bound.
    - **calibrated** (an ordinary model): a site marked `"remove": true` in
      the statistics file is replaced with `sigma` = the mean per-token
      std `sqrt(s + eps)` over the calibration tokens, the first position
      excluded; when the file gives the first position's own std and the
      position dim (-2) is static, one `Mul` by `[sigma / first_std, 1,
      ..., 1]` divides the first position by that instead. This is an
      approximation; its measured error is what the statistics file says
      (norm_opt.remove_layernorm measures it on held-out inputs).

    Nothing of a removed norm is left: the map folds into the linear layers
    that read the norm (AffineFold: `W' = P diag(gamma / sigma) W`,
    `c' = c + beta W`, `P = I - 11^T/d` the centering, all in float64 and
    rounded once). When a reader is not a linear layer, an RMSNorm (or a
    LayerNorm made one by `norm-pre-ln-to-rms`, which centers the writers)
    becomes one `Mul` (and `Add` for a bias), recorded as `removed` with
    that said; a LayerNorm's centering cannot be expressed that way, and the
    site is refused. Every removed site is recorded as `removed` with its
    sigma and its bound or measured error.

    Refused (remark and report): epsilon too small for the bound (no
    statistics, or the calibrated statistic exceeds it) and no calibrated
    removal asked for; no statistics for a site the type bound does not
    cover; a site the statistics file says to keep; a norm over more than
    the last dim, or with non-constant weights; a LayerNorm whose readers
    are not all linear layers. A statistics file that cannot be read or
    does not follow the format is an error.
  }];
  let options = [
    Option<"statsFile", "stats", "std::string", /*default=*/"\"\"",
           "Statistics file (JSON, docs/LNRemoval.md) written by "
           "`python3 -m norm_opt remove-ln`">,
    Option<"tolerance", "tolerance", "double", /*default=*/"1e-5",
           "Relative error of the normalized value allowed for an "
           "epsilon-dominated removal">,
  ];
  let dependentDialects = ["::mlir::norm::NormDialect", "::mlir::onnxir::ONNXDialect"];
}

#endif
