// lbsim: command-line entry point. Subcommands register themselves in cli.h's table.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "models/core/error.h"
#include "sim/cli/cli.h"

int main(int argc, char** argv) {
  CLI::App app{"lbsim: simulator of low-bit neural-network training accelerators"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for every subcommand");
  lbsim::cli::add_demo_command(app);
  lbsim::cli::add_numerics_commands(app);
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
