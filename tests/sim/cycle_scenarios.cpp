// Cycle-level PE array scenarios (sim/modules/cycle_array.h). One executable; the first argument
// names the scenario and CTest runs each as its own test (SystemC elaborates once per process).
//
//   <family>_<df>        family in fp32 fp16 bf16 fp8 int8 dfp8 luq mls mls_wrap mxfp8 mxfp4 mxint8
//                        nvfp4, df in os ws is:
//                        a 7 x 9 x 13 GEMM on a 4 x 3 array (K = 13 is neither a multiple of
//                        R = 4 nor of the MLS groups k5 / k3; M = 7, N = 9 are not multiples of
//                        R, C), then a small convolution's fwd, dgrad and wgrad GEMMs, all in one
//                        process through the same array. Every output must equal run_reference
//                        bit for bit (and the accumulator overflow count must match), the cycle
//                        count must equal plan_folds(...).compute_cycles both as counted by the
//                        array and as measured on the kernel's clock, and MACs issued must be
//                        M*N*K with idle PE-cycles = cycles * R * C - M*N*K.
//   sweep_<df>           edge shapes (1x1x1, K = 1, K == R, ...) on a 5 x 7 array, every family.
//   hand_<df>            2 x 2 fp32 GEMM on a 2 x 2 array with hand-computed values and cycles.
//   fault_<family>_<df>  the GEMM above with one accumulator bit flipped: must mismatch.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/mac/systolic.h"
#include "models/numerics/conv_lowering.h"
#include "models/numerics/i_number_format.h"
#include "models/numerics/random_tensor.h"
#include "models/reference/reference_gemm.h"
#include "sim/modules/cycle_array.h"
#include "tests/sim/scenario_check.h"

using namespace lbsim;

namespace {

using scenario::g_failures;

uint32_t bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

struct Formats {
  std::string a, b;  // A (activation or error role), B (weight or error role)
  Role role_a = Role::kActivation, role_b = Role::kWeight;
  bool relu_a = false;  // post-ReLU A (unsigned int4_sawb grid)
  AccumulatorSpec acc;
};

Formats family_formats(const std::string& fam) {
  Formats f;
  if (fam == "fp32") {
    f.a = f.b = "fp32";
  } else if (fam == "fp16") {
    f.a = f.b = "fp16";
  } else if (fam == "bf16") {
    f.a = f.b = "bf16";
  } else if (fam == "fp8") {
    f.a = "fp8_e5m2";
    f.role_a = Role::kError;
    f.b = "fp8_e4m3";
  } else if (fam == "int8") {  // per-channel fp32 scales: non-power-of-two group scales
    f.a = "int:granularity=channel,axis=0";
    f.b = "int:granularity=channel,axis=1";
  } else if (fam == "dfp8") {
    f.a = f.b = "dfp8";
  } else if (fam == "luq") {
    f.a = "int4_sawb";
    f.relu_a = true;
    f.b = "luq_fp4";
    f.role_b = Role::kError;
  } else if (fam == "mls") {
    f.a = "mls_m1e2:group_activation=k5";
    f.b = "mls_m1e2:group_weight=k3";
  } else if (fam == "mls_wrap") {  // narrow wrapping accumulator: overflows happen
    f.a = "mls_m2e3:group_activation=k5";
    f.b = "mls_m2e3:group_weight=k3";
    f.acc.acc_bits = 7;
    f.acc.policy = OverflowPolicy::kWrap;
  } else if (fam == "mxfp8") {  // E5M2 errors x E4M3 weights; blocks of 4: several per K
    f.a = "mxfp8_e5m2:block=4";
    f.role_a = Role::kError;
    f.b = "mxfp8_e4m3:block=4";
    f.acc.acc_bits = 64;
  } else if (fam == "mxfp4") {
    f.a = f.b = "mxfp4:block=5";
    f.acc.acc_bits = 64;
  } else if (fam == "mxint8") {
    f.a = "mxint8:block=3";
    f.b = "mxint8:block=5";
    f.acc.acc_bits = 64;
  } else if (fam == "nvfp4") {  // E4M3 block scales: non-power-of-two group scales
    f.a = f.b = "nvfp4:block=4";
    f.acc.acc_bits = 64;
  } else {
    std::fprintf(stderr, "unknown family %s\n", fam.c_str());
    std::exit(2);
  }
  return f;
}

QTensor quantize(const std::string& spec, const Tensor& t, Role role, int axis, uint64_t id) {
  FormatPtr f = make_format(spec, SourceLoc{"<test>"});
  QuantContext ctx;
  ctx.role = role;
  ctx.seed = 7;
  ctx.tensor_id = id;
  ctx.reduction_axis = axis;
  return f->quantize(t, ctx);
}

// Runs p through the array and checks values, overflow count, cycles and activity.
void check_run(CycleArrayRunner& run, StatGroup& stats, const GemmProblem& p,
               const AccumulatorSpec& acc, const char* what) {
  const CycleArray& arr = run.array();
  const uint64_t macs0 = stats.value("mac_ops"), idle0 = stats.value("idle_pe_cycles");
  const CycleRunResult r = run.run(p, acc);
  const GemmResult ref = run_reference(p, acc);
  const FoldPlan plan = plan_folds(arr.dataflow(), arr.rows(), arr.cols(), p.m, p.n, p.k);
  uint64_t bad = 0;
  for (size_t i = 0; i < ref.c.size(); ++i) {
    if (bits(ref.c[i]) == bits(r.result.c[i])) continue;
    if (bad++ == 0)
      std::fprintf(stderr, "%s: C[%zu]: reference 0x%08x cycle 0x%08x\n", what, i, bits(ref.c[i]),
                   bits(r.result.c[i]));
  }
  std::printf("%s: M=%" PRId64 " N=%" PRId64 " K=%" PRId64 " segments=%d folds=%" PRId64
              " cycles=%" PRId64 " closed form=%" PRId64 " mismatches=%llu overflows=%llu\n",
              what, p.m, p.n, p.k, p.num_segments, r.folds, r.cycles, plan.compute_cycles,
              static_cast<unsigned long long>(bad),
              static_cast<unsigned long long>(r.result.acc_overflows));
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(r.result.acc_overflows, ref.acc_overflows);
  EXPECT_EQ(r.cycles, plan.compute_cycles);
  EXPECT_EQ(r.time_cycles, plan.compute_cycles);
  EXPECT_EQ(r.folds, plan.folds);
  const uint64_t macs = stats.value("mac_ops") - macs0;
  const uint64_t idle = stats.value("idle_pe_cycles") - idle0;
  EXPECT_EQ(macs, p.m * p.n * p.k);
  EXPECT_EQ(idle, plan.compute_cycles * arr.rows() * arr.cols() - p.m * p.n * p.k);
}

struct GemmData {
  QTensor qa, qb;
  GemmProblem p;
};

std::unique_ptr<GemmData> make_gemm(const Formats& f, int64_t m, int64_t n, int64_t k) {
  auto g = std::make_unique<GemmData>();
  const Tensor a = f.relu_a ? random_relu({m, k}, 11) : random_normal({m, k}, 11);
  const Tensor b = random_normal({k, n}, 12);
  g->qa = quantize(f.a, a, f.role_a, 1, 0);
  g->qb = quantize(f.b, b, f.role_b, 0, 1);
  g->p = lower_gemm(g->qa, g->qb);
  return g;
}

int scenario_family(const std::string& fam, Dataflow df) {
  const Formats f = family_formats(fam);
  StatGroup stats("pe_array");
  CycleArrayRunner run(df, 4, 3, stats);
  auto g = make_gemm(f, 7, 9, 13);
  if (fam == "mls") EXPECT_TRUE(g->p.num_segments >= 4);  // k5 x k3 over K = 13: cuts 3,5,6,9,10,12
  check_run(run, stats, g->p, f.acc, "gemm");

  // A 3x3 convolution, stride 1, pad 1: x (2, 3, 5, 5), w (4, 3, 3, 3), e (2, 4, 5, 5).
  // fwd M=50 N=4 K=27, dgrad M=50 N=27 K=4, wgrad M=27 N=4 K=50; dgrad transposed below.
  const bool mls = fam.rfind("mls", 0) == 0;
  const std::string xs = mls ? "mls_m1e2" : f.a;
  const std::string ws = mls ? "mls_m1e2" : f.b;
  const std::string es = mls ? "mls_m1e2" : (fam == "luq" ? "luq_fp4" : f.a);
  // Per-channel int scales are taken along axis 1 (channels) for conv tensors.
  const auto conv_spec = [&](const std::string& s) {
    return s.rfind("int:granularity=channel", 0) == 0
               ? std::string("int:granularity=channel,axis=1")
               : s;
  };
  const Tensor x = f.relu_a ? random_relu({2, 3, 5, 5}, 21) : random_normal({2, 3, 5, 5}, 21);
  const Tensor w = random_normal({4, 3, 3, 3}, 22);
  const Tensor e = random_normal({2, 4, 5, 5}, 23);
  const QTensor qx = quantize(conv_spec(xs), x, Role::kActivation, -1, 2);
  const QTensor qw = quantize(conv_spec(ws), w, Role::kWeight, -1, 3);
  const QTensor qe = quantize(conv_spec(es), e, Role::kError, -1, 4);
  const ConvGeometry geo = make_conv_geometry(qx.shape, qw.shape, 1, 1);
  // luq pairs int4 with log fp4 in dgrad/wgrad only; its fwd is int4 x int4.
  const GemmProblem fwd = lower_conv(ConvPhase::kFwd, qx, qw, geo);
  check_run(run, stats, fwd, f.acc, "conv fwd");
  const GemmProblem dg = lower_conv(ConvPhase::kDgrad, qe, qw, geo);
  check_run(run, stats, dg, f.acc, "conv dgrad");
  const GemmProblem wg = lower_conv(ConvPhase::kWgrad, qx, qe, geo);
  check_run(run, stats, wg, f.acc, "conv wgrad");
  // dgrad lowered directly (mapping.dgrad_lowering: transposed): M=50 N=3 K=36, stride 1 and a
  // strided 3x3 (stride 2, pad 1 on 5x5 -> 3x3 output, zero taps as padding).
  const GemmProblem dt = lower_conv(ConvPhase::kDgrad, qe, qw, geo, DgradLowering::kTransposed);
  check_run(run, stats, dt, f.acc, "conv dgrad transposed");
  const ConvGeometry g2 = make_conv_geometry(qx.shape, qw.shape, 2, 1);
  const Tensor e2 = random_normal({2, 4, g2.ho, g2.wo}, 24);
  const QTensor qe2 = quantize(conv_spec(es), e2, Role::kError, -1, 5);
  const GemmProblem dt2 = lower_conv(ConvPhase::kDgrad, qe2, qw, g2, DgradLowering::kTransposed);
  check_run(run, stats, dt2, f.acc, "conv dgrad transposed stride 2");
  return 0;
}

// C = [[1, 2], [3, 4]] x [[5, 6], [7, 8]] = [[19, 22], [43, 50]] on a 2 x 2 array: one fold of
// os 2 + 2 + 2 - 2 = 4 cycles, ws/is 2 + 4 + 2 - 2 = 6 cycles. Operand register writes: os: each
// of the 4 A elements is written into 2 PEs of its row and each of the 4 B elements into 2 PEs
// of its column: 16. ws: B preload writes row 1's elements twice (rows 0 and 1) and row 0's once
// (6), then each A element passes 2 PEs (8): 14. is: the same with A stationary: 14.
int scenario_hand(Dataflow df) {
  StatGroup stats("pe_array");
  CycleArrayRunner run(df, 2, 2, stats);
  Tensor a{{2, 2}, {1, 2, 3, 4}}, b{{2, 2}, {5, 6, 7, 8}};
  const QTensor qa = quantize("fp32", a, Role::kActivation, 1, 0);
  const QTensor qb = quantize("fp32", b, Role::kWeight, 0, 1);
  const GemmProblem p = lower_gemm(qa, qb);
  const CycleRunResult r = run.run(p, AccumulatorSpec{});
  EXPECT_TRUE(r.result.c.size() == 4);
  EXPECT_TRUE(r.result.c[0] == 19.0f && r.result.c[1] == 22.0f);
  EXPECT_TRUE(r.result.c[2] == 43.0f && r.result.c[3] == 50.0f);
  EXPECT_EQ(r.cycles, df == Dataflow::kOs ? 4 : 6);
  EXPECT_EQ(r.time_cycles, df == Dataflow::kOs ? 4 : 6);
  EXPECT_EQ(stats.value("mac_ops"), 8);
  EXPECT_EQ(stats.value("idle_pe_cycles"), (df == Dataflow::kOs ? 16 : 24) - 8);
  EXPECT_EQ(stats.value("operand_reg_writes"), df == Dataflow::kOs ? 16 : 14);
  // ws/is: 4 outputs pass 2 rows each.
  EXPECT_EQ(stats.value("psum_reg_writes"), df == Dataflow::kOs ? 0 : 8);
  EXPECT_EQ(stats.value("compute_cycles"), df == Dataflow::kOs ? 4 : 6);
  // Per PE: every PE issues 2 MACs (K = 2) and idles the rest of the fold (os 2, ws/is 4: the
  // 2 preload cycles too). Operand writes: os 2 A + 2 B tokens per PE; ws/is the streamed
  // operand's 2 tokens plus the preload's shifts (row 0 is written twice, row 1 once). Partial
  // sums (ws/is): each PE hands on 2.
  const PeActivity& pa = run.array().pe_activity();
  EXPECT_TRUE(pa.rows == 2 && pa.cols == 2);
  for (int i = 0; i < 4; ++i) {
    const int row = i / 2;
    EXPECT_EQ(pa.mac_ops[i], 2);
    EXPECT_EQ(pa.idle_cycles[i], df == Dataflow::kOs ? 2 : 4);
    EXPECT_EQ(pa.operand_reg_writes[i], df == Dataflow::kOs ? 4 : (row == 0 ? 4 : 3));
    EXPECT_EQ(pa.psum_reg_writes[i], df == Dataflow::kOs ? 0 : 2);
  }
  return 0;
}

int scenario_fault(const std::string& fam, Dataflow df) {
  const Formats f = family_formats(fam);
  StatGroup stats("pe_array");
  CycleArrayRunner run(df, 4, 3, stats);
  auto g = make_gemm(f, 7, 9, 13);
  CycleFault fault;
  fault.enabled = true;
  const CycleRunResult r = run.run(g->p, f.acc, fault);
  const GemmResult ref = run_reference(g->p, f.acc);
  uint64_t bad = 0;
  for (size_t i = 0; i < ref.c.size(); ++i) bad += bits(ref.c[i]) != bits(r.result.c[i]);
  std::printf("fault: %s; %llu mismatching output(s)\n", r.fault_note.c_str(),
              static_cast<unsigned long long>(bad));
  EXPECT_TRUE(r.fault_applied);
  // One accumulator of one output is corrupted: exactly that output differs.
  EXPECT_EQ(bad, 1);
  return 0;
}

// Degenerate and edge shapes on an odd 5 x 7 array, every family in one process: single MACs,
// K = 1, K == R, K a multiple of R, one row / one column, M and N straddling several folds.
int scenario_sweep(Dataflow df) {
  StatGroup stats("pe_array");
  CycleArrayRunner run(df, 5, 7, stats);
  const int64_t shapes[][3] = {{1, 1, 1},    {1, 9, 17}, {13, 1, 5},  {6, 8, 5},
                               {10, 14, 35}, {5, 7, 1},  {16, 15, 11}};
  for (const char* fam : {"fp32", "bf16", "fp8", "int8", "dfp8", "luq", "mls", "mls_wrap"}) {
    const Formats f = family_formats(fam);
    for (const auto& sh : shapes) {
      auto g = make_gemm(f, sh[0], sh[1], sh[2]);
      check_run(run, stats, g->p, f.acc, fam);
    }
  }
  return 0;
}

Dataflow df_of(const std::string& s) { return parse_dataflow(s); }

}  // namespace

// libsystemc references sc_main; this test has its own main() and starts the kernel itself.
int sc_main(int, char*[]) { return 1; }

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: cycle_scenarios <scenario>\n");
    return 2;
  }
  const std::string s = argv[1];
  const size_t u = s.rfind('_');
  if (u == std::string::npos) {
    std::fprintf(stderr, "bad scenario %s\n", s.c_str());
    return 2;
  }
  const Dataflow df = df_of(s.substr(u + 1));
  const std::string head = s.substr(0, u);
  if (head == "hand") {
    scenario_hand(df);
  } else if (head == "sweep") {
    scenario_sweep(df);
  } else if (head.rfind("fault_", 0) == 0) {
    scenario_fault(head.substr(6), df);
  } else {
    scenario_family(head, df);
  }
  if (g_failures) {
    std::fprintf(stderr, "%s: %d failure(s)\n", s.c_str(), g_failures);
    return 1;
  }
  std::printf("%s: ok\n", s.c_str());
  return 0;
}
