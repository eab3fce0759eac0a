#include "models/core/catalog.h"

#include <algorithm>

namespace lbsim {

namespace {
std::vector<CatalogSection>& sections() {
  static std::vector<CatalogSection> s;
  return s;
}
}  // namespace

bool register_catalog_section(CatalogSection section) {
  sections().push_back(std::move(section));
  return true;
}

std::vector<CatalogSection> catalog_sections() {
  std::vector<CatalogSection> s = sections();
  std::stable_sort(s.begin(), s.end(), [](const CatalogSection& a, const CatalogSection& b) {
    return a.order < b.order;
  });
  return s;
}

std::string catalog_text() {
  std::string out;
  for (const auto& s : catalog_sections()) {
    if (!out.empty()) out += "\n";
    out += "== " + s.title + " ==\n" + s.text();
  }
  return out;
}

}  // namespace lbsim
