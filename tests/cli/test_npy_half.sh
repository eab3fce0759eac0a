#!/usr/bin/env bash
# .npy inputs in float16 (NumPy's float16, what `tensor.half().numpy()` saves) are read exactly,
# and bfloat16 saved as its 16-bit pattern (uint16 or int16, PyTorch's
# `t.bfloat16().view(torch.int16).numpy()`) with --npy-bf16, in quantize, gemm, conv and verify.
# The fp32 format with scale=none is the identity on fp32 values, so `quantize` writes back the
# exact float32 value of every input.
source "$(dirname "$0")/common.sh" "$1"

$PY - <<'PY'
import numpy as np
# Normals, the extremes of float16, subnormals, -0.
h = np.array([[1.0, -2.5, 65504.0, 2.0**-24], [-(2.0**-14), 3.140625, -0.0, 1e-3]], np.float16)
np.save("h.npy", h)
np.save("h_want.npy", h.astype(np.float32))
# bfloat16 by truncating float32 values (exactly representable after truncation).
f = np.array([1.0, -2.5, 3.140625, 1e30, -1e-30, 0.0], np.float32)
bits = (f.view(np.uint32) >> 16).astype(np.uint16)
np.save("b_u16.npy", bits)
np.save("b_i16.npy", bits.view(np.int16))
np.save("b_want.npy", (bits.astype(np.uint32) << 16).view(np.float32))
# GEMM operands in float16 and in bfloat16 bits.
rng = np.random.default_rng(1)
a = rng.standard_normal((4, 8)).astype(np.float16)
b = rng.standard_normal((8, 3)).astype(np.float16)
np.save("a16.npy", a); np.save("b16.npy", b)
np.save("a32.npy", a.astype(np.float32)); np.save("b32.npy", b.astype(np.float32))
bb = (b.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
np.save("bb16.npy", bb)
np.save("bb32.npy", (bb.astype(np.uint32) << 16).view(np.float32))
PY

same() {  # GOT WANT: bitwise equal float32 arrays of the same shape
  $PY - "$1" "$2" <<'PY' || fail "$1 differs from $2"
import numpy as np, sys
g, w = np.load(sys.argv[1]), np.load(sys.argv[2])
assert g.dtype == np.float32 and g.shape == w.shape, (g.dtype, g.shape, w.shape)
assert (g.view(np.uint32) == w.view(np.uint32)).all(), (g, w)
PY
}

"$LBSIM" quantize --format fp32:scale=none --in h.npy --out h_out.npy >/dev/null
same h_out.npy h_want.npy
for f in b_u16 b_i16; do
  "$LBSIM" quantize --format fp32:scale=none --npy-bf16 --in $f.npy --out ${f}_out.npy >/dev/null
  same ${f}_out.npy b_want.npy
done
# Without the flag a uint16 file is integers (1.0's bf16 pattern 0x3f80 = 16256).
"$LBSIM" quantize --format fp32:scale=none --in b_u16.npy --out ints.npy >/dev/null
$PY -c "import numpy as np; assert np.load('ints.npy')[0] == 16256" || fail "uint16 without the flag"

# gemm on float16 / bfloat16 inputs equals gemm on their exact float32 values.
"$LBSIM" gemm --format fp8_e4m3 --a a16.npy --b b16.npy --out c16.npy >/dev/null
"$LBSIM" gemm --format fp8_e4m3 --a a32.npy --b b32.npy --out c32.npy >/dev/null
same c16.npy c32.npy
"$LBSIM" gemm --format mls_m1e2 --npy-bf16 --a a16.npy --b bb16.npy --out cb.npy >/dev/null
"$LBSIM" gemm --format mls_m1e2 --a a32.npy --b bb32.npy --out cb32.npy >/dev/null
same cb.npy cb32.npy

$PY -c "import numpy as np; np.save('c64.npy', np.zeros(2, np.complex64))"
expect_user_error "supported: float16, float32" out.npy quantize --format int8 --in c64.npy \
  --out out.npy
echo "test_npy_half: OK"
