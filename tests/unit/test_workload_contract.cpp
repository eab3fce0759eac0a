// What the workload side declares and the cost side consumes (architecture-review items):
//  * element-wise ops carry a declared VectorKind (the expansion and trace files declare it; the
//    energy model prices it, never guessing from the op's name);
//  * trace files carry `groups` of every grouped GEMM, so m x n x k x groups summed over a trace's
//    ops is the network's MAC count without re-expanding anything;
//  * one rule for the bytes a tensor occupies (tensor_bytes), used by tiling and the plan.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "models/arch/arch_loader.h"
#include "models/core/error.h"
#include "models/energy/actions.h"
#include "models/memory/tiling.h"
#include "models/sim_plan/sim_plan.h"
#include "models/workload/trace_io.h"
#include "models/workload/workload.h"
#include "models/workload/zoo.h"

using namespace lbsim;

namespace {

std::string write_tmp(const std::string& name, const std::string& text) {
  const std::string path = "lbsim_test_workload_contract_" + name + ".yaml";
  std::ofstream(path) << text;
  return path;
}

// A one-layer trace with recorded ops of an activation layer (its expansion: gelu_fwd).
std::string trace_with_ops(const std::string& ops) {
  return "schema_version: 1\nnetwork: t\nbatch: 1\ninput: [16]\nshapes_chain: false\nlayers:\n"
         "  - name: act\n    type: activation\n    kind: gelu\n    elements: 16\n    ops:\n" +
         ops;
}

std::string vector_kind_of_actions(const OpWork& w) {
  for (const ActionCount& a : count_op_actions(w, default_arch()).actions)
    if (a.key.name == "vector_op") return *a.key.param("kind");
  return "";
}

}  // namespace

TEST_CASE("the expansion declares each vector op's kind") {
  Workload w = zoo_workload("resnet20", 2);
  int norms = 0, updates = 0, activations = 0;
  for (const LayerSpec& l : w.layers)
    for (const Op& op : l.ops) {
      if (op.kind != OpKind::kVector) continue;
      if (op.name == "bn_fwd" || op.name == "bn_bwd" || op.name == "bn_param_grad") {
        CHECK(op.vector_kind == VectorKind::kNorm);
        ++norms;
      } else if (op.name == "sgd_momentum") {
        CHECK(op.vector_kind == VectorKind::kUpdate);
        ++updates;
      } else {
        CHECK(op.vector_kind == VectorKind::kActivation);
        ++activations;
      }
    }
  // resnet20: 19 batch norms (3 ops each), 20 conv/linear + 19 bn updates.
  CHECK(norms == 19 * 3);
  CHECK(updates > 0);
  CHECK(activations > 0);
  CHECK(std::string(vector_kind_name(VectorKind::kNorm)) == "norm");
  CHECK(parse_vector_kind("update") == VectorKind::kUpdate);
}

TEST_CASE("energy prices a vector op by its declared kind, not its name") {
  OpWork w;
  w.kind = OpKind::kVector;
  w.vector_ops = 10;
  w.op = "rms_norm";  // a name no prefix rule knows
  w.vector_kind = VectorKind::kNorm;
  CHECK(vector_kind_of_actions(w) == "norm");
  w.op = "bn_fwd";  // a norm-looking name declared as something else stays what it declares
  w.vector_kind = VectorKind::kActivation;
  CHECK(vector_kind_of_actions(w) == "activation");
  w.op = "relu_fwd";
  w.vector_kind = VectorKind::kUpdate;
  CHECK(vector_kind_of_actions(w) == "update");
}

TEST_CASE("trace files: vector_kind read, defaulted from the matched op, written back") {
  const std::string path = write_tmp(
      "kinds", trace_with_ops("      - {phase: fwd, op: vector, name: gelu_fwd, elements: 16}\n"
                              "      - {phase: fwd, op: vector, name: rms_norm, elements: 16, "
                              "vector_kind: norm}\n"
                              "      - {phase: fwd, op: vector, name: other, elements: 16}\n"));
  LoadedTrace t = read_trace(path);
  const auto& ops = t.workload.layers[0].ops;
  REQUIRE(ops.size() == 3);
  CHECK(ops[0].vector_kind == VectorKind::kActivation);  // matched gelu_fwd of the expansion
  CHECK(ops[1].vector_kind == VectorKind::kNorm);        // declared
  CHECK(ops[2].vector_kind == VectorKind::kActivation);  // no match, not declared: schema default
  const std::string text = trace_text(t.workload, false, ".");
  CHECK(text.find("name: rms_norm, elements: 16, vector_kind: norm}") != std::string::npos);
  CHECK(text.find("vector_kind: activation") == std::string::npos);  // defaults are omitted
  std::remove(path.c_str());

  const std::string bad = write_tmp(
      "bad_kind", trace_with_ops("      - {phase: fwd, op: vector, name: x, elements: 16, "
                                 "vector_kind: normalise}\n"));
  try {
    read_trace(bad);
    FAIL("expected a UserError");
  } catch (const UserError& e) {
    const std::string msg = e.what();
    CHECK(msg.find(bad + ":12:") != std::string::npos);
    CHECK(msg.find("vector_kind") != std::string::npos);
    CHECK(msg.find("activation") != std::string::npos);
    CHECK(msg.find("norm") != std::string::npos);
  }
  std::remove(bad.c_str());
}

TEST_CASE("trace GEMM ops carry groups: mobilenet_v2 forward sums to 300.8 M MACs at batch 1") {
  const Workload w = zoo_workload("mobilenet_v2", 1);
  const YAML::Node doc = YAML::Load(trace_text(w, false, "."));
  int64_t macs = 0, grouped = 0;
  for (const YAML::Node& layer : doc["layers"])
    for (const YAML::Node& op : layer["ops"]) {
      if (op["phase"].as<std::string>() != "fwd" || op["op"].as<std::string>() != "gemm") continue;
      const int64_t groups = op["groups"] ? op["groups"].as<int64_t>() : 1;
      const int64_t samples = op["samples"] ? op["samples"].as<int64_t>() : 1;
      if (groups > 1) ++grouped;
      macs +=
          op["m"].as<int64_t>() * op["n"].as<int64_t>() * op["k"].as<int64_t>() * groups * samples;
    }
  CHECK(grouped == 17);  // the 17 depthwise 3x3 convolutions
  CHECK(macs == w.total_macs(Phase::kFwd));
  CHECK((macs + 50000) / 100000 == 3008);  // 300.8 M
}

TEST_CASE("one bytes rule: tensor_bytes by hand, used by tiling and by the plan") {
  CHECK(tensor_bytes(0, 8) == 0);
  CHECK(tensor_bytes(7, 1) == 1);          // 7 bits -> 1 byte
  CHECK(tensor_bytes(3, 4.25) == 2);       // 12.75 bits -> 2 bytes
  CHECK(tensor_bytes(1000, 4.5) == 563);   // 4500 bits = 562.5 bytes -> 563
  CHECK(tensor_bytes(1000, 4.25) == 532);  // 531.25 -> 532
  CHECK_THROWS_AS(tensor_bytes(5, 0), UserError);
  CHECK_THROWS_AS(tensor_bytes(5, 2000), UserError);

  // Vector op: 1000 elements read and written at the default arch's activation format
  // (mls_m1e2: 4 bits + an 8-bit scale per 16 elements = 4.5 bits).
  ArchConfig a = default_arch();
  Workload wl;
  wl.network = "t";
  LayerSpec l;
  l.name = "act";
  l.type = LayerType::kActivation;
  l.ops = {vector_op(Phase::kFwd, "relu_fwd", 1000, 1)};
  wl.layers.push_back(l);
  SimPlan p = plan_simulation(a, wl);
  REQUIRE(p.ops[0].vec.bits() == 4.5);
  CHECK(p.ops[0].demand.dram_read_ifmap_bytes == 563);
  CHECK(p.ops[0].demand.dram_write_ofmap_bytes == 563);

  // Tiling: each operand moved once is exactly tensor_bytes of it.
  TilingProblem tp;
  tp.m = 100;
  tp.n = 30;
  tp.k = 70;
  tp.ifmap_bits = 4.25;
  tp.filter_bits = 4.5;
  tp.ofmap_bits = 8;
  tp.rows = tp.cols = 8;
  tp.ifmap.capacity_bytes = tp.filter.capacity_bytes = tp.ofmap.capacity_bytes = 1 << 20;
  TilePlan plan = plan_tiles(tp);
  CHECK(plan.min_dram_read_bytes == tensor_bytes(100 * 70, 4.25) + tensor_bytes(70 * 30, 4.5));
  CHECK(plan.min_dram_write_bytes == tensor_bytes(100 * 30, 8));
}
