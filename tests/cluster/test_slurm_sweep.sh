#!/usr/bin/env bash
# `lbsim sweep --emit-slurm` on a real single-node Slurm (slurm_cluster.sh): the emitted job array
# (3 shards) and the merge job that depends on it (afterok) are submitted with sbatch, and the
# merged results.csv and results.jsonl must equal a local run of the same sweep byte for byte.
# Exit 77 (CTest skip) when Slurm cannot run here, except with LBSIM_REQUIRE_SLURM=1 (.ci/run).
set -euo pipefail
LBSIM=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/slurm_cluster.sh source-path=SCRIPTDIR
source "$here/slurm_cluster.sh"

fail() { echo "FAIL: $*" >&2; exit 1; }

slurm_require_or_skip

work=$(mktemp -d /tmp/lbsim-slurm.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

cat >sweep.yaml <<'YAML'
schema_version: 1
name: slurm_test
workloads: [{workload: resnet20, batch: 1}]
vars: {m: [1, 2, 4]}
axes:
  pe_array.formats: "mls_m{m}e2"
  pe_array.rows: [8, 16]
  energy.node: [45, 7]
numerics: {max_macs: 20000}
YAML

# The local run the cluster's result must equal.
"$LBSIM" sweep sweep.yaml --out local --quiet >local.txt || fail "local sweep: $(cat local.txt)"

"$LBSIM" sweep sweep.yaml --out "$work/cluster_out" --emit-slurm "$work/slurm" --shards 3 \
  --cpus-per-task 1 --time 00:05:00 >emit.txt || fail "emit-slurm: $(cat emit.txt)"
grep -q '^#SBATCH --array=0-2$' slurm/sweep.sbatch || fail "array line: $(cat slurm/sweep.sbatch)"

slurm_up "$work/cluster"
slurm_submit_and_wait --timeout 150 "$work/slurm/sweep.sbatch" "$work/slurm/merge.sbatch" ||
  fail "the sweep's jobs did not complete"
for k in 0 1 2; do
  [ -f "cluster_out/shard-$k/results.jsonl" ] || fail "shard $k wrote no results"
done
cmp local/results.csv cluster_out/merged/results.csv ||
  fail "the merged results.csv differs from the local run"
cmp local/results.jsonl cluster_out/merged/results.jsonl ||
  fail "the merged results.jsonl differs from the local run"
grep -q '"shards": 3' cluster_out/shard-1/sweep.json || fail "shard manifest"
slurm_down
echo "cluster_test_slurm_sweep: ok"
