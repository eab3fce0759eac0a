// Content hashes that identify inputs in outputs (energy tables, sweep points): 64-bit FNV-1a.
#pragma once

#include <string>

namespace lbsim {

// 64-bit FNV-1a of bytes, as 16 lowercase hex digits.
std::string fnv1a_hex(const std::string& bytes);

}  // namespace lbsim
