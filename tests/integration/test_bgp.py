"""The BGP speaker against real routers: FRR (zebra + bgpd -n), BIRD 2 and
GoBGP, each in a router namespace, with bgplbd in one or two node
namespaces on a bridge (see routers.Topology).

Router 10.0.0.1 / fd00::1 (AS 64500, or 64512 for iBGP), nodes 10.0.0.2,
10.0.0.3 / fd00::2, fd00::3 (AS 64512).  One IPv4 session per node carries
IPv4 and IPv6 unicast.  Router configurations come from
examples/router-configs/ (frr-bgpd.conf, bird.conf, gobgpd.toml).

Every router: both sides Established, IPv4/IPv6 attributes (next hop, AS
path, communities, large communities; local-pref over iBGP), withdraw on
service removal, one UPDATE for one added service, router restart.
FRR only: ROUTE-REFRESH, TCP MD5 (right and wrong key), ECMP from two nodes,
wrong AS on either side, IPv6 transport, SIGTERM, hold timer expiry, a broken
reload, peer removal.
"""
import os
import shutil
import signal
import time

import pytest

from conftest import Daemon
from routers import Bird, Frr, Gobgp, Topology, render

ROUTER_AS = 64500
NODE_AS = 64512
RTR4, RTR6 = Topology.ROUTER_V4, Topology.ROUTER_V6

# Service addresses (static requests from pool "web").
A4, A6 = "198.51.100.1", "2001:db8:100::1"
B4, B6 = "198.51.100.2", "2001:db8:100::2"
C4 = "198.51.100.3"

COMMUNITIES = {"64512:100", "no-export"}
LARGE = {"64512:1:1"}
LOCAL_PREF = 150

ROUTER_KINDS = ["frr", "bird", "gobgp"]
BINARIES = {"frr": ["/usr/lib/frr/bgpd", "/usr/lib/frr/zebra", "vtysh"],
            "bird": ["bird", "birdc"], "gobgp": ["gobgpd", "gobgp"]}


def p32(a):
    return a + ("/128" if ":" in a else "/32")


def node_config(node, services, *, peer_asn=ROUTER_AS, my_asn=NODE_AS, password=None,
                peer_address=RTR4, with_peer=True):
    """bgplbd's config for one node: pool "web", one peer (the router) with
    short timers, and the given services ({name: [addresses]})."""
    lines = [
        f"router-id: {node.v4}",
        "pools:",
        "  - name: web",
        "    protocol: bgp",
        "    addresses: [198.51.100.0/28, 2001:db8:100::/124]",
        "    auto-assign: false",
        "    communities: [64512:100, no-export]",
        "    large-communities: [64512:1:1]",
        f"    local-pref: {LOCAL_PREF}",
    ]
    if not with_peer:
        lines.append("peers: []")
    else:
        lines += [
            "peers:",
            "  - name: rtr",
            f"    address: {peer_address}",
            f"    asn: {peer_asn}",
            f"    my-asn: {my_asn}",
            "    hold-time: 9s",
            "    keepalive-time: 3s",
            "    connect-time: 1s",
        ]
    if password is not None and with_peer:
        lines.append(f"    password: {password}")
    lines.append("services:" if services else "services: []")
    for name, addrs in services.items():
        lines += [f"  - name: {name}", "    pool: web",
                  f"    addresses: [{', '.join(addrs)}]"]
    return "\n".join(lines) + "\n"


def write_atomic(path, text):
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


class Lab:
    """One topology, its router and the bgplbd of each node; everything is
    stopped and removed by close(), whatever happened."""

    def __init__(self, tmp_path, nodes=1):
        self.tmp = tmp_path
        self.topo = Topology(nodes)
        self.nodes = self.topo.nodes
        self.router = None
        self.daemons = {}
        self.configs = {}

    # -- router
    def start_router(self, kind, *, router_as=ROUTER_AS, node_as=NODE_AS, password=None,
                     transport="ipv4"):
        for b in BINARIES[kind]:
            if shutil.which(b) is None and not os.path.exists(b):
                pytest.skip(f"ROUTER BINARY MISSING: {b} not installed (package of {kind}); "
                            "tests/lib/common.sh lists it in BGPLB_TEST_PKGS")
        self.transport = transport
        addrs = [self.node_addr(n) for n in self.nodes]
        rundir = self.tmp / f"{kind}-run"
        ns = self.topo.router_ns
        if kind == "frr":
            extra = {}
            if password:
                extra = {"neighbor NODES timers connect 1": [f" neighbor NODES password {password}"]}
            conf = render("frr-bgpd.conf", router_as=router_as, node_as=node_as,
                          node_addrs=addrs, extra=extra)
            self.router = Frr(ns, rundir, conf)
        elif kind == "bird":
            assert len(addrs) == 1 and password is None
            self.router = Bird(ns, rundir, render("bird.conf", router_as=router_as,
                                                  node_as=node_as))
        else:
            assert len(addrs) == 1 and password is None
            self.router = Gobgp(ns, rundir, render("gobgpd.toml", router_as=router_as,
                                                   node_as=node_as))
        self.kind = kind
        return self.router.start()

    def node_addr(self, node):
        """The node's address on its session (the router's neighbor address)."""
        return node.v6 if self.transport == "ipv6" else node.v4

    def router_established(self, node):
        if self.kind == "bird":
            return self.router.established("node1")
        return self.router.established(self.node_addr(node))

    # -- nodes
    def start_node(self, node, services, **kw):
        d = self.tmp / f"node{node.index}"
        d.mkdir(exist_ok=True)
        cfg = d / "bgplb.yaml"
        write_atomic(cfg, node_config(node, services, **kw))
        self.configs[node.index] = (cfg, kw)
        dm = Daemon(node.ns, cfg, d)
        self.daemons[node.index] = dm
        return dm.start()

    def reconfigure(self, node, services, **override):
        cfg, kw = self.configs[node.index]
        kw = dict(kw, **override)
        self.configs[node.index] = (cfg, kw)
        write_atomic(cfg, node_config(node, services, **kw))

    def peer(self, node):
        """bgplbd's one peer (the router) from /v1/peers; {} while there is
        none (e.g. just after the peer was added back to the config)."""
        peers = self.daemons[node.index].json("/v1/peers")
        assert len(peers) <= 1, peers
        return peers[0] if peers else {}

    # -- diagnostics
    def diag(self):
        out = []
        for i, dm in self.daemons.items():
            out.append(f"--- bgplbd node{i} log (tail)\n" + "\n".join(dm.log().splitlines()[-40:]))
        if self.router is not None:
            out.append(self.router.logs(tail=30))
        return "\n".join(out)

    def until(self, fn, timeout=15, what="condition", interval=0.2):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {what} "
                             f"(last: {last!r})\n{self.diag()}")

    def close(self):
        for dm in self.daemons.values():
            try:
                dm.stop(signal.SIGKILL)
            except Exception:
                pass
        try:
            if self.router is not None:
                self.router.stop()
                self.router.cleanup()
        finally:
            self.topo.delete()


@pytest.fixture
def lab_factory(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    labs = []

    def make(nodes=1):
        lab = Lab(tmp_path, nodes)
        labs.append(lab)
        return lab

    try:
        yield make
    finally:
        for lab in labs:
            lab.close()


def established_both(lab, node):
    lab.until(lambda: lab.peer(node).get("state") == "Established", timeout=20,
              what=f"bgplbd's session to {lab.kind} Established (/v1/peers)")
    lab.until(lambda: lab.router_established(node), timeout=10,
              what=f"{lab.kind}'s session to {lab.node_addr(node)} Established")


def have_prefixes(lab, want, gone=()):
    """Wait until the router holds every prefix of want and none of gone."""
    def check():
        r4, r6 = lab.router.routes("ipv4"), lab.router.routes("ipv6")
        held = set(r4) | set(r6)
        return all(p32(a) in held for a in want) and not any(p32(a) in held for a in gone)
    lab.until(check, timeout=15,
              what=f"{lab.kind} to hold {sorted(want)} and not {sorted(gone)}")


def full_paths(lab, addr):
    """The paths of one prefix with every attribute (FRR needs a per-prefix query)."""
    if lab.kind == "frr":
        return lab.router.paths(p32(addr))
    return lab.router.routes("ipv6" if ":" in addr else "ipv4").get(p32(addr), [])


# ---------------------------------------------------------------- tests

@pytest.mark.parametrize("kind", ROUTER_KINDS)
def test_ebgp_session_and_attributes(lab_factory, kind):
    lab = lab_factory()
    node = lab.nodes[0]
    lab.start_router(kind)
    lab.start_node(node, {"default/a": [A4, A6], "default/b": [B4]})
    established_both(lab, node)

    p = lab.peer(node)
    assert p["asn"] == ROUTER_AS and p["local_asn"] == NODE_AS and p["type"] == "ebgp"
    assert p["hold_time"] == 9, p
    fams = " ".join(p["capabilities"]["families"]).lower()
    assert "ipv4" in fams and "ipv6" in fams, p["capabilities"]

    have_prefixes(lab, [A4, A6, B4])
    ll = node.link_local()
    for addr in (A4, A6, B4):
        paths = full_paths(lab, addr)
        assert len(paths) == 1, (addr, paths)
        path = paths[0]
        if ":" in addr:
            assert path.nexthop == node.v6, (addr, path)
            if kind in ("frr", "bird"):
                # Same link: the link-local address is sent too (32-byte next hop).
                assert ll in path.nexthops, (addr, path, ll)
        else:
            assert path.nexthops == [node.v4], (addr, path)
        assert path.as_path == [NODE_AS], (addr, path)
        assert path.communities == COMMUNITIES, (addr, path)
        assert path.large_communities == LARGE, (addr, path)
    lab.until(lambda: lab.peer(node)["prefixes_advertised"] == 3, timeout=5,
              what="prefixes_advertised == 3")
    # A4 and B4 share their attributes: one UPDATE; A6 one more; then one
    # End-of-RIB per family.
    time.sleep(0.5)
    assert lab.peer(node)["messages"]["sent"]["update"] == 4, lab.peer(node)["messages"]
    if kind == "frr":
        assert lab.router.neighbor(node.v4)["messageStats"]["updatesRecv"] == 4


@pytest.mark.parametrize("kind", ROUTER_KINDS)
def test_ibgp_local_pref(lab_factory, kind):
    lab = lab_factory()
    node = lab.nodes[0]
    lab.start_router(kind, router_as=NODE_AS, node_as=NODE_AS)
    lab.start_node(node, {"default/a": [A4, A6]}, peer_asn=NODE_AS)
    established_both(lab, node)
    assert lab.peer(node)["type"] == "ibgp"
    have_prefixes(lab, [A4, A6])
    for addr in (A4, A6):
        paths = full_paths(lab, addr)
        assert len(paths) == 1, (addr, paths)
        path = paths[0]
        assert path.as_path == [], (addr, path)
        assert path.local_pref == LOCAL_PREF, (addr, path)
        assert path.communities == COMMUNITIES, (addr, path)
        assert path.nexthop == (node.v6 if ":" in addr else node.v4), (addr, path)


@pytest.mark.parametrize("kind", ROUTER_KINDS)
def test_withdraw_and_incremental_add(lab_factory, kind):
    lab = lab_factory()
    node = lab.nodes[0]
    lab.start_router(kind)
    svcs = {"default/a": [A4, A6], "default/b": [B4, B6]}
    lab.start_node(node, svcs)
    established_both(lab, node)
    have_prefixes(lab, [A4, A6, B4, B6])

    # Remove b: the file change is picked up within ~1 s; both its routes go.
    del svcs["default/b"]
    lab.reconfigure(node, svcs)
    have_prefixes(lab, [A4, A6], gone=[B4, B6])
    lab.until(lambda: lab.peer(node)["prefixes_advertised"] == 2, timeout=5,
              what="prefixes_advertised == 2")

    # Add c (one IPv4 address): exactly one UPDATE, the others untouched.
    before = lab.peer(node)["messages"]["sent"]["update"]
    if kind == "frr":
        frr_before = lab.router.neighbor(node.v4)["messageStats"]["updatesRecv"]
    svcs["default/c"] = [C4]
    lab.reconfigure(node, svcs)
    have_prefixes(lab, [A4, A6, C4], gone=[B4, B6])
    lab.until(lambda: lab.peer(node)["prefixes_advertised"] == 3, timeout=5,
              what="prefixes_advertised == 3")
    # Give a stray extra UPDATE (a re-send of a or an End-of-RIB) time to show.
    time.sleep(1.0)
    after = lab.peer(node)["messages"]["sent"]["update"]
    assert after == before + 1, f"UPDATEs sent for one added route: {after - before}\n{lab.diag()}"
    if kind == "frr":
        frr_after = lab.router.neighbor(node.v4)["messageStats"]["updatesRecv"]
        assert frr_after == frr_before + 1, f"FRR received {frr_after - frr_before} UPDATEs"
    assert lab.peer(node)["state"] == "Established"
    assert lab.peer(node)["flaps"] == 0

    # SIGHUP with an unchanged file sends nothing and keeps everything.
    lab.daemons[node.index].send_signal(signal.SIGHUP)
    time.sleep(1.0)
    assert lab.peer(node)["messages"]["sent"]["update"] == after
    have_prefixes(lab, [A4, A6, C4], gone=[B4, B6])


@pytest.mark.parametrize("kind", ROUTER_KINDS)
def test_router_restart(lab_factory, kind):
    lab = lab_factory()
    node = lab.nodes[0]
    lab.start_router(kind)
    lab.start_node(node, {"default/a": [A4, A6], "default/b": [B4]})
    established_both(lab, node)
    have_prefixes(lab, [A4, A6, B4])

    lab.router.stop()
    lab.until(lambda: lab.peer(node)["state"] != "Established", timeout=12,
              what="bgplbd to notice the router is gone")
    lab.router.start()
    established_both(lab, node)
    have_prefixes(lab, [A4, A6, B4])
    p = lab.peer(node)
    assert p["flaps"] >= 1, p
    assert p["prefixes_advertised"] == 3, p


def test_route_refresh_from_frr(lab_factory):
    lab = lab_factory()
    node = lab.nodes[0]
    lab.start_router("frr")
    lab.start_node(node, {"default/a": [A4, A6], "default/b": [B4]})
    established_both(lab, node)
    have_prefixes(lab, [A4, A6, B4])
    p = lab.peer(node)
    assert p["capabilities"]["route_refresh"] is True, p["capabilities"]
    rr0 = p["messages"]["received"]["route_refresh"]
    upd0 = p["messages"]["sent"]["update"]

    # soft in: FRR (no soft-reconfiguration inbound) asks us with ROUTE-REFRESH;
    # we answer with every route of that family again: IPv4 A4 + B4 share
    # their attributes (one UPDATE), IPv6 is A6 (one UPDATE).
    lab.router.vtysh(f"clear bgp ipv4 unicast {node.v4} soft in")
    lab.until(lambda: lab.peer(node)["messages"]["received"]["route_refresh"] == rr0 + 1,
              timeout=10, what="ROUTE-REFRESH (IPv4) counted by bgplbd")
    lab.until(lambda: lab.peer(node)["messages"]["sent"]["update"] >= upd0 + 1, timeout=5,
              what="IPv4 routes re-sent after ROUTE-REFRESH")
    time.sleep(0.5)
    assert lab.peer(node)["messages"]["sent"]["update"] == upd0 + 1, lab.peer(node)["messages"]
    lab.router.vtysh(f"clear bgp ipv6 unicast {node.v4} soft in")
    lab.until(lambda: lab.peer(node)["messages"]["received"]["route_refresh"] == rr0 + 2,
              timeout=10, what="ROUTE-REFRESH (IPv6) counted by bgplbd")
    lab.until(lambda: lab.peer(node)["messages"]["sent"]["update"] >= upd0 + 2, timeout=5,
              what="IPv6 routes re-sent after ROUTE-REFRESH")
    time.sleep(0.5)
    assert lab.peer(node)["messages"]["sent"]["update"] == upd0 + 2, lab.peer(node)["messages"]
    nb = lab.router.neighbor(node.v4)["messageStats"]
    assert nb["routeRefreshSent"] >= 2, nb
    have_prefixes(lab, [A4, A6, B4])
    for addr in (A4, A6, B4):
        paths = lab.router.paths(p32(addr))
        assert len(paths) == 1 and paths[0].communities == COMMUNITIES, (addr, paths)
    p = lab.peer(node)
    assert p["state"] == "Established" and p["flaps"] == 0, p
    assert lab.router.neighbor(node.v4).get("bgpState") == "Established"


def nstat_md5(ns):
    out = ns.run("nstat", "-az", check=False).stdout
    vals = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 2 and f[0].startswith("TcpExtTCPMD5"):
            vals[f[0]] = int(f[1])
    return vals


def test_md5_frr(lab_factory):
    lab = lab_factory()
    node = lab.nodes[0]
    lab.start_router("frr", password="s3cr3t-md5")
    lab.start_node(node, {"default/a": [A4, A6]}, password="s3cr3t-md5")
    established_both(lab, node)
    assert lab.peer(node)["md5"] is True
    have_prefixes(lab, [A4, A6])


def test_md5_wrong_password_frr(lab_factory):
    lab = lab_factory()
    node = lab.nodes[0]
    lab.start_router("frr", password="s3cr3t-md5")
    lab.start_node(node, {"default/a": [A4]}, password="not-the-password")
    deadline = time.time() + 8
    while time.time() < deadline:
        p = lab.peer(node)
        assert p["state"] != "Established", f"established with a wrong MD5 password\n{lab.diag()}"
        assert not lab.router_established(node), "FRR established with a wrong password"
        time.sleep(0.5)
    # The kernel saw (and dropped) our segments: their MD5 signature is wrong.
    # (Without any signature the counter would be TCPMD5NotFound instead.)
    counters = nstat_md5(lab.topo.router_ns)
    assert counters.get("TcpExtTCPMD5Failure", 0) > 0, counters
    assert lab.daemons[node.index].proc.poll() is None
    # Fixing the password in the config (a changed peer: reset, new key on
    # the outgoing socket and the listener) brings the session up.
    lab.reconfigure(node, {"default/a": [A4]}, password="s3cr3t-md5")
    established_both(lab, node)
    have_prefixes(lab, [A4])


def test_multipath_two_nodes_frr(lab_factory):
    lab = lab_factory(nodes=2)
    n1, n2 = lab.nodes
    lab.start_router("frr")
    # Both nodes announce the same service address (the same config, as
    # every node of a cluster would).
    for n in (n1, n2):
        lab.start_node(n, {"default/a": [A4, A6]})
    for n in (n1, n2):
        established_both(lab, n)

    def two_paths(addr):
        paths = lab.router.paths(p32(addr))
        return len(paths) == 2 and paths
    for addr, want in ((A4, {n1.v4, n2.v4}), (A6, {n1.v6, n2.v6})):
        paths = lab.until(lambda: two_paths(addr), timeout=15,
                          what=f"two paths for {addr} at FRR")
        assert {p.nexthop for p in paths} == want, paths
        detail = lab.router.detail(p32(addr))
        multi = [p for p in detail["paths"] if p.get("multipath") or p.get("bestpath")]
        assert len(multi) == 2, f"not both paths used (multipath): {detail}"


@pytest.mark.parametrize("side", ["peer-asn", "my-asn"])
def test_wrong_peer_as(lab_factory, side):
    lab = lab_factory()
    node = lab.nodes[0]
    lab.start_router("frr")
    if side == "peer-asn":
        # We expect AS 64999, FRR says 64500: we send OPEN Message Error / Bad Peer AS.
        lab.start_node(node, {"default/a": [A4]}, peer_asn=64999)
    else:
        # We say AS 64513, FRR expects 64512: FRR sends us Bad Peer AS.
        lab.start_node(node, {"default/a": [A4]}, my_asn=64513)

    def err():
        e = lab.peer(node).get("last_error") or ""
        return "bad peer as" in e.lower() and e
    e = lab.until(err, timeout=15, what="last_error naming Bad Peer AS")
    nb = lab.router.neighbor(node.v4)
    if side == "my-asn":
        assert "received" in e.lower(), e
    else:
        # FRR got our NOTIFICATION: OPEN Message Error (2) / Bad Peer AS (2).
        # (It reaches FRR's accept-side peer, which vtysh doesn't keep: its
        # bgpd log has it, thanks to `bgp log-neighbor-changes`.)
        want = f"NOTIFICATION: received from neighbor {node.v4} 2/2"
        lab.until(lambda: want in lab.router.log_text("bgpd.log"), timeout=5,
                  what=f"FRR to log our Bad Peer AS NOTIFICATION ({nb.get('bgpState')})")
    dm = lab.daemons[node.index]
    time.sleep(1.5)
    assert dm.proc.poll() is None, f"bgplbd exited\n{lab.diag()}"
    assert dm.get("/healthz") == "ok\n"
    assert lab.peer(node)["state"] != "Established"
    assert not lab.router_established(node)


def test_ipv6_session_frr(lab_factory):
    """One IPv6 session (fd00::2 -> fd00::1) carries both families: IPv4
    routes get the node's IPv4 address as next hop."""
    lab = lab_factory()
    node = lab.nodes[0]
    lab.start_router("frr", transport="ipv6")
    lab.start_node(node, {"default/a": [A4, A6]}, peer_address=RTR6)
    established_both(lab, node)
    p = lab.peer(node)
    assert p["address"] == RTR6 and p["local_address"] == node.v6, p
    have_prefixes(lab, [A4, A6])
    p4, p6 = lab.router.paths(p32(A4)), lab.router.paths(p32(A6))
    assert len(p4) == 1 and p4[0].nexthops == [node.v4], p4
    assert len(p6) == 1 and p6[0].nexthop == node.v6 and node.link_local() in p6[0].nexthops, p6
    for path in p4 + p6:
        assert path.as_path == [NODE_AS] and path.communities == COMMUNITIES, path


def test_sigterm_withdraws_at_once_frr(lab_factory):
    """SIGTERM: Cease / Administrative Shutdown with a message; FRR drops
    our routes at once (long before the 9 s hold time)."""
    lab = lab_factory()
    node = lab.nodes[0]
    lab.start_router("frr")
    lab.start_node(node, {"default/a": [A4, A6]})
    established_both(lab, node)
    have_prefixes(lab, [A4, A6])
    t0 = time.time()
    rc = lab.daemons[node.index].stop(signal.SIGTERM)
    assert rc == 0, f"bgplbd exited {rc} on SIGTERM\n{lab.diag()}"
    have_prefixes(lab, [], gone=[A4, A6])
    assert time.time() - t0 < 3, f"withdrawal took {time.time() - t0:.1f}s"
    nb = lab.router.neighbor(node.v4)
    assert nb.get("lastNotificationReason") == "Cease/Administrative Shutdown", nb
    assert nb.get("lastShutdownDescription") == "bgplbd shutting down", nb


def test_hold_timer_expiry_frr(lab_factory):
    """The link goes dark (no FIN, no RST): bgplbd's hold timer (9 s) ends the
    session with Hold Timer Expired; when the link is back, it reconnects
    and re-sends everything."""
    lab = lab_factory()
    node = lab.nodes[0]
    lab.start_router("frr")
    lab.start_node(node, {"default/a": [A4, A6]})
    established_both(lab, node)
    have_prefixes(lab, [A4, A6])
    node.ns.run("ip", "link", "set", node.ifname, "down")
    try:
        def expired():
            p = lab.peer(node)
            return p["state"] != "Established" and "hold timer" in (p["last_error"] or "").lower() and p
        t0 = time.time()
        p = lab.until(expired, timeout=14, what="Hold Timer Expired in /v1/peers")
        assert time.time() - t0 > 5, f"session dropped too early: {p['last_error']}"
    finally:
        node.ns.run("ip", "link", "set", node.ifname, "up")
    # FRR's own hold timer ends its side too; then both come back.
    lab.until(lambda: lab.peer(node)["state"] == "Established" and lab.router_established(node),
              timeout=30, what="session re-established after the link came back")
    have_prefixes(lab, [A4, A6])


def test_broken_reload_keeps_routes_frr(lab_factory):
    """A config that fails to load is reported (stale) and changes nothing:
    no UPDATE, no withdrawal, the session stays up."""
    lab = lab_factory()
    node = lab.nodes[0]
    lab.start_router("frr")
    svcs = {"default/a": [A4, A6]}
    lab.start_node(node, svcs)
    established_both(lab, node)
    have_prefixes(lab, [A4, A6])
    time.sleep(0.5)
    upd0 = lab.peer(node)["messages"]["sent"]["update"]
    cfg, _ = lab.configs[node.index]
    write_atomic(cfg, open(cfg).read().replace("pools:", "poolz:"))
    dm = lab.daemons[node.index]
    lab.until(lambda: dm.json("/v1/status")["config"]["stale"] is True, timeout=5,
              what="config marked stale")
    time.sleep(1.0)
    p = lab.peer(node)
    assert p["messages"]["sent"]["update"] == upd0, p["messages"]
    assert p["state"] == "Established" and p["flaps"] == 0, p
    have_prefixes(lab, [A4, A6])
    # The fixed file applies normally again.
    lab.reconfigure(node, {"default/a": [A4, A6], "default/c": [C4]})
    have_prefixes(lab, [A4, A6, C4])
    assert dm.json("/v1/status")["config"]["stale"] is False


def test_peer_removed_from_config_frr(lab_factory):
    """Removing the peer: Cease / Peer De-configured, FRR withdraws at once;
    adding it back brings the session and the routes back."""
    lab = lab_factory()
    node = lab.nodes[0]
    lab.start_router("frr")
    svcs = {"default/a": [A4, A6]}
    lab.start_node(node, svcs)
    established_both(lab, node)
    have_prefixes(lab, [A4, A6])
    lab.reconfigure(node, svcs, with_peer=False)
    have_prefixes(lab, [], gone=[A4, A6])
    nb = lab.router.neighbor(node.v4)
    assert nb.get("lastErrorCodeSubcode") == "0603", nb      # Cease / Peer De-configured
    assert lab.daemons[node.index].json("/v1/peers") == []
    lab.reconfigure(node, svcs, with_peer=True)
    established_both(lab, node)
    have_prefixes(lab, [A4, A6])
