# Sourced by the bench scripts: a fresh 3-node Veritrace cluster on
# loopback (gRPC 17401-17403, ops HTTP 17601-17603), stopped and removed
# when the sourcing script exits.
#
#   source scripts/bench/cluster.sh
#   bench_workdir /tmp/veritrace-bench     # sets $work, traps cleanup
#   start_veritrace "$bin"                 # $work/vt holds the cluster
#   pids+=(...)                            # more processes to stop at exit

pids=()
bench_cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

# bench_workdir PREFIX: a fresh work directory, removed at exit.
bench_workdir() {
  work="$(mktemp -d "$1.XXXXXX")"
  trap bench_cleanup EXIT
}

veritrace_ready() {
  for k in 1 2 3; do curl -sf "http://127.0.0.1:1760$k/readyz" >/dev/null || return 1; done
}

# start_veritrace BIN: init and start 3 nodes under $work/vt (the per-IP
# rate limit off: every bench client is 127.0.0.1, plus any flags in
# $VERITRACE_NODE_ARGS, e.g. "--set raft.snapshot_interval=100000");
# returns once each serves (/readyz), or fails after 60 s.
start_veritrace() {
  local bin=$1
  "$bin" init --nodes 3 --out "$work/vt" --base-port 17400 >/dev/null
  if [[ -n "${VERITRACE_CODE_KEY:-}" ]]; then
    # A brand's 2-of-3 threshold code key (veritrace-bench --code-key-dir "$work/vt/code-key").
    "$bin" codes deal-key --threshold 2 --node 1,2,3 --brand party-1 --network veritrace-local \
      --out "$work/vt/code-key" >/dev/null
    for k in 1 2 3; do
      sed -i "/^\[node\]/a code_key_share_files = [\"$work/vt/code-key/share-node-$k.codeshare\"]" \
        "$work/vt/node$k/veritrace.toml"
    done
  fi
  for k in 1 2 3; do
    # shellcheck disable=SC2086 # VERITRACE_NODE_ARGS is a list of flags
    "$bin" node start --config "$work/vt/node$k/veritrace.toml" --set api.requests_per_second=0 \
      ${VERITRACE_NODE_ARGS:-} >"$work/vt/node$k.log" 2>&1 &
    pids+=($!)
  done
  for _ in $(seq 1 300); do veritrace_ready && return 0; sleep 0.2; done
  echo "$(basename "$0"): Veritrace cluster not ready; logs in $work" >&2
  return 1
}

# field NAME LINE: the value of NAME=... in a `veritrace-bench` RESULT line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# release_binary SCRIPT: the veritrace binary to measure ($VERITRACE_BIN,
# else the release build under $CARGO_TARGET_DIR); fails, naming SCRIPT,
# when there is none.
release_binary() {
  local bin="${VERITRACE_BIN:-${CARGO_TARGET_DIR:-target}/release/veritrace}"
  [[ -x "$bin" ]] || { echo "$1: no binary at $bin (build with cargo build --release)" >&2; return 1; }
  echo "$bin"
}

# bench_binary SCRIPT BIN: the load generator ($VERITRACE_BENCH_BIN, else
# veritrace-bench beside BIN: `cargo build --release --workspace --bins`
# builds both); fails, naming SCRIPT, when there is none.
bench_binary() {
  local bench="${VERITRACE_BENCH_BIN:-$(dirname "$2")/veritrace-bench}"
  [[ -x "$bench" ]] || { echo "$1: no load generator at $bench (build with cargo build --release --workspace --bins)" >&2; return 1; }
  echo "$bench"
}
