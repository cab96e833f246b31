// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* `weir bench e2e --input afxdp`'s sender: run by the kernel's XDP traffic
 * generator (BPF_PROG_TEST_RUN with live frames) on the exporter's end of a
 * veth pair, each repetition becomes the next of `count` prebuilt frames
 * (the exporters' datagrams, in turn) and leaves through XDP_TX. The
 * generator repeats one input frame; this program makes the repetitions
 * the distinct datagrams a replay needs, without a system call each. */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>

#include "bench_frames.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set to the frame count before load */
	__type(key, __u32);
	__type(value, struct bench_frame);
} frames SEC(".maps");

/* Set before each run: frames in the map; the next one to send. One
 * sending thread: the generator runs a call's repetitions in turn. */
__u32 count;
__u64 next;

SEC("xdp")
int bench_frames(struct xdp_md *ctx)
{
	struct bench_frame *f;
	__u32 at, len;
	int cur;

	/* Only the generator's input carries metadata; frames arriving on
	 * this end (the program is attached to it: see inlet_sender.c) pass. */
	if (ctx->data_meta >= ctx->data || count == 0)
		return XDP_PASS;
	at = (__u32)(next % count);
	next++;
	f = bpf_map_lookup_elem(&frames, &at);
	if (!f)
		return XDP_ABORTED;
	len = f->len;
	if (len < BENCH_FRAME_MIN || len > BENCH_FRAME_MAX)
		return XDP_ABORTED;
	cur = (int)bpf_xdp_get_buff_len(ctx);
	if (bpf_xdp_adjust_tail(ctx, (int)len - cur))
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 0, f->data, len))
		return XDP_ABORTED;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
