#include "sim/top/sweep.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "models/arch/arch_loader.h"
#include "models/core/error.h"
#include "models/core/input_file.h"
#include "models/core/json_text.h"
#include "models/core/output.h"
#include "models/core/progress.h"
#include "models/energy/energy_table.h"
#include "models/workload/resolve.h"
#include "reports/sweep_summary.h"
#include "sim/top/run.h"

namespace lbsim {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

constexpr const char* kManifest = "sweep.json";
constexpr const char* kResults = "results.jsonl";
constexpr const char* kResultsCsv = "results.csv";

// What one point runs, resolved in the parent before anything runs.
struct PointPlan {
  const SweepPoint* point = nullptr;
  ArchConfig arch;
  const EnergyTable* table = nullptr;
  std::string hash;
};

// A job: one simulation of one workload, serving every point of a sim group.
struct Job {
  std::vector<size_t> points;  // indices into the shard's PointPlan list
  size_t workload = 0;
  bool numerics = false;  // the numerics metric of these points, else their simulation
};

// Points with equal keys get equal numerics metrics: the formats (with every option), the
// accumulator and the conv dgrad lowering are all they depend on.
std::string numerics_key(const ArchConfig& a) {
  std::string k = a.pe.type + "\n";
  for (const FormatPtr& f : {a.pe.weight, a.pe.activation, a.pe.error})
    k += (f ? f->describe() : std::string("-")) + "\n";
  k += fmt::format("acc {} {} lowering {}\n", a.pe.accumulator.acc_bits,
                   static_cast<int>(a.pe.accumulator.policy),
                   static_cast<int>(a.mapping.dgrad_lowering));
  return k;
}

std::string point_prefix(const SweepPoint& p) {
  return fmt::format("point {} ({})", p.index, p.label());
}

// The metric columns, in results.csv order (energy_<component>_pj inserted after
// compute_pj_per_mac, components in name order).
const std::vector<std::string>& head_metrics() {
  static const std::vector<std::string> v = {
      "cycles", "latency_s", "utilization_fraction", "dram_read_bytes", "dram_write_bytes",
      "macs",   "energy_pj", "compute_energy_pj",    "pj_per_mac",      "compute_pj_per_mac"};
  return v;
}
const std::vector<std::string>& tail_metrics() {
  static const std::vector<std::string> v = {"sqnr_weight_db",       "sqnr_activation_db",
                                             "sqnr_error_db",        "gemm_rel_error_fwd",
                                             "gemm_rel_error_dgrad", "gemm_rel_error_wgrad"};
  return v;
}

json numerics_json(const NumericsQuality& q) {
  json j;
  j["sqnr_weight_db"] = q.sqnr_weight_db;
  j["sqnr_activation_db"] = q.sqnr_activation_db;
  j["sqnr_error_db"] = q.sqnr_error_db;
  j["gemm_rel_error_fwd"] = q.gemm_rel_error_fwd;
  j["gemm_rel_error_dgrad"] = q.gemm_rel_error_dgrad;
  j["gemm_rel_error_wgrad"] = q.gemm_rel_error_wgrad;
  j["tensors"] = q.tensors;
  return j;
}

// A record's metric values by column name (NaN when absent).
std::map<std::string, double> record_metrics(const nlohmann::json& w) {
  std::map<std::string, double> out;
  if (!w.contains("metrics")) return out;
  const RunMetrics m = metrics_from_json(w.at("metrics"));
  out["cycles"] = static_cast<double>(m.cycles);
  out["latency_s"] = m.latency_s;
  out["utilization_fraction"] = m.utilization;
  out["dram_read_bytes"] = static_cast<double>(m.dram_read_bytes);
  out["dram_write_bytes"] = static_cast<double>(m.dram_write_bytes);
  out["macs"] = static_cast<double>(m.macs);
  out["energy_pj"] = m.energy_pj;
  out["compute_energy_pj"] = m.compute_energy_pj;
  out["pj_per_mac"] = m.pj_per_mac();
  out["compute_pj_per_mac"] = m.compute_pj_per_mac();
  for (const auto& [c, pj] : m.energy_by_component_pj) out["energy_" + c + "_pj"] = pj;
  if (w.contains("numerics") && w.at("numerics").is_object())
    for (const auto& name : tail_metrics())
      if (w.at("numerics").contains(name) && w.at("numerics").at(name).is_number())
        out[name] = w.at("numerics").at(name).get<double>();
  return out;
}

// Reads results.jsonl: one JSON object per complete line. A last line without its newline (a
// write cut by a kill) is dropped and the file truncated to the last complete line.
std::vector<std::string> read_records(const fs::path& path, bool truncate_partial) {
  std::vector<std::string> lines;
  if (!fs::exists(path)) return lines;
  const std::string text = read_input_file(path.string());
  size_t at = 0, complete = 0;
  while (at < text.size()) {
    const size_t nl = text.find('\n', at);
    if (nl == std::string::npos) break;
    if (nl > at) lines.push_back(text.substr(at, nl - at));
    at = nl + 1;
    complete = at;
  }
  if (complete < text.size() && truncate_partial) {
    if (truncate(path.c_str(), static_cast<off_t>(complete)) != 0)
      throw UserError(fmt::format("{}: error: cannot truncate a partial last line", path.string()));
  }
  return lines;
}

// Appends one line with one write() and flushes it to disk.
class RecordLog {
 public:
  explicit RecordLog(const fs::path& path) : m_path(path) {
    m_fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (m_fd < 0)
      throw UserError(fmt::format("{}: error: cannot open for appending", path.string()));
  }
  ~RecordLog() {
    if (m_fd >= 0) close(m_fd);
  }
  void append(const std::string& line) {
    const std::string text = line + "\n";
    const char* p = text.data();
    size_t left = text.size();
    while (left > 0) {
      const ssize_t n = write(m_fd, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw UserError(fmt::format("{}: error: cannot append", m_path.string()));
      p += n;
      left -= static_cast<size_t>(n);
    }
    fdatasync(m_fd);
  }

 private:
  fs::path m_path;
  int m_fd = -1;
};

json manifest(const SweepSpec& spec, const std::vector<std::string>& labels, int64_t shard,
              int64_t shards, const std::string& sweep_hash, const std::string& version) {
  json m;
  m["format"] = "lbsim-sweep";
  m["format_version"] = 1;
  m["lbsim_version"] = version;
  m["name"] = spec.name;
  m["sweep_file"] = spec.file;
  m["sweep_hash"] = sweep_hash;
  m["points"] = spec.points.size();
  m["shard"] = shard;
  m["shards"] = shards;
  m["axes"] = spec.axis_names;
  m["workloads"] = labels;
  return m;
}

// The final files of a sweep directory from its records (sorted by point).
void finish_outputs(const fs::path& dir, const json& man, std::vector<std::string> records,
                    bool summary, OutputSet& out) {
  std::vector<std::pair<int64_t, std::string>> sorted;
  for (auto& r : records)
    sorted.emplace_back(nlohmann::json::parse(r).at("point").get<int64_t>(), r);
  std::sort(sorted.begin(), sorted.end());
  std::string jsonl;
  std::vector<std::string> lines;
  for (const auto& [i, r] : sorted) {
    jsonl += r + "\n";
    lines.push_back(r);
  }
  const SweepTable table = sweep_table_from_records(
      man.at("name").get<std::string>(), man.at("axes").get<std::vector<std::string>>(), lines);
  out.add(dir / kResults, jsonl);
  out.add(dir / kResultsCsv, sweep_results_csv(table));
  out.add(dir / kManifest, json_text(man, 2) + "\n");
  if (!summary) return;
  // The summary says which tensors the SQNR metric used (the first record that states it).
  reports::SweepSummaryOptions so;
  for (const auto& line : lines) {
    const nlohmann::json r = nlohmann::json::parse(line);
    for (const auto& w : r.at("workloads"))
      if (so.tensors.empty() && w.contains("numerics") && w.at("numerics").contains("tensors"))
        so.tensors = w.at("numerics").at("tensors").get<std::string>();
  }
  const reports::SweepSummary s = reports::sweep_summary(table, so);
  out.add(dir / "summary.md", s.md);
  out.add(dir / "summary.html", s.html);
  std::vector<std::pair<std::string, std::string>> figures;
  for (const auto& f : s.figures) figures.emplace_back(f.name, f.contents);
  out.add_directory(dir / "figures", std::move(figures));
}

// Adds a record's failed workloads to the outcome ("point 3 (m=1, e=2) resnet20: message").
void add_failures(const std::string& line, const std::vector<std::string>& axes,
                  SweepOutcome& outcome) {
  const nlohmann::json rec = nlohmann::json::parse(line);
  SweepPoint p;
  p.index = rec.at("point").get<int64_t>();
  p.axis_names = axes;
  p.axis_values = rec.at("axes").get<std::vector<std::string>>();
  bool failed = false;
  for (const auto& w : rec.at("workloads"))
    if (w.contains("error")) {
      failed = true;
      outcome.failures.push_back(fmt::format("{} {}: {}", point_prefix(p),
                                             w.at("workload").get<std::string>(),
                                             w.at("error").get<std::string>()));
    }
  outcome.points_failed += failed ? 1 : 0;
}

}  // namespace

SweepTable sweep_table_from_records(const std::string& name, const std::vector<std::string>& axes,
                                    const std::vector<std::string>& records_jsonl_lines) {
  SweepTable t;
  t.sweep_name = name;
  t.axis_names = axes;
  std::vector<nlohmann::json> recs;
  std::set<std::string> components;
  for (const auto& line : records_jsonl_lines) {
    recs.push_back(nlohmann::json::parse(line));
    for (const auto& w : recs.back().at("workloads"))
      if (w.contains("metrics"))
        for (const auto& [c, v] : w.at("metrics").at("energy_by_component_pj").items())
          components.insert(c);
  }
  t.metric_names = head_metrics();
  for (const auto& c : components) t.metric_names.push_back("energy_" + c + "_pj");
  for (const auto& n : tail_metrics()) t.metric_names.push_back(n);
  std::sort(recs.begin(), recs.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.at("point").get<int64_t>() < b.at("point").get<int64_t>();
  });
  for (const auto& r : recs) {
    for (const auto& w : r.at("workloads")) {
      SweepTable::Row row;
      row.point = r.at("point").get<int64_t>();
      row.workload = w.at("workload").get<std::string>();
      row.axis_values = r.at("axes").get<std::vector<std::string>>();
      if (w.contains("error")) row.error = w.at("error").get<std::string>();
      const std::map<std::string, double> m = record_metrics(w);
      for (const auto& n : t.metric_names) {
        const auto it = m.find(n);
        row.metrics.push_back(it == m.end() ? std::nan("") : it->second);
      }
      t.rows.push_back(std::move(row));
    }
  }
  return t;
}

SweepOutcome run_sweep(const SweepSpec& spec, const SweepOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.shards < 1 || o.shard < 0 || o.shard >= o.shards)
    throw UserError(
        fmt::format("error: --shard {}/{}: K must be in [0, N-1] and N >= 1", o.shard, o.shards));
  // 1. Validate everything before anything runs.
  std::vector<Workload> workloads;
  std::vector<std::string> labels;
  std::string workload_identity;
  for (const SweepWorkload& w : spec.workloads) {
    try {
      workloads.push_back(resolve_workload(w.spec, w.batch));
    } catch (const UserError& e) {
      throw UserError(fmt::format("{}: error: workloads: {}: {}", w.loc.str(), w.label, e.what()));
    }
    labels.push_back(w.label);
    workload_identity += fmt::format("workload {} batch {} label {}\n", w.spec, w.batch, w.label);
    if (fs::is_regular_file(w.spec)) workload_identity += read_input_file(w.spec) + "\n";
  }
  const std::string arch_text =
      spec.arch.empty() ? default_arch_yaml() : read_input_file(spec.arch);
  std::map<std::pair<std::string, int64_t>, std::unique_ptr<EnergyTable>> tables;
  std::map<std::string, std::string> table_texts;
  std::vector<PointPlan> plans;
  std::string errors;
  int n_errors = 0;
  for (const SweepPoint& p : spec.points) {
    if (p.index % o.shards != o.shard) continue;
    PointPlan plan;
    plan.point = &p;
    try {
      std::vector<ArchOverride> ov;
      for (size_t i = 0; i < p.params.size(); ++i) ov.push_back({p.params[i], p.param_locs[i]});
      plan.arch = load_arch_or_default(spec.arch, ov);
      const auto key = std::make_pair(p.energy_table, p.energy_node);
      if (!tables.count(key)) {
        std::vector<std::string> tov;
        if (p.energy_node > 0) tov.push_back(fmt::format("node={}", p.energy_node));
        tables[key] = std::make_unique<EnergyTable>(p.energy_table.empty()
                                                        ? EnergyTable::builtin(tov)
                                                        : EnergyTable::load(p.energy_table, tov));
        if (!p.energy_table.empty() && !table_texts.count(p.energy_table))
          table_texts[p.energy_table] = read_input_file(p.energy_table);
      }
      plan.table = tables[key].get();
    } catch (const UserError& e) {
      if (++n_errors <= 10) errors += fmt::format("{}: {}\n", point_prefix(p), e.what());
      continue;
    }
    std::string identity = "lbsim sweep point v1\narch\n" + arch_text + "\nparams\n";
    for (const auto& q : p.params) identity += q + "\n";
    identity += fmt::format("energy {} node {}\n",
                            p.energy_table.empty() ? "builtin" : p.energy_table, p.energy_node);
    if (!p.energy_table.empty()) identity += table_texts[p.energy_table] + "\n";
    identity += workload_identity;
    identity += fmt::format("numerics {} data {} max_macs {} seed {}\n", spec.numerics,
                            spec.numerics_options.data_dir, spec.numerics_options.max_macs,
                            spec.numerics_options.seed);
    plan.hash = fnv1a_hex(identity);
    plans.push_back(std::move(plan));
  }
  if (n_errors > 0) {
    if (n_errors > 10) errors += fmt::format("... and {} more bad points\n", n_errors - 10);
    errors.pop_back();
    throw UserError(fmt::format("{}: error: {} of {} points are invalid:\n{}", spec.file, n_errors,
                                spec.points.size(), errors));
  }
  const std::string sweep_hash = fnv1a_hex(o.sweep_file_text);
  const json man = manifest(spec, labels, o.shard, o.shards, sweep_hash, o.version);

  // 2. The output directory: fresh, or resumed.
  const fs::path dir(o.out_dir);
  const fs::path results = dir / kResults;
  std::map<int64_t, std::string> done;  // point -> its record line
  if (fs::exists(results) || fs::exists(dir / kManifest)) {
    if (!o.resume)
      throw UserError(
          fmt::format("{}: error: holds a sweep already ({}); use --resume to continue "
                      "it, or another --out",
                      o.out_dir, kResults));
    const std::string old_text = read_input_file((dir / kManifest).string());
    const nlohmann::json old = nlohmann::json::parse(old_text, nullptr, false);
    if (old.is_discarded() || !old.contains("sweep_hash"))
      throw UserError(fmt::format("{}: error: not a sweep manifest", (dir / kManifest).string()));
    if (old.at("sweep_hash") != sweep_hash)
      throw UserError(
          fmt::format("{}: error: the sweep file changed since this directory was "
                      "started (hash {} there, {} now): refusing to resume; use another "
                      "--out",
                      o.out_dir, old.at("sweep_hash").get<std::string>(), sweep_hash));
    if (old.at("shard") != o.shard || old.at("shards") != o.shards)
      throw UserError(fmt::format("{}: error: holds shard {}/{}, not {}/{}", o.out_dir,
                                  json_text(old.at("shard")), json_text(old.at("shards")), o.shard,
                                  o.shards));
    std::map<int64_t, const PointPlan*> by_index;
    for (const auto& p : plans) by_index[p.point->index] = &p;
    for (const std::string& line : read_records(results, true)) {
      const nlohmann::json r = nlohmann::json::parse(line, nullptr, false);
      if (r.is_discarded() || !r.contains("point") || !r.contains("hash"))
        throw UserError(fmt::format("{}: error: a malformed record: {}", results.string(), line));
      const int64_t i = r.at("point").get<int64_t>();
      const auto it = by_index.find(i);
      if (it == by_index.end() || it->second->hash != r.at("hash").get<std::string>())
        throw UserError(
            fmt::format("{}: error: point {} was recorded with another configuration "
                        "(a file the sweep reads changed): refusing to resume",
                        results.string(), i));
      done.emplace(i, line);
    }
  } else {
    ensure_output_dir(dir);
    write_output_file(dir / kManifest, json_text(man, 2) + "\n");
  }

  // 3. Jobs: one simulation per (sim group, workload) with points left to run, and one numerics
  // evaluation per (numerics key, workload): points with the same formats, accumulator and
  // lowering share it (array shapes, buffers and energy tables do not change the arithmetic).
  std::vector<Job> jobs;
  {
    std::map<std::string, std::vector<size_t>> groups, numerics;
    std::vector<std::string> order, numerics_order;
    for (size_t i = 0; i < plans.size(); ++i) {
      if (done.count(plans[i].point->index)) continue;
      const std::string& key = plans[i].point->sim_key;
      if (!groups.count(key)) order.push_back(key);
      groups[key].push_back(i);
      if (spec.numerics) {
        const std::string nkey = numerics_key(plans[i].arch);
        if (!numerics.count(nkey)) numerics_order.push_back(nkey);
        numerics[nkey].push_back(i);
      }
    }
    for (const auto& key : order)
      for (size_t w = 0; w < workloads.size(); ++w) jobs.push_back(Job{groups[key], w, false});
    for (const auto& key : numerics_order)
      for (size_t w = 0; w < workloads.size(); ++w) jobs.push_back(Job{numerics[key], w, true});
  }
  SweepOutcome outcome;
  outcome.points_total = static_cast<int64_t>(spec.points.size());
  outcome.points_shard = static_cast<int64_t>(plans.size());
  outcome.points_resumed = static_cast<int64_t>(done.size());

  // Per point: one entry per workload, filled as its jobs finish.
  std::map<size_t, std::vector<json>> partial;
  std::map<size_t, size_t> remaining;
  for (const Job& j : jobs)
    for (size_t p : j.points) {
      if (!partial.count(p)) {
        partial[p].resize(workloads.size());
        for (size_t w = 0; w < workloads.size(); ++w) partial[p][w]["workload"] = labels[w];
      }
      remaining[p] += 1;
    }
  RecordLog log(results);
  Progress progress("sweep", "points", outcome.points_shard, o.tty, o.quiet);
  progress.update(outcome.points_resumed, "", ", 0 failed");
  int64_t finished = outcome.points_resumed, failed_now = 0;

  const int n_jobs =
      o.jobs > 0 ? o.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ChildPool pool(n_jobs);
  outcome.jobs = n_jobs;
  size_t next = 0;
  while (next < jobs.size() || !pool.idle()) {
    while (next < jobs.size() && !pool.full()) {
      const Job& job = jobs[next];
      pool.start(static_cast<int64_t>(next), [&, job] {
        const PointPlan& first = plans[job.points[0]];
        if (job.numerics)
          return json_text(numerics_json(
              numerics_quality(first.arch, workloads[job.workload], spec.numerics_options)));
        RunRequest req;
        req.arch = first.arch;
        req.workload = workloads[job.workload];
        req.workload_spec = spec.workloads[job.workload].spec;
        const RunOutcome run = run_once(std::move(req), *first.table);
        json per_point = json::array();
        for (size_t p : job.points) {
          const EnergyReport energy = plans[p].table == first.table
                                          ? run.energy
                                          : cost_actions(run.actions, *plans[p].table);
          per_point.push_back(metrics_json(run_metrics(run, energy)));
        }
        return json_text(per_point);
      });
      ++next;
    }
    const ChildPool::Done d = pool.wait_any();
    outcome.worker_max_rss_kib = std::max(outcome.worker_max_rss_kib, d.max_rss_kib);
    outcome.worker_cpu_s += d.cpu_s;
    ++outcome.jobs_run;
    const Job& job = jobs[static_cast<size_t>(d.id)];
    nlohmann::json result;
    std::string error;
    if (d.ok) {
      result = nlohmann::json::parse(d.text, nullptr, false);
      if (result.is_discarded()) error = "the worker returned malformed results";
    } else {
      error = d.text;
    }
    for (size_t k = 0; k < job.points.size(); ++k) {
      const size_t p = job.points[k];
      json& w = partial[p][job.workload];
      if (!error.empty()) {
        // A simulation error wins over a numerics error (it is what made the point fail).
        if (!w.contains("error") || !job.numerics)
          w["error"] = job.numerics ? "numerics: " + error : error;
      } else if (job.numerics) {
        w["numerics"] = result;
      } else {
        w["metrics"] = result.at(k);
      }
      if (--remaining[p] > 0) continue;
      // Every job of the point is in: record it (keys in a fixed order: byte-stable lines).
      const SweepPoint& sp = *plans[p].point;
      json ws = json::array();
      bool failed = false;
      for (const json& x : partial[p]) {
        json o2;
        o2["workload"] = x.at("workload");
        if (x.contains("metrics")) o2["metrics"] = x.at("metrics");
        if (x.contains("numerics")) o2["numerics"] = x.at("numerics");
        if (x.contains("error")) {
          o2["error"] = x.at("error");
          failed = true;
        }
        ws.push_back(o2);
      }
      json rec;
      rec["point"] = sp.index;
      rec["hash"] = plans[p].hash;
      rec["axes"] = sp.axis_values;
      rec["workloads"] = ws;
      const std::string line = json_text(rec);
      log.append(line);
      done.emplace(sp.index, line);
      partial.erase(p);
      ++outcome.points_run;
      ++finished;
      failed_now += failed ? 1 : 0;
      progress.update(finished, "", fmt::format(", {} failed", failed_now));
    }
  }
  // Failures, resumed points included (their records say so), in point order.
  for (const auto& [i, line] : done) add_failures(line, spec.axis_names, outcome);

  // 4. Final files, all or nothing.
  std::vector<std::string> records;
  for (const auto& [i, line] : done) records.push_back(line);
  OutputSet out;
  finish_outputs(dir, man, records, o.summary, out);
  out.commit();
  outcome.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return outcome;
}

SweepOutcome merge_sweeps(const std::vector<std::string>& dirs, const std::string& out_dir,
                          bool summary, const std::string& version) {
  const auto t0 = std::chrono::steady_clock::now();
  if (dirs.empty()) throw UserError("error: sweep-merge needs at least one shard directory");
  nlohmann::json first;
  std::set<int64_t> shards_seen;
  std::map<int64_t, std::string> records;
  SweepOutcome outcome;
  for (const std::string& d : dirs) {
    const fs::path m = fs::path(d) / kManifest;
    const nlohmann::json man = nlohmann::json::parse(read_input_file(m.string()), nullptr, false);
    if (man.is_discarded() || man.value("format", "") != "lbsim-sweep")
      throw UserError(fmt::format("{}: error: not a sweep manifest", m.string()));
    if (first.is_null()) first = man;
    if (man.at("sweep_hash") != first.at("sweep_hash"))
      throw UserError(fmt::format("{}: error: comes from another sweep file (hash {}, {} has {})",
                                  d, man.at("sweep_hash").get<std::string>(), dirs[0],
                                  first.at("sweep_hash").get<std::string>()));
    if (man.at("shards") != first.at("shards"))
      throw UserError(fmt::format("{}: error: was run as one of {} shards, {} as one of {}", d,
                                  json_text(man.at("shards")), dirs[0],
                                  json_text(first.at("shards"))));
    const int64_t k = man.at("shard").get<int64_t>();
    if (!shards_seen.insert(k).second)
      throw UserError(fmt::format("{}: error: shard {} is given twice", d, k));
    for (const std::string& line : read_records(fs::path(d) / kResults, false)) {
      const int64_t i = nlohmann::json::parse(line).at("point").get<int64_t>();
      if (!records.emplace(i, line).second)
        throw UserError(fmt::format("{}: error: point {} is recorded twice", d, i));
    }
  }
  const int64_t shards = first.at("shards").get<int64_t>();
  const int64_t total = first.at("points").get<int64_t>();
  for (int64_t k = 0; k < shards; ++k)
    if (!shards_seen.count(k))
      throw UserError(
          fmt::format("error: shard {}/{} is missing from the directories given", k, shards));
  for (int64_t i = 0; i < total; ++i)
    if (!records.count(i))
      throw UserError(
          fmt::format("error: point {} of {} is missing (is its shard finished?)", i, total));
  for (const auto& [i, line] : records)
    add_failures(line, first.at("axes").get<std::vector<std::string>>(), outcome);
  json man = first;
  man["lbsim_version"] = version;
  man["shard"] = 0;
  man["shards"] = 1;
  const fs::path dir(out_dir);
  ensure_output_dir(dir);
  if (fs::exists(dir / kResults))
    throw UserError(fmt::format("{}: error: holds a sweep already ({}); merge into another --out",
                                out_dir, kResults));
  std::vector<std::string> lines;
  for (const auto& [i, line] : records) lines.push_back(line);
  OutputSet out;
  finish_outputs(dir, man, lines, summary, out);
  out.commit();
  outcome.points_total = total;
  outcome.points_shard = total;
  outcome.points_run = total;
  outcome.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return outcome;
}

std::string emit_slurm(const SweepSpec& spec, const SlurmOptions& o) {
  if (o.shards < 1) throw UserError("error: --shards must be >= 1");
  const fs::path dir(o.dir);
  ensure_output_dir(dir);
  const std::string part = o.partition.empty() ? "" : "#SBATCH --partition=" + o.partition + "\n";
  const std::string sweep = fmt::format(
      "#!/bin/bash\n"
      "# lbsim sweep '{name}' as a Slurm job array: task K runs shard K of {n}.\n"
      "# Generated by lbsim sweep --emit-slurm; submit with submit.sh.\n"
      "#SBATCH --job-name=lbsim-{name}\n"
      "#SBATCH --array=0-{last}\n"
      "#SBATCH --cpus-per-task={cpus}\n"
      "#SBATCH --time={time}\n"
      "{part}"
      "#SBATCH --output={logs}/shard-%a.out\n"
      "set -euo pipefail\n"
      "exec '{lbsim}' sweep '{file}' --shard \"${{SLURM_ARRAY_TASK_ID}}/{n}\" "
      "--jobs \"${{SLURM_CPUS_PER_TASK:-{cpus}}}\" --out "
      "'{out}/shard-'\"${{SLURM_ARRAY_TASK_ID}}\" "
      "--resume --no-summary\n",
      fmt::arg("name", spec.name), fmt::arg("n", o.shards), fmt::arg("last", o.shards - 1),
      fmt::arg("cpus", o.cpus_per_task), fmt::arg("time", o.time), fmt::arg("part", part),
      fmt::arg("logs", (dir / "logs").string()), fmt::arg("lbsim", o.lbsim),
      fmt::arg("file", o.sweep_file), fmt::arg("out", o.out_dir));
  std::string shard_dirs;
  for (int64_t k = 0; k < o.shards; ++k) shard_dirs += fmt::format(" '{}/shard-{}'", o.out_dir, k);
  const std::string merge = fmt::format(
      "#!/bin/bash\n"
      "# Joins the {n} shards of lbsim sweep '{name}' (runs after the array: afterok).\n"
      "#SBATCH --job-name=lbsim-{name}-merge\n"
      "#SBATCH --cpus-per-task=1\n"
      "#SBATCH --time={time}\n"
      "{part}"
      "#SBATCH --output={logs}/merge.out\n"
      "set -euo pipefail\n"
      "exec '{lbsim}' sweep-merge{dirs} --out '{out}/merged'\n",
      fmt::arg("name", spec.name), fmt::arg("n", o.shards), fmt::arg("time", o.time),
      fmt::arg("part", part), fmt::arg("logs", (dir / "logs").string()), fmt::arg("lbsim", o.lbsim),
      fmt::arg("dirs", shard_dirs), fmt::arg("out", o.out_dir));
  const std::string submit = fmt::format(
      "#!/bin/bash\n"
      "# Submits the sweep's job array, then the merge job that waits for it (afterok).\n"
      "set -euo pipefail\n"
      "array=$(sbatch --parsable '{dir}/sweep.sbatch')\n"
      "sbatch --parsable --dependency=afterok:\"${{array%%;*}}\" '{dir}/merge.sbatch'\n",
      fmt::arg("dir", dir.string()));
  ensure_output_dir(dir / "logs");
  OutputSet out;
  out.add(dir / "sweep.sbatch", sweep);
  out.add(dir / "merge.sbatch", merge);
  out.add(dir / "submit.sh", submit);
  out.commit();
  return fmt::format(
      "array=$(sbatch --parsable {0}/sweep.sbatch)\n"
      "sbatch --dependency=afterok:${{array%%;*}} {0}/merge.sbatch\n",
      dir.string());
}

}  // namespace lbsim
