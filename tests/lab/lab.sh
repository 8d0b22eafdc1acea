#!/usr/bin/env bash
# tests/lab/lab.sh - the README's main command: a BGP lab in network namespaces.
#
#   sudo ./tests/lab/lab.sh          # install what is missing, build, bring the lab up
#   sudo ./tests/lab/lab.sh up layer2  # the same with the walk-through's layer 2 pools
#   sudo ./tests/lab/lab.sh up k8s-layer2  # the walk-through itself: Kubernetes, layer 2
#   sudo ./tests/lab/lab.sh down     # tear it down
#   sudo ./tests/lab/lab.sh status   # the router's view and the nodes' sessions again
#
# One router namespace runs FRR (zebra + bgpd, nothing installed in a kernel
# FIB); three node namespaces each run bgplbd with tests/lab/bgplb-lab.yaml
# (the MetalLB walk-through's pools switched to BGP, its Service and a few
# more, IPv4 and IPv6).  All nodes sit on one bridge in the router namespace.
# In layer2 mode the nodes run tests/lab/bgplb-lab-l2.yaml (the walk-through's
# layer 2 pools as they were, with membership between the nodes) and the
# router namespace is a client on the bridge: it ARPs for the service
# addresses and exactly one node answers each.
# In k8s-layer2 mode it is the MetalLB walk-through as its user ran it, in
# Kubernetes mode: the router namespace also runs the fake API server
# (tests/k8s/fakeapi.py, https://10.0.0.1:6443) and kubectl, which applies
# the walk-through's two files unchanged (tests/lab/k8s-layer2/: the ConfigMap
# metallb-system/config and the protopod Service, copies of the seed), the
# Nodes kube-worker01..03 and an EndpointSlice standing in for protopod's pods;
# the nodes run bgplbd in Kubernetes mode (tests/lab/k8s-layer2/bgplbd.yaml).
# It prints `kubectl get svc`, `kubectl describe svc` and which node answers
# ARP for each EXTERNAL-IP; /run/bgplb-lab/kubectl is kubectl for the lab.
# LAB_IMAGE=1 runs node 1 from the container image instead (deploy/build-
# image.sh: the Debian package, mmdebstrap, umoci) with runc, in node 1's
# namespace, with the DaemonSet's securityContext (NET_BIND_SERVICE and
# NET_RAW only, read-only root filesystem).
# The lab stays up when this script ends; `down` removes everything it made.
# If bringing it up fails half-way, everything made so far is removed.
set -eu
. "$(dirname "$0")/../lib/common.sh"

RUN=/run/bgplb-lab
NODES=${LAB_NODES:-3}
LAB_CONF=$BGPLB_TOP/tests/lab/bgplb-lab.yaml
FRR_CONF=$BGPLB_TOP/examples/router-configs/lab-frr.conf

[ "$(id -u)" = 0 ] || { echo "lab.sh: run as root (it creates network namespaces)" >&2; exit 1; }

lab_down() {
	local ns
	[ -f $RUN/lab.env ] || { echo "no lab is running"; return 0; }
	. $RUN/lab.env
	for ns in $LAB_NAMESPACES; do
		# Only processes inside the lab's own namespaces: ours.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
	done
	sleep 0.5
	for c in ${LAB_CONTAINERS:-}; do runc delete --force "$c" >/dev/null 2>&1 || true; done
	for ns in $LAB_NAMESPACES; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf $RUN
	echo "lab removed ($LAB_NAMESPACES)"
}

VT() { vtysh --vty_socket $RUN/frr "$@"; }

# The name node i runs as (--node; in k8s-layer2 its Node object's name).
node_name() {
	if [ "${LAB_MODE:-$MODE}" = k8s-layer2 ]; then printf 'kube-worker%02d\n' "$1"
	else echo "node-$1"; fi
}

node_of_mac() {
	local i
	[ -n "$1" ] || { echo "-"; return; }
	for i in $(seq 1 $NODES); do
		if ip -n "$LAB_PREFIX-n$i" link show eth0 2>/dev/null | grep -qi "$1"; then
			node_name $i; return
		fi
	done
	echo "?"
}

KC() { $RUN/kubectl "$@"; }

# The MACs (one line each, distinct) that answer ARP for $1 on the client.
arp_macs() {
	ip netns exec "$LAB_PREFIX-rtr" arping -c 3 -W 0.2 -i br0 "$1" 2>/dev/null |
		grep -oiE 'from ([0-9a-f]{2}:){5}[0-9a-f]{2}' | cut -d' ' -f2 | tr A-F a-f | sort -u
}

k8s_status() {
	local svc ip mac macs
	echo "== kubectl get svc -A"
	KC get svc -A
	echo; echo "== kubectl describe svc -n protopod protopod"
	KC describe svc -n protopod protopod
	echo; echo "== kubectl -n bgplb-system get lease bgplb-leader (HOLDER allocates)"
	KC -n bgplb-system get lease bgplb-leader
	echo; echo "== client (router namespace): who answers ARP for each EXTERNAL-IP"
	KC get svc -A -o json | jq -r '.items[] | select(.spec.type == "LoadBalancer") |
		"\(.metadata.namespace)/\(.metadata.name) \(.status.loadBalancer.ingress[0].ip // "")"' |
	while read -r svc ip; do
		[ -n "$ip" ] || { echo "   $svc: no EXTERNAL-IP (kubectl describe svc says why)"; continue; }
		macs=$(arp_macs "$ip")
		[ -n "$macs" ] || { echo "   $ip ($svc): no answer"; continue; }
		for mac in $macs; do
			echo "   $ip ($svc) is at $mac ($(node_of_mac "$mac"))"
		done
		[ "$(echo "$macs" | wc -l)" = 1 ] || echo "   WARNING: more than one node answers for $ip"
	done
}

l2_status() {
	local ip mac
	echo "== membership (node 1)"
	ip netns exec "$LAB_PREFIX-n1" curl -s 127.0.0.1:7473/v1/status |
		jq -r '.membership.members[]? | "   \(.name): \(.state)"'
	echo; echo "== node 1: bgplbctl services"
	ip netns exec "$LAB_PREFIX-n1" "$BGPLB_TOP/build/src/ctl/bgplbctl" services
	echo; echo "== client (router namespace): who answers ARP for each service address"
	for ip in $(ip netns exec "$LAB_PREFIX-n1" curl -s 127.0.0.1:7473/v1/services |
		jq -r '.[].addresses[]'); do
		mac=$(ip netns exec "$LAB_PREFIX-rtr" arping -c 1 -w 2 -I br0 "$ip" 2>/dev/null |
			grep -oiE '([0-9a-f]{2}:){5}[0-9a-f]{2}' | head -1)
		echo "   $ip is at ${mac:-(no answer)} ($(node_of_mac "$mac"))"
	done
}

lab_status() {
	[ -f $RUN/lab.env ] || { echo "no lab is running (sudo $0)"; exit 1; }
	. $RUN/lab.env
	if [ "${LAB_MODE:-bgp}" = layer2 ]; then
		l2_status
		return
	fi
	if [ "${LAB_MODE:-bgp}" = k8s-layer2 ]; then
		k8s_status
		return
	fi
	echo "== router: show bgp summary"
	VT -c "show bgp summary"
	echo; echo "== router: show bgp ipv4 unicast"
	VT -c "show bgp ipv4 unicast"
	echo; echo "== router: show bgp ipv6 unicast"
	VT -c "show bgp ipv6 unicast"
	echo; echo "== router: the seed's service, one path per node (ECMP)"
	VT -c "show bgp ipv4 unicast 172.16.13.254/32"
	echo; echo "== node 1: bgplbctl peers"
	ip netns exec "$LAB_PREFIX-n1" "$BGPLB_TOP/build/src/ctl/bgplbctl" peers
	echo; echo "== node 1: bgplbctl services"
	ip netns exec "$LAB_PREFIX-n1" "$BGPLB_TOP/build/src/ctl/bgplbctl" services
}

MODE=bgp
case "${1:-up}" in
down) lab_down; exit 0 ;;
status) lab_status; exit 0 ;;
up)
	case "${2:-bgp}" in
	bgp) ;;
	layer2) MODE=layer2; LAB_CONF=$BGPLB_TOP/tests/lab/bgplb-lab-l2.yaml ;;
	k8s-layer2) MODE=k8s-layer2; LAB_CONF=$BGPLB_TOP/tests/lab/k8s-layer2/bgplbd.yaml ;;
	*) echo "usage: $0 up [bgp|layer2|k8s-layer2]" >&2; exit 2 ;;
	esac ;;
*) echo "usage: $0 [up [bgp|layer2|k8s-layer2]|down|status]" >&2; exit 2 ;;
esac

if [ -f $RUN/lab.env ]; then
	echo "a lab is already running: sudo $0 status, or sudo $0 down first" >&2
	exit 1
fi

install_pkgs $BGPLB_BUILD_PKGS $BGPLB_LAB_PKGS arping openssl
if [ $MODE = k8s-layer2 ]; then
	install_pkgs python3
	install_kubectl
	command -v kubectl >/dev/null || { echo "lab.sh: k8s-layer2 needs kubectl" >&2; exit 1; }
fi
echo "== building"
build_bgplb "$BGPLB_TOP/build"
BGPLBD=$BGPLB_TOP/build/src/bgplbd
if [ "${LAB_IMAGE:-0}" = 1 ]; then
	install_pkgs $BGPLB_BUILD_PKGS dpkg-dev debhelper fakeroot mmdebstrap umoci runc
	echo "== the container image (deploy/build-image.sh), for node 1"
	IMAGE_DIR=$RUN/image
	mkdir -p $IMAGE_DIR
	"$BGPLB_TOP/deploy/build-image.sh" --out "$IMAGE_DIR" --tag lab >"$IMAGE_DIR/build.log" 2>&1 ||
		{ tail -20 "$IMAGE_DIR/build.log" >&2; rm -rf $RUN; exit 1; }
fi

# run_image_node I NS: node I's bgplbd from the image, with runc, in the
# node's network namespace, as the DaemonSet runs it (deploy/bgplb.yaml).
run_image_node() {
	local i=$1 ns=$2 b=$RUN/node$1/bundle id=$P-n$1
	umoci unpack --image "$IMAGE_DIR/bgplb:lab" "$b" >/dev/null
	jq --arg ns "/var/run/netns/$ns" --arg etc "$RUN/node$i" --arg node "node-$i" '
		.process.terminal = false |
		.process.args = ["/usr/sbin/bgplbd", "--config", "/etc/bgplb/bgplb.yaml",
			"--node", $node, "--status-listen", "127.0.0.1:7473"] |
		.process.capabilities = ({} | .bounding = ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"] |
			.effective = .bounding | .permitted = .bounding) |
		.process.noNewPrivileges = true |
		.root.readonly = true |
		.linux.namespaces |= map(if .type == "network" then .path = $ns else . end) |
		.mounts += [{destination: "/etc/bgplb", type: "bind", source: $etc,
			options: ["rbind", "rw"]}]' "$b/config.json" >"$b/config.json.new"
	mv "$b/config.json.new" "$b/config.json"
	sed -i "s/^LAB_CONTAINERS=.*/LAB_CONTAINERS=\"$id\"/" $RUN/lab.env
	runc run --bundle "$b" "$id" >$RUN/node$i/bgplbd.log 2>&1 </dev/null &
}

P=bgplab$$
R=$P-rtr
LAB_PREFIX=$P   # what lab.env gives status and down
NAMESPACES=$R
mkdir -p $RUN
cat >$RUN/lab.env <<EOF
LAB_PREFIX=$P
LAB_MODE=$MODE
LAB_NAMESPACES="$R"
LAB_CONTAINERS=
EOF
up_ok=0
on_exit() {
	[ $up_ok = 1 ] && return
	echo "lab.sh: bringing the lab up failed; removing it" >&2
	lab_down >&2
}
trap on_exit EXIT

echo "== namespaces: router $R, nodes $P-n1..$P-n$NODES"
ip netns add $R
ip netns exec $R sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip -n $R link set lo up
ip -n $R link add br0 type bridge
ip -n $R addr add 10.0.0.1/24 dev br0
ip -n $R addr add fd00::1/64 dev br0 nodad
ip -n $R link set br0 up
for i in $(seq 1 $NODES); do
	N=$P-n$i
	NAMESPACES="$NAMESPACES $N"
	sed -i "s/^LAB_NAMESPACES=.*/LAB_NAMESPACES=\"$NAMESPACES\"/" $RUN/lab.env
	ip netns add $N
	ip netns exec $N sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip -n $N link set lo up
	ip link add "bl$$r$i" type veth peer name "bl$$n$i"
	ip link set "bl$$r$i" netns $R
	ip link set "bl$$n$i" netns $N
	ip -n $R link set "bl$$r$i" master br0 up
	ip -n $N link set "bl$$n$i" name eth0
	ip -n $N addr add 10.0.0.1$i/24 dev eth0
	ip -n $N addr add fd00::1$i/64 dev eth0 nodad
	ip -n $N link set eth0 up
done

if [ $MODE = layer2 ]; then
	# The shared membership key, as a Kubernetes Secret would mount it.
	openssl rand -hex 32 >$RUN/membership.key
	chmod 600 $RUN/membership.key
fi

if [ $MODE = k8s-layer2 ]; then
	K8S=$BGPLB_TOP/tests/lab/k8s-layer2
	# The Secret of deploy/membership-secret.sh: 32 random bytes.
	(umask 077; head -c 32 /dev/urandom >$RUN/membership.key)
	echo "== router namespace: the fake API server on https://10.0.0.1:6443"
	ip netns exec $R python3 "$BGPLB_TOP/tests/k8s/fakeapi.py" --host 10.0.0.1 --port 6443 \
		--tls --token "lab-$(openssl rand -hex 8)" --certdir $RUN/certs \
		--kubeconfig $RUN/kubeconfig >$RUN/fakeapi.log 2>&1 &
	printf '#!/bin/sh\n# kubectl for the lab: its API server serves inside the lab'"'"'s router namespace.\nexec ip netns exec %s kubectl --kubeconfig %s/kubeconfig --cache-dir %s/kcache "$@"\n' \
		"$R" "$RUN" "$RUN" >$RUN/kubectl
	chmod 755 $RUN/kubectl
	ok=0
	for _ in $(seq 100); do
		[ -f $RUN/kubeconfig ] && KC get ns >/dev/null 2>&1 && { ok=1; break; }
		sleep 0.1
	done
	[ $ok = 1 ] || { echo "the fake API server did not start: $RUN/fakeapi.log" >&2; exit 1; }
	# kubectl before 1.27 validates on the client, which needs OpenAPI v2.
	minor=$(kubectl version --client -o json 2>/dev/null | jq -r '.clientVersion.minor' | tr -dc 0-9)
	VALIDATE=
	[ "${minor:-99}" -lt 27 ] && VALIDATE=--validate=false
	echo "== kubectl: the walk-through's ConfigMap and Service (unchanged), the Nodes, protopod's endpoints"
	KC create namespace metallb-system
	KC create namespace bgplb-system
	KC create namespace protopod
	KC apply $VALIDATE -f $K8S/metallb-configMap.yml
	KC apply $VALIDATE -f $K8S/nodes.yaml
	KC apply $VALIDATE -f $K8S/protopod-service.yml
	KC apply $VALIDATE -f $K8S/protopod-endpointslice.yaml
fi

if [ $MODE = bgp ]; then
echo "== router: FRR (AS 64500) with $FRR_CONF"
mkdir -p $RUN/frr
cp "$FRR_CONF" $RUN/frr/bgpd.conf
: >$RUN/frr/zebra.conf
chown -R frr:frr $RUN/frr
ip netns exec $R /usr/lib/frr/zebra -d -f $RUN/frr/zebra.conf -i $RUN/frr/zebra.pid \
	-z $RUN/frr/zserv.api --vty_socket $RUN/frr -A 127.0.0.1 -P 0 >$RUN/frr/zebra.log 2>&1
for _ in $(seq 50); do [ -S $RUN/frr/zserv.api ] && break; sleep 0.1; done
ip netns exec $R /usr/lib/frr/bgpd -d -n -f $RUN/frr/bgpd.conf -i $RUN/frr/bgpd.pid \
	-z $RUN/frr/zserv.api --vty_socket $RUN/frr -A 127.0.0.1 -P 0 >$RUN/frr/bgpd.log 2>&1
for _ in $(seq 50); do [ -S $RUN/frr/bgpd.vty ] && break; sleep 0.1; done
[ -S $RUN/frr/bgpd.vty ] || { echo "FRR bgpd did not start: $RUN/frr/bgpd.log" >&2; exit 1; }
fi

echo "== nodes: bgplbd with $LAB_CONF"
for i in $(seq 1 $NODES); do
	N=$P-n$i
	mkdir -p $RUN/node$i
	cp "$LAB_CONF" $RUN/node$i/bgplb.yaml
	if [ $i = 1 ] && [ "${LAB_IMAGE:-0}" = 1 ]; then
		run_image_node $i $N
		echo "   node-$i: $N, 10.0.0.1$i, the container image under runc ($P-n$i), log $RUN/node$i/bgplbd.log"
		continue
	fi
	ip netns exec $N "$BGPLBD" --config $RUN/node$i/bgplb.yaml --node "$(node_name $i)" \
		--status-listen 127.0.0.1:7473 >$RUN/node$i/bgplbd.log 2>&1 &
	echo "   $(node_name $i): $N, 10.0.0.1$i, log $RUN/node$i/bgplbd.log"
done

if [ $MODE = k8s-layer2 ]; then
	echo "== waiting for the nodes to see each other alive, protopod's address and its ARP owner"
	ok=0
	for _ in $(seq 200); do
		n=$(ip netns exec $P-n1 curl -s 127.0.0.1:7473/v1/status 2>/dev/null |
			jq '[.membership.members[]? | select(.state == "alive" or .state == "self")] | length' 2>/dev/null)
		ip=$(KC get svc -n protopod protopod -o jsonpath='{.status.loadBalancer.ingress[0].ip}' 2>/dev/null)
		if [ "${n:-0}" -ge "$NODES" ] && [ "$ip" = 172.16.13.254 ] &&
			[ "$(arp_macs 172.16.13.254 | wc -l)" = 1 ] &&
			KC describe svc -n protopod protopod 2>/dev/null | grep -q nodeAssigned; then
			ok=1; break
		fi
		sleep 0.1
	done
	[ $ok = 1 ] || { echo "protopod did not get 172.16.13.254 with one node answering; see $RUN/node*/bgplbd.log" >&2; exit 1; }
	up_ok=1
	trap - EXIT
	k8s_status
	cat <<EOF

== the lab is running (the MetalLB walk-through in Kubernetes mode, layer 2)
Look around (as root):
  $RUN/kubectl get svc -A                            # kubectl against the lab's API server
  $RUN/kubectl describe svc -n protopod protopod     # IPAllocated, nodeAssigned
  $RUN/kubectl get events -A
  ip netns exec $R arping -i br0 172.16.13.254      # who answers, from the client
  ip netns exec $P-n1 $BGPLB_TOP/build/src/ctl/bgplbctl status|services
  fail over: kill the bgplbd of the node that answers (ip netns pids $P-nN for kube-worker0N),
    then arping again: another node answers within a second
  the walk-through's typo: $RUN/kubectl apply -f $K8S/metallb-configMap-typo.yml
    then $RUN/kubectl describe configmap -n metallb-system config   # ConfigStale data.config:8:13
    (nothing is withdrawn; apply $K8S/metallb-configMap.yml to put it back)
  logs: $RUN/node*/bgplbd.log, $RUN/fakeapi.log
  sudo $0 status                                     # this summary again
Tear down:
  sudo $0 down
EOF
	exit 0
fi

if [ $MODE = layer2 ]; then
	echo "== waiting for the nodes to see each other alive"
	ok=0
	for _ in $(seq 100); do
		n=$(ip netns exec $P-n1 curl -s 127.0.0.1:7473/v1/status 2>/dev/null |
			jq '[.membership.members[]? | select(.state == "alive" or .state == "self")] | length' 2>/dev/null)
		if [ "${n:-0}" -ge "$NODES" ]; then ok=1; break; fi
		sleep 0.1
	done
	[ $ok = 1 ] || { echo "the nodes did not all come alive; see $RUN/node*/bgplbd.log" >&2; exit 1; }
	sleep 1   # the start-up grace (dead-after) and the first gratuitous ARPs
	up_ok=1
	trap - EXIT
	lab_status
	cat <<EOF

== the lab is running (layer 2)
Look around:
  ip netns exec $R arping -I br0 172.16.13.254      # who answers for the walk-through's service
  ip netns exec $P-n1 $BGPLB_TOP/build/src/ctl/bgplbctl services|status
  ip netns exec $P-n1 curl -s 127.0.0.1:7473/v1/status | jq .membership
  fail over: kill the bgplbd of the node that answers (ip netns pids $P-nN),
    then arping again: another node answers within a second
  logs: $RUN/node*/bgplbd.log
  sudo $0 status                                     # this summary again
Tear down:
  sudo $0 down
EOF
	exit 0
fi

echo "== waiting for the router to hold every node's routes"
ok=0
for _ in $(seq 150); do
	n=$(VT -c "show bgp ipv4 unicast 172.16.13.254/32 json" 2>/dev/null |
		jq '[.paths[]? ] | length' 2>/dev/null || echo 0)
	if [ "${n:-0}" -ge "$NODES" ]; then ok=1; break; fi
	sleep 0.2
done
[ $ok = 1 ] || { echo "the router did not get 172.16.13.254/32 from all $NODES nodes; see $RUN/*/bgplbd.log" >&2; VT -c "show bgp summary" >&2; exit 1; }
sleep 1   # let the last UPDATEs of every node land before printing
up_ok=1
trap - EXIT

lab_status
cat <<EOF

== the lab is running
Look around:
  vtysh --vty_socket $RUN/frr                       # the router's CLI (show bgp ..., show bgp neighbors)
  ip netns exec $P-n1 $BGPLB_TOP/build/src/ctl/bgplbctl peers|services|pools|status
  ip netns exec $P-n1 curl -s 127.0.0.1:7473/metrics
  logs: $RUN/node*/bgplbd.log, $RUN/frr/bgpd.log
  edit $RUN/node1/bgplb.yaml (add or remove a service): node-1 reloads it at once
  sudo $0 status                                     # this summary again
Tear down:
  sudo $0 down
EOF
