// The sweep summary (reports/sweep_summary.h): Pareto fronts on hand-made point sets, the combined
// SQNR, summary.md of a small hand table (with a failed run), the figure files, and the SVGs that
// gnuplot draws (parsed, titled, labelled, re-drawable from their .gp/.tsv). The SVG checks are
// skipped, with a warning, only when gnuplot is not installed.
//
// LBSIM_SWEEP_SUMMARY_DUMP=DIR writes the summary of a realistic synthetic sweep (8 formats x 3
// array sizes x 2 workloads) into DIR, to look at it in a browser.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "models/core/error.h"
#include "reports/sweep_summary.h"

using namespace lbsim;
using namespace lbsim::reports;
using Catch::Matchers::WithinAbs;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

bool gnuplot_installed() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

// Well-formed XML (tags balanced, one root element); comments, the prolog and CDATA skipped.
bool well_formed(const std::string& x, std::string* why) {
  std::vector<std::string> stack;
  int roots = 0;
  size_t i = 0;
  while ((i = x.find('<', i)) != std::string::npos) {
    if (x.compare(i, 4, "<!--") == 0) {
      i = x.find("-->", i);
      if (i == std::string::npos) return *why = "unterminated comment", false;
      continue;
    }
    if (x.compare(i, 2, "<?") == 0 || x.compare(i, 2, "<!") == 0) {
      i = x.find('>', i);
      if (i == std::string::npos) return *why = "unterminated declaration", false;
      continue;
    }
    const size_t end = x.find('>', i);
    if (end == std::string::npos) return *why = "unterminated tag", false;
    const std::string tag = x.substr(i + 1, end - i - 1);
    i = end;
    if (tag.empty()) return *why = "empty tag", false;
    if (tag[0] == '/') {
      const std::string name = tag.substr(1, tag.find_first_of(" \t\n") - 1);
      if (stack.empty() || stack.back() != name) return *why = "mismatched </" + name + ">", false;
      stack.pop_back();
      continue;
    }
    const std::string name = tag.substr(0, tag.find_first_of(" \t\n/"));
    if (stack.empty()) ++roots;
    if (tag.back() != '/') stack.push_back(name);
  }
  if (!stack.empty()) return *why = "unclosed <" + stack.back() + ">", false;
  if (roots != 1) return *why = "not one root element", false;
  return true;
}

std::map<std::string, std::string> files_of(const SweepSummary& s) {
  std::map<std::string, std::string> m;
  for (const SummaryFile& f : s.figures) m[f.name] = f.contents;
  return m;
}

// 2 x 2 grid (rows x weight format), one workload; point 3 failed.
//   p0: rows 16, fp8:      2e6 pJ, 2 ms, utilisation 0.5, SQNR 20 dB
//   p1: rows 16, mls_m2e3: 1e6 pJ, 3 ms, 0.4, 15 dB
//   p2: rows 32, fp8:      3e6 pJ, 1 ms, 0.3, 20 dB
SweepTable hand_table() {
  SweepTable t;
  t.sweep_name = "hand";
  t.axis_names = {"pe_array.rows", "pe_array.formats.weight"};
  t.metric_names = {"energy_pj", "latency_s", "utilization_fraction", "sqnr_weight_db", "cycles"};
  t.rows = {
      {0, "w1", {"16", "fp8"}, {2e6, 2e-3, 0.5, 20, 2e6}, ""},
      {1, "w1", {"16", "mls_m2e3"}, {1e6, 3e-3, 0.4, 15, 3e6}, ""},
      {2, "w1", {"32", "fp8"}, {3e6, 1e-3, 0.3, 20, 1e6}, ""},
      {3, "w1", {"32", "mls_m2e3"}, {kNaN, kNaN, kNaN, kNaN, kNaN}, "bad thing\nsecond line"}};
  return t;
}

// A realistic synthetic sweep: 8 formats x 3 array sizes x 2 workloads (energy and latency from
// a toy cost model, SQNR from the formats' bits; fp32 lossless), one failed point.
SweepTable realistic_table() {
  struct Fmt {
    const char* name;
    double bits, sqnr_w, sqnr_a, sqnr_e;
  };
  const Fmt fmts[] = {{"fp32", 32, kInf, kInf, kInf}, {"fp16", 16, 64, 63, 55},
                      {"bf16", 16, 40, 39, 38},       {"fp8_e4m3", 8, 28, 27, 20},
                      {"int8", 8, 36, 30, 12},        {"luq4", 4, 14, 18, 16},
                      {"mls_m1e2", 4, 13, 17, 15},    {"mls_m4e2", 7, 26, 29, 24}};
  SweepTable t;
  t.sweep_name = "formats_x_arrays";
  t.axis_names = {"pe_array.formats.weight", "pe_array.rows", "pe_array.cols"};
  t.metric_names = {"cycles",          "latency_s",          "utilization_fraction",
                    "dram_read_bytes", "dram_write_bytes",   "macs",
                    "energy_pj",       "compute_energy_pj",  "pj_per_mac",
                    "sqnr_weight_db",  "sqnr_activation_db", "sqnr_error_db"};
  int64_t point = 0;
  for (const Fmt& f : fmts)
    for (int n : {16, 32, 64}) {
      for (const char* wl : {"resnet20 (batch 32)", "resnet50 (batch 8)"}) {
        const bool big = std::string(wl).find("50") != std::string::npos;
        const double macs = big ? 3.1e10 : 1.3e9;
        const double util = (big ? 0.85 : 0.7) * std::pow(16.0 / n, 0.35);
        const double dram = (big ? 2.6e8 : 1.1e7) * f.bits / 8 * std::pow(32.0 / n, 0.2);
        const double cycles = macs / (n * n * util) + dram / 4;  // + DRAM stalls at 4 B/cycle
        const double pjmac = 0.012 * std::pow(f.bits, 1.4) + 0.03 * n / 16;
        const double compute = macs * pjmac;
        const double energy = compute + dram * 8 * 2.5;
        SweepTable::Row r{point, wl, {f.name, std::to_string(n), std::to_string(n)}, {}, ""};
        if (point == 13 && big) {
          r.metrics.assign(t.metric_names.size(), kNaN);
          r.error = "pe_array: sram_ifmap.size_bytes 65536 cannot hold one fold of layer conv1";
        } else {
          r.metrics = {cycles, cycles / 1e9, util,          dram * 0.8, dram * 0.2, macs,
                       energy, compute,      energy / macs, f.sqnr_w,   f.sqnr_a,   f.sqnr_e};
        }
        t.rows.push_back(r);
      }
      ++point;
    }
  // Rows sorted by (point, workload order), as the engine writes them.
  return t;
}

}  // namespace

TEST_CASE("pareto_front: dominated points removed, order by the first objective") {
  // (3,4) is dominated by (2,3); (5,5) by all three others.
  const std::vector<std::vector<double>> p = {{1, 5}, {2, 3}, {3, 4}, {4, 1}, {5, 5}};
  CHECK(pareto_front(p, {Goal::kMin, Goal::kMin}) == std::vector<size_t>{0, 1, 3});
  // Maximizing the second: (1,5) and (5,5)? (1,5) dominates (5,5) (less first, equal second);
  // (1,5) also dominates (2,3), (3,4) and (4,1).
  CHECK(pareto_front(p, {Goal::kMin, Goal::kMax}) == std::vector<size_t>{0});
  // Maximizing both: (5,5) dominates everything.
  CHECK(pareto_front(p, {Goal::kMax, Goal::kMax}) == std::vector<size_t>{4});
  CHECK(pareto_front({}, {Goal::kMin, Goal::kMin}).empty());
  CHECK(pareto_front({{7, 7}}, {Goal::kMin, Goal::kMin}) == std::vector<size_t>{0});
}

TEST_CASE("pareto_front: duplicates are all kept, ties in one objective are not") {
  // Two identical points: neither dominates the other; (2,0) is not dominated either.
  CHECK(pareto_front({{1, 1}, {2, 0}, {1, 1}}, {Goal::kMin, Goal::kMin}) ==
        std::vector<size_t>{0, 2, 1});
  // Equal first objective: the better second one dominates.
  CHECK(pareto_front({{1, 3}, {1, 2}}, {Goal::kMin, Goal::kMin}) == std::vector<size_t>{1});
  // Energy min, SQNR max: (3,15) is dominated by (2,20) twice; duplicates (2,20) ordered by
  // index after the best first coordinate.
  CHECK(pareto_front({{2, 20}, {1, 10}, {3, 15}, {2, 20}}, {Goal::kMin, Goal::kMax}) ==
        std::vector<size_t>{1, 0, 3});
  // Ties on the first objective sorted by the second best-first.
  CHECK(pareto_front({{1, 10}, {1, 10}, {0, 5}}, {Goal::kMin, Goal::kMax}) ==
        std::vector<size_t>{2, 0, 1});
}

TEST_CASE("pareto_front: NaN points excluded, infinities compared") {
  // (NaN, 0) would dominate everything if it counted.
  CHECK(pareto_front({{kNaN, 0}, {1, 1}, {0, kNaN}, {2, 0.5}}, {Goal::kMin, Goal::kMin}) ==
        std::vector<size_t>{1, 3});
  // A lossless point (+inf SQNR) is on the front; a costlier lossless one is not.
  CHECK(pareto_front({{5, kInf}, {6, kInf}, {1, 10}}, {Goal::kMin, Goal::kMax}) ==
        std::vector<size_t>{2, 0});
  CHECK_THROWS_AS(pareto_front({{1, 2, 3}}, {Goal::kMin, Goal::kMin}), std::invalid_argument);
}

TEST_CASE("pareto_front: random sets satisfy the definition") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> d(0, 9);  // small range: many ties and duplicates
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<std::vector<double>> p(30);
    for (auto& x : p) x = {static_cast<double>(d(rng)), static_cast<double>(d(rng))};
    const std::vector<size_t> f = pareto_front(p, {Goal::kMin, Goal::kMax});
    const auto dominates = [&](size_t a, size_t b) {
      return p[a][0] <= p[b][0] && p[a][1] >= p[b][1] && (p[a][0] < p[b][0] || p[a][1] > p[b][1]);
    };
    std::vector<bool> on(p.size(), false);
    for (size_t i : f) on[i] = true;
    for (size_t i = 0; i < p.size(); ++i) {
      bool dominated = false;
      for (size_t j = 0; j < p.size(); ++j) dominated = dominated || dominates(j, i);
      CHECK(on[i] == !dominated);
    }
    for (size_t k = 1; k < f.size(); ++k) CHECK(p[f[k - 1]][0] <= p[f[k]][0]);
  }
}

TEST_CASE("combined SQNR: harmonic mean of the linear SQNRs, in dB") {
  CHECK_THAT(combined_sqnr_db({10, 10, 10}), WithinAbs(10, 1e-12));
  // noise 0.5 x (0.1 + 0) = 0.05 -> 13.0103 dB
  CHECK_THAT(combined_sqnr_db({10, kInf}), WithinAbs(13.010299956639812, 1e-9));
  // noise 0.5 x (1 + 0.01) = 0.505 -> 2.9671 dB: the worst role dominates
  CHECK_THAT(combined_sqnr_db({0, 20}), WithinAbs(2.9670862188133866, 1e-9));
  CHECK(combined_sqnr_db({kInf, kInf}) == kInf);
  CHECK(std::isnan(combined_sqnr_db({})));
  CHECK(std::isnan(combined_sqnr_db({kNaN, 3})));
}

TEST_CASE("summary.md of a hand table: axes, failed run, Pareto tables, figure links") {
  const SweepSummary s = sweep_summary(hand_table(), {"/nonexistent/gnuplot", "synthetic (test)"});
  const std::string& md = s.md;
  CHECK(md.rfind("# lbsim sweep summary: hand\n", 0) == 0);
  CHECK(md.find("4 points x 1 workloads = 4 runs: 3 succeeded, 1 failed.") != std::string::npos);
  CHECK(md.find("SQNR tensors: synthetic (test).") != std::string::npos);
  CHECK(md.find("| pe_array.rows | 16, 32 | 2 |") != std::string::npos);
  CHECK(md.find("| pe_array.formats.weight | fp8, mls_m2e3 | 2 |") != std::string::npos);
  CHECK(md.find("| w1 | 4 | 3 | 1 |") != std::string::npos);
  CHECK(md.find("| 3 | w1 | rows=32, weight=mls_m2e3 | bad thing / second line |") !=
        std::string::npos);
  // Energy-latency: no point dominates another -> all three, by energy.
  const std::string header =
      "| point | pe_array.rows | pe_array.formats.weight | energy (µJ) | latency (ms) | combined "
      "SQNR (dB) | PE-array utilisation (%) |\n| ---: | ---: | --- | ---: | ---: | ---: | ---: |\n";
  const std::string el = "3 of 3 runs on the front.\n\n" + header +
                         "| 1 | 16 | mls_m2e3 | 1.000 | 3.000 | 15.00 | 40.00 |\n"
                         "| 0 | 16 | fp8 | 2.000 | 2.000 | 20.00 | 50.00 |\n"
                         "| 2 | 32 | fp8 | 3.000 | 1.000 | 20.00 | 30.00 |\n";
  CHECK(md.find("#### energy vs latency\n\n" + el) != std::string::npos);
  // Energy-SQNR: p2 (3e6 pJ, 20 dB) is dominated by p0 (2e6 pJ, 20 dB).
  const std::string es = "2 of 3 runs on the front.\n\n" + header +
                         "| 1 | 16 | mls_m2e3 | 1.000 | 3.000 | 15.00 | 40.00 |\n"
                         "| 0 | 16 | fp8 | 2.000 | 2.000 | 20.00 | 50.00 |\n";
  CHECK(md.find("#### energy vs combined SQNR\n\n" + es) != std::string::npos);
  CHECK(md.find("Also in results.csv (not drawn): cycles.") != std::string::npos);
  CHECK(md.find("figures not drawn: /nonexistent/gnuplot not found") != std::string::npos);
  CHECK(md.find("| energy | [gp](figures/w1-energy-vs-pe_array.rows.gp) | "
                "[gp](figures/w1-energy-vs-pe_array.formats.weight.gp) |") != std::string::npos);
  CHECK(s.note.find("not found") != std::string::npos);
  CHECK(md.find("/tmp") == std::string::npos);
}

TEST_CASE("figure files: names, data and scripts of the hand table") {
  const SweepSummary s = sweep_summary(hand_table(), {"/nonexistent/gnuplot", ""});
  std::vector<std::string> names;
  for (const SummaryFile& f : s.figures) names.push_back(f.name);
  std::vector<std::string> expected;
  for (const char* m : {"energy", "latency", "sqnr", "utilization"})
    for (const char* a : {"pe_array.formats.weight", "pe_array.rows"})
      for (const char* ext : {".gp", ".tsv"})
        expected.push_back(std::string("w1-") + m + "-vs-" + a + ext);
  for (const char* p : {"w1-pareto-energy-latency", "w1-pareto-energy-sqnr"})
    for (const char* ext : {".gp", ".tsv"}) expected.push_back(std::string(p) + ext);
  std::sort(expected.begin(), expected.end());
  CHECK(names == expected);
  const auto files = files_of(s);
  // Energy against rows: one line per weight format (the other axis), µJ, failed point missing.
  CHECK(files.at("w1-energy-vs-pe_array.rows.tsv") ==
        "# w1: energy vs pe_array.rows\n# energy (µJ): x\tlabel\tweight=fp8\tweight=mls_m2e3\n"
        "16\t16\t2\t1\n32\t32\t3\tNaN\n");
  const std::string& gp = files.at("w1-energy-vs-pe_array.rows.gp");
  CHECK(gp.find("set output \"w1-energy-vs-pe_array.rows.svg\"") != std::string::npos);
  CHECK(gp.find("title \"weight=fp8\"") != std::string::npos);
  CHECK(gp.find("set xtics (\"16\" 16, \"32\" 32)") != std::string::npos);
  // Categorical axis: bars at 0, 1 with the rows as series.
  CHECK(files.at("w1-latency-vs-pe_array.formats.weight.tsv") ==
        "# w1: latency vs pe_array.formats.weight\n# latency (ms): x\tlabel\trows=16\trows=32\n"
        "0\tfp8\t2\t1\n1\tmls_m2e3\t3\tNaN\n");
  CHECK(files.at("w1-latency-vs-pe_array.formats.weight.gp").find("with boxes") !=
        std::string::npos);
  // The energy-latency front: every point, then the front sorted by latency, the label of the
  // rightmost point (latency 3 ms) on its left.
  const std::string& front = files.at("w1-pareto-energy-latency.tsv");
  CHECK(front.substr(front.find("# latency")) ==
        "# latency (ms)\tenergy (µJ)\tpoint\tlabel\n"
        "2\t2\t0\trows=16, weight=fp8\n3\t1\t1\trows=16, weight=mls_m2e3\n1\t3\t2\trows=32, "
        "weight=fp8\n\n\n"
        "1\t3\t2\trows=32, weight=fp8\t\n2\t2\t0\trows=16, weight=fp8\t\n3\t1\t1\t\trows=16, "
        "weight=mls_m2e3\n");
  // Deterministic.
  const SweepSummary again = sweep_summary(hand_table(), {"/nonexistent/gnuplot", ""});
  CHECK(again.md == s.md);
  CHECK(again.html == s.html);
  CHECK(files_of(again) == files);
}

TEST_CASE("many combinations of the other axes are aggregated; zip partners are one axis") {
  SweepTable t;
  t.sweep_name = "agg";
  t.axis_names = {"rows", "cols", "fmt"};
  t.metric_names = {"energy_pj"};
  int64_t p = 0;
  for (int x : {1, 2})
    for (int k = 0; k < 9; ++k)
      t.rows.push_back({p++,
                        "w",
                        {std::to_string(x), std::to_string(x), "f" + std::to_string(k)},
                        {1e3 * x + k},
                        ""});
  const SweepSummary s = sweep_summary(t, {"/nonexistent/gnuplot", ""});
  const auto files = files_of(s);
  // 9 formats > 8 series: min, median, max, count per x (nJ).
  CHECK(files.at("w-energy-vs-rows.tsv") ==
        "# w: energy vs rows\n# energy (nJ): x\tlabel\tmin\tmedian\tmax\tcount\n"
        "1\t1\t1\t1.004\t1.008\t9\n2\t2\t2\t2.004\t2.008\t9\n");
  CHECK(files.count("w-energy-vs-cols.tsv") == 0);
  CHECK(files.at("w-energy-vs-rows.gp").find("(with cols)") != std::string::npos);
  CHECK(s.md.find("| cols (moves with rows) | 1, 2 | 2 |") != std::string::npos);
  // fmt against its 9 values: rows (with cols) are 2 series.
  CHECK(files.at("w-energy-vs-fmt.tsv").find("\trows=1\trows=2\n") != std::string::npos);
}

TEST_CASE("a failing gnuplot is a UserError") {
  CHECK_THROWS_AS(sweep_summary(hand_table(), {"/bin/false", ""}), UserError);
}

TEST_CASE("gnuplot figures: standalone SVGs parse, carry titles and labels, re-draw equal") {
  if (!gnuplot_installed()) {
    WARN("gnuplot is not installed: the SVG checks are skipped");
    return;
  }
  const SweepSummary s = sweep_summary(hand_table(), {"gnuplot", ""});
  CHECK(s.note.empty());
  const auto files = files_of(s);
  if (const char* dump = std::getenv("LBSIM_SWEEP_SUMMARY_DUMP_HAND")) {
    for (const SummaryFile& f : s.figures)
      std::ofstream(std::string(dump) + "/" + f.name) << f.contents;
  }
  size_t svgs = 0;
  for (const auto& [name, text] : files) {
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".svg") != 0) continue;
    ++svgs;
    INFO(name);
    std::string why;
    CHECK(well_formed(text, &why));
    INFO(why);
    CHECK(text.rfind("<?xml", 0) == 0);
    const std::string base = name.substr(0, name.size() - 4);
    CHECK(files.count(base + ".gp") == 1);
    CHECK(files.count(base + ".tsv") == 1);
  }
  CHECK(svgs == 10);
  const std::string& e = files.at("w1-energy-vs-pe_array.rows.svg");
  CHECK(e.find("w1: energy vs pe_array.rows") != std::string::npos);
  CHECK(e.find(">energy (µJ)<") != std::string::npos);
  CHECK(e.find(">pe_array.rows<") != std::string::npos);
  CHECK(e.find("weight=mls_m2e3") != std::string::npos);  // key
  CHECK(e.find("e+0") == std::string::npos);              // no exponent tick labels
  const std::string& pl = files.at("w1-pareto-energy-latency.svg");
  CHECK(pl.find(">latency (ms)<") != std::string::npos);
  CHECK(pl.find("rows=16, weight=mls_m2e3") != std::string::npos);  // a front point's label
  CHECK(files.at("w1-pareto-energy-sqnr.svg").find(">combined SQNR (dB)<") != std::string::npos);
  // summary.html: every figure inline, no prolog, the Pareto figures next to their tables.
  CHECK(count(s.html, "<svg") == 10);
  CHECK(s.html.find("<?xml") == std::string::npos);
  CHECK(s.html.find("id='f1_") != std::string::npos);
  CHECK(s.md.find("![energy vs latency](figures/w1-pareto-energy-latency.svg)") !=
        std::string::npos);
  // Re-drawing one figure from its own .gp and .tsv gives the same SVG.
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / "lbsim-test-sweep-summary";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const char* ext : {".gp", ".tsv"})
    std::ofstream(dir / (std::string("w1-pareto-energy-sqnr") + ext), std::ios::binary)
        << files.at(std::string("w1-pareto-energy-sqnr") + ext);
  REQUIRE(std::system(("cd " + dir.string() + " && gnuplot w1-pareto-energy-sqnr.gp").c_str()) ==
          0);
  std::ifstream in(dir / "w1-pareto-energy-sqnr.svg", std::ios::binary);
  std::stringstream redrawn;
  redrawn << in.rdbuf();
  CHECK(redrawn.str() == files.at("w1-pareto-energy-sqnr.svg"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a realistic sweep: figures per workload, lossless SQNR, failed point listed") {
  const bool draw = gnuplot_installed();
  const SweepSummary s =
      sweep_summary(realistic_table(),
                    {draw ? "gnuplot" : "/nonexistent/gnuplot", "synthetic tensors (test table)"});
  const auto files = files_of(s);
  // 2 workloads x (6 metrics x 2 plotted axes (cols moves with rows) + 2 fronts) figures.
  CHECK(files.size() == 2 * (6 * 2 + 2) * (draw ? 3u : 2u));
  CHECK(s.md.find("24 points x 2 workloads = 48 runs: 47 succeeded, 1 failed.") !=
        std::string::npos);
  CHECK(s.md.find("| 13 | resnet50 (batch 8) | weight=int8, rows=32, cols=32 | pe_array:") !=
        std::string::npos);
  // fp32 is lossless: ∞ in the tables, a "lossless" tick in the SQNR figures.
  CHECK(s.md.find("| ∞ |") != std::string::npos);
  CHECK(files.at("resnet20_batch_32-pareto-energy-sqnr.gp").find("\"lossless\"") !=
        std::string::npos);
  if (const char* dump = std::getenv("LBSIM_SWEEP_SUMMARY_DUMP")) {
    const std::filesystem::path dir(dump);
    std::filesystem::create_directories(dir / "figures");
    std::ofstream(dir / "summary.md", std::ios::binary) << s.md;
    std::ofstream(dir / "summary.html", std::ios::binary) << s.html;
    for (const SummaryFile& f : s.figures)
      std::ofstream(dir / "figures" / f.name, std::ios::binary) << f.contents;
  }
}

TEST_CASE("a large sweep: aggregated figures, a front labelled by point index") {
  // 5 array sizes x 3 dataflows x 4 buffer sizes x 10 formats = 600 points, one workload.
  SweepTable t;
  t.sweep_name = "large";
  t.axis_names = {"pe_array.rows", "pe_array.dataflow", "sram.size_kib", "pe_array.formats.all"};
  t.metric_names = {"latency_s", "energy_pj", "sqnr_weight_db", "sqnr_activation_db"};
  int64_t p = 0;
  for (int n : {8, 16, 32, 64, 128})
    for (int df = 0; df < 3; ++df)
      for (int kib : {64, 128, 256, 512})
        for (int bits = 3; bits < 13; ++bits) {
          // A trade-off with a wiggle: bigger arrays are faster and cost more per MAC.
          const double wiggle = 1 + 0.05 * std::sin(static_cast<double>(p) * 1.7);
          const double latency = 1e-2 / n * (1 + 0.1 * df) * (1 + 64.0 / kib) * bits / 8;
          const double energy = 1e9 * (0.02 * bits * bits + 0.01 * n) * wiggle * (1 + kib / 2048.0);
          t.rows.push_back({p++,
                            "net",
                            {std::to_string(n),
                             df == 0   ? "os"
                             : df == 1 ? "ws"
                                       : "is",
                             std::to_string(kib), "int" + std::to_string(bits)},
                            {latency, energy, 6.02 * bits - 2, 6.02 * bits - 6},
                            ""});
        }
  const bool draw = gnuplot_installed();
  const SweepSummary s = sweep_summary(t, {draw ? "gnuplot" : "/nonexistent/gnuplot", ""});
  const auto files = files_of(s);
  // 3 metrics (energy, latency, SQNR) x 4 axes + 2 fronts.
  CHECK(files.size() == (3 * 4 + 2) * (draw ? 3u : 2u));
  // 3 x 4 x 10 = 120 combinations of the other axes > 8: min/median/max per array size.
  CHECK(files.at("net-energy-vs-pe_array.rows.tsv").find("\tmin\tmedian\tmax\tcount\n") !=
        std::string::npos);
  const std::string& front = files.at("net-pareto-energy-latency.tsv");
  const size_t block1 = front.find("\n\n\n");
  REQUIRE(block1 != std::string::npos);
  CHECK(std::count(front.begin() + block1 + 3, front.end(), '\n') > 15);
  CHECK(front.find("\t#", block1) != std::string::npos);
  if (const char* dump = std::getenv("LBSIM_SWEEP_SUMMARY_DUMP")) {
    const std::filesystem::path dir = std::filesystem::path(dump) / "large";
    std::filesystem::create_directories(dir / "figures");
    std::ofstream(dir / "summary.md", std::ios::binary) << s.md;
    std::ofstream(dir / "summary.html", std::ios::binary) << s.html;
    for (const SummaryFile& f : s.figures)
      std::ofstream(dir / "figures" / f.name, std::ios::binary) << f.contents;
  }
}
