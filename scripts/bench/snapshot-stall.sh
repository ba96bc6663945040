#!/usr/bin/env bash
# Do Raft snapshots hold up writes? For each interval in SNAP_INTERVALS
# (default "5000 100000"), starts a fresh 3-node cluster with
# `raft.snapshot_interval` set to it, commissions SNAP_ITEMS filler items
# (default 1,000,000), rests SNAP_SETTLE seconds (default 60), then runs
# single-event submission at SNAP_CONCURRENCY clients (default 64) for
# BENCH_SECS seconds (default 14) and reports throughput, p99, the worst
# latency and how many snapshots the nodes wrote meanwhile. A stall shows
# as a max latency of seconds at the small interval.
#
#   scripts/bench/snapshot-stall.sh
#   SNAP_ITEMS=200000 BENCH_SECS=8 scripts/bench/snapshot-stall.sh
#
# Needs the release binaries (`cargo build --release --workspace --bins`):
# veritrace (VERITRACE_BIN, default $CARGO_TARGET_DIR/release/veritrace)
# and veritrace-bench beside it (VERITRACE_BENCH_BIN). Writes the table to $BENCH_OUT
# (default /tmp/veritrace-snapshot-stall.md) too.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${BENCH_SECS:-14}"
intervals="${SNAP_INTERVALS:-5000 100000}"
items="${SNAP_ITEMS:-1000000}"
settle="${SNAP_SETTLE:-60}"
conc="${SNAP_CONCURRENCY:-64}"
out="${BENCH_OUT:-/tmp/veritrace-snapshot-stall.md}"
# shellcheck source=cluster.sh
source scripts/bench/cluster.sh
bin="$(release_binary snapshot-stall.sh)" || exit 1
bench="$(bench_binary snapshot-stall.sh "$bin")" || exit 1


# Snapshots written so far by all three nodes.
snapshots() {
  local total=0 n
  for k in 1 2 3; do
    n="$(curl -sf "http://127.0.0.1:1760$k/metrics" | sed -n 's/^veritrace_raft_snapshots_total \([0-9]*\).*/\1/p')"
    total=$((total + ${n:-0}))
  done
  echo "$total"
}

{
  echo "| raft.snapshot_interval | submit/s | p99 ms | max ms | snapshots during the run |"
  echo "|---|---|---|---|---|"
} >"$out"
for interval in $intervals; do
  (
    VERITRACE_NODE_ARGS="${VERITRACE_NODE_ARGS:-} --set raft.snapshot_interval=$interval"
    bench_workdir /tmp/veritrace-snapstall
    start_veritrace "$bin" || exit 1
    "$bench" --cluster "$work/vt" --preload "$items" --op submit --count 1 >"$work/preload.txt" 2>&1 || {
      echo "snapshot-stall.sh: preload failed:" >&2
      tail -5 "$work/preload.txt" >&2
      exit 1
    }
    sleep "$settle"
    before="$(snapshots)"
    "$bench" --cluster "$work/vt" --op submit --duration "$secs" --warmup 1 --concurrency "$conc" \
      >"$work/run.txt" 2>&1 || true
    line="$(grep '^RESULT' "$work/run.txt" | tail -1 || true)"
    if [[ -z "$line" ]]; then
      echo "| $interval | failed: $(tail -1 "$work/run.txt") | | | |" >>"$out"
    else
      echo "| $interval | $(field ops_per_s "$line") | $(field p99_ms "$line") | $(field max_ms "$line") | $(($(snapshots) - before)) |" >>"$out"
    fi
  )
done
cat "$out"
