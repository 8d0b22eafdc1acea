"""Kubernetes mode end to end: the fake API server, two bgplbd nodes in
namespaces and FRR (see k8slab.py), driven with the real kubectl.

The users' own files are used as they are: the seed's MetalLB ConfigMap
(switched from layer2 to bgp, with a peer) and the seed's protopod Service.

Every test runs in both topologies (the module's `lab` fixture is
parametrized): "combined", every node's daemon both allocates and speaks
(no --role), and "split", as deploy/bgplb.yaml runs it: two `--role
allocator` daemons (namespaces of their own, no Node, no BGP) elect the
leader and write status, the two nodes' daemons are `--role speaker`
(k8slab.py, allocators=2).  Where a test is about the leader it takes the
candidates of its topology (the allocators, or the nodes); where it is about
what a daemon saw or did (config state, relists, status writes) it checks
every daemon of the topology, allocators included; announcing is the
speakers', i.e. the nodes', in both.

The daemons run with a short Lease (4 s lease, 3 s renew deadline, 500 ms
retry: kubernetes.lease-duration, renew-deadline, retry-period) so that a takeover test takes seconds; the
algorithm is the same as with client-go's defaults, which test_leader.py
and the unit tests cover.
"""
import json
import os
import re
import signal
import time

import pytest

from k8slab import SEED, K8sLab, have_tools, seed_configmap_bgp, wait

PROTOPOD = "172.16.13.254"
LEASE_S, RENEW_S, RETRY_S = 4.0, 3.0, 0.5


@pytest.fixture(scope="module", params=["combined", "split"])
def lab(request, tmp_path_factory):
    """combined: two nodes, each daemon both roles; split: the same two
    nodes as speakers, and two allocators."""
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    missing = have_tools()
    if missing:
        pytest.skip("missing for the Kubernetes lab: " + ", ".join(missing))
    lab = K8sLab(tmp_path_factory.mktemp(f"k8slab-{request.param}"), nodes=2,
                 allocators=2 if request.param == "split" else 0,
                 lease_ms=(int(LEASE_S * 1000), int(RENEW_S * 1000), int(RETRY_S * 1000)))
    try:
        # Namespaces, the seed's ConfigMap (BGP), the allocators (if any)
        # and then the nodes, FRR's sessions with the nodes, a leader.
        lab.start_seed()
        yield lab
    finally:
        lab.close()


def members(lab):
    """Every daemon of the topology: the nodes, and the allocators if any."""
    return lab.nodes + lab.allocators


def candidates(lab):
    """The daemons that campaign for the Lease: the allocators in the split,
    the nodes otherwise."""
    return lab.allocators or lab.nodes


def k8s_of(node):
    return node.k8s()


def lb_service(name, port, annotations=None, **spec):
    """A LoadBalancer Service in namespace protopod, as JSON for kubectl apply."""
    meta = {"name": name, "namespace": "protopod"}
    if annotations:
        meta["annotations"] = annotations
    return json.dumps({
        "apiVersion": "v1", "kind": "Service", "metadata": meta,
        "spec": dict({"type": "LoadBalancer", "selector": {"app": name},
                      "ports": [{"port": port, "protocol": "TCP"}]}, **spec)})


def ensure_protopod(lab):
    """The seed's protopod Service exists with its address and both nodes
    announce it (the first test checks this in detail; the others start from
    it, whichever runs alone)."""
    return lab.ensure_seed_service(PROTOPOD)


def test_seed_protopod_gets_its_address_and_both_nodes_announce(lab):
    # The seed's Service, byte for byte, and an endpoint (a Pod's).
    lab.kubectl("apply", "-f", os.path.join(SEED, "protopod-service.yml"))
    lab.serve("protopod", "protopod")
    wait(lambda: lab.ingress("protopod", "protopod") == [PROTOPOD], timeout=20,
         what="status.loadBalancer.ingress of protopod/protopod")
    out = lab.kubectl("get", "svc", "-n", "protopod", "protopod").stdout
    assert PROTOPOD in out and "<pending>" not in out, out
    # Every node announces what status says: FRR has a path from each.
    want = sorted(n.addr for n in lab.nodes)
    wait(lambda: lab.frr_paths(PROTOPOD) == want, timeout=20,
         what=f"FRR paths for {PROTOPOD} from {want}")
    # The leader said so on the Service.
    ev = lab.kubectl("describe", "svc", "-n", "protopod", "protopod").stdout
    assert "IPAllocated" in ev and PROTOPOD in ev, ev
    # Every daemon agrees on the config it runs: the seed's, loaded.
    for n in members(lab):
        cm = k8s_of(n)["config_map"]
        assert cm["state"] == "loaded", cm
        assert cm["errors"] == [], cm
    cmev = lab.events("metallb-system", "config", kind="ConfigMap")
    assert any(e["reason"] == "ConfigLoaded" for e in cmev), cmev


def test_unknown_pool_shows_allocation_failed_in_describe(lab):
    ensure_protopod(lab)
    lab.apply(lb_service("typo", 80,
                         annotations={"metallb.universe.tf/address-pool": "pco"}))

    def failed():
        out = lab.kubectl("describe", "svc", "-n", "protopod", "typo").stdout
        return out if "AllocationFailed" in out else None
    out = wait(failed, timeout=20, what="AllocationFailed on protopod/typo")
    assert 'unknown pool "pco"' in out, out
    assert "Warning" in out, out
    assert lab.ingress("protopod", "typo") == []
    # The typo's Service is pending; nothing else moved.
    assert lab.ingress("protopod", "protopod") == [PROTOPOD]
    lab.kubectl("delete", "svc", "-n", "protopod", "typo")


def test_a_full_pool_names_the_pool(lab):
    ensure_protopod(lab)
    # Pool poc's last address is protopod's; ask for it a second time.
    lab.apply(lb_service("second", 81, loadBalancerIP=PROTOPOD,
                         annotations={"metallb.universe.tf/address-pool": "poc"}))

    def failed():
        evs = [e for e in lab.events("protopod", "second") if e["reason"] == "AllocationFailed"]
        return evs or None
    evs = wait(failed, timeout=20, what="AllocationFailed on protopod/second")
    assert PROTOPOD in evs[0]["message"], evs
    assert lab.ingress("protopod", "protopod") == [PROTOPOD]
    lab.kubectl("delete", "svc", "-n", "protopod", "second")


def test_delete_withdraws_from_the_router(lab):
    want = ensure_protopod(lab)
    lab.apply(lb_service("short-lived", 8080, selector={"app": "x"}))
    lab.serve("protopod", "short-lived")
    ips = wait(lambda: lab.ingress("protopod", "short-lived") or None, timeout=20,
               what="an address for short-lived")
    assert len(ips) == 1 and ips[0].startswith("172.16.3."), ips   # pool "default"
    ip = ips[0]
    wait(lambda: lab.frr_paths(ip) == want, timeout=20, what=f"FRR paths for {ip}")
    lab.kubectl("delete", "svc", "-n", "protopod", "short-lived")
    wait(lambda: ip + "/32" not in lab.frr_prefixes(), timeout=20,
         what=f"{ip} withdrawn from FRR")
    # The other service stays announced.
    assert lab.frr_paths(PROTOPOD) == want


def test_not_a_load_balancer_any_more_releases(lab):
    lab.apply(lb_service("demoted", 8081, selector={"app": "d"}))
    lab.serve("protopod", "demoted")
    ip = wait(lambda: lab.ingress("protopod", "demoted") or None, timeout=20,
              what="an address for demoted")[0]
    wait(lambda: ip + "/32" in lab.frr_prefixes(), timeout=20, what=f"{ip} in FRR")
    lab.kubectl("patch", "svc", "-n", "protopod", "demoted", "--type", "merge",
                "-p", '{"spec":{"type":"ClusterIP"}}')
    wait(lambda: lab.ingress("protopod", "demoted") == [], timeout=20,
         what="status cleared on demoted")
    wait(lambda: ip + "/32" not in lab.frr_prefixes(), timeout=20,
         what=f"{ip} withdrawn after the type change")
    out = lab.kubectl("describe", "svc", "-n", "protopod", "demoted").stdout
    assert "ClearAssignment" in out, out
    lab.kubectl("delete", "svc", "-n", "protopod", "demoted")


def test_etp_local_announces_only_from_the_node_with_an_endpoint(lab):
    n1, n2 = lab.nodes
    lab.apply(lb_service("local", 9000, externalTrafficPolicy="Local"))
    ip = wait(lambda: lab.ingress("protopod", "local") or None, timeout=20,
              what="an address for local")[0]
    # No endpoint anywhere yet: nobody announces it.
    time.sleep(1.0)
    assert ip + "/32" not in lab.frr_prefixes()
    lab.apply(json.dumps({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "local-abc12", "namespace": "protopod",
                     "labels": {"kubernetes.io/service-name": "local"}},
        "addressType": "IPv4",
        "ports": [{"port": 9000, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["10.244.1.7"], "nodeName": n1.name,
                       "conditions": {"ready": True, "serving": True}},
                      {"addresses": ["10.244.2.9"], "nodeName": n2.name,
                       "conditions": {"ready": False, "serving": False}}]}))
    wait(lambda: lab.frr_paths(ip) == [n1.addr], timeout=20,
         what=f"{ip} from {n1.name} only")
    # The endpoint moves to node 2: the announcement follows.
    lab.kubectl("patch", "endpointslice", "-n", "protopod", "local-abc12", "--type", "json",
                "-p", json.dumps([
                    {"op": "replace", "path": "/endpoints/0/conditions",
                     "value": {"ready": False, "serving": False}},
                    {"op": "replace", "path": "/endpoints/1/conditions",
                     "value": {"ready": True, "serving": True}}]))
    wait(lambda: lab.frr_paths(ip) == [n2.addr], timeout=20,
         what=f"{ip} from {n2.name} only")
    assert lab.ingress("protopod", "local") == [ip]
    lab.kubectl("delete", "svc", "-n", "protopod", "local")
    lab.kubectl("delete", "endpointslice", "-n", "protopod", "local-abc12")


def test_excluded_node_stops_announcing(lab):
    n1, n2 = lab.nodes
    want = ensure_protopod(lab)
    lab.kubectl("label", "node", n2.name,
                "node.kubernetes.io/exclude-from-external-load-balancers=true")
    wait(lambda: lab.frr_paths(PROTOPOD) == [n1.addr], timeout=20,
         what=f"{n2.name} withdrawn after the exclusion label")
    assert k8s_of(n2)["node"]["eligible"] is False
    lab.kubectl("label", "node", n2.name,
                "node.kubernetes.io/exclude-from-external-load-balancers-")
    wait(lambda: lab.frr_paths(PROTOPOD) == want, timeout=20,
         what=f"{n2.name} back after the label is removed")


def test_network_unavailable_node_stops_announcing(lab):
    n1, n2 = lab.nodes
    want = ensure_protopod(lab)
    path = f"/api/v1/nodes/{n2.name}/status"
    # The condition a CNI sets while a node's network is not ready (merge
    # patch replaces the whole conditions list, as kubectl would).
    lab.api("PATCH", path, {"status": {"conditions": [
        {"type": "Ready", "status": "True"},
        {"type": "NetworkUnavailable", "status": "True", "reason": "NoRouteCreated"}]}},
        content_type="application/merge-patch+json")
    wait(lambda: lab.frr_paths(PROTOPOD) == [n1.addr], timeout=20,
         what=f"{n2.name} withdrawn while NetworkUnavailable")
    node = k8s_of(n2)["node"]
    assert node["eligible"] is False and "NetworkUnavailable" in (node["why"] or ""), node
    out = n2.daemon.ctl("status").stdout
    assert "announce:  nothing:" in out, out
    lab.api("PATCH", path, {"status": {"conditions": [
        {"type": "Ready", "status": "True"},
        {"type": "NetworkUnavailable", "status": "False", "reason": "RouteCreated"}]}},
        content_type="application/merge-patch+json")
    wait(lambda: lab.frr_paths(PROTOPOD) == want, timeout=20,
         what=f"{n2.name} back once its network is available")


def test_status_write_conflict_is_reread_and_retried(lab):
    # The leader writes status: a node (combined) or an allocator (split).
    leader = lab.leader()
    assert leader in candidates(lab), leader
    before = k8s_of(leader)["status_writes"]
    # The next status write gets 409 Conflict (someone else changed the
    # Service since the leader read it).
    lab.fault(action="status", code=409, count=1, method="PATCH", path="/status$")
    lab.apply(lb_service("contended", 7100, selector={"app": "c"}))
    lab.serve("protopod", "contended")
    ips = wait(lambda: lab.ingress("protopod", "contended") or None, timeout=20,
               what="an address for contended despite the 409")
    after = k8s_of(leader)["status_writes"]
    assert after["conflict"] == before["conflict"] + 1, (before, after)
    assert after["ok"] >= before["ok"] + 1
    wait(lambda: ips[0] + "/32" in lab.frr_prefixes(), timeout=20, what="announced")
    lab.fault(action="clear")
    lab.kubectl("delete", "svc", "-n", "protopod", "contended")


def test_broken_configmap_keeps_everything_and_says_where(lab):
    want = ensure_protopod(lab)
    good = seed_configmap_bgp()
    bad = good.replace("    - name: poc\n", "    - name: poc\n      bogus-key: 1\n", 1)
    assert bad != good
    lab.apply(bad)

    def stale():
        evs = [e for e in lab.events("metallb-system", "config", kind="ConfigMap")
               if e["reason"] == "ConfigStale"]
        return evs or None
    evs = wait(stale, timeout=20, what="ConfigStale on metallb-system/config")
    assert "data.config:" in evs[0]["message"] and "bogus-key" in evs[0]["message"], evs
    out = lab.kubectl("describe", "configmap", "-n", "metallb-system", "config").stdout
    assert "ConfigStale" in out, out
    for n in members(lab):
        assert k8s_of(n)["config_map"]["state"] == "stale"
    # Nothing was withdrawn, nothing moved.
    time.sleep(1.0)
    assert lab.frr_paths(PROTOPOD) == want
    assert lab.ingress("protopod", "protopod") == [PROTOPOD]
    lab.apply(good)
    for n in members(lab):
        wait(lambda: k8s_of(n)["config_map"]["state"] == "loaded", timeout=20,
             what=f"{n.name} back on a loaded config")


def relists(node, resource="services"):
    """The daemon's own count of relists of a resource (/metrics)."""
    m = re.search(r'^bgplb_k8s_relists_total\{resource="%s"\} (\d+)$' % resource,
                  node.daemon.get("/metrics"), re.M)
    assert m, "bgplb_k8s_relists_total missing from /metrics"
    return int(m.group(1))


def test_410_gone_relists_and_changes_nothing(lab):
    want = ensure_protopod(lab)
    # Every daemon watches Services (the allocators too): each relists.
    before_rv = lab.service("protopod", "protopod")["metadata"]["resourceVersion"]
    before_relists = {n.name: relists(n) for n in members(lab)}
    before_writes = [k8s_of(n)["status_writes"]["ok"] for n in members(lab)]
    # What makes a real API server answer 410: etcd compacted the history
    # past the resourceVersion a watch resumes from.  No bookmarks meanwhile
    # (they would move the daemons' resourceVersions forward); one write the
    # daemons don't watch moves the server's; compact up to it; cut every
    # watch.  Each resumes from an older version and gets 410 Gone as an
    # ERROR event on a 200 stream.
    # A bookmark already on its way can still carry the new version to a
    # watch between the write and the cut (then that watch resumes validly
    # and nothing is owed a relist): the injection is repeated, never the
    # check, until every node has had its 410.
    lab.fault(action="bookmarks", interval=3600)
    for attempt in range(5):
        lab.api("POST", "/api/v1/namespaces/default/configmaps",
                {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": f"bump-{os.getpid()}-{attempt}"}, "data": {"x": "1"}})
        lab.fault(action="compact")
        lab.fault(action="close_watches", clean=False)
        end = time.time() + 8
        while time.time() < end and not all(relists(n) > before_relists[n.name]
                                            for n in members(lab)):
            time.sleep(0.1)
        if all(relists(n) > before_relists[n.name] for n in members(lab)):
            break
    for n in members(lab):
        assert relists(n) > before_relists[n.name], \
            f"{n.name} never relisted services after 410 Gone"
    lab.fault(action="bookmarks", interval=5)
    for n in members(lab):
        wait(lambda: all(k8s_of(n)["synced"].values()), timeout=30,
             what=f"{n.name} synced again")
    time.sleep(1.0)
    assert lab.frr_paths(PROTOPOD) == want
    svc = lab.service("protopod", "protopod")
    assert svc["metadata"]["resourceVersion"] == before_rv, "status was rewritten"
    assert lab.ingress("protopod", "protopod") == [PROTOPOD]
    assert [k8s_of(n)["status_writes"]["ok"] for n in members(lab)] == before_writes


def test_kill_the_leader_the_other_takes_over_and_nothing_moves(lab):
    ensure_protopod(lab)
    leader = lab.leader()
    assert leader is not None
    # The other candidate: the other node (combined) or the other allocator
    # (split; the leader is then an allocator, never a speaker).
    assert leader in candidates(lab), leader.name
    other = [n for n in candidates(lab) if n is not leader][0]
    assert not other.leading()
    before = {"protopod": lab.ingress("protopod", "protopod")}
    lab.apply(lb_service("kept", 7000, selector={"app": "k"}))
    lab.serve("protopod", "kept")
    before["kept"] = wait(lambda: lab.ingress("protopod", "kept") or None, timeout=20,
                          what="an address for kept")
    lease0 = lab.lease()["spec"]
    t0 = time.monotonic()
    leader.daemon.stop(signal.SIGKILL)
    # client-go's rule: the other candidate takes over once it has seen the
    # record unchanged for a lease duration, at its next (jittered) retry.
    wait(lambda: other.leading(), timeout=LEASE_S + 3 * RETRY_S * 2.2 + 5,
         what=f"{other.name} leading after {leader.name} was killed")
    took = time.monotonic() - t0
    assert took <= LEASE_S + RENEW_S + 2 * RETRY_S * 2.2 + 2, took
    lease1 = lab.lease()["spec"]
    assert lease1["holderIdentity"] == other.name
    assert lease1.get("leaseTransitions", 0) == lease0.get("leaseTransitions", 0) + 1
    # No address moved, and the new leader allocates new ones.
    for name, ips in before.items():
        assert lab.ingress("protopod", name) == ips, name
    lab.apply(lb_service("after", 7001, selector={"app": "a"}))
    lab.serve("protopod", "after")
    after = wait(lambda: lab.ingress("protopod", "after") or None, timeout=20,
                 what="an address from the new leader")
    assert after != before["kept"] and after != before["protopod"]
    # Announced by every speaker still running: the other node (combined;
    # the killed leader was a node) or both nodes (split; the killed leader
    # was an allocator, which announces nothing).
    alive = sorted(n.addr for n in lab.nodes if n is not leader)
    wait(lambda: lab.frr_paths(after[0]) == alive, timeout=20,
         what=f"{after[0]} announced by {alive}")
    # The killed daemon comes back as a follower and re-learns everything
    # without writing anything.
    leader.start()
    wait(lambda: all(leader.k8s()["synced"].values()), timeout=20,
         what=f"{leader.name} synced after restart")
    want = sorted(n.addr for n in lab.nodes)
    if leader in lab.nodes:
        wait(lambda: lab.frr.established(leader.addr), timeout=30,
             what=f"FRR's session with {leader.name} again")
    else:
        # An allocator never peers with the router.
        assert not lab.frr.established(leader.addr)
    wait(lambda: lab.frr_paths(PROTOPOD) == want, timeout=20,
         what="both nodes announcing again")
    assert not leader.leading()
    assert leader.k8s()["status_writes"]["ok"] == 0
    for name, ips in before.items():
        assert lab.ingress("protopod", name) == ips, name
    for name in ("kept", "after"):
        lab.kubectl("delete", "svc", "-n", "protopod", name)


def test_sigterm_releases_the_lease_for_a_fast_handover(lab):
    ensure_protopod(lab)
    leader = lab.leader()
    assert leader is not None
    assert leader in candidates(lab), leader.name
    other = [n for n in candidates(lab) if n is not leader][0]
    t0 = time.monotonic()
    leader.daemon.stop(signal.SIGTERM)
    wait(lambda: other.leading(), timeout=LEASE_S + 5, what=f"{other.name} leading")
    took = time.monotonic() - t0
    # Released, so no need to wait for the lease to expire.
    assert took < LEASE_S, took
    assert lab.ingress("protopod", "protopod") == [PROTOPOD]
    leader.start()
    wait(lambda: all(leader.k8s()["synced"].values()), timeout=20, what="synced")


def test_bgplbctl_shows_the_cluster_view(lab):
    leader = lab.leader()
    assert leader in candidates(lab), leader
    out = leader.daemon.ctl("status").stdout
    assert "kubernetes" in out.lower(), out
    assert leader.name in out, out
    assert "metallb-system/config" in out, out
    # Every daemon shows it, with its own name: the speakers too in the split.
    for m in members(lab):
        out = m.daemon.ctl("status").stdout
        assert "kubernetes" in out.lower(), out
        assert m.name in out, out
        assert "metallb-system/config" in out, out
