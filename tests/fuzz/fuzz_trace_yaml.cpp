// Trace files (.yaml) as `lbsim run --workload FILE` / `lbsim workload show FILE` resolve them
// (resolve_workload_text), at the trace's own batch and re-batched.
#include "models/workload/resolve.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = lbsim::fuzz::text_of(data, size);
  for (int64_t batch : {0, 3})
    lbsim::fuzz::accept_or_reject(
        [&] { (void)lbsim::resolve_workload_text(text, "fuzz/trace.yaml", batch); });
  return 0;
}
