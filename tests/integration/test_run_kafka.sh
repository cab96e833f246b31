#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# `weir run` (inlet, outlet and orchestrator in one process) with
# bus.type: kafka, through librdkafka's mock cluster in its own process:
# exact rows for each flow format, a stream stored once with its sums in
# every table, and a SIGTERM while ClickHouse is away with a backlog in
# Kafka: the next run goes on from the committed offsets, losing nothing
# and reading nothing twice.
# Count-based: waits end on values, time only bounds them.
set -u
. "$(dirname "$0")/lib/e2e.bash"

e2e_setup weir-run-kafka kafka

TOPIC=weir-run
e2e_kafka_start "$TOPIC:4"

UDP=$(e2e_free_udp_port)
HTTP=127.0.0.1:$(ch_free_port)
DB=weir_run_kafka
e2e_kafka_config "$E2E_DIR/weir.yaml" "$HTTP" weir-run 4 "" "flows-topic: $TOPIC-flows"
e2e_start weir run "$E2E_DIR/weir.yaml"
tap $? "weir run starts with the Kafka bus (UDP 127.0.0.1:$UDP, ClickHouse $CH_URL)"

# ---- exact rows, one exporter per format ----
e2e_exact_rows $DB $UDP 90 "went through Kafka into flows"

# ---- a stream: every flow once, sums in every table ----
# Rate and size stay under the mock cluster's ~5 MB per partition (see
# lib/kafka.sh): one exporter is one key, so one partition.
EXP=127.0.0.50
N=40000
e2e_stream $DB $UDP $EXP $N 20000
datagrams=$STREAM_DATAGRAMS
# The topic of enriched flows: one message per stored flow so far (the 12
# exact ones and the stream), keyed by the 16-byte exporter address.
want=$((12 + N))
got=0
if command -v kcat >/dev/null; then
	for _ in $(seq 1 60); do
		got=$(kcat -b "$KAFKA_BOOTSTRAP" -C -t "$TOPIC-flows" -o beginning -e -q -f '%K\n' \
			2>/dev/null | grep -c '^16$')
		[ "$got" = "$want" ] && break
		sleep 0.5
	done
	[ "$got" = "$want" ]
	tap $? "bus.kafka.flows-topic: $got messages keyed by exporter, one per flow ($want)"
else
	tap_skip "bus.kafka.flows-topic" "kcat not installed"
fi
got=$(e2e_metric "$HTTP" "weir_outlet_datagrams_total{exporter=\"$EXP\"}")
[ "$got" = "$datagrams" ]
tap $? "/metrics: weir_outlet_datagrams_total for $EXP is what was sent ($got vs $datagrams)"
got=$(e2e_metric "$HTTP" "weir_bus_kafka_received_total{topic=\"$TOPIC\"}")
want=$(e2e_metric "$HTTP" "weir_bus_kafka_delivered_total{topic=\"$TOPIC\"}")
[ "$got" = "$want" ] && [ "$got" -gt "$datagrams" ]
tap $? "/metrics: every datagram produced to Kafka was consumed ($got received, $want delivered)"

# ---- a backlog in Kafka at SIGTERM, then start again ----
# ClickHouse is stopped: the outlet cannot store, so it commits nothing and
# Kafka keeps what the inlet produces. SIGTERM then (the outlet gives up its
# flush, commits nothing) and start again with ClickHouse back: the next run
# reads the whole burst from the committed offsets, once.
EXP=127.0.0.51
W=$(e2e_exporter_where $EXP)
N=30000
before=$(e2e_metric "$HTTP" "weir_bus_kafka_delivered_total{topic=\"$TOPIC\"}")
ch_stop
echo "# ClickHouse stopped"
sent=$("$FLOWGEN" stream -t "127.0.0.1:$UDP" -b $EXP -f ipfix -n $N -r 30000)
datagrams=$(echo "$sent" | sed -n 's/.* datagrams=\([0-9]*\).*/\1/p')
for _ in $(seq 1 300); do
	got=$(e2e_metric "$HTTP" "weir_bus_kafka_delivered_total{topic=\"$TOPIC\"}")
	[ $((got - before)) -ge "$datagrams" ] && break
	sleep 0.1
done
[ $((got - before)) -eq "$datagrams" ]
tap $? "the inlet produced the $datagrams datagrams of the burst to Kafka ($((got - before)))"
e2e_stop weir TERM
tap $? "weir run exits 0 on SIGTERM while ClickHouse is away"
ch_start "$E2E_DIR/ch" >/dev/null
echo "# ClickHouse started again"
got=$(ch_query "SELECT count() FROM $DB.flows WHERE $W")
[ "$got" = 0 ]
tap $? "nothing of the burst was stored before the stop ($got rows)"
e2e_start weir run "$E2E_DIR/weir.yaml"
tap $? "weir run starts again on the same topic and group"
got=$(e2e_wait_value "SELECT uniqExact(SrcAddr, SrcPort) FROM $DB.flows WHERE $W" $N 120)
tap $? "the next run stores every flow of the burst from Kafka ($got distinct)"
sleep 2
got=$(ch_query "SELECT count() - uniqExact(ExporterAddress, SrcAddr, SrcPort) FROM $DB.flows")
[ "$got" = 0 ]
tap $? "no flow stored twice across the restart ($got duplicates in all flows)"
got=$(e2e_wait_value "SELECT sum(Bytes), sum(Packets) FROM $DB.flows_1m WHERE $W" \
	"$(echo "$sent" | sed -n 's/.* bytes=\([0-9]*\) packets=\([0-9]*\).*/\1	\2/p')" 30)
tap $? "flows_1m sums of the burst are what was sent ($got)"

e2e_stop weir TERM
tap $? "weir run exits 0 on SIGTERM"

echo "1..$E2E_N"
exit $E2E_FAILED
