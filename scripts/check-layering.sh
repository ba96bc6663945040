#!/usr/bin/env bash
# Fails when a crate depends on a crate of a higher layer, or when a heavy
# dependency leaks out of the one crate allowed to hold it.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import json, subprocess, sys
meta = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--no-deps", "--locked"]))
# Lower number = lower layer. A crate may depend only on lower layers.
layer = {
    "veritrace-proto": 0,
    "veritrace-core": 1,
    "veritrace-epcis": 1,
    "veritrace-storage": 1,
    "veritrace-metrics": 1,
    "veritrace-certs": 1,
    "veritrace-labels": 2,
    "veritrace-store-rocksdb": 2,
    "veritrace-ledger": 2,
    "veritrace-consensus": 2,
    "veritrace-net": 3,
    "veritrace-node": 4,
    "veritrace-server": 5,
    "veritrace-client": 5,
    "veritrace-etcd-kv": 5,
    "veritrace-sdk": 6,
    "veritrace": 9,
    "veritrace-tests": 10,
}
# Heavy external crates and the only workspace crates that may use them directly.
owners = {"rocksdb": {"veritrace-store-rocksdb"}, "tonic": {"veritrace-proto", "veritrace-server", "veritrace-client", "veritrace-etcd-kv"},
          "libp2p": {"veritrace-net"}, "raft": {"veritrace-consensus"}}
bad = []
for pkg in meta["packages"]:
    name = pkg["name"]
    if name not in layer:
        bad.append(f"{name}: not assigned a layer in scripts/check-layering.sh")
        continue
    for dep in pkg["dependencies"]:
        d = dep["name"]
        if d in layer and dep.get("kind") != "dev" and layer[d] >= layer[name]:
            bad.append(f"{name} (layer {layer[name]}) depends on {d} (layer {layer[d]})")
        if d in owners and name not in owners[d] and dep.get("kind") != "dev":
            bad.append(f"{name} depends on {d}, which only {sorted(owners[d])} may use")
if bad:
    print("layering violations:\n  " + "\n  ".join(bad))
    sys.exit(1)
print(f"layering ok ({len(meta['packages'])} crates)")
PY
