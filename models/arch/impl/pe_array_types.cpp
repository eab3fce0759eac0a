// The shipped PE-array types (pe_array_types.h). Defaults per family follow the papers' recipes:
// which format each family uses in each GEMM (README.md, "Number formats").
#include "models/arch/pe_array_types.h"

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <stdexcept>

#include "models/core/catalog.h"

namespace lbsim {

namespace {

int role_index(Role r) { return static_cast<int>(r); }

// One table-driven class covers every shipped family: they differ only in data.
class PeArrayType : public IPeArrayType {
 public:
  struct Spec {
    std::string name, description;
    std::string weight, activation, error;  // default format specs
    std::vector<ElementKind> weight_kinds, activation_kinds, error_kinds;
    std::string family;  // registered MAC family
    std::string accumulator_text;
  };
  explicit PeArrayType(Spec s) : m_s(std::move(s)) {
    m_family = find_mac_family(m_s.family);
    if (m_family == nullptr)
      throw std::logic_error("PE array type '" + m_s.name +
                             "' names the unregistered MAC family '" + m_s.family + "'");
  }

  const std::string& name() const override { return m_s.name; }
  const std::string& description() const override { return m_s.description; }
  const std::string& default_format(Role r) const override {
    const std::string* f[] = {&m_s.weight, &m_s.activation, &m_s.error};
    return *f[role_index(r)];
  }
  const std::vector<ElementKind>& allowed_kinds(Role r) const override {
    const std::vector<ElementKind>* k[] = {&m_s.weight_kinds, &m_s.activation_kinds,
                                           &m_s.error_kinds};
    return *k[role_index(r)];
  }
  const IMacFamily& family() const override { return *m_family; }
  bool fixed_point() const override { return m_family->integer_accumulator(); }
  AccumulatorSpec default_accumulator() const override { return m_family->default_accumulator(); }
  const std::string& accumulator_text() const override { return m_s.accumulator_text; }

  std::vector<FormatProblem> validate(const FormatPtr& weight, const FormatPtr& activation,
                                      const FormatPtr& error) const override {
    std::vector<FormatProblem> out;
    const FormatPtr* f[] = {&weight, &activation, &error};
    for (Role r : {Role::kWeight, Role::kActivation, Role::kError}) {
      const FormatPtr& fmt_ptr = *f[role_index(r)];
      if (!fmt_ptr) continue;
      const FormatInfo& info = fmt_ptr->info();
      const auto& kinds = allowed_kinds(r);
      bool ok = false;
      std::vector<std::string> names;
      for (ElementKind k : kinds) {
        ok = ok || k == info.kind;
        names.push_back(element_kind_name(k));
      }
      if (!ok) {
        out.push_back({r, fmt::format("'{}' is of kind {}; the {} PE array executes {} operands "
                                      "of kind {} only (e.g. {})",
                                      info.name, element_kind_name(info.kind), m_s.name,
                                      role_name(r), join(names, " | "), default_format(r))});
        continue;
      }
      const IMacFamily& executor = mac_family_of(info);
      if (&executor != m_family)
        out.push_back({r, fmt::format("'{}' is executed by the {} MAC family; the {} PE array's "
                                      "cells are of the {} family (e.g. {})",
                                      info.name, executor.name(), m_s.name, m_family->name(),
                                      default_format(r))});
    }
    return out;
  }

 private:
  Spec m_s;
  const IMacFamily* m_family = nullptr;
};

const std::vector<ElementKind> kFloat = {ElementKind::kFloat};
const std::vector<ElementKind> kInt = {ElementKind::kInt};
const std::vector<ElementKind> kLog = {ElementKind::kLog};
const std::vector<ElementKind> kMls = {ElementKind::kMls};
const std::string kFp32Acc = "fp32 (round to nearest even after every FMA, ascending k)";

// The type object is made on first use (after static initialisation: it looks its family up).
Registry<IPeArrayType>::Maker maker(PeArrayType::Spec s) {
  return [s](Params&) -> std::shared_ptr<const IPeArrayType> {
    static std::mutex lock;
    static std::map<std::string, std::shared_ptr<const IPeArrayType>> made;
    std::lock_guard<std::mutex> hold(lock);
    auto it = made.find(s.name);
    if (it == made.end()) it = made.emplace(s.name, std::make_shared<const PeArrayType>(s)).first;
    return it->second;
  };
}

PeArrayType::Spec float_spec(const std::string& name, const std::string& description,
                             const std::string& w, const std::string& a, const std::string& e) {
  return {name, description, w, a, e, kFloat, kFloat, kFloat, "float", kFp32Acc};
}

PeArrayType::Spec fixed_spec(const std::string& name, const std::string& description,
                             const std::string& w, const std::string& a, const std::string& e,
                             const std::vector<ElementKind>& error_kinds,
                             const std::string& acc_text) {
  const std::vector<ElementKind>& wa_kinds = error_kinds == kMls ? kMls : kInt;
  return {name, description, w, a, e, wa_kinds, wa_kinds, error_kinds, "fixed", acc_text};
}

const PeArrayType::Spec kFp32 =
    float_spec("fp32", "FP32 baseline: fp32 FMA array", "fp32", "fp32", "fp32");
const PeArrayType::Spec kFp16 =
    float_spec("fp16", "fp16 multipliers, fp32 accumulation", "fp16", "fp16", "fp16");
const PeArrayType::Spec kBf16 =
    float_spec("bf16", "bfloat16 multipliers, fp32 accumulation", "bf16", "bf16", "bf16");
const PeArrayType::Spec kFp8 =
    float_spec("fp8", "FP8 baseline: E4M3 weights/activations, E5M2 errors, fp32 accumulation",
               "fp8_e4m3", "fp8_e4m3", "fp8_e5m2");
const PeArrayType::Spec kIntArray =
    fixed_spec("int", "integer array: int8 x int8 into int32, fp32 scale multiply per output",
               "int8", "int8", "int8", kInt, "integer sum, then fp32 scale multiply per output");
const PeArrayType::Spec kDfp = fixed_spec(
    "dfp", "integer training (dynamic fixed point): int8 x int8 into int32, exponent add", "dfp8",
    "dfp8", "dfp8", kInt, "integer sum, then shared-exponent add per output");
const PeArrayType::Spec kLuq = fixed_spec(
    "luq", "LUQ: int4 x int4 forward, int4 x log-fp4 shift-and-add backward", "int4_sawb",
    "int4_sawb", "luq_fp4", kLog, "shift-and-add integer sum, then fp32 scale multiply");
const PeArrayType::Spec kMlsArray = fixed_spec(
    "mls", "MLS: tiny-float elements, intra-group fixed point, inter-group fp32", "mls_m1e2",
    "mls_m1e2", "mls_m1e2", kMls, "intra-group fixed point, inter-group fp32 sum");

// The mx family's arrays (OCP MX v1.0 and NVFP4 block formats): FP elements are kMls codes, MXINT8
// kInt; every format they take names the mx family.
const std::vector<ElementKind> kMxKinds = {ElementKind::kMls, ElementKind::kInt};
PeArrayType::Spec mx_spec(const std::string& name, const std::string& description,
                          const std::string& w, const std::string& a, const std::string& e) {
  return {name,     description,
          w,        a,
          e,        kMxKinds,
          kMxKinds, kMxKinds,
          "mx",     "exact integer sum per block, block scales, fp32 sum of block results"};
}
const PeArrayType::Spec kMxArray =
    mx_spec("mx", "OCP MX: MXFP8 E4M3 weights/activations, E5M2 errors; exact block dot products",
            "mxfp8_e4m3", "mxfp8_e4m3", "mxfp8_e5m2");
const PeArrayType::Spec kNvfp4Array =
    mx_spec("nvfp4", "NVFP4: E2M1 blocks of 16 with E4M3 block scales and an fp32 tensor scale",
            "nvfp4", "nvfp4", "nvfp4");

}  // namespace

LBSIM_REGISTER(IPeArrayType, kMxArray.name, kMxArray.description, maker(kMxArray))
LBSIM_REGISTER(IPeArrayType, kNvfp4Array.name, kNvfp4Array.description, maker(kNvfp4Array))
LBSIM_REGISTER(IPeArrayType, kFp32.name, kFp32.description, maker(kFp32))
LBSIM_REGISTER(IPeArrayType, kFp16.name, kFp16.description, maker(kFp16))
LBSIM_REGISTER(IPeArrayType, kBf16.name, kBf16.description, maker(kBf16))
LBSIM_REGISTER(IPeArrayType, kFp8.name, kFp8.description, maker(kFp8))
LBSIM_REGISTER(IPeArrayType, kIntArray.name, kIntArray.description, maker(kIntArray))
LBSIM_REGISTER(IPeArrayType, kDfp.name, kDfp.description, maker(kDfp))
LBSIM_REGISTER(IPeArrayType, kLuq.name, kLuq.description, maker(kLuq))
LBSIM_REGISTER(IPeArrayType, kMlsArray.name, kMlsArray.description, maker(kMlsArray))

PeArrayTypePtr find_pe_array_type(const std::string& name) {
  const auto* e = Registry<IPeArrayType>::find(name);
  if (!e) return nullptr;
  Params none("PE array type '" + name + "'", {}, SourceLoc{"<pe array type>"});
  return e->make(none);
}

std::vector<std::string> pe_array_type_names() { return Registry<IPeArrayType>::names(); }

std::string describe_pe_array_types() {
  std::string out;
  for (const auto& name : pe_array_type_names()) {
    PeArrayTypePtr t = find_pe_array_type(name);
    out += fmt::format("{}  -  {}\n", t->name(), t->description());
    for (Role r : {Role::kWeight, Role::kActivation, Role::kError}) {
      std::vector<std::string> kinds;
      for (ElementKind k : t->allowed_kinds(r)) kinds.push_back(element_kind_name(k));
      out += fmt::format("    {:<11} default {:<10} kinds: {}\n", role_name(r),
                         t->default_format(r), join(kinds, " | "));
    }
    std::string acc_text = t->accumulator_text();
    if (t->fixed_point()) {
      AccumulatorSpec a = t->default_accumulator();
      acc_text += fmt::format(" (default accumulator: {{bits: {}, overflow: {}}})", a.acc_bits,
                              a.policy == OverflowPolicy::kWrap ? "wrap" : "saturate");
    }
    out += fmt::format("    accumulate  {}\n", acc_text);
  }
  return out;
}

namespace {
[[maybe_unused]] const bool kPeTypesInCatalog = register_catalog_section(
    {20, "PE array types (arch YAML pe_array.type)", describe_pe_array_types});
}  // namespace

}  // namespace lbsim
