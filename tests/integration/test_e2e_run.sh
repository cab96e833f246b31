#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# End to end in the single-process mode (`weir run`, in-process ring): flows
# encoded by the project's encoder, sent over UDP, must come out of ClickHouse
# as the exact rows, with matching sums in every consolidated table; nothing
# may be lost while ClickHouse is away for 30 s, nor at a SIGTERM (drain and
# final flush). Count-based: waits end on values, time only bounds them.
set -u
. "$(dirname "$0")/lib/e2e.bash"

e2e_setup weir-e2e-run

UDP=$(e2e_free_udp_port)
HTTP=127.0.0.1:$(ch_free_port)
DB=weir_e2e
# write_config FILE BATCH_INTERVAL
write_config() {
	e2e_config "$1" "$HTTP" "$2"
	cat >>"$1" <<EOF
bus:
  type: ring
  ring-size: 128MiB
EOF
}
write_config "$E2E_DIR/weir.yaml" 1s
e2e_start weir run "$E2E_DIR/weir.yaml"
tap $? "weir run starts (UDP 127.0.0.1:$UDP, HTTP $HTTP, ClickHouse $CH_URL)"

# ---- exact rows, one exporter per format ----
e2e_exact_rows $DB $UDP 60 "are in flows"

# ---- a stream: every flow once, sums everywhere ----
EXP=127.0.0.50
N=200000
e2e_stream $DB $UDP $EXP $N 50000
got=$(e2e_wait_stored $EXP $N 10)
tap $? "/metrics: weir_outlet_flows_stored_total for $EXP is $N ($got)"
got=$(e2e_metric "$HTTP" "weir_outlet_datagrams_total{exporter=\"$EXP\"}")
want=$STREAM_DATAGRAMS
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
