#include "models/mac/pe.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "models/core/error.h"

namespace lbsim {

namespace {

[[noreturn]] void bad_format(const FormatInfo& info, const std::string& why) {
  throw std::logic_error("PE decoder for format '" + info.name + "': " + why);
}

}  // namespace

// ----------------------------------------------------------------------------- scales

ScaleFactor ScaleFactor::power_of_two(int e) {
  ScaleFactor s;
  s.pow2 = true;
  s.exp2 = e;
  return s;
}

ScaleFactor ScaleFactor::fp32(uint32_t bits) {
  ScaleFactor s;
  s.pow2 = false;
  s.bits = bits;
  return s;
}

ScaleFactor ScaleFactor::from_double(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  const bool neg = (b >> 63) != 0;
  const uint32_t field = static_cast<uint32_t>((b >> 52) & 0x7FFu);
  const uint64_t man = b & ((uint64_t{1} << 52) - 1);
  if (!neg && field != 0x7FFu) {
    if (field != 0 && man == 0) return power_of_two(static_cast<int>(field) - 1023);
    if (field == 0 && man != 0 && (man & (man - 1)) == 0)  // binary64 subnormal power of two
      return power_of_two(63 - __builtin_clzll(man) - 1074);
  }
  return fp32(fp32_from_f64_bits(b));
}

ScaleFactor combine_scales(const ScaleFactor& a, const ScaleFactor& b, int extra_exp2) {
  if (a.pow2 && b.pow2) return ScaleFactor::power_of_two(a.exp2 + b.exp2 + extra_exp2);
  // One rounding in every mixed case: a pow2 factor is an exponent offset of the other.
  if (a.pow2) return ScaleFactor::fp32(fp32_scale_pow2(b.bits, a.exp2 + extra_exp2));
  if (b.pow2) return ScaleFactor::fp32(fp32_scale_pow2(a.bits, b.exp2 + extra_exp2));
  return ScaleFactor::fp32(fp32_mul(a.bits, b.bits, extra_exp2));
}

uint32_t apply_scale(uint32_t x, const ScaleFactor& s) {
  return s.pow2 ? fp32_scale_pow2(x, s.exp2) : fp32_mul(x, s.bits);
}

// ----------------------------------------------------------------------------- float family

FloatDecoder::FloatDecoder(const FormatInfo& info) {
  if (info.kind != ElementKind::kFloat) bad_format(info, "not a float format");
  if (info.exp_bits < 1 || info.exp_bits > 11 || info.man_bits < 0 || info.man_bits > 23 ||
      info.code_bits != 1 + info.exp_bits + info.man_bits)
    bad_format(info,
               "unsupported float fields (need 1..11 exponent bits, 0..23 mantissa bits, "
               "code_bits = 1 + exp_bits + man_bits)");
  m_man_bits = info.man_bits;
  m_sign_pos = info.exp_bits + info.man_bits;
  m_exp_mask = (1u << info.exp_bits) - 1;
  m_man_mask = (1u << info.man_bits) - 1;
  m_min_exp2 = 1 - info.bias - info.man_bits;
  m_finite_nan = info.specials == FloatSpecials::kFiniteNan;
}

void FloatPe::mac_special(const FloatOperand& a, const FloatOperand& b) {
  // Product of specials per IEEE: NaN * x = NaN, inf * 0 = NaN, inf * nonzero = +-inf; the inf
  // product then enters the accumulator through an IEEE add (inf - inf = NaN).
  if (a.cls == FloatClass::kNan || b.cls == FloatClass::kNan) {
    m_f = kFp32QuietNan;
    return;
  }
  const bool a_zero = a.cls == FloatClass::kFinite && a.sig == 0;
  const bool b_zero = b.cls == FloatClass::kFinite && b.sig == 0;
  if (a_zero || b_zero) {
    m_f = kFp32QuietNan;
    return;
  }
  m_f = fp32_add(m_f, (a.neg != b.neg ? kFp32SignMask : 0u) | kFp32PosInf);
}

uint32_t FloatPe::finish(const ScaleFactor& ta, const ScaleFactor& tb) const {
  return apply_scale(m_f, combine_scales(ta, tb, 0));
}

// ----------------------------------------------------------------------------- fixed family

FixedDecoder::FixedDecoder(const FormatInfo& info, bool unsigned_int) {
  m_kind = info.kind;
  m_unsigned = unsigned_int;
  m_unit_log2 = info.unit_log2;
  if (unsigned_int && info.kind != ElementKind::kInt)
    bad_format(info, "unsigned codes are only defined for integer formats");
  int natural_unit = 0;  // log2 of the value of significand 1 with shift 0
  switch (info.kind) {
    case ElementKind::kInt:
      // Significands stay within 2^31 in magnitude, so a product fits in 63 bits.
      if (info.code_bits < 1 || info.code_bits > (unsigned_int ? 31 : 32))
        bad_format(info,
                   unsigned_int ? "unsigned code_bits outside 1..31" : "code_bits outside 1..32");
      m_code_mask = info.code_bits == 32 ? 0xFFFFFFFFu : (1u << info.code_bits) - 1;
      m_sign_bit = 1u << (info.code_bits - 1);
      break;
    case ElementKind::kLog:
      // Exponent codes up to 2^16 - 1 keep every shift (and the sum of two) far inside int.
      if (info.code_bits < 2 || info.code_bits > 17) bad_format(info, "code_bits outside 2..17");
      m_sign_bit = 1u << (info.code_bits - 1);
      m_field_mask = m_sign_bit - 1;
      break;
    case ElementKind::kMls:
      if (info.exp_bits < 1 || info.exp_bits > 16 || info.man_bits < 0 || info.man_bits > 30 ||
          info.code_bits != 1 + info.exp_bits + info.man_bits)
        bad_format(info,
                   "unsupported MLS fields (need 1..16 exponent bits, 0..30 mantissa "
                   "bits, code_bits = 1 + exp_bits + man_bits)");
      m_man_bits = info.man_bits;
      m_sign_bit = 1u << (info.exp_bits + info.man_bits);
      m_field_mask = (1u << info.exp_bits) - 1;
      m_man_mask = (1u << info.man_bits) - 1;
      // f = 0 / f = 1, m = 1: 2^(1 - Emax) * 2^-man_bits, Emax = 2^exp_bits - 1.
      natural_unit = 1 - static_cast<int>(m_field_mask) - info.man_bits;
      break;
    default:
      bad_format(info, "not a fixed-point (int/log/mls) format");
  }
  m_base_shift = natural_unit - info.unit_log2;
  if (m_base_shift < 0)
    bad_format(info, "unit_log2 " + std::to_string(info.unit_log2) +
                         " is coarser than the encoding's unit 2^" + std::to_string(natural_unit));
}

FixedPe::FixedPe(const FormatInfo& a, bool a_unsigned, const FormatInfo& b, bool b_unsigned,
                 const AccumulatorSpec& acc)
    : m_dec_a(a, a_unsigned), m_dec_b(b, b_unsigned) {
  if (acc.acc_bits < 2 || acc.acc_bits > 64)
    throw UserError("accumulator width " + std::to_string(acc.acc_bits) +
                    " bits is outside [2, 64]");
  m_unit_log2 = m_dec_a.unit_log2() + m_dec_b.unit_log2();
  m_wrap = acc.policy == OverflowPolicy::kWrap;
  m_sign = uint64_t{1} << (acc.acc_bits - 1);
  m_mask = acc.acc_bits == 64 ? ~uint64_t{0} : (uint64_t{1} << acc.acc_bits) - 1;
  m_max = static_cast<int64_t>(m_sign - 1);
  m_min = -m_max - 1;
}

void FixedPe::close_segment(const ScaleFactor& ga, const ScaleFactor& gb) {
  ++counters.segment_closes;
  const uint32_t c = int_to_fp32(m_acc);
  const uint32_t v = apply_scale(c, combine_scales(ga, gb, m_unit_log2));
  m_f = fp32_add(m_f, v);
  m_acc = 0;
}

uint32_t FixedPe::finish(const ScaleFactor& ta, const ScaleFactor& tb) const {
  return apply_scale(m_f, combine_scales(ta, tb, 0));
}

}  // namespace lbsim
