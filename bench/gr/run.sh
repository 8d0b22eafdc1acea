#!/usr/bin/env bash
# bench/gr/run.sh - graceful restart against FRR as helper: SIGKILL bgplbd
# with N services announced, start it again, and time how long FRR runs on
# stale routes.
#
#   sudo bench/gr/run.sh [-n RUNS] [-b BUILD] [-d MS] [N ...]  (default: 5 runs, N = 1000 10000)
#
# Topology (made here, removed on exit, names prefix + PID): router namespace
# (zebra + bgpd -n, FRR's default graceful-restart helper mode) and a node
# namespace on a veth, 10.0.0.1/24 <-> 10.0.0.2/24, eBGP.  bgplbd announces
# N /32s (one static service each) with graceful-restart on (the default);
# its state file lives in the run directory, so the restarted process sets
# the R bit.  bench/gr/measure.py does the runs: it polls FRR's
# `show bgp ipv4 unicast neighbors 10.0.0.2 prefix-counts json` every 50 ms
# (a walk of FRR's table: every path from us, how many stale) and reports
# per run:
#   kill -> down     SIGKILL -> FRR sees the session down (routes now stale)
#   kill -> restart  SIGKILL -> the new bgplbd is started (the script starts
#                    it as soon as FRR marked every route stale, or -d MS later)
#   restart -> Est   new process start -> FRR's session Established
#   restart -> valid new process start -> FRR holds all N, none stale
#   min held         the fewest of our prefixes FRR held at any poll from the
#                    kill until valid again: must be N (no prefix ever left)
# then the median and max of each over the runs.
set -eu

RUNS=5
DOWN=0
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BGPLB_BUILD:-$TOP/build}
while getopts n:b:d: o; do
	case $o in
	n) RUNS=$OPTARG ;; b) BUILD=$OPTARG ;; d) DOWN=$OPTARG ;;
	*) echo "usage: $0 [-n RUNS] [-b BUILD] [-d MS] [N ...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
SIZES=${*:-1000 10000}
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }
BIN=$BUILD/src/bgplbd
[ -x "$BIN" ] || { echo "$BIN not built" >&2; exit 1; }

R=grbr$$ N=grbn$$ VR=grr$$ VN=grn$$
# FRR's files (it runs as frr) and bgplbd's (it keeps no DAC override
# capability, so nothing of it may sit under FRR's 0700 directory).
D=$(mktemp -d /tmp/bgplb-grbench.XXXXXX)
chown frr:frr "$D"
ND=$(mktemp -d /tmp/bgplb-grbench-node.XXXXXX)

cleanup() {
	set +e
	for f in "$D"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	sleep 0.3
	for ns in $R $N; do
		# Only processes inside our own namespaces.
		for pid in $(ip netns pids $ns 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		ip netns del $ns 2>/dev/null
	done
	ip link del $VR 2>/dev/null
	if [ -n "${KEEP:-}" ]; then echo "logs kept in $D $ND"; else rm -rf "$D" "$ND"; fi
}
trap cleanup EXIT INT TERM

ip netns add $R
ip netns add $N
for ns in $R $N; do
	ip -n $ns link set lo up
	ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip link add $VR type veth peer name $VN
ip link set $VR netns $R
ip link set $VN netns $N
ip -n $R addr add 10.0.0.1/24 dev $VR
ip -n $R link set $VR up
ip -n $N link set $VN name eth0
ip -n $N addr add 10.0.0.2/24 dev eth0
ip -n $N link set eth0 up

cat > "$D/zebra.conf" <<CONF
hostname grbench-zebra
log file $D/zebra.log
CONF
# Helper mode is FRR's default; outbound deny-all so nothing is echoed back.
cat > "$D/bgpd.conf" <<CONF
frr defaults traditional
hostname grbench-bgpd
log file $D/bgpd.log informational
log timestamp precision 3
!
router bgp 64500
 bgp router-id 10.0.0.1
 bgp log-neighbor-changes
 no bgp ebgp-requires-policy
 neighbor 10.0.0.2 remote-as 64512
 neighbor 10.0.0.2 timers 3 9
 neighbor 10.0.0.2 timers connect 1
 address-family ipv4 unicast
  neighbor 10.0.0.2 route-map DENY out
 exit-address-family
!
route-map DENY deny 10
!
CONF
chmod 644 "$D"/*.conf
frr() { # name extra-args...
	local name=$1; shift
	ip netns exec $R /usr/lib/frr/$name -d -f "$D/$name.conf" -i "$D/$name.pid" \
		-z "$D/zserv.api" --vty_socket "$D" -A 127.0.0.1 -P 0 "$@" >>"$D/$name.out" 2>&1
}
frr zebra
for i in $(seq 50); do [ -S "$D/zserv.api" ] && break; sleep 0.1; done
frr bgpd -n
for i in $(seq 50); do [ -S "$D/bgpd.vty" ] && break; sleep 0.1; done

for n in $SIZES; do
	python3 "$TOP/bench/gr/measure.py" --bgplbd "$BIN" --netns $N --vty "$D" \
	    --dir "$ND/n$n" --services "$n" --runs "$RUNS" --down-ms "$DOWN" || { KEEP=1; exit 1; }
done
