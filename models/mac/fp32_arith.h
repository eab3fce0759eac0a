// IEEE 754 binary32 arithmetic on bit patterns, done with integer operations only.
//
// This is the "hardware" route of the PE datapaths: every function works on uint32_t encodings
// and integer significands, never on float/double values, so that tests comparing it against
// the host FPU (and the functional reference, which uses double) check an independent route.
//
// Common contract of every function below:
//   - rounding is round-to-nearest, ties-to-even (RNE), applied exactly once to the exact
//     mathematical result (no double rounding), with gradual underflow (subnormals) and
//     overflow to +-inf;
//   - signed zeros follow IEEE 754 (x + (-x) = +0 under RNE, (-0) + (-0) = -0, sign of a
//     product is the xor of the operand signs);
//   - inf arithmetic follows IEEE 754 (inf - inf = NaN, inf * 0 = NaN);
//   - every NaN result is the canonical quiet NaN 0x7FC00000 (input NaN payloads are dropped).
// Exponent arguments may lie far outside the binary32 range (e.g. 2^-500): they are handled
// exactly (results then saturate to inf or flush to a correctly rounded subnormal/zero).
#pragma once

#include <cstdint>

namespace lbsim {

__extension__ typedef unsigned __int128 Uint128;  // GCC/Clang extension; 128-bit datapath
__extension__ typedef __int128 Int128;

constexpr uint32_t kFp32SignMask = 0x80000000u;
constexpr uint32_t kFp32PosInf = 0x7F800000u;
constexpr uint32_t kFp32QuietNan = 0x7FC00000u;  // the canonical NaN of every result
constexpr uint32_t kFp32One = 0x3F800000u;

inline bool fp32_is_nan(uint32_t x) { return (x & ~kFp32SignMask) > kFp32PosInf; }
inline bool fp32_is_inf(uint32_t x) { return (x & ~kFp32SignMask) == kFp32PosInf; }
inline bool fp32_is_zero(uint32_t x) { return (x & ~kFp32SignMask) == 0; }
inline bool fp32_sign(uint32_t x) { return (x & kFp32SignMask) != 0; }

// A finite binary32 value as (-1)^neg * sig * 2^exp2 with sig < 2^24 (hidden bit included for
// normals; exp2 = -149 for subnormals and zero).
struct Fp32Parts {
  bool neg = false;
  uint32_t sig = 0;
  int exp2 = 0;
};
// Precondition: x is finite (not inf/NaN).
Fp32Parts fp32_decompose(uint32_t x);

// RNE((-1)^neg * magnitude * 2^exp2): the single rounding step every operation ends with.
// Uses guard/round/sticky over the full 128-bit magnitude. magnitude == 0 gives a zero of the
// given sign.
uint32_t fp32_round(bool neg, Uint128 magnitude, int exp2);

// RNE(a + b).
uint32_t fp32_add(uint32_t a, uint32_t b);

// RNE(a * b * 2^exp_offset), one rounding (the product and the offset are exact).
uint32_t fp32_mul(uint32_t a, uint32_t b, int exp_offset = 0);

// RNE(acc + (-1)^neg * sig * 2^exp2): a fused add of an exact product (as delivered by a PE
// multiplier: any 64-bit significand, any exponent) with one rounding. sig == 0 is a signed zero
// product (so (-0) + (-0 product) = -0, (+0) + (-0 product) = +0).
uint32_t fp32_fma_exact(uint32_t acc, bool neg, uint64_t sig, int exp2);

// RNE(v): integer to binary32 (exact while |v| <= 2^24). 0 gives +0.
uint32_t int_to_fp32(int64_t v);

// RNE(x * 2^e) for any int e.
uint32_t fp32_scale_pow2(uint32_t x, int e);

// RNE(d) where d is given by its binary64 bit pattern (decoded with integer operations): used to
// take scale factors that arrive as doubles into the fp32 datapath. Exact when d is
// fp32-representable.
uint32_t fp32_from_f64_bits(uint64_t bits);

}  // namespace lbsim
