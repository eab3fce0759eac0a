// Declared parameters of a configurable component (number format, PE array, buffer, ...), read
// from the command line (a flat key=value bag) or from a YAML tree (nested maps and lists).
//
// A component reads each option exactly once through Params, giving its default, its allowed
// values and a one-line meaning. That single declaration is the validation (range, choices,
// unknown keys with "did you mean") and the documentation (`lbsim list-types`).
// Contract: getters never throw; they record an error (file:line:col of the offending value, the
// dotted key path, the allowed values) and return the default, so that one pass reports every
// problem. close() reports keys nobody read; finish() = close() + throw UserError listing all
// errors of the whole tree (children share one Diagnostics), sorted by position.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
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
  // A flat bag (command line, format spec strings). owner names the component in messages
  // ("format 'mls'"); prefix is the key path of the map the options came from.
  Params(std::string owner, std::map<std::string, ParamValue> values, SourceLoc where,
         std::string prefix = "");
  // A YAML map (or null node = empty map) from `file`; key_path is its dotted path ("" = root).
  static Params from_yaml(std::string owner, const YAML::Node& map, const std::string& file,
                          const std::string& key_path);

  int64_t get_int(const std::string& key, int64_t def, int64_t lo, int64_t hi,
                  const std::string& meaning);
  // Required: a missing key is an error reported at the enclosing map.
  int64_t req_int(const std::string& key, int64_t lo, int64_t hi, const std::string& meaning);
  double get_double(const std::string& key, double def, double lo, double hi,
                    const std::string& meaning);
  bool get_bool(const std::string& key, bool def, const std::string& meaning);
  std::string get_choice(const std::string& key, const std::string& def,
                         const std::vector<std::string>& choices, const std::string& meaning);
  // Free-form string; the component validates it and reports problems through error().
  std::string get_string(const std::string& key, const std::string& def, const std::string& allowed,
                         const std::string& meaning);
  // A list of integers ([3, 3]) or one integer meaning `def.size()` copies of it.
  std::vector<int64_t> get_int_list(const std::string& key, const std::vector<int64_t>& def,
                                    int64_t lo, int64_t hi, const std::string& meaning);

  // Nested map (YAML trees only). A missing optional child is an empty map; a missing required
  // child is an error. The child shares this tree's Diagnostics.
  Params child(const std::string& key, const std::string& owner, const std::string& meaning,
               bool required = false);
  // Sequence of maps (YAML trees only); a missing optional list is empty.
  std::vector<Params> list(const std::string& key, const std::string& owner,
                           const std::string& meaning, bool required = false);
  // The raw YAML node of a key (scalar or map), e.g. a number-format spec; marks the key as read.
  // Null when absent.
  YAML::Node node(const std::string& key, const std::string& default_text,
                  const std::string& allowed, const std::string& meaning);

  bool has(const std::string& key) const;
  // Every key of the map (sorted), for maps whose keys are names (a precision map's layers).
  std::vector<std::string> keys() const;
  // Reports an error against key (at the key's value when given, else the enclosing map).
  void error(const std::string& key, const std::string& msg);
  // Adds an already formatted message (e.g. from a nested parser) positioned at key's value.
  void add_formatted(const std::string& key, const std::string& text);

  void close();   // reports keys nobody read (with "did you mean")
  void finish();  // close(), then throws UserError if the tree has any error

  const std::vector<ParamDoc>& docs() const { return m_docs; }
  const std::string& owner() const { return m_owner; }
  const std::string& file() const { return m_file; }
  std::string path(const std::string& key) const;  // dotted key path of key
  SourceLoc loc_of(const std::string& key) const;  // value position, or the map's position
  SourceLoc where() const { return m_where; }
  const std::shared_ptr<Diagnostics>& diagnostics() const { return m_diag; }

 private:
  Params() = default;
  static Params make_child(std::string owner, const YAML::Node& map, const std::string& file,
                           const std::string& key_path, std::shared_ptr<Diagnostics> diag,
                           std::shared_ptr<const std::map<std::string, SourceLoc>> overrides);
  const ParamValue* lookup(const std::string& key, std::string def_text, std::string allowed,
                           const std::string& meaning);
  const YAML::Node* lookup_node(const std::string& key, const std::string& allowed,
                                const std::string& meaning);

  std::string m_owner;
  std::map<std::string, ParamValue> m_values;  // scalar values
  std::map<std::string, YAML::Node> m_nodes;   // non-scalar values (maps, lists)
  std::string m_file;
  SourceLoc m_where;
  std::string m_prefix;
  std::vector<ParamDoc> m_docs;
  std::shared_ptr<Diagnostics> m_diag = std::make_shared<Diagnostics>();
  // Key paths set on the command line and where ("<cmdline -p #2>"), shared by the whole tree.
  std::shared_ptr<const std::map<std::string, SourceLoc>> m_overrides;
  friend class ConfigFile;
};

// Where a node of a document from `file` starts: "file:line:col" (just the file when the node has
// no position, e.g. one made in code).
SourceLoc yaml_loc(const YAML::Node& n, const std::string& file);

// A yaml-cpp exception (syntax error, or a node used as what it is not) as a UserError located in
// `file`: "file:line:col: error: YAML syntax: ..." / "...: unexpected YAML structure: ...".
UserError yaml_error(const std::string& file, const YAML::Exception& e);

// Runs `fn` (a parser of a document from `file`) so that no yaml-cpp exception escapes it: the
// configuration boundary turns them into located UserErrors (yaml_error).
template <class F>
auto with_yaml_errors(const std::string& file, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const YAML::Exception& e) {
    throw yaml_error(file, e);
  }
}

// A YAML document from a file, with command-line overrides applied before validation.
class ConfigFile {
 public:
  // An unreadable file (input_file.h), a YAML syntax error, a mapping key that is not a plain
  // scalar (a list, map, alias or empty key) or a key repeated in one map (both lines named) ->
  // UserError "file:line:col: error: ...", every key problem of the document at once.
  static ConfigFile load(const std::string& path);
  static ConfigFile parse(const std::string& text, const std::string& name);
  // Applies "a.b.c=value" (from `-p`, index 1-based): creates intermediate maps, replaces the
  // scalar. Values keep their text; validation happens when the component reads them.
  // Malformed assignment -> UserError naming "<cmdline -p #index>".
  void set_override(const std::string& assignment, int index);
  // The same with the place the assignment came from (e.g. a sweep file's axis value).
  void set_override(const std::string& assignment, const SourceLoc& loc);
  Params root(const std::string& owner) const;
  const std::string& file() const { return m_file; }

 private:
  std::string m_file;
  YAML::Node m_root;
  std::map<std::string, SourceLoc> m_overrides;
};

}  // namespace lbsim
