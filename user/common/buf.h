/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* A growable byte buffer: SQL and JSON text, Native blocks, request bodies.
 *
 *   struct buf b = {0};
 *   buf_printf(&b, "SELECT %d", 1);  ...  use b.data, b.len  ...  buf_free(&b);
 *
 * data[len] is '\0' after buf_append and buf_printf (text can be used as a C
 * string; binary users ignore it). A failed allocation returns -ENOMEM and
 * sets `nomem`, which stays until buf_free: a builder can add many pieces
 * and check once at the end (the text has a hole, but it is refused); a
 * long-lived buffer reused with len = 0 still works once memory is back.
 * Not thread-safe. */
#ifndef WEIR_COMMON_BUF_H
#define WEIR_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len, cap;
	int nomem;
};

/* Room for `extra` more bytes (and the '\0') at data + len. 0 or -ENOMEM. */
int buf_reserve(struct buf *b, size_t extra);
/* Appends n bytes. 0 or -ENOMEM. */
int buf_append(struct buf *b, const void *p, size_t n);
/* Appends printf's output. 0 or -ENOMEM. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Frees the bytes and zeroes the buffer (usable again). NULL is fine. */
void buf_free(struct buf *b);

#endif
