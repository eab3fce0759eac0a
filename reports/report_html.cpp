// report.html: one self-contained page (inline CSS, plots as inline <svg>, no external src/href).
#include <fmt/format.h>

#include "reports/report.h"
#include "reports/tables.h"

namespace lbsim::reports {

namespace {

const char* const kStyle =
    "body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}"
    "table{border-collapse:collapse;margin:0.5em 0 1.5em}"
    "th,td{border:1px solid #ccc;padding:2px 8px;font-size:13px}"
    "th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "figure{margin:1em 0}figcaption{font-weight:bold}svg{max-width:100%;height:auto}"
    "p.note{color:#555;font-size:13px}";

std::string section_html(const Table& t) {
  std::string s = fmt::format("<h2>{}</h2>\n", html_escape(t.title));
  if (!t.note.empty()) s += fmt::format("<p class=\"note\">{}</p>\n", html_escape(t.note));
  return s + table_html(t);
}

}  // namespace

std::string report_html(const ReportInput& in, const PlotSet& plots) {
  const std::vector<Table> tables = report_tables(in);
  std::string s = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  s += fmt::format("<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n",
                   html_escape(report_title(in)), kStyle);
  s += fmt::format("<h1>{}</h1>\n", html_escape(report_title(in)));
  s += fmt::format(
      "<p class=\"note\">Report schema {} (report.json); one iteration unless stated "
      "otherwise.</p>\n",
      kReportSchemaVersion);
  // Summary, energy and training tables, then the plots, then the long per-layer table.
  for (size_t i = 0; i + 1 < tables.size(); ++i) s += section_html(tables[i]);
  s += "<h2>Plots</h2>\n";
  if (plots.plots.empty())
    s += fmt::format("<p class=\"note\">{}</p>\n", html_escape(plots.note));
  else
    s += "<p class=\"note\">Each figure is also in figures/ beside this page: NAME.svg and "
         "NAME.pdf, its data NAME.tsv and the gnuplot script NAME.gp that redraws both.</p>\n";
  for (const Plot& p : plots.plots)
    s += fmt::format(
        "<figure id=\"plot-{}\">\n<figcaption>{}</figcaption>\n{}\n<p class=\"note\">figures/"
        "{}.svg, .pdf, .tsv, .gp</p>\n</figure>\n",
        p.name, html_escape(p.title), p.svg, p.name);
  if (!tables.empty()) s += section_html(tables.back());
  s += "</body>\n</html>\n";
  return s;
}

}  // namespace lbsim::reports
