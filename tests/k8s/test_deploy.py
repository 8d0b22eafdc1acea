"""deploy/: the manifests an operator applies.  Every document parses; the
real kubectl accepts them (dry run, and applied to the fake API server); the
RBAC is exactly what each role needs (the allocators' account alone writes
Service status; the speakers' reads and posts Events); the namespace lets
the speakers start where baseline Pod Security is enforced; the configs
embedded in the
ConfigMaps pass `bgplbd --check-config`; the membership Secret script makes
a 32-byte key.  Then the files are run: bgplbd with the daemon file as
shipped (in-cluster credentials, as a Pod gets them), an allocator and a
speaker with the arguments of their Deployment and DaemonSet, against the
fake API server holding deploy/bgplb.yaml, and again as a MetalLB user would after
deploy/metallb-migration.yaml with the seed's ConfigMap and Service.  Those
two need root (a network namespace of their own: the fake, kubectl and
bgplbd all run inside it, on its loopback; the sample peer 203.0.113.1 is
unreachable there) and skip without it.
"""
import base64
import glob
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml

from fakeapi_fixtures import SHARED, kubectl, tls_api  # noqa: F401

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(TOP, "deploy")
BUILD = os.environ.get("BGPLB_BUILD", os.path.join(TOP, "build"))
BGPLBD = os.path.join(BUILD, "src", "bgplbd")
BGPLBCTL = os.path.join(BUILD, "src", "ctl", "bgplbctl")
FAKEAPI = os.path.join(TOP, "tests", "k8s", "fakeapi.py")
MAIN = os.path.join(DEPLOY, "bgplb.yaml")
MIGRATION = os.path.join(DEPLOY, "metallb-migration.yaml")
SCRIPT = os.path.join(DEPLOY, "membership-secret.sh")
SEED = os.path.join(SHARED, "seed-examples")
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

# What each role does with the API (doc/kubernetes.md, RBAC): nothing more.
# The allocator: watch Services (GET again after a 409), PATCH their status,
# post Events; in its namespace the ConfigMap (a watch: list + watch) and the
# Lease (GET, POST, PUT).
ALLOCATOR_CLUSTER = {
    ("", "services", "get"), ("", "services", "list"), ("", "services", "watch"),
    ("", "services/status", "patch"),
    ("", "events", "create"), ("", "events", "patch"),
}
ALLOCATOR_NAMESPACE = {
    ("", "configmaps", "list"), ("", "configmaps", "watch"),
    ("coordination.k8s.io", "leases", "get"), ("coordination.k8s.io", "leases", "create"),
    ("coordination.k8s.io", "leases", "update"),
}
# The speaker: watch Services, EndpointSlices and Nodes, post its own Events;
# in its namespace the ConfigMap.  No write to any Service, no Lease.
SPEAKER_CLUSTER = {
    ("", "services", "list"), ("", "services", "watch"),
    ("discovery.k8s.io", "endpointslices", "list"),
    ("discovery.k8s.io", "endpointslices", "watch"),
    ("", "nodes", "list"), ("", "nodes", "watch"),
    ("", "events", "create"), ("", "events", "patch"),
}
SPEAKER_NAMESPACE = {("", "configmaps", "list"), ("", "configmaps", "watch")}
CONFIG_READ = {("", "configmaps", "list"), ("", "configmaps", "watch")}
ALLOCATOR_SA, SPEAKER_SA = "bgplb-allocator", "bgplb-speaker"
# The label selectors doc/kubernetes.md gives for applying parts of bgplb.yaml.
UPGRADE = "app.kubernetes.io/component!=cluster-config"
MIGRATE_FIRST = "app.kubernetes.io/component notin (allocator,speaker,cluster-config)"
MIGRATE_LAST = "app.kubernetes.io/component in (allocator,speaker)"
MIGRATE_DONE = "app.kubernetes.io/component=daemon-config"
DOC = os.path.join(TOP, "doc", "kubernetes.md")
# The cluster's part of the config (doc/configuration.md, kubernetes): any
# other top-level key in data.config is a warning in ConfigLoaded.
CLUSTER_KEYS = {"pools", "peers", "vrfs", "bgp-communities", "address-pools"}


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


def daemonset():
    return find(docs(MAIN), "DaemonSet", "bgplb", "bgplb-system")


def deployment():
    return find(docs(MAIN), "Deployment", "bgplb-allocator", "bgplb-system")


def container():
    (c,) = daemonset()["spec"]["template"]["spec"]["containers"]
    return c


def allocator_container():
    (c,) = deployment()["spec"]["template"]["spec"]["containers"]
    return c


def arg_of(c, flag):
    return c["args"][c["args"].index(flag) + 1]


def daemon_file(path):
    return find(docs(path), "ConfigMap", "bgplb-daemon", "bgplb-system")["data"]["bgplbd.yaml"]


def mount_of(volume):
    (m,) = [m for m in container()["volumeMounts"] if m["name"] == volume]
    return m


def shutdown_ms():
    """The daemon's own bound on its shutdown (Lease hand-over)."""
    with open(os.path.join(TOP, "src", "k8s", "k8s_source.c")) as f:
        m = re.search(r"#define\s+SHUTDOWN_MS\s+(\d+)", f.read())
    assert m, "SHUTDOWN_MS is gone from src/k8s/k8s_source.c"
    return int(m.group(1))


# ------------------------------------------------------------ static checks

def test_the_deploy_directory_is_what_the_tests_cover():
    assert sorted(glob.glob(os.path.join(DEPLOY, "*.yaml"))) == sorted([MAIN, MIGRATION])
    assert os.access(SCRIPT, os.X_OK)


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(DEPLOY, "*.yaml"))),
                         ids=os.path.basename)
def test_every_document_parses_and_is_an_object(path):
    ds = docs(path)
    assert ds, path
    for d in ds:
        assert d.get("apiVersion") and d.get("kind") and d["metadata"].get("name"), d
        if d["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            assert d["metadata"].get("namespace"), d["metadata"]


def granted(ds, sa, namespace="bgplb-system"):
    """What ServiceAccount sa may do, from the bindings in ds: (cluster-wide
    triples, {namespace: triples})."""
    subj = {"kind": "ServiceAccount", "name": sa, "namespace": "bgplb-system"}
    cluster, ns = set(), {}
    for b in ds:
        if b["kind"] not in ("ClusterRoleBinding", "RoleBinding") or subj not in b["subjects"]:
            continue
        ref = b["roleRef"]
        assert ref["apiGroup"] == "rbac.authorization.k8s.io", ref
        if b["kind"] == "ClusterRoleBinding":
            assert ref["kind"] == "ClusterRole", b
            cluster |= triples(find(ds, "ClusterRole", ref["name"]))
        else:
            assert ref["kind"] == "Role", b     # no ClusterRole bound in a namespace
            bns = b["metadata"]["namespace"]
            ns.setdefault(bns, set()).update(
                triples(find(ds, "Role", ref["name"], bns)))
    return cluster, ns


def test_rbac_is_exactly_what_the_daemon_needs():
    """Each account's whole set of grants, from every binding of both files,
    is exactly what its role does: a widened rule anywhere fails."""
    ds, mig = docs(MAIN), docs(MIGRATION)
    assert granted(ds, ALLOCATOR_SA) == (ALLOCATOR_CLUSTER,
                                         {"bgplb-system": ALLOCATOR_NAMESPACE})
    assert granted(ds, SPEAKER_SA) == (SPEAKER_CLUSTER, {"bgplb-system": SPEAKER_NAMESPACE})
    assert granted(ds + mig, ALLOCATOR_SA) == (
        ALLOCATOR_CLUSTER, {"bgplb-system": ALLOCATOR_NAMESPACE, "metallb-system": CONFIG_READ})
    assert granted(ds + mig, SPEAKER_SA) == (
        SPEAKER_CLUSTER, {"bgplb-system": SPEAKER_NAMESPACE, "metallb-system": CONFIG_READ})
    roles = [d for d in ds + mig if d["kind"] in ("Role", "ClusterRole")]
    for r in roles:
        rules = triples(r)
        assert not any("*" in t for t in rules), r
        assert not any(res.startswith("secrets") for _, res, _ in rules), r
    # Nobody else is bound to anything; every role is bound.
    subjects = {(s["kind"], s["name"], s["namespace"]) for d in ds + mig
                if "Binding" in d["kind"] for s in d["subjects"]}
    assert subjects == {("ServiceAccount", ALLOCATOR_SA, "bgplb-system"),
                        ("ServiceAccount", SPEAKER_SA, "bgplb-system")}
    bound = {(d["roleRef"]["kind"], d["roleRef"]["name"], d["metadata"].get("namespace"))
             for d in ds + mig if "Binding" in d["kind"]}
    assert bound == {(r["kind"], r["metadata"]["name"], r["metadata"].get("namespace"))
                     for r in roles}
    kinds = [d["kind"] for d in ds + mig if "Role" in d["kind"]]
    assert sorted(kinds) == ["ClusterRole"] * 2 + ["ClusterRoleBinding"] * 2 + \
        ["Role"] * 3 + ["RoleBinding"] * 3


def test_only_the_allocators_write_services():
    """CVE-2020-8554: whoever can set a Service's status (or annotations)
    can take its traffic through kube-proxy.  On a node, only the speaker's
    token is within reach: it can write nothing but Events.  The workloads
    run as the accounts they should."""
    ds = docs(MAIN)
    for sa in (ALLOCATOR_SA, SPEAKER_SA):
        cluster, ns = granted(ds, sa)
        writes = {t for t in cluster | set().union(*ns.values())
                  if t[2] not in ("get", "list", "watch")}
        if sa == SPEAKER_SA:
            assert writes == {("", "events", "create"), ("", "events", "patch")}, writes
        else:
            assert ("", "services/status", "patch") in writes
    assert daemonset()["spec"]["template"]["spec"]["serviceAccountName"] == SPEAKER_SA
    assert deployment()["spec"]["template"]["spec"]["serviceAccountName"] == ALLOCATOR_SA
    assert arg_of(container(), "--role") == "speaker"
    assert arg_of(allocator_container(), "--role") == "allocator"


def test_the_namespace_admits_the_speakers():
    """Pod Security: the speakers need hostNetwork (and NET_RAW), which
    baseline forbids; the namespace is labelled privileged so they start on
    a cluster that enforces baseline (or restricted) by default."""
    ns = find(docs(MAIN), "Namespace", "bgplb-system")
    labels = ns["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    for mode in ("audit", "warn"):
        assert labels.get(f"pod-security.kubernetes.io/{mode}") == "privileged"
    # Why: the speaker's pod would fail baseline.
    assert daemonset()["spec"]["template"]["spec"]["hostNetwork"] is True
    assert "NET_RAW" in container()["securityContext"]["capabilities"]["add"]
    # Every workload is in that namespace.
    for d in docs(MAIN):
        if d["kind"] in ("Deployment", "DaemonSet"):
            assert d["metadata"]["namespace"] == "bgplb-system"


def test_the_roles_sit_where_the_daemon_file_points():
    """The Role is in the namespaces of the ConfigMap and the Lease the
    daemon's file names; the migration Role in the seed ConfigMap's."""
    main = yaml.safe_load(daemon_file(MAIN))["kubernetes"]
    assert main["config-map"].split("/")[0] == main["lease"].split("/")[0] == "bgplb-system"
    mig = yaml.safe_load(daemon_file(MIGRATION))["kubernetes"]
    with open(os.path.join(TOP, "examples", "metallb-configMap.yml")) as f:
        seed = yaml.safe_load(f)["metadata"]
    assert mig["config-map"] == f"{seed['namespace']}/{seed['name']}"
    assert mig["lease"] == main["lease"]
    find(docs(MIGRATION), "Role", "bgplb-config-reader", seed["namespace"])


def test_daemonset_runs_with_the_least_it_needs():
    spec = daemonset()["spec"]["template"]["spec"]
    assert spec["hostNetwork"] is True
    assert spec["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert spec["serviceAccountName"] == SPEAKER_SA
    c = container()
    assert c["name"] == "bgplbd"
    sc = c["securityContext"]
    assert sc["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "NET_RAW"]}
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc.get("privileged") is not True
    assert c["args"][:4] == ["--config", "/etc/bgplb/bgplbd.yaml", "--node", "$(NODE_NAME)"]
    assert arg_of(c, "--role") == "speaker"
    env = {e["name"]: e for e in c["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    for probe in ("livenessProbe", "readinessProbe"):
        g = c[probe]["httpGet"]
        assert (g["host"], g["port"], g["path"]) == ("127.0.0.1", 7473, "/healthz")
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["config"]["configMap"]["name"] == "bgplb-daemon"
    assert vols["membership"]["secret"]["secretName"] == "bgplb-membership"
    assert vols["membership"]["secret"]["optional"] is True
    assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
    # Long enough for the daemon's bounded shutdown (Cease to peers, Lease
    # hand-over), with room to spare.
    assert spec["terminationGracePeriodSeconds"] >= 2 * shutdown_ms() / 1000


def test_the_allocators_run_with_the_least_they_need():
    """Two replicas, no host network, no capability, not root: an allocator
    only talks to the API server; its identity in the Lease is the Pod's
    name; its status endpoint is on the Pod's loopback, probed from inside."""
    d = deployment()
    assert d["spec"]["replicas"] == 2
    assert d["metadata"]["labels"]["app.kubernetes.io/component"] == "allocator"
    tmpl = d["spec"]["template"]
    assert tmpl["metadata"]["labels"]["app.kubernetes.io/component"] == "allocator"
    # Not the DaemonSet's Pods (its selector is immutable and unchanged).
    ds_sel = daemonset()["spec"]["selector"]["matchLabels"]
    assert any(tmpl["metadata"]["labels"].get(k) != v for k, v in ds_sel.items())
    assert d["spec"]["selector"]["matchLabels"].items() <= tmpl["metadata"]["labels"].items()
    spec = tmpl["spec"]
    assert spec["serviceAccountName"] == ALLOCATOR_SA
    assert not spec.get("hostNetwork")
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    c = allocator_container()
    sc = c["securityContext"]
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert not c.get("ports")
    assert c["args"][:4] == ["--config", "/etc/bgplb/bgplbd.yaml", "--node", "$(POD_NAME)"]
    assert arg_of(c, "--role") == "allocator"
    env = {e["name"]: e for e in c["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    cfg = yaml.safe_load(daemon_file(MAIN))
    for probe in ("livenessProbe", "readinessProbe"):
        cmd = c[probe]["exec"]["command"]
        assert cmd[0] == "bgplbctl" and cmd[-1] == "status", cmd
        assert arg_of({"args": cmd}, "--server") == f"http://{cfg['status-listen']}"
    # The daemon file, and an emptyDir where kubernetes.last-good-config
    # points (the root filesystem is read-only): nothing else.
    m, st = c["volumeMounts"]
    vols = {v["name"]: v for v in spec["volumes"]}
    assert m["mountPath"] == c["args"][1] and m["subPath"] == "bgplbd.yaml"
    assert vols[m["name"]]["configMap"]["name"] == "bgplb-daemon"
    assert st["mountPath"] == os.path.dirname(cfg["kubernetes"]["last-good-config"])
    assert vols[st["name"]] == {"name": st["name"], "emptyDir": {}}
    assert len(vols) == 2
    assert spec["terminationGracePeriodSeconds"] >= 2 * shutdown_ms() / 1000


@pytest.mark.parametrize("path", [MAIN, MIGRATION], ids=os.path.basename)
def test_the_daemon_file_fits_the_pod(path):
    """What the daemon's file names is where the DaemonSet puts it: the file
    at --config, the key in the Secret's mount, the status endpoint at the
    probes' address."""
    c = container()
    cfg = yaml.safe_load(daemon_file(path))
    m = mount_of("config")
    assert m["mountPath"] == c["args"][1] and m["subPath"] == "bgplbd.yaml"
    key = cfg["layer2"]["membership"]["key-file"]
    assert os.path.dirname(key) == mount_of("membership")["mountPath"]
    assert os.path.basename(key) == "key"  # the Secret's data key
    g = c["livenessProbe"]["httpGet"]
    assert cfg["status-listen"] == f"{g['host']}:{g['port']}"
    assert "kubeconfig" not in cfg["kubernetes"], "in a Pod: the service account"
    # The last good config outlives the Pod: a hostPath directory, writable.
    lg = cfg["kubernetes"]["last-good-config"]
    m = mount_of("state")
    assert os.path.dirname(lg) == m["mountPath"] and not m.get("readOnly")
    vols = {v["name"]: v for v in daemonset()["spec"]["template"]["spec"]["volumes"]}
    assert vols["state"]["hostPath"]["path"] == m["mountPath"]


def test_healthz_is_what_the_probes_ask():
    """The probes' path is served by the status endpoint (in the source; the
    runs below fetch it)."""
    with open(os.path.join(TOP, "src", "status.c")) as f:
        assert '"/healthz"' in f.read()


def need_bgplbd():
    if not os.path.exists(BGPLBD):
        pytest.fail(f"{BGPLBD} is not built (set BGPLB_BUILD)")


def check_config(tmp_path, name, text):
    need_bgplbd()
    p = tmp_path / name
    p.write_text(text)
    return subprocess.run([BGPLBD, "--check-config", str(p)], capture_output=True,
                          text=True, timeout=30)


@pytest.mark.parametrize("path", [MAIN, MIGRATION], ids=os.path.basename)
def test_the_daemon_files_pass_check_config(tmp_path, path):
    r = check_config(tmp_path, "bgplbd.yaml", daemon_file(path))
    assert r.returncode == 0, f"{path}:\n{r.stdout}{r.stderr}"
    assert "warning" not in r.stderr, r.stderr
    out = yaml.safe_load(r.stdout)
    assert set(out["kubernetes"]) >= {"config-map", "lease"}


def test_the_cluster_config_map_passes_check_config(tmp_path):
    cm = find(docs(MAIN), "ConfigMap", "bgplb", "bgplb-system")
    # --check-config reads a ConfigMap manifest as the daemon reads the object:
    # data.config, errors placed inside it.  (It has no switch for the
    # daemon's cluster mode, which also warns about node-local keys in
    # data.config: the keys are checked here, and the run below sees
    # ConfigLoaded without warnings.)
    r = check_config(tmp_path, "cm.yaml", yaml.safe_dump(cm))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert set(yaml.safe_load(cm["data"]["config"])) <= CLUSTER_KEYS
    assert "192.0.2.0/24" in r.stdout
    # And a broken one is refused, with its place.
    bad = dict(cm, data={"config": cm["data"]["config"].replace("asn: 64500", "asn: -1")})
    assert bad["data"]["config"] != cm["data"]["config"]
    r = check_config(tmp_path, "bad.yaml", yaml.safe_dump(bad))
    assert r.returncode != 0
    assert re.search(r"bad\.yaml:\d+:\d+: peers\[0\]\.asn: ", r.stderr), r.stderr


# ------------------------------------------------------------ kubectl

def test_the_documented_selectors_pick_the_right_objects(kubectl):  # noqa: F811
    """The label selectors of doc/kubernetes.md (upgrade, migration), as kubectl
    applies them to deploy/bgplb.yaml."""
    with open(DOC) as f:
        doc = f.read()

    def picked(sel):
        assert f"-l '{sel}'" in doc or f"-l {sel}" in doc, sel
        out = kubectl.run("apply", "--dry-run=client", "-f", MAIN, "-l", sel).stdout
        # "daemonset.apps/bgplb configured (dry run)" -> "daemonset/bgplb"
        return {re.sub(r"^([^./]+)[^/]*/", r"\1/", line.split()[0])
                for line in out.splitlines()}
    everything = {f"{d['kind'].lower()}/{d['metadata']['name']}" for d in docs(MAIN)}
    workloads = {"daemonset/bgplb", "deployment/bgplb-allocator"}
    assert picked(UPGRADE) == everything - {"configmap/bgplb"}
    assert picked(MIGRATE_FIRST) == everything - {"configmap/bgplb"} - workloads
    assert picked(MIGRATE_LAST) == workloads
    assert picked(MIGRATE_DONE) == {"configmap/bgplb-daemon"}


def test_kubectl_accepts_the_manifests_dry_run(kubectl):  # noqa: F811
    for path in (MAIN, MIGRATION):
        out = kubectl.run("apply", "--dry-run=client", "-f", path).stdout
        assert "(dry run)" in out, out
        assert out.count("(dry run)") == len(docs(path)), out


def test_kubectl_applies_everything_to_the_api_server(kubectl):  # noqa: F811
    k = kubectl
    out = k.run("apply", "-f", MAIN).stdout
    for obj in ["namespace/bgplb-system", "configmap/bgplb", "configmap/bgplb-daemon",
                "daemonset.apps/bgplb", "deployment.apps/bgplb-allocator"] + \
            [f"{kind}/{sa}" for sa in (ALLOCATOR_SA, SPEAKER_SA) for kind in (
                "serviceaccount", "clusterrole.rbac.authorization.k8s.io",
                "clusterrolebinding.rbac.authorization.k8s.io",
                "role.rbac.authorization.k8s.io", "rolebinding.rbac.authorization.k8s.io")]:
        assert f"{obj} created" in out, out
    # Applying again changes nothing.
    again = k.run("apply", "-f", MAIN).stdout
    assert "created" not in again and "configured" not in again, again
    assert again.count("unchanged") == len(docs(MAIN)), again
    got = k.run("get", "daemonset", "-n", "bgplb-system", "bgplb", "-o", "yaml").stdout
    d = yaml.safe_load(got)
    assert d["spec"]["template"]["spec"]["hostNetwork"] is True
    assert d["spec"]["template"]["spec"]["containers"][0]["securityContext"] == \
        container()["securityContext"]
    dep = yaml.safe_load(k.run("get", "deployment", "-n", "bgplb-system", "bgplb-allocator",
                               "-o", "yaml").stdout)
    assert dep["spec"]["replicas"] == 2
    assert not dep["spec"]["template"]["spec"].get("hostNetwork")
    assert dep["spec"]["template"]["spec"]["serviceAccountName"] == ALLOCATOR_SA
    ns = yaml.safe_load(k.run("get", "namespace", "bgplb-system", "-o", "yaml").stdout)
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    # What the server stored is what the test above checked.
    stored = []
    for sa in (ALLOCATOR_SA, SPEAKER_SA):
        sa_obj = yaml.safe_load(k.run("get", "serviceaccount", "-n", "bgplb-system", sa,
                                      "-o", "yaml").stdout)
        assert sa_obj["kind"] == "ServiceAccount"
        for kind, ns_args in (("clusterrole", []), ("clusterrolebinding", []),
                              ("role", ["-n", "bgplb-system"]),
                              ("rolebinding", ["-n", "bgplb-system"])):
            stored.append(yaml.safe_load(k.run("get", kind, *ns_args, sa,
                                               "-o", "yaml").stdout))
    assert granted(stored, ALLOCATOR_SA) == (ALLOCATOR_CLUSTER,
                                             {"bgplb-system": ALLOCATOR_NAMESPACE})
    assert granted(stored, SPEAKER_SA) == (SPEAKER_CLUSTER,
                                           {"bgplb-system": SPEAKER_NAMESPACE})
    # The documented upgrade leaves the operator's configuration alone.
    mine = "pools:\n  - name: mine\n    protocol: bgp\n    addresses: [198.51.100.0/28]\n"
    k.run("-n", "bgplb-system", "patch", "configmap", "bgplb", "--type=merge", "-p",
          json.dumps({"data": {"config": mine}}))
    out = k.run("apply", "-f", MAIN, "-l", UPGRADE).stdout
    assert "configmap/bgplb " not in out and "daemonset.apps/bgplb unchanged" in out, out
    assert "deployment.apps/bgplb-allocator unchanged" in out, out
    cm = yaml.safe_load(k.run("get", "configmap", "-n", "bgplb-system", "bgplb",
                              "-o", "yaml").stdout)
    assert cm["data"]["config"] == mine
    k.run("create", "namespace", "metallb-system")
    out = k.run("apply", "-f", MIGRATION).stdout
    assert "configmap/bgplb-daemon configured" in out, out
    assert "role.rbac.authorization.k8s.io/bgplb-config-reader created" in out, out
    assert "rolebinding.rbac.authorization.k8s.io/bgplb-config-reader created" in out, out
    cm = yaml.safe_load(k.run("get", "configmap", "-n", "bgplb-system", "bgplb-daemon",
                              "-o", "yaml").stdout)
    assert cm["data"]["bgplbd.yaml"] == daemon_file(MIGRATION)


def test_membership_secret_dry_run_has_a_32_byte_key(kubectl):  # noqa: F811
    env = dict(kubectl.env, PATH=os.path.dirname(kubectl.bin) + ":" + os.environ["PATH"])
    r = subprocess.run([SCRIPT, "--dry-run", "--kubeconfig", kubectl.kubeconfig],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    s = yaml.safe_load(r.stdout)
    assert s["kind"] == "Secret" and s["metadata"]["name"] == "bgplb-membership"
    assert s["metadata"]["namespace"] == "bgplb-system"
    assert list(s["data"]) == ["key"]
    key = base64.b64decode(s["data"]["key"])
    assert len(key) == 32
    r2 = subprocess.run([SCRIPT, "--dry-run", "--kubeconfig", kubectl.kubeconfig],
                        capture_output=True, text=True, env=env, timeout=60)
    assert yaml.safe_load(r2.stdout)["data"]["key"] != s["data"]["key"], "not fresh"
    # The printed Secret is one kubectl takes.
    out = kubectl.run("apply", "--dry-run=client", "-f", "-", input=r.stdout).stdout
    assert "secret/bgplb-membership" in out, out


# ------------------------------------------------------------ the files, run

def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


def wait_until(fn, timeout=15, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


_seq = [0]
TOKEN = "deploy-test-token-5d2e"


class Cluster:
    """A network namespace holding the fake API server on its loopback
    (https://127.0.0.1:6443), kubectl, and bgplbd started the way the
    DaemonSet (a speaker) and the Deployment (an allocator) start it:
    in-cluster credentials (KUBERNETES_SERVICE_HOST/PORT and a service
    account directory at the usual place, in a mount namespace of the
    daemon's own), their containers' arguments."""

    NODE = "node-1"

    def __init__(self, tmp):
        _seq[0] += 1
        self.tmp = tmp
        self.ns = f"bgplbdep{os.getpid()}n{_seq[0]}"
        self.procs = []
        self.daemons = {}
        sh("ip", "netns", "add", self.ns)
        try:
            sh("ip", "-n", self.ns, "link", "set", "lo", "up")
            self.kubeconfig = str(tmp / "kubeconfig")
            self.api_log = open(tmp / "fakeapi.log", "w")
            self.api = self.popen([sys.executable, FAKEAPI, "--host", "127.0.0.1",
                                   "--port", "6443", "--tls", "--token", TOKEN,
                                   "--certdir", str(tmp / "certs"),
                                   "--kubeconfig", self.kubeconfig],
                                  stdout=self.api_log, stderr=subprocess.STDOUT)

            def up():
                if self.api.poll() is not None:
                    raise AssertionError("fakeapi exited:\n" +
                                         (tmp / "fakeapi.log").read_text())
                return os.path.exists(self.kubeconfig) and \
                    self.kubectl("get", "namespaces", check=False).returncode == 0
            wait_until(up, what="the fake API server")
            self.kubectl("create", "-f", "-", input=json.dumps({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.NODE,
                             "labels": {"kubernetes.io/hostname": self.NODE}},
                "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                           "conditions": [{"type": "Ready", "status": "True"}]}}))
            self.sa = tmp / "serviceaccount"
            self.sa.mkdir()
            (self.sa / "token").write_text(TOKEN + "\n")
            (self.sa / "namespace").write_text("bgplb-system\n")
            ca = re.search(r"certificate-authority-data: (\S+)",
                           open(self.kubeconfig).read()).group(1)
            (self.sa / "ca.crt").write_bytes(base64.b64decode(ca))
        except BaseException:
            self.close()
            raise

    def popen(self, argv, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns] + argv, **kw)
        self.procs.append(p)
        return p

    def run(self, *argv, check=True, input=None, timeout=30):
        return sh("ip", "netns", "exec", self.ns, *argv, check=check, input=input,
                  timeout=timeout)

    def kubectl(self, *args, check=True, input=None):
        p = self.run("kubectl", "--kubeconfig", self.kubeconfig, "--cache-dir",
                     str(self.tmp / "kcache"), "--request-timeout", "10s", *args,
                     check=False, input=input)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {p.stdout}{p.stderr}")
        return p

    def get(self, *args):
        return json.loads(self.kubectl("get", "-o", "json", *args).stdout)

    def events(self, ns, kind, name):
        return [(e["type"], e["reason"], e["message"]) for e in self.get("events", "-n", ns)
                ["items"] if e["involvedObject"]["kind"] == kind and
                e["involvedObject"]["name"] == name]

    def ingress(self, ns, name):
        st = self.get("service", "-n", ns, name).get("status", {})
        return [i["ip"] for i in st.get("loadBalancer", {}).get("ingress", [])]

    def holder(self):
        r = self.kubectl("get", "lease", "-n", "bgplb-system", "bgplb-leader", "-o", "json",
                         check=False)
        return json.loads(r.stdout)["spec"].get("holderIdentity") if r.returncode == 0 \
            else None

    ALLOCATOR_POD = "bgplb-allocator-7d9f8-x2k4q"
    ALLOCATOR_STATUS = "127.0.0.1:7474"

    def start_bgplbd(self, text, key=None, workload="speaker"):
        """The daemon's file as a Pod sees it, run with the arguments of the
        workload's container (the DaemonSet's speaker, or the Deployment's
        allocator), $(NODE_NAME) and $(POD_NAME) expanded as the kubelet
        does.  Two paths change: the key file's (the Secret's mount point
        does not exist here) and, for the allocator, the status endpoint's
        port (in a cluster it has its own Pod's loopback; here it shares the
        speaker's)."""
        mpath = mount_of("membership")["mountPath"] + "/key"
        assert mpath in text
        text = text.replace(mpath, str(self.tmp / "membership-key"))
        if key is not None:
            (self.tmp / "membership-key").write_bytes(key)
            os.chmod(self.tmp / "membership-key", 0o400)
        conf = self.tmp / "bgplbd.yaml"
        conf.write_text(text)
        c = container() if workload == "speaker" else allocator_container()
        args = [{"$(NODE_NAME)": self.NODE, "$(POD_NAME)": self.ALLOCATOR_POD}.get(a, a)
                for a in c["args"]]
        assert args[:2] == ["--config", mount_of("config")["mountPath"]]
        args[1] = str(conf)
        if workload == "allocator":
            args += ["--status-listen", self.ALLOCATOR_STATUS]
        log_path = self.tmp / f"bgplbd-{workload}.log"
        log = open(log_path, "a")
        env = dict(os.environ, KUBERNETES_SERVICE_HOST="127.0.0.1",
                   KUBERNETES_SERVICE_PORT="6443", SA=SA_DIR, SRC=str(self.sa))
        # A private mount namespace: a tmpfs on /run (so /var/run) holds the
        # service account directory for this process only.
        script = ('mount -t tmpfs tmpfs /run && mkdir -p "$SA" && '
                  'cp "$SRC"/token "$SRC"/ca.crt "$SRC"/namespace "$SA"/ && exec "$@"')
        daemon = self.popen(["unshare", "-m", "--propagation", "private", "sh", "-c",
                             script, "sh", BGPLBD] + args,
                            stdout=log, stderr=subprocess.STDOUT, env=env)
        if workload == "speaker":
            g = container()["readinessProbe"]["httpGet"]
            url = f"http://{g['host']}:{g['port']}"
            probe = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "2",
                     url + g["path"]]
        else:
            url = f"http://{self.ALLOCATOR_STATUS}"
            cmd = allocator_container()["readinessProbe"]["exec"]["command"]
            probe = [BGPLBCTL if a == "bgplbctl" else url if a.startswith("http://") else a
                     for a in cmd]

        def ready():
            if daemon.poll() is not None:
                raise AssertionError(f"bgplbd exited {daemon.returncode}:\n" +
                                     log_path.read_text())
            r = self.run(*probe, check=False)
            return r.returncode == 0 and (workload != "speaker" or r.stdout == "200")
        wait_until(ready, what=f"the {workload}'s readiness probe to pass")
        self.daemons[workload] = (daemon, url, log_path)
        return daemon

    def status(self, workload="speaker"):
        url = self.daemons[workload][1]
        return json.loads(self.run("curl", "-sf", "-m", "5", url + "/v1/status").stdout)

    def ctl_status(self, workload="speaker"):
        return self.run(BGPLBCTL, "--server", self.daemons[workload][1], "status").stdout

    def stop_bgplbd(self, workload="speaker"):
        """SIGTERM, as the kubelet sends it; within the grace period."""
        daemon, _, log_path = self.daemons[workload]
        daemon.send_signal(signal.SIGTERM)
        w = daemonset() if workload == "speaker" else deployment()
        grace = w["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        rc = daemon.wait(timeout=grace)
        assert rc == 0, log_path.read_text()

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        sh("ip", "netns", "del", self.ns, check=False)


@pytest.fixture
def cluster(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("running the deploy files needs root (a network namespace)")
    for tool in ("ip", "unshare", "curl", "kubectl"):
        if shutil.which(tool) is None:
            pytest.skip(f"running the deploy files needs {tool}")
    need_bgplbd()
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


def test_the_installed_daemon_runs_bgp_only(cluster):
    """deploy/bgplb.yaml as installed, no membership Secret (BGP only): an
    allocator and a speaker as their workloads run them; the allocator
    leads, loads the ConfigMap without warnings, allocates from its pool,
    and hands the Lease back on SIGTERM; the speaker never campaigns."""
    c = cluster
    c.kubectl("apply", "-f", MAIN)
    cfg = yaml.safe_load(find(docs(MAIN), "ConfigMap", "bgplb", "bgplb-system")
                         ["data"]["config"])
    c.start_bgplbd(daemon_file(MAIN), workload="allocator")
    c.start_bgplbd(daemon_file(MAIN), workload="speaker")
    wait_until(lambda: c.holder() == c.ALLOCATOR_POD, what="the Lease")
    loaded = f"configuration loaded: {len(cfg['pools'])} pools, {len(cfg['peers'])} peers"
    wait_until(lambda: c.events("bgplb-system", "ConfigMap", "bgplb"),
               what="the ConfigMap's event")
    assert c.events("bgplb-system", "ConfigMap", "bgplb") == \
        [("Normal", "ConfigLoaded", loaded)]
    st = c.status("allocator")
    assert st["kubernetes"]["leading"] is True
    assert st["kubernetes"]["role"] == "allocator"
    assert not st.get("membership", {}).get("enabled"), "an allocator announces nothing"
    st = c.status("speaker")
    assert st["kubernetes"]["role"] == "speaker"
    assert st["kubernetes"]["leading"] is False
    assert st["membership"]["enabled"] is False   # no Secret: no membership, still up

    c.kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
                 "ports": [{"name": "http", "port": 80}]}}))
    # Its Pod's endpoint: a Service no endpoint can serve is announced
    # nowhere (MetalLB's rule), so the speaker would never plan it.
    c.kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-abcde", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["10.244.0.9"], "nodeName": c.NODE,
                       "conditions": {"ready": True}}]}))
    (ip,) = wait_until(lambda: c.ingress("default", "web"), what="an address for default/web")
    pool = ipaddress.ip_network(cfg["pools"][0]["addresses"][0])
    assert ipaddress.ip_address(ip) in pool
    assert ("Normal", "IPAllocated", f'Assigned IP ["{ip}"]') in \
        c.events("default", "Service", "web")

    out = c.ctl_status("allocator")
    assert "mode:      Kubernetes, API server https://127.0.0.1:6443\n" in out, out
    assert "role:      allocator\n" in out, out
    assert f"leader:    {c.ALLOCATOR_POD} (this node) (lease bgplb-system/bgplb-leader)\n" \
        in out, out
    assert "configmap: bgplb-system/bgplb: loaded\n" in out, out
    assert "services:  1 LoadBalancer services handled\n" in out, out
    out = c.ctl_status("speaker")
    assert "role:      speaker\n" in out, out
    assert "configmap: bgplb-system/bgplb: loaded\n" in out, out
    wait_until(lambda: c.status("speaker")["routes_planned"] == 1,
               what="the speaker to plan default/web")

    c.stop_bgplbd("speaker")
    c.stop_bgplbd("allocator")
    assert c.holder() in ("", None), "the Lease was not released"
    assert c.ingress("default", "web") == [ip], "a stop must not take the address away"


def test_the_metallb_migration_keeps_every_address(cluster):
    """deploy/metallb-migration.yaml with the seed's MetalLB ConfigMap and
    Service, unchanged, and a Service MetalLB had already given an address:
    the seed's loads, the seed's Service gets what it asks for, the other
    keeps its address; the Secret from membership-secret.sh is a key the
    daemon takes."""
    seed_cm = os.path.join(SEED, "metallb-configMap.yml")
    seed_svc = os.path.join(SEED, "protopod-service.yml")
    if not (os.path.exists(seed_cm) and os.path.exists(seed_svc)):
        pytest.skip(f"the seed files are not in {SEED}")
    c = cluster
    with open(seed_cm) as f:
        seed = yaml.safe_load(f)
    # MetalLB's cluster.
    c.kubectl("create", "namespace", seed["metadata"]["namespace"])
    c.kubectl("apply", "-f", seed_cm)
    # The steps of doc/kubernetes.md: everything but the workloads and the
    # example config, the migration file, then the workloads.
    out = c.kubectl("apply", "-f", MAIN, "-l", MIGRATE_FIRST).stdout
    assert "daemonset" not in out and "deployment" not in out, out
    assert "configmap/bgplb " not in out, out
    c.kubectl("apply", "-f", MIGRATION)
    out = c.kubectl("apply", "-f", MAIN, "-l", MIGRATE_LAST).stdout
    assert sorted(out.strip().splitlines()) == [
        "daemonset.apps/bgplb created", "deployment.apps/bgplb-allocator created"], out
    with open(seed_svc) as f:
        svc = yaml.safe_load(f)
    sns, sname = svc["metadata"]["namespace"], svc["metadata"]["name"]
    c.kubectl("create", "namespace", sns)
    c.kubectl("apply", "-f", seed_svc)
    # What MetalLB gave a Service earlier: not the pool's first address.
    legacy = yaml.safe_load(seed["data"]["config"])
    first = ipaddress.ip_address(legacy["address-pools"][0]["addresses"][0].split("-")[0])
    held = str(first + 19)
    c.kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
                 "ports": [{"name": "http", "port": 80}]}}))
    c.kubectl("patch", "service", "-n", "default", "web", "--subresource=status",
              "--type=merge", "-p",
              json.dumps({"status": {"loadBalancer": {"ingress": [{"ip": held}]}}}))
    # Its Pod's endpoint: a Service no endpoint can serve is announced
    # nowhere (MetalLB's rule), so it would never be planned.
    c.kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-abcde", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["10.244.0.9"], "nodeName": c.NODE,
                       "conditions": {"ready": True}}]}))

    # The daemon's file from the cluster, as the Pod mounts it.
    text = c.get("configmap", "-n", "bgplb-system", "bgplb-daemon")["data"]["bgplbd.yaml"]
    assert text == daemon_file(MIGRATION)
    r = c.run(SCRIPT, "--dry-run", "--kubeconfig", c.kubeconfig)
    key = base64.b64decode(yaml.safe_load(r.stdout)["data"]["key"])
    c.start_bgplbd(text, workload="allocator")
    c.start_bgplbd(text, key=key, workload="speaker")

    want = svc["spec"]["loadBalancerIP"]
    wait_until(lambda: c.ingress(sns, sname) == [want], what=f"{want} for {sns}/{sname}")
    # The leader has planned "web" (its layer 2 owner is announced) and left
    # its address where it was.
    wait_until(lambda: any(e[1] == "nodeAssigned" for e in c.events("default", "Service",
                                                                     "web")),
               what="default/web to be planned")
    assert c.ingress("default", "web") == [held]
    assert not [e for e in c.events("default", "Service", "web")
                if e[1] in ("IPAllocated", "ClearAssignment", "AllocationFailed")]
    cm_ns, cm_name = seed["metadata"]["namespace"], seed["metadata"]["name"]
    loaded = f"configuration loaded: {len(legacy['address-pools'])} pools, " \
             f"{len(legacy.get('peers', []))} peers"
    assert ("Normal", "ConfigLoaded", loaded) in c.events(cm_ns, "ConfigMap", cm_name)
    st = c.status("speaker")
    assert st["membership"]["enabled"] is True, st["membership"]
    assert st["membership"]["port"] == 7946
    for w in ("allocator", "speaker"):
        out = c.ctl_status(w)
        assert f"configmap: {cm_ns}/{cm_name}: loaded\n" in out, out
    c.stop_bgplbd("speaker")
    c.stop_bgplbd("allocator")
