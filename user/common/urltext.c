// SPDX-License-Identifier: AGPL-3.0-or-later
/* Query-string parameters and base64, for routes that read them. */
#include "urltext.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

int urltext_param(const char *q, size_t len, const char *name, char **out, size_t *out_len)
{
	size_t nlen = strlen(name);
	const char *end = q + len;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	for (const char *p = q; q && p < end;) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(e - p));
		const char *kend = eq ? eq : e;

		if ((size_t)(kend - p) == nlen && memcmp(p, name, nlen) == 0) {
			const char *v = eq ? eq + 1 : e;
			char *o = malloc((size_t)(e - v) + 1);
			size_t n = 0;

			if (!o)
				return -ENOMEM;
			for (; v < e; v++) {
				if (*v == '%' && e - v >= 3 && text_hex_digit(v[1]) >= 0 &&
				    text_hex_digit(v[2]) >= 0) {
					o[n++] = (char)(text_hex_digit(v[1]) << 4 |
							text_hex_digit(v[2]));
					v += 2;
				} else {
					o[n++] = *v == '+' ? ' ' : *v;
				}
			}
			o[n] = 0;
			*out = o;
			if (out_len)
				*out_len = n;
			return 1;
		}
		p = e + 1;
	}
	return 0;
}

int urltext_each_name(const char *q, size_t len, int (*fn)(void *ctx, const char *name, size_t n),
		      void *ctx)
{
	const char *end = q + len;

	for (const char *p = q; q && p < end;) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(e - p));
		int r;

		if ((eq ? eq : e) > p && (r = fn(ctx, p, (size_t)((eq ? eq : e) - p))) != 0)
			return r;
		p = e + 1;
	}
	return 0;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long urltext_base64_decode(const char *in, size_t len, char *out, size_t size)
{
	unsigned acc = 0, bits = 0;
	size_t n = 0;

	while (len && in[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++) {
		int v = b64val(in[i]);

		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= size)
				return -ENOSPC;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (size == 0)
		return -ENOSPC;
	out[n] = 0;
	return (long)n;
}
