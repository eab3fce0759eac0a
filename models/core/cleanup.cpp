#include "models/core/cleanup.h"

#include <pthread.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace lbsim::cleanup {

namespace {

struct Registry {
  std::recursive_mutex mutex;
  std::map<std::string, int> paths;  // path -> registrations
  std::set<int> children;            // pids
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: the handler thread may use it at exit
  return *r;
}

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

void handle_signals(sigset_t set) {
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  Registry& r = registry();
  r.mutex.lock();  // held until the process ends: nothing new is registered or renamed
  for (int pid : r.children) ::kill(pid, SIGKILL);
  for (int pid : r.children) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  for (const auto& [path, n] : r.paths) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::signal(sig, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  std::raise(sig);  // ends the process by the signal
  std::_Exit(128 + sig);
}

}  // namespace

TempPath::TempPath(std::filesystem::path path) : m_path(std::move(path)) {
  Registry& r = registry();
  std::lock_guard<std::recursive_mutex> lock(r.mutex);
  ++r.paths[m_path.string()];
}

TempPath::~TempPath() {
  Registry& r = registry();
  std::lock_guard<std::recursive_mutex> lock(r.mutex);
  auto it = r.paths.find(m_path.string());
  if (it != r.paths.end() && --it->second == 0) r.paths.erase(it);
}

ChildProcess::ChildProcess(int pid) : m_pid(pid) {
  Registry& r = registry();
  std::lock_guard<std::recursive_mutex> lock(r.mutex);
  r.children.insert(pid);
}

ChildProcess::~ChildProcess() {
  Registry& r = registry();
  std::lock_guard<std::recursive_mutex> lock(r.mutex);
  r.children.erase(m_pid);
}

std::unique_lock<std::recursive_mutex> critical_section() {
  return std::unique_lock<std::recursive_mutex>(registry().mutex);
}

void install_interrupt_handler() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kSignals) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaddset(&set, sig);
  }
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(handle_signals, set).detach();
}

void restore_default_signals() {
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace lbsim::cleanup
