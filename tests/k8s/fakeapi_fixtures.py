"""Fixtures and helpers for tests/k8s (not named conftest.py: tests/integration
imports its own conftest by name, and the two would collide in one pytest run)."""
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakeapi import FakeAPIServer  # noqa: E402

TOKEN = "test-token-0123456789"
SHARED = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))


class Client:
    """Plain http.client requests against a FakeAPIServer."""

    def __init__(self, srv, token=TOKEN):
        self.srv, self.token = srv, token

    def conn(self, timeout=10):
        if self.srv.tls:
            ctx = ssl.create_default_context(cafile=self.srv.cert)
            return http.client.HTTPSConnection(self.srv.host, self.srv.port, timeout=timeout,
                                               context=ctx)
        return http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=timeout)

    def headers(self, ctype=None, token=None, extra=None):
        h = {"Accept": "application/json"}
        tok = self.token if token is None else token
        if tok:
            h["Authorization"] = f"Bearer {tok}"
        if ctype:
            h["Content-Type"] = ctype
        h.update(extra or {})
        return h

    def req(self, method, path, body=None, ctype="application/json", token=None, extra=None):
        """Returns (status, parsed JSON body or text, headers)."""
        c = self.conn()
        data = None if body is None else (body if isinstance(body, bytes)
                                          else json.dumps(body).encode())
        c.request(method, path, body=data,
                  headers=self.headers(ctype if data is not None else None, token, extra))
        r = c.getresponse()
        raw = r.read()
        c.close()
        try:
            out = json.loads(raw)
        except ValueError:
            out = raw.decode(errors="replace")
        return r.status, out, r

    def watch(self, path, timeout=10):
        """Open a watch; returns (connection, response) for read_events."""
        c = self.conn(timeout)
        c.request("GET", path, headers=self.headers())
        return c, c.getresponse()


def read_events(resp, n=None, until=None):
    """Read newline-delimited watch events until n are read, `until(ev)` is
    true, or the stream ends cleanly."""
    out = []
    while n is None or len(out) < n:
        line = resp.readline()
        if not line:
            break
        ev = json.loads(line)
        out.append(ev)
        if until and until(ev):
            break
    return out


@pytest.fixture
def api():
    srv = FakeAPIServer(token=TOKEN, bookmark_interval=0.2).start()
    yield srv
    srv.stop()


@pytest.fixture
def client(api):
    return Client(api)


@pytest.fixture(scope="module")
def tls_api(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    srv = FakeAPIServer(token=TOKEN, tls=True, certdir=str(d)).start()
    yield srv
    srv.stop()


def find_kubectl():
    return shutil.which("kubectl")


class Kubectl:
    def __init__(self, srv, tmp):
        self.bin = find_kubectl()
        self.kubeconfig = srv.write_kubeconfig(os.path.join(tmp, "kubeconfig"))
        self.cache = os.path.join(tmp, "cache")
        self.env = dict(os.environ, HOME=tmp, KUBECONFIG=self.kubeconfig)
        self.minor = 0
        try:
            v = json.loads(subprocess.run([self.bin, "version", "--client", "-o", "json"],
                                          capture_output=True, text=True, env=self.env,
                                          timeout=30).stdout)
            self.minor = int("".join(ch for ch in v["clientVersion"]["minor"] if ch.isdigit()))
        except (ValueError, KeyError, subprocess.SubprocessError):
            pass

    def need(self, minor, what):
        if self.minor < minor:
            pytest.skip(f"kubectl 1.{self.minor} is too old for {what} (needs 1.{minor}+)")

    def argv(self, *args):
        args = list(args)
        # kubectl before ~1.27 validates apply/create client-side with the
        # OpenAPI v2 schemas, which the fake does not serve.
        if self.minor < 27 and args and args[0] in ("apply", "create") and "-f" in args:
            args.append("--validate=false")
        return [self.bin, "--kubeconfig", self.kubeconfig, "--cache-dir", self.cache,
                "--request-timeout", "10s"] + args

    def run(self, *args, input=None, check=True, timeout=30):
        p = subprocess.run(self.argv(*args), input=input, capture_output=True, text=True,
                           env=self.env, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({p.returncode}):\n"
                                 f"{p.stdout}\n{p.stderr}")
        return p

    def popen(self, *args):
        return subprocess.Popen(self.argv(*args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env)


@pytest.fixture(scope="module")
def kubectl(tls_api, tmp_path_factory):
    if find_kubectl() is None:
        pytest.skip("kubectl is not installed (Debian package kubernetes-client; "
                    "tests/lib/common.sh: install_kubectl)")
    return Kubectl(tls_api, str(tmp_path_factory.mktemp("kubectl")))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p
