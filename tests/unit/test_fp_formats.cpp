// IEEE-style float formats: the exact codec (models/numerics/float_codec.h) and the registered
// formats fp32, fp16, bf16, fp8_e4m3, fp8_e5m2 (models/numerics/impl/fp_formats.cpp).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/numerics/float_codec.h"
#include "models/numerics/i_number_format.h"
#include "models/numerics/random_tensor.h"
#include "models/numerics/rng.h"
#include "tests/unit/stat_test.h"

using namespace lbsim;

namespace {

uint32_t enc(double x, const FloatLayout& l, bool saturate = false) {
  return float_encode(x, l, false, 0.0, saturate);
}

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

FormatPtr fmt_of(const std::string& spec) { return make_format(spec, SourceLoc{"<cmdline>"}); }

QTensor quant(const FormatPtr& f, const std::vector<float>& data, uint64_t seed = 0,
              uint64_t tensor_id = 0) {
  Tensor t{{static_cast<int64_t>(data.size())}, data};
  QuantContext ctx;
  ctx.role = Role::kError;
  ctx.seed = seed;
  ctx.tensor_id = tensor_id;
  return f->quantize(t, ctx);
}

std::string user_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

bool is_even_code(uint32_t c) { return (c & 1u) == 0; }

}  // namespace

TEST_CASE("Layout constants: max finite, min subnormal, NaN/inf codes", "[fp][codec]") {
  // fp32 max = (2 - 2^-23) * 2^127, bf16 max = (2 - 2^-7) * 2^127.
  CHECK(float_max_finite(kFp32Layout) == std::ldexp(2.0 - std::ldexp(1.0, -23), 127));
  CHECK(float_max_finite(kFp32Layout) == static_cast<double>(std::numeric_limits<float>::max()));
  CHECK(float_max_finite(kBf16Layout) == std::ldexp(2.0 - std::ldexp(1.0, -7), 127));
  CHECK(float_max_finite(kFp16Layout) == 65504.0);     // 1.1111111111b * 2^15
  CHECK(float_max_finite(kFp8E4M3Layout) == 448.0);    // 1.110b * 2^8 (1.111b * 2^8 is NaN)
  CHECK(float_max_finite(kFp8E5M2Layout) == 57344.0);  // 1.11b * 2^15
  CHECK(float_max_finite_code(kFp8E4M3Layout) == 0x7E);
  CHECK(float_max_finite_code(kFp8E5M2Layout) == 0x7B);
  CHECK(float_max_finite_code(kFp16Layout) == 0x7BFF);
  // Smallest subnormal 2^(1 - bias - M).
  CHECK(float_min_subnormal(kFp32Layout) == std::ldexp(1.0, -149));
  CHECK(float_min_subnormal(kFp16Layout) == std::ldexp(1.0, -24));
  CHECK(float_min_subnormal(kBf16Layout) == std::ldexp(1.0, -133));
  CHECK(float_min_subnormal(kFp8E4M3Layout) == std::ldexp(1.0, -9));
  CHECK(float_min_subnormal(kFp8E5M2Layout) == std::ldexp(1.0, -16));
  // Canonical NaN: exponent all ones + top mantissa bit (IEEE), S.1111.111 (E4M3).
  CHECK(float_nan_code(kFp32Layout) == 0x7FC00000u);
  CHECK(float_nan_code(kFp16Layout) == 0x7E00u);
  CHECK(float_nan_code(kBf16Layout) == 0x7FC0u);
  CHECK(float_nan_code(kFp8E5M2Layout) == 0x7Eu);
  CHECK(float_nan_code(kFp8E4M3Layout) == 0x7Fu);
  CHECK(float_inf_code(kFp8E5M2Layout) == 0x7Cu);
  CHECK(float_inf_code(kFp32Layout) == 0x7F800000u);
  CHECK_THROWS_AS(float_inf_code(kFp8E4M3Layout), std::logic_error);
  CHECK(float_code_bits(kFp8E4M3Layout) == 8);
  CHECK(float_code_bits(kBf16Layout) == 16);
  // Unsupported layouts are programming errors.
  CHECK_THROWS_AS(check_float_layout({1, 3, 0, FloatSpecials::kIeee}), std::logic_error);
  CHECK_THROWS_AS(check_float_layout({8, 0, 127, FloatSpecials::kIeee}), std::logic_error);
  CHECK_THROWS_AS(check_float_layout({11, 23, 1023, FloatSpecials::kIeee}), std::logic_error);
  CHECK_NOTHROW(check_float_layout(kFp8E4M3Layout));
}

TEST_CASE("fp16 hand-derived encodings", "[fp][codec]") {
  // 1/3 = 1.0101...b * 2^-2: biased exponent 13 = 01101, mantissa floor(0.333.. * 1024) = 341 =
  // 0x155 with remainder 1/3 < 1/2 -> 0 01101 0101010101 = 0x3555.
  CHECK(enc(1.0 / 3.0, kFp16Layout) == 0x3555);
  CHECK(enc(-1.0 / 3.0, kFp16Layout) == 0xB555);
  CHECK(enc(1.0, kFp16Layout) == 0x3C00);
  CHECK(enc(65504.0, kFp16Layout) == 0x7BFF);
  // Top binade ulp = 2^(15-10) = 32. 65520 = 65504 + 16 is the tie to 65536 (mantissa 2047 is
  // odd, so ties-to-even goes up) -> overflow -> inf, or max finite when saturating.
  CHECK(enc(65520.0, kFp16Layout) == 0x7C00);
  CHECK(enc(-65520.0, kFp16Layout) == 0xFC00);
  CHECK(enc(65520.0, kFp16Layout, true) == 0x7BFF);
  CHECK(enc(65519.0, kFp16Layout) == 0x7BFF);
  CHECK(enc(1e10, kFp16Layout) == 0x7C00);
  CHECK(enc(1e10, kFp16Layout, true) == 0x7BFF);
  // Subnormals: quantum 2^-24.
  CHECK(enc(std::ldexp(1.0, -24), kFp16Layout) == 0x0001);
  CHECK(enc(std::ldexp(1.0, -25), kFp16Layout) == 0x0000);      // tie 0 / 1 quantum -> even 0
  CHECK(enc(-std::ldexp(1.0, -25), kFp16Layout) == 0x8000);     // keeps the sign: -0
  CHECK(enc(3 * std::ldexp(1.0, -26), kFp16Layout) == 0x0001);  // 0.75 quantum -> 1
  CHECK(enc(3 * std::ldexp(1.0, -25), kFp16Layout) == 0x0002);  // 1.5 quanta tie -> even 2
  CHECK(enc(std::ldexp(1.0, -14), kFp16Layout) == 0x0400);      // min normal
  // 2^-14 - 2^-25 = 1023.5 quanta: tie between 0x03FF and 0x0400 -> even 1024 = min normal.
  CHECK(enc(std::ldexp(1.0, -14) - std::ldexp(1.0, -25), kFp16Layout) == 0x0400);
  CHECK(enc(0.0, kFp16Layout) == 0x0000);
  CHECK(enc(-0.0, kFp16Layout) == 0x8000);
  CHECK(enc(std::numeric_limits<double>::infinity(), kFp16Layout) == 0x7C00);
  CHECK(enc(-std::numeric_limits<double>::infinity(), kFp16Layout, true) == 0xFBFF);
  CHECK(enc(std::numeric_limits<double>::quiet_NaN(), kFp16Layout) == 0x7E00);
  CHECK(enc(std::numeric_limits<double>::quiet_NaN(), kFp16Layout, true) == 0x7E00);
  // A tiny double subnormal still underflows to a signed zero.
  CHECK(enc(-std::numeric_limits<double>::denorm_min(), kFp16Layout) == 0x8000);
  // Decode.
  CHECK(float_decode(0x3555, kFp16Layout) == 1365.0 / 4096.0);  // (1024 + 341) * 2^(13-15-10)
  CHECK(float_decode(0x0001, kFp16Layout) == std::ldexp(1.0, -24));
  CHECK(std::isinf(float_decode(0xFC00, kFp16Layout)));
  CHECK(float_decode(0xFC00, kFp16Layout) < 0);
  CHECK(std::isnan(float_decode(0x7C01, kFp16Layout)));
  CHECK(std::signbit(float_decode(0x8000, kFp16Layout)));
}

TEST_CASE("bf16 hand-derived encodings", "[fp][codec]") {
  CHECK(enc(1.0, kBf16Layout) == 0x3F80);
  // Quantum at 1 is 2^-7. 1 + 2^-8 = 128.5 quanta: tie -> even 128 -> 0x3F80.
  CHECK(enc(1.0 + std::ldexp(1.0, -8), kBf16Layout) == 0x3F80);
  // 1 + 3 * 2^-8 = 129.5 quanta: tie -> even 130 -> mantissa 2 -> 0x3F82.
  CHECK(enc(1.0 + 3 * std::ldexp(1.0, -8), kBf16Layout) == 0x3F82);
  CHECK(enc(1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -30), kBf16Layout) == 0x3F81);
  CHECK(enc(-2.0, kBf16Layout) == 0xC000);
  CHECK(enc(std::ldexp(1.0, -133), kBf16Layout) == 0x0001);
  CHECK(enc(1e39, kBf16Layout) == 0x7F80);
  CHECK(enc(1e39, kBf16Layout, true) == 0x7F7F);
}

TEST_CASE("fp8_e4m3 hand-derived encodings (no inf, S.1111.111 is NaN)", "[fp][codec]") {
  const FloatLayout& l = kFp8E4M3Layout;
  CHECK(enc(448.0, l) == 0x7E);
  CHECK(enc(-448.0, l) == 0xFE);
  // Top binade [256, 512) has ulp 2^(8-3) = 32. 464 = 448 + 16 is the tie between 448
  // (mantissa 110, even) and 480 (mantissa 111, which is the NaN code): ties-to-even picks 448,
  // with or without saturation.
  CHECK(enc(464.0, l, false) == 0x7E);
  CHECK(enc(464.0, l, true) == 0x7E);
  // Above the tie the unbounded rounding gives 480 -> overflow -> NaN, or 448 when saturating.
  CHECK(enc(465.0, l, false) == 0x7F);
  CHECK(enc(465.0, l, true) == 0x7E);
  CHECK(enc(-465.0, l, true) == 0xFE);
  CHECK(enc(1e6, l, false) == 0x7F);
  // The all-ones exponent binade is finite: 256 = 1.000b * 2^8 -> 0 1111 000 = 0x78.
  CHECK(enc(256.0, l) == 0x78);
  CHECK(float_decode(0x78, l) == 256.0);
  CHECK(float_decode(0x7E, l) == 448.0);
  CHECK(std::isnan(float_decode(0x7F, l)));
  CHECK(std::isnan(float_decode(0xFF, l)));
  // Subnormal quantum 2^(1-7-3) = 2^-9; min normal 2^-6 = 0 0001 000 = 0x08.
  CHECK(enc(std::ldexp(1.0, -9), l) == 0x01);
  CHECK(enc(std::ldexp(1.0, -10), l) == 0x00);      // tie -> even 0
  CHECK(enc(3 * std::ldexp(1.0, -11), l) == 0x01);  // 0.75 quantum
  CHECK(enc(std::ldexp(1.0, -6), l) == 0x08);
  CHECK(enc(7 * std::ldexp(1.0, -9), l) == 0x07);  // largest subnormal
  CHECK(enc(1.0, l) == 0x38);                      // biased exponent 7: 0 0111 000
  // +-inf: saturate -> +-448; otherwise NaN (no inf). NaN -> 0x7F.
  CHECK(enc(std::numeric_limits<double>::infinity(), l, true) == 0x7E);
  CHECK(enc(-std::numeric_limits<double>::infinity(), l, true) == 0xFE);
  CHECK(enc(-std::numeric_limits<double>::infinity(), l, false) == 0x7F);
  CHECK(enc(std::numeric_limits<double>::quiet_NaN(), l, true) == 0x7F);
}

TEST_CASE("fp8_e5m2 hand-derived encodings", "[fp][codec]") {
  const FloatLayout& l = kFp8E5M2Layout;
  CHECK(enc(57344.0, l) == 0x7B);  // 1.11b * 2^15: 0 11110 11
  CHECK(enc(std::numeric_limits<double>::infinity(), l) == 0x7C);
  CHECK(enc(-std::numeric_limits<double>::infinity(), l) == 0xFC);
  CHECK(enc(std::ldexp(1.0, -16), l) == 0x01);
  CHECK(enc(std::ldexp(1.0, -14), l) == 0x04);  // min normal: 0 00001 00
  // Top ulp 2^13 = 8192; 57344 + 4096 = 61440 is a tie, mantissa 11 odd -> up -> overflow.
  CHECK(enc(61440.0, l) == 0x7C);
  CHECK(enc(61440.0, l, true) == 0x7B);
  CHECK(enc(61439.0, l) == 0x7B);
  CHECK(enc(1.5, l) == 0x3E);  // 0 01111 10
  CHECK(std::isinf(float_decode(0x7C, l)));
  CHECK(std::isnan(float_decode(0x7D, l)));
  CHECK(enc(std::numeric_limits<double>::quiet_NaN(), l) == 0x7E);
}

TEST_CASE("fp8: every code round-trips and codes are ordered like values", "[fp][codec]") {
  for (const FloatLayout& l : {kFp8E4M3Layout, kFp8E5M2Layout}) {
    int nans = 0;
    for (uint32_t c = 0; c < 256; ++c) {
      double v = float_decode(c, l);
      if (std::isnan(v)) {
        ++nans;
        continue;
      }
      // Representable values are fixed points of both rounding modes and both overflow modes
      // (inf round-trips only without saturation).
      if (!std::isinf(v)) {
        CHECK(float_encode(v, l, false, 0.0, true) == c);
        CHECK(float_encode(v, l, true, 0.999999, true) == c);
      }
      CHECK(float_encode(v, l, false, 0.0, false) == c);
      CHECK(float_encode(v, l, true, 0.0, false) == c);
    }
    // E4M3: 0x7F, 0xFF. E5M2: exponent 11111 with mantissa 01, 10, 11, both signs.
    CHECK(nans == (l.specials == FloatSpecials::kFiniteNan ? 2 : 6));
    // Positive codes up to max finite decode strictly increasing.
    for (uint32_t c = 1; c <= float_max_finite_code(l); ++c)
      CHECK(float_decode(c, l) > float_decode(c - 1, l));
  }
}

TEST_CASE("fp8 nearest matches a brute-force search over all codes", "[fp][codec]") {
  std::mt19937_64 gen(12345);
  for (const FloatLayout& l : {kFp8E4M3Layout, kFp8E5M2Layout}) {
    const double maxf = float_max_finite(l);
    std::vector<uint32_t> finite;
    for (uint32_t c = 0; c < 256; ++c)
      if (std::isfinite(float_decode(c, l))) finite.push_back(c);
    std::uniform_real_distribution<double> mant(0.0, 1.0);
    for (int i = 0; i < 20000; ++i) {
      // Log-uniform magnitudes from below the smallest subnormal to above max finite, plus
      // exact midpoints between neighbouring codes (the ties).
      double x;
      if (i % 4 == 0) {
        // Code c + 1 is the next larger magnitude with the same sign.
        uint32_t c = finite[gen() % finite.size()];
        uint32_t d = c + 1;
        if (d > 0xFF || !std::isfinite(float_decode(d, l)) || (d & 0x7F) == 0) continue;
        x = 0.5 * (float_decode(c, l) + float_decode(d, l));
      } else {
        x = std::ldexp(1.0 + mant(gen), static_cast<int>(gen() % 40) - 24);
        if (gen() & 1) x = -x;
      }
      if (x == 0.0) continue;
      // Saturating, so the brute force over finite codes is the reference for every x.
      uint32_t got = float_encode(x, l, false, 0.0, true);
      double best = std::numeric_limits<double>::infinity();
      for (uint32_t c : finite) best = std::fmin(best, std::fabs(float_decode(c, l) - x));
      double got_v = float_decode(got, l);
      INFO("x = " << x << " got code " << got << " = " << got_v);
      REQUIRE(std::fabs(got_v - x) == best);
      REQUIRE(std::signbit(got_v) == std::signbit(x));
      // On a tie between two finite neighbours, the even mantissa wins.
      int ties = 0;
      for (uint32_t c : finite)
        if (std::fabs(float_decode(c, l) - x) == best &&
            std::signbit(float_decode(c, l)) == std::signbit(x))
          ++ties;
      if (ties == 2) REQUIRE(is_even_code(got));
      // Non-saturating: overflow exactly when the saturating result is max finite and x lies
      // beyond the overflow threshold.
      uint32_t ns = float_encode(x, l, false, 0.0, false);
      if (std::fabs(x) <= maxf) REQUIRE(ns == got);
    }
  }
}

TEST_CASE("Stochastic rounding: threshold rule and unbiasedness", "[fp][codec]") {
  const FloatLayout& l = kFp8E4M3Layout;
  // 1.09375 = 1 + 0.75 * 0.125 lies between 1.0 (0x38) and 1.125 (0x39), frac = 0.75:
  // up iff u < 0.75.
  const double x = 1.09375;
  CHECK(float_encode(x, l, true, 0.0, true) == 0x39);
  CHECK(float_encode(x, l, true, 0.7499999, true) == 0x39);
  CHECK(float_encode(x, l, true, 0.75, true) == 0x38);
  CHECK(float_encode(-x, l, true, 0.5, true) == 0xB9);  // magnitude rounds up: -1.125
  // Subnormal: 0.25 quantum above 0 -> up (to 2^-9) iff u < 0.25.
  CHECK(float_encode(std::ldexp(1.0, -11), l, true, 0.2, true) == 0x01);
  CHECK(float_encode(std::ldexp(1.0, -11), l, true, 0.3, true) == 0x00);
  // Above max: 448 + 8 is a quarter ulp above 448; rounding up overflows (NaN or 448 saturated).
  CHECK(float_encode(456.0, l, true, 0.1, false) == 0x7F);
  CHECK(float_encode(456.0, l, true, 0.1, true) == 0x7E);
  CHECK(float_encode(456.0, l, true, 0.5, false) == 0x7E);

  // Unbiased through the format: fp8_e4m3 without scaling, a constant tensor of 1.1 (between 1.0
  // and 1.125, p(up) = 0.8): the ups are Binomial(n, p) (exact test, tests/unit/stat_test.h).
  auto f = fmt_of("fp8_e4m3:rounding=stochastic,scale=none");
  const int n = 40000;
  const float xf = 1.1f;
  QTensor q = quant(f, std::vector<float>(n, xf), 7, 3);
  int64_t ups = 0;
  for (int i = 0; i < n; ++i) {
    double v = q.value(i);
    REQUIRE((v == 1.0 || v == 1.125));
    ups += v == 1.125;
  }
  const double p = (static_cast<double>(xf) - 1.0) / 0.125;
  INFO(stat::binomial_text(ups, n, p));
  CHECK(stat::binomial_accepts(ups, n, p));

  // Same in fp16 for a value between two subnormals: x = 2.3 quanta of 2^-24.
  auto h = fmt_of("fp16:rounding=stochastic");
  const float xs = static_cast<float>(std::ldexp(2.3, -24));
  QTensor qh = quant(h, std::vector<float>(n, xs), 1, 1);
  int64_t hups = 0;
  for (int i = 0; i < n; ++i) {
    const double v = qh.value(i);
    REQUIRE((v == std::ldexp(2.0, -24) || v == std::ldexp(3.0, -24)));
    hups += v == std::ldexp(3.0, -24);
  }
  const double ph = static_cast<double>(xs) / std::ldexp(1.0, -24) - 2.0;
  INFO(stat::binomial_text(hups, n, ph));
  CHECK(stat::binomial_accepts(hups, n, ph));
}

TEST_CASE("Stochastic draws use CounterRng(seed, tensor_id).uniform(index); determinism",
          "[fp][format]") {
  auto f = fmt_of("fp8_e5m2:rounding=stochastic,scale=none");
  std::vector<float> data;
  for (int i = 0; i < 1000; ++i) data.push_back(1.0f + 0.01f * static_cast<float>(i % 97));
  QTensor a = quant(f, data, 11, 5);
  QTensor b = quant(f, data, 11, 5);
  QTensor c = quant(f, data, 12, 5);
  QTensor d = quant(f, data, 11, 6);
  CHECK(a.codes == b.codes);
  CHECK(a.codes != c.codes);
  CHECK(a.codes != d.codes);
  const CounterRng rng(11, 5);
  for (size_t i = 0; i < data.size(); ++i)
    REQUIRE(a.codes[i] == float_encode(data[i], kFp8E5M2Layout, true,
                                       rng.uniform(static_cast<uint64_t>(i)), false));
  // Nearest ignores the seed.
  auto g = fmt_of("fp8_e5m2:scale=none");
  CHECK(quant(g, data, 1, 1).codes == quant(g, data, 2, 9).codes);
}

TEST_CASE("fp32 with scale=none is the identity on fp32 bits (NaN canonicalised)", "[fp][format]") {
  auto f = fmt_of("fp32");
  const std::vector<uint32_t> in = {0x00000000, 0x80000000, 0x00000001, 0x807FFFFF,
                                    0x00800000, 0x3F800000, 0xC0490FDB, 0x7F7FFFFF,
                                    0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x3EAAAAAB};
  std::vector<float> data;
  for (uint32_t u : in) data.push_back(float_of(u));
  data.push_back(float_of(0x7FC00001));  // NaN with payload
  data.push_back(float_of(0xFFC00000));  // negative NaN
  QTensor q = quant(f, data);
  CHECK(q.tensor_scale == 1.0);
  for (size_t i = 0; i < in.size(); ++i) CHECK(q.codes[i] == in[i]);
  CHECK(q.codes[in.size()] == 0x7FC00000u);
  CHECK(q.codes[in.size() + 1] == 0x7FC00000u);
  // value() reproduces the input exactly.
  for (size_t i = 0; i < in.size(); ++i)
    CHECK(bits_of(static_cast<float>(q.value(static_cast<int64_t>(i)))) == in[i]);
  // Random bit patterns.
  std::mt19937 gen(3);
  std::vector<float> rnd;
  std::vector<uint32_t> rbits;
  for (int i = 0; i < 5000; ++i) {
    uint32_t u = gen();
    if (std::isnan(float_of(u))) continue;
    rbits.push_back(u);
    rnd.push_back(float_of(u));
  }
  QTensor r = quant(f, rnd);
  CHECK(r.codes == rbits);
}

TEST_CASE("Tensor scaling: max|x| maps to max finite", "[fp][format]") {
  SECTION("power-of-two quotient, hand example") {
    // amax = 3.5: s = 3.5 / 448 = 2^-7 exactly. Elements: 1 / 2^-7 = 128 = 2^7 -> 0 1110 000 =
    // 0x70; -3.5 -> -448 -> 0xFE; 0.5 -> 64 = 2^6 -> 0 1101 000 = 0x68; 0 -> 0x00; -0 -> 0x80.
    QTensor q = quant(fmt_of("fp8_e4m3"), {1.0f, -3.5f, 0.5f, 0.0f, -0.0f});
    CHECK(q.tensor_scale == std::ldexp(1.0, -7));
    CHECK(q.codes == std::vector<uint32_t>{0x70, 0xFE, 0x68, 0x00, 0x80});
    CHECK(q.values() == std::vector<double>{1.0, -3.5, 0.5, 0.0, -0.0});
    CHECK(q.role == Role::kError);
    CHECK(q.groups.num_groups() == 1);
    CHECK(q.group_scale == std::vector<double>{1.0});
    CHECK(q.shape == Shape{5});
  }
  SECTION("fp32-rounded scale") {
    // amax = 1: 1/448 = 2^-9 * 1.001001001...b; 23 mantissa bits 00100100100100100100100 are
    // followed by 1001... (> half) -> round up: mantissa 0x124925, exponent 118 -> 0x3B124925.
    // 1 / s = 447.99998 -> 448 = 0x7E.
    QTensor q = quant(fmt_of("fp8_e4m3"), {0.25f, 1.0f, -0.5f});
    CHECK(bits_of(static_cast<float>(q.tensor_scale)) == 0x3B124925u);
    CHECK(static_cast<double>(static_cast<float>(q.tensor_scale)) == q.tensor_scale);
    CHECK(q.codes[1] == 0x7E);
    // 0.25 / s = 111.999995 -> exponent 6 (biased 13), 111.99 / 8 = 13.99 -> 14 -> 1.110b * 2^6 =
    // 112 = 0 1101 110 = 0x6E; -0.5 / s = -223.99999 -> -224 = 1.110b * 2^7 -> 0xF6.
    CHECK(q.codes[0] == 0x6E);
    CHECK(q.codes[2] == 0xF6);
  }
  SECTION("scale_pow2 rounds the scale up to a power of two") {
    // amax = 1: 448 * 2^-9 = 0.875 < 1 <= 448 * 2^-8 = 1.75 -> s = 2^-8; 1 / s = 256 -> 0x78.
    QTensor q = quant(fmt_of("fp8_e4m3:scale_pow2=true"), {1.0f, -0.125f});
    CHECK(q.tensor_scale == std::ldexp(1.0, -8));
    CHECK(q.codes == std::vector<uint32_t>{0x78, 0xE0});  // -32 = -2^5: 1 1100 000
    // amax exactly 448 * 2^k keeps s = 2^k: amax = 57344 in e5m2 -> s = 1.
    QTensor e = quant(fmt_of("fp8_e5m2:scale_pow2=true"), {57344.0f, 1.0f});
    CHECK(e.tensor_scale == 1.0);
    CHECK(e.codes[0] == 0x7B);
  }
  SECTION("tiny tensors: s is clamped to the smallest normal fp32 2^-126") {
    // bf16: 1 / max_finite = 1 / ((2 - 2^-7) * 2^127) < 2^-126 -> s = 2^-126; 1 / s = 2^126 ->
    // biased exponent 253 -> 0 11111101 0000000 = 0x7E80.
    QTensor b = quant(fmt_of("bf16:scale=tensor"), {1.0f});
    CHECK(b.tensor_scale == std::ldexp(1.0, -126));
    CHECK(b.codes == std::vector<uint32_t>{0x7E80});
    // e4m3: 2^-120 / 448 < 2^-126 -> s = 2^-126; x / s = 2^6 -> 0 1101 000 = 0x68.
    QTensor e = quant(fmt_of("fp8_e4m3"), {static_cast<float>(std::ldexp(1.0, -120))});
    CHECK(e.tensor_scale == std::ldexp(1.0, -126));
    CHECK(e.codes == std::vector<uint32_t>{0x68});
    QTensor p =
        quant(fmt_of("fp8_e4m3:scale_pow2=true"), {static_cast<float>(std::ldexp(1.0, -120))});
    CHECK(p.tensor_scale == std::ldexp(1.0, -126));
  }
  SECTION("all-zero tensor: s = 1") {
    QTensor q = quant(fmt_of("fp8_e5m2"), {0.0f, -0.0f, 0.0f});
    CHECK(q.tensor_scale == 1.0);
    CHECK(q.codes == std::vector<uint32_t>{0x00, 0x80, 0x00});
  }
  SECTION("random tensors, every format") {
    std::mt19937_64 gen(99);
    for (const std::string spec :
         {"fp8_e4m3", "fp8_e5m2", "fp8_e4m3:scale_pow2=true", "fp8_e5m2:scale_pow2=true",
          "fp16:scale=tensor", "bf16:scale=tensor", "fp8_e4m3:saturate=false",
          "fp8_e5m2:saturate=false", "fp32:scale=tensor", "bf16:scale=tensor,scale_pow2=true"}) {
      auto f = fmt_of(spec);
      const FloatLayout l = float_layout_of(f->info());
      const uint32_t max_code = float_max_finite_code(l);
      for (int trial = 0; trial < 200; ++trial) {
        std::vector<float> data(17);
        const int e = static_cast<int>(gen() % 200) - 120;
        for (auto& v : data)
          v = static_cast<float>(std::ldexp(static_cast<double>(gen() >> 11) * 0x1p-53 - 0.5, e));
        QTensor q = quant(f, data);
        size_t imax = 0;
        for (size_t i = 0; i < data.size(); ++i)
          if (std::fabs(data[i]) > std::fabs(data[imax])) imax = i;
        INFO(spec << " amax = " << data[imax] << " s = " << q.tensor_scale);
        REQUIRE(static_cast<double>(static_cast<float>(q.tensor_scale)) == q.tensor_scale);
        const double amax = std::fabs(static_cast<double>(data[imax]));
        const double maxf = float_max_finite(l);
        // The exact-mapping property needs an unclamped scale (amax / maxf >= 2^-126); tinier
        // tensors get s = 2^-126 (bf16/fp32 with amax < 4, fp8 never in this exponent range).
        const bool normal_scale = amax / maxf >= std::ldexp(1.0, -126);
        const bool pow2 = spec.find("pow2") != std::string::npos;
        if (pow2) {
          int ex = 0;
          REQUIRE(std::frexp(q.tensor_scale, &ex) == 0.5);
          // Every element within max finite, and s is the smallest such power of two.
          REQUIRE(amax <= q.tensor_scale * maxf);
          if (normal_scale) REQUIRE(amax > 0.5 * q.tensor_scale * maxf);
        } else if (normal_scale && l.man_bits < 23) {
          REQUIRE((q.codes[imax] & max_code) == max_code);
        } else if (normal_scale) {
          // fp32: s has the element's own precision, max|x| / s may land one code lower.
          REQUIRE((q.codes[imax] & max_code) >= max_code - 1);
        } else {
          REQUIRE(q.tensor_scale == std::ldexp(1.0, -126));
        }
        // Never beyond max finite (no inf/NaN even without saturation).
        for (uint32_t c : q.codes) REQUIRE((c & ~(1u << (l.exp_bits + l.man_bits))) <= max_code);
        for (size_t i = 0; i < data.size(); ++i)
          REQUIRE(std::isfinite(q.value(static_cast<int64_t>(i))));
      }
    }
  }
}

TEST_CASE("Non-finite inputs", "[fp][format]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  // scale=tensor (fp8 default) refuses them, naming the problem.
  std::string msg = user_error_of([&] { quant(fmt_of("fp8_e4m3"), {1.0f, inf, nan}); });
  CHECK(msg.find("fp8_e4m3") != std::string::npos);
  CHECK(msg.find("NaN/inf") != std::string::npos);
  CHECK(msg.find("2 NaN/inf element(s), the first at flat index 1") != std::string::npos);
  CHECK(msg.find("scale=none") != std::string::npos);
  CHECK_FALSE(user_error_of([&] { quant(fmt_of("fp16:scale=tensor"), {nan}); }).empty());
  // scale=none propagates: e4m3 saturating (default) inf -> +-448, NaN -> 0x7F.
  CHECK(quant(fmt_of("fp8_e4m3:scale=none"), {inf, -inf, nan}).codes ==
        std::vector<uint32_t>{0x7E, 0xFE, 0x7F});
  CHECK(quant(fmt_of("fp8_e4m3:scale=none,saturate=false"), {inf, -inf, nan}).codes ==
        std::vector<uint32_t>{0x7F, 0x7F, 0x7F});
  CHECK(quant(fmt_of("fp8_e5m2:scale=none,saturate=false"), {inf, -inf, nan}).codes ==
        std::vector<uint32_t>{0x7C, 0xFC, 0x7E});
  CHECK(quant(fmt_of("fp16"), {inf, -inf, nan}).codes ==
        std::vector<uint32_t>{0x7C00, 0xFC00, 0x7E00});
  // FLT_MAX lies above the bf16 overflow threshold (2 - 2^-8) * 2^127 -> max finite.
  CHECK(quant(fmt_of("bf16:saturate=true"), {inf, std::numeric_limits<float>::max()}).codes ==
        std::vector<uint32_t>{0x7F7F, 0x7F7F});
}

TEST_CASE("Spec strings, options and FormatInfo", "[fp][format]") {
  auto f = fmt_of("fp8_e4m3:rounding=stochastic");
  const FormatInfo& i = f->info();
  CHECK(i.name == "fp8_e4m3");
  CHECK(i.kind == ElementKind::kFloat);
  CHECK(i.code_bits == 8);
  CHECK(i.exp_bits == 4);
  CHECK(i.man_bits == 3);
  CHECK(i.bias == 7);
  CHECK(i.specials == FloatSpecials::kFiniteNan);
  CHECK(i.group_scale_pow2);
  CHECK(f->describe().find("rounding=stochastic") != std::string::npos);
  CHECK(f->describe().find("saturate=true") != std::string::npos);
  CHECK(f->describe().find("scale=tensor") != std::string::npos);
  CHECK(f->element_value(0x7E) == 448.0);

  auto g = fmt_of("fp16");
  CHECK(g->info().code_bits == 16);
  CHECK(g->info().specials == FloatSpecials::kIeee);
  CHECK(g->describe().find("rounding=nearest, saturate=false, scale=none") != std::string::npos);
  CHECK(fmt_of("bf16")->info().code_bits == 16);
  CHECK(fmt_of("fp32")->info().code_bits == 32);
  CHECK(fmt_of("fp8_e5m2")->info().bias == 15);
  CHECK(fmt_of("fp8_e5m2:saturate=false")->describe().find("saturate=false") != std::string::npos);

  std::string msg = user_error_of([] { fmt_of("fp8_e4m3:rounding=up"); });
  CHECK(msg.find("'up' is not allowed; allowed: nearest, stochastic") != std::string::npos);
  msg = user_error_of([] { fmt_of("fp8_e4m3:scale=channel,saturate=maybe"); });
  CHECK(msg.find("allowed: none, tensor") != std::string::npos);
  CHECK(msg.find("'maybe' is not a boolean") != std::string::npos);
  msg = user_error_of([] { fmt_of("fp16:scale_pow2=true"); });
  CHECK(msg.find("only applies with scale=tensor") != std::string::npos);
  msg = user_error_of([] { fmt_of("fp16:roundin=nearest"); });
  CHECK(msg.find("did you mean 'rounding'?") != std::string::npos);
}

TEST_CASE("float_layout_of and float_round", "[fp][codec]") {
  FloatLayout l = float_layout_of(fmt_of("fp8_e5m2")->info());
  CHECK(l.exp_bits == 5);
  CHECK(l.man_bits == 2);
  CHECK(l.bias == 15);
  CHECK(l.specials == FloatSpecials::kIeee);
  // RNE to fp32: 1 + 2^-24 is a tie -> 1; 1 + 3 * 2^-24 -> 1 + 2^-22.
  CHECK(float_round(1.0 + std::ldexp(1.0, -24), kFp32Layout, false, 0, false) == 1.0);
  CHECK(float_round(1.0 + 3 * std::ldexp(1.0, -24), kFp32Layout, false, 0, false) ==
        1.0 + std::ldexp(1.0, -22));
  FormatInfo not_float;
  not_float.kind = ElementKind::kInt;
  CHECK_THROWS_AS(float_layout_of(not_float), std::logic_error);
}

TEST_CASE("QTensor::values and values_into equal value(i) element by element", "[formats]") {
  // values()/values_into() tabulate the element values of narrow codes (tensors of at least 2^bits
  // elements), form tensor x group factors once and walk the groups by odometer; value(i) decodes
  // one element with its own group_of(i). Both must give the same bits, on tensors below and above
  // the table's size, per-tensor and grouped, deterministic and stochastic.
  const std::vector<std::string> specs = {"fp32",
                                          "bf16",
                                          "fp16",
                                          "fp8_e4m3",
                                          "fp8_e5m2",
                                          "int8",
                                          "dfp8",
                                          "int4_sawb",
                                          "int8:granularity=channel,axis=1",
                                          "luq_fp4",
                                          "mls_m1e2",
                                          "mls_m4e2",
                                          "mxfp8_e4m3",
                                          "mxint8",
                                          "nvfp4",
                                          "int8:rounding=stochastic"};
  const std::vector<Shape> shapes = {{3, 5, 7}, {4, 70, 256}};  // 105 and 71,680 elements
  for (const auto& spec : specs) {
    for (const Shape& shape : shapes) {
      const Tensor x = random_signed_log_normal(shape, 11, 0.5, 1.5);
      QuantContext ctx;
      ctx.role = Role::kError;
      ctx.seed = 5;
      ctx.tensor_id = 2;
      const QTensor q = fmt_of(spec)->quantize(x, ctx);
      const std::vector<double> all = q.values();
      std::vector<float> all32(q.codes.size());
      q.values_into(all32.data());
      REQUIRE(all.size() == q.codes.size());
      size_t bad = 0;
      for (size_t i = 0; i < all.size(); ++i) {
        const double v = q.value(static_cast<int64_t>(i));
        if (std::memcmp(&v, &all[i], sizeof v) != 0 ||
            bits_of(static_cast<float>(v)) != bits_of(all32[i]))
          ++bad;
      }
      INFO(spec << " on " << all.size() << " elements");
      CHECK(bad == 0);
    }
  }
}

TEST_CASE("GroupCursor and group_ids walk group_of(i) in C order", "[formats]") {
  // Blocks that divide the extent, that do not (a short last block), of 1, of the whole axis, and
  // rank 1 to 4: the cursor's odometer must name the same group as group_of's divisions.
  const std::vector<GroupMap> maps = {{{10}, {3}},
                                      {{4, 6}, {4, 6}},
                                      {{5, 7}, {2, 3}},
                                      {{3, 4, 5}, {1, 4, 2}},
                                      {{2, 3, 5, 7}, {1, 2, 5, 3}},
                                      {{2, 16, 6, 6}, {1, 1, 6, 6}},
                                      {{1, 1, 1}, {1, 1, 1}}};
  for (const GroupMap& m : maps) {
    const std::vector<int64_t> ids = m.group_ids();
    GroupCursor c(m);
    size_t bad = 0;
    for (int64_t i = 0; i < numel(m.shape); ++i, c.next())
      if (ids[static_cast<size_t>(i)] != m.group_of(i) || c.group() != m.group_of(i)) ++bad;
    CHECK(bad == 0);
    CHECK(ids.size() == static_cast<size_t>(numel(m.shape)));
  }
}
