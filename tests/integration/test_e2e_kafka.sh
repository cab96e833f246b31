#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# End to end through Kafka (librdkafka's mock cluster in its own process):
# `weir inlet` produces, `weir outlet` consumes and stores. Every flow must
# reach ClickHouse when the outlet is killed with SIGKILL in the middle of a
# stream and started again (duplicates are counted and reported: delivery is
# at-least-once), and when ClickHouse is away for 30 s during a stream.
# Count-based: waits end on values, time only bounds them.
set -u
. "$(dirname "$0")/lib/e2e.bash"

e2e_setup weir-e2e-kafka kafka

TOPIC=weir-e2e
e2e_kafka_start "$TOPIC:4"

UDP=$(e2e_free_udp_port)
HTTP_IN=127.0.0.1:$(ch_free_port)
HTTP_OUT=127.0.0.1:$(ch_free_port)
DB=weir_e2e_kafka
# write_config FILE HTTP
write_config() {
	e2e_kafka_config "$1" "$2" weir-e2e 4 "batch-rows: 5000" "" \
		"auto.offset.reset: earliest"
}
write_config "$E2E_DIR/inlet.yaml" "$HTTP_IN"
write_config "$E2E_DIR/outlet.yaml" "$HTTP_OUT"
e2e_start outlet outlet "$E2E_DIR/outlet.yaml"
tap $? "weir outlet starts (Kafka consumer group, ClickHouse $CH_URL)"
e2e_start inlet inlet "$E2E_DIR/inlet.yaml"
tap $? "weir inlet starts (UDP 127.0.0.1:$UDP to Kafka)"

# Both outlet workers hold partitions before the first stream, so that the
# exactly-once check below is about the stream alone (members joining and
# leaving during a stream: test_kafka_rebalance.sh). Each worker's
# assignment is a log line; a revoke takes one back.
settled=0
for _ in $(seq 1 600); do
	a=$(grep -c 'kafka partitions assigned' "$E2E_DIR/outlet.log")
	r=$(grep -c 'kafka partitions revoked' "$E2E_DIR/outlet.log")
	if [ $((a - r)) -ge 2 ]; then settled=1; break; fi
	sleep 0.1
done
[ $settled -eq 1 ] || echo "# outlet group not settled after 60 s (assigned=$a revoked=$r)"

# ---- a first stream: every flow once ----
EXP=127.0.0.60
W=$(e2e_exporter_where $EXP)
N=50000
sent=$("$FLOWGEN" stream -t "127.0.0.1:$UDP" -b $EXP -f ipfix -n $N -r 25000)
bytes=$(echo "$sent" | sed -n 's/.* bytes=\([0-9]*\).*/\1/p')
packets=$(echo "$sent" | sed -n 's/.* packets=\([0-9]*\).*/\1/p')
got=$(e2e_wait_value "SELECT count(), uniqExact(SrcAddr, SrcPort) FROM $DB.flows WHERE $W" "$N	$N" 120)
tap $? "through Kafka: $N flows stored once each ($got)"
got=$(e2e_wait_value "SELECT sum(Bytes), sum(Packets) FROM $DB.flows_1m WHERE $W" "$bytes	$packets" 30)
tap $? "flows_1m sums are what was sent ($got)"

# The mock cluster keeps only about 5 MB per partition (older messages are
# deleted, and a consumer behind them is reset past them): what is produced
# while the outlet is away must stay below that, so the streams below are
# modest and spread over 8 exporters (so over the 4 partitions). A real
# broker keeps data for its retention time instead.
# stream_many FIRST_OCTET FLOWS_EACH RATE_EACH: 8 exporters in the background,
# pids in GEN_PIDS, their condition in W.
stream_many() {
	local first=$1 n=$2 rate=$3 list=
	GEN_PIDS=
	for k in 0 1 2 3 4 5 6 7; do
		"$FLOWGEN" stream -t "127.0.0.1:$UDP" -b "127.0.0.$((first + k))" -f ipfix -n "$n" \
			-r "$rate" >"$E2E_DIR/stream-$((first + k)).sent" &
		GEN_PIDS="$GEN_PIDS $!"
		list="$list${list:+, }IPv6StringToNum('::ffff:127.0.0.$((first + k))')"
	done
	W="ExporterAddress IN ($list)"
}
DISTINCT="uniqExact(ExporterAddress, SrcAddr, SrcPort)"

# ---- SIGKILL the outlet in the middle of a stream, start it again ----
N=10000
stream_many 70 $N 300
e2e_wait_value "SELECT count() > 15000 FROM $DB.flows WHERE $W" 1 120 >/dev/null
e2e_stop outlet KILL
echo "# outlet killed (SIGKILL) with $(ch_query "SELECT count() FROM $DB.flows WHERE $W") rows of $((8 * N)) stored"
e2e_start outlet outlet "$E2E_DIR/outlet.yaml"
tap $? "weir outlet starts again after SIGKILL"
wait $GEN_PIDS
got=$(e2e_wait_value "SELECT $DISTINCT FROM $DB.flows WHERE $W" $((8 * N)) 240)
tap $? "outlet killed mid-stream: all $((8 * N)) flows in ClickHouse ($got distinct)"
dups=$(ch_query "SELECT count() - $DISTINCT FROM $DB.flows WHERE $W")
echo "# duplicates after SIGKILL: $dups (at-least-once: counted, not failed)"
if grep -q "Offset out of range" "$E2E_DIR/outlet.log"; then
	echo "# the mock cluster deleted messages before they were read: see its 5 MB limit above"
fi

# ---- ClickHouse away for 30 s during a stream ----
N=8000
stream_many 80 $N 150
e2e_wait_value "SELECT count() > 5000 FROM $DB.flows WHERE $W" 1 120 >/dev/null
ch_stop
echo "# ClickHouse stopped for 30 s"
sleep 30
ch_start "$E2E_DIR/ch" >/dev/null
echo "# ClickHouse started again"
wait $GEN_PIDS
got=$(e2e_wait_value "SELECT $DISTINCT FROM $DB.flows WHERE $W" $((8 * N)) 180)
tap $? "ClickHouse stopped 30 s during a stream of $((8 * N)) flows: $got distinct flows stored"
dups=$(ch_query "SELECT count() - $DISTINCT FROM $DB.flows WHERE $W")
echo "# duplicates after the outage: $dups"

e2e_stop inlet TERM
tap $? "weir inlet exits 0 on SIGTERM"
e2e_stop outlet TERM
tap $? "weir outlet exits 0 on SIGTERM"

echo "1..$E2E_N"
exit $E2E_FAILED
