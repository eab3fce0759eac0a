// `lbsim compare STUDY.yaml [--out FILE.md] [--energy TABLE]`: energy and latency ratios of several
// datapath configurations on several models (format: workloads/studies/README.md; the shipped
// study is workloads/studies/mls_paper.yaml).
//
// Energy is computed in this process without SystemC: plan_simulation(arch, workload) ->
// count_actions() -> cost_actions() with the energy table (--energy, default the built-in
// arch_configs/energy/45nm.yaml), exactly what `lbsim run` writes to energy.csv. Two scopes:
//   compute unit  = the pe_array component (multipliers, adders, shifters, exponent adds,
//                   accumulator and operand-pipeline registers, group-end conversion and the
//                   per-PE overhead). Not memory, not the quantization or vector units.
//   full system   = every component: pe_array + quant_unit + vector_unit + SRAM + DRAM.
// Latency is the timing simulation's total cycles. SystemC cannot elaborate twice in one
// process, so every (model, config) timing run is a fork()ed child that calls simulate() and
// writes its cycle count to a pipe; the parent never elaborates SystemC.
// Ratios are reference / config (e.g. FP32 energy / MLS energy: "x times less energy").
// The Markdown report is deterministic (no wall time, no host paths): the same study, table and
// binary give the same bytes.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/arch/arch_loader.h"
#include "models/core/error.h"
#include "models/core/output.h"
#include "models/energy/actions.h"
#include "models/energy/cost.h"
#include "models/energy/energy_table.h"
#include "models/sim_plan/sim_plan.h"
#include "models/workload/zoo.h"
#include "sim/cli/cli.h"
#include "sim/top/simulate.h"

namespace lbsim::cli {

namespace {

struct CompareArgs {
  std::string study;
  std::string out;
  std::string energy;
};

struct StudyConfig {
  std::string name, label, arch;  // arch as written (relative to the study file)
  std::vector<std::string> params;
};

struct StudyModel {
  std::string workload, label, mls;  // mls = the config name used in the MLS column
  int64_t batch = 0;
  bool check = false;
};

struct Variant {
  std::string label;
  std::vector<std::string> mls_params;  // -p overrides of the MLS config only
  std::vector<std::string> energy;      // energy-table overrides (every config)
  bool fp32_first_last = false;         // first conv + last linear in fp32 (every config)
};

struct Anchor {
  std::string workload;
  double target = 0;  // reference / MLS compute-unit energy ratio the overhead is fitted to
  std::string note;   // printed in the calibration table (e.g. "used by 45nm.yaml")
};

struct Study {
  std::string file, title, reference, baseline, command;
  std::string notes;  // Markdown printed under the introduction
  int64_t batch = 32;
  std::vector<StudyConfig> configs;
  std::vector<StudyModel> models;
  std::vector<std::string> columns;  // config names, "mls" = the model's MLS config
  double vs_ref_lo = 0, vs_ref_hi = 0, vs_base_lo = 0, vs_base_hi = 0;
  std::vector<Variant> variants;
  std::vector<Anchor> anchors;
};

[[noreturn]] void study_error(const std::string& file, const YAML::Node& n, const std::string& m) {
  const auto mark = n.Mark();
  throw UserError(fmt::format("{}:{}:{}: error: {}", file, mark.line + 1, mark.column + 1, m));
}

std::string req_string(const std::string& file, const YAML::Node& map, const char* key) {
  const YAML::Node v = map[key];
  if (!v || !v.IsScalar()) study_error(file, map, fmt::format("missing string key '{}'", key));
  return v.as<std::string>();
}

std::vector<std::string> string_list(const std::string& file, const YAML::Node& map,
                                     const char* key) {
  std::vector<std::string> out;
  const YAML::Node v = map[key];
  if (!v) return out;
  if (!v.IsSequence()) study_error(file, v, fmt::format("'{}' must be a list of strings", key));
  for (const auto& e : v) out.push_back(e.as<std::string>());
  return out;
}

void window(const std::string& file, const YAML::Node& w, const char* key, double* lo, double* hi) {
  const YAML::Node v = w[key];
  if (!v || !v.IsSequence() || v.size() != 2)
    study_error(file, w, fmt::format("windows.{} must be [low, high]", key));
  *lo = v[0].as<double>();
  *hi = v[1].as<double>();
}

Study load_study(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw UserError(fmt::format("{}: error: cannot read the study file", path));
  } catch (const YAML::Exception& e) {
    throw UserError(
        fmt::format("{}:{}:{}: error: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  Study s;
  s.file = path;
  try {
    if (!root.IsMap()) study_error(path, root, "a study is a YAML map");
    if (!root["schema_version"] || root["schema_version"].as<int>() != 1)
      study_error(path, root, "schema_version: 1 is required");
    s.title = req_string(path, root, "title");
    s.reference = req_string(path, root, "reference");
    s.baseline = req_string(path, root, "baseline");
    s.command = root["command"] ? root["command"].as<std::string>() : "lbsim compare " + path;
    if (root["notes"]) s.notes = root["notes"].as<std::string>();
    if (root["batch"]) s.batch = root["batch"].as<int64_t>();
    const YAML::Node cfgs = root["configs"];
    if (!cfgs || !cfgs.IsSequence() || cfgs.size() == 0)
      study_error(path, root, "'configs' must be a non-empty list");
    for (const auto& c : cfgs) {
      StudyConfig sc;
      sc.name = req_string(path, c, "name");
      sc.label = c["label"] ? c["label"].as<std::string>() : sc.name;
      sc.arch = req_string(path, c, "arch");
      sc.params = string_list(path, c, "params");
      for (const auto& o : s.configs)
        if (o.name == sc.name) study_error(path, c, "duplicate config name '" + sc.name + "'");
      s.configs.push_back(sc);
    }
    auto has_config = [&](const std::string& n) {
      for (const auto& c : s.configs)
        if (c.name == n) return true;
      return false;
    };
    if (!has_config(s.reference)) study_error(path, root["reference"], "unknown config name");
    if (!has_config(s.baseline)) study_error(path, root["baseline"], "unknown config name");
    s.columns = string_list(path, root, "columns");
    if (s.columns.empty()) study_error(path, root, "'columns' must be a non-empty list");
    for (size_t i = 0; i < s.columns.size(); ++i)
      if (s.columns[i] != "mls" && !has_config(s.columns[i]))
        study_error(path, root["columns"][i], "unknown config name '" + s.columns[i] + "'");
    const YAML::Node models = root["models"];
    if (!models || !models.IsSequence() || models.size() == 0)
      study_error(path, root, "'models' must be a non-empty list");
    for (const auto& m : models) {
      StudyModel sm;
      sm.workload = req_string(path, m, "workload");
      sm.label = m["label"] ? m["label"].as<std::string>() : sm.workload;
      sm.mls = req_string(path, m, "mls");
      if (!has_config(sm.mls)) study_error(path, m["mls"], "unknown config name '" + sm.mls + "'");
      sm.batch = m["batch"] ? m["batch"].as<int64_t>() : s.batch;
      sm.check = m["check"] && m["check"].as<bool>();
      s.models.push_back(sm);
    }
    const YAML::Node w = root["windows"];
    if (!w || !w.IsMap()) study_error(path, root, "'windows' is required");
    window(path, w, "vs_reference", &s.vs_ref_lo, &s.vs_ref_hi);
    window(path, w, "vs_baseline", &s.vs_base_lo, &s.vs_base_hi);
    const YAML::Node sens = root["sensitivity"];
    if (sens) {
      if (!sens.IsSequence()) study_error(path, sens, "'sensitivity' must be a list");
      for (const auto& v : sens) {
        Variant var;
        var.label = req_string(path, v, "label");
        var.mls_params = string_list(path, v, "mls_params");
        var.energy = string_list(path, v, "energy");
        var.fp32_first_last = v["fp32_first_last"] && v["fp32_first_last"].as<bool>();
        s.variants.push_back(var);
      }
    }
    const YAML::Node anchors = root["anchors"];
    if (anchors) {
      if (!anchors.IsSequence()) study_error(path, anchors, "'anchors' must be a list");
      for (const auto& an : anchors) {
        Anchor x;
        x.workload = req_string(path, an, "workload");
        if (!an["target"]) study_error(path, an, "missing key 'target'");
        x.target = an["target"].as<double>();
        if (an["note"]) x.note = an["note"].as<std::string>();
        s.anchors.push_back(x);
      }
    }
  } catch (const YAML::Exception& e) {
    throw UserError(
        fmt::format("{}:{}:{}: error: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  return s;
}

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
  const EnergyReport r = cost_actions(ops, table);
  if (!r.uncosted.empty())
    throw UserError(fmt::format("compare: {} on {}: the energy table does not cost {}", w.network,
                                arch.name, r.uncosted.begin()->first));
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

// Total cycles of the timing simulation, run in a forked child (SystemC elaborates once per
// process). UserError when the child fails.
int64_t cycles_in_child(const ArchConfig& arch, const Workload& w) {
  int fd[2];
  if (pipe(fd) != 0) throw UserError("compare: error: pipe() failed");
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw UserError("compare: error: fork() failed");
  if (pid == 0) {
    close(fd[0]);
    int code = 0;
    long long cycles = -1;
    try {
      cycles = simulate(arch, w).total_cycles;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "compare: %s on %s: %s\n", w.network.c_str(), arch.name.c_str(),
                   e.what());
      code = 1;
    }
    const ssize_t n = write(fd[1], &cycles, sizeof cycles);
    close(fd[1]);
    _exit(n == static_cast<ssize_t>(sizeof cycles) ? code : 1);
  }
  close(fd[1]);
  long long cycles = -1;
  ssize_t got = 0;
  while (true) {
    got = read(fd[0], &cycles, sizeof cycles);
    if (got < 0 && errno == EINTR) continue;
    break;
  }
  close(fd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got != static_cast<ssize_t>(sizeof cycles) || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0 || cycles <= 0)
    throw UserError(fmt::format("compare: error: the timing simulation of {} on {} failed",
                                w.network, arch.name));
  return cycles;
}

std::string ratio(double num, double den) { return fmt::format("{:.2f}x", num / den); }

bool inside(double v, double lo, double hi) {
  // Windows are compared at the printed precision (two decimals).
  const double r = std::round(v * 100.0) / 100.0;
  return r >= lo && r <= hi;
}

void cmd_compare(const CompareArgs& a) {
  const Study s = load_study(a.study);
  const EnergyTable table = a.energy.empty() ? EnergyTable::builtin() : EnergyTable::load(a.energy);
  const std::string table_name =
      a.energy.empty() ? "built-in arch_configs/energy/45nm.yaml" : a.energy;

  struct Cell {
    Energy e;
    int64_t cycles = 0;
  };
  // Main table: per model, per column.
  std::vector<std::map<std::string, Cell>> cells(s.models.size());
  auto col_config = [&](const StudyModel& m, const std::string& col) {
    return col == "mls" ? m.mls : col;
  };
  for (size_t mi = 0; mi < s.models.size(); ++mi) {
    const StudyModel& m = s.models[mi];
    const Workload w = zoo_workload(m.workload, m.batch);
    std::vector<std::string> names = {s.reference, s.baseline};
    for (const auto& c : s.columns) names.push_back(col_config(m, c));
    for (const auto& n : names) {
      if (cells[mi].count(n)) continue;
      const ArchConfig arch = config_arch(s, config_by_name(s, n), {});
      Cell c;
      c.e = energy_of(arch, w, table);
      c.cycles = cycles_in_child(arch, w);
      cells[mi][n] = c;
    }
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
                                 : (a.energy.empty() ? EnergyTable::builtin(v.energy)
                                                     : EnergyTable::load(a.energy, v.energy));
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

  std::printf("%s", md.c_str());
  if (!a.out.empty()) {
    write_output_file(a.out, md);
    std::printf("wrote: %s\n", a.out.c_str());
  }
  std::printf(
      "windows: %d of %d checks outside\n", misses, 2 * [&] {
        int n = 0;
        for (const auto& m : s.models) n += m.check;
        return n;
      }());
}

void add_compare_command(CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  auto* c = app.add_subcommand(
      "compare",
      "Energy (compute unit, full system) and latency ratios of configurations on models, from a "
      "study file (workloads/studies/README.md)");
  c->add_option("study", args->study, "Study YAML (e.g. workloads/studies/mls_paper.yaml)")
      ->required();
  c->add_option("--out", args->out, "Write the Markdown report to this file");
  c->add_option("--energy", args->energy,
                "Energy table YAML (default: the built-in arch_configs/energy/45nm.yaml)");
  c->callback([args] { cmd_compare(*args); });
}
}  // namespace

LBSIM_CLI_COMMANDS(add_compare_command, 30)

}  // namespace lbsim::cli
