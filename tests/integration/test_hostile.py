"""Hostile peers: bgplbd against a scripted peer (badpeer.py) that sends
malformed or unexpected messages.

Topology (routers.Topology): a router namespace with br0 10.0.0.1/24 and
10.0.0.11/24, a node namespace 10.0.0.2 running bgplbd (AS 64512) with two
eBGP peers:

    bad   10.0.0.1   AS 64501   badpeer.py --case CASE   (the case under test)
    good  10.0.0.11  AS 64502   badpeer.py --case good   (holds its session)

Each case runs against a fresh bgplbd (so the idle-hold back-off of one case
never slows the next) and checks:

  * the exact NOTIFICATION bgplbd sends, read from the socket (code,
    subcode, and the data where the RFC fixes it) -- or, for RFC 7606
    treat-as-withdraw, that no NOTIFICATION comes and the session stays up;
  * bgplbd is still healthy (/healthz);
  * /v1/peers: the bad peer's last_error holds the decoded error words;
  * the good peer stayed Established all along (same session, no flap) and
    kept its routes (prefixes_advertised unchanged, no UPDATE withdrawing).

The expected codes come from RFC 4271 (sections 4.5, 6.1-6.5), RFC 6608
(FSM error subcodes) and RFC 7606 (revised UPDATE error handling); the
table below names the section for each.
"""
import json
import os
import queue
import subprocess
import sys
import threading
import time

import pytest

from conftest import Daemon, wait_until
from routers import Topology

HERE = os.path.dirname(os.path.abspath(__file__))
BADPEER = os.path.join(HERE, "badpeer.py")

NODE_AS, BAD_AS, GOOD_AS = 64512, 64501, 64502
BAD_ADDR, GOOD_ADDR = Topology.ROUTER_V4, "10.0.0.11"
SERVICE_ADDR = "198.51.100.1"

TAW = "treat-as-withdraw"

# name, expected (code, subcode) or TAW, data (hex) where the RFC fixes it
# (None: not checked), words expected in /v1/peers last_error, reference.
CASES = [
    ("bad_marker", (1, 1), None,
     "Message Header Error / Connection Not Synchronized", "RFC 4271 6.1"),
    ("bad_length", (1, 2), "0012",
     "Message Header Error / Bad Message Length", "RFC 4271 6.1: data = the length field"),
    ("unknown_type", (1, 3), "09",
     "Message Header Error / Bad Message Type", "RFC 4271 6.1: data = the type field"),
    ("open_bad_version", (2, 1), "0004",
     "OPEN Message Error / Unsupported Version Number",
     "RFC 4271 6.2: data = largest supported version below the bid (bid 5)"),
    ("open_bad_as", (2, 2), None,
     "OPEN Message Error / Bad Peer AS", "RFC 4271 6.2"),
    ("open_bad_hold", (2, 6), None,
     "OPEN Message Error / Unacceptable Hold Time", "RFC 4271 6.2: hold time 1 or 2"),
    ("open_bad_optparam", (2, 4), None,
     "OPEN Message Error / Unsupported Optional Parameter",
     "RFC 4271 6.2: optional parameter type 1"),
    ("open_bad_id", (2, 3), None,
     "OPEN Message Error / Bad BGP Identifier", "RFC 4271 6.2, RFC 6286: identifier 0"),
    ("update_attr_list_overrun", (3, 1), None,
     "UPDATE Message Error / Malformed Attribute List",
     "RFC 4271 6.3, RFC 7606 4: Total Path Attribute Length overruns the message"),
    ("update_attr_len_overrun", (3, 1), None,
     "UPDATE Message Error / Malformed Attribute List",
     "RFC 7606 4: an attribute overruns the Total Path Attribute Length; the "
     "session has IPv6 (MP) too, so an MP_REACH_NLRI may hide in the unparsed "
     "tail: the 'more severe error' clause, session reset"),
    ("update_attr_len_overrun_v4only", TAW, None,
     "UPDATE treated as withdraw (RFC 7606): UPDATE Message Error / Malformed Attribute List",
     "RFC 7606 4: same UPDATE on an IPv4-only session (no MP capability): every "
     "NLRI is located by the Total Path Attribute Length: treat-as-withdraw"),
    ("update_dup_mp_reach", (3, 1), None,
     "UPDATE Message Error / Malformed Attribute List", "RFC 7606 3(g)"),
    ("update_bad_nlri_len", (3, 10), None,
     "UPDATE Message Error / Invalid Network Field",
     "RFC 4271 6.3, RFC 7606 5.3: IPv4 prefix length 33"),
    ("update_missing_nexthop", TAW, None,
     "UPDATE treated as withdraw (RFC 7606): UPDATE Message Error / Missing Well-known Attribute", "RFC 7606 3(d): missing NEXT_HOP with IPv4 NLRI"),
    ("update_bad_origin", TAW, None,
     "UPDATE treated as withdraw (RFC 7606): UPDATE Message Error / Invalid ORIGIN Attribute", "RFC 7606 7.1: ORIGIN value 7"),
    ("update_unknown_wellknown", (3, 2), None,
     "UPDATE Message Error / Unrecognized Well-known Attribute",
     "RFC 4271 6.3: well-known attribute type 99"),
    ("keepalive_before_open", (5, 1), None,
     "Finite State Machine Error / Unexpected Message in OpenSent",
     "RFC 4271 6.6, RFC 6608 4: KEEPALIVE in OpenSent"),
    ("hold_expiry", (4, 0), None,
     "Hold Timer Expired", "RFC 4271 6.5: peer silent, hold time 3 s"),
]


def config(services=True):
    lines = [
        f"router-id: 10.0.0.2",
        "pools:",
        "  - name: web",
        "    protocol: bgp",
        "    addresses: [198.51.100.0/28]",
        "    auto-assign: false",
        "peers:",
    ]
    for name, addr, asn in (("bad", BAD_ADDR, BAD_AS), ("good", GOOD_ADDR, GOOD_AS)):
        lines += [
            f"  - name: {name}",
            f"    address: {addr}",
            f"    asn: {asn}",
            f"    my-asn: {NODE_AS}",
            "    hold-time: 9s",
            "    keepalive-time: 3s",
            "    connect-time: 1s",
        ]
    lines += ["services:", "  - name: default/web", "    pool: web",
              f"    addresses: [{SERVICE_ADDR}]"]
    return "\n".join(lines) + "\n"


class Peer:
    """badpeer.py in the router namespace; its JSON events collected by a
    reader thread."""

    def __init__(self, ns, addr, asn, case, **opts):
        args = [sys.executable, BADPEER, "--listen", addr, "--asn", str(asn),
                "--id", addr, "--case", case]
        for k, v in opts.items():
            args += [f"--{k}"] + ([str(v)] if v != "" else [])
        self.proc = ns.popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.events = []
        self.q = queue.Queue()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"ev": "garbage", "line": line}
            self.events.append(ev)

    def wait(self, ev, timeout=10):
        def seen():
            return next((e for e in self.events if e["ev"] == ev), None)
        try:
            return wait_until(seen, timeout=timeout, interval=0.05, what=f"badpeer event {ev}")
        except AssertionError:
            raise AssertionError(f"no {ev!r} event in {timeout}s; events: {self.events}; "
                                 f"stderr: {self.stderr()}")

    def go(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def has(self, ev):
        return [e for e in self.events if e["ev"] == ev]

    def stderr(self):
        if self.proc.poll() is None:
            return "(running)"
        return self.proc.stderr.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="module")
def topo():
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    t = Topology(1)
    try:
        t.router_ns.run("ip", "addr", "add", f"{GOOD_ADDR}/24", "dev", "br0")
        yield t
    finally:
        t.delete()


def peers_by_name(d):
    return {p["name"]: p for p in d.json("/v1/peers")}


@pytest.mark.parametrize("case,expect,data,words,ref", CASES, ids=[c[0] for c in CASES])
def test_hostile_peer(topo, tmp_path, case, expect, data, words, ref):
    rns, node = topo.router_ns, topo.nodes[0]
    cfg = tmp_path / "bgplb.yaml"
    cfg.write_text(config() + f"state-file: {tmp_path}/state.json\n")
    opts = {}
    established_case = case.startswith(("update_", "bad_", "unknown_"))
    if established_case:
        opts["wait-go"] = ""
    if expect == TAW:
        opts["quiet"] = 2
    if case == "hold_expiry":
        opts["hold"] = 3
    good = Peer(rns, GOOD_ADDR, GOOD_AS, "good")
    bad = Peer(rns, BAD_ADDR, BAD_AS, case, **opts)
    d = Daemon(node.ns, cfg, tmp_path)
    try:
        good.wait("listening", 5)
        bad.wait("listening", 5)
        d.start()
        # The good peer is Established and has our route before the bad
        # peer does anything past OPEN.
        good.wait("established", 10)
        g0 = wait_until(lambda: (lambda p: p if p["state"] == "Established" and
                                 p["prefixes_advertised"] == 1 else None)(
                                     peers_by_name(d)["good"]),
                        timeout=10, what="good peer Established with 1 prefix")
        good.wait("update", 5)

        if established_case:
            bad.wait("ready", 15)
            if expect == TAW:
                # The prefix the bad UPDATE carries is in first ...
                wait_until(lambda: peers_by_name(d)["bad"]["prefixes_received"] == 1,
                           timeout=5, what="bad peer's valid announcement received")
            bad.go()
        bad.wait("sent", 15)
        if expect == TAW:
            bad.wait("quiet", 10)
            assert not bad.has("notification"), \
                f"{case}: NOTIFICATION on a treat-as-withdraw UPDATE ({ref}): {bad.events}"
            assert not bad.has("closed"), f"{case}: session closed ({ref}): {bad.events}"
            p = peers_by_name(d)["bad"]
            assert p["state"] == "Established", p
            assert words in (p["last_error"] or ""), p
            assert p["updates_treated_as_withdraw"] >= 1, p
            # ... and withdrawn by the malformed one.
            assert p["prefixes_received"] == 0, p
        else:
            n = bad.wait("notification", 15 if case == "hold_expiry" else 8)
            got = (n["code"], n["subcode"])
            assert got == expect, (f"{case}: bgplbd sent NOTIFICATION {got[0]}/{got[1]} "
                                   f"data {n['data']!r}, expected {expect[0]}/{expect[1]} "
                                   f"({ref}); events {bad.events}\n{d.log()}")
            if data is not None:
                assert n["data"] == data, (f"{case}: NOTIFICATION data {n['data']!r}, "
                                           f"expected {data!r} ({ref})")
            bad.wait("closed", 5)
            p = peers_by_name(d)["bad"]
            assert p["state"] != "Established", p
            assert p["last_error"] and p["last_error"].startswith("sent NOTIFICATION: "), p
            assert words in p["last_error"], (p["last_error"], words)

        # The daemon and the other session did not notice.
        d.wait_healthy(timeout=5)
        g1 = peers_by_name(d)["good"]
        assert g1["state"] == "Established", g1
        assert g1["flaps"] == g0["flaps"] == 0, g1
        assert g1["prefixes_advertised"] == g0["prefixes_advertised"] == 1, g1
        assert g1["uptime_s"] >= g0["uptime_s"], (g0, g1)
        assert not good.has("notification") and not good.has("closed"), good.events
        assert not good.has("reconnect"), good.events
        assert good.proc.poll() is None and bad.proc.poll() is None, (good.stderr(), bad.stderr())
    finally:
        d.stop()
        good.stop()
        bad.stop()
