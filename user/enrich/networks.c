// SPDX-License-Identifier: AGPL-3.0-or-later
/* The `networks:` map (Akvorado's): prefix -> a name, or a map of network
 * attributes, added to the networks + GeoIP merge. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/addr.h"
#include "../common/config.h"
#include "netmap.h"

static int fail(struct error *err, const char *file, const struct config_node *n, const char *path,
		const char *what)
{
	struct config_error ce;
	config_error_set(&ce, file, n->line, path, "%s", what);
	return error_set(err, -EINVAL, "%s", ce.text);
}

/* "AS64500" or "64500". */
static int parse_asn(const char *s, uint32_t *asn)
{
	char *end;
	if (!strncasecmp(s, "AS", 2))
		s += 2;
	if (!*s)
		return -EINVAL;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || v > UINT32_MAX)
		return -EINVAL;
	*asn = (uint32_t)v;
	return 0;
}

int netmap_add_networks(struct netmap_builder *b, struct strtab *strs,
			const struct config_node *networks, const char *file, const char *path,
			struct error *err)
{
	char sub[256];

	if (!networks ||
	    (networks->type == CONFIG_NODE_SCALAR && (!networks->value || !*networks->value)))
		return 0; /* absent or empty */
	if (networks->type != CONFIG_NODE_MAP)
		return fail(err, file, networks, path, "expected a map of prefixes");
	for (size_t i = 0; i < networks->nchildren; i++) {
		const struct config_node *n = networks->children[i];
		struct in6_addr prefix;
		unsigned len;
		struct net_value v = {0};

		snprintf(sub, sizeof(sub), "%s.%s", path, n->key);
		if (addr_prefix_from_text(&prefix, &len, n->key) < 0)
			return fail(err, file, n, path,
				    "expected a prefix (192.0.2.0/24, 2001:db8::/32)");
		if (n->type == CONFIG_NODE_SCALAR) {
			v.attrs.name = strtab_intern_cstr(strs, n->value ? n->value : "");
		} else if (n->type == CONFIG_NODE_MAP) {
			for (size_t k = 0; k < n->nchildren; k++) {
				const struct config_node *a = n->children[k];
				char apath[300];
				snprintf(apath, sizeof(apath), "%s.%s", sub, a->key);
				if (a->type != CONFIG_NODE_SCALAR)
					return fail(err, file, a, apath, "expected a scalar");
				const char *val = a->value ? a->value : "";
				uint32_t id = strtab_intern_cstr(strs, val);
				if (!strcmp(a->key, "name"))
					v.attrs.name = id;
				else if (!strcmp(a->key, "role"))
					v.attrs.role = id;
				else if (!strcmp(a->key, "site"))
					v.attrs.site = id;
				else if (!strcmp(a->key, "region"))
					v.attrs.region = id;
				else if (!strcmp(a->key, "tenant"))
					v.attrs.tenant = id;
				else if (!strcmp(a->key, "state"))
					v.attrs.state = id;
				else if (!strcmp(a->key, "city"))
					v.attrs.city = id;
				else if (!strcmp(a->key, "country")) {
					/* FixedString(2): longer values are cut, as Akvorado. */
					v.attrs.country[0] = val[0];
					v.attrs.country[1] = val[0] ? val[1] : 0;
				} else if (!strcmp(a->key, "asn")) {
					if (parse_asn(val, &v.asn) < 0)
						return fail(
						    err, file, a, apath,
						    "expected an AS number (64500 or AS64500)");
				} else {
					return fail(
					    err, file, a, apath,
					    "unknown key (expected name, role, site, region, "
					    "tenant, country, state, city or asn)");
				}
			}
		} else {
			return fail(err, file, n, sub, "expected a name or a map of attributes");
		}
		if (netmap_builder_add(b, &prefix, len, &v) < 0)
			return error_set(err, -ENOMEM, "networks: out of memory");
	}
	return 0;
}
