// SPDX-License-Identifier: AGPL-3.0-or-later
/* Akvorado's subnet maps (a value, or prefix -> value) compiled into a
 * longest-prefix trie of indices. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/addr.h"
#include "enrich_internal.h"

static int node_error(struct error *err, const char *file, const struct config_node *n,
		      const char *path, const char *what)
{
	struct config_error ce;
	config_error_set(&ce, file, n->line, path, "%s", what);
	return error_set(err, -EINVAL, "%s", ce.text);
}

static int looks_like_subnet_map(const struct config_node *node)
{
	struct in6_addr a;
	unsigned len;

	if (node->type != CONFIG_NODE_MAP || node->nchildren == 0)
		return 0;
	for (size_t i = 0; i < node->nchildren; i++)
		if (addr_prefix_from_text(&a, &len, node->children[i]->key) < 0)
			return 0;
	return 1;
}

int subnet_map_parse(struct lpm *map, const struct config_node *node, const char *file,
		     const char *path, int (*is_value)(const struct config_node *node),
		     subnet_item_fn item, void *ctx, struct error *err)
{
	char sub[300];
	uint32_t index;
	int r;

	if (!node)
		return 0;
	if (!looks_like_subnet_map(node) || (is_value && is_value(node))) {
		struct in6_addr any = IN6ADDR_ANY_INIT;
		r = item(node, file, path, ctx, &index, err);
		if (r < 0)
			return r;
		return lpm_insert(map, &any, 0, index) < 0
			   ? error_set(err, -ENOMEM, "out of memory")
			   : 0;
	}
	for (size_t i = 0; i < node->nchildren; i++) {
		const struct config_node *c = node->children[i];
		struct in6_addr a;
		unsigned len;
		snprintf(sub, sizeof(sub), "%s.%s", path, c->key);
		if (addr_prefix_from_text(&a, &len, c->key) < 0)
			return node_error(err, file, c, path, "expected a prefix");
		r = item(c, file, sub, ctx, &index, err);
		if (r < 0)
			return r;
		if (lpm_insert(map, &a, len, index) < 0)
			return error_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

struct uint_ctx {
	struct subnet_uint *m;
	uint64_t max;
};

static int uint_item(const struct config_node *value, const char *file, const char *path, void *ctx,
		     uint32_t *index, struct error *err)
{
	struct uint_ctx *c = ctx;
	char *end;

	if (value->type != CONFIG_NODE_SCALAR || !value->value || !*value->value)
		return node_error(err, file, value, path, "expected a number or a map of subnets");
	unsigned long long v = strtoull(value->value, &end, 0);
	if (*end || value->value[0] == '-' || v == 0 || v > c->max) {
		char what[96];
		snprintf(what, sizeof(what), "expected a number from 1 to %llu",
			 (unsigned long long)c->max);
		return node_error(err, file, value, path, what);
	}
	uint64_t *vals = realloc(c->m->values, (c->m->count + 1) * sizeof(*vals));
	if (!vals)
		return error_set(err, -ENOMEM, "out of memory");
	c->m->values = vals;
	vals[c->m->count] = v;
	*index = (uint32_t)c->m->count++;
	return 0;
}

int subnet_uint_parse(struct subnet_uint *m, const struct enrich_yaml *y, uint64_t max,
		      struct error *err)
{
	struct uint_ctx c = {m, max};

	memset(m, 0, sizeof(*m));
	lpm_init(&m->map);
	return subnet_map_parse(&m->map, y->node, y->file, y->path, NULL, uint_item, &c, err);
}

void subnet_uint_fini(struct subnet_uint *m)
{
	lpm_fini(&m->map);
	free(m->values);
	memset(m, 0, sizeof(*m));
}
