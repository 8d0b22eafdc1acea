"""Layer 2 end to end: real ARP and NDP between network namespaces.

Topology (all created here, removed on every exit path):

    client ns: br0 (10.77.0.1/24, 2001:db8:77::1/64), the "switch" and the
               client at once; arping / ndisc6 / tcpdump / ip neigh run here
    node ns A: eth0 (a veth whose peer is a br0 port) running bgplbd with a
               layer2 pool; eth0 is so named because veth* is excluded by
               default, so the default interface selection is exercised
    node ns B: the same, but the pool's node-selector excludes node-b: it
               must never answer (only the owner answers)

Node A's eth0 has an unrelated global IPv6 address *before* the one in the
service subnet (MetalLB's bug: NDP broke when the first address was not the
expected one): NAs must still come from the link-local address.
"""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import Daemon, Netns, sh, wait_until

SVC4 = "10.77.0.100"
SVC6 = "2001:db8:77::100"
UNOWNED4 = "10.77.0.105"      # in the pool, not assigned
OUTSIDE4 = "10.77.0.150"      # outside every pool
UNOWNED6 = "2001:db8:77::105"

CONFIG = """\
nodes:
  - {name: node-a, labels: {l2: "yes"}}
  - {name: node-b, labels: {l2: "no"}}
pools:
  - name: l2
    protocol: layer2
    addresses: [10.77.0.100-10.77.0.110, 2001:db8:77::100-2001:db8:77::110]
    node-selector: {l2: "yes"}
services:
%s
"""

SERVICE = """\
  - name: default/web
    ip-families: [IPv4, IPv6]
    ip-family-policy: RequireDualStack
"""


def need(*tools):
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    for t in tools:
        if sh("sh", "-c", f"command -v {t}", check=False).returncode != 0:
            pytest.skip(f"{t} not installed")


def no_dad(ns):
    ns.run("sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
           "net.ipv6.conf.default.accept_dad=0")


def write(path, text):
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def mac_of(ns, dev):
    out = ns.run("cat", f"/sys/class/net/{dev}/address").stdout.strip()
    return out.lower()


class Lan:
    def __init__(self):
        self.nss = []
        self.client = self._ns("c")
        no_dad(self.client)
        c = self.client
        c.run("ip", "link", "add", "br0", "type", "bridge")
        c.run("ip", "addr", "add", "10.77.0.1/24", "dev", "br0")
        c.run("ip", "addr", "add", "2001:db8:77::1/64", "dev", "br0")
        c.run("ip", "link", "set", "br0", "up")
        self.nodes = {}

    def _ns(self, tag):
        ns = Netns(tag)
        self.nss.append(ns)
        return ns

    def add_node(self, name, v4, v6s):
        ns = self._ns("n")
        no_dad(ns)
        port = f"p{len(self.nodes)}{os.getpid() % 100000}"[:15]
        ns.run("ip", "link", "add", "eth0", "type", "veth", "peer", "name", port,
               "netns", self.client.name)
        self.client.run("ip", "link", "set", port, "master", "br0")
        self.client.run("ip", "link", "set", port, "up")
        ns.run("ip", "addr", "add", v4, "dev", "eth0")
        for a in v6s:   # in this order: the first is the "primary"
            ns.run("ip", "addr", "add", a, "dev", "eth0")
        ns.run("ip", "link", "set", "eth0", "up")
        self.nodes[name] = ns
        return ns

    def delete(self):
        for ns in reversed(self.nss):
            ns.delete()


@pytest.fixture
def lan():
    need("arping", "ndisc6", "tcpdump")
    lan = Lan()
    try:
        yield lan
    finally:
        lan.delete()


@pytest.fixture
def daemons():
    started = []
    yield started
    for d in started:
        d.stop(signal.SIGKILL)


def start_node(lan, daemons, tmp_path, name, services=SERVICE):
    ns = lan.nodes[name]
    cfg = tmp_path / f"{name}.yaml"
    write(cfg, CONFIG % services)
    d = Daemon(ns, cfg, tmp_path, extra=["--node", name])
    daemons.append(d)
    d.start()
    return d, cfg


def arping(lan, ip, count=3):
    r = lan.client.run("arping", "-c", str(count), "-W", "0.2", "-i", "br0", ip,
                       check=False, timeout=30)
    return [m.lower() for m in re.findall(r"bytes from ([0-9a-fA-F:]{17})", r.stdout)]


def ndisc(lan, ip):
    r = lan.client.run("ndisc6", "-q", "-r", "2", "-w", "500", ip, "br0",
                       check=False, timeout=30)
    return r.stdout.strip().lower() if r.returncode == 0 else None


def metric(d, name, ip):
    text = d.get("/metrics")
    m = re.search(r'^%s\{ip="%s"\} (\d+)$' % (re.escape(name), re.escape(ip)),
                  text, re.M)
    return int(m.group(1)) if m else None


class Capture:
    """tcpdump on the client's bridge, started before the daemon."""

    def __init__(self, ns, tmp_path, filt="arp or icmp6"):
        self.out = tmp_path / "tcpdump.txt"
        self.err = tmp_path / "tcpdump.err"
        self.fo, self.fe = open(self.out, "w"), open(self.err, "w")
        self.proc = ns.popen(["tcpdump", "-i", "br0", "-n", "-e", "-vv", "-l", "-U", filt],
                             stdout=self.fo, stderr=self.fe)
        wait_until(lambda: "listening on" in self.err.read_text(), timeout=10,
                   what="tcpdump to listen")

    def text(self):
        return self.out.read_text()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.fo.close()
        self.fe.close()


@pytest.fixture
def capture_factory(tmp_path):
    caps = []

    def make(ns):
        c = Capture(ns, tmp_path)
        caps.append(c)
        return c

    yield make
    for c in caps:
        c.stop()


def node_a(lan):
    # The unrelated global address comes first on purpose (see top).
    return lan.add_node("node-a", "10.77.0.2/24",
                        ["2001:db8:99::2/64", "2001:db8:77::2/64"])


def test_owner_answers_arp_and_ndp(lan, daemons, tmp_path):
    na = node_a(lan)
    nb = lan.add_node("node-b", "10.77.0.3/24", ["2001:db8:77::3/64"])
    mac_a, mac_b = mac_of(na, "eth0"), mac_of(nb, "eth0")
    da, _ = start_node(lan, daemons, tmp_path, "node-a")
    db, _ = start_node(lan, daemons, tmp_path, "node-b")
    wait_until(lambda: da.json("/v1/status")["backends"]["layer2"]["addresses"],
               what="node-a to answer")

    # (a) ARP: three replies, all from node-a; node-b never answers.
    macs = arping(lan, SVC4)
    assert len(macs) >= 3, macs
    assert set(macs) == {mac_a}, (macs, mac_a, mac_b)

    # (b) + (e) NDP, with eth0's first global address unrelated.
    assert ndisc(lan, SVC6) == mac_a

    # (c) Addresses not owned: in the pool but unassigned, outside the pool.
    assert arping(lan, UNOWNED4, count=2) == []
    assert arping(lan, OUTSIDE4, count=2) == []
    assert ndisc(lan, UNOWNED6) is None

    # (g) status and metrics.
    svc = {s["name"]: s for s in da.json("/v1/services")}["default/web"]
    assert svc["announcing_node"] == "node-a"
    assert svc["announced"] is True
    assert sorted(svc["addresses"]) == sorted([SVC4, SVC6])
    l2 = da.json("/v1/status")["backends"]["layer2"]
    assert l2["backend"] == "layer2"
    by = {a["address"]: a for a in l2["addresses"]}
    assert by[SVC4]["interfaces"] == ["eth0"]
    assert by[SVC6]["interfaces"] == ["eth0"]
    assert by[SVC4]["responses_sent"] >= 3
    assert metric(da, "metallb_layer2_requests_received", SVC4) >= 3
    assert metric(da, "metallb_layer2_responses_sent", SVC4) >= 3
    assert metric(da, "metallb_layer2_requests_received", SVC6) >= 1
    assert metric(da, "metallb_layer2_responses_sent", SVC6) >= 1
    # The schedule ran: 4 rounds, request + reply for IPv4, one NA for IPv6.
    wait_until(lambda: metric(da, "metallb_layer2_gratuitous_sent", SVC4) >= 8,
               timeout=5, what="gratuitous ARP schedule")
    assert metric(da, "metallb_layer2_gratuitous_sent", SVC6) >= 4
    assert "bgplb_layer2_addresses 2" in da.get("/metrics")

    # node-b: not the owner, so nothing to answer and nothing counted.
    sb = {s["name"]: s for s in db.json("/v1/services")}["default/web"]
    assert sb["announcing_node"] is None
    assert db.json("/v1/status")["backends"]["layer2"]["addresses"] == []
    assert metric(db, "metallb_layer2_requests_received", SVC4) is None


def test_gratuitous_on_takeover(lan, daemons, tmp_path, capture_factory):
    na = node_a(lan)
    mac_a = mac_of(na, "eth0")
    c = lan.client
    # Stale entries pointing at a MAC that left: the takeover must fix them.
    c.run("ip", "neigh", "replace", SVC4, "lladdr", "02:de:ad:be:ef:01",
          "dev", "br0", "nud", "stale")
    c.run("ip", "-6", "neigh", "replace", SVC6, "lladdr", "02:de:ad:be:ef:01",
          "dev", "br0", "nud", "stale")
    time.sleep(1.1)     # past the neighbour locktime, so an update may override
    cap = capture_factory(c)
    start_node(lan, daemons, tmp_path, "node-a")

    def neigh(ip):
        out = c.run("ip", "neigh", "show", ip, "dev", "br0").stdout
        m = re.search(r"lladdr ([0-9a-f:]{17})", out)
        return m.group(1) if m else None

    wait_until(lambda: neigh(SVC4) == mac_a, timeout=5, what="ARP cache update")
    wait_until(lambda: neigh(SVC6) == mac_a, timeout=5, what="ND cache update")

    time.sleep(2.5)     # the whole schedule: 0, 0.5, 1, 2 s
    text = cap.text()
    garp_req = [l for l in text.splitlines()
                if mac_a in l.lower() and f"Request who-has {SVC4} tell {SVC4}" in l]
    garp_rep = [l for l in text.splitlines()
                if mac_a in l.lower() and f"Reply {SVC4} is-at" in l]
    na_lines = [l for l in text.splitlines()
                if "neighbor advertisement" in l and f"tgt is {SVC6}" in l]
    assert len(garp_req) == 4, text
    assert len(garp_rep) == 4, text
    assert len(na_lines) == 4, text
    for l in na_lines:
        # From the link-local address to all-nodes, never from the first
        # global address of the interface.
        assert re.search(r"fe80::[0-9a-f:]+ > ff02::1:", l), l
        assert "33:33:00:00:00:01" in l, l
        assert "icmp6 sum ok" in l and "Flags [override]" in l, l
        assert "2001:db8:99::2" not in l, l


def test_solicited_na_source(lan, daemons, tmp_path, capture_factory):
    """Answers come from the service address, never from eth0's first
    global address (2001:db8:99::2, unrelated on purpose)."""
    node_a(lan)
    start_node(lan, daemons, tmp_path, "node-a")
    time.sleep(2.2)     # let the gratuitous schedule finish
    cap = capture_factory(lan.client)
    assert ndisc(lan, SVC6) is not None
    time.sleep(0.3)
    nas = [l for l in cap.text().splitlines() if "neighbor advertisement" in l
           and f"tgt is {SVC6}" in l]
    assert nas, cap.text()
    for l in nas:
        assert f" {SVC6} > " in l, l
        assert "Flags [solicited, override]" in l, l
        assert "icmp6 sum ok" in l, l
        assert "2001:db8:99::2" not in l, l


def test_stops_answering_when_service_removed(lan, daemons, tmp_path):
    node_a(lan)
    d, cfg = start_node(lan, daemons, tmp_path, "node-a")
    assert len(arping(lan, SVC4, count=2)) >= 2
    assert ndisc(lan, SVC6) is not None

    write(cfg, CONFIG.replace("services:\n%s\n", "services: []\n"))
    d.send_signal(signal.SIGHUP)
    wait_until(lambda: d.json("/v1/status")["backends"]["layer2"]["addresses"] == [],
               timeout=5, what="layer2 addresses to go")
    # At once: the very first requests after the reload go unanswered.
    assert arping(lan, SVC4, count=2) == []
    assert ndisc(lan, SVC6) is None
    assert "stopped answering" in d.log()

    # And back: the service returns, so do the answers (and the schedule).
    write(cfg, CONFIG % SERVICE)
    d.send_signal(signal.SIGHUP)
    wait_until(lambda: len(d.json("/v1/status")["backends"]["layer2"]["addresses"]) == 2,
               timeout=5, what="layer2 addresses to return")
    assert len(arping(lan, SVC4, count=2)) >= 2

    # An orderly stop: exit 0 and silence (a sanitizer build also checks
    # for leaks here).
    assert d.stop() == 0, d.log()
    assert "AddressSanitizer" not in d.log() and "LeakSanitizer" not in d.log()
    assert arping(lan, SVC4, count=2) == []


def test_interfaces_list_restricts(lan, daemons, tmp_path):
    """layer2.interfaces (a glob) naming other links: nothing is answered on
    eth0 until a reload names it."""
    na = node_a(lan)
    # A second link to select instead (veth: the dummy module may be absent).
    na.run("ip", "link", "add", "alt0", "type", "veth", "peer", "name", "alt1")
    na.run("ip", "link", "set", "alt0", "up")
    na.run("ip", "link", "set", "alt1", "up")
    cfg = tmp_path / "node-a.yaml"
    write(cfg, CONFIG % SERVICE + "layer2:\n  interfaces: [alt*]\n")
    d = Daemon(na, cfg, tmp_path, extra=["--node", "node-a"])
    daemons.append(d)
    d.start()
    wait_until(lambda: d.json("/v1/status")["backends"]["layer2"]["addresses"],
               what="layer2 addresses")
    by = {a["address"]: a for a in d.json("/v1/status")["backends"]["layer2"]["addresses"]}
    assert sorted(by[SVC4]["interfaces"]) == ["alt0", "alt1"]
    assert arping(lan, SVC4, count=2) == []
    # The list changes to eth0 on reload: answers start.
    write(cfg, CONFIG % SERVICE + "layer2:\n  interfaces: [eth0]\n")
    d.send_signal(signal.SIGHUP)
    wait_until(lambda: {a["address"]: a for a in d.json("/v1/status")["backends"]
                        ["layer2"]["addresses"]}[SVC4]["interfaces"] == ["eth0"],
               timeout=5, what="interfaces to switch")
    assert len(arping(lan, SVC4, count=2)) >= 2
