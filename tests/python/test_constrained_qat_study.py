"""Smoke test of workloads/tools/constrained_qat_study.py: a LeNet-5 trained in FP32 for a few
steps on 512 Fashion-MNIST images, then the study at 2 bits (int2_sawb), two seeds, k = 1, one
random draw, on 128 training and 100 test images. Checks: the report has every rule's row with
accuracies in [0, 100] and an energy per selection that grows with the layers kept in FP32 (the
all-quantized row is the cheapest), the duals table lists the three quantized layers, the
precision maps it wrote run in `lbsim run`, a second run reuses the per-seed results and writes
the same report byte for byte, and a bad --bits exits 2. Never timed.

Usage: PYTHONPATH=<build>/python /usr/bin/python3 test_constrained_qat_study.py path/to/lbsim
Exit 77 (CTest: skipped) when Debian's dataset-fashion-mnist is not installed.
"""

import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile

import torch
import yaml

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(SOURCE, "workloads", "tools")
sys.path.insert(0, TOOLS)

import constrained_qat_study  # noqa: E402
import train_lowbit  # noqa: E402

LBSIM = os.path.abspath(sys.argv[1])
if not os.path.exists(os.path.join(train_lowbit.DEFAULT_DATA, "t10k-labels-idx1-ubyte.gz")):
    print("skipped: Debian's dataset-fashion-mnist is not installed")
    sys.exit(77)
WORK = tempfile.mkdtemp(prefix="lbsim_cqat_")
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
torch.set_num_threads(1)

run = os.path.join(WORK, "fp32")
assert train_lowbit.main(["--recipe", os.path.join(TOOLS, "recipes", "fp32.yaml"), "--model",
                          "lenet5", "--epochs", "1", "--steps", "8", "--batch", "64",
                          "--train-limit", "512", "--test-limit", "256", "--threads", "1",
                          "--seed", "1", "--no-trace", "--out", run]) == 0
out = os.path.join(WORK, "cq.md")
argv = ["--run", run, "--lbsim", LBSIM, "--out", out, "--bits", "2", "--seeds", "0,1", "--k",
        "1", "--random-draws", "1", "--train-limit", "128", "--test-limit", "100", "--batch", "32"]
assert constrained_qat_study.main(argv) == 0
text = open(out).read()
assert text.startswith("# REDUCED BUDGET: Constrained QAT"), text[:80]
rows = {}
for line in text.splitlines():
    m = re.match(r"\| (all quantized|largest dual|smallest dual|L2 error|energy-aware|random) \| "
                 r"(\d) \| ([0-9.]+) \+- ([0-9.]+) \| ([-+0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \|",
                 line)
    if m:
        rows[(m.group(1), int(m.group(2)))] = (float(m.group(3)), float(m.group(6)))
assert set(rows) == {("all quantized", 0), ("largest dual", 1), ("smallest dual", 1),
                     ("L2 error", 1), ("energy-aware", 1), ("random", 1)}, rows
for acc, energy in rows.values():
    assert 0 <= acc <= 100 and energy > 0
base = rows[("all quantized", 0)][1]
assert all(e >= base for _, e in rows.values()), rows
assert rows[("largest dual", 1)][1] > base  # one layer in fp32 costs more than none
for layer in ("conv2", "fc1", "fc2"):
    assert re.search(rf"^\| {layer} \| [0-9.e-]+ \| \d \|", text, re.M), layer
# The maps are precision maps lbsim runs.
maps = os.path.join(out + ".runs", "maps")
names = sorted(os.listdir(maps))
assert names, maps
doc = yaml.safe_load(open(os.path.join(maps, names[-1])))
assert doc["default"] == {"weight": "int2_sawb", "activation": "int2_sawb"}, doc
assert doc["layers"]["conv1"] == {"weight": "fp32", "activation": "fp32"}
trace = os.path.join(out + ".runs", "trace", "trace.yaml")
arch = os.path.join(SOURCE, "arch_configs", "int8_32x32.yaml")
r = subprocess.run([LBSIM, "run", "-q", "--arch", arch, "--workload", trace, "--precision-map",
                    os.path.join(maps, names[-1]), "--out", os.path.join(WORK, "run")],
                   capture_output=True, text=True)
assert r.returncode == 0, r.stderr
# A rerun reuses the per-seed results: the same report.
assert constrained_qat_study.main(argv) == 0
assert open(out).read() == text
# Bad arguments: exit 2.
try:
    constrained_qat_study.main(argv[:-2] + ["--bits", "3"])
    raise AssertionError("--bits 3 accepted")
except SystemExit as e:
    assert e.code == 2
print("constrained_qat_study smoke test passed")
