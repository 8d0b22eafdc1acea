"""Real BGP routers (FRR, BIRD 2, GoBGP) in network namespaces, for the
integration tests of the speaker, and the topology they run in.

Topology: one router namespace with a bridge (10.0.0.1/24, fd00::1/64) and
N node namespaces, each on a veth into that bridge (10.0.0.2.., fd00::2..).
Every router class starts its daemon(s) inside the router namespace with all
runtime files in a directory of its own, and answers the same questions in
the same shape:

    established(peer)   -> bool: the router's session to peer is Established
    routes(afi)         -> {prefix: [Path, ...]}   afi is "ipv4" or "ipv6"

The configurations are rendered from examples/router-configs/ (they double
as user examples): the templates use router 10.0.0.1 / fd00::1 AS 64500 and
node 10.0.0.2 AS 64512; render() swaps these for the test's values.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field

from conftest import Netns, TOP, sh, wait_until

CONFIGS = os.path.join(TOP, "examples", "router-configs")
TEMPLATE_ROUTER_AS = 64500
TEMPLATE_NODE_AS = 64512

_seq = [0]


def _unique():
    _seq[0] += 1
    return f"{os.getpid() % 1000000}{_seq[0]}"


# ---------------------------------------------------------------- topology

class Node:
    def __init__(self, ns, index):
        self.ns = ns
        self.index = index
        self.v4 = f"10.0.0.{index + 1}"      # node 1 = 10.0.0.2
        self.v6 = f"fd00::{index + 1:x}"
        self.ifname = "eth0"

    def link_local(self):
        out = self.ns.run("ip", "-6", "-o", "addr", "show", "dev", self.ifname,
                          "scope", "link").stdout
        m = re.search(r"inet6 (fe80::[0-9a-f:]+)/", out)
        return m.group(1) if m else None


class Topology:
    """Router namespace with bridge br0 and N node namespaces on veths."""

    ROUTER_V4 = "10.0.0.1"
    ROUTER_V6 = "fd00::1"

    def __init__(self, nodes=1):
        self.router_ns = None
        self.nodes = []
        self.namespaces = []
        try:
            self._build(nodes)
        except BaseException:
            self.delete()
            raise

    @staticmethod
    def _ns(tag):
        ns = Netns(tag)
        ns.run("sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
               "net.ipv6.conf.default.accept_dad=0")
        return ns

    def _build(self, n):
        r = self._ns("r")
        self.namespaces.append(r)
        self.router_ns = r
        r.run("ip", "link", "add", "br0", "type", "bridge")
        r.run("ip", "addr", "add", f"{self.ROUTER_V4}/24", "dev", "br0")
        r.run("ip", "addr", "add", f"{self.ROUTER_V6}/64", "dev", "br0", "nodad")
        r.run("ip", "link", "set", "br0", "up")
        for i in range(1, n + 1):
            ns = self._ns("n")
            self.namespaces.append(ns)
            node = Node(ns, i)
            u = _unique()
            a, b = f"bta{u}"[:15], f"btb{u}"[:15]
            # Created in the root namespace for a moment only, then moved.
            sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
            try:
                sh("ip", "link", "set", a, "netns", r.name)
                sh("ip", "link", "set", b, "netns", ns.name)
            except subprocess.CalledProcessError:
                sh("ip", "link", "del", a, check=False)
                raise
            r.run("ip", "link", "set", a, "master", "br0", "up")
            ns.run("ip", "link", "set", b, "name", node.ifname)
            ns.run("ip", "addr", "add", f"{node.v4}/24", "dev", node.ifname)
            ns.run("ip", "addr", "add", f"{node.v6}/64", "dev", node.ifname, "nodad")
            ns.run("ip", "link", "set", node.ifname, "up")
            self.nodes.append(node)
        for node in self.nodes:
            wait_until(lambda: node.link_local() is not None, timeout=5,
                       what=f"link-local address on {node.ns.name}")

    def delete(self):
        for ns in reversed(self.namespaces):
            ns.delete()
        self.namespaces = []


# ---------------------------------------------------------------- paths

@dataclass
class Path:
    """One path of a prefix as the router holds it, normalized."""
    nexthops: list = field(default_factory=list)   # strings, global first
    as_path: list = field(default_factory=list)    # ints
    communities: set = field(default_factory=set)  # "64512:100", "no-export"
    large_communities: set = field(default_factory=set)  # "64512:1:1"
    local_pref: int = None
    peer: str = None                               # address of the sender
    raw_large: dict = None
    ext_communities: set = field(default_factory=set)  # "RT:64512:13", "LB:64512:125000"
    rd: str = None                                 # VPN routes: "64512:13"
    labels: list = field(default_factory=list)     # VPN routes: MPLS labels
    stale: bool = False                            # kept by a graceful-restart helper

    @property
    def nexthop(self):
        return self.nexthops[0] if self.nexthops else None


WELL_KNOWN = {
    "no-export": (0xFFFF, 0xFF01), "no-advertise": (0xFFFF, 0xFF02),
    "no-export-subconfed": (0xFFFF, 0xFF03), "no-peer": (0xFFFF, 0xFF04),
    "blackhole": (0xFFFF, 0x029A), "graceful-shutdown": (0xFFFF, 0x0000),
}
WELL_KNOWN_BY_VALUE = {v: k for k, v in WELL_KNOWN.items()}


def community_name(hi, lo):
    return WELL_KNOWN_BY_VALUE.get((hi, lo), f"{hi}:{lo}")


def ext_community_names(text):
    """FRR's extended community string ("RT:64512:13 RT:64512:14",
    "LB:64512:125000 (1.000 Mbps)") as a set of "KIND:VALUE" tokens."""
    return set(re.findall(r"\b([A-Za-z]+:[0-9.:]+)", text or ""))


def render(template, *, router_as=TEMPLATE_ROUTER_AS, node_as=TEMPLATE_NODE_AS,
           node_addrs=("10.0.0.2",), extra=None):
    """Render an examples/router-configs/ template: ASNs swapped, every line
    that names node 10.0.0.2 repeated once per node address, and `extra`
    ({anchor line substring: [lines to insert after it]}) inserted."""
    with open(os.path.join(CONFIGS, template)) as f:
        text = f.read()
    out = []
    for line in text.splitlines():
        line = (line.replace(str(TEMPLATE_NODE_AS), "@NODE_AS@")
                    .replace(str(TEMPLATE_ROUTER_AS), str(router_as))
                    .replace("@NODE_AS@", str(node_as)))
        if "10.0.0.2" in line and not line.lstrip().startswith(("!", "#")):
            copies = [line.replace("10.0.0.2", a) for a in node_addrs]
        else:
            copies = [line]
        for c in copies:
            out.append(c)
            for anchor, lines in (extra or {}).items():
                if anchor in c:
                    out.extend(lines)
    return "\n".join(out) + "\n"


class RouterBase:
    kind = "router"

    def __init__(self, ns, rundir):
        self.ns = ns
        self.dir = str(rundir)
        self.procs = []

    def _spawn(self, args, logname):
        logf = open(os.path.join(self.dir, logname), "a")
        p = self.ns.popen(args, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        self.procs.append(p)
        return p

    def _check_alive(self):
        for p in self.procs:
            if p.poll() is not None:
                raise AssertionError(f"{self.kind} process {p.args} exited "
                                     f"{p.returncode}:\n{self.logs()}")

    def stop(self, timeout=10):
        """Stop our own daemons (by PID: `ip netns exec` execs them) and wait
        until they are gone, so a restart can bind port 179 again."""
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []

    def cleanup(self):
        pass

    def log_text(self, name):
        try:
            with open(os.path.join(self.dir, name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def logs(self, tail=60):
        out = []
        for name in sorted(os.listdir(self.dir)):
            if name.endswith(".log"):
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    lines = f.read().splitlines()[-tail:]
                out.append(f"--- {name}\n" + "\n".join(lines))
        return "\n".join(out)

    def paths(self, prefix, afi=None):
        afi = afi or ("ipv6" if ":" in prefix else "ipv4")
        return self.routes(afi).get(prefix, [])


# ---------------------------------------------------------------- FRR

class Frr(RouterBase):
    """zebra + bgpd -n (nothing installed in the namespace's FIB)."""
    kind = "FRR"

    def __init__(self, ns, rundir, bgpd_conf):
        # FRR drops privileges to frr: its runtime dir must be reachable by
        # frr (pytest's tmp dirs are 0700 root), so it lives in /tmp and
        # cleanup() copies the logs to rundir before removing it.
        super().__init__(ns, tempfile.mkdtemp(prefix="bgplbt-frr-"))
        self.keep = str(rundir)
        shutil.chown(self.dir, "frr", "frr")
        self.bgpd_conf = os.path.join(self.dir, "bgpd.conf")
        self.zebra_conf = os.path.join(self.dir, "zebra.conf")
        with open(self.bgpd_conf, "w") as f:
            f.write(bgpd_conf)
        shutil.copy(os.path.join(CONFIGS, "frr-zebra.conf"), self.zebra_conf)
        for c in (self.bgpd_conf, self.zebra_conf):
            os.chmod(c, 0o644)       # FRR silently ignores a config it can't read

    def start(self):
        d = self.dir
        for f in os.listdir(d):
            if f.endswith((".pid", ".vty")) or f == "zserv.api":
                os.unlink(os.path.join(d, f))
        zs = os.path.join(d, "zserv.api")
        self._spawn(["/usr/lib/frr/zebra", "-f", self.zebra_conf, "-i", f"{d}/zebra.pid",
                     "-z", zs, "--vty_socket", d, "-A", "127.0.0.1", "-P", "0"], "zebra.log")
        wait_until(lambda: self._check_alive() or os.path.exists(zs), timeout=10,
                   what="zebra's zserv socket")
        self._spawn(["/usr/lib/frr/bgpd", "-n", "-f", self.bgpd_conf, "-i", f"{d}/bgpd.pid",
                     "-z", zs, "--vty_socket", d, "-A", "127.0.0.1", "-P", "0"], "bgpd.log")
        wait_until(lambda: self._check_alive() or os.path.exists(f"{d}/bgpd.vty"),
                   timeout=10, what="bgpd's vty socket")
        wait_until(lambda: "BGP router identifier" in self.vtysh("show bgp summary",
                                                                 check=False),
                   timeout=10, what="FRR to load its BGP config")
        return self

    def cleanup(self):
        os.makedirs(self.keep, exist_ok=True)
        for name in os.listdir(self.dir):
            if name.endswith((".log", ".conf")):
                shutil.copy(os.path.join(self.dir, name), self.keep)
        shutil.rmtree(self.dir, ignore_errors=True)

    def vtysh(self, *cmds, check=True):
        args = ["vtysh", "--vty_socket", self.dir]
        for c in cmds:
            args += ["-c", c]
        r = sh(*args, check=False)
        if check and r.returncode != 0:
            raise AssertionError(f"vtysh {cmds} failed: {r.stdout}{r.stderr}")
        return r.stdout

    def json(self, cmd):
        out = self.vtysh(cmd)
        try:
            return json.loads(out) if out.strip() else {}
        except ValueError:
            raise AssertionError(f"vtysh {cmd!r}: not JSON: {out[:500]}")

    def neighbor(self, peer):
        return self.json(f"show bgp neighbors {peer} json").get(peer, {})

    def established(self, peer):
        return self.neighbor(peer).get("bgpState") == "Established"

    def routes(self, afi):
        data = self.json(f"show bgp {afi} unicast json")
        out = {}
        for prefix, paths in (data.get("routes") or {}).items():
            out[prefix] = [self._path(prefix, p) for p in paths]
        return out

    def detail(self, prefix):
        afi = "ipv6" if ":" in prefix else "ipv4"
        return self.json(f"show bgp {afi} unicast {prefix} json")

    def paths(self, prefix, afi=None):
        """Full detail (communities, large communities) for one prefix."""
        d = self.detail(prefix)
        out = []
        for p in d.get("paths", []):
            path = Path()
            for nh in p.get("nexthops", []):
                path.nexthops.append(nh.get("ip"))
            asp = (p.get("aspath") or {}).get("string", "")
            path.as_path = [int(x) for x in asp.split() if x.isdigit()]
            path.communities = set((p.get("community") or {}).get("string", "").split())
            path.large_communities = set(
                (p.get("largeCommunity") or {}).get("string", "").split())
            if "locPrf" in p:
                path.local_pref = p["locPrf"]
            elif "localpref" in p:
                path.local_pref = p["localpref"]
            path.peer = (p.get("peer") or {}).get("peerId")
            path.ext_communities = ext_community_names(
                (p.get("extendedCommunity") or {}).get("string"))
            path.stale = bool(p.get("stale"))
            out.append(path)
        return out

    def vpn_routes(self, afi):
        """VPN routes (SAFI 128) with every attribute: {(rd, prefix): [Path]}
        (afi "ipv4" or "ipv6"; FRR needs no kernel VRF to hold them)."""
        listing = self.json(f"show bgp {afi} vpn json")
        rds = ((listing.get("routes") or {}).get("routeDistinguishers") or {})
        prefixes = {pfx for table in rds.values() for pfx in table}
        out = {}
        for prefix in sorted(prefixes):
            detail = self.json(f"show bgp {afi} vpn {prefix} json")
            for rd, entry in detail.items():
                if not isinstance(entry, dict) or entry.get("prefix") != prefix:
                    continue
                for p in entry.get("paths", []):
                    path = Path(rd=rd)
                    for nh in p.get("nexthops", []):
                        path.nexthops.append(nh.get("ip"))
                    asp = (p.get("aspath") or {}).get("string", "")
                    path.as_path = [int(x) for x in asp.split() if x.isdigit()]
                    path.ext_communities = ext_community_names(
                        (p.get("extendedCommunity") or {}).get("string"))
                    if "remoteLabel" in p:
                        path.labels = [p["remoteLabel"]]
                    path.peer = (p.get("peer") or {}).get("peerId")
                    path.stale = bool(p.get("stale"))
                    out.setdefault((rd, prefix), []).append(path)
        return out

    @staticmethod
    def _path(prefix, p):
        path = Path()
        for nh in p.get("nexthops", []):
            path.nexthops.append(nh.get("ip"))
        path.as_path = [int(x) for x in str(p.get("path", "")).split() if x.isdigit()]
        path.local_pref = p.get("locPrf")
        path.peer = p.get("peerId")
        path.stale = bool(p.get("stale"))
        return path


# ---------------------------------------------------------------- BIRD

class Bird(RouterBase):
    kind = "BIRD"

    def __init__(self, ns, rundir, conf):
        super().__init__(ns, rundir)
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "bird.conf")
        self.sock = os.path.join(self.dir, "bird.ctl")
        with open(self.conf, "w") as f:
            f.write(conf)

    def start(self):
        for f in (self.sock, os.path.join(self.dir, "bird.pid")):
            if os.path.exists(f):
                os.unlink(f)
        self._spawn(["bird", "-f", "-c", self.conf, "-s", self.sock,
                     "-P", os.path.join(self.dir, "bird.pid")], "bird.log")
        wait_until(lambda: self._check_alive() or os.path.exists(self.sock), timeout=10,
                   what="BIRD's control socket")
        return self

    def birdc(self, *args):
        r = sh("birdc", "-s", self.sock, *args, check=False)
        return r.stdout

    def established(self, proto="node1"):
        out = self.birdc("show", "protocols", proto)
        return re.search(rf"^{re.escape(proto)}\s+BGP\s+\S+\s+up\s+\S+\s+Established",
                         out, re.M) is not None

    def routes(self, afi):
        table = "master4" if afi == "ipv4" else "master6"
        out = self.birdc("show", "route", "table", table, "all")
        routes, cur, path = {}, None, None
        for line in out.splitlines():
            m = re.match(r"^([0-9a-f.:]+/\d+)\s+(unicast|unreachable|blackhole)", line)
            m2 = re.match(r"^\s+(unicast|unreachable)\s+\[", line)
            if m or m2:
                if m:
                    cur = m.group(1)
                path = Path()
                routes.setdefault(cur, []).append(path)
                continue
            if path is None:
                continue
            s = line.strip()
            if s.startswith("BGP.next_hop:"):
                path.nexthops = s.split(":", 1)[1].split()
            elif s.startswith("BGP.as_path:"):
                path.as_path = [int(x) for x in s.split(":", 1)[1].split() if x.isdigit()]
            elif s.startswith("BGP.local_pref:"):
                path.local_pref = int(s.split(":", 1)[1])
            elif s.startswith("BGP.community:"):
                for hi, lo in re.findall(r"\((\d+),\s*(\d+)\)", s):
                    path.communities.add(community_name(int(hi), int(lo)))
            elif s.startswith("BGP.large_community:"):
                for a, b, c in re.findall(r"\((\d+),\s*(\d+),\s*(\d+)\)", s):
                    path.large_communities.add(f"{a}:{b}:{c}")
            elif s.startswith("BGP.") is False and "via" in s and path.peer is None:
                m3 = re.search(r"from ([0-9a-f.:]+)", s)
                if m3:
                    path.peer = m3.group(1)
        return routes


# ---------------------------------------------------------------- GoBGP

class Gobgp(RouterBase):
    kind = "GoBGP"

    def __init__(self, ns, rundir, conf):
        super().__init__(ns, rundir)
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "gobgpd.toml")
        self.sock = os.path.join(self.dir, "gobgp.sock")
        with open(self.conf, "w") as f:
            f.write(conf)

    def start(self):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self._spawn(["gobgpd", "-f", self.conf, "--api-hosts", f"unix://{self.sock}",
                     "--pprof-disable", "-p", "-l", "info"], "gobgpd.log")
        wait_until(lambda: self._check_alive() or os.path.exists(self.sock), timeout=10,
                   what="gobgpd's API socket")
        return self

    def gobgp(self, *args):
        r = sh("gobgp", "--target", f"unix://{self.sock}", *args, check=False)
        return r.stdout

    def gjson(self, *args):
        out = self.gobgp(*args, "-j")
        try:
            return json.loads(out) if out.strip() else None
        except ValueError:
            return None

    def established(self, peer):
        n = self.gjson("neighbor", peer)
        if not n:
            return False
        st = (n.get("state") or {}).get("session_state")
        return st in (6, "ESTABLISHED", "established")

    def routes(self, afi):
        data = self.gjson("global", "rib", "-a", afi) or {}
        out = {}
        for prefix, paths in data.items():
            out[prefix] = [self._path(p) for p in paths]
        return out

    def vpn_routes(self, afi):
        """VPN routes: {(rd, prefix): [Path]} (afi "ipv4" or "ipv6")."""
        data = self.gjson("global", "rib", "-a", "vpn" + afi[-2:]) or {}
        out = {}
        for paths in data.values():
            for p in paths:
                nlri = p.get("nlri") or {}
                rd = nlri.get("rd") or {}
                path = self._path(p)
                if rd:      # every RD type prints as ADMIN:ASSIGNED
                    path.rd = f"{rd.get('admin')}:{rd.get('assigned')}"
                path.labels = list(nlri.get("labels") or [])
                out.setdefault((path.rd, nlri.get("prefix")), []).append(path)
        return out

    @staticmethod
    def _path(p):
        path = Path()
        path.peer = p.get("source-id") and p.get("neighbor-ip")
        path.stale = bool(p.get("stale"))
        for a in p.get("attrs", []):
            t = a.get("type")
            if t == 3:                                   # NEXT_HOP
                path.nexthops.append(a.get("nexthop"))
            elif t == 14:                                # MP_REACH_NLRI
                path.nexthops.append(a.get("nexthop"))
                if a.get("linklocal_nexthop"):
                    path.nexthops.append(a["linklocal_nexthop"])
            elif t == 2:                                 # AS_PATH
                for seg in a.get("as_paths", []):
                    path.as_path.extend(seg.get("asns", []))
            elif t == 5:                                 # LOCAL_PREF
                path.local_pref = a.get("value")
            elif t == 8:                                 # COMMUNITIES
                for c in a.get("communities", []):
                    path.communities.add(community_name(c >> 16, c & 0xFFFF))
            elif t == 16:                                # EXTENDED_COMMUNITIES
                for c in a.get("value", []):
                    kind = {(0, 2): "RT", (1, 2): "RT", (2, 2): "RT",
                            (0, 3): "SoO"}.get((c.get("type"), c.get("subtype")),
                                              f"{c.get('type')}/{c.get('subtype')}")
                    path.ext_communities.add(f"{kind}:{c.get('value')}")
            elif t == 32:                                # LARGE_COMMUNITY
                for c in a.get("value", []):
                    path.large_communities.add(":".join(
                        str(c.get(k)) for k in ("ASN", "LocalData1", "LocalData2")))
                path.raw_large = a
        return path
