# SPDX-License-Identifier: AGPL-3.0-or-later
# A throw-away Kafka cluster for tests: librdkafka's mock cluster run by
# build/tests/tools/kafka_mock in its own process, on random loopback ports.
# Source it:
#
#   . tests/integration/lib/kafka.sh
#   kafka_available || { echo "1..0 # SKIP kafka_mock not built"; exit 0; }
#   kafka_start --brokers 3 --topic weir-flows-raw:8 || exit 1
#                               # exports KAFKA_BOOTSTRAP=127.0.0.1:P1,..., KAFKA_MOCK_PID
#   trap kafka_stop EXIT
#   kcat -b "$KAFKA_BOOTSTRAP" -L
#
# The cluster keeps everything in memory: kafka_stop loses it. Its stdin is
# a FIFO this shell holds open, so it also ends when the shell dies.
# What differs from a Kafka broker (librdkafka 2.0.2's mock):
# - no CreateTopics (its metadata names no controller): create topics with
#   --topic; others are auto-created with 4 partitions on first use;
# - each partition keeps only about 5 MB (and 100000 batches): older data is
#   deleted, so a consumer that falls behind loses messages;
# - a fetch is answered only after the consumer's fetch.wait.max.ms (500 ms
#   by default) even when data is there: set it to 1-10 ms in consumers
#   that must keep up (bus.kafka.consumer: {fetch.wait.max.ms: 5}).
#
# Also usable from C tests: `bash tests/integration/lib/kafka.sh start DIR
# [ARGS]` starts a cluster whose files go in DIR (which must exist), prints
# the bootstrap list and returns; `... stop DIR` stops it.

_kafka_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)

# kafka_mock_bin: path of the kafka_mock tool of the build in use.
kafka_mock_bin() {
	echo "${KAFKA_MOCK_BIN:-${WEIR_BUILD:-$_kafka_top/${BUILD:-build}}/tests/tools/kafka_mock}"
}

# kafka_available: 0 when kafka_mock is built.
kafka_available() {
	[ -x "$(kafka_mock_bin)" ]
}

# _kafka_wait_bootstrap FILE: prints the bootstrap list once FILE has it.
_kafka_wait_bootstrap() {
	local line
	for _ in $(seq 1 100); do
		line=$(sed -n 's/^bootstrap=//p' "$1" 2>/dev/null)
		[ -n "$line" ] && { echo "$line"; return 0; }
		sleep 0.1
	done
	return 1
}

# kafka_start [ARGS...]: starts a cluster (ARGS go to kafka_mock).
kafka_start() {
	KAFKA_DIR=$(mktemp -d /tmp/weir-kafka.XXXXXX) || return 1
	mkfifo "$KAFKA_DIR/stdin" || return 1
	"$(kafka_mock_bin)" "$@" <"$KAFKA_DIR/stdin" >"$KAFKA_DIR/out" 2>"$KAFKA_DIR/log" &
	KAFKA_MOCK_PID=$!
	# Opening the FIFO's write end lets the mock's open of its read end return.
	exec {KAFKA_STDIN_FD}>"$KAFKA_DIR/stdin"
	if ! KAFKA_BOOTSTRAP=$(_kafka_wait_bootstrap "$KAFKA_DIR/out"); then
		echo "kafka_start: the mock cluster did not start:" >&2
		cat "$KAFKA_DIR/log" >&2
		kafka_stop
		return 1
	fi
	export KAFKA_BOOTSTRAP KAFKA_MOCK_PID KAFKA_DIR
}

# kafka_stop: stops the cluster kafka_start started and removes its files.
kafka_stop() {
	if [ -n "${KAFKA_MOCK_PID:-}" ]; then
		kill "$KAFKA_MOCK_PID" 2>/dev/null
		wait "$KAFKA_MOCK_PID" 2>/dev/null
		KAFKA_MOCK_PID=
	fi
	if [ -n "${KAFKA_STDIN_FD:-}" ]; then
		exec {KAFKA_STDIN_FD}>&-
		KAFKA_STDIN_FD=
	fi
	[ -n "${KAFKA_DIR:-}" ] && rm -rf "$KAFKA_DIR"
	KAFKA_DIR=
	return 0
}

# Command-line use (from C tests): kafka.sh start DIR [ARGS] | stop DIR
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case "${1:-}" in
	available) kafka_available ;;
	start)
		[ -n "${2:-}" ] || { echo "usage: $0 start DIR [ARGS]" >&2; exit 2; }
		dir=$2
		shift 2
		setsid "$(kafka_mock_bin)" "$@" </dev/null >"$dir/out" 2>"$dir/log" &
		echo $! >"$dir/pid"
		_kafka_wait_bootstrap "$dir/out" || { cat "$dir/log" >&2; exit 1; } ;;
	stop)
		[ -n "${2:-}" ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
		[ -f "$2/pid" ] && kill "$(cat "$2/pid")" 2>/dev/null
		rm -f "$2/pid" ;;
	"")
		# tests/run.sh finds this file among the test scripts: check the
		# library itself, in TAP, with kcat as the client.
		if ! kafka_available; then
			echo "ok 1 - kafka library # SKIP $(kafka_mock_bin) not built"
			exit 0
		fi
		if ! command -v kcat >/dev/null; then
			echo "ok 1 - kafka library # SKIP kcat not installed"
			exit 0
		fi
		trap kafka_stop EXIT
		if kafka_start --brokers 2 --topic lib-test:3; then
			echo "ok 1 - cluster starts on $KAFKA_BOOTSTRAP"
		else
			echo "not ok 1 - cluster starts"
			exit 1
		fi
		if kcat -b "$KAFKA_BOOTSTRAP" -L -t lib-test 2>&1 | grep -q 'topic "lib-test" with 3 partitions'; then
			echo "ok 2 - topic listed with its partitions"
		else
			echo "not ok 2 - topic listed with its partitions"
		fi
		printf 'one\ntwo\n' | kcat -b "$KAFKA_BOOTSTRAP" -P -t lib-test -k k 2>/dev/null
		got=$(kcat -b "$KAFKA_BOOTSTRAP" -C -t lib-test -o beginning -e -q 2>/dev/null | tr '\n' ' ')
		[ "$got" = "one two " ] && echo "ok 3 - messages come back" ||
			echo "not ok 3 - messages come back ($got)"
		pid=$KAFKA_MOCK_PID
		kafka_stop
		if kill -0 "$pid" 2>/dev/null; then echo "not ok 4 - cluster stops"; else echo "ok 4 - cluster stops"; fi
		# Dies with its parent: a shell that starts one and is killed.
		bash -c '. "$1"; kafka_start >/dev/null && echo $KAFKA_MOCK_PID $KAFKA_DIR >"$2"; kill -9 $$' _ \
			"${BASH_SOURCE[0]}" "/tmp/weir-kafka-lib.$$" 2>/dev/null
		read -r orphan orphan_dir <"/tmp/weir-kafka-lib.$$" 2>/dev/null
		rm -f "/tmp/weir-kafka-lib.$$"
		case "${orphan_dir:-}" in /tmp/weir-kafka.*) rm -rf "$orphan_dir" ;; esac
		for _ in $(seq 1 50); do
			[ -n "$orphan" ] && kill -0 "$orphan" 2>/dev/null || break
			sleep 0.1
		done
		if [ -n "$orphan" ] && ! kill -0 "$orphan" 2>/dev/null; then
			echo "ok 5 - cluster ends when its shell is killed"
		else
			echo "not ok 5 - cluster ends when its shell is killed"
			[ -n "$orphan" ] && kill "$orphan" 2>/dev/null
		fi
		echo "1..5"
		;;
	*) echo "usage: $0 available | start DIR [ARGS] | stop DIR" >&2; exit 2 ;;
	esac
fi
