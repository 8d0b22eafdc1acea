#!/usr/bin/env python3
"""fakeapi.py - a fake Kubernetes API server that keeps the real one's semantics
where a client like bgplbd depends on them (Python 3 standard library only).

Faithful: one global resourceVersion counter with an MVCC history (consistent
paginated LISTs, resourceVersionMatch=Exact), watch streams (chunked
newline-delimited JSON, bookmarks, 410 Gone as an ERROR event, timeoutSeconds,
selector transitions as ADDED/DELETED), optimistic concurrency (409 Conflict),
status subresources, merge / strategic-merge / JSON patches, Status error
bodies, bearer tokens, discovery for kubectl, Table output for kubectl get.
What is not faithful is listed in tests/k8s/README.md.

In-process use (pytest):

    srv = FakeAPIServer(token="t").start()
    srv.url, srv.write_kubeconfig(path)
    srv.inject_status(429, count=2, retry_after=1)
    srv.close_watches(); srv.fail_next_watches(); srv.compact(); srv.restart()
    srv.delay_first_list("nodes", 3.0)   # a slow first LIST, held for everyone
    srv.stop()

By hand:  python3 tests/k8s/fakeapi.py --port 0 --token X --kubeconfig out.yaml
Faults over HTTP: POST /__fake/faults {"action": ...}  (see README.md)
"""
import argparse
import base64
import bisect
import copy
import datetime
import json
import os
import random
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION_INFO = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.0-fakeapi",
    "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.0", "compiler": "gc",
    "platform": "linux/amd64",
}

# ---------------------------------------------------------------- resources

VERBS_ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


class Res:
    """One API resource as the real server describes it in discovery."""

    def __init__(self, group, version, plural, kind, namespaced, short=(), status=False,
                 generation=False, return_deleted=False, fields=(), categories=(),
                 create_on_update=False, name_rule="subdomain"):
        self.group, self.version, self.plural, self.kind = group, version, plural, kind
        self.namespaced, self.short, self.status = namespaced, list(short), status
        self.generation, self.return_deleted = generation, return_deleted
        self.fields = {"metadata.name", "metadata.namespace"} | set(fields)
        self.categories, self.create_on_update = list(categories), create_on_update
        self.name_rule = name_rule
        self.singular = kind.lower()

    @property
    def gv(self):
        return f"{self.group}/{self.version}" if self.group else self.version


RESOURCES = [
    Res("", "v1", "namespaces", "Namespace", False, ["ns"], status=True,
        fields=["status.phase"], name_rule="label"),
    Res("", "v1", "services", "Service", True, ["svc"], status=True, generation=True,
        return_deleted=True, fields=["spec.clusterIP", "spec.type"], categories=["all"],
        name_rule="label1035"),
    Res("", "v1", "endpoints", "Endpoints", True, ["ep"], create_on_update=True),
    Res("", "v1", "nodes", "Node", False, ["no"], status=True, fields=["spec.unschedulable"]),
    Res("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
    Res("", "v1", "events", "Event", True, ["ev"], create_on_update=True,
        fields=["involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                "involvedObject.uid", "involvedObject.apiVersion",
                "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                "reportingComponent", "source", "type"]),
    Res("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, [], generation=True),
    Res("coordination.k8s.io", "v1", "leases", "Lease", True, []),
    # What `kubectl apply -f deploy/` creates: stored and served generically,
    # with the real discovery, scope, defaulting and the validations a
    # manifest mistake would hit (see README).  No controllers act on them.
    Res("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
    Res("", "v1", "secrets", "Secret", True, [], fields=["type"]),
    Res("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"], status=True, generation=True,
        categories=["all"]),
    Res("apps", "v1", "deployments", "Deployment", True, ["deploy"], status=True,
        generation=True, categories=["all"]),
    Res("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, [],
        name_rule="path"),
    Res("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False,
        [], name_rule="path"),
    Res("rbac.authorization.k8s.io", "v1", "roles", "Role", True, [], name_rule="path"),
    Res("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, [],
        name_rule="path"),
]
RES_BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
GROUPS = {}
for _r in RESOURCES:
    GROUPS.setdefault(_r.group, _r.version)

# strategic-merge-patch metadata (patchMergeKey / patchStrategy from the Go
# types), by kind and field path; lists not named here are atomic (replaced).
# "*" is a merged list of primitives (a set).
SMP_KEYS_COMMON = {("metadata", "ownerReferences"): "uid", ("metadata", "finalizers"): "*"}
SMP_KEYS = {
    "Service": {("spec", "ports"): "port", ("status", "conditions"): "type"},
    "Node": {("status", "conditions"): "type", ("status", "addresses"): "type",
             ("spec", "podCIDRs"): "*"},
    "Namespace": {("status", "conditions"): "type"},
    "ServiceAccount": {("secrets",): "name"},
}
# The pod template (PodSpec in k8s.io/api/core/v1/types.go); tolerations,
# args, command and the capability lists are atomic there too.
_POD = ("spec", "template", "spec")
SMP_KEYS["DaemonSet"] = {
    _POD + ("containers",): "name", _POD + ("initContainers",): "name",
    _POD + ("volumes",): "name", _POD + ("imagePullSecrets",): "name",
    _POD + ("containers", "env"): "name", _POD + ("containers", "ports"): "containerPort",
    _POD + ("containers", "volumeMounts"): "mountPath",
    _POD + ("initContainers", "env"): "name",
    _POD + ("initContainers", "ports"): "containerPort",
    _POD + ("initContainers", "volumeMounts"): "mountPath",
    ("status", "conditions"): "type",
}
SMP_KEYS["Deployment"] = dict(SMP_KEYS["DaemonSet"])


def now_ts():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _age(ts):
    try:
        t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return "<unknown>"
    s = int((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())
    if s < 120:
        return f"{max(s, 0)}s"
    if s < 7200:
        return f"{s // 60}m"
    return f"{s // 3600}h"


# ---------------------------------------------------------------- errors

class ApiError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details, self.headers = details, headers or {}

    def status(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": self.message, "reason": self.reason, "code": self.code}
        if self.details is not None:
            st["details"] = self.details
        return st


def not_found(res, name):
    return ApiError(404, "NotFound", f'{_gr(res)} "{name}" not found',
                    {"name": name, "group": res.group, "kind": res.plural} if res.group
                    else {"name": name, "kind": res.plural})


def _gr(res):
    return f"{res.plural}.{res.group}" if res.group else res.plural


def conflict(res, name):
    return ApiError(409, "Conflict",
                    f'Operation cannot be fulfilled on {_gr(res)} "{name}": the object has been '
                    "modified; please apply your changes to the latest version and try again",
                    _details(res, name))


def _details(res, name):
    d = {"name": name, "kind": res.plural}
    if res.group:
        d["group"] = res.group
    return d


def invalid(res, name, causes):
    """causes: [(field, reason, message)]"""
    msg = "; ".join(f"{f}: {m}" for f, _, m in causes)
    d = {"name": name, "kind": res.kind,
         "causes": [{"reason": r, "message": m, "field": f} for f, r, m in causes]}
    if res.group:
        d["group"] = res.group
    return ApiError(422, "Invalid", f'{res.kind} "{name}" is invalid: {msg}', d)


def bad_request(msg):
    return ApiError(400, "BadRequest", msg)


def gone(msg):
    return ApiError(410, "Expired", msg)


# ---------------------------------------------------------------- selectors

def parse_label_selector(s):
    """Label selector syntax of k8s.io/apimachinery/pkg/labels: returns a
    list of (key, op, values) with op in = != in notin exists !exists."""
    reqs = []
    if not s:
        return reqs
    i, n = 0, len(s)
    key_re = re.compile(r"\s*(!?)\s*([A-Za-z0-9./_-]+)\s*")
    while i < n:
        m = key_re.match(s, i)
        if not m or not m.group(2):
            raise bad_request(f"unable to parse requirement: invalid label selector: {s!r}")
        neg, key = m.group(1), m.group(2)
        i = m.end()
        if neg:
            reqs.append((key, "!exists", []))
        elif i >= n or s[i] == ",":
            reqs.append((key, "exists", []))
        elif s.startswith("==", i) or s.startswith("!=", i) or s[i] == "=":
            op = "!=" if s.startswith("!=", i) else "="
            i += 1 if s[i] == "=" and not s.startswith("==", i) else 2
            m2 = re.compile(r"\s*([A-Za-z0-9._-]*)\s*").match(s, i)
            reqs.append((key, op, [m2.group(1)]))
            i = m2.end()
        else:
            m2 = re.compile(r"(in|notin)\s*\(([^)]*)\)\s*").match(s, i)
            if not m2:
                raise bad_request(f"unable to parse requirement: invalid label selector: {s!r}")
            vals = [v.strip() for v in m2.group(2).split(",") if v.strip()]
            reqs.append((key, m2.group(1), vals))
            i = m2.end()
        if i < n:
            if s[i] != ",":
                raise bad_request(f"unable to parse requirement: invalid label selector: {s!r}")
            i += 1
    return reqs


def label_match(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has, v = key in labels, labels.get(key)
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
        if op == "=" and v != vals[0]:
            return False
        if op == "!=" and has and v == vals[0]:
            return False
        if op == "in" and (not has or v not in vals):
            return False
        if op == "notin" and has and v in vals:
            return False
    return True


def parse_field_selector(res, s):
    reqs = []
    if not s:
        return reqs
    for part in s.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([^=!]+)(==|=|!=)(.*)$", part)
        if not m:
            raise bad_request(f'invalid selector: \'{s}\'; can\'t understand \'{part}\'')
        field, op, val = m.group(1).strip(), m.group(2), m.group(3).strip()
        if field not in res.fields:
            raise bad_request(f'field label not supported: {field}')
        reqs.append((field, "!=" if op == "!=" else "=", val))
    return reqs


def field_value(obj, field):
    if field == "source":
        field = "source.component"
    cur = obj
    for p in field.split("."):
        if not isinstance(cur, dict):
            cur = None
            break
        cur = cur.get(p)
    if field == "spec.unschedulable":
        return "true" if cur else "false"
    if cur is None:
        return ""
    return cur if isinstance(cur, str) else json.dumps(cur)


def field_match(reqs, obj):
    for field, op, val in reqs:
        v = field_value(obj, field)
        if (op == "=") != (v == val):
            return False
    return True


# ---------------------------------------------------------------- patches

def merge_patch(orig, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(orig) if isinstance(orig, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _strip_directives(v):
    if isinstance(v, dict):
        return {k: _strip_directives(x) for k, x in v.items() if not k.startswith("$")}
    if isinstance(v, list):
        return [_strip_directives(x) for x in v]
    return v


def strategic_merge_patch(orig, patch, kind):
    """Strategic merge patch with the merge keys of SMP_KEYS; supports the
    $patch (replace/delete/merge), $setElementOrder, $deleteFromPrimitiveList
    and $retainKeys directives that kubectl apply emits."""
    keys = dict(SMP_KEYS_COMMON)
    keys.update(SMP_KEYS.get(kind, {}))
    return _smp_map(orig, patch, (), keys)


def _smp_map(orig, patch, path, keys):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip_directives(patch)
    if directive == "delete":
        return None
    out = copy.deepcopy(orig) if isinstance(orig, dict) else {}
    orders = {}
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys"):
            continue
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            f = k.split("/", 1)[1]
            if isinstance(out.get(f), list):
                out[f] = [x for x in out[f] if x not in v]
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            r = _smp_map(out.get(k), v, path + (k,), keys)
            if r is None:
                out.pop(k, None)
            else:
                out[k] = r
        elif isinstance(v, list):
            out[k] = _smp_list(out.get(k), v, path + (k,), keys)
        else:
            out[k] = v
    if isinstance(patch.get("$retainKeys"), list):
        keep = set(patch["$retainKeys"])
        out = {k: v for k, v in out.items() if k in keep}
    for f, order in orders.items():
        if isinstance(out.get(f), list):
            out[f] = _reorder(out[f], order, keys.get(path + (f,)))
    return out


def _smp_list(orig, patch, path, keys):
    strategy = keys.get(path)
    orig = orig if isinstance(orig, list) else []
    if strategy is None:
        return _strip_directives(patch)
    if strategy == "*":
        out = list(orig)
        for x in patch:
            if x not in out:
                out.append(x)
        return out
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
        return [_strip_directives(x) for x in patch
                if not (isinstance(x, dict) and x.get("$patch"))]
    out = copy.deepcopy(orig)
    for item in patch:
        if not isinstance(item, dict):
            out.append(item)
            continue
        kv = item.get(strategy)
        idx = next((i for i, o in enumerate(out)
                    if isinstance(o, dict) and o.get(strategy) == kv), None)
        if item.get("$patch") == "delete":
            out = [o for o in out if not (isinstance(o, dict) and o.get(strategy) == kv)]
        elif idx is None:
            out.append(_strip_directives(item))
        else:
            out[idx] = _smp_map(out[idx], item, path, keys)
    return out


def _reorder(lst, order, key):
    def ident(x):
        return x.get(key) if key and key != "*" and isinstance(x, dict) else x
    wanted = [o.get(key) if isinstance(o, dict) else o for o in order]
    pos = {json.dumps(w, sort_keys=True): i for i, w in enumerate(wanted)}
    return sorted(lst, key=lambda x: pos.get(json.dumps(ident(x), sort_keys=True), len(pos)))


def json_patch(doc, ops):
    """RFC 6902 JSON patch."""
    doc = copy.deepcopy(doc)

    def split(ptr):
        if ptr == "":
            return []
        if not ptr.startswith("/"):
            raise bad_request(f"invalid JSON pointer {ptr!r}")
        return [p.replace("~1", "/").replace("~0", "~") for p in ptr[1:].split("/")]

    def parent(d, parts):
        for p in parts[:-1]:
            d = d[int(p)] if isinstance(d, list) else d[p]
        return d

    def get(d, parts):
        for p in parts:
            d = d[int(p)] if isinstance(d, list) else d[p]
        return d

    def add(d, parts, val):
        if not parts:
            return val
        par, last = parent(d, parts), parts[-1]
        if isinstance(par, list):
            par.insert(len(par) if last == "-" else int(last), val)
        else:
            par[last] = val
        return d

    def remove(d, parts):
        par, last = parent(d, parts), parts[-1]
        if isinstance(par, list):
            return par.pop(int(last))
        return par.pop(last)

    if not isinstance(ops, list):
        raise bad_request("json patch must be a list of operations")
    try:
        for op in ops:
            o, path = op.get("op"), split(op.get("path", ""))
            if o == "add":
                doc = add(doc, path, copy.deepcopy(op["value"]))
            elif o == "remove":
                remove(doc, path)
            elif o == "replace":
                get(doc, path)
                if path:
                    par = parent(doc, path)
                    par[int(path[-1]) if isinstance(par, list) else path[-1]] = \
                        copy.deepcopy(op["value"])
                else:
                    doc = copy.deepcopy(op["value"])
            elif o == "move":
                v = remove(doc, split(op["from"]))
                doc = add(doc, path, v)
            elif o == "copy":
                doc = add(doc, path, copy.deepcopy(get(doc, split(op["from"]))))
            elif o == "test":
                if get(doc, path) != op.get("value"):
                    raise ApiError(422, "Invalid", "the server rejected our request due to an "
                                   f"error in our request: testing value {op.get('path')} failed")
            else:
                raise bad_request(f"unexpected operation {o!r}")
    except (KeyError, IndexError, ValueError, TypeError) as e:
        raise ApiError(422, "Invalid", f"the server rejected our request due to an error in "
                       f"our request: json patch failed: {e!r}")
    return doc


# ---------------------------------------------------------------- protobuf

# kubectl's typed commands (create namespace|configmap|service) send
# application/vnd.kubernetes.protobuf.  Just those messages are decoded (field
# numbers of k8s.io/api/core/v1/generated.proto); empty strings and zero
# numbers are treated as unset, as Go's omitempty JSON does.
PB_SCHEMA = {
    "ObjectMeta": {1: ("name", "s"), 2: ("generateName", "s"), 3: ("namespace", "s"),
                   11: ("labels", "map"), 12: ("annotations", "map"),
                   14: ("finalizers", "[s")},
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec")},
    "NamespaceSpec": {1: ("finalizers", "[s")},
    "ConfigMap": {1: ("metadata", "ObjectMeta"), 2: ("data", "map"),
                  3: ("binaryData", "bmap"), 4: ("immutable", "b")},
    "Service": {1: ("metadata", "ObjectMeta"), 2: ("spec", "ServiceSpec")},
    "ServiceSpec": {1: ("ports", "[ServicePort"), 2: ("selector", "map"), 3: ("clusterIP", "s"),
                    4: ("type", "s"), 5: ("externalIPs", "[s"), 7: ("sessionAffinity", "s"),
                    8: ("loadBalancerIP", "s"), 10: ("externalName", "s"),
                    11: ("externalTrafficPolicy", "s"), 21: ("loadBalancerClass", "s"),
                    22: ("internalTrafficPolicy", "s")},
    "ServicePort": {1: ("name", "s"), 2: ("protocol", "s"), 3: ("port", "i"),
                    4: ("targetPort", "intstr"), 5: ("nodePort", "i"), 6: ("appProtocol", "s")},
}


def _pb_fields(b):
    i = 0
    while i < len(b):
        key, i = _pb_varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0:
            v, i = _pb_varint(b, i)
        elif w == 2:
            n, i = _pb_varint(b, i)
            v, i = b[i:i + n], i + n
        elif w == 1:
            v, i = b[i:i + 8], i + 8
        elif w == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError("unsupported wire type")
        yield f, v


def _pb_varint(b, i):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7f) << s
        s += 7
        if x < 0x80:
            return r, i


def _pb_msg(b, typ):
    out = {}
    schema = PB_SCHEMA[typ]
    for f, v in _pb_fields(b):
        if f not in schema:
            continue
        name, t = schema[f]
        rep = t.startswith("[")
        t = t.lstrip("[")
        if t == "s":
            val = v.decode()
        elif t in ("i", "b"):
            val = v if t == "i" else bool(v)
        elif t in ("map", "bmap"):
            kv = dict(_pb_fields(v))
            val = kv.get(2, b"")
            out.setdefault(name, {})[kv.get(1, b"").decode()] = \
                val.decode() if t == "map" else base64.b64encode(val).decode()
            continue
        elif t == "intstr":
            kv = dict(_pb_fields(v))
            val = kv.get(3, b"").decode() if kv.get(1) == 1 else kv.get(2, 0)
        else:
            val = _pb_msg(v, t)
        if rep:
            out.setdefault(name, []).append(val)
        elif val not in ("", 0, False, {}):
            out[name] = val
    return out


def decode_protobuf(body):
    if body[:4] != b"k8s\x00":
        raise bad_request("the body of the request was in an unknown format")
    env = dict(_pb_fields(body[4:]))
    tm = dict(_pb_fields(env.get(1, b"")))
    api_version, kind = tm.get(1, b"").decode(), tm.get(2, b"").decode()
    if kind not in PB_SCHEMA:
        raise ApiError(415, "UnsupportedMediaType", f"fakeapi decodes protobuf only for "
                       f"Namespace, ConfigMap and Service, not {kind!r}; send JSON", {})
    obj = {"apiVersion": api_version, "kind": kind}
    obj.update(_pb_msg(env.get(2, b""), kind))
    return obj


# ---------------------------------------------------------------- store

NAME_RES = {
    "subdomain": (re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"),
                  253, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                  "characters, '-' or '.', and must start and end with an alphanumeric character"),
    "label": (re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), 63,
              "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
              "or '-', and must start and end with an alphanumeric character"),
    "label1035": (re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$"), 63,
                  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                  "start with an alphabetic character, and end with an alphanumeric character"),
    # RBAC objects only need a valid path segment (ValidatePathSegmentName):
    # "system:controller:x" is a valid ClusterRole name.
    "path": (re.compile(r"^(?!\.{1,2}$)[^/%]+$"), 253,
             "may not be '.' or '..' and may not contain '/' or '%'"),
}


class Event:
    __slots__ = ("rv", "type", "res", "ns", "name", "obj", "prev")

    def __init__(self, rv, typ, res, ns, name, obj, prev):
        self.rv, self.type, self.res, self.ns, self.name = rv, typ, res, ns, name
        self.obj, self.prev = obj, prev


class Store:
    """Objects keyed by (plural, group, namespace, name) plus the ordered log
    of every write (the MVCC history, bounded by history_size)."""

    def __init__(self, history_size=1000, start_rv=1):
        self.cond = threading.Condition()
        self.objects = {}
        self.log = []           # Events, ascending rv
        self.log_rvs = []
        self.rv = start_rv
        self.compacted = start_rv   # oldest rv a watch / snapshot may start from
        self.history_size = history_size
        # Off: a status write changes only .status (what the tests have
        # always seen).  On: a Service's status write also keeps metadata
        # changes (labels, annotations), as the real serviceStatusStrategy
        # does: it resets only the spec (see README).
        self.service_status_metadata = False
        self.next_ip = 10
        self.next_port = 30000
        with self.cond:
            for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
                self._create(RES_BY_PATH[("", "v1", "namespaces")], None,
                             {"metadata": {"name": ns}})

    # -- history
    def _record(self, typ, res, ns, name, obj, prev):
        ev = Event(self.rv, typ, res, ns, name, obj, prev)
        self.log.append(ev)
        self.log_rvs.append(ev.rv)
        if len(self.log) > self.history_size:
            drop = len(self.log) - self.history_size
            self.compacted = self.log[drop - 1].rv
            del self.log[:drop]
            del self.log_rvs[:drop]
        self.cond.notify_all()

    def compact(self, rv=None):
        """Like etcd compaction: resourceVersions below rv (default: now)
        can no longer be watched from nor listed at."""
        with self.cond:
            rv = self.rv if rv is None else min(int(rv), self.rv)
            if rv > self.compacted:
                i = bisect.bisect_right(self.log_rvs, rv)
                del self.log[:i]
                del self.log_rvs[:i]
                self.compacted = rv
            self.cond.notify_all()
            return self.compacted

    def events_after(self, rv):
        i = bisect.bisect_right(self.log_rvs, rv)
        return self.log[i:]

    def snapshot(self, res, at_rv):
        """{key: obj} of res as it was at at_rv (caller holds the lock)."""
        if at_rv < self.compacted:
            raise gone(f"too old resource version: {at_rv} ({self.compacted})")
        if at_rv > self.rv:
            raise too_large(at_rv, self.rv)
        objs = {k: v for k, v in self.objects.items() if k[0] == res.plural and k[1] == res.group}
        for ev in reversed(self.events_after(at_rv)):
            if ev.res is not res:
                continue
            key = (res.plural, res.group, ev.ns, ev.name)
            if ev.type == "ADDED":
                objs.pop(key, None)
            else:
                objs[key] = ev.prev
        return objs

    # -- writes (caller holds the lock, except _create at init)
    def _bump(self):
        self.rv += 1
        return str(self.rv)

    def _create(self, res, ns, obj, dry_run=False):
        obj = copy.deepcopy(obj)
        md = obj.setdefault("metadata", {})
        if not isinstance(md, dict):
            raise bad_request("metadata must be an object")
        if md.get("resourceVersion"):
            raise bad_request("resourceVersion should not be set on objects to be created")
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + "".join(
                random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        name = md.get("name") or ""
        if not name:
            raise invalid(res, "", [("metadata.name", "FieldValueRequired",
                                     "Required value: name or generateName is required")])
        self._validate_name(res, name)
        if res.namespaced:
            if md.get("namespace") and md["namespace"] != ns:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
            md["namespace"] = ns
            if ("namespaces", "", None, ns) not in self.objects:
                raise not_found(RES_BY_PATH[("", "v1", "namespaces")], ns)
        else:
            md.pop("namespace", None)
        key = (res.plural, res.group, ns, name)
        if key in self.objects:
            d = _details(res, name)
            d.setdefault("group", res.group)
            raise ApiError(409, "AlreadyExists", f'{_gr(res)} "{name}" already exists', d)
        obj["kind"], obj["apiVersion"] = res.kind, res.gv
        for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"):
            md.pop(k, None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_ts()
        if res.generation:
            md["generation"] = 1
        else:
            md.pop("generation", None)
        self._defaults(res, obj, None)
        self._validate(res, obj, None)
        if dry_run:
            md["resourceVersion"] = str(self.rv)
            return obj
        md["resourceVersion"] = self._bump()
        self.objects[key] = obj
        self._record("ADDED", res, ns, name, obj, None)
        return obj

    def _validate_name(self, res, name):
        rx, maxlen, msg = NAME_RES[res.name_rule]
        if len(name) > maxlen or not rx.match(name):
            raise invalid(res, name, [("metadata.name", "FieldValueInvalid",
                                       f'Invalid value: "{name}": {msg}')])

    def _update(self, res, ns, name, new, old, subresource=None, dry_run=False,
                allow_create=False):
        """PUT semantics: resourceVersion precondition, status subresource
        rules, generation, no-op detection."""
        if not isinstance(new, dict):
            raise bad_request("the body must be a JSON object")
        new = copy.deepcopy(new)
        md = new.setdefault("metadata", {})
        if md.get("name", name) != name:
            raise bad_request(f"the name of the object ({md.get('name')}) does not match "
                              f"the name on the URL ({name})")
        if res.namespaced and md.get("namespace", ns) != ns:
            raise bad_request("the namespace of the provided object does not match the "
                              "namespace sent on the request")
        if old is None:
            if allow_create or res.create_on_update:
                md.pop("resourceVersion", None)
                md["name"] = name
                return self._create(res, ns, new, dry_run), True
            raise not_found(res, name)
        rv = md.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise conflict(res, name)
        if md.get("uid") and md["uid"] != old["metadata"]["uid"]:
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {_gr(res)} '
                           f'"{name}": Precondition failed: UID in precondition: {md["uid"]}, '
                           f'UID in object meta: {old["metadata"]["uid"]}', _details(res, name))
        new["kind"], new["apiVersion"] = res.kind, res.gv
        omd = old["metadata"]
        for k in ("uid", "creationTimestamp", "name", "namespace", "deletionTimestamp",
                  "generation"):
            if k in omd:
                md[k] = omd[k]
            else:
                md.pop(k, None)
        md.pop("managedFields", None)
        md.pop("selfLink", None)
        if subresource == "status" and res.kind == "Service" and \
                self.service_status_metadata:
            # serviceStatusStrategy: the spec is reset, metadata is kept
            if "spec" in old:
                new["spec"] = copy.deepcopy(old["spec"])
            else:
                new.pop("spec", None)
        elif subresource == "status":
            # status strategy: only .status changes (ResetObjectMetaForStatus)
            keep = copy.deepcopy(old)
            if "status" in new:
                keep["status"] = new["status"]
            else:
                keep.pop("status", None)
            new = keep
        elif res.status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        self._defaults(res, new, old)
        self._validate(res, new, old)
        if res.generation and subresource != "status":
            if _body(new) != _body(old):
                new["metadata"]["generation"] = omd.get("generation", 1) + 1
        cmp_new = copy.deepcopy(new)
        cmp_new["metadata"]["resourceVersion"] = omd["resourceVersion"]
        if cmp_new == old:
            return old, False          # no-op: no new resourceVersion, no event
        if dry_run:
            new["metadata"]["resourceVersion"] = omd["resourceVersion"]
            return new, False
        new["metadata"]["resourceVersion"] = self._bump()
        self.objects[(res.plural, res.group, ns, name)] = new
        self._record("MODIFIED", res, ns, name, new, old)
        return new, False

    def _delete(self, res, ns, name, precond_rv=None, precond_uid=None, dry_run=False):
        key = (res.plural, res.group, ns, name)
        old = self.objects.get(key)
        if old is None:
            raise not_found(res, name)
        if precond_rv and precond_rv != old["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {_gr(res)} '
                           f'"{name}": Precondition failed: ResourceVersion in precondition: '
                           f'{precond_rv}, ResourceVersion in object meta: '
                           f'{old["metadata"]["resourceVersion"]}', _details(res, name))
        if precond_uid and precond_uid != old["metadata"]["uid"]:
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {_gr(res)} '
                           f'"{name}": Precondition failed: UID in precondition: {precond_uid}, '
                           f'UID in object meta: {old["metadata"]["uid"]}', _details(res, name))
        if dry_run:
            return old
        if res.plural == "namespaces":
            # The real API marks it Terminating and the namespace controller
            # empties it; here the contents go at once.
            for k in [k for k in self.objects if k[2] == name and k[0] != "namespaces"]:
                r = next(x for x in RESOURCES if x.plural == k[0] and x.group == k[1])
                self._delete(r, name, k[3])
        gone_obj = copy.deepcopy(old)
        gone_obj["metadata"]["resourceVersion"] = self._bump()
        del self.objects[key]
        self._record("DELETED", res, ns, name, gone_obj, old)
        return gone_obj

    # -- per-kind defaulting and validation (the parts clients notice)
    def _defaults(self, res, obj, old):
        if res.kind == "Namespace":
            obj.setdefault("metadata", {}).setdefault("labels", {})[
                "kubernetes.io/metadata.name"] = obj["metadata"]["name"]
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            if old is None or not obj.get("status"):
                obj["status"] = {"phase": "Active"}
        elif res.kind == "Service":
            self._service_defaults(obj, old)
        elif res.kind == "Event":
            obj.setdefault("involvedObject", {})
            obj.setdefault("reportingComponent", "")
            obj.setdefault("reportingInstance", "")
        elif res.kind == "Secret":
            _secret_defaults(obj)
        elif res.kind == "DaemonSet":
            _daemonset_defaults(obj, old)
        elif res.kind == "Deployment":
            _deployment_defaults(obj, old)
        if not obj["metadata"].get("labels"):
            obj["metadata"].pop("labels", None)
        if not obj["metadata"].get("annotations"):
            obj["metadata"].pop("annotations", None)

    def _used(self, what):
        out = set()
        for k, o in self.objects.items():
            if k[0] == "services":
                sp = o.get("spec", {})
                if what == "ip":
                    out.update(sp.get("clusterIPs") or [])
                else:
                    out.update(p.get("nodePort") for p in sp.get("ports") or [])
        return out

    def _service_defaults(self, obj, old):
        sp = obj.setdefault("spec", {})
        if not isinstance(sp, dict):
            raise bad_request("spec must be an object")
        sp.setdefault("type", "ClusterIP")
        sp.setdefault("sessionAffinity", "None")
        osp = (old or {}).get("spec", {})
        for p in sp.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
                if "port" in p:
                    p.setdefault("targetPort", p["port"])
        if sp["type"] == "ExternalName":
            return
        # patchAllocatedValues: an update that leaves allocated values out keeps them
        if old is not None:
            if not sp.get("clusterIP") and osp.get("clusterIP"):
                sp["clusterIP"] = osp["clusterIP"]
            if not sp.get("clusterIPs") and osp.get("clusterIPs") and \
                    sp.get("clusterIP") == osp.get("clusterIP"):
                sp["clusterIPs"] = list(osp["clusterIPs"])
            if sp["type"] in ("NodePort", "LoadBalancer"):
                oldports = {(p.get("port"), p.get("protocol")): p.get("nodePort")
                            for p in osp.get("ports") or []}
                for p in sp.get("ports") or []:
                    if isinstance(p, dict) and not p.get("nodePort"):
                        np = oldports.get((p.get("port"), p.get("protocol")))
                        if np:
                            p["nodePort"] = np
        if not sp.get("clusterIP"):
            used = self._used("ip")
            while f"10.96.{self.next_ip // 256}.{self.next_ip % 256}" in used:
                self.next_ip += 1
            sp["clusterIP"] = f"10.96.{self.next_ip // 256}.{self.next_ip % 256}"
            self.next_ip += 1
        if not sp.get("clusterIPs"):
            sp["clusterIPs"] = [sp["clusterIP"]]
        if sp["clusterIP"] != "None":
            sp.setdefault("ipFamilies", ["IPv6" if ":" in sp["clusterIP"] else "IPv4"])
        else:
            sp.setdefault("ipFamilies", ["IPv4"])
        sp.setdefault("ipFamilyPolicy", "SingleStack")
        sp.setdefault("internalTrafficPolicy", "Cluster")
        if sp["type"] in ("NodePort", "LoadBalancer"):
            sp.setdefault("externalTrafficPolicy", "Cluster")
            if sp["type"] == "LoadBalancer":
                sp.setdefault("allocateLoadBalancerNodePorts", True)
            if sp["type"] == "NodePort" or sp.get("allocateLoadBalancerNodePorts"):
                used = self._used("port")
                for p in sp.get("ports") or []:
                    if isinstance(p, dict) and not p.get("nodePort"):
                        while self.next_port in used:
                            self.next_port += 1
                        p["nodePort"] = self.next_port
                        self.next_port += 1
        if old is None:
            obj["status"] = {"loadBalancer": {}}

    def _validate(self, res, obj, old):
        name = obj["metadata"].get("name", "")
        causes = []
        if res.kind == "Service":
            sp = obj["spec"]
            if sp["type"] not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
                causes.append(("spec.type", "FieldValueNotSupported",
                               f'Unsupported value: "{sp["type"]}": supported values: '
                               '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'))
            ports = sp.get("ports") or []
            if not ports and sp["type"] != "ExternalName" and sp.get("clusterIP") != "None":
                causes.append(("spec.ports", "FieldValueRequired", "Required value"))
            for i, p in enumerate(ports):
                if not isinstance(p, dict) or not isinstance(p.get("port"), int) or \
                        not 1 <= p["port"] <= 65535:
                    causes.append((f"spec.ports[{i}].port", "FieldValueInvalid",
                                   "Invalid value: must be between 1 and 65535, inclusive"))
                elif len(ports) > 1 and not p.get("name"):
                    causes.append((f"spec.ports[{i}].name", "FieldValueRequired",
                                   "Required value"))
            if old is not None and old["spec"].get("clusterIP") and \
                    old["spec"]["type"] != "ExternalName" and sp["type"] != "ExternalName" and \
                    sp.get("clusterIP") != old["spec"]["clusterIP"]:
                causes.append(("spec.clusterIP", "FieldValueInvalid",
                               f'Invalid value: "{sp.get("clusterIP")}": field is immutable'))
            st = obj.get("status", {})
            for i, ing in enumerate((st.get("loadBalancer") or {}).get("ingress") or []):
                if isinstance(ing, dict) and "ip" in ing and not _valid_ip(ing["ip"]):
                    causes.append((f"status.loadBalancer.ingress[{i}].ip", "FieldValueInvalid",
                                   f'Invalid value: "{ing["ip"]}": must be a valid IP address'))
        elif res.kind == "Lease":
            sp = obj.get("spec") or {}
            d = sp.get("leaseDurationSeconds")
            if d is not None and (not isinstance(d, int) or d <= 0):
                causes.append(("spec.leaseDurationSeconds", "FieldValueInvalid",
                               f"Invalid value: {d}: must be greater than 0"))
            t = sp.get("leaseTransitions")
            if t is not None and (not isinstance(t, int) or t < 0):
                causes.append(("spec.leaseTransitions", "FieldValueInvalid",
                               f"Invalid value: {t}: must be greater than or equal to 0"))
        elif res.kind == "ConfigMap":
            for k, v in (obj.get("data") or {}).items():
                if not isinstance(v, str):
                    raise bad_request(f"json: cannot unmarshal {type(v).__name__} into Go "
                                      f"struct field ConfigMap.data of type string")
        elif res.kind == "EndpointSlice":
            if obj.get("addressType") not in ("IPv4", "IPv6", "FQDN"):
                causes.append(("addressType", "FieldValueRequired", "Required value"))
        elif res.kind == "DaemonSet":
            causes += _daemonset_causes(obj, old)
        elif res.kind == "Deployment":
            causes += _deployment_causes(obj, old)
        elif res.kind in ("Role", "ClusterRole"):
            for i, rule in enumerate(obj.get("rules") or []):
                causes += _rule_causes(rule if isinstance(rule, dict) else {},
                                       res.kind == "Role", f"rules[{i}]")
        elif res.kind in ("RoleBinding", "ClusterRoleBinding"):
            causes += _binding_causes(obj, old, res.kind == "RoleBinding")
        if causes:
            raise invalid(res, name, causes)


# ---- secrets, daemonsets, RBAC: the real registry's defaulting and the
# validation a mistake in a manifest would meet (k8s.io/kubernetes
# pkg/apis/{core,apps,rbac}/{v1/defaults.go,validation}).

_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def _secret_defaults(obj):
    """stringData is write-only: merged into data (base64) and dropped;
    data must be base64 (the real server fails to decode it: 400)."""
    obj.setdefault("type", "Opaque")
    data = obj.get("data") or {}
    if not isinstance(data, dict):
        raise bad_request("json: cannot unmarshal into Go struct field Secret.data of type "
                          "map[string][]uint8")
    for k, v in data.items():
        try:
            base64.b64decode(v if isinstance(v, str) else "!", validate=True)
        except ValueError:
            raise bad_request(f"json: cannot unmarshal data.{k} into Go struct field "
                              "Secret.data of type []uint8: illegal base64 data")
    for k, v in (obj.pop("stringData", None) or {}).items():
        data[k] = base64.b64encode(str(v).encode()).decode()
    if data:
        obj["data"] = data
    else:
        obj.pop("data", None)
    for k in obj.get("data") or {}:
        if not _CONFIG_KEY.match(k):
            raise invalid(RES_BY_PATH[("", "v1", "secrets")], obj["metadata"].get("name", ""),
                          [(f"data[{k}]", "FieldValueInvalid",
                            f'Invalid value: "{k}": a valid config key must consist of '
                            "alphanumeric characters, '-', '_' or '.'")])


def _probe_defaults(p):
    if isinstance(p, dict):
        for k, v in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                     ("failureThreshold", 3)):
            p.setdefault(k, v)


def _daemonset_defaults(obj, old):
    sp = obj.setdefault("spec", {})
    if not isinstance(sp, dict):
        raise bad_request("spec must be an object")
    st = sp.setdefault("updateStrategy", {})
    st.setdefault("type", "RollingUpdate")
    if st["type"] == "RollingUpdate":
        ru = st.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", 1)
        ru.setdefault("maxSurge", 0)
    sp.setdefault("revisionHistoryLimit", 10)
    _pod_template_defaults(sp)
    if old is None:
        obj["status"] = {"currentNumberScheduled": 0, "numberMisscheduled": 0,
                         "desiredNumberScheduled": 0, "numberReady": 0}


def _deployment_defaults(obj, old):
    sp = obj.setdefault("spec", {})
    if not isinstance(sp, dict):
        raise bad_request("spec must be an object")
    sp.setdefault("replicas", 1)
    st = sp.setdefault("strategy", {})
    st.setdefault("type", "RollingUpdate")
    if st["type"] == "RollingUpdate":
        ru = st.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", "25%")
        ru.setdefault("maxSurge", "25%")
    sp.setdefault("revisionHistoryLimit", 10)
    sp.setdefault("progressDeadlineSeconds", 600)
    _pod_template_defaults(sp)
    if old is None:
        obj["status"] = {}


def _deployment_causes(obj, old):
    causes = _daemonset_causes(obj, old)
    r = obj["spec"].get("replicas")
    if not isinstance(r, int) or r < 0:
        causes.append(("spec.replicas", "FieldValueInvalid",
                       f"Invalid value: {json.dumps(r)}: must be greater than or equal to 0"))
    return causes


def _pod_template_defaults(sp):
    """A workload's pod template (DaemonSet, Deployment)."""
    pod = sp.setdefault("template", {}).setdefault("spec", {})
    if not isinstance(pod, dict):
        raise bad_request("spec.template.spec must be an object")
    pod.setdefault("restartPolicy", "Always")
    pod.setdefault("dnsPolicy", "ClusterFirst")
    pod.setdefault("schedulerName", "default-scheduler")
    pod.setdefault("terminationGracePeriodSeconds", 30)
    pod.setdefault("securityContext", {})
    for c in (pod.get("containers") or []) + (pod.get("initContainers") or []):
        if not isinstance(c, dict):
            continue
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        img = str(c.get("image", ""))
        tag = img.rsplit("/", 1)[-1]
        c.setdefault("imagePullPolicy", "Always" if ":" not in tag or tag.endswith(":latest")
                     else "IfNotPresent")
        for port in c.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if pod.get("hostNetwork") and not port.get("hostPort"):
                    port["hostPort"] = port.get("containerPort")
        for e in c.get("env") or []:
            fr = ((e or {}).get("valueFrom") or {}).get("fieldRef")
            if isinstance(fr, dict):
                fr.setdefault("apiVersion", "v1")
        for k in ("livenessProbe", "readinessProbe", "startupProbe"):
            _probe_defaults(c.get(k))
    for v in pod.get("volumes") or []:
        for k in ("configMap", "secret", "projected", "downwardAPI"):
            if isinstance((v or {}).get(k), dict):
                v[k].setdefault("defaultMode", 420)


def _daemonset_causes(obj, old):
    causes = []
    sp = obj["spec"]
    sel = sp.get("selector")
    labels = ((sp.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not isinstance(sel, dict) or not (sel.get("matchLabels") or sel.get("matchExpressions")):
        causes.append(("spec.selector", "FieldValueRequired", "Required value"))
    elif any(labels.get(k) != v for k, v in (sel.get("matchLabels") or {}).items()):
        causes.append(("spec.template.metadata.labels", "FieldValueInvalid",
                       f"Invalid value: {json.dumps(labels)}: `selector` does not match "
                       "template `labels`"))
    if old is not None and old["spec"].get("selector") != sel:
        causes.append(("spec.selector", "FieldValueInvalid",
                       f"Invalid value: {json.dumps(sel)}: field is immutable"))
    pod = sp["template"]["spec"]
    if pod.get("restartPolicy") != "Always":
        causes.append(("spec.template.spec.restartPolicy", "FieldValueNotSupported",
                       f'Unsupported value: "{pod.get("restartPolicy")}": supported values: '
                       '"Always"'))
    containers = pod.get("containers") or []
    if not containers:
        causes.append(("spec.template.spec.containers", "FieldValueRequired", "Required value"))
    vols = {v.get("name") for v in pod.get("volumes") or [] if isinstance(v, dict)}
    label_rx, _, label_msg = NAME_RES["label"]
    for i, c in enumerate(containers):
        f = f"spec.template.spec.containers[{i}]"
        if not isinstance(c, dict):
            causes.append((f, "FieldValueInvalid", "Invalid value: must be an object"))
            continue
        if not label_rx.match(str(c.get("name", ""))):
            causes.append((f + ".name", "FieldValueRequired" if not c.get("name") else
                           "FieldValueInvalid", "Required value" if not c.get("name") else
                           f'Invalid value: "{c["name"]}": {label_msg}'))
        if not c.get("image"):
            causes.append((f + ".image", "FieldValueRequired", "Required value"))
        for j, m in enumerate(c.get("volumeMounts") or []):
            if (m or {}).get("name") not in vols:
                causes.append((f"{f}.volumeMounts[{j}].name", "FieldValueNotFound",
                               f'Not found: "{(m or {}).get("name")}"'))
        for j, port in enumerate(c.get("ports") or []):
            if pod.get("hostNetwork") and port.get("hostPort") != port.get("containerPort"):
                causes.append((f"{f}.ports[{j}].hostPort", "FieldValueInvalid",
                               f"Invalid value: {port.get('hostPort')}: must match "
                               "`containerPort` when `hostNetwork` is true"))
    return causes


def _rule_causes(rule, namespaced, f):
    """ValidatePolicyRule."""
    causes = []
    if not rule.get("verbs"):
        causes.append((f + ".verbs", "FieldValueRequired",
                       "Required value: verbs must contain at least one value"))
    if rule.get("nonResourceURLs"):
        urls = json.dumps(rule["nonResourceURLs"])
        if namespaced:
            causes.append((f + ".nonResourceURLs", "FieldValueInvalid", f"Invalid value: "
                           f"{urls}: namespaced rules cannot apply to non-resource URLs"))
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            causes.append((f + ".nonResourceURLs", "FieldValueInvalid", f"Invalid value: "
                           f"{urls}: rules cannot apply to both regular resources and "
                           "non-resource URLs"))
        return causes
    if not rule.get("apiGroups"):
        causes.append((f + ".apiGroups", "FieldValueRequired",
                       "Required value: resource rules must supply at least one api group"))
    if not rule.get("resources"):
        causes.append((f + ".resources", "FieldValueRequired",
                       "Required value: resource rules must supply at least one resource"))
    return causes


def _binding_causes(obj, old, namespaced):
    """ValidateRoleBinding / ValidateClusterRoleBinding (+ the update rule)."""
    causes = []
    ref = obj.get("roleRef") if isinstance(obj.get("roleRef"), dict) else {}
    rbac = "rbac.authorization.k8s.io"
    if ref.get("apiGroup") != rbac:
        causes.append(("roleRef.apiGroup", "FieldValueNotSupported",
                       f'Unsupported value: "{ref.get("apiGroup", "")}": supported values: '
                       f'"{rbac}"'))
    kinds = ("Role", "ClusterRole") if namespaced else ("ClusterRole",)
    if ref.get("kind") not in kinds:
        causes.append(("roleRef.kind", "FieldValueNotSupported",
                       f'Unsupported value: "{ref.get("kind", "")}": supported values: ' +
                       ", ".join(f'"{k}"' for k in kinds)))
    if not ref.get("name"):
        causes.append(("roleRef.name", "FieldValueRequired", "Required value"))
    for i, sub in enumerate(obj.get("subjects") or []):
        f = f"subjects[{i}]"
        sub = sub if isinstance(sub, dict) else {}
        if not sub.get("name"):
            causes.append((f + ".name", "FieldValueRequired", "Required value"))
        kind = sub.get("kind")
        if kind == "ServiceAccount":
            if sub.get("apiGroup"):
                causes.append((f + ".apiGroup", "FieldValueNotSupported",
                               f'Unsupported value: "{sub["apiGroup"]}": supported values: ""'))
            if not namespaced and not sub.get("namespace"):
                causes.append((f + ".namespace", "FieldValueRequired", "Required value"))
        elif kind in ("User", "Group"):
            if sub.get("apiGroup") != rbac:
                causes.append((f + ".apiGroup", "FieldValueNotSupported",
                               f'Unsupported value: "{sub.get("apiGroup", "")}": supported '
                               f'values: "{rbac}"'))
        else:
            causes.append((f + ".kind", "FieldValueNotSupported",
                           f'Unsupported value: "{kind}": supported values: "ServiceAccount", '
                           '"User", "Group"'))
    if old is not None and old.get("roleRef") != obj.get("roleRef"):
        causes.append(("roleRef", "FieldValueInvalid",
                       f"Invalid value: {json.dumps(obj.get('roleRef'))}: cannot change roleRef"))
    return causes


def _valid_ip(s):
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in s else socket.AF_INET, s)
        return True
    except (OSError, TypeError):
        return False


def _body(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def too_large(want, have):
    return ApiError(504, "Timeout", f"Too large resource version: {want}, current: {have}",
                    {"causes": [{"reason": "ResourceVersionTooLarge",
                                 "message": "Too large resource version"}],
                     "retryAfterSeconds": 1})


# ---------------------------------------------------------------- tables

def _svc_row(o):
    sp, st = o.get("spec", {}), o.get("status", {})
    ext = [i.get("ip") or i.get("hostname") for i in
           (st.get("loadBalancer") or {}).get("ingress") or []]
    if not ext:
        ext = sp.get("externalIPs") or []
    if sp.get("type") == "ExternalName":
        external = sp.get("externalName", "")
    elif ext:
        external = ",".join(x for x in ext if x)
    elif sp.get("type") == "LoadBalancer":
        external = "<pending>"
    else:
        external = "<none>"
    ports = ",".join(
        f"{p.get('port')}" + (f":{p['nodePort']}" if p.get("nodePort") else "") +
        f"/{p.get('protocol', 'TCP')}" for p in sp.get("ports") or []) or "<none>"
    return [sp.get("type", ""), sp.get("clusterIP", ""), external, ports]


TABLES = {
    "Service": ([("Type", "string"), ("Cluster-IP", "string"), ("External-IP", "string"),
                 ("Port(s)", "string")], _svc_row),
    "ConfigMap": ([("Data", "integer")],
                  lambda o: [len(o.get("data") or {}) + len(o.get("binaryData") or {})]),
    "Namespace": ([("Status", "string")], lambda o: [o.get("status", {}).get("phase", "")]),
    "Lease": ([("Holder", "string")], lambda o: [(o.get("spec") or {}).get("holderIdentity", "")]),
    "Node": ([("Status", "string")], lambda o: [
        "Ready" if any(c.get("type") == "Ready" and c.get("status") == "True"
                       for c in (o.get("status") or {}).get("conditions") or [])
        else "NotReady"]),
    "DaemonSet": ([("Desired", "integer"), ("Current", "integer"), ("Ready", "integer"),
                   ("Up-to-date", "integer"), ("Available", "integer"),
                   ("Node Selector", "string")], lambda o: [
        (o.get("status") or {}).get("desiredNumberScheduled", 0),
        (o.get("status") or {}).get("currentNumberScheduled", 0),
        (o.get("status") or {}).get("numberReady", 0),
        (o.get("status") or {}).get("updatedNumberScheduled", 0),
        (o.get("status") or {}).get("numberAvailable", 0),
        ",".join(f"{k}={v}" for k, v in sorted(
            (((o.get("spec") or {}).get("template") or {}).get("spec") or {})
            .get("nodeSelector", {}).items())) or "<none>"]),
    "Deployment": ([("Ready", "string"), ("Up-to-date", "integer"),
                    ("Available", "integer")], lambda o: [
        f"{(o.get('status') or {}).get('readyReplicas', 0)}/"
        f"{(o.get('spec') or {}).get('replicas', 0)}",
        (o.get("status") or {}).get("updatedReplicas", 0),
        (o.get("status") or {}).get("availableReplicas", 0)]),
    "Secret": ([("Type", "string"), ("Data", "integer")],
               lambda o: [o.get("type", ""), len(o.get("data") or {})]),
    "ServiceAccount": ([("Secrets", "integer")], lambda o: [len(o.get("secrets") or [])]),
    "RoleBinding": ([("Role", "string")], lambda o: [
        f"{(o.get('roleRef') or {}).get('kind', '')}/{(o.get('roleRef') or {}).get('name', '')}"]),
    "ClusterRoleBinding": ([("Role", "string")], lambda o: [
        f"{(o.get('roleRef') or {}).get('kind', '')}/{(o.get('roleRef') or {}).get('name', '')}"]),
    "Event": ([("Type", "string"), ("Reason", "string"), ("Object", "string"),
               ("Message", "string")], lambda o: [
        o.get("type", ""), o.get("reason", ""),
        f"{(o.get('involvedObject') or {}).get('kind', '').lower()}/"
        f"{(o.get('involvedObject') or {}).get('name', '')}", o.get("message", "")]),
}


def to_table(res, objs, list_md, include):
    cols, rowf = TABLES.get(res.kind, ([], lambda o: []))
    defs = [{"name": "Name", "type": "string", "format": "name", "description": "Name",
             "priority": 0}]
    defs += [{"name": n, "type": t, "format": "", "description": n, "priority": 0}
             for n, t in cols]
    defs.append({"name": "Age", "type": "string", "format": "", "description": "Age",
                 "priority": 0})
    rows = []
    for o in objs:
        row = {"cells": [o["metadata"].get("name", "")] + rowf(o) +
               [_age(o["metadata"].get("creationTimestamp"))]}
        if include == "Object":
            full = copy.deepcopy(o)
            full.setdefault("kind", res.kind)
            full.setdefault("apiVersion", res.gv)
            row["object"] = full
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": o["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_md,
            "columnDefinitions": defs, "rows": rows}


def wants_table(accept):
    return "as=Table" in (accept or "")


# ---------------------------------------------------------------- faults

class Faults:
    """Test-controlled misbehaviour; every method is thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []            # dicts: kind status|delay|close, count, match...
        self.gone_watches = []     # modes for the next watches: "event" | "http"
        self.split = 0             # split watch chunks every N bytes (0: off)
        self.coalesce = False      # put all ready events in one chunk
        self.split_pause = 0.002

    def add_rule(self, rule):
        with self.lock:
            self.rules.append(dict(rule))

    def clear(self):
        with self.lock:
            self.rules.clear()
            self.gone_watches.clear()
            self.split, self.coalesce = 0, False

    def take(self, method, path, query, is_watch):
        """The rules that apply to this request, consuming their counts."""
        out = []
        with self.lock:
            for r in list(self.rules):
                if r.get("method") and r["method"].upper() != method:
                    continue
                if r.get("path") and not re.search(r["path"], path):
                    continue
                if r.get("watch") is not None and bool(r["watch"]) != is_watch:
                    continue
                out.append(r)
                if r.get("count") is not None:
                    r["count"] -= 1
                    if r["count"] <= 0:
                        self.rules.remove(r)
            gone_mode = self.gone_watches.pop(0) if is_watch and self.gone_watches else None
        return out, gone_mode


# ---------------------------------------------------------------- HTTP

class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler, api):
        self.api = api
        self.conns = set()
        self.conns_lock = threading.Lock()
        super().__init__(addr, handler)

    def process_request_thread(self, request, client_address):
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if self.api.ssl_ctx is not None:
            try:
                request.settimeout(10)
                request = self.api.ssl_ctx.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (OSError, ssl.SSLError):
                self.shutdown_request(request)
                return
        with self.conns_lock:
            self.conns.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.conns_lock:
                self.conns.discard(request)

    def handle_error(self, request, client_address):
        if self.api.verbose:
            super().handle_error(request, client_address)


class _WatchClosed(Exception):
    pass


class _WatchCtx:
    __slots__ = ("end",)

    def __init__(self):
        self.end = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeapi"
    sys_version = ""

    def log_message(self, fmt, *args):
        if self.server.api.verbose:
            sys.stderr.write("fakeapi: " + (fmt % args) + "\n")

    # -- plumbing
    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, code, obj, headers=None, ctype="application/json"):
        body = obj if isinstance(obj, bytes) else \
            (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, e):
        self._send(e.code, e.status(), e.headers)

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_PATCH(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _dispatch(self):
        api = self.server.api
        u = urllib.parse.urlsplit(self.path)
        path = u.path.rstrip("/") or "/"
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        is_watch = q.get("watch", "") in ("1", "true", "True") or "/watch/" in path
        body = b""
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        api._log_request(self.command, path, u.query, self.headers, body,
                         client=self.client_address[0])
        if path.startswith("/__fake/"):
            return self._admin(path, body)
        try:
            self._auth(path)
            rules, gone_mode = api.faults.take(self.command, path, u.query, is_watch)
            for r in rules:
                if r["kind"] == "delay":
                    time.sleep(float(r.get("seconds", 1)))
            for r in rules:
                if r["kind"] == "close":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if r["kind"] == "status":
                    code = int(r.get("code", 500))
                    hdrs, details = {}, None
                    if r.get("retry_after") is not None:
                        hdrs["Retry-After"] = str(r["retry_after"])
                        details = {"retryAfterSeconds": int(r["retry_after"])}
                    reason = {429: "TooManyRequests", 500: "InternalError",
                              503: "ServiceUnavailable", 504: "Timeout",
                              410: "Expired"}.get(code, "Unknown")
                    msg = r.get("message") or {
                        429: "Too many requests, please try again later.",
                        500: "Internal error occurred: injected by fakeapi"}.get(
                        code, f"injected error {code}")
                    raise ApiError(code, reason, msg, details, hdrs)
            self._route(path, q, body, is_watch, gone_mode)
        except ApiError as e:
            self._error(e)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, _WatchClosed, OSError):
            self.close_connection = True
        except Exception as e:     # a bug in the fake: say so loudly, answer 500
            import traceback
            traceback.print_exc()
            try:
                self._error(ApiError(500, "InternalError", f"fakeapi bug: {e!r}"))
            except OSError:
                self.close_connection = True

    def _auth(self, path):
        api = self.server.api
        if api.token is None:
            return
        h = self.headers.get("Authorization", "")
        if h.startswith("Bearer ") and h[7:].strip() == api.token:
            return
        if not h and api.anonymous and path in ("/version", "/healthz", "/livez", "/readyz"):
            return
        if not h and api.anonymous:
            raise ApiError(403, "Forbidden", f'forbidden: User "system:anonymous" cannot get '
                           f'path "{path}"', {})
        raise ApiError(401, "Unauthorized", "Unauthorized")

    # -- admin endpoint for tests that run the server in another process
    def _admin(self, path, body):
        api = self.server.api
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return self._send(400, {"error": "bad json"})
        try:
            if path == "/__fake/faults":
                return self._send(200, api.apply_fault(req))
            if path == "/__fake/state":
                with api.store.cond:
                    st = {"resourceVersion": api.store.rv, "compacted": api.store.compacted,
                          "history": len(api.store.log), "watches": len(api.watches),
                          "objects": len(api.store.objects)}
                st["held_lists"] = api.held_lists()
                return self._send(200, st)
            if path == "/__fake/requests":
                with api.req_lock:
                    return self._send(200, list(api.requests))
        except (KeyError, ValueError, TypeError) as e:
            return self._send(400, {"error": str(e)})
        return self._send(404, {"error": "unknown admin path"})

    # -- routing
    def _route(self, path, q, body, is_watch, gone_mode):
        api = self.server.api
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")] if path != "/" \
            else []
        m = self.command
        if m == "GET" and path in ("/healthz", "/livez", "/readyz"):
            return self._send(200, b"ok", ctype="text/plain; charset=utf-8")
        if m == "GET" and path == "/version":
            return self._send(200, VERSION_INFO)
        if m == "GET" and path == "/":
            return self._send(200, {"paths": sorted(
                ["/api", "/api/v1", "/apis", "/healthz", "/version", "/livez", "/readyz"] +
                [f"/apis/{g}" for g in GROUPS if g] +
                [f"/apis/{g}/{v}" for g, v in GROUPS.items() if g])})
        if m == "GET" and path == "/api":
            return self._send(200, {"kind": "APIVersions", "versions": ["v1"],
                                    "serverAddressByClientCIDRs": [{
                                        "clientCIDR": "0.0.0.0/0",
                                        "serverAddress": f"{api.host}:{api.port}"}]})
        if m == "GET" and path == "/apis":
            return self._send(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                    "groups": [_group(g, v) for g, v in GROUPS.items() if g]})
        if m == "GET" and len(parts) == 2 and parts[0] == "apis" and parts[1] in GROUPS:
            g = dict(_group(parts[1], GROUPS[parts[1]]), kind="APIGroup", apiVersion="v1")
            return self._send(200, g)
        if m == "GET" and (parts == ["api", "v1"] or (
                len(parts) == 3 and parts[0] == "apis" and GROUPS.get(parts[1]) == parts[2])):
            group = "" if parts[0] == "api" else parts[1]
            return self._send(200, _resource_list(group, parts[-1]))
        if m == "GET" and parts[:2] == ["openapi", "v3"]:
            doc = _openapi_v3("/".join(parts[2:]))
            if doc is not None:
                return self._send(200, doc)
        if parts[:1] == ["openapi"]:
            raise ApiError(404, "NotFound", "the server could not find the requested resource",
                           {})
        # resource paths
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource",
                           {})
        if rest[:1] == ["watch"]:
            rest, is_watch = rest[1:], True
        ns = None
        if group == "" and rest[:1] == ["namespaces"] and (
                len(rest) == 2 or (len(rest) == 3 and rest[2] in ("status", "finalize"))):
            pass
        elif rest[:1] == ["namespaces"] and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource",
                           {})
        res = RES_BY_PATH.get((group, version, rest[0]))
        if res is None or (ns is not None and not res.namespaced) or (
                ns is None and res.namespaced and len(rest) > 1):
            raise ApiError(404, "NotFound", "the server could not find the requested resource",
                           {})
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and not ((sub == "status" and res.status) or
                                    (sub == "finalize" and res.plural == "namespaces")):
            raise ApiError(404, "NotFound", "the server could not find the requested resource",
                           {})
        dry = q.get("dryRun") == "All"
        if name is None:
            if m == "GET" and is_watch:
                return api._watch(self, res, ns, q, gone_mode)
            if m == "GET":
                if not q.get("continue"):
                    api._hold_first_list(res)
                return self._list(res, ns, q)
            if m == "POST":
                obj = self._json(body)
                with api.store.cond:
                    out = api.store._create(res, ns, obj, dry)
                return self._send(201, out)
            if m == "DELETE":
                return self._delete_collection(res, ns, q, dry)
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method "
                           "on the requested resource", {})
        key = (res.plural, res.group, ns, name)
        if m == "GET":
            with api.store.cond:
                obj = api.store.objects.get(key)
            if obj is None:
                raise not_found(res, name)
            if wants_table(self.headers.get("Accept")):
                return self._send(200, to_table(res, [obj], {"resourceVersion":
                                                             obj["metadata"]["resourceVersion"]},
                                                 q.get("includeObject", "Metadata")))
            return self._send(200, obj)
        if m == "PUT":
            obj = self._json(body)
            with api.store.cond:
                out, created = api.store._update(res, ns, name, obj, api.store.objects.get(key),
                                                 sub if sub == "status" else None, dry)
            return self._send(201 if created else 200, out)
        if m == "PATCH":
            return self._patch(res, ns, name, sub, q, body, dry)
        if m == "DELETE":
            opts = self._json(body) if body.strip() else {}
            pre = (opts or {}).get("preconditions") or {}
            with api.store.cond:
                out = api.store._delete(res, ns, name, pre.get("resourceVersion"),
                                        pre.get("uid"), dry)
            if res.return_deleted:
                return self._send(200, out)
            return self._send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                    "status": "Success",
                                    "details": dict(_details(res, name),
                                                    uid=out["metadata"]["uid"])})
        raise ApiError(405, "MethodNotAllowed",
                       "the server does not allow this method on the requested resource", {})

    def _json(self, body):
        if (self.headers.get("Content-Type") or "").startswith(
                "application/vnd.kubernetes.protobuf"):
            try:
                return decode_protobuf(body)
            except (ValueError, IndexError, UnicodeDecodeError) as e:
                raise bad_request(f"the body of the request was in an unknown format: {e}")
        try:
            obj = json.loads(body or b"null")
        except ValueError as e:
            raise bad_request(f"the body of the request was in an unknown format: {e}")
        if not isinstance(obj, (dict, list)):
            raise bad_request("the body of the request was in an unknown format")
        return obj

    def _patch(self, res, ns, name, sub, q, body, dry):
        api = self.server.api
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        patch = self._json(body)
        key = (res.plural, res.group, ns, name)
        with api.store.cond:
            old = api.store.objects.get(key)
            if ctype == "application/apply-patch+yaml":
                # server-side apply, approximated (see README): no managedFields,
                # no conflict detection; create if absent, else strategic merge.
                if not q.get("fieldManager"):
                    raise invalid(res, name, [("fieldManager", "FieldValueRequired",
                                               "Required value: is required for apply patch")])
                if old is None:
                    patch.setdefault("metadata", {})["name"] = name
                    out = api.store._create(res, ns, patch, dry)
                    return self._send(201, out)
                new = strategic_merge_patch(old, patch, res.kind)
            elif old is None:
                raise not_found(res, name)
            elif ctype == "application/merge-patch+json":
                if not isinstance(patch, dict):
                    raise bad_request("merge patch must be a JSON object")
                new = merge_patch(old, patch)
            elif ctype == "application/strategic-merge-patch+json":
                if not isinstance(patch, dict):
                    raise bad_request("strategic merge patch must be a JSON object")
                new = strategic_merge_patch(old, patch, res.kind)
            elif ctype == "application/json-patch+json":
                new = json_patch(old, patch)
            else:
                raise ApiError(415, "UnsupportedMediaType",
                               'the body of the request was in an unknown format - accepted '
                               'media types include: application/json-patch+json, '
                               'application/merge-patch+json, application/apply-patch+yaml, '
                               'application/strategic-merge-patch+json', {})
            if not isinstance(new, dict):
                raise bad_request("the patch did not produce an object")
            new.setdefault("metadata", {})
            # a resourceVersion in the patch is a precondition; none means "current"
            if not isinstance(new["metadata"].get("resourceVersion"), str) or \
                    not new["metadata"]["resourceVersion"]:
                new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            out, _ = api.store._update(res, ns, name, new, old,
                                       sub if sub == "status" else None, dry)
        return self._send(200, out)

    def _selected(self, res, ns, q, objs):
        lsel = parse_label_selector(q.get("labelSelector", ""))
        fsel = parse_field_selector(res, q.get("fieldSelector", ""))
        out = []
        for key in sorted(objs, key=lambda k: (k[2] or "", k[3])):
            o = objs[key]
            if ns is not None and key[2] != ns:
                continue
            if label_match(lsel, o["metadata"].get("labels")) and field_match(fsel, o):
                out.append((key, o))
        return out

    def _list(self, res, ns, q):
        api = self.server.api
        st = api.store
        parse_label_selector(q.get("labelSelector", ""))
        parse_field_selector(res, q.get("fieldSelector", ""))
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            raise bad_request("invalid limit")
        rvq, match = q.get("resourceVersion", ""), q.get("resourceVersionMatch", "")
        cont = q.get("continue")
        with st.cond:
            start = ""
            if cont:
                if rvq:
                    raise bad_request("specifying resource version is not allowed when using "
                                      "continue")
                try:
                    c = json.loads(base64.b64decode(cont + "=" * (-len(cont) % 4)))
                    at, start = int(c["rv"]), c["start"]
                except (ValueError, KeyError, TypeError):
                    raise bad_request("continue key is not valid: could not decode")
                if at < st.compacted:
                    raise ApiError(410, "Expired", "The provided continue parameter is too "
                                   "old to display a consistent list result. You can start a "
                                   "new list without the continue parameter, or use the "
                                   "continue value from the 410 Gone error.",
                                   headers={})
            elif match == "Exact":
                try:
                    at = int(rvq)
                except ValueError:
                    raise bad_request("resourceVersionMatch=Exact needs a resourceVersion")
            elif rvq and rvq != "0":
                try:
                    want = int(rvq)
                except ValueError:
                    raise bad_request(f"invalid resource version {rvq!r}")
                if want > st.rv:
                    raise too_large(want, st.rv)
                at = st.rv
            else:
                at = st.rv
            if match and match not in ("Exact", "NotOlderThan"):
                raise bad_request(f"unsupported resourceVersionMatch {match!r}")
            objs = st.snapshot(res, at) if at != st.rv else \
                {k: v for k, v in st.objects.items() if k[0] == res.plural and k[1] == res.group}
        items = self._selected(res, ns, q, objs)
        if start:
            items = [(k, o) for k, o in items if _kstr(k) > start]
        md = {"resourceVersion": str(at)}
        if limit and len(items) > limit:
            last = items[limit - 1][0]
            remaining = len(items) - limit
            items = items[:limit]
            md["continue"] = base64.b64encode(json.dumps(
                {"v": "meta.k8s.io/v1", "rv": at, "start": _kstr(last)}).encode()).decode()
            if not q.get("labelSelector") and not q.get("fieldSelector"):
                md["remainingItemCount"] = remaining
        objs = [o for _, o in items]
        if wants_table(self.headers.get("Accept")):
            return self._send(200, to_table(res, objs, md, q.get("includeObject", "Metadata")))
        out_items = []
        for o in objs:
            o = dict(o)
            o.pop("kind", None)
            o.pop("apiVersion", None)
            out_items.append(o)
        return self._send(200, {"kind": res.kind + "List", "apiVersion": res.gv,
                                "metadata": md, "items": out_items})

    def _delete_collection(self, res, ns, q, dry):
        st = self.server.api.store
        with st.cond:
            objs = {k: v for k, v in st.objects.items() if k[0] == res.plural and k[1] == res.group}
            for key, o in self._selected(res, ns, q, objs):
                st._delete(res, key[2], key[3], dry_run=dry)
        return self._send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                "status": "Success"})

    # -- watch stream helpers
    def start_chunked(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

    def write_events(self, lines):
        """Send encoded event lines as HTTP chunks (fault settings decide how)."""
        f = self.server.api.faults
        if not lines:
            return
        payloads = [b"".join(lines)] if f.coalesce else list(lines)
        for p in payloads:
            if f.split:
                for i in range(0, len(p), f.split):
                    piece = p[i:i + f.split]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    if f.split_pause:
                        time.sleep(f.split_pause)
            else:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(p), p))

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")


def _kstr(key):
    return f"{key[2] or ''}/{key[3]}"


def _group(g, v):
    gv = {"groupVersion": f"{g}/{v}", "version": v}
    return {"name": g, "versions": [gv], "preferredVersion": gv}


def _openapi_v3(sub):
    """Just enough OpenAPI v3 for kubectl: the root index, and per group
    version the PATCH operations declaring the fieldValidation parameter, so
    kubectl leaves validation to the server (fieldValidation=Strict) instead
    of downloading schemas.  No component schemas (see README)."""
    gvs = {("api/v1" if not g else f"apis/{g}/{v}"): (g, v) for g, v in GROUPS.items()}
    if sub == "":
        return {"paths": {p: {"serverRelativeURL": f"/openapi/v3/{p}?hash=fakeapi"}
                          for p in gvs}}
    if sub not in gvs:
        return None
    g, v = gvs[sub]
    paths = {}
    for r in RESOURCES:
        if r.group != g or r.version != v:
            continue
        base = "/" + sub + ("/namespaces/{namespace}" if r.namespaced else "")
        gvk = {"group": g, "version": v, "kind": r.kind}
        params = [{"name": n, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
                  for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
        for suffix in ("", "/status") if r.status else ("",):
            paths[f"{base}/{r.plural}/{{name}}{suffix}"] = {
                "patch": {"operationId": f"patch{r.kind}{suffix.strip('/').title()}",
                          "parameters": params, "responses": {},
                          "x-kubernetes-action": "patch",
                          "x-kubernetes-group-version-kind": gvk}}
        paths[f"{base}/{r.plural}"] = {
            "post": {"operationId": f"create{r.kind}", "parameters": params, "responses": {},
                     "x-kubernetes-action": "post", "x-kubernetes-group-version-kind": gvk}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": paths, "components": {"schemas": {}}}


def _resource_list(group, version):
    out = []
    for r in RESOURCES:
        if r.group != group or r.version != version:
            continue
        d = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
             "kind": r.kind, "verbs": VERBS_ALL}
        if r.short:
            d["shortNames"] = r.short
        if r.categories:
            d["categories"] = r.categories
        out.append(d)
        if r.status:
            out.append({"name": r.plural + "/status", "singularName": "",
                        "namespaced": r.namespaced, "kind": r.kind,
                        "verbs": ["get", "patch", "update"]})
        if r.plural == "namespaces":
            out.append({"name": "namespaces/finalize", "singularName": "", "namespaced": False,
                        "kind": "Namespace", "verbs": ["update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": out}


# ---------------------------------------------------------------- the server

class FakeAPIServer:
    def __init__(self, host="127.0.0.1", port=0, token=None, tls=False, certdir=None,
                 history_size=1000, bookmark_interval=60.0, anonymous=False, verbose=False,
                 default_watch_timeout=1800):
        if host not in ("127.0.0.1", "::1", "localhost") and not in_private_netns():
            raise ValueError("fakeapi listens on loopback only, or on any address inside "
                             "a network namespace of the test's own (ip netns exec)")
        self.host, self.port, self.token = host, port, token
        self.tls, self.certdir = tls, certdir
        self.bookmark_interval = bookmark_interval
        self.default_watch_timeout = default_watch_timeout
        self.anonymous, self.verbose = anonymous, verbose
        self.history_size = history_size
        self.store = Store(history_size)
        self.faults = Faults()
        self.watches = set()       # active watch contexts
        self.requests = []
        self.req_lock = threading.Lock()
        # delay_first_list: plural -> {"seconds", "until", "held": [...]}
        self.list_holds = {}
        self.hold_lock = threading.Lock()
        self.ssl_ctx = None
        self.cert = self.key = None
        self.httpd = None
        self.thread = None
        self._epoch = 0            # bumped by stop(): ends every watch of the old server

    # -- lifecycle
    def start(self):
        if self.tls and self.ssl_ctx is None:
            if self.certdir is None:
                self.certdir = tempfile.mkdtemp(prefix="fakeapi-")
            self.cert, self.key = make_self_signed(self.certdir, self.host)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.cert, self.key)
            ctx.set_alpn_protocols(["http/1.1"])
            self.ssl_ctx = ctx
        self.httpd = _Server((self.host, self.port), Handler, self)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.httpd is None:
            return
        httpd, self.httpd = self.httpd, None
        httpd.shutdown()
        httpd.server_close()
        with self.store.cond:
            self._epoch += 1
            self.store.cond.notify_all()
        with httpd.conns_lock:
            conns = list(httpd.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(5)

    def restart(self, keep_state=True, down_seconds=0.0):
        """Stop (every connection drops), optionally lose all state (as if
        etcd were wiped: resourceVersions start again from 1), start again on
        the same port."""
        self.stop()
        if not keep_state:
            ssm = self.store.service_status_metadata
            self.store = Store(self.history_size)
            self.store.service_status_metadata = ssm
        if down_seconds:
            time.sleep(down_seconds)
        return self.start()

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def write_kubeconfig(self, path, namespace="default", token=None):
        token = self.token if token is None else token
        cluster = f"    server: {self.url}\n"
        if self.tls:
            with open(self.cert, "rb") as f:
                cluster += ("    certificate-authority-data: " +
                            base64.b64encode(f.read()).decode() + "\n")
        user = f"    token: {token}\n" if token else "    {}\n"
        text = ("apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n" + cluster +
                "users:\n- name: fake\n  user:\n" + user +
                "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n"
                f"    namespace: {namespace}\ncurrent-context: fake\npreferences: {{}}\n")
        with open(path, "w") as f:
            f.write(text)
        return path

    # -- direct object access for tests (same code paths as HTTP)
    def _res(self, plural, group=""):
        return next(r for r in RESOURCES if r.plural == plural and r.group == group)

    def create(self, plural, obj, namespace=None, group=""):
        with self.store.cond:
            return copy.deepcopy(self.store._create(self._res(plural, group), namespace, obj))

    def get(self, plural, name, namespace=None, group=""):
        r = self._res(plural, group)
        with self.store.cond:
            o = self.store.objects.get((r.plural, r.group, namespace, name))
            return copy.deepcopy(o)

    def update(self, plural, obj, namespace=None, group="", subresource=None):
        r = self._res(plural, group)
        name = obj["metadata"]["name"]
        with self.store.cond:
            old = self.store.objects.get((r.plural, r.group, namespace, name))
            return copy.deepcopy(self.store._update(r, namespace, name, obj, old,
                                                    subresource)[0])

    def delete(self, plural, name, namespace=None, group=""):
        with self.store.cond:
            return self.store._delete(self._res(plural, group), namespace, name)

    def preload_endpointslices(self, n, namespace="default", endpoints=3):
        """n EndpointSlices as a cluster of n Services has them (one each,
        `endpoints` ready endpoints on nodes node-1.., with a port), created
        as the API would; for bench/k8s-list.  Returns the resourceVersion."""
        res = self._res("endpointslices", "discovery.k8s.io")
        with self.store.cond:
            for i in range(n):
                svc = f"svc-{i:06d}"
                eps = [{"addresses": [f"10.{(i >> 8) & 255}.{i & 255}.{j + 1}"],
                        "conditions": {"ready": True, "serving": True,
                                       "terminating": False},
                        "nodeName": f"node-{(i + j) % 50 + 1}",
                        "targetRef": {"kind": "Pod", "namespace": namespace,
                                      "name": f"{svc}-pod-{j}",
                                      "uid": f"00000000-0000-4000-8000-{i:06d}{j:06d}"},
                        "zone": f"zone-{j % 3}"} for j in range(endpoints)]
                self.store._create(res, namespace, {
                    "metadata": {"name": f"{svc}-abcde", "labels": {
                        "kubernetes.io/service-name": svc,
                        "endpointslice.kubernetes.io/managed-by":
                            "endpointslice-controller.k8s.io"},
                        "ownerReferences": [{"apiVersion": "v1", "kind": "Service",
                                             "name": svc, "controller": True,
                                             "uid": f"11111111-0000-4000-8000-{i:012d}"}]},
                    "addressType": "IPv4", "endpoints": eps,
                    "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]})
            return self.store.rv

    @property
    def resource_version(self):
        return self.store.rv

    # -- faults (Python API)
    def inject_status(self, code, count=1, retry_after=None, method=None, path=None,
                      watch=None, message=None):
        """The next `count` matching requests get HTTP `code` (429 with
        Retry-After when retry_after is set).  count=None: until cleared."""
        self.faults.add_rule({"kind": "status", "code": code, "count": count,
                              "retry_after": retry_after, "method": method, "path": path,
                              "watch": watch, "message": message})

    def inject_delay(self, seconds, count=1, method=None, path=None, watch=None):
        self.faults.add_rule({"kind": "delay", "seconds": seconds, "count": count,
                              "method": method, "path": path, "watch": watch})

    def inject_close(self, count=1, method=None, path=None, watch=None):
        """Drop the connection without an answer for the next matching requests."""
        self.faults.add_rule({"kind": "close", "count": count, "method": method,
                              "path": path, "watch": watch})

    def fail_next_watches(self, count=1, mode="event"):
        """The next `count` watches get 410 Gone: mode "event" = 200 + ERROR
        event (what the real API does), "http" = HTTP 410 Status."""
        with self.faults.lock:
            self.faults.gone_watches.extend([mode] * count)

    def close_watches(self, clean=False):
        """End every open watch now: clean = final empty chunk (like the
        server-side timeout), else the TCP connection is cut mid-stream."""
        with self.store.cond:
            ws = list(self.watches)
            for w in ws:
                w.end = "clean" if clean else "abort"
            self.store.cond.notify_all()
        return len(ws)

    def compact(self, rv=None):
        return self.store.compact(rv)

    def set_watch_chunking(self, split=0, coalesce=False, pause=0.002):
        self.faults.split, self.faults.coalesce, self.faults.split_pause = \
            int(split), bool(coalesce), float(pause)

    def clear_faults(self):
        self.faults.clear()

    def delay_first_list(self, plural, seconds):
        """An API server slow to answer the first LIST of `plural` (e.g.
        "nodes"): that LIST is answered `seconds` after it arrived, and every
        other LIST of `plural` (a first page: no `continue`) arriving
        meanwhile is held with it and answered at the same moment, so that
        clients starting together all get their lists late, together.  Later
        LISTs are answered at once.  Watches are never held.  What was held
        and when it was answered: held_lists(), or `held_lists` in
        /__fake/state."""
        with self.hold_lock:
            self.list_holds[plural] = {"seconds": float(seconds), "until": None,
                                       "held": []}

    def _hold_first_list(self, res):
        with self.hold_lock:
            h = self.list_holds.get(res.plural)
            now = time.time()
            if h is None or (h["until"] is not None and now >= h["until"]):
                return
            if h["until"] is None:
                h["until"] = now + h["seconds"]
            rec = {"resource": res.plural, "arrived": now, "answered": None}
            h["held"].append(rec)
            until = h["until"]
        while time.time() < until:
            time.sleep(min(0.05, max(0.0, until - time.time())))
        with self.hold_lock:
            rec["answered"] = time.time()

    def held_lists(self):
        """The LISTs delay_first_list held: resource, arrived, answered
        (epoch seconds; answered is None while still held)."""
        with self.hold_lock:
            return [dict(r) for h in self.list_holds.values() for r in h["held"]]

    def apply_fault(self, req):
        """The admin endpoint's actions (POST /__fake/faults)."""
        a = req["action"]
        if a in ("status", "delay", "close"):
            rule = {k: v for k, v in req.items() if k != "action"}
            rule["kind"] = a
            rule.setdefault("count", 1)
            self.faults.add_rule(rule)
        elif a == "gone":
            self.fail_next_watches(int(req.get("count", 1)), req.get("mode", "event"))
        elif a == "close_watches":
            return {"closed": self.close_watches(bool(req.get("clean", False)))}
        elif a == "compact":
            return {"compacted": self.compact(req.get("resourceVersion"))}
        elif a == "chunking":
            self.set_watch_chunking(req.get("split", 0), req.get("coalesce", False),
                                    req.get("pause", 0.002))
        elif a == "delay_first_list":
            self.delay_first_list(req["resource"], float(req["seconds"]))
        elif a == "bookmarks":
            self.bookmark_interval = float(req["interval"])
        elif a == "service_status_metadata":
            self.store.service_status_metadata = bool(req.get("keep", True))
        elif a == "clear":
            self.clear_faults()
        elif a == "restart":
            keep, down = bool(req.get("keep_state", True)), float(req.get("down_seconds", 0))
            threading.Thread(target=lambda: (time.sleep(0.1), self.restart(keep, down)),
                             daemon=True).start()
        else:
            raise ValueError(f"unknown action {a!r}")
        return {"ok": True}

    def _log_request(self, method, path, query, headers, body, client=None):
        with self.req_lock:
            self.requests.append({"t": time.time(), "method": method, "path": path,
                                  "query": query,
                                  "contentType": headers.get("Content-Type", ""),
                                  "userAgent": headers.get("User-Agent", ""),
                                  "client": client})
            if len(self.requests) > 10000:
                del self.requests[:1000]

    def requests_matching(self, method=None, path=None):
        with self.req_lock:
            return [r for r in self.requests
                    if (method is None or r["method"] == method) and
                    (path is None or re.search(path, r["path"]))]

    # -- watch
    def _watch(self, h, res, ns, q, gone_mode):
        st = self.store
        lsel = parse_label_selector(q.get("labelSelector", ""))
        fsel = parse_field_selector(res, q.get("fieldSelector", ""))
        bookmarks = q.get("allowWatchBookmarks") in ("1", "true", "True")
        send_initial = q.get("sendInitialEvents") in ("1", "true", "True")
        try:
            timeout = float(q.get("timeoutSeconds") or self.default_watch_timeout)
        except ValueError:
            raise bad_request("invalid timeoutSeconds")
        rvq = q.get("resourceVersion", "")
        if gone_mode == "http":
            raise gone(f"too old resource version: {rvq or 0} ({st.rv})")
        if send_initial and q.get("resourceVersionMatch") != "NotOlderThan":
            raise invalid(res, "", [("resourceVersionMatch", "FieldValueForbidden",
                                     "Forbidden: sendInitialEvents requires setting "
                                     "resourceVersionMatch to NotOlderThan")])

        def visible(o, key_ns):
            return o is not None and (ns is None or key_ns == ns) and \
                label_match(lsel, o["metadata"].get("labels")) and field_match(fsel, o)

        table = wants_table(h.headers.get("Accept"))

        def enc(typ, obj):
            if table and typ not in ("BOOKMARK", "ERROR"):
                obj = to_table(res, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]},
                               q.get("includeObject", "Metadata"))
            return (json.dumps({"type": typ, "object": obj}, separators=(",", ":")) +
                    "\n").encode()

        def bookmark(rv, initial_end=False):
            md = {"resourceVersion": str(rv), "creationTimestamp": None}
            if initial_end:
                md["annotations"] = {"k8s.io/initial-events-end": "true"}
            return enc("BOOKMARK", {"kind": res.kind, "apiVersion": res.gv, "metadata": md})

        initial = []
        with st.cond:
            epoch = self._epoch
            if rvq in ("", "0") or send_initial:
                if rvq not in ("", "0"):
                    want = int(rvq)
                    if want > st.rv:
                        raise too_large(want, st.rv)
                pos = st.rv
                for key in sorted(k for k in st.objects if k[0] == res.plural and
                                  k[1] == res.group):
                    o = st.objects[key]
                    if visible(o, key[2]):
                        initial.append(enc("ADDED", o))
                if send_initial and bookmarks:
                    initial.append(bookmark(pos, True))
            else:
                try:
                    pos = int(rvq)
                except ValueError:
                    raise bad_request(f"invalid resource version {rvq!r}")
                if pos > st.rv:
                    # the real watch cache waits up to 3s for it to appear
                    deadline = time.monotonic() + 3
                    while pos > st.rv and time.monotonic() < deadline:
                        st.cond.wait(deadline - time.monotonic())
                    if pos > st.rv:
                        raise too_large(pos, st.rv)
            expired = pos < st.compacted or gone_mode == "event"
            ctx = _WatchCtx()
            self.watches.add(ctx)
        try:
            h.start_chunked()
            if expired:
                err = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                       "status": "Failure",
                       "message": f"too old resource version: {pos} ({st.compacted})",
                       "reason": "Expired", "code": 410}
                h.write_events([enc("ERROR", err)])
                h.end_chunked()
                return
            h.write_events(initial)
            t0 = time.monotonic()
            deadline = t0 + timeout
            next_bm = t0 + self.bookmark_interval
            while True:
                lines = []
                with st.cond:
                    while True:
                        if ctx.end or self._epoch != epoch or st is not self.store:
                            break
                        now = time.monotonic()
                        if st.log_rvs and st.log_rvs[-1] > pos:
                            break
                        if now >= deadline or (bookmarks and now >= next_bm):
                            break
                        wake = min(deadline, next_bm if bookmarks else deadline)
                        st.cond.wait(max(0.0, min(wake - now, 0.5)))
                    end = ctx.end or ("abort" if self._epoch != epoch or
                                         st is not self.store else None)
                    if end:
                        pass
                    elif pos < st.compacted:
                        end = "clean"   # slow watcher: the real cacher terminates it
                    else:
                        for ev in st.events_after(pos):
                            pos = ev.rv
                            if ev.res is not res:
                                continue
                            now_vis = visible(ev.obj, ev.ns) and ev.type != "DELETED"
                            was_vis = visible(ev.prev, ev.ns) if ev.prev else False
                            if ev.type == "DELETED":
                                if was_vis:
                                    lines.append(enc("DELETED", ev.obj))
                            elif now_vis and was_vis:
                                lines.append(enc("MODIFIED", ev.obj))
                            elif now_vis:
                                lines.append(enc("ADDED", ev.obj))
                            elif was_vis:
                                lines.append(enc("DELETED", ev.obj))
                        pos = max(pos, st.rv)
                    now = time.monotonic()
                    if not end and bookmarks and now >= next_bm:
                        lines.append(bookmark(pos))
                        next_bm = now + self.bookmark_interval
                if end == "abort":
                    h.close_connection = True
                    h.connection.shutdown(socket.SHUT_RDWR)
                    return
                h.write_events(lines)
                if end == "clean" or time.monotonic() >= deadline:
                    h.end_chunked()
                    return
        finally:
            with st.cond:
                self.watches.discard(ctx)


def in_private_netns():
    """True inside a named network namespace (one made by `ip netns add`,
    bound under /run/netns), not the machine's own: there a non-loopback
    address reaches only the test's own veths and bridges, never a real
    network.  (PID 1's namespace can't be read in every sandbox, so the test
    is "we are in one of the named ones".)"""
    try:
        me = os.stat("/proc/self/ns/net")
        for name in os.listdir("/run/netns"):
            st = os.stat(os.path.join("/run/netns", name))
            if (st.st_dev, st.st_ino) == (me.st_dev, me.st_ino):
                return True
    except OSError:
        pass
    return False


def make_self_signed(d, host="127.0.0.1"):
    """A self-signed certificate for 127.0.0.1 / localhost (and `host`) made
    with `openssl req`; returns (cert, key) paths."""
    san = "IP:127.0.0.1,IP:::1,DNS:localhost"
    tag = ""
    if host not in ("127.0.0.1", "::1", "localhost"):
        san += f",IP:{host}"
        tag = "-" + host.replace(":", "_")
    cert = os.path.join(d, f"apiserver{tag}.crt")
    key = os.path.join(d, f"apiserver{tag}.key")
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=fakeapi",
                        "-addext", f"subjectAltName={san}"],
                       check=True, capture_output=True)
    return cert, key


def main(argv=None):
    ap = argparse.ArgumentParser(description="fake Kubernetes API server (loopback only)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", default=None, help="bearer token (default: no auth)")
    ap.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed cert")
    ap.add_argument("--certdir", default=None)
    ap.add_argument("--kubeconfig", default=None, help="write a kubeconfig here")
    ap.add_argument("--history", type=int, default=1000, help="watch history (events)")
    ap.add_argument("--bookmark-interval", type=float, default=60.0)
    ap.add_argument("--anonymous", action="store_true",
                    help="requests without a token are system:anonymous (403) instead of 401")
    ap.add_argument("--delay-first-list", action="append", default=[],
                    metavar="RESOURCE=SECONDS",
                    help="answer the first LIST of RESOURCE (plural, e.g. nodes) SECONDS "
                         "late, with every LIST of it that arrives meanwhile (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--preload-endpointslices", type=int, default=0, metavar="N",
                    help="start with N EndpointSlices in namespace default (bench/k8s-list)")
    a = ap.parse_args(argv)
    holds = []
    for spec in a.delay_first_list:
        plural, sep, secs = spec.partition("=")
        try:
            if not sep or not any(r.plural == plural for r in RESOURCES):
                raise ValueError
            holds.append((plural, float(secs)))
        except ValueError:
            ap.error(f"--delay-first-list {spec!r}: want RESOURCE=SECONDS with RESOURCE "
                     "one of " + ", ".join(sorted({r.plural for r in RESOURCES})))
    srv = FakeAPIServer(a.host, a.port, a.token, a.tls, a.certdir, a.history,
                        a.bookmark_interval, a.anonymous, a.verbose)
    for plural, secs in holds:
        srv.delay_first_list(plural, secs)
    if a.preload_endpointslices:
        srv.preload_endpointslices(a.preload_endpointslices)
    srv.start()
    if a.kubeconfig:
        srv.write_kubeconfig(a.kubeconfig)
    print(f"fakeapi listening on {srv.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    main()
