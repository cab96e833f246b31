/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* What the inlet's files share: the inlet object, its inputs and receive
 * threads, the user-space policy (allowlist, token buckets) used by UDP
 * inputs, and the XDP program's handle. Not for other stages. */
#ifndef WEIR_INLET_INTERNAL_H
#define WEIR_INLET_INTERNAL_H

#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <xdp/xsk.h>

#include "../../bpf/xdp_steer.h"
#include "../common/addr.h"
#include "../common/drop_log.h"
#include "../common/exporter_table.h"
#include "inlet.h"

#define INLET_MAX_BATCH	 1024
#define INLET_UDP_BUFFER BUS_MAX_DATAGRAM

struct xdp_steer_bpf;

/* Why the inlet could not hand a datagram on (the bus refused it). */
enum inlet_drop_reason {
	INLET_DROP_RING_FULL,	   /* "ring-full": the bus (ring or Kafka queue) is full */
	INLET_DROP_EXPORTER_SHARE, /* "exporter-share": the exporter holds its share of the ring */
	INLET_DROP_TOO_LARGE,	   /* "too-large": larger than the bus takes */
	INLET_DROP_REASONS,
};
/* Exporters with their own weir_inlet_exporter_dropped_total series, per
 * input; later ones share exporter="other" (the registry keeps series
 * forever, so the bound is on exporters ever seen dropping). */
#define INLET_DROP_EXPORTERS 4096
/* The value of an entry of inlet.drop_series, keyed (exporter, input index). */
struct inlet_exporter_drops {
	struct metric_series *reason[INLET_DROP_REASONS];
};

/* Counters of one receive thread, written by it (relaxed atomics, once per
 * batch) and read by the metrics collector and inlet_get_stats(). */
struct inlet_counters {
	_Atomic uint64_t datagrams, bytes, bus_dropped;
	_Atomic uint64_t not_allowed, rate, malformed; /* user-space drops */
	_Atomic uint64_t kernel_drops;		       /* UDP: SO_RXQ_OVFL's running total */
};

struct inlet_worker {
	struct inlet *in;
	struct inlet_input *input;
	unsigned index; /* worker number (UDP) or queue id (AF_XDP) */
	int fd;
	pthread_t thread;
	int started;
	struct inlet_counters c;
	/* AF_XDP */
	struct xsk_umem *umem;
	void *area;
	size_t area_size;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp, rx;
	struct xsk_socket *xsk;
	/* metric series (NULL without a registry) */
	struct metric_series *m_datagrams, *m_bytes, *m_kernel_drops;
	/* the receive thread's own: kernel drops already told to the drop log,
	 * and when inlet_worker_tick() looks next */
	uint64_t kernel_drops_logged, next_tick_ms;
};

struct inlet_input {
	struct inlet_input_config cfg; /* copy; strings and lists not kept */
	char name[96];		       /* metrics label: "udp:[::]:2055", "afxdp:eth0" */
	/* UDP */
	struct sockaddr_in6 listen;
	/* AF_XDP */
	char ifname[IF_NAMESIZE];
	int ifindex;
	uint32_t xdp_flags; /* XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE, as attached */
	int attached;
	struct xdp_steer_bpf *skel;
	uint16_t ports[64];
	size_t nports;
	size_t nworkers;
	struct inlet_worker *workers;
	struct metric_series *m_bus_dropped, *m_not_allowed, *m_rate, *m_malformed;
	struct metric_series *m_other_dropped[INLET_DROP_REASONS]; /* exporter="other" */
	/* XDP's drop counters as last told to the drop log (its worker 0 only) */
	uint64_t xdp_logged[XDP_STEER_OUTCOMES];
	struct metric_series *m_xdp_packets[XDP_STEER_OUTCOMES], *m_xdp_bytes[XDP_STEER_OUTCOMES];
};

struct inlet_prefix {
	struct in6_addr addr; /* masked */
	unsigned len;	      /* 0..128 */
};

/* Token buckets of the UDP inputs: one bounded exporter table per stripe
 * (its own lock), INLET_BUCKETS entries in all; a new exporter in a full
 * stripe takes the place of its stalest bucket (bounded memory). */
#define INLET_BUCKETS	     8192
#define INLET_BUCKET_STRIPES 64
/* The value of a bucket's entry; its last_seen is the last refill (ns). */
struct inlet_bucket {
	uint64_t tokens; /* billionths of a datagram, as in XDP */
};

struct inlet_policy {
	pthread_rwlock_t lock;
	struct inlet_prefix *allow; /* NULL when the allowlist is off */
	size_t nallow;
	uint64_t rate, burst;
	pthread_mutex_t stripes[INLET_BUCKET_STRIPES];
	struct exporter_table buckets[INLET_BUCKET_STRIPES]; /* of struct inlet_bucket */
};

struct inlet {
	struct bus_producer *bus;
	struct metrics_registry *metrics;
	struct inlet_input *inputs;
	size_t ninputs;
	int stop_fd;  /* eventfd: wakes the threads at inlet_stop() */
	int netns_fd; /* the network namespace of inlet_new(), for detaching */
	_Atomic int stopping;
	int running;
	struct inlet_policy policy;
	int collector_added; /* collect() is registered with `metrics` */
	struct metric_family *f_exporter;
	size_t exporter_series;
	/* Drops per exporter: series of weir_inlet_exporter_dropped_total, made
	 * on an exporter's first drop (drop_lock; drops only, never the path of
	 * a datagram that goes through), and the drop log (stage=inlet). */
	pthread_mutex_t drop_lock;
	struct exporter_table drop_series; /* of struct inlet_exporter_drops */
	struct metric_family *f_exporter_dropped;
	struct drop_log *drops;
};

/* Every function below that takes `err` returns 0, or -errno with `err`
 * saying why in words for the operator. */

/* inlet_config.c */
int inlet_parse_listen(const char *text, struct sockaddr_in6 *sa, struct error *err);

/* inlet.c: the user-space policy (UDP inputs). 1 = accept; else the
 * counter to bump is chosen by the return value (-1 not allowed, -2 rate). */
int inlet_policy_check(struct inlet_policy *p, const struct in6_addr *a, uint64_t now_ns);
/* Hands one datagram to the bus; one the bus refuses is counted under its
 * exporter and reason, and told to the drop log. Returns 0 or the bus's
 * -errno. Receive threads only. */
int inlet_deliver(struct inlet_worker *w, const struct bus_envelope *env);
/* Called by a receive thread at every turn of its loop (now_ms: clock_mono_ms()):
 * about once a second, tells the drop log of the kernel's drops since the
 * last time (reason "kernel-queue") and lets it say pending counts. */
void inlet_worker_tick(struct inlet_worker *w, uint64_t now_ms);

/* inlet_xdp.c */
int inlet_xdp_open(struct inlet *in, struct inlet_input *input, uint32_t max_queue,
		   struct error *err);
int inlet_xdp_attach(struct inlet_input *input, struct error *err);
void inlet_xdp_detach(struct inlet_input *input);
void inlet_xdp_close(struct inlet_input *input);
int inlet_xdp_xsk_map_fd(struct inlet_input *input);
int inlet_xdp_set_policy(struct inlet_input *input, const struct inlet_prefix *allow, size_t nallow,
			 uint64_t rate, uint64_t burst);
int inlet_xdp_read_outcomes(struct inlet_input *input,
			    struct xdp_steer_counter out[XDP_STEER_OUTCOMES]);
int inlet_xdp_read_exporter(struct inlet_input *input, const struct xdp_steer_addr *a,
			    struct xdp_steer_exporter *out);
/* Calls fn for each exporter in the per-exporter map. */
int inlet_xdp_for_each_exporter(struct inlet_input *input,
				void (*fn)(void *ctx, const struct xdp_steer_addr *a,
					   const struct xdp_steer_exporter *e),
				void *ctx);
/* Number of RX queues of an interface (ethtool channels; 1 when unknown). */
unsigned inlet_xdp_rx_queues(const char *ifname);

/* inlet_afxdp.c */
int inlet_afxdp_open(struct inlet *in, struct inlet_input *input, struct inlet_worker *w,
		     struct error *err);
void inlet_afxdp_close(struct inlet_worker *w);
void *inlet_afxdp_run(void *arg);
uint64_t inlet_afxdp_kernel_drops(struct inlet_worker *w);

/* inlet_udp.c */
int inlet_udp_probe_port(const struct inlet_input *input, struct error *err);
int inlet_udp_open(struct inlet_input *input, struct inlet_worker *w, struct error *err);
void *inlet_udp_run(void *arg);
/* The socket's drop count: SO_RXQ_OVFL as last seen, or SO_MEMINFO's. */
uint64_t inlet_udp_kernel_drops(struct inlet_worker *w);

#endif
