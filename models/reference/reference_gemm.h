// The functional reference: computes the contract of gemm_problem.h by an independent route
// (decode every element to its exact value, exact integer sums, one rounding at each stated point
// done through correctly rounded double arithmetic) so that agreement with models/mac means
// something.
#pragma once

#include "models/numerics/conv_lowering.h"
#include "models/numerics/gemm_problem.h"

namespace lbsim {

// The reference route of the MAC family that executes the operands' formats (i_mac_family.h), on
// `threads` threads (rows of C are shared out; the result does not depend on threads).
GemmResult run_reference(const GemmProblem& p, const AccumulatorSpec& acc, int threads = 1);

// The two contracts of gemm_problem.h, for the families that follow them.
GemmResult run_float_reference(const GemmProblem& p, int threads = 1);
GemmResult run_fixed_reference(const GemmProblem& p, const AccumulatorSpec& acc, int threads = 1);

// The reference of a lowering computed without building it: equal bit for bit to run_reference
// on the GemmProblem the lowering builds (result, overflow count, sizes, K segments), for any
// thread count. For the fixed-point family (families whose PE is FixedPe) the lowered operands
// are read in place: source elements are decoded once into exact unit counts and every row of A
// is gathered when its outputs are computed, in tiles of rows shared out over the threads.
// Other families (and fixed-point operands wider than 31 bits) build the problem and run it.
struct LoweredReference {
  GemmResult result;
  int64_t m = 0, n = 0, k = 0;
  int32_t num_segments = 0;
};
// lower_conv(phase, first, second, geo, dgrad) (conv_lowering.h); UserErrors as lower_conv's.
LoweredReference run_conv_reference(ConvPhase phase, const QTensor& first, const QTensor& second,
                                    const ConvGeometry& geo, DgradLowering dgrad,
                                    const AccumulatorSpec& acc, int threads = 1);
// lower_gemm(a, b) (gemm_problem.h); UserErrors as lower_gemm's.
LoweredReference run_gemm_reference(const QTensor& a, const QTensor& b, const AccumulatorSpec& acc,
                                    int threads = 1);

}  // namespace lbsim
