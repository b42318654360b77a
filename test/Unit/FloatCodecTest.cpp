//===- FloatCodecTest.cpp - FloatCodec against APFloat --------------------===//
//
// Checks the fast conversions of FloatCodec bit for bit against LLVM's
// APFloat, the slow reference the folds used before: every fp16 and bf16
// pattern decoded, and float64 values rounded to fp32/fp16/bf16 (random
// magnitudes over the whole range, the exact midpoints between neighbours
// and their one-ulp neighbours, the subnormal and overflow boundaries), each
// through the vector path (long arrays) and the scalar one (array tails).
// Also checks the whole-tensor rounding figure against a direct computation.
// Prints the number of mismatches per check and exits 1 if any.
//
//===----------------------------------------------------------------------===//
#include "norm-opt/Dialect/ONNX/IR/FloatCodec.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace mlir::onnxir;

namespace {

const llvm::fltSemantics &semanticsOf(FloatFormat format) {
  switch (format) {
  case FloatFormat::F32:
    return llvm::APFloat::IEEEsingle();
  case FloatFormat::F16:
    return llvm::APFloat::IEEEhalf();
  case FloatFormat::BF16:
    return llvm::APFloat::BFloat();
  case FloatFormat::F64:
    return llvm::APFloat::IEEEdouble();
  }
  return llvm::APFloat::IEEEdouble();
}

uint64_t referenceBits(FloatFormat format, double value) {
  llvm::APFloat f(value);
  bool lostInfo;
  f.convert(semanticsOf(format), llvm::APFloat::rmNearestTiesToEven, &lostInfo);
  return f.bitcastToAPInt().getZExtValue();
}

uint64_t storedBits(FloatFormat format, const char *p) {
  uint64_t bits = 0;
  std::memcpy(&bits, p, getByteWidth(format)); // little-endian
  return bits;
}

bool sameValue(uint64_t a, uint64_t b, FloatFormat format) {
  if (a == b)
    return true;
  // Any NaN matches any NaN.
  llvm::APFloat x(semanticsOf(format), llvm::APInt(getByteWidth(format) * 8, a));
  llvm::APFloat y(semanticsOf(format), llvm::APInt(getByteWidth(format) * 8, b));
  return x.isNaN() && y.isNaN();
}

int checkDecode(FloatFormat format, const char *label) {
  std::vector<uint16_t> patterns(65536);
  for (uint32_t i = 0; i < 65536; ++i)
    patterns[i] = uint16_t(i);
  std::vector<double> decoded(patterns.size());
  decodeToDouble(format, reinterpret_cast<const char *>(patterns.data()), decoded.data(),
                 patterns.size());
  int mismatches = 0;
  for (uint32_t i = 0; i < 65536; ++i) {
    double expected =
        llvm::APFloat(semanticsOf(format), llvm::APInt(16, i)).convertToDouble();
    if (!(decoded[i] == expected || (std::isnan(decoded[i]) && std::isnan(expected)) ||
          (decoded[i] == 0 && expected == 0 &&
           std::signbit(decoded[i]) == std::signbit(expected))))
      ++mismatches;
    if (decoded[i] == 0 && std::signbit(decoded[i]) != std::signbit(expected))
      ++mismatches;
  }
  llvm::outs() << "decode " << label << ": 65536 patterns, " << mismatches << " mismatches\n";
  return mismatches;
}

/// Values that stress rounding to `format`.
std::vector<double> encodeCases(FloatFormat format, std::mt19937_64 &rng) {
  std::vector<double> cases;
  std::uniform_real_distribution<double> mantissa(1.0, 2.0);
  std::uniform_int_distribution<int> exponent(-160, 140);
  for (int i = 0; i < 200000; ++i) {
    double v = std::ldexp(mantissa(rng), exponent(rng));
    cases.push_back(i % 2 ? v : -v);
  }
  // Midpoints between neighbouring values of the format, exact in float64,
  // and the float64 values next to them (ties and near-ties).
  if (format != FloatFormat::F64) {
    unsigned bits = getByteWidth(format) * 8;
    std::uniform_int_distribution<uint64_t> pattern(0, (uint64_t(1) << bits) - 2);
    for (int i = 0; i < 100000; ++i) {
      uint64_t p = pattern(rng);
      llvm::APFloat a(semanticsOf(format), llvm::APInt(bits, p));
      llvm::APFloat b(semanticsOf(format), llvm::APInt(bits, p + 1));
      if (!a.isFinite() || !b.isFinite())
        continue;
      double mid = (a.convertToDouble() + b.convertToDouble()) / 2;
      cases.push_back(mid);
      cases.push_back(std::nextafter(mid, 0.0));
      cases.push_back(std::nextafter(mid, mid * 2 + 1));
    }
  }
  for (double v : {0.0, -0.0, 65504.0, 65519.99, 65520.0, 65536.0, 1e300, -1e300, 6e-8,
                   2.9802322387695312e-08, 5.960464477539063e-08, 1e-320, 3.4028235677973366e+38,
                   3.4e38, 3.5e38, std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN()})
    cases.push_back(v);
  return cases;
}

int checkEncode(FloatFormat format, const char *label, std::mt19937_64 &rng) {
  std::vector<double> cases = encodeCases(format, rng);
  size_t width = getByteWidth(format);
  int mismatches = 0;
  // Vector path: the whole array; scalar path: one element at a time.
  std::vector<char> vectorOut(cases.size() * width), scalarOut(width);
  encodeFromDouble(format, cases.data(), vectorOut.data(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    uint64_t expected = referenceBits(format, cases[i]);
    if (!sameValue(storedBits(format, vectorOut.data() + i * width), expected, format))
      ++mismatches;
    encodeFromDouble(format, &cases[i], scalarOut.data(), 1);
    if (!sameValue(storedBits(format, scalarOut.data()), expected, format))
      ++mismatches;
  }
  llvm::outs() << "encode " << label << ": " << cases.size() << " values, " << mismatches
               << " mismatches\n";
  return mismatches;
}

int checkStats(FloatFormat format, const char *label, std::mt19937_64 &rng) {
  std::normal_distribution<double> normal(0.0, 0.02);
  std::vector<double> values(10001);
  for (double &v : values)
    v = normal(rng);
  values[7] = 1e6; // overflows fp16 only
  std::vector<char> out(values.size() * getByteWidth(format));
  RoundingStats stats;
  encodeFromDouble(format, values.data(), out.data(), values.size(), &stats);
  double errorSquares = 0, exactSquares = 0;
  int64_t overflowed = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    llvm::APFloat f(values[i]);
    bool lostInfo;
    f.convert(semanticsOf(format), llvm::APFloat::rmNearestTiesToEven, &lostInfo);
    if (f.isInfinity()) {
      ++overflowed;
      continue;
    }
    double e = f.convertToDouble() - values[i];
    errorSquares += e * e;
    exactSquares += values[i] * values[i];
  }
  double expected = std::sqrt(errorSquares / exactSquares);
  int bad = (overflowed != stats.overflowed ||
             std::fabs(expected - stats.relativeError()) > 1e-9 * std::max(expected, 1e-30));
  llvm::outs() << "stats " << label << ": relative error " << stats.relativeError()
               << " (reference " << expected << "), overflowed " << stats.overflowed
               << " (reference " << overflowed << "), " << bad << " mismatches\n";
  return bad;
}

} // namespace

int main() {
  std::mt19937_64 rng(20261206);
  int mismatches = 0;
  mismatches += checkDecode(FloatFormat::F16, "fp16");
  mismatches += checkDecode(FloatFormat::BF16, "bf16");
  mismatches += checkEncode(FloatFormat::F16, "fp16", rng);
  mismatches += checkEncode(FloatFormat::BF16, "bf16", rng);
  mismatches += checkEncode(FloatFormat::F32, "fp32", rng);
  mismatches += checkStats(FloatFormat::F16, "fp16", rng);
  mismatches += checkStats(FloatFormat::BF16, "bf16", rng);
  llvm::outs() << "total mismatches: " << mismatches << "\n";
  return mismatches ? 1 : 0;
}
