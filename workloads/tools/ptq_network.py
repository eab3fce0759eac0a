#!/usr/bin/python3
"""Post-training quantization of a network trained by train_lowbit.py, layer by layer with
lbsim.ptq (GPFQ or MSQ), at the bit widths of a precision map; test accuracy on Fashion-MNIST and
a forward-only lbsim trace that `lbsim run` costs as inference with those weight widths.

Usage:
  ptq_network.py --run DIR --method gpfq|msq (--bits B | --precision MAP.yaml) --out OUT
                 [--c-alpha C] [--bias-correction none|last|all] [--calib N] [--retain P]
                 [--stochastic] [--seed S] [--test-limit N] [--threads T] [--act-format F]

Contract:
  * DIR is train_lowbit.py's --out: summary.json names the model (lowbit_nets.py), weights.pt
    holds its final state_dict. The network runs in eval mode (batch norm with running stats).
  * Calibration: --calib training images (default 512), chosen by a permutation seeded with
    --seed. Quantizable layers (Conv2d, Linear) are taken in the order the forward pass first
    calls them. For each, its inputs are recorded on the calibration images twice: in the analog
    (FP32) network (X) and in the network whose earlier layers are already quantized (X~).
    Conv inputs become unfolded patches (F.unfold: rows = image x output position, columns
    Cin*R*S, the order of weight.reshape(Cout, -1)); a fixed random subset of the rows (retain
    rate --retain, default 0.25, keyed by --seed and the layer's index) is kept for both X and
    X~. lbsim.ptq(W, X, X~) quantizes the layer; its Q replaces the weight in the quantized
    network.
  * Precision map (YAML): `default: B` and `<layer name>: B` per layer (B in 1..16, or fp32 to
    leave a layer unquantized); --bits B is the map {default: B}. Unknown layer names are errors.
  * Bias correction (GPFQ paper §bias correction): b <- b + mean over calibration rows of
    (X W^T - X~ Q^T), for the last layer (`last`) or every layer with a bias (`all`); layers
    without a bias (convs before batch norm) are left as they are.
  * Outputs in OUT (written at the end, together):
      summary.json  arguments, precision per layer, per-layer delta, relative square error,
                    saturation, form, FP32 and quantized test accuracy
      weights.pt    the quantized state_dict
      trace.yaml    forward-only (training: false) trace of the network at --batch (default 1)
                    whose conv2d/linear layers carry precision {weight: int<B> (fp32 for an fp32
                    layer), activation: --act-format (default dfp8)}; `lbsim run --arch
                    arch_configs/int8_32x32.yaml --workload OUT/trace.yaml` costs one inference.
                    (GPFQ's alphabet has 2^B + 1 levels: costed as B-bit weights, the paper's
                    convention.)
  * Exit 2 with a message for bad arguments or inputs; nothing is written then.
"""

import argparse
import json
import os
import shutil
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
import train_lowbit  # noqa: E402

UsageError = train_lowbit.UsageError
FP32 = "fp32"


def import_lbsim():
    try:
        import lbsim
    except ImportError as e:
        raise UsageError(f"cannot import lbsim ({e}); run with PYTHONPATH=<build>/python")
    return lbsim


def load_run(run_dir):
    """(model name, FP32 model in eval mode, summary dict) of a train_lowbit.py output dir."""
    try:
        with open(os.path.join(run_dir, "summary.json")) as f:
            summary = json.load(f)
        name = summary["model"]
        state = torch.load(os.path.join(run_dir, "weights.pt"), map_location="cpu")
    except (OSError, KeyError, ValueError, RuntimeError) as e:
        raise UsageError(f"{run_dir}: not a train_lowbit.py output directory ({e})")
    if name not in lowbit_nets.MODELS:
        raise UsageError(f"{run_dir}: unknown model '{name}'")
    model = lowbit_nets.MODELS[name]()
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing:
        raise UsageError(f"{run_dir}/weights.pt: missing parameters {missing}")
    model.eval()
    return name, model, summary


def layer_order(model, sample):
    """Names of the Conv2d / Linear modules in the order the forward pass first calls them."""
    order, hooks = [], []
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            hooks.append(m.register_forward_hook(
                lambda mod, inp, out, name=name: order.append(name) if name not in order else None))
    with torch.no_grad():
        model(sample)
    for h in hooks:
        h.remove()
    return order


def read_precision(path, layers):
    """{layer: bits or None (fp32)} from a precision-map YAML."""
    import yaml
    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        raise UsageError(f"{path}: cannot read the precision map ({e})")
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: a precision map is a mapping: default: B, <layer>: B")
    return precision_map(doc, layers, path)


def precision_map(doc, layers, where):
    def bits(key, v):
        if v == FP32 or v == 32:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 16:
            raise UsageError(f"{where}: {key}: {v!r}; allowed: an integer 1..16 or fp32")
        return v

    unknown = [k for k in doc if k != "default" and k not in layers]
    if unknown:
        raise UsageError(f"{where}: unknown layer(s) {', '.join(map(str, unknown))}; layers: "
                         f"{', '.join(layers)}")
    if "default" not in doc:
        raise UsageError(f"{where}: no 'default' bit width")
    default = bits("default", doc["default"])
    return {name: bits(name, doc[name]) if name in doc else default for name in layers}


class _Captured(Exception):
    pass


def capture_input(model, name, x):
    """Input of module `name` when `model` runs on x (the forward pass stops there)."""
    mod = dict(model.named_modules())[name]
    got = []

    def hook(m, inp):
        got.append(inp[0].detach())
        raise _Captured()

    h = mod.register_forward_pre_hook(hook)
    try:
        with torch.no_grad():
            model(x)
    except _Captured:
        pass
    finally:
        h.remove()
    return got[0]


def layer_rows(mod, inp, keep):
    """The layer's inputs as rows of its GEMM: (samples, weights per neuron) float32."""
    if isinstance(mod, nn.Conv2d):
        if mod.groups != 1:
            raise UsageError(f"grouped convolution (groups={mod.groups}) is not supported")
        cols = F.unfold(inp, mod.kernel_size, mod.dilation, mod.padding, mod.stride)
        rows = cols.transpose(1, 2).reshape(-1, cols.shape[1])
    else:
        rows = inp.reshape(-1, inp.shape[-1])
    if keep is not None:
        rows = rows[keep]
    return np.ascontiguousarray(rows.numpy(), dtype=np.float32)


def quantize_network(model, calib, bits, method="gpfq", c_alpha=1.16, retain=0.25,
                     bias_correction="none", stochastic=False, seed=0, threads=0, order=None,
                     analog_cache=None, shifts=None, log=print):
    """A copy of `model` with every layer of `bits` (name -> bits or None) quantized by
    lbsim.ptq in forward order; returns (quantized model, per-layer records). analog_cache (a
    dict, layer -> input) keeps the analog network's layer inputs across calls on the same
    calibration images; shifts (a dict) receives each layer's bias shift (numpy, per neuron)."""
    lbsim = import_lbsim()
    if order is None:
        order = layer_order(model, calib[:1])
    qmodel = _copy(model)
    mods, qmods = dict(model.named_modules()), dict(qmodel.named_modules())
    records = []
    for index, name in enumerate(order):
        b = bits[name]
        if b is None:
            records.append({"layer": name, "bits": FP32})
            continue
        t0 = time.time()
        mod, qmod = mods[name], qmods[name]
        if analog_cache is not None and name in analog_cache:
            x_in = analog_cache[name]
        else:
            x_in = capture_input(model, name, calib)
            if analog_cache is not None:
                analog_cache[name] = x_in
        xq_in = capture_input(qmodel, name, calib)
        keep = None
        if isinstance(mod, nn.Conv2d):
            total = x_in.shape[0] * _positions(mod, x_in)
            n = max(1, int(round(retain * total)))
            g = torch.Generator().manual_seed(seed * 1000003 + index)
            keep = torch.sort(torch.randperm(total, generator=g)[:n]).values
        X = layer_rows(mod, x_in, keep)
        Xq = layer_rows(qmod, xq_in, keep)
        W = mod.weight.detach().reshape(mod.weight.shape[0], -1).numpy()
        r = lbsim.ptq(W, X, Xq, method=method, bits=b, c_alpha=c_alpha, stochastic=stochastic,
                      seed=seed + index, threads=threads)
        with torch.no_grad():
            qmod.weight.copy_(torch.from_numpy(r.q).reshape(qmod.weight.shape))
            corrected = (qmod.bias is not None and
                         (bias_correction == "all" or
                          (bias_correction == "last" and index == len(order) - 1)))
            if corrected:
                qmod.bias.add_(torch.from_numpy(r.bias_shift).to(qmod.bias.dtype))
        rec = {"layer": name, "bits": b, "rows": int(X.shape[0]), "weights": int(W.shape[1]),
               "neurons": int(W.shape[0]), "delta": r.delta, "rel_err2": r.rel_err2,
               "saturated": int(r.saturated), "form": r.form, "bias_corrected": bool(corrected),
               "seconds": round(time.time() - t0, 2)}
        records.append(rec)
        if shifts is not None:
            shifts[name] = r.bias_shift
        log(f"  {name:22s} {b:2d} bits  {W.shape[0]:4d} x {W.shape[1]:4d}, {X.shape[0]:6d} rows, "
            f"rel. sq. error {r.rel_err2:.4g}{' +bias' if corrected else ''} ({rec['seconds']} s)")
    return qmodel, records


def _positions(conv, x):
    h = (x.shape[2] + 2 * conv.padding[0] - conv.dilation[0] * (conv.kernel_size[0] - 1) - 1)
    w = (x.shape[3] + 2 * conv.padding[1] - conv.dilation[1] * (conv.kernel_size[1] - 1) - 1)
    return (h // conv.stride[0] + 1) * (w // conv.stride[1] + 1)


def _copy(model):
    import copy
    return copy.deepcopy(model)


def weight_format(b):
    return FP32 if b is None else f"int{b}"


def write_inference_trace(out_dir, model_name, batch, bits, act_format, network):
    """train_lowbit.write_trace as inference: precision {weight: int<B> | fp32, activation}."""
    formats = {name: {"weight": weight_format(b),
                      "activation": FP32 if b is None else act_format, "error": None}
               for name, b in bits.items()}
    train_lowbit.write_trace(out_dir, model_name, batch, formats, 1, network, training=False)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="train_lowbit.py output directory")
    p.add_argument("--method", choices=("gpfq", "msq"), default="gpfq")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--bits", type=int, help="every layer at B bits")
    src.add_argument("--precision", help="precision map YAML (default: B, <layer>: B | fp32)")
    p.add_argument("--c-alpha", type=float, default=1.16)
    p.add_argument("--bias-correction", choices=("none", "last", "all"), default="none")
    p.add_argument("--calib", type=int, default=512, help="calibration images")
    p.add_argument("--retain", type=float, default=0.25, help="share of conv patches kept")
    p.add_argument("--stochastic", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--test-limit", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--batch", type=int, default=1, help="batch of the inference trace")
    p.add_argument("--act-format", default="dfp8", help="activation format in the trace")
    p.add_argument("--data-dir", default=train_lowbit.DEFAULT_DATA)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.bits is not None and not 1 <= args.bits <= 16:
        p.error("--bits must be in 1..16")
    if args.calib < 1 or args.batch < 1:
        p.error("--calib and --batch must be >= 1")
    if not 0.0 < args.retain <= 1.0:
        p.error("--retain must be in (0, 1]")
    return args


def calibration_images(xtr, n, seed):
    g = torch.Generator().manual_seed(seed)
    return xtr[torch.randperm(len(xtr), generator=g)[:n]]


def main(argv):
    args = parse_args(argv)
    try:
        t0 = time.time()
        if args.threads:
            torch.set_num_threads(args.threads)
        name, model, summary = load_run(args.run)
        train_limit = summary.get("args", {}).get("train_limit", 0)
        xtr, _, xte, yte = train_lowbit.load_fashion_mnist(args.data_dir, train_limit,
                                                           args.test_limit)
        order = layer_order(model, xte[:1])
        bits = (read_precision(args.precision, order) if args.precision else
                precision_map({"default": args.bits}, order, "--bits"))
        calib = calibration_images(xtr, args.calib, args.seed)
        print(f"ptq_network: {name} from {args.run}, {args.method}, {len(calib)} calibration "
              f"images, retain {args.retain}")
        qmodel, records = quantize_network(model, calib, bits, args.method, args.c_alpha,
                                           args.retain, args.bias_correction, args.stochastic,
                                           args.seed, args.threads, order)
        _, acc32 = train_lowbit.evaluate(model, xte, yte)
        _, accq = train_lowbit.evaluate(qmodel, xte, yte)
        os.makedirs(args.out, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".ptq_network_", dir=args.out)
        network = f"{name}_ptq_{args.method}"
        write_inference_trace(tmp, name, args.batch, bits, args.act_format, network)
        torch.save(qmodel.state_dict(), os.path.join(tmp, "weights.pt"))
        out = {"network": network, "model": name, "run": os.path.abspath(args.run),
               "precision": {k: (FP32 if v is None else v) for k, v in bits.items()},
               "layers": records, "fp32_test_accuracy": acc32, "test_accuracy": accq,
               "args": vars(args)}
        with open(os.path.join(tmp, "summary.json"), "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
        for fname in os.listdir(tmp):
            os.replace(os.path.join(tmp, fname), os.path.join(args.out, fname))
        shutil.rmtree(tmp)
        print(f"ptq_network: test accuracy {accq:.4f} (FP32 {acc32:.4f}); wrote {args.out}/"
              f"summary.json, weights.pt, trace.yaml ({time.time() - t0:.1f} s)")
    except (UsageError, ValueError) as e:
        print(f"ptq_network: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
