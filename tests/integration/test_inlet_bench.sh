#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# `weir bench inlet` runs end to end with a small count: both receive paths
# print their figures, CPU per datagram and what bounds them, and the ratios,
# and it leaves no namespace behind. No timing is checked here: figures are
# for `make bench`. Prints TAP.
set -u
top=${WEIR_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
weir=${WEIR_BUILD:-$top/${BUILD:-build}}/weir
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; shift; printf '%s\n' "$@" | sed 's/^/# /'; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

if [ ! -x "$weir" ]; then
	echo "not ok 1 - $weir is not built"
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	skip "bench inlet" "needs root (network namespaces, XDP)"
	echo "1..$n"
	exit 0
fi

log=$(mktemp)
"$weir" bench inlet --count 20000 >"$log" 2>&1 &
pid=$!
wait $pid
rc=$?
out=$(cat "$log")
rm -f "$log"
if [ $rc -eq 0 ]; then ok "bench inlet exits 0"; else not_ok "bench inlet exits 0" "rc=$rc" "$out"; fi
for path in "recvmmsg (1 socket)" "afxdp" "afxdp busy-poll"; do
	line=$(printf '%s\n' "$out" | grep -F "inlet $path " | grep -F ' received ' | head -1)
	recv=$(printf '%s\n' "$line" | sed -n 's/.* received *\([0-9]*\)\/s.*/\1/p')
	if [ -n "$recv" ] && [ "$recv" -gt 0 ]; then ok "bench inlet $path: measured ($recv/s)"
	else not_ok "bench inlet $path: measured" "$line"; fi
	if printf '%s\n' "$out" | grep -F "inlet $path " | grep -q 'cpu per datagram .*receive thread [0-9]* ns'; then
		ok "bench inlet $path: cpu per datagram"
	else not_ok "bench inlet $path: cpu per datagram" "$out"; fi
	if printf '%s\n' "$out" | grep -qF "inlet bound $path "; then ok "bench inlet $path: says what bounds it"
	else not_ok "bench inlet $path: says what bounds it" "$out"; fi
done
if printf '%s\n' "$out" | grep -q '^inlet ratio afxdp / recvmmsg (lossless): [0-9.]*x'; then
	ok "bench inlet prints the ratio"
else
	not_ok "bench inlet prints the ratio" "$out"
fi
if printf '%s\n' "$out" | grep -q '^inlet ratio afxdp / recvmmsg (receive cpu per datagram): [0-9.]*x'; then
	ok "bench inlet prints the ratio of receive CPU per datagram"
else
	not_ok "bench inlet prints the ratio of receive CPU per datagram" "$out"
fi
"$weir" bench inlet --count 10 >/dev/null 2>&1; rc=$?
if [ $rc -eq 2 ]; then ok "bench inlet --count 10 is a usage error"; else not_ok "bench inlet --count 10 is a usage error" "rc=$rc"; fi
# The names carry the pid (mod 100000): weir-bn-e-PID-N, weir-bn-c-PID-N.
left=$(ip netns list 2>/dev/null | grep -E "^weir-bn-[ec]-$((pid % 100000))-" || true)
if [ -z "$left" ]; then ok "no namespace left behind"
else not_ok "no namespace left behind" "$left"; fi
echo "1..$n"
