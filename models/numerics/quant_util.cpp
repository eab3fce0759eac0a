#include "models/numerics/quant_util.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "models/core/error.h"

namespace lbsim {

uint32_t int_code(int64_t q, int bits) {
  const uint32_t mask = bits >= 32 ? 0xFFFFFFFFu : ((1u << bits) - 1u);
  return static_cast<uint32_t>(q) & mask;
}

int64_t sign_extend(uint32_t code, int bits) {
  const int64_t span = int64_t{1} << bits;
  const int64_t v = static_cast<int64_t>(code & static_cast<uint32_t>(span - 1));
  return v >= span / 2 ? v - span : v;
}

double round_half_even(double v) {
  const double f = std::floor(v);
  const double d = v - f;
  if (d > 0.5) return f + 1.0;
  if (d < 0.5) return f;
  return std::fmod(f, 2.0) == 0.0 ? f : f + 1.0;
}

double round_stochastic(double v, double u) {
  const double f = std::floor(v);
  return u < v - f ? f + 1.0 : f;
}

int floor_log2_ratio(double a, double b) {
  int e = std::ilogb(a) - std::ilogb(b);
  if (std::ldexp(b, e) > a) --e;
  return e;
}

void require_finite(const TensorView& x, const std::string& format_name, Role role) {
  if (static_cast<int64_t>(x.data.size()) != numel(x.shape))
    throw std::logic_error("Tensor data size does not match its shape");
  for (size_t i = 0; i < x.data.size(); ++i) {
    if (std::isfinite(x.data[i])) continue;
    throw UserError(fmt::format(
        "format '{}': element {} (flat C-order index) of the {} tensor {} is {}; the format "
        "scales by the tensor's values and needs finite inputs",
        format_name, i, role_name(role), shape_str(x.shape),
        std::isnan(x.data[i]) ? "NaN" : "infinite"));
  }
}

GroupMap channel_groups(const Shape& shape, bool per_channel, int axis,
                        const std::string& format_name) {
  if (!per_channel) return GroupMap::per_tensor(shape);
  const int rank = static_cast<int>(shape.size());
  const int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw UserError(fmt::format(
        "format '{}': granularity=channel uses axis={}, but the tensor {} has rank {} (valid "
        "axes: {} .. {})",
        format_name, axis, shape_str(shape), rank, -rank, rank - 1));
  return GroupMap::per_axis(shape, a);
}

}  // namespace lbsim
