// SPDX-License-Identifier: AGPL-3.0-or-later
/* The longest-prefix trie: insertion (splitting compressed paths), exact get
 * and the CIDR-order walk the networks merge uses. */
#include "lpm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void lpm_init(struct lpm *t)
{
	memset(t, 0, sizeof(*t));
}

void lpm_fini(struct lpm *t)
{
	free(t->nodes);
	memset(t, 0, sizeof(*t));
}

static struct lpm_key mask_key(struct lpm_key k, unsigned len)
{
	uint64_t mhi = len >= 64 ? ~0ULL : len ? ~0ULL << (64 - len) : 0;
	uint64_t mlo = len <= 64 ? 0 : len >= 128 ? ~0ULL : ~0ULL << (128 - len);
	k.hi &= mhi;
	k.lo &= mlo;
	return k;
}

static unsigned bit_at(struct lpm_key k, unsigned pos)
{
	return pos < 64 ? (unsigned)(k.hi >> (63 - pos)) & 1 : (unsigned)(k.lo >> (127 - pos)) & 1;
}

static unsigned common_len(struct lpm_key a, struct lpm_key b)
{
	uint64_t x = a.hi ^ b.hi;
	if (x)
		return (unsigned)__builtin_clzll(x);
	x = a.lo ^ b.lo;
	return x ? 64 + (unsigned)__builtin_clzll(x) : 128;
}

static uint32_t new_node(struct lpm *t, struct lpm_key key, unsigned len, uint32_t value)
{
	if (t->count + 1 >= t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 64;
		struct lpm_node *n = realloc(t->nodes, (size_t)cap * sizeof(*n));
		if (!n)
			return 0;
		t->nodes = n;
		t->cap = cap;
		if (t->count == 0)
			t->count = 1; /* index 0 means none */
	}
	uint32_t i = t->count++;
	t->nodes[i] =
	    (struct lpm_node){.key = mask_key(key, len), .value = value, .len = (uint8_t)len};
	return i;
}

int lpm_insert(struct lpm *t, const struct in6_addr *prefix, unsigned len, uint32_t value)
{
	struct lpm_key key;
	uint32_t parent = 0, side = 0, n;

	if (len > 128)
		return -EINVAL;
	key = mask_key(lpm_key_from_addr(prefix), len);
	n = t->root;
	for (;;) {
		if (!n) {
			uint32_t leaf = new_node(t, key, len, value);
			if (!leaf)
				return -ENOMEM;
			if (parent)
				t->nodes[parent].child[side] = leaf;
			else
				t->root = leaf;
			t->prefixes++;
			return 0;
		}
		struct lpm_node node = t->nodes[n];
		unsigned common = common_len(key, node.key);
		if (common > len)
			common = len;
		if (common > node.len)
			common = node.len;
		if (common == node.len) {
			if (len == node.len) {
				if (node.value == LPM_NONE)
					t->prefixes++;
				t->nodes[n].value = value;
				return 0;
			}
			parent = n;
			side = bit_at(key, node.len);
			n = node.child[side];
			continue;
		}
		/* The new prefix and this node part ways at `common`. */
		uint32_t top;
		if (common == len) {
			top = new_node(t, key, len, value);
			if (!top)
				return -ENOMEM;
			t->nodes[top].child[bit_at(node.key, len)] = n;
			t->prefixes++;
		} else {
			top = new_node(t, key, common, LPM_NONE);
			uint32_t leaf = top ? new_node(t, key, len, value) : 0;
			if (!leaf)
				return -ENOMEM;
			t->nodes[top].child[bit_at(key, common)] = leaf;
			t->nodes[top].child[bit_at(node.key, common)] = n;
			t->prefixes++;
		}
		if (parent)
			t->nodes[parent].child[side] = top;
		else
			t->root = top;
		return 0;
	}
}

uint32_t lpm_get(const struct lpm *t, const struct in6_addr *prefix, unsigned len)
{
	struct lpm_key key = mask_key(lpm_key_from_addr(prefix), len);
	uint32_t n = t->root;

	while (n) {
		const struct lpm_node *node = &t->nodes[n];
		if (node->len > len || common_len(key, node->key) < node->len)
			return LPM_NONE;
		if (node->len == len)
			return node->value;
		n = node->child[bit_at(key, node->len)];
	}
	return LPM_NONE;
}

/* Iterative depth-first walk: the trie can be deep (one level per bit). */
void lpm_walk(struct lpm *t, lpm_walk_fn fn, void *ctx)
{
	struct {
		uint32_t node, parent_value;
	} stack[260];
	size_t sp = 0;

	if (!t->root)
		return;
	stack[sp++].node = t->root;
	stack[0].parent_value = LPM_NONE;
	while (sp) {
		uint32_t n = stack[--sp].node, pv = stack[sp].parent_value;
		struct lpm_node *node = &t->nodes[n];
		if (node->value != LPM_NONE) {
			fn(&node->key, node->len, &node->value, pv, ctx);
			pv = node->value;
		}
		/* Right pushed first so the left (lower addresses) comes out first. */
		for (int side = 1; side >= 0; side--) {
			if (node->child[side]) {
				stack[sp].node = node->child[side];
				stack[sp].parent_value = pv;
				sp++;
			}
		}
	}
}
