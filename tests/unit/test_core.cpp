#include <catch2/catch.hpp>

#include "models/core/error.h"
#include "models/core/params.h"
#include "models/numerics/rng.h"

using namespace lbsim;

TEST_CASE("Params validates ranges, choices and unknown keys in one pass", "[core]") {
  Params p("format 'x'",
           {{"bits", {"40", {"a.yaml", 3, 7}}},
            {"roundng", {"nearest", {"a.yaml", 4, 5}}},
            {"mode", {"fast", {"a.yaml", 5, 5}}}},
           {"a.yaml", 2, 3}, "pe_array.weight_format");
  CHECK(p.get_int("bits", 8, 2, 32, "bits") == 8);
  CHECK(p.get_choice("rounding", "nearest", {"nearest", "stochastic"}, "") == "nearest");
  CHECK(p.get_choice("mode", "exact", {"exact", "approx"}, "") == "exact");
  try {
    p.finish();
    FAIL("finish() must throw");
  } catch (const UserError& e) {
    std::string msg = e.what();
    CHECK(msg.find("a.yaml:3:7: error: pe_array.weight_format.bits: 40 is outside [2, 32]") !=
          std::string::npos);
    CHECK(msg.find("a.yaml:5:5: error: pe_array.weight_format.mode: 'fast' is not allowed; "
                   "allowed: exact, approx") != std::string::npos);
    CHECK(msg.find("a.yaml:4:5: error: pe_array.weight_format.roundng: unknown option") !=
          std::string::npos);
    CHECK(msg.find("did you mean 'rounding'?") != std::string::npos);
  }
}

TEST_CASE("did_you_mean picks the closest candidate", "[core]") {
  CHECK(did_you_mean("mls_m1e", {"mls", "luq_fp4", "mls_m1e2"}) == "mls_m1e2");
  CHECK(did_you_mean("zzzzzz", {"fp32", "int8"}).empty());
}

TEST_CASE("CounterRng is a pure function of (seed, tensor, index, stream)", "[core][rng]") {
  CounterRng a(1, 2), b(1, 2), c(1, 3), d(2, 2);
  CHECK(a.bits(5) == b.bits(5));
  CHECK(a.bits(5) != c.bits(5));
  CHECK(a.bits(5) != d.bits(5));
  CHECK(a.bits(5, 0) != a.bits(5, 1));
  // SplitMix64 reference value (first output for state 0 is 0xE220A8397B1DCDAF).
  CHECK(splitmix64(0) == 0xE220A8397B1DCDAFULL);
  // Mean of many uniforms is 1/2 within 3 sigma (sigma = sqrt(1/12/n)).
  double sum = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) sum += a.uniform(i);
  CHECK(std::abs(sum / n - 0.5) < 3 * std::sqrt(1.0 / 12 / n));
}
