// Closed-form cycle counts of a systolic PE array (timing mode, docs/design.md §3).
//
// A GEMM C[M x N] = A[M x K] * B[K x N] is assigned to an R x C array by its dataflow:
//   os (output stationary): rows hold M, columns hold N, K streams in time   (S_R=M, S_C=N, T=K)
//   ws (weight stationary): rows hold K, columns hold N, M streams in time   (S_R=K, S_C=N, T=M)
//   is (input stationary):  rows hold K, columns hold M, N streams in time   (S_R=K, S_C=M, T=N)
// The spatial extents are cut into folds of at most R x C: F = ceil(S_R/R) * ceil(S_C/C) folds,
// run back to back, each filling and draining the whole array and streaming all T steps:
//   os:      T + R + C - 2 cycles per fold  (R-1 row skew, T steps, C-1 to reach the last column)
//   ws, is:  T + 2R + C - 2 cycles per fold (R to preload the stationary operand, T + R - 1 for
//            the skewed stream to pass the rows, C - 1 to drain the last partial sums)
// These are SCALE-Sim's per-fold demand lengths; a partly filled fold costs the same as a full one.
// compute_cycles = F x cycles_per_fold.
//
// scalesim_compat: SCALE-Sim v2 concatenates the per-fold demand matrices (each exactly the
// closed-form length above) and reports as "compute cycles" the 0-based index of the cycle that
// serves the last demand row, i.e. F x cycles_per_fold - 1. The difference is one cycle per GEMM
// (per SCALE-Sim layer), not one per fold, so scalesim_compat subtracts 1 from compute_cycles
// once and leaves cycles_per_fold as the closed form.
//
// Everything here is exact int64 arithmetic; a count that would overflow int64 is a UserError.
#pragma once

#include <cstdint>
#include <string>

namespace lbsim {

enum class Dataflow { kOs, kWs, kIs };

// "os", "ws", "is" (exact, lower case). Anything else is a UserError listing the allowed names
// (with a "did you mean" when one is close).
Dataflow parse_dataflow(const std::string& name);
const char* dataflow_name(Dataflow d);

// Spatial and temporal extents of a GEMM under a dataflow (the table at the top of this file).
struct FoldAxes {
  int64_t s_r = 0;  // extent held along the array rows
  int64_t s_c = 0;  // extent held along the array columns
  int64_t t = 0;    // extent streamed in time
};
FoldAxes fold_axes(Dataflow d, int64_t m, int64_t n, int64_t k);
// The inverse: the GEMM sizes whose fold_axes are (s_r, s_c, t).
struct GemmDims {
  int64_t m = 0, n = 0, k = 0;
};
GemmDims gemm_dims(Dataflow d, const FoldAxes& axes);

// The fixed per-fold overhead (cycles_per_fold - T), split where it happens in time: `lead`
// cycles before/while the first stream element enters (os: R - 1 row skew; ws/is: R preload +
// R - 1 row skew), `tail` cycles after the last one entered (C - 1 to cross the columns).
struct FoldOverhead {
  int64_t lead = 0;
  int64_t tail = 0;
  int64_t total() const { return lead + tail; }
};
FoldOverhead fold_overhead(Dataflow d, int64_t rows, int64_t cols);

struct FoldPlan {
  Dataflow dataflow = Dataflow::kWs;
  int64_t rows = 0, cols = 0;   // array R x C
  int64_t s_r = 0, s_c = 0;     // spatial extents (see fold_axes)
  int64_t t = 0;                // temporal extent per fold
  int64_t folds_r = 0;          // ceil(s_r / rows)
  int64_t folds_c = 0;          // ceil(s_c / cols)
  int64_t folds = 0;            // folds_r * folds_c
  int64_t cycles_per_fold = 0;  // closed form (never adjusted by scalesim_compat)
  int64_t compute_cycles = 0;   // folds * cycles_per_fold, minus 1 when scalesim_compat
  int64_t macs = 0;             // m * n * k
  bool scalesim_compat = false;
  double mapping_efficiency = 0;  // s_r * s_c / (folds * rows * cols), in (0, 1]
};

// Throws UserError when a dimension is < 1 or a count overflows int64.
FoldPlan plan_folds(Dataflow d, int64_t rows, int64_t cols, int64_t m, int64_t n, int64_t k,
                    bool scalesim_compat = false);

// MACs / (compute_cycles * rows * cols). At most 1 for exact counts (cycles_per_fold >= T and
// folds * R * C >= s_r * s_c); with scalesim_compat it can exceed 1 only in the degenerate
// single-PE os case (cycles_per_fold == T), where SCALE-Sim itself reports T - 1 cycles; it is 0
// when compute_cycles is 0 (that case with T = 1).
double utilisation(const FoldPlan& p);

}  // namespace lbsim
