#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# `make deps`: installs the Debian packages and the web/ npm packages weir
# needs, and the embedded ClickHouse (libchdb.so, pinned below) into
# third_party/chdb/ (or $CHDB_DIR). Idempotent and quiet when everything is
# there already.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
packages=(
	build-essential clang llvm lld pkg-config make git ca-certificates
	libbpf-dev libxdp-dev xdp-tools bpftool libelf-dev zlib1g-dev
	librdkafka-dev kcat libmaxminddb-dev mmdb-bin libmaxmind-db-writer-perl
	libsnmp-dev snmpd snmp libyaml-dev libh2o-evloop-dev libcurl4-openssl-dev libssl-dev
	clickhouse-server clickhouse-client libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
	libpcre2-dev libcmocka-dev libpcap-dev libclang-rt-14-dev
	tshark softflowd nfdump pmacct
	iproute2 iputils-ping ethtool socat tcpdump procps psmisc curl jq
	chromium
)
missing=()
# Node.js may come from elsewhere than Debian (with its own npm): only ask
# Debian for it when there is none.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# tshark asks whether non-root users may capture; answer once, quietly.
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# web/: the console's build tools and playwright-core (the browser tests
# drive Debian's chromium with it; it downloads no browser). `npm ci` installs
# exactly the committed lockfile, again whenever the lockfile is newer than
# node_modules; without a lockfile, `npm install` writes one.
web=$top/web
if [ -f "$web/package.json" ]; then
	if [ -f "$web/package-lock.json" ]; then
		if [ ! -d "$web/node_modules" ] || [ "$web/package-lock.json" -nt "$web/node_modules" ]; then
			echo "deps: npm ci in web/"
			(cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
			touch "$web/node_modules"
		fi
	elif [ ! -d "$web/node_modules" ]; then
		echo "deps: npm install in web/"
		(cd "$web" && npm install --no-audit --no-fund --loglevel=error)
	fi
fi
# The embedded ClickHouse: one exact version (user/store/chdb.h checks it at
# load), about 560 MB, outside build/ so that `make clean` keeps it. weir
# finds third_party/chdb/libchdb.so from the executable's place; another
# $CHDB_DIR through WEIR_CHDB_LIB or the configured library path.
chdb_package=@chdb/lib-linux-x64-gnu
chdb_version=26.7.3-stable.1
chdb_dir=${CHDB_DIR:-$top/third_party/chdb}
chdb_lib=$chdb_dir/node_modules/$chdb_package/libchdb.so
chdb_installed() {
	[ -f "$chdb_lib" ] && [ -L "$chdb_dir/libchdb.so" ] &&
		grep -q "\"version\": *\"$chdb_version\"" "$chdb_dir/node_modules/$chdb_package/package.json" 2>/dev/null
}
if ! chdb_installed; then
	echo "deps: npm install $chdb_package@$chdb_version into $chdb_dir (about 560 MB)"
	mkdir -p "$chdb_dir"
	# Its own package.json, so that npm neither looks for one above nor
	# touches web/.
	[ -f "$chdb_dir/package.json" ] || echo '{"private": true}' >"$chdb_dir/package.json"
	(cd "$chdb_dir" && npm install --no-audit --no-fund --loglevel=error --save-exact \
		"$chdb_package@$chdb_version" >/dev/null)
	ln -sfn "node_modules/$chdb_package/libchdb.so" "$chdb_dir/libchdb.so"
	chdb_installed || { echo "deps: $chdb_lib missing after npm install" >&2; exit 1; }
fi
exit 0
