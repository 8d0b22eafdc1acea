"""Semantics of the fake Kubernetes API server (tests/k8s/fakeapi.py), checked
with plain HTTP and with the real kubectl."""
import base64
import http.client
import json
import os
import socket
import ssl
import subprocess
import time
import urllib.request

import pytest

from fakeapi_fixtures import (SHARED, TOKEN, Client, api, client, kubectl,  # noqa: F401
                              read_events, tls_api)
from fakeapi import FakeAPIServer, merge_patch, strategic_merge_patch

NS = "/api/v1/namespaces/default"


def cm(name, data=None, labels=None):
    md = {"name": name}
    if labels:
        md["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": data or {"k": "v"}}


def svc(name, port=80, typ="LoadBalancer", **spec):
    s = {"type": typ, "ports": [{"name": "http", "port": port}], "selector": {"app": name}}
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": s}


# ------------------------------------------------------------ auth, discovery

def test_service_status_write_keeps_metadata_when_asked(api, client):
    """serviceStatusStrategy resets only the spec: the ip-allocated-from-pool
    annotation MetalLB writes with UpdateStatus sticks (off by default)."""
    NS = "/api/v1/namespaces/default"
    code, o, _ = client.req("POST", f"{NS}/services", svc("ann"))
    assert code == 201
    api.apply_fault({"action": "service_status_metadata", "keep": True})
    p = {"metadata": {"annotations": {"metallb.io/ip-allocated-from-pool": "poc"}},
         "spec": {"selector": {"app": "ignored"}},
         "status": {"loadBalancer": {"ingress": [{"ip": "172.16.13.1"}]}}}
    code, o2, _ = client.req("PATCH", f"{NS}/services/ann/status", p,
                             ctype="application/merge-patch+json")
    assert code == 200
    assert o2["metadata"]["annotations"] == {"metallb.io/ip-allocated-from-pool": "poc"}
    assert o2["spec"]["selector"] == o["spec"]["selector"]
    assert o2["status"]["loadBalancer"]["ingress"] == [{"ip": "172.16.13.1"}]
    assert o2["metadata"]["generation"] == o["metadata"]["generation"]
    # null removes it, as a merge patch does
    p = {"metadata": {"annotations": {"metallb.io/ip-allocated-from-pool": None}}}
    code, o3, _ = client.req("PATCH", f"{NS}/services/ann/status", p,
                             ctype="application/merge-patch+json")
    assert code == 200 and not o3["metadata"].get("annotations")
    # off again: only .status changes
    api.apply_fault({"action": "service_status_metadata", "keep": False})
    p = {"metadata": {"annotations": {"x": "y"}}}
    code, o4, _ = client.req("PATCH", f"{NS}/services/ann/status", p,
                             ctype="application/merge-patch+json")
    assert code == 200 and not o4["metadata"].get("annotations")


def test_bearer_token(api, client):
    assert client.req("GET", "/api/v1/namespaces")[0] == 200
    for tok in ("", "wrong"):
        code, body, _ = client.req("GET", "/api/v1/namespaces", token=tok or False)
        assert code == 401, tok
        assert body["kind"] == "Status" and body["reason"] == "Unauthorized"
    assert client.req("GET", "/version", token="wrong")[0] == 401


def test_anonymous_mode():
    srv = FakeAPIServer(token=TOKEN, anonymous=True).start()
    try:
        c = Client(srv, token=False)
        assert c.req("GET", "/version")[0] == 200
        code, body, _ = c.req("GET", "/api/v1/namespaces")
        assert code == 403 and body["reason"] == "Forbidden"
    finally:
        srv.stop()


def test_discovery(client):
    code, v, _ = client.req("GET", "/version")
    assert code == 200 and v["major"] == "1"
    assert client.req("GET", "/api")[1]["versions"] == ["v1"]
    groups = {g["name"]: g for g in client.req("GET", "/apis")[1]["groups"]}
    assert groups["coordination.k8s.io"]["preferredVersion"]["groupVersion"] == \
        "coordination.k8s.io/v1"
    assert "discovery.k8s.io" in groups
    core = {r["name"]: r for r in client.req("GET", "/api/v1")[1]["resources"]}
    assert core["services"]["namespaced"] and core["services"]["shortNames"] == ["svc"]
    assert not core["nodes"]["namespaced"] and not core["namespaces"]["namespaced"]
    assert core["services/status"]["verbs"] == ["get", "patch", "update"]
    assert {"configmaps", "events", "endpoints"} <= set(core)
    for gv, name in (("coordination.k8s.io/v1", "leases"),
                     ("discovery.k8s.io/v1", "endpointslices")):
        res = client.req("GET", f"/apis/{gv}")[1]["resources"]
        assert res[0]["name"] == name and res[0]["namespaced"]
    assert client.req("GET", "/api/v1/bogus")[0] == 404


# ------------------------------------------------------------ CRUD, resourceVersion

def test_create_get_conflicts(client):
    code, obj, _ = client.req("POST", f"{NS}/configmaps", cm("a"))
    assert code == 201
    md = obj["metadata"]
    assert md["uid"] and md["creationTimestamp"].endswith("Z") and int(md["resourceVersion"]) > 0
    assert obj["kind"] == "ConfigMap" and md["namespace"] == "default"
    code, st, _ = client.req("POST", f"{NS}/configmaps", cm("a"))
    assert code == 409 and st["reason"] == "AlreadyExists" and st["details"]["name"] == "a"
    code, got, _ = client.req("GET", f"{NS}/configmaps/a")
    assert code == 200 and got == obj
    code, st, _ = client.req("GET", f"{NS}/configmaps/nope")
    assert code == 404 and st["reason"] == "NotFound" and st["message"] == 'configmaps "nope" not found'
    # create with a resourceVersion set is refused, as by the real API
    bad = cm("b")
    bad["metadata"]["resourceVersion"] = "5"
    assert client.req("POST", f"{NS}/configmaps", bad)[0] == 400
    # unknown namespace
    code, st, _ = client.req("POST", "/api/v1/namespaces/nowhere/configmaps", cm("x"))
    assert code == 404 and 'namespaces "nowhere" not found' in st["message"]
    # invalid name
    code, st, _ = client.req("POST", f"{NS}/configmaps", cm("Bad_Name"))
    assert code == 422 and st["reason"] == "Invalid"


def test_update_precondition_and_global_rv(client):
    _, a, _ = client.req("POST", f"{NS}/configmaps", cm("a"))
    _, b, _ = client.req("POST", f"{NS}/configmaps", cm("b"))
    assert int(b["metadata"]["resourceVersion"]) > int(a["metadata"]["resourceVersion"])
    stale = json.loads(json.dumps(a))
    a["data"] = {"k": "v2"}
    code, a2, _ = client.req("PUT", f"{NS}/configmaps/a", a)
    assert code == 200 and a2["data"] == {"k": "v2"}
    assert int(a2["metadata"]["resourceVersion"]) > int(b["metadata"]["resourceVersion"])
    assert a2["metadata"]["uid"] == a["metadata"]["uid"]
    stale["data"] = {"k": "lost update"}
    code, st, _ = client.req("PUT", f"{NS}/configmaps/a", stale)
    assert code == 409 and st["reason"] == "Conflict"
    assert "the object has been modified" in st["message"]
    # no-op update: same resourceVersion, no event
    code, a3, _ = client.req("PUT", f"{NS}/configmaps/a", a2)
    assert code == 200 and a3["metadata"]["resourceVersion"] == a2["metadata"]["resourceVersion"]
    # unconditional update (no resourceVersion) is allowed
    del a2["metadata"]["resourceVersion"]
    a2["data"] = {"k": "v3"}
    assert client.req("PUT", f"{NS}/configmaps/a", a2)[0] == 200
    # PUT of a missing object: 404 (configmaps do not create on update)
    assert client.req("PUT", f"{NS}/configmaps/zz", cm("zz"))[0] == 404
    # name mismatch
    assert client.req("PUT", f"{NS}/configmaps/a", cm("other"))[0] == 400


def test_delete(client):
    client.req("POST", f"{NS}/configmaps", cm("a"))
    code, st, _ = client.req("DELETE", f"{NS}/configmaps/a")
    assert code == 200 and st["kind"] == "Status" and st["status"] == "Success"
    assert client.req("DELETE", f"{NS}/configmaps/a")[0] == 404
    # services return the deleted object
    client.req("POST", f"{NS}/services", svc("s"))
    code, obj, _ = client.req("DELETE", f"{NS}/services/s")
    assert code == 200 and obj["kind"] == "Service"
    # precondition on delete
    _, o, _ = client.req("POST", f"{NS}/configmaps", cm("b"))
    code, st, _ = client.req("DELETE", f"{NS}/configmaps/b",
                             {"preconditions": {"resourceVersion": "1"}})
    assert code == 409
    assert client.req("DELETE", f"{NS}/configmaps/b", {
        "preconditions": {"resourceVersion": o["metadata"]["resourceVersion"]}})[0] == 200


def test_cluster_scoped_and_namespaced_paths(client):
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "worker-1"},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.2"}]}}
    code, n, _ = client.req("POST", "/api/v1/nodes", node)
    assert code == 201 and "namespace" not in n["metadata"]
    assert n["status"]["addresses"][0]["address"] == "10.0.0.2"
    assert client.req("GET", "/api/v1/namespaces/default/nodes/worker-1")[0] == 404
    assert client.req("GET", "/api/v1/services/x")[0] == 404
    client.req("POST", "/api/v1/namespaces", {"metadata": {"name": "other"}})
    client.req("POST", "/api/v1/namespaces/other/configmaps", cm("c"))
    client.req("POST", f"{NS}/configmaps", cm("c"))
    items = client.req("GET", "/api/v1/configmaps")[1]["items"]
    assert sorted((i["metadata"]["namespace"], i["metadata"]["name"]) for i in items) == \
        [("default", "c"), ("other", "c")]
    # list items carry no kind/apiVersion, as in the real typed lists
    assert "kind" not in items[0]
    ns = client.req("GET", "/api/v1/namespaces/other")[1]
    assert ns["status"]["phase"] == "Active"
    assert ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == "other"


def test_generate_name(client):
    o = cm("")
    o["metadata"] = {"generateName": "gen-"}
    code, obj, _ = client.req("POST", f"{NS}/configmaps", o)
    assert code == 201 and obj["metadata"]["name"].startswith("gen-")
    assert len(obj["metadata"]["name"]) == 9


# ------------------------------------------------------------ services, status

def test_service_defaults_and_status_subresource(client):
    s = svc("web")
    s["status"] = {"loadBalancer": {"ingress": [{"ip": "9.9.9.9"}]}}
    code, o, _ = client.req("POST", f"{NS}/services", s)
    assert code == 201
    sp = o["spec"]
    assert sp["clusterIP"].startswith("10.96.") and sp["clusterIPs"] == [sp["clusterIP"]]
    assert sp["ports"][0]["protocol"] == "TCP" and sp["ports"][0]["targetPort"] == 80
    assert 30000 <= sp["ports"][0]["nodePort"] <= 32767
    assert o["status"] == {"loadBalancer": {}}, "status is cleared on create"
    assert o["metadata"]["generation"] == 1
    # status write: only .status changes
    upd = json.loads(json.dumps(o))
    upd["status"] = {"loadBalancer": {"ingress": [{"ip": "172.16.13.254"}]}}
    upd["spec"]["selector"] = {"app": "ignored"}
    upd["metadata"]["labels"] = {"ignored": "yes"}
    code, o2, _ = client.req("PUT", f"{NS}/services/web/status", upd)
    assert code == 200
    assert o2["status"]["loadBalancer"]["ingress"] == [{"ip": "172.16.13.254"}]
    assert o2["spec"]["selector"] == {"app": "web"} and "labels" not in o2["metadata"]
    assert o2["metadata"]["generation"] == 1
    # stale status write
    code, st, _ = client.req("PUT", f"{NS}/services/web/status", upd)
    assert code == 409
    # main resource write ignores .status, bumps generation on spec change
    upd = json.loads(json.dumps(o2))
    upd["status"] = {"loadBalancer": {}}
    upd["spec"]["selector"] = {"app": "changed"}
    code, o3, _ = client.req("PUT", f"{NS}/services/web", upd)
    assert code == 200 and o3["status"] == o2["status"]
    assert o3["metadata"]["generation"] == 2 and o3["spec"]["selector"] == {"app": "changed"}
    # label-only change: no generation bump
    code, o4, _ = client.req("PATCH", f"{NS}/services/web", {"metadata": {"labels": {"a": "b"}}},
                             ctype="application/merge-patch+json")
    assert o4["metadata"]["generation"] == 2 and o4["metadata"]["labels"] == {"a": "b"}
    # merge patch on /status with a resourceVersion precondition
    p = {"metadata": {"resourceVersion": o4["metadata"]["resourceVersion"]},
         "status": {"loadBalancer": {"ingress": [{"ip": "172.16.13.1"}]}}}
    code, o5, _ = client.req("PATCH", f"{NS}/services/web/status", p,
                             ctype="application/merge-patch+json")
    assert code == 200 and o5["status"]["loadBalancer"]["ingress"][0]["ip"] == "172.16.13.1"
    code, st, _ = client.req("PATCH", f"{NS}/services/web/status", p,
                             ctype="application/merge-patch+json")
    assert code == 409 and st["reason"] == "Conflict"
    # invalid status
    code, st, _ = client.req("PATCH", f"{NS}/services/web/status",
                             {"status": {"loadBalancer": {"ingress": [{"ip": "nope"}]}}},
                             ctype="application/merge-patch+json")
    assert code == 422
    # the clusterIP is immutable; an update leaving it out keeps it
    upd = json.loads(json.dumps(o5))
    del upd["spec"]["clusterIP"], upd["spec"]["clusterIPs"], upd["metadata"]["resourceVersion"]
    code, o6, _ = client.req("PUT", f"{NS}/services/web", upd)
    assert code == 200 and o6["spec"]["clusterIP"] == o5["spec"]["clusterIP"]
    assert o6["spec"]["ports"][0]["nodePort"] == o5["spec"]["ports"][0]["nodePort"]
    upd["spec"]["clusterIP"] = "10.96.200.200"
    assert client.req("PUT", f"{NS}/services/web", upd)[0] == 422
    assert client.req("POST", f"{NS}/services", {"metadata": {"name": "noports"},
                                                  "spec": {}})[0] == 422


def test_patch_types(client):
    _, o, _ = client.req("POST", f"{NS}/configmaps", cm("p", {"a": "1", "b": "2"}))
    code, o, _ = client.req("PATCH", f"{NS}/configmaps/p", {"data": {"a": None, "c": "3"}},
                            ctype="application/merge-patch+json")
    assert code == 200 and o["data"] == {"b": "2", "c": "3"}
    code, o, _ = client.req("PATCH", f"{NS}/configmaps/p",
                            [{"op": "replace", "path": "/data/b", "value": "x"},
                             {"op": "add", "path": "/metadata/labels", "value": {"l": "1"}}],
                            ctype="application/json-patch+json")
    assert code == 200 and o["data"]["b"] == "x" and o["metadata"]["labels"] == {"l": "1"}
    assert client.req("PATCH", f"{NS}/configmaps/p", {}, ctype="text/plain")[0] == 415
    assert client.req("PATCH", f"{NS}/configmaps/none", {},
                      ctype="application/merge-patch+json")[0] == 404
    # strategic merge: service ports merge by port
    s = svc("sm")
    s["spec"]["ports"] = [{"name": "http", "port": 80}, {"name": "https", "port": 443}]
    client.req("POST", f"{NS}/services", s)
    code, o, _ = client.req("PATCH", f"{NS}/services/sm",
                            {"spec": {"ports": [{"port": 443, "targetPort": 8443}]}},
                            ctype="application/strategic-merge-patch+json")
    assert code == 200
    ports = {p["port"]: p for p in o["spec"]["ports"]}
    assert ports[443]["targetPort"] == 8443 and ports[443]["name"] == "https" and 80 in ports
    code, o, _ = client.req("PATCH", f"{NS}/services/sm",
                            {"spec": {"ports": [{"port": 80, "$patch": "delete"}]}},
                            ctype="application/strategic-merge-patch+json")
    assert [p["port"] for p in o["spec"]["ports"]] == [443]


def test_patch_helpers():
    assert merge_patch({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"b": None}, "l": [2]}) == \
        {"a": {"c": 2}, "l": [2]}
    orig = {"spec": {"ports": [{"port": 80, "name": "a"}, {"port": 81, "name": "b"}],
                     "selector": {"x": "1"}}}
    p = {"$setElementOrder/ports": [{"port": 81}, {"port": 80}],
         "spec": {"selector": {"$patch": "replace", "y": "2"}}}
    out = strategic_merge_patch(orig, {"spec": dict(p.pop("spec"), **p)}, "Service")
    assert [x["port"] for x in out["spec"]["ports"]] == [81, 80]
    assert out["spec"]["selector"] == {"y": "2"}
    # lists without a merge key are replaced, as by the real SMP
    out = strategic_merge_patch({"addressType": "IPv4", "endpoints": [{"addresses": ["1"]}]},
                                {"endpoints": [{"addresses": ["2"]}]}, "EndpointSlice")
    assert out["endpoints"] == [{"addresses": ["2"]}]


# ------------------------------------------------------------ LIST

def test_list_selectors(client):
    for name, labels in (("a", {"app": "x", "tier": "fe"}), ("b", {"app": "y"}),
                         ("c", {"app": "z", "tier": "be"}), ("d", None)):
        client.req("POST", f"{NS}/configmaps", cm(name, labels=labels))

    def names(q):
        code, lst, _ = client.req("GET", f"{NS}/configmaps?{q}")
        assert code == 200, lst
        return [i["metadata"]["name"] for i in lst["items"]]

    assert names("labelSelector=app%3Dx") == ["a"]
    assert names("labelSelector=app%21%3Dx") == ["b", "c", "d"]
    assert names("labelSelector=app+in+(x,z)") == ["a", "c"]
    assert names("labelSelector=app+notin+(x,z)") == ["b", "d"]
    assert names("labelSelector=tier") == ["a", "c"]
    assert names("labelSelector=%21tier") == ["b", "d"]
    assert names("labelSelector=app%3Dz,tier%3Dbe") == ["c"]
    assert names("fieldSelector=metadata.name%3Db") == ["b"]
    assert names("fieldSelector=metadata.name%21%3Db") == ["a", "c", "d"]
    assert names("fieldSelector=metadata.namespace%3Ddefault&labelSelector=app") == \
        ["a", "b", "c"]
    code, st, _ = client.req("GET", f"{NS}/configmaps?fieldSelector=data.k%3Dv")
    assert code == 400 and "field label not supported" in st["message"]
    lst = client.req("GET", f"{NS}/configmaps")[1]
    assert lst["kind"] == "ConfigMapList" and lst["apiVersion"] == "v1"
    assert int(lst["metadata"]["resourceVersion"]) == client.srv.resource_version


def test_list_pagination_consistent_and_expiring(client):
    for i in range(7):
        client.req("POST", f"{NS}/configmaps", cm(f"c{i}"))
    code, p1, _ = client.req("GET", f"{NS}/configmaps?limit=3")
    assert [i["metadata"]["name"] for i in p1["items"]] == ["c0", "c1", "c2"]
    assert p1["metadata"]["remainingItemCount"] == 4
    rv = p1["metadata"]["resourceVersion"]
    # writes between pages do not show in the later pages (snapshot at rv)
    client.req("DELETE", f"{NS}/configmaps/c4")
    client.req("POST", f"{NS}/configmaps", cm("c5a"))
    client.req("PATCH", f"{NS}/configmaps/c3", {"data": {"k": "new"}},
               ctype="application/merge-patch+json")
    tok = p1["metadata"]["continue"]
    code, p2, _ = client.req("GET", f"{NS}/configmaps?limit=3&continue={tok}")
    assert code == 200 and p2["metadata"]["resourceVersion"] == rv
    assert [i["metadata"]["name"] for i in p2["items"]] == ["c3", "c4", "c5"]
    assert p2["items"][0]["data"] == {"k": "v"}
    code, p3, _ = client.req("GET", f"{NS}/configmaps?limit=3&continue={p2['metadata']['continue']}")
    assert [i["metadata"]["name"] for i in p3["items"]] == ["c6"]
    assert "continue" not in p3["metadata"]
    # the token expires with compaction: 410 Gone, reason Expired
    client.srv.compact()
    code, st, _ = client.req("GET", f"{NS}/configmaps?limit=3&continue={tok}")
    assert code == 410 and st["reason"] == "Expired"
    # Exact list at an old rv: 410 after compaction; too new: 504
    assert client.req("GET", f"{NS}/configmaps?resourceVersion={rv}"
                      "&resourceVersionMatch=Exact")[0] == 410
    code, st, _ = client.req("GET", f"{NS}/configmaps?resourceVersion=999999")
    assert code == 504 and st["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"


def test_list_exact_snapshot(client):
    _, a, _ = client.req("POST", f"{NS}/configmaps", cm("a"))
    rv = a["metadata"]["resourceVersion"]
    client.req("DELETE", f"{NS}/configmaps/a")
    now = client.req("GET", f"{NS}/configmaps")[1]
    assert now["items"] == []
    then = client.req("GET", f"{NS}/configmaps?resourceVersion={rv}&resourceVersionMatch=Exact")[1]
    assert [i["metadata"]["name"] for i in then["items"]] == ["a"]
    assert then["metadata"]["resourceVersion"] == rv


# ------------------------------------------------------------ WATCH

def test_watch_events_in_order(client):
    _, a, _ = client.req("POST", f"{NS}/configmaps", cm("a"))
    rv = a["metadata"]["resourceVersion"]
    client.req("POST", f"{NS}/configmaps", cm("b"))
    client.req("PATCH", f"{NS}/configmaps/a", {"data": {"k": "2"}},
               ctype="application/merge-patch+json")
    client.req("DELETE", f"{NS}/configmaps/b")
    c, r = client.watch(f"{NS}/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=5")
    assert r.status == 200 and r.getheader("Transfer-Encoding") == "chunked"
    evs = read_events(r, 3)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == \
        [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)
    assert evs[1]["object"]["kind"] == "ConfigMap" and evs[1]["object"]["data"] == {"k": "2"}
    # live events
    client.req("POST", f"{NS}/configmaps", cm("c"))
    assert read_events(r, 1)[0]["type"] == "ADDED"
    c.close()


def test_watch_too_old_is_410_event(client):
    _, a, _ = client.req("POST", f"{NS}/configmaps", cm("a"))
    client.req("POST", f"{NS}/configmaps", cm("b"))
    client.srv.compact()
    c, r = client.watch(f"{NS}/configmaps?watch=1&resourceVersion={a['metadata']['resourceVersion']}")
    assert r.status == 200
    evs = read_events(r)
    assert len(evs) == 1 and evs[0]["type"] == "ERROR"
    st = evs[0]["object"]
    assert st["kind"] == "Status" and st["code"] == 410 and st["reason"] == "Expired"
    assert r.read() == b""          # the stream ended cleanly
    c.close()


def test_watch_bounded_history():
    srv = FakeAPIServer(token=TOKEN, history_size=5).start()
    try:
        c = Client(srv)
        _, a, _ = c.req("POST", f"{NS}/configmaps", cm("a"))
        for i in range(10):
            c.req("PATCH", f"{NS}/configmaps/a", {"data": {"i": str(i)}},
                  ctype="application/merge-patch+json")
        conn, r = c.watch(f"{NS}/configmaps?watch=1&resourceVersion={a['metadata']['resourceVersion']}")
        assert read_events(r)[0]["type"] == "ERROR"
        conn.close()
        recent = srv.resource_version - 3
        conn, r = c.watch(f"{NS}/configmaps?watch=1&resourceVersion={recent}&timeoutSeconds=1")
        assert [e["type"] for e in read_events(r)] == ["MODIFIED"] * 3
        conn.close()
    finally:
        srv.stop()


def test_watch_timeout_and_bookmarks(client):
    client.req("POST", f"{NS}/configmaps", cm("a"))
    rv = client.srv.resource_version
    t0 = time.monotonic()
    c, r = client.watch(f"{NS}/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=1"
                        "&allowWatchBookmarks=true")
    evs = read_events(r)        # until the clean end
    assert 0.9 <= time.monotonic() - t0 < 3
    assert evs and all(e["type"] == "BOOKMARK" for e in evs)
    bm = evs[-1]["object"]
    assert bm["kind"] == "ConfigMap" and bm["metadata"]["resourceVersion"] == str(rv)
    c.close()
    # without allowWatchBookmarks: nothing, then the clean end
    c, r = client.watch(f"{NS}/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=1")
    assert read_events(r) == []
    c.close()
    # a bookmark's rv advances with writes to other resources too
    c, r = client.watch(f"{NS}/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=2"
                        "&allowWatchBookmarks=true")
    client.req("POST", f"{NS}/services", svc("s"))
    evs = read_events(r, until=lambda e: int(e["object"]["metadata"]["resourceVersion"]) > rv)
    assert evs[-1]["type"] == "BOOKMARK"
    assert evs[-1]["object"]["metadata"]["resourceVersion"] == str(client.srv.resource_version)
    c.close()


def test_watch_from_zero_and_initial_events(client):
    client.req("POST", f"{NS}/configmaps", cm("a"))
    client.req("POST", f"{NS}/configmaps", cm("b"))
    c, r = client.watch(f"{NS}/configmaps?watch=1&timeoutSeconds=1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in read_events(r)] == \
        [("ADDED", "a"), ("ADDED", "b")]
    c.close()
    c, r = client.watch(f"{NS}/configmaps?watch=1&sendInitialEvents=true&allowWatchBookmarks=1"
                        "&resourceVersionMatch=NotOlderThan&resourceVersion=&timeoutSeconds=1")
    evs = read_events(r, 3)
    assert [e["type"] for e in evs] == ["ADDED", "ADDED", "BOOKMARK"]
    assert evs[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    c.close()


def test_watch_selector_transitions(client):
    rv = client.srv.resource_version
    c, r = client.watch(f"{NS}/configmaps?watch=1&resourceVersion={rv}&labelSelector=app%3Dx"
                        "&timeoutSeconds=5")
    client.req("POST", f"{NS}/configmaps", cm("other"))
    client.req("POST", f"{NS}/configmaps", cm("a"))
    client.req("PATCH", f"{NS}/configmaps/a", {"metadata": {"labels": {"app": "x"}}},
               ctype="application/merge-patch+json")
    client.req("PATCH", f"{NS}/configmaps/a", {"data": {"k": "2"}},
               ctype="application/merge-patch+json")
    client.req("PATCH", f"{NS}/configmaps/a", {"metadata": {"labels": None}},
               ctype="application/merge-patch+json")
    evs = read_events(r, 3)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == \
        [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
    c.close()
    # field selector on a name (how clients watch one object)
    rv = client.srv.resource_version
    c, r = client.watch(f"{NS}/configmaps?watch=1&resourceVersion={rv}"
                        "&fieldSelector=metadata.name%3Dother&timeoutSeconds=5")
    client.req("DELETE", f"{NS}/configmaps/a")
    client.req("DELETE", f"{NS}/configmaps/other")
    evs = read_events(r, 1)
    assert evs[0]["type"] == "DELETED" and evs[0]["object"]["metadata"]["name"] == "other"
    c.close()


def test_watch_too_large_rv(client):
    code, st, _ = client.req("GET", f"{NS}/configmaps?watch=1&resourceVersion=99999")
    assert code == 504 and "Too large resource version" in st["message"]


# ------------------------------------------------------------ faults

def test_fault_429_retry_after_and_500(client):
    client.srv.inject_status(429, count=2, retry_after=3)
    for _ in range(2):
        code, st, r = client.req("GET", f"{NS}/configmaps")
        assert code == 429 and r.getheader("Retry-After") == "3"
        assert st["reason"] == "TooManyRequests" and st["details"]["retryAfterSeconds"] == 3
    assert client.req("GET", f"{NS}/configmaps")[0] == 200
    client.srv.inject_status(500, count=1, method="POST")
    assert client.req("GET", f"{NS}/configmaps")[0] == 200
    code, st, _ = client.req("POST", f"{NS}/configmaps", cm("x"))
    assert code == 500 and st["reason"] == "InternalError"
    assert client.req("POST", f"{NS}/configmaps", cm("x"))[0] == 201


def test_fault_delay_and_close(client):
    client.srv.inject_delay(0.5, count=1, path="configmaps")
    t0 = time.monotonic()
    assert client.req("GET", f"{NS}/configmaps")[0] == 200
    assert time.monotonic() - t0 >= 0.5
    client.srv.inject_close(count=1)
    with pytest.raises((http.client.HTTPException, OSError)):
        client.req("GET", f"{NS}/configmaps")
    assert client.req("GET", f"{NS}/configmaps")[0] == 200


def test_fault_close_watches(client):
    rv = client.srv.resource_version
    c, r = client.watch(f"{NS}/configmaps?watch=1&resourceVersion={rv}")
    client.req("POST", f"{NS}/configmaps", cm("a"))
    assert read_events(r, 1)[0]["type"] == "ADDED"
    assert client.srv.close_watches(clean=False) == 1
    with pytest.raises(Exception):         # cut mid-stream: no terminating chunk
        r.read()
    c.close()
    c, r = client.watch(f"{NS}/configmaps?watch=1&resourceVersion={rv}")
    read_events(r, 1)
    client.srv.close_watches(clean=True)
    assert read_events(r) == [] and r.read() == b""      # clean end
    c.close()


def test_fault_gone_next_watch(client):
    rv = client.srv.resource_version
    client.srv.fail_next_watches(1, mode="event")
    client.srv.fail_next_watches(1, mode="http")
    c, r = client.watch(f"{NS}/configmaps?watch=1&resourceVersion={rv}")
    evs = read_events(r)
    assert evs[0]["type"] == "ERROR" and evs[0]["object"]["code"] == 410
    c.close()
    code, st, _ = client.req("GET", f"{NS}/configmaps?watch=1&resourceVersion={rv}")
    assert code == 410 and st["reason"] == "Expired"
    c, r = client.watch(f"{NS}/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=1")
    assert r.status == 200 and read_events(r) == []
    c.close()


def raw_chunks(srv, path, want_bytes):
    """Read a watch over a raw socket; return the list of HTTP chunk payloads."""
    s = socket.create_connection((srv.host, srv.port))
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
               "Accept: application/json\r\n\r\n").encode())
    f = s.makefile("rb")
    while f.readline() not in (b"\r\n", b""):
        pass
    chunks, total = [], 0
    while total < want_bytes:
        size = int(f.readline().strip(), 16)
        if size == 0:
            break
        chunks.append(f.read(size))
        f.read(2)
        total += size
    s.close()
    return chunks


def test_fault_split_and_coalesce_chunks(client):
    rv = client.srv.resource_version
    for i in range(3):
        client.req("POST", f"{NS}/configmaps", cm(f"c{i}"))
    client.srv.set_watch_chunking(split=7, pause=0)
    chunks = raw_chunks(client.srv, f"{NS}/configmaps?watch=1&resourceVersion={rv}", 400)
    assert all(len(c) <= 7 for c in chunks) and len(chunks) > 20
    data = b"".join(chunks)
    lines = data.split(b"\n")
    evs = [json.loads(x) for x in lines[:-1]]
    assert [e["object"]["metadata"]["name"] for e in evs][:1] == ["c0"]
    # coalesce: several events in one chunk
    client.srv.set_watch_chunking(split=0, coalesce=True)
    chunks = raw_chunks(client.srv, f"{NS}/configmaps?watch=1&resourceVersion={rv}", 10)
    assert chunks[0].count(b"\n") == 3
    client.srv.set_watch_chunking()
    chunks = raw_chunks(client.srv, f"{NS}/configmaps?watch=1&resourceVersion={rv}", 10)
    assert chunks[0].count(b"\n") == 1


def test_restart_keep_and_lose_state(client):
    client.req("POST", f"{NS}/configmaps", cm("a"))
    rv = client.srv.resource_version
    port = client.srv.port
    c, r = client.watch(f"{NS}/configmaps?watch=1&resourceVersion={rv}")
    client.srv.restart(keep_state=True)
    with pytest.raises(Exception):
        r.read()
    c.close()
    assert client.srv.port == port and client.srv.resource_version == rv
    assert client.req("GET", f"{NS}/configmaps/a")[0] == 200
    client.srv.restart(keep_state=False)
    assert client.req("GET", f"{NS}/configmaps/a")[0] == 404
    assert client.srv.resource_version < rv
    assert client.req("GET", "/api/v1/namespaces/default")[0] == 200


def test_admin_endpoint(client):
    def admin(path, body=None):
        req = urllib.request.Request(client.srv.url + path, method="POST",
                                     data=json.dumps(body or {}).encode())
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    st = admin("/__fake/state")
    assert st["resourceVersion"] == client.srv.resource_version
    admin("/__fake/faults", {"action": "status", "code": 429, "count": 1, "retry_after": 1})
    assert client.req("GET", f"{NS}/configmaps")[0] == 429
    admin("/__fake/faults", {"action": "gone", "count": 1, "mode": "http"})
    assert client.req("GET", f"{NS}/configmaps?watch=1&resourceVersion=1")[0] == 410
    client.req("POST", f"{NS}/configmaps", cm("a"))
    assert admin("/__fake/faults", {"action": "compact"})["compacted"] == \
        client.srv.resource_version
    admin("/__fake/faults", {"action": "status", "code": 500, "count": None})
    assert client.req("GET", f"{NS}/configmaps")[0] == 500
    admin("/__fake/faults", {"action": "clear"})
    assert client.req("GET", f"{NS}/configmaps")[0] == 200
    reqs = admin("/__fake/requests")
    assert any(r["path"] == f"{NS}/configmaps" and r["method"] == "POST" for r in reqs)
    admin("/__fake/faults", {"action": "restart", "keep_state": True, "down_seconds": 0.2})
    time.sleep(0.6)
    assert client.req("GET", f"{NS}/configmaps/a")[0] == 200


# ------------------------------------------------------------ leases, events, TLS

def test_lease_leader_election_race(client):
    path = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "bgplb-leader"},
             "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15,
                      "acquireTime": "2025-01-01T00:00:00.000000Z",
                      "renewTime": "2025-01-01T00:00:00.000000Z", "leaseTransitions": 0}}
    code, l1, _ = client.req("POST", path, lease)
    assert code == 201
    lease["spec"]["holderIdentity"] = "b"
    assert client.req("POST", path, lease)[1]["reason"] == "AlreadyExists"
    # both candidates read the same version; the first update wins, the second conflicts
    upd_a = json.loads(json.dumps(l1))
    upd_a["spec"]["renewTime"] = "2025-01-01T00:00:02.000000Z"
    upd_b = json.loads(json.dumps(l1))
    upd_b["spec"].update(holderIdentity="b", leaseTransitions=1)
    assert client.req("PUT", f"{path}/bgplb-leader", upd_a)[0] == 200
    code, st, _ = client.req("PUT", f"{path}/bgplb-leader", upd_b)
    assert code == 409 and st["details"]["group"] == "coordination.k8s.io"
    assert client.req("GET", f"{path}/bgplb-leader")[1]["spec"]["holderIdentity"] == "a"
    bad = json.loads(json.dumps(lease))
    bad["metadata"]["name"] = "bad"
    bad["spec"]["leaseDurationSeconds"] = 0
    assert client.req("POST", path, bad)[0] == 422


def test_events_field_selectors(client):
    _, s, _ = client.req("POST", f"{NS}/services", svc("web"))
    ev = {"apiVersion": "v1", "kind": "Event",
          "metadata": {"name": "web.1", "namespace": "default"},
          "involvedObject": {"kind": "Service", "namespace": "default", "name": "web",
                             "uid": s["metadata"]["uid"], "apiVersion": "v1"},
          "reason": "IPAllocated", "message": "Assigned IP 172.16.13.254", "type": "Normal",
          "source": {"component": "bgplb-controller"}, "count": 1,
          "firstTimestamp": "2025-01-01T00:00:00Z", "lastTimestamp": "2025-01-01T00:00:00Z"}
    assert client.req("POST", f"{NS}/events", ev)[0] == 201
    q = ("fieldSelector=involvedObject.name%3Dweb,involvedObject.kind%3DService,"
         f"involvedObject.uid%3D{s['metadata']['uid']},source%3Dbgplb-controller")
    items = client.req("GET", f"{NS}/events?{q}")[1]["items"]
    assert [i["reason"] for i in items] == ["IPAllocated"]
    assert client.req("GET", f"{NS}/events?fieldSelector=reason%3DOther")[1]["items"] == []


def test_tls_and_kubeconfig(tls_api, tmp_path):
    c = Client(tls_api)
    assert c.req("GET", "/version")[0] == 200
    kc = tls_api.write_kubeconfig(str(tmp_path / "kc"))
    text = open(kc).read()
    assert f"server: https://127.0.0.1:{tls_api.port}" in text
    ca = base64.b64decode(text.split("certificate-authority-data: ")[1].split()[0])
    assert ca == open(tls_api.cert, "rb").read()
    ctx = ssl.create_default_context(cafile=tls_api.cert)
    req = urllib.request.Request(tls_api.url + "/api", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
        assert json.loads(r.read())["kind"] == "APIVersions"


# ------------------------------------------------------------ the real kubectl

def test_kubectl_configmap_crud(kubectl):
    k = kubectl
    k.run("create", "namespace", "kc-cm")                       # protobuf body
    k.run("create", "configmap", "c1", "-n", "kc-cm", "--from-literal=a=b")
    out = json.loads(k.run("get", "cm", "c1", "-n", "kc-cm", "-o", "json").stdout)
    assert out["data"] == {"a": "b"}
    k.run("patch", "cm", "c1", "-n", "kc-cm", "--type=merge", "-p", '{"data":{"c":"d"}}')
    k.run("patch", "cm", "c1", "-n", "kc-cm", "--type=json",
          "-p", '[{"op":"remove","path":"/data/a"}]')
    out = json.loads(k.run("get", "cm", "c1", "-n", "kc-cm", "-o", "json").stdout)
    assert out["data"] == {"c": "d"}
    k.run("label", "cm", "c1", "-n", "kc-cm", "x=y")
    assert k.run("get", "cm", "-n", "kc-cm", "-l", "x=y", "-o", "name").stdout.strip() == \
        "configmap/c1"
    table = k.run("get", "cm", "-n", "kc-cm").stdout
    assert table.split("\n")[0].split() == ["NAME", "DATA", "AGE"]
    k.run("delete", "cm", "c1", "-n", "kc-cm")
    p = k.run("get", "cm", "c1", "-n", "kc-cm", check=False)
    assert p.returncode != 0 and 'configmaps "c1" not found' in p.stderr


def test_kubectl_apply_seed_files(kubectl):
    k = kubectl
    cmf = os.path.join(SHARED, "seed-examples", "metallb-configMap.yml")
    svf = os.path.join(SHARED, "seed-examples", "protopod-service.yml")
    if not (os.path.exists(cmf) and os.path.exists(svf)):
        pytest.skip("seed examples not found in ../shared/seed-examples")
    k.run("create", "namespace", "metallb-system")
    k.run("create", "namespace", "protopod")
    assert "configmap/config created" in k.run("apply", "-f", cmf).stdout
    assert "service/protopod created" in k.run("apply", "-f", svf).stdout
    assert "unchanged" in k.run("apply", "-f", svf).stdout
    got = json.loads(k.run("get", "cm", "config", "-n", "metallb-system", "-o", "json").stdout)
    assert "172.16.13.1-172.16.13.254" in got["data"]["config"]
    s = json.loads(k.run("get", "svc", "protopod", "-n", "protopod", "-o", "json").stdout)
    assert s["spec"]["loadBalancerIP"] == "172.16.13.254"
    assert s["metadata"]["annotations"]["metallb.universe.tf/address-pool"] == "poc"
    # change the manifest: client-side apply computes a strategic merge patch
    text = open(svf).read().replace("targetPort: 5000", "targetPort: 5001")
    assert "configured" in k.run("apply", "-f", "-", input=text).stdout
    s2 = json.loads(k.run("get", "svc", "protopod", "-n", "protopod", "-o", "json").stdout)
    assert s2["spec"]["ports"][0]["targetPort"] == 5001
    assert s2["spec"]["clusterIP"] == s["spec"]["clusterIP"]
    assert s2["spec"]["ports"][0]["nodePort"] == s["spec"]["ports"][0]["nodePort"]
    assert s2["metadata"]["generation"] == 2
    line = k.run("get", "svc", "-n", "protopod").stdout.split("\n")[1].split()
    assert line[:4] == ["protopod", "LoadBalancer", s["spec"]["clusterIP"], "<pending>"]


def test_kubectl_service_status_watch_describe(kubectl, tls_api):
    k = kubectl
    k.need(24, "kubectl patch --subresource")
    k.run("create", "namespace", "kc-svc")
    k.run("create", "service", "loadbalancer", "lb1", "-n", "kc-svc", "--tcp=80:8080")
    w = k.popen("get", "svc", "-n", "kc-svc", "-w", "-o",
                "jsonpath={.metadata.name} {.status.loadBalancer.ingress[0].ip}{\"\\n\"}")
    try:
        time.sleep(1.0)
        k.run("patch", "svc", "lb1", "-n", "kc-svc", "--subresource=status", "--type=merge",
              "-p", '{"status":{"loadBalancer":{"ingress":[{"ip":"172.16.13.254"}]}}}')
        deadline = time.monotonic() + 10
        seen = []
        while time.monotonic() < deadline:
            line = w.stdout.readline()
            seen.append(line)
            if "172.16.13.254" in line:
                break
        assert any("lb1 172.16.13.254" in x for x in seen), seen
    finally:
        w.kill()
        w.wait()
    table = k.run("get", "svc", "lb1", "-n", "kc-svc").stdout
    assert "172.16.13.254" in table and "80:30" in table
    # a spec patch through the main resource cannot touch status
    k.run("patch", "svc", "lb1", "-n", "kc-svc", "--type=merge",
          "-p", '{"status":{"loadBalancer":{"ingress":[{"ip":"1.1.1.1"}]}}}')
    s = json.loads(k.run("get", "svc", "lb1", "-n", "kc-svc", "-o", "json").stdout)
    assert s["status"]["loadBalancer"]["ingress"] == [{"ip": "172.16.13.254"}]
    # an event about the service shows in kubectl describe
    tls_api.create("events", {
        "metadata": {"name": "lb1.abc"},
        "involvedObject": {"kind": "Service", "namespace": "kc-svc", "name": "lb1",
                           "uid": s["metadata"]["uid"], "apiVersion": "v1"},
        "reason": "IPAllocated", "message": 'Assigned IP ["172.16.13.254"]', "type": "Normal",
        "source": {"component": "bgplb-controller"}, "count": 1,
        "firstTimestamp": "2025-01-01T00:00:00Z", "lastTimestamp": "2025-01-01T00:00:00Z"},
        namespace="kc-svc")
    d = k.run("describe", "svc", "lb1", "-n", "kc-svc").stdout
    assert "LoadBalancer Ingress:" in d and "172.16.13.254" in d
    assert "IPAllocated" in d and 'Assigned IP ["172.16.13.254"]' in d and \
        "bgplb-controller" in d
    assert "lb1" in k.run("get", "events", "-n", "kc-svc").stdout
    k.run("delete", "svc", "lb1", "-n", "kc-svc")
    assert k.run("get", "svc", "-n", "kc-svc", "-o", "name").stdout.strip() == ""


def test_kubectl_create_apply_delete_json(kubectl):
    k = kubectl
    k.run("create", "namespace", "kc-misc")
    manifest = json.dumps({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                           "metadata": {"name": "l1", "namespace": "kc-misc"},
                           "spec": {"holderIdentity": "node-a", "leaseDurationSeconds": 15}})
    k.run("create", "-f", "-", input=manifest)
    assert "node-a" in k.run("get", "lease", "-n", "kc-misc").stdout
    p = k.run("create", "-f", "-", input=manifest, check=False)
    assert p.returncode != 0 and "AlreadyExists" in p.stderr
    eps = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": "web-1", "namespace": "kc-misc",
                        "labels": {"kubernetes.io/service-name": "web"}},
           "addressType": "IPv4", "endpoints": [{"addresses": ["10.1.0.5"],
                                                  "nodeName": "worker-1"}],
           "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}
    assert "created" in k.run("apply", "-f", "-", input=json.dumps(eps)).stdout
    nodes = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "worker-9"}}
    k.run("apply", "-f", "-", input=json.dumps(nodes))
    assert "worker-9" in k.run("get", "nodes", "-o", "name").stdout
    k.run("delete", "node", "worker-9")
    k.run("delete", "namespace", "kc-misc")
    p = k.run("get", "endpointslices", "-n", "kc-misc", "-o", "name", check=False)
    assert p.stdout.strip() == ""


def test_kubectl_wrong_token(kubectl, tls_api, tmp_path):
    kc = tls_api.write_kubeconfig(str(tmp_path / "bad"), token="wrong")
    p = subprocess.run([kubectl.bin, "--kubeconfig", kc, "--cache-dir", str(tmp_path / "c"),
                        "get", "svc"], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "You must be logged in to the server" in p.stderr
