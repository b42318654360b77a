//===- AffineFold.h - folding affine maps into linear layers ----*- C++ -*-===//
//
// The one place where norm-opt changes the weights of linear layers. A value
// `x` whose every reader is a linear layer `y = x W + c` can give away an
// affine map applied to it along its last dim: `x * gamma + beta` feeding the
// layers equals `x` feeding layers with `W' = diag(gamma) W` and
// `c' = c + beta W` (TRANSFORMS.md, section 1). FlashNorm weight folding, the
// Pre-LN -> RMSNorm rewrite and BatchNorm folding all reduce to this.
//
// A linear layer is `onnx.MatMul(x, W)` (optionally followed by
// `onnx.Add(., c)`) or `onnx.Gemm(x, B, C)` with `transA = 0`, where the
// weight is a constant (initializer or Constant node, also through Identity)
// or the 2-D `Transpose` of one (what PyTorch exports for `nn.Linear` without
// constant folding). On the side of `x`, matchLinearReaders looks through the
// readers that hand its rows on unchanged (Readers.h).
//
// Weights are never changed in place: every folded weight or bias is a new
// initializer, the old one is erased once nothing reads it, so a tensor with
// another user (a tied embedding table read by Gather and by the LM head)
// stays as it was. All arithmetic is in float64, rounded once to the stored
// element type.
//
//===----------------------------------------------------------------------===//
#ifndef NORM_OPT_DIALECT_NORM_TRANSFORMS_AFFINEFOLD_H
#define NORM_OPT_DIALECT_NORM_TRANSFORMS_AFFINEFOLD_H

#include "norm-opt/Dialect/ONNX/IR/FloatCodec.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Support/LLVM.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::norm {

/// A linear layer `y = x W + c` reading `x` as its left operand, with `W` a
/// constant `[K, N]` matrix (in whatever layout it is stored) and `c` an
/// optional constant bias that is the same for every row.
class LinearLayer {
public:
  /// Matches `user` as a linear layer reading the value at operand `index`.
  /// On failure, `reason` says why `user` is not one (for a refusal).
  static FailureOr<LinearLayer> match(Operation *user, unsigned index,
                                      std::string &reason);

  /// The MatMul or Gemm.
  Operation *getOp() const { return op; }
  /// The value holding `x W + c` (the bias Add after a MatMul, when there is
  /// one), i.e. what the rest of the graph reads.
  Value getOutput() const;
  /// The `x W` product (the MatMul / Gemm result).
  Value getProduct() const;
  int64_t getInputSize() const { return k; }
  int64_t getOutputSize() const { return n; }
  Type getWeightElementType() const;
  /// Whether the layer adds a bias.
  bool hasBias() const { return biasValue != nullptr; }

  /// The constant holding `W`, and whether it is stored `[N, K]`.
  Value getWeightConstant() const { return weightConstant; }
  bool isStoredTransposed() const { return storedTransposed; }
  /// Whether a replacement weight is stored `[N, K]`: a Gemm keeps its
  /// transB layout; a MatMul reads a `[K, N]` weight directly, dropping a
  /// Transpose it read through.
  bool newWeightTransposed() const;
  /// The name for a replacement weight: the old initializer's (else the
  /// layer's) with `suffix`.
  std::string newWeightName(StringRef suffix) const;
  /// `c` as `N` values in float64 (zeros without a bias), already scaled as
  /// the layer applies it (Gemm's `beta / alpha` taken into account so that
  /// `y = alpha * (x W + c)` for a Gemm).
  std::vector<double> readBias() const;

  /// Makes the layer read `newWeight` (in the newWeightTransposed layout)
  /// as its weight. The old weight is erased when nothing else reads it.
  void replaceWeight(RewriterBase &rewriter, Value newWeight) const;
  /// Replaces `c` by `bias` (`N` values), giving a layer without a bias one:
  /// a Gemm gets its `C`, a MatMul gets an `Add` after it.
  void replaceBias(RewriterBase &rewriter, ArrayRef<double> bias,
                   StringRef suffix);

private:
  Operation *op = nullptr;
  bool isGemm = false;
  /// The value read as the weight (maybe a Transpose) and the constant
  /// behind it.
  Value weightOperand;
  Value weightConstant;
  /// Whether the constant is stored `[N, K]` (Gemm transB = 1, or a 2-D
  /// Transpose of it).
  bool storedTransposed = false;
  /// The MatMul bias Add and its constant operand, or the Gemm C.
  Operation *biasAdd = nullptr;
  Value biasValue;
  int64_t k = 0, n = 0;
};

/// Every reader of `value` as a linear layer, or failure with the reason the
/// first reader that is not one (or a graph output) makes folding illegal.
/// Readers are classified by collectReaders (Readers.h): shape-only readers
/// are ignored and look-through readers (a Reshape keeping the last dim of
/// size `hidden`, ...) are followed to the layers reading their results.
FailureOr<SmallVector<LinearLayer>>
matchLinearReaders(Value value, std::string &reason,
                   std::optional<int64_t> hidden = std::nullopt);

/// An affine map along the last dim, `x -> x * gain + shift`, with `K`
/// entries each (`shift` empty means zero). With `center`, the map is
/// `x -> (x - mean(x)) * gain + shift` (a LayerNorm with a fixed std,
/// norm-remove-ln): folded, it is `W' = P diag(gain) W` with
/// `P = I - 11^T/K`, i.e. every column of `diag(gain) W` minus its mean.
struct ChannelAffine {
  std::vector<double> gain;
  std::vector<double> shift;
  bool center = false;
};

/// Reads a norm weight (scale or bias) of shape `[..., K]` or broadcast
/// (`[1]`, scalar, leading 1s) as `K` values; fails, with `reason`, when it
/// is not a constant or varies along a dim other than the last one.
FailureOr<std::vector<double>> readLastDimVector(Value weight, int64_t k,
                                                 std::string &reason);

/// What rounding one folded tensor to its stored type lost, as one figure
/// for the whole tensor (||W'_rounded - W'_exact|| / ||W'_exact||) and the
/// count of values that overflowed. Only tensors that lost more than their
/// type's unit roundoff, or overflowed, are listed (see Rationale.md).
struct PrecisionLoss {
  Operation *layer;
  std::string what;
  /// The stored type the folded values were rounded to.
  Type elementType;
  onnxir::RoundingStats stats;
};

/// Reports each loss as a warning on `norm` and a `warning` record of `pass`
/// in the report; the fold itself stands. Fails when the fold itself failed
/// (it then emitted an error: a new weight could not be stored).
LogicalResult warnPrecisionLosses(Operation *norm, StringRef pass,
                                  FailureOr<SmallVector<PrecisionLoss>> losses);

/// Checks that `readers` can take `map` (the weight sizes fit `K`).
LogicalResult checkAffineFold(ArrayRef<LinearLayer> readers,
                              const ChannelAffine &map, std::string &reason);

/// Folds `map` into every reader: `W' = diag(gain) W` (`P diag(gain) W` with
/// `map.center`), `c' = c + shift W`.
/// The caller then stops applying the map to the value. Returns the precision
/// losses of the rounded results (empty for fp32/fp64 weights unless a value
/// overflows). Each new weight is written once, streamed row by row from the
/// old one; fails (with an error) only when it cannot be stored.
FailureOr<SmallVector<PrecisionLoss>>
foldAffineIntoReaders(RewriterBase &rewriter, MutableArrayRef<LinearLayer> readers,
                      const ChannelAffine &map);

/// Erases the ops defining `values` (initializers, Constants, Identities,
/// Transposes) that nothing reads any more, and then their inputs likewise.
/// Each op is erased once, even when listed twice or reached again through
/// an Identity.
void eraseIfUnused(RewriterBase &rewriter, ArrayRef<Value> values);
inline void eraseIfUnused(RewriterBase &rewriter, Value value) {
  eraseIfUnused(rewriter, ArrayRef<Value>{value});
}

//===----------------------------------------------------------------------===//
// Centering (Pre-LN -> RMSNorm)
//===----------------------------------------------------------------------===//

/// A new initializer holding the constant `value` centered along `axis`,
/// named after the original. An `axis` outside the tensor's dims (or of size
/// 1) means the tensor is broadcast along it, so its centered value is zero.
/// With `dropLast`, the last entry along `axis` is dropped after centering
/// (CRMSNorm: a zero-mean vector is fixed by the others). Fails (with an
/// error) when `value` is not a float constant with a static shape.
FailureOr<Value> createCenteredConstant(OpBuilder &builder, Value value,
                                        int64_t axis, bool dropLast = false);

//===----------------------------------------------------------------------===//
// Folding an affine map on a layer's *output* channels into the layer
// (BatchNorm after a Conv / Gemm / MatMul): `y -> y * gain + shift` per
// output channel becomes `W' = W diag(gain)` (per output channel) and
// `c' = gain * c + shift`. Weights are replaced by new initializers as above.
//===----------------------------------------------------------------------===//

/// Checks that the linear layer can take `map` on its `N` outputs.
LogicalResult checkOutputAffineFold(const LinearLayer &layer, const ChannelAffine &map,
                                    std::string &reason);

/// Folds `map` into the outputs of `layer`: `W' = W diag(gain)`,
/// `c' = gain * c + shift` (a layer without a bias gains one when `shift` is
/// not zero). Gemm's `alpha` is taken into account.
FailureOr<SmallVector<PrecisionLoss>>
foldAffineIntoOutputs(RewriterBase &rewriter, LinearLayer &layer, const ChannelAffine &map);

/// The number of output channels (dim 1 of the result) of an `onnx.Conv` or
/// `onnx.ConvTranspose` whose weight and optional bias are fixed float
/// constants of static shape, or failure with `reason`. The weight is
/// `[C_out, C_in / group, k...]` for Conv and `[C_in, C_out / group, k...]`
/// for ConvTranspose.
FailureOr<int64_t> matchConvOutputChannels(Operation *conv, std::string &reason);

/// Folds `map` (one entry per output channel) into a Conv or ConvTranspose
/// accepted by matchConvOutputChannels: every weight entry that feeds output
/// channel `o` is scaled by `gain[o]`, and `bias' = gain * bias + shift`.
FailureOr<SmallVector<PrecisionLoss>>
foldAffineIntoConvOutputs(RewriterBase &rewriter, Operation *conv, const ChannelAffine &map);

} // namespace mlir::norm

#endif
