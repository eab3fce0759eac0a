// One registry template for every pluggable kind (number formats now; MAC arrays, buffers and
// DRAM models later). An implementation registers itself by its YAML/CLI `type` name at
// static-initialisation time (LBSIM_REGISTER), so adding a variant never edits a central list.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/core/params.h"

namespace lbsim {

template <class I>
class Registry {
 public:
  using Maker = std::function<std::shared_ptr<const I>(Params&)>;
  struct Entry {
    std::string name;
    std::string description;
    Maker make;
  };

  // Duplicate names are a programming error, caught at start-up.
  static bool add(const std::string& name, const std::string& description, Maker make) {
    auto& t = table();
    if (t.count(name)) throw std::logic_error("duplicate registration of '" + name + "'");
    t.emplace(name, Entry{name, description, std::move(make)});
    return true;
  }
  static const Entry* find(const std::string& name) {
    auto& t = table();
    auto it = t.find(name);
    return it == t.end() ? nullptr : &it->second;
  }
  static std::vector<std::string> names() {
    std::vector<std::string> out;
    for (const auto& kv : table()) out.push_back(kv.first);
    return out;
  }
  static std::vector<const Entry*> entries() {
    std::vector<const Entry*> out;
    for (const auto& kv : table()) out.push_back(&kv.second);
    return out;
  }

 private:
  static std::map<std::string, Entry>& table() {
    static std::map<std::string, Entry> t;  // function-local: safe during static init
    return t;
  }
};

}  // namespace lbsim

#define LBSIM_CONCAT_INNER(a, b) a##b
#define LBSIM_CONCAT(a, b) LBSIM_CONCAT_INNER(a, b)
// LBSIM_REGISTER(Interface, "name", "description", maker) at namespace scope in an impl .cpp.
#define LBSIM_REGISTER(IFACE, NAME, DESC, MAKER)                                                 \
  namespace {                                                                                    \
  [[maybe_unused]] const bool LBSIM_CONCAT(lbsim_registered_,                                    \
                                           __LINE__) = ::lbsim::Registry<IFACE>::add(NAME, DESC, \
                                                                                     MAKER);     \
  }
