"""bgplb's Kubernetes HTTP layer (src/k8s/k8s_http.c, k8s_conn.c) against the
fake API server, through tests/k8s_probe.  Loopback only; needs no root.

The probe prints "chunk LEN" per on_data call (watch mode), then "status S",
"error E", "retry-after N" and "body:" followed by the body."""
import json
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakeapi import FakeAPIServer, make_self_signed  # noqa: E402
from fakeapi_fixtures import TOKEN, Client, read_events  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BGPLB_BUILD", os.path.join(TOP, "build"))
PROBE = os.path.join(BUILD, "tests", "k8s_probe")

pytestmark = pytest.mark.skipif(not os.path.exists(PROBE),
                                reason=f"{PROBE} is not built")

SVC_PATH = "/api/v1/namespaces/default/services"


class Result:
    def __init__(self, out, rc):
        head, sep, body = out.partition(b"body:\n")
        self.body = body if sep else b""
        self.chunks, self.status, self.error, self.retry_after = [], None, None, None
        self.cancelled = False
        for line in head.decode(errors="replace").splitlines():
            if line.startswith("chunk "):
                self.chunks.append(int(line[6:]))
            elif line.startswith("status "):
                self.status = int(line[7:])
            elif line.startswith("error "):
                self.error = line[6:]
            elif line.startswith("retry-after "):
                self.retry_after = int(line[12:])
            elif line == "cancelled":
                self.cancelled = True
        self.rc, self.out = rc, out

    def json(self):
        return json.loads(self.body)


# What a sanitizer build (BGPLB_BUILD=build-asan) writes when it finds a bug.
SANITIZER_MARKS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer", b"runtime error:")


def sanitizer_check(stderr):
    for m in SANITIZER_MARKS:
        assert m not in stderr, stderr.decode(errors="replace")


def probe(kubeconfig, *args, timeout=30):
    p = subprocess.run([PROBE, "--kubeconfig", kubeconfig] + list(args),
                       capture_output=True, timeout=timeout)
    sanitizer_check(p.stderr)
    return Result(p.stdout, p.returncode)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = tmp_path_factory.mktemp("client-tls")
    s = FakeAPIServer(token=TOKEN, tls=True, certdir=str(d)).start()
    yield s
    s.stop()


@pytest.fixture
def kc(srv, tmp_path):
    srv.clear_faults()
    return srv.write_kubeconfig(str(tmp_path / "kubeconfig"))


def kubeconfig_with(srv, path, ca_file, token_file=None, token=None):
    user = (f"    tokenFile: {token_file}\n" if token_file else f"    token: {token}\n")
    with open(path, "w") as f:
        f.write("clusters:\n- name: c\n  cluster:\n"
                f"    server: {srv.url}\n    certificate-authority: {ca_file}\n"
                "users:\n- name: u\n  user:\n" + user +
                "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
                "current-context: x\n")
    return str(path)


def test_get_with_ca_verification(srv, kc):
    r = probe(kc, "GET", "/api/v1/namespaces/default")
    assert r.rc == 0 and r.status == 200, r.out
    assert r.error is None
    assert r.json()["metadata"]["name"] == "default"


def test_ca_file_relative(srv, tmp_path):
    srv.clear_faults()
    (tmp_path / "ca.pem").write_bytes(open(srv.cert, "rb").read())
    kc = kubeconfig_with(srv, tmp_path / "kc", "ca.pem", token=TOKEN)
    r = probe(kc, "GET", "/version")
    assert r.status == 200, r.out
    assert "gitVersion" in r.json()


def test_wrong_ca_fails(srv, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    cert, _ = make_self_signed(str(other))
    kc = kubeconfig_with(srv, tmp_path / "kc", cert, token=TOKEN)
    r = probe(kc, "GET", "/version")
    assert r.status == 0, r.out
    assert r.error and "certificate" in r.error.lower(), r.error


def test_post_and_patch(srv, kc):
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "probe-cm"}, "data": {"a": "1"}})
    r = probe(kc, "--data", body, "POST", "/api/v1/namespaces/default/configmaps")
    assert r.status == 201, r.out
    r = probe(kc, "--data", '{"data":{"a":"2"}}', "--content-type",
              "application/merge-patch+json", "PATCH",
              "/api/v1/namespaces/default/configmaps/probe-cm")
    assert r.status == 200, r.out
    assert r.json()["data"]["a"] == "2"
    r = probe(kc, "DELETE", "/api/v1/namespaces/default/configmaps/probe-cm")
    assert r.status == 200, r.out


def test_401_then_token_reread(srv, tmp_path):
    srv.clear_faults()
    tok = tmp_path / "token"
    tok.write_text("wrong-token\n")
    kc = kubeconfig_with(srv, tmp_path / "kc", srv.cert, token_file=str(tok))
    p = subprocess.Popen([PROBE, "--kubeconfig", kc, "--again-on-401", "GET", "/version"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    first = b""
    while b"body:\n" not in first:
        line = p.stdout.readline()
        assert line, f"probe ended early: {first!r}"
        first += line
    assert b"status 401\n" in first, first
    # The 401 is reported, not retried by the layer: one request so far.
    n = len(srv.requests_matching(method="GET", path=r"^/version$"))
    tok.write_text(TOKEN + "\n")
    out, err = p.communicate(b"\n", timeout=30)
    sanitizer_check(err)
    assert p.returncode == 0, err
    r = Result(out[out.index(b"status "):], 0)
    assert r.status == 200, out
    assert len(srv.requests_matching(method="GET", path=r"^/version$")) == n + 1


def test_429_retry_after(srv, kc):
    srv.inject_status(429, count=1, retry_after=7, path=r"^/version$")
    r = probe(kc, "GET", "/version")
    assert r.status == 429, r.out
    assert r.retry_after == 7
    assert r.json()["reason"] == "TooManyRequests"
    r = probe(kc, "GET", "/version")
    assert r.status == 200 and r.retry_after is None, r.out


def test_500(srv, kc):
    srv.inject_status(500, count=1, path=r"^/version$")
    r = probe(kc, "GET", "/version")
    assert r.status == 500, r.out
    assert r.retry_after is None
    assert r.json()["kind"] == "Status"


def test_dropped_connection(srv, kc):
    srv.inject_close(count=1, path=r"^/version$")
    r = probe(kc, "GET", "/version")
    assert r.status == 0, r.out
    assert r.error, r.out


def test_timeout(srv, kc):
    srv.inject_delay(3, count=1, path=r"^/version$")
    t = time.monotonic()
    r = probe(kc, "--timeout", "500", "GET", "/version")
    assert r.status == 0 and r.error == "timeout", r.out
    assert time.monotonic() - t < 2.5


def test_connection_refused(srv, tmp_path):
    from fakeapi_fixtures import free_port
    port = free_port()
    with open(tmp_path / "kc", "w") as f:
        f.write("clusters:\n- name: c\n  cluster:\n"
                f"    server: https://127.0.0.1:{port}\n"
                "contexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n")
    r = probe(str(tmp_path / "kc"), "GET", "/version")
    assert r.status == 0 and r.error, r.out


def test_watch_split_at_odd_boundaries(srv, kc):
    for i in range(5):
        srv.create("services", {"metadata": {"name": f"split-{i}"},
                                "spec": {"ports": [{"port": 80 + i}]}},
                   namespace="default")
    path = SVC_PATH + "?watch=1&timeoutSeconds=2"
    c, resp = Client(srv).watch(path)
    want = read_events(resp)
    c.close()
    srv.set_watch_chunking(split=7)
    try:
        r = probe(kc, "--watch", path)
    finally:
        srv.clear_faults()
    assert r.status == 200, r.out
    assert sum(r.chunks) == len(r.body)
    assert len(r.chunks) > len(want), "the split reached us as few chunks"
    got = [json.loads(line) for line in r.body.splitlines() if line.strip()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in got] == \
        [(e["type"], e["object"]["metadata"]["name"]) for e in want]
    assert len(got) >= 5


def test_watch_cut_mid_stream(srv, kc):
    path = SVC_PATH + "?watch=1&timeoutSeconds=30"
    p = subprocess.Popen([PROBE, "--kubeconfig", kc, "--watch", path],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while srv.close_watches(clean=False) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    out, err = p.communicate(timeout=20)
    sanitizer_check(err)
    r = Result(out, p.returncode)
    assert r.status == 0 and r.error, out


def test_cancel_inside_on_data(srv, kc):
    srv.create("services", {"metadata": {"name": "cancel-me"},
                            "spec": {"ports": [{"port": 8080}]}}, namespace="default")
    srv.set_watch_chunking(split=7)
    try:
        t = time.monotonic()
        r = probe(kc, "--cancel-after", "20", "--watch",
                  SVC_PATH + "?watch=1&timeoutSeconds=20")
    finally:
        srv.clear_faults()
    assert r.cancelled, r.out
    assert r.status is None, "on_done was called after cancel"
    assert r.rc == 0
    assert time.monotonic() - t < 10


def test_abort_from_on_data(srv, kc):
    srv.create("services", {"metadata": {"name": "abort-me"},
                            "spec": {"ports": [{"port": 8081}]}}, namespace="default")
    r = probe(kc, "--abort-after", "1", "--watch", SVC_PATH + "?watch=1&timeoutSeconds=20")
    assert r.status == 0 and r.error == "aborted", r.out
    assert r.rc == 0
