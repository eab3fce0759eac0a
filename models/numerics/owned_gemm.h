// Quantized GEMM problems that own their operand tensors (a GemmProblem points into its QTensors),
// built from fp32 tensors by quantizing each operand for its role and lowering the pair
// (INumberFormat::quantize, lower_gemm / lower_conv). Shared by `lbsim gemm`/`conv`/`verify`, the
// cycle-fidelity PE array's random operands (sim/modules/random_gemm.h) and the numerics metric of
// sweeps (models/sweep/numerics_quality.h), so every one quantizes and lowers operands the same
// way.
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

}  // namespace lbsim
