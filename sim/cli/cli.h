// Subcommand registration for the lbsim executable. Each add_*_commands installs subcommands whose
// callbacks do the work; a callback throws lbsim::UserError for anything the user can fix (main()
// prints it and exits 2) and reports other outcomes through set_exit_code().
#pragma once

namespace CLI {
class App;
}

namespace lbsim::cli {

void add_numerics_commands(CLI::App& app);  // quantize, gemm, conv, list-types
void add_demo_command(CLI::App& app);       // demo (the main job until the simulator lands)
void set_exit_code(int code);
int exit_code();

}  // namespace lbsim::cli
