// LUQ radix-2 log format for neural gradients (docs/formats.md §4, docs/design.md §10.8).
//
// Element code (ElementKind::kLog, 4 bits): [sign bit 3 | c bits 2..0]; c = 0 is zero and
// c = 1..7 is 2^(c-1). The tensor scale is alpha (fp32), so a stored magnitude is alpha * 2^(c-1)
// and the largest one is alpha * 2^6. There is one per-tensor group with group scale 1.0.
//
// alpha = RNE_fp32(max|x| / 2^d), d = alpha_divisor_log2 (default 6: the corrected LUQ code, where
// max|x| is exactly alpha * 2^6 = code 7; d = 7 is the original code's max/128, whose top value
// clips to code 7; d = 4 is the paper's eq. 11 read literally). max-abs, never the signed max
// (docs/design.md §10.8). With alpha_pow2, alpha is instead the smallest power of two >= max|x|/2^d
// (paper App. A.7; rounding up keeps max|x| <= alpha * 2^6 for d = 6).
//
// Rounding of a = |v| (sign kept, zeros stay code 0), with r = a / alpha:
//   stochastic (default, paper eq. 10 + 12, unbiased below alpha * 2^6):
//     a < alpha:  alpha with probability r, else 0                       (stochastic underflow)
//     else:       n = floor(log2 r), L = 2^n; 2^(n+1) with probability (r - L) / L, else L
//     One uniform per element, u = CounterRng(seed, tensor_id).uniform(i); "up" iff u < p, with p
//     computed in double (r - L and the division by the power of two L are exact).
//   nearest (linear distance; ties go to the larger magnitude, the same rule at both places):
//     a < alpha/2 -> 0; alpha/2 <= a < alpha -> alpha;
//     else L if a < 1.5 * alpha * L, 2L otherwise.
// Magnitudes that would exceed alpha * 2^6 clip to code 7 (only possible for d > 6, or when
// alpha underflows fp32, see below).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "models/core/error.h"
#include "models/numerics/format_registry.h"
#include "models/numerics/quant_util.h"
#include "models/numerics/rng.h"

namespace lbsim {

namespace {

constexpr uint32_t kLuqSignBit = 0x8;
constexpr uint32_t kLuqMaxCode = 7;  // c = 7: alpha * 2^6
constexpr double kFp32MinSubnormal = 0x1p-149;
constexpr double kFp32MaxPow2 = 0x1p127;

class LuqFormat final : public INumberFormat, public std::enable_shared_from_this<LuqFormat> {
 public:
  LuqFormat(int divisor_log2, bool alpha_pow2, bool stochastic)
      : m_divisor_log2(divisor_log2), m_alpha_pow2(alpha_pow2), m_stochastic(stochastic) {
    m_info.name = "luq_fp4";
    m_info.kind = ElementKind::kLog;
    m_info.code_bits = 4;
    m_info.exp_bits = 3;
    m_info.man_bits = 0;
    m_info.unit_log2 = 0;
    m_info.group_scale_pow2 = true;  // the single group scale is 1.0
  }

  const FormatInfo& info() const override { return m_info; }

  // +-2^(c-1); c = 0 is zero whatever the sign bit (quantize never emits the negative zero 0b1000).
  double element_value(uint32_t code) const override {
    uint32_t c = code & kLuqMaxCode;
    if (c == 0) return 0.0;
    double mag = std::ldexp(1.0, static_cast<int>(c) - 1);
    return (code & kLuqSignBit) ? -mag : mag;
  }

  QTensor quantize(const TensorView& x, const QuantContext& ctx) const override {
    const int64_t n = numel(x.shape);
    require_finite(x, m_info.name, ctx.role);
    double max_abs = 0.0;
    for (int64_t i = 0; i < n; ++i)
      max_abs = std::max(max_abs, static_cast<double>(std::fabs(x.data[i])));

    QTensor q;
    q.format = shared_from_this();
    q.shape = x.shape;
    q.codes.assign(n, 0);
    q.groups = GroupMap::per_tensor(x.shape);
    q.group_scale = {1.0};
    q.role = ctx.role;
    q.tensor_scale = 1.0;
    if (max_abs == 0.0) return q;  // all-zero (or empty) tensor: alpha = 1, codes 0

    const double alpha = compute_alpha(max_abs);
    q.tensor_scale = alpha;
    const CounterRng rng(ctx.seed, ctx.tensor_id);
    for (int64_t i = 0; i < n; ++i) {
      const double v = x.data[i];
      const double a = std::fabs(v);
      uint32_t c = 0;
      if (a == 0.0) {
        c = 0;
      } else if (a < alpha) {
        bool up =
            m_stochastic ? rng.uniform(static_cast<uint64_t>(i)) < a / alpha : a >= 0.5 * alpha;
        c = up ? 1 : 0;
      } else {
        const int e = floor_log2_ratio(a, alpha);  // n = floor(log2 r) >= 0
        const double low = ldexp_fast(alpha, e);   // alpha * L, exact
        bool up =
            m_stochastic ? rng.uniform(static_cast<uint64_t>(i)) < (a - low) / low : a >= 1.5 * low;
        int64_t k = static_cast<int64_t>(e) + (up ? 1 : 0);  // magnitude alpha * 2^k
        c = static_cast<uint32_t>(std::min<int64_t>(k + 1, kLuqMaxCode));
      }
      if (c != 0 && v < 0) c |= kLuqSignBit;
      q.codes[i] = c;
    }
    return q;
  }

  std::string describe() const override {
    return fmt::format(
        "luq_fp4: sign + 3-bit log2 code, alpha = {}max|x| / 2^{}{} per tensor, {} rounding",
        m_alpha_pow2 ? "2^ceil(log2(" : "RNE_fp32(", m_divisor_log2, m_alpha_pow2 ? "))" : ")",
        m_stochastic ? "stochastic (unbiased log rounding + stochastic underflow)"
                     : "nearest (linear distance, ties to the larger magnitude)");
  }

 private:
  // alpha from max|x| > 0: an fp32 value > 0. Dividing an fp32 value by 2^d is exact in double;
  // the fp32 conversion rounds only when the quotient is subnormal in fp32. A quotient below
  // 2^-150 would give alpha = 0, so alpha is floored at the smallest fp32 subnormal 2^-149 (such a
  // tensor then clips at code 7). pow2 alpha is kept within [2^-149, 2^127] (fp32 powers of two).
  double compute_alpha(double max_abs) const {
    const double quotient = std::ldexp(max_abs, -m_divisor_log2);
    double alpha;
    if (m_alpha_pow2) {
      int e = std::ilogb(quotient);
      alpha = std::ldexp(1.0, e);
      if (alpha < quotient) alpha = std::ldexp(1.0, e + 1);
      alpha = std::min(alpha, kFp32MaxPow2);
    } else {
      alpha = static_cast<double>(static_cast<float>(quotient));
    }
    return std::max(alpha, kFp32MinSubnormal);
  }

  FormatInfo m_info;
  int m_divisor_log2;
  bool m_alpha_pow2;
  bool m_stochastic;
};

std::shared_ptr<const INumberFormat> make_luq(Params& p) {
  int d = static_cast<int>(p.get_int(
      "alpha_divisor_log2", 6, 0, 8,
      "alpha = max|x| / 2^d: 6 = corrected LUQ code (max is exactly code 7), 7 = original code "
      "(max/128, top value clips), 4 = paper eq. 11 read literally"));
  bool pow2 = p.get_bool("alpha_pow2", false,
                         "round alpha up to a power of two (paper App. A.7); keeps max|x| <= "
                         "alpha*2^6 for d = 6");
  std::string rounding = p.get_choice(
      "rounding", "stochastic", {"stochastic", "nearest"},
      "stochastic: unbiased log rounding + stochastic underflow (LUQ); nearest: closest "
      "magnitude in linear distance, ties to the larger");
  return std::make_shared<LuqFormat>(d, pow2, rounding == "stochastic");
}

}  // namespace

LBSIM_REGISTER(INumberFormat, "luq_fp4",
               "LUQ radix-2 log FP4 for neural gradients: sign + 3-bit exponent code, per-tensor "
               "fp32 alpha from max|x|",
               make_luq)

}  // namespace lbsim
