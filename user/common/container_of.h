/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* container_of: from a pointer to a member back to the structure that holds
 * it (an object that embeds an interface struct, such as a bus producer). */
#ifndef WEIR_COMMON_CONTAINER_OF_H
#define WEIR_COMMON_CONTAINER_OF_H

#include <stddef.h>

/* The `type` whose `member` is at `ptr`. `ptr` must point into a `type`
 * (not checked); a const pointer gives a non-const result, so the caller
 * keeps the constness in mind. */
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
