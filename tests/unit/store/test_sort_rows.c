// SPDX-License-Identifier: AGPL-3.0-or-later
/* Rows put in a sorting key's order before a batch is sent (sort_rows.c):
 * the order ClickHouse compares in, stability, arrays moved with their row. */
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "test.h"

TEST(order_by_key_columns)
{
	/* minute (DateTime), then a UInt32 compared as a number (not by its
	 * little-endian bytes), then a FixedString(16) by its bytes. */
	uint32_t t[5] = {120, 61, 119, 60, 59};
	uint32_t as[5] = {256, 1, 2, 1, 7};
	uint8_t addr[5][16] = {{0}};
	struct store_sort_key keys[3] = {{t, 4, 1}, {as, 4, 0}, {addr, 16, 0}};
	uint32_t *perm;

	addr[1][0] = 2;
	addr[3][0] = 1;
	CHECK_EQ(store_rows_order(keys, 3, 5, &perm), 1);
	REQUIRE(perm);
	/* minute 0: row 4; minute 60: rows 3 (as 1, addr 1), 1 (as 1, addr 2),
	 * 2 (as 2) [119 is minute 60]; minute 120: row 0. */
	CHECK_EQ(perm[0], 4);
	CHECK_EQ(perm[1], 3);
	CHECK_EQ(perm[2], 1);
	CHECK_EQ(perm[3], 2);
	CHECK_EQ(perm[4], 0);
	free(perm);

	/* Out of order only within a minute, then in order (ties included). */
	uint32_t sorted_t[4] = {0, 10, 59, 60};
	uint32_t sorted_as[4] = {5, 5, 4, 1};
	struct store_sort_key k2[2] = {{sorted_t, 4, 1}, {sorted_as, 4, 0}};
	CHECK_EQ(store_rows_order(k2, 2, 4, &perm), 1); /* 0, 10 and 59 share a minute: 5 > 4 */
	free(perm);
	sorted_as[0] = sorted_as[1] = sorted_as[2] = 1;
	CHECK_EQ(store_rows_order(k2, 2, 4, &perm), 0);
	CHECK(perm == NULL);
}

TEST(equal_keys_keep_their_order)
{
	uint16_t v[6] = {2, 1, 2, 1, 2, 1};
	struct store_sort_key k = {v, 2, 0};
	uint32_t *perm;

	CHECK_EQ(store_rows_order(&k, 1, 6, &perm), 1);
	REQUIRE(perm);
	CHECK_EQ(perm[0], 1);
	CHECK_EQ(perm[1], 3);
	CHECK_EQ(perm[2], 5);
	CHECK_EQ(perm[3], 0);
	CHECK_EQ(perm[4], 2);
	CHECK_EQ(perm[5], 4);
	free(perm);
}

TEST(arrays_move_with_their_rows)
{
	/* Array(UInt32) of 3 rows: [1,2], [], [3] ; order 2, 0, 1 */
	uint32_t elems[3] = {1, 2, 3};
	uint64_t offs[3] = {2, 2, 3};
	struct store_buf data = {0}, offsets = {0};
	uint32_t perm[3] = {2, 0, 1};
	char scratch[64];
	uint64_t off_scratch[3];

	REQUIRE(store_buf_append(&data, elems, sizeof(elems)) == 0);
	REQUIRE(store_buf_append(&offsets, offs, sizeof(offs)) == 0);
	store_rows_permute(&data, &offsets, 4, perm, 3, scratch, off_scratch);
	const uint32_t *e = (const uint32_t *)(const void *)data.data;
	const uint64_t *o = (const uint64_t *)(const void *)offsets.data;
	CHECK_EQ(e[0], 3);
	CHECK_EQ(e[1], 1);
	CHECK_EQ(e[2], 2);
	CHECK_EQ(o[0], 1);
	CHECK_EQ(o[1], 3);
	CHECK_EQ(o[2], 3);
	CHECK_EQ(data.len, 12);

	/* A scalar column. */
	uint64_t col[3] = {10, 20, 30};
	struct store_buf c = {0};
	REQUIRE(store_buf_append(&c, col, sizeof(col)) == 0);
	store_rows_permute(&c, NULL, 8, perm, 3, scratch, off_scratch);
	CHECK_EQ(((const uint64_t *)(const void *)c.data)[0], 30);
	CHECK_EQ(((const uint64_t *)(const void *)c.data)[2], 20);
	store_buf_free(&c);
	store_buf_free(&data);
	store_buf_free(&offsets);
}
