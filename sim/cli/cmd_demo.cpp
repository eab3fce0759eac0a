// `lbsim demo`: the main job on built-in defaults until the simulator lands. One ResNet-20-style
// 3x3 convolution is quantized in every supported training format and its three training GEMMs
// (fwd, dgrad, wgrad) are computed by the functional reference and by the PE datapaths; the table
// shows the error against the unquantized fp32 result and whether the two routes agree bit for bit.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "models/core/error.h"
#include "models/mac/datapath_gemm.h"
#include "models/numerics/conv_lowering.h"
#include "models/numerics/random_tensor.h"
#include "models/reference/reference_gemm.h"
#include "sim/cli/cli.h"

namespace lbsim::cli {

namespace {

struct DemoArgs {
  int64_t batch = 2, channels = 16, hw = 8;
  uint64_t seed = 1;
};

struct Recipe {
  const char* name;
  const char* x;  // activation format
  const char* w;  // weight format
  const char* e;  // error format
};

// The formats of each training recipe (docs/formats.md §7): which operand role gets which format.
const Recipe kRecipes[] = {
    {"fp32", "fp32", "fp32", "fp32"},
    {"fp16", "fp16", "fp16", "fp16"},
    {"bf16", "bf16", "bf16", "bf16"},
    {"fp8", "fp8_e4m3", "fp8_e4m3", "fp8_e5m2"},
    {"int8", "int8", "int8", "int8"},
    {"dfp8 (INT)", "dfp8", "dfp8", "dfp8"},
    {"luq (LOG)", "int4_sawb", "int4_sawb", "luq_fp4"},
    {"mls_m1e2", "mls_m1e2", "mls_m1e2", "mls_m1e2"},
    {"mls_m4e2", "mls_m4e2", "mls_m4e2", "mls_m4e2"},
};

double rel_error(const std::vector<float>& y, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    double d = static_cast<double>(y[i]) - ref[i];
    num += d * d;
    den += static_cast<double>(ref[i]) * ref[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void cmd_demo(const DemoArgs& d) {
  const int64_t n = d.batch, c = d.channels, h = d.hw;
  Tensor x = random_relu({n, c, h, h}, d.seed);
  Tensor w = random_normal({c, c, 3, 3}, d.seed + 1, std::sqrt(2.0 / (9.0 * c)));
  Tensor e = random_normal({n, c, h, h}, d.seed + 2, 1e-3);
  ConvGeometry geo = make_conv_geometry(x.shape, w.shape, 1, 1);
  std::printf("lbsim demo: 3x3 convolution, x %s, w %s, stride 1, pad 1, seed %llu\n",
              shape_str(x.shape).c_str(), shape_str(w.shape).c_str(),
              static_cast<unsigned long long>(d.seed));
  std::printf("each training GEMM computed by the functional reference and by the PE datapath\n\n");
  std::printf("%-11s %-6s %-22s %-16s %9s %12s  %s\n", "recipe", "phase", "operand formats",
              "GEMM MxNxK", "segments", "rel.err", "datapath == reference");

  AccumulatorSpec acc;
  std::vector<std::vector<float>> baseline(3);
  bool all_equal = true;
  for (const Recipe& r : kRecipes) {
    SourceLoc where{"<demo>"};
    FormatPtr fx = make_format(r.x, where), fw = make_format(r.w, where),
              fe = make_format(r.e, where);
    QTensor qx = fx->quantize(x, {Role::kActivation, d.seed, 0, -1});
    QTensor qw = fw->quantize(w, {Role::kWeight, d.seed, 1, -1});
    QTensor qe = fe->quantize(e, {Role::kError, d.seed, 2, -1});
    const ConvPhase phases[] = {ConvPhase::kFwd, ConvPhase::kDgrad, ConvPhase::kWgrad};
    for (int i = 0; i < 3; ++i) {
      ConvPhase ph = phases[i];
      const QTensor& a = ph == ConvPhase::kDgrad ? qe : qx;
      const QTensor& b = ph == ConvPhase::kWgrad ? qe : qw;
      GemmProblem p = lower_conv(ph, a, b, geo);
      GemmResult ref = run_reference(p, acc);
      GemmResult dp = run_datapath(p, acc);
      std::vector<float> y = conv_output(ph, ref, geo).data;
      if (baseline[i].empty()) baseline[i] = y;  // the first recipe is fp32
      bool eq = same_bits(ref.c, dp.c) && ref.acc_overflows == dp.acc_overflows;
      all_equal = all_equal && eq;
      std::string ops = fmt::format("{} x {}", a.format->info().name, b.format->info().name);
      std::string dims = fmt::format("{}x{}x{}", p.m, p.n, p.k);
      std::printf("%-11s %-6s %-22s %-16s %9d %12.3e  %s\n", r.name, conv_phase_name(ph),
                  ops.c_str(), dims.c_str(), p.num_segments, rel_error(y, baseline[i]),
                  eq ? "yes" : "NO");
    }
  }
  std::printf("\nrel.err = ||y - y_fp32|| / ||y_fp32|| against unquantized fp32 operands.\n");
  std::printf("%s\n", all_equal ? "all GEMMs bit-exact between datapath and reference"
                                : "MISMATCH between datapath and reference");
  set_exit_code(all_equal ? 0 : 1);
}

void add_demo_command(CLI::App& app) {
  auto args = std::make_shared<DemoArgs>();
  auto* c = app.add_subcommand(
      "demo", "Quantize one conv layer in every training format; reference vs datapath table");
  c->add_option("--batch", args->batch, "Batch size")->check(CLI::Range(1, 64))->default_val(2);
  c->add_option("--channels", args->channels, "Input and output channels")
      ->check(CLI::Range(1, 256))
      ->default_val(16);
  c->add_option("--hw", args->hw, "Feature map height and width")
      ->check(CLI::Range(1, 64))
      ->default_val(8);
  c->add_option("--seed", args->seed, "Seed of the random tensors and stochastic rounding")
      ->default_val(1);
  c->callback([args] { cmd_demo(*args); });
}

}  // namespace

LBSIM_CLI_COMMANDS(add_demo_command, 10)

}  // namespace lbsim::cli
