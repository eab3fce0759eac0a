// A run directory as `lbsim report RUN_DIR` reads it: stats.json, layers.csv and actions.csv,
// one input holding the three files one after another, each of the last two introduced by a line
// "--- layers.csv" / "--- actions.csv". The same calls as recost_run (sim/top/run.cpp): parse
// and cost actions.csv, build the report input from stats.json and layers.csv (which checks the
// three against each other), then the report documents and the figures' data and scripts (no
// gnuplot runs).
#include "models/energy/actions.h"
#include "models/energy/cost.h"
#include "models/energy/energy_table.h"
#include "reports/report.h"
#include "tests/fuzz/fuzz_common.h"

namespace {

// The part of `text` after the line `marker` up to the next "--- " line ("" when absent).
std::string part(const std::string& text, const std::string& marker) {
  const std::string head = "--- " + marker + "\n";
  size_t at = text.rfind(head, 0) == 0 ? 0 : text.find("\n" + head);
  if (at == std::string::npos) return "";
  at = text.find('\n', at + (at == 0 ? 0 : 1)) + 1;
  const size_t end = text.find("\n--- ", at);
  return text.substr(at, end == std::string::npos ? std::string::npos : end + 1 - at);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = lbsim::fuzz::text_of(data, size);
  const size_t first = text.find("\n--- ");
  const std::string stats = text.substr(0, first == std::string::npos ? text.size() : first + 1);
  const std::string layers = part(text, "layers.csv");
  const std::string actions = part(text, "actions.csv");
  static const lbsim::EnergyTable& table = *new lbsim::EnergyTable(lbsim::EnergyTable::builtin());
  lbsim::fuzz::accept_or_reject([&] {
    const auto ops = lbsim::parse_actions_csv(actions, "fuzz/actions.csv");
    const lbsim::EnergyReport energy = lbsim::cost_actions(ops, table, /*allow_missing=*/true);
    const lbsim::reports::ReportInput in =
        lbsim::reports::build_report_input(stats, layers, energy, table, {}, 0, "fuzz");
    (void)lbsim::reports::report_json(in);
    const lbsim::reports::PlotSet no_plots;
    (void)lbsim::reports::report_md(in, no_plots);
    (void)lbsim::reports::report_html(in, no_plots);
    (void)lbsim::reports::plot_sources(in);
  });
  return 0;
}
