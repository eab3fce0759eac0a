// The reference on lowerings read in place (run_conv_reference, run_gemm_reference) equals the
// reference on the built GemmProblem (lower_conv / lower_gemm + run_reference) bit for bit --
// outputs, overflow count, sizes, K segments -- for every phase and dgrad lowering, strides,
// padding, grouped and per-tensor formats, accumulators that overflow (saturate and wrap), and any
// thread count. Also the segmentation rule (SegmentCuts) against a direct greedy scan, and
// parallel_for's error rule.
#include <catch2/catch.hpp>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/core/parallel.h"
#include "models/numerics/conv_lowering.h"
#include "models/numerics/operands.h"
#include "models/numerics/random_tensor.h"
#include "models/reference/reference_gemm.h"

using namespace lbsim;

namespace {

FormatPtr fmt(const std::string& spec) { return make_format(spec, SourceLoc{"<test>"}); }

QTensor quant(const std::string& spec, const Tensor& t, Role role, uint64_t id, int axis = -1) {
  return quantize_operand(fmt(spec), t, role, 7, id, axis, "t");
}

// Bitwise equality of two results; names the first differing output.
void require_same(const GemmResult& want, const LoweredReference& got, const GemmProblem& p) {
  REQUIRE(got.m == p.m);
  REQUIRE(got.n == p.n);
  REQUIRE(got.k == p.k);
  REQUIRE(got.num_segments == p.num_segments);
  REQUIRE(got.result.acc_overflows == want.acc_overflows);
  REQUIRE(got.result.c.size() == want.c.size());
  for (size_t i = 0; i < want.c.size(); ++i) {
    uint32_t a = 0, b = 0;
    std::memcpy(&a, &want.c[i], 4);
    std::memcpy(&b, &got.result.c[i], 4);
    INFO("C[" << i / p.n << "][" << i % p.n << "]");
    REQUIRE(a == b);
  }
}

struct Recipe {
  const char* x;
  const char* w;
  const char* e;
};

}  // namespace

TEST_CASE("lowered reference: conv phases equal lower_conv + run_reference bit for bit",
          "[reference][lowered]") {
  const Recipe recipes[] = {{"dfp8", "dfp8", "dfp8"},
                            {"int4_sawb", "int4_sawb", "luq_fp4"},
                            {"mls_m1e2", "mls_m1e2", "mls_m1e2"},
                            {"mls_m4e2", "mls_m4e2", "mls_m4e2"},
                            {"int8", "int8", "int8"},
                            {"fp8_e4m3", "fp8_e4m3", "fp8_e5m2"}};
  struct Geo {
    int64_t n, ci, h, w, co, r, s, stride, pad;
  };
  const Geo geos[] = {{2, 3, 5, 4, 4, 3, 3, 1, 1},
                      {3, 2, 6, 5, 3, 3, 2, 2, 1},
                      {1, 4, 4, 4, 2, 1, 1, 1, 0},
                      {2, 2, 3, 3, 5, 3, 3, 2, 2}};
  // 32-bit saturating (no overflow), narrow accumulators that overflow (saturate, wrap).
  AccumulatorSpec accs[3];
  accs[1].acc_bits = 9;
  accs[2].acc_bits = 10;
  accs[2].policy = OverflowPolicy::kWrap;
  uint64_t seed = 1;
  for (const Recipe& rc : recipes)
    for (const Geo& g : geos) {
      const Tensor x = random_relu({g.n, g.ci, g.h, g.w}, seed++);
      const Tensor w = random_normal({g.co, g.ci, g.r, g.s}, seed++, 0.3);
      const ConvGeometry geo = make_conv_geometry(x.shape, w.shape, g.stride, g.pad);
      const Tensor e = random_normal({g.n, g.co, geo.ho, geo.wo}, seed++, 1e-2);
      const QTensor qx = quant(rc.x, x, Role::kActivation, 0);
      const QTensor qw = quant(rc.w, w, Role::kWeight, 1);
      const QTensor qe = quant(rc.e, e, Role::kError, 2);
      for (ConvPhase phase : {ConvPhase::kFwd, ConvPhase::kDgrad, ConvPhase::kWgrad})
        for (DgradLowering low : {DgradLowering::kIm2col, DgradLowering::kTransposed}) {
          if (phase != ConvPhase::kDgrad && low == DgradLowering::kTransposed) continue;
          const QTensor& first = phase == ConvPhase::kDgrad ? qe : qx;
          const QTensor& second = phase == ConvPhase::kWgrad ? qe : qw;
          const GemmProblem p = lower_conv(phase, first, second, geo, low);
          for (const AccumulatorSpec& acc : accs) {
            const GemmResult want = run_reference(p, acc);
            for (int threads : {1, 3}) {
              INFO(rc.x << "/" << rc.e << " " << conv_phase_name(phase) << " "
                        << dgrad_lowering_name(low) << " n" << g.n << " ci" << g.ci << " h" << g.h
                        << " stride " << g.stride << " pad " << g.pad << " acc " << acc.acc_bits
                        << " threads " << threads);
              require_same(want, run_conv_reference(phase, first, second, geo, low, acc, threads),
                           p);
            }
          }
        }
    }
}

TEST_CASE("lowered reference: overflowing accumulators are exercised", "[reference][lowered]") {
  // The narrow accumulators above must actually overflow somewhere, or the test proves little.
  const Tensor x = random_relu({2, 3, 5, 4}, 11);
  const Tensor w = random_normal({4, 3, 3, 3}, 12, 0.3);
  const ConvGeometry geo = make_conv_geometry(x.shape, w.shape, 1, 1);
  AccumulatorSpec acc;
  acc.acc_bits = 9;
  const LoweredReference r =
      run_conv_reference(ConvPhase::kFwd, quant("dfp8", x, Role::kActivation, 0),
                         quant("dfp8", w, Role::kWeight, 1), geo, DgradLowering::kIm2col, acc, 2);
  CHECK(r.result.acc_overflows > 0);
}

TEST_CASE("lowered reference: gemm equals lower_gemm + run_reference bit for bit",
          "[reference][lowered]") {
  AccumulatorSpec accs[2];
  accs[1].acc_bits = 11;
  accs[1].policy = OverflowPolicy::kWrap;
  uint64_t seed = 100;
  for (const char* spec : {"dfp8", "mls_m1e2", "mls_m4e2", "luq_fp4", "int8", "bf16"})
    for (int64_t m : {1, 7, 33})
      for (int64_t k : {5, 40}) {
        const int64_t n = 9;
        // A reduced along axis 1, B along axis 0, as prepare_gemm quantizes them.
        const QTensor a = quant(spec, random_normal({m, k}, seed++), Role::kActivation, 0, 1);
        const QTensor b = quant(spec, random_normal({k, n}, seed++), Role::kWeight, 1, 0);
        // B grouped along its columns instead (MLS k<g> on the other axis): K segments of 1.
        const QTensor bt = quant(spec, random_normal({k, n}, seed++), Role::kWeight, 2, 1);
        for (const QTensor* bb : {&b, &bt}) {
          const GemmProblem p = lower_gemm(a, *bb);
          for (const AccumulatorSpec& acc : accs)
            for (int threads : {1, 2, 5}) {
              INFO(spec << " m" << m << " k" << k << " acc " << acc.acc_bits << " threads "
                        << threads);
              require_same(run_reference(p, acc), run_gemm_reference(a, *bb, acc, threads), p);
            }
        }
      }
}

TEST_CASE("lowered reference: shape errors as lower_conv / lower_gemm", "[reference][lowered]") {
  const QTensor a = quant("dfp8", random_normal({3, 4}, 1), Role::kActivation, 0);
  const QTensor b = quant("dfp8", random_normal({5, 2}, 2), Role::kWeight, 1);
  AccumulatorSpec acc;
  CHECK_THROWS_WITH(run_gemm_reference(a, b, acc), Catch::Matchers::Contains("A has K = 4"));
  const QTensor x = quant("dfp8", random_normal({1, 2, 4, 4}, 3), Role::kActivation, 0);
  const QTensor w = quant("dfp8", random_normal({3, 2, 3, 3}, 4), Role::kWeight, 1);
  const ConvGeometry geo = make_conv_geometry(x.shape, w.shape, 1, 0);
  CHECK_THROWS_AS(run_conv_reference(ConvPhase::kWgrad, x, w, geo, DgradLowering::kIm2col, acc),
                  UserError);
  acc.acc_bits = 1;
  CHECK_THROWS_WITH(run_conv_reference(ConvPhase::kFwd, x, w, geo, DgradLowering::kIm2col, acc),
                    Catch::Matchers::Contains("acc_bits must be in 2..64"));
}

TEST_CASE("SegmentCuts equals the greedy scan of the segmentation rule", "[reference][segment]") {
  // Random group lines with padding; the rule applied literally: keep each line's current group,
  // cut when a line would see a second one.
  uint64_t state = 12345;
  auto next = [&state](int mod) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int32_t>((state >> 33) % static_cast<uint64_t>(mod));
  };
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t k = 1 + next(30), lines = 1 + next(5);
    std::vector<std::vector<int32_t>> g(static_cast<size_t>(lines));
    for (auto& line : g)
      for (int64_t kk = 0; kk < k; ++kk) line.push_back(next(4) - 1);  // -1 = padding
    std::vector<int32_t> want(static_cast<size_t>(k));
    std::vector<int32_t> cur(static_cast<size_t>(lines), -1);
    int32_t seg = 0;
    for (int64_t kk = 0; kk < k; ++kk) {
      bool cut = false;
      for (int64_t l = 0; l < lines; ++l)
        cut = cut || (g[l][kk] >= 0 && cur[l] >= 0 && g[l][kk] != cur[l]);
      if (cut) {
        cur.assign(cur.size(), -1);
        ++seg;
      }
      for (int64_t l = 0; l < lines; ++l)
        if (g[l][kk] >= 0) cur[l] = g[l][kk];
      want[kk] = seg;
    }
    // Lines split over two SegmentCuts and merged, added in reverse order.
    SegmentCuts one(k), two(k);
    for (int64_t l = lines; l-- > 0;)
      (l % 2 ? one : two).add_line([&](int64_t kk) { return g[l][kk]; });
    one.merge(two);
    INFO("trial " << trial);
    REQUIRE(one.k_segment() == want);
  }
}

TEST_CASE("parallel_for runs every index once and rethrows the lowest failure", "[core]") {
  for (int threads : {1, 2, 4}) {
    std::vector<int> hits(100, 0);
    parallel_for(100, threads, [&](int64_t i, int) { ++hits[i]; });
    CHECK(hits == std::vector<int>(100, 1));
    try {
      parallel_for(50, threads, [](int64_t i, int) {
        if (i == 17 || i == 31) throw std::runtime_error("at " + std::to_string(i));
      });
      FAIL("no exception");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()) == "at 17");
    }
  }
}
