"""Kubernetes mode end to end: the allocation rules of doc/kubernetes.md
("Allocation rules"), in the lab of k8slab.py (fake API server, the real
kubectl, FRR and two bgplbd nodes).

Each test is one rule a MetalLB user relies on, checked where the user sees
it: the Service's status, its Events (`kubectl describe` shows the same) and
the routes FRR holds.

    auto-assign: false        held addresses stay; only new ones obey it
    a sharing broken          the Service whose own change broke it moves
    sharing across backends   Local Services share only with the same
                              selector, and never with Cluster ones
    families                  nothing outside spec.ipFamilies
    annotation vs spec        loadBalancerIPs and spec.loadBalancerIP
                              must agree when both are set

The lab has its own ConfigMap (MetalLB's legacy form): pool "default"
(auto, with an IPv6 range too), pool "spare" (named only; switched to
auto-assign: false by the first test) and pool "manual" (auto-assign: false).
"""
import json
import os
import time

import pytest

from k8slab import K8sLab, have_tools, wait
from k8slab import ROUTER_AS, NODE_AS
from routers import Topology

NS = "alloc"
LEASE_S, RENEW_S, RETRY_S = 4.0, 3.0, 0.5
SETTLE_S = 2.5          # time for a decision that should not come


def configmap(spare_auto=True):
    return ("apiVersion: v1\n"
            "kind: ConfigMap\n"
            "metadata:\n"
            "  name: config\n"
            "  namespace: metallb-system\n"
            "data:\n"
            "  config: |\n"
            "    peers:\n"
            f"    - peer-address: {Topology.ROUTER_V4}\n"
            f"      peer-asn: {ROUTER_AS}\n"
            f"      my-asn: {NODE_AS}\n"
            "      hold-time: 9s\n"
            "    address-pools:\n"
            "    - name: default\n"
            "      protocol: bgp\n"
            "      addresses:\n"
            "      - 172.16.3.1-172.16.3.254\n"
            "      - fd00:3::/120\n"
            "    - name: spare\n"
            "      protocol: bgp\n"
            f"      auto-assign: {'true' if spare_auto else 'false'}\n"
            "      addresses:\n"
            "      - 172.16.33.1-172.16.33.10\n"
            "    - name: manual\n"
            "      protocol: bgp\n"
            "      auto-assign: false\n"
            "      addresses:\n"
            "      - 172.16.23.1-172.16.23.10\n")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    missing = have_tools()
    if missing:
        pytest.skip("missing for the Kubernetes lab: " + ", ".join(missing))
    lab = K8sLab(tmp_path_factory.mktemp("k8salloc"), nodes=2,
                 lease_ms=(int(LEASE_S * 1000), int(RENEW_S * 1000), int(RETRY_S * 1000)))
    try:
        lab.start_cluster(("metallb-system", "bgplb-system", NS), configmap())
        yield lab
    finally:
        lab.close()


@pytest.fixture(autouse=True)
def clean(lab):
    """Each test starts from an empty namespace and the first ConfigMap,
    also after a failure (a test that failed leaves nothing to the next)."""
    yield
    lab.kubectl("delete", "svc,endpointslice", "-n", NS, "--all")
    lab.apply(configmap())
    time.sleep(1.0)


def service(name, port, annotations=None, selector=None, ports=None, **spec):
    meta = {"name": name, "namespace": NS}
    if annotations:
        meta["annotations"] = annotations
    return json.dumps({
        "apiVersion": "v1", "kind": "Service", "metadata": meta,
        "spec": dict({"type": "LoadBalancer", "selector": selector or {"app": name},
                      "ports": ports or [{"name": "p", "port": port, "protocol": "TCP"}]},
                     **spec)})


def endpoints(svc, node, port):
    return json.dumps({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": f"{svc}-x1", "namespace": NS,
                     "labels": {"kubernetes.io/service-name": svc}},
        "addressType": "IPv4",
        "ports": [{"port": port, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["10.244.9.9"], "nodeName": node,
                       "conditions": {"ready": True, "serving": True}}]})


def ingress_of(lab, name, timeout=20):
    return wait(lambda: lab.ingress(NS, name) or None, timeout=timeout,
                what=f"an address for {NS}/{name}")


def reasons(lab, name):
    return [e["reason"] for e in lab.events(NS, name)]


def failed(lab, name, timeout=20):
    """The AllocationFailed messages of the Service, once there is one."""
    def get():
        msgs = [e["message"] for e in lab.events(NS, name)
                if e["reason"] == "AllocationFailed"]
        return msgs or None
    return wait(get, timeout=timeout, what=f"AllocationFailed on {NS}/{name}")


def both(lab):
    return sorted(n.addr for n in lab.nodes)


# ---------------------------------------------------------------- item 1

def test_auto_assign_false_keeps_held_addresses(lab):
    # One Service in pool "spare" (named), one pinned into "manual".
    lab.apply(service("spare-held", 80,
                      annotations={"metallb.universe.tf/address-pool": "spare"}))
    lab.apply(service("manual-held", 80, loadBalancerIP="172.16.23.5"))
    for name in ("spare-held", "manual-held"):
        lab.serve(NS, name)     # announced only with an endpoint
    spare_ip = ingress_of(lab, "spare-held")
    assert spare_ip == ["172.16.33.1"], spare_ip
    assert ingress_of(lab, "manual-held") == ["172.16.23.5"]
    for ip in ("172.16.33.1", "172.16.23.5"):
        wait(lambda: lab.frr_paths(ip) == both(lab), timeout=20,
             what=f"{ip} announced by both nodes")
    # "spare" is switched to auto-assign: false, then both Services drop
    # what pointed into their pool.
    lab.apply(configmap(spare_auto=False))
    time.sleep(SETTLE_S)
    lab.kubectl("annotate", "svc", "-n", NS, "spare-held",
                "metallb.universe.tf/address-pool-")
    lab.kubectl("patch", "svc", "-n", NS, "manual-held", "--type", "merge",
                "-p", '{"spec":{"loadBalancerIP":null}}')
    time.sleep(SETTLE_S)
    # Nothing moved: auto-assign governs new assignments only.
    got = {name: lab.ingress(NS, name) for name in ("spare-held", "manual-held")}
    assert got == {"spare-held": ["172.16.33.1"], "manual-held": ["172.16.23.5"]}, got
    for name in ("spare-held", "manual-held"):
        assert "ClearAssignment" not in reasons(lab, name), lab.events(NS, name)
    for ip in ("172.16.33.1", "172.16.23.5"):
        assert lab.frr_paths(ip) == both(lab), ip
    # A new Service never gets an address of those pools by itself.
    lab.apply(service("newcomer", 80))
    ip = ingress_of(lab, "newcomer")[0]
    assert ip.startswith("172.16.3."), ip


# ---------------------------------------------------------------- item 2

def sharing_pair(lab, old, young):
    lab.apply(service(old, 80, annotations={"metallb.universe.tf/allow-shared-ip": "web"},
                      selector={"app": "web"}))
    lab.serve(NS, old)
    ip = ingress_of(lab, old)
    time.sleep(1.1)     # creation times have a resolution of a second
    lab.apply(service(young, 443, annotations={"metallb.universe.tf/allow-shared-ip": "web"},
                      selector={"app": "web"}))
    lab.serve(NS, young)
    wait(lambda: lab.ingress(NS, young) == ip, timeout=20,
         what=f"{young} sharing {ip} with {old}")
    wait(lambda: lab.frr_paths(ip[0]) == both(lab), timeout=20, what=f"{ip} in FRR")
    return ip


def check_the_changed_one_moved(lab, old, young, ip):
    moved = wait(lambda: (lab.ingress(NS, old) or [None]) != ip and lab.ingress(NS, old)
                 or None, timeout=20, what=f"{old} moved to another address")
    assert moved != ip
    # The unchanged one kept the address, without a word.
    time.sleep(1.0)
    assert lab.ingress(NS, young) == ip
    assert "ClearAssignment" not in reasons(lab, young), lab.events(NS, young)
    assert "ClearAssignment" in reasons(lab, old), lab.events(NS, old)
    wait(lambda: lab.frr_paths(moved[0]) == both(lab), timeout=20, what=f"{moved} in FRR")
    assert lab.frr_paths(ip[0]) == both(lab)


def test_older_sharer_drops_its_key_it_moves_not_the_other(lab):
    ip = sharing_pair(lab, "a-old", "b-young")
    lab.kubectl("annotate", "svc", "-n", NS, "a-old",
                "metallb.universe.tf/allow-shared-ip-")
    check_the_changed_one_moved(lab, "a-old", "b-young", ip)


def test_older_sharers_ports_overlap_it_moves_not_the_other(lab):
    ip = sharing_pair(lab, "c-old", "d-young")
    lab.kubectl("patch", "svc", "-n", NS, "c-old", "--type", "merge", "-p",
                json.dumps({"spec": {"ports": [{"name": "p", "port": 443,
                                                "protocol": "TCP"}]}}))
    check_the_changed_one_moved(lab, "c-old", "d-young", ip)


# ---------------------------------------------------------------- item 3

def test_local_services_with_other_selectors_do_not_share(lab):
    n1, n2 = lab.nodes
    key = {"metallb.universe.tf/allow-shared-ip": "local"}
    lab.apply(service("l-a", 80, annotations=key, selector={"app": "a"},
                      externalTrafficPolicy="Local"))
    lab.apply(endpoints("l-a", n1.name, 80))
    ip = ingress_of(lab, "l-a")
    wait(lambda: lab.frr_paths(ip[0]) == [n1.addr], timeout=20,
         what=f"{ip} from {n1.name} (l-a's endpoint)")
    # Same key, other selector, asks for l-a's address: refused, and its
    # endpoint's node must not start announcing l-a's address.
    lab.apply(service("l-b", 81, selector={"app": "b"}, externalTrafficPolicy="Local",
                      annotations=dict(key, **{"metallb.universe.tf/loadBalancerIPs":
                                               ip[0]})))
    lab.apply(endpoints("l-b", n2.name, 81))
    msgs = failed(lab, "l-b")
    assert any("backends differ" in m and "Local app=a" in m and "Local app=b" in m
               for m in msgs), msgs
    assert lab.ingress(NS, "l-b") == []
    # A Cluster Service can't join it either.
    lab.apply(service("l-c", 82, annotations=dict(
        key, **{"metallb.universe.tf/loadBalancerIPs": ip[0]})))
    msgs = failed(lab, "l-c")
    assert any("backends differ" in m and "Cluster" in m for m in msgs), msgs
    assert lab.ingress(NS, "l-c") == []
    # Asking for no address in particular: another one.
    lab.apply(service("l-d", 83, annotations=key, selector={"app": "b"},
                      externalTrafficPolicy="Local"))
    other = ingress_of(lab, "l-d")
    assert other != ip, other
    # Same selector: shares.
    lab.apply(service("l-e", 84, annotations=key, selector={"app": "a"},
                      externalTrafficPolicy="Local"))
    wait(lambda: lab.ingress(NS, "l-e") == ip, timeout=20, what="l-e sharing l-a's address")
    time.sleep(1.0)
    assert lab.frr_paths(ip[0]) == [n1.addr]


# ---------------------------------------------------------------- item 8

def test_ipv6_address_for_an_ipv4_service_is_refused(lab):
    lab.apply(service("v4only", 80, ipFamilies=["IPv4"], ipFamilyPolicy="SingleStack",
                      annotations={"metallb.universe.tf/loadBalancerIPs": "fd00:3::10"}))
    msgs = failed(lab, "v4only")
    assert any("fd00:3::10 is an IPv6 address" in m and "single-stack IPv4" in m
               for m in msgs), msgs
    time.sleep(1.0)
    assert lab.ingress(NS, "v4only") == []
    # The same address for an IPv6 Service is fine.
    lab.apply(service("v6only", 80, ipFamilies=["IPv6"], ipFamilyPolicy="SingleStack",
                      annotations={"metallb.universe.tf/loadBalancerIPs": "fd00:3::10"}))
    assert ingress_of(lab, "v6only") == ["fd00:3::10"]


# ---------------------------------------------------------------- item 9

def test_annotation_and_spec_disagree_refused_naming_both(lab):
    lab.apply(service("both", 80, loadBalancerIP="172.16.3.201",
                      annotations={"metallb.universe.tf/loadBalancerIPs": "172.16.3.200"}))
    lab.serve(NS, "both")
    msgs = failed(lab, "both")
    assert any('"172.16.3.200"' in m and '"172.16.3.201"' in m
               and "loadBalancerIPs" in m and "spec.loadBalancerIP" in m
               for m in msgs), msgs
    time.sleep(1.0)
    assert lab.ingress(NS, "both") == []
    # Agreeing: fine.
    lab.kubectl("patch", "svc", "-n", NS, "both", "--type", "merge",
                "-p", '{"spec":{"loadBalancerIP":"172.16.3.200"}}')
    wait(lambda: lab.ingress(NS, "both") == ["172.16.3.200"], timeout=20,
         what="the agreed address")
    # A held address stays when they come to disagree.
    lab.kubectl("patch", "svc", "-n", NS, "both", "--type", "merge",
                "-p", '{"spec":{"loadBalancerIP":"172.16.3.202"}}')
    msgs = wait(lambda: [m for m in failed(lab, "both") if "172.16.3.202" in m] or None,
                timeout=20, what="AllocationFailed naming 172.16.3.202")
    assert '"172.16.3.200"' in msgs[0], msgs
    time.sleep(1.0)
    assert lab.ingress(NS, "both") == ["172.16.3.200"]
    wait(lambda: lab.frr_paths("172.16.3.200") == both(lab), timeout=20,
         what="172.16.3.200 still announced")
