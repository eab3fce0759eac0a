// Shared by the libFuzzer targets (tests/fuzz/README.md): the rule that only the project's own
// UserError is a clean rejection of an input, and helpers to split an input into its parts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "models/core/error.h"

namespace lbsim::fuzz {

inline std::string text_of(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Lines "#p key.path=value" of a YAML input (YAML comments, so the document is unchanged): the
// `-p` overrides the CLI would apply, in order.
inline std::vector<std::string> override_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (text.compare(start, 3, "#p ") == 0) out.push_back(text.substr(start + 3, end - start - 3));
    start = end + 1;
  }
  return out;
}

// Runs one parse: a UserError is a clean rejection; any other exception escapes (and aborts the
// fuzzer: a crash to fix).
template <class F>
void accept_or_reject(F&& fn) {
  try {
    fn();
  } catch (const UserError&) {
  }
}

}  // namespace lbsim::fuzz
