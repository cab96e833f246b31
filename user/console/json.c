// SPDX-License-Identifier: AGPL-3.0-or-later
/* A strict JSON reader for request bodies (RFC 8259, depth bounded so a
 * hostile body cannot exhaust the stack) and a JSON writer. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "json.h"

#define JSON_MAX_DEPTH 64

struct rd {
	const char *s;
	size_t len, pos;
	char *err;
	size_t errlen;
	int nomem;
};

static int fail(struct rd *r, const char *what)
{
	if (r->err && !r->err[0])
		snprintf(r->err, r->errlen, "bad JSON at offset %zu: %s", r->pos, what);
	return -EINVAL;
}

static void ws(struct rd *r)
{
	while (r->pos < r->len && (r->s[r->pos] == ' ' || r->s[r->pos] == '\t' ||
				   r->s[r->pos] == '\n' || r->s[r->pos] == '\r'))
		r->pos++;
}

static int hex4(const char *s, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int d = text_hex_digit(s[i]);

		if (d < 0)
			return -1;
		*v = *v << 4 | (unsigned)d;
	}
	return 0;
}

static int rd_string(struct rd *r, char **out, size_t *outlen)
{
	size_t n = 0;
	char *o;

	r->pos++; /* " */
	o = malloc(r->len - r->pos + 1);
	if (!o) {
		r->nomem = 1;
		return -ENOMEM;
	}
	while (r->pos < r->len && r->s[r->pos] != '"') {
		unsigned char c = (unsigned char)r->s[r->pos];

		if (c < 0x20) {
			free(o);
			return fail(r, "control character in a string");
		}
		if (c != '\\') {
			o[n++] = (char)c;
			r->pos++;
			continue;
		}
		if (r->pos + 1 >= r->len)
			break;
		c = (unsigned char)r->s[r->pos + 1];
		r->pos += 2;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			o[n++] = (char)c;
			break;
		case 'b':
			o[n++] = '\b';
			break;
		case 'f':
			o[n++] = '\f';
			break;
		case 'n':
			o[n++] = '\n';
			break;
		case 'r':
			o[n++] = '\r';
			break;
		case 't':
			o[n++] = '\t';
			break;
		case 'u': {
			unsigned cp, lo;

			if (r->pos + 4 > r->len || hex4(r->s + r->pos, &cp) < 0) {
				free(o);
				return fail(r, "bad \\u escape");
			}
			r->pos += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && r->pos + 6 <= r->len &&
			    r->s[r->pos] == '\\' && r->s[r->pos + 1] == 'u' &&
			    hex4(r->s + r->pos + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				r->pos += 6;
			}
			/* \u escapes never make more bytes than their 6. */
			n += text_put_utf8(o + n, cp);
			break;
		}
		default:
			free(o);
			return fail(r, "bad escape");
		}
	}
	if (r->pos >= r->len) {
		free(o);
		return fail(r, "unterminated string");
	}
	r->pos++;
	o[n] = '\0';
	*out = o;
	*outlen = n;
	return 0;
}

static int rd_value(struct rd *r, struct json *j, int depth);

static int push(struct rd *r, struct json *j, size_t *cap)
{
	if (j->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		struct json *k = realloc(j->kids, nc * sizeof(*k));

		if (!k)
			goto nomem;
		j->kids = k;
		if (j->type == JSON_OBJECT) {
			char **keys = realloc(j->keys, nc * sizeof(*keys));

			if (!keys)
				goto nomem;
			j->keys = keys;
		}
		*cap = nc;
	}
	memset(&j->kids[j->n], 0, sizeof(j->kids[0]));
	if (j->type == JSON_OBJECT)
		j->keys[j->n] = NULL;
	j->n++;
	return 0;
nomem:
	r->nomem = 1;
	return -ENOMEM;
}

static int rd_value(struct rd *r, struct json *j, int depth)
{
	size_t cap = 0;
	int ret;

	if (depth > JSON_MAX_DEPTH)
		return fail(r, "nested too deeply");
	ws(r);
	if (r->pos >= r->len)
		return fail(r, "unexpected end");
	switch (r->s[r->pos]) {
	case '{':
	case '[': {
		int obj = r->s[r->pos] == '{';
		char close = obj ? '}' : ']';

		j->type = obj ? JSON_OBJECT : JSON_ARRAY;
		r->pos++;
		ws(r);
		if (r->pos < r->len && r->s[r->pos] == close) {
			r->pos++;
			return 0;
		}
		for (;;) {
			char *key = NULL;
			size_t klen;

			ws(r);
			if (obj) {
				if (r->pos >= r->len || r->s[r->pos] != '"')
					return fail(r, "expected a key");
				ret = rd_string(r, &key, &klen);
				if (ret < 0)
					return ret;
				ws(r);
				if (r->pos >= r->len || r->s[r->pos] != ':') {
					free(key);
					return fail(r, "expected :");
				}
				r->pos++;
			}
			ret = push(r, j, &cap);
			if (ret < 0) {
				free(key);
				return ret;
			}
			if (obj)
				j->keys[j->n - 1] = key;
			ret = rd_value(r, &j->kids[j->n - 1], depth + 1);
			if (ret < 0)
				return ret;
			ws(r);
			if (r->pos < r->len && r->s[r->pos] == ',') {
				r->pos++;
				continue;
			}
			if (r->pos < r->len && r->s[r->pos] == close) {
				r->pos++;
				return 0;
			}
			return fail(r, obj ? "expected , or }" : "expected , or ]");
		}
	}
	case '"':
		j->type = JSON_STRING;
		return rd_string(r, &j->str, &j->len);
	case 't':
	case 'f':
	case 'n': {
		static const char *const words[] = {"true", "false", "null"};

		for (int i = 0; i < 3; i++) {
			size_t n = strlen(words[i]);

			if (r->len - r->pos >= n && !memcmp(r->s + r->pos, words[i], n)) {
				r->pos += n;
				j->type = i == 2 ? JSON_NULL : JSON_BOOL;
				j->boolean = i == 0;
				return 0;
			}
		}
		return fail(r, "unexpected word");
	}
	default: {
		char buf[64];
		size_t n = 0;
		char *end;

		while (r->pos + n < r->len && n < sizeof(buf) - 1 &&
		       strchr("+-0123456789.eE", r->s[r->pos + n]))
			n++;
		if (n == 0)
			return fail(r, "unexpected character");
		memcpy(buf, r->s + r->pos, n);
		buf[n] = '\0';
		j->number = strtod(buf, &end);
		if (*end || !isfinite(j->number))
			return fail(r, "bad number");
		j->type = JSON_NUMBER;
		r->pos += n;
		return 0;
	}
	}
}

int json_parse(const char *text, size_t len, struct json **out, char *err, size_t errlen)
{
	struct rd r = {.s = text, .len = len, .err = err, .errlen = errlen};
	struct json *j = calloc(1, sizeof(*j));
	int ret;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!j)
		return -ENOMEM;
	ret = rd_value(&r, j, 0);
	if (ret == 0) {
		ws(&r);
		if (r.pos != r.len)
			ret = fail(&r, "trailing characters");
	}
	if (ret < 0) {
		json_free(j);
		return r.nomem ? -ENOMEM : ret;
	}
	*out = j;
	return 0;
}

static void json_fini(struct json *j)
{
	for (size_t i = 0; i < j->n; i++) {
		json_fini(&j->kids[i]);
		if (j->keys)
			free(j->keys[i]);
	}
	free(j->kids);
	free(j->keys);
	free(j->str);
}

void json_free(struct json *j)
{
	if (!j)
		return;
	json_fini(j);
	free(j);
}

const struct json *json_get(const struct json *j, const char *key)
{
	if (!j || j->type != JSON_OBJECT)
		return NULL;
	/* A repeated key: the last one counts (as in Go's encoding/json). */
	for (size_t i = j->n; i-- > 0;)
		if (j->keys[i] && !strcmp(j->keys[i], key))
			return &j->kids[i];
	return NULL;
}

/* ---- output ---- */

char *jb_reserve(struct buf *b, size_t n)
{
	return buf_reserve(b, n) == 0 ? b->data + b->len : NULL;
}

void jb_str(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char *at = jb_reserve(b, 6 * n + 2);
	size_t k = 0;

	if (!at)
		return;
	at[k++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			at[k++] = '\\';
			at[k++] = (char)c;
		} else if (c < 0x20) {
			at[k++] = '\\';
			at[k++] = 'u';
			at[k++] = '0';
			at[k++] = '0';
			at[k++] = hex[c >> 4];
			at[k++] = hex[c & 15];
		} else {
			at[k++] = (char)c;
		}
	}
	at[k++] = '"';
	b->len += k;
	b->data[b->len] = '\0';
}

void jb_cstr(struct buf *b, const char *s)
{
	jb_str(b, s ? s : "", s ? strlen(s) : 0);
}

void jb_num(struct buf *b, double v)
{
	if (!isfinite(v))
		v = 0;
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		buf_printf(b, "%.0f", v);
	else
		buf_printf(b, "%.17g", v);
}

char *jb_take(struct buf *b, size_t *len)
{
	char *s = b->data;

	if (b->nomem || !s) {
		free(s);
		s = b->nomem ? NULL : strdup("");
		*len = 0;
	} else {
		*len = b->len;
	}
	memset(b, 0, sizeof(*b));
	return s;
}
