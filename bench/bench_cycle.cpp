// Cycle-level PE array throughput (issue target: >= 50 M PE-cycles/s for a 16x16 array): a
// 64 x 64 x 64 GEMM per iteration through sim/modules/cycle_array.h on a 16 x 16 array, per MAC
// family. SystemC elaborates once per process, so one process simulates one dataflow:
//   ./build/bench/bench_cycle [os|ws|is] [--benchmark_* flags]     (default os)
// PE-cycles/s = cycles x rows x cols / wall time; the figure reported in sim/README.md.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "models/core/error.h"
#include "models/core/stats.h"
#include "models/mac/systolic.h"
#include "models/numerics/gemm_problem.h"
#include "models/numerics/random_tensor.h"
#include "sim/modules/cycle_array.h"

using namespace lbsim;

namespace {

constexpr int kRows = 16, kCols = 16;
Dataflow g_dataflow = Dataflow::kOs;

struct Case {
  const char* name;
  const char* fmt_a;
  const char* fmt_b;
};

const Case kCases[] = {
    {"fp32", "fp32", "fp32"}, {"bf16", "bf16", "bf16"},        {"fp8", "fp8_e5m2", "fp8_e4m3"},
    {"int8", "int8", "int8"}, {"luq", "int4_sawb", "luq_fp4"}, {"mls_m1e2", "mls_m1e2", "mls_m1e2"},
};

CycleArrayRunner& runner() {
  static StatGroup stats("pe_array");
  static CycleArrayRunner r(g_dataflow, kRows, kCols, stats);
  return r;
}

struct Prepared {
  QTensor a, b;
  GemmProblem p;
};

std::unique_ptr<Prepared> prepare(const Case& c, int64_t m, int64_t n, int64_t k) {
  auto p = std::make_unique<Prepared>();
  QuantContext ca, cb;
  ca.reduction_axis = 1;
  cb.role = Role::kWeight;
  cb.reduction_axis = 0;
  if (std::strcmp(c.fmt_b, "luq_fp4") == 0) cb.role = Role::kError;
  p->a = make_format(c.fmt_a, SourceLoc{"<bench>"})->quantize(random_normal({m, k}, 1), ca);
  p->b = make_format(c.fmt_b, SourceLoc{"<bench>"})->quantize(random_normal({k, n}, 2), cb);
  p->p = lower_gemm(p->a, p->b);
  return p;
}

void bm_cycle(benchmark::State& state, const Case* c) {
  const int64_t s = state.range(0);
  auto prep = prepare(*c, s, s, s);
  CycleArrayRunner& r = runner();
  int64_t cycles = 0;
  for (auto _ : state) {
    CycleRunResult res = r.run(prep->p, AccumulatorSpec{});
    cycles += res.cycles;
    benchmark::DoNotOptimize(res.result.c.data());
  }
  state.counters["PE-cycles/s"] =
      benchmark::Counter(static_cast<double>(cycles) * kRows * kCols, benchmark::Counter::kIsRate);
  state.counters["MAC/s"] = benchmark::Counter(static_cast<double>(s * s * s * state.iterations()),
                                               benchmark::Counter::kIsRate);
  state.SetLabel(dataflow_name(g_dataflow));
}

}  // namespace

// libsystemc references sc_main; this program has its own main() and starts the kernel itself.
int sc_main(int, char*[]) { return 1; }

int main(int argc, char** argv) {
  if (argc > 1 && argv[1][0] != '-') {
    g_dataflow = parse_dataflow(argv[1]);
    for (int i = 1; i + 1 < argc; ++i) argv[i] = argv[i + 1];
    --argc;
  }
  for (const Case& c : kCases)
    benchmark::RegisterBenchmark((std::string("cycle_16x16/") + c.name).c_str(), bm_cycle, &c)
        ->Arg(64)
        ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
