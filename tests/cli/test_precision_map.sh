#!/usr/bin/env bash
# CLI tests of `lbsim run --precision-map`: a map's formats reach the layers it names (and only
# those, or every GEMM layer with `default`), a map restating the architecture's own formats
# changes nothing, the map is recorded as provenance, and every bad map or name is one located
# error with exit 2 and nothing written. Usage: test_precision_map.sh path/to/lbsim
ARCH=$(realpath "$(dirname "$0")/../../arch_configs/int8_32x32.yaml")
source "$(dirname "$0")/common.sh" "$1"
ARGS=(run -q --arch "$ARCH" --workload resnet20 --batch 2)
run() { "$LBSIM" "${ARGS[@]}" "$@" >/dev/null; }

# --- The classifier at int4_sawb: its GEMMs, and only its, change width. ResNet-20's fc is
# 64 -> 10, so at batch 2 its fwd GEMM is 2 x 10 x 64 = 1280 MACs; layer1.0.conv1 keeps dfp8:
# 32 x 32 output pixels x 16 x 16 x 9 = 2359296 MACs per image.
cat >fc4.yaml <<'YAML'
layers:
  linear: {weight: int4_sawb, activation: int4_sawb}
YAML
run --out base
run --precision-map fc4.yaml --out fc4
grep -qx 'linear,fwd,gemm,int_mul,a_bits=4;b_bits=4,1280' fc4/actions.csv ||
  fail "fc fwd at 4 bits: $(grep '^linear,fwd,gemm,int_mul' fc4/actions.csv)"
grep -qx 'linear,fwd,gemm,int_mul,a_bits=8;b_bits=8,1280' base/actions.csv ||
  fail "fc fwd at 8 bits without the map: $(grep '^linear,fwd,gemm,int_mul' base/actions.csv)"
grep -qx 'layer1.0.conv1,fwd,gemm,int_mul,a_bits=8;b_bits=8,4718592' fc4/actions.csv ||
  fail "layer1.0.conv1 kept dfp8: $(grep '^layer1.0.conv1,fwd,gemm,int_mul' fc4/actions.csv)"
# dgrad of fc: error (dfp8, not in the map) x weight (int4_sawb).
grep -qx 'linear,dgrad,gemm,int_mul,a_bits=8;b_bits=4,1280' fc4/actions.csv ||
  fail "fc dgrad: $(grep '^linear,dgrad,gemm,int_mul' fc4/actions.csv)"
# Other layers' rows are identical; only fc's differ.
diff <(grep -v '^linear,' base/actions.csv) <(grep -v '^linear,' fc4/actions.csv) >/dev/null ||
  fail "the map changed layers it does not name"
$PY - fc4/stats.json base/stats.json <<'PY' || fail "stats.json provenance"
import json, sys
m, b = (json.load(open(p))["run"] for p in sys.argv[1:])
assert m["precision_map"] == "fc4.yaml", m.get("precision_map")
assert "precision_map" not in b
PY
grep -q '^| precision map | fc4.yaml |$' fc4/report.md || fail "report.md summary row"

# --- default: every GEMM layer. Restating the architecture's formats is the identity.
cat >same.yaml <<'YAML'
default: {weight: dfp8, activation: dfp8, error: dfp8}
YAML
run --precision-map same.yaml --out same
for f in actions.csv energy.csv layers.csv; do
  cmp -s base/$f same/$f || fail "a map of the architecture's own formats changed $f"
done
cat >all4.yaml <<'YAML'
default: {weight: int4_sawb, activation: int4_sawb}
layers:
  conv1: {activation: dfp8}
YAML
run --precision-map all4.yaml --out all4
[ "$(grep -c ',fwd,gemm,int_mul,a_bits=4;b_bits=4,' all4/actions.csv)" -eq 19 ] ||
  fail "19 of the 20 GEMM layers (19 convs, fc)' fwd at 4 x 4 bits: $(grep -c ',fwd,gemm,int_mul,a_bits=4;b_bits=4,' all4/actions.csv)"
grep -q '^conv1,fwd,gemm,int_mul,a_bits=8;b_bits=4,' all4/actions.csv ||
  fail "conv1: its own activation, the default's weight"

# --- Errors: exit 2, one located message, no output directory.
printf 'layers:\n  layer1.0.conv3: {weight: int8}\n' >typo.yaml
expect_user_error "typo.yaml:2:19: error: layers.layer1.0.conv3: workload 'resnet20' has no layer 'layer1.0.conv3' (did you mean 'layer1.0.conv1'?)" \
  out1 "${ARGS[@]}" --precision-map typo.yaml --out out1
printf 'layers:\n  bn1: {weight: int8}\n' >bn.yaml
expect_user_error "layers.bn1: layer 'bn1' is a batch_norm layer" out2 "${ARGS[@]}" --precision-map bn.yaml --out out2
printf 'default: {wieght: int8}\n' >role.yaml
expect_user_error "role.yaml:1:19: error: default.wieght: unknown key for default; allowed: weight, activation, error (did you mean 'weight'?)" \
  out3 "${ARGS[@]}" --precision-map role.yaml --out out3
printf 'default: {weight: int99}\n' >spec.yaml
expect_user_error "spec.yaml:1:19: error: default.weight:" out4 "${ARGS[@]}" --precision-map spec.yaml --out out4
printf '{}\n' >empty.yaml
expect_user_error "the map sets no format" out5 "${ARGS[@]}" --precision-map empty.yaml --out out5
expect_user_error "nowhere.yaml: error: cannot open file" out6 "${ARGS[@]}" --precision-map nowhere.yaml --out out6
# A pair of formats no MAC family executes names the layer, the GEMM and its operands.
printf 'layers:\n  conv1: {weight: fp32, activation: fp32}\n' >mixed.yaml
expect_user_error "resnet20: error: layer conv1 wgrad gemm: operands activation x error: formats 'fp32' and 'dfp8' cannot share a MAC array" \
  out7 "${ARGS[@]}" --precision-map mixed.yaml --out out7
# A map inside --out would be destroyed by the run: refused before it simulates.
mkdir inside && cp fc4.yaml inside/map.yaml
expect_user_error "error: output directory --out (inside) holds input --precision-map (inside/map.yaml)" \
  inside/stats.json "${ARGS[@]}" --precision-map inside/map.yaml --out inside
[ "$(ls inside)" = map.yaml ] || fail "the directory holding the map was changed: $(ls inside)"
echo "precision map CLI tests passed"
