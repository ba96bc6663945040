#!/usr/bin/env bash
# Runs a local Veritrace cluster on loopback from a directory made by
# `veritrace init` (created on first use), one background process per node.
#
#   scripts/local-cluster.sh start [DIR] [NODES]   # init if needed, start, wait for a leader
#   scripts/local-cluster.sh stop  [DIR]           # SIGTERM every node, wait for clean exits
#   scripts/local-cluster.sh status [DIR]
#   scripts/local-cluster.sh build                 # only build the binary
#
# DIR defaults to .veritrace/cluster, NODES to 3. Logs: DIR/nodeK.log.
# VERITRACE_BIN names the binary (default: built with cargo).
set -euo pipefail
cd "$(dirname "$0")/.."
cmd="${1:-start}"
dir="${2:-.veritrace/cluster}"
nodes="${3:-3}"

bin="${VERITRACE_BIN:-}"
if [[ -z "$bin" ]]; then
  # Built the way scripts/test.sh builds it (`cargo test` unifies the
  # workspace's features, dev-dependencies included): a plain
  # `cargo build -p veritrace` resolves other features and would compile
  # RocksDB's C++ a second time.
  cargo test --locked --workspace --no-run -q >/dev/null 2>&1 || cargo test --locked --workspace --no-run
  bin="${CARGO_TARGET_DIR:-target}/debug/veritrace"
fi

pids() { ls "$dir"/node*.pid 2>/dev/null || true; }

case "$cmd" in
  start)
    if [[ ! -f "$dir/cluster.json" ]]; then
      "$bin" init --nodes "$nodes" --out "$dir"
    fi
    for cfg in "$dir"/node*/veritrace.toml; do
      name="$(basename "$(dirname "$cfg")")"
      if [[ -f "$dir/$name.pid" ]] && kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null; then
        continue
      fi
      "$bin" node start --config "$cfg" >>"$dir/$name.log" 2>&1 &
      echo $! >"$dir/$name.pid"
      echo "started $name (pid $!, log $dir/$name.log)"
    done
    api="$(sed -n 's/.*"api": *"\([^"]*\)".*/\1/p' "$dir/cluster.json" | head -1)"
    for _ in $(seq 1 100); do
      if "$bin" status --endpoint "$api" -o json 2>/dev/null | grep -q '"leader_id": *[1-9]'; then
        "$bin" status --endpoint "$api"
        exit 0
      fi
      sleep 0.2
    done
    echo "no leader after 20 s; see $dir/node*.log" >&2
    exit 1
    ;;
  stop)
    for pidfile in $(pids); do
      pid="$(cat "$pidfile")"
      if kill -TERM "$pid" 2>/dev/null; then
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      fi
      rm -f "$pidfile"
    done
    echo "stopped"
    ;;
  build)
    echo "built $bin"
    ;;
  status)
    api="$(sed -n 's/.*"api": *"\([^"]*\)".*/\1/p' "$dir/cluster.json" | head -1)"
    exec "$bin" status --endpoint "$api"
    ;;
  *)
    echo "usage: $0 start|stop|status|build [DIR] [NODES]" >&2
    exit 2
    ;;
esac
