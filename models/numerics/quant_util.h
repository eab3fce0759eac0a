// Small exact helpers shared by the quantizers in impl/ (one copy of each rule).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "models/numerics/i_number_format.h"

namespace lbsim {

// Two's complement code of q in the low `bits` bits (q within the format's range).
inline uint32_t int_code(int64_t q, int bits) {
  const uint32_t mask = bits >= 32 ? 0xFFFFFFFFu : ((1u << bits) - 1u);
  return static_cast<uint32_t>(q) & mask;
}
// Inverse of int_code: the sign-extended integer held in the low `bits` bits of code.
inline int64_t sign_extend(uint32_t code, int bits) {
  const int64_t span = int64_t{1} << bits;
  const int64_t v = static_cast<int64_t>(code & static_cast<uint32_t>(span - 1));
  return v >= span / 2 ? v - span : v;
}

// The quantizers call the rounding helpers below once per element, so they are inline and
// branch-free where the branch would be data-dependent (a mispredicted branch per element cost
// more than the rest of int8 quantization). They equal the plain definitions for every double.

// Whether v is an integer too large for floor_int64's path (|v| >= 2^52), a zero of either sign,
// NaN or an infinity: the values the helpers below return as std::floor does.
inline bool floor_is_identity(double v) { return !(std::fabs(v) < 4503599627370496.0) || v == 0.0; }
// floor(v) for |v| < 2^52 as an integer: truncation toward zero, one step down below a negative
// non-integer, in integer arithmetic (no branch).
inline int64_t floor_int64(double v) {
  const int64_t i = static_cast<int64_t>(v);
  return i - static_cast<int64_t>(static_cast<double>(i) > v);
}

// floor(v) = std::floor(v) for every double.
inline double floor_exact(double v) {
  return floor_is_identity(v) ? std::floor(v) : static_cast<double>(floor_int64(v));
}

// Round to nearest, ties to even, independent of the floating-point environment
// (v - floor(v) is exact for every double, so the tie test is exact). Integers (|v| >= 2^52,
// zeros of either sign), NaN and infinities come back as they are.
inline double round_half_even(double v) {
  if (floor_is_identity(v)) return v;
  const int64_t i = floor_int64(v);
  const double f = static_cast<double>(i);
  const double d = v - f;
  if (d == 0.5) return std::fmod(f, 2.0) == 0.0 ? f : f + 1.0;  // a tie (rare): to even
  return static_cast<double>(i + static_cast<int64_t>(d > 0.5));
}
// Unbiased stochastic rounding: floor(v) + 1 iff u < frac(v), u in [0, 1). Integers stay put,
// which keeps quantization idempotent on grid values.
inline double round_stochastic(double v, double u) {
  if (floor_is_identity(v)) return v;
  const int64_t i = floor_int64(v);
  return static_cast<double>(i + static_cast<int64_t>(u < v - static_cast<double>(i)));
}

// std::ilogb(a) for finite a != 0, from the exponent bits of normal doubles.
inline int ilogb_fast(double a) {
  uint64_t b;
  std::memcpy(&b, &a, sizeof b);
  const int biased = static_cast<int>((b >> 52) & 0x7FF);
  return biased == 0 ? std::ilogb(a) : biased - 1023;
}

// std::ldexp(a, p) for every a and p: a power-of-two factor that is a normal double multiplies
// with one correctly rounded product, which is what ldexp returns.
inline double ldexp_fast(double a, int p) {
  if (p < -1022 || p > 1023) return std::ldexp(a, p);
  const uint64_t bits = static_cast<uint64_t>(p + 1023) << 52;
  double f;
  std::memcpy(&f, &bits, sizeof f);
  return a * f;
}

// floor(log2(a / b)) for finite a, b > 0, exactly (no rounded division involved).
inline int floor_log2_ratio(double a, double b) {
  int e = ilogb_fast(a) - ilogb_fast(b);
  if (ldexp_fast(b, e) > a) --e;
  return e;
}

// Throws UserError naming the first non-finite element (max-scaled formats need finite values);
// std::logic_error when the data size does not match the shape (an internal invariant).
void require_finite(const TensorView& x, const std::string& format_name, Role role);

// granularity=tensor|channel groups. A negative axis counts from the last dimension; the axis can
// only be checked against a concrete tensor, hence at quantize time (UserError when out of range).
GroupMap channel_groups(const Shape& shape, bool per_channel, int axis,
                        const std::string& format_name);

}  // namespace lbsim
