// Numerics subcommands: quantize, gemm, conv (functional reference on .npy tensors), list-types.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "models/numerics/i_number_format.h"
#include "sim/cli/cli.h"

namespace lbsim::cli {

namespace {
int g_exit_code = 0;
}

void set_exit_code(int code) { g_exit_code = code; }
int exit_code() { return g_exit_code; }

void add_numerics_commands(CLI::App& app) {
  auto* lt = app.add_subcommand("list-types", "List every registered component with its options");
  lt->callback([] { std::fputs(describe_format_types().c_str(), stdout); });
}

}  // namespace lbsim::cli
