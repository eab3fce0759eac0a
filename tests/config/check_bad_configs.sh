#!/usr/bin/env bash
# Golden test of configuration errors (docs/design.md §6): for every tests/config/bad/NAME.yaml,
# `lbsim check-config NAME.yaml`, run inside tests/config/bad so that messages carry the bare file
# name, must exit with code 2, print nothing on stdout, write no file, and print on stderr exactly
# the text of NAME.expected.
# Usage: check_bad_configs.sh LBSIM [--update]   (--update rewrites the .expected files instead)
set -euo pipefail
if [[ $# -lt 1 ]]; then
  echo "usage: $0 LBSIM [--update]" >&2
  exit 2
fi
lbsim=$(realpath "$1")
update=${2:-}
cd "$(dirname "$0")/bad"
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

failures=0
checked=0
fail() {
  echo "FAIL $1: $2"
  failures=$((failures + 1))
}

listing_before=$(ls -A)
for yaml in *.yaml; do
  name=${yaml%.yaml}
  rc=0
  "$lbsim" check-config "$yaml" >"$out" 2>"$err" || rc=$?
  checked=$((checked + 1))
  if [[ $update == --update ]]; then
    cp "$err" "$name.expected"
    continue
  fi
  [[ $rc -eq 2 ]] || fail "$yaml" "exit code $rc, expected 2"
  [[ ! -s $out ]] || fail "$yaml" "wrote to stdout: $(head -c 200 "$out")"
  if [[ ! -f $name.expected ]]; then
    fail "$yaml" "no $name.expected"
  elif ! diff -u "$name.expected" "$err"; then
    fail "$yaml" "stderr differs from $name.expected (diff above)"
  fi
done
for expected in *.expected; do
  [[ -f ${expected%.expected}.yaml ]] || fail "$expected" "no matching .yaml"
done
if [[ $update != --update && $(ls -A) != "$listing_before" ]]; then
  fail "tests/config/bad" "check-config created files: $(diff <(echo "$listing_before") <(ls -A))"
fi

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s) in $checked bad configs"
  exit 1
fi
echo "bad configs: $checked checked, all rejected with the expected errors"
