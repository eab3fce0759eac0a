// layers.csv parsing, the derived per layer x phase aggregates and the whole-training estimate
// (reports/report.h).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/core/error.h"
#include "models/energy/actions.h"
#include "reports/report.h"

namespace lbsim::reports {

namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw UserError(fmt::format("{}: error: cannot open", p.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const nlohmann::ordered_json& field(const nlohmann::ordered_json& run, const char* key,
                                    const std::string& file) {
  if (!run.contains(key))
    throw UserError(fmt::format("{}: error: the run object lacks \"{}\"", file, key));
  return run.at(key);
}

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
                               int64_t smp_samples) {
  ReportInput in;
  in.run = parse_run(stats_json_text, "stats.json");
  in.smp_samples = smp_samples;
  in.rows = parse_layers_csv(layers_csv_text, "layers.csv");
  in.energy = energy;
  in.energy_table = table.file();
  in.energy_node = table.node();
  const auto& pe = field(in.run, "pe_array", "stats.json");
  in.pe_rows = pe.at("rows").get<int64_t>();
  in.pe_cols = pe.at("cols").get<int64_t>();
  in.clock_mhz = field(in.run, "clock_mhz", "stats.json").get<double>();
  if (in.clock_mhz <= 0) throw UserError("stats.json: error: clock_mhz must be > 0");
  if (in.run.contains("dram_bytes_per_cycle") && in.run["dram_bytes_per_cycle"].is_number())
    in.dram_bytes_per_cycle = in.run["dram_bytes_per_cycle"].get<double>();

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

  if (training.requested()) in.training = estimate_training(in, training, table);
  return in;
}

TrainingEstimate estimate_training(const ReportInput& in, const TrainingOptions& o,
                                   const EnergyTable& table) {
  check_training_options(o);
  if (!field(in.run, "training", "stats.json").get<bool>())
    throw UserError(
        "error: the training estimate needs a training run (this run is an inference pass)");
  TrainingEstimate t;
  t.dataset_size = o.dataset_size;
  t.epochs = o.epochs;
  t.batch = field(in.run, "batch", "stats.json").get<int64_t>();
  t.smp_samples = in.smp_samples;
  t.iterations_per_epoch = ceil_div(o.dataset_size, t.batch);
  t.iterations = t.iterations_per_epoch * o.epochs;
  const double cycles =
      static_cast<double>(field(in.run, "total_cycles", "stats.json").get<int64_t>());
  t.iteration_s = cycles / (in.clock_mhz * 1e6);
  t.iteration_pj = in.energy.total_pj;
  t.time_s = static_cast<double>(t.iterations) * t.iteration_s;
  t.energy_j = static_cast<double>(t.iterations) * t.iteration_pj * 1e-12;
  t.total_time_s = t.time_s;
  t.total_energy_j = t.energy_j;
  if (!o.fnt_run.empty()) {
    const std::filesystem::path dir(o.fnt_run);
    const std::string stats_file = (dir / "stats.json").string();
    const nlohmann::ordered_json run = parse_run(read_text(dir / "stats.json"), stats_file);
    if (field(run, "workload", stats_file) != field(in.run, "workload", "stats.json"))
      throw UserError(fmt::format(
          "{}: error: the fine-tune run is of workload {}, the main run of {}", stats_file,
          field(run, "workload", stats_file).dump(), in.run["workload"].dump()));
    if (!field(run, "training", stats_file).get<bool>())
      throw UserError(
          fmt::format("{}: error: the fine-tune run is not a training run", stats_file));
    const std::string actions_file = (dir / "actions.csv").string();
    const EnergyReport fe =
        cost_actions(parse_actions_csv(read_text(dir / "actions.csv"), actions_file), table);
    const double clock = field(run, "clock_mhz", stats_file).get<double>();
    if (clock <= 0) throw UserError(fmt::format("{}: error: clock_mhz must be > 0", stats_file));
    t.fnt = true;
    t.fnt_run = o.fnt_run;
    t.fnt_arch = field(run, "arch", stats_file).get<std::string>();
    t.fnt_pe_type = field(run, "pe_array", stats_file).at("type").get<std::string>();
    t.fnt_epochs = o.fnt_epochs;
    t.fnt_batch = field(run, "batch", stats_file).get<int64_t>();
    t.fnt_iterations_per_epoch = ceil_div(o.dataset_size, t.fnt_batch);
    t.fnt_iterations = t.fnt_iterations_per_epoch * o.fnt_epochs;
    t.fnt_iteration_s =
        static_cast<double>(field(run, "total_cycles", stats_file).get<int64_t>()) / (clock * 1e6);
    t.fnt_iteration_pj = fe.total_pj;
    t.fnt_time_s = static_cast<double>(t.fnt_iterations) * t.fnt_iteration_s;
    t.fnt_energy_j = static_cast<double>(t.fnt_iterations) * t.fnt_iteration_pj * 1e-12;
    t.total_time_s += t.fnt_time_s;
    t.total_energy_j += t.fnt_energy_j;
  }
  return t;
}

}  // namespace lbsim::reports
