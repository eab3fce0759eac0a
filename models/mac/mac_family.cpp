// The MAC-family registry and the one rule that picks a family for a pair of formats
// (i_mac_family.h). mac_family() of gemm_problem.h is answered here too.
#include <fmt/format.h>

#include "models/core/catalog.h"
#include "models/core/error.h"
#include "models/mac/i_mac_family.h"

namespace lbsim {

namespace {

const std::vector<const IMacFamily*>& families() {
  static const std::vector<const IMacFamily*> all = [] {
    std::vector<const IMacFamily*> v;
    Params none("MAC family", {}, SourceLoc{"<mac family>"});
    for (const auto* e : Registry<IMacFamily>::entries()) {
      static std::vector<MacFamilyPtr> keep;  // families live for the program
      keep.push_back(e->make(none));
      v.push_back(keep.back().get());
    }
    return v;
  }();
  return all;
}

std::string kinds_of(const IMacFamily& f) {
  std::vector<std::string> k;
  for (ElementKind e :
       {ElementKind::kFloat, ElementKind::kInt, ElementKind::kLog, ElementKind::kMls})
    if (f.accepts(e)) k.push_back(element_kind_name(e));
  return join(k, "/");
}

// What each family executes, for messages: "float (two float formats), fixed (two of int/log/mls)".
std::string what_families_take() {
  std::vector<std::string> parts;
  for (const IMacFamily* f : families())
    parts.push_back(fmt::format("{} ({}{})", f->name(),
                                f->by_kind() ? "two of " : "formats naming it, of ", kinds_of(*f)));
  return join(parts, ", ");
}

std::string format_text(const FormatInfo& f) {
  return fmt::format("'{}' has {} elements{}", f.name, element_kind_name(f.kind),
                     f.mac_family.empty() ? "" : " of the " + f.mac_family + " family");
}

[[noreturn]] void cannot_share(const FormatInfo& a, const FormatInfo& b) {
  throw UserError(fmt::format(
      "formats '{}' and '{}' cannot share a MAC array: {} and {}; a GEMM needs two formats one "
      "MAC family executes: {}",
      a.name, b.name, format_text(a), format_text(b), what_families_take()));
}

}  // namespace

const IMacFamily* find_mac_family(const std::string& name) {
  for (const IMacFamily* f : families())
    if (f->name() == name) return f;
  return nullptr;
}

std::vector<std::string> mac_family_names() { return Registry<IMacFamily>::names(); }

const IMacFamily& mac_family_for(const FormatInfo& a, const FormatInfo& b) {
  // A format naming no family belongs to its kind's family, so both must name the same one.
  if (a.mac_family != b.mac_family) cannot_share(a, b);
  if (!a.mac_family.empty()) {
    const IMacFamily* f = find_mac_family(a.mac_family);
    if (f == nullptr)
      throw std::logic_error("format names the unregistered MAC family '" + a.mac_family + "'");
    if (!f->accepts(a.kind) || !f->accepts(b.kind)) cannot_share(a, b);
    return *f;
  }
  for (const IMacFamily* f : families())
    if (f->by_kind() && f->accepts(a.kind) && f->accepts(b.kind)) return *f;
  cannot_share(a, b);
}

const IMacFamily& mac_family_of(const FormatInfo& format) { return mac_family_for(format, format); }

MacFamily mac_family(const FormatInfo& a, const FormatInfo& b) {
  return mac_family_for(a, b).pe_datapath();
}

std::string describe_mac_families() {
  std::string out;
  for (const IMacFamily* f : families())
    out += fmt::format("{}  -  {}\n    takes {}{}; PE {}; accumulate {}\n", f->name(),
                       f->description(), kinds_of(*f), f->by_kind() ? "" : " (formats naming it)",
                       f->pe_datapath() == MacFamily::kFloat ? "float (fp32 FMA)" : "fixed point",
                       f->accumulator_text());
  return out;
}

namespace {
[[maybe_unused]] const bool kFamiliesInCatalog = register_catalog_section(
    {15, "MAC families (chosen by the operand formats; pe_array.type names one)",
     describe_mac_families});
}  // namespace

}  // namespace lbsim
