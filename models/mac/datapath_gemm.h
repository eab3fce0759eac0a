// Runs a GemmProblem through the PE datapaths of models/mac (one PE per output, operands fed in
// ascending k), i.e. what the hardware computes, bit by bit (see gemm_problem.h for the contract).
#pragma once

#include "models/numerics/gemm_problem.h"

namespace lbsim {

// The datapath of the MAC family that executes the operands' formats (i_mac_family.h).
GemmResult run_datapath(const GemmProblem& p, const AccumulatorSpec& acc);

// The two PE templates of pe.h over a whole problem, for the families built on them: FloatPe
// (fp32 FMA per MAC) and FixedPe (integer terms per K segment; the problem must be segmented).
GemmResult run_float_datapath(const GemmProblem& p);
GemmResult run_fixed_datapath(const GemmProblem& p, const AccumulatorSpec& acc);

}  // namespace lbsim
