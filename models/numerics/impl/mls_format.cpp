// MLS multi-level-scaling format (docs/formats.md §5; defaults of docs/design.md §10.1-10.3), with
// the IEEE-style subnormal of i_number_format.h.
//
// value = S_t * 2^-k[group] * x_e, with
//   S_t   = max|x| over the tensor (fp32, exact since the input is fp32; all-zero tensor: S_t = 1),
//   k     = -ceil(log2(gmax / S_t)) = floor(log2(S_t / gmax)) per group, clamped to
//           [0, 2^group_exp_bits - 1] (gmax = 0 -> the top of that range). Because the group scale
//           is rounded up, gmax <= S_t * 2^-k: no element ever saturates.
//   x_e   = element of ElementKind::kMls, [sign | f: E bits | m: M bits], Emax = 2^E - 1:
//           f > 0: 2^(f - Emax) * (1 + m / 2^M);  f = 0: 2^(1 - Emax) * m / 2^M.
// y = |v| / (S_t * 2^-k) lies in [0, 1], so the top binade f = Emax only ever holds 1.0 (its other
// codes, 1 + m/2^M for m > 0, are decodable but never produced): a consequence of ceil-rounded
// group scales, which spend that binade on guaranteeing no saturation.
//
// Rounding of y onto the element grid (the magnitude codes are consecutive integers in value
// order, including the subnormal -> normal step and the carry into the next binade, so "round up"
// is always magnitude code + 1; y <= 1 means it never passes the code of 1.0):
//   nearest:    the closer neighbour; an exact tie goes to the even magnitude code (RNE).
//   stochastic: up with probability frac = (y - lo) / (hi - lo), i.e. u < frac with
//               u = CounterRng(seed, tensor_id).uniform(element index); unbiased.
// Values below the smallest subnormal 2^(1-Emax-M) follow the same rule between 0 and it.
// Every comparison is exact: grid points times S_t * 2^-k need at most 24 + M + 2 <= 36 bits.
//
// Groups (per role: group_weight / group_activation / group_error):
//   "nc"     one group per index of the first two dims (NCHW -> (n, c), OIHW -> (cout, cin)) for
//            rank >= 3; rank <= 2 tensors use "k16".
//   "k<g>"   blocks of g consecutive elements along QuantContext::reduction_axis (-1 = last).
//   "tensor" one group.
// A rank-0 tensor is always one group.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
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

const char* const kGroupGrammar =
    "nc (one group per (n, c) / (cout, cin) index; k16 for rank <= 2), k<g> with integer g >= 1 "
    "(blocks of g elements along the reduction axis), tensor (one group)";

constexpr int64_t kMaxBlock = int64_t{1} << 40;

struct GroupShape {
  enum class Kind { kNc, kBlock, kTensor };
  Kind kind = Kind::kNc;
  int64_t block = 16;  // kBlock only
  std::string text = "nc";
};

// Parses a group-shape string; returns false (leaving `out` untouched) when it is malformed.
bool parse_group_shape(const std::string& s, GroupShape& out) {
  if (s == "nc") {
    out = {GroupShape::Kind::kNc, 16, s};
    return true;
  }
  if (s == "tensor") {
    out = {GroupShape::Kind::kTensor, 0, s};
    return true;
  }
  if (s.size() < 2 || s[0] != 'k') return false;
  for (size_t i = 1; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  errno = 0;
  long long g = std::strtoll(s.c_str() + 1, nullptr, 10);
  if (errno != 0 || g < 1 || g > kMaxBlock) return false;
  out = {GroupShape::Kind::kBlock, static_cast<int64_t>(g), s};
  return true;
}

struct RoleConfig {
  bool stochastic = false;
  GroupShape group;
};

class MlsFormat final : public INumberFormat, public std::enable_shared_from_this<MlsFormat> {
 public:
  MlsFormat(int man_bits, int exp_bits, int group_exp_bits, RoleConfig weight,
            RoleConfig activation, RoleConfig error)
      : m_man_bits(man_bits),
        m_exp_bits(exp_bits),
        m_emax((1 << exp_bits) - 1),
        m_group_exp_bits(group_exp_bits),
        m_roles{weight, activation, error} {
    m_info.name = fmt::format("mls_m{}e{}", man_bits, exp_bits);
    m_info.kind = ElementKind::kMls;
    m_info.code_bits = 1 + exp_bits + man_bits;
    m_info.exp_bits = exp_bits;
    m_info.man_bits = man_bits;
    m_info.unit_log2 = 1 - m_emax - man_bits;  // the subnormal step, smallest nonzero magnitude
    m_info.group_scale_pow2 = true;
  }

  const FormatInfo& info() const override { return m_info; }

  double element_value(uint32_t code) const override {
    const uint32_t m = code & ((1u << m_man_bits) - 1);
    const int f = static_cast<int>((code >> m_man_bits) & ((1u << m_exp_bits) - 1));
    const bool neg = (code >> (m_man_bits + m_exp_bits)) & 1u;
    // Both cases as an integer significand times 2^(...): exact.
    double mag =
        f > 0 ? std::ldexp(static_cast<double>((1u << m_man_bits) + m), f - m_emax - m_man_bits)
              : std::ldexp(static_cast<double>(m), m_info.unit_log2);
    return neg ? -mag : mag;
  }

  QTensor quantize(const TensorView& x, const QuantContext& ctx) const override {
    const int64_t n = numel(x.shape);
    require_finite(x, m_info.name, ctx.role);
    const RoleConfig& rc = m_roles[static_cast<int>(ctx.role)];

    float s_t = 0.0f;
    for (int64_t i = 0; i < n; ++i) s_t = std::max(s_t, std::fabs(x.data[i]));
    if (s_t == 0.0f) s_t = 1.0f;  // all-zero tensor: codes 0, every group at the smallest scale

    QTensor q;
    q.format = shared_from_this();
    q.shape = x.shape;
    q.codes.assign(n, 0);
    q.tensor_scale = s_t;
    q.groups = group_map(x.shape, ctx);
    q.role = ctx.role;

    const int64_t num_groups = q.groups.num_groups();
    std::vector<float> gmax(num_groups, 0.0f);
    GroupCursor group(q.groups);
    for (int64_t i = 0; i < n; ++i, group.next()) {
      float& g = gmax[group.group()];
      g = std::max(g, std::fabs(x.data[i]));
    }
    const int k_max = (1 << m_group_exp_bits) - 1;
    q.group_scale.resize(num_groups);
    std::vector<double> unit(num_groups);  // S_t * 2^-k: the value of y = 1 in each group
    for (int64_t g = 0; g < num_groups; ++g) {
      int k = k_max;
      if (gmax[g] > 0.0f) k = std::clamp(floor_log2_ratio(s_t, gmax[g]), 0, k_max);
      q.group_scale[g] = std::ldexp(1.0, -k);
      unit[g] = std::ldexp(static_cast<double>(s_t), -k);
    }

    const CounterRng rng(ctx.seed, ctx.tensor_id);
    const uint32_t sign_bit = 1u << (m_exp_bits + m_man_bits);
    GroupCursor code_group(q.groups);
    for (int64_t i = 0; i < n; ++i, code_group.next()) {
      const double a = std::fabs(static_cast<double>(x.data[i]));
      if (a == 0.0) continue;
      const double t = unit[code_group.group()];
      uint32_t c = round_magnitude(a, t, rc.stochastic, rng, static_cast<uint64_t>(i));
      if (c != 0 && x.data[i] < 0) c |= sign_bit;
      q.codes[i] = c;
    }
    return q;
  }

  std::string describe() const override {
    auto role_text = [](const RoleConfig& r) {
      return fmt::format("{} rounding, {} groups", r.stochastic ? "stochastic" : "nearest",
                         r.group.text);
    };
    return fmt::format(
        "{}: S_t = fp32 max|x| per tensor, power-of-two group scales 2^-k (k in [0, {}], "
        "ceil-rounded), elements sign + {}-bit exponent + {}-bit mantissa; weight: {}; "
        "activation: {}; error: {}",
        m_info.name, (1 << m_group_exp_bits) - 1, m_exp_bits, m_man_bits, role_text(m_roles[0]),
        role_text(m_roles[1]), role_text(m_roles[2]));
  }

 private:
  // Magnitude code (without sign) of |v| = a > 0 in a group whose y = 1 is worth t, 0 <= a <= t.
  uint32_t round_magnitude(double a, double t, bool stochastic, const CounterRng& rng,
                           uint64_t index) const {
    // Binade of y = a / t: f = floor(log2 y) + Emax, with everything below 2^(1-Emax) sharing the
    // step of binade f = 1 (the subnormals). y <= 1 gives f <= Emax.
    const int f = std::max(floor_log2_ratio(a, t) + m_emax, 1);
    const double step = ldexp_fast(t, f - m_emax - m_man_bits);  // grid spacing, exact
    // j = floor(a / step), fixed up by exact comparisons (j * step needs <= 24 + M + 2 bits).
    double j = floor_exact(a / step);
    while (j * step > a) j -= 1;
    while ((j + 1) * step <= a) j += 1;
    // Down neighbour's magnitude code: normals j = 2^M + m give (f << M) | m; subnormals (f = 1
    // step, j < 2^M) give m = j: both are (f - 1) * 2^M + j.
    uint32_t code = (static_cast<uint32_t>(f - 1) << m_man_bits) + static_cast<uint32_t>(j);
    const double rem = a - j * step;  // exact: Sterbenz-like, both on a <= 37-bit common grid
    // Up or not without a data-dependent branch (bitwise operators); rem = 0 never rounds up.
    const double twice = 2.0 * rem;
    const bool up = stochastic
                        ? rng.uniform(index) < rem / step
                        : (twice > step) | ((twice == step) & ((code & 1u) != 0));  // tie: even
    return code + static_cast<uint32_t>(up);
  }

  GroupMap group_map(const Shape& shape, const QuantContext& ctx) const override {
    const GroupShape& gs = m_roles[static_cast<int>(ctx.role)].group;
    const int reduction_axis = ctx.reduction_axis;
    const int rank = static_cast<int>(shape.size());
    GroupMap m = GroupMap::per_tensor(shape);
    if (rank == 0 || gs.kind == GroupShape::Kind::kTensor) return m;
    if (gs.kind == GroupShape::Kind::kNc && rank >= 3) {
      m.block[0] = 1;
      m.block[1] = 1;
      return m;
    }
    // kBlock, or "nc" on a rank <= 2 tensor (= k16).
    int axis = reduction_axis == -1 ? rank - 1 : reduction_axis;
    if (axis < 0 || axis >= rank)
      throw std::logic_error(
          fmt::format("mls: reduction_axis {} out of range for rank {}", reduction_axis, rank));
    const int64_t g = gs.kind == GroupShape::Kind::kBlock ? gs.block : 16;
    for (int d = 0; d < rank; ++d) m.block[d] = 1;
    m.block[axis] = std::max<int64_t>(1, std::min(g, shape[axis]));
    return m;
  }

  FormatInfo m_info;
  int m_man_bits;
  int m_exp_bits;
  int m_emax;
  int m_group_exp_bits;
  RoleConfig m_roles[3];  // indexed by Role: weight, activation, error
};

RoleConfig read_role(Params& p, Role role, const std::string& default_rounding) {
  const std::string r = role_name(role);
  RoleConfig rc;
  rc.stochastic = p.get_choice("rounding_" + r, default_rounding, {"nearest", "stochastic"},
                               "element rounding of " + r + " tensors") == "stochastic";
  const std::string key = "group_" + r;
  std::string text = p.get_string(
      key, "nc", "nc | k<g> (g >= 1) | tensor",
      "group shape of " + r +
          " tensors: nc = one group per (n,c) / (cout,cin) index (k16 for rank <= 2), k<g> = g "
          "consecutive elements along the reduction axis, tensor = one group");
  if (!parse_group_shape(text, rc.group))
    p.error(key, fmt::format("bad group shape '{}'; allowed: {}", text, kGroupGrammar));
  return rc;
}

std::shared_ptr<const INumberFormat> make_mls(Params& p) {
  int m = static_cast<int>(p.get_int("m", 1, 0, 10, "element mantissa bits M"));
  int e = static_cast<int>(p.get_int("e", 2, 1, 4, "element exponent bits E"));
  int ge = static_cast<int>(
      p.get_int("group_exp_bits", 8, 1, 8,
                "bits of the power-of-two group scale 2^-k, k in [0, 2^bits - 1] (ceil-rounded: no "
                "saturation)"));
  RoleConfig w = read_role(p, Role::kWeight, "nearest");
  RoleConfig a = read_role(p, Role::kActivation, "nearest");
  RoleConfig er = read_role(p, Role::kError, "stochastic");
  return std::make_shared<MlsFormat>(m, e, ge, w, a, er);
}

}  // namespace

LBSIM_REGISTER(INumberFormat, "mls",
               "MLS multi-level scaling: fp32 tensor scale x power-of-two group scale x tiny "
               "float element <M mantissa, E exponent> with subnormals",
               make_mls)
// The parentheses keep the braced list's comma from splitting the macro arguments.
LBSIM_REGISTER_FORMAT_ALIAS("mls_m([0-9]+)e([0-9]+)", "mls", (std::vector<std::string>{"m", "e"}),
                            "mls_m1e2")

}  // namespace lbsim
