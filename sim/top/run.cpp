#include "sim/top/run.h"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include "models/core/cleanup.h"
#include "models/core/error.h"
#include "models/core/json_text.h"
#include "models/core/output.h"
#include "models/sim_plan/sim_plan.h"

namespace lbsim {

RunOutcome run_once(RunRequest request, const EnergyTable& table) {
  // User errors come before SystemC; they name the workload the layer is from.
  SimPlan plan = [&] {
    try {
      return plan_simulation(request.arch, request.workload);
    } catch (const UserError& e) {
      if (request.workload_spec.empty()) throw;
      throw UserError(fmt::format("{}: error: {}", request.workload_spec, e.what()));
    }
  }();
  RunOutcome out;
  out.actions = count_actions(plan, request.arch);
  out.energy = cost_actions(out.actions, table, request.allow_missing_costs);
  out.sim = simulate(request.arch, request.workload, std::move(plan), request.sim);
  out.request = std::move(request);
  return out;
}

std::string run_stats_json(const RunOutcome& run, const EnergyTable& table) {
  RunInfo info;
  info.workload_spec = run.request.workload_spec;
  info.precision_map = run.request.precision_map;
  info.version = run.request.version;
  info.overrides = run.request.overrides;
  info.energy_file = table.file();
  info.energy_node = table.node();
  info.energy_hash = table.text_hash();
  info.allow_missing_costs = run.request.allow_missing_costs;
  return stats_json(run.request.arch, run.request.workload, info, run.sim);
}

std::string add_run_outputs(const RunOutcome& run, const EnergyTable& table,
                            const reports::TrainingOptions& training, const std::string& dir,
                            OutputSet& out, reports::GnuplotProcess* gnuplot) {
  const std::string json = run_stats_json(run, table);
  const std::string csv = layers_csv(run.sim.rows);
  // report.json / report.md / report.html: built before anything is written.
  const reports::ReportInput input = reports::build_report_input(
      json, csv, run.energy, table, training, run.request.workload.smp_samples);
  const reports::ReportFiles report_files =
      gnuplot ? reports::make_reports(input, *gnuplot) : reports::make_reports(input);
  const std::filesystem::path d(dir);
  out.add(d / "stats.json", json);
  out.add(d / "layers.csv", csv);
  out.add(d / "actions.csv", actions_csv(run.actions));
  out.add(d / "energy.csv", energy_csv(run.energy));
  out.add(d / "energy_actions.csv", energy_actions_csv(run.energy));
  if (run.sim.cycle_fidelity) out.add(d / "pe_activity.csv", run.sim.pe_activity.csv());
  reports::add_reports(dir, report_files, &out);
  return reports::written_line(dir, report_files);
}

bool is_run_output_name(const std::string& name) {
  static const char* const kNames[] = {
      "stats.json",      "layers.csv",  "actions.csv", "energy.csv",  "energy_actions.csv",
      "pe_activity.csv", "report.json", "report.md",   "report.html", "figures"};
  for (const char* n : kNames)
    if (name == n) return true;
  return false;
}

Recost recost_run(const std::string& run_dir, const EnergyTable& table,
                  const reports::TrainingOptions& training, bool allow_missing_costs,
                  const std::string& out_dir, OutputSet& out) {
  const std::filesystem::path dir(run_dir), to(out_dir);
  const std::filesystem::path actions_path = dir / "actions.csv";
  const std::string actions_text = reports::read_run_file(actions_path);
  const std::vector<OpActions> ops = parse_actions_csv(actions_text, actions_path.string());
  Recost r;
  r.energy = cost_actions(ops, table, allow_missing_costs);
  r.ops = ops.size();
  // stats.json: the run's own, with the energy table it is now costed with.
  const std::filesystem::path stats_path = dir / "stats.json";
  auto stats = nlohmann::ordered_json::parse(reports::read_run_file(stats_path), nullptr, false);
  if (stats.is_discarded() || !stats.is_object() || !stats.contains("run") ||
      !stats["run"].is_object())
    throw UserError(fmt::format("{}: error: not the stats.json of lbsim run (no \"run\" object)",
                                stats_path.string()));
  RunInfo costed;
  costed.energy_file = table.file();
  costed.energy_node = table.node();
  costed.energy_hash = table.text_hash();
  costed.allow_missing_costs = allow_missing_costs;
  stats["run"]["energy_table"] = energy_table_json(costed);
  const std::string stats_text = json_text(stats, 2) + "\n";
  reports::check_training_options(training);
  const reports::ReportFiles report_files =
      reports::regenerate_reports(run_dir, stats_text, r.energy, table, training);
  out.add(to / "stats.json", stats_text);
  out.add(to / "layers.csv", reports::read_run_file(dir / "layers.csv"));
  out.add(to / "actions.csv", actions_text);
  out.add(to / "energy.csv", energy_csv(r.energy));
  out.add(to / "energy_actions.csv", energy_actions_csv(r.energy));
  if (std::filesystem::exists(dir / "pe_activity.csv"))
    out.add(to / "pe_activity.csv", reports::read_run_file(dir / "pe_activity.csv"));
  reports::add_reports(out_dir, report_files, &out);
  r.reports_line = reports::written_line(out_dir, report_files);
  return r;
}

RunMetrics run_metrics(const RunOutcome& run, const EnergyReport& energy) {
  RunMetrics m;
  const RunResult& r = run.sim;
  m.cycles = r.total_cycles;
  m.compute_cycles = r.compute_cycles;
  m.macs = r.total_macs;
  m.latency_s = static_cast<double>(r.total_cycles) / (run.request.arch.clock_mhz * 1e6);
  m.utilization = r.utilization;
  m.dram_read_bytes = r.dram_read_bytes;
  m.dram_write_bytes = r.dram_write_bytes;
  m.energy_pj = energy.total_pj;
  m.energy_by_component_pj = energy.by_component;
  const auto pe = energy.by_component.find("pe_array");
  m.compute_energy_pj = pe == energy.by_component.end() ? 0.0 : pe->second;
  for (const auto& [action, count] : energy.uncosted) m.uncosted_actions += count;
  return m;
}

nlohmann::ordered_json metrics_json(const RunMetrics& m) {
  nlohmann::ordered_json j;
  j["cycles"] = m.cycles;
  j["compute_cycles"] = m.compute_cycles;
  j["macs"] = m.macs;
  j["latency_s"] = m.latency_s;
  j["utilization_fraction"] = m.utilization;
  j["dram_read_bytes"] = m.dram_read_bytes;
  j["dram_write_bytes"] = m.dram_write_bytes;
  j["energy_pj"] = m.energy_pj;
  j["compute_energy_pj"] = m.compute_energy_pj;
  j["energy_by_component_pj"] = m.energy_by_component_pj;
  j["uncosted_actions"] = m.uncosted_actions;
  return j;
}

RunMetrics metrics_from_json(const nlohmann::json& j) {
  RunMetrics m;
  m.cycles = j.at("cycles").get<int64_t>();
  m.compute_cycles = j.at("compute_cycles").get<int64_t>();
  m.macs = j.at("macs").get<int64_t>();
  m.latency_s = j.at("latency_s").get<double>();
  m.utilization = j.at("utilization_fraction").get<double>();
  m.dram_read_bytes = j.at("dram_read_bytes").get<int64_t>();
  m.dram_write_bytes = j.at("dram_write_bytes").get<int64_t>();
  m.energy_pj = j.at("energy_pj").get<double>();
  m.compute_energy_pj = j.at("compute_energy_pj").get<double>();
  m.energy_by_component_pj = j.at("energy_by_component_pj").get<std::map<std::string, double>>();
  m.uncosted_actions = j.at("uncosted_actions").get<int64_t>();
  return m;
}

// ---- worker processes ----

namespace {

// Writes all of `data` (EINTR and partial writes retried); false on error.
bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

ChildPool::ChildPool(int jobs) : m_jobs(jobs < 1 ? 1 : jobs) {}

ChildPool::~ChildPool() {
  for (Running& r : m_running) {
    kill(r.pid, SIGKILL);
    int status = 0;
    while (waitpid(r.pid, &status, 0) < 0 && errno == EINTR) {
    }
    close(r.fd);
  }
}

void ChildPool::start(int64_t id, const std::function<std::string()>& work) {
  int fd[2];
  if (pipe(fd) != 0) throw UserError(fmt::format("error: pipe() failed: {}", std::strerror(errno)));
  std::fflush(nullptr);  // nothing buffered is written twice
  // Forked and registered as one step: an interrupt between the two would miss the worker.
  auto forking = cleanup::critical_section();
  const pid_t pid = fork();
  if (pid < 0) {
    close(fd[0]);
    close(fd[1]);
    throw UserError(fmt::format("error: fork() failed: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    cleanup::restore_default_signals();  // an interrupt ends a worker by the signal's action
    close(fd[0]);
    for (const Running& r : m_running) close(r.fd);
    std::string msg;
    char tag = 'O';
    try {
      msg = work();
    } catch (const std::exception& e) {
      tag = 'E';
      msg = e.what();
    } catch (...) {
      tag = 'E';
      msg = "unknown exception";
    }
    const bool ok = write_all(fd[1], &tag, 1) && write_all(fd[1], msg.data(), msg.size());
    close(fd[1]);
    std::fflush(nullptr);
    _exit(ok ? 0 : 3);
  }
  close(fd[1]);
  m_running.push_back(
      Running{id, pid, fd[0], {}, false, std::make_shared<cleanup::ChildProcess>(pid)});
  forking.unlock();
}

ChildPool::Done ChildPool::reap(size_t index) {
  Running r = std::move(m_running[index]);
  m_running.erase(m_running.begin() + static_cast<std::ptrdiff_t>(index));
  close(r.fd);
  int status = 0;
  struct rusage usage {};
  {
    const auto reaping = cleanup::critical_section();  // reaped and unregistered as one step
    while (wait4(r.pid, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    r.registered.reset();
  }
  Done d;
  d.id = r.id;
  d.max_rss_kib = usage.ru_maxrss;
  d.cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
            1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
  if (!r.buffer.empty() && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    d.ok = r.buffer[0] == 'O';
    d.text = r.buffer.substr(1);
  } else if (WIFSIGNALED(status)) {
    d.text = fmt::format("the worker process was killed by signal {} ({})", WTERMSIG(status),
                         strsignal(WTERMSIG(status)));
  } else {
    d.text = fmt::format("the worker process exited with code {}",
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  return d;
}

ChildPool::Done ChildPool::wait_any() {
  if (m_running.empty()) throw std::logic_error("ChildPool::wait_any(): nothing is running");
  std::vector<pollfd> fds;
  char chunk[65536];
  while (true) {
    fds.clear();
    for (const Running& r : m_running) fds.push_back(pollfd{r.fd, POLLIN, 0});
    const int n = poll(fds.data(), fds.size(), -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error("poll() failed");
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t got = read(m_running[i].fd, chunk, sizeof chunk);
      if (got < 0 && errno == EINTR) continue;
      if (got > 0) {
        m_running[i].buffer.append(chunk, static_cast<size_t>(got));
        continue;
      }
      return reap(i);  // EOF (or a read error): the child is done
    }
  }
}

std::string run_in_child(const std::function<std::string()>& work) {
  ChildPool pool(1);
  pool.start(0, work);
  ChildPool::Done d = pool.wait_any();
  if (!d.ok) throw UserError(d.text);
  return d.text;
}

}  // namespace lbsim
