#include "models/mac/fp32_arith.h"

#include <algorithm>

namespace lbsim {

namespace {

// Exponents beyond +-2^20 behave exactly like +-2^20 for every operation here (the result has
// long saturated to inf or flushed to zero, or the term is a pure sticky bit), so clamping them
// keeps all intermediate exponent arithmetic far from int overflow without changing results.
constexpr int64_t kExpClamp = int64_t{1} << 20;

int clamp_exp(int64_t e) { return static_cast<int>(std::clamp(e, -kExpClamp, kExpClamp)); }

int msb64(uint64_t x) { return 63 - __builtin_clzll(x); }  // x != 0

int msb128(Uint128 x) {  // x != 0
  const uint64_t hi = static_cast<uint64_t>(x >> 64);
  return hi ? 64 + msb64(hi) : msb64(static_cast<uint64_t>(x));
}

// RNE(sa_signed * 2^ea + sb_signed * 2^eb) for nonzero sa, sb (each < 2^64).
//
// Both terms are placed in a 128-bit frame in which the term with the higher top bit has its
// msb at bit 125 (so sums never exceed 2^127). The other term is shifted into the frame; bits it
// loses below bit 0 are jammed into bit 0 ("round to odd"). That loss can only happen when the
// lower term's top bit is below bit 63, so the exact result is > 2^124 and its rounding point
// lies at bit >= 101; the larger term has no bits below bit 62. Hence the jammed sum lies
// strictly between the same two rounding boundaries as the exact sum and is never itself a
// boundary: the final single rounding is correct.
uint32_t add_terms(bool na, uint64_t sa, int ea, bool nb, uint64_t sb, int eb) {
  int top_a = ea + msb64(sa);
  int top_b = eb + msb64(sb);
  if (top_a < top_b) {
    std::swap(na, nb);
    std::swap(sa, sb);
    std::swap(ea, eb);
    std::swap(top_a, top_b);
  }
  const int frame = top_a - 125;  // value = frame_integer * 2^frame
  const Uint128 big = static_cast<Uint128>(sa) << (125 - msb64(sa));
  Uint128 small;
  const int shift = eb - frame;  // <= 125 - msb(sb), so a left shift keeps msb <= 125
  if (shift >= 0) {
    small = static_cast<Uint128>(sb) << shift;
  } else if (-shift >= 64) {
    small = 1;  // every bit is below the frame: pure sticky
  } else {
    const int rs = -shift;
    small = sb >> rs;
    if (sb & ((uint64_t{1} << rs) - 1)) small |= 1;
  }
  if (na == nb) return fp32_round(na, big + small, frame);
  if (big == small) return 0;  // exact cancellation: +0 under RNE
  if (big > small) return fp32_round(na, big - small, frame);
  return fp32_round(nb, small - big, frame);
}

}  // namespace

Fp32Parts fp32_decompose(uint32_t x) {
  Fp32Parts p;
  p.neg = fp32_sign(x);
  const uint32_t field = (x >> 23) & 0xFFu;
  const uint32_t man = x & 0x7FFFFFu;
  if (field == 0) {
    p.sig = man;
    p.exp2 = -149;
  } else {
    p.sig = man | 0x800000u;
    p.exp2 = static_cast<int>(field) - 150;
  }
  return p;
}

uint32_t fp32_round(bool neg, Uint128 mag, int exp2_in) {
  const uint32_t sign = neg ? kFp32SignMask : 0u;
  if (mag == 0) return sign;
  const int exp2 = clamp_exp(exp2_in);
  const int p = msb128(mag);
  const int e = p + exp2;  // value in [2^e, 2^(e+1))
  if (e > 127) return sign | kFp32PosInf;
  // Weight of the last kept significand bit: 24 significant bits for normals, 2^-149 below.
  const int lsb = std::max(e - 23, -149);
  const int shift = lsb - exp2;  // number of magnitude bits dropped
  uint64_t q;
  if (shift <= 0) {
    q = static_cast<uint64_t>(mag << -shift);  // exact; q < 2^24 since -shift <= 23 - p
  } else if (shift > 128) {
    q = 0;  // mag < 2^128 <= half an ulp: rounds to zero
  } else {
    Uint128 rem, half;
    if (shift == 128) {
      q = 0;
      rem = mag;
      half = static_cast<Uint128>(1) << 127;
    } else {
      q = static_cast<uint64_t>(mag >> shift);
      rem = mag & ((static_cast<Uint128>(1) << shift) - 1);
      half = static_cast<Uint128>(1) << (shift - 1);
    }
    if (rem > half || (rem == half && (q & 1))) ++q;
  }
  // Encoding: for normals q carries the hidden bit 2^23, which adds one to the exponent field
  // (lsb + 149 = biased exponent - 1); a rounding carry to 2^24 lands in the next binade, and a
  // subnormal rounding up to 2^23 becomes the smallest normal, both by plain addition.
  const uint64_t bits = (static_cast<uint64_t>(lsb + 149) << 23) + q;
  if (bits >= kFp32PosInf) return sign | kFp32PosInf;
  return sign | static_cast<uint32_t>(bits);
}

uint32_t fp32_add(uint32_t a, uint32_t b) {
  if (fp32_is_nan(a) || fp32_is_nan(b)) return kFp32QuietNan;
  if (fp32_is_inf(a)) {
    if (fp32_is_inf(b) && fp32_sign(a) != fp32_sign(b)) return kFp32QuietNan;
    return a;
  }
  if (fp32_is_inf(b)) return b;
  if (fp32_is_zero(a)) return fp32_is_zero(b) ? (a & b) : b;  // -0 only for (-0) + (-0)
  if (fp32_is_zero(b)) return a;
  const Fp32Parts pa = fp32_decompose(a), pb = fp32_decompose(b);
  return add_terms(pa.neg, pa.sig, pa.exp2, pb.neg, pb.sig, pb.exp2);
}

uint32_t fp32_mul(uint32_t a, uint32_t b, int exp_offset) {
  if (fp32_is_nan(a) || fp32_is_nan(b)) return kFp32QuietNan;
  const uint32_t sign = (a ^ b) & kFp32SignMask;
  if (fp32_is_inf(a) || fp32_is_inf(b)) {
    if (fp32_is_zero(a) || fp32_is_zero(b)) return kFp32QuietNan;
    return sign | kFp32PosInf;
  }
  if (fp32_is_zero(a) || fp32_is_zero(b)) return sign;
  const Fp32Parts pa = fp32_decompose(a), pb = fp32_decompose(b);
  const uint64_t sig = static_cast<uint64_t>(pa.sig) * pb.sig;  // < 2^48, exact
  return fp32_round(sign != 0, sig,
                    clamp_exp(int64_t{pa.exp2} + pb.exp2 + static_cast<int64_t>(exp_offset)));
}

uint32_t fp32_fma_exact(uint32_t acc, bool neg, uint64_t sig, int exp2) {
  if (fp32_is_nan(acc)) return kFp32QuietNan;
  if (fp32_is_inf(acc)) return acc;  // the product is finite
  if (sig == 0) {
    if (fp32_is_zero(acc)) return (fp32_sign(acc) && neg) ? kFp32SignMask : 0u;
    return acc;
  }
  if (fp32_is_zero(acc)) return fp32_round(neg, sig, exp2);
  const Fp32Parts pa = fp32_decompose(acc);
  return add_terms(pa.neg, pa.sig, pa.exp2, neg, sig, clamp_exp(exp2));
}

uint32_t int_to_fp32(int64_t v) {
  if (v == 0) return 0;
  const bool neg = v < 0;
  // Two's complement magnitude, valid for INT64_MIN too.
  const uint64_t mag = neg ? uint64_t{0} - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  return fp32_round(neg, mag, 0);
}

uint32_t fp32_scale_pow2(uint32_t x, int e) {
  if (fp32_is_nan(x)) return kFp32QuietNan;
  if (fp32_is_inf(x) || fp32_is_zero(x)) return x;
  const Fp32Parts p = fp32_decompose(x);
  return fp32_round(p.neg, p.sig, clamp_exp(int64_t{p.exp2} + e));
}

uint32_t fp32_from_f64_bits(uint64_t bits) {
  const bool neg = (bits >> 63) != 0;
  const uint32_t field = static_cast<uint32_t>((bits >> 52) & 0x7FFu);
  const uint64_t man = bits & ((uint64_t{1} << 52) - 1);
  if (field == 0x7FFu) return man ? kFp32QuietNan : ((neg ? kFp32SignMask : 0u) | kFp32PosInf);
  if (field == 0) return fp32_round(neg, man, -1074);  // zero or binary64 subnormal
  return fp32_round(neg, man | (uint64_t{1} << 52), static_cast<int>(field) - 1075);
}

}  // namespace lbsim
