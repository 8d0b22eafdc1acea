#!/usr/bin/env bash
# tests/lab/lab.sh - the README's main command.
#
# Installs what is missing, builds bgplb, creates a network namespace, runs
# bgplbd inside it on an example config, and shows what an operator sees:
# bgplbctl status, pools and services.  Everything it creates (namespace,
# processes, temp files) is removed on exit, even on failure.
#
#   sudo ./tests/lab/lab.sh [CONFIG]     # default: examples/embedded-bgp.yaml
#   LAB_KEEP=1 sudo ./tests/lab/lab.sh   # keep it running until Enter is pressed
set -eu
. "$(dirname "$0")/../lib/common.sh"

[ "$(id -u)" = 0 ] || { echo "lab.sh: run as root (it creates network namespaces)" >&2; exit 1; }
CONFIG=${1:-$BGPLB_TOP/examples/embedded-bgp.yaml}
[ -f "$CONFIG" ] || { echo "lab.sh: no such config: $CONFIG" >&2; exit 1; }

install_pkgs $BGPLB_BUILD_PKGS $BGPLB_LAB_PKGS
echo "== building"
build_bgplb "$BGPLB_TOP/build"
BGPLBD=$BGPLB_TOP/build/src/bgplbd
BGPLBCTL=$BGPLB_TOP/build/src/ctl/bgplbctl

NS=bgplb-lab$$
WORK=$(mktemp -d /tmp/bgplb-lab.XXXXXX)
DPID=
cleanup() {
	set +e
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

echo "== namespace $NS"
ip netns add "$NS"
ip -n "$NS" link set lo up
cp "$CONFIG" "$WORK/bgplb.yaml"

echo "== bgplbd --check-config $(basename "$CONFIG")"
"$BGPLBD" --check-config "$WORK/bgplb.yaml" | sed 's/^/   /'

echo "== starting bgplbd in $NS (log: $WORK/bgplbd.log)"
ip netns exec "$NS" "$BGPLBD" --config "$WORK/bgplb.yaml" --node lab-node \
	--status-listen 127.0.0.1:7473 >"$WORK/bgplbd.log" 2>&1 &
DPID=$!
for _ in $(seq 50); do
	ip netns exec "$NS" curl -sf -m 1 http://127.0.0.1:7473/healthz >/dev/null 2>&1 && break
	kill -0 "$DPID" 2>/dev/null || { cat "$WORK/bgplbd.log"; exit 1; }
	sleep 0.1
done
CTL() { ip netns exec "$NS" "$BGPLBCTL" --server http://127.0.0.1:7473 "$@"; }

echo; echo "== bgplbctl status"; CTL status
echo; echo "== bgplbctl pools"; CTL pools
echo; echo "== bgplbctl services"; CTL services
echo; echo "== bgplbd log"; sed 's/^/   /' "$WORK/bgplbd.log"
if [ "${LAB_KEEP:-0}" = 1 ]; then
	echo; echo "lab running; in another shell: ip netns exec $NS $BGPLBCTL services"
	read -r -p "press Enter to tear down " _ || true
fi
echo; echo "== done; tearing down $NS"
