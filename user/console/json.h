/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* JSON for the console's API: a small strict parser of request bodies into a
 * tree (depth- and size-bounded), and an output buffer with escaping.
 * Internal to user/console/. */
#ifndef WEIR_CONSOLE_JSON_H
#define WEIR_CONSOLE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_type type;
	int boolean;
	double number;
	char *str; /* STRING: NUL-terminated (may hold NULs: use len) */
	size_t len;
	struct json *kids; /* ARRAY and OBJECT items, n of them */
	char **keys;	   /* OBJECT keys */
	size_t n;
};

/* Parses text[0..len). Returns 0 with *out (json_free()), or -EINVAL with
 * a message in err (size errlen), or -ENOMEM. */
int json_parse(const char *text, size_t len, struct json **out, char *err, size_t errlen);
void json_free(struct json *j);
/* Member `key` of an object (the last when repeated), NULL when absent or
 * j is not an object. */
const struct json *json_get(const struct json *j, const char *key);

/* Output into a common/buf.h buffer (a failed allocation sets its `nomem`;
 * the answer is then refused as a whole). */
/* Room for n more bytes (and a NUL) at b->data + b->len, or NULL (nomem):
 * the caller writes there, then adds what it wrote to b->len and terminates. */
char *jb_reserve(struct buf *b, size_t n);
void jb_str(struct buf *b, const char *s, size_t n); /* a JSON string, escaped */
void jb_cstr(struct buf *b, const char *s);
void jb_num(struct buf *b, double v); /* integers exactly, else %.17g; NaN/inf as 0 */
/* Hands the text over (NUL-terminated; caller frees) and empties b. NULL on
 * allocation failure. */
char *jb_take(struct buf *b, size_t *len);

#endif
