#include "models/core/params.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>

namespace lbsim {

Params::Params(std::string owner, std::map<std::string, ParamValue> values, SourceLoc where,
               std::string prefix)
    : m_owner(std::move(owner)),
      m_values(std::move(values)),
      m_where(std::move(where)),
      m_prefix(std::move(prefix)) {}

std::string Params::path(const std::string& key) const {
  return m_prefix.empty() ? key : m_prefix + "." + key;
}

const ParamValue* Params::lookup(const std::string& key, std::string def_text, std::string allowed,
                                 const std::string& meaning) {
  m_docs.push_back({key, std::move(def_text), std::move(allowed), meaning});
  auto it = m_values.find(key);
  return it == m_values.end() ? nullptr : &it->second;
}

void Params::error(const std::string& key, const std::string& msg) {
  auto it = m_values.find(key);
  m_diag.error(it == m_values.end() ? m_where : it->second.loc, path(key), msg);
}

int64_t Params::get_int(const std::string& key, int64_t def, int64_t lo, int64_t hi,
                        const std::string& meaning) {
  std::string allowed = fmt::format("integer in [{}, {}]", lo, hi);
  const ParamValue* v = lookup(key, std::to_string(def), allowed, meaning);
  if (!v) return def;
  errno = 0;
  char* end = nullptr;
  long long x = std::strtoll(v->text.c_str(), &end, 10);
  if (v->text.empty() || *end != '\0' || errno != 0) {
    error(key, fmt::format("'{}' is not an integer; allowed: {}", v->text, allowed));
    return def;
  }
  if (x < lo || x > hi) {
    error(key, fmt::format("{} is outside [{}, {}]", x, lo, hi));
    return def;
  }
  return x;
}

double Params::get_double(const std::string& key, double def, double lo, double hi,
                          const std::string& meaning) {
  std::string allowed = fmt::format("number in [{}, {}]", lo, hi);
  const ParamValue* v = lookup(key, fmt::format("{}", def), allowed, meaning);
  if (!v) return def;
  errno = 0;
  char* end = nullptr;
  double x = std::strtod(v->text.c_str(), &end);
  if (v->text.empty() || *end != '\0' || errno != 0) {
    error(key, fmt::format("'{}' is not a number; allowed: {}", v->text, allowed));
    return def;
  }
  if (!(x >= lo && x <= hi)) {
    error(key, fmt::format("{} is outside [{}, {}]", v->text, lo, hi));
    return def;
  }
  return x;
}

bool Params::get_bool(const std::string& key, bool def, const std::string& meaning) {
  const ParamValue* v = lookup(key, def ? "true" : "false", "true | false", meaning);
  if (!v) return def;
  if (v->text == "true") return true;
  if (v->text == "false") return false;
  error(key, fmt::format("'{}' is not a boolean; allowed: true, false", v->text));
  return def;
}

std::string Params::get_choice(const std::string& key, const std::string& def,
                               const std::vector<std::string>& choices,
                               const std::string& meaning) {
  const ParamValue* v = lookup(key, def, join(choices, " | "), meaning);
  if (!v) return def;
  for (const auto& c : choices)
    if (c == v->text) return c;
  std::string hint = did_you_mean(v->text, choices);
  error(key, fmt::format("'{}' is not allowed; allowed: {}{}", v->text, join(choices),
                         hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
  return def;
}

std::string Params::get_string(const std::string& key, const std::string& def,
                               const std::string& allowed, const std::string& meaning) {
  const ParamValue* v = lookup(key, def, allowed, meaning);
  return v ? v->text : def;
}

void Params::finish() {
  std::vector<std::string> known;
  for (const auto& d : m_docs) known.push_back(d.key);
  for (const auto& [key, value] : m_values) {
    bool found = false;
    for (const auto& k : known) found = found || k == key;
    if (found) continue;
    std::string hint = did_you_mean(key, known);
    m_diag.error(value.loc, path(key),
                 fmt::format("unknown option for {}; allowed: {}{}", m_owner,
                             known.empty() ? "(none)" : join(known),
                             hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
  }
  m_diag.throw_if_any();
}

}  // namespace lbsim
