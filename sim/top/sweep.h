// The sweep engine behind `lbsim sweep` and `lbsim sweep-merge` (arch_configs/sweeps/README.md).
//
// run_sweep():
//   1. validates everything before anything runs: every workload resolves, every point's
//      architecture loads with its overrides and every energy table loads (one bad point: a
//      UserError naming the point, its axis values, the key and the allowed values; exit 2,
//      nothing written);
//   2. runs the points of its shard (--shard K/N: the points whose index % N == K) in worker
//      processes (ChildPool, --jobs at a time). One job = one simulation = one workload of the
//      points sharing an architecture (they differ only in energy axes, which re-cost the same
//      action counts). A failing job records its error and the sweep goes on;
//   3. appends each finished point to results.jsonl as one line (one write(), then fsync), so a
//      sweep killed at any moment loses at most the points in flight; --resume skips the points
//      already recorded, matched by the hash of each point's fully resolved configuration (the
//      architecture and energy-table file contents, overrides, workloads, numerics options), and
//      refuses when the sweep file or a point's configuration changed;
//   4. at the end rewrites results.jsonl sorted by point, writes results.csv (SweepTable) and the
//      summary. The result files are byte-identical whatever --jobs is and in whatever order the
//      points finished.
// merge_sweeps() joins shard directories: same sweep (hash) and shard count, every point present
// exactly once; it writes what a local run writes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/sweep/sweep_spec.h"
#include "models/sweep/sweep_table.h"

namespace lbsim {

struct SweepOptions {
  std::string out_dir = "out/sweep";
  int jobs = 0;  // 0 = the number of online CPUs
  bool resume = false;
  int64_t shard = 0, shards = 1;  // run the points with index % shards == shard
  bool quiet = false;
  bool tty = false;     // progress as a redrawn bar (stderr is a terminal) or as plain lines
  bool summary = true;  // summary.md / summary.html / figures
  std::string version;  // lbsim version, recorded in sweep.json
  std::string sweep_file_text;  // the sweep file's bytes (hashed)
};

struct SweepOutcome {
  int64_t points_total = 0;    // in the sweep
  int64_t points_shard = 0;    // in this shard
  int64_t points_resumed = 0;  // already recorded
  int64_t points_run = 0, points_failed = 0;
  double wall_s = 0;
  int64_t worker_max_rss_kib = 0;     // the largest peak memory of any worker process
  double worker_cpu_s = 0;            // CPU time of all worker processes
  int64_t jobs_run = 0;               // worker processes started (simulations + numerics)
  int jobs = 0;                       // worker processes at a time
  std::vector<std::string> failures;  // "point 3 (m=1, e=2) resnet20: message"
};

SweepOutcome run_sweep(const SweepSpec& spec, const SweepOptions& options);

// Joins shard output directories into `out_dir` (results.jsonl, results.csv, summary, sweep.json).
SweepOutcome merge_sweeps(const std::vector<std::string>& dirs, const std::string& out_dir,
                          bool summary, const std::string& version);

// Slurm job-array scripts for a sweep (sweep.sbatch, merge.sbatch, submit.sh) in `dir`.
struct SlurmOptions {
  std::string dir;
  int64_t shards = 1;
  std::string partition;  // "" = the cluster's default
  std::string time = "01:00:00";
  int64_t cpus_per_task = 2;
  std::string lbsim;       // absolute path of the lbsim executable
  std::string sweep_file;  // absolute path
  std::string out_dir;     // absolute path; shards go to out_dir/shard-K, merged to out_dir
};
// Returns the commands that submit them (printed by the CLI).
std::string emit_slurm(const SweepSpec& spec, const SlurmOptions& o);

// Turns results.jsonl records into the results table (what results.csv and the summary show).
SweepTable sweep_table_from_records(const std::string& name, const std::vector<std::string>& axes,
                                    const std::vector<std::string>& records_jsonl_lines);

}  // namespace lbsim
