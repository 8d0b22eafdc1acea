"""A control-plane VIP (doc/control-plane-vip.md, examples/control-plane-vip/):
one address for the Kubernetes API across three control-plane hosts, with
no cluster at all - each host runs a stand-in API server (healthsrv.py:
GET /readyz answers "cpN ok") on port 6443 and bgplbd with the example's
config, checks made fast (interval 200ms, fall 2, rise 2) so the test is
quick.  The VIP is on each host's lo, as the doc says.

  layer 2  hosts cp1..cp3 on one bridge with a client; the client curls
           http://VIP:6443/readyz every 50ms.  Stopping the owner's API
           server moves the VIP to a healthy host (all agree, the client's
           ARP entry follows), the client keeps reaching the API: the move
           and the client's gap are measured and printed.
  BGP      the same hosts behind an FRR router (ECMP over the hosts that
           announce).  Stopping the API server of the host the router
           forwards to withdraws that host's path: measured and printed.
           FRR runs with -n (nothing in its kernel table), so the client
           beside it follows the router's choice itself: before each request
           it points the VIP at the first next hop FRR holds.

`pytest -s` shows the measured times; the bounds asserted are generous
(3 s; the configured time is fall x interval = 400ms plus failover).
"""
import os
import secrets
import signal
import subprocess
import threading
import time

import pytest

from conftest import Daemon, wait_until
from test_health import PY, HEALTHSRV, Srv, svc
from test_l2 import Lan, need, write

API = "kube-system/kube-apiserver"
BOUND = 3.0


def checks(host_ip):
    return f"""    health-check:
      http: http://{host_ip}:6443/readyz
      interval: 200ms
      timeout: 150ms
      rise: 2
      fall: 2
"""


class Client(threading.Thread):
    """curl VIP:6443/readyz every 50ms in a namespace; records (time, who)
    with who the answering host's name or None for a failure."""

    def __init__(self, ns, vip, before=None):
        super().__init__(daemon=True)
        self.ns, self.vip, self.before = ns, vip, before
        self.log = []
        self.stopped = False

    def run(self):
        while not self.stopped:
            if self.before is not None:
                self.before()
            r = self.ns.run("curl", "-s", "-m", "0.3", f"http://{self.vip}:6443/readyz",
                            check=False)
            who = r.stdout.split()[0] if r.returncode == 0 and r.stdout.strip() else None
            self.log.append((time.time(), who))
            time.sleep(0.05)

    def stop(self):
        self.stopped = True
        self.join(5)

    def first_ok_after(self, t0, exclude):
        for t, who in self.log:
            if t >= t0 and who is not None and who != exclude:
                return t
        return None

    def recovered(self, t0, first, settle):
        """When the client was answered by another host than `first` after
        t0; then `settle` seconds more of requests, and the client stops.
        Returns (that time, failures after it, requests after it)."""
        t_ok = wait_until(lambda: self.first_ok_after(t0, first), timeout=BOUND + 2,
                          interval=0.02, what="the client reaching another host")
        time.sleep(settle)
        self.stop()
        after = [w for t, w in self.log if t >= t_ok]
        return t_ok, sum(1 for w in after if w is None), len(after)


def vip_on_lo(ns, vip):
    ns.run("ip", "addr", "add", f"{vip}/32", "dev", "lo")
    ns.run("sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1",
           "net.ipv4.conf.all.arp_announce=2")


# ---- layer 2 ------------------------------------------------------------------

L2_HOSTS = {"cp1": "10.77.0.11", "cp2": "10.77.0.12", "cp3": "10.77.0.13"}
L2_VIP = "10.77.0.10"


def l2_config(name, key):
    """examples/control-plane-vip/layer2.yaml for this lab (no TLS: the
    stand-in serves plain HTTP)."""
    members = "\n".join(f"      - {{name: {n}, address: {a}:7946}}"
                        for n, a in L2_HOSTS.items())
    return f"""node: {name}
pools:
  - name: control-plane
    protocol: layer2
    addresses: [{L2_VIP}/32]
    auto-assign: false
    interfaces: [eth0]
services:
  - name: {API}
    pool: control-plane
    addresses: [{L2_VIP}]
{checks(L2_HOSTS[name])}layer2:
  interfaces: [eth0]
  membership:
    listen: {L2_HOSTS[name]}:7946
    key-file: {key}
    interval: 100ms
    dead-after: 500ms
    members:
{members}
"""


def test_layer2_vip_moves_when_the_api_server_stops(tmp_path):
    need("arping", "curl")
    lan = Lan()
    daemons, srvs, client = {}, {}, None
    try:
        key = tmp_path / "membership.key"
        write(key, secrets.token_hex(32) + "\n")
        for n, a in L2_HOSTS.items():
            ns = lan.add_node(n, a + "/24", [])
            vip_on_lo(ns, L2_VIP)
            srvs[n] = Srv(ns, tmp_path, port=6443, name=n)
            cfg = tmp_path / f"{n}.yaml"
            write(cfg, l2_config(n, key))
            daemons[n] = Daemon(ns, cfg, tmp_path, node=n)
            daemons[n].start()

        def owner():
            o = {svc(d, API)["announcing_node"] for d in daemons.values()}
            return o.pop() if len(o) == 1 and None not in o else None
        # Every API server ready first: while one is pending the others own it.
        for d in daemons.values():
            wait_until(lambda: svc(d, API)["health"]["state"] == "up", timeout=10,
                       what="the API server ready")
        first = wait_until(owner, timeout=10, what="one agreed owner")
        client = Client(lan.client, L2_VIP)
        client.start()
        wait_until(lambda: client.log and client.log[-1][1] == first, timeout=5,
                   what=f"the client reaching {first} through the VIP")

        t0 = time.time()
        srvs[first].set("down")     # the API server stops: connections refused
        second = wait_until(lambda: (owner() not in (None, first)) and owner(),
                            timeout=BOUND + 2, interval=0.02, what="a new owner")
        moved = time.time() - t0
        t_ok, fails, total = client.recovered(t0, first, 1.0)
        print(f"\nlayer 2 control-plane VIP: {first}'s API server stopped; "
              f"{second} owns {L2_VIP} after {moved:.2f}s, the client is answered "
              f"again after {t_ok - t0:.2f}s (configured: fall 2 x 200ms + "
              f"failover); then {total - fails}/{total} requests answered")
        assert moved < BOUND and t_ok - t0 < BOUND
        assert fails == 0 and total > 5
        assert all(w == second for t, w in client.log if t >= t_ok)
        h = svc(daemons[first], API)["health"]
        assert h["state"] == "down" and "connect" in h["last_failure"].lower(), h
        # Back up: it may take the VIP back (the hash decides), and every
        # host agrees again.
        srvs[first].set("ok")
        wait_until(lambda: svc(daemons[first], API)["health"]["state"] == "up",
                   timeout=5, what="the API server ready again")
        wait_until(lambda: owner() == first, timeout=5, what="the VIP back")
    finally:
        if client is not None:
            client.stop()
        for d in daemons.values():
            d.stop(signal.SIGKILL)
        for s in srvs.values():
            s.stop()
        lan.delete()


# ---- BGP ----------------------------------------------------------------------

BGP_VIP = "198.51.100.10"


def bgp_config(node):
    """examples/control-plane-vip/bgp.yaml for this lab."""
    return f"""node: cp{node.index}
router-id: {node.v4}
pools:
  - name: control-plane
    protocol: bgp
    addresses: [{BGP_VIP}/32]
    auto-assign: false
peers:
  - name: tor
    address: 10.0.0.1
    asn: 64500
    my-asn: 64512
    hold-time: 9s
    keepalive-time: 3s
    connect-time: 1s
services:
  - name: {API}
    pool: control-plane
    addresses: [{BGP_VIP}]
{checks(node.v4)}"""


def test_bgp_vip_withdrawn_when_the_api_server_stops(tmp_path):
    from test_health import frr_lab
    need("curl")
    lab = frr_lab(tmp_path, 3)
    srvs, client = {}, None
    try:
        names = {}
        for node in lab.nodes:
            name = f"cp{node.index}"
            names[node.v4] = name
            vip_on_lo(node.ns, BGP_VIP)
            srvs[name] = Srv(node.ns, tmp_path, port=6443, name=name)
            cfg = tmp_path / f"{name}.yaml"
            write(cfg, bgp_config(node))
            dm = Daemon(node.ns, cfg, tmp_path, node=name)
            lab.daemons[node.index] = dm
            dm.start()

        prefix = BGP_VIP + "/32"

        def nexthops():
            return sorted(nh for p in lab.router.routes("ipv4").get(prefix, [])
                          for nh in p.nexthops[:1])
        lab.until(lambda: len(nexthops()) == 3, timeout=30,
                  what="three paths for the VIP at FRR")
        rtr = lab.topo.router_ns

        def follow_router():
            nh = nexthops()
            if nh:
                rtr.run("ip", "route", "replace", prefix, "via", nh[0], check=False)
        client = Client(rtr, BGP_VIP, before=follow_router)
        client.start()
        first_ip = nexthops()[0]
        first = names[first_ip]
        wait_until(lambda: client.log and client.log[-1][1] == first, timeout=5,
                   what=f"the client reaching {first}")

        t0 = time.time()
        srvs[first].set("down")
        lab.until(lambda: first_ip not in nexthops() and len(nexthops()) == 2,
                  timeout=BOUND + 2, interval=0.02, what=f"{first}'s path withdrawn")
        withdrawn = time.time() - t0
        t_ok, fails, total = client.recovered(t0, first, 2.0)
        print(f"\nBGP control-plane VIP: {first}'s API server stopped; its path "
              f"withdrawn at the router after {withdrawn:.2f}s, the client "
              f"answered again after {t_ok - t0:.2f}s (configured: fall 2 x "
              f"200ms); then {total - fails}/{total} requests answered")
        assert withdrawn < BOUND and t_ok - t0 < BOUND
        assert fails == 0 and total >= 3
        # The session stayed up; the host came back when its server did.
        assert lab.router.established(first_ip)
        srvs[first].set("ok")
        lab.until(lambda: len(nexthops()) == 3, timeout=5, what="three paths again")
    finally:
        if client is not None:
            client.stop()
        for s in srvs.values():
            s.stop()
        lab.close()
