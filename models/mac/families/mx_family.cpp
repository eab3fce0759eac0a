// The mx MAC family: OCP Microscaling (MX v1.0) and NVFP4 dot products (formats in
// models/numerics/impl/mx_formats.cpp, which name this family).
//
// Arithmetic (the spec's Dot: products within a block exact, block results scaled and summed):
// each cell is the fixed-point PE of pe.h (FixedPe): the element significands multiply exactly,
// the products of one block (one K segment: MX blocks run along K, so a segment is a block) sum
// exactly in the integer block accumulator, the block sum is converted to fp32 (RNE), multiplied
// by the two block scales (E8M0 x E8M0: an exponent add, exact; NVFP4 E4M3 x E4M3: one fp32
// multiply, exact) and added into the fp32 output accumulator (RNE); the output is finally
// multiplied by the tensor scales (1 for MX). The precision of that block-result accumulation is
// fp32 (gemm_problem.h's fixed-family contract). The integer block accumulator is
// pe_array.accumulator (default 64 bits): exact for every element pair except MXFP8 E5M2 x E5M2,
// whose largest products need more than 64 bits (such sums overflow, counted, saturating).
//
// Energy (per action of models/energy/actions.h; s = element significand bits: M + 1, 8 for
// MXINT8; x = element exponent bits; B = block length along K, T = block adder-tree width):
//   per MAC            int_mul{a_bits=s_a;b_bits=s_b}     element multiplier
//                      exp_add{bits=max(x)+1}              element exponent add (FP elements)
//                      shift{bits=s_a+s_b;stages}          alignment into the adder tree, over
//                                                          the exponent range (fixed family rule)
//                      int_add{bits=T}                     block adder tree (B - 1 adders per
//                                                          block: one per MAC), T = product bits
//                                                          + alignment range + ceil(log2 B)
//   per (output, block) group_end_convert{bits=T}          block sum -> fp32
//                      exp_add{bits=8}                     scale add (E8M0 + E8M0), or
//                      fp_mul{e=8;m=23}                    NVFP4 block-scale multiply
//                      fp_add{e=8;m=23} acc_update{bits=32} accumulate the block result
//   per output         fp_mul{e=8;m=23}                    tensor scale (NVFP4 only)
//   per MAC            pe_register_bits (code bits of A and B), pe_overhead{family=mx}
#include <algorithm>
#include <string>

#include "models/mac/datapath_gemm.h"
#include "models/mac/i_mac_family.h"
#include "models/reference/reference_gemm.h"

namespace lbsim {

namespace {

class MxMacFamily : public IMacFamily {
 public:
  const std::string& name() const override { return m_name; }
  const std::string& description() const override { return m_description; }
  bool accepts(ElementKind kind) const override {
    return kind == ElementKind::kMls || kind == ElementKind::kInt;
  }
  bool by_kind() const override { return false; }  // executes the formats that name it
  MacFamily pe_datapath() const override { return MacFamily::kFixed; }
  bool integer_accumulator() const override { return true; }
  AccumulatorSpec default_accumulator() const override {
    AccumulatorSpec a;
    a.acc_bits = 64;
    return a;
  }
  const std::string& accumulator_text() const override { return m_acc_text; }

  GemmResult run_datapath(const GemmProblem& p, const AccumulatorSpec& acc) const override {
    return run_fixed_datapath(p, acc);
  }
  GemmResult run_reference(const GemmProblem& p, const AccumulatorSpec& acc,
                           int threads) const override {
    return run_fixed_reference(p, acc, threads);
  }

  // MX: block max + convert (2); NVFP4 (fp32 group scales): tensor max, block max, convert (3).
  int64_t quant_ops_per_element(const FormatInfo& f, bool stochastic) const override {
    return (f.group_scale_pow2 ? 2 : 3) + (stochastic ? 1 : 0);
  }

  void gemm_actions(const GemmActionInput& in, const ActionSink& sink) const override {
    const FormatInfo& fa = *in.a;
    const FormatInfo& fb = *in.b;
    auto num = [](int64_t v) { return std::to_string(v); };
    auto sig = [](const FormatInfo& f) {
      return f.kind == ElementKind::kInt ? f.code_bits : f.man_bits + 1;
    };
    auto expo = [](const FormatInfo& f) { return f.kind == ElementKind::kInt ? 0 : f.exp_bits; };
    const int sa = sig(fa), sb = sig(fb), xa = expo(fa), xb = expo(fb);
    const int64_t range =
        (xa > 0 ? (int64_t{1} << xa) - 1 : 0) + (xb > 0 ? (int64_t{1} << xb) - 1 : 0);
    // Block length along K: outputs * k_segments blocks share the op's MACs.
    const int64_t blocks = in.outputs * in.k_segments;
    const int64_t block_len = blocks > 0 ? std::max<int64_t>(1, in.macs / blocks) : 1;
    const int64_t tree = sa + sb + range + ceil_log2(block_len);
    sink("int_mul", {{"a_bits", num(std::max(sa, sb))}, {"b_bits", num(std::min(sa, sb))}},
         in.macs);
    if (xa > 0 && xb > 0) sink("exp_add", {{"bits", num(std::max(xa, xb) + 1)}}, in.macs);
    if (range > 0)
      sink("shift", {{"bits", num(sa + sb)}, {"stages", num(ceil_log2(range + 1))}}, in.macs);
    sink("int_add", {{"bits", num(tree)}}, in.macs);
    sink("group_end_convert", {{"bits", num(tree)}}, blocks);
    const bool pow2 = fa.group_scale_pow2 && fb.group_scale_pow2;
    if (pow2)
      sink("exp_add", {{"bits", "8"}}, blocks);
    else
      sink("fp_mul", {{"e", "8"}, {"m", "23"}}, blocks);
    sink("fp_add", {{"e", "8"}, {"m", "23"}}, blocks);
    sink("acc_update", {{"bits", "32"}}, blocks);
    if (!pow2) sink("fp_mul", {{"e", "8"}, {"m", "23"}}, in.outputs);
    sink("pe_register_bits", {}, in.macs * (fa.code_bits + fb.code_bits));
    sink("pe_overhead", {{"family", "mx"}}, in.macs);
  }

 private:
  std::string m_name = "mx";
  std::string m_description =
      "OCP MX / NVFP4 block formats: exact products and sums within a block, block results "
      "scaled and accumulated in fp32";
  std::string m_acc_text = "exact integer sum per block, then block scales and an fp32 sum";
};

}  // namespace

LBSIM_REGISTER(IMacFamily, "mx", "OCP MX / NVFP4: exact block dot products, fp32 accumulation",
               mac_family_maker<MxMacFamily>())

}  // namespace lbsim
