#!/usr/bin/env bash
# The test command: installs what the build needs, then runs every test of
# the workspace (unit, property, storage conformance, RocksDB, real binary)
# and prints one closing line with the totals.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -p veritrace-core`);
# without any, the fuzz targets' smoke run follows (scripts/fuzz.sh --smoke),
# then the EPCIS REST binding's conformance run against GS1's OpenAPI
# (scripts/epcis-conformance.sh, schemathesis from PyPI), the deployment
# checks (scripts/check-deploy.sh) and the compose network's end-to-end
# and container-fault runs (scripts/compose-test.sh,
# scripts/container-faults.sh; Docker).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-build-deps.sh
full=0
if [ $# -eq 0 ]; then set -- --workspace; full=1; fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --locked "$@" 2>&1 | tee "$log" || status=$?
# Sum cargo's per-binary "test result:" lines into one closing line.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
# The full run also smoke-tests every fuzz target (15 s each, from the
# committed corpus; scripts/fuzz.sh runs the long ones).
if [ "$full" = 1 ]; then
  bash scripts/fuzz.sh --smoke || status=1
  # The binary the tests just built (no second build).
  bin="${CARGO_TARGET_DIR:-target}/debug/veritrace"
  VERITRACE_BIN="$bin" bash scripts/epcis-conformance.sh || status=1
  # Deployment: the unit, the charts, the alert rules (no cluster needed),
  # then the compose network and its container faults, on an image packed
  # from that same binary (scripts/build-image.sh builds the release one).
  VERITRACE_BIN="$bin" bash scripts/check-deploy.sh || status=1
  if bash scripts/build-image.sh --binary "$bin" --tag veritrace:ci; then
    bash scripts/compose-test.sh --image veritrace:ci || status=1
    bash scripts/container-faults.sh --image veritrace:ci || status=1
  else
    status=1
  fi
fi
exit "$status"
