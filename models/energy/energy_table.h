// Energy table (arch_configs/energy/*.yaml, documented in arch_configs/energy/README.md): the
// dynamic energy in pJ of one action of the vocabulary in models/energy/actions.h, at one
// technology node.
//
//   schema_version: 1
//   name: horowitz45
//   node: 45                        # nm; must be a key of scaling.nodes
//   scaling:
//     source: "..."
//     nodes: {45: {logic: 1.0, sram: 1.0}, 28: {logic: 0.51, sram: 0.40}, ...}
//   actions:
//     int_mul:                       # an action name ...
//       formula: "3.1e-3 * a_bits * b_bits"
//       points: "int8 0.2, int32 3.1 (Horowitz ISSCC 2014)"
//       source: "fit to Horowitz ISSCC 2014, 45 nm"
//     dram_bit{type=ddr4}:          # ... optionally narrowed by parameter values
//       pj: 15
//       scale: none                  # logic (default) | sram | none
//       source: "..."
//
// Every entry has exactly one of `pj` (>= 0) and `formula` (over the action's numeric parameters;
// + - * / ^, parentheses, log2 ln sqrt ceil floor min max), a non-empty `source`, and `points`
// when it is a formula. A formula's value must be >= 0 when used. The value is multiplied by the
// node factor of its `scale` class. Lookup: the entry of that name whose selector parameters all
// equal the action's, most selectors first. Errors (unknown action or parameter, missing source,
// negative energy, bad formula, unknown node) carry file:line:col and are all reported at once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/energy/actions.h"

namespace lbsim {

class ConfigFile;
class Formula;  // parsed arithmetic expression (energy_table.cpp)

struct EnergyEntry {
  std::string key;  // as written, e.g. "dram_bit{type=ddr4}"
  std::string action;
  std::vector<std::pair<std::string, std::string>> selector;
  double pj = 0;  // when no formula
  std::shared_ptr<const Formula> formula;
  std::string formula_text, points, source;
  std::string scale = "logic";  // logic | sram | none
  SourceLoc loc;
};

class EnergyTable {
 public:
  // Loads and validates; `overrides` are "key=value" assignments applied first (e.g. "node=7").
  // Errors in an override name `origin` (e.g. "--energy-node"), else "<cmdline -p #i>".
  static EnergyTable load(const std::string& path, const std::vector<std::string>& overrides = {},
                          const std::string& origin = "");
  static EnergyTable parse(const std::string& text, const std::string& name,
                           const std::vector<std::string>& overrides = {},
                           const std::string& origin = "");
  static EnergyTable builtin(const std::vector<std::string>& overrides = {},
                             const std::string& origin = "");  // 45 nm default

  const std::string& name() const { return m_name; }
  const std::string& file() const { return m_file; }
  // FNV-1a of the table's YAML text (models/core/hash.h), overrides not included.
  const std::string& text_hash() const { return m_hash; }
  int node() const { return m_node; }
  double factor(const std::string& scale) const;  // node factor of a scale class (none = 1)
  const std::vector<EnergyEntry>& entries() const { return m_entries; }
  // The entry costing `key`, or null (uncosted).
  const EnergyEntry* find(const ActionKey& key) const;
  // pJ of one `key` action at this node, or nullopt when uncosted. UserError (entry's
  // file:line:col) when a formula gives a negative or non-finite value.
  std::optional<double> cost(const ActionKey& key) const;

 private:
  static EnergyTable from_config(ConfigFile& f, const std::vector<std::string>& overrides,
                                 const std::string& origin);
  std::string m_name, m_file, m_hash;
  int m_node = 45;
  double m_logic = 1, m_sram = 1;
  std::vector<EnergyEntry> m_entries;
};

const char* default_energy_yaml();  // the embedded arch_configs/energy/45nm.yaml

// Evaluates a formula text with named variables (for tests and tools); UserError on a parse error.
double eval_formula(const std::string& text,
                    const std::vector<std::pair<std::string, double>>& vars);

}  // namespace lbsim
