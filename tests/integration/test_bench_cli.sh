#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# `weir bench`: the table of benchmarks answers, and `weir bench decode` runs
# every case on its datagrams (the decoders give every record they hold)
# with a tiny amount of work. No timing is checked here: figures are for
# `make bench`. Prints TAP.
set -u
top=${WEIR_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
weir=${WEIR_BUILD:-$top/build}/weir
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; shift; printf '%s\n' "$@" | sed 's/^/# /'; }

if [ ! -x "$weir" ]; then
	echo "not ok 1 - $weir is not built"
	exit 1
fi

out=$("$weir" bench --help 2>&1); rc=$?
if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q '^  decode '; then ok "bench --help lists decode"
else not_ok "bench --help lists decode" "rc=$rc" "$out"; fi

"$weir" bench no-such-bench >/dev/null 2>&1; rc=$?
if [ $rc -eq 2 ]; then ok "an unknown benchmark is a usage error"; else not_ok "an unknown benchmark is a usage error" "rc=$rc"; fi

"$weir" bench decode --repeat 0 >/dev/null 2>&1; rc=$?
if [ $rc -eq 2 ]; then ok "bench decode --repeat 0 is a usage error"; else not_ok "bench decode --repeat 0 is a usage error" "rc=$rc"; fi

# A decoder that drops records or fails on a case's datagrams makes the case
# print "not measured" and the command exit 1.
out=$("$weir" bench decode --records 2000 --repeat 1 2>&1); rc=$?
cases=(netflow-v9 ipfix sflow netflow-v9-demo ipfix-demo sflow-demo)
for c in "${cases[@]}"; do
	line=$(printf '%s\n' "$out" | grep -E "^decode $c +[0-9]")
	if printf '%s' "$line" | grep -qE "M (records|samples)/s/core +\([0-9]+-byte datagrams, [0-9]+ (records|samples) each"; then
		ok "bench decode $c: measured"
	else
		not_ok "bench decode $c: measured" "$(printf '%s\n' "$out" | grep -E "^decode $c ")"
	fi
done
if [ $rc -eq 0 ]; then ok "bench decode exits 0"; else not_ok "bench decode exits 0" "rc=$rc" "$out"; fi
# The v9 case holds 20-30 records a datagram, as the issue asks.
recs=$(printf '%s\n' "$out" | sed -n 's/^decode netflow-v9 .*-byte datagrams, \([0-9]*\) records each.*/\1/p')
if [ -n "$recs" ] && [ "$recs" -ge 20 ] && [ "$recs" -le 30 ]; then ok "bench decode netflow-v9: 20-30 records a datagram ($recs)"
else not_ok "bench decode netflow-v9: 20-30 records a datagram" "got '$recs'"; fi

out=$("$weir" bench decode --records 2000 --repeat 1 sflow 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$(printf '%s\n' "$out" | grep -c '^decode ')" -eq 1 ]; then ok "bench decode CASE runs only that case"
else not_ok "bench decode CASE runs only that case" "$out"; fi
echo "1..$n"
