// A third, independent oracle for the functional reference (models/reference/reference_gemm.h):
// exact rational arithmetic (Boost.Multiprecision cpp_rational) on the decoded operand values.
//
// For every output the oracle computes S = sum_k a_k b_k exactly, where a_k and b_k are the
// operands' exact dequantized values (QTensor::value: element x group scale x tensor scale),
// and A = sum_k |a_k b_k|. The contract of models/numerics/gemm_problem.h then says, per family:
//
//   bit for bit, y == RNE(S) (RNE = round to nearest even to binary32), where every rounding
//   the contract applies is exact or commutes with the one final rounding:
//     float family  K = 1 and both tensor scales powers of two: y = RNE(RNE(a b) x ts) with ts a
//                   power of two, i.e. RNE(S);
//     fixed family  (int, dfp, luq, mls; the mx family of OCP MX / NVFP4 follows the same
//                   contract) one K segment, every group and tensor scale a power of two, no
//                   accumulator overflow: the integer sum is exact, c = RNE(acc) is the only
//                   rounding and the scale products are exact;
//   (both only while S is zero or a normal binary32 magnitude: a power-of-two scaling into the
//   subnormal range could round twice).
//
//   within the rounding bound otherwise: each term passes through at most K + 4 roundings
//   (float: K - 1 accumulating FMAs, the tensor-scale product and the final multiply; fixed:
//   the int -> fp32 conversion, the group-scale product, the scaling, at most K - 1 fp32 adds
//   and the tensor scale), each with relative error u = 2^-24, so with
//   gamma_n = n u / (1 - n u) (Higham, Accuracy and Stability of Numerical Algorithms, §3.1):
//       |y - S| <= gamma_(K+4) A + (K + 4) 2^-149
//   (the last term covers rounding in the subnormal range, 2^-150 absolute per rounding).
//
// Accumulators are 64 bits wide, so no test GEMM overflows them (checked).
#include <boost/multiprecision/cpp_int.hpp>
#include <catch2/catch.hpp>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "models/core/error.h"
#include "models/numerics/gemm_problem.h"
#include "models/numerics/random_tensor.h"
#include "models/reference/reference_gemm.h"
#include "tests/unit/gemm_pairs.h"

using namespace lbsim;
using boost::multiprecision::cpp_int;
using boost::multiprecision::cpp_rational;
using lbsim::test::kMxPairs;
using lbsim::test::kPairs;
using lbsim::test::Pair;

namespace {

FormatPtr fmt(const std::string& spec) { return make_format(spec, SourceLoc{"<test>"}); }

cpp_rational pow2(int64_t e) {
  const cpp_int one = 1;
  return e >= 0 ? cpp_rational(one << static_cast<unsigned>(e))
                : cpp_rational(cpp_int(1), one << static_cast<unsigned>(-e));
}

// A double as an exact rational (m 2^e with a 53-bit integer m).
cpp_rational exact(double v) {
  if (v == 0) return 0;
  int e = 0;
  const double m = std::frexp(v, &e);
  const auto mi = static_cast<int64_t>(std::ldexp(m, 53));  // exact: |m| in [0.5, 1)
  return cpp_rational(cpp_int(mi)) * pow2(e - 53);
}

bool is_pow2(double v) {
  int e = 0;
  return v > 0 && std::frexp(v, &e) == 0.5;
}

// Round to nearest even to binary32, from the exact value (independent of any float unit).
float rne32(const cpp_rational& q) {
  if (q == 0) return 0.0f;
  const bool neg = q < 0;
  const cpp_rational a = neg ? cpp_rational(-q) : q;
  // e = floor(log2 a): start from the bit lengths, correct by one.
  int64_t e = static_cast<int64_t>(msb(numerator(a))) - static_cast<int64_t>(msb(denominator(a)));
  if (a < pow2(e)) --e;
  if (e > 127)
    return neg ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  const int64_t eq = std::max<int64_t>(e, -126);  // the quantum is 2^(eq - 23)
  const cpp_rational scaled = a * pow2(23 - eq);
  cpp_int n = numerator(scaled) / denominator(scaled);
  const cpp_rational rem = scaled - cpp_rational(n);
  const cpp_rational half(1, 2);
  if (rem > half || (rem == half && (n & 1) != 0)) ++n;
  const double v = std::ldexp(static_cast<double>(n), static_cast<int>(eq - 23));  // exact
  if (v > FLT_MAX)
    return neg ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  return static_cast<float>(neg ? -v : v);
}

uint32_t bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// Every family's pairs: the shared list and the mx family's.
std::vector<Pair> all_pairs() {
  std::vector<Pair> v(std::begin(kPairs), std::end(kPairs));
  v.insert(v.end(), std::begin(kMxPairs), std::end(kMxPairs));
  return v;
}

struct Tally {
  int64_t exact = 0, bounded = 0;
};

// Checks every output of the reference on (qa, qb) against the oracle; counts the outputs
// checked bit for bit and within the bound.
void check_oracle(const QTensor& qa, const QTensor& qb, Tally& tally) {
  const GemmProblem p = lower_gemm(qa, qb);
  AccumulatorSpec acc;
  acc.acc_bits = 64;
  const GemmResult r = run_reference(p, acc);
  REQUIRE(r.acc_overflows == 0);
  const bool fixed = mac_family(qa.format->info(), qb.format->info()) == MacFamily::kFixed;
  bool scales_pow2 = is_pow2(qa.tensor_scale) && is_pow2(qb.tensor_scale);
  for (const QTensor* q : {&qa, &qb})
    for (double g : q->group_scale) scales_pow2 = scales_pow2 && is_pow2(g);
  const bool contract_exact =
      fixed ? p.num_segments == 1 && scales_pow2
            : p.k == 1 && is_pow2(qa.tensor_scale) && is_pow2(qb.tensor_scale);
  const double u = std::ldexp(1.0, -24), nk = static_cast<double>(p.k + 4);
  const double gamma = nk * u / (1 - nk * u);
  for (int64_t i = 0; i < p.m; ++i)
    for (int64_t j = 0; j < p.n; ++j) {
      cpp_rational s = 0, abs_sum = 0;
      for (int64_t k = 0; k < p.k; ++k) {
        const cpp_rational t = exact(qa.value(i * p.k + k)) * exact(qb.value(k * p.n + j));
        s += t;
        abs_sum += t < 0 ? cpp_rational(-t) : t;
      }
      const float y = r.c[static_cast<size_t>(i * p.n + j)];
      const float want = rne32(s);
      INFO(qa.format->describe() << " x " << qb.format->describe() << " K=" << p.k << " C[" << i
                                 << "][" << j << "] reference " << y << " exact RNE " << want);
      const bool normal_or_zero = s == 0 || std::fabs(want) >= FLT_MIN;
      if (contract_exact && normal_or_zero && std::isfinite(want)) {
        CHECK(bits(y) == bits(want));
        ++tally.exact;
      } else {
        REQUIRE(std::isfinite(y));
        const cpp_rational err = exact(static_cast<double>(y)) - s;
        const cpp_rational bound = exact(gamma) * abs_sum + exact(nk * std::ldexp(1.0, -149));
        CHECK((err < 0 ? cpp_rational(-err) : err) <= bound);
        ++tally.bounded;
      }
    }
}

}  // namespace

TEST_CASE("reference == exact rational oracle on random GEMMs, every family", "[oracle]") {
  Tally tally;
  for (const Pair& pr : all_pairs()) {
    for (int64_t k : {1, 7, 16, 32, 64}) {
      for (uint64_t seed : {1u, 2u}) {
        const QTensor qa =
            fmt(pr.a)->quantize(random_normal({4, k}, seed), {Role::kActivation, seed, 0, 1});
        const QTensor qb =
            fmt(pr.b)->quantize(random_normal({k, 5}, seed + 7), {pr.role_b, seed, 1, 0});
        check_oracle(qa, qb, tally);
      }
    }
  }
  // Both kinds of check ran: exact outputs (K = 1, single-segment pow2 formats) and bounded ones.
  CHECK(tally.exact > 100);
  CHECK(tally.bounded > 100);
}

TEST_CASE("reference == exact rational oracle on edge cases", "[oracle]") {
  Tally tally;
  for (const Pair& pr : all_pairs()) {
    INFO(pr.a << " x " << pr.b);
    // Exact zero: +0 under both checks.
    const Tensor z{{3, 20}, std::vector<float>(60, 0.0f)};
    check_oracle(fmt(pr.a)->quantize(z, {Role::kActivation, 1, 0, 1}),
                 fmt(pr.b)->quantize(random_normal({20, 2}, 5), {pr.role_b, 1, 1, 0}), tally);
    // All equal, every element at the maximum of its group.
    const Tensor a{{2, 32}, std::vector<float>(64, 3.0f)};
    const Tensor b{{32, 2}, std::vector<float>(64, -1.25f)};
    check_oracle(fmt(pr.a)->quantize(a, {Role::kActivation, 1, 0, 1}),
                 fmt(pr.b)->quantize(b, {pr.role_b, 1, 1, 0}), tally);
    // Wide dynamic range and cancellation: magnitudes over 23 binades along K.
    Tensor w = random_normal({3, 96}, 3);
    for (size_t i = 0; i < w.data.size(); ++i)
      w.data[i] *= std::ldexp(1.0f, static_cast<int>(i % 23) - 11);
    check_oracle(fmt(pr.a)->quantize(w, {Role::kActivation, 9, 0, 1}),
                 fmt(pr.b)->quantize(random_normal({96, 3}, 4), {pr.role_b, 9, 1, 0}), tally);
    // Tiny values next to one large value (subnormal element codes).
    Tensor t = random_normal({2, 40}, 6, 1e-6);
    t.data[0] = 100.0f;
    check_oracle(fmt(pr.a)->quantize(t, {Role::kActivation, 2, 0, 1}),
                 fmt(pr.b)->quantize(random_normal({40, 2}, 8), {pr.role_b, 2, 1, 0}), tally);
  }
  CHECK(tally.exact + tally.bounded > 0);
}

TEST_CASE("the oracle's rounding is round-to-nearest-even to binary32", "[oracle]") {
  // Hand-derived: 1 + 2^-24 ties between 1 and 1 + 2^-23 -> even (1); 1 + 3 2^-24 -> 1 + 2^-22;
  // 3 2^-150 ties between 2^-149 and 2^-148 -> 2^-148 (even); 2^128 overflows; 1/3 ->
  // 0x3EAAAAAB.
  CHECK(rne32(1 + pow2(-24)) == 1.0f);
  CHECK(rne32(1 + 3 * pow2(-24)) == 1.0f + std::ldexp(1.0f, -22));
  CHECK(rne32(3 * pow2(-150)) == std::ldexp(1.0f, -148));
  CHECK(std::isinf(rne32(pow2(128))));
  CHECK(bits(rne32(cpp_rational(1, 3))) == 0x3EAAAAABu);
  CHECK(bits(rne32(cpp_rational(-1, 3))) == 0xBEAAAAABu);
  CHECK(exact(0.1) == cpp_rational(cpp_int(3602879701896397), cpp_int(1) << 55));
}
