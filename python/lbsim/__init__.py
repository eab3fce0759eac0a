"""lbsim from Python: number formats, quantization and bit-exact GEMMs of the lbsim simulator.

    import numpy as np, lbsim
    q = lbsim.quantize(np.float32([0.3, -1.2, 2.5]), "int8")
    y = lbsim.conv("fwd", x=x, w=w, format="mls_m1e2", pad=1,
                   acc="arch_configs/mls_m1e2_32x32.yaml")
    r = lbsim.run("arch_configs/int8_32x32.yaml", "resnet20", params=["pe_array.rows=16"])

quantize / gemm / conv are the library calls behind `lbsim quantize | gemm | conv`: the same
inputs give the same bits (values, codes, scales, outputs) and bad specs or shapes raise
ValueError with the CLI's message. gemm and conv compute through the functional reference
(models/reference) with an accumulator given as an arch YAML path (its pe_array.accumulator,
mapping.dgrad_lowering and, for operands without a format, pe_array.formats), a dict
{"bits": 32, "overflow": "saturate"|"wrap", "dgrad_lowering": "im2col"|"transposed"} or None
(32 bits, saturate, im2col: the CLI's defaults). Operands are float arrays (quantized by the call
exactly as the CLI quantizes them: x/A = tensor 0, w/B = tensor 1, e = tensor 2, all keyed by
`seed`) or QTensor objects from quantize() (used as they are). `threads` (0 = all cores) splits
the output into bands computed in parallel; results do not depend on it.

ptq() quantizes one layer's weights after training (GPFQ or MSQ), as `lbsim ptq`.

run() runs the `lbsim` executable in a child process (path fixed at build time, env LBSIM_EXE
overrides) and returns its stats.json, layers.csv and energy.csv as Python data.
"""

import csv
import json
import os
import subprocess
import tempfile

import numpy as np

from . import _lbsim
from ._lbsim import QTensor

__all__ = ["QTensor", "Quantized", "formats", "format_info", "arch_info", "quantize", "gemm",
           "conv", "ptq", "PtqResult", "run", "lbsim_exe"]


def formats():
    """Every number-format spec name lbsim accepts without options (types and aliases)."""
    return list(_lbsim.formats())


def format_info(spec):
    """{name, kind, code_bits, exp_bits, man_bits, describe} of a format spec string."""
    return dict(_lbsim.format_info(spec))


def arch_info(path):
    """{name, type, formats: {weight, activation, error}, accumulator: {bits, overflow,
    dgrad_lowering}} of an architecture YAML (validated as `lbsim check-config` does)."""
    return dict(_lbsim.arch_info(os.fspath(path)))


class Quantized:
    """Result of quantize(): values (float32, or float64 with dtype="float64"), codes (uint8/16/32,
    the narrowest that holds the format's code bits), scales (the dict `lbsim quantize --scales`
    writes) and qtensor (a QTensor to pass to gemm/conv as an already quantized operand)."""

    __slots__ = ("values", "codes", "scales", "qtensor")

    def __init__(self, values, codes, scales, qtensor):
        self.values = values
        self.codes = codes
        self.scales = scales
        self.qtensor = qtensor

    def __repr__(self):
        return (f"Quantized({self.scales['format']}, shape={tuple(self.scales['shape'])}, "
                f"tensor_scale={self.scales['tensor_scale']!r})")


def quantize(x, format, role="activation", seed=0, tensor_id=0, reduction_axis=-1,
             dtype="float32", codes=True):
    """Quantizes x (any array-like; float32 C-order is read in place) as `lbsim quantize --format
    FORMAT --role ROLE --seed SEED --tensor-id ID` does. reduction_axis selects the axis formats
    that group along the reduction axis (MLS k<g> on rank-2 tensors) use; the CLI uses -1.
    codes=False leaves out the codes array (codes is None; values, scales and qtensor are the
    same), for callers that need only the values."""
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    r = _lbsim.quantize(x, format, role, int(seed), int(tensor_id), int(reduction_axis),
                        dtype == "float64", bool(codes))
    return Quantized(r["values"], r["codes"], json.loads(r["scales_json"]), r["qtensor"])


def gemm(a, b, format=None, format_a=None, format_b=None, role_a="activation", role_b="weight",
         seed=0, acc=None, threads=0, full=False):
    """C = A (M x K) x B (K x N) through the functional reference, as `lbsim gemm` (engine
    reference). Returns C (float32), or with full=True a dict {out, acc_overflows, m, n, k,
    k_segments}."""
    r = _lbsim.gemm(a, b, format, format_a, format_b, role_a, role_b, int(seed),
                    _acc_arg(acc), int(threads))
    return r if full else r["out"]


def conv(phase, x=None, w=None, e=None, format=None, format_x=None, format_w=None, format_e=None,
         input_hw=None, kernel=None, stride=1, pad=0, seed=0, acc=None, dgrad_lowering=None,
         threads=0, full=False):
    """One training phase of a 2-D convolution, as `lbsim conv` (engine reference):
    fwd y = conv(x, w); dgrad dx from (e, w) (needs input_hw=(H, W)); wgrad dw from (x, e) (needs
    kernel=(R, S)). x NCHW, w (Cout, Cin, R, S), e (N, Cout, Ho, Wo). Returns the float32 result,
    or with full=True a dict {out, acc_overflows, m, n, k, k_segments} (the lowered GEMM)."""
    r = _lbsim.conv(phase, x, w, e, format, format_x, format_w, format_e, _pair(input_hw),
                    _pair(kernel), int(stride), int(pad), int(seed), _acc_arg(acc),
                    dgrad_lowering, int(threads))
    return r if full else r["out"]


class PtqResult:
    """Result of ptq(): q (float32, W's shape, values k * delta), levels (int32 k in [-K, K]),
    delta, K, form (the form used), err2 = ||X W^T - Xq Q^T||_F^2, ref2 = ||X W^T||_F^2,
    rel_err2 = err2 / ref2, saturated (weights clipped to +-K delta) and bias_shift (float64,
    per neuron: the mean over samples of X W^T - Xq Q^T; add it to the bias to correct it)."""

    __slots__ = ("q", "levels", "delta", "K", "form", "err2", "ref2", "saturated", "bias_shift")

    def __init__(self, d):
        for k in self.__slots__:
            setattr(self, k, d[k])

    @property
    def rel_err2(self):
        return self.err2 / self.ref2 if self.ref2 > 0 else 0.0

    def __repr__(self):
        return (f"PtqResult(shape={self.q.shape}, delta={self.delta!r}, K={self.K}, "
                f"form={self.form!r}, rel_err2={self.rel_err2:.4g})")


def ptq(w, x, xq=None, method="gpfq", bits=4, c_alpha=1.16, form="auto", stochastic=False,
        seed=0, threads=0):
    """Quantizes a layer's weights w (neurons x weights per neuron) after training, as `lbsim ptq
    --method METHOD --bits BITS --c-alpha C --form FORM [--stochastic --seed S]`: x (samples x
    weights per neuron) are the layer's analog inputs, xq (default x) its inputs in the network
    whose earlier layers are already quantized. Arrays are read as float32. method "gpfq" (greedy
    path following) or "msq" (nearest level); form "auto", "path" or "covariance". `threads`
    (0 = all cores) splits the neurons; results do not depend on it. Returns a PtqResult."""
    return PtqResult(_lbsim.ptq(w, x, xq, method, int(bits), float(c_alpha), form,
                                bool(stochastic), int(seed), int(threads)))


def _pair(v):
    if v is None:
        return None
    if isinstance(v, int):
        return [v, v]
    return [int(t) for t in v]


def _acc_arg(acc):
    if acc is None or isinstance(acc, dict):
        return acc
    return os.fspath(acc)


def lbsim_exe():
    """Path of the lbsim executable run() uses: env LBSIM_EXE, else the one of this build."""
    exe = os.environ.get("LBSIM_EXE")
    if exe:
        return exe
    from ._build_info import LBSIM_EXE
    return LBSIM_EXE


def _read_csv(path):
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for k, v in row.items():
            row[k] = _number(v)
    return rows


def _number(v):
    if v is None:
        return v
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v


def run(arch, workload, params=(), batch=None, mode=None, seed=None, energy=None, args=(),
        out_dir=None, precision_map=None):
    """Runs `lbsim run --arch ARCH --workload WORKLOAD [-p KEY=VALUE ...] [--precision-map MAP]`
    in a child process and returns {"stats": stats.json as a dict, "layers": layers.csv rows, "energy": energy.csv rows
    (dicts, numbers converted), "dir": the output directory, "stdout": the run's summary}.
    The output goes to a temporary directory that is removed afterwards unless out_dir is given.
    A failing run raises ValueError (exit code 2: the input's fault) or RuntimeError with lbsim's
    message."""
    cmd = [lbsim_exe(), "run", "--arch", os.fspath(arch), "--workload", os.fspath(workload)]
    for p in params:
        cmd += ["-p", p]
    if batch is not None:
        cmd += ["--batch", str(int(batch))]
    if mode is not None:
        cmd += ["--mode", mode]
    if seed is not None:
        cmd += ["--seed", str(int(seed))]
    if energy is not None:
        cmd += ["--energy", os.fspath(energy)]
    if precision_map is not None:
        cmd += ["--precision-map", os.fspath(precision_map)]
    cmd += list(args)

    def go(out):
        proc = subprocess.run(cmd + ["--out", out], capture_output=True, text=True)
        if proc.returncode != 0:
            msg = proc.stderr.strip() or proc.stdout.strip()
            raise (ValueError if proc.returncode == 2 else RuntimeError)(msg)
        with open(os.path.join(out, "stats.json")) as f:
            stats = json.load(f)
        return {"stats": stats, "layers": _read_csv(os.path.join(out, "layers.csv")),
                "energy": _read_csv(os.path.join(out, "energy.csv")), "dir": out,
                "stdout": proc.stdout}

    if out_dir is not None:
        return go(os.fspath(out_dir))
    with tempfile.TemporaryDirectory(prefix="lbsim_run_") as tmp:
        r = go(os.path.join(tmp, "run"))
        r["dir"] = None
        return r
