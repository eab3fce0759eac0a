// GEMM lowering, K segmentation, convolution lowering and the functional reference GEMM.
// Every expected value is derived by hand in the comments (exact arithmetic, then the contract's
// rounding points of models/numerics/gemm_problem.h). The number formats are test-local, so these
// tests do not depend on models/numerics/impl.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/numerics/conv_lowering.h"
#include "models/numerics/gemm_problem.h"
#include "models/reference/reference_gemm.h"

using namespace lbsim;
using Catch::Matchers::Contains;

namespace {

// A format defined by its FormatInfo and an element_value function; quantize is not needed here
// (QTensors are built from codes directly).
class TestFormat : public INumberFormat {
 public:
  TestFormat(FormatInfo info, std::function<double(uint32_t)> value)
      : m_info(std::move(info)), m_value(std::move(value)) {}
  const FormatInfo& info() const override { return m_info; }
  double element_value(uint32_t code) const override { return m_value(code); }
  QTensor quantize(const TensorView&, const QuantContext&) const override {
    throw std::logic_error("test format: quantize not implemented");
  }
  std::string describe() const override { return m_info.name; }

 private:
  FormatInfo m_info;
  std::function<double(uint32_t)> m_value;
};

uint32_t fbits(float f) {
  uint32_t u = 0;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float from_bits(uint32_t u) {
  float f = 0;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

float p2(int e) { return std::ldexp(1.0f, e); }

FormatPtr int_format(int bits) {
  FormatInfo fi;
  fi.name = "t_int" + std::to_string(bits);
  fi.kind = ElementKind::kInt;
  fi.code_bits = bits;
  fi.unit_log2 = 0;
  fi.group_scale_pow2 = false;
  return std::make_shared<TestFormat>(fi, [bits](uint32_t c) {
    // Sign-extend the low `bits` bits.
    const int64_t v = static_cast<int64_t>(c & ((bits == 32) ? 0xFFFFFFFFu : ((1u << bits) - 1)));
    return static_cast<double>(v >= (int64_t{1} << (bits - 1)) ? v - (int64_t{1} << bits) : v);
  });
}

// fp32 itself as an element format: the code is the binary32 bit pattern.
FormatPtr fp32_format() {
  FormatInfo fi;
  fi.name = "t_fp32";
  fi.kind = ElementKind::kFloat;
  fi.code_bits = 32;
  fi.exp_bits = 8;
  fi.man_bits = 23;
  fi.bias = 127;
  return std::make_shared<TestFormat>(fi,
                                      [](uint32_t c) { return static_cast<double>(from_bits(c)); });
}

// MLS m1e2: [sign | f: 2 | m: 1], Emax = 3. f > 0: 2^(f-3) * (1 + m/2); f = 0: 2^-2 * (m/2).
// Smallest step 2^-2 * 2^-1 = 2^-3 = unit.
FormatPtr mls_m1e2_format() {
  FormatInfo fi;
  fi.name = "t_mls_m1e2";
  fi.kind = ElementKind::kMls;
  fi.code_bits = 4;
  fi.exp_bits = 2;
  fi.man_bits = 1;
  fi.unit_log2 = -3;
  fi.group_scale_pow2 = true;
  return std::make_shared<TestFormat>(fi, [](uint32_t c) {
    const double sign = (c >> 3) & 1 ? -1.0 : 1.0;
    const int f = (c >> 1) & 3, m = c & 1;
    const double mag = f > 0 ? std::ldexp(1.0 + m / 2.0, f - 3) : std::ldexp(m / 2.0, -2);
    return sign * mag;
  });
}
uint32_t mls(int sign, int f, int m) { return (sign << 3) | (f << 1) | m; }

// 4-bit radix-2 log: [sign | c: 3], c = 0 is zero, else +-2^(c-1).
FormatPtr log4_format() {
  FormatInfo fi;
  fi.name = "t_log4";
  fi.kind = ElementKind::kLog;
  fi.code_bits = 4;
  fi.exp_bits = 3;
  fi.unit_log2 = 0;
  return std::make_shared<TestFormat>(fi, [](uint32_t c) {
    const int e = c & 7;
    if (e == 0) return 0.0;
    return ((c >> 3) & 1 ? -1.0 : 1.0) * std::ldexp(1.0, e - 1);
  });
}

QTensor make_q(FormatPtr f, Shape shape, std::vector<uint32_t> codes, GroupMap groups = {},
               std::vector<double> gs = {1.0}, double ts = 1.0) {
  QTensor q;
  q.format = std::move(f);
  q.shape = shape;
  q.codes = std::move(codes);
  q.groups = groups.shape.empty() ? GroupMap::per_tensor(shape) : groups;
  q.group_scale = std::move(gs);
  q.tensor_scale = ts;
  REQUIRE(static_cast<int64_t>(q.codes.size()) == numel(shape));
  return q;
}

std::vector<uint32_t> int_codes(const std::vector<int64_t>& v, int bits = 8) {
  std::vector<uint32_t> c;
  const uint64_t mask = bits == 32 ? 0xFFFFFFFFull : (uint64_t{1} << bits) - 1;
  for (int64_t x : v) c.push_back(static_cast<uint32_t>(static_cast<uint64_t>(x) & mask));
  return c;
}

std::vector<uint32_t> float_codes(const std::vector<float>& v) {
  std::vector<uint32_t> c;
  for (float x : v) c.push_back(fbits(x));
  return c;
}

template <class F>
std::string user_error_of(F&& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  FAIL("expected a UserError");
  return "";
}

// A GemmProblem with only group arrays, for segmentation tests.
GemmProblem groups_only(int64_t m, int64_t k, int64_t n, std::vector<int32_t> ag,
                        std::vector<int32_t> bg) {
  GemmProblem p;
  p.m = m;
  p.k = k;
  p.n = n;
  p.a.group = std::move(ag);
  p.b.group = std::move(bg);
  return p;
}

using I = std::vector<int32_t>;

}  // namespace

// ------------------------------------------------------------------------------------------------
TEST_CASE("mac_family pairs formats into datapath families", "[reference]") {
  auto fp = fp32_format(), i8 = int_format(8), ml = mls_m1e2_format(), lg = log4_format();
  CHECK(mac_family(fp->info(), fp->info()) == MacFamily::kFloat);
  CHECK(mac_family(i8->info(), ml->info()) == MacFamily::kFixed);
  CHECK(mac_family(lg->info(), i8->info()) == MacFamily::kFixed);
  CHECK(mac_family(ml->info(), lg->info()) == MacFamily::kFixed);
  const std::string msg = user_error_of([&] { mac_family(fp->info(), i8->info()); });
  CHECK_THAT(msg, Contains("'t_fp32' and 't_int8' cannot share a MAC array"));
  CHECK_THROWS_AS(mac_family(lg->info(), fp->info()), UserError);
}

// ------------------------------------------------------------------------------------------------
TEST_CASE("segment: 2x6 x 6x2 with groups of 3 along K", "[reference][segment]") {
  auto i8 = int_format(8);
  // A (2, 6) with blocks {1, 3}: block grid 2 x 2 in C order -> row 0: 0 0 0 1 1 1,
  // row 1: 2 2 2 3 3 3. B (6, 2) with blocks {3, 1}: group of B[k][j] = (k / 3) * 2 + j.
  QTensor a =
      make_q(i8, {2, 6}, std::vector<uint32_t>(12, 1), GroupMap{{2, 6}, {1, 3}}, {1, 1, 1, 1});
  QTensor b =
      make_q(i8, {6, 2}, std::vector<uint32_t>(12, 1), GroupMap{{6, 2}, {3, 1}}, {1, 1, 1, 1});
  GemmProblem p = lower_gemm(a, b);
  CHECK(p.m == 2);
  CHECK(p.k == 6);
  CHECK(p.n == 2);
  CHECK(p.a.group == I{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3});
  CHECK(p.b.group == I{0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3});
  CHECK(p.k_segment == I{0, 0, 0, 1, 1, 1});
  CHECK(p.num_segments == 2);
  CHECK(p.a_seg_group == I{0, 1, 2, 3});  // m x S
  CHECK(p.b_seg_group == I{0, 1, 2, 3});  // S x n: segment 0 -> {0, 1}, segment 1 -> {2, 3}

  SECTION("padding inside a group causes no extra break") {
    p.a.group[0 * 6 + 1] = -1;  // A row 0, k = 1
    p.b.group[4 * 2 + 1] = -1;  // B k = 4, column 1
    // A row 1 is padding over the whole second segment: its group there is -1.
    for (int kk = 3; kk < 6; ++kk) p.a.group[1 * 6 + kk] = -1;
    p.segment();
    CHECK(p.k_segment == I{0, 0, 0, 1, 1, 1});
    CHECK(p.num_segments == 2);
    CHECK(p.a_seg_group == I{0, 1, 2, -1});
    CHECK(p.b_seg_group == I{0, 1, 2, 3});
  }
}

TEST_CASE("segment: padding joins groups, breaks only when forced", "[reference][segment]") {
  // A 1x3 groups {0, -1, 0}: the padding lies between two elements of group 0 -> one segment.
  GemmProblem p = groups_only(1, 3, 1, {0, -1, 0}, {5, 5, 5});
  p.segment();
  CHECK(p.k_segment == I{0, 0, 0});
  CHECK(p.a_seg_group == I{0});
  CHECK(p.b_seg_group == I{5});

  // A 1x4 groups {0, -1, 1, 1}: the cut is forced at k = 2 (group 0 -> 1) and the padding at k = 1
  // stays in the earlier segment.
  p = groups_only(1, 4, 1, {0, -1, 1, 1}, {0, 0, 0, 0});
  p.segment();
  CHECK(p.k_segment == I{0, 0, 1, 1});
  CHECK(p.num_segments == 2);
  CHECK(p.a_seg_group == I{0, 1});
  CHECK(p.b_seg_group == I{0, 0});

  // Only padding in a column: one segment, group -1.
  p = groups_only(1, 2, 1, {3, 3}, {-1, -1});
  p.segment();
  CHECK(p.k_segment == I{0, 0});
  CHECK(p.b_seg_group == I{-1});
}

TEST_CASE("segment: A groups of 2 and B groups of 3 break at 2, 3, 4", "[reference][segment]") {
  auto i8 = int_format(8);
  // A (2, 6) blocks {1, 2}: row 0 groups 0 0 1 1 2 2, row 1 groups 3 3 4 4 5 5.
  // B (6, 2) blocks {3, 1}: column 0: 0 0 0 2 2 2, column 1: 1 1 1 3 3 3.
  // A changes group at k = 2 and 4, B at k = 3 -> segments [0,2) [2,3) [3,4) [4,6).
  QTensor a = make_q(i8, {2, 6}, std::vector<uint32_t>(12, 1), GroupMap{{2, 6}, {1, 2}},
                     std::vector<double>(6, 1.0));
  QTensor b = make_q(i8, {6, 2}, std::vector<uint32_t>(12, 1), GroupMap{{6, 2}, {3, 1}},
                     std::vector<double>(4, 1.0));
  GemmProblem p = lower_gemm(a, b);
  CHECK(p.k_segment == I{0, 0, 1, 2, 3, 3});
  CHECK(p.num_segments == 4);
  CHECK(p.a_seg_group == I{0, 1, 1, 2, 3, 4, 4, 5});
  CHECK(p.b_seg_group == I{0, 1, 0, 1, 2, 3, 2, 3});
  // Property: every run of equal k_segment sees one group per row/column (ignoring padding).
  for (int64_t kk = 0; kk < p.k; ++kk) {
    const int32_t s = p.k_segment[kk];
    for (int64_t i = 0; i < p.m; ++i)
      CHECK(p.a.group[i * p.k + kk] == p.a_seg_group[i * p.num_segments + s]);
    for (int64_t j = 0; j < p.n; ++j) CHECK(p.b.group[kk * p.n + j] == p.b_seg_group[s * p.n + j]);
  }
}

TEST_CASE("lower_gemm rejects bad shapes", "[reference]") {
  auto i8 = int_format(8);
  QTensor a = make_q(i8, {2, 3}, std::vector<uint32_t>(6, 0));
  QTensor b = make_q(i8, {4, 2}, std::vector<uint32_t>(8, 0));
  const std::string msg = user_error_of([&] { lower_gemm(a, b); });
  CHECK_THAT(msg, Contains("(2, 3)") && Contains("(4, 2)"));
  QTensor c3 = make_q(i8, {1, 3, 2}, std::vector<uint32_t>(6, 0));
  CHECK_THROWS_AS(lower_gemm(a, c3), UserError);
  // Codes are copied in row-major order.
  QTensor b2 = make_q(i8, {3, 1}, {7, 8, 9});
  GemmProblem p = lower_gemm(a, b2);
  CHECK(p.b.codes == std::vector<uint32_t>{7, 8, 9});
  CHECK(p.a.q == &a);
  CHECK(p.b.rows == 3);
  CHECK(p.b.cols == 1);
}

// ------------------------------------------------------------------------------------------------
TEST_CASE("reference: int8 GEMM with fp32 group and tensor scales", "[reference][fixed]") {
  auto i8 = int_format(8);
  // A = [[1, -2, 3], [4, 5, -6]], per-row scales {0.5, 0.1f}.
  // B = [[7, -8], [9, 10], [-11, 12]], per-column scales {3, 0.25}.
  // Integer sums: C00 = 7 - 18 - 33 = -44, C01 = -8 - 20 + 36 = 8,
  //               C10 = 28 + 45 + 66 = 139, C11 = -32 + 50 - 72 = -54.
  const float tenth = 0.1f;  // = 13421773 * 2^-27
  QTensor a = make_q(i8, {2, 3}, int_codes({1, -2, 3, 4, 5, -6}), GroupMap::per_axis({2, 3}, 0),
                     {0.5, tenth});
  QTensor b = make_q(i8, {3, 2}, int_codes({7, -8, 9, 10, -11, 12}), GroupMap::per_axis({3, 2}, 1),
                     {3.0, 0.25});
  GemmProblem p = lower_gemm(a, b);
  REQUIRE(p.num_segments == 1);
  GemmResult r = run_reference(p, AccumulatorSpec{});
  REQUIRE(r.c.size() == 4);
  CHECK(r.acc_overflows == 0);
  // y00: 3 is not a power of two -> g = RNE(0.5 * 3) = 1.5, v = -44 * 1.5 = -66.
  CHECK(r.c[0] == -66.0f);
  // y01: 0.5 and 0.25 are powers of two -> g = 2^-3 exactly, v = 8 / 8 = 1.
  CHECK(r.c[1] == 1.0f);
  // y10: g = RNE(3 * 13421773 * 2^-27) = RNE(40265319 * 2^-27); 40265319 has 26 bits, /4 =
  //      10066329.75 -> 10066330 * 2^-25. v = RNE(139 * 10066330 * 2^-25) = RNE(1399219870 *
  //      2^-25); 31 bits, /128 = 10931405.234375 -> 10931405 * 2^-18.
  const float y10 = 10931405.0f * p2(-18);
  CHECK(r.c[2] == y10);
  // y11: g = RNE(13421773 * 2^-27 * 2^-2) = 13421773 * 2^-29 (exact). v = RNE(-54 * 13421773 *
  //      2^-29) = RNE(-724775742 * 2^-29); 30 bits, /64 = 11324620.96875 -> -11324621 * 2^-23.
  const float y11 = -11324621.0f * p2(-23);
  CHECK(r.c[3] == y11);

  SECTION("non-power-of-two tensor scales: ts = RNE(3 * 0.5) = 1.5") {
    a.tensor_scale = 3.0;
    b.tensor_scale = 0.5;
    GemmResult r2 = run_reference(lower_gemm(a, b), AccumulatorSpec{});
    CHECK(r2.c[0] == -99.0f);
    CHECK(r2.c[1] == 1.5f);
    // 10931405 * 3 = 32794215 (25 bits) * 2^-19: /2 = 16397107.5 is a tie -> even 16397108.
    CHECK(r2.c[2] == 16397108.0f * p2(-18));
    // 11324621 * 3 = 33973863 (26 bits) * 2^-24: /4 = 8493465.75 -> 8493466 * 2^-22.
    CHECK(r2.c[3] == -8493466.0f * p2(-22));
  }
}

TEST_CASE("reference: mixed log x int and unsigned int operands", "[reference][fixed]") {
  auto lg = log4_format(), i8 = int_format(8);
  // A (log) = [2^2, -2^0] (codes c = 3 and sign|c = 1), B (int8) = [3, 5]: 4*3 - 1*5 = 7.
  QTensor a = make_q(lg, {1, 2}, {3u, 8u | 1u});
  QTensor b = make_q(i8, {2, 1}, int_codes({3, 5}));
  CHECK(run_reference(lower_gemm(a, b), AccumulatorSpec{}).c == std::vector<float>{7.0f});
  // Unsigned int8 codes: 200 is +200, not -56. 200 * 2 + 1 * (-1) = 399.
  QTensor u = make_q(i8, {1, 2}, {200u, 1u});
  u.unsigned_int = true;
  QTensor b2 = make_q(i8, {2, 1}, int_codes({2, -1}));
  CHECK(run_reference(lower_gemm(u, b2), AccumulatorSpec{}).c == std::vector<float>{399.0f});
}

TEST_CASE("reference: acc_bits = 8 overflow, saturate vs wrap", "[reference][fixed]") {
  auto i8 = int_format(8);
  // Row 0 terms 100, 100, -100; row 1 terms 100, -100, 100 (B is all ones).
  QTensor a = make_q(i8, {2, 3}, int_codes({100, 100, -100, 100, -100, 100}));
  QTensor b = make_q(i8, {3, 1}, int_codes({1, 1, 1}));
  GemmProblem p = lower_gemm(a, b);

  // Range [-128, 127].
  // Saturate, row 0: 100; 200 leaves (1) -> 127; 127 - 100 = 27. Row 1: 100, 0, 100: none.
  GemmResult sat = run_reference(p, {8, OverflowPolicy::kSaturate});
  CHECK(sat.c == std::vector<float>{27.0f, 100.0f});
  CHECK(sat.acc_overflows == 1);
  // Wrap, row 0: 100; 200 leaves (1) -> 200 - 256 = -56; -56 - 100 = -156 leaves (2) -> 100.
  GemmResult wrap = run_reference(p, {8, OverflowPolicy::kWrap});
  CHECK(wrap.c == std::vector<float>{100.0f, 100.0f});
  CHECK(wrap.acc_overflows == 2);
  // acc_bits = 9, range [-256, 255]: the magnitude bound 300 does not prove safety, but the
  // partial sums 100, 200, 100 stay inside: no overflow.
  GemmResult wide = run_reference(p, {9, OverflowPolicy::kSaturate});
  CHECK(wide.c == std::vector<float>{100.0f, 100.0f});
  CHECK(wide.acc_overflows == 0);
  // acc_bits = 32: exact.
  CHECK(run_reference(p, {32, OverflowPolicy::kWrap}).c == std::vector<float>{100.0f, 100.0f});
  // Bad widths are a user error.
  CHECK_THROWS_AS(run_reference(p, {1, OverflowPolicy::kWrap}), UserError);
  CHECK_THROWS_AS(run_reference(p, {65, OverflowPolicy::kWrap}), UserError);
}

TEST_CASE("reference: 63/64-bit accumulators with 62-bit terms", "[reference][fixed]") {
  auto i32 = int_format(32);
  // Terms x = (2^31 - 1)^2 = 2^62 - 2^32 + 1 (three of them).
  const int64_t big = (int64_t{1} << 31) - 1;
  QTensor a = make_q(i32, {1, 3}, int_codes({big, big, big}, 32));
  QTensor b = make_q(i32, {3, 1}, int_codes({big, big, big}, 32));
  GemmProblem p = lower_gemm(a, b);
  // 64 bits: x, 2x = 2^63 - 2^33 + 2 fit; 3x > 2^63 - 1 leaves (1).
  //   saturate -> 2^63 - 1 -> c = RNE(2^63 - 1) = 2^63.
  GemmResult s64 = run_reference(p, {64, OverflowPolicy::kSaturate});
  CHECK(s64.c[0] == p2(63));
  CHECK(s64.acc_overflows == 1);
  //   wrap -> 3x - 2^64 = -(2^62 + 3*2^32 - 3); float ulp above 2^62 is 2^39 -> c = -2^62.
  GemmResult w64 = run_reference(p, {64, OverflowPolicy::kWrap});
  CHECK(w64.c[0] == -p2(62));
  CHECK(w64.acc_overflows == 1);
  // 63 bits, range [-2^62, 2^62 - 1]: 2x leaves (1).
  //   saturate -> 2^62 - 1, + x leaves again (2) -> 2^62 - 1 -> c = 2^62.
  GemmResult s63 = run_reference(p, {63, OverflowPolicy::kSaturate});
  CHECK(s63.c[0] == p2(62));
  CHECK(s63.acc_overflows == 2);
  //   wrap: 2x - 2^63 = -2^33 + 2; + x = 2^62 - 3*2^32 + 3 fits -> c = 2^62 (3*2^32 < 2^37).
  GemmResult w63 = run_reference(p, {63, OverflowPolicy::kWrap});
  CHECK(w63.c[0] == p2(62));
  CHECK(w63.acc_overflows == 1);
}

TEST_CASE("reference: int16-range operands whose sum exceeds 2^31", "[reference][fixed]") {
  auto i32 = int_format(32);
  // 16 terms of 2^14 * 2^14 = 2^28: the sum 2^32 needs a 64-bit accumulation.
  QTensor a = make_q(i32, {1, 16}, int_codes(std::vector<int64_t>(16, 1 << 14), 32));
  QTensor b = make_q(i32, {16, 1}, int_codes(std::vector<int64_t>(16, 1 << 14), 32));
  GemmResult r = run_reference(lower_gemm(a, b), {64, OverflowPolicy::kWrap});
  CHECK(r.c[0] == p2(32));
  CHECK(r.acc_overflows == 0);
  // With a 32-bit wrapping accumulator, range [-2^31, 2^31 - 1]: partial sums j * 2^28; the 8th,
  // 2^31, leaves the range and wraps to -2^31; adds 9..16 give -2^31 + 2^28, ..., -2^28, 0 and
  // stay inside. One overflow, result 2^32 mod 2^32 = 0.
  GemmResult w = run_reference(lower_gemm(a, b), {32, OverflowPolicy::kWrap});
  CHECK(w.c[0] == 0.0f);
  CHECK(w.acc_overflows == 1);
}

TEST_CASE("reference: MLS segments with power-of-two group scales", "[reference][fixed]") {
  auto ml = mls_m1e2_format();
  // Values in units of 2^-3: f=0,m=1: 1; f=1: 2,3; f=2: 4,6; f=3: 8,12.
  // A (1, 4), groups of 2 along K with scales {2^-1, 2^3}: units {12, -3, 6, 1}.
  // B (4, 1), one group with scale 2^-2: units {4, 12, -8, 3}.
  QTensor a = make_q(ml, {1, 4}, {mls(0, 3, 1), mls(1, 1, 1), mls(0, 2, 1), mls(0, 0, 1)},
                     GroupMap{{1, 4}, {1, 2}}, {0.5, 8.0});
  QTensor b = make_q(ml, {4, 1}, {mls(0, 2, 0), mls(0, 3, 1), mls(1, 3, 0), mls(0, 1, 1)},
                     GroupMap::per_tensor({4, 1}), {0.25});
  GemmProblem p = lower_gemm(a, b);
  REQUIRE(p.k_segment == I{0, 0, 1, 1});
  // Segment 0: acc = 12*4 - 3*12 = 12 (units 2^-6), g = 2^-1 * 2^-2 * 2^-6 = 2^-9: v = 12 / 512.
  // Segment 1: acc = 6*(-8) + 1*3 = -45, g = 2^3 * 2^-2 * 2^-6 = 2^-5: v = -45 / 32 = -720 / 512.
  // F = -708 / 512 = -1.3828125 (every step exact).
  GemmResult r = run_reference(p, AccumulatorSpec{});
  CHECK(r.c[0] == -1.3828125f);
  // Cross-check against the exact dequantized values (all exact here).
  double exact = 0;
  for (int kk = 0; kk < 4; ++kk) exact += a.value(kk) * b.value(kk);
  CHECK(static_cast<double>(r.c[0]) == exact);

  SECTION("g is exact even where it is not an fp32 number") {
    // acc = 12 * 12 = 144, g = 2^-100 * 2^-50 * 2^-6 = 2^-156 (below fp32's 2^-149).
    // v = RNE(144 * 2^-156) = RNE(1.125 * 2^-149) = 2^-149. Rounding g to fp32 first would give 0.
    QTensor x = make_q(ml, {1, 1}, {mls(0, 3, 1)}, {}, {std::ldexp(1.0, -100)});
    QTensor y = make_q(ml, {1, 1}, {mls(0, 3, 1)}, {}, {std::ldexp(1.0, -50)});
    GemmResult t = run_reference(lower_gemm(x, y), AccumulatorSpec{});
    CHECK(t.c[0] == std::numeric_limits<float>::denorm_min());
  }
}

// Naive model of the fixed-point contract for cross-checking the reference's fast paths: per
// segment, replay every partial sum with the policy, then the rounding points (scales 1 / pow2).
TEST_CASE("reference: fast paths agree with a naive replay on random int8", "[reference][fixed]") {
  auto i8 = int_format(8);
  const int64_t M = 9, K = 48, N = 7;
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int64_t>((state >> 33) % 255) - 127;  // [-127, 127]
  };
  std::vector<int64_t> av(M * K), bv(K * N);
  for (auto& v : av) v = next();
  for (auto& v : bv) v = next();
  // A groups of 16 along K (pow2 scales), B per-tensor.
  std::vector<double> gsa;
  for (int i = 0; i < M * 3; ++i) gsa.push_back(std::ldexp(1.0, i % 5 - 2));
  QTensor a = make_q(i8, {M, K}, int_codes(av), GroupMap{{M, K}, {1, 16}}, gsa);
  QTensor b = make_q(i8, {K, N}, int_codes(bv));
  GemmProblem p = lower_gemm(a, b);
  REQUIRE(p.num_segments == 3);
  for (int bits : {12, 16, 32}) {
    for (OverflowPolicy pol : {OverflowPolicy::kWrap, OverflowPolicy::kSaturate}) {
      const int64_t hi = (int64_t{1} << (bits - 1)) - 1, lo = -hi - 1;
      uint64_t overflows = 0;
      std::vector<float> want(M * N);
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          float f = 0;
          for (int s = 0; s < 3; ++s) {
            int64_t acc = 0;
            for (int64_t kk = 16 * s; kk < 16 * (s + 1); ++kk) {
              int64_t t = acc + av[i * K + kk] * bv[kk * N + j];
              if (t < lo || t > hi) {
                ++overflows;
                if (pol == OverflowPolicy::kSaturate) {
                  t = t > hi ? hi : lo;
                } else {
                  t = ((t - lo) % (hi - lo + 1) + (hi - lo + 1)) % (hi - lo + 1) + lo;
                }
              }
              acc = t;
            }
            // |acc| < 2^24 and the scale is a power of two: both conversions are exact.
            f = static_cast<float>(static_cast<double>(f) +
                                   static_cast<double>(acc) * gsa[i * 3 + s]);
          }
          want[i * N + j] = f;
        }
      GemmResult r = run_reference(p, {bits, pol});
      CHECK(r.c == want);
      CHECK(r.acc_overflows == overflows);
      if (bits == 12) CHECK(overflows > 0);  // the test exercises the replay path
      if (bits == 32) CHECK(overflows == 0);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Float family: one rounding per FMA.
namespace {

float fma_chain(float f0, float a1, float b1) {
  auto fp = fp32_format();
  QTensor a = make_q(fp, {1, 2}, float_codes({f0, a1}));
  QTensor b = make_q(fp, {2, 1}, float_codes({1.0f, b1}));
  return run_reference(lower_gemm(a, b), AccumulatorSpec{}).c[0];
}

// Rounding the double-rounded sum: what a naive implementation computes.
float naive(float f0, float a1, float b1) {
  return static_cast<float>(static_cast<double>(f0) +
                            static_cast<double>(a1) * static_cast<double>(b1));
}

}  // namespace

TEST_CASE("reference: float FMA is correctly rounded where double rounding is not",
          "[reference][float]") {
  SECTION("exact sum just below a midpoint, F odd") {
    // F = 1 + 2^-23 (odd significand); p = 32769 * 32767 * 2^-54 = (2^30 - 1) * 2^-54
    //   = 2^-24 - 2^-54. Exact F + p = 1 + 3*2^-24 - 2^-54, just below the midpoint 1 + 3*2^-24
    // of 1 + 2^-23 and 1 + 2^-22 -> RNE = 1 + 2^-23. In binary64 (ulp 2^-52) the sum rounds onto
    // the midpoint, and ties-to-even then gives 1 + 2^-22.
    const float f0 = 1.0f + p2(-23), a1 = 32769.0f * p2(-27), b1 = 32767.0f * p2(-27);
    CHECK(fma_chain(f0, a1, b1) == 1.0f + p2(-23));
    CHECK(naive(f0, a1, b1) == 1.0f + p2(-22));  // the case does discriminate
    // Mirror image.
    CHECK(fma_chain(-f0, -a1, b1) == -(1.0f + p2(-23)));
  }
  SECTION("exact sum just above a midpoint, F even") {
    // 812825 * 1321 = 2^30 + 1 (2^30 + 1 = 5^2 * 13 * 41 * 61 * 1321). F = 1,
    // p = (2^30 + 1) * 2^-54 = 2^-24 + 2^-54: exact sum above the midpoint 1 + 2^-24 -> 1 + 2^-23.
    // Binary64 rounds to the midpoint and ties-to-even gives 1.
    const float a1 = 812825.0f * p2(-27), b1 = 1321.0f * p2(-27);
    CHECK(fma_chain(1.0f, a1, b1) == 1.0f + p2(-23));
    CHECK(naive(1.0f, a1, b1) == 1.0f);
  }
  SECTION("just below the overflow threshold") {
    // F = FLT_MAX = (2^24 - 1) * 2^104; p = 32769 * 2^36 * 32767 * 2^37 = 2^103 - 2^73.
    // Exact sum is below FLT_MAX + 2^103 (the midpoint towards 2^128) -> FLT_MAX, not inf.
    const float fmax = std::numeric_limits<float>::max();
    const float a1 = 32769.0f * p2(36), b1 = 32767.0f * p2(37);
    CHECK(fma_chain(fmax, a1, b1) == fmax);
    CHECK(std::isinf(naive(fmax, a1, b1)));
    // Exactly on the threshold: ties to even (2^128) -> inf.
    CHECK(std::isinf(fma_chain(fmax, p2(51), p2(52))));
  }
  SECTION("exact ties go to even") {
    CHECK(fma_chain(1.0f, p2(-12), p2(-12)) == 1.0f);                      // 1 + 2^-24 -> 1
    CHECK(fma_chain(1.0f + p2(-23), p2(-12), p2(-12)) == 1.0f + p2(-22));  // -> even 1 + 2^-22
  }
  SECTION("subnormal midpoint decided by the error term") {
    // F = 2^-149 (odd), p = (2^30 - 1) * 2^-180 = 2^-150 - 2^-180: exact below the midpoint
    // 1.5 * 2^-149 -> 2^-149; binary64 keeps 2^-150 - 2^-180 exactly here, so also check the
    // tie-breaking one: F = 2^-149, p = 2^-150 exactly -> tie -> even 2^-148.
    CHECK(fma_chain(p2(-149), 32769.0f * p2(-90), 32767.0f * p2(-90)) == p2(-149));
    CHECK(fma_chain(p2(-149), p2(-75), p2(-75)) == p2(-148));
  }
}

TEST_CASE("reference: float FMA cases in one wide GEMM", "[reference][float]") {
  // The cases above on the diagonal of a 5x2 x 2x5 GEMM (columns 0..3 and 4 take different loops
  // in the reference): row i = (F_i, a_i), column j = (1, b_j); C[i][i] is case i, and every
  // off-diagonal entry must equal the same computation done as a 1x1 problem.
  const float fmax = std::numeric_limits<float>::max();
  const std::vector<float> f0 = {1.0f + p2(-23), 1.0f, fmax, 1.0f + p2(-23), -(1.0f + p2(-23))};
  const std::vector<float> a1 = {32769.0f * p2(-27), 812825.0f * p2(-27), 32769.0f * p2(36),
                                 p2(-12), -32769.0f * p2(-27)};
  const std::vector<float> b1 = {32767.0f * p2(-27), 1321.0f * p2(-27), 32767.0f * p2(37), p2(-12),
                                 32767.0f * p2(-27)};
  const std::vector<float> diag = {1.0f + p2(-23), 1.0f + p2(-23), fmax, 1.0f + p2(-22),
                                   -(1.0f + p2(-23))};
  std::vector<float> av, bv(10);
  for (int i = 0; i < 5; ++i) {
    av.push_back(f0[i]);
    av.push_back(a1[i]);
    bv[0 * 5 + i] = 1.0f;
    bv[1 * 5 + i] = b1[i];
  }
  auto fp = fp32_format();
  QTensor a = make_q(fp, {5, 2}, float_codes(av));
  QTensor b = make_q(fp, {2, 5}, float_codes(bv));
  GemmResult r = run_reference(lower_gemm(a, b), {});
  for (int i = 0; i < 5; ++i) {
    CHECK(r.c[i * 5 + i] == diag[i]);
    for (int j = 0; j < 5; ++j)
      CHECK(fbits(r.c[i * 5 + j]) == fbits(fma_chain(f0[i], a1[i], b1[j])));
  }
}

TEST_CASE("reference: float family scales and NaN", "[reference][float]") {
  auto fp = fp32_format();
  // A = [1.5, 2], B = [3, -0.25]: F = 4.5 - 0.5 = 4.
  QTensor a = make_q(fp, {1, 2}, float_codes({1.5f, 2.0f}));
  QTensor b = make_q(fp, {2, 1}, float_codes({3.0f, -0.25f}));
  CHECK(run_reference(lower_gemm(a, b), {}).c[0] == 4.0f);
  // Tensor scales 2^-3 * 2^4: y = 4 * 2 = 8.
  a.tensor_scale = 0.125;
  b.tensor_scale = 16.0;
  CHECK(run_reference(lower_gemm(a, b), {}).c[0] == 8.0f);
  // 3 * 0.5 -> ts = 1.5: y = 6.
  a.tensor_scale = 3.0;
  b.tensor_scale = 0.5;
  CHECK(run_reference(lower_gemm(a, b), {}).c[0] == 6.0f);
  // Group scales are part of the element value (value = ts * gs * element): gs_a = 2 -> F = 8.
  a.tensor_scale = 1.0;
  b.tensor_scale = 1.0;
  a.group_scale = {2.0};
  CHECK(run_reference(lower_gemm(a, b), {}).c[0] == 8.0f);

  // inf * 0 and inf - inf give NaN: always the canonical quiet NaN 0x7FC00000.
  const float inf = std::numeric_limits<float>::infinity();
  QTensor x = make_q(fp, {2, 2}, float_codes({inf, 1.0f, inf, -inf}));
  QTensor y = make_q(fp, {2, 1}, float_codes({0.0f, 1.0f}));
  QTensor ones = make_q(fp, {2, 1}, float_codes({1.0f, 1.0f}));
  GemmResult r1 = run_reference(lower_gemm(x, y), {});
  CHECK(fbits(r1.c[0]) == 0x7FC00000u);  // inf * 0 + 1 * 1
  GemmResult r2 = run_reference(lower_gemm(x, ones), {});
  CHECK(fbits(r2.c[1]) == 0x7FC00000u);  // inf - inf
  CHECK(r2.c[0] == inf);                 // inf + 1
}

// ------------------------------------------------------------------------------------------------
// Convolution lowering.
namespace {

QTensor fp_tensor(Shape shape, const std::vector<float>& v, GroupMap g = {},
                  std::vector<double> gs = {1.0}) {
  return make_q(fp32_format(), std::move(shape), float_codes(v), std::move(g), std::move(gs));
}

Tensor run_conv(ConvPhase ph, const QTensor& first, const QTensor& second, const ConvGeometry& g) {
  GemmProblem p = lower_conv(ph, first, second, g);
  return conv_output(ph, run_reference(p, {}), g);
}

// Naive direct convolution in double (index formulas written out independently).
std::vector<double> naive_fwd(const std::vector<float>& x, const std::vector<float>& w,
                              const ConvGeometry& g) {
  std::vector<double> y(g.n * g.c_out * g.ho * g.wo, 0.0);
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t co = 0; co < g.c_out; ++co)
      for (int64_t oh = 0; oh < g.ho; ++oh)
        for (int64_t ow = 0; ow < g.wo; ++ow) {
          double acc = 0;
          for (int64_t ci = 0; ci < g.c_in; ++ci)
            for (int64_t r = 0; r < g.r; ++r)
              for (int64_t s = 0; s < g.s; ++s) {
                const int64_t ih = oh * g.stride + r - g.pad, iw = ow * g.stride + s - g.pad;
                if (ih < 0 || iw < 0 || ih >= g.h || iw >= g.w) continue;
                acc += double(x[((n * g.c_in + ci) * g.h + ih) * g.w + iw]) *
                       double(w[((co * g.c_in + ci) * g.r + r) * g.s + s]);
              }
          y[((n * g.c_out + co) * g.ho + oh) * g.wo + ow] = acc;
        }
  return y;
}

// Transposed convolution: scatter every e element through the kernel.
std::vector<double> naive_dgrad(const std::vector<float>& e, const std::vector<float>& w,
                                const ConvGeometry& g) {
  std::vector<double> dx(g.n * g.c_in * g.h * g.w, 0.0);
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t co = 0; co < g.c_out; ++co)
      for (int64_t oh = 0; oh < g.ho; ++oh)
        for (int64_t ow = 0; ow < g.wo; ++ow)
          for (int64_t ci = 0; ci < g.c_in; ++ci)
            for (int64_t r = 0; r < g.r; ++r)
              for (int64_t s = 0; s < g.s; ++s) {
                const int64_t ih = oh * g.stride + r - g.pad, iw = ow * g.stride + s - g.pad;
                if (ih < 0 || iw < 0 || ih >= g.h || iw >= g.w) continue;
                dx[((n * g.c_in + ci) * g.h + ih) * g.w + iw] +=
                    double(e[((n * g.c_out + co) * g.ho + oh) * g.wo + ow]) *
                    double(w[((co * g.c_in + ci) * g.r + r) * g.s + s]);
              }
  return dx;
}

std::vector<double> naive_wgrad(const std::vector<float>& x, const std::vector<float>& e,
                                const ConvGeometry& g) {
  std::vector<double> dw(g.c_out * g.c_in * g.r * g.s, 0.0);
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t co = 0; co < g.c_out; ++co)
      for (int64_t oh = 0; oh < g.ho; ++oh)
        for (int64_t ow = 0; ow < g.wo; ++ow)
          for (int64_t ci = 0; ci < g.c_in; ++ci)
            for (int64_t r = 0; r < g.r; ++r)
              for (int64_t s = 0; s < g.s; ++s) {
                const int64_t ih = oh * g.stride + r - g.pad, iw = ow * g.stride + s - g.pad;
                if (ih < 0 || iw < 0 || ih >= g.h || iw >= g.w) continue;
                dw[((co * g.c_in + ci) * g.r + r) * g.s + s] +=
                    double(e[((n * g.c_out + co) * g.ho + oh) * g.wo + ow]) *
                    double(x[((n * g.c_in + ci) * g.h + ih) * g.w + iw]);
              }
  return dw;
}

std::vector<double> as_double(const Tensor& t) { return {t.data.begin(), t.data.end()}; }

const std::vector<float> kX33 = {1, 2, 3, 4, 5, 6, 7, 8, 9};  // x[h][w] = 3h + w + 1
const std::vector<float> kW22 = {1, 0, -1, 2};                // w = [[1, 0], [-1, 2]]
const std::vector<float> kE22 = {1, 2, 3, 4};                 // e = [[1, 2], [3, 4]]

}  // namespace

TEST_CASE("conv: 3x3 input, 2x2 kernel, stride 1, pad 0", "[reference][conv]") {
  ConvGeometry g = make_conv_geometry({1, 1, 3, 3}, {1, 1, 2, 2}, 1, 0);
  CHECK(g.ho == 2);
  CHECK(g.wo == 2);
  QTensor x = fp_tensor({1, 1, 3, 3}, kX33), w = fp_tensor({1, 1, 2, 2}, kW22);
  QTensor e = fp_tensor({1, 1, 2, 2}, kE22);

  // fwd: y[i][j] = x[i][j] - x[i+1][j] + 2 x[i+1][j+1]:
  //   y00 = 1 - 4 + 10 = 7, y01 = 2 - 5 + 12 = 9, y10 = 4 - 7 + 16 = 13, y11 = 5 - 8 + 18 = 15.
  GemmProblem pf = lower_conv(ConvPhase::kFwd, x, w, g);
  CHECK(pf.m == 4);
  CHECK(pf.k == 4);
  CHECK(pf.n == 1);
  CHECK(pf.a.codes == float_codes({1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9}));
  Tensor y = conv_output(ConvPhase::kFwd, run_reference(pf, {}), g);
  CHECK(y.shape == Shape{1, 1, 2, 2});
  CHECK(y.data == std::vector<float>{7, 9, 13, 15});

  // dgrad (full correlation with the kernel): dx00 = e00 w00 = 1; dx01 = e00 w01 + e01 w00 = 2;
  //   dx02 = e01 w01 = 0; dx10 = e00 w10 + e10 w00 = -1 + 3 = 2;
  //   dx11 = e00 w11 + e01 w10 + e10 w01 + e11 w00 = 2 - 2 + 0 + 4 = 4; dx12 = e01 w11 + e11 w01
  //   = 4; dx20 = e10 w10 = -3; dx21 = e10 w11 + e11 w10 = 6 - 4 = 2; dx22 = e11 w11 = 8.
  GemmProblem pd = lower_conv(ConvPhase::kDgrad, e, w, g);
  CHECK(pd.m == 4);
  CHECK(pd.k == 1);
  CHECK(pd.n == 4);
  Tensor dx = conv_output(ConvPhase::kDgrad, run_reference(pd, {}), g);
  CHECK(dx.shape == Shape{1, 1, 3, 3});
  CHECK(dx.data == std::vector<float>{1, 2, 0, 2, 4, 4, -3, 2, 8});

  // wgrad: dw[r][s] = sum e[i][j] x[i+r][j+s]: dw00 = 1 + 4 + 12 + 20 = 37,
  //   dw01 = 2 + 6 + 15 + 24 = 47, dw10 = 4 + 10 + 21 + 32 = 67, dw11 = 5 + 12 + 24 + 36 = 77.
  GemmProblem pw = lower_conv(ConvPhase::kWgrad, x, e, g);
  CHECK(pw.m == 4);
  CHECK(pw.k == 4);
  CHECK(pw.n == 1);
  Tensor dw = conv_output(ConvPhase::kWgrad, run_reference(pw, {}), g);
  CHECK(dw.shape == Shape{1, 1, 2, 2});
  CHECK(dw.data == std::vector<float>{37, 47, 67, 77});

  CHECK(as_double(y) == naive_fwd(kX33, kW22, g));
  CHECK(as_double(dx) == naive_dgrad(kE22, kW22, g));
  CHECK(as_double(dw) == naive_wgrad(kX33, kE22, g));
}

TEST_CASE("conv: 3x3 input, 2x2 kernel, stride 2, pad 1", "[reference][conv]") {
  // ho = (3 + 2 - 2) / 2 + 1 = 2. Output row oh reads input rows 2 oh - 1 + r: {-1, 0}, {1, 2}.
  ConvGeometry g = make_conv_geometry({1, 1, 3, 3}, {1, 1, 2, 2}, 2, 1);
  CHECK(g.ho == 2);
  CHECK(g.wo == 2);
  QTensor x = fp_tensor({1, 1, 3, 3}, kX33), w = fp_tensor({1, 1, 2, 2}, kW22);
  QTensor e = fp_tensor({1, 1, 2, 2}, kE22);

  // y00 = x00 w11 = 2; y01 = x01 w10 + x02 w11 = -2 + 6 = 4; y10 = x20 w11 = 14;
  // y11 = x11 w00 + x12 w01 + x21 w10 + x22 w11 = 5 + 0 - 8 + 18 = 15.
  GemmProblem pf = lower_conv(ConvPhase::kFwd, x, w, g);
  // Row 0 of im2col (oh = ow = 0): three padding elements, then x00.
  CHECK(std::vector<uint32_t>(pf.a.codes.begin(), pf.a.codes.begin() + 4) ==
        float_codes({0, 0, 0, 1}));
  CHECK(I(pf.a.group.begin(), pf.a.group.begin() + 4) == I{-1, -1, -1, 0});
  Tensor y = conv_output(ConvPhase::kFwd, run_reference(pf, {}), g);
  CHECK(y.data == std::vector<float>{2, 4, 14, 15});

  // dgrad: input row h is reached from (oh, r) = h0:(0,1), h1:(1,0), h2:(1,1), likewise columns;
  //   one term each: dx = [[e00 w11, e01 w10, e01 w11], [e10 w01, e11 w00, e11 w01],
  //                        [e10 w11, e11 w10, e11 w11]] = [[2, -2, 4], [0, 4, 0], [6, -4, 8]].
  Tensor dx = run_conv(ConvPhase::kDgrad, e, w, g);
  CHECK(dx.data == std::vector<float>{2, -2, 4, 0, 4, 0, 6, -4, 8});

  // wgrad: dw[r][s] = sum e[oh][ow] x[2 oh - 1 + r][2 ow - 1 + s]:
  //   dw00 = e11 x11 = 20; dw01 = e10 x10 + e11 x12 = 12 + 24 = 36;
  //   dw10 = e01 x01 + e11 x21 = 4 + 32 = 36; dw11 = e00 x00 + e01 x02 + e10 x20 + e11 x22
  //   = 1 + 6 + 21 + 36 = 64.
  Tensor dw = run_conv(ConvPhase::kWgrad, x, e, g);
  CHECK(dw.data == std::vector<float>{20, 36, 36, 64});

  CHECK(as_double(y) == naive_fwd(kX33, kW22, g));
  CHECK(as_double(dx) == naive_dgrad(kE22, kW22, g));
  CHECK(as_double(dw) == naive_wgrad(kX33, kE22, g));
}

TEST_CASE("conv: multi-channel batch against naive loops, adjoint identity", "[reference][conv]") {
  // N=2, C_in=2, C_out=3, 4x5 input, 3x2 kernel, stride 2, pad 1: ho = (4+2-3)/2+1 = 2,
  // wo = (5+2-2)/2+1 = 3. Small integers keep every fp32 sum exact, so the results equal the
  // double loops exactly.
  const std::vector<std::pair<int64_t, int64_t>> cases = {{2, 1}, {1, 0}, {1, 2}, {3, 1}};
  for (const auto& [stride, pad] : cases) {
    ConvGeometry g = make_conv_geometry({2, 2, 4, 5}, {3, 2, 3, 2}, stride, pad);
    uint64_t st = 99 + stride * 7 + pad;
    auto small = [&] {
      st = st * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<float>(static_cast<int64_t>((st >> 33) % 9) - 4);
    };
    std::vector<float> xv(2 * 2 * 4 * 5), wv(3 * 2 * 3 * 2), ev(2 * 3 * g.ho * g.wo);
    for (auto& v : xv) v = small();
    for (auto& v : wv) v = small();
    for (auto& v : ev) v = small();
    QTensor x = fp_tensor({2, 2, 4, 5}, xv), w = fp_tensor({3, 2, 3, 2}, wv);
    QTensor e = fp_tensor({2, 3, g.ho, g.wo}, ev);
    Tensor y = run_conv(ConvPhase::kFwd, x, w, g);
    Tensor dx = run_conv(ConvPhase::kDgrad, e, w, g);
    Tensor dw = run_conv(ConvPhase::kWgrad, x, e, g);
    CHECK(y.shape == Shape{2, 3, g.ho, g.wo});
    CHECK(dx.shape == Shape{2, 2, 4, 5});
    CHECK(dw.shape == Shape{3, 2, 3, 2});
    CHECK(as_double(y) == naive_fwd(xv, wv, g));
    CHECK(as_double(dx) == naive_dgrad(ev, wv, g));
    CHECK(as_double(dw) == naive_wgrad(xv, ev, g));
    // dgrad is the adjoint of fwd: <e, fwd(x)> = <dgrad(e), x>; wgrad: <e, fwd(x)> = <dw, w>.
    double lhs = 0, rhs = 0, rhs_w = 0;
    for (size_t i = 0; i < ev.size(); ++i) lhs += double(ev[i]) * y.data[i];
    for (size_t i = 0; i < xv.size(); ++i) rhs += double(dx.data[i]) * xv[i];
    for (size_t i = 0; i < wv.size(); ++i) rhs_w += double(dw.data[i]) * wv[i];
    CHECK(lhs == rhs);
    CHECK(lhs == rhs_w);
  }
}

TEST_CASE("conv: dgrad col2im adds in ascending (r, s) with fp32 rounding", "[reference][conv]") {
  // 1x5 input, 1x3 kernel w = [2^24, 1, 1], stride 1: wo = 3, e = [1, 1, 1].
  // dx[2] collects (s=0, ow=2), (s=1, ow=1), (s=2, ow=0) = 2^24, 1, 1 in that order:
  //   RNE(2^24 + 1) = 2^24 (tie to even), then again 2^24 (the reverse order would give 2^24 + 2).
  // dx[0] = 2^24, dx[1] = RNE(2^24 + 1) = 2^24, dx[3] = 1 + 1 = 2, dx[4] = 1.
  ConvGeometry g = make_conv_geometry({1, 1, 1, 5}, {1, 1, 1, 3}, 1, 0);
  QTensor w = fp_tensor({1, 1, 1, 3}, {p2(24), 1, 1});
  QTensor e = fp_tensor({1, 1, 1, 3}, {1, 1, 1});
  Tensor dx = run_conv(ConvPhase::kDgrad, e, w, g);
  CHECK(dx.data == std::vector<float>{p2(24), p2(24), p2(24), 2, 1});
  // NaN from inf - inf in col2im is canonical too.
  const float inf = std::numeric_limits<float>::infinity();
  // dcol is (ow) x (s), 3 x 3; dx[1] adds dcol[ow=1][s=0] = inf, then dcol[ow=0][s=1] = -inf.
  GemmResult fake;
  fake.c = std::vector<float>(9, 0.0f);
  fake.c[1 * 3 + 0] = inf;
  fake.c[0 * 3 + 1] = -inf;
  Tensor dn = conv_output(ConvPhase::kDgrad, fake, g);
  CHECK(fbits(dn.data[1]) == 0x7FC00000u);
}

TEST_CASE("conv: per-channel groups give one K segment per input channel", "[reference][conv]") {
  // fwd K = (ci, r, s) = 2 * 2 * 2; x grouped per channel -> segments break at ci = 1 (k = 4),
  // also with padding in the rows.
  auto i8 = int_format(8);
  ConvGeometry g = make_conv_geometry({1, 2, 3, 3}, {1, 2, 2, 2}, 2, 1);
  QTensor x = make_q(i8, {1, 2, 3, 3}, std::vector<uint32_t>(18, 1),
                     GroupMap::per_axis({1, 2, 3, 3}, 1), {1.0, 1.0});
  QTensor w = make_q(i8, {1, 2, 2, 2}, std::vector<uint32_t>(8, 1));
  GemmProblem p = lower_conv(ConvPhase::kFwd, x, w, g);
  CHECK(p.k_segment == I{0, 0, 0, 0, 1, 1, 1, 1});
  // Row 0 (oh = ow = 0) only sees x[.][0][0] in each channel: groups 0 and 1.
  CHECK(p.a_seg_group[0] == 0);
  CHECK(p.a_seg_group[1] == 1);
  // Sum of ones over the in-bounds taps: row (1, 1) sees 4 taps per channel -> 8.
  GemmResult r = run_reference(p, {});
  CHECK(r.c == std::vector<float>{2, 4, 4, 8});
}

TEST_CASE("conv: transposed dgrad lowering equals the naive backward convolution",
          "[reference][conv]") {
  // The 3x3 / 2x2 hand case of above, lowered directly: M = (n,h,w) = 9, K = (co,r,s) = 4,
  // N = ci = 1; row (h, w) = (1, 1) takes e[1-r][1-s]: k = (r,s) = 00 -> e11, 01 -> e10,
  // 10 -> e01, 11 -> e00.
  ConvGeometry g = make_conv_geometry({1, 1, 3, 3}, {1, 1, 2, 2}, 1, 0);
  QTensor w = fp_tensor({1, 1, 2, 2}, kW22), e = fp_tensor({1, 1, 2, 2}, kE22);
  const auto tr = DgradLowering::kTransposed;
  GemmProblem p = lower_conv(ConvPhase::kDgrad, e, w, g, tr);
  CHECK(p.m == 9);
  CHECK(p.k == 4);
  CHECK(p.n == 1);
  const auto shape = conv_gemm_shape(ConvPhase::kDgrad, g, tr);
  CHECK((shape.m == 9 && shape.n == 1 && shape.k == 4));
  CHECK(std::vector<uint32_t>(p.a.codes.begin() + 4 * 4, p.a.codes.begin() + 5 * 4) ==
        float_codes({4, 3, 2, 1}));
  Tensor dx = conv_output(ConvPhase::kDgrad, run_reference(p, {}), g, tr);
  CHECK(dx.shape == Shape{1, 1, 3, 3});
  CHECK(dx.data == std::vector<float>{1, 2, 0, 2, 4, 4, -3, 2, 8});
  // Multi-channel, strided and padded: equal to the naive scatter loops.
  for (const auto& [stride, pad] :
       std::vector<std::pair<int64_t, int64_t>>{{2, 1}, {1, 0}, {1, 2}, {3, 1}}) {
    ConvGeometry gg = make_conv_geometry({2, 2, 4, 5}, {3, 2, 3, 2}, stride, pad);
    std::vector<float> wv(3 * 2 * 3 * 2), ev(2 * 3 * gg.ho * gg.wo);
    for (size_t i = 0; i < wv.size(); ++i) wv[i] = static_cast<float>(int(i * 7 % 9) - 4);
    for (size_t i = 0; i < ev.size(); ++i) ev[i] = static_cast<float>(int(i * 5 % 7) - 3);
    QTensor ww = fp_tensor({3, 2, 3, 2}, wv), ee = fp_tensor({2, 3, gg.ho, gg.wo}, ev);
    GemmProblem pd = lower_conv(ConvPhase::kDgrad, ee, ww, gg, tr);
    CHECK(pd.m == 2 * 4 * 5);
    CHECK(pd.k == 3 * 3 * 2);
    Tensor d = conv_output(ConvPhase::kDgrad, run_reference(pd, {}), gg, tr);
    CHECK(d.shape == Shape{2, 2, 4, 5});
    CHECK(as_double(d) == naive_dgrad(ev, wv, gg));
  }
}

TEST_CASE("conv: K segments of each lowering, counted without building the operands",
          "[reference][conv]") {
  // (n,c) groups on both operands: fwd segments = c_in (R*S long), dgrad im2col = c_out (1 long),
  // dgrad transposed = c_out (R*S long), wgrad = n (Ho*Wo long).
  auto i8 = int_format(8);
  struct Case {
    Shape x, w;
    int64_t stride, pad;
  };
  const std::vector<Case> cases = {{{2, 3, 5, 5}, {4, 3, 3, 3}, 1, 1},
                                   {{2, 2, 6, 5}, {3, 2, 3, 3}, 2, 1},
                                   {{3, 4, 4, 4}, {2, 4, 1, 1}, 2, 0},
                                   {{1, 2, 3, 3}, {2, 2, 2, 2}, 1, 0},
                                   // wgrad of a larger batch: one sample counted, times n
                                   {{5, 2, 4, 4}, {3, 2, 3, 3}, 2, 1}};
  for (const Case& c : cases) {
    const ConvGeometry g = make_conv_geometry(c.x, c.w, c.stride, c.pad);
    const Shape es{g.n, g.c_out, g.ho, g.wo};
    auto nc = [](const Shape& s) { return GroupMap{s, Shape{1, 1, s[2], s[3]}}; };
    auto spatial = [](const Shape& s) { return GroupMap{s, Shape{1, 1, 2, 1}}; };  // odd blocks
    for (int map = 0; map < 4; ++map) {
      auto gm = [&](const Shape& s) {
        return map == 0   ? nc(s)
               : map == 1 ? GroupMap::per_tensor(s)
               : map == 2 ? GroupMap::per_axis(s, 0)
                          : spatial(s);
      };
      auto q = [&](const Shape& s) {
        const GroupMap m = gm(s);
        return make_q(i8, s, std::vector<uint32_t>(numel(s), 1), m,
                      std::vector<double>(m.num_groups(), 1.0));
      };
      const QTensor x = q(c.x), w = q(c.w), e = q(es);
      for (DgradLowering l : {DgradLowering::kIm2col, DgradLowering::kTransposed}) {
        const GemmProblem pf = lower_conv(ConvPhase::kFwd, x, w, g, l);
        const GemmProblem pd = lower_conv(ConvPhase::kDgrad, e, w, g, l);
        const GemmProblem pw = lower_conv(ConvPhase::kWgrad, x, e, g, l);
        // Every row and column (sample large enough) gives exactly the contract's count.
        CHECK(conv_k_segments(ConvPhase::kFwd, g, x.groups, w.groups, l, 1 << 20) ==
              pf.num_segments);
        CHECK(conv_k_segments(ConvPhase::kDgrad, g, e.groups, w.groups, l, 1 << 20) ==
              pd.num_segments);
        CHECK(conv_k_segments(ConvPhase::kWgrad, g, x.groups, e.groups, l, 1 << 20) ==
              pw.num_segments);
        if (map == 0) {
          // Row-independent groups: a two-row sample is exact too.
          CHECK(conv_k_segments(ConvPhase::kFwd, g, x.groups, w.groups, l, 2) == g.c_in);
          CHECK(conv_k_segments(ConvPhase::kWgrad, g, x.groups, e.groups, l, 2) == g.n);
          CHECK(pf.num_segments == g.c_in);
          CHECK(pw.num_segments == g.n);
          CHECK(pd.num_segments == g.c_out);
          CHECK(pd.k == (l == DgradLowering::kIm2col ? g.c_out : g.c_out * g.r * g.s));
        }
      }
    }
  }
}

TEST_CASE("conv: lower_conv_sampled is sub_problem of lower_conv", "[reference][conv]") {
  // Odd spatial groups make the segmentation depend on which rows are kept, so re-segmenting the
  // sampled rows is checked too; codes differ per element so any misplaced element shows.
  auto i8 = int_format(8);
  const ConvGeometry g = make_conv_geometry({2, 3, 5, 5}, {4, 3, 3, 3}, 2, 1);
  const Shape es{g.n, g.c_out, g.ho, g.wo};
  auto q = [&](const Shape& s) {
    const GroupMap m{s, Shape{1, 1, 2, 1}};
    std::vector<uint32_t> codes(static_cast<size_t>(numel(s)));
    for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<uint32_t>((i * 7) % 200);
    return make_q(i8, s, codes, m, std::vector<double>(m.num_groups(), 1.0));
  };
  const QTensor x = q({2, 3, 5, 5}), w = q({4, 3, 3, 3}), e = q(es);
  for (DgradLowering l : {DgradLowering::kIm2col, DgradLowering::kTransposed})
    for (ConvPhase ph : {ConvPhase::kFwd, ConvPhase::kDgrad, ConvPhase::kWgrad}) {
      const QTensor& first = ph == ConvPhase::kDgrad ? e : x;
      const QTensor& second = ph == ConvPhase::kWgrad ? e : w;
      const GemmProblem full = lower_conv(ph, first, second, g, l);
      const std::vector<int64_t> rows = {0, full.m / 3, full.m - 1}, cols = {1, full.n - 1};
      const GemmProblem want = sub_problem(full, rows, cols);
      const GemmProblem got = lower_conv_sampled(ph, first, second, g, l, rows, cols);
      INFO(conv_phase_name(ph) << " " << dgrad_lowering_name(l));
      CHECK(got.m == 3);
      CHECK(got.n == 2);
      CHECK(got.k == full.k);
      CHECK(got.a.codes == want.a.codes);
      CHECK(got.a.group == want.a.group);
      CHECK(got.b.codes == want.b.codes);
      CHECK(got.b.group == want.b.group);
      CHECK(got.k_segment == want.k_segment);
      CHECK(got.a_seg_group == want.a_seg_group);
      CHECK(got.b_seg_group == want.b_seg_group);
      // The sampled outputs are the full GEMM's at those rows and columns.
      const GemmResult rf = run_reference(full, AccumulatorSpec{}),
                       rs = run_reference(got, AccumulatorSpec{});
      for (size_t i = 0; i < rows.size(); ++i)
        for (size_t j = 0; j < cols.size(); ++j)
          CHECK(rs.c[i * cols.size() + j] == rf.c[static_cast<size_t>(rows[i] * full.n + cols[j])]);
    }
  CHECK_THROWS_AS(lower_conv_sampled(ConvPhase::kFwd, x, w, g, DgradLowering::kIm2col,
                                     {g.n * g.ho * g.wo}, {0}),
                  std::out_of_range);
}

TEST_CASE("conv: geometry and shape errors", "[reference][conv]") {
  CHECK_THAT(user_error_of([] {
               make_conv_geometry({1, 1, 3, 3}, {1, 1, 2, 2}, 0, 0);
             }),
             Contains("stride"));
  CHECK_THAT(user_error_of([] {
               make_conv_geometry({1, 1, 3, 3}, {1, 1, 2, 2}, 1, -1);
             }),
             Contains("pad"));
  CHECK_THAT(user_error_of([] {
               make_conv_geometry({1, 3, 3}, {1, 1, 2, 2}, 1, 0);
             }),
             Contains("rank 4"));
  CHECK_THAT(user_error_of([] {
               make_conv_geometry({1, 2, 3, 3}, {4, 1, 2, 2}, 1, 0);
             }),
             Contains("c_in"));
  CHECK_THAT(user_error_of([] {
               make_conv_geometry({1, 1, 2, 2}, {1, 1, 3, 3}, 1, 0);
             }),
             Contains("height"));
  CHECK_THAT(user_error_of([] {
               make_conv_geometry({1, 1, 3, 2}, {1, 1, 3, 3}, 1, 0);
             }),
             Contains("width"));
  CHECK_THROWS_AS(make_conv_geometry({0, 1, 3, 3}, {1, 1, 2, 2}, 1, 0), UserError);
  // Padding can make a kernel larger than the input fit: (2 + 2 - 3) / 1 + 1 = 2.
  ConvGeometry g = make_conv_geometry({1, 1, 2, 2}, {1, 1, 3, 3}, 1, 1);
  CHECK(g.ho == 2);
  CHECK(g.wo == 2);
  // floor: (5 + 0 - 2) / 2 + 1 = 2.
  CHECK(make_conv_geometry({1, 1, 5, 5}, {1, 1, 2, 2}, 2, 0).ho == 2);

  ConvGeometry g3 = make_conv_geometry({1, 1, 3, 3}, {1, 1, 2, 2}, 1, 0);
  QTensor x = fp_tensor({1, 1, 3, 3}, kX33), w = fp_tensor({1, 1, 2, 2}, kW22);
  QTensor e = fp_tensor({1, 1, 2, 2}, kE22);
  // fwd with x passed as the weight: "weight w must have shape (1, 1, 2, 2) ..., got (1, 1, 3, 3)".
  CHECK_THAT(user_error_of([&] { lower_conv(ConvPhase::kFwd, x, x, g3); }),
             Contains("weight") && Contains("(1, 1, 2, 2)") && Contains("(1, 1, 3, 3)"));
  CHECK_NOTHROW(lower_conv(ConvPhase::kFwd, x, w, g3));
  CHECK_NOTHROW(lower_conv(ConvPhase::kDgrad, e, w, g3));
}

TEST_CASE("conv: lower_conv shape checks and phase names", "[reference][conv]") {
  ConvGeometry g = make_conv_geometry({1, 1, 3, 3}, {2, 1, 2, 2}, 1, 0);
  QTensor x = fp_tensor({1, 1, 3, 3}, kX33);
  QTensor w = fp_tensor({2, 1, 2, 2}, std::vector<float>(8, 1));
  QTensor e_bad = fp_tensor({1, 1, 2, 2}, kE22);  // c_out should be 2
  CHECK_THAT(user_error_of([&] { lower_conv(ConvPhase::kDgrad, e_bad, w, g); }),
             Contains("dgrad") && Contains("(1, 2, 2, 2)") && Contains("(1, 1, 2, 2)"));
  CHECK_THROWS_AS(lower_conv(ConvPhase::kWgrad, x, e_bad, g), UserError);
  CHECK_THROWS_AS(lower_conv(ConvPhase::kFwd, e_bad, w, g), UserError);
  for (ConvPhase ph : {ConvPhase::kFwd, ConvPhase::kDgrad, ConvPhase::kWgrad})
    CHECK(parse_conv_phase(conv_phase_name(ph)) == ph);
  CHECK(std::string(conv_phase_name(ConvPhase::kDgrad)) == "dgrad");
  CHECK_THAT(user_error_of([] { parse_conv_phase("bwd"); }),
             Contains("'bwd'") && Contains("fwd, dgrad, wgrad"));
}
