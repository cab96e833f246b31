// SPDX-License-Identifier: AGPL-3.0-or-later
#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int buf_reserve(struct buf *b, size_t extra)
{
	size_t cap;
	char *p;

	if (extra >= (size_t)-1 - b->len)
		goto nomem;
	if (b->data && b->len + extra < b->cap)
		return 0;
	cap = b->cap ? b->cap : 512;
	while (cap <= b->len + extra) {
		if (cap > (size_t)-1 / 2)
			goto nomem;
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p)
		goto nomem;
	b->data = p;
	b->cap = cap;
	return 0;
nomem:
	b->nomem = 1;
	return -ENOMEM;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -ENOMEM;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	if (buf_reserve(b, 0) < 0)
		return -ENOMEM;
	/* Most pieces fit in what is left; the others are printed twice. */
	va_copy(again, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	if (n >= 0 && b->len + (size_t)n >= b->cap) {
		if (buf_reserve(b, (size_t)n) < 0) {
			va_end(again);
			return -ENOMEM;
		}
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, again);
	}
	va_end(again);
	if (n < 0) {
		b->data[b->len] = '\0';
		b->nomem = 1; /* an encoding error: the text is not what was asked */
		return -EINVAL;
	}
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void buf_free(struct buf *b)
{
	if (!b)
		return;
	free(b->data);
	memset(b, 0, sizeof(*b));
}
