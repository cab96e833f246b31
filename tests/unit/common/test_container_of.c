// SPDX-License-Identifier: AGPL-3.0-or-later
/* container_of: back from an embedded member to its holder. */
#include "common/container_of.h"
#include "test.h"

struct iface {
	int kind;
};

struct holder {
	char pad[13];
	struct iface iface;
	long tail;
};

TEST(container_of_finds_the_holder)
{
	struct holder h = {.tail = 42};
	struct iface *i = &h.iface;
	long *t = &h.tail;

	CHECK(container_of(i, struct holder, iface) == &h);
	CHECK(container_of(t, struct holder, tail) == &h);
	CHECK_EQ(container_of(i, struct holder, iface)->tail, 42);
}
