#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# `weir decode` end to end: the real binary on the shared captures (values from
# ../shared/testdata/README.md), the table mode, --payloads and the failures an
# operator meets (missing file, not a capture). Prints TAP.
set -u
top=${WEIR_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
weir=${WEIR_BUILD:-$top/build}/weir
flows=${WEIR_SHARED_TESTDATA:+$WEIR_SHARED_TESTDATA/flows}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; shift; printf '%s\n' "$@" | sed 's/^/# /'; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# is NAME GOT WANT
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  '$2'" "want: '$3'"; fi
}
# like NAME TEXT PATTERN (grep -E)
like() {
	if printf '%s\n' "$2" | grep -qE -- "$3"; then ok "$1"; else not_ok "$1" "'$2' !~ /$3/"; fi
}
# field KEY < JSON line: the value of KEY (number, "string" without quotes, [array])
field() {
	sed -n 's/.*[{,]"'"$1"'":\(\[[^]]*\]\|"[^"]*"\|[0-9]*\)[,}].*/\1/p' | tr -d '"'
}
# nth N < lines: line N
nth() { sed -n "$1p"; }

if [ ! -x "$weir" ]; then
	echo "not ok 1 - $weir is not built"
	exit 1
fi

# ---- without captures ----
out=$("$weir" decode --help 2>&1); rc=$?
if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q -- '--json' && printf '%s' "$out" | grep -q -- '--payloads'; then
	ok "--help exits 0 and describes the options"
else
	not_ok "--help exits 0 and describes the options" "rc=$rc" "$out"
fi

"$weir" decode >/dev/null 2>"$work/err"; rc=$?
is "no file is a usage error (exit 2)" "$rc" 2

"$weir" decode --time bogus x.pcap >/dev/null 2>"$work/err"; rc=$?
if [ $rc -eq 2 ] && grep -q "bogus" "$work/err"; then ok "--time with a bad value: exit 2, names the value"
else not_ok "--time with a bad value: exit 2, names the value" "rc=$rc" "$(cat "$work/err")"; fi

"$weir" decode --exporter not-an-address x.pcap >/dev/null 2>"$work/err"; rc=$?
is "--exporter with a bad address: exit 2" "$rc" 2

"$weir" decode --json "$work/missing.pcap" >"$work/out" 2>"$work/err"; rc=$?
if [ $rc -eq 1 ] && grep -q "missing.pcap" "$work/err" && [ ! -s "$work/out" ]; then
	ok "a missing file: exit 1, a message naming it, no output"
else
	not_ok "a missing file: exit 1, a message naming it, no output" "rc=$rc" "$(cat "$work/err")"
fi

printf 'this is not a capture\n%.0s' {1..50} >"$work/notpcap.pcap"
"$weir" decode --json "$work/notpcap.pcap" >"$work/out" 2>"$work/err"; rc=$?
if [ $rc -eq 1 ] && grep -q "notpcap.pcap" "$work/err" && grep -qi "not a pcap" "$work/err"; then
	ok "a file that is not a capture fails cleanly (exit 1, message)"
else
	not_ok "a file that is not a capture fails cleanly (exit 1, message)" "rc=$rc" "$(cat "$work/err")"
fi

# A little-endian pcap, link type 101 (raw IP), one IPv4/UDP packet from
# 192.0.2.1:2055 whose payload starts with version 7 (no flow protocol).
{
	printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\0\0\0\0\0\0\0\0\xff\xff\0\0\x65\0\0\0'
	printf '\x00\x5e\x4a\x64\0\0\0\0\x24\0\0\0\x24\0\0\0'
	printf '\x45\0\0\x24\0\x01\0\0\x40\x11\0\0\xc0\0\x02\x01\xc0\0\x02\x02'
	printf '\x08\x07\x08\x07\0\x10\0\0'
	printf '\0\x07\0\x01\0\0\0\0'
} >"$work/v7.pcap"
"$weir" decode --json "$work/v7.pcap" >"$work/out" 2>"$work/err"; rc=$?
if [ $rc -eq 0 ] && [ ! -s "$work/out" ] && grep -q 'bad_version=1' "$work/err" &&
	grep -q 'datagram 1 (frame 1) from 192.0.2.1:2055' "$work/err"; then
	ok "a datagram of no flow protocol: described and counted (bad_version), exit 0"
else
	not_ok "a datagram of no flow protocol: described and counted (bad_version), exit 0" "rc=$rc" "$(cat "$work/err")"
fi

# A pcap truncated in the middle of a packet: still a clean failure or a
# clean read, never a crash.
if [ -n "$flows" ] && [ -f "$flows/netflow-v5-29records.pcap" ]; then
	head -c 700 "$flows/netflow-v5-29records.pcap" >"$work/truncated.pcap"
	"$weir" decode --json "$work/truncated.pcap" >/dev/null 2>"$work/err"; rc=$?
	if [ $rc -le 1 ]; then ok "a capture cut short does not crash (exit $rc)"
	else not_ok "a capture cut short does not crash" "rc=$rc" "$(cat "$work/err")"; fi
else
	skip "a capture cut short does not crash" "WEIR_SHARED_TESTDATA is not set"
fi

# ---- shared captures ----
shared_tests=(
	"v5: first flow values"
	"v5: 29 flows"
	"v9 basic 1-4: 4 flows"
	"v9 basic: every flow has SamplingRate 30000"
	"v9 basic: first flow values"
	"v9 basic: fourth flow values"
	"v9 basic: TimeReceived is the export header time"
	"v9 basic --time capture: TimeReceived is the capture time"
	"v9 basic --exporter: flows carry the given exporter, templates still apply"
	"sFlow: 5 flows from agent 172.16.0.3"
	"sFlow: flow 1 MACs, VLANs, flow label"
	"sFlow: flow 4 DstASPath and communities"
	"sFlow expanded sample: DstASPath and MACs"
	"IPFIX biflows: 6 flows"
	"counters on stderr: datagrams, flows, templates, per exporter"
	"pcapng: the same 4 v9 flows"
	"standard input: - reads a capture from a pipe"
	"a file without flows is counted by reason, exit 0"
	"a missing file among good ones: the others are decoded, exit 1"
	"table: a header and one line per flow"
	"table: the columns line up"
	"table: v5 first flow on one line"
	"--payloads: one file per UDP payload, same bytes"
)
if [ -z "$flows" ] || [ ! -d "$flows" ]; then
	for t in "${shared_tests[@]}"; do skip "$t" "WEIR_SHARED_TESTDATA is not set (../shared/testdata absent)"; done
	echo "1..$n"
	exit 0
fi

# NetFlow v5
"$weir" decode --json "$flows/netflow-v5-29records.pcap" >"$work/v5" 2>"$work/v5.err"
first=$(nth 1 <"$work/v5")
got="$(field SrcAddr <<<"$first") $(field SrcPort <<<"$first") $(field DstAddr <<<"$first") \
$(field DstPort <<<"$first") $(field Proto <<<"$first") $(field NextHop <<<"$first") \
$(field InIf <<<"$first") $(field OutIf <<<"$first") $(field SrcAS <<<"$first") \
$(field DstAS <<<"$first") $(field SrcNetMask <<<"$first") $(field DstNetMask <<<"$first") \
$(field Bytes <<<"$first") $(field Packets <<<"$first") $(field TCPFlags <<<"$first") \
$(field SamplingRate <<<"$first") $(field TimeReceived <<<"$first")"
is "v5: first flow values" "$got" \
	"161.202.212.212 30104 202.152.70.24 11963 6 61.6.255.150 117 86 36351 10101 19 24 133 1 24 1 1680626679"
is "v5: 29 flows" "$(wc -l <"$work/v5")" 29

# NetFlow v9 basic: templates and sampling options in files 1-3, data in 4.
v9=("$flows"/netflow-v9-basic-{1-options-template,2-options-data-samplingrate,3-template,4-data}.pcap)
"$weir" decode --json "${v9[@]}" >"$work/v9" 2>"$work/v9.err"
is "v9 basic 1-4: 4 flows" "$(wc -l <"$work/v9")" 4
rates=$(field SamplingRate <"$work/v9" | sort -u | tr '\n' ' ')
is "v9 basic: every flow has SamplingRate 30000" "$rates" "30000 "
row() { # the columns of the README's table, and the common values
	local l=$1
	echo "$(field SrcAddr <<<"$l"):$(field SrcPort <<<"$l") $(field DstAddr <<<"$l"):$(field DstPort <<<"$l")" \
		"$(field InIf <<<"$l") $(field OutIf <<<"$l") $(field NextHop <<<"$l")" \
		"$(field SrcNetMask <<<"$l")/$(field DstNetMask <<<"$l") $(field Bytes <<<"$l")" \
		"$(field EgressVRFID <<<"$l") $(field IngressVRFID <<<"$l") $(field Proto <<<"$l")" \
		"$(field Packets <<<"$l") $(field ForwardingStatus <<<"$l") $(field FlowDirection <<<"$l")" \
		"$(field TCPFlags <<<"$l") $(field EType <<<"$l")"
}
is "v9 basic: first flow values" "$(row "$(nth 1 <"$work/v9")")" \
	"198.38.121.178:443 91.170.143.87:19624 335 450 194.149.174.63 24/14 1500 1610612738 1610612738 6 1 64 ingress 16 2048"
is "v9 basic: fourth flow values" "$(row "$(nth 4 <"$work/v9")")" \
	"74.125.100.234:443 88.120.219.117:52300 461 451 194.149.174.61 16/14 1448 1610612738 1610612738 6 1 64 ingress 16 2048"
is "v9 basic: TimeReceived is the export header time" \
	"$(field TimeReceived <"$work/v9" | sort -u | tr '\n' ' ')" "1647285928 "
# The capture time of file 4: the first packet record's seconds (little- or
# big-endian pcap), read from the file itself.
pcap4=${v9[3]}
magic=$(od -An -tx1 -N4 "$pcap4" | tr -d ' \n')
case "$magic" in
d4c3b2a1 | 4d3cb2a1) capt=$(od -An -tu4 --endian=little -j24 -N4 "$pcap4" | tr -d ' ') ;;
*) capt=$(od -An -tu4 --endian=big -j24 -N4 "$pcap4" | tr -d ' ') ;;
esac
"$weir" decode --json --time capture "${v9[@]}" >"$work/v9c" 2>/dev/null
got=$(field TimeReceived <"$work/v9c" | sort -u | tr '\n' ' ')
if [ "$got" = "$capt " ] && [ "$capt" != 1647285928 ]; then
	ok "v9 basic --time capture: TimeReceived is the capture time"
else
	not_ok "v9 basic --time capture: TimeReceived is the capture time" "got '$got', capture time $capt"
fi
"$weir" decode --json --exporter 2001:db8::7 "${v9[@]}" >"$work/v9e" 2>/dev/null
got="$(wc -l <"$work/v9e") $(field ExporterAddress <"$work/v9e" | sort -u | tr '\n' ' ')$(field SamplingRate <"$work/v9e" | sort -u)"
is "v9 basic --exporter: flows carry the given exporter, templates still apply" "$got" "4 2001:db8::7 30000"

# sFlow
"$weir" decode --json "$flows/sflow-v5-basic-5samples-ext-gateway.pcap" >"$work/sf" 2>/dev/null
got="$(wc -l <"$work/sf") $(field ExporterAddress <"$work/sf" | sort -u | tr '\n' ' ')$(field SamplingRate <"$work/sf" | sort -u | tr '\n' ' ')"
is "sFlow: 5 flows from agent 172.16.0.3" "$got" "5 172.16.0.3 1024 "
l=$(nth 1 <"$work/sf")
got="$(field SrcAddr <<<"$l") $(field SrcPort <<<"$l") $(field DstPort <<<"$l") $(field SrcMAC <<<"$l") \
$(field DstMAC <<<"$l") $(field SrcVlan <<<"$l")/$(field DstVlan <<<"$l") $(field IPv6FlowLabel <<<"$l") \
$(field InIf <<<"$l") $(field OutIf <<<"$l") $(field Bytes <<<"$l")"
is "sFlow: flow 1 MACs, VLANs, flow label" "$got" \
	"2a0c:8880:2:0:185:21:130:38 46026 22 24:6e:96:90:7a:50 24:6e:96:04:3c:08 100/100 426132 27 28 1500"
l=$(nth 4 <"$work/sf")
got="$(field SrcAddr <<<"$l") $(field DstAddr <<<"$l") $(field DstASPath <<<"$l") \
$(field DstCommunities <<<"$l") $(field SrcAS <<<"$l") $(field DstAS <<<"$l") $(field NextHop <<<"$l")"
is "sFlow: flow 4 DstASPath and communities" "$got" \
	"45.90.161.148 191.87.91.27 [203698,6762,26615] [2583495656,2583495657,4259880000,4259880001,4259900001] 39421 26615 31.14.69.110"
"$weir" decode --json "$flows/sflow-v5-expanded-flow-sample-ext-gateway.pcap" >"$work/sfx" 2>/dev/null
l=$(nth 1 <"$work/sfx")
got="$(wc -l <"$work/sfx") $(field ExporterAddress <<<"$l") $(field SamplingRate <<<"$l") \
$(field DstASPath <<<"$l") $(field SrcMAC <<<"$l") $(field DstMAC <<<"$l") $(field InIf <<<"$l") \
$(field OutIf <<<"$l")"
is "sFlow expanded sample: DstASPath and MACs" "$got" \
	"1 49.49.49.49 1000 [8218,29605,203361] 94:8e:d3:0a:71:3b 22:42:1f:4a:9f:cd 29001 1285816721"

# IPFIX biflows: 4 forward flows, 2 reverse ones with packets.
"$weir" decode --json "$flows"/ipfix-rfc5103-biflow-ipfixprobe-{1-templates,2-data}.pcap >"$work/bi" 2>/dev/null
is "IPFIX biflows: 6 flows" "$(wc -l <"$work/bi")" 6

# Counters on stderr (from the v9 run): totals and the exporter's line.
if grep -qE '4 datagrams, 4 flows, [1-9][0-9]* templates' "$work/v9.err" &&
	grep -qE 'exporter [0-9.]+ \(netflow-v9\): datagrams=4 flows=4' "$work/v9.err"; then
	ok "counters on stderr: datagrams, flows, templates, per exporter"
else
	not_ok "counters on stderr: datagrams, flows, templates, per exporter" "$(cat "$work/v9.err")"
fi

# The same captures as pcapng (editcap comes with tshark).
if command -v editcap >/dev/null; then
	for i in 0 1 2 3; do editcap -F pcapng "${v9[$i]}" "$work/v9-$i.pcapng" 2>/dev/null; done
	"$weir" decode --json "$work"/v9-{0,1,2,3}.pcapng >"$work/v9ng" 2>/dev/null
	if [ "$(head -c 4 "$work/v9-0.pcapng" | od -An -tx1 | tr -d ' ')" = 0a0d0d0a ] &&
		cmp -s "$work/v9ng" "$work/v9"; then
		ok "pcapng: the same 4 v9 flows"
	else
		not_ok "pcapng: the same 4 v9 flows" "$(head -2 "$work/v9ng")"
	fi
else
	skip "pcapng: the same 4 v9 flows" "editcap (tshark) is not installed"
fi
got=$(cat "$flows/netflow-v5-29records.pcap" | "$weir" decode --json - 2>/dev/null | wc -l)
is "standard input: - reads a capture from a pipe" "$got" 29

# A capture of a UDP datagram that is no flow protocol (version 7) and of a
# TCP segment (a BMP session): counted by reason and as skipped, exit 0.
if "$weir" decode --json "$work/v7.pcap" "$flows/bmp-init.pcap" >"$work/v7.out" 2>"$work/v7.err" &&
	[ ! -s "$work/v7.out" ] && grep -q 'bad_version=1' "$work/v7.err" &&
	grep -q '1 packet skipped' "$work/v7.err"; then
	ok "a file without flows is counted by reason, exit 0"
else
	not_ok "a file without flows is counted by reason, exit 0" "$(cat "$work/v7.err" 2>/dev/null)"
fi

"$weir" decode --json "$flows/netflow-v5-29records.pcap" "$work/missing.pcap" \
	"$flows/sflow-v5-basic-5samples-ext-gateway.pcap" >"$work/mixed" 2>"$work/mixed.err"; rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$work/mixed")" -eq 34 ] && grep -q missing.pcap "$work/mixed.err"; then
	ok "a missing file among good ones: the others are decoded, exit 1"
else
	not_ok "a missing file among good ones: the others are decoded, exit 1" "rc=$rc lines=$(wc -l <"$work/mixed")" "$(cat "$work/mixed.err")"
fi

# Table mode
"$weir" decode "$flows/netflow-v5-29records.pcap" "$flows/sflow-v5-basic-5samples-ext-gateway.pcap" \
	>"$work/table" 2>/dev/null
if [ "$(wc -l <"$work/table")" -eq 35 ] && head -1 "$work/table" | grep -q 'EXPORTER.*SRC.*DST.*BYTES.*PACKETS'; then
	ok "table: a header and one line per flow"
else
	not_ok "table: a header and one line per flow" "$(head -3 "$work/table")"
fi
# The "->" between source and destination sits at the same column on every
# flow line, and so do the ends of the right-aligned numbers.
cols=$(tail -n +2 "$work/table" | awk '{ print index($0, "->") ":" length($0) }' | sort -u | wc -l)
if [ "$cols" -eq 1 ]; then ok "table: the columns line up"
else not_ok "table: the columns line up" "$(head -5 "$work/table")"; fi
l=$(grep -m1 '161\.202\.212\.212:30104' "$work/table")
like "table: v5 first flow on one line" "$l" \
	'2023-04-04 .*tcp +161\.202\.212\.212:30104 +-> +202\.152\.70\.24:11963 +117 +86 +133 +1 +1$'

# --payloads
"$weir" decode --payloads "$work/payloads" "$flows/netflow-v5-29records.pcap" "${v9[@]}" 2>/dev/null
count=$(ls "$work/payloads" | wc -l)
size=$(stat -c %s "$work/payloads/netflow-v5-29records-1.bin" 2>/dev/null)
# v5: 24-byte header + 29 records of 48 bytes (RFC-less Cisco format).
if [ "$count" -eq 5 ] && [ "$size" = 1416 ] && [ -s "$work/payloads/netflow-v9-basic-4-data-1.bin" ] &&
	[ "$(od -An -tx1 -N2 "$work/payloads/netflow-v5-29records-1.bin" | tr -d ' ')" = 0005 ]; then
	ok "--payloads: one file per UDP payload, same bytes"
else
	not_ok "--payloads: one file per UDP payload, same bytes" "count=$count size=$size" "$(ls "$work/payloads")"
fi
echo "1..$n"
