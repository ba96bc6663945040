#!/usr/bin/env bash
# The test command: installs what the build needs, then runs every test of
# the workspace (unit, property, storage conformance, end-to-end).
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -p veritrace-core`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-build-deps.sh
if [ $# -eq 0 ]; then set -- --workspace; fi
exec cargo test --locked "$@"
