// Dynamic fixed point `dfp` (dfp2..dfp16): the number format of integer-arithmetic training
// (Ghaffari et al., NeurIPS 2022; seeds.md 3.2-3.5, 8 items 11-12, 9 "INT mapping").
//
// Per group (tensor or channel) one shared exponent: with max|x| = f * 2^e_max, f in [0.5, 1)
// (frexp convention, so 2^(e_max-1) <= max|x| < 2^e_max), the group scale is the power of two
//     scale = 2^(e_max - (bits-1))
// and each element is q = clamp(round(x / scale), -(2^(bits-1)-1), 2^(bits-1)-1), stochastic
// rounding by default (the paper's unbiased mapping) or nearest-even. x / scale is exact, and
// max|x| / scale lies in [2^(bits-2), 2^(bits-1)), so only a rounding carry at the top is clamped.
// FormatInfo: kind kInt, unit_log2 = 0, group_scale_pow2 = true, tensor_scale = 1; codes are two's
// complement masked to `bits`, element_value is the sign-extended integer.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/numerics/format_registry.h"
#include "models/numerics/quant_util.h"
#include "models/numerics/rng.h"

namespace lbsim {

namespace {

class DfpFormat : public INumberFormat, public std::enable_shared_from_this<DfpFormat> {
 public:
  DfpFormat(int bits, bool per_channel, int axis, bool stochastic)
      : m_per_channel(per_channel), m_axis(axis), m_stochastic(stochastic) {
    m_info.name = fmt::format("dfp{}", bits);
    m_info.kind = ElementKind::kInt;
    m_info.code_bits = bits;
    m_info.unit_log2 = 0;
    m_info.group_scale_pow2 = true;
    m_qmax = (int64_t{1} << (bits - 1)) - 1;
  }

  const FormatInfo& info() const override { return m_info; }

  double element_value(uint32_t code) const override {
    return static_cast<double>(sign_extend(code, m_info.code_bits));
  }

  QTensor quantize(const Tensor& x, const QuantContext& ctx) const override {
    require_finite(x, m_info.name, ctx.role);
    QTensor q;
    q.format = shared_from_this();
    q.shape = x.shape;
    q.role = ctx.role;
    q.tensor_scale = 1.0;
    q.groups = channel_groups(x.shape, m_per_channel, m_axis, m_info.name);

    const int64_t n = numel(x.shape);
    std::vector<int64_t> group(static_cast<size_t>(n));
    std::vector<float> gmax(static_cast<size_t>(q.groups.num_groups()), 0.0f);
    for (int64_t i = 0; i < n; ++i) {
      group[i] = q.groups.group_of(i);
      gmax[group[i]] = std::max(gmax[group[i]], std::fabs(x.data[i]));
    }
    // An all-zero group takes e_max = 0 (scale 2^-(bits-1)); its codes are 0 whatever the scale.
    const int bits = m_info.code_bits;
    q.group_scale.resize(gmax.size());
    for (size_t g = 0; g < gmax.size(); ++g) {
      int e_max = 0;
      if (gmax[g] != 0.0f) std::frexp(gmax[g], &e_max);
      q.group_scale[g] = std::ldexp(1.0, e_max - (bits - 1));
    }

    const CounterRng rng(ctx.seed, ctx.tensor_id);
    const double qmax = static_cast<double>(m_qmax);
    q.codes.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const double v = static_cast<double>(x.data[i]) / q.group_scale[group[i]];  // exact
      double r;
      if (m_stochastic) {
        r = round_stochastic(v, rng.uniform(static_cast<uint64_t>(i)));
      } else {
        r = round_half_even(v);
      }
      q.codes[i] = int_code(static_cast<int64_t>(std::clamp(r, -qmax, qmax)), bits);
    }
    return q;
  }

  std::string describe() const override {
    return fmt::format(
        "{}: dynamic fixed point [-{}, {}], power-of-two scale 2^(e_max-{}) per {}, rounding {}",
        m_info.name, m_qmax, m_qmax, m_info.code_bits - 1,
        m_per_channel ? fmt::format("channel (axis {})", m_axis) : std::string("tensor"),
        m_stochastic ? "stochastic" : "nearest (ties to even)");
  }

 private:
  FormatInfo m_info;
  int64_t m_qmax = 0;
  bool m_per_channel = false;
  int m_axis = 0;
  bool m_stochastic = true;
};

FormatPtr make_dfp(Params& p) {
  const int bits = static_cast<int>(p.get_int(
      "bits", 8, 2, 16, "element width; two's complement, symmetric range +-(2^(bits-1)-1)"));
  const std::string gran =
      p.get_choice("granularity", "tensor", {"tensor", "channel"},
                   "one shared exponent per tensor, or one per index of `axis`");
  const int axis = static_cast<int>(
      p.get_int("axis", 0, -8, 7,
                "channel axis for granularity=channel (negative counts from the last); checked "
                "against the tensor rank when quantizing"));
  const std::string rounding =
      p.get_choice("rounding", "stochastic", {"stochastic", "nearest"},
                   "stochastic = floor + Bernoulli(fraction) (unbiased); nearest = half to even");
  if (p.has("axis") && gran != "channel")
    p.error("axis", "axis applies only with granularity=channel");
  return std::make_shared<DfpFormat>(bits, gran == "channel", axis, rounding == "stochastic");
}

}  // namespace

LBSIM_REGISTER(INumberFormat, "dfp",
               "dynamic fixed point (integer training): power-of-two shared exponent per tensor "
               "or channel",
               make_dfp)
LBSIM_REGISTER_FORMAT_ALIAS("dfp([0-9]+)", "dfp", {"bits"}, "dfp8")

}  // namespace lbsim
