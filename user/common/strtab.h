/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* An append-only table of interned strings: each distinct string gets a
 * uint32_t id once and keeps it for the table's life. Flows carry ids
 * (struct flow_enrichment) instead of pointers; whoever writes them out
 * (store, JSON, bus) turns an id back into text with strtab_get(). */
#ifndef WEIR_COMMON_STRTAB_H
#define WEIR_COMMON_STRTAB_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct strtab;

/* A table holding at most `max_bytes` of string data (0 = 256 MiB). Returns
 * 0 with *out set, or -ENOMEM with *out = NULL. */
int strtab_new(size_t max_bytes, struct strtab **out, struct error *err);
/* Frees the table and every string; ids and pointers die with it. NULL ok. */
void strtab_free(struct strtab *t);

/* The id of s[0..len) (need not be NUL-terminated), interning it on first
 * sight. The empty string is id 0. Returns 0 as well when the table is full
 * or out of memory (strtab_dropped() counts those). Thread-safe; takes a
 * mutex: for background threads and configuration, not per flow. */
uint32_t strtab_intern(struct strtab *t, const char *s, size_t len);
/* Same for a NUL-terminated string (NULL gives 0). */
uint32_t strtab_intern_cstr(struct strtab *t, const char *s);

/* The NUL-terminated string of `id` ("" for 0 and unknown ids), its length
 * in *len when `len` is not NULL. Lock-free: any thread may call it for an
 * id it received through any synchronised channel (a queue, a release
 * store). The pointer stays valid until strtab_free(). */
const char *strtab_get(const struct strtab *t, uint32_t id, size_t *len);

/* Strings held (ids handed out, not counting ""), their bytes, and how many
 * interning requests were refused because the table was full. */
uint32_t strtab_count(const struct strtab *t);
size_t strtab_bytes(const struct strtab *t);
uint64_t strtab_dropped(const struct strtab *t);

#endif
