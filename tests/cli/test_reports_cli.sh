#!/usr/bin/env bash
# Reports (reports/): `lbsim run` writes report.json, report.md and report.html next to stats.json,
# layers.csv, actions.csv, energy.csv and energy_actions.csv:
#  * report.json has schema_version 2 and one op entry per layers.csv row, with the same values;
#  * energy.csv summed per layer x phase x component gives report.json's per layer x phase energy
#    and, over everything, its total;
#  * report.html is self-contained (no src=, only href="#...") with one inline <svg> per figure (6;
#    figures/ is checked by test_figures.sh);
#  * the whole-training estimate: ceil(dataset / batch) x epochs iterations x the iteration;
#    the fine-tune (--fnt-run) is costed from a separate fp32 run;
#  * the same run twice gives byte-identical files;
#  * `lbsim report --energy TABLE RUN_DIR --in-place` regenerates the reports with the new table (training
#    estimate kept), not with --out elsewhere;
#  * without gnuplot on PATH the reports are written without plots and say so;
#  * inconsistent training flags are user errors with nothing written.
ENERGY=$(realpath "$(dirname "$0")/../../arch_configs/energy/45nm.yaml")
FP32=$(realpath "$(dirname "$0")/../../arch_configs/fp32_32x32.yaml")
source "$(dirname "$0")/common.sh" "$1"
command -v gnuplot >/dev/null || fail "gnuplot is not installed (Debian package gnuplot-nox)"

ALL="stats.json layers.csv actions.csv energy.csv energy_actions.csv report.json report.md report.html"
"$LBSIM" run --out r1 --dataset-size 50000 --epochs 2 >run.txt
for f in $ALL; do [ -s "r1/$f" ] || fail "r1 lacks $f"; done
grep -q 'report.html' run.txt || fail "run summary does not name the reports: $(cat run.txt)"
if ls r1 | grep -q 'tmp-lbsim'; then fail "a temporary file was left in r1"; fi

check_reports() {  # DIR EXPECTED_SVGS
  $PY - "$1" "$2" <<'PY'
import csv, json, math, re, sys
d, svgs = sys.argv[1], int(sys.argv[2])
rep = json.load(open(f"{d}/report.json"))
stats = json.load(open(f"{d}/stats.json"))["run"]
assert rep["schema"] == "lbsim-report" and rep["schema_version"] == 2, rep["schema_version"]
rows = list(csv.DictReader(open(f"{d}/layers.csv")))
assert len(rep["ops"]) == len(rows) > 100, (len(rep["ops"]), len(rows))
for op, r in zip(rep["ops"], rows):
    for k in ("layer", "phase", "op"):
        assert op[k] == r[k], (op[k], r)
    for k in ("m", "n", "k", "macs", "folds", "cycles", "compute_cycles", "stall_cycles",
              "quant_ops", "vector_ops"):
        assert op[k] == int(r[k]), (k, op, r)
    for k in ("ifmap_sram_read_bytes", "filter_sram_read_bytes", "ofmap_sram_write_bytes",
              "dram_read_bytes", "dram_write_bytes"):
        assert op["traffic"][k] == int(r[k]), (k, op, r)
    assert abs(op["utilization_fraction"] - float(r["utilization_fraction"])) < 1e-12, (op, r)
    assert op["bound"] == ("memory" if int(r["stall_cycles"]) > int(r["compute_cycles"]) else "compute")
assert rep["totals"]["cycles"] == stats["total_cycles"] == sum(int(r["cycles"]) for r in rows)

# energy.csv per layer x phase x component (its energy_pj has 9 significant digits: tolerance 1e-8)
sums = {}
for e in csv.DictReader(open(f"{d}/energy.csv")):
    key = (e["layer"], e["phase"], e["component"])
    assert key not in sums, ("one row per layer x phase x component", key)
    sums[key] = float(e["energy_pj"])
total = rep["totals"]["energy_pj"]
assert total > 0
assert abs(sum(sums.values()) - total) <= 1e-8 * total, (sum(sums.values()), total)
assert abs(sum(rep["totals"]["energy_by_component_pj"].values()) - total) <= 1e-9 * total
assert abs(sum(rep["totals"]["energy_by_phase_pj"].values()) - total) <= 1e-9 * total
seen = set()
for lp in rep["layer_phases"]:
    for comp, pj in lp["energy_by_component_pj"].items():
        want = sums.get((lp["layer"], lp["phase"], comp), 0.0)
        assert abs(pj - want) <= 1e-8 * max(1.0, want), (lp["layer"], lp["phase"], comp, pj, want)
        seen.add((lp["layer"], lp["phase"], comp))
assert set(sums) <= seen, set(sums) - seen

html = open(f"{d}/report.html").read()
assert html.count("<svg") == svgs, html.count("<svg")
assert not re.search(r"\bsrc\s*=", html), "external src"
hrefs = re.findall(r"href\s*=\s*['\"]([^'\"]*)", html)
assert all(h.startswith("#") for h in hrefs), [h for h in hrefs if not h.startswith("#")]
assert "<link" not in html and "@import" not in html
md = open(f"{d}/report.md").read()
assert md.startswith("# lbsim report: resnet20 on ") and "## Energy by component" in md
print(total)
PY
}
check_reports r1 6 >total1.txt || fail "r1 report checks"

# Training estimate: ceil(50000 / 32) = 1563 iterations per epoch, x 2 epochs.
$PY - r1 <<'PY' || fail "training estimate"
import json, sys
rep = json.load(open(sys.argv[1] + "/report.json"))
t, run = rep["training_estimate"], rep["run"]
assert (t["iterations_per_epoch"], t["iterations"], t["batch"]) == (1563, 3126, 32), t
it_s = run["total_cycles"] / (run["clock_mhz"] * 1e6)
assert abs(t["time_s"] - 3126 * it_s) <= 1e-9 * t["time_s"], t
assert abs(t["energy_j"] - 3126 * rep["totals"]["energy_pj"] * 1e-12) <= 1e-9 * t["energy_j"], t
assert t["fine_tune"] is None and t["total_energy_j"] == t["energy_j"]
assert run["smp_samples"] == 1
PY
grep -q '## Whole-training estimate' r1/report.md || fail "report.md lacks the training estimate"

# Determinism: the same run again gives byte-identical files.
"$LBSIM" run --out r2 --dataset-size 50000 --epochs 2 >/dev/null
for f in $ALL; do cmp "r1/$f" "r2/$f" || fail "$f differs between identical runs"; done

# Re-costing regenerates the reports (every energy doubled, the estimate kept and re-costed).
$PY - "$ENERGY" double.yaml <<'PY'
import sys, yaml
t = yaml.safe_load(open(sys.argv[1]))
for e in t["actions"].values():
    if "pj" in e: e["pj"] = 2 * e["pj"]
    else: e["formula"] = "2 * (" + e["formula"] + ")"
yaml.safe_dump(t, open(sys.argv[2], "w"))
PY
cp r1/report.json before.json
"$LBSIM" report --energy double.yaml r2 --out elsewhere >/dev/null
for f in report.json report.md report.html; do
  cmp "r1/$f" "r2/$f" || fail "report --out elsewhere changed r2/$f"
done
"$LBSIM" report --energy double.yaml r1 --in-place >report.txt
grep -q 'report.html' report.txt || fail "report does not name the regenerated reports"
check_reports r1 6 >total2.txt || fail "r1 report checks after re-costing"
$PY - before.json r1/report.json <<'PY' || fail "re-costed report"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert abs(b["totals"]["energy_pj"] - 2 * a["totals"]["energy_pj"]) <= 1e-9 * b["totals"]["energy_pj"]
assert b["energy_table"]["file"].endswith("double.yaml"), b["energy_table"]
assert b["ops"][0]["cycles"] == a["ops"][0]["cycles"]
ta, tb = a["training_estimate"], b["training_estimate"]
assert tb["iterations"] == ta["iterations"] == 3126
assert abs(tb["energy_j"] - 2 * ta["energy_j"]) <= 1e-9 * tb["energy_j"]
assert tb["time_s"] == ta["time_s"]
PY
cmp r1/report.json r2/report.json >/dev/null && fail "re-costing left report.json unchanged"

# LUQ-style fine-tune from a separate fp32 run, costed with the same (built-in) table.
"$LBSIM" run --arch "$FP32" --out f32 >/dev/null
"$LBSIM" report r2 --in-place --dataset-size 50000 --epochs 2 --fnt-epochs 1 --fnt-run f32 >/dev/null
$PY - r2/report.json f32 <<'PY' || fail "fine-tune estimate"
import csv, json, sys
rep = json.load(open(sys.argv[1]))
f32 = json.load(open(sys.argv[2] + "/stats.json"))["run"]
pj = sum(float(e["energy_pj"]) for e in csv.DictReader(open(sys.argv[2] + "/energy.csv")))
t = rep["training_estimate"]
f = t["fine_tune"]
assert f["pe_type"] == "fp32" and f["epochs"] == 1 and f["iterations"] == 1563, f
assert abs(f["energy_j"] - 1563 * pj * 1e-12) <= 1e-8 * f["energy_j"], (f, pj)
assert abs(f["time_s"] - 1563 * f32["total_cycles"] / (f32["clock_mhz"] * 1e6)) <= 1e-9 * f["time_s"]
assert abs(t["total_energy_j"] - (t["energy_j"] + f["energy_j"])) <= 1e-9 * t["total_energy_j"]
PY

# Without gnuplot: the reports are still written, without plots, and say so.
env PATH=/nonexistent "$LBSIM" run --out r3 >run3.txt
check_reports r3 0 >/dev/null || fail "r3 report checks"
grep -q 'gnuplot not found' r3/report.html || fail "report.html does not say gnuplot is missing"
grep -q 'gnuplot not found' r3/report.md || fail "report.md does not say gnuplot is missing"
grep -q 'gnuplot not found' run3.txt || fail "run does not say gnuplot is missing"

# Inconsistent training flags: user errors, nothing written.
expect_user_error '--dataset-size' bad1 run --out bad1 --epochs 2
expect_user_error '--fnt-run' bad2 run --out bad2 --dataset-size 10 --epochs 1 --fnt-epochs 1
expect_user_error 'stats.json' bad3 run --out bad3 --dataset-size 10 --epochs 1 --fnt-epochs 1 \
  --fnt-run nowhere
cp r2/report.json r2.json
expect_user_error '--fnt-run' x report r2 --out x --epochs 1 --dataset-size 5 --fnt-epochs 1
cmp r2.json r2/report.json || fail "a failed report changed r2/report.json"
echo "test_reports_cli: OK"
