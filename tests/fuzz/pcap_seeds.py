#!/usr/bin/env python3
"""pcap_seeds.py PCAP OUTDIR: write each direction of each BGP TCP connection
in a capture (tcpdump -w ... tcp port 179) as one fuzz_bgp_msg seed: the
exact byte stream a real peer (FRR, BIRD, GoBGP) or bgplbd put on the wire.
Uses bench/bgp/pcapbgp.py to read the capture and reassemble the streams."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "bgp"))
import pcapbgp  # noqa: E402


def main():
    pcap, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    flows = {}
    for ts, src, dst, sport, dport, seq, flags, payload in pcapbgp.packets(pcap):
        st = flows.setdefault((src, sport, dst, dport), pcapbgp.Stream())
        if flags & 0x02:                     # SYN
            st.isn = seq
        st.segs.append((seq, payload, ts))
    n = 0
    for (src, sport, dst, dport), st in sorted(flows.items()):
        data, _ = st.bytes_and_times()
        if len(data) < 19:
            continue
        name = f"capture-{src}-{sport}-to-{dst}-{dport}"
        with open(os.path.join(out, name), "wb") as f:
            f.write(data[:65536])
        n += 1
    print(f"{n} seeds written to {out}")


if __name__ == "__main__":
    main()
