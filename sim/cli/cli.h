// Subcommand registration for the lbsim executable. Each cmd_*.cpp registers a function that
// installs its subcommands (LBSIM_CLI_COMMANDS), so adding a command never edits main.cpp.
// Callbacks throw lbsim::UserError for anything the user can fix (main() prints it and exits 2)
// and report other outcomes through set_exit_code().
#pragma once

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace lbsim::cli {

using AddCommands = void (*)(CLI::App& app);
// `order` sorts the subcommands in --help (lower first).
bool register_commands(AddCommands add, int order);
void add_all_commands(CLI::App& app);

void set_exit_code(int code);
int exit_code();

// --npy-bf16 on every command that reads .npy floats (models/core/npy.h NpyReadOptions::bf16).
CLI::Option* add_npy_bf16_flag(CLI::App* command, bool& bf16);

}  // namespace lbsim::cli

#define LBSIM_CLI_CONCAT_INNER(a, b) a##b
#define LBSIM_CLI_CONCAT(a, b) LBSIM_CLI_CONCAT_INNER(a, b)
#define LBSIM_CLI_COMMANDS(FN, ORDER)                                                              \
  namespace {                                                                                      \
  [[maybe_unused]] const bool LBSIM_CLI_CONCAT(lbsim_cli_registered_,                              \
                                               __LINE__) = ::lbsim::cli::register_commands(FN,     \
                                                                                           ORDER); \
  }
