#!/usr/bin/env bash
# The main job: installs what the build needs, builds Veritrace, and runs
# `veritrace dev`: a local 4-party network (brand, inspection bureau,
# customs, e-commerce platform) as four node processes on loopback (gRPC
# 127.0.0.1:7401-7404, peers 7501-7504, ops HTTP 7601-7604, the consumer
# page and Digital Link resolver on http://127.0.0.1:7701-7704) with embedded
# defaults in .veritrace/dev, the demo journey against it, a consumer
# verification and the endpoints. It runs until Ctrl-C, which stops every
# node cleanly. Arguments go to `veritrace dev`:
#   scripts/dev.sh --fresh           # start over with a new network
#   scripts/dev.sh --single          # the single-node walk-through instead (`veritrace demo`)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-build-deps.sh
# Built the way scripts/test.sh builds it, so RocksDB compiles once for both.
cargo test --locked --workspace --no-run -q >/dev/null 2>&1 || cargo test --locked --workspace --no-run
bin="${CARGO_TARGET_DIR:-target}/debug/veritrace"
if [[ "${1:-}" == "--single" ]]; then
  shift
  exec "$bin" demo "$@"
fi
exec "$bin" dev "$@"
