#!/usr/bin/env bash
# CLI tests of quantize / gemm / conv on real .npy files. Usage: test_numerics_cli.sh path/to/lbsim
# Python checks use Debian's /usr/bin/python3 with python3-numpy.
source "$(dirname "$0")/common.sh" "$1"

$PY - <<'PY'
import numpy as np
np.save("x.npy", np.array([1.0, -0.5, 0.25, 0.0], dtype=np.float32))
rng = np.random.default_rng(5)
np.save("a_int.npy", rng.integers(-4, 5, size=(6, 10)).astype(np.float32))
np.save("b_int.npy", rng.integers(-4, 5, size=(10, 3)).astype(np.float64))
np.save("a.npy", rng.standard_normal((16, 48)).astype(np.float32))
np.save("b.npy", rng.standard_normal((48, 8)).astype(np.float32))
np.save("cx.npy", rng.integers(0, 4, size=(2, 3, 5, 5)).astype(np.float32))
np.save("cw.npy", rng.integers(-2, 3, size=(4, 3, 3, 3)).astype(np.float32))
np.save("ce.npy", rng.integers(-2, 3, size=(2, 4, 3, 3)).astype(np.float32))
np.save("fortran.npy", np.asfortranarray(np.ones((2, 3), dtype=np.float32)))
np.save("complex.npy", np.ones(3, dtype=np.complex64))
open("bad.npy", "wb").write(b"not a numpy file at all")
PY

# quantize int8: s = fp32(1/127); codes 127, -64 (tie -63.5 -> even), 32, 0.
"$LBSIM" quantize --format int8 --in x.npy --out y.npy --codes c.npy --scales s.json >/dev/null
$PY - <<'PY'
import json, numpy as np
c = np.load("c.npy"); y = np.load("y.npy"); s = json.load(open("s.json"))
assert c.dtype == np.uint8 and list(c) == [127, 192, 32, 0], c
scale = np.float32(1.0) / np.float32(127.0)
assert s["group_scale"] == [float(scale)], s
signed = c.astype(np.int8).astype(np.float64)
assert y.dtype == np.float32 and np.array_equal(y, (signed * float(scale)).astype(np.float32)), y
PY

# gemm in fp32 on small integers is exact: equals numpy's integer product.
"$LBSIM" gemm --format fp32 --a a_int.npy --b b_int.npy --out c_int.npy >/dev/null
$PY -c "
import numpy as np
a = np.load('a_int.npy').astype(np.int64); b = np.load('b_int.npy').astype(np.int64)
assert np.array_equal(np.load('c_int.npy'), (a @ b).astype(np.float32))"

# Reference and datapath agree bit for bit (engine check exits 1 on a mismatch).
for spec in "int8" "dfp8" "mls_m1e2" "mls_m4e2" "fp8_e4m3" "bf16"; do
  "$LBSIM" gemm --format "$spec" --a a.npy --b b.npy --out c.npy --engine check > log.txt
  grep -q "bit for bit" log.txt || fail "gemm $spec: $(cat log.txt)"
done
"$LBSIM" gemm --format-a int4_sawb --format-b luq_fp4 --role-b error --a a.npy --b b.npy \
  --out c.npy --engine check | grep -q "bit for bit" || fail "luq gemm check"

# conv: fp32 on small integers equals a direct convolution (stride 2, pad 1).
"$LBSIM" conv --phase fwd --format fp32 --x cx.npy --w cw.npy --stride 2 --pad 1 --out y.npy >/dev/null
"$LBSIM" conv --phase dgrad --format fp32 --e ce.npy --w cw.npy --input-hw 5,5 --stride 2 --pad 1 --out dx.npy >/dev/null
"$LBSIM" conv --phase wgrad --format fp32 --x cx.npy --e ce.npy --kernel 3,3 --stride 2 --pad 1 --out dw.npy >/dev/null
# The transposed dgrad lowering: the backward convolution as one GEMM, K = Cout*R*S, same result.
"$LBSIM" conv --phase dgrad --format fp32 --e ce.npy --w cw.npy --input-hw 5,5 --stride 2 --pad 1 \
  --dgrad-lowering transposed --out dxt.npy >dxt.txt
grep -q "GEMM M=.* N=.* K=" dxt.txt || fail "conv dgrad transposed: $(cat dxt.txt)"
$PY - <<'PY'
import numpy as np
x = np.load("cx.npy").astype(np.int64); w = np.load("cw.npy").astype(np.int64); e = np.load("ce.npy").astype(np.int64)
N, C, H, W = x.shape; O, _, R, S = w.shape; st, p = 2, 1
Ho = (H + 2*p - R)//st + 1; Wo = (W + 2*p - S)//st + 1
xp = np.pad(x, ((0,0),(0,0),(p,p),(p,p)))
y = np.zeros((N, O, Ho, Wo), np.int64); dxp = np.zeros_like(xp); dw = np.zeros_like(w)
for i in range(Ho):
    for j in range(Wo):
        patch = xp[:, :, i*st:i*st+R, j*st:j*st+S]
        y[:, :, i, j] = np.einsum("ncrs,ocrs->no", patch, w)
        dxp[:, :, i*st:i*st+R, j*st:j*st+S] += np.einsum("no,ocrs->ncrs", e[:, :, i, j], w)
        dw += np.einsum("no,ncrs->ocrs", e[:, :, i, j], patch)
assert np.array_equal(np.load("y.npy"), y.astype(np.float32))
assert np.array_equal(np.load("dx.npy"), dxp[:, :, p:p+H, p:p+W].astype(np.float32))
assert np.array_equal(np.load("dxt.npy"), dxp[:, :, p:p+H, p:p+W].astype(np.float32))
assert np.array_equal(np.load("dw.npy"), dw.astype(np.float32))
PY

# Bad input: one clear error, exit 2, no output file.
expect_user_error "bad.npy: error: not a .npy file" out.npy quantize --format int8 --in bad.npy --out out.npy
expect_user_error "Fortran-order arrays are not supported" out.npy quantize --format int8 --in fortran.npy --out out.npy
expect_user_error "unsupported dtype '<c8'" out.npy quantize --format int8 --in complex.npy --out out.npy
expect_user_error "missing.npy: error: cannot open file" out.npy quantize --format int8 --in missing.npy --out out.npy
expect_user_error "unknown number format 'mls_m1e'" out.npy quantize --format mls_m1e --in x.npy --out out.npy
expect_user_error "did you mean" out.npy quantize --format fp8_e4m2 --in x.npy --out out.npy
expect_user_error "rounding: 'up' is not allowed" out.npy quantize --format "int8:rounding=up" --in x.npy --out out.npy
expect_user_error "(6, 10)" out.npy gemm --format int8 --a a_int.npy --b a_int.npy --out out.npy
expect_user_error "cannot share a MAC array" out.npy gemm --format-a fp8_e4m3 --format-b int8 --a a.npy --b b.npy --out out.npy
expect_user_error "needs --input-hw" out.npy conv --phase dgrad --format fp32 --e ce.npy --w cw.npy --out out.npy
expect_user_error "role" out.npy quantize --format int8 --in x.npy --out out.npy --role bias
# Fuzz regressions: a directory given as .npy (was an std::ios failure abort), a spec of tens of
# thousands of digits (was a std::regex stack overflow), a GEMM error naming its inputs.
mkdir dir.npy
expect_user_error "dir.npy: error: cannot open file: is a directory, not a file" out.npy \
  quantize --format int8 --in dir.npy --out out.npy
expect_user_error "<cmdline --format>: error: the number-format spec has 40004 characters; at most 1024" \
  out.npy quantize --format "int$(head -c 40000 /dev/zero | tr '\0' 9)8" --in x.npy --out out.npy
expect_user_error "error: gemm --a a_int.npy x --b a_int.npy: GEMM shape mismatch" out.npy \
  gemm --format int8 --a a_int.npy --b a_int.npy --out out.npy
echo "all numerics CLI tests passed"
