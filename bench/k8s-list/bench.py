#!/usr/bin/env python3
"""bench/k8s-list: what a LIST of many EndpointSlices costs bgplbd in memory
(issue 13, item 6).  Loopback only; no root needed, no namespaces.

For each N (default 16000 and 50000):

1. the fake API server (tests/k8s/fakeapi.py --preload-endpointslices N)
   starts with N EndpointSlices (one per Service, 3 ready endpoints each,
   about 1.4 KB of JSON apiece), on 127.0.0.1;
2. bgplbd starts in Kubernetes mode against it (no ConfigMap, no peers,
   bgp-listen-port 0: only the watches run) and lists everything, 500
   objects a page;
3. once every watch has listed, and 3 s later, its RSS is read: "steady";
   the kernel's high-water mark (VmHWM) since the start is "peak (start)";
4. the high-water mark is reset (/proc/PID/clear_refs 5), every watch is
   made to relist (410 Gone), and once the EndpointSlices have listed again
   VmHWM is "peak (relist)".

Prints one line per N: steady, both peaks and peak/steady.  The bound the
issue sets: peak under 1.5 x steady at N = 50,000.  A figure, not a test.

    bench/k8s-list/bench.py [--bgplbd PATH] [N ...]
    BGPLB_BUILD=build-release bench/k8s-list/bench.py 16000 50000
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("BGPLB_BUILD", os.path.join(TOP, "build"))
FAKEAPI = os.path.join(TOP, "tests", "k8s", "fakeapi.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
TOKEN = "bench-k8s-list"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def proc_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1))


def get_json(url, token=None, body=None):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                 method="GET" if body is None else "POST")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def wait(fn, timeout, what, pid=None, peak=None):
    end = time.time() + timeout
    while time.time() < end:
        try:
            v = fn()
        except OSError:
            v = None
        if v:
            return v
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def relists(status_url):
    text = urllib.request.urlopen(status_url + "/metrics", timeout=10).read().decode()
    m = re.search(r'^bgplb_k8s_relists_total\{resource="endpointslices"\} (\d+)$', text, re.M)
    return int(m.group(1)) if m else 0


def run(n, bgplbd, tmp):
    kubeconfig = os.path.join(tmp, f"kubeconfig-{n}")
    api_port, status_port = free_port(), free_port()
    log = open(os.path.join(tmp, f"fakeapi-{n}.log"), "w")
    t0 = time.time()
    api = subprocess.Popen([PYTHON, FAKEAPI, "--port", str(api_port), "--token", TOKEN,
                            "--kubeconfig", kubeconfig, "--bookmark-interval", "3600",
                            "--preload-endpointslices", str(n)],
                           stdout=log, stderr=subprocess.STDOUT)
    daemon = None
    try:
        api_url = f"http://127.0.0.1:{api_port}"
        wait(lambda: os.path.exists(kubeconfig) and get_json(api_url + "/version", TOKEN),
             600, "the fake API server")
        preload_s = time.time() - t0
        cfg = os.path.join(tmp, f"bgplbd-{n}.yaml")
        with open(cfg, "w") as f:
            f.write("router-id: 192.0.2.1\n"
                    "bgp-listen-port: 0\n"
                    f"status-listen: 127.0.0.1:{status_port}\n"
                    "kubernetes:\n"
                    f"  kubeconfig: {kubeconfig}\n"
                    "  config-map: default/bgplb\n"
                    "  lease: default/bgplb-leader\n")
        dlog = open(os.path.join(tmp, f"bgplbd-{n}.log"), "w")
        t1 = time.time()
        daemon = subprocess.Popen([bgplbd, "--config", cfg, "--node", "node-1"],
                                  stdout=dlog, stderr=subprocess.STDOUT)
        status = f"http://127.0.0.1:{status_port}"

        def synced():
            if daemon.poll() is not None:
                raise SystemExit(f"bgplbd exited {daemon.returncode}")
            k = get_json(status + "/v1/status").get("kubernetes") or {}
            return all((k.get("synced") or {"x": False}).values())
        wait(synced, 900, "the first list")
        list_s = time.time() - t1
        time.sleep(3.0)
        steady = proc_kb(daemon.pid, "VmRSS")
        peak_start = proc_kb(daemon.pid, "VmHWM")
        # The relist after 410 Gone: the high-water mark from here on.
        with open(f"/proc/{daemon.pid}/clear_refs", "w") as f:
            f.write("5")
        before = relists(status)
        get_json(api_url + "/__fake/faults", TOKEN, {"action": "gone", "count": 4,
                                                     "mode": "http"})
        get_json(api_url + "/__fake/faults", TOKEN, {"action": "close_watches",
                                                     "clean": True})
        wait(lambda: relists(status) > before, 120, "the relist")
        wait(synced, 900, "the relist to end")
        time.sleep(3.0)
        peak_relist = proc_kb(daemon.pid, "VmHWM")
        after = proc_kb(daemon.pid, "VmRSS")
        return {"n": n, "steady_kb": steady, "peak_start_kb": peak_start,
                "peak_relist_kb": peak_relist, "after_relist_kb": after,
                "list_s": list_s, "preload_s": preload_s}
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.terminate()
            try:
                daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        api.kill()
        api.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bgplbd", default=os.path.join(BUILD, "src", "bgplbd"))
    ap.add_argument("n", nargs="*", type=int, default=[16000, 50000])
    a = ap.parse_args()
    print(f"bgplbd: {a.bgplbd}")
    print(f"{'N':>7} {'steady MB':>10} {'peak start MB':>14} {'peak relist MB':>15} "
          f"{'peak/steady':>12} {'list s':>7}")
    with tempfile.TemporaryDirectory(prefix="bench-k8s-list-") as tmp:
        for n in a.n:
            r = run(n, a.bgplbd, tmp)
            ratio = max(r["peak_start_kb"], r["peak_relist_kb"]) / r["steady_kb"]
            print(f"{n:>7} {r['steady_kb'] / 1024:>10.1f} {r['peak_start_kb'] / 1024:>14.1f} "
                  f"{r['peak_relist_kb'] / 1024:>15.1f} {ratio:>12.2f} {r['list_s']:>7.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
