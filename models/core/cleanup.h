// Temporaries that must not outlive the process, and what an interrupt does.
//
// Every temporary file or directory lbsim writes (an output's `*.tmp-lbsim`, a run directory's
// `DIR.tmp-lbsim` and `DIR.old-lbsim`, gnuplot's working directory) is registered here for as
// long as it exists (TempPath). The command-line tool installs an interrupt handler
// (install_interrupt_handler): on SIGINT, SIGTERM or SIGHUP every registered path is removed and
// the process then ends by that signal (a shell sees 128 + N). A commit's renames run inside
// critical_section(), which an interrupt waits for, so an interrupted command leaves its outputs
// either as they were or complete, never a mix, and no temporary behind.
//
// The handler is a thread of its own that waits for the signals (sigwait), which every other
// thread blocks: the cleanup is ordinary code, not a signal handler. Library users (the Python
// module) do not install it; registration is then bookkeeping only.
#pragma once

#include <filesystem>
#include <mutex>

namespace lbsim::cleanup {

// Registers `path` (a file or directory, existing or about to be created) for removal on
// interrupt; the destructor unregisters it (it does not remove it).
class TempPath {
 public:
  explicit TempPath(std::filesystem::path path);
  ~TempPath();
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

// Registers a child process (gnuplot, a worker) to be killed and reaped on interrupt, so none
// outlives lbsim; the destructor unregisters it (the owner reaps it as usual).
class ChildProcess {
 public:
  explicit ChildProcess(int pid);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

 private:
  int m_pid;
};

// Held while temporaries are renamed into place (and while a temporary is created and registered):
// an interrupt's cleanup waits until it is released. Re-entrant.
std::unique_lock<std::recursive_mutex> critical_section();

// CLI only, first thing in main() before any other thread starts: blocks SIGINT, SIGTERM and
// SIGHUP in this and every later thread and starts the thread that handles them as above. A
// signal the process inherited as ignored (a background job's SIGINT) stays ignored.
void install_interrupt_handler();

// In a forked child (worker processes): an empty signal mask again (the dispositions were never
// changed), so that an interrupt ends the child by the signal's own action.
void restore_default_signals();

}  // namespace lbsim::cleanup
