// Progress of a long command on stderr, shared by run, verify, compare and sweep.
//
// On a terminal: one redrawn line, "[#####.....] 71/215 ops, 1.2e+03 ops/s, ETA 3s (dgrad)".
// Otherwise (a log file, a pipe): plain lines, one when the phase changes (the previous phase is
// complete) or, without phases, one every ~5 % of the total, and one at the end. Quiet: nothing.
// Progress never goes to stdout, so a command's printed summary and its output files are the same
// with or without it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace lbsim {

class Progress {
 public:
  // `command` prefixes the plain lines ("sweep"); `unit` names what is counted ("points").
  Progress(std::string command, std::string unit, int64_t total, bool tty, bool quiet);
  // True when stderr is a terminal.
  static bool stderr_is_tty();
  // `done` of the total are finished; `phase` is what is running now ("" = no phases); `extra`
  // is appended to the counts (", 2 failed").
  void update(int64_t done, const std::string& phase = "", const std::string& extra = "");

 private:
  std::string m_command, m_unit, m_phase;
  int64_t m_total, m_last = 0;
  bool m_tty, m_quiet;
  std::chrono::steady_clock::time_point m_start;
};

}  // namespace lbsim
