// SPDX-License-Identifier: AGPL-3.0-or-later
/* Which transport carries the store's requests, chosen by the scheme of
 * clickhouse.url. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

typedef int (*transport_new_fn)(const struct store_config *cfg, struct store_transport **out,
				struct error *err);

/* First match wins. A new transport is its file and its line here; the
 * URL passed store_url_check() first, so what is left is http(s)://. */
static const struct {
	const char *prefix;
	transport_new_fn new_fn;
} transports[] = {
    {"embedded://", store_transport_embedded_new},
    {"", store_transport_http_new},
};

int store_url_check(const char *url, char *why, size_t size)
{
	const char *host, *end, *port;
	size_t hlen;

	if (!url)
		url = "";
	if (strncmp(url, "embedded://", 11) == 0) {
		if (!url[11])
			goto no_dir;
		return 0;
	}
	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else {
		snprintf(why, size,
			 "expected http://HOST:PORT, https://HOST:PORT or embedded://DIRECTORY");
		return -EINVAL;
	}
	/* Credentials go in clickhouse.username and password, never in the
	 * URL (they would show in every log line naming it). */
	end = host + strcspn(host, "/?#");
	if (memchr(host, '@', (size_t)(end - host))) {
		snprintf(why, size, "user and password go in clickhouse.username and password");
		return -EINVAL;
	}
	if (host[0] == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));

		if (!close || close == host + 1) {
			snprintf(why, size, "an IPv6 host is written [ADDRESS]");
			return -EINVAL;
		}
		port = close + 1 < end && close[1] == ':' ? close + 2 : NULL;
		if (close + 1 < end && close[1] != ':')
			goto bad_host;
		hlen = (size_t)(close + 1 - host);
	} else {
		port = memchr(host, ':', (size_t)(end - host));
		hlen = (size_t)((port ? port : end) - host);
		if (port)
			port++;
	}
	if (hlen == 0) {
		snprintf(why, size, "no host");
		return -EINVAL;
	}
	for (size_t i = 0; host[0] != '[' && i < hlen; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_",
			    host[i]))
			goto bad_host;
	if (port) {
		unsigned long v = 0;
		const char *p = port;

		for (; p < end && *p >= '0' && *p <= '9' && v <= 65535; p++)
			v = v * 10 + (unsigned long)(*p - '0');
		if (p == port || p != end || v == 0 || v > 65535) {
			snprintf(why, size, "port %.*s: expected 1 to 65535", (int)(end - port),
				 port);
			return -EINVAL;
		}
	}
	return 0;
bad_host:
	snprintf(why, size, "host %.*s: not a host name or address", (int)(end - host), host);
	return -EINVAL;
no_dir:
	snprintf(why, size, "expected embedded:///absolute/dir or embedded://relative/dir");
	return -EINVAL;
}

int store_transport_new(const struct store_config *cfg, struct store_transport **out,
			struct error *err)
{
	const char *url = cfg->url ? cfg->url : "";
	char why[160];

	*out = NULL;
	if (store_url_check(url, why, sizeof(why)) < 0)
		return error_set(err, -EINVAL, "store: clickhouse.url %s: %s", url, why);
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
		const char *p = transports[i].prefix;

		if (strncmp(url, p, strlen(p)) != 0)
			continue;
		return transports[i].new_fn(cfg, out, err);
	}
	return error_set(err, -EINVAL, "store: clickhouse.url %s: unknown scheme", url);
}
