#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# End to end in the single-process mode (`weir run`, in-process ring): flows
# encoded by the project's encoder, sent over UDP, must come out of ClickHouse
# as the exact rows, with matching sums in every consolidated table; nothing
# may be lost while ClickHouse is away for 30 s, nor at a SIGTERM (drain and
# final flush). Count-based: waits end on values, time only bounds them.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/integration/lib/clickhouse.sh"
. "$top/tests/integration/lib/e2e.bash"
build=${WEIR_BUILD:-$top/build}
WEIR=$build/weir
FLOWGEN=$build/tests/tools/flowgen

e2e_setup weir-e2e-run

UDP=$(e2e_free_udp_port)
HTTP=127.0.0.1:$(ch_free_port)
DB=weir_e2e
# write_config FILE BATCH_INTERVAL
write_config() {
	cat >"$1" <<EOF
log:
  level: info
http:
  listen: $HTTP
clickhouse:
  url: $CH_URL
  database: $DB
  batch-interval: $2
  retry-min: 100ms
  retry-max: 2s
  connect-timeout: 1s
flow:
  inputs:
    - type: udp
      listen: "127.0.0.1:$UDP"
outlet:
  workers: 2
bus:
  type: ring
  ring-size: 128MiB
  ring-block: 2s
EOF
}
write_config "$E2E_DIR/weir.yaml" 1s
e2e_start weir run "$E2E_DIR/weir.yaml"
tap $? "weir run starts (UDP 127.0.0.1:$UDP, HTTP $HTTP, ClickHouse $CH_URL)"

# ---- exact rows, one exporter per format ----
COLS="IPv6NumToString(ExporterAddress), IPv6NumToString(SrcAddr), IPv6NumToString(DstAddr),
 IPv6NumToString(NextHop), SrcAS, DstAS, InIf, OutIf, SrcPort, DstPort, Proto, Bytes, Packets,
 SamplingRate, SrcNetMask, DstNetMask, TCPFlags, IPTos"
i=0
for fmt in v5 v9 ipfix sflow; do
	i=$((i + 1))
	exporter=127.0.0.$((40 + i))
	"$FLOWGEN" exact -t "127.0.0.1:$UDP" -b "$exporter" -f "$fmt" >"$E2E_DIR/exact-$fmt.tsv" 2>/dev/null
	e2e_wait_value "SELECT count() FROM $DB.flows WHERE $(e2e_exporter_where $exporter)" 3 60 >/dev/null
	ch_query "SELECT $COLS FROM $DB.flows WHERE $(e2e_exporter_where $exporter) ORDER BY SrcPort" |
		grep -v '^$' >"$E2E_DIR/got-$fmt.tsv"
	# "-" in the expectation: a column this format does not carry.
	if paste "$E2E_DIR/exact-$fmt.tsv" "$E2E_DIR/got-$fmt.tsv" | awk -F'\t' '
		{ n = NF / 2; for (c = 1; c <= n; c++) if ($c != "-" && $c != $(c + n)) {
			printf "# row %d column %d: expected %s, got %s\n", NR, c, $c, $(c + n); bad = 1 } }
		END { exit bad || NR != 3 }'; then
		tap 0 "$fmt: the 3 flows are in flows with exact values"
	else
		tap 1 "$fmt: the 3 flows are in flows with exact values"
		sed 's/^/# expected: /' "$E2E_DIR/exact-$fmt.tsv"
		sed 's/^/# got:      /' "$E2E_DIR/got-$fmt.tsv"
	fi
done

# ---- a stream: every flow once, sums everywhere ----
EXP=127.0.0.50
W=$(e2e_exporter_where $EXP)
N=200000
sent=$("$FLOWGEN" stream -t "127.0.0.1:$UDP" -b $EXP -f ipfix -n $N -r 50000)
bytes=$(echo "$sent" | sed -n 's/.* bytes=\([0-9]*\).*/\1/p')
packets=$(echo "$sent" | sed -n 's/.* packets=\([0-9]*\).*/\1/p')
got=$(e2e_wait_value "SELECT count() FROM $DB.flows WHERE $W" $N 120)
tap $? "stream of $N IPFIX flows: $got rows in flows"
got=$(ch_query "SELECT uniqExact(SrcAddr, SrcPort), count() - uniqExact(SrcAddr, SrcPort) FROM $DB.flows WHERE $W")
[ "$got" = "$N	0" ]
tap $? "every flow of the stream is stored once (distinct, duplicates: $got)"
got=$(ch_query "SELECT sum(Bytes), sum(Packets) FROM $DB.flows WHERE $W")
[ "$got" = "$bytes	$packets" ]
tap $? "flows: sums of Bytes and Packets are what was sent ($got vs $bytes $packets)"
for t in flows_1m flows_5m flows_1h; do
	got=$(e2e_wait_value "SELECT sum(Bytes), sum(Packets) FROM $DB.$t WHERE $W" "$bytes	$packets" 30)
	tap $? "$t: sums of Bytes and Packets are what was sent ($got)"
done
got=$(e2e_metric "$HTTP" "weir_outlet_flows_stored_total{exporter=\"$EXP\"}")
[ "$got" = "$N" ]
tap $? "/metrics: weir_outlet_flows_stored_total for $EXP is $N ($got)"
got=$(e2e_metric "$HTTP" "weir_outlet_datagrams_total{exporter=\"$EXP\"}")
want=$(echo "$sent" | sed -n 's/.* datagrams=\([0-9]*\).*/\1/p')
[ "$got" = "$want" ]
tap $? "/metrics: weir_outlet_datagrams_total for $EXP is what was sent ($got vs $want)"

# ---- ClickHouse away for 30 s during a stream: nothing lost ----
EXP=127.0.0.51
W=$(e2e_exporter_where $EXP)
N=150000
"$FLOWGEN" stream -t "127.0.0.1:$UDP" -b $EXP -f ipfix -n $N -r 3000 >"$E2E_DIR/outage.sent" &
gen=$!
# Stop once part of the stream is stored (count-based, not time-based).
e2e_wait_value "SELECT count() > 10000 FROM $DB.flows WHERE $W" 1 120 >/dev/null
ch_stop
echo "# ClickHouse stopped for 30 s"
sleep 30
ch_start "$E2E_DIR/ch" >/dev/null
echo "# ClickHouse started again"
wait $gen
got=$(e2e_wait_value "SELECT uniqExact(SrcAddr, SrcPort) FROM $DB.flows WHERE $W" $N 180)
tap $? "ClickHouse stopped 30 s during a stream of $N flows: $got distinct flows stored"
dups=$(ch_query "SELECT count() - uniqExact(SrcAddr, SrcPort) FROM $DB.flows WHERE $W")
echo "# duplicates after the outage: $dups (at-least-once: counted, not failed)"
dropped=$(curl -s "http://$HTTP/metrics" | awk '/^weir_bus_ring_dropped_total/ { s += $2 } END { print s + 0 }')
[ "$dropped" = 0 ]
tap $? "the ring dropped nothing during the outage ($dropped)"

# ---- SIGTERM: the queued flows are drained and flushed ----
e2e_stop weir TERM
tap $? "weir run exits 0 on SIGTERM"
write_config "$E2E_DIR/weir-slow.yaml" 1h
e2e_start weir run "$E2E_DIR/weir-slow.yaml"
EXP=127.0.0.52
W=$(e2e_exporter_where $EXP)
N=20000
"$FLOWGEN" stream -t "127.0.0.1:$UDP" -b $EXP -f v9 -n $N -r 50000 >/dev/null
# Wait until weir decoded them all (batch-interval 1h: nothing is flushed yet).
for _ in $(seq 1 300); do
	[ "$(e2e_metric "$HTTP" "weir_outlet_flows_decoded_total{exporter=\"$EXP\"}")" = $N ] && break
	sleep 0.2
done
before=$(ch_query "SELECT count() FROM $DB.flows WHERE $W")
e2e_stop weir TERM
rc=$?
got=$(ch_query "SELECT count() FROM $DB.flows WHERE $W")
[ "$before" = 0 ] && [ "$got" = $N ] && [ $rc = 0 ]
tap $? "SIGTERM with $N flows in the batch: $before rows before, $got after the final flush (exit $rc)"

echo "1..$E2E_N"
exit $E2E_FAILED
