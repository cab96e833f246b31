#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# The demo encoder's datagrams as tshark reads them: for NetFlow v5, v9,
# IPFIX and sFlow v5, tests/tools/encode_pcap writes a pcap and the flows it
# encoded (JSON lines); tshark must find the same addresses, ports, bytes,
# packets, interfaces and sampling rate, and `weir decode --json` of the
# pcap must agree with tshark. Prints TAP. Needs tshark and jq (skips without them);
# $WEIR_BUILD is the build directory (tests/run.sh sets it).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${WEIR_BUILD:-$top/build}
tool=$build/tests/tools/encode_pcap
weir=$build/weir
formats=(v5 v9 ipfix sflow)
parts=(addresses ports counters interfaces)
n=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
not_ok() {
	n=$((n + 1))
	echo "not ok $n - $1"
	shift
	for line in "$@"; do echo "# $line"; done
}

skip_all() {
	for f in "${formats[@]}"; do
		for c in encode "${parts[@]}" sampling weir-decode; do skip "$f $c" "$1"; done
	done
	echo "1..$n"
	exit 0
}

command -v tshark >/dev/null || skip_all "tshark is not installed"
command -v jq >/dev/null || skip_all "jq is not installed"
[ -x "$tool" ] || skip_all "$tool is not built (make tests)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# same NAME EXPECTED_FILE ACTUAL_FILE: one TAP line, the first differences
# on failure.
same() {
	local name=$1 exp=$2 act=$3
	if [ ! -s "$exp" ]; then
		not_ok "$name" "nothing to compare: $exp is empty"
	elif cmp -s "$exp" "$act"; then
		ok "$name ($(wc -l <"$exp") values)"
	else
		mapfile -t d < <(diff "$exp" "$act" | head -n 8)
		not_ok "$name" "expected $(wc -l <"$exp") values, got $(wc -l <"$act")" "${d[@]}"
	fi
}

# tsh PCAP FIELD: every occurrence of the field, one per line, in order.
tsh() {
	tshark -r "$1" -d udp.port==2055,cflow -T fields -E occurrence=a -E aggregator=, \
		-e "$2" 2>/dev/null | tr ',' '\n' | sed '/^$/d'
}

# tsh_inner PCAP FIELD: the same without the first occurrence in each
# packet (the transport header around an sFlow datagram).
tsh_inner() {
	tshark -r "$1" -T fields -E occurrence=a -E aggregator=, -e "$2" 2>/dev/null |
		cut -s -d, -f2- | tr ',' '\n' | sed '/^$/d'
}

# pairs A B: interleaves two lists line by line.
pairs() {
	paste -d'\n' "$1" "$2" | sed '/^$/d'
}

# tshark_view FORMAT PART PCAP and json_view FORMAT PART JSONL print the same
# listing of one part (addresses, ports, counters, interfaces) of the flows,
# from tshark's dissection and from JSON lines (encoder input or weir
# decode output).
tshark_view() {
	local f=$1 part=$2 p=$3
	if [ "$f" = sflow ]; then
		case $part in
		addresses)
			# The sampled headers' addresses; tshark lists all the
			# sources then all the destinations of a datagram.
			tsh_inner "$p" ip.src
			tsh_inner "$p" ip.dst
			tsh "$p" ipv6.src
			tsh "$p" ipv6.dst ;;
		ports)
			{
				pairs <(tsh "$p" tcp.srcport) <(tsh "$p" tcp.dstport)
				pairs <(tsh_inner "$p" udp.srcport) <(tsh_inner "$p" udp.dstport)
			} | sort -n ;;
		counters)
			# One sampled packet per flow: its IP length is the bytes.
			tsh_inner "$p" ip.len
			tsh "$p" ipv6.plen
			echo "packets $(tsh "$p" sflow.flow_sample.input_interface | wc -l)" ;;
		interfaces)
			pairs <(tsh "$p" sflow.flow_sample.input_interface) \
				<(tsh "$p" sflow.flow_sample.output_interface_value) ;;
		esac
	else
		case $part in
		addresses)
			pairs <(tsh "$p" cflow.srcaddr) <(tsh "$p" cflow.dstaddr)
			pairs <(tsh "$p" cflow.srcaddrv6) <(tsh "$p" cflow.dstaddrv6) ;;
		ports) pairs <(tsh "$p" cflow.srcport) <(tsh "$p" cflow.dstport) ;;
		counters) pairs <(tsh "$p" cflow.octets) <(tsh "$p" cflow.packets) ;;
		interfaces) pairs <(tsh "$p" cflow.inputint) <(tsh "$p" cflow.outputint) ;;
		esac
	fi
}

V4='select(.EType == 2048)'
V6='select(.EType == 34525)'

json_view() {
	local f=$1 part=$2 j=$3 dport
	if [ "$f" = sflow ]; then
		case $part in
		addresses)
			jq -r "$V4 | .SrcAddr" "$j"
			jq -r "$V4 | .DstAddr" "$j"
			jq -r "$V6 | .SrcAddr" "$j"
			jq -r "$V6 | .DstAddr" "$j" ;;
		ports)
			jq -r 'select(.Proto == 6 or .Proto == 17) | .SrcPort // 0, .DstPort // 0' "$j" |
				sort -n ;;
		counters)
			jq -r "$V4 | .Bytes" "$j"
			jq -r "$V6 | .Bytes - 40" "$j"
			echo "packets $(jq -r '.Packets' "$j" | awk '{ s += $1 } END { print s + 0 }')" ;;
		interfaces) jq -r '.InIf // 0, .OutIf // 0' "$j" ;;
		esac
	else
		case $part in
		addresses)
			jq -r "$V4 | .SrcAddr, .DstAddr" "$j"
			jq -r "$V6 | .SrcAddr, .DstAddr" "$j" ;;
		ports)
			# NetFlow v5 has no ICMP fields: exporters put type * 256 +
			# code in the destination port.
			dport='.DstPort // 0'
			[ "$f" = v5 ] && dport='if .Proto == 1 and (.SrcPort // 0) == 0 and
				(.DstPort // 0) == 0 then (.ICMPv4Type // 0) * 256 +
				(.ICMPv4Code // 0) else .DstPort // 0 end'
			jq -r ".SrcPort // 0, $dport" "$j" ;;
		counters) jq -r '.Bytes // 0, .Packets // 0' "$j" ;;
		interfaces) jq -r '.InIf // 0, .OutIf // 0' "$j" ;;
		esac
	fi
}

for f in "${formats[@]}"; do
	pcap=$tmp/$f.pcap
	flows=$tmp/$f.jsonl
	if ! "$tool" "$f" 500 7 "$pcap" "$flows" 2>"$tmp/err"; then
		not_ok "$f encode" "$(cat "$tmp/err")"
		for c in "${parts[@]}" sampling weir-decode; do skip "$f $c" "encode_pcap failed"; done
		continue
	fi
	ok "$f encode ($(wc -l <"$flows") flows)"
	for part in "${parts[@]}"; do
		json_view "$f" "$part" "$flows" >"$tmp/$f.$part.expected"
		tshark_view "$f" "$part" "$pcap" >"$tmp/$f.$part.tshark"
		same "$f $part: tshark reads what was encoded" "$tmp/$f.$part.expected" \
			"$tmp/$f.$part.tshark"
	done

	# The sampling rate (encode_pcap announces 1 in 1000): v5 header,
	# v9 options data, IPFIX PSAMP interval and space (RFC 5477), sFlow
	# flow samples.
	case $f in
	v5) rates=$(tsh "$pcap" cflow.samplerate) ;;
	v9) rates=$(tsh "$pcap" cflow.sampler_random_interval) ;;
	ipfix) rates=$(paste <(tsh "$pcap" cflow.sampling_packet_interval) \
		<(tsh "$pcap" cflow.sampling_packet_space) | awk '{ print ($1 + $2) / $1 }') ;;
	sflow) rates=$(tsh "$pcap" sflow.flow_sample.sampling_rate) ;;
	esac
	if [ -n "$rates" ] && [ "$(echo "$rates" | sort -u)" = 1000 ]; then
		ok "$f sampling rate: tshark reads 1000 ($(echo "$rates" | wc -l) times)"
	else
		not_ok "$f sampling rate" "tshark reads: $(echo "$rates" | sort -u | tr '\n' ' ')"
	fi

	# weir's own decoder on the same pcap, against tshark.
	if [ ! -x "$weir" ]; then
		skip "$f weir-decode" "$weir is not built"
		continue
	fi
	"$weir" decode --json "$pcap" >"$tmp/$f.weir" 2>"$tmp/$f.weir.err"
	if [ ! -s "$tmp/$f.weir" ]; then
		skip "$f weir-decode" "weir decode --json gives no flows yet: $(head -c 200 "$tmp/$f.weir.err" | tr '\n' ' ')"
		continue
	fi
	for part in "${parts[@]}"; do
		json_view "$f" "$part" "$tmp/$f.weir"
	done >"$tmp/$f.weir.view"
	for part in "${parts[@]}"; do
		cat "$tmp/$f.$part.tshark"
	done >"$tmp/$f.tshark.view"
	same "$f weir-decode agrees with tshark" "$tmp/$f.tshark.view" "$tmp/$f.weir.view"
done
echo "1..$n"
