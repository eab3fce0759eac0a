// check-config: validates an architecture YAML (with -p overrides) without simulating.
// Valid: prints the summary, exit 0. Invalid: every error on stderr, one per line, sorted by
// position, then "N error(s); nothing simulated", exit 2 (UserError through main()). Writes no
// file either way.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "models/arch/arch_loader.h"
#include "models/core/error.h"
#include "sim/cli/cli.h"

namespace lbsim::cli {

namespace {

struct CheckArgs {
  std::string file;
  std::vector<std::string> params;
};

// Every diagnostic is one line (Diagnostics::text()), so lines count errors.
size_t count_lines(const std::string& text) {
  size_t n = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string::npos ? text.size() : nl;
    if (end > start) ++n;
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return n;
}

void cmd_check_config(const CheckArgs& a) {
  ArchConfig arch;
  try {
    arch = load_arch(a.file, a.params);
  } catch (const UserError& e) {
    std::string text = e.what();
    throw UserError(fmt::format("{}\n{} error(s); nothing simulated", text, count_lines(text)));
  }
  std::fputs(arch_summary(arch).c_str(), stdout);
}

void add_arch_commands(CLI::App& app) {
  auto args = std::make_shared<CheckArgs>();
  auto* c = app.add_subcommand(
      "check-config", "Validate an architecture YAML and print its summary; nothing is simulated");
  c->add_option("file", args->file, "Architecture YAML (see arch_configs/README.md)")->required();
  c->add_option("-p,--param", args->params,
                "Override one key before validation: -p pe_array.rows=16 (repeatable)")
      ->allow_extra_args(false);
  c->callback([args] { cmd_check_config(*args); });
}

}  // namespace

LBSIM_CLI_COMMANDS(add_arch_commands, 30)

}  // namespace lbsim::cli
