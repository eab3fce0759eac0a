// Datapath (models/mac, bit-level PEs) == functional reference (models/reference) bit for bit,
// for every MAC family, on random data and on the edge cases of docs/design.md §4.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "models/core/error.h"
#include "models/mac/datapath_gemm.h"
#include "models/numerics/conv_lowering.h"
#include "models/numerics/random_tensor.h"
#include "models/reference/reference_gemm.h"
#include "tests/unit/gemm_pairs.h"

using namespace lbsim;
using namespace lbsim::test;

namespace {

FormatPtr fmt(const std::string& spec) { return make_format(spec, SourceLoc{"<test>"}); }

// Bitwise comparison; returns the number of differing outputs and fills a description of the
// first one, so a failure says where and what.
size_t mismatches(const GemmResult& r, const GemmResult& d, int64_t n, std::string& first) {
  size_t bad = 0;
  for (size_t i = 0; i < r.c.size(); ++i) {
    uint32_t a, b;
    std::memcpy(&a, &r.c[i], 4);
    std::memcpy(&b, &d.c[i], 4);
    if (a != b && bad++ == 0)
      first = "C[" + std::to_string(i / n) + "][" + std::to_string(i % n) + "] reference " +
              std::to_string(a) + " datapath " + std::to_string(b);
  }
  return bad;
}

void check_equal(const GemmProblem& p, const AccumulatorSpec& acc) {
  GemmResult r = run_reference(p, acc);
  GemmResult d = run_datapath(p, acc);
  REQUIRE(r.c.size() == static_cast<size_t>(p.m * p.n));
  REQUIRE(d.c.size() == r.c.size());
  std::string first;
  size_t bad = mismatches(r, d, p.n, first);
  INFO("first mismatch: " << first);
  CHECK(bad == 0);
  CHECK(r.acc_overflows == d.acc_overflows);
}

GemmProblem random_gemm(const Pair& pr, int64_t m, int64_t n, int64_t k, uint64_t seed, QTensor& qa,
                        QTensor& qb, double sigma_a = 1.0, double sigma_b = 1.0) {
  qa = fmt(pr.a)->quantize(random_normal({m, k}, seed, sigma_a), {Role::kActivation, seed, 0, 1});
  qb = fmt(pr.b)->quantize(random_normal({k, n}, seed + 7, sigma_b), {pr.role_b, seed, 1, 0});
  return lower_gemm(qa, qb);
}

}  // namespace

TEST_CASE("datapath == reference on random GEMMs, every family", "[bitexact]") {
  AccumulatorSpec acc;
  for (const Pair& pr : kPairs) {
    // K values: a multiple of the default group (16), one that is not, a prime, K = 1.
    for (int64_t k : {16, 37, 1, 64}) {
      for (uint64_t seed : {1u, 2u}) {
        INFO(pr.a << " x " << pr.b << " K=" << k << " seed=" << seed);
        QTensor qa, qb;
        check_equal(random_gemm(pr, 5, 7, k, seed, qa, qb), acc);
      }
    }
  }
}

TEST_CASE("datapath == reference with a wide dynamic range and cancellation", "[bitexact]") {
  AccumulatorSpec acc;
  for (const Pair& pr : kPairs) {
    INFO(pr.a << " x " << pr.b);
    // Rows of A with magnitudes spread over many binades make fp32 accumulation round often.
    Tensor a = random_normal({4, 96}, 3);
    for (size_t i = 0; i < a.data.size(); ++i)
      a.data[i] *= std::ldexp(1.0f, static_cast<int>(i % 23) - 11);
    Tensor b = random_normal({96, 3}, 4);
    QTensor qa = fmt(pr.a)->quantize(a, {Role::kActivation, 9, 0, 1});
    QTensor qb = fmt(pr.b)->quantize(b, {pr.role_b, 9, 1, 0});
    check_equal(lower_gemm(qa, qb), acc);
  }
}

TEST_CASE("datapath == reference on edge cases", "[bitexact]") {
  AccumulatorSpec acc;
  SECTION("all-zero operands give +0 everywhere") {
    for (const Pair& pr : kPairs) {
      INFO(pr.a << " x " << pr.b);
      Tensor z{{3, 20}, std::vector<float>(60, 0.0f)};
      QTensor qa = fmt(pr.a)->quantize(z, {Role::kActivation, 1, 0, 1});
      QTensor qb = fmt(pr.b)->quantize(random_normal({20, 2}, 5), {pr.role_b, 1, 1, 0});
      GemmProblem p = lower_gemm(qa, qb);
      check_equal(p, acc);
      GemmResult r = run_reference(p, acc);
      for (float v : r.c) CHECK(!std::signbit(v));
      for (float v : r.c) CHECK(v == 0.0f);
    }
  }
  SECTION("all-equal groups: every element at the maximum") {
    for (const Pair& pr : kPairs) {
      INFO(pr.a << " x " << pr.b);
      Tensor a{{2, 32}, std::vector<float>(64, 3.0f)};
      Tensor b{{32, 2}, std::vector<float>(64, -1.25f)};
      QTensor qa = fmt(pr.a)->quantize(a, {Role::kActivation, 1, 0, 1});
      QTensor qb = fmt(pr.b)->quantize(b, {pr.role_b, 1, 1, 0});
      check_equal(lower_gemm(qa, qb), acc);
    }
  }
  SECTION("subnormal element codes") {
    // Tiny values next to one large value push most MLS elements into the subnormal code
    // (field 0) and fp16/fp8 elements into their subnormal range.
    for (const Pair& pr : kPairs) {
      INFO(pr.a << " x " << pr.b);
      Tensor a = random_normal({3, 32}, 8, 1e-6);
      a.data[0] = 1.0f;
      QTensor qa = fmt(pr.a)->quantize(a, {Role::kActivation, 1, 0, 1});
      QTensor qb = fmt(pr.b)->quantize(random_normal({32, 4}, 9), {pr.role_b, 1, 1, 0});
      check_equal(lower_gemm(qa, qb), acc);
    }
    // The MLS case really contains subnormal codes with a non-zero mantissa.
    Tensor a{{1, 16}, std::vector<float>(16, 0.0f)};
    a.data[0] = 1.0f;
    a.data[1] = 0.1f;  // <M=1,E=2>: subnormals are multiples of 0.125 below 0.25 -> 0.125
    QTensor q = fmt("mls_m1e2")->quantize(a, {Role::kActivation, 1, 0, 1});
    CHECK(q.codes[1] == 0b0001);  // sign 0, field 0 (subnormal), mantissa 1
  }
  SECTION("accumulator overflow, saturate and wrap, counted identically") {
    for (OverflowPolicy pol : {OverflowPolicy::kSaturate, OverflowPolicy::kWrap}) {
      AccumulatorSpec small{14, pol};
      Tensor a{{2, 40}, std::vector<float>(80, 1.0f)};
      for (size_t i = 0; i < 80; i += 3) a.data[i] = -0.5f;
      Tensor b{{40, 2}, std::vector<float>(80, 1.0f)};
      for (const char* spec :
           {"int8", "dfp8", "mls_m4e2:group_activation=tensor,group_weight=tensor"}) {
        INFO(spec << " policy " << static_cast<int>(pol));
        QTensor qa = fmt(spec)->quantize(a, {Role::kActivation, 1, 0, 1});
        QTensor qb = fmt(spec)->quantize(b, {Role::kWeight, 1, 1, 0});
        GemmProblem p = lower_gemm(qa, qb);
        check_equal(p, small);
        // 127 * 127 = 16129 per product already exceeds a 14-bit range: overflow must be seen.
        if (std::string(spec) == "int8") CHECK(run_reference(p, small).acc_overflows > 0);
      }
    }
  }
}

TEST_CASE("datapath == reference on the three convolution phases", "[bitexact][conv]") {
  AccumulatorSpec acc;
  struct Recipe {
    const char *x, *w, *e;
  };
  const Recipe recipes[] = {{"fp32", "fp32", "fp32"},
                            {"fp8_e4m3", "fp8_e4m3", "fp8_e5m2"},
                            {"bf16", "bf16", "bf16"},
                            {"int8", "int8", "int8"},
                            {"dfp8", "dfp8", "dfp8"},
                            {"int4_sawb", "int4_sawb", "luq_fp4"},
                            {"mls_m1e2", "mls_m1e2", "mls_m1e2"},
                            {"mls_m4e2", "mls_m4e2", "mls_m4e2"}};
  for (const Recipe& r : recipes) {
    for (int64_t stride : {1, 2}) {
      INFO(r.x << "/" << r.w << "/" << r.e << " stride " << stride);
      Tensor x = random_relu({2, 3, 7, 7}, 21);
      Tensor w = random_normal({4, 3, 3, 3}, 22, 0.3);
      ConvGeometry geo = make_conv_geometry(x.shape, w.shape, stride, 1);
      Tensor e = random_normal({2, 4, geo.ho, geo.wo}, 23, 1e-2);
      QTensor qx = fmt(r.x)->quantize(x, {Role::kActivation, 5, 0, -1});
      QTensor qw = fmt(r.w)->quantize(w, {Role::kWeight, 5, 1, -1});
      QTensor qe = fmt(r.e)->quantize(e, {Role::kError, 5, 2, -1});
      check_equal(lower_conv(ConvPhase::kFwd, qx, qw, geo), acc);
      check_equal(lower_conv(ConvPhase::kDgrad, qe, qw, geo), acc);
      check_equal(lower_conv(ConvPhase::kWgrad, qx, qe, geo), acc);
    }
  }
}

TEST_CASE("float x fixed formats are rejected with both names", "[bitexact]") {
  QTensor qa = fmt("fp8_e4m3")->quantize(random_normal({2, 4}, 1), {Role::kActivation, 1, 0, 1});
  QTensor qb = fmt("int8")->quantize(random_normal({4, 2}, 2), {Role::kWeight, 1, 1, 0});
  try {
    GemmProblem p = lower_gemm(qa, qb);
    run_reference(p, AccumulatorSpec{});
    FAIL("expected a UserError");
  } catch (const UserError& e) {
    std::string msg = e.what();
    CHECK(msg.find("fp8_e4m3") != std::string::npos);
    CHECK(msg.find("int8") != std::string::npos);
  }
}
