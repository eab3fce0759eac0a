// Sweep files (arch_configs/sweeps/README.md): a base architecture, workloads and axes, expanded
// into the list of points a sweep runs. Pure: loading validates the file itself (unknown keys,
// types, ranges, templates, zip, exclude), not the architectures the points build (the engine
// loads each point's architecture before anything runs).
//
//   schema_version: 1
//   name: mls_bits                    # default: the file's stem
//   description: "..."
//   base: {arch: ../mls_m1e2_32x32.yaml, params: [mapping.dgrad_lowering=transposed]}
//   workloads: [{workload: resnet20, batch: 32, label: ResNet-20}]
//   vars: {m: [1, 2, 3, 4], e: [2, 3]}          # named values for templates (product dimensions)
//   axes:                                       # architecture key paths, or energy.table/node
//     pe_array.formats: "mls_m{m}e{e}"          # a template: derived from other axes
//     pe_array.rows: {from: 8, to: 128, mul: 2} # an integer range (mul or step)
//     pe_array.cols: [8, 16, 32, 64, 128]
//     energy.node: [45, 7]                      # re-costs, never re-simulates
//   zip: [[pe_array.rows, pe_array.cols]]       # these move together
//   exclude: [{m: 4, e: 3}]                     # drop points matching every listed value
//   numerics: {data: DIR, max_macs: 1048576, seed: 0, enabled: true}
//
// Points are the Cartesian product of the dimensions (vars, then axes, in file order; a zip group
// is one dimension at its first member's place; templated axes are not dimensions), the first
// dimension outermost, minus the excluded ones, indexed from 0 in that order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/core/hash.h"
#include "models/sweep/numerics_quality.h"

namespace lbsim {

struct SweepWorkload {
  std::string spec;   // zoo name, or a trace / SCALE-Sim CSV path resolved against the sweep file
  int64_t batch = 0;  // 0 = the spec's own
  std::string label;  // default: the spec as written
  SourceLoc loc;
};

struct SweepPoint {
  int64_t index = 0;
  std::vector<std::string> axis_values;  // one per SweepSpec::axis_names
  // Architecture overrides: the base params, then one per architecture axis (pe_array.formats
  // expands to the three roles), each with the sweep-file position of the value it came from.
  std::vector<std::string> params;
  std::vector<SourceLoc> param_locs;
  std::string energy_table;  // "" = built-in; else a path resolved against the sweep file
  int64_t energy_node = 0;   // 0 = the table's own node
  // Points with the same sim_key differ only in energy axes: one simulation serves them all.
  std::string sim_key;
  std::string label() const;            // "m=1, e=2, pe_array.rows=16" (axis=value list)
  std::vector<std::string> axis_names;  // copy of the spec's, for label()
};

struct SweepSpec {
  std::string file;  // as given
  std::string name, description;
  std::string arch;                      // resolved path; "" = the built-in default
  std::vector<std::string> base_params;  // key.path=value
  std::vector<SourceLoc> base_param_locs;
  std::vector<SweepWorkload> workloads;
  std::vector<std::string> axis_names;  // vars, then axes, in file order
  std::vector<std::string> var_names;   // the subset that are vars (not architecture keys)
  std::vector<SweepPoint> points;
  bool numerics = true;
  NumericsQualityOptions numerics_options;  // data dir resolved against the sweep file
};

// Reads, validates and expands a sweep file. Every problem is a UserError "file:line:col: error:
// key: message" (all of them in one pass where possible); more than kMaxSweepPoints points is an
// error.
SweepSpec load_sweep(const std::string& path);
constexpr int64_t kMaxSweepPoints = 1000000;
// `max_points` lowers the cap (the fuzz target keeps each expansion within its time budget).
SweepSpec parse_sweep(const std::string& text, const std::string& path,
                      int64_t max_points = kMaxSweepPoints);

}  // namespace lbsim
