#!/usr/bin/env bash
# Does speed hold as the store grows? Starts a fresh 3-node Veritrace
# cluster on loopback, then for each size in FLAT_SIZES commissions filler
# items until the ledger holds that many (`veritrace-bench --preload`,
# 5,000 items per envelope) and measures, at FLAT_CONCURRENCY clients for
# BENCH_SECS seconds each: submit (1 event per request), verify and
# history. Prints one table (and writes it to $BENCH_OUT, default
# /tmp/veritrace-flatness.md) with each cell's ratio to the first size.
#
#   scripts/bench/flatness.sh                                   # 1e5, 1e6, 1e7 items
#   FLAT_SIZES="100000 1000000" BENCH_SECS=5 scripts/bench/flatness.sh
#
# Node flags go in VERITRACE_NODE_ARGS (scripts/bench/cluster.sh), e.g.
#   VERITRACE_NODE_ARGS="--set raft.snapshot_interval=100000" scripts/bench/flatness.sh
#
# After each load it waits FLAT_SETTLE seconds (default 60) so the
# compactions the bulk load queued do not land in the measurement (set 0
# to measure them too).
#
# Needs the release binaries (`cargo build --release --workspace --bins`):
# veritrace (VERITRACE_BIN, default $CARGO_TARGET_DIR/release/veritrace)
# and veritrace-bench beside it (VERITRACE_BENCH_BIN). 1e7 items take several GB of disk
# per node and some minutes to load on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${BENCH_SECS:-10}"
sizes="${FLAT_SIZES:-100000 1000000 10000000}"
conc="${FLAT_CONCURRENCY:-64}"
settle="${FLAT_SETTLE:-60}"
out="${BENCH_OUT:-/tmp/veritrace-flatness.md}"
# shellcheck source=cluster.sh
source scripts/bench/cluster.sh
bin="$(release_binary flatness.sh)" || exit 1
bench="$(bench_binary flatness.sh "$bin")" || exit 1

bench_workdir /tmp/veritrace-flatness
start_veritrace "$bin" || exit 1

# run ARGS...: one bench run; its whole output is kept in $work/last-run.txt.
run() {
  "$bench" --cluster "$work/vt" --duration "$secs" --warmup 1 --concurrency "$conc" "$@" >"$work/last-run.txt" 2>&1 || true
  grep '^RESULT' "$work/last-run.txt" | tail -1 || true
}

loaded=0
rows=()
declare -A first
for size in $sizes; do
  if ((size > loaded)); then
    "$bench" --cluster "$work/vt" --preload "$((size - loaded))" --op submit --count 1 --concurrency 1 \
      >"$work/preload.txt" 2>&1 || true
    line="$(grep 'op=preload' "$work/preload.txt" || true)"
    if [[ -z "$line" ]]; then
      echo "flatness.sh: preload to $size failed:" >&2
      tail -5 "$work/preload.txt" >&2
      for k in 1 2 3; do echo "-- node$k log, last lines:" >&2; tail -5 "$work/vt/node$k.log" >&2; done
      exit 1
    fi
    echo "loaded $size items ($(field items_per_s "$line") items/s)" >&2
    loaded=$size
    sleep "$settle"
  fi
  du="$(du -sh "$work/vt/node1" | cut -f1)"
  row="| $size | $du"
  for op in submit verify history; do
    r="$(run --op "$op")"
    if [[ -z "$r" ]]; then
      # A failed run is a result too: its error goes in the cell.
      err="$(grep -m1 -i 'error' "$work/last-run.txt" | cut -c1-120 || true)"
      echo "$size items: $op failed: $(tail -3 "$work/last-run.txt")" >&2
      row+=" | failed: ${err:-no RESULT line}"
      continue
    fi
    ops="$(field ops_per_s "$r")"; p50="$(field p50_ms "$r")"; p99="$(field p99_ms "$r")"
    [[ -n "${first[$op]:-}" ]] || first[$op]=$ops
    ratio="$(awk -v a="$ops" -v b="${first[$op]}" 'BEGIN { printf "%.2f", a / b }')"
    row+=" | $(printf '%.0f' "$ops")/s ($ratio), p50 $p50 ms, p99 $p99 ms"
    echo "$size items: $r" >&2
  done
  rows+=("$row |")
done

{
  echo "Flatness: 3 nodes on loopback, $conc clients, ${secs} s per cell, ${settle} s of rest after each load; ratio to the first size"
  echo "(\`FLAT_SIZES=\"$sizes\" BENCH_SECS=$secs scripts/bench/flatness.sh\`, $(nproc) vCPU)"
  echo
  echo "| items stored | node1 on disk | submit (1 event/request) | verify | history (10 steps) |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$out"
