// SPDX-License-Identifier: AGPL-3.0-or-later
/* The Internet checksum: a known IPv4 header, a header that checks to zero,
 * an odd length, and parts summed separately. */
#include "common/inet_csum.h"
#include "test.h"

TEST(inet_csum_of_an_ipv4_header)
{
	/* 192.168.0.1 -> 192.168.0.199, UDP: checksum 0xb861. */
	uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

	CHECK_EQ(inet_csum_fold(inet_csum_add(0, h, sizeof(h))), 0xb861);
	h[10] = 0xb8;
	h[11] = 0x61;
	CHECK_EQ(inet_csum_fold(inet_csum_add(0, h, sizeof(h))), 0);
	/* In two parts. */
	CHECK_EQ(inet_csum_fold(inet_csum_add(inet_csum_add(0, h, 8), h + 8, 12)), 0);
}

TEST(inet_csum_odd_length_pads_with_zero)
{
	const uint8_t a[3] = {0x12, 0x34, 0x56}, b[4] = {0x12, 0x34, 0x56, 0x00};

	CHECK_EQ(inet_csum_add(0, a, 3), inet_csum_add(0, b, 4));
	CHECK_EQ(inet_csum_add(0, a, 3), 0x1234 + 0x5600);
	CHECK_EQ(inet_csum_fold(0x1fffe), 0); /* 0xfffe + 1 = 0xffff, complemented */
	CHECK_EQ(inet_csum_fold(0), 0xffff);
}
