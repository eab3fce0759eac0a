// `lbsim sweep SWEEP.yaml` and `lbsim sweep-merge DIR... --out DIR`: thin shells over the sweep
// engine (sim/top/sweep.h; file format in arch_configs/sweeps/README.md).
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/core/input_file.h"
#include "models/sweep/sweep_spec.h"
#include "sim/cli/cli.h"
#include "sim/top/sweep.h"

namespace lbsim::cli {

namespace {

struct SweepArgs {
  std::string file, out = "out/sweep", shard;
  int jobs = 0;
  bool resume = false, quiet = false, no_summary = false;
  std::string emit_slurm, partition, time = "01:00:00";
  int64_t shards = 0, cpus_per_task = 2;
};

// "K/N" -> (K, N); UserError naming the flag otherwise.
std::pair<int64_t, int64_t> parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  try {
    if (slash != std::string::npos) {
      size_t a = 0, b = 0;
      const int64_t k = std::stoll(text.substr(0, slash), &a);
      const int64_t n = std::stoll(text.substr(slash + 1), &b);
      if (a == slash && b == text.size() - slash - 1 && n >= 1 && k >= 0 && k < n) return {k, n};
    }
  } catch (const std::exception&) {
  }
  throw UserError(
      fmt::format("error: --shard '{}': expected K/N with 0 <= K < N (e.g. 0/4)", text));
}

std::string self_exe() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("lbsim") : p.string();
}

void print_outcome(const std::string& what, const SweepOutcome& r, const std::string& dir,
                   bool summary) {
  std::printf(
      "%s: %lld points in the sweep, %lld in this run: %lld simulated, %lld resumed, %lld "
      "failed; %.2f s (%.2f points/s)\n",
      what.c_str(), static_cast<long long>(r.points_total), static_cast<long long>(r.points_shard),
      static_cast<long long>(r.points_run), static_cast<long long>(r.points_resumed),
      static_cast<long long>(r.points_failed), r.wall_s,
      r.wall_s > 0 ? static_cast<double>(r.points_run) / r.wall_s : 0.0);
  if (r.jobs_run > 0)
    std::printf(
        "workers:      %lld processes, %d at a time, %.2f s CPU in all; peak memory %.1f MB per "
        "worker; overhead %.1f ms per point (wall x workers - worker CPU, per point)\n",
        static_cast<long long>(r.jobs_run), r.jobs, r.worker_cpu_s,
        static_cast<double>(r.worker_max_rss_kib) / 1024.0,
        r.points_run > 0 ? 1e3 * (r.wall_s * r.jobs - r.worker_cpu_s) / r.points_run : 0.0);
  for (const auto& f : r.failures) std::printf("failed: %s\n", f.c_str());
  const std::filesystem::path d(dir);
  std::printf("wrote:        %s, %s, %s\n", (d / "results.jsonl").string().c_str(),
              (d / "results.csv").string().c_str(), (d / "sweep.json").string().c_str());
  if (summary)
    std::printf("wrote:        %s, %s, %s/\n", (d / "summary.md").string().c_str(),
                (d / "summary.html").string().c_str(), (d / "figures").string().c_str());
  if (r.points_failed > 0) set_exit_code(1);
}

void cmd_sweep(const SweepArgs& a) {
  const std::string text = read_input_file(a.file);
  const SweepSpec spec = parse_sweep(text, a.file);
  if (!a.emit_slurm.empty()) {
    if (a.shards < 1) throw UserError("error: --emit-slurm needs --shards N (N >= 1)");
    SlurmOptions o;
    o.dir = a.emit_slurm;
    o.shards = a.shards;
    o.partition = a.partition;
    o.time = a.time;
    o.cpus_per_task = a.cpus_per_task;
    o.lbsim = self_exe();
    o.sweep_file = std::filesystem::absolute(a.file).lexically_normal().string();
    o.out_dir = std::filesystem::absolute(a.out).lexically_normal().string();
    const std::string commands = emit_slurm(spec, o);
    std::printf("lbsim sweep: %s: %zu points as a Slurm job array of %lld shards\n",
                spec.name.c_str(), spec.points.size(), static_cast<long long>(a.shards));
    std::printf("wrote:        %s/sweep.sbatch, %s/merge.sbatch, %s/submit.sh\nsubmit with:\n%s",
                a.emit_slurm.c_str(), a.emit_slurm.c_str(), a.emit_slurm.c_str(), commands.c_str());
    return;
  }
  SweepOptions o;
  o.out_dir = a.out;
  o.jobs = a.jobs;
  o.resume = a.resume;
  if (!a.shard.empty()) std::tie(o.shard, o.shards) = parse_shard(a.shard);
  o.quiet = a.quiet;
  o.tty = isatty(STDERR_FILENO) != 0;
  o.summary = !a.no_summary;
  o.version = version();
  o.sweep_file_text = text;
  const SweepOutcome r = run_sweep(spec, o);
  print_outcome("lbsim sweep: " + spec.name, r, a.out, o.summary);
}

void add_sweep_commands(CLI::App& app) {
  auto args = std::make_shared<SweepArgs>();
  auto* c = app.add_subcommand(
      "sweep",
      "Run a sweep file (bit-widths, formats, array shapes, energy tables) in parallel worker "
      "processes; write results.jsonl, results.csv and a summary");
  c->add_option("sweep", args->file, "Sweep YAML (arch_configs/sweeps/README.md)")->required();
  c->add_option("--out", args->out, "Output directory (created)")->default_val("out/sweep");
  c->add_option("--jobs,-j", args->jobs, "Worker processes (default: the number of cores)")
      ->check(CLI::Range(1, 4096));
  c->add_flag("--resume", args->resume,
              "Continue the sweep in --out: skip points already recorded (refused when the sweep "
              "or a file it reads changed)");
  c->add_option("--shard", args->shard, "Run shard K of N (K/N): the points with index % N == K");
  c->add_flag("--quiet,-q", args->quiet, "No progress on stderr");
  c->add_flag("--no-summary", args->no_summary, "Skip summary.md/summary.html and figures");
  c->add_option("--emit-slurm", args->emit_slurm,
                "Write Slurm scripts (sweep.sbatch job array, merge.sbatch, submit.sh) to DIR "
                "instead of running");
  c->add_option("--shards", args->shards, "--emit-slurm: number of shards (array tasks)")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}));
  c->add_option("--partition", args->partition, "--emit-slurm: Slurm partition");
  c->add_option("--time", args->time, "--emit-slurm: time limit per task (Slurm format)")
      ->default_val("01:00:00");
  c->add_option("--cpus-per-task", args->cpus_per_task, "--emit-slurm: CPUs (= --jobs) per task")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}))
      ->default_val(2);
  c->callback([args] { cmd_sweep(*args); });

  auto margs = std::make_shared<std::pair<std::vector<std::string>, std::string>>();
  auto* m = app.add_subcommand(
      "sweep-merge",
      "Join the output directories of a sweep's shards (--shard K/N) into one: every point "
      "exactly once, same sweep file");
  m->add_option("dirs", margs->first, "Shard output directories")->required();
  m->add_option("--out", margs->second, "Output directory of the merged sweep")->required();
  m->callback([margs] {
    const SweepOutcome r = merge_sweeps(margs->first, margs->second, true, version());
    print_outcome("lbsim sweep-merge", r, margs->second, true);
  });
}

}  // namespace

LBSIM_CLI_COMMANDS(add_sweep_commands, 7)

}  // namespace lbsim::cli
