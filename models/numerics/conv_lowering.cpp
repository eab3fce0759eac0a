// Convolution phases as GEMMs (contract: conv_lowering.h).
#include "models/numerics/conv_lowering.h"

#include <algorithm>
#include <stdexcept>

#include "models/core/error.h"
#include "models/core/parallel.h"

namespace lbsim {

const char* conv_phase_name(ConvPhase p) {
  switch (p) {
    case ConvPhase::kFwd:
      return "fwd";
    case ConvPhase::kDgrad:
      return "dgrad";
    case ConvPhase::kWgrad:
      return "wgrad";
  }
  return "?";
}

std::string executed_macs_note(int64_t executed, int64_t network, const std::string& lowering) {
  if (executed == network || network <= 0) return "";
  const int64_t extra = executed - network;
  if (extra > 0 && lowering == "transposed")
    return std::to_string(network) + " in the network + " + std::to_string(extra) +
           " zero taps of strided layers' dgrad (mapping.dgrad_lowering=transposed; im2col runs "
           "none)";
  return std::to_string(network) + " in the network (" + (extra > 0 ? "+" : "") +
         std::to_string(extra) + " from the lowering)";
}

ConvPhase parse_conv_phase(const std::string& s) {
  if (s == "fwd") return ConvPhase::kFwd;
  if (s == "dgrad") return ConvPhase::kDgrad;
  if (s == "wgrad") return ConvPhase::kWgrad;
  throw UserError("unknown conv phase '" + s + "'; allowed: fwd, dgrad, wgrad");
}

namespace {

void require_rank4(const Shape& s, const char* what, const char* dims) {
  if (s.size() != 4)
    throw UserError(std::string("conv ") + what + " must be rank 4 " + dims + ", got shape " +
                    shape_str(s));
  static const char* kNames[4] = {"first", "second", "third", "fourth"};
  for (int d = 0; d < 4; ++d)
    if (s[d] < 1)
      throw UserError(std::string("conv ") + what + " " + dims + " has a non-positive " +
                      kNames[d] + " dimension: shape " + shape_str(s));
}

}  // namespace

ConvGeometry make_conv_geometry(const Shape& x, const Shape& w, int64_t stride, int64_t pad) {
  require_rank4(x, "input x", "(n, c, h, w)");
  require_rank4(w, "weight w", "(c_out, c_in, r, s)");
  if (stride < 1) throw UserError("conv stride must be >= 1, got " + std::to_string(stride));
  if (pad < 0) throw UserError("conv pad must be >= 0, got " + std::to_string(pad));
  if (w[1] != x[1])
    throw UserError("conv channel mismatch: input x " + shape_str(x) +
                    " has c_in = " + std::to_string(x[1]) + " but weight w " + shape_str(w) +
                    " has c_in = " + std::to_string(w[1]));
  ConvGeometry g;
  g.n = x[0];
  g.c_in = x[1];
  g.h = x[2];
  g.w = x[3];
  g.c_out = w[0];
  g.r = w[2];
  g.s = w[3];
  g.stride = stride;
  g.pad = pad;
  if (g.h + 2 * pad < g.r)
    throw UserError("conv output height would be < 1: input height " + std::to_string(g.h) +
                    " + 2 * pad " + std::to_string(pad) +
                    " < kernel height r = " + std::to_string(g.r));
  if (g.w + 2 * pad < g.s)
    throw UserError("conv output width would be < 1: input width " + std::to_string(g.w) +
                    " + 2 * pad " + std::to_string(pad) +
                    " < kernel width s = " + std::to_string(g.s));
  g.ho = (g.h + 2 * pad - g.r) / stride + 1;
  g.wo = (g.w + 2 * pad - g.s) / stride + 1;
  return g;
}

namespace {

void require_shape(const QTensor& q, const Shape& want, const char* phase, const char* what) {
  if (q.shape != want)
    throw UserError(std::string("conv ") + phase + ": " + what + " must have shape " +
                    shape_str(want) + " for this geometry, got " + shape_str(q.shape));
  if (static_cast<int64_t>(q.codes.size()) != numel(q.shape))
    throw std::logic_error("lower_conv: QTensor codes do not match its shape");
}

// rows x cols operand gathered from q, line by line: fill(line, src) gives the source elements of
// one line (-1: padding, code 0, group -1); lines are rows (by_rows) or columns.
template <class Fill>
GemmOperand gather(const QTensor& q, int64_t rows, int64_t cols, bool by_rows, Fill fill) {
  const std::vector<int64_t> qg = q.groups.group_ids();
  GemmOperand op;
  op.q = &q;
  op.rows = rows;
  op.cols = cols;
  op.codes.assign(static_cast<size_t>(rows * cols), 0u);
  op.group.assign(static_cast<size_t>(rows * cols), -1);
  const int64_t lines = by_rows ? rows : cols, len = by_rows ? cols : rows;
  std::vector<int64_t> src(static_cast<size_t>(len));
  for (int64_t l = 0; l < lines; ++l) {
    fill(l, src.data());
    for (int64_t e = 0; e < len; ++e) {
      const int64_t from = src[static_cast<size_t>(e)];
      if (from < 0) continue;
      const size_t at = static_cast<size_t>(by_rows ? l * cols + e : e * cols + l);
      op.codes[at] = q.codes[static_cast<size_t>(from)];
      op.group[at] = static_cast<int32_t>(qg[static_cast<size_t>(from)]);
    }
  }
  return op;
}

}  // namespace

const char* dgrad_lowering_name(DgradLowering l) {
  return l == DgradLowering::kIm2col ? "im2col" : "transposed";
}

ConvGemmShape conv_gemm_shape(ConvPhase phase, const ConvGeometry& g, DgradLowering dgrad) {
  const int64_t krs = g.c_in * g.r * g.s, out_pos = g.n * g.ho * g.wo;
  switch (phase) {
    case ConvPhase::kFwd:
      return {out_pos, g.c_out, krs};
    case ConvPhase::kWgrad:
      return {krs, g.c_out, out_pos};
    case ConvPhase::kDgrad:
      break;
  }
  if (dgrad == DgradLowering::kIm2col) return {out_pos, krs, g.c_out};
  return {g.n * g.h * g.w, g.c_in, g.c_out * g.r * g.s};
}

ConvOperandMap::ConvOperandMap(ConvPhase phase, const ConvGeometry& geo, DgradLowering dgrad)
    : phase_(phase), g_(geo), dgrad_(dgrad), shape_(conv_gemm_shape(phase, geo, dgrad)) {
  auto taps = [&](int64_t extent, int64_t kernel, int64_t out) {
    std::vector<int64_t> t(static_cast<size_t>(extent * kernel), -1);
    for (int64_t i = 0; i < extent; ++i)
      for (int64_t r = 0; r < kernel; ++r) {
        const int64_t d = i + geo.pad - r;  // = o * stride
        if (d >= 0 && d % geo.stride == 0 && d / geo.stride < out)
          t[static_cast<size_t>(i * kernel + r)] = d / geo.stride;
      }
    return t;
  };
  tap_h_ = taps(geo.h, geo.r, geo.ho);
  tap_w_ = taps(geo.w, geo.s, geo.wo);
}

void ConvOperandMap::a_row(int64_t row, int64_t* src) const {
  const ConvGeometry& g = g_;
  if (phase_ == ConvPhase::kFwd) {  // row (n,ho,wo), k (ci,r,s): x[n, ci, h0 + r, w0 + s]
    const int64_t wo = row % g.wo, ho = (row / g.wo) % g.ho, n = row / (g.wo * g.ho);
    const int64_t h0 = ho * g.stride - g.pad, w0 = wo * g.stride - g.pad;
    for (int64_t ci = 0; ci < g.c_in; ++ci)
      for (int64_t r = 0; r < g.r; ++r) {
        const int64_t h = h0 + r;
        const bool h_in = h >= 0 && h < g.h;
        const int64_t base = ((n * g.c_in + ci) * g.h + h) * g.w;
        for (int64_t s = 0; s < g.s; ++s) {
          const int64_t w = w0 + s;
          *src++ = h_in && w >= 0 && w < g.w ? base + w : -1;
        }
      }
    return;
  }
  if (phase_ == ConvPhase::kWgrad) {  // row (ci,r,s), k (n,ho,wo): x[n, ci, ho*st - pad + r, ..]
    const int64_t s = row % g.s, r = (row / g.s) % g.r, ci = row / (g.s * g.r);
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t ho = 0; ho < g.ho; ++ho) {
        const int64_t h = ho * g.stride - g.pad + r;
        const bool h_in = h >= 0 && h < g.h;
        const int64_t base = ((n * g.c_in + ci) * g.h + h) * g.w;
        for (int64_t wo = 0; wo < g.wo; ++wo) {
          const int64_t w = wo * g.stride - g.pad + s;
          *src++ = h_in && w >= 0 && w < g.w ? base + w : -1;
        }
      }
    return;
  }
  if (dgrad_ == DgradLowering::kIm2col) {  // row (n,ho,wo), k co: e[n, co, ho, wo]
    const int64_t hw = g.ho * g.wo, n = row / hw, p = row % hw;
    for (int64_t co = 0; co < g.c_out; ++co) *src++ = (n * g.c_out + co) * hw + p;
    return;
  }
  // transposed: row (n,h,w), k (co,r,s): e[n, co, tap_ho(h, r), tap_wo(w, s)].
  const int64_t w = row % g.w, h = (row / g.w) % g.h, n = row / (g.w * g.h);
  for (int64_t co = 0; co < g.c_out; ++co)
    for (int64_t r = 0; r < g.r; ++r) {
      const int64_t ho = tap_ho(h, r);
      const int64_t base = ((n * g.c_out + co) * g.ho + ho) * g.wo;
      for (int64_t s = 0; s < g.s; ++s) {
        const int64_t wo = tap_wo(w, s);
        *src++ = ho >= 0 && wo >= 0 ? base + wo : -1;
      }
    }
}

void ConvOperandMap::b_col(int64_t col, int64_t* src) const {
  const ConvGeometry& g = g_;
  const int64_t krs = g.c_in * g.r * g.s, k = shape_.k;
  if (phase_ == ConvPhase::kFwd) {  // w[co, (ci,r,s)]
    for (int64_t kk = 0; kk < k; ++kk) src[kk] = col * krs + kk;
  } else if (phase_ == ConvPhase::kWgrad) {  // k (n,ho,wo): e[n, co, ho, wo]
    const int64_t hw = g.ho * g.wo;
    for (int64_t kk = 0; kk < k; ++kk) src[kk] = ((kk / hw) * g.c_out + col) * hw + kk % hw;
  } else if (dgrad_ == DgradLowering::kIm2col) {  // k co, col (ci,r,s): w[co, (ci,r,s)]
    for (int64_t kk = 0; kk < k; ++kk) src[kk] = kk * krs + col;
  } else {  // transposed: k (co,r,s), col ci: w[co, ci, (r,s)]
    const int64_t rs = g.r * g.s;
    for (int64_t kk = 0; kk < k; ++kk) src[kk] = ((kk / rs) * g.c_in + col) * rs + kk % rs;
  }
}

namespace {

// Operand shapes of a phase against the geometry (UserError naming the operand otherwise).
}  // namespace

void require_conv_operands(ConvPhase phase, const QTensor& first, const QTensor& second,
                           const ConvGeometry& geo) {
  const Shape x_shape{geo.n, geo.c_in, geo.h, geo.w};
  const Shape w_shape{geo.c_out, geo.c_in, geo.r, geo.s};
  const Shape e_shape{geo.n, geo.c_out, geo.ho, geo.wo};
  const char* name = conv_phase_name(phase);
  switch (phase) {
    case ConvPhase::kFwd:
      require_shape(first, x_shape, name, "input x");
      require_shape(second, w_shape, name, "weight w");
      break;
    case ConvPhase::kDgrad:
      require_shape(first, e_shape, name, "output error e");
      require_shape(second, w_shape, name, "weight w");
      break;
    case ConvPhase::kWgrad:
      require_shape(first, x_shape, name, "input x");
      require_shape(second, e_shape, name, "output error e");
      break;
  }
}

GemmProblem lower_conv(ConvPhase phase, const QTensor& first, const QTensor& second,
                       const ConvGeometry& geo, DgradLowering dgrad) {
  require_conv_operands(phase, first, second, geo);
  const ConvOperandMap ix(phase, geo, dgrad);
  GemmProblem p;
  p.m = ix.shape().m;
  p.n = ix.shape().n;
  p.k = ix.shape().k;
  p.a = gather(first, p.m, p.k, true, [&](int64_t i, int64_t* src) { ix.a_row(i, src); });
  p.b = gather(second, p.k, p.n, false, [&](int64_t j, int64_t* src) { ix.b_col(j, src); });
  p.segment();
  return p;
}

GemmProblem lower_conv_sampled(ConvPhase phase, const QTensor& first, const QTensor& second,
                               const ConvGeometry& geo, DgradLowering dgrad,
                               const std::vector<int64_t>& rows, const std::vector<int64_t>& cols) {
  require_conv_operands(phase, first, second, geo);
  const ConvOperandMap ix(phase, geo, dgrad);
  for (int64_t r : rows)
    if (r < 0 || r >= ix.shape().m) throw std::out_of_range("lower_conv_sampled: row out of range");
  for (int64_t c : cols)
    if (c < 0 || c >= ix.shape().n)
      throw std::out_of_range("lower_conv_sampled: column out of range");
  GemmProblem p;
  p.m = static_cast<int64_t>(rows.size());
  p.n = static_cast<int64_t>(cols.size());
  p.k = ix.shape().k;
  p.a = gather(first, p.m, p.k, true, [&](int64_t i, int64_t* src) { ix.a_row(rows[i], src); });
  p.b = gather(second, p.k, p.n, false, [&](int64_t j, int64_t* src) { ix.b_col(cols[j], src); });
  p.segment();
  return p;
}

int64_t conv_k_segments(ConvPhase phase, const ConvGeometry& geo, const GroupMap& first,
                        const GroupMap& second, DgradLowering dgrad, int64_t sample) {
  // wgrad reduces over (n, ho, wo). When the error (second operand, never padded) has one group
  // per sample along n, every sample boundary cuts a segment in every column, the scan restarts
  // there as at k = 0, and each sample's groups repeat sample 0's structure (groups depend on n
  // only through the group index): the count is exactly n times one sample's, so the cost does
  // not grow with the batch.
  if (phase == ConvPhase::kWgrad && geo.n > 1 && second.block.size() == 4 && second.block[0] == 1 &&
      first.block.size() == 4) {
    ConvGeometry one = geo;
    one.n = 1;
    GroupMap f1 = first, s1 = second;
    f1.shape[0] = f1.block[0] = 1;
    s1.shape[0] = 1;
    return geo.n * conv_k_segments(phase, one, f1, s1, dgrad, sample);
  }
  const ConvOperandMap ix(phase, geo, dgrad);
  auto pick = [sample](int64_t extent) {
    std::vector<int64_t> v;
    const int64_t count = std::min(extent, std::max<int64_t>(sample, 2));
    for (int64_t i = 0; i < count; ++i)
      v.push_back(count == extent ? i : i * (extent - 1) / (count - 1));
    return v;
  };
  const int64_t k = ix.shape().k;
  SegmentCuts cuts(k);
  std::vector<int64_t> src(static_cast<size_t>(k));
  auto add = [&](const GroupMap& m) {
    cuts.add_line([&](int64_t kk) {
      const int64_t from = src[static_cast<size_t>(kk)];
      return from < 0 ? int32_t{-1} : static_cast<int32_t>(m.group_of(from));
    });
  };
  for (int64_t i : pick(ix.shape().m)) {
    ix.a_row(i, src.data());
    add(first);
  }
  for (int64_t j : pick(ix.shape().n)) {
    ix.b_col(j, src.data());
    add(second);
  }
  const std::vector<int32_t> seg = cuts.k_segment();
  return seg.empty() ? 0 : seg.back() + 1;
}

namespace {

// A GEMM result whose rows are (n, h, w) positions and columns channels -> the NCHW tensor.
Tensor rows_to_nchw(const std::vector<float>& c, const Shape& nchw, const char* phase) {
  const int64_t n_ = nchw[0], ch = nchw[1], hw = nchw[2] * nchw[3];
  if (static_cast<int64_t>(c.size()) != n_ * ch * hw)
    throw std::logic_error(std::string("conv_output(") + phase +
                           "): result size does not match the geometry");
  Tensor out;
  out.shape = nchw;
  out.data.resize(c.size());
  for (int64_t n = 0; n < n_; ++n)
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t k = 0; k < ch; ++k) out.data[(n * ch + k) * hw + p] = c[(n * hw + p) * ch + k];
  return out;
}

}  // namespace

Tensor conv_output(ConvPhase phase, const GemmResult& result, const ConvGeometry& g,
                   DgradLowering dgrad, int threads) {
  const int64_t hw_out = g.ho * g.wo, krs = g.c_in * g.r * g.s;
  const std::vector<float>& c = result.c;
  Tensor out;
  switch (phase) {
    case ConvPhase::kFwd:  // C is (n,ho,wo) x co
      return rows_to_nchw(c, {g.n, g.c_out, g.ho, g.wo}, "fwd");
    case ConvPhase::kDgrad: {
      if (dgrad == DgradLowering::kTransposed)  // C is (n,h,w) x ci
        return rows_to_nchw(c, {g.n, g.c_in, g.h, g.w}, "dgrad");
      // C is dcol, (n,ho,wo) x (ci,r,s). dx[n,ci,h,w] sums the dcol entries with
      // h = ho*stride - pad + r, w = wo*stride - pad + s. For a fixed (h, w) each (r, s) names at
      // most one (ho, wo), so the terms are visited in ascending (r, s) and added from +0 with one
      // fp32 RNE rounding each. (float)((double)F + (double)t) is that rounding: both are fp32, and
      // rounding an fp32 sum first to binary64 (53 >= 2*24 + 2 bits) then to binary32 is
      // innocuous (Figueroa, "When is double rounding innocuous?", 1995).
      if (static_cast<int64_t>(c.size()) != g.n * hw_out * krs)
        throw std::logic_error("conv_output(dgrad): result size does not match the geometry");
      out.shape = {g.n, g.c_in, g.h, g.w};
      out.data.assign(static_cast<size_t>(numel(out.shape)), 0.0f);
      // Planes (n, ci) are independent: shared out over the threads.
      const ConvOperandMap taps(phase, g, dgrad);
      parallel_for(g.n * g.c_in, threads, [&](int64_t plane, int) {
        const int64_t n = plane / g.c_in, ci = plane % g.c_in;
        for (int64_t h = 0; h < g.h; ++h)
          for (int64_t w = 0; w < g.w; ++w) {
            float acc = 0.0f;
            for (int64_t r = 0; r < g.r; ++r) {
              const int64_t ho = taps.tap_ho(h, r);  // h = ho*stride - pad + r
              if (ho < 0) continue;
              for (int64_t s = 0; s < g.s; ++s) {
                const int64_t wo = taps.tap_wo(w, s);
                if (wo < 0) continue;
                const float t = c[((n * g.ho + ho) * g.wo + wo) * krs + (ci * g.r + r) * g.s + s];
                acc = static_cast<float>(static_cast<double>(acc) + static_cast<double>(t));
              }
            }
            out.data[((n * g.c_in + ci) * g.h + h) * g.w + w] = canonical_nan(acc);
          }
      });
      break;
    }
    case ConvPhase::kWgrad: {
      // C is (ci,r,s) x co.
      if (static_cast<int64_t>(c.size()) != krs * g.c_out)
        throw std::logic_error("conv_output(wgrad): result size does not match the geometry");
      out.shape = {g.c_out, g.c_in, g.r, g.s};
      out.data.resize(c.size());
      for (int64_t co = 0; co < g.c_out; ++co)
        for (int64_t i = 0; i < krs; ++i) out.data[co * krs + i] = c[i * g.c_out + co];
      break;
    }
  }
  return out;
}

}  // namespace lbsim
