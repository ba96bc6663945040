#!/bin/sh
# One organisation's container in the compose network
# (deploy/compose/docker-compose.yml), run by the image's busybox sh.
#
# The key ceremony of docs/operator-guide.md 4.0, with the exchange volume
# as the post: this container makes its own keys in its own volume
# (/var/lib/veritrace, never shared), publishes only public.json and a
# certificate request for its TLS key, checks and signs the genesis the
# coordinator assembled from everyone's public parts, waits for the seal
# and its certificate (the coordinator is the network's CA), configures
# its node (gRPC over TLS) and starts it. Every step is skipped when its
# output exists, so a restart goes straight to `node start`.
#
# Environment: PARTY, NAME, COUNTRY, ROLES ("admin brand-owner"),
# GS1_PREFIX (optional), HOST (this container's name on the network).
set -eu
keys=/var/lib/veritrace/node
exchange=/exchange
wait_for() {  # wait_for FILE WHAT
  n=0
  while [ ! -e "$1" ]; do
    n=$((n + 1))
    [ "$n" -le 600 ] || { echo "$PARTY: gave up waiting for $2 ($1)" >&2; exit 1; }
    [ $((n % 30)) -ne 1 ] || echo "$PARTY: waiting for $2"
    sleep 1
  done
}

if [ ! -s "$keys/veritrace.toml" ]; then
  if [ ! -s "$keys/public.json" ]; then
    set -- --out "$keys" --party "$PARTY" --name "$NAME" --country "$COUNTRY" \
      --api-advertise "https://$HOST:7401" --p2p-advertise "/dns4/$HOST/tcp/7501" \
      --tls-host "$HOST" --tls-host localhost --tls-host 127.0.0.1
    for role in $ROLES; do set -- "$@" --role "$role"; done
    [ -z "${GS1_PREFIX:-}" ] || set -- "$@" --gs1-prefix "$GS1_PREFIX"
    veritrace keys generate "$@"
  fi
  mkdir -p "$exchange/public" "$exchange/signatures" "$exchange/requests"
  # The certificate request first: the coordinator takes public.json as
  # the sign that both are there.
  cp "$keys/node-tls.csr" "$exchange/requests/$PARTY.csr"
  cp "$keys/public.json" "$exchange/public/$PARTY.json.tmp" && mv "$exchange/public/$PARTY.json.tmp" "$exchange/public/$PARTY.json"
  wait_for "$exchange/net/network.json" "the coordinator's genesis"
  if [ ! -s "$exchange/signatures/genesis-$PARTY.sig" ]; then
    veritrace genesis sign --network "$exchange/net" --keys "$keys"
    cp "$keys/genesis-$PARTY.sig" "$exchange/signatures/genesis-$PARTY.sig"
  fi
  wait_for "$exchange/net/SEALED" "the sealed genesis"
  wait_for "$exchange/certificates/$PARTY.crt" "the TLS certificate"
  # The network's CA certificate, for this organisation's clients.
  cp "$exchange/ca.crt" "$keys/ca.crt"
  veritrace genesis configure --network "$exchange/net" --keys "$keys" \
    --api-listen 0.0.0.0:7401 --p2p-listen /ip4/0.0.0.0/tcp/7501 \
    --ops-listen 0.0.0.0:7601 --web-listen 0.0.0.0:7701 \
    --tls-cert "$exchange/certificates/$PARTY.crt"
fi
exec veritrace node start --config "$keys/veritrace.toml"
