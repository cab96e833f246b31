// SPDX-License-Identifier: AGPL-3.0-or-later
/* Big-endian reads, writes and bounded appends. */
#include <errno.h>

#include "common/be.h"
#include "test.h"

TEST(be_put_then_get)
{
	uint8_t b[32] = {0}, *p = b;

	p = be16_put(p, 0x0102);
	p = be32_put(p, 0x03040506);
	p = be64_put(p, 0x0708090a0b0c0d0eull);
	p = be_uint_put(p, 0x0f1011, 3);
	CHECK_EQ(p - b, 17);
	for (int i = 0; i < 17; i++)
		CHECK_EQ(b[i], i + 1);
	CHECK_EQ(be16_get(b), 0x0102);
	CHECK_EQ(be32_get(b + 2), 0x03040506);
	CHECK_EQ(be64_get(b + 6), 0x0708090a0b0c0d0eull);
	CHECK_EQ(be_uint_get(b + 14, 3), 0x0f1011);
	CHECK_EQ(be_uint_get(b, 8), 0x0102030405060708ull);
	CHECK_EQ(be_uint_get(b, 1), 1);
	CHECK_EQ(be16_get((const uint8_t[]){0xff, 0xfe}), 0xfffe);
	CHECK_EQ(be32_get((const uint8_t[]){0xff, 0, 0, 1}), 0xff000001u);
}

TEST(be_append_stops_at_the_end)
{
	uint8_t b[7];
	size_t n = 0;

	CHECK_EQ(be_append8(b, sizeof(b), &n, 0xaa), 0);
	CHECK_EQ(be_append16(b, sizeof(b), &n, 0xbbcc), 0);
	CHECK_EQ(be_append32(b, sizeof(b), &n, 0x11223344), 0);
	CHECK_EQ(n, 7);
	CHECK_MEM(b, "\xaa\xbb\xcc\x11\x22\x33\x44", 7);
	/* Full: nothing more is written, n stays. */
	CHECK_EQ(be_append8(b, sizeof(b), &n, 1), -ENOSPC);
	CHECK_EQ(n, 7);
	n = 2;
	CHECK_EQ(be_append64(b, sizeof(b), &n, 1), -ENOSPC);
	CHECK_EQ(n, 2);
	CHECK_EQ(be_append(b, sizeof(b), &n, "xyz", 3), 0);
	CHECK_EQ(n, 5);
	CHECK_MEM(b, "\xaa\xbbxyz", 5);
	n = 9; /* already past the end */
	CHECK_EQ(be_append(b, sizeof(b), &n, "", 0), -ENOSPC);
}
