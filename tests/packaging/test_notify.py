"""bgplbd under a Type=notify unit: what it tells the service manager.

bgplbd is started the way systemd starts it, with $NOTIFY_SOCKET naming a
datagram socket this test listens on, and the messages are read back:
READY=1 once the first config runs, RELOADING=1 then READY=1 around each
reload (a failed one too, with a STATUS saying so), STOPPING=1 on SIGTERM.
The daemon runs in a network namespace of its own (`unshare -n`) with no
peers and no listener, so it speaks to nothing.
"""
import os
import signal
import socket
import subprocess
import time

import pytest

from pkgutil_bgplb import BUILD, require_root

BGPLBD = os.path.join(BUILD, "src", "bgplbd")

CONFIG = """\
node: notify-test
bgp-listen-port: 0
state-file: {state}
pools:
  - name: web
    addresses: [192.0.2.0/28]
services:
  - name: web
"""


def has_libsystemd():
    out = subprocess.run(["ldd", BGPLBD], capture_output=True, text=True).stdout
    return "libsystemd" in out


@pytest.fixture
def notified(tmp_path):
    require_root()
    if not os.path.exists(BGPLBD):
        pytest.fail(f"{BGPLBD} is not built")
    if not has_libsystemd():
        pytest.skip("SKIPPED LOUDLY: bgplbd was built without libsystemd "
                    "(meson -Dsystemd=disabled, or libsystemd-dev missing): "
                    "no sd_notify to test")
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    cfg = tmp_path / "bgplb.yaml"
    cfg.write_text(CONFIG.format(state=tmp_path / "state.json"))
    env = dict(os.environ, NOTIFY_SOCKET=path)
    log = open(tmp_path / "bgplbd.log", "w")
    proc = subprocess.Popen(["unshare", "-n", BGPLBD, "--config", str(cfg),
                             "--status-listen", "none"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    yield proc, sock, cfg
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    sock.close()
    log.close()


def recv(sock):
    """One notification as a dict (KEY=VALUE lines)."""
    msg = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in msg.splitlines() if "=" in line)


def test_ready_reload_stopping(notified):
    proc, sock, cfg = notified
    m = recv(sock)
    assert m.get("READY") == "1", m
    assert m.get("STATUS") == "running"

    proc.send_signal(signal.SIGHUP)
    m = recv(sock)
    assert m.get("RELOADING") == "1", m
    m = recv(sock)
    assert m.get("READY") == "1", m
    assert m.get("STATUS") == "running"

    # A broken file: the reload fails, the daemon says READY again (it runs
    # the previous config) and why in STATUS.
    good = cfg.read_text()
    cfg.write_text(good + "bogus-key: 1\n")
    proc.send_signal(signal.SIGHUP)
    assert recv(sock).get("RELOADING") == "1"
    m = recv(sock)
    assert m.get("READY") == "1", m
    assert "reload failed" in m.get("STATUS", ""), m

    # The file watch reloads too, announced the same way.
    time.sleep(1.1)
    cfg.write_text(good)
    m = recv(sock)
    assert m.get("RELOADING") == "1", m
    m = recv(sock)
    assert m.get("READY") == "1" and m.get("STATUS") == "running", m

    proc.send_signal(signal.SIGTERM)
    m = recv(sock)
    assert m.get("STOPPING") == "1", m
    assert proc.wait(timeout=10) == 0


def test_first_load_fails_no_ready(notified, tmp_path):
    """A daemon that cannot start never says READY: systemd sees it fail."""
    proc, sock, cfg = notified
    assert recv(sock).get("READY") == "1"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)
    bad = tmp_path / "bad.yaml"
    bad.write_text("pools: [\n")
    sock.settimeout(2)
    env = dict(os.environ, NOTIFY_SOCKET=sock.getsockname())
    rc = subprocess.run(["unshare", "-n", BGPLBD, "--config", str(bad),
                         "--status-listen", "none"],
                        env=env, capture_output=True, timeout=10).returncode
    assert rc == 1
    msgs = []
    try:
        while True:
            msgs.append(recv(sock))
    except socket.timeout:
        pass
    assert not any(m.get("READY") == "1" for m in msgs), msgs
