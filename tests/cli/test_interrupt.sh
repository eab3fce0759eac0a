#!/usr/bin/env bash
# Interrupted commands (models/core/cleanup.h): SIGINT (Ctrl-C) or SIGTERM in the middle of
#  * `lbsim run` (cycle mode, still simulating; its gnuplot already started) ends the process by
#    that signal, leaves the earlier run in --out byte for byte as it was, and leaves no temporary
#    behind: no DIR.tmp-lbsim / DIR.old-lbsim beside it, nothing in TMPDIR (gnuplot's directory),
#    no gnuplot process;
#  * `lbsim sweep --jobs 2`, signalled alone (not its process group), takes its worker processes
#    with it (its results.jsonl stays, for --resume).
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$(dirname "$0")/common.sh" "$1"

export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR"
"$LBSIM" run --out out -q >/dev/null
cp -r out before
cat >sweep.yaml <<'EOF'
schema_version: 1
workloads:
  - {workload: resnet20}
axes:
  pe_array.rows: [8, 16, 32, 64]
  pe_array.fidelity: [cycle]
EOF

$PY - "$LBSIM" <<'PY' || fail "interrupt checks"
import os, signal, subprocess, sys, time
lbsim = sys.argv[1]
tmp = os.environ["TMPDIR"]

def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except FileNotFoundError:
        return []

started = []
def start(args):
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    started.append(p)
    return p

def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False

try:
    for sig in (signal.SIGINT, signal.SIGTERM):
        p = start([lbsim, "run", "--mode", "cycle", "--out", "out", "-q"])
        deadline = time.time() + 30
        while not os.listdir(tmp) and time.time() < deadline:  # gnuplot's directory: it has started
            time.sleep(0.05)
        assert os.listdir(tmp), "lbsim run did not start its gnuplot"
        time.sleep(0.3)
        kids = children(p.pid)
        assert p.poll() is None, "the cycle-mode run ended before it was interrupted"
        p.send_signal(sig)
        rc = p.wait(30)
        assert rc == -sig, (sig, rc, p.stderr.read())
        left = sorted(n for n in os.listdir(".") if "lbsim" in n)
        assert not left, ("temporaries beside the output", left)
        assert not os.listdir(tmp), ("temporaries in TMPDIR", os.listdir(tmp))
        assert kids and not any(alive(k) for k in kids), ("gnuplot outlived lbsim", kids)

    p = start([lbsim, "sweep", "sweep.yaml", "--out", "sw", "--jobs", "2", "-q"])
    deadline = time.time() + 30
    while len(children(p.pid)) < 2 and time.time() < deadline and p.poll() is None:
        time.sleep(0.02)
    kids = children(p.pid)
    assert p.poll() is None and len(kids) >= 2, ("sweep workers not seen", kids)
    p.send_signal(signal.SIGTERM)
    rc = p.wait(30)
    assert rc == -signal.SIGTERM, rc
    time.sleep(0.2)
    assert not any(alive(k) for k in kids), ("sweep workers outlived lbsim", kids)
    assert not os.listdir(tmp), os.listdir(tmp)
finally:
    for q in started:  # a failed check must not leave a long run behind
        if q.poll() is None:
            q.kill()
PY
diff -r before out >/dev/null || fail "the interrupted run changed the earlier run's files"
echo "interrupt: ok"
