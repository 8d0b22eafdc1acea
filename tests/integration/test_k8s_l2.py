"""The MetalLB layer 2 walk-through in Kubernetes mode, end to end, as its
user would try it: three workers on one link with a client, the fake API
server (tests/k8s/fakeapi.py, see k8slab.py), and the real kubectl applying
the seed's two files unchanged (../shared/seed-examples: the `config`
ConfigMap in `metallb-system` with the layer2 pools `default` and `poc`,
and the protopod Service pinned to 172.16.13.254 in `poc`).

    router namespace: br0 10.0.0.1/24, the fake API server on
                      https://10.0.0.1:6443 and kubectl; it is also the
                      client on the link: arping and tcpdump run here
    kube-worker01..03: 10.0.0.2..4 on veths into br0 (the InternalIPs of
                      their Node objects), each with a bgplbd in Kubernetes
                      mode whose daemon file has `layer2.membership` with a
                      shared key file (deploy/membership-secret.sh's Secret);
                      the members are the cluster's Nodes

EndpointSlices stand in for the protopod Deployment's three pods, one per
node.  Everything asserted is what a user sees: `kubectl get svc` /
`describe svc` / `get events`, and which MACs answer ARP on the client.

Two tests show defects of the issue [seed-l2] and fail until they are fixed:
test_nodeassigned_follows_failover (the nodeAssigned event after a
membership failover) and test_slow_node_list_no_claims (every node claims
every address when the Node list comes late).  Both can be run alone:
`pytest tests/integration/test_k8s_l2.py -k 'failover or slow_node'`.

Membership runs with its defaults written out (interval 100ms, dead-after
500ms); the Lease is short (4 s) as in test_k8s.py.
"""
import ipaddress
import json
import os
import re
import secrets
import signal
import subprocess
import time

import pytest

from conftest import TOP
from k8slab import SEED, K8sLab, have_tools, wait
from test_l2 import mac_of, need
from test_l2_failover import Capture

NAMES = ["kube-worker01", "kube-worker02", "kube-worker03"]
PROTOPOD = "172.16.13.254"
POC = (ipaddress.ip_address("172.16.13.1"), ipaddress.ip_address("172.16.13.254"))
DEAD_AFTER = 0.5
LEASE_MS = (4000, 3000, 500)
LIST_DELAY = 3.0        # the slow API server: the first Node LISTs come this late
FAILOVER_BOUND = 1.0    # "another node answers within 1 s"
EVENT_WAIT = 5.0        # how long a nodeAssigned event may take to follow


# ------------------------------------------------------------ the lab

def daemon_file_layer2(key_file):
    """The layer 2 part of each node's daemon file (deploy/bgplb.yaml's
    bgplb-daemon, with the membership Secret mounted at key_file)."""
    return ("layer2:\n"
            "  interfaces: [eth0]\n"
            "  membership:\n"
            f"    key-file: {key_file}\n"
            "    interval: 100ms\n"
            f"    dead-after: {int(DEAD_AFTER * 1000)}ms\n")


def typo_configmap():
    """The seed ConfigMap with the walk-through's kind of typo: poc's address
    range not indented under `addresses:` (data.config line 9 at column 1),
    which leaves poc without addresses at data.config:8:13."""
    with open(os.path.join(SEED, "metallb-configMap.yml")) as f:
        good = f.read()
    old = "      addresses:\n      - 172.16.13.1-172.16.13.254\n"
    assert old in good, "the seed ConfigMap changed shape"
    return good.replace(old, "      addresses:\n    - 172.16.13.1-172.16.13.254\n")


def protopod_endpointslice(nodes):
    """What the endpointslice controller would write for the protopod
    Deployment's three pods, one on each node."""
    return json.dumps({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "protopod-x7k2p", "namespace": "protopod",
                     "labels": {"kubernetes.io/service-name": "protopod"}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 5000, "protocol": "TCP"}],
        "endpoints": [{"addresses": [f"10.244.{i}.10"], "nodeName": n.name,
                       "conditions": {"ready": True, "serving": True}}
                      for i, n in enumerate(nodes, start=1)]})


def new_lab(tmp_path, api_args=()):
    """Three kube-workers, the seed's files applied unchanged, the protopod
    pods' EndpointSlice; the daemons are not started."""
    lab = K8sLab(tmp_path, nodes=3, names=NAMES, frr=False, lease_ms=LEASE_MS,
                 api_args=api_args)
    try:
        key = tmp_path / "membership.key"
        key.write_text(secrets.token_hex(32) + "\n")
        key.chmod(0o600)
        lab.l2_extra = daemon_file_layer2(key)
        for n in lab.nodes:
            n.mac = mac_of(n.ns, "eth0")
        lab.caps = []
        lab.kubectl("create", "namespace", "metallb-system")
        lab.kubectl("create", "namespace", "bgplb-system")
        lab.kubectl("create", "namespace", "protopod")
        lab.kubectl("apply", "-f", os.path.join(SEED, "metallb-configMap.yml"))
        lab.kubectl("apply", "-f", os.path.join(SEED, "protopod-service.yml"))
        lab.apply(protopod_endpointslice(lab.nodes))
    except BaseException:
        close_lab(lab)
        raise
    return lab


def close_lab(lab):
    for c in getattr(lab, "caps", []):
        c.stop()
    lab.close()


def start_node(lab, node, wait=True):
    return node.start(lab.l2_extra, wait=wait)


def alive_at(node):
    return sorted(node.status()["membership"]["alive"])


def running(lab):
    return [n for n in lab.nodes if n.daemon and n.daemon.proc.poll() is None]


def wait_members(lab, timeout=20):
    want = sorted(n.name for n in running(lab))
    for n in running(lab):
        wait(lambda: alive_at(n) == want, timeout=timeout,
             what=f"{want} alive at {n.name}")


# ------------------------------------------------------------ what a user sees

def arping(lab, ip, count=3):
    """The MACs that answer ARP for ip on the client, one entry per reply."""
    r = lab.router_ns.run("arping", "-c", str(count), "-W", "0.2", "-i", "br0", ip,
                          check=False, timeout=30)
    return [m.lower() for m in re.findall(r"bytes from ([0-9a-fA-F:]{17})", r.stdout)]


def node_of(lab, mac):
    for n in lab.nodes:
        if n.mac == mac:
            return n
    return None


def names_of(lab, macs):
    return sorted((node_of(lab, m).name if node_of(lab, m) else m) for m in set(macs))


def one_answering(lab, ip, timeout=10):
    """Wait until exactly one MAC answers ARP for ip (three probes, all
    answered by it); returns its node."""
    def one():
        macs = arping(lab, ip)
        return macs[0] if len(macs) == 3 and len(set(macs)) == 1 else None
    mac = wait(one, timeout=timeout, what=f"exactly one MAC answering ARP for {ip}")
    node = node_of(lab, mac)
    assert node is not None, f"{mac} answers for {ip}: not a node's MAC"
    return node


def get_svc(lab, name="protopod"):
    return lab.kubectl("get", "svc", "-n", "protopod", name).stdout


def external_ip(lab, name="protopod"):
    """The EXTERNAL-IP column of `kubectl get svc`."""
    lines = get_svc(lab, name).splitlines()
    head = lines[0].split()
    return lines[1].split()[head.index("EXTERNAL-IP")]


def describe(lab, name="protopod"):
    return lab.kubectl("describe", "svc", "-n", "protopod", name).stdout


def node_assigned(lab, name="protopod"):
    """nodeAssigned events of the Service (kubectl get events): a list of
    (node named, count, lastTimestamp)."""
    out = lab.kubectl("get", "events", "-n", "protopod", "-o", "json", "--field-selector",
                      f"involvedObject.name={name},reason=nodeAssigned").stdout
    evs = []
    for e in json.loads(out)["items"]:
        m = re.search(r'announcing from node "([^"]+)"', e.get("message", ""))
        evs.append((m.group(1) if m else e.get("message"), e.get("count", 1),
                    e.get("lastTimestamp") or ""))
    return evs


def newest_assigned(lab, name="protopod"):
    """The node(s) the newest nodeAssigned events name (timestamps have
    second precision: all of those with the newest)."""
    evs = node_assigned(lab, name)
    if not evs:
        return set()
    top = max(e[2] for e in evs)
    return {e[0] for e in evs if e[2] == top}


def after_second_of(stamp):
    """Sleep until the second of an event timestamp (RFC 3339, second
    precision) has passed, so that an event posted from now on has a newer
    lastTimestamp."""
    import datetime
    t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    while time.time() < t + 1.05:
        time.sleep(0.05)


def in_poc(ip):
    a = ipaddress.ip_address(ip)
    return POC[0] <= a <= POC[1]


def capture(lab, tag):
    """tcpdump -e -tt of ARP on the client's bridge (test_l2_failover's)."""
    cap = Capture(lab.router_ns, lab.dir / f"tcpdump-{tag}.txt", "arp")
    lab.caps.append(cap)
    return cap


def claims(cap, ip):
    """[(time, source MAC, line)] of the captured frames that claim ip:
    replies (`Reply IP is-at`) and gratuitous ARP (`Request who-has IP tell
    IP`)."""
    out = []
    for line in cap.lines():
        parts = line.split()
        if len(parts) < 3:
            continue
        if f"Reply {ip} is-at " in line or f"Request who-has {ip} tell {ip}," in line:
            out.append((float(parts[0]), parts[1].lower(), line))
    return out


class Prober:
    """arping on the client, one probe every 0.1 s, in the background (its
    replies show up in a Capture)."""

    def __init__(self, lab, ip, seconds):
        self.proc = lab.router_ns.popen(["arping", "-q", "-c", str(int(seconds * 10)),
                                         "-W", "0.1", "-i", "br0", ip],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


# ------------------------------------------------------------ the fixture

def need_lab():
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    missing = have_tools(frr=False)
    if missing:
        pytest.skip("missing for the Kubernetes lab: " + ", ".join(missing))
    need("arping", "tcpdump")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    need_lab()
    lab = new_lab(tmp_path_factory.mktemp("k8sl2"))
    try:
        for n in lab.nodes:
            start_node(lab, n)
        wait_members(lab)
        wait(lambda: lab.leader() is not None and lab.leader().leading(), timeout=20,
             what="a leader")
        yield lab
    finally:
        close_lab(lab)


def ensure_walkthrough(lab):
    """The walk-through's state, whichever test runs alone: the seed's files
    in force, every node running and alive at the others, a leader, protopod
    at 172.16.13.254 with one node answering ARP for it.  Returns that node."""
    for n in lab.nodes:
        if n.daemon is None or n.daemon.proc.poll() is not None:
            start_node(lab, n)
    lab.kubectl("apply", "-f", os.path.join(SEED, "metallb-configMap.yml"))
    lab.kubectl("apply", "-f", os.path.join(SEED, "protopod-service.yml"))
    for n in lab.nodes:
        wait(lambda: n.k8s()["config_map"]["state"] == "loaded", timeout=20,
             what=f"{n.name} on the seed's configuration")
    wait_members(lab)
    wait(lambda: lab.leader() is not None and lab.leader().leading(), timeout=20,
         what="a leader")
    wait(lambda: lab.ingress("protopod", "protopod") == [PROTOPOD], timeout=20,
         what="protopod's address")
    return one_answering(lab, PROTOPOD)


# ------------------------------------------------------------ the walk-through

def test_protopod_gets_its_address_and_the_node_nodeassigned_names_answers(lab):
    ensure_walkthrough(lab)
    wait(lambda: external_ip(lab) == PROTOPOD, timeout=20,
         what="EXTERNAL-IP 172.16.13.254 in kubectl get svc")
    # One MAC answers ARP: the node nodeAssigned names.
    owner = one_answering(lab, PROTOPOD)
    macs = arping(lab, PROTOPOD, count=5)
    assert macs and set(macs) == {owner.mac}, names_of(lab, macs)

    def described():
        out = describe(lab)
        return out if f'announcing from node "{owner.name}"' in out else None
    out = wait(described, timeout=20,
               what=f'nodeAssigned naming {owner.name} in kubectl describe svc')
    assert "IPAllocated" in out and PROTOPOD in out, out
    assert re.search(r"nodeAssigned\s.*announcing from node \"%s\" with protocol "
                     r"\"layer2\"" % owner.name, out), out
    assert re.search(r"LoadBalancer Ingress:\s+%s" % re.escape(PROTOPOD), out), out
    assert owner.name in newest_assigned(lab), node_assigned(lab)


def test_nodeassigned_follows_failover(lab):
    owner = ensure_walkthrough(lab)
    wait(lambda: owner.name in newest_assigned(lab), timeout=20,
         what=f"nodeAssigned naming the owner {owner.name}")
    before = {(e[0], e[1], e[2]) for e in node_assigned(lab)}
    after_second_of(max(e[2] for e in before))
    cap = capture(lab, "failover")
    probe = Prober(lab, PROTOPOD, seconds=5)
    try:
        time.sleep(0.3)
        t0 = time.time()
        owner.daemon.stop(signal.SIGKILL)

        # Another node answers ARP within a second (timed on the client).
        def new_claim():
            c = [t for t, mac, _ in claims(cap, PROTOPOD) if t >= t0 and mac != owner.mac]
            return min(c) if c else None
        took = wait(new_claim, timeout=FAILOVER_BOUND + 5, interval=0.05,
                    what=f"another node answering ARP for {PROTOPOD}") - t0
        new = one_answering(lab, PROTOPOD)
        assert new is not owner
        print(f"failover: {new.name} answers {took:.3f} s after {owner.name} was killed")
        assert took <= FAILOVER_BOUND, f"{new.name} answered {took:.2f} s after the kill"
        t_new = time.time()

        # ... and the event follows: kubectl describe svc names the new node.
        def event_names_new():
            evs = node_assigned(lab)
            fresh = [e for e in evs if e[0] == new.name and e not in before]
            return fresh or None
        end = time.time() + EVENT_WAIT
        while time.time() < end and not event_names_new():
            time.sleep(0.2)
        evs = node_assigned(lab)
        assert event_names_new(), (
            f"{new.name} answers ARP for {PROTOPOD} since {took:.2f} s after {owner.name} "
            f"was killed, but no nodeAssigned event names it "
            f"{time.time() - t_new:.1f} s later; nodeAssigned events "
            f"(node, count, lastTimestamp): {evs}\n"
            f"kubectl describe svc -n protopod protopod:\n{describe(lab)}")
        assert newest_assigned(lab) == {new.name}, evs
    finally:
        probe.stop()
        cap.stop()
        lab.caps.remove(cap)
        if owner.daemon.proc.poll() is not None:
            start_node(lab, owner)
            wait_members(lab)


def test_loadbalancerip_removed_keeps_an_address_of_poc(lab):
    ensure_walkthrough(lab)
    leader = lab.leader()
    replans = leader.k8s()["replans"]
    lab.kubectl("patch", "svc", "-n", "protopod", "protopod", "--type", "json",
                "-p", '[{"op": "remove", "path": "/spec/loadBalancerIP"}]')
    assert "loadBalancerIP" not in lab.service("protopod", "protopod")["spec"]
    # The leader has seen the change.
    wait(lambda: leader.k8s()["replans"] > replans, timeout=20, what="the leader's replan")
    end = time.time() + 1.5
    while time.time() < end:
        ip = external_ip(lab)
        assert in_poc(ip), f"EXTERNAL-IP {ip}: not an address of pool poc"
        time.sleep(0.2)
    ips = lab.ingress("protopod", "protopod")
    assert len(ips) == 1 and in_poc(ips[0]), ips
    owner = one_answering(lab, ips[0])
    assert owner.name in describe(lab)
    # Back as the seed has it.
    lab.kubectl("apply", "-f", os.path.join(SEED, "protopod-service.yml"))
    wait(lambda: lab.ingress("protopod", "protopod") == [PROTOPOD], timeout=20,
         what="protopod back at 172.16.13.254")


def wait_stale(lab):
    """ConfigStale on metallb-system/config (kubectl describe configmap)."""
    def stale():
        out = lab.kubectl("describe", "configmap", "-n", "metallb-system", "config").stdout
        return out if "ConfigStale" in out else None
    out = wait(stale, timeout=20, what="ConfigStale on metallb-system/config")
    for n in lab.nodes:
        wait(lambda: n.k8s()["config_map"]["state"] == "stale", timeout=20,
             what=f"{n.name} on the stale configuration")
    return out


def test_configmap_typo_is_stale_with_its_place_and_nothing_withdrawn(lab):
    owner = ensure_walkthrough(lab)
    try:
        lab.apply(typo_configmap())
        out = wait_stale(lab)
        assert re.search(r"Warning\s+ConfigStale\s.*data\.config:8:13", out), out
        assert "the previous configuration stays in force" in out, out
        # Nothing withdrawn, nothing moved.
        end = time.time() + 1.5
        while time.time() < end:
            macs = arping(lab, PROTOPOD, count=2)
            assert macs and set(macs) == {owner.mac}, \
                f"ARP for {PROTOPOD} answered by {names_of(lab, macs)}, not {owner.name}"
            assert external_ip(lab) == PROTOPOD
    finally:
        lab.kubectl("apply", "-f", os.path.join(SEED, "metallb-configMap.yml"))
    for n in lab.nodes:
        wait(lambda: n.k8s()["config_map"]["state"] == "loaded", timeout=20,
             what=f"{n.name} back on the seed's configuration")


def test_new_service_gets_an_address_from_the_configuration_in_force(lab):
    ensure_walkthrough(lab)
    svc = json.dumps({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "protopod-admin", "namespace": "protopod",
                     "annotations": {"metallb.universe.tf/address-pool": "poc"}},
        "spec": {"type": "LoadBalancer", "selector": {"app": "protopod"},
                 "ports": [{"name": "admin", "port": 8080, "targetPort": 5001,
                            "protocol": "TCP"}]}})
    try:
        # With the typo, poc has no addresses: the configuration in force is
        # the previous one, and poc's addresses come from it.
        lab.apply(typo_configmap())
        wait_stale(lab)
        lab.apply(svc)
        lab.serve("protopod", "protopod-admin")   # announced only with an endpoint
        ips = wait(lambda: lab.ingress("protopod", "protopod-admin") or None, timeout=20,
                   what="an address for protopod-admin")
        assert len(ips) == 1 and in_poc(ips[0]) and ips[0] != PROTOPOD, ips
        wait(lambda: external_ip(lab, "protopod-admin") == ips[0], timeout=10,
             what="its EXTERNAL-IP")
        owner = one_answering(lab, ips[0])
        wait(lambda: f'announcing from node "{owner.name}"' in describe(lab, "protopod-admin"),
             timeout=20, what=f"nodeAssigned naming {owner.name} on protopod-admin")
        assert "IPAllocated" in describe(lab, "protopod-admin")
        assert lab.ingress("protopod", "protopod") == [PROTOPOD]
    finally:
        lab.kubectl("delete", "svc", "-n", "protopod", "protopod-admin",
                    "--ignore-not-found")
        lab.kubectl("apply", "-f", os.path.join(SEED, "metallb-configMap.yml"))


def test_the_lab_runs_the_same_files():
    """`tests/lab/lab.sh up k8s-layer2` applies copies of the seed's files
    (a clone has no ../shared) and offers the typo tested above."""
    lab_dir = os.path.join(TOP, "tests", "lab", "k8s-layer2")
    if not os.path.isdir(SEED):
        pytest.skip(f"no seed files in {SEED}")
    for f in ("metallb-configMap.yml", "protopod-service.yml"):
        with open(os.path.join(SEED, f)) as a, open(os.path.join(lab_dir, f)) as b:
            assert a.read() == b.read(), f"tests/lab/k8s-layer2/{f} is not the seed's"
    with open(os.path.join(lab_dir, "metallb-configMap-typo.yml")) as f:
        assert f.read() == typo_configmap()


# ------------------------------------------------------------ a slow API server

def test_slow_node_list_no_claims(tmp_path):
    """The first Node LISTs come LIST_DELAY late (well past dead-after):
    until the nodes know their members nobody may claim protopod's address,
    and then only one node ever may."""
    need_lab()
    lab = new_lab(tmp_path, api_args=["--delay-first-list", f"nodes={LIST_DELAY}"])
    try:
        # protopod already has its address (bgplb restarted on a running
        # cluster, or taking over from MetalLB).
        lab.kubectl("patch", "svc", "-n", "protopod", "protopod", "--subresource=status",
                    "--type", "merge", "-p", json.dumps(
                        {"status": {"loadBalancer": {"ingress": [{"ip": PROTOPOD}]}}}))
        cap = capture(lab, "slowlist")
        probe = Prober(lab, PROTOPOD, seconds=LIST_DELAY + 12)
        t_start = time.time()
        for n in lab.nodes:
            start_node(lab, n, wait=False)
        for n in lab.nodes:
            n.daemon.wait_healthy(timeout=20)

        def all_answered():
            held = lab.fake_state()["held_lists"]
            return held if len(held) >= 3 and all(h["answered"] for h in held) else None
        held = wait(all_answered, timeout=LIST_DELAY + 15,
                    what="the three held Node LISTs answered")
        assert len(held) >= 3, held
        assert min(h["answered"] - h["arrived"] for h in held) >= 2 * DEAD_AFTER, \
            f"a Node LIST was not held long enough to test anything: {held}"
        t_lists = min(h["answered"] for h in held)
        # Then one node answers; watch a little longer for late claims.
        owner = one_answering(lab, PROTOPOD, timeout=15)
        time.sleep(1.0)
        probe.stop()
        cap.stop()
        claimed = claims(cap, PROTOPOD)
        first = {}
        for t, mac, _ in claimed:
            first.setdefault(mac, t)
        early = [(names_of(lab, [mac]), round(t - t_lists, 3)) for t, mac, _ in claimed
                 if t < t_lists]
        assert not early, f"claims of {PROTOPOD} before the Node lists arrived: {early}"
        evs = node_assigned(lab)
        who = {names_of(lab, [m])[0]: round(t - t_lists, 3) for m, t in first.items()}
        assert len(first) <= 1, (
            f"{len(first)} nodes answered ARP or sent gratuitous ARP for {PROTOPOD} once "
            f"the Node lists arrived {LIST_DELAY} s late (node: first claim, s after the "
            f"lists): {who}; the owner now: {owner.name}; nodeAssigned events "
            f"(node, count, lastTimestamp): {evs}\n"
            + "\n".join(l for _, _, l in claimed[:12]))
        assert set(first) == {owner.mac}, who
        named = {e[0] for e in evs}
        assert named <= {owner.name}, f"nodeAssigned names {sorted(named)}: {evs}"
        print(f"slow Node list: lists answered {t_lists - t_start:.2f} s after the start; "
              f"{owner.name} answers, first at +{first[owner.mac] - t_lists:.3f} s")
    finally:
        close_lab(lab)
