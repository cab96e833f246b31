/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The bench stage: every `weir bench NAME`, with what only benchmarks and
 * tests need (a private throw-away clickhouse-server, a veth pair between two
 * network namespaces). No other stage depends on it. */
#ifndef WEIR_BENCH_H
#define WEIR_BENCH_H

#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/error.h"

/* ---- `weir bench NAME`: one entry point per benchmark ----
 * argv[0] is the benchmark's name; each answers --help, does a fixed amount
 * of work (not a time limit), prints one line per figure to stdout and
 * returns the exit code (0 ok or skipped, 1 failed, 2 usage). */

/* decode: records/s/core of the NetFlow v9, IPFIX and sFlow decoders. */
int bench_decode_main(int argc, char **argv);
/* inlet: datagrams/s received on a veth pair, AF_XDP against recvmmsg (root). */
int bench_inlet_main(int argc, char **argv);
/* e2e: flows/s from UDP datagrams to ClickHouse rows, ring and Kafka buses. */
int bench_e2e_main(int argc, char **argv);
/* scale: `e2e --scale`: one exporter with several observation domains, flows/s
 * stored on 2 outlet workers vs 1 (target 1.7x). */
int bench_scale_main(int argc, char **argv);
/* kafka: envelopes/s through producer -> Kafka (or its mock) -> consumer. */
int bench_kafka_main(int argc, char **argv);
/* store: flows/s inserted into ClickHouse and bytes per flow on disk. */
int bench_store_main(int argc, char **argv);
/* probe: veth throughput with and without `weir probe` attached, its CPU,
 * softflowd side by side (root; softflowd for the comparison). */
int bench_probe_main(int argc, char **argv);
/* enrich: CPU per flow of the enrichment stage with warm caches. */
int bench_enrich_main(int argc, char **argv);
/* template-storm: CPU of a template storm with parked datagrams, decoded
 * again on every template (before) or once, when theirs comes (now). */
int bench_template_storm_main(int argc, char **argv);
/* junk-flood: one legitimate exporter beside a junk flood from outside the
 * allowlist, with the allowlist in XDP and in user space: datagrams kept,
 * junk offered, kernel drops (root, Linux 5.18+ for the flood). */
int bench_junk_flood_main(int argc, char **argv);
/* console: API latency p50/p95 of graphs, sankey and home widgets over N
 * flows in 7 days (caches off), then the browser's time to first graph and
 * to redraw after Apply (console_browser.mjs) and the web bundle's size. */
int bench_console_main(int argc, char **argv);
/* Not listed by `weir bench --help`: `weir bench clickhouse-server
 * available|start DIR|stop DIR`, the launcher below for shell scripts
 * (tests/integration/lib/clickhouse.sh, mk/demo.sh). */
int bench_clickhouse_main(int argc, char **argv);

/* ---- A private, throw-away clickhouse-server ----
 * Its own config, data and logs under one directory, listening on 127.0.0.1
 * only, on two free ports (HTTP, native). The directory holds config.xml,
 * users.xml, url, pid (while running), data/, log/, tmp/: nothing outside it
 * is written. One launcher for the benchmarks, the C tests and (through the
 * hidden subcommand) the shell tests, so every server is configured alike. */
struct bench_clickhouse_config {
	/* A directory to use (it must exist; kept by _free), or NULL for a new
	 * one, "$TMPDIR/<name>.XXXXXX" (TMPDIR default /tmp), removed by _free. */
	const char *dir;
	const char *name; /* NULL: "weir-ch" */
	/* Compression of every part (on 18.16 the only knob: no per-column
	 * codecs). NULL: $CH_COMPRESSION when set, else "zstd" (what operators
	 * are told, user/store/README.md). "" or "lz4": the server's own LZ4. */
	const char *compression;
	/* MALLOC_CONF of the server (jemalloc). NULL: $CH_MALLOC_CONF when set,
	 * else "dirty_decay_ms:-1,muzzy_decay_ms:-1" (freed pages kept rather
	 * than faulted in again at every insert); "": jemalloc's defaults. */
	const char *malloc_conf;
	/* > 0: the server is also stopped once this process has exited (a
	 * caller killed before its clean-up leaves no server behind). */
	pid_t watch_pid;
};

struct bench_clickhouse;

/* 1 when a clickhouse-server binary is installed, else 0. */
int bench_clickhouse_available(void);
/* Prepares the directory: on first use picks the ports and writes the
 * configuration; a directory that already has one keeps its ports and data
 * (a restart). Starts nothing. Returns 0 with *out, or -errno with *out =
 * NULL and `err` filled. */
int bench_clickhouse_new(const struct bench_clickhouse_config *cfg, struct bench_clickhouse **out,
			 struct error *err);
/* Starts the server (its own session, stdio to log/stdout.log), writes its
 * pid file and waits until it answers /ping (30 s at most). Returns 0, or
 * -errno with `err` saying why (the logs are in DIR/log). */
int bench_clickhouse_start(struct bench_clickhouse *ch, struct error *err);
/* SIGTERM to the server (from the pid file when another process started
 * it), SIGKILL after 20 s; returns once it is gone. Data stay. 0 when no
 * server was running too. */
int bench_clickhouse_stop(struct bench_clickhouse *ch);
/* Stops the server and frees `ch`; removes the directory when _new made
 * it. NULL is fine. */
void bench_clickhouse_free(struct bench_clickhouse *ch);
/* "http://127.0.0.1:PORT" */
const char *bench_clickhouse_url(const struct bench_clickhouse *ch);
const char *bench_clickhouse_dir(const struct bench_clickhouse *ch);
/* The server's pid while it runs (for its CPU time), else 0. */
pid_t bench_clickhouse_pid(const struct bench_clickhouse *ch);
/* The compression of its parts: "zstd", "lz4" (the server's default)... */
const char *bench_clickhouse_compression(const struct bench_clickhouse *ch);

/* ---- A veth pair between two network namespaces (root) ----
 * "exporter" (192.0.2.1, .11-.14, 2001:db8::1, ::11) and "collector"
 * (192.0.2.2, 2001:db8::2), for `weir bench inlet` and the inlet's tests.
 * Names carry the pid and a counter so parallel runs do not clash. */
struct bench_netpair {
	char ns_exp[48], ns_col[48];
	char if_exp[IF_NAMESIZE], if_col[IF_NAMESIZE];
	int fd_exp, fd_col, fd_orig;
	int created;
};
/* Creates both namespaces and the pair; `tag` (a few letters) goes into the
 * names ("weir-TAG-e-PID-N", "weir-TAG-c-PID-N"). Returns 0, or -errno with
 * `err` filled and nothing left behind. */
int bench_netpair_init(struct bench_netpair *np, const char *tag, struct error *err);
/* Moves the calling thread into the collector (1) or exporter (0)
 * namespace, and back to where _init ran. Return 0 or -errno. */
int bench_netpair_enter(struct bench_netpair *np, int collector);
int bench_netpair_leave(struct bench_netpair *np);
/* The MAC address (6 bytes) of the collector's (1) or exporter's (0) end
 * into mac; returns its ifindex (in its namespace), or -errno. */
int bench_netpair_link(struct bench_netpair *np, int collector, uint8_t mac[6]);
/* Both ends' MTU (before XDP is attached to either). 0, or -EIO. */
int bench_netpair_mtu(struct bench_netpair *np, unsigned mtu);
/* The Ethernet frame of a UDP datagram from `src`:`sport` (IPv4, need not
 * be an address of the exporter's end) to the collector's 192.0.2.2:`dport`
 * carrying `len` bytes of `payload`, into out[0..cap), between the MAC
 * addresses `macs` (destination, then source: the collector's end takes
 * only frames to its own). Returns its length, -EINVAL (not IPv4) or
 * -EMSGSIZE. */
struct in6_addr;
int bench_netpair_frame(uint8_t *out, size_t cap, const uint8_t macs[12],
			const struct in6_addr *src, uint16_t sport, uint16_t dport,
			const uint8_t *payload, uint32_t len);
/* Frames the collector's end could not take (its receive ring full, a
 * failed redirect): rx "dropped" of `ip -s link`; 0 when unknown. */
uint64_t bench_netpair_rx_dropped(struct bench_netpair *np);
/* Goes back, deletes both namespaces (and so the pair). Idempotent. */
void bench_netpair_fini(struct bench_netpair *np);

/* ---- The kernel's XDP traffic generator on the pair (Linux 5.18+) ----
 * (inlet_sender.c) UDP datagrams of `size` bytes from the exporter's end
 * (192.0.2.1) to the collector's port 2055, for `weir bench inlet`,
 * `weir bench junk-flood` and the tests of floods. _init returns 0 or -errno
 * (with nothing to _fini); _send sends n and returns n or -errno: call it
 * from the exporter's network namespace (the device is named by ifindex).
 * One sender per thread. */
struct bench_xdp_sender {
	int fd; /* the XDP program */
	int ifindex;
	uint8_t frame[1536]; /* 4 bytes of metadata, then the frame */
	uint32_t len;	     /* of the frame */
};
int bench_xdp_sender_init(struct bench_xdp_sender *s, struct bench_netpair *np, uint32_t size);
long bench_xdp_sender_send(struct bench_xdp_sender *s, uint32_t n);
/* After _init: the frame sent from now on comes from `src`:`sport` (IPv4,
 * need not be an address of the exporter's end) to the collector's
 * 192.0.2.2:`dport` and carries the `len` bytes of `payload`; the MAC
 * addresses stay. 0, or -EINVAL (not IPv4) / -EMSGSIZE (too big). */
int bench_xdp_sender_set(struct bench_xdp_sender *s, const struct in6_addr *src, uint16_t sport,
			 uint16_t dport, const uint8_t *payload, uint32_t len);
void bench_xdp_sender_fini(struct bench_xdp_sender *s);

/* ---- A flood (flood.c) ----
 * A thread sending, as fast as the XDP traffic generator goes, from `src`
 * (IPv4) to the collector's 192.0.2.2:`dport`: each of the n payloads
 * BENCH_FLOOD_COPIES times, then the next. `payloads` (borrowed) must
 * outlive the flood. _start returns 0, or -errno with `err` filled (no
 * generator on this kernel...) and nothing to stop; _sent may be read from
 * any thread while it runs; _stop joins the thread (idempotent) and returns
 * 0 or the -errno the generator failed with. */
#define BENCH_FLOOD_COPIES 64

struct bench_payload {
	const uint8_t *data;
	uint32_t len;
};

struct bench_flood {
	struct bench_netpair *np;
	struct bench_xdp_sender tx;
	struct in6_addr src;
	uint16_t dport;
	const struct bench_payload *payloads;
	size_t n;
	pthread_t thread;
	int running;
	_Atomic uint64_t sent;
	_Atomic int stop, error;
};
int bench_flood_start(struct bench_flood *f, struct bench_netpair *np, const struct in6_addr *src,
		      uint16_t dport, const struct bench_payload *payloads, size_t n,
		      struct error *err);
uint64_t bench_flood_sent(struct bench_flood *f);
int bench_flood_stop(struct bench_flood *f);

#endif
