#include "models/numerics/operands.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <utility>

#include "models/core/error.h"

namespace lbsim {

QTensor quantize_operand(const FormatPtr& f, const TensorView& t, Role role, uint64_t seed,
                         uint64_t id, int axis, const std::string& what) {
  QuantContext ctx;
  ctx.role = role;
  ctx.seed = seed;
  ctx.tensor_id = id;
  ctx.reduction_axis = axis;
  try {
    return f->quantize(t, ctx);
  } catch (const UserError& e) {
    throw UserError(what + ": " + e.what());
  }
}

OwnedGemm own_gemm(std::shared_ptr<const QTensor> a, std::shared_ptr<const QTensor> b,
                   const GemmLowering& lower, const std::string& what) {
  OwnedGemm g;
  g.a = std::move(a);
  g.b = std::move(b);
  try {
    g.p = lower(*g.a, *g.b);
  } catch (const UserError& e) {
    throw UserError(what + ": " + e.what());
  }
  return g;
}

OwnedGemm own_gemm(QTensor a, QTensor b, const GemmLowering& lower, const std::string& what) {
  return own_gemm(std::make_shared<const QTensor>(std::move(a)),
                  std::make_shared<const QTensor>(std::move(b)), lower, what);
}

nlohmann::json scales_json(const QTensor& q) {
  nlohmann::json j;
  j["format"] = q.format->info().name;
  j["format_options"] = q.format->describe();
  j["shape"] = q.shape;
  j["tensor_scale"] = q.tensor_scale;
  j["group_block"] = q.groups.block;
  j["group_scale"] = q.group_scale;
  j["unsigned_int"] = q.unsigned_int;
  j["role"] = role_name(q.role);
  return j;
}

namespace {

// Empty operands are refused before anything is quantized: a GEMM with K = 0 (or M, N = 0) or a
// conv with an empty tensor has no defined result in lbsim (docs/design.md §4 defines every output
// as a sum over at least one product).
void require_nonempty(const Shape& shape, const std::string& what) {
  for (int64_t d : shape)
    if (d < 1)
      throw UserError(
          fmt::format("error: {}: shape {} has an empty dimension; GEMM and conv "
                      "operands need every dimension >= 1",
                      what, shape_str(shape)));
}

// The operand as a quantized tensor: the given one, or the fp32 tensor quantized with its own
// format (else the shared one) for (role, seed, id, axis).
std::shared_ptr<const QTensor> operand(const OperandSource& s, const FormatPtr& shared,
                                       const std::string& format_flag, Role role, uint64_t seed,
                                       uint64_t id, int axis) {
  if (s.quantized) return s.quantized;
  require_nonempty(s.tensor->shape, s.what.empty() ? s.name : s.what);
  const FormatPtr& f = s.format ? s.format : shared;
  if (!f)
    throw UserError(
        fmt::format("error: no number format for this operand: give --format or {}", format_flag));
  return std::make_shared<const QTensor>(
      quantize_operand(f, *s.tensor, role, seed, id, axis, s.what));
}

void require(const OperandSource& s, const std::string& phase) {
  if (!s.given()) throw UserError(fmt::format("error: conv --phase {} needs {}", phase, s.name));
}

}  // namespace

OwnedGemm prepare_gemm_operands(const GemmCall& c) {
  if (!c.a.given() || !c.b.given()) throw UserError("error: gemm needs both operands A and B");
  // A (M x K) is reduced along axis 1, B (K x N) along axis 0.
  auto a = operand(c.a, c.shared, c.format_flag_a, c.role_a, c.seed, 0, 1);
  auto b = operand(c.b, c.shared, c.format_flag_b, c.role_b, c.seed, 1, 0);
  OwnedGemm g;
  g.a = std::move(a);
  g.b = std::move(b);
  return g;
}

OwnedGemm prepare_gemm(const GemmCall& c) {
  OwnedGemm g = prepare_gemm_operands(c);
  return own_gemm(std::move(g.a), std::move(g.b), lower_gemm,
                  fmt::format("error: gemm {} {} x {} {}", c.a.name, c.a.what, c.b.name, c.b.what));
}

OwnedConv prepare_conv(const ConvCall& c) {
  OwnedConv out = prepare_conv_operands(c);
  out.gemm.p = lower_conv(c.phase, *out.gemm.a, *out.gemm.b, out.geo, c.lowering);
  return out;
}

OwnedConv prepare_conv_operands(const ConvCall& c) {
  const std::string phase = conv_phase_name(c.phase);
  std::shared_ptr<const QTensor> first, second;
  OwnedConv out;
  if (c.phase == ConvPhase::kFwd) {
    require(c.x, phase);
    require(c.w, phase);
    first = operand(c.x, c.shared, c.format_flag_x, Role::kActivation, c.seed, 0, -1);
    second = operand(c.w, c.shared, c.format_flag_w, Role::kWeight, c.seed, 1, -1);
    out.geo = make_conv_geometry(first->shape, second->shape, c.stride, c.pad);
  } else if (c.phase == ConvPhase::kDgrad) {
    require(c.e, phase);
    require(c.w, phase);
    if (c.input_hw.size() != 2)
      throw UserError(fmt::format("error: conv --phase dgrad needs {}", c.input_hw_name));
    first = operand(c.e, c.shared, c.format_flag_e, Role::kError, c.seed, 2, -1);
    second = operand(c.w, c.shared, c.format_flag_w, Role::kWeight, c.seed, 1, -1);
    if (first->shape.size() != 4 || second->shape.size() != 4)
      throw UserError(
          fmt::format("error: conv dgrad: {} must be (N, Cout, Ho, Wo) and {} (Cout, Cin, R, S)",
                      c.e.name, c.w.name));
    out.geo = make_conv_geometry({first->shape[0], second->shape[1], c.input_hw[0], c.input_hw[1]},
                                 second->shape, c.stride, c.pad);
  } else {
    require(c.x, phase);
    require(c.e, phase);
    if (c.kernel.size() != 2)
      throw UserError(fmt::format("error: conv --phase wgrad needs {}", c.kernel_name));
    first = operand(c.x, c.shared, c.format_flag_x, Role::kActivation, c.seed, 0, -1);
    second = operand(c.e, c.shared, c.format_flag_e, Role::kError, c.seed, 2, -1);
    if (first->shape.size() != 4 || second->shape.size() != 4)
      throw UserError(
          fmt::format("error: conv wgrad: {} must be (N, Cin, H, W) and {} (N, Cout, Ho, Wo)",
                      c.x.name, c.e.name));
    out.geo = make_conv_geometry(first->shape,
                                 {second->shape[1], first->shape[1], c.kernel[0], c.kernel[1]},
                                 c.stride, c.pad);
  }
  out.gemm.a = std::move(first);
  out.gemm.b = std::move(second);
  return out;
}

}  // namespace lbsim
