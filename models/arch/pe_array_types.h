// PE-array types: the arithmetic family of a MAC array (arch YAML `pe_array.type`).
//
// A type names the MAC family (models/mac/i_mac_family.h) whose datapath, reference, energy and
// quantization work the array has, and fixes what its multipliers take: which element kinds
// (i_number_format.h) each operand role may use and the default format per role. Its accumulator
// (integer or not, default width) is the family's. Types register themselves by name
// (LBSIM_REGISTER(IPeArrayType, ...)) in models/arch/impl/pe_array_types.cpp; the shipped ones are
//   fp32 fp16 bf16 fp8   float family (kFloat operands, fp32 accumulation, gemm_problem.h)
//   int dfp              int8 x int8 into an int32 accumulator (fp32 / power-of-two scales)
//   luq                  int4 forward, int4 x log-fp4 shift-and-add backward, int32 accumulator
//   mls                  MLS tiny floats, intra-group fixed point, inter-group fp32
// Per-layer precision overrides in workloads are checked by whoever applies them, not here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/core/registry.h"
#include "models/mac/i_mac_family.h"
#include "models/numerics/gemm_problem.h"
#include "models/numerics/i_number_format.h"

namespace lbsim {

// One format the array cannot execute: the role it was given for and a message that names the
// format, its kind and the kinds the array accepts for that role.
struct FormatProblem {
  Role role;
  std::string message;
};

class IPeArrayType {
 public:
  virtual ~IPeArrayType() = default;
  virtual const std::string& name() const = 0;
  virtual const std::string& description() const = 0;
  // The MAC family of the array's cells; formats it executes are those mac_family_of() maps to it.
  virtual const IMacFamily& family() const = 0;
  // Format spec string (make_format) used for a role when the YAML gives none.
  virtual const std::string& default_format(Role r) const = 0;
  // Element kinds the array's datapath accepts for operands of role r.
  virtual const std::vector<ElementKind>& allowed_kinds(Role r) const = 0;
  // True when the family has an integer accumulator (`accumulator`, AccumulatorSpec); the float
  // family always accumulates in fp32 (gemm_problem.h) and takes no accumulator settings.
  virtual bool fixed_point() const = 0;
  virtual AccumulatorSpec default_accumulator() const = 0;
  // How the array accumulates, for list-types and summaries ("fp32 (RNE after every FMA)").
  virtual const std::string& accumulator_text() const = 0;
  // Every role whose format this array cannot execute: a kind its multipliers do not take, or a
  // format of another MAC family (empty = all three are fine). Null formats are skipped (their own
  // error was reported already).
  virtual std::vector<FormatProblem> validate(const FormatPtr& weight, const FormatPtr& activation,
                                              const FormatPtr& error) const = 0;
};

using PeArrayTypePtr = std::shared_ptr<const IPeArrayType>;

// The registered type of that name, or null.
PeArrayTypePtr find_pe_array_type(const std::string& name);
std::vector<std::string> pe_array_type_names();  // sorted

// For list-types: every registered type with its default formats and accumulator.
std::string describe_pe_array_types();

}  // namespace lbsim
