#!/usr/bin/env python3
"""bench/bgp/collision.py: does a large bgplbd start survive FRR connecting to it?

Run it through collision.sh (which builds bgplbd).  Needs root.

The same cell as bench.py (FRR receiver with `timers connect 1`, bgplbd with N
services), started COLLISION_RUNS times.  Start i waits i/COLLISION_RUNS of
FRR's connect period longer before starting bgplbd, so FRR's connect attempt
falls at a different moment of bgplbd's start each time: before the listener
exists, while the config still loads (the kernel accepts, nobody reads: a
connection collision once bgplbd connects too), after the session is up.

A start is good when FRR holds all N routes, bgplbd's peer never left
Established (`flaps` 0, one Established in its history) and FRR counts one
connection established and none dropped, one second after the last route.
Prints one line per start and "K of R starts without a session reset".

Environment (besides bench.py's BGPLBD, BENCH_TAG, BENCH_KEEP, BENCH_FRR_DEBUG):
  COLLISION_N      services (default 100000)
  COLLISION_RUNS   starts (default 20)
"""
import json
import os
import re
import signal
import sys
import time

os.environ.setdefault("BENCH_TAG", f"bc{os.getpid()}")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402
import pcapbgp  # noqa: E402

N = int(os.environ.get("COLLISION_N", "100000"))
RUNS = int(os.environ.get("COLLISION_RUNS", "20"))
PERIOD = 1.0                               # FRR's `timers connect 1`


def frr_neighbor():
    d = f"{bench.RUN}/rcv-frr"
    r = bench.sh("vtysh", "--vty_socket", d, "-d", "bgpd", "-c",
                 f"show bgp neighbor {bench.NODE} json")
    try:
        return json.loads(r.stdout).get(bench.NODE, {})
    except ValueError:
        return {}


def one(i, data):
    bench.ns_up()
    rprocs, poll = bench.rcv_frr()
    cap = f"{bench.RUN}/cap.pcap"
    if os.path.exists(cap):
        os.unlink(cap)
    td = bench.start(bench.NSN, ["tcpdump", "-Z", "root", "-i", bench.IFN, "-s", "0", "-B",
                                 "32768", "-n", "-w", cap, "tcp port 179"],
                     f"{bench.RUN}/tcpdump.log")
    bench.wait_for(lambda: "listening on" in open(f"{bench.RUN}/tcpdump.log").read(), 10,
                   "tcpdump")
    time.sleep(0.3 + PERIOD * i / RUNS)
    sp = None
    res = dict(run=i)
    try:
        sp, t0w, t0, _ = bench.spk_bgplbd(N, data)
        while True:
            st, got = poll()
            now = time.monotonic()
            if got >= N:
                break
            if now - t0 > bench.TIMEOUT:
                raise RuntimeError(f"timeout: FRR has {got}/{N}")
            if sp.poll() is not None:
                raise RuntimeError(f"bgplbd exited with {sp.returncode}")
            time.sleep(bench.POLL)
        res["total_s"] = round(now - t0, 3)
        time.sleep(1.0)
        p = bench.bgplbd_peers() or {}
        nb = frr_neighbor()
        res["flaps"] = p.get("flaps")
        res["established"] = sum(1 for h in p.get("history", []) if h.get("to") == "Established")
        res["sent_update"] = (p.get("messages") or {}).get("sent", {}).get("update")
        res["session_update"] = (p.get("session_messages") or {}).get("sent", {}).get("update")
        res["frr_established"] = nb.get("connectionsEstablished")
        res["frr_dropped"] = nb.get("connectionsDropped")
    finally:
        if sp is not None:
            bench.stop([sp])
        bench.stop([td], signal.SIGINT)
        bench.stop(rprocs)
        bench.ns_down()
    log = open(f"{bench.RUN}/spk-bgplbd/bgplbd.log").read()
    res["collision"] = len(re.findall(r"collision resolution", log))
    # The end of loading ("running") to the last "session up" (the session that
    # carried the routes), from bgplbd's log.
    ts = {}
    for key, pat in (("run", r"main: bgplbd running"), ("up", r"peer rtr: session up")):
        m = re.findall(r"^\S+T(\d+):(\d+):([\d.]+)Z .*" + pat, log, re.M)
        if m:
            h, mi, sec = m[-1]
            ts[key] = int(h) * 3600 + int(mi) * 60 + float(sec)
    if len(ts) == 2:
        res["up_after_load_ms"] = round((ts["up"] - ts["run"]) * 1000)
    a = pcapbgp.analyse(cap, bench.NODE)
    res["connections"] = a.get("connections")
    if a.get("t_est") is not None:
        res["est_s"] = round(a["t_est"] - t0w, 3)
    res["ok"] = (res.get("flaps") == 0 and res.get("established") == 1
                 and res.get("frr_established") == 1 and res.get("frr_dropped") == 0)
    if bench.os.environ.get("BENCH_KEEP"):
        keep = f"{bench.RUN}/run-{i}"
        bench.shutil.rmtree(keep, ignore_errors=True)
        os.makedirs(keep)
        for f in ("spk-bgplbd/bgplbd.log", "rcv-frr/bgpd.log", "cap.pcap"):
            if os.path.exists(f"{bench.RUN}/{f}"):
                bench.shutil.copy(f"{bench.RUN}/{f}", keep)
    return res


def main():
    if os.geteuid() != 0:
        sys.exit("collision.py: run as root (network namespaces)")
    if not bench.BGPLBD or not os.access(bench.BGPLBD, os.X_OK):
        sys.exit("collision.py: set BGPLBD to the bgplbd binary")
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, lambda *_: sys.exit(130))
    good, rows = 0, []
    try:
        bench.mkdir(bench.RUN)
        data = bench.gen(N)
        for i in range(RUNS):
            try:
                r = one(i, data)
            except Exception as e:      # noqa: BLE001 - a failed start is a result
                r = dict(run=i, ok=False, error=str(e))
            rows.append(r)
            good += bool(r.get("ok"))
            print(f"start {i + 1:2}/{RUNS} (+{PERIOD * i / RUNS:.2f} s): "
                  + ("ok   " if r.get("ok") else "RESET") + " "
                  + ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("run", "ok")),
                  flush=True)
    finally:
        bench.cleanup()
    est = sorted(r["est_s"] for r in rows if r.get("est_s") is not None)
    gap = sorted(r["up_after_load_ms"] for r in rows if r.get("up_after_load_ms") is not None)
    coll = sum(1 for r in rows if r.get("collision"))
    print(f"{good} of {RUNS} starts without a session reset (N = {N}; {coll} with a "
          f"connection collision; Established median "
          f"{est[len(est) // 2] if est else '-'} s, max {est[-1] if est else '-'} s; "
          f"session up after the end of loading: median "
          f"{gap[len(gap) // 2] if gap else '-'} ms, max {gap[-1] if gap else '-'} ms)")
    return 0 if good == RUNS else 1


if __name__ == "__main__":
    sys.exit(main())
