// Quantized GEMM problems that own their operand tensors (a GemmProblem points into its QTensors),
// built from fp32 tensors by quantizing each operand for its role and lowering the pair
// (models/numerics: INumberFormat::quantize, lower_gemm / lower_conv). Shared by `lbsim verify`
// (a layer's tensors, sim/cli/cmd_verify.cpp) and the cycle-fidelity PE array of `lbsim run`
// (random operands per tile, sim/modules/cycle_compute.h), so both feed the clocked array the same
// way. Pure C++ (no SystemC); it lives in sim/ because only these two use it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "models/numerics/gemm_problem.h"
#include "models/numerics/i_number_format.h"
#include "models/numerics/tensor.h"

namespace lbsim {

struct OwnedGemm {
  GemmProblem p;
  std::shared_ptr<QTensor> a, b;  // p.a.q and p.b.q point into these
};

using GemmLowering = std::function<GemmProblem(const QTensor&, const QTensor&)>;

// Quantizes t for `role`: stochastic rounding keyed by (seed, id), reduction along `axis` (-1 =
// last). A UserError of the format is prefixed with "<what>: ".
QTensor quantize_operand(const FormatPtr& f, const Tensor& t, Role role, uint64_t seed, uint64_t id,
                         int axis, const std::string& what);

// The problem `lower` builds from a and b, with a and b kept alive next to it. A UserError of the
// lowering is prefixed with "<what>: ".
OwnedGemm own_gemm(QTensor a, QTensor b, const GemmLowering& lower, const std::string& what);

// A random m x k times k x n GEMM laid out as `lbsim verify` lays out a linear layer: A and B are
// random tensors (post-ReLU N(0, 1) for the activation role, N(0, 1) for weights and errors, as
// verify's random layer tensors), A quantized for role_a along axis 1 (K), B for role_b along
// axis 0 (K), lowered by lower_gemm (segmented). Deterministic in (seed, id): the tensors are
// keyed by splitmix64 of both, stochastic rounding by seed and the tensors' keys.
OwnedGemm random_gemm(const FormatPtr& fa, Role role_a, const FormatPtr& fb, Role role_b, int64_t m,
                      int64_t n, int64_t k, uint64_t seed, uint64_t id);

}  // namespace lbsim
