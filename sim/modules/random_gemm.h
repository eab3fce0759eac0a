// Random quantized GEMM problems laid out as `lbsim verify` lays out a linear layer, for the
// cycle-fidelity PE array of `lbsim run` (random operands per tile, sim/modules/cycle_compute.h).
// Quantizing and lowering go through models/numerics/operands.h like every other GEMM built
// from tensors. Pure C++ (no SystemC); it lives in sim/ because only the simulator uses it.
#pragma once

#include <cstdint>

#include "models/numerics/i_number_format.h"
#include "models/numerics/operands.h"

namespace lbsim {

// A random m x k times k x n GEMM laid out as `lbsim verify` lays out a linear layer: A and B are
// random tensors (post-ReLU N(0, 1) for the activation role, N(0, 1) for weights and errors, as
// verify's random layer tensors), A quantized for role_a along axis 1 (K), B for role_b along
// axis 0 (K), lowered by lower_gemm (segmented). Deterministic in (seed, id): the tensors are
// keyed by splitmix64 of both, stochastic rounding by seed and the tensors' keys.
OwnedGemm random_gemm(const FormatPtr& fa, Role role_a, const FormatPtr& fb, Role role_b, int64_t m,
                      int64_t n, int64_t k, uint64_t seed, uint64_t id);

}  // namespace lbsim
