#!/usr/bin/env python3
"""Count the BGP messages in a tcpdump capture (pcap, Ethernet or Linux SLL, IPv4).

Reassembles each TCP direction (by sequence number, so retransmissions and
segmentation offload do not matter), splits it into BGP messages and returns,
for the direction a -> b, what the speaker at `a` sent on the connection that
carried routes.  No dependency beyond the standard library.

usage: pcapbgp.py FILE SPEAKER_IP    (prints the summary as JSON)
"""
import json
import socket
import struct
import sys

MARKER = b"\xff" * 16
TYPES = {1: "open", 2: "update", 3: "notification", 4: "keepalive", 5: "route_refresh"}


def packets(path):
    """Yield (ts, src, dst, sport, dport, seq, flags, payload) for IPv4 TCP packets."""
    with open(path, "rb") as f:
        gh = f.read(24)
        if len(gh) < 24:
            return
        magic = struct.unpack("<I", gh[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            e = "<"
        else:
            e = ">"
            magic = struct.unpack(">I", gh[:4])[0]
        div = 1e9 if magic == 0xA1B23C4D else 1e6
        linktype = struct.unpack(e + "I", gh[20:24])[0]
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            sec, frac, incl, _orig = struct.unpack(e + "IIII", h)
            data = f.read(incl)
            if len(data) < incl:
                return
            ts = sec + frac / div
            if linktype == 1:            # Ethernet
                off, etype = 14, struct.unpack("!H", data[12:14])[0]
                while etype in (0x8100, 0x88A8):
                    etype = struct.unpack("!H", data[off + 2:off + 4])[0]
                    off += 4
            elif linktype == 113:        # Linux cooked (SLL)
                off, etype = 16, struct.unpack("!H", data[14:16])[0]
            elif linktype == 276:        # Linux cooked v2 (SLL2)
                off, etype = 20, struct.unpack("!H", data[0:2])[0]
            else:
                raise ValueError(f"unsupported pcap link type {linktype}")
            if etype != 0x0800 or len(data) < off + 20:
                continue
            ip = data[off:]
            ihl = (ip[0] & 15) * 4
            tot = struct.unpack("!H", ip[2:4])[0]
            if ip[9] != 6:
                continue
            # GSO super-packets may carry tot_len 0; then take what was captured
            ip = ip[:tot] if tot >= ihl else ip
            src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
            tcp = ip[ihl:]
            sport, dport, seq = struct.unpack("!HHI", tcp[:8])
            doff = (tcp[12] >> 4) * 4
            flags = tcp[13]
            yield ts, src, dst, sport, dport, seq, flags, tcp[doff:]


class Stream:
    def __init__(self):
        self.isn = None
        self.segs = []          # (seq, payload, ts)

    def bytes_and_times(self):
        """Contiguous byte stream from the SYN on, and for each byte offset where
        a segment's new data ends, the time it was first seen."""
        if self.isn is None:
            if not self.segs:
                return b"", []
            base = min(s for s, _, _ in self.segs)   # capture began mid-stream
        else:
            base = (self.isn + 1) & 0xFFFFFFFF
        rel = sorted((((s - base) & 0xFFFFFFFF), p, t) for s, p, t in self.segs if p)
        out = bytearray()
        marks = []              # (end offset, ts)
        pending = rel
        progress = True
        while pending and progress:
            progress = False
            rest = []
            for off, p, t in pending:
                end = off + len(p)
                if end <= len(out):
                    continue                            # retransmission
                if off <= len(out):
                    out += p[len(out) - off:]
                    marks.append((len(out), t))
                    progress = True
                else:
                    rest.append((off, p, t))
            pending = rest
        return bytes(out), marks


def nlri_count(b):
    n = i = 0
    while i < len(b):
        i += 1 + (b[i] + 7) // 8
        n += 1
    return n


def caps_of_open(body):
    """Capability codes in an OPEN body (after the header)."""
    caps = set()
    if len(body) < 10:
        return caps
    optlen = body[9]
    opt = body[10:10 + optlen]
    i = 0
    while i + 2 <= len(opt):
        ptype, plen = opt[i], opt[i + 1]
        val = opt[i + 2:i + 2 + plen]
        if ptype == 2:
            j = 0
            while j + 2 <= len(val):
                caps.add(val[j])
                j += 2 + val[j + 1]
        i += 2 + plen
    return caps


def messages(data, marks):
    """Split a byte stream into BGP messages: list of dicts with type, len, ts."""
    out = []
    i = mi = 0
    while i + 19 <= len(data):
        if data[i:i + 16] != MARKER:
            out.append({"type": "garbage", "off": i})
            break
        ln, typ = struct.unpack("!HB", data[i + 16:i + 19])
        if ln < 19 or i + ln > len(data):
            break
        end = i + ln
        while mi < len(marks) and marks[mi][0] < end:
            mi += 1
        ts = marks[mi][1] if mi < len(marks) else None
        m = {"type": TYPES.get(typ, str(typ)), "len": ln, "ts": ts}
        body = data[i + 19:end]
        if typ == 2:
            wl = struct.unpack("!H", body[:2])[0]
            al = struct.unpack("!H", body[2 + wl:4 + wl])[0]
            nlri = body[4 + wl + al:]
            m["withdrawn"] = nlri_count(body[2:2 + wl])
            m["attr_len"] = al
            m["nlri"] = nlri_count(nlri)
            m["attr_types"] = attr_types(body[4 + wl:4 + wl + al])
        elif typ == 1:
            m["caps"] = sorted(caps_of_open(body))
        out.append(m)
        i = end
    return out


def attr_types(a):
    t, i = [], 0
    while i + 3 <= len(a):
        fl, ty = a[i], a[i + 1]
        if fl & 0x10:
            ln = struct.unpack("!H", a[i + 2:i + 4])[0]
            i += 4 + ln
        else:
            ln = a[i + 2]
            i += 3 + ln
        t.append(ty)
    return t


def analyse(path, speaker):
    streams = {}
    for ts, src, dst, sport, dport, seq, flags, pl in packets(path):
        if 179 not in (sport, dport):
            continue
        st = streams.setdefault((src, sport, dst, dport), Stream())
        if flags & 0x02:                        # SYN
            st.isn = seq
        elif pl:
            st.segs.append((seq, pl, ts))
    conns = {}
    for (src, sport, dst, dport), st in streams.items():
        data, marks = st.bytes_and_times()
        conns[(src, sport, dst, dport)] = messages(data, marks)
    best = None
    for (src, sport, dst, dport), msgs in conns.items():
        if src != speaker:
            continue
        rev = conns.get((dst, dport, src, sport), [])
        nl = sum(m.get("nlri", 0) for m in msgs)
        if best is None or nl > best[0]:
            best = (nl, msgs, rev, (src, sport, dst, dport))
    res = {"connections": len([k for k in conns if k[0] == speaker])}
    if best is None:
        return res
    _, sent, rcvd, key = best
    ups = [m for m in sent if m["type"] == "update"]
    with_nlri = [m for m in ups if m["nlri"] > 0]
    eor = [m for m in ups if m["len"] == 23]
    my_open = next((m for m in sent if m["type"] == "open"), None)
    peer_open = next((m for m in rcvd if m["type"] == "open"), None)
    # The speaker is Established when the peer's KEEPALIVE arrives after both OPENs.
    est = None
    if my_open and peer_open:
        for m in rcvd:
            if m["type"] == "keepalive" and m["ts"] is not None and m["ts"] >= peer_open["ts"]:
                est = m["ts"]
                break
    attr_lens = sorted({m["attr_len"] for m in with_nlri})
    res.update({
        "conn": f"{key[0]}:{key[1]}->{key[2]}:{key[3]}",
        "updates": len(ups),
        "updates_nlri": len(with_nlri),
        "updates_other": len(ups) - len(with_nlri) - len(eor),
        "eor": len(eor),
        "nlri": sum(m["nlri"] for m in ups),
        "withdrawn": sum(m["withdrawn"] for m in ups),
        "max_len": max((m["len"] for m in ups), default=0),
        "attr_len": attr_lens[0] if len(attr_lens) == 1 else attr_lens,
        "attr_types": with_nlri[0]["attr_types"] if with_nlri else [],
        "ext_msg": bool(my_open and peer_open and 6 in my_open["caps"] and 6 in peer_open["caps"]),
        "t_open": my_open["ts"] if my_open else None,
        "t_est": est,
        "t_first_update": with_nlri[0]["ts"] if with_nlri else None,
        "t_last_update": with_nlri[-1]["ts"] if with_nlri else None,
        "t_eor": eor[0]["ts"] if eor else None,
        "other_msgs": {t: sum(1 for m in sent if m["type"] == t) for t in ("open", "keepalive", "notification")},
    })
    return res


def packing_limit(n, attr_len, max_msg=4096):
    """Fewest UPDATEs of at most max_msg bytes that carry n IPv4 /32s (5 bytes of
    NLRI each) with attr_len bytes of path attributes and nothing withdrawn."""
    per = (max_msg - 19 - 2 - 2 - attr_len) // 5
    return -(-n // per), per


if __name__ == "__main__":
    print(json.dumps(analyse(sys.argv[1], sys.argv[2]), indent=1))
