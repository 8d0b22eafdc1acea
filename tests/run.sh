#!/usr/bin/env bash
# tests/run.sh - the README's test command: installs what is missing, builds,
# and runs every test: the Check unit tests, the same unit tests under
# AddressSanitizer + UndefinedBehaviorSanitizer, and the integration tests
# (network namespaces; needs root).  Ends with one line "N passed, N failed"
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

echo "== integration tests"
if [ "$(id -u)" != 0 ]; then
	n=$(/usr/bin/python3 -m pytest --collect-only -q tests/integration 2>/dev/null | grep -c '::')
	SKIP=$((SKIP + n)); SKIP_REASONS+=("$n integration tests skipped: they need root (network namespaces)")
else
	/usr/bin/python3 -m pytest -v -p no:cacheprovider tests/integration "$@" 2>&1 | tee build/integration.log
	summary=$(tail -1 build/integration.log)
	p=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+'); p=${p:-0}
	f=0; for n in $(echo "$summary" | grep -oE '[0-9]+ (failed|error|errors)' | grep -oE '^[0-9]+'); do f=$((f + n)); done
	s=$(echo "$summary" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+'); s=${s:-0}
	if [ "$p" = 0 ] && [ "$f" = 0 ] && [ "$s" = 0 ]; then
		echo "FAIL: pytest ran no test"; f=1
	fi
	PASS=$((PASS + p)); FAIL=$((FAIL + f)); SKIP=$((SKIP + s))
	[ "$s" -gt 0 ] && SKIP_REASONS+=("$(grep -E '^SKIPPED' build/integration.log | head -20)")
	[ "$f" -gt 0 ] && FAILED+=("integration")
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
