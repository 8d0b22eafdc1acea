#!/bin/sh
# tests/fuzz/run.sh DURATION_S [TARGET...]
#
# Builds the libFuzzer targets with clang (ASan + UBSan + libFuzzer) in
# $BUILD (default build-fuzz at the top of the tree), runs each target for
# DURATION_S seconds on a copy of its seed corpus with its dictionary, and
# prints per target: executions, coverage (libFuzzer's final cov:), crashes.
# Exits non-zero when any target crashed (reproducers are kept under
# $BUILD/fuzz-out/TARGET/ and named crash-*/leak-*/timeout-*/oom-*).
set -u

usage() { echo "usage: $0 DURATION_S [TARGET...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
DUR=$1; shift
case $DUR in ''|*[!0-9]*) usage ;; esac

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$TOP/build-fuzz}
TARGETS=${*:-fuzz_bgp_msg fuzz_bgp_open fuzz_bgp_update fuzz_config fuzz_k8s_objects fuzz_l2_packet fuzz_l2_member}
JOBS=${FUZZ_JOBS:-1}

if [ ! -f "$BUILD/build.ninja" ]; then
	CC=clang meson setup "$BUILD" "$TOP" -Dfuzz=true -Dtests=false \
	    -Db_sanitize=address,undefined -Db_lundef=false \
	    -Dc_args=-fsanitize=fuzzer-no-link \
	    --buildtype=debugoptimized >"$BUILD.setup.log" 2>&1 || {
		cat "$BUILD.setup.log" >&2; exit 1; }
fi
ninja -C "$BUILD" >"$BUILD/fuzz-build.log" 2>&1 || {
	cat "$BUILD/fuzz-build.log" >&2; exit 1; }

# UBSan findings are crashes too; leaks are reported by ASan (detect_leaks).
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

OUT=$BUILD/fuzz-out
status=0
printf '%-16s %12s %8s %8s %8s %s\n' target execs exec/s cov ft crashes >"$OUT.summary" 2>/dev/null ||
	{ mkdir -p "$OUT"; printf '%-16s %12s %8s %8s %8s %s\n' target execs exec/s cov ft crashes >"$OUT.summary"; }
for t in $TARGETS; do
	exe=$BUILD/tests/fuzz/$t
	[ -x "$exe" ] || { echo "$t: not built" >&2; status=1; continue; }
	work=$OUT/$t
	rm -rf "$work"; mkdir -p "$work/corpus" "$work/artifacts"
	cp "$HERE/corpus/$t/"* "$work/corpus/" 2>/dev/null
	dict=
	[ -f "$HERE/$t.dict" ] && dict=-dict=$HERE/$t.dict
	par=
	[ "$JOBS" -gt 1 ] && par="-fork=$JOBS"
	"$exe" $dict $par -max_total_time="$DUR" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 \
	    -artifact_prefix="$work/artifacts/" "$work/corpus" \
	    >"$work/log" 2>&1
	rc=$?
	# "#1234567 DONE cov: 1234 ft: 5678 corp: ..." then final stats.
	last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|REDUCE|NEW|pulse|INITED)' "$work/log" | tail -1)
	execs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$work/log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec:[[:space:]]*//p' "$work/log" | tail -1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	[ -n "$execs" ] || execs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
	crashes=$(find "$work/artifacts" -type f | wc -l)
	if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
		status=1
		echo "== $t: exit $rc, reproducers in $work/artifacts/" >&2
		grep -E -A40 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error:|deadly signal' \
		    "$work/log" | head -60 >&2
		[ "$crashes" -ne 0 ] || crashes=1
	fi
	printf '%-16s %12s %8s %8s %8s %s\n' "$t" "${execs:-?}" "${eps:-?}" \
	    "${cov:-?}" "${ft:-?}" "$crashes" >>"$OUT.summary"
done
cat "$OUT.summary"
exit $status
