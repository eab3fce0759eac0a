// Simulation plan (models/sim_plan/sim_plan.h): op order, bits per element with amortised group
// scales, the quantization table, vector work, work items. Expected values are derived by hand in
// the comments from the rules in the header.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/arch/arch_loader.h"
#include "models/core/error.h"
#include "models/mac/systolic.h"
#include "models/sim_plan/sim_plan.h"
#include "models/workload/zoo.h"

using namespace lbsim;

namespace {

FormatPtr fmt_of(const std::string& spec) { return make_format(spec, SourceLoc{"test"}); }

Op gemm(Phase p, int64_t m, int64_t n, int64_t k, Role a, Role b, int64_t groups = 1,
        int64_t samples = 1) {
  return gemm_op(p, "gemm", m, n, k, groups, samples, a, b);
}

Op vec(Phase p, const std::string& name, int64_t elements, int64_t ops_per_element) {
  return vector_op(p, name, elements, ops_per_element);
}

// A linear layer 32 -> 10 at 64 rows, its ops written out (workload.h expansion rules).
LayerSpec fc_layer() {
  LayerSpec l;
  l.name = "fc";
  l.type = LayerType::kLinear;
  l.ops = {gemm(Phase::kFwd, 64, 10, 32, Role::kActivation, Role::kWeight),
           gemm(Phase::kDgrad, 64, 32, 10, Role::kError, Role::kWeight),
           gemm(Phase::kWgrad, 32, 10, 64, Role::kActivation, Role::kError),
           vec(Phase::kUpdate, "sgd_momentum", 330, 4)};
  return l;
}

LayerSpec relu_layer() {
  LayerSpec l;
  l.name = "act";
  l.type = LayerType::kActivation;
  l.ops = {vec(Phase::kFwd, "relu_fwd", 1000, 1), vec(Phase::kDgrad, "relu_bwd", 1000, 1)};
  return l;
}

Workload one_layer(LayerSpec l) {
  Workload w;
  w.network = "test";
  w.layers.push_back(std::move(l));
  return w;
}

int64_t closed_form(const ArchConfig& a, const Op& op) {
  return plan_folds(a.pe.dataflow, a.pe.rows, a.pe.cols, op.m, op.n, op.k).compute_cycles *
         op.groups * op.samples;
}

// Walks every item of every op and checks that they add up to the op's totals.
void check_items(const SimPlan& plan, int64_t qepc) {
  for (const OpWork& op : plan.ops) {
    WorkCursor c(op, qepc);
    WorkItem it;
    TileDemand sum;
    int64_t n = 0, quant = 0, qops = 0, vops = 0, tiles = 0, lasts = 0;
    while (c.next(it)) {
      ++n;
      sum.add(it.demand, 1);
      quant += it.quant_elements;
      qops += it.quant_ops;
      vops += it.vector_ops;
      tiles += it.first_of_tile ? 1 : 0;
      lasts += it.last ? 1 : 0;
      REQUIRE(it.compute_cycles == it.demand.compute_cycles);
    }
    INFO(op.layer << " " << phase_name(op.phase) << " " << op.op);
    CHECK(n == op.items);
    CHECK(lasts == (n > 0 ? 1 : 0));
    CHECK(sum.compute_cycles == op.compute_cycles);
    CHECK(sum.dram_read_bytes() == op.demand.dram_read_bytes());
    CHECK(sum.dram_write_bytes() == op.demand.dram_write_bytes());
    CHECK(sum.sram_read_ifmap_bytes == op.demand.sram_read_ifmap_bytes);
    CHECK(sum.sram_read_filter_bytes == op.demand.sram_read_filter_bytes);
    CHECK(sum.sram_write_ofmap_bytes == op.demand.sram_write_ofmap_bytes);
    CHECK(quant == op.quant_elements);
    CHECK(qops == op.quant_ops);
    CHECK(vops == op.vector_ops);
    if (op.kind == OpKind::kGemm) {
      CHECK(sum.macs == op.macs);
      CHECK(tiles == op.tiles);
    }
  }
}

}  // namespace

TEST_CASE("training order: fwd in layer order, then per layer in reverse dgrad, wgrad, update") {
  Workload w;
  for (const char* name : {"L0", "L1", "L2"}) {
    LayerSpec l;
    l.name = name;
    // Listed out of phase order on purpose: the order comes from the phases.
    l.ops = {vec(Phase::kUpdate, "u", 1, 1), vec(Phase::kWgrad, "w", 1, 1),
             vec(Phase::kFwd, "f", 1, 1), vec(Phase::kDgrad, "d", 1, 1),
             vec(Phase::kFwd, "f2", 1, 1)};
    w.layers.push_back(l);
  }
  std::vector<std::pair<size_t, size_t>> expect = {
      {0, 2}, {0, 4}, {1, 2}, {1, 4}, {2, 2}, {2, 4},  // fwd, layer order, op order
      {2, 3}, {2, 1}, {2, 0},                          // L2: dgrad, wgrad, update
      {1, 3}, {1, 1}, {1, 0},                          // L1
      {0, 3}, {0, 1}, {0, 0}};                         // L0
  CHECK(training_order(w) == expect);

  Workload inf;
  LayerSpec a, b;
  a.ops = {vec(Phase::kFwd, "f", 1, 1)};
  b.ops = {vec(Phase::kFwd, "f", 1, 1), vec(Phase::kFwd, "g", 1, 1)};
  inf.layers = {a, b};
  CHECK(training_order(inf) == std::vector<std::pair<size_t, size_t>>{{0, 0}, {1, 0}, {1, 1}});
}

TEST_CASE("training order of resnet20: starts with conv1 fwd, ends with conv1 wgrad and update") {
  Workload w = zoo_workload("resnet20", 2);
  const ArchConfig arch = default_arch();
  SimPlan p = plan_simulation(arch, w);
  size_t n_ops = 0;  // the default (MLS) arch lowers dgrad directly: no col2im ops
  for (const LayerSpec& l : w.layers)
    for (Op op : l.ops) n_ops += apply_dgrad_lowering(l, w.batch, arch.mapping.dgrad_lowering, op);
  REQUIRE(p.ops.size() == n_ops);
  CHECK(p.ops.front().layer == "conv1");
  CHECK(p.ops.front().phase == Phase::kFwd);
  // conv1 is the first layer: no dgrad (input_grad false), so wgrad then update close the run.
  CHECK(p.ops[n_ops - 2].layer == "conv1");
  CHECK(p.ops[n_ops - 2].phase == Phase::kWgrad);
  CHECK(p.ops[n_ops - 1].layer == "conv1");
  CHECK(p.ops[n_ops - 1].phase == Phase::kUpdate);
  // The first backward op is the loss's dgrad.
  size_t first_bwd = 0;
  while (p.ops[first_bwd].phase == Phase::kFwd) ++first_bwd;
  CHECK(p.ops[first_bwd].layer == w.layers.back().name);
}

TEST_CASE("quantization table per format and role") {
  struct Row {
    const char* spec;
    Role role;
    int64_t ops;
  };
  // fp32 0; fp16/bf16 1 (convert); fp8 2 (max + convert); int 2; dfp 2 + SR (stochastic by
  // default) = 3; luq_fp4 2 + SR = 3; mls 3, + SR for the error role (stochastic by default).
  const Row rows[] = {{"fp32", Role::kActivation, 0},
                      {"fp16", Role::kActivation, 1},
                      {"bf16", Role::kError, 1},
                      {"fp16:rounding=stochastic", Role::kError, 2},
                      {"fp8_e4m3", Role::kActivation, 2},
                      {"fp8_e5m2", Role::kError, 2},
                      {"int8", Role::kWeight, 2},
                      {"int4_sawb", Role::kActivation, 2},
                      {"dfp8", Role::kActivation, 3},
                      {"dfp8:rounding=nearest", Role::kActivation, 2},
                      {"luq_fp4", Role::kError, 3},
                      {"mls_m1e2", Role::kWeight, 3},
                      {"mls_m1e2", Role::kActivation, 3},
                      {"mls_m1e2", Role::kError, 4},
                      {"mls_m1e2:rounding_error=nearest", Role::kError, 3},
                      {"mls_m1e2:rounding_weight=stochastic", Role::kWeight, 4}};
  for (const Row& r : rows) {
    INFO(r.spec << " " << role_name(r.role));
    FormatCost c = probe_format_cost(*fmt_of(r.spec), r.role, 64);
    CHECK(c.quant_ops_per_element == r.ops);
  }
  FormatInfo fp32;
  fp32.kind = ElementKind::kFloat;
  fp32.code_bits = 32;
  CHECK(quant_ops_per_element(fp32, true) == 0);
}

TEST_CASE("bits per element: code bits plus amortised group scales") {
  auto bits = [](const std::string& spec, Role r, int64_t extent) {
    return probe_format_cost(*fmt_of(spec), r, extent).bits();
  };
  // mls_m1e2: 1 + 2 + 1 = 4 code bits; rank-2 groups of 16 along the reduction, 8-bit scales.
  CHECK(bits("mls_m1e2", Role::kActivation, 144) == Approx(4.5));  // 144 = 9 x 16
  CHECK(probe_format_cost(*fmt_of("mls_m1e2"), Role::kActivation, 144).group_elements == 16);
  // K = 27: each probe row has groups of 16 and 11 -> 4 groups over 54 elements, mean 13.5.
  CHECK(bits("mls_m1e2", Role::kWeight, 27) == Approx(4 + 8 / 13.5));
  CHECK(bits("mls_m1e2", Role::kWeight, 1) == Approx(12));        // one element per group
  CHECK(bits("mls_m1e2", Role::kWeight, 100000) == Approx(4.5));  // probe capped at 1024
  CHECK(bits("mls_m1e2:group_activation=k32", Role::kActivation, 64) == Approx(4.25));
  CHECK(bits("mls_m1e2:group_activation=tensor", Role::kActivation, 64) == Approx(4));
  CHECK(bits("mls_m4e2", Role::kActivation, 64) == Approx(7.5));  // 1 + 2 + 4 = 7 code bits
  // Per-tensor scales are negligible.
  CHECK(bits("fp32", Role::kActivation, 64) == 32);
  CHECK(bits("fp8_e4m3", Role::kActivation, 64) == 8);
  CHECK(bits("dfp8", Role::kActivation, 64) == 8);
  CHECK(bits("int8", Role::kActivation, 64) == 8);
  CHECK(bits("luq_fp4", Role::kError, 64) == 4);
  // Per-channel int8 on the rank-2 probe: one fp32 scale per row of L = 144 elements.
  CHECK(bits("int8:granularity=channel", Role::kWeight, 144) == Approx(8 + 32.0 / 144));
}

TEST_CASE("GEMM ops: operand bits, outputs, quant work, compute cycles by hand") {
  ArchConfig a = default_arch();  // mls_m1e2 32x32, 32 lanes, 32 quant elements per cycle
  a.pe.dataflow = Dataflow::kWs;  // the hand-derived figures below are weight-stationary
  Workload w = one_layer(fc_layer());
  SimPlan p = plan_simulation(a, w);
  REQUIRE(p.ops.size() == 4);
  const OpWork& f = p.ops[0];
  CHECK(f.phase == Phase::kFwd);
  CHECK(f.a.bits() == Approx(4.5));    // activation, K = 32: two groups of 16
  CHECK(f.b.bits() == Approx(4.5));    // weight, same
  CHECK(f.out.bits() == Approx(4.8));  // activation, extent N = 10: groups of 10 -> 8/10
  CHECK(f.problem.psum_bits == 32);
  // ws: S_R = K = 32 (1 fold), S_C = N = 10 (1 fold), T = M = 64: 64 + 2*32 + 32 - 2 = 158.
  CHECK(f.compute_cycles == 158);
  CHECK(f.folds == 1);
  CHECK(f.tiles == 1);
  CHECK(f.items == 1);  // few tiles, but one fold: one step
  CHECK(f.quant_elements == 640);
  CHECK(f.quant_ops == 640 * 3);
  CHECK(f.macs == 64 * 10 * 32);

  const OpWork& d = p.ops[1];
  CHECK(d.phase == Phase::kDgrad);
  CHECK(d.a.bits() == Approx(4.8));  // error, K = 10
  CHECK(d.a.stochastic);
  CHECK(d.out.bits() == Approx(4.5));  // error format, N = 32
  CHECK(d.quant_ops == 64 * 32 * 4);   // error role rounds stochastically: 3 + 1
  CHECK(d.compute_cycles == closed_form(a, w.layers[0].ops[1]));

  const OpWork& g = p.ops[2];
  CHECK(g.phase == Phase::kWgrad);
  CHECK(g.out.bits() == 32);
  CHECK(g.quant_elements == 0);
  CHECK(g.quant_ops == 0);

  // update: 330 parameters x 4 ops = 1320 ops, ceil(1320 / 32) = 42 cycles; reads w, g, v in
  // fp32 (12 bytes each), writes w, v (8 bytes) + the mls weight copy ceil(330 * 4.5 / 8) = 186.
  const OpWork& u = p.ops[3];
  CHECK(u.phase == Phase::kUpdate);
  CHECK(u.vector_ops == 1320);
  CHECK(u.compute_cycles == 42);
  CHECK(u.demand.dram_read_bytes() == 3960);
  CHECK(u.demand.dram_write_bytes() == 2640 + 186);
  CHECK(u.quant_elements == 330);
  CHECK(u.quant_ops == 990);
  CHECK(u.chunks == 8);
  check_items(p, a.quant_elements_per_cycle);
}

TEST_CASE("vector ops: ops, cycles, traffic at the phase's format, quantization") {
  ArchConfig a = default_arch();
  Workload w = one_layer(relu_layer());
  SimPlan p = plan_simulation(a, w);
  REQUIRE(p.ops.size() == 2);
  const OpWork& f = p.ops[0];
  CHECK(f.vector_ops == 1000);
  CHECK(f.compute_cycles == 32);  // ceil(1000 / 32)
  // 1000 activations at 4.5 bits = 562.5 -> 563 bytes each way.
  CHECK(f.demand.dram_read_bytes() == 563);
  CHECK(f.demand.dram_write_bytes() == 563);
  CHECK(f.quant_ops == 3000);
  CHECK(f.chunks == 8);
  const OpWork& d = p.ops[1];
  CHECK(d.phase == Phase::kDgrad);
  CHECK(d.quant_ops == 4000);  // error format, stochastic
  // wgrad element-wise ops produce fp32 parameter gradients: no quantization.
  LayerSpec bn;
  bn.name = "bn";
  bn.ops = {vec(Phase::kWgrad, "bn_param_grad", 512, 5)};
  SimPlan pb = plan_simulation(a, one_layer(bn));
  CHECK(pb.ops[0].quant_ops == 0);
  CHECK(pb.ops[0].compute_cycles == 80);  // 2560 / 32
  check_items(p, a.quant_elements_per_cycle);
}

TEST_CASE("vector chunks: enough for the buffers") {
  ArchConfig a = default_arch();
  a.buffers.ifmap.capacity_bytes = 1000;  // usable 500 (double-buffered)
  LayerSpec l;
  l.name = "act";
  l.ops = {vec(Phase::kFwd, "relu_fwd", 100000, 1)};
  SimPlan p = plan_simulation(a, one_layer(l));
  // 100000 x 4.5 / 8 = 56250 bytes in: ceil(56250 / 500) = 113 chunks.
  CHECK(p.ops[0].chunks == 113);
  check_items(p, a.quant_elements_per_cycle);
}

TEST_CASE("few tiles: a tile is split into fold steps with exact apportionment") {
  ArchConfig a = default_arch();
  a.pe.dataflow = Dataflow::kWs;  // the hand-derived figures below are weight-stationary
  a.pe.rows = a.pe.cols = 4;
  LayerSpec l;
  l.name = "g";
  // ws 4x4: S_R = K = 48 -> 12 row folds, S_C = N = 4, T = M = 10; per fold 10 + 8 + 4 - 2 = 20.
  l.ops = {gemm(Phase::kFwd, 10, 4, 48, Role::kActivation, Role::kWeight)};
  SimPlan p = plan_simulation(a, one_layer(l));
  const OpWork& op = p.ops[0];
  REQUIRE(op.tiles == 1);
  REQUIRE(op.folds == 12);
  CHECK(op.items == 8);
  // c_j = floor(j * 12 / 8) = 0 1 3 4 6 7 9 10 12: folds 1 2 1 2 1 2 1 2.
  WorkCursor c(op, 32);
  WorkItem it;
  std::vector<int64_t> folds, cycles;
  while (c.next(it)) {
    folds.push_back(it.folds);
    cycles.push_back(it.compute_cycles);
  }
  CHECK(folds == std::vector<int64_t>{1, 2, 1, 2, 1, 2, 1, 2});
  CHECK(cycles == std::vector<int64_t>{20, 40, 20, 40, 20, 40, 20, 40});
  CHECK(op.compute_cycles == 240);
  check_items(p, 32);
}

TEST_CASE("groups and samples repeat the per-group tiles; compute equals the closed form") {
  ArchConfig a = default_arch();
  LayerSpec l;
  l.name = "dw";
  l.ops = {gemm(Phase::kFwd, 100, 1, 9, Role::kActivation, Role::kWeight, 16),
           gemm(Phase::kDgrad, 100, 9, 1, Role::kError, Role::kWeight, 16, 3)};
  SimPlan p = plan_simulation(a, one_layer(l));
  CHECK(p.ops[0].compute_cycles == closed_form(a, l.ops[0]));
  CHECK(p.ops[1].compute_cycles == closed_form(a, l.ops[1]));
  CHECK(p.ops[1].repeats == 48);
  // SMP: the error quantization repeats per sample.
  CHECK(p.ops[1].quant_elements == 100 * 9 * 16 * 3);
  check_items(p, a.quant_elements_per_cycle);
}

TEST_CASE("compute cycles never depend on buffers or DRAM; work items add up") {
  Workload w = zoo_workload("resnet20", 2);
  ArchConfig big = default_arch();
  ArchConfig tiny = default_arch();
  tiny.buffers.ifmap.capacity_bytes = 2048;
  tiny.buffers.filter.capacity_bytes = 2048;
  tiny.buffers.ofmap.capacity_bytes = 8192;
  SimPlan pb = plan_simulation(big, w), pt = plan_simulation(tiny, w);
  REQUIRE(pb.ops.size() == pt.ops.size());
  for (size_t i = 0; i < pb.ops.size(); ++i) {
    CHECK(pb.ops[i].compute_cycles == pt.ops[i].compute_cycles);
    if (pb.ops[i].kind == OpKind::kGemm) {
      const LayerSpec& l = w.layers[pb.ops[i].layer_index];
      Op op = l.ops[pb.ops[i].op_index];
      REQUIRE(apply_dgrad_lowering(l, w.batch, big.mapping.dgrad_lowering, op));
      CHECK(pb.ops[i].compute_cycles == closed_form(big, op));
    }
  }
  CHECK(pt.tiles > pb.tiles);
  check_items(pt, 32);
  check_items(pb, 32);
}

TEST_CASE("per-layer precision override: same cycles, other bits") {
  ArchConfig a = default_arch();
  LayerSpec l = fc_layer();
  SimPlan base = plan_simulation(a, one_layer(l));
  // The layer in fp32 (all three roles: a GEMM's two formats must be a pair one MAC family
  // executes, so fp32 weights with mls activations are refused, naming the layer and operands).
  l.precision = {"fp32", "mls_m1e2", ""};
  try {
    plan_simulation(a, one_layer(l));
    FAIL("expected a UserError");
  } catch (const UserError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("layer fc fwd gemm: operands activation x weight: "
                                           "formats 'mls_m1e2' and 'fp32' cannot share a MAC "
                                           "array"));
  }
  l.precision = {"fp32", "fp32", "fp32"};
  SimPlan over = plan_simulation(a, one_layer(l));
  CHECK(over.ops[0].b.bits() == 32);
  CHECK(over.ops[0].a.bits() == 32);
  CHECK(over.ops[0].compute_cycles == base.ops[0].compute_cycles);
  CHECK(over.ops[3].quant_ops == 0);  // fp32 weights need no quantization after the update
  l.precision.weight = "bogus";
  try {
    plan_simulation(a, one_layer(l));
    FAIL("expected a UserError");
  } catch (const UserError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("layer fc fwd gemm: "));
    CHECK_THAT(e.what(), Catch::Contains("<layer fc precision.weight>"));
  }
}

TEST_CASE("a buffer too small for the smallest legal tile names the op") {
  ArchConfig a = default_arch();
  a.buffers.ifmap.capacity_bytes = 16;  // usable 8 bytes
  try {
    plan_simulation(a, one_layer(fc_layer()));
    FAIL("expected a UserError");
  } catch (const UserError& e) {
    CHECK_THAT(e.what(),
               Catch::StartsWith("layer fc fwd gemm: tiling: ifmap buffer too small for the "
                                 "smallest legal tile"));
  }
}

TEST_CASE("scalesim_compat: one cycle less per GEMM op, taken off the last item") {
  ArchConfig a = default_arch();
  a.pe.dataflow = Dataflow::kWs;  // the hand-derived figures below are weight-stationary
  a.pe.scalesim_compat = true;
  SimPlan p = plan_simulation(a, one_layer(fc_layer()));
  CHECK(p.ops[0].compute_cycles == 157);
  check_items(p, 32);
}

TEST_CASE("layers.csv: exact header, quoting") {
  CHECK(std::string(layers_csv_header()) ==
        "layer,phase,op,m,n,k,macs,folds,cycles,compute_cycles,stall_cycles,utilization_fraction,"
        "ifmap_sram_read_bytes,filter_sram_read_bytes,ofmap_sram_write_bytes,dram_read_bytes,"
        "dram_write_bytes,quant_ops,vector_ops");
  OpRow r;
  r.layer = "a,\"b\"";
  r.phase = "fwd";
  r.op = "gemm";
  r.m = 1;
  r.cycles = 10;
  r.compute_cycles = 7;
  r.stall_cycles = 3;
  r.utilization = 0.25;
  std::string csv = layers_csv({r});
  CHECK(csv == std::string(layers_csv_header()) +
                   "\n\"a,\"\"b\"\"\",fwd,gemm,1,0,0,0,0,10,7,3,0.250000,0,0,0,0,0,0,0\n");
}

TEST_CASE("layers.csv is read by column name, whatever the order") {
  OpRow r;
  r.layer = "a,b";
  r.phase = "wgrad";
  r.op = "gemm";
  r.m = 3;
  r.k = 5;
  r.macs = 60;
  r.utilization = 0.125;
  r.vector_ops = 9;
  const std::vector<OpRow> back = parse_layers_csv(layers_csv({r, r}), "l.csv");
  REQUIRE(back.size() == 2);
  CHECK(layers_csv(back) == layers_csv({r, r}));
  // The same table with its columns reversed parses to the same rows.
  const std::vector<OpRowColumn>& cols = op_row_columns();
  std::string reversed;
  for (size_t i = cols.size(); i-- > 0;) reversed += std::string(cols[i].name) + (i ? "," : "\n");
  reversed += "9,0,0,0,0,0,0,0.125000,0,0,0,0,60,5,0,3,gemm,wgrad,\"a,b\"\n";
  const std::vector<OpRow> rev = parse_layers_csv(reversed, "r.csv");
  REQUIRE(rev.size() == 1);
  CHECK(layers_csv(rev) == layers_csv({r}));
  const std::string header = layers_csv_header();
  CHECK_THROWS_WITH(parse_layers_csv(header + ",utilisation_fraction\n", "l.csv"),
                    Catch::Contains("l.csv:1: error: unknown layers.csv column "
                                    "'utilisation_fraction'") &&
                        Catch::Contains("did you mean 'utilization_fraction'"));
  CHECK_THROWS_WITH(parse_layers_csv("layer,phase,op\n", "l.csv"),
                    Catch::Contains("l.csv:1: error: layers.csv lacks the column 'm'"));
  CHECK_THROWS_WITH(parse_layers_csv(header + ",macs\n", "l.csv"),
                    Catch::Contains("column 'macs' appears twice"));
}

TEST_CASE("every buffer that is too small is reported, each line prefixed with the op") {
  ArchConfig a = default_arch();
  a.buffers.ifmap.capacity_bytes = 16;
  a.buffers.ofmap.capacity_bytes = 16;
  try {
    plan_simulation(a, one_layer(fc_layer()));
    FAIL("expected a UserError");
  } catch (const UserError& e) {
    const std::string msg = e.what();
    const size_t nl = msg.find('\n');
    REQUIRE(nl != std::string::npos);
    CHECK_THAT(msg.substr(0, nl), Catch::StartsWith("layer fc fwd gemm: tiling: ifmap buffer"));
    CHECK_THAT(msg.substr(nl + 1), Catch::StartsWith("layer fc fwd gemm: tiling: ofmap buffer"));
  }
}

TEST_CASE("dgrad lowering: transposed conv dgrad GEMM shape, no col2im, K segments per lowering") {
  // One 3x3 conv, 8 -> 16 channels, 6x6 input, stride 1 pad 1, batch 2, MLS (n,c) groups.
  LayerSpec l;
  l.name = "c";
  l.type = LayerType::kConv2d;
  l.in_channels = 8;
  l.out_channels = 16;
  l.kernel_h = l.kernel_w = 3;
  l.pad_h = l.pad_w = 1;
  l.in_h = l.in_w = 6;
  Workload w;
  w.network = "t";
  w.batch = 2;
  w.input = {8, 6, 6};
  w.layers = {l};
  expand_workload(w);
  ArchConfig a = default_arch();
  REQUIRE(a.pe.activation->info().name == "mls_m1e2");
  auto find = [](const SimPlan& p, Phase ph, const char* name) -> const OpWork* {
    for (const OpWork& o : p.ops)
      if (o.phase == ph && o.op == name) return &o;
    return nullptr;
  };
  for (DgradLowering low : {DgradLowering::kIm2col, DgradLowering::kTransposed}) {
    a.mapping.dgrad_lowering = low;
    const SimPlan p = plan_simulation(a, w);
    const OpWork* fwd = find(p, Phase::kFwd, "gemm");
    const OpWork* dg = find(p, Phase::kDgrad, "gemm");
    const OpWork* wg = find(p, Phase::kWgrad, "gemm");
    REQUIRE((fwd && dg && wg));
    // fwd: K = (ci, r, s) = 72 in 8 segments of 9; wgrad: K = (n, ho, wo) = 72 in 2 segments.
    CHECK(fwd->k_segments == 8);
    CHECK(wg->k_segments == 2);
    // Activations: one scale per (n, c) plane of 36 elements; weights per (co, ci) of 9.
    CHECK(fwd->a.group_elements == 36.0);
    CHECK(fwd->b.group_elements == 9.0);
    if (low == DgradLowering::kIm2col) {
      // M = 2*6*6, N = 8*9, K = 16: a new (n, co) group at every k.
      CHECK((dg->m == 72 && dg->n == 72 && dg->k == 16));
      CHECK(dg->k_segments == 16);
      CHECK(find(p, Phase::kDgrad, "col2im") != nullptr);
    } else {
      // M = (n, h, w) = 72, N = ci = 8, K = (co, r, s) = 144 in 16 segments of 9.
      CHECK((dg->m == 72 && dg->n == 8 && dg->k == 144));
      CHECK(dg->macs == 72 * 8 * 144);
      CHECK(dg->k_segments == 16);
      CHECK(find(p, Phase::kDgrad, "col2im") == nullptr);
    }
  }
  // Stride 2: the transposed GEMM runs over every input pixel (zero taps included).
  w.layers[0].stride_h = w.layers[0].stride_w = 2;
  expand_workload(w);
  a.mapping.dgrad_lowering = DgradLowering::kTransposed;
  const SimPlan p2 = plan_simulation(a, w);
  const OpWork* dg = find(p2, Phase::kDgrad, "gemm");
  REQUIRE(dg);
  CHECK((dg->m == 72 && dg->n == 8 && dg->k == 144));
}

TEST_CASE("size limits: MACs per GEMM op and tiles per GEMM are checked before tiling") {
  ArchConfig a = default_arch();
  LayerSpec l;
  l.name = "huge";
  l.type = LayerType::kMatmul;
  // 2^31 x 2^31 x 1 = 2^62 MACs: refused at once, naming the op and the limit.
  l.ops = {
      gemm(Phase::kFwd, int64_t{1} << 31, int64_t{1} << 31, 1, Role::kActivation, Role::kWeight)};
  CHECK_THROWS_WITH(plan_simulation(a, one_layer(l)),
                    Catch::StartsWith("layer huge fwd gemm: GEMM m 2147483648 x n 2147483648") &&
                        Catch::Contains("limit of 1125899906842624 (2^50) MACs per GEMM op"));
  // Exactly at the limit the MAC check passes (2^25 x 2^25 x 1); the tiling then counts its
  // tiles in closed form and refuses more than kMaxTilesPerGemm without building them.
  l.ops = {
      gemm(Phase::kFwd, int64_t{1} << 25, int64_t{1} << 25, 1, Role::kActivation, Role::kWeight)};
  CHECK_THROWS_WITH(plan_simulation(a, one_layer(l)),
                    Catch::Contains("tiles per GEMM") && Catch::Contains("16777216"));
}

TEST_CASE("serial cycle bound: at least the compute cycles and the DRAM transfer time") {
  ArchConfig a = default_arch();
  a.dram.bytes_per_cycle = 0.5;
  a.dram.latency_cycles = 7;
  Workload w = one_layer(fc_layer());
  w.layers.push_back(relu_layer());
  const SimPlan p = plan_simulation(a, w);
  double compute = 0, bytes = 0, items = 0;
  for (const OpWork& op : p.ops) {
    compute += static_cast<double>(op.compute_cycles);
    bytes += static_cast<double>(op.demand.dram_read_bytes() + op.demand.dram_write_bytes());
    items += static_cast<double>(op.items);
  }
  const double bound = serial_cycle_bound(p, a);
  CHECK(bound >= compute + bytes / 0.5 + 2 * items * 7);
  CHECK(bound < 2 * (compute + bytes / 0.5 + 2 * items * 8) + 10 * items);  // not absurdly loose
}
