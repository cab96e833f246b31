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
# Also usable from C tests: `bash tests/integration/lib/clickhouse.sh start DIR`
# starts a server with its files in DIR (which must exist), prints its URL
# and returns; `... stop DIR` stops it (SIGTERM, then SIGKILL after 20 s).
# With CH_WATCH_PID=PID in the environment, the server is also stopped once
# process PID has exited (the caller was killed before cleaning up).
# Everything the server needs is in DIR: config.xml, users.xml, data/, log/,
# pid, url. Nothing outside DIR is written.

# jemalloc options of the servers started here (see ch_start_in).
CH_DEFAULT_MALLOC_CONF="dirty_decay_ms:-1,muzzy_decay_ms:-1"

# ch_available: 0 when a clickhouse-server binary is installed.
ch_available() {
	command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/bin/clickhouse ]
}

# ch_server_cmd: the command that runs the server (Debian ships both forms).
ch_server_cmd() {
	if command -v clickhouse-server >/dev/null 2>&1; then
		echo clickhouse-server
	else
		echo "/usr/bin/clickhouse server"
	fi
}

# ch_free_port: prints a TCP port nothing listens on at the moment.
ch_free_port() {
	local port
	for _ in $(seq 1 200); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# ch_write_config DIR HTTP_PORT TCP_PORT: writes DIR/config.xml and users.xml.
# CH_COMPRESSION (default zstd; lz4 or an empty value for the server's own
# default, LZ4) sets the server's compression of every part: on 18.16 there
# are no per-column codecs, this is the only knob. zstd is what operators are
# told to configure (user/store/README.md): ~19 against ~27 bytes per flow.
ch_write_config() {
	local dir=$1 http=$2 tcp=$3 compression= method=${CH_COMPRESSION-zstd}
	mkdir -p "$dir/data" "$dir/tmp" "$dir/log" "$dir/user_files" "$dir/format_schemas"
	if [ -n "$method" ] && [ "$method" != lz4 ]; then
		compression="<compression><case><min_part_size>0</min_part_size>"
		compression+="<min_part_size_ratio>0</min_part_size_ratio>"
		compression+="<method>$method</method></case></compression>"
	fi
	cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>information</level>
        <log>$dir/log/server.log</log>
        <errorlog>$dir/log/server.err.log</errorlog>
        <size>100M</size>
        <count>2</count>
        <console>0</console>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$http</http_port>
    <tcp_port>$tcp</tcp_port>
    <max_connections>256</max_connections>
    <keep_alive_timeout>30</keep_alive_timeout>
    <max_concurrent_queries>64</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
    <dictionaries_config>$dir/*_dictionary.xml</dictionaries_config>
    $compression
</yandex>
EOF
	cat >"$dir/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <load_balancing>random</load_balancing>
        </default>
        <readonly>
            <readonly>1</readonly>
        </readonly>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
	echo "http://127.0.0.1:$http" >"$dir/url"
}

# ch_start_in DIR: starts (or restarts) the server whose files are in DIR,
# writing the config on first use. Waits until it answers (30 s at most).
# Sets CH_DIR, CH_URL, CH_PID. Returns 1 (log tail on stderr) if it never answers.
ch_start_in() {
	local dir=$1 http tcp
	if [ ! -f "$dir/config.xml" ]; then
		http=$(ch_free_port) && tcp=$(ch_free_port) || return 1
		while [ "$tcp" = "$http" ]; do tcp=$(ch_free_port); done
		ch_write_config "$dir" "$http" "$tcp"
	fi
	CH_DIR=$dir
	CH_URL=$(cat "$dir/url")
	# setsid: the server must not get the test's terminal signals, and
	# closing its stdio lets $(...) callers return at once.
	# MALLOC_CONF: Debian's 18.16 allocates through the system jemalloc,
	# which gives freed memory back to the kernel within seconds; every
	# insert then faults its block's pages in again (page faults were
	# about a tenth of the server's CPU under weir bench e2e). Keeping
	# them (RSS stays at its peak) is what user/store/README.md advises
	# operators too. CH_MALLOC_CONF overrides it ("" = jemalloc's default).
	(cd "$dir" && MALLOC_CONF=${CH_MALLOC_CONF-$CH_DEFAULT_MALLOC_CONF} exec setsid \
		$(ch_server_cmd) --config-file="$dir/config.xml" \
		</dev/null >>"$dir/log/stdout.log" 2>&1) &
	CH_PID=$!
	echo "$CH_PID" >"$dir/pid"
	export CH_DIR CH_URL CH_PID
	# CH_WATCH_PID: stop the server when that process is gone, so that a
	# test killed before its clean-up leaves no server behind.
	if [ -n "${CH_WATCH_PID:-}" ]; then
		(
			while kill -0 "$CH_WATCH_PID" 2>/dev/null && [ -f "$dir/pid" ]; do
				sleep 1
			done
			kill -0 "$CH_WATCH_PID" 2>/dev/null || ch_stop "$dir"
		) </dev/null >/dev/null 2>&1 &
	fi
	for _ in $(seq 1 300); do
		if curl -fsS --max-time 2 "$CH_URL/ping" >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$CH_PID" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	echo "clickhouse-server did not start; last lines of its logs:" >&2
	tail -n 20 "$dir/log/server.err.log" "$dir/log/stdout.log" >&2 2>/dev/null
	return 1
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
	local dir=${1:-${CH_DIR:-}} pid
	[ -n "$dir" ] && [ -f "$dir/pid" ] || return 0
	pid=$(cat "$dir/pid")
	rm -f "$dir/pid"
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	sleep 0.2
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

# Command-line use (from C tests): clickhouse.sh start|stop|available DIR
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case "${1:-}" in
	available) ch_available ;;
	start)
		[ -n "${2:-}" ] || { echo "usage: $0 start DIR" >&2; exit 2; }
		ch_start_in "$2" && echo "$CH_URL" ;;
	stop)
		[ -n "${2:-}" ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
		ch_stop "$2" ;;
	"")
		# tests/run.sh finds this file among the test scripts: check the
		# library itself, in TAP.
		if ! ch_available; then
			echo "ok 1 - clickhouse library # SKIP clickhouse-server not installed"
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
		;;
	*) echo "usage: $0 available | start DIR | stop DIR" >&2; exit 2 ;;
	esac
fi
