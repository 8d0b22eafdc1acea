"""BFD between bgplbd and FRR (zebra + bfdd + bgpd -n) in namespaces.

Topology: routers.Topology (router namespace with bridge br0, one node on a
veth) plus an idle veth port in br0, so that when the node's port is cut
(`ip link set <port> down` in the router namespace) br0 keeps its carrier
and FRR can only learn of the failure through BFD, as with a failure one
switch away.

bgplbd's peer has `bfd: {min-rx: 50ms, min-tx: 50ms, multiplier: 3}`; FRR's
neighbor uses a bfdd profile with the same timers.  The speaker is expected
to run one BFD session per peer with bfd enabled, connect BGP only while BFD
is Up, and on BFD Down send Cease/BFD Down (6/10) and go Idle.

Times are taken from FRR's logs (`log timestamp precision 3`, wall clock)
against the wall clock just before the cut, so vtysh's latency doesn't count.
"""
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import BGPLBD, Daemon, sh, wait_until
from routers import Frr, Topology, render

ROUTER_AS, NODE_AS = 64500, 64512
RTR4 = Topology.ROUTER_V4
SVC = "198.51.100.1"
IVL_MS, MULT = 50, 3
# 3 x 50 ms plus the time from "packet due" to "timer ran" on a busy box.
DETECT_BUDGET_MS = 250

BFDD_CONF = f"""\
hostname bgplb-router-bfdd
log stdout debugging
log timestamp precision 3
debug bfd peer
!
bfd
 profile fast
  receive-interval {IVL_MS}
  transmit-interval {IVL_MS}
  detect-multiplier {MULT}
 !
!
"""

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(b) or os.path.exists(b) for b in
                                 ("/usr/lib/frr/bfdd", "/usr/lib/frr/bgpd", "vtysh")),
    reason="needs root and FRR (bgpd, bfdd, vtysh)")


class FrrBfd(Frr):
    """FRR with bfdd next to zebra and bgpd."""

    def __init__(self, ns, rundir, bgpd_conf, bfdd_conf=BFDD_CONF):
        super().__init__(ns, rundir, bgpd_conf)
        self.bfdd_conf = os.path.join(self.dir, "bfdd.conf")
        with open(self.bfdd_conf, "w") as f:
            f.write(bfdd_conf)
        os.chmod(self.bfdd_conf, 0o644)

    def start(self):
        d = self.dir
        for f in os.listdir(d):
            if f.endswith((".pid", ".vty")) or f == "zserv.api":
                os.unlink(os.path.join(d, f))
        zs = os.path.join(d, "zserv.api")
        common = ["-z", zs, "--vty_socket", d, "-A", "127.0.0.1", "-P", "0"]
        self._spawn(["/usr/lib/frr/zebra", "-f", self.zebra_conf, "-i", f"{d}/zebra.pid"]
                    + common, "zebra.log")
        wait_until(lambda: self._check_alive() or os.path.exists(zs), timeout=10,
                   what="zebra's zserv socket")
        self._spawn(["/usr/lib/frr/bfdd", "-f", self.bfdd_conf, "-i", f"{d}/bfdd.pid"]
                    + common, "bfdd.log")
        wait_until(lambda: self._check_alive() or os.path.exists(f"{d}/bfdd.vty"),
                   timeout=10, what="bfdd's vty socket")
        self._spawn(["/usr/lib/frr/bgpd", "-n", "-f", self.bgpd_conf, "-i", f"{d}/bgpd.pid"]
                    + common, "bgpd.log")
        wait_until(lambda: self._check_alive() or os.path.exists(f"{d}/bgpd.vty"),
                   timeout=10, what="bgpd's vty socket")
        wait_until(lambda: "BGP router identifier" in self.vtysh("show bgp summary",
                                                                 check=False),
                   timeout=10, what="FRR to load its BGP config")
        return self

    def bfd_peer(self, peer):
        out = self.vtysh("show bfd peers json", check=False)
        try:
            import json
            peers = json.loads(out) if out.strip() else []
        except ValueError:
            return {}
        for p in peers:
            if p.get("peer") == peer:
                return p
        return {}

    def has_route(self, prefix):
        return bool(self.detail(prefix).get("paths"))

    def log_times(self, name, pattern, since_ms):
        """Wall-clock ms of each line of NAME.log matching pattern, at or
        after since_ms (FRR logs local time, `YYYY/MM/DD HH:MM:SS.mmm`)."""
        out = []
        for line in self.log_text(name + ".log").splitlines():
            m = re.match(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)\.(\d{3}) ", line)
            if not m or not re.search(pattern, line):
                continue
            t = int(time.mktime(time.strptime(m.group(1), "%Y/%m/%d %H:%M:%S"))) * 1000
            t += int(m.group(2))
            if t >= since_ms:
                out.append(t)
        return out


def node_config(bfd=True):
    lines = [
        "router-id: 10.0.0.2",
        "pools:",
        "  - name: web",
        "    protocol: bgp",
        "    addresses: [198.51.100.0/28]",
        "    auto-assign: false",
        "peers:",
        "  - name: rtr",
        f"    address: {RTR4}",
        f"    asn: {ROUTER_AS}",
        f"    my-asn: {NODE_AS}",
        "    hold-time: 9s",
        "    keepalive-time: 3s",
        "    connect-time: 1s",
    ]
    if bfd:
        lines.append(f"    bfd: {{min-rx: {IVL_MS}ms, min-tx: {IVL_MS}ms, multiplier: {MULT}}}")
    lines += ["services:", "  - name: web", "    pool: web", f"    addresses: [{SVC}]"]
    return "\n".join(lines) + "\n"


def bgpd_conf(with_bfd=True):
    extra = {"log stdout informational": ["log timestamp precision 3"]}
    if with_bfd:
        # update-source fixes the BFD session's local address from the start:
        # without it FRR re-creates the BFD session (new discriminator, Down)
        # when the BGP session comes up, which flaps both once.
        extra["neighbor 10.0.0.2 peer-group NODES"] = [" neighbor 10.0.0.2 bfd profile fast",
                                                      " neighbor 10.0.0.2 update-source 10.0.0.1"]
    return render("frr-bgpd.conf", router_as=ROUTER_AS, node_as=NODE_AS, extra=extra)


class BfdLab:
    def __init__(self, tmp_path, with_bfd=True):
        self.topo = Topology(nodes=1)
        self.node = self.topo.nodes[0]
        self.r = self.topo.router_ns
        try:
            # The port to cut: the node's veth end in br0.
            out = self.r.run("ip", "-o", "link", "show", "master", "br0").stdout
            self.port = re.findall(r"^\d+: ([^:@]+)", out, re.M)[0]
            # An idle port keeps br0's carrier up when the node's is down.
            self.r.run("ip", "link", "add", "keep0", "type", "veth", "peer", "name", "keep1")
            self.r.run("ip", "link", "set", "keep1", "up")
            self.r.run("ip", "link", "set", "keep0", "master", "br0", "up")
            self.frr = FrrBfd(self.r, tmp_path / "frr", bgpd_conf(with_bfd)).start()
            cfg = tmp_path / "bgplb.yaml"
            cfg.write_text(node_config())
            self.d = Daemon(self.node.ns, cfg, tmp_path).start()
        except BaseException:
            self.close()
            raise

    def close(self):
        if getattr(self, "d", None):
            self.d.stop()
        if getattr(self, "frr", None):
            self.frr.stop()
            self.frr.cleanup()
        self.topo.delete()

    def peer(self):
        peers = self.d.json("/v1/peers")
        return peers[0] if peers else {}

    def cut(self, down=True):
        self.r.run("ip", "link", "set", self.port, "down" if down else "up")


@pytest.fixture
def lab(tmp_path):
    if not os.path.exists(BGPLBD):
        pytest.skip("bgplbd not built")
    lab = BfdLab(tmp_path)
    try:
        yield lab
    finally:
        lab.close()


def wait_all_up(lab, timeout=20):
    wait_until(lambda: lab.frr.bfd_peer(lab.node.v4).get("status") == "up", timeout=timeout,
               what=f"FRR's BFD session up; bgplbd log:\n{lab.d.log()[-3000:]}")
    wait_until(lambda: (lab.peer().get("bfd") or {}).get("state") == "Up", timeout=timeout,
               what="bgplbd's BFD session Up")
    wait_until(lambda: lab.frr.established(lab.node.v4), timeout=timeout,
               what="BGP Established")
    wait_until(lambda: lab.frr.has_route(SVC + "/32"), timeout=timeout,
               what="FRR holds our route")


def test_bfd_up_negotiated(lab):
    wait_all_up(lab)
    p = lab.frr.bfd_peer(lab.node.v4)
    # FRR runs at the negotiated 50 ms both ways (our Poll went through).
    assert p.get("transmit-interval") == IVL_MS, p
    assert p.get("remote-transmit-interval") == IVL_MS, p
    assert p.get("remote-receive-interval") == IVL_MS, p
    assert p.get("remote-detect-multiplier") == MULT, p
    b = lab.peer()["bfd"]
    assert b["state"] == "Up" and b["remote_state"] == "Up", b
    assert b["tx_interval_ms"] == IVL_MS, b
    assert b["detection_time_ms"] == IVL_MS * MULT, b
    assert b["counters"]["rx"] > 0 and b["counters"]["tx"] > 0, b
    # FRR 8.4 re-creates its BFD session (new discriminator, Down) when bgpd
    # learns the interface at Established: one flap at start, on FRR's side
    # (bgpd itself sends Cease/BFD Down).  Allow it, and no more.
    assert 1 <= b["counters"]["up_events"] <= 2, b
    m = lab.d.get("/metrics")
    assert re.search(r'^metallb_bfd_session_up\{peer="10\.0\.0\.1"\} 1$', m, re.M), m
    assert re.search(r'^metallb_bfd_control_packet_output\{peer="10\.0\.0\.1"\} [1-9]', m, re.M)
    assert re.search(r'^metallb_bfd_control_packet_input\{peer="10\.0\.0\.1"\} [1-9]', m, re.M)


def test_link_cut_detected_fast(lab):
    wait_all_up(lab)
    time.sleep(1)
    downs_before = lab.peer()["bfd"]["counters"]["down_events"]
    ups_before = lab.peer()["bfd"]["counters"]["up_events"]
    t0 = int(time.time() * 1000)
    lab.cut()
    # FRR: BFD down by timeout, and bgpd drops the neighbor (and its routes).
    wait_until(lambda: not lab.frr.has_route(SVC + "/32"), timeout=5,
               what="FRR to drop our route")
    t_bfd = lab.frr.log_times("bfdd", r"10\.0\.0\.2.*up -> down", t0)
    t_bgp = lab.frr.log_times("bgpd", r"ADJCHANGE: neighbor 10\.0\.0\.2.* Down", t0)
    assert t_bfd, lab.frr.logs()
    assert "control-expired" in lab.frr.log_text("bfdd.log")
    assert t_bfd[0] - t0 <= DETECT_BUDGET_MS, f"FRR BFD down after {t_bfd[0] - t0} ms"
    assert t_bgp, lab.frr.logs()
    assert t_bgp[0] - t0 <= DETECT_BUDGET_MS + 50, f"FRR BGP down after {t_bgp[0] - t0} ms"
    print(f"cut -> FRR BFD down {t_bfd[0] - t0} ms, BGP neighbor down {t_bgp[0] - t0} ms")

    # Our side: BFD Down (timeout), BGP torn down and kept down.
    wait_until(lambda: (lab.peer().get("bfd") or {}).get("state") == "Down", timeout=2,
               what="bgplbd's BFD Down")
    p = lab.peer()
    assert p["bfd"]["last_down_reason"] == "control detection time expired", p["bfd"]
    assert p["bfd"]["counters"]["down_events"] == downs_before + 1
    time.sleep(2)
    p = lab.peer()
    assert p["state"] != "Established", p
    m = lab.d.get("/metrics")
    assert re.search(r'^metallb_bfd_session_up\{peer="10\.0\.0\.1"\} 0$', m, re.M), m
    assert re.search(r'^metallb_bfd_session_down_events\{peer="10\.0\.0\.1"\} %d$' % (downs_before + 1),
                     m, re.M), m

    # Back: BFD first, then BGP and the route.
    lab.cut(down=False)
    wait_all_up(lab, timeout=30)
    assert lab.peer()["bfd"]["counters"]["up_events"] == ups_before + 1


def test_bgp_waits_for_bfd(tmp_path):
    """FRR runs no BFD for us: our BFD stays Down, so BGP must not come up
    even though FRR would accept it."""
    if not os.path.exists(BGPLBD):
        pytest.skip("bgplbd not built")
    lab = BfdLab(tmp_path, with_bfd=False)
    try:
        time.sleep(5)
        p = lab.peer()
        assert (p.get("bfd") or {}).get("state") in ("Down", "Init"), p
        assert p["state"] != "Established", p
        assert not lab.frr.established(lab.node.v4)
    finally:
        lab.close()
