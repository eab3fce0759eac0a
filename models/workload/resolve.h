// Workload specs: what `lbsim workload show SPEC` (and later the simulator) accepts.
//
// A spec is, by its extension (case-insensitive):
//   *.yaml, *.yml, *.json   a trace file (trace_io.h)
//   *.csv                   a SCALE-Sim topology (scalesim_csv.h), expanded as a training workload
//   anything else           a model-zoo network name (zoo.h)
// Batch (`batch` > 0 overrides, `batch` <= 0 keeps the spec's own):
//   zoo      the network at `batch`, default kDefaultZooBatch
//   csv      imported at `batch` (conv-form layers scale with it; GEMM-form M does not), default 1
//   trace    the trace's batch. Another batch re-expands the layers at the new batch; the
//            batch-inclusive sizes (rows of linear, layer_norm, embedding and
//            softmax_cross_entropy, count of matmul) are scaled by new/old batch and must be
//            multiples of the old batch. A trace with recorded ops (any layer with `ops`) cannot
//            be re-batched: recorded ops are what ran at the recorded batch, so another batch is
//            a UserError.
// An unknown spec is a UserError naming the zoo networks (with a did-you-mean) and the accepted
// file extensions.
#pragma once

#include <cstdint>
#include <string>

#include "models/workload/workload.h"

namespace lbsim {

constexpr int64_t kDefaultZooBatch = 32;

enum class WorkloadSource { kZoo, kTrace, kScaleSimCsv };

struct ResolvedWorkload {
  Workload workload;  // expanded: every layer's ops filled
  WorkloadSource source = WorkloadSource::kZoo;
  bool shapes_chain = true;  // false for SCALE-Sim topologies and traces that say so
};

ResolvedWorkload resolve_workload_spec(const std::string& spec, int64_t batch);
Workload resolve_workload(const std::string& spec, int64_t batch);  // ...spec(spec, batch).workload
// A trace or SCALE-Sim file spec (by its extension) resolved from the file's text, as
// resolve_workload_spec() does after reading it.
ResolvedWorkload resolve_workload_text(const std::string& text, const std::string& spec,
                                       int64_t batch);

}  // namespace lbsim
