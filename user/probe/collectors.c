// SPDX-License-Identifier: AGPL-3.0-or-later
/* The collectors the probe exports to: "host:port" or "[v6]:port" resolved
 * once, one connected UDP socket each, and the message size their paths
 * allow (RFC 7011 10.3.3: an IPFIX message should fit the path MTU). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "probe_internal.h"

#define UDP_HEADER 8

static int resolve(const char *text, struct probe_collector *c, struct error *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV}, *ai;
	char host[256];
	const char *colon = strrchr(text, ':'), *h = host;
	size_t hlen;
	int r;

	if (!colon || !colon[1] || (size_t)(colon - text) >= sizeof(host))
		return error_set(err, -EINVAL, "probe.collectors: \"%s\": expected HOST:PORT",
				 text);
	hlen = (size_t)(colon - text);
	memcpy(host, text, hlen);
	host[hlen] = 0;
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host[hlen - 1] = 0;
		h = host + 1;
	}
	r = getaddrinfo(h, colon + 1, &hints, &ai);
	if (r != 0)
		return error_set(err, -EINVAL, "probe.collectors: \"%s\": %s", text,
				 gai_strerror(r));
	memcpy(&c->addr, ai->ai_addr, ai->ai_addrlen);
	c->addr_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	snprintf(c->text, sizeof(c->text), "%s", text);
	return 0;
}

/* The path MTU the kernel knows for a connected socket (the route's MTU
 * until it learns a smaller one), less the IP and UDP headers. */
static size_t path_limit(const struct probe_collector *c, uint64_t mtu)
{
	int v6 = c->addr.ss_family == AF_INET6;
	size_t headers = (v6 ? 40 : 20) + UDP_HEADER;
	int m = 0;
	socklen_t len = sizeof(m);

	if (!mtu &&
	    getsockopt(c->fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &m, &len) ==
		0 &&
	    m > 0)
		mtu = (uint64_t)m;
	if (!mtu)
		mtu = 1500;
	return mtu > headers ? (size_t)mtu - headers : 0;
}

int probe_collector_connect(struct probe_collector *c)
{
	if (!c->connected && connect(c->fd, (struct sockaddr *)&c->addr, c->addr_len) == 0)
		c->connected = 1;
	return c->connected ? 0 : -errno;
}

int probe_collectors_open(struct probe *p, const struct probe_config *cfg, size_t *max_len,
			  struct error *err)
{
	char *const *texts = cfg->collectors.items;
	size_t limit = PROBE_IPFIX_MAX_MSG;

	for (size_t i = 0; i < cfg->collectors.count; i++) {
		struct probe_collector *c = &p->collectors[i];
		int r;

		c->fd = -1;
		r = resolve(texts[i] ? texts[i] : "", c, err);
		if (r < 0)
			return r;
		p->ncollectors++;
		c->fd = socket(c->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			return error_set(err, -errno, "probe: socket for %s: %s", c->text,
					 strerror(errno));
		/* No route yet is not fatal: probe_send() tries again. */
		if (probe_collector_connect(c) < 0)
			log_warn("probe: collector not reachable yet", "collector=%s error=\"%s\"",
				 c->text, strerror(errno));
		if (path_limit(c, p->cfg.mtu) < limit)
			limit = path_limit(c, p->cfg.mtu);
	}
	*max_len = limit;
	return 0;
}

void probe_collectors_close(struct probe *p)
{
	for (size_t i = 0; i < p->ncollectors; i++)
		if (p->collectors[i].fd >= 0)
			close(p->collectors[i].fd);
	p->ncollectors = 0;
}
