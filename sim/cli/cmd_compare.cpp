// `lbsim compare STUDY.yaml [--out FILE.md] [--energy TABLE] [--jobs N]`: energy and latency
// ratios of several datapath configurations on several models (sim/top/study.h; format:
// workloads/studies/README.md; the shipped study is workloads/studies/mls_paper.yaml). Prints the
// Markdown report and the window verdict; --out writes the report (all or nothing).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "models/core/output.h"
#include "models/core/progress.h"
#include "models/energy/energy_table.h"
#include "sim/cli/cli.h"
#include "sim/top/study.h"

namespace lbsim::cli {

namespace {

struct CompareArgs {
  std::string study;
  std::string out;
  std::string energy;
  int jobs = 0;
  bool quiet = false;
};

void cmd_compare(const CompareArgs& a) {
  check_aliasing({{"the study", a.study}, {"--energy", a.energy}}, {{"--out", a.out}});
  const Study s = load_study(a.study);
  const EnergyTable table = a.energy.empty() ? EnergyTable::builtin() : EnergyTable::load(a.energy);
  const std::string table_name =
      a.energy.empty() ? "built-in arch_configs/energy/45nm.yaml" : a.energy;
  Progress progress("compare", "runs", 1, Progress::stderr_is_tty(), a.quiet);
  const StudyReport r =
      run_study(s, table, table_name, a.energy, a.jobs, [&](int64_t done, int64_t total) {
        if (done == 1)
          progress = Progress("compare", "runs", total, Progress::stderr_is_tty(), a.quiet);
        progress.update(done);
      });
  std::printf("%s", r.markdown.c_str());
  if (!a.out.empty()) {
    write_output_file(a.out, r.markdown);
    std::printf("wrote: %s\n", a.out.c_str());
  }
  std::printf("windows: %d of %d checks outside\n", r.window_misses, r.window_checks);
}

void add_compare_command(CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  auto* c = app.add_subcommand(
      "compare",
      "Energy (compute unit, full system) and latency ratios of configurations on models, from a "
      "study file (workloads/studies/README.md)");
  c->add_option("study", args->study, "Study YAML (e.g. workloads/studies/mls_paper.yaml)")
      ->required();
  c->add_option("--out", args->out, "Write the Markdown report to this file");
  c->add_option("--energy", args->energy,
                "Energy table YAML (default: the built-in arch_configs/energy/45nm.yaml)");
  c->add_option("--jobs,-j", args->jobs,
                "Worker processes for the simulations (default: the number of cores)")
      ->check(CLI::Range(1, 4096));
  c->add_flag("--quiet,-q", args->quiet, "No progress on stderr");
  c->callback([args] { cmd_compare(*args); });
}

}  // namespace

LBSIM_CLI_COMMANDS(add_compare_command, 30)

}  // namespace lbsim::cli
