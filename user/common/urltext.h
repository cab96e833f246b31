/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Text of HTTP requests: parameters of a query string (percent-decoded),
 * base64 (Basic authorization). Pure, thread-safe. */
#ifndef WEIR_COMMON_URLTEXT_H
#define WEIR_COMMON_URLTEXT_H

#include <stddef.h>

/* The value of parameter `name` in query string q[0..len) ("a=1&b=x%20y",
 * without the '?'), percent-decoded and '+' as a space, malloc'd and
 * NUL-terminated in *out with its length in *out_len (may be NULL; the
 * value may hold NUL bytes). The first occurrence wins. Returns 1 when
 * present, 0 when absent (*out NULL), -ENOMEM. */
int urltext_param(const char *q, size_t len, const char *name, char **out, size_t *out_len);

/* Calls fn(ctx, name, name_len) for each parameter name of q[0..len), as
 * written (not decoded); stops and returns fn's value when it is nonzero,
 * else returns 0. */
int urltext_each_name(const char *q, size_t len, int (*fn)(void *ctx, const char *name, size_t n),
		      void *ctx);

/* Decodes base64 in[0..len) (standard alphabet, '=' padding optional) into
 * out[size], NUL-terminated. Returns the decoded length, or -EINVAL (not
 * base64) or -ENOSPC (out too small). */
long urltext_base64_decode(const char *in, size_t len, char *out, size_t size);

#endif
