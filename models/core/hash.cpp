#include "models/core/hash.h"

#include <fmt/format.h>

#include <cstdint>

namespace lbsim {

std::string fnv1a_hex(const std::string& bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

}  // namespace lbsim
