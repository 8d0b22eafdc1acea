"""The Event recorder (src/k8s/k8s_events.c) against the fake API server,
through tests/k8s_eventprobe.  Loopback only; needs no root.

The probe reads commands on stdin (record / burst / stats / wait) and
prints STATS, IDLE and ERROR lines; each test then reads the Events back
from the server and checks what a `kubectl describe` would show.
"""
import os
import queue
import re
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakeapi import FakeAPIServer  # noqa: E402
from fakeapi_fixtures import TOKEN, Client  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BGPLB_BUILD", os.path.join(TOP, "build"))
PROBE = os.path.join(BUILD, "tests", "k8s_eventprobe")

pytestmark = pytest.mark.skipif(not os.path.exists(PROBE),
                                reason=f"{PROBE} is not built")
NS = "protopod"


class Probe:
    def __init__(self, kubeconfig, *args):
        self.p = subprocess.Popen([PROBE, "--kubeconfig", kubeconfig, "--host", "node-1"] +
                                  list(args), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  encoding="utf-8", errors="replace")
        self.q = queue.Queue()
        self.errors = []
        threading.Thread(target=self._read, daemon=True).start()
        assert self.expect("READY") == "READY"

    def _read(self):
        for line in self.p.stdout:
            line = line.rstrip("\n")
            if line.startswith("ERROR "):
                self.errors.append(line[6:])
            self.q.put(line)

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def expect(self, prefix, timeout=15):
        end = time.time() + timeout
        while time.time() < end:
            try:
                line = self.q.get(timeout=max(0.01, end - time.time()))
            except queue.Empty:
                break
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no {prefix!r} from the probe; errors: {self.errors}")

    def record(self, kind, name, typ, reason, message, ns=NS):
        self.send(f"record {kind} {ns} {name} {typ} {reason} {message}")

    def wait(self, timeout=15):
        self.send("wait")
        self.expect("IDLE", timeout)

    def stats(self):
        self.send("stats")
        line = self.expect("STATS")
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}

    def close(self):
        if self.p.poll() is None:
            try:
                self.send("quit")
                self.p.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait()
        err = self.p.stderr.read()
        assert "AddressSanitizer" not in err and "runtime error:" not in err, err
        assert self.p.returncode == 0, (self.p.returncode, err)


@pytest.fixture
def api():
    srv = FakeAPIServer(token=TOKEN).start()
    # Events live in their object's namespace, which must exist (404 if not).
    srv.create("namespaces", {"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": NS}})
    yield srv
    srv.stop()


@pytest.fixture
def probe_factory(api, tmp_path):
    kc = api.write_kubeconfig(str(tmp_path / "kubeconfig"))
    probes = []

    def make(*args):
        p = Probe(kc, *args)
        probes.append(p)
        return p
    yield make
    for p in probes:
        p.close()


def events(api, ns=NS):
    st, body, _ = Client(api).req("GET", f"/api/v1/namespaces/{ns}/events")
    assert st == 200, body
    return body["items"]


def test_event_is_written_with_its_object_and_source(api, probe_factory):
    p = probe_factory()
    p.record("Service", "protopod", "Normal", "IPAllocated", 'Assigned IP ["172.16.13.254"]')
    p.wait()
    evs = events(api)
    assert len(evs) == 1, evs
    e = evs[0]
    assert e["involvedObject"]["kind"] == "Service"
    assert e["involvedObject"]["namespace"] == NS
    assert e["involvedObject"]["name"] == "protopod"
    assert e["reason"] == "IPAllocated"
    assert e["message"] == 'Assigned IP ["172.16.13.254"]'
    assert e["type"] == "Normal"
    assert e["source"] == {"component": "bgplb", "host": "node-1"}
    assert e["count"] == 1
    assert e["metadata"]["name"].startswith("protopod.")
    assert p.stats()["posted"] == 1


def test_repeats_aggregate_into_one_event_with_a_count(api, probe_factory):
    p = probe_factory("--max-inflight", "1")
    for _ in range(5):
        p.record("Service", "svc", "Warning", "AllocationFailed",
                 'Failed to allocate IP for "protopod/svc": unknown pool "poc"')
    p.wait()
    # Later repeats, each after the previous write finished: PATCHes.
    for _ in range(3):
        p.record("Service", "svc", "Warning", "AllocationFailed",
                 'Failed to allocate IP for "protopod/svc": unknown pool "poc"')
        p.wait()
    evs = events(api)
    assert len(evs) == 1, evs
    assert evs[0]["count"] == 8
    assert evs[0]["type"] == "Warning"
    assert evs[0]["lastTimestamp"] >= evs[0]["firstTimestamp"]
    st = p.stats()
    assert st["posted"] == 1 and st["aggregated"] == 7 and st["failed"] == 0, st
    patches = api.requests_matching(method="PATCH", path=r"/events/")
    assert 1 <= len(patches) <= 4, patches
    assert all(r["contentType"] == "application/merge-patch+json" for r in patches)


def test_different_messages_are_different_events(api, probe_factory):
    p = probe_factory()
    p.record("Service", "svc", "Normal", "IPAllocated", "Assigned IP a")
    p.record("Service", "svc", "Normal", "IPAllocated", "Assigned IP b")
    p.record("Service", "svc", "Warning", "IPAllocated", "Assigned IP a")
    p.record("Service", "other", "Normal", "IPAllocated", "Assigned IP a")
    p.wait()
    got = sorted((e["involvedObject"]["name"], e["type"], e["message"], e["count"])
                 for e in events(api))
    assert got == [("other", "Normal", "Assigned IP a", 1),
                   ("svc", "Normal", "Assigned IP a", 1),
                   ("svc", "Normal", "Assigned IP b", 1),
                   ("svc", "Warning", "Assigned IP a", 1)]


def test_deleted_event_is_written_anew(api, probe_factory):
    p = probe_factory()
    p.record("ConfigMap", "config", "Normal", "ConfigLoaded", "loaded")
    p.wait()
    (e,) = events(api)
    api.delete("events", e["metadata"]["name"], namespace=NS)
    assert events(api) == []
    # The PATCH's 404 comes seconds after the repeat: the new Event still
    # never ends before it begins.
    api.inject_delay(1.5, count=1, method="PATCH", path=r"/events/")
    p.record("ConfigMap", "config", "Normal", "ConfigLoaded", "loaded")
    p.wait()
    evs = events(api)
    assert len(evs) == 1, evs
    assert evs[0]["involvedObject"]["kind"] == "ConfigMap"
    assert evs[0]["count"] == 1
    assert evs[0]["metadata"]["name"] != e["metadata"]["name"]
    assert evs[0]["lastTimestamp"] >= evs[0]["firstTimestamp"], evs[0]
    assert evs[0]["firstTimestamp"] >= e["firstTimestamp"]
    st = p.stats()
    assert st["posted"] == 2 and st["patched"] == 0 and st["failed"] == 0, st
    patches = api.requests_matching(method="PATCH", path=r"/events/")
    assert len(patches) == 1, patches


def test_a_long_message_is_cut_on_a_character_boundary(api, probe_factory):
    # 1023 ASCII bytes, then a 2-byte character across the 1024-byte limit.
    p = probe_factory()
    p.record("Service", "svc", "Warning", "AllocationFailed", "a" * 1023 + "\u00e9" + "b" * 50)
    p.wait()
    st = p.stats()
    assert st["posted"] == 1 and st["failed"] == 0, (st, p.errors)
    (e,) = events(api)
    assert e["message"] == "a" * 1023


@pytest.mark.parametrize("code", [500, 429])
def test_a_transient_failure_is_retried_once(api, probe_factory, code):
    api.inject_status(code, count=1, method="POST", path=r"/events$",
                      retry_after=1 if code == 429 else None)
    p = probe_factory()
    t0 = time.time()
    p.record("Service", "svc", "Normal", "IPAllocated", "Assigned IP x")
    p.wait(timeout=10)
    assert time.time() - t0 >= 0.9          # waited (Retry-After, or 1 s)
    evs = events(api)
    assert len(evs) == 1 and evs[0]["count"] == 1, evs
    st = p.stats()
    assert st["posted"] == 1 and st["failed"] == 0, st
    posts = api.requests_matching(method="POST", path=r"/events$")
    assert len(posts) == 2, posts


def test_a_missing_namespace_is_reported_not_retried(api, probe_factory):
    p = probe_factory()
    p.record("Service", "svc", "Normal", "IPAllocated", "x", ns="nowhere")
    p.wait()
    st = p.stats()
    assert st["failed"] == 1 and st["posted"] == 0, st
    assert any("HTTP 404" in e for e in p.errors), p.errors
    assert len(api.requests_matching(method="POST", path=r"/events$")) == 1


def test_a_lasting_failure_counts_and_reports(api, probe_factory):
    api.inject_status(500, count=None, method="POST", path=r"/events$")
    p = probe_factory()
    p.record("Service", "svc", "Normal", "IPAllocated", "Assigned IP x")
    p.wait(timeout=10)
    st = p.stats()
    assert st["failed"] == 1 and st["posted"] == 0, st
    assert any("HTTP 500" in e for e in p.errors), p.errors
    assert events(api) == []


def test_overflow_drops_the_oldest_and_stays_responsive(api, probe_factory):
    # Every write is slow: the queue fills up; the probe must still answer.
    api.inject_delay(0.5, count=None, method="POST", path=r"/events$")
    p = probe_factory("--max-inflight", "1", "--max-queue", "10")
    p.send("burst 50 Service protopod svc Normal IPAllocated burst")
    t0 = time.time()
    st = p.stats()
    assert time.time() - t0 < 2, "the probe blocked"
    assert st["dropped"] == 39, st           # 1 in flight + 10 waiting kept
    assert st["queued"] == 11, st
    assert any("queue full" in e for e in p.errors), p.errors
    p.wait(timeout=20)
    evs = events(api)
    assert len(evs) == 11, len(evs)
    msgs = sorted(int(e["message"].split()[-1]) for e in evs)
    # The first (in flight) and the newest ten survive.
    assert msgs == [0] + list(range(40, 50)), msgs
