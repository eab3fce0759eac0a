// reports/: layers.csv parsing, the per layer x phase aggregation and compute/memory-bound rule,
// the energy-to-op matching, the whole-training estimate, report.json's schema, the HTML/Markdown
// writers and the gnuplot plots (rendered when gnuplot is installed; a missing gnuplot gives a
// note). Expected values are derived by hand in the comments.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
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
  r.action = "x";
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
  CHECK(j["schema_version"] == 1);
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

TEST_CASE("gnuplot plots: five inline SVGs, deterministic, only internal references") {
  const ReportInput in = input();
  const std::vector<PlotSource> src = plot_sources(in);
  REQUIRE(src.size() == 5);
  CHECK(src[0].name == "energy_by_component");
  // components sorted, uJ = pJ x 1e-6
  CHECK(src[0].data == "dram\t5e-06\npe_array\t3e-05\nvector_unit\t2e-06\n");
  CHECK(src[2].name == "layer_latency");
  CHECK(src[2].data == "conv\t200\t0\na,b\t0\t100\n");  // cycles by phase fwd, dgrad
  // conv: 80 / (200 x 4) = 10 %, a,b: 40 / (100 x 4) = 10 %
  CHECK(src[3].data == "conv\t10.000000\na,b\t10.000000\n");
  CHECK(src[4].data == "conv\t130\t70\na,b\t100\t0\n");
  if (!gnuplot_installed()) {
    WARN("gnuplot is not installed: rendering not tested");
    return;
  }
  const PlotSet a = render_plots(in);
  const PlotSet b = render_plots(in);
  REQUIRE(a.plots.size() == 5);
  CHECK(a.note.empty());
  for (size_t i = 0; i < 5; ++i) {
    CHECK(a.plots[i].svg == b.plots[i].svg);
    CHECK(a.plots[i].svg.rfind("<svg", 0) == 0);
    CHECK(a.plots[i].svg.find("<?xml") == std::string::npos);
  }
  const std::string html = report_html(in, a);
  CHECK(count(html, "<svg") == 5);
  CHECK(count(html, "src=") == 0);
  CHECK(count(html, "href='#") + count(html, "href=\"#") == count(html, "href="));
  // ids are unique per plot
  CHECK(count(html, "id='p1_gpPt0'") == 1);
  CHECK(count(html, "id='p5_gpPt0'") == 1);
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
