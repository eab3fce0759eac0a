#!/usr/bin/env bash
# CLI tests of `lbsim sweep` and `lbsim sweep-merge`. Usage: test_sweep_cli.sh path/to/lbsim
#  * the same sweep with --jobs 1 and --jobs 2 gives byte-identical results.csv / results.jsonl;
#  * a sweep killed with SIGKILL mid-run and resumed ends with every point exactly once and a
#    results.csv byte-identical to the uninterrupted run;
#  * three shards merged equal the local run byte for byte; a missing or doubled shard, or shards
#    of another sweep file, are refused;
#  * --resume refuses a changed sweep file; an existing directory without --resume is refused;
#  * a bad point is an error naming the point, its axis values and the key (exit 2, nothing
#    written); a point that fails at run time is recorded, the sweep goes on, exit code 1;
#  * --emit-slurm writes the job-array and merge scripts.
source "$(dirname "$0")/common.sh" "$1"

cat >s.yaml <<'EOF'
schema_version: 1
name: cli_test
workloads: [{workload: resnet20, batch: 1}]
vars: {m: [1, 2, 3], e: [2, 3]}
axes:
  pe_array.formats: "mls_m{m}e{e}"
  pe_array.rows: [8, 16]
  energy.node: [45, 7]
zip: []
exclude: [{m: 3, e: 3}]
numerics: {max_macs: 20000}
EOF
# 3 x 2 x 2 x 2 = 24, minus m=3,e=3 (x 4) = 20 points.

"$LBSIM" sweep s.yaml --out j1 --jobs 1 --quiet >j1.txt || fail "sweep -j1: $(cat j1.txt)"
grep -q '20 points in the sweep, 20 in this run: 20 simulated, 0 resumed, 0 failed' j1.txt ||
  fail "summary: $(cat j1.txt)"
"$LBSIM" sweep s.yaml --out j2 --jobs 2 >j2.txt 2>progress.txt || fail "sweep -j2"
grep -q '^sweep: 20/20 points' progress.txt || fail "no plain progress lines: $(cat progress.txt)"
cmp j1/results.csv j2/results.csv || fail "results.csv differs between --jobs 1 and 2"
cmp j1/results.jsonl j2/results.jsonl || fail "results.jsonl differs between --jobs 1 and 2"
[ "$(wc -l <j1/results.csv)" -eq 21 ] || fail "results.csv rows: $(wc -l <j1/results.csv)"

$PY - j1/results.csv <<'EOF' || fail "results.csv content"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [int(r["point"]) for r in rows] == list(range(20)), "sorted by point"
assert rows[0]["pe_array.formats"] == "mls_m1e2" and rows[0]["pe_array.rows"] == "8"
assert rows[0]["energy.node"] == "45" and rows[1]["energy.node"] == "7"
# Energy axes re-cost one simulation: same cycles, less energy at 7 nm.
for a, b in zip(rows[0::2], rows[1::2]):
    assert a["cycles"] == b["cycles"] and a["macs"] == b["macs"]
    assert float(b["energy_pj"]) < float(a["energy_pj"])
# 16 rows finish a GEMM tile faster than 8 rows.
assert int(rows[2]["cycles"]) < int(rows[0]["cycles"])
for r in rows:
    assert r["error"] == ""
    e = sum(float(v) for k, v in r.items() if k.startswith("energy_") and k.endswith("_pj")
            and k != "energy_pj")
    assert abs(e - float(r["energy_pj"])) <= 1e-6 * float(r["energy_pj"]), "components sum"
    assert abs(float(r["pj_per_mac"]) * float(r["macs"]) - float(r["energy_pj"])) <= \
        1e-6 * float(r["energy_pj"])
    assert 0 < float(r["utilization_fraction"]) <= 1
    for k in ("sqnr_weight_db", "sqnr_activation_db", "sqnr_error_db",
              "gemm_rel_error_fwd", "gemm_rel_error_dgrad", "gemm_rel_error_wgrad"):
        assert r[k] != "", k
EOF

# --- SIGKILL mid-run, then --resume. The whole sweep takes about 0.5 s, so on a loaded machine
# the poll can miss the window and the kill come after the last point: such an attempt proves
# nothing and is retried (up to 5 times) from scratch.
for attempt in 1 2 3 4 5; do
  rm -rf killed
  "$LBSIM" sweep s.yaml --out killed --jobs 1 --quiet >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 3000); do
    n=$( (cat killed/results.jsonl 2>/dev/null || true) | wc -l)
    [ "$n" -ge 5 ] && break
    sleep 0.01
  done
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  n=$(wc -l <killed/results.jsonl)
  [ "$n" -lt 20 ] && break
  echo "attempt $attempt: the sweep finished before the kill; again" >&2
done
[ "$n" -ge 5 ] && [ "$n" -lt 20 ] || fail "the kill came at $n of 20 points (attempt $attempt of 5)"
[ ! -e killed/results.csv ] || fail "results.csv exists after a kill"
"$LBSIM" sweep s.yaml --out killed --resume --quiet >resumed.txt || fail "resume failed"
grep -q "20 in this run: $((20 - n)) simulated, $n resumed" resumed.txt ||
  fail "resume summary: $(cat resumed.txt)"
cmp j1/results.csv killed/results.csv || fail "resumed results.csv differs"
cmp j1/results.jsonl killed/results.jsonl || fail "resumed results.jsonl differs"
# A second resume has nothing left to do and changes nothing.
"$LBSIM" sweep s.yaml --out killed --resume --quiet >again.txt || fail "second resume"
grep -q '0 simulated, 20 resumed' again.txt || fail "second resume: $(cat again.txt)"
cmp j1/results.csv killed/results.csv || fail "second resume changed results.csv"

# --- shards and merge.
for k in 0 1 2; do
  "$LBSIM" sweep s.yaml --out shard$k --shard $k/3 --quiet >/dev/null || fail "shard $k/3"
done
"$LBSIM" sweep-merge shard0 shard1 shard2 --out merged >merge.txt || fail "merge: $(cat merge.txt)"
cmp j1/results.csv merged/results.csv || fail "merged results.csv differs from the local run"
cmp j1/results.jsonl merged/results.jsonl || fail "merged results.jsonl differs"
cmp j1/summary.md merged/summary.md || fail "merged summary.md differs"
cmp j1/summary.html merged/summary.html || fail "merged summary.html differs"
cmp j1/summary.md j2/summary.md || fail "summary.md differs between --jobs 1 and 2"
grep -q 'Pareto' j1/summary.md || fail "summary.md lacks the Pareto tables"
ls j1/figures/*.svg >/dev/null 2>&1 || fail "no SVG figures in j1/figures"
expect_user_error 'shard 2/3 is missing' m2/results.csv sweep-merge shard0 shard1 --out m2
expect_user_error 'shard 1 is given twice' m3/results.csv sweep-merge shard0 shard1 shard1 --out m3

# --- refusals.
expect_user_error 'holds a sweep already' j1/none sweep s.yaml --out j1
sed 's/name: cli_test/name: cli_test2/' s.yaml >s2.yaml
expect_user_error 'the sweep file changed' killed/none sweep s2.yaml --out killed --resume
"$LBSIM" sweep s2.yaml --out other --shard 2/3 --quiet >/dev/null || fail "shard of s2"
expect_user_error 'comes from another sweep file' m4/results.csv sweep-merge shard0 shard1 other --out m4
expect_user_error "expected K/N" bad/results.csv sweep s.yaml --out bad --shard 3/3

# --- a bad point: named with its axis values, the key and the allowed values; nothing written.
cat >bad.yaml <<'EOF'
workloads: [{workload: resnet20, batch: 1}]
axes:
  pe_array.rows: [8, 0]
  pe_array.dataflow: [os, xs]
EOF
expect_user_error 'point 1 (pe_array.rows=8, pe_array.dataflow=xs)' badout/sweep.json sweep bad.yaml --out badout
grep -q 'bad.yaml:4:27: error: pe_array.dataflow' stderr.txt || fail "no position: $(cat stderr.txt)"
grep -q 'os' stderr.txt && grep -q '3 of 4 points are invalid' stderr.txt || fail "$(cat stderr.txt)"
[ ! -e badout ] || fail "badout was created"
cat >typo.yaml <<'EOF'
workloads: [{workload: resnet20, batch: 1}]
axis: {pe_array.rows: [8]}
EOF
expect_user_error "typo.yaml:2:7: error: axis: unknown key" typo/sweep.json sweep typo.yaml --out typo

# --- a point that fails at run time (a buffer too small for the smallest tile) is recorded.
cat >fails.yaml <<'EOF'
workloads: [{workload: resnet20, batch: 1}]
axes: {buffers.ofmap.size_kib: [128, 1]}
numerics: {enabled: false}
EOF
set +e
"$LBSIM" sweep fails.yaml --out fails --quiet >fails.txt 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || fail "a failing point must give exit 1, got $rc: $(cat fails.txt)"
grep -q '^failed: point 1 (buffers.ofmap.size_kib=1) resnet20: ' fails.txt || fail "$(cat fails.txt)"
[ "$(wc -l <fails/results.csv)" -eq 3 ] || fail "both points must be in results.csv"
tail -1 fails/results.csv | grep -q 'too small' || fail "the error is not in results.csv"

# --- Slurm scripts.
"$LBSIM" sweep s.yaml --out "$work/cluster" --emit-slurm slurm --shards 4 --partition debug >emit.txt ||
  fail "emit-slurm"
grep -q '^#SBATCH --array=0-3$' slurm/sweep.sbatch || fail "$(cat slurm/sweep.sbatch)"
grep -q -- '--shard "${SLURM_ARRAY_TASK_ID}/4"' slurm/sweep.sbatch || fail "shard arg"
grep -q '^#SBATCH --partition=debug$' slurm/merge.sbatch || fail "partition"
grep -q "sweep-merge '$work/cluster/shard-0' '$work/cluster/shard-1'" slurm/merge.sbatch ||
  fail "merge dirs: $(cat slurm/merge.sbatch)"
grep -q 'afterok' slurm/submit.sh && grep -q 'afterok' emit.txt || fail "no afterok dependency"
echo "sweep CLI tests passed"
