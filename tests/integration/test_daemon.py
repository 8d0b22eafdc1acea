"""Daemon-level tests: bgplbd end to end in embedded mode (logging backends).

Start the daemon on a config, read the status endpoint and bgplbctl, break
the config (the daemon keeps serving the old one and says it is stale), fix
it, restart (same addresses), shut down cleanly, and check --check-config.
"""
import glob
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import BGPLBD, BGPLBCTL, SHARED, TOP, sh, wait_until

CONFIG = """\
node: node-a
pools:
  - name: web
    protocol: bgp
    addresses: [192.0.2.0/29, 2001:db8:100::/64]
    communities: [64512:100, no-export]
    local-pref: 150
  - name: dmz
    protocol: layer2
    addresses: [198.51.100.10-198.51.100.12]
    auto-assign: false
peers:
  - name: tor-a
    address: 10.99.0.1
    asn: 64501
    my-asn: 64512
services:
  - name: default/alpha
  - name: default/beta
    ip-families: [IPv4, IPv6]
    ip-family-policy: RequireDualStack
  - name: default/gamma
    pool: dmz
  - name: default/delta
    pool: web
    addresses: [192.0.2.5]
"""


def write(path, text):
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def services_by_name(d):
    return {s["name"]: s for s in d.json("/v1/services")}


@pytest.fixture
def cfgfile(tmp_path):
    p = tmp_path / "bgplb.yaml"
    write(p, CONFIG)
    return p


def test_status_endpoint_and_allocation(daemon_factory, cfgfile):
    d = daemon_factory(cfgfile).start()
    st = d.json("/v1/status")
    assert st["node"] == "node-a"
    assert st["config"]["stale"] is False
    assert st["config"]["file"] == str(cfgfile)
    svcs = services_by_name(d)
    # Lowest free address first; the static request is honoured.
    assert svcs["default/alpha"]["addresses"] == ["192.0.2.0"]
    assert svcs["default/beta"]["addresses"] == ["192.0.2.1", "2001:db8:100::"]
    assert svcs["default/delta"]["addresses"] == ["192.0.2.5"]
    assert svcs["default/gamma"]["addresses"] == ["198.51.100.10"]
    assert svcs["default/gamma"]["protocol"] == "layer2"
    assert svcs["default/gamma"]["announcing_node"] == "node-a"
    assert svcs["default/alpha"]["peers"] == ["tor-a"]
    pools = {p["name"]: p for p in d.json("/v1/pools")}
    # /29 (8) + /64 (2^64) addresses, exact as a decimal string.
    assert pools["web"]["total"] == str(8 + 2**64)
    assert pools["web"]["in_use"] == "4"
    assert pools["dmz"]["total"] == "3" and pools["dmz"]["in_use"] == "1"
    peers = d.json("/v1/peers")
    assert peers[0]["name"] == "tor-a" and peers[0]["asn"] == 64501


def test_metrics(daemon_factory, cfgfile):
    d = daemon_factory(cfgfile).start()
    m = d.get("/metrics")
    assert 'metallb_allocator_addresses_total{pool="dmz"} 3\n' in m
    assert 'metallb_allocator_addresses_in_use_total{pool="web"} 4\n' in m
    assert f'metallb_allocator_addresses_total{{pool="web"}} {8 + 2**64}\n' in m
    assert "metallb_k8s_client_config_loaded_bool 1\n" in m
    assert "metallb_k8s_client_config_stale_bool 0\n" in m
    assert 'bgplb_services{state="allocated"} 4\n' in m
    assert "bgplb_allocation_failures_total 0\n" in m
    for line in m.splitlines():
        # Every sample line is NAME{labels} VALUE with a numeric value.
        if not line.startswith("#"):
            assert re.match(r'^[a-z0-9_]+(\{[^}]*\})? [0-9]+$', line), line


def test_bgplbctl(daemon_factory, cfgfile):
    d = daemon_factory(cfgfile).start()
    out = d.ctl("services").stdout
    # The peer is unreachable from this namespace: planned, not announced.
    assert re.search(r"^default/beta\s+192\.0\.2\.1,2001:db8:100::\s+web\s+bgp\s+no\s+peers tor-a$",
                     out, re.M), out
    # Owner, but the namespace has no Ethernet link to answer on: not announced.
    assert re.search(r"^default/gamma\s+198\.51\.100\.10\s+dmz\s+layer2\s+no\s+node node-a$", out, re.M), out
    out = d.ctl("pools").stdout
    assert re.search(r"^web\s+bgp\s+-\s+18446744073709551624\s+4\s+18446744073709551620\s+3$", out, re.M), out
    out = d.ctl("status").stdout
    assert "node:      node-a" in out and "STALE" not in out
    out = d.ctl("peers").stdout
    assert re.search(r"^tor-a\s+10\.99\.0\.1:179\s+64501\s+64512\s+(Idle|Active|Connect)\s", out, re.M), out
    js = json.loads(d.ctl("pools", "--json").stdout)
    assert {p["name"] for p in js} == {"web", "dmz"}
    r = d.ctl("bogus", check=False)
    assert r.returncode == 2 and 'unknown command "bogus"' in r.stderr
    r = d.ns.run(BGPLBCTL, "--server", "http://127.0.0.1:1", "status", check=False)
    assert r.returncode == 1 and "cannot reach bgplbd" in r.stderr


def test_broken_reload_keeps_running_config(daemon_factory, cfgfile):
    d = daemon_factory(cfgfile).start()
    before = services_by_name(d)
    broken = CONFIG.replace("    asn: 64501\n", "    asn: 64501\n    hold-tme: 90s\n") \
                   .replace("192.0.2.0/29", "192.0.2.9-192.0.2.1")
    write(cfgfile, broken)
    d.send_signal(signal.SIGHUP)
    st = wait_until(lambda: (lambda s: s if s["config"]["stale"] else None)(d.json("/v1/status")),
                    what="config marked stale")
    errs = st["config"]["errors"]
    assert any(re.match(re.escape(str(cfgfile)) + r":\d+:\d+: pools\[0\]\.addresses\[0\]: .*192\.0\.2\.9", e)
               for e in errs), errs
    assert any(re.match(re.escape(str(cfgfile)) + r":\d+:\d+: peers\[0\]\.hold-tme: .*hold-time", e)
               for e in errs), errs
    # Nothing moved, nothing withdrawn.
    assert services_by_name(d) == before
    assert "metallb_k8s_client_config_stale_bool 1\n" in d.get("/metrics")
    assert "STALE" in d.ctl("status").stdout
    assert "config (re)load failed" in d.log()
    # Fix it: picked up by the file watch, no signal needed.
    write(cfgfile, CONFIG.replace("default/alpha", "default/alpha2"))
    wait_until(lambda: not d.json("/v1/status")["config"]["stale"], what="stale cleared")
    after = services_by_name(d)
    assert after["default/beta"]["addresses"] == before["default/beta"]["addresses"]
    assert after["default/alpha2"]["addresses"] == ["192.0.2.0"]  # freed by alpha, lowest again


def test_restart_keeps_addresses(daemon_factory, cfgfile, tmp_path):
    d = daemon_factory(cfgfile).start()
    first = {k: v["addresses"] for k, v in services_by_name(d).items()}
    assert d.stop() == 0
    assert os.path.exists(tmp_path / "bgplb-state.node-a.json")
    # Reorder the services and add one in front: without the state file the
    # new one would take 192.0.2.0 and everything would shift.
    text = CONFIG.replace("services:\n", "services:\n  - name: default/new\n")
    write(cfgfile, text)
    d2 = daemon_factory(cfgfile, port=7474).start()
    second = {k: v["addresses"] for k, v in services_by_name(d2).items()}
    for k, v in first.items():
        assert second[k] == v, (k, first, second)
    assert second["default/new"] == ["192.0.2.2"]


def test_sigterm_clean_exit(daemon_factory, cfgfile):
    d = daemon_factory(cfgfile).start()
    assert d.stop(signal.SIGTERM) == 0
    assert "SIGTERM: shutting down" in d.log()


def test_start_with_broken_config_fails(daemon_factory, tmp_path):
    p = tmp_path / "bad.yaml"
    write(p, "pools:\n  - name: x\n    adresses: [10.0.0.1]\n")
    d = daemon_factory(p).start(wait=False)
    assert d.proc.wait(timeout=10) == 1
    assert re.search(re.escape(str(p)) + r":3:5: pools\[0\]\.adresses: .*addresses", d.log()), d.log()


EXAMPLES = sorted(glob.glob(os.path.join(TOP, "examples", "*.y*ml")))


@pytest.mark.parametrize("example", EXAMPLES, ids=[os.path.basename(e) for e in EXAMPLES])
def test_examples_run(daemon_factory, tmp_path, example):
    # Copy so the state file lands in tmp_path, not in the source tree.
    p = tmp_path / os.path.basename(example)
    text = open(example).read()
    if re.search(r"(?m)^kubernetes:", text):
        # Kubernetes mode needs a cluster (tests/integration/test_k8s.py runs
        # one): here it must refuse to start, naming what it could not reach,
        # and the same file without its kubernetes section runs embedded.
        write(p, text)
        d = daemon_factory(p).start(wait=False)
        assert d.proc.wait(timeout=10) == 1
        assert re.search(r"error kubernetes: .*kubeconfig", d.log()), d.log()
        text = re.sub(r"(?ms)^kubernetes:.*?(?=^\S|\Z)", "", text)
        assert "kubernetes:" not in text
        p = tmp_path / ("embedded-" + os.path.basename(example))
    write(p, text)
    d = daemon_factory(p).start()
    svcs = d.json("/v1/services")
    for s in svcs:
        assert s["addresses"], s
    assert d.stop() == 0


def test_check_config():
    assert len(EXAMPLES) >= 3, EXAMPLES
    for example in EXAMPLES:
        r = sh(BGPLBD, "--check-config", example, check=False)
        assert r.returncode == 0, (example, r.stderr)
        assert "pools:" in r.stdout
    r = sh(BGPLBD, "--version")
    assert re.match(r"^bgplbd \d+\.\d+\.\d+$", r.stdout.strip())


def test_check_config_seed_configmap(tmp_path):
    seed = os.path.join(SHARED, "seed-examples", "metallb-configMap.yml")
    if not os.path.exists(seed):
        seed = os.path.join(TOP, "tests", "config", "seed-metallb-configMap.yaml")
    r = sh(BGPLBD, "--check-config", seed, check=False)
    assert r.returncode == 0, r.stderr
    assert "name: poc" in r.stdout and "172.16.13.1-172.16.13.254" in r.stdout
    # The normalized output is itself a valid native config (conversion).
    native = tmp_path / "native.yaml"
    native.write_text(r.stdout)
    r2 = sh(BGPLBD, "--check-config", str(native), check=False)
    assert r2.returncode == 0, r2.stderr
    assert r2.stdout == r.stdout


def test_check_config_errors(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("pools:\n  - name: a\n    addresses: [10.0.0.0/24]\n"
                 "  - name: a\n    addresses: [10.0.0.128/25]\n")
    r = sh(BGPLBD, "--check-config", str(p), check=False)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) >= 2, lines  # duplicate name and overlap, both reported
    for line in lines:
        assert re.match(re.escape(str(p)) + r":\d+:\d+: ", line), line


def test_cli_errors():
    r = sh(BGPLBD, check=False)
    assert r.returncode == 2 and "--config FILE is required" in r.stderr
    r = sh(BGPLBD, "--config", "x", "--log-level", "loud", check=False)
    assert r.returncode == 2 and '"loud"' in r.stderr
