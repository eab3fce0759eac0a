# Shared set-up of the CLI tests (sourced, not run): LBSIM, PY, DATA, a scratch directory that is
# removed on exit, fail() and expect_user_error(). Usage in a test: source "$(dirname "$0")/common.sh" "$1"
set -euo pipefail
LBSIM=$(realpath "$1")
PY=/usr/bin/python3  # Debian's interpreter: it sees python3-numpy/yaml/torch
DATA=$(realpath "$(dirname "${BASH_SOURCE[0]}")/../data")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_user_error PATTERN OUTFILE ARGS...: lbsim ARGS must exit 2 with PATTERN on stderr, must
# not create OUTFILE and must leave no temporary file behind.
expect_user_error() {
  local pattern=$1 out=$2; shift 2
  set +e
  "$LBSIM" "$@" >stdout.txt 2>stderr.txt
  local rc=$?
  set -e
  [ $rc -eq 2 ] || fail "expected exit 2, got $rc for: $* ($(cat stderr.txt))"
  grep -q -- "$pattern" stderr.txt || fail "stderr lacks '$pattern' for: $*: $(cat stderr.txt)"
  [ ! -e "$out" ] || fail "$out was written although the command failed: $*"
  if ls | grep -q 'tmp-lbsim'; then fail "a temporary file was left behind: $*"; fi
}
