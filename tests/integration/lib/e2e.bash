# SPDX-License-Identifier: AGPL-3.0-or-later
# Helpers of the end-to-end tests (test_e2e_*.sh): TAP lines, weir processes
# started from a generated config, count-based waits on ClickHouse. Sourced
# (it sources lib/clickhouse.sh and lib/kafka.sh):
#
#   . "$(dirname "$0")/lib/e2e.bash"
#   e2e_setup weir-my-test [kafka]
#
# WEIR and FLOWGEN are the binaries of $WEIR_BUILD (default: build/ of this
# checkout). (Not named *.sh: tests/run.sh runs those.)

_e2e_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_e2e_lib/clickhouse.sh"
. "$_e2e_lib/kafka.sh"
_e2e_build=${WEIR_BUILD:-$(cd "$_e2e_lib/../../.." && pwd)/build}
WEIR=$_e2e_build/weir
FLOWGEN=$_e2e_build/tests/tools/flowgen

E2E_N=0
E2E_FAILED=0
E2E_NAMES=      # what e2e_start started: stopped (KILL) at exit
E2E_EXTRA_PIDS= # other background processes of a test: killed at exit
E2E_KAFKA=

# e2e_cleanup: the exit trap e2e_setup installs.
e2e_cleanup() {
	local name
	[ -n "$E2E_EXTRA_PIDS" ] && kill $E2E_EXTRA_PIDS 2>/dev/null
	for name in $E2E_NAMES; do
		e2e_stop "$name" KILL >/dev/null 2>&1
	done
	[ -n "$E2E_KAFKA" ] && kafka_stop
	ch_stop
	[ "$E2E_FAILED" = 0 ] && rm -rf "$E2E_DIR" || echo "# logs kept in $E2E_DIR"
}

# e2e_setup NAME [kafka]: the start every end-to-end test shares. Skips the whole test (TAP "1..0 # SKIP") when
# clickhouse-server, weir or flowgen (with "kafka": the mock cluster, which
# lib/kafka.sh starts) are missing; else makes E2E_DIR, starts ClickHouse
# under it (CH_URL) and cleans up at exit.
e2e_setup() {
	local name=$1 b
	if ! ch_available; then
		echo "1..0 # SKIP clickhouse-server not installed"
		exit 0
	fi
	for b in "$WEIR" "$FLOWGEN"; do
		if [ ! -x "$b" ]; then
			echo "1..0 # SKIP $b not built"
			exit 0
		fi
	done
	if [ "${2:-}" = kafka ]; then
		if ! kafka_available; then
			echo "1..0 # SKIP $(kafka_mock_bin) not built"
			exit 0
		fi
		E2E_KAFKA=1
	fi
	E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
	trap e2e_cleanup EXIT
	mkdir -p "$E2E_DIR/ch"
	if ! ch_start "$E2E_DIR/ch" >/dev/null; then
		echo "not ok 1 - clickhouse-server starts"
		exit 1
	fi
}

# ok COND_STATUS DESCRIPTION: one TAP line from the status of the last command.
tap() {
	local status=$1
	shift
	E2E_N=$((E2E_N + 1))
	if [ "$status" -eq 0 ]; then
		echo "ok $E2E_N - $*"
	else
		echo "not ok $E2E_N - $*"
		E2E_FAILED=1
	fi
}

tap_skip() {
	E2E_N=$((E2E_N + 1))
	echo "ok $E2E_N - $1 # SKIP $2"
}

# e2e_free_udp_port: a UDP port nothing is bound to on loopback (ch_free_port
# gives ports free for both protocols).
e2e_free_udp_port() {
	ch_free_port
}

# e2e_start NAME ROLE CONFIG [ARGS...]: starts `weir ROLE -c CONFIG`, logs in
# $E2E_DIR/NAME.log, pid in E2E_PID_<NAME>; waits for its "ready" line (60 s).
e2e_start() {
	local name=$1 role=$2 config=$3 pid skip
	shift 3
	# The log is appended to across restarts: look only past its end.
	skip=$(cat "$E2E_DIR/$name.log" 2>/dev/null | wc -l)
	setsid "$WEIR" "$role" -c "$config" "$@" >>"$E2E_DIR/$name.log" 2>&1 </dev/null &
	pid=$!
	eval "E2E_PID_$name=$pid"
	case " $E2E_NAMES " in *" $name "*) ;; *) E2E_NAMES="$E2E_NAMES $name" ;; esac
	for _ in $(seq 1 600); do
		if tail -n +$((skip + 1)) "$E2E_DIR/$name.log" 2>/dev/null | grep -q 'msg="ready"'; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "# weir $role ($name) did not get ready; its log:" >&2
	sed 's/^/# /' "$E2E_DIR/$name.log" >&2
	return 1
}

# e2e_stop NAME [SIGNAL]: sends SIGNAL (TERM) and waits (60 s, then KILL).
# Returns the exit status of the process when it could be read.
e2e_stop() {
	local name=$1 sig=${2:-TERM} pid
	eval "pid=\${E2E_PID_$name:-}"
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null
	for _ in $(seq 1 600); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "# $name did not stop within 60 s: killed" >&2
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	local rc=$?
	eval "E2E_PID_$name="
	return $rc
}

# e2e_wait_value SQL EXPECTED SECONDS: polls until SQL answers EXPECTED.
# Prints the last answer; returns 1 on time-out. Time bounds the wait only:
# the assertion is on the value.
e2e_wait_value() {
	local sql=$1 want=$2 secs=$3 got=
	local end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		got=$(ch_query "$sql" 2>/dev/null)
		if [ "$got" = "$want" ]; then
			echo "$got"
			return 0
		fi
		sleep 0.5
	done
	echo "$got"
	return 1
}

# e2e_metric NAME_AND_LABELS: the value of one series of the current
# /metrics of the listener at $1 (host:port).
e2e_metric() {
	curl -s --max-time 5 "http://$1/metrics" | awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'
}

# e2e_wait_stored EXPORTER N SECONDS: until the weir at $HTTP counts N flows
# of EXPORTER stored (it counts them once the flush that stored them
# returns: a moment after ClickHouse shows the rows); prints the count,
# fails when it is not N by then.
e2e_wait_stored() {
	local got=0 end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		got=$(e2e_metric "$HTTP" "weir_outlet_flows_stored_total{exporter=\"$1\"}")
		[ "$got" = "$2" ] && break
		sleep 0.2
	done
	echo "$got"
	[ "$got" = "$2" ]
}

# e2e_ring_loss_reported NAME HTTP: the last start of weir NAME (log
# $E2E_DIR/NAME.log, listener HTTP) reported the unclean stop before it: the
# log line with up to N > 0 datagrams lost in flight, fewer than the run
# accepted (it had stored some), and weir_bus_ring_lost_at_crash_total = N.
# Two TAP lines.
e2e_ring_loss_reported() {
	local line lost accepted got
	line=$(grep 'msg="unclean stop: datagrams in flight were lost"' "$E2E_DIR/$1.log" | tail -n 1)
	lost=$(echo "$line" | sed -n 's/.*datagrams_up_to=\([0-9]*\).*/\1/p')
	accepted=$(echo "$line" | sed -n 's/.* accepted=\([0-9]*\).*/\1/p')
	[ -n "$lost" ] && [ "$lost" -gt 0 ] && [ -n "$accepted" ] && [ "$lost" -lt "$accepted" ]
	tap $? "$1: the restart logs the unclean stop: up to ${lost:-?} datagrams in flight were lost (of ${accepted:-?} accepted)"
	got=$(e2e_metric "$2" weir_bus_ring_lost_at_crash_total)
	[ -n "$lost" ] && [ "$got" = "$lost" ]
	tap $? "$1: weir_bus_ring_lost_at_crash_total counts them ($got)"
}

# e2e_exporter_where ADDR: the SQL condition for one IPv4 exporter.
e2e_exporter_where() {
	echo "ExporterAddress = IPv6StringToNum('::ffff:$1')"
}

# The columns e2e_exact_rows compares (flowgen exact prints them).
E2E_EXACT_COLS="IPv6NumToString(ExporterAddress), IPv6NumToString(SrcAddr),
 IPv6NumToString(DstAddr), IPv6NumToString(NextHop), SrcAS, DstAS, InIf, OutIf, SrcPort,
 DstPort, Proto, Bytes, Packets, SamplingRate, SrcNetMask, DstNetMask, TCPFlags, IPTos"

# e2e_exact_rows DB UDP WAIT WHERE_TO: for each format (v5, v9, IPFIX,
# sFlow), flowgen's 3 known flows from exporter 127.0.0.41.. to UDP; each
# row of DB.flows must hold exactly the expected values (one TAP line per
# format: "FORMAT: the 3 flows WHERE_TO with exact values").
e2e_exact_rows() {
	local db=$1 udp=$2 wait=$3 where_to=$4 i=0 fmt exporter
	for fmt in v5 v9 ipfix sflow; do
		i=$((i + 1))
		exporter=127.0.0.$((40 + i))
		"$FLOWGEN" exact -t "127.0.0.1:$udp" -b "$exporter" -f "$fmt" \
			>"$E2E_DIR/exact-$fmt.tsv" 2>/dev/null
		e2e_wait_value "SELECT count() FROM $db.flows WHERE $(e2e_exporter_where $exporter)" 3 \
			"$wait" >/dev/null
		ch_query "SELECT $E2E_EXACT_COLS FROM $db.flows WHERE $(e2e_exporter_where $exporter)
			ORDER BY SrcPort" | grep -v '^$' >"$E2E_DIR/got-$fmt.tsv"
		# "-" in the expectation: a column this format does not carry.
		if paste "$E2E_DIR/exact-$fmt.tsv" "$E2E_DIR/got-$fmt.tsv" | awk -F'\t' '
			{ n = NF / 2; for (c = 1; c <= n; c++) if ($c != "-" && $c != $(c + n)) {
				printf "# row %d column %d: expected %s, got %s\n", NR, c, $c, $(c + n)
				bad = 1 } }
			END { exit bad || NR != 3 }'; then
			tap 0 "$fmt: the 3 flows $where_to with exact values"
		else
			tap 1 "$fmt: the 3 flows $where_to with exact values"
			sed 's/^/# expected: /' "$E2E_DIR/exact-$fmt.tsv"
			sed 's/^/# got:      /' "$E2E_DIR/got-$fmt.tsv"
		fi
	done
}

# e2e_stream DB UDP EXPORTER N RATE: N IPFIX flows from EXPORTER at RATE
# flows/s; checks that each is in DB.flows once, and that the Bytes and
# Packets sums of flows and of every consolidated table are what was sent.
# Sets STREAM_SENT (flowgen's summary), STREAM_DATAGRAMS and STREAM_WHERE.
e2e_stream() {
	local db=$1 udp=$2 exp=$3 n=$4 rate=$5 bytes packets got t
	STREAM_WHERE=$(e2e_exporter_where "$exp")
	STREAM_SENT=$("$FLOWGEN" stream -t "127.0.0.1:$udp" -b "$exp" -f ipfix -n "$n" -r "$rate")
	bytes=$(echo "$STREAM_SENT" | sed -n 's/.* bytes=\([0-9]*\).*/\1/p')
	packets=$(echo "$STREAM_SENT" | sed -n 's/.* packets=\([0-9]*\).*/\1/p')
	STREAM_DATAGRAMS=$(echo "$STREAM_SENT" | sed -n 's/.* datagrams=\([0-9]*\).*/\1/p')
	got=$(e2e_wait_value "SELECT count() FROM $db.flows WHERE $STREAM_WHERE" "$n" 120)
	tap $? "stream of $n IPFIX flows: $got rows in flows"
	got=$(ch_query "SELECT uniqExact(SrcAddr, SrcPort), count() - uniqExact(SrcAddr, SrcPort)
		FROM $db.flows WHERE $STREAM_WHERE")
	[ "$got" = "$n	0" ]
	tap $? "every flow of the stream is stored once (distinct, duplicates: $got)"
	got=$(ch_query "SELECT sum(Bytes), sum(Packets) FROM $db.flows WHERE $STREAM_WHERE")
	[ "$got" = "$bytes	$packets" ]
	tap $? "flows: sums of Bytes and Packets are what was sent ($got vs $bytes $packets)"
	for t in flows_1m flows_5m flows_1h; do
		got=$(e2e_wait_value "SELECT sum(Bytes), sum(Packets) FROM $db.$t WHERE $STREAM_WHERE" \
			"$bytes	$packets" 30)
		tap $? "$t: sums of Bytes and Packets are what was sent ($got)"
	done
}

# e2e_kafka_start TOPIC:PARTITIONS: the mock cluster (lib/kafka.sh) on
# random ports, with that topic, and its TAP line.
e2e_kafka_start() {
	kafka_start --topic "$1"
	tap $? "Kafka mock cluster up ($KAFKA_BOOTSTRAP)"
}

# e2e_config FILE HTTP BATCH_INTERVAL [CLICKHOUSE_LINE]: what every test's
# weir.yaml has before its bus: section (the caller appends it): ClickHouse
# CH_URL database DB with short retries, UDP input 127.0.0.1:UDP, 2 outlet
# workers. CLICKHOUSE_LINE ("key: value") is added to its section.
e2e_config() {
	local file=$1 http=$2 interval=$3 ch_line=${4:-}
	cat >"$file" <<EOF
log:
  level: info
http:
  listen: $http
clickhouse:
  url: $CH_URL
  database: $DB
  batch-interval: $interval
  retry-min: 100ms
  retry-max: 2s
  connect-timeout: 1s
${ch_line:+  $ch_line}
flow:
  inputs:
    - type: udp
      listen: "127.0.0.1:$UDP"
outlet:
  workers: 2
EOF
}

# e2e_kafka_config FILE HTTP GROUP PARTITIONS [CLICKHOUSE_LINE] [KAFKA_LINE]
#                  [CONSUMER_LINE]: e2e_config (batch-interval 1s) and the
# Kafka bus of the mock cluster (KAFKA_BOOTSTRAP, TOPIC) with a quick
# consumer group. Each optional LINE ("key: value") is added to its section.
e2e_kafka_config() {
	local file=$1 http=$2 group=$3 partitions=$4 ch_line=${5:-} kafka_line=${6:-}
	local consumer_line=${7:-}
	e2e_config "$file" "$http" 1s "$ch_line"
	cat >>"$file" <<EOF
bus:
  type: kafka
  kafka:
    brokers: [$(echo "$KAFKA_BOOTSTRAP" | sed 's/\([^,]*\)/"\1"/g; s/,/, /g')]
    topic: $TOPIC
    partitions: $partitions
    consumer-group: $group
${kafka_line:+    $kafka_line}
    consumer:
      session.timeout.ms: "6000"
      heartbeat.interval.ms: "500"
      fetch.wait.max.ms: "5"
${consumer_line:+      $consumer_line}
EOF
}
