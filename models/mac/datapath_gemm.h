// Runs a GemmProblem through the PE datapaths of models/mac (one PE per output, operands fed in
// ascending k), i.e. what the hardware computes, bit by bit (see gemm_problem.h for the contract).
#pragma once

#include "models/numerics/gemm_problem.h"

namespace lbsim {

GemmResult run_datapath(const GemmProblem& p, const AccumulatorSpec& acc);

}  // namespace lbsim
