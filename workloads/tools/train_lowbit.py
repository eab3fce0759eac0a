#!/usr/bin/python3
"""Train a network on Fashion-MNIST with lbsim's number formats (lbsim.torch) and write what the
trained network costs on the matching lbsim architecture.

Usage:
  train_lowbit.py (--arch ARCH.yaml | --recipe FILE) --model lenet5|resnet20 --epochs E
                  --gemm fast|exact --seed S --out DIR [options]

Contract:
  * Data: Debian's dataset-fashion-mnist files (--data-dir, default
    /usr/share/datasets/fashion-mnist: train/t10k-images-idx3-ubyte.gz, *-labels-idx1-ubyte.gz),
    read directly (no download). Pixels / 255, standardised with the mean and standard deviation
    of the training images used. --train-limit N / --test-limit N take the first N images.
  * Formats: --arch takes pe_array.formats (and, with --gemm exact, the accumulator) of an lbsim
    architecture; --recipe a recipe file (lbsim.torch.Recipe.from_file). --first-last-fp32 and
    --smp N override the recipe.
  * Training: torch.manual_seed(--seed) before the model is built; each epoch visits the training
    images in a permutation drawn from a torch.Generator seeded with (seed, epoch); mini-batches of
    --batch; SGD (momentum 0.9, weight decay 5e-4, no decay on biases and BN) with --lr cosine
    annealed per step to 0 over all steps; --steps N stops each epoch after N steps. The
    iteration number keys lbsim.torch's stochastic rounding. torch.set_num_threads(--threads).
    Same arguments -> identical weights.
  * Outputs in DIR (written when training ends):
      metrics.csv     epoch, steps, train_loss (mean over the epoch's steps), test_loss,
                      test_accuracy (fraction), one row per epoch
      curve.svg       train loss and test accuracy per epoch (gnuplot; skipped with a warning
                      when gnuplot is absent)
      weights.pt      the final state_dict (torch.save)
      trace.yaml      the trained network as an lbsim workload trace (trace_torch.py on the same
                      architecture at --batch), every conv2d/linear layer with its per-layer
                      precision {weight, activation, error} (fp32 for fp32 layers) and
                      smp_samples = --smp, so that `lbsim run --workload trace.yaml` costs one
                      training iteration of exactly this network
      summary.json    recipe, per-layer formats, final metrics, arguments
    Wall times go to stdout only (the files are deterministic).
  * Exit 2 with a message for bad arguments or inputs (unknown model, missing data files, bad
    recipe/arch/format); nothing is written then.
"""

import argparse
import csv
import gzip
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import lowbit_nets  # noqa: E402

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
EXIT_USAGE = 2


class UsageError(Exception):
    pass


def import_lbsim():
    try:
        import lbsim.torch as lt
    except ImportError as e:
        raise UsageError(f"cannot import lbsim ({e}); run with PYTHONPATH=<build>/python "
                         "(see README.md, section Python)")
    return lt


# ---------------------------------------------------------------------------------------------
# Fashion-MNIST (IDX files, gzip).

def read_idx(path, magic, dims):
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UsageError(f"{path}: cannot read ({e}); install Debian's dataset-fashion-mnist")
    head = np.frombuffer(data[:4 + 4 * dims], dtype=">u4")
    if len(head) != 1 + dims or head[0] != magic:
        raise UsageError(f"{path}: not an IDX file with magic {magic:#x}")
    shape = tuple(int(v) for v in head[1:])
    body = np.frombuffer(data[4 + 4 * dims:], dtype=np.uint8)
    if body.size != int(np.prod(shape)):
        raise UsageError(f"{path}: {body.size} bytes of data, header says {shape}")
    return body.reshape(shape)


def load_fashion_mnist(data_dir, train_limit, test_limit):
    def split(prefix, limit):
        x = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"), 0x803, 3)
        y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"), 0x801, 1)
        if len(x) != len(y):
            raise UsageError(f"{data_dir}: {prefix} has {len(x)} images but {len(y)} labels")
        if limit:
            x, y = x[:limit], y[:limit]
        return x, y

    xtr, ytr = split("train", train_limit)
    xte, yte = split("t10k", test_limit)
    xtr = xtr.astype(np.float32) / 255.0
    xte = xte.astype(np.float32) / 255.0
    mean, std = float(xtr.mean()), float(xtr.std())
    norm = lambda x: torch.from_numpy(((x - mean) / std).astype(np.float32)).unsqueeze(1)  # noqa
    return (norm(xtr), torch.from_numpy(ytr.astype(np.int64)),
            norm(xte), torch.from_numpy(yte.astype(np.int64)))


# ---------------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--arch", help="lbsim architecture YAML: formats (and accumulator) from it")
    src.add_argument("--recipe", help="recipe file (YAML/JSON, lbsim.torch.Recipe.from_file)")
    p.add_argument("--model", required=True, choices=sorted(lowbit_nets.MODELS))
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--gemm", choices=("fast", "exact"), default="fast")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output directory (created)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--first-last-fp32", action="store_true",
                   help="keep the first and last conv/linear layer in fp32")
    p.add_argument("--smp", type=int, default=None, help="LUQ SMP samples (overrides the recipe)")
    p.add_argument("--train-limit", type=int, default=0, help="use the first N training images")
    p.add_argument("--test-limit", type=int, default=0, help="use the first N test images")
    p.add_argument("--steps", type=int, default=0, help="at most N steps per epoch (0: all)")
    p.add_argument("--threads", type=int, default=0,
                   help="torch and exact-GEMM threads (0: torch's default, all cores)")
    p.add_argument("--data-dir", default=DEFAULT_DATA)
    p.add_argument("--no-trace", action="store_true", help="do not write trace.yaml")
    args = p.parse_args(argv)
    for name in ("epochs", "batch"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    for name in ("train_limit", "test_limit", "steps", "threads"):
        if getattr(args, name) < 0:
            p.error(f"--{name.replace('_', '-')} must be >= 0")
    if args.smp is not None and args.smp < 1:
        p.error("--smp must be >= 1")
    return args


def make_recipe(lt, args):
    kw = {"gemm": args.gemm, "seed": args.seed}
    if args.first_last_fp32:
        kw["first_last_fp32"] = True
    if args.smp is not None:
        kw["smp"] = args.smp
    if args.threads:
        kw["threads"] = args.threads
    try:
        if args.arch:
            return lt.Recipe.from_arch(args.arch, **kw)
        return lt.Recipe.from_file(args.recipe, **kw)
    except (ValueError, OSError) as e:
        raise UsageError(str(e))


def param_groups(model):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    return [{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0.0}]


def evaluate(model, x, y, batch=1000):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(x[i:i + batch])
            loss += float(F.cross_entropy(out, y[i:i + batch], reduction="sum"))
            correct += int((out.argmax(1) == y[i:i + batch]).sum())
    model.train()
    return loss / len(x), correct / len(x)


def train(args, log=print):
    """Trains per args; returns (model, recipe, rows of metrics.csv)."""
    lt = import_lbsim()
    if args.threads:
        torch.set_num_threads(args.threads)
    recipe = make_recipe(lt, args)
    xtr, ytr, xte, yte = load_fashion_mnist(args.data_dir, args.train_limit, args.test_limit)
    torch.manual_seed(args.seed)
    model = lowbit_nets.MODELS[args.model]()
    try:
        model = lt.convert(model, recipe)
    except ValueError as e:
        raise UsageError(str(e))
    steps_per_epoch = math.ceil(len(xtr) / args.batch)
    if args.steps:
        steps_per_epoch = min(steps_per_epoch, args.steps)
    total = steps_per_epoch * args.epochs
    opt = torch.optim.SGD(param_groups(model), lr=args.lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total) / total)))
    rows = []
    step = 0
    for epoch in range(args.epochs):
        t0 = time.time()
        g = torch.Generator().manual_seed(args.seed * 1000003 + epoch)
        perm = torch.randperm(len(xtr), generator=g)
        losses = []
        for i in range(steps_per_epoch):
            idx = perm[i * args.batch:(i + 1) * args.batch]
            lt.set_step(model, step)
            out = model(xtr[idx])
            loss = F.cross_entropy(out, ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss))
            step += 1
        test_loss, acc = evaluate(model, xte, yte)
        rows.append({"epoch": epoch + 1, "steps": len(losses),
                     "train_loss": sum(losses) / len(losses), "test_loss": test_loss,
                     "test_accuracy": acc, "first_loss": losses[0], "last_loss": losses[-1]})
        log(f"epoch {epoch + 1}/{args.epochs}: train loss {rows[-1]['train_loss']:.4f}, "
            f"test loss {test_loss:.4f}, test accuracy {acc:.4f} ({time.time() - t0:.1f} s)")
    return model, recipe, rows


# ---------------------------------------------------------------------------------------------
# Outputs.

def write_metrics(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch", "steps", "train_loss", "test_loss", "test_accuracy"])
        for r in rows:
            w.writerow([r["epoch"], r["steps"], f"{r['train_loss']:.6f}", f"{r['test_loss']:.6f}",
                        f"{r['test_accuracy']:.4f}"])


def write_plot(out_dir, title, epochs):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        print("train_lowbit: warning: gnuplot not found; no curve.svg", file=sys.stderr)
        return
    script = f"""set terminal svg size 640,400 dynamic font 'sans,11'
set output '{os.path.join(out_dir, 'curve.svg')}'
set datafile separator ','
set key autotitle columnhead bottom left
set title "{title}"
set xlabel 'epoch'
set ylabel 'train loss'
set y2label 'test accuracy'
set ytics nomirror
set y2tics
set y2range [0:1]
set xrange [0.5:{epochs + 0.5}]
set yrange [0:*]
set grid
plot '{os.path.join(out_dir, 'metrics.csv')}' using 1:3 with linespoints axes x1y1 \\
         title 'train loss', \\
     '' using 1:5 with linespoints axes x1y2 title 'test accuracy'
"""
    subprocess.run([gnuplot], input=script, text=True, check=True)


def write_trace(out_dir, model_name, batch, layer_formats, smp, network, training=True):
    """trace_torch.py on the fp32 architecture, then per-layer precision and smp_samples.
    training=False writes an inference trace (training: false, no ops: lbsim expands the forward
    ops) whose precision names the roles whose format is not None."""
    import yaml
    import trace_torch
    cls = lowbit_nets.MODELS[model_name].__name__
    tmp = os.path.join(out_dir, "trace.tmp.yaml")
    rc = trace_torch.main(["--module", f"{os.path.join(HERE, 'lowbit_nets.py')}:{cls}",
                           "--batch", str(batch), "--input", "1,28,28", "--out", tmp])
    if rc != 0:
        raise RuntimeError(f"trace_torch.py failed with exit code {rc}")
    with open(tmp) as f:
        doc = yaml.safe_load(f)
    os.remove(tmp)
    doc["network"] = network
    doc["smp_samples"] = int(smp)
    if not training:  # before the layers, as the trace writer orders keys
        layers = doc.pop("layers")
        doc["training"] = False
        doc["layers"] = layers
    for layer in doc["layers"]:
        if not training:
            layer.pop("ops", None)
            layer.pop("input_grad", None)
        if layer["type"] in ("conv2d", "linear"):
            fm = layer_formats[layer["name"]]
            layer_prec = ({r: fm[r] or "fp32" for r in ("weight", "activation", "error")}
                          if training else {r: fm[r] for r in ("weight", "activation", "error")
                                            if fm.get(r)})
            # precision comes before ops, as the trace writer orders keys.
            ops = layer.pop("ops", None)
            layer["precision"] = layer_prec
            if ops is not None:
                layer["ops"] = ops
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=4096)
    with open(os.path.join(out_dir, "trace.yaml"), "w") as f:
        f.write(text)


def main(argv):
    args = parse_args(argv)
    try:
        t0 = time.time()
        model, recipe, rows = train(args)
        lt = import_lbsim()
        layer_formats = {name: m.lbsim_formats for name, m in lt.quant_layers(model)}
        os.makedirs(args.out, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".train_lowbit_", dir=args.out)
        write_metrics(os.path.join(tmp, "metrics.csv"), rows)
        torch.save(model.state_dict(), os.path.join(tmp, "weights.pt"))
        network = f"{args.model}_{recipe.name}"
        if not args.no_trace:
            write_trace(tmp, args.model, args.batch, layer_formats, recipe.smp, network)
        summary = {"network": network, "model": args.model, "recipe": recipe.describe(),
                   "layers": layer_formats, "epochs": rows,
                   "final_test_accuracy": rows[-1]["test_accuracy"],
                   "args": {k: v for k, v in vars(args).items()}}
        with open(os.path.join(tmp, "summary.json"), "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
        write_plot(tmp, f"{args.model}, {recipe.name}, gemm {args.gemm}, seed {args.seed}",
                   len(rows))
        for name in os.listdir(tmp):
            os.replace(os.path.join(tmp, name), os.path.join(args.out, name))
        os.rmdir(tmp)
        print(f"train_lowbit: {args.out}: test accuracy {rows[-1]['test_accuracy']:.4f} after "
              f"{len(rows)} epoch(s) ({time.time() - t0:.1f} s)")
    except UsageError as e:
        print(f"train_lowbit: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
