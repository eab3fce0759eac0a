// Study files (sim/top/study.h, workloads/studies/README.md): reading and validating them. Kept
// apart from running a study so that it needs no SystemC (the fuzz target compiles this file).
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/core/input_file.h"
#include "models/core/params.h"
#include "sim/top/study.h"

namespace lbsim {

namespace {

Study parse_study_file(const ConfigFile& file);

// A list of strings under `key` (absent = empty); errors through p.
std::vector<std::string> string_list(Params& p, const char* key, const std::string& meaning) {
  std::vector<std::string> out;
  const YAML::Node n = p.node(key, "[]", "a list of strings", meaning);
  if (!n || n.IsNull()) return out;
  if (!n.IsSequence()) {
    p.error(key, "must be a list of strings");
    return out;
  }
  for (const auto& e : n) {
    if (!e.IsScalar()) {
      p.error(key, "must be a list of strings");
      return out;
    }
    out.push_back(e.Scalar());
  }
  return out;
}

// windows.<key>: [low, high].
void window(Params& w, const char* key, double* lo, double* hi) {
  const YAML::Node n = w.node(key, "(required)", "[low, high]", "published ratio window");
  try {
    if (n && n.IsSequence() && n.size() == 2) {
      *lo = n[0].as<double>();
      *hi = n[1].as<double>();
      if (*lo <= *hi) return;
    }
  } catch (const YAML::Exception&) {
  }
  w.error(key, "must be [low, high] with low <= high");
}

std::string required_string(Params& p, const char* key, const std::string& meaning) {
  const std::string v = p.get_string(key, "", "a non-empty string", meaning);
  if (v.empty()) p.error(key, "is required");
  return v;
}

}  // namespace

Study load_study(const std::string& path) { return parse_study(read_input_file(path), path); }

Study parse_study(const std::string& text, const std::string& path) {
  const ConfigFile file = ConfigFile::parse(text, path);
  return with_yaml_errors(path, [&] { return parse_study_file(file); });
}

namespace {

Study parse_study_file(const ConfigFile& file) {
  const std::string& path = file.file();
  Params root = file.root("study");
  Study s;
  s.file = path;
  root.req_int("schema_version", 1, 1, "study file schema version");
  s.title = required_string(root, "title", "report title");
  s.reference = required_string(root, "reference", "config the ratios are reference / config of");
  s.baseline = required_string(root, "baseline", "config of the second ratio table");
  s.command = root.get_string("command", "lbsim compare " + path, "text",
                              "the command printed as the report's generator");
  s.notes = root.get_string("notes", "", "Markdown", "printed under the introduction");
  s.batch = root.get_int("batch", 32, 1, 2147483647, "default batch of the models");
  FirstUse config_names;
  for (Params& c : root.list("configs", "study config", "the configurations compared", true)) {
    StudyConfig sc;
    sc.name = required_string(c, "name", "config name (columns, reference, baseline)");
    sc.label = c.get_string("label", sc.name, "text", "config label in the tables");
    sc.arch = required_string(c, "arch", "architecture YAML, relative to the study file");
    sc.params = string_list(c, "params", "architecture overrides (key.path=value)");
    if (!sc.name.empty())
      if (const SourceLoc* first = config_names.claim(sc.name, c.loc_of("name")))
        c.error("name", fmt::format("duplicate config name '{}' (first used at {})", sc.name,
                                    first->str()));
    s.configs.push_back(sc);
    c.close();
  }
  if (s.configs.empty()) root.error("configs", "must be a non-empty list");
  std::vector<std::string> names;
  for (const auto& c : s.configs) names.push_back(c.name);
  auto known = [&](Params& p, const char* key, const std::string& n, bool allow_mls) {
    if (n.empty() || (allow_mls && n == "mls")) return;
    if (std::find(names.begin(), names.end(), n) == names.end()) {
      const std::string dym = did_you_mean(n, names);
      p.error(key, fmt::format("unknown config name '{}'{}; configs: {}", n,
                               dym.empty() ? "" : " (did you mean '" + dym + "'?)", join(names)));
    }
  };
  known(root, "reference", s.reference, false);
  known(root, "baseline", s.baseline, false);
  s.columns = string_list(root, "columns", "config names of the table columns (mls = the model's)");
  if (s.columns.empty()) root.error("columns", "must be a non-empty list");
  for (const auto& c : s.columns) known(root, "columns", c, true);
  for (Params& m : root.list("models", "study model", "the workloads compared on", true)) {
    StudyModel sm;
    sm.workload = required_string(m, "workload", "model-zoo network");
    sm.label = m.get_string("label", sm.workload, "text", "model label in the tables");
    sm.mls = required_string(m, "mls", "the config of this model's MLS column");
    known(m, "mls", sm.mls, false);
    sm.batch = m.get_int("batch", s.batch, 1, 2147483647, "batch size");
    sm.check = m.get_bool("check", false, "check the ratios against the windows");
    s.models.push_back(sm);
    m.close();
  }
  if (s.models.empty()) root.error("models", "must be a non-empty list");
  Params w = root.child("windows", "study windows", "published ratio windows", true);
  if (root.has("windows")) {
    window(w, "vs_reference", &s.vs_ref_lo, &s.vs_ref_hi);
    window(w, "vs_baseline", &s.vs_base_lo, &s.vs_base_hi);
  }
  w.close();
  for (Params& v : root.list("sensitivity", "study variant", "sensitivity rows")) {
    Variant var;
    var.label = required_string(v, "label", "row label");
    var.mls_params = string_list(v, "mls_params", "overrides of the MLS config only");
    var.energy = string_list(v, "energy", "energy-table overrides (every config)");
    var.fp32_first_last =
        v.get_bool("fp32_first_last", false, "first conv and last linear layer in fp32");
    s.variants.push_back(var);
    v.close();
  }
  for (Params& an : root.list("anchors", "study anchor", "targets of the overhead fits")) {
    Anchor x;
    x.workload = required_string(an, "workload", "the model of the fit");
    if (!an.has("target")) an.error("target", "is required");
    x.target = an.get_double("target", 1.0, 1e-9, 1e9, "reference / MLS ratio to fit");
    x.note = an.get_string("note", "", "text", "printed beside the fit");
    s.anchors.push_back(x);
    an.close();
  }
  root.finish();
  return s;
}

}  // namespace

}  // namespace lbsim
