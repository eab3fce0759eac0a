#include "models/core/params.h"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "models/core/input_file.h"

namespace lbsim {

SourceLoc yaml_loc(const YAML::Node& n, const std::string& file) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return SourceLoc{file};
  return SourceLoc{file, m.line + 1, m.column + 1};
}

namespace {

bool parse_int(const std::string& text, int64_t& out) {
  errno = 0;
  char* end = nullptr;
  long long x = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0) return false;
  out = x;
  return true;
}

// Checks the keys of every mapping of a document from its parse events (no walk of the node tree,
// which aliases can make cyclic or exponentially large): a key must be a plain scalar (not a
// list, map, alias or empty key), and a key may occur once per mapping.
class KeyChecker : public YAML::EventHandler {
 public:
  KeyChecker(std::string file, Diagnostics& diag) : m_file(std::move(file)), m_diag(diag) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override {
    if (key_position()) bad_key(mark, "an empty key");
    node(nullptr);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    if (key_position()) bad_key(mark, "an alias");
    node(nullptr);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string& value) override {
    node(&value, mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    start(mark, false);
  }
  void OnSequenceEnd() override { m_stack.pop_back(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    start(mark, true);
  }
  void OnMapEnd() override { m_stack.pop_back(); }

 private:
  struct Container {
    bool is_map;
    std::map<std::string, YAML::Mark> keys;  // maps: keys seen so far
    bool expect_value;                       // maps: the next node is a value
    std::string path;                        // dotted key path of this container
    std::string key;                         // maps: the current key
    size_t items;                            // sequences: items seen so far
  };
  // The key path of a node starting at the current position.
  std::string child_path() const {
    if (m_stack.empty()) return "";
    const Container& c = m_stack.back();
    if (!c.is_map) return fmt::format("{}[{}]", c.path, c.items);
    return c.path.empty() ? c.key : c.path + "." + c.key;
  }
  // A list or map starting at the current position.
  void start(const YAML::Mark& mark, bool is_map) {
    if (key_position()) bad_key(mark, is_map ? "a map" : "a list");
    const std::string path = child_path();
    node(nullptr);
    m_stack.push_back(Container{is_map, {}, false, path, "", 0});
  }
  bool key_position() const {
    return !m_stack.empty() && m_stack.back().is_map && !m_stack.back().expect_value;
  }
  SourceLoc loc(const YAML::Mark& m) const { return SourceLoc{m_file, m.line + 1, m.column + 1}; }
  void bad_key(const YAML::Mark& mark, const char* what) {
    m_diag.error(loc(mark), "", fmt::format("a mapping key must be a plain name, not {}", what));
  }
  // One node (a scalar, or null, an alias or the start of a collection) at the current position;
  // a non-scalar key was reported by the caller.
  void node(const std::string* scalar, const YAML::Mark& mark = YAML::Mark()) {
    if (m_stack.empty()) return;
    Container& c = m_stack.back();
    if (!c.is_map) {
      ++c.items;
      return;
    }
    if (c.expect_value) {
      c.expect_value = false;
      return;
    }
    c.expect_value = true;
    c.key = scalar ? *scalar : "?";
    if (!scalar) return;
    auto [it, fresh] = c.keys.emplace(*scalar, mark);
    if (!fresh) {
      m_diag.error(loc(mark), child_path(),
                   fmt::format("duplicate key (first at line {}); a key may occur once per map",
                               it->second.line + 1));
    }
  }
  std::string m_file;
  Diagnostics& m_diag;
  std::vector<Container> m_stack;
};

}  // namespace

Params::Params(std::string owner, std::map<std::string, ParamValue> values, SourceLoc where,
               std::string prefix)
    : m_owner(std::move(owner)),
      m_values(std::move(values)),
      m_file(where.file),
      m_where(std::move(where)),
      m_prefix(std::move(prefix)) {}

Params Params::from_yaml(std::string owner, const YAML::Node& map, const std::string& file,
                         const std::string& key_path) {
  return make_child(std::move(owner), map, file, key_path, std::make_shared<Diagnostics>(),
                    nullptr);
}

Params Params::make_child(std::string owner, const YAML::Node& map, const std::string& file,
                          const std::string& key_path, std::shared_ptr<Diagnostics> diag,
                          std::shared_ptr<const std::map<std::string, SourceLoc>> overrides) {
  Params p;
  p.m_owner = std::move(owner);
  p.m_file = file;
  p.m_prefix = key_path;
  p.m_where = map ? yaml_loc(map, file) : SourceLoc{file};
  p.m_diag = std::move(diag);
  p.m_overrides = std::move(overrides);
  if (!map || map.IsNull()) return p;
  if (!map.IsMap()) {
    p.m_diag->error(p.m_where, key_path, "expected a map of options");
    return p;
  }
  for (const auto& kv : map) {
    std::string key = kv.first.as<std::string>();
    if (kv.second.IsScalar())
      p.m_values[key] = {kv.second.Scalar(), yaml_loc(kv.second, file)};
    else
      p.m_nodes[key] = kv.second;
  }
  return p;
}

std::string Params::path(const std::string& key) const {
  return m_prefix.empty() ? key : m_prefix + "." + key;
}

SourceLoc Params::loc_of(const std::string& key) const {
  if (m_overrides) {
    auto o = m_overrides->find(path(key));
    if (o != m_overrides->end()) return o->second;
  }
  auto it = m_values.find(key);
  if (it != m_values.end()) return it->second.loc;
  auto nt = m_nodes.find(key);
  if (nt != m_nodes.end()) return yaml_loc(nt->second, m_file);
  return m_where;
}

bool Params::has(const std::string& key) const {
  return m_values.count(key) != 0 || m_nodes.count(key) != 0;
}

std::vector<std::string> Params::keys() const {
  std::vector<std::string> out;
  for (const auto& kv : m_values) out.push_back(kv.first);
  for (const auto& kv : m_nodes) out.push_back(kv.first);
  std::sort(out.begin(), out.end());
  return out;
}

const ParamValue* Params::lookup(const std::string& key, std::string def_text, std::string allowed,
                                 const std::string& meaning) {
  m_docs.push_back({key, std::move(def_text), allowed, meaning});
  auto it = m_values.find(key);
  if (it != m_values.end()) return &it->second;
  if (m_nodes.count(key)) error(key, fmt::format("expected a single value; allowed: {}", allowed));
  return nullptr;
}

const YAML::Node* Params::lookup_node(const std::string& key, const std::string& allowed,
                                      const std::string& meaning) {
  m_docs.push_back({key, "", allowed, meaning});
  auto it = m_nodes.find(key);
  if (it != m_nodes.end()) return &it->second;
  return nullptr;
}

void Params::error(const std::string& key, const std::string& msg) {
  m_diag->error(loc_of(key), path(key), msg);
}

void Params::add_formatted(const std::string& key, const std::string& text) {
  m_diag->add_formatted(loc_of(key), text);
}

int64_t Params::get_int(const std::string& key, int64_t def, int64_t lo, int64_t hi,
                        const std::string& meaning) {
  std::string allowed = fmt::format("integer in [{}, {}]", lo, hi);
  const ParamValue* v = lookup(key, std::to_string(def), allowed, meaning);
  if (!v) return def;
  int64_t x = 0;
  if (!parse_int(v->text, x)) {
    error(key, fmt::format("'{}' is not an integer; allowed: {}", v->text, allowed));
    return def;
  }
  if (x < lo || x > hi) {
    error(key, fmt::format("{} is outside [{}, {}]", x, lo, hi));
    return def;
  }
  return x;
}

int64_t Params::req_int(const std::string& key, int64_t lo, int64_t hi,
                        const std::string& meaning) {
  if (!has(key)) {
    m_docs.push_back({key, "(required)", fmt::format("integer in [{}, {}]", lo, hi), meaning});
    m_diag->error(m_where, path(key),
                  fmt::format("missing; {} (integer in [{}, {}])", meaning, lo, hi));
    return lo;
  }
  int64_t x = get_int(key, lo, lo, hi, meaning);
  m_docs.back().default_text = "(required)";
  return x;
}

double Params::get_double(const std::string& key, double def, double lo, double hi,
                          const std::string& meaning) {
  // %.15g: ranges read as written in the docs (1000000, not 1e+06).
  std::string allowed = fmt::format("number in [{:.15g}, {:.15g}]", lo, hi);
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
    error(key, fmt::format("{} is outside [{:.15g}, {:.15g}]", v->text, lo, hi));
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

std::vector<int64_t> Params::get_int_list(const std::string& key, const std::vector<int64_t>& def,
                                          int64_t lo, int64_t hi, const std::string& meaning) {
  std::string allowed =
      fmt::format("{} integers in [{}, {}] (a list, or one value for all)", def.size(), lo, hi);
  std::string def_text = "[";
  for (size_t i = 0; i < def.size(); ++i) def_text += (i ? ", " : "") + std::to_string(def[i]);
  def_text += "]";
  m_docs.push_back({key, def_text, allowed, meaning});
  std::vector<std::string> texts;
  auto sv = m_values.find(key);
  auto nv = m_nodes.find(key);
  if (sv != m_values.end()) {
    texts.assign(def.size(), sv->second.text);
  } else if (nv != m_nodes.end() && nv->second.IsSequence()) {
    for (const auto& item : nv->second) {
      if (!item.IsScalar()) {
        error(key, "expected " + allowed);
        return def;
      }
      texts.push_back(item.Scalar());
    }
  } else if (nv != m_nodes.end()) {
    error(key, "expected " + allowed);
    return def;
  } else {
    return def;
  }
  if (texts.size() != def.size()) {
    error(key, fmt::format("has {} values; expected {}", texts.size(), allowed));
    return def;
  }
  std::vector<int64_t> out(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    if (!parse_int(texts[i], out[i]) || out[i] < lo || out[i] > hi) {
      error(key, fmt::format("'{}' is not allowed; expected {}", texts[i], allowed));
      return def;
    }
  }
  return out;
}

Params Params::child(const std::string& key, const std::string& owner, const std::string& meaning,
                     bool required) {
  const YAML::Node* n = lookup_node(key, "a map", meaning);
  if (!n) {
    if (m_values.count(key))
      error(key, "expected a map of options");
    else if (required)
      m_diag->error(m_where, path(key), fmt::format("missing; {}", meaning));
  }
  Params c = make_child(owner, n ? *n : YAML::Node(), m_file, path(key), m_diag, m_overrides);
  if (!n) c.m_where = m_where;
  return c;
}

std::vector<Params> Params::list(const std::string& key, const std::string& owner,
                                 const std::string& meaning, bool required) {
  const YAML::Node* n = lookup_node(key, "a list of maps", meaning);
  std::vector<Params> out;
  if (!n) {
    if (m_values.count(key))
      error(key, "expected a list of maps");
    else if (required)
      m_diag->error(m_where, path(key), fmt::format("missing; {}", meaning));
    return out;
  }
  if (!n->IsSequence()) {
    error(key, "expected a list of maps");
    return out;
  }
  size_t i = 0;
  for (const auto& item : *n) {
    std::string item_path = fmt::format("{}[{}]", path(key), i++);
    out.push_back(make_child(owner, item, m_file, item_path, m_diag, m_overrides));
  }
  return out;
}

YAML::Node Params::node(const std::string& key, const std::string& default_text,
                        const std::string& allowed, const std::string& meaning) {
  m_docs.push_back({key, default_text, allowed, meaning});
  auto it = m_nodes.find(key);
  if (it != m_nodes.end()) return it->second;
  auto sv = m_values.find(key);
  if (sv == m_values.end()) return YAML::Node();
  YAML::Node scalar(sv->second.text);
  return scalar;
}

void Params::close() {
  std::vector<std::string> known;
  for (const auto& d : m_docs) known.push_back(d.key);
  auto report = [&](const std::string& key) {
    for (const auto& k : known)
      if (k == key) return;
    std::string hint = did_you_mean(key, known);
    m_diag->error(loc_of(key), path(key),
                  fmt::format("unknown key for {}; allowed: {}{}", m_owner,
                              known.empty() ? "(none)" : join(known),
                              hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
  };
  for (const auto& kv : m_values) report(kv.first);
  for (const auto& kv : m_nodes) report(kv.first);
}

void Params::finish() {
  close();
  m_diag->throw_if_any();
}

UserError yaml_error(const std::string& file, const YAML::Exception& e) {
  const bool syntax = dynamic_cast<const YAML::ParserException*>(&e) != nullptr;
  const std::string what = syntax ? "YAML syntax: " + e.msg : "unexpected YAML structure: " + e.msg;
  if (e.mark.is_null()) return UserError(fmt::format("{}: error: {}", file, what));
  return UserError(
      fmt::format("{}:{}:{}: error: {}", file, e.mark.line + 1, e.mark.column + 1, what));
}

ConfigFile ConfigFile::load(const std::string& path) { return parse(read_input_file(path), path); }

ConfigFile ConfigFile::parse(const std::string& text, const std::string& name) {
  ConfigFile c;
  c.m_file = name;
  try {
    c.m_root = YAML::Load(text);
    // The keys of the first document (the one Load returned), from the parse events.
    std::istringstream in(text);
    YAML::Parser parser(in);
    Diagnostics diag;
    KeyChecker checker(name, diag);
    parser.HandleNextDocument(checker);
    diag.throw_if_any();
  } catch (const YAML::Exception& e) {
    throw yaml_error(name, e);
  }
  return c;
}

void ConfigFile::set_override(const std::string& assignment, int index) {
  set_override(assignment, SourceLoc{fmt::format("<cmdline -p #{}>", index)});
}

void ConfigFile::set_override(const std::string& assignment, const SourceLoc& loc) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw UserError(fmt::format("{}: error: '{}' is not key.path=value", loc.str(), assignment));
  std::string key = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (const auto& p : parts)
    if (p.empty())
      throw UserError(fmt::format("{}: error: '{}' has an empty key component", loc.str(), key));
  if (!m_root || m_root.IsNull()) m_root = YAML::Node(YAML::NodeType::Map);
  // yaml-cpp nodes are handles: walk down with copies, creating maps as needed.
  std::vector<YAML::Node> chain{m_root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = chain.back()[parts[i]];
    if (!next || next.IsNull()) {
      chain.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
      next = chain.back()[parts[i]];
    } else if (!next.IsMap()) {
      throw UserError(fmt::format("{}: error: {}: '{}' is not a map", loc.str(), key, parts[i]));
    }
    chain.push_back(next);
  }
  chain.back()[parts.back()] = value;
  m_overrides[key] = loc;
}

Params ConfigFile::root(const std::string& owner) const {
  return Params::make_child(owner, m_root, m_file, "", std::make_shared<Diagnostics>(),
                            std::make_shared<const std::map<std::string, SourceLoc>>(m_overrides));
}

}  // namespace lbsim
