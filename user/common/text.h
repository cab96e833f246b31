/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Small text codecs shared by the parsers (JSON, query strings, the
 * classifier language): hex digits and UTF-8 encoding. */
#ifndef WEIR_COMMON_TEXT_H
#define WEIR_COMMON_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* The value of hex digit `c` (0-9, a-f, A-F), or -1. */
static inline int text_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Writes the UTF-8 encoding of code point `cp` (at most 0x10ffff) at `o`
 * (room for 4 bytes) and returns its length, 1 to 4. */
static inline size_t text_put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

#endif
