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

// A table's rows as a GitHub Markdown table (header, alignment row, rows; '|' escaped), and as
// an HTML <table> element (cells escaped, numeric columns right-aligned by class "n"). Shared by
// the run reports and the sweep summary (reports/sweep_summary.h).
std::string table_md(const Table& t);
std::string table_html(const Table& t);
// HTML text escaping (&, <, >, ").
std::string html_escape(const std::string& s);

std::string report_title(const ReportInput& in);
// Summary, energy by component, energy by phase, training estimate (if any), per layer x phase.
std::vector<Table> report_tables(const ReportInput& in);

}  // namespace lbsim::reports
