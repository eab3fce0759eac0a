#include "models/core/stats.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "models/core/json_text.h"

namespace lbsim {

uint64_t& StatGroup::counter(const std::string& name, const std::string& unit,
                             const std::string& meaning) {
  for (const auto& c : m_counters)
    if (c.name == name)
      throw std::logic_error("counter '" + name + "' registered twice in '" + m_name + "'");
  m_counters.push_back({name, unit, meaning, 0});
  return m_counters.back().value;
}

StatGroup& StatGroup::child(const std::string& name) {
  for (auto& c : m_children)
    if (c->m_name == name) return *c;
  m_children.push_back(std::make_unique<StatGroup>(name));
  return *m_children.back();
}

std::vector<const StatGroup*> StatGroup::children() const {
  std::vector<const StatGroup*> out;
  for (const auto& c : m_children) out.push_back(c.get());
  return out;
}

uint64_t StatGroup::value(const std::string& path) const {
  auto dot = path.find('.');
  if (dot == std::string::npos) {
    for (const auto& c : m_counters)
      if (c.name == path) return c.value;
    throw std::out_of_range("no counter '" + path + "' in '" + m_name + "'");
  }
  std::string head = path.substr(0, dot);
  for (const auto& c : m_children)
    if (c->m_name == head) return c->value(path.substr(dot + 1));
  throw std::out_of_range("no group '" + head + "' in '" + m_name + "'");
}

namespace {
nlohmann::ordered_json to_json_tree(const StatGroup& g) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& c : g.counters())
    j[c.name] = {{"value", c.value}, {"unit", c.unit}, {"meaning", c.meaning}};
  for (const StatGroup* c : g.children()) j[c->name()] = to_json_tree(*c);
  return j;
}
}  // namespace

std::string StatGroup::to_json(int indent) const {
  nlohmann::ordered_json j;
  j[m_name] = to_json_tree(*this);
  return json_text(j, indent);
}

}  // namespace lbsim
