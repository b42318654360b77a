//===- FloatCodec.h - stored float weights <-> float64 -----------*- C++ -*-===//
//
// The one place that converts the bytes of a stored float tensor (fp32, fp16,
// bf16, fp64) to float64 and back. Every weight rewrite computes in float64
// and rounds once to the stored type (TRANSFORMS.md, numerics policy), so
// these conversions run once per element of every folded weight: they are
// vectorized (AVX-512 or AVX2/F16C, the widest the CPU has, chosen at run
// time; NORM_OPT_CODEC=avx2|scalar forces a narrower path) and never go
// through APFloat.
//
// Rounding from float64 is correctly rounded to nearest-even in every format:
// fp16 and bf16 go through float32 with round-to-odd, which leaves enough
// bits for the final rounding to be exact (Boldo and Melquiond, 2008).
//
//===----------------------------------------------------------------------===//
#ifndef NORM_OPT_DIALECT_ONNX_IR_FLOATCODEC_H
#define NORM_OPT_DIALECT_ONNX_IR_FLOATCODEC_H

#include "mlir/IR/Types.h"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace mlir::onnxir {

enum class FloatFormat { F32, F16, BF16, F64 };

/// The format of a float element type the codec handles, or nullopt.
std::optional<FloatFormat> getFloatFormat(Type elementType);
size_t getByteWidth(FloatFormat format);

/// What rounding a tensor once from float64 to its stored format lost, as
/// one figure for the whole tensor: ||rounded - exact|| / ||exact|| over the
/// values that stayed finite, and how many finite values overflowed.
struct RoundingStats {
  double errorSquares = 0;
  double exactSquares = 0;
  int64_t overflowed = 0;
  int64_t count = 0;

  void merge(const RoundingStats &other) {
    errorSquares += other.errorSquares;
    exactSquares += other.exactSquares;
    overflowed += other.overflowed;
    count += other.count;
  }
  double relativeError() const;
};

/// The unit roundoff 2^-p of a format with a p-bit significand: no normal
/// value rounds with a larger relative error, so a whole tensor's relative
/// error exceeds it only when many values fall below the normal range.
double getUnitRoundoff(FloatFormat format);

/// Decodes `count` stored elements at `src` (any alignment) into `dst`.
void decodeToDouble(FloatFormat format, const char *src, double *dst, size_t count);

/// Rounds `count` float64 values once to `format` and stores them at `dst`
/// (any alignment), adding what the rounding lost to `stats` when given.
void encodeFromDouble(FloatFormat format, const double *src, char *dst, size_t count,
                      RoundingStats *stats = nullptr);

} // namespace mlir::onnxir

#endif
