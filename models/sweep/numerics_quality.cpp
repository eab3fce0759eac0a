// The numerics metric of a sweep point (contract: numerics_quality.h; the rule in prose:
// models/README.md, "Numerics metric of a sweep point").
#include "models/sweep/numerics_quality.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <vector>

#include "models/core/error.h"
#include "models/core/npy.h"
#include "models/numerics/random_tensor.h"
#include "models/numerics/rng.h"
#include "models/reference/reference_gemm.h"
#include "models/workload/layer_gemms.h"

namespace lbsim {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Synthetic error tensors: log-normal magnitudes around this median with this sigma of ln|e|.
constexpr double kErrorMedian = 1e-3;
constexpr double kErrorSigmaLn = 1.6;

// Training MACs of a layer: its GEMM ops (fwd, dgrad, wgrad as the workload runs them).
int64_t layer_macs(const LayerSpec& l) {
  int64_t macs = 0;
  for (const Op& op : l.ops)
    if (op.kind == OpKind::kGemm && op.phase != Phase::kUpdate) macs += op.macs();
  return macs;
}

std::string npy_path(const std::string& dir, const LayerSpec& l, const char* role) {
  return (std::filesystem::path(dir) / (l.name + "." + role + ".npy")).string();
}

bool is_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// The first `count` entries along the leading dimension.
Tensor leading(const Tensor& t, int64_t count) {
  Tensor o;
  o.shape = t.shape;
  o.shape[0] = count;
  const int64_t per = t.shape[0] > 0 ? numel(t.shape) / t.shape[0] : 0;
  o.data.assign(t.data.begin(), t.data.begin() + static_cast<std::ptrdiff_t>(count * per));
  return o;
}

// Expected shape with the leading (batch / rows) dimension free: "(N, 16, 32, 32)".
std::string free_leading_str(Shape s) {
  std::string out = shape_str(s);
  const size_t comma = out.find(',');
  return "(N" + out.substr(comma == std::string::npos ? out.size() - 1 : comma);
}

// Reads DIR/<layer>.<role>.npy and checks it against the layer's shape (leading dimension free
// unless `exact`).
Tensor read_role(const std::string& path, const LayerSpec& l, const char* role, const Shape& want,
                 bool exact) {
  if (!is_file(path))
    throw UserError(fmt::format(
        "{}: error: no such file: the numerics metric needs layer {}'s {} tensor (write it with "
        "workloads/tools/trace_torch.py --dump-tensors DIR --layers {})",
        path, l.name, role, l.name));
  Tensor t = read_npy_tensor(path);
  bool ok = t.shape.size() == want.size() && !t.shape.empty() && t.shape[0] >= 1;
  for (size_t d = exact ? 0 : 1; ok && d < want.size(); ++d) ok = t.shape[d] == want[d];
  if (!ok)
    throw UserError(fmt::format("{}: error: shape {} does not fit layer {}'s {} tensor {}", path,
                                shape_str(t.shape), l.name, role,
                                exact ? shape_str(want) : free_leading_str(want)));
  return t;
}

double sqnr_db(double signal, double noise) {
  if (noise <= 0.0) return kSqnrLosslessDb;
  if (signal <= 0.0) return -std::numeric_limits<double>::infinity();
  return std::min(kSqnrLosslessDb, 10.0 * std::log10(signal / noise));
}

// SQNR of q against its source x; `transposed`: q holds x^T (rank 2).
double tensor_sqnr(const Tensor& x, const QTensor& q, bool transposed) {
  const std::vector<double> v = q.values();
  const int64_t rows = transposed ? x.shape[0] : 0, cols = transposed ? x.shape[1] : 0;
  double signal = 0.0, noise = 0.0;
  for (size_t i = 0; i < x.data.size(); ++i) {
    const double xi = x.data[i];
    const size_t j = transposed ? static_cast<size_t>((static_cast<int64_t>(i) % cols) * rows +
                                                      static_cast<int64_t>(i) / cols)
                                : i;
    signal += xi * xi;
    noise += (xi - v[j]) * (xi - v[j]);
  }
  return sqnr_db(signal, noise);
}

// `count` evenly spaced indices of [0, total): floor(i * total / count), first one 0.
std::vector<int64_t> spread(int64_t total, int64_t count) {
  std::vector<int64_t> idx(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) idx[static_cast<size_t>(i)] = i * total / count;
  return idx;
}

// The outputs sampled from an M x N x K GEMM: M' = clamp(max_macs / (N K), 1, M) evenly spaced
// rows and, when one row exceeds the budget, N' = clamp(max_macs / K, 1, N) evenly spaced columns.
OutputSample sample_outputs(int64_t m, int64_t n, int64_t k, int64_t max_macs) {
  const int64_t budget = std::max<int64_t>(max_macs, 1), nk = std::max<int64_t>(n * k, 1);
  const int64_t rows = std::clamp<int64_t>(budget / nk, 1, m);
  const int64_t cols =
      nk > budget ? std::clamp<int64_t>(budget / std::max<int64_t>(k, 1), 1, n) : n;
  return {spread(m, rows), spread(n, cols)};
}

// Exact values of an operand (padding 0).
std::vector<double> operand_values(const GemmOperand& op) {
  std::vector<double> v(op.codes.size(), 0.0);
  for (size_t i = 0; i < v.size(); ++i) {
    const int32_t g = op.group[i];
    if (g < 0) continue;
    v[i] =
        op.q->tensor_scale * op.q->group_scale[static_cast<size_t>(g)] * op.q->element(op.codes[i]);
  }
  return v;
}

// sum_k A B in double, ascending k.
std::vector<double> gemm_double(const GemmProblem& p) {
  const std::vector<double> a = operand_values(p.a), b = operand_values(p.b);
  std::vector<double> c(static_cast<size_t>(p.m * p.n), 0.0);
  for (int64_t i = 0; i < p.m; ++i)
    for (int64_t k = 0; k < p.k; ++k) {
      const double aik = a[static_cast<size_t>(i * p.k + k)];
      if (aik == 0.0) continue;
      double* row = &c[static_cast<size_t>(i * p.n)];
      const double* brow = &b[static_cast<size_t>(k * p.n)];
      for (int64_t j = 0; j < p.n; ++j) row[j] += aik * brow[j];
    }
  return c;
}

// Relative Frobenius error of the quantized GEMM (reference, arch accumulator) against the fp32
// operands' exact product (the same outputs of the same lowering).
double gemm_rel_error(const GemmProblem& q, const GemmProblem& fp32, const AccumulatorSpec& acc) {
  const GemmResult cq = run_reference(q, acc);
  const std::vector<double> cr = gemm_double(fp32);
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < cr.size(); ++i) {
    const double d = static_cast<double>(cq.c[i]) - cr[i];
    diff += d * d;
    norm += cr[i] * cr[i];
  }
  if (norm == 0.0) return diff == 0.0 ? 0.0 : std::numeric_limits<double>::infinity();
  return std::sqrt(diff / norm);
}

// The layer whose GEMMs are sampled: supported, most training MACs, first on ties; among the
// layers the predicate `has` accepts.
template <class Pred>
const LayerSpec* pick_layer(const Workload& w, Pred has) {
  const LayerSpec* best = nullptr;
  int64_t best_macs = -1;
  for (const LayerSpec& l : w.layers) {
    if (!layer_gemms_unsupported(l).empty() || !has(l)) continue;
    const int64_t macs = layer_macs(l);
    if (macs > best_macs) {
      best = &l;
      best_macs = macs;
    }
  }
  return best;
}

}  // namespace

NumericsQuality numerics_quality(const ArchConfig& arch, const Workload& workload,
                                 const NumericsQualityOptions& options) {
  NumericsQuality r;
  r.sqnr_weight_db = r.sqnr_activation_db = r.sqnr_error_db = kNaN;
  r.gemm_rel_error_fwd = r.gemm_rel_error_dgrad = r.gemm_rel_error_wgrad = kNaN;
  const bool training = workload.training;
  const bool real = !options.data_dir.empty();
  const std::vector<const char*> roles =
      training ? std::vector<const char*>{"activation", "weight", "error"}
               : std::vector<const char*>{"activation", "weight"};

  const LayerSpec* l = pick_layer(workload, [](const LayerSpec&) { return true; });
  if (l == nullptr) {
    r.tensors = fmt::format("none: {} has no conv2d/linear layer with weight GEMMs lbsim lowers",
                            workload.network);
    return r;
  }
  if (real) {
    // The largest layer among those whose tensors DIR holds (any role); the largest overall names
    // the file to write when DIR holds none.
    const LayerSpec* dumped = pick_layer(workload, [&](const LayerSpec& c) {
      for (const char* role : roles)
        if (is_file(npy_path(options.data_dir, c, role))) return true;
      return false;
    });
    if (dumped != nullptr) l = dumped;
  }
  r.layer = l->name;

  // Tensors at the layer's shapes; the leading dimension (conv2d: samples, linear: rows) is then
  // cut so that the fwd GEMM fits max_macs.
  const LayerShapes sh = layer_shapes(*l, l->type == LayerType::kConv2d ? workload.batch : 1);
  const bool conv = l->type == LayerType::kConv2d;
  const int64_t per_unit =
      conv ? sh.geo.ho * sh.geo.wo * sh.geo.c_out * sh.geo.c_in * sh.geo.r * sh.geo.s
           : l->out_channels * l->in_channels;
  LayerTensors t;
  std::string source;
  if (real) {
    t.x = read_role(npy_path(options.data_dir, *l, "activation"), *l, "activation", sh.x, false);
    t.w = read_role(npy_path(options.data_dir, *l, "weight"), *l, "weight", sh.w, true);
    if (training) {
      const std::string pe = npy_path(options.data_dir, *l, "error");
      t.e = read_role(pe, *l, "error", sh.e, false);
      if (t.e.shape[0] != t.x.shape[0])
        throw UserError(fmt::format("{}: error: {} {} of shape {} but the activation has {}", pe,
                                    conv ? "samples" : "rows", t.e.shape[0], shape_str(t.e.shape),
                                    t.x.shape[0]));
    }
    r.samples_available = t.x.shape[0];
  } else {
    r.samples_available = conv ? workload.batch : l->rows;
  }
  r.samples = std::clamp<int64_t>(options.max_macs / std::max<int64_t>(per_unit, 1), 1,
                                  r.samples_available);
  const char* unit = conv ? "samples" : "rows";
  if (real) {
    t.x = leading(t.x, r.samples);
    if (training) t.e = leading(t.e, r.samples);
    source = fmt::format("real: {}/{}.{{{}}}.npy, first {} of {} {}", options.data_dir, l->name,
                         training ? "activation,weight,error" : "activation,weight", r.samples,
                         r.samples_available, unit);
  } else {
    // Synthetic, keyed by the seed and the role only: every point of a sweep sees the same tensors.
    const uint64_t key = splitmix64(options.seed ^ 0x6e756d71ULL);  // "numq"
    Shape xs = sh.x, es = sh.e;
    xs[0] = es[0] = r.samples;
    const int64_t fan_in = numel(sh.w) / sh.w[0];
    t.x = random_relu(xs, splitmix64(key ^ 1u));
    t.w = random_normal(sh.w, splitmix64(key ^ 2u), std::sqrt(2.0 / static_cast<double>(fan_in)));
    if (training)
      t.e = random_signed_log_normal(es, splitmix64(key ^ 3u), kErrorMedian, kErrorSigmaLn);
    source = fmt::format(
        "synthetic (seed {}): layer {} shapes, {} of {} {}; weight He-normal N(0, 2/{}), "
        "activation ReLU(N(0, 1)){}",
        options.seed, l->name, r.samples, r.samples_available, unit, fan_in,
        training ? fmt::format(", error +-{:g}*exp({:g} N(0, 1))", kErrorMedian, kErrorSigmaLn)
                 : "");
  }
  r.tensors = source;

  const TensorIds ids;  // x 0, w 1, e 2 (as `lbsim conv`)
  const DgradLowering lowering = arch.mapping.dgrad_lowering;
  const int64_t max_macs = options.max_macs;
  const OutputSampler sampler = [max_macs](Phase, int64_t m, int64_t n, int64_t k) {
    return sample_outputs(m, n, k, max_macs);
  };
  const std::vector<LayerGemm> q = layer_gemms(*l, layer_formats(*l, arch.pe), t, training,
                                               options.seed, ids, lowering, sampler);
  const FormatPtr fp32 = make_format("fp32", SourceLoc{"<numerics metric fp32 reference>"});
  const std::vector<LayerGemm> ref = layer_gemms(*l, LayerFormats{fp32, fp32, fp32}, t, training,
                                                 options.seed, ids, lowering, sampler);

  // SQNR of each role's tensor as its first GEMM quantizes it: x and w as fwd, e as dgrad.
  r.sqnr_activation_db = tensor_sqnr(t.x, *q[0].a, false);
  r.sqnr_weight_db = tensor_sqnr(t.w, *q[0].b, !conv);
  if (training) r.sqnr_error_db = tensor_sqnr(t.e, *q[1].a, false);

  for (size_t i = 0; i < q.size(); ++i) {
    NumericsQuality::GemmSize* size = &r.gemm_fwd;
    double* err = &r.gemm_rel_error_fwd;
    if (q[i].phase == Phase::kDgrad) {
      size = &r.gemm_dgrad;
      err = &r.gemm_rel_error_dgrad;
    } else if (q[i].phase == Phase::kWgrad) {
      size = &r.gemm_wgrad;
      err = &r.gemm_rel_error_wgrad;
    }
    *size = {q[i].p.m, q[i].p.n, q[i].p.k};
    *err = gemm_rel_error(q[i].p, ref[i].p, arch.pe.accumulator);
  }
  return r;
}

}  // namespace lbsim
