#include "models/ptq/gpfq.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "models/core/error.h"
#include "models/core/shape.h"
#include "models/numerics/rng.h"

namespace lbsim {

namespace {

const std::vector<std::string> kMethods = {"gpfq", "msq"};
const std::vector<std::string> kForms = {"auto", "path", "covariance"};

void check_finite(const Tensor& t, const std::string& name) {
  for (size_t i = 0; i < t.data.size(); ++i)
    if (!std::isfinite(t.data[i]))
      throw UserError(
          fmt::format("error: {}: element {} is {} (values must be finite)", name, i, t.data[i]));
}

// Runs body(i) for i in [0, n), the indices dealt round-robin to `threads` workers.
template <class F>
void parallel_over(int64_t n, int threads, F&& body) {
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(threads, n));
  if (workers == 1) {
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
  std::vector<std::thread> pool;
  for (int64_t w = 0; w < workers; ++w)
    pool.emplace_back([&, w] {
      for (int64_t i = w; i < n; i += workers) body(i);
    });
  for (auto& th : pool) th.join();
}

// Column-major copy (N0 x m) of a row-major m x N0 matrix.
std::vector<float> transpose(const Tensor& x, int64_t m, int64_t n0) {
  std::vector<float> t(static_cast<size_t>(m * n0));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n0; ++j) t[j * m + i] = x.data[i * n0 + j];
  return t;
}

// A^T B for row-major m x n0 A and B, in double (rows t of the result dealt to threads; each
// entry summed over samples in order, so the result does not depend on the thread count).
std::vector<double> gram(const Tensor& a, const Tensor& b, int64_t m, int64_t n0, int threads) {
  std::vector<double> g(static_cast<size_t>(n0 * n0), 0.0);
  parallel_over(n0, threads, [&](int64_t t) {
    double* row = g.data() + t * n0;
    for (int64_t i = 0; i < m; ++i) {
      const double at = a.data[i * n0 + t];
      if (at == 0.0) continue;
      const float* bi = b.data.data() + i * n0;
      for (int64_t s = 0; s < n0; ++s) row[s] += at * static_cast<double>(bi[s]);
    }
  });
  return g;
}

double dot4(const float* a, const double* u, int64_t m) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) {
    s0 += a[i] * u[i];
    s1 += a[i + 1] * u[i + 1];
    s2 += a[i + 2] * u[i + 2];
    s3 += a[i + 3] * u[i + 3];
  }
  for (; i < m; ++i) s0 += a[i] * u[i];
  return (s0 + s1) + (s2 + s3);
}

struct Quantizer {
  double delta;
  int64_t K;
  bool stochastic;
  uint64_t seed;
  // Level of z for neuron `row`, step t; counts saturation in `sat`.
  int64_t level(double z, int64_t row, int64_t t, int64_t& sat) const {
    if (delta == 0.0) return 0;
    double r = z / delta;
    const double lim = static_cast<double>(K) + 1.0;
    r = std::clamp(r, -lim, lim);
    double k;
    if (stochastic) {
      const double lo = std::floor(r);
      const double u =
          CounterRng(seed, static_cast<uint64_t>(row)).uniform(static_cast<uint64_t>(t));
      k = lo + (u < r - lo ? 1.0 : 0.0);
    } else {
      k = std::round(r);
    }
    if (k > static_cast<double>(K)) {
      ++sat;
      return K;
    }
    if (k < -static_cast<double>(K)) {
      ++sat;
      return -K;
    }
    return static_cast<int64_t>(k);
  }
};

}  // namespace

PtqMethod parse_ptq_method(const std::string& s, const std::string& where) {
  if (s == "gpfq") return PtqMethod::kGpfq;
  if (s == "msq") return PtqMethod::kMsq;
  throw UserError(fmt::format("error: {}: unknown method '{}'{}; allowed: gpfq, msq", where, s,
                              did_you_mean(s, kMethods).empty()
                                  ? ""
                                  : " (did you mean '" + did_you_mean(s, kMethods) + "'?)"));
}

GpfqForm parse_gpfq_form(const std::string& s, const std::string& where) {
  if (s == "auto") return GpfqForm::kAuto;
  if (s == "path") return GpfqForm::kPath;
  if (s == "covariance") return GpfqForm::kCovariance;
  throw UserError(fmt::format(
      "error: {}: unknown form '{}'{}; allowed: auto, path, covariance", where, s,
      did_you_mean(s, kForms).empty() ? "" : " (did you mean '" + did_you_mean(s, kForms) + "'?)"));
}

const char* to_string(PtqMethod m) { return m == PtqMethod::kGpfq ? "gpfq" : "msq"; }
const char* to_string(GpfqForm f) {
  return f == GpfqForm::kAuto ? "auto" : f == GpfqForm::kPath ? "path" : "covariance";
}

double ptq_delta(const Tensor& w, int bits, double c_alpha) {
  const int64_t n1 = w.shape.at(0), n0 = w.shape.at(1);
  double sum = 0.0;
  for (int64_t i = 0; i < n1; ++i) {
    double mx = 0.0;
    for (int64_t j = 0; j < n0; ++j) mx = std::max(mx, std::fabs(double(w.data[i * n0 + j])));
    sum += mx;
  }
  const double K = std::ldexp(1.0, bits - 1);
  return c_alpha * (sum / static_cast<double>(n1)) / K;
}

PtqResult quantize_layer(const Tensor& w, const Tensor& x, const Tensor* xq_in, const PtqOptions& o,
                         const PtqNames& names) {
  if (w.shape.size() != 2 || w.shape[0] < 1 || w.shape[1] < 1)
    throw UserError(
        fmt::format("error: {}: shape {}; expected (neurons, weights per neuron), both >= 1",
                    names.w, shape_str(w.shape)));
  const int64_t n1 = w.shape[0], n0 = w.shape[1];
  if (x.shape.size() != 2 || x.shape[0] < 1 || x.shape[1] != n0)
    throw UserError(fmt::format("error: {}: shape {}; expected (samples >= 1, {}) to match {} {}",
                                names.x, shape_str(x.shape), n0, names.w, shape_str(w.shape)));
  if (xq_in && xq_in->shape != x.shape)
    throw UserError(fmt::format("error: {}: shape {}; expected {}, the shape of {}", names.xq,
                                shape_str(xq_in->shape), shape_str(x.shape), names.x));
  if (o.bits < 1 || o.bits > 16)
    throw UserError(fmt::format("error: --bits: {} is outside [1, 16]", o.bits));
  if (!(o.c_alpha > 0.0) || !std::isfinite(o.c_alpha))
    throw UserError(fmt::format("error: --c-alpha: {} must be a finite number > 0", o.c_alpha));
  if (o.threads < 1) throw UserError(fmt::format("error: threads: {} must be >= 1", o.threads));
  check_finite(w, names.w);
  check_finite(x, names.x);
  if (xq_in) check_finite(*xq_in, names.xq);
  const Tensor& xq = xq_in ? *xq_in : x;
  const bool same = xq_in == nullptr || xq_in->data == x.data;
  const int64_t m = x.shape[0];

  PtqResult r;
  r.shape = w.shape;
  r.K = int64_t{1} << (o.bits - 1);
  r.delta = ptq_delta(w, o.bits, o.c_alpha);
  const Quantizer quant{r.delta, r.K, o.stochastic, o.seed};
  r.form = o.form;
  if (r.form == GpfqForm::kAuto) {
    // Multiply-adds: path ~3 m N0 per neuron; covariance builds 1 (X~ = X) or 3 Gram matrices.
    const double grams = same ? 1.0 : 3.0;
    const double path = 3.0 * double(n1) * double(n0) * double(m);
    const double cov = grams * double(m) * double(n0) * double(n0) + 3.0 * double(n1) * n0 * n0;
    r.form = cov < path ? GpfqForm::kCovariance : GpfqForm::kPath;
  }
  r.q.assign(static_cast<size_t>(n1 * n0), 0.0f);
  r.levels.assign(static_cast<size_t>(n1 * n0), 0);
  r.bias_shift.assign(static_cast<size_t>(n1), 0.0);
  std::vector<double> err2(static_cast<size_t>(n1)), ref2(static_cast<size_t>(n1));
  std::vector<int64_t> sat(static_cast<size_t>(n1), 0);
  const bool greedy = o.method == PtqMethod::kGpfq;

  if (r.form == GpfqForm::kPath) {
    const std::vector<float> xt = transpose(x, m, n0);
    const std::vector<float> xqt_own = same ? std::vector<float>() : transpose(xq, m, n0);
    const std::vector<float>& xqt = same ? xt : xqt_own;
    std::vector<double> nq(static_cast<size_t>(n0)), gxx(static_cast<size_t>(n0));
    for (int64_t t = 0; t < n0; ++t) {
      double a = 0.0, b = 0.0;
      for (int64_t i = 0; i < m; ++i) {
        const double v = xqt[t * m + i];
        a += v * v;
        b += v * xt[t * m + i];
      }
      nq[t] = a;
      gxx[t] = b;
    }
    parallel_over(n1, o.threads, [&](int64_t row) {
      std::vector<double> u(static_cast<size_t>(m), 0.0), v(static_cast<size_t>(m), 0.0);
      for (int64_t t = 0; t < n0; ++t) {
        const double wt = w.data[row * n0 + t];
        const float* xc = xt.data() + t * m;
        const float* xqc = xqt.data() + t * m;
        double z = wt;
        if (greedy) z = nq[t] > 0.0 ? (dot4(xqc, u.data(), m) + wt * gxx[t]) / nq[t] : 0.0;
        const int64_t k = (greedy && nq[t] == 0.0) ? 0 : quant.level(z, row, t, sat[row]);
        const double qt = static_cast<double>(k) * r.delta;
        r.levels[row * n0 + t] = static_cast<int32_t>(k);
        r.q[row * n0 + t] = static_cast<float>(qt);
        for (int64_t i = 0; i < m; ++i) {
          u[i] += wt * xc[i] - qt * xqc[i];
          v[i] += wt * xc[i];
        }
      }
      double e = 0.0, f = 0.0, s = 0.0;
      for (int64_t i = 0; i < m; ++i) {
        e += u[i] * u[i];
        f += v[i] * v[i];
        s += u[i];
      }
      err2[row] = e;
      ref2[row] = f;
      r.bias_shift[row] = s / static_cast<double>(m);
    });
  } else {
    const std::vector<double> g = gram(xq, x, m, n0, o.threads);  // G = Xq^T X
    const std::vector<double> h_own = same ? std::vector<double>() : gram(xq, xq, m, n0, o.threads);
    const std::vector<double> f_own = same ? std::vector<double>() : gram(x, x, m, n0, o.threads);
    const std::vector<double>& h = same ? g : h_own;
    const std::vector<double>& f = same ? g : f_own;
    std::vector<double> mx(static_cast<size_t>(n0), 0.0), mxq(static_cast<size_t>(n0), 0.0);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t t = 0; t < n0; ++t) {
        mx[t] += x.data[i * n0 + t];
        mxq[t] += xq.data[i * n0 + t];
      }
    for (int64_t t = 0; t < n0; ++t) {
      mx[t] /= static_cast<double>(m);
      mxq[t] /= static_cast<double>(m);
    }
    parallel_over(n1, o.threads, [&](int64_t row) {
      const float* wr = w.data.data() + row * n0;
      std::vector<double> q(static_cast<size_t>(n0), 0.0);
      for (int64_t t = 0; t < n0; ++t) {
        const double* gt = g.data() + t * n0;
        const double* ht = h.data() + t * n0;
        const double htt = ht[t];
        double z = wr[t];
        if (greedy) {
          double acc = 0.0;
          for (int64_t s = 0; s < t; ++s) acc += gt[s] * wr[s] - ht[s] * q[s];
          z = htt > 0.0 ? (acc + gt[t] * wr[t]) / htt : 0.0;
        }
        const int64_t k = (greedy && htt == 0.0) ? 0 : quant.level(z, row, t, sat[row]);
        q[t] = static_cast<double>(k) * r.delta;
        r.levels[row * n0 + t] = static_cast<int32_t>(k);
        r.q[row * n0 + t] = static_cast<float>(q[t]);
      }
      // ||Xw - Xq q||^2 = w'Fw - 2 q'Gw + q'Hq, with G = Xq^T X.
      double wfw = 0.0, qgw = 0.0, qhq = 0.0, s = 0.0;
      for (int64_t t = 0; t < n0; ++t) {
        double fw = 0.0, gw = 0.0, hq = 0.0;
        for (int64_t j = 0; j < n0; ++j) {
          fw += f[t * n0 + j] * wr[j];
          gw += g[t * n0 + j] * wr[j];
          hq += h[t * n0 + j] * q[j];
        }
        wfw += wr[t] * fw;
        qgw += q[t] * gw;
        qhq += q[t] * hq;
        s += mx[t] * wr[t] - mxq[t] * q[t];
      }
      err2[row] = std::max(0.0, wfw - 2.0 * qgw + qhq);
      ref2[row] = wfw;
      r.bias_shift[row] = s;
    });
  }
  for (int64_t i = 0; i < n1; ++i) {
    r.err2 += err2[i];
    r.ref2 += ref2[i];
    r.saturated += sat[i];
  }
  return r;
}

}  // namespace lbsim
