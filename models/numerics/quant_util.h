// Small exact helpers shared by the quantizers in impl/ (one copy of each rule).
#pragma once

#include <cstdint>
#include <string>

#include "models/numerics/i_number_format.h"

namespace lbsim {

// Two's complement code of q in the low `bits` bits (q within the format's range).
uint32_t int_code(int64_t q, int bits);
// Inverse of int_code: the sign-extended integer held in the low `bits` bits of code.
int64_t sign_extend(uint32_t code, int bits);

// Round to nearest, ties to even, independent of the floating-point environment
// (v - floor(v) is exact for every double, so the tie test is exact).
double round_half_even(double v);
// Unbiased stochastic rounding: floor(v) + 1 iff u < frac(v), u in [0, 1). Integers stay put,
// which keeps quantization idempotent on grid values.
double round_stochastic(double v, double u);

// floor(log2(a / b)) for finite a, b > 0, exactly (no rounded division involved).
int floor_log2_ratio(double a, double b);

// Throws UserError naming the first non-finite element (max-scaled formats need finite values);
// std::logic_error when the data size does not match the shape (an internal invariant).
void require_finite(const TensorView& x, const std::string& format_name, Role role);

// granularity=tensor|channel groups. A negative axis counts from the last dimension; the axis can
// only be checked against a concrete tensor, hence at quantize time (UserError when out of range).
GroupMap channel_groups(const Shape& shape, bool per_channel, int axis,
                        const std::string& format_name);

}  // namespace lbsim
