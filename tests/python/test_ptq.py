"""lbsim.ptq (Python binding) against `lbsim ptq` on the same .npy files, bit for bit: GPFQ and
MSQ, both forms, with quantized-network inputs, stochastic; the bias correction the CLI writes
equals b + bias_shift rounded to float32; bad input raises ValueError with the CLI's text; the
result does not depend on `threads`.

Usage: PYTHONPATH=<build>/python /usr/bin/python3 test_ptq.py path/to/lbsim
"""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

import lbsim

LBSIM = os.path.abspath(sys.argv[1])
WORK = tempfile.mkdtemp(prefix="lbsim_ptq_")
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
os.chdir(WORK)


def cli(*args):
    p = subprocess.run([LBSIM, "ptq", *args], capture_output=True, text=True)
    return p


rng = np.random.default_rng(5)
w = (rng.standard_normal((24, 72)) * 0.1).astype(np.float32)
x = np.maximum(rng.standard_normal((150, 72)), 0).astype(np.float32)
xq = (x + 0.03 * rng.standard_normal(x.shape)).astype(np.float32)
b = (rng.standard_normal(24) * 0.1).astype(np.float32)
for name, a in (("w", w), ("x", x), ("xq", xq), ("b", b)):
    np.save(f"{name}.npy", a)

cases = [
    dict(method="gpfq", bits=2, form="path"),
    dict(method="gpfq", bits=3, form="covariance", xq=True),
    dict(method="gpfq", bits=4, form="auto", c_alpha=1.5, xq=True),
    dict(method="gpfq", bits=3, form="path", stochastic=True, seed=9),
    dict(method="msq", bits=5, form="auto"),
]
for c in cases:
    args = ["--method", c["method"], "--bits", str(c["bits"]), "--form", c["form"],
            "--weights", "w.npy", "--inputs", "x.npy", "--out", "q.npy", "--bias", "b.npy",
            "--bias-correction", "bq.npy", "--c-alpha", repr(c.get("c_alpha", 1.16))]
    if c.get("xq"):
        args += ["--inputs-q", "xq.npy"]
    if c.get("stochastic"):
        args += ["--stochastic", "--seed", str(c["seed"])]
    p = cli(*args)
    assert p.returncode == 0, (c, p.stderr)
    r = lbsim.ptq(w, x, xq if c.get("xq") else None, method=c["method"], bits=c["bits"],
                  c_alpha=c.get("c_alpha", 1.16), form=c["form"],
                  stochastic=c.get("stochastic", False), seed=c.get("seed", 0), threads=1)
    q = np.load("q.npy")
    assert r.q.dtype == np.float32 and r.q.shape == w.shape, (r.q.dtype, r.q.shape)
    assert q.tobytes() == r.q.tobytes(), (c, int(np.sum(q != r.q)))
    assert np.array_equal(r.levels.astype(np.float64) * r.delta, r.q.astype(np.float64)) or \
        np.array_equal((r.levels * r.delta).astype(np.float32), r.q), c
    assert np.abs(r.levels).max() <= r.K == 2 ** (c["bits"] - 1), c
    bq = np.load("bq.npy")
    assert bq.tobytes() == (b.astype(np.float64) + r.bias_shift).astype(np.float32).tobytes(), c
    assert f"relative square {r.rel_err2:.6g}" in p.stdout, (p.stdout, r.rel_err2)
    r4 = lbsim.ptq(w, x, xq if c.get("xq") else None, method=c["method"], bits=c["bits"],
                   c_alpha=c.get("c_alpha", 1.16), form=c["form"],
                   stochastic=c.get("stochastic", False), seed=c.get("seed", 0), threads=4)
    assert r4.q.tobytes() == r.q.tobytes() and r4.err2 == r.err2, c

# GPFQ below MSQ on this layer (same alphabet).
g = lbsim.ptq(w, x, bits=3)
m = lbsim.ptq(w, x, bits=3, method="msq")
assert g.delta == m.delta and g.err2 <= m.err2, (g, m)

# Errors: ValueError with the CLI's message.
np.save("xbad.npy", x[:, :5])
p = cli("--bits", "3", "--weights", "w.npy", "--inputs", "xbad.npy", "--out", "q2.npy")
assert p.returncode == 2 and "expected (samples >= 1, 72)" in p.stderr, p.stderr
assert not os.path.exists("q2.npy")
for kwargs, text in ((dict(x=x[:, :5]), "expected (samples >= 1, 72)"),
                     (dict(method="gptq"), "allowed: gpfq, msq"),
                     (dict(bits=0), "outside [1, 16]")):
    args = dict(w=w, x=x)
    args.update(kwargs)
    try:
        lbsim.ptq(**args)
    except ValueError as e:
        assert text in str(e), (kwargs, str(e))
    else:
        raise AssertionError(f"no ValueError for {kwargs}")
print("python ptq OK")
