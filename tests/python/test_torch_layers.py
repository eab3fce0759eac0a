"""lbsim.torch layers: an `exact` QuantConv2d equals `lbsim conv` (fwd, dgrad, wgrad) on the same
tensors bit for bit, also with SMP = 2 (mean of two samples); results do not depend on the thread
count; `fast` equals torch's conv on the dequantized operands; QuantLinear's exact GEMMs equal the
binding's GEMMs on the same quantized operands and `lbsim gemm` in the forward; recipes.

Usage: PYTHONPATH=<build>/python /usr/bin/python3 test_torch_layers.py path/to/lbsim
"""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import lbsim
import lbsim.torch as lt

LBSIM = os.path.abspath(sys.argv[1])
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORK = tempfile.mkdtemp(prefix="lbsim_pytorch_")
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
os.chdir(WORK)
torch.manual_seed(0)


def cli(*args):
    p = subprocess.run([LBSIM, *args], capture_output=True, text=True)
    assert p.returncode == 0, (args, p.stderr)


def same_bits(a, b, what):
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (what, a.dtype, b.dtype, a.shape, b.shape)
    assert a.tobytes() == b.tobytes(), f"{what}: differs in {np.sum(a != b)} of {a.size}"


def conv_layer(recipe, stride, pad, step=3):
    model = nn.Sequential(nn.Conv2d(3, 5, 3, stride=stride, padding=pad, bias=False))
    lt.convert(model, recipe)
    lt.set_step(model, step)
    return model


def run_layer(model, x, gy):
    x = x.clone().requires_grad_(True)
    y = model(x)
    y.backward(gy)
    return y, x.grad, model[0].weight.grad


def cli_conv(phase, key, fmts, stride, pad, out, arch):
    """`lbsim conv` with the arch's accumulator and dgrad lowering (as the layer uses them)."""
    fargs = sum(([f"--format-{k}", v] for k, v in fmts.items()), [])
    extra = {"fwd": [], "dgrad": ["--input-hw", "7,6"], "wgrad": ["--kernel", "3,3"]}[phase]
    a = lbsim.arch_info(arch)["accumulator"]
    acc = ["--acc-bits", str(a["bits"]), "--overflow", a["overflow"], "--dgrad-lowering",
           a["dgrad_lowering"]]
    cli("conv", "--phase", phase, "--x", "x.npy", "--w", "w.npy", "--e", "e.npy", "--stride",
        str(stride), "--pad", str(pad), "--seed", str(key), "--out", out, *fargs, *extra, *acc)
    return np.load(out)


CASES = [
    ("int8", dict(x="dfp8", w="dfp8", e="dfp8"), "int8_32x32.yaml"),
    ("luq", dict(x="int4_sawb", w="int4_sawb", e="luq_fp4"), "luq_32x32.yaml"),
    ("mls_m1e2", dict(x="mls_m1e2", w="mls_m1e2", e="mls_m1e2"), "mls_m1e2_32x32.yaml"),
    ("fp8", dict(x="fp8_e4m3", w="fp8_e4m3", e="fp8_e5m2"), "fp8_32x32.yaml"),
]


def test_exact_conv_equals_cli():
    for name, fmts, arch in CASES:
        arch_path = os.path.join(SOURCE, "arch_configs", arch)
        for stride, pad in ((1, 1), (2, 0)):
            for smp in (1, 2):
                recipe = lt.Recipe.from_arch(arch_path, gemm="exact", seed=17, smp=smp)
                model = conv_layer(recipe, stride, pad)
                x = torch.relu(torch.randn(2, 3, 7, 6))
                ho, wo = (7 + 2 * pad - 3) // stride + 1, (6 + 2 * pad - 3) // stride + 1
                gy = torch.randn(2, 5, ho, wo)
                np.save("x.npy", x.numpy())
                np.save("w.npy", model[0].weight.detach().numpy())
                np.save("e.npy", gy.numpy())
                y, dx, dw = run_layer(model, x, gy)
                key0 = lt.rng_key(17, 3, 0, 0)
                what = f"{name} stride {stride} pad {pad} smp {smp}"
                same_bits(y, cli_conv("fwd", key0, fmts, stride, pad, "y.npy", arch_path),
                          what + " fwd")
                if smp == 1:
                    same_bits(dx, cli_conv("dgrad", key0, fmts, stride, pad, "dx.npy",
                                           arch_path), what + " dgrad")
                    same_bits(dw, cli_conv("wgrad", key0, fmts, stride, pad, "dw.npy",
                                           arch_path), what + " wgrad")
                else:
                    # Sample s quantizes e with key s; x and w stay the forward's (key 0). The
                    # binding is `lbsim conv` (test_binding.py); the layer's mean is
                    # (s0 + s1) / 2 in fp32.
                    qx = lbsim.quantize(x.numpy(), fmts["x"], "activation", key0, 0).qtensor
                    qw = lbsim.quantize(model[0].weight.detach().numpy(), fmts["w"], "weight",
                                        key0, 1).qtensor
                    keys = [lt.rng_key(17, 3, 0, s) for s in range(2)]
                    acc = arch_path
                    dxs = [lbsim.conv("dgrad", e=gy.numpy(), w=qw, format_e=fmts["e"], seed=k,
                                      input_hw=(7, 6), stride=stride, pad=pad, acc=acc)
                           for k in keys]
                    dws = [lbsim.conv("wgrad", x=qx, e=gy.numpy(), format_e=fmts["e"], seed=k,
                                      kernel=(3, 3), stride=stride, pad=pad, acc=acc)
                           for k in keys]
                    same_bits(dx, (dxs[0] + dxs[1]) / np.float32(2), what + " dgrad")
                    same_bits(dw, (dws[0] + dws[1]) / np.float32(2), what + " wgrad")
                # Threads: the same bits with one thread.
                recipe1 = lt.Recipe.from_arch(arch_path, gemm="exact", seed=17, smp=smp,
                                              threads=1)
                m1 = conv_layer(recipe1, stride, pad)
                m1[0].weight.data.copy_(model[0].weight.data)
                y1, dx1, dw1 = run_layer(m1, x, gy)
                same_bits(y1, y, what + " fwd 1 thread")
                same_bits(dx1, dx, what + " dgrad 1 thread")
                same_bits(dw1, dw, what + " wgrad 1 thread")
    print(f"exact QuantConv2d == lbsim conv for {len(CASES)} recipes x 2 geometries x smp 1, 2")


def test_fast_conv():
    # fast: torch conv on the values lbsim.quantize gives for the same keys.
    recipe = lt.Recipe(weight="mls_m1e2", activation="mls_m1e2", error="mls_m1e2", seed=4)
    model = conv_layer(recipe, 1, 1, step=8)
    x = torch.relu(torch.randn(2, 3, 7, 6))
    gy = torch.randn(2, 5, 7, 6)
    y, dx, dw = run_layer(model, x, gy)
    key = lt.rng_key(4, 8, 0)
    w = model[0].weight.detach().numpy()
    qx = torch.from_numpy(lbsim.quantize(x.numpy(), "mls_m1e2", "activation", key, 0).values)
    qw = torch.from_numpy(lbsim.quantize(w, "mls_m1e2", "weight", key, 1).values)
    qe = torch.from_numpy(lbsim.quantize(gy.numpy(), "mls_m1e2", "error", key, 2).values)
    same_bits(y, F.conv2d(qx, qw, None, 1, 1), "fast fwd")
    same_bits(dx, torch.nn.grad.conv2d_input(x.shape, qw, qe, 1, 1), "fast dgrad")
    same_bits(dw, torch.nn.grad.conv2d_weight(qx, w.shape, qe, 1, 1), "fast wgrad")
    # The exact layer on the same keys is close to fast (same operands, other accumulation).
    model_e = conv_layer(lt.Recipe(weight="mls_m1e2", activation="mls_m1e2", error="mls_m1e2",
                                   seed=4, gemm="exact"), 1, 1, step=8)
    model_e[0].weight.data.copy_(model[0].weight.data)
    ye, dxe, dwe = run_layer(model_e, x, gy)
    for a, b, what in ((y, ye, "fwd"), (dx, dxe, "dgrad"), (dw, dwe, "wgrad")):
        err = float((a - b).abs().max()) / float(b.abs().max())
        assert err < 1e-5, (what, err)
    print("fast QuantConv2d == torch on lbsim.quantize values; exact within 1e-5 of it")


def test_linear():
    arch = os.path.join(SOURCE, "arch_configs", "int8_32x32.yaml")
    # int8 (round to nearest) so that `lbsim gemm` on w^T quantizes the weight identically.
    recipe = lt.Recipe.from_arch(arch, gemm="exact", seed=2, weight="int8", activation="int8",
                                 error="int8")
    model = nn.Sequential(nn.Linear(12, 7, bias=False))
    lt.convert(model, recipe)
    lt.set_step(model, 5)
    x = torch.randn(9, 12).requires_grad_(True)
    gy = torch.randn(9, 7)
    y = model(x)
    y.backward(gy)
    key = lt.rng_key(2, 5, 0)
    w = model[0].weight.detach().numpy()
    qx = lbsim.quantize(x.detach().numpy(), "int8", "activation", key, 0)
    qw = lbsim.quantize(w, "int8", "weight", key, 1)
    qe = lbsim.quantize(gy.numpy(), "int8", "error", key, 2)
    same_bits(y, lbsim.gemm(qx.qtensor, qw.qtensor.transpose(), acc=arch), "linear fwd")
    same_bits(x.grad, lbsim.gemm(qe.qtensor, qw.qtensor, acc=arch), "linear dgrad")
    same_bits(model[0].weight.grad, lbsim.gemm(qe.qtensor.transpose(), qx.qtensor, acc=arch),
              "linear wgrad")
    # The forward is `lbsim gemm` on x and w^T.
    np.save("lx.npy", x.detach().numpy())
    np.save("lwt.npy", np.ascontiguousarray(w.T))
    cli("gemm", "--format", "int8", "--a", "lx.npy", "--b", "lwt.npy", "--seed", str(key),
        "--out", "ly.npy")
    same_bits(y, np.load("ly.npy"), "linear fwd vs lbsim gemm")
    print("exact QuantLinear == binding GEMMs on its quantized operands (fwd == lbsim gemm)")


def test_recipes():
    r = lt.Recipe(weight="int8", activation="int8", error="int8", first_last_fp32=True,
                  precision={"1": {"error": "dfp8"}, "2": {"weight": "fp32"}})
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3), nn.Conv2d(2, 2, 3),
                          nn.ReLU(), nn.Flatten(), nn.Linear(2, 3))
    lt.convert(model, r)
    f = {name: m.lbsim_formats for name, m in lt.quant_layers(model)}
    assert f["0"] == {"weight": None, "activation": None, "error": None}, f
    assert f["5"] == {"weight": None, "activation": None, "error": None}, f
    assert f["1"] == {"weight": "int8", "activation": "int8", "error": "dfp8"}, f
    assert f["2"] == {"weight": None, "activation": "int8", "error": "int8"}, f
    assert isinstance(model[0], lt.QuantConv2d) and isinstance(model[5], lt.QuantLinear)
    # From a recipe file with an arch.
    rf = lt.Recipe.from_file(os.path.join(SOURCE, "workloads", "tools", "recipes",
                                          "mls_m2e3.yaml"))
    assert rf.formats == {"weight": "mls_m2e3", "activation": "mls_m2e3",
                          "error": "mls_m2e3"}, rf.formats
    assert rf.acc.endswith("mls_m1e2_32x32.yaml"), rf.acc
    luq = lt.Recipe.from_file(os.path.join(SOURCE, "workloads", "tools", "recipes",
                                           "luq_smp2.yaml"))
    assert luq.smp == 2 and luq.formats["error"] == "luq_fp4", luq.formats
    for bad in (dict(gemm="slow"), dict(smp=0), dict(precision={"a": {"bias": "int8"}})):
        try:
            lt.Recipe(**bad)
            raise AssertionError(f"no error for {bad}")
        except ValueError:
            pass
    print("recipes: first/last fp32, precision map, files")


if __name__ == "__main__":
    test_recipes()
    test_fast_conv()
    test_linear()
    test_exact_conv_equals_cli()
    print("OK")
