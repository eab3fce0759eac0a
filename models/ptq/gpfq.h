// Post-training weight quantization of one layer: GPFQ (greedy path-following quantization,
// Zhang, Zhou and Saab, "Post-training quantization for neural networks with provable
// guarantees") and MSQ (each weight to its nearest alphabet element), the baseline.
//
// Contract (models/ptq/README.md has the derivation):
//  * W is N1 x N0 (neurons x weights per neuron, a torch Linear weight; a conv weight flattened to
//    Cout x Cin*R*S); X is m x N0 (calibration samples; for a conv, unfolded patches) = the
//    layer's inputs in the analog (unquantized) network; Xq (optional, default X) the same
//    samples' inputs in the network whose earlier layers are already quantized.
//  * Alphabet {k delta : k = -K..K}, K = 2^(b-1), delta = c_alpha * mean_i max_j |W_ij| / K (one
//    alphabet per layer); values beyond +-K delta saturate. delta = 0 (W all zeros) gives Q = 0.
//  * GPFQ quantizes each neuron w (a row of W) independently, in the order t = 0..N0-1:
//      u_0 = 0;  q_t = Q_A(<Xq_t, u_{t-1} + w_t X_t> / ||Xq_t||^2)  (q_t = 0 when Xq_t = 0);
//      u_t = u_{t-1} + w_t X_t - q_t Xq_t.
//    kPath runs exactly this (cost O(N1 N0 m)); kCovariance the same recursion through
//    G = Xq^T X and H = Xq^T Xq: q_t = Q_A((sum_{s<=t} G_ts w_s - sum_{s<t} H_ts q_s) / H_tt),
//    whose quantization cost O(N1 N0^2) does not grow with m (building G and H once is
//    O(m N0^2)). kAuto picks the cheaper of the two from the shapes alone. Both forms accumulate
//    in double; they agree except when a value lands within rounding noise of a decision
//    boundary.
//  * Q_A: nearest element, ties away from zero, then saturation. Stochastic (SGPFQ): round
//    down with probability 1 - frac(z / delta), up otherwise, then saturate; the uniform of
//    neuron i, step t is CounterRng(seed, i).uniform(t) (models/numerics/rng.h), so results are
//    reproducible and independent of threads. MSQ ignores X for q (it is used for the errors).
//  * Neurons are split over `threads` workers; every neuron's result depends only on its own row,
//    so outputs are bit-identical for any thread count.
//  * Errors: err2 = ||X W^T - Xq Q^T||_F^2, ref2 = ||X W^T||_F^2, and per neuron the mean over
//    samples of (X W^T - Xq Q^T), the bias correction of §5.3: b_q = b + bias_shift.
//  * Bad shapes or options throw UserError naming `names` (the caller's words for W, X, Xq).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/numerics/tensor.h"

namespace lbsim {

enum class PtqMethod { kGpfq, kMsq };
enum class GpfqForm { kAuto, kPath, kCovariance };

// Default c_alpha: the value the GPFQ authors used for ResNet-18 (ImageNet), the network closest
// to the ResNets here; they tune it per network (0.975 .. 1.81).
constexpr double kDefaultCAlpha = 1.16;

struct PtqOptions {
  PtqMethod method = PtqMethod::kGpfq;
  int bits = 4;  // b in 1..16: K = 2^(b-1), 2^b + 1 levels
  double c_alpha = kDefaultCAlpha;
  GpfqForm form = GpfqForm::kAuto;
  bool stochastic = false;
  uint64_t seed = 0;
  int threads = 1;  // >= 1
};

struct PtqNames {
  std::string w = "weights", x = "inputs", xq = "inputs-q";
};

struct PtqResult {
  Shape shape;                  // W's shape (N1, N0)
  std::vector<float> q;         // N1 x N0, values k * delta (as float)
  std::vector<int32_t> levels;  // N1 x N0, k in [-K, K]
  double delta = 0.0;
  int64_t K = 0;
  GpfqForm form = GpfqForm::kPath;  // the form used (kAuto resolved)
  double err2 = 0.0, ref2 = 0.0;    // ||X W^T - Xq Q^T||_F^2, ||X W^T||_F^2
  std::vector<double> bias_shift;   // N1: mean over samples of (X W^T - Xq Q^T)
  int64_t saturated = 0;            // weights whose unclipped level was beyond +-K
};

// Parses "gpfq" | "msq" and "auto" | "path" | "covariance"; UserError listing the allowed values,
// naming `where` (e.g. "--method").
PtqMethod parse_ptq_method(const std::string& s, const std::string& where);
GpfqForm parse_gpfq_form(const std::string& s, const std::string& where);
const char* to_string(PtqMethod m);
const char* to_string(GpfqForm f);

// xq == nullptr: Xq = X.
PtqResult quantize_layer(const Tensor& w, const Tensor& x, const Tensor* xq,
                         const PtqOptions& options, const PtqNames& names = {});

// The alphabet step of a layer: c_alpha * mean_i max_j |W_ij| / 2^(bits-1).
double ptq_delta(const Tensor& w, int bits, double c_alpha);

}  // namespace lbsim
