// reports/: layers.csv parsing, the per layer x phase aggregation and compute/memory-bound rule,
// the energy-to-op matching, the whole-training estimate, report.json's schema, the HTML/Markdown
// writers and the gnuplot plots (rendered when gnuplot is installed; a missing gnuplot gives a
// note). Expected values are derived by hand in the comments.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/energy/cost.h"
#include "models/energy/energy_table.h"
#include "models/sim_plan/sim_plan.h"
#include "reports/report.h"

using namespace lbsim;
using namespace lbsim::reports;

namespace {

// A 2x2 array at 500 MHz, one training iteration at batch 32.
std::string stats_json(bool training = true) {
  nlohmann::ordered_json j;
  j["run"] = {{"arch", "toy"},
              {"pe_array", {{"type", "fp32"}, {"rows", 2}, {"cols", 2}, {"dataflow", "os"}}},
              {"clock_mhz", 500.0},
              {"workload", "net"},
              {"workload_spec", "net.yaml"},
              {"batch", 32},
              {"training", training},
              {"total_cycles", 300},
              {"dram_read_bytes", 100},
              {"dram_write_bytes", 50},
              {"systemc_delta_cycles", 12345}};
  j["stats"] = nlohmann::ordered_json::object();
  return j.dump(2);
}

// Three ops: conv/fwd gemm (compute-bound), conv/fwd col2im (memory-bound: stall 60 > compute 40)
// and "a,b"/dgrad gemm (quoted name). Sum of cycles: 100 + 100 + 100 = 300.
std::string layers() {
  return std::string(layers_csv_header()) +
         "\n"
         "conv,fwd,gemm,4,4,5,80,1,100,90,10,0.200000,10,20,30,40,50,1,0\n"
         "conv,fwd,col2im,0,0,0,0,0,100,40,60,0.000000,1,2,3,4,5,0,7\n"
         "\"a,b\",dgrad,gemm,2,2,10,40,1,100,100,0,0.100000,0,0,0,0,0,0,0\n";
}

EnergyRow erow(const std::string& layer, const std::string& phase, const std::string& op,
               const std::string& comp, double pj) {
  EnergyRow r;
  r.layer = layer;
  r.phase = phase;
  r.op = op;
  r.component = comp;
  r.action = ActionKey{"x", {}};
  r.count = 1;
  r.pj = pj;
  return r;
}

// 10 + 5 pJ on conv/fwd/gemm, 2 pJ on conv/fwd/col2im, 20 pJ on a,b/dgrad: total 37 pJ.
EnergyReport energy() {
  EnergyReport e;
  e.rows = {erow("conv", "fwd", "gemm", "pe_array", 10), erow("conv", "fwd", "gemm", "dram", 5),
            erow("conv", "fwd", "col2im", "vector_unit", 2),
            erow("a,b", "dgrad", "gemm", "pe_array", 20)};
  e.by_component = {{"pe_array", 30}, {"dram", 5}, {"vector_unit", 2}};
  e.by_phase = {{"fwd", 17}, {"dgrad", 20}};
  e.total_pj = 37;
  return e;
}

ReportInput input(const TrainingOptions& t = {}) {
  return build_report_input(stats_json(), layers(), energy(), EnergyTable::builtin(), t, 2);
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

bool gnuplot_installed() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

}  // namespace

TEST_CASE("layers.csv is parsed field by field, quoting included") {
  const std::vector<OpRow> rows = parse_layers_csv(layers(), "l.csv");
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].layer == "conv");
  CHECK(rows[0].k == 5);
  CHECK(rows[0].macs == 80);
  CHECK(rows[0].stall_cycles == 10);
  CHECK(rows[0].utilization == Approx(0.2));
  CHECK(rows[0].dram_write_bytes == 50);
  CHECK(rows[0].quant_ops == 1);
  CHECK(rows[1].vector_ops == 7);
  CHECK(rows[2].layer == "a,b");
  CHECK(rows[2].phase == "dgrad");
  CHECK_THROWS_AS(parse_layers_csv("layer,phase\n", "l.csv"), UserError);
  CHECK_THROWS_WITH(
      parse_layers_csv(std::string(layers_csv_header()) + "\nconv,fwd,gemm,1\n", "l.csv"),
      Catch::Contains("l.csv:2") && Catch::Contains("4 fields"));
  CHECK_THROWS_WITH(parse_layers_csv(std::string(layers_csv_header()) +
                                         "\nc,f,g,x,0,0,0,0,0,0,0,0.0,0,0,0,0,0,0,0\n",
                                     "l.csv"),
                    Catch::Contains("'x' is not an integer"));
}

TEST_CASE("ops aggregate per layer x phase; energy follows its op") {
  const ReportInput in = input();
  CHECK(in.pe_rows == 2);
  CHECK(in.clock_mhz == 500.0);
  REQUIRE(in.layer_phases.size() == 2);
  const LayerPhase& conv = in.layer_phases[0];
  CHECK(conv.layer == "conv");
  CHECK(conv.ops == 2);
  CHECK(conv.cycles == 200);
  CHECK(conv.compute_cycles == 130);
  CHECK(conv.stall_cycles == 70);
  CHECK(conv.dram_read_bytes == 44);
  // 80 MACs / (200 cycles x 2 x 2) = 0.1
  CHECK(conv.utilization == Approx(0.1));
  CHECK(conv.energy_total_pj == Approx(17));
  CHECK(conv.energy_pj.at("dram") == Approx(5));
  CHECK(in.layer_phases[1].layer == "a,b");
  CHECK(in.layer_phases[1].energy_total_pj == Approx(20));
  CHECK(in.phases == std::vector<std::string>{"fwd", "dgrad"});
  CHECK(in.components == std::vector<std::string>{"dram", "pe_array", "vector_unit"});
  REQUIRE(in.op_energy.size() == 3);
  CHECK(in.op_energy[1].at("vector_unit") == Approx(2));

  EnergyReport bad = energy();
  bad.rows.push_back(erow("nope", "fwd", "gemm", "dram", 1));
  CHECK_THROWS_WITH(build_report_input(stats_json(), layers(), bad, EnergyTable::builtin(), {}, 0),
                    Catch::Contains("do not match layers.csv"));
  CHECK_THROWS_AS(build_report_input("{}", layers(), energy(), EnergyTable::builtin(), {}, 0),
                  UserError);
}

TEST_CASE("report.json: versioned schema, per-op and per layer x phase entries") {
  const auto j = nlohmann::json::parse(report_json(input()));
  CHECK(j["schema"] == "lbsim-report");
  CHECK(j["schema_version"] == 2);
  CHECK(j["run"]["smp_samples"] == 2);
  CHECK_FALSE(j["run"].contains("systemc_delta_cycles"));
  CHECK(j["totals"]["cycles"] == 300);
  CHECK(j["totals"]["stall_cycles"] == 70);
  CHECK(j["totals"]["energy_pj"].get<double>() == Approx(37));
  CHECK(j["totals"]["energy_by_phase_pj"]["dgrad"].get<double>() == Approx(20));
  REQUIRE(j["ops"].size() == 3);
  CHECK(j["ops"][0]["bound"] == "compute");  // stall 10 <= compute 90
  CHECK(j["ops"][1]["bound"] == "memory");   // stall 60 > compute 40
  CHECK(j["ops"][0]["energy_pj"].get<double>() == Approx(15));
  CHECK(j["ops"][0]["traffic"]["filter_sram_read_bytes"] == 20);
  CHECK(j["ops"][2]["layer"] == "a,b");
  // every op lists every component (0 when it has none)
  CHECK(j["ops"][2]["energy_by_component_pj"]["dram"].get<double>() == 0.0);
  REQUIRE(j["layer_phases"].size() == 2);
  CHECK(j["layer_phases"][0]["bound"] == "compute");  // stall 70 <= compute 130
  CHECK(j["layer_phases"][0]["traffic"]["dram_write_bytes"] == 55);
  CHECK(j["training_estimate"].is_null());
  CHECK(report_json(input()) == report_json(input()));
}

TEST_CASE("whole-training estimate: ceil(N / batch) x epochs iterations") {
  TrainingOptions t;
  t.dataset_size = 1000;
  t.epochs = 3;
  const ReportInput in = input(t);
  REQUIRE(in.training);
  const TrainingEstimate& e = *in.training;
  // ceil(1000 / 32) = 32 per epoch, x 3 = 96; 300 cycles at 500 MHz = 6e-7 s; 37 pJ each.
  CHECK(e.iterations_per_epoch == 32);
  CHECK(e.iterations == 96);
  CHECK(e.iteration_s == Approx(6e-7));
  CHECK(e.time_s == Approx(96 * 6e-7));
  CHECK(e.energy_j == Approx(96 * 37e-12));
  CHECK(e.total_energy_j == Approx(e.energy_j));
  CHECK_FALSE(e.fnt);
  CHECK(e.smp_samples == 2);
  const auto j = nlohmann::json::parse(report_json(in));
  CHECK(j["training_estimate"]["iterations"] == 96);
  CHECK(j["training_estimate"]["fine_tune"].is_null());

  TrainingOptions only_epochs;
  only_epochs.epochs = 3;
  CHECK_THROWS_WITH(check_training_options(only_epochs), Catch::Contains("--dataset-size"));
  TrainingOptions fnt_alone = t;
  fnt_alone.fnt_epochs = 1;
  CHECK_THROWS_WITH(check_training_options(fnt_alone), Catch::Contains("--fnt-run"));
  TrainingOptions fnt_missing = fnt_alone;
  fnt_missing.fnt_run = "/nonexistent/run";
  CHECK_THROWS_WITH(check_training_options(fnt_missing), Catch::Contains("stats.json"));
  CHECK_THROWS_WITH(
      build_report_input(stats_json(false), layers(), energy(), EnergyTable::builtin(), t, 0),
      Catch::Contains("inference"));
}

TEST_CASE("Markdown and HTML without gnuplot: tables and a note, nothing external") {
  const ReportInput in = input();
  const PlotSet none = render_plots(in, "/nonexistent/gnuplot");
  CHECK(none.plots.empty());
  CHECK_THAT(none.note, Catch::Contains("not found"));
  const std::string md = report_md(in, none);
  CHECK_THAT(md, Catch::Contains("| pe_array | 0.000 | 81.08 |"));  // 30 / 37 pJ
  CHECK_THAT(md, Catch::Contains("| a,b | dgrad | 1 | 100 | 33.33 | 10.00 | 0 | compute |"));
  CHECK_THAT(md, Catch::Contains("| conv | fwd | 2 | 200 | 66.67 | 10.00 | 70 | compute |"));
  CHECK_THAT(md, Catch::Contains("not found"));
  const std::string html = report_html(in, none);
  CHECK(count(html, "<svg") == 0);
  CHECK(count(html, "src=") == 0);
  CHECK(count(html, "href=") == 0);
  CHECK_THAT(html, Catch::Contains("<td>a,b</td>"));
}

TEST_CASE("figures: data files with unit-named columns, human labels, hand-derived values") {
  const ReportInput in = input();
  const std::vector<PlotSource> src = plot_sources(in);
  REQUIRE(src.size() == 6);
  // Energy by component, largest first; 37 pJ in all (pJ: the largest is 30 pJ < 1 nJ);
  // shares 30/37 = 81.081 %, 5/37 = 13.514 %, 2/37 = 5.405 %.
  CHECK(src[0].name == "energy_by_component");
  CHECK(src[0].data ==
        "# component\tenergy_pJ\tshare_pct\nPE array\t30\t81.081\nDRAM\t5\t13.514\n"
        "vector unit\t2\t5.405\n");
  CHECK_THAT(src[0].script, Catch::Contains("set logscale x"));
  // By phase x component: fwd = 10 + 5 + 2, dgrad = 20 (components by total: 30, 5, 2).
  CHECK(src[1].name == "energy_by_phase");
  CHECK(src[1].data ==
        "# phase\tpe_array_pJ\tdram_pJ\tvector_unit_pJ\nforward\t10\t5\t2\n"
        "input gradient (dgrad)\t20\t0\t0\n");
  CHECK(src[2].name == "layer_latency");
  CHECK(src[2].data == "# layer\tfwd_cycles\tdgrad_cycles\nconv\t200\t0\na,b\t0\t100\n");
  // conv: 80 / (200 x 4) = 10 %, a,b: 40 / (100 x 4) = 10 %
  CHECK(
      src[3].data ==
      "# "
      "layer\tutilization_pct\tmacs\tcycles\nconv\t10.000000\t80\t200\na,b\t10.000000\t40\t100\n");
  // compute: conv 90 + 40, stall 10 + 60
  CHECK(src[4].data == "# layer\tcompute_cycles\tstall_cycles\nconv\t130\t70\na,b\t100\t0\n");
  // Roofline: conv/fwd 80 MACs over 40 + 50 + 4 + 5 = 99 DRAM bytes in 200 cycles; a,b/dgrad
  // moves no DRAM byte (not drawn). stats.json has no dram_bytes_per_cycle: no DRAM roof.
  CHECK(src[5].name == "roofline");
  CHECK(src[5].data ==
        "# layer\tphase\tmacs\tdram_bytes\tcycles\tintensity_macs_per_byte\tmacs_per_cycle\n"
        "conv\tfwd\t80\t99\t200\t0.808080808\t0.4\n");
  CHECK_THAT(src[5].title, Catch::Contains("1 layer-phases without DRAM traffic"));
  CHECK_THAT(src[5].title, Catch::Contains("no DRAM roof"));
  CHECK_THAT(src[5].script, Catch::Contains("peak = 4 "));
  for (const PlotSource& p : src) {
    // Standalone: reads its own data, writes its own SVG and PDF, no shell escapes.
    CHECK_THAT(p.script, Catch::Contains("\"" + p.name + ".tsv\""));
    CHECK_THAT(p.script, Catch::Contains("set output \"" + p.name + ".svg\""));
    CHECK_THAT(p.script, Catch::Contains("set output \"" + p.name + ".pdf\""));
    CHECK(p.script.find("system(") == std::string::npos);
    CHECK(p.script.find('`') == std::string::npos);
  }

  nlohmann::ordered_json stats = nlohmann::ordered_json::parse(stats_json());
  stats["run"]["dram_bytes_per_cycle"] = 2.5;
  const ReportInput with_bw = build_report_input(stats.dump(), layers(), energy(),
                                                 EnergyTable::builtin(), TrainingOptions{}, 2);
  const PlotSource roof = plot_sources(with_bw)[5];
  CHECK_THAT(roof.script, Catch::Contains("bw = 2.5 "));
  CHECK(roof.title.find("no DRAM roof") == std::string::npos);
}

TEST_CASE("figures of a large network: the 30 largest layers in network order plus the rest") {
  // 50 layers L1..L50, layer i: i million cycles (all compute), i MACs, fwd only.
  std::string csv = std::string(layers_csv_header()) + "\n";
  for (int i = 1; i <= 50; ++i)
    csv += fmt::format("L{},fwd,gemm,1,1,{},{},1,{},{},0,0.0,0,0,0,0,0,0,0\n", i, i, i, i * 1000000,
                       i * 1000000);
  EnergyReport e;
  const ReportInput in =
      build_report_input(stats_json(), csv, e, EnergyTable::builtin(), TrainingOptions{}, 0);
  const std::vector<PlotSource> src = plot_sources(in);
  // Latency in M cycles (largest 50 M): L21..L50, then 1 + ... + 20 = 210 M cycles.
  std::string want = "# layer\tfwd_Mcycles\n";
  for (int i = 21; i <= 50; ++i) want += fmt::format("L{}\t{}\n", i, i);
  want += "other (20 layers)\t210\n";
  CHECK(src[2].data == want);
  CHECK_THAT(src[2].title, Catch::Contains("the 30 largest of 50 layers by cycles"));
  CHECK_THAT(src[2].script, Catch::Contains("set xlabel \"latency (M cycles)\""));
  CHECK_THAT(src[3].data, Catch::EndsWith("other (20 layers)\t0.000025\t210\t210000000\n"));
}

TEST_CASE("figures of a large network with blocks: one bar per block") {
  // 45 layers stage{1..3}.{0..4}.{conv,bn,relu}, 1000 cycles each: 15 blocks of 3000 cycles.
  std::string csv = std::string(layers_csv_header()) + "\n";
  for (int st = 1; st <= 3; ++st)
    for (int b = 0; b < 5; ++b)
      for (const char* l : {"conv", "bn", "relu"})
        csv += fmt::format("stage{}.{}.{},fwd,gemm,1,1,1,1,1,1000,1000,0,0.0,0,0,0,0,0,0,0\n", st,
                           b, l);
  const ReportInput in = build_report_input(stats_json(), csv, EnergyReport{},
                                            EnergyTable::builtin(), TrainingOptions{}, 0);
  const PlotSource lat = plot_sources(in)[2];
  std::string want = "# layer\tfwd_cycles\n";
  for (int st = 1; st <= 3; ++st)
    for (int b = 0; b < 5; ++b) want += fmt::format("stage{}.{}\t3000\n", st, b);
  CHECK(lat.data == want);
  CHECK(lat.title ==
        "Per-layer latency by phase; 45 layers summed into 15 blocks (name up to its "
        "last '.')");
  CHECK_THAT(lat.script, Catch::Contains("set title \"Per-layer latency by phase\\n45 layers"));
}

TEST_CASE("figure labels: components and phases in words") {
  CHECK(component_label("sram_ifmap") == "SRAM (ifmap)");
  CHECK(component_label("pe_array") == "PE array");
  CHECK(component_label("quant_unit") == "quantisation unit");
  CHECK(component_label("something") == "something");
  CHECK(phase_label("fwd") == "forward");
  CHECK(phase_label("wgrad") == "weight gradient (wgrad)");
}

TEST_CASE("gnuplot figures: six inline SVGs plus SVG/PDF/data/script files, deterministic") {
  const ReportInput in = input();
  if (!gnuplot_installed()) {
    WARN("gnuplot is not installed: rendering not tested");
    return;
  }
  const PlotSet a = render_plots(in);
  const PlotSet b = render_plots(in);
  REQUIRE(a.plots.size() == 6);
  REQUIRE(a.files.size() == 24);
  CHECK(a.note.empty());
  for (size_t i = 0; i < 6; ++i) {
    CHECK(a.plots[i].svg == b.plots[i].svg);
    CHECK(a.plots[i].svg.rfind("<svg", 0) == 0);
    CHECK(a.plots[i].svg.find("<?xml") == std::string::npos);
  }
  for (size_t i = 0; i < a.files.size(); ++i) {
    CHECK(a.files[i].name == b.files[i].name);
    CHECK(a.files[i].bytes == b.files[i].bytes);  // the PDFs too (fixed CreationDate)
  }
  CHECK(a.files[0].name == "energy_by_component.tsv");
  CHECK(a.files[3].name == "energy_by_component.pdf");
  CHECK(a.files[3].bytes.rfind("%PDF-", 0) == 0);
  CHECK_THAT(a.files[3].bytes, Catch::Contains("/CreationDate (D:19700101000000"));
  CHECK(a.files[2].bytes.rfind("<?xml", 0) == 0);  // the standalone SVG keeps its prolog
  const std::string html = report_html(in, a);
  CHECK(count(html, "<svg") == 6);
  CHECK(count(html, "src=") == 0);
  CHECK(count(html, "href='#") + count(html, "href=\"#") == count(html, "href="));
  // ids are unique per plot
  CHECK(count(html, "id='p1_gpPt0'") == 1);
  CHECK(count(html, "id='p6_gpPt0'") == 1);
  CHECK(report_md(in, a).find("![Energy by component (one iteration, log scale)](figures/"
                              "energy_by_component.svg)") != std::string::npos);
}

TEST_CASE("GnuplotProcess: started early, fed through a pipe, reaped, leaves nothing behind") {
  {
    GnuplotProcess missing("/nonexistent/gnuplot");
    CHECK_FALSE(missing.available());
  }
  if (!gnuplot_installed()) {
    WARN("gnuplot is not installed: GnuplotProcess not tested");
    return;
  }
  std::filesystem::path dir;
  {
    GnuplotProcess g;
    REQUIRE(g.available());
    dir = g.dir();
    CHECK(std::filesystem::is_directory(dir));
    CHECK(g.draw({{"d.tsv", "1\t2\n2\t4\n"}},
                 "set terminal svg\nset output \"d.svg\"\nplot \"d.tsv\" using 1:2 with lines\n"
                 "unset output\n"));
    CHECK(read_file(dir / "d.svg").find("</svg>") != std::string::npos);
    CHECK_THROWS_AS(g.draw({}, ""), std::logic_error);  // once only
  }
  CHECK_FALSE(std::filesystem::exists(dir));  // the temporary directory went with the object
  {
    GnuplotProcess g;
    CHECK_FALSE(g.draw({}, "plot no_such_variable\n"));  // a gnuplot error is a failed draw
    CHECK_THAT(g.log(), Catch::Contains("no_such_variable"));
  }
  {
    GnuplotProcess never_used;  // killed and reaped by the destructor, not waited for
    dir = never_used.dir();
  }
  CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("write_reports writes three files atomically") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / "lbsim_test_reports_write";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const ReportFiles f = make_reports(input(), "/nonexistent/gnuplot");
  write_reports(dir.string(), f);
  for (const char* name : {"report.json", "report.md", "report.html"}) {
    std::ifstream in(dir / name, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(!text.empty());
  }
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 3);  // no temporary left
  CHECK_THROWS_AS(write_reports((dir / "missing").string(), f), UserError);
  std::filesystem::remove_all(dir);
}
