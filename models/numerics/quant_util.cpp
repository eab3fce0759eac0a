#include "models/numerics/quant_util.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "models/core/error.h"

namespace lbsim {

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
