#!/usr/bin/python3
"""Throughput of lbsim.torch's `exact` GEMMs: lbsim.conv / lbsim.gemm (the functional reference
with the arch's accumulator) on the layers of a ResNet-20 (28x28 variant) training step, per
recipe, per phase, with 1 thread (GMAC/s per core) and with --threads threads. Figures for the
README; never a test.

  PYTHONPATH=build/python /usr/bin/python3 bench/bench_exact_gemm.py [--repeat 3] [--batch 128]

Layers: the three 3x3 pad-1 convolutions of the ResNet-20 stages (16 ch on 28 x 28, 32 ch on
14 x 14, 64 ch on 7 x 7) and a linear layer (--linear IN,OUT, default 256,128; as QuantLinear:
fwd x w^T, dgrad e w, wgrad e^T x). MACs are the lowered GEMM's M x N x K (`full=True`), i.e. what
the array executes (the zero taps of a transposed dgrad count). --cpu-time divides by the
process's CPU time instead of wall time (GMAC per core-second; with 2 threads it also shows the
threading overhead), for machines shared with other jobs. Time covers quantized operands
already made (QTensors, as the layers pass them): the reference and the output layout (conv:
col2im / NCHW). Reported: the best of --repeat. --summary prints one row per recipe and phase:
MACs of all layers over their summed time.
"""

import argparse
import os
import time

import numpy as np

import lbsim

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = [
    ("int8 (dfp8)", "int8_32x32.yaml", dict(x="dfp8", w="dfp8", e="dfp8")),
    ("LUQ (int4 / luq_fp4)", "luq_32x32.yaml", dict(x="int4_sawb", w="int4_sawb", e="luq_fp4")),
    ("MLS <1,2>", "mls_m1e2_32x32.yaml", dict(x="mls_m1e2", w="mls_m1e2", e="mls_m1e2")),
    ("MLS <4,2>", "mls_m4e2_32x32.yaml", dict(x="mls_m4e2", w="mls_m4e2", e="mls_m4e2")),
]
PHASES = ("fwd", "dgrad", "wgrad")


CLOCK = time.perf_counter


def best_time(fn, repeat):
    best = None
    for _ in range(repeat):
        t0 = CLOCK()
        r = fn()
        dt = CLOCK() - t0
        best = dt if best is None else min(best, dt)
    return best, r


def conv_calls(rng, n, c, hw, f, acc):
    x = np.maximum(rng.standard_normal((n, c, hw, hw)), 0).astype(np.float32)
    w = (rng.standard_normal((c, c, 3, 3)) * 0.1).astype(np.float32)
    e = (rng.standard_normal((n, c, hw, hw)) * 1e-3).astype(np.float32)
    qx = lbsim.quantize(x, f["x"], "activation", 1, 0).qtensor
    qw = lbsim.quantize(w, f["w"], "weight", 1, 1).qtensor
    qe = lbsim.quantize(e, f["e"], "error", 1, 2).qtensor
    kw = {"fwd": dict(x=qx, w=qw), "dgrad": dict(e=qe, w=qw, input_hw=(hw, hw)),
          "wgrad": dict(x=qx, e=qe, kernel=(3, 3))}
    return {ph: (lambda t, ph=ph: lbsim.conv(ph, pad=1, acc=acc, threads=t, full=True, **kw[ph]))
            for ph in PHASES}


def linear_calls(rng, n, fin, fout, f, acc):
    # As lbsim.torch.QuantLinear: x (n, in) reduced along in, w (out, in), e (n, out).
    x = np.maximum(rng.standard_normal((n, fin)), 0).astype(np.float32)
    w = (rng.standard_normal((fout, fin)) * 0.1).astype(np.float32)
    e = (rng.standard_normal((n, fout)) * 1e-3).astype(np.float32)
    qx = lbsim.quantize(x, f["x"], "activation", 1, 0).qtensor
    qw = lbsim.quantize(w, f["w"], "weight", 1, 1).qtensor
    qe = lbsim.quantize(e, f["e"], "error", 1, 2).qtensor
    qwt, qet = qw.transpose(), qe.transpose()
    ops = {"fwd": (qx, qwt), "dgrad": (qe, qw), "wgrad": (qet, qx)}
    return {ph: (lambda t, ph=ph: lbsim.gemm(*ops[ph], acc=acc, threads=t, full=True))
            for ph in PHASES}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--linear", default="256,128")
    p.add_argument("--recipes", default="", help="comma-separated substrings of recipe names")
    p.add_argument("--layers", default="", help="comma-separated layer names to run")
    p.add_argument("--summary", action="store_true")
    p.add_argument("--cpu-time", action="store_true",
                   help="time = CPU time of the process (all threads) instead of wall time: "
                   "GMAC per CPU-second, i.e. per core, on a machine shared with other jobs")
    args = p.parse_args()
    global CLOCK
    if args.cpu_time:
        CLOCK = time.process_time
    fin, fout = (int(v) for v in args.linear.split(","))
    n, t2 = args.batch, args.threads
    layers = [(f"conv {c}ch {hw}x{hw}", "conv", (c, hw)) for c, hw in ((16, 28), (32, 14), (64, 7))]
    layers.append((f"linear {fin}->{fout}", "linear", (fin, fout)))
    if args.layers:
        want = args.layers.split(",")
        layers = [l for l in layers if any(w in l[0] for w in want)]
    clock = "CPU time (all threads)" if args.cpu_time else "wall time"
    print(f"batch {n}; best of {args.repeat}; GMAC/s = M*N*K / {clock} / 1e9; "
          f"{os.cpu_count()} cores")
    print(f"| recipe | layer | phase | GEMM M x N x K | K segments | GMAC/s 1 thread | "
          f"GMAC/s {t2} threads |")
    print("|---|---|---|---|---|---|---|")
    totals = {}
    for name, arch, f in RECIPES:
        if args.recipes and not any(r in name for r in args.recipes.split(",")):
            continue
        acc = lbsim.arch_info(os.path.join(SOURCE, "arch_configs", arch))["accumulator"]
        rng = np.random.default_rng(0)
        for lname, kind, dims in layers:
            calls = (conv_calls(rng, n, dims[0], dims[1], f, acc) if kind == "conv"
                     else linear_calls(rng, n, dims[0], dims[1], f, acc))
            for phase in PHASES:
                times = []
                for threads in (1, t2):
                    dt, r = best_time(lambda: calls[phase](threads), args.repeat)
                    times.append(dt)
                macs = r["m"] * r["n"] * r["k"]
                tot = totals.setdefault((name, phase), [0, 0.0, 0.0])
                tot[0] += macs
                tot[1] += times[0]
                tot[2] += times[1]
                print(f"| {name} | {lname} | {phase} | {r['m']} x {r['n']} x {r['k']} | "
                      f"{r['k_segments']} | {macs / times[0] / 1e9:.2f} | "
                      f"{macs / times[1] / 1e9:.2f} |", flush=True)
    if args.summary:
        print()
        # Per core: CPU time already sums the threads; wall time is divided by the threads.
        per_core = 1 if args.cpu_time else t2
        print(f"| recipe | phase | GMAC/s 1 thread | GMAC/s {t2} threads | "
              f"GMAC/s per core, {t2} threads |")
        print("|---|---|---|---|---|")
        for (name, phase), (macs, a, b) in totals.items():
            print(f"| {name} | {phase} | {macs / a / 1e9:.2f} | {macs / b / 1e9:.2f} | "
                  f"{macs / b / 1e9 / per_core:.2f} |")


if __name__ == "__main__":
    main()
