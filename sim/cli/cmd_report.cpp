// `lbsim report --energy TABLE RUN_DIR`: re-costs a finished run with another energy table,
// without re-simulating (DESIGN.md §5). Reads RUN_DIR/actions.csv (written by `lbsim run`),
// multiplies every counted action by the table (models/energy/cost.h) and writes energy.csv (per
// layer x phase x component; default RUN_DIR/energy.csv, --out FILE elsewhere) and, next to it,
// energy_actions.csv (per op x action; FILE's stem + "_actions.csv" with --out), each through a
// temporary file renamed into place, then
// prints the energy by component and the uncosted actions. With the default --out it also
// regenerates RUN_DIR/report.json, report.md and report.html (reports/report.h). A bad table, a
// missing or malformed actions.csv (unknown action names included) are UserErrors: exit 2, nothing
// written.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "models/core/error.h"
#include "models/core/output.h"
#include "models/energy/actions.h"
#include "models/energy/cost.h"
#include "models/energy/energy_table.h"
#include "reports/report.h"
#include "sim/cli/cli.h"

namespace lbsim::cli {

namespace {

struct ReportArgs {
  std::string energy;
  int64_t node = 0;
  std::string run_dir;
  std::string out;
  bool allow_missing_costs = false;
  reports::TrainingOptions training;  // whole-training estimate in the reports (reports/report.h)
};

void cmd_report(const ReportArgs& a) {
  std::vector<std::string> ov;
  if (a.node > 0) ov.push_back(fmt::format("node={}", a.node));
  const EnergyTable table =
      a.energy.empty() ? EnergyTable::builtin(ov) : EnergyTable::load(a.energy, ov);

  const std::filesystem::path dir(a.run_dir);
  const std::filesystem::path actions_path = dir / "actions.csv";
  const std::vector<NamedPath> inputs = {{"RUN_DIR/actions.csv", actions_path},
                                         {"--energy", a.energy}};
  if (!a.out.empty()) check_aliasing(inputs, {{"--out", a.out}});
  std::ifstream in(actions_path, std::ios::binary);
  if (!in)
    throw UserError(fmt::format("{}: error: cannot open (is {} the output directory of lbsim run?)",
                                actions_path.string(), a.run_dir));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::vector<OpActions> ops = parse_actions_csv(ss.str(), actions_path.string());
  const EnergyReport report = cost_actions(ops, table, a.allow_missing_costs);
  const std::string text = energy_csv(report), actions_text = energy_actions_csv(report);
  // The reports (report.json/.md/.html) are regenerated when energy.csv is the run's own: with
  // --out elsewhere they would disagree with RUN_DIR/energy.csv, so they are left alone.
  const bool regenerate = a.out.empty();
  if (!regenerate && a.training.requested())
    throw UserError(
        "error: --dataset-size/--epochs/--fnt-* regenerate RUN_DIR's reports: not with --out");
  reports::check_training_options(a.training);
  const reports::ReportFiles report_files =
      regenerate ? reports::regenerate_reports(a.run_dir, report, table, a.training)
                 : reports::ReportFiles{};

  const std::filesystem::path out =
      a.out.empty() ? dir / "energy.csv" : std::filesystem::path(a.out);
  std::filesystem::path out_actions = out;
  out_actions.replace_filename(out.stem().string() + "_actions.csv");
  // energy.csv, its per-action rows and the regenerated reports: together or not at all.
  OutputSet files;
  for (const NamedPath& in : inputs) files.add_input(in.path, in.what);
  files.add(out, text, a.out.empty() ? "" : "--out");
  files.add(out_actions, actions_text);
  if (regenerate) reports::add_reports(a.run_dir, report_files, &files);
  files.commit();
  std::printf("lbsim report: %s re-costed with %s (%zu ops)\n", a.run_dir.c_str(),
              table.file().c_str(), ops.size());
  std::printf("%s", energy_summary(report, table).c_str());
  std::printf("wrote:        %s, %s\n", out.string().c_str(), out_actions.string().c_str());
  if (regenerate) std::fputs(reports::written_line(a.run_dir, report_files).c_str(), stdout);
}

void add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* c = app.add_subcommand(
      "report", "Re-cost a finished run (its actions.csv) with an energy table; write energy.csv");
  c->add_option("--energy", args->energy,
                "Energy table YAML (default: the built-in arch_configs/energy/45nm.yaml)");
  c->add_option("--energy-node", args->node,
                "Technology node in nm for the energy table (one of its scaling.nodes)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  c->add_flag("--allow-missing-costs", args->allow_missing_costs,
              "Cost the actions the table has entries for and list the others as uncosted "
              "(default: an action without a cost is an error)");
  c->add_option("--out", args->out,
                "Output file for energy.csv (default: RUN_DIR/energy.csv); the per-action rows go "
                "next to it as <stem>_actions.csv");
  // Whole-training estimate (reports/report.h states the rule; default: the previous report's).
  c->add_option("--dataset-size", args->training.dataset_size,
                "Training-set samples for the whole-training estimate in the reports")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  c->add_option("--epochs", args->training.epochs, "Epochs for the whole-training estimate")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  c->add_option("--fnt-epochs", args->training.fnt_epochs,
                "LUQ high-precision fine-tune epochs (costed from --fnt-run)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  c->add_option("--fnt-run", args->training.fnt_run,
                "Output directory of an lbsim run of the same network on a high-precision array");
  c->add_option("run_dir", args->run_dir, "Output directory of lbsim run")->required();
  c->callback([args] { cmd_report(*args); });
}

}  // namespace

LBSIM_CLI_COMMANDS(add_report_command, 6)

}  // namespace lbsim::cli
