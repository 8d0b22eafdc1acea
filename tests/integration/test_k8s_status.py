"""Kubernetes mode end to end: what is announced follows the endpoints, and
the Service's status says what happened (issue 13, items 4, 7 and 10).

The lab of test_k8s.py (fake API server + kubectl + FRR + two bgplbd nodes,
k8slab.py), with the seed's MetalLB ConfigMap switched to BGP and one more
pool, `l2`, announced with layer 2 on the lab's bridge (10.0.0.0/24), so
that both backends are checked: BGP in FRR's RIB, layer 2 by ARP from the
router's namespace.  The fake keeps a Service's metadata on a status write,
as a real API server does (its `service_status_metadata` action).

  4   a Service with no endpoint that can serve (ready, or serving while
      terminating) is announced nowhere; it comes back with one
  7   a refused status write (403) is retried with backoff, and a Warning
      Event says what was refused
  10  metallb.io/ip-allocated-from-pool (and bgplb.io/...) is written with
      the address and follows the pool when the config moves it
"""
import json
import re
import time

import pytest

import k8slab
from k8slab import K8sLab, need_lab, seed_configmap_bgp, wait

L2_POOL = ("    - name: l2\n"
           "      protocol: layer2\n"
           "      addresses:\n"
           "      - 10.0.0.200-10.0.0.209\n")
ANN = "metallb.io/ip-allocated-from-pool"
ANN_OURS = "bgplb.io/ip-allocated-from-pool"


def configmap(pools_extra=""):
    """The seed's ConfigMap (BGP) with the l2 pool and pools_extra
    appended to its address-pools."""
    text = seed_configmap_bgp()
    assert text.endswith("\n")
    return text + L2_POOL + pools_extra


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    need_lab()
    lab = K8sLab(tmp_path_factory.mktemp("k8sstatus"), nodes=2, lease_ms=(4000, 3000, 500))
    try:
        lab.fault(action="service_status_metadata", keep=True)
        lab.bring_up(configmap(), ("metallb-system", "bgplb-system", "app"))
        yield lab
    finally:
        lab.close()


def lb_service(name, port, annotations=None, **spec):
    return k8slab.lb_service(name, port, "app", annotations, **spec)


def address_of(lab, name):
    return wait(lambda: lab.ingress("app", name) or None, timeout=20,
                what=f"an address for app/{name}")[0]


def conditions(lab, slice_name, **conds):
    """Every endpoint of the slice gets these conditions."""
    es = lab.api("GET", f"/apis/discovery.k8s.io/v1/namespaces/app/endpointslices/{slice_name}")
    ops = [{"op": "replace", "path": f"/endpoints/{i}/conditions", "value": conds}
           for i in range(len(es["endpoints"]))]
    lab.kubectl("patch", "endpointslice", "-n", "app", slice_name, "--type", "json",
                "-p", json.dumps(ops))


def arp_answers(lab, ip):
    """MAC addresses that answer ARP for ip on the lab's bridge."""
    r = lab.router_ns.run("arping", "-c", "2", "-W", "0.3", "-i", "br0", ip,
                          check=False, timeout=30)
    return sorted(set(m.lower() for m in re.findall(r"from ([0-9a-fA-F:]{17})", r.stdout)))


def announced_by(lab, name):
    """Which nodes say they announce app/name (/v1/status services)."""
    out = []
    for n in lab.nodes:
        for s in n.status().get("services", []):
            if s.get("name") == f"app/{name}" and s.get("announced"):
                out.append(n.name)
    return out


# ---- item 4: no endpoint, no announcement ---------------------------------

def test_bgp_withdrawn_without_a_serving_endpoint_and_back_with_one(lab):
    n1, n2 = lab.nodes
    both = sorted(n.addr for n in lab.nodes)
    lab.apply(lb_service("idle", 8000))
    ip = address_of(lab, "idle")
    # No EndpointSlice at all: nobody announces it (traffic would be dropped
    # on every node).  The address stays assigned.
    time.sleep(1.5)
    assert ip + "/32" not in lab.frr_prefixes(), "announced with no endpoint at all"
    assert lab.ingress("app", "idle") == [ip]
    # One ready endpoint, on node-1 only: Cluster policy, so both announce.
    es = lab.serve("app", "idle", nodes=[n1.name])
    wait(lambda: lab.frr_paths(ip) == both, timeout=20, what=f"{ip} from both nodes")
    # Not ready, not serving: withdrawn everywhere.
    conditions(lab, es, ready=False, serving=False, terminating=False)
    wait(lambda: ip + "/32" not in lab.frr_prefixes(), timeout=20,
         what=f"{ip} withdrawn: no endpoint can serve")
    # Terminating but still serving (MetalLB's EndpointCanServe): announced.
    conditions(lab, es, ready=False, serving=True, terminating=True)
    wait(lambda: lab.frr_paths(ip) == both, timeout=20,
         what=f"{ip} back: a serving endpoint counts")
    # An empty slice is no endpoint either.
    lab.serve("app", "idle", nodes=[], name=es)
    wait(lambda: ip + "/32" not in lab.frr_prefixes(), timeout=20,
         what=f"{ip} withdrawn: the slice is empty")
    # Conditions left out mean ready (the API's rule).
    lab.serve("app", "idle", nodes=[n2.name], ready=None, name=es)
    wait(lambda: lab.frr_paths(ip) == both, timeout=20,
         what=f"{ip} back: an endpoint without conditions is ready")
    lab.kubectl("delete", "endpointslice", "-n", "app", es)
    wait(lambda: ip + "/32" not in lab.frr_prefixes(), timeout=20,
         what=f"{ip} withdrawn: the slice is gone")
    assert lab.ingress("app", "idle") == [ip], "the address must not move"
    lab.kubectl("delete", "svc", "-n", "app", "idle")


def test_layer2_withdrawn_without_a_serving_endpoint_and_back_with_one(lab):
    lab.apply(lb_service("idle-l2", 8001,
                         annotations={"metallb.universe.tf/address-pool": "l2"}))
    ip = address_of(lab, "idle-l2")
    assert ip.startswith("10.0.0.20"), ip
    time.sleep(1.5)
    assert announced_by(lab, "idle-l2") == []
    assert arp_answers(lab, ip) == [], "a node answers ARP with no endpoint"
    es = lab.serve("app", "idle-l2")
    wait(lambda: len(announced_by(lab, "idle-l2")) == 1, timeout=20,
         what=f"one owner answering for {ip}")
    wait(lambda: len(arp_answers(lab, ip)) == 1, timeout=20,
         what=f"an ARP answer for {ip}")
    conditions(lab, es, ready=False, serving=False)
    wait(lambda: announced_by(lab, "idle-l2") == [], timeout=20,
         what=f"{ip} no longer answered for")
    assert arp_answers(lab, ip) == []
    lab.kubectl("delete", "svc", "-n", "app", "idle-l2")
    lab.kubectl("delete", "endpointslice", "-n", "app", es)


# ---- item 7: a refused status write is retried, and says so ----------------

def test_refused_status_write_is_retried_and_posts_a_warning(lab):
    leader = lab.leader()
    before = leader.k8s()["status_writes"]
    # As while RBAC propagates right after an install: the first status
    # writes of this Service are forbidden.
    lab.fault(action="status", code=403, count=2, method="PATCH",
              path="/namespaces/app/services/refused/status$")
    lab.apply(lb_service("refused", 8002))
    lab.serve("app", "refused")
    ip = wait(lambda: lab.ingress("app", "refused") or None, timeout=30,
              what="an address for app/refused after two 403s")[0]
    after = leader.k8s()["status_writes"]
    assert after["failed"] >= before["failed"] + 2, (before, after)
    evs = [e for e in lab.events("app", "refused") if e["reason"] == "StatusWriteRefused"]
    assert evs, lab.events("app", "refused")
    assert evs[0]["type"] == "Warning", evs
    msg = evs[0]["message"]
    assert "HTTP 403" in msg and "app/refused" in msg and ip in msg, msg
    assert "services/status" in msg and "injected error 403" in msg, msg   # the server's reason
    # Once per refusal, not once per retry.
    assert len(evs) == 1 and evs[0].get("count", 1) == 1, evs
    out = lab.kubectl("describe", "svc", "-n", "app", "refused").stdout
    assert "StatusWriteRefused" in out and "IPAllocated" in out, out
    wait(lambda: ip + "/32" in lab.frr_prefixes(), timeout=20, what=f"{ip} announced")
    lab.fault(action="clear")
    lab.kubectl("delete", "svc", "-n", "app", "refused")


# ---- item 10: ip-allocated-from-pool -----------------------------------------

def annotations(lab, name):
    return (lab.service("app", name) or {}).get("metadata", {}).get("annotations") or {}


def test_ip_allocated_from_pool_is_written_and_follows_the_pool(lab):
    lab.apply(lb_service("annotated", 8003))
    lab.serve("app", "annotated")
    ip = address_of(lab, "annotated")
    assert ip.startswith("172.16.3."), ip          # pool "default"
    wait(lambda: annotations(lab, "annotated").get(ANN) == "default", timeout=20,
         what=f"{ANN}=default")
    assert annotations(lab, "annotated").get(ANN_OURS) == "default"
    out = lab.kubectl("get", "svc", "-n", "app", "annotated", "-o",
                      "jsonpath={.metadata.annotations.metallb\\.io/ip-allocated-from-pool}"
                      ).stdout
    assert out == "default", out
    # The config moves the address into another pool, without moving it.
    last = int(ip.rsplit(".", 1)[1])
    split = (f"    - name: carved\n"
             f"      protocol: bgp\n"
             f"      addresses:\n"
             f"      - {ip}/32\n")
    moved = configmap(split).replace(
        "      - 172.16.3.1-172.16.3.254\n",
        "".join(f"      - 172.16.3.{a}-172.16.3.{b}\n" for a, b in
                ((1, last - 1), (last + 1, 254)) if a <= b), 1)
    assert moved != configmap(split)
    lab.apply(moved)
    wait(lambda: annotations(lab, "annotated").get(ANN) == "carved", timeout=20,
         what=f"{ANN} following the pool to carved")
    assert annotations(lab, "annotated").get(ANN_OURS) == "carved"
    assert lab.ingress("app", "annotated") == [ip], "the address must not move"
    lab.apply(configmap())
    wait(lambda: annotations(lab, "annotated").get(ANN) == "default", timeout=20,
         what=f"{ANN} back to default")
    # No longer a LoadBalancer: the address and the annotations go.
    lab.kubectl("patch", "svc", "-n", "app", "annotated", "--type", "merge",
                "-p", '{"spec":{"type":"ClusterIP"}}')
    wait(lambda: lab.ingress("app", "annotated") == [], timeout=20, what="status cleared")
    wait(lambda: ANN not in annotations(lab, "annotated"), timeout=20,
         what=f"{ANN} removed")
    assert ANN_OURS not in annotations(lab, "annotated")
    lab.kubectl("delete", "svc", "-n", "app", "annotated")
