// Architecture YAML -> ArchConfig (models/arch/arch_loader.h) and the PE-array types.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "models/arch/arch_loader.h"
#include "models/arch/pe_array_types.h"
#include "models/core/error.h"

using namespace lbsim;

namespace {

const std::string kArchDir = std::string(LBSIM_TEST_DATA) + "/../../arch_configs";

// Smallest valid file: everything else takes its default.
const std::string kMinimal =
    "schema_version: 1\n"
    "pe_array: {type: mls}\n"
    "buffers: {global: {size_kib: 512}}\n";

ArchConfig parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
  ConfigFile f = ConfigFile::parse(text, "t.yaml");
  for (size_t i = 0; i < overrides.size(); ++i) f.set_override(overrides[i], int(i) + 1);
  return parse_arch(f);
}

// The UserError text of parsing `text`, or "" when it is valid.
std::string errors(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    parse(text, overrides);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

size_t lines(const std::string& s) {
  if (s.empty()) return 0;
  size_t n = 1;
  for (char c : s) n += c == '\n';
  return n;
}

std::string fmt_name(const FormatPtr& f) { return f ? f->info().name : "(null)"; }

void check_same_buffer(const BufferConfig& a, const BufferConfig& b) {
  CHECK(a.name == b.name);
  CHECK(a.capacity_bytes == b.capacity_bytes);
  CHECK(a.banks == b.banks);
  CHECK(a.word_bits == b.word_bits);
  CHECK(a.read_ports == b.read_ports);
  CHECK(a.write_ports == b.write_ports);
  CHECK(a.double_buffered == b.double_buffered);
}

// Field-by-field equality except `source`; formats compare by name and effective options.
void check_same(const ArchConfig& a, const ArchConfig& b) {
  CHECK(a.schema_version == b.schema_version);
  CHECK(a.name == b.name);
  CHECK(a.clock_mhz == b.clock_mhz);
  CHECK(a.pe.type == b.pe.type);
  CHECK(a.pe.rows == b.pe.rows);
  CHECK(a.pe.cols == b.pe.cols);
  CHECK(a.pe.dataflow == b.pe.dataflow);
  CHECK(a.pe.cycle_fidelity == b.pe.cycle_fidelity);
  CHECK(a.pe.scalesim_compat == b.pe.scalesim_compat);
  for (auto [fa, fb] : {std::pair{a.pe.weight, b.pe.weight},
                        {a.pe.activation, b.pe.activation},
                        {a.pe.error, b.pe.error}}) {
    REQUIRE(fa);
    REQUIRE(fb);
    CHECK(fa->info().name == fb->info().name);
    CHECK(fa->describe() == fb->describe());
  }
  CHECK(a.pe.accumulator.acc_bits == b.pe.accumulator.acc_bits);
  CHECK(a.pe.accumulator.policy == b.pe.accumulator.policy);
  CHECK(a.buffers.unified == b.buffers.unified);
  check_same_buffer(a.buffers.ifmap, b.buffers.ifmap);
  check_same_buffer(a.buffers.filter, b.buffers.filter);
  check_same_buffer(a.buffers.ofmap, b.buffers.ofmap);
  check_same_buffer(a.buffers.global, b.buffers.global);
  CHECK(a.dram.type == b.dram.type);
  CHECK(a.dram.bytes_per_cycle == b.dram.bytes_per_cycle);
  CHECK(a.dram.latency_cycles == b.dram.latency_cycles);
  CHECK(a.dram.burst_bytes == b.dram.burst_bytes);
  CHECK(a.vector_lanes == b.vector_lanes);
  CHECK(a.quant_elements_per_cycle == b.quant_elements_per_cycle);
  CHECK(a.mapping.tile_m == b.mapping.tile_m);
  CHECK(a.mapping.tile_n == b.mapping.tile_n);
  CHECK(a.mapping.tile_k == b.mapping.tile_k);
  CHECK(a.mapping.dgrad_lowering == b.mapping.dgrad_lowering);
  CHECK(a.pe.mls_unit_mantissa_bits == b.pe.mls_unit_mantissa_bits);
}

}  // namespace

TEST_CASE("PE-array types: the eight families with their defaults", "[arch]") {
  CHECK(pe_array_type_names() == std::vector<std::string>{"bf16", "dfp", "fp16", "fp32", "fp8",
                                                          "int", "luq", "mls", "mx", "nvfp4"});
  struct Row {
    const char* type;
    const char *w, *a, *e;
    bool fixed;
  };
  // docs/formats.md §7: per family, the format of each role and whether the accumulator is fixed
  // point.
  for (const Row& r :
       {Row{"fp32", "fp32", "fp32", "fp32", false}, Row{"fp16", "fp16", "fp16", "fp16", false},
        Row{"bf16", "bf16", "bf16", "bf16", false},
        Row{"fp8", "fp8_e4m3", "fp8_e4m3", "fp8_e5m2", false},
        Row{"int", "int8", "int8", "int8", true}, Row{"dfp", "dfp8", "dfp8", "dfp8", true},
        Row{"luq", "int4_sawb", "int4_sawb", "luq_fp4", true},
        Row{"mls", "mls_m1e2", "mls_m1e2", "mls_m1e2", true}}) {
    INFO(r.type);
    PeArrayTypePtr t = find_pe_array_type(r.type);
    REQUIRE(t);
    CHECK(t->name() == r.type);
    CHECK(t->default_format(Role::kWeight) == r.w);
    CHECK(t->default_format(Role::kActivation) == r.a);
    CHECK(t->default_format(Role::kError) == r.e);
    CHECK(t->fixed_point() == r.fixed);
    if (r.fixed) CHECK(t->default_accumulator().acc_bits == 32);
    // Its own defaults are formats it can execute.
    SourceLoc here{"test"};
    CHECK(t->validate(make_format(r.w, here), make_format(r.a, here), make_format(r.e, here))
              .empty());
  }
  CHECK_FALSE(find_pe_array_type("mlz"));
}

TEST_CASE("PE-array types: validate() names each role the family cannot execute", "[arch]") {
  SourceLoc here{"test"};
  FormatPtr int4 = make_format("int4_sawb", here), luq = make_format("luq_fp4", here);
  FormatPtr e4m3 = make_format("fp8_e4m3", here), int8 = make_format("int8", here);
  FormatPtr mls = make_format("mls_m4e2", here);

  // LUQ: int weights/activations, log errors; a log activation and an int error are both wrong.
  PeArrayTypePtr t = find_pe_array_type("luq");
  CHECK(t->validate(int4, int4, luq).empty());
  CHECK(t->validate(int8, int8, luq).empty());  // kind int, any width
  std::vector<FormatProblem> p = t->validate(int4, luq, int4);
  REQUIRE(p.size() == 2);
  CHECK(p[0].role == Role::kActivation);
  CHECK(p[0].message ==
        "'luq_fp4' is of kind log; the luq PE array executes activation operands of kind int "
        "only (e.g. int4_sawb)");
  CHECK(p[1].role == Role::kError);
  CHECK(p[1].message ==
        "'int4_sawb' is of kind int; the luq PE array executes error operands of kind log only "
        "(e.g. luq_fp4)");

  // Float families take kFloat only; MLS takes kMls only; null formats are skipped.
  CHECK(find_pe_array_type("fp8")->validate(e4m3, nullptr, int8).size() == 1);
  CHECK(find_pe_array_type("fp32")->validate(e4m3, e4m3, e4m3).empty());
  CHECK(find_pe_array_type("mls")->validate(mls, mls, mls).empty());
  CHECK(find_pe_array_type("mls")->validate(e4m3, int8, luq).size() == 3);
  CHECK(find_pe_array_type("int")->validate(int8, int4, mls).size() == 1);
}

TEST_CASE("every shipped architecture file loads", "[arch]") {
  struct Expect {
    const char* file;
    const char* type;
    int64_t rows;
    const char *w, *e;
  };
  const std::vector<Expect> expect = {
      {"default.yaml", "mls", 32, "mls_m1e2", "mls_m1e2"},
      {"fp32_32x32.yaml", "fp32", 32, "fp32", "fp32"},
      {"fp8_32x32.yaml", "fp8", 32, "fp8_e4m3", "fp8_e5m2"},
      {"mls_m1e2_32x32.yaml", "mls", 32, "mls_m1e2", "mls_m1e2"},
      {"mls_m4e2_32x32.yaml", "mls", 32, "mls_m4e2", "mls_m4e2"},
      {"luq_32x32.yaml", "luq", 32, "int4_sawb", "luq_fp4"},
      {"int8_32x32.yaml", "dfp", 32, "dfp8", "dfp8"},
      {"mxfp8_32x32.yaml", "mx", 32, "mxfp8_e4m3", "mxfp8_e5m2"},
      {"nvfp4_32x32.yaml", "nvfp4", 32, "nvfp4", "nvfp4"},
      {"tiny_4x4.yaml", "fp32", 4, "fp32", "fp32"},
  };
  std::set<std::string> on_disk, listed;
  for (const auto& e : std::filesystem::directory_iterator(kArchDir))
    if (e.path().extension() == ".yaml") on_disk.insert(e.path().filename().string());
  for (const auto& x : expect) listed.insert(x.file);
  CHECK(on_disk == listed);  // a new shipped file needs a row here

  for (const auto& x : expect) {
    INFO(x.file);
    ArchConfig a = load_arch(kArchDir + "/" + x.file);
    CHECK(a.pe.type == x.type);
    CHECK(a.pe.rows == x.rows);
    CHECK(a.pe.cols == x.rows);
    CHECK(fmt_name(a.pe.weight) == x.w);
    CHECK(fmt_name(a.pe.error) == x.e);
    CHECK(a.source == kArchDir + "/" + x.file);
    CHECK_FALSE(a.buffers.unified);
    if (std::string(x.file) != "tiny_4x4.yaml") {
      // The documented baseline: 1 GHz, 256/256/128 KiB, 25.6 GB/s = 25.6 B/cycle, 100 ns = 100
      // cycles, 64-byte bursts, 32 lanes, 32 quant elements per cycle.
      CHECK(a.clock_mhz == 1000);
      CHECK(a.buffers.ifmap.capacity_bytes == 256 * 1024);
      CHECK(a.buffers.filter.capacity_bytes == 256 * 1024);
      CHECK(a.buffers.ofmap.capacity_bytes == 128 * 1024);
      CHECK(a.buffers.ofmap.double_buffered);
      CHECK(a.dram.bytes_per_cycle == Approx(25.6));
      CHECK(a.dram.latency_cycles == 100);
      CHECK(a.dram.burst_bytes == 64);
      CHECK(a.vector_lanes == 32);
      CHECK(a.quant_elements_per_cycle == 32);
    }
  }
  // tiny_4x4 uses the alternative keys: 1024-byte buffers, 8 B/cycle, 10 cycles, 16-byte bursts.
  ArchConfig tiny = load_arch(kArchDir + "/tiny_4x4.yaml");
  CHECK(tiny.buffers.filter.capacity_bytes == 1024);
  CHECK(tiny.dram.bytes_per_cycle == 8);
  CHECK(tiny.dram.latency_cycles == 10);
  CHECK(tiny.dram.burst_bytes == 16);
}

TEST_CASE("default_arch() is the embedded arch_configs/default.yaml (MLS <1,2> 32x32)", "[arch]") {
  ArchConfig builtin = default_arch();
  CHECK(builtin.source == "<built-in default>");
  ArchConfig file = load_arch(kArchDir + "/default.yaml");
  check_same(builtin, file);
  check_same(builtin, load_arch(kArchDir + "/mls_m1e2_32x32.yaml"));
  // The embedded text is the file's text, byte for byte.
  std::ifstream in(kArchDir + "/default.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK(std::string(default_arch_yaml()) == ss.str());
  CHECK(builtin.pe.type == "mls");
  CHECK(builtin.pe.dataflow == Dataflow::kOs);
  CHECK(builtin.pe.accumulator.acc_bits == 32);
  CHECK(builtin.pe.accumulator.policy == OverflowPolicy::kSaturate);
}

// Like with like: every shipped 32x32 architecture is the documented baseline (arch_configs/
// README.md) except for what its name says: the PE-array family, its operand formats and
// accumulator, and operand-buffer words just wide enough to feed a row of the widest operand per
// cycle (8 banks x 64 bits for formats of at most 16 bits, x 128 bits for fp32).
TEST_CASE("shipped 32x32 architectures differ only in what their names say", "[arch]") {
  const ArchConfig base = load_arch(kArchDir + "/mls_m1e2_32x32.yaml");
  CHECK(base.pe.dataflow == Dataflow::kOs);
  CHECK(base.mapping.dgrad_lowering == DgradLowering::kTransposed);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kArchDir)) {
    const std::string file = entry.path().filename().string();
    if (file.size() < 11 || file.substr(file.size() - 11) != "_32x32.yaml") continue;
    ++files;
    INFO(file);
    const ArchConfig a = load_arch(entry.path().string());
    CHECK(a.name + ".yaml" == file);
    int widest = 0;
    for (const FormatPtr& f : {a.pe.weight, a.pe.activation, a.pe.error})
      widest = std::max(widest, f->info().code_bits);
    const int64_t word_bits = widest <= 16 ? 64 : 128;
    CHECK(a.buffers.ifmap.banks * word_bits >= a.pe.rows * widest);
    // Everything else equals the baseline.
    ArchConfig expect = base;
    expect.name = a.name;
    expect.pe.type = a.pe.type;
    expect.pe.weight = a.pe.weight;
    expect.pe.activation = a.pe.activation;
    expect.pe.error = a.pe.error;
    expect.pe.accumulator = a.pe.accumulator;
    expect.buffers.ifmap.word_bits = word_bits;
    expect.buffers.filter.word_bits = word_bits;
    check_same(a, expect);
  }
  CHECK(files == 8);  // fp32 fp8 int8 luq mls_m1e2 mls_m4e2 mxfp8 nvfp4
}

TEST_CASE("-p overrides apply before validation and are located on the command line", "[arch]") {
  ArchConfig a =
      load_arch(kArchDir + "/default.yaml", {"pe_array.rows=16", "pe_array.dataflow=os"});
  CHECK(a.pe.rows == 16);
  CHECK(a.pe.cols == 32);
  CHECK(a.pe.dataflow == Dataflow::kOs);

  // Switching the family switches the default formats of roles the file leaves out.
  ArchConfig b = parse(kMinimal, {"pe_array.type=fp8"});
  CHECK(fmt_name(b.pe.weight) == "fp8_e4m3");
  CHECK(fmt_name(b.pe.error) == "fp8_e5m2");

  CHECK(errors(kMinimal, {"pe_array.cols=8", "pe_array.rows=0"}) ==
        "<cmdline -p #2>: error: pe_array.rows: 0 is outside [1, 4096]");
  CHECK(errors(kMinimal, {"pe_array.formats.error=fp8_e5m2"}) ==
        "<cmdline -p #1>: error: pe_array.formats.error: 'fp8_e5m2' is of kind float; the mls PE "
        "array executes error operands of kind mls only (e.g. mls_m1e2)");
  std::string unknown = errors(kMinimal, {"pe_array.rowz=3"});
  CHECK(unknown.rfind("<cmdline -p #1>: error: pe_array.rowz: unknown key", 0) == 0);
  CHECK(unknown.find("(did you mean 'rows'?)") != std::string::npos);
}

TEST_CASE("DRAM bandwidth and latency convert to cycles of clock_mhz", "[arch]") {
  auto dram = [](const std::string& clock, const std::string& d) {
    return parse(kMinimal + "clock_mhz: " + clock + "\ndram: {" + d + "}\n").dram;
  };
  // bytes/cycle = GB/s * 1e9 / (MHz * 1e6) = gbps * 1000 / clock_mhz.
  CHECK(dram("1000", "bandwidth_gbps: 25.6").bytes_per_cycle == Approx(25.6));  // 25.6e9 / 1e9
  CHECK(dram("800", "bandwidth_gbps: 25.6").bytes_per_cycle == Approx(32));     // 25.6e9 / 8e8
  CHECK(dram("2000", "bandwidth_gbps: 256").bytes_per_cycle == Approx(128));    // HBM2-class
  // Given per cycle, the clock does not matter.
  CHECK(dram("800", "bandwidth_bytes_per_cycle: 12.5").bytes_per_cycle == 12.5);
  // cycles = ceil(ns * MHz / 1000): 100 ns at 1 GHz = 100; at 800 MHz = 80; 45 ns at 1.5 GHz =
  // 67.5 -> 68; 0 ns = 0.
  CHECK(dram("1000", "latency_ns: 100").latency_cycles == 100);
  CHECK(dram("800", "latency_ns: 100").latency_cycles == 80);
  CHECK(dram("1500", "latency_ns: 45").latency_cycles == 68);
  CHECK(dram("1000", "latency_ns: 0").latency_cycles == 0);
  CHECK(dram("800", "latency_cycles: 7").latency_cycles == 7);
  // Defaults are 25.6 GB/s and 100 ns, converted with the clock: at 2 GHz 12.8 B/cycle, 200
  // cycles.
  DramConfig d = dram("2000", "");
  CHECK(d.type == "ddr4");
  CHECK(d.bytes_per_cycle == Approx(12.8));
  CHECK(d.latency_cycles == 200);
  CHECK(d.burst_bytes == 64);
}

TEST_CASE("buffers: separate or global, sizes in KiB or bytes", "[arch]") {
  ArchConfig g = parse(kMinimal);
  CHECK(g.buffers.unified);
  CHECK(g.buffers.global.name == "global");
  CHECK(g.buffers.global.capacity_bytes == 512 * 1024);
  CHECK(g.buffers.global.banks == 1);
  CHECK(g.buffers.global.word_bits == 64);
  CHECK(g.buffers.global.double_buffered);

  ArchConfig s = parse(
      "schema_version: 1\npe_array: {type: int}\n"
      "buffers:\n"
      "  ifmap: {size_kib: 64, banks: 4, word_bits: 128, read_ports: 2}\n"
      "  filter: {size_bytes: 1536, banks: 3, word_bits: 8, double_buffered: false}\n"
      "  ofmap: {size_kib: 1}\n");
  CHECK_FALSE(s.buffers.unified);
  CHECK(s.buffers.ifmap.name == "ifmap");
  CHECK(s.buffers.ifmap.capacity_bytes == 65536);
  CHECK(s.buffers.ifmap.banks == 4);
  CHECK(s.buffers.ifmap.word_bits == 128);
  CHECK(s.buffers.ifmap.read_ports == 2);
  CHECK(s.buffers.ifmap.write_ports == 1);
  CHECK(s.buffers.filter.capacity_bytes == 1536);  // 3 banks x 1 byte x 512 rows
  CHECK_FALSE(s.buffers.filter.double_buffered);
  CHECK(s.buffers.ofmap.capacity_bytes == 1024);

  const std::string head = "schema_version: 1\npe_array: {type: int}\n";
  CHECK(errors(head + "buffers: {global: {size_kib: 4}, ifmap: {size_kib: 4}}\n") ==
        "t.yaml:3:19: error: buffers.global: give either ifmap, filter and ofmap (separate "
        "buffers) or global (one shared buffer), not both");
  CHECK(errors(head + "buffers: {ifmap: {size_kib: 4}, filter: {size_kib: 4}}\n") ==
        "t.yaml:3:10: error: buffers.ofmap: missing; output feature map buffer (separate "
        "buffers: give all three, and no global)");
  CHECK(errors(head + "buffers: {global: {banks: 2}}\n") ==
        "t.yaml:3:19: error: buffers.global.size_kib: missing; give the capacity as size_kib or "
        "size_bytes");
  // 1000 bytes is not a multiple of 2 banks x 8 bytes = 16.
  CHECK(errors(head + "buffers: {global: {size_bytes: 1000, banks: 2}}\n") ==
        "t.yaml:3:32: error: buffers.global.size_bytes: 1000 bytes is not a whole number of rows "
        "of 2 banks x 64-bit words (16 bytes per row)");
}

TEST_CASE("formats: specs and maps, errors at the key, accumulator per family", "[arch]") {
  ArchConfig a = parse(
      "schema_version: 1\n"
      "pe_array:\n"
      "  type: mls\n"
      "  formats: {weight: mls_m4e2, error: {type: mls, m: 2, e: 3}}\n"
      "  accumulator: {bits: 24, overflow: wrap}\n"
      "buffers: {global: {size_kib: 64}}\n");
  CHECK(fmt_name(a.pe.weight) == "mls_m4e2");
  CHECK(fmt_name(a.pe.activation) == "mls_m1e2");  // the mls type's default
  CHECK(a.pe.error->info().man_bits == 2);
  CHECK(a.pe.error->info().exp_bits == 3);
  CHECK(a.pe.accumulator.acc_bits == 24);
  CHECK(a.pe.accumulator.policy == OverflowPolicy::kWrap);

  const std::string head = "schema_version: 1\nbuffers: {global: {size_kib: 64}}\n";
  // A spec string error is located at the value and carries the key path.
  std::string bad = errors(head + "pe_array: {type: mls, formats: {weight: mls_m1e2:m=11}}\n");
  CHECK(bad == "t.yaml:3:41: error: pe_array.formats.weight: m: 11 is outside [0, 10]");
  // An mls array given an fp8 format: the role and the allowed kind are named.
  CHECK(errors(head + "pe_array: {type: mls, formats: {activation: fp8_e4m3}}\n") ==
        "t.yaml:3:45: error: pe_array.formats.activation: 'fp8_e4m3' is of kind float; the mls "
        "PE array executes activation operands of kind mls only (e.g. mls_m1e2)");
  // Float arrays accumulate in fp32 and take no accumulator settings.
  CHECK(errors(head + "pe_array: {type: fp8, accumulator: {bits: 16}}\n") ==
        "t.yaml:3:36: error: pe_array.accumulator: the fp8 PE array accumulates in fp32; "
        "accumulator settings apply to the fixed-point types only (dfp, int, luq, mls)");
}

TEST_CASE("mls_unit_mantissa_bits: the MLS unit's width, checked against the formats", "[arch]") {
  const std::string head = "schema_version: 1\nbuffers: {global: {size_kib: 64}}\n";
  CHECK(parse(head + "pe_array: {type: mls}\n").pe.mls_unit_mantissa_bits == 0);
  CHECK(parse(head + "pe_array: {type: mls, mls_unit_mantissa_bits: 4}\n")
            .pe.mls_unit_mantissa_bits == 4);
  // Narrower than the widest MLS format (weight <4,2>): located at the value (column 76), named,
  // with the allowed values.
  CHECK(errors(head +
               "pe_array: {type: mls, formats: {weight: mls_m4e2}, mls_unit_mantissa_bits: 2}\n") ==
        "t.yaml:3:76: error: pe_array.mls_unit_mantissa_bits: 2 is narrower than the mls_m4e2 "
        "format's 4 mantissa bits; allowed: 0 or >= 4");
  CHECK(errors(head + "pe_array: {type: int, mls_unit_mantissa_bits: 4}\n") ==
        "t.yaml:3:47: error: pe_array.mls_unit_mantissa_bits: applies to the mls PE array type "
        "only, not int");
}

TEST_CASE("every error of a file is reported in one pass, sorted by position", "[arch]") {
  std::string e = errors(
      "schema_version: 1\n"
      "clock_mhz: -5\n"
      "pe_array: {type: mls, rows: 0, dataflow: xs}\n"
      "buffers: {global: {size_kib: 64, word_bits: 12}}\n"
      "dram: {type: hbm2, latency_ns: 10, latency_cycles: 10}\n"
      "vector_units: {lanes: 4}\n");
  CHECK(lines(e) == 6);
  CHECK(e ==
        "t.yaml:2:12: error: clock_mhz: -5 is outside [1, 10000]\n"
        "t.yaml:3:29: error: pe_array.rows: 0 is outside [1, 4096]\n"
        "t.yaml:3:42: error: pe_array.dataflow: 'xs' is not allowed; allowed: ws, os, is (did you "
        "mean 'ws'?)\n"
        "t.yaml:4:45: error: buffers.global.word_bits: '12' is not allowed; allowed: 8, 16, 32, "
        "64, 128, 256, 512\n"
        "t.yaml:5:52: error: dram.latency_cycles: give exactly one of latency_ns and "
        "latency_cycles, not both\n"
        "t.yaml:6:15: error: vector_units: unknown key for the architecture; allowed: "
        "schema_version, name, clock_mhz, pe_array, buffers, dram, vector_unit, quant_unit, "
        "mapping (did you mean 'vector_unit'?)");
  CHECK(errors("schema_version: 1\n") ==
        "t.yaml:1:1: error: pe_array: missing; the MAC array: family, shape, dataflow\n"
        "t.yaml:1:1: error: buffers: missing; on-chip SRAM: either ifmap, filter and ofmap "
        "(separate buffers) or global (shared)");
}

TEST_CASE("name defaults to the file stem; summary names the essentials", "[arch]") {
  ConfigFile f = ConfigFile::parse(kMinimal, "dir/my_array.yaml");
  ArchConfig a = parse_arch(f);
  CHECK(a.name == "my_array");
  std::string s = arch_summary(a);
  CHECK(s.find("my_array (dir/my_array.yaml, schema v1), clock 1000 MHz\n") == 0);
  CHECK(s.find("pe_array: mls 32x32, dataflow os, fidelity timing\n") != std::string::npos);
  CHECK(s.find("formats: weight mls_m1e2, activation mls_m1e2, error mls_m1e2") !=
        std::string::npos);
  CHECK(s.find("global 512 KiB, 1 bank x 64-bit words") != std::string::npos);
  CHECK(s.find("dram: ddr4, 25.6 bytes/cycle (25.6 GB/s), latency 100 cycles, burst 64 B") !=
        std::string::npos);
}

TEST_CASE("arch_configs/README.md documents every key the parser declares", "[arch][docs]") {
  std::ifstream in(kArchDir + "/README.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string readme = ss.str();
  std::vector<ArchKeyDoc> docs = arch_key_docs();
  // 3 top-level + 7 pe_array + 3 formats + 2 accumulator + 7 buffer (listed once as
  // buffers.<name>.*) + 6 dram + 1 vector_unit + 1 quant_unit + 4 mapping = 34.
  CHECK(docs.size() == 34);
  for (const auto& d : docs) {
    INFO(d.path << " allowed " << d.allowed);
    const size_t at = readme.find("| `" + d.path + "`");
    CHECK(readme.find("`" + d.path + "`") != std::string::npos);
    CHECK_FALSE(d.meaning.empty());
    // A number's range as the parser declares it (e.g. "number in [0.1, 100000]") is the range
    // in its README row.
    const size_t bracket = d.allowed.find('[');
    if (d.allowed.rfind("number in ", 0) == 0 && bracket != std::string::npos &&
        at != std::string::npos) {
      const std::string row = readme.substr(at, readme.find('\n', at) - at);
      CHECK(row.find(d.allowed.substr(bracket)) != std::string::npos);
    }
  }
  for (const auto& t : pe_array_type_names())
    CHECK(readme.find("`" + t + "`") != std::string::npos);
}

TEST_CASE("every rate has a physical range; the error lists it", "[arch]") {
  auto err = [](const std::string& key, const std::string& value) {
    return errors(kMinimal, {key + "=" + value});
  };
  CHECK_THAT(err("clock_mhz", "1e-300"),
             Catch::Contains("clock_mhz: 1e-300 is outside [1, 10000]"));
  CHECK_THAT(err("clock_mhz", "20000"), Catch::Contains("clock_mhz: 20000 is outside [1, 10000]"));
  CHECK_THAT(err("dram.bandwidth_gbps", "1e-9"),
             Catch::Contains("dram.bandwidth_gbps: 1e-9 is outside [0.1, 100000]"));
  CHECK_THAT(err("dram.bandwidth_gbps", "1e-300"),
             Catch::Contains("dram.bandwidth_gbps: 1e-300 is outside [0.1, 100000]"));
  CHECK_THAT(err("dram.bandwidth_bytes_per_cycle", "0.001"),
             Catch::Contains("dram.bandwidth_bytes_per_cycle: 0.001 is outside [0.01, 1000000]"));
  CHECK_THAT(err("dram.bandwidth_gbps", "nan"), Catch::Contains("is outside [0.1, 100000]"));
  // The ends of the ranges are legal.
  CHECK(err("clock_mhz", "1").empty());
  CHECK(err("dram.bandwidth_gbps", "0.1").empty());
  CHECK(err("dram.bandwidth_bytes_per_cycle", "0.01").empty());
}
