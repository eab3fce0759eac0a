#!/usr/bin/env bash
# The command line itself (sim/cli/main.cpp):
#  * `lbsim --version` prints "lbsim <git description or project version>" and exits 0;
#  * a mistyped subcommand or flag is exit 2 with "did you mean" the closest valid name, even when
#    a required flag is also missing;
#  * every error is one stderr line starting with "error:" (or "FILE: error:");
#  * --help's usage line names `lbsim`, not the path of the executable;
#  * --batch has one range, 1 .. 2147483647, in every command that takes it.
source "$(dirname "$0")/common.sh" "$1"

"$LBSIM" --version >version.txt || fail "--version exited $?"
grep -Eq '^lbsim [0-9a-z][0-9a-z.+-]*$' version.txt || fail "--version printed: $(cat version.txt)"
[ "$(wc -l <version.txt)" -eq 1 ] || fail "--version printed more than one line"

# expect_error PATTERN ARGS...: exit 2, PATTERN on stderr, every stderr line an error line.
expect_error() {
  local pattern=$1; shift
  set +e
  "$LBSIM" "$@" >stdout.txt 2>stderr.txt
  local rc=$?
  set -e
  [ $rc -eq 2 ] || fail "expected exit 2, got $rc for: $* ($(cat stderr.txt))"
  grep -Fq -- "$pattern" stderr.txt || fail "stderr lacks '$pattern' for: $*: $(cat stderr.txt)"
  if grep -Ev '^([^ ]*: )?error: ' stderr.txt | grep -q .; then
    fail "a stderr line does not start with 'error:' for: $*: $(cat stderr.txt)"
  fi
  [ ! -s stdout.txt ] || fail "stdout not empty for: $*: $(cat stdout.txt)"
}

expect_error "unknown command 'runn' (did you mean 'run'?)" runn
expect_error "unknown command 'runn' (did you mean 'run'?)" runn --workload resnet20
expect_error "unknown option --workoad (did you mean '--workload'?)" run --workoad resnet20
expect_error "unknown option --fromat (did you mean '--format'?)" quantize --fromat int8 --in a.npy
expect_error "unknown option --workoad (did you mean '--workload'?)" verify --workoad=resnet20
expect_error "unknown command 'shwo' (did you mean 'show'?)" workload shwo resnet20
# Nothing close: no guess, but the commands are listed.
expect_error "unknown command 'xyzzy'; commands:" xyzzy
grep -Fq 'did you mean' stderr.txt && fail "a far-off word got a suggestion: $(cat stderr.txt)"
# CLI11's own errors get the prefix and the help hint.
expect_error "error: lbsim quantize: --format is required" quantize --in a.npy --out b.npy
expect_error "see lbsim quantize --help" quantize --in a.npy --out b.npy
expect_error "error: lbsim: A subcommand is required" --

# One --batch range everywhere.
for cmd in "run" "verify" "workload show resnet20"; do
  # shellcheck disable=SC2086
  expect_error "--batch: Value 0 not in range 1 to 2147483647" $cmd --batch 0
  # shellcheck disable=SC2086
  expect_error "--batch: Value 2147483648 not in range 1 to 2147483647" $cmd --batch 2147483648
done

# The usage line names lbsim, not the executable's path.
"$LBSIM" --help >help.txt
head -1 help.txt | grep -q '^lbsim: ' || fail "help does not start with lbsim: $(head -1 help.txt)"
grep -q '^Usage: lbsim \[OPTIONS\] SUBCOMMAND' help.txt || fail "usage line: $(grep Usage help.txt)"
"$LBSIM" run --help >help_run.txt
grep -q '^Usage: lbsim run \[OPTIONS\]' help_run.txt || fail "run usage: $(grep Usage help_run.txt)"
if grep -q "$LBSIM" help.txt help_run.txt; then fail "help shows the executable's path"; fi
echo "test_cli_polish: OK"
