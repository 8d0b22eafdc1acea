#!/bin/sh
# deploy/build-image.sh - the bgplbd container image for deploy/bgplb.yaml,
# built from Debian packages with no container runtime and no registry:
#
#   1. the Debian package of this tree (dpkg-buildpackage -b on a copy of
#      it), unless --deb names one;
#   2. mmdebstrap --variant=extract: a bookworm root filesystem holding only
#      the package's run-time libraries (the Depends of the .deb, from the
#      Debian mirror apt is configured with) and no maintainer scripts run,
#      then the package's files (dpkg-deb -x) less what a container has no
#      use for (systemd unit, sysusers, man pages, docs, completion, the
#      dpkg and apt databases);
#   3. umoci: that tree as the one layer of an OCI image layout (a
#      directory), with the DaemonSet's entry point and user: /usr/sbin/bgplbd
#      as root (the DaemonSet grants NET_BIND_SERVICE and NET_RAW and bgplbd
#      drops every other capability itself; doc/operations.md).
#
#   deploy/build-image.sh [--deb FILE] [--out DIR] [--tag TAG]
#
# The result is DIR/bgplb (default DIR: build-image/ in the tree), an OCI
# image layout with the tag TAG (default: the version, 0.1.0).  Load it where
# a runtime or registry is:
#   skopeo copy oci:build-image/bgplb:0.1.0 docker://ghcr.io/bgplb/bgplb:0.1.0
#   podman pull oci:build-image/bgplb:0.1.0
# tests/packaging/test_image.py runs this and the image's bgplbd.
# Needs root (mmdebstrap's root mode, and umoci keeping file ownership),
# mmdebstrap, umoci, dpkg-dev and debhelper.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
deb= out=$top/build-image tag=
while [ $# -gt 0 ]; do
	case $1 in
	--deb) deb=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--tag) tag=$2; shift 2 ;;
	*) echo "usage: $0 [--deb FILE] [--out DIR] [--tag TAG]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "$0: run as root" >&2; exit 1; }
for t in mmdebstrap umoci dpkg-deb; do
	command -v $t >/dev/null || { echo "$0: $t not found (apt-get install $t)" >&2; exit 1; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/bgplb-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1. The package.
if [ -z "$deb" ]; then
	echo "== dpkg-buildpackage -b (a copy of the tree in $work/src)"
	mkdir -p "$work/src"
	(cd "$top" && git ls-files -co --exclude-standard -z |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -cf - -T -) | tar -xf - -C "$work/src"
	(cd "$work/src" && DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=2} \
		dpkg-buildpackage -b -us -uc >"$work/dpkg-buildpackage.log" 2>&1) ||
		{ tail -40 "$work/dpkg-buildpackage.log" >&2; exit 1; }
	deb=$(ls "$work"/bgplb_*.deb)
fi
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
version=$(dpkg-deb -f "$deb" Version)
tag=${tag:-$version}

# The run-time libraries: the package's Depends without version constraints,
# without the alternative that creates the bgplb user on a host (the image
# runs as root, as the DaemonSet does, and runs no maintainer script) and
# without procps (the unit's ExecReload=/bin/kill; a Pod is reloaded by its
# ConfigMap).
libs=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/([^)]*)//g; s/ //g' |
	grep -v -e '^systemd|' -e '^procps$' -e '^$' | paste -sd, -)
echo "== mmdebstrap bookworm: $libs"

# 2. The root filesystem (mmdebstrap's root mode keeps owners; the extract
# variant runs no hook after extracting, so the rest is done here).
mmdebstrap --variant=extract --include="$libs" \
	--aptopt='Acquire::Check-Valid-Until "false"' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-exclude=/usr/share/lintian/*' \
	bookworm "$work/rootfs" >"$work/mmdebstrap.log" 2>&1 ||
	{ tail -40 "$work/mmdebstrap.log" >&2; exit 1; }
r=$work/rootfs
dpkg-deb -x "$deb" "$r"
rm -rf "$r"/lib/systemd "$r"/usr/lib/sysusers.d "$r"/usr/share/doc "$r"/usr/share/man \
	"$r"/usr/share/bash-completion "$r"/var/cache/apt "$r"/var/lib/apt "$r"/var/log/*
# No device nodes in an image: the runtime makes /dev.
find "$r"/dev -mindepth 1 -delete
mkdir -p "$r"/etc/bgplb "$r"/tmp "$r"/proc "$r"/sys "$r"/dev "$r"/run
chmod 1777 "$r"/tmp
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$r"/etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' >"$r"/etc/group

# 3. The OCI image layout: an empty image, unpacked to a runtime bundle
# whose rootfs becomes ours, repacked as one layer.
echo "== umoci: $out/bgplb:$tag"
rm -rf "$out/bgplb"
umoci init --layout "$out/bgplb"
umoci new --image "$out/bgplb:$tag"
umoci unpack --image "$out/bgplb:$tag" "$work/bundle" >/dev/null
rmdir "$work/bundle/rootfs"
mv "$r" "$work/bundle/rootfs"
umoci repack --image "$out/bgplb:$tag" \
	--history.created_by "deploy/build-image.sh (mmdebstrap bookworm + $(basename "$deb"))" \
	"$work/bundle"
umoci config --image "$out/bgplb:$tag" \
	--config.entrypoint /usr/sbin/bgplbd \
	--config.cmd --config --config.cmd /etc/bgplb/bgplbd.yaml \
	--config.user 0:0 --config.workingdir / \
	--config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	--config.exposedports 179/tcp --config.exposedports 7946/udp \
	--config.label org.opencontainers.image.title=bgplb \
	--config.label org.opencontainers.image.version="$version" \
	--config.label org.opencontainers.image.source=deploy/build-image.sh \
	--os linux --architecture "$(dpkg --print-architecture)"
umoci gc --layout "$out/bgplb"
echo "== done: $out/bgplb:$tag ($(du -sh "$out/bgplb" | cut -f1))"
