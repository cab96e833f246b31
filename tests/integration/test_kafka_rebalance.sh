#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Kafka consumer-group rebalances during a stream (librdkafka's mock cluster
# in its own process, a real clickhouse-server): a second `weir outlet` joins
# the group while flows arrive, then the first one leaves (SIGTERM). Every
# flow must be in ClickHouse exactly once: what an outlet stored before its
# partitions moved must be committed, so the next owner does not read it
# again. Count-based: waits end on values, time only bounds them.
set -u
. "$(dirname "$0")/lib/e2e.bash"

e2e_setup weir-kafka-rebalance kafka

TOPIC=weir-rebalance
PARTITIONS=8
e2e_kafka_start "$TOPIC:$PARTITIONS"

UDP=$(e2e_free_udp_port)
DB=weir_kafka_rebalance
# write_config FILE HTTP
write_config() {
	e2e_kafka_config "$1" "$2" weir-rebalance "$PARTITIONS" "batch-rows: 5000"
}
HTTP_IN=127.0.0.1:$(ch_free_port)
HTTP_1=127.0.0.1:$(ch_free_port)
HTTP_2=127.0.0.1:$(ch_free_port)
write_config "$E2E_DIR/inlet.yaml" "$HTTP_IN"
write_config "$E2E_DIR/outlet1.yaml" "$HTTP_1"
write_config "$E2E_DIR/outlet2.yaml" "$HTTP_2"

# held LOG: partitions this outlet holds now (assigned minus revoked, from
# its log lines "kafka partitions assigned/revoked count=N").
held() {
	awk '/kafka partitions assigned/ { for (i = 1; i <= NF; i++) if ($i ~ /^count=/) { split($i, a, "="); n += a[2] } }
	     /kafka partitions revoked/ { for (i = 1; i <= NF; i++) if ($i ~ /^count=/) { split($i, a, "="); n -= a[2] } }
	     END { print n + 0 }' "$1"
}
# wait_held LOG N: waits (90 s at most) until the outlet holds N partitions
# and has held that many for 2 s (the group is stable).
wait_held() {
	local same=0
	for _ in $(seq 1 900); do
		if [ "$(held "$1")" -eq "$2" ]; then
			same=$((same + 1))
			[ $same -ge 20 ] && return 0
		else
			same=0
		fi
		sleep 0.1
	done
	return 1
}

e2e_start outlet1 outlet "$E2E_DIR/outlet1.yaml"
tap $? "first weir outlet starts"
e2e_start inlet inlet "$E2E_DIR/inlet.yaml"
tap $? "weir inlet starts"
wait_held "$E2E_DIR/outlet1.log" $PARTITIONS
tap $? "the first outlet holds all $PARTITIONS partitions"

# 8 exporters (keys spread over the partitions), for about 50 s. NetFlow v5:
# no templates. With v9/IPFIX, a member that takes a partition over reads
# data sets before the exporter's next template and parks them; the outlet
# (user/outlet/commit.c) then gives a revoked batch back uncommitted while
# anything is parked, which duplicates what it stored of that batch: an
# outlet policy, not the bus's commits that this test is about.
N=12000
RATE=240
list=
for k in 0 1 2 3 4 5 6 7; do
	"$FLOWGEN" stream -t "127.0.0.1:$UDP" -b "127.0.0.$((90 + k))" -f v5 -n $N -r $RATE \
		>"$E2E_DIR/stream-$k.sent" &
	E2E_EXTRA_PIDS="$E2E_EXTRA_PIDS $!"
	list="$list${list:+, }IPv6StringToNum('::ffff:127.0.0.$((90 + k))')"
done
W="ExporterAddress IN ($list)"
DISTINCT="uniqExact(ExporterAddress, SrcAddr, SrcPort)"
TOTAL=$((8 * N))

# ---- a second outlet joins in the middle of the stream ----
e2e_wait_value "SELECT count() > 8000 FROM $DB.flows WHERE $W" 1 120 >/dev/null
e2e_start outlet2 outlet "$E2E_DIR/outlet2.yaml"
tap $? "second weir outlet starts during the stream"
wait_held "$E2E_DIR/outlet2.log" $((PARTITIONS / 2)) && wait_held "$E2E_DIR/outlet1.log" $((PARTITIONS / 2))
tap $? "the group rebalanced: each outlet holds $((PARTITIONS / 2)) partitions"
stored=$(ch_query "SELECT count() FROM $DB.flows WHERE $W")
echo "# $stored of $TOTAL flows stored when the group settled"

# ---- then the first one leaves, still during the stream ----
e2e_wait_value "SELECT count() > $((stored + 8000)) FROM $DB.flows WHERE $W" 1 120 >/dev/null
e2e_stop outlet1 TERM
tap $? "first weir outlet leaves (SIGTERM) during the stream, exit 0"
wait_held "$E2E_DIR/outlet2.log" $PARTITIONS
tap $? "the second outlet holds all $PARTITIONS partitions"
live=0
for p in $E2E_EXTRA_PIDS; do kill -0 "$p" 2>/dev/null && live=$((live + 1)); done
echo "# $live of 8 streams still running when the group settled (0: the test came too late)"
wait $E2E_EXTRA_PIDS
E2E_EXTRA_PIDS=

got=$(e2e_wait_value "SELECT $DISTINCT FROM $DB.flows WHERE $W" $TOTAL 180)
tap $? "every one of $TOTAL flows is in ClickHouse ($got distinct)"
# Give a late duplicate time to land before counting.
sleep 3
dups=$(ch_query "SELECT count() - $DISTINCT FROM $DB.flows WHERE $W")
# Metrics of the outlet still running (outlet 1 logged its own on the way).
m() { e2e_metric "$HTTP_2" "$1{topic=\"$TOPIC\"}"; }
echo "# duplicates: $dups; outlet 2: commits refused $(m weir_bus_kafka_commit_failures_total)," \
	"committed when the rebalance ended $(m weir_bus_kafka_handover_commits_total)," \
	"messages given up $(m weir_bus_kafka_revoked_uncommitted_total)"
grep -h 'kafka offsets given up' "$E2E_DIR"/outlet*.log | sed 's/^/# /'
[ "$dups" = 0 ]
tap $? "no flow stored twice across the two rebalances ($dups duplicates)"

e2e_stop inlet TERM
tap $? "weir inlet exits 0 on SIGTERM"
e2e_stop outlet2 TERM
tap $? "second weir outlet exits 0 on SIGTERM"

echo "1..$E2E_N"
exit $E2E_FAILED
