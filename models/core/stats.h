// Statistics counted once (docs/design.md §5): a component registers each counter at construction
// with its name, unit and one-line meaning, keeps the returned reference and bumps it on the hot
// path (no string lookups). A run dumps the whole tree as JSON; energy is applied afterwards from a
// table, never inside timing code.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lbsim {

struct Counter {
  std::string name;
  std::string unit;  // "cycles", "bytes", "ops", "events", ...
  std::string meaning;
  uint64_t value = 0;
};

class StatGroup {
 public:
  explicit StatGroup(std::string name) : m_name(std::move(name)) {}
  StatGroup(const StatGroup&) = delete;
  StatGroup& operator=(const StatGroup&) = delete;

  // Registers a counter; a second registration of the same name is a programming error.
  uint64_t& counter(const std::string& name, const std::string& unit, const std::string& meaning);
  // Child group (created on first use); its path is "<this path>.<name>".
  StatGroup& child(const std::string& name);

  const std::string& name() const { return m_name; }
  const std::deque<Counter>& counters() const { return m_counters; }
  std::vector<const StatGroup*> children() const;  // in creation order
  // Value of a counter by dotted path relative to this group ("pe_array.mac_ops"); throws
  // std::out_of_range when absent. For reports and tests, not for hot paths.
  uint64_t value(const std::string& path) const;
  // {"name": {"counter": {"value": v, "unit": u, "meaning": m}, "child": {...}}}
  std::string to_json(int indent = 2) const;

 private:
  std::string m_name;
  std::deque<Counter> m_counters;  // deque: references stay valid as counters are added
  std::vector<std::unique_ptr<StatGroup>> m_children;
};

}  // namespace lbsim
