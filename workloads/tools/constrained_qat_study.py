#!/usr/bin/python3
"""The constrained-QAT study: which layers of a Fashion-MNIST ResNet should stay in high precision
at b bits, chosen from primal-dual QAT's dual variables (lbsim.qat) and compared with other rules,
with each selection's accuracy beside its inference energy and latency from `lbsim run
--precision-map`.

Usage:
  PYTHONPATH=build/python /usr/bin/python3 workloads/tools/constrained_qat_study.py --run DIR \\
      --lbsim build/lbsim --out reports/reference/constrained_qat.md [options]

Contract:
  * DIR: train_lowbit.py's output (summary.json, weights.pt) of an FP32 network: the starting
    point of every run (its training command is printed in the report).
  * Per bit width b (--bits) and seed (--seeds): primal-dual QAT (lbsim.qat.PrimalDual, quantizer
    --quantizer: dorefa at b bits, the paper's, or lbsim formats --weight-format/--act-format)
    for --pd-epochs epochs on the first --train-limit training images (batch --batch, Adam
    --lr, dual step --lr-dual, eps_out from the paper's table per b, eps_layer 1/255), first and
    last layer full precision. Its final duals rank the layers.
  * Selections, each of k layers kept in FP32 (k in --k): largest dual (the paper's rule),
    smallest dual, --random-draws random draws (seeded by draw number and seed), the L2 ranking
    (largest relative output error of the layer in the FP32 network quantized, lbsim.qat.
    layer_errors), and the energy-aware rule (dual per unit of extra energy, within the extra
    energy of the largest-dual selection at that k: equal energy). Plus k = 0 (every layer at b
    bits). Each selection fine-tunes the PD-trained weights with plain QAT (lbsim.qat.train_qat,
    SGD lr --qat-lr cosine, --qat-epochs epochs, the same images) and is evaluated on the first
    --test-limit test images.
  * Cost: each selection is a precision map (default: weight and activation int<b>; first, last
    and kept layers fp32) given to `lbsim run --precision-map` of a forward-only trace of the
    network (batch --cost-batch) on arch_configs/int8_32x32.yaml: energy and latency per
    inference. A layer's extra energy = its energy at fp32 minus at int<b> (two runs).
  * Report: accuracy mean +- sample std over seeds per rule and k, energy and latency per
    inference, the duals per layer (mean over seeds) with each layer's extra energy; the
    precision maps of seed 0 in <out>.runs/maps/. Deterministic for the same arguments.
"""

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time

import torch
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import ptq_network  # noqa: E402
import train_lowbit  # noqa: E402

ARCH = "int8_32x32.yaml"
EPS_OUT = {8: 1 / 255, 4: 0.1, 2: 0.7, 1: 0.9}  # the paper's code, per bit width
FP32 = {"weight": "fp32", "activation": "fp32"}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="train_lowbit.py output dir of an FP32 network")
    p.add_argument("--lbsim", required=True, help="the lbsim executable")
    p.add_argument("--out", required=True, help="report (.md)")
    p.add_argument("--bits", default="2,4")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--k", default="3,5", help="layers kept in FP32 per selection")
    p.add_argument("--random-draws", type=int, default=3)
    p.add_argument("--quantizer", choices=("dorefa", "lbsim"), default="lbsim")
    p.add_argument("--weight-format", default="int{b}_sawb",
                   help="lbsim quantizer: weight format; {b} = the bit width (int{b}_sawb)")
    p.add_argument("--act-format", default="int{b}_sawb",
                   help="lbsim quantizer: activation format; {b} = the bit width")
    p.add_argument("--pd-epochs", type=int, default=1)
    p.add_argument("--qat-epochs", type=int, default=1)
    p.add_argument("--train-limit", type=int, default=4096)
    p.add_argument("--test-limit", type=int, default=2000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-dual", type=float, default=0.01)
    p.add_argument("--qat-lr", type=float, default=0.01)
    p.add_argument("--cost-batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-dir", default=train_lowbit.DEFAULT_DATA)
    p.add_argument("--work", help="work directory (default <out>.runs)")
    args = p.parse_args(argv)
    args.bits = [int(b) for b in args.bits.split(",")]
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.k = [int(k) for k in args.k.split(",")]
    for b in args.bits:
        if b not in EPS_OUT:
            p.error(f"--bits: {b}; allowed: {', '.join(map(str, sorted(EPS_OUT)))}")
    return args


def quantizer_for(q, args, bits):
    if args.quantizer == "dorefa":
        return q.Quantizer("dorefa", bits=bits)
    return q.Quantizer("lbsim", bits=bits, weight=args.weight_format.format(b=bits),
                       activation=args.act_format.format(b=bits))


# ---------------------------------------------------------------------------------------------
# Cost: lbsim run of an inference trace with a precision map.

class Coster:
    def __init__(self, args, model_name, layer_names, work):
        self.args, self.work = args, work
        self.first_last = {layer_names[0]: FP32, layer_names[-1]: FP32}
        self.trace_dir = os.path.join(work, "trace")
        os.makedirs(self.trace_dir, exist_ok=True)
        fm = {n: {"weight": None, "activation": None, "error": None} for n in layer_names}
        train_lowbit.write_trace(self.trace_dir, model_name, args.cost_batch, fm, 1,
                                 f"{model_name}_qat", training=False)
        self.trace = os.path.join(self.trace_dir, "trace.yaml")
        self.cache = {}

    def low(self, bits):
        """The quantized layers' formats: the lbsim quantizer's own, or int<b> for DoReFa
        (b-bit integer operands: what a DoReFa b-bit layer feeds the array)."""
        if self.args.quantizer == "lbsim":
            return {"weight": self.args.weight_format.format(b=bits),
                    "activation": self.args.act_format.format(b=bits)}
        return {"weight": f"int{bits}", "activation": f"int{bits}"}

    def map_doc(self, bits, keep):
        import lbsim.qat as q
        return q.precision_map(self.low(bits), FP32, keep, layers=self.first_last)

    def cost(self, bits, keep, name=None):
        """{energy_uj, time_us, layers: {layer: energy_uj}} of the selection."""
        key = (bits, tuple(sorted(keep)))
        if key in self.cache:
            return self.cache[key]
        import lbsim
        maps = os.path.join(self.work, "maps")
        os.makedirs(maps, exist_ok=True)
        path = os.path.join(maps, name or f"b{bits}_{len(self.cache)}.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(self.map_doc(bits, keep), f, sort_keys=False)
        try:
            r = lbsim.run(os.path.join(SOURCE, "arch_configs", ARCH), self.trace,
                          precision_map=path)
        except (ValueError, RuntimeError) as e:
            raise SystemExit(f"constrained_qat_study: lbsim run failed with {path}: {e}")
        per_layer = {}
        for row in r["energy"]:
            per_layer[row["layer"]] = per_layer.get(row["layer"], 0.0) + float(row["energy_pj"])
        out = {"energy_uj": sum(per_layer.values()) / 1e6,
               "time_us": r["stats"]["run"]["time_ms"] * 1e3,
               "layers": {k: v / 1e6 for k, v in per_layer.items()}, "map": path}
        self.cache[key] = out
        return out


# ---------------------------------------------------------------------------------------------

def fresh_model(fp_state, model_name):
    import lowbit_nets
    m = lowbit_nets.MODELS[model_name]()
    m.load_state_dict(fp_state)
    return m


def run_seed(args, q, bits, seed, fp_state, model_name, data, coster, errors, log):
    """Every selection of one (bits, seed): {"duals", "rows": [(rule, k, draw, keep, acc)]}."""
    xtr, ytr, xte, yte = data
    quant = quantizer_for(q, args, bits)
    torch.manual_seed(seed)
    fp = fresh_model(fp_state, model_name)
    pd = q.PrimalDual(fp, quant, eps_out=EPS_OUT[bits], lr=args.lr, lr_dual=args.lr_dual)
    g = torch.Generator().manual_seed(seed)
    t0 = time.time()
    for _ in range(args.pd_epochs):
        pd.train_epoch(xtr, ytr, args.batch, g, log=log)
    pd_acc = q.evaluate(pd.lp, xte, yte)[1]
    log(f"b{bits} s{seed}: PD-QAT test accuracy {pd_acc:.4f} ({time.time() - t0:.0f} s)")
    duals = dict(pd.lambdas)
    pd_state = {k: v.clone() for k, v in pd.fp.state_dict().items()}
    names = sorted(duals)
    extra = {n: coster.cost(bits, [n])["energy_uj"] - coster.cost(bits, [])["energy_uj"]
             for n in names}
    selections = [("all quantized", 0, None, [])]
    for k in args.k:
        top = q.select_layers("largest_dual", k, duals=duals)
        budget = sum(extra[n] for n in top)
        selections += [("largest dual", k, None, top),
                       ("smallest dual", k, None, q.select_layers("smallest_dual", k,
                                                                   duals=duals)),
                       ("L2 error", k, None, q.select_layers("l2", k, errors=errors)),
                       ("energy-aware", k, None,
                        q.select_layers("energy", duals=duals, extra_energy=extra,
                                        budget=budget))]
        for d in range(args.random_draws):
            selections.append(("random", k, d, q.select_layers("random", k, duals=duals,
                                                                 seed=1000 * seed + 17 * k + d)))
    rows = []
    for rule, k, draw, keep in selections:
        torch.manual_seed(seed)
        m = fresh_model(pd_state, model_name)
        lp = q.low_precision_copy(m, quant, keep=keep)
        gq = torch.Generator().manual_seed(seed + 1)
        q.train_qat(lp, xtr, ytr, args.qat_epochs, args.batch, args.qat_lr, gq)
        acc = q.evaluate(lp, xte, yte)[1]
        rows.append({"rule": rule, "k": k, "draw": draw, "keep": keep, "accuracy": acc})
        log(f"b{bits} s{seed}: {rule} k={k}{'' if draw is None else f' draw {draw}'}: "
            f"{', '.join(keep) or '-'} -> {acc:.4f}")
    return {"duals": duals, "pd_accuracy": pd_acc, "rows": rows, "extra": extra}


def fmt_acc(values):
    if len(values) == 1:
        return f"{100 * values[0]:.2f}"
    return f"{100 * statistics.mean(values):.2f} +- {100 * statistics.stdev(values):.2f}"


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    import lbsim
    import lbsim.qat as q
    lbsim_exe = os.path.abspath(args.lbsim)
    os.environ["LBSIM_EXE"] = lbsim_exe
    work = args.work or args.out + ".runs"
    os.makedirs(work, exist_ok=True)
    model_name, fp_model, summary = ptq_network.load_run(args.run)
    fp_state = {k: v.clone() for k, v in fp_model.state_dict().items()}
    data = train_lowbit.load_fashion_mnist(args.data_dir, args.train_limit, args.test_limit)
    layer_names = ptq_network.layer_order(fp_model, data[0][:1])
    coster = Coster(args, model_name, layer_names, work)
    fp_acc = q.evaluate(fp_model, data[2], data[3])[1]
    log = lambda s: print(s, flush=True)  # noqa: E731
    results = {}
    for bits in args.bits:
        errors = q.layer_errors(fresh_model(fp_state, model_name), quantizer_for(q, args, bits),
                                data[0][:512])
        for seed in args.seeds:
            cache = os.path.join(work, f"b{bits}_s{seed}.json")
            want = {k: getattr(args, k) for k in ("quantizer", "weight_format", "act_format",
                                                 "pd_epochs", "qat_epochs", "train_limit",
                                                 "test_limit", "batch", "lr", "lr_dual",
                                                 "qat_lr", "k", "random_draws", "run")}
            if os.path.exists(cache):
                with open(cache) as f:
                    r = json.load(f)
                if r.get("args") == want:
                    results[(bits, seed)] = r
                    continue
            r = run_seed(args, q, bits, seed, fp_state, model_name, data, coster, errors, log)
            r["args"], r["errors"] = want, errors
            with open(cache, "w") as f:
                json.dump(r, f, indent=1)
            results[(bits, seed)] = r
    write_report(args, summary, model_name, layer_names, fp_acc, results, coster, lbsim_exe)
    print(f"constrained_qat_study: wrote {args.out}")
    return 0


def write_report(args, summary, model_name, layer_names, fp_acc, results, coster, lbsim_exe):
    reduced = (args.train_limit != 0 or args.pd_epochs < 10)
    title = (f"{'REDUCED BUDGET: ' if reduced else ''}Constrained QAT and dual-variable layer "
             f"selection on the Fashion-MNIST {model_name}")
    a = summary["args"]
    train_cmd = (f"PYTHONPATH=build/python /usr/bin/python3 workloads/tools/train_lowbit.py "
                 f"--recipe workloads/tools/recipes/fp32.yaml --model {model_name} --epochs "
                 f"{a['epochs']} --gemm fast --seed {a['seed']} --batch {a['batch']} --lr "
                 f"{a['lr']} --out RUN" + (f" --train-limit {a['train_limit']}"
                                          if a.get("train_limit") else ""))
    opts = (f"--bits {','.join(map(str, args.bits))} --seeds {','.join(map(str, args.seeds))} "
            f"--k {','.join(map(str, args.k))} --random-draws {args.random_draws} --quantizer "
            f"{args.quantizer} --pd-epochs {args.pd_epochs} --qat-epochs {args.qat_epochs} "
            f"--train-limit {args.train_limit} --test-limit {args.test_limit} --batch "
            f"{args.batch}")
    if args.quantizer == "lbsim":
        opts += f" --weight-format {args.weight_format} --act-format {args.act_format}"
    n_test = args.test_limit or 10000
    L = []
    L.append(f"# {title}\n")
    L.append("Generated by `workloads/tools/constrained_qat_study.py`; regenerate with\n")
    L.append("```")
    L.append(train_cmd)
    L.append("PYTHONPATH=build/python /usr/bin/python3 workloads/tools/constrained_qat_study.py "
             f"--run RUN --lbsim build/lbsim --out reports/reference/constrained_qat.md {opts}")
    L.append("```\n")
    q0 = results[next(iter(results))]
    L.append(
        f"Starting point: the FP32 `{model_name}` trained by the first command ({a['epochs']} "
        f"epoch{'s' * (a['epochs'] != 1)}, {a.get('train_limit') or 60000:,} images; test accuracy {100 * fp_acc:.2f} % on "
        f"the first {n_test:,} test images). Quantizer: "
        + ("DoReFa (the paper's: weights tanh-normalised to b-bit levels times mean|w|, "
           "activations clipped to [0, 1] at b bits)" if args.quantizer == "dorefa" else
           f"lbsim formats (weight `{args.weight_format}`, activation `{args.act_format}`, "
           "{b} = the bit width)")
        + f"; the first and last layer stay FP32, as in the paper; {len(q0['duals'])} layers "
        "are quantized. Primal-dual QAT (`lbsim.qat.PrimalDual`: output constraint eps_out = "
        + ", ".join(f"{EPS_OUT[b]:.3g} at {b} bits" for b in args.bits)
        + f", layer constraints eps = 1/255, Adam lr {args.lr}, dual step {args.lr_dual} per "
        f"epoch) runs {args.pd_epochs} epoch(s) on the first {args.train_limit:,} training images "
        f"(batch {args.batch}); every selection then fine-tunes those weights with plain QAT "
        f"({args.qat_epochs} epoch(s), SGD lr {args.qat_lr} cosine) with its k layers in FP32. "
        f"Accuracy on the first {n_test:,} test images, mean +- sample std over seeds "
        f"{', '.join(map(str, args.seeds))}.\n")
    L.append(
        f"Cost: `lbsim run --precision-map MAP` of one inference (batch {args.cost_batch}) on "
        f"`arch_configs/{ARCH}` (default 45 nm table): quantized layers in the formats they were "
        "trained in (" + ("the DoReFa layers as `int<b>`: b-bit integer operands" if
                          args.quantizer == "dorefa" else "the quantizer's")
        + "), kept, first and last layers at `fp32`. The maps of the last seed are in the work directory "
        "(`maps/`), e.g.\n")
    L.append("```yaml")
    L.append(yaml.safe_dump(coster.map_doc(args.bits[0], sorted(
        next(r for r in q0["rows"] if r["rule"] == "largest dual")["keep"])),
        sort_keys=False).rstrip())
    L.append("```\n")
    points = []
    fig = os.path.splitext(args.out)[0] + ".svg"
    L_fig_at = len(L)
    for bits in args.bits:
        seeds = [s for s in args.seeds if (bits, s) in results]
        rs = [results[(bits, s)] for s in seeds]
        base = coster.cost(bits, [])
        L.append(f"## {bits} bits\n")
        L.append(f"PD-QAT (all {len(rs[0]['duals'])} layers at {bits} bits, before "
                 f"fine-tuning): {fmt_acc([r['pd_accuracy'] for r in rs])} %. FP32 network: "
                 f"{100 * fp_acc:.2f} %, all-FP32 inference {coster.cost(bits, rs[0]['duals'].keys())['energy_uj']:.3f} uJ; "
                 f"all quantized {base['energy_uj']:.3f} uJ.\n")
        L.append("| rule | k | accuracy % | vs all quantized | energy (uJ) | latency (us) | "
                 "layers kept in FP32 (seed " + str(seeds[0]) + ") |")
        L.append("|---|---:|---:|---:|---:|---:|---|")
        groups = {}
        for si, r in enumerate(rs):
            for row in r["rows"]:
                groups.setdefault((row["rule"], row["k"]), []).append((si, row))
        ref = [row["accuracy"] for _, row in groups[("all quantized", 0)]]
        for (rule, k), items in groups.items():
            points.append((bits, rule, k, [row["accuracy"] for _, row in items],
                           [coster.cost(bits, row["keep"])["energy_uj"] for _, row in items]))
            accs = [row["accuracy"] for _, row in items]
            costs = [coster.cost(bits, row["keep"]) for _, row in items]
            energy = statistics.mean(c["energy_uj"] for c in costs)
            lat = statistics.mean(c["time_us"] for c in costs)
            keep0 = next(row["keep"] for si, row in items if si == 0)
            if rule == "random":
                keep0 = f"{len(accs) // len(rs)} draws per seed, e.g. " + ", ".join(keep0)
            diff = 100 * (statistics.mean(accs) - statistics.mean(ref))
            L.append(f"| {rule} | {k} | {fmt_acc(accs)} | {diff:+.2f} | {energy:.3f} | "
                     f"{lat:.2f} | {keep0 if isinstance(keep0, str) else ', '.join(keep0) or '-'} |")
        L.append("")
        L.append(f"Duals per layer at {bits} bits (mean over seeds; rank 1 = largest), the L2 "
                 "score and the layer's extra energy at FP32:\n")
        L.append("| layer | dual | rank | L2 score | extra energy (uJ) |")
        L.append("|---|---:|---:|---:|---:|")
        names = [n for n in layer_names if n in rs[0]["duals"]]
        mean_d = {n: statistics.mean(r["duals"][n] for r in rs) for n in names}
        order = sorted(names, key=lambda n: -mean_d[n])
        for n in names:
            L.append(f"| {n} | {mean_d[n]:.4g} | {order.index(n) + 1} | "
                     f"{rs[0]['errors'][n]:.3g} | {rs[0]['extra'][n]:.4f} |")
        L.append("")
    if figure(fig, points, title.replace("REDUCED BUDGET: ", "")):
        L.insert(L_fig_at, f"![accuracy against energy per selection]({os.path.basename(fig)})\n")
    L.append("## Reading\n")
    L.append(reading(args, results))
    L.append(f"\nlbsim: `{os.path.relpath(lbsim_exe, SOURCE)}`; the study's work files "
             "(per-seed JSON, precision maps, trace) stay outside the report.")
    with open(args.out, "w") as f:
        f.write("\n".join(L) + "\n")


SHORT = {"all quantized": "all q", "largest dual": "max dual", "smallest dual": "min dual",
         "L2 error": "L2", "energy-aware": "energy", "random": "random"}


def figure(path, points, title):
    """Accuracy (mean, error bar = std over seeds) against energy per inference, one point per
    rule and k, one colour per bit width (gnuplot SVG next to the report)."""
    gp = shutil.which("gnuplot")
    if not gp:
        print("constrained_qat_study: warning: gnuplot not found; no figure", file=sys.stderr)
        return False
    dat = path + ".dat"
    bits_list = sorted({p[0] for p in points})
    with open(dat, "w") as f:
        for b in bits_list:
            merged = {}  # selections that coincide (same energy and accuracy) share one label
            for bits, rule, k, accs, energies in points:
                if bits != b:
                    continue
                std = statistics.stdev(accs) if len(accs) > 1 else 0.0
                xy = (f"{statistics.mean(energies):.6g}", f"{100 * statistics.mean(accs):.4f}",
                      f"{100 * std:.4f}")
                merged.setdefault(xy, []).append(SHORT[rule] + ("" if k == 0 else f" k={k}"))
            for (x, y, e), labels in merged.items():
                f.write(f"{x} {y} {e} \"{' / '.join(labels)}\"\n")
            f.write("\n\n")
    plots = []
    for i, b in enumerate(bits_list):
        plots.append(f"'{dat}' index {i} using 1:2:3 with yerrorbars pt 7 ps 0.8 title "
                     f"'{b} bits'")
        plots.append(f"'' index {i} using 1:2:4 with labels offset 0.7,0.4 left font ',8' "
                     "notitle")
    script = f"""set terminal svg size 820,500 dynamic font 'sans,11'
set output '{path}'
set title "{title}" font ',11'
set xlabel 'energy of one inference (uJ, lbsim run --precision-map)'
set ylabel 'test accuracy (%)'
set grid
set key bottom right
plot {", ".join(plots)}
"""
    subprocess.run([gp], input=script, text=True, check=True)
    os.remove(dat)
    return True


def reading(args, results):
    out = []
    for bits in args.bits:
        rs = [results[(bits, s)] for s in args.seeds if (bits, s) in results]
        for k in args.k:
            acc = {}
            for r in rs:
                for row in r["rows"]:
                    if row["k"] == k:
                        acc.setdefault(row["rule"], []).append(row["accuracy"])
            m = {rule: 100 * statistics.mean(v) for rule, v in acc.items()}
            top = max(m.values())
            best = " and ".join(r for r in m if m[r] == top)
            out.append(
                f"- {bits} bits, k = {k}: largest dual {m['largest dual']:.2f} %, smallest dual "
                f"{m['smallest dual']:.2f} %, random {m['random']:.2f} %, L2 {m['L2 error']:.2f} %,"
                f" energy-aware {m['energy-aware']:.2f} %; best: {best}. Largest dual "
                + ("beats" if m["largest dual"] > max(m["smallest dual"], m["random"]) else
                   "does not beat")
                + " both smallest dual and random here.")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
