// SPDX-License-Identifier: AGPL-3.0-or-later
/* The error channel: error_set returns its code, NULL is fine, wrap adds context. */
#include <errno.h>

#include "common/error.h"
#include "test.h"

TEST(error_set_returns_code_and_text)
{
	struct error err = {{0}};

	CHECK_EQ(error_set(&err, -ENOENT, "inlet: interface %s not found", "eth9"), -ENOENT);
	CHECK_STR(error_text(&err), "inlet: interface eth9 not found");
	CHECK_EQ(error_set(NULL, -EINVAL, "ignored %d", 1), -EINVAL);
	CHECK_STR(error_text(NULL), "");
}

TEST(error_wrap_prefixes)
{
	struct error err = {{0}};

	error_set(&err, -EIO, "connection refused");
	CHECK_EQ(error_wrap(&err, -EIO, "store"), -EIO);
	CHECK_STR(error_text(&err), "store: connection refused");
	CHECK_EQ(error_wrap(NULL, -EIO, "store"), -EIO);
}
