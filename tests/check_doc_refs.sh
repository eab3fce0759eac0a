#!/usr/bin/env bash
# The repository is self-contained (docs/design.md §7): no tracked file cites notes that a user who
# clones lbsim does not have. Outside docs/, citations of the team's design notes, research notes
# and energy notes (by their file names) are errors, as are paths into a shared folder or the
# build machine's work tree anywhere; design, formats and energy sources are cited from docs/.
# Usage: check_doc_refs.sh SOURCE_DIR. Prints every offending line and fails when there is one.
set -euo pipefail
cd "$1"
self=tests/check_doc_refs.sh
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files | grep -vxF "$self")
else
  mapfile -t files < <(find . -type f -not -path './.git/*' -not -path './build*' -not -path './out/*' |
    sed 's|^\./||' | grep -vxF "$self")
fi
outside=()
for f in "${files[@]}"; do
  case "$f" in docs/*) ;; *) outside+=("$f") ;; esac
done
bad=0
# Note names: DESIGN.md, seeds.md, seed_abstracts.md, aesthetics.md and a bare energy.md (the
# repository's own reports/reference/*_energy.md are fine: preceded by a word character).
notes='DESIGN\.md|(^|[^A-Za-z0-9_])(seeds|seed_abstracts|aesthetics|energy)\.md'
# (Written as bracket expressions so that this file does not itself hold such a path.)
paths='[.][.]/shared|/wor[k]/'
hits=$(grep -nIE "$notes" -- "${outside[@]}" || true)
if [ -n "$hits" ]; then
  echo "files outside docs/ cite notes that are not in the repository (cite docs/ instead):"
  echo "$hits"
  bad=1
fi
hits=$(grep -nIE "$paths" -- "${files[@]}" || true)
if [ -n "$hits" ]; then
  echo "files cite paths outside the repository:"
  echo "$hits"
  bad=1
fi
if [ "$bad" -ne 0 ]; then exit 1; fi
echo "doc references: ${#files[@]} files cite only what the repository holds"
