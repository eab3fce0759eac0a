// The numerics metric of a sweep point: how much a point's formats lose, so that bit-width
// choices are not blind (sweeps put it next to energy and latency). models/README.md ("Numerics
// metric of a sweep point") documents the definitions, the sampling rule and the synthetic
// distributions; in short:
//
//   SQNR (dB) per operand role (weight, activation, error): 10 log10(sum x^2 / sum (x - q(x))^2)
//   of the role's tensor quantized in the sampled layer's format for that role (its `precision`
//   override, else pe_array.formats), capped at kSqnrLosslessDb (what a lossless quantization,
//   e.g. fp32, reports: a finite number, so CSV files and plots need no special value; -inf only
//   for an all-zero tensor quantized to something else).
//   GEMM relative error per phase (fwd, dgrad, wgrad): ||C_q - C_fp32||_F / ||C_fp32||_F of one
//   sampled GEMM of the workload, C_q through the functional reference (models/reference) with
//   the architecture's accumulator, C_fp32 in double from the unquantized operands (0 when both
//   are all zero, +inf when only C_fp32 is).
// Sampling: the sampled layer is the conv2d/linear layer lbsim can lower (layer_gemms.h) with the
// most training MACs (ties: the first); its tensors are cut to the first samples (conv2d; rows
// for linear) whose fwd GEMM fits max_macs (at least one), and each phase's GEMM to evenly spaced
// rows (then columns) of its output so that M x N x K <= max(max_macs, K).
// Tensors: real ones from `data_dir` (DIR/<layer>.<role>.npy as workloads/tools/trace_torch.py
// --dump-tensors writes them) when given, else deterministic synthetic tensors keyed by seed.
// `tensors` says which were used. Deterministic: same inputs -> same numbers.
// Metrics that do not exist are NaN: the error role and the dgrad/wgrad phases of an inference
// workload, everything when the workload has no layer with weight GEMMs (`tensors` says why).
#pragma once

#include <cstdint>
#include <string>

#include "models/arch/arch_config.h"
#include "models/workload/workload.h"

namespace lbsim {

constexpr double kSqnrLosslessDb = 200.0;

struct NumericsQualityOptions {
  std::string data_dir;        // "" = synthetic tensors
  int64_t max_macs = 1 << 20;  // bound of each sampled GEMM
  uint64_t seed = 0;
};

struct NumericsQuality {
  double sqnr_weight_db = 0, sqnr_activation_db = 0, sqnr_error_db = 0;
  double gemm_rel_error_fwd = 0, gemm_rel_error_dgrad = 0, gemm_rel_error_wgrad = 0;
  std::string tensors;  // which tensors were used (one line, for the summary)
  // What was sampled (for the summary and tests): the layer, how many samples (conv2d) or rows
  // (linear) of how many the tensors held, and each phase's sampled GEMM (0 x 0 x 0 when absent).
  std::string layer;
  int64_t samples = 0, samples_available = 0;
  struct GemmSize {
    int64_t m = 0, n = 0, k = 0;
  };
  GemmSize gemm_fwd, gemm_dgrad, gemm_wgrad;
};

// UserError when data_dir lacks the tensors it needs (naming the file), a tensor's shape does not
// fit its layer (naming the file, the shape and the expected one) or a format cannot quantize
// them.
NumericsQuality numerics_quality(const ArchConfig& arch, const Workload& workload,
                                 const NumericsQualityOptions& options);

}  // namespace lbsim
