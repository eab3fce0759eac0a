#include "reports/gnuplot.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "models/core/error.h"

extern char** environ;

namespace lbsim::reports {

namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

}  // namespace

std::string gp_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The full path of `prog` (as execvp would find it), "" when not found.
std::string find_executable(const std::string& prog) {
  if (prog.find('/') != std::string::npos) return ::access(prog.c_str(), X_OK) == 0 ? prog : "";
  const char* path = std::getenv("PATH");
  if (!path) return "";
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) dir = ".";
    const std::string full = (std::filesystem::path(dir) / prog).string();
    if (::access(full.c_str(), X_OK) == 0) return full;
  }
  return "";
}

// The <svg ...>...</svg> element of gnuplot's output, ids made unique with `prefix`.
std::string inline_svg(const std::string& svg, const std::string& prefix) {
  const size_t start = svg.find("<svg");
  if (start == std::string::npos) return std::string();
  std::string s = svg.substr(start);
  replace_all(s, "id='", "id='" + prefix);
  replace_all(s, "id=\"", "id=\"" + prefix);
  replace_all(s, "href='#", "href='#" + prefix);
  replace_all(s, "href=\"#", "href=\"#" + prefix);
  replace_all(s, "url(#", "url(#" + prefix);
  return s;
}

TempDir::TempDir(const std::string& stem) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (stem + "-XXXXXX")).string();
  const auto creating = cleanup::critical_section();  // created and registered as one step
  if (!::mkdtemp(tmpl.data()))
    throw UserError(fmt::format("error: cannot create a temporary directory ({})", tmpl));
  path = tmpl;
  m_registered = std::make_unique<cleanup::TempPath>(path);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

namespace {

// Writes all of `bytes` to the pipe `fd`; false when the reader is gone (EPIPE: the SIGPIPE that
// comes with it is blocked and consumed here, so a dead gnuplot is an error, not a dead lbsim).
bool write_pipe(int fd, const std::string& bytes) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  size_t done = 0;
  bool ok = true;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (!ok && errno == EPIPE) {
    const timespec zero{0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return ok;
}

}  // namespace

GnuplotProcess::GnuplotProcess(const std::string& program)
    : m_program(program), m_exe(find_executable(program)), m_dir("lbsim-gnuplot") {
  if (m_exe.empty()) return;
  int fd[2];
  if (::pipe2(fd, O_CLOEXEC) != 0)
    throw UserError(
        fmt::format("error: cannot start {}: pipe() failed: {}", m_exe, std::strerror(errno)));
  const std::string log = (m_dir.path / "gnuplot.log").string();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd[0], 0);  // dup2 clears O_CLOEXEC on stdin
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addchdir_np(&fa, m_dir.path.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args = {const_cast<char*>(m_exe.c_str()), nullptr};
  pid_t pid = 0;
  const int err = posix_spawn(&pid, m_exe.c_str(), &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(fd[0]);
  if (err != 0) {
    ::close(fd[1]);
    throw UserError(fmt::format("error: cannot start {}: {}", m_exe, std::strerror(err)));
  }
  m_pid = pid;
  m_in = fd[1];
  m_registered = std::make_unique<cleanup::ChildProcess>(pid);
}

GnuplotProcess::~GnuplotProcess() {
  if (m_pid > 0) ::kill(m_pid, SIGKILL);
  stop();
}

// Ends gnuplot's input and reaps it; m_status is its exit status (-1 when it was killed).
void GnuplotProcess::stop() {
  if (m_in >= 0) ::close(m_in);
  m_in = -1;
  if (m_pid <= 0) return;
  int status = 0;
  const auto reaping = cleanup::critical_section();  // reaped and unregistered as one step
  while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
  }
  m_registered.reset();
  m_pid = -1;
  m_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool GnuplotProcess::draw(const std::vector<std::pair<std::string, std::string>>& files,
                          const std::string& commands) {
  if (m_pid <= 0) throw std::logic_error("GnuplotProcess::draw: no process (or drawn twice)");
  for (const auto& [name, bytes] : files) {
    std::ofstream f(m_dir.path / name, std::ios::binary);
    f << bytes;
    if (!f) throw UserError(fmt::format("error: cannot write {}", (m_dir.path / name).string()));
  }
  const bool sent = write_pipe(m_in, commands);
  stop();
  return sent && m_status == 0;
}

std::string GnuplotProcess::log() const { return read_file(m_dir.path / "gnuplot.log"); }

}  // namespace lbsim::reports
