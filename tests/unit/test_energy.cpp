// Energy model (models/energy): action counting from a simulation plan, the energy table (load,
// validation with file:line:col, node scaling, formulas) and costing (uncosted actions). Expected
// values are derived by hand in the comments from arch_configs/energy/45nm.yaml and the counting
// rules in models/energy/actions.h.
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/arch/arch_loader.h"
#include "models/core/error.h"
#include "models/energy/actions.h"
#include "models/energy/cost.h"
#include "models/energy/energy_table.h"
#include "models/sim_plan/sim_plan.h"
#include "models/workload/workload.h"

using namespace lbsim;

namespace {

ActionKey key(const std::string& name, std::vector<std::pair<std::string, std::string>> p = {}) {
  return ActionKey{name, std::move(p)};
}

// conv Cin -> Cout, 3x3, pad 1, stride 1, in h x h, batch 1, training.
Workload conv_workload(int64_t cin, int64_t cout, int64_t h) {
  LayerSpec l;
  l.name = "conv";
  l.type = LayerType::kConv2d;
  l.in_channels = cin;
  l.out_channels = cout;
  l.kernel_h = l.kernel_w = 3;
  l.pad_h = l.pad_w = 1;
  l.in_h = l.in_w = h;
  Workload w;
  w.network = "test";
  w.batch = 1;
  w.input = {cin, h, h};
  w.layers.push_back(l);
  expand_workload(w);
  return w;
}

ArchConfig arch_with(const std::string& spec) {
  ArchConfig a = default_arch();
  FormatPtr f = make_format(spec, SourceLoc{"test"});
  a.pe.weight = a.pe.activation = a.pe.error = f;
  return a;
}

std::map<std::string, int64_t> counts_of(const OpActions& o) {
  std::map<std::string, int64_t> m;
  for (const ActionCount& a : o.actions) m[a.key.text()] = a.count;
  return m;
}

// PE-array energy per MAC of the forward GEMM of a 3x3 conv with 64 input channels (K = 576).
double pe_pj_per_mac(const std::string& spec, const EnergyTable& t, int mls_unit_m = 0) {
  ArchConfig a = arch_with(spec);
  a.pe.mls_unit_mantissa_bits = mls_unit_m;
  const SimPlan plan = plan_simulation(a, conv_workload(64, 64, 8));
  const OpWork& fwd = plan.ops.front();
  REQUIRE(fwd.kind == OpKind::kGemm);
  REQUIRE(fwd.k == 576);
  const OpActions acts = count_op_actions(fwd, a);
  double pj = 0;
  for (const ActionCount& c : acts.actions)
    if (action_component(c.key) == "pe_array") pj += *t.cost(c.key) * static_cast<double>(c.count);
  return pj / static_cast<double>(fwd.macs);
}

std::string error_of(const std::string& yaml) {
  try {
    EnergyTable::parse(yaml, "t.yaml");
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

const char* kMiniTable = R"yaml(schema_version: 1
name: mini
node: 45
scaling:
  source: test
  nodes:
    45: {logic: 1.0, sram: 1.0}
    7: {logic: 0.1, sram: 0.05}
actions:
  fp_mul:
    pj: 3.7
    source: Horowitz
  int_add:
    formula: "0.1 * (bits / 32)"
    points: "32b 0.1"
    source: linear
  sram_read:
    pj: 10
    scale: sram
    source: CACTI
  dram_bit{type=ddr4}:
    pj: 15
    scale: none
    source: judgment
  dram_bit:
    pj: 20
    scale: none
    source: judgment
)yaml";

}  // namespace

TEST_CASE("default table: FP32 MAC is 3.7 + 0.9 = 4.6 pJ at 45 nm", "[energy]") {
  const EnergyTable t = EnergyTable::builtin();
  CHECK(t.node() == 45);
  const double mul = *t.cost(key("fp_mul", {{"e", "8"}, {"m", "23"}}));
  const double add = *t.cost(key("fp_add", {{"e", "8"}, {"m", "23"}}));
  // 4.49e-3 * 24^2 + 0.0348 * 32 = 2.58624 + 1.1136 = 3.69984
  CHECK(mul == Approx(3.69984).epsilon(1e-9));
  // 2.95e-3 * 24 * log2(24) + 0.018 * 32 = 0.324615 + 0.576 = 0.900615
  CHECK(add == Approx(0.900615).epsilon(1e-5));
  CHECK(mul + add == Approx(4.6).margin(1e-3));
  // FP16 anchors of the same fits: 1.1 and 0.4 (Horowitz).
  CHECK(*t.cost(key("fp_mul", {{"e", "5"}, {"m", "10"}})) == Approx(1.1).margin(1e-3));
  CHECK(*t.cost(key("fp_add", {{"e", "5"}, {"m", "10"}})) == Approx(0.4).margin(1e-3));
  // int8 multiply 3.1e-3 * 64 = 0.1984; int32 add 0.1; DDR4 15 pJ/bit.
  CHECK(*t.cost(key("int_mul", {{"a_bits", "8"}, {"b_bits", "8"}})) == Approx(0.1984));
  CHECK(*t.cost(key("int_add", {{"bits", "32"}})) == Approx(0.1));
  CHECK(*t.cost(key("dram_bit", {{"type", "ddr4"}})) == Approx(15));
  CHECK(*t.cost(key("dram_bit", {{"type", "hbm2"}})) == Approx(3.9));
  // SRAM 8 KB, 64-bit read: 6.77 (the fit's prefactor).
  CHECK(*t.cost(key("sram_read", {{"buffer", "ifmap"}, {"bytes", "8192"}, {"bits", "64"}})) ==
        Approx(6.77));
  // No family-specific overhead: every family gets the generic 0 (nothing is calibrated).
  CHECK(*t.cost(key("pe_overhead", {{"family", "mls"}})) == 0.0);
  CHECK(*t.cost(key("pe_overhead", {{"family", "float"}})) == 0.0);
  for (const EnergyEntry& e : t.entries()) CHECK_FALSE(e.source.empty());
}

TEST_CASE("node scaling: logic, sram and unscaled DRAM", "[energy]") {
  const EnergyTable t7 = EnergyTable::builtin({"node=7"});
  CHECK(t7.node() == 7);
  CHECK(t7.factor("logic") == Approx(0.094));
  CHECK(t7.factor("sram") == Approx(0.08));
  // FP32 add 0.900615 * 0.094 = 0.08466
  CHECK(*t7.cost(key("fp_add", {{"e", "8"}, {"m", "23"}})) == Approx(0.900615 * 0.094));
  CHECK(*t7.cost(key("dram_bit", {{"type", "ddr4"}})) == Approx(15));
  CHECK(*t7.cost(key("sram_read", {{"buffer", "x"}, {"bytes", "8192"}, {"bits", "64"}})) ==
        Approx(6.77 * 0.08));
  const EnergyTable t28 = EnergyTable::builtin({"node=28"});
  CHECK(t28.factor("logic") == Approx(0.51));
  CHECK(t28.factor("sram") == Approx(0.40));
  const EnergyTable t16 = EnergyTable::builtin({"node=16"});
  CHECK(t16.factor("logic") == Approx(0.17));
  CHECK(t16.factor("sram") == Approx(0.15));
  // A node without factors is an error at the override.
  try {
    EnergyTable::builtin({"node=22"});
    FAIL("node 22 accepted");
  } catch (const UserError& e) {
    CHECK_THAT(e.what(), Catch::Contains("<cmdline -p #1>") &&
                             Catch::Contains("node 22 nm has no entry in scaling.nodes"));
  }
}

TEST_CASE("selector entries win over generic ones; formulas use action parameters", "[energy]") {
  const EnergyTable t = EnergyTable::parse(kMiniTable, "mini.yaml");
  CHECK(*t.cost(key("dram_bit", {{"type", "ddr4"}})) == 15);
  CHECK(*t.cost(key("dram_bit", {{"type", "hbm2"}})) == 20);
  CHECK(*t.cost(key("int_add", {{"bits", "16"}})) == Approx(0.05));
  CHECK_FALSE(t.cost(key("int_mul", {{"a_bits", "2"}, {"b_bits", "2"}})).has_value());
  const EnergyTable t7 = EnergyTable::parse(kMiniTable, "mini.yaml", {"node=7"});
  CHECK(*t7.cost(key("fp_mul", {{"e", "8"}, {"m", "23"}})) == Approx(0.37));
  CHECK(*t7.cost(key("sram_read", {{"buffer", "x"}, {"bytes", "1"}, {"bits", "8"}})) ==
        Approx(0.5));
  CHECK(*t7.cost(key("dram_bit", {{"type", "ddr4"}})) == 15);
  CHECK(eval_formula("2^3 + max(1, ceil(log2(5)))", {}) == Approx(11));
  CHECK(eval_formula("-a * (b - 1) / 2", {{"a", 3}, {"b", 5}}) == Approx(-6));
}

TEST_CASE("formulas: nesting is bounded, not a stack overflow (fuzz regressions)",
          "[energy][fuzz]") {
  // 100 levels are accepted; deeper parentheses, unary minus chains, exponent chains and long
  // sums are a clear error at the character where the limit was passed.
  CHECK(eval_formula(std::string(99, '(') + "2" + std::string(99, ')'), {}) == Approx(2));
  const std::string too_deep = "nests deeper than 100 levels";
  CHECK_THROWS_WITH(eval_formula(std::string(100000, '(') + "1" + std::string(100000, ')'), {}),
                    Catch::Contains("error at character 101: formula " + too_deep));
  CHECK_THROWS_WITH(eval_formula(std::string(100000, '-') + "1", {}), Catch::Contains(too_deep));
  CHECK_THROWS_WITH(eval_formula("2" + std::string(50000, '^') + "2", {}),
                    Catch::Contains("error"));
  std::string sum = "1";
  for (int i = 0; i < 200000; ++i) sum += "+1";
  CHECK_THROWS_WITH(eval_formula(sum, {}), Catch::Contains(too_deep));
  std::string short_sum = "1";
  for (int i = 0; i < 98; ++i) short_sum += "+1";
  CHECK(eval_formula(short_sum, {}) == Approx(99));
}

TEST_CASE("table errors carry file:line:col", "[energy]") {
  const std::string head =
      "schema_version: 1\nnode: 45\nscaling:\n  source: s\n  nodes: {45: {logic: 1, sram: "
      "1}}\nactions:\n";
  // Unknown action name, with a suggestion.
  CHECK_THAT(error_of(head + "  fp_mull:\n    pj: 1\n    source: x\n"),
             Catch::Contains("t.yaml:7:3: error: actions.fp_mull: unknown action 'fp_mull' (did "
                             "you mean 'fp_mul'?)"));
  // Missing source.
  CHECK_THAT(error_of(head + "  fp_mul:\n    pj: 1\n"),
             Catch::Contains("t.yaml:7:3: error: actions.fp_mul: missing source"));
  // Negative energy, at the value.
  CHECK_THAT(error_of(head + "  fp_mul:\n    pj: -0.5\n    source: x\n"),
             Catch::Contains("t.yaml:8:9: error: actions.fp_mul.pj: negative or non-finite energy "
                             "-0.5"));
  // A selector naming a parameter the action does not have.
  CHECK_THAT(error_of(head + "  dram_bit{kind=ddr4}:\n    pj: 1\n    source: x\n"),
             Catch::Contains("t.yaml:7:3: error: actions.dram_bit{kind=ddr4}: action dram_bit has "
                             "no parameter 'kind'"));
  // A formula over an unknown variable, and one without its points.
  CHECK_THAT(error_of(head + "  int_add:\n    formula: 'n * 2'\n    points: p\n    source: x\n"),
             Catch::Contains("t.yaml:8:14: error: actions.int_add.formula: unknown variable 'n'"));
  CHECK_THAT(error_of(head + "  int_add:\n    formula: 'bits * 2'\n    source: x\n"),
             Catch::Contains("t.yaml:8:14: error: actions.int_add.formula: a formula needs "
                             "`points:`"));
  // Both pj and formula.
  CHECK_THAT(error_of(head + "  int_add:\n    pj: 1\n    formula: 'bits'\n    points: p\n    "
                             "source: x\n"),
             Catch::Contains("needs exactly one of pj and formula"));
  // Every error of the file is reported at once.
  const std::string two = error_of(head +
                                   "  foo:\n    pj: 1\n    source: x\n  fp_add:\n    pj: "
                                   "-1\n    source: x\n");
  CHECK_THAT(two, Catch::Contains("t.yaml:7:3") && Catch::Contains("t.yaml:11:9"));
  // A formula that goes negative is caught when used.
  const EnergyTable t = EnergyTable::parse(
      head + "  int_add:\n    formula: 'bits - 40'\n    points: p\n    source: x\n", "t.yaml");
  CHECK_THROWS_WITH(t.cost(key("int_add", {{"bits", "32"}})),
                    Catch::Contains("t.yaml:7:3: error: actions.int_add: formula 'bits - 40' gives "
                                    "-8 pJ"));
}

TEST_CASE("MLS <1,2> conv GEMM action counts", "[energy]") {
  // conv 2 -> 4, 3x3, pad 1, 4x4 input, batch 1: fwd GEMM M = 16, N = 4, K = 2*9 = 18,
  // MACs = 16*4*18 = 1152, outputs = 64. MLS groups are 16 long along K (sim_plan.h), so K = 18
  // has 2 segments per output: 128 group ends. Accumulator 32 bits (default arch).
  const ArchConfig a = default_arch();
  REQUIRE(a.pe.weight->info().name == "mls_m1e2");
  const SimPlan plan = plan_simulation(a, conv_workload(2, 4, 4));
  const OpWork& fwd = plan.ops.front();
  REQUIRE(fwd.m == 16);
  REQUIRE(fwd.n == 4);
  REQUIRE(fwd.k == 18);
  REQUIRE(fwd.macs == 1152);
  const auto c = counts_of(count_op_actions(fwd, a));
  // per product: (M+1)x(M+1) = 2x2 multiply, (E+1) = 3-bit exponent add, shift of the 4-bit
  // product over 0..6 (3 stages), 32-bit add and accumulator update
  CHECK(c.at("int_mul{a_bits=2;b_bits=2}") == 1152);
  CHECK(c.at("exp_add{bits=3}") == 1152);
  CHECK(c.at("shift{bits=4;stages=3}") == 1152);
  CHECK(c.at("int_add{bits=32}") == 1152);
  CHECK(c.at("acc_update{bits=32}") == 1152);
  // per (output, segment): conversion, power-of-two group-scale exponent add, fp32 add
  CHECK(c.at("group_end_convert{bits=32}") == 128);
  CHECK(c.at("exp_add{bits=8}") == 128);
  CHECK(c.at("fp_add{e=8;m=23}") == 128);
  // per output: the tensor-scale fp32 multiply
  CHECK(c.at("fp_mul{e=8;m=23}") == 64);
  // operand registers: 2 x 4-bit codes per MAC; the calibrated per-MAC overhead
  CHECK(c.at("pe_register_bits") == 1152 * 8);
  CHECK(c.at("pe_overhead{family=mls}") == 1152);
  CHECK(c.count("fp_mul{e=2;m=1}") == 0);
  // DRAM bits = 8 x the op's DRAM bytes, at the arch's DRAM type
  CHECK(c.at("dram_bit{type=ddr4}") ==
        8 * (fwd.demand.dram_read_bytes() + fwd.demand.dram_write_bytes()));
  // Changing M changes the datapath: <4,2> has a 5x5 multiply and a 10-bit shift.
  const ArchConfig a4 = arch_with("mls_m4e2");
  const auto c4 =
      counts_of(count_op_actions(plan_simulation(a4, conv_workload(2, 4, 4)).ops[0], a4));
  CHECK(c4.at("int_mul{a_bits=5;b_bits=5}") == 1152);
  CHECK(c4.at("shift{bits=10;stages=3}") == 1152);
  CHECK(c4.at("pe_register_bits") == 1152 * 14);
}

TEST_CASE("float and int GEMMs: fp multiply + fp32 add, int multiply + int32 add", "[energy]") {
  const ArchConfig f8 = arch_with("fp8_e4m3");
  const auto c8 =
      counts_of(count_op_actions(plan_simulation(f8, conv_workload(2, 4, 4)).ops[0], f8));
  // E4M3 x E4M3: the 8-bit exact product fits fp32's 24-bit significand, so the FMA forms it with
  // a 4x4 significand multiply and a 5-bit exponent add, no full fp8 multiplier.
  CHECK(c8.at("int_mul{a_bits=4;b_bits=4}") == 1152);
  CHECK(c8.at("exp_add{bits=5}") == 1152);
  CHECK(c8.count("fp_mul{e=4;m=3}") == 0);
  // bf16 (8 + 8 bits) and fp16 (11 + 11) also fit; fp32 (24 + 24) does not (checked below).
  const ArchConfig bf = arch_with("bf16");
  const auto cb =
      counts_of(count_op_actions(plan_simulation(bf, conv_workload(2, 4, 4)).ops[0], bf));
  CHECK(cb.at("int_mul{a_bits=8;b_bits=8}") == 1152);
  CHECK(cb.at("exp_add{bits=9}") == 1152);
  CHECK(c8.at("fp_add{e=8;m=23}") == 1152);
  CHECK(c8.at("fp_mul{e=8;m=23}") == 64);  // tensor scale per output
  CHECK(c8.at("pe_overhead{family=float}") == 1152);
  const ArchConfig f32 = arch_with("fp32");
  const auto c32 =
      counts_of(count_op_actions(plan_simulation(f32, conv_workload(2, 4, 4)).ops[0], f32));
  CHECK(c32.at("fp_mul{e=8;m=23}") == 1152);  // no tensor-scale multiply for fp32 x fp32
  const ArchConfig i8 = arch_with("int8");
  const auto ci =
      counts_of(count_op_actions(plan_simulation(i8, conv_workload(2, 4, 4)).ops[0], i8));
  CHECK(ci.at("int_mul{a_bits=8;b_bits=8}") == 1152);
  CHECK(ci.at("int_add{bits=32}") == 1152);
  CHECK(ci.count("shift{bits=8;stages=0}") == 0);
  // int8 is per tensor here: one K segment per output, so one conversion per output (64), no group
  // scale and no fp32 cross-segment add; then the tensor-scale multiply.
  CHECK(ci.at("group_end_convert{bits=32}") == 64);
  CHECK(ci.count("fp_add{e=8;m=23}") == 0);
  CHECK(ci.at("fp_mul{e=8;m=23}") == 64);
  CHECK(ci.at("pe_overhead{family=int}") == 1152);
}

TEST_CASE("LUQ dgrad: luq_fp4 error x int4 weight is a shift and an integer add", "[energy]") {
  const ArchConfig a =
      load_arch(std::string(LBSIM_TEST_DATA) + "/../../arch_configs/luq_32x32.yaml");
  REQUIRE(a.pe.error->info().name == "luq_fp4");
  const SimPlan plan = plan_simulation(a, conv_workload(2, 4, 4));
  // Op order: fwd gemm, then dgrad gemm (M = 16, N = 2*9 = 18, K = 4 -> 1152 MACs).
  const OpWork* dgrad = nullptr;
  for (const OpWork& op : plan.ops)
    if (op.phase == Phase::kDgrad && op.kind == OpKind::kGemm) dgrad = &op;
  REQUIRE(dgrad != nullptr);
  REQUIRE(dgrad->macs == 1152);
  const auto c = counts_of(count_op_actions(*dgrad, a));
  // The 4-bit weight shifted by the 3-bit log exponent (0..6: 3 stages); no multiplier.
  CHECK(c.at("shift{bits=4;stages=3}") == 1152);
  CHECK(c.at("int_add{bits=32}") == 1152);
  CHECK(c.count("int_mul{a_bits=1;b_bits=4}") == 0);
  CHECK(c.count("int_mul{a_bits=4;b_bits=1}") == 0);
  CHECK(c.at("pe_overhead{family=log}") == 1152);
  CHECK(c.at("pe_register_bits") == 1152 * 8);
}

TEST_CASE("per-MAC PE energy of a 3x3 conv GEMM (K = 576) with the default table", "[energy]") {
  const EnergyTable t = EnergyTable::builtin();
  // FP32: 4.600455 (mul + add) + 0.16 (32-bit accumulator register) + 0.005 * 64 (operands)
  //       = 5.080455; no tensor-scale multiply.
  const double fp32 = pe_pj_per_mac("fp32", t);
  CHECK(fp32 == Approx(5.080455).epsilon(1e-5));
  // FP8 E4M3: the exact 4x4-bit significand product 3.1e-3*16 = 0.0496 + 5-bit exponent add
  //   0.1*(5/32)^0.87 = 0.019889 (no normalise/round stage: the product fits fp32's significand)
  //   + fp32 add 0.900615 + 0.16 + 0.005 * 16 + tensor scale 3.69984 / 576 = 1.216528
  const double fp8 = pe_pj_per_mac("fp8_e4m3", t);
  CHECK(fp8 == Approx(1.216528).epsilon(1e-5));
  // MLS <1,2>: 2x2 mul 0.0124 + 3-bit exp add 0.1*(3/32)^0.87 = 0.012753 + shift 0.015 + 32-bit
  // add 0.1 + acc 0.16 + registers 0.04 + per K segment, 64 per output (the
  // lowering's (n,c) groups: one per input channel, R*S = 9 long): (convert 1.25e-3*32*5 +
  // 0.029937 = 0.229937, exponent add 0.029937, fp32 add 0.900615) * 64 / 576 = 0.128943
  // + tensor scale 3.69984 / 576 = 0.006423  ->  0.475520
  const double m1 = pe_pj_per_mac("mls_m1e2", t);
  CHECK(m1 == Approx(0.475520).epsilon(1e-5));
  // MLS <4,2>: 5x5 mul 0.0775, shift 10 bits x 3 stages 0.0375, registers 0.07; the rest as above
  //   -> 0.475520 - 0.0124 - 0.015 - 0.04 + 0.0775 + 0.0375 + 0.07 = 0.593120
  const double m4 = pe_pj_per_mac("mls_m4e2", t);
  CHECK(m4 == Approx(0.593120).epsilon(1e-5));
  // <1,2> on one MLS unit built for m <= 4 (pe_array.mls_unit_mantissa_bits = 4) costs what
  // <4,2> does: the unit's multiplier, shifter and registers are the same.
  CHECK(pe_pj_per_mac("mls_m1e2", t, 4) == Approx(m4).epsilon(1e-9));
  // FP32 / FP8 per MAC 4.18: inside [8.3/2.3, 10.2/1.9] = [3.61, 5.37], the range in which the
  // abstract's two windows can both hold.
  CHECK(fp32 / fp8 > 8.3 / 2.3);
  CHECK(fp32 / fp8 < 10.2 / 1.9);
}

TEST_CASE("costing: an uncosted action is an error naming it and the table", "[energy]") {
  const EnergyTable t = EnergyTable::parse(kMiniTable, "mini.yaml");
  OpActions op{"l", "fwd", "gemm", {}};
  op.actions.push_back({key("fp_mul", {{"e", "8"}, {"m", "23"}}), 10});
  op.actions.push_back({key("int_mul", {{"a_bits", "2"}, {"b_bits", "2"}}), 7});
  op.actions.push_back({key("int_mul", {{"a_bits", "4"}, {"b_bits", "4"}}), 5});
  CHECK_THROWS_WITH(
      cost_actions({op}, t),
      Catch::StartsWith("mini.yaml (mini): error: the energy table has no cost for 2 "
                        "action(s)") &&
          Catch::Contains("\n  int_mul{a_bits=2;b_bits=2} x 7\n  int_mul{a_bits=4;b_bits=4} "
                          "x 5\n") &&
          Catch::Contains("--allow-missing-costs"));
  CHECK_NOTHROW(cost_actions({op}, t, /*allow_missing=*/true));
}

TEST_CASE("costing: allowed uncosted actions are listed and left out of the totals", "[energy]") {
  const EnergyTable t = EnergyTable::parse(kMiniTable, "mini.yaml");
  OpActions op{"l", "fwd", "gemm", {}};
  op.actions.push_back({key("fp_mul", {{"e", "8"}, {"m", "23"}}), 10});
  op.actions.push_back({key("int_mul", {{"a_bits", "2"}, {"b_bits", "2"}}), 7});
  op.actions.push_back({key("dram_bit", {{"type", "ddr4"}}), 100});
  op.actions.push_back({key("sram_read", {{"buffer", "ifmap"}, {"bytes", "1"}, {"bits", "8"}}), 3});
  const EnergyReport r = cost_actions({op}, t, /*allow_missing=*/true);
  // 10 * 3.7 + 100 * 15 + 3 * 10 = 37 + 1500 + 30
  CHECK(r.total_pj == Approx(1567));
  CHECK(r.by_component.at("pe_array") == Approx(37));
  CHECK(r.by_component.at("dram") == Approx(1500));
  CHECK(r.by_component.at("sram_ifmap") == Approx(30));
  CHECK(r.by_phase.at("fwd") == Approx(1567));
  REQUIRE(r.uncosted.size() == 1);
  CHECK(r.uncosted.at("int_mul{a_bits=2;b_bits=2}") == 7);
  const std::string csv = energy_actions_csv(r);
  CHECK_THAT(csv, Catch::StartsWith("layer,phase,op,component,action,params,count,energy_pj\n"));
  CHECK_THAT(csv, Catch::Contains("l,fwd,gemm,pe_array,int_mul,a_bits=2;b_bits=2,7,\n"));
  CHECK_THAT(csv, Catch::Contains("l,fwd,gemm,dram,dram_bit,type=ddr4,100,1500\n"));
  CHECK_THAT(energy_summary(r, t), Catch::Contains("uncosted actions") &&
                                       Catch::Contains("int_mul{a_bits=2;b_bits=2} x 7"));
}

TEST_CASE("energy.csv: one row per layer x phase x component, summed over ops and actions",
          "[energy]") {
  const EnergyTable t = EnergyTable::parse(kMiniTable, "mini.yaml");
  auto op = [](const char* layer, const char* phase, const char* name) {
    return OpActions{layer, phase, name, {}};
  };
  OpActions a = op("conv,1", "fwd", "gemm"), b = op("bn", "fwd", "bn_fwd"),
            c = op("conv,1", "dgrad", "gemm"), d = op("conv,1", "dgrad", "col2im");
  a.actions = {{key("fp_mul", {{"e", "8"}, {"m", "23"}}), 10},  // 37 pJ pe_array
               {key("dram_bit", {{"type", "ddr4"}}), 2}};       // 30 pJ dram
  b.actions = {{key("dram_bit", {{"type", "ddr4"}}), 1}};
  c.actions = {{key("fp_mul", {{"e", "8"}, {"m", "23"}}), 1},
               {key("int_mul", {{"a_bits", "2"}, {"b_bits", "2"}}), 7}};  // uncosted
  d.actions = {{key("fp_mul", {{"e", "8"}, {"m", "23"}}), 2},
               {key("dram_bit", {{"type", "ddr4"}}), 1}};
  const EnergyReport r = cost_actions({a, b, c, d}, t, /*allow_missing=*/true);
  // conv,1 dgrad pe_array = (1 + 2) x 3.7 (gemm and col2im summed; the uncosted int_mul adds 0).
  CHECK(energy_csv(r) ==
        "layer,phase,component,energy_pj\n"
        "\"conv,1\",fwd,dram,30\n\"conv,1\",fwd,pe_array,37\n"
        "bn,fwd,dram,15\n"
        "\"conv,1\",dgrad,dram,15\n\"conv,1\",dgrad,pe_array,11.1\n");
}

TEST_CASE("actions.csv round trip and errors", "[energy]") {
  OpActions op{"layer,1", "fwd", "gemm", {}};
  op.actions.push_back({key("int_mul", {{"a_bits", "2"}, {"b_bits", "2"}}), 5});
  op.actions.push_back({key("pe_register_bits"), 40});
  const std::string text = actions_csv({op});
  CHECK(text ==
        "layer,phase,op,action,params,count\n\"layer,1\",fwd,gemm,int_mul,a_bits=2;b_bits=2,5\n"
        "\"layer,1\",fwd,gemm,pe_register_bits,,40\n");
  const auto back = parse_actions_csv(text, "a.csv");
  REQUIRE(back.size() == 1);
  CHECK(back[0].layer == "layer,1");
  REQUIRE(back[0].actions.size() == 2);
  CHECK(back[0].actions[0].key == op.actions[0].key);
  CHECK(back[0].actions[1].count == 40);
  CHECK_THROWS_WITH(
      parse_actions_csv("layer,phase,op,action,params,count\nl,fwd,gemm,int_mull,bits=2,1\n",
                        "a.csv"),
      Catch::Contains("a.csv:2: error: unknown action 'int_mull' (did you mean 'int_mul'?)"));
  CHECK_THROWS_WITH(
      parse_actions_csv("layer,phase,op,action,params,count\nl,fwd,gemm,int_add,width=2,1\n",
                        "a.csv"),
      Catch::Contains("a.csv:2: error: action int_add: unknown parameter 'width=2'"));
  CHECK_THROWS_WITH(parse_actions_csv("x,y\n", "a.csv"), Catch::Contains("a.csv:1: error:"));
}
