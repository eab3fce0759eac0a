// The functional reference GEMM (contract: models/numerics/gemm_problem.h).
//
// Why this route is independent of the bit-level datapath (models/mac):
//  * Elements are decoded only through QTensor::element / INumberFormat::element_value, i.e. the
//    format's own definition of its values, as exact doubles. No sign/exponent/mantissa field of
//    any code is looked at here, so a field-extraction or bias bug in a PE shows up as a mismatch.
//  * Fixed-point family: each element is turned into an exact integer count of 2^unit_log2 units
//    (checked: the division must leave no fraction), and a segment's dot product is an exact
//    integer sum; no shifter, LOG/MLS exponent adder or alignment logic is modelled. The
//    accumulator's width is applied afterwards: a cheap bound proves that no partial sum can leave
//    the range, and only when it cannot prove it are the partial sums replayed in ascending k with
//    wrap or saturation.
//  * Every rounding point of the contract is computed by the host's correctly rounded IEEE binary64
//    arithmetic followed by one conversion to binary32, each step argued exact or innocuous where
//    it is done, instead of by a normalise/round/sticky-bit unit. The float-family FMA uses the
//    exact TwoSum error to break binary64 ties (see add_rne).
// Agreement of the two routes bit for bit is therefore evidence about the datapath, not a
// tautology.
#include "models/reference/reference_gemm.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "models/core/error.h"
#include "models/mac/i_mac_family.h"

namespace lbsim {

namespace {

bool is_pow2(double x) {
  if (!(x > 0.0) || !std::isfinite(x)) return false;
  int e = 0;
  return std::frexp(x, &e) == 0.5;
}

// log2(x) for a power of two x, or kNotPow2.
constexpr int kNotPow2 = std::numeric_limits<int>::min();
int pow2_exponent(double x) {
  if (!is_pow2(x)) return kNotPow2;
  int e = 0;
  std::frexp(x, &e);
  return e - 1;
}

// c * 2^e rounded once to fp32. The binary64 product is exact unless it falls below 2^-1022,
// where both it and the exact value round to a zero in binary32 (monotonicity: |.| < 2^-150).
float scale_pow2(float c, int e) {
  if (e >= -1022 && e <= 1023) {
    const uint64_t bits = static_cast<uint64_t>(e + 1023) << 52;  // 2^e as a normal double
    double s = 0.0;
    std::memcpy(&s, &bits, sizeof s);
    return static_cast<float>(static_cast<double>(c) * s);
  }
  return static_cast<float>(std::ldexp(static_cast<double>(c), e));
}

double group_scale(const QTensor& q, int32_t g) {
  return (g < 0 || q.group_scale.empty()) ? 1.0 : q.group_scale[static_cast<size_t>(g)];
}

// Tensor-scale product per the contract: exact when both are powers of two (the product of two
// fp32-range powers of two is a double), RNE to fp32 otherwise (the double product of two fp32
// values is exact, so the conversion is the one rounding).
double tensor_scale_product(double ta, double tb) {
  if (is_pow2(ta) && is_pow2(tb)) return ta * tb;
  return static_cast<double>(static_cast<float>(ta * tb));
}

// Element values by code. Codes of narrow formats are decoded once each, on first use, into a
// table (one virtual call per distinct code instead of per element; codes never seen are never
// decoded).
class Decoder {
 public:
  explicit Decoder(const QTensor& q) : m_q(q) {
    const int bits = q.format->info().code_bits;
    if (bits <= 16) {
      m_lut.resize(size_t{1} << bits);
      m_known.assign(m_lut.size(), 0);
    }
  }
  double operator()(uint32_t code) {
    if (code >= m_lut.size()) return m_q.element(code);
    if (!m_known[code]) {
      m_lut[code] = m_q.element(code);
      m_known[code] = 1;
    }
    return m_lut[code];
  }

 private:
  const QTensor& m_q;
  std::vector<double> m_lut;
  std::vector<uint8_t> m_known;
};

void check_problem(const GemmProblem& p) {
  auto fail = [](const char* what) {
    throw std::logic_error(std::string("run_reference: malformed GemmProblem: ") + what);
  };
  if (!p.a.q || !p.b.q || !p.a.q->format || !p.b.q->format) fail("operand without a format");
  if (p.m < 0 || p.n < 0 || p.k < 0) fail("negative size");
  if (static_cast<int64_t>(p.a.codes.size()) != p.m * p.k ||
      static_cast<int64_t>(p.a.group.size()) != p.m * p.k)
    fail("A codes/groups do not match m x k");
  if (static_cast<int64_t>(p.b.codes.size()) != p.k * p.n ||
      static_cast<int64_t>(p.b.group.size()) != p.k * p.n)
    fail("B codes/groups do not match k x n");
  if (static_cast<int64_t>(p.k_segment.size()) != p.k) fail("k_segment length is not k");
  for (int64_t kk = 0; kk < p.k; ++kk) {
    const int32_t cur = p.k_segment[kk];
    const bool ok =
        kk == 0 ? cur == 0 : (cur == p.k_segment[kk - 1] || cur == p.k_segment[kk - 1] + 1);
    if (!ok) fail("k_segment does not count up from 0 in steps of 1");
  }
  const int32_t segs = p.k == 0 ? 0 : p.k_segment.back() + 1;
  if (segs != p.num_segments) fail("num_segments disagrees with k_segment");
  if (static_cast<int64_t>(p.a_seg_group.size()) != p.m * segs ||
      static_cast<int64_t>(p.b_seg_group.size()) != segs * p.n)
    fail("a_seg_group/b_seg_group sizes");
  // Group indices must name a group scale (or be -1 for padding; any index when none is stored).
  auto check_groups = [&](const std::vector<int32_t>& groups, const QTensor& q, const char* what) {
    const int64_t count = static_cast<int64_t>(q.group_scale.size());
    for (int32_t g : groups)
      if (g < -1 || (count > 0 && g >= count)) fail(what);
  };
  check_groups(p.a_seg_group, *p.a.q, "A group index out of range");
  check_groups(p.b_seg_group, *p.b.q, "B group index out of range");
  check_groups(p.a.group, *p.a.q, "A group index out of range");
  check_groups(p.b.group, *p.b.q, "B group index out of range");
}

// ------------------------------------------------------------------------------------------------
// Float family.

// RNE_binary32(f + p) for an fp32 f and a double p, with ONE rounding.
//
// Proof. s = fl64(f + p) and e = (f + p) - s exactly (TwoSum; exact for any doubles without
// overflow, and |f| < 2^128, |p| < 2^256 here). Rounding to nearest is monotonic, and every
// binary32 number and every midpoint between two adjacent binary32 numbers (including the
// overflow threshold (2^128 - 2^104 + 2^128) / 2 = 2^128 - 2^103) is a binary64 number. Hence for
// such a point t: f + p < t implies s <= t, and f + p > t implies s >= t. So if s is not a
// midpoint, s and the exact sum lie in the same interval between consecutive midpoints (a float s
// is interior to one), and fl32(s) = RNE32(f + p). If s is a midpoint, the exact sum is s + e:
// above it when e > 0 (round up), below it when e < 0 (round down), on it when e == 0 (ties to
// even, which fl32(s) does).
float add_rne(float f, double p) {
  const double a = f;
  const double s = a + p;
  const float r = static_cast<float>(s);
  if (!std::isfinite(s)) return r;  // inf or NaN operand: IEEE propagation
  const double bb = s - a;
  const double e = (a - (s - bb)) + (p - bb);
  if (e == 0.0) return r;
  const double rd = std::isinf(r) ? std::copysign(std::ldexp(1.0, 128), r) : double{r};
  if (rd == s) return r;  // s is itself a float
  // The neighbour of r on the other side of s.
  const float other = std::nextafter(
      r, rd > s ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity());
  const double od = std::isinf(other) ? std::copysign(std::ldexp(1.0, 128), other) : double{other};
  const double mid = (rd + od) * 0.5;  // adjacent floats: sum and halving are exact
  if (s != mid) return r;
  const bool r_above = rd > od;
  return (e > 0.0) == r_above ? r : other;
}

// Exactness bookkeeping of decoded float-family operands: a product a * b is exact in binary64
// when the significands together need <= 53 bits and the exponents stay in binary64's range.
struct SigStats {
  int max_bits = 0;
  int min_lsb = std::numeric_limits<int>::max();  // exponent of the lowest set bit
  int max_msb = std::numeric_limits<int>::min();  // exponent of the highest set bit
  void add(double x) {
    if (x == 0.0 || !std::isfinite(x)) return;
    int e = 0;
    const double m = std::frexp(std::fabs(x), &e);  // x = m * 2^e, m in [0.5, 1)
    uint64_t mant = static_cast<uint64_t>(std::ldexp(m, 53));
    int tz = 0;
    while ((mant & 1u) == 0) {
      mant >>= 1;
      ++tz;
    }
    max_bits = std::max(max_bits, 53 - tz);
    min_lsb = std::min(min_lsb, e - 53 + tz);
    max_msb = std::max(max_msb, e - 1);
  }
};

void run_float(const GemmProblem& p, GemmResult& out) {
  const int64_t m = p.m, n = p.n, k = p.k;
  const QTensor& qa = *p.a.q;
  const QTensor& qb = *p.b.q;
  // Decoded operands, group scale included (value / tensor_scale): A row-major, B transposed so
  // both are read with unit stride in k.
  std::vector<double> a(static_cast<size_t>(m * k)), bt(static_cast<size_t>(n * k));
  SigStats sa, sb;
  {
    Decoder da(qa), db(qb);
    for (int64_t i = 0; i < m * k; ++i) {
      a[i] = group_scale(qa, p.a.group[i]) * da(p.a.codes[i]);
      sa.add(a[i]);
    }
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t j = 0; j < n; ++j) {
        const int64_t src = kk * n + j;
        const double v = group_scale(qb, p.b.group[src]) * db(p.b.codes[src]);
        bt[j * k + kk] = v;
        sb.add(v);
      }
  }
  if (sa.max_bits > 0 && sb.max_bits > 0 &&
      (sa.max_bits + sb.max_bits > 53 || sa.min_lsb + sb.min_lsb < -1074 ||
       sa.max_msb + sb.max_msb + 2 > 1023))
    throw std::logic_error("run_reference: float-family products of '" + qa.format->info().name +
                           "' x '" + qb.format->info().name +
                           "' (with their group scales) are not exact in binary64");
  const double ts = tensor_scale_product(qa.tensor_scale, qb.tensor_scale);
  for (int64_t i = 0; i < m; ++i) {
    const double* ar = &a[i * k];
    int64_t j = 0;
    // Four independent output chains at a time: each chain is latency bound (add, convert,
    // TwoSum), so interleaving them keeps the FP units busy. Products are exact.
    for (; j + 4 <= n; j += 4) {
      const double *b0 = &bt[j * k], *b1 = b0 + k, *b2 = b1 + k, *b3 = b2 + k;
      float f0 = 0.0f, f1 = 0.0f, f2 = 0.0f, f3 = 0.0f;
      for (int64_t kk = 0; kk < k; ++kk) {
        const double av = ar[kk];
        f0 = add_rne(f0, av * b0[kk]);
        f1 = add_rne(f1, av * b1[kk]);
        f2 = add_rne(f2, av * b2[kk]);
        f3 = add_rne(f3, av * b3[kk]);
      }
      const float fs[4] = {f0, f1, f2, f3};
      for (int q = 0; q < 4; ++q)
        out.c[i * n + j + q] = canonical_nan(static_cast<float>(static_cast<double>(fs[q]) * ts));
    }
    for (; j < n; ++j) {
      const double* bc = &bt[j * k];
      float f = 0.0f;
      for (int64_t kk = 0; kk < k; ++kk) f = add_rne(f, ar[kk] * bc[kk]);
      // F * ts is exact in binary64 (24-bit F times a power of two or an fp32 ts): one rounding.
      out.c[i * n + j] = canonical_nan(static_cast<float>(static_cast<double>(f) * ts));
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Fixed-point family.

constexpr int64_t kMaxOperand = (int64_t{1} << 31) - 1;
constexpr int64_t kMaxWideOperand = (int64_t{1} << 62) - 1;

__extension__ typedef __int128 I128;
__extension__ typedef unsigned __int128 U128;

// Element value -> exact integer count of 2^unit units.
int32_t to_units(double v, int unit, const FormatInfo& info, uint32_t code) {
  const double u = std::ldexp(v, -unit);
  if (!std::isfinite(u) || u != std::trunc(u))
    throw std::logic_error("run_reference: format '" + info.name + "' element code " +
                           std::to_string(code) + " has value " + std::to_string(v) +
                           ", not an integer multiple of 2^" + std::to_string(unit));
  if (std::fabs(u) > static_cast<double>(kMaxOperand))
    throw UserError("format '" + info.name + "': element code " + std::to_string(code) + " is " +
                    std::to_string(u) + " units of 2^" + std::to_string(unit) +
                    ", wider than the 31-bit operands the functional reference supports");
  return static_cast<int32_t>(u);
}

// Dot products. The callers guarantee (by the magnitude bound) that no partial sum overflows the
// accumulating type, so the compiler may reorder (e.g. pmaddwd pairs) without changing the sum.
int32_t dot16(const int16_t* a, const int16_t* b, int64_t len) {
  int32_t s = 0;
  for (int64_t i = 0; i < len; ++i) s += static_cast<int32_t>(a[i]) * static_cast<int32_t>(b[i]);
  return s;
}

int64_t dot32(const int32_t* a, const int32_t* b, int64_t len) {
  int64_t s = 0;
  for (int64_t i = 0; i < len; ++i) s += static_cast<int64_t>(a[i]) * static_cast<int64_t>(b[i]);
  return s;
}

// Replays partial sums in ascending k in an acc_bits accumulator (acc_bits <= 64), counting
// every add whose mathematical result leaves [lo, hi].
int64_t replay(const int32_t* a, const int32_t* b, int64_t len, const AccumulatorSpec& spec,
               uint64_t& overflows) {
  const int bits = spec.acc_bits;
  const int64_t hi = static_cast<int64_t>((uint64_t{1} << (bits - 1)) - 1);
  const int64_t lo = -hi - 1;
  const uint64_t mask = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  const uint64_t sign = uint64_t{1} << (bits - 1);
  int64_t acc = 0;
  for (int64_t i = 0; i < len; ++i) {
    const int64_t t = static_cast<int64_t>(a[i]) * static_cast<int64_t>(b[i]);  // |t| < 2^62
    int64_t s = 0;
    // On int64 overflow s holds the sum mod 2^64 and the true sum has the sign of t.
    const bool wide = __builtin_add_overflow(acc, t, &s);
    if (!wide && s >= lo && s <= hi) {
      acc = s;
      continue;
    }
    ++overflows;
    if (spec.policy == OverflowPolicy::kSaturate) {
      acc = (wide ? t > 0 : s > hi) ? hi : lo;
    } else {
      // Two's complement wrap: the sum mod 2^bits (2^bits divides 2^64), sign-extended.
      const uint64_t u = static_cast<uint64_t>(s) & mask;
      acc = static_cast<int64_t>((u & sign) ? (u | ~mask) : u);
    }
  }
  return acc;
}

// A bound on |element| of q in units of 2^unit: the largest over every code of a format of <= 12
// code bits (a cheap table, independent of the data), else over the tensor's codes. Non-finite
// or non-integral values are left to to_units. UserError beyond 62 bits.
int64_t max_units(const QTensor& q, const std::vector<uint32_t>& codes, int unit) {
  Decoder d(q);
  double mx = 0.0;
  auto consider = [&](uint32_t c) {
    const double u = std::fabs(std::ldexp(d(c), -unit));
    if (std::isfinite(u) && u > mx) mx = u;
  };
  const int bits = q.format->info().code_bits;
  if (bits <= 12) {
    for (uint32_t c = 0; c < (1u << bits); ++c) consider(c);
  } else {
    for (uint32_t c : codes) consider(c);
  }
  if (mx > static_cast<double>(kMaxWideOperand))
    throw UserError("format '" + q.format->info().name + "': elements of " + std::to_string(mx) +
                    " units of 2^" + std::to_string(unit) +
                    ", wider than the 62-bit operands the functional reference supports");
  return static_cast<int64_t>(mx);
}

// Operands wider than 31 bits (MXFP8 E5M2: 32-bit unit counts): the contract's steps as in
// run_fixed on int64 operands, every segment's partial sums replayed in ascending k with exact
// 128-bit terms (no fast path: such formats are rare).
void run_fixed_wide(const GemmProblem& p, const AccumulatorSpec& spec, GemmResult& out) {
  const int64_t m = p.m, n = p.n, k = p.k, S = p.num_segments;
  const QTensor& qa = *p.a.q;
  const QTensor& qb = *p.b.q;
  const int ua = qa.format->info().unit_log2, ub = qb.format->info().unit_log2;
  std::vector<int64_t> a(static_cast<size_t>(m * k)), bt(static_cast<size_t>(n * k));
  {
    Decoder da(qa), db(qb);
    for (int64_t i = 0; i < m * k; ++i)
      a[i] = static_cast<int64_t>(std::ldexp(da(p.a.codes[i]), -ua));
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t j = 0; j < n; ++j)
        bt[j * k + kk] = static_cast<int64_t>(std::ldexp(db(p.b.codes[kk * n + j]), -ub));
  }
  std::vector<int64_t> seg_begin(static_cast<size_t>(S + 1), k);
  for (int64_t kk = k; kk-- > 0;) seg_begin[p.k_segment[kk]] = kk;
  const int bits = spec.acc_bits;
  const int64_t hi = static_cast<int64_t>((uint64_t{1} << (bits - 1)) - 1), lo = -hi - 1;
  const uint64_t mask = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  const uint64_t sign = uint64_t{1} << (bits - 1);
  const double ts = tensor_scale_product(qa.tensor_scale, qb.tensor_scale);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float f = 0.0f;
      for (int64_t s = 0; s < S; ++s) {
        int64_t acc = 0;
        for (int64_t kk = seg_begin[s]; kk < seg_begin[s + 1]; ++kk) {
          const I128 sum =
              static_cast<I128>(acc) + static_cast<I128>(a[i * k + kk]) * bt[j * k + kk];
          if (sum >= lo && sum <= hi) {
            acc = static_cast<int64_t>(sum);
            continue;
          }
          ++out.acc_overflows;
          if (spec.policy == OverflowPolicy::kSaturate) {
            acc = sum > hi ? hi : lo;
          } else {
            const uint64_t u = static_cast<uint64_t>(static_cast<U128>(sum)) & mask;
            acc = static_cast<int64_t>((u & sign) ? (u | ~mask) : u);
          }
        }
        // The scale step of run_fixed (see the exactness arguments there).
        const double ga = group_scale(qa, p.a_seg_group[i * S + s]);
        const double gb = group_scale(qb, p.b_seg_group[s * n + j]);
        const int ea = pow2_exponent(ga), eb = pow2_exponent(gb);
        const float c = static_cast<float>(acc);
        float v = 0.0f;
        if (ea != kNotPow2 && eb != kNotPow2) {
          v = scale_pow2(c, ea + eb + ua + ub);
        } else {
          const float g = static_cast<float>(std::ldexp(ga * gb, ua + ub));
          v = static_cast<float>(static_cast<double>(c) * static_cast<double>(g));
        }
        f = static_cast<float>(static_cast<double>(f) + static_cast<double>(v));
      }
      out.c[i * n + j] = canonical_nan(static_cast<float>(static_cast<double>(f) * ts));
    }
}

void run_fixed(const GemmProblem& p, const AccumulatorSpec& spec, GemmResult& out) {
  if (spec.acc_bits < 2 || spec.acc_bits > 64)
    throw UserError("accumulator width acc_bits must be in 2..64, got " +
                    std::to_string(spec.acc_bits));
  if (max_units(*p.a.q, p.a.codes, p.a.q->format->info().unit_log2) > kMaxOperand ||
      max_units(*p.b.q, p.b.codes, p.b.q->format->info().unit_log2) > kMaxOperand) {
    run_fixed_wide(p, spec, out);
    return;
  }
  const int64_t m = p.m, n = p.n, k = p.k, S = p.num_segments;
  const QTensor& qa = *p.a.q;
  const QTensor& qb = *p.b.q;
  const FormatInfo& fa = qa.format->info();
  const FormatInfo& fb = qb.format->info();
  const int ua = fa.unit_log2, ub = fb.unit_log2;

  // Operands as exact integers (units of 2^ua, 2^ub): A row-major (m x k), B transposed (n x k).
  std::vector<int32_t> a(static_cast<size_t>(m * k)), bt(static_cast<size_t>(n * k));
  int64_t amax_all = 0, bmax_all = 0;
  {
    Decoder da(qa), db(qb);
    for (int64_t i = 0; i < m * k; ++i) {
      a[i] = to_units(da(p.a.codes[i]), ua, fa, p.a.codes[i]);
      amax_all = std::max<int64_t>(amax_all, std::abs(static_cast<int64_t>(a[i])));
    }
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t j = 0; j < n; ++j) {
        const uint32_t code = p.b.codes[kk * n + j];
        const int32_t v = to_units(db(code), ub, fb, code);
        bt[j * k + kk] = v;
        bmax_all = std::max<int64_t>(bmax_all, std::abs(static_cast<int64_t>(v)));
      }
  }
  // int16 copies for the fast (int16 x int16 -> int32) dot product when everything fits.
  const bool narrow = amax_all <= 32767 && bmax_all <= 32767;
  std::vector<int16_t> a16, bt16;
  if (narrow) {
    a16.assign(a.begin(), a.end());
    bt16.assign(bt.begin(), bt.end());
  }

  // Segments: [seg_begin[s], seg_begin[s + 1]).
  std::vector<int64_t> seg_begin(static_cast<size_t>(S + 1), k);
  for (int64_t kk = k; kk-- > 0;) seg_begin[p.k_segment[kk]] = kk;
  // Per-segment magnitude maxima for the no-overflow bound.
  std::vector<int64_t> amax(static_cast<size_t>(m * S), 0), bmax(static_cast<size_t>(n * S), 0);
  for (int64_t s = 0; s < S; ++s) {
    for (int64_t i = 0; i < m; ++i) {
      int64_t mx = 0;
      for (int64_t kk = seg_begin[s]; kk < seg_begin[s + 1]; ++kk)
        mx = std::max<int64_t>(mx, std::abs(static_cast<int64_t>(a[i * k + kk])));
      amax[i * S + s] = mx;
    }
    for (int64_t j = 0; j < n; ++j) {
      int64_t mx = 0;
      for (int64_t kk = seg_begin[s]; kk < seg_begin[s + 1]; ++kk)
        mx = std::max<int64_t>(mx, std::abs(static_cast<int64_t>(bt[j * k + kk])));
      bmax[j * S + s] = mx;
    }
  }

  // Group scale of each (row, segment) and (segment, column), and its exponent when it is a power
  // of two (the contract's exact-g case).
  std::vector<double> ga(static_cast<size_t>(m * S)), gb(static_cast<size_t>(S * n));
  std::vector<int> ea(ga.size()), eb(gb.size());
  for (size_t i = 0; i < ga.size(); ++i) {
    ga[i] = group_scale(qa, p.a_seg_group[i]);
    ea[i] = pow2_exponent(ga[i]);
  }
  for (size_t i = 0; i < gb.size(); ++i) {
    gb[i] = group_scale(qb, p.b_seg_group[i]);
    eb[i] = pow2_exponent(gb[i]);
  }

  const uint64_t acc_hi = (uint64_t{1} << (spec.acc_bits - 1)) - 1;
  const double ts = tensor_scale_product(qa.tensor_scale, qb.tensor_scale);
  std::vector<float> f(static_cast<size_t>(n));
  for (int64_t i = 0; i < m; ++i) {
    std::fill(f.begin(), f.end(), 0.0f);
    for (int64_t s = 0; s < S; ++s) {
      const int64_t k0 = seg_begin[s], len = seg_begin[s + 1] - k0;
      const double gai = ga[i * S + s];
      const int eai = ea[i * S + s];
      const uint64_t amx = static_cast<uint64_t>(amax[i * S + s]);
      for (int64_t j = 0; j < n; ++j) {
        // Sum of |terms| <= max|a| * max|b| * len; when that fits, no partial sum can overflow.
        uint64_t bound = 0;
        const bool huge = __builtin_mul_overflow(amx * static_cast<uint64_t>(bmax[j * S + s]),
                                                 static_cast<uint64_t>(len), &bound);
        int64_t acc = 0;
        if (!huge && bound <= acc_hi) {
          if (narrow && bound <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max()))
            acc = dot16(&a16[i * k + k0], &bt16[j * k + k0], len);
          else
            acc = dot32(&a[i * k + k0], &bt[j * k + k0], len);
        } else {
          acc = replay(&a[i * k + k0], &bt[j * k + k0], len, spec, out.acc_overflows);
        }
        const float c = static_cast<float>(acc);  // int64 -> fp32 conversion rounds RNE
        const int ebj = eb[s * n + j];
        float v = 0.0f;
        if (eai != kNotPow2 && ebj != kNotPow2) {
          // g = 2^(ea + eb + ua + ub) exactly (need not be an fp32 value).
          v = scale_pow2(c, eai + ebj + ua + ub);
        } else {
          // ga * gb (fp32 values or powers of two) is exact in binary64, times 2^u exact: g is
          // its one rounding. c * g, two fp32 values, is exact in binary64: v is its one rounding.
          const float g = static_cast<float>(std::ldexp(gai * gb[s * n + j], ua + ub));
          v = static_cast<float>(static_cast<double>(c) * static_cast<double>(g));
        }
        // F + v of two fp32 values rounded via binary64 is innocuous double rounding
        // (53 >= 2 * 24 + 2; Figueroa 1995), i.e. equals RNE32(F + v).
        f[j] = static_cast<float>(static_cast<double>(f[j]) + static_cast<double>(v));
      }
    }
    for (int64_t j = 0; j < n; ++j)
      out.c[i * n + j] = canonical_nan(static_cast<float>(static_cast<double>(f[j]) * ts));
  }
}

}  // namespace

GemmResult run_reference(const GemmProblem& p, const AccumulatorSpec& acc) {
  check_problem(p);
  return mac_family_for(p.a.q->format->info(), p.b.q->format->info()).run_reference(p, acc);
}

GemmResult run_float_reference(const GemmProblem& p) {
  check_problem(p);
  GemmResult out;
  out.c.assign(static_cast<size_t>(p.m * p.n), 0.0f);
  run_float(p, out);
  return out;
}

GemmResult run_fixed_reference(const GemmProblem& p, const AccumulatorSpec& acc) {
  check_problem(p);
  GemmResult out;
  out.c.assign(static_cast<size_t>(p.m * p.n), 0.0f);
  run_fixed(p, acc, out);
  return out;
}

}  // namespace lbsim
