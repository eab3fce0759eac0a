#include "models/numerics/random_tensor.h"

#include <algorithm>
#include <cmath>

#include "models/numerics/rng.h"

namespace lbsim {

Tensor random_normal(const Shape& shape, uint64_t seed, double sigma) {
  Tensor t{shape, std::vector<float>(static_cast<size_t>(numel(shape)))};
  CounterRng rng(seed, 0x6e6f726d616cULL);  // "normal"
  const double two_pi = 6.283185307179586476925;
  for (size_t i = 0; i < t.data.size(); ++i) {
    double u1 = 1.0 - rng.uniform(i, 0);  // (0, 1]: log is finite
    double u2 = rng.uniform(i, 1);
    t.data[i] = static_cast<float>(sigma * std::sqrt(-2.0 * std::log(u1)) * std::cos(two_pi * u2));
  }
  return t;
}

Tensor random_relu(const Shape& shape, uint64_t seed, double sigma) {
  Tensor t = random_normal(shape, seed, sigma);
  for (float& v : t.data) v = std::max(v, 0.0f);
  return t;
}

Tensor random_signed_log_normal(const Shape& shape, uint64_t seed, double median, double sigma_ln) {
  Tensor t = random_normal(shape, seed, 1.0);
  CounterRng sign(seed, 0x7369676eULL);  // "sign"
  for (size_t i = 0; i < t.data.size(); ++i) {
    const double mag = median * std::exp(sigma_ln * static_cast<double>(t.data[i]));
    t.data[i] = static_cast<float>((sign.bits(i) >> 63) != 0 ? -mag : mag);
  }
  return t;
}

}  // namespace lbsim
