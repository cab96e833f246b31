/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The host probe (`weir probe`): BPF programs on the host's interfaces count
 * its traffic per flow in the kernel; this stage drains those counters and
 * exports them as IPFIX (RFC 7011) over UDP to one or more collectors, with
 * the interfaces' names in options data. Counts are exact: every packet the
 * programs saw is in exactly one exported record, or in a counter of why not. */
#ifndef WEIR_PROBE_H
#define WEIR_PROBE_H

#include <stdint.h>

#include "../common/config.h"
#include "../common/error.h"
#include "../common/metrics.h"

enum probe_attach_mode {
	PROBE_ATTACH_AUTO,   /* tcx when the kernel has it, else clsact */
	PROBE_ATTACH_TCX,    /* tcx links, ingress and egress */
	PROBE_ATTACH_CLSACT, /* clsact qdisc filters, ingress and egress */
	PROBE_ATTACH_XDP,    /* XDP link on ingress (egress is not metered) */
};

/* The `probe:` section. Zero means "the default" for every number;
 * probe_config_defaults() sets the rest (batch_packets). */
struct probe_config {
	struct config_list interfaces; /* char * names; none = every non-loopback one */
	struct config_list collectors; /* char * "host:port", "[v6]:port"; required */
	int attach;		       /* enum probe_attach_mode */
	uint64_t observation_domain;   /* IPFIX observation domain id; default 1 */
	uint64_t active_timeout_ms;    /* default 60 s */
	uint64_t idle_timeout_ms;      /* default 15 s */
	uint64_t drain_interval_ms;    /* maps swapped and drained; default idle/3, at most 5 s */
	uint64_t template_refresh_ms;  /* templates and options data resent; default 60 s */
	uint64_t interface_refresh_ms; /* interfaces looked at again; default 5 s */
	uint64_t mtu;		       /* path MTU; 0 = the route's MTU to each collector */
	uint64_t sampling;	       /* 1-in-N in the kernel; 0 or 1 = every packet */
	uint64_t max_flows;	       /* slots of each kernel flow table; default 65536 */
	uint64_t ring_buffer;	       /* bytes of the overflow ring buffer; default 1 MiB */
	/* batch-packets: each CPU stages 16 packets, then adds them to the
	 * table together (about half the kernel cost per packet with many
	 * flows); a FIN or RST takes what other CPUs staged of its flow into
	 * its record. On by default (probe_config_defaults()); 0 = every
	 * packet straight to its slot. */
	int batch_packets;
};

/* The field table of `probe:` (for weir_config.c), and its defaults. */
extern const struct config_field probe_config_fields[];
void probe_config_defaults(struct probe_config *cfg);

struct probe;

/* Checks `cfg`, resolves the collectors, loads the BPF programs and attaches
 * them to the interfaces (replacing a stale copy of ours left by a crash;
 * refusing another program's place), and registers the weir_probe_* metrics
 * in `metrics` (may be NULL; it must outlive the probe). Interfaces are those
 * of the calling thread's network namespace, and stay so for the probe's
 * life, whichever thread starts or stops it. Returns 0 with *out, or -errno
 * with *out = NULL and `err` filled (needs root or CAP_BPF + CAP_NET_ADMIN). */
int probe_new(const struct probe_config *cfg, struct metrics_registry *metrics, struct probe **out,
	      struct error *err);
/* Starts the exporter thread: drains, exports, watches the interfaces.
 * Returns 0 or -errno. */
int probe_start(struct probe *p, struct error *err);
/* Detaches the programs, drains what they counted and exports every flow
 * still open, then stops the thread. Idempotent. */
void probe_stop(struct probe *p);
/* Stops if needed and frees. NULL is fine. */
void probe_free(struct probe *p);

/* Totals since probe_new(), for tests and `weir bench probe`. Thread-safe. */
struct probe_stats {
	uint64_t packets;      /* packets the programs saw */
	uint64_t map_full;     /* packets sent through the ring buffer (map full) */
	uint64_t ring_drops;   /* ... and lost because the ring buffer was full too */
	uint64_t flows;	       /* flow records exported */
	uint64_t messages;     /* IPFIX messages built */
	uint64_t send_errors;  /* failed sends, over every collector */
	uint64_t table_full;   /* records exported early: the user-space table was full */
	uint64_t flow_ends;    /* flows a TCP FIN or RST ended (exported at once) */
	uint64_t interfaces;   /* interfaces attached now */
	uint64_t iface_events; /* interfaces seen going down, up, away or back */
	/* Time the programs ran and how many times (every program loaded),
	 * from the kernel's BPF statistics: 0 unless they are on
	 * (kernel.bpf_stats_enabled, or a BPF_ENABLE_STATS fd held). */
	uint64_t prog_run_ns;
	uint64_t prog_runs;
};
void probe_get_stats(struct probe *p, struct probe_stats *st);

#endif
