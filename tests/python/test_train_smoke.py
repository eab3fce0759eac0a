"""Smoke test of workloads/tools/train_lowbit.py for one recipe: LeNet-5 on the first 512
Fashion-MNIST training images (3 epochs of 8 steps of 64; exact: 3 epochs of 3 steps of 32),
twice with the same seed.
Checks: every loss and weight is finite, the mean train loss of the last epoch is below the first
epoch's, and both runs give identical weights. Never timed.

Usage: PYTHONPATH=<build>/python /usr/bin/python3 test_train_smoke.py path/to/lbsim RECIPE [gemm]
  RECIPE: a file name in workloads/tools/recipes without .yaml; gemm: fast (default) or exact.
  With RECIPE = outputs: one full train_lowbit.py run (fast, int8) whose trace.yaml must load in
  `lbsim workload show` and run in `lbsim run` on the recipe's architecture.
Exit 77 (CTest: skipped) when Debian's dataset-fashion-mnist is not installed.
"""

import atexit
import csv
import math
import os
import shutil
import subprocess
import sys
import tempfile

import torch

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(SOURCE, "workloads", "tools")
sys.path.insert(0, TOOLS)

import train_lowbit  # noqa: E402

LBSIM = os.path.abspath(sys.argv[1])
NAME = sys.argv[2]
GEMM = sys.argv[3] if len(sys.argv) > 3 else "fast"
DATA = train_lowbit.DEFAULT_DATA


def common_args(recipe, out):
    return ["--recipe", os.path.join(TOOLS, "recipes", f"{recipe}.yaml"), "--model", "lenet5",
            "--gemm", GEMM, "--seed", "3", "--out", out, "--batch", "64", "--train-limit", "512",
            "--test-limit", "256", "--threads", "1", "--lr", "0.1"]


def smoke():
    # exact: every GEMM through the reference (seconds per step), so 3 epochs of 3 steps of 32.
    size = ["--epochs", "3"] if GEMM == "fast" else ["--epochs", "3", "--steps", "3", "--batch",
                                                     "32"]
    args = train_lowbit.parse_args(common_args(NAME, "unused") + size)
    runs = []
    for _ in range(2):
        model, recipe, rows = train_lowbit.train(args, log=lambda s: None)
        runs.append((model.state_dict(), rows))
    (w0, rows), (w1, rows1) = runs
    for r in rows:
        for k in ("train_loss", "test_loss", "first_loss", "last_loss"):
            assert math.isfinite(r[k]), (NAME, r)
    for k, v in w0.items():
        if v.is_floating_point():
            assert torch.isfinite(v).all(), (NAME, k)
        assert torch.equal(v, w1[k]), f"{NAME}: same seed, different {k}"
    assert rows == rows1, (rows, rows1)
    first, last = rows[0]["train_loss"], rows[-1]["train_loss"]
    assert last < first, f"{NAME}: train loss did not fall: {[r['train_loss'] for r in rows]}"
    print(f"{NAME} ({GEMM}): train loss {first:.3f} -> {last:.3f}, test accuracy "
          f"{rows[-1]['test_accuracy']:.3f}; same seed -> identical weights")


def outputs():
    out = tempfile.mkdtemp(prefix="lbsim_train_")
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    argv = common_args("int8", out) + ["--epochs", "2", "--first-last-fp32"]
    assert train_lowbit.main(argv) == 0
    for f in ("metrics.csv", "weights.pt", "trace.yaml", "summary.json"):
        assert os.path.exists(os.path.join(out, f)), f
    rows = list(csv.DictReader(open(os.path.join(out, "metrics.csv"))))
    assert [r["epoch"] for r in rows] == ["1", "2"], rows
    trace = os.path.join(out, "trace.yaml")
    text = open(trace).read()
    assert "precision: {weight: fp32, activation: fp32, error: fp32}" in text, text[:2000]
    assert "precision: {weight: dfp8, activation: dfp8, error: dfp8}" in text, text[:2000]
    p = subprocess.run([LBSIM, "workload", "show", trace], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    arch = os.path.join(SOURCE, "arch_configs", "int8_32x32.yaml")
    p = subprocess.run([LBSIM, "run", "--arch", arch, "--workload", trace, "--out",
                        os.path.join(out, "run")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    # A bad argument: exit 2, nothing written.
    bad = os.path.join(out, "bad")
    assert train_lowbit.main(common_args("int8", bad) + ["--data-dir", "/nonexistent"]) == 2
    assert not os.path.exists(bad)
    print("train_lowbit.py outputs: metrics.csv, weights.pt, summary.json, trace.yaml "
          "(lbsim run ok)")


if __name__ == "__main__":
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        print(f"skipped: {DATA} not found (apt-get install dataset-fashion-mnist)")
        sys.exit(77)
    outputs() if NAME == "outputs" else smoke()
    print("OK")
