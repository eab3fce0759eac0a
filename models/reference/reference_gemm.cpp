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
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>

#include "models/core/error.h"
#include "models/core/parallel.h"
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

void run_float(const GemmProblem& p, int threads, GemmResult& out) {
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
  // Rows of C are independent: shared out over the threads.
  parallel_for(m, threads, [&](int64_t i, int) {
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
  });
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

// Replays partial sums in ascending k in an acc_bits accumulator (acc_bits <= 64), counting
// every add whose mathematical result leaves [lo, hi]. term(i) is the i-th exact product
// (|term| < 2^62).
template <class Term>
int64_t replay(int64_t len, Term term, const AccumulatorSpec& spec, uint64_t& overflows) {
  const int bits = spec.acc_bits;
  const int64_t hi = static_cast<int64_t>((uint64_t{1} << (bits - 1)) - 1);
  const int64_t lo = -hi - 1;
  const uint64_t mask = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  const uint64_t sign = uint64_t{1} << (bits - 1);
  int64_t acc = 0;
  for (int64_t i = 0; i < len; ++i) {
    const int64_t t = term(i);
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

// The contract's scale step of one segment's integer result acc: v = RNE(c * g).
float scale_segment(int64_t acc, double ga, int ea, double gb, int eb, int u) {
  const float c = static_cast<float>(acc);  // int64 -> fp32 conversion rounds RNE
  // g = 2^(ea + eb + u) exactly (need not be an fp32 value).
  if (ea != kNotPow2 && eb != kNotPow2) return scale_pow2(c, ea + eb + u);
  // ga * gb (fp32 values or powers of two) is exact in binary64, times 2^u exact: g is its one
  // rounding. c * g, two fp32 values, is exact in binary64: v is its one rounding.
  const float g = static_cast<float>(std::ldexp(ga * gb, u));
  return static_cast<float>(static_cast<double>(c) * static_cast<double>(g));
}

// F + v of two fp32 values rounded via binary64 is innocuous double rounding (53 >= 2 * 24 + 2;
// Figueroa 1995), i.e. equals RNE32(F + v).
inline float add_f32(float f, float v) {
  return static_cast<float>(static_cast<double>(f) + static_cast<double>(v));
}

// Operands wider than 31 bits (MXFP8 E5M2: 32-bit unit counts): the contract's steps as in
// run_lines on int64 operands, every segment's partial sums replayed in ascending k with exact
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
        const double ga = group_scale(qa, p.a_seg_group[i * S + s]);
        const double gb = group_scale(qb, p.b_seg_group[s * n + j]);
        f = add_f32(f, scale_segment(acc, ga, pow2_exponent(ga), gb, pow2_exponent(gb), ua + ub));
      }
      out.c[i * n + j] = canonical_nan(static_cast<float>(static_cast<double>(f) * ts));
    }
}

void check_acc_bits(const AccumulatorSpec& spec) {
  if (spec.acc_bits < 2 || spec.acc_bits > 64)
    throw UserError("accumulator width acc_bits must be in 2..64, got " +
                    std::to_string(spec.acc_bits));
}

// ------------------------------------------------------------------------------------------------
// Fixed family on lines.
//
// Every route into the fixed-family reference -- a built GemmProblem, and the lowerings read in
// place (run_conv_reference, run_gemm_reference) -- describes its operands as lines: the rows of A
// and the columns of B, each k elements of a source tensor named by flat index (-1 = padding).
// Source elements are decoded once into exact unit counts (int16 when every element of both
// formats fits, else int32); B is gathered once, k-major, so that one row of A meets every column
// at once (the inner loops run over columns and vectorise); rows of A are gathered one at a time
// when their outputs are computed, in tiles of rows shared out over the threads.
struct Lines {
  const QTensor* q = nullptr;                    // format and scales
  const std::vector<uint32_t>* codes = nullptr;  // codes of the source elements
  const int32_t* groups = nullptr;               // group of each source element (-1 = padding)
  int64_t lines = 0;
  std::function<void(int64_t, int64_t*)> fill;  // source element of each k of a line
  // Group of (line, segment) when the problem states it (GemmProblem::a_seg_group /
  // b_seg_group): seg_group[line * line_stride + s * seg_stride]; otherwise the line's last
  // non-padding group in the segment (GemmProblem::segment()'s definition).
  const int32_t* seg_group = nullptr;
  int64_t line_stride = 0, seg_stride = 0;
};

// Exact unit counts of source elements, each distinct code decoded once.
template <class T>
std::vector<T> decode_units(const QTensor& q, const std::vector<uint32_t>& codes) {
  const FormatInfo& info = q.format->info();
  Decoder d(q);
  std::vector<T> out(codes.size());
  std::vector<int32_t> lut(info.code_bits <= 16 ? size_t{1} << info.code_bits : 0);
  std::vector<uint8_t> known(lut.size(), 0);
  for (size_t i = 0; i < codes.size(); ++i) {
    const uint32_t c = codes[i];
    if (c >= lut.size()) {
      out[i] = static_cast<T>(to_units(d(c), info.unit_log2, info, c));
      continue;
    }
    if (!known[c]) {
      lut[c] = to_units(d(c), info.unit_log2, info, c);
      known[c] = 1;
    }
    out[i] = static_cast<T>(lut[c]);
  }
  return out;
}

// Per (segment, column of B): group scale, its exponent (kNotPow2 if none), largest |units|; per
// segment: the largest |units| and exponents over all columns, and whether all are powers of two.
struct BSegments {
  std::vector<double> g;
  std::vector<int> e;
  std::vector<int64_t> max;
  std::vector<int64_t> seg_max;
  std::vector<int> seg_emin, seg_emax;
  std::vector<uint8_t> seg_pow2;
};

template <class T>
void run_lines(const Lines& A, const Lines& B, int64_t k, const std::vector<int32_t>& k_segment,
               const AccumulatorSpec& spec, int threads, GemmResult& out) {
  const int64_t m = A.lines, n = B.lines;
  const int64_t S = k == 0 ? 0 : k_segment.back() + 1;
  const QTensor& qa = *A.q;
  const QTensor& qb = *B.q;
  const int u = qa.format->info().unit_log2 + qb.format->info().unit_log2;
  std::vector<int64_t> seg_begin(static_cast<size_t>(S + 1), k);
  for (int64_t kk = k; kk-- > 0;) seg_begin[k_segment[kk]] = kk;
  const std::vector<T> units_a = decode_units<T>(qa, *A.codes);
  const std::vector<T> units_b = decode_units<T>(qb, *B.codes);

  // B k-major (bk[kk * n + j]) and its per-segment bookkeeping.
  std::vector<T> bk(static_cast<size_t>(k * n), 0);
  BSegments bs;
  bs.g.assign(static_cast<size_t>(S * n), 1.0);
  bs.e.assign(bs.g.size(), 0);
  bs.max.assign(bs.g.size(), 0);
  {
    std::vector<int32_t> group(bs.g.size(), -1);
    const int workers = parallel_workers(n, threads);
    std::vector<std::vector<int64_t>> src(static_cast<size_t>(workers));
    parallel_for(n, threads, [&](int64_t j, int w) {
      std::vector<int64_t>& line = src[w];
      line.resize(static_cast<size_t>(k));
      B.fill(j, line.data());
      for (int64_t s = 0; s < S; ++s) {
        int32_t g = -1;
        int64_t mx = 0;
        for (int64_t kk = seg_begin[s]; kk < seg_begin[s + 1]; ++kk) {
          const int64_t from = line[kk];
          if (from < 0) continue;
          const T v = units_b[from];
          bk[kk * n + j] = v;
          mx = std::max<int64_t>(mx, std::abs(static_cast<int64_t>(v)));
          if (B.groups[from] >= 0) g = B.groups[from];
        }
        if (B.seg_group) g = B.seg_group[j * B.line_stride + s * B.seg_stride];
        group[s * n + j] = g;
        bs.max[s * n + j] = mx;
      }
    });
    bs.seg_max.assign(static_cast<size_t>(S), 0);
    bs.seg_emin.assign(static_cast<size_t>(S), std::numeric_limits<int>::max());
    bs.seg_emax.assign(static_cast<size_t>(S), std::numeric_limits<int>::min());
    bs.seg_pow2.assign(static_cast<size_t>(S), 1);
    for (int64_t s = 0; s < S; ++s)
      for (int64_t j = 0; j < n; ++j) {
        const size_t at = static_cast<size_t>(s * n + j);
        bs.g[at] = group_scale(qb, group[at]);
        bs.e[at] = pow2_exponent(bs.g[at]);
        bs.seg_max[s] = std::max(bs.seg_max[s], bs.max[at]);
        if (bs.e[at] == kNotPow2) {
          bs.seg_pow2[s] = 0;
        } else {
          bs.seg_emin[s] = std::min(bs.seg_emin[s], bs.e[at]);
          bs.seg_emax[s] = std::max(bs.seg_emax[s], bs.e[at]);
        }
      }
  }

  const uint64_t acc_hi = (uint64_t{1} << (spec.acc_bits - 1)) - 1;
  const uint64_t lane_hi = std::min<uint64_t>(acc_hi, std::numeric_limits<int32_t>::max());
  const double ts = tensor_scale_product(qa.tensor_scale, qb.tensor_scale);
  constexpr int64_t kTile = 8;  // rows of C per task
  const int64_t tiles = (m + kTile - 1) / kTile;
  const int workers = parallel_workers(tiles, threads);
  struct Scratch {
    std::vector<int64_t> src;
    std::vector<T> arow;
    std::vector<int32_t> acc32;
    std::vector<int64_t> acc64;
    std::vector<float> f;
    uint64_t overflows = 0;
  };
  std::vector<Scratch> scratch(static_cast<size_t>(workers));
  parallel_for(tiles, threads, [&](int64_t tile, int w) {
    Scratch& sc = scratch[w];
    sc.src.resize(static_cast<size_t>(k));
    sc.arow.resize(static_cast<size_t>(k));
    sc.acc32.resize(static_cast<size_t>(n));
    sc.acc64.resize(static_cast<size_t>(n));
    sc.f.resize(static_cast<size_t>(n));
    int64_t* src = sc.src.data();
    T* arow = sc.arow.data();
    int32_t* acc32 = sc.acc32.data();
    int64_t* acc64 = sc.acc64.data();
    float* f = sc.f.data();
    for (int64_t i = tile * kTile; i < std::min(m, (tile + 1) * kTile); ++i) {
      A.fill(i, src);
      for (int64_t kk = 0; kk < k; ++kk) arow[kk] = src[kk] < 0 ? T{0} : units_a[src[kk]];
      std::fill(f, f + n, 0.0f);
      for (int64_t s = 0; s < S; ++s) {
        const int64_t k0 = seg_begin[s], len = seg_begin[s + 1] - k0;
        int32_t g = -1;
        int64_t amx = 0;
        for (int64_t kk = k0; kk < k0 + len; ++kk) {
          if (src[kk] < 0) continue;
          amx = std::max<int64_t>(amx, std::abs(static_cast<int64_t>(arow[kk])));
          if (A.groups[src[kk]] >= 0) g = A.groups[src[kk]];
        }
        if (A.seg_group) g = A.seg_group[i * A.line_stride + s * A.seg_stride];
        const double ga = group_scale(qa, g);
        const int ea = pow2_exponent(ga);
        const T* b0 = &bk[k0 * n];
        // Sum of |terms| <= max|a| * max|b| * len; when that fits, no partial sum can overflow
        // and the sums may be formed in any order (here: all columns at once, in int32 lanes).
        uint64_t bound = 0;
        const bool huge = __builtin_mul_overflow(
            static_cast<uint64_t>(amx) * static_cast<uint64_t>(bs.seg_max[s]),
            static_cast<uint64_t>(len), &bound);
        const bool lanes = !huge && bound <= lane_hi;
        if (lanes) {
          std::fill(acc32, acc32 + n, 0);
          for (int64_t q = 0; q < len; ++q) {
            const T av = arow[k0 + q];  // T x T -> int32: widening multiplies (pmullw/pmulhw)
            const T* br = b0 + q * n;
            for (int64_t j = 0; j < n; ++j)
              acc32[j] += static_cast<int32_t>(av) * static_cast<int32_t>(br[j]);
          }
        } else {
          for (int64_t j = 0; j < n; ++j) {
            uint64_t fine = 0;
            const bool fine_huge = __builtin_mul_overflow(
                static_cast<uint64_t>(amx) * static_cast<uint64_t>(bs.max[s * n + j]),
                static_cast<uint64_t>(len), &fine);
            auto term = [&](int64_t q) {
              return static_cast<int64_t>(arow[k0 + q]) * static_cast<int64_t>(b0[q * n + j]);
            };
            if (!fine_huge && fine <= acc_hi) {
              int64_t sum = 0;
              for (int64_t q = 0; q < len; ++q) sum += term(q);
              acc64[j] = sum;
            } else {
              acc64[j] = replay(len, term, spec, sc.overflows);
            }
          }
        }
        // The scale step. Powers of two whose product 2^(ea + eb + u) stays a normal double:
        // c * (2^(ea + u) * gb) is scale_pow2's exact product (both factors and their product
        // are powers of two in range), so every column takes the same vectorisable path.
        const int eu = ea == kNotPow2 ? 0 : ea + u;
        if (ea != kNotPow2 && bs.seg_pow2[s] && eu >= -1022 && eu <= 1023 &&
            eu + bs.seg_emin[s] >= -1022 && eu + bs.seg_emax[s] <= 1023) {
          const double pa = std::ldexp(1.0, eu);
          const double* gbs = &bs.g[s * n];
          if (lanes) {
            for (int64_t j = 0; j < n; ++j) {
              const double c = static_cast<float>(acc32[j]);
              f[j] = add_f32(f[j], static_cast<float>(c * (pa * gbs[j])));
            }
          } else {
            for (int64_t j = 0; j < n; ++j) {
              const double c = static_cast<float>(acc64[j]);
              f[j] = add_f32(f[j], static_cast<float>(c * (pa * gbs[j])));
            }
          }
        } else {
          for (int64_t j = 0; j < n; ++j) {
            const int64_t acc = lanes ? acc32[j] : acc64[j];
            f[j] = add_f32(f[j], scale_segment(acc, ga, ea, bs.g[s * n + j], bs.e[s * n + j], u));
          }
        }
      }
      for (int64_t j = 0; j < n; ++j)
        out.c[i * n + j] = canonical_nan(static_cast<float>(static_cast<double>(f[j]) * ts));
    }
  });
  for (const Scratch& sc : scratch) out.acc_overflows += sc.overflows;
}

// Whether run_lines takes qa x qb: a fixed-point family (the accumulator width checked) and
// operands within 31 bits (else the wide route); narrow: int16 units fit every element of both.
bool fixed_lines(const QTensor& qa, const QTensor& qb, const AccumulatorSpec& spec, bool* narrow) {
  if (mac_family_for(qa.format->info(), qb.format->info()).pe_datapath() != MacFamily::kFixed)
    return false;
  check_acc_bits(spec);
  const int64_t ma = max_units(qa, qa.codes, qa.format->info().unit_log2);
  const int64_t mb = max_units(qb, qb.codes, qb.format->info().unit_log2);
  *narrow = ma <= 32767 && mb <= 32767;
  return ma <= kMaxOperand && mb <= kMaxOperand;
}

void run_lines_any(bool narrow, const Lines& A, const Lines& B, int64_t k,
                   const std::vector<int32_t>& k_segment, const AccumulatorSpec& spec, int threads,
                   GemmResult& out) {
  if (narrow)
    run_lines<int16_t>(A, B, k, k_segment, spec, threads, out);
  else
    run_lines<int32_t>(A, B, k, k_segment, spec, threads, out);
}

void run_fixed(const GemmProblem& p, const AccumulatorSpec& spec, int threads, GemmResult& out) {
  check_acc_bits(spec);
  const int ua = p.a.q->format->info().unit_log2, ub = p.b.q->format->info().unit_log2;
  const int64_t ma = max_units(*p.a.q, p.a.codes, ua), mb = max_units(*p.b.q, p.b.codes, ub);
  if (ma > kMaxOperand || mb > kMaxOperand) {
    run_fixed_wide(p, spec, out);
    return;
  }
  const int64_t m = p.m, n = p.n, k = p.k, S = p.num_segments;
  Lines a, b;
  a.q = p.a.q;
  a.codes = &p.a.codes;
  a.groups = p.a.group.data();
  a.lines = m;
  a.fill = [k](int64_t i, int64_t* src) {
    for (int64_t kk = 0; kk < k; ++kk) src[kk] = i * k + kk;
  };
  a.seg_group = p.a_seg_group.data();
  a.line_stride = S;
  a.seg_stride = 1;
  b.q = p.b.q;
  b.codes = &p.b.codes;
  b.groups = p.b.group.data();
  b.lines = n;
  b.fill = [k, n](int64_t j, int64_t* src) {
    for (int64_t kk = 0; kk < k; ++kk) src[kk] = kk * n + j;
  };
  b.seg_group = p.b_seg_group.data();
  b.line_stride = 1;
  b.seg_stride = n;
  run_lines_any(ma <= 32767 && mb <= 32767, a, b, k, p.k_segment, spec, threads, out);
}

// Lines read in place from qa and qb (fill_a / fill_b: the lowering's element mapping), K
// segmented as GemmProblem::segment() does (SegmentCuts over every row and column, shared out
// over the threads; none needed when both tensors have one group).
LoweredReference run_lines_reference(const QTensor& qa, const QTensor& qb, const ConvGemmShape& sh,
                                     std::function<void(int64_t, int64_t*)> fill_a,
                                     std::function<void(int64_t, int64_t*)> fill_b, bool narrow,
                                     const AccumulatorSpec& spec, int threads) {
  auto groups32 = [](const QTensor& q) {
    const std::vector<int64_t> ids = q.groups.group_ids();
    std::vector<int32_t> g(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) g[i] = static_cast<int32_t>(ids[i]);
    return g;
  };
  const std::vector<int32_t> ga = groups32(qa), gb = groups32(qb);
  Lines a, b;
  a.q = &qa;
  a.codes = &qa.codes;
  a.groups = ga.data();
  a.lines = sh.m;
  a.fill = std::move(fill_a);
  b.q = &qb;
  b.codes = &qb.codes;
  b.groups = gb.data();
  b.lines = sh.n;
  b.fill = std::move(fill_b);
  LoweredReference r;
  r.m = sh.m;
  r.n = sh.n;
  r.k = sh.k;
  std::vector<int32_t> k_segment(static_cast<size_t>(sh.k), 0);
  if (qa.groups.num_groups() > 1 || qb.groups.num_groups() > 1) {
    constexpr int64_t kChunk = 64;  // lines per task
    const int64_t chunks_a = (sh.m + kChunk - 1) / kChunk, chunks_b = (sh.n + kChunk - 1) / kChunk;
    const int workers = parallel_workers(chunks_a + chunks_b, threads);
    std::vector<SegmentCuts> cuts(static_cast<size_t>(workers), SegmentCuts(sh.k));
    std::vector<std::vector<int64_t>> src(static_cast<size_t>(workers));
    parallel_for(chunks_a + chunks_b, threads, [&](int64_t c, int w) {
      const bool is_a = c < chunks_a;
      const Lines& l = is_a ? a : b;
      const int64_t first = (is_a ? c : c - chunks_a) * kChunk;
      std::vector<int64_t>& line = src[w];
      line.resize(static_cast<size_t>(sh.k));
      for (int64_t i = first; i < std::min(l.lines, first + kChunk); ++i) {
        l.fill(i, line.data());
        cuts[w].add_line([&](int64_t kk) {
          const int64_t from = line[static_cast<size_t>(kk)];
          return from < 0 ? int32_t{-1} : l.groups[from];
        });
      }
    });
    for (int w = 1; w < workers; ++w) cuts[0].merge(cuts[w]);
    k_segment = cuts[0].k_segment();
  }
  r.num_segments = sh.k == 0 ? 0 : k_segment.back() + 1;
  r.result.c.assign(static_cast<size_t>(sh.m * sh.n), 0.0f);
  run_lines_any(narrow, a, b, sh.k, k_segment, spec, threads, r.result);
  return r;
}

LoweredReference reference_of(const GemmProblem& p, const AccumulatorSpec& acc, int threads) {
  LoweredReference r;
  r.result = run_reference(p, acc, threads);
  r.m = p.m;
  r.n = p.n;
  r.k = p.k;
  r.num_segments = p.num_segments;
  return r;
}

}  // namespace

GemmResult run_reference(const GemmProblem& p, const AccumulatorSpec& acc, int threads) {
  check_problem(p);
  return mac_family_for(p.a.q->format->info(), p.b.q->format->info())
      .run_reference(p, acc, threads);
}

GemmResult run_float_reference(const GemmProblem& p, int threads) {
  check_problem(p);
  GemmResult out;
  out.c.assign(static_cast<size_t>(p.m * p.n), 0.0f);
  run_float(p, threads, out);
  return out;
}

GemmResult run_fixed_reference(const GemmProblem& p, const AccumulatorSpec& acc, int threads) {
  check_problem(p);
  GemmResult out;
  out.c.assign(static_cast<size_t>(p.m * p.n), 0.0f);
  run_fixed(p, acc, threads, out);
  return out;
}

LoweredReference run_conv_reference(ConvPhase phase, const QTensor& first, const QTensor& second,
                                    const ConvGeometry& geo, DgradLowering dgrad,
                                    const AccumulatorSpec& acc, int threads) {
  require_conv_operands(phase, first, second, geo);
  bool narrow = false;
  if (!fixed_lines(first, second, acc, &narrow))
    return reference_of(lower_conv(phase, first, second, geo, dgrad), acc, threads);
  const ConvOperandMap ix(phase, geo, dgrad);
  return run_lines_reference(
      first, second, ix.shape(), [&ix](int64_t i, int64_t* src) { ix.a_row(i, src); },
      [&ix](int64_t j, int64_t* src) { ix.b_col(j, src); }, narrow, acc, threads);
}

LoweredReference run_gemm_reference(const QTensor& a, const QTensor& b, const AccumulatorSpec& acc,
                                    int threads) {
  require_gemm_operands(a, b);
  bool narrow = false;
  if (!fixed_lines(a, b, acc, &narrow)) return reference_of(lower_gemm(a, b), acc, threads);
  const int64_t m = a.shape[0], k = a.shape[1], n = b.shape[1];
  return run_lines_reference(
      a, b, ConvGemmShape{m, n, k},
      [k](int64_t i, int64_t* src) {
        for (int64_t kk = 0; kk < k; ++kk) src[kk] = i * k + kk;
      },
      [k, n](int64_t j, int64_t* src) {
        for (int64_t kk = 0; kk < k; ++kk) src[kk] = kk * n + j;
      },
      narrow, acc, threads);
}

}  // namespace lbsim
