// SPDX-License-Identifier: AGPL-3.0-or-later
/* Which transport carries the store's requests, chosen by the scheme of
 * clickhouse.url. */
#include <errno.h>
#include <string.h>

#include "store_internal.h"

typedef int (*transport_new_fn)(const struct store_config *cfg, struct store_transport **out,
				struct error *err);

/* First match wins. A new transport is its file and its line here. Any
 * other URL goes to HTTP, as it always has (curl takes http:// and https://,
 * and reads a URL without a scheme as http). */
static const struct {
	const char *prefix;
	transport_new_fn new_fn;
} transports[] = {
    {"embedded://", store_transport_embedded_new},
    {"", store_transport_http_new},
};

int store_transport_new(const struct store_config *cfg, struct store_transport **out,
			struct error *err)
{
	const char *url = cfg->url ? cfg->url : "";

	*out = NULL;
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
		const char *p = transports[i].prefix;

		if (strncmp(url, p, strlen(p)) != 0)
			continue;
		return transports[i].new_fn(cfg, out, err);
	}
	return error_set(err, -EINVAL, "store: clickhouse.url %s: unknown scheme", url);
}
