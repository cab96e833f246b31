#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Runs one libFuzzer target for a bounded time and reports it as one TAP test.
# Seeds: tests/fuzz/corpus/<target>/ (the project's own) plus the UDP payloads
# of ../shared/testdata captures, when there, extracted by `weir decode --payloads`.
# Usage: run-one.sh BUILD/fuzz/TARGET SECONDS
set -u
secs=$2
name=$(basename "$1")
top=$(cd "$(dirname "$0")/../.." && pwd)
# Absolute, since the fuzzer runs from a temporary directory.
bin=$(cd "$(dirname "$1")" 2>/dev/null && pwd)/$name
if [ ! -x "$bin" ]; then
	echo "not ok 1 - $name: $1 is not built"
	exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
[ -d "$top/tests/fuzz/corpus/$name" ] && cp "$top/tests/fuzz/corpus/$name"/* "$work/corpus/" 2>/dev/null
weir=${WEIR_BUILD:-$top/build}/weir
if [ -n "${WEIR_SHARED_TESTDATA:-}" ] && [ -x "$weir" ]; then
	"$weir" decode --payloads "$work/corpus" "$WEIR_SHARED_TESTDATA"/flows/*.pcap >/dev/null 2>&1
fi
cd "$work"
if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 corpus >fuzz.log 2>&1; then
	echo "ok 1 - $name fuzzed for ${secs}s ($(grep -o 'stat::number_of_executed_units: *[0-9]*' fuzz.log | grep -o '[0-9]*$') runs)"
else
	tail -n 60 fuzz.log | sed 's/^/# /'
	mkdir -p "${WEIR_BUILD:-$top/build}/fuzz-crashes"
	cp crash-* leak-* timeout-* oom-* fuzz-history-* "${WEIR_BUILD:-$top/build}/fuzz-crashes/" 2>/dev/null
	echo "not ok 1 - $name: the fuzzer found a failing input (kept in build/fuzz-crashes)"
fi
