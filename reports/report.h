// reports/: turns a finished run's outputs into report.json, report.md and report.html (with
// gnuplot-rendered SVG plots embedded inline); never re-simulates (docs/design.md §2).
//
// The input is what `lbsim run` writes: the "run" object of stats.json, layers.csv (one row per
// op) and the energy of every op (models/energy/cost.h, from actions.csv x an energy table).
// `lbsim run` builds it from its in-memory outputs, `lbsim report` from the files of RUN_DIR, so
// both produce byte-identical reports for the same run and table.
//
// Compute- vs memory-bound (per op, per layer x phase, per layer): cycles = compute_cycles +
// stall_cycles (layers.csv); memory-bound when stall_cycles > compute_cycles, else compute-bound.
//
// Whole-training estimate (--dataset-size N --epochs E [--fnt-epochs F --fnt-run DIR]):
//   iterations = ceil(N / batch) x E; time = iterations x iteration time (total_cycles / clock);
//   energy = iterations x iteration energy (the run's energy, all components). LUQ's SMP is
//   already inside the iteration: the workload's smp_samples multiply its dgrad/wgrad GEMMs.
//   LUQ's high-precision fine-tune cannot be derived from a low-bit run (SystemC cannot
//   re-elaborate in one process, and scaling by an fp32/low-bit ratio would be a guess), so it
//   needs a separate run of the same network on a high-precision (e.g. fp32) array: --fnt-run DIR.
//   fnt iterations = ceil(N / that run's batch) x F, its time from its stats.json, its energy its
//   actions.csv costed with the same table as the main run. Totals = low-bit + fine-tune.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "models/energy/cost.h"
#include "models/energy/energy_table.h"
#include "models/sim_plan/sim_plan.h"
#include "reports/gnuplot.h"

namespace lbsim {
class OutputSet;
}

namespace lbsim::reports {

constexpr int kReportSchemaVersion = 2;  // 2: utilization -> utilization_fraction

struct TrainingOptions {
  int64_t dataset_size = 0;  // 0 = no estimate
  int64_t epochs = 0;
  int64_t fnt_epochs = 0;  // LUQ high-precision fine-tune epochs (needs fnt_run)
  std::string fnt_run;     // output directory of an `lbsim run` on a high-precision array
  bool requested() const {
    return dataset_size > 0 || epochs > 0 || fnt_epochs > 0 || !fnt_run.empty();
  }
};
// UserError unless the flags are consistent: --dataset-size and --epochs together, --fnt-epochs
// and --fnt-run together and only with the other two, --fnt-run a directory with stats.json and
// actions.csv.
void check_training_options(const TrainingOptions& o);

struct TrainingEstimate {
  int64_t dataset_size = 0, epochs = 0, batch = 0, smp_samples = 0;
  int64_t iterations_per_epoch = 0, iterations = 0;
  double iteration_s = 0, iteration_pj = 0, time_s = 0, energy_j = 0;
  bool fnt = false;
  std::string fnt_run, fnt_arch, fnt_pe_type;
  int64_t fnt_epochs = 0, fnt_batch = 0, fnt_iterations_per_epoch = 0, fnt_iterations = 0;
  double fnt_iteration_s = 0, fnt_iteration_pj = 0, fnt_time_s = 0, fnt_energy_j = 0;
  double total_time_s = 0, total_energy_j = 0;
};

// Per layer x phase aggregate (ops of the same layer and phase summed).
struct LayerPhase {
  std::string layer, phase;
  int64_t ops = 0, macs = 0, cycles = 0, compute_cycles = 0, stall_cycles = 0;
  int64_t ifmap_sram_read_bytes = 0, filter_sram_read_bytes = 0, ofmap_sram_write_bytes = 0;
  int64_t dram_read_bytes = 0, dram_write_bytes = 0, quant_ops = 0, vector_ops = 0;
  double utilization = 0;                   // macs / (cycles x rows x cols)
  std::map<std::string, double> energy_pj;  // by component
  double energy_total_pj = 0;
};

struct ReportInput {
  nlohmann::ordered_json run;  // the "run" object of stats.json
  int64_t smp_samples = 0;     // 0 = unknown (not in stats.json)
  std::vector<OpRow> rows;     // layers.csv
  EnergyReport energy;
  std::string energy_table;  // the table's file
  int64_t energy_node = 0;
  std::optional<TrainingEstimate> training;

  // Derived by build_report_input():
  int64_t pe_rows = 0, pe_cols = 0;
  double clock_mhz = 0;
  double dram_bytes_per_cycle = 0;  // run.dram_bytes_per_cycle; 0 = not recorded (no DRAM roof)
  std::vector<std::map<std::string, double>> op_energy;  // per row: component -> pJ
  std::vector<LayerPhase> layer_phases;                  // in order of first appearance
  std::vector<std::string> components, phases;           // sorted / in order of first appearance
};

// Validates and derives everything; UserError when the energy rows do not match the ops, or
// stats.json lacks a field the reports read or has it of the wrong type or range (the message
// names the file, `run_dir`/stats.json when run_dir is given, and the key). `training` (if
// requested) reads options.fnt_run.
ReportInput build_report_input(const std::string& stats_json_text,
                               const std::string& layers_csv_text, const EnergyReport& energy,
                               const EnergyTable& table, const TrainingOptions& training,
                               int64_t smp_samples, const std::string& run_dir = "");

// A file of a run directory (stats.json, layers.csv, actions.csv, ...), read as any input file
// (models/core/input_file.h); the error also asks whether the directory is an lbsim run's.
std::string read_run_file(const std::filesystem::path& path);

TrainingEstimate estimate_training(const ReportInput& in, const TrainingOptions& o,
                                   const EnergyTable& table,
                                   const std::string& stats_file = "stats.json");

struct Plot {
  std::string name, title;
  std::string svg;  // inline <svg> element (no XML prolog), ids prefixed per plot
};
// A file of the figures/ directory beside report.html: <name>.tsv, .gp, .svg and .pdf per figure.
struct FigureFile {
  std::string name, bytes;
};
struct PlotSet {
  std::vector<Plot> plots;
  std::vector<FigureFile> files;  // figures/ (empty when the plots are not rendered)
  std::string note;               // why plots are missing ("" when rendered)
};
// Renders every figure with `gnuplot` (a process started earlier, e.g. before the simulation, so
// that its start-up overlaps it; used once) or with one started here, in its temporary directory,
// removed afterwards. A missing gnuplot gives no plots and a note; a gnuplot failure is a
// UserError.
PlotSet render_plots(const ReportInput& in, GnuplotProcess& gnuplot);
PlotSet render_plots(const ReportInput& in, const std::string& gnuplot = "gnuplot");
// The gnuplot script and data of one figure (exposed for the tests). The script is standalone:
// run in the directory of "<name>.tsv" it writes "<name>.svg" and "<name>.pdf".
struct PlotSource {
  std::string name, title, script;
  std::string data;  // tab separated; the first line "# col\tcol..." names the columns (with units)
};
// Human labels used by the figures: "sram_ifmap" -> "SRAM (ifmap)", "fwd" -> "forward".
std::string component_label(const std::string& component);
std::string phase_label(const std::string& phase);
std::vector<PlotSource> plot_sources(const ReportInput& in);

std::string report_json(const ReportInput& in);
std::string report_md(const ReportInput& in, const PlotSet& plots);
std::string report_html(const ReportInput& in, const PlotSet& plots);

struct ReportFiles {
  std::string json, md, html;
  std::vector<FigureFile> figures;  // written to figures/
  std::string note;                 // the plot note
};
ReportFiles make_reports(const ReportInput& in, const std::string& gnuplot = "gnuplot");
// The same with a gnuplot process started earlier (render_plots).
ReportFiles make_reports(const ReportInput& in, GnuplotProcess& gnuplot);
// Writes report.json, report.md, report.html and the figures/ directory into `dir`, all or nothing
// (models/core/output.h). figures/ is replaced as a whole, so no figure of an earlier run survives
// in it.
// UserError on failure.
void write_reports(const std::string& dir, const ReportFiles& files);
// Adds the three files to `set` (committed by the caller, with the run's other outputs); with a
// null set it is write_reports().
void add_reports(const std::string& dir, const ReportFiles& files, OutputSet* set);
// The CLI summary line for them: "wrote:        DIR/report.json, DIR/report.md, DIR/report.html"
// plus " (note)" when plots are missing, and a newline.
std::string written_line(const std::string& dir, const ReportFiles& files);

// `lbsim report`: the reports of the finished run in `dir` (stats_json_text and its layers.csv)
// with `energy` (its actions.csv re-costed with `table`). Taken from the previous dir/report.json
// when present: the SMP samples (not in stats.json) and, when `training` is not requested, the
// previous training-estimate options (so re-costing also re-costs the estimate).
ReportFiles regenerate_reports(const std::string& dir, const std::string& stats_json_text,
                               const EnergyReport& energy, const EnergyTable& table,
                               TrainingOptions training, const std::string& gnuplot = "gnuplot");

}  // namespace lbsim::reports
