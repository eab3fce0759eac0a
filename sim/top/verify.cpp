#include "sim/top/verify.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <sstream>

#include "models/core/error.h"
#include "models/numerics/random_tensor.h"

namespace lbsim {

namespace {

uint32_t bits_of(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  return b;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Tensor load_or_random(const std::string& data_dir, const NpyReadOptions& npy, const LayerSpec& l,
                      const char* role, const Shape& shape, uint64_t seed, bool relu) {
  std::string path;
  if (!data_dir.empty()) {
    path = fmt::format("{}/{}.{}.npy", data_dir, l.name, role);
  } else if (l.tensors.count(role) != 0) {  // a trace's `tensors:` (tracer --dump-tensors)
    path = l.tensors.at(role);
  } else {
    return relu ? random_relu(shape, seed) : random_normal(shape, seed);
  }
  Tensor t = read_npy_tensor(path, npy);
  if (t.shape != shape)
    throw UserError(fmt::format("{}: error: shape {} does not match layer {}'s {} {}", path,
                                shape_str(t.shape), l.name, role, shape_str(shape)));
  return t;
}

std::string operand_text(const GemmOperand& op, int64_t row, int64_t col) {
  const int64_t i = row * op.cols + col;
  const uint32_t code = op.codes[static_cast<size_t>(i)];
  const int32_t g = op.group[static_cast<size_t>(i)];
  const double gs = g >= 0 ? op.q->group_scale[static_cast<size_t>(g)] : 1.0;
  return fmt::format("code {:#x} = {} (group {} scale {})", code, op.q->element(code), g, gs);
}

}  // namespace

bool is_file_spec(const std::string& spec) {
  const std::string s = lower(spec);
  for (const char* ext : {".yaml", ".yml", ".json", ".csv"}) {
    const size_t n = std::strlen(ext);
    if (s.size() >= n && s.compare(s.size() - n, n, ext) == 0) return true;
  }
  return false;
}

LayerPlan plan_layer(const LayerSpec& l, int index) {
  LayerPlan p;
  p.layer = &l;
  p.index = index;
  p.skip = layer_gemms_unsupported(l);
  if (l.type != LayerType::kConv2d && l.type != LayerType::kLinear) return p;
  for (const Op& op : l.ops)
    if (op.kind == OpKind::kGemm && op.phase == Phase::kFwd) p.macs = 3 * op.m * op.n * op.k;
  if (p.macs == 0 && p.skip.empty()) p.skip = "no fwd GEMM";
  return p;
}

// Builds the fwd, dgrad and wgrad GEMMs of one layer (only fwd for an inference workload, which
// has no error tensor) from its tensors: --data, the trace's `tensors:`, or random.
std::vector<GemmCase> layer_cases(const LayerPlan& lp, const ArchConfig& arch, int64_t batch,
                                  bool training, const std::string& data, const NpyReadOptions& npy,
                                  uint64_t seed) {
  const LayerSpec& l = *lp.layer;
  const LayerFormats formats = layer_formats(l, arch.pe);
  const uint64_t s0 = seed * 1000003u + static_cast<uint64_t>(lp.index) * 3u;
  const TensorIds ids{s0, s0 + 1, s0 + 2};
  const LayerShapes sh = layer_shapes(l, batch);
  int64_t fwd_m = 0;
  for (const Op& op : l.ops)
    if (op.kind == OpKind::kGemm && op.phase == Phase::kFwd) fwd_m = op.m;
  if (l.type == LayerType::kConv2d && batch * sh.geo.ho * sh.geo.wo != fwd_m)
    throw UserError(
        fmt::format("error: verify: layer {}: batch {} x {} x {} output positions "
                    "do not match its fwd GEMM's M = {}",
                    l.name, batch, sh.geo.ho, sh.geo.wo, fwd_m));
  LayerTensors t;
  t.x = load_or_random(data, npy, l, "activation", sh.x, ids.x, true);
  t.w = load_or_random(data, npy, l, "weight", sh.w, ids.w, false);
  if (training) t.e = load_or_random(data, npy, l, "error", sh.e, ids.e, false);
  std::vector<GemmCase> out;
  for (LayerGemm& g :
       layer_gemms(l, formats, t, training, seed, ids, arch.mapping.dgrad_lowering)) {
    GemmCase c;
    c.layer = l.name;
    c.phase = phase_name(g.phase);
    static_cast<OwnedGemm&>(c) = std::move(static_cast<OwnedGemm&>(g));
    out.push_back(std::move(c));
  }
  return out;
}

GemmOutcome compare(const GemmCase& g, const CycleRunResult& r, const GemmResult& ref,
                    int64_t timing_cycles) {
  GemmOutcome o;
  o.cycles = r.cycles;
  o.time_cycles = r.time_cycles;
  o.timing_cycles = timing_cycles;
  const GemmProblem& p = g.p;
  for (size_t i = 0; i < ref.c.size(); ++i) {
    const uint32_t e = bits_of(ref.c[i]), a = bits_of(r.result.c[i]);
    if (e == a) continue;
    if (o.mismatches++ > 0) continue;
    const int64_t m = static_cast<int64_t>(i) / p.n, n = static_cast<int64_t>(i) % p.n;
    std::ostringstream s;
    s << fmt::format("C[{}][{}]: expected {:#010x} ({:.9g}) actual {:#010x} ({:.9g})\n", m, n, e,
                     ref.c[i], a, r.result.c[i]);
    s << fmt::format("    fed by A row {} and B column {} over K = {} ({} segment(s)):\n", m, n,
                     p.k, p.num_segments);
    nlohmann::json ops = nlohmann::json::array();
    for (int64_t k = 0; k < p.k; ++k) {
      const std::string at = operand_text(p.a, m, k), bt = operand_text(p.b, k, n);
      if (k < 8)
        s << fmt::format("      k={:<4} seg {:<3} A {}  B {}\n", k,
                         p.k_segment.empty() ? 0 : p.k_segment[k], at, bt);
      ops.push_back({{"k", k}, {"a", at}, {"b", bt}});
    }
    if (p.k > 8) s << fmt::format("      ... ({} more k)\n", p.k - 8);
    s << fmt::format("    tensor scales: A {} B {}\n", p.a.q->tensor_scale, p.b.q->tensor_scale);
    o.first = s.str();
    o.first_json = {{"m", m},
                    {"n", n},
                    {"expected_hex", fmt::format("{:#010x}", e)},
                    {"expected", ref.c[i]},
                    {"actual_hex", fmt::format("{:#010x}", a)},
                    {"actual", r.result.c[i]},
                    {"operands", ops},
                    {"tensor_scale_a", p.a.q->tensor_scale},
                    {"tensor_scale_b", p.b.q->tensor_scale}};
  }
  if (o.mismatches == 0 && r.result.acc_overflows != ref.acc_overflows) {
    o.mismatches = 1;
    o.first = fmt::format("accumulator overflow count: expected {} actual {}\n", ref.acc_overflows,
                          r.result.acc_overflows);
    o.first_json = {{"expected_acc_overflows", ref.acc_overflows},
                    {"actual_acc_overflows", r.result.acc_overflows}};
  }
  o.ok = o.mismatches == 0 && o.cycles == o.timing_cycles && o.time_cycles == o.cycles;
  return o;
}

LayerSelection select_layers(const Workload& wl, const std::string& layers, int64_t max_macs) {
  LayerSelection out;
  std::vector<LayerPlan>& plans = out.plans;
  std::vector<std::string>& notes = out.notes;
  if (!layers.empty()) {
    std::vector<std::string> names;
    std::stringstream ss(layers);
    for (std::string n; std::getline(ss, n, ',');)
      if (!n.empty()) names.push_back(n);
    for (const std::string& n : names) {
      int idx = -1;
      for (size_t i = 0; i < wl.layers.size(); ++i)
        if (wl.layers[i].name == n) idx = static_cast<int>(i);
      if (idx < 0)
        throw UserError(
            fmt::format("error: verify --layers: no layer '{}' in workload {}", n, wl.network));
      LayerPlan p = plan_layer(wl.layers[static_cast<size_t>(idx)], idx);
      ++out.verifiable;
      if (!p.skip.empty())
        throw UserError(
            fmt::format("error: verify --layers: layer '{}' cannot be verified: {}", n, p.skip));
      plans.push_back(p);
    }
  } else {
    int64_t budget = max_macs <= 0 ? std::numeric_limits<int64_t>::max() : max_macs;
    std::vector<std::string> too_big;
    for (size_t i = 0; i < wl.layers.size(); ++i) {
      LayerPlan p = plan_layer(wl.layers[i], static_cast<int>(i));
      if (!p.skip.empty()) {
        if (wl.layers[i].type == LayerType::kConv2d || wl.layers[i].type == LayerType::kLinear)
          ++out.skipped_kind;
        continue;
      }
      ++out.verifiable;
      if (p.macs > budget) {
        too_big.push_back(p.layer->name);
        continue;
      }
      budget -= p.macs;
      plans.push_back(p);
    }
    out.skipped_budget = static_cast<int64_t>(too_big.size());
    if (!too_big.empty()) {
      std::string names;
      for (size_t i = 0; i < too_big.size() && i < 4; ++i) names += (i ? ", " : "") + too_big[i];
      if (too_big.size() > 4) names += ", ...";
      notes.push_back(
          fmt::format("{} layer(s) skipped, their GEMMs exceed the remaining "
                      "--max-macs {} budget: {}",
                      too_big.size(), max_macs, names));
    }
    if (plans.empty()) {
      int64_t smallest = 0;
      for (size_t i = 0; i < wl.layers.size(); ++i) {
        const LayerPlan p = plan_layer(wl.layers[i], static_cast<int>(i));
        if (p.skip.empty() && (smallest == 0 || p.macs < smallest)) smallest = p.macs;
      }
      throw UserError(
          smallest == 0
              ? fmt::format("error: verify: {} has no verifiable conv2d/linear layer (grouped "
                            "or dilated convolutions are not verified)",
                            wl.network)
              : fmt::format("error: verify: no conv2d/linear layer of {} fits --max-macs {} "
                            "(the smallest needs {} MACs; raise it, or lower --batch)",
                            wl.network, max_macs, smallest));
    }
  }

  return out;
}

std::string selection_scope(const LayerSelection& s, size_t gemms, int64_t max_macs) {
  std::string out = fmt::format("{} of {} verifiable layer(s) ({} GEMM(s)) checked", s.plans.size(),
                                s.verifiable, gemms);
  if (s.skipped_budget > 0)
    out += fmt::format(", {} skipped by --max-macs {} (--all checks every layer)", s.skipped_budget,
                       max_macs);
  if (s.skipped_kind > 0)
    out += fmt::format(", {} grouped or dilated conv layer(s) not verifiable", s.skipped_kind);
  return out;
}

}  // namespace lbsim
