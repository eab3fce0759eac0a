// Expansion of layers into ops: the rules of workload.h, implemented once.
//
// Vector-op cost model (ops_per_element; exp, tanh and other special functions count as one op,
// a multiply-add as two ops; per-channel or per-row constants computed once are not counted):
//   sgd_momentum         4   v = mu*v + g (2), w -= lr*v (2); weight decay not counted
//   col2im               1   one accumulate per element of the column matrix
//   bn_fwd (training)    5   sum (1), sum of squares (2), y = x*a + b with per-channel a, b (2)
//   bn_fwd (inference)   2   y = x*a + b with running statistics folded into a, b
//   bn_param_grad        5   xhat = (x - mean)*inv_std (2), dbeta += dy (1), dgamma += dy*xhat (2)
//   bn_bwd               4   dx = a*(dy - dbeta/n - xhat*dgamma/n) (4), reusing the reductions
//   ln_fwd               7   sum (1), sum of squares (2), (x - mean)*inv_std*gamma + beta (4)
//   ln_param_grad        5   xhat (2), dgamma += dy*xhat (2), dbeta += dy (1)
//   ln_bwd               8   g = dy*gamma (1), sum g (1), sum g*xhat (2),
//                            dx = inv_std*(g - mean_g - xhat*mean_gx) (4)
//   relu                 1 / 1   max(x, 0) / dy masked by x > 0
//   relu6                2 / 2   two compares / mask from two compares
//   gelu (tanh approx)   9 / 16  x^2, x^3, x + 0.044715x^3 (2), *sqrt(2/pi), tanh, 0.5x(1 + t) (3);
//                                backward recomputes t (6), derivative (9), times dy (1)
//   silu                 5 / 9   sigmoid (4) times x / recompute sigmoid (4) + s(1 + x(1 - s)) (4)
//                                + times dy (1)
//   sigmoid              4 / 3   neg, exp, +1, reciprocal / dy*s*(1 - s)
//   tanh                 5 / 3   (e^2x - 1)/(e^2x + 1) / dy*(1 - t^2)
//   softmax              5 / 4   max, sub, exp, sum, scale / sum(dy*y) (2), (dy - dot)*y (2)
//   dropout              2 / 1   random compare + scaled mask multiply / mask multiply
//   pool max             window / 1   per output: compare over the window / route dy to argmax
//   pool avg             window / window   per output: sum + scale / spread dy over the window
//   add                  1 / 1   the add / the accumulation of the two gradient streams at the
//                                fork of the residual, counted here
//   softmax_xent         5 / 2   per logit: max, sub, exp, sum, log-normalise / p - onehot (2)
//   embedding            1 / 1   gather a row element (fwd) / scatter-add dy into the table (wgrad)
// Element-wise backward work is in Phase::kDgrad, except the parameter-gradient reductions of the
// norm layers (bn_param_grad, ln_param_grad) and the embedding scatter, which compute weight
// gradients and are therefore in Phase::kWgrad (they remain when input_grad is false).
// Elements: per-sample `elements` times batch (batch_norm, activation, add); rows * features for
// layer_norm and embedding (rows already include the batch); output elements batch*C*Ho*Wo for
// pools (an adaptive_avg window is the mean input reads per output, rounded up); rows * classes
// for softmax_cross_entropy with rows = batch unless the layer gives rows. Op names: "gemm"
// (matmul dgrad: "gemm_da", "gemm_db"), "col2im", "sgd_momentum", "<kind>_fwd" / "<kind>_bwd" for
// activations, "maxpool_fwd", "avgpool_bwd", "adaptive_avgpool_fwd", ..., "add_fwd" / "add_bwd".
#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>
#include <numeric>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/core/json_text.h"
#include "models/workload/workload.h"

namespace lbsim {

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::kFwd:
      return "fwd";
    case Phase::kDgrad:
      return "dgrad";
    case Phase::kWgrad:
      return "wgrad";
    case Phase::kUpdate:
      return "update";
  }
  return "?";
}

const std::vector<std::string>& vector_kind_names() {
  static const std::vector<std::string> names = {"activation", "norm", "update"};
  return names;
}

const char* vector_kind_name(VectorKind k) {
  return vector_kind_names()[static_cast<size_t>(k)].c_str();
}

VectorKind parse_vector_kind(const std::string& s) {
  const auto& names = vector_kind_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == s) return static_cast<VectorKind>(i);
  throw std::logic_error("parse_vector_kind: unknown vector kind '" + s + "'");
}

std::string name_problem(const std::string& text) {
  if (text.empty()) return "must not be empty";
  if (text.size() > kMaxNameChars)
    return fmt::format("is {} characters long; at most {} are accepted", text.size(),
                       kMaxNameChars);
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f)
      return fmt::format("contains the control character 0x{:02x} at position {}", c, i + 1);
  }
  if (const size_t at = utf8_error_at(text); at != std::string::npos)
    return fmt::format("is not valid UTF-8 (byte 0x{:02x} at position {})",
                       static_cast<unsigned char>(text[at]), at + 1);
  return "";
}

const char* layer_type_name(LayerType t) {
  switch (t) {
    case LayerType::kConv2d:
      return "conv2d";
    case LayerType::kLinear:
      return "linear";
    case LayerType::kMatmul:
      return "matmul";
    case LayerType::kPool:
      return "pool";
    case LayerType::kBatchNorm:
      return "batch_norm";
    case LayerType::kLayerNorm:
      return "layer_norm";
    case LayerType::kActivation:
      return "activation";
    case LayerType::kAdd:
      return "add";
    case LayerType::kSoftmaxCrossEntropy:
      return "softmax_cross_entropy";
    case LayerType::kEmbedding:
      return "embedding";
  }
  return "?";
}

int64_t Workload::total_macs(Phase p) const {
  int64_t total = 0;
  for (const auto& layer : layers) {
    for (const auto& op : layer.ops) {
      if (op.phase != p) continue;
      if (__builtin_add_overflow(total, op.macs(), &total)) {
        throw UserError("workload '" + network + "': total " + phase_name(p) +
                        " MACs overflow 64 bits");
      }
    }
  }
  return total;
}

namespace {

[[noreturn]] void fail(const LayerSpec& l, const std::string& field, const std::string& msg) {
  throw UserError("layer '" + l.name + "': " + field + ": " + msg);
}

void require_positive(const LayerSpec& l, const std::string& field, int64_t v) {
  if (v < 1) fail(l, field, "must be >= 1, got " + std::to_string(v));
}

// Both entries of a [h, w] pair must be >= min_value.
void require_pair(const LayerSpec& l, const std::string& field, int64_t h, int64_t w,
                  int64_t min_value) {
  if (h < min_value || w < min_value) {
    fail(l, field,
         "both values must be >= " + std::to_string(min_value) + ", got [" + std::to_string(h) +
             ", " + std::to_string(w) + "]");
  }
}

// Product of factors (all >= 0), or UserError naming `field` when it does not fit in int64.
int64_t product(const LayerSpec& l, const std::string& field, const std::string& what,
                std::initializer_list<int64_t> factors) {
  int64_t r = 1;
  for (int64_t f : factors) {
    if (__builtin_mul_overflow(r, f, &r)) fail(l, field, what + " overflows 64 bits");
  }
  return r;
}

// (in + 2 pad - dilation (k - 1) - 1) / stride + 1, or UserError when it is < 1 or overflows.
int64_t out_size(const LayerSpec& l, int64_t in, int64_t k, int64_t stride, int64_t pad,
                 int64_t dilation, const char* axis) {
  int64_t span = 0, padded = 0, eff = 0;  // span = dilated kernel extent - 1
  if (__builtin_mul_overflow(dilation, k - 1, &span) || __builtin_mul_overflow(pad, 2, &padded) ||
      __builtin_add_overflow(in, padded, &eff) || __builtin_sub_overflow(eff, span, &eff) ||
      __builtin_sub_overflow(eff, 1, &eff)) {
    fail(l, "output_hw", std::string("output ") + axis + " overflows 64 bits");
  }
  if (eff < 0) {
    fail(l, "output_hw",
         std::string("output ") + axis + " would be < 1: input " + std::to_string(in) +
             " + 2 * padding " + std::to_string(pad) +
             " is smaller than the dilated kernel extent dilation " + std::to_string(dilation) +
             " * (kernel " + std::to_string(k) + " - 1) + 1");
  }
  return eff / stride + 1;
}

Op gemm(Phase phase, const char* name, int64_t m, int64_t n, int64_t k, int64_t groups,
        int64_t samples, Role a, Role b) {
  return gemm_op(phase, name, m, n, k, groups, samples, a, b);
}

// Every expanded vector op declares its kind (VectorKind).
Op vec(Phase phase, const std::string& name, int64_t elements, int64_t ops_per_element,
       VectorKind kind) {
  return vector_op(phase, name, elements, ops_per_element, kind);
}

// Every GEMM's m*n*k*groups*samples and every vector op's elements*ops_per_element fits in int64
// (consumers may multiply them without checks). `shape_fields` names the layer's size fields.
void check_op_sizes(const LayerSpec& l, const std::vector<Op>& ops,
                    const std::string& shape_fields) {
  for (const auto& op : ops) {
    const std::string what = std::string(phase_name(op.phase)) + " op '" + op.name + "'";
    if (op.kind == OpKind::kGemm) {
      int64_t base =
          product(l, shape_fields, what + " m*n*k*groups", {op.m, op.n, op.k, op.groups});
      product(l, "smp_samples", what + " m*n*k*groups*samples", {base, op.samples});
    } else {
      product(l, shape_fields, what + " elements*ops_per_element",
              {op.elements, op.ops_per_element});
    }
  }
}

struct ActivationCost {
  const char* kind;
  int64_t fwd, bwd;
};
// See the table at the top of this file.
const ActivationCost kActivations[] = {{"relu", 1, 1},    {"relu6", 2, 2},   {"gelu", 9, 16},
                                       {"silu", 5, 9},    {"sigmoid", 4, 3}, {"tanh", 5, 3},
                                       {"softmax", 5, 4}, {"dropout", 2, 1}};

std::string unknown_kind(const std::string& kind, const std::vector<std::string>& known) {
  std::string msg = "unknown kind '" + kind + "'";
  std::string guess = did_you_mean(kind, known);
  if (!guess.empty()) msg += "; did you mean '" + guess + "'?";
  return msg + " (known: " + join(known) + ")";
}

// Sum over the output positions of the adaptive-pool window lengths along one axis. PyTorch's
// window i covers [floor(i*in/out), ceil((i+1)*in/out)); the sum telescopes to
// in + #{i in 1..out : out does not divide i*in} = in + out - gcd(in, out).
int64_t adaptive_window_sum(const LayerSpec& l, int64_t in, int64_t out) {
  int64_t sum = 0;
  if (__builtin_add_overflow(in, out - std::gcd(in, out), &sum)) {
    fail(l, "input_hw", "adaptive window size overflows 64 bits");
  }
  return sum;
}

// a + b, or UserError naming `field` when it does not fit in int64.
int64_t checked_add(const LayerSpec& l, const std::string& field, const std::string& what,
                    int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) fail(l, field, what + " overflows 64 bits");
  return r;
}

void expand_conv(const LayerSpec& l, int64_t batch, bool training, int64_t smp,
                 std::vector<Op>& ops) {
  require_positive(l, "in_channels", l.in_channels);
  require_positive(l, "out_channels", l.out_channels);
  require_pair(l, "kernel", l.kernel_h, l.kernel_w, 1);
  require_pair(l, "stride", l.stride_h, l.stride_w, 1);
  require_pair(l, "padding", l.pad_h, l.pad_w, 0);
  require_pair(l, "dilation", l.dilation_h, l.dilation_w, 1);
  require_positive(l, "groups", l.groups);
  require_pair(l, "input_hw", l.in_h, l.in_w, 1);
  require_pair(l, "output_hw", l.out_h, l.out_w, 0);  // 0 = computed
  if (l.in_channels % l.groups != 0) {
    fail(l, "groups",
         "in_channels " + std::to_string(l.in_channels) + " is not divisible by groups " +
             std::to_string(l.groups));
  }
  if (l.out_channels % l.groups != 0) {
    fail(l, "groups",
         "out_channels " + std::to_string(l.out_channels) + " is not divisible by groups " +
             std::to_string(l.groups));
  }
  const int64_t ho =
      l.out_h > 0 ? l.out_h
                  : out_size(l, l.in_h, l.kernel_h, l.stride_h, l.pad_h, l.dilation_h, "height");
  const int64_t wo =
      l.out_w > 0 ? l.out_w
                  : out_size(l, l.in_w, l.kernel_w, l.stride_w, l.pad_w, l.dilation_w, "width");
  const int64_t g = l.groups;
  const int64_t pixels = product(l, "output_hw", "batch*Ho*Wo", {batch, ho, wo});
  const int64_t cin_rs =
      product(l, "kernel", "in_channels/groups*R*S", {l.in_channels / g, l.kernel_h, l.kernel_w});
  const int64_t cout_g = l.out_channels / g;

  ops.push_back(
      gemm(Phase::kFwd, "gemm", pixels, cout_g, cin_rs, g, 1, Role::kActivation, Role::kWeight));
  if (!training) return;
  if (l.input_grad) {
    ops.push_back(
        gemm(Phase::kDgrad, "gemm", pixels, cin_rs, cout_g, g, smp, Role::kError, Role::kWeight));
    ops.push_back(vec(Phase::kDgrad, "col2im",
                      product(l, "output_hw", "col2im elements", {pixels, cin_rs, g}), 1,
                      VectorKind::kActivation));
  }
  ops.push_back(
      gemm(Phase::kWgrad, "gemm", cin_rs, cout_g, pixels, g, smp, Role::kActivation, Role::kError));
  const int64_t weights = product(l, "kernel", "weight count", {cin_rs, l.out_channels});
  ops.push_back(
      vec(Phase::kUpdate, "sgd_momentum",
          checked_add(l, "out_channels", "parameter count", weights, l.bias ? l.out_channels : 0),
          4, VectorKind::kUpdate));
}

void expand_linear(const LayerSpec& l, bool training, int64_t smp, std::vector<Op>& ops) {
  require_positive(l, "in_features", l.in_channels);
  require_positive(l, "out_features", l.out_channels);
  require_positive(l, "rows", l.rows);
  const int64_t in = l.in_channels, out = l.out_channels, rows = l.rows;
  ops.push_back(gemm(Phase::kFwd, "gemm", rows, out, in, 1, 1, Role::kActivation, Role::kWeight));
  if (!training) return;
  if (l.input_grad) {
    ops.push_back(gemm(Phase::kDgrad, "gemm", rows, in, out, 1, smp, Role::kError, Role::kWeight));
  }
  ops.push_back(
      gemm(Phase::kWgrad, "gemm", in, out, rows, 1, smp, Role::kActivation, Role::kError));
  const int64_t weights = product(l, "in_features", "weight count", {in, out});
  ops.push_back(vec(Phase::kUpdate, "sgd_momentum",
                    checked_add(l, "out_features", "parameter count", weights, l.bias ? out : 0), 4,
                    VectorKind::kUpdate));
}

// C = A (m x k) x B (k x n), both activations. dA = dC (m x n) x B^T: A = error, B = activation.
// dB = A^T (k x m) x dC (m x n): its first operand is the activation A, its second the error.
void expand_matmul(const LayerSpec& l, bool training, int64_t smp, std::vector<Op>& ops) {
  require_positive(l, "count", l.count);
  require_positive(l, "m", l.m);
  require_positive(l, "n", l.n);
  require_positive(l, "k", l.k);
  ops.push_back(
      gemm(Phase::kFwd, "gemm", l.m, l.n, l.k, l.count, 1, Role::kActivation, Role::kActivation));
  if (!training || !l.input_grad) return;
  ops.push_back(
      gemm(Phase::kDgrad, "gemm_da", l.m, l.k, l.n, l.count, smp, Role::kError, Role::kActivation));
  ops.push_back(
      gemm(Phase::kDgrad, "gemm_db", l.k, l.n, l.m, l.count, smp, Role::kActivation, Role::kError));
}

void expand_batch_norm(const LayerSpec& l, int64_t batch, bool training, std::vector<Op>& ops) {
  require_positive(l, "channels", l.in_channels);
  require_positive(l, "elements", l.elements);
  if (l.elements % l.in_channels != 0) {
    fail(l, "elements",
         std::to_string(l.elements) + " (per sample, C*H*W) is not a multiple of channels " +
             std::to_string(l.in_channels));
  }
  const int64_t n = product(l, "elements", "batch*elements", {batch, l.elements});
  ops.push_back(vec(Phase::kFwd, "bn_fwd", n, training ? 5 : 2, VectorKind::kNorm));
  if (!training) return;
  ops.push_back(vec(Phase::kWgrad, "bn_param_grad", n, 5, VectorKind::kNorm));
  if (l.input_grad) ops.push_back(vec(Phase::kDgrad, "bn_bwd", n, 4, VectorKind::kNorm));
  ops.push_back(vec(Phase::kUpdate, "sgd_momentum",
                    product(l, "channels", "parameter count", {2, l.in_channels}), 4,
                    VectorKind::kUpdate));
}

void expand_layer_norm(const LayerSpec& l, bool training, std::vector<Op>& ops) {
  require_positive(l, "features", l.in_channels);
  require_positive(l, "rows", l.rows);
  const int64_t n = product(l, "rows", "rows*features", {l.rows, l.in_channels});
  ops.push_back(vec(Phase::kFwd, "ln_fwd", n, 7, VectorKind::kNorm));
  if (!training) return;
  ops.push_back(vec(Phase::kWgrad, "ln_param_grad", n, 5, VectorKind::kNorm));
  if (l.input_grad) ops.push_back(vec(Phase::kDgrad, "ln_bwd", n, 8, VectorKind::kNorm));
  ops.push_back(vec(Phase::kUpdate, "sgd_momentum",
                    product(l, "features", "parameter count", {2, l.in_channels}), 4,
                    VectorKind::kUpdate));
}

void expand_activation(const LayerSpec& l, int64_t batch, bool training, std::vector<Op>& ops) {
  const ActivationCost* cost = nullptr;
  std::vector<std::string> known;
  for (const auto& a : kActivations) {
    known.push_back(a.kind);
    if (l.kind == a.kind) cost = &a;
  }
  if (!cost) fail(l, "kind", unknown_kind(l.kind, known));
  require_positive(l, "elements", l.elements);
  const int64_t n = product(l, "elements", "batch*elements", {batch, l.elements});
  ops.push_back(vec(Phase::kFwd, l.kind + "_fwd", n, cost->fwd, VectorKind::kActivation));
  if (training && l.input_grad)
    ops.push_back(vec(Phase::kDgrad, l.kind + "_bwd", n, cost->bwd, VectorKind::kActivation));
}

void expand_pool(const LayerSpec& l, int64_t batch, bool training, std::vector<Op>& ops) {
  const std::vector<std::string> known = {"max", "avg", "adaptive_avg"};
  if (std::find(known.begin(), known.end(), l.kind) == known.end()) {
    fail(l, "kind", unknown_kind(l.kind, known));
  }
  require_positive(l, "channels", l.in_channels);
  require_pair(l, "input_hw", l.in_h, l.in_w, 1);
  require_pair(l, "output_hw", l.out_h, l.out_w, 0);  // 0 = computed (max, avg)
  int64_t ho = l.out_h, wo = l.out_w, window = 0;
  if (l.kind == "adaptive_avg") {
    if (ho == 0 || wo == 0) fail(l, "output_hw", "is required for an adaptive_avg pool");
    if (ho > l.in_h || wo > l.in_w) {
      fail(l, "output_hw", "an adaptive_avg pool cannot be larger than its input_hw");
    }
    // Input reads per output, rounded up (exact when the input is a multiple of the output).
    const int64_t reads =
        product(l, "input_hw", "adaptive window reads",
                {adaptive_window_sum(l, l.in_h, ho), adaptive_window_sum(l, l.in_w, wo)});
    const int64_t outputs = ho * wo;  // <= in_h * in_w, which fits
    window = (reads + outputs - 1) / outputs;
  } else {
    require_pair(l, "kernel", l.kernel_h, l.kernel_w, 1);
    require_pair(l, "stride", l.stride_h, l.stride_w, 1);
    require_pair(l, "padding", l.pad_h, l.pad_w, 0);
    if (ho == 0) ho = out_size(l, l.in_h, l.kernel_h, l.stride_h, l.pad_h, 1, "height");
    if (wo == 0) wo = out_size(l, l.in_w, l.kernel_w, l.stride_w, l.pad_w, 1, "width");
    window = product(l, "kernel", "kernel window", {l.kernel_h, l.kernel_w});
  }
  const int64_t n = product(l, "output_hw", "batch*channels*Ho*Wo", {batch, l.in_channels, ho, wo});
  const std::string name = l.kind + "pool";
  ops.push_back(vec(Phase::kFwd, name + "_fwd", n, window, VectorKind::kActivation));
  if (training && l.input_grad) {
    ops.push_back(vec(Phase::kDgrad, name + "_bwd", n, l.kind == "max" ? 1 : window,
                      VectorKind::kActivation));
  }
}

void expand_add(const LayerSpec& l, int64_t batch, bool training, std::vector<Op>& ops) {
  require_positive(l, "elements", l.elements);
  const int64_t n = product(l, "elements", "batch*elements", {batch, l.elements});
  ops.push_back(vec(Phase::kFwd, "add_fwd", n, 1, VectorKind::kActivation));
  if (training && l.input_grad)
    ops.push_back(vec(Phase::kDgrad, "add_bwd", n, 1, VectorKind::kActivation));
}

// rows = batch unless the layer gives rows (batch * tokens for a per-token loss).
void expand_softmax_xent(const LayerSpec& l, int64_t batch, bool training, std::vector<Op>& ops) {
  require_positive(l, "classes", l.in_channels);
  if (l.rows < 0) fail(l, "rows", "must be >= 1 (or 0 = batch), got " + std::to_string(l.rows));
  const int64_t rows = l.rows > 0 ? l.rows : batch;
  const int64_t n = product(l, "classes", "rows*classes", {rows, l.in_channels});
  ops.push_back(vec(Phase::kFwd, "softmax_xent_fwd", n, 5, VectorKind::kActivation));
  if (training && l.input_grad)
    ops.push_back(vec(Phase::kDgrad, "softmax_xent_bwd", n, 2, VectorKind::kActivation));
}

// Token ids carry no gradient: no dgrad op whatever input_grad says.
void expand_embedding(const LayerSpec& l, bool training, std::vector<Op>& ops) {
  require_positive(l, "vocab", l.in_channels);
  require_positive(l, "dim", l.out_channels);
  require_positive(l, "rows", l.rows);
  const int64_t n = product(l, "rows", "rows*dim", {l.rows, l.out_channels});
  ops.push_back(vec(Phase::kFwd, "embedding_gather", n, 1, VectorKind::kActivation));
  if (!training) return;
  ops.push_back(vec(Phase::kWgrad, "embedding_scatter", n, 1, VectorKind::kActivation));
  ops.push_back(vec(Phase::kUpdate, "sgd_momentum",
                    product(l, "vocab", "vocab*dim", {l.in_channels, l.out_channels}), 4,
                    VectorKind::kUpdate));
}

std::string shape_fields(LayerType t) {
  switch (t) {
    case LayerType::kConv2d:
      return "in_channels/out_channels/kernel/output_hw";
    case LayerType::kLinear:
      return "in_features/out_features/rows";
    case LayerType::kMatmul:
      return "count/m/n/k";
    default:
      return "elements";
  }
}

}  // namespace

void expand_layer(LayerSpec& layer, int64_t batch, bool training, int64_t smp_samples) {
  if (batch < 1) fail(layer, "batch", "must be >= 1, got " + std::to_string(batch));
  if (smp_samples < 1) {
    fail(layer, "smp_samples", "must be >= 1, got " + std::to_string(smp_samples));
  }
  std::vector<Op> ops;
  switch (layer.type) {
    case LayerType::kConv2d:
      expand_conv(layer, batch, training, smp_samples, ops);
      break;
    case LayerType::kLinear:
      expand_linear(layer, training, smp_samples, ops);
      break;
    case LayerType::kMatmul:
      expand_matmul(layer, training, smp_samples, ops);
      break;
    case LayerType::kPool:
      expand_pool(layer, batch, training, ops);
      break;
    case LayerType::kBatchNorm:
      expand_batch_norm(layer, batch, training, ops);
      break;
    case LayerType::kLayerNorm:
      expand_layer_norm(layer, training, ops);
      break;
    case LayerType::kActivation:
      expand_activation(layer, batch, training, ops);
      break;
    case LayerType::kAdd:
      expand_add(layer, batch, training, ops);
      break;
    case LayerType::kSoftmaxCrossEntropy:
      expand_softmax_xent(layer, batch, training, ops);
      break;
    case LayerType::kEmbedding:
      expand_embedding(layer, training, ops);
      break;
  }
  check_op_sizes(layer, ops, shape_fields(layer.type));
  layer.ops = std::move(ops);
}

void expand_workload(Workload& w) {
  const std::string where = "workload '" + w.network + "': ";
  if (w.batch < 1) throw UserError(where + "batch: must be >= 1, got " + std::to_string(w.batch));
  if (w.smp_samples < 1) {
    throw UserError(where + "smp_samples: must be >= 1, got " + std::to_string(w.smp_samples));
  }
  for (auto& layer : w.layers) expand_layer(layer, w.batch, w.training, w.smp_samples);
}

Op gemm_op(Phase phase, const std::string& name, int64_t m, int64_t n, int64_t k, int64_t groups,
           int64_t samples, Role a_role, Role b_role) {
  Op op;
  op.phase = phase;
  op.kind = OpKind::kGemm;
  op.name = name;
  op.m = m;
  op.n = n;
  op.k = k;
  op.groups = groups;
  op.samples = samples;
  op.a_role = a_role;
  op.b_role = b_role;
  return op;
}

Op vector_op(Phase phase, const std::string& name, int64_t elements, int64_t ops_per_element,
             VectorKind kind) {
  Op op;
  op.vector_kind = kind;
  op.phase = phase;
  op.kind = OpKind::kVector;
  op.name = name;
  op.elements = elements;
  op.ops_per_element = ops_per_element;
  return op;
}

std::optional<ConvGeometry> conv_group_geometry(const LayerSpec& l, int64_t batch) {
  if (l.type != LayerType::kConv2d || l.stride_h != l.stride_w || l.pad_h != l.pad_w ||
      l.dilation_h != 1 || l.dilation_w != 1 || l.groups < 1 || batch < 1)
    return std::nullopt;
  const int64_t g = l.groups;
  ConvGeometry geo;
  try {
    geo = make_conv_geometry({batch, l.in_channels / g, l.in_h, l.in_w},
                             {l.out_channels / g, l.in_channels / g, l.kernel_h, l.kernel_w},
                             l.stride_h, l.pad_h);
  } catch (const UserError&) {
    return std::nullopt;
  }
  // A trace may state its own output size (SCALE-Sim rounds up): then the ops are not this
  // geometry's.
  if ((l.out_h > 0 && l.out_h != geo.ho) || (l.out_w > 0 && l.out_w != geo.wo)) return std::nullopt;
  return geo;
}

bool apply_dgrad_lowering(const LayerSpec& layer, int64_t batch, DgradLowering lowering, Op& op) {
  if (lowering == DgradLowering::kIm2col || op.phase != Phase::kDgrad) return true;
  const std::optional<ConvGeometry> geo = conv_group_geometry(layer, batch);
  if (!geo) return true;
  if (op.kind == OpKind::kVector) return op.name != "col2im";
  const ConvGemmShape s = conv_gemm_shape(ConvPhase::kDgrad, *geo, lowering);
  op.m = s.m;
  op.n = s.n;
  op.k = s.k;
  return true;
}

}  // namespace lbsim
