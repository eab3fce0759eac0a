// Running gnuplot for the reports (reports/plots.cpp) and the sweep summary
// (reports/sweep_summary.cpp): one copy of the process, file and SVG helpers both need.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "models/core/cleanup.h"

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

 private:
  std::unique_ptr<cleanup::TempPath> m_registered;  // removed on interrupt too
};

// A gnuplot process started ahead of need: the one way lbsim runs gnuplot (report figures and the
// sweep summary). It is spawned without a shell (posix_spawn with an argument vector) in a fresh
// temporary directory and reads its commands from a pipe, so a caller can start it before a
// simulation and let gnuplot's start-up overlap the simulation. The child starts with the
// default signal dispositions and an empty signal mask.
class GnuplotProcess {
 public:
  // `program` is looked up as execvp would; when it is not found, available() is false and no
  // process starts. UserError when the temporary directory or the pipe cannot be made.
  explicit GnuplotProcess(const std::string& program = "gnuplot");
  ~GnuplotProcess();  // a process not yet drawn with is killed and reaped; the directory removed
  GnuplotProcess(const GnuplotProcess&) = delete;
  GnuplotProcess& operator=(const GnuplotProcess&) = delete;

  bool available() const { return !m_exe.empty(); }
  const std::string& program() const { return m_program; }
  const std::string& executable() const { return m_exe; }
  // The process's working directory: draw() writes the data files there, the plots appear there.
  const std::filesystem::path& dir() const { return m_dir.path; }
  // Writes `files` (name, bytes) into dir(), sends `commands`, ends gnuplot's input and waits for
  // it. True when gnuplot exited with status 0. Once per object (std::logic_error otherwise).
  bool draw(const std::vector<std::pair<std::string, std::string>>& files,
            const std::string& commands);
  // What gnuplot printed (warnings and errors).
  std::string log() const;

 private:
  void stop();
  std::string m_program, m_exe;
  TempDir m_dir;
  int m_pid = -1, m_in = -1;                            // the child, the write end of its stdin
  int m_status = -1;                                    // its exit status once reaped (-1: killed)
  std::unique_ptr<cleanup::ChildProcess> m_registered;  // killed on interrupt
};

}  // namespace lbsim::reports
