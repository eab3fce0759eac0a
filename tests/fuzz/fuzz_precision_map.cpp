// Precision maps (`lbsim run --precision-map FILE`): parse, then apply to ResNet-20 (zoo, batch 2)
// as the CLI does (models/workload/precision_map.h).
#include "models/workload/precision_map.h"
#include "models/workload/resolve.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const lbsim::Workload base = lbsim::resolve_workload("resnet20", 2);
  const std::string text = lbsim::fuzz::text_of(data, size);
  lbsim::fuzz::accept_or_reject([&] {
    const lbsim::PrecisionMap map = lbsim::parse_precision_map(text, "fuzz/map.yaml");
    lbsim::Workload w = base;
    lbsim::apply_precision_map(map, w);
  });
  return 0;
}
