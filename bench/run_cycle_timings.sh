#!/usr/bin/env bash
# Whole-run timings of `lbsim run --mode cycle` (every GEMM tile computed by the clocked
# cycle-level array inside the timing model) next to the same run in timing mode: simulated
# compute cycles, PE-cycles (rows x cols x compute cycles: the PE updates the clocked array
# performs), wall seconds of both modes, PE-cycles per wall second and the slowdown. One run per
# mode (cycle runs are long), pinned to one core. Figures for the README; nothing is asserted
# (docs/design.md §7).
#
# Usage: bench/run_cycle_timings.sh [path/to/lbsim] [case ...]
# A case is ARCH:NETWORK:BATCH with ARCH a file name in arch_configs/ (default cases: the small
# test trace and ResNet-20 batch 1 on tiny_4x4.yaml, ResNet-20 batch 1 and batch 32 on
# default.yaml). NETWORK may be a zoo name or a path.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LBSIM=$(realpath "${1:-$ROOT/build/lbsim}")
shift || true
CASES=("$@")
if [ ${#CASES[@]} -eq 0 ]; then
  CASES=("tiny_4x4.yaml:$ROOT/tests/data/traces/small.yaml:2" "tiny_4x4.yaml:resnet20:1"
         "default.yaml:resnet20:1" "default.yaml:resnet20:32")
fi
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi

echo "lbsim run --mode timing vs --mode cycle, one run each, ${pin[*]:-unpinned}"
echo
echo "| arch | network | batch | array | compute cycles | PE-cycles | timing wall s | cycle wall s | PE-cycles/s | slowdown |"
echo "|---|---|---:|---|---:|---:|---:|---:|---:|---:|"
i=0
for c in "${CASES[@]}"; do
  IFS=: read -r arch net batch <<<"$c"
  i=$((i + 1))
  walls=()
  for mode in timing cycle; do
    t0=$(date +%s.%N)
    "${pin[@]}" "$LBSIM" run --arch "$ROOT/arch_configs/$arch" --workload "$net" --batch "$batch" \
      --mode "$mode" --out "$work/$i.$mode" >"$work/$i.$mode.txt"
    t1=$(date +%s.%N)
    walls+=("$($PY -c "print(f'{$t1 - $t0:.3f}')")")
    if [ "$mode" = cycle ]; then
      cmp "$work/$i.timing/layers.csv" "$work/$i.cycle/layers.csv" >/dev/null ||
        echo "warning: $c: layers.csv differs between the modes" >&2
    fi
  done
  $PY - "$work/$i.cycle/stats.json" "$arch" "$(basename "$net")" "$batch" "${walls[0]}" \
    "${walls[1]}" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
run, pe = s["run"], s["stats"]["pe_array"]
rows, cols = run["pe_array"]["rows"], run["pe_array"]["cols"]
cc = pe["compute_cycles"]["value"]
pec = cc * rows * cols
tw, cw = float(sys.argv[5]), float(sys.argv[6])
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {run['pe_array']['type']} {rows}x{cols} "
      f"{run['pe_array']['dataflow']} | {cc} | {pec:.3e} | {tw:.3f} | {cw:.3f} | "
      f"{pec / cw / 1e6:.1f} M | {cw / tw:.0f}x |")
PY
done
