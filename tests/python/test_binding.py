"""lbsim (Python binding) against the lbsim CLI on the same .npy files: quantize values, codes and
scales, gemm and conv (every phase) bit for bit; errors as ValueError with the CLI's text;
thread-count independence; lbsim.run returns the run's files as data.

Usage: PYTHONPATH=<build>/python /usr/bin/python3 test_binding.py path/to/lbsim [section]
"""

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

import lbsim

LBSIM = os.path.abspath(sys.argv[1])
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ["LBSIM_EXE"] = LBSIM
WORK = tempfile.mkdtemp(prefix="lbsim_pytest_")
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
os.chdir(WORK)


def cli(*args, ok=True):
    p = subprocess.run([LBSIM, *args], capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise AssertionError(f"lbsim {' '.join(args)} failed: {p.stderr}")
    return p


def same_bits(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (what, a.dtype, b.dtype, a.shape, b.shape)
    assert a.tobytes() == b.tobytes(), f"{what}: differs in {np.sum(a != b)} elements"


rng = np.random.default_rng(11)
tensors = {
    "vec": rng.standard_normal(1000).astype(np.float32),
    "relu4": np.maximum(rng.standard_normal((2, 3, 6, 5)), 0).astype(np.float32),
    "mat": (rng.standard_normal((24, 40)) * 3).astype(np.float32),
    "f64": rng.standard_normal((5, 7)),  # float64: read and rounded to fp32 by both
}
for name, t in tensors.items():
    np.save(f"{name}.npy", t)

FORMATS = ["fp32", "bf16", "fp16", "fp8_e4m3", "fp8_e5m2", "int8", "dfp8", "int4_sawb", "luq_fp4",
           "mls_m1e2", "mls_m2e3", "mls_m4e2", "mls_m1e2:rounding_weight=stochastic"]


def test_formats():
    names = lbsim.formats()
    for f in ("fp32", "int8", "dfp8", "luq_fp4", "mls_m1e2", "fp8_e4m3"):
        assert f in names, (f, names)
    assert names == sorted(names)
    info = lbsim.format_info("mls_m1e2")
    assert info["kind"] == "mls" and info["man_bits"] == 1 and info["exp_bits"] == 2, info


def test_quantize():
    count = 0
    for spec in FORMATS:
        for name in tensors:
            for role in ("weight", "activation", "error"):
                for seed, tid in ((7, 3),):
                    cli("quantize", "--format", spec, "--in", f"{name}.npy", "--out", "v.npy",
                        "--codes", "c.npy", "--scales", "s.json", "--role", role, "--seed",
                        str(seed), "--tensor-id", str(tid))
                    x = np.load(f"{name}.npy")
                    q = lbsim.quantize(x, spec, role=role, seed=seed, tensor_id=tid)
                    what = f"quantize {spec} {name} {role} seed {seed}"
                    same_bits(q.values, np.load("v.npy"), what + " values")
                    same_bits(q.codes, np.load("c.npy"), what + " codes")
                    assert q.scales == json.load(open("s.json")), what + " scales"
                    count += 1
    # float64 output as --dtype float64
    cli("quantize", "--format", "mls_m1e2", "--in", "mat.npy", "--out", "v64.npy", "--dtype",
        "float64")
    same_bits(lbsim.quantize(tensors["mat"], "mls_m1e2", dtype="float64").values,
              np.load("v64.npy"), "float64 values")
    # Tensors of at least 2^16 elements decode 16-bit codes through a table: same bits as the CLI.
    big = rng.standard_normal((7, 100, 100)).astype(np.float32)
    np.save("big.npy", big)
    for spec in ("bf16", "fp16", "mls_m1e2"):
        cli("quantize", "--format", spec, "--in", "big.npy", "--out", "v.npy", "--role", "error")
        same_bits(lbsim.quantize(big, spec, role="error").values, np.load("v.npy"),
                  f"quantize {spec} 70,000 elements")
    # codes=False: the same values and scales, no codes array.
    full, lean = lbsim.quantize(big, "int8"), lbsim.quantize(big, "int8", codes=False)
    assert lean.codes is None and lean.scales == full.scales
    same_bits(lean.values, full.values, "codes=False values")
    print(f"quantize: {count} cases bit-identical to the CLI")


def test_gemm():
    a = rng.standard_normal((33, 70)).astype(np.float32)
    b = rng.standard_normal((70, 21)).astype(np.float32)
    np.save("ga.npy", a)
    np.save("gb.npy", b)
    cases = [dict(format="int8"), dict(format="dfp8"), dict(format="mls_m1e2"),
             dict(format="mls_m4e2"), dict(format="fp8_e4m3"), dict(format="bf16"),
             dict(format_a="int4_sawb", format_b="luq_fp4", role_b="error"),
             dict(format="mls_m1e2:rounding_weight=stochastic", seed=5),
             dict(format="int8", acc={"bits": 12, "overflow": "wrap"}),
             dict(format="int8", acc={"bits": 12, "overflow": "saturate"})]
    for kw in cases:
        args = []
        for k, v in kw.items():
            if k == "acc":
                args += ["--acc-bits", str(v["bits"]), "--overflow", v["overflow"]]
            else:
                args += [f"--{k.replace('_', '-')}", str(v)]
        cli("gemm", "--a", "ga.npy", "--b", "gb.npy", "--out", "gc.npy", *args)
        for threads in (1, 2, 3):
            r = lbsim.gemm(a, b, threads=threads, full=True, **kw)
            same_bits(r["out"], np.load("gc.npy"), f"gemm {kw} threads {threads}")
        if "acc" in kw:
            assert r["acc_overflows"] > 0, kw
    # An arch YAML: its accumulator and, for operands without a format, its formats.
    arch = os.path.join(SOURCE, "arch_configs", "mls_m1e2_32x32.yaml")
    cli("gemm", "--a", "ga.npy", "--b", "gb.npy", "--out", "gc.npy", "--format", "mls_m1e2")
    same_bits(lbsim.gemm(a, b, acc=arch), np.load("gc.npy"), "gemm with arch formats")
    # Pre-quantized operands give the same result as the call's own quantization.
    qa = lbsim.quantize(a, "int8", role="activation", seed=3, tensor_id=0, reduction_axis=1)
    qb = lbsim.quantize(b, "int8", role="weight", seed=3, tensor_id=1, reduction_axis=0)
    same_bits(lbsim.gemm(qa.qtensor, qb.qtensor), lbsim.gemm(a, b, format="int8", seed=3),
              "gemm of QTensors")
    # A QTensor transposed: values are the transposed values.
    qm = lbsim.quantize(tensors["mat"], "mls_m1e2", reduction_axis=1)
    same_bits(qm.qtensor.transpose().values(), np.ascontiguousarray(qm.values.T), "transpose")
    print(f"gemm: {len(cases)} cases x 3 thread counts bit-identical to the CLI")


def conv_cases():
    x = np.maximum(rng.standard_normal((3, 4, 9, 8)), 0).astype(np.float32)
    w = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    for stride, pad in ((1, 1), (2, 1), (2, 0)):
        ho = (9 + 2 * pad - 3) // stride + 1
        wo = (8 + 2 * pad - 3) // stride + 1
        e = rng.standard_normal((3, 6, ho, wo)).astype(np.float32)
        yield x, w, e, stride, pad


def test_conv():
    count = 0
    fmts = [dict(format="int8"), dict(format="mls_m1e2"), dict(format="mls_m2e3"),
            dict(format="fp8_e4m3", format_e="fp8_e5m2"),
            dict(format_x="int4_sawb", format_w="int4_sawb", format_e="luq_fp4")]
    for x, w, e, stride, pad in conv_cases():
        np.save("cx.npy", x)
        np.save("cw.npy", w)
        np.save("ce.npy", e)
        for kw in fmts:
            fargs = sum(([f"--{k.replace('_', '-')}", v] for k, v in kw.items()), [])
            for lowering in ("im2col", "transposed"):
                for phase in ("fwd", "dgrad", "wgrad"):
                    if phase != "dgrad" and lowering == "transposed":
                        continue
                    extra = {"fwd": [], "dgrad": ["--input-hw", "9,8"],
                             "wgrad": ["--kernel", "3,3"]}[phase]
                    cli("conv", "--phase", phase, "--x", "cx.npy", "--w", "cw.npy", "--e",
                        "ce.npy", "--stride", str(stride), "--pad", str(pad), "--seed", "9",
                        "--dgrad-lowering", lowering, "--out", "co.npy", *extra, *fargs)
                    for threads in (1, 2):
                        y = lbsim.conv(phase, x=x, w=w, e=e, input_hw=(9, 8), kernel=(3, 3),
                                       stride=stride, pad=pad, seed=9, dgrad_lowering=lowering,
                                       threads=threads, **kw)
                        same_bits(y, np.load("co.npy"),
                                  f"conv {phase} {kw} stride {stride} pad {pad} {lowering}")
                    count += 1
    print(f"conv: {count} cases x 2 thread counts bit-identical to the CLI")


def expect_value_error(fn, cli_args, fragment):
    try:
        fn()
    except ValueError as e:
        msg = str(e)
    else:
        raise AssertionError(f"no ValueError for {cli_args}")
    assert fragment in msg, (fragment, msg)
    if cli_args is not None:
        p = cli(*cli_args, ok=False)
        assert p.returncode == 2, (cli_args, p.returncode)
        assert fragment in p.stderr, (fragment, p.stderr)
    return msg


def test_errors():
    x = tensors["mat"]
    # Unknown format: same "unknown number format ... did you mean" text as the CLI.
    msg = expect_value_error(lambda: lbsim.quantize(x, "mls_m1e9x"),
                             ["quantize", "--format", "mls_m1e9x", "--in", "mat.npy", "--out",
                              "o.npy"], "unknown number format 'mls_m1e9x'")
    assert "did you mean" in msg, msg
    # Bad option of a format.
    expect_value_error(lambda: lbsim.quantize(x, "mls_m1e2:bogus=1"),
                       ["quantize", "--format", "mls_m1e2:bogus=1", "--in", "mat.npy", "--out",
                        "o.npy"], "bogus")
    # Non-finite input.
    bad = x.copy()
    bad[1, 2] = np.nan
    np.save("nan.npy", bad)
    expect_value_error(lambda: lbsim.quantize(bad, "int8"),
                       ["quantize", "--format", "int8", "--in", "nan.npy", "--out", "o.npy"],
                       "format 'int8': element 42 (flat C-order index) of the activation "
                       "tensor (24, 40) is NaN")
    # GEMM shape mismatch: lower_gemm's message.
    np.save("m1.npy", np.ones((3, 4), np.float32))
    np.save("m2.npy", np.ones((5, 2), np.float32))
    p = cli("gemm", "--format", "int8", "--a", "m1.npy", "--b", "m2.npy", "--out", "o.npy",
            ok=False)
    assert p.returncode == 2
    cli_msg = p.stderr.strip().splitlines()[-1]
    try:
        lbsim.gemm(np.ones((3, 4), np.float32), np.ones((5, 2), np.float32), format="int8")
        raise AssertionError("no error")
    except ValueError as e:
        # The same lower_gemm text; each names its operands its own way (flags and files, or the
        # Python argument names).
        key = "GEMM shape mismatch"
        assert key in str(e) and key in cli_msg, (str(e), cli_msg)
        assert str(e).split(key)[1].strip() == cli_msg.split(key)[1].strip(), (str(e), cli_msg)
        assert "--a m1.npy x --b m2.npy" in cli_msg, cli_msg
    # Empty shapes (K = 0): refused before anything is quantized, by the binding and the CLI.
    np.save("k0a.npy", np.ones((3, 0), np.float32))
    np.save("k0b.npy", np.ones((0, 2), np.float32))
    expect_value_error(lambda: lbsim.gemm(np.ones((3, 0), np.float32),
                                          np.ones((0, 2), np.float32), format="int8"),
                       ["gemm", "--format", "int8", "--a", "k0a.npy", "--b", "k0b.npy", "--out",
                        "o.npy"], "has an empty dimension")
    # Conv geometry: make_conv_geometry's message.
    np.save("x4.npy", np.ones((1, 3, 5, 5), np.float32))
    np.save("w4.npy", np.ones((2, 4, 3, 3), np.float32))
    p = cli("conv", "--phase", "fwd", "--format", "int8", "--x", "x4.npy", "--w", "w4.npy",
            "--out", "o.npy", ok=False)
    assert p.returncode == 2
    try:
        lbsim.conv("fwd", x=np.ones((1, 3, 5, 5), np.float32), w=np.ones((2, 4, 3, 3), np.float32),
                   format="int8")
        raise AssertionError("no error")
    except ValueError as e:
        assert str(e).strip() in p.stderr, (str(e), p.stderr)
    # Missing operand / geometry: the CLI's sentences with the Python argument names.
    expect_value_error(lambda: lbsim.conv("dgrad", e=np.ones((1, 2, 3, 3), np.float32),
                                          w=np.ones((2, 3, 3, 3), np.float32), format="int8"),
                       None, "error: conv --phase dgrad needs input_hw=(H, W)")
    expect_value_error(lambda: lbsim.conv("wgrad", x=np.ones((1, 3, 5, 5), np.float32),
                                          format="int8"), None,
                       "error: conv --phase wgrad needs e")
    expect_value_error(lambda: lbsim.conv("fwd", x=np.ones((1, 3, 5, 5), np.float32),
                                          w=np.ones((2, 3, 3, 3), np.float32)), None,
                       "error: no number format for this operand: give --format or format_x")
    expect_value_error(lambda: lbsim.conv("bwd", format="int8"), None, "bwd")
    expect_value_error(lambda: lbsim.quantize(x, "int8", role="gradient"), None,
                       "unknown role 'gradient'")
    expect_value_error(lambda: lbsim.gemm(x, x.T, format="int8", acc={"bits": 99}), None,
                       "outside [2, 64]")
    expect_value_error(lambda: lbsim.gemm(x, x.T, acc="no_such_arch.yaml"), None,
                       "no_such_arch.yaml")
    print("errors: ValueError with the CLI's messages")


def test_zero_copy_inputs():
    # A non-contiguous or float64 input is converted, and gives the same result as its
    # contiguous float32 copy.
    x = tensors["mat"]
    strided = np.asfortranarray(x)
    same_bits(lbsim.quantize(strided, "int8").values, lbsim.quantize(x, "int8").values,
              "fortran-order input")
    same_bits(lbsim.quantize(x.astype(np.float64), "int8").values,
              lbsim.quantize(x, "int8").values, "float64 input")


def test_run():
    arch = os.path.join(SOURCE, "arch_configs", "int8_32x32.yaml")
    r = lbsim.run(arch, "resnet20", batch=2, params=["pe_array.rows=16"])
    stats = r["stats"]
    assert isinstance(stats, dict) and r["layers"] and r["energy"], r.keys()
    # The same run through the CLI writes the same stats.json.
    cli("run", "--arch", arch, "--workload", "resnet20", "--batch", "2", "-p", "pe_array.rows=16",
        "--out", "cli_run")
    assert stats == json.load(open("cli_run/stats.json"))
    assert len(r["layers"]) == sum(1 for _ in open("cli_run/layers.csv")) - 1
    try:
        lbsim.run(arch, "resnet20", params=["pe_array.rows=0"])
        raise AssertionError("no error")
    except ValueError as e:
        assert "pe_array.rows" in str(e), str(e)
    print("run: stats.json, layers.csv and energy.csv as Python data")


SECTIONS = {"formats": test_formats, "quantize": test_quantize, "gemm": test_gemm,
            "conv": test_conv, "errors": test_errors, "inputs": test_zero_copy_inputs,
            "run": test_run}

if __name__ == "__main__":
    chosen = sys.argv[2:] or list(SECTIONS)
    for name in chosen:
        SECTIONS[name]()
    print("OK")
