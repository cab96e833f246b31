#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Runs every test program and script, reads their TAP lines, and ends with
# the one summary line of `make check`: "N passed, N failed[, N skipped]".
# Usage: tests/run.sh [SUITE...]   suites: unit integration fuzz browser (default: all)
# Env: FUZZ_SECONDS (default 30), TEST_TIMEOUT per program (default 900 s).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${BUILD:-build}
logs=$build/test-logs
mkdir -p "$logs"
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(unit integration fuzz browser)

if [ -d "$top/../shared/testdata" ]; then
	export WEIR_SHARED_TESTDATA=$(cd "$top/../shared/testdata" && pwd)
else
	unset WEIR_SHARED_TESTDATA
fi
export WEIR_TOP=$top WEIR_BUILD=$top/$build
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0 failed=0 skipped=0
failures=()

# run_tap NAME COMMAND...: runs one program, counts its TAP lines.
run_tap() {
	local name=$1; shift
	local log=$logs/$(echo "$name" | tr '/ ' '__').log
	local start=$SECONDS rc p=0 f=0 s=0
	timeout --kill-after=10 "${TEST_TIMEOUT:-900}" "$@" >"$log" 2>&1
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		"not ok"*) f=$((f + 1)); failures+=("$name: ${line#not ok }") ;;
		"ok "*"# SKIP"*) s=$((s + 1)) ;;
		"ok "*) p=$((p + 1)) ;;
		esac
	done <"$log"
	if [ $rc -ne 0 ] && [ $f -eq 0 ]; then
		f=1
		failures+=("$name: exited with status $rc$([ $rc -eq 124 ] && echo ' (timed out)')")
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	printf '%-48s %3d passed %3d failed %3d skipped  %3ds\n' "$name" $p $f $s $((SECONDS - start))
	if [ $f -ne 0 ]; then
		echo "---- $log (last 40 lines)"
		tail -n 40 "$log"
		echo "----"
	fi
}

for suite in "${suites[@]}"; do
	case "$suite" in
	unit)
		for t in $(find "$build/tests/unit" -type f -perm -u+x 2>/dev/null | sort); do
			run_tap "unit/${t#$build/tests/unit/}" "$t"
		done ;;
	integration)
		for t in $(find "$build/tests/integration" -type f -perm -u+x 2>/dev/null | sort) \
			$(find tests/integration -name '*.sh' -type f 2>/dev/null | sort); do
			case "$t" in
			*.sh) run_tap "integration/$(basename "$t" .sh)" bash "$t" ;;
			*) run_tap "integration/$(basename "$t")" "$t" ;;
			esac
			# the store's and the console's tests again on the embedded engine (skipped
			# without libchdb.so: `make deps`)
			case "$(basename "$t")" in
			test_store | test_orch_lock)
				run_tap "integration/$(basename "$t"):embedded" \
					env WEIR_TEST_STORE=embedded "$t" ;;
			test_console.sh)
				run_tap "integration/$(basename "$t" .sh):embedded" \
					env WEIR_TEST_STORE=embedded bash "$t" ;;
			esac
		done ;;
	fuzz)
		for t in $(find "$build/fuzz" -maxdepth 1 -type f -perm -u+x 2>/dev/null | sort); do
			run_tap "fuzz/$(basename "$t")" tests/fuzz/run-one.sh "$t" "${FUZZ_SECONDS:-30}"
		done ;;
	browser)
		for t in $(find tests/browser -name '*.test.mjs' -type f 2>/dev/null | sort); do
			run_tap "browser/$(basename "$t" .test.mjs)" node "$t"
		done ;;
	*) echo "tests/run.sh: unknown suite $suite" >&2; exit 2 ;;
	esac
done

if [ ${#failures[@]} -gt 0 ]; then
	echo
	echo "failures:"
	printf '  %s\n' "${failures[@]}"
fi
echo
summary="$passed passed, $failed failed"
[ $skipped -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ $failed -eq 0 ]
