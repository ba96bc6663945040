#!/usr/bin/env bash
# Fuzzing (issue 19, part 6): cargo-fuzz targets for every decoder of
# network and disk input (fuzz/fuzz_targets/: envelopes and leaf records,
# GS1 identifiers, the consensus wire formats and a Raft log store opened
# from arbitrary pairs, proposals, EPCIS import, Ledger::apply on
# arbitrary signed transactions, snapshot import, a ledger opened from
# arbitrary pairs).
#
#   scripts/fuzz.sh                 every target for FUZZ_SECS (default 600) s
#   scripts/fuzz.sh --smoke         every target for 15 s (scripts/test.sh runs this)
#   scripts/fuzz.sh TARGET...       only these targets
#
# Starts from the committed corpus (fuzz/corpus/TARGET); new inputs found
# during a run go to $FUZZ_TARGET_DIR/corpus, so a run never dirties the
# checkout (`cargo fuzz cmin` and copy back to grow the committed corpus).
# A crash leaves its input in fuzz/artifacts/TARGET and fails the script.
# Needs the nightly toolchain (rustup); installs cargo-fuzz if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-build-deps.sh

secs="${FUZZ_SECS:-600}"
if [ "${1:-}" = "--smoke" ]; then
  secs=15
  shift
fi
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: installing the nightly toolchain (cargo-fuzz needs it)"
  if ! rustup toolchain install nightly --profile minimal >/dev/null; then
    echo "fuzz: the nightly toolchain is missing and could not be installed (rustup toolchain install nightly)" >&2
    exit 1
  fi
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install --locked cargo-fuzz@0.13.2 >/dev/null
fi
target_dir="${FUZZ_TARGET_DIR:-$HOME/.cache/veritrace/fuzz-target}"
mkdir -p "$target_dir"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  listed=$(cargo +nightly fuzz list --fuzz-dir fuzz)
  mapfile -t targets <<<"$listed"
fi
if [ ${#targets[@]} -eq 0 ] || [ -z "${targets[0]}" ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi

cargo +nightly fuzz build --fuzz-dir fuzz --target-dir "$target_dir"
# The fuzz crate's lock starts from the workspace's (same decoder versions
# as ship); a build that had to change it means they drifted.
if ! git diff --quiet -- fuzz/Cargo.lock 2>/dev/null; then
  echo "fuzz: warning: fuzz/Cargo.lock changed during the build (refresh it from Cargo.lock and commit)" >&2
fi
status=0
for t in "${targets[@]}"; do
  work="$target_dir/corpus/$t"
  mkdir -p "$work" "fuzz/corpus/$t"
  started=$SECONDS
  if cargo +nightly fuzz run --fuzz-dir fuzz --target-dir "$target_dir" "$t" "$work" "fuzz/corpus/$t" -- \
      -max_total_time="$secs" -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 \
      >"$target_dir/$t.log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$target_dir/$t.log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz: $t: $((SECONDS - started)) s, $runs runs, 0 crashes"
  else
    echo "fuzz: $t FAILED (log: $target_dir/$t.log; input in fuzz/artifacts/$t)" >&2
    tail -40 "$target_dir/$t.log" >&2
    status=1
  fi
done
exit "$status"
