// Energy tables (YAML with formulas) with overrides ("#p key=value" lines, as `--energy-node`),
// loaded as `lbsim report --energy FILE` loads them, then every entry costed once (its formula
// evaluated) on an action of its own selector with the other numeric parameters at 8.
#include "models/energy/energy_table.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = lbsim::fuzz::text_of(data, size);
  lbsim::fuzz::accept_or_reject([&] {
    const lbsim::EnergyTable table =
        lbsim::EnergyTable::parse(text, "fuzz/energy.yaml", lbsim::fuzz::override_lines(text));
    for (const lbsim::EnergyEntry& e : table.entries()) {
      const lbsim::ActionSpec* spec = lbsim::find_action(e.action);
      if (!spec) continue;
      lbsim::ActionKey key;
      key.name = e.action;
      for (size_t i = 0; i < spec->params.size(); ++i) {
        std::string value = spec->numeric[i] ? "8" : "x";
        for (const auto& [k, v] : e.selector)
          if (k == spec->params[i]) value = v;
        key.params.emplace_back(spec->params[i], value);
      }
      lbsim::fuzz::accept_or_reject([&] { (void)table.cost(key); });
    }
  });
  return 0;
}
