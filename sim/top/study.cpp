#include "sim/top/study.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "models/arch/arch_loader.h"
#include "models/core/error.h"
#include "models/core/json_text.h"
#include "models/energy/actions.h"
#include "models/energy/cost.h"
#include "models/sim_plan/sim_plan.h"
#include "models/workload/zoo.h"
#include "sim/top/run.h"

namespace lbsim {

namespace {

const StudyConfig& config_by_name(const Study& s, const std::string& name) {
  for (const auto& c : s.configs)
    if (c.name == name) return c;
  throw std::logic_error("compare: unknown config " + name);
}

// Replaces "{mls}" in an override by the MLS config's weight format name (e.g. mls_m1e2).
std::string substitute(const std::string& text, const std::string& mls_format) {
  std::string out = text;
  for (size_t at = out.find("{mls}"); at != std::string::npos; at = out.find("{mls}", at))
    out.replace(at, 5, mls_format);
  return out;
}

ArchConfig config_arch(const Study& s, const StudyConfig& c,
                       const std::vector<std::string>& extra) {
  const std::filesystem::path base = std::filesystem::path(s.file).parent_path();
  std::vector<std::string> params = c.params;
  if (!extra.empty()) {
    const ArchConfig plain = load_arch((base / c.arch).string(), c.params);
    const std::string fmt_name = plain.pe.weight ? plain.pe.weight->info().name : "";
    for (const auto& e : extra) params.push_back(substitute(e, fmt_name));
  }
  return load_arch((base / c.arch).string(), params);
}

// First conv2d and last linear layer in fp32 (all three roles).
void fp32_first_last(Workload& w) {
  LayerSpec* first = nullptr;
  LayerSpec* last = nullptr;
  for (auto& l : w.layers) {
    if (!first && l.type == LayerType::kConv2d) first = &l;
    if (l.type == LayerType::kLinear) last = &l;
  }
  for (LayerSpec* l : {first, last})
    if (l) l->precision = LayerPrecision{"fp32", "fp32", "fp32"};
}

struct Energy {
  double compute = 0, system = 0;  // pJ
  double sram = 0, dram = 0;
  int64_t macs = 0;
  int64_t pe_overhead_count = 0;  // pe_overhead actions (one per MAC of the op's family)
};

Energy energy_of(const ArchConfig& arch, const Workload& w, const EnergyTable& table) {
  const SimPlan plan = plan_simulation(arch, w);
  const std::vector<OpActions> ops = count_actions(plan, arch);
  EnergyReport r;
  try {
    r = cost_actions(ops, table);
  } catch (const UserError& e) {
    throw UserError(fmt::format("compare: {} on {}: {}", w.network, arch.name, e.what()));
  }
  Energy e;
  for (const auto& [comp, pj] : r.by_component) {
    if (comp == "pe_array") e.compute += pj;
    if (comp.rfind("sram_", 0) == 0) e.sram += pj;
    if (comp == "dram") e.dram += pj;
  }
  e.system = r.total_pj;
  for (const auto& op : ops)
    for (const auto& a : op.actions) {
      if (a.key.name == "pe_overhead") {
        const std::string* fam = a.key.param("family");
        if (fam && *fam == "mls") e.pe_overhead_count += a.count;
      }
    }
  e.macs = plan.total_macs;  // as the array executes them (after the dgrad lowering)
  return e;
}

// A cell's numbers, returned by its worker process as JSON.
struct Cell {
  Energy e;
  int64_t cycles = 0;
};

nlohmann::json cell_json(const RunOutcome& run) {
  const RunMetrics m = run_metrics(run, run.energy);  // run_once refused uncosted actions
  nlohmann::json j;
  j["compute"] = m.compute_energy_pj;
  j["system"] = m.energy_pj;
  double sram = 0, dram = 0;
  for (const auto& [comp, pj] : m.energy_by_component_pj) {
    if (comp.rfind("sram_", 0) == 0) sram += pj;
    if (comp == "dram") dram += pj;
  }
  j["sram"] = sram;
  j["dram"] = dram;
  j["macs"] = m.macs;
  int64_t overhead = 0;
  for (const auto& op : run.actions)
    for (const auto& a : op.actions)
      if (a.key.name == "pe_overhead") {
        const std::string* fam = a.key.param("family");
        if (fam && *fam == "mls") overhead += a.count;
      }
  j["pe_overhead_count"] = overhead;
  j["cycles"] = m.cycles;
  return j;
}

Cell cell_from_json(const nlohmann::json& j) {
  Cell c;
  c.e.compute = j.at("compute").get<double>();
  c.e.system = j.at("system").get<double>();
  c.e.sram = j.at("sram").get<double>();
  c.e.dram = j.at("dram").get<double>();
  c.e.macs = j.at("macs").get<int64_t>();
  c.e.pe_overhead_count = j.at("pe_overhead_count").get<int64_t>();
  c.cycles = j.at("cycles").get<int64_t>();
  return c;
}

std::string ratio(double num, double den) { return fmt::format("{:.2f}x", num / den); }

bool inside(double v, double lo, double hi) {
  // Windows are compared at the printed precision (two decimals).
  const double r = std::round(v * 100.0) / 100.0;
  return r >= lo && r <= hi;
}

}  // namespace

StudyReport run_study(const Study& s, const EnergyTable& table, const std::string& table_name,
                      const std::string& energy_file, int jobs,
                      const std::function<void(int64_t, int64_t)>& on_cell_done) {
  // Main table: per model, per column.
  std::vector<std::map<std::string, Cell>> cells(s.models.size());
  auto col_config = [&](const StudyModel& m, const std::string& col) {
    return col == "mls" ? m.mls : col;
  };
  // Every (model, config) cell runs in a worker process (run library: plan, cost, simulate).
  struct CellJob {
    size_t model;
    std::string config;
  };
  std::vector<CellJob> cell_jobs;
  for (size_t mi = 0; mi < s.models.size(); ++mi) {
    const StudyModel& m = s.models[mi];
    std::vector<std::string> names = {s.reference, s.baseline};
    for (const auto& c : s.columns) names.push_back(col_config(m, c));
    for (const auto& n : names) {
      if (cells[mi].count(n)) continue;
      cells[mi][n] = Cell{};
      cell_jobs.push_back({mi, n});
    }
  }
  ChildPool pool(jobs > 0 ? jobs
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  size_t next = 0, finished = 0;
  while (next < cell_jobs.size() || !pool.idle()) {
    while (next < cell_jobs.size() && !pool.full()) {
      const CellJob job = cell_jobs[next];
      pool.start(static_cast<int64_t>(next), [&s, &table, job] {
        const StudyModel& m = s.models[job.model];
        RunRequest req;
        req.arch = config_arch(s, config_by_name(s, job.config), {});
        req.workload = zoo_workload(m.workload, m.batch);
        req.workload_spec = m.workload;
        const RunOutcome run = run_once(std::move(req), table);
        return json_text(cell_json(run));
      });
      ++next;
    }
    const ChildPool::Done d = pool.wait_any();
    const CellJob& job = cell_jobs[static_cast<size_t>(d.id)];
    if (!d.ok)
      throw UserError(fmt::format("compare: error: {} on {}: {}", s.models[job.model].workload,
                                  job.config, d.text));
    cells[job.model][job.config] = cell_from_json(nlohmann::json::parse(d.text));
    if (on_cell_done)
      on_cell_done(static_cast<int64_t>(++finished), static_cast<int64_t>(cell_jobs.size()));
  }

  const StudyConfig& ref = config_by_name(s, s.reference);
  const StudyConfig& base = config_by_name(s, s.baseline);
  const std::optional<double> overhead_now =
      table.cost(ActionKey{"pe_overhead", {{"family", "mls"}}});

  std::string md;
  auto out = [&](const std::string& line) {
    md += line;
    md += "\n";
  };
  auto header = [&](const std::string& first) {
    std::string h = "| " + first + " |";
    std::string r = "|---|";
    for (const auto& c : s.columns) {
      h += " " + (c == "mls" ? std::string("MLS") : config_by_name(s, c).label) + " |";
      r += "---:|";
    }
    out(h);
    out(r);
  };
  // One table with one formatted value per model x configuration column.
  auto value_table = [&](const std::string& title, auto cell_text) {
    out(title);
    out("");
    header("model");
    for (size_t mi = 0; mi < s.models.size(); ++mi) {
      const StudyModel& m = s.models[mi];
      std::string row = "| " + m.label + " |";
      for (const auto& c : s.columns) row += " " + cell_text(cells[mi].at(col_config(m, c))) + " |";
      out(row);
    }
    out("");
  };
  // One table of ratios reference/column (and baseline/column) for a metric.
  auto ratio_table = [&](const char* what, auto metric) {
    out(fmt::format("{} ratio, {} / config (higher = the config is cheaper or faster):", what,
                    ref.label));
    out("");
    header("model");
    for (size_t mi = 0; mi < s.models.size(); ++mi) {
      const StudyModel& m = s.models[mi];
      std::string row = "| " + m.label + " (MLS = " + config_by_name(s, m.mls).label + ") |";
      const double r = metric(cells[mi].at(s.reference));
      for (const auto& c : s.columns)
        row += " " + ratio(r, metric(cells[mi].at(col_config(m, c)))) + " |";
      out(row);
    }
    out("");
    out(fmt::format("{} ratio, {} / config:", what, base.label));
    out("");
    header("model");
    for (size_t mi = 0; mi < s.models.size(); ++mi) {
      const StudyModel& m = s.models[mi];
      std::string row = "| " + m.label + " |";
      const double b = metric(cells[mi].at(s.baseline));
      for (const auto& c : s.columns)
        row += " " + ratio(b, metric(cells[mi].at(col_config(m, c)))) + " |";
      out(row);
    }
    out("");
  };

  out(fmt::format("# {}", s.title));
  out("");
  out(fmt::format("Generated by `{}` with the energy table {} at {} nm. Do not edit by hand.",
                  s.command, table_name, table.node()));
  out("");
  out("Energy comes from the simulation plan's action counts times the table (no SystemC, the "
      "same numbers `lbsim run` writes to energy.csv); latency from the timing simulation of each "
      "(model, config) in a forked child process. One training iteration (forward, input-gradient "
      "and weight-gradient GEMMs plus element-wise ops).");
  out("");
  out("Scopes: **compute unit** = the `pe_array` component only: multipliers, adders, shifters, "
      "exponent adds, accumulator and operand-pipeline registers, MLS group-end conversion and "
      "inter-group add, per-PE overhead. It excludes SRAM, DRAM, the quantization unit and the "
      "vector unit. **Full system** = every component: pe_array + quant_unit + vector_unit + SRAM "
      "+ DRAM.");
  out("");
  if (!s.notes.empty()) {
    md += s.notes;
    if (md.back() != '\n') md += "\n";
    out("");
  }
  out("Configurations (arch paths relative to the study file):");
  out("");
  out("| name | label | arch | overrides |");
  out("|---|---|---|---|");
  for (const auto& c : s.configs) {
    std::string ov;
    for (const auto& p : c.params) ov += (ov.empty() ? "" : ", ") + ("`" + p + "`");
    out(fmt::format("| {} | {} | `{}` | {} |", c.name, c.label, c.arch, ov.empty() ? "-" : ov));
  }
  out("");
  out("Models:");
  out("");
  out("| model | workload | batch | MLS config | MACs per iteration |");
  out("|---|---|---:|---|---:|");
  for (size_t mi = 0; mi < s.models.size(); ++mi) {
    const StudyModel& m = s.models[mi];
    out(fmt::format("| {} | `{}` | {} | {} | {} |", m.label, m.workload, m.batch, m.mls,
                    cells[mi].at(s.reference).e.macs));
  }
  out("");

  out("## Compute-unit energy");
  out("");
  ratio_table("Compute-unit energy", [](const Cell& c) { return c.e.compute; });
  value_table("Compute-unit energy per MAC (pJ):", [](const Cell& cell) {
    return fmt::format("{:.3f}", cell.e.compute / static_cast<double>(cell.e.macs));
  });

  out("## Windows of the MLS abstract");
  out("");
  out(
      fmt::format("Published window (MLS TCAD abstract): {:.1f}-{:.1f}x vs {}, {:.1f}-{:.1f}x vs "
                  "{}, compute-unit energy. Checked models only; ratios rounded to 2 decimals.",
                  s.vs_ref_lo, s.vs_ref_hi, ref.label, s.vs_base_lo, s.vs_base_hi, base.label));
  out("");
  out(
      fmt::format("| model | vs {} | inside [{:.1f}, {:.1f}] | vs {} | inside [{:.1f}, {:.1f}] | "
                  "{} / {} |",
                  ref.label, s.vs_ref_lo, s.vs_ref_hi, base.label, s.vs_base_lo, s.vs_base_hi,
                  ref.label, base.label));
  out("|---|---:|---|---:|---|---:|");
  int misses = 0;
  for (size_t mi = 0; mi < s.models.size(); ++mi) {
    const StudyModel& m = s.models[mi];
    if (!m.check) continue;
    const double e_ref = cells[mi].at(s.reference).e.compute;
    const double e_base = cells[mi].at(s.baseline).e.compute;
    const double e_mls = cells[mi].at(m.mls).e.compute;
    const bool in_ref = inside(e_ref / e_mls, s.vs_ref_lo, s.vs_ref_hi);
    const bool in_base = inside(e_base / e_mls, s.vs_base_lo, s.vs_base_hi);
    misses += !in_ref + !in_base;
    out(fmt::format("| {} | {} | {} | {} | {} | {} |", m.label, ratio(e_ref, e_mls),
                    in_ref ? "yes" : "**no**", ratio(e_base, e_mls), in_base ? "yes" : "**no**",
                    ratio(e_ref, e_base)));
  }
  out("");
  out(
      fmt::format("Both windows can hold together only when {} / {} lies in [{:.2f}, {:.2f}] "
                  "(= [{:.1f}/{:.1f}, {:.1f}/{:.1f}]).",
                  ref.label, base.label, s.vs_ref_lo / s.vs_base_hi, s.vs_ref_hi / s.vs_base_lo,
                  s.vs_ref_lo, s.vs_base_hi, s.vs_ref_hi, s.vs_base_lo));
  out("");

  if (overhead_now && !s.anchors.empty()) {
    out("## MLS per-MAC overhead: fits of pe_overhead{family=mls}");
    out("");
    out(
        fmt::format("The table's value is {:.4g} pJ per MLS MAC. Compute-unit energy is linear in "
                    "it (one pe_overhead{{family=mls}} action per MLS MAC), so the value that puts "
                    "a model's {} / MLS ratio exactly on a target is "
                    "x = (E_{} / target - (E_MLS - x_table n)) / n, n = the number of "
                    "pe_overhead{{family=mls}} actions:",
                    *overhead_now, ref.label, ref.name));
    out("");
    out("| anchor | target | n | E_ref (uJ) | E_MLS without overhead (uJ) | fitted x (pJ) | ratio "
        "with the table's value | note |");
    out("|---|---:|---:|---:|---:|---:|---:|---|");
    for (const auto& an : s.anchors) {
      size_t mi = s.models.size();
      for (size_t i = 0; i < s.models.size(); ++i)
        if (s.models[i].workload == an.workload) mi = i;
      if (mi == s.models.size()) continue;
      const Cell& r = cells[mi].at(s.reference);
      const Cell& c = cells[mi].at(s.models[mi].mls);
      const double n = static_cast<double>(c.e.pe_overhead_count);
      const double without = c.e.compute - *overhead_now * n;
      const double fit = (r.e.compute / an.target - without) / n;
      out(fmt::format("| {} | {:.2f}x | {} | {:.1f} | {:.1f} | {:.4f} | {} | {} |",
                      s.models[mi].label, an.target, c.e.pe_overhead_count, r.e.compute / 1e6,
                      without / 1e6, fit, ratio(r.e.compute, c.e.compute),
                      an.note.empty() ? "-" : an.note));
    }
    out("");
    // Minimax fit: the x whose worst relative miss of a window, over the checked models and both
    // windows, is smallest (0 when one x puts every checked model inside both).
    struct Fit {
      double e_ref, e_base, without, n;
      std::string label;
    };
    std::vector<Fit> fits;
    for (size_t mi = 0; mi < s.models.size(); ++mi) {
      if (!s.models[mi].check) continue;
      const Cell& c = cells[mi].at(s.models[mi].mls);
      const double n = static_cast<double>(c.e.pe_overhead_count);
      fits.push_back({cells[mi].at(s.reference).e.compute, cells[mi].at(s.baseline).e.compute,
                      c.e.compute - *overhead_now * n, n, s.models[mi].label});
    }
    auto miss = [](double r, double lo, double hi) {
      return std::max({0.0, std::log(lo / r), std::log(r / hi)});
    };
    auto worst = [&](double x, std::string* where) {
      double v = 0;
      for (const Fit& f : fits) {
        const double e = f.without + x * f.n;
        const double a = miss(f.e_ref / e, s.vs_ref_lo, s.vs_ref_hi);
        const double b = miss(f.e_base / e, s.vs_base_lo, s.vs_base_hi);
        if (where && std::max(a, b) > v)
          *where = f.label + (a >= b ? " vs " + ref.label : " vs " + base.label);
        v = std::max({v, a, b});
      }
      return v;
    };
    if (!fits.empty()) {
      // x in [0, 0.5] pJ in steps of 1e-4: the minimax x, and the range where nothing misses.
      double best_x = 0, best_v = worst(0, nullptr), in_lo = -1, in_hi = -1;
      for (int i = 0; i <= 5000; ++i) {
        const double x = i * 1e-4, v = worst(x, nullptr);
        if (v < best_v - 1e-12) best_x = x, best_v = v;
        if (v == 0 && in_lo < 0) in_lo = x;
        if (v == 0) in_hi = x;
      }
      std::string where;
      const double at_table = worst(*overhead_now, &where);
      if (in_lo >= 0) {
        out(fmt::format(
            "Every checked model is inside both windows for x in **[{:.4f}, {:.4f}] pJ** (steps "
            "of 0.0001 pJ). With the table's value the largest miss is {:.1f} % ({}).",
            in_lo, in_hi, 100.0 * (std::exp(at_table) - 1.0), at_table > 0 ? where : "none"));
      } else {
        out(fmt::format(
            "No x in [0, 0.5] pJ puts every checked model inside both windows. Minimax fit (the "
            "x, in steps of 0.0001 pJ, whose largest relative miss of a window is smallest): **x "
            "= {:.4f} pJ**, largest miss {:.1f} %. With the table's value the largest miss is "
            "{:.1f} % ({}).",
            best_x, 100.0 * (std::exp(best_v) - 1.0), 100.0 * (std::exp(at_table) - 1.0),
            at_table > 0 ? where : "none"));
      }
      out("");
    }
  }

  out("## Full-system energy (memory included)");
  out("");
  ratio_table("Full-system energy", [](const Cell& c) { return c.e.system; });
  value_table("Share of SRAM + DRAM in the full-system energy:", [](const Cell& cell) {
    return fmt::format("{:.1f} %", 100.0 * (cell.e.sram + cell.e.dram) / cell.e.system);
  });

  out("## Latency");
  out("");
  ratio_table("Latency (total cycles)",
              [](const Cell& c) { return static_cast<double>(c.cycles); });
  value_table("Total cycles of one iteration:",
              [](const Cell& cell) { return fmt::format("{}", cell.cycles); });

  if (!s.variants.empty()) {
    out("## Sensitivity (compute-unit energy)");
    out("");
    out(
        fmt::format("Each cell: MLS energy ratio vs {} / vs {}. `mls_params` change the MLS "
                    "configuration only; energy-table overrides and first/last-layer precision "
                    "apply to every configuration ({{mls}} = the model's MLS format).",
                    ref.label, base.label));
    out("");
    std::string h = "| variant | changes |";
    std::string r = "|---|---|";
    for (const auto& m : s.models) {
      h += " " + m.label + " |";
      r += "---:|";
    }
    out(h);
    out(r);
    for (const auto& v : s.variants) {
      const EnergyTable vt = v.energy.empty()
                                 ? table
                                 : (energy_file.empty() ? EnergyTable::builtin(v.energy)
                                                        : EnergyTable::load(energy_file, v.energy));
      std::string changes;
      for (const auto& p : v.mls_params) changes += (changes.empty() ? "" : ", ") + ("`" + p + "`");
      for (const auto& p : v.energy) changes += (changes.empty() ? "" : ", ") + ("`" + p + "`");
      if (v.fp32_first_last)
        changes += (changes.empty() ? "" : ", ") + std::string("first conv + last linear in fp32");
      std::string row = "| " + v.label + " | " + (changes.empty() ? "-" : changes) + " |";
      for (const auto& m : s.models) {
        Workload w = zoo_workload(m.workload, m.batch);
        if (v.fp32_first_last) fp32_first_last(w);
        const double e_ref = energy_of(config_arch(s, ref, {}), w, vt).compute;
        const double e_base = energy_of(config_arch(s, base, {}), w, vt).compute;
        const double e_mls =
            energy_of(config_arch(s, config_by_name(s, m.mls), v.mls_params), w, vt).compute;
        row += " " + ratio(e_ref, e_mls) + " / " + ratio(e_base, e_mls) + " |";
      }
      out(row);
    }
    out("");
  }
  StudyReport report;
  report.markdown = md;
  report.window_misses = misses;
  for (const auto& m : s.models) report.window_checks += m.check ? 2 : 0;
  return report;
}

}  // namespace lbsim
