// SPDX-License-Identifier: AGPL-3.0-or-later
/* Attaching the probe's programs to an interface: tcx links (the kernel
 * detaches them when the process dies, so a crash leaves nothing behind),
 * clsact filters at a fixed handle and priority (a crashed probe's filters
 * stay: ours are replaced, anyone else's are left alone and refused), or an
 * XDP link on ingress. libbpf 1.1 has no tcx helper: bpf_link_create() with
 * the tcx attach types, which the 6.1 uapi headers do not name. */
#include <errno.h>
#include <linux/if_link.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../common/log.h"
#include "bpf/probe.skel.h"
#include "probe_internal.h"

#define ATTACH_TCX_INGRESS 46	  /* BPF_TCX_INGRESS */
#define ATTACH_TCX_EGRESS  47	  /* BPF_TCX_EGRESS */
#define TC_HANDLE	   0x7765 /* "we" */
#define TC_PRIORITY	   0x7765

static const char *const mode_names[] = {"auto", "tcx", "clsact", "xdp"};

/* 1 when program `id` is one of the probe's (by name), 0 when not. */
static int prog_is_ours(uint32_t id)
{
	struct bpf_prog_info info = {0};
	uint32_t len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id), ours = 0;

	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		ours = !strcmp(info.name, "probe_ingress") || !strcmp(info.name, "probe_egress") ||
		       !strcmp(info.name, "probe_xdp");
	close(fd);
	return ours;
}

/* Our clsact filter on one hook, when there is one: kept (remove 0),
 * removed as stale (1, logged) or as ours at exit (2); someone else's at our
 * handle is an error. */
static int tc_clear(struct probe_iface *i, enum bpf_tc_attach_point where, int remove,
		    struct error *err)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)i->info.ifindex,
			    .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, q, .handle = TC_HANDLE, .priority = TC_PRIORITY);
	libbpf_print_fn_t print;
	int r;

	/* Without a clsact qdisc libbpf prints the kernel's complaint: the
	 * usual case, not worth a line. */
	print = libbpf_set_print(NULL);
	r = bpf_tc_query(&hook, &q);
	libbpf_set_print(print);
	if (r < 0)
		return 0; /* no clsact qdisc, or nothing at our place */
	if (!prog_is_ours(q.prog_id))
		return error_set(err, -EBUSY,
				 "probe: interface %s has another program (id %u) at tc handle "
				 "0x%x priority 0x%x",
				 i->info.name, q.prog_id, TC_HANDLE, TC_PRIORITY);
	if (remove) {
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, d, .handle = TC_HANDLE, .priority = TC_PRIORITY);

		bpf_tc_detach(&hook, &d);
		if (remove == 1)
			log_warn("removed a stale probe program", "interface=%s hook=%s prog_id=%u",
				 i->info.name, where == BPF_TC_INGRESS ? "ingress" : "egress",
				 q.prog_id);
	}
	return 0;
}

static int attach_clsact(struct probe_bpf *skel, struct probe_iface *i, struct error *err)
{
	struct {
		enum bpf_tc_attach_point where;
		int fd;
	} hooks[2] = {
	    {BPF_TC_INGRESS, bpf_program__fd(skel->progs.probe_ingress)},
	    {BPF_TC_EGRESS, bpf_program__fd(skel->progs.probe_egress)},
	};
	int r;

	for (int k = 0; k < 2; k++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)i->info.ifindex,
				    .attach_point = hooks[k].where);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY,
				    .prog_fd = hooks[k].fd, .flags = BPF_TC_F_REPLACE);

		r = bpf_tc_hook_create(&hook);
		if (r < 0 && r != -EEXIST)
			return error_set(err, r,
					 "probe: interface %s: creating the clsact qdisc: %s",
					 i->info.name, strerror(-r));
		/* A stale filter of ours is replaced in place. */
		r = tc_clear(i, hooks[k].where, 0, err);
		if (r < 0)
			return r;
		r = bpf_tc_attach(&hook, &opts);
		if (r < 0)
			return error_set(err, r, "probe: interface %s: attaching to clsact %s: %s",
					 i->info.name, k ? "egress" : "ingress", strerror(-r));
	}
	return 0;
}

static int link_create(int prog_fd, struct probe_iface *i, int type)
{
	int fd = bpf_link_create(prog_fd, (int)i->info.ifindex, (enum bpf_attach_type)type, NULL);

	return fd < 0 ? -errno : fd;
}

static int attach_tcx(struct probe_bpf *skel, struct probe_iface *i, struct error *err)
{
	int r;

	/* A crashed probe may have left clsact filters: they would count
	 * everything a second time. */
	for (int k = 0; k < 2; k++) {
		r = tc_clear(i, k ? BPF_TC_EGRESS : BPF_TC_INGRESS, 1, err);
		if (r < 0)
			return r;
	}
	r = link_create(bpf_program__fd(skel->progs.probe_ingress), i, ATTACH_TCX_INGRESS);
	if (r < 0)
		return error_set(err, r, "probe: interface %s: tcx ingress link: %s", i->info.name,
				 strerror(-r));
	i->link_in = r;
	r = link_create(bpf_program__fd(skel->progs.probe_egress), i, ATTACH_TCX_EGRESS);
	if (r < 0) {
		close(i->link_in);
		i->link_in = -1;
		return error_set(err, r, "probe: interface %s: tcx egress link: %s", i->info.name,
				 strerror(-r));
	}
	i->link_out = r;
	return 0;
}

static int attach_xdp(struct probe_bpf *skel, struct probe_iface *i, struct error *err)
{
	struct bpf_xdp_query_opts q = {.sz = sizeof(q)};
	int r;

	for (int k = 0; k < 2; k++) {
		r = tc_clear(i, k ? BPF_TC_EGRESS : BPF_TC_INGRESS, 1, err);
		if (r < 0)
			return r;
	}
	/* An XDP program attached without a link survives its process. */
	if (bpf_xdp_query((int)i->info.ifindex, 0, &q) == 0 && q.prog_id) {
		if (!prog_is_ours(q.prog_id))
			return error_set(err, -EBUSY,
					 "probe: interface %s already has an XDP program (id %u)",
					 i->info.name, q.prog_id);
		bpf_xdp_detach((int)i->info.ifindex,
			       q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE
								 : XDP_FLAGS_DRV_MODE,
			       NULL);
	}
	r = link_create(bpf_program__fd(skel->progs.probe_xdp), i, BPF_XDP);
	if (r < 0)
		return error_set(err, r, "probe: interface %s: XDP link: %s", i->info.name,
				 strerror(-r));
	i->link_in = r;
	return 0;
}

int probe_attach(struct probe_bpf *skel, int mode, struct probe_iface *i, struct error *err)
{
	int r;

	i->link_in = i->link_out = -1;
	switch (mode) {
	case PROBE_ATTACH_XDP:
		r = attach_xdp(skel, i, err);
		break;
	case PROBE_ATTACH_CLSACT:
		r = attach_clsact(skel, i, err);
		break;
	case PROBE_ATTACH_TCX:
		r = attach_tcx(skel, i, err);
		break;
	default:
		mode = PROBE_ATTACH_TCX;
		r = attach_tcx(skel, i, err);
		/* Kernels before 6.6 have no tcx. */
		if (r == -EINVAL || r == -EOPNOTSUPP || r == -524 /* ENOTSUPP */) {
			mode = PROBE_ATTACH_CLSACT;
			r = attach_clsact(skel, i, err);
		}
	}
	if (r == -EPERM || r == -EACCES)
		return error_set(err, r,
				 "probe: interface %s: attaching needs CAP_BPF and "
				 "CAP_NET_ADMIN, or root",
				 i->info.name);
	if (r < 0)
		return r;
	i->mode = mode;
	i->attached = 1;
	log_info("probe attached", "interface=%s ifindex=%u mode=%s", i->info.name, i->info.ifindex,
		 mode_names[mode]);
	return 0;
}

void probe_detach(struct probe_bpf *skel, struct probe_iface *i)
{
	(void)skel;
	if (!i->attached)
		return;
	if (i->link_in >= 0)
		close(i->link_in);
	if (i->link_out >= 0)
		close(i->link_out);
	i->link_in = i->link_out = -1;
	if (i->mode == PROBE_ATTACH_CLSACT) {
		/* Only ours: someone who replaced it keeps theirs. */
		for (int k = 0; k < 2; k++)
			tc_clear(i, k ? BPF_TC_EGRESS : BPF_TC_INGRESS, 2, NULL);
	}
	i->attached = 0;
}
