#!/usr/bin/env bash
# bench/bfd/run.sh - BFD failure detection time against FRR, link cut N times.
#
#   sudo bench/bfd/run.sh [-n RUNS] [-m bgplbd|probe] [-b BUILD] [-t MS] [-x MULT]
#
# Topology (made here, removed on exit): router namespace with bridge br0
# (10.0.0.1/24) and an idle veth port that keeps br0's carrier up, a node
# namespace (10.0.0.2/24) on a veth whose router-side port is in br0.  A cut
# is `ip link set <router-side port> down`: the router's own interface stays
# up, so FRR can only learn of the failure through BFD, as with a failure
# one switch away.
#
#   -m bgplbd (default): zebra + bgpd + bfdd; bgplbd in the node with
#      `bfd: {min-rx: T, min-tx: T, multiplier: X}` announcing one /32.
#      Measured: cut -> FRR's bgpd logs the neighbor down (it clears the
#      peer's routes in the same step), and the route confirmed gone.
#   -m probe: zebra + bfdd only, and tests/bfd_probe (the BFD module alone)
#      in the node.  Measured: cut -> bfdd logs the session down; also the
#      probe's own detection of FRR's silence.
#
# Times come from FRR's log (`log timestamp precision 3`, wall clock) and
# `date +%s%3N` taken just before the cut, so vtysh's latency doesn't count.
# Prints every run, then median and max; the goal at 3 x 50 ms is < 200 ms.
set -eu

RUNS=20
MODE=bgplbd
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BGPLB_BUILD:-$TOP/build}
IVL=50
MULT=3
while getopts n:m:b:t:x: o; do
	case $o in
	n) RUNS=$OPTARG ;; m) MODE=$OPTARG ;; b) BUILD=$OPTARG ;;
	t) IVL=$OPTARG ;; x) MULT=$OPTARG ;;
	*) echo "usage: $0 [-n RUNS] [-m bgplbd|probe] [-b BUILD] [-t MS] [-x MULT]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }
case $MODE in
bgplbd) BIN=$BUILD/src/bgplbd ;;
probe) BIN=$BUILD/tests/bfd_probe ;;
*) echo "unknown mode $MODE" >&2; exit 2 ;;
esac
[ -x "$BIN" ] || { echo "$BIN not built" >&2; exit 1; }

R=bfdbr$$ N=bfdbn$$ VR=bfr$$ VN=bfn$$ DM=bfd$$
# FRR's files (it runs as frr, 0700) and the node's: bgplbd keeps no DAC
# override capability, so its config can't sit under FRR's directory.
D=$(mktemp -d /tmp/bgplb-bfdbench.XXXXXX)
chown frr:frr "$D"
ND=$(mktemp -d /tmp/bgplb-bfdbench-node.XXXXXX)
NODE_PID=

cleanup() {
	set +e
	[ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null
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

now_ms() { date +%s%3N; }

ip netns add $R
ip netns add $N
for ns in $R $N; do
	ip -n $ns link set lo up
	ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip -n $R link add br0 type bridge
# No dummy driver here: a veth pair inside R whose far end is up does it.
ip -n $R link add $DM type veth peer name ${DM}b
ip -n $R link set ${DM}b up
ip -n $R link set $DM master br0 up
ip -n $R addr add 10.0.0.1/24 dev br0
ip -n $R link set br0 up
ip link add $VR type veth peer name $VN
ip link set $VR netns $R
ip link set $VN netns $N
ip -n $R link set $VR master br0 up
ip -n $N link set $VN name eth0
ip -n $N addr add 10.0.0.2/24 dev eth0
ip -n $N link set eth0 up

cat > "$D/zebra.conf" <<EOF
hostname bfdbench-zebra
log file $D/zebra.log
EOF
# The timers live in a profile; bgpd's neighbor uses it, and in probe mode
# a configured peer does (bgpd isn't there to ask for the session).
{
	cat <<EOF
hostname bfdbench-bfdd
log file $D/bfdd.log debugging
log timestamp precision 3
debug bfd peer
!
bfd
 profile fast
  receive-interval $IVL
  transmit-interval $IVL
  detect-multiplier $MULT
 !
EOF
	[ $MODE = probe ] && printf ' peer 10.0.0.2 local-address 10.0.0.1\n  profile fast\n !\n'
	echo '!'
} > "$D/bfdd.conf"
cat > "$D/bgpd.conf" <<EOF
frr defaults traditional
hostname bfdbench-bgpd
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
 neighbor 10.0.0.2 bfd profile fast
!
EOF
chmod 644 "$D"/*.conf

frr() { # name extra-args...
	local name=$1; shift
	ip netns exec $R /usr/lib/frr/$name -d -f "$D/$name.conf" -i "$D/$name.pid" \
		-z "$D/zserv.api" --vty_socket "$D" -A 127.0.0.1 -P 0 "$@" >>"$D/$name.out" 2>&1
}
frr zebra
for i in $(seq 50); do [ -S "$D/zserv.api" ] && break; sleep 0.1; done
frr bfdd
[ $MODE = bgplbd ] && frr bgpd -n
for i in $(seq 50); do [ -S "$D/bfdd.vty" ] && break; sleep 0.1; done
vty() { vtysh --vty_socket "$D" -c "$1" 2>/dev/null; }

frr_bfd_status() {
	vty "show bfd peer 10.0.0.2 json" | python3 -c \
	    'import json,sys
try: print(json.load(sys.stdin).get("status","none"))
except Exception: print("none")'
}
frr_has_route() {
	vty "show bgp ipv4 unicast 198.51.100.1/32 json" | python3 -c \
	    'import json,sys
try: print("yes" if json.load(sys.stdin).get("paths") else "no")
except Exception: print("no")'
}
wait_for() { # seconds command expected
	local end=$(( $(date +%s) + $1 ))
	while [ "$(date +%s)" -le $end ]; do
		[ "$($2)" = "$3" ] && return 0
		sleep 0.05
	done
	return 1
}

if [ $MODE = bgplbd ]; then
	cat > "$ND/bgplb.yaml" <<EOF
router-id: 10.0.0.2
pools:
  - name: web
    protocol: bgp
    addresses: [198.51.100.0/28]
    auto-assign: false
peers:
  - name: rtr
    address: 10.0.0.1
    asn: 64500
    my-asn: 64512
    hold-time: 9s
    keepalive-time: 3s
    connect-time: 1s
    bfd: {min-rx: ${IVL}ms, min-tx: ${IVL}ms, multiplier: $MULT}
services:
  - name: web
    pool: web
    addresses: [198.51.100.1]
EOF
	ip netns exec $N "$BIN" --config "$ND/bgplb.yaml" --node node-a \
		--status-listen 127.0.0.1:7473 >"$ND/node.log" 2>&1 &
	NODE_PID=$!
	ready() { [ "$(frr_bfd_status)" = up ] && frr_has_route; }
	ready_want=yes
else
	ip netns exec $N "$BIN" -r $IVL -t $IVL -m $MULT 10.0.0.2 10.0.0.1 >"$ND/node.log" 2>&1 &
	NODE_PID=$!
	ready() { frr_bfd_status; }
	ready_want=up
fi

# The newest matching log line's time in ms (FRR logs local wall time).
log_ms_after() { # file pattern since_ms
	local line ts
	line=$(grep -E "$2" "$1" | tail -1) || return 1
	ts=$(echo "$line" | cut -c1-23)
	ts=$(date -d "$ts" +%s%3N) || return 1
	[ "$ts" -ge "$3" ] || return 1
	echo "$ts"
}

results=()
node_results=()
for run in $(seq "$RUNS"); do
	if ! wait_for 30 ready $ready_want; then
		echo "run $run: not ready (FRR bfd $(frr_bfd_status))" >&2
		KEEP=1; exit 1
	fi
	sleep 0.$(( RANDOM % 9 + 1 ))		# cut at a random phase of the Tx timer
	t0=$(now_ms)
	ip -n $R link set $VR down
	if [ $MODE = bgplbd ]; then
		# bgpd: "%ADJCHANGE: neighbor 10.0.0.2(...) in vrf default Down BFD down received"
		pat='ADJCHANGE: neighbor 10.0.0.2.* Down'
		for i in $(seq 100); do t1=$(log_ms_after "$D/bgpd.log" "$pat" $t0) && break; sleep 0.05; done
		wait_for 10 frr_has_route no || { echo "run $run: route still there" >&2; KEEP=1; exit 1; }
	else
		pat='state-change.*10\.0\.0\.2.*-> *down|10\.0\.0\.2.*up -> down'
		for i in $(seq 100); do t1=$(log_ms_after "$D/bfdd.log" "$pat" $t0) && break; sleep 0.05; done
	fi
	if [ -z "${t1:-}" ]; then echo "run $run: no down logged" >&2; KEEP=1; exit 1; fi
	dt=$(( t1 - t0 ))
	results+=("$dt")
	extra=
	if [ $MODE = probe ]; then
		sleep 0.3
		tn=$(awk -v t0=$t0 '$2 == "down" && $1 >= t0 { print $1; exit }' "$ND/node.log")
		[ -n "$tn" ] && { node_results+=($(( tn - t0 ))); extra=" (probe saw FRR silent after $(( tn - t0 )) ms)"; }
	fi
	echo "run $run: FRR detected the cut after $dt ms$extra"
	unset t1
	ip -n $R link set $VR up
done

stats() {
	printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END {
		m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
		printf "median %d ms, min %d ms, max %d ms (n=%d)", m, a[1], a[NR], NR }'
}
echo "config: ${MULT} x ${IVL} ms, mode $MODE"
echo "FRR detection: $(stats "${results[@]}")"
[ ${#node_results[@]} -gt 0 ] && echo "our detection: $(stats "${node_results[@]}")"
exit 0
