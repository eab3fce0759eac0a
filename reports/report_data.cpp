// layers.csv parsing, the derived per layer x phase aggregates and the whole-training estimate
// (reports/report.h).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "models/core/error.h"
#include "models/core/input_file.h"
#include "models/core/json_text.h"
#include "models/energy/actions.h"
#include "reports/report.h"

namespace lbsim::reports {

namespace {

const nlohmann::ordered_json& field(const nlohmann::ordered_json& run, const char* key,
                                    const std::string& file) {
  if (!run.contains(key))
    throw UserError(fmt::format("{}: error: the run object lacks \"{}\"", file, key));
  return run.at(key);
}

[[noreturn]] void bad_field(const std::string& file, const std::string& path,
                            const nlohmann::ordered_json& v, const std::string& expected) {
  std::string shown = json_text(v);
  if (shown.size() > 40) shown = shown.substr(0, 37) + "...";
  throw UserError(
      fmt::format("{}: error: run.{}: expected {}, got {}", file, path, expected, shown));
}

// run.<key> (or run.<obj>.<key>) of a given type and range; UserError naming file and key path.
int64_t int_field(const nlohmann::ordered_json& obj, const char* key, const std::string& file,
                  const std::string& prefix, int64_t lo, int64_t hi) {
  const nlohmann::ordered_json& v = field(obj, key, file);
  const std::string expected = fmt::format("an integer in [{}, {}]", lo, hi);
  if (!v.is_number_integer()) bad_field(file, prefix + key, v, expected);
  if (v.is_number_unsigned() ? v.get<uint64_t>() > static_cast<uint64_t>(hi)
                             : (v.get<int64_t>() < lo || v.get<int64_t>() > hi))
    bad_field(file, prefix + key, v, expected);
  return v.get<int64_t>();
}

double positive_number_field(const nlohmann::ordered_json& obj, const char* key,
                             const std::string& file) {
  const nlohmann::ordered_json& v = field(obj, key, file);
  if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>()))
    bad_field(file, key, v, "a finite number > 0");
  return v.get<double>();
}

bool bool_field(const nlohmann::ordered_json& obj, const char* key, const std::string& file) {
  const nlohmann::ordered_json& v = field(obj, key, file);
  if (!v.is_boolean()) bad_field(file, key, v, "true or false");
  return v.get<bool>();
}

std::string string_field(const nlohmann::ordered_json& obj, const char* key,
                         const std::string& file, const std::string& prefix = "") {
  const nlohmann::ordered_json& v = field(obj, key, file);
  if (!v.is_string()) bad_field(file, prefix + key, v, "a string");
  return v.get<std::string>();
}

const nlohmann::ordered_json& object_field(const nlohmann::ordered_json& obj, const char* key,
                                           const std::string& file) {
  const nlohmann::ordered_json& v = field(obj, key, file);
  if (!v.is_object()) bad_field(file, key, v, "an object");
  return v;
}

// Bounds of the run fields the reports compute with: products and sums of them stay in int64.
constexpr int64_t kMaxArraySide = int64_t{1} << 20;
constexpr int64_t kMaxCount = int64_t{1} << 53;

nlohmann::ordered_json parse_run(const std::string& text, const std::string& file) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(text);
  } catch (const std::exception& e) {
    throw UserError(fmt::format("{}: error: not JSON: {}", file, e.what()));
  }
  if (!j.is_object() || !j.contains("run") || !j["run"].is_object())
    throw UserError(fmt::format("{}: error: no \"run\" object (not written by lbsim run?)", file));
  return j["run"];
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

std::string read_run_file(const std::filesystem::path& path) {
  try {
    return read_input_file(path.string());
  } catch (const UserError& e) {
    throw UserError(fmt::format("{} (is {} the output directory of lbsim run?)", e.what(),
                                path.parent_path().string()));
  }
}

void check_training_options(const TrainingOptions& o) {
  if (!o.requested()) return;
  if (o.dataset_size <= 0 || o.epochs <= 0)
    throw UserError(
        "error: the training estimate needs both --dataset-size and --epochs (both >= 1)");
  if ((o.fnt_epochs > 0) != !o.fnt_run.empty())
    throw UserError(
        "error: --fnt-epochs and --fnt-run go together: the high-precision fine-tune is costed "
        "from a separate run on a high-precision array");
  if (!o.fnt_run.empty()) {
    for (const char* f : {"stats.json", "actions.csv"})
      if (!std::filesystem::is_regular_file(std::filesystem::path(o.fnt_run) / f))
        throw UserError(fmt::format("{}: error: no {} (is it the output directory of lbsim run?)",
                                    o.fnt_run, f));
  }
}

ReportInput build_report_input(const std::string& stats_json_text,
                               const std::string& layers_csv_text, const EnergyReport& energy,
                               const EnergyTable& table, const TrainingOptions& training,
                               int64_t smp_samples, const std::string& run_dir) {
  ReportInput in;
  const std::string stats_file =
      run_dir.empty() ? "stats.json" : (std::filesystem::path(run_dir) / "stats.json").string();
  const std::string layers_file =
      run_dir.empty() ? "layers.csv" : (std::filesystem::path(run_dir) / "layers.csv").string();
  in.run = parse_run(stats_json_text, stats_file);
  in.smp_samples = smp_samples;
  in.rows = parse_layers_csv(layers_csv_text, layers_file);
  in.energy = energy;
  in.energy_table = table.file();
  in.energy_node = table.node();
  const auto& pe = object_field(in.run, "pe_array", stats_file);
  in.pe_rows = int_field(pe, "rows", stats_file, "pe_array.", 1, kMaxArraySide);
  in.pe_cols = int_field(pe, "cols", stats_file, "pe_array.", 1, kMaxArraySide);
  in.clock_mhz = positive_number_field(in.run, "clock_mhz", stats_file);
  if (in.run.contains("dram_bytes_per_cycle") && in.run["dram_bytes_per_cycle"].is_number())
    in.dram_bytes_per_cycle = positive_number_field(in.run, "dram_bytes_per_cycle", stats_file);
  for (const char* key : {"dram_read_bytes", "dram_write_bytes"})
    if (in.run.contains(key) && in.run[key].is_number())
      int_field(in.run, key, stats_file, "", 0, kMaxCount);

  // Energy rows are in op order (cost_actions); an op without actions has none.
  in.op_energy.assign(in.rows.size(), {});
  size_t cursor = 0;
  for (const EnergyRow& e : energy.rows) {
    while (cursor < in.rows.size() &&
           (in.rows[cursor].layer != e.layer || in.rows[cursor].phase != e.phase ||
            in.rows[cursor].op != e.op))
      ++cursor;
    if (cursor == in.rows.size())
      throw UserError(fmt::format(
          "error: the energy rows do not match layers.csv (op {} {} {} out of order or unknown)",
          e.layer, e.phase, e.op));
    if (e.pj)
      in.op_energy[cursor][e.component] += *e.pj;
    else
      in.op_energy[cursor][e.component] += 0.0;
  }

  std::map<std::pair<std::string, std::string>, size_t> index;
  for (size_t i = 0; i < in.rows.size(); ++i) {
    const OpRow& r = in.rows[i];
    if (std::find(in.phases.begin(), in.phases.end(), r.phase) == in.phases.end())
      in.phases.push_back(r.phase);
    auto [it, fresh] = index.emplace(std::make_pair(r.layer, r.phase), in.layer_phases.size());
    if (fresh) {
      LayerPhase lp;
      lp.layer = r.layer;
      lp.phase = r.phase;
      in.layer_phases.push_back(lp);
    }
    LayerPhase& lp = in.layer_phases[it->second];
    lp.ops += 1;
    lp.macs += r.macs;
    lp.cycles += r.cycles;
    lp.compute_cycles += r.compute_cycles;
    lp.stall_cycles += r.stall_cycles;
    lp.ifmap_sram_read_bytes += r.ifmap_sram_read_bytes;
    lp.filter_sram_read_bytes += r.filter_sram_read_bytes;
    lp.ofmap_sram_write_bytes += r.ofmap_sram_write_bytes;
    lp.dram_read_bytes += r.dram_read_bytes;
    lp.dram_write_bytes += r.dram_write_bytes;
    lp.quant_ops += r.quant_ops;
    lp.vector_ops += r.vector_ops;
    for (const auto& [c, pj] : in.op_energy[i]) {
      lp.energy_pj[c] += pj;
      lp.energy_total_pj += pj;
    }
  }
  for (LayerPhase& lp : in.layer_phases)
    lp.utilization = lp.cycles > 0 ? static_cast<double>(lp.macs) /
                                         (static_cast<double>(lp.cycles) * in.pe_rows * in.pe_cols)
                                   : 0.0;
  for (const auto& [c, pj] : energy.by_component) in.components.push_back(c);
  for (const EnergyRow& e : energy.rows)
    if (std::find(in.components.begin(), in.components.end(), e.component) == in.components.end())
      in.components.push_back(e.component);
  std::sort(in.components.begin(), in.components.end());

  if (training.requested()) in.training = estimate_training(in, training, table, stats_file);
  return in;
}

TrainingEstimate estimate_training(const ReportInput& in, const TrainingOptions& o,
                                   const EnergyTable& table, const std::string& stats_file) {
  check_training_options(o);
  if (!bool_field(in.run, "training", stats_file))
    throw UserError(
        "error: the training estimate needs a training run (this run is an inference pass)");
  TrainingEstimate t;
  t.dataset_size = o.dataset_size;
  t.epochs = o.epochs;
  t.batch = int_field(in.run, "batch", stats_file, "", 1, kMaxCount);
  t.smp_samples = in.smp_samples;
  t.iterations_per_epoch = ceil_div(o.dataset_size, t.batch);
  t.iterations = t.iterations_per_epoch * o.epochs;
  const double cycles =
      static_cast<double>(int_field(in.run, "total_cycles", stats_file, "", 0, kMaxCount));
  t.iteration_s = cycles / (in.clock_mhz * 1e6);
  t.iteration_pj = in.energy.total_pj;
  t.time_s = static_cast<double>(t.iterations) * t.iteration_s;
  t.energy_j = static_cast<double>(t.iterations) * t.iteration_pj * 1e-12;
  t.total_time_s = t.time_s;
  t.total_energy_j = t.energy_j;
  if (!o.fnt_run.empty()) {
    const std::filesystem::path dir(o.fnt_run);
    const std::string fnt_stats = (dir / "stats.json").string();
    const nlohmann::ordered_json run = parse_run(read_run_file(dir / "stats.json"), fnt_stats);
    if (field(run, "workload", fnt_stats) != field(in.run, "workload", stats_file))
      throw UserError(fmt::format(
          "{}: error: the fine-tune run is of workload {}, the main run of {}", fnt_stats,
          json_text(field(run, "workload", fnt_stats)), json_text(in.run["workload"])));
    if (!bool_field(run, "training", fnt_stats))
      throw UserError(fmt::format("{}: error: the fine-tune run is not a training run", fnt_stats));
    const std::string actions_file = (dir / "actions.csv").string();
    const EnergyReport fe =
        cost_actions(parse_actions_csv(read_run_file(dir / "actions.csv"), actions_file), table);
    const double clock = positive_number_field(run, "clock_mhz", fnt_stats);
    t.fnt = true;
    t.fnt_run = o.fnt_run;
    t.fnt_arch = string_field(run, "arch", fnt_stats);
    t.fnt_pe_type =
        string_field(object_field(run, "pe_array", fnt_stats), "type", fnt_stats, "pe_array.");
    t.fnt_epochs = o.fnt_epochs;
    t.fnt_batch = int_field(run, "batch", fnt_stats, "", 1, kMaxCount);
    t.fnt_iterations_per_epoch = ceil_div(o.dataset_size, t.fnt_batch);
    t.fnt_iterations = t.fnt_iterations_per_epoch * o.fnt_epochs;
    t.fnt_iteration_s =
        static_cast<double>(int_field(run, "total_cycles", fnt_stats, "", 0, kMaxCount)) /
        (clock * 1e6);
    t.fnt_iteration_pj = fe.total_pj;
    t.fnt_time_s = static_cast<double>(t.fnt_iterations) * t.fnt_iteration_s;
    t.fnt_energy_j = static_cast<double>(t.fnt_iterations) * t.fnt_iteration_pj * 1e-12;
    t.total_time_s += t.fnt_time_s;
    t.total_energy_j += t.fnt_energy_j;
  }
  return t;
}

}  // namespace lbsim::reports
