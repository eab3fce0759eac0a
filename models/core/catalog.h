// What `lbsim list-types` prints: every pluggable kind registers a section (title + a function
// that describes its registered types with their parameters). Sections print in `order`.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace lbsim {

struct CatalogSection {
  int order;
  std::string title;                  // e.g. "Number formats"
  std::function<std::string()> text;  // one entry per registered type, with its parameters
};

bool register_catalog_section(CatalogSection section);
std::vector<CatalogSection> catalog_sections();  // sorted by order
std::string catalog_text();                      // all sections, titled

}  // namespace lbsim
