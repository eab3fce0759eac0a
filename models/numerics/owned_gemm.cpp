#include "models/numerics/owned_gemm.h"

#include <utility>

#include "models/core/error.h"

namespace lbsim {

QTensor quantize_operand(const FormatPtr& f, const Tensor& t, Role role, uint64_t seed, uint64_t id,
                         int axis, const std::string& what) {
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

OwnedGemm own_gemm(QTensor a, QTensor b, const GemmLowering& lower, const std::string& what) {
  OwnedGemm g;
  g.a = std::make_shared<QTensor>(std::move(a));
  g.b = std::make_shared<QTensor>(std::move(b));
  try {
    g.p = lower(*g.a, *g.b);
  } catch (const UserError& e) {
    throw UserError(what + ": " + e.what());
  }
  return g;
}

}  // namespace lbsim
