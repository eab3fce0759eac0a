// Convolution phases as GEMMs (im2col view), shared by the datapath and the reference so both
// see the same operands in the same reduction order.
//   fwd   y[n,co,ho,wo]   : A = im2col(x)   M=(n,ho,wo)  K=(ci,r,s)  B = w as K x N, N=co
//   dgrad, lowering im2col (default):
//         dcol            : A = e           M=(n,ho,wo)  K=co        B = w as K x N, N=(ci,r,s)
//         dx = col2im(dcol): dx[n,ci,h,w] = F summed in fp32 (RNE per add, from +0) over the
//         contributing (r, s) in ascending order, h = ho*stride - pad + r, w = wo*stride - pad + s
//   dgrad, lowering transposed (the backward convolution done directly):
//         dx[n,ci,h,w]    : A = e gathered  M=(n,h,w)    K=(co,r,s)  B = w as K x N, N=ci
//         A[(n,h,w),(co,r,s)] = e[n,co,ho,wo] when h + pad - r = ho*stride and
//         w + pad - s = wo*stride with 0 <= ho < Ho, 0 <= wo < Wo; padding otherwise (for
//         stride > 1 three of four taps are padding: the GEMM's M*N*K counts them).
//         No col2im: the whole sum is one contract reduction. With (n,c) group scales the K
//         segments are R*S long (one (n,co) / (co,ci) group per co), where im2col gives 1.
//   wgrad dw[co,ci,r,s]   : A = im2col(x)^T M=(ci,r,s)  K=(n,ho,wo) B = e as K x N, N=co
// Index tuples are flattened in the order written (last fastest). Padding is code 0, group -1.
// Output size: ho = (h + 2*pad - r) / stride + 1 (floor).
#pragma once

#include <vector>

#include "models/numerics/gemm_problem.h"
#include "models/numerics/tensor.h"

namespace lbsim {

enum class ConvPhase { kFwd, kDgrad, kWgrad };
const char* conv_phase_name(ConvPhase p);          // "fwd", "dgrad", "wgrad"
ConvPhase parse_conv_phase(const std::string& s);  // throws UserError listing the allowed names

struct ConvGeometry {
  int64_t n = 0, c_in = 0, h = 0, w = 0;  // input x: (n, c_in, h, w)
  int64_t c_out = 0, r = 0, s = 0;        // weight: (c_out, c_in, r, s)
  int64_t stride = 1, pad = 0;
  int64_t ho = 0, wo = 0;  // output: (n, c_out, ho, wo)
};
// Builds and validates the geometry; throws UserError naming the inconsistent dimension.
ConvGeometry make_conv_geometry(const Shape& x, const Shape& w, int64_t stride, int64_t pad);

enum class DgradLowering { kIm2col, kTransposed };
const char* dgrad_lowering_name(DgradLowering l);  // "im2col", "transposed"

// Why a run executes more MACs than the network has (`lbsim workload show` counts the network's
// own): "" when the two are equal, else e.g. "3878744064 in the network + 226492416 zero taps of
// strided layers' dgrad (mapping.dgrad_lowering=transposed; im2col runs none)". One text for the
// console summary and the reports.
std::string executed_macs_note(int64_t executed, int64_t network, const std::string& lowering);

// GEMM sizes of a phase under a lowering (m, n, k of the GEMM lower_conv builds).
struct ConvGemmShape {
  int64_t m = 0, n = 0, k = 0;
};
ConvGemmShape conv_gemm_shape(ConvPhase phase, const ConvGeometry& geo,
                              DgradLowering dgrad = DgradLowering::kIm2col);

// The element mapping of a phase's lowered GEMM (the table above), line by line: the source
// element (flat C-order index into `first` / `second`, -1 = padding) of every element of a row of
// A and of a column of B. lower_conv gathers through it; the reference streams through it
// (models/reference/conv_reference.h) without building the operands.
class ConvOperandMap {
 public:
  ConvOperandMap(ConvPhase phase, const ConvGeometry& geo, DgradLowering dgrad);
  const ConvGemmShape& shape() const { return shape_; }
  void a_row(int64_t row, int64_t* src) const;  // src[0 .. k): A[row][kk]
  void b_col(int64_t col, int64_t* src) const;  // src[0 .. k): B[kk][col]
  // The backward taps of dgrad: the output row ho with h + pad - r = ho * stride, 0 <= ho < Ho
  // (-1: none), and likewise the output column wo of (w, s).
  int64_t tap_ho(int64_t h, int64_t r) const { return tap_h_[static_cast<size_t>(h * g_.r + r)]; }
  int64_t tap_wo(int64_t w, int64_t s) const { return tap_w_[static_cast<size_t>(w * g_.s + s)]; }

 private:
  ConvPhase phase_;
  ConvGeometry g_;
  DgradLowering dgrad_;
  ConvGemmShape shape_;
  std::vector<int64_t> tap_h_, tap_w_;
};

// fwd: (x, w); dgrad: (e, w); wgrad: (x, e): shapes against geo (UserError naming the operand).
void require_conv_operands(ConvPhase phase, const QTensor& first, const QTensor& second,
                           const ConvGeometry& geo);

// fwd: (x, w); dgrad: (e, w); wgrad: (x, e). Shapes must match geo (UserError otherwise).
GemmProblem lower_conv(ConvPhase phase, const QTensor& first, const QTensor& second,
                       const ConvGeometry& geo, DgradLowering dgrad = DgradLowering::kIm2col);
// lower_conv's problem restricted to the given rows of A (rows of C) and columns of B (columns of
// C), all of K: equal to sub_problem(lower_conv(...), rows, cols) without building the rest, for
// sampling outputs of a convolution too large to lower whole. Indices must be in range [0, M) and
// [0, N) of conv_gemm_shape (std::out_of_range otherwise).
GemmProblem lower_conv_sampled(ConvPhase phase, const QTensor& first, const QTensor& second,
                               const ConvGeometry& geo, DgradLowering dgrad,
                               const std::vector<int64_t>& rows, const std::vector<int64_t>& cols);
// GEMM result -> y (n,co,ho,wo) | dx (n,ci,h,w) (via col2im for the im2col lowering) |
// dw (co,ci,r,s).
// `threads` share out the col2im sums (the result does not depend on them).
Tensor conv_output(ConvPhase phase, const GemmResult& result, const ConvGeometry& geo,
                   DgradLowering dgrad = DgradLowering::kIm2col, int threads = 1);

// K segments per output of lower_conv(phase, ...) for operand tensors grouped by `first` and
// `second` (the GroupMaps their formats give them), without building the operands: the same
// element mapping and segment_k(), on every row and column when M and N are at most
// `sample` and otherwise on `sample` evenly spaced rows and columns (first and last included).
// Exact for groups that do not depend on the row or column (per tensor, per channel, MLS (n,c)).
// wgrad with one error group per sample along n (MLS (n,c)) counts one sample and multiplies by
// n (exact, see the .cpp): the cost is O(K' x sample) with K' = Ho Wo, whatever the batch.
int64_t conv_k_segments(ConvPhase phase, const ConvGeometry& geo, const GroupMap& first,
                        const GroupMap& second, DgradLowering dgrad = DgradLowering::kIm2col,
                        int64_t sample = 16);

}  // namespace lbsim
