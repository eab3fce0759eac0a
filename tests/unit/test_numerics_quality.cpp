// The numerics metric of sweep points (models/sweep/numerics_quality.h): SQNR per role and the
// relative error of one sampled GEMM per phase, on synthetic and on real (.npy) tensors.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "models/arch/arch_loader.h"
#include "models/core/error.h"
#include "models/core/npy.h"
#include "models/sweep/numerics_quality.h"
#include "models/workload/zoo.h"

using namespace lbsim;

namespace {

// The built-in array with every role in `spec` (the metric reads only formats, accumulator and
// dgrad lowering).
ArchConfig arch_with(const std::string& spec, int acc_bits = 32) {
  ArchConfig a = default_arch();
  const FormatPtr f = make_format(spec, SourceLoc{"<test>"});
  a.pe.weight = a.pe.activation = a.pe.error = f;
  a.pe.accumulator.acc_bits = acc_bits;
  return a;
}

NumericsQuality run(const std::string& spec, const Workload& w, int64_t max_macs = 1 << 20,
                    uint64_t seed = 0, const std::string& dir = "") {
  NumericsQualityOptions o;
  o.max_macs = max_macs;
  o.seed = seed;
  o.data_dir = dir;
  return numerics_quality(arch_with(spec), w, o);
}

int64_t macs(const NumericsQuality::GemmSize& s) { return s.m * s.n * s.k; }

// A scratch directory under the system temp dir, emptied first.
std::string scratch(const std::string& name) {
  const auto d = std::filesystem::temp_directory_path() / ("lbsim_test_numq_" + name);
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d.string();
}

LayerSpec conv_layer(const std::string& name, int64_t cin, int64_t cout, int64_t hw) {
  LayerSpec l;
  l.name = name;
  l.type = LayerType::kConv2d;
  l.in_channels = cin;
  l.out_channels = cout;
  l.kernel_h = l.kernel_w = 3;
  l.pad_h = l.pad_w = 1;
  l.in_h = l.in_w = hw;
  return l;
}

Workload workload_of(std::vector<LayerSpec> layers, int64_t batch, bool training = true) {
  Workload w;
  w.network = "test";
  w.batch = batch;
  w.training = training;
  w.layers = std::move(layers);
  expand_workload(w);
  return w;
}

// Power of the inverse SNR of a dB figure.
double inv_snr(double db) { return std::pow(10.0, -db / 10.0); }

}  // namespace

TEST_CASE("fp32 formats are lossless: SQNR at the cap, GEMM error at fp32 accumulation level") {
  const Workload w = zoo_workload("resnet20", 4);
  const NumericsQuality q = run("fp32", w);
  CHECK(q.sqnr_weight_db == kSqnrLosslessDb);
  CHECK(q.sqnr_activation_db == kSqnrLosslessDb);
  CHECK(q.sqnr_error_db == kSqnrLosslessDb);
  // Only the fp32 FMA rounding of the reference remains: K <= a few thousand terms, each rounding
  // at most 2^-24 relative, so well below 1e-5.
  for (double e : {q.gemm_rel_error_fwd, q.gemm_rel_error_dgrad, q.gemm_rel_error_wgrad}) {
    CHECK(e >= 0.0);
    CHECK(e < 1e-5);
  }
  CHECK(q.tensors.rfind("synthetic (seed 0)", 0) == 0);
}

TEST_CASE("SQNR grows with mantissa bits (MLS <M,2>) and with integer bits (int4 < int8)") {
  const Workload w = zoo_workload("resnet20", 2);
  std::vector<NumericsQuality> mls;
  for (int m = 1; m <= 4; ++m) mls.push_back(run("mls_m" + std::to_string(m) + "e2", w));
  for (size_t i = 1; i < mls.size(); ++i) {
    INFO("MLS m = " << i + 1);
    // Each extra mantissa bit halves the rounding step: about +6 dB where rounding dominates.
    CHECK(mls[i].sqnr_weight_db > mls[i - 1].sqnr_weight_db + 3.0);
    CHECK(mls[i].sqnr_activation_db > mls[i - 1].sqnr_activation_db + 3.0);
    CHECK(mls[i].sqnr_error_db > mls[i - 1].sqnr_error_db + 1.0);
    CHECK(mls[i].gemm_rel_error_fwd < mls[i - 1].gemm_rel_error_fwd);
    CHECK(mls[i].gemm_rel_error_dgrad < mls[i - 1].gemm_rel_error_dgrad);
    CHECK(mls[i].gemm_rel_error_wgrad < mls[i - 1].gemm_rel_error_wgrad);
  }
  const NumericsQuality i4 = run("int4", w), i8 = run("int8", w);
  // Four more bits: 16 times finer steps, ~24 dB where the range is not the limit.
  CHECK(i8.sqnr_weight_db > i4.sqnr_weight_db + 18.0);
  CHECK(i8.sqnr_activation_db > i4.sqnr_activation_db + 18.0);
  CHECK(i8.sqnr_error_db > i4.sqnr_error_db);
  CHECK(i8.gemm_rel_error_fwd < i4.gemm_rel_error_fwd);
}

TEST_CASE("relative GEMM error is bounded by the operands' quantization noise") {
  // For C = A B with independent relative noise powers na, nb on A and B (na = 10^(-SQNR/10)),
  // the relative error of C is about sqrt(na + nb) (cross term na nb negligible): within a factor
  // 1.5 either way in every phase (measured ratios 0.9 to 1.15). A wrong operand, phase or scale
  // would miss it by far more.
  const Workload w = zoo_workload("resnet20", 2);
  for (const char* spec : {"int8", "mls_m1e2", "mls_m4e2", "fp8_e4m3"}) {
    INFO(spec);
    const NumericsQuality q = run(spec, w);
    const double fwd = std::sqrt(inv_snr(q.sqnr_activation_db) + inv_snr(q.sqnr_weight_db));
    const double dgr = std::sqrt(inv_snr(q.sqnr_error_db) + inv_snr(q.sqnr_weight_db));
    const double wgr = std::sqrt(inv_snr(q.sqnr_activation_db) + inv_snr(q.sqnr_error_db));
    CHECK(q.gemm_rel_error_fwd > fwd / 1.5);
    CHECK(q.gemm_rel_error_fwd < fwd * 1.5);
    CHECK(q.gemm_rel_error_dgrad > dgr / 1.5);
    CHECK(q.gemm_rel_error_dgrad < dgr * 1.5);
    CHECK(q.gemm_rel_error_wgrad > wgr / 1.5);
    CHECK(q.gemm_rel_error_wgrad < wgr * 1.5);
  }
}

TEST_CASE("numerics metric is deterministic and keyed by the seed") {
  const Workload w = zoo_workload("resnet20", 2);
  const NumericsQuality a = run("mls_m2e2", w, 1 << 18, 7), b = run("mls_m2e2", w, 1 << 18, 7);
  CHECK(a.sqnr_weight_db == b.sqnr_weight_db);
  CHECK(a.sqnr_activation_db == b.sqnr_activation_db);
  CHECK(a.sqnr_error_db == b.sqnr_error_db);
  CHECK(a.gemm_rel_error_fwd == b.gemm_rel_error_fwd);
  CHECK(a.gemm_rel_error_dgrad == b.gemm_rel_error_dgrad);
  CHECK(a.gemm_rel_error_wgrad == b.gemm_rel_error_wgrad);
  CHECK(a.tensors == b.tensors);
  const NumericsQuality c = run("mls_m2e2", w, 1 << 18, 8);
  CHECK(c.sqnr_activation_db != a.sqnr_activation_db);
  CHECK(c.gemm_rel_error_fwd != a.gemm_rel_error_fwd);
}

TEST_CASE("sampled GEMMs respect max_macs") {
  // resnet20 at batch 8: every conv but the first has 2,359,296 MACs per sample and phase
  // (e.g. 16 x 16 x 3 x 3 at 32 x 32: 1024 x 16 x 144), so the first of them is sampled
  // (layer1.0.conv1, the first of the ties) with one sample when max_macs < 2,359,296.
  const Workload w = zoo_workload("resnet20", 8);
  for (int64_t max_macs : {int64_t{3000}, int64_t{100000}, int64_t{1} << 20, int64_t{5000000}}) {
    INFO("max_macs " << max_macs);
    const NumericsQuality q = run("int8", w, max_macs);
    CHECK(q.layer == "layer1.0.conv1");
    CHECK(q.samples_available == 8);
    CHECK(q.samples == std::max<int64_t>(1, std::min<int64_t>(8, max_macs / 2359296)));
    for (const auto& g : {q.gemm_fwd, q.gemm_dgrad, q.gemm_wgrad}) {
      CHECK(g.m >= 1);
      CHECK(macs(g) <= std::max(max_macs, g.k));
    }
    // fwd: K = 144, N = 16; M = min(1024 * samples, max_macs / 2304).
    CHECK(q.gemm_fwd.k == 144);
    CHECK(q.gemm_fwd.n == 16);
    CHECK(q.gemm_fwd.m == std::max<int64_t>(1, std::min(1024 * q.samples, max_macs / 2304)));
    // wgrad: K = samples * 1024 output positions; N = 16, cut when 16 K > max_macs.
    CHECK(q.gemm_wgrad.k == 1024 * q.samples);
  }
  // 3000 MACs: fwd keeps one row (2304 MACs); wgrad's K = 1024 leaves 2 columns of one row.
  const NumericsQuality tiny = run("int8", w, 3000);
  CHECK(tiny.gemm_fwd.m == 1);
  CHECK(tiny.gemm_wgrad.m == 1);
  CHECK(tiny.gemm_wgrad.n == 2);
}

TEST_CASE("hand-computed SQNR and GEMM error on a tiny linear layer from .npy files") {
  // linear 2 -> 2 on 2 rows, fp16 (RNE, no scaling): only w[0][0] = 1 + 2^-12 is not an fp16
  // value; it lies below the half ulp 2^-11 of 1 and rounds to 1 (error 2^-12).
  const std::string dir = scratch("tiny");
  LayerSpec l;
  l.name = "fc";
  l.type = LayerType::kLinear;
  l.in_channels = 2;
  l.out_channels = 2;
  l.rows = 2;
  const Workload w = workload_of({l}, 2);
  const float w00 = 1.0f + std::ldexp(1.0f, -12);
  write_npy_f4(dir + "/fc.activation.npy", {2, 2}, {1, 2, 3, 4});
  write_npy_f4(dir + "/fc.weight.npy", {2, 2}, {w00, 2, 0.5f, -1});
  write_npy_f4(dir + "/fc.error.npy", {2, 2}, {0.25f, -0.5f, 8, 1});
  const NumericsQuality q = run("fp16", w, 1 << 20, 0, dir);
  // weight: signal w00^2 + 4 + 0.25 + 1, noise (2^-12)^2.
  const double d = std::ldexp(1.0, -12), s = double(w00) * w00 + 5.25;
  CHECK(q.sqnr_weight_db == Approx(10 * std::log10(s / (d * d))).epsilon(1e-12));
  CHECK(q.sqnr_activation_db == kSqnrLosslessDb);
  CHECK(q.sqnr_error_db == kSqnrLosslessDb);
  // fwd y = x w^T: column 0 = x[:,0] w00 + x[:,1] 2 = (5 + d, 11 + 3d) exactly, the quantized
  // one (5, 11) (fp32 sums of exact products); column 1 = (-1.5, -2.5) in both.
  const double num = d * d + 9 * d * d;
  const double den = (5 + d) * (5 + d) + (11 + 3 * d) * (11 + 3 * d) + 2.25 + 6.25;
  CHECK(q.gemm_rel_error_fwd == Approx(std::sqrt(num / den)).epsilon(1e-9));
  // dgrad dx = e w: row i = e[i][0] w[0] + e[i][1] w[1]; column 0 differs by e[:,0] d =
  // (0.25 d, 8 d): exact (-0.25 + 0.25 (1 + d) ... ) = (0.25 w00 - 0.25, 8 w00 + 0.5).
  const double dn = 0.0625 * d * d + 64 * d * d;
  const double c00 = 0.25 * (1 + d) - 0.25, c01 = 0.5 + 0.5, c10 = 8 * (1 + d) + 0.5, c11 = 16 - 1;
  const double dd = c00 * c00 + c01 * c01 + c10 * c10 + c11 * c11;
  CHECK(q.gemm_rel_error_dgrad == Approx(std::sqrt(dn / dd)).epsilon(1e-9));
  // wgrad dw^T = x^T e uses no weight: exact.
  CHECK(q.gemm_rel_error_wgrad == 0.0);
  CHECK(q.samples == 2);
  CHECK(q.tensors.find("real: " + dir + "/fc.{activation,weight,error}.npy") == 0);
}

TEST_CASE("real tensors: the largest dumped layer is sampled; a missing file is named") {
  // big (16 -> 16 at 8x8) has 4x the MACs of small (8 -> 8 at 8x8), but only small is dumped.
  const std::string dir = scratch("conv");
  const Workload w = workload_of({conv_layer("small", 8, 8, 8), conv_layer("big", 16, 16, 8)}, 2);
  const auto fill = [](int64_t n, float scale) {
    std::vector<float> v(static_cast<size_t>(n));
    for (size_t i = 0; i < v.size(); ++i) v[i] = scale * float((i * 37) % 101) / 50.0f - scale;
    return v;
  };
  // A batch of 3 although the workload says 2: the tensors' own batch is used.
  write_npy_f4(dir + "/small.activation.npy", {3, 8, 8, 8}, fill(3 * 512, 1.0f));
  write_npy_f4(dir + "/small.weight.npy", {8, 8, 3, 3}, fill(576, 0.1f));
  write_npy_f4(dir + "/small.error.npy", {3, 8, 8, 8}, fill(3 * 512, 0.01f));
  const NumericsQuality lossless = run("fp32", w, 1 << 20, 0, dir);
  CHECK(lossless.layer == "small");
  CHECK(lossless.samples_available == 3);
  CHECK(lossless.samples == 3);  // 36,864 MACs per sample
  CHECK(lossless.sqnr_weight_db == kSqnrLosslessDb);
  CHECK(lossless.gemm_rel_error_wgrad < 1e-6);
  const NumericsQuality mls = run("mls_m1e2", w, 40000, 0, dir);
  CHECK(mls.samples == 1);
  CHECK(mls.sqnr_activation_db > 5.0);
  CHECK(mls.sqnr_activation_db < 40.0);
  CHECK(mls.gemm_rel_error_fwd > 0.0);
  CHECK(mls.gemm_rel_error_fwd < 1.0);

  std::filesystem::remove(dir + "/small.error.npy");
  CHECK_THROWS_WITH(run("fp32", w, 1 << 20, 0, dir),
                    Catch::Contains(dir + "/small.error.npy: error: no such file") &&
                        Catch::Contains("--dump-tensors DIR --layers small"));
  // An inference workload needs no error tensor.
  const NumericsQuality inf = run("fp32", workload_of(w.layers, 2, false), 1 << 20, 0, dir);
  CHECK(std::isnan(inf.sqnr_error_db));
  CHECK(std::isnan(inf.gemm_rel_error_dgrad));
  CHECK(std::isnan(inf.gemm_rel_error_wgrad));
  CHECK(inf.gemm_rel_error_fwd < 1e-6);
  CHECK(inf.gemm_dgrad.m == 0);

  const std::string empty = scratch("empty");
  CHECK_THROWS_WITH(run("fp32", w, 1 << 20, 0, empty),
                    Catch::Contains(empty + "/big.activation.npy: error: no such file"));
  write_npy_f4(dir + "/small.error.npy", {3, 8, 8, 7}, fill(3 * 448, 0.01f));
  CHECK_THROWS_WITH(run("fp32", w, 1 << 20, 0, dir),
                    Catch::Contains(dir + "/small.error.npy: error: shape (3, 8, 8, 7) does not "
                                          "fit layer small's error tensor (N, 8, 8, 8)"));
}

TEST_CASE("a workload without weight GEMMs has no numerics metric") {
  LayerSpec l;
  l.name = "relu";
  l.type = LayerType::kActivation;
  l.kind = "relu";
  l.elements = 64;
  const NumericsQuality q = run("int8", workload_of({l}, 2));
  CHECK(std::isnan(q.sqnr_weight_db));
  CHECK(std::isnan(q.gemm_rel_error_fwd));
  CHECK(q.tensors.find("none: test has no conv2d/linear layer") == 0);
}
