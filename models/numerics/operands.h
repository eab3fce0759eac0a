// Quantized operands of one numerics call (`lbsim quantize | gemm | conv`, the Python binding
// `lbsim.quantize | gemm | conv`, `lbsim verify` and the cycle-level array): one copy of how an
// fp32 tensor becomes a GEMM operand (role, stochastic-rounding key, reduction axis) and of how
// `gemm` and `conv` pair their operands, so the CLI and the binding give the same bits and the
// same messages.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "models/numerics/conv_lowering.h"
#include "models/numerics/gemm_problem.h"
#include "models/numerics/i_number_format.h"
#include "models/numerics/tensor.h"

namespace lbsim {

// Quantizes t for `role`: stochastic rounding keyed by (seed, id), reduction along `axis` (-1 =
// last). A UserError of the format is prefixed with "<what>: ".
QTensor quantize_operand(const FormatPtr& f, const TensorView& t, Role role, uint64_t seed,
                         uint64_t id, int axis, const std::string& what);

// A GemmProblem together with the quantized tensors it points into.
struct OwnedGemm {
  GemmProblem p;
  std::shared_ptr<const QTensor> a, b;  // p.a.q and p.b.q point into these
};

using GemmLowering = std::function<GemmProblem(const QTensor&, const QTensor&)>;

// The problem `lower` builds from a and b, with a and b kept alive next to it. A UserError of the
// lowering is prefixed with "<what>: ".
OwnedGemm own_gemm(QTensor a, QTensor b, const GemmLowering& lower, const std::string& what);
OwnedGemm own_gemm(std::shared_ptr<const QTensor> a, std::shared_ptr<const QTensor> b,
                   const GemmLowering& lower, const std::string& what);

// The scales and layout of a quantized tensor as `lbsim quantize --scales` writes them: format,
// format_options, shape, tensor_scale, group_block, group_scale, unsigned_int, role.
nlohmann::json scales_json(const QTensor& q);

// One operand of gemm/conv: an fp32 tensor quantized by the call (with `format`, or the call's
// shared format), or a tensor quantized before (used as it is, whatever its role and key).
struct OperandSource {
  std::string name;                          // as the caller spells the argument: "--x", "x"
  std::string what;                          // prefix of quantization messages: file path, name
  std::optional<TensorView> tensor;          // to quantize (elements held by the caller), or
  std::shared_ptr<const QTensor> quantized;  // already quantized
  FormatPtr format;                          // this operand's own format (may be null)
  bool given() const { return tensor.has_value() || quantized != nullptr; }
};

// `lbsim gemm`: A (M x K) is tensor 0 reduced along axis 1, B (K x N) tensor 1 reduced along axis
// 0, both keyed by `seed`. `shared` is the format of an operand without its own (--format); a
// tensor operand without any format is a UserError naming `format_flag_a` / `format_flag_b`.
struct GemmCall {
  OperandSource a, b;
  FormatPtr shared;
  std::string format_flag_a = "--format-a", format_flag_b = "--format-b";
  Role role_a = Role::kActivation, role_b = Role::kWeight;
  uint64_t seed = 0;
};
OwnedGemm prepare_gemm(const GemmCall& c);
// prepare_gemm without the lowering (p left empty), for routes that read the operands in place.
OwnedGemm prepare_gemm_operands(const GemmCall& c);

// `lbsim conv`: the operands of a phase (fwd: x, w; dgrad: e, w; wgrad: x, e) quantized as x =
// tensor 0 (activation), w = tensor 1 (weight), e = tensor 2 (error), all keyed by `seed` and
// reduced along the last axis; the geometry (dgrad needs input_hw, wgrad kernel); the lowered GEMM.
struct ConvCall {
  ConvPhase phase = ConvPhase::kFwd;
  OperandSource x, w, e;
  FormatPtr shared;
  std::string format_flag_x = "--format-x", format_flag_w = "--format-w",
              format_flag_e = "--format-e";
  std::string input_hw_name = "--input-hw H,W", kernel_name = "--kernel R,S";
  std::vector<int64_t> input_hw, kernel;
  int64_t stride = 1, pad = 0;
  uint64_t seed = 0;
  DgradLowering lowering = DgradLowering::kIm2col;
};
struct OwnedConv {
  OwnedGemm gemm;  // a = first operand of the phase, b = second
  ConvGeometry geo;
};
OwnedConv prepare_conv(const ConvCall& c);
// prepare_conv without the lowering (gemm.p left empty), for routes that read the operands in
// place (models/reference run_conv_reference).
OwnedConv prepare_conv_operands(const ConvCall& c);

}  // namespace lbsim
