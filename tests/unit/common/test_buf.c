// SPDX-License-Identifier: AGPL-3.0-or-later
/* The growable buffer: appends and printf keep a terminated string across
 * growth, and a failure is remembered (checked once at the end by builders). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "test.h"

TEST(appends_and_printf_grow_and_stay_terminated)
{
	struct buf b = {0};
	char big[3000];

	CHECK_EQ(buf_printf(&b, "SELECT %d", 1), 0);
	CHECK_STR(b.data, "SELECT 1");
	CHECK_EQ(b.len, 8);
	CHECK_EQ(buf_append(&b, ", 'x'", 5), 0);
	CHECK_STR(b.data, "SELECT 1, 'x'");
	/* Larger than what is left: printed again after growing. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ(buf_printf(&b, " -- %s!", big), 0);
	CHECK_EQ(b.len, 13 + 4 + 2999 + 1);
	CHECK_EQ(b.data[b.len - 1], '!');
	CHECK_EQ(b.data[b.len], '\0');
	CHECK(b.cap > b.len);
	/* Binary bytes, '\0' among them. */
	b.len = 0;
	CHECK_EQ(buf_append(&b, "a\0b", 3), 0);
	CHECK_EQ(b.len, 3);
	CHECK(memcmp(b.data, "a\0b", 3) == 0);
	CHECK_EQ(buf_append(&b, NULL, 0), 0);
	buf_free(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
	buf_free(NULL);
}

TEST(a_failed_allocation_is_remembered_until_freed)
{
	struct buf b = {0};

	CHECK_EQ(buf_append(&b, "ok", 2), 0);
	CHECK_EQ(buf_reserve(&b, SIZE_MAX - 8), -ENOMEM);
	CHECK_EQ(buf_printf(&b, "%s", "x"), 0); /* memory is there again */
	CHECK_STR(b.data, "okx");		/* what was there is kept */
	CHECK(b.nomem);				/* but the builder knows */
	buf_free(&b);
	CHECK_EQ(b.nomem, 0);
	CHECK_EQ(buf_append(&b, "x", 1), 0);
	CHECK(!b.nomem);
	buf_free(&b);
}
