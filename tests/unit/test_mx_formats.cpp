// OCP Microscaling (MX v1.0) formats and NVFP4 (models/numerics/impl/mx_formats.cpp) and the mx
// MAC family (models/mac/families/mx_family.cpp). Every expected code and value is derived by
// hand from the spec's definitions in the comments: shared scale X = 2^(floor(log2 amax) -
// emax_elem), elements RNE with saturation to the largest normal, subnormal elements, all-zero
// blocks, blocks whose max is a power of two, K not a multiple of the block.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "models/arch/arch_loader.h"
#include "models/arch/pe_array_types.h"
#include "models/core/error.h"
#include "models/energy/actions.h"
#include "models/mac/datapath_gemm.h"
#include "models/mac/i_mac_family.h"
#include "models/numerics/gemm_problem.h"
#include "models/numerics/random_tensor.h"
#include "models/reference/reference_gemm.h"
#include "models/sim_plan/sim_plan.h"

using namespace lbsim;
using Catch::Matchers::Contains;

namespace {

FormatPtr fmt_of(const std::string& spec) { return make_format(spec, SourceLoc{"test"}); }

QTensor quant(const std::string& spec, const Shape& shape, const std::vector<float>& data,
              int axis = -1) {
  QuantContext ctx;
  ctx.reduction_axis = axis;
  return fmt_of(spec)->quantize(Tensor{shape, data}, ctx);
}

// The E8M0 exponent of group g: group_scale = X * 2^shift (shift = Emax_mls - bias, or -6).
int shared_exp(const QTensor& q, int64_t g, int shift) {
  return std::ilogb(q.group_scale[static_cast<size_t>(g)]) - shift;
}

std::string user_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("MX formats: names, element kinds, family") {
  struct Row {
    std::string spec;
    ElementKind kind;
    int code_bits, exp_bits, man_bits;
  };
  for (const Row& r :
       {Row{"mxfp8_e4m3", ElementKind::kMls, 8, 4, 3},
        Row{"mxfp8_e5m2", ElementKind::kMls, 8, 5, 2},
        Row{"mxfp6_e3m2", ElementKind::kMls, 6, 3, 2},
        Row{"mxfp6_e2m3", ElementKind::kMls, 6, 2, 3}, Row{"mxfp4", ElementKind::kMls, 4, 2, 1},
        Row{"mxint8", ElementKind::kInt, 8, 0, 0}, Row{"nvfp4", ElementKind::kMls, 4, 2, 1}}) {
    INFO(r.spec);
    const auto format = fmt_of(r.spec);  // keeps the format alive while `i` refers to it
    const FormatInfo& i = format->info();
    CHECK(i.name == r.spec);
    CHECK(i.kind == r.kind);
    CHECK(i.code_bits == r.code_bits);
    CHECK(i.exp_bits == r.exp_bits);
    CHECK(i.man_bits == r.man_bits);
    CHECK(i.mac_family == "mx");
    CHECK(i.scale_bits() == 8);  // E8M0 / E4M3 block scales
    CHECK(&mac_family_of(i) == find_mac_family("mx"));
  }
  CHECK(fmt_of("mxfp4:block=16")->info().name == "mxfp4:block=16");
  CHECK(fmt_of("mx:element=mxfp6_e2m3")->info().name == "mxfp6_e2m3");
  CHECK_THAT(user_error_of([] { fmt_of("mxfp4:block=0"); }), Contains("block"));
  CHECK_THAT(user_error_of([] { fmt_of("mx:element=e9m9"); }), Contains("mxfp8_e4m3"));
}

TEST_CASE("MXFP8 E4M3: scale selection, power-of-two max, saturation, subnormals") {
  // Block 1 (amax 4 = 2^2, a power of two): X = 2^(2 - 8) = 2^-6; 4 / X = 256 = 2^8: f = 15,
  // m = 0 -> 0x78. 3 / X = 192 = 1.5 * 2^7: f = 14, m = 4 -> 0x74. -0.25 / X = -16: f = 11 ->
  // 0xD8.
  QTensor q = quant("mxfp8_e4m3", {4}, {4.0f, 3.0f, -0.25f, 0.0f});
  REQUIRE(q.group_scale.size() == 1);
  CHECK(shared_exp(q, 0, 8) == -6);
  CHECK(q.codes == std::vector<uint32_t>{0x78, 0x74, 0xD8, 0x00});
  CHECK(q.values() == std::vector<double>{4.0, 3.0, -0.25, 0.0});
  // amax 1.999: X = 2^(0 - 8); 1.999 * 256 = 511.7 > 448: saturates to 448 = 0x7E (never the
  // NaN code 0x7F); 1.0 * 256 = 256 -> 0x78.
  q = quant("mxfp8_e4m3", {2}, {1.999f, -1.0f});
  CHECK(shared_exp(q, 0, 8) == -8);
  CHECK(q.codes == std::vector<uint32_t>{0x7E, 0xF8});
  CHECK(q.value(0) == 448.0 / 256.0);
  // amax 256: X = 2^0. Subnormals (step 2^-9): 2^-9 -> 0x01; 2^-10 ties 0 and 2^-9 -> even 0;
  // 3 * 2^-10 = 1.5 steps ties codes 1 and 2 -> even 0x02; 2^-6 = 8 steps = 2^-6 normal f=1 m=0.
  q = quant("mxfp8_e4m3", {5},
            {256.0f, std::ldexp(1.0f, -9), std::ldexp(1.0f, -10), 3 * std::ldexp(1.0f, -10),
             std::ldexp(1.0f, -6)});
  CHECK(shared_exp(q, 0, 8) == 0);
  CHECK(q.codes == std::vector<uint32_t>{0x78, 0x01, 0x00, 0x02, 0x08});
}

TEST_CASE("MXFP4 E2M1 and MXFP6: the element grid, ties to even, saturation") {
  // E2M1 values 0, 0.5, 1, 1.5, 2, 3, 4, 6. amax 4 -> X = 2^(2 - 2) = 1.
  // 2.5 ties 2 (0b0100) / 3 (0b0101) -> 2; 5 ties 4 (0b0110) / 6 (0b0111) -> 4; 0.25 ties 0 / 0.5
  // -> 0; 0.75 ties 0.5 (0b0001, subnormal) / 1 (0b0010) -> 1; -0.5 -> 0b1001.
  QTensor q = quant("mxfp4", {6}, {4.0f, 2.5f, 5.0f, 0.25f, 0.75f, -0.5f});
  CHECK(shared_exp(q, 0, 2) == 0);
  CHECK(q.codes == std::vector<uint32_t>{0x6, 0x4, 0x6, 0x0, 0x2, 0x9});
  CHECK(q.values() == std::vector<double>{4.0, 2.0, 4.0, 0.0, 1.0, -0.5});
  // amax 7.9: X = 2^(2 - 2) = 1, 7.9 > 6 saturates to 6 (0b0111).
  q = quant("mxfp4", {2}, {7.9f, -7.0f});
  CHECK(q.codes == std::vector<uint32_t>{0x7, 0xF});
  CHECK(q.values() == std::vector<double>{6.0, -6.0});
  // E3M2 (max 28 = 1.75 * 2^4, emax 4): amax 20 -> X = 2^(4 - 4) = 1; 20 = 1.25 * 2^4: f = 7,
  // m = 1 -> 0b011101 = 0x1D; 0.0625 = 2^-4 = 1 subnormal step (2^(1-3-2)) -> 0x01.
  q = quant("mxfp6_e3m2", {2}, {20.0f, 0.0625f});
  CHECK(shared_exp(q, 0, 4) == 0);
  CHECK(q.codes == std::vector<uint32_t>{0x1D, 0x01});
  // E2M3 (max 7.5, emax 2): amax 0.3 -> X = 2^(-2 - 2) = 2^-4; 0.3 * 16 = 4.8 (fp32 0.3 ->
  // 4.80000019) = 1.2 * 2^2: step 0.5 -> 5.0 = 1.25 * 4: f = 3, m = 2 -> 0b011010 = 0x1A.
  q = quant("mxfp6_e2m3", {1}, {0.3f});
  CHECK(shared_exp(q, 0, 2) == -4);
  CHECK(q.codes == std::vector<uint32_t>{0x1A});
  CHECK(q.value(0) == 5.0 / 16.0);
}

TEST_CASE("MXINT8: X = 2^floor(log2 amax), int8 x 2^-6, symmetric saturation") {
  // amax 1: X = 1; 1 * 64 = 64 (0x40); -0.5 -> -32 (0xE0); 0.7f * 64 = 44.8 -> 45 (0x2D).
  QTensor q = quant("mxint8", {3}, {1.0f, -0.5f, 0.7f});
  CHECK(shared_exp(q, 0, -6) == 0);
  CHECK(q.codes == std::vector<uint32_t>{0x40, 0xE0, 0x2D});
  CHECK(q.value(2) == 45.0 / 64.0);
  // amax 1.999: X = 1; 127.9 and -127.9 saturate to +-127 (0x7F, 0x81).
  q = quant("mxint8", {2}, {1.999f, -1.999f});
  CHECK(q.codes == std::vector<uint32_t>{0x7F, 0x81});
}

TEST_CASE("MX blocks: 32 along the reduction axis, K not a multiple, all-zero blocks") {
  // A 2 x 40 tensor, blocks along axis 1: row 0 = blocks [0, 32), [32, 40); row 1 likewise.
  std::vector<float> d(80, 0.0f);
  d[0] = 1.0f;   // row 0 block 0: amax 1 -> X = 2^-8
  d[35] = 0.5f;  // row 0 block 1 (8 elements): amax 0.5 -> X = 2^-9
  // row 1: all zero -> both blocks X = 2^-127 (the smallest E8M0 scale), codes 0.
  QTensor q = quant("mxfp8_e4m3", {2, 40}, d, 1);
  REQUIRE(q.groups.num_groups() == 4);
  CHECK(q.groups.group_of(31) == 0);
  CHECK(q.groups.group_of(32) == 1);
  CHECK(q.groups.group_of(40) == 2);
  CHECK(shared_exp(q, 0, 8) == -8);
  CHECK(shared_exp(q, 1, 8) == -9);
  CHECK(shared_exp(q, 2, 8) == -127);
  CHECK(shared_exp(q, 3, 8) == -127);
  CHECK(q.codes[0] == 0x78);
  CHECK(q.codes[35] == 0x78);
  for (int i = 40; i < 80; ++i) CHECK(q.codes[i] == 0);
  CHECK(q.values()[35] == 0.5);
}

TEST_CASE("NVFP4: fp32 tensor scale, E4M3 block scales of 16, E2M1 elements") {
  // amax 2688 = 6 * 448: s_t = 2688 / 2688 = 1. Block 0 (amax 2688): s_b = 448, 2688 / 448 = 6 ->
  // 0b0111. Block 1 (amax 12): s_b = 2: 12 / 2 = 6 -> 0b0111, 5 / 2 = 2.5 ties -> 2 (0b0100),
  // 1 / 2 = 0.5 subnormal (0b0001). Block 2 (amax 7): s_b = RNE_E4M3(7 / 6 = 1.1667) = 1.125;
  // 7 / 1.125 = 6.22 saturates to 6.
  std::vector<float> d(48, 0.0f);
  d[0] = 2688.0f;
  d[16] = 12.0f;
  d[17] = 5.0f;
  d[18] = -1.0f;
  d[32] = 7.0f;
  QTensor q = quant("nvfp4", {48}, d);
  CHECK(q.tensor_scale == 1.0);
  REQUIRE(q.group_scale.size() == 3);
  CHECK(q.group_scale[0] == 4 * 448.0);
  CHECK(q.group_scale[1] == 4 * 2.0);
  CHECK(q.group_scale[2] == 4 * 1.125);
  CHECK(q.codes[0] == 0x7);
  CHECK(q.codes[16] == 0x7);
  CHECK(q.codes[17] == 0x4);
  CHECK(q.codes[18] == 0x9);
  CHECK(q.codes[32] == 0x7);
  CHECK(q.value(16) == 12.0);
  CHECK(q.value(17) == 4.0);
  CHECK(q.value(32) == 6.75);
  // A tensor amax that is not 2688: s_t = RNE_fp32(1 / 2688).
  q = quant("nvfp4", {2}, {1.0f, 0.5f});
  CHECK(q.tensor_scale == static_cast<double>(1.0f / 2688.0f));
}

TEST_CASE("mx GEMM: block sums exact, block results in fp32; datapath == reference") {
  // K = 33 with blocks of 32: A = [1 x 32, 3], B = ones: block 0 sums to 32, block 1 to 3.
  std::vector<float> a(33, 1.0f), b(33, 1.0f);
  a[32] = 3.0f;
  const QTensor qa = quant("mxfp8_e4m3", {1, 33}, a, 1);
  const QTensor qb = quant("mxfp8_e4m3", {33, 1}, b, 0);
  const GemmProblem p = lower_gemm(qa, qb);
  CHECK(p.num_segments == 2);
  const AccumulatorSpec acc = find_mac_family("mx")->default_accumulator();
  CHECK(acc.acc_bits == 64);
  CHECK(run_datapath(p, acc).c[0] == 35.0f);
  CHECK(run_reference(p, acc).c[0] == 35.0f);
  // Families must agree: an MX format with a format of another family is an error.
  CHECK_THAT(user_error_of([&] { mac_family_for(qa.format->info(), fmt_of("int8")->info()); }),
             Contains("cannot share a MAC array"));
  CHECK(&mac_family_for(fmt_of("mxint8")->info(), fmt_of("mxfp4")->info()) ==
        find_mac_family("mx"));
}

TEST_CASE("mx GEMMs on random data: datapath == reference bit for bit, every element type") {
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"mxfp8_e4m3", "mxfp8_e4m3"}, {"mxfp8_e5m2", "mxfp8_e4m3"}, {"mxfp8_e5m2", "mxfp8_e5m2"},
      {"mxfp6_e3m2", "mxfp6_e2m3"}, {"mxfp4", "mxfp4"},           {"mxint8", "mxint8"},
      {"mxint8", "mxfp4"},          {"nvfp4", "nvfp4"},           {"mxfp4:block=8", "mxfp4"}};
  for (const auto& [fa, fb] : pairs) {
    INFO(fa << " x " << fb);
    QuantContext ca, cb;
    ca.reduction_axis = 1;
    cb.reduction_axis = 0;
    const QTensor qa = fmt_of(fa)->quantize(random_normal({6, 70}, 3), ca);
    const QTensor qb = fmt_of(fb)->quantize(random_normal({70, 5}, 4, 100.0), cb);
    const GemmProblem p = lower_gemm(qa, qb);
    CHECK(p.num_segments >= 3);  // K = 70: blocks [0, 32), [32, 64), [64, 70) at least
    for (int bits : {64, 20}) {
      AccumulatorSpec acc;
      acc.acc_bits = bits;
      const GemmResult d = run_datapath(p, acc), r = run_reference(p, acc);
      CHECK(d.acc_overflows == r.acc_overflows);
      for (size_t i = 0; i < d.c.size(); ++i) {
        uint32_t x, y;
        std::memcpy(&x, &d.c[i], 4);
        std::memcpy(&y, &r.c[i], 4);
        CHECK(x == y);
      }
    }
  }
}

TEST_CASE("mx energy: element multiplier, block adder tree, scale add, fp32 accumulate") {
  // mxfp8_e4m3 x mxfp8_e4m3, m = 2, n = 3, k = 64: 384 MACs, 6 outputs, 2 blocks per output.
  // s = 4, x = 4: range = 15 + 15 = 30, shift stages ceil(log2 31) = 5; adder tree 4 + 4 + 30 +
  // log2 32 = 43 bits.
  OpWork w;
  w.kind = OpKind::kGemm;
  w.m = 2;
  w.n = 3;
  w.k = 64;
  w.macs = 384;
  w.k_segments = 2;
  w.a.name = w.b.name = "mxfp8_e4m3";
  std::map<std::string, int64_t> got;
  for (const ActionCount& a : count_op_actions(w, default_arch()).actions)
    got[a.key.text()] = a.count;
  const std::map<std::string, int64_t> want = {{"int_mul{a_bits=4;b_bits=4}", 384},
                                               {"exp_add{bits=5}", 384},
                                               {"shift{bits=8;stages=5}", 384},
                                               {"int_add{bits=43}", 384},
                                               {"group_end_convert{bits=43}", 12},
                                               {"exp_add{bits=8}", 12},
                                               {"fp_add{e=8;m=23}", 12},
                                               {"acc_update{bits=32}", 12},
                                               {"pe_register_bits", 384 * 16},
                                               {"pe_overhead{family=mx}", 384},
                                               {"dram_bit{type=ddr4}", 0}};
  for (const auto& [k, v] : want) {
    INFO(k);
    if (v == 0) continue;
    CHECK(got[k] == v);
  }
  CHECK(got.count("fp_mul{e=8;m=23}") == 0);  // MX has no tensor scale
}

TEST_CASE("PE-array types mx and nvfp4 select the mx family; other families are refused") {
  PeArrayTypePtr t = find_pe_array_type("mx");
  REQUIRE(t != nullptr);
  CHECK(t->family().name() == "mx");
  CHECK(t->default_format(Role::kWeight) == "mxfp8_e4m3");
  CHECK(t->default_format(Role::kError) == "mxfp8_e5m2");
  CHECK(t->validate(fmt_of("mxfp4"), fmt_of("mxint8"), fmt_of("mxfp6_e3m2")).empty());
  const auto problems = t->validate(fmt_of("mls_m1e2"), nullptr, nullptr);
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0].message, Contains("'mls_m1e2' is executed by the fixed MAC family"));
  const auto mls_problems = find_pe_array_type("mls")->validate(fmt_of("mxfp4"), nullptr, nullptr);
  REQUIRE(mls_problems.size() == 1);
  CHECK_THAT(mls_problems[0].message, Contains("mx MAC family"));
  CHECK(find_pe_array_type("nvfp4")->default_format(Role::kActivation) == "nvfp4");
}
