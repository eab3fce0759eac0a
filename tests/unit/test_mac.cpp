// Bit-level PE datapaths (models/mac): the integer fp32 unit against the host FPU, the PEs on
// hand-worked bit fields, and run_datapath on tiny hand-computed GEMMs of both families.
// Formats are test-local INumberFormat stand-ins (info() + element_value() per the definitions
// of i_number_format.h), so these tests do not depend on the real format implementations.
#include <catch2/catch.hpp>
#include <climits>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/mac/datapath_gemm.h"
#include "models/mac/fp32_arith.h"
#include "models/mac/pe.h"

using namespace lbsim;

namespace {

uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
float float_of(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
uint64_t bits_of_double(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

// Expected result of the bit-level unit given the FPU result: identical bits, except that every
// NaN must be the canonical quiet NaN.
bool same_result(uint32_t got, uint32_t fpu) {
  return fp32_is_nan(fpu) ? got == kFp32QuietNan : got == fpu;
}

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// Counts mismatches over many random cases and remembers the first, so one CHECK reports it.
struct MismatchLog {
  uint64_t count = 0;
  std::string first;
  void check(bool ok, const std::string& what) {
    if (!ok && count++ == 0) first = what;
  }
};

// Operands biased towards the interesting regions: uniform bit patterns, specials and edge
// values, subnormals, the top binades, and values near 1.
uint32_t random_fp32(std::mt19937_64& g) {
  static const uint32_t kEdges[] = {0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF,
                                    0x00800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000,
                                    0x7FC00000, 0x7F800001, 0xFFC00001, 0x3F800000, 0xBF800000,
                                    0x3F800001, 0x3FFFFFFF, 0x33800000, 0x4B800000};
  const uint64_t r = g();
  const uint32_t sign = static_cast<uint32_t>(r >> 63) << 31;
  const uint32_t man = static_cast<uint32_t>(r >> 8) & 0x7FFFFFu;
  switch (r % 8) {
    case 0:
    case 1:
    case 2:
      return static_cast<uint32_t>(r >> 16);
    case 3:
      return kEdges[(r >> 20) % (sizeof kEdges / sizeof kEdges[0])];
    case 4:
      return sign | (static_cast<uint32_t>((r >> 40) % 4) << 23) | man;
    case 5:
      return sign | (static_cast<uint32_t>(250 + (r >> 40) % 5) << 23) | man;
    default:
      return sign | (static_cast<uint32_t>(110 + (r >> 40) % 36) << 23) | man;
  }
}

// A second operand correlated with the first: near-cancellation, nearby exponents, or random.
uint32_t partner_fp32(std::mt19937_64& g, uint32_t a) {
  const uint64_t r = g();
  switch (r % 4) {
    case 0:
      return (a ^ kFp32SignMask) + static_cast<uint32_t>(r >> 32) % 5 - 2;
    case 1: {
      const int field = static_cast<int>((a >> 23) & 0xFF) + static_cast<int>((r >> 32) % 61) - 30;
      const uint32_t f = static_cast<uint32_t>(field < 0 ? 0 : field > 254 ? 254 : field);
      return (static_cast<uint32_t>(r >> 8) & 0x807FFFFFu) | (f << 23);
    }
    default:
      return random_fp32(g);
  }
}

Uint128 u128(uint64_t hi, uint64_t lo) { return (static_cast<Uint128>(hi) << 64) | lo; }

// ----------------------------------------------------------------------------- test formats

// Stand-in format: info() plus element_value() written from the definitions in
// i_number_format.h (value formulas, not bit-field decoding as in the PEs).
class TestFormat : public INumberFormat {
 public:
  explicit TestFormat(FormatInfo info) : m_info(std::move(info)) {}
  const FormatInfo& info() const override { return m_info; }
  double element_value(uint32_t code) const override {
    const FormatInfo& f = m_info;
    const uint32_t mask = f.code_bits == 32 ? 0xFFFFFFFFu : (1u << f.code_bits) - 1;
    code &= mask;
    const bool neg = (code >> (f.code_bits - 1)) & 1u;
    const double sgn = neg ? -1.0 : 1.0;
    switch (f.kind) {
      case ElementKind::kInt:
        return neg ? static_cast<double>(code) - std::ldexp(1.0, f.code_bits)
                   : static_cast<double>(code);
      case ElementKind::kLog: {
        const uint32_t c = code & ((1u << (f.code_bits - 1)) - 1);
        return c == 0 ? 0.0 : sgn * std::ldexp(1.0, static_cast<int>(c) - 1);
      }
      case ElementKind::kMls: {
        const int emax = (1 << f.exp_bits) - 1;
        const int fe = static_cast<int>((code >> f.man_bits) & ((1u << f.exp_bits) - 1));
        const double m =
            static_cast<double>(code & ((1u << f.man_bits) - 1)) / std::ldexp(1.0, f.man_bits);
        return fe > 0 ? sgn * std::ldexp(1.0 + m, fe - emax) : sgn * std::ldexp(m, 1 - emax);
      }
      case ElementKind::kFloat: {
        const int emask = (1 << f.exp_bits) - 1;
        const int fe = static_cast<int>((code >> f.man_bits) & static_cast<uint32_t>(emask));
        const uint32_t mf = code & ((1u << f.man_bits) - 1);
        if (fe == emask) {
          if (f.specials == FloatSpecials::kIeee) return mf == 0 ? sgn * HUGE_VAL : std::nan("");
          if (mf == (1u << f.man_bits) - 1) return std::nan("");
        }
        if (fe == 0) return sgn * std::ldexp(static_cast<double>(mf), 1 - f.bias - f.man_bits);
        return sgn *
               std::ldexp(static_cast<double>(mf | (1u << f.man_bits)), fe - f.bias - f.man_bits);
      }
    }
    return 0.0;
  }
  QTensor quantize(const TensorView&, const QuantContext&) const override {
    throw std::logic_error("test format: quantize is not used");
  }
  std::string describe() const override { return m_info.name; }

 private:
  FormatInfo m_info;
};

FormatInfo float_info(const std::string& name, int e, int m, int bias, FloatSpecials sp) {
  FormatInfo f;
  f.name = name;
  f.kind = ElementKind::kFloat;
  f.code_bits = 1 + e + m;
  f.exp_bits = e;
  f.man_bits = m;
  f.bias = bias;
  f.specials = sp;
  return f;
}
FormatInfo int_info(const std::string& name, int bits, int unit_log2 = 0) {
  FormatInfo f;
  f.name = name;
  f.kind = ElementKind::kInt;
  f.code_bits = bits;
  f.unit_log2 = unit_log2;
  f.group_scale_pow2 = false;
  return f;
}
FormatInfo log_info(const std::string& name, int bits) {
  FormatInfo f;
  f.name = name;
  f.kind = ElementKind::kLog;
  f.code_bits = bits;
  f.exp_bits = bits - 1;
  f.unit_log2 = 0;  // smallest nonzero magnitude 2^(1-1) = 1
  return f;
}
FormatInfo mls_info(const std::string& name, int m, int e) {
  FormatInfo f;
  f.name = name;
  f.kind = ElementKind::kMls;
  f.code_bits = 1 + e + m;
  f.exp_bits = e;
  f.man_bits = m;
  f.unit_log2 = 1 - ((1 << e) - 1) - m;  // value of f = 0, m = 1
  return f;
}

const FormatInfo kE4m3 = float_info("fp8_e4m3", 4, 3, 7, FloatSpecials::kFiniteNan);
const FormatInfo kE5m2 = float_info("fp8_e5m2", 5, 2, 15, FloatSpecials::kIeee);
const FormatInfo kInt8 = int_info("int8", 8);
const FormatInfo kInt4 = int_info("int4", 4);
const FormatInfo kLog4 = log_info("luq_fp4", 4);
const FormatInfo kMlsM1E2 = mls_info("mls_m1e2", 1, 2);  // unit 2^(1 - 3 - 1) = 2^-3
const FormatInfo kMlsM2E3 = mls_info("mls_m2e3", 2, 3);  // unit 2^(1 - 7 - 2) = 2^-8

const ScaleFactor kOne = ScaleFactor::power_of_two(0);

}  // namespace

// ============================================================================= fp32_arith

TEST_CASE("fp32_round: hand-worked guard/round/sticky cases", "[mac][fp32]") {
  CHECK(fp32_round(false, 0, 5) == 0x00000000u);
  CHECK(fp32_round(true, 0, 0) == 0x80000000u);  // signed zero
  // 2^24 + 1: exactly half an ulp above 2^24, ties to the even 2^24.
  CHECK(fp32_round(false, (1u << 24) + 1, 0) == 0x4B800000u);
  // 2^24 + 3: tie between 2^24 + 2 (odd significand) and 2^24 + 4 (even): up.
  CHECK(fp32_round(false, (1u << 24) + 3, 0) == 0x4B800002u);
  // 2^100 + 2^76 (+1) at 2^-100: 1 + 2^-24 is a tie -> 1.0; one sticky bit 2^-100 breaks it up.
  CHECK(fp32_round(false, u128(1ull << 36, 0) + u128(1ull << 12, 0), -100) == 0x3F800000u);
  CHECK(fp32_round(false, u128(1ull << 36, 0) + u128(1ull << 12, 0) + 1, -100) == 0x3F800001u);
  // 2^128 - 1 at 2^-128 = 1 - 2^-128 rounds up, carrying into the next binade: 1.0.
  CHECK(fp32_round(true, ~static_cast<Uint128>(0), -128) == 0xBF800000u);
  // 2^127 * 2^-277 = 2^-150: all 128 bits dropped, exact tie with 0 -> 0 (even).
  CHECK(fp32_round(false, u128(1ull << 63, 0), -277) == 0x00000000u);
  CHECK(fp32_round(false, u128(1ull << 63, 1), -277) == 0x00000001u);  // just above the tie
  CHECK(fp32_round(false, u128(1ull << 63, 1), -278) == 0x00000000u);  // < 2^-150
  // 3 * 2^-150 = 1.5 * 2^-149: tie between 1 and 2 subnormal ulps -> 2.
  CHECK(fp32_round(false, 3, -150) == 0x00000002u);
  // (2^24 - 1) * 2^-150: rounds up from the subnormal range into the smallest normal 2^-126.
  CHECK(fp32_round(false, (1u << 24) - 1, -150) == 0x00800000u);
  // (2^24 - 1) * 2^104 = max; one more half-ulp rounds to inf.
  CHECK(fp32_round(false, (1u << 24) - 1, 104) == 0x7F7FFFFFu);
  CHECK(fp32_round(false, (1u << 25) - 1, 103) == 0x7F800000u);
  CHECK(fp32_round(true, 1, INT_MAX) == 0xFF800000u);
  CHECK(fp32_round(false, 1, INT_MIN) == 0x00000000u);
}

TEST_CASE("fp32_round agrees with the FPU on random magnitudes", "[mac][fp32]") {
  std::mt19937_64 g(1);
  MismatchLog log;
  for (int i = 0; i < 1000000; ++i) {
    // Exact case: a <= 53-bit magnitude, possibly moved up in the 128-bit word, is exactly a
    // double; the double -> float conversion is then the one correct rounding.
    const int len = 1 + static_cast<int>(g() % 53);
    const uint64_t mag = (g() >> (64 - len)) | (uint64_t{1} << (len - 1));
    const int up = static_cast<int>(g() % 75);
    const int exp2 = static_cast<int>(g() % 600) - 400;
    const uint32_t want = bits_of(static_cast<float>(std::ldexp(static_cast<double>(mag), exp2)));
    log.check(fp32_round(false, static_cast<Uint128>(mag) << up, exp2 - up) == want,
              "mag " + hex(mag) + " exp2 " + std::to_string(exp2));
    // Sticky case: hi (>= 26 bits) followed by s nonzero low bits. The exact value lies strictly
    // between hi*2^s and (hi+1)*2^s, as does (2*hi+1)*2^(s-1); with the rounding point >= 3 bits
    // above, both round alike ("round to odd"), and the latter is exactly a double.
    const int hl = 26 + static_cast<int>(g() % 27);
    const uint64_t hi = (g() >> (64 - hl)) | (uint64_t{1} << (hl - 1));
    const int s = 1 + static_cast<int>(g() % 70);
    const Uint128 lo = s >= 64 ? (static_cast<Uint128>(g()) << (s - 64)) | g() | 1
                               : (static_cast<Uint128>(g() & ((uint64_t{1} << s) - 1)) | 1);
    const Uint128 wide = (static_cast<Uint128>(hi) << s) | lo;
    const int e2 = static_cast<int>(g() % 500) - 380;
    const uint32_t want2 =
        bits_of(static_cast<float>(std::ldexp(static_cast<double>(2 * hi + 1), e2 + s - 1)));
    log.check(fp32_round(true, wide, e2) == (want2 | kFp32SignMask),
              "sticky hi " + hex(hi) + " s " + std::to_string(s) + " e2 " + std::to_string(e2));
  }
  INFO("first mismatch: " << log.first);
  CHECK(log.count == 0);
}

TEST_CASE("fp32_add: edge cases", "[mac][fp32]") {
  CHECK(fp32_add(0x00000000, 0x80000000) == 0x00000000u);  // +0 + -0 = +0
  CHECK(fp32_add(0x80000000, 0x00000000) == 0x00000000u);
  CHECK(fp32_add(0x80000000, 0x80000000) == 0x80000000u);  // -0 + -0 = -0
  CHECK(fp32_add(0x3F800000, 0xBF800000) == 0x00000000u);  // 1 - 1 = +0
  CHECK(fp32_add(0x80000000, 0x3F800000) == 0x3F800000u);
  CHECK(fp32_add(0x7F800000, 0xFF800000) == kFp32QuietNan);  // inf - inf
  CHECK(fp32_add(0xFF800000, 0x7F7FFFFF) == 0xFF800000u);
  CHECK(fp32_add(0x7F800001, 0x3F800000) == kFp32QuietNan);  // signalling NaN -> canonical
  CHECK(fp32_add(0x3F800000, 0xFFC12345) == kFp32QuietNan);
  CHECK(fp32_add(0x7F7FFFFF, 0x7F7FFFFF) == 0x7F800000u);  // overflow to inf
  // Ties: 1 + 2^-24 is half an ulp of 1 -> stays 1 (even); (1 + 2^-23) + 2^-24 -> 1 + 2^-22.
  CHECK(fp32_add(0x3F800000, 0x33800000) == 0x3F800000u);
  CHECK(fp32_add(0x3F800001, 0x33800000) == 0x3F800002u);
  // (2 - 2^-23) + 2^-23 = 2: carry into the next binade.
  CHECK(fp32_add(0x3FFFFFFF, 0x34000000) == 0x40000000u);
  // Subnormals: 2^-149 + 2^-149; 2^-126 - 2^-149 = largest subnormal.
  CHECK(fp32_add(0x00000001, 0x00000001) == 0x00000002u);
  CHECK(fp32_add(0x00800000, 0x80000001) == 0x007FFFFFu);
  // 1 -+ 2^-149: far below half an ulp either way.
  CHECK(fp32_add(0x3F800000, 0x80000001) == 0x3F800000u);
  CHECK(fp32_add(0xBF800000, 0x00000001) == 0xBF800000u);
  // Massive cancellation: (1 + 2^-23) - 1 = 2^-23 exactly.
  CHECK(fp32_add(0x3F800001, 0xBF800000) == 0x34000000u);
}

TEST_CASE("fp32_add agrees with the FPU on 1e6 random pairs", "[mac][fp32]") {
  std::mt19937_64 g(2);
  MismatchLog log;
  for (int i = 0; i < 1000000; ++i) {
    const uint32_t a = random_fp32(g);
    const uint32_t b = partner_fp32(g, a);
    const uint32_t want = bits_of(float_of(a) + float_of(b));
    log.check(same_result(fp32_add(a, b), want), hex(a) + " + " + hex(b));
    log.check(same_result(fp32_add(b, a), want), hex(b) + " + " + hex(a));
  }
  INFO("first mismatch: " << log.first);
  CHECK(log.count == 0);
}

TEST_CASE("fp32_mul: edge cases", "[mac][fp32]") {
  CHECK(fp32_mul(0x7F800000, 0x00000000) == kFp32QuietNan);  // inf * 0
  CHECK(fp32_mul(0x80000000, 0xFF800000) == kFp32QuietNan);
  CHECK(fp32_mul(0xFF800000, 0x40000000) == 0xFF800000u);  // -inf * 2
  CHECK(fp32_mul(0x80000000, 0x40A00000) == 0x80000000u);  // -0 * 5 = -0
  CHECK(fp32_mul(0x80000000, 0xC0A00000) == 0x00000000u);  // -0 * -5 = +0
  // 2^-100 * 2^-40 = 2^-140 = 2^9 subnormal ulps.
  CHECK(fp32_mul(0x0D800000, 0x2B800000) == 0x00000200u);
  // 2^-75 * 2^-75 = 2^-150: tie with zero -> +0; 1.5*2^-75 * 2^-75 -> smallest subnormal.
  CHECK(fp32_mul(0x1A000000, 0x1A000000) == 0x00000000u);
  CHECK(fp32_mul(0x1A400000, 0x1A000000) == 0x00000001u);
  CHECK(fp32_mul(0x5F800000, 0x5F800000) == 0x7F800000u);  // 2^64 * 2^64 = inf
  // (1 + 2^-23)^2 = 1 + 2^-22 + 2^-46 -> 1 + 2^-22 (one rounding of the exact product).
  CHECK(fp32_mul(0x3F800001, 0x3F800001) == 0x3F800002u);
  // Offsets far outside the exponent range.
  CHECK(fp32_mul(0x3F800000, 0x3F800000, 127) == 0x7F000000u);
  CHECK(fp32_mul(0x3F800000, 0x3F800000, 128) == 0x7F800000u);
  CHECK(fp32_mul(0x3F800000, 0x3F800000, -149) == 0x00000001u);
  CHECK(fp32_mul(0x3F800000, 0xBF800000, -1000) == 0x80000000u);
  CHECK(fp32_mul(0x3F800000, 0x3F800000, INT_MAX) == 0x7F800000u);
  CHECK(fp32_mul(0x7F7FFFFF, 0x7F7FFFFF, INT_MIN) == 0x00000000u);
  // Subnormal x huge: 2^-149 * 2^127 * 2^22 = 1.
  CHECK(fp32_mul(0x00000001, 0x7F000000, 22) == 0x3F800000u);
}

TEST_CASE("fp32_mul agrees with the FPU on 1e6 random pairs and offsets", "[mac][fp32]") {
  std::mt19937_64 g(3);
  MismatchLog log;
  for (int i = 0; i < 1000000; ++i) {
    const uint32_t a = random_fp32(g);
    const uint32_t b = random_fp32(g);
    const int off = (g() % 3 == 0) ? 0 : static_cast<int>(g() % 801) - 400;
    // The double product of two floats is exact and scaling it by 2^off stays exact (or far
    // outside the fp32 range), so the double -> float conversion is the single rounding.
    const uint32_t want = bits_of(static_cast<float>(
        std::ldexp(static_cast<double>(float_of(a)) * static_cast<double>(float_of(b)), off)));
    log.check(same_result(fp32_mul(a, b, off), want),
              hex(a) + " * " + hex(b) + " * 2^" + std::to_string(off));
    if (off == 0)
      log.check(same_result(fp32_mul(a, b), bits_of(float_of(a) * float_of(b))),
                "plain " + hex(a) + " * " + hex(b));
  }
  INFO("first mismatch: " << log.first);
  CHECK(log.count == 0);
}

TEST_CASE("fp32_fma_exact: hand-worked sticky and sign cases", "[mac][fp32]") {
  // 1 + (2^63 + 1) * 2^-87 = 1 + 2^-24 + 2^-87: just above half an ulp of 1 -> 1 + 2^-23.
  CHECK(fp32_fma_exact(0x3F800000, false, (1ull << 63) + 1, -87) == 0x3F800001u);
  CHECK(fp32_fma_exact(0x3F800000, false, 1ull << 63, -87) == 0x3F800000u);  // exact tie
  // 1 - 2^-25: tie between 1 - 2^-24 (odd) and 1 (even) -> 1; a sticky bit more -> 1 - 2^-24.
  CHECK(fp32_fma_exact(0x3F800000, true, 1ull << 63, -88) == 0x3F800000u);
  CHECK(fp32_fma_exact(0x3F800000, true, (1ull << 63) + 1, -88) == 0x3F7FFFFFu);
  // Zero products keep IEEE zero signs.
  CHECK(fp32_fma_exact(0x00000000, true, 0, 0) == 0x00000000u);
  CHECK(fp32_fma_exact(0x80000000, true, 0, 0) == 0x80000000u);
  CHECK(fp32_fma_exact(0x80000000, false, 0, 0) == 0x00000000u);
  CHECK(fp32_fma_exact(0x80000000, false, 3, 0) == 0x40400000u);
  CHECK(fp32_fma_exact(0x40400000, true, 3, 0) == 0x00000000u);  // exact cancellation: +0
  CHECK(fp32_fma_exact(0xFF800000, false, 5, 3) == 0xFF800000u);
  CHECK(fp32_fma_exact(0x7FA00000, false, 5, 3) == kFp32QuietNan);
  // A full 64-bit significand far above the accumulator: (2^64 - 1) * 2^64 -> 2^128 = inf.
  CHECK(fp32_fma_exact(0x3F800000, false, ~0ull, 64) == 0x7F800000u);
  // ... and far below: acc 2^-126 + (2^64 - 1) * 2^-300 stays 2^-126.
  CHECK(fp32_fma_exact(0x00800000, true, ~0ull, -300) == 0x00800000u);
}

TEST_CASE("fp32_fma_exact agrees with the FPU fma on 1e6 random triples", "[mac][fp32]") {
  std::mt19937_64 g(4);
  MismatchLog log;
  for (int i = 0; i < 1000000; ++i) {
    uint32_t acc = random_fp32(g);
    uint32_t a = random_fp32(g);
    uint32_t b = (g() % 2) ? partner_fp32(g, a) : random_fp32(g);
    if (g() % 2) acc = partner_fp32(g, acc);
    if (fp32_is_nan(a) || fp32_is_inf(a)) a = 0x3F800000;  // the PE product is always finite
    if (fp32_is_nan(b) || fp32_is_inf(b)) b = 0x3FC00000;
    const Fp32Parts pa = fp32_decompose(a), pb = fp32_decompose(b);
    const uint64_t sig = static_cast<uint64_t>(pa.sig) * pb.sig;
    const uint32_t want = bits_of(std::fma(float_of(a), float_of(b), float_of(acc)));
    log.check(same_result(fp32_fma_exact(acc, pa.neg != pb.neg, sig, pa.exp2 + pb.exp2), want),
              "fma(" + hex(a) + ", " + hex(b) + ", " + hex(acc) + ")");
  }
  INFO("first mismatch: " << log.first);
  CHECK(log.count == 0);
}

TEST_CASE("fp32_fma_exact with 64-bit significands agrees with binary128", "[mac][fp32]") {
  // acc + sig * 2^e with sig up to 64 bits and exponents chosen so that the exact sum spans at
  // most 113 bits: then the binary128 sum is exact and its conversion to float is one rounding.
  std::mt19937_64 g(5);
  MismatchLog log;
  for (int i = 0; i < 200000; ++i) {
    uint32_t acc = random_fp32(g);
    if (fp32_is_nan(acc) || fp32_is_inf(acc)) acc = 0x3F800000;
    const Fp32Parts pa = fp32_decompose(acc);
    const int len = 1 + static_cast<int>(g() % 64);
    const uint64_t sig = (g() >> (64 - len)) | (uint64_t{1} << (len - 1));
    const bool neg = g() % 2;
    // Product lsb within [acc lsb - 24, acc lsb + 24].
    const int e = pa.exp2 + static_cast<int>(g() % 49) - 24;
    __extension__ __float128 p2 = 1;
    for (int k = 0; k < (e < 0 ? -e : e); ++k) p2 = e < 0 ? p2 / 2 : p2 * 2;
    __extension__ __float128 prod = static_cast<__float128>(sig) * p2;
    __extension__ __float128 sum = static_cast<__float128>(float_of(acc)) + (neg ? -prod : prod);
    const uint32_t want = bits_of(static_cast<float>(sum));
    log.check(same_result(fp32_fma_exact(acc, neg, sig, e), want),
              hex(acc) + " + " + (neg ? "-" : "") + hex(sig) + " * 2^" + std::to_string(e));
  }
  INFO("first mismatch: " << log.first);
  CHECK(log.count == 0);
}

TEST_CASE("int_to_fp32: edge cases and the FPU on 1e6 random integers", "[mac][fp32]") {
  CHECK(int_to_fp32(0) == 0x00000000u);
  CHECK(int_to_fp32(-1) == 0xBF800000u);
  CHECK(int_to_fp32(16777217) == 0x4B800000u);   // 2^24 + 1: tie -> 2^24
  CHECK(int_to_fp32(16777219) == 0x4B800002u);   // 2^24 + 3: tie -> 2^24 + 4 (even)
  CHECK(int_to_fp32(INT64_MIN) == 0xDF000000u);  // -2^63
  CHECK(int_to_fp32(INT64_MAX) == 0x5F000000u);  // rounds up to 2^63
  std::mt19937_64 g(6);
  MismatchLog log;
  for (int i = 0; i < 1000000; ++i) {
    const int64_t v = static_cast<int64_t>(g()) >> (g() % 64);
    log.check(int_to_fp32(v) == bits_of(static_cast<float>(v)), std::to_string(v));
  }
  INFO("first mismatch: " << log.first);
  CHECK(log.count == 0);
}

TEST_CASE("fp32_scale_pow2: edge cases and the FPU on 1e6 random values", "[mac][fp32]") {
  CHECK(fp32_scale_pow2(0x3F800000, 127) == 0x7F000000u);
  CHECK(fp32_scale_pow2(0x3F800000, 128) == 0x7F800000u);
  CHECK(fp32_scale_pow2(0x3F800000, -149) == 0x00000001u);
  CHECK(fp32_scale_pow2(0x3F800000, -150) == 0x00000000u);  // tie with 0 -> even
  CHECK(fp32_scale_pow2(0x3FC00000, -150) == 0x00000001u);  // 1.5 * 2^-150 -> up
  CHECK(fp32_scale_pow2(0x00000001, 149) == 0x3F800000u);
  CHECK(fp32_scale_pow2(0x3F800000, INT_MAX) == 0x7F800000u);
  CHECK(fp32_scale_pow2(0xBF800000, INT_MIN) == 0x80000000u);
  CHECK(fp32_scale_pow2(0xFF800000, -1000) == 0xFF800000u);
  CHECK(fp32_scale_pow2(0x7F800001, 3) == kFp32QuietNan);
  CHECK(fp32_scale_pow2(0x80000000, 1000) == 0x80000000u);
  std::mt19937_64 g(7);
  MismatchLog log;
  for (int i = 0; i < 1000000; ++i) {
    const uint32_t x = random_fp32(g);
    const int e = static_cast<int>(g() % 801) - 400;
    const uint32_t want =
        bits_of(static_cast<float>(std::ldexp(static_cast<double>(float_of(x)), e)));
    log.check(same_result(fp32_scale_pow2(x, e), want), hex(x) + " * 2^" + std::to_string(e));
  }
  INFO("first mismatch: " << log.first);
  CHECK(log.count == 0);
}

TEST_CASE("fp32_from_f64_bits agrees with the FPU double -> float conversion", "[mac][fp32]") {
  CHECK(fp32_from_f64_bits(bits_of_double(0.1)) == bits_of(0.1f));
  CHECK(fp32_from_f64_bits(bits_of_double(-0.0)) == 0x80000000u);
  CHECK(fp32_from_f64_bits(bits_of_double(1e300)) == 0x7F800000u);
  CHECK(fp32_from_f64_bits(bits_of_double(std::nan(""))) == kFp32QuietNan);
  std::mt19937_64 g(8);
  MismatchLog log;
  for (int i = 0; i < 1000000; ++i) {
    uint64_t b = g();
    if (g() % 2) {  // exponent near the binary32 range
      const uint64_t field = 1023 - 160 + g() % 300;
      b = (b & 0x800FFFFFFFFFFFFFull) | (field << 52);
    }
    double d;
    std::memcpy(&d, &b, 8);
    log.check(same_result(fp32_from_f64_bits(b), bits_of(static_cast<float>(d))), hex(b));
  }
  INFO("first mismatch: " << log.first);
  CHECK(log.count == 0);
}

// ============================================================================= scales

TEST_CASE("ScaleFactor decodes doubles and combines per the contract", "[mac][scale]") {
  ScaleFactor s = ScaleFactor::from_double(0.5);
  CHECK((s.pow2 && s.exp2 == -1));
  s = ScaleFactor::from_double(std::ldexp(1.0, -500));
  CHECK((s.pow2 && s.exp2 == -500));
  s = ScaleFactor::from_double(std::ldexp(1.0, -1074));  // binary64 subnormal power of two
  CHECK((s.pow2 && s.exp2 == -1074));
  s = ScaleFactor::from_double(3.0);
  CHECK((!s.pow2 && s.bits == 0x40400000u));
  s = ScaleFactor::from_double(-2.0);  // not a (positive) power of two: an fp32 value
  CHECK((!s.pow2 && s.bits == 0xC0000000u));
  s = ScaleFactor::from_double(static_cast<double>(0.1f));
  CHECK((!s.pow2 && s.bits == bits_of(0.1f)));

  // Both pow2: exact, even far outside fp32: 2^-300 * 2^-300 * 2^-6 = 2^-606.
  s = combine_scales(ScaleFactor::power_of_two(-300), ScaleFactor::power_of_two(-300), -6);
  CHECK((s.pow2 && s.exp2 == -606));
  // Mixed: 2^-1 * 3 = 1.5 (one rounding, exact here).
  s = combine_scales(ScaleFactor::power_of_two(-1), ScaleFactor::fp32(0x40400000), 0);
  CHECK((!s.pow2 && s.bits == 0x3FC00000u));
  // fp32 x fp32: (1 + 2^-23)^2 * 2^1 = 2 + 2^-21 + 2^-45 -> 2 + 2^-21 (0x40000002).
  s = combine_scales(ScaleFactor::fp32(0x3F800001), ScaleFactor::fp32(0x3F800001), 1);
  CHECK((!s.pow2 && s.bits == 0x40000002u));
  // apply_scale: 3 * 2^-151 = 0.75 * 2^-149 is nearer 2^-149 than 0 -> 0x00000001.
  CHECK(apply_scale(0x40400000, ScaleFactor::power_of_two(-151)) == 0x00000001u);
  CHECK(apply_scale(0x40400000, ScaleFactor::fp32(0x3FC00000)) == 0x40900000u);  // 3*1.5=4.5
}

// ============================================================================= fixed PE

TEST_CASE("FixedPe int8 x int8 with an 8-bit accumulator: saturate and wrap", "[mac][pe]") {
  // 120 + 10 = 130 > 127.
  FixedPe sat(kInt8, false, kInt8, false, {8, OverflowPolicy::kSaturate});
  sat.mac(120, 1);
  CHECK(sat.accumulator() == 120);
  CHECK(sat.counters.acc_overflows == 0);
  sat.mac(10, 1);
  CHECK(sat.accumulator() == 127);
  CHECK(sat.counters.acc_overflows == 1);
  // -1 * 0: zero-gated, no product, no overflow event.
  sat.mac(0xFF, 0);
  CHECK(sat.counters.macs == 3);
  CHECK(sat.counters.products == 2);
  CHECK(sat.counters.shifts == 0);
  // 127 + (-128)(-128) = 16511 -> 127 again (counted); 127 + (-128) * 2 = -129 -> -128.
  sat.mac(0x80, 0x80);
  CHECK(sat.accumulator() == 127);
  sat.mac(0x80, 2);
  CHECK(sat.accumulator() == -128);
  CHECK(sat.counters.acc_overflows == 3);

  // Wrap: 130 - 256 = -126.
  FixedPe wrap(kInt8, false, kInt8, false, {8, OverflowPolicy::kWrap});
  wrap.mac(120, 1);
  wrap.mac(10, 1);
  CHECK(wrap.accumulator() == -126);
  CHECK(wrap.counters.acc_overflows == 1);
  // -126 + (-3)(5) = -141 -> -141 + 256 = 115.
  wrap.mac(0xFD, 5);
  CHECK(wrap.accumulator() == 115);
  CHECK(wrap.counters.acc_overflows == 2);
  // close: c = 115, both scales 1, unit 2^0 -> F = 115.
  wrap.close_segment(kOne, kOne);
  CHECK(wrap.fp32_sum() == bits_of(115.0f));
  CHECK(wrap.accumulator() == 0);
  CHECK(wrap.counters.segment_closes == 1);
}

TEST_CASE("FixedPe int4 x log: the log operand is a shift of the integer", "[mac][pe]") {
  FixedPe pe(kInt4, false, kLog4, false, {32, OverflowPolicy::kSaturate});
  pe.mac(3, 3);  // 3 * (log c=3 -> 1 << 2) = 12
  CHECK(pe.accumulator() == 12);
  CHECK(pe.counters.shifts == 1);
  pe.mac(3, 0xB);  // log 0b1011: sign, c = 3 -> -4: 12 - 12 = 0
  CHECK(pe.accumulator() == 0);
  pe.mac(0xD, 0xB);  // int4 0xD = -3; -3 * -4 = +12
  CHECK(pe.accumulator() == 12);
  pe.mac(7, 1);  // log c=1 -> 1: no shift, 12 + 7 = 19
  CHECK(pe.accumulator() == 19);
  CHECK(pe.counters.shifts == 3);
  pe.mac(5, 0x8);  // log 0b1000: c = 0 is zero (sign ignored)
  CHECK(pe.accumulator() == 19);
  CHECK(pe.counters.products == 4);
  CHECK(pe.unit_log2() == 0);

  // Unsigned int4 activations: code 0xF = 15 (not -1); 15 * (c=2 -> 2) = 30.
  FixedPe upe(kInt4, true, kLog4, false, {32, OverflowPolicy::kSaturate});
  upe.mac(0xF, 2);
  CHECK(upe.accumulator() == 30);
}

TEST_CASE("FixedPe MLS <M=1,E=2> x MLS: bit fields, segment close with group scales", "[mac][pe]") {
  // Emax = 3, unit 2^(1-3-1) = 2^-3 per operand, 2^-6 per product.
  FixedPe pe(kMlsM1E2, false, kMlsM1E2, false, {16, OverflowPolicy::kSaturate});
  CHECK(pe.unit_log2() == -6);
  // a = 0b0111: s=0 f=3 m=1 -> sig (1<<1)|1 = 3, shift 2 -> 12 units = 1.5
  // b = 0b1010: s=1 f=1 m=0 -> sig -2, shift 0 -> -2 units = -0.25
  // term = 3 * -2 << 2 = -24 (units of 2^-6 = -0.375 = 1.5 * -0.25)
  pe.mac(0x7, 0xA);
  CHECK(pe.accumulator() == -24);
  // a = 0b0001: f=0 m=1 (subnormal) -> sig 1, shift 0 = 2^-3
  // b = 0b0100: f=2 m=0 -> sig 2, shift 1 -> 4 units = 0.5
  // term = 1 * 2 << 1 = 4
  pe.mac(0x1, 0x4);
  CHECK(pe.accumulator() == -20);
  CHECK(pe.counters.shifts == 2);
  // close: c = -20, g = 2^-1 * 2^-3 * 2^-6 = 2^-10 -> v = -20 * 2^-10 = -0.01953125
  //   = -1.25 * 2^-6: sign 1, exponent field 121 = 0x79, mantissa 0.25 -> 0xBCA00000.
  pe.close_segment(ScaleFactor::power_of_two(-1), ScaleFactor::power_of_two(-3));
  CHECK(pe.fp32_sum() == 0xBCA00000u);
  CHECK(float_of(pe.fp32_sum()) == -0.01953125f);
  // Second segment: a = 0b0110 (f=3 m=0 -> 1.0 = sig 2 << 2 = 8 units), b = 0b0110 -> 64,
  // g = 1 * 2^-6 -> v = 1.0; F = 1 - 0.01953125 = 0.98046875. ts = 2^-100 * 2^-100 (exact:
  // 2^-200 is not an fp32 value, but the product is never rounded) then y = F * 2^-200 -> 0
  // in fp32, whereas ts = 2^-100 * 2^90 gives y = F * 2^-10.
  pe.mac(0x6, 0x6);
  CHECK(pe.accumulator() == 64);
  pe.close_segment(kOne, kOne);
  CHECK(float_of(pe.fp32_sum()) == 0.98046875f);
  CHECK(pe.finish(ScaleFactor::power_of_two(-100), ScaleFactor::power_of_two(90)) ==
        bits_of(0.98046875f / 1024));
  CHECK(pe.finish(ScaleFactor::power_of_two(-100), ScaleFactor::power_of_two(-100)) == 0u);
  // Tensor scales 2^-100 * 2^-30 = 2^-130 exactly: y = 0.98046875 * 2^-130 = 251 * 2^-138
  // = 251 * 2^11 subnormal ulps (exact) -> bits 251 << 11.
  CHECK(pe.finish(ScaleFactor::power_of_two(-100), ScaleFactor::power_of_two(-30)) == (251u << 11));
  CHECK(pe.counters.segment_closes == 2);
}

TEST_CASE("FixedPe: fp32 group scales round once, pow2 group scales are exact", "[mac][pe]") {
  FixedPe pe(kInt8, false, kInt8, false, {32, OverflowPolicy::kSaturate});
  // g = RNE((1 + 2^-23)^2) = 1 + 2^-22; c = 3; v = 3 + 3 * 2^-22 = 2 * (1.5 + 3 * 2^-23):
  // exactly representable: 3.0 (0x40400000) plus 3 ulps of 2^-22 -> 0x40400003.
  pe.mac(3, 1);
  pe.close_segment(ScaleFactor::fp32(0x3F800001), ScaleFactor::fp32(0x3F800001));
  CHECK(pe.fp32_sum() == 0x40400003u);
  // pow2 group scales 2^200 and 2^-190 (2^200 is no fp32 value): g = 2^10 exactly, c = 1
  // -> v = 1024; F = 1027 + 3 * 2^-22 rounds to 1027 (ulp at 1024 is 2^-13).
  pe.mac(1, 1);
  pe.close_segment(ScaleFactor::from_double(std::ldexp(1.0, 200)),
                   ScaleFactor::from_double(std::ldexp(1.0, -190)));
  CHECK(pe.fp32_sum() == bits_of(1027.0f));
  // Non-pow2 tensor scales: ts = RNE(0.1f * 3), y = RNE(1027 * ts), checked through double.
  const float ts = static_cast<float>(static_cast<double>(0.1f) * 3.0);
  const float want = static_cast<float>(1027.0 * static_cast<double>(ts));
  CHECK(pe.finish(ScaleFactor::from_double(static_cast<double>(0.1f)),
                  ScaleFactor::from_double(3.0)) == bits_of(want));
}

TEST_CASE("FixedPe: terms far beyond the accumulator", "[mac][pe]") {
  const FormatInfo log17 = log_info("log17", 17);  // exponent codes up to 65535
  FixedPe sat(log17, false, kInt8, false, {64, OverflowPolicy::kSaturate});
  FixedPe wrap(log17, false, kInt8, false, {64, OverflowPolicy::kWrap});
  for (FixedPe* pe : {&sat, &wrap}) {
    pe->mac(64, 1);   // 2^63 * 1 > INT64_MAX: wraps to -2^63
    pe->mac(65, 1);   // 2^64: wrap keeps the value (2^64 = 0 mod 2^64)
    pe->mac(101, 3);  // 3 * 2^100: |term| >= 2^65
  }
  CHECK(sat.accumulator() == INT64_MAX);
  CHECK(sat.counters.acc_overflows == 3);
  CHECK(wrap.accumulator() == INT64_MIN);
  CHECK(wrap.counters.acc_overflows == 3);
  sat.mac((1u << 16) | 101, 1);  // -2^100 from INT64_MAX: saturates low
  CHECK(sat.accumulator() == INT64_MIN);
}

TEST_CASE("FixedPe: a declared unit finer than the encoding scales every term", "[mac][pe]") {
  // int4 declared with unit 2^-2: the element 3 is 12 units, 3 * log(c=3) = 48 units of 2^-2.
  const FormatInfo fine = int_info("int4_fine", 4, -2);
  FixedPe pe(fine, false, kLog4, false, {32, OverflowPolicy::kSaturate});
  pe.mac(3, 3);
  CHECK(pe.accumulator() == 48);
  pe.close_segment(kOne, kOne);
  CHECK(pe.fp32_sum() == bits_of(12.0f));
  // A coarser declared unit than the encoding is a broken format.
  CHECK_THROWS_AS(FixedPe(int_info("bad", 4, 1), false, kLog4, false, {}), std::logic_error);
  CHECK_THROWS_AS(FixedPe(kInt8, false, kInt8, false, {65, OverflowPolicy::kWrap}), UserError);
  // Unsigned 32-bit codes could make a product exceed 63 bits: not supported.
  CHECK_THROWS_AS(FixedPe(int_info("uint32", 32), true, kInt8, false, {}), std::logic_error);
  CHECK_NOTHROW(FixedPe(int_info("int32", 32), false, kInt8, false, {}));
}

TEST_CASE("FixedPe terms equal the element values for every code pair", "[mac][pe]") {
  // Property: one MAC into an empty 64-bit accumulator gives exactly
  // element_value(a) * element_value(b) / 2^(unit_a + unit_b), computed from the value formulas.
  struct Fmt {
    FormatInfo info;
    bool uns;
  };
  const std::vector<Fmt> fmts = {{kInt4, false},    {kInt4, true},     {kLog4, false},
                                 {kMlsM1E2, false}, {kMlsM2E3, false}, {kInt8, false}};
  MismatchLog log;
  for (const Fmt& fa : fmts) {
    for (const Fmt& fb : fmts) {
      const TestFormat ta(fa.info), tb(fb.info);
      FixedPe pe(fa.info, fa.uns, fb.info, fb.uns, {64, OverflowPolicy::kWrap});
      for (uint32_t ca = 0; ca < (1u << fa.info.code_bits); ++ca) {
        for (uint32_t cb = 0; cb < (1u << fb.info.code_bits); ++cb) {
          pe.reset();
          pe.mac(ca, cb);
          const double va = fa.uns ? static_cast<double>(ca) : ta.element_value(ca);
          const double vb = fb.uns ? static_cast<double>(cb) : tb.element_value(cb);
          const double want = std::ldexp(va * vb, -pe.unit_log2());
          log.check(static_cast<double>(pe.accumulator()) == want,
                    fa.info.name + " " + std::to_string(ca) + " x " + fb.info.name + " " +
                        std::to_string(cb));
        }
      }
    }
  }
  INFO("first mismatch: " << log.first);
  CHECK(log.count == 0);
}

// ============================================================================= float PE

TEST_CASE("FloatPe e4m3 x e4m3: exact products, one rounding per MAC", "[mac][pe]") {
  FloatPe pe(kE4m3, kE4m3);
  // 448 (0x7E = 0 1111 110, finite in OCP E4M3) squared = 200704 = 1.53125 * 2^17
  //   -> exponent field 144, mantissa 17 * 2^18 = 0x440000 -> 0x48440000; ulp = 2^-6.
  pe.mac(0x7E, 0x7E);
  CHECK(pe.accumulator() == 0x48440000u);
  // 2^-9 (0x01, subnormal) * 4 (0x48) = 2^-7 = half an ulp, significand lsb even -> unchanged.
  pe.mac(0x01, 0x48);
  CHECK(pe.accumulator() == 0x48440000u);
  // 1.5 (0x3C) * 2^-6 (0x08) = 1.5 ulp: tie between +1 ulp (odd) and +2 ulp (even) -> +2 ulp.
  pe.mac(0x3C, 0x08);
  CHECK(pe.accumulator() == 0x48440002u);
  // -448 * 448: exact cancellation leaves the 2 ulps = 2^-5 (0x3D000000).
  pe.mac(0xFE, 0x7E);
  CHECK(pe.accumulator() == 0x3D000000u);
  CHECK(pe.counters.macs == 4);
  CHECK(pe.counters.products == 4);
  // y = RNE(F * 2^-1 * 1) = 2^-6.
  CHECK(pe.finish(ScaleFactor::power_of_two(-1), kOne) == 0x3C800000u);
  // Zero operands: 0 * -x adds -0 to +2^-5: unchanged, zero-gated.
  pe.mac(0x00, 0xC0);
  CHECK(pe.accumulator() == 0x3D000000u);
  CHECK(pe.counters.products == 4);
  // NaN (S.1111.111) poisons the sum.
  pe.mac(0x7F, 0x38);
  CHECK(pe.accumulator() == kFp32QuietNan);
  pe.mac(0x38, 0x38);
  CHECK(pe.finish(kOne, kOne) == kFp32QuietNan);

  pe.reset();
  CHECK(pe.accumulator() == 0u);
  pe.mac(0x80, 0x38);  // -0 * 1 = -0; +0 + -0 = +0
  CHECK(pe.accumulator() == 0u);
}

TEST_CASE("FloatPe e5m2: IEEE infinities and NaN", "[mac][pe]") {
  FloatPe pe(kE5m2, kE5m2);
  pe.mac(0x7C, 0x00);  // inf * 0
  CHECK(pe.accumulator() == kFp32QuietNan);
  pe.reset();
  pe.mac(0x3C, 0x3C);  // 1
  pe.mac(0x7C, 0xBC);  // inf * -1 = -inf
  CHECK(pe.accumulator() == 0xFF800000u);
  pe.mac(0x3C, 0x3C);  // -inf + 1 = -inf
  CHECK(pe.accumulator() == 0xFF800000u);
  pe.mac(0x7C, 0x7C);  // -inf + inf = NaN
  CHECK(pe.accumulator() == kFp32QuietNan);
  pe.reset();
  pe.mac(0x7D, 0x3C);  // NaN code
  CHECK(pe.accumulator() == kFp32QuietNan);
  // e5m2 max 57344 = 1.75 * 2^15 (0x7B): 57344^2 * 2^k overflows only through the tensor scale.
  pe.reset();
  pe.mac(0x7B, 0x7B);
  CHECK(pe.accumulator() == bits_of(57344.0f * 57344.0f));
  CHECK(pe.finish(ScaleFactor::power_of_two(100), kOne) == 0x7F800000u);
}

TEST_CASE("FloatPe e4m3 x e5m2 random chains equal the FPU fma chain", "[mac][pe]") {
  // Every e4m3 x e5m2 product is exact in float (<= 7 significant bits, magnitudes within
  // [2^-25, 2^25]), so fmaf(a, b, F) is exactly the contract step F = RNE(F + a*b).
  const TestFormat fa(kE4m3), fb(kE5m2);
  std::mt19937_64 g(9);
  MismatchLog log;
  for (int chain = 0; chain < 20000; ++chain) {
    FloatPe pe(kE4m3, kE5m2);
    float f = 0.0f;
    const int len = 1 + static_cast<int>(g() % 40);
    std::string trace;
    for (int k = 0; k < len; ++k) {
      // Mostly finite codes; specials (e5m2 inf/NaN, e4m3 NaN) now and then.
      uint32_t ca = static_cast<uint32_t>(g() % 256), cb = static_cast<uint32_t>(g() % 256);
      if (g() % 16 != 0) {
        if ((ca & 0x7F) == 0x7F) ca ^= 1;
        if ((cb & 0x7C) == 0x7C) cb &= 0xF3;
      }
      pe.mac(ca, cb);
      f = std::fma(static_cast<float>(fa.element_value(ca)),
                   static_cast<float>(fb.element_value(cb)), f);
      trace += " " + hex(ca) + "x" + hex(cb);
      if (!same_result(pe.accumulator(), bits_of(f))) break;
    }
    log.check(same_result(pe.accumulator(), bits_of(f)), trace);
  }
  INFO("first mismatch:" << log.first);
  CHECK(log.count == 0);
}

// ============================================================================= run_datapath

namespace {

std::shared_ptr<const INumberFormat> make_test_format(const FormatInfo& info) {
  return std::make_shared<TestFormat>(info);
}

QTensor make_q(const FormatInfo& info, int64_t rows, int64_t cols, std::vector<uint32_t> codes,
               double tensor_scale, std::vector<double> group_scale) {
  QTensor q;
  q.format = make_test_format(info);
  q.shape = {rows, cols};
  q.codes = std::move(codes);
  q.tensor_scale = tensor_scale;
  q.groups = GroupMap::per_tensor(q.shape);
  q.group_scale = std::move(group_scale);
  return q;
}

GemmOperand make_operand(const QTensor& q) {
  GemmOperand op;
  op.q = &q;
  op.rows = q.shape[0];
  op.cols = q.shape[1];
  op.codes = q.codes;
  op.group.assign(q.codes.size(), 0);
  return op;
}

}  // namespace

TEST_CASE("run_datapath: 2x3x2 fixed-point GEMM (int4 x log) with two K segments", "[mac][gemm]") {
  // A (int4) = [[1, -2, 3], [4, 5, -6]];  B (log) = [[1, 2], [4, -1], [0, 8]]
  // log codes: 1 -> c=1, 2 -> c=2, 4 -> c=3, -1 -> 0b1001, 0 -> 0, 8 -> c=4.
  const QTensor qa = make_q(kInt4, 2, 3, {1, 0xE, 3, 4, 5, 0xA}, 1.0, {0.5, 0.25});
  const QTensor qb = make_q(kLog4, 3, 2, {1, 2, 3, 9, 0, 4}, 0.5, {2.0});
  GemmProblem p;
  p.m = 2;
  p.n = 2;
  p.k = 3;
  p.a = make_operand(qa);
  p.b = make_operand(qb);
  p.k_segment = {0, 0, 1};
  p.num_segments = 2;
  p.a_seg_group = {0, 1,         // row 0: segment 0 -> group 0 (0.5), segment 1 -> group 1 (0.25)
                   1, 0};        // row 1: segment 0 -> 0.25, segment 1 -> 0.5
  p.b_seg_group = {0, 0, 0, 0};  // every column, every segment: 2.0
  // g = ga * 2: row 0 -> (1, 0.5), row 1 -> (0.5, 1); ts = 1 * 0.5.
  // C00: seg0 1*1 - 2*4 = -7 (g 1) -> -7; seg1 3*0 = 0          -> F = -7    -> y = -3.5
  // C01: seg0 1*2 + 2 = 4 (g 1) -> 4;     seg1 3*8 = 24 (g 0.5) -> F = 16    -> y = 8
  // C10: seg0 4 + 20 = 24 (g 0.5) -> 12;  seg1 -6*0 = 0          -> F = 12    -> y = 6
  // C11: seg0 8 - 5 = 3 (g 0.5) -> 1.5;   seg1 -48 (g 1)          -> F = -46.5 -> y = -23.25
  GemmResult r = run_datapath(p, {32, OverflowPolicy::kSaturate});
  CHECK(r.c == std::vector<float>{-3.5f, 8.0f, 6.0f, -23.25f});
  CHECK(r.acc_overflows == 0);

  // 5-bit accumulator [-16, 15], saturating: C01 seg1 24 -> 15 (7.5, F 11.5, y 5.75);
  // C10 seg0 4 -> 24 -> 15 (7.5, y 3.75); C11 seg1 -48 -> -16 (F 1.5 - 16, y -7.25).
  r = run_datapath(p, {5, OverflowPolicy::kSaturate});
  CHECK(r.c == std::vector<float>{-3.5f, 5.75f, 3.75f, -7.25f});
  CHECK(r.acc_overflows == 3);
  // Wrapping: 24 -> -8 (C01: 4 - 4 = 0; C10: -4, y -2); -48 -> -16 (C11 as above).
  r = run_datapath(p, {5, OverflowPolicy::kWrap});
  CHECK(r.c == std::vector<float>{-3.5f, 0.0f, -2.0f, -7.25f});
  CHECK(r.acc_overflows == 3);

  // A padding-only segment group (-1) counts as scale 1: row 1 segment 1 -> g = 1 * 2 = 2:
  // C10 = (12 + 0) * 0.5 = 6, C11 = (1.5 - 96) * 0.5 = -47.25.
  p.a_seg_group = {0, 1, 1, -1};
  r = run_datapath(p, {32, OverflowPolicy::kSaturate});
  CHECK(r.c == std::vector<float>{-3.5f, 8.0f, 6.0f, -47.25f});
}

TEST_CASE("run_datapath: 2x3x2 float GEMM (e4m3 x e5m2) and mixed families", "[mac][gemm]") {
  // A (e4m3) = [[1, 2, -0.5], [3, 0.25, 448]]: 0x38 0x40 0xB0 / 0x44 0x28 0x7E
  // B (e5m2) = [[1, -1], [0.5, 2], [4, 0.125]]: 0x3C 0xBC / 0x38 0x40 / 0x44 0x30
  // ts = RNE(2 * 0.75) = 1.5
  // C00 = 1 + 1 - 2 = +0 -> +0;  C01 = -1 + 4 - 0.0625 = 2.9375 -> 4.40625
  // C10 = 3 + 0.125 + 1792 = 1795.125 -> 2692.6875;  C11 = -3 + 0.5 + 56 = 53.5 -> 80.25
  const QTensor qa = make_q(kE4m3, 2, 3, {0x38, 0x40, 0xB0, 0x44, 0x28, 0x7E}, 2.0, {1.0});
  const QTensor qb = make_q(kE5m2, 3, 2, {0x3C, 0xBC, 0x38, 0x40, 0x44, 0x30}, 0.75, {1.0});
  GemmProblem p;
  p.m = 2;
  p.n = 2;
  p.k = 3;
  p.a = make_operand(qa);
  p.b = make_operand(qb);
  const GemmResult r = run_datapath(p, {});
  CHECK(r.c == std::vector<float>{0.0f, 4.40625f, 2692.6875f, 80.25f});
  CHECK(bits_of(r.c[0]) == 0u);  // +0, not -0
  CHECK(r.acc_overflows == 0);

  // float x fixed cannot share an array: UserError naming both formats.
  const QTensor qi = make_q(kInt4, 3, 2, {1, 2, 3, 4, 5, 6}, 1.0, {1.0});
  p.b = make_operand(qi);
  p.k_segment = {0, 0, 0};
  p.num_segments = 1;
  p.a_seg_group = {0, 0};
  p.b_seg_group = {0, 0};
  CHECK_THROWS_WITH(run_datapath(p, {}), Catch::Contains("fp8_e4m3") && Catch::Contains("int4"));
  CHECK_THROWS_AS(run_datapath(p, {}), UserError);
}
