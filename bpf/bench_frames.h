/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* The frames of `weir bench e2e --input afxdp`'s generator
 * (bench_frames.bpf.c), as user/bench/e2e_xdp.c writes them into its map.
 * Plain __u types only, so both sides see the same layout. */
#ifndef WEIR_BENCH_FRAMES_H
#define WEIR_BENCH_FRAMES_H

/* Ethernet + IPv4 + UDP headers and a datagram of up to 1500 bytes (the
 * pair's MTU is raised to carry it: the loopback runs send the same). */
#define BENCH_FRAME_MIN 60
#define BENCH_FRAME_MAX 1600

struct bench_frame {
	__u32 len; /* of data[], from the Ethernet header */
	__u8 data[BENCH_FRAME_MAX];
};

#endif
