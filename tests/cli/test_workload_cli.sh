#!/usr/bin/env bash
# CLI tests of `lbsim workload list|show|import-scalesim`. Usage: test_workload_cli.sh path/to/lbsim
# Python checks use Debian's /usr/bin/python3 with python3-yaml.
source "$(dirname "$0")/common.sh" "$1"

# `total <phase>` MACs from a `workload show` output file.
total() { awk -v p="$2" '$1 == "total" && $2 == p { print $3 }' "$1"; }

# --- list: every zoo network with its description, in the zoo's order.
"$LBSIM" workload list >list.txt
[ "$(wc -l <list.txt)" -eq 9 ] || fail "workload list: expected 9 lines: $(cat list.txt)"
[ "$(awk '{print $1}' list.txt | tr '\n' ' ')" = \
  "resnet18 resnet34 resnet50 resnet20 resnet20_b vgg16 vgg16_cifar mobilenet_v2 vit_b16 " ] ||
  fail "workload list names: $(cat list.txt)"
grep -q '^resnet20 .*CIFAR-10' list.txt || fail "resnet20 description: $(cat list.txt)"

# --- show resnet20: totals against MACs derived here from the architecture (He et al. 2016):
# conv 3->16 on 32x32, then three stages of 3 basic blocks (two 3x3 convs each) with 16, 32, 64
# channels on 32x32, 16x16, 8x8, identity shortcuts; fc 64 -> 10. Per conv MACs = Ho*Wo*Cout*Cin*9.
# dgrad = fwd minus conv1 (the first layer computes no input gradient); wgrad = fwd.
expected_macs() {
  $PY - "$1" <<'PY'
import sys
batch = int(sys.argv[1])
convs = [(32, 16, 3)]  # (output hw, cout, cin)
cin, hw = 16, 32
for s, planes in enumerate([16, 32, 64]):
    for i in range(3):
        if s > 0 and i == 0:
            hw //= 2
        convs += [(hw, planes, cin), (hw, planes, planes)]
        cin = planes
fwd = sum(h * h * co * ci * 9 for h, co, ci in convs) + 64 * 10
first = 32 * 32 * 16 * 3 * 9
print(batch * fwd, batch * (fwd - first), batch * fwd)
PY
}
"$LBSIM" workload show resnet20 >show32.txt
read -r fwd dgrad wgrad <<<"$(expected_macs 32)"
[ "$fwd" = 1297633280 ] || fail "hand-derived resnet20 fwd MACs at batch 32: $fwd"  # 40.55 M/sample
[ "$(total show32.txt fwd)" = "$fwd" ] || fail "fwd total: $(grep total show32.txt)"
[ "$(total show32.txt dgrad)" = "$dgrad" ] || fail "dgrad total: $(grep total show32.txt)"
[ "$(total show32.txt wgrad)" = "$wgrad" ] || fail "wgrad total: $(grep total show32.txt)"
[ "$(total show32.txt update)" = 0 ] || fail "update total: $(grep total show32.txt)"
[ "$(total show32.txt all)" = $((fwd + dgrad + wgrad)) ] || fail "all total: $(grep total show32.txt)"
grep -q '^total fwd  *1297633280 MACs  *1\.298 GMAC$' show32.txt || fail "GMAC: $(grep total show32.txt)"
head -1 show32.txt | grep -q '^workload resnet20 (zoo): batch 32, input \[3, 32, 32\], training' ||
  fail "header: $(head -1 show32.txt)"
# Per-layer row of conv1: fwd 32*32*32*16*27 = 14155776, no dgrad, wgrad the same; vector
# elements = its weight update 16*27 = 432.
grep -Eq '^conv1 +conv2d +14155776 +0 +14155776 +432$' show32.txt || fail "conv1 row: $(grep '^conv1' show32.txt)"
"$LBSIM" workload show resnet20 --batch 8 >show8.txt
read -r fwd dgrad wgrad <<<"$(expected_macs 8)"
[ "$(total show8.txt fwd)" = "$fwd" ] || fail "--batch 8 fwd total: $(grep total show8.txt)"
[ "$(total show8.txt dgrad)" = "$dgrad" ] || fail "--batch 8 dgrad total: $(grep total show8.txt)"

# --- show --out, then reload: the same table; YAML and JSON hold the same document.
"$LBSIM" workload show resnet20 --out r20.yaml >out.txt
grep -q '^wrote r20.yaml$' out.txt || fail "show --out: $(tail -1 out.txt)"
"$LBSIM" workload show resnet20 --out r20.json >/dev/null
"$LBSIM" workload show r20.yaml >reload_yaml.txt
"$LBSIM" workload show r20.json >reload_json.txt
for f in reload_yaml.txt reload_json.txt; do
  diff <(tail -n +2 show32.txt) <(tail -n +2 $f) >/dev/null || fail "$f differs from the zoo table"
  head -1 $f | grep -q '^workload resnet20 (trace): batch 32' || fail "$f header: $(head -1 $f)"
done
$PY - <<'PY'
import json, yaml
y = yaml.safe_load(open("r20.yaml"))
j = json.load(open("r20.json"))
assert y == j, "YAML and JSON traces differ"
assert list(y) == ["schema_version", "network", "batch", "input", "training", "smp_samples",
                   "layers"], list(y)
assert y["schema_version"] == 1 and y["network"] == "resnet20" and y["batch"] == 32
c = y["layers"][0]
assert c["name"] == "conv1" and c["type"] == "conv2d" and c["input_grad"] is False, c
assert c["ops"][0] == {"phase": "fwd", "op": "gemm", "m": 32768, "n": 16, "k": 27}, c["ops"]
PY
# A written trace reloads to the same trace: writing it again gives the same bytes.
"$LBSIM" workload show r20.yaml --out r20_again.yaml >/dev/null
cmp -s r20.yaml r20_again.yaml || fail "r20.yaml changed when read and written again"

# Without ops the trace can be re-batched: at --batch 8 it equals the zoo network at batch 8.
"$LBSIM" workload show resnet20 --no-ops --out r20_noops.yaml >/dev/null
grep -q 'ops:' r20_noops.yaml && fail "--no-ops wrote ops"
"$LBSIM" workload show r20_noops.yaml --batch 8 >noops8.txt
diff <(tail -n +2 show8.txt) <(tail -n +2 noops8.txt) >/dev/null || fail "re-batched trace differs"
# With recorded ops, another batch is an error (and --out is not written).
expect_user_error "batch 8 requested, but the trace records the ops that ran at batch 32" x.yaml \
  workload show r20.yaml --batch 8 --out x.yaml

# --- import-scalesim: a training trace with shapes_chain false.
"$LBSIM" workload import-scalesim "$DATA/scalesim/alexnet_first.csv" --batch 2 --out alex.yaml \
  >import.txt
grep -q '^imported 3 layers of .*alexnet_first.csv (batch 2) -> alex.yaml$' import.txt ||
  fail "import-scalesim: $(cat import.txt)"
$PY - <<'PY'
import yaml
t = yaml.safe_load(open("alex.yaml"))
assert t["shapes_chain"] is False and t["training"] is True and t["batch"] == 2, t
assert [l["name"] for l in t["layers"]] == ["Conv1", "Conv2", "Conv3"], t["layers"]
c = t["layers"][0]
# SCALE-Sim's ceil convention: ceil((224 - 11 + 4) / 4) = 55. fwd M = 2*55*55, K = 3*11*11.
assert c["output_hw"] == [55, 55] and c["input_grad"] is False, c
assert c["ops"][0] == {"phase": "fwd", "op": "gemm", "m": 6050, "n": 96, "k": 363}, c["ops"]
assert [o["phase"] for o in t["layers"][1]["ops"]] == ["fwd", "dgrad", "dgrad", "wgrad", "update"]
PY
"$LBSIM" workload show alex.yaml >alex_show.txt
"$LBSIM" workload show "$DATA/scalesim/alexnet_first.csv" --batch 2 >csv_show.txt
diff <(tail -n +2 alex_show.txt) <(tail -n +2 csv_show.txt) >/dev/null ||
  fail "imported trace differs from the CSV shown directly"

# --- bad input: exit 2, a message, no output file.
expect_user_error "unknown workload 'resnet2'; did you mean 'resnet20'?" x.yaml \
  workload show resnet2 --out x.yaml
expect_user_error "a workload is a zoo network (resnet18, " x.yaml workload show resnet2 --out x.yaml
expect_user_error "bad/unknown_type.yaml:15:11: error: layers\[1\].type: unknown layer type 'conv2'" \
  x.yaml workload show "$DATA/traces/bad/unknown_type.yaml" --out x.yaml
expect_user_error "no_chain.yaml:19:15: error: layers\[1\].input_hw: input (4, 16, 16)" x.json \
  workload show "$DATA/traces/bad/no_chain.yaml" --out x.json
expect_user_error "bad_rows.csv:" x.yaml \
  workload import-scalesim "$DATA/scalesim/bad_rows.csv" --out x.yaml
expect_user_error "a trace is written as .yaml, .yml or .json" x.txt \
  workload show resnet20 --out x.txt
expect_user_error "a trace is written as .yaml, .yml or .json" x.csv \
  workload import-scalesim "$DATA/scalesim/alexnet_first.csv" --out x.csv
expect_user_error "cannot open" x.yaml workload show missing.yaml --out x.yaml
# Fuzz regressions: names that would break layers.csv are rejected where they enter; duplicate
# keys name both lines; a directory is not a trace.
printf 'schema_version: 1\nnetwork: n\nbatch: 2\ninput: [8]\nlayers:\n  - {name: "r\\nx", type: activation, kind: relu, elements: 8}\n' >newline.yaml
expect_user_error "newline.yaml:6:12: error: layers\[0\].name: contains the control character 0x0a" \
  x.yaml workload show newline.yaml --out x.yaml
printf 'Layer name, M, N, K,\nfc\t1, 4, 4, 4,\n' >tab.csv
expect_user_error "tab.csv:2: error: row: Layer Name: contains the control character 0x09" \
  x.yaml workload show tab.csv --out x.yaml
printf 'schema_version: 1\nnetwork: n\nbatch: 2\nbatch: 4\n' >dup.yaml
expect_user_error "dup.yaml:4:1: error: batch: duplicate key (first at line 3)" x.yaml \
  workload show dup.yaml --out x.yaml
mkdir dir.yaml
expect_user_error "dir.yaml: error: cannot open file: is a directory, not a file" x.yaml \
  workload show dir.yaml --out x.yaml
expect_user_error "--out" x.yaml workload import-scalesim "$DATA/scalesim/alexnet_first.csv"
expect_user_error "batch" x.yaml workload show resnet20 --batch 0 --out x.yaml
expect_user_error "cannot write" nodir/x.yaml workload show resnet20 --out nodir/x.yaml

echo "workload CLI: all checks passed"
