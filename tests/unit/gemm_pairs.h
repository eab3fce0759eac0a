// Operand format pairs covering every MAC family's contract (models/numerics/gemm_problem.h),
// shared by the tests that hold the functional reference against another route: the PE
// datapaths (test_bitexact.cpp) and the exact rational oracle (test_rational_oracle.cpp).
#pragma once

#include "models/numerics/i_number_format.h"

namespace lbsim::test {

struct Pair {
  const char* a;
  const char* b;
  Role role_b;
};

const Pair kPairs[] = {
    {"fp32", "fp32", Role::kWeight},
    {"fp16", "fp16", Role::kWeight},
    {"bf16", "bf16", Role::kWeight},
    {"fp8_e4m3", "fp8_e4m3", Role::kWeight},
    {"fp8_e5m2", "fp8_e4m3", Role::kWeight},
    {"fp8_e4m3:rounding=stochastic", "fp8_e5m2:scale=none", Role::kError},
    {"int8", "int8", Role::kWeight},
    {"int4:granularity=channel,axis=0", "int4:granularity=channel,axis=1", Role::kWeight},
    {"int8:rounding=stochastic", "int16", Role::kWeight},
    {"dfp8", "dfp8", Role::kWeight},
    {"dfp16:granularity=channel,axis=1", "dfp4", Role::kError},
    {"int4_sawb", "int4_sawb", Role::kWeight},
    {"int4_sawb", "luq_fp4", Role::kError},
    {"luq_fp4", "int4_sawb", Role::kWeight},
    {"luq_fp4:alpha_pow2=true", "luq_fp4:rounding=nearest", Role::kError},
    {"mls_m1e2", "mls_m1e2", Role::kWeight},
    {"mls_m4e2", "mls_m4e2", Role::kError},
    {"mls_m2e3:group_activation=k5,group_weight=k3", "mls_m0e1:group_weight=tensor", Role::kWeight},
    {"mls_m3e2:group_exp_bits=2", "int8", Role::kWeight},
};

// The mx family (OCP MX v1.0, NVFP4): blocks along K, exact block sums, fp32 across blocks.
const Pair kMxPairs[] = {
    {"mxfp8_e4m3", "mxfp8_e4m3", Role::kWeight},
    {"mxfp4", "mxfp4", Role::kWeight},
    {"mxint8", "mxint8", Role::kWeight},
    {"nvfp4", "nvfp4", Role::kWeight},
};

}  // namespace lbsim::test
