// Convolution phases as GEMMs (im2col view), shared by the datapath and the reference so both
// see the same operands in the same reduction order.
//   fwd   y[n,co,ho,wo]   : A = im2col(x)   M=(n,ho,wo)  K=(ci,r,s)  B = w as K x N, N=co
//   dgrad dcol            : A = e           M=(n,ho,wo)  K=co        B = w as K x N, N=(ci,r,s)
//         dx = col2im(dcol): dx[n,ci,h,w] = F summed in fp32 (RNE per add, from +0) over the
//         contributing (r, s) in ascending order, h = ho*stride - pad + r, w = wo*stride - pad + s
//   wgrad dw[co,ci,r,s]   : A = im2col(x)^T M=(ci,r,s)  K=(n,ho,wo) B = e as K x N, N=co
// Index tuples are flattened in the order written (last fastest). Padding is code 0, group -1.
// Output size: ho = (h + 2*pad - r) / stride + 1 (floor).
#pragma once

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

// fwd: (x, w); dgrad: (e, w); wgrad: (x, e). Shapes must match geo (UserError otherwise).
GemmProblem lower_conv(ConvPhase phase, const QTensor& first, const QTensor& second,
                       const ConvGeometry& geo);
// GEMM result -> y (n,co,ho,wo) | dx (n,ci,h,w) via col2im | dw (co,ci,r,s).
Tensor conv_output(ConvPhase phase, const GemmResult& result, const ConvGeometry& geo);

}  // namespace lbsim
