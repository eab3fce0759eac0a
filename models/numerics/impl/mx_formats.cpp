// OCP Microscaling (MX) formats, OCP Microscaling Formats (MX) Specification v1.0, and NVIDIA's
// NVFP4 (all spec strings below; `block` is an option of each).
//
// MX (type mx): blocks of `block` (default 32) consecutive elements along the tensor's reduction
// axis (QuantContext::reduction_axis, -1 = last; rank 0: one block) share one E8M0 scale
//   X = 2^clamp(floor(log2(amax)) - emax_elem, -127, 127)      (amax = max |x| over the block;
//                                                                an all-zero block takes 2^-127)
// and each element is V / X rounded to nearest, ties to even, onto the element grid, magnitudes
// above the largest normal saturating to it (spec §6.3). Elements (emax_elem, largest normal):
//   mxfp8_e4m3  E4M3, bias 7   8, 448        mxfp6_e3m2  E3M2, bias 3  4, 28
//   mxfp8_e5m2  E5M2, bias 15  15, 57344     mxfp6_e2m3  E2M3, bias 1  2, 7.5
//   mxfp4       E2M1, bias 1   2, 6          mxint8      int8 x 2^-6   0, 127/64
// FP elements keep subnormals (exponent field 0: m * 2^(1 - bias - M)); conversion never
// produces the E4M3 NaN code or the E5M2 inf/NaN codes, and zeros are +0. MXINT8 codes are two's
// complement, saturating symmetrically to +-127 (-128 is decodable but never produced).
//
// NVFP4 (type nvfp4): E2M1 elements in blocks of `block` (default 16) along the reduction axis, an
// E4M3 block scale s_b and an fp32 tensor scale s_t:
//   s_t = RNE_fp32(amax_tensor / (6 * 448))            (all-zero tensor: 1)
//   s_b = RNE_E4M3(amax_block / (6 * s_t)), saturating at 448 (a block whose s_b rounds to 0 is
//         all zeros)
//   element = RNE_E2M1(V / (s_b * s_t)), saturating at 6.
// Each quotient is computed in binary64 and rounded once to the target: the exact quotient of
// these <= 28-bit operands is either a target midpoint or more than 2^-40 (relative) away from
// every midpoint, far above binary64's 2^-53 error, so the result equals rounding the exact value.
//
// How the values map onto the arithmetic contract (i_number_format.h, gemm_problem.h). FP
// elements are ElementKind::kMls codes, bit for bit the OCP encoding [sign | E | M]; the kMls
// convention puts the element's top binade at 2^0 (bias Emax = 2^E - 1 instead of the OCP bias),
// so the stored group scale is the block scale times 2^(Emax - bias):
//   group_scale = X * 2^(Emax - bias)   (MX FP),   X * 2^-6 (MXINT8, kInt),   s_b * 4 (NVFP4)
// and value = tensor_scale * group_scale * element_value(code) is exactly X * OCP element value
// (s_t * s_b * E2M1 value for NVFP4). Every format names the mx MAC family
// (models/mac/families/mx_family.cpp): exact products and sums within a block, block results
// scaled and accumulated in fp32.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/numerics/float_codec.h"
#include "models/numerics/format_registry.h"
#include "models/numerics/quant_util.h"

namespace lbsim {

namespace {

constexpr int kE8m0Min = -127, kE8m0Max = 127;

// An OCP element type.
struct ElementType {
  const char* name;  // canonical spec string of the MX format
  bool integer;      // MXINT8
  int exp_bits, man_bits, bias;
  int emax;    // exponent of the largest normal (emax_elem)
  double max;  // largest normal magnitude
};

const ElementType kElementTypes[] = {
    {"mxfp8_e4m3", false, 4, 3, 7, 8, 448.0}, {"mxfp8_e5m2", false, 5, 2, 15, 15, 57344.0},
    {"mxfp6_e3m2", false, 3, 2, 3, 4, 28.0},  {"mxfp6_e2m3", false, 2, 3, 1, 2, 7.5},
    {"mxfp4", false, 2, 1, 1, 2, 6.0},        {"mxint8", true, 0, 0, 0, 0, 127.0 / 64.0},
};

const ElementType& element_type(const std::string& name) {
  for (const ElementType& t : kElementTypes)
    if (name == t.name) return t;
  throw std::logic_error("mx: unknown element type " + name);
}

// Magnitude code [E | M] of a >= 0 rounded to nearest-even onto the grid of t (subnormals
// included), saturating at t.max. Exact: a / ulp is a power-of-two scaling.
uint32_t fp_magnitude_code(double a, const ElementType& t) {
  const int m = t.man_bits;
  const int emin = 1 - t.bias;
  auto code_of = [&](int e, double q) -> uint32_t {  // value q * 2^(e - m), 0 <= q < 2^(m+1)
    const uint32_t qi = static_cast<uint32_t>(q);
    if (qi < (1u << m)) return qi;  // subnormal (only when e == emin) or zero
    return (static_cast<uint32_t>(e - emin + 1) << m) | (qi - (1u << m));
  };
  const int emax_e = static_cast<int>(std::floor(std::log2(t.max)));
  const uint32_t max_code = code_of(emax_e, std::ldexp(t.max, m - emax_e));
  if (a >= t.max) return max_code;
  if (a == 0.0) return 0;
  int e = std::max(ilogb_fast(a), emin);
  double q = round_half_even(ldexp_fast(a, m - e));
  if (ldexp_fast(q, e - m) > t.max) return max_code;  // rounded past the largest normal
  if (q == std::ldexp(1.0, m + 1)) {                  // carry into the next binade
    ++e;
    q = std::ldexp(1.0, m);
  }
  return code_of(e, q);
}

// Block layout: blocks of `block` elements along the reduction axis (as MLS "k<g>" groups).
GroupMap block_map(const Shape& shape, const QuantContext& ctx, int64_t block, const char* who) {
  const int rank = static_cast<int>(shape.size());
  GroupMap m = GroupMap::per_tensor(shape);
  if (rank == 0) return m;
  const int axis = ctx.reduction_axis == -1 ? rank - 1 : ctx.reduction_axis;
  if (axis < 0 || axis >= rank)
    throw std::logic_error(fmt::format("{}: reduction_axis {} out of range for rank {}", who,
                                       ctx.reduction_axis, rank));
  for (int d = 0; d < rank; ++d) m.block[d] = 1;
  m.block[axis] = std::max<int64_t>(1, std::min(block, shape[axis]));
  return m;
}

// Group of every element and the max |x| of every group.
std::vector<int64_t> groups_and_max(const TensorView& x, const GroupMap& m,
                                    std::vector<double>& gmax) {
  const int64_t n = numel(x.shape);
  std::vector<int64_t> gid = m.group_ids();
  gmax.assign(static_cast<size_t>(m.num_groups()), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    gmax[gid[i]] = std::max(gmax[gid[i]], std::fabs(static_cast<double>(x.data[i])));
  }
  return gid;
}

// The start of an MX / NVFP4 quantization: the QTensor's identity and block groups, each
// element's block and every block's max |x|.
struct BlockStart {
  QTensor q;
  std::vector<int64_t> gid;
  std::vector<double> gmax;
};
BlockStart start_blocks(FormatPtr f, const TensorView& x, const QuantContext& ctx,
                        GroupMap groups) {
  BlockStart b;
  b.q.format = std::move(f);
  b.q.shape = x.shape;
  b.q.role = ctx.role;
  b.q.groups = std::move(groups);
  b.gid = groups_and_max(x, b.q.groups, b.gmax);
  return b;
}

class MxFormat final : public INumberFormat, public std::enable_shared_from_this<MxFormat> {
 public:
  MxFormat(const ElementType& t, int64_t block) : m_t(t), m_block(block) {
    m_info.name = block == 32 ? t.name : fmt::format("{}:block={}", t.name, block);
    m_info.mac_family = "mx";
    m_info.group_scale_pow2 = true;
    m_info.group_scale_bits = 8;  // E8M0
    if (t.integer) {
      m_info.kind = ElementKind::kInt;
      m_info.code_bits = 8;
      m_info.unit_log2 = 0;
      m_element_shift = -6;
    } else {
      const int emax_mls = (1 << t.exp_bits) - 1;
      m_info.kind = ElementKind::kMls;
      m_info.exp_bits = t.exp_bits;
      m_info.man_bits = t.man_bits;
      m_info.bias = t.bias;
      m_info.code_bits = 1 + t.exp_bits + t.man_bits;
      m_info.unit_log2 = 1 - emax_mls - t.man_bits;
      m_element_shift = emax_mls - t.bias;
    }
  }

  const FormatInfo& info() const override { return m_info; }

  double element_value(uint32_t code) const override {
    if (m_t.integer) return static_cast<double>(sign_extend(code, 8));
    const int m = m_t.man_bits;
    const uint32_t mf = code & ((1u << m) - 1);
    const int f = static_cast<int>((code >> m) & ((1u << m_t.exp_bits) - 1));
    const bool neg = ((code >> (m + m_t.exp_bits)) & 1u) != 0;
    const int emax_mls = (1 << m_t.exp_bits) - 1;
    const double mag = f > 0 ? std::ldexp(static_cast<double>((1u << m) + mf), f - emax_mls - m)
                             : std::ldexp(static_cast<double>(mf), m_info.unit_log2);
    return neg ? -mag : mag;
  }

  GroupMap group_map(const Shape& shape, const QuantContext& ctx) const override {
    return block_map(shape, ctx, m_block, "mx");
  }

  QTensor quantize(const TensorView& x, const QuantContext& ctx) const override {
    require_finite(x, m_info.name, ctx.role);
    BlockStart b = start_blocks(shared_from_this(), x, ctx, group_map(x.shape, ctx));
    QTensor& q = b.q;
    const std::vector<int64_t>& gid = b.gid;
    const std::vector<double>& gmax = b.gmax;
    std::vector<int> xexp(gmax.size());
    q.group_scale.resize(gmax.size());
    for (size_t g = 0; g < gmax.size(); ++g) {
      xexp[g] =
          gmax[g] > 0.0 ? std::clamp(std::ilogb(gmax[g]) - m_t.emax, kE8m0Min, kE8m0Max) : kE8m0Min;
      q.group_scale[g] = std::ldexp(1.0, xexp[g] + m_element_shift);
    }
    const int64_t n = numel(x.shape);
    q.codes.assign(static_cast<size_t>(n), 0);
    for (int64_t i = 0; i < n; ++i) {
      const double v = std::ldexp(static_cast<double>(x.data[i]), -xexp[gid[i]]);  // V / X, exact
      if (m_t.integer) {
        const double s = std::clamp(round_half_even(std::ldexp(v, 6)), -127.0, 127.0);
        q.codes[i] = int_code(static_cast<int64_t>(s), 8);
      } else {
        const uint32_t c = fp_magnitude_code(std::fabs(v), m_t);
        q.codes[i] = (c != 0 && v < 0) ? c | (1u << (m_t.exp_bits + m_t.man_bits)) : c;
      }
    }
    return std::move(b.q);
  }

  std::string describe() const override {
    return fmt::format(
        "{}: OCP MX v1.0, blocks of {} along the reduction axis, E8M0 scale X = "
        "2^(floor(log2 amax) - {}), {} elements (RNE, saturating at {}); group scales are X * "
        "2^{}",
        m_info.name, m_block, m_t.emax,
        m_t.integer ? std::string("int8 x 2^-6")
                    : fmt::format("E{}M{} (bias {})", m_t.exp_bits, m_t.man_bits, m_t.bias),
        m_t.max, m_element_shift);
  }

 private:
  ElementType m_t;
  int64_t m_block;
  int m_element_shift = 0;  // log2(group_scale / X)
  FormatInfo m_info;
};

const ElementType kE2m1 = {"nvfp4", false, 2, 1, 1, 2, 6.0};

class Nvfp4Format final : public INumberFormat, public std::enable_shared_from_this<Nvfp4Format> {
 public:
  explicit Nvfp4Format(int64_t block) : m_block(block) {
    m_info.name = block == 16 ? "nvfp4" : fmt::format("nvfp4:block={}", block);
    m_info.mac_family = "mx";
    m_info.kind = ElementKind::kMls;
    m_info.exp_bits = 2;
    m_info.man_bits = 1;
    m_info.bias = 1;
    m_info.code_bits = 4;
    m_info.unit_log2 = 1 - 3 - 1;
    m_info.group_scale_pow2 = false;
    m_info.group_scale_bits = 8;  // E4M3
  }

  const FormatInfo& info() const override { return m_info; }

  double element_value(uint32_t code) const override {
    const uint32_t mf = code & 1u;
    const int f = static_cast<int>((code >> 1) & 3u);
    const double mag = f > 0 ? std::ldexp(static_cast<double>(2 + mf), f - 3 - 1)
                             : std::ldexp(static_cast<double>(mf), m_info.unit_log2);
    return (code & 8u) ? -mag : mag;
  }

  GroupMap group_map(const Shape& shape, const QuantContext& ctx) const override {
    return block_map(shape, ctx, m_block, "nvfp4");
  }

  QTensor quantize(const TensorView& x, const QuantContext& ctx) const override {
    require_finite(x, m_info.name, ctx.role);
    BlockStart b = start_blocks(shared_from_this(), x, ctx, group_map(x.shape, ctx));
    QTensor& q = b.q;
    const std::vector<int64_t>& gid = b.gid;
    const std::vector<double>& gmax = b.gmax;
    double amax = 0.0;
    for (double g : gmax) amax = std::max(amax, g);
    const double s_t =
        amax > 0.0 ? float_round(amax / (6.0 * 448.0), kFp32Layout, false, 0.0, false) : 1.0;
    q.tensor_scale = s_t;
    std::vector<double> s_b(gmax.size());
    q.group_scale.resize(gmax.size());
    for (size_t g = 0; g < gmax.size(); ++g) {
      s_b[g] = float_round(gmax[g] / (6.0 * s_t), kFp8E4M3Layout, false, 0.0, true);
      q.group_scale[g] = 4.0 * s_b[g];  // E2M1 value = 4 * kMls element value
    }
    const int64_t n = numel(x.shape);
    q.codes.assign(static_cast<size_t>(n), 0);
    for (int64_t i = 0; i < n; ++i) {
      const double sb = s_b[gid[i]];
      if (sb == 0.0) continue;
      const double v = static_cast<double>(x.data[i]) / (sb * s_t);  // sb * s_t exact
      const uint32_t c = fp_magnitude_code(std::fabs(v), kE2m1);
      q.codes[i] = (c != 0 && v < 0) ? c | 8u : c;
    }
    return std::move(b.q);
  }

  std::string describe() const override {
    return fmt::format(
        "{}: E2M1 elements in blocks of {} along the reduction axis, E4M3 block scale "
        "RNE(amax_block / (6 s_t)), fp32 tensor scale s_t = RNE(amax / 2688); group scales are "
        "4 x the E4M3 block scale",
        m_info.name, m_block);
  }

 private:
  int64_t m_block;
  FormatInfo m_info;
};

std::shared_ptr<const INumberFormat> make_mx(Params& p) {
  std::vector<std::string> names;
  for (const ElementType& t : kElementTypes) names.push_back(t.name);
  const std::string e = p.get_choice("element", "mxfp8_e4m3", names, "element type");
  const int64_t block =
      p.get_int("block", 32, 1, int64_t{1} << 20, "elements per shared E8M0 scale (spec: 32)");
  return std::make_shared<MxFormat>(element_type(e), block);
}

std::shared_ptr<const INumberFormat> make_nvfp4(Params& p) {
  const int64_t block =
      p.get_int("block", 16, 1, int64_t{1} << 20, "elements per E4M3 block scale (NVFP4: 16)");
  return std::make_shared<Nvfp4Format>(block);
}

}  // namespace

LBSIM_REGISTER(INumberFormat, "mx",
               "OCP Microscaling (MX v1.0): E8M0 scale per block along the reduction axis, "
               "FP8/FP6/FP4/INT8 elements",
               make_mx)
LBSIM_REGISTER(INumberFormat, "nvfp4",
               "NVFP4: E2M1 elements, E4M3 scale per block of 16, fp32 tensor scale", make_nvfp4)
// One alias per element type (each listed by list-types); the name fills `element`.
LBSIM_REGISTER_FORMAT_ALIAS("(mxfp8_e4m3)", "mx", (std::vector<std::string>{"element"}),
                            "mxfp8_e4m3")
LBSIM_REGISTER_FORMAT_ALIAS("(mxfp8_e5m2)", "mx", (std::vector<std::string>{"element"}),
                            "mxfp8_e5m2")
LBSIM_REGISTER_FORMAT_ALIAS("(mxfp6_e3m2)", "mx", (std::vector<std::string>{"element"}),
                            "mxfp6_e3m2")
LBSIM_REGISTER_FORMAT_ALIAS("(mxfp6_e2m3)", "mx", (std::vector<std::string>{"element"}),
                            "mxfp6_e2m3")
LBSIM_REGISTER_FORMAT_ALIAS("(mxfp4)", "mx", (std::vector<std::string>{"element"}), "mxfp4")
LBSIM_REGISTER_FORMAT_ALIAS("(mxint8)", "mx", (std::vector<std::string>{"element"}), "mxint8")

}  // namespace lbsim
