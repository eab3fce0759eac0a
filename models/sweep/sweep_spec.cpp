#include "models/sweep/sweep_spec.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "models/core/input_file.h"
#include "models/core/params.h"

namespace lbsim {

namespace {

constexpr const char* kEnergyTable = "energy.table";
constexpr const char* kEnergyNode = "energy.node";
constexpr const char* kAllFormats = "pe_array.formats";

bool present(const YAML::Node& n) { return n && n.IsDefined() && !n.IsNull(); }

struct Value {
  std::string text;
  SourceLoc loc;
};

struct Axis {
  std::string name;
  bool is_var = false;
  std::vector<Value> values;
  bool derived = false;    // one templated value: computed from other axes
  bool templated = false;  // some value holds {placeholders}
  int dim = -1;            // product dimension (derived axes: -1)
  SourceLoc loc;
};

// Names inside {...} of a template; malformed braces are reported through `bad`.
std::vector<std::string> placeholders(const std::string& text, bool* bad) {
  std::vector<std::string> out;
  size_t at = 0;
  while ((at = text.find_first_of("{}", at)) != std::string::npos) {
    if (text[at] == '}') {
      *bad = true;
      return out;
    }
    const size_t end = text.find('}', at);
    if (end == std::string::npos || end == at + 1) {
      *bad = true;
      return out;
    }
    out.push_back(text.substr(at + 1, end - at - 1));
    at = end + 1;
  }
  return out;
}

class SweepParser {
 public:
  SweepParser(const std::string& path, int64_t max_points)
      : m_file(path), m_max_points(max_points) {
    m_dir = std::filesystem::path(path).parent_path();
  }

  SweepSpec parse(const std::string& text) {
    ConfigFile cf = ConfigFile::parse(text, m_file);
    Params root = cf.root("sweep");
    m_diag = root.diagnostics();
    SweepSpec s;
    s.file = m_file;
    root.get_int("schema_version", 1, 1, 1, "sweep file schema version");
    s.name = root.get_string("name", std::filesystem::path(m_file).stem().string(), "text",
                             "name of the sweep (results, summary)");
    s.description = root.get_string("description", "", "text", "one line on what is swept");

    Params base = root.child("base", "sweep base", "the architecture every point starts from");
    const std::string arch = base.get_string(
        "arch", "", "architecture YAML path (relative to the sweep file); omit for the built-in",
        "base architecture");
    if (!arch.empty()) s.arch = resolve(arch);
    const YAML::Node params = base.node("params", "[]", "list of key.path=value",
                                        "architecture overrides applied to every point");
    if (present(params)) {
      if (!params.IsSequence()) {
        err(params, "base.params", "must be a list of key.path=value strings");
      } else {
        for (const auto& p : params) {
          if (!p.IsScalar() || p.Scalar().find('=') == std::string::npos) {
            err(p, "base.params", "must be key.path=value");
            continue;
          }
          s.base_params.push_back(p.Scalar());
          s.base_param_locs.push_back(yaml_loc(p, m_file));
        }
      }
    }
    base.close();

    std::vector<Params> workloads =
        root.list("workloads", "sweep workload", "workloads every point runs", true);
    if (workloads.empty() && root.has("workloads"))
      root.error("workloads", "needs at least one workload");
    FirstUse labels;
    for (Params& w : workloads) {
      SweepWorkload sw;
      const std::string spec = w.get_string(
          "workload", "", "zoo name, trace (.yaml/.json) or SCALE-Sim topology (.csv)", "workload");
      if (spec.empty()) w.error("workload", "is required (a zoo name or a file)");
      const bool is_file =
          spec.find('/') != std::string::npos || spec.find('.') != std::string::npos;
      sw.spec = is_file ? resolve(spec) : spec;
      sw.batch = w.get_int("batch", 0, 0, 2147483647, "batch size (0 = the workload's own)");
      sw.label = w.get_string("label", spec, "text", "name in results and figures");
      sw.loc = w.where();
      if (!sw.label.empty())  // empty: no workload, already an error
        if (const SourceLoc* first = labels.claim(sw.label, w.loc_of("label")))
          w.error("label", fmt::format("duplicate workload label '{}' (first used at {})", sw.label,
                                       first->str()));
      s.workloads.push_back(sw);
      w.close();
    }

    read_axes(root.node("vars", "{}", "map of name: values", "template variables"), true);
    read_axes(root.node("axes", "{}", "map of key.path: values",
                        "architecture keys (and energy.table, energy.node) to sweep"),
              false);
    const YAML::Node zip =
        root.node("zip", "[]", "list of lists of axis names", "axes that move together");
    const YAML::Node exclude =
        root.node("exclude", "[]", "list of {axis: value(s)}", "points to leave out");

    Params num = root.child("numerics", "sweep numerics", "the numerics metric of each point");
    s.numerics = num.get_bool("enabled", true, "compute SQNR and GEMM error per point");
    const std::string data =
        num.get_string("data", "", "directory of tracer .npy dumps", "real tensors for SQNR");
    if (!data.empty()) s.numerics_options.data_dir = resolve(data);
    s.numerics_options.max_macs = num.get_int("max_macs", s.numerics_options.max_macs, 1,
                                              int64_t{1} << 34, "MACs bound of each sampled GEMM");
    s.numerics_options.seed = static_cast<uint64_t>(
        num.get_int("seed", 0, 0, int64_t{1} << 62, "seed of synthetic tensors and rounding"));
    num.close();
    root.close();

    check_templates();
    read_zip(zip);
    const std::vector<Rule> rules = read_exclude(exclude);
    m_diag->throw_if_any();
    expand(s, rules);
    m_diag->throw_if_any();
    return s;
  }

 private:
  struct Rule {
    std::vector<std::pair<int, std::set<std::string>>> match;  // axis index -> allowed texts
  };

  std::string resolve(const std::string& p) const {
    const std::filesystem::path path(p);
    if (path.is_absolute() || m_dir.empty()) return path.lexically_normal().string();
    return (m_dir / path).lexically_normal().string();
  }

  void err(const YAML::Node& n, const std::string& key, const std::string& msg) {
    m_diag->error(yaml_loc(n, m_file), key, msg);
  }

  int axis_index(const std::string& name) const {
    for (size_t i = 0; i < m_axes.size(); ++i)
      if (m_axes[i].name == name) return static_cast<int>(i);
    return -1;
  }

  std::vector<std::string> axis_names() const {
    std::vector<std::string> out;
    for (const auto& a : m_axes) out.push_back(a.name);
    return out;
  }

  void unknown_axis(const YAML::Node& n, const std::string& key, const std::string& name) {
    const std::string dym = did_you_mean(name, axis_names());
    err(n, key,
        fmt::format("unknown axis '{}'{}; axes: {}", name,
                    dym.empty() ? "" : " (did you mean '" + dym + "'?)", join(axis_names())));
  }

  // Values of one axis: a scalar, a list of scalars, or an integer range map.
  std::vector<Value> read_values(const YAML::Node& n, const std::string& key) {
    std::vector<Value> out;
    if (n.IsScalar()) {
      out.push_back({n.Scalar(), yaml_loc(n, m_file)});
    } else if (n.IsSequence()) {
      for (const auto& v : n) {
        if (!v.IsScalar()) {
          err(v, key, "values must be scalars (numbers or strings)");
          continue;
        }
        out.push_back({v.Scalar(), yaml_loc(v, m_file)});
      }
      if (out.empty() && n.size() == 0) err(n, key, "an empty list of values");
    } else if (n.IsMap()) {
      Params r = Params::from_yaml("range", n, m_file, key);
      const int64_t from = r.req_int("from", -(int64_t{1} << 40), int64_t{1} << 40, "first value");
      const int64_t to = r.req_int("to", -(int64_t{1} << 40), int64_t{1} << 40, "last value");
      const bool has_mul = r.has("mul"), has_step = r.has("step");
      const int64_t mul = r.get_int("mul", 0, 2, 1 << 20, "geometric factor");
      const int64_t step = r.get_int("step", 0, 1, int64_t{1} << 40, "arithmetic step");
      if (has_mul == has_step) r.error("from", "give exactly one of 'mul' and 'step'");
      if (from > to) r.error("to", fmt::format("{} is below from ({})", to, from));
      if (has_mul && from <= 0) r.error("from", "a geometric range (mul) starts above 0");
      r.close();
      if (!r.diagnostics()->empty()) {
        m_diag->add_formatted(yaml_loc(n, m_file), r.diagnostics()->text());
        return out;
      }
      const SourceLoc loc = yaml_loc(n, m_file);
      for (int64_t v = from; v <= to && out.size() <= 100000; v = has_mul ? v * mul : v + step)
        out.push_back({std::to_string(v), loc});
      if (out.size() > 100000) err(n, key, "more than 100000 values");
    } else {
      err(n, key, "expected a value, a list of values or {from, to, mul|step}");
    }
    return out;
  }

  void read_axes(const YAML::Node& map, bool vars) {
    if (!present(map)) return;
    const char* section = vars ? "vars" : "axes";
    if (!map.IsMap()) {
      err(map, section, "must be a map of name: values");
      return;
    }
    for (const auto& kv : map) {
      Axis a;
      a.name = kv.first.Scalar();
      a.is_var = vars;
      a.loc = yaml_loc(kv.first, m_file);
      const std::string key = std::string(section) + "." + a.name;
      if (axis_index(a.name) >= 0) {
        err(kv.first, key, "defined twice");
        continue;
      }
      if (vars && a.name.find_first_of(".{}") != std::string::npos)
        err(kv.first, key, "a var name has no '.', '{' or '}'");
      a.values = read_values(kv.second, key);
      if (a.name == kEnergyNode) {
        for (const auto& v : a.values) {
          int64_t x = 0;
          std::istringstream in(v.text);
          if (!(in >> x) || !in.eof() || x < 1 || x > 1000)
            m_diag->error(v.loc, key, fmt::format("'{}' is not a node in nm in [1, 1000]", v.text));
        }
      }
      for (const auto& v : a.values) {
        bool bad = false;
        if (!placeholders(v.text, &bad).empty()) a.templated = true;
        if (bad)
          m_diag->error(v.loc, key,
                        fmt::format("'{}': a template names an axis as {{name}}", v.text));
      }
      a.derived = a.templated && a.values.size() == 1;
      m_axes.push_back(a);
    }
  }

  void check_templates() {
    for (const Axis& a : m_axes) {
      for (const Value& v : a.values) {
        bool bad = false;
        for (const std::string& name : placeholders(v.text, &bad)) {
          const int i = axis_index(name);
          if (i < 0) {
            const std::string dym = did_you_mean(name, axis_names());
            m_diag->error(v.loc, a.name,
                          fmt::format("the template names an unknown axis '{}'{}", name,
                                      dym.empty() ? "" : " (did you mean '" + dym + "'?)"));
          } else if (m_axes[static_cast<size_t>(i)].templated) {
            m_diag->error(v.loc, a.name,
                          fmt::format("the template names '{}', itself a template (templates "
                                      "are built from plain axes only)",
                                      name));
          }
        }
      }
    }
  }

  void read_zip(const YAML::Node& zip) {
    // Every non-derived axis is its own dimension unless zipped.
    std::vector<int> group_of(m_axes.size(), -1);
    std::vector<std::vector<int>> groups;
    if (present(zip)) {
      if (!zip.IsSequence()) {
        err(zip, "zip", "must be a list of lists of axis names");
      } else {
        for (const auto& g : zip) {
          if (!g.IsSequence() || g.size() < 2) {
            err(g, "zip", "each entry is a list of two or more axis names");
            continue;
          }
          std::vector<int> members;
          for (const auto& n : g) {
            const int i = n.IsScalar() ? axis_index(n.Scalar()) : -1;
            if (i < 0) {
              unknown_axis(n, "zip", n.IsScalar() ? n.Scalar() : "?");
              continue;
            }
            if (m_axes[static_cast<size_t>(i)].derived) {
              err(n, "zip", fmt::format("'{}' is a template, not an axis of values", n.Scalar()));
              continue;
            }
            if (group_of[static_cast<size_t>(i)] >= 0) {
              err(n, "zip", fmt::format("'{}' is in two zip groups", n.Scalar()));
              continue;
            }
            if (!members.empty() && m_axes[static_cast<size_t>(i)].values.size() !=
                                        m_axes[static_cast<size_t>(members[0])].values.size()) {
              err(n, "zip",
                  fmt::format("'{}' has {} values, '{}' has {}: zipped axes move together and "
                              "need the same number",
                              n.Scalar(), m_axes[static_cast<size_t>(i)].values.size(),
                              m_axes[static_cast<size_t>(members[0])].name,
                              m_axes[static_cast<size_t>(members[0])].values.size()));
              continue;
            }
            group_of[static_cast<size_t>(i)] = static_cast<int>(groups.size());
            members.push_back(i);
          }
          groups.push_back(members);
        }
      }
    }
    // Dimensions in axis order; a zip group takes its first member's place.
    std::vector<int> dim_of_group(groups.size(), -1);
    for (size_t i = 0; i < m_axes.size(); ++i) {
      Axis& a = m_axes[i];
      if (a.derived) continue;
      const int g = group_of[i];
      if (g < 0) {
        a.dim = m_dims++;
      } else {
        if (dim_of_group[static_cast<size_t>(g)] < 0)
          dim_of_group[static_cast<size_t>(g)] = m_dims++;
        a.dim = dim_of_group[static_cast<size_t>(g)];
      }
    }
  }

  std::vector<Rule> read_exclude(const YAML::Node& exclude) {
    std::vector<Rule> rules;
    if (!present(exclude)) return rules;
    if (!exclude.IsSequence()) {
      err(exclude, "exclude", "must be a list of maps {axis: value or [values]}");
      return rules;
    }
    for (const auto& r : exclude) {
      if (!r.IsMap() || r.size() == 0) {
        err(r, "exclude", "each rule is a non-empty map {axis: value or [values]}");
        continue;
      }
      Rule rule;
      for (const auto& kv : r) {
        const int i = axis_index(kv.first.Scalar());
        if (i < 0) {
          unknown_axis(kv.first, "exclude", kv.first.Scalar());
          continue;
        }
        std::set<std::string> vals;
        for (const Value& v : read_values(kv.second, "exclude." + kv.first.Scalar()))
          vals.insert(v.text);
        rule.match.push_back({i, vals});
      }
      rules.push_back(rule);
    }
    return rules;
  }

  static std::string substitute(const std::string& text, const std::vector<Axis>& axes,
                                const std::vector<std::string>& values) {
    std::string out;
    size_t at = 0;
    while (true) {
      const size_t open = text.find('{', at);
      if (open == std::string::npos) break;
      const size_t close = text.find('}', open);
      out += text.substr(at, open - at);
      const std::string name = text.substr(open + 1, close - open - 1);
      for (size_t i = 0; i < axes.size(); ++i)
        if (axes[i].name == name) out += values[i];
      at = close + 1;
    }
    return out + text.substr(at);
  }

  void expand(SweepSpec& s, const std::vector<Rule>& rules) {
    for (const Axis& a : m_axes) {
      s.axis_names.push_back(a.name);
      if (a.is_var) s.var_names.push_back(a.name);
    }
    // Size of each dimension (all members of a zip group have the same count).
    std::vector<size_t> dim_size(static_cast<size_t>(m_dims), 1);
    for (const Axis& a : m_axes)
      if (a.dim >= 0) dim_size[static_cast<size_t>(a.dim)] = a.values.size();
    double total = 1;
    for (size_t n : dim_size) total *= static_cast<double>(n);
    if (total > static_cast<double>(m_max_points))
      throw UserError(
          fmt::format("{}: error: the sweep has {:.0f} points before exclusions; at "
                      "most {} are allowed",
                      m_file, total, m_max_points));
    std::vector<size_t> at(static_cast<size_t>(m_dims), 0);
    const auto n_total = static_cast<int64_t>(total);
    for (int64_t k = 0; k < n_total; ++k) {
      // Odometer: the last dimension moves fastest.
      if (k > 0) {
        for (int d = m_dims - 1; d >= 0; --d) {
          if (++at[static_cast<size_t>(d)] < dim_size[static_cast<size_t>(d)]) break;
          at[static_cast<size_t>(d)] = 0;
        }
      }
      std::vector<std::string> raw(m_axes.size());
      std::vector<const Value*> src(m_axes.size());
      for (size_t i = 0; i < m_axes.size(); ++i) {
        const Axis& a = m_axes[i];
        src[i] = a.dim >= 0 ? &a.values[at[static_cast<size_t>(a.dim)]] : &a.values[0];
        raw[i] = src[i]->text;
      }
      // Templates see the plain values.
      std::vector<std::string> values = raw;
      for (size_t i = 0; i < m_axes.size(); ++i)
        if (m_axes[i].templated) values[i] = substitute(raw[i], m_axes, raw);
      bool excluded = false;
      for (const Rule& r : rules) {
        bool all = true;
        for (const auto& [i, vals] : r.match)
          all = all && vals.count(values[static_cast<size_t>(i)]) > 0;
        excluded = excluded || all;
      }
      if (excluded) continue;
      SweepPoint p;
      p.index = static_cast<int64_t>(s.points.size());
      p.axis_values = values;
      p.axis_names = s.axis_names;
      p.params = s.base_params;
      p.param_locs = s.base_param_locs;
      for (size_t i = 0; i < m_axes.size(); ++i) {
        const Axis& a = m_axes[i];
        if (a.is_var) continue;
        if (a.name == kEnergyTable) {
          p.energy_table = values[i] == "builtin" ? "" : resolve(values[i]);
        } else if (a.name == kEnergyNode) {
          p.energy_node = std::stoll(values[i]);
        } else if (a.name == kAllFormats) {
          for (const char* role : {"weight", "activation", "error"}) {
            p.params.push_back(fmt::format("{}.{}={}", kAllFormats, role, values[i]));
            p.param_locs.push_back(src[i]->loc);
          }
        } else {
          p.params.push_back(a.name + "=" + values[i]);
          p.param_locs.push_back(src[i]->loc);
        }
      }
      for (const auto& q : p.params) p.sim_key += q + "\n";
      s.points.push_back(std::move(p));
    }
    if (s.points.empty())
      throw UserError(fmt::format("{}: error: every point is excluded: nothing to run", m_file));
  }

  std::string m_file;
  int64_t m_max_points;
  std::filesystem::path m_dir;
  std::shared_ptr<Diagnostics> m_diag;
  std::vector<Axis> m_axes;
  int m_dims = 0;
};

}  // namespace

std::string SweepPoint::label() const {
  std::string out;
  for (size_t i = 0; i < axis_names.size() && i < axis_values.size(); ++i)
    out += (out.empty() ? "" : ", ") + axis_names[i] + "=" + axis_values[i];
  return out.empty() ? "(base)" : out;
}

SweepSpec parse_sweep(const std::string& text, const std::string& path, int64_t max_points) {
  return with_yaml_errors(path, [&] { return SweepParser(path, max_points).parse(text); });
}

SweepSpec load_sweep(const std::string& path) { return parse_sweep(read_input_file(path), path); }

}  // namespace lbsim
