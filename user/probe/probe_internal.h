/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* What the probe's files share: the IPFIX writer (ipfix_export.c), the
 * user-space flow table (flow_table.c), the interfaces and their attachments
 * (interfaces.c, attach.c), the map drain (drain.c) and the probe object
 * (probe.c). Not for other stages. */
#ifndef WEIR_PROBE_INTERNAL_H
#define WEIR_PROBE_INTERNAL_H

#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <linux/types.h>

#include "../../bpf/probe.h"
#include "probe.h"

/* ---- IPFIX (RFC 7011) ---- */

#define PROBE_TPL_V4	    256 /* data templates (RFC 7011 3.4.1: ids >= 256) */
#define PROBE_TPL_V6	    257
#define PROBE_TPL_SAMPLING  258 /* options: the sampling interval */
#define PROBE_TPL_IFACES    259 /* options: interface names, descriptions, speeds */
#define PROBE_IPFIX_MAX_MSG 65535

/* flowEndReason (IE 136, RFC 5102). */
enum probe_end_reason {
	PROBE_END_IDLE = 1,
	PROBE_END_ACTIVE = 2,
	PROBE_END_FLOW_END = 3, /* TCP FIN or RST */
	PROBE_END_FORCED = 4,	/* the probe stops */
	PROBE_END_RESOURCES = 5 /* the user-space table was full */
};

/* One record to export. */
struct probe_record {
	struct probe_flow_key key;
	uint64_t bytes, packets;
	uint64_t start_ms, end_ms; /* unix milliseconds */
	uint16_t tcp_flags;
	uint8_t tos;
	uint8_t end_reason; /* enum probe_end_reason */
};

/* What the interfaces options data says of one interface. */
struct probe_iface_info {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
	char description[256]; /* ifAlias */
	uint64_t speed_bps;    /* 0 when unknown */
};

/* Builds IPFIX messages in `buf`, one at a time: begin, add sets' records
 * (an add that does not fit returns -ENOSPC and leaves the message as it
 * was), finish. Pure: no sockets, no clock. */
struct ipfix_writer {
	uint32_t domain;
	uint32_t sampling; /* announced interval, >= 1 */
	uint32_t sequence; /* data records sent before the current message */
	size_t max_len;	   /* message size limit (path MTU less IP and UDP headers) */
	uint32_t export_time;
	size_t len;	  /* bytes in buf; 0 = no message begun */
	size_t set_start; /* offset of the open set, 0 = none */
	uint16_t set_id;  /* of the open set */
	uint32_t records; /* data records (flows and options data) in the message */
	uint8_t buf[PROBE_IPFIX_MAX_MSG];
};

/* max_len is clamped to [256, 65535]. */
void ipfix_writer_init(struct ipfix_writer *w, uint32_t domain, uint32_t sampling, size_t max_len);
void ipfix_begin(struct ipfix_writer *w, uint32_t export_time);
/* The two data templates, the two options templates and the sampling
 * options data. -ENOSPC when they do not fit in what is left. */
int ipfix_add_templates(struct ipfix_writer *w);
int ipfix_add_interface(struct ipfix_writer *w, const struct probe_iface_info *i);
int ipfix_add_record(struct ipfix_writer *w, const struct probe_record *r);
/* Closes the message: header written, sequence advanced. Returns its length
 * (0 when nothing was added since begin). */
size_t ipfix_finish(struct ipfix_writer *w);

/* ---- flow table: flows between the kernel's map and their export ---- */

struct probe_entry {
	struct probe_flow_key key;
	uint64_t bytes, packets;
	uint64_t first_ns, last_ns; /* CLOCK_MONOTONIC */
	uint16_t tcp_flags;
	uint8_t tos;
};

/* Entries live densely in `entries` (so a walk costs what the table holds,
 * not its capacity); `slots` is an open-addressing index into them (0 =
 * empty, else index + 1), linear probing, deletion by backward shift: no
 * tombstones, so a long run never slows down. */
struct probe_table {
	uint32_t *slots;
	struct probe_entry *entries;
	size_t mask; /* slots - 1 (a power of two) */
	size_t count;
	size_t limit; /* entries; at most 3/4 of the slots */
};

/* Room for `flows` entries. Returns 0 or -ENOMEM. */
int probe_table_init(struct probe_table *t, size_t flows);
void probe_table_fini(struct probe_table *t);
/* Adds one CPU's (or one ring event's) counters to the key's entry. Returns
 * 0, or -ENOSPC when the table is full (nothing changed). */
int probe_table_add(struct probe_table *t, const struct probe_flow_key *k,
		    const struct probe_flow_value *v);
/* Copies the key's entry to *out and removes it. Returns 0, or -ENOENT
 * when the table has no such entry. */
int probe_table_take(struct probe_table *t, const struct probe_flow_key *k,
		     struct probe_entry *out);
/* Brings what probe_table_add(t, k, ...) will read into the cache: stage
 * 0 the key's slot, stage 1 (a few keys later, once the slot is there) its
 * entry. A drain adds thousands of keys spread over megabytes; without
 * this, each add waits for two cache misses in turn. */
void probe_table_prefetch(const struct probe_table *t, const struct probe_flow_key *k, int stage);
/* Calls `fn` for each entry due for export at monotonic time `now_ns` (all
 * of them when `all`), and removes those. `fn` returns 0 or -errno (stops
 * the walk: the entry stays). */
typedef int (*probe_expire_fn)(void *ctx, const struct probe_entry *e, uint8_t reason);
int probe_table_expire(struct probe_table *t, uint64_t now_ns, uint64_t idle_ns, uint64_t active_ns,
		       int all, probe_expire_fn fn, void *ctx);

/* ---- interfaces and attachments ---- */

struct probe_iface {
	struct probe_iface_info info;
	int present;	       /* found at the last look */
	int up;		       /* IFF_UP and IFF_RUNNING at the last look */
	int attached;	       /* programs attached */
	int mode;	       /* enum probe_attach_mode, as attached (not AUTO) */
	int link_in, link_out; /* tcx or XDP link fds, -1 when none */
};

#define PROBE_MAX_IFACES 256

struct probe_bpf;

/* The interfaces to meter now (names from the config, or every non-loopback
 * one), with their information. Returns how many (at most `cap`). */
size_t probe_ifaces_list(const struct config_list *names, struct probe_iface_info *out, size_t cap);
/* Flags of `name`: 1 when up and running, 0 when not, -errno when absent. */
int probe_iface_state(const char *name);

/* Attaches the programs to `i` (mode from the config; AUTO tries tcx then
 * clsact). Returns 0 or -errno with `err` filled. */
int probe_attach(struct probe_bpf *skel, int mode, struct probe_iface *i, struct error *err);
/* Detaches (never someone else's program). */
void probe_detach(struct probe_bpf *skel, struct probe_iface *i);

/* ---- drain: kernel maps -> flow table ---- */

struct probe_drain {
	int outer_fd;		     /* the `flows` array of maps */
	int inner_fd[2];	     /* two slot tables: one in use, one being drained */
	struct probe_slot *slots[2]; /* ... mapped (BPF_F_MMAPABLE) */
	size_t nslots;		     /* slots of each (a power of two), then the CPUs' stages */
	size_t map_len;		     /* bytes mapped of each */
	int active;		     /* index of the one in the slot */
	int ncpu;
	int clock_fd;		      /* probe_clock, run to read the kernel's clocks */
	const volatile __u64 *clock;  /* what it read: jiffies, coarse ns, jiffies */
	uint64_t tick_ns;	      /* one jiffy */
	uint64_t cal_jiffies, cal_ns; /* a jiffy and CLOCK_MONOTONIC_COARSE at it */
	size_t batch;		      /* keys per batch */
	struct probe_flow_key *keys;
	struct probe_flow_value *values; /* batch */
};

/* Creates the two slot tables (max_flows slots each, rounded up to a power
 * of two) and maps them; d->tick_ns is the kernel's tick. */
int probe_drain_init(struct probe_drain *d, size_t max_flows, struct error *err);
/* Once the skeleton is loaded: the table in use goes into the slot, and the
 * clocks are read once (clock_fd: probe_clock; clock: its clock_sample). */
int probe_drain_bind(struct probe_drain *d, int outer_fd, int clock_fd, const volatile __u64 *clock,
		     struct error *err);
void probe_drain_fini(struct probe_drain *d);
/* Reads the kernel's jiffies and coarse clock together (one program run):
 * later probe_drain_mono_ns() calls use them. Returns 0 or -errno. */
int probe_drain_clock(struct probe_drain *d);
/* CLOCK_MONOTONIC (coarse, tick resolution) ns of a jiffies value. */
uint64_t probe_drain_mono_ns(const struct probe_drain *d, uint64_t jiffies);
/* Swaps the tables (the kernel waits for the programs running on the old
 * one), then moves everything of the old one into `t` and empties it.
 * Entries the table has no room for go to `overflow`. Returns the number
 * of slots read, or -errno. */
int probe_drain_run(struct probe_drain *d, struct probe_table *t,
		    int (*overflow)(void *ctx, const struct probe_flow_key *k,
				    const struct probe_flow_value *v),
		    void *ctx);

/* ---- the probe ---- */

struct probe_collector {
	char text[128];
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int fd;
	int connected;
	struct metric_series *m_messages, *m_errors;
	_Atomic uint64_t errors;
};

#define PROBE_MAX_COLLECTORS 8

struct probe {
	struct probe_config cfg; /* numbers only (strings and lists not kept) */
	struct probe_bpf *skel;
	struct probe_drain drain;
	struct probe_table table;
	struct ring_buffer *ring;
	struct probe_iface ifaces[PROBE_MAX_IFACES];
	size_t nifaces;
	char **names; /* probe.interfaces copied; NULL = every non-loopback */
	size_t nnames;
	struct probe_collector collectors[PROBE_MAX_COLLECTORS];
	size_t ncollectors;
	struct ipfix_writer *w;
	uint64_t last_templates_ns, last_ifaces_ns;
	int stop_fd;  /* eventfd */
	int netns_fd; /* the namespace of probe_new(): interfaces are looked up there */
	pthread_t thread;
	int started, stopped;
	int ready; /* probe_new() succeeded: probe_stop() does the last export */
	struct metrics_registry *metrics;
	_Atomic uint64_t flows, messages, table_full, iface_events, nattached, flow_ends;
	uint64_t kstats_last[PROBE_STATS]; /* what the collector last added */
	pthread_mutex_t kstats_lock;
	struct metric_series *m_flows, *m_messages_built, *m_table_full, *m_flow_ends;
	struct metric_series *m_kernel[PROBE_STATS];
	struct metric_family *f_iface_events;
	struct metric_series *m_attached;
};

/* Sums the per-CPU `stats` map. */
void probe_read_kernel_stats(struct probe *p, uint64_t out[PROBE_STATS]);
/* Resolves and connects cfg->collectors; *max_len is the IPFIX message
 * limit (the smallest path MTU less IP and UDP headers). */
int probe_collectors_open(struct probe *p, const struct probe_config *cfg, size_t *max_len,
			  struct error *err);
void probe_collectors_close(struct probe *p);
/* Connects c->fd unless it is already. Returns 0 or -errno. */
int probe_collector_connect(struct probe_collector *c);
/* Sends the current message to every collector (failures counted). */
void probe_send(struct probe *p, size_t len);
/* Counts an interface event and logs it. */
void probe_iface_event(struct probe *p, const char *name, const char *event);

#endif
