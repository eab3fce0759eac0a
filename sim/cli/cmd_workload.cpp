// Workload subcommands: `workload list` (the model zoo), `workload show SPEC` (per-layer MACs and
// per-phase totals of a zoo network, trace or SCALE-Sim topology; optionally written as a trace)
// and `workload import-scalesim` (SCALE-Sim topology CSV -> training trace). Every input is read
// and validated, and the output text built, before the output file is written (atomically).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>

#include "models/core/error.h"
#include "models/core/output.h"
#include "models/workload/resolve.h"
#include "models/workload/scalesim_csv.h"
#include "models/workload/trace_io.h"
#include "models/workload/workload.h"
#include "models/workload/zoo.h"
#include "sim/cli/cli.h"

namespace lbsim::cli {

namespace {

constexpr Phase kAllPhases[] = {Phase::kFwd, Phase::kDgrad, Phase::kWgrad, Phase::kUpdate};

int64_t checked_sum(int64_t a, int64_t b, const std::string& what) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) throw UserError("error: " + what + " overflows 64 bits");
  return r;
}

const char* source_name(WorkloadSource s) {
  switch (s) {
    case WorkloadSource::kZoo:
      return "zoo";
    case WorkloadSource::kTrace:
      return "trace";
    case WorkloadSource::kScaleSimCsv:
      return "SCALE-Sim topology";
  }
  return "?";
}

std::string shape_list(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// The per-layer table and the per-phase totals (see `workload show --help`).
std::string summary(const ResolvedWorkload& r) {
  const Workload& w = r.workload;
  size_t name_w = 5, type_w = 4;
  for (const auto& l : w.layers) {
    name_w = std::max(name_w, l.name.size());
    type_w = std::max(type_w, std::string(layer_type_name(l.type)).size());
  }
  std::string out =
      fmt::format("workload {} ({}): batch {}, input {}, {}, smp_samples {}, {} layers\n",
                  w.network, source_name(r.source), w.batch, shape_list(w.input),
                  w.training ? "training" : "inference", w.smp_samples, w.layers.size());
  out += fmt::format("{:<{}}  {:<{}}  {:>16}  {:>16}  {:>16}  {:>16}\n", "layer", name_w, "type",
                     type_w, "fwd MACs", "dgrad MACs", "wgrad MACs", "vector elements");
  int64_t vector_total = 0;
  for (const auto& l : w.layers) {
    int64_t macs[4] = {0, 0, 0, 0}, elements = 0;
    for (const auto& op : l.ops) {
      int64_t& m = macs[static_cast<int>(op.phase)];
      m = checked_sum(m, op.macs(), "layer '" + l.name + "' MACs");
      if (op.kind == OpKind::kVector)
        elements = checked_sum(elements, op.elements, "layer '" + l.name + "' vector elements");
    }
    vector_total = checked_sum(vector_total, elements, "total vector elements");
    out += fmt::format("{:<{}}  {:<{}}  {:>16}  {:>16}  {:>16}  {:>16}\n", l.name, name_w,
                       layer_type_name(l.type), type_w, macs[0], macs[1], macs[2], elements);
  }
  int64_t all = 0;
  for (Phase p : kAllPhases) {
    const int64_t t = w.total_macs(p);
    all = checked_sum(all, t, "total MACs");
    out += fmt::format("total {:<6}  {:>20} MACs  {:>14.3f} GMAC\n", phase_name(p), t, t / 1e9);
  }
  out += fmt::format("total {:<6}  {:>20} MACs  {:>14.3f} GMAC\n", "all", all, all / 1e9);
  out += fmt::format("total vector elements  {}\n", vector_total);
  out +=
      "(the network's own MACs; `lbsim run` with mapping.dgrad_lowering=transposed, as the "
      "shipped architectures, also executes the zero taps of strided layers' dgrad and prints "
      "both counts)\n";
  return out;
}

void require_trace_path(const std::string& out) {
  if (!is_trace_path(out))
    throw UserError(fmt::format(
        "<cmdline --out>: error: '{}': a trace is written as .yaml, .yml or .json", out));
}

struct ShowArgs {
  std::string spec, out;
  int64_t batch = 0;
  bool no_ops = false;
};

void cmd_list() {
  const std::vector<std::string> names = zoo_names();
  size_t width = 0;
  for (const auto& n : names) width = std::max(width, n.size());
  for (const auto& n : names)
    std::printf("%-*s  %s\n", static_cast<int>(width), n.c_str(), zoo_description(n).c_str());
}

void cmd_show(const ShowArgs& a) {
  check_aliasing({{"the workload", a.spec}}, {{"--out", a.out}});
  if (!a.out.empty()) require_trace_path(a.out);
  ResolvedWorkload r = resolve_workload_spec(a.spec, a.batch);
  const std::string text = summary(r);
  if (!a.out.empty()) {
    TraceWriteOptions opt;
    opt.shapes_chain = r.shapes_chain;
    opt.ops = !a.no_ops;
    write_trace(r.workload, a.out, opt);
  }
  std::fputs(text.c_str(), stdout);
  if (!a.out.empty()) std::printf("wrote %s\n", a.out.c_str());
}

void cmd_import(const ShowArgs& a) {
  check_aliasing({{"the topology", a.spec}}, {{"--out", a.out}});
  require_trace_path(a.out);
  Workload w = import_scalesim_csv(a.spec, a.batch > 0 ? a.batch : 1);
  try {
    expand_workload(w);
  } catch (const UserError& e) {
    throw UserError(fmt::format("{}: error: {}", a.spec, e.what()));
  }
  TraceWriteOptions opt;
  opt.shapes_chain = false;  // SCALE-Sim topologies list only the GEMM layers
  opt.ops = !a.no_ops;
  write_trace(w, a.out, opt);
  std::printf("imported %zu layers of %s (batch %lld) -> %s\n", w.layers.size(), a.spec.c_str(),
              static_cast<long long>(w.batch), a.out.c_str());
}

void add_batch_flag(CLI::App* c, ShowArgs& a, const std::string& meaning) {
  add_batch_option(c, a.batch, meaning);
}

void add_workload_commands(CLI::App& app) {
  auto* wl = app.add_subcommand("workload", "Training workloads: model zoo, traces, SCALE-Sim");
  wl->require_subcommand(1);

  auto* list = wl->add_subcommand("list", "List the model-zoo networks");
  list->callback([] { cmd_list(); });

  auto sa = std::make_shared<ShowArgs>();
  auto* show = wl->add_subcommand(
      "show",
      "Per-layer fwd/dgrad/wgrad MACs and vector elements, and per-phase totals, of a zoo "
      "network, a trace (.yaml/.yml/.json) or a SCALE-Sim topology (.csv)");
  show->add_option("spec", sa->spec, "Zoo network name, trace file or SCALE-Sim .csv")->required();
  add_batch_flag(show, *sa,
                 fmt::format("Samples per iteration (default: zoo {}, SCALE-Sim 1, a trace its "
                             "own; a trace with recorded ops cannot change it)",
                             kDefaultZooBatch));
  show->add_option("--out", sa->out, "Also write the workload as a trace (.yaml/.yml/.json)");
  show->add_flag("--no-ops", sa->no_ops, "With --out: omit the ops (the reader expands them)");
  show->callback([sa] { cmd_show(*sa); });

  auto ia = std::make_shared<ShowArgs>();
  auto* imp = wl->add_subcommand(
      "import-scalesim",
      "Convert a SCALE-Sim topology CSV into a training trace (shapes_chain: false)");
  imp->add_option("csv", ia->spec, "SCALE-Sim topology .csv (conv or GEMM form)")->required();
  add_batch_flag(imp, *ia, "Samples per iteration; scales conv-form layers only (default 1)");
  imp->add_option("--out", ia->out, "Output trace (.yaml/.yml/.json)")->required();
  imp->add_flag("--no-ops", ia->no_ops, "Omit the ops (the reader expands them)");
  imp->callback([ia] { cmd_import(*ia); });
}

}  // namespace

LBSIM_CLI_COMMANDS(add_workload_commands, 40)

}  // namespace lbsim::cli
