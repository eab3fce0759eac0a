// Datapath actions of a simulation plan (DESIGN.md §5): what the hardware does for each op, with
// the parameters its energy depends on, counted once per run. Energy is applied afterwards
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
// GEMM ops (per op; MACs = m n k groups samples, outputs = m n groups samples), following the
// arithmetic contract of models/numerics/gemm_problem.h:
//   float family (both operands kFloat; e, m = the larger exponent / mantissa of A and B):
//     per MAC     the product: when the exact product fits the fp32 accumulator's significand
//                 ((m_a + 1) + (m_b + 1) <= 24: fp16, bf16, fp8) the FMA datapath forms it
//                 without a normalise/round stage, as the fixed family does: int_mul{a_bits=
//                 larger significand;b_bits=smaller} + exp_add{bits=e+1}; otherwise (fp32)
//                 fp_mul{e;m} (a full multiplier, Horowitz's unfused FP32 MAC = mul + add);
//                 then fp_add{e=8;m=23} (fp32 accumulate) + acc_update{bits=32}
//     per output  fp_mul{e=8;m=23} (tensor scale) unless both operands are fp32
//   fixed family (kInt, kLog, kMls; W = the arch accumulator width, pe_array.accumulator.bits):
//     significand bits s: int code_bits, log 1, mls max(man_bits, U) + 1 with U =
//     pe_array.mls_unit_mantissa_bits (0: sized to the format; N: one unit built for m <= N);
//     exponent bits x: int 0, log code_bits - 1, mls exp_bits.
//     per MAC     int_mul{a_bits=s_a;b_bits=s_b} when both s > 1
//                 exp_add{bits=max(x_a,x_b)+1} when both x > 0
//                 shift{bits=product bits;stages=ceil(log2(R+1))}, R = sum of (2^x - 1), when any
//                 x > 0 (product bits = s_a + s_b, or the wider s when one side is a pure power)
//                 int_add{bits=W} + acc_update{bits=W}
//     per (output, K segment)  group_end_convert{bits=W}; exp_add{bits=8} (power-of-two group
//                 scales) or fp_mul{e=8;m=23} (fp32 group scales) when an operand has group
//                 scales; fp_add{e=8;m=23} when an output has more than one segment. Segments
//                 per output = OpWork::k_segments: the contract's segmentation of the op's
//                 lowering (conv2d: conv_k_segments on the real tensors' group layouts, e.g.
//                 MLS (n,c) groups: fwd Cin segments of R*S, dgrad Cout segments of 1 (im2col)
//                 or R*S (transposed), wgrad batch segments of Ho*Wo; other GEMMs: ceil(K /
//                 group length along K)).
//     per output  fp_mul{e=8;m=23} (tensor scale)
//   both          pe_register_bits = code_bits(A) + code_bits(B) per MAC (operand pipeline
//                 registers; an MLS operand's register is max(man_bits, U) - man_bits wider);
//                 pe_overhead{family} per MAC, family = the first of mls, log, int that either
//                 operand is, else float.
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

// Splits one CSV record (RFC 4180 quoting; no embedded newlines).
std::vector<std::string> split_csv_line(const std::string& line);
std::string csv_field(const std::string& s);  // quoted when it holds ',' or '"'

}  // namespace lbsim
