#include "models/sweep/sweep_table.h"

#include <fmt/format.h>

#include <cmath>

#include "models/core/csv.h"

namespace lbsim {

int SweepTable::metric(const std::string& name) const {
  for (size_t i = 0; i < metric_names.size(); ++i)
    if (metric_names[i] == name) return static_cast<int>(i);
  return -1;
}

int SweepTable::axis(const std::string& name) const {
  for (size_t i = 0; i < axis_names.size(); ++i)
    if (axis_names[i] == name) return static_cast<int>(i);
  return -1;
}

std::string sweep_results_csv(const SweepTable& t) {
  std::string out = "point,workload";
  for (const auto& a : t.axis_names) out += "," + csv_field(a);
  for (const auto& m : t.metric_names) out += "," + csv_field(m);
  out += ",error\n";
  for (const auto& r : t.rows) {
    out += fmt::format("{},{}", r.point, csv_field(r.workload));
    for (const auto& v : r.axis_values) out += "," + csv_field(v);
    for (double v : r.metrics) {
      if (std::isnan(v))
        out += ",";
      else if (v == std::floor(v) && std::fabs(v) < 9.0e15)
        out += fmt::format(",{:.0f}", v);  // counts (cycles, bytes, MACs) exactly
      else
        out += fmt::format(",{:.9g}", v);
    }
    out += "," + csv_field(r.error) + "\n";
  }
  return out;
}

}  // namespace lbsim
