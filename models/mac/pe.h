// Processing elements: what one MAC cell of the array computes, bit by bit, per operand pair.
//
// Two datapath families implement the arithmetic contract of models/numerics/gemm_problem.h:
//   FloatPe  both operands ElementKind::kFloat: exact significand product + exponent add, fused
//            into an fp32 accumulator with one RNE per MAC.
//   FixedPe  both operands kInt / kLog / kMls (any mix): every operand is decoded from its bit
//            fields into a signed integer significand and a left shift (relative to the format's
//            unit 2^unit_log2), products become integer terms in units of 2^(unit_a + unit_b)
//            summed in an acc_bits two's complement accumulator; at each K-segment end the
//            accumulator is converted to fp32, scaled by the segment's group scales and added to
//            an fp32 running sum.
//
// A PE is meant to be instantiated once per array cell and fed one operand pair per cycle, so the
// per-MAC entry points are non-virtual, allocation-free and inline. Operands can be fed as raw
// codes (mac) or pre-decoded (mac_decoded): an array decodes each operand once at its edge and
// passes the decoded fields along a row/column, exactly like the hardware's operand decoders.
//
// Counters (PeCounters) accumulate over the PE's lifetime (reset() does not clear them) and are
// the activity inputs of the energy model.
#pragma once

#include <cstdint>

#include "models/mac/fp32_arith.h"
#include "models/numerics/gemm_problem.h"
#include "models/numerics/i_number_format.h"

namespace lbsim {

// A scale factor as the datapath holds it: an exact power of two 2^exp2 (any exponent, need not
// be fp32-representable: 2^-500 is fine) or an fp32 value (bits).
struct ScaleFactor {
  bool pow2 = true;
  int exp2 = 0;              // valid when pow2
  uint32_t bits = kFp32One;  // valid when !pow2

  static ScaleFactor power_of_two(int e);
  static ScaleFactor fp32(uint32_t bits);
  // Positive powers of two (by value, including binary64 subnormals) become pow2; every other
  // value becomes RNE(s) in fp32 (exact for the fp32-representable scales formats produce).
  // Decoded from the binary64 bit pattern with integer operations.
  static ScaleFactor from_double(double s);
};

// The contract's scale product: a * b * 2^extra_exp2 exactly when both are powers of two, else
// RNE(a * b * 2^extra_exp2) in fp32 (one rounding).
ScaleFactor combine_scales(const ScaleFactor& a, const ScaleFactor& b, int extra_exp2);
// RNE(x * s), one rounding.
uint32_t apply_scale(uint32_t x, const ScaleFactor& s);

struct PeCounters {
  uint64_t macs = 0;            // operand pairs fed (including zero operands)
  uint64_t products = 0;        // pairs with both operands nonzero (or special, FloatPe): the
                                // multiplier/shifter switches; zero operands are gated
  uint64_t shifts = 0;          // FixedPe: nonzero products whose term needed a left shift > 0
  uint64_t segment_closes = 0;  // FixedPe: int->fp32 + group scale + fp32 add steps
  uint64_t acc_overflows = 0;   // FixedPe: partial sums that left the accumulator range
};

// ----------------------------------------------------------------------------- float family

enum class FloatClass : uint8_t { kFinite, kInf, kNan };  // kFinite includes zeros (sig == 0)

// A decoded float operand: value = (-1)^neg * sig * 2^exp2 when finite.
struct FloatOperand {
  FloatClass cls = FloatClass::kFinite;
  bool neg = false;
  uint32_t sig = 0;  // hidden bit included for normals; < 2^24
  int exp2 = 0;
};

// Field decoder of an ElementKind::kFloat format: [sign | exp_bits | man_bits], bias, specials.
class FloatDecoder {
 public:
  // Throws std::logic_error unless info is a kFloat format with 1 <= exp_bits <= 11,
  // 0 <= man_bits <= 23 and code_bits == 1 + exp_bits + man_bits.
  explicit FloatDecoder(const FormatInfo& info);

  FloatOperand decode(uint32_t code) const {
    FloatOperand o;
    o.neg = ((code >> m_sign_pos) & 1u) != 0;
    const uint32_t ef = (code >> m_man_bits) & m_exp_mask;
    const uint32_t mf = code & m_man_mask;
    if (ef == m_exp_mask) {
      if (!m_finite_nan) {  // IEEE: the all-ones binade is inf / NaN
        o.cls = mf == 0 ? FloatClass::kInf : FloatClass::kNan;
        return o;
      }
      if (mf == m_man_mask) {  // OCP E4M3: only S.1..1.1..1 is NaN
        o.cls = FloatClass::kNan;
        return o;
      }
    }
    if (ef == 0) {
      o.sig = mf;  // subnormal or zero
      o.exp2 = m_min_exp2;
    } else {
      o.sig = mf | (1u << m_man_bits);
      o.exp2 = static_cast<int>(ef) + m_min_exp2 - 1;
    }
    return o;
  }

 private:
  int m_man_bits = 0;
  int m_sign_pos = 0;
  uint32_t m_exp_mask = 0;
  uint32_t m_man_mask = 0;
  int m_min_exp2 = 0;  // 1 - bias - man_bits: weight of the significand lsb in the lowest binade
  bool m_finite_nan = false;
};

// F = +0; per MAC F = RNE(F + a*b) (exact product, one rounding); y = RNE(F * ta * tb).
class FloatPe {
 public:
  FloatPe(const FormatInfo& a, const FormatInfo& b) : m_dec_a(a), m_dec_b(b) {}

  void mac(uint32_t code_a, uint32_t code_b) {
    mac_decoded(m_dec_a.decode(code_a), m_dec_b.decode(code_b));
  }
  void mac_decoded(const FloatOperand& a, const FloatOperand& b) {
    ++counters.macs;
    if (a.cls == FloatClass::kFinite && b.cls == FloatClass::kFinite) {
      if (a.sig != 0 && b.sig != 0) ++counters.products;
      m_f = fp32_fma_exact(m_f, a.neg != b.neg, static_cast<uint64_t>(a.sig) * b.sig,
                           a.exp2 + b.exp2);
      return;
    }
    ++counters.products;
    mac_special(a, b);
  }
  // y = RNE(F * ts) with ts = ta * tb exactly when both are powers of two, RNE(ta * tb) else.
  uint32_t finish(const ScaleFactor& ta, const ScaleFactor& tb) const;

  uint32_t accumulator() const { return m_f; }  // F as binary32 bits
  void reset() { m_f = 0; }                     // F = +0; counters are kept
  const FloatDecoder& decoder_a() const { return m_dec_a; }
  const FloatDecoder& decoder_b() const { return m_dec_b; }

  PeCounters counters;

 private:
  void mac_special(const FloatOperand& a, const FloatOperand& b);  // an inf or NaN operand

  FloatDecoder m_dec_a, m_dec_b;
  uint32_t m_f = 0;
};

// ----------------------------------------------------------------------------- fixed family

// A decoded fixed-family operand: value = sig * 2^shift * 2^unit_log2 (unit of its format).
struct FixedOperand {
  int64_t sig = 0;  // signed integer significand; 0 for a zero element
  int shift = 0;    // >= 0
};

// Field decoder of a kInt / kLog / kMls format:
//   kInt  two's complement (or unsigned, QTensor::unsigned_int) integer, shift 0
//   kLog  [sign | c]: c == 0 is zero, else +-1 << (c - 1)
//   kMls  [sign | f | m]: h = (f > 0), sig = +-((h << man_bits) | m), shift = max(f, 1) - 1
// relative to the natural unit of the encoding (1 for kInt/kLog, 2^(1 - Emax - man_bits) for
// kMls). When the format declares a finer unit_log2 than that, the difference is added to every
// shift so that terms are in units of the declared unit, as the contract states.
class FixedDecoder {
 public:
  // Throws std::logic_error for a non-fixed kind, inconsistent fields, or a declared unit_log2
  // coarser than the encoding's natural unit (elements would not be multiples of it).
  FixedDecoder(const FormatInfo& info, bool unsigned_int);

  FixedOperand decode(uint32_t code) const {
    FixedOperand o;
    switch (m_kind) {
      case ElementKind::kInt: {
        const uint32_t c = code & m_code_mask;
        o.sig = m_unsigned
                    ? static_cast<int64_t>(c)
                    : static_cast<int64_t>(c ^ m_sign_bit) - static_cast<int64_t>(m_sign_bit);
        o.shift = m_base_shift;
        break;
      }
      case ElementKind::kLog: {
        const uint32_t c = code & m_field_mask;
        if (c == 0) break;
        o.sig = (code & m_sign_bit) ? -1 : 1;
        o.shift = static_cast<int>(c) - 1 + m_base_shift;
        break;
      }
      default: {  // kMls
        const uint32_t f = (code >> m_man_bits) & m_field_mask;
        const uint32_t m = code & m_man_mask;
        const int64_t mag = static_cast<int64_t>(((f > 0 ? 1u : 0u) << m_man_bits) | m);
        o.sig = (code & m_sign_bit) ? -mag : mag;
        o.shift = (f > 0 ? static_cast<int>(f) - 1 : 0) + m_base_shift;
        break;
      }
    }
    return o;
  }
  int unit_log2() const { return m_unit_log2; }  // the format's declared unit
  ElementKind kind() const { return m_kind; }

 private:
  ElementKind m_kind = ElementKind::kInt;
  bool m_unsigned = false;
  uint32_t m_code_mask = 0;   // kInt: low code_bits bits
  uint32_t m_sign_bit = 0;    // sign bit of the code (kInt: only for signed)
  uint32_t m_field_mask = 0;  // kLog: exponent code c; kMls: f
  uint32_t m_man_mask = 0;    // kMls
  int m_man_bits = 0;         // kMls
  int m_base_shift = 0;       // natural unit - declared unit (>= 0)
  int m_unit_log2 = 0;
};

// acc += sig_a * sig_b << (shift_a + shift_b) in an acc_bits accumulator per MAC;
// close_segment: F = RNE(F + RNE(RNE(acc) * g)), acc = 0; finish: y = RNE(F * ts).
class FixedPe {
 public:
  // Throws UserError when acc.acc_bits is outside [2, 64]; std::logic_error from the decoders.
  FixedPe(const FormatInfo& a, bool a_unsigned, const FormatInfo& b, bool b_unsigned,
          const AccumulatorSpec& acc);

  void mac(uint32_t code_a, uint32_t code_b) {
    mac_decoded(m_dec_a.decode(code_a), m_dec_b.decode(code_b));
  }
  void mac_decoded(const FixedOperand& a, const FixedOperand& b) {
    ++counters.macs;
    if (a.sig == 0 || b.sig == 0) return;  // zero term: partial sum unchanged, cannot overflow
    ++counters.products;
    const int shift = a.shift + b.shift;
    if (shift != 0) ++counters.shifts;
    add_term(a.sig * b.sig, shift);
  }
  // Ends the current K segment with group scales ga (A row) and gb (B column):
  // c = RNE(acc); g = ga*gb*2^(unit_a+unit_b) (exact if both pow2, else RNE); v = RNE(c*g);
  // F = RNE(F + v); acc = 0. Must be called for every segment, including all-zero ones.
  void close_segment(const ScaleFactor& ga, const ScaleFactor& gb);
  // y = RNE(F * ts), ts as in FloatPe::finish. Expects the last segment to be closed.
  uint32_t finish(const ScaleFactor& ta, const ScaleFactor& tb) const;

  int64_t accumulator() const { return m_acc; }  // integer partial sum of the open segment
  uint32_t fp32_sum() const { return m_f; }      // F as binary32 bits
  int unit_log2() const { return m_unit_log2; }  // unit_a + unit_b: the unit of acc
  // acc = 0, F = +0; counters are kept.
  void reset() {
    m_acc = 0;
    m_f = 0;
  }
  const FixedDecoder& decoder_a() const { return m_dec_a; }
  const FixedDecoder& decoder_b() const { return m_dec_b; }

  PeCounters counters;

 private:
  // acc += prod * 2^shift with the overflow policy. |prod| <= 2^62 (significands <= 2^31).
  void add_term(int64_t prod, int shift) {
    if (shift <= 64) {
      // |term| <= 2^126 and |acc| <= 2^63: the exact partial sum fits in 128 bits. The shift is
      // done on the unsigned pattern (shifting a negative signed value is not defined in C++17).
      const Int128 term =
          static_cast<Int128>(static_cast<Uint128>(static_cast<Int128>(prod)) << shift);
      const Int128 sum = static_cast<Int128>(m_acc) + term;
      if (sum >= m_min && sum <= m_max) {
        m_acc = static_cast<int64_t>(sum);
        return;
      }
      ++counters.acc_overflows;
      if (m_wrap) {
        m_acc = wrap(static_cast<uint64_t>(static_cast<Uint128>(sum)));
      } else {
        m_acc = sum < m_min ? m_min : m_max;
      }
      return;
    }
    // |term| >= 2^65: the partial sum leaves any accumulator range. term == 0 mod 2^64, so a
    // wrapping accumulator keeps its value.
    ++counters.acc_overflows;
    if (!m_wrap) m_acc = prod < 0 ? m_min : m_max;
  }
  // Two's complement wrap of a 64-bit pattern to acc_bits (sign-extended).
  int64_t wrap(uint64_t u) const {
    u &= m_mask;
    if (u & m_sign) u |= ~m_mask;
    return static_cast<int64_t>(u);
  }

  FixedDecoder m_dec_a, m_dec_b;
  int m_unit_log2 = 0;
  bool m_wrap = false;
  int64_t m_min = 0, m_max = 0;
  uint64_t m_mask = 0, m_sign = 0;
  int64_t m_acc = 0;
  uint32_t m_f = 0;
};

}  // namespace lbsim
