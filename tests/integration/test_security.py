"""Security: who may read the status endpoint, secrets kept out of every
output, and the capabilities bgplbd keeps.

- Loopback by default; a non-loopback status-listen needs a bearer token
  (status-token-file) or an explicit status-insecure: true.  With a token,
  every path but /healthz answers 401 without "Authorization: Bearer ...";
  bgplbctl sends it (--token-file, $BGPLB_TOKEN_FILE); a reload re-reads it.
- The MD5 password, the membership key and the status token never appear in
  the log (debug level), any status document, the metrics, or
  --check-config output, also when a reload fails on the secret's line.
- bgplbd started as root keeps exactly CAP_NET_BIND_SERVICE + CAP_NET_RAW
  (effective, permitted and bounding); nothing inheritable or ambient.
"""
import os
import secrets
import signal
import subprocess
import time

from conftest import BGPLBCTL, BGPLBD, wait_until
from test_daemon import write

PORT = 7473
POOL = """\
node: node-a
pools:
  - name: web
    protocol: bgp
    addresses: [192.0.2.0/29]
services:
  - name: default/alpha
"""


def curl(d, path, token=None):
    """HTTP status code of GET path (with a bearer token when given)."""
    args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5"]
    if token is not None:
        args += ["-H", f"Authorization: Bearer {token}"]
    return d.ns.run(*args, d.url + path, check=False).stdout


def test_exposed_status_needs_a_token(daemon_factory, tmp_path):
    token = secrets.token_urlsafe(24)
    tf = tmp_path / "status.token"
    write(tf, token + "\n")
    os.chmod(tf, 0o600)
    cfg = tmp_path / "bgplb.yaml"
    write(cfg, POOL + f"status-token-file: {tf}\n")
    d = daemon_factory(cfg, extra=["--status-listen", f"0.0.0.0:{PORT}"]).start()
    assert curl(d, "/healthz") == "200"             # probes need no token
    for path in ("/v1/status", "/v1/peers", "/v1/services", "/v1/pools", "/metrics"):
        assert curl(d, path) == "401", path
        assert curl(d, path, token="wrong" + token) == "401", path
        assert curl(d, path, token=token[:-1]) == "401", path
        assert curl(d, path, token=token) == "200", path
    # bgplbctl: refused without the token, with a hint; fine with it.
    r = d.ctl("status", check=False)
    assert r.returncode == 1 and "--token-file" in r.stderr, r.stderr
    assert "node-a" in d.ctl("--token-file", str(tf), "status").stdout
    r = d.ns.run("env", f"BGPLB_TOKEN_FILE={tf}", BGPLBCTL, "--server", d.url, "pools")
    assert "web" in r.stdout
    # A reload re-reads the file: the new token works, the old one no more.
    new = secrets.token_urlsafe(24)
    write(tf, new + "\n")
    os.chmod(tf, 0o600)
    d.send_signal(signal.SIGHUP)
    wait_until(lambda: curl(d, "/v1/status", token=new) == "200", timeout=5,
               what="the new token accepted")
    assert curl(d, "/v1/status", token=token) == "401"
    # A token file that can't be read on reload keeps the previous token.
    os.unlink(tf)
    d.send_signal(signal.SIGHUP)
    wait_until(lambda: "keeping the previous token" in d.log(), timeout=5,
               what="unreadable token file reported")
    assert curl(d, "/v1/status") == "401"
    assert curl(d, "/v1/status", token=new) == "200"
    log = d.log()
    assert token not in log and new not in log
    assert "requires a bearer token" in log


def test_exposed_status_without_token_refused_or_insecure(daemon_factory, tmp_path):
    cfg = tmp_path / "bgplb.yaml"
    write(cfg, POOL)
    # --status-listen overrides the file: the daemon itself refuses.
    d = daemon_factory(cfg, extra=["--status-listen", f"0.0.0.0:{PORT}"])
    d.start(wait=False)
    assert d.proc.wait(timeout=10) == 1
    assert "is not on loopback: set status-token-file or status-insecure: true" in d.log()
    # In the file, the config is invalid (reported by --check-config).
    write(cfg, POOL + f"status-listen: 10.1.2.3:{PORT}\n")
    r = subprocess.run([BGPLBD, "--check-config", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 1 and "is not a loopback address" in r.stderr, r.stderr
    # status-insecure: true is the explicit opt-out, with a warning.
    write(cfg, POOL + "status-insecure: true\n")
    d2 = daemon_factory(cfg, port=PORT + 1,
                        extra=["--status-listen", f"0.0.0.0:{PORT + 1}"]).start()
    assert curl(d2, "/v1/status") == "200"
    assert "readable by anyone who can reach it (status-insecure: true)" in d2.log()


def test_no_secrets_in_logs_status_or_check_config(daemon_factory, tmp_path):
    password = "pw-" + secrets.token_hex(12)
    key = secrets.token_hex(32)
    token = "tk-" + secrets.token_hex(12)
    kf, tf = tmp_path / "member.key", tmp_path / "status.token"
    write(kf, key + "\n")
    write(tf, token + "\n")
    os.chmod(kf, 0o600)
    os.chmod(tf, 0o600)
    text = POOL + f"""\
status-token-file: {tf}
peers:
  - name: tor-a
    address: 10.99.0.1
    asn: 64501
    my-asn: 64512
    connect-time: 1s
    password: {password}
layer2:
  interfaces: []
  membership:
    listen: 127.0.0.1:7946
    key-file: {kf}
    interval: 100ms
    dead-after: 500ms
    members:
      - {{name: node-b, address: 127.0.0.1:7947}}
"""
    cfg = tmp_path / "bgplb.yaml"
    write(cfg, text)
    secrets_ = (password, key, token)

    r = subprocess.run([BGPLBD, "--check-config", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "password: set (not shown)" in r.stdout
    for s in secrets_:
        assert s not in r.stdout + r.stderr

    d = daemon_factory(cfg, extra=["--log-level", "debug"]).start()
    # Let the peer fail to connect a few times (errors are logged).
    time.sleep(2.5)
    out = []
    for path in ("/v1/status", "/v1/peers", "/v1/services", "/v1/pools", "/metrics"):
        r = d.ns.run("curl", "-sf", "-m", "5", "-H", f"Authorization: Bearer {token}",
                     d.url + path)
        out.append(r.stdout)
    out.append(d.ctl("--token-file", str(tf), "peers").stdout)
    out.append(d.ctl("--token-file", str(tf), "status").stdout)
    assert '"md5": true' in out[1], out[1]
    # Broken reloads whose errors sit on the secrets' own lines.
    for bad in (text.replace(f"password: {password}", f"password: [{password}]"),
                text.replace(f"password: {password}", f"password: {password * 8}"),
                text.replace(f"key-file: {kf}", f"key-file: {kf}.missing")):
        write(cfg, bad)
        d.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        r = d.ns.run("curl", "-sf", "-m", "5", "-H", f"Authorization: Bearer {token}",
                     d.url + "/v1/status")
        out.append(r.stdout)
        r = subprocess.run([BGPLBD, "--check-config", str(cfg)], capture_output=True,
                           text=True)
        out.append(r.stdout + r.stderr)
    # A key file whose content is wrong: its size is reported, never its bytes.
    write(kf, password + "\n")
    write(cfg, text)
    d.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    d.stop()
    blob = "\n".join(out) + d.log()
    for s in secrets_:
        assert s not in blob, f"secret {s[:6]}... leaked"
    assert password not in blob
    assert "bytes is not a key" in d.log()


def test_capabilities_restricted(daemon_factory, tmp_path):
    cfg = tmp_path / "bgplb.yaml"
    write(cfg, POOL)
    d = daemon_factory(cfg).start()
    caps = {}
    with open(f"/proc/{d.proc.pid}/status") as f:
        for line in f:
            if line.startswith("Cap"):
                k, v = line.split(":")
                caps[k] = int(v.strip(), 16)
    want = (1 << 10) | (1 << 13)        # CAP_NET_BIND_SERVICE, CAP_NET_RAW
    assert caps["CapEff"] == want, {k: hex(v) for k, v in caps.items()}
    assert caps["CapPrm"] == want and caps["CapBnd"] == want, caps
    assert caps["CapInh"] == 0 and caps["CapAmb"] == 0, caps
    assert "capabilities: kept cap_net_bind_service cap_net_raw" in d.log()
    # And it still does its job: port 179 is bound, the endpoint answers.
    assert d.json("/v1/status")["backends"]["bgp"].get("listen_port") == 179
