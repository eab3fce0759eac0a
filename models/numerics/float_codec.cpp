#include "models/numerics/float_codec.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "models/numerics/quant_util.h"

namespace lbsim {

namespace {

uint32_t exp_field_all_ones(const FloatLayout& l) { return (1u << l.exp_bits) - 1u; }
uint32_t man_mask(const FloatLayout& l) { return (1u << l.man_bits) - 1u; }
uint32_t sign_bit(const FloatLayout& l) { return 1u << (l.exp_bits + l.man_bits); }

// Largest biased exponent field holding finite values.
uint32_t max_finite_exp_field(const FloatLayout& l) {
  return l.specials == FloatSpecials::kIeee ? exp_field_all_ones(l) - 1u : exp_field_all_ones(l);
}

}  // namespace

void check_float_layout(const FloatLayout& l) {
  auto fail = [&](const std::string& why) {
    throw std::logic_error("unsupported float layout E" + std::to_string(l.exp_bits) + "M" +
                           std::to_string(l.man_bits) + " bias " + std::to_string(l.bias) + ": " +
                           why);
  };
  if (l.exp_bits < 2 || l.exp_bits > 11) fail("exp_bits must be in [2, 11]");
  if (l.man_bits < 1 || l.man_bits > 30) fail("man_bits must be in [1, 30]");
  if (1 + l.exp_bits + l.man_bits > 32) fail("more than 32 code bits");
  // Max finite < 2^(emax + 1) must stay below 2^1024, the smallest subnormal 2^(1 - bias - M) at
  // or above the smallest normal double 2^-1022, so that every value and every scaled
  // intermediate in float_encode is an exact normal double.
  const int emax = static_cast<int>(max_finite_exp_field(l)) - l.bias;
  const int emin = 1 - l.bias;
  if (emax > 1023) fail("values overflow double");
  if (emin - l.man_bits < -1022) fail("subnormals underflow double");
}

FloatLayout float_layout_of(const FormatInfo& info) {
  if (info.kind != ElementKind::kFloat)
    throw std::logic_error("float_layout_of: format '" + info.name + "' is not a float format");
  FloatLayout l{info.exp_bits, info.man_bits, info.bias, info.specials};
  check_float_layout(l);
  return l;
}

int float_code_bits(const FloatLayout& l) { return 1 + l.exp_bits + l.man_bits; }

uint32_t float_max_finite_code(const FloatLayout& l) {
  // kIeee: exponent 2^E - 2, mantissa all ones. kFiniteNan: exponent all ones, mantissa all ones
  // minus one (all ones is the NaN).
  uint32_t man = l.specials == FloatSpecials::kIeee ? man_mask(l) : man_mask(l) - 1u;
  return (max_finite_exp_field(l) << l.man_bits) | man;
}

double float_max_finite(const FloatLayout& l) { return float_decode(float_max_finite_code(l), l); }

double float_min_subnormal(const FloatLayout& l) {
  return std::ldexp(1.0, 1 - l.bias - l.man_bits);
}

uint32_t float_nan_code(const FloatLayout& l) {
  if (l.specials == FloatSpecials::kFiniteNan)
    return (exp_field_all_ones(l) << l.man_bits) | man_mask(l);
  // Quiet NaN: top mantissa bit set, the rest zero.
  return (exp_field_all_ones(l) << l.man_bits) | (1u << (l.man_bits - 1));
}

uint32_t float_inf_code(const FloatLayout& l) {
  if (l.specials != FloatSpecials::kIeee)
    throw std::logic_error("float_inf_code: layout has no infinity");
  return exp_field_all_ones(l) << l.man_bits;
}

double float_decode(uint32_t code, const FloatLayout& l) {
  const int m_bits = l.man_bits;
  const uint32_t man = code & man_mask(l);
  const uint32_t ef = (code >> m_bits) & exp_field_all_ones(l);
  const bool neg = (code & sign_bit(l)) != 0;
  double v;
  if (ef == exp_field_all_ones(l) && l.specials == FloatSpecials::kIeee) {
    v = man == 0 ? std::numeric_limits<double>::infinity()
                 : std::numeric_limits<double>::quiet_NaN();
  } else if (ef == exp_field_all_ones(l) && man == man_mask(l)) {  // kFiniteNan
    v = std::numeric_limits<double>::quiet_NaN();
  } else if (ef == 0) {
    v = std::ldexp(static_cast<double>(man), 1 - l.bias - m_bits);
  } else {
    v = std::ldexp(static_cast<double>((1u << m_bits) | man),
                   static_cast<int>(ef) - l.bias - m_bits);
  }
  return neg ? -v : v;
}

uint32_t float_encode(double x, const FloatLayout& l, bool stochastic, double u, bool saturate) {
  if (std::isnan(x)) return float_nan_code(l);
  const int m_bits = l.man_bits;
  const uint32_t sign = std::signbit(x) ? sign_bit(l) : 0u;
  const uint32_t max_code = float_max_finite_code(l);
  auto overflow = [&]() -> uint32_t {
    if (saturate) return sign | max_code;
    if (l.specials == FloatSpecials::kIeee) return sign | float_inf_code(l);
    return float_nan_code(l);
  };
  if (std::isinf(x)) return overflow();
  const double a = std::fabs(x);
  if (a == 0.0) return sign;

  // a = f * 2^k with f in [0.5, 1): a lies in the binade [2^(k-1), 2^k). The target's quantum in
  // that binade is 2^(e - M), with e clamped to the minimum normal exponent for subnormals.
  const int k = ilogb_fast(a) + 1;  // frexp's exponent
  const int emin = 1 - l.bias;
  int e = k - 1 < emin ? emin : k - 1;
  // s = a / quantum: in [2^M, 2^(M+1)) for normals, [0, 2^M) for subnormals. Exact: a power-of-two
  // scaling up never loses bits (s < 2^(M+1) <= 2^31 cannot overflow), and scaling down (only when
  // e > M) yields s >= 2^M, a normal double.
  const double s = ldexp_fast(a, m_bits - e);
  const double n = floor_exact(s);
  const double frac = s - n;  // exact: s and n share the binade's quantum or finer
  uint64_t m = static_cast<uint64_t>(n);
  // Round up or not, without a data-dependent branch (bitwise, not short-circuit, operators).
  // Stochastic: frac = 0 (representable) never rounds since u >= 0.
  const bool up = stochastic ? u < frac : (frac > 0.5) | ((frac == 0.5) & ((m & 1u) != 0));
  m += static_cast<uint64_t>(up);
  if (m == 0) return sign;  // underflow to a signed zero
  if (m >> (m_bits + 1)) {  // rounded up to 2^(M+1): next binade, mantissa 0
    m >>= 1;
    ++e;
  }
  uint64_t mag;
  if (m < (uint64_t{1} << m_bits)) {
    mag = m;  // subnormal (only reachable with e == emin): exponent field 0
  } else {
    const uint64_t biased = static_cast<uint64_t>(e + l.bias);  // >= 1 since e >= emin
    mag = (biased << m_bits) | (m - (uint64_t{1} << m_bits));
  }
  // Magnitude codes are ordered like the values, and every code above max_code is inf/NaN.
  if (mag > max_code) return overflow();
  return sign | static_cast<uint32_t>(mag);
}

double float_round(double x, const FloatLayout& l, bool stochastic, double u, bool saturate) {
  return float_decode(float_encode(x, l, stochastic, u, saturate), l);
}

}  // namespace lbsim
