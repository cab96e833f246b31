/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The inlet: receives flow datagrams (AF_XDP sockets fed by the xdp_steer
 * program, or UDP sockets with recvmmsg) and hands each one, with its receive
 * time and exporter address, to the bus. It never decodes flows. Exporter
 * allowlist and per-exporter rate limits apply in XDP (AF_XDP inputs) or in
 * the receive threads (UDP inputs), and can change at run time. The receive
 * threads never wait on the bus: a datagram it refuses is dropped at once and
 * counted under its exporter and reason (weir_inlet_exporter_dropped_total),
 * with a drop log line (stage=inlet) once a minute per exporter and reason;
 * kernel drops get lines too (reason kernel-queue). */
#ifndef WEIR_INLET_H
#define WEIR_INLET_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "../bus/bus.h"
#include "../common/error.h"
#include "../common/config.h"
#include "../common/metrics.h"

#define INLET_MAX_QUEUES 64

enum inlet_input_type {
	INLET_INPUT_UDP, /* the default */
	INLET_INPUT_AFXDP,
};

enum inlet_xdp_mode {
	INLET_XDP_AUTO, /* native when the driver has it, else generic */
	INLET_XDP_NATIVE,
	INLET_XDP_GENERIC,
};

/* `queues:` all (count 0), one number, or a list of queue ids. */
struct inlet_queues {
	uint32_t count; /* 0 = every RX queue of the interface */
	uint32_t ids[INLET_MAX_QUEUES];
};

/* One item of `flow.inputs`. Zero means "the default" for every number. */
struct inlet_input_config {
	int type;		    /* enum inlet_input_type */
	char *listen;		    /* udp: ":2055", "[::]:2055", "0.0.0.0:4739"; default ":2055" */
	char *interface;	    /* afxdp: required */
	struct inlet_queues queues; /* afxdp */
	uint64_t workers;	    /* udp: SO_REUSEPORT sockets and threads; default 1 */
	uint64_t receive_buffer;    /* udp: SO_RCVBUF(FORCE) bytes; default 32 MiB */
	int mode;		    /* afxdp: enum inlet_xdp_mode */
	int busy_poll;		    /* afxdp: SO_PREFER_BUSY_POLL and polling from the thread */
	struct config_list ports;   /* afxdp: uint64_t items; default 2055, 4739, 6343 */
	uint64_t frame_size;	    /* afxdp: UMEM frame, 2048 (default) or 4096 */
	uint64_t frames;	    /* afxdp: UMEM frames per queue; default 16384 */
	uint64_t rx_size;	    /* afxdp: RX ring entries; default 8192 */
	uint64_t fill_size;	    /* afxdp: fill ring entries; default 16384 */
	uint64_t batch;		    /* datagrams per receive call; default 64 */
};

/* The `flow:` section. */
struct inlet_config {
	struct config_list inputs;    /* struct inlet_input_config items; none = UDP on :2055 */
	struct config_list allowlist; /* char * prefixes "192.0.2.0/24", "2001:db8::/32" */
	uint64_t rate_limit;	      /* datagrams/s per exporter; 0 = off */
	uint64_t rate_burst;	      /* bucket size; 0 = the rate (one second's worth) */
};

/* The field table of `flow:` (for weir_config.c), and its defaults. */
extern const struct config_field inlet_config_fields[];
void inlet_config_defaults(struct inlet_config *cfg);

struct inlet;

/* Checks the configuration, opens the sockets, loads and attaches the XDP
 * program (replacing a stale one of ours left by a crash) and registers the
 * weir_inlet_* metrics. Nothing runs until inlet_start(). `bus` and
 * `metrics` must outlive the inlet (`metrics` may be NULL). Returns 0 with
 * *out, or -errno with *out = NULL and `err` saying why (interface absent,
 * missing capability, port in use...). The interfaces are looked up in the
 * calling thread's network namespace. */
int inlet_new(const struct inlet_config *cfg, struct bus_producer *bus,
	      struct metrics_registry *metrics, struct inlet **out, struct error *err);
/* Starts one thread per AF_XDP queue and per UDP worker. Returns 0, or
 * -errno with `err` filled (the threads already started are stopped). */
int inlet_start(struct inlet *in, struct error *err);
/* Stops and joins the threads, detaches the XDP programs (from any thread:
 * it goes back to inlet_new()'s network namespace for that). Idempotent; a
 * stopped inlet is not started again: free it and make a new one. */
void inlet_stop(struct inlet *in);
/* Stops if needed, closes everything. NULL is fine. */
void inlet_free(struct inlet *in);

/* Replaces the allowlist (n prefixes as text; n == 0 turns it off) and the
 * rate limit at run time, through map updates (no reload). Returns 0, or
 * -EINVAL with `err` naming a bad prefix or rate (nothing is changed then),
 * or another -errno (out of memory, a failed map update) with `err` filled. */
int inlet_set_policy(struct inlet *in, const char *const *allowlist, size_t n, uint64_t rate_limit,
		     uint64_t rate_burst, struct error *err);

/* Totals over every input, for tests and `weir bench`. The xdp_* fields come
 * from the BPF counters (zero without AF_XDP inputs). */
struct inlet_stats {
	uint64_t received;	      /* datagrams handed to the bus (or refused by it) */
	uint64_t bytes;		      /* their payload bytes */
	uint64_t bus_dropped;	      /* bus_producer_send() refused: full, share, too large */
	uint64_t dropped_not_allowed; /* in XDP plus in the UDP threads */
	uint64_t dropped_rate;	      /* in XDP plus in the UDP threads */
	uint64_t malformed;	      /* in XDP plus frames user space could not parse */
	uint64_t kernel_drops; /* UDP: SO_RXQ_OVFL; AF_XDP: XDP_STATISTICS rx_dropped + ring full */
	uint64_t xdp_steered, xdp_passed, xdp_no_socket;
};
void inlet_get_stats(struct inlet *in, struct inlet_stats *st);

/* Per-exporter XDP counters for `addr` (summed over CPUs). 0, or -ENOENT. */
struct inlet_exporter_stats {
	uint64_t steered, steered_bytes, dropped_not_allowed, dropped_rate;
};
int inlet_get_exporter_stats(struct inlet *in, const struct in6_addr *addr,
			     struct inlet_exporter_stats *st);

#endif
