#include "models/energy/energy_table.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>

#include "models/core/hash.h"
#include "models/core/input_file.h"
#include "models/core/params.h"

namespace lbsim {

extern const char* const kEmbeddedDefaultEnergyYaml;
const char* default_energy_yaml() { return kEmbeddedDefaultEnergyYaml; }

// ---- formulas --------------------------------------------------------------------------------

class Formula {
 public:
  struct Node {
    char op = 'n';  // n number, v variable, f function, + - * / ^, u unary minus
    double value = 0;
    std::string name;
    std::vector<std::unique_ptr<Node>> kids;
    int height = 1;  // levels of the tree below and including this node
  };
  struct ParseError {
    size_t pos;
    std::string msg;
  };
  // Deepest nesting of parentheses, function calls, unary minus and ^, and the deepest tree
  // (every binary operator adds a level): a formula is a short expression, and the parser,
  // evaluator and destructor recurse once per level.
  static constexpr int kMaxDepth = 100;
  explicit Formula(const std::string& text) : m_text(text) {
    m_root = expr();
    skip();
    if (m_pos != m_text.size()) throw ParseError{m_pos, "unexpected text"};
  }
  double eval(const std::map<std::string, double>& vars) const { return eval(*m_root, vars); }
  // Every variable name used.
  void variables(std::vector<std::string>& out) const { collect(*m_root, out); }

 private:
  using P = std::unique_ptr<Node>;
  void skip() {
    while (m_pos < m_text.size() && std::isspace(static_cast<unsigned char>(m_text[m_pos])))
      ++m_pos;
  }
  bool eat(char c) {
    skip();
    if (m_pos < m_text.size() && m_text[m_pos] == c) {
      ++m_pos;
      return true;
    }
    return false;
  }
  // Counts one level of parser recursion for the lifetime of the guard.
  struct Nesting {
    explicit Nesting(Formula& f) : m_f(f) {
      if (++m_f.m_nesting > kMaxDepth) throw too_deep(m_f.m_pos);
    }
    ~Nesting() { --m_f.m_nesting; }
    Formula& m_f;
  };
  static ParseError too_deep(size_t pos) {
    return ParseError{pos, fmt::format("formula nests deeper than {} levels (parentheses, "
                                       "functions, operators)",
                                       kMaxDepth)};
  }
  // A node over its children, within the depth limit.
  P node(P n) const {
    for (const auto& k : n->kids) n->height = std::max(n->height, k->height + 1);
    if (n->height > kMaxDepth) throw too_deep(m_pos);
    return n;
  }
  P bin(char op, P a, P b) const {
    P n = std::make_unique<Node>();
    n->op = op;
    n->kids.push_back(std::move(a));
    n->kids.push_back(std::move(b));
    return node(std::move(n));
  }
  P expr() {
    Nesting guard(*this);
    P a = term();
    for (;;) {
      if (eat('+'))
        a = bin('+', std::move(a), term());
      else if (eat('-'))
        a = bin('-', std::move(a), term());
      else
        return a;
    }
  }
  P term() {
    P a = unary();
    for (;;) {
      if (eat('*'))
        a = bin('*', std::move(a), unary());
      else if (eat('/'))
        a = bin('/', std::move(a), unary());
      else
        return a;
    }
  }
  P unary() {
    if (eat('-')) {
      Nesting guard(*this);
      P n = std::make_unique<Node>();
      n->op = 'u';
      n->kids.push_back(unary());
      return node(std::move(n));
    }
    P a = primary();
    if (eat('^')) {
      Nesting guard(*this);
      return bin('^', std::move(a), unary());
    }
    return a;
  }
  P primary() {
    skip();
    if (m_pos >= m_text.size()) throw ParseError{m_pos, "unexpected end of formula"};
    if (eat('(')) {
      P a = expr();
      if (!eat(')')) throw ParseError{m_pos, "expected ')'"};
      return a;
    }
    const char c = m_text[m_pos];
    P n = std::make_unique<Node>();
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      // strtod on the text in place (a copy of the rest per number would be quadratic).
      const char* start = m_text.c_str() + m_pos;
      char* end = nullptr;
      errno = 0;
      n->value = std::strtod(start, &end);
      if (end == start || errno == ERANGE) throw ParseError{m_pos, "bad number"};
      m_pos += static_cast<size_t>(end - start);
      return n;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const size_t start = m_pos;
      while (m_pos < m_text.size() &&
             (std::isalnum(static_cast<unsigned char>(m_text[m_pos])) || m_text[m_pos] == '_'))
        ++m_pos;
      n->name = m_text.substr(start, m_pos - start);
      if (!eat('(')) {
        n->op = 'v';
        return n;
      }
      static const std::map<std::string, int> arity = {
          {"log2", 1}, {"ln", 1}, {"sqrt", 1}, {"ceil", 1}, {"floor", 1}, {"min", 2}, {"max", 2}};
      auto it = arity.find(n->name);
      if (it == arity.end())
        throw ParseError{
            start, "unknown function '" + n->name + "' (known: log2 ln sqrt ceil floor min max)"};
      n->op = 'f';
      for (int i = 0; i < it->second; ++i) {
        if (i > 0 && !eat(',')) throw ParseError{m_pos, "expected ','"};
        n->kids.push_back(expr());
      }
      if (!eat(')')) throw ParseError{m_pos, "expected ')'"};
      return node(std::move(n));
    }
    throw ParseError{m_pos, std::string("unexpected '") + c + "'"};
  }
  static double eval(const Node& n, const std::map<std::string, double>& vars) {
    auto k = [&](size_t i) { return eval(*n.kids[i], vars); };
    switch (n.op) {
      case 'n':
        return n.value;
      case 'v': {
        auto it = vars.find(n.name);
        return it == vars.end() ? std::nan("") : it->second;
      }
      case 'u':
        return -k(0);
      case '+':
        return k(0) + k(1);
      case '-':
        return k(0) - k(1);
      case '*':
        return k(0) * k(1);
      case '/':
        return k(0) / k(1);
      case '^':
        return std::pow(k(0), k(1));
      default:
        break;
    }
    const double a = k(0);
    if (n.name == "log2") return std::log2(a);
    if (n.name == "ln") return std::log(a);
    if (n.name == "sqrt") return std::sqrt(a);
    if (n.name == "ceil") return std::ceil(a);
    if (n.name == "floor") return std::floor(a);
    if (n.name == "min") return std::min(a, k(1));
    return std::max(a, k(1));
  }
  static void collect(const Node& n, std::vector<std::string>& out) {
    if (n.op == 'v') out.push_back(n.name);
    for (const auto& c : n.kids) collect(*c, out);
  }
  std::string m_text;
  size_t m_pos = 0;
  int m_nesting = 0;
  P m_root;
};

double eval_formula(const std::string& text,
                    const std::vector<std::pair<std::string, double>>& vars) {
  try {
    Formula f(text);
    return f.eval(std::map<std::string, double>(vars.begin(), vars.end()));
  } catch (const Formula::ParseError& e) {
    throw UserError(fmt::format("formula '{}': error at character {}: {}", text, e.pos + 1, e.msg));
  }
}

// ---- table -----------------------------------------------------------------------------------

namespace {

// "name{k=v,k=v}" (';' also separates) -> name and selector; "" on syntax error.
bool split_key(const std::string& key, std::string& name,
               std::vector<std::pair<std::string, std::string>>& sel) {
  const size_t brace = key.find('{');
  name = key.substr(0, brace);
  if (brace == std::string::npos) return !name.empty();
  if (key.back() != '}') return false;
  std::string body = key.substr(brace + 1, key.size() - brace - 2);
  std::replace(body.begin(), body.end(), ';', ',');
  size_t start = 0;
  while (start <= body.size() && !body.empty()) {
    size_t end = body.find(',', start);
    if (end == std::string::npos) end = body.size();
    std::string kv = body.substr(start, end - start);
    kv.erase(std::remove(kv.begin(), kv.end(), ' '), kv.end());
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == kv.size()) return false;
    sel.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    start = end + 1;
    if (end == body.size()) break;
  }
  return !name.empty();
}

}  // namespace

EnergyTable EnergyTable::load(const std::string& path, const std::vector<std::string>& overrides,
                              const std::string& origin) {
  return parse(read_input_file(path), path, overrides, origin);
}

EnergyTable EnergyTable::parse(const std::string& text, const std::string& name,
                               const std::vector<std::string>& overrides,
                               const std::string& origin) {
  ConfigFile f = ConfigFile::parse(text, name);
  EnergyTable t = with_yaml_errors(name, [&] { return from_config(f, overrides, origin); });
  t.m_hash = fnv1a_hex(text);
  return t;
}

EnergyTable EnergyTable::builtin(const std::vector<std::string>& overrides,
                                 const std::string& origin) {
  return parse(kEmbeddedDefaultEnergyYaml, "<built-in energy table 45nm.yaml>", overrides, origin);
}

EnergyTable EnergyTable::from_config(ConfigFile& f, const std::vector<std::string>& overrides,
                                     const std::string& origin) {
  for (size_t i = 0; i < overrides.size(); ++i) {
    if (origin.empty())
      f.set_override(overrides[i], static_cast<int>(i + 1));
    else
      f.set_override(overrides[i], SourceLoc{origin});
  }
  EnergyTable t;
  const std::string file = f.file();
  t.m_file = file;
  Params root = f.root("energy table");
  std::shared_ptr<Diagnostics> diag = root.diagnostics();
  root.get_int("schema_version", 1, 1, 1, "energy table schema version");
  t.m_name = root.get_string("name", "", "text", "table name");
  t.m_node = static_cast<int>(root.get_int("node", 45, 1, 1000, "technology node in nm"));
  const SourceLoc node_loc = root.loc_of("node");

  // Scaling.
  YAML::Node scaling = root.node("scaling", "", "map", "node scaling factors");
  bool node_found = false;
  if (!scaling || !scaling.IsMap()) {
    diag->error(root.loc_of("scaling"), "scaling", "required map {source, nodes}");
  } else {
    bool has_source = false;
    for (auto it = scaling.begin(); it != scaling.end(); ++it) {
      const std::string k = it->first.as<std::string>();
      if (k == "source") {
        has_source = it->second.IsScalar() && !it->second.as<std::string>().empty();
      } else if (k != "nodes") {
        diag->error(yaml_loc(it->first, file), "scaling." + k,
                    "unknown key; allowed: source, nodes");
      }
    }
    if (!has_source) diag->error(yaml_loc(scaling, file), "scaling", "missing source");
    const YAML::Node nodes = static_cast<const YAML::Node&>(scaling)["nodes"];
    if (!nodes || !nodes.IsMap()) {
      diag->error(yaml_loc(scaling, file), "scaling.nodes", "required map {<nm>: {logic, sram}}");
    } else {
      std::vector<std::string> known_nodes;
      for (auto it = nodes.begin(); it != nodes.end(); ++it) {
        const std::string nm = it->first.as<std::string>();
        known_nodes.push_back(nm);
        const std::string path = "scaling.nodes." + nm;
        int nm_value = 0;
        try {
          nm_value = it->first.as<int>();
        } catch (const YAML::Exception&) {
          diag->error(yaml_loc(it->first, file), path, "node must be an integer (nm)");
          continue;
        }
        double logic = -1, sram = -1;
        if (!it->second.IsMap()) {
          diag->error(yaml_loc(it->second, file), path,
                      "expected {logic: <factor>, sram: <factor>}");
          continue;
        }
        for (auto jt = it->second.begin(); jt != it->second.end(); ++jt) {
          const std::string k = jt->first.as<std::string>();
          double v = -1;
          try {
            v = jt->second.as<double>();
          } catch (const YAML::Exception&) {
          }
          if (k != "logic" && k != "sram") {
            diag->error(yaml_loc(jt->first, file), path + "." + k,
                        "unknown key; allowed: logic, sram");
          } else if (!(v > 0) || !std::isfinite(v)) {
            diag->error(yaml_loc(jt->second, file), path + "." + k, "factor must be a number > 0");
          } else {
            (k == "logic" ? logic : sram) = v;
          }
        }
        if (logic < 0 || sram < 0) {
          diag->error(yaml_loc(it->second, file), path, "needs both logic and sram factors");
        } else if (nm_value == t.m_node) {
          t.m_logic = logic;
          t.m_sram = sram;
          node_found = true;
        }
      }
      if (!node_found)
        diag->error(node_loc, "node",
                    fmt::format("node {} nm has no entry in scaling.nodes; allowed: {}", t.m_node,
                                join(known_nodes)));
    }
  }

  // Actions.
  YAML::Node actions = root.node("actions", "", "map", "per-action energies");
  if (!actions || !actions.IsMap()) {
    diag->error(root.loc_of("actions"), "actions", "required map of action -> entry");
  } else {
    std::vector<std::string> names;
    for (const ActionSpec& s : action_vocabulary()) names.push_back(s.name);
    for (auto it = actions.begin(); it != actions.end(); ++it) {
      EnergyEntry e;
      e.key = it->first.as<std::string>();
      e.loc = yaml_loc(it->first, file);
      const std::string path = "actions." + e.key;
      if (!split_key(e.key, e.action, e.selector)) {
        diag->error(e.loc, path, "bad action key; expected name or name{param=value,...}");
        continue;
      }
      const ActionSpec* spec = find_action(e.action);
      if (!spec) {
        const std::string dym = did_you_mean(e.action, names);
        diag->error(e.loc, path,
                    fmt::format("unknown action '{}'{}; known: {}", e.action,
                                dym.empty() ? "" : " (did you mean '" + dym + "'?)", join(names)));
        continue;
      }
      bool ok = true;
      for (const auto& [k, v] : e.selector)
        if (std::find(spec->params.begin(), spec->params.end(), k) == spec->params.end()) {
          diag->error(e.loc, path,
                      fmt::format("action {} has no parameter '{}' (parameters: {})", e.action, k,
                                  spec->params.empty() ? "none" : join(spec->params)));
          ok = false;
        }
      const YAML::Node body = it->second;  // a copy: it->second lives in a temporary
      if (!body.IsMap()) {
        diag->error(yaml_loc(body, file), path, "expected {pj | formula, source, ...}");
        continue;
      }
      bool has_pj = false;
      SourceLoc formula_loc;
      for (auto jt = body.begin(); jt != body.end(); ++jt) {
        const std::string k = jt->first.as<std::string>();
        const SourceLoc vloc = yaml_loc(jt->second, file);
        const std::string kp = path + "." + k;
        if (!jt->second.IsScalar()) {
          diag->error(vloc, kp, "expected a scalar");
          ok = false;
          continue;
        }
        const std::string v = jt->second.as<std::string>();
        if (k == "pj") {
          has_pj = true;
          try {
            e.pj = jt->second.as<double>();
          } catch (const YAML::Exception&) {
            diag->error(vloc, kp, "expected a number (pJ)");
            ok = false;
            continue;
          }
          if (!std::isfinite(e.pj) || e.pj < 0) {
            diag->error(vloc, kp, fmt::format("negative or non-finite energy {}", v));
            ok = false;
          }
        } else if (k == "formula") {
          e.formula_text = v;
          formula_loc = vloc;
          try {
            auto parsed = std::make_shared<Formula>(v);
            std::vector<std::string> vars;
            parsed->variables(vars);
            for (const std::string& var : vars) {
              auto p = std::find(spec->params.begin(), spec->params.end(), var);
              if (p == spec->params.end() || !spec->numeric[p - spec->params.begin()]) {
                std::vector<std::string> numeric;
                for (size_t i = 0; i < spec->params.size(); ++i)
                  if (spec->numeric[i]) numeric.push_back(spec->params[i]);
                diag->error(vloc, kp,
                            fmt::format("unknown variable '{}' (numeric parameters of {}: {})", var,
                                        e.action, numeric.empty() ? "none" : join(numeric)));
                ok = false;
              }
            }
            e.formula = parsed;
          } catch (const Formula::ParseError& pe) {
            diag->error(vloc, kp, fmt::format("at character {}: {}", pe.pos + 1, pe.msg));
            ok = false;
          }
        } else if (k == "points") {
          e.points = v;
        } else if (k == "source") {
          e.source = v;
        } else if (k == "scale") {
          if (v != "logic" && v != "sram" && v != "none") {
            diag->error(vloc, kp, "allowed: logic | sram | none");
            ok = false;
          }
          e.scale = v;
        } else {
          const std::string dym = did_you_mean(k, {"pj", "formula", "points", "source", "scale"});
          diag->error(yaml_loc(jt->first, file), kp,
                      fmt::format("unknown key; allowed: pj, formula, points, source, scale{}",
                                  dym.empty() ? "" : " (did you mean '" + dym + "'?)"));
          ok = false;
        }
      }
      if (has_pj == !e.formula_text.empty()) {
        diag->error(e.loc, path, "needs exactly one of pj and formula");
        ok = false;
      }
      if (e.source.empty()) {
        diag->error(e.loc, path,
                    "missing source (a publication, a fit with its points, or 'calibrated: ...')");
        ok = false;
      }
      if (!e.formula_text.empty() && e.points.empty()) {
        diag->error(formula_loc, path + ".formula",
                    "a formula needs `points:` (the published values it was fitted to)");
        ok = false;
      }
      for (const EnergyEntry& o : t.m_entries)
        if (o.action == e.action && o.selector == e.selector) {
          diag->error(e.loc, path, fmt::format("duplicate entry (first at {})", o.loc.str()));
          ok = false;
        }
      if (ok) t.m_entries.push_back(std::move(e));
    }
  }
  root.finish();
  return t;
}

double EnergyTable::factor(const std::string& scale) const {
  if (scale == "logic") return m_logic;
  if (scale == "sram") return m_sram;
  return 1.0;
}

const EnergyEntry* EnergyTable::find(const ActionKey& key) const {
  const EnergyEntry* best = nullptr;
  for (const EnergyEntry& e : m_entries) {
    if (e.action != key.name) continue;
    bool match = true;
    for (const auto& [k, v] : e.selector) {
      const std::string* p = key.param(k);
      if (!p || *p != v) {
        match = false;
        break;
      }
    }
    if (match && (!best || e.selector.size() > best->selector.size())) best = &e;
  }
  return best;
}

std::optional<double> EnergyTable::cost(const ActionKey& key) const {
  const EnergyEntry* e = find(key);
  if (!e) return std::nullopt;
  double v = e->pj;
  if (e->formula) {
    std::map<std::string, double> vars;
    for (const auto& [k, s] : key.params) {
      try {
        size_t used = 0;
        const double d = std::stod(s, &used);
        if (used == s.size()) vars[k] = d;
      } catch (const std::exception&) {
      }
    }
    v = e->formula->eval(vars);
    if (!std::isfinite(v) || v < 0)
      throw UserError(
          fmt::format("{}: error: actions.{}: formula '{}' gives {} pJ for {} (negative "
                      "or non-finite energy)",
                      e->loc.str(), e->key, e->formula_text, v, key.text()));
  }
  return v * factor(e->scale);
}

}  // namespace lbsim
