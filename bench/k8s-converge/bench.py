#!/usr/bin/env python3
"""bench/k8s-converge: how fast a Service created in Kubernetes reaches the
router, with bgplbd in Kubernetes mode (see README.md; run via run.sh).

1. one by one: BENCH_ONE (200) Services, each `kubectl create -f -` (the
   clock starts just before kubectl runs), FRR polled until the /32 is in
   its RIB (first path) and until it has a path from every node;
2. bulk: BENCH_BULK (10000) Services POSTed as fast as the fake API server
   takes them (8 connections), FRR polled until it holds them all from every
   node;
   (each Service's EndpointSlice is created first, untimed: no endpoint,
   no announcement);
3. the floor, in the same run and the same namespaces, with bgplbd stopped:
   GoBGP in node 1 (`gobgp global rib add` one by one, clock before the
   command, the same FRR poll) and BIRD in node 1 (BENCH_BULK static routes
   added by one `birdc configure`, until FRR holds them all).

The ratios divide bgplb's figure by the floor's: what the Kubernetes path
(kubectl, the API server, the watch, the leader's allocation and status
write, every node's watch of that status, the announcement) adds over
pushing the route into a BGP daemon directly.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

from k8slab import TOKEN, K8sLab  # noqa: E402

ONE = int(os.environ.get("BENCH_ONE", "200"))
BULK = int(os.environ.get("BENCH_BULK", "10000"))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "600"))
OUT = os.environ.get("BENCH_OUT", HERE)


def log(*a):
    print(*a, flush=True)


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = max(0, min(len(xs) - 1, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def cluster_config(pool="10.128.0.0/16"):
    return json.dumps({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "bgplb", "namespace": "bgplb-system"},
        "data": {"config": (
            "pools:\n"
            "  - name: bench\n"
            "    protocol: bgp\n"
            f"    addresses: [{pool}]\n"
            "peers:\n"
            "  - name: rtr\n"
            "    address: 10.0.0.1\n"
            "    asn: 64500\n"
            "    my-asn: 64512\n"
            "    hold-time: 90s\n"
            "    connect-time: 1s\n")}})


def svc(name, ip=None):
    spec = {"type": "LoadBalancer", "selector": {"app": name},
            "ports": [{"port": 80, "protocol": "TCP"}]}
    if ip:
        spec["loadBalancerIP"] = ip
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "bench"}, "spec": spec}


class FrrPoll:
    def __init__(self, frr):
        self.frr = frr

    def peers_of(self, prefix):
        d = self.frr.json(f"show bgp ipv4 unicast {prefix} json")
        return {(p.get("peer") or {}).get("peerId") for p in d.get("paths", [])}

    def counts(self):
        d = self.frr.json("show bgp ipv4 unicast summary json")
        peers = (d.get("ipv4Unicast") or d).get("peers", {})
        return {a: p.get("pfxRcd", 0) for a, p in peers.items()}


def wait(pred, timeout, what, interval=0.005):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise RuntimeError(f"timed out: {what}")


# ------------------------------------------------------------------ bgplb
def bgplb_one(lab, poll, n):
    nodes = {nd.addr for nd in lab.nodes}
    first, full, after_kubectl = [], [], []
    endpoints_first(lab, "one", n)
    for i in range(n):
        ip = f"10.128.1.{i % 250 + 1}" if i < 250 else f"10.128.2.{i - 249}"
        body = json.dumps(svc(f"one-{i}", ip))
        t0 = time.monotonic()
        p = subprocess.Popen(["ip", "netns", "exec", lab.router_ns.name, "kubectl",
                              "--kubeconfig", lab.kubeconfig, "--cache-dir", lab.kcache,
                              "create", "-f", "-"], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        p.stdin.write(body)
        p.stdin.close()
        t_first = t_full = t_k = None
        end = t0 + 30
        while time.monotonic() < end and t_full is None:
            if t_k is None and p.poll() is not None:
                t_k = time.monotonic()
                if p.returncode != 0:
                    raise RuntimeError("kubectl create failed: " + p.stderr.read())
            peers = poll.peers_of(ip + "/32")
            now = time.monotonic()
            if peers and t_first is None:
                t_first = now
            if nodes <= peers:
                t_full = now
        if t_full is None:
            raise RuntimeError(f"{ip} not in FRR from every node within 30 s")
        if t_k is None:
            p.wait()
            t_k = time.monotonic()
        first.append(t_first - t0)
        full.append(t_full - t0)
        after_kubectl.append(max(0.0, t_first - t_k))
    return {"first": first, "full": full, "after_kubectl": after_kubectl}


BULK_SCRIPT = r'''
import http.client, json, ssl, sys, threading, time
url_host, port, token, cafile, n, nthreads = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), 8
# "svc": Services bulk-I; "eps:PREFIX": an EndpointSlice with one ready
# endpoint for each Service PREFIX-I (its Pods, up before the Service).
mode = sys.argv[6] if len(sys.argv) > 6 else "svc"
ctx = ssl.create_default_context(cafile=cafile)
def item(i):
    if mode == "svc":
        return "/api/v1/namespaces/bench/services", {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"bulk-{i}", "namespace": "bench"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "b"},
                     "ports": [{"port": 80, "protocol": "TCP"}]}}
    name = mode.split(":", 1)[1] + f"-{i}"
    return "/apis/discovery.k8s.io/v1/namespaces/bench/endpointslices", {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": name + "-ep", "namespace": "bench",
                     "labels": {"kubernetes.io/service-name": name}},
        "addressType": "IPv4", "ports": [{"name": "", "port": 80, "protocol": "TCP"}],
        "endpoints": [{"addresses": [f"10.244.{i // 250 % 250}.{i % 250 + 1}"],
                       "conditions": {"ready": True}}]}
def worker(k):
    c = http.client.HTTPSConnection(url_host, port, context=ctx, timeout=60)
    for i in range(k, n, nthreads):
        path, obj = item(i)
        body = json.dumps(obj)
        for attempt in range(5):
            try:
                c.request("POST", path, body=body,
                          headers={"Authorization": "Bearer " + token,
                                   "Content-Type": "application/json"})
                r = c.getresponse(); r.read()
                if r.status in (200, 201):
                    break
                raise RuntimeError(f"HTTP {r.status}")
            except (OSError, http.client.HTTPException):
                c.close()
                c = http.client.HTTPSConnection(url_host, port, context=ctx, timeout=60)
ts = [threading.Thread(target=worker, args=(k,)) for k in range(nthreads)]
[t.start() for t in ts]; [t.join() for t in ts]
print("done", flush=True)
'''


def bulk_script(lab):
    script = os.path.join(lab.dir, "bulk.py")
    with open(script, "w") as f:
        f.write(BULK_SCRIPT)
    return script


def endpoints_first(lab, prefix, n):
    """Untimed: the Services' endpoints exist before the Services (their
    Pods are up first), as a Service no endpoint can serve is announced
    nowhere (MetalLB's rule, doc/kubernetes.md)."""
    ca = str(lab.dir / "certs" / "apiserver-10.0.0.1.crt")
    subprocess.run(["ip", "netns", "exec", lab.router_ns.name, sys.executable,
                    bulk_script(lab), "10.0.0.1", "6443", TOKEN, ca, str(n),
                    f"eps:{prefix}"], check=True, capture_output=True, text=True)


def bgplb_bulk(lab, poll, n, base_counts):
    script = bulk_script(lab)
    ca = str(lab.dir / "certs" / "apiserver-10.0.0.1.crt")
    endpoints_first(lab, "bulk", n)
    t0 = time.monotonic()
    p = subprocess.Popen(["ip", "netns", "exec", lab.router_ns.name, sys.executable, script,
                          "10.0.0.1", "6443", TOKEN, ca, str(n)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t_created = None
    t_all = None
    marks = {}              # fraction -> seconds since t0 (both nodes at least)
    end = t0 + TIMEOUT
    nodes = [nd.addr for nd in lab.nodes]
    got = 0
    while time.monotonic() < end:
        if t_created is None and p.poll() is not None:
            t_created = time.monotonic()
            if p.returncode != 0:
                raise RuntimeError("bulk create failed: " + p.stderr.read())
        c = poll.counts()
        got = min(c.get(a, 0) - base_counts.get(a, 0) for a in nodes)
        for f in (0.1, 0.5, 0.9):
            if f not in marks and got >= f * n:
                marks[f] = time.monotonic() - t0
        if got >= n:
            t_all = time.monotonic()
            break
        time.sleep(0.05)
    if t_created is None:
        p.wait()
        t_created = time.monotonic()
    if t_all is None:
        # Reported, not hidden: how far it got.
        return {"create_s": t_created - t0, "all_s": None, "tail_s": None,
                "marks": marks, "got": got}
    return {"create_s": t_created - t0, "all_s": t_all - t0,
            "tail_s": max(0.0, t_all - t_created), "marks": marks, "got": got}


# ------------------------------------------------------------------ floors
def gobgp_one(lab, poll, n):
    node = lab.nodes[0]
    d = tempfile.mkdtemp(prefix="bgplb-k8sbench-gobgp-")
    conf = os.path.join(d, "gobgpd.toml")
    with open(conf, "w") as f:
        f.write(f'[global.config]\n  as = 64512\n  router-id = "{node.addr}"\n'
                f'  local-address-list = ["{node.addr}"]\n'
                '[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "10.0.0.1"\n'
                '    peer-as = 64500\n')
    sock = f"unix://{d}/gobgp.sock"
    logf = open(os.path.join(d, "gobgpd.log"), "w")
    g = node.ns.popen(["gobgpd", "-f", conf, "--api-hosts", sock, "--pprof-disable", "-p",
                       "-l", "warn"], stdout=logf, stderr=subprocess.STDOUT)
    try:
        wait(lambda: lab.frr.established(node.addr), 60, "FRR session with gobgpd",
             interval=0.2)
        lat = []
        for i in range(n):
            ip = f"10.129.{i // 250}.{i % 250 + 1}"
            t0 = time.monotonic()
            r = node.ns.run("gobgp", "--target", sock, "global", "rib", "add", "-a", "ipv4",
                            ip + "/32", check=False)
            if r.returncode != 0:
                raise RuntimeError("gobgp rib add: " + r.stderr)
            wait(lambda: node.addr in poll.peers_of(ip + "/32"), 30, f"{ip} from gobgp")
            lat.append(time.monotonic() - t0)
        return lat
    finally:
        g.terminate()
        try:
            g.wait(10)
        except subprocess.TimeoutExpired:
            g.kill()
            g.wait()
        logf.close()
        shutil.rmtree(d, ignore_errors=True)


def bird_bulk(lab, poll, n):
    node = lab.nodes[0]
    d = tempfile.mkdtemp(prefix="bgplb-k8sbench-bird-")
    routes = os.path.join(d, "routes.bird")
    open(routes, "w").close()
    conf = os.path.join(d, "bird.conf")
    ctl = os.path.join(d, "bird.ctl")
    with open(conf, "w") as f:
        f.write(f"""log stderr {{ warning, error, fatal }};
router id {node.addr};
protocol device {{ }}
protocol static st4 {{
  ipv4;
include "{routes}";
}}
protocol bgp up4 {{
  local {node.addr} as 64512;
  neighbor 10.0.0.1 as 64500;
  connect delay time 1;
  connect retry time 1;
  ipv4 {{ import none; export all; }};
}}
""")
    logf = open(os.path.join(d, "bird.log"), "w")
    b = node.ns.popen(["bird", "-f", "-c", conf, "-s", ctl, "-P", os.path.join(d, "pid")],
                      stdout=logf, stderr=subprocess.STDOUT)
    try:
        def up():
            if b.poll() is not None:
                raise RuntimeError("bird exited: " + open(os.path.join(d, "bird.log")).read())
            return lab.frr.established(node.addr)
        wait(up, 60, "FRR session with BIRD", interval=0.2)
        with open(routes, "w") as f:
            for i in range(n):
                f.write(f"route 10.130.{i // 250}.{i % 250 + 1}/32 blackhole;\n")
        t0 = time.monotonic()
        node.ns.run("birdc", "-s", ctl, "configure")
        wait(lambda: poll.counts().get(node.addr, 0) >= n, TIMEOUT, "BIRD's routes in FRR",
             interval=0.05)
        return time.monotonic() - t0
    finally:
        b.terminate()
        try:
            b.wait(10)
        except subprocess.TimeoutExpired:
            b.kill()
            b.wait()
        logf.close()
        shutil.rmtree(d, ignore_errors=True)


# ------------------------------------------------------------------ main
def main():
    if os.geteuid() != 0:
        sys.exit("bench.py: run as root (network namespaces)")
    tmp = tempfile.mkdtemp(prefix="bgplb-k8sbench-")
    from pathlib import Path
    # The default lease timings (client-go's): nothing here waits for a takeover.
    lab = K8sLab(Path(tmp), nodes=2, config_map="bgplb-system/bgplb", lease_ms=None,
                 history=max(100000, 4 * BULK))
    res = {}
    try:
        lab.kubectl("create", "namespace", "bgplb-system")
        lab.kubectl("create", "namespace", "bench")
        lab.apply(cluster_config())
        for nd in lab.nodes:
            nd.start()
        poll = FrrPoll(lab.frr)
        for nd in lab.nodes:
            wait(lambda: lab.frr.established(nd.addr), 60, f"session with {nd.name}",
                 interval=0.2)
        wait(lambda: lab.leader() is not None and lab.leader().leading(), 60, "a leader",
             interval=0.2)
        log(f"== {ONE} Services one by one (kubectl create -> FRR RIB)")
        res["one"] = bgplb_one(lab, poll, ONE)
        o = res["one"]
        log(f"   create -> first path: p50 {pct(o['first'], 50) * 1000:.1f} ms, "
            f"p99 {pct(o['first'], 99) * 1000:.1f} ms")
        base = poll.counts()
        log(f"== {BULK} Services in bulk")
        res["bulk"] = bgplb_bulk(lab, poll, BULK, base)
        log(f"   {json.dumps(res['bulk'])}")
        lstat = lab.leader().k8s()
        res["leader"] = {"replans": lstat.get("replans"),
                         "last_replan_us": lstat.get("last_replan_us"),
                         "status_writes": lstat.get("status_writes")}
        for nd in lab.nodes:
            nd.daemon.stop()
        wait(lambda: not any(lab.frr.established(nd.addr) for nd in lab.nodes), 30,
             "sessions down", interval=0.2)
        log(f"== floor: GoBGP, {ONE} routes one by one (gobgp global rib add -> FRR RIB)")
        res["gobgp_one"] = gobgp_one(lab, poll, ONE)
        log(f"== floor: BIRD, {BULK} static routes in one configure")
        res["bird_bulk_s"] = bird_bulk(lab, poll, BULK)
    finally:
        lab.close()
        shutil.rmtree(tmp, ignore_errors=True)

    one, g = res["one"], res["gobgp_one"]
    rows = [
        ("kubectl create -> first path in FRR", one["first"]),
        ("kubectl create -> paths from both nodes", one["full"]),
        ("kubectl returned -> first path in FRR", one["after_kubectl"]),
        ("floor: gobgp global rib add -> FRR", g),
    ]
    lines = ["# bench/k8s-converge results", "",
             f"{ONE} Services one by one, 2 nodes, FRR 10.0.0.1; ms", "",
             "| measure | p50 | p99 | max |", "|---|---:|---:|---:|"]
    for name, xs in rows:
        lines.append(f"| {name} | {pct(xs, 50) * 1000:.1f} | {pct(xs, 99) * 1000:.1f} | "
                     f"{max(xs) * 1000:.1f} |")
    r50 = pct(one["first"], 50) / pct(g, 50)
    r99 = pct(one["first"], 99) / pct(g, 99)
    b = res["bulk"]
    lines += ["", f"ratio bgplb/GoBGP (create -> first path): p50 {r50:.2f}x, p99 {r99:.2f}x",
              "", f"{BULK} Services in bulk (8 client connections to the fake API server); s",
              "", "| measure | s |", "|---|---:|",
              f"| all {BULK} created in the API server | {b['create_s']:.2f} |"]
    for f in (0.1, 0.5, 0.9):
        if f in b["marks"]:
            lines.append(f"| first create -> {int(f * 100)}% in FRR from both nodes | "
                         f"{b['marks'][f]:.2f} |")
    if b["all_s"] is not None:
        lines += [f"| first create -> all in FRR from both nodes | {b['all_s']:.2f} |",
                  f"| last create -> all in FRR from both nodes | {b['tail_s']:.2f} |"]
    else:
        lines.append(f"| NOT all in FRR within {TIMEOUT:.0f} s: {b['got']} of {BULK} | - |")
    lines += [f"| floor: BIRD, {BULK} static routes, configure -> all in FRR | "
              f"{res['bird_bulk_s']:.2f} |", ""]
    if b["all_s"] is not None:
        lines.append(f"ratio bgplb first create -> all / BIRD: "
                     f"{b['all_s'] / res['bird_bulk_s']:.2f}x; last create -> all / BIRD: "
                     f"{b['tail_s'] / res['bird_bulk_s']:.2f}x")
    lines += ["", f"leader after the run: {json.dumps(res['leader'])}"]
    text = "\n".join(lines) + "\n"
    print(text, flush=True)
    try:
        with open(os.path.join(OUT, "results.md"), "w") as f:
            f.write(text)
    except OSError:
        pass


if __name__ == "__main__":
    main()
