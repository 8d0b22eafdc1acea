#!/usr/bin/env python3
"""bench/gr/measure.py - the runs of bench/gr/run.sh for one N (see there).

Starts bgplbd in the node namespace with N services, then RUNS times:
SIGKILL it (by PID: `ip netns exec` execs bgplbd), wait until FRR marked our
routes stale, start it again, wait until FRR holds all N and none is stale.
A thread polls FRR's per-neighbor table walk (prefix-counts) every 50 ms the
whole time; any poll that shows fewer than N of our prefixes fails the run.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

NEIGHBOR = "10.0.0.2"


def vtysh(vty, cmd):
    r = subprocess.run(["vtysh", "--vty_socket", vty, "-c", cmd], capture_output=True,
                       text=True)
    return r.stdout


def counts(vty):
    """(all our paths in FRR's table, how many of them are stale)."""
    out = vtysh(vty, f"show bgp ipv4 unicast neighbors {NEIGHBOR} prefix-counts json")
    d = json.loads(out)
    c = d["ribTableWalkCounters"]
    return c["All RIB"], c["Stale"]


def bgp_state(vty):
    try:
        return json.loads(vtysh(vty, f"show bgp neighbors {NEIGHBOR} json"))[NEIGHBOR]["bgpState"]
    except (ValueError, KeyError):
        return "?"


class Poller(threading.Thread):
    def __init__(self, vty, interval=0.05):
        super().__init__(daemon=True)
        self.vty, self.interval = vty, interval
        self.samples, self.errors = [], []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            try:
                c = counts(self.vty)
                # Stamped when the answer is in: FRR's state at most one
                # query (a few ms) older than this.
                self.samples.append((time.time(), *c))
            except Exception as e:          # reported, never ignored
                self.errors.append(f"{time.time():.3f}: {e!r}")
            time.sleep(self.interval)

    def stop(self):
        self.halt.set()
        self.join(10)

    def first(self, since, pred):
        for s in self.samples:
            if s[0] >= since and pred(s):
                return s[0]
        return None


def wait(pred, timeout, what, interval=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    sys.exit(f"timed out after {timeout}s waiting for {what}")


def write_config(path, n, state):
    with open(path, "w") as f:
        f.write("router-id: 10.0.0.2\n"
                f"state-file: {state}\n"
                "pools:\n  - name: web\n    addresses: [10.128.0.0/16]\n    auto-assign: false\n"
                "peers:\n  - name: rtr\n    address: 10.0.0.1\n    asn: 64500\n"
                "    my-asn: 64512\n    hold-time: 9s\n    keepalive-time: 3s\n"
                "    connect-time: 1s\n    graceful-restart: true\n"
                "services:\n")
        for i in range(n):
            f.write(f"  - name: s{i}\n    pool: web\n"
                    f"    addresses: [10.128.{i >> 8}.{i & 255}]\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bgplbd", required=True)
    ap.add_argument("--netns", required=True)
    ap.add_argument("--vty", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--services", type=int, required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--down-ms", type=int, default=0,
                    help="stay down this long after FRR marked the routes stale")
    a = ap.parse_args()
    n = a.services
    os.makedirs(a.dir, exist_ok=True)
    cfg = os.path.join(a.dir, "bgplb.yaml")
    write_config(cfg, n, os.path.join(a.dir, "state.json"))
    logf = open(os.path.join(a.dir, "bgplbd.log"), "a")

    def start():
        return subprocess.Popen(["ip", "netns", "exec", a.netns, a.bgplbd, "--config", cfg,
                                 "--node", "node-a", "--status-listen", "127.0.0.1:7473"],
                                stdout=logf, stderr=subprocess.STDOUT)

    proc = start()

    def first_ready():
        if proc.poll() is not None:
            sys.exit(f"bgplbd exited {proc.returncode}; see {a.dir}/bgplbd.log")
        return counts(a.vty) == (n, 0)
    wait(first_ready, 120, f"FRR to hold {n} valid routes", interval=0.2)
    rows = []
    try:
        for run in range(1, a.runs + 1):
            time.sleep(1.0)
            poller = Poller(a.vty)
            poller.start()
            time.sleep(0.3)
            t_kill = time.time()
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            t_down = wait(lambda: poller.first(t_kill, lambda s: s[2] == n), 30,
                          "FRR to mark every route stale")
            time.sleep(a.down_ms / 1000)
            t_restart = time.time()
            proc = start()
            wait(lambda: bgp_state(a.vty) == "Established", 60, "Established again")
            t_est = time.time()
            t_valid = wait(lambda: poller.first(t_restart, lambda s: s[1] == n and s[2] == 0),
                           120, "every route valid again")
            time.sleep(0.2)
            poller.stop()
            window = [s for s in poller.samples if t_kill <= s[0] <= t_valid]
            held_min = min(s[1] for s in window)
            row = {"kill_down": t_down - t_kill, "kill_restart": t_restart - t_kill,
                   "restart_est": t_est - t_restart, "restart_valid": t_valid - t_restart,
                   "held_min": held_min, "polls": len(window), "errors": len(poller.errors)}
            rows.append(row)
            print(f"N={n} run {run}: kill->down {row['kill_down'] * 1000:.0f} ms, "
                  f"kill->restart {row['kill_restart'] * 1000:.0f} ms, "
                  f"restart->Established {row['restart_est'] * 1000:.0f} ms, "
                  f"restart->valid {row['restart_valid'] * 1000:.0f} ms, "
                  f"min held {held_min}/{n} over {len(window)} polls"
                  + (f", {len(poller.errors)} failed polls: {poller.errors[:3]}"
                     if poller.errors else ""), flush=True)
            if held_min != n or poller.errors:
                sys.exit(f"N={n} run {run}: prefixes left FRR's table or polls failed")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
    print(f"N={n} summary over {len(rows)} runs (median / max):")
    for key, label in (("kill_down", "kill -> FRR sees the session down"),
                       ("kill_restart", "kill -> restart"),
                       ("restart_est", "restart -> Established"),
                       ("restart_valid", "restart -> all routes valid (not stale)")):
        v = [r[key] * 1000 for r in rows]
        print(f"  {label}: {statistics.median(v):.0f} ms / {max(v):.0f} ms")
    print(f"  prefixes that left FRR's table: 0 (min held {min(r['held_min'] for r in rows)}"
          f"/{n}, {sum(r['polls'] for r in rows)} polls at 50 ms)")


if __name__ == "__main__":
    main()
