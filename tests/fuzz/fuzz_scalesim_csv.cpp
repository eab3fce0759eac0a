// SCALE-Sim topology CSV files as `lbsim run --workload topo.csv` resolves them
// (resolve_workload_text: import, then expansion into training ops).
#include "models/workload/resolve.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = lbsim::fuzz::text_of(data, size);
  for (int64_t batch : {0, 3})
    lbsim::fuzz::accept_or_reject(
        [&] { (void)lbsim::resolve_workload_text(text, "fuzz/topology.csv", batch); });
  return 0;
}
