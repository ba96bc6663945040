# Shared by scripts/compose-test.sh and scripts/container-faults.sh: the
# compose network of deploy/compose, under a project name of its own so a
# test never touches a network someone brought up by hand.
#
# Expects: PROJECT (compose project name), VERITRACE_IMAGE (the image).

COMPOSE_FILE_PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../deploy/compose" && pwd)/docker-compose.yml"
ORGS=(brand inspection customs platform)

compose() { docker-compose -p "$PROJECT" -f "$COMPOSE_FILE_PATH" "$@"; }

# The container of organisation $1.
container_of() { compose ps -q "$1"; }

# The private bridge network's name.
network_name() { echo "${PROJECT}_veritrace"; }

# Runs veritrace inside organisation $1's container (its own keys, its own
# node on 127.0.0.1:7401), trusting the network's CA: vt ORG ARGS...
vt() { local org=$1; shift; compose exec -T -e VERITRACE_CACERT=/var/lib/veritrace/node/ca.crt "$org" veritrace "$@"; }

# The local node's gRPC endpoint inside a container (TLS).
LOCAL=https://127.0.0.1:7401

# Health of organisation $1: healthy, starting, unhealthy, or none.
health_of() {
  local id
  id=$(container_of "$1")
  [ -n "$id" ] || { echo none; return; }
  docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id"
}

# Waits until every organisation's node reports healthy (/readyz), at most
# $1 seconds; prints the logs and fails otherwise.
wait_healthy() {
  local deadline=$((SECONDS + $1)) org all
  while :; do
    all=1
    for org in "${ORGS[@]}"; do
      [ "$(health_of "$org")" = healthy ] || all=0
    done
    [ "$all" = 1 ] && return 0
    if [ $SECONDS -ge $deadline ]; then
      echo "not every organisation became healthy within $1 s:" >&2
      for org in "${ORGS[@]}"; do echo "  $org: $(health_of "$org")" >&2; done
      compose logs --tail 40 >&2
      return 1
    fi
    sleep 2
  done
}

# "TREE_SIZE:ROOT" of organisation $1's node, asked by that organisation
# with its own admin token (each organisation's token opens its own node
# only).
node_head() {
  vt "$1" status --endpoint "$LOCAL" --admin-token-file /var/lib/veritrace/node/admin.token -o json |
    python3 -c 'import json,sys; s=json.load(sys.stdin); print(str(s["tree_size"]) + ":" + s["root_hash"])'
}

# Waits (at most $1 s) until every node reports the same tree, of at
# least $2 leaves; prints "SIZE:ROOT"; fails naming each node's otherwise.
wait_same_tree() {
  local deadline=$((SECONDS + $1)) heads org
  while :; do
    heads=""
    for org in "${ORGS[@]}"; do heads="$heads $(node_head "$org" 2>/dev/null || echo "?:$org")"; done
    heads=${heads# }
    if [ "$(echo "$heads" | tr ' ' '\n' | sort -u | wc -l)" = 1 ] && [ "${heads%%:*}" -ge "$2" ] 2>/dev/null; then
      echo "${heads%% *}"
      return 0
    fi
    [ $SECONDS -lt $deadline ] || { echo "the nodes disagree (size:root per organisation): $heads" >&2; return 1; }
    sleep 1
  done
}

# Tears the project down with its volumes (keys included: a test network).
teardown() { compose down -v --remove-orphans >/dev/null 2>&1 || true; }
