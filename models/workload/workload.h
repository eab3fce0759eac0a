// Training workloads: one iteration of a real network as layers and the ops they expand to.
//
// This header is the contract between the workload side (zoo, trace loader/writer, SCALE-Sim
// import, PyTorch tracer) and the simulator (which consumes Workload::layers[i].ops). Schema v1 of
// the trace files mirrors these structs one to one; workloads/README.md documents it with an
// example.
//
// Expansion rules (implemented once, in expand_layer()), im2col view, per group g of `groups`:
//   conv2d  (Cin, Cout, R x S, stride, pad, dilation, groups G; input H x W -> output Ho x Wo)
//     fwd    gemm  M = batch*Ho*Wo   N = Cout/G        K = Cin/G*R*S     groups G
//     dgrad  gemm  M = batch*Ho*Wo   N = Cin/G*R*S     K = Cout/G        groups G   (not when
//            vector col2im, elements = batch*Cin*R*S*Ho*Wo                      input_grad false)
//     wgrad  gemm  M = Cin/G*R*S     N = Cout/G        K = batch*Ho*Wo   groups G
//     update vector sgd_momentum, elements = parameters (weights + bias)
//   linear  (in, out features; rows = batch * tokens)
//     fwd M = rows, N = out, K = in;  dgrad M = rows, N = in, K = out;  wgrad M = in, N = out,
//     K = rows;  update sgd_momentum over in*out (+ out)
//   matmul  (batched, no weights: C[b] = A[b] (m x k) x B[b] (k x n), `count` = b)
//     fwd M = m, N = n, K = k;  dgrad dA: M = m, N = k, K = n and dB: M = k, N = n, K = m
//   element-wise layers (batch_norm, layer_norm, activation, pool, add, softmax_cross_entropy,
//   embedding) expand to vector ops in fwd and dgrad; the parameter gradients of the norms and the
//   embedding scatter are vector ops in wgrad (kept when input_grad is false); update for their
//   parameters. ops_per_element per op: the table at the top of expand.cpp.
// LUQ's SMP (`smp_samples` k > 1) multiplies the dgrad and wgrad GEMMs: each carries samples = k.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "models/numerics/conv_lowering.h"
#include "models/numerics/i_number_format.h"

namespace lbsim {

enum class Phase { kFwd, kDgrad, kWgrad, kUpdate };
const char* phase_name(Phase p);  // "fwd", "dgrad", "wgrad", "update"

enum class OpKind { kGemm, kVector };

// What an element-wise op does, declared by whoever creates it (the expansion, a trace's
// `vector_kind`), never guessed from its name: the energy model prices vector work per kind.
enum class VectorKind { kActivation, kNorm, kUpdate };
const char* vector_kind_name(VectorKind k);  // "activation", "norm", "update"
const std::vector<std::string>& vector_kind_names();
VectorKind parse_vector_kind(const std::string& s);  // one of vector_kind_names(); else logic_error

struct Op {
  Phase phase = Phase::kFwd;
  OpKind kind = OpKind::kGemm;
  std::string name;  // e.g. "gemm", "col2im", "bn_fwd", "relu_bwd", "sgd_momentum"
  // kGemm: one GEMM of m x n x k per group, `groups` independent groups, repeated `samples` times
  int64_t m = 0, n = 0, k = 0, groups = 1, samples = 1;
  Role a_role = Role::kActivation;  // operand roles: fwd A = activation, B = weight;
  Role b_role = Role::kWeight;      // dgrad A = error, B = weight; wgrad A = activation, B = error
  // kVector: element-wise work
  int64_t elements = 0;
  int64_t ops_per_element = 1;
  VectorKind vector_kind = VectorKind::kActivation;
  int64_t macs() const { return kind == OpKind::kGemm ? m * n * k * groups * samples : 0; }
};

// Per-layer number formats per operand role (spec strings, "" = the architecture's default), so a
// mixed-precision map (first/last layer in fp32, a constrained-QAT selection) is plain data.
struct LayerPrecision {
  std::string weight, activation, error;
};

enum class LayerType {
  kConv2d,
  kLinear,
  kMatmul,
  kPool,
  kBatchNorm,
  kLayerNorm,
  kActivation,
  kAdd,
  kSoftmaxCrossEntropy,
  kEmbedding
};
// "" when `text` can name a layer or an op (and so a layers.csv field and a message fragment):
// non-empty, at most kMaxNameChars characters, no control characters (a newline or tab would
// break the one-record-per-line CSV files and the one-line messages); else the problem.
constexpr size_t kMaxNameChars = 256;
std::string name_problem(const std::string& text);

const char* layer_type_name(LayerType t);  // "conv2d", "linear", "matmul", "pool", "batch_norm",
                                           // "layer_norm", "activation", "add",
                                           // "softmax_cross_entropy", "embedding"

// Trace files use type-specific key names that map onto these fields:
//   conv2d: in_channels, out_channels, kernel [r, s], stride [h, w], padding [h, w],
//           dilation [h, w], groups, input_hw [h, w], output_hw [h, w] (optional), bias
//   linear: in_features -> in_channels, out_features -> out_channels, rows, bias
//   matmul: count, m, n, k
//   batch_norm: channels -> in_channels, elements (per sample, C*H*W)
//   layer_norm: features -> in_channels, rows
//   activation: kind (relu, gelu, ...), elements (per sample)
//   pool: kind (max, avg, adaptive_avg), channels -> in_channels, input_hw, output_hw, kernel,
//         stride, padding
//   add: elements (per sample)
//   softmax_cross_entropy: classes -> in_channels (rows = batch)
//   embedding: vocab -> in_channels, dim -> out_channels, rows
// and every layer may carry: input_grad (bool), precision {weight, activation, error},
// tensors {weight, activation, error} (.npy paths), ops [...] (as written by the expansion).
struct LayerSpec {
  std::string name;
  LayerType type = LayerType::kConv2d;
  // conv2d
  int64_t in_channels = 0, out_channels = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1, groups = 1;
  int64_t in_h = 0, in_w = 0;
  int64_t out_h = 0, out_w = 0;  // 0 = computed: (in + 2 pad - dilation (k - 1) - 1) / stride + 1
  bool bias = false;
  // linear: in_features = in_channels, out_features = out_channels, rows = batch * tokens
  int64_t rows = 0;
  // matmul: count x (m x k) x (k x n)
  int64_t count = 0, m = 0, n = 0, k = 0;
  // element-wise layers: elements per sample (channels * h * w, or features) and channels of the
  // affine parameters (batch/layer norm), kind ("relu", "gelu", "max", "avg", ...)
  int64_t elements = 0;
  std::string kind;
  bool input_grad = true;  // false for the first layer: no dgrad (nothing upstream needs it)
  LayerPrecision precision;
  std::map<std::string, std::string>
      tensors;          // optional .npy per role: "weight", "activation", "error"
  std::vector<Op> ops;  // filled by expand_layer() (or read from a trace)
};

struct Workload {
  int schema_version = 1;
  std::string network;
  int64_t batch = 1;
  Shape input;              // per-sample input shape, e.g. {3, 224, 224}
  bool training = true;     // false: inference (forward ops only)
  int64_t smp_samples = 1;  // LUQ SMP: samples of the gradient quantization
  std::vector<LayerSpec> layers;

  int64_t total_macs(Phase p) const;
};

// Op constructors (the expansion builds every op through these).
Op gemm_op(Phase phase, const std::string& name, int64_t m, int64_t n, int64_t k, int64_t groups,
           int64_t samples, Role a_role, Role b_role);
Op vector_op(Phase phase, const std::string& name, int64_t elements, int64_t ops_per_element,
             VectorKind kind = VectorKind::kActivation);

// Fills layer.ops from the layer's fields by the rules above (idempotent: replaces ops).
// Throws UserError on impossible shapes (non-positive sizes, channels not divisible by groups,
// output size < 1, products overflowing 64 bits), naming the layer and the field.
void expand_layer(LayerSpec& layer, int64_t batch, bool training, int64_t smp_samples);
void expand_workload(Workload& w);

// A conv2d layer's geometry for one group of `groups` (make_conv_geometry of the per-group
// tensors at `batch`), or nullopt when conv_lowering cannot express it (unequal stride or padding
// along h and w, dilation > 1) or the layer is not a conv2d.
std::optional<ConvGeometry> conv_group_geometry(const LayerSpec& layer, int64_t batch);

// The architecture's dgrad lowering applied to one op of a conv2d layer (models/numerics/
// conv_lowering.h): with kTransposed the dgrad "gemm" becomes M = batch*H*W, N = Cin/G,
// K = Cout/G*R*S (same groups and samples) and "col2im" disappears (returns false: drop the op).
// Everything else, and every op under kIm2col or of a layer conv_group_geometry() rejects, is
// left as it is (returns true).
bool apply_dgrad_lowering(const LayerSpec& layer, int64_t batch, DgradLowering lowering, Op& op);

}  // namespace lbsim
