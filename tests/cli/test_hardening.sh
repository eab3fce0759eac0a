#!/usr/bin/env bash
# Hardening regressions, one minimal input per class; every rejection is exit 2 with the message
# checked and nothing written (expect_user_error in common.sh):
#  * sizes that pass validation but not reality: a 2^31 x 2^31 GEMM trace, a SCALE-Sim layer of
#    2^50 pixels and --batch 1000000000 are refused at once by the stated limits (MACs per GEMM
#    op, tiles per GEMM), not after minutes of planning or gigabytes of allocation;
#  * absurd rates: a 1e-9 GB/s DRAM and a 1e-300 MHz clock are outside the documented ranges;
#    a slow but legal DRAM on a long run is refused by the simulated-time bound, not wrapped;
#  * empty shapes: lbsim gemm with K = 0 (and conv with an empty tensor) is refused;
#  * a missing energy cost is an error naming the action and the table unless
#    --allow-missing-costs, which stats.json records;
#  * outputs that alias inputs or each other (quantize --in/--out/--codes on one file, gemm
#    --out on an operand, a run's --arch inside its --out) are refused before anything runs;
#  * text that is not UTF-8: refused in layer names (CSV, layers.csv), replaced in file names;
#  * error floods: a repeated name is one error per repeat, and at most 50 messages are shown;
#  * determinism: lbsim compare gives byte-identical reports with --jobs 1 and 2, and a run
#    repeats byte for byte.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$(dirname "$0")/common.sh" "$1"

# --- sizes -----------------------------------------------------------------------------------
cat >big.yaml <<'EOF'
schema_version: 1
network: big
batch: 1
input: [8]
layers:
  - name: huge
    type: matmul
    count: 1
    m: 2147483648
    n: 2147483648
    k: 1
EOF
expect_user_error "layer huge fwd gemm: .*more than the limit of 1125899906842624 (2^50) MACs" \
  out/stats.json run --workload big.yaml --out out
[ ! -e out ] || fail "the run directory was created for a refused run"
printf 'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\npix, 33554432, 33554432, 3, 3, 3, 16, 1,\n' >pix.csv
expect_user_error "layer pix fwd gemm: .*limit of .* MACs per GEMM op" out/stats.json \
  run --workload pix.csv --out out
expect_user_error "layer conv1 fwd gemm: .*more than the limit of" out/stats.json run --batch 1000000000 --out out
# Tiles: a GEMM of few MACs per tile on a 1 x 1 array with the smallest buffers.
cat >tiny.yaml <<'EOF'
schema_version: 1
clock_mhz: 1000
pe_array: {type: fp32, rows: 1, cols: 1, dataflow: os}
buffers:
  ifmap: {size_bytes: 64, banks: 1, word_bits: 8}
  filter: {size_bytes: 64, banks: 1, word_bits: 8}
  ofmap: {size_bytes: 64, banks: 1, word_bits: 8}
EOF
printf 'Layer, M, N, K,\nwide, 16384, 16384, 1,\n' >wide.csv
expect_user_error "more than the limit of 16777216 tiles per GEMM" out/stats.json \
  run --arch tiny.yaml --workload wide.csv --out out

# --- rates -----------------------------------------------------------------------------------
expect_user_error "dram.bandwidth_gbps: 1e-9 is outside \[0.1, 100000\]" out/stats.json \
  run -p dram.bandwidth_gbps=1e-9 --out out
expect_user_error "clock_mhz: 1e-300 is outside \[1, 10000\]" out/stats.json \
  run -p clock_mhz=1e-300 --out out
expect_user_error "dram.bandwidth_bytes_per_cycle: 1e-300 is outside \[0.01, 1000000\]" \
  out/stats.json run -p dram.bandwidth_bytes_per_cycle=1e-300 --out out
# Legal rates, a long run: 0.01 bytes per cycle at 1 MHz and a 2^20 x 2^20 x 1024 GEMM (2^50
# MACs, at the limit; terabytes of traffic): far beyond 2^62 ps of simulated time.
cat >long.yaml <<'EOF'
schema_version: 1
network: long
batch: 1
input: [8]
layers:
  - {name: long, type: matmul, count: 1, m: 1048576, n: 1048576, k: 1024}
EOF
sed -e 's/^clock_mhz: .*/clock_mhz: 1/' -e 's/size_kib: [0-9]*/size_kib: 1048576/' -e '/^dram:/,$d' "$ROOT/arch_configs/default.yaml" >slow.yaml
echo "dram: {type: ddr4, bandwidth_bytes_per_cycle: 0.01, latency_cycles: 100}" >>slow.yaml
expect_user_error "beyond the simulator's time range" out/stats.json \
  run --arch slow.yaml --workload long.yaml --out out

# --- empty shapes ----------------------------------------------------------------------------
"$PY" -c "
import numpy as np
np.save('a0.npy', np.zeros((3, 0), np.float32)); np.save('b0.npy', np.zeros((0, 2), np.float32))
np.save('x.npy', np.ones((1, 2, 4, 4), np.float32)); np.save('w0.npy', np.zeros((0, 2, 3, 3), np.float32))
np.save('m.npy', np.arange(12, dtype=np.float32).reshape(3, 4))"
expect_user_error "shape (3, 0) has an empty dimension" c.npy gemm --format fp32 --a a0.npy --b b0.npy --out c.npy
expect_user_error "has an empty dimension" c.npy gemm --format int8 --a a0.npy --b b0.npy --out c.npy --engine check
expect_user_error "has an empty dimension" y.npy conv --phase fwd --format fp32 --x x.npy --w w0.npy --out y.npy

# --- missing energy costs --------------------------------------------------------------------
"$PY" - "$ROOT/arch_configs/energy/45nm.yaml" nomul.yaml <<'PY'
import sys, yaml
t = yaml.safe_load(open(sys.argv[1])); del t["actions"]["int_mul"]
yaml.safe_dump(t, open(sys.argv[2], "w"))
PY
expect_user_error "nomul.yaml.*no cost for .* action.*" out/stats.json run --energy nomul.yaml --out out
grep -q '  int_mul{' stderr.txt || fail "the error does not name int_mul: $(cat stderr.txt)"
"$LBSIM" run --energy nomul.yaml --allow-missing-costs --out ok >ok.txt 2>&1 ||
  fail "--allow-missing-costs run failed: $(cat ok.txt)"
grep -q '"allow_missing_costs": true' ok/stats.json || fail "stats.json does not record the opt-in"
grep -q '^uncosted actions' ok.txt || fail "the opted-in run does not list the uncosted actions"

# --- aliasing --------------------------------------------------------------------------------
cp m.npy keep.npy
expect_user_error "output --out and input --in name the same file" none.npy \
  quantize --format int8 --in m.npy --out m.npy
cmp m.npy keep.npy || fail "the input was changed"
expect_user_error "--out and --codes name the same file" c1.npy \
  quantize --format int8 --in m.npy --out c1.npy --codes ./c1.npy
expect_user_error "output --out and input --in name the same file" none.npy \
  quantize --format int8 --in m.npy --out sub/../m.npy --codes codes.npy
[ ! -e codes.npy ] || fail "codes.npy was written although the command failed"
ln -s m.npy link.npy
expect_user_error "name the same file" none.npy quantize --format int8 --in link.npy --out m.npy
expect_user_error "output --out and input --b name the same file" none.npy \
  gemm --format fp32 --a keep.npy --b m.npy --out m.npy
cmp m.npy keep.npy || fail "the input was changed"
mkdir -p rundir && cp "$ROOT/arch_configs/default.yaml" rundir/stats.json
# Refused before the simulation: --out is replaced as a whole and holds the --arch file.
expect_user_error "error: output directory --out (rundir) holds input --arch (rundir/stats.json)" \
  none run --arch rundir/stats.json --out rundir
cmp rundir/stats.json "$ROOT/arch_configs/default.yaml" || fail "the run overwrote its --arch"

# --- text that is not UTF-8 (found by the run_dir fuzz target) ------------------------------
# A layer name that is not UTF-8 is refused where it enters (a SCALE-Sim CSV, an edited
# layers.csv); a file name that is not UTF-8 is legal on Linux and still gives valid JSON
# (U+FFFD in its place) instead of an abort while writing stats.json.
printf 'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\nC\x9d1, 8, 8, 3, 3, 4, 8, 1,\n' >bad8.csv
expect_user_error 'bad8.csv:2: error: .*is not valid UTF-8 (byte 0x9d at position 2)' o8 \
  run --workload bad8.csv --out o8
sed 's/C\x9d1/C1/' bad8.csv >$'n\x9d.csv'
"$LBSIM" run --workload $'n\x9d.csv' --out o9 -q >/dev/null || fail "a non-UTF-8 file name aborts lbsim run"
$PY -c "import json, sys; json.load(open(sys.argv[1], encoding='utf-8'))" o9/stats.json ||
  fail "stats.json is not valid UTF-8 JSON"
cp -r o9 o9bad
$PY -c "
import sys; p = sys.argv[1] + '/layers.csv'; b = open(p, 'rb').read()
open(p, 'wb').write(b.replace(b'\nC1,', b'\nC\x9d1,', 1))" o9bad
expect_user_error 'layers.csv:2: error: layer is not valid UTF-8' o9re report o9bad --out o9re

# --- error floods (found by the study fuzz target) ---------------------------------------------
# 400 configs of one name: one duplicate error per repeat naming the first (not one per earlier
# copy: 79,800 lines, 74 MB of stderr from a 1.7 kB file before), and at most 50 messages shown.
{
  echo "configs:"
  for i in $(seq 400); do echo "  - {name: a, arch: x.yaml}"; done
} >flood.yaml
expect_user_error "flood.yaml:3:12: error: configs\[1\].name: duplicate config name 'a' (first used at flood.yaml:2:12)" \
  flood.md compare flood.yaml --out flood.md
grep -q "^error: 357 more errors not shown$" stderr.txt || fail "error flood: $(tail -n 2 stderr.txt)"
[ "$(wc -l <stderr.txt)" -le 52 ] || fail "error flood: $(wc -l <stderr.txt) lines of errors"

# --- determinism -----------------------------------------------------------------------------
cat >study.yaml <<EOF
schema_version: 1
title: "determinism"
command: "lbsim compare study.yaml"
batch: 2
reference: fp32
baseline: fp8
configs:
  - {name: fp32, label: FP32, arch: $ROOT/arch_configs/fp32_32x32.yaml}
  - {name: fp8, label: FP8, arch: $ROOT/arch_configs/fp8_32x32.yaml}
  - {name: mls_m1e2, label: "MLS", arch: $ROOT/arch_configs/mls_m1e2_32x32.yaml}
columns: [fp32, fp8, mls]
models:
  - {workload: resnet20, label: "ResNet-20", mls: mls_m1e2}
  - {workload: vgg16, label: "VGG-16", mls: mls_m1e2}
windows:
  vs_reference: [1, 100]
  vs_baseline: [1, 100]
EOF
"$LBSIM" compare study.yaml --jobs 1 --out j1.md >j1.txt 2>&1 || fail "compare -j1: $(cat j1.txt)"
"$LBSIM" compare study.yaml --jobs 2 --out j2.md >j2.txt 2>&1 || fail "compare -j2: $(cat j2.txt)"
cmp j1.md j2.md || fail "compare reports differ between --jobs 1 and 2"
"$LBSIM" run --workload resnet20 --batch 2 --out d1 >/dev/null
"$LBSIM" run --workload resnet20 --batch 2 --out d2 >/dev/null
for f in stats.json layers.csv energy.csv actions.csv; do
  cmp "d1/$f" "d2/$f" || fail "$f differs between two identical runs"
done
echo "test_hardening: ok"
