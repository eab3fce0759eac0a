#!/usr/bin/python3
"""The low-bit training study: accuracy on Fashion-MNIST beside the energy and latency of one
training iteration of the same network on the matching lbsim architecture.

  PYTHONPATH=build/python /usr/bin/python3 workloads/tools/lowbit_study.py \\
      --lbsim build/lbsim --out reports/reference/lowbit_training.md

For every recipe of workloads/tools/recipes (FP32, BF16, FP8, INT8 dfp, LUQ, LUQ SMP=2, MLS <1,2>,
<2,3>, <4,2>) and every --seeds seed, train_lowbit.py trains --model for --epochs epochs with
--gemm fast; the recipes in --exact are trained again with --gemm exact (fast vs exact: does the
accumulator matter?). The trained network's trace (per-layer precision, SMP samples) runs in
`lbsim run` on the recipe's architecture (ARCHS below) to give the energy (sum of energy.csv) and
latency (stats.json run.time_ms) of one training iteration at --batch. The report has accuracy as
mean +- sample std over seeds and its difference to FP32, the paper claims checked as measured,
and an accuracy-vs-energy figure (gnuplot SVG next to the report) with the Pareto front.

Defaults are the full study (ResNet-20, 3 seeds; about 2 hours on 2 cores). A reduced run
(e.g. --model lenet5 --epochs 1 --seeds 0 --exact none) is labelled as such in the report's title
and must not be taken as the study's result. Training runs are kept in --work (default
<out>.runs/) and reused when their summary.json exists, so an interrupted study resumes.
"""

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import train_lowbit  # noqa: E402

# recipe -> (label, arch YAML, overrides for lbsim run)
ARCHS = {
    "fp32": ("FP32", "fp32_32x32.yaml", []),
    "bf16": ("BF16", "fp32_32x32.yaml",
             ["pe_array.type=bf16", "pe_array.formats.weight=bf16",
              "pe_array.formats.activation=bf16", "pe_array.formats.error=bf16"]),
    "fp8": ("FP8 (E4M3 fwd, E5M2 grad)", "fp8_32x32.yaml", []),
    "int8": ("INT8 (dfp8)", "int8_32x32.yaml", []),
    "luq": ("LUQ (INT4 / FP4)", "luq_32x32.yaml", []),
    "luq_smp2": ("LUQ, SMP = 2", "luq_32x32.yaml", []),
    "mls_m1e2": ("MLS <1,2>", "mls_m1e2_32x32.yaml", []),
    "mls_m2e3": ("MLS <2,3>", "mls_m1e2_32x32.yaml",
                 ["pe_array.formats.weight=mls_m2e3", "pe_array.formats.activation=mls_m2e3",
                  "pe_array.formats.error=mls_m2e3"]),
    "mls_m4e2": ("MLS <4,2>", "mls_m4e2_32x32.yaml", []),
}
# Paper claims (papers listed in docs/formats.md §9): accuracy drop vs FP32 within this many
# points.
CLAIMS = {"fp8": 1.0, "int8": 1.0, "mls_m4e2": 1.0, "mls_m1e2": 2.0, "luq": 2.0}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lbsim", required=True, help="the lbsim executable")
    p.add_argument("--out", required=True, help="report (.md); the figure is written beside it")
    p.add_argument("--work", help="training runs directory (default: <out without .md>.runs)")
    p.add_argument("--model", default="resnet20", choices=sorted(train_lowbit.lowbit_nets.MODELS))
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--recipes", default=",".join(ARCHS))
    p.add_argument("--exact", default="int8,mls_m1e2",
                   help="recipes also trained with --gemm exact ('none': no exact runs)")
    p.add_argument("--exact-seeds", default="0", help="seeds of the exact runs")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--train-limit", type=int, default=0)
    p.add_argument("--test-limit", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--reduced", action="store_true",
                   help="label the report as a reduced run (implied when not the defaults)")
    return p.parse_args(argv)


def train_run(args, recipe, seed, gemm):
    d = os.path.join(args.work, f"{recipe}_{gemm}_s{seed}")
    if not os.path.exists(os.path.join(d, "summary.json")):
        argv = ["--recipe", os.path.join(HERE, "recipes", f"{recipe}.yaml"), "--model", args.model,
                "--epochs", str(args.epochs), "--gemm", gemm, "--seed", str(seed), "--out", d,
                "--batch", str(args.batch), "--lr", str(args.lr)]
        if args.train_limit:
            argv += ["--train-limit", str(args.train_limit)]
        if args.test_limit:
            argv += ["--test-limit", str(args.test_limit)]
        if args.threads:
            argv += ["--threads", str(args.threads)]
        print(f"lowbit_study: training {recipe} {gemm} seed {seed}", flush=True)
        if train_lowbit.main(argv) != 0:
            raise SystemExit(f"lowbit_study: train_lowbit.py failed for {recipe} seed {seed}")
    with open(os.path.join(d, "summary.json")) as f:
        return d, json.load(f)


def cost(args, recipe, trace):
    label, arch, params = ARCHS[recipe]
    out = os.path.join(os.path.dirname(trace), "lbsim_run")
    cmd = [args.lbsim, "run", "--arch", os.path.join(SOURCE, "arch_configs", arch), "--workload",
           trace, "--out", out]
    for p in params:
        cmd += ["-p", p]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"lowbit_study: lbsim run failed for {recipe}: {proc.stderr.strip()}")
    with open(os.path.join(out, "stats.json")) as f:
        stats = json.load(f)
    import csv
    with open(os.path.join(out, "energy.csv")) as f:
        pj = sum(float(r["energy_pj"]) for r in csv.DictReader(f))
    return {"energy_uj": pj / 1e6, "time_ms": stats["run"]["time_ms"],
            "cycles": stats["run"]["total_cycles"], "macs": stats["run"]["total_macs"],
            "arch": arch + (" " + " ".join(f"-p {p}" for p in params) if params else "")}


def mean_std(values):
    m = statistics.mean(values)
    s = statistics.stdev(values) if len(values) > 1 else float("nan")
    return m, s


def pareto(points):
    """Indices of points (energy, accuracy) not dominated (lower energy and higher accuracy)."""
    front = []
    for i, (e, a) in enumerate(points):
        if not any((e2 <= e and a2 >= a) and (e2 < e or a2 > a) for e2, a2 in points):
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


def figure(path, rows, title):
    gp = shutil.which("gnuplot")
    if not gp:
        print("lowbit_study: warning: gnuplot not found; no figure", file=sys.stderr)
        return False
    dat = path + ".dat"
    pts = [(r["energy_uj"], r["acc_mean"] * 100) for r in rows]
    front = pareto(pts)
    with open(dat, "w") as f:
        for r, (e, a) in zip(rows, pts):
            f.write(f"{e:.6g} {a:.4f} \"{r['label']}\"\n")
        f.write("\n\n")
        for i in front:
            f.write(f"{pts[i][0]:.6g} {pts[i][1]:.4f}\n")
    script = f"""set terminal svg size 720,440 dynamic font 'sans,11'
set output '{path}'
set title "{title}"
set xlabel 'energy of one training iteration (uJ, lbsim run)'
set ylabel 'test accuracy (%)'
set logscale x
set grid
set key bottom right
plot '{dat}' index 0 using 1:2 with points pt 7 ps 1 title 'recipe', \\
     '' index 0 using 1:2:3 with labels offset 0.6,0.6 left font ',9' notitle, \\
     '' index 1 using 1:2 with lines lw 2 title 'Pareto front'
"""
    subprocess.run([gp], input=script, text=True, check=True)
    os.remove(dat)
    return True


def main(argv):
    args = parse_args(argv)
    if not args.out.endswith(".md"):
        raise SystemExit("lowbit_study: --out must be a .md file")
    args.work = args.work or args.out[:-3] + ".runs"
    os.makedirs(args.work, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    recipes = args.recipes.split(",")
    exact = [] if args.exact == "none" else args.exact.split(",")
    exact_seeds = [int(s) for s in args.exact_seeds.split(",")]
    defaults = parse_args(["--lbsim", "x", "--out", "x.md"])
    reduced = args.reduced or any(getattr(args, k) != getattr(defaults, k) for k in
                                  ("model", "epochs", "seeds", "recipes", "exact", "exact_seeds",
                                   "batch", "lr", "train_limit", "test_limit"))
    rows = []
    for recipe in recipes:
        accs, runs = [], []
        for seed in seeds:
            d, s = train_run(args, recipe, seed, "fast")
            accs.append(s["final_test_accuracy"])
            runs.append(d)
        c = cost(args, recipe, os.path.join(runs[0], "trace.yaml"))
        m, sd = mean_std(accs)
        row = {"recipe": recipe, "label": ARCHS[recipe][0], "acc_mean": m, "acc_std": sd,
               "accs": accs, **c}
        if recipe in exact:
            ex = [train_run(args, recipe, seed, "exact")[1]["final_test_accuracy"]
                  for seed in exact_seeds]
            row["exact_mean"], row["exact_std"] = mean_std(ex)
            fast_same = [accs[seeds.index(s)] for s in exact_seeds if s in seeds]
            row["fast_same_seeds"] = statistics.mean(fast_same) if fast_same else float("nan")
        rows.append(row)
    base = next((r for r in rows if r["recipe"] == "fp32"), None)

    title = (f"Low-bit training on Fashion-MNIST: {args.model}, {args.epochs} epoch(s), "
             f"{len(seeds)} seed(s)")
    if reduced:
        title = "REDUCED RUN (pipeline check, not the study's result): " + title
    fig = os.path.splitext(args.out)[0] + ".svg"
    have_fig = figure(fig, rows, title.replace('"', "'"))
    shown = []  # the command line without --work (where runs are cached does not matter)
    skip = False
    for a in argv:
        if skip or a == "--work":
            skip = not skip
            continue
        shown.append(a if not a.startswith("/") else os.path.relpath(a, SOURCE))
    cmd = "PYTHONPATH=build/python /usr/bin/python3 workloads/tools/lowbit_study.py " + \
        " ".join(shown)
    limits = ""
    if args.train_limit or args.test_limit:
        limits = (f" Images: the first {args.train_limit or 60000} training and "
                  f"{args.test_limit or 10000} test images.")
    lines = [f"# {title}", "",
             "Generated by `workloads/tools/lowbit_study.py`; regenerate with", "", "```",
             cmd, "```", "",
             f"Training: `workloads/tools/train_lowbit.py`, batch {args.batch}, SGD momentum 0.9, "
             f"lr {args.lr} cosine, weight decay 5e-4, every conv/linear layer quantized per the "
             "recipe (`workloads/tools/recipes/`), GEMMs `fast` (quantize, dequantize, fp32 "
             "torch) unless marked exact. Cost: `lbsim run` of the trained network's trace "
             f"(batch {args.batch}, one training iteration: fwd, dgrad, wgrad, update) on the "
             "recipe's architecture with the default 45 nm energy table." + limits, "",
             "| recipe | test accuracy % (mean +- std) | vs FP32 (points) | per seed | "
             "energy / iteration (uJ) | latency / iteration (ms) | MACs | architecture |",
             "|---|---:|---:|---|---:|---:|---:|---|"]
    for r in rows:
        d = "" if base is None else f"{(r['acc_mean'] - base['acc_mean']) * 100:+.2f}"
        seeds_txt = ", ".join(f"{a * 100:.2f}" for a in r["accs"])
        std = "" if math.isnan(r["acc_std"]) else f" +- {r['acc_std'] * 100:.2f}"
        lines.append(f"| {r['label']} | {r['acc_mean'] * 100:.2f}{std} | {d} | {seeds_txt} | "
                     f"{r['energy_uj']:.2f} | {r['time_ms']:.4f} | {r['macs']:,} | "
                     f"`{r['arch']}` |")
    if exact:
        lines += ["", "## fast vs exact (does the accumulator matter?)", "",
                  f"Seeds {args.exact_seeds}; exact = every GEMM of all three phases through "
                  "lbsim's bit-exact reference with the architecture's accumulator.", "",
                  "| recipe | fast accuracy % | exact accuracy % | exact - fast (points) |",
                  "|---|---:|---:|---:|"]
        for r in rows:
            if "exact_mean" in r:
                lines.append(f"| {r['label']} | {r['fast_same_seeds'] * 100:.2f} | "
                             f"{r['exact_mean'] * 100:.2f} | "
                             f"{(r['exact_mean'] - r['fast_same_seeds']) * 100:+.2f} |")
    if base is not None and reduced:
        lines += ["", "## Paper claims", "", "Not evaluated: a reduced run says nothing about "
                  "them (run the defaults)."]
    elif base is not None:
        lines += ["", "## Paper claims at this scale (as measured)", "",
                  "| recipe | claim: within | measured drop vs FP32 (points) | holds here |",
                  "|---|---:|---:|---|"]
        for r in rows:
            if r["recipe"] in CLAIMS:
                drop = (base["acc_mean"] - r["acc_mean"]) * 100
                lines.append(f"| {r['label']} | {CLAIMS[r['recipe']]:.0f} % | {drop:.2f} | "
                             f"{'yes' if drop <= CLAIMS[r['recipe']] else 'no'} |")
    if have_fig:
        lines += ["", f"![accuracy vs energy]({os.path.basename(fig)})", "",
                  "Accuracy against the energy of one training iteration; the line is the Pareto "
                  "front (no other recipe is both cheaper and more accurate)."]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"lowbit_study: wrote {args.out}" + (f" and {fig}" if have_fig else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
