// Convolution phases as GEMMs (contract: conv_lowering.h).
#include "models/numerics/conv_lowering.h"

#include <algorithm>
#include <stdexcept>

#include "models/core/error.h"

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

// Where element (row, k) of A and (k, col) of B come from: a flat index into the first / second
// tensor, or -1 for padding. One definition of every phase's element mapping, used to build the
// operands (lower_conv) and to count segments (conv_k_segments).
struct ConvIndex {
  ConvPhase phase;
  ConvGeometry g;
  DgradLowering dgrad;
  ConvGemmShape shape;

  // x[n, ci, ho*stride - pad + r, wo*stride - pad + s] for im2col row (n,ho,wo), col (ci,r,s).
  int64_t im2col(int64_t row, int64_t col) const {
    const int64_t wo = row % g.wo, ho = (row / g.wo) % g.ho, n = row / (g.wo * g.ho);
    const int64_t s = col % g.s, r = (col / g.s) % g.r, ci = col / (g.s * g.r);
    const int64_t h = ho * g.stride - g.pad + r, w = wo * g.stride - g.pad + s;
    if (h < 0 || h >= g.h || w < 0 || w >= g.w) return -1;
    return ((n * g.c_in + ci) * g.h + h) * g.w + w;
  }
  // e[n, co, ho, wo] for row (n,ho,wo) and channel co.
  int64_t error_rows(int64_t row, int64_t co) const {
    const int64_t hw = g.ho * g.wo, n = row / hw;
    return (n * g.c_out + co) * hw + row % hw;
  }
  int64_t a(int64_t row, int64_t k) const {
    switch (phase) {
      case ConvPhase::kFwd:
        return im2col(row, k);
      case ConvPhase::kWgrad:
        return im2col(k, row);
      case ConvPhase::kDgrad:
        break;
    }
    if (dgrad == DgradLowering::kIm2col) return error_rows(row, k);
    // transposed: row (n,h,w), k (co,r,s)
    const int64_t w = row % g.w, h = (row / g.w) % g.h, n = row / (g.w * g.h);
    const int64_t s = k % g.s, r = (k / g.s) % g.r, co = k / (g.s * g.r);
    const int64_t th = h + g.pad - r, tw = w + g.pad - s;
    if (th < 0 || tw < 0 || th % g.stride != 0 || tw % g.stride != 0) return -1;
    const int64_t ho = th / g.stride, wo = tw / g.stride;
    if (ho >= g.ho || wo >= g.wo) return -1;
    return ((n * g.c_out + co) * g.ho + ho) * g.wo + wo;
  }
  int64_t b(int64_t k, int64_t col) const {
    const int64_t krs = g.c_in * g.r * g.s;
    switch (phase) {
      case ConvPhase::kFwd:
        return col * krs + k;  // w[co, (ci,r,s)]
      case ConvPhase::kWgrad:
        return error_rows(k, col);
      case ConvPhase::kDgrad:
        break;
    }
    if (dgrad == DgradLowering::kIm2col) return k * krs + col;  // w[co, (ci,r,s)]
    const int64_t rs = g.r * g.s, co = k / rs;                  // transposed: w[co, ci, (r,s)]
    return (co * g.c_in + col) * rs + k % rs;
  }
};

ConvIndex conv_index(ConvPhase phase, const ConvGeometry& geo, DgradLowering dgrad) {
  return ConvIndex{phase, geo, dgrad, conv_gemm_shape(phase, geo, dgrad)};
}

// rows x cols operand gathered from q by src(row, col) (-1: padding, code 0, group -1).
template <class Src>
GemmOperand gather(const QTensor& q, int64_t rows, int64_t cols, Src src) {
  std::vector<int32_t> qg(q.codes.size());  // group of every element, computed once
  for (size_t i = 0; i < qg.size(); ++i)
    qg[i] = static_cast<int32_t>(q.groups.group_of(static_cast<int64_t>(i)));
  GemmOperand op;
  op.q = &q;
  op.rows = rows;
  op.cols = cols;
  op.codes.assign(static_cast<size_t>(rows * cols), 0u);
  op.group.assign(static_cast<size_t>(rows * cols), -1);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t from = src(i, j);
      if (from < 0) continue;
      op.codes[static_cast<size_t>(i * cols + j)] = q.codes[static_cast<size_t>(from)];
      op.group[static_cast<size_t>(i * cols + j)] = qg[static_cast<size_t>(from)];
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

namespace {

// Operand shapes of a phase against the geometry (UserError naming the operand otherwise).
void require_phase_shapes(ConvPhase phase, const QTensor& first, const QTensor& second,
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

}  // namespace

GemmProblem lower_conv(ConvPhase phase, const QTensor& first, const QTensor& second,
                       const ConvGeometry& geo, DgradLowering dgrad) {
  require_phase_shapes(phase, first, second, geo);
  const ConvIndex ix = conv_index(phase, geo, dgrad);
  GemmProblem p;
  p.m = ix.shape.m;
  p.n = ix.shape.n;
  p.k = ix.shape.k;
  p.a = gather(first, p.m, p.k, [&](int64_t i, int64_t kk) { return ix.a(i, kk); });
  p.b = gather(second, p.k, p.n, [&](int64_t kk, int64_t j) { return ix.b(kk, j); });
  p.segment();
  return p;
}

GemmProblem lower_conv_sampled(ConvPhase phase, const QTensor& first, const QTensor& second,
                               const ConvGeometry& geo, DgradLowering dgrad,
                               const std::vector<int64_t>& rows, const std::vector<int64_t>& cols) {
  require_phase_shapes(phase, first, second, geo);
  const ConvIndex ix = conv_index(phase, geo, dgrad);
  for (int64_t r : rows)
    if (r < 0 || r >= ix.shape.m) throw std::out_of_range("lower_conv_sampled: row out of range");
  for (int64_t c : cols)
    if (c < 0 || c >= ix.shape.n)
      throw std::out_of_range("lower_conv_sampled: column out of range");
  GemmProblem p;
  p.m = static_cast<int64_t>(rows.size());
  p.n = static_cast<int64_t>(cols.size());
  p.k = ix.shape.k;
  p.a = gather(first, p.m, p.k, [&](int64_t i, int64_t kk) { return ix.a(rows[i], kk); });
  p.b = gather(second, p.k, p.n, [&](int64_t kk, int64_t j) { return ix.b(kk, cols[j]); });
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
  const ConvIndex ix = conv_index(phase, geo, dgrad);
  auto pick = [sample](int64_t extent) {
    std::vector<int64_t> v;
    const int64_t count = std::min(extent, std::max<int64_t>(sample, 2));
    for (int64_t i = 0; i < count; ++i)
      v.push_back(count == extent ? i : i * (extent - 1) / (count - 1));
    return v;
  };
  auto group = [](const GroupMap& m, int64_t from) {
    return from < 0 ? int32_t{-1} : static_cast<int32_t>(m.group_of(from));
  };
  const std::vector<int32_t> seg = segment_k(
      ix.shape.k, pick(ix.shape.m), pick(ix.shape.n),
      [&](int64_t i, int64_t kk) { return group(first, ix.a(i, kk)); },
      [&](int64_t kk, int64_t j) { return group(second, ix.b(kk, j)); });
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
                   DgradLowering dgrad) {
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
      for (int64_t n = 0; n < g.n; ++n)
        for (int64_t ci = 0; ci < g.c_in; ++ci)
          for (int64_t h = 0; h < g.h; ++h)
            for (int64_t w = 0; w < g.w; ++w) {
              float acc = 0.0f;
              for (int64_t r = 0; r < g.r; ++r) {
                const int64_t th = h + g.pad - r;  // = ho * stride
                if (th < 0 || th % g.stride != 0 || th / g.stride >= g.ho) continue;
                const int64_t ho = th / g.stride;
                for (int64_t s = 0; s < g.s; ++s) {
                  const int64_t tw = w + g.pad - s;
                  if (tw < 0 || tw % g.stride != 0 || tw / g.stride >= g.wo) continue;
                  const int64_t wo = tw / g.stride;
                  const float t = c[((n * g.ho + ho) * g.wo + wo) * krs + (ci * g.r + r) * g.s + s];
                  acc = static_cast<float>(static_cast<double>(acc) + static_cast<double>(t));
                }
              }
              out.data[((n * g.c_in + ci) * g.h + h) * g.w + w] = canonical_nan(acc);
            }
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
