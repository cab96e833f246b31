// SPDX-License-Identifier: AGPL-3.0-or-later
/* The probe object: loads the programs, attaches them, and runs the exporter
 * thread (drain every drain-interval, flows out on their timeouts, templates
 * and interface names on their refresh, interfaces watched), with metrics. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../common/log.h"
#include "../common/clock.h"
#include "bpf/probe.skel.h"
#include "probe_internal.h"

#define DEFAULT_ACTIVE_MS    60000
#define DEFAULT_IDLE_MS	     15000
#define MAX_DEFAULT_DRAIN_MS 5000 /* default drain: idle timeout / 3, at most this */
#define FLOW_END_CHECK_MS    150  /* the ring looked at again after it had records */
#define DEFAULT_TEMPLATE_MS  60000
#define DEFAULT_IFACE_MS     5000
#define DEFAULT_RING	     (1u << 20)
#define DEFAULT_DOMAIN	     1
#define NS_PER_MS	     1000000ull

static const char *const stat_names[PROBE_STATS] = {
    "seen", "counted", "map_full", "ring_drop", "not_ip", "malformed", "sampled_out", "no_map",
};

/* ---- sending ---- */

void probe_send(struct probe *p, size_t len)
{
	LOG_RATELIMIT(rl, 2);

	atomic_fetch_add(&p->messages, 1);
	metric_add(p->m_messages_built, 1);
	for (size_t i = 0; i < p->ncollectors; i++) {
		struct probe_collector *c = &p->collectors[i];

		/* A connected socket reports ICMP unreachable on a later send:
		 * counted like any other failure, and the next one is tried. */
		if (probe_collector_connect(c) == 0 &&
		    send(c->fd, p->w->buf, len, 0) == (ssize_t)len) {
			metric_add(c->m_messages, 1);
			continue;
		}
		atomic_fetch_add(&c->errors, 1);
		metric_add(c->m_errors, 1);
		log_write_limited(&rl, LOG_LEVEL_WARN, "probe: sending to a collector failed",
				  "collector=%s error=\"%s\"", c->text, strerror(errno));
	}
}

/* The message being built goes out, and the next one begins. */
static void flush(struct probe *p)
{
	size_t len = ipfix_finish(p->w);

	if (len)
		probe_send(p, len);
}

static uint32_t export_time(void)
{
	return (uint32_t)(clock_real_ns() / 1000000000ull);
}

static void begin_if_needed(struct probe *p)
{
	if (!p->w->len)
		ipfix_begin(p->w, export_time());
}

static void emit(struct probe *p, const struct probe_record *r)
{
	begin_if_needed(p);
	if (ipfix_add_record(p->w, r) < 0) {
		flush(p);
		ipfix_begin(p->w, export_time());
		ipfix_add_record(p->w, r); /* always fits an empty message */
	}
	atomic_fetch_add(&p->flows, 1);
	metric_add(p->m_flows, 1);
}

static void send_templates(struct probe *p)
{
	flush(p);
	ipfix_begin(p->w, export_time());
	ipfix_add_templates(p->w); /* always fits an empty message (>= 256 bytes) */
	for (size_t i = 0; i < p->nifaces; i++) {
		if (!p->ifaces[i].present)
			continue;
		if (ipfix_add_interface(p->w, &p->ifaces[i].info) < 0) {
			flush(p);
			ipfix_begin(p->w, export_time());
			ipfix_add_interface(p->w, &p->ifaces[i].info);
		}
	}
	flush(p);
}

/* ---- table -> records ---- */

struct export_ctx {
	struct probe *p;
	int64_t mono_to_real_ns;
};

static uint64_t to_unix_ms(const struct export_ctx *x, uint64_t mono_ns)
{
	return (uint64_t)((int64_t)mono_ns + x->mono_to_real_ns) / NS_PER_MS;
}

static void record_of(const struct export_ctx *x, const struct probe_flow_key *k, uint64_t bytes,
		      uint64_t packets, uint64_t first, uint64_t last, uint16_t flags, uint8_t tos,
		      uint8_t reason, struct probe_record *r)
{
	r->key = *k;
	r->bytes = bytes;
	r->packets = packets;
	r->start_ms = to_unix_ms(x, first);
	r->end_ms = to_unix_ms(x, last);
	r->tcp_flags = flags;
	r->tos = tos;
	r->end_reason = reason;
}

static int export_entry(void *ctx, const struct probe_entry *e, uint8_t reason)
{
	struct export_ctx *x = ctx;
	struct probe_record r;

	record_of(x, &e->key, e->bytes, e->packets, e->first_ns, e->last_ns, e->tcp_flags, e->tos,
		  reason, &r);
	emit(x->p, &r);
	return 0;
}

/* The table is full: this piece of the flow goes out on its own now. */
static int export_overflow(void *ctx, const struct probe_flow_key *k,
			   const struct probe_flow_value *v)
{
	struct export_ctx *x = ctx;
	struct probe_record r;

	record_of(x, k, v->bytes, v->packets, v->first_ns, v->last_ns, v->tcp_flags, v->tos,
		  PROBE_END_RESOURCES, &r);
	atomic_fetch_add(&x->p->table_full, 1);
	metric_add(x->p->m_table_full, 1);
	emit(x->p, &r);
	return 0;
}

static struct export_ctx export_ctx_now(struct probe *p)
{
	struct export_ctx x = {.p = p};

	x.mono_to_real_ns = (int64_t)clock_real_ns() - (int64_t)clock_mono_ns();
	return x;
}

/* A FIN or RST ended the flow: it goes out now, with whatever earlier
 * drains left of it in the table. */
static void flow_ended(struct probe *p, const struct probe_overflow *o)
{
	struct export_ctx x = export_ctx_now(p);
	struct probe_entry e;
	struct probe_record r;

	atomic_fetch_add(&p->flow_ends, 1);
	metric_add(p->m_flow_ends, 1);
	if (probe_table_add(&p->table, &o->key, &o->value) == 0 &&
	    probe_table_take(&p->table, &o->key, &e) == 0) {
		export_entry(&x, &e, PROBE_END_FLOW_END);
		return;
	}
	/* The table is full: this last piece goes out alone. */
	record_of(&x, &o->key, o->value.bytes, o->value.packets, o->value.first_ns,
		  o->value.last_ns, (uint16_t)o->value.tcp_flags, o->value.tos, PROBE_END_FLOW_END,
		  &r);
	emit(p, &r);
}

/* Ring buffer: a flow a FIN/RST ended, or a packet whose flow found the
 * kernel map full. */
static int on_overflow(void *ctx, void *data, size_t size)
{
	struct probe *p = ctx;
	struct probe_overflow ev, *o = &ev;

	if (size < sizeof(*o))
		return 0;
	/* The programs' times are jiffies. */
	memcpy(&ev, data, sizeof(ev));
	ev.value.first_ns = probe_drain_mono_ns(&p->drain, ev.value.first_ns);
	ev.value.last_ns = probe_drain_mono_ns(&p->drain, ev.value.last_ns);
	if (o->kind == PROBE_EVENT_FLOW_END ||
	    (o->value.tcp_flags & (PROBE_TCP_FIN | PROBE_TCP_RST))) {
		flow_ended(p, o);
		return 0;
	}
	if (probe_table_add(&p->table, &o->key, &o->value) < 0) {
		struct export_ctx x = export_ctx_now(p);

		export_overflow(&x, &o->key, &o->value);
	}
	return 0;
}

/* One drain: kernel maps and ring buffer into the table, due flows out. */
static void cycle(struct probe *p, int final)
{
	struct export_ctx x = export_ctx_now(p);
	uint64_t now = clock_mono_ns();
	int r;

	if (!p->last_templates_ns ||
	    now - p->last_templates_ns >= p->cfg.template_refresh_ms * NS_PER_MS) {
		send_templates(p);
		p->last_templates_ns = now;
	}
	r = probe_drain_run(&p->drain, &p->table, export_overflow, &x);
	if (r < 0) {
		LOG_RATELIMIT(rl, 1);
		log_write_limited(&rl, LOG_LEVEL_ERROR, "probe: draining the flow map failed",
				  "error=\"%s\"", strerror(-r));
	}
	ring_buffer__consume(p->ring);
	probe_table_expire(&p->table, now, p->cfg.idle_timeout_ms * NS_PER_MS,
			   p->cfg.active_timeout_ms * NS_PER_MS, final, export_entry, &x);
	flush(p);
}

/* ---- interfaces ---- */

void probe_iface_event(struct probe *p, const char *name, const char *event)
{
	const char *labels[] = {name, event};

	atomic_fetch_add(&p->iface_events, 1);
	if (p->f_iface_events)
		metric_add(metrics_series(p->f_iface_events, labels), 1);
	log_info("probe: interface event", "interface=%s event=%s", name, event);
}

static void count_attached(struct probe *p)
{
	uint64_t n = 0;

	for (size_t i = 0; i < p->nifaces; i++)
		n += p->ifaces[i].attached;
	atomic_store(&p->nattached, n);
	metric_set(p->m_attached, (double)n);
}

static struct probe_iface *iface_find(struct probe *p, const char *name)
{
	for (size_t i = 0; i < p->nifaces; i++)
		if (!strcmp(p->ifaces[i].info.name, name))
			return &p->ifaces[i];
	return NULL;
}

/* Looks at the interfaces again: new ones are attached, vanished ones let
 * go, state changes counted. At start (`initial`) a failure is returned. */
static int refresh_ifaces(struct probe *p, int initial, struct error *err)
{
	struct probe_iface_info *now = calloc(PROBE_MAX_IFACES, sizeof(*now));
	struct config_list names = {.items = p->names, .count = p->nnames};
	size_t n;
	int r = 0;

	if (!now)
		return error_set(err, -ENOMEM, "probe: out of memory");
	n = probe_ifaces_list(&names, now, PROBE_MAX_IFACES);
	for (size_t i = 0; i < p->nifaces; i++) {
		struct probe_iface *f = &p->ifaces[i];
		size_t k;

		for (k = 0; k < n && strcmp(now[k].name, f->info.name); k++)
			;
		if (f->present && (k == n || now[k].ifindex != f->info.ifindex)) {
			probe_detach(p->skel, f);
			f->present = 0;
			probe_iface_event(p, f->info.name, "gone");
		}
	}
	for (size_t k = 0; k < n; k++) {
		struct probe_iface *f = iface_find(p, now[k].name);
		int state = probe_iface_state(now[k].name);

		if (!f) {
			if (p->nifaces == PROBE_MAX_IFACES)
				continue;
			f = &p->ifaces[p->nifaces++];
			memset(f, 0, sizeof(*f));
			f->link_in = f->link_out = -1;
			f->up = state == 1;
		}
		f->info = now[k];
		if (!f->present) {
			struct error e;

			f->present = 1;
			f->up = state == 1;
			r = probe_attach(p->skel, p->cfg.attach, f, &e);
			if (r < 0) {
				if (initial) {
					*err = e;
					goto out;
				}
				log_warn("probe: attaching failed", "interface=%s error=\"%s\"",
					 f->info.name, error_text(&e));
				f->present = 0; /* tried again next time */
				r = 0;
			} else if (!initial) {
				probe_iface_event(p, f->info.name, "attached");
				p->last_templates_ns = 0; /* its name goes out now */
			}
		} else if (state >= 0 && (state == 1) != f->up) {
			f->up = state == 1;
			probe_iface_event(p, f->info.name, f->up ? "up" : "down");
		}
	}
	if (initial && p->nnames) {
		for (size_t k = 0; k < p->nnames; k++)
			if (!iface_find(p, p->names[k])) {
				r = error_set(err, -ENODEV, "probe: interface %s not found",
					      p->names[k]);
				goto out;
			}
	}
	if (initial && !n)
		r = error_set(err, -ENODEV, "probe: no interface to meter (only loopback here)");
out:
	count_attached(p);
	free(now);
	return r;
}

/* ---- the exporter thread ---- */

static void *exporter_main(void *arg)
{
	struct probe *p = arg;
	uint64_t drain_ns = p->cfg.drain_interval_ms * NS_PER_MS;
	uint64_t check_ns = FLOW_END_CHECK_MS * NS_PER_MS;
	uint64_t next = clock_mono_ns() + drain_ns, next_check = UINT64_MAX;
	struct pollfd fds[2] = {
	    {.fd = p->stop_fd, .events = POLLIN},
	    {.fd = ring_buffer__epoll_fd(p->ring), .events = POLLIN},
	};

	/* A thread starts in its creator's namespace, which may not be ours. */
	if (setns(p->netns_fd, CLONE_NEWNET) < 0)
		log_error("probe: entering the probe's network namespace failed", "error=\"%s\"",
			  strerror(errno));
	cycle(p, 0); /* templates at start */
	p->last_ifaces_ns = clock_mono_ns();
	for (;;) {
		uint64_t now = clock_mono_ns(), wake = next < next_check ? next : next_check;
		int timeout = now >= wake ? 0 : (int)((wake - now) / NS_PER_MS) + 1, got = 0;

		if (poll(fds, 2, timeout) > 0) {
			if (fds[0].revents)
				break;
			if (fds[1].revents)
				got = ring_buffer__consume(p->ring);
		}
		now = clock_mono_ns();
		if (now >= next) {
			cycle(p, 0);
			next += drain_ns;
			if (next < now)
				next = now + drain_ns;
		} else if (now >= next_check) {
			got = ring_buffer__consume(p->ring);
		}
		/* FIN/RST records wake this thread at most every 100 ms
		 * (probe.bpf.c): after any, the ring is looked at again
		 * 150 ms later for those that came without a wakeup; with
		 * none, nothing wakes it but the drain. What they added goes
		 * out now. */
		if (got > 0) {
			flush(p);
			next_check = now + check_ns;
		} else if (now >= next_check) {
			next_check = UINT64_MAX;
		}
		if (now - p->last_ifaces_ns >= p->cfg.interface_refresh_ms * NS_PER_MS) {
			refresh_ifaces(p, 0, NULL);
			p->last_ifaces_ns = now;
		}
	}
	return NULL;
}

/* ---- metrics ---- */

void probe_read_kernel_stats(struct probe *p, uint64_t out[PROBE_STATS])
{
	int ncpu = p->drain.ncpu, fd = bpf_map__fd(p->skel->maps.stats);
	uint64_t *v = calloc((size_t)ncpu, sizeof(*v));

	memset(out, 0, sizeof(*out) * PROBE_STATS);
	for (uint32_t k = 1; v && k < PROBE_STATS; k++)
		if (bpf_map_lookup_elem(fd, &k, v) == 0)
			for (int c = 0; c < ncpu; c++)
				out[k] += v[c];
	free(v);
	/* The programs count each packet once, by outcome (probe.h). */
	for (int k = 1; k < PROBE_STATS; k++)
		out[PROBE_STAT_PACKETS] += out[k];
}

/* Kernel counters into the registry: the difference since the last look. */
static void collect(void *ctx)
{
	struct probe *p = ctx;
	uint64_t s[PROBE_STATS];

	probe_read_kernel_stats(p, s);
	pthread_mutex_lock(&p->kstats_lock);
	for (int k = 0; k < PROBE_STATS; k++) {
		if (s[k] > p->kstats_last[k])
			metric_add(p->m_kernel[k], s[k] - p->kstats_last[k]);
		p->kstats_last[k] = s[k];
	}
	pthread_mutex_unlock(&p->kstats_lock);
}

static int metrics_setup(struct probe *p)
{
	struct metrics_registry *m = p->metrics;
	struct metric_family *fk, *fm, *fe;

	if (!m)
		return 0;
	p->m_flows = metrics_series(metrics_family(m, "weir_probe_flows_exported_total",
						   "Flow records exported", METRIC_COUNTER, NULL),
				    NULL);
	p->m_messages_built =
	    metrics_series(metrics_family(m, "weir_probe_messages_built_total",
					  "IPFIX messages built", METRIC_COUNTER, NULL),
			   NULL);
	p->m_table_full = metrics_series(
	    metrics_family(m, "weir_probe_table_full_total",
			   "Flow pieces exported early: the user-space flow table was full",
			   METRIC_COUNTER, NULL),
	    NULL);
	p->m_flow_ends = metrics_series(
	    metrics_family(m, "weir_probe_flows_ended_total",
			   "Flows a TCP FIN or RST ended, exported at once (not at the next drain)",
			   METRIC_COUNTER, NULL),
	    NULL);
	p->m_attached = metrics_series(metrics_family(m, "weir_probe_interfaces_attached",
						      "Interfaces the programs are attached to",
						      METRIC_GAUGE, NULL),
				       NULL);
	p->f_iface_events = metrics_family(m, "weir_probe_interface_events_total",
					   "Interfaces seen going down, up, away, or attached "
					   "again",
					   METRIC_COUNTER, "interface,event");
	fk = metrics_family(m, "weir_probe_kernel_packets_total",
			    "Packets the probe's programs saw, by outcome", METRIC_COUNTER,
			    "outcome");
	for (int k = 0; k < PROBE_STATS; k++) {
		const char *l[] = {stat_names[k]};

		p->m_kernel[k] = metrics_series(fk, l);
	}
	/* The two outcomes that matter most also have their own names. */
	p->m_kernel[PROBE_STAT_MAP_FULL] = metrics_series(
	    metrics_family(m, "weir_probe_map_full_total",
			   "Packets whose flow found the kernel map full (counted through the "
			   "ring buffer)",
			   METRIC_COUNTER, NULL),
	    NULL);
	p->m_kernel[PROBE_STAT_RING_DROP] = metrics_series(
	    metrics_family(m, "weir_probe_ring_buffer_drops_total",
			   "Packets lost: the kernel map and the ring buffer were both full",
			   METRIC_COUNTER, NULL),
	    NULL);
	fm = metrics_family(m, "weir_probe_messages_sent_total", "IPFIX messages sent",
			    METRIC_COUNTER, "collector");
	fe = metrics_family(m, "weir_probe_send_errors_total", "IPFIX messages not sent",
			    METRIC_COUNTER, "collector");
	for (size_t i = 0; i < p->ncollectors; i++) {
		const char *l[] = {p->collectors[i].text};

		p->collectors[i].m_messages = metrics_series(fm, l);
		p->collectors[i].m_errors = metrics_series(fe, l);
	}
	return metrics_add_collector(m, collect, p);
}

/* ---- life cycle ---- */

static void config_with_defaults(struct probe_config *c, const struct probe_config *in)
{
	*c = *in;
	c->interfaces = (struct config_list){0};
	c->collectors = (struct config_list){0};
	if (!c->observation_domain)
		c->observation_domain = DEFAULT_DOMAIN;
	if (!c->active_timeout_ms)
		c->active_timeout_ms = DEFAULT_ACTIVE_MS;
	if (!c->idle_timeout_ms)
		c->idle_timeout_ms = DEFAULT_IDLE_MS;
	/* FIN/RST flows go out through the ring (probe.bpf.c), so the drain
	 * only serves the timeouts: a third of the idle timeout exports an
	 * idle flow at most a third late; past 5 s the drain is cheap enough
	 * (10k flows: ~1/20 of softflowd's CPU) and waits no longer. */
	if (!c->drain_interval_ms) {
		c->drain_interval_ms = c->idle_timeout_ms / 3;
		if (c->drain_interval_ms > MAX_DEFAULT_DRAIN_MS)
			c->drain_interval_ms = MAX_DEFAULT_DRAIN_MS;
		if (c->drain_interval_ms < 10)
			c->drain_interval_ms = 10;
	}
	if (!c->template_refresh_ms)
		c->template_refresh_ms = DEFAULT_TEMPLATE_MS;
	if (!c->interface_refresh_ms)
		c->interface_refresh_ms = DEFAULT_IFACE_MS;
	if (!c->sampling)
		c->sampling = 1;
	if (!c->max_flows)
		c->max_flows = PROBE_DEFAULT_MAX_FLOWS;
	if (!c->ring_buffer)
		c->ring_buffer = DEFAULT_RING;
}

static int load_programs(struct probe *p, struct error *err)
{
	uint32_t ring = 4096;
	int r;

	p->skel = probe_bpf__open();
	if (!p->skel)
		return error_set(err, -errno, "probe: opening the BPF programs: %s",
				 strerror(errno));
	while (ring < p->cfg.ring_buffer && ring < (1u << 30))
		ring <<= 1; /* a power of two pages */
	p->skel->rodata->sampling = (uint32_t)p->cfg.sampling;
	p->skel->rodata->slot_mask = (uint32_t)(p->drain.nslots - 1);
	/* Staging is per CPU; without batch-packets no CPU has a stage. */
	p->skel->rodata->stage_cpus = p->cfg.batch_packets ? (uint32_t)p->drain.ncpu : 0;
	/* FIN/RST records wake the exporter at most every 100 ms. */
	p->skel->rodata->flow_end_wakeup_jiffies =
	    100 * NS_PER_MS / p->drain.tick_ns ? 100 * NS_PER_MS / p->drain.tick_ns : 1;
	r = bpf_map__set_max_entries(p->skel->maps.overflow, ring);
	if (r == 0)
		r = bpf_map__set_inner_map_fd(p->skel->maps.flows, p->drain.inner_fd[0]);
	if (r < 0)
		return error_set(err, r, "probe: setting up the BPF maps: %s", strerror(-r));
	/* Only the programs of the chosen hook are loaded. */
	bpf_program__set_autoload(p->skel->progs.probe_xdp, p->cfg.attach == PROBE_ATTACH_XDP);
	bpf_program__set_autoload(p->skel->progs.probe_ingress, p->cfg.attach != PROBE_ATTACH_XDP);
	bpf_program__set_autoload(p->skel->progs.probe_egress, p->cfg.attach != PROBE_ATTACH_XDP);
	r = probe_bpf__load(p->skel);
	if (r < 0)
		return error_set(err, r, "probe: loading the BPF programs: %s%s", strerror(-r),
				 r == -EPERM ? " (needs CAP_BPF and CAP_NET_ADMIN, or root)" : "");
	return probe_drain_bind(&p->drain, bpf_map__fd(p->skel->maps.flows),
				bpf_program__fd(p->skel->progs.probe_clock),
				p->skel->bss->clock_sample, err);
}

int probe_new(const struct probe_config *cfg, struct metrics_registry *metrics, struct probe **out,
	      struct error *err)
{
	struct probe *p;
	size_t max_len;
	int r;

	*out = NULL;
	if (!cfg->collectors.count)
		return error_set(err, -EINVAL,
				 "probe.collectors: at least one collector is needed");
	if (cfg->collectors.count > PROBE_MAX_COLLECTORS)
		return error_set(err, -EINVAL, "probe.collectors: at most %d collectors",
				 PROBE_MAX_COLLECTORS);
	p = calloc(1, sizeof(*p));
	if (!p)
		return error_set(err, -ENOMEM, "probe: out of memory");
	p->stop_fd = -1;
	p->netns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	pthread_mutex_init(&p->kstats_lock, NULL);
	p->drain.inner_fd[0] = p->drain.inner_fd[1] = -1;
	config_with_defaults(&p->cfg, cfg);
	if (p->cfg.idle_timeout_ms > p->cfg.active_timeout_ms) {
		r = error_set(err, -EINVAL, "probe: idle-timeout is longer than active-timeout");
		goto fail;
	}
	p->metrics = metrics;
	r = probe_collectors_open(p, cfg, &max_len, err);
	if (r < 0)
		goto fail;
	p->w = malloc(sizeof(*p->w));
	p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!p->w || p->stop_fd < 0) {
		r = error_set(err, -ENOMEM, "probe: out of memory");
		goto fail;
	}
	ipfix_writer_init(p->w, (uint32_t)p->cfg.observation_domain, (uint32_t)p->cfg.sampling,
			  max_len);
	/* Flows stay in the table up to the active timeout: room for twice
	 * a full kernel map; beyond, pieces go out early (counted). */
	r = probe_table_init(&p->table, (size_t)p->cfg.max_flows * 2);
	if (r < 0) {
		error_set(err, r, "probe: out of memory for the flow table");
		goto fail;
	}
	r = probe_drain_init(&p->drain, (size_t)p->cfg.max_flows, err);
	if (r < 0)
		goto fail;
	r = load_programs(p, err);
	if (r < 0)
		goto fail;
	p->ring = ring_buffer__new(bpf_map__fd(p->skel->maps.overflow), on_overflow, p, NULL);
	if (!p->ring) {
		r = error_set(err, -errno, "probe: opening the ring buffer: %s", strerror(errno));
		goto fail;
	}
	if (cfg->interfaces.count) {
		char *const *names = cfg->interfaces.items;

		p->names = calloc(cfg->interfaces.count, sizeof(char *));
		if (!p->names) {
			r = error_set(err, -ENOMEM, "probe: out of memory");
			goto fail;
		}
		for (size_t i = 0; i < cfg->interfaces.count; i++)
			if (names[i] && (p->names[p->nnames] = strdup(names[i])))
				p->nnames++;
	}
	r = metrics_setup(p);
	if (r < 0) {
		error_set(err, r, "probe: registering metrics");
		goto fail;
	}
	r = refresh_ifaces(p, 1, err);
	if (r < 0)
		goto fail;
	p->ready = 1;
	*out = p;
	return 0;
fail:
	probe_free(p);
	return r;
}

int probe_start(struct probe *p, struct error *err)
{
	int r = -pthread_create(&p->thread, NULL, exporter_main, p);

	if (r < 0)
		return error_set(err, r, "probe: starting the exporter thread: %s", strerror(-r));
	pthread_setname_np(p->thread, "weir-probe"); /* its CPU is what `weir bench probe` reads */
	p->started = 1;
	return 0;
}

void probe_stop(struct probe *p)
{
	uint64_t one = 1;
	int here;

	if (!p || p->stopped)
		return;
	p->stopped = 1;
	if (p->started) {
		if (write(p->stop_fd, &one, sizeof(one)) < 0)
			log_warn("probe: waking the exporter failed", "error=\"%s\"",
				 strerror(errno));
		pthread_join(p->thread, NULL);
		p->started = 0;
	}
	/* Detaching a clsact filter names the interface by index: in the
	 * probe's namespace, whichever thread this is. */
	here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (p->netns_fd >= 0)
		setns(p->netns_fd, CLONE_NEWNET);
	/* Detach first: once the drain's swap returns, nothing counts any
	 * more, so the last drain holds every packet the programs saw. */
	for (size_t i = 0; i < p->nifaces; i++)
		probe_detach(p->skel, &p->ifaces[i]);
	count_attached(p);
	if (p->ready)
		cycle(p, 1);
	if (here >= 0) {
		setns(here, CLONE_NEWNET);
		close(here);
	}
}

void probe_free(struct probe *p)
{
	if (!p)
		return;
	probe_stop(p);
	if (p->metrics)
		metrics_remove_collector(p->metrics, collect, p);
	ring_buffer__free(p->ring);
	probe_bpf__destroy(p->skel);
	probe_drain_fini(&p->drain);
	probe_table_fini(&p->table);
	probe_collectors_close(p);
	for (size_t i = 0; i < p->nnames; i++)
		free(p->names[i]);
	free(p->names);
	free(p->w);
	if (p->stop_fd >= 0)
		close(p->stop_fd);
	if (p->netns_fd >= 0)
		close(p->netns_fd);
	pthread_mutex_destroy(&p->kstats_lock);
	free(p);
}

static void prog_run_stats(struct probe *p, struct probe_stats *st)
{
	const struct bpf_program *progs[] = {p->skel->progs.probe_ingress,
					     p->skel->progs.probe_egress, p->skel->progs.probe_xdp};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);
		int fd = bpf_program__fd(progs[i]);

		memset(&info, 0, sizeof(info));
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
			continue;
		st->prog_run_ns += info.run_time_ns;
		st->prog_runs += info.run_cnt;
	}
}

void probe_get_stats(struct probe *p, struct probe_stats *st)
{
	uint64_t s[PROBE_STATS];

	memset(st, 0, sizeof(*st));
	probe_read_kernel_stats(p, s);
	st->packets = s[PROBE_STAT_PACKETS];
	st->map_full = s[PROBE_STAT_MAP_FULL];
	st->ring_drops = s[PROBE_STAT_RING_DROP];
	st->flows = atomic_load(&p->flows);
	st->messages = atomic_load(&p->messages);
	st->table_full = atomic_load(&p->table_full);
	st->flow_ends = atomic_load(&p->flow_ends);
	st->interfaces = atomic_load(&p->nattached);
	st->iface_events = atomic_load(&p->iface_events);
	for (size_t i = 0; i < p->ncollectors; i++)
		st->send_errors += atomic_load(&p->collectors[i].errors);
	prog_run_stats(p, st);
}
