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
    s += "Embedded in report.html; each is also in figures/ as NAME.svg and NAME.pdf, with its "
         "data (NAME.tsv) and the gnuplot script that redraws it (NAME.gp).\n";
    for (const Plot& p : plots.plots)
      s += fmt::format("\n### {}\n\n![{}](figures/{}.svg)\n\nfigures/{}.pdf\n", p.title, p.title,
                       p.name, p.name);
  }
  return s;
}

}  // namespace lbsim::reports
