#include "sim/modules/random_gemm.h"

#include <utility>

#include "models/numerics/random_tensor.h"
#include "models/numerics/rng.h"

namespace lbsim {

OwnedGemm random_gemm(const FormatPtr& fa, Role role_a, const FormatPtr& fb, Role role_b, int64_t m,
                      int64_t n, int64_t k, uint64_t seed, uint64_t id) {
  const uint64_t key = splitmix64(splitmix64(seed) ^ id);
  const uint64_t ka = splitmix64(key ^ 1u), kb = splitmix64(key ^ 2u);
  const auto tensor = [](Role role, const Shape& shape, uint64_t s) {
    return role == Role::kActivation ? random_relu(shape, s) : random_normal(shape, s);
  };
  const std::string what = "random GEMM operand";
  QTensor a = quantize_operand(fa, tensor(role_a, {m, k}, ka), role_a, seed, ka, 1, what);
  QTensor b = quantize_operand(fb, tensor(role_b, {k, n}, kb), role_b, seed, kb, 0, what);
  return own_gemm(
      std::move(a), std::move(b),
      [](const QTensor& x, const QTensor& y) { return lower_gemm(x, y); }, what);
}

}  // namespace lbsim
