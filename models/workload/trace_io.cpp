// Trace files, schema v1 (trace_io.h): one reader for YAML and JSON (yaml-cpp parses both) built on
// Params, so that every problem carries file:line:col and the key path, and one writer with two
// emitters over a small ordered tree.
#include "models/workload/trace_io.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "models/core/error.h"
#include "models/core/input_file.h"
#include "models/core/output.h"
#include "models/core/params.h"
#include "models/numerics/i_number_format.h"

namespace lbsim {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMinI = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxI = std::numeric_limits<int64_t>::max();
constexpr size_t kMaxInputDims = 8;

const std::vector<std::string> kPhases = {"fwd", "dgrad", "wgrad", "update"};
const std::vector<std::string> kRoleNames = {"weight", "activation", "error"};
const std::vector<std::string> kPoolKinds = {"max", "avg", "adaptive_avg"};

const std::vector<LayerType> kLayerTypes = {
    LayerType::kConv2d,     LayerType::kLinear,    LayerType::kMatmul,
    LayerType::kPool,       LayerType::kBatchNorm, LayerType::kLayerNorm,
    LayerType::kActivation, LayerType::kAdd,       LayerType::kSoftmaxCrossEntropy,
    LayerType::kEmbedding};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string extension_of(const std::string& path) {
  return lower(fs::path(path).extension().string());
}

Phase phase_of(const std::string& s) {
  for (size_t i = 0; i < kPhases.size(); ++i)
    if (kPhases[i] == s) return static_cast<Phase>(i);
  return Phase::kFwd;
}

Role default_a_role(Phase p) { return p == Phase::kDgrad ? Role::kError : Role::kActivation; }
Role default_b_role(Phase p) { return p == Phase::kWgrad ? Role::kError : Role::kWeight; }

// Finds the expanded op that supplies the defaults of each recorded op of one layer, in order
// (see trace_io.h). An expanded op matched once is preferred less than an unused one, so that
// the two dgrad GEMMs of a matmul with m = n = k match dA and dB in turn.
class OpMatcher {
 public:
  explicit OpMatcher(const std::vector<Op>& expanded)
      : m_expanded(expanded), m_used(expanded.size(), false) {}

  // A GEMM: same phase and m, n, k; else the one at the same position among the phase's GEMMs.
  const Op* gemm(Phase phase, int64_t m, int64_t n, int64_t k) {
    const size_t pos = m_gemm_pos[phase]++;
    auto same = [&](const Op& e) {
      return e.kind == OpKind::kGemm && e.phase == phase && e.m == m && e.n == n && e.k == k;
    };
    if (const Op* e = find(same)) return e;
    size_t i = 0;
    return find(
        [&](const Op& e) { return e.kind == OpKind::kGemm && e.phase == phase && i++ == pos; });
  }
  // A vector op: same phase and name.
  const Op* vector(Phase phase, const std::string& name) {
    return find([&](const Op& e) {
      return e.kind == OpKind::kVector && e.phase == phase && e.name == name;
    });
  }

 private:
  // The first unused op satisfying `pred`, else the first used one; marks it used.
  template <class Pred>
  const Op* find(Pred pred) {
    size_t found = m_expanded.size();
    for (size_t i = 0; i < m_expanded.size(); ++i) {
      if (!pred(m_expanded[i])) continue;
      if (found == m_expanded.size()) found = i;
      if (!m_used[i]) {
        found = i;
        break;
      }
    }
    if (found == m_expanded.size()) return nullptr;
    m_used[found] = true;
    return &m_expanded[found];
  }

  const std::vector<Op>& m_expanded;
  std::vector<bool> m_used;
  std::map<Phase, size_t> m_gemm_pos;
};

// The default values of a recorded op's optional keys.
Op op_defaults(const Op* matched, Phase phase, OpKind kind) {
  Op d;
  d.phase = phase;
  d.kind = kind;
  d.name = "gemm";
  d.a_role = default_a_role(phase);
  d.b_role = default_b_role(phase);
  if (matched) {
    d.name = matched->name;
    d.groups = matched->groups;
    d.samples = matched->samples;
    d.ops_per_element = matched->ops_per_element;
    d.vector_kind = matched->vector_kind;
    d.a_role = matched->a_role;
    d.b_role = matched->b_role;
  }
  return d;
}

// The layer's own expansion, or empty when its fields cannot be expanded.
std::vector<Op> expanded_ops(const LayerSpec& layer, int64_t batch, bool training, int64_t smp) {
  LayerSpec copy = layer;
  try {
    expand_layer(copy, batch, training, smp);
  } catch (const UserError&) {
    return {};
  }
  return copy.ops;
}

// The output size expand_layer() computes (0 for a stride < 1, which it rejects).
int64_t conv_out(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dilation) {
  if (stride < 1) return 0;
  return (in + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
}

std::string shape_text(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + ")";
}

// ------------------------------------------------------------------------------------------------
// Reading

void missing(Params& p, const std::string& key, const std::string& meaning) {
  p.diagnostics()->error(p.where(), p.path(key), "missing; " + meaning);
}

// An integer >= `min`; `def` when absent (an error when required) or invalid.
int64_t read_int(Params& p, const std::string& key, bool required, int64_t def, int64_t min,
                 const std::string& meaning) {
  int64_t v = p.get_int(key, def, kMinI, kMaxI, meaning);
  if (!p.has(key)) {
    if (required) missing(p, key, meaning);
    return def;
  }
  if (v < min) {
    p.error(key, fmt::format("must be >= {}, got {}", min, v));
    return def;
  }
  return v;
}

// An [h, w] pair (or one value for both) of integers >= `min`.
void read_pair(Params& p, const std::string& key, bool required, int64_t def_h, int64_t def_w,
               int64_t min, const std::string& meaning, int64_t& h, int64_t& w) {
  std::vector<int64_t> v = p.get_int_list(key, {def_h, def_w}, kMinI, kMaxI, meaning);
  h = def_h;
  w = def_w;
  if (!p.has(key)) {
    if (required) missing(p, key, meaning);
    return;
  }
  if (v[0] < min || v[1] < min) {
    p.error(key, fmt::format("both sizes must be >= {}, got [{}, {}]", min, v[0], v[1]));
    return;
  }
  h = v[0];
  w = v[1];
}

std::string read_string(Params& p, const std::string& key, bool required, const std::string& def,
                        const std::string& meaning) {
  std::string v = p.get_string(key, def, "a non-empty string", meaning);
  if (!p.has(key)) {
    if (required) missing(p, key, meaning);
    return def;
  }
  if (v.empty()) p.error(key, "must not be empty");
  return v;
}

// A layer or op name (name_problem(): no control characters, bounded length).
std::string read_name(Params& p, const std::string& key, bool required, const std::string& def,
                      const std::string& meaning) {
  std::string v = read_string(p, key, required, def, meaning);
  if (p.has(key) && !v.empty()) {
    const std::string problem = name_problem(v);
    if (!problem.empty()) {
      p.error(key, problem);
      return def;
    }
  }
  return v;
}

bool read_choice(Params& p, const std::string& key, const std::vector<std::string>& choices,
                 const std::string& meaning, std::string& out) {
  size_t before = p.diagnostics()->count();
  out = p.get_choice(key, choices.front(), choices, meaning);
  if (!p.has(key)) {
    missing(p, key, meaning + " (" + join(choices, " | ") + ")");
    return false;
  }
  return p.diagnostics()->count() == before;
}

// Reads one recorded op; returns false when its kind or phase is unusable.
bool read_op(Params& op_p, bool training, OpMatcher& matcher, Op& op) {
  std::string phase_s, kind_s;
  bool phase_ok = read_choice(op_p, "phase", kPhases, "training phase of the op", phase_s);
  bool kind_ok = read_choice(op_p, "op", {"gemm", "vector"}, "kind of op", kind_s);
  if (!phase_ok || !kind_ok) return false;  // the other keys cannot be checked meaningfully
  op.phase = phase_of(phase_s);
  op.kind = kind_s == "gemm" ? OpKind::kGemm : OpKind::kVector;
  if (!training && op.phase != Phase::kFwd)
    op_p.error("phase", "training is false: a trace of inference records fwd ops only");
  if (op.kind == OpKind::kGemm) {
    op.m = read_int(op_p, "m", true, 1, 1, "GEMM rows (M)");
    op.n = read_int(op_p, "n", true, 1, 1, "GEMM columns (N)");
    op.k = read_int(op_p, "k", true, 1, 1, "GEMM reduction length (K)");
    const Op* matched = matcher.gemm(op.phase, op.m, op.n, op.k);
    Op d = op_defaults(matched, op.phase, op.kind);
    op.name = read_name(op_p, "name", false, d.name, "name of the op");
    op.groups = read_int(op_p, "groups", false, d.groups, 1, "independent GEMMs of m x n x k");
    op.samples = read_int(op_p, "samples", false, d.samples, 1, "repetitions (LUQ SMP samples)");
    std::string a = op_p.get_choice("a_role", role_name(d.a_role), kRoleNames, "role of operand A");
    std::string b = op_p.get_choice("b_role", role_name(d.b_role), kRoleNames, "role of operand B");
    op.a_role = parse_role(a);
    op.b_role = parse_role(b);
    int64_t r = 1;
    for (int64_t f : {op.m, op.n, op.k, op.groups, op.samples}) {
      if (__builtin_mul_overflow(r, f, &r)) {
        op_p.error("m", fmt::format("m*n*k*groups*samples = {}*{}*{}*{}*{} overflows 64 bits", op.m,
                                    op.n, op.k, op.groups, op.samples));
        break;
      }
    }
  } else {
    op.name = read_name(op_p, "name", true, "", "name of the vector op (e.g. sgd_momentum)");
    op.elements = read_int(op_p, "elements", true, 1, 1, "elements processed");
    const Op* matched = matcher.vector(op.phase, op.name);
    Op d = op_defaults(matched, op.phase, op.kind);
    op.ops_per_element = read_int(op_p, "ops_per_element", false, d.ops_per_element, 1,
                                  "arithmetic operations per element");
    op.vector_kind = parse_vector_kind(
        op_p.get_choice("vector_kind", vector_kind_name(d.vector_kind), vector_kind_names(),
                        "what the op does, for its energy (activation | norm | update)"));
    int64_t r = 0;
    if (__builtin_mul_overflow(op.elements, op.ops_per_element, &r))
      op_p.error("elements", fmt::format("elements*ops_per_element = {}*{} overflows 64 bits",
                                         op.elements, op.ops_per_element));
  }
  return true;
}

// Reports an expand_layer() error at the key it names ("layer 'x': field: message") when the
// layer has that key, else at the layer.
void report_expand_error(Params& lp, const std::string& layer_path, const std::string& name,
                         const std::string& msg) {
  const std::string prefix = "layer '" + name + "': ";
  if (msg.compare(0, prefix.size(), prefix) == 0) {
    std::string rest = msg.substr(prefix.size());
    size_t colon = rest.find(": ");
    if (colon != std::string::npos && lp.has(rest.substr(0, colon))) {
      lp.error(rest.substr(0, colon), rest.substr(colon + 2));
      return;
    }
  }
  lp.diagnostics()->error(lp.where(), layer_path, msg);
}

// Reads the type-specific keys of workload.h's mapping into `l`.
void read_layer_fields(Params& lp, LayerSpec& l) {
  switch (l.type) {
    case LayerType::kConv2d:
      l.in_channels = read_int(lp, "in_channels", true, 1, 1, "input channels");
      l.out_channels = read_int(lp, "out_channels", true, 1, 1, "output channels");
      read_pair(lp, "kernel", true, 1, 1, 1, "kernel [r, s]", l.kernel_h, l.kernel_w);
      read_pair(lp, "stride", false, 1, 1, 1, "stride [h, w]", l.stride_h, l.stride_w);
      read_pair(lp, "padding", false, 0, 0, 0, "zero padding [h, w]", l.pad_h, l.pad_w);
      read_pair(lp, "dilation", false, 1, 1, 1, "dilation [h, w]", l.dilation_h, l.dilation_w);
      l.groups = read_int(lp, "groups", false, 1, 1, "groups");
      read_pair(lp, "input_hw", true, 1, 1, 1, "input height and width", l.in_h, l.in_w);
      read_pair(lp, "output_hw", false, 0, 0, 1, "output height and width (default: computed)",
                l.out_h, l.out_w);
      l.bias = lp.get_bool("bias", false, "the layer has a bias");
      break;
    case LayerType::kLinear:
      l.in_channels = read_int(lp, "in_features", true, 1, 1, "input features");
      l.out_channels = read_int(lp, "out_features", true, 1, 1, "output features");
      l.rows = read_int(lp, "rows", true, 1, 1, "rows = batch * tokens");
      l.bias = lp.get_bool("bias", false, "the layer has a bias");
      break;
    case LayerType::kMatmul:
      l.count = read_int(lp, "count", true, 1, 1, "number of independent products");
      l.m = read_int(lp, "m", true, 1, 1, "rows of A and C");
      l.n = read_int(lp, "n", true, 1, 1, "columns of B and C");
      l.k = read_int(lp, "k", true, 1, 1, "columns of A, rows of B");
      break;
    case LayerType::kPool: {
      std::string kind;
      read_choice(lp, "kind", kPoolKinds, "pooling kind", kind);
      l.kind = kind;
      l.in_channels = read_int(lp, "channels", true, 1, 1, "channels");
      read_pair(lp, "input_hw", true, 1, 1, 1, "input height and width", l.in_h, l.in_w);
      read_pair(lp, "output_hw", false, 0, 0, 1,
                "output height and width (default: computed; required for adaptive_avg)", l.out_h,
                l.out_w);
      const bool windowed = kind != "adaptive_avg";
      read_pair(lp, "kernel", windowed, 1, 1, 1, "window [r, s]", l.kernel_h, l.kernel_w);
      read_pair(lp, "stride", windowed, 1, 1, 1, "stride [h, w]", l.stride_h, l.stride_w);
      read_pair(lp, "padding", false, 0, 0, 0, "padding [h, w]", l.pad_h, l.pad_w);
      break;
    }
    case LayerType::kBatchNorm:
      l.in_channels = read_int(lp, "channels", true, 1, 1, "channels");
      l.elements = read_int(lp, "elements", true, 1, 1, "elements per sample (C*H*W)");
      break;
    case LayerType::kLayerNorm:
      l.in_channels = read_int(lp, "features", true, 1, 1, "normalised features");
      l.rows = read_int(lp, "rows", true, 1, 1, "rows = batch * tokens");
      break;
    case LayerType::kActivation:
      l.kind = read_name(lp, "kind", true, "", "activation function (relu, gelu, ...)");
      l.elements = read_int(lp, "elements", true, 1, 1, "elements per sample");
      break;
    case LayerType::kAdd:
      l.elements = read_int(lp, "elements", true, 1, 1, "elements per sample");
      break;
    case LayerType::kSoftmaxCrossEntropy:
      l.in_channels = read_int(lp, "classes", true, 1, 1, "classes");
      l.rows = read_int(lp, "rows", false, 0, 1, "rows (default: batch)");
      break;
    case LayerType::kEmbedding:
      l.in_channels = read_int(lp, "vocab", true, 1, 1, "vocabulary size");
      l.out_channels = read_int(lp, "dim", true, 1, 1, "embedding dimension");
      l.rows = read_int(lp, "rows", true, 1, 1, "rows = batch * tokens");
      break;
  }
}

// Rewrites "loc: error: msg" lines of a nested error into "loc: error: key.path: msg".
std::string with_key_path(const std::string& text, const SourceLoc& loc, const std::string& path) {
  const std::string head = loc.str() + ": error: ";
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    std::string line =
        text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (line.compare(0, head.size(), head) == 0)
      line = head + path + ": " + line.substr(head.size());
    out += (out.empty() ? "" : "\n") + line;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

void read_precision(Params& lp, LayerPrecision& prec) {
  Params pp = lp.child("precision", "precision", "number formats per role");
  read_layer_precision(pp, prec);
}

void read_tensors(Params& lp, const fs::path& trace_dir, std::map<std::string, std::string>& out) {
  Params tp = lp.child("tensors", "tensors", ".npy files of the layer's operands");
  for (const auto& role : kRoleNames) {
    std::string rel = read_string(tp, role, false, "", ".npy file of the " + role + " operand");
    if (rel.empty()) continue;
    if (lower(fs::path(rel).extension().string()) != ".npy") {
      tp.error(role, fmt::format("'{}' is not a .npy file", rel));
      continue;
    }
    fs::path p = fs::path(rel).is_absolute() ? fs::path(rel) : trace_dir / rel;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) {
      tp.error(role, fmt::format("file '{}' does not exist (paths are relative to the trace "
                                 "file's directory)",
                                 p.string()));
      continue;
    }
    out[role] = fs::absolute(p).lexically_normal().string();
  }
  tp.close();
}

std::vector<std::string> type_names() {
  std::vector<std::string> names;
  for (LayerType t : kLayerTypes) names.push_back(layer_type_name(t));
  return names;
}

// Reads `input`: a list of 1 to kMaxInputDims sizes >= 1.
Shape read_input(Params& root, const std::string& file) {
  const std::string meaning = "per-sample input shape, e.g. [3, 224, 224]";
  YAML::Node n = root.node("input", "(required)", "a list of sizes >= 1", meaning);
  if (!root.has("input")) {
    missing(root, "input", meaning);
    return {};
  }
  if (!n.IsSequence() || n.size() == 0 || n.size() > kMaxInputDims) {
    root.error("input", fmt::format("expected a list of 1 to {} sizes >= 1", kMaxInputDims));
    return {};
  }
  Shape s;
  for (size_t i = 0; i < n.size(); ++i) {
    const YAML::Node item = n[i];
    int64_t v = 0;
    bool ok = item.IsScalar();
    if (ok) {
      try {
        size_t used = 0;
        v = std::stoll(item.Scalar(), &used);
        ok = used == item.Scalar().size() && v >= 1;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    if (!ok) {
      root.diagnostics()->error(yaml_loc(item, file), fmt::format("input[{}]", i),
                                fmt::format("'{}' is not a size >= 1",
                                            item.IsScalar() ? item.Scalar() : "(not a scalar)"));
      return {};
    }
    s.push_back(v);
  }
  return s;
}

}  // namespace

void read_layer_precision(Params& pp, LayerPrecision& prec) {
  std::string* slots[] = {&prec.weight, &prec.activation, &prec.error};
  for (size_t i = 0; i < kRoleNames.size(); ++i) {
    const std::string& role = kRoleNames[i];
    std::string spec = read_string(pp, role, false, "", "number-format spec of the " + role);
    if (spec.empty()) continue;
    try {
      make_format(spec, pp.loc_of(role));
      *slots[i] = spec;
    } catch (const UserError& e) {
      pp.add_formatted(role, with_key_path(e.what(), pp.loc_of(role), pp.path(role)));
    }
  }
  pp.close();
}

bool is_trace_path(const std::string& path) {
  const std::string ext = extension_of(path);
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

void chain_problems(
    const Workload& w,
    const std::function<void(size_t, const std::string&, const std::string&)>& report) {
  std::vector<Shape> produced;
  auto add = [&](const Shape& s) {
    if (std::find(produced.begin(), produced.end(), s) == produced.end()) produced.push_back(s);
  };
  auto numel = [](const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s)
      if (__builtin_mul_overflow(n, d, &n)) return int64_t{-1};
    return n;
  };
  // The produced 3-D shapes, most recent last, for messages.
  auto maps_text = [&]() {
    std::vector<std::string> items;
    for (const auto& s : produced)
      if (s.size() == 3) items.push_back(shape_text(s));
    const size_t kShown = 8;
    std::string prefix;
    if (items.size() > kShown) {
      items.erase(items.begin(), items.end() - kShown);
      prefix = "..., ";
    }
    return items.empty() ? std::string("none") : prefix + join(items);
  };
  auto not_produced = [](const std::string& what) {
    return what + " is not produced by the network input or by any earlier layer";
  };
  add(w.input);
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const LayerSpec& l = w.layers[i];
    switch (l.type) {
      case LayerType::kConv2d:
      case LayerType::kPool: {
        const Shape in = {l.in_channels, l.in_h, l.in_w};
        if (std::find(produced.begin(), produced.end(), in) == produced.end()) {
          report(i, "input_hw",
                 not_produced("input " + shape_text(in) + " (channels, h, w)") +
                     "; feature maps produced so far: " + maps_text());
        }
        int64_t ho = l.out_h, wo = l.out_w;
        if (l.type == LayerType::kConv2d) {
          if (ho == 0) ho = conv_out(l.in_h, l.kernel_h, l.stride_h, l.pad_h, l.dilation_h);
          if (wo == 0) wo = conv_out(l.in_w, l.kernel_w, l.stride_w, l.pad_w, l.dilation_w);
          add({l.out_channels, ho, wo});
        } else {
          if (ho == 0) ho = conv_out(l.in_h, l.kernel_h, l.stride_h, l.pad_h, 1);
          if (wo == 0) wo = conv_out(l.in_w, l.kernel_w, l.stride_w, l.pad_w, 1);
          add({l.in_channels, ho, wo});
        }
        break;
      }
      case LayerType::kBatchNorm: {
        bool found = false;
        for (const auto& s : produced)
          found = found || (!s.empty() && s[0] == l.in_channels && numel(s) == l.elements);
        if (!found) {
          report(i, "channels",
                 not_produced(fmt::format("input of {} channels and {} elements per sample",
                                          l.in_channels, l.elements)) +
                     "; feature maps produced so far: " + maps_text());
        }
        break;
      }
      case LayerType::kLinear: {
        bool found = false;
        for (const auto& s : produced) {
          found =
              found || (!s.empty() && (numel(s) == l.in_channels || s.front() == l.in_channels ||
                                       s.back() == l.in_channels));
        }
        if (!found) {
          report(i, "in_features",
                 not_produced(fmt::format("input of {} features", l.in_channels)) +
                     " (as the total, first or last size of its output)");
        }
        add({l.out_channels});
        break;
      }
      case LayerType::kEmbedding:
        add({l.out_channels});
        break;
      case LayerType::kMatmul:
        add({l.m, l.n});
        break;
      default:
        break;
    }
  }
}

namespace {

LoadedTrace parse_trace_file(const ConfigFile& cf);

void check_trace_extension(const std::string& path) {
  if (!is_trace_path(path))
    throw UserError(fmt::format(
        "{}: error: unknown trace file extension; expected .yaml, .yml or .json", path));
}

}  // namespace

LoadedTrace read_trace(const std::string& path) {
  check_trace_extension(path);
  return parse_trace(read_input_file(path), path);
}

LoadedTrace parse_trace(const std::string& text, const std::string& path) {
  check_trace_extension(path);
  return with_yaml_errors(path, [&] { return parse_trace_file(ConfigFile::parse(text, path)); });
}

namespace {

LoadedTrace parse_trace_file(const ConfigFile& cf) {
  const std::string& path = cf.file();
  Params root = cf.root("trace");
  auto diag = root.diagnostics();
  const fs::path trace_dir = fs::path(path).parent_path();

  LoadedTrace out;
  Workload& w = out.workload;
  if (!root.has("schema_version")) {
    missing(root, "schema_version", "trace schema version (1)");
    diag->throw_if_any();
  }
  int64_t version = root.get_int("schema_version", 1, kMinI, kMaxI, "trace schema version");
  if (version != 1) {
    root.error("schema_version",
               fmt::format("unsupported schema version {}; this lbsim reads version 1", version));
  }
  diag->throw_if_any();  // a different schema: its other keys mean nothing here
  w.schema_version = 1;
  w.network = read_string(root, "network", true, "", "network name");
  w.batch = read_int(root, "batch", true, 1, 1, "samples per training iteration");
  w.input = read_input(root, path);
  w.training = root.get_bool("training", true, "true: training iteration; false: inference");
  w.smp_samples = read_int(root, "smp_samples", false, 1, 1, "LUQ SMP gradient samples");
  out.shapes_chain = root.get_bool("shapes_chain", true, "check that layer shapes chain");
  const bool has_layers = root.has("layers");
  std::vector<Params> layer_params =
      root.list("layers", "layer", "the layers in execution order", true);
  if (has_layers && layer_params.empty()) root.error("layers", "has no layers");

  const std::vector<std::string> types = type_names();
  FirstUse names;
  for (size_t i = 0; i < layer_params.size(); ++i) {
    Params& lp = layer_params[i];
    const std::string layer_path = fmt::format("layers[{}]", i);
    const size_t errors_before = diag->count();
    LayerSpec l;
    l.name = read_name(lp, "name", true, "", "layer name (unique)");
    if (!l.name.empty())
      if (const SourceLoc* first = names.claim(l.name, lp.loc_of("name")))
        lp.error("name",
                 fmt::format("duplicate layer name '{}' (first used at {})", l.name, first->str()));
    std::string type = read_string(lp, "type", true, "", "layer type (" + join(types) + ")");
    auto t = std::find(types.begin(), types.end(), type);
    if (t == types.end()) {
      if (!type.empty()) {
        std::string hint = did_you_mean(type, types);
        lp.error("type",
                 fmt::format("unknown layer type '{}'{}; types: {}", type,
                             hint.empty() ? "" : " (did you mean '" + hint + "'?)", join(types)));
      }
      w.layers.push_back(l);
      out.recorded_ops.push_back(false);
      continue;  // the other keys depend on the type: not checked
    }
    l.type = kLayerTypes[t - types.begin()];
    read_layer_fields(lp, l);
    l.input_grad = lp.get_bool("input_grad", true, "the layer's input needs a gradient (dgrad)");
    read_precision(lp, l.precision);
    read_tensors(lp, trace_dir, l.tensors);

    // The layer's own expansion: its ops when none are recorded, else the recorded ops' defaults.
    std::vector<Op> expanded;
    if (diag->count() == errors_before) {
      LayerSpec copy = l;
      try {
        expand_layer(copy, w.batch, w.training, w.smp_samples);
        expanded = std::move(copy.ops);
      } catch (const UserError& e) {
        report_expand_error(lp, layer_path, l.name, e.what());
      }
    }
    const bool recorded = lp.has("ops");
    std::vector<Params> op_params = lp.list("ops", "op", "the layer's recorded ops");
    if (recorded) {
      OpMatcher matcher(expanded);
      for (auto& op_p : op_params) {
        Op op;
        if (read_op(op_p, w.training, matcher, op)) op_p.close();
        l.ops.push_back(op);
      }
    } else {
      l.ops = std::move(expanded);
    }
    lp.close();
    w.layers.push_back(std::move(l));
    out.recorded_ops.push_back(recorded);
  }

  if (diag->empty() && out.shapes_chain) {
    chain_problems(w, [&](size_t i, const std::string& key, const std::string& msg) {
      layer_params[i].error(key, msg);
    });
  }
  root.finish();
  return out;
}

}  // namespace

Workload load_trace(const std::string& path) { return read_trace(path).workload; }

// ------------------------------------------------------------------------------------------------
// Writing: an ordered tree, emitted as YAML (block style, with flow lists and flow op maps, as in
// the README) or as JSON.

namespace {

struct Node {
  enum Kind { kInt, kBool, kStr, kSeq, kMap } kind = kMap;
  int64_t i = 0;
  bool b = false;
  std::string s;
  std::vector<Node> seq;
  std::vector<std::pair<std::string, Node>> map;
  bool flow = false;  // one line: [a, b] / {k: v}

  static Node integer(int64_t v) {
    Node n;
    n.kind = kInt;
    n.i = v;
    return n;
  }
  static Node boolean(bool v) {
    Node n;
    n.kind = kBool;
    n.b = v;
    return n;
  }
  static Node str(const std::string& v) {
    Node n;
    n.kind = kStr;
    n.s = v;
    return n;
  }
  static Node list(bool flow_style) {
    Node n;
    n.kind = kSeq;
    n.flow = flow_style;
    return n;
  }
  static Node dict(bool flow_style) {
    Node n;
    n.kind = kMap;
    n.flow = flow_style;
    return n;
  }
  static Node pair(int64_t a, int64_t b) {
    Node n = list(true);
    n.seq = {integer(a), integer(b)};
    return n;
  }
  Node& add(const std::string& key, Node v) {
    map.emplace_back(key, std::move(v));
    return map.back().second;
  }
};

// JSON string literal; also a valid YAML double-quoted scalar.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20)
          out += fmt::format("\\u{:04x}", c);
        else
          out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// A YAML scalar: plain when it cannot be mistaken for anything but a string, else quoted.
std::string yaml_string(const std::string& s) {
  static const std::set<std::string> kReserved = {"true", "false", "yes", "no", "on",
                                                  "off",  "null",  "y",   "n",  "~"};
  bool plain = !s.empty() && (std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_') &&
               kReserved.count(lower(s)) == 0;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ||
          c == '/'))
      plain = false;
  }
  return plain ? s : quoted(s);
}

std::string scalar_text(const Node& n, bool json) {
  switch (n.kind) {
    case Node::kInt:
      return std::to_string(n.i);
    case Node::kBool:
      return n.b ? "true" : "false";
    case Node::kStr:
      return json ? quoted(n.s) : yaml_string(n.s);
    default:
      return "";
  }
}

std::string flow_text(const Node& n, bool json) {
  if (n.kind == Node::kSeq) {
    std::string out = "[";
    for (size_t i = 0; i < n.seq.size(); ++i) out += (i ? ", " : "") + flow_text(n.seq[i], json);
    return out + "]";
  }
  if (n.kind == Node::kMap) {
    std::string out = "{";
    for (size_t i = 0; i < n.map.size(); ++i) {
      out += (i ? ", " : "") + (json ? quoted(n.map[i].first) : n.map[i].first) + ": " +
             flow_text(n.map[i].second, json);
    }
    return out + "}";
  }
  return scalar_text(n, json);
}

bool is_block(const Node& n) {
  return (n.kind == Node::kSeq && !n.flow && !n.seq.empty()) ||
         (n.kind == Node::kMap && !n.flow && !n.map.empty());
}

void emit_yaml_map(const Node& m, size_t indent, bool first_inline, std::string& out);

void emit_yaml_value(const std::string& key, const Node& v, size_t indent, std::string& out) {
  if (!is_block(v)) {
    out += key + ": " + flow_text(v, false) + "\n";
    return;
  }
  out += key + ":\n";
  if (v.kind == Node::kMap) {
    emit_yaml_map(v, indent + 2, false, out);
    return;
  }
  for (const auto& item : v.seq) {
    out += std::string(indent + 2, ' ') + "- ";
    if (is_block(item) && item.kind == Node::kMap)
      emit_yaml_map(item, indent + 4, true, out);
    else
      out += flow_text(item, false) + "\n";
  }
}

// Block map at `indent`; with first_inline the first key follows a "- " already written.
void emit_yaml_map(const Node& m, size_t indent, bool first_inline, std::string& out) {
  for (size_t i = 0; i < m.map.size(); ++i) {
    if (!(first_inline && i == 0)) out += std::string(indent, ' ');
    emit_yaml_value(m.map[i].first, m.map[i].second, indent, out);
  }
}

void emit_json(const Node& n, size_t indent, std::string& out) {
  if (!is_block(n)) {
    out += flow_text(n, true);
    return;
  }
  const std::string pad(indent + 2, ' ');
  const bool is_map = n.kind == Node::kMap;
  out += is_map ? "{\n" : "[\n";
  const size_t count = is_map ? n.map.size() : n.seq.size();
  for (size_t i = 0; i < count; ++i) {
    out += pad;
    if (is_map) {
      out += quoted(n.map[i].first) + ": ";
      emit_json(n.map[i].second, indent + 2, out);
    } else {
      emit_json(n.seq[i], indent + 2, out);
    }
    out += i + 1 < count ? ",\n" : "\n";
  }
  out += std::string(indent, ' ') + (is_map ? "}" : "]");
}

[[noreturn]] void unwritable(const LayerSpec& l, const std::string& msg) {
  throw UserError("layer '" + l.name + "': " + msg);
}

void add_output_hw(Node& n, const LayerSpec& l) {
  if (l.out_h == 0 && l.out_w == 0) return;
  if (l.out_h < 1 || l.out_w < 1)
    unwritable(l, fmt::format("output_hw [{}, {}] cannot be written: give both sizes or neither",
                              l.out_h, l.out_w));
  n.add("output_hw", Node::pair(l.out_h, l.out_w));
}

void add_layer_fields(Node& n, const LayerSpec& l) {
  switch (l.type) {
    case LayerType::kConv2d:
      n.add("in_channels", Node::integer(l.in_channels));
      n.add("out_channels", Node::integer(l.out_channels));
      n.add("kernel", Node::pair(l.kernel_h, l.kernel_w));
      n.add("stride", Node::pair(l.stride_h, l.stride_w));
      n.add("padding", Node::pair(l.pad_h, l.pad_w));
      n.add("dilation", Node::pair(l.dilation_h, l.dilation_w));
      n.add("groups", Node::integer(l.groups));
      n.add("input_hw", Node::pair(l.in_h, l.in_w));
      add_output_hw(n, l);
      n.add("bias", Node::boolean(l.bias));
      break;
    case LayerType::kLinear:
      n.add("in_features", Node::integer(l.in_channels));
      n.add("out_features", Node::integer(l.out_channels));
      n.add("rows", Node::integer(l.rows));
      n.add("bias", Node::boolean(l.bias));
      break;
    case LayerType::kMatmul:
      n.add("count", Node::integer(l.count));
      n.add("m", Node::integer(l.m));
      n.add("n", Node::integer(l.n));
      n.add("k", Node::integer(l.k));
      break;
    case LayerType::kPool: {
      n.add("kind", Node::str(l.kind));
      n.add("channels", Node::integer(l.in_channels));
      n.add("input_hw", Node::pair(l.in_h, l.in_w));
      add_output_hw(n, l);
      // An adaptive pool has no window: kernel/stride/padding only when not the defaults.
      const bool windowed = l.kind != "adaptive_avg";
      if (windowed || l.kernel_h != 1 || l.kernel_w != 1)
        n.add("kernel", Node::pair(l.kernel_h, l.kernel_w));
      if (windowed || l.stride_h != 1 || l.stride_w != 1)
        n.add("stride", Node::pair(l.stride_h, l.stride_w));
      if (windowed || l.pad_h != 0 || l.pad_w != 0) n.add("padding", Node::pair(l.pad_h, l.pad_w));
      break;
    }
    case LayerType::kBatchNorm:
      n.add("channels", Node::integer(l.in_channels));
      n.add("elements", Node::integer(l.elements));
      break;
    case LayerType::kLayerNorm:
      n.add("features", Node::integer(l.in_channels));
      n.add("rows", Node::integer(l.rows));
      break;
    case LayerType::kActivation:
      n.add("kind", Node::str(l.kind));
      n.add("elements", Node::integer(l.elements));
      break;
    case LayerType::kAdd:
      n.add("elements", Node::integer(l.elements));
      break;
    case LayerType::kSoftmaxCrossEntropy:
      n.add("classes", Node::integer(l.in_channels));
      if (l.rows != 0) n.add("rows", Node::integer(l.rows));
      break;
    case LayerType::kEmbedding:
      n.add("vocab", Node::integer(l.in_channels));
      n.add("dim", Node::integer(l.out_channels));
      n.add("rows", Node::integer(l.rows));
      break;
  }
}

// One op as a flow map, omitting the keys the reader derives (see trace_io.h).
Node op_node(const Op& op, OpMatcher& matcher) {
  Node n = Node::dict(true);
  n.add("phase", Node::str(phase_name(op.phase)));
  n.add("op", Node::str(op.kind == OpKind::kGemm ? "gemm" : "vector"));
  if (op.kind == OpKind::kGemm) {
    const Op* matched = matcher.gemm(op.phase, op.m, op.n, op.k);
    Op d = op_defaults(matched, op.phase, op.kind);
    if (op.name != d.name) n.add("name", Node::str(op.name));
    n.add("m", Node::integer(op.m));
    n.add("n", Node::integer(op.n));
    n.add("k", Node::integer(op.k));
    // groups above 1 are always written (schema v1): a tool summing m x n x k x groups over a
    // trace's ops must not need the expansion to count depthwise and grouped layers.
    if (op.groups != d.groups || op.groups > 1) n.add("groups", Node::integer(op.groups));
    if (op.samples != d.samples) n.add("samples", Node::integer(op.samples));
    if (op.a_role != d.a_role) n.add("a_role", Node::str(role_name(op.a_role)));
    if (op.b_role != d.b_role) n.add("b_role", Node::str(role_name(op.b_role)));
  } else {
    const Op* matched = matcher.vector(op.phase, op.name);
    Op d = op_defaults(matched, op.phase, op.kind);
    n.add("name", Node::str(op.name));
    n.add("elements", Node::integer(op.elements));
    if (op.ops_per_element != d.ops_per_element)
      n.add("ops_per_element", Node::integer(op.ops_per_element));
    if (op.vector_kind != d.vector_kind)
      n.add("vector_kind", Node::str(vector_kind_name(op.vector_kind)));
  }
  return n;
}

std::string relative_tensor_path(const std::string& p, const std::string& trace_dir) {
  fs::path abs = fs::absolute(p).lexically_normal();
  fs::path base = fs::absolute(trace_dir.empty() ? "." : trace_dir).lexically_normal();
  fs::path rel = abs.lexically_relative(base);
  return rel.empty() ? abs.string() : rel.string();
}

Node trace_tree(const Workload& w, const std::string& trace_dir, const TraceWriteOptions& opt) {
  if (opt.shapes_chain) {
    chain_problems(w, [&](size_t i, const std::string& key, const std::string& msg) {
      throw UserError(fmt::format(
          "workload '{}': layer '{}': {}: {}; such a workload is written with shapes_chain false",
          w.network, w.layers[i].name, key, msg));
    });
  }
  Node root = Node::dict(false);
  root.add("schema_version", Node::integer(1));
  root.add("network", Node::str(w.network));
  root.add("batch", Node::integer(w.batch));
  Node input = Node::list(true);
  for (int64_t d : w.input) input.seq.push_back(Node::integer(d));
  root.add("input", input);
  root.add("training", Node::boolean(w.training));
  root.add("smp_samples", Node::integer(w.smp_samples));
  if (!opt.shapes_chain) root.add("shapes_chain", Node::boolean(false));
  Node& layers = root.add("layers", Node::list(false));
  for (const auto& l : w.layers) {
    Node n = Node::dict(false);
    n.add("name", Node::str(l.name));
    n.add("type", Node::str(layer_type_name(l.type)));
    add_layer_fields(n, l);
    n.add("input_grad", Node::boolean(l.input_grad));
    Node prec = Node::dict(true);
    if (!l.precision.weight.empty()) prec.add("weight", Node::str(l.precision.weight));
    if (!l.precision.activation.empty()) prec.add("activation", Node::str(l.precision.activation));
    if (!l.precision.error.empty()) prec.add("error", Node::str(l.precision.error));
    if (!prec.map.empty()) n.add("precision", prec);
    Node tensors = Node::dict(true);
    for (const auto& role : kRoleNames) {
      auto it = l.tensors.find(role);
      if (it != l.tensors.end())
        tensors.add(role, Node::str(relative_tensor_path(it->second, trace_dir)));
    }
    for (const auto& kv : l.tensors) {
      if (std::find(kRoleNames.begin(), kRoleNames.end(), kv.first) == kRoleNames.end())
        unwritable(l, "tensors: unknown role '" + kv.first + "'; roles: " + join(kRoleNames));
    }
    if (!tensors.map.empty()) n.add("tensors", tensors);
    if (opt.ops) {
      const std::vector<Op> expanded = expanded_ops(l, w.batch, w.training, w.smp_samples);
      Node ops = Node::list(false);
      OpMatcher matcher(expanded);
      for (const auto& op : l.ops) ops.seq.push_back(op_node(op, matcher));
      n.add("ops", ops);
    }
    layers.seq.push_back(std::move(n));
  }
  return root;
}

}  // namespace

std::string trace_text(const Workload& w, bool json, const std::string& trace_dir,
                       const TraceWriteOptions& options) {
  Node root = trace_tree(w, trace_dir, options);
  std::string out;
  if (json) {
    emit_json(root, 0, out);
    out += "\n";
  } else {
    emit_yaml_map(root, 0, false, out);
  }
  return out;
}

void write_trace(const Workload& w, const std::string& path, const TraceWriteOptions& options) {
  if (!is_trace_path(path))
    throw UserError(fmt::format(
        "{}: error: unknown trace file extension; expected .yaml, .yml or .json", path));
  const std::string text =
      trace_text(w, extension_of(path) == ".json", fs::path(path).parent_path().string(), options);
  write_output_file(path, text);
}

}  // namespace lbsim
