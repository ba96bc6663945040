#!/usr/bin/env bash
# VerifyItem throughput of two builds, side by side in one run on one
# machine: each cell is a fresh 3-node cluster of one build, the builds
# alternate, and each build's own load generator drives it (the item
# format changed with label tokens).
#
#   BEFORE_BIN=/tmp/ab/before/veritrace AFTER_BIN=/tmp/ab/after/veritrace \
#     scripts/bench/verify-ab.sh
#
# Each BIN needs veritrace-bench beside it. Env: BENCH_SECS (10), ROUNDS
# (2), BENCH_CONCURRENCY ("16 64"), BEFORE_NODE_ARGS (""), AFTER_NODE_ARGS
# (turns the per-address verification limit off: every bench client is
# 127.0.0.1), AFTER_CODE_KEY (set: the after cells verify items under a
# 2-of-3 threshold code key, CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1).
# Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${BENCH_SECS:-10}"
rounds="${ROUNDS:-2}"
concurrencies="${BENCH_CONCURRENCY:-16 64}"
before="${BEFORE_BIN:?BEFORE_BIN: the veritrace binary measured first}"
after="${AFTER_BIN:?AFTER_BIN: the veritrace binary measured second}"
before_args="${BEFORE_NODE_ARGS:-}"
after_args="${AFTER_NODE_ARGS:---set api.verification.per_address_per_minute=0}"

source scripts/bench/cluster.sh
fields() { sed -n 's/^RESULT .*ops_per_s=\([0-9.]*\) p50_ms=\([0-9.]*\) p90_ms=[0-9.]* p99_ms=\([0-9.]*\).*/\1 \2 \3/p'; }

# cell BIN NODE_ARGS CLIENTS [CODE_KEY]: "ops/s p50 p99" of one verify run on a fresh cluster.
cell() {
  local bin=$1 args=$2 c=$3 code_key=${4:-} bench line extra=()
  bench="$(bench_binary verify-ab.sh "$bin")" || return 1
  bench_workdir /tmp/veritrace-verify-ab
  VERITRACE_CODE_KEY="$code_key" VERITRACE_NODE_ARGS="$args" start_veritrace "$bin" || return 1
  [[ -n "$code_key" ]] && extra=(--code-key-dir "$work/vt/code-key")
  line=$("$bench" --cluster "$work/vt" --op verify --duration "$secs" --warmup 2 --concurrency "$c" "${extra[@]}" | fields)
  bench_cleanup
  pids=()
  trap - EXIT
  echo "$line"
}

echo "| round | clients | before ops/s | p50 ms | p99 ms | after ops/s | p50 ms | p99 ms | after / before |"
echo "|---|---|---|---|---|---|---|---|---|"
for r in $(seq 1 "$rounds"); do
  for c in $concurrencies; do
    read -r bo bp50 bp99 <<<"$(cell "$before" "$before_args" "$c")"
    read -r ao ap50 ap99 <<<"$(cell "$after" "$after_args" "$c" "${AFTER_CODE_KEY:-}")"
    ratio=$(awk -v a="$ao" -v b="$bo" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    echo "| $r | $c | $bo | $bp50 | $bp99 | $ao | $ap50 | $ap99 | $ratio |"
  done
done
