// report.json (schema in reports/README.md): deterministic, 2-space indent, keys in a fixed order.
#include "models/core/json_text.h"
#include "reports/report.h"

namespace lbsim::reports {

namespace {

using Json = nlohmann::ordered_json;

Json component_map(const std::vector<std::string>& components,
                   const std::map<std::string, double>& pj) {
  Json j = Json::object();
  for (const std::string& c : components) {
    const auto it = pj.find(c);
    j[c] = it == pj.end() ? 0.0 : it->second;
  }
  return j;
}

const char* bound(int64_t compute, int64_t stall) { return stall > compute ? "memory" : "compute"; }

Json traffic(int64_t ifmap, int64_t filter, int64_t ofmap, int64_t dram_r, int64_t dram_w) {
  Json j;
  j["ifmap_sram_read_bytes"] = ifmap;
  j["filter_sram_read_bytes"] = filter;
  j["ofmap_sram_write_bytes"] = ofmap;
  j["dram_read_bytes"] = dram_r;
  j["dram_write_bytes"] = dram_w;
  return j;
}

}  // namespace

std::string report_json(const ReportInput& in) {
  Json out;
  out["schema"] = "lbsim-report";
  out["schema_version"] = kReportSchemaVersion;
  Json run = in.run;
  run.erase("systemc_delta_cycles");  // a simulator detail, not a result
  if (in.smp_samples > 0)
    run["smp_samples"] = in.smp_samples;
  else
    run["smp_samples"] = nullptr;
  out["run"] = run;
  out["energy_table"] = {{"file", in.energy_table}, {"node_nm", in.energy_node}};

  int64_t stall = 0, compute = 0, cycles = 0;
  for (const OpRow& r : in.rows) {
    stall += r.stall_cycles;
    compute += r.compute_cycles;
    cycles += r.cycles;
  }
  Json totals;
  totals["cycles"] = cycles;
  totals["compute_cycles"] = compute;
  totals["stall_cycles"] = stall;
  totals["energy_pj"] = in.energy.total_pj;
  totals["energy_by_component_pj"] = component_map(in.components, in.energy.by_component);
  Json phases = Json::object();
  for (const std::string& p : in.phases) {
    const auto it = in.energy.by_phase.find(p);
    phases[p] = it == in.energy.by_phase.end() ? 0.0 : it->second;
  }
  totals["energy_by_phase_pj"] = phases;
  Json unc = Json::object();
  for (const auto& [a, n] : in.energy.uncosted) unc[a] = n;
  totals["uncosted_actions"] = unc;
  out["totals"] = totals;

  Json lps = Json::array();
  for (const LayerPhase& lp : in.layer_phases) {
    Json j;
    j["layer"] = lp.layer;
    j["phase"] = lp.phase;
    j["ops"] = lp.ops;
    j["macs"] = lp.macs;
    j["cycles"] = lp.cycles;
    j["compute_cycles"] = lp.compute_cycles;
    j["stall_cycles"] = lp.stall_cycles;
    j["utilization_fraction"] = lp.utilization;
    j["bound"] = bound(lp.compute_cycles, lp.stall_cycles);
    j["traffic"] = traffic(lp.ifmap_sram_read_bytes, lp.filter_sram_read_bytes,
                           lp.ofmap_sram_write_bytes, lp.dram_read_bytes, lp.dram_write_bytes);
    j["quant_ops"] = lp.quant_ops;
    j["vector_ops"] = lp.vector_ops;
    j["energy_pj"] = lp.energy_total_pj;
    j["energy_by_component_pj"] = component_map(in.components, lp.energy_pj);
    lps.push_back(j);
  }
  out["layer_phases"] = lps;

  Json ops = Json::array();
  for (size_t i = 0; i < in.rows.size(); ++i) {
    const OpRow& r = in.rows[i];
    Json j;
    j["layer"] = r.layer;
    j["phase"] = r.phase;
    j["op"] = r.op;
    j["m"] = r.m;
    j["n"] = r.n;
    j["k"] = r.k;
    j["macs"] = r.macs;
    j["folds"] = r.folds;
    j["cycles"] = r.cycles;
    j["compute_cycles"] = r.compute_cycles;
    j["stall_cycles"] = r.stall_cycles;
    j["utilization_fraction"] = r.utilization;
    j["bound"] = bound(r.compute_cycles, r.stall_cycles);
    j["traffic"] = traffic(r.ifmap_sram_read_bytes, r.filter_sram_read_bytes,
                           r.ofmap_sram_write_bytes, r.dram_read_bytes, r.dram_write_bytes);
    j["quant_ops"] = r.quant_ops;
    j["vector_ops"] = r.vector_ops;
    double total = 0;
    for (const auto& [c, pj] : in.op_energy[i]) total += pj;
    j["energy_pj"] = total;
    j["energy_by_component_pj"] = component_map(in.components, in.op_energy[i]);
    ops.push_back(j);
  }
  out["ops"] = ops;

  if (in.training) {
    const TrainingEstimate& t = *in.training;
    Json j;
    j["dataset_size"] = t.dataset_size;
    j["epochs"] = t.epochs;
    j["batch"] = t.batch;
    if (t.smp_samples > 0)
      j["smp_samples"] = t.smp_samples;
    else
      j["smp_samples"] = nullptr;
    j["iterations_per_epoch"] = t.iterations_per_epoch;
    j["iterations"] = t.iterations;
    j["iteration_s"] = t.iteration_s;
    j["iteration_pj"] = t.iteration_pj;
    j["time_s"] = t.time_s;
    j["energy_j"] = t.energy_j;
    if (t.fnt) {
      Json f;
      f["run"] = t.fnt_run;
      f["arch"] = t.fnt_arch;
      f["pe_type"] = t.fnt_pe_type;
      f["epochs"] = t.fnt_epochs;
      f["batch"] = t.fnt_batch;
      f["iterations_per_epoch"] = t.fnt_iterations_per_epoch;
      f["iterations"] = t.fnt_iterations;
      f["iteration_s"] = t.fnt_iteration_s;
      f["iteration_pj"] = t.fnt_iteration_pj;
      f["time_s"] = t.fnt_time_s;
      f["energy_j"] = t.fnt_energy_j;
      j["fine_tune"] = f;
    } else {
      j["fine_tune"] = nullptr;
    }
    j["total_time_s"] = t.total_time_s;
    j["total_energy_j"] = t.total_energy_j;
    out["training_estimate"] = j;
  } else {
    out["training_estimate"] = nullptr;
  }
  return json_text(out, 2) + "\n";
}

}  // namespace lbsim::reports
