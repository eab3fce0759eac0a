"""Smoke test of workloads/tools/ptq_network.py: a LeNet-5 trained in FP32 for a few steps on 512
Fashion-MNIST images, quantized by GPFQ at a precision map (conv1 at 8 bits, fc3 left fp32, the
rest 3 bits) on 32 calibration images, twice. Checks: the quantized weights are k * delta with
|k| <= 2^(B-1) at each layer's width, fc3 is unchanged, both runs give identical weights and
accuracy, the inference trace carries the widths and runs in `lbsim run`; a map naming an unknown
layer exits 2 and writes nothing. Never timed.

Usage: PYTHONPATH=<build>/python /usr/bin/python3 test_ptq_network.py path/to/lbsim
Exit 77 (CTest: skipped) when Debian's dataset-fashion-mnist is not installed.
"""

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(SOURCE, "workloads", "tools")
sys.path.insert(0, TOOLS)

import ptq_network  # noqa: E402
import train_lowbit  # noqa: E402

LBSIM = os.path.abspath(sys.argv[1])
if not os.path.exists(os.path.join(train_lowbit.DEFAULT_DATA, "t10k-labels-idx1-ubyte.gz")):
    print("skipped: Debian's dataset-fashion-mnist is not installed")
    sys.exit(77)
WORK = tempfile.mkdtemp(prefix="lbsim_ptqnet_")
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
torch.set_num_threads(1)

run = os.path.join(WORK, "fp32")
assert train_lowbit.main(["--recipe", os.path.join(TOOLS, "recipes", "fp32.yaml"), "--model",
                          "lenet5", "--epochs", "1", "--steps", "4", "--batch", "64",
                          "--train-limit", "512", "--test-limit", "256", "--threads", "1",
                          "--seed", "1", "--no-trace", "--out", run]) == 0
pmap = os.path.join(WORK, "map.yaml")
with open(pmap, "w") as f:
    f.write("default: 3\nconv1: 8\nfc3: fp32\n")
outs = []
for i in range(2):
    out = os.path.join(WORK, f"q{i}")
    assert ptq_network.main(["--run", run, "--method", "gpfq", "--precision", pmap, "--calib",
                             "32", "--test-limit", "256", "--threads", "1",
                             "--bias-correction", "all", "--out", out]) == 0
    outs.append(out)
w0 = torch.load(os.path.join(outs[0], "weights.pt"))
w1 = torch.load(os.path.join(outs[1], "weights.pt"))
for k in w0:
    assert torch.equal(w0[k], w1[k]), k
with open(os.path.join(outs[0], "summary.json")) as f:
    s0 = json.load(f)
with open(os.path.join(outs[1], "summary.json")) as f:
    assert json.load(f)["test_accuracy"] == s0["test_accuracy"]
fp = torch.load(os.path.join(run, "weights.pt"))
assert torch.equal(w0["fc3.weight"], fp["fc3.weight"])
assert s0["precision"] == {"conv1": 8, "conv2": 3, "fc1": 3, "fc2": 3, "fc3": "fp32"}, s0
for rec in s0["layers"]:
    if rec["bits"] == "fp32":
        continue
    w = w0[rec["layer"] + ".weight"].double().numpy()
    k = w / rec["delta"]
    assert np.abs(k - np.round(k)).max() < 1e-3, rec
    assert np.abs(np.round(k)).max() <= 2 ** (rec["bits"] - 1), rec
    assert rec["bias_corrected"], rec
trace = os.path.join(outs[0], "trace.yaml")
text = open(trace).read()
assert "training: false" in text and "weight: int8" in text and "weight: int3" in text, text
p = subprocess.run([LBSIM, "run", "--arch", os.path.join(SOURCE, "arch_configs",
                                                          "int8_32x32.yaml"),
                    "--workload", trace, "--out", os.path.join(WORK, "run")],
                   capture_output=True, text=True)
assert p.returncode == 0 and "inference pass" in p.stdout, p.stdout + p.stderr

with open(pmap, "w") as f:
    f.write("default: 3\nconv9: 8\n")
bad = os.path.join(WORK, "bad")
assert ptq_network.main(["--run", run, "--precision", pmap, "--out", bad]) == 2
assert not os.path.exists(bad)
print("ptq_network OK")
