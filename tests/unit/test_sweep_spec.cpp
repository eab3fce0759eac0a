#include <catch2/catch.hpp>
#include <string>

#include "models/core/error.h"
#include "models/sweep/sweep_spec.h"

using namespace lbsim;

namespace {
SweepSpec parse(const std::string& body) {
  return parse_sweep("schema_version: 1\nworkloads: [{workload: resnet20, batch: 2}]\n" + body,
                     "dir/s.yaml");
}
std::string error_of(const std::string& body) {
  try {
    parse(body);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("sweep: Cartesian product, first dimension outermost, templates, formats on all roles") {
  const SweepSpec s = parse(
      "vars: {m: [1, 2], e: [2, 3]}\n"
      "axes:\n"
      "  pe_array.formats: \"mls_m{m}e{e}\"\n"
      "  pe_array.rows: [16, 32]\n");
  REQUIRE(s.axis_names == std::vector<std::string>{"m", "e", "pe_array.formats", "pe_array.rows"});
  CHECK(s.var_names == std::vector<std::string>{"m", "e"});
  REQUIRE(s.points.size() == 8);
  CHECK(s.points[0].axis_values == std::vector<std::string>{"1", "2", "mls_m1e2", "16"});
  CHECK(s.points[1].axis_values == std::vector<std::string>{"1", "2", "mls_m1e2", "32"});
  CHECK(s.points[2].axis_values == std::vector<std::string>{"1", "3", "mls_m1e3", "16"});
  CHECK(s.points[7].axis_values == std::vector<std::string>{"2", "3", "mls_m2e3", "32"});
  CHECK(s.points[7].index == 7);
  CHECK(s.points[2].params == std::vector<std::string>{"pe_array.formats.weight=mls_m1e3",
                                                       "pe_array.formats.activation=mls_m1e3",
                                                       "pe_array.formats.error=mls_m1e3",
                                                       "pe_array.rows=16"});
  CHECK(s.points[2].param_locs[3].line == 6);
  CHECK(s.points[2].label() == "m=1, e=3, pe_array.formats=mls_m1e3, pe_array.rows=16");
  CHECK(s.name == "s");
  REQUIRE(s.workloads.size() == 1);
  CHECK(s.workloads[0].spec == "resnet20");
  CHECK(s.workloads[0].batch == 2);
}

TEST_CASE("sweep: ranges, zip, exclude, energy axes share a simulation") {
  const SweepSpec s = parse(
      "base: {params: [mapping.dgrad_lowering=im2col]}\n"
      "axes:\n"
      "  pe_array.rows: {from: 8, to: 64, mul: 2}\n"
      "  pe_array.cols: {from: 8, to: 64, mul: 2}\n"
      "  pe_array.dataflow: [os, ws]\n"
      "  energy.node: [45, 7]\n"
      "zip: [[pe_array.rows, pe_array.cols]]\n"
      "exclude: [{pe_array.rows: 64, pe_array.dataflow: ws}]\n");
  // 4 shapes x 2 dataflows x 2 nodes = 16, minus (64, ws) x 2 nodes.
  REQUIRE(s.points.size() == 14);
  CHECK(s.points[0].axis_values == std::vector<std::string>{"8", "8", "os", "45"});
  CHECK(s.points[1].axis_values == std::vector<std::string>{"8", "8", "os", "7"});
  CHECK(s.points[0].energy_node == 45);
  CHECK(s.points[0].sim_key == s.points[1].sim_key);
  CHECK(s.points[0].sim_key != s.points[2].sim_key);
  CHECK(s.points[0].params[0] == "mapping.dgrad_lowering=im2col");
  CHECK(s.points[13].axis_values == std::vector<std::string>{"64", "64", "os", "7"});
  const SweepSpec t = parse("axes: {pe_array.rows: {from: 4, to: 13, step: 3}}\n");
  REQUIRE(t.points.size() == 4);
  CHECK(t.points[3].axis_values[0] == "13");
}

TEST_CASE("sweep: paths resolve against the sweep file") {
  const SweepSpec s = parse_sweep(
      "base: {arch: ../x.yaml}\nworkloads: [{workload: t/net.yaml}]\n"
      "axes: {energy.table: [builtin, e.yaml]}\n",
      "a/b/s.yaml");
  CHECK(s.arch == "a/x.yaml");
  CHECK(s.workloads[0].spec == "a/b/t/net.yaml");
  CHECK(s.workloads[0].label == "t/net.yaml");
  CHECK(s.points[0].energy_table.empty());
  CHECK(s.points[1].energy_table == "a/b/e.yaml");
}

TEST_CASE("sweep: every mistake is a file:line:col error") {
  CHECK_THAT(
      error_of("axes: {pe_array.rows: [1, 2]}\nzipp: []\n"),
      Catch::Contains("dir/s.yaml:4:7: error: zipp") && Catch::Contains("did you mean 'zip'"));
  CHECK_THAT(error_of("vars: {m: [1]}\naxes: {pe_array.formats: \"mls_m{n}e2\"}\n"),
             Catch::Contains("dir/s.yaml:4:26") && Catch::Contains("unknown axis 'n'") &&
                 Catch::Contains("did you mean 'm'"));
  CHECK_THAT(error_of("axes: {pe_array.rows: [1, 2], pe_array.cols: [1]}\n"
                      "zip: [[pe_array.rows, pe_array.cols]]\n"),
             Catch::Contains("dir/s.yaml:4:23") && Catch::Contains("need the same number"));
  CHECK_THAT(error_of("axes: {pe_array.rows: [1, 2]}\nexclude: [{pe_array.row: 1}]\n"),
             Catch::Contains("dir/s.yaml:4:12") && Catch::Contains("unknown axis 'pe_array.row'"));
  CHECK_THAT(error_of("axes: {pe_array.rows: {from: 8, to: 4, mul: 2}}\n"),
             Catch::Contains("4 is below from (8)"));
  CHECK_THAT(error_of("axes: {pe_array.rows: {from: 8, to: 64}}\n"),
             Catch::Contains("exactly one of 'mul' and 'step'"));
  CHECK_THAT(error_of("axes: {energy.node: [45, 0]}\n"),
             Catch::Contains("dir/s.yaml:3:26") && Catch::Contains("'0' is not a node"));
  CHECK_THAT(error_of("axes: {pe_array.rows: [1]}\nexclude: [{pe_array.rows: 1}]\n"),
             Catch::Contains("every point is excluded"));
  CHECK_THAT(error_of("axes: {a.b: {from: 1, to: 100000, step: 1}, c.d: {from: 1, to: 100, "
                      "step: 1}}\n"),
             Catch::Contains("10000000 points before exclusions"));
  CHECK_THROWS_WITH(
      parse_sweep("workloads: []\n", "w.yaml"),
      Catch::Contains("w.yaml:1:12: error: workloads") && Catch::Contains("at least one workload"));
}

TEST_CASE("sweep: duplicate keys, complex keys and a lowered point cap (fuzz regressions)") {
  CHECK_THAT(error_of("axes: {pe_array.rows: [1, 2], pe_array.rows: [4]}\n"),
             Catch::Contains("dir/s.yaml:3:31: error: axes.pe_array.rows: duplicate key (first "
                             "at line 3)"));
  CHECK_THAT(error_of("axes: {? [pe_array.rows]: [1, 2]}\n"),
             Catch::Contains("dir/s.yaml:3:10: error: a mapping key must be a plain name"));
  const std::string four =
      "schema_version: 1\nworkloads: [{workload: resnet20}]\n"
      "axes: {pe_array.rows: [1, 2], pe_array.cols: [1, 2]}\n";
  CHECK(parse_sweep(four, "f.yaml", 4).points.size() == 4);
  CHECK_THROWS_WITH(parse_sweep(four, "f.yaml", 3),
                    "f.yaml: error: the sweep has 4 points before exclusions; at most 3 are "
                    "allowed");
}

TEST_CASE("sweep: a repeated label is one error per repeat, naming the first (fuzz regression)") {
  std::string many = "schema_version: 1\nworkloads: [";
  for (int i = 0; i < 300; ++i) many += "{workload: resnet20}, ";
  many += "]\n";
  std::string what;
  try {
    parse_sweep(many, "w.yaml");
  } catch (const UserError& e) {
    what = e.what();
  }
  CHECK_THAT(what, Catch::StartsWith("w.yaml:2:35: error: workloads[1].label: duplicate workload "
                                     "label 'resnet20' (first used at w.yaml:2:13)\n"));
  // 299 repeats (not 300 * 299 / 2 = 44,850 pairs), of which Diagnostics shows the first 50.
  CHECK_THAT(what, Catch::EndsWith("\nerror: 249 more errors not shown"));
}

TEST_CASE("sweep: fnv1a_hex is the 64-bit FNV-1a") {
  CHECK(fnv1a_hex("") == "cbf29ce484222325");
  CHECK(fnv1a_hex("a") == "af63dc4c8601ec8c");
}
