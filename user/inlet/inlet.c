// SPDX-License-Identifier: AGPL-3.0-or-later
/* The inlet object: inputs from the configuration, threads, the run-time
 * policy (allowlist, rate limit) pushed to XDP maps or kept for UDP threads,
 * and the weir_inlet_* metrics. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "inlet_internal.h"

static const uint16_t default_ports[] = {2055, 4739, 6343};
static const char *const outcome_names[XDP_STEER_OUTCOMES] = {
    [XDP_STEER_STEERED] = "steered",
    [XDP_STEER_PASSED] = "passed",
    [XDP_STEER_DROPPED_NOT_ALLOWED] = "dropped-not-allowed",
    [XDP_STEER_DROPPED_RATE] = "dropped-rate",
    [XDP_STEER_MALFORMED] = "malformed",
    [XDP_STEER_NO_SOCKET] = "no-socket",
};

/* ---- policy ---- */

static void prefix_mask(struct inlet_prefix *p)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = p->len > i * 8 ? p->len - i * 8 : 0;

		if (keep < 8)
			p->addr.s6_addr[i] &= (uint8_t)(0xff00 >> keep);
	}
}

static int prefixes_parse(const char *const *text, size_t n, struct inlet_prefix **out,
			  struct error *err)
{
	struct inlet_prefix *p;

	*out = NULL;
	if (!n)
		return 0;
	p = calloc(n, sizeof(*p));
	if (!p)
		return error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (!text[i] || addr_prefix_from_text(&p[i].addr, &p[i].len, text[i]) < 0) {
			free(p);
			return error_set(err, -EINVAL,
					 "flow.allowlist[%zu]: \"%s\" is not a prefix", i,
					 text[i] ? text[i] : "");
		}
		prefix_mask(&p[i]);
	}
	*out = p;
	return 0;
}

static int prefix_contains(const struct inlet_prefix *p, const struct in6_addr *a)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	if (memcmp(p->addr.s6_addr, a->s6_addr, full) != 0)
		return 0;
	return !rest || ((p->addr.s6_addr[full] ^ a->s6_addr[full]) & (0xff00 >> rest)) == 0;
}

/* Same token bucket as xdp_steer.bpf.c, so both inputs cut at the same rate. */
static int bucket_take(struct inlet_policy *p, const struct in6_addr *a, uint64_t now)
{
	/* The high bits pick the stripe: the table indexes with the low ones. */
	unsigned stripe = (unsigned)(addr_hash64(a, 0) >> 32) % INLET_BUCKET_STRIPES;
	uint64_t full = p->burst * XDP_STEER_TOKEN, elapsed, tokens;
	struct exporter_entry *e;
	struct inlet_bucket *b;
	int ok, created;

	pthread_mutex_lock(&p->stripes[stripe]);
	/* Never NULL: the tables evict and are preallocated. */
	e = exporter_table_get(&p->buckets[stripe], a, 0, &created);
	b = (struct inlet_bucket *)e->value;
	if (created) {
		b->tokens = full - XDP_STEER_TOKEN;
		e->last_seen = now;
		pthread_mutex_unlock(&p->stripes[stripe]);
		return 1;
	}
	elapsed = now > e->last_seen ? now - e->last_seen : 0;
	if (elapsed > 10000000000ull)
		elapsed = 10000000000ull;
	tokens = b->tokens + elapsed * p->rate;
	if (tokens > full)
		tokens = full;
	e->last_seen = now;
	ok = tokens >= XDP_STEER_TOKEN;
	b->tokens = ok ? tokens - XDP_STEER_TOKEN : tokens;
	pthread_mutex_unlock(&p->stripes[stripe]);
	return ok;
}

int inlet_policy_check(struct inlet_policy *p, const struct in6_addr *a, uint64_t now_ns)
{
	if (p->allow) {
		size_t i;

		for (i = 0; i < p->nallow; i++)
			if (prefix_contains(&p->allow[i], a))
				break;
		if (i == p->nallow)
			return -1;
	}
	if (p->rate && !bucket_take(p, a, now_ns))
		return -2;
	return 1;
}

static int policy_apply(struct inlet *in, const char *const *allowlist, size_t n, uint64_t rate,
			uint64_t burst, struct error *err)
{
	struct inlet_prefix *allow;
	int r;

	if (rate > XDP_STEER_MAX_RATE || burst > XDP_STEER_MAX_RATE)
		return error_set(err, -EINVAL,
				 "flow: rate-limit and rate-burst must be at most %llu",
				 (unsigned long long)XDP_STEER_MAX_RATE);
	if (rate && !burst)
		burst = rate;
	r = prefixes_parse(allowlist, n, &allow, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < in->ninputs; i++) {
		if (!in->inputs[i].skel)
			continue;
		r = inlet_xdp_set_policy(&in->inputs[i], allow, n, rate, burst);
		if (r < 0) {
			free(allow);
			return error_set(err, r, "flow: updating XDP maps on %s: %s",
					 in->inputs[i].ifname, strerror(-r));
		}
	}
	pthread_rwlock_wrlock(&in->policy.lock);
	free(in->policy.allow);
	in->policy.allow = allow;
	in->policy.nallow = n;
	in->policy.rate = rate;
	in->policy.burst = burst;
	for (int i = 0; i < INLET_BUCKET_STRIPES; i++)
		exporter_table_clear(&in->policy.buckets[i]);
	pthread_rwlock_unlock(&in->policy.lock);
	return 0;
}

int inlet_set_policy(struct inlet *in, const char *const *allowlist, size_t n, uint64_t rate_limit,
		     uint64_t rate_burst, struct error *err)
{
	int r = policy_apply(in, allowlist, n, rate_limit, rate_burst, err);

	if (r == 0)
		log_info("inlet policy updated", "allowlist=%zu rate_limit=%llu rate_burst=%llu", n,
			 (unsigned long long)rate_limit, (unsigned long long)rate_burst);
	return r;
}

/* ---- data path ---- */

static const char *const drop_reason_names[INLET_DROP_REASONS] = {
    [INLET_DROP_RING_FULL] = "ring-full",
    [INLET_DROP_EXPORTER_SHARE] = "exporter-share",
    [INLET_DROP_TOO_LARGE] = "too-large",
};

/* The series of (input, exporter, reason): the exporter's own, or "other"
 * once INLET_DROP_EXPORTERS exporters have one. Under drop_lock. */
static struct metric_series *drop_series(struct inlet *in, struct inlet_input *input,
					 const struct in6_addr *exporter, int reason)
{
	struct exporter_entry *e;
	struct inlet_exporter_drops *d;

	if (!in->f_exporter_dropped)
		return NULL;
	e = exporter_table_get(&in->drop_series, exporter, (uint32_t)(input - in->inputs), NULL);
	if (!e)
		return input->m_other_dropped[reason];
	d = (struct inlet_exporter_drops *)e->value;
	if (!d->reason[reason]) {
		char text[ADDR_TEXT_MAX];
		const char *labels[] = {input->name, text, drop_reason_names[reason]};

		addr_to_text(exporter, text, sizeof(text));
		d->reason[reason] = metrics_series(in->f_exporter_dropped, labels);
	}
	return d->reason[reason];
}

int inlet_deliver(struct inlet_worker *w, const struct bus_envelope *env)
{
	struct inlet *in = w->in;
	int r = bus_producer_send(in->bus, env), reason;

	if (r == 0)
		return 0;
	/* Dropped at once: waiting here would hold every other exporter of
	 * this socket back (their datagrams would die in the kernel). */
	reason = r == -EDQUOT	  ? INLET_DROP_EXPORTER_SHARE
		 : r == -EMSGSIZE ? INLET_DROP_TOO_LARGE
				  : INLET_DROP_RING_FULL;
	atomic_fetch_add_explicit(&w->c.bus_dropped, 1, memory_order_relaxed);
	pthread_mutex_lock(&in->drop_lock);
	metric_add(drop_series(in, w->input, &env->exporter, reason), 1);
	pthread_mutex_unlock(&in->drop_lock);
	drop_log_note(in->drops, drop_reason_names[reason], &env->exporter, 1, clock_mono_ms());
	return r;
}

void inlet_worker_tick(struct inlet_worker *w, uint64_t now_ms)
{
	uint64_t k;

	if (now_ms < w->next_tick_ms)
		return;
	w->next_tick_ms = now_ms + 1000;
	k = w->input->cfg.type == INLET_INPUT_AFXDP ? inlet_afxdp_kernel_drops(w)
						    : inlet_udp_kernel_drops(w);
	if (k > w->kernel_drops_logged)
		drop_log_note(w->in->drops, "kernel-queue", NULL, k - w->kernel_drops_logged,
			      now_ms);
	w->kernel_drops_logged = k;
	/* What XDP dropped (no exporter: a junk flood would be as many
	 * exporters as it spoofs), told by the input's first thread. */
	if (w->input->skel && w == &w->input->workers[0]) {
		static const struct {
			int outcome;
			const char *reason;
		} xdp_drops[] = {
		    {XDP_STEER_DROPPED_NOT_ALLOWED, "not-allowed"},
		    {XDP_STEER_DROPPED_RATE, "rate"},
		    {XDP_STEER_MALFORMED, "malformed"},
		    {XDP_STEER_NO_SOCKET, "no-socket"},
		};
		struct xdp_steer_counter oc[XDP_STEER_OUTCOMES];

		if (inlet_xdp_read_outcomes(w->input, oc) == 0)
			for (size_t i = 0; i < sizeof(xdp_drops) / sizeof(xdp_drops[0]); i++) {
				uint64_t *last = &w->input->xdp_logged[xdp_drops[i].outcome];
				uint64_t v = oc[xdp_drops[i].outcome].packets;

				if (v > *last)
					drop_log_note(w->in->drops, xdp_drops[i].reason, NULL,
						      v - *last, now_ms);
				*last = v;
			}
	}
	drop_log_tick(w->in->drops, now_ms);
}

/* ---- stats and metrics ---- */

void inlet_get_stats(struct inlet *in, struct inlet_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < in->ninputs; i++) {
		struct inlet_input *input = &in->inputs[i];

		for (size_t j = 0; j < input->nworkers; j++) {
			struct inlet_worker *w = &input->workers[j];

			st->received += atomic_load(&w->c.datagrams);
			st->bytes += atomic_load(&w->c.bytes);
			st->bus_dropped += atomic_load(&w->c.bus_dropped);
			st->dropped_not_allowed += atomic_load(&w->c.not_allowed);
			st->dropped_rate += atomic_load(&w->c.rate);
			st->malformed += atomic_load(&w->c.malformed);
			st->kernel_drops += input->cfg.type == INLET_INPUT_AFXDP
						? inlet_afxdp_kernel_drops(w)
						: inlet_udp_kernel_drops(w);
		}
		if (input->skel) {
			struct xdp_steer_counter oc[XDP_STEER_OUTCOMES];

			if (inlet_xdp_read_outcomes(input, oc) == 0) {
				st->xdp_steered += oc[XDP_STEER_STEERED].packets;
				st->xdp_passed += oc[XDP_STEER_PASSED].packets;
				st->xdp_no_socket += oc[XDP_STEER_NO_SOCKET].packets;
				st->dropped_not_allowed +=
				    oc[XDP_STEER_DROPPED_NOT_ALLOWED].packets;
				st->dropped_rate += oc[XDP_STEER_DROPPED_RATE].packets;
				st->malformed += oc[XDP_STEER_MALFORMED].packets;
			}
		}
	}
}

int inlet_get_exporter_stats(struct inlet *in, const struct in6_addr *addr,
			     struct inlet_exporter_stats *st)
{
	struct xdp_steer_addr a;
	int found = 0;

	memset(st, 0, sizeof(*st));
	memcpy(a.a, addr->s6_addr, 16);
	for (size_t i = 0; i < in->ninputs; i++) {
		struct xdp_steer_exporter e;

		if (!in->inputs[i].skel || inlet_xdp_read_exporter(&in->inputs[i], &a, &e) < 0)
			continue;
		found = 1;
		st->steered += e.steered;
		st->steered_bytes += e.steered_bytes;
		st->dropped_not_allowed += e.dropped_not_allowed;
		st->dropped_rate += e.dropped_rate;
	}
	return found ? 0 : -ENOENT;
}

static void set_count(struct metric_series *s, uint64_t v)
{
	if (s)
		atomic_store_explicit(&s->count, v, memory_order_relaxed);
}

#define MAX_EXPORTER_SERIES 4096

struct exporter_walk {
	struct inlet *in;
	struct inlet_input *input;
};

static void collect_exporter(void *ctx, const struct xdp_steer_addr *a,
			     const struct xdp_steer_exporter *e)
{
	struct exporter_walk *wk = ctx;
	struct inlet *in = wk->in;
	char text[ADDR_TEXT_MAX];
	struct in6_addr addr;
	const char *outcome[] = {"steered", "dropped-not-allowed", "dropped-rate"};
	uint64_t v[] = {e->steered, e->dropped_not_allowed, e->dropped_rate};

	memcpy(addr.s6_addr, a->a, 16);
	addr_to_text(&addr, text, sizeof(text));
	for (int i = 0; i < 3; i++) {
		const char *labels[] = {wk->input->ifname, text, outcome[i]};
		struct metric_series *s;

		if (!v[i])
			continue;
		/* Bounded: the registry keeps series forever. */
		if (in->exporter_series >= MAX_EXPORTER_SERIES)
			return;
		s = metrics_series(in->f_exporter, labels);
		if (s && metric_get_count(s) == 0)
			in->exporter_series++;
		set_count(s, v[i]);
	}
}

static void collect(void *ctx)
{
	struct inlet *in = ctx;

	for (size_t i = 0; i < in->ninputs; i++) {
		struct inlet_input *input = &in->inputs[i];
		uint64_t bus = 0, na = 0, rate = 0, mal = 0;

		for (size_t j = 0; j < input->nworkers; j++) {
			struct inlet_worker *w = &input->workers[j];

			set_count(w->m_datagrams, atomic_load(&w->c.datagrams));
			set_count(w->m_bytes, atomic_load(&w->c.bytes));
			set_count(w->m_kernel_drops, input->cfg.type == INLET_INPUT_AFXDP
							 ? inlet_afxdp_kernel_drops(w)
							 : inlet_udp_kernel_drops(w));
			bus += atomic_load(&w->c.bus_dropped);
			na += atomic_load(&w->c.not_allowed);
			rate += atomic_load(&w->c.rate);
			mal += atomic_load(&w->c.malformed);
		}
		set_count(input->m_bus_dropped, bus);
		set_count(input->m_not_allowed, na);
		set_count(input->m_rate, rate);
		set_count(input->m_malformed, mal);
		if (input->skel) {
			struct xdp_steer_counter oc[XDP_STEER_OUTCOMES];
			struct exporter_walk wk = {in, input};

			if (inlet_xdp_read_outcomes(input, oc) == 0)
				for (int k = 0; k < XDP_STEER_OUTCOMES; k++) {
					set_count(input->m_xdp_packets[k], oc[k].packets);
					set_count(input->m_xdp_bytes[k], oc[k].bytes);
				}
			inlet_xdp_for_each_exporter(input, collect_exporter, &wk);
		}
	}
}

static int metrics_setup(struct inlet *in)
{
	struct metrics_registry *m = in->metrics;
	struct metric_family *f_dg, *f_bytes, *f_kdrops, *f_bus, *f_drop, *f_xp, *f_xb;

	f_dg = metrics_family(m, "weir_inlet_datagrams_total",
			      "Flow datagrams received and handed to the bus", METRIC_COUNTER,
			      "input,worker");
	f_bytes = metrics_family(m, "weir_inlet_bytes_total", "Payload bytes of those datagrams",
				 METRIC_COUNTER, "input,worker");
	f_kdrops = metrics_family(m, "weir_inlet_kernel_drops_total",
				  "Datagrams the kernel dropped before the inlet read them "
				  "(UDP: SO_RXQ_OVFL; AF_XDP: no frame or RX ring full)",
				  METRIC_COUNTER, "input,worker");
	f_bus = metrics_family(m, "weir_inlet_bus_dropped_total",
			       "Datagrams the bus refused (full)", METRIC_COUNTER, "input");
	f_drop = metrics_family(m, "weir_inlet_dropped_total",
				"Datagrams dropped by the inlet's threads, by reason",
				METRIC_COUNTER, "input,reason");
	f_xp = metrics_family(m, "weir_inlet_xdp_packets_total",
			      "Frames seen by the XDP program, by outcome", METRIC_COUNTER,
			      "interface,outcome");
	f_xb = metrics_family(m, "weir_inlet_xdp_bytes_total",
			      "Bytes of the frames seen by the XDP program, by outcome",
			      METRIC_COUNTER, "interface,outcome");
	in->f_exporter = metrics_family(m, "weir_inlet_xdp_exporter_datagrams_total",
					"Flow datagrams per exporter in XDP, by outcome",
					METRIC_COUNTER, "interface,exporter,outcome");
	in->f_exporter_dropped = metrics_family(
	    m, "weir_inlet_exporter_dropped_total",
	    "Datagrams the inlet could not hand to the bus, per exporter (the first 4096 to "
	    "drop; later ones as exporter=\"other\") and reason: ring-full, exporter-share "
	    "(the exporter holds its share of the ring), too-large",
	    METRIC_COUNTER, "input,exporter,reason");
	if (!f_dg || !f_bytes || !f_kdrops || !f_bus || !f_drop || !f_xp || !f_xb ||
	    !in->f_exporter || !in->f_exporter_dropped)
		return -ENOMEM;
	for (size_t i = 0; i < in->ninputs; i++) {
		struct inlet_input *input = &in->inputs[i];
		const char *l1[] = {input->name};
		const char *na[] = {input->name, "not-allowed"}, *rt[] = {input->name, "rate"},
			   *ml[] = {input->name, "malformed"};

		input->m_bus_dropped = metrics_series(f_bus, l1);
		input->m_not_allowed = metrics_series(f_drop, na);
		input->m_rate = metrics_series(f_drop, rt);
		input->m_malformed = metrics_series(f_drop, ml);
		for (int k = 0; k < INLET_DROP_REASONS; k++) {
			const char *lo[] = {input->name, "other", drop_reason_names[k]};

			input->m_other_dropped[k] = metrics_series(in->f_exporter_dropped, lo);
		}
		for (size_t j = 0; j < input->nworkers; j++) {
			struct inlet_worker *w = &input->workers[j];
			char idx[16];
			const char *l2[] = {input->name, idx};

			snprintf(idx, sizeof(idx), "%u", w->index);
			w->m_datagrams = metrics_series(f_dg, l2);
			w->m_bytes = metrics_series(f_bytes, l2);
			w->m_kernel_drops = metrics_series(f_kdrops, l2);
		}
		if (input->skel)
			for (int k = 0; k < XDP_STEER_OUTCOMES; k++) {
				const char *l3[] = {input->ifname, outcome_names[k]};

				input->m_xdp_packets[k] = metrics_series(f_xp, l3);
				input->m_xdp_bytes[k] = metrics_series(f_xb, l3);
			}
	}
	if (metrics_add_collector(m, collect, in) < 0)
		return -ENOMEM;
	in->collector_added = 1;
	return 0;
}

/* ---- life cycle ---- */

static int input_setup(struct inlet *in, struct inlet_input *input, struct error *err)
{
	const struct inlet_input_config *c = &input->cfg;
	int r;

	if (c->type == INLET_INPUT_UDP) {
		char text[ADDR_TEXT_MAX];

		r = inlet_parse_listen(c->listen, &input->listen, err);
		if (r < 0)
			return r;
		addr_to_text(&input->listen.sin6_addr, text, sizeof(text));
		snprintf(input->name, sizeof(input->name), "udp:[%s]:%u", text,
			 ntohs(input->listen.sin6_port));
		r = inlet_udp_probe_port(input, err);
		if (r < 0)
			return r;
		input->nworkers = c->workers ? c->workers : 1;
		input->workers = calloc(input->nworkers, sizeof(*input->workers));
		if (!input->workers)
			return error_set(err, -ENOMEM, "out of memory");
		for (size_t j = 0; j < input->nworkers; j++) {
			struct inlet_worker *w = &input->workers[j];

			w->in = in;
			w->input = input;
			w->index = (unsigned)j;
			w->fd = -1;
		}
		for (size_t j = 0; j < input->nworkers; j++) {
			r = inlet_udp_open(input, &input->workers[j], err);
			if (r < 0)
				return r;
		}
		return 0;
	}

	/* AF_XDP */
	uint32_t ids[INLET_MAX_QUEUES], nq, maxq = 0;

	if (!c->interface || !*c->interface)
		return error_set(err, -EINVAL, "flow.inputs: an afxdp input needs `interface`");
	snprintf(input->ifname, sizeof(input->ifname), "%s", c->interface);
	snprintf(input->name, sizeof(input->name), "afxdp:%s", input->ifname);
	input->ifindex = (int)if_nametoindex(input->ifname);
	if (!input->ifindex)
		return error_set(
		    err, -ENODEV,
		    "flow: interface \"%s\" does not exist (in this network namespace)",
		    c->interface);
	if (c->queues.count) {
		nq = c->queues.count;
		memcpy(ids, c->queues.ids, nq * sizeof(ids[0]));
	} else {
		nq = inlet_xdp_rx_queues(input->ifname);
		if (nq > INLET_MAX_QUEUES)
			nq = INLET_MAX_QUEUES;
		for (uint32_t q = 0; q < nq; q++)
			ids[q] = q;
	}
	for (uint32_t q = 0; q < nq; q++)
		maxq = ids[q] > maxq ? ids[q] : maxq;
	r = inlet_xdp_open(in, input, maxq, err);
	if (r < 0)
		return r;
	r = inlet_xdp_attach(input, err);
	if (r < 0)
		return r;
	input->workers = calloc(nq, sizeof(*input->workers));
	if (!input->workers)
		return error_set(err, -ENOMEM, "out of memory");
	for (uint32_t q = 0; q < nq; q++) {
		struct inlet_worker *w = &input->workers[q];

		input->nworkers = q + 1;
		w->in = in;
		w->input = input;
		w->index = ids[q];
		w->fd = -1;
		r = inlet_afxdp_open(in, input, w, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int inlet_new(const struct inlet_config *cfg, struct bus_producer *bus,
	      struct metrics_registry *metrics, struct inlet **out, struct error *err)
{
	/* No inputs: UDP on the three standard ports (NetFlow, IPFIX, sFlow). */
	static const struct inlet_input_config dflt[] = {
	    {.type = INLET_INPUT_UDP, .listen = (char *)":2055"},
	    {.type = INLET_INPUT_UDP, .listen = (char *)":4739"},
	    {.type = INLET_INPUT_UDP, .listen = (char *)":6343"},
	};
	static const struct exporter_table_config drop_table = {
	    .value_size = sizeof(struct inlet_exporter_drops),
	    .max_entries = INLET_DROP_EXPORTERS,
	    .prealloc = 1,
	};
	const struct drop_log_config drop_log_cfg = {.stage = "inlet"};
	static const struct exporter_table_config bucket_table = {
	    .value_size = sizeof(struct inlet_bucket),
	    .max_entries = INLET_BUCKETS / INLET_BUCKET_STRIPES,
	    .evict = 1,
	    .prealloc = 1,
	};
	const struct inlet_input_config *items = cfg->inputs.items;
	size_t n = cfg->inputs.count;
	struct inlet *in;
	int r, buckets_failed = 0;

	*out = NULL;
	if (!n) {
		items = dflt;
		n = sizeof(dflt) / sizeof(dflt[0]);
	}
	in = calloc(1, sizeof(*in));
	if (!in)
		return error_set(err, -ENOMEM, "out of memory");
	in->bus = bus;
	in->metrics = metrics;
	in->stop_fd = -1;
	in->netns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	pthread_rwlock_init(&in->policy.lock, NULL);
	pthread_mutex_init(&in->drop_lock, NULL);
	if (exporter_table_init(&in->drop_series, &drop_table, NULL) < 0 ||
	    drop_log_new(&drop_log_cfg, &in->drops, NULL) < 0)
		buckets_failed = 1;
	for (int i = 0; i < INLET_BUCKET_STRIPES; i++) {
		pthread_mutex_init(&in->policy.stripes[i], NULL);
		if (exporter_table_init(&in->policy.buckets[i], &bucket_table, NULL) < 0)
			buckets_failed = 1;
	}
	in->inputs = calloc(n, sizeof(*in->inputs));
	in->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (buckets_failed || !in->inputs || in->stop_fd < 0) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		struct inlet_input *input = &in->inputs[i];
		const uint64_t *ports = items[i].ports.items;

		in->ninputs = i + 1;
		input->cfg = items[i];
		input->cfg.listen = input->cfg.interface = NULL;
		input->cfg.ports = (struct config_list){0};
		if (items[i].ports.count > sizeof(input->ports) / sizeof(input->ports[0])) {
			r = error_set(err, -EINVAL, "flow.inputs[%zu].ports: at most %zu ports", i,
				      sizeof(input->ports) / sizeof(input->ports[0]));
			goto fail;
		}
		for (size_t p = 0; p < items[i].ports.count; p++)
			input->ports[input->nports++] = (uint16_t)ports[p];
		if (!input->nports)
			for (size_t p = 0; p < 3; p++)
				input->ports[input->nports++] = default_ports[p];
		input->cfg.listen = items[i].listen;
		input->cfg.interface = items[i].interface;
		r = input_setup(in, input, err);
		/* The strings belong to the caller's config. */
		input->cfg.listen = input->cfg.interface = NULL;
		if (r < 0)
			goto fail;
	}
	r = policy_apply(in, (const char *const *)cfg->allowlist.items, cfg->allowlist.count,
			 cfg->rate_limit, cfg->rate_burst, err);
	if (r < 0)
		goto fail;
	if (metrics && metrics_setup(in) < 0) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	*out = in;
	return 0;
fail:
	inlet_free(in);
	return r;
}

int inlet_start(struct inlet *in, struct error *err)
{
	if (in->running)
		return 0;
	atomic_store(&in->stopping, 0);
	for (size_t i = 0; i < in->ninputs; i++) {
		struct inlet_input *input = &in->inputs[i];

		for (size_t j = 0; j < input->nworkers; j++) {
			struct inlet_worker *w = &input->workers[j];
			int r = pthread_create(
			    &w->thread, NULL,
			    input->cfg.type == INLET_INPUT_AFXDP ? inlet_afxdp_run : inlet_udp_run,
			    w);

			if (r) {
				inlet_stop(in);
				return error_set(err, -r, "inlet threads: %s", strerror(r));
			}
			w->started = 1;
			in->running = 1;
		}
	}
	in->running = 1;
	return 0;
}

/* Detaching goes through netlink in the calling thread's network namespace:
 * go back to the one the interfaces were found in when it differs. */
static void detach_all(struct inlet *in)
{
	struct stat home, here;
	int back = -1;

	if (in->netns_fd >= 0 && fstat(in->netns_fd, &home) == 0 &&
	    stat("/proc/thread-self/ns/net", &here) == 0 && home.st_ino != here.st_ino) {
		back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (back >= 0 && setns(in->netns_fd, CLONE_NEWNET) < 0) {
			log_warn("cannot enter the inlet's network namespace to detach XDP",
				 "error=\"%s\"", strerror(errno));
			close(back);
			back = -1;
		}
	}
	for (size_t i = 0; i < in->ninputs; i++)
		if (in->inputs[i].skel)
			inlet_xdp_detach(&in->inputs[i]);
	if (back >= 0) {
		if (setns(back, CLONE_NEWNET) < 0)
			log_error("cannot return to the caller's network namespace", "error=\"%s\"",
				  strerror(errno));
		close(back);
	}
}

void inlet_stop(struct inlet *in)
{
	uint64_t one = 1;

	if (!in)
		return;
	atomic_store(&in->stopping, 1);
	if (in->stop_fd >= 0 && write(in->stop_fd, &one, sizeof(one)) < 0)
		log_warn("waking the inlet threads failed", "error=\"%s\"", strerror(errno));
	for (size_t i = 0; i < in->ninputs; i++) {
		struct inlet_input *input = &in->inputs[i];

		for (size_t j = 0; j < input->nworkers; j++) {
			struct inlet_worker *w = &input->workers[j];

			if (w->started)
				pthread_join(w->thread, NULL);
			w->started = 0;
		}
	}
	detach_all(in);
	in->running = 0;
}

void inlet_free(struct inlet *in)
{
	if (!in)
		return;
	inlet_stop(in);
	/* After this no scrape can be reading the inlet being freed. */
	if (in->collector_added)
		metrics_remove_collector(in->metrics, collect, in);
	for (size_t i = 0; i < in->ninputs; i++) {
		struct inlet_input *input = &in->inputs[i];

		for (size_t j = 0; j < input->nworkers; j++) {
			struct inlet_worker *w = &input->workers[j];

			if (input->cfg.type == INLET_INPUT_AFXDP)
				inlet_afxdp_close(w);
			else if (w->fd >= 0)
				close(w->fd);
		}
		free(input->workers);
		if (input->skel)
			inlet_xdp_close(input);
	}
	free(in->inputs);
	free(in->policy.allow);
	for (int i = 0; i < INLET_BUCKET_STRIPES; i++) {
		exporter_table_fini(&in->policy.buckets[i]);
		pthread_mutex_destroy(&in->policy.stripes[i]);
	}
	pthread_rwlock_destroy(&in->policy.lock);
	drop_log_free(in->drops);
	exporter_table_fini(&in->drop_series);
	pthread_mutex_destroy(&in->drop_lock);
	if (in->stop_fd >= 0)
		close(in->stop_fd);
	if (in->netns_fd >= 0)
		close(in->netns_fd);
	free(in);
}
