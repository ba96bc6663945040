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
# Cargo's progress shows (the first build compiles RocksDB's C++, ~17 min
# on 2 cores); only the list of test executables at the end is left out.
if ! ls "${CARGO_TARGET_DIR:-target}"/debug/build/librocksdb-sys-*/out/librocksdb.a >/dev/null 2>&1; then
  echo "dev.sh: first build: compiling RocksDB from C++ and the workspace (~17 min on 2 cores; later builds take seconds)" >&2
fi
cargo test --locked --workspace --no-run 2> >(grep -v '^ *Executable ' >&2)
bin="${CARGO_TARGET_DIR:-target}/debug/veritrace"
if [[ "${1:-}" == "--single" ]]; then
  shift
  exec "$bin" demo "$@"
fi
exec "$bin" dev "$@"
