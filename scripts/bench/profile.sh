#!/usr/bin/env bash
# Where the CPU goes: starts a fresh 3-node Veritrace cluster on loopback,
# drives it with `veritrace-bench`, and samples every node and the client
# with `perf record` (cpu-clock: this VM has no hardware counters) while the
# load runs. Writes, under $PROFILE_OUT (default /tmp/veritrace-profile):
#   perf.data             the samples (`perf report -i ...` to explore)
#   by-process.txt        share of samples per process (nodes, client)
#   top-symbols.txt       hottest functions, self time, all processes
#   top-callers.txt       the same with call chains folded by caller
#   bench.txt             the bench's own output
#
#   scripts/bench/profile.sh                                  # submit, 64 clients, 1 event/request
#   PROFILE_ARGS="--op submit --batch 100 --concurrency 16" scripts/bench/profile.sh
#   PROFILE_ARGS="--op verify --concurrency 64" scripts/bench/profile.sh
#
# Needs the release binaries (VERITRACE_BIN, default $CARGO_TARGET_DIR/release/veritrace,
# and veritrace-bench beside it or VERITRACE_BENCH_BIN;
# `cargo build --locked --release --workspace --bins` makes both) and perf
# (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${PROFILE_SECS:-10}"
args="${PROFILE_ARGS:---op submit --concurrency 64}"
out="${PROFILE_OUT:-/tmp/veritrace-profile}"
# shellcheck source=cluster.sh
source scripts/bench/cluster.sh
bin="$(release_binary profile.sh)" || exit 1
bench="$(bench_binary profile.sh "$bin")" || exit 1
if ! command -v perf >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "profile.sh: install perf (apt-get install linux-perf)" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null
fi
mkdir -p "$out"

bench_workdir /tmp/veritrace-profile
start_veritrace "$bin" || exit 1

# shellcheck disable=SC2086 # PROFILE_ARGS is a list of flags
"$bench" --cluster "$work/vt" --duration "$((secs + 3))" --warmup 2 $args >"$out/bench.txt" 2>&1 &
bench_pid=$!
# Sample only under load: wait until the tree grows (pre-signing and the
# preparation of items happen before any load), then past the warm-up.
tree() { curl -sf http://127.0.0.1:17601/metrics | sed -n 's/^veritrace_ledger_tree_size \([0-9]*\).*/\1/p'; }
start="$(tree)"
for _ in $(seq 1 600); do
  [[ "$(tree)" != "$start" ]] && break
  kill -0 "$bench_pid" 2>/dev/null || { cat "$out/bench.txt" >&2; exit 1; }
  sleep 0.1
done
sleep 2
perf record -e cpu-clock -F 499 -g -o "$out/perf.data" -p "$(IFS=,; echo "${pids[*]},$bench_pid")" \
  -- sleep "$secs" 2>"$out/perf-record.log" || true
wait "$bench_pid" || true

perf report -i "$out/perf.data" --no-children --sort comm,pid --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' \
  | head -40 >"$out/by-process.txt" || true
perf report -i "$out/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -v '^#' \
  | grep -v '^$' | head -80 >"$out/top-symbols.txt" || true
perf report -i "$out/perf.data" --children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' \
  | grep -v '^$' | head -120 >"$out/top-callers.txt" || true
# (|| true: head closing the pipe early is not a failure)
echo "== processes"; cat "$out/by-process.txt"
echo "== hottest functions (self)"; head -40 "$out/top-symbols.txt"
echo "== bench"; grep -E '^RESULT|ops/s' "$out/bench.txt" || tail -5 "$out/bench.txt"
echo "(profile of: bench $args; ${secs} s; files in $out)"
