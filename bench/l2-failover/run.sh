#!/usr/bin/env bash
# bench/l2-failover/run.sh - layer 2 failover time: SIGKILL the owner of a
# service address, time until the client sees the new owner's first
# gratuitous ARP (or, with -6, unsolicited NA).  N runs; median and max.
#
#   sudo bench/l2-failover/run.sh [-n RUNS] [-b BUILD] [-6] [-i MS] [-d MS]
#
# Topology (made here, removed on every exit): a client namespace with a
# bridge br0 (10.88.0.1/24, 2001:db8:88::1/64) and three node namespaces,
# each with eth0 (a veth into br0, 10.88.0.2-4) running bgplbd with the same
# layer 2 pool and eight services (10.88.0.100-107, 2001:db8:88::100-107), and
# layer2.membership between the three (listen on eth0:7946, a key made here,
# interval -i (100 ms), dead-after -d (500 ms)).
#
# A run: pick the next address, read its owner from a node's /v1/services,
# wait a random 0-99 ms (a random phase of the heartbeat timer), take the
# time, SIGKILL the owner's bgplbd; the figure is that time -> the first
# gratuitous ARP request for the address from another MAC in tcpdump -tt on
# br0 (kernel timestamps, same clock).  That MAC must be the owner the
# survivors report.  Also printed: kill -> "member X is dead" in the new
# owner's log (detection), the rest being re-plan + send + delivery.  Then
# the killed node is started again, and the next run waits until the three
# see each other alive and the start-up gratuitous schedule (2 s) is over.
#
# Goal: median under 1 s (with 100/500 ms: expected 400-500 ms).
set -eu

RUNS=20
FAM=4
IVL=100
DEAD=500
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BGPLB_BUILD:-}
while getopts n:b:6i:d: o; do
	case $o in
	n) RUNS=$OPTARG ;; b) BUILD=$OPTARG ;; 6) FAM=6 ;;
	i) IVL=$OPTARG ;; d) DEAD=$OPTARG ;;
	*) echo "usage: $0 [-n RUNS] [-b BUILD] [-6] [-i MS] [-d MS]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }

# shellcheck source=../../tests/lib/common.sh
. "$TOP/tests/lib/common.sh"
install_pkgs iproute2 arping ndisc6 tcpdump curl python3
if [ -z "$BUILD" ]; then
	BUILD=$TOP/build-bench-l2
	build_bgplb "$BUILD" -Dbuildtype=release
fi
BIN=$BUILD/src/bgplbd
[ -x "$BIN" ] || { echo "$BIN not built" >&2; exit 1; }

C=l2fc$$
NAMES=(node-a node-b node-c)
declare -A NS PORT V4 PID MAC
i=2
for n in "${NAMES[@]}"; do
	s=${n#node-}
	NS[$n]=l2fn$$$s
	PORT[$n]=l2fp$$$s		# bridge-side veth, <= 15 chars
	V4[$n]=10.88.0.$i
	i=$((i + 1))
done
D=$(mktemp -d /tmp/bgplb-l2fo.XXXXXX)
TCPDUMP_PID=

cleanup() {
	set +e
	[ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null
	for n in "${NAMES[@]}"; do
		[ -n "${PID[$n]:-}" ] && kill -9 "${PID[$n]}" 2>/dev/null &&
			{ wait "${PID[$n]}"; } 2>/dev/null
	done
	sleep 0.2
	for ns in $C "${NS[@]}"; do
		# Only processes inside our own namespaces.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "${KEEP:-}" ]; then echo "logs kept in $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT INT TERM

nodad() { ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0; }

ip netns add $C
ip -n $C link set lo up
nodad $C
ip -n $C link add br0 type bridge
ip -n $C addr add 10.88.0.1/24 dev br0
ip -n $C addr add 2001:db8:88::1/64 dev br0
ip -n $C link set br0 up
for n in "${NAMES[@]}"; do
	ns=${NS[$n]}
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	nodad "$ns"
	ip -n "$ns" link add eth0 type veth peer name "${PORT[$n]}" netns $C
	ip -n $C link set "${PORT[$n]}" master br0 up
	ip -n "$ns" addr add "${V4[$n]}/24" dev eth0
	ip -n "$ns" addr add "2001:db8:88::${V4[$n]##*.}/64" dev eth0
	ip -n "$ns" link set eth0 up
	MAC[$n]=$(ip netns exec "$ns" cat /sys/class/net/eth0/address)
done

python3 -c 'import secrets; print(secrets.token_hex(32))' > "$D/key"
chmod 600 "$D/key"
ADDRS=()
for k in $(seq 100 107); do
	if [ $FAM = 6 ]; then ADDRS+=("2001:db8:88::$k"); else ADDRS+=("10.88.0.$k"); fi
done
for n in "${NAMES[@]}"; do
	{
		echo "pools:"
		echo "  - {name: l2, protocol: layer2, auto-assign: false,"
		echo "     addresses: [10.88.0.100-10.88.0.107, 2001:db8:88::100-2001:db8:88::107]}"
		echo "services:"
		for k in $(seq 100 107); do
			echo "  - {name: v4-$k, pool: l2, addresses: [10.88.0.$k]}"
			echo "  - {name: v6-$k, pool: l2, addresses: ['2001:db8:88::$k']}"
		done
		echo "layer2:"
		echo "  interfaces: [eth0]"
		echo "  membership:"
		echo "    listen: ${V4[$n]}:7946"
		echo "    key-file: $D/key"
		echo "    interval: ${IVL}ms"
		echo "    dead-after: ${DEAD}ms"
		echo "    members:"
		for m in "${NAMES[@]}"; do echo "      - {name: $m, address: ${V4[$m]}:7946}"; done
	} > "$D/$n.yaml"
done

start() { # node
	ip netns exec "${NS[$1]}" "$BIN" --config "$D/$1.yaml" --node "$1" \
		--status-listen 127.0.0.1:7473 >>"$D/$1.log" 2>&1 &
	PID[$1]=$!	# ip netns exec execs bgplbd: this is the daemon
}
get() { # node path
	ip netns exec "${NS[$1]}" curl -sf -m 2 "http://127.0.0.1:7473$2"
}
alive_ok() { # every node sees all three alive
	local n
	for n in "${NAMES[@]}"; do
		get "$n" /v1/status | python3 -c 'import json,sys
a = json.load(sys.stdin)["membership"]["alive"]
sys.exit(0 if a == ["node-a", "node-b", "node-c"] else 1)' 2>/dev/null || return 1
	done
}
owner_at() { # node address -> announcing node
	get "$1" /v1/services | python3 -c 'import json,sys
for s in json.load(sys.stdin):
    if sys.argv[1] in s["addresses"]: print(s["announcing_node"] or "")' "$2"
}
wait_for() { # seconds command...
	local end=$(( $(date +%s) + $1 )); shift
	while [ "$(date +%s)" -le $end ]; do "$@" && return 0; sleep 0.05; done
	return 1
}
log_ms() { # file pattern since_ms -> ms of the first matching line at or after since
	python3 - "$@" <<'EOF'
import sys, re, datetime
path, pat, since = sys.argv[1], sys.argv[2], int(sys.argv[3])
for line in open(path, errors="replace"):
    if pat not in line:
        continue
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z", line)
    if not m:
        continue
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
    ms = int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
    if ms >= since:
        print(ms); break
EOF
}

for n in "${NAMES[@]}"; do start "$n"; done
ip netns exec $C tcpdump -i br0 -n -e -tt -l -U "arp or icmp6" >"$D/tcpdump.txt" 2>"$D/tcpdump.err" &
TCPDUMP_PID=$!
wait_for 10 grep -q "listening on" "$D/tcpdump.err" || { echo "tcpdump did not start" >&2; exit 1; }

results=()
detect=()
for run in $(seq "$RUNS"); do
	wait_for 15 alive_ok || { echo "run $run: nodes do not see each other" >&2; KEEP=1; exit 1; }
	sleep 2.2	# the start-up / takeover gratuitous schedules are over
	addr=${ADDRS[$(( (run - 1) % ${#ADDRS[@]} ))]}
	old=$(owner_at node-a "$addr")
	[ -n "$old" ] || { echo "run $run: no owner for $addr" >&2; KEEP=1; exit 1; }
	sleep "0.0$(( RANDOM % 10 ))$(( RANDOM % 10 ))"
	t0=$(date +%s%N)
	kill -9 "${PID[$old]}"
	{ wait "${PID[$old]}"; } 2>/dev/null || true
	t0_ms=$(( t0 / 1000000 ))
	# The first gratuitous announcement for addr after t0 from another MAC.
	first() {
		python3 - "$D/tcpdump.txt" "$addr" "$t0" "${MAC[$old]}" <<'EOF'
import sys
path, addr, t0, old = sys.argv[1], sys.argv[2], int(sys.argv[3]) / 1e9, sys.argv[4]
v6 = ":" in addr
for l in open(path):
    p = l.split()
    if len(p) < 3 or float(p[0]) < t0 or p[1].lower() == old.lower():
        continue
    if (v6 and "neighbor advertisement" in l and "tgt is %s," % addr in l and "ff02::1" in l) or \
       (not v6 and "Request who-has %s tell %s," % (addr, addr) in l):
        print(p[0], p[1].lower()); break
EOF
	}
	line=
	for _ in $(seq 100); do line=$(first) && [ -n "$line" ] && break; sleep 0.05; done
	[ -n "$line" ] || { echo "run $run: no gratuitous announcement of $addr seen" >&2; KEEP=1; exit 1; }
	read -r t1 mac <<<"$line"
	new=
	for n in "${NAMES[@]}"; do [ "${MAC[$n]}" = "$mac" ] && new=$n; done
	said=
	for n in "${NAMES[@]}"; do
		[ "$n" = "$old" ] && continue
		o=$(owner_at "$n" "$addr")
		[ -z "$said" ] && said=$o
		[ "$o" = "$said" ] || { echo "run $run: survivors disagree on $addr" >&2; KEEP=1; exit 1; }
	done
	[ "$new" = "$said" ] || { echo "run $run: $mac ($new) announced $addr, survivors say $said" >&2; KEEP=1; exit 1; }
	dt=$(python3 -c "print(round(($t1 - $t0 / 1e9) * 1000))")
	results+=("$dt")
	dd=$(log_ms "$D/$new.log" "member $old is dead" "$t0_ms" || true)
	extra=
	if [ -n "$dd" ]; then detect+=($(( dd - t0_ms ))); extra=", detected after $(( dd - t0_ms )) ms"; fi
	echo "run $run: killed $old (owner of $addr); $new announced it after $dt ms$extra"
	start "$old"
done

stats() {
	printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END {
		m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
		printf "median %d ms, min %d ms, max %d ms (n=%d)", m, a[1], a[NR], NR }'
}
echo "config: interval ${IVL} ms, dead-after ${DEAD} ms, IPv$FAM, 3 nodes"
echo "kill -> first gratuitous $([ $FAM = 6 ] && echo NA || echo ARP) from the new owner: $(stats "${results[@]}")"
[ ${#detect[@]} -gt 0 ] && echo "kill -> new owner logs the death: $(stats "${detect[@]}")"
exit 0
