"""Test of workloads/tools/lowbit_study.py on a tiny budget: LeNet-5, FP32 and INT8, 2 seeds of
128 training images (1 epoch of 2 steps of 64) and 64 test images; INT8 also exact at a smaller
budget (64 training images, 32 test images), paired with a fast INT8 run at that budget.
Checks: the title says "reduced budget" with the budget; the exact run and its fast pair are
trained at the exact budget (their summary.json) and the fast-vs-exact row compares those two;
a second run reuses every training run (nothing retrained); a run whose arguments differ from
what --work holds stops with a message. Never timed.

Usage: PYTHONPATH=<build>/python /usr/bin/python3 test_lowbit_study.py path/to/lbsim
Exit 77 (CTest: skipped) when Debian's dataset-fashion-mnist is not installed.
"""

import atexit
import json
import os
import shutil
import sys
import tempfile

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(SOURCE, "workloads", "tools")
sys.path.insert(0, TOOLS)

import lowbit_study  # noqa: E402
import train_lowbit  # noqa: E402

LBSIM = os.path.abspath(sys.argv[1])


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}")
        sys.exit(1)


def main():
    if not os.path.exists(os.path.join(train_lowbit.DEFAULT_DATA,
                                       "train-images-idx3-ubyte.gz")):
        print("skipped: Fashion-MNIST not installed")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="lowbit_study_")
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    out, work = os.path.join(tmp, "r.md"), os.path.join(tmp, "runs")
    argv = ["--lbsim", LBSIM, "--out", out, "--work", work, "--threads", "1", "--model", "lenet5",
            "--recipes", "fp32,int8", "--seeds", "0,1", "--exact", "int8", "--batch", "64",
            "--epochs", "1", "--train-limit", "128", "--test-limit", "64",
            "--exact-train-limit", "64", "--exact-test-limit", "32"]
    check(lowbit_study.main(argv) == 0, "the study runs")
    with open(out) as f:
        report = f.read()
    check(report.startswith("# Low-bit training on Fashion-MNIST (reduced budget: LeNet-5, 128 "
                            "images, 1 epoch, 2 seeds)\n"), "reduced-budget title")
    check(os.path.exists(os.path.join(tmp, "r.svg")) or not shutil.which("gnuplot"), "figure")
    runs = sorted(os.listdir(work))
    check(runs == ["fp32_fast_s0", "fp32_fast_s1", "int8_exact_s0_e1_n64_t32",
                   "int8_fast_s0", "int8_fast_s0_e1_n64_t32", "int8_fast_s1"], f"runs {runs}")
    acc = {}
    for name in ("int8_exact_s0_e1_n64_t32", "int8_fast_s0_e1_n64_t32"):
        with open(os.path.join(work, name, "summary.json")) as f:
            s = json.load(f)
        check((s["args"]["train_limit"], s["args"]["test_limit"], s["args"]["gemm"]) ==
              (64, 32, name.split("_")[1]), f"{name} trained at the exact budget")
        acc[s["args"]["gemm"]] = s["final_test_accuracy"]
    row = (f"| INT8 (dfp8) | {acc['fast'] * 100:.2f} | {acc['exact'] * 100:.2f} | "
           f"{(acc['exact'] - acc['fast']) * 100:+.2f} |")
    check(row in report, f"fast-vs-exact row {row}")
    check("64 training images, 1 epoch, 32 test images" in report, "exact budget stated")

    stamps = {r: os.path.getmtime(os.path.join(work, r, "summary.json")) for r in runs}
    check(lowbit_study.main(argv) == 0, "the study runs again")
    check(all(os.path.getmtime(os.path.join(work, r, "summary.json")) == t
              for r, t in stamps.items()), "second run reuses the training runs")

    # --jobs 2 (worker processes) in a fresh --work: the same weights and the same report.
    out2, work2 = os.path.join(tmp, "j", "r.md"), os.path.join(tmp, "runs2")
    par = list(argv) + ["--jobs", "2"]
    par[par.index("--out") + 1], par[par.index("--work") + 1] = out2, work2
    check(lowbit_study.main(par) == 0, "the study runs with --jobs 2")
    for r in runs:
        with open(os.path.join(work, r, "weights.pt"), "rb") as a, \
                open(os.path.join(work2, r, "weights.pt"), "rb") as b:
            check(a.read() == b.read(), f"{r}: same weights with --jobs 2")
    with open(out2) as f:
        report2 = f.read()
    strip = lambda t: [ln for ln in t.splitlines() if "lowbit_study.py " not in ln]  # noqa: E731
    check(strip(report2) == strip(report), "same report with --jobs 2 (but its command line)")
    check("--jobs" not in report2, "--jobs is not part of the regenerating command")

    other = list(argv)
    other[other.index("--test-limit") + 1] = "48"  # fp32_fast_s0 in work was tested on 64
    try:
        lowbit_study.main(other)
        check(False, "differing arguments stop the study")
    except SystemExit as e:
        check("was trained with" in str(e.code), f"message: {e.code}")
    # Labels: the defaults are the standard study; more epochs, images or seeds are not
    # "reduced"; fewer are.
    def smaller(*extra):
        a = lowbit_study.parse_args(["--lbsim", "x", "--out", "x.md"] + list(extra))
        d = lowbit_study.parse_args(["--lbsim", "x", "--out", "x.md"])
        b, eb = lowbit_study.budgets(a)
        return lowbit_study.smaller_than_standard(
            a, d, a.seeds.split(","), a.recipes.split(","), a.exact.split(","),
            a.exact_seeds.split(","), b, eb)
    check(not smaller(), "defaults are not smaller than the standard study")
    check(not smaller("--epochs", "8", "--train-limit", "0", "--seeds", "0,1,2,3"),
          "a longer study is not reduced")
    check(smaller("--train-limit", "2048"), "fewer images: reduced")
    check(smaller("--seeds", "0,1"), "fewer seeds: reduced")
    check(smaller("--exact-test-limit", "500"), "smaller exact budget: reduced")
    print("PASS")


if __name__ == "__main__":
    main()
