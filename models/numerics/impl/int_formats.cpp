// Symmetric integer formats (FormatInfo kind kInt, unit_log2 = 0, tensor_scale = 1):
//   int        int2..int16, max-scaled, one fp32 scale per tensor or per channel
//              (s = RNE_fp32(max|x| / qmax), qmax = 2^(bits-1) - 1), nearest-even (default) or
//              stochastic. An all-zero group keeps s = 1. group_scale_pow2 = false.
//   dfp        dfp2..dfp16, dynamic fixed point, the number format of integer-arithmetic training
//              (Ghaffari et al., NeurIPS 2022; docs/formats.md §3.2, docs/design.md §10.11-10.12).
//              One shared exponent per tensor or per channel: with max|x| = f * 2^e_max,
//              f in [0.5, 1) (frexp convention, so 2^(e_max-1) <= max|x| < 2^e_max), the group
//              scale is the power of two s = 2^(e_max - (bits-1)); an all-zero group takes
//              e_max = 0. x / s is exact, and max|x| / s lies in [2^(bits-2), 2^(bits-1)), so only
//              a rounding carry at the top is clamped. Stochastic rounding by default (the paper's
//              unbiased mapping) or nearest-even. group_scale_pow2 = true.
//              int and dfp are one quantizer (IntFormat) that differs only in the scale rule:
//              q = clamp(round(x / s), -qmax, qmax).
//   sawb       int2_sawb..int8_sawb; int4_sawb is LUQ's forward quantizer (docs/formats.md §3.3,
//              docs/design.md §10.9): SAWB clipping, one fp32 step per tensor, [-7, 7] for
//              weights/errors, [0, 15] unsigned for non-negative (post-ReLU) activations (at
//              bits b: [-(2^(b-1)-1), 2^(b-1)-1] and [0, 2^b - 1]), round to nearest even.
// Contract shared by all (gemm_problem.h): the scale lives in group_scale, tensor_scale = 1;
// codes are two's complement integers masked to code_bits (or the plain unsigned value when
// QTensor::unsigned_int), element_value(code) is the sign-extended integer.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/numerics/format_registry.h"
#include "models/numerics/quant_util.h"
#include "models/numerics/rng.h"

namespace lbsim {

namespace {

// ---- helpers shared by int, dfp and int4_sawb ---------------------------------------------------

// A positive scale rounded once to fp32. A quotient that underflows fp32 entirely becomes the
// smallest subnormal (2^-149) so that x / s stays finite; the clamp absorbs the resulting error.
double fp32_scale(double quotient) {
  float s = static_cast<float>(quotient);
  if (s == 0.0f) s = std::numeric_limits<float>::denorm_min();
  return static_cast<double>(s);
}

// ---- int<n> and dfp<n> ----------------------------------------------------------------------

// How a group's scale follows from the group's max|x| (see the file comment).
enum class ScaleRule {
  kFp32Max,  // int: s = RNE_fp32(max|x| / qmax), all-zero group s = 1
  kPow2Exp,  // dfp: s = 2^(e_max - (bits-1)) from frexp(max|x|), all-zero group e_max = 0
};

class IntFormat : public INumberFormat, public std::enable_shared_from_this<IntFormat> {
 public:
  IntFormat(ScaleRule rule, int bits, bool per_channel, int axis, bool stochastic)
      : m_rule(rule), m_per_channel(per_channel), m_axis(axis), m_stochastic(stochastic) {
    m_info.name = fmt::format("{}{}", rule == ScaleRule::kFp32Max ? "int" : "dfp", bits);
    m_info.kind = ElementKind::kInt;
    m_info.code_bits = bits;
    m_info.unit_log2 = 0;
    m_info.group_scale_pow2 = rule == ScaleRule::kPow2Exp;
    m_qmax = (int64_t{1} << (bits - 1)) - 1;
  }

  const FormatInfo& info() const override { return m_info; }

  double element_value(uint32_t code) const override {
    return static_cast<double>(sign_extend(code, m_info.code_bits));
  }

  GroupMap group_map(const Shape& shape, const QuantContext&) const override {
    return channel_groups(shape, m_per_channel, m_axis, m_info.name);
  }

  QTensor quantize(const TensorView& x, const QuantContext& ctx) const override {
    require_finite(x, m_info.name, ctx.role);
    QTensor q;
    q.format = shared_from_this();
    q.shape = x.shape;
    q.role = ctx.role;
    q.tensor_scale = 1.0;
    q.groups = group_map(x.shape, ctx);

    const int64_t n = numel(x.shape);
    // One group (granularity=tensor) skips the group walk: a loop the compiler can vectorise.
    const bool one_group = q.groups.num_groups() == 1;
    std::vector<float> gmax(static_cast<size_t>(q.groups.num_groups()), 0.0f);
    if (one_group) {
      for (int64_t i = 0; i < n; ++i) gmax[0] = std::max(gmax[0], std::fabs(x.data[i]));
    } else {
      GroupCursor max_group(q.groups);
      for (int64_t i = 0; i < n; ++i, max_group.next()) {
        float& g = gmax[max_group.group()];
        g = std::max(g, std::fabs(x.data[i]));
      }
    }
    q.group_scale.resize(gmax.size());
    for (size_t g = 0; g < gmax.size(); ++g) q.group_scale[g] = group_scale(gmax[g]);

    const CounterRng rng(ctx.seed, ctx.tensor_id);
    const double qmax = static_cast<double>(m_qmax);
    q.codes.resize(static_cast<size_t>(n));
    auto encode = [&](int64_t i, double scale) {
      const double v = static_cast<double>(x.data[i]) / scale;
      const double r = m_stochastic ? round_stochastic(v, rng.uniform(static_cast<uint64_t>(i)))
                                    : round_half_even(v);
      q.codes[i] = int_code(static_cast<int64_t>(std::clamp(r, -qmax, qmax)), m_info.code_bits);
    };
    if (one_group) {
      const double scale = q.group_scale[0];
      for (int64_t i = 0; i < n; ++i) encode(i, scale);
    } else {
      GroupCursor group(q.groups);
      for (int64_t i = 0; i < n; ++i, group.next()) encode(i, q.group_scale[group.group()]);
    }
    return q;
  }

  std::string describe() const override {
    const bool fp32 = m_rule == ScaleRule::kFp32Max;
    return fmt::format(
        "{}: {} [-{}, {}], {} per {}, rounding {}", m_info.name,
        fp32 ? "symmetric integer" : "dynamic fixed point", m_qmax, m_qmax,
        fp32 ? fmt::format("fp32 scale max|x|/{}", m_qmax)
             : fmt::format("power-of-two scale 2^(e_max-{})", m_info.code_bits - 1),
        m_per_channel ? fmt::format("channel (axis {})", m_axis) : std::string("tensor"),
        m_stochastic ? "stochastic" : "nearest (ties to even)");
  }

 private:
  // The scale of a group whose largest magnitude is gmax (>= 0), by m_rule.
  double group_scale(float gmax) const {
    if (m_rule == ScaleRule::kFp32Max)
      return gmax == 0.0f ? 1.0 : fp32_scale(static_cast<double>(gmax) / m_qmax);
    int e_max = 0;
    if (gmax != 0.0f) std::frexp(gmax, &e_max);
    return std::ldexp(1.0, e_max - (m_info.code_bits - 1));
  }

  FormatInfo m_info;
  ScaleRule m_rule = ScaleRule::kFp32Max;
  int64_t m_qmax = 0;
  bool m_per_channel = false;
  int m_axis = 0;
  bool m_stochastic = false;
};

// What int and dfp declare differently: the scale rule and the texts and default of the options.
struct IntFamilyOptions {
  ScaleRule rule;
  const char* granularity_meaning;
  const char* rounding_default;  // listed first among the allowed values
  const char* rounding_other;
  const char* rounding_meaning;
};

FormatPtr make_int_family(Params& p, const IntFamilyOptions& o) {
  const int bits = static_cast<int>(p.get_int(
      "bits", 8, 2, 16, "element width; two's complement, symmetric range +-(2^(bits-1)-1)"));
  const std::string gran =
      p.get_choice("granularity", "tensor", {"tensor", "channel"}, o.granularity_meaning);
  const int axis = static_cast<int>(
      p.get_int("axis", 0, -8, 7,
                "channel axis for granularity=channel (negative counts from the last); checked "
                "against the tensor rank when quantizing"));
  const std::string rounding = p.get_choice(
      "rounding", o.rounding_default, {o.rounding_default, o.rounding_other}, o.rounding_meaning);
  if (p.has("axis") && gran != "channel")
    p.error("axis", "axis applies only with granularity=channel");
  return std::make_shared<IntFormat>(o.rule, bits, gran == "channel", axis,
                                     rounding == "stochastic");
}

FormatPtr make_int(Params& p) {
  return make_int_family(
      p, {ScaleRule::kFp32Max, "one fp32 scale per tensor, or one per index of `axis`", "nearest",
          "stochastic", "nearest = round half to even; stochastic = floor + Bernoulli(fraction)"});
}

FormatPtr make_dfp(Params& p) {
  return make_int_family(
      p, {ScaleRule::kPow2Exp, "one shared exponent per tensor, or one per index of `axis`",
          "stochastic", "nearest",
          "stochastic = floor + Bernoulli(fraction) (unbiased); nearest = half to even"});
}

// ---- int4_sawb ------------------------------------------------------------------------------

enum class ActRange { kAuto, kUnsigned, kSigned };

// SAWB clip coefficients per width (clip = c1 * rms - c2 * mean|x|). 4 bits: LUQ's constants.
// Other widths: least-squares fits of the MSE-optimal clip of the signed grid [-qmax, qmax] over
// Gaussian, Laplace, logistic, Student-t(5) and uniform samples (docs/formats.md §3.3 gives the
// method); the same fit at 4 bits gives (11.59, 11.31), near LUQ's (12.1, 12.2).
struct SawbCoefficients {
  double c1, c2;
};
SawbCoefficients sawb_coefficients(int bits) {
  switch (bits) {
    case 2:
      return {2.64, 1.78};
    case 3:
      return {6.64, 5.87};
    case 4:
      return {12.1, 12.2};
    case 5:
      return {17.70, 18.32};
    case 6:
      return {25.18, 27.00};
    case 7:
      return {33.39, 36.55};
    default:
      return {44.29, 49.40};
  }
}

class SawbFormat : public INumberFormat, public std::enable_shared_from_this<SawbFormat> {
 public:
  SawbFormat(int bits, double c1, double c2, ActRange act_range, bool unsigned_two_clip)
      : m_bits(bits),
        m_c1(c1),
        m_c2(c2),
        m_act_range(act_range),
        m_unsigned_two_clip(unsigned_two_clip) {
    m_info.name = fmt::format("int{}_sawb", bits);
    m_info.kind = ElementKind::kInt;
    m_info.code_bits = bits;
    m_info.unit_log2 = 0;
    m_info.group_scale_pow2 = false;
  }

  const FormatInfo& info() const override { return m_info; }

  double element_value(uint32_t code) const override {
    return static_cast<double>(sign_extend(code, m_bits));
  }

  // Moments are accumulated in double in C order; clip and step are computed in double and the
  // step is rounded once to fp32. Clip rule (documented choice): SAWB's clip
  //   clip = c1 * sqrt(mean(x^2)) - c2 * mean(|x|)
  // is replaced by max|x| when it is not a positive finite number (e.g. all |x| equal gives
  // (c1 - c2) * |x| < 0 with the 4-bit constants) or when it exceeds max|x| (clipping above the
  // largest element only coarsens the grid). With qmax = 2^(bits-1) - 1 and umax = 2^bits - 1:
  // signed step s = clip / qmax, the grid spans [-clip, clip] (LUQ's 2 * clip / (Qp - Qn)).
  // Unsigned step (option unsigned_step): "clip" (default) s = clip / umax so the grid spans
  // [0, clip]; "two_clip" is the LUQ code's literal 2 * clip / umax, whose grid spans
  // [0, 2 * clip] and so leaves the upper codes unused when clip falls back to max|x|. An
  // all-zero tensor has s = 1, codes 0.
  QTensor quantize(const TensorView& x, const QuantContext& ctx) const override {
    require_finite(x, m_info.name, ctx.role);
    QTensor q;
    q.format = shared_from_this();
    q.shape = x.shape;
    q.role = ctx.role;
    q.tensor_scale = 1.0;
    q.groups = GroupMap::per_tensor(x.shape);

    const int64_t n = numel(x.shape);
    double sum_sq = 0.0, sum_abs = 0.0;
    float max_abs = 0.0f, min_x = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      const double v = x.data[i];
      sum_sq += v * v;
      sum_abs += std::fabs(v);
      max_abs = std::max(max_abs, std::fabs(x.data[i]));
      min_x = i == 0 ? x.data[i] : std::min(min_x, x.data[i]);
    }
    double clip = 0.0;
    if (n > 0) clip = m_c1 * std::sqrt(sum_sq / n) - m_c2 * (sum_abs / n);
    if (!std::isfinite(clip) || !(clip > 0.0) || clip > max_abs) clip = max_abs;

    bool is_unsigned = false;
    if (ctx.role == Role::kActivation) {
      is_unsigned =
          m_act_range == ActRange::kUnsigned || (m_act_range == ActRange::kAuto && !(min_x < 0.0f));
    }
    const int64_t qmax = (int64_t{1} << (m_bits - 1)) - 1;
    const int64_t qn = is_unsigned ? 0 : -qmax;
    const int64_t qp = is_unsigned ? (int64_t{1} << m_bits) - 1 : qmax;
    const double span = is_unsigned && !m_unsigned_two_clip ? clip : 2.0 * clip;
    const double step = clip == 0.0 ? 1.0 : fp32_scale(span / static_cast<double>(qp - qn));
    q.unsigned_int = is_unsigned;
    q.group_scale.assign(static_cast<size_t>(q.groups.num_groups()), step);

    q.codes.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const double r = round_half_even(static_cast<double>(x.data[i]) / step);
      const double c = std::clamp(r, static_cast<double>(qn), static_cast<double>(qp));
      q.codes[i] = int_code(static_cast<int64_t>(c), m_bits);
    }
    return q;
  }

  std::string describe() const override {
    const int64_t qmax = (int64_t{1} << (m_bits - 1)) - 1;
    const int64_t umax = (int64_t{1} << m_bits) - 1;
    const std::string uns = fmt::format("unsigned [0, {}]", umax);
    const std::string sig = fmt::format("[-{}, {}]", qmax, qmax);
    const std::string act = m_act_range == ActRange::kAuto
                                ? fmt::format("auto ({} if min >= 0)", uns)
                            : m_act_range == ActRange::kUnsigned ? uns
                                                                 : "signed " + sig;
    return fmt::format(
        "{}: per-tensor SAWB clip = {}*rms - {}*mean|x| (max|x| if not in (0, max|x|]), "
        "fp32 step clip/{} for weights/errors {}, {} for activations {}, rounding nearest "
        "(ties to even)",
        m_info.name, m_c1, m_c2, qmax, sig,
        m_unsigned_two_clip ? fmt::format("2*clip/{}", umax) : fmt::format("clip/{}", umax), act);
  }

 private:
  FormatInfo m_info;
  int m_bits;
  double m_c1, m_c2;
  ActRange m_act_range;
  bool m_unsigned_two_clip;
};

FormatPtr make_sawb(Params& p) {
  const int bits =
      static_cast<int>(p.get_int("bits", 4, 2, 8,
                                 "element width: signed [-(2^(bits-1)-1), 2^(bits-1)-1], unsigned "
                                 "activations [0, 2^bits - 1]"));
  const SawbCoefficients def = sawb_coefficients(bits);
  const double c1 = p.get_double("c1", def.c1, 0.0, 1000.0,
                                 "SAWB coefficient of sqrt(mean(x^2)) (default per bits: 2: 2.64, "
                                 "3: 6.64, 4: 12.1 (LUQ), 5: 17.70, 6: 25.18, 7: 33.39, 8: 44.29)");
  const double c2 = p.get_double("c2", def.c2, 0.0, 1000.0,
                                 "SAWB coefficient of mean(|x|) (default per bits: 2: 1.78, "
                                 "3: 5.87, 4: 12.2 (LUQ), 5: 18.32, 6: 27.00, 7: 36.55, 8: 49.40)");
  const std::string range = p.get_choice(
      "activation_range", "auto", {"auto", "unsigned", "signed"},
      "grid of role=activation tensors: auto = unsigned [0, 2^bits - 1] when min(x) >= 0, else "
      "signed (weights and errors are always signed)");
  const ActRange r = range == "unsigned" ? ActRange::kUnsigned
                     : range == "signed" ? ActRange::kSigned
                                         : ActRange::kAuto;
  const bool two_clip =
      p.get_choice("unsigned_step", "clip", {"clip", "two_clip"},
                   "step of unsigned activation grids: clip = clip/(2^bits - 1) (grid [0, clip]); "
                   "two_clip = 2*clip/(2^bits - 1) as in the LUQ code (grid [0, 2*clip])") ==
      "two_clip";
  return std::make_shared<SawbFormat>(bits, c1, c2, r, two_clip);
}

}  // namespace

LBSIM_REGISTER(INumberFormat, "int",
               "symmetric integer, fp32 scale max|x|/(2^(bits-1)-1) per tensor or channel",
               make_int)
LBSIM_REGISTER_FORMAT_ALIAS("int([0-9]+)", "int", {"bits"}, "int8")
LBSIM_REGISTER(INumberFormat, "dfp",
               "dynamic fixed point (integer training): power-of-two shared exponent per tensor "
               "or channel",
               make_dfp)
LBSIM_REGISTER_FORMAT_ALIAS("dfp([0-9]+)", "dfp", {"bits"}, "dfp8")
LBSIM_REGISTER(INumberFormat, "sawb",
               "SAWB-clipped integers (LUQ's forward int4 at bits=4): per-tensor fp32 step, "
               "unsigned post-ReLU activations",
               make_sawb)
LBSIM_REGISTER_FORMAT_ALIAS("int([0-9]+)_sawb", "sawb", {"bits"}, "int4_sawb")

}  // namespace lbsim
