// Exact codec for binary float layouts [sign | exp_bits | man_bits] (IEEE-style, with a bias and
// one of the FloatSpecials conventions). Used by the float number formats (fp32, fp16, bf16, fp8)
// and by anything that needs an exact "round to format X" step (datapaths, references).
//
// Value of a code (E = exp_bits, M = man_bits, f = exponent field, m = mantissa field):
//   f = 0:                    (-1)^s * m * 2^(1 - bias - M)              (zero / subnormal)
//   0 < f < 2^E - 1:          (-1)^s * (2^M + m) * 2^(f - bias - M)      (normal)
//   f = 2^E - 1, kIeee:       m = 0 -> +-inf, else NaN
//   f = 2^E - 1, kFiniteNan:  m = 2^M - 1 -> NaN, else normal as above (OCP E4M3: max 448)
//
// Encoding rounds an arbitrary double to a code, exactly (integer reasoning on the double, no
// intermediate rounding):
//   * nearest: round-to-nearest, ties to even mantissa. Overflow follows IEEE: the value is
//     first rounded with an unbounded exponent range and overflows when that result exceeds the
//     max finite value. For kIeee (max mantissa all ones, odd) this means |x| >= max + ulp/2
//     overflows; for kFiniteNan (E4M3: max mantissa 110, even) the tie max + ulp/2 (464) rounds
//     down to max and only |x| > max + ulp/2 overflows.
//   * stochastic: with lo <= |x| <= hi the neighbouring representable magnitudes and
//     frac = (|x| - lo) / (hi - lo), the magnitude rounds up to hi iff u < frac, so
//     E[result] = x for u uniform in [0, 1). Values already representable never move.
//   * overflow: saturate -> +-max finite; otherwise +-inf (kIeee) or NaN (kFiniteNan).
//   * +-inf input: like overflow (saturate -> +-max finite, else +-inf or NaN for kFiniteNan).
//   * NaN input: the canonical quiet NaN, positive sign (fp32: 0x7FC00000, fp16: 0x7E00,
//     bf16: 0x7FC0, e5m2: 0x7E, e4m3: 0x7F); sign and payload are not kept.
//   * signed zeros are kept, and values that round to zero keep their sign (-2^-30 -> -0 in fp16).
#pragma once

#include <cstdint>

#include "models/numerics/i_number_format.h"

namespace lbsim {

struct FloatLayout {
  int exp_bits = 8;
  int man_bits = 23;
  int bias = 127;
  FloatSpecials specials = FloatSpecials::kIeee;
};

inline constexpr FloatLayout kFp32Layout{8, 23, 127, FloatSpecials::kIeee};
inline constexpr FloatLayout kFp16Layout{5, 10, 15, FloatSpecials::kIeee};
inline constexpr FloatLayout kBf16Layout{8, 7, 127, FloatSpecials::kIeee};
inline constexpr FloatLayout kFp8E4M3Layout{4, 3, 7, FloatSpecials::kFiniteNan};
inline constexpr FloatLayout kFp8E5M2Layout{5, 2, 15, FloatSpecials::kIeee};

// Throws std::logic_error unless the layout is supported: exp_bits in [2, 11], man_bits in
// [1, 30], 1 + exp_bits + man_bits <= 32, and every finite value (including the smallest
// subnormal) is a normal double. The codec functions below assume a valid layout (they do not
// re-check it per element).
void check_float_layout(const FloatLayout& layout);

// The layout of a kFloat format (throws std::logic_error for other kinds or invalid layouts).
FloatLayout float_layout_of(const FormatInfo& info);

int float_code_bits(const FloatLayout& layout);             // 1 + exp_bits + man_bits
uint32_t float_max_finite_code(const FloatLayout& layout);  // positive; e4m3 0x7E, fp16 0x7BFF
double float_max_finite(const FloatLayout& layout);         // e4m3 448, e5m2 57344, fp16 65504
double float_min_subnormal(const FloatLayout& layout);      // 2^(1 - bias - man_bits)
uint32_t float_nan_code(const FloatLayout& layout);         // canonical quiet NaN (see above)
uint32_t float_inf_code(const FloatLayout& layout);         // +inf; std::logic_error for kFiniteNan

// Exact value of a code; bits above 1 + exp_bits + man_bits are ignored.
double float_decode(uint32_t code, const FloatLayout& layout);

// Rounds x to the layout (see the header comment for the exact rules). u is the uniform in
// [0, 1) used when stochastic (ignored otherwise).
uint32_t float_encode(double x, const FloatLayout& layout, bool stochastic, double u,
                      bool saturate);

// float_decode(float_encode(x, ...)): x rounded to the layout, as a double.
double float_round(double x, const FloatLayout& layout, bool stochastic, double u, bool saturate);

}  // namespace lbsim
