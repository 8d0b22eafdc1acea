#!/usr/bin/env bash
# tests/run.sh - the README's test command: installs what is missing, builds,
# and runs every test: the Check unit tests, the same unit tests under
# AddressSanitizer + UndefinedBehaviorSanitizer, the integration tests
# (network namespaces; needs root), a fast subset of them again against the
# sanitizer build of bgplbd, the packaging tests (tests/packaging: the Debian
# package, the systemd unit, the container image), and the unit tests under valgrind.  Ends with one line "N passed, N failed"
# (", N skipped" when some were skipped, with the reasons above it).
#
#   sudo ./tests/run.sh            # everything
#   sudo ./tests/run.sh -k reload  # pass extra arguments to pytest
set -u
. "$(dirname "$0")/lib/common.sh"
cd "$BGPLB_TOP"

PASS=0; FAIL=0; SKIP=0
SKIP_REASONS=()
FAILED=()

install_pkgs $BGPLB_BUILD_PKGS $BGPLB_TEST_PKGS || { echo "0 passed, 1 failed"; exit 1; }

echo "== build"
if ! build_bgplb "$BGPLB_TOP/build"; then
	echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi

# run_unit BUILDDIR LABEL: run each Check executable and count the individual
# checks it reports ("100%: Checks: 37, Failures: 0, Errors: 0").  A binary
# that crashes before printing its summary counts as one failure.
run_unit() {
	local dir=$1 label=$2 t name out line checks fails errs rc
	echo "== unit tests ($label)"
	for t in "$dir"/tests/test_*; do
		[ -x "$t" ] && [ -f "$t" ] || continue
		name=$(basename "$t")
		out="$dir/$name.log"
		BGPLB_SRCDIR="$BGPLB_TOP" CK_DEFAULT_TIMEOUT=60 "$t" >"$out" 2>&1
		rc=$?
		line=$(grep -E 'Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$out" | tail -1)
		if [ -z "$line" ]; then
			echo "FAIL: $label/$name exited $rc with no Check summary:"
			tail -20 "$out" | sed 's/^/   /'
			FAIL=$((FAIL + 1)); FAILED+=("$label/$name")
			continue
		fi
		checks=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
		fails=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
		errs=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
		echo "   $label/$name: $line"
		if [ $((fails + errs)) -gt 0 ] || [ $rc -ne 0 ]; then
			grep -E ':[EF]:' "$out" | head -20 | sed 's/^/   /'
			FAILED+=("$label/$name")
			[ $((fails + errs)) -eq 0 ] && fails=1	# nonzero exit (e.g. leak report) with all checks passing
		fi
		PASS=$((PASS + checks - fails - errs))
		FAIL=$((FAIL + fails + errs))
	done
}

run_unit "$BGPLB_TOP/build" unit

echo "== build with -Db_sanitize=address,undefined"
if build_bgplb "$BGPLB_TOP/build-asan" -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	run_unit "$BGPLB_TOP/build-asan" asan
else
	echo "FAIL: sanitizer build"; FAIL=$((FAIL + 1)); FAILED+=("asan-build")
fi

# run_pytest LABEL LOG ARGS...: run pytest and add its counts.  Failures and
# errors (a failing fixture, e.g. a sanitizer report found in a daemon's log
# at teardown) both count as failed.
run_pytest() {
	local label=$1 log=$2 summary p f s n
	shift 2
	/usr/bin/python3 -m pytest -v -rs -p no:cacheprovider "$@" 2>&1 | tee "$log"
	summary=$(tail -1 "$log")
	p=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+'); p=${p:-0}
	f=0; for n in $(echo "$summary" | grep -oE '[0-9]+ (failed|error|errors)' | grep -oE '^[0-9]+'); do f=$((f + n)); done
	s=$(echo "$summary" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+'); s=${s:-0}
	if [ "$p" = 0 ] && [ "$f" = 0 ] && [ "$s" = 0 ]; then
		echo "FAIL: pytest ($label) ran no test"; f=1
	fi
	PASS=$((PASS + p)); FAIL=$((FAIL + f)); SKIP=$((SKIP + s))
	[ "$s" -gt 0 ] && SKIP_REASONS+=("$(grep -E '^SKIPPED' "$log" | head -20)")
	[ "$f" -gt 0 ] && FAILED+=("$label")
}

echo "== integration tests"
# tests/integration/test_k8s.py drives the fake API server with kubectl.
install_kubectl
if [ "$(id -u)" != 0 ]; then
	n=$(/usr/bin/python3 -m pytest --collect-only -q tests/integration 2>/dev/null | grep -c '::')
	SKIP=$((SKIP + n)); SKIP_REASONS+=("$n integration tests skipped: they need root (network namespaces)")
else
	run_pytest integration build/integration.log tests/integration "$@"
	# A fast subset again against the ASan+UBSan daemon: any sanitizer
	# report in a daemon's log fails the test (conftest.sanitizer_check).
	if [ -x "$BGPLB_TOP/build-asan/src/bgplbd" ]; then
		echo "== integration tests against the ASan+UBSan build (subset)"
		BGPLB_BUILD="$BGPLB_TOP/build-asan" \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=0 \
			run_pytest integration-asan build/integration-asan.log \
			tests/integration/test_daemon.py tests/integration/test_l2.py \
			tests/integration/test_security.py \
			tests/integration/test_faults.py tests/integration/test_k8s.py \
			-k "not link_flaps" "$@"
	fi
fi

# The fake Kubernetes API server, checked with the real kubectl (loopback
# only; needs no root).  No "$@": a -k meant for the integration tests
# would select nothing here.
echo "== fake Kubernetes API server tests"
install_kubectl
run_pytest k8s build/k8s.log tests/k8s

# What an operator installs (tests/packaging): the sd_notify protocol, the
# Debian package (dpkg-buildpackage -b, lintian, its contents), the unit
# (systemd-analyze verify / security, offline), and the container image
# (mmdebstrap + umoci from the package, run in its root filesystem).  The
# image step downloads Debian packages through apt; a few minutes.
echo "== packaging tests"
run_pytest packaging build/packaging.log tests/packaging

# Every libFuzzer target briefly (tests/fuzz/run.sh builds them with clang;
# doc/reliability.md has the figures of longer runs).  A crash fails.
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
if install_pkgs clang libclang-rt-14-dev >/dev/null; then
	echo "== fuzz targets, ${FUZZ_SECONDS} s each"
	for t in fuzz_bgp_msg fuzz_bgp_open fuzz_bgp_update fuzz_config fuzz_k8s_objects fuzz_l2_packet fuzz_l2_member; do
		if sh tests/fuzz/run.sh "$FUZZ_SECONDS" $t >build/$t.log 2>&1; then
			PASS=$((PASS + 1))
		else
			FAIL=$((FAIL + 1)); FAILED+=("$t")
		fi
		grep -E "^$t " build-fuzz/fuzz-out.summary 2>/dev/null | tail -1 | sed 's/^/   /' ||
			tail -5 build/$t.log
	done
else
	SKIP=$((SKIP + 7)); SKIP_REASONS+=("7 fuzz targets: clang / libclang-rt-14-dev could not be installed")
fi

# The unit tests under valgrind memcheck (meson test setup "valgrind": any
# error or definite leak fails); counted per test executable.  ~75 s.
if command -v valgrind >/dev/null; then
	echo "== unit tests under valgrind"
	meson test -C "$BGPLB_TOP/build" --setup valgrind --suite unit \
		--print-errorlogs >build/valgrind.log 2>&1
	grep -E '^ *[0-9]+/[0-9]+ ' build/valgrind.log | sed 's/^/   /'
	ok=$(grep -E '^Ok: ' build/valgrind.log | grep -oE '[0-9]+'); ok=${ok:-0}
	bad=0; for n in $(grep -E '^(Fail|Unexpected Pass|Timeout): ' build/valgrind.log | grep -oE '[0-9]+'); do bad=$((bad + n)); done
	if [ "$ok" = 0 ] && [ "$bad" = 0 ]; then
		echo "FAIL: valgrind ran no test"; tail -20 build/valgrind.log; bad=1
	fi
	PASS=$((PASS + ok)); FAIL=$((FAIL + bad))
	[ "$bad" -gt 0 ] && FAILED+=("valgrind")
else
	SKIP=$((SKIP + 1)); SKIP_REASONS+=("unit tests under valgrind: valgrind is not installed")
fi

echo
[ ${#FAILED[@]} -gt 0 ] && echo "failed: ${FAILED[*]}"
for r in "${SKIP_REASONS[@]+"${SKIP_REASONS[@]}"}"; do echo "skipped: $r"; done
if [ "$SKIP" -gt 0 ]; then
	echo "$PASS passed, $FAIL failed, $SKIP skipped"
else
	echo "$PASS passed, $FAIL failed"
fi
[ "$FAIL" -eq 0 ]
