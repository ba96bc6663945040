#!/usr/bin/env bash
# The compose network end to end: builds the image (or takes --image),
# brings up the four organisations of deploy/compose/docker-compose.yml,
# waits until all four are healthy (/readyz), then, as the brand on its own
# host, registers a product and commissions two items, and, as a shopper,
# verifies one through another organisation's node and opens its consumer
# page; every node must agree on the tree. Tears the network down at the
# end (--keep leaves it running).
#
#   scripts/compose-test.sh                 # release image from scripts/build-image.sh
#   scripts/compose-test.sh --binary PATH   # pack PATH into the image first (CI: the test build)
#   scripts/compose-test.sh --image TAG     # an image built already
set -euo pipefail
cd "$(dirname "$0")/.."
PROJECT=${PROJECT:-veritrace-compose-test}
keep=0
image=""
binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "compose-test: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$image" ]; then
  image=veritrace:compose-test
  bash scripts/build-image.sh --tag "$image" ${binary:+--binary "$binary"}
fi
export VERITRACE_IMAGE=$image
# shellcheck source=lib/compose.sh
source scripts/lib/compose.sh

teardown
[ "$keep" = 1 ] || trap teardown EXIT
t0=$SECONDS
compose up -d
wait_healthy 240
echo "compose-test: four organisations healthy after $((SECONDS - t0)) s"

# The brand, on its own host, with its own key.
key=/var/lib/veritrace/node/party.key
signer=(--endpoint "$LOCAL" --party brand --key "$key")
sed 's/"brandPartyId": "party-1"/"brandPartyId": "brand"/' deploy/examples/cosmetics/05-register-product.json |
  vt brand tx submit "${signer[@]}" -
vt brand items commission "${signer[@]}" --gtin 00614141000012 --count 2 --lot C1 --serial-prefix C1- \
  --out /var/lib/veritrace/labels-c1
row=$(compose exec -T brand cat /var/lib/veritrace/labels-c1/labels.csv | awk -F, '$2 == "C1-000001"')
code=$(echo "$row" | cut -d, -f4)
link=$(echo "$row" | cut -d, -f5)
[ -n "$code" ] && [ -n "$link" ] || { echo "compose-test: no label row for C1-000001" >&2; exit 1; }

# A shopper verifies through the customs node (another organisation). The
# item never reached a shop, so the right code is answered as a suspected
# clone scanned before retail (verify exits 13 = 10 + SUSPECTED_CLONE)
# with a receipt co-signed by a quorum (else verify would exit 3); a wrong
# code is INVALID_CODE (exit 14).
set +e
answer=$(vt platform verify --endpoint https://customs:7401 --item "$link" --code "$code" --country FR -o json)
rc=$?
wrong=$(vt platform verify --endpoint https://customs:7401 --item "$link" --code 000000 --country FR -o json)
rc_wrong=$?
set -e
verdict=$(echo "$answer" | python3 -c 'import json,sys; a=json.load(sys.stdin); print(a["verdict"], *a["clone_signals"])')
[ "$rc" = 13 ] && [ "$verdict" = "suspected_clone SCANNED_BEFORE_RETAIL" ] ||
  { echo "compose-test: verify exited $rc with $verdict: $answer" >&2; exit 1; }
[ "$code" = 000000 ] || [ "$rc_wrong" = 14 ] || { echo "compose-test: a wrong code exited $rc_wrong: $wrong" >&2; exit 1; }
echo "compose-test: verified C1-000001 through customs: $verdict (receipt co-signed); a wrong code: invalid_code"

# The consumer page of the inspection bureau's node, through the published port.
path=${link#*://*/}
path=/${path%%\?*}
page=$(curl -fsS "http://127.0.0.1:8702$path")
echo "$page" | grep -q "Rose Water" || { echo "compose-test: the consumer page at $path does not name the product" >&2; exit 1; }

# Every node has the same tree (applied within 30 s).
head=$(wait_same_tree 30 2)
echo "compose-test: passed (4 nodes, one root, tree size ${head%%:*}, $((SECONDS - t0)) s)"
