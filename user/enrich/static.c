// SPDX-License-Identifier: AGPL-3.0-or-later
/* The static metadata provider (Akvorado's `type: static`): exporters by
 * subnet -> name, group, role, site, region, tenant; interfaces by ifIndex ->
 * name, description, speed, provider, connectivity, boundary; a default
 * interface; skip-missing-interfaces lets the next provider answer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/addr.h"
#include "enrich_internal.h"

struct static_iface {
	uint32_t ifindex;
	struct flow_interface_attrs attrs;
};

struct static_exporter {
	struct flow_exporter_attrs attrs;
	int has_default;
	struct flow_interface_attrs def;
	struct static_iface *ifs; /* sorted by ifindex */
	size_t nifs;
	int skip_missing;
	int is_host; /* configured as one address (a /32 or /128): `host` */
	struct in6_addr host;
};

struct static_provider {
	struct lpm map;
	struct static_exporter *exps;
	size_t n;
	struct strtab *strs;
};

static int node_error(struct error *err, const char *file, const struct config_node *n,
		      const char *path, const char *what)
{
	struct config_error ce;
	config_error_set(&ce, file, n->line, path, "%s", what);
	return error_set(err, -EINVAL, "%s", ce.text);
}

static int scalar(const struct config_node *n, const char *file, const char *path,
		  const char **value, struct error *err)
{
	if (n->type != CONFIG_NODE_SCALAR)
		return node_error(err, file, n, path, "expected a scalar");
	*value = n->value ? n->value : "";
	return 0;
}

static int parse_iface(struct static_provider *p, const struct config_node *node, const char *file,
		       const char *path, struct flow_interface_attrs *out, struct error *err)
{
	char sub[300];

	memset(out, 0, sizeof(*out));
	if (node->type != CONFIG_NODE_MAP)
		return node_error(err, file, node, path,
				  "expected a map (name, description, speed...)");
	for (size_t i = 0; i < node->nchildren; i++) {
		const struct config_node *c = node->children[i];
		const char *v;
		snprintf(sub, sizeof(sub), "%s.%s", path, c->key);
		if (scalar(c, file, sub, &v, err) < 0)
			return -EINVAL;
		if (!strcmp(c->key, "name"))
			out->name = strtab_intern_cstr(p->strs, v);
		else if (!strcmp(c->key, "description"))
			out->description = strtab_intern_cstr(p->strs, v);
		else if (!strcmp(c->key, "provider"))
			out->provider = strtab_intern_cstr(p->strs, v);
		else if (!strcmp(c->key, "connectivity"))
			out->connectivity = strtab_intern_cstr(p->strs, v);
		else if (!strcmp(c->key, "speed")) {
			char *end;
			unsigned long long s = strtoull(v, &end, 10);
			if (*end || !*v || s > UINT32_MAX)
				return node_error(err, file, c, sub, "expected a speed in Mbps");
			out->speed = (uint32_t)s;
		} else if (!strcmp(c->key, "boundary")) {
			if (!strcmp(v, "external"))
				out->boundary = FLOW_BOUNDARY_EXTERNAL;
			else if (!strcmp(v, "internal"))
				out->boundary = FLOW_BOUNDARY_INTERNAL;
			else if (!strcmp(v, "undefined") || !*v)
				out->boundary = FLOW_BOUNDARY_UNDEFINED;
			else
				return node_error(err, file, c, sub,
						  "expected external, internal or undefined");
		} else {
			return node_error(
			    err, file, c, sub,
			    "unknown key (expected name, description, speed, provider, "
			    "connectivity or boundary)");
		}
	}
	return 0;
}

static int cmp_iface(const void *a, const void *b)
{
	uint32_t x = ((const struct static_iface *)a)->ifindex;
	uint32_t y = ((const struct static_iface *)b)->ifindex;
	return (x > y) - (x < y);
}

static int exporter_item(const struct config_node *node, const char *file, const char *path,
			 void *ctx, uint32_t *index, struct error *err)
{
	struct static_provider *p = ctx;
	struct static_exporter *e;
	char sub[300];

	if (node->type != CONFIG_NODE_MAP)
		return node_error(err, file, node, path,
				  "expected a map (name, group, if-indexes...)");
	e = realloc(p->exps, (p->n + 1) * sizeof(*e));
	if (!e)
		return error_set(err, -ENOMEM, "out of memory");
	p->exps = e;
	e = &p->exps[p->n];
	memset(e, 0, sizeof(*e));
	*index = (uint32_t)p->n++;
	unsigned len;
	if (node->key && addr_prefix_from_text(&e->host, &len, node->key) == 0 && len == 128)
		e->is_host = 1;
	for (size_t i = 0; i < node->nchildren; i++) {
		const struct config_node *c = node->children[i];
		const char *v;
		uint32_t *slot = NULL;
		snprintf(sub, sizeof(sub), "%s.%s", path, c->key);
		if (!strcmp(c->key, "name"))
			slot = &e->attrs.name;
		else if (!strcmp(c->key, "group"))
			slot = &e->attrs.group;
		else if (!strcmp(c->key, "role"))
			slot = &e->attrs.role;
		else if (!strcmp(c->key, "site"))
			slot = &e->attrs.site;
		else if (!strcmp(c->key, "region"))
			slot = &e->attrs.region;
		else if (!strcmp(c->key, "tenant"))
			slot = &e->attrs.tenant;
		if (slot) {
			if (scalar(c, file, sub, &v, err) < 0)
				return -EINVAL;
			*slot = strtab_intern_cstr(p->strs, v);
		} else if (!strcmp(c->key, "default")) {
			if (parse_iface(p, c, file, sub, &e->def, err) < 0)
				return -EINVAL;
			e->has_default = 1;
		} else if (!strcmp(c->key, "skip-missing-interfaces")) {
			if (scalar(c, file, sub, &v, err) < 0)
				return -EINVAL;
			if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on"))
				e->skip_missing = 1;
			else if (strcmp(v, "false") && strcmp(v, "no") && strcmp(v, "off"))
				return node_error(err, file, c, sub, "expected true or false");
		} else if (!strcmp(c->key, "if-indexes")) {
			if (c->type != CONFIG_NODE_MAP)
				return node_error(err, file, c, sub,
						  "expected ifIndex -> interface");
			e->ifs = calloc(c->nchildren ? c->nchildren : 1, sizeof(*e->ifs));
			if (!e->ifs)
				return error_set(err, -ENOMEM, "out of memory");
			for (size_t k = 0; k < c->nchildren; k++) {
				const struct config_node *ifn = c->children[k];
				char ipath[400], *end;
				snprintf(ipath, sizeof(ipath), "%s.%s", sub, ifn->key);
				unsigned long long idx = strtoull(ifn->key, &end, 10);
				if (*end || !*ifn->key || idx > UINT32_MAX)
					return node_error(err, file, ifn, sub,
							  "expected an ifIndex (a number)");
				e->ifs[k].ifindex = (uint32_t)idx;
				if (parse_iface(p, ifn, file, ipath, &e->ifs[k].attrs, err) < 0)
					return -EINVAL;
				e->nifs++;
			}
			qsort(e->ifs, e->nifs, sizeof(*e->ifs), cmp_iface);
		} else {
			return node_error(
			    err, file, c, sub,
			    "unknown key (expected name, group, role, site, region, "
			    "tenant, default, if-indexes or skip-missing-interfaces)");
		}
	}
	if (!e->attrs.name)
		return node_error(err, file, node, path, "an exporter needs a name");
	return 0;
}

static int exporter_is_value(const struct config_node *node)
{
	(void)node;
	return 0; /* exporters: is always prefix -> exporter */
}

int static_provider_new(const struct config_node *item, const char *file, const char *path,
			struct strtab *strs, struct static_provider **out, struct error *err)
{
	struct static_provider *p = calloc(1, sizeof(*p));
	char sub[300];
	int r = 0;

	*out = NULL;
	if (!p)
		return error_set(err, -ENOMEM, "out of memory");
	p->strs = strs;
	lpm_init(&p->map);
	for (size_t i = 0; i < item->nchildren; i++) {
		const struct config_node *c = item->children[i];
		snprintf(sub, sizeof(sub), "%s.%s", path, c->key);
		if (!strcmp(c->key, "type"))
			continue;
		if (!strcmp(c->key, "exporters")) {
			if (c->type != CONFIG_NODE_MAP) {
				r = node_error(err, file, c, sub, "expected prefix -> exporter");
				goto fail;
			}
			r = subnet_map_parse(&p->map, c, file, sub, exporter_is_value,
					     exporter_item, p, err);
			if (r < 0)
				goto fail;
		} else if (!strcmp(c->key, "exporter-sources") ||
			   !strcmp(c->key, "exporter-sources-timeout")) {
			if (c->nchildren) {
				r = node_error(err, file, c, sub,
					       "remote exporter sources are not supported yet");
				goto fail;
			}
		} else {
			r = node_error(err, file, c, sub, "unknown key (expected exporters)");
			goto fail;
		}
	}
	*out = p;
	return 0;
fail:
	static_provider_free(p);
	return r;
}

void static_provider_free(struct static_provider *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->exps[i].ifs);
	free(p->exps);
	lpm_fini(&p->map);
	free(p);
}

enum md_answer static_provider_query(const struct static_provider *p,
				     const struct in6_addr *exporter, uint32_t ifindex,
				     struct md_info *out)
{
	uint32_t i = p->map.root ? lpm_lookup(&p->map, exporter) : LPM_NONE;
	const struct static_exporter *e;

	memset(out, 0, sizeof(*out));
	if (i == LPM_NONE)
		return MD_SKIP;
	e = &p->exps[i];
	out->exp = e->attrs;
	if (ifindex == 0)
		return MD_FOUND; /* only the exporter was asked */
	size_t lo = 0, hi = e->nifs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (e->ifs[mid].ifindex < ifindex)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < e->nifs && e->ifs[lo].ifindex == ifindex) {
		out->ifc = e->ifs[lo].attrs;
		return MD_FOUND;
	}
	if (e->skip_missing)
		return MD_EXPORTER_ONLY; /* the next provider answers for the interface */
	if (e->has_default) {
		out->ifc = e->def;
		return MD_FOUND;
	}
	return MD_FOUND; /* known exporter, interface without attributes */
}

void static_provider_each_known(const struct static_provider *p,
				void (*fn)(void *ctx, const struct in6_addr *exporter,
					   uint32_t ifindex),
				void *ctx)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct static_exporter *e = &p->exps[i];
		if (!e->is_host)
			continue;
		fn(ctx, &e->host, 0);
		for (size_t k = 0; k < e->nifs; k++)
			fn(ctx, &e->host, e->ifs[k].ifindex);
	}
}
