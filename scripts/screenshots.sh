#!/usr/bin/env bash
# Refreshes docs/screenshots/: runs the consumer page's browser test
# (crates/cli/tests/consumer_browser.rs: a real 3-node cluster, headless
# Chromium) with VERITRACE_SCREENSHOTS set, which saves every state it
# checks, in English and Chinese, as {state}-{lang}.png.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-build-deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/veritrace/target}"
VERITRACE_SCREENSHOTS="$PWD/docs/screenshots" \
  cargo test --locked -p veritrace --test consumer_browser -- --nocapture
ls -1 docs/screenshots
