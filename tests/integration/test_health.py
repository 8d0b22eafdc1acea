"""Health-checked announcements (embedded mode, doc/health.md).

One bgplbd in a namespace with a BGP pool and no peers: whether a service
is in this node's plan (/v1/services "prefixes") is what the checks decide.
The stand-in endpoint (healthsrv.py) answers as its mode file says.  Checks
are fast (interval 200ms) so every state change takes well under a second.

  http      up after rise, down after fall (503), the reason, one log line
            per transition, metrics, bgplbctl, a service without a check
            untouched
  tcp       connect = up; refused = down
  exec      exit 0 = up; the program runs with no capabilities, a clean
            environment, no shell; a hung program is killed (its whole
            process group) at the timeout
  hang      an HTTP endpoint that never answers: timeout, the loop stays
            responsive
  flapping  alternating results never reach rise/fall: no transition
  reload    same target keeps its state (no withdrawal); a broken check is
            stale (the old check keeps running); a new target starts over
  BGP       with FRR: the route is withdrawn and comes back, the session and
            the other route stay
  layer 2   two nodes with membership: the failing node's address moves to
            the healthy node (both agree), and back
"""
import os
import re
import secrets
import signal
import subprocess
import time

import pytest

from conftest import Daemon, wait_until
from test_l2 import Lan, need, write

HERE = os.path.dirname(os.path.abspath(__file__))
HEALTHSRV = os.path.join(HERE, "healthsrv.py")
PY = "/usr/bin/python3"

SVC = "dns/anycast"
OTHER = "dns/plain"
A, B = "192.0.2.5", "192.0.2.6"


def config(check, extra_services=""):
    return f"""pools:
  - name: anycast
    protocol: bgp
    addresses: [192.0.2.0/28]
    auto-assign: false
peers: []
services:
  - name: {SVC}
    pool: anycast
    addresses: [{A}]
    health-check:
{check}
  - name: {OTHER}
    pool: anycast
    addresses: [{B}]
{extra_services}"""


def http_check(port=8080, path="/healthz", interval="200ms", timeout="150ms",
               rise=2, fall=2):
    return (f"      http: http://127.0.0.1:{port}{path}\n"
            f"      interval: {interval}\n      timeout: {timeout}\n"
            f"      rise: {rise}\n      fall: {fall}")


class Srv:
    """healthsrv.py in a namespace; set(mode) changes its answers."""

    def __init__(self, ns, tmp, port=8080, addr="0.0.0.0", name="srv"):
        self.modefile = tmp / f"mode-{name}-{port}"
        self.set("ok")
        self.proc = ns.popen([PY, HEALTHSRV, addr, str(port), str(self.modefile), name],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        host = "127.0.0.1" if addr == "0.0.0.0" else addr
        wait_until(lambda: ns.run("curl", "-sf", "-m", "1", f"http://{host}:{port}/",
                                  check=False).returncode == 0,
                   timeout=10, what=f"healthsrv on {port}")

    def set(self, mode):
        write(self.modefile, mode + "\n")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def svc(d, name=SVC):
    for s in d.json("/v1/services"):
        if s["name"] == name:
            return s
    raise AssertionError(f"{name} not in /v1/services")


def planned(d, name=SVC):
    return bool(svc(d, name)["prefixes"])


def health(d, name=SVC):
    return svc(d, name)["health"]


def wait_state(d, state, timeout=5, name=SVC):
    return wait_until(lambda: health(d, name)["state"] == state and health(d, name),
                      timeout=timeout, interval=0.05, what=f"{name} {state}")


@pytest.fixture
def srv(netns, tmp_path):
    s = Srv(netns, tmp_path)
    yield s
    s.stop()


def start(daemon_factory, tmp_path, check, extra=""):
    cfg = tmp_path / "bgplb.yaml"
    write(cfg, config(check, extra))
    return daemon_factory(cfg).start(), cfg


def transitions(d):
    return re.findall(r"service dns/anycast: \w+ -> \w+", d.log())


# ---- http -------------------------------------------------------------------

def test_http_rise_fall(daemon_factory, tmp_path, srv):
    d, _ = start(daemon_factory, tmp_path, http_check())
    h = wait_state(d, "up")
    assert planned(d) and planned(d, OTHER)
    assert h["kind"] == "http" and h["rise"] == 2 and h["fall"] == 2
    assert h["last_failure"] is None
    t0 = time.time()
    srv.set("fail")
    h = wait_state(d, "down")
    took = time.time() - t0
    print(f"\nhttp: down {took:.2f}s after the endpoint failed (fall 2 x 200ms)")
    assert took < 2.0
    assert not planned(d) and planned(d, OTHER)
    assert h["last_failure"] == "HTTP status 503"
    assert h["failures_in_a_row"] >= 2
    srv.set("ok")
    wait_state(d, "up")
    assert planned(d)
    # One log line per transition: pending -> up, up -> down, down -> up.
    assert transitions(d) == ["service dns/anycast: pending -> up",
                              "service dns/anycast: up -> down",
                              "service dns/anycast: down -> up"], d.log()
    m = d.get("/metrics")
    assert 'bgplb_health_up{service="dns/anycast"} 1' in m
    assert re.search(r'bgplb_health_transitions_total\{service="dns/anycast"\} 3', m)
    out = d.ctl("services").stdout.splitlines()
    i = next(i for i, l in enumerate(out) if l.startswith(SVC))
    assert out[i + 1].startswith("  health: up since "), out
    assert "last failure" in out[i + 1] and "HTTP status 503" in out[i + 1], out
    assert d.json("/v1/status")["health_checks"] == 1


def test_new_service_waits_for_rise(daemon_factory, tmp_path, srv):
    srv.set("fail")
    d, _ = start(daemon_factory, tmp_path, http_check(rise=3, fall=2))
    h = wait_state(d, "down")
    assert not planned(d) and planned(d, OTHER)
    srv.set("ok")
    # Three successes at 200ms: not planned before the third.
    wait_until(lambda: health(d)["successes_in_a_row"] >= 1, timeout=3, interval=0.02,
               what="first success")
    assert not planned(d)
    wait_state(d, "up")
    assert planned(d)


# ---- tcp --------------------------------------------------------------------

def test_tcp(daemon_factory, tmp_path, srv):
    d, _ = start(daemon_factory, tmp_path,
                 "      tcp: 127.0.0.1:8080\n      interval: 200ms\n"
                 "      timeout: 150ms\n      rise: 2\n      fall: 2")
    wait_state(d, "up")
    assert planned(d)
    srv.set("down")
    h = wait_state(d, "down")
    assert "refused" in h["last_failure"], h
    assert not planned(d)
    srv.set("ok")
    wait_state(d, "up")


# ---- exec -------------------------------------------------------------------

def exec_check(script, interval="300ms", timeout="250ms"):
    return (f"      exec: [/bin/sh, {script}]\n      interval: {interval}\n"
            f"      timeout: {timeout}\n      rise: 1\n      fall: 1")


def test_exec_exit_status_env_and_caps(daemon_factory, tmp_path):
    state = tmp_path / "exec-state"
    write(state, "0\n")
    script = tmp_path / "check.sh"
    # Fails with its capabilities and environment as the reason.
    write(script, f"""read rc < {state}
if [ "$rc" != 0 ]; then
  echo "$(grep CapEff /proc/self/status) env=$(env | sort | tr '\\n' ' ')"
fi
exit $rc
""")
    d, _ = start(daemon_factory, tmp_path, exec_check(script))
    wait_state(d, "up")
    assert planned(d)
    write(state, "3\n")
    h = wait_state(d, "down")
    assert not planned(d)
    r = h["last_failure"]
    assert r.startswith("exit status 3: "), r
    assert "CapEff:\t0000000000000000" in r or "CapEff: 0000000000000000" in r, r
    env = r.split("env=")[1].split()
    assert [e for e in env if not e.startswith(("PWD=", "SHLVL=", "_="))] == \
        ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], r
    write(state, "0\n")
    wait_state(d, "up")


def pid_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie is gone too as far as a check goes, but ours get reaped.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[1].split()[0] == "Z"
    except OSError:
        return True


def test_exec_hang_killed_at_timeout(daemon_factory, tmp_path):
    pids = tmp_path / "pids"
    script = tmp_path / "hang.sh"
    # The script and a child of it (same process group) hang.
    write(script, f"""sleep 30 &
echo "$$ $!" >> {pids}
wait
""")
    d, _ = start(daemon_factory, tmp_path, exec_check(script, "300ms", "100ms"))
    h = wait_state(d, "down", timeout=5)
    assert h["last_failure"] == "timeout after 100ms", h
    # The loop never waited for it: the status endpoint answered all along,
    # and every hung program (and its child) was killed.
    wait_until(lambda: pids.exists() and len(pids.read_text().splitlines()) >= 3,
               timeout=5, what="three runs")
    lines = pids.read_text().splitlines()[:-1]   # the last may still run
    for l in lines:
        for p in l.split():
            wait_until(lambda: pid_gone(int(p)), timeout=2, what=f"pid {p} killed")
    m = d.get("/metrics")
    assert re.search(r'bgplb_health_check_timeouts_total\{service="dns/anycast"\} [1-9]', m)
    # An orderly stop with a hung program running: it is killed, the
    # daemon exits 0 (and, under ASan, leaks nothing).
    assert d.stop() == 0, d.log()
    last = pids.read_text().splitlines()[-1].split()
    for p in last:
        wait_until(lambda: pid_gone(int(p)), timeout=2, what=f"pid {p} killed at exit")


# ---- hang (http) ------------------------------------------------------------

def test_http_hang_times_out_loop_responsive(daemon_factory, tmp_path, srv):
    d, _ = start(daemon_factory, tmp_path, http_check(interval="200ms", timeout="100ms"))
    wait_state(d, "up")
    srv.set("hang")
    t0 = time.time()
    h = wait_state(d, "down")
    assert "timeout" in h["last_failure"].lower() or "timed out" in h["last_failure"].lower(), h
    assert time.time() - t0 < 2.0
    # The endpoint answers promptly while checks hang.
    for _ in range(5):
        t = time.time()
        d.get("/healthz")
        assert time.time() - t < 0.5
    srv.set("ok")
    wait_state(d, "up")


# ---- flapping ---------------------------------------------------------------

def test_flapping_never_reaches_rise_or_fall(daemon_factory, tmp_path, srv):
    d, _ = start(daemon_factory, tmp_path, http_check(rise=2, fall=2))
    wait_state(d, "up")
    srv.set("flap")
    before = health(d)["checks"]
    wait_until(lambda: health(d)["checks"] >= before + 10, timeout=6, what="10 checks")
    h = health(d)
    assert h["state"] == "up" and h["failures"] >= 4, h
    assert planned(d)
    assert transitions(d) == ["service dns/anycast: pending -> up"]
    # With fall 1 the same flapping takes it down (reload, same target).
    cfg = tmp_path / "bgplb.yaml"
    write(cfg, config(http_check(rise=2, fall=1)))
    d.send_signal(signal.SIGHUP)
    wait_state(d, "down")


# ---- reload -----------------------------------------------------------------

def test_reload(daemon_factory, tmp_path, srv):
    d, cfg = start(daemon_factory, tmp_path, http_check())
    wait_state(d, "up")
    since = health(d)["since"]
    # Same target, new timers: the state stays (no withdrawal).
    write(cfg, config(http_check(interval="300ms", timeout="200ms", rise=3, fall=3)))
    d.send_signal(signal.SIGHUP)
    wait_until(lambda: health(d)["interval_ms"] == 300, what="new interval")
    h = health(d)
    assert h["state"] == "up" and h["since"] == since and h["rise"] == 3
    assert planned(d)
    # A broken check: the file is stale, the running check goes on.
    write(cfg, config("      http: ftp://nope/\n      rise: 0"))
    d.send_signal(signal.SIGHUP)
    wait_until(lambda: d.json("/v1/status")["config"]["stale"], what="stale config")
    errs = d.json("/v1/status")["config"]["errors"]
    assert any(re.search(r"bgplb.yaml:\d+:\d+: services\[0\]\.health-check\.http: "
                         r"invalid URL", e) for e in errs), errs
    srv.set("fail")
    wait_state(d, "down")
    assert not planned(d)
    srv.set("ok")
    wait_state(d, "up")
    # A new target starts over: pending until its first rise successes.
    srv2 = Srv(d.ns, tmp_path, port=8081, name="srv2")
    try:
        srv2.set("fail")
        write(cfg, config(http_check(port=8081)))
        d.send_signal(signal.SIGHUP)
        wait_until(lambda: "8081" in health(d)["target"], what="new target")
        assert health(d)["state"] in ("pending", "down")
        assert not planned(d)
        srv2.set("ok")
        wait_state(d, "up")
        assert planned(d)
        # The check removed: always announced.
        write(cfg, config("      tcp: 127.0.0.1:8081").replace(
            "    health-check:\n      tcp: 127.0.0.1:8081\n", ""))
        srv2.set("down")
        d.send_signal(signal.SIGHUP)
        wait_until(lambda: "health" not in svc(d), what="check removed")
        assert planned(d)
    finally:
        srv2.stop()


# ---- many checks ------------------------------------------------------------

def test_two_hundred_checks_cost_little(daemon_factory, tmp_path, srv):
    extra = "".join(f"""  - name: many/{i}
    pool: anycast
    health-check:
      {"http: http://127.0.0.1:8080/healthz" if i % 2 else "tcp: 127.0.0.1:8080"}
      interval: 500ms
      timeout: 400ms
""" for i in range(200))
    cfg = tmp_path / "bgplb.yaml"
    text = config(http_check()).replace("192.0.2.0/28", "192.0.2.0/24")
    write(cfg, text + extra)
    d = daemon_factory(cfg).start()
    wait_until(lambda: all(s.get("health", {}).get("state") == "up"
                           for s in d.json("/v1/services") if "health" in s),
               timeout=10, what="all 201 up")
    pid = d.proc.pid

    def cpu():
        with open(f"/proc/{pid}/stat") as f:
            f = f.read().split(")")[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    c0, t0 = cpu(), time.time()
    time.sleep(3)
    share = (cpu() - c0) / (time.time() - t0)
    print(f"\n201 checks (400/s): bgplbd uses {share * 100:.1f}% of a CPU")
    assert share < 0.5


# ---- BGP with FRR -----------------------------------------------------------

def frr_lab(tmp_path, nodes):
    from test_bgp import Lab
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    lab = Lab(tmp_path, nodes)
    try:
        lab.start_router("frr")
    except BaseException:
        lab.close()
        raise
    return lab


def with_check(text, service, check):
    """Insert a health-check block after `service`'s addresses line."""
    lines = text.splitlines()
    i = next(i for i, l in enumerate(lines) if l == f"  - name: {service}")
    j = next(j for j in range(i, len(lines)) if lines[j].startswith("    addresses:"))
    lines[j + 1:j + 1] = ["    health-check:"] + check.splitlines()
    return "\n".join(lines) + "\n"


def test_bgp_withdraw_and_reannounce_frr(tmp_path):
    from test_bgp import established_both, have_prefixes, node_config, A4, B4
    lab = frr_lab(tmp_path, 1)
    try:
        node = lab.nodes[0]
        srv = Srv(node.ns, tmp_path)
        cfg = tmp_path / "node1.yaml"
        write(cfg, with_check(node_config(node, {"dns/a": [A4], "dns/b": [B4]}),
                              "dns/a", http_check()))
        dm = Daemon(node.ns, cfg, tmp_path)
        lab.daemons[node.index] = dm
        dm.start()
        established_both(lab, node)
        have_prefixes(lab, [A4, B4])
        up_since = lab.router.neighbor(node.v4).get("bgpTimerUpEstablishedEpoch")
        t0 = time.time()
        srv.set("fail")
        have_prefixes(lab, [B4], gone=[A4])
        print(f"\nBGP: {A4} withdrawn at FRR {time.time() - t0:.2f}s after the "
              "endpoint failed (fall 2 x 200ms)")
        assert time.time() - t0 < 3
        srv.set("ok")
        have_prefixes(lab, [A4, B4])
        # The session never flapped.
        assert lab.router.established(node.v4)
        assert lab.router.neighbor(node.v4).get("bgpTimerUpEstablishedEpoch") == up_since
        assert dm.json("/v1/peers")[0]["state"] == "Established"
        srv.stop()
    finally:
        lab.close()


# ---- layer 2 ----------------------------------------------------------------

L2_NODES = {"node-a": "10.77.0.2", "node-b": "10.77.0.3"}


def l2_config(node, key, check):
    members = "\n".join(f"      - {{name: {n}, address: {a}:7946}}"
                        for n, a in L2_NODES.items())
    return f"""pools:
  - name: vip
    protocol: layer2
    addresses: [10.77.0.100-10.77.0.120]
    auto-assign: false
services:
  - name: {SVC}
    pool: vip
    addresses: [10.77.0.100]
    health-check:
{check}
  - name: {OTHER}
    pool: vip
    addresses: [10.77.0.101]
layer2:
  interfaces: [eth0]
  membership:
    listen: {L2_NODES[node]}:7946
    key-file: {key}
    interval: 100ms
    dead-after: 500ms
    members:
{members}
"""


def test_layer2_unhealthy_node_loses_the_address(tmp_path):
    need("arping")
    from test_l2 import arping, mac_of
    lan = Lan()
    daemons, srvs = {}, {}
    try:
        key = tmp_path / "key"
        write(key, secrets.token_hex(32) + "\n")
        for n, a in L2_NODES.items():
            ns = lan.add_node(n, a + "/24", [])
            srvs[n] = Srv(ns, tmp_path, name=n)
            cfg = tmp_path / f"{n}.yaml"
            write(cfg, l2_config(n, key, http_check()))
            daemons[n] = Daemon(ns, cfg, tmp_path, node=n)
        # node-a alone owns everything; node-b starts with its check failing:
        # its very first heartbeat already says so, node-a never hands it
        # the address (not even for the moment before node-b's first plan).
        daemons["node-a"].start()
        wait_state(daemons["node-a"], "up")
        srvs["node-b"].set("fail")
        daemons["node-b"].start()
        wait_until(lambda: "node-b" in daemons["node-a"].json("/v1/status")
                   ["membership"]["alive"], timeout=5, what="node-b alive at node-a")
        wait_state(daemons["node-b"], "down")
        assert "10.77.0.100: owner is now node-b" not in daemons["node-a"].log()
        assert svc(daemons["node-b"])["announcing_node"] == "node-a"
        srvs["node-b"].set("ok")

        def owners():
            o = {n: svc(d)["announcing_node"] for n, d in daemons.items()}
            return o if len(set(o.values())) == 1 and None not in o.values() else None
        # Both checks up first: while one is pending the other owns it.
        for d in daemons.values():
            wait_state(d, "up")
        owner = wait_until(owners, timeout=10, what="agreed owner")["node-a"]
        other = next(n for n in L2_NODES if n != owner)
        def answers(node):
            macs = arping(lan, "10.77.0.100", count=2)
            return bool(macs) and set(macs) == {mac_of(lan.nodes[node], "eth0")}
        wait_until(lambda: answers(owner), timeout=5, what="owner answers ARP")
        other_owner = svc(daemons[owner], OTHER)["announcing_node"]
        t0 = time.time()
        srvs[owner].set("fail")
        wait_until(lambda: (owners() or {}).get("node-a") == other, timeout=5,
                   interval=0.05, what=f"{other} owns the address at both nodes")
        took = time.time() - t0
        print(f"\nlayer 2: the address moved {took:.2f}s after {owner}'s endpoint "
              "failed (fall 2 x 200ms)")
        assert took < 3
        wait_until(lambda: answers(other), timeout=5, what="the healthy node answers ARP")
        # The membership status says what the failing node reported.
        m = daemons[other].json("/v1/status")["membership"]["members"]
        assert [x["services_down"] for x in m if x["name"] == owner] == [1], m
        # The other service did not move.
        assert all(svc(d, OTHER)["announcing_node"] == other_owner
                   for d in daemons.values())
        # Both failing: nobody answers for it.
        srvs[other].set("fail")
        wait_until(lambda: all(svc(d)["announcing_node"] is None
                               for d in daemons.values()), timeout=5, what="no owner")
        srvs[owner].set("ok")
        srvs[other].set("ok")
        wait_until(lambda: (owners() or {}).get("node-a") == owner, timeout=5,
                   what="the first owner back")
    finally:
        for d in daemons.values():
            d.stop(signal.SIGKILL)
        for s in srvs.values():
            s.stop()
        lan.delete()
