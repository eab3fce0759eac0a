// LUQ radix-2 log format (luq_fp4) and MLS format (mls, mls_m<M>e<E>): hand-derived codes and
// scales, rounding properties (nearest = closest representable, stochastic = unbiased), grouping,
// option parsing and error messages.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/numerics/i_number_format.h"
#include "models/numerics/rng.h"
#include "tests/unit/stat_test.h"

using namespace lbsim;

namespace {

FormatPtr fmt_of(const std::string& spec) { return make_format(spec, SourceLoc{"<test>"}); }

Tensor tensor(Shape shape, std::vector<float> data) {
  return Tensor{std::move(shape), std::move(data)};
}

QuantContext context(Role role, uint64_t seed = 1, uint64_t tensor_id = 2, int axis = -1) {
  QuantContext c;
  c.role = role;
  c.seed = seed;
  c.tensor_id = tensor_id;
  c.reduction_axis = axis;
  return c;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "<no UserError thrown>";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// x = [big, v, v, ..., v] (n copies of v): the big element fixes the scale, the rest are samples.
Tensor samples(float big, float v, int n) {
  Tensor t{{n + 1}, std::vector<float>(n + 1, v)};
  t.data[0] = big;
  return t;
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// luq_fp4
// ------------------------------------------------------------------------------------------------

TEST_CASE("luq_fp4 info and element values", "[numerics][luq]") {
  FormatPtr f = fmt_of("luq_fp4");
  const FormatInfo& info = f->info();
  CHECK(info.name == "luq_fp4");
  CHECK(info.kind == ElementKind::kLog);
  CHECK(info.code_bits == 4);
  CHECK(info.exp_bits == 3);
  CHECK(info.unit_log2 == 0);
  // [sign | c]: c = 0 is zero, else 2^(c-1).
  const double expect[8] = {0, 1, 2, 4, 8, 16, 32, 64};
  for (uint32_t c = 0; c < 8; ++c) {
    CHECK(f->element_value(c) == expect[c]);
    CHECK(f->element_value(c | 8u) == -expect[c]);
  }
}

TEST_CASE("luq_fp4 stochastic hand example [64, -3, 0.4, 0]", "[numerics][luq]") {
  FormatPtr f = fmt_of("luq_fp4");
  Tensor x = tensor({4}, {64.0f, -3.0f, 0.4f, 0.0f});
  bool saw_up = false, saw_down = false;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    QTensor q = f->quantize(x, context(Role::kError, seed, 11));
    // alpha = RNE(max|x| / 2^6) = 64 / 64 = 1; one per-tensor group of scale 1.
    CHECK(q.tensor_scale == 1.0);
    REQUIRE(q.group_scale.size() == 1);
    CHECK(q.group_scale[0] == 1.0);
    CHECK(q.groups.num_groups() == 1);
    CHECK(q.role == Role::kError);
    REQUIRE(q.codes.size() == 4);
    // 64: r = 64 = 2^6 exactly, p(up) = 0 -> c = 7.
    CHECK(q.codes[0] == 7u);
    // -3: r = 3, n = 1, L = 2, p(up) = (3 - 2) / 2 = 0.5 -> -4 (c = 3) if u < 0.5 else -2 (c = 2).
    CounterRng rng(seed, 11);
    bool up = rng.uniform(1) < 0.5;
    CHECK(q.codes[1] == (up ? 0b1011u : 0b1010u));
    CHECK(q.value(1) == (up ? -4.0 : -2.0));
    saw_up = saw_up || up;
    saw_down = saw_down || !up;
    // 0.4 < alpha: alpha with probability 0.4 (of the fp32 value 0.4f), else 0.
    bool keep = rng.uniform(2) < static_cast<double>(0.4f);
    CHECK(q.codes[2] == (keep ? 1u : 0u));
    CHECK(q.codes[3] == 0u);
  }
  CHECK(saw_up);  // 64 draws at p = 0.5: both outcomes occur
  CHECK(saw_down);
}

TEST_CASE("luq_fp4 nearest rounding, ties to the larger magnitude", "[numerics][luq]") {
  FormatPtr f = fmt_of("luq_fp4:rounding=nearest");
  Tensor x = tensor({11}, {64, -3, 0.4f, 0.5f, 0.6f, 47.9f, 48, -1.49f, 1.5f, -0.0f, -0.4f});
  QTensor q = f->quantize(x, context(Role::kError));
  CHECK(q.tensor_scale == 1.0);  // alpha = 64 / 2^6
  // 64 -> 2^6 (c 7); -3: tie between 2 and 4 (1.5 * 2) -> -4 (c 3); 0.4 < alpha/2 -> 0;
  // 0.5 = alpha/2 tie -> alpha (c 1); 0.6 -> alpha; 47.9 < 1.5 * 32 -> 32 (c 6); 48 tie -> 64;
  // -1.49 < 1.5 -> -1 (c 1); 1.5 tie -> 2 (c 2); -0 and -0.4 -> code 0 (no negative zero).
  const std::vector<uint32_t> expect = {7, 0b1011, 0, 1, 1, 6, 7, 0b1001, 2, 0, 0};
  CHECK(q.codes == expect);
}

TEST_CASE("luq_fp4 stochastic rounding is unbiased", "[numerics][luq]") {
  FormatPtr f = fmt_of("luq_fp4");
  const int n = 20000;
  SECTION("stochastic underflow below alpha, over element indices") {
    // alpha = 1; 0.3 -> 1 with p = 0.3, else 0: the ups are Binomial(n, p) (exact two-sided test
    // at level stat::kAlpha, tests/unit/stat_test.h).
    const double p = static_cast<double>(0.3f);
    QTensor q = f->quantize(samples(64, 0.3f, n), context(Role::kError, 5, 9));
    int64_t ups = 0;
    for (int i = 1; i <= n; ++i) {
      double v = q.value(i);
      CHECK((v == 0.0 || v == 1.0));
      ups += v == 1.0;
    }
    INFO(stat::binomial_text(ups, n, p));
    CHECK(stat::binomial_accepts(ups, n, p));
  }
  SECTION("log rounding inside a binade, over element indices") {
    // -5: L = 4, p(up to 8) = (5 - 4) / 4 = 0.25 (mean -4 - 4p = -5): ups ~ Binomial(n, 0.25).
    QTensor q = f->quantize(samples(64, -5.0f, n), context(Role::kError, 6, 9));
    int64_t ups = 0;
    for (int i = 1; i <= n; ++i) {
      double v = q.value(i);
      CHECK((v == -4.0 || v == -8.0));
      ups += v == -8.0;
    }
    INFO(stat::binomial_text(ups, n, 0.25));
    CHECK(stat::binomial_accepts(ups, n, 0.25));
  }
  SECTION("one element over seeds") {
    // 11 in [8, 16): p(up) = 3/8 (mean 8 + 8p = 11): ups over seeds ~ Binomial(seeds, p).
    const double p = 3.0 / 8;
    Tensor x = tensor({2}, {64, 11});
    int64_t ups = 0;
    const int seeds = 4000;
    for (int s = 0; s < seeds; ++s) {
      const double v = f->quantize(x, context(Role::kError, s, 3)).value(1);
      CHECK((v == 8.0 || v == 16.0));
      ups += v == 16.0;
    }
    INFO(stat::binomial_text(ups, seeds, p));
    CHECK(stat::binomial_accepts(ups, seeds, p));
  }
}

TEST_CASE("luq_fp4 alpha_divisor_log2 and clipping", "[numerics][luq]") {
  SECTION("d = 7 (original code, max/128): the max clips to code 7") {
    // alpha = 128 / 128 = 1. 128: n = 7 -> clipped to c 7 (64). -100: n = 6, either outcome
    // (64 or 128) is c 7. 1: r = 1 exactly -> c 1. No randomness reaches the codes.
    FormatPtr f = fmt_of("luq_fp4:alpha_divisor_log2=7");
    for (uint64_t seed = 0; seed < 8; ++seed) {
      QTensor q = f->quantize(tensor({3}, {128, -100, 1}), context(Role::kError, seed));
      CHECK(q.tensor_scale == 1.0);
      CHECK(q.codes == std::vector<uint32_t>{7, 0b1111, 1});
      CHECK(q.value(0) == 64.0);
    }
  }
  SECTION("d = 4 (paper eq. 11): max/16") {
    QTensor q = fmt_of("luq_fp4:alpha_divisor_log2=4")
                    ->quantize(tensor({2}, {16, 1}), context(Role::kError));
    CHECK(q.tensor_scale == 1.0);
    CHECK(q.codes == std::vector<uint32_t>{5, 1});  // 16 = 2^4 -> c 5
  }
  SECTION("max-abs, not the signed max") {
    // max|x| = 128 although the signed max is 1: alpha = 2, -128 = -2 * 2^6 -> c 7 negative.
    QTensor q = fmt_of("luq_fp4")->quantize(tensor({2}, {1, -128}), context(Role::kError));
    CHECK(q.tensor_scale == 2.0);
    CHECK(q.codes[1] == 0b1111u);
  }
}

TEST_CASE("luq_fp4 alpha rounding: fp32 RNE and alpha_pow2", "[numerics][luq]") {
  SECTION("plain alpha is max/64 exactly, max is code 7") {
    // 100 / 64 = 1.5625 = 25/16 exactly; r(100) = 64 -> c 7 with no randomness.
    QTensor q = fmt_of("luq_fp4")->quantize(tensor({2}, {100, 3}), context(Role::kError));
    CHECK(q.tensor_scale == 1.5625);
    CHECK(q.codes[0] == 7u);
  }
  SECTION("alpha_pow2 rounds up: 1.5625 -> 2") {
    FormatPtr f = fmt_of("luq_fp4:alpha_pow2=true");
    QTensor q = f->quantize(tensor({2}, {100, 3}), context(Role::kError, 4));
    CHECK(q.tensor_scale == 2.0);
    // r(100) = 50 in [32, 64): p(up) = 18/32 -> 64 (c 7) or 32 (c 6).
    bool up = CounterRng(4, 2).uniform(0) < 18.0 / 32;
    CHECK(q.codes[0] == (up ? 7u : 6u));
    // An exact power-of-two quotient is kept: 128 / 64 = 2.
    CHECK(f->quantize(tensor({1}, {128}), context(Role::kError)).tensor_scale == 2.0);
  }
  SECTION("alpha_pow2 keeps max <= alpha * 2^6 on random tensors") {
    FormatPtr f = fmt_of("luq_fp4:alpha_pow2=true");
    std::mt19937 gen(17);
    std::uniform_real_distribution<float> u(-1000.0f, 1000.0f);
    for (int rep = 0; rep < 50; ++rep) {
      Tensor x{{64}, {}};
      double m = 0;
      for (int i = 0; i < 64; ++i) {
        x.data.push_back(u(gen));
        m = std::max(m, std::fabs(static_cast<double>(x.data.back())));
      }
      QTensor q = f->quantize(x, context(Role::kError, rep));
      int e;
      CHECK(std::frexp(q.tensor_scale, &e) == 0.5);  // a power of two
      CHECK(q.tensor_scale * 64 >= m);
      CHECK(q.tensor_scale * 32 < m);
    }
  }
  SECTION("subnormal quotients round to nearest even; alpha never becomes 0") {
    const float three_units = std::ldexp(3.0f, -149);  // 3 * 2^-149, an fp32 subnormal
    // d = 1: 1.5 * 2^-149 ties between 1 and 2 units -> even: 2 * 2^-149.
    QTensor q1 = fmt_of("luq_fp4:alpha_divisor_log2=1")
                     ->quantize(tensor({1}, {three_units}), context(Role::kError));
    CHECK(q1.tensor_scale == std::ldexp(1.0, -148));
    // d = 6: 3 * 2^-155 rounds to 0 in fp32 -> floored at 2^-149; r = 3 -> 2 or 4 units.
    QTensor q6 = fmt_of("luq_fp4")->quantize(tensor({1}, {three_units}), context(Role::kError));
    CHECK(q6.tensor_scale == std::ldexp(1.0, -149));
    CHECK((q6.codes[0] == 2u || q6.codes[0] == 3u));
  }
}

TEST_CASE("luq_fp4 zeros, determinism, neighbours, errors", "[numerics][luq]") {
  FormatPtr f = fmt_of("luq_fp4");
  SECTION("all-zero tensor: alpha = 1, codes 0") {
    QTensor q = f->quantize(tensor({2, 2}, {0, -0.0f, 0, 0}), context(Role::kError));
    CHECK(q.tensor_scale == 1.0);
    CHECK(q.codes == std::vector<uint32_t>(4, 0));
  }
  SECTION("every value is a bracketing neighbour, deterministic in (x, seed, tensor id)") {
    std::mt19937 gen(3);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    Tensor x{{8, 16}, {}};
    for (int i = 0; i < 128; ++i) x.data.push_back(nd(gen) * std::exp(2 * nd(gen)));
    QTensor q = f->quantize(x, context(Role::kError, 1, 2));
    CHECK(q.codes == f->quantize(x, context(Role::kError, 1, 2)).codes);
    CHECK(q.codes != f->quantize(x, context(Role::kError, 1, 3)).codes);
    CHECK(q.codes != f->quantize(x, context(Role::kError, 2, 2)).codes);
    const double alpha = q.tensor_scale;
    for (int i = 0; i < 128; ++i) {
      const double a = std::fabs(static_cast<double>(x.data[i]));
      const double v = q.value(i);
      CHECK(q.codes[i] < 16u);
      if (v == 0.0) CHECK(q.codes[i] == 0u);  // zeros are code 0, never the negative zero 0b1000
      if (v != 0.0) CHECK((v < 0) == (x.data[i] < 0));
      const double mag = std::fabs(v);
      if (a < alpha) {
        CHECK((mag == 0.0 || mag == alpha));
      } else {
        const double low = alpha * std::exp2(std::floor(std::log2(a / alpha)));
        CHECK((mag == low || mag == 2 * low));
      }
    }
  }
  SECTION("non-finite input is a UserError naming the problem") {
    std::string e1 = error_of([&] { f->quantize(tensor({2}, {1, NAN}), context(Role::kError)); });
    CHECK(contains(e1, "luq_fp4"));
    CHECK(contains(e1, "element 1"));
    CHECK(contains(e1, "NaN"));
    std::string e2 =
        error_of([&] { f->quantize(tensor({1}, {-INFINITY}), context(Role::kError)); });
    CHECK(contains(e2, "infinite"));
  }
  SECTION("bad options") {
    std::string e = error_of([] { fmt_of("luq_fp4:alpha_divisor_log2=9"); });
    CHECK(contains(e, "alpha_divisor_log2"));
    CHECK(contains(e, "9 is outside [0, 8]"));
    std::string r = error_of([] { fmt_of("luq_fp4:rounding=near"); });
    CHECK(contains(r, "allowed: stochastic, nearest"));
    CHECK(contains(fmt_of("luq_fp4:alpha_divisor_log2=7")->describe(), "2^7"));
  }
}

// ------------------------------------------------------------------------------------------------
// mls
// ------------------------------------------------------------------------------------------------

TEST_CASE("mls info, spec aliases and element values", "[numerics][mls]") {
  FormatPtr d = fmt_of("mls");
  CHECK(d->info().name == "mls_m1e2");
  CHECK(d->info().kind == ElementKind::kMls);
  CHECK(d->info().code_bits == 4);
  CHECK(d->info().unit_log2 == -3);  // 1 - (2^2 - 1) - 1
  CHECK(d->info().group_scale_pow2);

  FormatPtr f = make_format("mls_m4e2", SourceLoc{"<cmdline>"});
  CHECK(f->info().name == "mls_m4e2");
  CHECK(f->info().code_bits == 7);
  CHECK(f->info().exp_bits == 2);
  CHECK(f->info().man_bits == 4);
  CHECK(f->info().unit_log2 == -6);  // 1 - 3 - 4

  // m1e2, Emax = 3: f=0 subnormal 2^-2 * m/2 -> 0, 0.125; f=1 -> 0.25, 0.375; f=2 -> 0.5, 0.75;
  // f=3 -> 1.0, 1.5.
  FormatPtr m1e2 = fmt_of("mls_m1e2");
  const double expect[8] = {0, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0, 1.5};
  for (uint32_t c = 0; c < 8; ++c) {
    CHECK(m1e2->element_value(c) == expect[c]);
    CHECK(m1e2->element_value(c | 8u) == -expect[c]);
  }
  // m4e2: code 1 = 2^-2 * 1/16 = 2^-6 (the unit); f=1, m=8 -> 2^-2 * 1.5 = 0.375; f=3, m=0 -> 1.
  CHECK(f->element_value(1) == std::ldexp(1.0, -6));
  CHECK(f->element_value((1u << 4) | 8u) == 0.375);
  CHECK(f->element_value(3u << 4) == 1.0);
  CHECK(f->element_value((1u << 6) | (3u << 4) | 15u) == -(1.0 + 15.0 / 16));

  // Every (M, E): magnitudes strictly increase with the code and are integer multiples of the unit.
  for (int m = 0; m <= 10; m += 2) {
    for (int e = 1; e <= 4; ++e) {
      FormatPtr g = fmt_of("mls_m" + std::to_string(m) + "e" + std::to_string(e));
      const uint32_t mags = 1u << (m + e);
      double prev = -1;
      bool ok = true;
      for (uint32_t c = 0; c < mags; ++c) {
        double v = g->element_value(c);
        double units = std::ldexp(v, -g->info().unit_log2);
        ok = ok && v > prev && units == std::floor(units) && g->element_value(c | mags) == -v;
        prev = v;
      }
      CHECK(ok);
      CHECK(g->element_value(((1u << e) - 1) << m) == 1.0);  // f = Emax, m = 0
    }
  }
}

TEST_CASE("mls hand example: one group [1.0, 0.7, -0.2, 0.01]", "[numerics][mls]") {
  FormatPtr f = fmt_of("mls_m1e2");
  QTensor q =
      f->quantize(tensor({1, 1, 2, 2}, {1.0f, 0.7f, -0.2f, 0.01f}), context(Role::kActivation));
  // S_t = 1, one (n, c) group with gmax = 1 -> k = 0, group scale 1.
  CHECK(q.tensor_scale == 1.0);
  CHECK(q.group_scale == std::vector<double>{1.0});
  // 1.0 -> f=3, m=0 = 0b0110. 0.7 in [0.5, 1): step 0.25, between 0.5 and 0.75 -> 0.75
  // (f=2, m=1 = 0b0101). 0.2 < 0.25: subnormal step 0.125, between 0.125 and 0.25, nearer 0.25
  // (f=1, m=0 = 0b0010, negative 0b1010). 0.01 < 0.0625 -> 0.
  CHECK(q.codes == std::vector<uint32_t>{0b0110, 0b0101, 0b1010, 0});
  CHECK(q.values() == std::vector<double>{1.0, 0.75, -0.25, 0.0});
}

TEST_CASE("mls hand example: two groups, ceil-rounded group scale, ties to even",
          "[numerics][mls]") {
  FormatPtr f = fmt_of("mls_m1e2");
  // (n, c) = (0, 0): [4, 1, 2.5, -3]; (0, 1): [0.9, 0.3, -0.45, 0].
  QTensor q = f->quantize(tensor({1, 2, 2, 2}, {4.0f, 1.0f, 2.5f, -3.0f, 0.9f, 0.3f, -0.45f, 0.0f}),
                          context(Role::kWeight));
  CHECK(q.tensor_scale == 4.0);
  // Group 1: 4 / 0.9 = 4.44 -> k = floor(log2 4.44) = 2, scale 1/4, so y = |v| / (4 / 4) = |v|.
  CHECK(q.group_scale == std::vector<double>{1.0, 0.25});
  // Group 0, y = |v| / 4 = [1, 0.25, 0.625, 0.75]: 1 -> 0b0110; 0.25 -> 0b0010; 0.625 is the exact
  // midpoint of 0.5 (code 4) and 0.75 (code 5) -> even code 4; -0.75 -> 0b1101.
  // Group 1: 0.9 -> nearer 1.0 than 0.75 -> 0b0110; 0.3 -> 0.25 (0.05 vs 0.075 to 0.375) ->
  // 0b0010; -0.45 -> 0.5 (0.05 vs 0.075 to 0.375) -> 0b1100; 0 -> 0.
  CHECK(q.codes == std::vector<uint32_t>{6, 2, 4, 13, 6, 2, 12, 0});
  CHECK(q.values() == std::vector<double>{4, 1, 2, -3, 1, 0.25, -0.5, 0});
}

TEST_CASE("mls group_exp_bits clamps the group scale", "[numerics][mls]") {
  Tensor x = tensor({1, 2, 1, 2}, {1.0f, 0.5f, 0.0625f, 0.03125f});
  QuantContext c = context(Role::kActivation);
  SECTION("default 8 bits: group 1 gets k = log2(1 / 0.0625) = 4") {
    QTensor q = fmt_of("mls_m1e2")->quantize(x, c);
    CHECK(q.group_scale == std::vector<double>{1.0, 0.0625});
    CHECK(q.codes == std::vector<uint32_t>{6, 4, 6, 4});  // y = 1, 0.5, 1, 0.5
  }
  SECTION("1 bit: k clamps to 1") {
    // Group 1 scale 0.5: y = 0.125 (smallest subnormal, code 1) and 0.0625 (exact midpoint of 0
    // and 0.125 -> even code 0).
    QTensor q = fmt_of("mls_m1e2:group_exp_bits=1")->quantize(x, c);
    CHECK(q.group_scale == std::vector<double>{1.0, 0.5});
    CHECK(q.codes == std::vector<uint32_t>{6, 4, 1, 0});
  }
  SECTION("2 bits: k clamps to 3") {
    QTensor q = fmt_of("mls_m1e2:group_exp_bits=2")->quantize(x, c);
    CHECK(q.group_scale == std::vector<double>{1.0, 0.125});
    CHECK(q.codes == std::vector<uint32_t>{6, 4, 4, 2});  // y = 0.5, 0.25
  }
  SECTION("zero groups and zero tensors take the smallest scale 2^-(2^Eg - 1)") {
    QTensor q =
        fmt_of("mls_m1e2:group_exp_bits=3")->quantize(tensor({1, 2, 1, 2}, {1, 0.5f, 0, 0}), c);
    CHECK(q.group_scale == std::vector<double>{1.0, std::ldexp(1.0, -7)});
    QTensor z = fmt_of("mls_m1e2")->quantize(tensor({1, 2, 1, 2}, {0, 0, -0.0f, 0}), c);
    CHECK(z.tensor_scale == 1.0);
    CHECK(z.codes == std::vector<uint32_t>(4, 0));
    CHECK(z.group_scale == std::vector<double>(2, std::ldexp(1.0, -255)));
  }
}

TEST_CASE("mls group shapes: nc, k<g> along the reduction axis, tensor", "[numerics][mls]") {
  // Row 0: [1 x4, 0.1 x4]; row 1: [0.1 x8].
  std::vector<float> d = {1, 1, 1, 1, 0.1f, 0.1f, 0.1f, 0.1f};
  d.insert(d.end(), 8, 0.1f);
  Tensor x = tensor({2, 8}, d);
  FormatPtr f = fmt_of("mls_m1e2:group_activation=k4");
  SECTION("k4 along axis 1 (and -1): groups (r, c/4)") {
    for (int axis : {1, -1}) {
      QTensor q = f->quantize(x, context(Role::kActivation, 1, 2, axis));
      CHECK(q.groups.block == Shape{1, 4});
      // 1 / 0.1 = 10 -> k = 3 for every group holding only 0.1.
      CHECK(q.group_scale == std::vector<double>{1.0, 0.125, 0.125, 0.125});
      CHECK(q.groups.group_of(8 + 5) == 3);
      // 0.1 in a k = 3 group: y = 0.8 -> between 0.75 and 1.0, nearer 0.75 -> 0.09375.
      CHECK(q.value(4) == 0.09375);
      CHECK(q.value(8) == 0.09375);
    }
  }
  SECTION("k4 along axis 0: blocks clip to the 2 rows, one group per column") {
    QTensor q = f->quantize(x, context(Role::kActivation, 1, 2, 0));
    CHECK(q.groups.block == Shape{2, 1});
    CHECK(q.group_scale == std::vector<double>{1, 1, 1, 1, 0.125, 0.125, 0.125, 0.125});
    // Row 1, column 0 shares the group of a 1.0: y = 0.1 -> between 0 and 0.125 (subnormal
    // step), nearer 0.125 -> 0.125; columns 4..7 as above.
    CHECK(q.value(8) == 0.125);
    CHECK(q.value(8 + 4) == 0.09375);
  }
  SECTION("nc: (n, c) groups for rank >= 3, k16 along the reduction axis for rank <= 2") {
    FormatPtr g = fmt_of("mls_m1e2");
    Tensor t4{{2, 3, 4, 5}, std::vector<float>(120, 1.0f)};
    QTensor q4 = g->quantize(t4, context(Role::kError));
    CHECK(q4.groups.block == Shape{1, 1, 4, 5});
    CHECK(q4.groups.num_groups() == 6);
    Tensor t2{{2, 40}, std::vector<float>(80, 1.0f)};
    QTensor q2 = g->quantize(t2, context(Role::kActivation));
    CHECK(q2.groups.block == Shape{1, 16});
    CHECK(q2.groups.num_groups() == 6);  // 2 rows x ceil(40 / 16)
    QTensor q2a = g->quantize(t2, context(Role::kActivation, 1, 2, 0));
    CHECK(q2a.groups.block == Shape{2, 1});
  }
  SECTION("per-role group shapes") {
    FormatPtr g = fmt_of("mls_m1e2:group_weight=tensor,group_error=k2");
    Tensor t4{{2, 3, 2, 2}, std::vector<float>(24, 1.0f)};
    CHECK(g->quantize(t4, context(Role::kWeight)).groups.num_groups() == 1);
    CHECK(g->quantize(t4, context(Role::kActivation)).groups.num_groups() == 6);
    CHECK(g->quantize(t4, context(Role::kError)).groups.block == Shape{1, 1, 1, 2});
  }
}

namespace {

// Random tensor whose magnitudes span ~2^-12 .. 2^4, random signs, some exact zeros.
Tensor random_tensor(const Shape& shape, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> ex(-12.0f, 4.0f);
  std::uniform_int_distribution<int> coin(0, 19);
  Tensor t{shape, {}};
  for (int64_t i = 0; i < numel(shape); ++i) {
    int c = coin(gen);
    float v = c == 0 ? 0.0f : std::exp2(ex(gen));
    t.data.push_back(c % 2 ? -v : v);
  }
  return t;
}

}  // namespace

TEST_CASE("mls nearest picks the closest representable value (brute force)", "[numerics][mls]") {
  for (const char* spec : {"mls_m0e1", "mls_m1e2", "mls_m4e2", "mls_m2e3", "mls_m3e4"}) {
    FormatPtr f = fmt_of(spec);
    const int mag_bits = f->info().exp_bits + f->info().man_bits;
    const uint32_t mags = 1u << mag_bits;
    Tensor x = random_tensor({2, 3, 5, 7}, 42);
    QTensor q = f->quantize(x, context(Role::kActivation));
    int bad = 0;
    for (size_t i = 0; i < x.data.size(); ++i) {
      const double a = std::fabs(static_cast<double>(x.data[i]));
      const double t = q.tensor_scale * q.group_scale[q.groups.group_of(i)];
      const uint32_t code = q.codes[i];
      const uint32_t mag = code & (mags - 1);
      if (code >= 2 * mags) ++bad;
      if (mag != 0 && ((code & mags) != 0) != (x.data[i] < 0)) ++bad;  // sign kept
      if (mag == 0 && code != 0) ++bad;                                // no negative zero
      if (f->element_value(mag) > 1.0) ++bad;  // y <= 1: top binade holds only 1.0
      const double dist = std::fabs(a - t * f->element_value(mag));
      for (uint32_t c = 0; c < mags; ++c) {
        const double dc = std::fabs(a - t * f->element_value(c));
        if (dc < dist) ++bad;                                  // something closer exists
        if (dc == dist && c != mag && (mag & 1u) != 0) ++bad;  // a tie must pick the even code
      }
    }
    INFO(spec);
    CHECK(bad == 0);
  }
}

TEST_CASE("mls group scales are 2^-ceil(log2(S_t / gmax)) for ragged group grids",
          "[numerics][mls]") {
  // Blocks that do not divide the dimension (k4 on 3, 5, 7) and rank 3 / rank 5 "nc": for every
  // group (elements found through GroupMap::group_of), gmax / S_t lies in (scale / 2, scale], and
  // the nearest-rounded values are within half a step of the input (no saturation).
  struct Case {
    Shape shape;
    std::string group;
    int axis;
  };
  const std::vector<Case> cases = {
      {{3, 5, 7}, "k4", 0},  {{3, 5, 7}, "k4", 1},       {{3, 5, 7}, "k4", -1},
      {{3, 5, 7}, "nc", -1}, {{2, 3, 2, 3, 2}, "nc", 0}, {{5, 7}, "k3", 0},
      {{37}, "nc", -1}};
  for (const Case& c : cases) {
    INFO(shape_str(c.shape) << " " << c.group << " axis " << c.axis);
    FormatPtr f = fmt_of("mls_m2e2:group_activation=" + c.group);
    Tensor x = random_tensor(c.shape, 5);
    QTensor q = f->quantize(x, context(Role::kActivation, 1, 2, c.axis));
    std::vector<double> gmax(q.groups.num_groups(), 0.0);
    for (size_t i = 0; i < x.data.size(); ++i) {
      double& g = gmax[q.groups.group_of(i)];
      g = std::max(g, std::fabs(static_cast<double>(x.data[i])));
    }
    int bad = 0;
    for (size_t g = 0; g < gmax.size(); ++g) {
      const double scale = q.tensor_scale * q.group_scale[g];
      if (gmax[g] > 0 && !(gmax[g] > scale / 2 && gmax[g] <= scale)) ++bad;
    }
    for (size_t i = 0; i < x.data.size(); ++i) {
      // m2e2 (Emax = 3): grid step of y is 2^(floor(log2 y) - 2), and 2^-4 below y = 2^-2.
      const double t = q.tensor_scale * q.group_scale[q.groups.group_of(i)];
      const double a = std::fabs(static_cast<double>(x.data[i]));
      const double step = a < t / 4 ? t / 16 : t * std::exp2(std::floor(std::log2(a / t))) / 4;
      if (std::fabs(std::fabs(q.value(i)) - a) > step / 2) ++bad;
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("mls stochastic rounding is unbiased and picks a neighbour", "[numerics][mls]") {
  FormatPtr f = fmt_of("mls_m1e2:group_error=tensor");
  const int n = 20000;
  // S_t = 1, one group, k = 0: y = |v|. (lo, hi, p(up)) per value:
  //   0.3  -> 0.25 / 0.375, p = 0.05 / 0.125 = 0.4
  //   0.05 -> 0 / 0.125 (below the smallest subnormal), p = 0.4
  //   -0.8 -> -0.75 / -1.0, p = 0.05 / 0.25 = 0.2
  struct Case {
    float v;
    double lo, hi;
  };
  for (const Case& c : {Case{0.3f, 0.25, 0.375}, Case{0.05f, 0, 0.125}, Case{-0.8f, -0.75, -1.0}}) {
    QTensor q = f->quantize(samples(1.0f, c.v, n), context(Role::kError, 8, 1));
    const double p = (static_cast<double>(c.v) - c.lo) / (c.hi - c.lo);
    int64_t ups = 0;
    int others = 0;
    for (int i = 1; i <= n; ++i) {
      double v = q.value(i);
      if (v != c.lo && v != c.hi) ++others;
      ups += v == c.hi;
    }
    INFO("v = " << c.v << ": " << stat::binomial_text(ups, n, p));
    CHECK(others == 0);
    CHECK(stat::binomial_accepts(ups, n, p));  // exact test at level stat::kAlpha
    // The draw is CounterRng(seed, tensor_id).uniform(i): up iff u < p.
    CounterRng rng(8, 1);
    CHECK(q.value(1) == (rng.uniform(1) < p ? c.hi : c.lo));
  }
  SECTION("defaults: nearest for weights/activations, stochastic for errors") {
    // One group per tensor for every role (a rank-1 "nc" would be k16 groups, whose scales
    // differ), so y = 0.3 everywhere: nearest gives 0.25 (code 2), stochastic 0.25 or 0.375.
    const std::string all_tensor =
        ":group_weight=tensor,group_activation=tensor,group_error=tensor";
    FormatPtr g = fmt_of("mls_m1e2" + all_tensor);
    Tensor x = samples(1.0f, 0.3f, 200);
    QTensor qa = g->quantize(x, context(Role::kActivation));
    QTensor qw = g->quantize(x, context(Role::kWeight));
    QTensor qe = g->quantize(x, context(Role::kError));
    int ups = 0;
    for (int i = 1; i <= 200; ++i) {
      CHECK(qa.codes[i] == 2u);  // nearest: 0.25
      CHECK(qw.codes[i] == 2u);
      ups += qe.codes[i] == 3u;
    }
    CHECK(ups > 0);
    CHECK(ups < 200);
    QTensor qn = fmt_of("mls_m1e2" + all_tensor + ",rounding_error=nearest")
                     ->quantize(x, context(Role::kError));
    CHECK(qn.codes == qa.codes);
  }
  SECTION("deterministic in (x, seed, tensor id)") {
    Tensor x = random_tensor({4, 4, 3, 3}, 7);
    QTensor a = f->quantize(x, context(Role::kError, 1, 2));
    CHECK(a.codes == f->quantize(x, context(Role::kError, 1, 2)).codes);
    CHECK(a.codes != f->quantize(x, context(Role::kError, 1, 3)).codes);
    CHECK(a.codes != f->quantize(x, context(Role::kError, 3, 2)).codes);
  }
}

namespace {

Tensor dequantized(const QTensor& q) {
  Tensor t{q.shape, {}};
  for (double v : q.values()) t.data.push_back(static_cast<float>(v));
  return t;
}

}  // namespace

TEST_CASE("mls nearest quantization is idempotent", "[numerics][mls]") {
  for (const char* spec : {"mls_m1e2", "mls_m4e2", "mls_m2e3"}) {
    INFO(spec);
    FormatPtr f = fmt_of(spec);
    QuantContext c = context(Role::kActivation);
    SECTION(std::string("values of random tensors: ") + spec) {
      Tensor x = random_tensor({3, 4, 3, 3}, 11);
      QTensor q1 = f->quantize(x, c);
      QTensor q2 = f->quantize(dequantized(q1), c);
      CHECK(q2.tensor_scale == q1.tensor_scale);
      CHECK(q2.values() == q1.values());
    }
    SECTION(std::string("codes and scales when group maxima round above 1/2: ") + spec) {
      // Each group's maximum is 0.95 * S_t * 2^-j (y = 0.95 rounds to 1.0 > 1/2), the others are
      // smaller, so the second pass sees the same group maxima relative to S_t.
      Tensor x = random_tensor({3, 4, 3, 3}, 12);
      const float s_t = 3.7f;
      for (int g = 0; g < 12; ++g) {
        float gmax = g == 0 ? s_t : 0.95f * s_t * std::ldexp(1.0f, -(g % 5));
        for (int i = 0; i < 9; ++i) {
          float& v = x.data[g * 9 + i];
          v = i == 0 ? gmax : std::copysign(std::fmod(std::fabs(v), 0.9f * gmax), v);
        }
      }
      QTensor q1 = f->quantize(x, c);
      QTensor q2 = f->quantize(dequantized(q1), c);
      CHECK(q2.tensor_scale == q1.tensor_scale);
      CHECK(q2.group_scale == q1.group_scale);
      CHECK(q2.codes == q1.codes);
    }
  }
  SECTION("a group maximum rounding down to 1/2 moves to the next group scale, same values") {
    // [1.0 | 0.55]: group 1 k = 0, y = 0.55 -> 0.5 (code 4). Re-quantized, 0.5 has k = 1 and y = 1.
    FormatPtr f = fmt_of("mls_m1e2");
    QuantContext c = context(Role::kActivation);
    QTensor q1 = f->quantize(tensor({1, 2, 1, 1}, {1.0f, 0.55f}), c);
    CHECK(q1.group_scale == std::vector<double>{1.0, 1.0});
    CHECK(q1.codes == std::vector<uint32_t>{6, 4});
    QTensor q2 = f->quantize(dequantized(q1), c);
    CHECK(q2.group_scale == std::vector<double>{1.0, 0.5});
    CHECK(q2.codes == std::vector<uint32_t>{6, 6});
    CHECK(q2.values() == q1.values());
  }
}

TEST_CASE("mls option and input errors", "[numerics][mls]") {
  std::string e = error_of([] { fmt_of("mls_m1e9"); });
  CHECK(contains(e, "error: e: 9 is outside [1, 4]"));
  std::string m = error_of([] { fmt_of("mls_m11e2"); });
  CHECK(contains(m, "m: 11 is outside [0, 10]"));
  for (const char* bad : {"kx", "k0", "k", "K4", "k-3", "nchw", ""}) {
    INFO(bad);
    std::string g = error_of([&] { fmt_of(std::string("mls_m1e2:group_error=") + bad); });
    CHECK(contains(g, "group_error: bad group shape '" + std::string(bad) + "'"));
    CHECK(contains(g, "k<g>"));
    CHECK(contains(g, "tensor"));
  }
  // Every problem of one spec is reported at once.
  std::string two =
      error_of([] { fmt_of("mls:group_weight=x,rounding_error=rne,group_exp_bits=0"); });
  CHECK(contains(two, "group_weight"));
  CHECK(contains(two, "rounding_error"));
  CHECK(contains(two, "group_exp_bits"));
  // YAML maps carry the position of the offending key.
  YAML::Node node = YAML::Load("{type: mls, m: 4, e: 2, group_error: k0}");
  std::string y = error_of([&] { make_format(node, "arch.yaml", "pe_array.error_format"); });
  CHECK(contains(y, "arch.yaml:1:"));
  CHECK(contains(y, "pe_array.error_format.group_error"));
  CHECK(make_format(YAML::Load("{type: mls, m: 4, e: 2}"), "a.yaml", "f")->info().name ==
        "mls_m4e2");
  // Non-finite inputs.
  FormatPtr f = fmt_of("mls_m1e2");
  std::string nan = error_of([&] {
    f->quantize(tensor({3}, {1, 2, NAN}), context(Role::kWeight));
  });
  CHECK(contains(nan, "mls_m1e2"));
  CHECK(contains(nan, "element 2"));
  CHECK(contains(nan, "NaN"));
  CHECK(contains(f->describe(), "error: stochastic rounding, nc groups"));
}

TEST_CASE("group_map() is the GroupMap quantize() gives, for every format, role and axis",
          "[mls][luq][formats]") {
  const std::vector<std::string> specs = {
      "fp32",
      "fp8_e4m3",
      "bf16",
      "int8",
      "int4_sawb",
      "dfp8",
      "luq_fp4",
      "mls_m1e2",
      "mls_m4e2",
      "mls_m1e2:group_activation=k4,group_error=tensor,group_weight=k3",
      "int8:granularity=channel"};
  const std::vector<Shape> shapes = {{2, 3, 4, 5}, {6, 10}, {7}, {3, 1, 2, 2}};
  for (const std::string& spec : specs) {
    const FormatPtr f = fmt_of(spec);
    for (const Shape& shape : shapes) {
      Tensor x;
      x.shape = shape;
      x.data.resize(static_cast<size_t>(numel(shape)));
      for (size_t i = 0; i < x.data.size(); ++i)
        x.data[i] = static_cast<float>(std::sin(0.7 * static_cast<double>(i) + 0.3));
      for (Role role : {Role::kWeight, Role::kActivation, Role::kError})
        for (int axis : {-1, 0}) {
          QuantContext ctx;
          ctx.role = role;
          ctx.reduction_axis = axis;
          ctx.seed = 5;
          INFO(spec << " " << shape_str(shape) << " " << role_name(role) << " axis " << axis);
          const GroupMap want = f->quantize(x, ctx).groups;
          const GroupMap got = f->group_map(shape, ctx);
          CHECK(got.shape == want.shape);
          CHECK(got.block == want.block);
        }
    }
  }
}
