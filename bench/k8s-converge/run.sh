#!/usr/bin/env bash
# bench/k8s-converge/run.sh - Kubernetes mode: from `kubectl create` of a Service
# to the prefix in FRR's RIB (p50/p99 over 200 Services), and 10k Services created
# in bulk until all are in FRR; GoBGP and BIRD measured in the same run as the
# floor (a route pushed straight into a BGP daemon).  Run as root.
#
#   sudo bench/k8s-converge/run.sh                      # 200 one by one, 10000 in bulk
#   sudo BENCH_ONE=50 BENCH_BULK=2000 bench/k8s-converge/run.sh   # quick
#
# The cluster is tests/integration/k8slab.py: the fake API server and FRR in a
# router namespace, two bgplbd nodes in node namespaces (names prefix + PID,
# removed on exit).  Installs what is missing, builds bgplbd (release) in
# BUILD_DIR (default build-bench/), runs bench.py, writes results.md.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../tests/lib/common.sh"

[ "$(id -u)" = 0 ] || { echo "run.sh: run as root (it creates network namespaces)" >&2; exit 1; }

install_pkgs $BGPLB_BUILD_PKGS python3 python3-pytest iproute2 curl procps frr bird2 gobgpd openssl
install_kubectl

BUILD=${BUILD_DIR:-$BGPLB_TOP/build-bench}
echo "== building bgplbd (release) in $BUILD"
build_bgplb "$BUILD" -Dbuildtype=release

export BGPLB_BUILD=$BUILD
exec /usr/bin/python3 "$HERE/bench.py"
