#!/usr/bin/env bash
# Checks the include layering of models/ (docs/design.md §2): models/ never includes SystemC or sim/,
# and models/core (errors, params, registry, shapes, .npy I/O) includes no other models/ folder.
# Usage: check_layering.sh SOURCE_DIR. Prints every offending line and fails when there is one.
set -euo pipefail
cd "$1"
bad=0
report() {
  if [ -n "$2" ]; then
    echo "$1:"
    echo "$2"
    bad=1
  fi
}
report "models/core includes another models/ folder" \
  "$(grep -rn '#include "models/' models/core | grep -v '#include "models/core/' || true)"
report "models/ includes SystemC or sim/" \
  "$(grep -rnE '#include ["<](systemc|sim/)' models || true)"
if [ "$bad" -ne 0 ]; then exit 1; fi
echo "layering: models/core self-contained, models/ free of SystemC"
