// Deterministic random tensors for demos, tests and benchmarks: N(0, sigma^2) from the counter
// RNG (Box-Muller on two 53-bit uniforms per element), so a (shape, seed) pair names one tensor.
#pragma once

#include <cstdint>

#include "models/numerics/tensor.h"

namespace lbsim {

Tensor random_normal(const Shape& shape, uint64_t seed, double sigma = 1.0);
// max(0, N(0, sigma^2)): post-ReLU activations.
Tensor random_relu(const Shape& shape, uint64_t seed, double sigma = 1.0);

}  // namespace lbsim
