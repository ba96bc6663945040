#!/usr/bin/env bash
# Installs the system packages the build needs, idempotently.
#
# - libclang-dev: bindgen in librocksdb-sys loads libclang at build time.
# - libfaketime: the fault harness (crates/chaos) skews a node's clock by
#   starting it under LD_PRELOAD=libfaketime.
# - chromium, chromium-driver: the consumer page's browser test
#   (crates/cli/tests/consumer_browser.rs) drives headless Chromium over
#   WebDriver; fonts-noto-cjk so its Chinese screenshots show characters.
# - python3-venv: scripts/epcis-conformance.sh installs schemathesis (PyPI)
#   in a virtual environment of its own.
# - prometheus: its promtool checks and tests deploy/prometheus/alerts.yaml
#   (scripts/check-deploy.sh; the server itself is not started).
# - busybox-static: scripts/build-image.sh puts it in the node image (the
#   compose network's setup steps and health checks).
#
# Protos compile with `protox` (a pure-Rust protobuf compiler) from build.rs,
# so no system protoc is needed. Run as root (CI and the dev machines are);
# otherwise prints what to install and fails.
set -euo pipefail

missing=()
for pkg in libclang-dev libfaketime chromium chromium-driver fonts-noto-cjk python3-venv prometheus busybox-static; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-build-deps: missing packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "install-build-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
