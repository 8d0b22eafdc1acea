"""deploy/: the manifests an operator applies.  Every document parses; the
real kubectl accepts them (dry run, and applied to the fake API server); the
RBAC is exactly what the daemon needs; the configs embedded in the
ConfigMaps pass `bgplbd --check-config`; the membership Secret script makes
a 32-byte key.  Loopback only; needs no root.
"""
import base64
import os
import subprocess

import pytest
import yaml

from fakeapi_fixtures import kubectl, tls_api  # noqa: F401

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(TOP, "deploy")
BUILD = os.environ.get("BGPLB_BUILD", os.path.join(TOP, "build"))
BGPLBD = os.path.join(BUILD, "src", "bgplbd")
MAIN = os.path.join(DEPLOY, "bgplb.yaml")
MIGRATION = os.path.join(DEPLOY, "metallb-migration.yaml")

# What the daemon does with the API (doc/kubernetes.md, RBAC): nothing more.
CLUSTER_RULES = {
    ("", "services", "get"), ("", "services", "list"), ("", "services", "watch"),
    ("", "services/status", "patch"), ("", "services/status", "update"),
    ("discovery.k8s.io", "endpointslices", "list"),
    ("discovery.k8s.io", "endpointslices", "watch"),
    ("", "nodes", "get"), ("", "nodes", "list"), ("", "nodes", "watch"),
    ("", "events", "create"), ("", "events", "patch"),
}
NAMESPACE_RULES = {
    ("", "configmaps", "get"), ("", "configmaps", "list"), ("", "configmaps", "watch"),
    ("coordination.k8s.io", "leases", "get"), ("coordination.k8s.io", "leases", "create"),
    ("coordination.k8s.io", "leases", "update"),
}
CONFIG_READ = {("", "configmaps", "get"), ("", "configmaps", "list"),
               ("", "configmaps", "watch")}


def docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def find(ds, kind, name, namespace=None):
    for d in ds:
        m = d.get("metadata", {})
        if d.get("kind") == kind and m.get("name") == name and \
                (namespace is None or m.get("namespace") == namespace):
            return d
    raise AssertionError(f"no {kind} {namespace}/{name}")


def triples(role):
    out = set()
    for r in role.get("rules", []):
        assert "resourceNames" not in r and "nonResourceURLs" not in r, r
        for g in r["apiGroups"]:
            for res in r["resources"]:
                for v in r["verbs"]:
                    out.add((g, res, v))
    return out


@pytest.mark.parametrize("path", [MAIN, MIGRATION])
def test_every_document_parses_and_is_an_object(path):
    ds = docs(path)
    assert ds, path
    for d in ds:
        assert d.get("apiVersion") and d.get("kind") and d["metadata"].get("name"), d


def test_rbac_is_exactly_what_the_daemon_needs():
    ds = docs(MAIN)
    cr = find(ds, "ClusterRole", "bgplb")
    role = find(ds, "Role", "bgplb", "bgplb-system")
    assert triples(cr) == CLUSTER_RULES
    assert triples(role) == NAMESPACE_RULES
    for rules in (triples(cr), triples(role)):
        assert not any("*" in t for t in rules)
        assert not any(res.startswith("secrets") for _, res, _ in rules)
    crb = find(ds, "ClusterRoleBinding", "bgplb")
    rb = find(ds, "RoleBinding", "bgplb", "bgplb-system")
    for b, kind in ((crb, "ClusterRole"), (rb, "Role")):
        assert b["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": kind,
                                "name": "bgplb"}
        assert b["subjects"] == [{"kind": "ServiceAccount", "name": "bgplb",
                                  "namespace": "bgplb-system"}]
    mig = docs(MIGRATION)
    mrole = find(mig, "Role", "bgplb-config-reader", "metallb-system")
    assert triples(mrole) == CONFIG_READ
    mrb = find(mig, "RoleBinding", "bgplb-config-reader", "metallb-system")
    assert mrb["roleRef"]["name"] == "bgplb-config-reader"
    assert mrb["subjects"][0]["name"] == "bgplb"
    # Only these roles anywhere.
    kinds = [d["kind"] for d in ds + mig if "Role" in d["kind"]]
    assert sorted(kinds) == ["ClusterRole", "ClusterRoleBinding", "Role", "Role",
                             "RoleBinding", "RoleBinding"]


def test_daemonset_runs_with_the_least_it_needs():
    ds = docs(MAIN)
    d = find(ds, "DaemonSet", "bgplb", "bgplb-system")
    spec = d["spec"]["template"]["spec"]
    assert spec["hostNetwork"] is True
    assert spec["serviceAccountName"] == "bgplb"
    (c,) = spec["containers"]
    assert c["name"] == "bgplbd"
    sc = c["securityContext"]
    assert sc["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "NET_RAW"]}
    assert sc["allowPrivilegeEscalation"] is False
    assert sc.get("privileged") is not True
    assert c["args"][:4] == ["--config", "/etc/bgplb/bgplbd.yaml", "--node", "$(NODE_NAME)"]
    env = {e["name"]: e for e in c["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    for probe in ("livenessProbe", "readinessProbe"):
        g = c[probe]["httpGet"]
        assert (g["host"], g["port"], g["path"]) == ("127.0.0.1", 7473, "/healthz")
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["config"]["configMap"]["name"] == "bgplb-daemon"
    assert vols["membership"]["secret"]["secretName"] == "bgplb-membership"
    assert vols["membership"]["secret"]["optional"] is True


def test_healthz_is_what_the_probes_ask(tmp_path):
    """The probes' path is served by the status endpoint (in the source)."""
    with open(os.path.join(TOP, "src", "status.c")) as f:
        assert '"/healthz"' in f.read()


def _check_config(tmp_path, name, text):
    if not os.path.exists(BGPLBD):
        pytest.fail(f"{BGPLBD} is not built")
    p = tmp_path / name
    p.write_text(text)
    r = subprocess.run([BGPLBD, "--check-config", str(p)], capture_output=True, text=True)
    assert r.returncode == 0, f"{name}:\n{r.stdout}{r.stderr}"
    return r


def test_the_daemon_files_pass_check_config(tmp_path):
    for path in (MAIN, MIGRATION):
        cm = find(docs(path), "ConfigMap", "bgplb-daemon", "bgplb-system")
        r = _check_config(tmp_path, "bgplbd.yaml", cm["data"]["bgplbd.yaml"])
        assert "kubernetes:" in r.stdout
        assert "warning" not in r.stderr, r.stderr
    mig = find(docs(MIGRATION), "ConfigMap", "bgplb-daemon", "bgplb-system")
    assert "config-map: metallb-system/config" in mig["data"]["bgplbd.yaml"]


def test_the_cluster_config_map_passes_check_config(tmp_path):
    cm = find(docs(MAIN), "ConfigMap", "bgplb", "bgplb-system")
    # --check-config reads a ConfigMap manifest as the daemon reads the object:
    # data.config, errors placed inside it.
    r = _check_config(tmp_path, "cm.yaml", yaml.safe_dump(cm))
    assert "192.0.2.0/24" in r.stdout
    # And a broken one is refused, with its place.
    bad = dict(cm, data={"config": cm["data"]["config"].replace("asn: 64500", "asn: -1")})
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(bad))
    r = subprocess.run([BGPLBD, "--check-config", str(p)], capture_output=True, text=True)
    assert r.returncode != 0
    assert "asn" in r.stderr, r.stderr


def test_kubectl_accepts_the_manifests_dry_run(kubectl):  # noqa: F811
    for path in (MAIN, MIGRATION):
        out = kubectl.run("apply", "--dry-run=client", "-f", path).stdout
        assert "(dry run)" in out, out


def test_kubectl_applies_everything_to_the_api_server(kubectl):  # noqa: F811
    k = kubectl
    out = k.run("apply", "-f", MAIN).stdout
    for obj in ("namespace/bgplb-system", "serviceaccount/bgplb",
                "clusterrole.rbac.authorization.k8s.io/bgplb",
                "clusterrolebinding.rbac.authorization.k8s.io/bgplb",
                "role.rbac.authorization.k8s.io/bgplb",
                "rolebinding.rbac.authorization.k8s.io/bgplb",
                "configmap/bgplb", "configmap/bgplb-daemon", "daemonset.apps/bgplb"):
        assert obj in out, out
    # Applying again changes nothing.
    again = k.run("apply", "-f", MAIN).stdout
    assert "created" not in again and "unchanged" in again, again
    got = k.run("get", "daemonset", "-n", "bgplb-system", "bgplb", "-o", "yaml").stdout
    d = yaml.safe_load(got)
    assert d["spec"]["template"]["spec"]["hostNetwork"] is True
    k.run("get", "serviceaccount", "-n", "bgplb-system", "bgplb")
    k.run("get", "role", "-n", "bgplb-system", "bgplb")
    k.run("create", "namespace", "metallb-system")
    out = k.run("apply", "-f", MIGRATION).stdout
    assert "configmap/bgplb-daemon configured" in out, out
    assert "role.rbac.authorization.k8s.io/bgplb-config-reader created" in out, out


def test_membership_secret_dry_run_has_a_32_byte_key(kubectl):  # noqa: F811
    script = os.path.join(DEPLOY, "membership-secret.sh")
    env = dict(kubectl.env, PATH=os.path.dirname(kubectl.bin) + ":" + os.environ["PATH"])
    r = subprocess.run([script, "--dry-run", "--kubeconfig", kubectl.kubeconfig],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    s = yaml.safe_load(r.stdout)
    assert s["kind"] == "Secret" and s["metadata"]["name"] == "bgplb-membership"
    assert s["metadata"]["namespace"] == "bgplb-system"
    key = base64.b64decode(s["data"]["key"])
    assert len(key) == 32
    r2 = subprocess.run([script, "--dry-run", "--kubeconfig", kubectl.kubeconfig],
                        capture_output=True, text=True, env=env, timeout=60)
    assert yaml.safe_load(r2.stdout)["data"]["key"] != s["data"]["key"], "not fresh"
