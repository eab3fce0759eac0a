// Convolution phases as GEMMs (contract: conv_lowering.h).
#include "models/numerics/conv_lowering.h"

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

// Group index of every element of q, computed once (GroupMap::group_of divides per dimension).
std::vector<int32_t> groups_of(const QTensor& q) {
  std::vector<int32_t> g(q.codes.size());
  for (size_t i = 0; i < g.size(); ++i)
    g[i] = static_cast<int32_t>(q.groups.group_of(static_cast<int64_t>(i)));
  return g;
}

GemmOperand blank_operand(const QTensor& q, int64_t rows, int64_t cols) {
  GemmOperand op;
  op.q = &q;
  op.rows = rows;
  op.cols = cols;
  op.codes.assign(static_cast<size_t>(rows * cols), 0u);  // padding: code 0 ...
  op.group.assign(static_cast<size_t>(rows * cols), -1);  // ... group -1
  return op;
}

// A tensor whose C-order layout already is the K x N (or M x K) matrix wanted.
GemmOperand as_matrix(const QTensor& q, int64_t rows, int64_t cols) {
  GemmOperand op;
  op.q = &q;
  op.rows = rows;
  op.cols = cols;
  op.codes = q.codes;
  op.group = groups_of(q);
  return op;
}

// im2col of x (n, c_in, h, w). Element (row, col) of the (n,ho,wo) x (ci,r,s) matrix is
// x[n, ci, ho*stride - pad + r, wo*stride - pad + s], or padding outside the input. When
// transposed, the same element lands at (col, row) of the (ci,r,s) x (n,ho,wo) matrix.
GemmOperand im2col(const QTensor& x, const ConvGeometry& g, bool transposed) {
  const int64_t rows = g.n * g.ho * g.wo, cols = g.c_in * g.r * g.s;
  GemmOperand op = transposed ? blank_operand(x, cols, rows) : blank_operand(x, rows, cols);
  const std::vector<int32_t> xg = groups_of(x);
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t ho = 0; ho < g.ho; ++ho)
      for (int64_t wo = 0; wo < g.wo; ++wo) {
        const int64_t row = (n * g.ho + ho) * g.wo + wo;
        for (int64_t ci = 0; ci < g.c_in; ++ci)
          for (int64_t r = 0; r < g.r; ++r) {
            const int64_t h = ho * g.stride - g.pad + r;
            if (h < 0 || h >= g.h) continue;
            for (int64_t s = 0; s < g.s; ++s) {
              const int64_t w = wo * g.stride - g.pad + s;
              if (w < 0 || w >= g.w) continue;
              const int64_t col = (ci * g.r + r) * g.s + s;
              const int64_t src = ((n * g.c_in + ci) * g.h + h) * g.w + w;
              const int64_t dst = transposed ? col * rows + row : row * cols + col;
              op.codes[dst] = x.codes[src];
              op.group[dst] = xg[src];
            }
          }
      }
  return op;
}

// A tensor (n, c, ho, wo) viewed as the (n,ho,wo) x c matrix (e for dgrad A, e for wgrad B).
GemmOperand nchw_as_rows(const QTensor& t, int64_t n_, int64_t c_, int64_t hw) {
  GemmOperand op = blank_operand(t, n_ * hw, c_);
  const std::vector<int32_t> tg = groups_of(t);
  for (int64_t n = 0; n < n_; ++n)
    for (int64_t c = 0; c < c_; ++c)
      for (int64_t p = 0; p < hw; ++p) {
        const int64_t src = (n * c_ + c) * hw + p;
        const int64_t dst = (n * hw + p) * c_ + c;
        op.codes[dst] = t.codes[src];
        op.group[dst] = tg[src];
      }
  return op;
}

// w (co, ci, r, s) viewed as the (ci,r,s) x co matrix (fwd B).
GemmOperand weight_transposed(const QTensor& w, const ConvGeometry& g) {
  const int64_t krs = g.c_in * g.r * g.s;
  GemmOperand op = blank_operand(w, krs, g.c_out);
  const std::vector<int32_t> wg = groups_of(w);
  for (int64_t co = 0; co < g.c_out; ++co)
    for (int64_t i = 0; i < krs; ++i) {
      op.codes[i * g.c_out + co] = w.codes[co * krs + i];
      op.group[i * g.c_out + co] = wg[co * krs + i];
    }
  return op;
}

}  // namespace

GemmProblem lower_conv(ConvPhase phase, const QTensor& first, const QTensor& second,
                       const ConvGeometry& geo) {
  const Shape x_shape{geo.n, geo.c_in, geo.h, geo.w};
  const Shape w_shape{geo.c_out, geo.c_in, geo.r, geo.s};
  const Shape e_shape{geo.n, geo.c_out, geo.ho, geo.wo};
  const char* name = conv_phase_name(phase);
  GemmProblem p;
  switch (phase) {
    case ConvPhase::kFwd:
      require_shape(first, x_shape, name, "input x");
      require_shape(second, w_shape, name, "weight w");
      p.a = im2col(first, geo, /*transposed=*/false);
      p.b = weight_transposed(second, geo);
      break;
    case ConvPhase::kDgrad:
      require_shape(first, e_shape, name, "output error e");
      require_shape(second, w_shape, name, "weight w");
      p.a = nchw_as_rows(first, geo.n, geo.c_out, geo.ho * geo.wo);
      p.b = as_matrix(second, geo.c_out, geo.c_in * geo.r * geo.s);
      break;
    case ConvPhase::kWgrad:
      require_shape(first, x_shape, name, "input x");
      require_shape(second, e_shape, name, "output error e");
      p.a = im2col(first, geo, /*transposed=*/true);
      p.b = nchw_as_rows(second, geo.n, geo.c_out, geo.ho * geo.wo);
      break;
  }
  p.m = p.a.rows;
  p.k = p.a.cols;
  p.n = p.b.cols;
  p.segment();
  return p;
}

Tensor conv_output(ConvPhase phase, const GemmResult& result, const ConvGeometry& g) {
  const int64_t hw_out = g.ho * g.wo, krs = g.c_in * g.r * g.s;
  const std::vector<float>& c = result.c;
  Tensor out;
  switch (phase) {
    case ConvPhase::kFwd: {
      // C is (n,ho,wo) x co.
      if (static_cast<int64_t>(c.size()) != g.n * hw_out * g.c_out)
        throw std::logic_error("conv_output(fwd): result size does not match the geometry");
      out.shape = {g.n, g.c_out, g.ho, g.wo};
      out.data.resize(c.size());
      for (int64_t n = 0; n < g.n; ++n)
        for (int64_t p = 0; p < hw_out; ++p)
          for (int64_t co = 0; co < g.c_out; ++co)
            out.data[(n * g.c_out + co) * hw_out + p] = c[(n * hw_out + p) * g.c_out + co];
      break;
    }
    case ConvPhase::kDgrad: {
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
