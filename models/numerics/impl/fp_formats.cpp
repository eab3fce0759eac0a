// IEEE-style float number formats: fp32, fp16, bf16, fp8_e4m3 (OCP E4M3, no inf), fp8_e5m2.
//
// Options (all formats, declared once in make_float_format):
//   rounding    nearest | stochastic   element rounding (float_codec.h rules; stochastic draws are
//                                      CounterRng(ctx.seed, ctx.tensor_id).uniform(element index))
//   saturate    bool                   overflow and +-inf go to +-max finite (default: fp8 formats)
//   scale       none | tensor          tensor: one fp32 scale s = RNE_fp32(max|x| / max_finite),
//                                      elements encode x / s (default: fp8 formats)
//   scale_pow2  bool                   with scale=tensor: s rounded UP to a power of two instead
// Both scales are clamped to >= 2^-126 (see tensor_scale_for); s = 1 for an all-zero tensor.
//
// Quantized tensor: per-tensor group map with group_scale {1}, tensor_scale s (1 without scaling
// or for an all-zero tensor), codes from float_encode.
//
// Exactness of the scaled path: x / s is computed in double, yet with RNE the code equals the
// RNE of the exact quotient. The target midpoints have at most man_bits + 2 <= 25 significant
// bits and x, s at most 24, so a quotient that is not exactly a midpoint differs from one by
// more than 2^-50 relative, far above the 2^-53 error of the double division. (Stochastic
// rounding sees the same double, so its probabilities are off by at most ~2^-53.)
//
// fp32 with scale=none is the identity on fp32 bits (including -0, subnormals and +-inf when
// saturate=false), except that every NaN becomes the canonical quiet NaN 0x7FC00000.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include "models/core/error.h"
#include "models/numerics/float_codec.h"
#include "models/numerics/format_registry.h"
#include "models/numerics/rng.h"

namespace lbsim {

namespace {

struct FloatOptions {
  bool stochastic = false;
  bool saturate = false;
  bool tensor_scale = false;
  bool scale_pow2 = false;
};

// RNE to fp32 of the exact quotient a / b (a > 0 finite, b > 0 with at most 24 significant bits).
// The double quotient is at most one fp32 step off after conversion (double rounding); the
// candidate is corrected against the midpoints to its neighbours, compared exactly: a midpoint of
// two adjacent fp32 values has at most 25 significant bits, so midpoint * b (<= 49 bits) is exact.
double rne_fp32_quotient(double a, double b) {
  uint32_t c = float_encode(a / b, kFp32Layout, false, 0.0, false);
  for (;;) {
    const double v = float_decode(c, kFp32Layout);
    const double mid_up = 0.5 * (v + float_decode(c + 1, kFp32Layout));
    if (a > mid_up * b || (a == mid_up * b && (c & 1u) != 0)) {
      ++c;
      continue;
    }
    if (c > 0) {
      const double mid_dn = 0.5 * (v + float_decode(c - 1, kFp32Layout));
      if (a < mid_dn * b || (a == mid_dn * b && (c & 1u) != 0)) {
        --c;
        continue;
      }
    }
    return float_decode(c, kFp32Layout);
  }
}

class FloatFormat final : public INumberFormat, public std::enable_shared_from_this<FloatFormat> {
 public:
  FloatFormat(const std::string& name, const FloatLayout& layout, const FloatOptions& opt)
      : m_layout(layout), m_opt(opt) {
    check_float_layout(layout);
    m_info.name = name;
    m_info.kind = ElementKind::kFloat;
    m_info.code_bits = float_code_bits(layout);
    m_info.exp_bits = layout.exp_bits;
    m_info.man_bits = layout.man_bits;
    m_info.bias = layout.bias;
    m_info.specials = layout.specials;
    m_info.group_scale_pow2 = true;  // the only group scale is 1
    m_max_finite = float_max_finite(layout);
  }

  const FormatInfo& info() const override { return m_info; }

  double element_value(uint32_t code) const override { return float_decode(code, m_layout); }

  QTensor quantize(const TensorView& x, const QuantContext& ctx) const override {
    const int64_t n = numel(x.shape);
    if (static_cast<int64_t>(x.data.size()) != n)
      throw std::logic_error(fmt::format("quantize: tensor of shape {} holds {} values",
                                         shape_str(x.shape), x.data.size()));
    QTensor q;
    q.format = shared_from_this();
    q.shape = x.shape;
    q.groups = GroupMap::per_tensor(x.shape);
    q.group_scale = {1.0};
    q.role = ctx.role;
    q.codes.resize(static_cast<size_t>(n));

    double s = 1.0;
    if (m_opt.tensor_scale) {
      check_finite(x, ctx);
      double amax = 0.0;
      for (float v : x.data) amax = std::max(amax, std::fabs(static_cast<double>(v)));  // finite
      s = tensor_scale_for(amax);
    }
    q.tensor_scale = s;

    const CounterRng rng(ctx.seed, ctx.tensor_id);
    for (int64_t i = 0; i < n; ++i) {
      const double v = static_cast<double>(x.data[static_cast<size_t>(i)]) / s;
      const double u = m_opt.stochastic ? rng.uniform(static_cast<uint64_t>(i)) : 0.0;
      q.codes[static_cast<size_t>(i)] =
          float_encode(v, m_layout, m_opt.stochastic, u, m_opt.saturate);
    }
    return q;
  }

  std::string describe() const override {
    std::string specials =
        m_layout.specials == FloatSpecials::kIeee ? "IEEE inf/NaN" : "no inf, all-ones NaN";
    std::string scale = "none";
    if (m_opt.tensor_scale)
      scale = m_opt.scale_pow2 ? "tensor (power of two >= max|x|/max_finite)"
                               : "tensor (fp32 RNE(max|x|/max_finite))";
    return fmt::format(
        "{}: E{}M{} bias {}, max finite {:.6g}, {}; rounding={}, saturate={}, scale={}",
        m_info.name, m_layout.exp_bits, m_layout.man_bits, m_layout.bias, m_max_finite, specials,
        m_opt.stochastic ? "stochastic" : "nearest", m_opt.saturate ? "true" : "false", scale);
  }

 private:
  // Max scaling needs finite inputs: one inf/NaN would make every other element 0 or NaN.
  void check_finite(const TensorView& x, const QuantContext& ctx) const {
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < x.data.size(); ++i) {
      if (std::isfinite(x.data[i])) continue;
      if (bad == 0) first = i;
      ++bad;
    }
    if (bad == 0) return;
    throw UserError(fmt::format(
        "format '{}' with scale=tensor cannot quantize non-finite values: {} tensor of shape {} "
        "has {} NaN/inf element(s), the first at flat index {} ({}); use scale=none to let "
        "NaN/inf propagate",
        m_info.name, role_name(ctx.role), shape_str(x.shape), bad, first,
        static_cast<double>(x.data[first])));
  }

  // The fp32 tensor scale for a finite max|x|, clamped below at the smallest normal fp32 2^-126.
  // Why the clamp: a subnormal s keeps only a few significant bits, so a rounded-down s could
  // push max|x| / s past the overflow threshold (to inf/NaN without saturation), and s could even
  // round to 0. With s >= 2^-126 the relative rounding error of s is < 2^-24, which keeps
  // max|x| / s below the overflow threshold of every layout here. The clamp only acts when
  // max|x| < 2^-126 * max_finite (e.g. max|x| < 4 for bf16/fp32 with scale=tensor, ~2^-117 for
  // e4m3); then every |x| / s is below max finite rather than max|x| mapping onto it.
  // Without the clamp, max|x| / s encodes as max finite for fp16, bf16 and both fp8 layouts; for
  // fp32 (24-bit mantissa, same precision as s) it may land one code below max finite.
  double tensor_scale_for(double amax) const {
    if (amax == 0.0) return 1.0;
    const double min_normal = std::ldexp(1.0, 1 - kFp32Layout.bias);  // 2^-126
    if (!m_opt.scale_pow2) return std::fmax(rne_fp32_quotient(amax, m_max_finite), min_normal);
    // Smallest 2^k with 2^k * max_finite >= amax (products exact: powers of two, no overflow).
    int k = 0;
    std::frexp(amax / m_max_finite, &k);
    while (std::ldexp(m_max_finite, k) < amax) ++k;
    while (std::ldexp(m_max_finite, k - 1) >= amax) --k;
    return std::fmax(std::ldexp(1.0, k), min_normal);
  }

  FormatInfo m_info;
  FloatLayout m_layout;
  FloatOptions m_opt;
  double m_max_finite = 0.0;
};

// Reads the options (defaults differ between the fp8 formats and the wide ones) and builds the
// format. Every option is declared even when another one makes it moot, so list-types shows all.
FormatPtr make_float_format(Params& p, const std::string& name, const FloatLayout& layout,
                            bool fp8_defaults) {
  FloatOptions opt;
  opt.stochastic =
      p.get_choice("rounding", "nearest", {"nearest", "stochastic"},
                   "nearest = ties to even; stochastic = up in magnitude with probability = "
                   "fractional distance (unbiased)") == "stochastic";
  opt.saturate =
      p.get_bool("saturate", fp8_defaults,
                 layout.specials == FloatSpecials::kIeee
                     ? "overflow and +-inf go to +-max finite instead of +-inf"
                     : "overflow and +-inf go to +-max finite instead of NaN (format has no inf)");
  opt.tensor_scale =
      p.get_choice("scale", fp8_defaults ? "tensor" : "none", {"none", "tensor"},
                   "tensor: fp32 s = RNE(max|x| / max_finite), elements encode x / s, inputs "
                   "must be finite; none: encode x") == "tensor";
  opt.scale_pow2 =
      p.get_bool("scale_pow2", false, "with scale=tensor: round s up to a power of two instead");
  if (opt.scale_pow2 && !opt.tensor_scale)
    p.error("scale_pow2", "scale_pow2=true only applies with scale=tensor");
  return std::make_shared<FloatFormat>(name, layout, opt);
}

}  // namespace

LBSIM_REGISTER(INumberFormat, "fp32", "IEEE binary32 float (E8M23, bias 127)",
               [](Params& p) { return make_float_format(p, "fp32", kFp32Layout, false); })
LBSIM_REGISTER(INumberFormat, "fp16", "IEEE binary16 float (E5M10, bias 15, max 65504)",
               [](Params& p) { return make_float_format(p, "fp16", kFp16Layout, false); })
LBSIM_REGISTER(INumberFormat, "bf16", "bfloat16 (E8M7, bias 127)",
               [](Params& p) { return make_float_format(p, "bf16", kBf16Layout, false); })
LBSIM_REGISTER(INumberFormat, "fp8_e4m3",
               "OCP FP8 E4M3 (bias 7, no inf, NaN = S.1111.111, max 448), fp32 tensor scale",
               [](Params& p) { return make_float_format(p, "fp8_e4m3", kFp8E4M3Layout, true); })
LBSIM_REGISTER(INumberFormat, "fp8_e5m2",
               "OCP FP8 E5M2 (bias 15, IEEE inf/NaN, max 57344), fp32 tensor scale",
               [](Params& p) { return make_float_format(p, "fp8_e5m2", kFp8E5M2Layout, true); })

}  // namespace lbsim
