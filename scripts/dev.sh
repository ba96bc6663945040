#!/usr/bin/env bash
# The main job: installs what the build needs, builds Veritrace, starts a
# local 3-node cluster (Raft over libp2p, RocksDB, gRPC on 127.0.0.1:7401-7403)
# with embedded defaults in .veritrace/cluster, and runs the demo against it:
# a product's journey submitted through a follower, refusals, offline proof
# checks, and every node's root. The cluster keeps running afterwards:
#   scripts/local-cluster.sh status | stop
# `scripts/dev.sh --fresh` starts over with a new cluster;
# `scripts/dev.sh --single` runs the single-node demo instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-build-deps.sh
dir=.veritrace/cluster
case "${1:-}" in
  --single) shift; bash scripts/local-cluster.sh build; exec "${CARGO_TARGET_DIR:-target}/debug/veritrace" demo "$@" ;;
  --fresh) bash scripts/local-cluster.sh stop "$dir" || true; rm -rf "$dir" ;;
esac
bash scripts/local-cluster.sh start "$dir" 3
exec "${CARGO_TARGET_DIR:-target}/debug/veritrace" demo --cluster "$dir"
