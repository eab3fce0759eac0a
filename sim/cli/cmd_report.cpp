// `lbsim report RUN_DIR --out DIR | --in-place [--energy TABLE]`: re-costs a finished run with
// another energy table without re-simulating (sim/top/run.h recost_run): reads RUN_DIR's
// actions.csv, multiplies every counted action by the table (models/energy/cost.h) and writes a
// complete re-costed run: stats.json (the new table's file, node and hash), layers.csv,
// actions.csv, energy.csv, energy_actions.csv, pe_activity.csv when present, and the reports.
// --out DIR writes it to DIR (created; an earlier run there is replaced as a whole) and leaves
// RUN_DIR alone; --in-place replaces RUN_DIR's files. One of the two is required, so the
// original run is never overwritten by accident. A bad table, a missing or malformed actions.csv
// or stats.json are UserErrors: exit 2, nothing written.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
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
#include "sim/top/run.h"

namespace lbsim::cli {

namespace {

struct ReportArgs {
  std::string energy;
  int64_t node = 0;
  std::string run_dir;
  std::string out;
  bool in_place = false;
  bool allow_missing_costs = false;
  reports::TrainingOptions training;  // whole-training estimate in the reports (reports/report.h)
};

void cmd_report(const ReportArgs& a) {
  if (a.out.empty() == !a.in_place)
    throw UserError(
        a.in_place ? "error: --out and --in-place exclude each other"
                   : "error: say where the re-costed run goes: --out DIR (a new directory; " +
                         a.run_dir + " is left alone) or --in-place (rewrite " + a.run_dir + ")");
  std::vector<std::string> ov;
  if (a.node > 0) ov.push_back(fmt::format("node={}", a.node));
  const EnergyTable table = a.energy.empty() ? EnergyTable::builtin(ov, "--energy-node")
                                             : EnergyTable::load(a.energy, ov, "--energy-node");
  const std::string out = a.in_place ? a.run_dir : a.out;
  std::error_code ec;
  if (!a.in_place && std::filesystem::exists(out, ec) &&
      std::filesystem::equivalent(out, a.run_dir, ec))
    throw UserError(fmt::format(
        "error: --out {} is the run directory itself; use --in-place to rewrite it", out));
  OutputSet files;
  if (!a.energy.empty()) files.add_input(a.energy, "--energy");
  const Recost r = recost_run(a.run_dir, table, a.training, a.allow_missing_costs, out, files);
  files.commit_directory(out, is_run_output_name);
  std::printf("lbsim report: %s re-costed with %s (%zu ops)\n", a.run_dir.c_str(),
              table.file().c_str(), r.ops);
  std::printf("%s", energy_summary(r.energy, table).c_str());
  const std::filesystem::path o(out);
  std::printf("wrote:        %s, %s, %s, %s, %s\n", (o / "stats.json").string().c_str(),
              (o / "layers.csv").string().c_str(), (o / "actions.csv").string().c_str(),
              (o / "energy.csv").string().c_str(), (o / "energy_actions.csv").string().c_str());
  std::fputs(r.reports_line.c_str(), stdout);
}

void add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* c = app.add_subcommand(
      "report",
      "Re-cost a finished run (its actions.csv) with an energy table into --out DIR or --in-place");
  c->add_option("--energy", args->energy,
                "Energy table YAML (default: the built-in arch_configs/energy/45nm.yaml)");
  c->add_option("--energy-node", args->node,
                "Technology node in nm for the energy table (one of its scaling.nodes)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  c->add_flag("--allow-missing-costs", args->allow_missing_costs,
              "Cost the actions the table has entries for and list the others as uncosted "
              "(default: an action without a cost is an error)");
  c->add_option("--out", args->out,
                "Directory for the complete re-costed run (created; RUN_DIR is left alone)");
  c->add_flag("--in-place", args->in_place,
              "Rewrite RUN_DIR itself with the re-costed energy and reports");
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
