#!/usr/bin/python3
"""A scripted BGP peer (plain sockets) for the hostile-peer tests.

    badpeer.py --listen ADDR --asn N --id A.B.C.D --case NAME [--hold S]

It listens on ADDR port 179 (run it inside the router namespace); bgplbd
connects to it.  On the first connection it plays the case: completes as
much of OPEN/KEEPALIVE as the case needs, then sends the bad thing and reads
what bgplbd answers.  It reports JSON events, one a line, on stdout:

    {"ev": "listening"}
    {"ev": "open", "asn": 64512, "hold": 9, "id": "10.0.0.2"}   bgplbd's OPEN
    {"ev": "established"}                   OPEN + KEEPALIVE both ways
    {"ev": "announced", "prefixes": [...]}  (treat-as-withdraw cases)
    {"ev": "ready"}                         about to send; with --wait-go,
                                            waits for a line on stdin first
    {"ev": "sent", "case": NAME, "hex": ...}
    {"ev": "notification", "code": C, "subcode": S, "data": HEX}
    {"ev": "closed"}                        bgplbd closed the connection
    {"ev": "update", "n": N, "prefixes": [...]}   (every UPDATE received)
    {"ev": "quiet", "secs": S}              no NOTIFICATION within S seconds
    {"ev": "reconnect"}                     a later connection from bgplbd

Later connections (bgplbd retrying after the error) are accepted and held
without an OPEN, so bgplbd sits in OpenSent and keeps the last_error of the
case for the test to read.  Case "good" is a well-behaved peer that just
holds its session (KEEPALIVEs every second) and counts what it receives.
The peer runs until it is killed.
"""
import argparse
import json
import select
import socket
import struct
import sys
import time

MARKER = b"\xff" * 16
OPEN, UPDATE, NOTIFICATION, KEEPALIVE, ROUTE_REFRESH = 1, 2, 3, 4, 5

# Path attribute flags
OPT, TRANS, PARTIAL, EXTLEN = 0x80, 0x40, 0x20, 0x10


def msg(mtype, body=b"", marker=MARKER, length=None):
    if length is None:
        length = 19 + len(body)
    return marker + struct.pack("!HB", length, mtype) + body


def keepalive():
    return msg(KEEPALIVE)


def cap(code, value=b""):
    return struct.pack("!BB", code, len(value)) + value


def caps_v4only(asn):
    """No MP capability: IPv4 unicast only (RFC 4760)."""
    return cap(2) + cap(65, struct.pack("!I", asn))


def caps_default(asn):
    return (cap(1, struct.pack("!HBB", 1, 0, 1)) + cap(1, struct.pack("!HBB", 2, 0, 1)) +
            cap(2) + cap(65, struct.pack("!I", asn)))


def open_msg(asn, hold, bgp_id, version=4, caps=None, params=None):
    """OPEN; params (raw optional parameters) overrides the capabilities."""
    if params is None:
        c = caps_default(asn) if caps is None else caps
        params = struct.pack("!BB", 2, len(c)) + c if c else b""
    my_as = asn if asn <= 0xffff else 23456
    body = struct.pack("!BHH4sB", version, my_as, hold, socket.inet_aton(bgp_id),
                       len(params)) + params
    return msg(OPEN, body)


def attr(flags, atype, value, length=None):
    if length is None:
        length = len(value)
    if flags & EXTLEN:
        return struct.pack("!BBH", flags, atype, length) + value
    return struct.pack("!BBB", flags, atype, length) + value


def update(withdrawn=b"", attrs=b"", nlri=b"", attr_len=None):
    if attr_len is None:
        attr_len = len(attrs)
    body = (struct.pack("!H", len(withdrawn)) + withdrawn + struct.pack("!H", attr_len) +
            attrs + nlri)
    return msg(UPDATE, body)


def origin(v=0):
    return attr(TRANS, 1, bytes([v]))


def as_path(asns, as4=True):
    fmt = "!I" if as4 else "!H"
    seg = struct.pack("!BB", 2, len(asns)) + b"".join(struct.pack(fmt, a) for a in asns)
    return attr(TRANS, 2, seg)


def next_hop(a):
    return attr(TRANS, 3, socket.inet_aton(a))


def nlri4(prefix):
    addr, plen = prefix.split("/")
    plen = int(plen)
    return bytes([plen]) + socket.inet_aton(addr)[:(plen + 7) // 8]


def nlri6(prefix):
    addr, plen = prefix.split("/")
    plen = int(plen)
    return bytes([plen]) + socket.inet_pton(socket.AF_INET6, addr)[:(plen + 7) // 8]


def mp_reach6(nh, prefixes):
    nhb = socket.inet_pton(socket.AF_INET6, nh)
    v = struct.pack("!HBB", 2, 1, len(nhb)) + nhb + b"\x00" + b"".join(nlri6(p) for p in prefixes)
    return attr(OPT, 14, v)


# ------------------------------------------------------------------ cases
#
# Each case: (phase, payload builder, what to wait for).  phase is when the
# bad bytes go out: "opensent" (instead of our OPEN), "established".
# wait: "notification" (read until NOTIFICATION / close) or "quiet"
# (treat-as-withdraw: the session must stay up).

def _good_attrs(asn):
    return origin(0) + as_path([asn]) + next_hop("10.0.0.1")


def build_case(name, a):
    asn, ident = a.asn, a.id
    hdr_ok = MARKER + struct.pack("!HB", 19, KEEPALIVE)
    if name == "bad_marker":
        return "established", b"\xff" * 15 + b"\xfe" + hdr_ok[16:]
    if name == "bad_length":
        return "established", msg(KEEPALIVE, length=18)
    if name == "unknown_type":
        return "established", msg(9)
    if name == "open_bad_version":
        return "opensent", open_msg(asn, a.hold, ident, version=5)
    if name == "open_bad_as":
        return "opensent", open_msg(64999, a.hold, ident)
    if name == "open_bad_hold":
        return "opensent", open_msg(asn, 2, ident)
    if name == "open_bad_optparam":
        # Optional parameter type 1 (deprecated Authentication) + the caps.
        c = caps_default(asn)
        params = struct.pack("!BB", 1, 2) + b"\xaa\xbb" + struct.pack("!BB", 2, len(c)) + c
        return "opensent", open_msg(asn, a.hold, ident, params=params)
    if name == "open_bad_id":
        return "opensent", open_msg(asn, a.hold, "0.0.0.0")
    if name == "keepalive_before_open":
        return "opensent", keepalive()
    if name == "hold_expiry":
        return "established", b""          # then: silence
    if name == "update_attr_list_overrun":
        # Total Path Attribute Length runs past the end of the message:
        # the NLRI field cannot be located (RFC 7606 section 4).
        attrs = _good_attrs(asn)
        return "established", update(attrs=attrs, nlri=nlri4("10.1.2.0/24"),
                                     attr_len=len(attrs) + 40)
    if name in ("update_attr_len_overrun", "update_attr_len_overrun_v4only"):
        # The last attribute's length runs past the Total Path Attribute
        # Length, which itself is consistent (RFC 7606 section 4).  The
        # _v4only variant runs on a session without the MP capability.
        attrs = origin(0) + as_path([asn]) + attr(TRANS, 3, b"\x0a\x00", length=40)
        return "established", update(attrs=attrs, nlri=nlri4("10.1.2.0/24"))
    if name == "update_dup_mp_reach":
        attrs = (origin(0) + as_path([asn]) + mp_reach6("fd00::1", ["2001:db8:1::/48"]) +
                 mp_reach6("fd00::1", ["2001:db8:2::/48"]))
        return "established", update(attrs=attrs)
    if name == "update_bad_nlri_len":
        return "established", update(attrs=_good_attrs(asn),
                                     nlri=b"\x21\x0a\x01\x02\x03\x04")
    if name == "update_missing_nexthop":
        return "established", update(attrs=origin(0) + as_path([asn]),
                                     nlri=nlri4("10.1.2.0/24"))
    if name == "update_bad_origin":
        return "established", update(attrs=origin(7) + as_path([asn]) + next_hop("10.0.0.1"),
                                     nlri=nlri4("10.1.2.0/24"))
    if name == "update_unknown_wellknown":
        attrs = _good_attrs(asn) + attr(TRANS, 99, b"\xde\xad")
        return "established", update(attrs=attrs, nlri=nlri4("10.1.2.0/24"))
    if name == "good":
        return "established", b""
    raise SystemExit(f"badpeer: unknown case {name}")


# ------------------------------------------------------------------ I/O

def emit(**ev):
    sys.stdout.write(json.dumps(ev) + "\n")
    sys.stdout.flush()


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    def send(self, data):
        if data:
            self.sock.sendall(data)

    def fill(self, timeout):
        r, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        if not r:
            return False
        try:
            d = self.sock.recv(65536)
        except ConnectionError:
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def recv_msg(self, timeout):
        """(type, body), or None on timeout/EOF (self.eof tells which)."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 19:
                length, mtype = struct.unpack("!HB", self.buf[16:19])
                if length < 19:
                    raise SystemExit("badpeer: bgplbd sent a bad header")
                if len(self.buf) >= length:
                    m, self.buf = self.buf[:length], self.buf[length:]
                    return mtype, m[19:]
            left = deadline - time.monotonic()
            if self.eof or left <= 0:
                return None
            self.fill(left)


def report(c, mtype, body):
    """Report a message bgplbd sent; True when it ends the session."""
    if mtype == NOTIFICATION:
        code, sub = (body[0], body[1]) if len(body) >= 2 else (-1, -1)
        emit(ev="notification", code=code, subcode=sub, data=body[2:].hex())
        return True
    if mtype == UPDATE:
        wl = struct.unpack("!H", body[:2])[0]
        al = struct.unpack("!H", body[2 + wl:4 + wl])[0]
        nl = body[4 + wl + al:]
        pfx, i = [], 0
        while i < len(nl):
            plen = nl[i]
            n = (plen + 7) // 8
            a = nl[i + 1:i + 1 + n] + b"\x00" * (4 - n)
            pfx.append(f"{socket.inet_ntoa(a)}/{plen}")
            i += 1 + n
        emit(ev="update", n=len(pfx), prefixes=pfx)
    return False


def play(c, a):
    phase, bad = build_case(a.case, a)
    m = c.recv_msg(10)
    if m is None or m[0] != OPEN:
        emit(ev="closed" if c.eof else "no_open")
        return False
    body = m[1]
    ver, my_as, hold = struct.unpack("!BHH", body[:5])
    emit(ev="open", version=ver, asn=my_as, hold=hold, id=socket.inet_ntoa(body[5:9]))
    if phase == "opensent":
        c.send(bad)
        emit(ev="sent", case=a.case, hex=bad.hex())
        return wait_notification(c, a.wait)
    caps = caps_v4only(a.asn) if a.case.endswith("_v4only") else None
    c.send(open_msg(a.asn, a.hold, a.id, caps=caps))
    c.send(keepalive())
    while True:
        m = c.recv_msg(10)
        if m is None:
            emit(ev="closed" if c.eof else "no_keepalive")
            return False
        if m[0] == KEEPALIVE:
            break
        if report(c, *m):
            return False
    emit(ev="established")
    if a.case == "good":
        return True
    if a.case == "hold_expiry":
        emit(ev="sent", case=a.case, hex="")
        return wait_notification(c, a.hold + 5)
    # bgplbd starts with its UPDATEs; let them arrive first, so the bad
    # message meets an Established session that is busy as usual.
    while True:
        m = c.recv_msg(0.3)
        if m is None:
            if c.eof:
                emit(ev="closed")
                return False
            break
        if report(c, *m):
            return False
    if a.quiet:
        # Treat-as-withdraw cases: first announce the prefix the bad UPDATE
        # carries, so the test can see it withdrawn.
        c.send(update(attrs=_good_attrs(a.asn), nlri=nlri4("10.1.2.0/24")))
        emit(ev="announced", prefixes=["10.1.2.0/24"])
    emit(ev="ready")
    if a.wait_go:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r, _, _ = select.select([sys.stdin], [], [], 0.5)
            c.send(keepalive())
            if r:
                sys.stdin.readline()
                break
    c.send(bad)
    emit(ev="sent", case=a.case, hex=bad.hex())
    if a.quiet:
        return wait_quiet(c, a.quiet)
    return wait_notification(c, a.wait)


def wait_notification(c, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = c.recv_msg(deadline - time.monotonic())
        if m is None:
            break
        if report(c, *m):
            # bgplbd closes right after the NOTIFICATION.
            if c.recv_msg(2) is None and c.eof:
                emit(ev="closed")
            return False
    emit(ev="closed" if c.eof else "timeout")
    return not c.eof


def wait_quiet(c, secs):
    """Treat-as-withdraw: keep the session (KEEPALIVEs) and see nothing bad."""
    end = time.monotonic() + secs
    while time.monotonic() < end:
        c.send(keepalive())
        m = c.recv_msg(min(0.5, max(end - time.monotonic(), 0)))
        if m is not None and report(c, *m):
            return False
        if c.eof:
            emit(ev="closed")
            return False
    emit(ev="quiet", secs=secs)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--port", type=int, default=179)
    ap.add_argument("--asn", type=int, required=True)
    ap.add_argument("--id", required=True)
    ap.add_argument("--case", required=True)
    ap.add_argument("--hold", type=int, default=9)
    ap.add_argument("--wait", type=float, default=5.0,
                    help="seconds to wait for bgplbd's NOTIFICATION")
    ap.add_argument("--wait-go", action="store_true",
                    help="established cases: wait for a line on stdin "
                    "before sending the bad message")
    ap.add_argument("--quiet", type=float, default=0.0,
                    help="treat-as-withdraw: seconds the session must stay up")
    a = ap.parse_args()

    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.listen, a.port))
    ls.listen(8)
    emit(ev="listening")
    s, _ = ls.accept()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c = Conn(s)
    alive = play(c, a)
    held = []
    last_ka = 0.0
    # Hold: keep a live session up (unless the case is silence), accept and
    # park bgplbd's later connections, report whatever arrives.
    while True:
        rl = [ls] + [h.sock for h in held] + ([c.sock] if alive else [])
        r, _, _ = select.select(rl, [], [], 0.25)
        if alive and a.case != "hold_expiry" and time.monotonic() - last_ka >= 1:
            try:
                c.send(keepalive())
            except OSError:
                pass
            last_ka = time.monotonic()
        if ls in r:
            ns, _ = ls.accept()
            held.append(Conn(ns))
            emit(ev="reconnect")
        for h in list(held):
            if h.sock in r and not h.fill(0):
                held.remove(h)
                h.sock.close()
        if alive and c.sock in r:
            c.fill(0)
        if alive:
            # Also what arrived with the messages play() consumed.
            while alive:
                m = c.recv_msg(0)
                if m is None:
                    break
                if report(c, *m):
                    alive = False
            if c.eof and alive:
                emit(ev="closed")
                alive = False


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
