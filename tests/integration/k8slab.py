"""A Kubernetes cluster in network namespaces, for the end-to-end tests of
Kubernetes mode (test_k8s.py, test_k8s_l2.py) and bench/k8s-converge.

    router namespace: bridge br0 10.0.0.1/24, FRR (zebra + bgpd -n, AS 64500),
                      the fake API server (tests/k8s/fakeapi.py) on
                      https://10.0.0.1:6443, and every kubectl command
    node namespaces:  10.0.0.2, 10.0.0.3, ... on veths into br0, each with a
                      bgplbd in Kubernetes mode (--node node-N) that reaches
                      the API server and FRR over the bridge
    allocator namespaces (allocators=N, default none): the next addresses,
                      each with a `bgplbd --role allocator --node allocator-N`
                      that reaches the API server only (FRR does not peer with
                      it, it has no Node object); the nodes' daemons then run
                      `--role speaker`.  Without allocators every node's
                      daemon is both, as before.

For layer 2 (test_k8s_l2.py: K8sLab(..., frr=False, names=[...])) there is
no FRR: the router namespace is then the client on the nodes' link (arping,
tcpdump on br0), and the nodes' daemon files carry a `layer2` section.

The fake serves on the bridge address only because it runs inside the
router namespace (it refuses a non-loopback address in the machine's own
namespace).  Every Node object the daemons see is created here, with its
InternalIP on the bridge.  Everything is removed on close(), also after a
failure.
"""
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from conftest import BGPLBD, TOP, Daemon, sh, wait_until
from routers import Frr, Topology, render

FAKEAPI = os.path.join(TOP, "tests", "k8s", "fakeapi.py")
SEED = os.path.abspath(os.path.join(TOP, "..", "shared", "seed-examples"))
API_PORT = 6443
TOKEN = "k8slab-token-7c1e5b"
ROUTER_AS = 64500
NODE_AS = 64512
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def seed_configmap_bgp(router=Topology.ROUTER_V4, peer_asn=ROUTER_AS, my_asn=NODE_AS,
                       hold="9s"):
    """The seed's MetalLB ConfigMap as it is, but switched to BGP: each
    `protocol: layer2` becomes `protocol: bgp`, and a `peers:` list (MetalLB's
    legacy keys) names the router."""
    with open(os.path.join(SEED, "metallb-configMap.yml")) as f:
        text = f.read()
    assert "protocol: layer2" in text, "the seed ConfigMap changed shape"
    text = text.replace("protocol: layer2", "protocol: bgp")
    marker = "  config: |\n"
    assert marker in text
    peers = ("  config: |\n"
             "    peers:\n"
             f"    - peer-address: {router}\n"
             f"      peer-asn: {peer_asn}\n"
             f"      my-asn: {my_asn}\n"
             f"      hold-time: {hold}\n")
    return text.replace(marker, peers, 1)


def node_yaml(name, addr, labels=None, ready=True, network_unavailable=False):
    labels = dict({"kubernetes.io/hostname": name}, **(labels or {}))
    conds = [{"type": "Ready", "status": "True" if ready else "False"}]
    if network_unavailable:
        conds.append({"type": "NetworkUnavailable", "status": "True"})
    return json.dumps({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "status": {"addresses": [{"type": "InternalIP", "address": addr},
                                 {"type": "Hostname", "address": name}],
                   "conditions": conds},
    })


class K8sNode:
    """One node namespace: its Node object name and its bgplbd."""

    def __init__(self, lab, topo_node, name, role=None):
        self.lab, self.topo, self.name = lab, topo_node, name
        self.ns = topo_node.ns
        self.addr = topo_node.v4
        self.role = role        # --role; None: both (no flag)
        self.daemon = None

    def config_text(self, extra=""):
        lease = ""
        if self.lab.lease_ms:
            a, b, c = self.lab.lease_ms
            lease = (f"  lease-duration: {(a + 999) // 1000}s\n"
                     f"  renew-deadline: {b}ms\n"
                     f"  retry-period: {c}ms\n")
        return (f"router-id: {self.addr}\n"
                "kubernetes:\n"
                f"  kubeconfig: {self.lab.kubeconfig}\n"
                f"  config-map: {self.lab.config_map}\n"
                "  lease: bgplb-system/bgplb-leader\n" + lease + extra)

    def start(self, extra_config="", wait=True):
        path = self.lab.dir / f"bgplbd-{self.name}.yaml"
        path.write_text(self.config_text(extra_config))
        extra = ["--role", self.role] if self.role else []
        self.daemon = Daemon(self.ns, path, self.lab.dir, node=self.name,
                             extra=extra)
        self.lab.daemons.append(self.daemon)
        self.daemon.start(wait=wait)
        return self.daemon

    def status(self):
        return self.daemon.json("/v1/status")

    def k8s(self):
        return self.status().get("kubernetes", {})

    def leading(self):
        return bool(self.k8s().get("leading"))


class K8sLab:
    def __init__(self, tmp_path, nodes=2, config_map="metallb-system/config",
                 lease_ms=(4000, 3000, 500), history=100000, names=None, frr=True,
                 api_args=(), allocators=0):
        """lease_ms: (lease, renew deadline, retry) for the daemons, as the
        kubernetes section's lease-duration (whole seconds), renew-deadline
        and retry-period; None: the daemon's defaults (client-go's 15 s, 10 s,
        2 s).  names: the nodes' names (default node-1, node-2, ...); frr:
        run FRR in the router namespace (False for layer 2); api_args: more
        command-line options for the fake API server.  allocators: that many
        `--role allocator` daemons in namespaces of their own
        (self.allocators), the nodes' daemons then `--role speaker`; 0: every
        node's daemon does both."""
        self.dir = tmp_path
        self.config_map = config_map
        self.lease_ms = lease_ms
        self.names = list(names) if names else [f"node-{i}" for i in range(1, nodes + 1)]
        assert len(self.names) == nodes
        self.with_frr = frr
        self.api_args = list(api_args)
        self.daemons = []
        self.allocators = []
        self.api_proc = None
        self.frr = None
        self.topo = Topology(nodes + allocators)
        try:
            self._start(nodes, history, allocators)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ set-up
    def _start(self, n, history, allocators=0):
        r = self.topo.router_ns
        self.router_ns = r
        if self.with_frr:
            conf = render("frr-bgpd.conf", router_as=ROUTER_AS, node_as=NODE_AS,
                          node_addrs=[nd.v4 for nd in self.topo.nodes[:n]])
            self.frr = Frr(r, self.dir / "frr", conf).start()
        self.kubeconfig = str(self.dir / "kubeconfig")
        certdir = self.dir / "certs"
        self.api_log = open(self.dir / "fakeapi.log", "w")
        self.api_proc = r.popen([PYTHON, FAKEAPI, "--host", Topology.ROUTER_V4,
                                 "--port", str(API_PORT), "--tls", "--token", TOKEN,
                                 "--certdir", str(certdir), "--kubeconfig", self.kubeconfig,
                                 "--history", str(history), "--bookmark-interval", "5"]
                                + self.api_args,
                                stdout=self.api_log, stderr=subprocess.STDOUT)
        self.url = f"https://{Topology.ROUTER_V4}:{API_PORT}"

        def up():
            if self.api_proc.poll() is not None:
                raise AssertionError("fakeapi exited:\n" + self.api_log_text())
            return os.path.exists(self.kubeconfig) and self.api("GET", "/version",
                                                                check=False) is not None
        wait_until(up, timeout=20, what="the fake API server")
        # kubectl's discovery cache is per lab: another run's server on the
        # same address must not be remembered.
        self.kcache = str(self.dir / "kcache")
        self.nodes = []
        for tn, name in zip(self.topo.nodes[:n], self.names):
            node = K8sNode(self, tn, name, role="speaker" if allocators else None)
            self.add_node(node.name, node.addr)
            self.nodes.append(node)
        for i, tn in enumerate(self.topo.nodes[n:], start=1):
            self.allocators.append(K8sNode(self, tn, f"allocator-{i}", role="allocator"))

    def start_cluster(self, namespaces, configmap_text, lease_timeout=20):
        """The usual start: the namespaces, the config ConfigMap, every
        daemon (allocators first), FRR's session with every node, a leader."""
        for ns in namespaces:
            self.kubectl("create", "namespace", ns)
        self.apply(configmap_text)
        for m in self.allocators + self.nodes:
            m.start()
        for n in self.nodes:
            wait(lambda: self.frr.established(n.addr), timeout=30,
                 what=f"FRR's session with {n.name}")
        wait(lambda: self.leader() is not None and self.leader().leading(),
             timeout=lease_timeout, what="a leader")

    def start_seed(self, lease_timeout=20):
        """start_cluster with namespaces metallb-system, bgplb-system and
        protopod and the seed's ConfigMap switched to BGP."""
        self.start_cluster(("metallb-system", "bgplb-system", "protopod"),
                           seed_configmap_bgp(), lease_timeout)

    def ensure_seed_service(self, ip="172.16.13.254"):
        """The seed's protopod Service exists with its address and every
        running node announces it; returns those nodes' addresses."""
        self.kubectl("apply", "-f", os.path.join(SEED, "protopod-service.yml"))
        self.serve("protopod", "protopod")     # announced only with an endpoint
        wait(lambda: self.ingress("protopod", "protopod") == [ip], timeout=20,
             what="protopod's address")
        want = sorted(n.addr for n in self.nodes if n.daemon.proc.poll() is None)
        wait(lambda: self.frr_paths(ip) == want, timeout=30,
             what=f"FRR paths for {ip} from {want}")
        return want

    def api_log_text(self):
        try:
            return (self.dir / "fakeapi.log").read_text()[-4000:]
        except OSError:
            return ""

    def close(self):
        for d in self.daemons:
            d.stop(signal.SIGKILL)
        if self.api_proc is not None and self.api_proc.poll() is None:
            self.api_proc.kill()
            self.api_proc.wait()
        if self.frr is not None:
            self.frr.stop()
            self.frr.cleanup()
        self.topo.delete()

    # ------------------------------------------------------------ API access
    def kubectl(self, *args, input=None, check=True, timeout=60):
        argv = ["kubectl", "--kubeconfig", self.kubeconfig, "--cache-dir", self.kcache,
                "--request-timeout", "20s"] + list(args)
        p = subprocess.run(["ip", "netns", "exec", self.router_ns.name] + argv,
                           input=input, capture_output=True, text=True, timeout=timeout,
                           env=dict(os.environ, HOME=str(self.dir)))
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({p.returncode}):\n"
                                 f"{p.stdout}\n{p.stderr}")
        return p

    def apply(self, text):
        return self.kubectl("apply", "-f", "-", input=text)

    def api(self, method, path, body=None, check=True, content_type="application/json"):
        """A request to the fake from inside the router namespace (curl);
        returns the parsed JSON, or None when check is false and it failed."""
        args = ["curl", "-s", "-m", "20", "--cacert", str(self.dir / "certs" /
                                                          "apiserver-10.0.0.1.crt"),
                "-H", f"Authorization: Bearer {TOKEN}", "-X", method,
                "-w", "\n%{http_code}"]
        if body is not None:
            args += ["-H", f"Content-Type: {content_type}", "--data-binary", "@-"]
        args.append(self.url + path)
        p = subprocess.run(["ip", "netns", "exec", self.router_ns.name] + args,
                           input=None if body is None else json.dumps(body),
                           capture_output=True, text=True)
        out, _, code = p.stdout.rpartition("\n")
        if p.returncode != 0 or not code.startswith("2"):
            if check:
                raise AssertionError(f"{method} {path}: curl {p.returncode} HTTP {code}: "
                                     f"{out[:500]} {p.stderr}")
            return None
        return json.loads(out) if out.strip() else {}

    def fault(self, **rule):
        return self.api("POST", "/__fake/faults", rule)

    def fake_state(self):
        return self.api("GET", "/__fake/state")

    def requests(self):
        return self.api("GET", "/__fake/requests")

    def requests_from(self, member):
        """The fake's request log, from one node's or allocator's daemon (by
        its address on the bridge)."""
        return [r for r in self.requests() if r.get("client") == member.addr]

    def add_node(self, name, addr, **kw):
        self.apply(node_yaml(name, addr, **kw))

    def bring_up(self, configmap_text, namespaces=("metallb-system", "bgplb-system")):
        """What a test module's fixture does first: the namespaces, the
        cluster ConfigMap, every node's bgplbd, FRR's session with each, a
        leader."""
        for ns in namespaces:
            self.kubectl("create", "namespace", ns)
        self.apply(configmap_text)
        for n in self.nodes:
            n.start()
        for n in self.nodes:
            wait(lambda: self.frr.established(n.addr), timeout=30,
                 what=f"FRR's session with {n.name}")
        wait(lambda: self.leader() is not None and self.leader().leading(), timeout=20,
             what="a leader")

    def serve(self, ns, service, nodes=None, ready=True, serving=None,
              terminating=None, name=None):
        """An EndpointSlice for service, as the EndpointSlice controller
        writes one for its Pods (the lab has no Pods): one endpoint per node
        (node names; default every lab node; [] an empty slice) with these
        conditions (None: left out, as the API allows).  A Service is
        announced only while an endpoint can serve it (MetalLB's rule).
        Returns the slice's name."""
        name = name or f"{service}-lab"
        nodes = [n.name for n in self.nodes] if nodes is None else list(nodes)
        conds = {k: v for k, v in (("ready", ready), ("serving", serving),
                                   ("terminating", terminating)) if v is not None}
        eps = [{"addresses": [f"10.244.{i + 1}.7"], "nodeName": n,
                "conditions": dict(conds)} for i, n in enumerate(nodes)]
        self.apply(json.dumps({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": ns,
                         "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4", "ports": [{"name": "", "port": 80, "protocol": "TCP"}],
            "endpoints": eps}))
        return name

    # ------------------------------------------------------------ cluster view
    def service(self, ns, name):
        return self.api("GET", f"/api/v1/namespaces/{ns}/services/{name}", check=False)

    def ingress(self, ns, name):
        svc = self.service(ns, name)
        if not svc:
            return None
        return [i.get("ip") for i in
                svc.get("status", {}).get("loadBalancer", {}).get("ingress", []) or []]

    def events(self, ns, name=None, kind="Service"):
        items = self.api("GET", f"/api/v1/namespaces/{ns}/events").get("items", [])
        return [e for e in items
                if e.get("involvedObject", {}).get("kind") == kind
                and (name is None or e["involvedObject"].get("name") == name)]

    def lease(self):
        return self.api("GET", "/apis/coordination.k8s.io/v1/namespaces/bgplb-system/"
                        "leases/bgplb-leader", check=False)

    def leader(self):
        """The node that holds the Lease and says it leads, or None."""
        le = self.lease()
        holder = (le or {}).get("spec", {}).get("holderIdentity")
        for n in self.nodes + self.allocators:
            if n.name == holder and n.daemon and n.daemon.proc.poll() is None:
                return n
        return None

    # ------------------------------------------------------------ router view
    def frr_paths(self, prefix):
        """The peers (node addresses) FRR has a path for prefix from."""
        return sorted(p.peer for p in self.frr.paths(prefix) if p.peer)

    def frr_prefixes(self):
        return set(self.frr.routes("ipv4"))


def lb_service(name, port, namespace, annotations=None, **spec):
    """A LoadBalancer Service selecting app=name, as JSON for kubectl apply."""
    meta = {"name": name, "namespace": namespace}
    if annotations:
        meta["annotations"] = annotations
    return json.dumps({
        "apiVersion": "v1", "kind": "Service", "metadata": meta,
        "spec": dict({"type": "LoadBalancer", "selector": {"app": name},
                      "ports": [{"port": port, "protocol": "TCP"}]}, **spec)})


def b64(data):
    return base64.b64encode(data).decode()


def have_tools(frr=True):
    """What the lab needs that may be missing: a list of names."""
    missing = [b for b in ("kubectl", "curl") + (("vtysh",) if frr else ())
               if shutil.which(b) is None]
    for b in (("/usr/lib/frr/bgpd", "/usr/lib/frr/zebra") if frr else ()) + (BGPLBD,):
        if not os.path.exists(b):
            missing.append(b)
    return missing


def skip_without_lab():
    """pytest.skip unless the lab can run here (root, the tools)."""
    import pytest
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    missing = have_tools()
    if missing:
        pytest.skip("missing for the Kubernetes lab: " + ", ".join(missing))


# test_k8s_status.py's name for it.
need_lab = skip_without_lab


def wait(fn, timeout=20, what="condition", interval=0.1):
    return wait_until(fn, timeout=timeout, interval=interval, what=what)


def now():
    return time.monotonic()


__all__ = ["K8sLab", "K8sNode", "seed_configmap_bgp", "node_yaml", "have_tools", "wait",
           "now", "sh", "SEED", "b64", "skip_without_lab",
           "lb_service", "need_lab"]
