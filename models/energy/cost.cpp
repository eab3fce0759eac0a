#include "models/energy/cost.h"

#include <fmt/format.h>

#include <map>
#include <utility>

#include "models/core/error.h"

namespace lbsim {

EnergyReport cost_actions(const std::vector<OpActions>& ops, const EnergyTable& table,
                          bool allow_missing) {
  EnergyReport r;
  for (const OpActions& o : ops) {
    for (const ActionCount& a : o.actions) {
      EnergyRow row{o.layer, o.phase, o.op, action_component(a.key), a.key, a.count, {}};
      std::optional<double> unit = table.cost(a.key);
      if (unit) {
        row.pj = *unit * static_cast<double>(a.count);
        r.by_component[row.component] += *row.pj;
        r.by_phase[row.phase] += *row.pj;
        r.total_pj += *row.pj;
      } else {
        r.uncosted[row.action.text()] += a.count;
      }
      r.rows.push_back(std::move(row));
    }
  }
  if (!allow_missing && !r.uncosted.empty()) {
    std::string list;
    for (const auto& [action, count] : r.uncosted)
      list += fmt::format("\n  {} x {}", action, count);
    throw UserError(fmt::format(
        "{}: error: the energy table has no cost for {} action(s) of this run (the total would "
        "leave them out):{}\nadd entries for them, or pass --allow-missing-costs to cost the rest "
        "and list these as uncosted",
        table.name().empty() ? table.file() : table.file() + " (" + table.name() + ")",
        r.uncosted.size(), list));
  }
  return r;
}

std::string energy_csv(const EnergyReport& r) {
  // (layer, phase) in order of first appearance -> component -> pJ
  std::vector<std::pair<std::pair<std::string, std::string>, std::map<std::string, double>>> cells;
  std::map<std::pair<std::string, std::string>, size_t> index;
  for (const EnergyRow& row : r.rows) {
    if (!row.pj) continue;
    const auto key = std::make_pair(row.layer, row.phase);
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, cells.size()).first;
      cells.push_back({key, {}});
    }
    cells[it->second].second[row.component] += *row.pj;
  }
  std::string s = "layer,phase,component,energy_pj\n";
  for (const auto& [key, by_comp] : cells)
    for (const auto& [comp, pj] : by_comp)
      s += fmt::format("{},{},{},{:.9g}\n", csv_field(key.first), key.second, comp, pj);
  return s;
}

std::string energy_actions_csv(const EnergyReport& r) {
  std::string s = "layer,phase,op,component,action,params,count,energy_pj\n";
  for (const EnergyRow& row : r.rows)
    s +=
        fmt::format("{},{},{},{},{},{},{},{}\n", csv_field(row.layer), row.phase, csv_field(row.op),
                    row.component, row.action.name, csv_field(row.action.param_text()), row.count,
                    row.pj ? fmt::format("{:.9g}", *row.pj) : std::string());
  return s;
}

std::string energy_summary(const EnergyReport& r, const EnergyTable& table) {
  std::string s = fmt::format("energy:       {:.6g} uJ ({} nm, table {})\n", r.total_pj * 1e-6,
                              table.node(), table.name().empty() ? table.file() : table.name());
  for (const auto& [comp, pj] : r.by_component)
    s += fmt::format("  {:<22} {:>14.6g} uJ {:6.2f} %\n", comp, pj * 1e-6,
                     r.total_pj > 0 ? 100.0 * pj / r.total_pj : 0.0);
  std::string phases;
  for (const char* ph : {"fwd", "dgrad", "wgrad", "update"}) {
    auto it = r.by_phase.find(ph);
    if (it != r.by_phase.end())
      phases += fmt::format("{}{} {:.6g} uJ", phases.empty() ? "" : ", ", ph, it->second * 1e-6);
  }
  if (!phases.empty()) s += "  by phase: " + phases + "\n";
  if (!r.uncosted.empty()) {
    s += "uncosted actions (no table entry; not in the totals):\n";
    for (const auto& [action, count] : r.uncosted) s += fmt::format("  {} x {}\n", action, count);
  }
  return s;
}

}  // namespace lbsim
