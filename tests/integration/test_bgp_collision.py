"""A large start against a router that connects every second (issue 15 [scale] section 1):
no session reset, and the router's attempts while bgplbd loads are refused.

FRR (router 10.0.0.1, `timers connect 1`) runs first and keeps trying to
connect to the node; bgplbd (router-id 10.0.0.2, the higher BGP identifier)
starts with 100 000 generated services and fifteen more peers nobody answers
(every route goes to each peer's Adj-RIB-Out: the plan after the config is
read takes 1-2 s in a debug build).  bgplbd used to listen and connect
before that plan, so FRR's attempt in that time was accepted by the kernel
and waited: it met our connection in one burst (a collision: both sides
keep ours, RFC 4271 6.8, and FRR 8.4 then closes it anyway, doc/bgp.md
"Connection collisions"), or a session already up.  Now the listener opens
when the event loop runs.

The test wants exactly one session on both sides, nothing dropped, no
SYN-ACK from the node before it finished loading (a capture: FRR's attempts
in that second are refused), and the UPDATE counters to agree: bgplbd's `session_messages` and `messages` (one session: the same)
with what FRR received.  BGPLB_COLLISION_N / _EXTRA_PEERS change the size.
"""
import datetime
import os
import re
import subprocess
import time

from test_bgp import lab_factory  # noqa: F401  (the fixture: Lab per test, always closed)
from test_bgp_advanced import NodeDaemon, peer_block, start_frr
from test_bgp_polish import Capture, frr_accepted

N = int(os.environ.get("BGPLB_COLLISION_N", "100000"))


EXTRA_PEERS = int(os.environ.get("BGPLB_COLLISION_EXTRA_PEERS", "15"))


def big_config(node, n, extra_peers):
    """n services in one pool, the router as a peer and extra_peers more
    (addresses nobody has: they only make the plan, done after the config
    is read, take longer: every route goes to every peer's Adj-RIB-Out)."""
    lines = [f"router-id: {node.v4}",
             "pools:",
             "  - name: big",
             "    protocol: bgp",
             "    addresses: [10.128.0.0/12]"]
    text = "\n".join(lines) + "\n" + peer_block()
    for i in range(extra_peers):
        text += (peer_block(address=f"10.0.0.{200 + i}").replace("peers:\n", "", 1)
                 .replace("name: rtr", f"name: ghost{i}"))
    return text + "services:\n" + "".join(f"  - name: s{i}\n" for i in range(n))


def test_large_start_no_collision_reset(lab_factory):
    lab = lab_factory()
    node = lab.nodes[0]
    cap = Capture(node.ns, node.ifname, lab.tmp / "syn.pcap")
    try:
        start_frr(lab)
        time.sleep(1.5)                 # FRR's connect timer is running (refused so far)
        check_start(lab, node, cap)
    finally:
        cap.stop()


def syn_acks(cap, node):
    """Epoch times of the SYN-ACKs the node sent from port 179 (it accepted)."""
    out = subprocess.run(["tcpdump", "-r", cap.pcap, "-n", "-tt"], capture_output=True,
                         text=True).stdout
    return [float(m[1]) for m in re.finditer(
        rf"^([0-9.]+) IP {re.escape(node.v4)}\.179 > \S+ Flags \[S\.\]", out, re.M)]


def log_time(log, what):
    m = re.search(r"^(\S+)Z .*" + what, log, re.M)
    assert m, f"no {what!r} in bgplbd's log"
    return datetime.datetime.fromisoformat(m[1]).replace(
        tzinfo=datetime.timezone.utc).timestamp()


def check_start(lab, node, cap):
    d = lab.tmp / f"node{node.index}"
    d.mkdir(exist_ok=True)
    (d / "bgplb.yaml").write_text(big_config(node, N, EXTRA_PEERS))
    t0 = time.time()
    dm = NodeDaemon(node.ns, d / "bgplb.yaml", d, f"node-{node.index}")
    lab.daemons[node.index] = dm
    dm.start(wait=False)
    dm.wait_healthy(timeout=90)
    lab.until(lambda: frr_accepted(lab, node) == N, timeout=60,
              what=f"FRR to accept {N} IPv4 prefixes")
    took = time.time() - t0
    time.sleep(1.5)                     # a reset right after the routes would show now
    p = next(x for x in dm.json("/v1/peers") if x["name"] == "rtr")
    nb = lab.router.neighbor(node.v4)
    full = open(dm.log_path).read()
    log = "\n".join(line for line in full.splitlines() if " bgp: " in line)
    why = (f"bgplbd history {p['history']}\nFRR: established "
           f"{nb.get('connectionsEstablished')}, dropped {nb.get('connectionsDropped')}, "
           f"last reset {nb.get('lastResetDueTo')}\n"
           + log)
    assert p["state"] == "Established" and p["flaps"] == 0, why
    assert [h["to"] for h in p["history"]].count("Established") == 1, why
    assert nb.get("connectionsEstablished") == 1 and nb.get("connectionsDropped") == 0, why
    # FRR tried to connect while bgplbd loaded (every second, for more than a
    # second): refused, not accepted by the kernel to wait in the backlog and
    # meet our connection in one burst.  (An attempt while our connection is
    # being opened is a true collision, resolved by RFC 4271 6.8.)
    running = log_time(full, "main: bgplbd running")
    early = [t - running for t in syn_acks(cap, node) if t < running - 0.001]
    assert not early, (f"the node accepted FRR's connection {early} s before it "
                       f"finished loading\n{why}")
    # One session: the session's counters are the process's, and FRR got what we counted.
    upd = nb["messageStats"]["updatesRecv"]
    assert p["session_messages"]["sent"]["update"] == upd, (p["session_messages"], upd)
    assert p["messages"]["sent"]["update"] == upd, (p["messages"], upd)
    print(f"\n{N} services: FRR held all {took:.1f} s after the start, {upd} UPDATEs, "
          "one session")
