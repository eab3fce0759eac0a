// Cost of the numerics metric of a sweep point (models/sweep/numerics_quality.h): one call per
// point and workload, synthetic tensors, default max_macs (2^20). Run:
//   ./build/bench/bench_numerics_quality
// The per-call wall time is the figure reported in the notes; nothing is asserted.
#include <benchmark/benchmark.h>

#include "models/arch/arch_loader.h"
#include "models/core/error.h"
#include "models/sweep/numerics_quality.h"
#include "models/workload/zoo.h"

using namespace lbsim;

namespace {

void bm_numerics_quality(benchmark::State& state, const char* network, const char* spec,
                         int64_t batch) {
  ArchConfig arch = default_arch();
  arch.pe.weight = arch.pe.activation = arch.pe.error = make_format(spec, SourceLoc{"<bench>"});
  const Workload w = zoo_workload(network, batch);
  const NumericsQualityOptions options;
  for (auto _ : state) {
    NumericsQuality q = numerics_quality(arch, w, options);
    benchmark::DoNotOptimize(q.gemm_rel_error_fwd);
  }
}

}  // namespace

BENCHMARK_CAPTURE(bm_numerics_quality, resnet20_int8, "resnet20", "int8", 32)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_numerics_quality, resnet20_mls_m1e2, "resnet20", "mls_m1e2", 32)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_numerics_quality, resnet20_mls_m4e2, "resnet20", "mls_m4e2", 32)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_numerics_quality, resnet20_fp8, "resnet20", "fp8_e4m3", 32)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_numerics_quality, resnet50_int8, "resnet50", "int8", 32)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_numerics_quality, resnet50_mls_m1e2, "resnet50", "mls_m1e2", 32)
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
