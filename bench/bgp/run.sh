#!/usr/bin/env bash
# bench/bgp/run.sh - bgplbd vs BIRD vs GoBGP as speakers of N IPv4 /32s into FRR and BIRD,
# in network namespaces made (and removed) by this run.  Run as root.
#
#   sudo bench/bgp/run.sh                              # N = 10000 100000, 3 runs per cell
#   sudo BENCH_RUNS=1 BENCH_N="10000" bench/bgp/run.sh # quick
#
# Installs what is missing (frr bird2 gobgpd tcpdump ...), builds bgplbd (release) in
# BUILD_DIR (default build-bench/ at the top), runs bench.py, prints the table and
# writes bench/bgp/results.md (+ results.jsonl).  Other knobs: see bench.py.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../tests/lib/common.sh"

[ "$(id -u)" = 0 ] || { echo "run.sh: run as root (it creates network namespaces)" >&2; exit 1; }

install_pkgs $BGPLB_BUILD_PKGS python3 iproute2 curl procps frr frr-pythontools bird2 gobgpd tcpdump

# BGPLBD=path runs that binary instead of building one (an older build, say).
if [ -z "${BGPLBD:-}" ]; then
	BUILD=${BUILD_DIR:-$BGPLB_TOP/build-bench}
	echo "== building bgplbd (release) in $BUILD"
	build_bgplb "$BUILD" -Dbuildtype=release
	BGPLBD=$BUILD/src/bgplbd
fi
export BGPLBD
export BENCH_TAG=${BENCH_TAG:-bb$$}
RUNDIR=/tmp/bgplb-bench-$BENCH_TAG

# bench.py cleans up after itself; this is the safety net if it is killed hard.
# Only our own, uniquely named namespaces (and the processes inside them) are touched.
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

# BENCH_PY: the driver (collision.sh sets collision.py).
python3 "$HERE/${BENCH_PY:-bench.py}"
