// The MAC-family registry (models/mac/i_mac_family.h): which family executes which formats, that
// the datapath, reference, quantization work and energy actions of a GEMM are its family's, and
// that PE-array types select a family.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "models/arch/arch_loader.h"
#include "models/arch/pe_array_types.h"
#include "models/core/error.h"
#include "models/energy/actions.h"
#include "models/mac/datapath_gemm.h"
#include "models/mac/i_mac_family.h"
#include "models/numerics/i_number_format.h"
#include "models/numerics/random_tensor.h"
#include "models/reference/reference_gemm.h"
#include "models/sim_plan/sim_plan.h"

using namespace lbsim;
using Catch::Matchers::Contains;

namespace {

FormatPtr fmt_of(const std::string& spec) { return make_format(spec, SourceLoc{"test"}); }

std::string user_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

QTensor quantized(const std::string& spec, const Shape& shape, uint64_t seed, Role role,
                  int reduction_axis) {
  QuantContext ctx;
  ctx.role = role;
  ctx.seed = seed;
  ctx.tensor_id = seed;
  ctx.reduction_axis = reduction_axis;
  return fmt_of(spec)->quantize(random_normal(shape, seed), ctx);
}

}  // namespace

TEST_CASE("the float and fixed families are registered components") {
  const std::vector<std::string> names = mac_family_names();
  CHECK(std::find(names.begin(), names.end(), "float") != names.end());
  CHECK(std::find(names.begin(), names.end(), "fixed") != names.end());
  const IMacFamily* fl = find_mac_family("float");
  const IMacFamily* fx = find_mac_family("fixed");
  REQUIRE(fl != nullptr);
  REQUIRE(fx != nullptr);
  CHECK(find_mac_family("posit") == nullptr);
  CHECK(fl->pe_datapath() == MacFamily::kFloat);
  CHECK(fx->pe_datapath() == MacFamily::kFixed);
  CHECK_FALSE(fl->integer_accumulator());
  CHECK(fx->integer_accumulator());
  CHECK(fx->default_accumulator().acc_bits == 32);
  CHECK(fl->accepts(ElementKind::kFloat));
  CHECK_FALSE(fl->accepts(ElementKind::kMls));
  for (ElementKind k : {ElementKind::kInt, ElementKind::kLog, ElementKind::kMls})
    CHECK(fx->accepts(k));
}

TEST_CASE("mac_family_for: one rule picks the family of a GEMM") {
  CHECK(&mac_family_for(fmt_of("fp8_e4m3")->info(), fmt_of("fp8_e5m2")->info()) ==
        find_mac_family("float"));
  CHECK(&mac_family_for(fmt_of("int4_sawb")->info(), fmt_of("luq_fp4")->info()) ==
        find_mac_family("fixed"));
  CHECK(&mac_family_of(fmt_of("mls_m1e2")->info()) == find_mac_family("fixed"));
  // mac_family() (gemm_problem.h) is the chosen family's PE template.
  CHECK(mac_family(fmt_of("bf16")->info(), fmt_of("fp16")->info()) == MacFamily::kFloat);
  const std::string msg =
      user_error_of([] { mac_family_for(fmt_of("fp8_e4m3")->info(), fmt_of("int8")->info()); });
  CHECK_THAT(msg, Contains("formats 'fp8_e4m3' and 'int8' cannot share a MAC array"));
  CHECK_THAT(msg, Contains("'int8' has int elements"));
  CHECK_THAT(msg, Contains("float (two of float)"));
  CHECK_THAT(msg, Contains("fixed (two of int/log/mls)"));
}

TEST_CASE("quantization work per element is the family's") {
  // The table of sim_plan.h: fp32 0, fp16 1, fp8 2, int8 2, luq_fp4 2 (+1 SR), mls 3.
  CHECK(quant_ops_per_element(fmt_of("fp32")->info(), false) == 0);
  CHECK(quant_ops_per_element(fmt_of("fp32")->info(), true) == 0);
  CHECK(quant_ops_per_element(fmt_of("bf16")->info(), false) == 1);
  CHECK(quant_ops_per_element(fmt_of("fp8_e5m2")->info(), true) == 3);
  CHECK(quant_ops_per_element(fmt_of("int8")->info(), false) == 2);
  CHECK(quant_ops_per_element(fmt_of("luq_fp4")->info(), true) == 3);
  CHECK(quant_ops_per_element(fmt_of("mls_m1e2")->info(), false) == 3);
  const auto mls_format = fmt_of("mls_m1e2");  // keeps the format alive while `mls` refers to it
  const FormatInfo& mls = mls_format->info();
  CHECK(mac_family_of(mls).quant_ops_per_element(mls, true) == 4);
}

TEST_CASE("run_datapath and run_reference are the family's routes, bit for bit") {
  for (const auto& [fa, fb] : std::vector<std::pair<std::string, std::string>>{
           {"fp8_e4m3", "fp8_e5m2"}, {"int8", "int8"}, {"mls_m1e2", "mls_m1e2"}}) {
    INFO(fa << " x " << fb);
    QTensor a = quantized(fa, {5, 40}, 1, Role::kActivation, 1);
    QTensor b = quantized(fb, {40, 3}, 2, Role::kWeight, 0);
    GemmProblem p = lower_gemm(a, b);
    const IMacFamily& f = mac_family_for(a.format->info(), b.format->info());
    AccumulatorSpec acc = f.default_accumulator();
    const GemmResult d = run_datapath(p, acc), r = run_reference(p, acc);
    const GemmResult fd = f.run_datapath(p, acc), fr = f.run_reference(p, acc, 1);
    REQUIRE(d.c.size() == 15);
    for (size_t i = 0; i < d.c.size(); ++i) {
      CHECK(d.c[i] == r.c[i]);
      CHECK(d.c[i] == fd.c[i]);
      CHECK(r.c[i] == fr.c[i]);
    }
  }
}

TEST_CASE("energy: a GEMM op's PE-array actions are its family's") {
  // fp8 x fp8 fwd GEMM 2 x 3 x 4: 24 MACs, 6 outputs; E4M3 significands 4 x 4 bits fit fp32's.
  OpWork w;
  w.kind = OpKind::kGemm;
  w.m = 2;
  w.n = 3;
  w.k = 4;
  w.macs = 24;
  w.a.name = w.b.name = "fp8_e4m3";
  std::map<std::string, int64_t> got;
  for (const ActionCount& a : count_op_actions(w, default_arch()).actions)
    got[a.key.text()] = a.count;
  CHECK(got.at("int_mul{a_bits=4;b_bits=4}") == 24);
  CHECK(got.at("exp_add{bits=5}") == 24);
  CHECK(got.at("fp_add{e=8;m=23}") == 24);
  CHECK(got.at("acc_update{bits=32}") == 24);
  CHECK(got.at("fp_mul{e=8;m=23}") == 6);
  CHECK(got.at("pe_register_bits") == 24 * 16);
  CHECK(got.at("pe_overhead{family=float}") == 24);
}

TEST_CASE("PE-array types name their family; its accumulator is theirs") {
  for (const std::string& name : pe_array_type_names()) {
    INFO(name);
    PeArrayTypePtr t = find_pe_array_type(name);
    REQUIRE(t != nullptr);
    CHECK(t->fixed_point() == t->family().integer_accumulator());
    CHECK(t->default_accumulator().acc_bits == t->family().default_accumulator().acc_bits);
    // The default formats are executed by the type's family.
    for (Role r : {Role::kWeight, Role::kActivation, Role::kError})
      CHECK(&mac_family_of(fmt_of(t->default_format(r))->info()) == &t->family());
  }
  CHECK(find_pe_array_type("fp8")->family().name() == "float");
  CHECK(find_pe_array_type("mls")->family().name() == "fixed");
}
