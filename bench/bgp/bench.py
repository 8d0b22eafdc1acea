#!/usr/bin/env python3
"""bench/bgp: how fast bgplbd, BIRD and GoBGP get N IPv4 /32s into FRR and BIRD.

Run it through run.sh (which installs packages and builds bgplbd).  Needs root.

Per cell (receiver x speaker x N x run) it creates two fresh network namespaces
(router TAG-r 10.0.0.1 AS 65000, node TAG-n 10.0.0.2 AS 65001, one veth pair),
starts the receiver, starts tcpdump on the node's veth, starts the speaker and
polls the receiver until it holds N prefixes.  Then it reads the speaker's
VmHWM and CPU time, stops everything, removes the namespaces and counts the
speaker's BGP messages in the capture (pcapbgp.py).

Environment:
  BGPLBD       path of the bgplbd binary (required)
  BENCH_N      space/comma separated N list      (default "10000 100000")
  BENCH_RUNS   runs per cell, median reported     (default 3)
  BENCH_RCVS   receivers  (default "frr,bird")
  BENCH_SPKS   speakers   (default "bgplbd,bird,gobgp")
  BENCH_TIMEOUT seconds a cell may take to reach N (default 90)
  BENCH_TAG    namespace/interface prefix (default "bb" + pid; at most 9 chars)
  BENCH_OUT    where results.md / results.jsonl go (default: this directory)
  BENCH_KEEP   keep the run directory (captures, logs) when set
"""
import json
import os
import pwd
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pcapbgp  # noqa: E402

BGPLBD = os.environ.get("BGPLBD", "")
NS_LIST = [int(x) for x in re.split(r"[ ,]+", os.environ.get("BENCH_N", "10000 100000").strip()) if x]
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
RCVS = [x for x in os.environ.get("BENCH_RCVS", "frr,bird").split(",") if x]
SPKS = [x for x in os.environ.get("BENCH_SPKS", "bgplbd,bird,gobgp").split(",") if x]
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "90"))
TAG = os.environ.get("BENCH_TAG", f"bb{os.getpid()}")[:9]
OUT = os.environ.get("BENCH_OUT", HERE)
RUN = f"/tmp/bgplb-bench-{TAG}"
NSR, NSN = f"{TAG}-r", f"{TAG}-n"
IFR, IFN = f"{TAG}r", f"{TAG}n"
RTR, NODE = "10.0.0.1", "10.0.0.2"
POLL = 0.05
CLK = os.sysconf("SC_CLK_TCK")
BASE = (10 << 24) | (128 << 16)          # 10.128.0.0: bgplbd's pool below starts here

PROCS = []                               # every Popen we started, for cleanup


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sh(*a, check=False):
    r = subprocess.run(a, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(a)}: {r.stderr.strip()}")
    return r


def start(ns, argv, logf):
    p = subprocess.Popen(["ip", "netns", "exec", ns] + argv, stdout=open(logf, "ab"),
                         stderr=subprocess.STDOUT, start_new_session=True)
    PROCS.append(p)
    return p


def stop(procs, sig=signal.SIGTERM):
    for p in procs:
        if p.poll() is None:
            try:
                p.send_signal(sig)
            except ProcessLookupError:
                pass
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if p in PROCS:
            PROCS.remove(p)


def mkdir(d, owner=None):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    os.chmod(d, 0o755)
    if owner:
        pw = pwd.getpwnam(owner)
        os.chown(d, pw.pw_uid, pw.pw_gid)
    return d


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def proc_status(pid):
    """(VmHWM MB, VmRSS MB, CPU s) of a live process."""
    hwm = rss = cpu = None
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                hwm = round(int(line.split()[1]) / 1024, 1)
            elif line.startswith("VmRSS:"):
                rss = round(int(line.split()[1]) / 1024, 1)
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        cpu = round((int(f[11]) + int(f[12])) / CLK, 3)
    except OSError:
        pass
    return hwm, rss, cpu


def wait_for(pred, t, what):
    end = time.monotonic() + t
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise RuntimeError(f"timeout waiting for {what}")


def ip4(i):
    a = BASE + i
    return f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"


# ---------------------------------------------------------------- namespaces
def ns_up():
    ns_down()
    for ns in (NSR, NSN):
        sh("ip", "netns", "add", ns, check=True)
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
           "net.ipv6.conf.default.accept_dad=0")
        sh("ip", "-n", ns, "link", "set", "lo", "up", check=True)
    sh("ip", "link", "add", IFR, "netns", NSR, "type", "veth", "peer", "name", IFN, "netns", NSN,
       check=True)
    sh("ip", "-n", NSR, "addr", "add", RTR + "/24", "dev", IFR, check=True)
    sh("ip", "-n", NSN, "addr", "add", NODE + "/24", "dev", IFN, check=True)
    sh("ip", "-n", NSR, "link", "set", IFR, "up", check=True)
    sh("ip", "-n", NSN, "link", "set", IFN, "up", check=True)


def ns_down():
    for ns in (NSR, NSN):
        if not os.path.exists(f"/run/netns/{ns}"):
            continue
        # Anything still inside our own, uniquely named namespaces is ours.
        pids = sh("ip", "netns", "pids", ns).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        if pids:
            time.sleep(0.2)
        sh("ip", "netns", "del", ns)


def cleanup(*_):
    stop(list(PROCS), signal.SIGKILL)
    ns_down()
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(RUN, ignore_errors=True)


# ---------------------------------------------------------------- data
def gen(n):
    d = mkdir(f"{RUN}/data-{n}")
    with open(f"{d}/routes.bird", "w") as f:
        for i in range(n):
            f.write(f"route {ip4(i)}/32 blackhole;\n")
    os.chmod(f"{d}/routes.bird", 0o644)
    with open(f"{d}/bgplb.yaml", "w") as f:
        f.write(f"""# bench/bgp: {n} services, one /32 each
router-id: {NODE}
state-file: STATEFILE
bgp-listen-port: 179
pools:
  - name: bench
    protocol: bgp
    addresses: [10.128.0.0/12]
peers:
  - name: rtr
    address: {RTR}
    asn: 65000
    my-asn: 65001
    hold-time: 90s
    connect-time: 1s
services:
""")
        for i in range(n):
            f.write(f"  - name: s{i}\n")
    # GoBGP: MRT TABLE_DUMP_V2 for `gobgp mrt inject global`, forward and reversed
    import struct
    nh = bytes(int(x) for x in NODE.split("."))

    def mrt(sub, body):
        return struct.pack("!IHHI", 1700000000, 13, sub, len(body)) + body
    peer_idx = nh + struct.pack("!HH", 0, 1) + bytes([2]) + nh + nh + struct.pack("!I", 65001)
    attrs = bytes([0x40, 1, 1, 0]) + bytes([0x40, 2, 0]) + bytes([0x40, 3, 4]) + nh
    for name, order in (("routes.mrt", range(n)), ("routes.rev.mrt", range(n - 1, -1, -1))):
        with open(f"{d}/{name}", "wb") as f:
            f.write(mrt(1, peer_idx))
            for seq, i in enumerate(order):
                body = struct.pack("!IBI", seq, 32, BASE + i) + struct.pack("!H", 1)
                body += struct.pack("!HIH", 0, 1700000000, len(attrs)) + attrs
                f.write(mrt(2, body))
    return d


# ---------------------------------------------------------------- receivers (TAG-r)
FRR_DEBUG = os.environ.get("BENCH_FRR_DEBUG")
FRR_RCV = f"""frr defaults traditional
hostname bench-rtr
log stdout {"debugging" if FRR_DEBUG else "warnings"}
log timestamp precision 6
!
""" + ("debug bgp neighbor-events\n!\n" if FRR_DEBUG else "") + f"""router bgp 65000
 bgp router-id {RTR}
 no bgp ebgp-requires-policy
 neighbor {NODE} remote-as 65001
 neighbor {NODE} timers connect 1
 address-family ipv4 unicast
  neighbor {NODE} route-map DENY-ALL out
 exit-address-family
exit
!
route-map DENY-ALL deny 10
exit
!
"""

BIRD_RCV = f"""log stderr {{ warning, error, fatal }};
router id {RTR};
protocol device {{ }}
protocol bgp node4 {{
  local {RTR} as 65000;
  neighbor {NODE} as 65001;
  connect retry time 1;
  ipv4 {{ import all; export none; }};
}}
"""


def rcv_frr():
    d = mkdir(f"{RUN}/rcv-frr", "frr")
    write(f"{d}/zebra.conf", "hostname bench-rtr-zebra\nlog stdout warnings\n")
    write(f"{d}/bgpd.conf", FRR_RCV)
    z = start(NSR, ["/usr/lib/frr/zebra", "-f", f"{d}/zebra.conf", "-i", f"{d}/zebra.pid",
                    "-z", f"{d}/zserv.api", "--vty_socket", d, "-A", "127.0.0.1", "-P", "0"],
              f"{d}/zebra.log")
    wait_for(lambda: os.path.exists(f"{d}/zserv.api"), 10, "zebra")
    b = start(NSR, ["/usr/lib/frr/bgpd", "-n", "-f", f"{d}/bgpd.conf", "-i", f"{d}/bgpd.pid",
                    "-z", f"{d}/zserv.api", "--vty_socket", d, "-A", "127.0.0.1", "-P", "0"],
              f"{d}/bgpd.log")
    wait_for(lambda: os.path.exists(f"{d}/bgpd.vty"), 10, "bgpd")

    def poll():
        r = sh("vtysh", "--vty_socket", d, "-d", "bgpd", "-c", "show bgp ipv4 unicast summary json")
        try:
            p = json.loads(r.stdout)["peers"][NODE]
            return p.get("state"), int(p.get("pfxRcd", 0))
        except Exception:
            return None, 0
    return [b, z], poll


def rcv_bird():
    d = mkdir(f"{RUN}/rcv-bird")
    write(f"{d}/bird.conf", BIRD_RCV)
    p = start(NSR, ["bird", "-f", "-c", f"{d}/bird.conf", "-s", f"{d}/bird.ctl",
                    "-P", f"{d}/bird.pid"], f"{d}/bird.log")
    wait_for(lambda: os.path.exists(f"{d}/bird.ctl"), 10, "bird receiver")

    def poll():
        out = sh("birdc", "-s", f"{d}/bird.ctl", "show", "protocols", "all", "node4").stdout
        st = re.search(r"BGP state:\s+(\w+)", out)
        n = re.search(r"Routes:\s+(\d+) imported", out)
        return (st.group(1) if st else None), (int(n.group(1)) if n else 0)
    return [p], poll


RECEIVERS = {"frr": rcv_frr, "bird": rcv_bird}


# ---------------------------------------------------------------- speakers (TAG-n)
# Each returns (proc, t0 wall, t0 monotonic, extra); t0 is when it starts working on
# the routes: process start (bgplbd, BIRD), `gobgp neighbor add` (GoBGP, RIB preloaded).
def spk_bgplbd(n, data):
    d = mkdir(f"{RUN}/spk-bgplbd")
    conf = open(f"{data}/bgplb.yaml").read().replace("STATEFILE", f"{d}/state.json", 1)
    write(f"{d}/bgplb.yaml", conf)
    w, m = time.time(), time.monotonic()
    p = start(NSN, [BGPLBD, "--config", f"{d}/bgplb.yaml", "--node", "n1",
                    "--status-listen", "127.0.0.1:7473"], f"{d}/bgplbd.log")
    return p, w, m, {}


def bgplbd_peers():
    r = sh("ip", "netns", "exec", NSN, "curl", "-s", "-m", "5", "http://127.0.0.1:7473/v1/peers")
    try:
        j = json.loads(r.stdout)
        peers = j if isinstance(j, list) else j.get("peers", [])
        return next(p for p in peers if p.get("name") == "rtr")
    except Exception:
        return None


def spk_bird(n, data):
    d = mkdir(f"{RUN}/spk-bird")
    write(f"{d}/bird.conf", f"""log stderr {{ warning, error, fatal }};
router id {NODE};
protocol device {{ }}
protocol static st4 {{
  ipv4;
  include "{data}/routes.bird";
}}
protocol bgp up4 {{
  local {NODE} as 65001;
  neighbor {RTR} as 65000;
  connect delay time 1;
  connect retry time 1;
  ipv4 {{ import none; export all; }};
}}
""")
    w, m = time.time(), time.monotonic()
    p = start(NSN, ["bird", "-f", "-c", f"{d}/bird.conf", "-s", f"{d}/bird.ctl",
                    "-P", f"{d}/bird.pid"], f"{d}/bird.log")
    return p, w, m, {}


def spk_gobgp(n, data):
    d = mkdir(f"{RUN}/spk-gobgp")
    write(f"{d}/gobgpd.toml", f"""[global.config]
  as = 65001
  router-id = "{NODE}"
  local-address-list = ["{NODE}"]
""")
    g = ["gobgp", "--target", f"unix://{d}/gobgp.sock"]
    p = start(NSN, ["gobgpd", "-f", f"{d}/gobgpd.toml", "--api-hosts", f"unix://{d}/gobgp.sock",
                    "--pprof-disable", "-p", "-l", "warn"], f"{d}/gobgpd.log")
    wait_for(lambda: os.path.exists(f"{d}/gobgp.sock"), 10, "gobgpd")
    time.sleep(0.3)

    def count():
        m = re.search(r"Destination: (\d+)", sh(*g, "global", "rib", "summary", "-a", "ipv4").stdout)
        return int(m.group(1)) if m else -1
    ti = time.monotonic()
    c = -1
    for i in range(8):   # gobgp 3.10 `mrt inject` may drop the stream's tail: alternate files
        sh(*g, "mrt", "inject", "global", f"{data}/routes{'.rev' if i % 2 else ''}.mrt")
        end, last = time.monotonic() + 30, -2
        while time.monotonic() < end:
            c = count()
            if c == last or c >= n:
                break
            last = c
            time.sleep(0.2)
        if c >= n:
            break
    if c != n:
        raise RuntimeError(f"gobgp preload incomplete: {c}/{n}")
    hwm, _, cpu = proc_status(p.pid)
    extra = {"preload_s": round(time.monotonic() - ti, 2), "preload_cpu_s": cpu}
    w, m = time.time(), time.monotonic()
    sh(*g, "neighbor", "add", RTR, "as", "65000", check=True)
    return p, w, m, extra


SPEAKERS = {"bgplbd": spk_bgplbd, "bird": spk_bird, "gobgp": spk_gobgp}


# ---------------------------------------------------------------- one cell
def one(rcv, spk, n, data):
    ns_up()
    rprocs, poll = RECEIVERS[rcv]()
    cap = f"{RUN}/cap.pcap"
    if os.path.exists(cap):
        os.unlink(cap)
    td = start(NSN, ["tcpdump", "-Z", "root", "-i", IFN, "-s", "0", "-B", "32768", "-n",
                     "-w", cap, "tcp port 179"], f"{RUN}/tcpdump.log")
    wait_for(lambda: "listening on" in open(f"{RUN}/tcpdump.log").read(), 10, "tcpdump")
    time.sleep(0.3)
    sp = None
    res = dict(rcv=rcv, spk=spk, N=n)
    try:
        sp, t0w, t0, extra = SPEAKERS[spk](n, data)
        res.update(extra)
        t_est_rcv = None
        while True:
            st, got = poll()
            now = time.monotonic()
            if t_est_rcv is None and st == "Established":
                t_est_rcv = now
            if got >= n:
                break
            if now - t0 > TIMEOUT:
                raise RuntimeError(f"timeout after {TIMEOUT:.0f} s: receiver has {got}/{n}")
            if sp.poll() is not None:
                raise RuntimeError(f"speaker exited with {sp.returncode}")
            time.sleep(POLL)
        res["total_s"] = round(now - t0, 3)
        res["rcv_est_s"] = round(t_est_rcv - t0, 3) if t_est_rcv else None
        time.sleep(1.0)          # let the End-of-RIB and last keepalives through
        res["rss_mb"], res["rss_end_mb"], res["cpu_s"] = proc_status(sp.pid)
        if spk == "bgplbd":
            p = bgplbd_peers()
            if p:
                res["bgplbd_state"] = p.get("state")
                res["bgplbd_prefixes_advertised"] = p.get("prefixes_advertised")
                # The session's connection (the one that carried the routes, as the
                # capture column); messages.sent.update adds up every connection.
                res["bgplbd_sent_update"] = (p.get("session_messages") or {}).get("sent", {}).get("update")
                res["bgplbd_sent_update_total"] = (p.get("messages") or {}).get("sent", {}).get("update")
    finally:
        if sp is not None:
            stop([sp])
        stop([td], signal.SIGINT)
        stop(rprocs)
        ns_down()
    a = pcapbgp.analyse(cap, NODE)
    for k in ("updates", "updates_nlri", "updates_other", "eor", "nlri", "withdrawn", "max_len",
              "attr_len", "attr_types", "ext_msg", "connections"):
        res["cap_" + k] = a.get(k)
    for k in ("t_open", "t_est", "t_first_update", "t_last_update", "t_eor"):
        if a.get(k) is not None:
            res[k[2:] + "_s"] = round(a[k] - t0w, 3)
    if isinstance(a.get("attr_len"), int):
        res["limit"], res["per_msg"] = pcapbgp.packing_limit(n, a["attr_len"])
    return res


# ---------------------------------------------------------------- table
def med(rows, k):
    v = [r[k] for r in rows if isinstance(r.get(k), (int, float))]
    return statistics.median(v) if v else None


def fmt(x, nd=2):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def table(results):
    cells = {}
    for r in results:
        cells.setdefault((r["N"], r["rcv"], r["spk"]), []).append(r)
    lines = [
        "| N | receiver | speaker | runs ok | total s | ×BIRD | Established s | 1st→last UPDATE s "
        "| UPDATEs sent (with NLRI + EoR + other) | packing limit (NLRI/msg) | ×limit "
        "| peak RSS MB | ×BIRD | RSS at end MB | CPU s | all totals s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in NS_LIST:
        for rcv in RCVS:
            ok_b = [r for r in cells.get((n, rcv, "bird"), []) if "error" not in r]
            bt, bm = med(ok_b, "total_s"), med(ok_b, "rss_mb")
            for spk in SPKS:
                allr = cells.get((n, rcv, spk), [])
                ok = [r for r in allr if "error" not in r]
                if not ok:
                    errs = "; ".join(sorted({r["error"] for r in allr}))
                    lines.append(f"| {n} | {rcv} | {spk} | 0/{len(allr)} | FAIL | FAIL | | | | | | | | | | {errs} |")
                    continue
                t, rss = med(ok, "total_s"), med(ok, "rss_mb")
                est = med(ok, "est_s")
                xfer = [r["last_update_s"] - r["first_update_s"] for r in ok
                        if r.get("last_update_s") is not None and r.get("first_update_s") is not None]
                up, upn = med(ok, "cap_updates"), med(ok, "cap_updates_nlri")
                eor, oth = med(ok, "cap_eor"), med(ok, "cap_updates_other")
                lim, per = med(ok, "limit"), med(ok, "per_msg")
                ups = f"{fmt(up)} ({fmt(upn)} + {fmt(eor)} + {fmt(oth)})" if up is not None else "–"
                if spk == "bgplbd":
                    c = med(ok, "bgplbd_sent_update")
                    ups += f"; /v1/peers: {fmt(c)}"
                if any(r.get("cap_ext_msg") for r in ok):
                    ups += " ext-msg"
                ratio_lim = f"{upn / lim:.2f}" if upn is not None and lim else "–"
                lines.append(
                    f"| {n} | {rcv} | {spk} | {len(ok)}/{len(allr)} | **{t:.3f}** "
                    f"| {fmt(t / bt if bt else None)} | {fmt(est, 3)} "
                    f"| {fmt(statistics.median(xfer) if xfer else None, 3)} | {ups} "
                    f"| {fmt(lim)} ({fmt(per)}) | {ratio_lim} | {fmt(rss, 1)} "
                    f"| {fmt(rss / bm if bm else None)} | {fmt(med(ok, 'rss_end_mb'), 1)} | {fmt(med(ok, 'cpu_s'))} "
                    f"| {', '.join(str(r['total_s']) for r in ok)}"
                    + (f" ({len(allr) - len(ok)} failed: {'; '.join(sorted({r['error'] for r in allr if 'error' in r}))})"
                       if len(ok) < len(allr) else "") + " |")
    return "\n".join(lines)


def machine():
    cpu = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    ver = lambda *a: (sh(*a).stdout + sh(*a).stderr).strip().splitlines()  # noqa: E731
    frr = next((x for x in ver("/usr/lib/frr/bgpd", "--version") if "version" in x.lower()), "?")
    bird = next(iter(ver("bird", "--version")), "?")
    gobgp = next(iter(ver("gobgpd", "--version")), "?")
    bgplb = next(iter(ver(BGPLBD, "--version")), "?")
    return (f"{os.cpu_count()} CPUs ({cpu}), kernel {os.uname().release}; "
            f"{bgplb}; {frr}; {bird}; {gobgp}")


def main():
    if os.geteuid() != 0:
        sys.exit("bench.py: run as root (network namespaces)")
    if not BGPLBD or not os.access(BGPLBD, os.X_OK):
        sys.exit("bench.py: set BGPLBD to the bgplbd binary")
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, lambda *_: sys.exit(130))
    results = []
    t_start = time.monotonic()
    try:
        mkdir(RUN)
        data = {}
        for n in NS_LIST:
            tg = time.monotonic()
            data[n] = gen(n)
            log(f"== generated N={n} in {time.monotonic() - tg:.1f} s")
        jl = open(os.path.join(OUT, "results.jsonl"), "w")
        for run in range(RUNS):
            for n in NS_LIST:
                for rcv in RCVS:
                    for spk in SPKS:
                        try:
                            r = one(rcv, spk, n, data[n])
                        except Exception as e:       # noqa: BLE001 - a failed cell is a result
                            r = dict(rcv=rcv, spk=spk, N=n, error=str(e))
                        r["run"] = run
                        results.append(r)
                        jl.write(json.dumps(r) + "\n")
                        jl.flush()
                        if "error" in r:
                            log(f"run {run} N={n} {rcv:4} <- {spk:6}: FAIL {r['error']}")
                        else:
                            log(f"run {run} N={n} {rcv:4} <- {spk:6}: total {r['total_s']:.3f} s, "
                                f"est {fmt(r.get('est_s'), 3)} s, updates {r.get('cap_updates')} "
                                f"(limit {r.get('limit')}), rss {r.get('rss_mb')} MB, cpu {r.get('cpu_s')} s"
                                + (f", /v1/peers update {r.get('bgplbd_sent_update')}" if spk == "bgplbd" else ""))
        jl.close()
    finally:
        cleanup()
    tab = table(results)
    print(tab)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(f"""# bench/bgp results

Written by `bench/bgp/run.sh` on {time.strftime('%Y-%m-%d %H:%M:%S %Z')} in {time.monotonic() - t_start:.0f} s.
Machine: {machine()}.
N = {', '.join(map(str, NS_LIST))}; {RUNS} run(s) per cell, median shown; receivers {', '.join(RCVS)}; speakers {', '.join(SPKS)}.

{tab}

Columns (see README.md): *total s* speaker start (GoBGP: `neighbor add`, RIB preloaded) until the
receiver reports N prefixes; *Established s* when the speaker's session reached Established
(peer's KEEPALIVE after both OPENs, from the capture), from the same start; *1st→last UPDATE s*
first to last UPDATE carrying NLRI, from the capture; *UPDATEs sent* counted in the capture
(with NLRI + End-of-RIB + others); for bgplbd also session_messages.sent.update from /v1/peers;
*packing limit* = ceil(N / floor((4096 − 23 − attribute bytes) / 5)) for the attribute set the
speaker actually sent; *peak RSS* VmHWM, *RSS at end* VmRSS 1 s after the receiver had all N; *CPU s* user+system of the speaker process at the end
(GoBGP: includes the MRT preload). Raw per-run records: results.jsonl.
""")


if __name__ == "__main__":
    main()
