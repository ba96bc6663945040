#!/usr/bin/env bash
# Checks the EPCIS 2.0 REST binding against GS1's official OpenAPI
# (tests/epcis-conformance/epcis-rest-openapi.yaml, from
# shared/data/epcis/schema; its schema-stub references resolved to the
# EPCIS JSON Schema copied beside it, since the machine has no route to
# gs1.github.io) with schemathesis, on a real one-node network started from
# the built binary.
#
# The node runs with `[api.party] insecure = true` (loopback only), so the
# generated calls need no signatures; it signs captures for its own party,
# the brand. Only the operations Veritrace serves are checked (see
# docs/epcis-rest.md); the checks, the operations and the settings are
# below. Extra arguments go to `schemathesis run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-build-deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/veritrace/target}"
venv="${VERITRACE_VENV:-$HOME/.cache/veritrace/venv}"
# schemathesis 4.32.5 and every package under it, pinned
# (tests/epcis-conformance/requirements.txt, `pip freeze` of a working run).
want="$(sha256sum tests/epcis-conformance/requirements.txt | cut -d' ' -f1)"
if [ ! -x "$venv/bin/schemathesis" ] || [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r tests/epcis-conformance/requirements.txt
  echo "$want" >"$venv/.requirements"
fi
bin="${VERITRACE_BIN:-}"
if [[ -z "$bin" ]]; then
  # Built the way scripts/test.sh builds it (`cargo test` unifies the
  # workspace's features, dev-dependencies included): a plain
  # `cargo build -p veritrace` resolves other features and would compile
  # RocksDB's C++ a second time.
  cargo test --locked --workspace --no-run -q >/dev/null 2>&1 || cargo test --locked --workspace --no-run
  bin="$CARGO_TARGET_DIR/debug/veritrace"
fi

work=$(mktemp -d)
node_pid=""
cleanup() {
  if [ -n "$node_pid" ]; then kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A free base port below the ephemeral range.
base=$(python3 - <<'PY'
import random, socket
for _ in range(200):
    b = random.randrange(21000, 31000, 100)
    try:
        for p in (b + 1, b + 101, b + 201, b + 301):
            s = socket.socket(); s.bind(("127.0.0.1", p)); s.close()
        print(b); break
    except OSError:
        continue
PY
)
"$bin" init --nodes 1 --out "$work/net" --base-port "$base" >/dev/null
config="$work/net/node1/veritrace.toml"
printf '\n[api.party]\ninsecure = true\n' >>"$config"
"$bin" node start --config "$config" >"$work/node.log" 2>&1 &
node_pid=$!
ops="http://127.0.0.1:$((base + 201))"
web="http://127.0.0.1:$((base + 301))"
for _ in $(seq 1 100); do
  if curl -sf "$ops/readyz" >/dev/null; then break; fi
  sleep 0.2
done
curl -sf "$ops/readyz" >/dev/null || { cat "$work/node.log"; echo "the node did not become ready" >&2; exit 1; }

schema="$work/openapi.yaml"
# The OpenAPI points its bodies and vocabularies at a stub whose own
# comment says the final definitions come from the EPCIS JSON Schema: use
# that schema (shared/data/epcis/schema/EPCIS-JSON-Schema.json) in its place.
#
# One example contradicts its own schema: the Disposition path parameter is
# `format: uri` but its example is the bare CBV name `in_progress`, from
# which schemathesis can build no test case ("Failed to generate test cases
# from examples"). Give it the same value as the CBV 2.0 web URI.
sed -e 's#https://gs1.github.io/EPCIS/REST%20Bindings/JSON-Schema-Stub.json#EPCIS-JSON-Schema.json#g' \
  -e 's#^      example: in_progress$#      example: https://ref.gs1.org/cbv/Disp-in_progress#' \
  tests/epcis-conformance/epcis-rest-openapi.yaml >"$schema"
grep -q 'example: https://ref.gs1.org/cbv/Disp-in_progress' "$schema" \
  || { echo "the OpenAPI's Disposition example moved: update this script" >&2; exit 1; }
cp tests/epcis-conformance/EPCIS-JSON-Schema.json "$work/"

# The operations served: discovery, capture and its jobs, event queries.
"$venv/bin/schemathesis" --config-file tests/epcis-conformance/schemathesis.toml run "$schema" --url "$web/epcis" \
  --include-name-regex '^((GET|OPTIONS) /(|capture|capture/\{captureID\}|events|events/\{eventID\}|(epcs|eventTypes|bizSteps|bizLocations|readPoints|dispositions)/\{[a-zA-Z]+\}/events)|POST /capture)$' \
  --max-examples "${EPCIS_CONFORMANCE_EXAMPLES:-25}" --seed 1 "$@"
