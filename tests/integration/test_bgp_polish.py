"""Session details of bgplbd's BGP speaker against FRR (issue [bgp-advanced]
"polish" and two [bgp] test gaps); same lab as test_bgp.py (routers.Topology:
router 10.0.0.1 AS 64500, node 10.0.0.2 AS 64512).

- Extended messages (RFC 8654): both sides advertise capability 6, so 3000
  /32s go in one UPDATE (65535 bytes hold 13098 of them) instead of four;
  FRR holds all 3000.
- Enhanced route refresh (RFC 7313): FRR's `clear bgp ... soft in` sends a
  ROUTE-REFRESH; bgplbd answers BoRR, the routes, EoRR (FRR logs both
  markers) and FRR keeps every route (it drops only what the refresh
  did not re-send).
- max-prefixes: FRR sends 8 prefixes; a limit of 10 holds, lowering it to 5
  on reload closes the session with Cease / Maximum Number of Prefixes
  Reached (6/1, data AFI 1 SAFI 1 limit 5: FRR logs the bytes), and raising
  it brings the session back without a restart of bgplbd.
- passive: true: bgplbd never sends a SYN (tcpdump in the node namespace);
  FRR connects and the session comes up.
- source-address: the node has a second address; FRR (passive, configured
  with only that address) sees the session come from it.
- TTL of our SYNs: 1 for single-hop eBGP, 2 with `ebgp-multihop: 2`.
"""
import re
import signal
import subprocess
import time

import pytest

from test_bgp import NODE_AS, ROUTER_AS, established_both, have_prefixes, write_atomic
from test_bgp import lab_factory  # noqa: F401  (the fixture: Lab per test, always closed)
from test_bgp_advanced import peer_block, services_block, start_bgplbd, start_frr

W4, W6 = "198.51.100.1", "2001:db8:100::1"


def config(peer_extra=None, services=None, pool="198.51.100.0/28, 2001:db8:100::/124"):
    return ("pools:\n"
            "  - name: web\n"
            f"    addresses: [{pool}]\n"
            + peer_block(**(peer_extra or {}))
            + services_block(services if services is not None else
                             {"default/a": ("web", [W4, W6], None)}))


class Capture:
    """tcpdump of BGP SYNs on one interface of a namespace (ours: stopped
    by PID, `ip netns exec` execs tcpdump)."""

    def __init__(self, ns, ifname, pcap):
        self.ns, self.pcap = ns, str(pcap)
        self.err = open(self.pcap + ".stderr", "w+")
        self.proc = ns.popen(["tcpdump", "-i", ifname, "-n", "-U", "--immediate-mode",
                              "-w", self.pcap,
                              "tcp port 179 and tcp[tcpflags] & tcp-syn != 0"],
                             stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(self.pcap + ".stderr") as f:
                if "listening on" in f.read():
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise AssertionError("tcpdump did not start: " + open(self.pcap + ".stderr").read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()

    def syns(self):
        """[(src, sport, dst, dport, ttl, flags)]; flags "S" is a SYN, "S." a SYN-ACK."""
        out = subprocess.run(["tcpdump", "-r", self.pcap, "-nv"], capture_output=True,
                             text=True).stdout
        pat = re.compile(r"ttl (\d+),.*?\n\s+([0-9.]+)\.(\d+) > ([0-9.]+)\.(\d+): "
                         r"Flags \[([^\]]*)\]", re.S)
        return [(m[2], int(m[3]), m[4], int(m[5]), int(m[1]), m[6])
                for m in pat.finditer(out)]


def frr_caps(lab, node):
    return lab.router.neighbor(node.v4).get("neighborCapabilities", {})


def frr_accepted(lab, node, afi="ipv4Unicast"):
    nb = lab.router.neighbor(node.v4)
    return ((nb.get("addressFamilyInfo") or {}).get(afi) or {}).get("acceptedPrefixCounter", 0)


# ---------------------------------------------------------------- RFC 8654

def test_extended_messages_frr(lab_factory, tmp_path):
    """3000 /32s: with extended messages they fit in one UPDATE (65535 bytes:
    (65535 - 19 - 4 - 20) / 5 = 13098 /32s), where 4096-byte UPDATEs would
    need ceil(3000 / 810) = 4.  Sent: that one UPDATE and one End-of-RIB per
    family; FRR counts the same and holds all 3000."""
    n = 3000
    lab = lab_factory()
    node = lab.nodes[0]
    start_frr(lab)
    addrs = [f"10.128.{i >> 8}.{i & 255}" for i in range(n)]
    svcs = {f"default/s{i}": ("web", [a], None) for i, a in enumerate(addrs)}
    start_bgplbd(lab, node, config(services=svcs, pool="10.128.0.0/20"))
    established_both(lab, node)
    p = lab.peer(node)
    assert p["capabilities"]["extended_message"] is True, p["capabilities"]
    assert p["capabilities"]["max_message_length"] == 65535, p["capabilities"]
    caps = frr_caps(lab, node)
    assert caps.get("extendedMessage") == "advertisedAndReceived", caps
    lab.until(lambda: frr_accepted(lab, node) == n, timeout=20,
              what=f"FRR to accept {n} IPv4 prefixes")
    time.sleep(0.5)
    per_msg = (65535 - 19 - 4 - 20) // 5
    want = -(-n // per_msg) + 2                 # + End-of-RIB IPv4, IPv6
    assert want == 3
    p = lab.peer(node)
    assert p["prefixes_advertised"] == n, p
    assert p["messages"]["sent"]["update"] == want, p["messages"]
    stats = lab.router.neighbor(node.v4)["messageStats"]
    assert stats["updatesRecv"] == want, stats
    routes = lab.router.routes("ipv4")
    assert all(f"{a}/32" in routes for a in addrs), f"FRR misses {n - len(routes)} prefixes"


# ---------------------------------------------------------------- RFC 7313

def test_enhanced_route_refresh_frr(lab_factory):
    lab = lab_factory()
    node = lab.nodes[0]
    start_frr(lab, extra={"log stdout informational": ["log stdout debugging",
                                                         "debug bgp neighbor-events"]})
    start_bgplbd(lab, node, config())
    established_both(lab, node)
    have_prefixes(lab, [W4, W6])
    p = lab.peer(node)
    assert p["capabilities"]["enhanced_route_refresh"] is True, p["capabilities"]
    caps = frr_caps(lab, node)
    assert caps.get("enhancedRouteRefresh") == "advertisedAndReceived", caps
    sent0 = p["messages"]["sent"]
    rr_in0 = lab.router.neighbor(node.v4)["messageStats"]["routeRefreshRecv"]

    lab.router.vtysh(f"clear bgp ipv4 unicast {node.v4} soft in")
    # One ROUTE-REFRESH in; out: BoRR, the IPv4 UPDATE, EoRR.
    lab.until(lambda: lab.peer(node)["messages"]["sent"]["route_refresh"] ==
              sent0["route_refresh"] + 2, timeout=10, what="BoRR + EoRR sent")
    time.sleep(0.5)
    p = lab.peer(node)
    assert p["messages"]["received"]["route_refresh"] >= 1, p["messages"]
    assert p["messages"]["sent"]["update"] == sent0["update"] + 1, p["messages"]
    lab.until(lambda: lab.router.neighbor(node.v4)["messageStats"]["routeRefreshRecv"] ==
              rr_in0 + 2, timeout=5, what="FRR to count BoRR and EoRR")
    log = lab.router.log_text("bgpd.log")
    for marker in ("BoRR", "EoRR"):
        assert re.search(rf"{re.escape(node.v4)}.*rcvd route-refresh \({marker}\) for "
                         r"IPv4/unicast", log), (marker, log[-3000:])
    # FRR dropped nothing: the refresh re-sent every route it held.
    have_prefixes(lab, [W4, W6])
    assert lab.peer(node)["state"] == "Established" and lab.peer(node)["flaps"] == 0


# ---------------------------------------------------------------- max-prefixes

def test_max_prefixes_frr(lab_factory):
    lab = lab_factory()
    node = lab.nodes[0]
    nets = [f"  network 198.18.{i}.0/24" for i in range(8)]
    start_frr(lab, extra={"address-family ipv4 unicast": nets})
    d = lab.tmp / f"node{node.index}"
    dm = start_bgplbd(lab, node, config({"max_prefixes": 10}))
    cfg = d / "bgplb.yaml"
    established_both(lab, node)
    lab.until(lambda: lab.peer(node)["prefixes_received"] == 8, timeout=10,
              what="8 prefixes received from FRR")
    assert lab.peer(node)["max_prefixes"] == 10

    # Lowered below what FRR sends: Cease 6/1 at once, AFI 1 SAFI 1 limit 5.
    write_atomic(cfg, config({"max_prefixes": 5}))
    lab.until(lambda: "max-prefixes" in (lab.peer(node).get("last_error") or ""),
              timeout=10, what="the session closed for max-prefixes")
    p = lab.peer(node)
    assert "Maximum Number of Prefixes Reached" in p["last_error"], p
    assert "max-prefixes 5" in dm.log() and "max-prefixes 10 -> 5" in dm.log(), dm.log()[-2000:]
    nb = lab.router.neighbor(node.v4)
    assert nb.get("lastErrorCodeSubcode") == "0601", nb
    want = f"NOTIFICATION: received from neighbor {node.v4} 6/1"
    lab.until(lambda: want in lab.router.log_text("bgpd.log"), timeout=5,
              what="FRR to log our 6/1")
    line = [ln for ln in lab.router.log_text("bgpd.log").splitlines() if want in ln][-1]
    assert "7 bytes 00 01 01 00 00 00 05" in line, line
    # It comes back after idle-hold, gets too many again and is closed again.
    lab.until(lambda: lab.peer(node)["flaps"] >= 2, timeout=15,
              what="a second max-prefixes close after idle-hold")
    assert dm.proc.poll() is None

    # Raised: applied without a reset of anything else; the session stays up.
    write_atomic(cfg, config({"max_prefixes": 20}))
    lab.until(lambda: lab.peer(node)["state"] == "Established", timeout=20,
              what="Established again with max-prefixes 20")
    lab.until(lambda: lab.peer(node)["prefixes_received"] == 8, timeout=10,
              what="8 prefixes received again")
    have_prefixes(lab, [W4, W6])
    time.sleep(1.5)
    assert lab.peer(node)["state"] == "Established"


# ---------------------------------------------------------------- passive

def test_passive_peer_frr(lab_factory, tmp_path):
    lab = lab_factory()
    node = lab.nodes[0]
    cap = Capture(node.ns, node.ifname, tmp_path / "passive.pcap")
    try:
        start_frr(lab)
        dm = start_bgplbd(lab, node, config({"passive": "true"}))
        established_both(lab, node)
        have_prefixes(lab, [W4, W6])
        time.sleep(2.5)           # connect-time is 1 s: an active peer would have tried
    finally:
        cap.stop()
    syns = cap.syns()
    ours = [s for s in syns if s[0] == node.v4 and s[5] == "S"]
    theirs = [s for s in syns if s[0] == lab.topo.ROUTER_V4 and s[3] == 179 and s[5] == "S"]
    assert not ours, f"bgplbd sent SYNs although passive: {ours}"
    assert theirs, f"no SYN from FRR captured: {syns}"
    nb = lab.router.neighbor(node.v4)
    assert nb.get("portForeign") == 179, nb       # FRR connected to us
    assert "connecting to" not in dm.log()
    assert "accepted connection from" in dm.log()
    assert lab.peer(node)["passive"] is True


# ---------------------------------------------------------------- source-address

def test_source_address_frr(lab_factory):
    """FRR knows the node only as 10.0.0.12 (a second address of the node)
    and never connects (passive): the session can only be ours, from the
    configured source address."""
    src = "10.0.0.12"
    lab = lab_factory()
    node = lab.nodes[0]
    node.ns.run("ip", "addr", "add", f"{src}/24", "dev", node.ifname)
    lab.kind, lab.transport = "frr", "ipv4"
    from routers import Frr, render
    conf = render("frr-bgpd.conf", router_as=ROUTER_AS, node_as=NODE_AS, node_addrs=[src],
                  extra={f"neighbor {src} peer-group NODES": [f" neighbor {src} passive"]})
    lab.router = Frr(lab.topo.router_ns, lab.tmp / "frr-run", conf)
    lab.router.start()
    start_bgplbd(lab, node, config({"source_address": src}))
    lab.until(lambda: lab.peer(node).get("state") == "Established", timeout=20,
              what="Established from the source address")
    lab.until(lambda: lab.router.established(src), timeout=10, what="FRR Established")
    nb = lab.router.neighbor(src)
    assert nb.get("hostForeign") == src and nb.get("portLocal") == 179, nb
    assert lab.peer(node)["local_address"] == src
    routes = lab.router.routes("ipv4")
    assert f"{W4}/32" in routes and routes[f"{W4}/32"][0].nexthop == src, routes


# ---------------------------------------------------------------- TTL

@pytest.mark.parametrize("multihop,ttl", [(None, 1), ("2", 2)])
def test_syn_ttl(lab_factory, tmp_path, multihop, ttl):
    lab = lab_factory()
    node = lab.nodes[0]
    cap = Capture(lab.topo.router_ns, "br0", tmp_path / "ttl.pcap")
    try:
        start_frr(lab)
        start_bgplbd(lab, node, config({"ebgp_multihop": multihop} if multihop else None))
        established_both(lab, node)
        time.sleep(0.5)
    finally:
        cap.stop()
    ours = [s for s in cap.syns() if s[0] == node.v4 and s[3] == 179 and s[5] == "S"]
    assert ours, f"no SYN of bgplbd captured: {cap.syns()}"
    assert {s[4] for s in ours} == {ttl}, ours
