// Running gnuplot for the reports (reports/plots.cpp) and the sweep summary
// (reports/sweep_summary.cpp): one copy of the process, file and SVG helpers both need.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace lbsim::reports {

// A gnuplot string literal ("...", with \n, \" and \\ escaped).
std::string gp_string(const std::string& s);
// The full path of `prog` (as execvp would find it on PATH), "" when not found.
std::string find_executable(const std::string& prog);
// A file's bytes ("" when it cannot be read).
std::string read_file(const std::filesystem::path& p);
// The <svg ...>...</svg> element of a standalone SVG, ids made unique with `prefix` (for inlining
// several figures in one HTML page).
std::string inline_svg(const std::string& svg, const std::string& prefix);

// A fresh directory under the system temp dir ("<stem>-XXXXXX"), removed with everything in it
// when the object dies. UserError when it cannot be created.
struct TempDir {
  explicit TempDir(const std::string& stem);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path path;
};

// Runs argv[0] (a full path) with `argv` in `cwd`, stdin from /dev/null, stdout and stderr to
// `log`; no shell. Returns the exit status (-1 when it could not be started or was killed).
int run_program(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                const std::filesystem::path& log);

}  // namespace lbsim::reports
