#!/usr/bin/env bash
# Side by side, on loopback: a fresh 3-node Veritrace cluster and a fresh
# 3-member etcd cluster (Debian's etcd-server, installed here if missing,
# fsync left on), driven by the same client (`veritrace-bench`, tonic) with
# the same shape: 256-byte signed events against 256-byte values; client
# concurrency 1, 16, 64, 256; one op per request, then batches of 100 (an
# etcd Txn of 100 puts). Prints one markdown table with both systems and
# the ratio, and keeps it in $BENCH_OUT (default /tmp/veritrace-bench.md).
#
#   scripts/bench/compare.sh                      # ~10 s per cell
#   BENCH_SECS=5 BENCH_CONCURRENCY="1 64" scripts/bench/compare.sh
#   VERITRACE_BIN=target/debug/veritrace scripts/bench/compare.sh   # another build
#
# Builds the release binary first (VERITRACE_BIN skips that).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${BENCH_SECS:-10}"
concurrencies="${BENCH_CONCURRENCY:-1 16 64 256}"
out="${BENCH_OUT:-/tmp/veritrace-bench.md}"

bash scripts/install-build-deps.sh
if ! command -v etcd >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "compare.sh: install etcd-server (apt-get install etcd-server)" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
fi
bin="${VERITRACE_BIN:-}"
if [[ -z "$bin" ]]; then
  # The release build (RocksDB's C++ at -O3: ~25 min cold on 2 cores, then
  # incremental). The dev profile would measure unoptimised code.
  cargo build --locked --release --workspace --bins -q
  bin="${CARGO_TARGET_DIR:-target}/release/veritrace"
fi

# shellcheck source=cluster.sh
source scripts/bench/cluster.sh
bench="$(bench_binary compare.sh "$bin")" || exit 1
bench_workdir /tmp/veritrace-bench
# Veritrace: 3 nodes, gRPC 17401-17403, ops HTTP 17601-17603.
start_veritrace "$bin" || exit 1
# etcd: 3 members, clients 12379/22379/32379, peers 12380/22380/32380.
cluster="e1=http://127.0.0.1:12380,e2=http://127.0.0.1:22380,e3=http://127.0.0.1:32380"
for k in 1 2 3; do
  etcd --name "e$k" --data-dir "$work/etcd$k" \
    --listen-client-urls "http://127.0.0.1:${k}2379" --advertise-client-urls "http://127.0.0.1:${k}2379" \
    --listen-peer-urls "http://127.0.0.1:${k}2380" --initial-advertise-peer-urls "http://127.0.0.1:${k}2380" \
    --initial-cluster "$cluster" --initial-cluster-token bench --initial-cluster-state new \
    --log-level error >"$work/etcd$k.log" 2>&1 &
  pids+=($!)
done
etcd_eps="http://127.0.0.1:12379,http://127.0.0.1:22379,http://127.0.0.1:32379"

etcd_ready() {
  "$bench" --target etcd --etcd-endpoints "$etcd_eps" --count 1 --concurrency 1 >/dev/null 2>&1
}
for _ in $(seq 1 300); do etcd_ready && break; sleep 0.2; done
etcd_ready || { echo "compare.sh: etcd cluster not ready; logs in $work" >&2; exit 1; }

# RESULT line -> "ops_per_s p50_ms p99_ms"
fields() { sed -n 's/^RESULT .*ops_per_s=\([0-9.]*\) p50_ms=\([0-9.]*\) p90_ms=[0-9.]* p99_ms=\([0-9.]*\).*/\1 \2 \3/p'; }

{
  echo "| shape | clients | Veritrace ops/s | p50 ms | p99 ms | etcd ops/s | p50 ms | p99 ms | Veritrace / etcd |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >"$out"
for batch in 1 100; do
  presign=$(( batch == 1 ? 150000 : 400000 ))
  # etcd's values cost nothing to prepare, and its batched runs outpace
  # 400,000 in 11 s.
  etcd_presign=$(( batch == 1 ? 300000 : 1000000 ))
  shape=$([ "$batch" -eq 1 ] && echo "1 event / 1 put per request" || echo "100 events / Txn of 100 puts")
  for c in $concurrencies; do
    vt=$("$bench" --cluster "$work/vt" --op submit --duration "$secs" --warmup 1 --concurrency "$c" \
          --batch "$batch" --payload 256 --presign "$presign" | fields)
    et=$("$bench" --target etcd --etcd-endpoints "$etcd_eps" --duration "$secs" --warmup 1 --concurrency "$c" \
          --batch "$batch" --payload 256 --presign "$etcd_presign" | fields)
    read -r vo vp50 vp99 <<<"$vt"
    read -r eo ep50 ep99 <<<"$et"
    ratio=$(awk -v a="$vo" -v b="$eo" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    echo "| $shape | $c | $vo | $vp50 | $vp99 | $eo | $ep50 | $ep99 | $ratio |" | tee -a "$out"
  done
done
echo
cat "$out"
echo "(ops/s are events or puts per second; ${secs} s per cell after 1 s warm-up; binary $bin)"
