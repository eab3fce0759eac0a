// Functional-reference and PE-datapath GEMM throughput per MAC family (issue: >= 1 GMAC/s per
// core for the integer families' reference at 256x256x256). Run:
//   ./build/bench/bench_reference --benchmark_filter=reference
// The MAC/s counter is the figure reported in the README.
// quantize/<format>: quantize + dequantize (values_into, what lbsim.torch's fast GEMMs need) of
// one 128 x 16 x 28 x 28 error tensor (a ResNet-20 layer-1 gradient at batch 128):
//   ./build/bench/bench_reference --benchmark_filter=quantize
#include <benchmark/benchmark.h>

#include "models/core/error.h"
#include "models/mac/datapath_gemm.h"
#include "models/numerics/gemm_problem.h"
#include "models/numerics/random_tensor.h"
#include "models/reference/reference_gemm.h"

using namespace lbsim;

namespace {

struct Case {
  const char* name;
  const char* fmt_a;
  const char* fmt_b;
};

const Case kCases[] = {
    {"fp32", "fp32", "fp32"},
    {"bf16", "bf16", "bf16"},
    {"fp8_e4m3", "fp8_e4m3", "fp8_e4m3"},
    {"int8", "int8", "int8"},
    {"dfp8", "dfp8", "dfp8"},
    {"luq_int4xint4", "int4_sawb", "int4_sawb"},
    {"luq_int4xfp4", "int4_sawb", "luq_fp4"},
    {"mls_m1e2", "mls_m1e2", "mls_m1e2"},
    {"mls_m4e2", "mls_m4e2", "mls_m4e2"},
};

struct Prepared {
  QTensor a, b;
  GemmProblem p;
};

Prepared prepare(const Case& c, int64_t m, int64_t n, int64_t k) {
  Prepared out;
  QuantContext ca{Role::kActivation, 1, 0, 1};
  QuantContext cb{Role::kWeight, 1, 1, 0};
  out.a = make_format(c.fmt_a, {"<bench>"})->quantize(random_normal({m, k}, 11), ca);
  out.b = make_format(c.fmt_b, {"<bench>"})->quantize(random_normal({k, n}, 12), cb);
  out.p = lower_gemm(out.a, out.b);
  return out;
}

void bm_gemm(benchmark::State& state, Case c, bool reference) {
  const int64_t s = state.range(0);
  Prepared prep = prepare(c, s, s, s);
  AccumulatorSpec acc;
  for (auto _ : state) {
    GemmResult r = reference ? run_reference(prep.p, acc) : run_datapath(prep.p, acc);
    benchmark::DoNotOptimize(r.c.data());
  }
  state.counters["MAC/s"] = benchmark::Counter(static_cast<double>(s * s * s),
                                               benchmark::Counter::kIsIterationInvariantRate);
}

void bm_quantize(benchmark::State& state, const char* spec) {
  const Tensor x = random_normal({128, 16, 28, 28}, 13);
  const FormatPtr f = make_format(spec, {"<bench>"});
  QuantContext ctx{Role::kError, 1, 0, -1};
  std::vector<float> out(x.data.size());
  for (auto _ : state) {
    const QTensor q = f->quantize(x, ctx);
    q.values_into(out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["elem/s"] = benchmark::Counter(static_cast<double>(x.data.size()),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

const bool kRegistered = [] {
  for (const char* spec :
       {"bf16", "fp8_e5m2", "int8", "dfp8", "int4_sawb", "luq_fp4", "mls_m1e2", "mls_m4e2"})
    benchmark::RegisterBenchmark((std::string("quantize/") + spec).c_str(), bm_quantize, spec)
        ->Unit(benchmark::kMillisecond);
  for (const Case& c : kCases) {
    benchmark::RegisterBenchmark((std::string("reference/") + c.name).c_str(), bm_gemm, c, true)
        ->Arg(256)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string("datapath/") + c.name).c_str(), bm_gemm, c, false)
        ->Arg(64)
        ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
