#!/usr/bin/env bash
# `lbsim run` energy outputs and `lbsim report --energy TABLE RUN_DIR --out DIR` (models/energy):
#  * run writes actions.csv, energy.csv (layer x phase x component) and energy_actions.csv (op x
#    action) next to stats.json / layers.csv and prints the energy by component; energy.csv is
#    energy_actions.csv summed per (layer, phase, component);
#  * report re-costs the saved action counts with another table without re-simulating into a
#    complete run in --out DIR (or --in-place): the run's files are untouched, re-costing with the
#    run's own table reproduces the run byte for byte, counts are identical, and energies scale
#    exactly with the table (a table
#    with every value doubled; the built-in table at 7 nm: logic x 0.094, SRAM x 0.08, DRAM x 1);
#  * an action the table does not cost is listed as uncosted (empty pj);
#  * bad tables (unknown action, missing source, negative energy) and a directory without
#    actions.csv are user errors: exit 2, file:line:col, nothing written.
ENERGY=$(realpath "$(dirname "$0")/../../arch_configs/energy/45nm.yaml")
source "$(dirname "$0")/common.sh" "$1"

"$LBSIM" run --out r1 >run.txt
for f in stats.json layers.csv actions.csv energy.csv energy_actions.csv; do
  [ -f "r1/$f" ] || fail "r1 lacks $f"
done
grep -q '^energy: ' run.txt || fail "run summary lacks the energy: $(cat run.txt)"
grep -q '^  pe_array ' run.txt || fail "run summary lacks pe_array: $(cat run.txt)"
grep -q 'uncosted' run.txt && fail "the default table leaves actions uncosted: $(cat run.txt)"
cp -r r1 before

# A second table: every pj and every formula doubled.
$PY - "$ENERGY" double.yaml <<'PY'
import sys, yaml
t = yaml.safe_load(open(sys.argv[1]))
for e in t["actions"].values():
    if "pj" in e: e["pj"] = 2 * e["pj"]
    else: e["formula"] = "2 * (" + e["formula"] + ")"
yaml.safe_dump(t, open(sys.argv[2], "w"))
PY
"$LBSIM" report --energy double.yaml r1 --out double >report.txt
grep -q 'uncosted' report.txt && fail "report lists uncosted actions: $(cat report.txt)"
"$LBSIM" report --energy-node 7 r1 --out out/node7 >/dev/null  # parents are created
# Re-costing with the run's own (built-in) table reproduces the run, reports and figures included.
"$LBSIM" report r1 --out same >/dev/null
diff -r r1 same >/dev/null || fail "report with the run's own table differs: $(diff -r r1 same | head)"
diff -r before r1 >/dev/null || fail "report changed r1: $(diff -r before r1 | head)"
for f in stats.json layers.csv actions.csv energy.csv energy_actions.csv report.md figures; do
  [ -e "double/$f" ] && [ -e "out/node7/$f" ] || fail "report --out lacks $f"
done
cmp r1/layers.csv double/layers.csv || fail "re-costing changed layers.csv"
grep -q '"file": ".*double.yaml"' double/stats.json || fail "double/stats.json lacks its table"
grep -q '"node_nm": 7' out/node7/stats.json || fail "node7/stats.json lacks the node"

# Where the re-costed run goes is said, and the run itself is rewritten only when asked.
expect_user_error "say where the re-costed run goes: --out DIR" nowhere report r1
expect_user_error "is the run directory itself; use --in-place" nowhere report r1 --out r1/
expect_user_error "exclude each other" nowhere report r1 --out x --in-place
cp -r r1 inplace
"$LBSIM" report --energy double.yaml inplace --in-place >/dev/null
diff -r double inplace >/dev/null || fail "--in-place differs from --out: $(diff -r double inplace | head)"

$PY - r1/energy_actions.csv double/energy_actions.csv out/node7/energy_actions.csv r1/actions.csv \
  r1/energy.csv double/energy.csv <<'PY' || fail "re-costing checks"
import csv, sys
from collections import OrderedDict
def rows(p): return list(csv.DictReader(open(p)))
base, dbl, n7, acts, agg, agg2 = (rows(p) for p in sys.argv[1:7])
# energy.csv = energy_actions.csv summed per (layer, phase, component), in order of appearance.
for detail, summed in ((base, agg), (dbl, agg2)):
    assert list(summed[0].keys()) == ["layer", "phase", "component", "energy_pj"], summed[0].keys()
    want = OrderedDict()
    for r in detail:
        if r["energy_pj"] != "":
            want.setdefault((r["layer"], r["phase"]), {}).setdefault(r["component"], 0.0)
            want[(r["layer"], r["phase"])][r["component"]] += float(r["energy_pj"])
    flat = [(l, p, c, v) for (l, p), by in want.items() for c, v in sorted(by.items())]
    assert len(flat) == len(summed), (len(flat), len(summed))
    for (l, p, c, v), r in zip(flat, summed):
        assert (l, p, c) == (r["layer"], r["phase"], r["component"]), ((l, p, c), r)
        assert abs(float(r["energy_pj"]) - v) <= 1e-8 * max(1.0, v), (r, v)
assert len(base) == len(dbl) == len(n7) == len(acts) > 100, (len(base), len(dbl), len(n7), len(acts))
assert list(base[0].keys()) == ["layer", "phase", "op", "component", "action", "params", "count",
                                "energy_pj"]
factor = {"dram": 1.0, "pe_array": 0.094, "quant_unit": 0.094, "vector_unit": 0.094}
comps = set()
for b, d, s, a in zip(base, dbl, n7, acts):
    key = (b["layer"], b["phase"], b["op"], b["action"], b["params"], b["count"])
    assert key == (d["layer"], d["phase"], d["op"], d["action"], d["params"], d["count"]), (b, d)
    assert key == (s["layer"], s["phase"], s["op"], s["action"], s["params"], s["count"]), (b, s)
    # the action and its parameters are written as actions.csv writes them
    assert (a["layer"], a["phase"], a["op"], a["action"], a["params"], a["count"]) == key, (a, b)
    pb, pd, ps = float(b["energy_pj"]), float(d["energy_pj"]), float(s["energy_pj"])
    assert abs(pd - 2 * pb) <= 1e-7 * max(1.0, pd), (b, d)
    f = 0.08 if b["component"].startswith("sram_") else factor[b["component"]]
    assert abs(ps - f * pb) <= 1e-7 * max(1.0, pb), (b, s, f)
    comps.add(b["component"])
assert {"pe_array", "dram", "quant_unit", "vector_unit", "sram_ifmap", "sram_filter",
        "sram_ofmap"} <= comps, comps
# The MLS <1,2> default: every conv GEMM has the 2x2 mantissa multiply, one per MAC.
macs = {}
for a in acts:
    if a["action"] == "int_mul":
        assert a["params"] == "a_bits=2;b_bits=2", a
        macs[(a["layer"], a["phase"])] = int(a["count"])
assert len(macs) > 40, len(macs)
PY

# Uncosted: a table without vector_op is an error naming the actions and the table, with
# nothing written; with --allow-missing-costs the rows keep an empty pj and are listed.
$PY - "$ENERGY" novec.yaml <<'PY'
import sys, yaml
t = yaml.safe_load(open(sys.argv[1])); del t["actions"]["vector_op"]
yaml.safe_dump(t, open(sys.argv[2], "w"))
PY
expect_user_error "novec.yaml.*no cost for .* action" novec report --energy novec.yaml r1 --out novec
grep -q 'vector_op{kind=norm} x ' stderr.txt || fail "the error does not list vector_op: $(cat stderr.txt)"
grep -q -- '--allow-missing-costs' stderr.txt || fail "the error does not name the opt-in flag"
"$LBSIM" report --energy novec.yaml r1 --out novec --allow-missing-costs >novec.txt
grep -q '^uncosted actions' novec.txt || fail "uncosted not reported: $(cat novec.txt)"
grep -q 'vector_op{kind=norm} x ' novec.txt || fail "vector_op not listed: $(cat novec.txt)"
grep -q ',vector_unit,vector_op,kind=norm,[0-9]*,$' novec/energy_actions.csv ||
  fail "uncosted row keeps a pj"
grep -q ',vector_unit,' novec/energy.csv && fail "energy.csv has a row for the uncosted vector unit"

# Table errors: exit 2, file:line:col, no output.
sed 's/^  fp_add:$/  fp_addd:/' "$ENERGY" >unknown.yaml
line=$(grep -n '^  fp_addd:' unknown.yaml | cut -d: -f1)
expect_user_error "unknown.yaml:$line:3: error: actions.fp_addd: unknown action 'fp_addd'" \
  bad report --energy unknown.yaml r1 --out bad
sed 's/^    pj: 0.005$/    pj: -0.005/' "$ENERGY" >negative.yaml
line=$(grep -n '^    pj: -0.005' negative.yaml | cut -d: -f1)
expect_user_error "negative.yaml:$line:9: error: actions.pe_register_bits.pj: negative" \
  bad report --energy negative.yaml r1 --out bad
grep -v 'source: "\[D\] docs/energy_provenance.md §3.2: exact fit' "$ENERGY" >nosource.yaml
line=$(grep -n '^  int_add:' nosource.yaml | cut -d: -f1)
expect_user_error "nosource.yaml:$line:3: error: actions.int_add: missing source" \
  bad report --energy nosource.yaml r1 --out bad
expect_user_error "^--energy-node: error: node: node 22 nm has no entry in scaling.nodes; allowed: 45, 28, 16, 14, 7" \
  bad report --energy-node 22 r1 --out bad
expect_user_error "^--energy-node: error: node: node 5 nm has no entry" badrun run --energy-node 5 --out badrun
mkdir empty
expect_user_error "empty/actions.csv: error: cannot open" e2 report empty --out e2
# A run directory whose files were edited or replaced is validated like any other input (fuzz
# regressions: nlohmann type_error aborts, a directory read as a file).
cp -r r1 edited
$PY - <<'PY'
import json
j = json.load(open("edited/stats.json"))
j["run"]["pe_array"]["rows"] = "abc"
json.dump(j, open("edited/stats.json", "w"))
PY
rm -f edited/report.json
expect_user_error "edited/stats.json: error: run.pe_array.rows: expected an integer in \[1, 1048576\], got \"abc\"" \
  eo report edited --out eo
$PY - <<'PY'
import json
j = json.load(open("edited/stats.json"))
j["run"]["pe_array"] = [1, 2]
json.dump(j, open("edited/stats.json", "w"))
PY
expect_user_error "edited/stats.json: error: run.pe_array: expected an object, got \[1,2\]" \
  eo report edited --out eo
rm -rf dir_run && mkdir -p dir_run/actions.csv
expect_user_error "dir_run/actions.csv: error: cannot open file: is a directory, not a file" \
  dro report dir_run --out dro
# run with a bad table writes nothing.
expect_user_error "actions.fp_addd: unknown action" badrun/stats.json \
  run --energy unknown.yaml --out badrun
[ ! -e badrun/actions.csv ] || fail "run with a bad table wrote actions.csv"

# A run into an existing directory replaces the earlier run as a whole: a cycle-mode run's
# pe_activity.csv does not survive a timing run there, and a directory holding the user's own
# files is refused with nothing written.
"$LBSIM" run --arch "$DATA/../../arch_configs/tiny_4x4.yaml" --workload "$DATA/traces/small.yaml" --mode cycle --out mixed >/dev/null
[ -f mixed/pe_activity.csv ] || fail "cycle run lacks pe_activity.csv"
"$LBSIM" run --arch "$DATA/../../arch_configs/tiny_4x4.yaml" --workload "$DATA/traces/small.yaml" --out mixed >/dev/null
[ ! -e mixed/pe_activity.csv ] || fail "a stale pe_activity.csv survived the next run"
mkdir mine && echo keep >mine/notes.txt
expect_user_error "holds files lbsim did not write (notes.txt)" mine/stats.json run --out mine
# ... and before it simulates (no progress line): a long run is not wasted on a refused --out.
if grep -q "^run: " stderr.txt; then fail "run --out mine was refused only after simulating"; fi
[ "$(cat mine/notes.txt)" = keep ] && [ "$(ls mine)" = notes.txt ] || fail "refused run touched mine/"
echo "report CLI: OK"
