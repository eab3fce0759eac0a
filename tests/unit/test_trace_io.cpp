// Trace schema v1 I/O and the workload resolver: round trips of every zoo network (YAML and
// JSON), hand-written traces with and without recorded ops (expected ops derived by hand in the
// comments), YAML == JSON, the exact first error line of every bad trace in
// tests/data/traces/bad/, and the batch rules of resolve_workload.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "models/core/error.h"
#include "models/workload/precision_map.h"
#include "models/workload/resolve.h"
#include "models/workload/trace_io.h"
#include "models/workload/workload.h"
#include "models/workload/zoo.h"

using namespace lbsim;
namespace fs = std::filesystem;

namespace {

std::string trace_path(const std::string& name) {
  return std::string(LBSIM_TEST_DATA) + "/traces/" + name;
}

// A fresh empty directory, removed at the end of the test case.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "lbsim_trace_io_XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    path = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The first difference between two ops / layers / workloads, or "" when they are identical.
std::string op_diff(const Op& a, const Op& b) {
  std::ostringstream d;
  if (a.phase != b.phase) d << "phase " << phase_name(a.phase) << " vs " << phase_name(b.phase);
  if (a.kind != b.kind) d << "kind";
  if (a.name != b.name) d << "name " << a.name << " vs " << b.name;
  if (a.m != b.m || a.n != b.n || a.k != b.k) d << "mnk";
  if (a.groups != b.groups) d << "groups " << a.groups << " vs " << b.groups;
  if (a.samples != b.samples) d << "samples " << a.samples << " vs " << b.samples;
  if (a.a_role != b.a_role || a.b_role != b.b_role) d << "roles";
  if (a.elements != b.elements) d << "elements";
  if (a.ops_per_element != b.ops_per_element) d << "ops_per_element";
  return d.str();
}

std::string layer_diff(const LayerSpec& a, const LayerSpec& b) {
  const std::string where = "layer " + a.name + ": ";
  if (a.name != b.name) return where + "name " + b.name;
  if (a.type != b.type) return where + "type";
  if (a.in_channels != b.in_channels || a.out_channels != b.out_channels) return where + "channels";
  if (a.kernel_h != b.kernel_h || a.kernel_w != b.kernel_w) return where + "kernel";
  if (a.stride_h != b.stride_h || a.stride_w != b.stride_w) return where + "stride";
  if (a.pad_h != b.pad_h || a.pad_w != b.pad_w) return where + "padding";
  if (a.dilation_h != b.dilation_h || a.dilation_w != b.dilation_w) return where + "dilation";
  if (a.groups != b.groups) return where + "groups";
  if (a.in_h != b.in_h || a.in_w != b.in_w) return where + "input_hw";
  if (a.out_h != b.out_h || a.out_w != b.out_w) return where + "output_hw";
  if (a.bias != b.bias) return where + "bias";
  if (a.rows != b.rows) return where + "rows";
  if (a.count != b.count || a.m != b.m || a.n != b.n || a.k != b.k) return where + "matmul";
  if (a.elements != b.elements) return where + "elements";
  if (a.kind != b.kind) return where + "kind";
  if (a.input_grad != b.input_grad) return where + "input_grad";
  if (a.precision.weight != b.precision.weight ||
      a.precision.activation != b.precision.activation || a.precision.error != b.precision.error)
    return where + "precision";
  if (a.tensors != b.tensors) return where + "tensors";
  if (a.ops.size() != b.ops.size()) return where + "op count";
  for (size_t i = 0; i < a.ops.size(); ++i) {
    std::string d = op_diff(a.ops[i], b.ops[i]);
    if (!d.empty()) return where + "op " + std::to_string(i) + ": " + d;
  }
  return "";
}

std::string workload_diff(const Workload& a, const Workload& b) {
  if (a.schema_version != b.schema_version) return "schema_version";
  if (a.network != b.network) return "network";
  if (a.batch != b.batch) return "batch";
  if (a.input != b.input) return "input";
  if (a.training != b.training) return "training";
  if (a.smp_samples != b.smp_samples) return "smp_samples";
  if (a.layers.size() != b.layers.size()) return "layer count";
  for (size_t i = 0; i < a.layers.size(); ++i) {
    std::string d = layer_diff(a.layers[i], b.layers[i]);
    if (!d.empty()) return d;
  }
  return "";
}

// The UserError text of reading `path`, or "" when it reads.
std::string error_of(const std::string& path) {
  try {
    read_trace(path);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// The roles the expansion gives conv/linear GEMMs in each phase.
Op gemm(Phase p, int64_t m, int64_t n, int64_t k, int64_t groups = 1, int64_t samples = 1) {
  return gemm_op(p, "gemm", m, n, k, groups, samples,
                 p == Phase::kDgrad ? Role::kError : Role::kActivation,
                 p == Phase::kWgrad ? Role::kError : Role::kWeight);
}

Op vec(Phase p, const std::string& name, int64_t elements, int64_t ops_per_element) {
  return vector_op(p, name, elements, ops_per_element);
}

void check_ops(const LayerSpec& l, const std::vector<Op>& expected) {
  INFO("layer " << l.name);
  REQUIRE(l.ops.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("op " << i);
    CHECK(op_diff(l.ops[i], expected[i]) == "");
  }
}

}  // namespace

TEST_CASE("trace: every zoo network round-trips through YAML and JSON", "[trace]") {
  TempDir dir;
  for (const auto& name : zoo_names()) {
    INFO("network " << name);
    const Workload w = zoo_workload(name, 4);
    for (const char* ext : {".yaml", ".json"}) {
      INFO("format " << ext);
      const std::string path = dir.file(name + ext);
      write_trace(w, path);
      LoadedTrace t = read_trace(path);
      CHECK(workload_diff(w, t.workload) == "");
      CHECK(t.shapes_chain);
      // Every layer's ops were written, so they are read back as recorded.
      CHECK(t.recorded_ops == std::vector<bool>(w.layers.size(), true));
      // Without ops the reader expands them again: the same workload.
      TraceWriteOptions no_ops;
      no_ops.ops = false;
      write_trace(w, path, no_ops);
      LoadedTrace e = read_trace(path);
      CHECK(workload_diff(w, e.workload) == "");
      CHECK(e.recorded_ops == std::vector<bool>(w.layers.size(), false));
    }
  }
  // Writing is atomic: nothing but the traces themselves is left in the directory.
  for (const auto& entry : fs::directory_iterator(dir.path))
    CHECK(entry.path().string().find(".tmp") == std::string::npos);
}

TEST_CASE("trace: the writer's layout is the README's", "[trace]") {
  // conv1 of ResNet-20 at batch 32: input 3x32x32, 16 filters 3x3, pad 1 -> 32x32.
  // fwd M = 32*32*32 = 32768, N = 16, K = 3*3*3 = 27; wgrad M = 27, N = 16, K = 32768;
  // no dgrad (first layer); update over 27*16 = 432 weights. Keys the reader derives (GEMM name,
  // groups 1, samples 1, roles, ops_per_element 4 of sgd_momentum) are left out.
  const std::string text = trace_text(zoo_workload("resnet20", 32), false, ".");
  const std::string expected =
      "schema_version: 1\n"
      "network: resnet20\n"
      "batch: 32\n"
      "input: [3, 32, 32]\n"
      "training: true\n"
      "smp_samples: 1\n"
      "layers:\n"
      "  - name: conv1\n"
      "    type: conv2d\n"
      "    in_channels: 3\n"
      "    out_channels: 16\n"
      "    kernel: [3, 3]\n"
      "    stride: [1, 1]\n"
      "    padding: [1, 1]\n"
      "    dilation: [1, 1]\n"
      "    groups: 1\n"
      "    input_hw: [32, 32]\n"
      "    output_hw: [32, 32]\n"
      "    bias: false\n"
      "    input_grad: false\n"
      "    ops:\n"
      "      - {phase: fwd, op: gemm, m: 32768, n: 16, k: 27}\n"
      "      - {phase: wgrad, op: gemm, m: 27, n: 16, k: 32768}\n"
      "      - {phase: update, op: vector, name: sgd_momentum, elements: 432}\n"
      "  - name: bn1\n";
  CHECK(text.substr(0, expected.size()) == expected);
  // Deterministic: the same text every time.
  CHECK(trace_text(zoo_workload("resnet20", 32), false, ".") == text);
  const std::string json = trace_text(zoo_workload("resnet20", 32), true, ".");
  const std::string json_head =
      "{\n  \"schema_version\": 1,\n  \"network\": \"resnet20\",\n  \"batch\": 32,\n";
  CHECK(json.substr(0, json_head.size()) == json_head);
  CHECK(json.find("        {\"phase\": \"fwd\", \"op\": \"gemm\", \"m\": 32768, \"n\": 16, "
                  "\"k\": 27},\n") != std::string::npos);
}

TEST_CASE("trace: a small CNN without ops is expanded by the rules", "[trace]") {
  const Workload w = load_trace(trace_path("small.yaml"));
  CHECK(w.network == "small_cnn");
  CHECK(w.batch == 2);
  CHECK(w.input == Shape{3, 8, 8});
  CHECK(w.training);
  CHECK(w.smp_samples == 1);
  REQUIRE(w.layers.size() == 9);
  const LayerSpec& conv1 = w.layers[0];
  // kernel: 3 and padding: 1 give both sizes; stride and dilation default to 1, output computed.
  CHECK(conv1.kernel_h == 3);
  CHECK(conv1.kernel_w == 3);
  CHECK(conv1.pad_h == 1);
  CHECK(conv1.pad_w == 1);
  CHECK(conv1.out_h == 0);
  CHECK_FALSE(conv1.input_grad);
  // conv1: out (8 + 2 - 2 - 1)/1 + 1 = 8. fwd M = 2*8*8 = 128, N = 4, K = 3*3*3 = 27; no dgrad;
  // wgrad M = 27, N = 4, K = 128; update 27*4 = 108 weights, 4 ops each.
  check_ops(conv1, {gemm(Phase::kFwd, 128, 4, 27), gemm(Phase::kWgrad, 27, 4, 128),
                    vec(Phase::kUpdate, "sgd_momentum", 108, 4)});
  // bn1: 2*256 = 512 elements; 2*4 = 8 parameters.
  check_ops(w.layers[1],
            {vec(Phase::kFwd, "bn_fwd", 512, 5), vec(Phase::kWgrad, "bn_param_grad", 512, 5),
             vec(Phase::kDgrad, "bn_bwd", 512, 4), vec(Phase::kUpdate, "sgd_momentum", 8, 4)});
  check_ops(w.layers[2],
            {vec(Phase::kFwd, "relu_fwd", 512, 1), vec(Phase::kDgrad, "relu_bwd", 512, 1)});
  // pool1: out (8 - 2)/2 + 1 = 4: 2*4*4*4 = 128 outputs, window 2*2 = 4 reads each.
  check_ops(w.layers[3],
            {vec(Phase::kFwd, "maxpool_fwd", 128, 4), vec(Phase::kDgrad, "maxpool_bwd", 128, 1)});
  // conv2, groups 2: Cin/G = 2, Cout/G = 4, out (4 + 2 - 2 - 1)/2 + 1 = 2. M = 2*2*2 = 8,
  // N = 4, K = 2*3*3 = 18 per group; dgrad M = 8, N = 18, K = 4; col2im 8*18*2 = 288 elements;
  // wgrad M = 18, N = 4, K = 8; update 18*8 weights + 8 biases = 152.
  check_ops(w.layers[4], {gemm(Phase::kFwd, 8, 4, 18, 2), gemm(Phase::kDgrad, 8, 18, 4, 2),
                          vec(Phase::kDgrad, "col2im", 288, 1), gemm(Phase::kWgrad, 18, 4, 8, 2),
                          vec(Phase::kUpdate, "sgd_momentum", 152, 4)});
  // skip (1x1, stride 2, from pool1's 4x4 output): out (4 - 1)/2 + 1 = 2. M = 8, N = 8, K = 4.
  check_ops(w.layers[5], {gemm(Phase::kFwd, 8, 8, 4), gemm(Phase::kDgrad, 8, 4, 8),
                          vec(Phase::kDgrad, "col2im", 32, 1), gemm(Phase::kWgrad, 4, 8, 8),
                          vec(Phase::kUpdate, "sgd_momentum", 32, 4)});
  // fc: 32 -> 10 over 2 rows; 320 weights + 10 biases.
  check_ops(w.layers[7],
            {gemm(Phase::kFwd, 2, 10, 32), gemm(Phase::kDgrad, 2, 32, 10),
             gemm(Phase::kWgrad, 32, 10, 2), vec(Phase::kUpdate, "sgd_momentum", 330, 4)});
  // fwd MACs: conv1 128*4*27 = 13824, conv2 8*4*18*2 = 1152, skip 8*8*4 = 256, fc 2*10*32 = 640.
  CHECK(w.total_macs(Phase::kFwd) == 15872);
  // dgrad: conv2 1152 + skip 256 + fc 640 (conv1 has none).
  CHECK(w.total_macs(Phase::kDgrad) == 2048);
}

TEST_CASE("trace: the same trace in YAML and JSON loads identically", "[trace]") {
  const Workload y = load_trace(trace_path("small.yaml"));
  const Workload j = load_trace(trace_path("small.json"));
  CHECK(workload_diff(y, j) == "");
}

TEST_CASE("trace: recorded ops are kept, absent keys come from the layer's expansion", "[trace]") {
  LoadedTrace t = read_trace(trace_path("recorded_ops.yaml"));
  const Workload& w = t.workload;
  CHECK(t.recorded_ops == std::vector<bool>(5, true));
  CHECK(w.smp_samples == 2);
  REQUIRE(w.layers.size() == 5);
  // proj: no dgrad recorded (input_grad false); the wgrad GEMM takes samples = smp_samples = 2
  // from the expanded wgrad GEMM; sgd_momentum its 4 ops per element.
  check_ops(w.layers[0], {gemm(Phase::kFwd, 8, 8, 8), gemm(Phase::kWgrad, 8, 8, 8, 1, 2),
                          vec(Phase::kUpdate, "sgd_momentum", 72, 4)});
  // scores (C = A (4 x 8) x B (8 x 4), 2 products): the recorded dgrad GEMM 8 x 4 x 4 matches dB
  // (M = k = 8, N = n = 4, K = m = 4): name gemm_db, A = activation, B = error, samples 2.
  const LayerSpec& mm = w.layers[1];
  REQUIRE(mm.ops.size() == 2);
  CHECK(mm.ops[0].a_role == Role::kActivation);
  CHECK(mm.ops[0].b_role == Role::kActivation);
  CHECK(mm.ops[0].macs() == 4 * 4 * 8 * 2);
  CHECK(mm.ops[1].name == "gemm_db");
  CHECK(mm.ops[1].a_role == Role::kActivation);
  CHECK(mm.ops[1].b_role == Role::kError);
  CHECK(mm.ops[1].samples == 2);
  CHECK(mm.ops[1].macs() == 8 * 4 * 4 * 2 * 2);
  // square (m = n = k = 4): both dgrad GEMMs have the same dims; they take dA's and dB's
  // defaults in turn.
  const LayerSpec& sq = w.layers[2];
  REQUIRE(sq.ops.size() == 3);
  CHECK(sq.ops[1].name == "gemm_da");
  CHECK(sq.ops[1].a_role == Role::kError);
  CHECK(sq.ops[1].b_role == Role::kActivation);
  CHECK(sq.ops[2].name == "gemm_db");
  CHECK(sq.ops[2].a_role == Role::kActivation);
  CHECK(sq.ops[2].b_role == Role::kError);
  // act: gelu_fwd matches (9 ops per element); "custom" matches nothing and keeps its 3.
  check_ops(w.layers[3], {vec(Phase::kFwd, "gelu_fwd", 32, 9), vec(Phase::kFwd, "custom", 7, 3)});
  // loss: `ops: []` records that nothing ran.
  CHECK(w.layers[4].ops.empty());
  // Round trip keeps all of it.
  TempDir dir;
  for (const char* name : {"r.yaml", "r.json"}) {
    write_trace(w, dir.file(name));
    CHECK(workload_diff(w, load_trace(dir.file(name))) == "");
  }
}

TEST_CASE("trace: precision and tensors", "[trace]") {
  const Workload w = load_trace(trace_path("with_tensors.yaml"));
  REQUIRE(w.layers.size() == 1);
  const LayerSpec& l = w.layers[0];
  CHECK_FALSE(w.training);
  // Inference: only the fwd GEMM, M = 2*8*8 = 128, N = 4, K = 27.
  check_ops(l, {gemm(Phase::kFwd, 128, 4, 27)});
  CHECK(l.precision.weight == "int8");
  CHECK(l.precision.activation == "mls_m1e2:rounding_activation=stochastic");
  CHECK(l.precision.error == "fp32");
  // Paths relative to the trace's directory, stored absolute and normalised.
  const fs::path dir = fs::absolute(trace_path("tensors")).lexically_normal();
  REQUIRE(l.tensors.size() == 2);
  CHECK(l.tensors.at("weight") == (dir / "conv1.weight.npy").string());
  CHECK(l.tensors.at("activation") == (dir / "conv1.activation.npy").string());
  // Written elsewhere, the paths are rewritten relative to the new file and still resolve.
  TempDir tmp;
  fs::create_directories(tmp.path / "sub");
  const std::string out = tmp.file("sub/t.yaml");
  write_trace(w, out);
  CHECK(workload_diff(w, load_trace(out)) == "");
  const std::string text = read_text(out);
  CHECK(text.find("precision: {weight: int8, activation: \"mls_m1e2:rounding_activation="
                  "stochastic\", error: fp32}") != std::string::npos);
  CHECK(text.find("conv1.weight.npy") != std::string::npos);
  // Relative ("../.." up from the temporary directory), not absolute.
  CHECK(text.find("tensors: {weight: \"../") != std::string::npos);
}

TEST_CASE("trace: bad traces give the exact first error line", "[trace]") {
  struct Case {
    const char* file;
    std::string line;  // after "<path>:"
  };
  const std::string types =
      "types: conv2d, linear, matmul, pool, batch_norm, layer_norm, activation, add, "
      "softmax_cross_entropy, embedding";
  const Case cases[] = {
      {"unknown_type.yaml",
       "15:11: error: layers[1].type: unknown layer type 'conv2' (did you mean 'conv2d'?); " +
           types},
      {"unknown_type.json",
       "7:28: error: layers[0].type: unknown layer type 'linera' (did you mean 'linear'?); " +
           types},
      {"negative_size.yaml", "17:19: error: layers[1].out_channels: must be >= 1, got -4"},
      {"no_chain.yaml",
       "19:15: error: layers[1].input_hw: input (4, 16, 16) (channels, h, w) is not produced by "
       "the network input or by any earlier layer; feature maps produced so far: (3, 8, 8), "
       "(4, 8, 8)"},
      {"overflow.yaml",
       "14:5: error: layers[1]: layer 'fc': in_features/out_features/rows: fwd op 'gemm' "
       "m*n*k*groups overflows 64 bits"},
      {"overflow_ops.yaml",
       "15:35: error: layers[0].ops[0].m: m*n*k*groups*samples = 1048576*1048576*1048576*16*1 "
       "overflows 64 bits"},
      {"unknown_key.yaml",
       "14:12: error: layers[0].stide: unknown key for layer; allowed: name, type, in_channels, "
       "out_channels, kernel, stride, padding, dilation, groups, input_hw, output_hw, bias, "
       "input_grad, precision, tensors, ops (did you mean 'stride'?)"},
      {"duplicate_name.yaml",
       "14:11: error: layers[1].name: duplicate layer name 'conv1' (first used at " +
           trace_path("bad/duplicate_name.yaml") + ":7:11)"},
      {"bad_precision.yaml",
       "14:38: error: layers[0].precision.error: unknown number format 'mls_m1e9x'; valid: bf16, "
       "dfp, dfp8, fp16, fp32, fp8_e4m3, fp8_e5m2, int, int4_sawb, int8, luq_fp4, mls, mls_m1e2, "
       "mx, mxfp4, mxfp6_e2m3, mxfp6_e3m2, mxfp8_e4m3, mxfp8_e5m2, mxint8, nvfp4, sawb (did you "
       "mean "
       "'mls_m1e2'?)"},
      {"missing_tensor.yaml",
       "14:23: error: layers[0].tensors.weight: file '" + trace_path("bad/tensors/nowhere.npy") +
           "' does not exist (paths are relative to the trace file's directory)"},
      {"schema_version.yaml",
       "2:17: error: schema_version: unsupported schema version 2; this lbsim reads version 1"},
  };
  for (const auto& c : cases) {
    const std::string path = trace_path(std::string("bad/") + c.file);
    INFO(path);
    CHECK(first_line(error_of(path)) == path + ":" + c.line);
  }
}

TEST_CASE("trace: every error of a file is reported at once, sorted by position", "[trace]") {
  const std::string p = trace_path("bad/several.yaml");
  CHECK(error_of(p) ==
        p + ":4:8: error: batch: must be >= 1, got 0\n" + p +
            ":6:11: error: training: 'maybe' is not a boolean; allowed: true, false\n" + p +
            ":8:5: error: layers[0].out_features: missing; output features\n" + p +
            ":13:17: error: layers[0].ops[0].phase: 'bwd' is not allowed; allowed: fwd, dgrad, "
            "wgrad, update (did you mean 'fwd'?)\n" +
            p + ":14:9: error: layers[0].ops[1].k: missing; GEMM reduction length (K)");
}

TEST_CASE("trace: file-level errors", "[trace]") {
  CHECK(error_of("nowhere/t.yaml") == "nowhere/t.yaml: error: cannot open file: no such file");
  CHECK(error_of(trace_path("small.txt")) ==
        trace_path("small.txt") +
            ": error: unknown trace file extension; expected .yaml, .yml or .json");
  TempDir dir;
  // A directory named like a trace used to read as an empty document ("schema_version: missing").
  fs::create_directory(dir.file("d.yaml"));
  CHECK(error_of(dir.file("d.yaml")) ==
        dir.file("d.yaml") + ": error: cannot open file: is a directory, not a file");
  fs::remove(dir.file("d.yaml"));
  const Workload w = zoo_workload("resnet20", 2);
  CHECK_THROWS_WITH(
      write_trace(w, dir.file("t.txt")),
      dir.file("t.txt") + ": error: unknown trace file extension; expected .yaml, .yml or .json");
  // An unwritable place: an error, and no file (nor temporary file) left behind.
  CHECK_THROWS_AS(write_trace(w, dir.file("missing_dir/t.yaml")), UserError);
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("trace: names, duplicate and complex keys (fuzz regressions)", "[trace][fuzz]") {
  const std::string head = "schema_version: 1\nnetwork: n\nbatch: 2\ninput: [8]\nlayers:\n";
  auto parse_error = [](const std::string& text, const std::string& name) {
    try {
      parse_trace(text, name);
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  // A layer name with a newline used to be accepted here and rejected when layers.csv was read.
  CHECK(parse_error(head + "  - {name: \"a\\nb\", type: linear, in_features: 8, out_features: 4, "
                           "rows: 2}\n",
                    "t.yaml") ==
        "t.yaml:6:12: error: layers[0].name: contains the control character 0x0a at position 2");
  CHECK(parse_error(head + "  - {name: \"r\\tx\", type: activation, kind: relu, elements: 8}\n",
                    "t.yaml") ==
        "t.yaml:6:12: error: layers[0].name: contains the control character 0x09 at position 2");
  CHECK(parse_error(head + "  - {name: r, type: activation, kind: \"re\\u0001lu\", elements: 8}\n",
                    "t.yaml") ==
        "t.yaml:6:39: error: layers[0].kind: contains the control character 0x01 at position 3");
  CHECK(parse_error(head + "  - {name: " + std::string(300, 'x') +
                        ", type: activation, kind: relu, elements: 8}\n",
                    "t.yaml") ==
        "t.yaml:6:12: error: layers[0].name: is 300 characters long; at most 256 are accepted");
  // The same in JSON, whose duplicate keys yaml-cpp also keeps.
  CHECK(parse_error("{\"schema_version\": 1, \"batch\": 2, \"batch\": 3}", "t.json") ==
        "t.json:1:35: error: batch: duplicate key (first at line 1); a key may occur once per map");
  CHECK(parse_error(head + "  - {name: r, type: activation, kind: relu, elements: 8}\n? [x]\n: 1\n",
                    "t.yaml") ==
        "t.yaml:7:3: error: a mapping key must be a plain name, not a list");
}

TEST_CASE("trace: shapes_chain", "[trace]") {
  // AlexNet's first three conv layers without the pools between them: Conv1 makes (96, 55, 55)
  // but Conv2 reads (96, 27, 27).
  ResolvedWorkload r =
      resolve_workload_spec(std::string(LBSIM_TEST_DATA) + "/scalesim/alexnet_first.csv", 0);
  CHECK(r.source == WorkloadSource::kScaleSimCsv);
  CHECK_FALSE(r.shapes_chain);
  TempDir dir;
  const std::string out = dir.file("alexnet.yaml");
  CHECK_THROWS_WITH(write_trace(r.workload, out),
                    Catch::Contains("layer 'Conv2': input_hw: input (96, 27, 27) (channels, h, w) "
                                    "is not produced") &&
                        Catch::Contains("written with shapes_chain false"));
  CHECK_FALSE(fs::exists(out));
  TraceWriteOptions opt;
  opt.shapes_chain = false;
  write_trace(r.workload, out, opt);
  CHECK(read_text(out).find("smp_samples: 1\nshapes_chain: false\nlayers:\n") != std::string::npos);
  LoadedTrace t = read_trace(out);
  CHECK_FALSE(t.shapes_chain);
  CHECK(workload_diff(r.workload, t.workload) == "");
}

TEST_CASE("resolve: zoo names, files, batch rules and unknown specs", "[resolve]") {
  // Zoo: default batch 32, or the override.
  CHECK(resolve_workload("resnet20", 0).batch == kDefaultZooBatch);
  const Workload r8 = resolve_workload("resnet20", 8);
  CHECK(r8.batch == 8);
  // conv1 fwd M = 8*32*32.
  CHECK(r8.layers[0].ops[0].m == 8 * 32 * 32);

  // A trace without recorded ops: re-expanded at the new batch, rows scaled by 4/2.
  const Workload s4 = resolve_workload(trace_path("small.yaml"), 4);
  CHECK(s4.batch == 4);
  CHECK(s4.layers[0].ops[0].m == 4 * 8 * 8);  // conv1 fwd M = batch*Ho*Wo
  CHECK(s4.layers[7].rows == 4);              // fc rows 2 at batch 2
  CHECK(s4.layers[7].ops[0].m == 4);
  CHECK(s4.layers[8].ops[0].elements == 4 * 10);  // loss rows = batch
  CHECK(resolve_workload(trace_path("small.yaml"), 0).batch == 2);

  // A trace with recorded ops keeps its batch; another one is an error.
  CHECK(resolve_workload(trace_path("recorded_ops.yaml"), 2).batch == 2);
  CHECK_THROWS_WITH(resolve_workload(trace_path("recorded_ops.yaml"), 4),
                    trace_path("recorded_ops.yaml") +
                        ": error: batch 4 requested, but the trace records the ops that ran at "
                        "batch 2 (layer 'proj' has ops); trace again at batch 4, or remove the "
                        "recorded ops to have them expanded");

  // SCALE-Sim topology: batch scales the conv form. Conv1: 224 -> ceil((224-11+4)/4) = 55,
  // fwd M = batch*55*55, N = 96, K = 3*11*11 = 363.
  const Workload csv =
      resolve_workload(std::string(LBSIM_TEST_DATA) + "/scalesim/alexnet_first.csv", 2);
  CHECK(csv.batch == 2);
  CHECK(csv.layers[0].ops[0].m == 2 * 55 * 55);
  CHECK(csv.layers[0].ops[0].k == 363);

  // Unknown: a did-you-mean, the zoo names and the extensions.
  CHECK_THROWS_WITH(resolve_workload("resnet2", 0),
                    Catch::StartsWith("error: unknown workload 'resnet2'; did you mean "
                                      "'resnet20'?\n  a workload is a zoo network (resnet18, ") &&
                        Catch::EndsWith("a trace file (.yaml, .yml, .json) or a SCALE-Sim "
                                        "topology (.csv)"));
  CHECK_THROWS_WITH(resolve_workload("model.onnx", 0),
                    Catch::Contains("(the file extension '.onnx' is not one lbsim reads)"));
}

// --- Precision maps (models/workload/precision_map.h).

namespace {

std::string map_error(const std::string& text, const Workload* w = nullptr) {
  try {
    const PrecisionMap m = parse_precision_map(text, "m.yaml");
    if (w) {
      Workload copy = *w;
      apply_precision_map(m, copy);
    }
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("precision map: default and per-layer roles overlay the workload's", "[trace]") {
  Workload w = resolve_workload("resnet20", 2);
  // A trace-style precision already on one layer: roles the map leaves out keep it.
  auto layer = [&](const std::string& name) -> LayerSpec& {
    for (LayerSpec& l : w.layers)
      if (l.name == name) return l;
    FAIL("no layer " << name);
    return w.layers[0];
  };
  layer("layer1.0.conv2").precision.error = "fp8_e5m2";
  const PrecisionMap m = parse_precision_map(
      "default: {weight: int4_sawb, activation: int4_sawb}\n"
      "layers:\n"
      "  conv1: {weight: fp32, activation: fp32, error: fp32}\n"
      "  linear: {activation: int8}\n",
      "m.yaml");
  CHECK(m.has_default);
  REQUIRE(m.layers.size() == 2);
  CHECK(m.layers[0].layer == "conv1");  // sorted by name
  CHECK(m.layers[0].loc.line == 3);
  apply_precision_map(m, w);
  const LayerSpec& c1 = layer("conv1");
  CHECK(c1.precision.weight == "fp32");
  CHECK(c1.precision.activation == "fp32");
  CHECK(c1.precision.error == "fp32");
  const LayerSpec& lin = layer("linear");  // its own activation, the default's weight
  CHECK(lin.precision.weight == "int4_sawb");
  CHECK(lin.precision.activation == "int8");
  CHECK(lin.precision.error == "");
  const LayerSpec& c2 = layer("layer1.0.conv2");  // the default, its own error kept
  CHECK(c2.precision.weight == "int4_sawb");
  CHECK(c2.precision.activation == "int4_sawb");
  CHECK(c2.precision.error == "fp8_e5m2");
  CHECK(layer("layer1.0.bn1").precision.weight == "");  // not a GEMM layer: untouched
  // Without `default`, only the listed layers change.
  Workload v = resolve_workload("resnet20", 2);
  apply_precision_map(parse_precision_map("layers: {linear: {weight: int8}}\n", "m.yaml"), v);
  int changed = 0;
  for (const LayerSpec& l : v.layers) changed += l.precision.weight.empty() ? 0 : 1;
  CHECK(changed == 1);
}

TEST_CASE("precision map: every bad input is one located error", "[trace]") {
  const Workload w = resolve_workload("resnet20", 2);
  CHECK(map_error("layers: {linear: {weight: int8}}\n", &w) == "");
  // Parse errors: file:line:col, key path, allowed values.
  CHECK(
      map_error("layers: {linear: {wieght: int8}}\n")
          .find(
              "m.yaml:1:27: error: layers.linear.wieght: unknown key for layer 'linear'; allowed: "
              "weight, activation, error (did you mean 'weight'?)") != std::string::npos);
  CHECK(map_error("layers: {linear: {weight: int3x}}\n").find("m.yaml:1:27") != std::string::npos);
  CHECK(map_error("layers: {linear: int8}\n").find("layers.linear: expected a map of options") !=
        std::string::npos);
  CHECK(map_error("layers: {linear: {}}\n").find("layers.linear: sets no format") !=
        std::string::npos);
  CHECK(map_error("defaults: {weight: int8}\n")
            .find("defaults: unknown key for precision map; allowed: default, layers") !=
        std::string::npos);
  CHECK(map_error("{}\n").find("the map sets no format") != std::string::npos);
  CHECK(
      map_error("layers: {linear: {weight: int8}, linear: {weight: int4_sawb}}\n").find("linear") !=
      std::string::npos);
  CHECK(map_error("layers: [fc]\n").find("m.yaml:1:9") != std::string::npos);
  CHECK(map_error("layers: {linear: {weight: int8}\n").find("m.yaml") == 0);  // YAML syntax
  // Apply errors: a name that is not a layer (with the GEMM layers and a did-you-mean), a layer
  // that runs no GEMM.
  const std::string unknown = map_error("layers:\n  layer1.0.conv3: {weight: int8}\n", &w);
  CHECK(unknown.find("m.yaml:2:19: error: layers.layer1.0.conv3: workload 'resnet20' has no "
                     "layer 'layer1.0.conv3' (did you mean 'layer1.0.conv1'?); its "
                     "conv2d/linear/matmul layers: conv1, layer1.0.conv1,") == 0);
  CHECK(unknown.find("more; `lbsim workload show` lists them") != std::string::npos);
  CHECK(map_error("layers:\n  bn1: {weight: int8}\n", &w) ==
        "m.yaml:2:8: error: layers.bn1: layer 'bn1' is a batch_norm layer; a precision map sets "
        "the formats of conv2d, linear and matmul layers");
  // Nothing is changed when any entry is wrong.
  Workload v = w;
  CHECK_THROWS_AS(apply_precision_map(parse_precision_map("layers: {linear: {weight: int8}, nope: "
                                                          "{weight: int8}}\n",
                                                          "m.yaml"),
                                      v),
                  UserError);
  for (const LayerSpec& l : v.layers) CHECK(l.precision.weight.empty());
}
