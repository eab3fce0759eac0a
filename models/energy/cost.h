// Energy of a run = counted actions (models/energy/actions.h) x an energy table
// (models/energy/energy_table.h), applied after the run (docs/design.md §5).
//
// One row per (op, action): its component (action_component()), count and pJ = count x the
// table's per-action energy at the table's node. An action the table does not cost is "uncosted".
// By default that is a UserError naming every uncosted action (with its count) and the table: a
// silently smaller total is worse than no total. With allow_missing (the CLI's
// --allow-missing-costs) its row keeps the count with an empty pJ field and it is listed in
// EnergyReport::uncosted; it adds nothing to any total.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "models/energy/actions.h"
#include "models/energy/energy_table.h"

namespace lbsim {

struct EnergyRow {
  std::string layer, phase, op, component;
  ActionKey action;
  int64_t count = 0;
  std::optional<double> pj;  // nullopt = uncosted
};

struct EnergyReport {
  std::vector<EnergyRow> rows;                 // in op order, then action order
  std::map<std::string, double> by_component;  // pJ
  std::map<std::string, double> by_phase;      // pJ
  double total_pj = 0;
  std::map<std::string, int64_t> uncosted;  // action text -> total count
};

EnergyReport cost_actions(const std::vector<OpActions>& ops, const EnergyTable& table,
                          bool allow_missing = false);

// energy.csv (tidy, for pandas): header "layer,phase,component,energy_pj", one row per (layer,
// phase, component) with costed actions, energy_pj summed over the layer's ops and actions in that
// phase (9 significant digits); rows in order of first appearance in the run (op order), components
// in name order within a (layer, phase). RFC 4180 quoting. Deterministic.
std::string energy_csv(const EnergyReport& r);
// energy_actions.csv: every row of r: header "layer,phase,op,component,action,params,count,
// energy_pj" (action and params written as actions.csv writes them), energy_pj empty when
// uncosted.
std::string energy_actions_csv(const EnergyReport& r);
// Human-readable totals by component (uJ and share), by phase, then the uncosted actions.
std::string energy_summary(const EnergyReport& r, const EnergyTable& table);

}  // namespace lbsim
