// Spec strings and YAML maps -> registered number formats.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <regex>

#include "models/core/catalog.h"
#include "models/core/error.h"
#include "models/numerics/format_registry.h"

namespace lbsim {

namespace {

struct Alias {
  std::regex re;
  std::string pattern, type, example;
  std::vector<std::string> params;
};

std::vector<Alias>& aliases() {
  static std::vector<Alias> a;
  return a;
}

std::vector<std::string> valid_names() {
  std::vector<std::string> out = Registry<INumberFormat>::names();
  for (const auto& a : aliases()) out.push_back(a.example);
  std::sort(out.begin(), out.end());  // aliases register in static-initialisation order
  return out;
}

// Resolves a name to (type, options filled by the alias). Returns false when nothing matches.
bool resolve(const std::string& name, std::string& type, std::map<std::string, ParamValue>& opts,
             const SourceLoc& where) {
  if (Registry<INumberFormat>::find(name)) {
    type = name;
    return true;
  }
  for (const auto& a : aliases()) {
    std::smatch m;
    if (std::regex_match(name, m, a.re)) {
      type = a.type;
      for (size_t i = 0; i < a.params.size(); ++i) opts[a.params[i]] = {m[i + 1].str(), where};
      return true;
    }
  }
  return false;
}

[[noreturn]] void unknown_format(const std::string& name, const SourceLoc& where,
                                 const std::string& key) {
  std::vector<std::string> names = valid_names();
  std::string hint = did_you_mean(name, names);
  Diagnostics d;
  d.error(where, key,
          fmt::format("unknown number format '{}'; valid: {}{}", name, join(names),
                      hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
  d.throw_if_any();
  throw UserError("unreachable");
}

FormatPtr build(const std::string& type, std::map<std::string, ParamValue> opts,
                const SourceLoc& where, const std::string& key) {
  Params p(fmt::format("format '{}'", type), std::move(opts), where, key);
  FormatPtr f = Registry<INumberFormat>::find(type)->make(p);
  p.finish();
  return f;
}

}  // namespace

bool register_format_alias(const std::string& pattern, const std::string& type,
                           std::vector<std::string> params, const std::string& example) {
  aliases().push_back({std::regex(pattern), pattern, type, example, std::move(params)});
  return true;
}

FormatPtr make_format(const std::string& spec, const SourceLoc& where) {
  std::string name = spec, rest;
  auto colon = spec.find(':');
  if (colon != std::string::npos) {
    name = spec.substr(0, colon);
    rest = spec.substr(colon + 1);
  }
  std::string type;
  std::map<std::string, ParamValue> opts;
  if (!resolve(name, type, opts, where)) unknown_format(name, where, "");
  size_t pos = 0;
  while (!rest.empty() && pos <= rest.size()) {
    size_t comma = rest.find(',', pos);
    std::string item =
        rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      Diagnostics d;
      d.error(where, "",
              fmt::format("bad option '{}' in format spec '{}'; expected key=value", item, spec));
      d.throw_if_any();
    }
    opts[item.substr(0, eq)] = {item.substr(eq + 1), where};
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return build(type, std::move(opts), where, "");
}

static SourceLoc loc_of(const YAML::Node& n, const std::string& file) {
  YAML::Mark m = n.Mark();
  return {file, m.line + 1, m.column + 1};
}

FormatPtr make_format(const YAML::Node& node, const std::string& file,
                      const std::string& key_path) {
  SourceLoc where = loc_of(node, file);
  if (node.IsScalar()) return make_format(node.Scalar(), where);
  Diagnostics d;
  if (!node.IsMap()) {
    d.error(where, key_path, "a number format is a spec string or a map with a 'type' key");
    d.throw_if_any();
  }
  const YAML::Node t = node["type"];
  if (!t || !t.IsScalar()) {
    d.error(where, key_path + ".type", "missing; valid: " + join(valid_names()));
    d.throw_if_any();
  }
  std::string type;
  std::map<std::string, ParamValue> opts;
  if (!resolve(t.Scalar(), type, opts, loc_of(t, file)))
    unknown_format(t.Scalar(), loc_of(t, file), key_path + ".type");
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    if (key == "type") continue;
    if (!kv.second.IsScalar()) {
      d.error(loc_of(kv.second, file), key_path + "." + key, "expected a scalar value");
      continue;
    }
    opts[key] = {kv.second.Scalar(), loc_of(kv.second, file)};
  }
  d.throw_if_any();
  return build(type, std::move(opts), where, key_path);
}

std::vector<std::string> format_spec_names() { return valid_names(); }

std::string describe_format_types() {
  std::string out;
  for (const auto* e : Registry<INumberFormat>::entries()) {
    out += fmt::format("{}  -  {}\n", e->name, e->description);
    std::vector<std::string> al;
    for (const auto& a : aliases())
      if (a.type == e->name) al.push_back(a.example);
    if (!al.empty()) out += fmt::format("    spec aliases: {}\n", join(al));
    Params p(e->name, {}, SourceLoc{"<list-types>"});
    e->make(p);
    for (const auto& doc : p.docs())
      out += fmt::format("    {:<20} default {:<9} {}\n{:>25}allowed: {}\n", doc.key,
                         doc.default_text, doc.meaning, "", doc.allowed);
  }
  return out;
}

namespace {
[[maybe_unused]] const bool kFormatsInCatalog = register_catalog_section(
    {10, "Number formats (--format SPEC, YAML formats: {weight: SPEC, ...})",
     describe_format_types});
}  // namespace

}  // namespace lbsim
