// Study files (`lbsim compare STUDY`): parse and validate (sim/top/study.h).
#include "sim/top/study.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = lbsim::fuzz::text_of(data, size);
  lbsim::fuzz::accept_or_reject([&] { (void)lbsim::parse_study(text, "fuzz/study.yaml"); });
  return 0;
}
