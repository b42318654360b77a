//===- FloatCodec.cpp - stored float weights <-> float64 ------------------===//
#include "norm-opt/Dialect/ONNX/IR/FloatCodec.h"

#include "mlir/IR/BuiltinTypes.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define NORM_OPT_HAVE_X86_CODEC 1
#endif

using namespace mlir;
using namespace mlir::onnxir;

std::optional<FloatFormat> mlir::onnxir::getFloatFormat(Type elementType) {
  if (elementType.isF32())
    return FloatFormat::F32;
  if (elementType.isF16())
    return FloatFormat::F16;
  if (elementType.isBF16())
    return FloatFormat::BF16;
  if (elementType.isF64())
    return FloatFormat::F64;
  return std::nullopt;
}

size_t mlir::onnxir::getByteWidth(FloatFormat format) {
  switch (format) {
  case FloatFormat::F32:
    return 4;
  case FloatFormat::F16:
  case FloatFormat::BF16:
    return 2;
  case FloatFormat::F64:
    return 8;
  }
  return 0;
}

double mlir::onnxir::getUnitRoundoff(FloatFormat format) {
  switch (format) {
  case FloatFormat::F32:
    return std::ldexp(1.0, -24);
  case FloatFormat::F16:
    return std::ldexp(1.0, -11);
  case FloatFormat::BF16:
    return std::ldexp(1.0, -8);
  case FloatFormat::F64:
    return std::ldexp(1.0, -53);
  }
  return 0;
}

double RoundingStats::relativeError() const {
  return exactSquares > 0 ? std::sqrt(errorSquares / exactSquares) : 0.0;
}

//===----------------------------------------------------------------------===//
// Scalar conversions (the reference; the vector paths must agree bit for bit)
//===----------------------------------------------------------------------===//

namespace {

uint32_t bitsOf(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
float floatOf(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

/// `d` rounded to float32 with round-to-odd: truncated, with the last bit
/// set when inexact. Rounding this once more to a format with at least two
/// fewer significand bits gives the correctly rounded result.
float roundToOddFloat(double d) {
  float f = float(d);
  if (double(f) == d || std::isnan(d))
    return f;
  uint32_t b = bitsOf(f);
  if (std::fabs(double(f)) > std::fabs(d))
    --b; // Rounded away from zero: step back (sign-magnitude order).
  return floatOf(b | 1u);
}

uint16_t floatToHalf(float f) {
  uint32_t x = bitsOf(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) // inf or NaN
    return uint16_t(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) // rounds to at least 65520: overflow
    return uint16_t(sign | 0x7c00u);
  if (abs < 0x38800000u) { // below 2^-14: subnormal half (or zero)
    // Add 0.5 (as a float) so that the FPU's round-to-nearest-even does the
    // rounding at the half's subnormal quantum of 2^-24.
    float shifted = floatOf(abs) + 0.5f;
    return uint16_t(sign | (bitsOf(shifted) - 0x3f000000u));
  }
  uint32_t mantissaOdd = (abs >> 13) & 1u;
  abs += 0xc8000fffu + mantissaOdd; // rebias exponent (-112 << 23), round
  return uint16_t(sign | (abs >> 13));
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: exactly mantissa * 2^-24.
    float v = float(mantissa) * 5.9604644775390625e-08f;
    return floatOf(bitsOf(v) | sign);
  }
  if (exponent == 31)
    return floatOf(sign | 0x7f800000u | (mantissa << 13));
  return floatOf(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t floatToBF16(float f) {
  uint32_t x = bitsOf(f);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return uint16_t((x >> 16) | 0x40u); // quiet NaN
  x += 0x7fffu + ((x >> 16) & 1u);
  return uint16_t(x >> 16);
}

float bf16ToFloat(uint16_t b) { return floatOf(uint32_t(b) << 16); }

double decodeOne(FloatFormat format, const char *p) {
  switch (format) {
  case FloatFormat::F32: {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  case FloatFormat::F16: {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return halfToFloat(h);
  }
  case FloatFormat::BF16: {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return bf16ToFloat(h);
  }
  case FloatFormat::F64: {
    double d;
    std::memcpy(&d, p, 8);
    return d;
  }
  }
  return 0;
}

/// Stores `d` rounded once and returns the stored value as a double.
double encodeOne(FloatFormat format, double d, char *p) {
  switch (format) {
  case FloatFormat::F32: {
    float f = float(d);
    std::memcpy(p, &f, 4);
    return f;
  }
  case FloatFormat::F16: {
    uint16_t h = floatToHalf(roundToOddFloat(d));
    std::memcpy(p, &h, 2);
    return halfToFloat(h);
  }
  case FloatFormat::BF16: {
    uint16_t h = floatToBF16(roundToOddFloat(d));
    std::memcpy(p, &h, 2);
    return bf16ToFloat(h);
  }
  case FloatFormat::F64:
    std::memcpy(p, &d, 8);
    return d;
  }
  return 0;
}

void accumulate(RoundingStats &stats, double exact, double rounded) {
  if (!std::isfinite(exact))
    return;
  if (!std::isfinite(rounded)) {
    ++stats.overflowed;
    return;
  }
  double error = rounded - exact;
  stats.errorSquares += error * error;
  stats.exactSquares += exact * exact;
}

void decodeScalar(FloatFormat format, const char *src, double *dst, size_t count) {
  size_t width = getByteWidth(format);
  for (size_t i = 0; i < count; ++i)
    dst[i] = decodeOne(format, src + i * width);
}

void encodeScalar(FloatFormat format, const double *src, char *dst, size_t count,
                  RoundingStats *stats) {
  size_t width = getByteWidth(format);
  for (size_t i = 0; i < count; ++i) {
    double rounded = encodeOne(format, src[i], dst + i * width);
    if (stats)
      accumulate(*stats, src[i], rounded);
  }
}

//===----------------------------------------------------------------------===//
// AVX2 + F16C: four elements at a time
//===----------------------------------------------------------------------===//

#ifdef NORM_OPT_HAVE_X86_CODEC
#define NORM_OPT_TARGET __attribute__((target("avx2,f16c,fma")))

enum class CodecPath { Scalar, AVX2, AVX512 };

/// The widest path this CPU runs; NORM_OPT_CODEC=scalar|avx2 forces a
/// narrower one (so that tests cover every path on one machine).
CodecPath codecPath() {
  static const CodecPath path = [] {
    const char *forced = std::getenv("NORM_OPT_CODEC");
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") &&
                __builtin_cpu_supports("fma");
    bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
    if (forced && std::strcmp(forced, "scalar") == 0)
      return CodecPath::Scalar;
    if (avx512 && !(forced && std::strcmp(forced, "avx2") == 0))
      return CodecPath::AVX512;
    return avx2 ? CodecPath::AVX2 : CodecPath::Scalar;
  }();
  return path;
}

/// The low 32 bits of each 64-bit lane (a lane mask narrowed to 32 bits).
NORM_OPT_TARGET inline __m128i narrowMask(__m256d mask) {
  __m256i picked = _mm256_permutevar8x32_epi32(_mm256_castpd_si256(mask),
                                               _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0));
  return _mm256_castsi256_si128(picked);
}

/// Four doubles rounded to float32 with round-to-odd (see roundToOddFloat).
NORM_OPT_TARGET inline __m128 roundToOdd4(__m256d d) {
  __m128 f = _mm256_cvtpd_ps(d);
  __m256d back = _mm256_cvtps_pd(f);
  __m256d signMask = _mm256_set1_pd(-0.0);
  __m256d inexact = _mm256_cmp_pd(back, d, _CMP_NEQ_OQ);
  __m256d away = _mm256_and_pd(inexact, _mm256_cmp_pd(_mm256_andnot_pd(signMask, back),
                                                      _mm256_andnot_pd(signMask, d),
                                                      _CMP_GT_OQ));
  __m128i bits = _mm_castps_si128(f);
  bits = _mm_add_epi32(bits, narrowMask(away)); // -1 where rounded away
  bits = _mm_or_si128(bits, _mm_srli_epi32(narrowMask(inexact), 31));
  return _mm_castsi128_ps(bits);
}

/// Adds what rounding `exact` to `rounded` lost; returns the lanes' overflow
/// count.
NORM_OPT_TARGET inline int accumulate4(__m256d exact, __m256d rounded, __m256d &errorSquares,
                                       __m256d &exactSquares) {
  __m256d signMask = _mm256_set1_pd(-0.0);
  __m256d infinity = _mm256_set1_pd(std::numeric_limits<double>::infinity());
  __m256d finiteExact = _mm256_cmp_pd(_mm256_andnot_pd(signMask, exact), infinity, _CMP_LT_OQ);
  __m256d finiteRounded =
      _mm256_cmp_pd(_mm256_andnot_pd(signMask, rounded), infinity, _CMP_LT_OQ);
  __m256d counted = _mm256_and_pd(finiteExact, finiteRounded);
  __m256d error = _mm256_and_pd(counted, _mm256_sub_pd(rounded, exact));
  __m256d kept = _mm256_and_pd(counted, exact);
  errorSquares = _mm256_fmadd_pd(error, error, errorSquares);
  exactSquares = _mm256_fmadd_pd(kept, kept, exactSquares);
  return __builtin_popcount(_mm256_movemask_pd(_mm256_andnot_pd(finiteRounded, finiteExact)));
}

NORM_OPT_TARGET double horizontalSum(__m256d v) {
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, v);
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

NORM_OPT_TARGET void decodeVector(FloatFormat format, const char *src, double *dst,
                                  size_t count) {
  size_t i = 0;
  switch (format) {
  case FloatFormat::F16:
    for (; i + 4 <= count; i += 4) {
      __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(src + 2 * i));
      _mm256_storeu_pd(dst + i, _mm256_cvtps_pd(_mm_cvtph_ps(h)));
    }
    break;
  case FloatFormat::BF16:
    for (; i + 4 <= count; i += 4) {
      __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(src + 2 * i));
      __m128i bits = _mm_unpacklo_epi16(_mm_setzero_si128(), h);
      _mm256_storeu_pd(dst + i, _mm256_cvtps_pd(_mm_castsi128_ps(bits)));
    }
    break;
  case FloatFormat::F32:
    for (; i + 4 <= count; i += 4)
      _mm256_storeu_pd(dst + i,
                       _mm256_cvtps_pd(_mm_loadu_ps(reinterpret_cast<const float *>(src + 4 * i))));
    break;
  case FloatFormat::F64:
    break;
  }
  decodeScalar(format, src + i * getByteWidth(format), dst + i, count - i);
}

NORM_OPT_TARGET void encodeVector(FloatFormat format, const double *src, char *dst,
                                  size_t count, RoundingStats *stats) {
  __m256d errorSquares = _mm256_setzero_pd(), exactSquares = _mm256_setzero_pd();
  int64_t overflowed = 0;
  size_t i = 0;
  switch (format) {
  case FloatFormat::F16:
    for (; i + 4 <= count; i += 4) {
      __m256d exact = _mm256_loadu_pd(src + i);
      __m128i h = _mm_cvtps_ph(roundToOdd4(exact), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      _mm_storel_epi64(reinterpret_cast<__m128i *>(dst + 2 * i), h);
      if (stats)
        overflowed +=
            accumulate4(exact, _mm256_cvtps_pd(_mm_cvtph_ps(h)), errorSquares, exactSquares);
    }
    break;
  case FloatFormat::BF16:
    for (; i + 4 <= count; i += 4) {
      __m256d exact = _mm256_loadu_pd(src + i);
      __m128i bits = _mm_castps_si128(roundToOdd4(exact));
      // Nearest-even on the upper 16 bits; NaN lanes keep a quiet NaN.
      __m128i lsb = _mm_and_si128(_mm_srli_epi32(bits, 16), _mm_set1_epi32(1));
      __m128i rounded = _mm_add_epi32(bits, _mm_add_epi32(_mm_set1_epi32(0x7fff), lsb));
      __m128i isNaN = _mm_cmpgt_epi32(_mm_and_si128(bits, _mm_set1_epi32(0x7fffffff)),
                                      _mm_set1_epi32(0x7f800000));
      __m128i nan = _mm_or_si128(bits, _mm_set1_epi32(0x400000));
      rounded = _mm_blendv_epi8(rounded, nan, isNaN);
      __m128i upper = _mm_srli_epi32(rounded, 16);
      __m128i packed = _mm_packus_epi32(upper, upper);
      _mm_storel_epi64(reinterpret_cast<__m128i *>(dst + 2 * i), packed);
      if (stats) {
        __m128i back = _mm_slli_epi32(upper, 16);
        overflowed += accumulate4(exact, _mm256_cvtps_pd(_mm_castsi128_ps(back)), errorSquares,
                                  exactSquares);
      }
    }
    break;
  case FloatFormat::F32:
    for (; i + 4 <= count; i += 4) {
      __m256d exact = _mm256_loadu_pd(src + i);
      __m128 f = _mm256_cvtpd_ps(exact);
      _mm_storeu_ps(reinterpret_cast<float *>(dst + 4 * i), f);
      if (stats)
        overflowed += accumulate4(exact, _mm256_cvtps_pd(f), errorSquares, exactSquares);
    }
    break;
  case FloatFormat::F64:
    break;
  }
  if (stats) {
    stats->errorSquares += horizontalSum(errorSquares);
    stats->exactSquares += horizontalSum(exactSquares);
    stats->overflowed += overflowed;
  }
  encodeScalar(format, src + i, dst + i * getByteWidth(format), count - i, stats);
}

//===----------------------------------------------------------------------===//
// AVX-512: eight elements at a time; round-to-odd is truncation with the
// last bit set where inexact.
//===----------------------------------------------------------------------===//

#define NORM_OPT_TARGET512 __attribute__((target("avx512f,avx512vl,avx512bw,avx2,f16c,fma")))

NORM_OPT_TARGET512 inline __m256 roundToOdd8(__m512d d) {
  __m256 truncated = _mm512_cvt_roundpd_ps(d, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  __mmask8 inexact = _mm512_cmp_pd_mask(_mm512_cvtps_pd(truncated), d, _CMP_NEQ_OQ);
  __m256i bits = _mm256_castps_si256(truncated);
  bits = _mm256_mask_or_epi32(bits, inexact, bits, _mm256_set1_epi32(1));
  return _mm256_castsi256_ps(bits);
}

NORM_OPT_TARGET512 inline int64_t accumulate8(__m512d exact, __m512d rounded,
                                              __m512d &errorSquares, __m512d &exactSquares) {
  __m512d infinity = _mm512_set1_pd(std::numeric_limits<double>::infinity());
  __mmask8 finiteExact = _mm512_cmp_pd_mask(_mm512_abs_pd(exact), infinity, _CMP_LT_OQ);
  __mmask8 finiteRounded = _mm512_cmp_pd_mask(_mm512_abs_pd(rounded), infinity, _CMP_LT_OQ);
  __mmask8 counted = finiteExact & finiteRounded;
  __m512d error = _mm512_maskz_sub_pd(counted, rounded, exact);
  __m512d kept = _mm512_maskz_mov_pd(counted, exact);
  errorSquares = _mm512_fmadd_pd(error, error, errorSquares);
  exactSquares = _mm512_fmadd_pd(kept, kept, exactSquares);
  return __builtin_popcount(finiteExact & ~finiteRounded & 0xff);
}

NORM_OPT_TARGET512 void decodeVector512(FloatFormat format, const char *src, double *dst,
                                        size_t count) {
  size_t i = 0;
  switch (format) {
  case FloatFormat::F16:
    for (; i + 8 <= count; i += 8) {
      __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + 2 * i));
      _mm512_storeu_pd(dst + i, _mm512_cvtps_pd(_mm256_cvtph_ps(h)));
    }
    break;
  case FloatFormat::BF16:
    for (; i + 8 <= count; i += 8) {
      __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + 2 * i));
      __m256i bits = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
      _mm512_storeu_pd(dst + i, _mm512_cvtps_pd(_mm256_castsi256_ps(bits)));
    }
    break;
  case FloatFormat::F32:
    for (; i + 8 <= count; i += 8)
      _mm512_storeu_pd(
          dst + i, _mm512_cvtps_pd(_mm256_loadu_ps(reinterpret_cast<const float *>(src + 4 * i))));
    break;
  case FloatFormat::F64:
    break;
  }
  decodeScalar(format, src + i * getByteWidth(format), dst + i, count - i);
}

NORM_OPT_TARGET512 void encodeVector512(FloatFormat format, const double *src, char *dst,
                                        size_t count, RoundingStats *stats) {
  __m512d errorSquares = _mm512_setzero_pd(), exactSquares = _mm512_setzero_pd();
  int64_t overflowed = 0;
  size_t i = 0;
  switch (format) {
  case FloatFormat::F16:
    for (; i + 8 <= count; i += 8) {
      __m512d exact = _mm512_loadu_pd(src + i);
      __m128i h =
          _mm256_cvtps_ph(roundToOdd8(exact), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + 2 * i), h);
      if (stats)
        overflowed +=
            accumulate8(exact, _mm512_cvtps_pd(_mm256_cvtph_ps(h)), errorSquares, exactSquares);
    }
    break;
  case FloatFormat::BF16:
    for (; i + 8 <= count; i += 8) {
      __m512d exact = _mm512_loadu_pd(src + i);
      __m256i bits = _mm256_castps_si256(roundToOdd8(exact));
      // Nearest-even on the upper 16 bits; NaN lanes keep a quiet NaN.
      __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
      __m256i rounded =
          _mm256_add_epi32(bits, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb));
      __mmask8 isNaN = _mm256_cmpgt_epi32_mask(
          _mm256_and_si256(bits, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
      rounded = _mm256_mask_or_epi32(rounded, isNaN, bits, _mm256_set1_epi32(0x400000));
      __m256i upper = _mm256_srli_epi32(rounded, 16);
      _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + 2 * i), _mm256_cvtepi32_epi16(upper));
      if (stats) {
        __m256 back = _mm256_castsi256_ps(_mm256_slli_epi32(upper, 16));
        overflowed += accumulate8(exact, _mm512_cvtps_pd(back), errorSquares, exactSquares);
      }
    }
    break;
  case FloatFormat::F32:
    for (; i + 8 <= count; i += 8) {
      __m512d exact = _mm512_loadu_pd(src + i);
      __m256 f = _mm512_cvtpd_ps(exact);
      _mm256_storeu_ps(reinterpret_cast<float *>(dst + 4 * i), f);
      if (stats)
        overflowed += accumulate8(exact, _mm512_cvtps_pd(f), errorSquares, exactSquares);
    }
    break;
  case FloatFormat::F64:
    break;
  }
  if (stats) {
    stats->errorSquares += _mm512_reduce_add_pd(errorSquares);
    stats->exactSquares += _mm512_reduce_add_pd(exactSquares);
    stats->overflowed += overflowed;
  }
  encodeScalar(format, src + i, dst + i * getByteWidth(format), count - i, stats);
}
#endif

} // namespace

void mlir::onnxir::decodeToDouble(FloatFormat format, const char *src, double *dst,
                                  size_t count) {
#ifdef NORM_OPT_HAVE_X86_CODEC
  switch (codecPath()) {
  case CodecPath::AVX512:
    return decodeVector512(format, src, dst, count);
  case CodecPath::AVX2:
    return decodeVector(format, src, dst, count);
  case CodecPath::Scalar:
    break;
  }
#endif
  decodeScalar(format, src, dst, count);
}

void mlir::onnxir::encodeFromDouble(FloatFormat format, const double *src, char *dst,
                                    size_t count, RoundingStats *stats) {
  if (stats)
    stats->count += count;
#ifdef NORM_OPT_HAVE_X86_CODEC
  switch (codecPath()) {
  case CodecPath::AVX512:
    return encodeVector512(format, src, dst, count, stats);
  case CodecPath::AVX2:
    return encodeVector(format, src, dst, count, stats);
  case CodecPath::Scalar:
    break;
  }
#endif
  encodeScalar(format, src, dst, count, stats);
}
