// Checks for the SystemC scenario executables (tests/sim/*.cpp). A scenario keeps running after a
// failed check, so one run reports every mismatch; main() returns non-zero when g_failures > 0.
// (Catch2 is not used here: each scenario executable elaborates SystemC once per process.)
#pragma once

#include <cstdio>

namespace lbsim::scenario {
inline int g_failures = 0;
}  // namespace lbsim::scenario

#define EXPECT_EQ(a, b)                                                                          \
  do {                                                                                           \
    const long long va_ = static_cast<long long>(a), vb_ = static_cast<long long>(b);            \
    if (va_ != vb_) {                                                                            \
      std::fprintf(stderr, "%s:%d: FAILED %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, \
                   va_, vb_);                                                                    \
      ++::lbsim::scenario::g_failures;                                                           \
    }                                                                                            \
  } while (0)

#define EXPECT_TRUE(c)                                                    \
  do {                                                                    \
    if (!(c)) {                                                           \
      std::fprintf(stderr, "%s:%d: FAILED %s\n", __FILE__, __LINE__, #c); \
      ++::lbsim::scenario::g_failures;                                    \
    }                                                                     \
  } while (0)
