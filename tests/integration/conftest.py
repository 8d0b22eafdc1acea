"""Shared fixtures for the integration tests.

Every test that runs bgplbd does so inside a network namespace created for
this test run (prefix + PID) and removed afterwards, even on failure, so the
daemon never speaks on the machine's real links.
"""
import json
import os
import signal
import subprocess
import time

import pytest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BGPLB_BUILD", os.path.join(TOP, "build"))
BGPLBD = os.path.join(BUILD, "src", "bgplbd")
BGPLBCTL = os.path.join(BUILD, "src", "ctl", "bgplbctl")
SHARED = os.path.abspath(os.path.join(TOP, "..", "shared"))

_seq = [0]

# What a sanitizer build (tests/run.sh runs a subset with BGPLB_BUILD set to
# the ASan+UBSan build) writes when it finds a bug: any of these in a
# daemon's log fails the test that ran it.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:")
_daemons_started = []


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


class Netns:
    def __init__(self, tag):
        _seq[0] += 1
        self.name = f"bgplbt{os.getpid()}{tag}{_seq[0]}"
        sh("ip", "netns", "add", self.name)
        sh("ip", "-n", self.name, "link", "set", "lo", "up")

    def run(self, *args, check=True, **kw):
        return sh("ip", "netns", "exec", self.name, *args, check=check, **kw)

    def popen(self, args, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.name] + list(args), **kw)

    def delete(self):
        for pid in sh("ip", "netns", "pids", self.name, check=False).stdout.split():
            # Only processes inside our own namespace: ours by construction.
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        sh("ip", "netns", "del", self.name, check=False)


@pytest.fixture
def netns():
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    ns = Netns("d")
    try:
        yield ns
    finally:
        ns.delete()


class Daemon:
    """A bgplbd inside a namespace, its log in a file, its status endpoint on
    the namespace's own loopback."""

    def __init__(self, ns, config, tmp_path, port=7473, extra=(), node="node-a", env=None):
        self.ns, self.config, self.port = ns, str(config), port
        self.node = node
        self.log_path = tmp_path / (f"bgplbd-{port}.log" if node == "node-a"
                                    else f"bgplbd-{node}.log")
        self.extra = list(extra)
        self.env = None if env is None else dict(os.environ, **env)
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait=True):
        _daemons_started.append(self)
        self.logf = open(self.log_path, "a")
        self.proc = self.ns.popen([BGPLBD, "--config", self.config, "--node", self.node,
                                   "--status-listen", f"127.0.0.1:{self.port}"] + self.extra,
                                  stdout=self.logf, stderr=subprocess.STDOUT, env=self.env)
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"bgplbd exited {self.proc.returncode}:\n{self.log()}")
            r = self.ns.run("curl", "-sf", "-m", "2", self.url + "/healthz", check=False)
            if r.returncode == 0 and r.stdout == "ok\n":
                return
            time.sleep(0.1)
        raise AssertionError("bgplbd did not become healthy:\n" + self.log())

    def get(self, path):
        r = self.ns.run("curl", "-sf", "-m", "5", self.url + path, check=False)
        assert r.returncode == 0, f"GET {path} failed ({r.returncode}): {r.stderr}\n{self.log()}"
        return r.stdout

    def json(self, path):
        return json.loads(self.get(path))

    def ctl(self, *args, check=True):
        return self.ns.run(BGPLBCTL, "--server", self.url, *args, check=check)

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        # ip netns exec execs the daemon: this PID is bgplbd itself.
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.logf.close()
        return rc

    def log(self):
        try:
            return self.log_path.read_text()
        except OSError:
            return ""

    def sanitizer_reports(self):
        """The sanitizer findings in this daemon's log (ASan, LSan, UBSan)."""
        lines = self.log().splitlines()
        for i, line in enumerate(lines):
            if any(m in line for m in SANITIZER_MARKS):
                return "\n".join(lines[max(0, i - 2):i + 30])
        return None


@pytest.fixture(autouse=True)
def sanitizer_check():
    """After every test (and after its own fixtures stopped the daemons),
    fail it when a daemon it started logged a sanitizer report.  Reads logs
    only: a test that started no daemon is not affected."""
    first = len(_daemons_started)
    yield
    found = []
    for d in _daemons_started[first:]:
        rep = d.sanitizer_reports()
        if rep:
            found.append(f"{d.log_path}:\n{rep}")
    del _daemons_started[first:]
    if found:
        pytest.fail("sanitizer report in bgplbd's log:\n" + "\n".join(found),
                    pytrace=False)


@pytest.fixture
def daemon_factory(netns, tmp_path):
    started = []

    def make(config, **kw):
        d = Daemon(netns, config, tmp_path, **kw)
        started.append(d)
        return d

    yield make
    for d in started:
        d.stop(signal.SIGKILL)


def wait_until(fn, timeout=10, interval=0.1, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
