// Numerics subcommands: quantize, gemm, conv (functional reference and PE datapath on .npy
// tensors) and list-types. Every input is read and validated, and every result computed, before
// the first output file is written, so a failing command leaves no partial output.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "models/core/catalog.h"
#include "models/core/error.h"
#include "models/core/json_text.h"
#include "models/core/npy.h"
#include "models/core/output.h"
#include "models/mac/datapath_gemm.h"
#include "models/numerics/conv_lowering.h"
#include "models/numerics/i_number_format.h"
#include "models/numerics/operands.h"
#include "models/reference/reference_gemm.h"
#include "sim/cli/cli.h"

namespace lbsim::cli {

namespace {

const std::vector<std::string> kRoles = {"weight", "activation", "error"};
const std::vector<std::string> kEngines = {"reference", "datapath", "check"};
const std::vector<std::string> kPolicies = {"saturate", "wrap"};

FormatPtr format_from_flag(const std::string& spec, const std::string& flag) {
  return make_format(spec, SourceLoc{"<cmdline " + flag + ">"});
}

// An operand's own format flag (null when not given; the shared --format applies then).
FormatPtr own_format(const std::string& own, const std::string& own_flag) {
  return own.empty() ? nullptr : format_from_flag(own, own_flag);
}

FormatPtr shared_format(const std::string& spec) {
  return spec.empty() ? nullptr : format_from_flag(spec, "--format");
}

// A .npy operand (read now, quantized by prepare_gemm / prepare_conv): messages name the path.
struct FileOperand {
  Tensor t;
  OperandSource src;
  FileOperand(const std::string& flag, const std::string& path, FormatPtr f,
              const NpyReadOptions& npy) {
    src.name = flag;
    src.what = path;
    src.format = std::move(f);
    if (!path.empty()) {
      t = read_npy_tensor(path, npy);
      src.tensor = TensorView(t);
    }
  }
  FileOperand(const FileOperand&) = delete;
  FileOperand& operator=(const FileOperand&) = delete;
};

uint32_t bits_of(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  return b;
}

struct EngineRun {
  GemmResult result;
  uint64_t mismatches = 0;
  std::string first_mismatch;
};

// Runs the chosen engine; "check" runs both and compares bit patterns.
EngineRun run_engine(const GemmProblem& p, const AccumulatorSpec& acc, const std::string& engine) {
  EngineRun run;
  if (engine == "datapath") {
    run.result = run_datapath(p, acc);
    return run;
  }
  run.result = run_reference(p, acc);
  if (engine != "check") return run;
  GemmResult dp = run_datapath(p, acc);
  for (size_t i = 0; i < run.result.c.size(); ++i) {
    uint32_t r = bits_of(run.result.c[i]), d = bits_of(dp.c[i]);
    if (r == d) continue;
    if (run.mismatches++ == 0)
      run.first_mismatch = fmt::format("C[{}][{}]: reference {:#010x} ({}) datapath {:#010x} ({})",
                                       static_cast<int64_t>(i) / p.n, static_cast<int64_t>(i) % p.n,
                                       r, run.result.c[i], d, dp.c[i]);
  }
  if (dp.acc_overflows != run.result.acc_overflows && run.mismatches == 0) {
    run.mismatches = 1;
    run.first_mismatch = fmt::format("accumulator overflow count: reference {} datapath {}",
                                     run.result.acc_overflows, dp.acc_overflows);
  }
  return run;
}

void report_engine(const EngineRun& run, const std::string& engine) {
  if (run.result.acc_overflows)
    std::printf("accumulator overflows: %llu\n",
                static_cast<unsigned long long>(run.result.acc_overflows));
  if (engine != "check") return;
  if (run.mismatches == 0) {
    std::printf("check: datapath == reference bit for bit (%zu outputs)\n", run.result.c.size());
  } else {
    std::printf("check: MISMATCH in %llu of %zu outputs; first: %s\n",
                static_cast<unsigned long long>(run.mismatches), run.result.c.size(),
                run.first_mismatch.c_str());
    set_exit_code(1);
  }
}

AccumulatorSpec accumulator(int bits, const std::string& policy) {
  AccumulatorSpec acc;
  acc.acc_bits = bits;
  acc.policy = policy == "wrap" ? OverflowPolicy::kWrap : OverflowPolicy::kSaturate;
  return acc;
}

void add_accumulator_flags(CLI::App* c, int& bits, std::string& policy) {
  c->add_option("--acc-bits", bits, "Fixed-point accumulator width in bits")
      ->check(CLI::Range(2, 64))
      ->default_val(32);
  c->add_option("--overflow", policy, "Accumulator overflow policy")
      ->check(CLI::IsMember(kPolicies))
      ->default_val("saturate");
}

struct QuantizeArgs {
  std::string format, in, out, codes, scales, role = "activation", dtype = "float32";
  uint64_t seed = 0, tensor_id = 0;
  NpyReadOptions npy;
};

void cmd_quantize(const QuantizeArgs& a) {
  check_aliasing({{"--in", a.in}},
                 {{"--out", a.out}, {"--codes", a.codes}, {"--scales", a.scales}});
  FormatPtr f = format_from_flag(a.format, "--format");
  QTensor q = quantize_operand(f, read_npy_tensor(a.in, a.npy), parse_role(a.role), a.seed,
                               a.tensor_id, -1, a.in);
  std::vector<double> v = q.values();
  // Values, codes and scales are written together or not at all.
  OutputSet out;
  out.add_input(a.in, "--in");
  out.add(a.out,
          a.dtype == "float64" ? npy_f8_bytes(q.shape, v)
                               : npy_f4_bytes(q.shape, std::vector<float>(v.begin(), v.end())),
          "--out");
  if (!a.codes.empty())
    out.add(a.codes, npy_codes_bytes(q.shape, q.codes, f->info().code_bits), "--codes");
  if (!a.scales.empty()) out.add(a.scales, json_text(scales_json(q), 2) + "\n", "--scales");
  out.commit();
  std::printf("quantized %s %s as %s (%s): %zu elements, %zu group scale(s), tensor scale %.9g\n",
              a.in.c_str(), shape_str(q.shape).c_str(), f->info().name.c_str(), a.role.c_str(),
              q.codes.size(), q.group_scale.size(), q.tensor_scale);
}

struct GemmArgs {
  std::string format, format_a, format_b, a, b, out, engine = "reference", policy = "saturate";
  std::string role_a = "activation", role_b = "weight";
  uint64_t seed = 0;
  int acc_bits = 32;
  NpyReadOptions npy;
};

void cmd_gemm(const GemmArgs& g) {
  check_aliasing({{"--a", g.a}, {"--b", g.b}}, {{"--out", g.out}});
  GemmCall call;
  call.shared = shared_format(g.format);
  FileOperand a("--a", g.a, own_format(g.format_a, "--format-a"), g.npy);
  FileOperand b("--b", g.b, own_format(g.format_b, "--format-b"), g.npy);
  call.a = a.src;
  call.b = b.src;
  call.role_a = parse_role(g.role_a);
  call.role_b = parse_role(g.role_b);
  call.seed = g.seed;
  const OwnedGemm owned = prepare_gemm(call);
  const GemmProblem& p = owned.p;
  const QTensor &qa = *owned.a, &qb = *owned.b;
  const FormatPtr &fa = qa.format, &fb = qb.format;
  EngineRun run = run_engine(p, accumulator(g.acc_bits, g.policy), g.engine);
  write_npy_f4(g.out, {p.m, p.n}, run.result.c);
  std::printf("C = A %s [%s] x B %s [%s]: %lld MACs, %d K-segment(s), engine %s -> %s\n",
              shape_str(qa.shape).c_str(), fa->info().name.c_str(), shape_str(qb.shape).c_str(),
              fb->info().name.c_str(), static_cast<long long>(p.m * p.n * p.k), p.num_segments,
              g.engine.c_str(), g.out.c_str());
  report_engine(run, g.engine);
}

struct ConvArgs {
  std::string phase, format, format_x, format_w, format_e, x, w, e, out;
  std::string engine = "reference", policy = "saturate", dgrad_lowering = "im2col";
  std::vector<int64_t> input_hw, kernel;
  int64_t stride = 1, pad = 0;
  uint64_t seed = 0;
  int acc_bits = 32;
  NpyReadOptions npy;
};

void cmd_conv(const ConvArgs& c) {
  check_aliasing({{"--x", c.x}, {"--w", c.w}, {"--e", c.e}}, {{"--out", c.out}});
  ConvCall call;
  call.phase = parse_conv_phase(c.phase);
  call.shared = shared_format(c.format);
  const bool fwd = call.phase == ConvPhase::kFwd, dgrad = call.phase == ConvPhase::kDgrad;
  // Only the phase's operands are read (fwd: x, w; dgrad: e, w; wgrad: x, e).
  const bool use_x = !dgrad, use_w = fwd || dgrad, use_e = !fwd;
  FileOperand x("--x", use_x ? c.x : "", use_x ? own_format(c.format_x, "--format-x") : nullptr,
                c.npy);
  FileOperand w("--w", use_w ? c.w : "", use_w ? own_format(c.format_w, "--format-w") : nullptr,
                c.npy);
  FileOperand e("--e", use_e ? c.e : "", use_e ? own_format(c.format_e, "--format-e") : nullptr,
                c.npy);
  call.x = x.src;
  call.w = w.src;
  call.e = e.src;
  call.input_hw = c.input_hw;
  call.kernel = c.kernel;
  call.stride = c.stride;
  call.pad = c.pad;
  call.seed = c.seed;
  call.lowering =
      c.dgrad_lowering == "transposed" ? DgradLowering::kTransposed : DgradLowering::kIm2col;
  const OwnedConv conv = prepare_conv(call);
  const GemmProblem& p = conv.gemm.p;
  const ConvGeometry& geo = conv.geo;
  const DgradLowering lowering = call.lowering;
  EngineRun run = run_engine(p, accumulator(c.acc_bits, c.policy), c.engine);
  Tensor y = conv_output(call.phase, run.result, geo, lowering);
  write_npy_f4(c.out, y.shape, y.data);
  std::printf("conv %s as GEMM M=%lld N=%lld K=%lld (%d K-segment(s)), engine %s -> %s %s\n",
              c.phase.c_str(), static_cast<long long>(p.m), static_cast<long long>(p.n),
              static_cast<long long>(p.k), p.num_segments, c.engine.c_str(), c.out.c_str(),
              shape_str(y.shape).c_str());
  report_engine(run, c.engine);
}

void add_numerics_commands(CLI::App& app) {
  auto* lt = app.add_subcommand("list-types", "List every registered component with its options");
  lt->callback([] { std::fputs(catalog_text().c_str(), stdout); });

  auto qa = std::make_shared<QuantizeArgs>();
  auto* q =
      app.add_subcommand("quantize", "Quantize a .npy tensor; write dequantized values and codes");
  q->add_option("--format", qa->format, "Number format spec, e.g. mls_m1e2 (see list-types)")
      ->required();
  q->add_option("--in", qa->in, "Input .npy (float16/32/64, int; bfloat16 with --npy-bf16)")
      ->required();
  add_npy_bf16_flag(q, qa->npy.bf16);
  q->add_option("--out", qa->out, "Output .npy of dequantized values")->required();
  q->add_option("--codes", qa->codes, "Also write the raw element codes (.npy, uint8/16/32)");
  q->add_option("--scales", qa->scales, "Also write the tensor and group scales (.json)");
  q->add_option("--role", qa->role, "Operand role (selects role-dependent rounding/range)")
      ->check(CLI::IsMember(kRoles))
      ->default_val("activation");
  q->add_option("--seed", qa->seed, "Seed of the stochastic-rounding RNG")->default_val(0);
  q->add_option("--tensor-id", qa->tensor_id, "Tensor id keying the RNG")->default_val(0);
  q->add_option("--dtype", qa->dtype, "dtype of --out")
      ->check(CLI::IsMember({"float32", "float64"}))
      ->default_val("float32");
  q->callback([qa] { cmd_quantize(*qa); });

  auto ga = std::make_shared<GemmArgs>();
  auto* g = app.add_subcommand("gemm", "C = A x B on quantized operands (functional reference)");
  g->add_option("--format", ga->format, "Number format of both operands");
  g->add_option("--format-a", ga->format_a, "Number format of A (overrides --format)");
  g->add_option("--format-b", ga->format_b, "Number format of B (overrides --format)");
  g->add_option("--a", ga->a, "A: (M, K) .npy")->required();
  g->add_option("--b", ga->b, "B: (K, N) .npy")->required();
  g->add_option("--out", ga->out, "C: (M, N) float32 .npy")->required();
  add_npy_bf16_flag(g, ga->npy.bf16);
  g->add_option("--role-a", ga->role_a, "Role of A")
      ->check(CLI::IsMember(kRoles))
      ->default_val("activation");
  g->add_option("--role-b", ga->role_b, "Role of B")
      ->check(CLI::IsMember(kRoles))
      ->default_val("weight");
  g->add_option("--seed", ga->seed,
                "Seed of the stochastic-rounding RNG (A is tensor 0, B tensor 1)")
      ->default_val(0);
  g->add_option("--engine", ga->engine,
                "reference, datapath (PE bit-level model) or check (both, compared)")
      ->check(CLI::IsMember(kEngines))
      ->default_val("reference");
  add_accumulator_flags(g, ga->acc_bits, ga->policy);
  g->callback([ga] { cmd_gemm(*ga); });

  auto ca = std::make_shared<ConvArgs>();
  auto* c =
      app.add_subcommand("conv", "One training phase of a 2-D convolution on quantized operands");
  c->add_option("--phase", ca->phase,
                "fwd: y = conv(x, w); dgrad: dx from (e, w); wgrad: dw from (x, e)")
      ->check(CLI::IsMember({"fwd", "dgrad", "wgrad"}))
      ->required();
  c->add_option("--format", ca->format, "Number format of every operand");
  c->add_option("--format-x", ca->format_x, "Format of the activations x (overrides --format)");
  c->add_option("--format-w", ca->format_w, "Format of the weights w (overrides --format)");
  c->add_option("--format-e", ca->format_e, "Format of the output gradient e (overrides --format)");
  c->add_option("--x", ca->x, "x: (N, Cin, H, W) .npy (fwd, wgrad)");
  c->add_option("--w", ca->w, "w: (Cout, Cin, R, S) .npy (fwd, dgrad)");
  c->add_option("--e", ca->e, "e: (N, Cout, Ho, Wo) .npy (dgrad, wgrad)");
  c->add_option("--input-hw", ca->input_hw, "H,W of x (dgrad)")->delimiter(',')->expected(2);
  c->add_option("--kernel", ca->kernel, "R,S of w (wgrad)")->delimiter(',')->expected(2);
  c->add_option("--dgrad-lowering", ca->dgrad_lowering,
                "dgrad GEMM: im2col (K = Cout, then col2im) or transposed (K = Cout*R*S, the "
                "backward convolution directly); as the arch key mapping.dgrad_lowering")
      ->check(CLI::IsMember({"im2col", "transposed"}))
      ->default_val("im2col");
  c->add_option("--stride", ca->stride, "Stride")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20))
      ->default_val(1);
  c->add_option("--pad", ca->pad, "Zero padding")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 20))
      ->default_val(0);
  c->add_option("--out", ca->out, "Output .npy (float32)")->required();
  add_npy_bf16_flag(c, ca->npy.bf16);
  c->add_option("--seed", ca->seed,
                "Seed of the stochastic-rounding RNG (x, w, e are tensors 0, 1, 2)")
      ->default_val(0);
  c->add_option("--engine", ca->engine, "reference, datapath or check")
      ->check(CLI::IsMember(kEngines))
      ->default_val("reference");
  add_accumulator_flags(c, ca->acc_bits, ca->policy);
  c->callback([ca] { cmd_conv(*ca); });
}

}  // namespace

LBSIM_CLI_COMMANDS(add_numerics_commands, 20)

}  // namespace lbsim::cli
