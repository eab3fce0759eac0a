#!/usr/bin/python3
"""The low-bit training study: accuracy on Fashion-MNIST beside the energy and latency of one
training iteration of the same network on the matching lbsim architecture.

  PYTHONPATH=build/python /usr/bin/python3 workloads/tools/lowbit_study.py \\
      --lbsim build/lbsim --out reports/reference/lowbit_training.md

For every recipe of workloads/tools/recipes (FP32, BF16, FP8, INT8 dfp, LUQ, LUQ SMP=2, MLS <1,2>,
<2,3>, <4,2>) and every --seeds seed, train_lowbit.py trains --model for --epochs epochs with
--gemm fast; the recipes in --exact are trained again with --gemm exact (fast vs exact: does the
accumulator matter?), by default at the same budget; --exact-train-limit, --exact-test-limit and
--exact-epochs give the exact runs a smaller budget (exact GEMMs are slow), and each is then
paired with a fast run of the same recipe, seed and budget. The trained network's trace
(per-layer precision, SMP samples) runs in `lbsim run` on the recipe's architecture (ARCHS below)
to give the energy (sum of energy.csv) and latency (stats.json run.time_ms) of one training
iteration at --batch. The report has accuracy as mean +- sample std over seeds and its difference
to FP32, the paper claims checked as measured, findings computed from those numbers, and an
accuracy-vs-energy figure (gnuplot SVG next to the report) with the Pareto front.

Defaults are the standard study: ResNet-20, the first 20,480 training images, 1 epoch, batch 64,
all 10,000 test images, 3 seeds; exact runs (INT8, MLS <1,2>, seed 0) on 2,048 training and 2,000
test images. It takes about an hour on two cores with --jobs 2 --threads 1. Longer training (the
papers' regime) is e.g. --epochs 8 --train-limit 0. Any other setting (or --reduced) is a
reduced-budget run: its title says so and gives the budget (network, images, epochs, seeds), and
the report names the command of the standard study.
Training runs are kept in --work (default <out>.runs/) and reused when their summary.json exists
and was trained with the same arguments, so an interrupted study resumes. --jobs N trains N runs
at a time in worker processes (with --threads 1 on N cores); the report does not depend on it.
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
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--recipes", default=",".join(ARCHS))
    p.add_argument("--exact", default="int8,mls_m1e2",
                   help="recipes also trained with --gemm exact ('none': no exact runs)")
    p.add_argument("--exact-seeds", default="0", help="seeds of the exact runs")
    p.add_argument("--exact-epochs", type=int, default=None,
                   help="epochs of the exact runs and their fast pairs (default: --epochs)")
    p.add_argument("--exact-train-limit", type=int, default=2048,
                   help="training images of the exact runs and their fast pairs (0: all)")
    p.add_argument("--exact-test-limit", type=int, default=2000,
                   help="test images of the exact runs and their fast pairs (0: all)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--train-limit", type=int, default=20480,
                   help="the first N training images (0: all 60,000)")
    p.add_argument("--test-limit", type=int, default=0, help="the first N test images (0: all)")
    p.add_argument("--threads", type=int, default=0,
                   help="threads per training run (0: torch's default)")
    p.add_argument("--jobs", type=int, default=1,
                   help="training runs at a time (worker processes; give each --threads "
                        "cores / jobs). Results do not depend on it")
    p.add_argument("--reduced", action="store_true",
                   help="label the report as a reduced run (implied when the study covers less than "
                        "the defaults)")
    return p.parse_args(argv)


def smaller_than_standard(args, defaults, seeds, recipes, exact, exact_seeds, budget,
                          exact_budget):
    """Whether a study that is not the standard one covers less than it does in any respect (then
    it is labelled reduced; a longer or wider study is not)."""
    std_budget, std_exact = budgets(defaults)

    def less(b, std):  # (epochs, train images, test images); 0 images means all
        return (b[0] < std[0] or (b[1] or 60000) < (std[1] or 60000)
                or (b[2] or 10000) < (std[2] or 10000))
    return (args.model != defaults.model or args.batch != defaults.batch
            or args.lr != defaults.lr or len(seeds) < len(defaults.seeds.split(","))
            or not set(defaults.recipes.split(",")) <= set(recipes)
            or not set(defaults.exact.split(",")) <= set(exact)
            or len(exact_seeds) < len(defaults.exact_seeds.split(","))
            or less(budget, std_budget) or less(exact_budget, std_exact))


def budgets(args):
    """(epochs, train_limit, test_limit) of the fast runs and of the exact runs (and their fast
    pairs); 0 limits mean all images."""
    fast = (args.epochs, args.train_limit, args.test_limit)
    exact = tuple(fast[i] if v is None else v for i, v in
                  enumerate((args.exact_epochs, args.exact_train_limit, args.exact_test_limit)))
    return fast, exact


def budget_text(budget, seeds=None):
    epochs, train_limit, test_limit = budget
    text = (f"{train_limit or 60000:,} training images, {epochs} epoch{'s' * (epochs != 1)}, "
            f"{test_limit or 10000:,} test images")
    if seeds is not None:
        text += f", {len(seeds)} seed{'s' * (len(seeds) != 1)}"
    return text


def plan_run(args, recipe, seed, gemm, budget):
    """One training run: (its directory, the arguments it must have been trained with, the
    train_lowbit.py argv that trains it)."""
    epochs, train_limit, test_limit = budget
    name = f"{recipe}_{gemm}_s{seed}"
    if budget != budgets(args)[0]:
        name += f"_e{epochs}_n{train_limit}_t{test_limit}"
    d = os.path.join(args.work, name)
    want = {"model": args.model, "epochs": epochs, "gemm": gemm, "seed": seed,
            "batch": args.batch, "lr": args.lr, "train_limit": train_limit,
            "test_limit": test_limit}
    argv = ["--recipe", os.path.join(HERE, "recipes", f"{recipe}.yaml"), "--model", args.model,
            "--epochs", str(epochs), "--gemm", gemm, "--seed", str(seed), "--out", d,
            "--batch", str(args.batch), "--lr", str(args.lr)]
    if train_limit:
        argv += ["--train-limit", str(train_limit)]
    if test_limit:
        argv += ["--test-limit", str(test_limit)]
    if args.threads:
        argv += ["--threads", str(args.threads)]
    return d, want, argv


def load_run(d, want):
    """The summary.json of a trained run, refused when it was trained with other arguments."""
    with open(os.path.join(d, "summary.json")) as f:
        summary = json.load(f)
    have = {k: summary["args"].get(k) for k in want}
    if have != want:
        raise SystemExit(f"lowbit_study: {d} was trained with {have}, not {want}; "
                         "use another --work or remove it")
    return summary


def train_missing(args, plans):
    """Trains every planned run without a summary.json: in this process (--jobs 1) or up to
    --jobs train_lowbit.py processes at a time, each logging to <run>.log. Runs are independent
    and keyed by their seed, so the results do not depend on --jobs."""
    todo = [p for p in plans if not os.path.exists(os.path.join(p[0], "summary.json"))]
    if args.jobs == 1:
        for d, want, argv in todo:
            print(f"lowbit_study: training {os.path.basename(d)} "
                  f"({want['train_limit'] or 60000:,} images, {want['epochs']} epoch(s))",
                  flush=True)
            if train_lowbit.main(argv) != 0:
                raise SystemExit(f"lowbit_study: train_lowbit.py failed for {d}")
        return
    if todo:
        print(f"lowbit_study: training {len(todo)} runs, {args.jobs} at a time (logs: "
              f"{args.work}/<run>.log)", flush=True)

    def one(plan):
        d, _, argv = plan
        log = d + ".log"
        with open(log, "w") as f:
            code = subprocess.run([sys.executable, os.path.join(HERE, "train_lowbit.py")] + argv,
                                  stdout=f, stderr=subprocess.STDOUT).returncode
        if code != 0:
            raise SystemExit(f"lowbit_study: train_lowbit.py failed for {d} (exit {code}; "
                             f"see {log})")
        print(f"lowbit_study: done {os.path.basename(d)}", flush=True)

    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for _ in pool.map(one, todo):
            pass


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
            "workload_macs": stats["run"]["workload_macs"],
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
    # Labels go right of their point, except where two points nearly coincide (energies within
    # 30 %, accuracies within 0.2 points): the cheaper one's label goes left, so they do not
    # overlap.
    order = sorted(range(len(pts)), key=lambda i: pts[i][0])
    left = set()
    for a, b in zip(order, order[1:]):
        if pts[b][0] <= 1.3 * pts[a][0] and abs(pts[b][1] - pts[a][1]) <= 0.2 and a not in left:
            left.add(a)
    with open(dat, "w") as f:
        for r, (e, a) in zip(rows, pts):
            f.write(f"{e:.6g} {a:.4f}\n")
        f.write("\n\n")
        for i in front:
            f.write(f"{pts[i][0]:.6g} {pts[i][1]:.4f}\n")
        for side in (False, True):  # index 2: labels on the right, index 3: on the left
            f.write("\n\n")
            for i, r in enumerate(rows):
                if (i in left) == side:
                    f.write(f"{pts[i][0]:.6g} {pts[i][1]:.4f} \"{r['label']}\"\n")
    left_labels = ("\n     '' index 3 using 1:2:3 with labels offset -0.8,-0.5 right font ',9' "
                   "notitle, \\" if left else "")
    script = f"""set terminal svg size 720,440 dynamic font 'sans,11'
set output '{path}'
set title "{title}"
set xlabel 'energy of one training iteration (uJ, lbsim run)'
set ylabel 'test accuracy (%)'
set logscale x
set grid
set key bottom right
plot '{dat}' index 0 using 1:2 with points pt 7 ps 1 title 'recipe', \\
     '' index 2 using 1:2:3 with labels offset 0.8,0.5 left font ',9' notitle, \\{left_labels}
     '' index 1 using 1:2 with lines lw 2 title 'Pareto front'
"""
    subprocess.run([gp], input=script, text=True, check=True)
    os.remove(dat)
    return True


MODEL_NAMES = {"resnet20": "ResNet-20", "lenet5": "LeNet-5"}


def findings(rows, base, exact_budget_same, n_test):
    """'What this shows': sentences computed from the measured numbers only."""
    out = []
    if base is not None:
        p = base["acc_mean"]
        out.append(f"Test-set sampling: one accuracy near {p * 100:.0f} % measured on {n_test:,} "
                   f"images has a binomial std of {math.sqrt(p * (1 - p) / n_test) * 100:.2f} "
                   "points (every recipe is tested on the same images).")
        held = [r for r in rows if r["recipe"] in CLAIMS
                and (base["acc_mean"] - r["acc_mean"]) * 100 <= CLAIMS[r["recipe"]]]
        missed = [r for r in rows if r["recipe"] in CLAIMS and r not in held]
        diff = lambda r: f"{r['label']} {(r['acc_mean'] - base['acc_mean']) * 100:+.2f}"  # noqa
        if held:
            out.append("Claims that hold at this budget (accuracy vs FP32 in points): "
                       + "; ".join(diff(r) for r in held) + ".")
        if missed:
            out.append("Claims that do not hold at this budget (accuracy vs FP32 in points): "
                       + "; ".join(f"{diff(r)} (claim: within {CLAIMS[r['recipe']]:.0f})"
                                   for r in missed) + ".")
        stds = [r["acc_std"] * 100 for r in rows if not math.isnan(r["acc_std"])]
        diffs = [abs(r["acc_mean"] - base["acc_mean"]) * 100 for r in rows if r is not base]
        if stds and diffs:
            std = lambda r: 0.0 if math.isnan(r["acc_std"]) else r["acc_std"]  # noqa: E731
            inside = [r["label"] for r in rows if r is not base and
                      abs(r["acc_mean"] - base["acc_mean"]) <= max(std(r), std(base))]
            out.append(f"Seed-to-seed std: {min(stds):.2f} to {max(stds):.2f} points; "
                       f"|difference to FP32|: {min(diffs):.2f} to {max(diffs):.2f} points"
                       + (f"; within one std of FP32 (the larger of the two stds): "
                          f"{', '.join(inside)}." if inside else "."))
    pairs = [r for r in rows if "exact_mean" in r]
    if pairs:
        out.append("exact - fast" + (" (same budget and seeds)" if exact_budget_same else
                                     " (the exact runs' budget, same seeds)") + ": "
                   + "; ".join(f"{r['label']} {(r['exact_mean'] - r['fast_pair']) * 100:+.2f} "
                               "points" for r in pairs) + ".")
    cheapest = min(rows, key=lambda r: r["energy_uj"])
    priciest = max(rows, key=lambda r: r["energy_uj"])
    out.append(f"Energy per iteration spans {cheapest['energy_uj']:.0f} uJ ({cheapest['label']}) "
               f"to {priciest['energy_uj']:.0f} uJ ({priciest['label']}).")
    return out


def main(argv):
    args = parse_args(argv)
    if args.jobs < 1:
        raise SystemExit("lowbit_study: --jobs must be at least 1")
    if not args.out.endswith(".md"):
        raise SystemExit("lowbit_study: --out must be a .md file")
    args.work = args.work or args.out[:-3] + ".runs"
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    recipes = args.recipes.split(",")
    exact = [] if args.exact == "none" else args.exact.split(",")
    exact_seeds = [int(s) for s in args.exact_seeds.split(",")]
    defaults = parse_args(["--lbsim", "x", "--out", "x.md"])
    budget, exact_budget = budgets(args)
    standard = not args.reduced and all(
        getattr(args, k) == getattr(defaults, k) for k in
        ("model", "epochs", "seeds", "recipes", "exact", "exact_seeds", "exact_epochs",
         "exact_train_limit", "exact_test_limit", "batch", "lr", "train_limit", "test_limit"))
    reduced = not standard and (args.reduced or smaller_than_standard(
        args, defaults, seeds, recipes, exact, exact_seeds, budget, exact_budget))
    # Every run of the study, planned: the fast runs (the main result), then the exact runs with
    # their fast pairs (the exact ones first when they run in parallel: they take longest).
    fast = {(recipe, seed): plan_run(args, recipe, seed, "fast", budget)
            for recipe in recipes for seed in seeds}
    exact_runs = {(recipe, seed, gemm): plan_run(args, recipe, seed, gemm, exact_budget)
                  for recipe in recipes if recipe in exact for seed in exact_seeds
                  for gemm in ("exact", "fast")}
    plans = list(fast.values()) + list(exact_runs.values())
    if args.jobs > 1:
        plans = [p for k, p in exact_runs.items() if k[2] == "exact"] + plans
    once = {}  # a run planned twice (an exact run's fast pair may be a main run) trains once
    for p in plans:
        once.setdefault(p[0], p)
    train_missing(args, list(once.values()))
    rows = []
    for recipe in recipes:
        accs = [load_run(*fast[recipe, seed][:2])["final_test_accuracy"] for seed in seeds]
        c = cost(args, recipe, os.path.join(fast[recipe, seeds[0]][0], "trace.yaml"))
        m, sd = mean_std(accs)
        rows.append({"recipe": recipe, "label": ARCHS[recipe][0], "acc_mean": m, "acc_std": sd,
                     "accs": accs, **c})
    for row in rows:
        if row["recipe"] in exact:
            ex = [load_run(*exact_runs[row["recipe"], seed, "exact"][:2])
                  ["final_test_accuracy"] for seed in exact_seeds]
            pair = [load_run(*exact_runs[row["recipe"], seed, "fast"][:2])
                    ["final_test_accuracy"] for seed in exact_seeds]
            row["exact_accs"], row["fast_pair_accs"] = ex, pair
            row["exact_mean"] = statistics.mean(ex)
            row["fast_pair"] = statistics.mean(pair)
    base = next((r for r in rows if r["recipe"] == "fp32"), None)

    model = MODEL_NAMES.get(args.model, args.model)
    n_train = args.train_limit or 60000
    title = (f"Low-bit training on Fashion-MNIST: {model}, {n_train:,} images, {args.epochs} "
             f"epoch{'s' * (args.epochs != 1)}, {len(seeds)} seed{'s' * (len(seeds) != 1)}")
    if reduced:
        title = (f"Low-bit training on Fashion-MNIST (reduced budget: {model}, {n_train:,} "
                 f"images, {args.epochs} epoch{'s' * (args.epochs != 1)}, {len(seeds)} "
                 f"seed{'s' * (len(seeds) != 1)})")
    fig = os.path.splitext(args.out)[0] + ".svg"
    have_fig = figure(fig, rows, title.replace('"', "'"))
    shown = []  # the command line without --work and --jobs (they do not change the results)
    skip = False
    for a in argv:
        if skip or a in ("--work", "--jobs"):
            skip = not skip
            continue
        shown.append(a if not a.startswith("/") else os.path.relpath(a, SOURCE))
    prog = "PYTHONPATH=build/python /usr/bin/python3 workloads/tools/lowbit_study.py "
    cmd = prog + " ".join(shown)
    lines = [f"# {title}", "",
             "Generated by `workloads/tools/lowbit_study.py`; regenerate with", "", "```",
             cmd, "```", ""]
    budgets_line = (f"Budget of the fast runs: {budget_text(budget, seeds)}"
                    + (f"; of the exact runs and their fast pairs: "
                       f"{budget_text(exact_budget, exact_seeds)}" if exact else "") + ".")
    if reduced:
        standard_cmd = prog + " ".join(f"{k} {shown[shown.index(k) + 1]}"
                                       for k in ("--lbsim", "--out"))
        lines += [f"This is a reduced-budget run, not the standard study. {budgets_line} The "
                  "standard study (ResNet-20, 20,480 training images, 1 epoch, all 10,000 test "
                  "images, 3 seeds, exact runs on 2,048 / 2,000 images) is", "", "```", standard_cmd,
                  "```", ""]
    elif not standard:
        lines += [f"A longer or wider study than the standard one (the script's defaults). "
                  f"{budgets_line}", ""]
    else:
        lines += [f"The standard budget of this study (the script's defaults). {budgets_line} "
                  "It fits about an hour on two cores (`--jobs 2 --threads 1`); the papers "
                  "train for many epochs on the whole training set, which is this command with "
                  "e.g. `--epochs 8 --train-limit 0` (about 23 times the training work; "
                  "`--exact-train-limit 0 --exact-test-limit 0` trains the exact runs at that "
                  "budget too).", ""]
    lines += [f"Training: `workloads/tools/train_lowbit.py`, batch {args.batch}, SGD momentum 0.9, "
              f"lr {args.lr} cosine, weight decay 5e-4, every conv/linear layer quantized per the "
              "recipe (`workloads/tools/recipes/`), GEMMs `fast` (quantize, dequantize, fp32 "
              "torch) unless marked exact. Images: the first "
              f"{budget_text(budget)} (test accuracy after the last epoch). Cost: `lbsim run` "
              f"of the trained network's trace (batch {args.batch}, one training iteration: fwd, "
              "dgrad, wgrad, update) of seed "
              f"{seeds[0]} on the recipe's architecture with the default 45 nm energy table.", "",
              "| recipe | test accuracy % (mean +- std) | vs FP32 (points) | per seed | "
              "energy / iteration (uJ) | latency / iteration (ms) | MACs: workload / executed "
              "| architecture |",
              "|---|---:|---:|---|---:|---:|---:|---|"]
    for r in rows:
        d = "" if base is None else f"{(r['acc_mean'] - base['acc_mean']) * 100:+.2f}"
        seeds_txt = ", ".join(f"{a * 100:.2f}" for a in r["accs"])
        std = "" if math.isnan(r["acc_std"]) else f" +- {r['acc_std'] * 100:.2f}"
        lines.append(f"| {r['label']} | {r['acc_mean'] * 100:.2f}{std} | {d} | {seeds_txt} | "
                     f"{r['energy_uj']:.2f} | {r['time_ms']:.4f} | "
                     f"{r['workload_macs']:,} / {r['macs']:,} | "
                     f"`{r['arch']}` |")
    lines += ["", "std is the sample standard deviation over the seeds. MACs (`lbsim run` "
              "stats.json): workload = the network's GEMMs (`workload_macs`; with SMP = k the "
              "dgrad and wgrad GEMMs count k times), executed = what the PE array computes "
              "(`total_macs`: the architecture's dgrad lowering adds zero taps, e.g. "
              "`mapping.dgrad_lowering=transposed`)."]
    if exact:
        same = exact_budget == budget
        lines += ["", "## fast vs exact (does the accumulator matter?)", "",
                  f"Seeds {args.exact_seeds}; exact = every GEMM of all three phases (training "
                  "and test) through lbsim's bit-exact reference with the architecture's "
                  "accumulator; fast = the same recipe, seed and budget with `fast` GEMMs. "
                  f"Budget: {budget_text(exact_budget)}"
                  + (" (that of the table above)." if same else
                     " (smaller than the table above: exact GEMMs are slow)."), "",
                  "| recipe | fast accuracy % | exact accuracy % | exact - fast (points) |",
                  "|---|---:|---:|---:|"]
        for r in rows:
            if "exact_mean" in r:
                lines.append(f"| {r['label']} | "
                             f"{', '.join(f'{a * 100:.2f}' for a in r['fast_pair_accs'])} | "
                             f"{', '.join(f'{a * 100:.2f}' for a in r['exact_accs'])} | "
                             f"{(r['exact_mean'] - r['fast_pair']) * 100:+.2f} |")
    if base is not None:
        lines += ["", "## Paper claims at this budget (as measured)", ""]
        lines += ["The claims are for full training (many epochs on the whole training set); at "
                  "this budget a miss (or a hold) says how the recipe does at this budget only.",
                  ""]
        lines += ["| recipe | claim: within | measured drop vs FP32 (points) | holds here |",
                  "|---|---:|---:|---|"]
        for r in rows:
            if r["recipe"] in CLAIMS:
                drop = (base["acc_mean"] - r["acc_mean"]) * 100
                lines.append(f"| {r['label']} | {CLAIMS[r['recipe']]:.0f} % | {drop:.2f} | "
                             f"{'yes' if drop <= CLAIMS[r['recipe']] else 'no'} |")
    lines += ["", "## What this shows (computed from the numbers above)", ""]
    lines += [f"- {t}" for t in findings(rows, base, exact_budget == budget,
                                         args.test_limit or 10000)]
    if have_fig:
        lines += ["", f"![accuracy vs energy]({os.path.basename(fig)})", "",
                  "Accuracy (mean over seeds) against the energy of one training iteration; the "
                  "line is the Pareto front (no other recipe is both cheaper and more accurate)."]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"lowbit_study: wrote {args.out}" + (f" and {fig}" if have_fig else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
