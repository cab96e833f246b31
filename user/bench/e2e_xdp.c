// SPDX-License-Identifier: AGPL-3.0-or-later
/* `weir bench e2e --input afxdp`'s sender: the exporters' datagrams as
 * Ethernet frames in the map of bench_frames.bpf.c, sent from the
 * exporter's end of a veth pair by the kernel's XDP traffic generator, so
 * that they reach the collector's end as a NIC's frames reach its driver:
 * weir's XDP program steers them into its AF_XDP socket. The loopback runs
 * pay the kernel's UDP send and receive per datagram in the senders'
 * threads; a router's datagrams cost the collector nothing before its NIC. */
#include <errno.h>
#include <linux/if_link.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "../../bpf/bench_frames.h"

#include "bench_internal.h"
#include "bpf/bench_frames.skel.h"
#include "common/addr.h"
#include "common/clock.h"

/* Frames per generator call: the kernel runs them in batches of 64, each
 * batch's frames delivered to the collector's end before the next. */
#define CALL_FRAMES 256

struct bench_frame_gen {
	struct bench_frames_bpf *skel;
	int ifindex; /* the exporter's end, in its namespace */
	uint32_t count;
	uint16_t *flows; /* per frame */
	/* the generator's input: 4 bytes of metadata (the program's mark),
	 * then a frame, which the program replaces */
	uint8_t input[4 + BENCH_FRAME_MAX];
	uint32_t input_len;
};

void bench_frame_gen_free(struct bench_frame_gen *g)
{
	if (!g)
		return;
	/* The program stays attached to the exporter's end until the pair
	 * goes: detaching is the namespace's deletion. */
	bench_frames_bpf__destroy(g->skel);
	free(g->flows);
	free(g);
}

/* Frame `at`: exporter at % nexp's datagram at / nexp. */
static int frame_build(struct bench_frame *f, const uint8_t macs[12],
		       const struct bench_frame_src *src, unsigned nexp, uint32_t at,
		       uint16_t dport, uint16_t *flows)
{
	const struct bench_frame_src *s = &src[at % nexp];
	size_t k = at / nexp;
	struct in6_addr from;
	int n;

	addr_from_ipv4(&from, s->ipv4);
	n = bench_netpair_frame(f->data, sizeof(f->data), macs, &from,
				(uint16_t)(40000 + at % nexp), dport, s->buf + k * s->stride,
				s->len[k]);
	if (n < BENCH_FRAME_MIN)
		return n < 0 ? n : -EMSGSIZE;
	f->len = (uint32_t)n;
	*flows = s->flows[k];
	return 0;
}

int bench_frame_gen_new(struct bench_netpair *np, uint16_t dport, const struct bench_frame_src *src,
			unsigned nexp, size_t per_exporter, struct bench_frame_gen **out,
			struct error *err)
{
	struct bench_frame_gen *g = calloc(1, sizeof(*g));
	struct bench_frame *f = malloc(sizeof(*f));
	uint8_t macs[12];
	int r;

	*out = NULL;
	if (!g || !f) {
		r = error_set(err, -ENOMEM, "out of memory for the XDP sender");
		goto fail;
	}
	g->count = (uint32_t)(nexp * per_exporter);
	g->flows = calloc(g->count, sizeof(*g->flows));
	if (!g->flows) {
		r = error_set(err, -ENOMEM, "out of memory for the XDP sender");
		goto fail;
	}
	/* Destination: the collector's MAC (else its IP drops the frames it
	 * would pass as another host's), source: the exporter's. */
	r = bench_netpair_link(np, 1, macs);
	if (r >= 0)
		r = g->ifindex = bench_netpair_link(np, 0, macs + 6);
	if (r < 0) {
		error_set(err, r, "cannot read the veth pair's addresses");
		goto fail;
	}
	g->skel = bench_frames_bpf__open();
	if (!g->skel) {
		r = error_set(err, -errno, "cannot open the XDP sender's program");
		goto fail;
	}
	bpf_map__set_max_entries(g->skel->maps.frames, g->count);
	r = bench_frames_bpf__load(g->skel);
	if (r < 0) {
		error_set(err, r, "cannot load the XDP sender's program (Linux 5.18+)");
		goto fail;
	}
	for (uint32_t at = 0; at < g->count; at++) {
		r = frame_build(f, macs, src, nexp, at, dport, &g->flows[at]);
		if (r == 0)
			r = bpf_map_update_elem(bpf_map__fd(g->skel->maps.frames), &at, f, BPF_ANY);
		if (r < 0) {
			error_set(err, r, "cannot write frame %u of the XDP sender", at);
			goto fail;
		}
	}
	/* Any frame as the input: the program writes the one due over it. */
	memcpy(g->input + 4, f->data, f->len);
	g->input_len = f->len;
	/* Attached to the exporter's end too, where real frames have no
	 * metadata and pass (inlet_sender.c says why). */
	r = bench_netpair_enter(np, 0);
	if (r == 0) {
		r = bpf_xdp_attach(g->ifindex, bpf_program__fd(g->skel->progs.bench_frames),
				   XDP_FLAGS_DRV_MODE, NULL);
		bench_netpair_leave(np);
	}
	if (r < 0) {
		error_set(err, r, "cannot attach the XDP sender's program");
		goto fail;
	}
	free(f);
	*out = g;
	return 0;
fail:
	free(f);
	bench_frame_gen_free(g);
	return r;
}

/* n frames from the one due: 0, or -errno. */
static int send_frames(struct bench_frame_gen *g, uint32_t n)
{
	struct xdp_md ctx = {
	    .data = 4, .data_end = 4 + g->input_len, .ingress_ifindex = (uint32_t)g->ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = g->input, .data_size_in = 4 + g->input_len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = n,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
	uint64_t before = g->skel->bss->next;
	int r = bpf_prog_test_run_opts(bpf_program__fd(g->skel->progs.bench_frames), &o);

	if (r < 0)
		return r;
	/* Each repetition is one frame of the cycle: any other count would
	 * make the flows counted here wrong. */
	return g->skel->bss->next == before + n ? 0 : -EPROTO;
}

int bench_frame_gen_run(struct bench_frame_gen *g, uint64_t want, uint64_t rate,
			uint64_t *sent_flows, uint64_t *sent_frames)
{
	double start = clock_mono_s();
	uint64_t flows = 0, frames = 0;

	g->skel->bss->count = g->count;
	g->skel->bss->next = 0;
	while (flows < want) {
		uint64_t add = 0;
		uint32_t n = 0;
		int r;

		/* Whole datagrams only, none past `want` (the loopback senders
		 * stop the same way). */
		while (n < CALL_FRAMES) {
			uint16_t k = g->flows[(frames + n) % g->count];

			if (flows + add + k > want)
				break;
			add += k;
			n++;
		}
		if (n == 0)
			break;
		r = send_frames(g, n);
		if (r < 0)
			return r;
		frames += n;
		flows += add;
		__atomic_store_n(sent_flows, flows, __ATOMIC_RELAXED);
		__atomic_store_n(sent_frames, frames, __ATOMIC_RELAXED);
		clock_pace(start, flows, (double)rate);
	}
	return 0;
}
