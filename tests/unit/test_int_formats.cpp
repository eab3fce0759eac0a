// Integer formats: int<n>, int4_sawb (LUQ forward) and dfp<n> (dynamic fixed point).
// Expected codes are derived by hand in the comments; fp32 facts used repeatedly:
//   fl32(1/127) = 2^-7 * (1 + 2^-7 + 2^-14 + 2^-21) = 0x1.020408p-7 = (1 - 2^-28) / 127, because
//   1/127 = 2^-7 * sum_k 2^-7k and the first dropped bit (2^-35 relative) is below half an ulp.
//   So fl32(1/127) < 1/127 and x / s = 127 x (1 + 2^-28 + ...), slightly above 127 x.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/numerics/i_number_format.h"
#include "models/numerics/quant_util.h"
#include "models/numerics/rng.h"
#include "tests/unit/stat_test.h"

using namespace lbsim;

namespace {

FormatPtr fmt_of(const std::string& spec) { return make_format(spec, SourceLoc{"<cmdline>"}); }

Tensor tensor(Shape shape, std::vector<float> data) {
  return Tensor{std::move(shape), std::move(data)};
}

QuantContext ctx_of(Role role, uint64_t seed = 0, uint64_t tensor_id = 0) {
  QuantContext c;
  c.role = role;
  c.seed = seed;
  c.tensor_id = tensor_id;
  return c;
}

// Signed (or unsigned, per the tensor) integer value of every code.
std::vector<double> ints(const QTensor& q) {
  std::vector<double> out;
  for (uint32_t c : q.codes) out.push_back(q.element(c));
  return out;
}

// Deterministic pseudo-random data in [-amp, amp).
Tensor random_tensor(int64_t n, float amp, uint64_t seed) {
  CounterRng rng(seed, 99);
  Tensor t{{n}, std::vector<float>(static_cast<size_t>(n))};
  for (int64_t i = 0; i < n; ++i)
    t.data[i] = static_cast<float>((2.0 * rng.uniform(i) - 1.0) * amp);
  return t;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "<no UserError>";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

// ---- int<n> ---------------------------------------------------------------------------------

TEST_CASE("format specs: alias names are matched without std::regex (fuzz regressions)",
          "[int][format][fuzz]") {
  // std::regex recursed once per character and overflowed the stack on tens of thousands of
  // digits (from --format, -p or YAML). Now: a length limit, and a linear alias matcher.
  const std::string digits(50000, '9');
  CHECK_THROWS_WITH(fmt_of("int" + digits),
                    "<cmdline>: error: the number-format spec has 50003 characters; at most 1024 "
                    "are accepted");
  CHECK_THROWS_WITH(fmt_of("mls_m1e2:rounding=" + digits),
                    Catch::Contains("at most 1024 are accepted"));
  // Within the limit: the alias matches and the option is range-checked.
  CHECK_THROWS_WITH(fmt_of("int" + std::string(1000, '9')),
                    Catch::StartsWith("<cmdline>: error: bits: '999"));
  CHECK(fmt_of("int8")->info().name == "int8");
  CHECK(fmt_of("mls_m4e2")->describe() == fmt_of("mls:m=4,e=2")->describe());
  for (const std::string bad :
       {"intx", "int8x", "mls_m1e", "mls_me2", "mls_m1e2e", "dfpx", "mxfp4x", "mxfp", "9int"})
    CHECK_THROWS_WITH(fmt_of(bad), Catch::Contains("unknown number format '" + bad + "'"));
}

TEST_CASE("int8 per-tensor: hand-derived scale and codes", "[int]") {
  FormatPtr f = fmt_of("int8");
  const FormatInfo& fi = f->info();
  CHECK(fi.name == "int8");
  CHECK(fi.kind == ElementKind::kInt);
  CHECK(fi.code_bits == 8);
  CHECK(fi.unit_log2 == 0);
  CHECK_FALSE(fi.group_scale_pow2);

  QTensor q = f->quantize(tensor({4}, {1.0f, -0.5f, 0.25f, 0.0f}), ctx_of(Role::kWeight));
  // max|x| = 1 -> s = fl32(1/127) = 0x1.020408p-7.
  REQUIRE(q.group_scale.size() == 1);
  CHECK(q.group_scale[0] == 0x1.020408p-7);
  CHECK(q.tensor_scale == 1.0);
  CHECK_FALSE(q.unsigned_int);
  // 1/s = 127(1+2^-28) -> 127; -0.5/s = -63.5(1+2^-28): just beyond the tie -> -64;
  // 0.25/s = 31.75.. -> 32; 0 -> 0. Two's complement: -64 -> 0xC0.
  CHECK(q.codes == std::vector<uint32_t>{127, 0xC0, 32, 0});
  CHECK(ints(q) == std::vector<double>{127, -64, 32, 0});
  CHECK(q.value(1) == -64 * 0x1.020408p-7);
}

TEST_CASE("int8 nearest rounds ties to even", "[int]") {
  // max|x| = 127 -> s = 1 exactly, so x / s = x and the halves are exact ties.
  QTensor q = fmt_of("int8")->quantize(
      tensor({8}, {127.0f, 2.5f, 3.5f, -2.5f, -0.5f, 0.5f, 1.5f, -126.5f}), ctx_of(Role::kWeight));
  CHECK(q.group_scale[0] == 1.0);
  CHECK(ints(q) == std::vector<double>{127, 2, 4, -2, 0, 0, 2, -126});
  CHECK(q.codes[4] == 0);  // -0.5 -> -0 -> code 0 (not 0x80 or 0xFF)
}

TEST_CASE("int element_value sign-extends the low code_bits bits", "[int]") {
  FormatPtr i8 = fmt_of("int8"), i4 = fmt_of("int4"), i16 = fmt_of("int16");
  CHECK(i8->element_value(0x7F) == 127);
  CHECK(i8->element_value(0x80) == -128);
  CHECK(i8->element_value(0xFF) == -1);
  CHECK(i8->element_value(0x1FF) == -1);  // bits above code_bits are ignored
  CHECK(i4->element_value(0x7) == 7);
  CHECK(i4->element_value(0x9) == -7);
  CHECK(i16->element_value(0x8001) == -32767);
  CHECK(i16->info().code_bits == 16);
}

TEST_CASE("int4 per-channel scales along the chosen axis", "[int]") {
  const Tensor x = tensor({2, 2}, {7.0f, -3.0f, 0.5f, 0.2f});
  SECTION("axis 0: one scale per row") {
    QTensor q = fmt_of("int4:granularity=channel,axis=0")->quantize(x, ctx_of(Role::kWeight));
    REQUIRE(q.group_scale.size() == 2);
    // row 0: max 7 -> s0 = 7/7 = 1 -> codes 7, -3 (0xD).
    CHECK(q.group_scale[0] == 1.0);
    // row 1: max 0.5 -> s1 = fl32(1/14); 8/7 = 1.(001)... rounds up, so s1 > 1/14 and
    // 0.5/s1 = 7(1-eps) -> 7; 0.2/s1 = 2.8.. -> 3.
    CHECK(q.group_scale[1] == static_cast<double>(0.5f / 7.0f));
    CHECK(q.group_scale[1] > 1.0 / 14.0);
    CHECK(q.codes == std::vector<uint32_t>{7, 0xD, 7, 3});
    CHECK(q.groups.group_of(1) == 0);
    CHECK(q.groups.group_of(2) == 1);
  }
  SECTION("axis 1 (and -1): one scale per column") {
    for (const char* spec :
         {"int4:granularity=channel,axis=1", "int4:granularity=channel,axis=-1"}) {
      QTensor q = fmt_of(spec)->quantize(x, ctx_of(Role::kWeight));
      REQUIRE(q.group_scale.size() == 2);
      // column 0: max 7 -> s = 1; 0.5 is a tie -> even 0.
      // column 1: max 3 -> s = fl32(3/7); -3/s -> -7 (0x9); 0.2/s = 0.47 -> 0.
      CHECK(q.group_scale[0] == 1.0);
      CHECK(q.group_scale[1] == static_cast<double>(3.0f / 7.0f));
      CHECK(q.codes == std::vector<uint32_t>{7, 0x9, 0, 0});
      CHECK(q.groups.group_of(1) == 1);
      CHECK(q.groups.group_of(2) == 0);
    }
  }
  SECTION("axis beyond the tensor rank is a UserError at quantize time") {
    FormatPtr f = fmt_of("int4:granularity=channel,axis=2");  // valid until a tensor is seen
    std::string msg = error_of([&] { f->quantize(x, ctx_of(Role::kWeight)); });
    CHECK(contains(msg, "axis=2"));
    CHECK(contains(msg, "rank 2"));
  }
}

TEST_CASE("int all-zero group has scale 1 and codes 0", "[int]") {
  QTensor q = fmt_of("int8:granularity=channel")
                  ->quantize(tensor({2, 2}, {0, 0, 2.54f, -1}), ctx_of(Role::kWeight));
  CHECK(q.group_scale[0] == 1.0);
  CHECK(q.codes[0] == 0);
  CHECK(q.codes[1] == 0);
  // row 1: max 2.54 -> s = fl32(2.54/127) ~ 0.02; -1/s = -50 (approx) -> -50.
  CHECK(q.group_scale[1] == static_cast<double>(2.54f / 127.0f));
  CHECK(ints(q)[3] == -50);
}

TEST_CASE("int stochastic rounding follows the CounterRng contract", "[int][rng]") {
  // s = 1 (max 127): element i rounds up iff CounterRng(seed, tensor_id).uniform(i) < frac(x_i).
  const Tensor x = tensor({4}, {127.0f, 0.25f, -0.25f, 2.75f});
  QTensor q = fmt_of("int8:rounding=stochastic")->quantize(x, ctx_of(Role::kError, 7, 3));
  CounterRng rng(7, 3);
  CHECK(ints(q)[0] == 127);
  CHECK(ints(q)[1] == (rng.uniform(1) < 0.25 ? 1 : 0));
  CHECK(ints(q)[2] == (rng.uniform(2) < 0.75 ? 0 : -1));  // floor(-0.25) = -1, frac 0.75
  CHECK(ints(q)[3] == (rng.uniform(3) < 0.75 ? 3 : 2));
  // Many elements with fraction 0.5: each code must match its own draw (index i, stream 0).
  Tensor y{{65}, std::vector<float>(65, 10.5f)};
  y.data[0] = 127.0f;
  QTensor r = fmt_of("int8:rounding=stochastic")->quantize(y, ctx_of(Role::kError, 7, 3));
  for (int64_t i = 1; i < 65; ++i)
    REQUIRE(r.element(r.codes[i]) == (rng.uniform(i) < 0.5 ? 11 : 10));
}

TEST_CASE("int clamps when a subnormal scale rounds far below max|x| / qmax", "[int]") {
  // max|x| = 189 * 2^-149 (an fp32 subnormal): max/127 = 1.488 * 2^-149 rounds to s = 2^-149,
  // so max/s = 189 > 127 and even nearest rounding must clamp to +-127; 100 * 2^-149 -> 100.
  const float unit = std::ldexp(1.0f, -149);
  QTensor q = fmt_of("int8")->quantize(tensor({3}, {189 * unit, -189 * unit, 100 * unit}),
                                       ctx_of(Role::kWeight));
  CHECK(q.group_scale[0] == std::ldexp(1.0, -149));
  CHECK(ints(q) == std::vector<double>{127, -127, 100});
}

TEST_CASE("int stochastic rounding is unbiased", "[int][rng]") {
  // s = 1; 20000 copies of 0.3f: each code is 0 or 1 with P(1) = p = 0.3f, so the count of ones
  // is Binomial(n, p): exact two-sided test at level stat::kAlpha (tests/unit/stat_test.h).
  const int n = 20000;
  Tensor x{{n + 1}, std::vector<float>(n + 1, 0.3f)};
  x.data[0] = 127.0f;
  QTensor q = fmt_of("int8:rounding=stochastic")->quantize(x, ctx_of(Role::kError, 11, 5));
  int64_t ups = 0;
  for (int i = 1; i <= n; ++i) {
    double v = q.element(q.codes[i]);
    REQUIRE((v == 0 || v == 1));
    ups += v == 1;
  }
  const double p = 0.3f;
  INFO(stat::binomial_text(ups, n, p));
  CHECK(stat::binomial_accepts(ups, n, p));

  // Over seeds, for one fixed element: value 0.3 with max 1 (s = fl32(1/127)):
  // 0.3 / s = 38.1.. -> 38 or 39 with P(39) = frac: the count of 39s is Binomial(seeds, frac).
  FormatPtr f = fmt_of("int8:rounding=stochastic");
  const Tensor y = tensor({2}, {1.0f, 0.3f});
  const double s = 0x1.020408p-7;
  const double frac = 0.3f / s - 38;
  int64_t ups39 = 0;
  const int seeds = 20000;
  for (int seed = 0; seed < seeds; ++seed) {
    const QTensor qs = f->quantize(y, ctx_of(Role::kError, seed, 0));
    const double code = qs.element(qs.codes[1]);
    REQUIRE((code == 38 || code == 39));
    ups39 += code == 39;
  }
  INFO(stat::binomial_text(ups39, seeds, frac));
  CHECK(stat::binomial_accepts(ups39, seeds, frac));
}

TEST_CASE("int nearest picks the closest grid point and never exceeds the range", "[int]") {
  for (const char* spec : {"int2", "int4", "int8", "int4:granularity=channel"}) {
    Tensor x = random_tensor(512, 3.0f, 1);
    x.shape = {16, 32};
    QTensor q = fmt_of(spec)->quantize(x, ctx_of(Role::kActivation));
    const double qmax = (1 << (q.format->info().code_bits - 1)) - 1;
    for (int64_t i = 0; i < 512; ++i) {
      const double s = q.group_scale[q.groups.group_of(i)];
      const double k = q.element(q.codes[i]);
      REQUIRE(std::abs(k) <= qmax);
      const double d = std::abs(x.data[i] - k * s);
      if (k > -qmax) REQUIRE(d <= std::abs(x.data[i] - (k - 1) * s));
      if (k < qmax) REQUIRE(d <= std::abs(x.data[i] - (k + 1) * s));
    }
  }
}

TEST_CASE("int stochastic rounding never exceeds the range", "[int][rng]") {
  // int2: qmax = 1, so the top element (x/s ~ 1 + tiny) must clamp to 1, never 2.
  for (uint64_t seed = 0; seed < 20; ++seed) {
    QTensor q = fmt_of("int2:rounding=stochastic")
                    ->quantize(random_tensor(256, 1.0f, seed), ctx_of(Role::kError, seed, 1));
    for (uint32_t c : q.codes) {
      const double v = q.element(c);
      REQUIRE((v >= -1 && v <= 1));
    }
  }
}

TEST_CASE("int quantize is idempotent on representable values", "[int]") {
  SECTION("exact grid: max 63.5 = 127 * 0.5 -> s = 0.5, every q * s is an fp32 value") {
    Tensor x = random_tensor(300, 60.0f, 2);
    x.data[17] = -63.5f;
    for (const char* spec : {"int8", "int8:rounding=stochastic"}) {
      FormatPtr f = fmt_of(spec);
      QTensor q1 = f->quantize(x, ctx_of(Role::kError, 1, 1));
      CHECK(q1.group_scale[0] == 0.5);
      Tensor y{x.shape, {}};
      for (double v : q1.values()) y.data.push_back(static_cast<float>(v));
      for (size_t i = 0; i < y.data.size(); ++i)
        REQUIRE(static_cast<double>(y.data[i]) == q1.value(i));
      QTensor q2 = f->quantize(y, ctx_of(Role::kError, 2, 9));  // other draws: grid values stay
      CHECK(q2.group_scale == q1.group_scale);
      CHECK(q2.codes == q1.codes);
    }
  }
  SECTION("nearest rounding: codes survive an fp32 round trip of the dequantized values") {
    FormatPtr f = fmt_of("int4:granularity=channel,axis=1");
    Tensor x = random_tensor(64, 5.0f, 3);
    x.shape = {8, 8};
    QTensor q1 = f->quantize(x, ctx_of(Role::kWeight));
    Tensor y{x.shape, {}};
    for (double v : q1.values()) y.data.push_back(static_cast<float>(v));
    CHECK(f->quantize(y, ctx_of(Role::kWeight)).codes == q1.codes);
  }
}

TEST_CASE("int stochastic codes are deterministic per (seed, tensor_id, index)", "[int][rng]") {
  FormatPtr f = fmt_of("int8:rounding=stochastic");
  const Tensor a = random_tensor(1000, 1.0f, 4), b = random_tensor(1000, 2.0f, 5);
  // Call order does not matter: no hidden RNG state.
  QTensor a1 = f->quantize(a, ctx_of(Role::kError, 42, 1));
  QTensor b1 = f->quantize(b, ctx_of(Role::kError, 42, 2));
  QTensor b2 = f->quantize(b, ctx_of(Role::kError, 42, 2));
  QTensor a2 = f->quantize(a, ctx_of(Role::kError, 42, 1));
  CHECK(a1.codes == a2.codes);
  CHECK(b1.codes == b2.codes);
  // Another seed or tensor id gives other draws (1000 fractional elements: equal only by accident).
  CHECK(f->quantize(a, ctx_of(Role::kError, 43, 1)).codes != a1.codes);
  CHECK(f->quantize(a, ctx_of(Role::kError, 42, 7)).codes != a1.codes);
  // Changing one element (not the max) changes no other element's code.
  Tensor a_mod = a;
  a_mod.data[500] = 0.0f;
  QTensor am = f->quantize(a_mod, ctx_of(Role::kError, 42, 1));
  REQUIRE(am.group_scale == a1.group_scale);
  for (size_t i = 0; i < a.data.size(); ++i)
    if (i != 500) REQUIRE(am.codes[i] == a1.codes[i]);
}

// ---- int4_sawb ------------------------------------------------------------------------------

TEST_CASE("int4_sawb: equal magnitudes fall back to clip = max|x|", "[sawb]") {
  FormatPtr f = fmt_of("int4_sawb");
  CHECK(f->info().name == "int4_sawb");
  CHECK(f->info().code_bits == 4);
  CHECK(f->info().kind == ElementKind::kInt);
  // rms = mean|x| = 0.5 -> clip = (12.1 - 12.2) * 0.5 = -0.05 <= 0 -> clip = max|x| = 0.5;
  // signed step = 2 * 0.5 / 14 = fl32(1/14) (> 1/14) -> 0.5 / s -> 7, -0.5 / s -> -7 (0x9).
  const Tensor x = tensor({4}, {0.5f, -0.5f, 0.5f, -0.5f});
  QTensor q = f->quantize(x, ctx_of(Role::kWeight));
  CHECK(q.group_scale == std::vector<double>{static_cast<double>(static_cast<float>(1.0 / 14))});
  CHECK(q.codes == std::vector<uint32_t>{7, 9, 7, 9});
  CHECK_FALSE(q.unsigned_int);
  // With the fallback, SAWB coincides with the max-scaled int4 (s = fl32(max/7)).
  QTensor r = fmt_of("int4")->quantize(x, ctx_of(Role::kWeight));
  CHECK(r.group_scale == q.group_scale);
  CHECK(r.codes == q.codes);
}

TEST_CASE("int4_sawb: a clip above max|x| falls back to max|x|", "[sawb]") {
  // x = [1, 0, 0, 0]: rms = 0.5, mean|x| = 0.25 -> clip = 6.05 - 3.05 = 3 > max 1 -> clip = 1,
  // s = fl32(1/7), code 7 (without the fallback s = 3/7 and the code would be 2).
  QTensor q = fmt_of("int4_sawb")->quantize(tensor({4}, {1, 0, 0, 0}), ctx_of(Role::kWeight));
  CHECK(q.group_scale[0] == static_cast<double>(static_cast<float>(1.0 / 7)));
  CHECK(q.codes == std::vector<uint32_t>{7, 0, 0, 0});
}

TEST_CASE("int4_sawb: SAWB clip inside (0, max|x|) sets the step", "[sawb]") {
  // x = [2, -1, 1, 1, 1, 0, 0, 0]: mean(x^2) = 8/8 = 1, mean|x| = 6/8 = 0.75.
  // c1 = 2, c2 = 1 -> clip = 2 - 0.75 = 1.25 in (0, 2]; s = fl32(2.5/14) = fl32(5/28) ~ 0.17857.
  // 2/s = 11.2 -> clamp 7; -1/s = -5.6 -> -6 (0xA); 1/s = 5.6 -> 6.
  const Tensor x = tensor({8}, {2, -1, 1, 1, 1, 0, 0, 0});
  QTensor q = fmt_of("int4_sawb:c1=2,c2=1")->quantize(x, ctx_of(Role::kWeight));
  CHECK(q.group_scale[0] == static_cast<double>(static_cast<float>(2.5 / 14)));
  CHECK(q.codes == std::vector<uint32_t>{7, 0xA, 6, 6, 6, 0, 0, 0});
  // Errors use the same signed grid.
  CHECK(fmt_of("int4_sawb:c1=2,c2=1")->quantize(x, ctx_of(Role::kError)).codes == q.codes);
}

TEST_CASE("sawb at other widths: int2_sawb and int3_sawb by hand; int4_sawb = sawb:bits=4",
          "[sawb]") {
  FormatPtr f2 = fmt_of("int2_sawb");
  CHECK(f2->info().name == "int2_sawb");
  CHECK(f2->info().code_bits == 2);
  CHECK(fmt_of("sawb:bits=2")->describe() == f2->describe());
  CHECK(fmt_of("sawb")->describe() == fmt_of("int4_sawb")->describe());
  CHECK(f2->describe().find("clip = 2.64*rms - 1.78*mean|x|") != std::string::npos);
  CHECK(f2->describe().find("clip/1 for weights/errors [-1, 1], clip/3 for activations auto "
                            "(unsigned [0, 3] if min >= 0)") != std::string::npos);
  // Activations x = [0, 1, 2, 3]: rms = sqrt(3.5), mean|x| = 1.5 -> clip = 2.64 sqrt(3.5) - 2.67
  // = 2.26893 in (0, 3]; unsigned step clip / 3 = 0.75631: 1/s = 1.32 -> 1, 2/s = 2.64 -> 3,
  // 3/s = 3.97 -> 4 -> clamp 3.
  const double clip_a = 2.64 * std::sqrt(3.5) - 1.78 * 1.5;
  QTensor a = f2->quantize(tensor({4}, {0, 1, 2, 3}), ctx_of(Role::kActivation));
  CHECK(a.unsigned_int);
  CHECK(a.group_scale[0] == static_cast<double>(static_cast<float>(clip_a / 3)));
  CHECK(a.codes == std::vector<uint32_t>{0, 1, 3, 3});
  // Weights x = [-2, -0.5, 0.25, 1]: rms = sqrt(1.328125), mean|x| = 0.9375 -> clip = 1.37369;
  // the ternary step clip / 1: -2/s = -1.46 -> -1 (code 0b11), -0.5/s = -0.36 -> 0,
  // 0.25/s -> 0, 1/s = 0.73 -> 1.
  const double clip_w = 2.64 * std::sqrt(1.328125) - 1.78 * 0.9375;
  QTensor w = f2->quantize(tensor({4}, {-2, -0.5f, 0.25f, 1}), ctx_of(Role::kWeight));
  CHECK_FALSE(w.unsigned_int);
  CHECK(w.group_scale[0] == static_cast<double>(static_cast<float>(clip_w)));
  CHECK(w.codes == std::vector<uint32_t>{3, 0, 0, 1});
  CHECK(w.value(0) == -w.group_scale[0]);
  // int3_sawb, weights: c1 = 6.64, c2 = 5.87 on the same x: clip = 6.64 * 1.15244 - 5.87 *
  // 0.9375 = 2.14922 > max|x| = 2 -> clip = 2, step fl32(2/3) = 0.66666669 (above 2/3):
  // -2 -> -3 (0b101), -0.5 -> -0.75 -> -1 (0b111), 0.25 -> 0.375 -> 0, 1 -> 1.49999997 -> 1.
  QTensor w3 =
      fmt_of("int3_sawb")->quantize(tensor({4}, {-2, -0.5f, 0.25f, 1}), ctx_of(Role::kWeight));
  CHECK(w3.group_scale[0] == static_cast<double>(static_cast<float>(2.0 / 3)));
  CHECK(w3.codes == std::vector<uint32_t>{5, 7, 0, 1});
  CHECK_THROWS_AS(fmt_of("int9_sawb"), UserError);
  CHECK_THROWS_AS(fmt_of("sawb:bits=1"), UserError);
}

TEST_CASE("int4_sawb: activation ranges", "[sawb]") {
  // Non-negative x = [2, 1, 1, 1, 1, 0, 0, 0] with c1 = 1.5, c2 = 0: rms = 1 -> clip = 1.5 < 2.
  const Tensor relu = tensor({8}, {2, 1, 1, 1, 1, 0, 0, 0});
  const Tensor mixed = tensor({8}, {2, -1, 1, 1, 1, 0, 0, 0});  // same moments
  const double s_unsigned = static_cast<float>(1.5 / 15);       // clip / 15 = 0.1 (default)
  const double s_two_clip = static_cast<float>(3.0 / 15);       // 2 * 1.5 / (15 - 0) = 0.2
  const double s_signed = static_cast<float>(3.0 / 14);         // 2 * 1.5 / (7 - (-7))
  SECTION("auto, min >= 0: unsigned [0, 15] spanning [0, clip]") {
    QTensor q = fmt_of("int4_sawb:c1=1.5,c2=0")->quantize(relu, ctx_of(Role::kActivation));
    CHECK(q.unsigned_int);
    CHECK(q.group_scale[0] == s_unsigned);
    // fl32(0.1) = 0.1 + 1.5e-9: 2/s = 19.9999997 -> clamp 15; 1/s = 9.99999985 -> 10.
    CHECK(q.codes == std::vector<uint32_t>{15, 10, 10, 10, 10, 0, 0, 0});
    CHECK(q.value(1) == 10 * s_unsigned);  // code 10 reads as +10, not as int4 -6
    CHECK(q.format->element_value(10) == -6);
  }
  SECTION("unsigned_step=two_clip: the LUQ code's 2*clip/15, grid [0, 2*clip]") {
    QTensor q = fmt_of("int4_sawb:c1=1.5,c2=0,unsigned_step=two_clip")
                    ->quantize(relu, ctx_of(Role::kActivation));
    CHECK(q.group_scale[0] == s_two_clip);
    // fl32(0.2) = 0.2 + 3e-9: 2/s = 9.99999985 -> 10; 1/s -> 5.
    CHECK(q.codes == std::vector<uint32_t>{10, 5, 5, 5, 5, 0, 0, 0});
  }
  SECTION("weights are signed whatever the data") {
    QTensor q = fmt_of("int4_sawb:c1=1.5,c2=0")->quantize(relu, ctx_of(Role::kWeight));
    CHECK_FALSE(q.unsigned_int);
    CHECK(q.group_scale[0] == s_signed);
    // 2/s = 9.33 -> 7; 1/s = 4.67 -> 5.
    CHECK(q.codes == std::vector<uint32_t>{7, 5, 5, 5, 5, 0, 0, 0});
  }
  SECTION("activation_range=signed forces [-7, 7]") {
    QTensor q = fmt_of("int4_sawb:c1=1.5,c2=0,activation_range=signed")
                    ->quantize(relu, ctx_of(Role::kActivation));
    CHECK_FALSE(q.unsigned_int);
    CHECK(q.codes == std::vector<uint32_t>{7, 5, 5, 5, 5, 0, 0, 0});
  }
  SECTION("auto with a negative element: signed") {
    QTensor q = fmt_of("int4_sawb:c1=1.5,c2=0")->quantize(mixed, ctx_of(Role::kActivation));
    CHECK_FALSE(q.unsigned_int);
    CHECK(q.group_scale[0] == s_signed);
    CHECK(q.codes == std::vector<uint32_t>{7, 0xB, 5, 5, 5, 0, 0, 0});  // -5 -> 0xB
  }
  SECTION("activation_range=unsigned clamps negatives to 0") {
    QTensor q = fmt_of("int4_sawb:c1=1.5,c2=0,activation_range=unsigned")
                    ->quantize(mixed, ctx_of(Role::kActivation));
    CHECK(q.unsigned_int);
    CHECK(q.codes == std::vector<uint32_t>{15, 0, 10, 10, 10, 0, 0, 0});
  }
  SECTION("post-ReLU data with -0.0 stays unsigned; codes within [0, 15], values >= 0") {
    Tensor x = random_tensor(1000, 4.0f, 6);
    for (float& v : x.data) v = v > 0 ? v : -0.0f;
    QTensor q = fmt_of("int4_sawb")->quantize(x, ctx_of(Role::kActivation));
    CHECK(q.unsigned_int);
    for (int64_t i = 0; i < 1000; ++i) {
      REQUIRE(q.codes[i] <= 15);
      REQUIRE(q.value(i) >= 0);
    }
  }
}

TEST_CASE("int4_sawb: all-zero tensor and nearest-grid property", "[sawb]") {
  QTensor z = fmt_of("int4_sawb")->quantize(tensor({3}, {0, 0, 0}), ctx_of(Role::kWeight));
  CHECK(z.group_scale[0] == 1.0);
  CHECK(z.codes == std::vector<uint32_t>{0, 0, 0});
  // Uniform data on [-a, a): rms = a/sqrt(3), mean|x| = a/2, so the SAWB clip is
  // (12.1/sqrt(3) - 12.2/2) a = 0.886 a < max|x| ~ a: elements above ~0.949 a clamp to +-7.
  // Every code is still the nearest grid point within [-7, 7].
  Tensor x = random_tensor(2000, 1.0f, 8);
  QTensor q = fmt_of("int4_sawb")->quantize(x, ctx_of(Role::kWeight));
  const double s = q.group_scale[0];
  int clamped = 0;
  for (int64_t i = 0; i < 2000; ++i) {
    const double k = q.element(q.codes[i]);
    REQUIRE(std::abs(k) <= 7);
    const double d = std::abs(x.data[i] - k * s);
    if (k > -7) REQUIRE(d <= std::abs(x.data[i] - (k - 1) * s));
    if (k < 7) REQUIRE(d <= std::abs(x.data[i] - (k + 1) * s));
    clamped += std::abs(x.data[i] / s) > 7.5;
  }
  CHECK(clamped > 0);  // the SAWB clip really is below max|x| here
}

// ---- dfp<n> ---------------------------------------------------------------------------------

TEST_CASE("dfp8: hand-derived shared exponent and codes", "[dfp]") {
  FormatPtr f = fmt_of("dfp8:rounding=nearest");
  CHECK(f->info().name == "dfp8");
  CHECK(f->info().kind == ElementKind::kInt);
  CHECK(f->info().group_scale_pow2);
  CHECK(f->info().unit_log2 == 0);
  // max|x| = 0.75 = 0.75 * 2^0 -> e_max = 0, scale 2^(0 - 7) = 2^-7.
  // 0.75 * 128 = 96 exactly; -0.3f * 128 = -38.4000015 -> -38 (0xDA); 0.001 * 128 = 0.128 -> 0.
  QTensor q = f->quantize(tensor({3}, {0.75f, -0.3f, 0.001f}), ctx_of(Role::kError));
  CHECK(q.group_scale == std::vector<double>{0x1p-7});
  CHECK(q.tensor_scale == 1.0);
  CHECK(q.codes == std::vector<uint32_t>{96, 0xDA, 0});
  CHECK(q.value(0) == 0.75);
}

TEST_CASE("dfp: frexp exponent convention and top clamp", "[dfp]") {
  FormatPtr f = fmt_of("dfp8:rounding=nearest");
  auto one = [&](float v) { return f->quantize(tensor({1}, {v}), ctx_of(Role::kError)); };
  // 1.0 = 0.5 * 2^1 -> e_max = 1, scale 2^-6, code 64 (a power of two is never at the top).
  CHECK(one(1.0f).group_scale[0] == 0x1p-6);
  CHECK(one(1.0f).codes[0] == 64);
  // 3.0 = 0.75 * 2^2 -> scale 2^-5, code 96.
  CHECK(one(3.0f).group_scale[0] == 0x1p-5);
  CHECK(one(3.0f).codes[0] == 96);
  // 0.999 < 2^0 -> scale 2^-7; 0.999 * 128 = 127.87 -> 128 -> clamped to 127 (and -127 = 0x81).
  CHECK(one(0.999f).codes[0] == 127);
  CHECK(one(-0.999f).codes[0] == 0x81);
  // All zero: scale 2^-(bits-1) = 2^-7 by convention, codes 0.
  QTensor z = f->quantize(tensor({2}, {0.0f, -0.0f}), ctx_of(Role::kError));
  CHECK(z.group_scale[0] == 0x1p-7);
  CHECK(z.codes == std::vector<uint32_t>{0, 0});
  // dfp16: 0.75 -> scale 2^-15, code 0.75 * 2^15 = 24576; -0.75 -> 65536 - 24576 = 40960.
  QTensor w = fmt_of("dfp16")->quantize(tensor({2}, {0.75f, -0.75f}), ctx_of(Role::kError));
  CHECK(w.group_scale[0] == 0x1p-15);
  CHECK(w.codes == std::vector<uint32_t>{24576, 40960});
  CHECK(fmt_of("dfp16")->element_value(40960) == -24576);
  // A tiny subnormal input: 2^-149 = 0.5 * 2^-148 -> scale 2^-155 (not fp32, fine as a double).
  QTensor t = one(std::ldexp(1.0f, -149));
  CHECK(t.group_scale[0] == std::ldexp(1.0, -155));
  CHECK(t.codes[0] == 64);
}

TEST_CASE("dfp per-channel exponents", "[dfp]") {
  // row 0: max 0.75 -> 2^-7: 0.75 -> 96, 0.5 -> 64.
  // row 1: max 0.02 = 0.64 * 2^-5 -> scale 2^-12: 0.01f * 4096 = 40.96 -> 41;
  //        -0.02f * 4096 = -81.92 -> -82 (0xAE).
  QTensor q = fmt_of("dfp8:granularity=channel,rounding=nearest")
                  ->quantize(tensor({2, 2}, {0.75f, 0.5f, 0.01f, -0.02f}), ctx_of(Role::kWeight));
  CHECK(q.group_scale == std::vector<double>{0x1p-7, 0x1p-12});
  CHECK(q.codes == std::vector<uint32_t>{96, 64, 41, 0xAE});
  std::string msg = error_of([] {
    fmt_of("dfp8:granularity=channel,axis=-3")
        ->quantize(tensor({2, 2}, {1, 2, 3, 4}), ctx_of(Role::kWeight));
  });
  CHECK(contains(msg, "axis=-3"));
}

TEST_CASE("dfp stochastic rounding (default) follows the CounterRng contract", "[dfp][rng]") {
  FormatPtr f = fmt_of("dfp8");
  const Tensor x = tensor({3}, {0.75f, -0.3f, 0.001f});
  QTensor q = f->quantize(x, ctx_of(Role::kError, 5, 6));
  CounterRng rng(5, 6);
  const double v1 = static_cast<double>(-0.3f) * 128, v2 = static_cast<double>(0.001f) * 128;
  CHECK(ints(q)[0] == 96);  // exact: no draw can move it
  CHECK(ints(q)[1] == (rng.uniform(1) < v1 - std::floor(v1) ? -38 : -39));
  CHECK(ints(q)[2] == (rng.uniform(2) < v2 ? 1 : 0));
}

TEST_CASE("dfp stochastic rounding is unbiased and within range", "[dfp][rng]") {
  // scale 2^-7 (max 0.75); 0.001f * 128 = 0.128: codes 0/1 with p = 0.128; the count of ones is
  // Binomial(n, p) (exact test at level stat::kAlpha).
  const int n = 40000;
  Tensor x{{n + 1}, std::vector<float>(n + 1, 0.001f)};
  x.data[0] = 0.75f;
  QTensor q = fmt_of("dfp8")->quantize(x, ctx_of(Role::kError, 1, 2));
  int64_t ups = 0;
  for (int i = 1; i <= n; ++i) {
    const double v = q.element(q.codes[i]);
    REQUIRE((v == 0 || v == 1));
    ups += v == 1;
  }
  const double p = static_cast<double>(0.001f) * 128;
  INFO(stat::binomial_text(ups, n, p));
  CHECK(stat::binomial_accepts(ups, n, p));
  // dfp4 (qmax 7) on data whose max sits just under 2^e_max: never beyond +-7.
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Tensor y = random_tensor(256, 0.999f, seed);
    y.data[0] = 0.999f;
    QTensor r = fmt_of("dfp4")->quantize(y, ctx_of(Role::kError, seed, 3));
    for (uint32_t c : r.codes) REQUIRE(std::abs(r.element(c)) <= 7);
  }
}

TEST_CASE("dfp is idempotent and deterministic", "[dfp][rng]") {
  // Dequantized values q * 2^k are fp32 values and keep the same e_max (the max code is in
  // [64, 127]), so quantizing them again returns the same codes with any rounding and seed.
  for (const char* spec : {"dfp8", "dfp8:rounding=nearest", "dfp6:granularity=channel"}) {
    FormatPtr f = fmt_of(spec);
    Tensor x = random_tensor(120, 3.0f, 9);
    x.shape = {10, 12};
    QTensor q1 = f->quantize(x, ctx_of(Role::kError, 3, 4));
    Tensor y{x.shape, {}};
    for (double v : q1.values()) y.data.push_back(static_cast<float>(v));
    QTensor q2 = f->quantize(y, ctx_of(Role::kError, 8, 8));
    CHECK(q2.group_scale == q1.group_scale);
    CHECK(q2.codes == q1.codes);
    CHECK(f->quantize(x, ctx_of(Role::kError, 3, 4)).codes == q1.codes);
  }
}

// ---- errors and spec strings ----------------------------------------------------------------

TEST_CASE("non-finite inputs are UserErrors naming the first bad element", "[int][sawb][dfp]") {
  const float nan = std::nanf(""), inf = INFINITY;
  std::string m1 = error_of([&] {
    fmt_of("int8")->quantize(tensor({3}, {1, nan, inf}), ctx_of(Role::kWeight));
  });
  CHECK(contains(m1, "element 1"));
  CHECK(contains(m1, "NaN"));
  std::string m2 = error_of([&] {
    fmt_of("dfp8")->quantize(tensor({3}, {1, 2, -inf}), ctx_of(Role::kError));
  });
  CHECK(contains(m2, "element 2"));
  CHECK(contains(m2, "infinite"));
  std::string m3 = error_of([&] {
    fmt_of("int4_sawb")->quantize(tensor({2}, {inf, 1}), ctx_of(Role::kActivation));
  });
  CHECK(contains(m3, "element 0"));
}

TEST_CASE("spec strings, options and their errors", "[int][sawb][dfp]") {
  CHECK(fmt_of("int8")->info().name == "int8");
  CHECK(fmt_of("int2")->info().code_bits == 2);
  CHECK(fmt_of("int:bits=5")->info().name == "int5");
  CHECK(fmt_of("dfp12")->info().code_bits == 12);
  CHECK(contains(fmt_of("int4:granularity=channel,axis=1")->describe(), "axis 1"));
  CHECK(contains(fmt_of("dfp8:rounding=nearest")->describe(), "nearest"));
  CHECK(contains(fmt_of("dfp8")->describe(), "stochastic"));

  CHECK(contains(error_of([] { fmt_of("int99"); }), "99 is outside [2, 16]"));
  CHECK(contains(error_of([] { fmt_of("dfp1"); }), "1 is outside [2, 16]"));
  std::string g = error_of([] { fmt_of("int8:granularity=row"); });
  CHECK(contains(g, "'row' is not allowed; allowed: tensor, channel"));
  CHECK(contains(g, "<cmdline>"));
  CHECK(contains(error_of([] { fmt_of("int8:axis=1"); }), "granularity=channel"));
  CHECK(contains(error_of([] { fmt_of("int8:rounding=up"); }), "allowed: nearest, stochastic"));
  CHECK(contains(error_of([] { fmt_of("int8:bitz=4"); }), "did you mean 'bits'?"));
  CHECK(contains(error_of([] { fmt_of("int4_sawb:activation_range=pos"); }),
                 "allowed: auto, unsigned, signed"));
  CHECK(contains(error_of([] { fmt_of("int4_sawb:rounding=stochastic"); }), "unknown key"));
  CHECK(contains(error_of([] { fmt_of("int4_sawb:c1=-1"); }), "outside"));

  // YAML map form.
  FormatPtr y = make_format(YAML::Load("{type: dfp, bits: 6, rounding: nearest}"), "a.yaml", "f");
  CHECK(y->info().name == "dfp6");
  QTensor q = y->quantize(tensor({1}, {0.75f}), ctx_of(Role::kError));
  CHECK(q.codes[0] == 24);  // scale 2^-5 -> 0.75 * 32 = 24
}

TEST_CASE("list-types documents the integer formats", "[int][sawb][dfp]") {
  const std::string t = describe_format_types();
  for (const char* part :
       {"int  -", "sawb  -", "spec aliases: int4_sawb", "dfp  -", "spec aliases: int8", "dfp8",
        "activation_range", "granularity", "tensor | channel", "stochastic | nearest",
        "nearest | stochastic", "c1", "c2"})
    CHECK(contains(t, part));
}

TEST_CASE("Rounding helpers equal their plain definitions on every kind of double", "[formats]") {
  // floor_exact / round_half_even / round_stochastic are branch-free rewrites; the plain
  // definitions (std::floor, the three-way tie test, floor + (u < frac)) are the specification.
  auto plain_rne = [](double v) {
    const double f = std::floor(v);
    const double d = v - f;
    if (d > 0.5) return f + 1.0;
    if (d < 0.5) return f;
    return std::fmod(f, 2.0) == 0.0 ? f : f + 1.0;
  };
  auto plain_sr = [](double v, double u) {
    const double f = std::floor(v);
    return u < v - f ? f + 1.0 : f;
  };
  auto same = [](double a, double b) {
    return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0;
  };
  std::vector<double> vs = {0.0,
                            -0.0,
                            0.5,
                            -0.5,
                            1.5,
                            -1.5,
                            2.5,
                            -2.5,
                            0.49999999999999994,
                            -0.49999999999999994,
                            1e-300,
                            -1e-300,
                            4503599627370495.5,
                            -4503599627370495.5,
                            4503599627370496.0,
                            -4503599627370497.0,
                            9.3e18,
                            -9.3e18,
                            1e300,
                            -1e300,
                            INFINITY,
                            -INFINITY,
                            NAN,
                            127.0,
                            -128.0};
  const CounterRng rng(3, 4);
  for (uint64_t i = 0; i < 20000; ++i) {
    const double u = rng.uniform(i);
    vs.push_back((u - 0.5) * std::ldexp(1.0, static_cast<int>(i % 64)));
    vs.push_back(std::ldexp(std::round((u - 0.5) * 64.0), -1));  // halves: ties
  }
  size_t bad = 0;
  for (size_t i = 0; i < vs.size(); ++i) {
    const double v = vs[i];
    const double u = rng.uniform(1000000 + i);
    if (!same(floor_exact(v), std::floor(v)) || !same(round_half_even(v), plain_rne(v)) ||
        !same(round_stochastic(v, u), plain_sr(v, u)) ||
        !same(round_stochastic(v, 0.0), plain_sr(v, 0.0))) {
      ++bad;
      UNSCOPED_INFO("v = " << v);
    }
  }
  CHECK(bad == 0);
}
