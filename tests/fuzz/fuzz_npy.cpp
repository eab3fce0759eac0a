// .npy files as `lbsim quantize --in FILE` reads them (read_npy_tensor = parse_npy + npy_tensor),
// with and without --npy-bf16.
#include "models/core/npy.h"
#include "models/numerics/tensor.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes = lbsim::fuzz::text_of(data, size);
  for (bool bf16 : {false, true}) {
    lbsim::fuzz::accept_or_reject([&] {
      lbsim::NpyReadOptions options;
      options.bf16 = bf16;
      (void)lbsim::npy_tensor(lbsim::parse_npy(bytes, "fuzz/tensor.npy", options));
    });
  }
  return 0;
}
