// Post-training quantization (models/ptq/gpfq.h): GPFQ against hand-derived values, the two
// forms against each other, GPFQ against MSQ, the 1/N0 decay of the relative error (the GPFQ
// paper's theorem), stochastic rounding, thread independence and input errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <vector>

#include "models/core/error.h"
#include "models/numerics/random_tensor.h"
#include "models/ptq/gpfq.h"

using namespace lbsim;

namespace {

Tensor mat(int64_t r, int64_t c, std::vector<float> v) { return Tensor{{r, c}, std::move(v)}; }

PtqOptions opts(PtqMethod m, int bits, double c, GpfqForm f = GpfqForm::kPath) {
  PtqOptions o;
  o.method = m;
  o.bits = bits;
  o.c_alpha = c;
  o.form = f;
  return o;
}

// Uniform weights in [-1, 1) (the theorem's setting: bounded weights), from the counter RNG.
Tensor uniform_weights(int64_t n1, int64_t n0, uint64_t seed) {
  Tensor t = random_normal({n1, n0}, seed);
  for (float& v : t.data)
    v = static_cast<float>(std::erf(v / std::sqrt(2.0)));  // N(0,1) -> U(-1,1)
  return t;
}

}  // namespace

TEST_CASE("GPFQ on a hand-derived 1 x 2 layer", "[ptq]") {
  // w = (0.3, 0.5), b = 1 (K = 1), c_alpha = 1: delta = 1 * max|w| / 1 = 0.5, alphabet
  // {-0.5, 0, 0.5}. X = [[2, 1], [1, 0]]: columns X_1 = (2, 1), X_2 = (1, 0).
  //  t = 1: z = <X_1, 0.3 X_1> / ||X_1||^2 = 0.3 -> 0.3 / 0.5 = 0.6 rounds to 1: q_1 = 0.5;
  //         u_1 = (0.3 - 0.5) X_1 = (-0.4, -0.2).
  //  t = 2: z = (<X_2, u_1> + 0.5 ||X_2||^2) / ||X_2||^2 = -0.4 + 0.5 = 0.1 -> 0.2 rounds to 0:
  //         q_2 = 0;  u_2 = u_1 + 0.5 X_2 = (0.1, -0.2).
  // GPFQ q = (0.5, 0): err2 = ||u_2||^2 = 0.01 + 0.04 = 0.05, bias shift = mean(u_2) = -0.05.
  // MSQ q = (0.5, 0.5) (0.6 and 1.0 round to 1): X(w - q) = -0.2 X_1 = (-0.4, -0.2), err2 = 0.2,
  // bias shift -0.3. Both: Xw = (1.1, 0.3), ref2 = 1.3.
  const Tensor w = mat(1, 2, {0.3f, 0.5f});
  const Tensor x = mat(2, 2, {2, 1, 1, 0});
  for (GpfqForm f : {GpfqForm::kPath, GpfqForm::kCovariance}) {
    const PtqResult g = quantize_layer(w, x, nullptr, opts(PtqMethod::kGpfq, 1, 1.0, f));
    CHECK(g.form == f);
    CHECK(g.delta == 0.5);
    CHECK(g.K == 1);
    CHECK(g.q == std::vector<float>{0.5f, 0.0f});
    CHECK(g.levels == std::vector<int32_t>{1, 0});
    CHECK(g.err2 == Approx(0.05).epsilon(1e-6));
    CHECK(g.ref2 == Approx(1.3).epsilon(1e-6));
    CHECK(g.bias_shift.at(0) == Approx(-0.05).epsilon(1e-6));
    CHECK(g.saturated == 0);
    const PtqResult m = quantize_layer(w, x, nullptr, opts(PtqMethod::kMsq, 1, 1.0, f));
    CHECK(m.q == std::vector<float>{0.5f, 0.5f});
    CHECK(m.err2 == Approx(0.2).epsilon(1e-6));
    CHECK(m.bias_shift.at(0) == Approx(-0.3).epsilon(1e-6));
  }
}

TEST_CASE("PTQ alphabet: delta from the mean row maximum, saturation", "[ptq]") {
  // Rows (1.2, -4) and (0.5, 0.25): mean max|w| = (4 + 0.5) / 2 = 2.25; b = 2 (K = 2),
  // c_alpha = 0.5: delta = 0.5 * 2.25 / 2 = 0.5625. MSQ levels: 1.2 / 0.5625 = 2.13 -> 2,
  // -4 / 0.5625 = -7.1 -> -2 (saturated), 0.5 / 0.5625 = 0.89 -> 1, 0.25 / 0.5625 = 0.44 -> 0.
  const Tensor w = mat(2, 2, {1.2f, -4.0f, 0.5f, 0.25f});
  const Tensor x = mat(1, 2, {1, 1});
  const PtqResult m = quantize_layer(w, x, nullptr, opts(PtqMethod::kMsq, 2, 0.5));
  CHECK(m.delta == Approx(0.5625).epsilon(1e-12));
  CHECK(m.levels == std::vector<int32_t>{2, -2, 1, 0});
  CHECK(m.q[1] == static_cast<float>(-2 * m.delta));
  CHECK(m.saturated == 1);
}

TEST_CASE("GPFQ path and covariance forms give identical q", "[ptq]") {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const Tensor w = random_normal({12, 40}, seed, 0.1);
    const Tensor x = random_relu({90, 40}, seed + 100);
    Tensor xq = x;  // inputs of a perturbed (quantized) earlier layer
    const Tensor noise = random_normal({90, 40}, seed + 200, 0.05);
    for (size_t i = 0; i < xq.data.size(); ++i) xq.data[i] += noise.data[i];
    for (int bits : {2, 3, 4}) {
      for (const Tensor* q :
           {static_cast<const Tensor*>(nullptr), static_cast<const Tensor*>(&xq)}) {
        PtqOptions o = opts(PtqMethod::kGpfq, bits, 1.16, GpfqForm::kPath);
        const PtqResult p = quantize_layer(w, x, q, o);
        o.form = GpfqForm::kCovariance;
        const PtqResult c = quantize_layer(w, x, q, o);
        CHECK(p.levels == c.levels);
        CHECK(p.err2 == Approx(c.err2).epsilon(1e-9));
        CHECK(p.ref2 == Approx(c.ref2).epsilon(1e-9));
        for (size_t i = 0; i < p.bias_shift.size(); ++i)
          CHECK(p.bias_shift[i] == Approx(c.bias_shift[i]).epsilon(1e-9).margin(1e-12));
      }
    }
  }
}

TEST_CASE("GPFQ's error is at most MSQ's on random layers", "[ptq]") {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    const Tensor w = random_normal({16, 64}, seed, 0.2);
    const Tensor x = random_relu({200, 64}, seed + 50);
    for (int bits : {2, 3, 4, 5}) {
      const PtqResult g = quantize_layer(w, x, nullptr, opts(PtqMethod::kGpfq, bits, 1.16));
      const PtqResult m = quantize_layer(w, x, nullptr, opts(PtqMethod::kMsq, bits, 1.16));
      CHECK(g.delta == m.delta);
      CHECK(g.err2 <= m.err2);
    }
  }
}

TEST_CASE("GPFQ relative square error decays like 1/N0 (theorem)", "[ptq]") {
  // Gaussian inputs X (m x N0), weights uniform in [-1, 1), 3 bits. The paper bounds the relative
  // square error ||Xw - Xq||^2 / ||Xw||^2 by about m log N0 / N0 for a fixed number of samples m:
  // with m = 32 < N0 the error should fall with slope about -1 in log-log (the log factor makes
  // it a little shallower).
  std::vector<double> lx, ly;
  for (int64_t n0 = 64; n0 <= 4096; n0 *= 2) {
    const Tensor w = uniform_weights(8, n0, 7);
    const Tensor x = random_normal({32, n0}, 11);
    const PtqResult r = quantize_layer(w, x, nullptr, opts(PtqMethod::kGpfq, 3, 1.0));
    lx.push_back(std::log(double(n0)));
    ly.push_back(std::log(r.err2 / r.ref2));
  }
  const double n = double(lx.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < lx.size(); ++i) {
    sx += lx[i];
    sy += ly[i];
    sxx += lx[i] * lx[i];
    sxy += lx[i] * ly[i];
  }
  const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  std::printf("GPFQ relative square error vs N0 (64..4096, m = 32, 3 bits): log-log slope %.3f\n",
              slope);
  CHECK(slope >= -1.4);
  CHECK(slope <= -0.6);
}

TEST_CASE("Stochastic GPFQ: seeded, between the two nearest levels, thread independent", "[ptq]") {
  const Tensor w = random_normal({9, 30}, 3, 0.3);
  const Tensor x = random_relu({50, 30}, 4);
  PtqOptions o = opts(PtqMethod::kGpfq, 3, 1.16);
  o.stochastic = true;
  o.seed = 5;
  const PtqResult a = quantize_layer(w, x, nullptr, o);
  o.threads = 3;
  const PtqResult b = quantize_layer(w, x, nullptr, o);
  CHECK(a.levels == b.levels);
  CHECK(a.err2 == b.err2);
  o.seed = 6;
  const PtqResult c = quantize_layer(w, x, nullptr, o);
  CHECK(a.levels != c.levels);
  // MSQ with stochastic rounding: each level is floor or ceil of w / delta.
  PtqOptions s = opts(PtqMethod::kMsq, 3, 1.16);
  s.stochastic = true;
  const PtqResult m = quantize_layer(w, x, nullptr, s);
  for (size_t i = 0; i < w.data.size(); ++i) {
    const double r = std::clamp(w.data[i] / m.delta, -4.0, 4.0);
    CHECK(m.levels[i] >= std::floor(r));
    CHECK(m.levels[i] <= std::ceil(r));
  }
}

TEST_CASE("Deterministic GPFQ does not depend on the thread count", "[ptq]") {
  const Tensor w = random_normal({13, 24}, 8, 0.3);
  const Tensor x = random_relu({40, 24}, 9);
  for (GpfqForm f : {GpfqForm::kPath, GpfqForm::kCovariance}) {
    PtqOptions o = opts(PtqMethod::kGpfq, 4, 1.16, f);
    const PtqResult a = quantize_layer(w, x, nullptr, o);
    o.threads = 4;
    const PtqResult b = quantize_layer(w, x, nullptr, o);
    CHECK(a.q == b.q);
    CHECK(a.err2 == b.err2);
    CHECK(a.bias_shift == b.bias_shift);
  }
}

TEST_CASE("PTQ rejects bad shapes and options", "[ptq]") {
  const Tensor w = mat(2, 3, {1, 2, 3, 4, 5, 6});
  const Tensor x = mat(4, 3, std::vector<float>(12, 1.0f));
  const PtqOptions o = opts(PtqMethod::kGpfq, 4, 1.0);
  CHECK_THROWS_WITH(quantize_layer(mat(1, 6, {1, 2, 3, 4, 5, 6}), x, nullptr, o),
                    Catch::Contains("inputs: shape (4, 3); expected (samples >= 1, 6)"));
  CHECK_THROWS_WITH(quantize_layer(Tensor{{6}, std::vector<float>(6, 1.0f)}, x, nullptr, o),
                    Catch::Contains("weights: shape (6,); expected (neurons, weights per neuron)"));
  const Tensor xq = mat(3, 3, std::vector<float>(9, 1.0f));
  CHECK_THROWS_WITH(quantize_layer(w, x, &xq, o), Catch::Contains("inputs-q: shape (3, 3)"));
  PtqOptions b = o;
  b.bits = 0;
  CHECK_THROWS_AS(quantize_layer(w, x, nullptr, b), UserError);
  b = o;
  b.c_alpha = -1;
  CHECK_THROWS_WITH(quantize_layer(w, x, nullptr, b), Catch::Contains("--c-alpha"));
  Tensor bad = w;
  bad.data[4] = std::nanf("");
  CHECK_THROWS_WITH(quantize_layer(bad, x, nullptr, o), Catch::Contains("element 4 is nan"));
  CHECK_THROWS_WITH(parse_ptq_method("gpq", "--method"), Catch::Contains("did you mean 'gpfq'") &&
                                                             Catch::Contains("allowed: gpfq, msq"));
  CHECK_THROWS_WITH(parse_gpfq_form("cov", "--form"),
                    Catch::Contains("allowed: auto, path, covariance"));
}
