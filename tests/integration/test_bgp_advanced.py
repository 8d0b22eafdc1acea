"""Advanced BGP features of bgplbd against real routers in network
namespaces (issue [bgp-advanced]); same lab as test_bgp.py (routers.Topology:
router 10.0.0.1 / fd00::1 AS 64500, nodes 10.0.0.2.. / fd00::2.. AS 64512).

- Graceful restart (RFC 4724) with FRR as helper: while bgplbd is SIGKILLed
  and restarted, FRR's table is polled every 50 ms and no prefix may ever
  leave it (marked stale meanwhile, valid again after the restart, R bit set
  on the restarted process's first session); SIGTERM then withdraws
  everything.  Control: with graceful-restart off a SIGKILL withdraws.
- VPN announcements to FRR and GoBGP: VRF pools go as VPNv4/VPNv6 with the
  VRF's RD, route targets and MPLS label (16 + index in `vrfs:`, or `label:`)
  only to peers carrying that VRF; default-VRF pools go as unicast.
- VRF device binding: a `vrf: red` peer without a Linux VRF device "red"
  reports why in /v1/peers, logs once and never connects; binding to a real
  VRF device runs only where the kernel has CONFIG_NET_VRF (skipped loudly
  otherwise).
- Weighted ECMP: two nodes, same config, endpoints 1 and 3: FRR holds both
  paths with link-bandwidth extended communities 1 and 3 Mbit/s.
"""
import os
import signal
import subprocess
import threading
import time
import warnings

import pytest

from conftest import BGPLBD, Daemon, Netns
from routers import Frr, Gobgp, render
from test_bgp import (BINARIES, NODE_AS, ROUTER_AS, RTR4, established_both, have_prefixes,
                      p32, write_atomic)
from test_bgp import lab_factory  # noqa: F401  (the fixture: Lab per test, always closed)

# Default-VRF pool "web" and the VRF pools.
W4, W6 = "198.51.100.1", "2001:db8:100::1"
R4, R6 = "198.51.100.17", "2001:db8:101::1"     # vrf red
B4, B6 = "198.51.100.33", "2001:db8:102::1"     # vrf blue (never carried)
G4, G6 = "198.51.100.49", "2001:db8:103::1"     # vrf green (explicit label)
C4 = "198.51.100.2"                             # pool "plain" (not weighted)

RED_RD, RED_RTS = "64512:13", {"RT:64512:13", "RT:64512:14"}
BLUE_RD = "64512:20"
GREEN_RD, GREEN_RTS, GREEN_LABEL = "64512:30", {"RT:64512:30"}, 3000
# red is vrfs[1]: its label is allocated as 16 + 1.
RED_LABEL = 17


class NodeDaemon(Daemon):
    """bgplbd with a node name of our choice (conftest's Daemon says node-a)."""

    def __init__(self, ns, config, logdir, node_name):
        super().__init__(ns, config, logdir)
        self.node_name = node_name

    def start(self, wait=True):
        self.logf = open(self.log_path, "a")
        self.proc = self.ns.popen([BGPLBD, "--config", self.config, "--node", self.node_name,
                                   "--status-listen", f"127.0.0.1:{self.port}"],
                                  stdout=self.logf, stderr=subprocess.STDOUT)
        if wait:
            self.wait_healthy()
        return self


def need(kind):
    for b in BINARIES[kind]:
        if not os.path.exists(b) and subprocess.run(["which", b], capture_output=True).returncode:
            pytest.skip(f"ROUTER BINARY MISSING: {b} not installed (package of {kind})")


def start_frr(lab, template="frr-bgpd.conf", extra=None):
    need("frr")
    lab.kind, lab.transport = "frr", "ipv4"
    conf = render(template, router_as=ROUTER_AS, node_as=NODE_AS,
                  node_addrs=[n.v4 for n in lab.nodes], extra=extra)
    lab.router = Frr(lab.topo.router_ns, lab.tmp / "frr-run", conf)
    return lab.router.start()


def start_gobgp(lab, template):
    need("gobgp")
    assert len(lab.nodes) == 1
    lab.kind, lab.transport = "gobgp", "ipv4"
    lab.router = Gobgp(lab.topo.router_ns, lab.tmp / "gobgp-run",
                       render(template, router_as=ROUTER_AS, node_as=NODE_AS))
    return lab.router.start()


def start_bgplbd(lab, node, config_text, *, cfg_path=None, node_name=None):
    """bgplbd for one node with this config text; logs (and, by default, the
    config and its state file) in the node's own directory."""
    d = lab.tmp / f"node{node.index}"
    d.mkdir(exist_ok=True)
    cfg = cfg_path or d / "bgplb.yaml"
    if config_text is not None:
        write_atomic(cfg, config_text)
    dm = NodeDaemon(node.ns, cfg, d, node_name or f"node-{node.index}")
    lab.daemons[node.index] = dm
    return dm.start()


PEER = """peers:
  - name: rtr
    address: {address}
    asn: {asn}
    my-asn: {my_asn}
    hold-time: 9s
    keepalive-time: 3s
    connect-time: 1s
"""


def peer_block(address=RTR4, **extra):
    text = PEER.format(address=address, asn=ROUTER_AS, my_asn=NODE_AS)
    for k, v in extra.items():
        text += f"    {k.replace('_', '-')}: {v}\n"
    return text


def services_block(services):
    """services: {name: (pool, [addresses] or None, {extra keys})}"""
    lines = ["services:"]
    for name, (pool, addrs, extra) in services.items():
        lines += [f"  - name: {name}", f"    pool: {pool}"]
        if addrs:
            lines.append(f"    addresses: [{', '.join(addrs)}]")
        for k, v in (extra or {}).items():
            lines.append(f"    {k}: {v}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- graceful restart

class TablePoller(threading.Thread):
    """Polls FRR's IPv4 and IPv6 unicast tables back to back (50 ms pause
    between rounds) and records, per round, which of the watched prefixes
    FRR held a path from `peer` for, and whether that path was stale."""

    def __init__(self, frr, peer, prefixes, interval=0.05):
        super().__init__(daemon=True)
        self.frr, self.peer, self.prefixes, self.interval = frr, peer, set(prefixes), interval
        self.samples = []          # (time, {prefix: stale})
        self.errors = []
        self.halt = threading.Event()

    def snapshot(self):
        held = {}
        for afi in ("ipv4", "ipv6"):
            data = self.frr.json(f"show bgp {afi} unicast json")
            if "routes" not in data:
                raise AssertionError(f"no routes key in FRR's {afi} table: {data}")
            for prefix, paths in data["routes"].items():
                for p in paths:
                    if p.get("peerId") == self.peer and prefix in self.prefixes:
                        held[prefix] = bool(p.get("stale"))
        return held

    def run(self):
        while not self.halt.is_set():
            try:
                self.samples.append((time.time(), self.snapshot()))
            except Exception as e:         # a failed query is reported, never ignored
                self.errors.append(f"{time.time():.3f}: {e}")
            time.sleep(self.interval)

    def stop(self):
        self.halt.set()
        self.join(10)

    def gaps(self):
        return [(t, sorted(self.prefixes - set(held))) for t, held in self.samples
                if set(held) != self.prefixes]

    def stale_seen(self):
        return [t for t, held in self.samples if any(held.values())]


def gr_config(graceful_restart=True):
    return ("pools:\n"
            "  - name: web\n"
            "    addresses: [198.51.100.0/28, 2001:db8:100::/124]\n"
            + peer_block(graceful_restart=str(graceful_restart).lower())
            + services_block({
                "default/a": ("web", [W4, W6], None),
                # dynamic: must come back with the same address (state file)
                "default/b": ("web", None, {"ip-families": "[IPv4, IPv6]"}),
            }))


def service_addresses(dm):
    return {s["name"]: sorted(s["addresses"]) for s in dm.json("/v1/services")}


def frr_gr_info(lab, node):
    return lab.router.neighbor(node.v4).get("gracefulRestartInfo") or {}


@pytest.mark.parametrize("frr_mode", ["restart", "helper"])
def test_graceful_restart_frr(lab_factory, frr_mode):
    """bgplbd SIGKILLed and restarted: FRR (with `bgp graceful-restart`, or in
    its default helper-only mode) keeps every route, stale, until the new
    session re-sends them; not one 50 ms poll may miss a prefix.  SIGTERM
    afterwards withdraws everything at once."""
    lab = lab_factory()
    node = lab.nodes[0]
    extra = {"bgp log-neighbor-changes": [" bgp graceful-restart"]} if frr_mode == "restart" else None
    start_frr(lab, extra=extra)
    dm = start_bgplbd(lab, node, gr_config())
    established_both(lab, node)
    svcs = service_addresses(dm)
    addrs = [a for v in svcs.values() for a in v]
    assert len(addrs) == 4 and W4 in addrs and W6 in addrs, svcs
    prefixes = [p32(a) for a in addrs]
    have_prefixes(lab, addrs)

    p = lab.peer(node)
    assert p["capabilities"]["graceful_restart"] is True, p["capabilities"]
    nb = lab.router.neighbor(node.v4)
    caps = nb.get("neighborCapabilities", {})
    assert caps.get("gracefulRestart") == "advertisedAndReceived", caps
    assert caps.get("gracefulRestartRemoteTimerMsecs") == 120000, caps
    fams = caps.get("addressFamiliesByPeer", {})
    assert set(fams) == {"ipv4Unicast", "ipv6Unicast"}, fams
    assert all(f.get("preserved") for f in fams.values()), fams       # F bit
    info = frr_gr_info(lab, node)
    assert info.get("rBit") is False, f"R bit on a first start: {info}"
    assert info.get("remoteGrMode") in ("Restart", "Helper"), info
    assert (info.get("timers") or {}).get("receivedRestartTimer") == 120, info
    for fam in ("ipv4Unicast", "ipv6Unicast"):
        assert (info.get(fam) or {}).get("fBit") is True, info

    poller = TablePoller(lab.router, node.v4, prefixes)
    poller.start()
    try:
        time.sleep(0.3)
        dm.stop(signal.SIGKILL)
        t_kill = time.time()
        lab.until(lambda: lab.router.neighbor(node.v4).get("bgpState") != "Established",
                  timeout=5, what="FRR to see the session go down")
        lab.until(lambda: poller.stale_seen(), timeout=5,
                  what="FRR to mark our routes stale")
        time.sleep(1.5)        # down a while: a few dozen polls in helper mode
        t_restart = time.time()
        dm = start_bgplbd(lab, node, None)
        established_both(lab, node)

        def fresh():
            held = poller.snapshot()
            return set(held) == set(prefixes) and not any(held.values())
        lab.until(fresh, timeout=15, what="routes valid (not stale) again after the restart")
        time.sleep(1.0)
    finally:
        poller.stop()

    assert not poller.errors, poller.errors[:5]
    during = [s for s in poller.samples if s[0] >= t_kill]
    assert len(during) >= 15, f"only {len(during)} polls while bgplbd was restarting"
    assert not poller.gaps(), (f"prefixes left FRR's table during the restart "
                               f"(killed {t_kill:.3f}, restarted {t_restart:.3f}): "
                               f"{poller.gaps()[:10]}\n{lab.diag()}")
    assert poller.samples[-1][1] == {p: False for p in prefixes}, poller.samples[-1]
    # Same state file: same addresses; the new process's first session has the R bit.
    assert service_addresses(dm) == svcs
    assert "previous assignments read from" in dm.log(), dm.log()
    info = frr_gr_info(lab, node)
    assert info.get("rBit") is True, f"no R bit after a restart with state: {info}"
    p = lab.peer(node)
    assert p["prefixes_advertised"] == 4 and p["capabilities"]["graceful_restart"], p

    # SIGTERM: Cease / Administrative Shutdown; FRR does not keep stale routes.
    t0 = time.time()
    assert dm.stop(signal.SIGTERM) == 0
    have_prefixes(lab, [], gone=addrs)
    assert time.time() - t0 < 3, f"withdrawal took {time.time() - t0:.1f}s"
    nb = lab.router.neighbor(node.v4)
    assert nb.get("lastNotificationReason") == "Cease/Administrative Shutdown", nb


def test_graceful_restart_off_kill_withdraws_frr(lab_factory):
    """Control for the test above: with `graceful-restart: false` FRR gets no
    GR capability and a SIGKILL withdraws the routes at once (so the poller
    does notice a missing prefix)."""
    lab = lab_factory()
    node = lab.nodes[0]
    start_frr(lab, extra={"bgp log-neighbor-changes": [" bgp graceful-restart"]})
    dm = start_bgplbd(lab, node, gr_config(graceful_restart=False))
    established_both(lab, node)
    addrs = [a for v in service_addresses(dm).values() for a in v]
    have_prefixes(lab, addrs)
    assert lab.peer(node)["capabilities"]["graceful_restart"] is False
    caps = lab.router.neighbor(node.v4).get("neighborCapabilities", {})
    assert caps.get("gracefulRestart") != "advertisedAndReceived", caps
    assert "gracefulRestartRemoteTimerMsecs" not in caps, caps
    poller = TablePoller(lab.router, node.v4, [p32(a) for a in addrs])
    poller.start()
    try:
        time.sleep(0.3)
        dm.stop(signal.SIGKILL)
        have_prefixes(lab, [], gone=addrs)
    finally:
        poller.stop()
    assert poller.gaps(), "the poller never saw the routes go"
    assert not poller.stale_seen(), "routes kept stale without the GR capability"


# ---------------------------------------------------------------- VPN

def vpn_config(vpn_list="[red, green]"):
    return f"""pools:
  - name: web
    addresses: [198.51.100.0/28, 2001:db8:100::/124]
    auto-assign: false
  - name: red
    vrf: red
    addresses: [198.51.100.16/28, 2001:db8:101::/124]
    auto-assign: false
  - name: blue
    vrf: blue
    addresses: [198.51.100.32/28, 2001:db8:102::/124]
    auto-assign: false
  - name: green
    vrf: green
    addresses: [198.51.100.48/28, 2001:db8:103::/124]
    auto-assign: false
vrfs:
  - {{name: blue, route-distinguisher: "{BLUE_RD}", route-targets: ["64512:20"]}}
  - {{name: red, route-distinguisher: "{RED_RD}", route-targets: ["64512:13", "64512:14"]}}
  - {{name: green, route-distinguisher: "{GREEN_RD}", route-targets: ["64512:30"], label: {GREEN_LABEL}}}
""" + peer_block(vpn=vpn_list) + services_block({
        "default/w": ("web", [W4, W6], None),
        "default/r": ("red", [R4, R6], None),
        "default/b": ("blue", [B4, B6], None),
        "default/g": ("green", [G4, G6], None),
    })


@pytest.mark.parametrize("kind", ["frr", "gobgp"])
def test_vpn_announcements(lab_factory, kind):
    """A peer with `vpn: [red, green]`: red and green pools as VPNv4/VPNv6
    (RD, route targets, label 16+index or `label:`), the default-VRF pool as
    unicast, the blue pool nowhere, no VRF pool as unicast."""
    lab = lab_factory()
    node = lab.nodes[0]
    if kind == "frr":
        start_frr(lab, "frr-bgpd-vpn.conf")
    else:
        start_gobgp(lab, "gobgpd-vpn.toml")
    dm = start_bgplbd(lab, node, vpn_config())
    established_both(lab, node)
    p = lab.peer(node)
    assert set(p["capabilities"]["families"]) == {"ipv4-unicast", "ipv6-unicast",
                                                  "vpnv4", "vpnv6"}, p["capabilities"]

    want = {
        ("ipv4", RED_RD, p32(R4)): (RED_LABEL, RED_RTS),
        ("ipv4", GREEN_RD, p32(G4)): (GREEN_LABEL, GREEN_RTS),
        ("ipv6", RED_RD, p32(R6)): (RED_LABEL, RED_RTS),
        ("ipv6", GREEN_RD, p32(G6)): (GREEN_LABEL, GREEN_RTS),
    }

    def vpn_all():
        got = {}
        for afi in ("ipv4", "ipv6"):
            for (rd, prefix), paths in lab.router.vpn_routes(afi).items():
                got[(afi, rd, prefix)] = paths
        return got
    got = lab.until(lambda: (lambda g: set(want) <= set(g) and g)(vpn_all()), timeout=15,
                    what=f"{kind} to hold the red and green VPN routes")
    time.sleep(1.0)     # anything extra (blue) would have arrived with them
    got = vpn_all()
    assert set(got) == set(want), f"VPN routes at {kind}: {sorted(got)}\n{lab.diag()}"
    for key, (label, rts) in want.items():
        afi = key[0]
        paths = got[key]
        assert len(paths) == 1, (key, paths)
        path = paths[0]
        assert path.rd == key[1], (key, path)
        assert path.labels == [label], (key, path)
        assert path.ext_communities == rts, (key, path)
        assert path.as_path == [NODE_AS], (key, path)
        assert path.nexthop == (node.v4 if afi == "ipv4" else node.v6), (key, path)

    # Unicast: only the default-VRF pool.
    r4, r6 = lab.router.routes("ipv4"), lab.router.routes("ipv6")
    assert set(r4) == {p32(W4)}, r4
    assert set(r6) == {p32(W6)}, r6
    assert r4[p32(W4)][0].nexthops == [node.v4], r4
    assert lab.peer(node)["prefixes_advertised"] == 6, lab.peer(node)

    # Status: the blue service is advertised to no peer; the VRF pools say so.
    pools = {x["name"]: x for x in dm.json("/v1/pools")}
    assert pools["red"]["vrf"] == "red" and pools["web"]["vrf"] is None, pools
    svcs = {s["name"]: s for s in dm.json("/v1/services")}
    assert not svcs["default/b"].get("peers"), svcs["default/b"]
    assert svcs["default/r"].get("peers"), svcs["default/r"]

    # Dropping green from the peer's vpn: list withdraws just green (the
    # peer changed: it reconnects, and green never comes back).
    write_atomic(dm.config, vpn_config("[red]"))

    def only_red():
        g = vpn_all()
        return set(g) == {k for k in want if k[1] == RED_RD} and g
    lab.until(only_red, timeout=20, what=f"{kind} to hold only red's VPN routes")
    established_both(lab, node)
    assert set(lab.router.routes("ipv4")) == {p32(W4)}

    # A plain default-VRF peer (no vpn:): no VPN family, no VRF pool at all.
    write_atomic(dm.config, vpn_config("[]"))
    lab.until(lambda: set(lab.peer(node)["capabilities"]["families"]) ==
              {"ipv4-unicast", "ipv6-unicast"} and lab.peer(node)["state"] == "Established",
              timeout=20, what="the session back without VPN families")
    established_both(lab, node)
    have_prefixes(lab, [W4, W6])
    time.sleep(1.0)
    assert vpn_all() == {}, vpn_all()
    assert set(lab.router.routes("ipv4")) == {p32(W4)}, lab.router.routes("ipv4")
    assert set(lab.router.routes("ipv6")) == {p32(W6)}, lab.router.routes("ipv6")
    assert lab.peer(node)["prefixes_advertised"] == 2, lab.peer(node)


# ---------------------------------------------------------------- VRF device

def kernel_has_vrf():
    """Can a VRF device be made (CONFIG_NET_VRF)?  Tried in a namespace of
    our own, so nothing outside the test is touched."""
    ns = Netns("v")
    try:
        r = ns.run("ip", "link", "add", "bgplbvrf0", "type", "vrf", "table", "10", check=False)
        return r.returncode == 0, (r.stderr or r.stdout).strip()
    finally:
        ns.delete()


def vrf_config(peer_vrf="red"):
    return ("pools:\n"
            "  - name: red\n"
            "    vrf: red\n"
            "    addresses: [198.51.100.16/28]\n"
            "    auto-assign: false\n"
            + peer_block(vrf=peer_vrf)
            + services_block({"default/r": ("red", [R4], None)}))


def test_vrf_peer_without_device(lab_factory):
    """A `vrf: red` peer where no device "red" exists: last_error says so
    (and why, on a kernel without VRF support), one log line, and no session
    at all, although FRR is reachable in the default VRF."""
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    has_vrf, _ = kernel_has_vrf()
    lab = lab_factory()
    node = lab.nodes[0]
    start_frr(lab)
    dm = start_bgplbd(lab, node, vrf_config())
    want = 'VRF device "red" does not exist'
    if not has_vrf:
        want += " (this kernel has no VRF support: CONFIG_NET_VRF is off)"
    p = lab.until(lambda: (lambda p: p.get("last_error") and p)(lab.peer(node)), timeout=10,
                  what="last_error for the VRF peer")
    assert p["last_error"] == want, p
    assert p["vrf"] == "red", p
    time.sleep(4)      # several connect-time (1 s) retries, and FRR's own connects
    p = lab.peer(node)
    # FRR connects to us too (in the default VRF): that connection must not
    # become a session of the red peer, or the red pool leaks into the
    # default VRF.
    assert p["state"] != "Established" and p["messages"]["sent"]["open"] == 0, (
        f"VRF peer without its device got a session (history {p['history']}); "
        f"FRR's default table: {sorted(lab.router.routes('ipv4'))}\n{lab.diag()}")
    assert p32(R4) not in lab.router.routes("ipv4")
    assert p["last_error"] == want, f"{p}\n{lab.diag()}"
    nb = lab.router.neighbor(node.v4)
    assert nb.get("bgpState") != "Established" and nb.get("connectionsEstablished", 0) == 0, nb
    assert nb.get("messageStats", {}).get("opensRecv", 0) == 0, nb
    lines = [l for l in dm.log().splitlines() if want in l]
    assert len(lines) == 1, "\n".join(lines) or dm.log()
    assert dm.proc.poll() is None and dm.get("/healthz") == "ok\n"


def test_vrf_device_binding(lab_factory):
    """With a VRF device "red" holding the node's link, the `vrf: red` peer's
    session runs through it and carries the red pool as unicast."""
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    has_vrf, why = kernel_has_vrf()
    if not has_vrf:
        msg = ("KERNEL WITHOUT VRF SUPPORT (CONFIG_NET_VRF is off): "
               f"`ip link add NAME type vrf table 10` fails ({why}); "
               "SO_BINDTODEVICE to a VRF device CANNOT BE TESTED on this machine")
        warnings.warn(pytest.PytestWarning(msg))      # shows in the summary, even without -rs
        pytest.skip(msg)
    lab = lab_factory()
    node = lab.nodes[0]
    node.ns.run("ip", "link", "add", "red", "type", "vrf", "table", "10")
    node.ns.run("ip", "link", "set", "red", "up")
    node.ns.run("ip", "link", "set", node.ifname, "master", "red")
    node.ns.run("ip", "addr", "add", f"{node.v4}/24", "dev", node.ifname, check=False)
    start_frr(lab)
    start_bgplbd(lab, node, vrf_config())
    established_both(lab, node)
    p = lab.peer(node)
    assert p["vrf"] == "red" and p["last_error"] is None, p
    have_prefixes(lab, [R4])


# ---------------------------------------------------------------- weighted ECMP

def wecmp_config(endpoints):
    return ("pools:\n"
            "  - name: web\n"
            "    addresses: [198.51.100.0/31, 2001:db8:100::/124]\n"
            "    auto-assign: false\n"
            "    weighted-ecmp: true\n"
            "  - name: plain\n"
            "    addresses: [198.51.100.2/31]\n"
            "    auto-assign: false\n"
            + peer_block()
            + services_block({
                "default/w": ("web", [W4, W6], {"external-traffic-policy": "Local",
                                                "endpoints": endpoints}),
                "default/c": ("plain", [C4], None),
            }))


def lb_value(path):
    lbs = [c for c in path.ext_communities if c.startswith("LB:")]
    assert len(lbs) == 1, path
    asn, bps = lbs[0][3:].split(":")
    return int(asn), float(bps)


def test_weighted_ecmp_frr(lab_factory, tmp_path):
    """node-1 and node-2 run the same config; the service has 1 ready
    endpoint on node-1 and 3 on node-2: FRR holds both paths (multipath)
    with link bandwidth 125000 and 375000 bytes/s from AS 64512.  A new
    endpoint count is sent without a session reset."""
    lab = lab_factory(nodes=2)
    n1, n2 = lab.nodes
    start_frr(lab)
    cfg = tmp_path / "bgplb.yaml"           # one file for both nodes
    write_atomic(cfg, wecmp_config("{node-1: 1, node-2: 3}"))
    dms = [start_bgplbd(lab, n, None, cfg_path=cfg) for n in (n1, n2)]
    for n in (n1, n2):
        established_both(lab, n)
    assert [d.json("/v1/status")["node"] for d in dms] == ["node-1", "node-2"]

    def weights(addr, want):
        paths = lab.router.paths(p32(addr))
        if len(paths) != 2:
            return False
        got = {p.peer: lb_value(p) for p in paths
               if any(c.startswith("LB:") for c in p.ext_communities)}
        return got == want and paths

    for node_eps in ({n1.v4: 1, n2.v4: 3}, {n1.v4: 2, n2.v4: 5}):
        if node_eps[n1.v4] == 2:
            write_atomic(cfg, wecmp_config("{node-1: 2, node-2: 5}"))
        want = {peer: (NODE_AS, 125000.0 * eps) for peer, eps in node_eps.items()}
        for addr in (W4, W6):
            paths = lab.until(lambda: weights(addr, want), timeout=15,
                              what=f"link bandwidth {want} on {addr} at FRR")
            assert {p.nexthop for p in paths} == ({n1.v4, n2.v4} if addr == W4
                                                   else {n1.v6, n2.v6}), paths
            detail = lab.router.detail(p32(addr))
            used = [p for p in detail["paths"] if p.get("multipath") or p.get("bestpath")]
            assert len(used) == 2, f"not both paths used: {detail}"
            mbps = sorted(p["extendedCommunity"]["string"] for p in detail["paths"])
            assert mbps == sorted(f"LB:{NODE_AS}:{int(125000 * e)} ({e:.3f} Mbps)"
                                  for e in node_eps.values()), mbps
    # The pool without weighted-ecmp carries no link bandwidth.
    have_prefixes(lab, [C4])
    for p in lab.router.paths(p32(C4)):
        assert not p.ext_communities, p
    for n in (n1, n2):
        assert lab.peer(n)["flaps"] == 0 and lab.peer(n)["state"] == "Established"
