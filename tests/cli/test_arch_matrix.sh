#!/usr/bin/env bash
# Every shipped architecture runs every zoo workload (`lbsim run`, batch 2), and each run's
# layers.csv has one row per op with cycles = compute_cycles + stall_cycles. The 4x4 test array
# runs the CIFAR-10 networks only: ImageNet networks on 16 PEs take minutes of wall time.
source "$(dirname "$0")/common.sh" "$1"
ARCHS=$(realpath "$(dirname "$0")/../../arch_configs")
zoo=$("$LBSIM" workload list | awk '{print $1}')
runs=0
for arch in "$ARCHS"/*.yaml; do
  for w in $zoo; do
    case "$(basename "$arch")" in
      tiny_4x4.yaml) case "$w" in resnet20|resnet20_b|vgg16_cifar) ;; *) continue ;; esac ;;
    esac
    out="out_$(basename "$arch" .yaml)_$w"
    "$LBSIM" run --arch "$arch" --workload "$w" --batch 2 --out "$out" > log.txt 2>&1 ||
      fail "run --arch $(basename "$arch") --workload $w: $(cat log.txt)"
    $PY - "$out/layers.csv" <<'PY' || fail "bad layers.csv for $(basename "$arch") $w"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert rows, "no rows"
for r in rows:
    assert int(r["cycles"]) == int(r["compute_cycles"]) + int(r["stall_cycles"]), r
    assert r["phase"] in ("fwd", "dgrad", "wgrad", "update"), r
PY
    runs=$((runs + 1))
  done
done
[ "$runs" -ge 60 ] || fail "only $runs runs"
echo "arch matrix: $runs runs passed"
