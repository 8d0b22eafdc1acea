"""Kubernetes mode split in two roles, as deploy/bgplb.yaml runs it: two
allocators (`bgplbd --role allocator`, in namespaces of their own, no router,
no Node object) elect a leader with the Lease and write the Services'
status; two speakers (`--role speaker`, the nodes, peering with FRR) announce
what status says.  The fake API server, FRR and kubectl as in test_k8s.py
(k8slab.py, allocators=2).

The fake has no RBAC, so what each account may do is checked as data in
tests/k8s/test_deploy.py; here the fake's request log (by client address)
shows what each process actually did: a speaker never writes a Service nor
touches the Lease.
"""
import json
import signal
import subprocess
import time

import pytest

from conftest import BGPLBD
from k8slab import K8sLab, skip_without_lab, wait

PROTOPOD = "172.16.13.254"
LEASE_S, RENEW_S, RETRY_S = 4.0, 3.0, 0.5
READS = ("GET",)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    skip_without_lab()
    lab = K8sLab(tmp_path_factory.mktemp("k8sroles"), nodes=2, allocators=2,
                 lease_ms=(int(LEASE_S * 1000), int(RENEW_S * 1000), int(RETRY_S * 1000)))
    try:
        lab.start_seed()
        yield lab
    finally:
        lab.close()


def lb_service(name, port, selector=None):
    return json.dumps({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "protopod"},
        "spec": {"type": "LoadBalancer", "selector": selector or {"app": name},
                 "ports": [{"port": port, "protocol": "TCP"}]}})


def ensure_protopod(lab):
    return lab.ensure_seed_service(PROTOPOD)


def writes(reqs):
    """(method, path) of every request that is not a read."""
    return [(r["method"], r["path"]) for r in reqs if r["method"] not in READS]


def test_the_roles_are_what_they_say(lab):
    """An allocator: role allocator, no Node watch, no EndpointSlice watch,
    nothing planned, no BGP listener, no membership; a speaker: role
    speaker, every watch, never leads."""
    leader = lab.leader()
    assert leader in lab.allocators, leader
    for a in lab.allocators:
        st = a.status()
        k = st["kubernetes"]
        assert k["role"] == "allocator"
        assert set(k["synced"]) == {"services", "configmap"}, k["synced"]
        assert all(k["synced"].values()), k["synced"]
        assert k["node"]["eligible"] is False
        assert "allocator" in k["node"]["why"]
        assert st["routes_planned"] == 0
        assert not st.get("membership", {}).get("enabled")
        # The configured peers are listed, with no BGP backend behind them.
        peers = a.daemon.json("/v1/peers")
        assert peers and all(p["backend"] == "none" and p["state"] == "Idle"
                             for p in peers), peers
        # No socket on 179, no packet socket: it needs no capability, and
        # keeps none.
        ss = a.ns.run("ss", "-Hltn", check=False).stdout
        assert ":179 " not in ss, ss
        assert "capabilities: kept none" in a.daemon.log(), a.daemon.log()[-2000:]
        out = a.daemon.ctl("status").stdout
        assert "role:      allocator\n" in out, out
        if a is leader:
            assert f"leader:    {a.name} (this node)" in out, out
    for n in lab.nodes:
        k = n.k8s()
        assert k["role"] == "speaker"
        assert k["leading"] is False
        assert set(k["synced"]) == {"services", "endpointslices", "nodes", "configmap"}
        assert k["node"]["eligible"] is True
        out = n.daemon.ctl("status").stdout
        assert "role:      speaker\n" in out, out
        assert "leader:    not watched" in out, out


def test_services_get_addresses_and_both_speakers_announce(lab):
    want = ensure_protopod(lab)
    lab.apply(lb_service("web", 8080))
    lab.serve("protopod", "web")
    (ip,) = wait(lambda: lab.ingress("protopod", "web") or None, timeout=20,
                 what="an address for protopod/web")
    wait(lambda: lab.frr_paths(ip) == want, timeout=20, what=f"FRR paths for {ip}")
    ev = lab.kubectl("describe", "svc", "-n", "protopod", "web").stdout
    assert "IPAllocated" in ev and ip in ev, ev
    # FRR has sessions with the speakers only: the allocators announce nothing.
    for a in lab.allocators:
        assert not lab.frr.established(a.addr)
    # The leader posted the config's event, once per version.
    cmev = lab.events("metallb-system", "config", kind="ConfigMap")
    assert [e["reason"] for e in cmev] == ["ConfigLoaded"], cmev
    lab.kubectl("delete", "svc", "-n", "protopod", "web")
    wait(lambda: ip + "/32" not in lab.frr_prefixes(), timeout=20,
         what=f"{ip} withdrawn")


def test_speakers_never_write_services_nor_touch_the_lease(lab):
    """The fake's request log, by client: the speakers only read (list and
    watch); every Service status write and every Lease request came from an
    allocator."""
    ensure_protopod(lab)
    lab.apply(lb_service("logged", 8081))
    lab.serve("protopod", "logged")
    wait(lambda: lab.ingress("protopod", "logged") or None, timeout=20,
         what="an address for protopod/logged")
    by = {m.addr: m for m in lab.nodes + lab.allocators}
    # The daemons' requests (not the test's own, from the router namespace).
    reqs = [r for r in lab.requests() if r.get("client") in by]
    seen = {r["client"] for r in reqs}
    for n in lab.nodes:
        assert n.addr in seen, f"no request from {n.name}: is the log keyed by client?"
        mine = [r for r in reqs if r.get("client") == n.addr]
        assert writes(mine) == [], writes(mine)
        assert not [r for r in mine if "/leases" in r["path"]], "a speaker read the Lease"
    status_writes = [r for r in reqs if r["method"] == "PATCH" and
                     r["path"].endswith("/status") and "/services/" in r["path"]]
    assert status_writes, "no status write logged"
    assert {by[r["client"]].role for r in status_writes} == {"allocator"}
    lease = [r for r in reqs if "/leases" in r["path"]]
    assert lease and {by[r["client"]].role for r in lease} == {"allocator"}
    # Both allocators campaign (the follower reads the Lease too).
    assert {r["client"] for r in lease} == {a.addr for a in lab.allocators}
    # And the speakers' own counters agree.
    for n in lab.nodes:
        assert n.k8s()["status_writes"] == {"ok": 0, "conflict": 0, "failed": 0,
                                            "in_flight": 0}
    lab.kubectl("delete", "svc", "-n", "protopod", "logged")


def test_killing_the_leading_allocator_hands_over_and_nothing_moves(lab):
    want = ensure_protopod(lab)
    leader = lab.leader()
    assert leader in lab.allocators
    other = [a for a in lab.allocators if a is not leader][0]
    assert not other.leading()
    lab.apply(lb_service("kept", 7000))
    lab.serve("protopod", "kept")
    before = {"protopod": [PROTOPOD],
              "kept": wait(lambda: lab.ingress("protopod", "kept") or None, timeout=20,
                           what="an address for kept")}
    wait(lambda: lab.frr_paths(before["kept"][0]) == want, timeout=20,
         what="kept announced by both speakers")
    lease0 = lab.lease()["spec"]
    t0 = time.monotonic()
    leader.daemon.stop(signal.SIGKILL)
    # Meanwhile the speakers keep announcing: nothing is withdrawn.
    deadline = time.monotonic() + LEASE_S + 3 * RETRY_S * 2.2 + 5
    while not other.leading():
        assert time.monotonic() < deadline, f"{other.name} did not take over"
        for name, ips in before.items():
            assert lab.frr_paths(ips[0]) == want, f"{name} withdrawn during the handover"
        time.sleep(0.3)
    took = time.monotonic() - t0
    assert took <= LEASE_S + RENEW_S + 2 * RETRY_S * 2.2 + 2, took
    lease1 = lab.lease()["spec"]
    assert lease1["holderIdentity"] == other.name
    assert lease1.get("leaseTransitions", 0) == lease0.get("leaseTransitions", 0) + 1
    for name, ips in before.items():
        assert lab.ingress("protopod", name) == ips, name
    # The new leader allocates; both speakers announce it.
    lab.apply(lb_service("after", 7001))
    lab.serve("protopod", "after")
    after = wait(lambda: lab.ingress("protopod", "after") or None, timeout=20,
                 what="an address from the new leader")
    assert after not in before.values()
    wait(lambda: lab.frr_paths(after[0]) == want, timeout=20,
         what=f"{after[0]} announced by both speakers")
    # The killed allocator comes back as a follower and writes nothing.
    leader.start()
    wait(lambda: all(leader.k8s()["synced"].values()), timeout=20,
         what=f"{leader.name} synced after restart")
    time.sleep(1.0)
    assert not leader.leading()
    assert leader.k8s()["status_writes"]["ok"] == 0
    for name, ips in before.items():
        assert lab.ingress("protopod", name) == ips, name
        assert lab.frr_paths(ips[0]) == want, name
    for name in ("kept", "after"):
        lab.kubectl("delete", "svc", "-n", "protopod", name)


def test_a_speaker_restart_moves_nothing_and_writes_nothing(lab):
    """A speaker restarts (a rollout): it re-learns the addresses from status
    and announces them again; the leader is not disturbed."""
    want = ensure_protopod(lab)
    leader = lab.leader()
    n = lab.nodes[0]
    t0 = time.monotonic()
    assert n.daemon.stop() == 0
    # A speaker holds no Lease: nothing to hand over, it stops at once.
    assert time.monotonic() - t0 < 1.5
    wait(lambda: lab.frr_paths(PROTOPOD) == [lab.nodes[1].addr], timeout=20,
         what=f"{n.name} withdrawn on SIGTERM")
    n.start()
    wait(lambda: lab.frr.established(n.addr), timeout=30, what=f"FRR's session with {n.name}")
    wait(lambda: lab.frr_paths(PROTOPOD) == want, timeout=20, what="both speakers again")
    assert lab.leader() is leader
    assert lab.ingress("protopod", "protopod") == [PROTOPOD]
    assert n.k8s()["status_writes"]["ok"] == 0


def test_sigterm_on_the_leading_allocator_hands_over_fast(lab):
    """An allocator stopped by SIGTERM (a rollout) releases the Lease: the
    other takes over at its next retry, long before the lease would expire,
    and nothing moves."""
    want = ensure_protopod(lab)
    leader = lab.leader()
    other = [a for a in lab.allocators if a is not leader][0]
    t0 = time.monotonic()
    assert leader.daemon.stop(signal.SIGTERM) == 0
    wait(lambda: other.leading(), timeout=LEASE_S + 5, what=f"{other.name} leading")
    assert time.monotonic() - t0 < LEASE_S
    assert lab.lease()["spec"]["holderIdentity"] == other.name
    assert lab.ingress("protopod", "protopod") == [PROTOPOD]
    assert lab.frr_paths(PROTOPOD) == want
    leader.start()
    wait(lambda: all(leader.k8s()["synced"].values()), timeout=20, what="synced")
    assert not leader.leading()


def test_role_in_embedded_mode_is_an_error(tmp_path):
    """--role belongs to Kubernetes mode: without a kubernetes: section the
    daemon refuses to start, saying so (before it opens anything); a role
    it does not know is a usage error."""
    conf = tmp_path / "embedded.yaml"
    conf.write_text("router-id: 192.0.2.9\n")
    for role in ("allocator", "speaker"):
        r = subprocess.run([BGPLBD, "--config", str(conf), "--node", "n1", "--role", role],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 1, r
        assert f"--role {role}: the file source has no roles" in r.stderr, r.stderr
        assert "Kubernetes mode" in r.stderr, r.stderr
    r = subprocess.run([BGPLBD, "--config", str(conf), "--role", "controller"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2, r
    assert '--role: "controller" is not allocator, speaker or both' in r.stderr, r.stderr
