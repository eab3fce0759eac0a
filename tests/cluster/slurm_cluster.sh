# shellcheck shell=bash
# A real single-node Slurm cluster for tests, on localhost, owned by the calling shell.
# Sourced, not run: `source tests/cluster/slurm_cluster.sh`. Needs root (slurmd launches jobs) and
# Debian's slurm-wlm and munge (scripts/install-deps). No systemd is needed or used.
#
#   slurm_prereqs             prints why the cluster cannot run here and returns 1, or returns 0
#   slurm_require_or_skip     in a test: exit 77 (skip) when slurm_prereqs fails, or exit 1 when
#                             LBSIM_REQUIRE_SLURM=1 (CI must run the Slurm tests)
#   slurm_up DIR              munged + slurmctld + slurmd with every file under DIR (created; a
#                             fresh state each time), SLURM_CONF exported, returns once the node
#                             is idle; traps EXIT/INT/TERM/HUP so the daemons are stopped however
#                             the shell ends
#   slurm_down [DIR]          stops exactly the daemons slurm_up started (by pid) and restores
#                             SLURM_CONF; idempotent
#   slurm_submit_and_wait [--timeout S] SCRIPT...
#                             sbatch each script, each after the first with
#                             --dependency=afterok:<previous job>, and wait for all of them
#   slurm_wait_jobs [--timeout S] JOBID...
#                             wait until every job (every task of an array) has ended; 0 when all
#                             COMPLETED with exit code 0, else 1 with the jobs, their output
#                             files and the daemons' logs printed to stderr
#
# Works under the caller's `set -euo pipefail`: failures are returned, never left to errexit.
# slurm_up and the wait functions must run in the test's own shell, not in $(...) or a pipeline:
# the daemons are that shell's background children, which is what lets slurm_down wait for them.
# After slurm_submit_and_wait, SLURM_JOB_IDS holds the submitted job ids in order.
#
# Contract of the generated cluster (read by README.md in this folder):
# - one node named $(hostname -s) with NodeAddr=127.0.0.1 and CPUs=$(nproc), in partition `debug`
#   (the default); the controller is on the same host at 127.0.0.1, so neither needs the host name
#   to resolve (CI containers do not always resolve their own name);
# - two free TCP ports on 127.0.0.1 picked at start, so clusters of different checkouts can run at
#   once; munged on a private socket (DIR/munge/munge.sock, `AuthInfo=socket=...`);
# - no accounting (sacct does not work: job states come from `scontrol show job`, which keeps
#   finished jobs for MinJobAge seconds), no cgroups (proctrack/linuxproc, task/none);
# - a job whose afterok dependency failed is cancelled (DependencyParameters=kill_invalid_depend)
#   instead of pending forever.

# The daemons live in /usr/sbin, which a non-login root PATH may lack.
case ":$PATH:" in
  *:/usr/sbin:*) ;;
  *) PATH=$PATH:/usr/sbin:/sbin ;;
esac

# Seconds slurm_up waits for the node to become idle, and the default wait for jobs.
: "${SLURM_UP_TIMEOUT:=30}"
: "${SLURM_JOB_TIMEOUT:=60}"

SLURM_CLUSTER_DIR=""
SLURM_JOB_IDS=()
_SLURM_CONF_BEFORE="unset"

_slurm_err() { echo "slurm_cluster: $*" >&2; }

# Longest DIR accepted: slurmd binds Unix sockets named <node>_<job>.<step> in DIR/spool and
# munged one in DIR/munge, and a socket path must fit in 108 bytes.
_SLURM_MAX_DIR=60

slurm_prereqs() {
  local missing=() b
  for b in munged munge slurmctld slurmd sbatch sinfo squeue scontrol scancel; do
    command -v "$b" >/dev/null 2>&1 || missing+=("$b")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "missing ${missing[*]} (install Debian's slurm-wlm and munge: scripts/install-deps)"
    return 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "needs root: slurmd launches jobs as their submitting user"
    return 1
  fi
  if [ ! -x /usr/bin/python3 ]; then
    echo "missing /usr/bin/python3 (picks free ports)"
    return 1
  fi
  return 0
}

# For a test script: returns when the cluster can run here; otherwise exits 77 (CTest's skip, see
# tests/CMakeLists.txt) or, when LBSIM_REQUIRE_SLURM=1 (CI), exits 1, saying why either way.
slurm_require_or_skip() {
  local why
  why=$(slurm_prereqs) && return 0
  if [ "${LBSIM_REQUIRE_SLURM:-0}" = 1 ]; then
    echo "FAIL: Slurm test cluster unavailable and LBSIM_REQUIRE_SLURM=1: $why" >&2
    exit 1
  fi
  echo "SKIP: Slurm test cluster unavailable: $why"
  exit 77
}

# _slurm_alive PID: the process exists and is not a zombie.
_slurm_alive() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }  # the state follows the command name, which may hold spaces and ')'
  [ "${stat%% *}" != Z ]
}

# Prints the end of each daemon's output to stderr. In the foreground mode used here the daemons
# copy their whole log there, with any error from before their log file was opened; the log
# files themselves stay in DIR/log.
slurm_dump_logs() {
  local dir=${1:-$SLURM_CLUSTER_DIR} f
  [ -n "$dir" ] || return 0
  for f in "$dir"/log/*.out; do
    [ -s "$f" ] || continue
    echo "----- $f (last 40 lines) -----" >&2
    tail -n 40 "$f" >&2
  done
}

_slurm_fail_up() {
  _slurm_err "$*"
  slurm_dump_logs "$SLURM_CLUSTER_DIR"
  slurm_down "$SLURM_CLUSTER_DIR"
  return 1
}

# _slurm_start NAME CMD...: starts a daemon in the foreground mode as a background child of this
# shell, stdio to DIR/log/NAME.out, and records "NAME PID" in DIR/daemons.
_slurm_start() {
  local name=$1
  shift
  LBSIM_SLURM_CLUSTER=$SLURM_CLUSTER_DIR "$@" </dev/null >>"$SLURM_CLUSTER_DIR/log/$name.out" 2>&1 &
  echo "$name $!" >>"$SLURM_CLUSTER_DIR/daemons"
}

# _slurm_check_daemons_alive: returns 1, with SLURM_DEAD set to the first that exited, when one of
# the daemons has (no subshell: it runs in every polling step).
SLURM_DEAD=""
_slurm_check_daemons_alive() {
  local name pid
  while read -r name pid; do
    _slurm_alive "$pid" || { SLURM_DEAD="$name (pid $pid) exited"; return 1; }
  done <"$SLURM_CLUSTER_DIR/daemons"
}

# Two free TCP ports on 127.0.0.1 (bound and released together, so they differ).
_slurm_free_ports() {
  /usr/bin/python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()'
}

_slurm_write_conf() {
  local dir=$1 host=$2 ctld_port=$3 slurmd_port=$4
  cat >"$dir/slurm.conf" <<EOF
# Generated by tests/cluster/slurm_cluster.sh: a single-node test cluster, everything under
# $dir.
ClusterName=lbsimtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
DependencyParameters=kill_invalid_depend
SchedulerParameters=sched_interval=1,batch_sched_delay=0
MinJobAge=3600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=256 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

slurm_up() {
  if [ $# -ne 1 ]; then
    _slurm_err "usage: slurm_up DIR"
    return 2
  fi
  local why
  if ! why=$(slurm_prereqs); then
    _slurm_err "$why"
    return 1
  fi
  mkdir -p "$1" || return 1
  local dir
  dir=$(cd "$1" && pwd -P) || return 1
  if [ ${#dir} -gt $_SLURM_MAX_DIR ]; then
    _slurm_err "DIR '$dir' is longer than $_SLURM_MAX_DIR characters (Unix socket paths are" \
      "limited to 108 bytes); use a shorter one, e.g. mktemp -d /tmp/slurm.XXXXXX"
    return 1
  fi
  if [ -n "$SLURM_CLUSTER_DIR" ]; then
    _slurm_err "a cluster is already up in $SLURM_CLUSTER_DIR (one per shell)"
    return 1
  fi
  # Daemons of an earlier run in this DIR that was killed before its trap ran.
  if [ -f "$dir/daemons" ]; then
    SLURM_CLUSTER_DIR=$dir
    slurm_down "$dir"
  fi
  SLURM_CLUSTER_DIR=$dir
  # Fresh state: no jobs or node state carried over from an earlier cluster in DIR.
  rm -rf "$dir/state" "$dir/spool" "$dir/run" "$dir/log" "$dir/munge" "$dir/daemons"
  mkdir -p "$dir/state" "$dir/spool" "$dir/run" "$dir/log" "$dir/munge"
  # munged refuses a key or socket in a directory that others can write.
  chmod 0755 "$dir" "$dir/munge"
  (umask 077 && dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none)
  chmod 0400 "$dir/munge/munge.key"
  : >"$dir/daemons"

  # Stop the daemons whatever ends this shell; an EXIT trap already set by the caller still runs.
  local old_exit
  old_exit=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//" -e "s/'\\\\''/'/g")
  # shellcheck disable=SC2064
  trap "slurm_down '$dir'; $old_exit" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP

  local host ports
  host=$(hostname -s 2>/dev/null || uname -n | cut -d. -f1)
  ports=$(_slurm_free_ports) || { _slurm_fail_up "could not pick free ports"; return 1; }
  # shellcheck disable=SC2086
  _slurm_write_conf "$dir" "$host" $ports
  _SLURM_CONF_BEFORE=${SLURM_CONF-unset}
  export SLURM_CONF=$dir/slurm.conf

  # --force: munged wants every directory above its socket searchable by all users, which a
  # mktemp -d directory (0700) is not; only root uses this cluster.
  _slurm_start munged munged --foreground --force --socket="$dir/munge/munge.sock" \
    --key-file="$dir/munge/munge.key" --pid-file="$dir/run/munged.pid" \
    --seed-file="$dir/munge/munged.seed"
  local deadline=$((SECONDS + SLURM_UP_TIMEOUT))
  until munge -n -S "$dir/munge/munge.sock" 2>/dev/null |
    unmunge -S "$dir/munge/munge.sock" >/dev/null 2>&1; do
    _slurm_check_daemons_alive || { _slurm_fail_up "$SLURM_DEAD"; return 1; }
    [ $SECONDS -lt $deadline ] || {
      _slurm_fail_up "munged did not answer within ${SLURM_UP_TIMEOUT}s"
      return 1
    }
    sleep 0.1
  done

  _slurm_start slurmctld slurmctld -D -f "$SLURM_CONF"
  _slurm_start slurmd slurmd -D -f "$SLURM_CONF" -N "$host"

  local state=""
  while :; do
    state=$(timeout 5 sinfo -h -N -n "$host" -o '%t' 2>/dev/null | head -n 1) || state=""
    [ "$state" = idle ] && break
    _slurm_check_daemons_alive || { _slurm_fail_up "$SLURM_DEAD"; return 1; }
    if [ $SECONDS -ge $deadline ]; then
      _slurm_fail_up "node $host not idle within ${SLURM_UP_TIMEOUT}s (state '${state:-none}';" \
        "sinfo -R: $(timeout 5 sinfo -h -R 2>&1 | tr '\n' ' '))"
      return 1
    fi
    sleep 0.2
  done
  return 0
}

# _slurm_ours PID DIR: PID is alive and carries the marker slurm_up gives the daemons of DIR (a
# recorded pid may have been reused since an earlier run was killed before its trap ran).
_slurm_ours() {
  _slurm_alive "$1" && grep -qszxF "LBSIM_SLURM_CLUSTER=$2" "/proc/$1/environ"
}

# _slurm_stop DIR PID...: SIGTERM to those of the PIDs that are DIR's daemons, up to 10 s to exit,
# then SIGKILL; reaps them (our children).
_slurm_stop() {
  local dir=$1 pid i alive
  shift
  local mine=()
  for pid in "$@"; do
    _slurm_ours "$pid" "$dir" && mine+=("$pid")
  done
  set -- "${mine[@]}"
  for pid in "$@"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for ((i = 0; i < 100; i++)); do
    alive=0
    for pid in "$@"; do
      _slurm_alive "$pid" && alive=1
    done
    [ $alive -eq 1 ] || break
    sleep 0.1
  done
  for pid in "$@"; do
    if _slurm_alive "$pid"; then
      _slurm_err "pid $pid ignored SIGTERM for 10 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  return 0
}

slurm_down() {
  local dir=${1:-$SLURM_CLUSTER_DIR}
  [ -n "$dir" ] && [ -f "$dir/daemons" ] || return 0
  local slurmctld_pid
  slurmctld_pid=$(awk '$1 == "slurmctld" {print $2}' "$dir/daemons")
  # Cancel what is still queued or running so that slurmstepd ends the jobs' processes.
  if [ -n "$slurmctld_pid" ] && _slurm_alive "$slurmctld_pid" &&
    [ -n "$(SLURM_CONF=$dir/slurm.conf timeout 5 squeue -h -o %i 2>/dev/null)" ]; then
    SLURM_CONF=$dir/slurm.conf timeout 5 scancel --full --quiet --user=root 2>/dev/null || true
    local i
    for ((i = 0; i < 50; i++)); do
      [ -z "$(SLURM_CONF=$dir/slurm.conf timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  # slurmd and slurmctld stop side by side (slurmd alone takes about 2 s); munged, which both
  # use, last.
  local name pid pids=()
  for name in slurmd slurmctld; do
    pid=$(awk -v n="$name" '$1 == n {print $2}' "$dir/daemons")
    [ -n "$pid" ] && pids+=("$pid")
  done
  _slurm_stop "$dir" "${pids[@]}"
  pid=$(awk '$1 == "munged" {print $2}' "$dir/daemons")
  [ -n "$pid" ] && _slurm_stop "$dir" "$pid"
  # Reap any daemon that had already died (a zombie until its parent, this shell, waits).
  while read -r name pid; do
    wait "$pid" 2>/dev/null || true
  done <"$dir/daemons"
  # What outlived a failed cancel (say slurmctld had died): the process groups of batch scripts,
  # which run as DIR/spool/job<id>/slurm_script (slurmstepd gives each job its own group), and a
  # slurmstepd (it clears its environment) holding a file under DIR open (DIR/log/slurmd.log).
  local p fd pgid
  for p in $(pgrep -f -- "$dir/spool/job[0-9]+/slurm_script"); do
    pgid=$(awk '{print $5}' "/proc/$p/stat" 2>/dev/null) || continue
    if [ -n "$pgid" ] && [ "$pgid" -gt 1 ] && [ "$pgid" != "$(ps -o pgid= -p $$ | tr -d ' ')" ]
    then
      _slurm_err "killing leftover job process group $pgid" \
        "($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null))"
      kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
  done
  for p in $(pgrep -x slurmstepd); do
    for fd in /proc/"$p"/fd/*; do
      if [[ $(readlink "$fd" 2>/dev/null) == "$dir"/* ]]; then
        _slurm_err "killing leftover slurmstepd (pid $p)"
        kill -KILL "$p" 2>/dev/null || true
        break
      fi
    done
  done
  rm -f "$dir/daemons"
  if [ "$dir" = "$SLURM_CLUSTER_DIR" ]; then
    SLURM_CLUSTER_DIR=""
    trap - INT TERM HUP
    # SLURM_CONF as it was before slurm_up (a real cluster's, say).
    if [ "$_SLURM_CONF_BEFORE" = unset ]; then
      unset SLURM_CONF
    else
      export SLURM_CONF=$_SLURM_CONF_BEFORE
    fi
  fi
  return 0
}

# _slurm_get LINE KEY: REPLY = the value of KEY=value in a `scontrol show job -o` line, or "".
_slurm_get() {
  local re="(^| )$2=([^ ]*)"
  REPLY=""
  if [[ $1 =~ $re ]]; then REPLY=${BASH_REMATCH[2]}; fi
}

# _slurm_jobs_lines JOBID...: SLURM_LINES = the `scontrol show job -o` lines (one per job or array
# task) of the given jobs, from one call; returns 1 with the reason in SLURM_LINES when scontrol
# fails or a job is unknown to the controller.
_slurm_jobs_lines() {
  local all line id found
  if ! all=$(timeout 10 scontrol show job -o 2>&1); then
    SLURM_LINES="scontrol show job failed: $all"
    return 1
  fi
  SLURM_LINES=""
  for id in "$@"; do
    found=0
    while IFS= read -r line; do
      _slurm_get "$line" ArrayJobId
      [ -n "$REPLY" ] || _slurm_get "$line" JobId
      if [ "$REPLY" = "$id" ]; then
        SLURM_LINES+="$line"$'\n'
        found=1
      fi
    done <<<"$all"
    if [ $found -eq 0 ]; then
      SLURM_LINES="job $id is unknown to slurmctld"
      return 1
    fi
  done
}

# Prints, for each job or array task of the given jobs, its state, exit code and reason and the
# end of its output files.
_slurm_report_jobs() {
  _slurm_jobs_lines "$@" || { echo "$SLURM_LINES" >&2; return 0; }
  local line f id task name state code reason out
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    _slurm_get "$line" JobId
    id=$REPLY
    _slurm_get "$line" ArrayTaskId
    task=$REPLY
    _slurm_get "$line" JobName
    name=$REPLY
    _slurm_get "$line" JobState
    state=$REPLY
    _slurm_get "$line" ExitCode
    code=$REPLY
    _slurm_get "$line" Reason
    reason=$REPLY
    echo "job $id${task:+ (array task $task)} $name: $state, exit code $code, reason $reason" >&2
    _slurm_get "$line" StdOut
    out=$REPLY
    _slurm_get "$line" StdErr
    [ "$REPLY" != "$out" ] || REPLY=""
    for f in "$out" "$REPLY"; do
      if [ -s "$f" ]; then
        echo "----- $f (last 20 lines) -----" >&2
        tail -n 20 "$f" >&2
      fi
    done
  done <<<"$SLURM_LINES"
}

slurm_wait_jobs() {
  local timeout=$SLURM_JOB_TIMEOUT
  if [ "${1:-}" = --timeout ]; then
    timeout=$2
    shift 2
  fi
  if [ $# -eq 0 ]; then
    _slurm_err "usage: slurm_wait_jobs [--timeout S] JOBID..."
    return 2
  fi
  local deadline=$((SECONDS + timeout)) line done_all bad
  while :; do
    if ! _slurm_jobs_lines "$@"; then
      _slurm_err "$SLURM_LINES"
      slurm_dump_logs
      return 1
    fi
    done_all=1
    bad=0
    while IFS= read -r line; do
      [ -n "$line" ] || continue
      _slurm_get "$line" JobState
      case $REPLY in
        COMPLETED)
          _slurm_get "$line" ExitCode
          [ "$REPLY" = 0:0 ] || bad=1
          ;;
        PENDING | RUNNING | CONFIGURING | COMPLETING | SUSPENDED | REQUEUED | REQUEUE_HOLD | \
          REQUEUE_FED | RESIZING | SIGNALING | STAGE_OUT | RESV_DEL_HOLD | SPECIAL_EXIT)
          done_all=0
          ;;
        *) bad=1 ;;
      esac
    done <<<"$SLURM_LINES"
    [ $done_all -eq 1 ] && break
    if ! _slurm_check_daemons_alive; then
      _slurm_err "$SLURM_DEAD while waiting for jobs $*"
      _slurm_report_jobs "$@"
      slurm_dump_logs
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      _slurm_err "jobs $* not finished within ${timeout}s"
      _slurm_report_jobs "$@"
      slurm_dump_logs
      return 1
    fi
    sleep 0.2
  done
  if [ $bad -eq 1 ]; then
    _slurm_err "not every task of jobs $* completed with exit code 0:"
    _slurm_report_jobs "$@"
    slurm_dump_logs
    return 1
  fi
  return 0
}

slurm_submit_and_wait() {
  local timeout_args=()
  if [ "${1:-}" = --timeout ]; then
    timeout_args=(--timeout "$2")
    shift 2
  fi
  if [ $# -eq 0 ]; then
    _slurm_err "usage: slurm_submit_and_wait [--timeout S] SCRIPT..."
    return 2
  fi
  SLURM_JOB_IDS=()
  local script out id dep=()
  for script in "$@"; do
    if ! out=$(timeout 10 sbatch --parsable "${dep[@]}" "$script" 2>&1); then
      _slurm_err "sbatch ${dep[*]} $script failed: $out"
      slurm_dump_logs
      return 1
    fi
    id=${out%%;*}
    if ! [[ $id =~ ^[0-9]+$ ]]; then
      _slurm_err "sbatch $script printed '$out', not a job id"
      return 1
    fi
    SLURM_JOB_IDS+=("$id")
    dep=(--dependency="afterok:$id")
  done
  slurm_wait_jobs "${timeout_args[@]}" "${SLURM_JOB_IDS[@]}"
}
