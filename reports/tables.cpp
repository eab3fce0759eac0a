// The report tables (reports/tables.h): fixed-precision text, so the reports are deterministic.
#include "reports/tables.h"

#include <fmt/format.h>

#include "models/core/json_text.h"
#include "models/numerics/conv_lowering.h"

namespace lbsim::reports {

namespace {

std::string str(const nlohmann::ordered_json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_boolean()) return j.get<bool>() ? "yes" : "no";
  if (j.is_null()) return "-";
  return json_text(j);
}

std::string uj(double pj) { return fmt::format("{:.3f}", pj * 1e-6); }
std::string pct(double part, double whole) {
  return whole > 0 ? fmt::format("{:.2f}", 100.0 * part / whole) : "0.00";
}
std::string mb(int64_t bytes) { return fmt::format("{:.3f}", static_cast<double>(bytes) / 1e6); }

std::string duration(double s) {
  if (s >= 86400) return fmt::format("{:.3f} s ({:.2f} days)", s, s / 86400);
  if (s >= 3600) return fmt::format("{:.3f} s ({:.2f} h)", s, s / 3600);
  return fmt::format("{:.6f} s", s);
}

}  // namespace

std::string report_title(const ReportInput& in) {
  return fmt::format("lbsim report: {} on {}",
                     str(in.run.value("workload", nlohmann::ordered_json())),
                     str(in.run.value("arch", nlohmann::ordered_json())));
}

std::vector<Table> report_tables(const ReportInput& in) {
  std::vector<Table> out;
  const auto get = [&](const char* k) { return in.run.value(k, nlohmann::ordered_json()); };
  int64_t cycles = 0, compute = 0, stall = 0, macs = 0;
  for (const OpRow& r : in.rows) {
    cycles += r.cycles;
    compute += r.compute_cycles;
    stall += r.stall_cycles;
    macs += r.macs;
  }
  {
    Table t{"Summary", {"quantity", "value"}, {false, false}, {}, ""};
    const auto& pe = get("pe_array");
    t.rows.push_back({"architecture", str(get("arch"))});
    t.rows.push_back({"architecture file", str(get("arch_source"))});
    {
      std::string ov;
      for (const auto& o : get("arch_overrides").is_array() ? get("arch_overrides")
                                                            : nlohmann::ordered_json::array())
        ov += (ov.empty() ? "-p " : ", -p ") + str(o);
      t.rows.push_back({"overrides", ov.empty() ? "none" : ov});
    }
    {
      // The format names (each describe() starts with "<name>: ..."), per role.
      const auto& f = get("formats");
      const auto name = [&](const char* role) {
        const std::string d = f.is_object() ? str(f.value(role, nlohmann::ordered_json())) : "-";
        return d.substr(0, d.find(':'));
      };
      t.rows.push_back(
          {"formats (weight / activation / error)",
           fmt::format("{} / {} / {}", name("weight"), name("activation"), name("error"))});
    }
    if (get("precision_map").is_string())
      t.rows.push_back({"precision map", str(get("precision_map"))});
    t.rows.push_back({"dgrad lowering", str(get("dgrad_lowering"))});
    t.rows.push_back(
        {"PE array",
         fmt::format("{} {}x{} {}", str(pe.value("type", nlohmann::ordered_json())), in.pe_rows,
                     in.pe_cols, str(pe.value("dataflow", nlohmann::ordered_json())))});
    t.rows.push_back({"clock", fmt::format("{:g} MHz", in.clock_mhz)});
    t.rows.push_back(
        {"workload", fmt::format("{} ({})", str(get("workload")), str(get("workload_spec")))});
    t.rows.push_back({"batch", str(get("batch"))});
    t.rows.push_back({"training iteration", str(get("training"))});
    t.rows.push_back({"SMP samples", in.smp_samples > 0 ? std::to_string(in.smp_samples) : "-"});
    t.rows.push_back({"ops", std::to_string(in.rows.size())});
    t.rows.push_back({"cycles", fmt::format("{} ({:.6f} ms)", cycles,
                                            static_cast<double>(cycles) / (in.clock_mhz * 1e3))});
    t.rows.push_back({"compute / stall cycles", fmt::format("{} / {}", compute, stall)});
    {
      const auto wm = get("workload_macs");
      const std::string note =
          wm.is_number_integer()
              ? executed_macs_note(macs, wm.get<int64_t>(), str(get("dgrad_lowering")))
              : "";
      t.rows.push_back({"MACs", note.empty() ? std::to_string(macs)
                                             : fmt::format("{} executed = {}", macs, note)});
    }
    t.rows.push_back({"PE-array utilisation",
                      fmt::format("{:.2f} %", cycles > 0 ? 100.0 * static_cast<double>(macs) /
                                                               (static_cast<double>(cycles) *
                                                                in.pe_rows * in.pe_cols)
                                                         : 0.0)});
    t.rows.push_back(
        {"DRAM read / write",
         fmt::format(
             "{} / {} MB",
             mb(get("dram_read_bytes").is_number() ? get("dram_read_bytes").get<int64_t>() : 0),
             mb(get("dram_write_bytes").is_number() ? get("dram_write_bytes").get<int64_t>()
                                                    : 0))});
    t.rows.push_back({"energy", fmt::format("{} µJ", uj(in.energy.total_pj))});
    t.rows.push_back({"energy table", fmt::format("{} ({} nm)", in.energy_table, in.energy_node)});
    t.rows.push_back({"lbsim version", str(get("lbsim_version"))});
    if (!in.energy.uncosted.empty()) {
      std::string u;
      for (const auto& [a, n] : in.energy.uncosted)
        u += fmt::format("{}{} x{}", u.empty() ? "" : ", ", a, n);
      t.rows.push_back({"uncosted actions", u});
    }
    out.push_back(t);
  }
  {
    Table t{"Energy by component",
            {"component", "energy (µJ)", "share (%)"},
            {false, true, true},
            {},
            ""};
    for (const std::string& c : in.components) {
      const auto it = in.energy.by_component.find(c);
      const double pj = it == in.energy.by_component.end() ? 0.0 : it->second;
      t.rows.push_back({c, uj(pj), pct(pj, in.energy.total_pj)});
    }
    t.rows.push_back(
        {"total", uj(in.energy.total_pj), pct(in.energy.total_pj, in.energy.total_pj)});
    out.push_back(t);
  }
  {
    Table t{"Energy by phase",
            {"phase", "energy (µJ)", "share (%)", "cycles", "share of cycles (%)"},
            {false, true, true, true, true},
            {},
            ""};
    for (const std::string& ph : in.phases) {
      const auto it = in.energy.by_phase.find(ph);
      const double pj = it == in.energy.by_phase.end() ? 0.0 : it->second;
      int64_t c = 0;
      for (const OpRow& r : in.rows)
        if (r.phase == ph) c += r.cycles;
      t.rows.push_back({ph, uj(pj), pct(pj, in.energy.total_pj), std::to_string(c),
                        pct(static_cast<double>(c), static_cast<double>(cycles))});
    }
    out.push_back(t);
  }
  if (in.training) {
    const TrainingEstimate& e = *in.training;
    Table t{"Whole-training estimate",
            {"quantity", "value"},
            {false, false},
            {},
            "iterations = ceil(dataset size / batch) x epochs; time and energy = iterations x "
            "those of the simulated iteration (SMP samples are inside it). The high-precision "
            "fine-tune is costed from its own run (--fnt-run) with the same energy table."};
    t.rows.push_back({"dataset size / epochs", fmt::format("{} / {}", e.dataset_size, e.epochs)});
    t.rows.push_back({"iterations", fmt::format("{} ({} per epoch at batch {})", e.iterations,
                                                e.iterations_per_epoch, e.batch)});
    t.rows.push_back({"iteration time / energy",
                      fmt::format("{:.9f} s / {} µJ", e.iteration_s, uj(e.iteration_pj))});
    t.rows.push_back({"low-bit training time", duration(e.time_s)});
    t.rows.push_back({"low-bit training energy", fmt::format("{:.6f} J", e.energy_j)});
    if (e.fnt) {
      t.rows.push_back(
          {"fine-tune run", fmt::format("{} ({}, {})", e.fnt_run, e.fnt_arch, e.fnt_pe_type)});
      t.rows.push_back({"fine-tune iterations",
                        fmt::format("{} ({} epochs x {} at batch {})", e.fnt_iterations,
                                    e.fnt_epochs, e.fnt_iterations_per_epoch, e.fnt_batch)});
      t.rows.push_back({"fine-tune time", duration(e.fnt_time_s)});
      t.rows.push_back({"fine-tune energy", fmt::format("{:.6f} J", e.fnt_energy_j)});
    }
    t.rows.push_back({"total time", duration(e.total_time_s)});
    t.rows.push_back({"total energy", fmt::format("{:.6f} J", e.total_energy_j)});
    out.push_back(t);
  }
  {
    Table t{"Per layer x phase",
            {"layer", "phase", "ops", "cycles", "share (%)", "util (%)", "stall", "bound",
             "DRAM (MB)", "energy (µJ)"},
            {false, false, true, true, true, true, true, false, true, true},
            {},
            "bound: memory when stall cycles > compute cycles, else compute."};
    for (const LayerPhase& lp : in.layer_phases)
      t.rows.push_back({lp.layer, lp.phase, std::to_string(lp.ops), std::to_string(lp.cycles),
                        pct(static_cast<double>(lp.cycles), static_cast<double>(cycles)),
                        fmt::format("{:.2f}", 100.0 * lp.utilization),
                        std::to_string(lp.stall_cycles),
                        lp.stall_cycles > lp.compute_cycles ? "memory" : "compute",
                        mb(lp.dram_read_bytes + lp.dram_write_bytes), uj(lp.energy_total_pj)});
    out.push_back(t);
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string table_md(const Table& t) {
  const auto cell = [](const std::string& c) {
    std::string out;
    for (char ch : c) {
      if (ch == '|')
        out += "\\|";
      else
        out += ch;
    }
    return out;
  };
  std::string s = "|";
  for (const std::string& h : t.header) s += " " + cell(h) + " |";
  s += "\n|";
  for (size_t i = 0; i < t.header.size(); ++i)
    s += i < t.numeric.size() && t.numeric[i] ? " ---: |" : " --- |";
  s += "\n";
  for (const auto& row : t.rows) {
    s += "|";
    for (const std::string& c : row) s += " " + cell(c) + " |";
    s += "\n";
  }
  return s;
}

std::string table_html(const Table& t) {
  std::string s = "<table>\n<tr>";
  for (const std::string& h : t.header) s += "<th>" + html_escape(h) + "</th>";
  s += "</tr>\n";
  for (const auto& row : t.rows) {
    s += "<tr>";
    for (size_t i = 0; i < row.size(); ++i)
      s += (i < t.numeric.size() && t.numeric[i] ? "<td class=\"n\">" : "<td>") +
           html_escape(row[i]) + "</td>";
    s += "</tr>\n";
  }
  return s + "</table>\n";
}

}  // namespace lbsim::reports
