// The table a sweep produces: one row per point x workload, axis columns then metric columns
// (units in the names). results.csv is this table; the summary (reports/sweep_summary.h) and
// sweep-merge read it. Rows are sorted by (point, workload order).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lbsim {

struct SweepTable {
  std::string sweep_name;                 // the sweep file's `name`
  std::vector<std::string> axis_names;    // in the sweep file's order (vars, then axes)
  std::vector<std::string> metric_names;  // e.g. cycles, latency_s, energy_pj, sqnr_weight_db
  struct Row {
    int64_t point = 0;                     // 0-based point index
    std::string workload;                  // the workload's label
    std::vector<std::string> axis_values;  // as the sweep resolved them (text), one per axis
    std::vector<double> metrics;           // one per metric name; NaN = not available
    std::string error;                     // non-empty: the point failed (metrics all NaN)
  };
  std::vector<Row> rows;

  // Index of a metric or axis by name; -1 when absent.
  int metric(const std::string& name) const;
  int axis(const std::string& name) const;
};

// results.csv: header "point,workload,<axes...>,<metrics...>,error"; integral metrics (cycles,
// bytes, MACs) exactly, others with 9 significant digits (%.9g), empty when NaN; RFC 4180
// quoting. Deterministic.
std::string sweep_results_csv(const SweepTable& t);

}  // namespace lbsim
