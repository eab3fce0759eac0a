// Declared parameters of a registered component (number format, MAC array, ...).
//
// A component reads each option exactly once through Params, giving its default, its allowed
// values and a one-line meaning. That single declaration is the validation (range, choices,
// unknown keys with "did you mean") and the documentation (`lbsim list-types`).
// Contract: getters never throw; they record an error and return the default so that one pass
// reports every problem. finish() throws UserError listing all of them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/core/error.h"

namespace lbsim {

struct ParamValue {
  std::string text;
  SourceLoc loc;
};

struct ParamDoc {
  std::string key;
  std::string default_text;
  std::string allowed;  // "[1, 24]", "nearest | stochastic", ...
  std::string meaning;
};

class Params {
 public:
  // owner names the component in messages ("format 'mls'"); prefix is the key path of the map the
  // options came from ("pe_array.weight_format"), empty for the command line.
  Params(std::string owner, std::map<std::string, ParamValue> values, SourceLoc where,
         std::string prefix = "");

  int64_t get_int(const std::string& key, int64_t def, int64_t lo, int64_t hi,
                  const std::string& meaning);
  double get_double(const std::string& key, double def, double lo, double hi,
                    const std::string& meaning);
  bool get_bool(const std::string& key, bool def, const std::string& meaning);
  std::string get_choice(const std::string& key, const std::string& def,
                         const std::vector<std::string>& choices, const std::string& meaning);
  // Free-form string; the component validates it and reports problems through error().
  std::string get_string(const std::string& key, const std::string& def, const std::string& allowed,
                         const std::string& meaning);

  bool has(const std::string& key) const { return m_values.count(key) != 0; }
  // Reports an error against key (at the key's position when it was given, else the owner's).
  void error(const std::string& key, const std::string& msg);

  // Reports unknown keys, then throws UserError if any error was recorded.
  void finish();

  const std::vector<ParamDoc>& docs() const { return m_docs; }
  const std::string& owner() const { return m_owner; }

 private:
  const ParamValue* lookup(const std::string& key, std::string def_text, std::string allowed,
                           const std::string& meaning);
  std::string path(const std::string& key) const;

  std::string m_owner;
  std::map<std::string, ParamValue> m_values;
  SourceLoc m_where;
  std::string m_prefix;
  std::vector<ParamDoc> m_docs;
  Diagnostics m_diag;
};

}  // namespace lbsim
