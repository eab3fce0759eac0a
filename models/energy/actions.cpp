#include "models/energy/actions.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "models/core/error.h"
#include "models/mac/i_mac_family.h"
#include "models/numerics/i_number_format.h"

namespace lbsim {

std::string ActionKey::param_text() const {
  std::string s;
  for (const auto& [k, v] : params) s += (s.empty() ? "" : ";") + k + "=" + v;
  return s;
}

std::string ActionKey::text() const {
  return params.empty() ? name : name + "{" + param_text() + "}";
}

const std::string* ActionKey::param(const std::string& key) const {
  for (const auto& [k, v] : params)
    if (k == key) return &v;
  return nullptr;
}

bool ActionKey::operator<(const ActionKey& o) const {
  return std::tie(name, params) < std::tie(o.name, o.params);
}
bool ActionKey::operator==(const ActionKey& o) const {
  return name == o.name && params == o.params;
}

const std::vector<ActionSpec>& action_vocabulary() {
  static const std::vector<ActionSpec> v = {
      {"int_mul", {"a_bits", "b_bits"}, {true, true}, "unsigned integer multiply a x b bits"},
      {"int_add", {"bits"}, {true}, "integer add of n bits"},
      {"shift", {"bits", "stages"}, {true, true}, "barrel shift of n bits over 2^stages places"},
      {"exp_add", {"bits"}, {true}, "exponent add of n bits"},
      {"fp_mul", {"e", "m"}, {true, true}, "floating-point multiply, e exponent / m mantissa bits"},
      {"fp_add", {"e", "m"}, {true, true}, "floating-point add, e exponent / m mantissa bits"},
      {"acc_update", {"bits"}, {true}, "accumulator register update of n bits"},
      {"group_end_convert", {"bits"}, {true}, "fixed-point partial sum of n bits -> fp32"},
      {"pe_register_bits", {}, {}, "one operand pipeline-register bit written in a PE"},
      {"pe_overhead", {"family"}, {false}, "fixed per-MAC PE cost of a datapath family"},
      {"rf_read", {"entries", "bits"}, {true, true}, "register-file read of one word"},
      {"rf_write", {"entries", "bits"}, {true, true}, "register-file write of one word"},
      {"sram_read",
       {"buffer", "bytes", "bits"},
       {false, true, true},
       "SRAM read of one word (bytes = bank capacity, bits = port width)"},
      {"sram_write",
       {"buffer", "bytes", "bits"},
       {false, true, true},
       "SRAM write of one word (bytes = bank capacity, bits = port width)"},
      {"dram_bit", {"type"}, {false}, "one bit moved to or from DRAM"},
      {"quant_max", {"bits"}, {true}, "one max-reduction compare step"},
      {"quant_scale", {}, {}, "one scale computation (per group or tensor)"},
      {"quant_convert", {"bits"}, {true}, "one element converted to an n-bit code"},
      {"rng_draw", {"bits"}, {true}, "one random number for stochastic rounding"},
      {"vector_op", {"kind"}, {false}, "one element-wise vector-unit operation"},
  };
  return v;
}

const ActionSpec* find_action(const std::string& name) {
  for (const ActionSpec& s : action_vocabulary())
    if (s.name == name) return &s;
  return nullptr;
}

std::string action_component(const ActionKey& key) {
  const std::string& n = key.name;
  if (n == "sram_read" || n == "sram_write") {
    const std::string* b = key.param("buffer");
    return "sram_" + (b ? *b : std::string("?"));
  }
  if (n == "dram_bit") return "dram";
  if (n.rfind("quant_", 0) == 0 || n == "rng_draw") return "quant_unit";
  if (n == "vector_op") return "vector_unit";
  return "pe_array";
}

namespace {

std::string num(int64_t v) { return std::to_string(v); }

class Counter {
 public:
  void add(ActionKey key, int64_t count) {
    if (count <= 0) return;
    auto it = m_index.find(key);
    if (it == m_index.end()) {
      m_index.emplace(key, m_out.size());
      m_out.push_back({std::move(key), count});
    } else {
      m_out[it->second].count += count;
    }
  }
  std::vector<ActionCount> take() { return std::move(m_out); }

 private:
  std::map<ActionKey, size_t> m_index;
  std::vector<ActionCount> m_out;
};

ActionKey key(std::string name, std::vector<std::pair<std::string, std::string>> p = {}) {
  return ActionKey{std::move(name), std::move(p)};
}

const FormatInfo& info_of(const std::string& name) {
  static std::map<std::string, FormatPtr> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, make_format(name, SourceLoc{"<plan>"})).first;
  return it->second->info();
}

// The PE-array actions of a GEMM op are its MAC family's (IMacFamily::gemm_actions).
void gemm_actions(const OpWork& op, const ArchConfig& arch, Counter& c) {
  GemmActionInput in;
  in.a = &info_of(op.a.name);
  in.b = &info_of(op.b.name);
  in.macs = op.macs;
  in.outputs = op.m * op.n * op.groups * op.samples;
  in.k_segments = op.k_segments;
  in.grouped = op.a.group_elements > 0 || op.b.group_elements > 0;
  in.acc_bits = arch.pe.accumulator.acc_bits;
  in.mls_unit_mantissa_bits = arch.pe.mls_unit_mantissa_bits;
  mac_family_for(*in.a, *in.b)
      .gemm_actions(in, [&c](const std::string& name, const ActionParams& params, int64_t count) {
        c.add(key(name, params), count);
      });
}

void buffer_actions(const BufferConfig& buf, int64_t read_bytes, int64_t write_bytes, Counter& c) {
  const int64_t bank_bytes = buf.capacity_bytes / std::max<int64_t>(1, buf.banks);
  const int64_t wb = std::max<int64_t>(1, buf.word_bits);
  auto accesses = [&](int64_t bytes) { return (bytes * 8 + wb - 1) / wb; };
  std::vector<std::pair<std::string, std::string>> p = {
      {"buffer", buf.name}, {"bytes", num(bank_bytes)}, {"bits", num(wb)}};
  c.add(key("sram_read", p), accesses(read_bytes));
  c.add(key("sram_write", p), accesses(write_bytes));
}

}  // namespace

OpActions count_op_actions(const OpWork& op, const ArchConfig& arch) {
  OpActions out;
  out.layer = op.layer;
  out.phase = phase_name(op.phase);
  out.op = op.op;
  Counter c;
  if (op.kind == OpKind::kGemm) gemm_actions(op, arch, c);
  if (op.vector_ops > 0)
    c.add(key("vector_op", {{"kind", vector_kind_name(op.vector_kind)}}), op.vector_ops);
  // Quantization of the produced tensor.
  const FormatCost& qf = op.kind == OpKind::kGemm ? op.out : op.vec;
  if (op.quant_elements > 0 && op.quant_ops_per_element > 0) {
    const int64_t e = op.quant_elements;
    const int64_t sr = qf.stochastic ? 1 : 0;
    const int64_t maxes = std::max<int64_t>(0, op.quant_ops_per_element - 1 - sr);
    c.add(key("quant_max", {{"bits", "32"}}), e * maxes);
    c.add(key("quant_convert", {{"bits", num(qf.code_bits)}}), e);
    c.add(key("rng_draw", {{"bits", "16"}}), e * sr);
    const int64_t scales =
        qf.group_elements > 0
            ? static_cast<int64_t>(std::ceil(static_cast<double>(e) / qf.group_elements))
            : 1;
    c.add(key("quant_scale"), scales);
  }
  // Memories.
  const TileDemand& d = op.demand;
  const BuffersConfig& b = arch.buffers;
  if (b.unified) {
    buffer_actions(
        b.global, d.sram_read_ifmap_bytes + d.sram_read_filter_bytes + d.sram_read_ofmap_bytes,
        d.sram_write_ifmap_bytes + d.sram_write_filter_bytes + d.sram_write_ofmap_bytes, c);
  } else {
    buffer_actions(b.ifmap, d.sram_read_ifmap_bytes, d.sram_write_ifmap_bytes, c);
    buffer_actions(b.filter, d.sram_read_filter_bytes, d.sram_write_filter_bytes, c);
    buffer_actions(b.ofmap, d.sram_read_ofmap_bytes, d.sram_write_ofmap_bytes, c);
  }
  c.add(key("dram_bit", {{"type", arch.dram.type}}),
        8 * (d.dram_read_bytes() + d.dram_write_bytes()));
  out.actions = c.take();
  return out;
}

std::vector<OpActions> count_actions(const SimPlan& plan, const ArchConfig& arch) {
  std::vector<OpActions> v;
  v.reserve(plan.ops.size());
  for (const OpWork& op : plan.ops) v.push_back(count_op_actions(op, arch));
  return v;
}

std::string actions_csv(const std::vector<OpActions>& ops) {
  std::string s = "layer,phase,op,action,params,count\n";
  for (const OpActions& o : ops)
    for (const ActionCount& a : o.actions)
      s += fmt::format("{},{},{},{},{},{}\n", csv_field(o.layer), o.phase, csv_field(o.op),
                       a.key.name, a.key.param_text(), a.count);
  return s;
}

std::vector<OpActions> parse_actions_csv(const std::string& text, const std::string& file) {
  std::istringstream in(text);
  std::string line;
  int ln = 0;
  std::vector<OpActions> ops;
  auto err = [&](const std::string& msg) {
    return UserError(fmt::format("{}:{}: error: {}", file, ln, msg));
  };
  while (std::getline(in, line)) {
    ++ln;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (ln == 1) {
      if (line != "layer,phase,op,action,params,count")
        throw err("not an actions.csv: header must be layer,phase,op,action,params,count");
      continue;
    }
    if (line.empty()) continue;
    std::vector<std::string> f = split_csv_line(line);
    if (f.size() != 6) throw err(fmt::format("expected 6 fields, found {}", f.size()));
    const ActionSpec* spec = find_action(f[3]);
    if (!spec) {
      std::vector<std::string> names;
      for (const ActionSpec& s : action_vocabulary()) names.push_back(s.name);
      const std::string dym = did_you_mean(f[3], names);
      throw err(fmt::format("unknown action '{}'{}", f[3],
                            dym.empty() ? "" : " (did you mean '" + dym + "'?)"));
    }
    ActionKey k{f[3], {}};
    if (!f[4].empty()) {
      std::stringstream ps(f[4]);
      std::string kv;
      while (std::getline(ps, kv, ';')) {
        const size_t eq = kv.find('=');
        const std::string pk = kv.substr(0, eq);
        if (eq == std::string::npos ||
            std::find(spec->params.begin(), spec->params.end(), pk) == spec->params.end())
          throw err(fmt::format("action {}: unknown parameter '{}' (parameters: {})", f[3], kv,
                                spec->params.empty() ? "none" : join(spec->params)));
        k.params.emplace_back(pk, kv.substr(eq + 1));
      }
    }
    if (k.params.size() != spec->params.size())
      throw err(fmt::format("action {}: needs parameters {}", f[3], join(spec->params)));
    int64_t count = 0;
    try {
      size_t pos = 0;
      count = std::stoll(f[5], &pos);
      if (pos != f[5].size() || count < 0) throw std::invalid_argument("count");
    } catch (const std::exception&) {
      throw err(fmt::format("bad count '{}'", f[5]));
    }
    if (ops.empty() || ops.back().layer != f[0] || ops.back().phase != f[1] ||
        ops.back().op != f[2])
      ops.push_back(OpActions{f[0], f[1], f[2], {}});
    ops.back().actions.push_back({std::move(k), count});
  }
  if (ln == 0) throw UserError(fmt::format("{}: error: empty file, not an actions.csv", file));
  return ops;
}

}  // namespace lbsim
