// MAC families: the contract every family implementation (models/mac/families/*.cpp) fulfils.
//
// A MAC family is everything that makes one kind of multiply-accumulate array what it is, in one
// registered component (LBSIM_REGISTER(IMacFamily, name, ...)):
//   * the element kinds it multiplies (i_number_format.h) and, for formats that name a family
//     (FormatInfo::mac_family), which of them it executes;
//   * its bit-level PE datapath over a whole GEMM (run_datapath; the per-MAC PE is one of the
//     templates of pe.h, pe_datapath() says which, so the cycle-level array instantiates the same
//     PE and no virtual call happens per MAC) and its independent reference route
//     (run_reference, models/reference): the two agree bit for bit (gemm_problem.h contract);
//   * its default accumulator;
//   * the quantization-unit work to produce a tensor in one of its formats (quant_ops_per_element);
//   * its energy: the PE-array actions of one GEMM op (gemm_actions, vocabulary of
//     models/energy/actions.h).
// Adding a family is one new file here plus its registration; nothing else branches on families.
//
// Choosing the family of a GEMM (mac_family_for): a format that names a family is executed by it
// (both operands must then agree and the family must take both kinds); otherwise the one family
// that takes both kinds without being named (by_kind()) executes them. No match is a UserError
// naming both formats and what each family takes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/core/registry.h"
#include "models/numerics/gemm_problem.h"
#include "models/numerics/i_number_format.h"

namespace lbsim {

// What the energy model knows about one GEMM op when it asks a family for its PE-array actions.
struct GemmActionInput {
  const FormatInfo* a = nullptr;  // operand formats
  const FormatInfo* b = nullptr;
  int64_t macs = 0;                // m n k groups samples
  int64_t outputs = 0;             // m n groups samples
  int64_t k_segments = 1;          // K segments per output (gemm_problem.h segmentation)
  bool grouped = false;            // an operand carries group scales
  int acc_bits = 32;               // pe_array.accumulator.bits
  int mls_unit_mantissa_bits = 0;  // pe_array.mls_unit_mantissa_bits (0: sized to the format)
};

using ActionParams = std::vector<std::pair<std::string, std::string>>;
// Receives one action (vocabulary name, its parameters in vocabulary order) and its count.
using ActionSink =
    std::function<void(const std::string& name, const ActionParams& params, int64_t count)>;

class IMacFamily {
 public:
  virtual ~IMacFamily() = default;
  virtual const std::string& name() const = 0;  // registered name, also pe_overhead{family}
  virtual const std::string& description() const = 0;
  // Element kinds the family's multipliers take (either operand).
  virtual bool accepts(ElementKind kind) const = 0;
  // True when the family executes formats that name no family (FormatInfo::mac_family empty).
  virtual bool by_kind() const = 0;
  // The PE template of pe.h its cells are: kFloat = FloatPe (fp32 FMA), kFixed = FixedPe
  // (integer terms per K segment, segment results scaled into fp32).
  virtual MacFamily pe_datapath() const = 0;
  // Whether pe_array.accumulator applies (integer accumulator), and its default.
  virtual bool integer_accumulator() const = 0;
  virtual AccumulatorSpec default_accumulator() const = 0;
  virtual const std::string& accumulator_text() const = 0;  // for list-types and summaries

  virtual GemmResult run_datapath(const GemmProblem& p, const AccumulatorSpec& acc) const = 0;
  // The reference on `threads` threads (over rows of C; the result does not depend on threads).
  virtual GemmResult run_reference(const GemmProblem& p, const AccumulatorSpec& acc,
                                   int threads) const = 0;

  // Quantization-unit operations per element to produce a tensor in `format` (a kind this family
  // takes), the stochastic-rounding draw included when `stochastic`.
  virtual int64_t quant_ops_per_element(const FormatInfo& format, bool stochastic) const = 0;
  // The PE-array actions of one GEMM op (models/energy/actions.h lists the rules).
  virtual void gemm_actions(const GemmActionInput& in, const ActionSink& sink) const = 0;
};

using MacFamilyPtr = std::shared_ptr<const IMacFamily>;

// The registered family of that name, or null.
const IMacFamily* find_mac_family(const std::string& name);
std::vector<std::string> mac_family_names();  // sorted
// The family that executes A x B (rule above); UserError naming both formats when none does.
const IMacFamily& mac_family_for(const FormatInfo& a, const FormatInfo& b);
// The family that executes tensors of `format` (its named family, else the by-kind family of its
// kind); UserError when none does.
const IMacFamily& mac_family_of(const FormatInfo& format);

// Registration helper: a family object is stateless, so its maker returns one shared instance.
template <class F>
Registry<IMacFamily>::Maker mac_family_maker() {
  auto f = std::make_shared<const F>();
  return [f](Params&) -> std::shared_ptr<const IMacFamily> { return f; };
}

// For families' energy sizing: the smallest s with 2^s >= v (v >= 1), e.g. the adder-tree depth
// of v inputs.
inline int ceil_log2(int64_t v) {
  int s = 0;
  while ((int64_t{1} << s) < v) ++s;
  return s;
}

}  // namespace lbsim
