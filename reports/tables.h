// The tables shared by report.md and report.html (internal to reports/).
#pragma once

#include <string>
#include <vector>

#include "reports/report.h"

namespace lbsim::reports {

struct Table {
  std::string title;
  std::vector<std::string> header;
  std::vector<bool> numeric;  // per column: right-aligned
  std::vector<std::vector<std::string>> rows;
  std::string note;  // a sentence under the title ("" = none)
};

std::string report_title(const ReportInput& in);
// Summary, energy by component, energy by phase, training estimate (if any), per layer x phase.
std::vector<Table> report_tables(const ReportInput& in);

}  // namespace lbsim::reports
