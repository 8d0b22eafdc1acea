"""Kubernetes mode end to end: what a node does when it restarts while the
cluster's ConfigMap is broken or gone (issue 13, item 5).

A running node keeps its last good configuration when the ConfigMap turns
invalid (test_k8s.py checks that).  A node that restarts meanwhile (a
rollout, a reboot, an OOM kill) must not come up with nothing: it starts
from the last good data.config it kept on disk (kubernetes.last-good-config,
by default bgplb-cluster.NODE.json next to its file), marked stale, and
announces what it announced before.  Same lab as test_k8s.py (k8slab.py).
"""
import os
import signal
import time

import pytest

from k8slab import SEED, K8sLab, have_tools, seed_configmap_bgp, wait

PROTOPOD = "172.16.13.254"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    missing = have_tools()
    if missing:
        pytest.skip("missing for the Kubernetes lab: " + ", ".join(missing))
    lab = K8sLab(tmp_path_factory.mktemp("k8sres"), nodes=2)
    try:
        lab.kubectl("create", "namespace", "metallb-system")
        lab.kubectl("create", "namespace", "bgplb-system")
        lab.kubectl("create", "namespace", "protopod")
        lab.apply(seed_configmap_bgp())
        for n in lab.nodes:
            n.start()
        for n in lab.nodes:
            wait(lambda: lab.frr.established(n.addr), timeout=30,
                 what=f"FRR's session with {n.name}")
        wait(lambda: lab.leader() is not None and lab.leader().leading(), timeout=20,
             what="a leader")
        yield lab
    finally:
        lab.close()


def announced_by_both(lab):
    lab.apply(seed_configmap_bgp())
    lab.kubectl("apply", "-f", os.path.join(SEED, "protopod-service.yml"))
    lab.serve("protopod", "protopod")   # announced only with an endpoint
    wait(lambda: lab.ingress("protopod", "protopod") == [PROTOPOD], timeout=20,
         what="protopod's address")
    want = sorted(n.addr for n in lab.nodes)
    wait(lambda: lab.frr_paths(PROTOPOD) == want, timeout=30,
         what=f"FRR paths for {PROTOPOD} from {want}")
    for n in lab.nodes:
        wait(lambda: n.k8s()["config_map"]["state"] == "loaded", timeout=20,
             what=f"{n.name} on a loaded config")
    return want


def restart(lab, node):
    """Kill the node's daemon outright (as the OOM killer does) and start it
    again; returns once it has listed everything."""
    node.daemon.stop(signal.SIGKILL)
    node.start()
    wait(lambda: all(node.k8s()["synced"].values()), timeout=30,
         what=f"{node.name} synced after the restart")


def own_session_up(node):
    """The node's own view: its one peer (the router) is Established and
    has been sent what the node announces."""
    peers = node.daemon.json("/v1/peers")
    return (len(peers) == 1 and peers[0].get("state") == "Established"
            and peers[0].get("prefixes_advertised", 0) >= 1)


def back_and_announcing(lab, victim, want):
    """The restarted node's session is up again, from its side and FRR's,
    and FRR has the address from every node, the victim included."""
    wait(lambda: own_session_up(victim), timeout=30,
         what=f"{victim.name}'s own session with the router, announcing")
    wait(lambda: lab.frr.established(victim.addr), timeout=30,
         what=f"FRR's session with {victim.name} after the restart")
    wait(lambda: lab.frr_paths(PROTOPOD) == want, timeout=30,
         what=f"FRR paths for {PROTOPOD} from {want} after the restart")


def all_stale_then_restart_one(lab):
    """Every node runs its last good config (stale); then one that does not
    lead is restarted.  Returns it."""
    for n in lab.nodes:
        wait(lambda: n.k8s()["config_map"]["state"] == "stale", timeout=20,
             what=f"{n.name} stale")
    leader = lab.leader()
    victim = [n for n in lab.nodes if n is not leader][0]
    restart(lab, victim)
    return victim


def test_restart_with_a_broken_configmap_keeps_announcing(lab):
    want = announced_by_both(lab)
    good = seed_configmap_bgp()
    good_rv = lab.nodes[0].k8s()["config_map"]["running_resource_version"]
    bad = good.replace("    - name: poc\n", "    - name: poc\n      bogus-key: 1\n", 1)
    assert bad != good
    lab.apply(bad)
    victim = all_stale_then_restart_one(lab)
    cm = victim.k8s()["config_map"]
    # It runs the last good config, and says it is stale and why.
    assert cm["state"] == "stale", cm
    assert cm["running_resource_version"] == good_rv, cm
    assert cm["from_last_good_file"] is True, cm
    assert any("bogus-key" in e for e in cm["errors"]), cm
    assert victim.status()["config"]["stale"] is True
    # Its peers are back and it announces what it announced before.
    back_and_announcing(lab, victim, want)
    assert lab.ingress("protopod", "protopod") == [PROTOPOD]
    # Fixed: loaded from the ConfigMap again, nothing moved.
    lab.apply(good)
    wait(lambda: victim.k8s()["config_map"]["state"] == "loaded", timeout=20,
         what=f"{victim.name} loaded again")
    assert victim.k8s()["config_map"]["from_last_good_file"] is False
    time.sleep(1.0)
    assert lab.frr_paths(PROTOPOD) == want


def test_restart_with_the_configmap_deleted_keeps_announcing(lab):
    want = announced_by_both(lab)
    good = seed_configmap_bgp()
    lab.kubectl("delete", "configmap", "-n", "metallb-system", "config")
    victim = all_stale_then_restart_one(lab)
    cm = victim.k8s()["config_map"]
    assert cm["state"] == "stale" and cm["present"] is False, cm
    assert cm["from_last_good_file"] is True, cm
    back_and_announcing(lab, victim, want)
    lab.apply(good)
    for n in lab.nodes:
        wait(lambda: n.k8s()["config_map"]["state"] == "loaded", timeout=20,
             what=f"{n.name} loaded again")
