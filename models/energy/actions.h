// Datapath actions of a simulation plan (docs/design.md §5): what the hardware does for each op,
// with the parameters its energy depends on, counted once per run. Energy is applied afterwards
// (models/energy/cost.h), so a new technology table needs no re-simulation.
//
// An action is a name plus parameters, written `int_mul{a_bits=2;b_bits=2}`. The vocabulary
// (action_vocabulary()) fixes every name, its parameters and its component:
//   pe_array     int_mul{a_bits;b_bits} int_add{bits} shift{bits;stages} exp_add{bits}
//                fp_mul{e;m} fp_add{e;m} acc_update{bits} group_end_convert{bits}
//                pe_register_bits pe_overhead{family} rf_read{entries;bits} rf_write{entries;bits}
//   sram_<buffer> sram_read{buffer;bytes;bits} sram_write{buffer;bytes;bits}  (per access)
//   dram         dram_bit{type}
//   quant_unit   quant_max{bits} quant_scale quant_convert{bits} rng_draw{bits}
//   vector_unit  vector_op{kind}
//
// GEMM ops (per op; MACs = m n k groups samples, outputs = m n groups samples): the actions of
// the MAC family that executes the operands' formats (models/mac/i_mac_family.h,
// IMacFamily::gemm_actions), following the arithmetic contract of gemm_problem.h. The rules live
// with each family (models/mac/families/):
//   float  (float_family.cpp) per MAC the product (int_mul + exp_add when the exact product fits
//          fp32's significand, else fp_mul{e;m}), fp_add{e=8;m=23}, acc_update{bits=32}; per
//          output fp_mul{e=8;m=23} (tensor scale) unless both operands are fp32
//   fixed  (fixed_family.cpp) per MAC int_mul / exp_add / shift by significand and exponent bits
//          (MLS sized by pe_array.mls_unit_mantissa_bits), int_add + acc_update of the arch
//          accumulator width W; per (output, K segment) group_end_convert{bits=W}, the group-scale
//          step (exp_add{bits=8} or fp_mul{e=8;m=23}), fp_add when an output has several segments
//          (OpWork::k_segments, from the lowering); per output fp_mul{e=8;m=23} (tensor scale)
//   mx     (mx_family.cpp, OCP MX / NVFP4) element multiplier, block adder tree, scale add,
//          fp32 accumulate per block
//   all    pe_register_bits per MAC (operand register bits) and pe_overhead{family} per MAC.
// Every op: SRAM accesses per buffer (ifmap/filter/ofmap, or global for a unified buffer) =
// ceil(bytes * 8 / word_bits), parameters bytes = capacity / banks (one bank per access) and
// bits = word_bits; dram_bit{type=arch dram type} = 8 x (DRAM bytes read + written).
// Quantization of the produced tensor (quant_elements values in the output format, ops per element
// q as in sim_plan.h, one of them an SR draw when the role rounds stochastically): quant_convert
// {bits=code_bits} per element, quant_max{bits=32} (q - 1 - SR) per element, rng_draw{bits=16} per
// element when stochastic, quant_scale once per group of the output format (once per op when
// per-tensor).
// Vector ops: vector_op{kind} x vector_ops, kind = the op's declared VectorKind (workload.h:
// activation | norm | update), never derived from its name.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/arch/arch_config.h"
#include "models/core/csv.h"
#include "models/sim_plan/sim_plan.h"

namespace lbsim {

struct ActionKey {
  std::string name;
  std::vector<std::pair<std::string, std::string>> params;  // in vocabulary order
  std::string param_text() const;                           // "a_bits=2;b_bits=2" ("" if none)
  std::string text() const;                                 // "int_mul{a_bits=2;b_bits=2}"
  const std::string* param(const std::string& key) const;   // null if absent
  bool operator<(const ActionKey& o) const;
  bool operator==(const ActionKey& o) const;
};

struct ActionCount {
  ActionKey key;
  int64_t count = 0;
};

// The actions of one op, in a fixed order (deterministic output).
struct OpActions {
  std::string layer, phase, op;
  std::vector<ActionCount> actions;
};

struct ActionSpec {
  std::string name;
  std::vector<std::string> params;
  std::vector<bool> numeric;  // per param: a number usable in formulas (else a category)
  std::string meaning;
};
const std::vector<ActionSpec>& action_vocabulary();
const ActionSpec* find_action(const std::string& name);
// "pe_array", "sram_<buffer>", "dram", "quant_unit", "vector_unit".
std::string action_component(const ActionKey& key);

// Counts the actions of one op / every op of a plan on `arch` (rules in the header comment).
OpActions count_op_actions(const OpWork& op, const ArchConfig& arch);
std::vector<OpActions> count_actions(const SimPlan& plan, const ArchConfig& arch);

// actions.csv: header "layer,phase,op,action,params,count", one row per (op, action) with a
// nonzero count; RFC 4180 quoting. Deterministic.
std::string actions_csv(const std::vector<OpActions>& ops);
// Parses actions.csv text (as written above). Rows of one op are consecutive. Unknown action names,
// unknown parameters, bad counts and a wrong header are UserErrors "file:line: error: ...".
std::vector<OpActions> parse_actions_csv(const std::string& text, const std::string& file);

}  // namespace lbsim
