// The library behind `lbsim verify` (sim/cli/cmd_verify.cpp): which layers are checked, their
// training GEMMs built from real or random tensors, and the bit-by-bit comparison of the
// cycle-level array's outputs with the functional reference.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/arch/arch_config.h"
#include "models/core/npy.h"
#include "models/reference/reference_gemm.h"
#include "models/workload/layer_gemms.h"
#include "models/workload/workload.h"
#include "sim/modules/cycle_array.h"

namespace lbsim {

// True for trace (.yaml/.yml/.json) and SCALE-Sim (.csv) workload specs, by extension.
bool is_file_spec(const std::string& spec);

// The three GEMMs of a conv2d or linear layer, or why the layer cannot be verified.
struct LayerPlan {
  const LayerSpec* layer = nullptr;
  int index = 0;
  std::string skip;  // non-empty: not verifiable
  int64_t macs = 0;  // fwd + dgrad + wgrad
};
LayerPlan plan_layer(const LayerSpec& l, int index);

// The layers to check: `layers` (comma-separated names; each must exist and be verifiable), or,
// when empty, every verifiable layer in order while the MACs fit `max_macs` (layers that do not
// fit are skipped and named in a note). UserError when nothing can be checked.
struct LayerSelection {
  std::vector<LayerPlan> plans;
  std::vector<std::string> notes;
  int64_t verifiable = 0;      // conv2d/linear layers verify can check (plans are some of them)
  int64_t skipped_budget = 0;  // verifiable layers left out by the --max-macs budget
  int64_t skipped_kind = 0;    // conv2d/linear layers verify cannot check (grouped, dilated)
};
// The verdict's scope: "3 of 20 verifiable layers (9 GEMMs) checked, 17 skipped by --max-macs
// 2000000 (--all checks every layer)"; max_macs <= 0 means --all.
std::string selection_scope(const LayerSelection& s, size_t gemms, int64_t max_macs);
LayerSelection select_layers(const Workload& wl, const std::string& layers, int64_t max_macs);

struct GemmCase : OwnedGemm {
  std::string layer, phase;
};

// Builds the fwd, dgrad and wgrad GEMMs of one layer (only fwd for an inference workload, which
// has no error tensor) from its tensors: `data` (tracer dumps), the trace's `tensors:`, or random.
std::vector<GemmCase> layer_cases(const LayerPlan& lp, const ArchConfig& arch, int64_t batch,
                                  bool training, const std::string& data, const NpyReadOptions& npy,
                                  uint64_t seed);

// One GEMM's verdict: outputs bit for bit (the first mismatch explained with its operands) and
// the accumulator overflow count against the reference, cycles against timing mode's.
struct GemmOutcome {
  uint64_t mismatches = 0;
  std::string first;
  nlohmann::json first_json;
  int64_t cycles = 0, timing_cycles = 0, time_cycles = 0;
  bool ok = false;
};
GemmOutcome compare(const GemmCase& g, const CycleRunResult& r, const GemmResult& ref,
                    int64_t timing_cycles);

}  // namespace lbsim
