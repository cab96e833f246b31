// SPDX-License-Identifier: AGPL-3.0-or-later
/* Moving the kernel's counters into the flow table without losing a packet.
 * Emptying a table the programs are writing to would lose the increments
 * that land between the copy and the clear; so there are two slot tables:
 * the empty one is swapped into the array-of-maps slot, the kernel waits for
 * every program still running on the old one (a map-in-map update does a
 * synchronize_rcu()), and only then is the old one read and emptied, through
 * its mapping. The programs' times are jiffies, turned into monotonic ns
 * here with a jiffy/clock pair read at each drain. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "probe_internal.h"

#define DRAIN_BATCH 1024

/* A slot is one cache line: what a packet costs at many flows (bpf/probe.h). */
_Static_assert(sizeof(struct probe_slot) == 64, "probe: a slot is no longer one cache line");

int probe_drain_init(struct probe_drain *d, size_t max_flows, struct error *err)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	struct timespec res;
	size_t n = 64; /* a page of slots at least: the mapping is whole pages */
	int r;

	memset(d, 0, sizeof(*d));
	d->outer_fd = d->inner_fd[0] = d->inner_fd[1] = d->clock_fd = -1;
	d->ncpu = libbpf_num_possible_cpus();
	if (d->ncpu <= 0)
		return error_set(err, d->ncpu ? d->ncpu : -EINVAL, "probe: counting CPUs failed");
	/* The coarse clock's resolution is the tick (TICK_NSEC). */
	if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) < 0 || res.tv_sec || res.tv_nsec < 100000)
		return error_set(err, -EINVAL, "probe: the kernel's tick length is unknown");
	d->tick_ns = (uint64_t)res.tv_nsec;
	while (n < max_flows)
		n <<= 1;
	d->nslots = n;
	/* Each CPU's stage after the slots (bpf/probe.h), mapped whole pages. */
	d->map_len = (n + (size_t)d->ncpu * (PROBE_STAGE + 1)) * sizeof(struct probe_slot);
	d->map_len = (d->map_len + 4095) & ~(size_t)4095;
	d->batch = DRAIN_BATCH;
	d->keys = calloc(d->batch, sizeof(*d->keys));
	d->values = calloc(d->batch, sizeof(*d->values));
	if (!d->keys || !d->values) {
		r = error_set(err, -ENOMEM, "probe: out of memory");
		goto fail;
	}
	for (int i = 0; i < 2; i++) {
		void *m;

		d->inner_fd[i] = bpf_map_create(
		    BPF_MAP_TYPE_ARRAY, "probe_flows", sizeof(uint32_t), sizeof(struct probe_slot),
		    (uint32_t)(d->map_len / sizeof(struct probe_slot)), &opts);
		if (d->inner_fd[i] < 0) {
			r = error_set(
			    err, -errno, "probe: creating a flow table of %zu slots: %s%s", n,
			    strerror(errno), errno == EPERM ? " (needs CAP_BPF, or root)" : "");
			goto fail;
		}
		m = mmap(NULL, d->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, d->inner_fd[i], 0);
		if (m == MAP_FAILED) {
			r = error_set(err, -errno, "probe: mapping a flow table: %s",
				      strerror(errno));
			goto fail;
		}
		d->slots[i] = m;
	}
	return 0;
fail:
	probe_drain_fini(d);
	return r;
}

int probe_drain_clock(struct probe_drain *d)
{
	uint8_t frame[64] = {0}; /* a tc program needs an Ethernet header to run */

	for (int i = 0; i < 5; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
			    .repeat = 1);

		if (bpf_prog_test_run_opts(d->clock_fd, &o) < 0)
			return -errno;
		/* A tick between the reads: the pair may not match. */
		if (d->clock[0] != d->clock[2])
			continue;
		d->cal_jiffies = d->clock[0];
		d->cal_ns = d->clock[1];
		return 0;
	}
	return -EAGAIN;
}

uint64_t probe_drain_mono_ns(const struct probe_drain *d, uint64_t jiffies)
{
	int64_t ticks = (int64_t)(jiffies - d->cal_jiffies);

	return (uint64_t)((int64_t)d->cal_ns + ticks * (int64_t)d->tick_ns);
}

int probe_drain_bind(struct probe_drain *d, int outer_fd, int clock_fd, const volatile __u64 *clock,
		     struct error *err)
{
	uint32_t zero = 0;
	int r;

	d->outer_fd = outer_fd;
	d->clock_fd = clock_fd;
	d->clock = clock;
	d->active = 0;
	if (bpf_map_update_elem(outer_fd, &zero, &d->inner_fd[0], BPF_ANY) < 0)
		return error_set(err, -errno, "probe: installing the flow table: %s",
				 strerror(errno));
	r = probe_drain_clock(d);
	if (r < 0)
		return error_set(err, r, "probe: reading the kernel's clocks: %s", strerror(-r));
	return 0;
}

void probe_drain_fini(struct probe_drain *d)
{
	for (int i = 0; i < 2; i++) {
		if (d->slots[i])
			munmap(d->slots[i], d->map_len);
		if (d->inner_fd[i] >= 0)
			close(d->inner_fd[i]);
	}
	free(d->keys);
	free(d->values);
	memset(d, 0, sizeof(*d));
	d->outer_fd = d->inner_fd[0] = d->inner_fd[1] = d->clock_fd = -1;
}

/* Adds one batch of keys and their values. */
static int add_batch(struct probe_drain *d, uint32_t n, struct probe_table *t,
		     int (*overflow)(void *, const struct probe_flow_key *,
				     const struct probe_flow_value *),
		     void *ctx)
{
	enum { AHEAD = 8 }; /* keys between a prefetch stage and the next */

	for (uint32_t i = 0; i < n && i < 2 * AHEAD; i++)
		probe_table_prefetch(t, &d->keys[i], 0);
	for (uint32_t i = 0; i < n; i++) {
		if (i + 2 * AHEAD < n)
			probe_table_prefetch(t, &d->keys[i + 2 * AHEAD], 0);
		if (i + AHEAD < n)
			probe_table_prefetch(t, &d->keys[i + AHEAD], 1);
		if (probe_table_add(t, &d->keys[i], &d->values[i]) < 0) {
			int r = overflow(ctx, &d->keys[i], &d->values[i]);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Room for one more key and value in d->keys/values: a full batch (n of
 * them) is added first. 0 or add_batch()'s error. */
static int batch_room(struct probe_drain *d, uint32_t *n, struct probe_table *t,
		      int (*overflow)(void *ctx, const struct probe_flow_key *k,
				      const struct probe_flow_value *v),
		      void *ctx)
{
	int r = 0;

	if (*n == d->batch) {
		r = add_batch(d, *n, t, overflow, ctx);
		*n = 0;
	}
	return r;
}

/* A slot as the flow table's key and value (bpf/probe.h). The first
 * packet's jiffies are the 32 low bits of a time at most a drain interval
 * before the pair just read. */
static void slot_to_flow(const struct probe_drain *d, const struct probe_slot *s,
			 struct probe_flow_key *k, struct probe_flow_value *v)
{
	uint64_t first = d->cal_jiffies - (uint32_t)((uint32_t)d->cal_jiffies - s->first);

	memset(k, 0, sizeof(*k));
	memcpy(k->src, s->src, sizeof(k->src));
	memcpy(k->dst, s->dst, sizeof(k->dst));
	k->ifindex = s->ifindex;
	k->src_port = s->src_port;
	k->dst_port = s->dst_port;
	k->vlan = (uint16_t)(s->word & 0x0fff);
	k->direction = (uint8_t)(s->word >> PROBE_SLOT_DIR & 1);
	k->ip_version = s->word & PROBE_SLOT_V6 ? 6 : 4;
	k->proto = (uint8_t)(s->word >> 16);
	memset(v, 0, sizeof(*v));
	v->bytes = s->bytes;
	v->packets = s->packets;
	v->first_ns = probe_drain_mono_ns(d, first);
	v->last_ns = probe_drain_mono_ns(d, first + (s->flags_last >> 16));
	v->tcp_flags = s->flags_last & 0xffff;
	v->tos = (uint8_t)(s->word >> 24);
}

/* A staged packet (probe.bpf.c: entry_of()): its time is 16 bits of
 * jiffies, at most a drain interval before the pair just read. */
static void stage_to_flow(const struct probe_drain *d, const struct probe_slot *e,
			  struct probe_flow_key *k, struct probe_flow_value *v)
{
	uint64_t t = d->cal_jiffies - (uint16_t)((uint16_t)d->cal_jiffies - (e->flags_last >> 16));
	struct probe_slot s = *e;

	s.first = (uint32_t)t;
	s.flags_last &= 0xffff; /* no time after the first */
	slot_to_flow(d, &s, k, v);
}

int probe_drain_run(struct probe_drain *d, struct probe_table *t,
		    int (*overflow)(void *ctx, const struct probe_flow_key *k,
				    const struct probe_flow_value *v),
		    void *ctx)
{
	uint32_t zero = 0, n = 0;
	int old = d->active, total = 0, r;
	struct probe_slot *s = d->slots[old];

	/* Returns once no program can still be writing to the old table. */
	if (bpf_map_update_elem(d->outer_fd, &zero, &d->inner_fd[!old], BPF_ANY) < 0)
		return -errno;
	d->active = !old;
	/* After the swap: every jiffy in the old table is before this one. */
	r = probe_drain_clock(d);
	if (r < 0)
		return r;
	for (size_t i = 0; i < d->nslots; i++) {
		if (!s[i].word)
			continue;
		/* PROBE_SLOT_BUSY cannot be left: a program fills the slot
		 * it took before it returns. */
		if (s[i].word != PROBE_SLOT_BUSY) {
			r = batch_room(d, &n, t, overflow, ctx);
			if (r < 0)
				return r;
			slot_to_flow(d, &s[i], &d->keys[n], &d->values[n]);
			n++;
		}
		memset(&s[i], 0, sizeof(s[i]));
		total++;
	}
	/* What each CPU staged and did not add to the slots yet. */
	for (int c = 0; c < d->ncpu; c++) {
		struct probe_slot *h = &s[d->nslots + (size_t)c * (PROBE_STAGE + 1)];
		uint32_t staged = h->packets < PROBE_STAGE ? h->packets : PROBE_STAGE;

		for (uint32_t k = 0; k < staged; k++) {
			if (h->bytes & 1u << k)
				continue; /* a FIN on another CPU took it (bpf/probe.h) */
			r = batch_room(d, &n, t, overflow, ctx);
			if (r < 0)
				return r;
			stage_to_flow(d, &h[1 + k], &d->keys[n], &d->values[n]);
			n++;
			total++;
		}
		memset(h, 0, (PROBE_STAGE + 1) * sizeof(*h));
	}
	if (n) {
		r = add_batch(d, n, t, overflow, ctx);
		if (r < 0)
			return r;
	}
	return total;
}
