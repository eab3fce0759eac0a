// The float MAC family: both operands ElementKind::kFloat (fp32, fp16, bf16, fp8 E4M3/E5M2), one
// FloatPe per cell (exact product, fp32 FMA accumulation with one RNE per MAC, gemm_problem.h).
#include <algorithm>
#include <string>

#include "models/mac/datapath_gemm.h"
#include "models/mac/i_mac_family.h"
#include "models/reference/reference_gemm.h"

namespace lbsim {

namespace {

constexpr int kFp32Significand = 24;

class FloatMacFamily : public IMacFamily {
 public:
  const std::string& name() const override { return m_name; }
  const std::string& description() const override { return m_description; }
  bool accepts(ElementKind kind) const override { return kind == ElementKind::kFloat; }
  bool by_kind() const override { return true; }
  MacFamily pe_datapath() const override { return MacFamily::kFloat; }
  bool integer_accumulator() const override { return false; }
  AccumulatorSpec default_accumulator() const override { return AccumulatorSpec{}; }
  const std::string& accumulator_text() const override { return m_acc_text; }

  GemmResult run_datapath(const GemmProblem& p, const AccumulatorSpec&) const override {
    return run_float_datapath(p);
  }
  GemmResult run_reference(const GemmProblem& p, const AccumulatorSpec&,
                           int threads) const override {
    return run_float_reference(p, threads);
  }

  // fp32: 0 (already the accumulator format); fp16 / bf16: 1 (convert); narrower floats: 2 (max
  // reduction + convert); plus the stochastic-rounding draw.
  int64_t quant_ops_per_element(const FormatInfo& f, bool stochastic) const override {
    if (f.code_bits >= 32) return 0;
    return (f.code_bits >= 16 ? 1 : 2) + (stochastic ? 1 : 0);
  }

  // Per MAC: the product (int_mul + exp_add when the exact product fits fp32's significand, else
  // fp_mul), fp_add{e=8;m=23} + acc_update{bits=32}; per output fp_mul{e=8;m=23} (tensor scale)
  // unless both operands are fp32; pe_register_bits; pe_overhead{family=float}.
  void gemm_actions(const GemmActionInput& in, const ActionSink& sink) const override {
    const FormatInfo& fa = *in.a;
    const FormatInfo& fb = *in.b;
    const int e = std::max(fa.exp_bits, fb.exp_bits), m = std::max(fa.man_bits, fb.man_bits);
    const int sa = fa.man_bits + 1, sb = fb.man_bits + 1;
    auto num = [](int64_t v) { return std::to_string(v); };
    if (sa + sb <= kFp32Significand) {  // exact product: no normalise / round stage
      sink("int_mul", {{"a_bits", num(std::max(sa, sb))}, {"b_bits", num(std::min(sa, sb))}},
           in.macs);
      sink("exp_add", {{"bits", num(e + 1)}}, in.macs);
    } else {
      sink("fp_mul", {{"e", num(e)}, {"m", num(m)}}, in.macs);
    }
    sink("fp_add", {{"e", "8"}, {"m", "23"}}, in.macs);
    sink("acc_update", {{"bits", "32"}}, in.macs);
    if (fa.code_bits < 32 || fb.code_bits < 32)
      sink("fp_mul", {{"e", "8"}, {"m", "23"}}, in.outputs);
    sink("pe_register_bits", {}, in.macs * (fa.code_bits + fb.code_bits));
    sink("pe_overhead", {{"family", "float"}}, in.macs);
  }

 private:
  std::string m_name = "float";
  std::string m_description =
      "float operands: exact significand product, fp32 FMA accumulation (one RNE per MAC)";
  std::string m_acc_text = "fp32 (round to nearest even after every FMA, ascending k)";
};

}  // namespace

LBSIM_REGISTER(IMacFamily, "float", "float operands, fp32 FMA accumulation",
               mac_family_maker<FloatMacFamily>())

}  // namespace lbsim
