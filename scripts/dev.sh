#!/usr/bin/env bash
# The main job: installs what the build needs, builds Veritrace and runs
# the local demo (`veritrace demo`) with embedded defaults. Arguments go to
# `veritrace demo` (try `--help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-build-deps.sh
exec cargo run --locked -p veritrace --bin veritrace -- demo "$@"
