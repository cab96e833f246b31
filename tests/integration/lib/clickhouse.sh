# SPDX-License-Identifier: AGPL-3.0-or-later
# A throw-away clickhouse-server for tests: own config, data and logs under a
# temporary directory, listening on 127.0.0.1 only, on free ports. Source it:
#
#   . tests/integration/lib/clickhouse.sh
#   ch_available || { echo "1..0 # SKIP clickhouse-server not installed"; exit 0; }
#   ch_start || exit 1          # exports CH_URL=http://127.0.0.1:PORT, CH_DIR, CH_PID
#   trap ch_stop EXIT
#   ch_query "SELECT 1"         # POSTs one query to CH_URL, prints the answer
#   ch_stop; ch_start           # restart on the same ports and data (CH_DIR kept)
#   ch_cleanup                  # stop and remove CH_DIR
#
# The server is started and stopped by weir's one launcher of private
# servers (user/bench/clickhouse.c, through the hidden `weir bench
# clickhouse-server start|stop DIR`), as the benchmarks and the C tests start
# theirs: the same configuration everywhere. It needs weir built
# ($WEIR_BUILD/weir, else $BUILD/weir, default build/weir). Through the
# environment: CH_COMPRESSION (zstd; lz4 or empty: the server's default),
# CH_MALLOC_CONF (jemalloc options; empty: its defaults) and CH_WATCH_PID
# (stop the server once that process has exited). Everything the server
# needs is in DIR: config.xml, users.xml, data/, log/, pid, url. Nothing
# outside DIR is written.

CH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)

# ch_weir: the weir binary that launches the servers.
ch_weir() {
	local b=${BUILD:-build}
	case "$b" in /*) ;; *) b=$CH_TOP/$b ;; esac
	echo "${WEIR_BUILD:-$b}/weir"
}

# ch_available: 0 when a clickhouse-server binary is installed (and weir,
# which starts it, is built).
ch_available() {
	[ -x "$(ch_weir)" ] && "$(ch_weir)" bench clickhouse-server available
}

# ch_free_port: prints a port of 127.0.0.1 that nothing uses, below the
# kernel's ephemeral range (where an outgoing connection could take it before
# the server binds it) and reserved against the next call: see
# user/common/free_port.h.
ch_free_port() {
	"$(ch_weir)" bench free-port
}

# ch_start_in DIR: starts (or restarts) the server whose files are in DIR,
# writing the config on first use. Waits until it answers (30 s at most).
# Sets CH_DIR, CH_URL, CH_PID. Returns 1 (log tail on stderr) if it never answers.
ch_start_in() {
	local dir=$1 url
	url=$("$(ch_weir)" bench clickhouse-server start "$dir") || return 1
	CH_DIR=$dir
	CH_URL=$url
	CH_PID=$(cat "$dir/pid")
	export CH_DIR CH_URL CH_PID
}

# ch_start [DIR]: like ch_start_in with a new temporary directory by default,
# or CH_DIR when already set (a restart keeps ports and data).
ch_start() {
	local dir=${1:-${CH_DIR:-}}
	if [ -z "$dir" ]; then
		dir=$(mktemp -d "${TMPDIR:-/tmp}/weir-ch.XXXXXX") || return 1
	fi
	ch_start_in "$dir"
}

# ch_stop [DIR]: SIGTERM to the server of DIR (default CH_DIR), SIGKILL after
# 20 s; returns when it is gone. Data stay.
ch_stop() {
	local dir=${1:-${CH_DIR:-}}
	[ -n "$dir" ] && [ -f "$dir/pid" ] || return 0
	"$(ch_weir)" bench clickhouse-server stop "$dir"
	return 0
}

# ch_cleanup: stops the server and removes its directory.
ch_cleanup() {
	ch_stop
	if [ -n "${CH_DIR:-}" ] && [ -d "$CH_DIR" ]; then
		rm -rf "$CH_DIR"
	fi
	CH_DIR=
}

# ch_query SQL [URL]: runs SQL through the HTTP interface; prints the result
# (TabSeparated); returns 1 and prints ClickHouse's error on stderr on failure.
ch_query() {
	local sql=$1 url=${2:-$CH_URL} out rc
	out=$(curl -sS --max-time 120 -w '\n%{http_code}' --data-binary "$sql" "$url/" 2>&1)
	rc=${out##*$'\n'}
	out=${out%$'\n'*}
	if [ "$rc" != 200 ]; then
		echo "ch_query: HTTP $rc: $out" >&2
		return 1
	fi
	[ -n "$out" ] && printf '%s\n' "$out"
	return 0
}

# Run as a script (tests/run.sh finds this file among the test scripts):
# checks the library itself, in TAP.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	if ! ch_available; then
		echo "ok 1 - clickhouse library # SKIP clickhouse-server not installed or weir not built"
		exit 0
	fi
	trap ch_cleanup EXIT
	if ch_start; then echo "ok 1 - server starts on $CH_URL"; else echo "not ok 1 - server starts"; exit 1; fi
	v=$(ch_query "SELECT 1 + 1")
	[ "$v" = 2 ] && echo "ok 2 - query answers" || echo "not ok 2 - query answers ($v)"
	ch_query "CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x" &&
		ch_query "INSERT INTO t VALUES (7)"
	ch_stop
	if curl -fsS --max-time 1 "$CH_URL/ping" >/dev/null 2>&1; then
		echo "not ok 3 - server stops"
	else
		echo "ok 3 - server stops"
	fi
	ch_start >/dev/null
	v=$(ch_query "SELECT x FROM t")
	[ "$v" = 7 ] && echo "ok 4 - restart keeps port and data" ||
		echo "not ok 4 - restart keeps port and data ($v)"
	# The configuration every launcher writes (user/bench/clickhouse.c),
	# unless the environment asks for another.
	if [ -n "${CH_COMPRESSION+set}" ]; then
		echo "ok 5 - 127.0.0.1 only, zstd parts # SKIP CH_COMPRESSION is set"
	elif grep -q '<listen_host>127.0.0.1</listen_host>' "$CH_DIR/config.xml" &&
		grep -q '<method>zstd</method>' "$CH_DIR/config.xml"; then
		echo "ok 5 - 127.0.0.1 only, zstd parts"
	else
		echo "not ok 5 - 127.0.0.1 only, zstd parts"
	fi
	if [ -n "${CH_MALLOC_CONF+set}" ]; then
		echo "ok 6 - the server keeps its freed pages # SKIP CH_MALLOC_CONF is set"
	elif tr '\0' '\n' <"/proc/$CH_PID/environ" 2>/dev/null |
		grep -qx 'MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1'; then
		echo "ok 6 - the server keeps its freed pages (MALLOC_CONF)"
	else
		echo "not ok 6 - the server keeps its freed pages (MALLOC_CONF)"
	fi
	echo "1..6"
fi
