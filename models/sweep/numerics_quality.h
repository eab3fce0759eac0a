// The numerics metric of a sweep point: how much a point's formats lose, so that bit-width
// choices are not blind (sweeps put it next to energy and latency).
//
//   SQNR (dB) per operand role (weight, activation, error): 10 log10(sum x^2 / sum (x - q(x))^2)
//   of the role's tensor quantized in the architecture's format for that role (pe_array.formats).
//   GEMM relative error per phase (fwd, dgrad, wgrad): ||C_q - C_fp32||_F / ||C_fp32||_F of one
//   sampled GEMM of the workload, C_q through the functional reference (models/reference) with
//   the architecture's accumulator, C_fp32 in double from the unquantized operands; the GEMM's
//   M is cut so that M x N x K <= max_macs.
// Tensors: real ones from `data_dir` (what workloads/tools/trace_torch.py --dump-tensors writes)
// when given, else deterministic synthetic tensors of a documented distribution keyed by seed.
// `tensors` says which were used. Deterministic: same inputs -> same numbers.
#pragma once

#include <cstdint>
#include <string>

#include "models/arch/arch_config.h"
#include "models/workload/workload.h"

namespace lbsim {

struct NumericsQualityOptions {
  std::string data_dir;        // "" = synthetic tensors
  int64_t max_macs = 1 << 20;  // bound of each sampled GEMM
  uint64_t seed = 0;
};

struct NumericsQuality {
  double sqnr_weight_db = 0, sqnr_activation_db = 0, sqnr_error_db = 0;
  double gemm_rel_error_fwd = 0, gemm_rel_error_dgrad = 0, gemm_rel_error_wgrad = 0;
  std::string tensors;  // which tensors were used (one line, for the summary)
};

// UserError when data_dir lacks the tensors it needs (naming the file) or a format cannot
// quantize them.
NumericsQuality numerics_quality(const ArchConfig& arch, const Workload& workload,
                                 const NumericsQualityOptions& options);

}  // namespace lbsim
