// One simulation of a workload on an architecture (docs/design.md §3), in this process, at the
// fidelity of arch.pe.cycle_fidelity:
//   timing  the PE array charges each work item its closed-form systolic cycles;
//   cycle   the PE array runs each GEMM work item's folds on the clocked cycle-level array
//           (sim/modules/cycle_compute.h) on deterministic random operands keyed by
//           SimOptions::seed, inside the same simulation as the DMA, DRAM and buffers; the edges
//           it takes are the item's compute time and must equal the closed form (std::logic_error
//           otherwise), so rows, totals and every counter of timing mode come out identical; the
//           PE array's stats add the per-PE activity counters. It costs about rows x cols PE
//           updates per compute cycle.
//
// simulate() plans every op first (models/sim_plan/sim_plan.h; a UserError there, e.g. a buffer
// too small for the smallest legal tile, or one that rules out cycle fidelity, is thrown before
// any SystemC object exists), then elaborates the module tree (sim/top/accelerator_top.h), runs
// sc_start() until the controller has finished the last op (the kernel runs out of events: the
// cycle-level array's clock is gated), and collects the per-op rows and the stats tree. SystemC
// cannot re-elaborate in one process: a second call throws std::logic_error (run each simulation
// in its own process). The elaborated hierarchy stays alive until the process exits.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "models/arch/arch_config.h"
#include "models/core/stats.h"
#include "models/sim_plan/sim_plan.h"
#include "models/workload/workload.h"
#include "sim/modules/pe_activity.h"

namespace lbsim {

struct RunResult {
  std::vector<OpRow> rows;           // one per op, in simulation order
  std::unique_ptr<StatGroup> stats;  // root group "accelerator"
  int64_t total_cycles = 0;
  int64_t compute_cycles = 0;  // PE array
  int64_t total_macs = 0;      // as the array executes them (after the dgrad lowering)
  int64_t workload_macs = 0;   // the network's own MACs (lbsim workload show)
  int64_t dram_read_bytes = 0, dram_write_bytes = 0;
  int64_t gemm_ops = 0, vector_ops = 0, tiles = 0, jobs = 0;
  uint64_t events = 0;     // SystemC delta cycles of the run (sc_delta_count())
  double utilization = 0;  // total_macs / (total_cycles * rows * cols)
  bool cycle_fidelity = false;
  uint64_t seed = 0;       // cycle fidelity: the operands' seed
  PeActivity pe_activity;  // cycle fidelity: per-PE activity of the clocked array (else empty)
};

struct SimOptions {
  uint64_t seed = 0;  // cycle fidelity: seed of the random operands (no effect in timing mode)
  // Called after each op completes (ops done, ops in the plan, the op's phase): progress only;
  // nothing the simulation computes depends on it.
  std::function<void(int64_t, int64_t, const char*)> on_op_done;
};

RunResult simulate(const ArchConfig& arch, const Workload& workload, const SimOptions& opts = {});
// The same with a plan already built by plan_simulation(arch, workload) (the run library plans
// once and counts the energy actions from the same plan).
RunResult simulate(const ArchConfig& arch, const Workload& workload, SimPlan plan,
                   const SimOptions& opts);

// Metadata of a run for stats.json (deterministic: no wall time, no host names).
struct RunInfo {
  std::string workload_spec;  // what the user asked for ("resnet20", a path)
  std::string precision_map;  // the precision map applied to the workload ("" = none)
  // Provenance (written when set): the lbsim version, the -p overrides applied to the
  // architecture, and the energy table (file, node, hash of its text).
  std::string version;
  std::vector<std::string> overrides;
  std::string energy_file, energy_hash;
  int energy_node = 0;
  bool allow_missing_costs = false;  // the energy table may leave actions uncosted
};
// {"run": {arch, pe_array (with its fidelity), workload, batch, clock, totals..., cycle fidelity:
// seed}, "stats": {<the stats tree>}}, 2-space indent.
std::string stats_json(const ArchConfig& arch, const Workload& workload, const RunInfo& info,
                       const RunResult& result);
// stats.json's run.energy_table: {file, node_nm, hash, allow_missing_costs} of `info` (also what
// `lbsim report --out` writes when it re-costs a run).
nlohmann::ordered_json energy_table_json(const RunInfo& info);

}  // namespace lbsim
