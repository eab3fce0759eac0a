// The functional reference: computes the contract of gemm_problem.h by an independent route
// (decode every element to its exact value, exact integer sums, one rounding at each stated point
// done through correctly rounded double arithmetic) so that agreement with models/mac means
// something.
#pragma once

#include "models/numerics/gemm_problem.h"

namespace lbsim {

// The reference route of the MAC family that executes the operands' formats (i_mac_family.h).
GemmResult run_reference(const GemmProblem& p, const AccumulatorSpec& acc);

// The two contracts of gemm_problem.h, for the families that follow them.
GemmResult run_float_reference(const GemmProblem& p);
GemmResult run_fixed_reference(const GemmProblem& p, const AccumulatorSpec& acc);

}  // namespace lbsim
