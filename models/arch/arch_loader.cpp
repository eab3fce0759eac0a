#include "models/arch/arch_loader.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "models/arch/pe_array_types.h"
#include "models/core/catalog.h"
#include "models/core/input_file.h"

namespace lbsim {

// Defined in the file CMake generates from arch_configs/default.yaml (models/CMakeLists.txt).
extern const char* const kEmbeddedDefaultArchYaml;

namespace {

constexpr const char* kBuiltinSource = "<built-in default>";
const std::vector<std::string> kWordBits = {"8", "16", "32", "64", "128", "256", "512"};
constexpr int64_t kMaxKib = int64_t{1} << 20;    // 1 GiB
constexpr int64_t kMaxBytes = int64_t{1} << 30;  // 1 GiB
constexpr int64_t kMaxTile = int64_t{1} << 30;
// Physical ranges of the rates (arch_configs/README.md): clocks from 1 MHz (slow embedded
// parts) to 10 GHz; DRAM from 0.1 GB/s (a narrow LPDDR channel at a low rate) to 100 TB/s (well
// above stacked HBM); per-cycle bandwidth likewise from 0.01 to 10^6 bytes. Below these the run
// would be dominated by a transfer of years of simulated time; the simulator's own time range is
// checked again before it runs (sim/top/simulate.h).
constexpr double kMinClockMhz = 1, kMaxClockMhz = 10000;
constexpr double kMinGbps = 0.1, kMaxGbps = 100000;
constexpr double kMinBytesPerCycle = 0.01, kMaxBytesPerCycle = 1000000;

// Inserts "key_path: " after the "error: " of every line of a message that a nested parser
// produced without it (format spec strings are parsed without knowing where they sit).
std::string with_key_path(const std::string& text, const std::string& key_path) {
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    size_t e = line.find("error: ");
    if (e != std::string::npos) {
      size_t at = e + 7;
      if (line.compare(at, key_path.size() + 1, key_path + ":") != 0 &&
          line.compare(at, key_path.size() + 1, key_path + ".") != 0)
        line.insert(at, key_path + ": ");
    }
    out += (out.empty() ? "" : "\n") + line;
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

// Reads the arch schema. In describe mode every branch is read once, whatever the
// (empty) input holds, so that the declarations become the key documentation.
class ArchParser {
 public:
  explicit ArchParser(bool describe) : m_describe(describe) {}

  ArchConfig parse(const ConfigFile& file) {
    Params root = file.root("the architecture");
    open(root, "(top level)");
    ArchConfig a;
    a.source = file.file();
    a.schema_version = 1;
    std::string version = root.get_string("schema_version", "(required)", "1",
                                          "schema version of the file; this lbsim reads version 1");
    if (!m_describe) {
      if (!root.has("schema_version"))
        root.error("schema_version", "missing; add 'schema_version: 1' at the top of the file");
      else if (version != "1")
        root.error(
            "schema_version",
            fmt::format("'{}' is not supported; this lbsim reads schema version 1", version));
    }
    std::string stem = std::filesystem::path(file.file()).stem().string();
    a.name = root.get_string("name", "(file name without .yaml)", "a non-empty string",
                             "architecture name used in reports");
    if (!root.has("name")) a.name = stem;
    if (a.name.empty()) root.error("name", "must not be empty");
    a.clock_mhz = root.get_double("clock_mhz", 1000, kMinClockMhz, kMaxClockMhz,
                                  "clock of the PE array and buffers in MHz; DRAM figures given in "
                                  "ns and GB/s are converted to cycles of this clock");

    Params pe =
        root.child("pe_array", "the PE array", "the MAC array: family, shape, dataflow", true);
    Params bufs = root.child(
        "buffers", "the buffers",
        "on-chip SRAM: either ifmap, filter and ofmap (separate buffers) or global (shared)", true);
    Params dram = root.child("dram", "the DRAM", "off-chip memory: bandwidth, latency, burst");
    Params vec = root.child("vector_unit", "the vector unit",
                            "element-wise unit (normalisation, activations, weight update)");
    Params quant = root.child("quant_unit", "the quantization unit",
                              "converts fp32 results to the array's operand formats");
    Params map = root.child("mapping", "the mapping",
                            "tile-size overrides for every GEMM and the conv dgrad lowering");

    parse_pe(pe, root.has("pe_array"), a.pe);
    parse_buffers(root, bufs, a.buffers);
    parse_dram(dram, a.clock_mhz, a.dram);
    open(vec, "vector_unit");
    a.vector_lanes =
        vec.get_int("lanes", 32, 1, 65536, "elements the vector unit processes per cycle");
    done(vec);
    open(quant, "quant_unit");
    a.quant_elements_per_cycle =
        quant.get_int("elements_per_cycle", 32, 1, 65536,
                      "elements the quantization unit converts per cycle (scale search included)");
    done(quant);
    open(map, "mapping");
    const std::string tile = " tile size of every GEMM; 0 = chosen by the tiling rule";
    a.mapping.tile_m = map.get_int("tile_m", 0, 0, kMaxTile, "M" + tile);
    a.mapping.tile_n = map.get_int("tile_n", 0, 0, kMaxTile, "N" + tile);
    a.mapping.tile_k = map.get_int("tile_k", 0, 0, kMaxTile, "K" + tile);
    a.mapping.dgrad_lowering =
        map.get_choice("dgrad_lowering", "im2col", {"im2col", "transposed"},
                       "how a conv layer's input-gradient GEMM is built: im2col = M (n,ho,wo) x "
                       "K Cout x N (Cin,R,S) then col2im (fp32 adds); transposed = the backward "
                       "convolution as one GEMM M (n,h,w) x K (Cout,R,S) x N Cin (strided layers "
                       "count their zero taps); MLS (n,c) groups give K segments of 1 vs R*S") ==
                "transposed"
            ? DgradLowering::kTransposed
            : DgradLowering::kIm2col;
    done(map);
    done(root);
    if (!m_describe) root.diagnostics()->throw_if_any();
    return a;
  }

  // Groups of key docs in the order their maps were opened (describe mode).
  struct Group {
    std::string title;
    std::vector<ArchKeyDoc> keys;
  };
  const std::vector<Group>& groups() const { return m_groups; }

 private:
  void parse_pe(Params& pe, bool present, PeArrayConfig& out) {
    open(pe, "pe_array");
    std::vector<std::string> types = pe_array_type_names();
    out.type = pe.get_choice("type", "(required)", types,
                             "PE array type: the arithmetic family (see 'PE array types')");
    PeArrayTypePtr type = find_pe_array_type(out.type);
    if (!m_describe && present && !pe.has("type"))
      pe.error("type", fmt::format("missing; the PE array type, one of: {}", join(types)));
    out.rows = pe.get_int("rows", 32, 1, 4096, "PE rows");
    out.cols = pe.get_int("cols", 32, 1, 4096, "PE columns");
    out.dataflow = parse_dataflow(pe.get_choice("dataflow", "os", {"ws", "os", "is"},
                                                "ws = weight, os = output, is = input stationary"));
    out.cycle_fidelity =
        pe.get_choice("fidelity", "timing", {"timing", "cycle"},
                      "timing = closed-form tile cycles; cycle = clocked with real operands") ==
        "cycle";
    out.scalesim_compat = pe.get_bool(
        "scalesim_compat", false, "report compute cycles as SCALE-Sim v2 does (one less per GEMM)");

    Params fmts = pe.child("formats", "the operand formats",
                           "default number format per operand role (workloads may override "
                           "per layer)");
    open(fmts, "pe_array.formats");
    FormatPtr* slot[] = {&out.weight, &out.activation, &out.error};
    for (Role r : {Role::kWeight, Role::kActivation, Role::kError}) {
      const std::string role = role_name(r);
      YAML::Node n = fmts.node(
          role, type ? type->default_format(r) : "per type",
          "format spec: a string (mls_m1e2:rounding_error=nearest) or a map ({type: mls, m: 2})",
          fmt::format("number format of {} operands", role));
      FormatPtr& f = *slot[static_cast<int>(r)];
      if (m_describe) continue;
      if (!fmts.has(role)) {
        if (type) f = make_format(type->default_format(r), SourceLoc{kBuiltinSource});
        continue;
      }
      try {
        if (n.IsScalar())
          f = make_format(n.Scalar(), fmts.loc_of(role));
        else
          f = make_format(n, fmts.file(), fmts.path(role));
      } catch (const UserError& e) {
        std::string text = e.what();
        fmts.add_formatted(role, n.IsScalar() ? with_key_path(text, fmts.path(role)) : text);
      }
    }
    if (type)
      for (const FormatProblem& p : type->validate(out.weight, out.activation, out.error))
        fmts.error(role_name(p.role), p.message);
    done(fmts);

    Params acc = pe.child("accumulator", "the accumulator",
                          "fixed-point accumulator of the int, dfp, luq and mls types");
    open(acc, "pe_array.accumulator");
    AccumulatorSpec def = type ? type->default_accumulator() : AccumulatorSpec{};
    out.accumulator.acc_bits = static_cast<int>(
        acc.get_int("bits", def.acc_bits, 2, 64, "accumulator width in bits (two's complement)"));
    out.accumulator.policy =
        acc.get_choice("overflow", "saturate", {"saturate", "wrap"},
                       "what a partial sum outside the accumulator range does (it is counted "
                       "either way)") == "wrap"
            ? OverflowPolicy::kWrap
            : OverflowPolicy::kSaturate;
    if (type && !type->fixed_point() && pe.has("accumulator"))
      pe.error("accumulator",
               fmt::format("the {} PE array accumulates in fp32; accumulator settings apply to "
                           "the fixed-point types only (dfp, int, luq, mls)",
                           type->name()));
    done(acc);
    out.mls_unit_mantissa_bits = static_cast<int>(pe.get_int(
        "mls_unit_mantissa_bits", 0, 0, 23,
        "mls type: 0 = each MAC sized to its operands' mantissa bits; N = one MLS unit built for "
        "mantissas up to N bits runs every MLS format (energy of an (N+1)-bit significand "
        "multiplier, shifter and operand registers whatever the format's m)"));
    if (!m_describe && pe.has("mls_unit_mantissa_bits")) {
      if (type && type->name() != "mls") {
        pe.error("mls_unit_mantissa_bits",
                 fmt::format("applies to the mls PE array type only, not {}", type->name()));
      } else if (out.mls_unit_mantissa_bits > 0) {
        const FormatInfo* widest = nullptr;  // the MLS operand format with the most mantissa bits
        for (const FormatPtr& f : {out.weight, out.activation, out.error})
          if (f && f->info().kind == ElementKind::kMls &&
              (!widest || f->info().man_bits > widest->man_bits))
            widest = &f->info();
        if (widest && widest->man_bits > out.mls_unit_mantissa_bits)
          pe.error("mls_unit_mantissa_bits",
                   fmt::format("{} is narrower than the {} format's {} mantissa bits; allowed: 0 "
                               "or >= {}",
                               out.mls_unit_mantissa_bits, widest->name, widest->man_bits,
                               widest->man_bits));
      }
    }
    done(pe);
  }

  void parse_buffers(Params& root, Params& bufs, BuffersConfig& out) {
    open(bufs, "buffers");
    const bool separate = bufs.has("ifmap") || bufs.has("filter") || bufs.has("ofmap");
    const bool global = bufs.has("global");
    const std::string meaning = " buffer (separate buffers: give all three, and no global)";
    const bool required = separate && !global;
    Params sep[] = {
        bufs.child("ifmap", "buffer 'ifmap'", "input feature map" + meaning, required),
        bufs.child("filter", "buffer 'filter'", "weight (filter)" + meaning, required),
        bufs.child("ofmap", "buffer 'ofmap'", "output feature map" + meaning, required)};
    Params glob = bufs.child("global", "buffer 'global'",
                             "one buffer shared by all operands (instead of ifmap/filter/ofmap)");
    BufferConfig* sep_out[] = {&out.ifmap, &out.filter, &out.ofmap};
    const char* sep_names[] = {"ifmap", "filter", "ofmap"};
    if (m_describe) {
      // The four buffers take the same keys: document them once.
      Params any = Params::from_yaml("a buffer", YAML::Node(), "", "buffers.<name>");
      open(any, "buffers.<name>: ifmap, filter, ofmap or global");
      parse_buffer(any, out.global);
      done(any);
    } else {
      if (global && separate)
        bufs.error("global",
                   "give either ifmap, filter and ofmap (separate buffers) or global (one shared "
                   "buffer), not both");
      else if (!global && !separate && root.has("buffers"))
        bufs.diagnostics()->error(bufs.where(), "buffers",
                                  "no buffer given; give ifmap, filter and ofmap (separate "
                                  "buffers) or global (one shared buffer)");
      for (int i = 0; i < 3; ++i) {
        sep_out[i]->name = sep_names[i];
        if (bufs.has(sep_names[i])) parse_buffer(sep[i], *sep_out[i]);
        sep[i].close();
      }
      out.global.name = "global";
      if (global) parse_buffer(glob, out.global);
      glob.close();
    }
    out.unified = global && !separate;
    done(bufs);
  }

  void parse_buffer(Params& b, BufferConfig& out) {
    const bool kib_given = b.has("size_kib"), bytes_given = b.has("size_bytes");
    int64_t kib = b.get_int("size_kib", 0, 1, kMaxKib,
                            "capacity in KiB (1024 bytes); give exactly one of size_kib, "
                            "size_bytes");
    int64_t bytes = b.get_int("size_bytes", 0, 1, kMaxBytes,
                              "capacity in bytes; give exactly one of size_kib, size_bytes");
    out.banks = b.get_int("banks", 1, 1, 1024, "independently addressed banks");
    const std::string word_text = b.get_string("word_bits", "64", join(kWordBits, " | "),
                                               "width of one bank's read/write port in bits");
    out.word_bits = 64;
    if (std::find(kWordBits.begin(), kWordBits.end(), word_text) != kWordBits.end())
      out.word_bits = std::stoll(word_text);
    else
      b.error("word_bits",
              fmt::format("'{}' is not allowed; allowed: {}", word_text, join(kWordBits)));
    out.read_ports = b.get_int("read_ports", 1, 1, 16, "read ports per bank");
    out.write_ports = b.get_int("write_ports", 1, 1, 16, "write ports per bank");
    out.double_buffered = b.get_bool(
        "double_buffered", true,
        "two halves: the next tile loads while the current one computes (each half holds a tile)");
    note_default(b, "size_kib", "-");
    note_default(b, "size_bytes", "-");
    if (m_describe) return;
    if (kib_given && bytes_given) {
      b.error("size_bytes", "give exactly one of size_kib and size_bytes, not both");
      return;
    }
    if (!kib_given && !bytes_given) {
      b.error("size_kib", "missing; give the capacity as size_kib or size_bytes");
      return;
    }
    out.capacity_bytes = kib_given ? kib * 1024 : bytes;
    const int64_t row = out.banks * out.word_bits / 8;
    if (out.capacity_bytes > 0 && out.capacity_bytes % row != 0)
      b.error(kib_given ? "size_kib" : "size_bytes",
              fmt::format("{} bytes is not a whole number of rows of {} banks x {}-bit words "
                          "({} bytes per row)",
                          out.capacity_bytes, out.banks, out.word_bits, row));
  }

  void parse_dram(Params& d, double clock_mhz, DramConfig& out) {
    open(d, "dram");
    out.type = d.get_choice("type", "ddr4", {"ddr4", "lpddr4", "hbm2"},
                            "DRAM technology (selects the energy per bit)");
    const bool gbps_given = d.has("bandwidth_gbps"), bpc_given = d.has("bandwidth_bytes_per_cycle");
    double gbps = d.get_double("bandwidth_gbps", 25.6, kMinGbps, kMaxGbps,
                               "peak bandwidth in GB/s (10^9 bytes/s); bytes per cycle = "
                               "bandwidth_gbps * 1000 / clock_mhz");
    double bpc = d.get_double("bandwidth_bytes_per_cycle", 0, kMinBytesPerCycle, kMaxBytesPerCycle,
                              "peak bandwidth in bytes per clock_mhz cycle (instead of "
                              "bandwidth_gbps; default: from 25.6 GB/s)");
    note_default(d, "bandwidth_bytes_per_cycle", "-");
    if (gbps_given && bpc_given)
      d.error("bandwidth_bytes_per_cycle",
              "give exactly one of bandwidth_gbps and bandwidth_bytes_per_cycle, not both");
    out.bytes_per_cycle = bpc_given ? bpc : gbps * 1000.0 / clock_mhz;

    const bool ns_given = d.has("latency_ns"), cyc_given = d.has("latency_cycles");
    double ns = d.get_double("latency_ns", 100, 0, 1e6,
                             "access latency in ns; cycles = ceil(latency_ns * clock_mhz / 1000)");
    int64_t cycles = d.get_int("latency_cycles", 0, 0, 1000000000,
                               "access latency in clock_mhz cycles (instead of latency_ns; "
                               "default: from 100 ns)");
    note_default(d, "latency_cycles", "-");
    if (ns_given && cyc_given)
      d.error("latency_cycles", "give exactly one of latency_ns and latency_cycles, not both");
    // The small tolerance keeps 100 ns at 1000 MHz at 100 cycles despite binary rounding.
    out.latency_cycles =
        cyc_given ? cycles : static_cast<int64_t>(std::ceil(ns * clock_mhz / 1000.0 - 1e-9));

    out.burst_bytes =
        d.get_int("burst_bytes", 64, 1, 4096, "bytes per DRAM burst (a power of two)");
    if (out.burst_bytes & (out.burst_bytes - 1)) {
      d.error("burst_bytes", fmt::format("{} is not a power of two", out.burst_bytes));
      out.burst_bytes = 64;
    }
    done(d);
  }

  // Describe mode: starts the doc group of the map p (groups list in the order maps are opened).
  void open(const Params& p, const std::string& title) {
    if (!m_describe) return;
    m_open[p.path("")] = m_groups.size();
    m_groups.push_back({title, {}});
  }
  // Reports unread keys; in describe mode records p's declarations in the group open() made.
  void done(Params& p) {
    p.close();
    if (!m_describe) return;
    Group& g = m_groups[m_open.at(p.path(""))];
    for (const auto& d : p.docs()) {
      if (d.allowed == "a map") continue;  // the map's own keys follow in its group
      std::string path = p.path(d.key);
      auto note = m_default_text.find(path);
      g.keys.push_back({path, note == m_default_text.end() ? d.default_text : note->second,
                        d.allowed, d.meaning});
    }
  }
  // The default shown in the docs when the declared one would mislead (keys with no default).
  void note_default(const Params& p, const std::string& key, const std::string& text) {
    m_default_text[p.path(key)] = text;
  }

  bool m_describe;
  std::vector<Group> m_groups;
  std::map<std::string, size_t> m_open;
  std::map<std::string, std::string> m_default_text;
};

}  // namespace

ArchConfig parse_arch(const ConfigFile& file) {
  return with_yaml_errors(file.file(), [&] { return ArchParser(false).parse(file); });
}

namespace {

// Command-line overrides: located at "<cmdline -p #i>".
std::vector<ArchOverride> cmdline_overrides(const std::vector<std::string>& overrides) {
  std::vector<ArchOverride> ov;
  for (const auto& o : overrides) ov.push_back({o, {}});
  return ov;
}

}  // namespace

ArchConfig load_arch(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_arch_text(read_input_file(path), path, cmdline_overrides(overrides));
}

ArchConfig load_arch_or_default(const std::string& path,
                                const std::vector<ArchOverride>& overrides) {
  return path.empty() ? parse_arch_text(kEmbeddedDefaultArchYaml, kBuiltinSource, overrides)
                      : parse_arch_text(read_input_file(path), path, overrides);
}

ArchConfig parse_arch_text(const std::string& text, const std::string& name,
                           const std::vector<ArchOverride>& overrides) {
  ConfigFile f = ConfigFile::parse(text, name);
  with_yaml_errors(name, [&] {
    for (size_t i = 0; i < overrides.size(); ++i) {
      if (overrides[i].loc.file.empty())
        f.set_override(overrides[i].assignment, static_cast<int>(i + 1));
      else
        f.set_override(overrides[i].assignment, overrides[i].loc);
    }
  });
  return parse_arch(f);
}

ArchConfig load_arch_or_default(const std::string& path,
                                const std::vector<std::string>& overrides) {
  return load_arch_or_default(path, cmdline_overrides(overrides));
}

const char* default_arch_yaml() { return kEmbeddedDefaultArchYaml; }

ArchConfig default_arch() {
  return parse_arch(ConfigFile::parse(kEmbeddedDefaultArchYaml, kBuiltinSource));
}

namespace {

std::string size_text(int64_t bytes) {
  if (bytes % (1024 * 1024) == 0) return fmt::format("{} MiB", bytes / (1024 * 1024));
  if (bytes % 1024 == 0) return fmt::format("{} KiB", bytes / 1024);
  return fmt::format("{} B", bytes);
}

std::string buffer_text(const BufferConfig& b) {
  return fmt::format("  {:<7}{}, {} bank{} x {}-bit words, {}R/{}W ports per bank{}\n", b.name,
                     size_text(b.capacity_bytes), b.banks, b.banks == 1 ? "" : "s", b.word_bits,
                     b.read_ports, b.write_ports, b.double_buffered ? ", double-buffered" : "");
}

}  // namespace

std::string arch_summary(const ArchConfig& a) {
  std::string out = fmt::format("{} ({}, schema v{}), clock {} MHz\n", a.name, a.source,
                                a.schema_version, a.clock_mhz);
  const PeArrayConfig& pe = a.pe;
  out += fmt::format("pe_array: {} {}x{}, dataflow {}, fidelity {}{}{}\n", pe.type, pe.rows,
                     pe.cols, dataflow_name(pe.dataflow), pe.cycle_fidelity ? "cycle" : "timing",
                     pe.scalesim_compat ? ", scalesim_compat" : "",
                     pe.mls_unit_mantissa_bits > 0
                         ? fmt::format(", MLS unit built for m <= {}", pe.mls_unit_mantissa_bits)
                         : std::string());
  auto name = [](const FormatPtr& f) { return f ? f->info().name : std::string("?"); };
  out += fmt::format("  formats: weight {}, activation {}, error {}\n", name(pe.weight),
                     name(pe.activation), name(pe.error));
  PeArrayTypePtr type = find_pe_array_type(pe.type);
  if (type && type->fixed_point())
    out += fmt::format("  accumulate: {}-bit {} ({})\n", pe.accumulator.acc_bits,
                       pe.accumulator.policy == OverflowPolicy::kWrap ? "wrapping" : "saturating",
                       type->accumulator_text());
  else if (type)
    out += fmt::format("  accumulate: {}\n", type->accumulator_text());
  out += a.buffers.unified ? "buffers: one global buffer\n" : "buffers: separate\n";
  if (a.buffers.unified)
    out += buffer_text(a.buffers.global);
  else
    out +=
        buffer_text(a.buffers.ifmap) + buffer_text(a.buffers.filter) + buffer_text(a.buffers.ofmap);
  out +=
      fmt::format("dram: {}, {:.6g} bytes/cycle ({:.6g} GB/s), latency {} cycles, burst {} B\n",
                  a.dram.type, a.dram.bytes_per_cycle, a.dram.bytes_per_cycle * a.clock_mhz / 1000,
                  a.dram.latency_cycles, a.dram.burst_bytes);
  std::string tiles = "tiles chosen by the tiling rule";
  const MappingOverride& m = a.mapping;
  if (m.tile_m || m.tile_n || m.tile_k)
    tiles = fmt::format("tiles M {} N {} K {} (0 = tiling rule)", m.tile_m, m.tile_n, m.tile_k);
  out += fmt::format(
      "vector_unit: {} lanes; quant_unit: {} elements/cycle; mapping: {}, dgrad lowering {}\n",
      a.vector_lanes, a.quant_elements_per_cycle, tiles, dgrad_lowering_name(m.dgrad_lowering));
  return out;
}

std::vector<ArchKeyDoc> arch_key_docs() {
  ArchParser p(true);
  p.parse(ConfigFile::parse("", "<describe>"));
  std::vector<ArchKeyDoc> out;
  for (const auto& g : p.groups()) out.insert(out.end(), g.keys.begin(), g.keys.end());
  return out;
}

std::string describe_arch_keys() {
  ArchParser p(true);
  p.parse(ConfigFile::parse("", "<describe>"));
  std::string out;
  for (const auto& g : p.groups()) {
    if (g.keys.empty()) continue;
    out += fmt::format("  {}\n", g.title);
    for (const auto& k : g.keys)
      out += fmt::format("    {:<38} default {:<10} {}\n{:>43}allowed: {}\n", k.path,
                         k.default_text, k.meaning, "", k.allowed);
  }
  return out;
}

namespace {
[[maybe_unused]] const bool kArchKeysInCatalog = register_catalog_section(
    {21, "Architecture YAML keys, schema v1 (lbsim check-config FILE; arch_configs/README.md)",
     describe_arch_keys});
}  // namespace

}  // namespace lbsim
