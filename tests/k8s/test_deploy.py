"""deploy/: the manifests an operator applies.  Every document parses; the
real kubectl accepts them (dry run, and applied to the fake API server); the
RBAC is exactly what the daemon needs; the configs embedded in the
ConfigMaps pass `bgplbd --check-config`; the membership Secret script makes
a 32-byte key.  Then the files are run: bgplbd with the daemon file as
shipped (in-cluster credentials, as a Pod gets them) against the fake API
server holding deploy/bgplb.yaml, and again as a MetalLB user would after
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
# The label selectors doc/kubernetes.md gives for applying parts of bgplb.yaml.
UPGRADE = "app.kubernetes.io/component!=cluster-config"
MIGRATE_FIRST = "app.kubernetes.io/component notin (speaker,cluster-config)"
MIGRATE_LAST = "app.kubernetes.io/component=speaker"
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


def container():
    (c,) = daemonset()["spec"]["template"]["spec"]["containers"]
    return c


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


def test_rbac_is_exactly_what_the_daemon_needs():
    ds = docs(MAIN)
    cr = find(ds, "ClusterRole", "bgplb")
    role = find(ds, "Role", "bgplb", "bgplb-system")
    assert triples(cr) == CLUSTER_RULES
    assert triples(role) == NAMESPACE_RULES
    mig = docs(MIGRATION)
    mrole = find(mig, "Role", "bgplb-config-reader", "metallb-system")
    assert triples(mrole) == CONFIG_READ
    for rules in (triples(cr), triples(role), triples(mrole)):
        assert not any("*" in t for t in rules)
        assert not any(res.startswith("secrets") for _, res, _ in rules)
    crb = find(ds, "ClusterRoleBinding", "bgplb")
    rb = find(ds, "RoleBinding", "bgplb", "bgplb-system")
    for b, kind in ((crb, "ClusterRole"), (rb, "Role")):
        assert b["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": kind,
                                "name": "bgplb"}
        assert b["subjects"] == [{"kind": "ServiceAccount", "name": "bgplb",
                                  "namespace": "bgplb-system"}]
    mrb = find(mig, "RoleBinding", "bgplb-config-reader", "metallb-system")
    assert mrb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                              "name": "bgplb-config-reader"}
    assert mrb["subjects"] == [{"kind": "ServiceAccount", "name": "bgplb",
                                "namespace": "bgplb-system"}]
    # Only these roles anywhere.
    kinds = [d["kind"] for d in ds + mig if "Role" in d["kind"]]
    assert sorted(kinds) == ["ClusterRole", "ClusterRoleBinding", "Role", "Role",
                             "RoleBinding", "RoleBinding"]


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
    assert spec["serviceAccountName"] == "bgplb"
    c = container()
    assert c["name"] == "bgplbd"
    sc = c["securityContext"]
    assert sc["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "NET_RAW"]}
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
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
    assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
    # Long enough for the daemon's bounded shutdown (Cease to peers, Lease
    # hand-over), with room to spare.
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
    assert picked(UPGRADE) == everything - {"configmap/bgplb"}
    assert picked(MIGRATE_FIRST) == everything - {"configmap/bgplb", "daemonset/bgplb"}
    assert picked(MIGRATE_LAST) == {"daemonset/bgplb"}
    assert picked(MIGRATE_DONE) == {"configmap/bgplb-daemon"}


def test_kubectl_accepts_the_manifests_dry_run(kubectl):  # noqa: F811
    for path in (MAIN, MIGRATION):
        out = kubectl.run("apply", "--dry-run=client", "-f", path).stdout
        assert "(dry run)" in out, out
        assert out.count("(dry run)") == len(docs(path)), out


def test_kubectl_applies_everything_to_the_api_server(kubectl):  # noqa: F811
    k = kubectl
    out = k.run("apply", "-f", MAIN).stdout
    for obj in ("namespace/bgplb-system", "serviceaccount/bgplb",
                "clusterrole.rbac.authorization.k8s.io/bgplb",
                "clusterrolebinding.rbac.authorization.k8s.io/bgplb",
                "role.rbac.authorization.k8s.io/bgplb",
                "rolebinding.rbac.authorization.k8s.io/bgplb",
                "configmap/bgplb", "configmap/bgplb-daemon", "daemonset.apps/bgplb"):
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
    sa = yaml.safe_load(k.run("get", "serviceaccount", "-n", "bgplb-system", "bgplb",
                              "-o", "yaml").stdout)
    assert sa["kind"] == "ServiceAccount"
    # What the server stored is what the test above checked.
    cr = yaml.safe_load(k.run("get", "clusterrole", "bgplb", "-o", "yaml").stdout)
    assert triples(cr) == CLUSTER_RULES
    role = yaml.safe_load(k.run("get", "role", "-n", "bgplb-system", "bgplb",
                                "-o", "yaml").stdout)
    assert triples(role) == NAMESPACE_RULES
    k.run("get", "rolebinding", "-n", "bgplb-system", "bgplb")
    k.run("get", "clusterrolebinding", "bgplb")
    # The documented upgrade leaves the operator's configuration alone.
    mine = "pools:\n  - name: mine\n    protocol: bgp\n    addresses: [198.51.100.0/28]\n"
    k.run("-n", "bgplb-system", "patch", "configmap", "bgplb", "--type=merge", "-p",
          json.dumps({"data": {"config": mine}}))
    out = k.run("apply", "-f", MAIN, "-l", UPGRADE).stdout
    assert "configmap/bgplb " not in out and "daemonset.apps/bgplb unchanged" in out, out
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
    (https://127.0.0.1:6443), kubectl, and a bgplbd started the way the
    DaemonSet starts it: in-cluster credentials (KUBERNETES_SERVICE_HOST/
    PORT and a service account directory at the usual place, in a mount
    namespace of the daemon's own), `--config FILE --node NAME`."""

    NODE = "node-1"

    def __init__(self, tmp):
        _seq[0] += 1
        self.tmp = tmp
        self.ns = f"bgplbdep{os.getpid()}n{_seq[0]}"
        self.procs = []
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

    def start_bgplbd(self, text, key=None):
        """The daemon's file as a Pod sees it.  The one path changed is the
        key file's (the Secret's mount point does not exist here)."""
        mpath = mount_of("membership")["mountPath"] + "/key"
        assert mpath in text
        text = text.replace(mpath, str(self.tmp / "membership-key"))
        if key is not None:
            (self.tmp / "membership-key").write_bytes(key)
            os.chmod(self.tmp / "membership-key", 0o400)
        conf = self.tmp / "bgplbd.yaml"
        conf.write_text(text)
        self.log_path = self.tmp / "bgplbd.log"
        self.log = open(self.log_path, "a")
        env = dict(os.environ, KUBERNETES_SERVICE_HOST="127.0.0.1",
                   KUBERNETES_SERVICE_PORT="6443", SA=SA_DIR, SRC=str(self.sa))
        # A private mount namespace: a tmpfs on /run (so /var/run) holds the
        # service account directory for this process only.
        script = ('mount -t tmpfs tmpfs /run && mkdir -p "$SA" && '
                  'cp "$SRC"/token "$SRC"/ca.crt "$SRC"/namespace "$SA"/ && exec "$@"')
        self.daemon = self.popen(["unshare", "-m", "--propagation", "private", "sh", "-c",
                                  script, "sh", BGPLBD, "--config", str(conf),
                                  "--node", self.NODE],
                                 stdout=self.log, stderr=subprocess.STDOUT, env=env)
        g = container()["readinessProbe"]["httpGet"]
        url = f"http://{g['host']}:{g['port']}"

        def ready():
            if self.daemon.poll() is not None:
                raise AssertionError(f"bgplbd exited {self.daemon.returncode}:\n" +
                                     self.log_path.read_text())
            r = self.run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "2",
                         url + g["path"], check=False)
            return r.stdout == "200"
        wait_until(ready, what="the readiness probe's URL to answer 200")
        self.url = url
        return self.daemon

    def status(self):
        return json.loads(self.run("curl", "-sf", "-m", "5", self.url + "/v1/status").stdout)

    def ctl_status(self):
        return self.run(BGPLBCTL, "--server", self.url, "status").stdout

    def stop_bgplbd(self):
        """SIGTERM, as the kubelet sends it; within the grace period."""
        self.daemon.send_signal(signal.SIGTERM)
        grace = daemonset()["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        rc = self.daemon.wait(timeout=grace)
        assert rc == 0, self.log_path.read_text()

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
    """deploy/bgplb.yaml as installed, no membership Secret (BGP only): the
    daemon leads, loads the ConfigMap without warnings, allocates from its
    pool, and hands the Lease back on SIGTERM."""
    c = cluster
    c.kubectl("apply", "-f", MAIN)
    cfg = yaml.safe_load(find(docs(MAIN), "ConfigMap", "bgplb", "bgplb-system")
                         ["data"]["config"])
    c.start_bgplbd(daemon_file(MAIN))
    wait_until(lambda: c.holder() == c.NODE, what="the Lease")
    loaded = f"configuration loaded: {len(cfg['pools'])} pools, {len(cfg['peers'])} peers"
    wait_until(lambda: c.events("bgplb-system", "ConfigMap", "bgplb"),
               what="the ConfigMap's event")
    assert c.events("bgplb-system", "ConfigMap", "bgplb") == \
        [("Normal", "ConfigLoaded", loaded)]
    st = c.status()
    assert st["kubernetes"]["leading"] is True
    assert st["membership"]["enabled"] is False   # no Secret: no membership, still up

    c.kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
                 "ports": [{"name": "http", "port": 80}]}}))
    (ip,) = wait_until(lambda: c.ingress("default", "web"), what="an address for default/web")
    pool = ipaddress.ip_network(cfg["pools"][0]["addresses"][0])
    assert ipaddress.ip_address(ip) in pool
    assert ("Normal", "IPAllocated", f'Assigned IP ["{ip}"]') in \
        c.events("default", "Service", "web")

    out = c.ctl_status()
    assert "mode:      Kubernetes, API server https://127.0.0.1:6443\n" in out, out
    assert f"leader:    {c.NODE} (this node) (lease bgplb-system/bgplb-leader)\n" in out, out
    assert "configmap: bgplb-system/bgplb: loaded\n" in out, out
    assert "services:  1 LoadBalancer services handled\n" in out, out

    c.stop_bgplbd()
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
    # The steps of doc/kubernetes.md: everything but the DaemonSet and the
    # example config, the migration file, then the DaemonSet.
    out = c.kubectl("apply", "-f", MAIN, "-l", MIGRATE_FIRST).stdout
    assert "daemonset" not in out and "configmap/bgplb " not in out, out
    c.kubectl("apply", "-f", MIGRATION)
    out = c.kubectl("apply", "-f", MAIN, "-l", MIGRATE_LAST).stdout
    assert out.strip() == "daemonset.apps/bgplb created", out
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

    # The daemon's file from the cluster, as the Pod mounts it.
    text = c.get("configmap", "-n", "bgplb-system", "bgplb-daemon")["data"]["bgplbd.yaml"]
    assert text == daemon_file(MIGRATION)
    r = c.run(SCRIPT, "--dry-run", "--kubeconfig", c.kubeconfig)
    key = base64.b64decode(yaml.safe_load(r.stdout)["data"]["key"])
    c.start_bgplbd(text, key=key)

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
    st = c.status()
    assert st["membership"]["enabled"] is True, st["membership"]
    assert st["membership"]["port"] == 7946
    out = c.ctl_status()
    assert f"configmap: {cm_ns}/{cm_name}: loaded\n" in out, out
    c.stop_bgplbd()
