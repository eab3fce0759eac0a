// `lbsim run`: one training iteration (or inference pass) of a workload on an architecture
// (sim/top/simulate.h), with built-in defaults for everything: the embedded default architecture,
// ResNet-20 on CIFAR-10 (zoo name resnet20) at batch 32, outputs in out/run.
//
// Fidelity: --mode timing|cycle, default the architecture's pe_array.fidelity. In cycle mode the
// GEMM work items run on the clocked cycle-level array (random operands keyed by --seed) inside
// the same simulation; cycle counts are equal to timing mode by construction (checked per work
// item), so layers.csv, actions.csv, energy.csv, report.md and report.html are byte-identical to
// timing mode's; stats.json and report.json say `fidelity: cycle` (and the seed), and stats.json's
// pe_array group adds the per-PE activity counters (operand_reg_writes, psum_reg_writes,
// idle_pe_cycles, cycle_gemms); pe_activity.csv (cycle mode only) has them per PE
// (sim/modules/pe_activity.h). The summary adds one line with the PE-cycles simulated per second.
//
// Contract: the architecture (file or default, with -p overrides), the workload and the whole
// simulation must succeed before anything is written; then stats.json and layers.csv are written
// to temporary files in --out and renamed into place, and the summary is printed. The energy hook
// (models/energy) also writes actions.csv (the datapath actions of every op, counted from the
// simulation plan), energy_actions.csv (those counts x the energy table per op and action) and
// energy.csv (summed per layer x phase x component; table: --energy, default the built-in
// arch_configs/energy/45nm.yaml) and prints the energy by component; the table is loaded before
// the simulation, so a bad table is a UserError with nothing written. `lbsim report --energy`
// re-costs actions.csv with another table without re-simulating. The reports (reports/report.h:
// report.json, report.md, report.html with gnuplot plots; --dataset-size/--epochs add the
// whole-training estimate) are built before anything is written and written last. Any UserError
// (bad arch, bad -p, unknown workload, a buffer too small for the smallest legal tile,
// scalesim_compat at cycle fidelity) reaches main(): message on stderr, exit 2, no file written.
// The output files are deterministic (byte-identical for the same inputs): no wall time in them;
// the printed summary shows the wall time and the SystemC delta-cycle count.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "models/arch/arch_loader.h"
#include "models/core/error.h"
#include "models/core/output.h"
#include "models/core/params.h"
#include "models/core/progress.h"
#include "models/energy/actions.h"
#include "models/energy/cost.h"
#include "models/energy/energy_table.h"
#include "models/numerics/conv_lowering.h"
#include "models/workload/precision_map.h"
#include "models/workload/resolve.h"
#include "reports/report.h"
#include "sim/cli/cli.h"
#include "sim/top/run.h"

namespace lbsim::cli {

namespace {

struct RunArgs {
  std::string arch;
  std::string workload = "resnet20";
  std::string precision_map;  // --precision-map FILE ("" = none)
  int64_t batch = 0;          // 0 = the spec's own (zoo: 32)
  std::string out = "out/run";
  std::vector<std::string> params;
  std::string mode;                   // "" = the arch's pe_array.fidelity, else timing | cycle
  std::string name;                   // --name: the architecture's name in the outputs
  uint64_t seed = 0;                  // cycle mode: seed of the random operands
  std::string energy;                 // energy table YAML ("" = built-in 45 nm)
  int64_t energy_node = 0;            // 0 = the table's own node
  bool allow_missing_costs = false;   // --allow-missing-costs
  reports::TrainingOptions training;  // whole-training estimate in the reports (reports/report.h)
  bool quiet = false;                 // no progress on stderr
};

// The architecture, named as it ran: --name, else the file's name, marked when -p changed it
// (a run with -p pe_array.rows=64 is not the file's mls_m1e2_32x32).
ArchConfig run_arch(const RunArgs& a) {
  ArchConfig arch = load_arch_or_default(a.arch, a.params);
  if (!a.name.empty())
    arch.name = a.name;
  else if (!a.params.empty())
    arch.name += " (overridden: -p " + join(a.params, ", -p ") + ")";
  if (!a.mode.empty()) arch.pe.cycle_fidelity = a.mode == "cycle";  // --mode overrides the YAML
  return arch;
}

std::string mb(int64_t bytes) { return fmt::format("{:.3f} MB", static_cast<double>(bytes) / 1e6); }

void print_summary(const ArchConfig& arch, const Workload& w, const RunResult& r, double wall_s,
                   const std::filesystem::path& out) {
  std::printf("lbsim run: %s (%s %lldx%lld %s, %g MHz) | %s %s, batch %lld\n", arch.name.c_str(),
              arch.pe.type.c_str(), static_cast<long long>(arch.pe.rows),
              static_cast<long long>(arch.pe.cols), dataflow_name(arch.pe.dataflow), arch.clock_mhz,
              w.network.c_str(), w.training ? "training iteration" : "inference pass",
              static_cast<long long>(w.batch));
  std::printf("ops:          %zu (%lld GEMM, %lld element-wise), %lld tiles, %lld jobs\n",
              r.rows.size(), static_cast<long long>(r.gemm_ops),
              static_cast<long long>(r.vector_ops), static_cast<long long>(r.tiles),
              static_cast<long long>(r.jobs));
  const double ms = static_cast<double>(r.total_cycles) / (arch.clock_mhz * 1000.0);
  std::printf("total cycles: %lld (%.6f ms at %g MHz)\n", static_cast<long long>(r.total_cycles),
              ms, arch.clock_mhz);
  std::printf("utilisation:  %.2f %% (MACs %lld / (cycles x %lld x %lld))\n", 100.0 * r.utilization,
              static_cast<long long>(r.total_macs), static_cast<long long>(arch.pe.rows),
              static_cast<long long>(arch.pe.cols));
  const std::string note = executed_macs_note(r.total_macs, r.workload_macs,
                                              dgrad_lowering_name(arch.mapping.dgrad_lowering));
  if (!note.empty())
    std::printf("MACs:         %lld executed = %s\n", static_cast<long long>(r.total_macs),
                note.c_str());
  std::printf("DRAM:         read %s, write %s\n", mb(r.dram_read_bytes).c_str(),
              mb(r.dram_write_bytes).c_str());
  std::vector<size_t> idx(r.rows.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](size_t a, size_t b) { return r.rows[a].cycles > r.rows[b].cycles; });
  std::printf("slowest layer ops:\n");
  std::printf("  %-28s %-7s %-14s %12s %7s %12s %6s\n", "layer", "phase", "op", "cycles", "share",
              "stall", "util");
  for (size_t i = 0; i < std::min<size_t>(5, idx.size()); ++i) {
    const OpRow& row = r.rows[idx[i]];
    const double share =
        r.total_cycles > 0 ? 100.0 * static_cast<double>(row.cycles) / r.total_cycles : 0.0;
    std::printf("  %-28s %-7s %-14s %12lld %6.2f%% %12lld %5.1f%%\n", row.layer.c_str(),
                row.phase.c_str(), row.op.c_str(), static_cast<long long>(row.cycles), share,
                static_cast<long long>(row.stall_cycles), 100.0 * row.utilization);
  }
  std::printf("SystemC:      %llu delta cycles, wall %.3f s\n",
              static_cast<unsigned long long>(r.events), wall_s);
  if (r.cycle_fidelity) {
    // PE-cycles: every PE of the clocked array updated once per compute cycle.
    const double pe_cycles = static_cast<double>(r.compute_cycles) *
                             static_cast<double>(arch.pe.rows) * static_cast<double>(arch.pe.cols);
    std::printf(
        "fidelity:     cycle (clocked %lldx%lld array, seed %llu): %.4g PE-cycles, %.3g M "
        "PE-cycles/s, %llu idle PE-cycles\n",
        static_cast<long long>(arch.pe.rows), static_cast<long long>(arch.pe.cols),
        static_cast<unsigned long long>(r.seed), pe_cycles,
        wall_s > 0 ? pe_cycles / wall_s / 1e6 : 0.0,
        static_cast<unsigned long long>(r.stats->value("pe_array.idle_pe_cycles")));
  }
  std::printf("wrote:        %s, %s%s\n", (out / "stats.json").string().c_str(),
              (out / "layers.csv").string().c_str(),
              r.cycle_fidelity ? (", " + (out / "pe_activity.csv").string()).c_str() : "");
}

EnergyTable run_energy_table(const RunArgs& a) {
  std::vector<std::string> ov;
  if (a.energy_node > 0) ov.push_back(fmt::format("node={}", a.energy_node));
  return a.energy.empty() ? EnergyTable::builtin(ov, "--energy-node")
                          : EnergyTable::load(a.energy, ov, "--energy-node");
}

void cmd_run(const RunArgs& a) {
  const std::vector<NamedPath> inputs = {{"--arch", a.arch},
                                         {"--workload", a.workload},
                                         {"--precision-map", a.precision_map},
                                         {"--energy", a.energy},
                                         {"--fnt-run", a.training.fnt_run}};
  RunRequest req;
  req.arch = run_arch(a);
  const EnergyTable table = run_energy_table(a);
  reports::check_training_options(a.training);
  req.workload = resolve_workload(a.workload, a.batch);
  req.workload_spec = a.workload;
  if (!a.precision_map.empty()) {
    apply_precision_map(load_precision_map(a.precision_map), req.workload);
    req.precision_map = a.precision_map;
  }
  req.sim.seed = a.seed;
  auto progress = std::make_shared<Progress>("run", "ops", 1, Progress::stderr_is_tty(), a.quiet);
  req.sim.on_op_done = [progress, &a](int64_t done, int64_t total, const char* phase) {
    if (done == 1) *progress = Progress("run", "ops", total, Progress::stderr_is_tty(), a.quiet);
    // Training order: every layer's fwd, then per layer (last first) dgrad, wgrad and update.
    progress->update(done, std::string(phase) == "fwd" ? "forward" : "backward and update");
  };
  req.overrides = a.params;
  req.version = version();
  req.allow_missing_costs = a.allow_missing_costs;

  // An --out that would be refused at the end is refused before the simulation: one holding an
  // input, or files lbsim did not write.
  check_aliasing(inputs, {}, {{"--out", a.out}});
  OutputSet::check_replaceable_directory(a.out, is_run_output_name);
  // The figures' gnuplot starts now: its start-up overlaps the simulation.
  reports::GnuplotProcess gnuplot;
  const auto t0 = std::chrono::steady_clock::now();
  const RunOutcome run = run_once(std::move(req), table);
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const std::filesystem::path out(a.out);
  OutputSet files;
  for (const NamedPath& in : inputs) files.add_input(in.path, in.what);
  const std::string reports_line =
      add_run_outputs(run, table, a.training, out.string(), files, &gnuplot);
  files.commit_directory(out, is_run_output_name);
  const ArchConfig& arch = run.request.arch;
  const RunResult& r = run.sim;
  const EnergyReport& energy = run.energy;
  const Workload& w = run.request.workload;
  print_summary(arch, w, r, wall_s, out);
  std::printf("%s", energy_summary(energy, table).c_str());
  std::printf("wrote:        %s, %s, %s\n", (out / "actions.csv").string().c_str(),
              (out / "energy.csv").string().c_str(), (out / "energy_actions.csv").string().c_str());
  std::fputs(reports_line.c_str(), stdout);
}

void add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  auto* c = app.add_subcommand(
      "run",
      "Simulate one training iteration (timing or cycle mode); write stats, layers.csv, energy "
      "and reports");
  c->add_option("--arch", args->arch,
                "Architecture YAML (default: the built-in arch_configs/default.yaml)");
  c->add_option("--workload", args->workload,
                "Model-zoo name, trace file (.yaml/.json) or SCALE-Sim topology (.csv)")
      ->default_val("resnet20");
  add_batch_option(c, args->batch, "Batch size (default: the workload's own; 32 for zoo networks)");
  c->add_option("--precision-map", args->precision_map,
                "Per-layer number formats (YAML: default and/or layers {NAME: {weight, "
                "activation, error}}) applied to the workload; see workloads/README.md");
  c->add_option("--out", args->out, "Output directory (created)")->default_val("out/run");
  c->add_option("-p,--param", args->params,
                "Override one architecture key: -p pe_array.rows=16 (repeatable)")
      ->allow_extra_args(false);
  c->add_option("--name", args->name,
                "Name of the architecture in the outputs (default: the file's name, marked "
                "\"(overridden: -p ...)\" when -p changed it)");
  c->add_option("--mode", args->mode,
                "Fidelity of the PE array: timing (closed-form tile cycles) or cycle (the clocked "
                "cycle-level array computes every GEMM tile on random operands; same cycles, "
                "about rows x cols times more work per cycle). Default: the architecture's "
                "pe_array.fidelity")
      ->check(CLI::IsMember({"timing", "cycle"}));
  c->add_flag("--quiet,-q", args->quiet, "No progress on stderr");
  c->add_option("--seed", args->seed,
                "Cycle mode: seed of the random operands (no effect in timing mode)")
      ->default_val(0);
  c->add_option("--energy", args->energy,
                "Energy table YAML (default: the built-in arch_configs/energy/45nm.yaml)");
  c->add_flag("--allow-missing-costs", args->allow_missing_costs,
              "Cost the actions the energy table has entries for and list the others as uncosted "
              "(default: an action without a cost is an error); recorded in stats.json");
  c->add_option("--energy-node", args->energy_node,
                "Technology node in nm for the energy table (one of its scaling.nodes)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  // Whole-training estimate (reports/report.h states the rule).
  c->add_option("--dataset-size", args->training.dataset_size,
                "Training-set samples for the whole-training estimate in the reports")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  c->add_option("--epochs", args->training.epochs, "Epochs for the whole-training estimate")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  c->add_option("--fnt-epochs", args->training.fnt_epochs,
                "LUQ high-precision fine-tune epochs (costed from --fnt-run)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  c->add_option("--fnt-run", args->training.fnt_run,
                "Output directory of an lbsim run of the same network on a high-precision array");
  c->callback([args] { cmd_run(*args); });
}

}  // namespace

LBSIM_CLI_COMMANDS(add_run_command, 5)

}  // namespace lbsim::cli
