"""Leader election (src/k8s/k8s_leader.c) against the fake API server, through
tests/k8s_leaderprobe.  Loopback only; needs no root.

Each probe prints STARTED, STOPPED, LEADER <holder> ("(none)" for a free
Lease), ERROR <text> and, after SIGTERM, RELEASED.  Lines are time-stamped as
they arrive; the Lease is read back over the fake's HTTP API, and the fake's
request log says what was sent when.

Timings are short but keep client-go's shape: lease 3 s > renew deadline 2 s
> retry 300 ms * 1.2.  Bounds are what the protocol promises, with margins:
a follower takes over no sooner than a lease duration after the last renewal
it could have seen, and no later than that plus two jittered retry periods.
"""
import datetime
import os
import queue
import signal
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
PROBE = os.path.join(BUILD, "tests", "k8s_leaderprobe")

pytestmark = pytest.mark.skipif(not os.path.exists(PROBE),
                                reason=f"{PROBE} is not built")

NS, NAME = "default", "bgplb-leader"
GROUP = "coordination.k8s.io"
LEASE_PATH = f"/apis/{GROUP}/v1/namespaces/{NS}/leases/{NAME}"
LEASE_S, RENEW_S, RETRY_S = 3.0, 2.0, 0.3
JITTER_MAX_S = RETRY_S * 2.2       # the longest wait between tries to acquire
SANITIZER_MARKS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer", b"runtime error:")


class Probe:
    """k8s_leaderprobe in the background; (time, line) collected by a thread."""

    def __init__(self, kubeconfig, identity, *args):
        self.identity = identity
        self.p = subprocess.Popen(
            [PROBE, "--kubeconfig", kubeconfig, "--lease", f"{NS}/{NAME}",
             "--identity", identity, "--lease-ms", str(int(LEASE_S * 1000)),
             "--renew-ms", str(int(RENEW_S * 1000)),
             "--retry-ms", str(int(RETRY_S * 1000))] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines, self.q = [], queue.Queue()
        self.err = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        self.te = threading.Thread(target=lambda: self.err.append(self.p.stderr.read()),
                                   daemon=True)
        self.te.start()

    def _read(self):
        for raw in self.p.stdout:
            self.q.put((time.time(), raw.decode(errors="replace").rstrip("\n")))

    @property
    def stderr(self):
        return b"".join(self.err)

    def pump(self, block_s=0.0):
        try:
            self.lines.append(self.q.get(timeout=block_s) if block_s else
                              self.q.get_nowait())
            while True:
                self.lines.append(self.q.get_nowait())
        except queue.Empty:
            pass

    def dump(self):
        return f"--- {self.identity}:\n" + "\n".join(
            f"{t:.3f} {ln}" for t, ln in self.lines[-60:])

    def times(self, line):
        self.pump()
        return [t for t, ln in self.lines if ln == line]

    def has(self, line):
        return bool(self.times(line))

    def errors(self):
        self.pump()
        return [ln for _, ln in self.lines if ln.startswith("ERROR ")]

    def words(self):
        """The lines other than ERROR, in order."""
        self.pump()
        return [ln for _, ln in self.lines if not ln.startswith("ERROR ")]

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        # The readers see EOF once the probe is gone: every line is in.
        self.t.join(5)
        self.te.join(5)
        self.pump()
        for m in SANITIZER_MARKS:
            assert m not in self.stderr, self.stderr.decode(errors="replace")
        return self.p.returncode


def wait(pred, probes, timeout, what):
    """Until pred() holds; the first time it held (the latest line time)."""
    end = time.time() + timeout
    while True:
        for p in probes:
            p.pump()
        r = pred()
        if r:
            return r
        for p in probes:
            if p.p.poll() is not None and p.q.empty():
                p.te.join(2)
                raise AssertionError(f"{p.identity} exited {p.p.returncode}: "
                                     f"{p.stderr.decode(errors='replace')}\n"
                                     + "\n".join(x.dump() for x in probes))
        if time.time() > end:
            raise AssertionError(f"timed out waiting for {what}\n" +
                                 "\n".join(p.dump() for p in probes))
        time.sleep(0.02)


def first(p, line):
    """pred for wait(): the time of the first `line` of p, or None."""
    return lambda: (p.times(line) or [None])[0]


def lease(srv):
    st, body, _ = Client(srv).req("GET", LEASE_PATH)
    if st == 404:
        return None
    assert st == 200, body
    return body


def wall(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def lease_requests(srv, method, since=0.0, until=None):
    """The probes' requests on leases (not the test's own reads)."""
    return [r for r in srv.requests_matching(method=method, path=r"/leases")
            if r["userAgent"].startswith("bgplb/") and r["t"] >= since and
            (until is None or r["t"] < until)]


@pytest.fixture
def srv():
    s = FakeAPIServer(token=TOKEN).start()
    yield s
    s.stop()


@pytest.fixture
def kc(srv, tmp_path):
    return srv.write_kubeconfig(str(tmp_path / "kubeconfig"))


@pytest.fixture
def probe_of(kc):
    started = []

    def start(identity, *args):
        p = Probe(kc, identity, *args)
        started.append(p)
        return p
    yield start
    for p in started:
        p.stop(signal.SIGKILL)


def lead(probe_of, srv, name="node-a"):
    a = probe_of(name)
    wait(first(a, "STARTED"), [a], 10, f"{name} to lead")
    return a


def test_acquire_creates_then_renews_on_the_fast_path(srv, probe_of):
    a = lead(probe_of, srv)
    assert a.words()[:2] == ["LEADER node-a", "STARTED"]
    # No Lease: one GET (404), then a POST.
    assert [r["method"] for r in lease_requests(srv, None)][:2] == ["GET", "POST"]
    l0 = lease(srv)
    assert l0["spec"]["holderIdentity"] == "node-a"
    assert l0["spec"]["leaseDurationSeconds"] == int(LEASE_S)
    assert l0["spec"]["leaseTransitions"] == 0
    acquired = l0["spec"]["acquireTime"]

    # Renewals: renewTime moves, acquireTime and transitions stay.
    def renewed(n):
        seen = set()

        def pred():
            cur = lease(srv)
            seen.add(cur["spec"]["renewTime"])
            return len(seen) > n and cur
        return pred
    l1 = wait(renewed(3), [a], 10, "three renewals")
    assert l1["spec"]["holderIdentity"] == "node-a"
    assert l1["spec"]["acquireTime"] == acquired
    assert l1["spec"]["leaseTransitions"] == 0
    assert int(l1["metadata"]["resourceVersion"]) > int(l0["metadata"]["resourceVersion"])
    assert wall(l1["spec"]["renewTime"]) > wall(acquired)
    # client-go's fast path: the leader PUTs on its own last write, no GET.
    assert len(lease_requests(srv, "GET")) == 1
    puts = lease_requests(srv, "PUT")
    assert len(puts) >= 3
    # Every retry period (not jittered while leading), give or take.
    gaps = [b["t"] - a_["t"] for a_, b in zip(puts, puts[1:])]
    assert all(RETRY_S * 0.8 <= g <= RETRY_S + 0.7 for g in gaps), gaps
    assert not a.has("STOPPED") and a.errors() == []

    assert a.stop() == 0
    assert a.words()[-2:] == ["STOPPED", "RELEASED"]
    rel = lease(srv)
    assert rel["spec"].get("holderIdentity", "") == ""
    assert rel["spec"]["leaseDurationSeconds"] == 1
    assert rel["spec"]["leaseTransitions"] == 0


def test_simultaneous_start_exactly_one_leads(srv, probe_of):
    a, b = probe_of("node-a"), probe_of("node-b")
    both = [a, b]
    wait(lambda: a.has("STARTED") or b.has("STARTED"), both, 10, "a leader")
    win, lose = (a, b) if a.has("STARTED") else (b, a)
    wait(first(lose, f"LEADER {win.identity}"), both, 10, "the other to see it")
    # Watch for longer than a lease: if the winner's renewals were not
    # seen, the other would take over in that time.
    end = time.time() + LEASE_S + 1.0
    while time.time() < end:
        lose.pump(0.1)
        assert not lose.has("STARTED"), lose.dump()
    win.pump()
    assert win.times("STARTED") and not win.has("STOPPED"), win.dump()
    assert lease(srv)["spec"]["holderIdentity"] == win.identity
    # Both may have found no Lease and POSTed: the second got 409.
    posts = lease_requests(srv, "POST")
    assert len(posts) in (1, 2), posts
    if len(posts) == 2:
        assert any("409" in e for e in lose.errors()), lose.dump()


def test_kill9_takeover_after_expiry(srv, probe_of):
    a = lead(probe_of, srv)
    b = probe_of("node-b")
    wait(first(b, "LEADER node-a"), [a, b], 10, "b to see a")
    time.sleep(RETRY_S * 3)            # a few renewals that b observes
    t_kill = time.time()
    a.p.send_signal(signal.SIGKILL)
    a.p.wait(5)
    t_started = wait(first(b, "STARTED"), [b], LEASE_S + 2 * JITTER_MAX_S + 5,
                     "b to take over")
    # a's last renewal: the last lease PUT before the kill (b writes nothing
    # while a is valid).
    last = max(r["t"] for r in lease_requests(srv, "PUT", until=t_kill))
    # Not before the lease ran out since the last renewal b could have
    # seen (b observes a record's change only after it is written).
    assert t_started - last >= LEASE_S - 0.1, (t_started - last, b.dump())
    # And soon after: b's next tries are at most two jittered periods apart
    # (one to see the last record, one after it expired).
    assert t_started - last <= LEASE_S + 2 * JITTER_MAX_S + 0.6, \
        (t_started - last, b.dump())
    assert b.words()[-2:] == ["LEADER node-b", "STARTED"]
    cur = lease(srv)
    assert cur["spec"]["holderIdentity"] == "node-b"
    assert cur["spec"]["leaseTransitions"] == 1
    assert wall(cur["spec"]["acquireTime"]) >= t_kill - 0.05


def test_sigterm_releases_and_the_other_takes_over_quickly(srv, probe_of):
    a = lead(probe_of, srv)
    b = probe_of("node-b")
    wait(first(b, "LEADER node-a"), [a, b], 10, "b to see a")
    t_term = time.time()
    assert a.stop(signal.SIGTERM) == 0
    assert a.words()[-2:] == ["STOPPED", "RELEASED"], a.dump()
    assert a.errors() == []
    t_started = wait(first(b, "STARTED"), [b], LEASE_S + 5, "b to take over")
    # The released record is free: b takes it at its next try, without
    # waiting for the lease (3 s) to run out.
    assert t_started - t_term <= 2 * JITTER_MAX_S + 0.5, (t_started - t_term, b.dump())
    w = b.words()
    assert w.index("LEADER (none)") < w.index("LEADER node-b") < w.index("STARTED"), w
    cur = lease(srv)
    assert cur["spec"]["holderIdentity"] == "node-b"
    assert cur["spec"]["leaseTransitions"] == 1
    assert cur["spec"]["leaseDurationSeconds"] == int(LEASE_S)


def test_conflict_one_of_two_takeovers_wins(srv, probe_of):
    # A free Lease (as a release leaves it); both nodes read the same
    # resourceVersion and PUT; the PUTs are held so that both are in flight.
    srv.create("leases", {
        "apiVersion": f"{GROUP}/v1", "kind": "Lease", "metadata": {"name": NAME},
        "spec": {"holderIdentity": "", "leaseDurationSeconds": 1,
                 "acquireTime": "2024-01-01T00:00:00.000000Z",
                 "renewTime": "2024-01-01T00:00:00.000000Z", "leaseTransitions": 4}},
        namespace=NS, group=GROUP)
    srv.inject_delay(0.5, count=2, method="PUT", path=r"/leases/")
    a, b = probe_of("node-a"), probe_of("node-b")
    both = [a, b]
    wait(lambda: len(lease_requests(srv, "PUT")) >= 2, both, 10, "two PUTs")
    wait(lambda: a.has("STARTED") or b.has("STARTED"), both, 10, "a leader")
    win, lose = (a, b) if a.has("STARTED") else (b, a)
    wait(first(lose, f"LEADER {win.identity}"), both, 10, "the loser to see it")
    assert any("409" in e for e in lose.errors()), lose.dump()
    assert not lose.has("STARTED"), lose.dump()
    cur = lease(srv)
    assert cur["spec"]["holderIdentity"] == win.identity
    assert cur["spec"]["leaseTransitions"] == 5        # one takeover, not two
    # The loser keeps off while the winner renews.
    end = time.time() + 1.0
    while time.time() < end:
        lose.pump(0.1)
        assert not lose.has("STARTED"), lose.dump()
    assert not win.has("STOPPED"), win.dump()


def test_foreign_writes_on_the_fast_path(srv, probe_of):
    a = lead(probe_of, srv)
    # Someone touches the Lease without changing the record (a label): the
    # fast-path PUT gets 409, the slow path re-reads and renews: no stop.
    cur = lease(srv)
    cur["metadata"].setdefault("labels", {})["touched"] = "yes"
    srv.update("leases", cur, namespace=NS, group=GROUP)
    t = time.time()
    wait(lambda: any("409" in e for e in a.errors()), [a], 5, "the 409")
    wait(lambda: len(lease_requests(srv, "PUT", since=t)) >= 3, [a], 5, "renewals")
    assert len(lease_requests(srv, "GET", since=t)) >= 1
    assert not a.has("STOPPED"), a.dump()
    now = lease(srv)
    assert now["spec"]["holderIdentity"] == "node-a"
    # Renewals write the Lease as read: the label stays.
    assert now["metadata"]["labels"] == {"touched": "yes"}
    # Someone else takes the Lease: a sees another holder and stops at once.
    cur = lease(srv)
    cur["spec"]["holderIdentity"] = "intruder"
    srv.update("leases", cur, namespace=NS, group=GROUP)
    t = time.time()
    t_stop = wait(first(a, "STOPPED"), [a], 5, "a to stop")
    assert t_stop - t <= RETRY_S + 1.0, (t_stop - t, a.dump())
    assert a.has("LEADER intruder")
    assert lease(srv)["spec"]["holderIdentity"] == "intruder"


def test_failed_renewals_stop_within_the_renew_deadline(srv, probe_of):
    a = lead(probe_of, srv)
    time.sleep(RETRY_S * 2)
    t_fault = time.time()
    srv.inject_status(500, count=None, path=r"/leases")
    t_stop = wait(first(a, "STOPPED"), [a], RENEW_S + 5, "a to stop")
    cur = srv.get("leases", NAME, namespace=NS, group=GROUP)
    # renewTime is the last successful renewal, as a stamped it when sending.
    last = wall(cur["spec"]["renewTime"])
    assert last <= t_fault + 0.05
    assert t_stop - last >= RENEW_S - 0.05, (t_stop - last, a.dump())
    assert t_stop - last <= RENEW_S + 0.5, (t_stop - last, a.dump())
    assert t_stop - last < LEASE_S            # before anyone could take over
    assert any("HTTP 500" in e for e in a.errors()), a.dump()
    assert any("renew deadline" in e for e in a.errors()), a.dump()
    # While the API server fails, a keeps trying but does not lead.
    n = len(lease_requests(srv, "GET", since=t_stop))
    end = time.time() + 1.0
    while time.time() < end:
        a.pump(0.1)
    assert len(a.times("STARTED")) == 1, a.dump()
    assert len(lease_requests(srv, "GET", since=t_stop)) > n
    # The Lease is still ours: once the server answers, a renews and leads.
    srv.clear_faults()
    t_clear = time.time()
    wait(lambda: len(a.times("STARTED")) == 2, [a], 2 * JITTER_MAX_S + 3, "a to lead again")
    assert a.times("STARTED")[1] - t_clear <= 2 * JITTER_MAX_S + 0.5
    now = lease(srv)
    assert now["spec"]["holderIdentity"] == "node-a"
    assert now["spec"]["leaseTransitions"] == 0
    assert now["spec"]["acquireTime"] == cur["spec"]["acquireTime"]


def test_release_after_a_foreign_write(srv, probe_of):
    a = lead(probe_of, srv)
    # The Lease moves under the leader just before it stops: its release
    # PUT carries a stale resourceVersion (409), so it re-reads the Lease,
    # finds it still its own, and releases that.
    cur = lease(srv)
    cur["metadata"].setdefault("labels", {})["touched"] = "yes"
    srv.update("leases", cur, namespace=NS, group=GROUP)
    assert a.stop(signal.SIGTERM) == 0
    assert a.words()[-2:] == ["STOPPED", "RELEASED"], a.dump()
    rel = lease(srv)
    assert rel["spec"].get("holderIdentity", "") == "", rel
    assert rel["spec"]["leaseDurationSeconds"] == 1
    assert rel["metadata"]["labels"] == {"touched": "yes"}
    # A release error is only ever the stale resourceVersion, retried.
    assert all("409" in e for e in a.errors()), a.dump()
