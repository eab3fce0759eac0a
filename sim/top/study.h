// Energy and latency studies (`lbsim compare`, format: workloads/studies/README.md; the shipped
// study is workloads/studies/mls_paper.yaml): several datapath configurations on several models,
// as ratios to a reference and a baseline configuration, in one Markdown report.
//
// Energy is the run library's (sim/top/run.h): each (model, config) cell runs run_once() in a
// worker process (ChildPool; SystemC elaborates once per process), which returns the cell's
// metrics: the energy by component from the plan's action counts x the table (exactly what
// `lbsim run` writes to energy.csv) and the timing simulation's total cycles. Two scopes:
//   compute unit  = the pe_array component (multipliers, adders, shifters, exponent adds,
//                   accumulator and operand-pipeline registers, group-end conversion and the
//                   per-PE overhead). Not memory, not the quantization or vector units.
//   full system   = every component: pe_array + quant_unit + vector_unit + SRAM + DRAM.
// Sensitivity variants re-cost plans only (no simulation). Ratios are reference / config (e.g.
// FP32 energy / MLS energy: "x times less energy"). The Markdown is deterministic (no wall time,
// no host paths): the same study, table and binary give the same bytes, whatever `jobs` is.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/energy/energy_table.h"

namespace lbsim {

struct StudyConfig {
  std::string name, label, arch;  // arch as written (relative to the study file)
  std::vector<std::string> params;
};

struct StudyModel {
  std::string workload, label, mls;  // mls = the config name used in the MLS column
  int64_t batch = 0;
  bool check = false;
};

struct Variant {
  std::string label;
  std::vector<std::string> mls_params;  // -p overrides of the MLS config only
  std::vector<std::string> energy;      // energy-table overrides (every config)
  bool fp32_first_last = false;         // first conv + last linear in fp32 (every config)
};

struct Anchor {
  std::string workload;
  double target = 0;  // reference / MLS compute-unit energy ratio the overhead is fitted to
  std::string note;   // printed in the calibration table (e.g. "used by 45nm.yaml")
};

struct Study {
  std::string file, title, reference, baseline, command;
  std::string notes;  // Markdown printed under the introduction
  int64_t batch = 32;
  std::vector<StudyConfig> configs;
  std::vector<StudyModel> models;
  std::vector<std::string> columns;  // config names, "mls" = the model's MLS config
  double vs_ref_lo = 0, vs_ref_hi = 0, vs_base_lo = 0, vs_base_hi = 0;
  std::vector<Variant> variants;
  std::vector<Anchor> anchors;
};

// Reads and validates a study file (declared keys: an unknown or misspelt key is a
// file:line:col error with "did you mean", like every lbsim YAML).
Study load_study(const std::string& path);
Study parse_study(const std::string& text, const std::string& path);  // path: for messages

struct StudyReport {
  std::string markdown;
  int window_misses = 0;  // checks outside their window
  int window_checks = 0;
};
// `table_name` is how the report names the energy table; `energy_file` ("" = built-in) is
// reloaded with each sensitivity variant's overrides.
// `on_cell_done(done, total)` reports progress of the simulations (nothing depends on it).
StudyReport run_study(const Study& s, const EnergyTable& table, const std::string& table_name,
                      const std::string& energy_file, int jobs,
                      const std::function<void(int64_t, int64_t)>& on_cell_done = {});

}  // namespace lbsim
