// Exact statistical tests for the unbiasedness checks of stochastic rounding (Boost.Math).
//
// A stochastic rounding of x between neighbours lo < hi goes up with probability
// p = (x - lo) / (hi - lo) and is unbiased iff that probability holds. Over n independent draws
// the number of ups is Binomial(n, p) exactly, so each test counts ups and runs a two-sided exact
// binomial test at significance level kAlpha: it accepts when the count lies in
// [quantile(alpha / 2), quantile(complement, alpha / 2)] of Binomial(n, p) (Boost rounds discrete
// quantiles outwards, so the false-rejection probability is at most alpha). The draws are
// counter-based and the seeds fixed, so a test is deterministic; alpha states how strong the
// evidence is that a wrong p would be caught: with n = 20000 and alpha = 1e-6 the test rejects a
// probability off by 0.02 (e.g. 0.32 instead of 0.30) with near certainty.
#pragma once

#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <cstdint>
#include <string>

namespace lbsim::stat {

constexpr double kAlpha = 1e-6;  // significance level of every unbiasedness test

struct Region {
  double lo = 0, hi = 0;  // acceptance region for the count of ups, inclusive
};

// Two-sided acceptance region of Binomial(n, p) at level alpha.
inline Region binomial_region(int64_t n, double p, double alpha = kAlpha) {
  const boost::math::binomial_distribution<double> d(static_cast<double>(n), p);
  return {boost::math::quantile(d, alpha / 2),
          boost::math::quantile(boost::math::complement(d, alpha / 2))};
}

// True when `ups` successes in n draws are consistent with probability p at level alpha.
inline bool binomial_accepts(int64_t ups, int64_t n, double p, double alpha = kAlpha) {
  const Region r = binomial_region(n, p, alpha);
  return static_cast<double>(ups) >= r.lo && static_cast<double>(ups) <= r.hi;
}

// A description for INFO(): "ups 6013 of 20000, p 0.3, accepted [5742, 6261] at alpha 1e-06".
inline std::string binomial_text(int64_t ups, int64_t n, double p, double alpha = kAlpha) {
  const Region r = binomial_region(n, p, alpha);
  return "ups " + std::to_string(ups) + " of " + std::to_string(n) + ", p " + std::to_string(p) +
         ", accepted [" + std::to_string(r.lo) + ", " + std::to_string(r.hi) + "] at alpha " +
         std::to_string(alpha);
}

// Two-sided z test: |mean - mu| within the normal quantile of 1 - alpha/2 times sigma_mean.
// For means of many i.i.d. draws (central limit theorem), where the exact law is not binomial.
inline double normal_halfwidth(double sigma_mean, double alpha = kAlpha) {
  const boost::math::normal_distribution<double> z(0.0, 1.0);
  return boost::math::quantile(boost::math::complement(z, alpha / 2)) * sigma_mean;
}

}  // namespace lbsim::stat
