// The training GEMMs of one conv2d or linear layer built from its real (or synthetic) fp32
// tensors: each operand quantized in its role's format and the pairs lowered as the hardware runs
// them (conv: lower_conv with the architecture's dgrad lowering; linear: lower_gemm). Shared by
// `lbsim verify` (cycle-level array vs reference) and the numerics metric of sweeps
// (models/sweep/numerics_quality.h), so both build a layer's GEMMs one way.
//
// Tensors as PyTorch holds them (the layout workloads/tools/trace_torch.py --dump-tensors writes):
//   conv2d  x (N, Cin, H, W)   w (Cout, Cin, R, S)   e (N, Cout, Ho, Wo)
//   linear  x (rows, in)       w (out, in)           e (rows, out)
// GEMMs (A x B):
//   conv2d  fwd (x, w), dgrad (e, w), wgrad (x, e) through lower_conv; x, w, e quantized once
//           (reduction axis -1: the format's own grouping of an NCHW / OIHW tensor)
//   linear  fwd y = x w^T: A = x (reduced along axis 1), B = w^T (in x out, axis 0)
//           dgrad dx = e w: A = e (axis 1), B = w (out x in, axis 0)
//           wgrad dw^T = x^T e: A = x^T (in x rows, axis 1), B = e (axis 0)
// Quantization: stochastic rounding keyed by (seed, the tensor's id in TensorIds).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/arch/arch_config.h"
#include "models/numerics/operands.h"
#include "models/workload/workload.h"

namespace lbsim {

// Whether the layer's GEMMs can be built here: "" when yes, else why not (a layer that is not
// conv2d/linear, or a conv2d with groups, dilation or unequal stride/padding along h and w).
std::string layer_gemms_unsupported(const LayerSpec& l);

// The tensor shapes of a supported layer at `batch` (conv2d: N = batch; linear: rows as the layer
// states, batch unused). conv2d also fills geo. Throws UserError on an impossible geometry.
struct LayerShapes {
  Shape x, w, e;
  ConvGeometry geo;  // conv2d only
};
LayerShapes layer_shapes(const LayerSpec& l, int64_t batch);

// The formats of each role for this layer: its `precision` overrides, else the array's defaults.
struct LayerFormats {
  FormatPtr weight, activation, error;
};
LayerFormats layer_formats(const LayerSpec& l, const PeArrayConfig& pe);

struct LayerTensors {
  Tensor x, w, e;  // e unused (may be empty) when training is false
};
struct TensorIds {
  uint64_t x = 0, w = 1, e = 2;
};

struct LayerGemm : OwnedGemm {
  Phase phase = Phase::kFwd;
};

// Which outputs of a phase's GEMM (M x N x K as lowered) to build: rows of C (of A) and columns
// of C (of B), each ascending and in range. Empty function = all of them.
struct OutputSample {
  std::vector<int64_t> rows, cols;
};
using OutputSampler = std::function<OutputSample(Phase phase, int64_t m, int64_t n, int64_t k)>;

// fwd, dgrad, wgrad (only fwd when training is false), built from t (shapes: the table above;
// conv2d geometry from x and w with the layer's stride and padding). Every operand is quantized
// whole (scales as the hardware computes them); with a sampler only the chosen outputs' rows and
// columns are lowered (conv: lower_conv_sampled, linear: sub_problem). UserErrors of
// quantization are prefixed "<layer> <role>: ", of lowering "layer <layer> <phase>: ".
std::vector<LayerGemm> layer_gemms(const LayerSpec& l, const LayerFormats& f, const LayerTensors& t,
                                   bool training, uint64_t seed, const TensorIds& ids,
                                   DgradLowering dgrad, const OutputSampler& sample = {});

// 2-D transpose of a rank-2 tensor.
Tensor transpose2(const Tensor& t);

}  // namespace lbsim
