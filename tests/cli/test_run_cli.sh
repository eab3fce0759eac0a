#!/usr/bin/env bash
# CLI tests of `lbsim run`. Usage: test_run_cli.sh path/to/lbsim
#  * defaults: writes out/run/layers.csv with exactly the required header and one row per op
#    (ResNet-20 at batch 32: 215 ops, derived below), cycles == compute + stall on every row, and
#    a stats.json that parses and agrees with the rows;
#  * determinism: two runs give byte-identical outputs;
#  * errors exit 2 with the loaders' messages and write nothing: a buffer too small for the
#    smallest legal tile, fidelity: cycle with scalesim_compat (cycle mode itself:
#    test_run_cycle.sh), a bad -p, an unknown workload.
# Python checks use Debian's /usr/bin/python3.
ARCHS=$(realpath "$(dirname "$0")/../../arch_configs")
source "$(dirname "$0")/common.sh" "$1"

# --- defaults: built-in arch, resnet20, batch 32, out/run.
"$LBSIM" run >summary.txt || fail "lbsim run with defaults failed"
[ -f out/run/layers.csv ] && [ -f out/run/stats.json ] || fail "out/run lacks the outputs"
grep -q '^total cycles: ' summary.txt || fail "summary lacks total cycles: $(cat summary.txt)"
grep -q 'resnet20 training iteration, batch 32' summary.txt || fail "summary: $(cat summary.txt)"
grep -q '^slowest layer ops:' summary.txt || fail "summary lacks the slowest ops"

# ResNet-20 (expansion rules of models/workload/workload.h): 19 conv2d, 19 batch_norm,
# 19 relu, 9 add, 1 pool, 1 linear, 1 softmax_cross_entropy = 69 layers.
#   conv1 (first layer, no input gradient): fwd gemm, wgrad gemm, update          3
#   18 other 3x3 convs: fwd gemm, dgrad gemm, wgrad gemm, update           18 x 4 = 72
#     (the default MLS array lowers dgrad directly, mapping.dgrad_lowering: transposed, so
#     there is no col2im op)
#   19 batch_norm: bn_fwd, bn_bwd, bn_param_grad, update                   19 x 4 = 76
#   19 relu, 9 add, 1 pool: fwd + dgrad                                    29 x 2 = 58
#   linear: fwd, dgrad, wgrad gemms, update                                         4
#   loss: fwd, dgrad                                                                2
#   total                                                                         215
# MACs: 3878744064 with the im2col count (dgrad = fwd per layer), plus the strided layers' zero
# taps: layer2.0.conv1 (16 -> 32, 32x32 -> 16x16) and layer3.0.conv1 (32 -> 64, 16x16 -> 8x8)
# run their transposed dgrad GEMM over every input pixel, 4 x their forward MACs
# (32 x 16 x 16 x 32 x 16 x 9 = 37748736 each): + 2 x 3 x 37748736.
$PY - out/run/layers.csv out/run/stats.json <<'PY' || fail "layers.csv / stats.json checks"
import csv, json, sys
header = ("layer,phase,op,m,n,k,macs,folds,cycles,compute_cycles,stall_cycles,utilization_fraction,"
          "ifmap_sram_read_bytes,filter_sram_read_bytes,ofmap_sram_write_bytes,dram_read_bytes,"
          "dram_write_bytes,quant_ops,vector_ops")
with open(sys.argv[1], newline="") as f:
    lines = f.read().split("\n")
assert lines[0] == header, lines[0]
assert lines[-1] == "", "file must end with a newline"
rows = list(csv.DictReader(lines[:-1]))
assert len(rows) == 215, len(rows)
for r in rows:
    assert r["phase"] in ("fwd", "dgrad", "wgrad", "update"), r
    assert int(r["cycles"]) == int(r["compute_cycles"]) + int(r["stall_cycles"]), r
    assert int(r["stall_cycles"]) >= 0, r
    assert 0 <= float(r["utilization_fraction"]) <= 1, r
# training order: forward first, conv1's weight gradient and update last
assert (rows[0]["layer"], rows[0]["phase"], rows[0]["op"]) == ("conv1", "fwd", "gemm"), rows[0]
assert (rows[-2]["layer"], rows[-2]["phase"]) == ("conv1", "wgrad"), rows[-2]
assert (rows[-1]["layer"], rows[-1]["phase"], rows[-1]["op"]) == ("conv1", "update", "sgd_momentum")
phases = [r["phase"] for r in rows]
n_fwd = phases.count("fwd")
assert all(p == "fwd" for p in phases[:n_fwd]) and "fwd" not in phases[n_fwd:]
with open(sys.argv[2]) as f:
    stats = json.load(f)
run = stats["run"]
assert run["workload"] == "resnet20" and run["batch"] == 32, run
assert run["ops"] == 215
assert run["total_cycles"] == sum(int(r["cycles"]) for r in rows)
assert run["total_macs"] == sum(int(r["macs"]) for r in rows) == 3878744064 + 6 * 37748736
assert run["dram_read_bytes"] == sum(int(r["dram_read_bytes"]) for r in rows)
assert stats["stats"]["dram"]["read_bytes"]["value"] == run["dram_read_bytes"]
gemm_compute = sum(int(r["compute_cycles"]) for r in rows if r["op"].startswith("gemm"))
assert stats["stats"]["pe_array"]["compute_cycles"]["value"] == gemm_compute
assert stats["stats"]["controller"]["ops"]["value"] == 215
assert not any(r["op"] == "col2im" for r in rows)
assert "wall" not in json.dumps(stats)
PY

# --- determinism: the same inputs give byte-identical files.
"$LBSIM" run --out again >/dev/null
cmp out/run/layers.csv again/layers.csv || fail "layers.csv differs between two runs"
cmp out/run/stats.json again/stats.json || fail "stats.json differs between two runs"
"$LBSIM" run --arch "$ARCHS/default.yaml" --workload resnet20 --batch 32 --out explicit >/dev/null
cmp out/run/layers.csv explicit/layers.csv || fail "explicit defaults differ from the built-in"

# --- errors: exit 2, the loaders' messages, nothing written.
expect_user_error "layer conv1 fwd gemm: tiling: ifmap buffer too small for the smallest legal tile" \
  small run --arch "$ARCHS/tiny_4x4.yaml" -p buffers.ifmap.size_bytes=16 --out small
expect_user_error "cycle fidelity needs scalesim_compat: false" cyc \
  run -p pe_array.fidelity=cycle -p pe_array.scalesim_compat=true --out cyc
expect_user_error "<cmdline -p #1>" badp run -p pe_array.rows=0 --out badp
expect_user_error "no_such_net" badw run --workload no_such_net --out badw
# --- provenance: stats.json says what produced it; a -p run is not labelled as the plain file.
"$LBSIM" run --workload resnet20 --batch 1 -p pe_array.rows=16 -p pe_array.formats.weight=mls_m2e2 \
  --out prov >/dev/null || fail "run with -p failed"
"$LBSIM" run --workload resnet20 --batch 1 -p pe_array.rows=16 --name my16 --out named >/dev/null ||
  fail "run with --name failed"
$PY - prov/stats.json named/stats.json "$("$LBSIM" --version)" <<'EOF' || fail "provenance in stats.json"
import json, sys
r = json.load(open(sys.argv[1]))["run"]
assert r["arch"] == "mls_m1e2_32x32 (overridden: -p pe_array.rows=16, -p pe_array.formats.weight=mls_m2e2)", r["arch"]
assert r["arch_overrides"] == ["pe_array.rows=16", "pe_array.formats.weight=mls_m2e2"]
assert r["formats"]["weight"].startswith("mls_m2e2") and r["formats"]["error"].startswith("mls_m1e2")
assert r["dgrad_lowering"] == "transposed"
t = r["energy_table"]
assert t["node_nm"] == 45 and len(t["hash"]) == 16 and "45nm.yaml" in t["file"]
assert sys.argv[3] == "lbsim " + r["lbsim_version"], (sys.argv[3], r["lbsim_version"])
assert json.load(open(sys.argv[2]))["run"]["arch"] == "my16"
EOF

# Progress goes to stderr (stdout is the same with or without it): off a terminal, one line per
# phase of the training order; --quiet silences it. verify and compare do the same.
"$LBSIM" run --batch 1 --out prog >prog.out 2>prog.err
grep -qx 'run: forward done, 70/215 ops, .*' prog.err || fail "run progress: $(cat prog.err)"
grep -qx 'run: backward and update done, 215/215 ops, .*' prog.err || fail "run progress: $(cat prog.err)"
[ "$(wc -l <prog.err)" -eq 2 ] || fail "run progress is not a line per phase: $(cat prog.err)"
"$LBSIM" run --batch 1 --out prog -q >quiet.out 2>quiet.err
[ ! -s quiet.err ] || fail "run -q printed progress: $(cat quiet.err)"
diff <(grep -v '^SystemC:' prog.out) <(grep -v '^SystemC:' quiet.out) || fail "progress changed stdout"
"$LBSIM" verify --out vprog >/dev/null 2>vprog.err
grep -qx 'verify: linear done, 6/6 GEMMs, .*' vprog.err || fail "verify progress: $(cat vprog.err)"
"$LBSIM" verify --out vprog -q >/dev/null 2>vprog.err
[ ! -s vprog.err ] || fail "verify -q printed progress: $(cat vprog.err)"
echo "test_run_cli: ok"
