#!/usr/bin/env bash
# A real single-node Slurm (slurm_cluster.sh) runs a 4-task job array and a job that depends on it
# with afterok, the shape `lbsim sweep --emit-slurm` submits. Checked: every task ran once with its
# own array index and the array's environment, the dependent job ran only after all four and saw
# all their outputs; a failing task makes the dependent job be cancelled, never run, and the wait
# report the failure. Then every daemon the test started is gone.
#
# Exit 77 (CTest skip) when Slurm cannot run here (not installed, not root), except with
# LBSIM_REQUIRE_SLURM=1 (set by .ci/run), where that is a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/slurm_cluster.sh source-path=SCRIPTDIR
source "$here/slurm_cluster.sh"

fail() { echo "FAIL: $*" >&2; exit 1; }

slurm_require_or_skip

# Short path: Unix sockets live under the cluster directory.
work=$(mktemp -d /tmp/lbsim-slurm.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

conf_before=${SLURM_CONF-unset}
slurm_up "$work/cluster"
grep -q "^SlurmctldPort=" "$SLURM_CONF" || fail "SLURM_CONF=$SLURM_CONF is not the generated file"
daemons=$(awk '{print $2}' "$work/cluster/daemons")
[ "$(echo "$daemons" | wc -w)" -eq 3 ] || fail "expected 3 daemons, recorded: $daemons"
# Every job below asks for one CPU, so the node has to offer nproc of them.
cpus=$(sinfo -h -N -o '%c')
[ "$cpus" -eq "$(nproc)" ] || fail "node has $cpus CPUs, expected $(nproc)"

# write_array NAME FAILING_TASK: a 4-task array; each task writes its index squared, plus the
# array's environment, to NAME/task_<index>.txt, and exits 3 when it is FAILING_TASK.
write_array() {
  mkdir -p "$work/$1"
  cat >"$work/$1/array.sbatch" <<EOF
#!/bin/bash
#SBATCH --job-name=$1-array
#SBATCH --array=0-3
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --output=$work/$1/array_%A_%a.out
set -eu
i=\$SLURM_ARRAY_TASK_ID
echo "index \$i square \$((i * i)) count \$SLURM_ARRAY_TASK_COUNT min \$SLURM_ARRAY_TASK_MIN" \\
  "max \$SLURM_ARRAY_TASK_MAX array \$SLURM_ARRAY_JOB_ID" >$work/$1/task_\$i.txt
[ "\$i" != "$2" ] || { echo "task \$i fails on purpose"; exit 3; }
echo "task \$i done"
EOF
  cat >"$work/$1/merge.sbatch" <<EOF
#!/bin/bash
#SBATCH --job-name=$1-merge
#SBATCH --ntasks=1
#SBATCH --output=$work/$1/merge.out
set -eu
n=0 sum=0
for f in $work/$1/task_*.txt; do
  n=\$((n + 1))
  sum=\$((sum + \$(awk '{print \$4}' "\$f")))
done
echo "tasks \$n sum \$sum"
EOF
}

# 1. All tasks succeed: the dependent job runs after all four.
write_array ok none
slurm_submit_and_wait --timeout 40 "$work/ok/array.sbatch" "$work/ok/merge.sbatch" ||
  fail "the array and its dependent job did not both complete"
[ ${#SLURM_JOB_IDS[@]} -eq 2 ] || fail "expected 2 job ids, got: ${SLURM_JOB_IDS[*]}"
array_id=${SLURM_JOB_IDS[0]}
merge_id=${SLURM_JOB_IDS[1]}
for i in 0 1 2 3; do
  f=$work/ok/task_$i.txt
  [ -f "$f" ] || fail "array task $i wrote no $f"
  expected="index $i square $((i * i)) count 4 min 0 max 3 array $array_id"
  [ "$(cat "$f")" = "$expected" ] || fail "$f: '$(cat "$f")', expected '$expected'"
  out=$work/ok/array_${array_id}_$i.out
  [ "$(cat "$out" 2>/dev/null)" = "task $i done" ] || fail "$out: '$(cat "$out" 2>/dev/null)'"
done
task_files=("$work"/ok/task_*.txt)
[ ${#task_files[@]} -eq 4 ] || fail "not exactly 4 task files: ${task_files[*]}"
# 0 + 1 + 4 + 9: the merge saw every task's output, so it started after all of them ended.
[ "$(cat "$work/ok/merge.out")" = "tasks 4 sum 14" ] ||
  fail "dependent job wrote '$(cat "$work/ok/merge.out")', expected 'tasks 4 sum 14'"
# And by the controller's clock (ISO times compare as strings), no task ended after it started.
merge_start=$(scontrol show job -o "$merge_id" | grep -o 'StartTime=[^ ]*' | cut -d= -f2)
last_end=$(scontrol show job -o "$array_id" | grep -o 'EndTime=[^ ]*' | cut -d= -f2 | sort |
  tail -n 1)
[[ ! $last_end > $merge_start ]] ||
  fail "dependent job started $merge_start, a task ended $last_end"

# 2. Task 2 fails: the wait reports it, the dependent job is cancelled without running.
write_array bad 2
if slurm_submit_and_wait --timeout 40 "$work/bad/array.sbatch" "$work/bad/merge.sbatch" \
  2>"$work/bad/wait.err"; then
  fail "slurm_submit_and_wait succeeded although array task 2 exits 3"
fi
array_id=${SLURM_JOB_IDS[0]}
merge_id=${SLURM_JOB_IDS[1]}
grep -q "completed with exit code 0" "$work/bad/wait.err" ||
  fail "the failed wait did not say why: $(cat "$work/bad/wait.err")"
grep -q "task 2 fails on purpose" "$work/bad/wait.err" ||
  fail "the failed wait did not show the failing task's output: $(cat "$work/bad/wait.err")"
task2=$(scontrol show job -o "$array_id" | grep "ArrayTaskId=2 ")
[[ $task2 == *JobState=FAILED* && $task2 == *ExitCode=3:0* ]] || fail "array task 2: $task2"
merge=$(scontrol show job -o "$merge_id")
[[ $merge == *JobState=CANCELLED* ]] || fail "dependent job of a failed array: $merge"
[ ! -e "$work/bad/merge.out" ] || fail "the dependent job ran although its dependency failed"
for i in 0 1 3; do
  [ -f "$work/bad/task_$i.txt" ] || fail "array task $i of the failing array did not run"
done

# 3. Teardown stops exactly what slurm_up started.
slurm_down
for pid in $daemons; do
  if [ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat")" != Z ]; then
    fail "daemon pid $pid still running after slurm_down: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
  fi
done
[ -z "${SLURM_CLUSTER_DIR}" ] || fail "slurm_down left SLURM_CLUSTER_DIR=$SLURM_CLUSTER_DIR"
[ "${SLURM_CONF-unset}" = "$conf_before" ] ||
  fail "slurm_down left SLURM_CONF=${SLURM_CONF-}, was '$conf_before' before slurm_up"
echo "PASS: job array of 4, afterok dependency, failure propagation on a single-node Slurm"
