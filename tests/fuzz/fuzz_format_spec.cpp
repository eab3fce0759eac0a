// Number-format specs: the string form (`--format SPEC`, `-p pe_array.formats.weight=SPEC`) and,
// when the input is a YAML document, the YAML form (a spec scalar or {type: ..., option: ...}),
// each format then quantizing a small fixed tensor as `lbsim quantize` would.
#include "models/core/params.h"
#include "models/numerics/i_number_format.h"
#include "models/numerics/tensor.h"
#include "tests/fuzz/fuzz_common.h"

namespace {

void exercise(const lbsim::FormatPtr& f) {
  lbsim::Tensor t;
  t.shape = {4, 8};
  for (int i = 0; i < 32; ++i) t.data.push_back(static_cast<float>((i * 37) % 19 - 9) * 0.37f);
  t.data[5] = 0.0f;
  t.data[7] = 1e-30f;
  t.data[11] = -3e4f;
  for (lbsim::Role role : {lbsim::Role::kWeight, lbsim::Role::kError}) {
    lbsim::QuantContext ctx;
    ctx.role = role;
    (void)f->quantize(t, ctx);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = lbsim::fuzz::text_of(data, size);
  lbsim::fuzz::accept_or_reject(
      [&] { exercise(lbsim::make_format(text, lbsim::SourceLoc{"<cmdline --format>"})); });
  lbsim::fuzz::accept_or_reject([&] {
    const lbsim::ConfigFile doc = lbsim::ConfigFile::parse(text, "fuzz/format.yaml");
    lbsim::Params root = doc.root("fuzz");
    const YAML::Node node = root.node("format", "", "", "");
    if (node) exercise(lbsim::make_format(node, "fuzz/format.yaml", "format"));
  });
  return 0;
}
