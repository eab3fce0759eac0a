// Counter-based random numbers for stochastic rounding (docs/design.md §4, §10.15).
//
// Every random draw is a pure function of (seed, tensor_id, element index, stream), so results
// never depend on thread count, tile order or fidelity level, and can be reproduced from Python:
//   mix(z):  z += 0x9E3779B97F4A7C15; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
//            z = (z ^ (z >> 27)) * 0x94D049BB133111EB; return z ^ (z >> 31)      (SplitMix64)
//   h = mix(mix(mix(seed) ^ tensor_id) ^ (index * 4 + stream))
//   uniform = (h >> 11) * 2^-53            (53-bit uniform in [0, 1))
// stream (0..3) separates independent draws for the same element.
#pragma once

#include <cstdint>

namespace lbsim {

inline uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Keyed by (seed, tensor_id) once per tensor; draws per element are one mix each.
class CounterRng {
 public:
  CounterRng(uint64_t seed, uint64_t tensor_id) : m_key(splitmix64(splitmix64(seed) ^ tensor_id)) {}
  uint64_t bits(uint64_t index, unsigned stream = 0) const {
    return splitmix64(m_key ^ (index * 4 + stream));
  }
  // Uniform double in [0, 1) with 53 random bits.
  double uniform(uint64_t index, unsigned stream = 0) const {
    return static_cast<double>(bits(index, stream) >> 11) * 0x1p-53;
  }

 private:
  uint64_t m_key;
};

}  // namespace lbsim
