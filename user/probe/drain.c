// SPDX-License-Identifier: AGPL-3.0-or-later
/* Moving the kernel's counters into the flow table without losing a packet.
 * A batch lookup-and-delete on a map the programs are writing to loses the
 * increments that land between the copy and the delete; so there are two
 * flow maps: the empty one is swapped into the array-of-maps slot, the kernel
 * waits for every program still running on the old one (a map-in-map update
 * does a synchronize_rcu()), and only then is the old one read and emptied. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "probe_internal.h"

#define DRAIN_BATCH 1024

/* With the kernel's 40-byte element header, a hash element of these is 128
 * bytes: two whole cache lines per flow, which the programs' cost at many
 * flows depends on (bpf/probe.h). */
_Static_assert(sizeof(struct probe_flow_key) + sizeof(struct probe_flow_value) == 88,
	       "probe: flow key and value no longer fill two cache lines with the header");

int probe_drain_init(struct probe_drain *d, size_t max_flows, struct error *err)
{
	int r;

	memset(d, 0, sizeof(*d));
	d->outer_fd = d->inner_fd[0] = d->inner_fd[1] = -1;
	d->ncpu = libbpf_num_possible_cpus();
	if (d->ncpu <= 0)
		return error_set(err, d->ncpu ? d->ncpu : -EINVAL, "probe: counting CPUs failed");
	d->batch = DRAIN_BATCH;
	d->keys = calloc(d->batch, sizeof(*d->keys));
	d->values = calloc(d->batch, sizeof(*d->values));
	if (!d->keys || !d->values) {
		r = error_set(err, -ENOMEM, "probe: out of memory");
		goto fail;
	}
	for (int i = 0; i < 2; i++) {
		d->inner_fd[i] =
		    bpf_map_create(BPF_MAP_TYPE_HASH, "probe_flows", sizeof(struct probe_flow_key),
				   sizeof(struct probe_flow_value), (uint32_t)max_flows, NULL);
		if (d->inner_fd[i] < 0) {
			r = error_set(err, -errno,
				      "probe: creating a flow map of %zu entries: %s%s", max_flows,
				      strerror(errno),
				      errno == EPERM ? " (needs CAP_BPF, or root)" : "");
			goto fail;
		}
	}
	return 0;
fail:
	probe_drain_fini(d);
	return r;
}

int probe_drain_bind(struct probe_drain *d, int outer_fd, struct error *err)
{
	uint32_t zero = 0;

	d->outer_fd = outer_fd;
	d->active = 0;
	if (bpf_map_update_elem(outer_fd, &zero, &d->inner_fd[0], BPF_ANY) < 0)
		return error_set(err, -errno, "probe: installing the flow map: %s",
				 strerror(errno));
	return 0;
}

void probe_drain_fini(struct probe_drain *d)
{
	for (int i = 0; i < 2; i++)
		if (d->inner_fd[i] >= 0)
			close(d->inner_fd[i]);
	free(d->keys);
	free(d->values);
	memset(d, 0, sizeof(*d));
	d->outer_fd = d->inner_fd[0] = d->inner_fd[1] = -1;
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

int probe_drain_run(struct probe_drain *d, struct probe_table *t,
		    int (*overflow)(void *ctx, const struct probe_flow_key *k,
				    const struct probe_flow_value *v),
		    void *ctx)
{
	uint32_t zero = 0, token = 0, n;
	int old = d->active, fd = d->inner_fd[old], total = 0, r;
	void *in = NULL;

	/* Returns once no program can still be writing to the old map. */
	if (bpf_map_update_elem(d->outer_fd, &zero, &d->inner_fd[!old], BPF_ANY) < 0)
		return -errno;
	d->active = !old;
	for (;;) {
		n = (uint32_t)d->batch;
		r = bpf_map_lookup_and_delete_batch(fd, in, &token, d->keys, d->values, &n, NULL);
		if (r < 0 && errno != ENOENT)
			return -errno;
		if (n) {
			int a = add_batch(d, n, t, overflow, ctx);

			if (a < 0)
				return a;
			total += (int)n;
		}
		if (r < 0) /* ENOENT: the map is empty now */
			break;
		in = &token;
	}
	return total;
}
