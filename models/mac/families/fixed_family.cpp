// The fixed-point MAC family: operands of kinds int, log and mls (any mix: int8, dfp8, int4 x
// luq_fp4, MLS tiny floats), one FixedPe per cell: integer terms in an acc_bits accumulator per K
// segment, each segment result converted to fp32, scaled by its group scales and added into an
// fp32 running sum (gemm_problem.h).
#include <algorithm>
#include <string>

#include "models/mac/datapath_gemm.h"
#include "models/mac/i_mac_family.h"
#include "models/reference/reference_gemm.h"

namespace lbsim {

namespace {

int64_t fixed_quant_ops_per_element(const FormatInfo& f, bool stochastic);
void fixed_gemm_actions(const GemmActionInput& in, const std::string& family,
                        const ActionSink& sink);

class FixedMacFamily : public IMacFamily {
 public:
  const std::string& name() const override { return m_name; }
  const std::string& description() const override { return m_description; }
  bool accepts(ElementKind kind) const override {
    return kind == ElementKind::kInt || kind == ElementKind::kLog || kind == ElementKind::kMls;
  }
  bool by_kind() const override { return true; }
  MacFamily pe_datapath() const override { return MacFamily::kFixed; }
  bool integer_accumulator() const override { return true; }
  AccumulatorSpec default_accumulator() const override { return AccumulatorSpec{}; }
  const std::string& accumulator_text() const override { return m_acc_text; }

  GemmResult run_datapath(const GemmProblem& p, const AccumulatorSpec& acc) const override {
    return run_fixed_datapath(p, acc);
  }
  GemmResult run_reference(const GemmProblem& p, const AccumulatorSpec& acc,
                           int threads) const override {
    return run_fixed_reference(p, acc, threads);
  }
  int64_t quant_ops_per_element(const FormatInfo& f, bool stochastic) const override {
    return fixed_quant_ops_per_element(f, stochastic);
  }
  void gemm_actions(const GemmActionInput& in, const ActionSink& sink) const override {
    // pe_overhead{family}: the first of mls, log, int that either operand is.
    auto either = [&](ElementKind k) { return in.a->kind == k || in.b->kind == k; };
    const char* family = either(ElementKind::kMls)   ? "mls"
                         : either(ElementKind::kLog) ? "log"
                                                     : "int";
    fixed_gemm_actions(in, family, sink);
  }

 private:
  std::string m_name = "fixed";
  std::string m_description =
      "int / log / mls operands: exact integer terms per K segment, segment results scaled "
      "into an fp32 sum";
  std::string m_acc_text = "acc_bits integer accumulator per K segment, then fp32";
};

// int, int4_sawb: 2 (max/clip reduction + convert); dfp: 2 (exponent selection + shift);
// luq_fp4 (log): 2 (max + log encode); mls: 3 (tensor max + group max + encode); plus the
// stochastic-rounding draw.
int64_t fixed_quant_ops_per_element(const FormatInfo& f, bool stochastic) {
  return (f.kind == ElementKind::kMls ? 3 : 2) + (stochastic ? 1 : 0);
}

// The fixed family's actions (models/energy/actions.h); W = in.acc_bits.
void fixed_gemm_actions(const GemmActionInput& in, const std::string& family,
                        const ActionSink& sink) {
  const FormatInfo& fa = *in.a;
  const FormatInfo& fb = *in.b;
  auto num = [](int64_t v) { return std::to_string(v); };
  // An MLS unit built for wider mantissas (pe_array.mls_unit_mantissa_bits) has that width.
  const int unit_m = in.mls_unit_mantissa_bits;
  auto sig = [unit_m](const FormatInfo& f) -> int {
    if (f.kind == ElementKind::kInt) return f.code_bits;
    if (f.kind == ElementKind::kLog) return 1;
    return std::max(f.man_bits, unit_m) + 1;
  };
  auto expo = [](const FormatInfo& f) -> int {
    if (f.kind == ElementKind::kInt) return 0;
    if (f.kind == ElementKind::kLog) return f.code_bits - 1;
    return f.exp_bits;
  };
  const int sa = sig(fa), sb = sig(fb), xa = expo(fa), xb = expo(fb);
  const int64_t w = in.acc_bits;
  const int64_t macs = in.macs;
  if (sa > 1 && sb > 1) sink("int_mul", {{"a_bits", num(sa)}, {"b_bits", num(sb)}}, macs);
  if (xa > 0 && xb > 0) sink("exp_add", {{"bits", num(std::max(xa, xb) + 1)}}, macs);
  if (xa > 0 || xb > 0) {
    const int64_t range =
        (xa > 0 ? (int64_t{1} << xa) - 1 : 0) + (xb > 0 ? (int64_t{1} << xb) - 1 : 0);
    const int bits = (sa > 1 && sb > 1) ? sa + sb : std::max(sa, sb);
    sink("shift", {{"bits", num(bits)}, {"stages", num(ceil_log2(range + 1))}}, macs);
  }
  sink("int_add", {{"bits", num(w)}}, macs);
  sink("acc_update", {{"bits", num(w)}}, macs);
  const int64_t segments = in.outputs * in.k_segments;
  sink("group_end_convert", {{"bits", num(w)}}, segments);
  if (in.grouped) {
    if (fa.group_scale_pow2 && fb.group_scale_pow2)
      sink("exp_add", {{"bits", "8"}}, segments);
    else
      sink("fp_mul", {{"e", "8"}, {"m", "23"}}, segments);
  }
  if (in.k_segments > 1) sink("fp_add", {{"e", "8"}, {"m", "23"}}, segments);
  sink("fp_mul", {{"e", "8"}, {"m", "23"}}, in.outputs);
  auto reg_bits = [&](const FormatInfo& f) -> int64_t {  // operand register width
    return f.kind == ElementKind::kMls ? f.code_bits + std::max(0, unit_m - f.man_bits)
                                       : f.code_bits;
  };
  sink("pe_register_bits", {}, macs * (reg_bits(fa) + reg_bits(fb)));
  sink("pe_overhead", {{"family", family}}, macs);
}

}  // namespace

LBSIM_REGISTER(IMacFamily, "fixed", "int / log / mls operands, integer accumulation per segment",
               mac_family_maker<FixedMacFamily>())

}  // namespace lbsim
