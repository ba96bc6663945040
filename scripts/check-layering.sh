#!/usr/bin/env bash
# Fails when a crate depends on a crate of a higher layer, when a heavy
# dependency leaks out of the crates allowed to hold it, or when the
# application layer or the edge reaches the wiring, even indirectly.
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
    "veritrace-service": 4,
    "veritrace-server": 5,
    "veritrace-client": 5,
    "veritrace-etcd-kv": 5,
    "veritrace-web": 6,
    "veritrace-epcis-rest": 6,
    "veritrace-node": 7,
    "veritrace-sdk": 7,
    "veritrace-testkit": 8,
    "veritrace-chaos": 9,
    "veritrace": 10,
    "veritrace-bench": 10,
    "veritrace-tests": 11,
}
# Heavy external crates and the only workspace crates that may use them directly.
owners = {"rocksdb": {"veritrace-store-rocksdb"}, "tonic": {"veritrace-proto", "veritrace-server", "veritrace-client", "veritrace-etcd-kv", "veritrace-testkit"},
          "libp2p": {"veritrace-net"}, "raft": {"veritrace-consensus"}, "maud": {"veritrace-web"}}
# Workspace crates a crate must not depend on although they sit below it:
# the application layer and the edge never reach the process wiring, the
# network stack or RocksDB, so a test kit can run them in-process on the
# in-memory engine and the simulated network.
forbidden = {
    "veritrace-service": {"veritrace-net", "veritrace-store-rocksdb", "veritrace-server", "veritrace-client"},
    "veritrace-server": {"veritrace-net", "veritrace-store-rocksdb", "veritrace-node"},
    "veritrace-web": {"veritrace-net", "veritrace-store-rocksdb", "veritrace-node"},
    "veritrace-epcis-rest": {"veritrace-net", "veritrace-store-rocksdb", "veritrace-node"},
    "veritrace-testkit": {"veritrace-net", "veritrace-store-rocksdb", "veritrace-node"},
    "veritrace": {"veritrace-etcd-kv"},
}
# Crates that may only ever be dev-dependencies (test tools).
dev_only = {"veritrace-testkit"}
# Features of workspace crates a crate must not enable: the generated gRPC
# stubs pull tonic.
forbidden_features = {"veritrace-service": {("veritrace-proto", "grpc")}}
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
        if d in forbidden.get(name, ()) and dep.get("kind") != "dev":
            bad.append(f"{name} must not depend on {d}")
        if d in dev_only and dep.get("kind") != "dev":
            bad.append(f"{name} depends on {d}, which is for tests only (a dev-dependency)")
        for feat in dep.get("features", []):
            if (d, feat) in forbidden_features.get(name, ()):
                bad.append(f"{name} enables feature {feat!r} of {d}, which pulls a dependency it must not have")
# The whole normal-dependency closure (as `cargo build -p CRATE` resolves
# it, features included) of the crates that must stay free of the wiring:
# a crate pulled in indirectly (libp2p-identity, librocksdb-sys, tonic
# through proto's `grpc` feature, ...) counts too.
closure_forbidden = {
    "veritrace-service": ("rocksdb", "librocksdb", "libp2p", "tonic", "hyper", "veritrace-net",
                          "veritrace-store-rocksdb", "veritrace-server", "veritrace-node"),
    "veritrace-server": ("rocksdb", "librocksdb", "libp2p", "veritrace-net", "veritrace-store-rocksdb", "veritrace-node"),
    "veritrace-testkit": ("rocksdb", "librocksdb", "libp2p", "veritrace-net", "veritrace-store-rocksdb", "veritrace-node"),
    "veritrace-web": ("rocksdb", "librocksdb", "libp2p", "veritrace-net", "veritrace-store-rocksdb", "veritrace-node"),
    "veritrace-epcis-rest": ("rocksdb", "librocksdb", "libp2p", "veritrace-net", "veritrace-store-rocksdb", "veritrace-node"),
}
for name, prefixes in closure_forbidden.items():
    tree = subprocess.check_output(["cargo", "tree", "-p", name, "-e", "normal", "--prefix", "none", "-f", "{p}", "--locked"], text=True)
    for pkg in sorted({line.split()[0] for line in tree.splitlines() if line.strip()}):
        if pkg != name and pkg.startswith(prefixes):
            bad.append(f"{name} reaches {pkg} through its dependencies, which it must not")
if bad:
    print("layering violations:\n  " + "\n  ".join(bad))
    sys.exit(1)
print(f"layering ok ({len(meta['packages'])} crates)")
PY
