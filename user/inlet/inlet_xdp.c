// SPDX-License-Identifier: AGPL-3.0-or-later
/* The inlet's side of the xdp_steer program: load through the skeleton,
 * attach (replacing a stale copy of ours), run-time map updates, counters. */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../common/log.h"
#include "bpf/xdp_steer.skel.h"
#include "inlet_internal.h"

#define PROG_NAME "xdp_steer"

unsigned inlet_xdp_rx_queues(const char *ifname)
{
	struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};
	struct ifreq ifr = {0};
	unsigned n = 0;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
		n = ch.rx_count > ch.combined_count ? ch.rx_count : ch.combined_count;
	close(fd);
	return n ? n : 1;
}

static const char *capability_hint(int e)
{
	return e == EPERM || e == EACCES ? " (needs CAP_BPF and CAP_NET_ADMIN, or root)" : "";
}

int inlet_xdp_open(struct inlet *in, struct inlet_input *input, uint32_t max_queue,
		   struct error *err)
{
	struct xdp_steer_bpf *skel;
	uint8_t one = 1;
	int r;

	(void)in;
	skel = xdp_steer_bpf__open();
	if (!skel) {
		r = -errno;
		return error_set(err, r, "flow: opening the XDP program: %s", strerror(-r));
	}
	r = bpf_map__set_max_entries(skel->maps.xsks, max_queue + 1);
	if (r < 0)
		goto fail_msg;
	skel->rodata->per_exporter_stats = 1;
	r = xdp_steer_bpf__load(skel);
	if (r < 0) {
		error_set(err, r, "flow: interface %s: loading the XDP program failed: %s%s",
			  input->ifname, strerror(-r), capability_hint(-r));
		xdp_steer_bpf__destroy(skel);
		return r;
	}
	for (size_t i = 0; i < input->nports; i++) {
		uint32_t port = input->ports[i];

		r = bpf_map_update_elem(bpf_map__fd(skel->maps.ports), &port, &one, BPF_ANY);
		if (r < 0)
			goto fail_msg;
	}
	input->skel = skel;
	return 0;
fail_msg:
	error_set(err, r, "flow: interface %s: setting up the XDP program: %s", input->ifname,
		  strerror(-r));
	xdp_steer_bpf__destroy(skel);
	return r;
}

/* Name of program `id`, or "" when it cannot be read. */
static void prog_name(uint32_t id, char *name, size_t size)
{
	struct bpf_prog_info info = {0};
	uint32_t len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	name[0] = 0;
	if (fd < 0)
		return;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		snprintf(name, size, "%s", info.name);
	close(fd);
}

/* A program of ours left by a process that died without detaching it is
 * replaced; anything else on the interface is someone else's: refuse. */
static int clear_stale(struct inlet_input *input, struct error *err)
{
	struct bpf_xdp_query_opts q = {.sz = sizeof(q)};
	struct {
		uint32_t id, flag;
	} modes[2];
	char name[BPF_OBJ_NAME_LEN];
	int r = bpf_xdp_query(input->ifindex, 0, &q);

	if (r < 0)
		return error_set(err, r, "flow: interface %s: querying XDP programs: %s%s",
				 input->ifname, strerror(-r),
				 r == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
	if (q.hw_prog_id)
		return error_set(err, -EBUSY,
				 "flow: interface %s has an offloaded XDP program (id %u)",
				 input->ifname, q.hw_prog_id);
	modes[0].id = q.drv_prog_id;
	modes[0].flag = XDP_FLAGS_DRV_MODE;
	modes[1].id = q.skb_prog_id;
	modes[1].flag = XDP_FLAGS_SKB_MODE;
	for (int i = 0; i < 2; i++) {
		if (!modes[i].id)
			continue;
		prog_name(modes[i].id, name, sizeof(name));
		if (strcmp(name, PROG_NAME) != 0)
			return error_set(
			    err, -EBUSY,
			    "flow: interface %s already has XDP program \"%s\" (id %u); "
			    "detach it first (ip link set dev %s %s off)",
			    input->ifname, name, modes[i].id, input->ifname,
			    modes[i].flag == XDP_FLAGS_SKB_MODE ? "xdpgeneric" : "xdpdrv");
		r = bpf_xdp_detach(input->ifindex, modes[i].flag, NULL);
		if (r < 0)
			return error_set(err, r, "flow: interface %s: detaching stale program: %s",
					 input->ifname, strerror(-r));
		log_warn("replaced a stale XDP program", "interface=%s prog_id=%u", input->ifname,
			 modes[i].id);
	}
	return 0;
}

int inlet_xdp_attach(struct inlet_input *input, struct error *err)
{
	int fd = bpf_program__fd(input->skel->progs.xdp_steer);
	int r = clear_stale(input, err);

	if (r < 0)
		return r;
	if (input->cfg.mode != INLET_XDP_GENERIC) {
		input->xdp_flags = XDP_FLAGS_DRV_MODE;
		r = bpf_xdp_attach(input->ifindex, fd,
				   XDP_FLAGS_UPDATE_IF_NOEXIST | XDP_FLAGS_DRV_MODE, NULL);
		if (r == 0 || input->cfg.mode == INLET_XDP_NATIVE || r == -EPERM || r == -EBUSY ||
		    r == -EEXIST)
			goto done;
		log_info("native XDP refused, using generic mode", "interface=%s error=\"%s\"",
			 input->ifname, strerror(-r));
	}
	input->xdp_flags = XDP_FLAGS_SKB_MODE;
	r = bpf_xdp_attach(input->ifindex, fd, XDP_FLAGS_UPDATE_IF_NOEXIST | XDP_FLAGS_SKB_MODE,
			   NULL);
done:
	if (r < 0)
		return error_set(err, r, "flow: interface %s: attaching XDP in %s mode: %s%s",
				 input->ifname,
				 input->xdp_flags == XDP_FLAGS_DRV_MODE ? "native" : "generic",
				 strerror(-r), r == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
	input->attached = 1;
	log_info("XDP program attached", "interface=%s mode=%s", input->ifname,
		 input->xdp_flags == XDP_FLAGS_DRV_MODE ? "native" : "generic");
	return 0;
}

void inlet_xdp_detach(struct inlet_input *input)
{
	struct bpf_xdp_attach_opts opts = {.sz = sizeof(opts)};
	int r;

	if (!input->attached)
		return;
	/* Only our program: if someone replaced it meanwhile, theirs stays. */
	opts.old_prog_fd = bpf_program__fd(input->skel->progs.xdp_steer);
	r = bpf_xdp_detach(input->ifindex, input->xdp_flags | XDP_FLAGS_REPLACE, &opts);
	if (r < 0)
		log_warn("detaching the XDP program failed", "interface=%s error=\"%s\"",
			 input->ifname, strerror(-r));
	input->attached = 0;
}

void inlet_xdp_close(struct inlet_input *input)
{
	inlet_xdp_detach(input);
	xdp_steer_bpf__destroy(input->skel);
	input->skel = NULL;
}

int inlet_xdp_xsk_map_fd(struct inlet_input *input)
{
	return bpf_map__fd(input->skel->maps.xsks);
}

/* The allowlist is replaced entry by entry: new prefixes first, then the
 * settings switch it on or off, then the prefixes no longer wanted go. */
int inlet_xdp_set_policy(struct inlet_input *input, const struct inlet_prefix *allow, size_t nallow,
			 uint64_t rate, uint64_t burst)
{
	int lpm = bpf_map__fd(input->skel->maps.allowlist);
	struct xdp_steer_settings s = {.rate = rate, .burst = burst, .allowlist_enabled = !!allow};
	struct xdp_steer_lpm_key key, next, *keys = NULL;
	size_t nkeys = 0, cap = 0;
	uint32_t zero = 0;
	uint8_t one = 1;
	int r;

	for (size_t i = 0; i < nallow; i++) {
		key.prefixlen = allow[i].len;
		memcpy(key.addr, allow[i].addr.s6_addr, 16);
		r = bpf_map_update_elem(lpm, &key, &one, BPF_ANY);
		if (r < 0)
			return r;
	}
	r = bpf_map_update_elem(bpf_map__fd(input->skel->maps.settings), &zero, &s, BPF_ANY);
	if (r < 0)
		return r;
	/* Collect the keys first: deleting while walking restarts the walk. */
	for (r = bpf_map_get_next_key(lpm, NULL, &next); r == 0;
	     r = bpf_map_get_next_key(lpm, &key, &next)) {
		int wanted = 0;

		for (size_t i = 0; i < nallow && !wanted; i++)
			wanted = allow[i].len == next.prefixlen &&
				 memcmp(allow[i].addr.s6_addr, next.addr, 16) == 0;
		if (!wanted) {
			if (nkeys == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				void *p = realloc(keys, ncap * sizeof(*keys));

				if (!p) {
					free(keys);
					return -ENOMEM;
				}
				keys = p;
				cap = ncap;
			}
			keys[nkeys++] = next;
		}
		key = next;
	}
	for (size_t i = 0; i < nkeys; i++)
		bpf_map_delete_elem(lpm, &keys[i]);
	free(keys);
	/* Buckets restart full under a new rate. */
	if (rate) {
		int bfd = bpf_map__fd(input->skel->maps.buckets);
		struct xdp_steer_addr a, na;

		while (bpf_map_get_next_key(bfd, NULL, &na) == 0) {
			a = na;
			if (bpf_map_delete_elem(bfd, &a) < 0)
				break;
		}
	}
	return 0;
}

/* Room for a per-CPU map's value (`size` bytes per possible CPU, as a
 * lookup fills it) in *out, to free, and the CPU count in *ncpu. Returns 0,
 * or -EINVAL or -ENOMEM with *out = NULL. */
static int percpu_alloc(size_t size, int *ncpu, void **out)
{
	*out = NULL;
	*ncpu = libbpf_num_possible_cpus();
	if (*ncpu <= 0)
		return -EINVAL;
	*out = calloc((size_t)*ncpu, size);
	return *out ? 0 : -ENOMEM;
}

int inlet_xdp_read_outcomes(struct inlet_input *input,
			    struct xdp_steer_counter out[XDP_STEER_OUTCOMES])
{
	int fd = bpf_map__fd(input->skel->maps.outcomes), ncpu;
	struct xdp_steer_counter *v;
	int r;

	r = percpu_alloc(sizeof(*v), &ncpu, (void **)&v);
	if (r < 0)
		return r;
	for (uint32_t k = 0; k < XDP_STEER_OUTCOMES; k++) {
		out[k].packets = out[k].bytes = 0;
		if (bpf_map_lookup_elem(fd, &k, v) < 0)
			continue;
		for (int c = 0; c < ncpu; c++) {
			out[k].packets += v[c].packets;
			out[k].bytes += v[c].bytes;
		}
	}
	free(v);
	return 0;
}

static int sum_exporter(int fd, const struct xdp_steer_addr *a, struct xdp_steer_exporter *v,
			int ncpu, struct xdp_steer_exporter *out)
{
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(fd, a, v) < 0)
		return -ENOENT;
	for (int c = 0; c < ncpu; c++) {
		out->steered += v[c].steered;
		out->steered_bytes += v[c].steered_bytes;
		out->dropped_not_allowed += v[c].dropped_not_allowed;
		out->dropped_rate += v[c].dropped_rate;
	}
	return 0;
}

int inlet_xdp_read_exporter(struct inlet_input *input, const struct xdp_steer_addr *a,
			    struct xdp_steer_exporter *out)
{
	struct xdp_steer_exporter *v;
	int ncpu, r;

	r = percpu_alloc(sizeof(*v), &ncpu, (void **)&v);
	if (r < 0)
		return r;
	r = sum_exporter(bpf_map__fd(input->skel->maps.exporters), a, v, ncpu, out);
	free(v);
	return r;
}

int inlet_xdp_for_each_exporter(struct inlet_input *input,
				void (*fn)(void *ctx, const struct xdp_steer_addr *a,
					   const struct xdp_steer_exporter *e),
				void *ctx)
{
	int fd = bpf_map__fd(input->skel->maps.exporters);
	struct xdp_steer_addr key, next;
	struct xdp_steer_exporter *v, sum;
	int ncpu, r;

	r = percpu_alloc(sizeof(*v), &ncpu, (void **)&v);
	if (r < 0)
		return r;
	for (r = bpf_map_get_next_key(fd, NULL, &next); r == 0;
	     r = bpf_map_get_next_key(fd, &key, &next)) {
		if (sum_exporter(fd, &next, v, ncpu, &sum) == 0)
			fn(ctx, &next, &sum);
		key = next;
	}
	free(v);
	return 0;
}
