# tests/lib/common.sh - shared by the README's two commands (tests/run.sh and
# tests/lab/lab.sh): install what is missing from Debian, then build.
# Source it; it defines functions only.

BGPLB_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Packages to build and test bgplb on Debian bookworm.
BGPLB_BUILD_PKGS="gcc libc6-dev pkg-config meson ninja-build libevent-dev libyaml-dev
 libjson-c-dev libcurl4-openssl-dev libssl-dev check libsystemd-dev scdoc"
BGPLB_TEST_PKGS="python3 python3-pytest python3-yaml iproute2 curl jq procps openssl frr frr-pythontools bird2 gobgpd arping ndisc6 tcpdump valgrind
 dpkg-dev debhelper fakeroot lintian man-db systemd mmdebstrap umoci runc"
BGPLB_LAB_PKGS="iproute2 curl jq procps frr openssl"

# install_pkgs PKG...: apt-get install the ones not installed yet.
install_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages: ${missing[*]} (run as root to install them)" >&2
		return 1
	fi
	echo "== installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Routing daemons must not start in the root namespace on install (they
	# would speak on the machine's real links): forbid service starts for
	# the duration, unless the machine already has a policy.
	local policy=/usr/sbin/policy-rc.d ours=0 rc=0
	if [ ! -e $policy ]; then
		printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy && ours=1
	fi
	apt-get update -qq >/dev/null || { echo "apt-get update failed" >&2; rc=1; }
	[ $rc = 0 ] && { apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		{ echo "apt-get install ${missing[*]} failed" >&2; rc=1; }; }
	[ $ours = 1 ] && rm -f $policy
	return $rc
}

# install_kubectl: tests/k8s checks its fake API server with the real kubectl.
# Use the one on PATH; else try Debian's kubernetes-client (bookworm ships
# 1.20: the tests needing a newer kubectl skip themselves).  Never fatal: the
# kubectl tests skip, loudly, when there is none.
install_kubectl() {
	command -v kubectl >/dev/null 2>&1 && return 0
	install_pkgs kubernetes-client >/dev/null 2>&1
	command -v kubectl >/dev/null 2>&1 && return 0
	echo "WARNING: kubectl not found (Debian package kubernetes-client):" \
		"the kubectl tests in tests/k8s will be skipped" >&2
	return 0
}

# build_bgplb [BUILDDIR [meson options...]]: configure once, then ninja.
build_bgplb() {
	local dir=${1:-$BGPLB_TOP/build}
	shift || true
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$BGPLB_TOP" "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log" >&2; return 1; }
	fi
	ninja -C "$dir" >"$dir.ninja.log" 2>&1 || { tail -50 "$dir.ninja.log" >&2; return 1; }
}
