#!/usr/bin/env bash
# lbsim verify: the cycle-level PE array against the functional reference and the timing-mode
# cycle count, on the shipped architectures (usage: test_verify_cli.sh path/to/lbsim).
ARCH=$(realpath "$(dirname "$0")/../../arch_configs")
source "$(dirname "$0")/common.sh" "$1"

# Default architecture (MLS 32x32 os) and workload (resnet20, batch 1): conv1 and linear fit the
# default --max-macs; every GEMM must be bit-exact and cycle-equal.
"$LBSIM" verify --out v_default >out.txt || fail "default verify failed: $(cat out.txt)"
grep -q '^PASS: 2 of 20 verifiable layer(s) (6 GEMM(s)) checked, 18 skipped by --max-macs 2000000 (--all checks every layer); all outputs bit-exact' out.txt || fail "default verify: $(cat out.txt)"
for phase in fwd dgrad wgrad; do
  grep -qE "^conv1 +$phase .* ok$" out.txt || fail "default verify lacks conv1 $phase: $(cat out.txt)"
done
$PY - v_default/verify.json <<'PYEOF' || fail "verify.json is wrong"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["pass"] is True and len(d["gemms"]) == 6, d
for g in d["gemms"]:
    assert g["ok"] and g["mismatches"] == 0, g
    assert g["cycle_mode_cycles"] == g["timing_mode_cycles"] > 0, g
# conv1 has no dgrad op in the workload (first layer): compared with the closed form instead.
assert [g["timing_mode_source"] for g in d["gemms"]] == ["tiles", "closed form"] + ["tiles"] * 4, d
assert d["stats"]["pe_array"]["mac_ops"]["value"] == sum(g["m"] * g["n"] * g["k"] for g in d["gemms"])
PYEOF

# Other families and dataflows (small budgets: only resnet20's linear layer fits 500k MACs).
for a in luq_32x32 fp8_32x32 int8_32x32 fp32_32x32 mls_m4e2_32x32 tiny_4x4; do
  "$LBSIM" verify --arch "$ARCH/$a.yaml" --max-macs 500000 --out "v_$a" >out.txt ||
    fail "verify on $a failed: $(cat out.txt)"
  grep -q '^PASS: 1 of [0-9]* verifiable layer(s) (3 GEMM(s)) checked' out.txt || fail "verify on $a: $(cat out.txt)"
done
# The same with the stationary dataflows (conv1 and linear: 6 GEMMs), and -p on the default.
for df in ws is; do
  "$LBSIM" verify --arch "$ARCH/luq_32x32.yaml" -p pe_array.dataflow=$df --out "v_$df" >out.txt ||
    fail "luq $df verify failed: $(cat out.txt)"
  grep -q "luq 32 x 32, $df" out.txt || fail "luq $df: $(cat out.txt)"
  [ "$(grep -c ' ok$' out.txt)" -eq 6 ] || fail "luq $df verify: $(cat out.txt)"
  "$LBSIM" verify -p pe_array.dataflow=$df -p pe_array.rows=8 --out "v_mls_$df" >out.txt ||
    fail "mls $df verify failed: $(cat out.txt)"
  grep -q "mls 8 x 32, $df" out.txt || fail "mls $df: $(cat out.txt)"
  grep -q '^PASS: [0-9]* of [0-9]* verifiable layer(s) (6 GEMM(s)) checked' out.txt || fail "mls $df verify: $(cat out.txt)"
done

# An injected accumulator fault must be reported as a mismatch with hex values, exit 1.
set +e
"$LBSIM" verify --inject-fault --max-macs 500000 --out v_fault >out.txt 2>err.txt
rc=$?
set -e
[ $rc -eq 1 ] || fail "fault run exited $rc: $(cat out.txt err.txt)"
grep -q '^FAIL' out.txt || fail "fault run did not fail: $(cat out.txt)"
grep -qE 'MISMATCH$' out.txt || fail "fault run table: $(cat out.txt)"
grep -qE 'expected 0x[0-9a-f]{8} \(.*\) actual 0x[0-9a-f]{8}' out.txt ||
  fail "fault report lacks hex values: $(cat out.txt)"
grep -q 'injected fault: flipped acc bit' out.txt || fail "fault not described: $(cat out.txt)"
$PY -c "import json; d = json.load(open('v_fault/verify.json')); assert d['pass'] is False and d['gemms'][0]['mismatches'] == 1 and 'first_mismatch' in d['gemms'][0]" ||
  fail "fault verify.json"

# The fault is also caught when partial sums move down the columns (ws, is) and in the float
# family (the tiny array is fp32).
for df in ws is; do
  set +e
  "$LBSIM" verify --arch "$ARCH/tiny_4x4.yaml" -p pe_array.dataflow=$df --layers linear \
    --inject-fault --out "v_fault_$df" >out.txt 2>err.txt
  rc=$?
  set -e
  [ $rc -eq 1 ] || fail "fp32 $df fault run exited $rc: $(cat out.txt err.txt)"
  grep -q 'injected fault: flipped F bit' out.txt || fail "fp32 $df fault: $(cat out.txt)"
done

# --vcd writes a VCD file.
"$LBSIM" verify --arch "$ARCH/tiny_4x4.yaml" --max-macs 3000 --vcd trace.vcd --out v_vcd >out.txt ||
  fail "vcd run failed: $(cat out.txt)"
head -1 trace.vcd | grep -qE '^\$(date|version)' || fail "trace.vcd has no VCD header"
grep -q 'psum_f' trace.vcd || fail "trace.vcd lacks the partial sums"

# Tracer dumps: --data DIR with <layer>.activation/.weight/.error.npy (resnet20 linear, batch 1).
mkdir dumps
$PY - <<'PYEOF'
import numpy as np
r = np.random.default_rng(3)
np.save("dumps/linear.activation.npy", np.maximum(r.standard_normal((1, 64)), 0).astype(np.float32))
np.save("dumps/linear.weight.npy", (0.1 * r.standard_normal((10, 64))).astype(np.float32))
np.save("dumps/linear.error.npy", r.standard_normal((1, 10)).astype(np.float32))
np.save("dumps/bad.npy", np.zeros((3, 3), np.float32))
PYEOF
"$LBSIM" verify --layers linear --data dumps --out v_data >out.txt || fail "--data: $(cat out.txt)"
grep -q '^PASS: 1 of [0-9]* verifiable layer(s) (3 GEMM(s)) checked' out.txt || fail "--data verify: $(cat out.txt)"
cp dumps/bad.npy dumps/linear.error.npy
expect_user_error "does not match" v_bad/verify.json verify --layers linear --data dumps --out v_bad
expect_user_error "no layer 'nope'" v_bad/verify.json verify --layers nope --out v_bad
expect_user_error "fits --max-macs" v_bad/verify.json verify --max-macs 10 --out v_bad
# A trace's own tensors (inference trace: fwd only; int8 weights x MLS activations).
"$LBSIM" verify --workload "$DATA/traces/with_tensors.yaml" --out v_trace >out.txt ||
  fail "trace tensors: $(cat out.txt)"
grep -q 'trace tensors' out.txt || fail "trace tensors not used: $(cat out.txt)"
grep -q '^PASS: [0-9]* of [0-9]* verifiable layer(s) (1 GEMM(s)) checked' out.txt || fail "trace verify: $(cat out.txt)"
# --all checks every verifiable layer (no budget), and the verdict and verify.json say so.
"$LBSIM" verify --all --workload "$DATA/traces/small.yaml" --out v_all >out.txt ||
  fail "--all: $(cat out.txt)"
grep -q '^PASS: 3 of 3 verifiable layer(s) (9 GEMM(s)) checked, 1 grouped or dilated conv layer(s) not verifiable;' out.txt ||
  fail "--all verdict: $(cat out.txt)"
grep -q '"max_macs": "all"' v_all/verify.json || fail "verify.json lacks the scope"
expect_user_error "excludes" v_bad/verify.json verify --all --max-macs 5 --out v_bad
echo "ok"
