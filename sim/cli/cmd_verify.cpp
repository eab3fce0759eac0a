// `lbsim verify`: runs the selected layers' training GEMMs (fwd, dgrad, wgrad) through the
// cycle-level PE array (sim/modules/cycle_array.h) on real tensors and checks, per GEMM, that the
// outputs equal the functional reference bit for bit and that the cycle count equals the closed
// form timing mode charges. Exit 0 when everything matches, 1 on any mismatch, 2 on user errors.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/arch/arch_loader.h"
#include "models/core/error.h"
#include "models/core/json_text.h"
#include "models/core/npy.h"
#include "models/core/output.h"
#include "models/core/progress.h"
#include "models/core/stats.h"
#include "models/mac/systolic.h"
#include "models/numerics/i_number_format.h"
#include "models/reference/reference_gemm.h"
#include "models/sim_plan/sim_plan.h"
#include "models/workload/layer_gemms.h"
#include "models/workload/resolve.h"
#include "sim/cli/cli.h"
#include "sim/modules/cycle_array.h"
#include "sim/top/verify.h"

namespace lbsim::cli {

namespace {

struct VerifyArgs {
  std::string arch, workload = "resnet20", layers, data, out = "out/verify", vcd;
  int64_t batch = 0;
  int64_t max_macs = 2000000;
  uint64_t seed = 0;
  std::vector<std::string> params;
  bool inject_fault = false;
  bool all = false;    // --all: no --max-macs budget
  bool quiet = false;  // no progress on stderr
  NpyReadOptions npy;
};

void cmd_verify(const VerifyArgs& v) {
  check_aliasing({{"--arch", v.arch}, {"--workload", v.workload}},
                 {{"--out DIR/verify.json", std::filesystem::path(v.out) / "verify.json"}});
  ArchConfig arch = load_arch_or_default(v.arch, v.params);
  const int64_t batch = v.batch > 0 ? v.batch : (is_file_spec(v.workload) ? 0 : 1);
  const Workload wl = resolve_workload(v.workload, batch);
  if (arch.pe.rows > 256 || arch.pe.cols > 256)
    throw UserError(
        fmt::format("error: verify: a {} x {} array is too large for cycle-level "
                    "simulation here (at most 256 x 256)",
                    arch.pe.rows, arch.pe.cols));

  const int64_t max_macs = v.all ? 0 : v.max_macs;
  LayerSelection selection = select_layers(wl, v.layers, max_macs);
  const std::vector<LayerPlan>& plans = selection.plans;
  std::vector<std::string>& notes = selection.notes;

  std::vector<GemmCase> cases;
  for (const LayerPlan& p : plans) {
    std::vector<GemmCase> c = layer_cases(p, arch, wl.batch, wl.training, v.data, v.npy, v.seed);
    for (GemmCase& g : c) cases.push_back(std::move(g));
  }
  int64_t pe_cycles = 0;
  for (const GemmCase& g : cases)
    pe_cycles += plan_folds(arch.pe.dataflow, arch.pe.rows, arch.pe.cols, g.p.m, g.p.n, g.p.k)
                     .compute_cycles *
                 arch.pe.rows * arch.pe.cols;
  if (!v.vcd.empty() && pe_cycles > 4000000)
    throw UserError(
        fmt::format("error: verify --vcd: {} PE-cycles would make a huge trace; select "
                    "a smaller run (at most 4e6 PE-cycles: --layers or --max-macs)",
                    pe_cycles));
  std::string source = v.data.empty() ? "random" : v.data;
  if (v.data.empty())
    for (const LayerPlan& p : plans)
      if (!p.layer->tensors.empty()) source = "trace tensors (random where absent)";
  std::filesystem::create_directories(v.out);

  // What timing mode charges: the compute cycles of the tiles its tiling plan runs for the op
  // (per group and sample), from the same static plan `lbsim run` simulates.
  std::map<std::pair<std::string, std::string>, const OpWork*> timing_ops;
  std::unique_ptr<SimPlan> sim_plan;
  try {
    sim_plan = std::make_unique<SimPlan>(plan_simulation(arch, wl));
    for (const OpWork& op : sim_plan->ops)
      if (op.kind == OpKind::kGemm) timing_ops[{op.layer, phase_name(op.phase)}] = &op;
  } catch (const UserError& e) {
    notes.push_back(
        fmt::format("timing plan unavailable ({}); cycles compared with the closed "
                    "form of plan_folds",
                    e.what()));
  }
  const auto timing_cycles = [&](const GemmCase& g, std::string& how) {
    const auto it = timing_ops.find({g.layer, g.phase});
    if (it != timing_ops.end() && it->second->m == g.p.m && it->second->n == g.p.n &&
        it->second->k == g.p.k) {
      how = "tiles";
      return it->second->plan.per_group.compute_cycles;
    }
    how = "closed form";  // e.g. the dgrad of a first layer, which the workload does not run
    return plan_folds(arch.pe.dataflow, arch.pe.rows, arch.pe.cols, g.p.m, g.p.n, g.p.k)
        .compute_cycles;
  };

  StatGroup stats("pe_array");
  CycleArrayRunner runner(arch.pe.dataflow, static_cast<int>(arch.pe.rows),
                          static_cast<int>(arch.pe.cols), stats, arch.clock_mhz);
  if (!v.vcd.empty()) runner.open_vcd(v.vcd);

  std::printf("verify: %s (%s %lld x %lld, %s) on %s batch %lld, %s tensors, seed %llu\n",
              arch.name.c_str(), arch.pe.type.c_str(), static_cast<long long>(arch.pe.rows),
              static_cast<long long>(arch.pe.cols), dataflow_name(arch.pe.dataflow),
              wl.network.c_str(), static_cast<long long>(wl.batch), source.c_str(),
              static_cast<unsigned long long>(v.seed));
  for (const std::string& n : notes) std::printf("  note: %s\n", n.c_str());
  if (arch.pe.scalesim_compat)
    std::printf(
        "  note: scalesim_compat is set; cycles are compared with the exact closed form "
        "(timing mode takes one cycle off each GEMM)\n");
  std::printf("%-24s %-6s %7s %7s %7s %5s %9s %10s %12s %12s  %s\n", "layer", "phase", "M", "N",
              "K", "segs", "outputs", "mismatch", "cycle-mode", "timing-mode", "result");

  nlohmann::json jr = nlohmann::json::array();
  bool all_ok = true;
  std::vector<std::string> reports;
  Progress progress("verify", "GEMMs", static_cast<int64_t>(cases.size()),
                    Progress::stderr_is_tty(), v.quiet);
  for (size_t i = 0; i < cases.size(); ++i) {
    const GemmCase& g = cases[i];
    progress.update(static_cast<int64_t>(i), g.layer);
    CycleFault fault;
    fault.enabled = v.inject_fault && i == 0;
    // ws/is move partial sums down the columns: inject where fold 0's sum is complete (the row of
    // its last k), so the flipped bit sits on an accumulated value rather than on the zero that
    // enters the top row, where adding a subnormal would vanish in rounding.
    if (arch.pe.dataflow != Dataflow::kOs)
      fault.row = static_cast<int>(std::min<int64_t>(g.p.k, arch.pe.rows) - 1);
    const CycleRunResult r = runner.run(g.p, arch.pe.accumulator, fault);
    const GemmResult ref = run_reference(g.p, arch.pe.accumulator);
    std::string how;
    const GemmOutcome o = compare(g, r, ref, timing_cycles(g, how));
    all_ok = all_ok && o.ok;
    std::printf("%-24s %-6s %7lld %7lld %7lld %5d %9zu %10llu %12lld %12lld  %s\n", g.layer.c_str(),
                g.phase.c_str(), static_cast<long long>(g.p.m), static_cast<long long>(g.p.n),
                static_cast<long long>(g.p.k), g.p.num_segments, ref.c.size(),
                static_cast<unsigned long long>(o.mismatches), static_cast<long long>(o.cycles),
                static_cast<long long>(o.timing_cycles), o.ok ? "ok" : "MISMATCH");
    if (fault.enabled) reports.push_back("injected fault: " + r.fault_note + "\n");
    if (o.mismatches > 0)
      reports.push_back(fmt::format("{} {}: {} mismatching output(s); first {}", g.layer, g.phase,
                                    o.mismatches, o.first));
    if (o.cycles != o.timing_cycles || o.time_cycles != o.cycles)
      reports.push_back(
          fmt::format("{} {}: cycle mode took {} cycles ({} on the kernel clock), "
                      "timing mode charges {}\n",
                      g.layer, g.phase, o.cycles, o.time_cycles, o.timing_cycles));
    nlohmann::json j = {{"layer", g.layer},
                        {"phase", g.phase},
                        {"m", g.p.m},
                        {"n", g.p.n},
                        {"k", g.p.k},
                        {"segments", g.p.num_segments},
                        {"format_a", g.p.a.q->format->info().name},
                        {"format_b", g.p.b.q->format->info().name},
                        {"outputs", ref.c.size()},
                        {"mismatches", o.mismatches},
                        {"acc_overflows", r.result.acc_overflows},
                        {"folds", r.folds},
                        {"cycle_mode_cycles", o.cycles},
                        {"timing_mode_cycles", o.timing_cycles},
                        {"timing_mode_source", how},
                        {"ok", o.ok}};
    if (o.mismatches > 0) j["first_mismatch"] = o.first_json;
    if (fault.enabled) j["injected_fault"] = r.fault_note;
    jr.push_back(j);
  }
  progress.update(static_cast<int64_t>(cases.size()), cases.empty() ? "" : cases.back().layer);
  for (const std::string& s : reports) std::printf("%s", s.c_str());
  const std::string scope = selection_scope(selection, cases.size(), max_macs);
  std::printf("%s: %s; %s\n", all_ok ? "PASS" : "FAIL", scope.c_str(),
              all_ok ? "all outputs bit-exact and cycle counts equal" : "see the mismatches above");

  nlohmann::json doc;
  doc["arch"] = {{"name", arch.name},
                 {"type", arch.pe.type},
                 {"rows", arch.pe.rows},
                 {"cols", arch.pe.cols},
                 {"dataflow", dataflow_name(arch.pe.dataflow)},
                 {"acc_bits", arch.pe.accumulator.acc_bits}};
  doc["workload"] = {{"name", wl.network}, {"batch", wl.batch}};
  doc["data"] = source;
  doc["seed"] = v.seed;
  doc["pass"] = all_ok;
  doc["scope"] = {{"layers_checked", selection.plans.size()},
                  {"layers_verifiable", selection.verifiable},
                  {"layers_skipped_by_max_macs", selection.skipped_budget},
                  {"layers_not_verifiable", selection.skipped_kind},
                  {"gemms_checked", cases.size()},
                  {"max_macs", max_macs > 0 ? nlohmann::json(max_macs) : nlohmann::json("all")}};
  doc["gemms"] = jr;
  doc["stats"] = nlohmann::json::parse(stats.to_json());
  const std::string path = (std::filesystem::path(v.out) / "verify.json").string();
  write_output_file(path, json_text(doc, 2) + "\n");
  std::string vcd = v.vcd;  // SystemC appends ".vcd" when the name lacks it
  if (!vcd.empty() && (vcd.size() < 4 || vcd.compare(vcd.size() - 4, 4, ".vcd") != 0))
    vcd += ".vcd";
  std::printf("wrote %s%s%s\n", path.c_str(), vcd.empty() ? "" : " and ", vcd.c_str());
  if (!all_ok) set_exit_code(1);
}

void add_verify_commands(CLI::App& app) {
  auto args = std::make_shared<VerifyArgs>();
  auto* c = app.add_subcommand(
      "verify",
      "Run layers' fwd/dgrad/wgrad GEMMs on the cycle-level PE array and check them against the "
      "functional reference (bit for bit) and the timing-mode cycle count");
  c->add_option("--arch", args->arch, "Architecture YAML (default: the built-in default.yaml)");
  c->add_option("-p,--param", args->params,
                "Override an architecture key, e.g. -p pe_array.dataflow=ws (repeatable)");
  c->add_option("--workload", args->workload, "Zoo network name or trace/topology file")
      ->default_val("resnet20");
  add_batch_option(c, args->batch,
                   "Batch (default: 1 for zoo networks, the file's own for traces)");
  c->add_option("--layers", args->layers, "Comma-separated layer names (default: see --max-macs)");
  c->add_option("--max-macs", args->max_macs,
                "Without --layers: take, in order, every conv2d/linear layer whose three GEMMs "
                "fit the remaining budget of this many MACs")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 40))
      ->default_val(2000000);
  c->add_flag("--all", args->all,
              "Check every verifiable conv2d/linear layer (no --max-macs budget)")
      ->excludes("--max-macs");
  c->add_flag("--quiet,-q", args->quiet, "No progress on stderr");
  c->add_option("--data", args->data,
                "Directory of tracer dumps <layer>.activation/.weight/.error.npy (default: a "
                "trace's own `tensors:`, else random tensors)");
  add_npy_bf16_flag(c, args->npy.bf16);
  c->add_option("--seed", args->seed, "Seed of the random tensors and stochastic rounding")
      ->default_val(0);
  c->add_option("--out", args->out, "Output directory for verify.json (created)")
      ->default_val("out/verify");
  c->add_option("--vcd", args->vcd,
                "Write a VCD trace of the array (small runs only; \".vcd\" is appended when "
                "absent)");
  c->add_flag("--inject-fault", args->inject_fault,
              "Testing: flip one accumulator bit in PE (0, 0) during the first GEMM")
      ->group("");
  c->callback([args] { cmd_verify(*args); });
}

}  // namespace

LBSIM_CLI_COMMANDS(add_verify_commands, 35)

}  // namespace lbsim::cli
