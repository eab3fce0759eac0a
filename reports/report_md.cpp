// report.md: title, the report tables as GitHub Markdown tables, and where the plots are.
#include <fmt/format.h>

#include "reports/report.h"
#include "reports/tables.h"

namespace lbsim::reports {

std::string report_md(const ReportInput& in, const PlotSet& plots) {
  std::string s = fmt::format("# {}\n\n", report_title(in));
  s += fmt::format("Report schema {} (report.json); one iteration unless stated otherwise.\n",
                   kReportSchemaVersion);
  for (const Table& t : report_tables(in)) {
    s += fmt::format("\n## {}\n\n", t.title);
    if (!t.note.empty()) s += t.note + "\n\n";
    s += table_md(t);
  }
  s += "\n## Plots\n\n";
  if (plots.plots.empty()) {
    s += plots.note + "\n";
  } else {
    s += "Embedded as SVG in report.html:\n\n";
    for (const Plot& p : plots.plots) s += fmt::format("- {}\n", p.title);
  }
  return s;
}

}  // namespace lbsim::reports
