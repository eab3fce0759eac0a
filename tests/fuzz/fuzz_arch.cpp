// Architecture YAML with `-p` overrides ("#p key=value" lines), as `lbsim run --arch FILE -p ...`
// loads it (load_arch_or_default -> parse_arch_text).
#include "models/arch/arch_loader.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = lbsim::fuzz::text_of(data, size);
  std::vector<lbsim::ArchOverride> overrides;
  for (const auto& o : lbsim::fuzz::override_lines(text)) overrides.push_back({o, {}});
  lbsim::fuzz::accept_or_reject([&] {
    const lbsim::ArchConfig arch = lbsim::parse_arch_text(text, "fuzz/arch.yaml", overrides);
    (void)lbsim::arch_summary(arch);
  });
  return 0;
}
