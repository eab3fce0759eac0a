// Deterministic random tensors for demos, tests and benchmarks: N(0, sigma^2) from the counter
// RNG (Box-Muller on two 53-bit uniforms per element), so a (shape, seed) pair names one tensor.
#pragma once

#include <cstdint>

#include "models/numerics/tensor.h"

namespace lbsim {

Tensor random_normal(const Shape& shape, uint64_t seed, double sigma = 1.0);
// max(0, N(0, sigma^2)): post-ReLU activations.
Tensor random_relu(const Shape& shape, uint64_t seed, double sigma = 1.0);
// +-median * exp(sigma_ln * z): log-normal magnitudes (z ~ N(0, 1), the draws of random_normal
// with the same seed) with independent random signs (+ and - with probability 1/2 each, from a
// separately keyed draw). Heavy-tailed, as neural gradients are.
Tensor random_signed_log_normal(const Shape& shape, uint64_t seed, double median, double sigma_ln);

}  // namespace lbsim
