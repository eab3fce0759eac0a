#include "models/core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace lbsim {

namespace {
std::string duration(double s) {
  const auto t = static_cast<int64_t>(std::llround(s));
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}
}  // namespace

Progress::Progress(std::string command, std::string unit, int64_t total, bool tty, bool quiet)
    : m_command(std::move(command)),
      m_unit(std::move(unit)),
      m_total(total),
      m_tty(tty),
      m_quiet(quiet),
      m_start(std::chrono::steady_clock::now()) {}

bool Progress::stderr_is_tty() { return isatty(STDERR_FILENO) != 0; }

void Progress::update(int64_t done, const std::string& phase, const std::string& extra) {
  if (m_quiet || m_total <= 0) return;
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  const double rate = s > 0 ? static_cast<double>(done) / s : 0.0;
  const double eta = rate > 0 ? static_cast<double>(m_total - done) / rate : 0.0;
  const std::string counts = fmt::format("{}/{} {}, {:.3g} {}/s, ETA {}{}", done, m_total, m_unit,
                                         rate, m_unit, duration(eta), extra);
  if (m_tty) {
    const int width = 30;
    const int filled = static_cast<int>(width * std::min(done, m_total) / m_total);
    std::fprintf(stderr, "\r[%s%s] %s%s\x1b[K",
                 std::string(static_cast<size_t>(filled), '#').c_str(),
                 std::string(static_cast<size_t>(width - filled), '.').c_str(), counts.c_str(),
                 phase.empty() ? "" : (" (" + phase + ")").c_str());
    if (done >= m_total) std::fprintf(stderr, "\n");
  } else if (!phase.empty()) {
    // A line per phase: when a new phase starts, the previous one is complete.
    if (phase != m_phase && !m_phase.empty())
      std::fprintf(stderr, "%s: %s done, %s\n", m_command.c_str(), m_phase.c_str(), counts.c_str());
    if (done >= m_total)
      std::fprintf(stderr, "%s: %s done, %s\n", m_command.c_str(), phase.c_str(), counts.c_str());
  } else {
    const int64_t step = std::max<int64_t>(1, m_total / 20);
    if (done >= m_total || done / step != m_last / step)
      std::fprintf(stderr, "%s: %s\n", m_command.c_str(), counts.c_str());
  }
  m_phase = phase;
  m_last = done;
  std::fflush(stderr);
}

}  // namespace lbsim
