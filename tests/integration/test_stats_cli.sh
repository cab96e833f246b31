#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# `weir stats` against a real `weir run`: an exporter whose NetFlow v9
# sequence numbers skip two datagrams (and repeat one) and which sends junk
# comes first, with its loss before weir and its decode drops; a clean
# exporter's flows are counted; the address comes from --url or from the
# configuration's http.listen; a weir that is not there is a clear error.
set -u
. "$(dirname "$0")/lib/e2e.bash"

e2e_setup weir-stats

UDP=$(e2e_free_udp_port)
HTTP=127.0.0.1:$(ch_free_port)
DB=weir_stats
e2e_config "$E2E_DIR/weir.yaml" "$HTTP" 1s
e2e_start weir run "$E2E_DIR/weir.yaml"
tap $? "weir run starts (UDP 127.0.0.1:$UDP, HTTP $HTTP)"

# A clean exporter: 2000 NetFlow v5 flows.
"$FLOWGEN" stream -t "127.0.0.1:$UDP" -b 127.0.0.60 -f v5 -n 2000 -r 20000 >/dev/null
tap $? "flowgen sent 2000 v5 flows from 127.0.0.60"

# be32 N: the \x escapes of a big-endian 32-bit number, for printf.
be32() {
	printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) \
		$(($1 >> 8 & 255)) $(($1 & 255))
}
# send FORMAT: one datagram from 127.0.0.1 (printf may write in pieces: cat
# writes the file at once).
send() {
	printf "$1" >"$E2E_DIR/datagram"
	cat "$E2E_DIR/datagram" >"/dev/udp/127.0.0.1/$UDP"
}
# v9 SEQ: a NetFlow v9 header without flowsets (RFC 3954 5.1), source id 7.
v9() {
	send "\\x00\\x09\\x00\\x00$(be32 $((100000 + $1)))$(be32 1700000000)$(be32 "$1")$(be32 7)"
}
# 10, 11, then 12 and 13 lost, 14, 15 twice.
for s in 10 11 14 15 15; do
	v9 $s
	sleep 0.05
done
for _ in 1 2 3; do
	send '\x00\x63junk-junk-junk'
done

for _ in $(seq 1 100); do
	[ "$(e2e_metric "$HTTP" 'weir_outlet_datagrams_total{exporter="127.0.0.1"}')" = 8 ] &&
		[ "$(e2e_metric "$HTTP" 'weir_outlet_flows_decoded_total{exporter="127.0.0.60"}')" = 2000 ] &&
		break
	sleep 0.2
done
got=$(e2e_metric "$HTTP" 'weir_outlet_sequence_lost_total{exporter="127.0.0.1",domain="7",unit="datagrams"}')
[ "$got" = 2 ]
tap $? "/metrics: 2 datagrams of 127.0.0.1 source id 7 lost before weir ($got)"
got=$(e2e_metric "$HTTP" 'weir_outlet_sequence_out_of_order_total{exporter="127.0.0.1",domain="7"}')
[ "$got" = 1 ]
tap $? "/metrics: 1 datagram out of order (the repeated one: $got)"

"$WEIR" stats --url "http://$HTTP" >"$E2E_DIR/stats.txt" 2>&1
tap $? "weir stats --url http://$HTTP exits 0"
sed 's/^/# /' "$E2E_DIR/stats.txt"
bad=$(grep -E '^ +127\.0\.0\.1 ' "$E2E_DIR/stats.txt")
good=$(grep -E '^ +127\.0\.0\.60 ' "$E2E_DIR/stats.txt")
echo "$bad" | grep -q '2 datagrams' && echo "$bad" | grep -q 'bad_version=3'
tap $? "127.0.0.1's line says 2 datagrams lost before weir and bad_version=3"
echo "$good" | grep -qE ' 2000 '
tap $? "127.0.0.60's line counts its 2000 flows"
[ "$(grep -nE '^ +127\.0\.0\.1 ' "$E2E_DIR/stats.txt" | cut -d: -f1)" -lt \
	"$(grep -nE '^ +127\.0\.0\.60 ' "$E2E_DIR/stats.txt" | cut -d: -f1)" ]
tap $? "the exporter with loss comes first"
grep -qE '^Inputs' "$E2E_DIR/stats.txt" && grep -qE '^Rings' "$E2E_DIR/stats.txt"
tap $? "inputs and rings are summarised"

"$WEIR" stats -c "$E2E_DIR/weir.yaml" >"$E2E_DIR/stats-c.txt" 2>&1 &&
	grep -q "weir stats: http://$HTTP/metrics" "$E2E_DIR/stats-c.txt" &&
	grep -qE '^ +127\.0\.0\.1 ' "$E2E_DIR/stats-c.txt"
tap $? "weir stats -c FILE reads http.listen"

out=$("$WEIR" stats --url http://127.0.0.1:1 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -q 'is weir running'
tap $? "weir stats against nothing: exit 1 and a clear error ($out)"

e2e_stop weir TERM
tap $? "weir run exits 0 on SIGTERM"
# The drop log: the first junk datagram said at once, the other two at the
# stop (not a line each).
lines=$(grep -c 'reason=bad_version exporter=127.0.0.1 ' "$E2E_DIR/weir.log")
grep -q 'msg="datagrams not fully decoded" stage=outlet reason=bad_version exporter=127.0.0.1 count=1$' "$E2E_DIR/weir.log" &&
	grep -q 'reason=bad_version exporter=127.0.0.1 count=2$' "$E2E_DIR/weir.log" && [ "$lines" = 2 ]
tap $? "decode drops logged once with the first, then with the count since ($lines lines)"
echo "1..$E2E_N"
exit $E2E_FAILED
