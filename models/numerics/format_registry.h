// Registration side of number formats (implementations include this; users include
// i_number_format.h). A format registers its `type` name with LBSIM_REGISTER(INumberFormat, ...)
// and, optionally, spec-string aliases that fill options from the name, e.g. "int8" -> type int,
// bits = 8, or "mls_m1e2" -> type mls, m = 1, e = 2.
#pragma once

#include <string>
#include <vector>

#include "models/core/registry.h"
#include "models/numerics/i_number_format.h"

namespace lbsim {

// pattern matches a whole spec name: letters, digits and '_' match themselves, "[0-9]+" matches a
// run of digits (greedy: what follows it must not start with a digit), and parenthesised group i
// fills option params[i] with the text it matched (e.g. "mls_m([0-9]+)e([0-9]+)"). A pattern
// outside this grammar is a std::logic_error at registration.
bool register_format_alias(const std::string& pattern, const std::string& type,
                           std::vector<std::string> params, const std::string& example);

}  // namespace lbsim

#define LBSIM_REGISTER_FORMAT_ALIAS(PATTERN, TYPE, PARAMS, EXAMPLE)   \
  namespace {                                                         \
  [[maybe_unused]] const bool LBSIM_CONCAT(lbsim_alias_, __LINE__) =  \
      ::lbsim::register_format_alias(PATTERN, TYPE, PARAMS, EXAMPLE); \
  }
