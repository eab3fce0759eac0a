// lbsim: command-line entry point. Subcommands register themselves (sim/cli/cli.h).
//
// Error messages: every error goes to stderr as one line starting with "error:" (a UserError that
// names a file keeps its "FILE:LINE: error: ..." form) and exits with code 2. Before CLI11 parses,
// the arguments are checked for a mistyped subcommand or --flag, which get a "did you mean"
// suggestion: CLI11 itself would report a missing required flag or subcommand first.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "models/core/cleanup.h"
#include "models/core/error.h"
#include "sim/cli/cli.h"

namespace lbsim::cli {

namespace {
int g_exit_code = 0;
std::vector<std::pair<int, AddCommands>>& table() {
  static std::vector<std::pair<int, AddCommands>> t;
  return t;
}

// Optimal-string-alignment distance: insertions, deletions, substitutions and transpositions of
// neighbours ("shwo" -> "show") cost 1 each.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// CLI11 lists a subcommand's help/help-all flags among its options; every long name and short
// name of `app`'s options, with their dashes.
std::vector<std::string> flag_names(const CLI::App* app) {
  std::vector<std::string> out;
  for (const CLI::Option* o : app->get_options()) {
    for (const std::string& n : o->get_lnames()) out.push_back("--" + n);
    for (const std::string& n : o->get_snames()) out.push_back("-" + n);
  }
  return out;
}

std::vector<std::string> command_names(const CLI::App* app) {
  std::vector<std::string> out;
  for (const CLI::App* s : app->get_subcommands([](const CLI::App*) { return true; }))
    out.push_back(s->get_name());
  return out;
}

std::string command_path(const CLI::App* app) {
  std::string s;
  for (const CLI::App* a = app; a; a = a->get_parent())
    s = a->get_name() + (s.empty() ? "" : " " + s);
  return s;
}

bool is_option_of(const CLI::App* app, const std::string& flag) {
  // Options of a parent stay valid inside a subcommand only when it falls through.
  for (const CLI::App* a = app; a; a = a->get_fallthrough() ? a->get_parent() : nullptr) {
    const std::vector<std::string> names = flag_names(a);
    if (std::find(names.begin(), names.end(), flag) != names.end()) return true;
  }
  return false;
}

}  // namespace

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = 0;
  for (const std::string& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (best.empty() || d < best_d) {
      best = c;
      best_d = d;
    }
  }
  // Close enough to be a typo: at most 2 edits, and at most a third of the word.
  const size_t limit = std::min<size_t>(2, std::max<size_t>(1, word.size() / 3));
  if (best.empty() || best_d > limit) return "";
  return " (did you mean '" + best + "'?)";
}

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

CLI::Option* add_batch_option(CLI::App* command, int64_t& batch, const std::string& help) {
  return command->add_option("--batch", batch, help)->check(CLI::Range(int64_t{1}, kMaxBatch));
}

CLI::Option* add_npy_bf16_flag(CLI::App* command, bool& bf16) {
  return command->add_flag("--npy-bf16", bf16,
                           "Read 16-bit integer .npy inputs as bfloat16 bits (PyTorch: "
                           "t.bfloat16().view(torch.int16).numpy()); float16 .npy needs no flag");
}

void set_exit_code(int code) { g_exit_code = code; }
int exit_code() { return g_exit_code; }

// Walks the arguments as CLI11 will: a bare word naming a subcommand enters it; "--" ends the
// options. Throws a UserError for an unknown subcommand (where one is required and no positional
// argument could take the word) or an unknown --flag / -f, with the closest valid name.
// Returns the deepest subcommand reached (for the "see --help" hint).
const CLI::App* check_arguments(const CLI::App& root, int argc, const char* const* argv) {
  const CLI::App* app = &root;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() > 1 && arg[0] == '-' && !(arg[1] >= '0' && arg[1] <= '9') && arg[1] != '.') {
      const std::string flag = arg[1] == '-' ? arg.substr(0, arg.find('='))
                                             : arg.substr(0, std::min<size_t>(2, arg.size()));
      if (!is_option_of(app, flag))
        throw UserError(fmt::format("error: {}: unknown option {}{}; see {} --help",
                                    command_path(app), flag, did_you_mean(flag, flag_names(app)),
                                    command_path(app)));
      continue;
    }
    const std::vector<std::string> subs = command_names(app);
    if (std::find(subs.begin(), subs.end(), arg) != subs.end()) {
      app = app->get_subcommand(arg);
      continue;
    }
    // A bare word where a subcommand is required and nothing else can take it.
    const bool positional_free =
        app->get_options([](const CLI::Option* o) { return o->get_positional(); }).empty();
    const bool previous_takes_value =
        i > 1 && argv[i - 1][0] == '-' && std::string(argv[i - 1]).find('=') == std::string::npos;
    if (!subs.empty() && positional_free && !previous_takes_value)
      throw UserError(fmt::format("error: {}: unknown command '{}'{}; commands: {}",
                                  command_path(app), arg, did_you_mean(arg, subs),
                                  fmt::format("{}", fmt::join(subs, ", "))));
  }
  return app;
}

}  // namespace lbsim::cli

int main(int argc, char** argv) {
  // Ctrl-C, SIGTERM, SIGHUP: temporaries removed, outputs as they were (models/core/cleanup.h).
  lbsim::cleanup::install_interrupt_handler();
  CLI::App app{"lbsim: simulator of low-bit neural-network training accelerators", "lbsim"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for every subcommand");
  app.set_version_flag("--version", std::string("lbsim ") + lbsim::cli::version(),
                       "Print lbsim's version (git description at build time) and exit");
  lbsim::cli::add_all_commands(app);
  const CLI::App* where = &app;
  try {
    where = lbsim::cli::check_arguments(app, argc, argv);
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Bad flags are user errors: exit 2 (docs/design.md §6), one line on stderr.
    std::fprintf(stderr, "error: %s: %s; see %s --help\n", lbsim::cli::command_path(where).c_str(),
                 e.what(), lbsim::cli::command_path(where).c_str());
    return 2;
  } catch (const lbsim::UserError& e) {
    const std::string what = e.what();
    const std::string first = what.substr(0, what.find('\n'));
    std::fprintf(stderr, "%s%s\n", first.find("error:") == std::string::npos ? "error: " : "",
                 what.c_str());
    return 2;
  }
  return lbsim::cli::exit_code();
}
