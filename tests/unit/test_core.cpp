#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/core/error.h"
#include "models/core/input_file.h"
#include "models/core/json_text.h"
#include "models/core/output.h"
#include "models/core/params.h"
#include "models/core/stats.h"
#include "models/numerics/rng.h"
#include "tests/unit/stat_test.h"

using namespace lbsim;

TEST_CASE("Params validates ranges, choices and unknown keys in one pass", "[core]") {
  Params p("format 'x'",
           {{"bits", {"40", {"a.yaml", 3, 7}}},
            {"roundng", {"nearest", {"a.yaml", 4, 5}}},
            {"mode", {"fast", {"a.yaml", 5, 5}}}},
           {"a.yaml", 2, 3}, "pe_array.weight_format");
  CHECK(p.get_int("bits", 8, 2, 32, "bits") == 8);
  CHECK(p.get_choice("rounding", "nearest", {"nearest", "stochastic"}, "") == "nearest");
  CHECK(p.get_choice("mode", "exact", {"exact", "approx"}, "") == "exact");
  try {
    p.finish();
    FAIL("finish() must throw");
  } catch (const UserError& e) {
    std::string msg = e.what();
    CHECK(msg.find("a.yaml:3:7: error: pe_array.weight_format.bits: 40 is outside [2, 32]") !=
          std::string::npos);
    CHECK(msg.find("a.yaml:5:5: error: pe_array.weight_format.mode: 'fast' is not allowed; "
                   "allowed: exact, approx") != std::string::npos);
    CHECK(msg.find("a.yaml:4:5: error: pe_array.weight_format.roundng: unknown key") !=
          std::string::npos);
    CHECK(msg.find("did you mean 'rounding'?") != std::string::npos);
  }
}

TEST_CASE("Diagnostics shows the first 50 messages by position and counts the rest", "[core]") {
  Diagnostics d;
  for (int line = 60; line >= 1; --line) d.error({"f.yaml", line, 1}, "k", "bad");
  d.error({}, "", "unpositioned");
  const std::string text = d.text();
  CHECK_THAT(text, Catch::StartsWith("f.yaml:1:1: error: k: bad\nf.yaml:2:1: error: k: bad\n"));
  CHECK_THAT(text, Catch::EndsWith("f.yaml:50:1: error: k: bad\nerror: 11 more errors not shown"));
  CHECK(std::count(text.begin(), text.end(), '\n') == 50);
  Diagnostics two;
  two.error({"f.yaml", 2, 1}, "", "b");
  two.error({"f.yaml", 1, 1}, "", "a");
  CHECK(two.text() == "f.yaml:1:1: error: a\nf.yaml:2:1: error: b");
  Diagnostics one_more;
  for (int i = 0; i < 51; ++i) one_more.error({}, "", "x");
  CHECK_THAT(one_more.text(), Catch::EndsWith("\nerror: 1 more error not shown"));
}

TEST_CASE("FirstUse: one answer per repeat, always the first place", "[core]") {
  FirstUse names;
  CHECK(names.claim("a", {"f", 1, 2}) == nullptr);
  CHECK(names.claim("b", {"f", 2, 2}) == nullptr);
  for (int line = 3; line < 6; ++line) {
    const SourceLoc* first = names.claim("a", {"f", line, 2});
    REQUIRE(first != nullptr);
    CHECK(first->str() == "f:1:2");
  }
}

TEST_CASE("did_you_mean picks the closest candidate", "[core]") {
  CHECK(did_you_mean("mls_m1e", {"mls", "luq_fp4", "mls_m1e2"}) == "mls_m1e2");
  CHECK(did_you_mean("zzzzzz", {"fp32", "int8"}).empty());
  // Lengths far apart cannot be close; equal distances keep the first candidate.
  CHECK(did_you_mean("columns_", {"cols", "columns", "column"}) == "columns");
  CHECK(did_you_mean(std::string(5000, 'r'), {"rows", "cols"}).empty());
  CHECK(did_you_mean("rowz", {"rows", "cols", "row"}) == "rows");
}

TEST_CASE("CounterRng is a pure function of (seed, tensor, index, stream)", "[core][rng]") {
  CounterRng a(1, 2), b(1, 2), c(1, 3), d(2, 2);
  CHECK(a.bits(5) == b.bits(5));
  CHECK(a.bits(5) != c.bits(5));
  CHECK(a.bits(5) != d.bits(5));
  CHECK(a.bits(5, 0) != a.bits(5, 1));
  // SplitMix64 reference value (first output for state 0 is 0xE220A8397B1DCDAF).
  CHECK(splitmix64(0) == 0xE220A8397B1DCDAFULL);
  // Uniform on [0, 1): the count of draws below q is Binomial(n, q) exactly (exact two-sided
  // binomial test at level stat::kAlpha, tests/unit/stat_test.h), and the mean of n draws is
  // normal with sigma sqrt(1/12/n) by the central limit theorem (z test, same level).
  double sum = 0;
  const int n = 100000;
  int64_t below[3] = {0, 0, 0};
  for (int i = 0; i < n; ++i) {
    const double u = a.uniform(i);
    sum += u;
    for (int j = 0; j < 3; ++j) below[j] += u < 0.25 * (j + 1);
  }
  for (int j = 0; j < 3; ++j) {
    INFO(stat::binomial_text(below[j], n, 0.25 * (j + 1)));
    CHECK(stat::binomial_accepts(below[j], n, 0.25 * (j + 1)));
  }
  CHECK(std::abs(sum / n - 0.5) < stat::normal_halfwidth(std::sqrt(1.0 / 12 / n)));
}

TEST_CASE("ConfigFile: nested maps, lists, every error at once with file:line:col",
          "[core][config]") {
  // Columns are 1-based: "  rows: 0" puts the value at column 9.
  ConfigFile f = ConfigFile::parse(
      "clock_mhz: 500\n"
      "pe_array:\n"
      "  rows: 0\n"
      "  cols: 32\n"
      "  grup_size: 16\n"
      "buffers:\n"
      "  - name: ifmap\n"
      "    size_bytes: 65536\n"
      "  - name: filter\n"
      "    size_bytes: big\n",
      "arch.yaml");
  Params root = f.root("architecture");
  CHECK(root.get_int("clock_mhz", 1000, 1, 10000, "clock") == 500);
  Params pe = root.child("pe_array", "PE array", "the MAC array", true);
  CHECK(pe.get_int("rows", 32, 1, 4096, "PE rows") == 32);  // error -> default
  CHECK(pe.get_int("cols", 32, 1, 4096, "PE cols") == 32);
  pe.get_int("group_size", 16, 1, 1024, "group");
  pe.close();
  std::vector<Params> bufs = root.list("buffers", "buffer", "on-chip buffers");
  REQUIRE(bufs.size() == 2);
  for (Params& b : bufs) {
    b.get_string("name", "", "any", "name");
    b.get_int("size_bytes", 1024, 1, int64_t(1) << 40, "capacity");
    b.close();
  }
  root.child("dram", "DRAM", "off-chip memory", true).close();
  try {
    root.finish();
    FAIL("finish() must throw");
  } catch (const UserError& e) {
    std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("arch.yaml:3:9: error: pe_array.rows: 0 is outside [1, 4096]") !=
          std::string::npos);
    CHECK(msg.find("arch.yaml:5:14: error: pe_array.grup_size: unknown key for PE array; allowed: "
                   "rows, cols, group_size (did you mean 'group_size'?)") != std::string::npos);
    CHECK(msg.find("arch.yaml:10:17: error: buffers[1].size_bytes: 'big' is not an integer") !=
          std::string::npos);
    // A missing map is reported at the enclosing map (the document root, 1:1).
    CHECK(msg.find("arch.yaml:1:1: error: dram: missing; off-chip memory") == 0);
    // Sorted by position: line 3 before line 5 before line 10.
    CHECK(msg.find(":3:9:") < msg.find(":5:14:"));
    CHECK(msg.find(":5:14:") < msg.find(":10:17:"));
  }
}

TEST_CASE("ConfigFile: -p overrides are validated and located on the command line",
          "[core][config]") {
  ConfigFile f = ConfigFile::parse("pe_array:\n  rows: 32\n  dataflow: ws\n", "a.yaml");
  f.set_override("pe_array.rows=16", 1);
  f.set_override("pe_array.dataflow=xs", 2);
  f.set_override("dram.bandwidth_gbps=25.6", 3);  // creates the dram map
  Params root = f.root("architecture");
  Params pe = root.child("pe_array", "PE array", "");
  CHECK(pe.get_int("rows", 8, 1, 4096, "") == 16);
  CHECK(pe.get_choice("dataflow", "ws", {"ws", "os", "is"}, "") == "ws");
  pe.close();
  Params dram = root.child("dram", "DRAM", "");
  CHECK(dram.get_double("bandwidth_gbps", 1, 0.001, 1e6, "") == Approx(25.6));
  dram.close();
  try {
    root.finish();
    FAIL("finish() must throw");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()) ==
          "<cmdline -p #2>: error: pe_array.dataflow: 'xs' is not allowed; allowed: ws, os, is "
          "(did you mean 'ws'?)");
  }
  CHECK_THROWS_WITH(f.set_override("rows", 4),
                    "<cmdline -p #4>: error: 'rows' is not key.path=value");
  CHECK_THROWS_WITH(f.set_override("pe_array.rows.x=1", 5),
                    "<cmdline -p #5>: error: pe_array.rows.x: 'rows' is not a map");
}

TEST_CASE("ConfigFile: YAML syntax errors and lists of integers", "[core][config]") {
  CHECK_THROWS_WITH(ConfigFile::parse("a: [1, 2\n", "bad.yaml"),
                    Catch::Matchers::StartsWith("bad.yaml:2:1: error: YAML syntax:"));
  CHECK_THROWS_WITH(ConfigFile::load("no_such.yaml"),
                    "no_such.yaml: error: cannot open file: no such file");
  ConfigFile f = ConfigFile::parse("kernel: [3, 5]\nstride: 2\npad: [1]\n", "l.yaml");
  Params p = f.root("conv2d");
  CHECK(p.get_int_list("kernel", {1, 1}, 1, 64, "") == std::vector<int64_t>{3, 5});
  CHECK(p.get_int_list("stride", {1, 1}, 1, 64, "") == std::vector<int64_t>{2, 2});
  CHECK(p.get_int_list("pad", {0, 0}, 0, 64, "") == std::vector<int64_t>{0, 0});
  CHECK_THROWS_WITH(p.finish(), Catch::Matchers::Contains("l.yaml:3:6: error: pad: has 1 values"));
}

TEST_CASE("ConfigFile: mapping keys are plain scalars, once per map (fuzz regressions)",
          "[core][config][fuzz]") {
  // Complex keys made yaml-cpp's as<std::string>() throw TypedBadConversion out of every parser.
  CHECK_THROWS_WITH(ConfigFile::parse("? [a]\n: 1\n", "k.yaml"),
                    "k.yaml:1:3: error: a mapping key must be a plain name, not a list");
  CHECK_THROWS_WITH(ConfigFile::parse("pe_array:\n  ? clock_mhz: 10\n  : 3\n", "k.yaml"),
                    "k.yaml:2:5: error: a mapping key must be a plain name, not a map");
  CHECK_THROWS_WITH(ConfigFile::parse("a: &x 1\n*x : 2\n", "k.yaml"),
                    "k.yaml:2:1: error: a mapping key must be a plain name, not an alias");
  CHECK_THROWS_WITH(ConfigFile::parse("{: 1}\n", "k.yaml"),
                    Catch::Matchers::Contains("not an empty key"));
  // The second rows (line 3) is reported with the first one's line; nested paths are named.
  CHECK_THROWS_WITH(
      ConfigFile::parse("pe_array:\n  rows: 32\n  rows: 64\nlayers: [{name: a, name: b}]\n",
                        "d.yaml"),
      "d.yaml:3:3: error: pe_array.rows: duplicate key (first at line 2); a key may occur once "
      "per map\n"
      "d.yaml:4:20: error: layers[0].name: duplicate key (first at line 4); a key may occur once "
      "per map");
  // The same key in different maps, and keys inside values, are fine; a self-referencing alias
  // is accepted by the check (nothing walks the tree).
  CHECK_NOTHROW(ConfigFile::parse("a: {x: 1}\nb: {x: 2}\nc: [{x: 1}, {x: 2}]\n", "ok.yaml"));
  CHECK_NOTHROW(ConfigFile::parse("a: &s {k: *s}\n", "ok.yaml"));
  // Only the first document is read (as YAML::Load does); a later one's keys do not matter.
  CHECK_NOTHROW(ConfigFile::parse("a: 1\n---\nb: 1\nb: 2\n", "ok.yaml"));
}

TEST_CASE("read_input_file: only existing, readable regular files", "[core][fuzz]") {
  const auto dir = std::filesystem::temp_directory_path() / "lbsim_input_file_test";
  std::filesystem::create_directories(dir);
  const std::string d = dir.string();
  CHECK_THROWS_WITH(read_input_file(d),
                    d + ": error: cannot open file: is a directory, not a file");
  CHECK_THROWS_WITH(ConfigFile::load(d),
                    d + ": error: cannot open file: is a directory, not a file");
  CHECK_THROWS_WITH(read_input_file("/dev/null"),
                    "/dev/null: error: cannot open file: not a regular file (a device, FIFO or "
                    "socket)");
  // A "regular" file that cannot be read: used to parse as an empty document.
  if (std::filesystem::exists("/proc/self/mem"))
    CHECK_THROWS_WITH(ConfigFile::load("/proc/self/mem"),
                      Catch::Matchers::StartsWith("/proc/self/mem: error: cannot read file: "));
  {
    std::ofstream f(dir / "a.yaml", std::ios::binary);
    f << "x: 1\n";
  }
  CHECK(read_input_file((dir / "a.yaml").string()) == "x: 1\n");
  std::filesystem::remove_all(dir);
}

TEST_CASE("StatGroup: counters registered once, bumped by reference, dumped as a tree",
          "[core][stats]") {
  StatGroup root("accelerator");
  uint64_t& cycles = root.counter("cycles", "cycles", "simulated cycles");
  StatGroup& pe = root.child("pe_array");
  uint64_t& macs = pe.counter("mac_ops", "ops", "multiply-accumulates issued");
  for (int i = 0; i < 3; ++i) macs += 10;
  cycles = 7;
  // References stay valid while more counters are registered.
  for (int i = 0; i < 100; ++i) pe.counter("c" + std::to_string(i), "events", "filler");
  macs += 1;
  CHECK(root.value("pe_array.mac_ops") == 31);
  CHECK(root.value("cycles") == 7);
  CHECK(&root.child("pe_array") == &pe);
  CHECK_THROWS_AS(root.value("pe_array.nope"), std::out_of_range);
  CHECK_THROWS_AS(pe.counter("mac_ops", "ops", "again"), std::logic_error);
  std::string j = root.to_json(-1);
  CHECK(
      j.find(
          R"("accelerator":{"cycles":{"value":7,"unit":"cycles","meaning":"simulated cycles"})") !=
      std::string::npos);
  CHECK(j.find(R"("pe_array":{"mac_ops":{"value":31,"unit":"ops")") != std::string::npos);
}

namespace {
std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
size_t temp_files(const std::filesystem::path& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    n += e.path().string().find(kTempSuffix) != std::string::npos;
  return n;
}
}  // namespace

TEST_CASE("OutputSet writes every file or none", "[core][output]") {
  const auto dir = std::filesystem::temp_directory_path() / "lbsim_test_output_set";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "sub");
  {
    OutputSet s;
    s.add(dir / "a.txt", "first");
    s.add(dir / "sub" / "b.bin", std::string("\0\1\2", 3));
    s.add(dir / "a.txt", "second");  // replaces the first contents
    REQUIRE(s.paths().size() == 2);
    s.commit();
    CHECK(slurp(dir / "a.txt") == "second");
    CHECK(slurp(dir / "sub" / "b.bin") == std::string("\0\1\2", 3));
    CHECK(temp_files(dir) == 0);
  }
  {
    // The second file's directory does not exist: nothing changes, no temporary is left.
    OutputSet s;
    s.add(dir / "a.txt", "third");
    s.add(dir / "missing" / "c.txt", "x");
    try {
      s.commit();
      FAIL("commit() must fail");
    } catch (const UserError& e) {
      CHECK(std::string(e.what()).find("missing/c.txt: error: cannot write") != std::string::npos);
    }
    CHECK(slurp(dir / "a.txt") == "second");
    CHECK_FALSE(std::filesystem::exists(dir / "missing"));
    CHECK(temp_files(dir) == 0);
  }
  {
    // A directory is replaced as a whole: a file of the old one does not survive.
    std::filesystem::create_directories(dir / "figs");
    write_output_file(dir / "figs" / "stale.svg", "old");
    OutputSet s;
    s.add(dir / "a.txt", "fourth");
    s.add_directory(dir / "figs", {{"new.svg", "<svg/>"}, {"new.tsv", "x"}});
    s.commit();
    CHECK(slurp(dir / "figs" / "new.svg") == "<svg/>");
    CHECK_FALSE(std::filesystem::exists(dir / "figs" / "stale.svg"));
    CHECK(temp_files(dir) == 0);
    OutputSet none;
    none.add_directory(dir / "figs", {});
    none.commit();
    CHECK_FALSE(std::filesystem::exists(dir / "figs"));
  }
  {
    write_output_file(dir / "one.txt", "1");
    CHECK(slurp(dir / "one.txt") == "1");
    ensure_output_dir(dir / "x" / "y");
    CHECK(std::filesystem::is_directory(dir / "x" / "y"));
    CHECK_THROWS_AS(ensure_output_dir(dir / "one.txt"), UserError);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("utf8_error_at: well-formed UTF-8 passes, the first bad byte is found") {
  using lbsim::utf8_error_at;
  const size_t ok = std::string::npos;
  CHECK(utf8_error_at("") == ok);
  CHECK(utf8_error_at("layer1.conv") == ok);
  CHECK(utf8_error_at("\xc2\xb5J \xe2\x82\xac \xf0\x9f\x98\x80") == ok);  // µJ € 😀
  CHECK(utf8_error_at("C\x9d"
                      "1") == 1);                 // a lone continuation byte
  CHECK(utf8_error_at("ab\xc3") == 2);            // truncated sequence
  CHECK(utf8_error_at("\xc0\xaf") == 0);          // overlong '/'
  CHECK(utf8_error_at("\xe0\x80\xaf") == 0);      // overlong, 3 bytes
  CHECK(utf8_error_at("x\xed\xa0\x80") == 1);     // a surrogate (U+D800)
  CHECK(utf8_error_at("\xf4\x90\x80\x80") == 0);  // above U+10FFFF
  CHECK(utf8_error_at("\xe2\x82"
                      "a") == 0);  // a bad third byte
  CHECK(utf8_error_at("\xff") == 0);
}
