// lbsim: command-line entry point. Subcommands register themselves (sim/cli/cli.h).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "models/core/error.h"
#include "sim/cli/cli.h"

namespace lbsim::cli {

namespace {
int g_exit_code = 0;
std::vector<std::pair<int, AddCommands>>& table() {
  static std::vector<std::pair<int, AddCommands>> t;
  return t;
}
}  // namespace

bool register_commands(AddCommands add, int order) {
  table().emplace_back(order, add);
  return true;
}

void add_all_commands(CLI::App& app) {
  auto t = table();
  std::stable_sort(t.begin(), t.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& e : t) e.second(app);
}

CLI::Option* add_npy_bf16_flag(CLI::App* command, bool& bf16) {
  return command->add_flag("--npy-bf16", bf16,
                           "Read 16-bit integer .npy inputs as bfloat16 bits (PyTorch: "
                           "t.bfloat16().view(torch.int16).numpy()); float16 .npy needs no flag");
}

void set_exit_code(int code) { g_exit_code = code; }
int exit_code() { return g_exit_code; }

}  // namespace lbsim::cli

int main(int argc, char** argv) {
  CLI::App app{"lbsim: simulator of low-bit neural-network training accelerators"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for every subcommand");
  lbsim::cli::add_all_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // bad flags are user errors: exit 2 (DESIGN.md §6)
  } catch (const lbsim::UserError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  return lbsim::cli::exit_code();
}
