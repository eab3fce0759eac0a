#!/usr/bin/python3
"""The post-training quantization study: a trained FP32 Fashion-MNIST network (train_lowbit.py)
with B-bit weights by GPFQ and by MSQ, with and without bias correction: test accuracy, and what
inference with those weights costs on lbsim (weight traffic, energy, latency) — the GPFQ paper's
table plus the column it lacks.

Usage:
  PYTHONPATH=build/python /usr/bin/python3 workloads/tools/ptq_study.py --run DIR \\
      --lbsim build/lbsim --out reports/reference/ptq.md [--bits 2,3,4,5] [options]

Contract:
  * DIR: train_lowbit.py's output (summary.json, weights.pt) of an FP32 network. Its training
    command is printed in the report from summary.json.
  * Quantization: ptq_network.quantize_network (every conv/linear layer at B bits, GPFQ or MSQ
    through lbsim.ptq, same alphabet: c_alpha --c-alpha, --calib calibration images, conv
    patches at retain rate --retain); bias correction on every layer with a bias (--bc-layers
    all, the default) or the last one only (last). Accuracy on the Fashion-MNIST test set
    (--test-limit N: the first N images).
  * Cost: `lbsim run` of a forward-only trace (ptq_network.write_inference_trace, --batch images)
    on arch_configs/int8_32x32.yaml with weights int<B> and activations dfp8 per layer (B of
    --bits, and a cost-only 8-bit row), and the FP32 network on arch_configs/fp32_32x32.yaml;
    weight traffic = the bytes the weight (filter) buffer receives from DRAM (stats.json
    filter_buffer write_bytes).
  * Any --bits/--calib/--retain/--test-limit other than the defaults, or a run that is not a
    resnet20, labels the report "REDUCED RUN". Work files go to <out>.runs/ (not part of the
    report). Deterministic: same inputs and arguments give the same report.
"""

import argparse
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import ptq_network  # noqa: E402
import train_lowbit  # noqa: E402

INT_ARCH = "int8_32x32.yaml"
FP32_ARCH = "fp32_32x32.yaml"
REF_BITS = 8  # a cost-only row: int8 weights, the same dfp8 activations
RESNET_BC = " (in this network: the final fc only; its convs have no bias)"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="train_lowbit.py output dir of an FP32 network")
    p.add_argument("--lbsim", required=True, help="the lbsim executable")
    p.add_argument("--out", required=True, help="report (.md)")
    p.add_argument("--bits", default="2,3,4,5")
    p.add_argument("--c-alpha", type=float, default=1.16)
    p.add_argument("--calib", type=int, default=512)
    p.add_argument("--retain", type=float, default=0.25)
    p.add_argument("--bc-layers", choices=("all", "last"), default="all")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--test-limit", type=int, default=0)
    p.add_argument("--batch", type=int, default=1, help="images per inference (cost)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--data-dir", default=train_lowbit.DEFAULT_DATA)
    p.add_argument("--work", help="work directory (traces, lbsim runs; default <out>.runs)")
    return p.parse_args(argv)


def lbsim_cost(trace, arch, work):
    """lbsim.run (the --lbsim executable) of one inference trace: energy, DRAM, latency."""
    import lbsim
    try:
        r = lbsim.run(os.path.join(SOURCE, "arch_configs", arch), trace,
                      out_dir=os.path.join(work, "run"))
    except (ValueError, RuntimeError) as e:
        raise SystemExit(f"ptq_study: lbsim run failed on {trace}: {e}")
    stats, layers, energy = r["stats"], r["layers"], r["energy"]
    dram_pj = sum(float(e["energy_pj"]) for e in energy if e["component"] == "dram")
    return {"energy_uj": sum(float(e["energy_pj"]) for e in energy) / 1e6, "dram_uj": dram_pj / 1e6,
            "time_ms": stats["run"]["time_ms"], "cycles": stats["run"]["total_cycles"],
            "weight_dram_bytes": weight_dram_bytes(stats),
            "dram_read_bytes": sum(int(row["dram_read_bytes"]) for row in layers)}


def weight_dram_bytes(stats):
    """Bytes written into the filter (weight) buffer: the weight tiles fetched from DRAM."""
    return int(stats["stats"]["filter_buffer"]["write_bytes"]["value"])


def quantize_eval(args, model, calib, order, bits, method, xte, yte, cache, log):
    """Accuracy without and with bias correction, and the per-layer records (without). When
    only the last layer would be corrected, its correction changes no other layer's inputs, so
    the corrected network is the uncorrected one with that bias shifted (no second pass)."""
    bmap = {name: bits for name in order}
    mods = dict(model.named_modules())
    with_bias = [n for n in order if getattr(mods[n], "bias", None) is not None]
    targets = with_bias if args.bc_layers == "all" else [n for n in with_bias if n == order[-1]]
    shifts = {}
    run = dict(analog_cache=cache, log=lambda s: None)
    qmodel, records = ptq_network.quantize_network(
        model, calib, bmap, method, args.c_alpha, args.retain, "none", False, args.seed,
        args.threads, order, shifts=shifts, **run)
    _, acc = train_lowbit.evaluate(qmodel, xte, yte)
    if targets and targets != [order[-1]]:
        qbc, _ = ptq_network.quantize_network(
            model, calib, bmap, method, args.c_alpha, args.retain, args.bc_layers, False,
            args.seed, args.threads, order, **run)
    else:
        qbc = qmodel
        for n in targets:
            qm = dict(qbc.named_modules())[n]
            with torch.no_grad():
                qm.bias.add_(torch.from_numpy(shifts[n]).to(qm.bias.dtype))
    _, acc_bc = train_lowbit.evaluate(qbc, xte, yte)
    log(f"  {method:4s} {bits} bits: test accuracy {acc:.4f}, with bias correction {acc_bc:.4f}")
    return acc, acc_bc, records


def main(argv):
    args = parse_args(argv)
    os.environ["LBSIM_EXE"] = os.path.abspath(args.lbsim)  # the executable lbsim.run uses
    if not args.out.endswith(".md"):
        raise SystemExit("ptq_study: --out must be a .md file")
    work = args.work or args.out[:-3] + ".runs"
    os.makedirs(work, exist_ok=True)
    bits_list = [int(b) for b in args.bits.split(",")]
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.time()
    name, model, summary = ptq_network.load_run(args.run)
    train_limit = summary.get("args", {}).get("train_limit", 0)
    xtr, _, xte, yte = train_lowbit.load_fashion_mnist(args.data_dir, train_limit,
                                                       args.test_limit)
    order = ptq_network.layer_order(model, xte[:1])
    calib = ptq_network.calibration_images(xtr, args.calib, args.seed)
    _, acc32 = train_lowbit.evaluate(model, xte, yte)
    print(f"ptq_study: {name}, FP32 test accuracy {acc32:.4f}, {len(order)} layers")
    cache = {}
    acc, errs = {}, {}
    for b in bits_list:
        for method in ("msq", "gpfq"):
            a, a_bc, rec = quantize_eval(args, model, calib, order, b, method, xte, yte, cache,
                                         print)
            acc[(b, method, False)], acc[(b, method, True)] = a, a_bc
            errs[(b, method)] = rec
    costs = {}
    for b in [None, REF_BITS] + [b for b in bits_list if b != REF_BITS]:
        d = os.path.join(work, f"trace_{'fp32' if b is None else f'w{b}'}")
        os.makedirs(d, exist_ok=True)
        bmap = {n: b for n in order}
        ptq_network.write_inference_trace(d, name, args.batch, bmap, "dfp8",
                                          f"{name}_ptq_{'fp32' if b is None else f'w{b}'}")
        costs[b] = lbsim_cost(os.path.join(d, "trace.yaml"), FP32_ARCH if b is None else INT_ARCH,
                              d)
    write_report(args, argv, name, summary, order, acc32, acc, errs, costs, bits_list)
    print(f"ptq_study: wrote {args.out} ({time.time() - t0:.0f} s)")
    return 0


def fmt_bytes(n):
    return "n/a" if n is None else f"{n:,}"


def write_report(args, argv, name, summary, order, acc32, acc, errs, costs, bits_list):
    defaults = parse_args(["--run", "x", "--lbsim", "x", "--out", "x.md"])
    reduced = name != "resnet20" or any(
        getattr(args, k) != getattr(defaults, k) for k in ("bits", "calib", "retain",
                                                           "test_limit"))
    title = f"Post-training quantization (GPFQ vs MSQ) of the Fashion-MNIST {name}"
    if reduced:
        title = "REDUCED RUN (pipeline check, not the study's result): " + title
    shown, skip = [], False  # the command line without --work (where work goes does not matter)
    for a in argv:
        if skip or a == "--work":
            skip = not skip
            continue
        shown.append(a if not a.startswith("/") else os.path.relpath(a, SOURCE))
    targs = summary.get("args", {})
    train_cmd = ("PYTHONPATH=build/python /usr/bin/python3 workloads/tools/train_lowbit.py "
                 f"--recipe workloads/tools/recipes/fp32.yaml --model {name} "
                 f"--epochs {targs.get('epochs')} --gemm {targs.get('gemm')} "
                 f"--seed {targs.get('seed')} --out RUN")
    for k in ("train_limit", "test_limit", "steps"):
        if targs.get(k):
            train_cmd += f" --{k.replace('_', '-')} {targs[k]}"
    study_cmd = ("PYTHONPATH=build/python /usr/bin/python3 workloads/tools/ptq_study.py " +
                 " ".join(shown)).replace(os.path.relpath(args.run, SOURCE), "RUN") \
        .replace(args.run, "RUN")
    tl = f"the first {args.test_limit}" if args.test_limit else "all 10,000"
    L = [f"# {title}", "",
         "Generated by `workloads/tools/ptq_study.py`; regenerate with", "", "```",
         train_cmd, study_cmd, "```", "",
         f"Network: `{name}` trained in FP32 by `train_lowbit.py` (arguments above; FP32 test "
         f"accuracy {100 * acc32:.2f} % on {tl} test images). Every conv and linear layer "
         f"({len(order)}) is quantized after training, in forward order, by `lbsim.ptq`: the "
         f"alphabet {{k delta : k = -K..K}}, K = 2^(B-1), delta = c_alpha x mean over neurons of "
         f"max |w| / K with c_alpha = {args.c_alpha} (one alphabet per layer, saturating); MSQ "
         "rounds each weight to the nearest level, GPFQ follows the greedy path on the "
         f"calibration data: {args.calib} training images, conv layers through unfolded patches "
         f"with retain rate {args.retain}, X~ from the already-quantized earlier layers. Bias "
         "correction (BC) adds the mean output discrepancy over the calibration rows to the "
         f"bias of {'every layer that has one' if args.bc_layers == 'all' else 'the last layer'}"
         f"{RESNET_BC if name == 'resnet20' else ''}. "
         "Activations stay FP32 for accuracy, as in the GPFQ paper.", "",
         "## Accuracy and inference cost", "",
         f"Cost: `lbsim run` of one forward pass (batch {args.batch}) of the network with those "
         f"weight widths: B-bit rows on `arch_configs/{INT_ARCH}` with weights `int<B>` and "
         f"activations `dfp8` per layer, the FP32 row on `arch_configs/{FP32_ARCH}`; the "
         "default 45 nm energy table. The cost depends on B only, not on how the weights were "
         "chosen. B bits is the paper's convention: the alphabet has 2^B + 1 levels, which "
         "strictly needs B + 1 bits (the costed int<B> holds -K..K-1).", "",
         "| weights | MSQ % | MSQ + BC % | GPFQ % | GPFQ + BC % | weight DRAM bytes | "
         "DRAM read bytes | energy (uJ) | of which DRAM (uJ) | latency (us) |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    c = costs[None]
    L.append(f"| FP32 | {100 * acc32:.2f} | | | | {fmt_bytes(c['weight_dram_bytes'])} | "
             f"{c['dram_read_bytes']:,} | {c['energy_uj']:.3f} | {c['dram_uj']:.3f} | "
             f"{1000 * c['time_ms']:.2f} |")
    if REF_BITS not in bits_list:
        c = costs[REF_BITS]
        L.append(f"| {REF_BITS} bits (cost only) | | | | | {fmt_bytes(c['weight_dram_bytes'])} | "
                 f"{c['dram_read_bytes']:,} | {c['energy_uj']:.3f} | {c['dram_uj']:.3f} | "
                 f"{1000 * c['time_ms']:.2f} |")
    for b in bits_list:
        c = costs[b]
        cells = " | ".join(f"{100 * acc[(b, m, bc)]:.2f}" for m in ("msq", "gpfq")
                           for bc in (False, True))
        L.append(f"| {b} bits | {cells} | {fmt_bytes(c['weight_dram_bytes'])} | "
                 f"{c['dram_read_bytes']:,} | {c['energy_uj']:.3f} | {c['dram_uj']:.3f} | "
                 f"{1000 * c['time_ms']:.2f} |")
    bmax = bits_list[-1]
    L += ["", "## Layer-wise quantization error", "",
          "Relative square error ||X W^T - X~ Q^T||^2 / ||X W^T||^2 on the calibration rows "
          "(without bias correction), per layer: MSQ / GPFQ; and the weights saturated at "
          f"+-K delta at {bmax} bits.", "",
          "| layer | N1 x N0 | rows | " + " | ".join(f"{b} bits" for b in bits_list) +
          f" | saturated at {bmax} bits |",
          "|---|---|---:|" + "---:|" * len(bits_list) + "---:|"]
    for i, layer in enumerate(order):
        r0 = errs[(bits_list[0], "gpfq")][i]
        cells = []
        for b in bits_list:
            m, g = errs[(b, "msq")][i], errs[(b, "gpfq")][i]
            cells.append(f"{m['rel_err2']:.3g} / {g['rel_err2']:.3g}")
        sat = f"{errs[(bmax, 'msq')][i]['saturated']} / {errs[(bmax, 'gpfq')][i]['saturated']}"
        L.append(f"| {layer} | {r0['neurons']} x {r0['weights']} | {r0['rows']:,} | " +
                 " | ".join(cells) + f" | {sat} |")
    c32, c8, clo = costs[None], costs[REF_BITS], costs[bits_list[0]]
    share = lambda c: 100.0 * c["weight_dram_bytes"] / c["dram_read_bytes"]  # noqa: E731
    wins = sum(acc[(b, "gpfq", bc)] >= acc[(b, "msq", bc)] for b in bits_list
               for bc in (False, True))
    cells = [(errs[(b, "gpfq")][i]["rel_err2"], errs[(b, "msq")][i]["rel_err2"])
             for b in bits_list for i in range(len(order))]
    lower = sum(g <= m for g, m in cells)
    total = lambda b, meth: sum(r["rel_err2"] for r in errs[(b, meth)])  # noqa: E731
    falls = ""
    if len(bits_list) > 1:
        b0 = bits_list[-2]
        falls = (f" From {b0} to {bmax} bits the summed layer error falls by a factor "
                 f"{total(b0, 'msq') / total(bmax, 'msq'):.2f} for MSQ and "
                 f"{total(b0, 'gpfq') / total(bmax, 'gpfq'):.2f} for GPFQ (rounding alone would "
                 f"give {4 ** (bmax - b0)}); saturation at +-K delta does not shrink with B.")
    L += ["", "## Reading", "",
          "GPFQ uses the calibration data to carry each weight's rounding error into the weights "
          "after it (a property tested in `tests/unit/test_ptq.cpp`: its layer error is at most "
          f"MSQ's on random layers); here it is lower in {lower} of {len(cells)} layer x width "
          f"cells.{falls} In accuracy GPFQ is at least MSQ's in {wins} of "
          f"{2 * len(bits_list)} cells (same B, same bias correction).", "",
          "The cost columns are what the GPFQ paper leaves out. Weight bytes fetched from DRAM "
          f"scale with B: {c8['weight_dram_bytes']:,} at {REF_BITS} bits, "
          f"{clo['weight_dram_bytes']:,} at {bits_list[0]} bits; at batch {args.batch} they "
          f"are {share(c8):.0f} % and {share(clo):.0f} % of the DRAM reads, the rest being "
          "activations and outputs. Energy per inference: FP32 (with fp32 activations) "
          f"{c32['energy_uj']:.2f} uJ; {REF_BITS}-bit weights {c8['energy_uj']:.2f} uJ; "
          f"{bits_list[0]}-bit weights {clo['energy_uj']:.2f} uJ "
          f"({100 * (1 - clo['energy_uj'] / c8['energy_uj']):.1f} % below {REF_BITS} bits); "
          f"DRAM is {100 * clo['dram_uj'] / clo['energy_uj']:.0f} % of it.", ""]
    with open(args.out, "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
