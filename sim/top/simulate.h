// One timing-mode simulation of a workload on an architecture (DESIGN.md §3), in this process.
//
// simulate() plans every op first (models/sim_plan/sim_plan.h; a UserError there, e.g. a buffer
// too small for the smallest legal tile, is thrown before any SystemC object exists), then
// elaborates the module tree (sim/top/accelerator_top.h), runs sc_start() until the controller has
// finished the last op, and collects the per-op rows and the stats tree. SystemC cannot
// re-elaborate in one process: a second call throws std::logic_error (run each simulation in its
// own process). The elaborated hierarchy stays alive until the process exits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/arch/arch_config.h"
#include "models/core/stats.h"
#include "models/sim_plan/sim_plan.h"
#include "models/workload/workload.h"

namespace lbsim {

struct RunResult {
  std::vector<OpRow> rows;           // one per op, in simulation order
  std::unique_ptr<StatGroup> stats;  // root group "accelerator"
  int64_t total_cycles = 0;
  int64_t compute_cycles = 0;  // PE array
  int64_t total_macs = 0;
  int64_t dram_read_bytes = 0, dram_write_bytes = 0;
  int64_t gemm_ops = 0, vector_ops = 0, tiles = 0, jobs = 0;
  uint64_t events = 0;     // SystemC delta cycles of the run (sc_delta_count())
  double utilization = 0;  // total_macs / (total_cycles * rows * cols)
};

RunResult simulate(const ArchConfig& arch, const Workload& workload);

// UserError unless the array runs at timing fidelity (pe_array.fidelity: cycle arrives with the
// cycle-level issue). simulate() checks it first.
void require_timing_fidelity(const ArchConfig& arch);

// Metadata of a run for stats.json (deterministic: no wall time, no host names).
struct RunInfo {
  std::string workload_spec;  // what the user asked for ("resnet20", a path)
};
// {"run": {arch, workload, batch, clock, totals...}, "stats": {<the stats tree>}}, 2-space indent.
std::string stats_json(const ArchConfig& arch, const Workload& workload, const RunInfo& info,
                       const RunResult& result);

}  // namespace lbsim
