#!/usr/bin/env bash
# bench/bgp/collision.sh - 20 large bgplbd starts against FRR connecting every second:
# how many had no session reset (the RFC 4271 6.8 connection-collision proof).
# Run as root.
#
#   sudo bench/bgp/collision.sh                          # N = 100000, 20 starts (~2 min)
#   sudo COLLISION_RUNS=5 COLLISION_N=10000 bench/bgp/collision.sh
#
# Builds bgplbd (release) in BUILD_DIR (default build-bench/ at the top) unless
# BGPLBD names a binary, then runs collision.py (see its docstring); exits 0 when
# every start was clean.  BENCH_KEEP=1 keeps /tmp/bgplb-bench-TAG/run-I/ (bgplbd and
# FRR logs, capture) per start; BENCH_FRR_DEBUG=1 turns on FRR's neighbor-events debug.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../tests/lib/common.sh"

[ "$(id -u)" = 0 ] || { echo "collision.sh: run as root (it creates network namespaces)" >&2; exit 1; }

if [ -z "${BGPLBD:-}" ]; then
	install_pkgs $BGPLB_BUILD_PKGS python3 iproute2 curl procps frr frr-pythontools tcpdump
	BUILD=${BUILD_DIR:-$BGPLB_TOP/build-bench}
	echo "== building bgplbd (release) in $BUILD"
	build_bgplb "$BUILD" -Dbuildtype=release
	export BGPLBD=$BUILD/src/bgplbd
fi
export BGPLBD
export BENCH_TAG=${BENCH_TAG:-bc$$}
RUNDIR=/tmp/bgplb-bench-$BENCH_TAG

cleanup() {
	local ns pid
	for ns in "$BENCH_TAG-r" "$BENCH_TAG-n"; do
		[ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$RUNDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

python3 "$HERE/collision.py"
