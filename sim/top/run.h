// The run library: one call plans a workload on an architecture once, costs the plan's actions
// with an energy table, simulates it (sim/top/simulate.h) and returns every result in memory.
// `lbsim run`, `lbsim compare` and `lbsim sweep` are thin shells over it.
//
//   run_once()          plan -> count_actions -> cost_actions -> simulate, in this process
//                       (SystemC elaborates once per process: call it once, or in a child).
//   add_run_outputs()   the files `lbsim run` writes (stats.json, layers.csv, actions.csv,
//                       energy.csv, energy_actions.csv, pe_activity.csv in cycle mode, and the
//                       reports), added to an all-or-nothing OutputSet.
//   RunMetrics          the scalar results of a run (cycles, latency, utilisation, DRAM bytes,
//                       MACs, energy by component), as sweeps and studies tabulate them; to and
//                       from JSON so that a child process can return them.
//   ChildPool           runs jobs in forked worker processes, at most `jobs` at a time, and
//                       hands back each job's text result or error.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/arch/arch_config.h"
#include "models/core/cleanup.h"
#include "models/energy/actions.h"
#include "models/energy/cost.h"
#include "models/energy/energy_table.h"
#include "models/workload/workload.h"
#include "reports/report.h"
#include "sim/top/simulate.h"

namespace lbsim {

class OutputSet;

struct RunRequest {
  ArchConfig arch;            // resolved (file or built-in, -p overrides, --mode applied)
  Workload workload;          // expanded
  std::string workload_spec;  // what the user asked for ("resnet20", a path)
  // The precision map (models/workload/precision_map.h) already applied to `workload`, by file
  // name (provenance: stats.json run.precision_map); "" = none.
  std::string precision_map;
  SimOptions sim;
  std::vector<std::string> overrides;  // the -p assignments arch was loaded with (provenance)
  std::string version;                 // lbsim version (provenance)
  // Cost the actions the table has entries for and list the rest as uncosted (--allow-missing-
  // costs); otherwise an uncosted action is a UserError (models/energy/cost.h). Recorded in
  // stats.json (run.energy_table.allow_missing_costs).
  bool allow_missing_costs = false;
};

struct RunOutcome {
  RunRequest request;
  RunResult sim;                   // rows, stats tree, totals
  std::vector<OpActions> actions;  // from the same plan the simulation ran
  EnergyReport energy;             // actions x the table
};

// Plans once (a planning UserError is thrown before SystemC elaborates), counts and costs the
// actions, simulates. `table` must cost the run unless request.allow_missing_costs.
RunOutcome run_once(RunRequest request, const EnergyTable& table);

// stats.json of the run, with its provenance (version, overrides, formats, lowering, the energy
// table `table` with the hash of its text).
std::string run_stats_json(const RunOutcome& run, const EnergyTable& table);

// Adds the run's files under `dir` to `out` (committed by the caller). The reports are built
// here, before anything is written (a report error is a UserError with nothing written). Returns
// the "wrote: ..." line of the reports (reports::written_line). `gnuplot`: the figures'
// gnuplot, started before the simulation (null: one is started here).
std::string add_run_outputs(const RunOutcome& run, const EnergyTable& table,
                            const reports::TrainingOptions& training, const std::string& dir,
                            OutputSet& out, reports::GnuplotProcess* gnuplot = nullptr);

// True for the names a run directory holds (the files above and figures/): an existing output
// directory holding only these is an earlier run's, replaced as a whole by the next run
// (OutputSet::commit_directory); any other name is the user's and makes the run refuse.
bool is_run_output_name(const std::string& name);

// `lbsim report`: the finished run in `run_dir` re-costed with `table`, as a complete run
// directory for `out_dir` (which may be run_dir itself): stats.json with the new energy table's
// provenance, layers.csv, actions.csv and pe_activity.csv as they were, energy.csv and
// energy_actions.csv from the table, and the reports (training-estimate options from the
// previous report.json unless `training` asks). Inputs are validated; nothing is written here.
struct Recost {
  EnergyReport energy;
  size_t ops = 0;
  std::string reports_line;  // reports::written_line for out_dir
};
Recost recost_run(const std::string& run_dir, const EnergyTable& table,
                  const reports::TrainingOptions& training, bool allow_missing_costs,
                  const std::string& out_dir, OutputSet& out);

struct RunMetrics {
  int64_t cycles = 0, compute_cycles = 0, macs = 0;
  double latency_s = 0, utilization = 0;
  int64_t dram_read_bytes = 0, dram_write_bytes = 0;
  double energy_pj = 0, compute_energy_pj = 0;  // all components / the pe_array component
  std::map<std::string, double> energy_by_component_pj;
  int64_t uncosted_actions = 0;
  double pj_per_mac() const { return macs > 0 ? energy_pj / static_cast<double>(macs) : 0.0; }
  double compute_pj_per_mac() const {
    return macs > 0 ? compute_energy_pj / static_cast<double>(macs) : 0.0;
  }
};
// Timing fields from the simulation, energy fields from `energy` (so one simulation can be costed
// with several tables without re-simulating).
RunMetrics run_metrics(const RunOutcome& run, const EnergyReport& energy);
nlohmann::ordered_json metrics_json(const RunMetrics& m);
RunMetrics metrics_from_json(const nlohmann::json& j);  // std::exception on malformed input

// Worker processes. Each job runs in a fork()ed child of this process (copy-on-write: the parent's
// loaded architectures and tables are shared), so SystemC elaborates once per child. The child
// returns a text; a UserError or other exception in the child becomes that job's error text, a
// crash or a nonzero exit an error naming the signal or code. The parent never elaborates SystemC.
class ChildPool {
 public:
  explicit ChildPool(int jobs);
  ~ChildPool();  // kills and reaps children still running
  ChildPool(const ChildPool&) = delete;
  ChildPool& operator=(const ChildPool&) = delete;

  struct Done {
    int64_t id = 0;
    bool ok = false;
    std::string text;         // the result, or the error message
    int64_t max_rss_kib = 0;  // the worker's peak resident memory
    double cpu_s = 0;         // the worker's user + system CPU time
  };
  bool full() const { return static_cast<int>(m_running.size()) >= m_jobs; }
  bool idle() const { return m_running.empty(); }
  // Starts `work` in a child (the caller keeps at most `jobs` running: check full()).
  void start(int64_t id, const std::function<std::string()>& work);
  // Blocks until a running child finishes; returns its outcome.
  Done wait_any();

 private:
  struct Running {
    int64_t id;
    pid_t pid;
    int fd;
    std::string buffer;
    bool eof = false;
    std::shared_ptr<cleanup::ChildProcess> registered;  // killed and reaped on interrupt
  };
  Done reap(size_t index);
  int m_jobs;
  std::vector<Running> m_running;
};

// One job in one child, synchronously: its text, or a UserError with the child's error text.
std::string run_in_child(const std::function<std::string()>& work);

}  // namespace lbsim
