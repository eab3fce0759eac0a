#!/usr/bin/env bash
# Figures (reports/plots.cpp): `lbsim run` writes figures/ beside report.html, per figure NAME.svg,
# NAME.pdf, NAME.tsv (data) and NAME.gp (the gnuplot script that redraws both). Structure, not
# pixels:
#  * exactly the six figures, four files each;
#  * each SVG parses as XML and shows its title and axis labels, with units and no "2e+07" ticks;
#  * each data file's header names the expected columns (units in the names), and the data add up
#    to the run's totals (cycles of stats.json, energy of report.json);
#  * each PDF is a PDF; `gnuplot NAME.gp` in a copy of figures/ redraws the same SVG;
#  * the same run twice gives byte-identical figures; a run into the same directory replaces
#    figures/ (a stale file goes);
#  * a network with more than 40 layers (ResNet-20: 69) draws one bar per block (layer1.0, ...).
source "$(dirname "$0")/common.sh" "$1"
command -v gnuplot >/dev/null || fail "gnuplot is not installed (Debian package gnuplot-nox)"

"$LBSIM" run --out r1 >run.txt
grep -q 'r1/figures (6 figures' run.txt || fail "the run summary does not name figures/: $(cat run.txt)"

$PY - r1 <<'PY' || fail "figure structure"
import json, os, re, sys
import xml.etree.ElementTree as ET
d = sys.argv[1]
f = os.path.join(d, "figures")
names = ["energy_by_component", "energy_by_phase", "layer_latency", "layer_utilization",
         "layer_bound", "roofline"]
want_files = sorted(n + e for n in names for e in (".tsv", ".gp", ".svg", ".pdf"))
assert sorted(os.listdir(f)) == want_files, sorted(os.listdir(f))
E = r"(pJ|nJ|µJ|mJ|J)"
C = r"(cycles|k cycles|M cycles|G cycles)"
texts = {  # title and axis labels each SVG must show (regular expressions)
    "energy_by_component": [r"^Energy by component \(one iteration, log scale\)$",
                            rf"^energy \({E}, log scale\)$", r"^PE array$", r"^SRAM \(ifmap\)$",
                            r"^DRAM$"],
    "energy_by_phase": [r"^Energy by phase and component", rf"^energy \({E}\)$", r"^forward$",
                        r"^PE array$", r"^SRAM \(filter\)$"],
    "layer_latency": [r"^Per-layer latency by phase$", rf"^latency \({C}\)$", r"^forward$",
                      r"^69 layers summed into 15 blocks", r"^layer1\.0$", r"^linear$"],
    "layer_utilization": [r"^Per-layer PE-array utilisation",
                          r"^utilisation \(% of PE-array MAC slots\)$", r"^layer3\.2\.conv2$"],
    "layer_bound": [r"^Per-layer compute vs memory-stall cycles", rf"^cycles \({C}\)$",
                    r"^compute$", r"^stall \(memory\)$"],
    "roofline": [r"^Roofline: achieved MACs/cycle per layer and phase",
                 r"^arithmetic intensity \(MACs per DRAM byte\)$", r"^achieved MACs/cycle$",
                 r"^roof: 1024 MACs/cycle, DRAM [0-9.]+ B/cycle$", r"^forward$"],
}
for n in names:
    root = ET.parse(os.path.join(f, n + ".svg")).getroot()
    assert root.tag.endswith("svg"), (n, root.tag)
    shown = [("".join(t.itertext())).strip() for t in root.iter() if t.tag.endswith("text")]
    shown = [s for s in shown if s]
    for pat in texts[n]:
        assert any(re.search(pat, s) for s in shown), (n, pat, shown[:40])
    bad = [s for s in shown if re.fullmatch(r"-?[0-9.]+e[+-]?[0-9]+", s)]
    assert not bad, (n, "exponent tick labels", bad)
    assert "uJ" not in " ".join(shown), (n, "uJ instead of µJ")
    pdf = open(os.path.join(f, n + ".pdf"), "rb").read()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF"), n
    gp = open(os.path.join(f, n + ".gp")).read()
    for s in (f'"{n}.tsv"', f'set output "{n}.svg"', f'set output "{n}.pdf"'):
        assert s in gp, (n, s)

def table(n):
    lines = open(os.path.join(f, n + ".tsv"), encoding="utf-8").read().splitlines()
    assert lines[0].startswith("# "), (n, lines[0])
    head = lines[0][2:].split("\t")
    rows = [l.split("\t") for l in lines[1:]]
    assert all(len(r) == len(head) for r in rows), (n, head, rows[:3])
    return head, rows

stats = json.load(open(os.path.join(d, "stats.json")))["run"]
rep = json.load(open(os.path.join(d, "report.json")))
scale = {"pJ": 1, "nJ": 1e3, "uJ": 1e6, "mJ": 1e9, "J": 1e12,
         "cycles": 1, "kcycles": 1e3, "Mcycles": 1e6, "Gcycles": 1e9}
phases = list(rep["totals"]["energy_by_phase_pj"])

head, rows = table("energy_by_component")
assert head[0] == "component" and head[2] == "share_pct", head
unit = head[1].split("_")[1]
assert head[1] == "energy_" + unit and unit in scale, head
assert abs(sum(float(r[2]) for r in rows) - 100) < 0.01 * len(rows)
e = sum(float(r[1]) for r in rows) * scale[unit]
assert abs(e - rep["totals"]["energy_pj"]) <= 1e-6 * e, (e, rep["totals"]["energy_pj"])

head, rows = table("energy_by_phase")
unit = head[1].rsplit("_", 1)[1]
assert head[0] == "phase" and all(h.endswith("_" + unit) for h in head[1:]), head
assert sorted(h[: -len(unit) - 1] for h in head[1:]) == sorted(rep["totals"]["energy_by_component_pj"])
e = sum(float(x) for r in rows for x in r[1:]) * scale[unit]
assert abs(e - rep["totals"]["energy_pj"]) <= 1e-6 * e, e

head, rows = table("layer_latency")
unit = head[1].rsplit("_", 1)[1]
assert head == ["layer"] + [p + "_" + unit for p in phases], (head, phases)
c = sum(float(x) for r in rows for x in r[1:]) * scale[unit]
assert abs(c - stats["total_cycles"]) <= 1e-6 * c, (c, stats["total_cycles"])

head, rows = table("layer_bound")
unit = head[1].rsplit("_", 1)[1]
assert head == ["layer", "compute_" + unit, "stall_" + unit], head
c = sum(float(x) for r in rows for x in r[1:]) * scale[unit]
assert abs(c - stats["total_cycles"]) <= 1e-6 * c, c

head, rows = table("layer_utilization")
assert head == ["layer", "utilization_pct", "macs", "cycles"], head
assert sum(int(r[2]) for r in rows) == stats["total_macs"]
assert all(0 <= float(r[1]) <= 100 for r in rows)

head, rows = table("roofline")
assert head == ["layer", "phase", "macs", "dram_bytes", "cycles", "intensity_macs_per_byte",
                "macs_per_cycle"], head
assert rows and all(r[1] in phases for r in rows)
for r in rows:
    assert abs(float(r[5]) - int(r[2]) / int(r[3])) <= 1e-8 * float(r[5]), r
    assert 0 < float(r[6]) <= 1024, r
PY

# Re-plottable: the scripts redraw the same SVGs from the data files alone.
cp -r r1/figures replot
(cd replot && rm -f ./*.svg ./*.pdf && for g in ./*.gp; do gnuplot "$g"; done) ||
  fail "gnuplot could not re-run the figure scripts"
for s in r1/figures/*.svg; do cmp "$s" "replot/$(basename "$s")" || fail "$s redraws differently"; done
[ "$(ls replot/*.pdf | wc -l)" -eq 6 ] || fail "the scripts did not redraw the PDFs"

# Deterministic; a run into the same directory replaces figures/.
"$LBSIM" run --out r2 >/dev/null
diff -r r1/figures r2/figures >/dev/null || fail "figures differ between identical runs"
touch r2/figures/stale.svg
"$LBSIM" run --out r2 >/dev/null
[ ! -e r2/figures/stale.svg ] || fail "a stale figure survived a new run"
if ls r2 | grep -q 'tmp-lbsim'; then fail "a temporary file was left in r2"; fi

# More than 40 layers (ResNet-20: 69): one bar per block, in network order; the utilisation
# figure has 20 MAC layers, one bar each.
$PY - r1 <<'PY' || fail "large-network layer selection"
import sys
rows = [l.split("\t")[0] for l in open(sys.argv[1] + "/figures/layer_latency.tsv").read().splitlines()[1:]]
want = ["conv1", "bn1", "relu"] + [f"layer{s}.{b}" for s in (1, 2, 3) for b in (0, 1, 2)] + [
    "avgpool", "linear", "loss"]
assert rows == want, rows
rows = open(sys.argv[1] + "/figures/layer_utilization.tsv").read().splitlines()[1:]
assert len(rows) == 20 and rows[1].startswith("layer1.0.conv1\t"), rows
PY
echo "test_figures: OK"
