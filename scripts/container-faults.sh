#!/usr/bin/env bash
# Faults at the container level on the compose network (private bridge
# network only): while a client writes through the inspection bureau's
# node, one other organisation's container at a time is
#
#   1. killed (docker kill: SIGKILL) and started again,
#   2. paused (docker pause: SIGSTOP of every process) and unpaused,
#   3. cut off its network (docker network disconnect) and reconnected,
#   4. the leader killed, whichever organisation it is (not the writer's).
#
# Afterwards every organisation must be healthy, every acknowledged event
# must be in every node's ledger, and the roots must be equal.
#
#   scripts/container-faults.sh [--image TAG | --binary PATH] [--fault-secs N] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
PROJECT=${PROJECT:-veritrace-faults}
keep=0
image=""
binary=""
fault_secs=8
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --fault-secs) fault_secs=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "container-faults: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$image" ]; then
  image=veritrace:faults
  bash scripts/build-image.sh --tag "$image" ${binary:+--binary "$binary"}
fi
export VERITRACE_IMAGE=$image
# shellcheck source=lib/compose.sh
source scripts/lib/compose.sh

work=$(mktemp -d)
cleanup() {
  [ -z "${writer_pid:-}" ] || kill "$writer_pid" 2>/dev/null || true
  [ "$keep" = 1 ] || teardown
  rm -rf "$work"
}
teardown
trap cleanup EXIT
t0=$SECONDS
compose up -d
wait_healthy 240
echo "container-faults: four organisations healthy after $((SECONDS - t0)) s"

# The writer: the inspection bureau signs EPCIS inspections of returnable
# assets and submits each through its own node; every acknowledged
# envelope id goes to acked.txt. Refusals and timeouts are not
# acknowledgements (a timed-out write may or may not be in the ledger).
writer() {
  local i=0 receipt
  while [ ! -e "$work/stop" ]; do
    i=$((i + 1))
    receipt=$(printf '{"epcisEvent": {"eventTime": "%s", "eventTimeZoneOffset": "+00:00", "bizStep": "inspecting",
      "objectEvent": {"action": "EPCIS_ACTION_OBSERVE", "epcList": ["urn:epc:id:giai:0614141.FAULT%s-%d"]}}}' \
      "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$$" "$i" |
      timeout 20 docker-compose -p "$PROJECT" -f "$COMPOSE_FILE_PATH" exec -T inspection veritrace tx submit \
        --cacert /var/lib/veritrace/node/ca.crt --endpoint "$LOCAL" --party inspection --key /var/lib/veritrace/node/party.key -o json - 2>>"$work/writer.err") || true
    echo "$receipt" | python3 -c '
import json, sys
try:
    doc = json.load(sys.stdin)
except Exception:
    sys.exit(0)
for r in doc.get("receipts", [doc]) if isinstance(doc, dict) else doc:
    if r.get("outcome") in ("applied", "duplicate"):
        print(r["envelope_id"])' >>"$work/acked.txt"
    echo "$i" >"$work/attempts"
  done
}
: >"$work/acked.txt"
writer &
writer_pid=$!

acked() { wc -l <"$work/acked.txt" | tr -d ' '; }
# Waits until the writer got $1 more acknowledgements (at most 60 s): the
# cluster serves writes again.
writes_resume() {
  local want=$(($(acked) + $1)) deadline=$((SECONDS + 60))
  while [ "$(acked)" -lt "$want" ]; do
    [ $SECONDS -lt $deadline ] || { echo "container-faults: writes did not resume ($(acked) acked)" >&2; cat "$work/writer.err" >&2; return 1; }
    sleep 1
  done
}
leader_org() {
  vt inspection status --endpoint "$LOCAL" --admin-token-file /var/lib/veritrace/node/admin.token -o json |
    python3 -c '
import json, sys
s = json.load(sys.stdin)
orgs = {m["node_id"]: m.get("party_id", "") for m in s.get("members", [])}
print(orgs.get(s.get("leader_id"), ""))'
}

writes_resume 3
echo "container-faults: writing ($(acked) acked)"

echo "container-faults: 1. docker kill brand (SIGKILL), ${fault_secs} s down"
docker kill "$(container_of brand)" >/dev/null
sleep "$fault_secs"
docker start "$(container_of brand)" >/dev/null
writes_resume 3

echo "container-faults: 2. docker pause customs, ${fault_secs} s"
docker pause "$(container_of customs)" >/dev/null
sleep "$fault_secs"
docker unpause "$(container_of customs)" >/dev/null
writes_resume 3

echo "container-faults: 3. docker network disconnect platform, ${fault_secs} s"
net=$(network_name)
docker network disconnect "$net" "$(container_of platform)"
sleep "$fault_secs"
docker network connect --alias platform "$net" "$(container_of platform)"
writes_resume 3

leader=$(leader_org)
if [ "$leader" = inspection ]; then
  # The writer's own node leads: hand leadership to customs first (the
  # writer's organisation asks its own node, with its own admin token).
  to=$(vt inspection status --endpoint "$LOCAL" --admin-token-file /var/lib/veritrace/node/admin.token -o json |
    python3 -c 'import json,sys; print(next(m["node_id"] for m in json.load(sys.stdin)["members"] if m["party_id"] == "customs"))')
  vt inspection leader transfer --endpoint "$LOCAL" --admin-token-file /var/lib/veritrace/node/admin.token --to "$to" >/dev/null
  for _ in $(seq 20); do leader=$(leader_org); [ "$leader" != inspection ] && break; sleep 1; done
fi
[ -n "$leader" ] && [ "$leader" != inspection ] || { echo "container-faults: no leader other than the writer's ($leader)" >&2; exit 1; }
echo "container-faults: 4. docker kill the leader ($leader), ${fault_secs} s down"
docker kill "$(container_of "$leader")" >/dev/null
sleep "$fault_secs"
docker start "$(container_of "$leader")" >/dev/null
writes_resume 3

touch "$work/stop"
wait "$writer_pid" || true
writer_pid=""
total=$(acked)
echo "container-faults: writer stopped: $total acknowledged of $(cat "$work/attempts") attempts"
wait_healthy 120

# Every node: the same root and every acknowledged envelope.
head=$(wait_same_tree 60 "$total")
size=${head%%:*}
for org in "${ORGS[@]}"; do
  vt "$org" watch --endpoint "$LOCAL" --as-party "$org" --party-key /var/lib/veritrace/node/party.key \
    --limit "$size" -o json |
    python3 -c 'import json,sys; [print(json.loads(l)["envelope_id"]) for l in sys.stdin if l.strip()]' | sort -u >"$work/ids-$org"
  missing=$(sort -u "$work/acked.txt" | comm -23 - "$work/ids-$org" | wc -l)
  [ "$missing" = 0 ] || { echo "container-faults: $org lacks $missing acknowledged event(s)" >&2; exit 1; }
done
echo "container-faults: passed: $total acknowledged events on all 4 nodes, one root at tree size $size ($((SECONDS - t0)) s)"
