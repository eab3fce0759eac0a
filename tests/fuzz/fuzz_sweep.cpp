// Sweep files (`lbsim sweep FILE`): parse, validate and expand into points (models/sweep). The
// point cap is lowered to 2000: expansion costs are linear in the points (a few hundred
// microseconds each under ASan), and the cap itself is a plain comparison checked by unit tests.
#include "models/sweep/sweep_spec.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = lbsim::fuzz::text_of(data, size);
  lbsim::fuzz::accept_or_reject([&] { (void)lbsim::parse_sweep(text, "fuzz/sweep.yaml", 2000); });
  return 0;
}
