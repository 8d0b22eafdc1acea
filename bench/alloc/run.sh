#!/bin/sh
# Build bench_alloc (meson + ninja) and run it.  Usage: bench/alloc/run.sh [N]
# BUILD_DIR overrides the build directory (default: build/ at the top).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$top"
fi
ninja -C "$build" bench/alloc/bench_alloc
exec "$build/bench/alloc/bench_alloc" "$@"
