"""The list+watch engine (src/k8s/k8s_watch.c) against the fake API server,
through tests/k8s_watchprobe.  Loopback only; needs no root.

The probe prints SYNC n (then ITEM ns/name rv per listed object), ADDED /
MODIFIED / DELETED ns/name rv, RELIST reason and ERROR text; with --pages,
PAGE n first|more and that page's ITEMs as each page is handed over, then
SYNC n (PageModel replays those as the daemon's store does).  Each test
replays those lines into a model (a relist replaces it, events change it) and
checks the model against the server: nothing lost, nothing doubled, in order.
"""
import os
import queue
import subprocess
import sys
import threading
import time
from urllib.parse import parse_qs

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakeapi import FakeAPIServer  # noqa: E402
from fakeapi_fixtures import TOKEN  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BGPLB_BUILD", os.path.join(TOP, "build"))
PROBE = os.path.join(BUILD, "tests", "k8s_watchprobe")

pytestmark = pytest.mark.skipif(not os.path.exists(PROBE),
                                reason=f"{PROBE} is not built")

NS = "default"
CM_PATH = f"/api/v1/namespaces/{NS}/configmaps"
SANITIZER_MARKS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer", b"runtime error:")


class Probe:
    """k8s_watchprobe running in the background; lines collected by a thread."""

    def __init__(self, kubeconfig, path=CM_PATH, *args):
        self.p = subprocess.Popen([PROBE, "--kubeconfig", kubeconfig, "--items"] +
                                  list(args) + [path],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines, self.q = [], queue.Queue()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        self.model, self.syncs, self.relists, self.events = {}, 0, [], []

    def _read(self):
        for raw in self.p.stdout:
            self.q.put(raw.decode(errors="replace").rstrip("\n"))

    def _apply(self, line):
        self.lines.append(line)
        word, _, rest = line.partition(" ")
        if word == "SYNC":
            self.model, self.syncs = {}, self.syncs + 1
        elif word == "ITEM":
            key, rv = rest.split(" ")
            self.model[key] = rv
        elif word in ("ADDED", "MODIFIED", "DELETED"):
            key, rv = rest.split(" ")
            self.events.append((word, key, rv))
            if word == "ADDED":
                assert key not in self.model, f"ADDED twice: {line}\n{self.dump()}"
                self.model[key] = rv
            elif word == "MODIFIED":
                assert key in self.model, f"MODIFIED unknown: {line}\n{self.dump()}"
                assert int(rv) > int(self.model[key]), f"went back: {line}"
                self.model[key] = rv
            else:
                assert key in self.model, f"DELETED unknown: {line}\n{self.dump()}"
                del self.model[key]
        elif word == "RELIST":
            self.relists.append(rest)

    def dump(self):
        return "\n".join(self.lines[-60:])

    def wait(self, pred, timeout=15, what="condition"):
        end = time.time() + timeout
        while not pred():
            left = end - time.time()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}\n{self.dump()}")
            try:
                self._apply(self.q.get(timeout=min(left, 0.2)))
            except queue.Empty:
                if self.p.poll() is not None:
                    raise AssertionError(f"probe exited {self.p.returncode}\n"
                                         f"{self.p.stderr.read().decode()}\n{self.dump()}")
        return True

    def drain(self, seconds=0.3):
        end = time.time() + seconds
        while time.time() < end:
            try:
                self._apply(self.q.get(timeout=0.05))
            except queue.Empty:
                pass

    def stop(self):
        self.p.terminate()
        try:
            _, err = self.p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            _, err = self.p.communicate()
        for m in SANITIZER_MARKS:
            assert m not in err, err.decode(errors="replace")


def _list(srv):
    import http.client
    import json
    c = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    c.request("GET", CM_PATH, headers={"Authorization": f"Bearer {TOKEN}"})
    body = json.loads(c.getresponse().read())
    c.close()
    return {f"{i['metadata']['namespace']}/{i['metadata']['name']}":
            i["metadata"]["resourceVersion"] for i in body["items"]}


def cm(name, v="1"):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"v": v}}


def create(srv, name, v="1"):
    return srv.create("configmaps", cm(name, v), namespace=NS)


def update(srv, name, v):
    o = srv.get("configmaps", name, namespace=NS)
    o["data"] = {"v": v}
    return srv.update("configmaps", o, namespace=NS)


def watches(srv, since=0.0):
    return [r for r in srv.requests_matching(method="GET", path=r"/configmaps$")
            if "watch=1" in (r["query"] or "") and r["t"] >= since]


def lists(srv, since=0.0):
    return [r for r in srv.requests_matching(method="GET", path=r"/configmaps$")
            if "watch=1" not in (r["query"] or "") and r["t"] >= since]


def converged(probe, srv):
    try:
        return probe.model == _list(srv)
    except Exception:
        return False


@pytest.fixture
def srv():
    s = FakeAPIServer(token=TOKEN, bookmark_interval=0.2).start()
    yield s
    s.stop()


@pytest.fixture
def kc(srv, tmp_path):
    return srv.write_kubeconfig(str(tmp_path / "kubeconfig"))


@pytest.fixture
def probe_of(kc):
    started = []

    def start(*args, path=CM_PATH):
        p = Probe(kc, path, *args)
        started.append(p)
        return p
    yield start
    for p in started:
        p.stop()


def test_initial_list_paginated(srv, probe_of):
    for i in range(1203):
        create(srv, f"cm-{i:04d}")
    p = probe_of()
    p.wait(lambda: p.syncs == 1 and len(p.model) == 1203, what="SYNC 1203")
    assert "SYNC 1203" in p.lines
    ls = lists(srv)
    assert len(ls) == 3, ls
    qs = [parse_qs(r["query"]) for r in ls]
    assert all(q["limit"] == ["500"] for q in qs)
    assert "continue" not in qs[0] and "continue" in qs[1] and "continue" in qs[2]
    p.wait(lambda: len(watches(srv)) == 1, what="the watch")
    q = parse_qs(watches(srv)[0]["query"])
    assert q["allowWatchBookmarks"] == ["true"]
    assert 300 <= int(q["timeoutSeconds"][0]) <= 600
    assert int(q["resourceVersion"][0]) >= srv.resource_version - 1
    assert p.model == _list(srv)


def test_changes_in_order(srv, probe_of):
    create(srv, "pre")
    p = probe_of()
    p.wait(lambda: p.syncs == 1, what="SYNC")
    p.wait(lambda: len(watches(srv)) == 1, what="the watch")
    a = create(srv, "a")
    a2 = update(srv, "a", "2")
    srv.delete("configmaps", "a", namespace=NS)
    b = create(srv, "b")
    p.wait(lambda: len(p.events) >= 4, what="4 events")
    ev = p.events[:4]
    assert ev[0] == ("ADDED", "default/a", a["metadata"]["resourceVersion"])
    assert ev[1] == ("MODIFIED", "default/a", a2["metadata"]["resourceVersion"])
    assert ev[2][:2] == ("DELETED", "default/a")
    assert ev[3] == ("ADDED", "default/b", b["metadata"]["resourceVersion"])
    assert p.model == _list(srv)
    assert p.relists == []


def test_bookmarks_move_resource_version(srv, probe_of):
    p = probe_of()
    p.wait(lambda: p.syncs == 1, what="SYNC")
    p.wait(lambda: len(watches(srv)) == 1, what="the watch")
    # Writes elsewhere move the global resourceVersion; only bookmarks tell us.
    for i in range(3):
        srv.create("configmaps", cm(f"o{i}"), namespace="kube-system")
    head = srv.resource_version
    time.sleep(1.0)			# several bookmark intervals
    p.drain()
    assert p.events == []		# a bookmark is not an event
    t = time.time()
    srv.close_watches(clean=True)
    p.wait(lambda: len(watches(srv, t)) >= 1, what="the re-watch")
    q = parse_qs(watches(srv, t)[0]["query"])
    assert int(q["resourceVersion"][0]) >= head
    assert p.relists == [] and p.syncs == 1


@pytest.mark.parametrize("mode,reason", [("event", "expired"), ("http", "gone")])
def test_410_relists_without_loss(srv, probe_of, mode, reason):
    for i in range(5):
        create(srv, f"x{i}")
    p = probe_of()
    p.wait(lambda: p.syncs == 1, what="SYNC")
    p.wait(lambda: len(watches(srv)) == 1, what="the watch")
    srv.fail_next_watches(1, mode)
    srv.close_watches(clean=True)
    # Changes while the watch is failing and the engine relists.
    update(srv, "x1", "2")
    srv.delete("configmaps", "x2", namespace=NS)
    create(srv, "y")
    p.wait(lambda: p.relists, what="RELIST")
    assert p.relists == [reason]
    p.wait(lambda: p.syncs == 2, what="the second SYNC")
    # And changes after it.
    create(srv, "z")
    update(srv, "y", "3")
    p.wait(lambda: converged(p, srv), what="convergence")


def test_compaction_relists(srv, probe_of):
    create(srv, "c0")
    p = probe_of("--backoff-ms", "100")
    p.wait(lambda: p.syncs == 1, what="SYNC")
    p.wait(lambda: len(watches(srv)) == 1, what="the watch")
    # The next watch is held back while its resourceVersion is compacted away.
    srv.inject_delay(1.5, count=1, watch=True)
    srv.close_watches(clean=False)
    time.sleep(0.3)
    for i in range(5):
        create(srv, f"c{i + 1}")
    srv.compact()
    p.wait(lambda: p.relists, what="RELIST", timeout=20)
    assert p.relists[0] in ("expired", "gone")
    p.wait(lambda: converged(p, srv), what="convergence")


def test_dropped_stream_rewatches(srv, probe_of):
    p = probe_of()
    p.wait(lambda: p.syncs == 1, what="SYNC")
    p.wait(lambda: len(watches(srv)) == 1, what="the watch")
    create(srv, "before")
    p.wait(lambda: "default/before" in p.model, what="ADDED before")
    srv.close_watches(clean=False)
    create(srv, "after")
    p.wait(lambda: "default/after" in p.model, what="ADDED after")
    assert len(watches(srv)) >= 2
    assert p.relists == [] and p.syncs == 1
    # Resumed from the last version: "before" is not delivered again.
    assert [e for e in p.events if e[1] == "default/before"] == \
        [("ADDED", "default/before", p.model["default/before"])]


def test_clean_end_rewatches(srv, probe_of):
    p = probe_of("--timeout-seconds", "1")
    p.wait(lambda: p.syncs == 1, what="SYNC")
    p.wait(lambda: len(watches(srv)) >= 3, what="three watches", timeout=20)
    create(srv, "late")
    p.wait(lambda: "default/late" in p.model, what="ADDED late")
    assert p.relists == [] and p.syncs == 1
    assert lists(srv) and len(lists(srv)) == 1


@pytest.mark.parametrize("code", [429, 503])
def test_retry_after_on_watch(srv, probe_of, code):
    p = probe_of()
    p.wait(lambda: p.syncs == 1, what="SYNC")
    p.wait(lambda: len(watches(srv)) == 1, what="the watch")
    create(srv, "w")
    p.wait(lambda: "default/w" in p.model, what="ADDED w")
    srv.inject_status(code, count=1, retry_after=2, watch=True)
    t = time.time()
    srv.close_watches(clean=True)
    p.wait(lambda: len(watches(srv, t)) >= 2, what="the retried watch", timeout=20)
    w = watches(srv, t)
    assert w[1]["t"] - w[0]["t"] >= 1.9, w
    create(srv, "after")
    p.wait(lambda: converged(p, srv), what="convergence")
    assert p.relists == []


def test_429_retry_after_on_list(srv, probe_of):
    create(srv, "l")
    srv.inject_status(429, count=1, retry_after=2, watch=False)
    t = time.time()
    p = probe_of()
    p.wait(lambda: p.syncs == 1, what="SYNC", timeout=20)
    ls = lists(srv, t)
    assert len(ls) == 2 and ls[1]["t"] - ls[0]["t"] >= 1.9, ls


def test_500_backs_off_then_recovers(srv, probe_of):
    srv.inject_status(500, count=3, watch=False)
    p = probe_of("--backoff-ms", "100")
    p.wait(lambda: p.syncs == 1, what="SYNC", timeout=20)
    ls = lists(srv)
    assert len(ls) == 4
    gaps = [b["t"] - a["t"] for a, b in zip(ls, ls[1:])]
    # 100ms, 200ms, 400ms steps with jitter in [d/2, d].
    assert gaps[0] >= 0.04 and gaps[2] >= 0.19, gaps
    assert any(line.startswith("ERROR ") for line in p.lines)


@pytest.mark.parametrize("split,coalesce", [(1, False), (7, False), (0, True), (13, True)])
def test_odd_chunk_splits(srv, probe_of, split, coalesce):
    srv.set_watch_chunking(split=split, coalesce=coalesce, pause=0.0005)
    p = probe_of()
    p.wait(lambda: p.syncs == 1, what="SYNC")
    p.wait(lambda: len(watches(srv)) == 1, what="the watch")
    for i in range(20):
        create(srv, f"s{i}", v="x" * (i * 37))
    for i in range(0, 20, 3):
        update(srv, f"s{i}", "y")
    p.wait(lambda: converged(p, srv), what="convergence", timeout=30)
    assert p.relists == [] and p.syncs == 1
    assert not [line for line in p.lines if line.startswith("ERROR")]


def test_continue_token_expired_relists(srv, probe_of):
    for i in range(1203):
        create(srv, f"p{i:04d}")
    # Hold back the first two pages; compact between them so that the
    # continue token's snapshot is gone when page 2 is served.
    srv.inject_delay(1.5, count=2, watch=False, path=r"/configmaps$")
    t = time.time()
    p = probe_of()
    deadline = t + 2.2
    while time.time() < deadline:
        time.sleep(0.05)
    create(srv, "newer")
    srv.compact()
    p.wait(lambda: p.syncs == 1 and len(p.model) == 1204, what="SYNC 1204", timeout=30)
    assert p.relists == ["continue-expired"], p.dump()
    p.wait(lambda: converged(p, srv), what="convergence")
    qs = [parse_qs(r["query"]) for r in lists(srv, t)]
    assert "continue" in qs[1] and "continue" not in qs[2], qs


def test_line_too_long_relists(srv, probe_of):
    p = probe_of("--max-line", "2048")
    p.wait(lambda: p.syncs == 1, what="SYNC")
    p.wait(lambda: len(watches(srv)) == 1, what="the watch")
    create(srv, "small")
    p.wait(lambda: "default/small" in p.model, what="ADDED small")
    create(srv, "big", v="x" * 4096)	# its event line is over the limit
    p.wait(lambda: p.relists, what="RELIST")
    assert p.relists == ["line-too-long"]
    # The list has no line limit: the object arrives with the relist.
    p.wait(lambda: p.syncs == 2 and "default/big" in p.model, what="SYNC with big")
    create(srv, "after")
    p.wait(lambda: converged(p, srv), what="convergence")


def test_selectors(srv, probe_of):
    srv.create("configmaps", {**cm("a"), "metadata": {"name": "a", "labels": {"app": "x"}}},
               namespace=NS)
    create(srv, "b")
    p = probe_of("--label-selector", "app%3Dx")
    p.wait(lambda: p.syncs == 1 and len(p.model) == 1, what="SYNC 1")
    assert list(p.model) == ["default/a"]
    p.wait(lambda: len(watches(srv)) == 1, what="the watch")
    assert parse_qs(watches(srv)[0]["query"])["labelSelector"] == ["app=x"]
    create(srv, "c")
    srv.create("configmaps", {**cm("d"), "metadata": {"name": "d", "labels": {"app": "x"}}},
               namespace=NS)
    p.wait(lambda: "default/d" in p.model, what="ADDED d")
    assert "default/c" not in p.model
    f = probe_of("--field-selector", "metadata.name%3Db")
    f.wait(lambda: f.syncs == 1 and len(f.model) == 1, what="SYNC 1 (field)")
    assert list(f.model) == ["default/b"]


class PageModel:
    """The store's rule over the probe's --pages lines: a first page starts a
    list (marks cleared), each ITEM is stored and marked, SYNC sweeps what the
    list did not mark."""

    def __init__(self, probe):
        self.p, self.done = probe, 0
        self.model, self.marks, self.pages = {}, set(), []

    def update(self):
        self.p.drain(0.1)
        for line in self.p.lines[self.done:]:
            word, _, rest = line.partition(" ")
            if word == "PAGE":
                n, kind = rest.split(" ")
                self.pages.append((int(n), kind))
                if kind == "first":
                    self.marks = set()
            elif word == "ITEM":
                key, rv = rest.split(" ")
                self.model[key] = rv
                self.marks.add(key)
            elif word == "SYNC":
                self.model = {k: v for k, v in self.model.items() if k in self.marks}
        self.done = len(self.p.lines)
        return self


def test_pages_are_handed_over_as_they_arrive(srv, probe_of):
    for i in range(1203):
        create(srv, f"g{i:04d}")
    # Every page is held back 1.5 s: each reaches the owner while the next
    # is still on its way (the engine keeps no page).
    srv.inject_delay(1.5, count=3, watch=False, path=r"/configmaps$")
    p = probe_of("--pages")
    seen = {}

    def page(n):
        for line in p.lines:
            if line.startswith("PAGE") and line not in seen:
                seen[line] = time.time()
        return len(seen) >= n
    p.wait(lambda: page(1), what="the first page", timeout=20)
    assert not any(line.startswith("SYNC") for line in p.lines), p.dump()
    p.wait(lambda: page(2), what="the second page", timeout=20)
    p.wait(lambda: p.syncs == 1, what="SYNC", timeout=20)
    assert seen["PAGE 500 more"] - seen["PAGE 500 first"] >= 1.0, seen
    pages = [line for line in p.lines if line.startswith("PAGE")]
    assert pages == ["PAGE 500 first", "PAGE 500 more", "PAGE 203 more"], pages
    assert "SYNC 1203" in p.lines
    m = PageModel(p).update()
    assert m.model == _list(srv)


def test_expired_continue_restarts_the_list_and_sweeps_right(srv, probe_of):
    for i in range(1203):
        create(srv, f"p{i:04d}")
    p = probe_of("--pages", "--backoff-ms", "100")
    p.wait(lambda: p.syncs == 1, what="the first SYNC", timeout=30)
    p.wait(lambda: len(watches(srv)) == 1, what="the watch")
    m = PageModel(p).update()
    assert m.model == _list(srv)
    # A relist whose continue token expires after its first page: page 2 is
    # held back while objects go (one on page 1, one on page 3), one comes,
    # and the history is compacted.
    srv.inject_delay(1.5, count=2, watch=False, path=r"/configmaps$")
    t = time.time()
    srv.fail_next_watches(1, "http")
    srv.close_watches(clean=True)
    p.wait(lambda: len(p.relists) == 1, what="the relist")
    p.wait(lambda: sum(1 for line in p.lines if line.startswith("PAGE")) == 4,
           what="the relist's first page", timeout=20)
    srv.delete("configmaps", "p0000", namespace=NS)
    srv.delete("configmaps", "p1100", namespace=NS)
    create(srv, "newer")
    srv.compact()
    p.wait(lambda: p.syncs == 2, what="the second SYNC", timeout=30)
    assert p.relists == ["gone", "continue-expired"], p.dump()
    m.update()
    # The aborted list's page saw p0000; the sweep after the complete list
    # removed it all the same, and p1100 (never seen again) too.
    assert [pg for pg in m.pages[3:]] == [(500, "first"), (500, "first"), (500, "more"),
                                         (202, "more")], m.pages
    assert "default/p0000" not in m.model and "default/p1100" not in m.model
    assert "default/newer" in m.model
    assert m.model == _list(srv)
    qs = [parse_qs(r["query"]) for r in lists(srv, t)]
    assert "continue" not in qs[0] and "continue" in qs[1] and "continue" not in qs[2], qs
    # And the watch goes on from there.
    create(srv, "after")
    p.wait(lambda: any(e[1] == "default/after" for e in p.events), what="ADDED after")
