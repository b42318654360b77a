//===- NormOps.td - The normalization dialect ---------------*- tablegen -*-===//
//
// Normalization layers as single ops, so that passes can reason about them
// (prove a rewrite legal, fold their affine part, lower them to one kernel)
// instead of rediscovering decomposed chains. Semantics follow the ONNX
// operators they come from; docs/Rationale.md states the numerics policy:
// statistics are computed in at least fp32, whatever the activation type.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_OPT_DIALECT_NORM_IR_NORMOPS_TD
#define NORM_OPT_DIALECT_NORM_IR_NORMOPS_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Norm_Dialect : Dialect {
  let name = "norm";
  let cppNamespace = "::mlir::norm";
  let summary = "Normalization layers (LayerNorm, RMSNorm, BatchNorm, fused residual forms)";
  let description = [{
    Ops for the normalization layers of transformer and CNN models. Each op
    computes its statistics in fp32 (or wider) whatever its element type.
    Optional affine operands are absent after their weights have been folded
    into the neighbouring linear layers.
  }];
}

class Norm_Op<string mnemonic, list<Trait> traits = []>
    : Op<Norm_Dialect, mnemonic, !listconcat(traits, [Pure])>;

def Norm_FloatTensor : TensorOf<[AnyFloat]>;

// The ONNX nodes a recognized norm replaced, kept so that a norm no pass
// changes is written back exactly as it was read (OriginalSpelling.h). Empty
// for a norm built by a pass.
def Norm_OriginalSpelling : Region<CPred<"$_self.getBlocks().size() <= 1">,
                                   "the original ONNX nodes (at most one block)">;

def Norm_LayerNormOp : Norm_Op<"layer_norm", [AttrSizedOperandSegments, IsolatedFromAbove]> {
  let summary = "layer normalization over the trailing dims from `axis`";
  let description = [{
    `y = (x - mean(x)) / sqrt(var(x) + epsilon) * scale + bias`, with mean and
    (biased) variance over the dims `[axis, rank)`. `scale` and `bias` have the
    shape of those dims (or broadcast to it); an absent `scale` is 1 and an
    absent `bias` is 0. Same semantics as ONNX `LayerNormalization` with
    `stash_type = 1`.

    ```mlir
    %y = norm.layer_norm %x scale(%g : tensor<768xf32>) bias(%b : tensor<768xf32>)
           {axis = -1 : i64, epsilon = 1.0e-05 : f32} : tensor<?x128x768xf32>
    ```
  }];
  let arguments = (ins Norm_FloatTensor:$input,
                       Optional<Norm_FloatTensor>:$scale,
                       Optional<Norm_FloatTensor>:$bias,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Norm_FloatTensor:$result);
  let regions = (region Norm_OriginalSpelling:$original);
  let assemblyFormat = [{
    $input (`scale` `(` $scale^ `:` type($scale) `)`)?
           (`bias` `(` $bias^ `:` type($bias) `)`)?
    attr-dict `:` type($input) `->` type($result)
    (`original` $original^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The first normalized dim, made non-negative; nullopt when unranked.
    std::optional<int64_t> getNormalizedAxis();
  }];
}

def Norm_RMSNormOp : Norm_Op<"rms_norm", [AttrSizedOperandSegments, IsolatedFromAbove]> {
  let summary = "root-mean-square normalization over the trailing dims from `axis`";
  let description = [{
    `y = x / sqrt(mean(x^2) + epsilon) * g + bias`, with the mean over the dims
    `[axis, rank)`. The gain `g` is `scale`, or `1 + scale` when
    `unit_offset` is set (the Gemma convention); an absent `scale` means
    `g = 1` and an absent `bias` means 0. Without `bias` this is ONNX
    `RMSNormalization` (opset 23) and onnxruntime's
    `SimplifiedLayerNormalization`. The `bias` is what a LayerNorm keeps when
    `norm-pre-ln-to-rms` proves its input zero-mean.
  }];
  let arguments = (ins Norm_FloatTensor:$input,
                       Optional<Norm_FloatTensor>:$scale,
                       Optional<Norm_FloatTensor>:$bias,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon,
                       UnitAttr:$unit_offset);
  let results = (outs Norm_FloatTensor:$result);
  let regions = (region Norm_OriginalSpelling:$original);
  let assemblyFormat = [{
    $input (`scale` `(` $scale^ `:` type($scale) `)`)?
           (`bias` `(` $bias^ `:` type($bias) `)`)?
    attr-dict `:` type($input) `->` type($result)
    (`original` $original^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    std::optional<int64_t> getNormalizedAxis();
  }];
}

def Norm_CRMSNormOp : Norm_Op<"crms_norm", [AttrSizedOperandSegments]> {
  let summary = "RMS normalization of a compressed zero-mean vector (CRMSNorm)";
  let description = [{
    The input holds the first `d - 1` entries of a zero-mean `d`-vector along
    the last dim (the residual stream after `norm-pre-ln-to-rms{compress=1}`);
    its last entry is `x_d = -sum(x)`. The result is the RMS normalization of
    the whole `d`-vector:
    `y = [x, x_d] / sqrt((sum(x^2) + sum(x)^2) / d + epsilon) * scale + bias`,
    with `d` entries along the last dim (Jiang et al., NeurIPS 2023).
  }];
  let arguments = (ins Norm_FloatTensor:$input,
                       Optional<Norm_FloatTensor>:$scale,
                       Optional<Norm_FloatTensor>:$bias,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Norm_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`scale` `(` $scale^ `:` type($scale) `)`)?
           (`bias` `(` $bias^ `:` type($bias) `)`)?
    attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Norm_BatchNormOp : Norm_Op<"batch_norm", [IsolatedFromAbove]> {
  let summary = "inference batch normalization with frozen running statistics";
  let description = [{
    `y = (x - mean) / sqrt(var + epsilon) * scale + bias`, per channel along
    dim 1 of an `[N, C, ...]` input. `mean` and `var` are the running
    statistics; this op never computes batch statistics (ONNX
    `BatchNormalization` with `training_mode = 0`).
  }];
  let arguments = (ins Norm_FloatTensor:$input, Norm_FloatTensor:$scale,
                       Norm_FloatTensor:$bias, Norm_FloatTensor:$mean,
                       Norm_FloatTensor:$var,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Norm_FloatTensor:$result);
  let regions = (region Norm_OriginalSpelling:$original);
  let assemblyFormat = [{
    $input `,` $scale `,` $bias `,` $mean `,` $var attr-dict `:`
    type($input) `,` type($scale) `,` type($bias) `,` type($mean) `,` type($var)
    `->` type($result) (`original` $original^)?
  }];
  let hasVerifier = 1;
}

class Norm_SkipNormOp<string mnemonic>
    : Norm_Op<mnemonic, [AttrSizedOperandSegments, IsolatedFromAbove]> {
  let results = (outs Norm_FloatTensor:$result, Norm_FloatTensor:$sum);
  let regions = (region Norm_OriginalSpelling:$original);
  let hasVerifier = 1;
}

def Norm_SkipLayerNormOp : Norm_SkipNormOp<"skip_layer_norm"> {
  let summary = "residual add followed by layer normalization over the last dim";
  let description = [{
    `sum = input + skip (+ skip_bias)`, `result = layer_norm(sum)` over the
    last dim with `scale` and `bias`. Both the normalized value and the sum
    are results, as in onnxruntime's `SkipLayerNormalization`.
  }];
  let arguments = (ins Norm_FloatTensor:$input, Norm_FloatTensor:$skip,
                       Optional<Norm_FloatTensor>:$scale,
                       Optional<Norm_FloatTensor>:$bias,
                       Optional<Norm_FloatTensor>:$skip_bias,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let assemblyFormat = [{
    $input `,` $skip (`scale` `(` $scale^ `:` type($scale) `)`)?
           (`bias` `(` $bias^ `:` type($bias) `)`)?
           (`skip_bias` `(` $skip_bias^ `:` type($skip_bias) `)`)?
    attr-dict `:` type($input) `,` type($skip) `->` type($result) `,` type($sum)
    (`original` $original^)?
  }];
}

def Norm_SkipRMSNormOp : Norm_SkipNormOp<"skip_rms_norm"> {
  let summary = "residual add followed by RMS normalization over the last dim";
  let description = [{
    `sum = input + skip (+ skip_bias)`, `result = rms_norm(sum) * scale`, as in
    onnxruntime's `SkipSimplifiedLayerNormalization`.
  }];
  let arguments = (ins Norm_FloatTensor:$input, Norm_FloatTensor:$skip,
                       Optional<Norm_FloatTensor>:$scale,
                       Optional<Norm_FloatTensor>:$skip_bias,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let assemblyFormat = [{
    $input `,` $skip (`scale` `(` $scale^ `:` type($scale) `)`)?
           (`skip_bias` `(` $skip_bias^ `:` type($skip_bias) `)`)?
    attr-dict `:` type($input) `,` type($skip) `->` type($result) `,` type($sum)
    (`original` $original^)?
  }];
}

def Norm_RMSScaleOp : Norm_Op<"rms_scale"> {
  let summary = "scale each row of a value by 1/RMS of the matching row of another";
  let description = [{
    `result = value / sqrt(mean(input^2) + epsilon)`, with the mean over the
    dims `[axis, rank)` of `input` (computed in fp32 or wider, kept as a
    `[..., 1, ..., 1]` per-row factor) broadcast over the same dims of
    `value`. `value` and `input` have the same rank and agree on the dims
    before `axis`; the dims from `axis` on may differ.

    This is the deferred half of a weightless RMSNorm (FlashNorm): for a
    bias-free linear layer `rms_norm(x) W = rms_scale(x W, x)`. `value` is
    typically the product of a matmul that reads the raw `x`, so a GPU
    lowering applies the factor in the matmul's epilogue while the
    reduction over `x` runs beside the matmul.

    ```mlir
    %y = norm.rms_scale %xw by %x {axis = -1 : i64, epsilon = 1.0e-06 : f32}
           : tensor<2x8x64xf32>, tensor<2x8x32xf32> -> tensor<2x8x64xf32>
    ```
  }];
  let arguments = (ins Norm_FloatTensor:$value, Norm_FloatTensor:$input,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Norm_FloatTensor:$result);
  let assemblyFormat = [{
    $value `by` $input attr-dict `:` type($value) `,` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The first reduced dim of `input`, made non-negative; nullopt when
    /// unranked.
    std::optional<int64_t> getNormalizedAxis();
  }];
}

#endif // NORM_OPT_DIALECT_NORM_IR_NORMOPS_TD
