#!/usr/bin/env bash
# The sweep benchmark: 1,000 points of ResNet-20 training (batch 32) on array shapes
# (bench/sweep_1000.yaml), all worker processes in parallel (--jobs = cores unless JOBS is set).
# Prints the sweep's own summary: wall time, points/s, worker CPU, peak memory per worker and the
# per-point overhead = (wall x workers - CPU of all workers) / points, i.e. the time the sweep
# machinery (forking, waiting, recording) adds beyond the points' own work.
# Usage: bash bench/run_sweep_bench.sh [path/to/lbsim]   (default: build/lbsim)
set -euo pipefail
cd "$(dirname "$0")/.."
LBSIM=${1:-build/lbsim}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
jobs=${JOBS:-$(nproc)}
echo "machine: $(nproc) cores; lbsim $("$LBSIM" --version 2>/dev/null || echo '?'); --jobs $jobs"
"$LBSIM" sweep bench/sweep_1000.yaml --out "$out/s" --jobs "$jobs" --quiet
# One point alone, for comparison: the same simulation as a single lbsim run (no reports written
# by the sweep; the run writes its reports).
/usr/bin/time -f "one lbsim run of a point: %e s wall, %U s user, %M KB peak" \
  "$LBSIM" run --workload resnet20 --batch 32 -p pe_array.rows=40 -p pe_array.cols=40 \
  --out "$out/one" >/dev/null
