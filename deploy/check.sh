#!/usr/bin/env bash
# Offline checks of deploy/, needing no Go, no cluster and no container engine:
#
#   1. every Kubernetes manifest parses as YAML (python3 with PyYAML, else ruby, else a structural check);
#      with PyYAML also the rules the manifests promise: non-root, read-only root filesystem, no capabilities,
#      seccomp, resource requests and limits, probes that can pass against a TLS port, one replica per service,
#      admin ports never published, grace periods above the shutdown grace, GOMEMLIMIT below the memory limit,
#      files named by variables on mounted volumes, no gateway client certificate, a gateway readiness that one
#      backend cannot fail, a certificate for every address dialled, NetworkPolicies admitting exactly each
#      service's callers, the referral service's personal data kept apart (PESEL key from a Secret that is not
#      committed, ReadWriteOncePod volumes no other workload mounts, owner-only backups), kustomization complete;
#   2. `kubectl kustomize` renders the directory, if kubectl is installed (it works offline);
#   3. every CUS_ variable named in deploy/ is a flag of the binary it configures (`--data-dir` is
#      CUS_DATA_DIR), with flags read from the Go sources, and every flag of a binary is in its example config;
#   4. the systemd units pass `systemd-analyze verify` and an offline `systemd-analyze security` threshold,
#      if systemd-analyze is installed, their stop timeouts exceed the shutdown grace, and the referral service
#      runs as its own user with its PESEL key from LoadCredential= and its audit anchors outside the data;
#   5. every service's backup scripts (systemd unit and CronJob) run against stubs and keep exactly the newest
#      copies, the referral service's owner-only;
#   6. kubernetes/internal-tls.sh makes, from one CA, a certificate for each service that verifies and names the
#      address its callers dial, if openssl is installed;
#   7. the Containerfile builds every binary that exists and has a stage for each.
#
# Usage: deploy/check.sh      Exit status 0 when nothing failed. The last line is "check: N passed, N failed".
set -uo pipefail
# sort and comm must agree on one collation, whatever the caller's locale.
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0 failed=0 skipped=0
pass() { passed=$((passed + 1)); echo "ok    $*"; }
fail() { failed=$((failed + 1)); echo "FAIL  $*"; }
skip() { skipped=$((skipped + 1)); echo "skip  $*"; }
warn() { echo "warn  $*"; }
section() { echo; echo "== $*"; }
have() { # command: installed and executable (bash's command -v also reports non-executable files)
	local p
	p=$(command -v "$1" 2>/dev/null) && [ -x "$p" ]
}

manifests=("$here"/kubernetes/*.yaml "$here"/kubernetes/*/*.yaml "$here"/kubernetes-ha/*.yaml "$here"/kubernetes-ha/*/*.yaml)

# ---------------------------------------------------------------------------------------------------------------
section "YAML syntax"

# PyYAML may be missing from the default python3 (pip cannot reach its index here); Debian's python3-yaml for
# /usr/bin/python3 is the usual way to have it. Take the first interpreter that has it.
py=""
for cand in python3 /usr/bin/python3; do
	if have "$cand" && "$cand" -c 'import yaml' 2>/dev/null; then
		py=$cand
		break
	fi
done

parse_yaml() { # file: exits non-zero when the file is not valid YAML
	if [ -n "$py" ]; then
		"$py" -c 'import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))' "$1"
	elif have ruby; then
		ruby -ryaml -e 'YAML.load_stream(File.read(ARGV[0]))' "$1"
	else
		# Structural fallback: no tabs in indentation, even indentation, and each document names apiVersion and
		# kind at the top level. Catches the usual hand-editing slips, not every YAML error.
		awk '
			/^\t/ || /^ *\t/ { print FILENAME ":" FNR ": tab in indentation"; bad = 1 }
			/^ +[^ #]/ { n = match($0, /[^ ]/) - 1; if (n % 2) { print FILENAME ":" FNR ": odd indentation"; bad = 1 } }
			/^---/ { if (body && !(api && kind)) { print FILENAME ": document without apiVersion/kind"; bad = 1 } api = kind = body = 0; next }
			/^apiVersion:/ { api = 1 } /^kind:/ { kind = 1 } /^[a-z]/ { body = 1 }
			END { if (body && !(api && kind)) { print FILENAME ": document without apiVersion/kind"; bad = 1 } exit bad }
		' "$1"
	fi
}

if [ -n "$py" ]; then
	echo "parser: $py with PyYAML"
elif have ruby; then
	echo "parser: ruby -ryaml"
else
	echo "parser: structural fallback (no PyYAML, no ruby)"
fi

# The parser must reject a broken file, or every "ok" below means nothing.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [broken\n\tdata: x\n' >"$work/broken.yaml"
if parse_yaml "$work/broken.yaml" >/dev/null 2>&1; then
	fail "the YAML check accepts a broken file"
else
	pass "the YAML check rejects a broken file"
fi
for f in "${manifests[@]}"; do
	if out=$(parse_yaml "$f" 2>&1); then
		pass "${f#"$root"/}"
	else
		fail "${f#"$root"/}: $out"
	fi
done

# ---------------------------------------------------------------------------------------------------------------
section "Kubernetes rules"

if [ -z "$py" ]; then
	skip "manifest rules need PyYAML (apt-get install python3-yaml)"
else
	while IFS= read -r line; do
		case $line in
		ok\ *) pass "${line#ok }" ;;
		FAIL\ *) fail "${line#FAIL }" ;;
		*) echo "$line" ;;
		esac
	done < <("$py" - "$here/kubernetes" <<'PY'
import glob, os, re, sys, yaml

d = sys.argv[1]
docs = []  # (file, doc) of the main directory, applied by its kustomization.yaml
extra = []  # (file, doc) of optional subdirectories (cert-manager/)
for f in sorted(glob.glob(os.path.join(d, "*.yaml")) + glob.glob(os.path.join(d, "*", "*.yaml"))):
    for doc in yaml.safe_load_all(open(f)):
        if doc is not None:
            (docs if os.path.dirname(f) == d else extra).append((os.path.relpath(f, d), doc))

def report(ok, what):
    print(("ok " if ok else "FAIL ") + what)

def seconds(v):
    m = re.fullmatch(r"(\d+)(ms|s|m)", str(v))
    if not m:
        return None
    n, u = int(m.group(1)), m.group(2)
    return n / 1000 if u == "ms" else n * 60 if u == "m" else n

def mib(v):
    m = re.fullmatch(r"(\d+)(Mi|Gi|MiB|GiB)", str(v))
    if not m:
        return None
    return int(m.group(1)) * (1024 if m.group(2).startswith("G") else 1)

configmaps = {doc["metadata"]["name"]: doc.get("data", {}) for _, doc in docs if doc.get("kind") == "ConfigMap"}

# Every object is complete and in the instance's namespace (set by kustomization.yaml).
kust = [doc for f, doc in docs if f == "kustomization.yaml"]
for f, doc in docs:
    if f == "kustomization.yaml":
        continue
    name = (doc.get("metadata") or {}).get("name")
    report(bool(doc.get("apiVersion") and doc.get("kind") and name), f"{f}: {doc.get('kind')}/{name} has apiVersion, kind, metadata.name")

# kustomization.yaml lists exactly the manifests of the directory.
if kust:
    listed = set(kust[0].get("resources", []))
    present = {os.path.basename(p) for p in glob.glob(os.path.join(d, "*.yaml"))} - {"kustomization.yaml"}
    report(listed == present, f"kustomization.yaml lists every manifest (missing {sorted(present - listed)}, unknown {sorted(listed - present)})")
    report(kust[0].get("namespace") == "cus-rawicz", "kustomization.yaml puts everything in namespace cus-rawicz")
else:
    report(False, "kustomization.yaml present")

def pod_spec(doc):
    k = doc.get("kind")
    if k in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return doc["spec"]["template"]["spec"]
    if k == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None

for f, doc in docs:
    spec = pod_spec(doc)
    if spec is None:
        continue
    kind, name = doc["kind"], doc["metadata"]["name"]
    who = f"{kind}/{name}"
    psc = spec.get("securityContext", {})
    report(psc.get("runAsNonRoot") is True, f"{who}: runAsNonRoot")
    report((psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault", f"{who}: seccomp RuntimeDefault")
    report(spec.get("automountServiceAccountToken") is False, f"{who}: no service account token")
    report(spec.get("enableServiceLinks") is False, f"{who}: no Service link variables (they share our CUS_ prefix)")
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        cw = f"{who} container {c['name']}"
        sc = c.get("securityContext", {})
        report(sc.get("readOnlyRootFilesystem") is True, f"{cw}: read-only root filesystem")
        report(sc.get("allowPrivilegeEscalation") is False, f"{cw}: no privilege escalation")
        report("ALL" in ((sc.get("capabilities") or {}).get("drop") or []), f"{cw}: drops ALL capabilities")
        res = c.get("resources", {})
        report(all(k in res.get(s, {}) for s in ("requests", "limits") for k in ("cpu", "memory")), f"{cw}: cpu and memory requests and limits")
        image = c.get("image", "")
        report(":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{cw}: image {image} has a pinned tag")
        if kind in ("Deployment", "StatefulSet"):
            report("readinessProbe" in c and "livenessProbe" in c, f"{cw}: readiness and liveness probes")
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        for ef in c.get("envFrom", []):
            ref = (ef.get("configMapRef") or {}).get("name")
            report(ref in configmaps, f"{cw}: envFrom ConfigMap {ref} exists")
            env.update({k: v for k, v in configmaps.get(ref, {}).items() if k not in env})
        limit = mib(res.get("limits", {}).get("memory"))
        if "GOMEMLIMIT" in env:
            report(limit is not None and mib(env["GOMEMLIMIT"]) is not None and mib(env["GOMEMLIMIT"]) < limit,
                   f"{cw}: GOMEMLIMIT {env['GOMEMLIMIT']} below the memory limit {res.get('limits', {}).get('memory')}")
        if kind in ("Deployment", "StatefulSet"):
            grace = seconds(env.get("CUS_SHUTDOWN_GRACE", "10s"))
            sleep = (((c.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}).get("seconds", 0)
            tgp = spec.get("terminationGracePeriodSeconds", 30)
            report(grace is not None and tgp > grace + sleep,
                   f"{cw}: terminationGracePeriodSeconds {tgp} > preStop {sleep}s + CUS_SHUTDOWN_GRACE {env.get('CUS_SHUTDOWN_GRACE', '10s')}")

by_name = {(doc["kind"], doc["metadata"]["name"]): doc for _, doc in docs if "metadata" in doc}

# The services: each keeps one bbolt file (one writer), so one replica; probes that can pass against its TLS gRPC
# port; files named by its variables on mounted volumes; data on a volume only one node (referral: one pod) mounts.
services = {"provider": (7002, 9102), "catalogue": (7001, 9101), "referral": (7003, 9103)}
admin_ports = {a for _, a in services.values()}
sts_of = {}
for svc, (grpc_port, admin_port) in services.items():
    name = f"cus-{svc}"
    sts = by_name.get(("StatefulSet", name))
    report(sts is not None, f"StatefulSet/{name} exists")
    if not sts:
        continue
    sts_of[svc] = sts
    report(sts["spec"].get("replicas") == 1, f"StatefulSet/{name}: exactly 1 replica (bbolt is single-writer)")
    c = sts["spec"]["template"]["spec"]["containers"][0]
    cenv = configmaps.get(name, {})
    report(bool(cenv), f"StatefulSet/{name}: ConfigMap {name} exists")
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    tls = bool(cenv.get("CUS_TLS_CERT"))
    report(tls, f"StatefulSet/{name}: serves TLS (CUS_TLS_CERT; plaintext is refused off loopback)")
    for p in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = c.get(p) or {}
        action = next((a for a in ("grpc", "tcpSocket", "httpGet", "exec") if a in probe), None)
        port = (probe.get(action) or {}).get("port") if action in ("grpc", "tcpSocket", "httpGet") else None
        if p == "livenessProbe":
            report(ports.get(port, port) == grpc_port, f"StatefulSet/{name}: {p} checks the gRPC port {grpc_port} ({action})")
        else:
            # Readiness must follow grpc.health.v1 (NOT_SERVING while the service loads or drains): the admin
            # port's /readyz says it over plaintext HTTP; a TCP check passes as soon as the port opens.
            path = (probe.get("httpGet") or {}).get("path")
            report(action == "httpGet" and path == "/readyz" and ports.get(port, port) == admin_port,
                   f"StatefulSet/{name}: {p} asks /readyz on the admin port {admin_port} ({action} {path})")
        if tls:
            # The kubelet's gRPC probe cannot speak TLS: it would never pass against a TLS-only port.
            report(action != "grpc", f"StatefulSet/{name}: {p} is no plaintext grpc probe against the TLS port")
    report(cenv.get("CUS_LISTEN", "").endswith(f":{grpc_port}") and cenv.get("CUS_ADMIN_LISTEN", "").endswith(f":{admin_port}"),
           f"StatefulSet/{name}: listens on gRPC {grpc_port} and admin {admin_port}")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    for var in ("CUS_DATA_DIR", "CUS_TLS_CERT", "CUS_TLS_KEY", "CUS_CLIENT_CA", "CUS_JWKS_FILE", "CUS_BACKEND_CA",
                "CUS_PESEL_KEY_FILE", "CUS_DATA_KEY_FILE", "CUS_SERVICE_TOKEN_FILE", "CUS_INCOME_CRITERIA_FILE", "CUS_PEERS_FILE", "CUS_AUDIT_ANCHOR_FILE"):
        if cenv.get(var):
            report(any(cenv[var].startswith(m + "/") for m in mounts), f"StatefulSet/{name}: {var} {cenv[var]} is on a mounted volume")
    report(not cenv.get("CUS_DEV_KEYS_DIR"), f"StatefulSet/{name}: no development keys")
    claims = sts["spec"].get("volumeClaimTemplates", [])
    modes = {m for t in claims for m in t["spec"].get("accessModes", [])}
    report(bool(claims) and modes <= {"ReadWriteOnce", "ReadWriteOncePod"}, f"StatefulSet/{name}: ReadWriteOnce(Pod) volume claim (got {sorted(modes)})")

# The referral service holds residents' personal data (GDPR art. 9).
ref = sts_of.get("referral")
if ref:
    rspec = ref["spec"]["template"]["spec"]
    renv = configmaps.get("cus-referral", {})
    c = rspec["containers"][0]
    vols = {v["name"]: v for v in rspec.get("volumes", [])}
    key = renv.get("CUS_PESEL_KEY_FILE", "")
    # The key is a Secret mounted on its own, never left to default to <data-dir>/pesel.key on the data volume.
    mount = next((m for m in c.get("volumeMounts", []) if key.startswith(m["mountPath"] + "/")), None)
    secret = ((vols.get(mount["name"]) if mount else None) or {}).get("secret") or {}
    report(bool(key) and bool(secret.get("secretName")) and not secret.get("optional", False),
           f"StatefulSet/cus-referral: CUS_PESEL_KEY_FILE {key!r} on a required Secret volume ({secret.get('secretName')})")
    report(not key.startswith(renv.get("CUS_DATA_DIR", "/nonexistent") + "/") and "persistentVolumeClaim" not in (vols.get(mount["name"]) if mount else {}),
           "StatefulSet/cus-referral: the PESEL key is not on the data volume")
    report(secret.get("defaultMode", 0o644) & 0o007 == 0, f"StatefulSet/cus-referral: PESEL key Secret mode {oct(secret.get('defaultMode', 0o644))} gives others nothing")
    # Referenced, not committed: no manifest defines that Secret, with or without a value.
    committed = [f for f, doc in docs + extra if doc.get("kind") == "Secret" and (doc.get("metadata") or {}).get("name") == secret.get("secretName")]
    kgen = [g for k in kust for g in k.get("secretGenerator", []) if g.get("name") == secret.get("secretName")]
    report(not committed and not kgen, f"Secret/{secret.get('secretName')} is referenced, not committed (found in {committed + [k['name'] for k in kgen]})")
    report(any("ReadWriteOncePod" in t["spec"].get("accessModes", []) for t in ref["spec"].get("volumeClaimTemplates", [])),
           "StatefulSet/cus-referral: data volume is ReadWriteOncePod (one pod only)")
    # The audit anchors prove nothing if they travel with the data: on a volume of their own, not the data's, and
    # copied to the log store by a second container that mounts that volume (an emptyDir would lose them).
    anchor = renv.get("CUS_AUDIT_ANCHOR_FILE", "")
    amount = next((m for m in c.get("volumeMounts", []) if anchor.startswith(m["mountPath"] + "/")), None)
    dmount = next((m for m in c.get("volumeMounts", []) if renv.get("CUS_DATA_DIR", "/nonexistent").startswith(m["mountPath"] + "/")), None)
    claims = {t["metadata"]["name"] for t in ref["spec"].get("volumeClaimTemplates", [])}
    report(bool(anchor) and amount is not None and amount["name"] in claims and (dmount or {}).get("name") != amount["name"],
           f"StatefulSet/cus-referral: CUS_AUDIT_ANCHOR_FILE {anchor!r} on a claim of its own, not the data volume")
    shipper = [x for x in rspec["containers"][1:] if amount and any(m["name"] == amount["name"] for m in x.get("volumeMounts", []))]
    report(bool(shipper) and any(anchor in " ".join(x.get("command", []) + x.get("args", [])) for x in shipper),
           "StatefulSet/cus-referral: a second container copies the audit anchors to the log store")
    # No other workload mounts the referral service's volumes: its data claims (data-cus-referral-N) and its
    # backups claim are each used by one owner only.
    for f, doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        owner = doc["metadata"]["name"]
        for v in spec.get("volumes", []):
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName", "")
            if claim.startswith("data-cus-referral") or claim.startswith("audit-cus-referral") or claim.startswith("cus-referral-backup"):
                report(owner == "cus-referral-backup" and claim.startswith("cus-referral-backup"),
                       f"{doc['kind']}/{owner}: mounts the referral service's claim {claim} (only its backup job may)")
            if claim.startswith("cus-referral-backup"):
                pass
    for f, doc in docs:
        if doc.get("kind") == "PersistentVolumeClaim" and doc["metadata"]["name"].startswith("cus-referral"):
            report("ReadWriteOncePod" in doc["spec"].get("accessModes", []), f"PersistentVolumeClaim/{doc['metadata']['name']}: ReadWriteOncePod")
    # Backups of personal data are written owner-only.
    cj = by_name.get(("CronJob", "cus-referral-backup"))
    script = "".join(str(a) for a in (cj or {}).get("spec", {}).get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])[0].get("args", []))
    report(cj is not None and re.search(r"^\s*umask 0?077\b", script, re.M) is not None, "CronJob/cus-referral-backup: writes its copies owner-only (umask 077)")

# Every service has a backup CronJob on a claim of its own, reaching its admin URL.
for svc, (_, admin_port) in services.items():
    cj = by_name.get(("CronJob", f"cus-{svc}-backup"))
    report(cj is not None, f"CronJob/cus-{svc}-backup exists")
    if cj:
        c = pod_spec(cj)["containers"][0]
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        report(env.get("CUS_ADMIN_URL") == f"http://cus-{svc}-admin:{admin_port}", f"CronJob/cus-{svc}-backup: CUS_ADMIN_URL is its service's admin Service ({env.get('CUS_ADMIN_URL')})")
        claims = [v["persistentVolumeClaim"].get("claimName") for v in pod_spec(cj).get("volumes", []) if "persistentVolumeClaim" in v]
        report(claims == [f"cus-{svc}-backups"], f"CronJob/cus-{svc}-backup: writes to its own claim cus-{svc}-backups (got {claims})")
        # /backup needs an admin token: the job reads it from a Secret it mounts, at the path CUS_TOKEN_FILE names.
        secrets = {m.get("mountPath") for v in pod_spec(cj).get("volumes", []) if "secret" in v
                   for m in c.get("volumeMounts", []) if m.get("name") == v.get("name")}
        tf = env.get("CUS_TOKEN_FILE") or ""
        report(any(tf.startswith(p.rstrip("/") + "/") for p in secrets if p), f"CronJob/cus-{svc}-backup: sends an admin token from a mounted Secret (CUS_TOKEN_FILE {tf!r})")

# The gateway: readiness and liveness that do not follow the backends. /healthz answers 503 when any one backend
# is down; with more than one backend, readiness on it would take the whole API out for one service's restart.
gw = by_name.get(("Deployment", "cus-gateway"))
report(gw is not None, "Deployment/cus-gateway exists")
genv = configmaps.get("cus-gateway", {})
if gw:
    c = gw["spec"]["template"]["spec"]["containers"][0]
    report(gw["spec"].get("replicas", 1) >= 2, "Deployment/cus-gateway: at least 2 replicas")
    nback = sum(1 for v in ("CUS_CATALOGUE_ADDR", "CUS_PROVIDER_ADDR", "CUS_REFERRAL_ADDR") if genv.get(v))
    rpath = (c.get("readinessProbe") or {}).get("httpGet", {}).get("path")
    report("readinessProbe" in c and (nback <= 1 or rpath != "/healthz"),
           f"Deployment/cus-gateway: readiness does not fail on one of its {nback} backends (not /healthz)")
    report("tcpSocket" in (c.get("livenessProbe") or {}), "Deployment/cus-gateway: liveness is a TCP probe, not /healthz")
    mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
    for var in ("CUS_BACKEND_CA", "CUS_CLIENT_CERT", "CUS_CLIENT_KEY"):
        if genv.get(var):
            report(any(genv[var].startswith(m + "/") for m in mounts), f"Deployment/cus-gateway: {var} {genv[var]} is on a mounted volume")
    # A gateway client certificate currently turns anonymous web calls into integration calls (README, Security).
    report(not genv.get("CUS_CLIENT_CERT"), "Deployment/cus-gateway: presents no client certificate to the services")

# TLS between the pods: every address a caller dials names a certificate cert-manager/ issues into the Secret the
# service mounts, from the one internal CA whose ca.crt the caller mounts.
certs = {doc["spec"].get("secretName"): doc for _, doc in extra if doc.get("kind") == "Certificate" and not doc["spec"].get("isCA")}
def secrets_of(doc):
    return {v["secret"]["secretName"] for v in pod_spec(doc).get("volumes", []) if "secret" in v}
callers = [("Deployment/cus-gateway", gw, genv)] + ([("StatefulSet/cus-referral", ref, configmaps.get("cus-referral", {}))] if ref else [])
for who, doc, env in callers:
    if not doc:
        continue
    report(bool(env.get("CUS_BACKEND_CA")), f"{who}: verifies the services with CUS_BACKEND_CA")
    issuers = {certs[s]["spec"]["issuerRef"]["name"] for s in secrets_of(doc) if s in certs}
    for var, svc in (("CUS_CATALOGUE_ADDR", "catalogue"), ("CUS_PROVIDER_ADDR", "provider"), ("CUS_REFERRAL_ADDR", "referral")):
        addr = env.get(var)
        if not addr:
            continue
        host = addr.rsplit(":", 1)[0]
        target = sts_of.get(svc)
        tsecrets = secrets_of(target) if target else set()
        ok = any(host in cert["spec"].get("dnsNames", []) and sec in tsecrets and cert["spec"]["issuerRef"]["name"] in issuers
                 for sec, cert in certs.items())
        report(ok, f"cert-manager/: {who} dials {host!r} ({var}); a certificate names it, in a Secret cus-{svc} mounts, from the CA the caller trusts")
        report(addr.endswith(f":{services[svc][0]}"), f"{who}: {var} {addr} is the gRPC port {services[svc][0]}")

# The admin ports (/metrics, and /backup behind an admin token) are never published beyond the cluster, and
# only on headless Services.
for (kind, name), doc in by_name.items():
    if kind != "Service":
        continue
    spec = doc["spec"]
    ports = {p.get("port") for p in spec.get("ports", [])} | {p.get("targetPort") for p in spec.get("ports", [])}
    if ports & admin_ports or "admin" in ports:
        report(spec.get("type", "ClusterIP") == "ClusterIP" and spec.get("clusterIP") == "None",
               f"Service/{name}: admin port only on a headless cluster-internal Service")
    report(spec.get("type", "ClusterIP") == "ClusterIP", f"Service/{name}: ClusterIP (published through an Ingress, not a node port)")
report(not any(doc.get("kind") == "Ingress" and any(str(a) in str(doc) for a in admin_ports) for _, doc in docs),
       "no Ingress routes to an admin port")

# NetworkPolicy: default deny; each service's gRPC port admits exactly its callers, its admin port only its
# backup job and monitoring.
report(any(doc.get("kind") == "NetworkPolicy" and doc["spec"].get("podSelector") == {} and "Ingress" in doc["spec"].get("policyTypes", [])
           for _, doc in docs), "NetworkPolicy: default deny of ingress")
allowed = {
    "catalogue": ["cus-gateway", "cus-provider", "cus-referral"],
    "provider": ["cus-catalogue", "cus-gateway", "cus-referral"],
    "referral": ["cus-gateway"],
}
def admitted(np, port):
    rules = [r.get("from", []) for r in np["spec"].get("ingress", []) if any(p.get("port") == port for p in r.get("ports", []))]
    if any(not fr for fr in rules):
        return None  # a rule without "from" admits everyone
    pods = sorted((s.get("podSelector") or {}).get("matchLabels", {}).get("app.kubernetes.io/name") or "?" for fr in rules for s in fr if "podSelector" in s)
    nss = sorted((s.get("namespaceSelector") or {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") or "?" for fr in rules for s in fr if "namespaceSelector" in s)
    return pods, nss
for svc, (grpc_port, admin_port) in services.items():
    np = by_name.get(("NetworkPolicy", f"cus-{svc}"))
    if not np:
        report(False, f"NetworkPolicy/cus-{svc} exists")
        continue
    got = admitted(np, grpc_port)
    report(got == (allowed[svc], []), f"NetworkPolicy/cus-{svc}: gRPC {grpc_port} admits only {allowed[svc]} (got {got})")
    got = admitted(np, admin_port)
    report(got == ([f"cus-{svc}-backup"], ["monitoring"]), f"NetworkPolicy/cus-{svc}: admin {admin_port} admits only its backup job and monitoring (got {got})")
# The referral service's egress: only the services it calls, DNS and HTTPS (the OIDC issuer).
np = by_name.get(("NetworkPolicy", "cus-referral"))
if np:
    eg = np["spec"].get("egress", [])
    ports = sorted({p.get("port") for r in eg for p in r.get("ports", [])})
    report("Egress" in np["spec"].get("policyTypes", []) and all(r.get("ports") for r in eg) and set(ports) <= {53, 443, 7001, 7002},
           f"NetworkPolicy/cus-referral: egress limited to DNS, HTTPS and the catalogue and provider ports (got {ports})")
PY
)
fi

# ---------------------------------------------------------------------------------------------------------------
section "Kubernetes rules: replicas over etcd (kubernetes-ha)"

# The overlays are checked as applied: rendered by `kubectl kustomize` when it is installed, otherwise by the
# small renderer below, which knows exactly the kustomize features the overlays use and fails on any other (so a
# new construct cannot slip past unchecked).
if [ -z "$py" ]; then
	skip "overlay rules need PyYAML (apt-get install python3-yaml)"
else
	for overlay in "$here"/kubernetes-ha "$here"/kubernetes-ha/external-etcd; do
		rendered=""
		if have kubectl; then
			rendered="$work/overlay.yaml"
			kubectl kustomize "$overlay" >"$rendered" 2>"$work/overlay.err" || {
				fail "kubectl kustomize ${overlay#"$root"/}: $(head -3 "$work/overlay.err")"
				continue
			}
		fi
		while IFS= read -r line; do
			case $line in
			ok\ *) pass "${line#ok }" ;;
			FAIL\ *) fail "${line#FAIL }" ;;
			*) echo "$line" ;;
			esac
		done < <("$py" - "$overlay" "$here/kubernetes/cert-manager" "$rendered" <<'PY'
import copy, fnmatch, glob, os, re, sys, yaml

overlay, certdir, rendered = sys.argv[1], sys.argv[2], sys.argv[3]
name_of = os.path.relpath(overlay, os.path.dirname(os.path.dirname(overlay)) if overlay.endswith("external-etcd") else os.path.dirname(overlay))

def report(ok, what):
    print(("ok " if ok else "FAIL ") + f"{name_of}: {what}")

def load(path):
    return [d for d in yaml.safe_load_all(open(path)) if d is not None]

def render(d, component=False):
    """kustomize build of d, for the features the overlays use: resources (files and directories), components,
    namespace, labels, strategic-merge patches of ConfigMap data, `$patch: delete`, and JSON 6902 `add`."""
    k = load(os.path.join(d, "kustomization.yaml"))[0]
    known = {"apiVersion", "kind", "namespace", "labels", "resources", "components", "patches", "images"}
    if set(k) - known:
        raise SystemExit(f"FAIL {d}: kustomization fields the check cannot render: {sorted(set(k) - known)}")
    docs = []
    for r in k.get("resources", []):
        p = os.path.normpath(os.path.join(d, r))
        docs += render(p) if os.path.isdir(p) else load(p)
    for c in k.get("components", []):
        docs = apply(render_component(os.path.normpath(os.path.join(d, c)), docs), None)
    docs = apply(docs, (d, k.get("patches", [])))
    for doc in docs:
        if k.get("namespace") and doc.get("kind") not in ("Namespace",):
            doc.setdefault("metadata", {})["namespace"] = k["namespace"]
    return docs

def render_component(d, docs):
    k = load(os.path.join(d, "kustomization.yaml"))[0]
    if k.get("kind") != "Component" or set(k) - {"apiVersion", "kind", "resources", "patches"}:
        raise SystemExit(f"FAIL {d}: not a Component the check can render")
    docs = docs + [x for r in k.get("resources", []) for x in load(os.path.join(d, r))]
    return apply(docs, (d, k.get("patches", [])))

def apply(docs, patches):
    if not patches:
        return docs
    d, ps = patches
    for p in ps:
        if "path" in p:
            smp = load(os.path.join(d, p["path"]))
        elif "target" in p:
            ops = yaml.safe_load(p["patch"])
            t = p["target"]
            hits = [x for x in docs if x.get("kind") == t.get("kind") and x["metadata"]["name"] == t.get("name")]
            if len(hits) != 1:
                raise SystemExit(f"FAIL {d}: patch target {t} matches {len(hits)} objects")
            for op in ops:
                if op.get("op") != "add" or not op["path"].endswith("/-"):
                    raise SystemExit(f"FAIL {d}: JSON patch {op} is not an append the check can render")
                node = hits[0]
                for part in op["path"].strip("/").split("/")[:-1]:
                    node = node[part]
                node.append(op["value"])
            continue
        else:
            smp = load_str(p["patch"])
        for s in smp:
            key = (s["kind"], s["metadata"]["name"])
            hits = [x for x in docs if (x.get("kind"), x["metadata"]["name"]) == key]
            if len(hits) != 1:
                raise SystemExit(f"FAIL {d}: patch of {key} matches {len(hits)} objects")
            if s.get("$patch") == "delete":
                docs = [x for x in docs if x is not hits[0]]
            elif s["kind"] == "ConfigMap" and set(s) <= {"apiVersion", "kind", "metadata", "data"}:
                hits[0].setdefault("data", {}).update(s.get("data", {}))
            else:
                raise SystemExit(f"FAIL {d}: strategic merge patch of {key} the check cannot render")
    return docs

def load_str(text):
    return [d for d in yaml.safe_load_all(text) if d is not None]

docs = load(rendered) if rendered else render(overlay)
by = {(x["kind"], x["metadata"]["name"]): x for x in docs}
configmaps = {n: x.get("data", {}) for (kind, n), x in by.items() if kind == "ConfigMap"}
certs = [x for x in load(os.path.join(certdir, "certificates.yaml")) + docs if x.get("kind") == "Certificate"]

def seconds(v):
    m = re.fullmatch(r"(\d+)(ms|s|m)", str(v))
    return None if not m else int(m.group(1)) / 1000 if m.group(2) == "ms" else int(m.group(1)) * (60 if m.group(2) == "m" else 1)

def mib(v):
    m = re.fullmatch(r"(\d+)(Mi|Gi|MiB|GiB)", str(v))
    return None if not m else int(m.group(1)) * (1024 if m.group(2).startswith("G") else 1)

def env_of(c, who=None):
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    for ef in c.get("envFrom", []):
        ref = (ef.get("configMapRef") or {}).get("name")
        if who:
            report(ref in configmaps, f"{who}: envFrom ConfigMap {ref} exists")
        env.update({k: v for k, v in configmaps.get(ref, {}).items() if k not in env})
    return env

def names_host(cert, host):
    return any(fnmatch.fnmatchcase(host, n) if n.startswith("*.") and host.count(".") == n.count(".") else host == n
               for n in cert["spec"].get("dnsNames", []))

def pod_rules(who, spec, kind):
    psc = spec.get("securityContext", {})
    report(psc.get("runAsNonRoot") is True and (psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
           f"{who}: runAsNonRoot, seccomp RuntimeDefault")
    report(spec.get("automountServiceAccountToken") is False and spec.get("enableServiceLinks") is False,
           f"{who}: no service account token, no Service link variables")
    aff = (spec.get("affinity") or {}).get("podAntiAffinity") or {}
    report(bool(aff.get("requiredDuringSchedulingIgnoredDuringExecution") or aff.get("preferredDuringSchedulingIgnoredDuringExecution")),
           f"{who}: pod anti-affinity spreads the replicas over nodes")
    for c in spec.get("containers", []):
        cw = f"{who} container {c['name']}"
        sc = c.get("securityContext", {})
        report(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False and "ALL" in ((sc.get("capabilities") or {}).get("drop") or []),
               f"{cw}: read-only root filesystem, no privilege escalation, no capabilities")
        res = c.get("resources", {})
        report(all(k in res.get(s, {}) for s in ("requests", "limits") for k in ("cpu", "memory")), f"{cw}: cpu and memory requests and limits")
        image = c.get("image", "")
        report(":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{cw}: image {image} has a pinned tag")
        report("readinessProbe" in c and "livenessProbe" in c, f"{cw}: readiness and liveness probes")
        env = env_of(c, cw)
        limit = mib(res.get("limits", {}).get("memory"))
        if "GOMEMLIMIT" in env:
            report(limit is not None and mib(env["GOMEMLIMIT"]) is not None and mib(env["GOMEMLIMIT"]) < limit,
                   f"{cw}: GOMEMLIMIT {env['GOMEMLIMIT']} below the memory limit {res.get('limits', {}).get('memory')}")
    return env_of(spec["containers"][0])

def pdb_of(name):
    return next((x for x in docs if x.get("kind") == "PodDisruptionBudget" and
                 x["spec"].get("selector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == name), None)

def mounted(spec, c, path):
    """The volume holding path in container c, or None."""
    m = next((m for m in c.get("volumeMounts", []) if path.startswith(m["mountPath"].rstrip("/") + "/")), None)
    return next((v for v in spec.get("volumes", []) if m and v["name"] == m["name"]), None)

services = {"catalogue": (7001, 9101), "provider": (7002, 9102), "referral": (7003, 9103)}
for svc, (grpc_port, admin_port) in services.items():
    name = f"cus-{svc}"
    report(("StatefulSet", name) not in by, f"the base's one-replica StatefulSet/{name} is gone")
    dep = by.get(("Deployment", name))
    report(dep is not None, f"Deployment/{name} exists")
    if not dep:
        continue
    who = f"Deployment/{name}"
    report(dep["spec"].get("replicas", 1) >= 2, f"{who}: at least 2 replicas")
    ru = (dep["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    report(str(ru.get("maxUnavailable")) == "0", f"{who}: rolling updates start a new replica before stopping an old one (maxUnavailable 0)")
    spec = dep["spec"]["template"]["spec"]
    env = pod_rules(who, spec, "Deployment")
    c = spec["containers"][0]
    report(not any("persistentVolumeClaim" in v for v in spec.get("volumes", [])), f"{who}: no volume claim (the records are in etcd)")
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    for p in ("startupProbe", "readinessProbe"):
        probe = (c.get(p) or {}).get("httpGet") or {}
        report(probe.get("path") == "/readyz" and ports.get(probe.get("port"), probe.get("port")) == admin_port,
               f"{who}: {p} asks /readyz on the admin port {admin_port}")
    pdb = pdb_of(name)
    report(pdb is not None and pdb["spec"].get("minAvailable", 0) >= 1 and pdb["spec"].get("minAvailable", 0) < dep["spec"].get("replicas", 1),
           f"{who}: a PodDisruptionBudget keeps at least one replica and lets one go (minAvailable {pdb and pdb['spec'].get('minAvailable')})")
    drain, grace = seconds(env.get("CUS_DRAIN_PERIOD", "0s")), seconds(env.get("CUS_SHUTDOWN_GRACE", "10s"))
    tgp = spec.get("terminationGracePeriodSeconds", 30)
    report(drain is not None and drain > 0 and grace is not None and tgp > drain + grace,
           f"{who}: drains (CUS_DRAIN_PERIOD {env.get('CUS_DRAIN_PERIOD')}) and terminationGracePeriodSeconds {tgp} > drain + CUS_SHUTDOWN_GRACE {env.get('CUS_SHUTDOWN_GRACE', '10s')}")
    report(env.get("CUS_STORAGE_ENGINE") == "etcd", f"{who}: CUS_STORAGE_ENGINE etcd (got {env.get('CUS_STORAGE_ENGINE')})")
    eps = [e for e in (env.get("CUS_ETCD_ENDPOINTS") or "").split(",") if e]
    report(len(eps) >= 3 and all(e.startswith("https://") for e in eps), f"{who}: CUS_ETCD_ENDPOINTS names three or more members over https ({len(eps)})")
    for var in ("CUS_DATA_DIR", "CUS_TLS_CERT", "CUS_TLS_KEY", "CUS_BACKEND_CA", "CUS_PESEL_KEY_FILE", "CUS_DATA_KEY_FILE",
                "CUS_AUDIT_ANCHOR_FILE", "CUS_ETCD_CERT", "CUS_ETCD_KEY", "CUS_ETCD_CA"):
        if env.get(var):
            report(mounted(spec, c, env[var]) is not None, f"{who}: {var} {env[var]} is on a mounted volume")
    for var in ("CUS_ETCD_CERT", "CUS_ETCD_KEY", "CUS_ETCD_CA"):
        v = mounted(spec, c, env.get(var) or "/nonexistent") or {}
        report(bool(env.get(var)) and (v.get("secret") or {}).get("secretName") == "cus-etcd-client" and not v["secret"].get("optional", False),
               f"{who}: {var} from the required Secret cus-etcd-client")

# The callers dial every replica: dns:/// of a headless Service that selects the service's pods on its gRPC
# port, a name its certificate carries.
callers = {"cus-gateway": ("CUS_CATALOGUE_ADDR", "CUS_PROVIDER_ADDR", "CUS_REFERRAL_ADDR"),
           "cus-provider": ("CUS_CATALOGUE_ADDR",), "cus-referral": ("CUS_CATALOGUE_ADDR", "CUS_PROVIDER_ADDR")}
target_of = {"CUS_CATALOGUE_ADDR": "catalogue", "CUS_PROVIDER_ADDR": "provider", "CUS_REFERRAL_ADDR": "referral"}
for caller, vars_ in callers.items():
    env = configmaps.get(caller, {})
    for var in vars_:
        addr, svc = env.get(var, ""), target_of[var]
        m = re.fullmatch(r"dns:///([a-z0-9.-]+):(\d+)", addr)
        report(m is not None, f"{caller}: {var} {addr!r} is dns:///<service>:<port> (every replica)")
        if not m:
            continue
        host, port = m.group(1), int(m.group(2))
        s = by.get(("Service", host.split(".")[0]))
        report(s is not None and s["spec"].get("clusterIP") == "None" and
               s["spec"].get("selector", {}).get("app.kubernetes.io/name") == f"cus-{svc}" and
               any(p.get("port") == port for p in s["spec"].get("ports", [])) and port == services[svc][0],
               f"{caller}: {var} names the headless Service of cus-{svc}'s replicas on its gRPC port")
        report(any(names_host(crt, host) and crt["spec"].get("secretName") == f"cus-{svc}-tls" for crt in certs),
               f"{caller}: the certificate of cus-{svc} (cert-manager/) names {host!r}, which {var} dials")

# Nobody commits the etcd client key: the in-cluster overlay has cert-manager issue it, the external one has the
# operator create it.
secret_docs = [x for x in docs if x.get("kind") == "Secret" and x["metadata"]["name"] == "cus-etcd-client"]
issued = [x for x in certs if x["spec"].get("secretName") == "cus-etcd-client"]
report(not secret_docs, "Secret cus-etcd-client is not committed")

np = by.get(("NetworkPolicy", "cus-referral"))
report(np is not None and any(any(p.get("port") == 2379 for p in r.get("ports", [])) for r in np["spec"].get("egress", [])),
       "NetworkPolicy/cus-referral: egress admits etcd's client port 2379")

etcd = by.get(("StatefulSet", "cus-etcd"))
if etcd is None:
    report(not issued, "external etcd: no etcd of ours, and the client Secret is created by hand (not issued here)")
else:
    spec = etcd["spec"]["template"]["spec"]
    who = "StatefulSet/cus-etcd"
    env = pod_rules(who, spec, "StatefulSet")
    c = spec["containers"][0]
    n = etcd["spec"].get("replicas")
    report(n == 3, f"{who}: three members (a quorum of two survives one lost)")
    report(c.get("image") == "quay.io/coreos/etcd:v3.7.3", f"{who}: the official image, pinned (got {c.get('image')})")
    report(etcd["spec"].get("podManagementPolicy") == "Parallel", f"{who}: members start together (Parallel), as a quorum needs them")
    members = [m.split("=", 1)[0] for m in (env.get("ETCD_INITIAL_CLUSTER") or "").split(",") if m]
    report(members == [f"cus-etcd-{i}" for i in range(n or 0)], f"{who}: ETCD_INITIAL_CLUSTER names each member ({members})")
    req = (spec.get("affinity") or {}).get("podAntiAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    report(bool(req), f"{who}: at most one member per node (required anti-affinity)")
    for var in ("ETCD_CLIENT_CERT_AUTH", "ETCD_PEER_CLIENT_CERT_AUTH"):
        report(env.get(var) == "true", f"{who}: {var} (client certificates required)")
    for var in ("ETCD_LISTEN_CLIENT_URLS", "ETCD_ADVERTISE_CLIENT_URLS", "ETCD_LISTEN_PEER_URLS", "ETCD_INITIAL_ADVERTISE_PEER_URLS"):
        report((env.get(var) or "").startswith("https://"), f"{who}: {var} over https")
    issuer = {}
    for var in ("ETCD_TRUSTED_CA_FILE", "ETCD_CERT_FILE", "ETCD_KEY_FILE", "ETCD_PEER_TRUSTED_CA_FILE", "ETCD_PEER_CERT_FILE", "ETCD_PEER_KEY_FILE"):
        v = mounted(spec, c, env.get(var) or "/nonexistent") or {}
        sec = (v.get("secret") or {}).get("secretName")
        crt = next((x for x in certs if x["spec"].get("secretName") == sec), None)
        report(crt is not None, f"{who}: {var} from Secret {sec}, issued by cert-manager")
        if crt:
            issuer[var] = crt["spec"]["issuerRef"]["name"]
    client = next((x for x in issued), None)
    ca = {x["spec"]["issuerRef"]["name"] for x in certs if x["spec"].get("secretName") in ("cus-etcd-server", "cus-etcd-peer", "cus-etcd-client")}
    report(client is not None and len(ca) == 1 and "cus-internal-ca" not in ca and "client auth" in client["spec"].get("usages", []),
           f"{who}: server, peer and the services' client certificates from one etcd CA of their own, not the services' CA ({sorted(ca)})")
    server = next((x for x in certs if x["spec"].get("secretName") == "cus-etcd-server"), None)
    eps = (configmaps.get("cus-etcd-client", {}).get("CUS_ETCD_ENDPOINTS") or "").split(",")
    hosts = [re.sub(r"^https://|:\d+$", "", e) for e in eps if e]
    report(bool(hosts) and server is not None and all(names_host(server, h) for h in hosts),
           f"{who}: etcd's serving certificate names every endpoint the services dial")
    report(all(h.split(".")[0] in [f"cus-etcd-{i}" for i in range(n or 0)] for h in hosts) and len(hosts) == n,
           f"{who}: CUS_ETCD_ENDPOINTS lists each member once")
    svc = by.get(("Service", etcd["spec"].get("serviceName")))
    report(svc is not None and svc["spec"].get("clusterIP") == "None" and svc["spec"].get("publishNotReadyAddresses") is True,
           f"{who}: a headless governing Service publishing members before they are ready")
    pdb = pdb_of("cus-etcd")
    report(pdb is not None and pdb["spec"].get("minAvailable") == 2, f"{who}: PodDisruptionBudget minAvailable 2 (the quorum)")
    grace = spec.get("terminationGracePeriodSeconds", 30)
    report(grace >= 30, f"{who}: terminationGracePeriodSeconds {grace} lets a member hand leadership over")
    np = by.get(("NetworkPolicy", "cus-etcd"))
    got = sorted(s["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for r in (np or {"spec": {}})["spec"].get("ingress", [])
                 if any(p.get("port") == 2379 for p in r.get("ports", [])) for s in r.get("from", []) if "podSelector" in s)
    report(got == ["cus-catalogue", "cus-provider", "cus-referral"], f"NetworkPolicy/cus-etcd: the client port admits the three services only (got {got})")
PY
)
	done
fi

# ---------------------------------------------------------------------------------------------------------------
section "kustomize"

if have kubectl; then
	for k in "$here"/kubernetes "$here"/kubernetes/*/ "$here"/kubernetes-ha "$here"/kubernetes-ha/*/; do
		[ -f "$k/kustomization.yaml" ] || continue
		# A Component (kubernetes-ha/replicas) is rendered as part of the overlays that use it, not alone.
		grep -q '^kind: Component$' "$k/kustomization.yaml" && continue
		k=${k%/}
		if out=$(kubectl kustomize "$k" 2>&1 >"$work/rendered.yaml"); then
			pass "kubectl kustomize ${k#"$root"/} renders $(grep -c '^kind:' "$work/rendered.yaml") objects"
		else
			fail "kubectl kustomize ${k#"$root"/}: $out"
		fi
	done
else
	skip "kubectl not installed"
fi

# ---------------------------------------------------------------------------------------------------------------
section "environment variables are flags"

# Flags are read from the sources: fs.StringVar(&c.X, "flag-name", ...) and fs.String("flag-name", ...) in each
# binary's internal/app, following `c.Field.RegisterFlags(fs)` into the shared packages that declare them.
flag_names() { sed -nE 's/.*(^|[^A-Za-z0-9_])fs\.[A-Za-z0-9]+\((&[A-Za-z0-9_.]+, *)?"([a-z0-9][a-z0-9-]*)".*/\3/p'; }
func_body() { # type files...: the body of `func (x *type) RegisterFlags`
	local type=$1
	shift
	awk -v re="^func \\\\([a-z]+ \\\\*$type\\\\) RegisterFlags\\\\(" '$0 ~ re { f = 1 } f { print } f && /^}/ { f = 0 }' "$@"
}
type_flags() { # type files...: the flags the type's RegisterFlags declares, delegations followed
	local type=$1
	shift
	local body field ftype files
	body=$(func_body "$type" "$@")
	printf '%s\n' "$body" | flag_names
	for field in $(printf '%s\n' "$body" | sed -nE 's/.*[a-z]+\.([A-Za-z0-9_]+)\.RegisterFlags\(fs(, *[^)]*)?\).*/\1/p'); do
		ftype=$(awk -v t="$type" -v f="$field" '
			$0 ~ "^type " t " struct" { s = 1; next } s && /^}/ { s = 0 }
			s && $1 == f { n = split($2, a, "."); print a[n] }' "$@")
		[ -n "$ftype" ] || continue
		# Shared flag sets live in platform/ (e.g. grpcserver.SecurityFlags) or in a binary's own module.
		mapfile -t files < <(grep -RlE --include='*.go' "^func \([a-z]+ \*$ftype\) RegisterFlags\(" \
			"$root/platform" "$root/gateway" "$root/services" 2>/dev/null | grep -v '_test\.go$')
		[ ${#files[@]} -gt 0 ] && type_flags "$ftype" "${files[@]}"
	done
}
env_name() { tr 'a-z-' 'A-Z_' | sed 's/^/CUS_/'; }

# The binaries deploy/ runs are those with an example configuration (config/<binary>.env.example). A binary of
# the repository without one (a service under construction) is reported, not failed, until deploy/ takes it on.
declare -A appdir=()
deployed=""
for cfg in "$here"/config/*.env.example; do
	b=$(basename "$cfg" .env.example)
	[ "$b" = cus ] || deployed="$deployed $b"
done
for d in "$root/gateway" "$root"/services/*; do
	[ -d "$d" ] || continue
	b=$(basename "$d")
	if ls "$d"/internal/app/*.go >/dev/null 2>&1; then
		appdir[$b]="$d/internal/app"
	fi
	case " $deployed " in
	*" $b "*) ;;
	*) warn "${d#"$root"/} is in the repository but not deployed by deploy/ yet (no config/$b.env.example)" ;;
	esac
done
binaries=""
for b in $deployed; do
	if [ -n "${appdir[$b]:-}" ]; then
		binaries="$binaries $b"
	else
		fail "config/$b.env.example: the repository has no $b with internal/app/*.go"
	fi
done
binaries=${binaries# }

for b in $binaries; do
	srcs=()
	for f in "${appdir[$b]}"/*.go; do
		case $f in *_test.go) ;; *) srcs+=("$f") ;; esac
	done
	# Subcommands may declare their flags in a shared platform package the app imports (platform/backupcli).
	libs=()
	while IFS= read -r pkg; do
		for f in "$root/$pkg"/*.go; do
			case $f in *_test.go) ;; *) [ -f "$f" ] && libs+=("$f") ;; esac
		done
	done < <(sed -nE 's#.*"github\.com/cus-suite/cus/(platform/[a-z0-9/]+)".*#\1#p' "${srcs[@]}" | sort -u)
	# config: what `<binary> serve` reads; all: that plus the subcommands' flags (backup, restore, generate).
	# Sorted after the renaming: "peer-ca" sorts before "peers-file", CUS_PEER_CA after CUS_PEERS_FILE.
	type_flags Config "${srcs[@]}" | env_name | sort -u >"$work/config.$b"
	{ cat "$work/config.$b"; cat "${srcs[@]}" "${libs[@]}" | flag_names | env_name; } | sort -u >"$work/all.$b"
	n=$(wc -l <"$work/config.$b")
	if [ "$n" -ge 5 ]; then
		pass "$b: $n configuration flags, $(wc -l <"$work/all.$b") with subcommands (from ${appdir[$b]#"$root"/})"
	else
		fail "$b: only $n flags found in ${appdir[$b]#"$root"/}: has the way flags are declared changed?"
	fi
done
sort -u "$work"/all.* >"$work/all.any"
# "common" variables (cus.env, the cus-common ConfigMap) are read by every binary, so must mean a flag of each.
first=${binaries%% *}
cp "$work/config.$first" "$work/all.common"
for b in $binaries; do
	comm -12 "$work/all.common" "$work/config.$b" >"$work/tmp" && mv "$work/tmp" "$work/all.common"
done

# Lists "owner<TAB>VARIABLE<TAB>line" for every CUS_ variable of a file. The owner is the binary a variable is
# meant for: from the file name, a YAML document's metadata.name (cus-catalogue-backup -> catalogue,
# cus-common -> common) or a Containerfile stage; "any" where it cannot be told (README, shared comments).
variables_of() { # file
	local f=$1 owner=any yaml=0
	case $(basename "$f") in
	cus.env*) owner=common ;;
	*) for b in $binaries; do case $(basename "$f") in *"$b"*) owner=$b ;; esac; done ;;
	esac
	case $f in *.yaml | *.yml) yaml=1 ;; esac
	awk -v fileowner="$owner" -v yaml="$yaml" -v binaries="$binaries" '
		function resolve(v,   n, i, bs) {
			sub(/^cus-/, "", v)
			if (v == "common") return "common"
			n = split(binaries, bs, " ")
			for (i = 1; i <= n; i++) if (v == bs[i] || index(v, bs[i] "-") == 1) return bs[i]
			return fileowner
		}
		BEGIN { owner = fileowner }
		yaml && /^---/ { owner = fileowner; named = 0 }
		yaml && !named && /^  name: / { owner = resolve($2); named = 1 }
		!yaml && /^FROM .* [Aa][Ss] [a-z]+/ { owner = resolve($NF); if (owner == fileowner) owner = "any" }
		{
			line = $0
			while (match(line, /CUS_[A-Z0-9][A-Z0-9_]*/)) {
				print owner "\t" substr(line, RSTART, RLENGTH) "\t" FNR
				line = substr(line, RSTART + RLENGTH)
			}
		}' "$f"
}

# The etcd engine's variables, which kubernetes-ha/ sets, are declared by the storage engine's flags
# (platform/storage, issue 11), built at the same time as deploy/ and merged apart. Until a binary declares one of
# them it is reported with a warning, not failed; once any binary does, it is checked like every other variable.
# Delete this list when they are flags.
awaited=" CUS_STORAGE_ENGINE CUS_ETCD_ENDPOINTS CUS_ETCD_CERT CUS_ETCD_KEY CUS_ETCD_CA "

check_variables() { # file: prints one line per variable that is not a flag of its owner; status 1 if any
	local f=$1 owner var line bad=0
	while IFS=$'\t' read -r owner var line; do
		if ! grep -qx "$var" "$work/all.$owner"; then
			if [[ $awaited == *" $var "* ]] && ! grep -qx "$var" "$work/all.any"; then
				warn "${f#"$root"/}:$line: $var is no flag of any binary yet (awaited from the etcd engine)" >&2
				continue
			fi
			case $owner in
			any) echo "${f#"$root"/}:$line: $var is no flag of any binary" ;;
			common) echo "${f#"$root"/}:$line: $var (shared by every process) is not a flag of each binary" ;;
			*) echo "${f#"$root"/}:$line: $var is no flag of $owner" ;;
			esac
			bad=1
		fi
	done < <(variables_of "$f")
	return $bad
}

# The check must catch a misspelt variable, or its "ok" lines mean nothing.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cus-catalogue\ndata:\n  CUS_DATA_DIRECTORY: /x\n' \
	>"$work/catalogue-bad.yaml"
if check_variables "$work/catalogue-bad.yaml" >/dev/null; then
	fail "the variable check accepts CUS_DATA_DIRECTORY"
else
	pass "the variable check rejects a variable that is no flag (CUS_DATA_DIRECTORY)"
fi

mapfile -t files < <(ls "${manifests[@]}" "$here"/kubernetes/*.sh "$here"/systemd/* "$here"/config/* \
	"$here"/container/Containerfile "$here"/README.md 2>/dev/null)
for f in "${files[@]}"; do
	n=$(variables_of "$f" | wc -l)
	[ "$n" -gt 0 ] || continue
	if out=$(check_variables "$f"); then
		pass "${f#"$root"/}: $n CUS_ variables, all flags"
	else
		fail "${f#"$root"/}:"$'\n'"$out"
	fi
done

# The example configuration lists every variable of each binary: it is where operators look for a setting, so a
# flag added without its line there (value and why) fails, like a misspelt one.
undocumented() { # binary example-files...: the binary's serve flags named in none of the files
	local b=$1
	shift
	comm -23 "$work/config.$b" <(cat "$@" 2>/dev/null | grep -oE 'CUS_[A-Z0-9_]+' | sort -u)
}
# The check must catch a flag missing from an example, or its "ok" lines mean nothing.
for b in $binaries; do
	grep -v "CUS_SHUTDOWN_GRACE" "$here/config/$b.env.example" >"$work/$b-missing.env"
	if [ "$(undocumented "$b" "$here/config/cus.env.example" "$work/$b-missing.env")" = CUS_SHUTDOWN_GRACE ]; then
		pass "the example check catches a flag missing from config/$b.env.example (CUS_SHUTDOWN_GRACE)"
	else
		fail "the example check misses CUS_SHUTDOWN_GRACE removed from config/$b.env.example"
	fi
done
for b in $binaries; do
	missing=$(undocumented "$b" "$here/config/cus.env.example" "$here/config/$b.env.example")
	if [ -z "$missing" ]; then
		pass "config/$b.env.example with cus.env.example documents every flag of $b"
	else
		fail "config/$b.env.example does not document: $(tr '\n' ' ' <<<"$missing")"
	fi
done

# ---------------------------------------------------------------------------------------------------------------
section "systemd units"

units=("$here"/systemd/*.service "$here"/systemd/*.timer)
if have systemd-analyze; then
	# verify insists that ExecStart's binary exists; on a build machine it is not installed, so verify copies of
	# the units whose /usr/local/bin points at stubs. Everything else is checked as written.
	mkdir -p "$work/units" "$work/bin"
	for b in $binaries; do printf '#!/bin/sh\n' >"$work/bin/cus-$b" && chmod +x "$work/bin/cus-$b"; done
	for u in "${units[@]}"; do sed "s#/usr/local/bin/#$work/bin/#g" "$u" >"$work/units/$(basename "$u")"; done
	for u in "${units[@]}"; do
		if out=$(cd "$work/units" && systemd-analyze verify "./$(basename "$u")" 2>&1) && [ -z "$out" ]; then
			pass "systemd-analyze verify $(basename "$u")"
		else
			fail "systemd-analyze verify $(basename "$u"): $out"
		fi
	done
	# Exposure 0 (locked down) to 10 (unprotected); threshold 20 on the tool's 0-100 scale is "2.0", well inside
	# systemd's "OK" band. A unit that drops a hardening line fails here.
	for u in "$here"/systemd/*.service; do
		score=$(cd "$work/units" && systemd-analyze security --offline=yes "./$(basename "$u")" 2>/dev/null |
			sed -nE 's/.*Overall exposure level for [^:]*: ([0-9.]+).*/\1/p')
		if (cd "$work/units" && systemd-analyze security --offline=yes --threshold=20 "./$(basename "$u")" >/dev/null 2>&1); then
			pass "systemd-analyze security $(basename "$u"): exposure ${score:-?} <= 2.0"
		else
			fail "systemd-analyze security $(basename "$u"): exposure ${score:-?} > 2.0"
		fi
	done
else
	skip "systemd-analyze not installed: units not verified"
fi

to_seconds() { # 20s, 2min, 1m, 10 -> seconds
	case $1 in
	*min) echo $((${1%min} * 60)) ;;
	*ms) echo 0 ;;
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}
for b in $binaries; do
	u="$here/systemd/cus-$b.service"
	[ -f "$u" ] || { warn "no systemd unit for $b"; continue; }
	stop=$(sed -n 's/^TimeoutStopSec=//p' "$u")
	grace=$(sed -n 's/^CUS_SHUTDOWN_GRACE=//p' "$here/config/$b.env.example" 2>/dev/null)
	grace=${grace:-10s}
	if [ -n "$stop" ] && [ "$(to_seconds "$stop")" -gt "$(to_seconds "$grace")" ]; then
		pass "cus-$b.service: TimeoutStopSec=$stop > CUS_SHUTDOWN_GRACE=$grace"
	else
		fail "cus-$b.service: TimeoutStopSec=${stop:-unset} must exceed CUS_SHUTDOWN_GRACE=$grace"
	fi
done

# The referral service holds residents' personal data: its own user (not the catalogue's), a private state
# directory, the PESEL index key from a root-only file through LoadCredential= (never created in the data
# directory), and backups owned by the same user in a directory of their own.
u="$here/systemd/cus-referral.service"
ub="$here/systemd/cus-referral-backup.service"
if [ -f "$u" ]; then
	user=$(sed -n 's/^User=//p' "$u")
	if [ -n "$user" ] && [ "$user" != cus ] && grep -q '^StateDirectoryMode=0700$' "$u" &&
		grep -qE '^LoadCredential=pesel\.key:/' "$u" && grep -qE '^ExecStart=.* --pesel-key-file=%d/pesel\.key( |$)' "$u" &&
		[ "$(sed -n 's/^User=//p' "$ub" 2>/dev/null)" = "$user" ] && grep -q '^StateDirectoryMode=0700$' "$ub" &&
		! grep -q '^StateDirectory=cus/backups$' "$ub" && grep -qE "^u +$user " "$here/systemd/cus.sysusers.conf"; then
		pass "cus-referral.service: own user $user, private directories, PESEL key by LoadCredential=, backups apart"
	else
		fail "cus-referral.service / cus-referral-backup.service: expected an own user (in cus.sysusers.conf), StateDirectoryMode=0700, LoadCredential=pesel.key:... with --pesel-key-file=%d/pesel.key, and backups by the same user in their own directory"
	fi
	# The audit anchors outside the data directory, in a state directory of the unit (the only writable paths).
	anchor=$(sed -nE 's/^ExecStart=.* --audit-anchor-file=([^ ]+).*/\1/p' "$u")
	datadir=$(sed -nE 's/^ExecStart=.* --data-dir=([^ ]+).*/\1/p' "$u")
	adir=$(dirname "${anchor:-x}")
	if [ -n "$anchor" ] && [ -n "$datadir" ] && case $anchor in "$datadir"/*) false ;; *) true ;; esac &&
		grep -qE "^StateDirectory=(.* )?${adir#%S/}( |$)" "$u"; then
		pass "cus-referral.service: audit anchors $anchor in a state directory of their own, outside $datadir"
	else
		fail "cus-referral.service: want --audit-anchor-file=%S/<dir>/... in ExecStart, <dir> a StateDirectory= outside --data-dir (got '${anchor}')"
	fi
fi

# ---------------------------------------------------------------------------------------------------------------
section "backup scripts"

# Every backup script (each service's timer unit and CronJob) runs 17 times against stubs (the service's backup
# command, curl, and a date that advances one hour a call) and must leave exactly the newest BACKUP_KEEP copies
# and no partial file. The referral service's copies hold personal data: they must be owner-only (0600).
mkdir -p "$work/stub"
cat >"$work/stub/date" <<'EOF'
#!/bin/sh
# Only the call the scripts make: UTC, compact ISO 8601 (sortable file names).
[ "$*" = "-u +%Y%m%dT%H%M%SZ" ] || { echo "date stub: unexpected arguments: $*" >&2; exit 2; }
n=$(cat "$STUB_CLOCK" 2>/dev/null || echo 0); echo $((n + 1)) >"$STUB_CLOCK"
printf '20260101T%02d0000Z\n' "$n"
EOF
cat >"$work/stub/backup" <<'EOF'
#!/bin/sh
# cus-<service> backup --out FILE: write FILE.part, then rename, as the real command does. The file mode is left
# to the umask, so the check sees what the script itself guarantees. /backup needs an admin token: the real
# command reads it from CUS_TOKEN_FILE, so the stub refuses to run without one.
[ "$1" = backup ] || exit 2
[ -s "${CUS_TOKEN_FILE:-}" ] || { echo "backup stub: no CUS_TOKEN_FILE" >&2; exit 3; }
while [ $# -gt 0 ]; do [ "$1" = --out ] && out=$2; shift; done
printf 'bbolt' >"$out.part" && mv "$out.part" "$out"
EOF
cat >"$work/stub/curl" <<'EOF'
#!/bin/sh
# GET /backup answers only a request with an admin token (here: the stub token, sent as a header from stdin).
hdr=
while [ $# -gt 0 ]; do
	[ "$1" = --output ] && out=$2
	[ "$1" = -H ] && [ "$2" = @- ] && hdr=$(cat)
	shift
done
[ "$hdr" = "Authorization: Bearer stub-admin-token" ] || { echo "curl stub: 401, no admin token" >&2; exit 22; }
printf 'bbolt' >"$out"
EOF
printf 'stub-admin-token\n' >"$work/stub-token"
chmod +x "$work/stub/"*

check_retention() { # what dir keep service
	local what=$1 dir=$2 keep=$3 svc=$4 got want loose
	got=$(find "$dir" -mindepth 1 -maxdepth 1 -printf "%f\n" | sort | tr "\n" " ")
	want=$(for i in $(seq $((17 - keep)) 16); do printf '%s-20260101T%02d0000Z.db ' "$svc" "$i"; done)
	if [ "$got" = "$want" ]; then
		pass "$what: 17 runs leave the newest $keep copies"
	else
		fail "$what: 17 runs left: $got"
	fi
	if [ "$svc" = referral ]; then
		loose=$(find "$dir" -type f ! -perm 600 | wc -l)
		if [ "$loose" -eq 0 ]; then
			pass "$what: copies of personal data are owner-only (0600) whatever the caller's umask"
		else
			fail "$what: $loose copies are readable by others than their owner"
		fi
	fi
}

for b in $binaries; do
	[ "$b" = gateway ] && continue
	unit="$here/systemd/cus-$b-backup.service"
	[ -f "$here/systemd/cus-$b-backup.timer" ] || fail "no systemd/cus-$b-backup.timer"
	if [ ! -f "$unit" ]; then
		fail "no systemd/cus-$b-backup.service"
	else
		keep=$(sed -nE 's/^Environment=BACKUP_KEEP=([0-9]+)$/\1/p' "$unit")
		# /backup needs an admin token: handed over by LoadCredential=, named by CUS_TOKEN_FILE.
		if grep -qE '^LoadCredential=backup\.token:/' "$unit" && grep -qx 'Environment=CUS_TOKEN_FILE=%d/backup.token' "$unit"; then
			pass "cus-$b-backup.service: sends an admin token (LoadCredential=backup.token, CUS_TOKEN_FILE)"
		else
			fail "cus-$b-backup.service: no admin token (want LoadCredential=backup.token:... and Environment=CUS_TOKEN_FILE=%d/backup.token)"
		fi
		# ExecStart as the shell receives it: continuation lines joined, systemd's %S, %% and $$ expanded.
		script=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | sed -e 's/^ExecStart=//' -e 's/\\$//' | tr -d '\n' |
			sed -e "s#^/bin/sh -euc '##" -e "s#'\$##" -e 's/%%/\x01/g' -e "s#%S#$work/state.$b#g" -e 's/\x01/%/g' -e 's/\$\$/$/g' \
				-e "s#/usr/local/bin/cus-$b#$work/stub/backup#g")
		dir=$(printf '%s\n' "$script" | sed -nE "s#.*dir=($work/state\.$b/[^;]*);.*#\1#p")
		if [ -z "$keep" ] || [ -z "$dir" ] || ! sh -n -c "$script" 2>/dev/null; then
			fail "cus-$b-backup.service: ExecStart is no valid shell script, sets no dir=, or BACKUP_KEEP is unset"
		else
			mkdir -p "$dir"
			ok=1
			for _ in $(seq 17); do
				(umask 022 && STUB_CLOCK=$work/clock.unit.$b BACKUP_KEEP=$keep CUS_TOKEN_FILE=$work/stub-token PATH="$work/stub:$PATH" sh -euc "$script" >/dev/null) || ok=0
			done
			if [ $ok = 1 ]; then check_retention "cus-$b-backup.service" "$dir" "$keep" "$b"; else fail "cus-$b-backup.service: ExecStart failed"; fi
		fi
	fi

	cron="$here/kubernetes/$b-backup.yaml"
	if [ ! -f "$cron" ]; then
		fail "no kubernetes/$b-backup.yaml"
		continue
	fi
	keep=$(awk '/name: BACKUP_KEEP/ { getline; gsub(/[^0-9]/, ""); print; exit }' "$cron")
	# The block scalar under `args: - |`, dedented, with the volume path moved to a temporary directory.
	script=$(awk '/^ *- \|$/ { f = 1; next } f && /^ *[a-zA-Z]+:/ { exit } f { sub(/^ {18}/, ""); print }' "$cron" |
		sed "s#/backups#$work/cron.$b#g")
	mkdir -p "$work/cron.$b"
	if [ -z "$keep" ] || [ -z "$script" ] || ! sh -n -c "$script" 2>/dev/null; then
		fail "$b-backup.yaml: the CronJob script is no valid shell script or BACKUP_KEEP is unset"
	else
		ok=1
		for _ in $(seq 17); do
			(umask 022 && STUB_CLOCK=$work/clock.cron.$b BACKUP_KEEP=$keep CUS_ADMIN_URL=http://stub CUS_TOKEN_FILE=$work/stub-token PATH="$work/stub:$PATH" \
				sh -euc "$script" >/dev/null) || ok=0
		done
		if [ $ok = 1 ]; then check_retention "$b-backup.yaml CronJob" "$work/cron.$b" "$keep" "$b"; else fail "$b-backup.yaml: the CronJob script failed"; fi
	fi
done

# ---------------------------------------------------------------------------------------------------------------
section "internal TLS"

if have openssl; then
	# The names the callers dial: CUS_<SERVICE>_ADDR in configmap.yaml (the gateway's and the referral service's).
	cm="$here/kubernetes/configmap.yaml"
	if out=$(sh "$here/kubernetes/internal-tls.sh" "$work/tls" 2>&1); then
		for svc in provider catalogue referral; do
			var=CUS_$(echo "$svc" | tr '[:lower:]' '[:upper:]')_ADDR
			host=$(sed -nE "s/^ *$var: *\"?([^\":]+):[0-9]+\"?.*/\1/p" "$cm" | sort -u)
			d="$work/tls/cus-$svc"
			if [ -n "$host" ] && [ "$(printf '%s\n' "$host" | wc -l)" -eq 1 ] &&
				openssl verify -CAfile "$work/tls/ca.crt" "$d/tls.crt" >/dev/null 2>&1 &&
				cmp -s "$work/tls/ca.crt" "$d/ca.crt" &&
				openssl x509 -in "$d/tls.crt" -noout -checkhost "$host" 2>/dev/null | grep -q 'does match' &&
				[ "$(openssl pkey -in "$d/tls.key" -pubout 2>/dev/null)" = "$(openssl x509 -in "$d/tls.crt" -noout -pubkey)" ] &&
				[ "$(stat -c %a "$d/tls.key")" = 600 ]; then
				pass "internal-tls.sh: a certificate for $host ($var) from the one CA, verifying and matching its key (0600)"
			else
				fail "internal-tls.sh: the certificate of cus-$svc does not verify, match its key, or name ${host:-its $var}"
			fi
		done
		# A second run renews the certificates with the same CA, so clients keep trusting it.
		before=$(openssl x509 -in "$work/tls/ca.crt" -noout -fingerprint)
		if sh "$here/kubernetes/internal-tls.sh" "$work/tls" >/dev/null 2>&1 &&
			[ "$(openssl x509 -in "$work/tls/ca.crt" -noout -fingerprint)" = "$before" ]; then
			pass "internal-tls.sh: a second run renews the certificates and keeps the CA"
		else
			fail "internal-tls.sh: a second run replaced the CA (every client would stop trusting the services)"
		fi
	else
		fail "internal-tls.sh: $out"
	fi
else
	skip "openssl not installed: internal-tls.sh not run"
fi

# ---------------------------------------------------------------------------------------------------------------
section "Containerfile"

cf="$here/container/Containerfile"
for b in $binaries; do
	cmd=""
	for c in gateway/cmd/"$b" services/"$b"/cmd/"$b"; do
		[ -d "$root/$c" ] && cmd=$c && break
	done
	if [ -z "$cmd" ]; then
		warn "$b has no cmd/$b yet"
		continue
	fi
	if grep -q "\./$cmd\b" "$cf" && grep -qE "^FROM runtime AS $b$" "$cf" && grep -q "ENTRYPOINT \[\"/usr/local/bin/$b\"\]" "$cf"; then
		pass "Containerfile builds ./$cmd and has a stage \"$b\" running it"
	else
		fail "Containerfile: ./$cmd not built, or no stage \"FROM runtime AS $b\" with its ENTRYPOINT"
	fi
done
# shellcheck disable=SC2016 # ${BINARY} is literal Containerfile text
if grep -q '^USER nonroot' "$cf" && grep -q 'CGO_ENABLED=0' "$cf" && grep -q -- '-trimpath' "$cf" &&
	grep -q '^FROM gcr.io/distroless/static:nonroot' "$cf" && grep -q '^FROM \${BINARY}' "$cf"; then
	pass "Containerfile: static -trimpath build, distroless nonroot runtime, stage chosen by BINARY"
else
	fail "Containerfile: expected CGO_ENABLED=0, -trimpath, distroless/static:nonroot, USER nonroot, FROM \${BINARY}"
fi
skip "Containerfile not built: no container engine on the build machines"

echo
echo "check: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
