// Spec strings and YAML maps -> registered number formats.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>

#include "models/core/catalog.h"
#include "models/core/error.h"
#include "models/core/params.h"
#include "models/numerics/format_registry.h"

namespace lbsim {

namespace {

// A spec-name pattern (format_registry.h): literal characters, and capture groups "(...)" that
// hold literal characters or "[0-9]+" (a run of digits). Matching is a single left-to-right scan
// (no backtracking, no recursion), so any user text is safe to match.
struct PatternPart {
  enum Kind { kLiteral, kDigits, kOpen, kClose } kind;
  char c = 0;  // kLiteral
};

std::vector<PatternPart> compile_pattern(const std::string& pattern) {
  std::vector<PatternPart> parts;
  bool open = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (pattern.compare(i, 6, "[0-9]+") == 0) {
      parts.push_back({PatternPart::kDigits});
      i += 5;
    } else if (c == '(' || c == ')') {
      if (open == (c == '('))
        throw std::logic_error("format alias pattern '" + pattern + "': unbalanced parentheses");
      open = c == '(';
      parts.push_back({open ? PatternPart::kOpen : PatternPart::kClose});
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      parts.push_back({PatternPart::kLiteral, c});
    } else {
      throw std::logic_error("format alias pattern '" + pattern + "': unsupported character '" +
                             std::string(1, c) + "'");
    }
  }
  if (open) throw std::logic_error("format alias pattern '" + pattern + "': unclosed group");
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    // A digit run is greedy: the part after it must not be able to start with a digit.
    size_t j = i + 1;
    while (j < parts.size() && parts[j].kind == PatternPart::kClose) ++j;
    if (parts[i].kind == PatternPart::kDigits && j < parts.size() &&
        (parts[j].kind == PatternPart::kDigits ||
         (parts[j].kind == PatternPart::kLiteral &&
          std::isdigit(static_cast<unsigned char>(parts[j].c)))))
      throw std::logic_error("format alias pattern '" + pattern + "': ambiguous digit run");
  }
  return parts;
}

// Whole-name match; fills the captured texts in group order.
bool match_pattern(const std::vector<PatternPart>& parts, const std::string& name,
                   std::vector<std::string>& groups) {
  groups.clear();
  size_t at = 0, group_start = 0;
  for (const PatternPart& p : parts) {
    switch (p.kind) {
      case PatternPart::kLiteral:
        if (at >= name.size() || name[at] != p.c) return false;
        ++at;
        break;
      case PatternPart::kDigits: {
        const size_t start = at;
        while (at < name.size() && std::isdigit(static_cast<unsigned char>(name[at]))) ++at;
        if (at == start) return false;
        break;
      }
      case PatternPart::kOpen:
        group_start = at;
        break;
      case PatternPart::kClose:
        groups.push_back(name.substr(group_start, at - group_start));
        break;
    }
  }
  return at == name.size();
}

struct Alias {
  std::vector<PatternPart> parts;
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
  std::vector<std::string> groups;
  for (const auto& a : aliases()) {
    if (match_pattern(a.parts, name, groups)) {
      type = a.type;
      for (size_t i = 0; i < a.params.size(); ++i) opts[a.params[i]] = {groups[i], where};
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
  std::vector<PatternPart> parts = compile_pattern(pattern);
  const auto groups = std::count_if(parts.begin(), parts.end(), [](const PatternPart& p) {
    return p.kind == PatternPart::kOpen;
  });
  if (static_cast<size_t>(groups) != params.size())
    throw std::logic_error("format alias pattern '" + pattern + "': one group per parameter");
  aliases().push_back({std::move(parts), pattern, type, example, std::move(params)});
  return true;
}

FormatPtr make_format(const std::string& spec, const SourceLoc& where) {
  if (spec.size() > kMaxFormatSpecChars) {
    Diagnostics d;
    d.error(where, "",
            fmt::format("the number-format spec has {} characters; at most {} are accepted",
                        spec.size(), kMaxFormatSpecChars));
    d.throw_if_any();
  }
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

FormatPtr make_format(const YAML::Node& node, const std::string& file,
                      const std::string& key_path) {
  SourceLoc where = yaml_loc(node, file);
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
  if (!resolve(t.Scalar(), type, opts, yaml_loc(t, file)))
    unknown_format(t.Scalar(), yaml_loc(t, file), key_path + ".type");
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    if (key == "type") continue;
    if (!kv.second.IsScalar()) {
      d.error(yaml_loc(kv.second, file), key_path + "." + key, "expected a scalar value");
      continue;
    }
    opts[key] = {kv.second.Scalar(), yaml_loc(kv.second, file)};
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
