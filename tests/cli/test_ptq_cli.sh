#!/usr/bin/env bash
# lbsim ptq: the hand-derived 1 x 2 layer of tests/unit/test_ptq.cpp through .npy files (GPFQ
# q = (0.5, 0), MSQ q = (0.5, 0.5), bias correction b + mean(u) = 1 - 0.05), both forms agree on a
# random layer, --inputs-q, and bad input exits 2 with nothing written.
source "$(dirname "$0")/common.sh" "$1"

$PY - <<'PY'
import numpy as np
np.save("w.npy", np.float32([[0.3, 0.5]]))
np.save("x.npy", np.float32([[2, 1], [1, 0]]))
np.save("b.npy", np.float32([1.0]))
rng = np.random.default_rng(3)
np.save("wr.npy", (rng.standard_normal((10, 48)) * 0.1).astype(np.float32))
xr = np.maximum(rng.standard_normal((120, 48)), 0).astype(np.float32)
np.save("xr.npy", xr)
np.save("xqr.npy", (xr + 0.05 * rng.standard_normal(xr.shape)).astype(np.float32))
np.save("x3d.npy", np.zeros((2, 2, 2), np.float32))
np.save("x3.npy", np.zeros((4, 3), np.float32))
np.save("b2.npy", np.zeros(2, np.float32))
PY

"$LBSIM" ptq --method gpfq --bits 1 --c-alpha 1 --weights w.npy --inputs x.npy --out q.npy \
  --bias b.npy --bias-correction bq.npy >out.txt
grep -q "form path" out.txt || fail "form not reported: $(cat out.txt)"
grep -q "delta:    0.5 (saturated 0 of 2 weights)" out.txt || fail "delta line: $(cat out.txt)"
$PY - <<'PY' || fail "GPFQ hand-derived values"
import numpy as np
q, bq = np.load("q.npy"), np.load("bq.npy")
assert q.dtype == np.float32 and q.shape == (1, 2) and q.tolist() == [[0.5, 0.0]], q
assert bq.shape == (1,) and abs(bq[0] - 0.95) < 1e-6, bq
PY
"$LBSIM" ptq --method msq --bits 1 --c-alpha 1 --weights w.npy --inputs x.npy --out qm.npy >/dev/null
$PY -c "import numpy as np; assert np.load('qm.npy').tolist() == [[0.5, 0.5]]" || fail "MSQ"

# Both forms, with and without X~, give the same levels; the thread count changes nothing.
for xq in "" "--inputs-q xqr.npy"; do
  "$LBSIM" ptq --bits 3 --weights wr.npy --inputs xr.npy $xq --form path --out p.npy >/dev/null
  "$LBSIM" ptq --bits 3 --weights wr.npy --inputs xr.npy $xq --form covariance --threads 3 \
    --out c.npy >/dev/null
  cmp -s p.npy c.npy || fail "path and covariance differ ($xq)"
done
"$LBSIM" ptq --bits 3 --weights wr.npy --inputs xr.npy --stochastic --seed 4 --threads 1 \
  --out s1.npy >/dev/null
"$LBSIM" ptq --bits 3 --weights wr.npy --inputs xr.npy --stochastic --seed 4 --threads 2 \
  --out s2.npy >/dev/null
cmp -s s1.npy s2.npy || fail "stochastic GPFQ depends on threads"

expect_user_error "expected (samples >= 1, 2)" q2.npy ptq --bits 2 --weights w.npy --inputs x3.npy \
  --out q2.npy
expect_user_error "inputs x3d.npy: shape (2, 2, 2)" q2.npy ptq --bits 2 --weights w.npy \
  --inputs x3d.npy --out q2.npy
expect_user_error "allowed: gpfq, msq" q2.npy ptq --method gptq --bits 2 --weights w.npy \
  --inputs x.npy --out q2.npy
expect_user_error "allowed: auto, path, covariance" q2.npy ptq --form full --bits 2 \
  --weights w.npy --inputs x.npy --out q2.npy
expect_user_error "bits" q2.npy ptq --bits 0 --weights w.npy --inputs x.npy --out q2.npy
expect_user_error "missing.npy" q2.npy ptq --bits 2 --weights missing.npy --inputs x.npy \
  --out q2.npy
# A bad bias: neither the weights nor the bias are written.
expect_user_error "expected (1,), one per neuron" q2.npy ptq --bits 2 --weights w.npy \
  --inputs x.npy --bias b2.npy --bias-correction bq2.npy --out q2.npy
[ ! -e bq2.npy ] || fail "bq2.npy written"
echo "ptq CLI OK"
