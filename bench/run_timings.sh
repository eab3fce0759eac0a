#!/usr/bin/env bash
# Whole-run timings of `lbsim run` (timing mode): wall time, SystemC delta cycles (events), tiles,
# jobs and simulated cycles for one training iteration of ResNet-20, ResNet-50 and VGG-16 at
# batch 32 on arch_configs/default.yaml (MLS <1,2> 32x32 output-stationary), pinned to one core.
# Figures for the README; nothing is asserted (docs/design.md §7).
#
# Usage: bench/run_timings.sh [path/to/lbsim] [repeats]
# Prints a Markdown table; the wall time is the best of `repeats` runs (default 3).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LBSIM=$(realpath "${1:-$ROOT/build/lbsim}")
REPEATS=${2:-3}
ARCH="$ROOT/arch_configs/default.yaml"
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi

echo "lbsim run, $(basename "$ARCH"), batch 32, best of $REPEATS, ${pin[*]:-unpinned}"
echo
echo "| network | ops | tiles | jobs | SystemC delta cycles | simulated cycles | simulated ms | wall s |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for net in resnet20 resnet50 vgg16; do
  best=""
  for ((i = 0; i < REPEATS; ++i)); do
    t0=$(date +%s.%N)
    "${pin[@]}" "$LBSIM" run --arch "$ARCH" --workload "$net" --batch 32 --out "$work/$net" -q \
      >"$work/$net.txt"
    t1=$(date +%s.%N)
    wall=$($PY -c "print(f'{$t1 - $t0:.3f}')")
    if [ -z "$best" ] || $PY -c "import sys; sys.exit(0 if $wall < $best else 1)"; then
      best=$wall
    fi
  done
  $PY - "$work/$net/stats.json" "$net" "$best" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))["run"]
print(f"| {sys.argv[2]} | {run['ops']} | {run['tiles']} | {run['jobs']} | "
      f"{run['systemc_delta_cycles']} | {run['total_cycles']} | {run['time_ms']:.3f} | "
      f"{sys.argv[3]} |")
PY
done
