#!/usr/bin/python3
"""Throughput of lbsim.torch's `exact` GEMMs: lbsim.conv (the functional reference with the
arch's accumulator) on the convolutions of a training step, per recipe, per phase, with one
thread (GMAC/s per core) and with all cores. Figures for the README; never a test.

  PYTHONPATH=build/python /usr/bin/python3 bench/bench_exact_gemm.py [--repeat 3] [--batch 32]

MACs are the lowered GEMM's M x N x K (`full=True`), i.e. what the array executes (the zero taps
of a transposed stride-2 dgrad count). Time covers quantized operands already made (QTensors,
as the layers pass them): lowering + reference + conv_output. Reported: the best of --repeat.
Layer: a ResNet-20 (28x28 variant) stage-2 convolution, 32 -> 32 channels, 3x3, 14 x 14, pad 1.
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--hw", type=int, default=14)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    n, c, hw = args.batch, args.channels, args.hw
    x = np.maximum(rng.standard_normal((n, c, hw, hw)), 0).astype(np.float32)
    w = (rng.standard_normal((c, c, 3, 3)) * 0.1).astype(np.float32)
    e = (rng.standard_normal((n, c, hw, hw)) * 1e-3).astype(np.float32)
    cores = os.cpu_count()
    print(f"conv {n}x{c}x{hw}x{hw}, w {c}x{c}x3x3, pad 1; best of {args.repeat}; {cores} cores")
    print(f"| recipe | phase | GEMM M x N x K | K segments | GMAC/s 1 thread | "
          f"GMAC/s {cores} threads |")
    print("|---|---|---|---|---|---|")
    for name, arch, f in RECIPES:
        arch_path = os.path.join(SOURCE, "arch_configs", arch)
        acc = lbsim.arch_info(arch_path)["accumulator"]
        qx = lbsim.quantize(x, f["x"], "activation", 1, 0).qtensor
        qw = lbsim.quantize(w, f["w"], "weight", 1, 1).qtensor
        qe = lbsim.quantize(e, f["e"], "error", 1, 2).qtensor
        calls = {"fwd": dict(x=qx, w=qw), "dgrad": dict(e=qe, w=qw, input_hw=(hw, hw)),
                 "wgrad": dict(x=qx, e=qe, kernel=(3, 3))}
        for phase, kw in calls.items():
            rates = []
            for threads in (1, cores):
                best = None
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    r = lbsim.conv(phase, pad=1, acc=acc, threads=threads, full=True, **kw)
                    dt = time.perf_counter() - t0
                    best = dt if best is None else min(best, dt)
                macs = r["m"] * r["n"] * r["k"]
                rates.append(macs / best / 1e9)
            print(f"| {name} | {phase} | {r['m']} x {r['n']} x {r['k']} | {r['k_segments']} | "
                  f"{rates[0]:.2f} | {rates[1]:.2f} |")


if __name__ == "__main__":
    main()
