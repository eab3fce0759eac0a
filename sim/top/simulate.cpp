#include "sim/top/simulate.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <systemc>

#include "models/core/error.h"
#include "models/core/json_text.h"
#include "models/numerics/conv_lowering.h"
#include "sim/modules/cycle_clock.h"
#include "sim/modules/run_ledger.h"
#include "sim/top/accelerator_top.h"

// libsystemc references sc_main; lbsim has its own main() and starts the kernel from simulate(),
// so this entry point is never called.
int sc_main(int, char*[]) { return 1; }

namespace lbsim {

namespace {
bool g_elaborated = false;

// Refuses a run whose simulated time could leave the kernel's range (sc_time counts time
// resolution units in 64 bits; cycle counts are int64): the plan's serial bound in kernel units
// must stay below 2^62, so no cycle sum of the modules can wrap.
void check_time_range(const ArchConfig& arch, const SimPlan& plan) {
  const double bound = serial_cycle_bound(plan, arch);
  const double period = static_cast<double>(CycleClock(arch.clock_mhz).period().value());
  const double limit = std::ldexp(1.0, 62);
  if (bound * period < limit && bound < limit) return;
  throw UserError(fmt::format(
      "error: this run could take up to {:.3g} cycles ({:.3g} s at {} MHz with every transfer "
      "and compute serialised), beyond the simulator's time range of {:.3g} cycles at this clock "
      "(2^62 time units of {} s); raise dram.bandwidth_gbps or clock_mhz, or simulate a smaller "
      "workload",
      bound, bound / (arch.clock_mhz * 1e6), arch.clock_mhz, limit / period,
      sc_core::sc_get_time_resolution().to_seconds()));
}
}  // namespace

RunResult simulate(const ArchConfig& arch, const Workload& workload, const SimOptions& opts) {
  // User errors of planning surface here, before SystemC.
  return simulate(arch, workload, plan_simulation(arch, workload), opts);
}

RunResult simulate(const ArchConfig& arch, const Workload& workload, SimPlan plan,
                   const SimOptions& opts) {
  check_time_range(arch, plan);
  std::unique_ptr<CycleSetup> cycle;
  if (arch.pe.cycle_fidelity)
    cycle = std::make_unique<CycleSetup>(prepare_cycle_setup(arch, workload, plan, opts.seed));
  if (g_elaborated)
    throw std::logic_error("simulate(): SystemC elaborates once per process; run another process");
  g_elaborated = true;
  setenv("SYSC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);

  // Kept alive until exit: SystemC owns its process tree until the simulation context dies.
  static SimPlan* s_plan = nullptr;
  static RunLedger* s_ledger = nullptr;
  s_plan = new SimPlan(std::move(plan));
  s_ledger = new RunLedger();
  s_ledger->ops.resize(s_plan->ops.size());
  s_ledger->on_op_done = opts.on_op_done;
  static ArchConfig* s_arch = nullptr;
  static CycleSetup* s_cycle = nullptr;
  if (cycle) {
    s_arch = new ArchConfig(arch);
    s_cycle = cycle.release();
    s_cycle->arch = s_arch;
    s_cycle->plan = s_plan;
  }
  RunResult r;
  r.cycle_fidelity = arch.pe.cycle_fidelity;
  r.seed = opts.seed;
  r.stats = std::make_unique<StatGroup>("accelerator");
  auto* top = new AcceleratorTop("accelerator", arch, *s_plan, *s_ledger, *r.stats, s_cycle);
  sc_core::sc_start();
  if (!top->controller().finished())
    throw std::logic_error("simulate(): the simulation stopped before the last op completed");

  const SimPlan& p = *s_plan;
  if (const PeActivity* a = top->pe_array().pe_activity()) r.pe_activity = *a;
  r.total_cycles = top->controller().end_cycle();
  r.events = sc_core::sc_delta_count();
  r.gemm_ops = p.gemm_ops;
  r.vector_ops = p.vector_ops;
  r.tiles = p.tiles;
  r.jobs = p.items;
  for (Phase ph : {Phase::kFwd, Phase::kDgrad, Phase::kWgrad, Phase::kUpdate})
    r.workload_macs += workload.total_macs(ph);
  const double pes = static_cast<double>(arch.pe.rows) * static_cast<double>(arch.pe.cols);
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const OpWork& w = p.ops[i];
    const OpTally& t = s_ledger->ops[i];
    OpRow row;
    row.layer = w.layer;
    row.phase = phase_name(w.phase);
    row.op = w.op;
    row.m = w.m;
    row.n = w.n;
    row.k = w.k;
    row.macs = t.macs;
    row.folds = w.folds;  // the op's folds (T-chunk tiles run segments of them)
    row.cycles = t.end - t.start;
    row.compute_cycles = t.compute_cycles;
    row.stall_cycles = row.cycles - row.compute_cycles;
    row.utilization = row.cycles > 0
                          ? static_cast<double>(t.macs) / (static_cast<double>(row.cycles) * pes)
                          : 0.0;
    row.ifmap_sram_read_bytes = t.ifmap_sram_read_bytes;
    row.filter_sram_read_bytes = t.filter_sram_read_bytes;
    row.ofmap_sram_write_bytes = t.ofmap_sram_write_bytes;
    row.dram_read_bytes = t.dram_read_bytes;
    row.dram_write_bytes = t.dram_write_bytes;
    row.quant_ops = t.quant_ops;
    row.vector_ops = t.vector_ops;
    r.total_macs += t.macs;
    if (w.kind == OpKind::kGemm) r.compute_cycles += t.compute_cycles;
    r.dram_read_bytes += t.dram_read_bytes;
    r.dram_write_bytes += t.dram_write_bytes;
    r.rows.push_back(std::move(row));
  }
  r.utilization = r.total_cycles > 0 ? static_cast<double>(r.total_macs) /
                                           (static_cast<double>(r.total_cycles) * pes)
                                     : 0.0;
  return r;
}

nlohmann::ordered_json energy_table_json(const RunInfo& info) {
  return {{"file", info.energy_file},
          {"node_nm", info.energy_node},
          {"hash", info.energy_hash},
          {"allow_missing_costs", info.allow_missing_costs}};
}

std::string stats_json(const ArchConfig& arch, const Workload& workload, const RunInfo& info,
                       const RunResult& r) {
  nlohmann::ordered_json run;
  run["arch"] = arch.name;
  run["arch_source"] = arch.source;
  if (!info.version.empty()) run["lbsim_version"] = info.version;
  run["arch_overrides"] = info.overrides;
  nlohmann::ordered_json formats;
  formats["weight"] = arch.pe.weight ? arch.pe.weight->describe() : "";
  formats["activation"] = arch.pe.activation ? arch.pe.activation->describe() : "";
  formats["error"] = arch.pe.error ? arch.pe.error->describe() : "";
  run["formats"] = formats;
  run["dgrad_lowering"] = dgrad_lowering_name(arch.mapping.dgrad_lowering);
  if (!info.energy_file.empty()) run["energy_table"] = energy_table_json(info);
  run["pe_array"] = {{"type", arch.pe.type},
                     {"rows", arch.pe.rows},
                     {"cols", arch.pe.cols},
                     {"dataflow", dataflow_name(arch.pe.dataflow)},
                     {"fidelity", r.cycle_fidelity ? "cycle" : "timing"}};
  run["clock_mhz"] = arch.clock_mhz;
  run["dram_bytes_per_cycle"] = arch.dram.bytes_per_cycle;  // the reports' roofline DRAM roof
  run["workload"] = workload.network;
  run["workload_spec"] = info.workload_spec;
  if (!info.precision_map.empty()) run["precision_map"] = info.precision_map;
  run["batch"] = workload.batch;
  run["training"] = workload.training;
  run["total_cycles"] = r.total_cycles;
  run["time_ms"] = static_cast<double>(r.total_cycles) / (arch.clock_mhz * 1000.0);
  run["compute_cycles"] = r.compute_cycles;
  run["total_macs"] = r.total_macs;
  run["workload_macs"] = r.workload_macs;
  run["utilization_fraction"] = r.utilization;
  run["dram_read_bytes"] = r.dram_read_bytes;
  run["dram_write_bytes"] = r.dram_write_bytes;
  run["ops"] = r.rows.size();
  run["gemm_ops"] = r.gemm_ops;
  run["vector_ops"] = r.vector_ops;
  run["tiles"] = r.tiles;
  run["jobs"] = r.jobs;
  run["systemc_delta_cycles"] = r.events;
  if (r.cycle_fidelity) run["seed"] = r.seed;
  nlohmann::ordered_json out;
  out["run"] = run;
  nlohmann::ordered_json tree = nlohmann::ordered_json::parse(r.stats->to_json());
  out["stats"] = tree[r.stats->name()];
  return json_text(out, 2) + "\n";
}

}  // namespace lbsim
