#!/usr/bin/env bash
# bench/bgp/collision.sh - 20 large bgplbd starts against FRR connecting every second:
# how many had no session reset (the RFC 4271 6.8 connection-collision proof).
# Run as root.
#
#   sudo bench/bgp/collision.sh                          # N = 100000, 20 starts (~2-3 min)
#   sudo COLLISION_RUNS=5 COLLISION_N=10000 bench/bgp/collision.sh
#   sudo BGPLBD=/path/to/old/bgplbd bench/bgp/collision.sh
#
# run.sh (packages, the release build unless BGPLBD names a binary, namespace
# clean-up) with collision.py as the driver (see its docstring); exits 0 when every
# start was clean.  BENCH_KEEP=1 keeps /tmp/bgplb-bench-TAG/run-I/ (bgplbd and FRR
# logs, capture) per start; BENCH_FRR_DEBUG=1 turns on FRR's neighbor-events debug.
HERE=$(cd "$(dirname "$0")" && pwd)
export BENCH_TAG=${BENCH_TAG:-bc$$}
BENCH_PY=collision.py exec "$HERE/run.sh"
