#!/usr/bin/env bash
# CLI tests of `lbsim run --mode cycle` (the GEMM tiles computed by the clocked cycle-level array
# inside the timing model). Usage: test_run_cycle.sh path/to/lbsim
# Workload: tests/data/traces/small.yaml (11 GEMMs, a grouped conv) on arch_configs/tiny_4x4.yaml
# (fp32, 1 KiB buffers: whole tiles, fold-range steps and T-chunked folds all occur) in the ws, os
# and is dataflows (is with 256-byte ifmap/ofmap buffers, so it T-chunks too), plus the MLS
# (default) and LUQ 32x32 arrays. Per case:
#  * layers.csv, actions.csv, energy.csv, report.md and report.html are byte-identical between
#    --mode timing and --mode cycle; report.json differs only in the fidelity and seed;
#  * every counter of the timing run's stats.json has the same value in the cycle run's;
#  * the cycle run's pe_array has the per-PE counters, and
#      mac_ops (issued by the PEs)       == sum of layers.csv's macs (and, on the fp32 tiny array,
#                                           == `lbsim workload show`'s total)
#      compute_cycles == busy_cycles     == sum of compute_cycles of the GEMM rows
#      idle_pe_cycles                    == rows x cols x compute_cycles - mac_ops (every PE-cycle of
#                                           the clocked array issues a MAC or idles)
#      operand_reg_writes                >= 2 x mac_ops (os: a MAC needs both operand registers
#                                           written that cycle), >= mac_ops (ws/is: the streamed one)
#      psum_reg_writes                   == 0 for os (partial sums stay in the PEs), > mac_ops - 1
#                                           for ws/is (each MAC's partial sum moves on);
#  * pe_activity.csv (cycle mode only) has one row per PE (row-major), every PE's mac_ops +
#    idle_cycles == compute_cycles, and its columns sum to the pe_array counters;
# and: -p pe_array.fidelity=cycle selects cycle mode (same stats.json as --mode cycle), --mode
# timing overrides it, two cycle runs are byte-identical, --seed changes no count, a bad --mode and
# scalesim_compat at cycle fidelity exit 2 writing nothing.
ARCHS=$(realpath "$(dirname "$0")/../../arch_configs")
source "$(dirname "$0")/common.sh" "$1"
SMALL="$DATA/traces/small.yaml"
TINY="$ARCHS/tiny_4x4.yaml"

"$LBSIM" workload show "$SMALL" >show.txt || fail "workload show failed"
TOTAL_MACS=$(awk '$1 == "total" && $2 == "all" {print $3}' show.txt)
[ -n "$TOTAL_MACS" ] && [ "$TOTAL_MACS" -gt 0 ] || fail "no total MACs in: $(cat show.txt)"

# check_case NAME DATAFLOW ARGS...: timing vs cycle on the small trace.
check_case() {
  local name=$1 df=$2; shift 2
  "$LBSIM" run --workload "$SMALL" "$@" --mode timing --out "$name.t" >"$name.t.txt" ||
    fail "$name: timing run failed"
  "$LBSIM" run --workload "$SMALL" "$@" --mode cycle --out "$name.c" >"$name.c.txt" ||
    fail "$name: cycle run failed: $(cat "$name.c.txt")"
  grep -q '^fidelity:     cycle' "$name.c.txt" || fail "$name: summary lacks the fidelity line"
  for f in layers.csv actions.csv energy.csv report.md report.html; do
    cmp "$name.t/$f" "$name.c/$f" || fail "$name: $f differs between timing and cycle mode"
  done
  [ ! -e "$name.t/pe_activity.csv" ] || fail "$name: timing mode wrote pe_activity.csv"
  $PY - "$name" "$df" "$TOTAL_MACS" <<'PY' || fail "$name: stats checks"
import csv, json, sys
name, df, total_macs = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = json.load(open(f"{name}.t/stats.json"))
c = json.load(open(f"{name}.c/stats.json"))
assert t["run"]["pe_array"]["fidelity"] == "timing", t["run"]["pe_array"]
assert c["run"]["pe_array"]["fidelity"] == "cycle", c["run"]["pe_array"]
assert c["run"]["pe_array"]["dataflow"] == df, c["run"]["pe_array"]
assert c["run"]["seed"] == 0 and "seed" not in t["run"]
for k in t["run"]:
    if k not in ("pe_array", "systemc_delta_cycles"):
        assert t["run"][k] == c["run"][k], (k, t["run"][k], c["run"][k])

def counters(tree, path=""):
    for key, v in tree.items():
        if isinstance(v, dict) and "value" in v and "unit" in v:
            yield path + key, v["value"]
        elif isinstance(v, dict):
            yield from counters(v, path + key + ".")
tc, cc = dict(counters(t["stats"])), dict(counters(c["stats"]))
for k, v in tc.items():
    assert cc.get(k) == v, (k, v, cc.get(k))
extra = sorted(set(cc) - set(tc))
assert extra == ["pe_array.cycle_gemms", "pe_array.idle_pe_cycles",
                 "pe_array.operand_reg_writes", "pe_array.psum_reg_writes"], extra

rows = list(csv.DictReader(open(f"{name}.c/layers.csv", newline="")))
gemm = [r for r in rows if r["op"] == "gemm"]
pe = {k.split(".", 1)[1]: v for k, v in cc.items() if k.startswith("pe_array.")}
R, C = c["run"]["pe_array"]["rows"], c["run"]["pe_array"]["cols"]
assert pe["mac_ops"] == sum(int(r["macs"]) for r in rows), pe
# The fp32 tiny array lowers dgrad by im2col, so its GEMMs are the workload's own; the MLS arrays
# lower it transposed (strided layers' zero taps are MACs too, arch_configs/README.md).
if name in ("ws", "os", "is"):
    assert pe["mac_ops"] == total_macs, (pe["mac_ops"], total_macs)
assert pe["compute_cycles"] == pe["busy_cycles"] == sum(int(r["compute_cycles"]) for r in gemm)
assert pe["idle_pe_cycles"] == R * C * pe["compute_cycles"] - pe["mac_ops"], pe
assert pe["cycle_gemms"] >= 1
per = list(csv.DictReader(open(f"{name}.c/pe_activity.csv", newline="")))
assert [(int(r["row"]), int(r["col"])) for r in per] == [(i, j) for i in range(R) for j in range(C)]
for r in per:
    assert int(r["mac_ops"]) + int(r["idle_cycles"]) == pe["compute_cycles"], r
for col, key in (("mac_ops", "mac_ops"), ("idle_cycles", "idle_pe_cycles"),
                 ("operand_reg_writes", "operand_reg_writes"),
                 ("psum_reg_writes", "psum_reg_writes")):
    assert sum(int(r[col]) for r in per) == pe[key], (col, key)
if df == "os":
    assert pe["operand_reg_writes"] >= 2 * pe["mac_ops"], pe
    assert pe["psum_reg_writes"] == 0, pe
else:
    assert pe["operand_reg_writes"] >= pe["mac_ops"], pe
    assert pe["psum_reg_writes"] >= pe["mac_ops"], pe

rt = json.load(open(f"{name}.t/report.json"))
rc = json.load(open(f"{name}.c/report.json"))
for r in (rt, rc):
    r["run"]["pe_array"].pop("fidelity")
    r["run"].pop("seed", None)
assert rt == rc, "report.json differs beyond fidelity and seed"
PY
}

check_case ws ws --arch "$TINY"
check_case os os --arch "$TINY" -p pe_array.dataflow=os
check_case is is --arch "$TINY" -p pe_array.dataflow=is -p buffers.ifmap.size_bytes=256 \
  -p buffers.ofmap.size_bytes=256
check_case mls os
check_case luq ws --arch "$ARCHS/luq_32x32.yaml" -p pe_array.dataflow=ws

# --- pe_array.fidelity: cycle in the YAML (here -p) selects cycle mode; --mode overrides it.
"$LBSIM" run --workload "$SMALL" --arch "$TINY" -p pe_array.fidelity=cycle --out yaml >/dev/null ||
  fail "fidelity: cycle run failed"
# Same stats but for the provenance of the override (the name says -p, arch_overrides lists it).
same_but_overrides() {
  $PY - "$1" "$2" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for j in (a, b):
    j["run"].pop("arch"); j["run"].pop("arch_overrides")
sys.exit(0 if a == b else 1)
EOF
}
grep -q '"arch": "tiny_4x4 (overridden: -p pe_array.fidelity=cycle)"' yaml/stats.json ||
  fail "the -p run is not named as overridden"
same_but_overrides yaml/stats.json ws.c/stats.json ||
  fail "-p pe_array.fidelity=cycle differs from --mode cycle"
"$LBSIM" run --workload "$SMALL" --arch "$TINY" -p pe_array.fidelity=cycle --mode timing \
  --out over >/dev/null || fail "--mode timing over fidelity: cycle failed"
same_but_overrides over/stats.json ws.t/stats.json ||
  fail "--mode timing does not override fidelity: cycle"

# --- determinism: a second cycle run is byte-identical; another seed changes no count.
"$LBSIM" run --workload "$SMALL" --arch "$TINY" --mode cycle --out again >/dev/null
for f in stats.json layers.csv actions.csv energy.csv report.json report.md report.html; do
  cmp ws.c/$f again/$f || fail "$f differs between two cycle runs"
done
"$LBSIM" run --workload "$SMALL" --arch "$TINY" --mode cycle --seed 7 --out seed7 >/dev/null
cmp ws.c/layers.csv seed7/layers.csv || fail "layers.csv depends on the seed"
$PY - <<'PY' || fail "seed 7 stats"
import json
a, b = json.load(open("ws.c/stats.json")), json.load(open("seed7/stats.json"))
assert b["run"]["seed"] == 7
a["run"].pop("seed"); b["run"].pop("seed")
assert a == b
PY

# --- errors: exit 2, nothing written.
expect_user_error "--mode: banana not in {timing,cycle}" badmode run --mode banana --out badmode
expect_user_error "cycle fidelity needs scalesim_compat: false" compat \
  run --workload "$SMALL" --mode cycle -p pe_array.scalesim_compat=true --out compat
echo "test_run_cycle: ok"
