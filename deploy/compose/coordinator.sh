#!/bin/sh
# The coordinator of the compose network's key ceremony: it sees only the
# exchange volume (public parts, certificate requests and signatures,
# never an organisation's secret key) and its own volume, where it keeps
# the network's TLS CA. It assembles the genesis once every founder's
# public.json is there, signs each founder's certificate request, and
# seals the genesis once every founder signed. Skips what is done already.
#
# Environment: FOUNDERS ("brand inspection customs platform", node ids in
# this order), NETWORK_ID.
set -eu
exchange=/exchange
ca=/var/lib/veritrace/ca
mkdir -p "$exchange/public" "$exchange/signatures" "$exchange/certificates"
if [ ! -s "$ca/ca.crt" ]; then
  veritrace cert create-ca --out "$ca" --name "$NETWORK_ID CA"
fi
cp "$ca/ca.crt" "$exchange/ca.crt.tmp" && mv "$exchange/ca.crt.tmp" "$exchange/ca.crt"
wait_all() {  # wait_all DIR PATTERN WHAT: every founder's file in DIR
  n=0
  while :; do
    missing=""
    for p in $FOUNDERS; do
      f="${2%%PARTY*}$p${2#*PARTY}"
      [ -s "$1/$f" ] || missing="$missing $p"
    done
    [ -n "$missing" ] || return 0
    n=$((n + 1))
    [ "$n" -le 600 ] || { echo "coordinator: gave up waiting for $3 of$missing" >&2; exit 1; }
    [ $((n % 30)) -ne 1 ] || echo "coordinator: waiting for $3 of$missing"
    sleep 1
  done
}
if [ ! -s "$exchange/net/network.json" ]; then
  wait_all "$exchange/public" "PARTY.json" "the public parts"
  set --
  for p in $FOUNDERS; do set -- "$@" "$exchange/public/$p.json"; done
  # Assembled aside, then moved in whole: a founder never reads half of it.
  rm -rf "$exchange/net.tmp"
  veritrace genesis assemble --network-id "$NETWORK_ID" --out "$exchange/net.tmp" "$@"
  mv "$exchange/net.tmp" "$exchange/net"
fi
for p in $FOUNDERS; do
  crt="$exchange/certificates/$p.crt"
  [ -s "$crt" ] && continue
  rm -f "$crt.tmp"
  veritrace cert sign-request --ca-dir "$ca" --csr "$exchange/requests/$p.csr" --out "$crt.tmp"
  mv "$crt.tmp" "$crt"
done
if [ ! -e "$exchange/net/SEALED" ]; then
  wait_all "$exchange/signatures" "genesis-PARTY.sig" "the signatures"
  set --
  for p in $FOUNDERS; do set -- "$@" "$exchange/signatures/genesis-$p.sig"; done
  veritrace genesis seal --network "$exchange/net" "$@"
  touch "$exchange/net/SEALED"
fi
echo "coordinator: genesis sealed; the founders start their nodes"
