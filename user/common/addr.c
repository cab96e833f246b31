// SPDX-License-Identifier: AGPL-3.0-or-later
/* Text forms of addresses and MACs. */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int addr_is_zero(const struct in6_addr *a)
{
	static const struct in6_addr zero;
	return memcmp(a, &zero, sizeof(zero)) == 0;
}

void addr_to_text(const struct in6_addr *a, char *buf, size_t size)
{
	if (addr_is_ipv4(a))
		inet_ntop(AF_INET, &a->s6_addr[12], buf, size);
	else
		inet_ntop(AF_INET6, a, buf, size);
}

int addr_from_text(struct in6_addr *a, const char *text)
{
	uint8_t v4[4];

	if (inet_pton(AF_INET, text, v4) == 1) {
		addr_from_ipv4_bytes(a, v4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, a) == 1)
		return 0;
	return -EINVAL;
}

int addr_prefix_from_text(struct in6_addr *a, unsigned *len, const char *text)
{
	char buf[ADDR_TEXT_MAX + 5];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned max, plen;
	char *end;

	if (alen >= ADDR_TEXT_MAX)
		return -EINVAL;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (addr_from_text(a, buf) < 0)
		return -EINVAL;
	max = strchr(buf, ':') ? 128 : 32;
	plen = max;
	if (slash) {
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || end == slash + 1 || v > max)
			return -EINVAL;
		plen = (unsigned)v;
	}
	*len = max == 32 ? plen + 96 : plen;
	return 0;
}

static int parse_listen(const char *text, struct sockaddr_in6 *sa, unsigned long min_port)
{
	char host[INET6_ADDRSTRLEN + 2] = "";
	const char *colon, *port_text;
	unsigned long port;
	char *end;
	size_t hlen;

	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;
	if (!text)
		return -EINVAL;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		hlen = (size_t)(close - text - 1);
		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, hlen);
		host[hlen] = 0;
		port_text = close + 2;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - text);
		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, hlen);
		host[hlen] = 0;
		port_text = colon + 1;
	}
	port = strtoul(port_text, &end, 10);
	if (end == port_text || *end || port < min_port || port > 65535)
		return -EINVAL;
	sa->sin6_port = htons((uint16_t)port);
	if (host[0] && addr_from_text(&sa->sin6_addr, host) < 0)
		return -EINVAL;
	return 0;
}

int addr_parse_listen(const char *text, struct sockaddr_in6 *sa)
{
	return parse_listen(text, sa, 1);
}

int addr_parse_listen_any_port(const char *text, struct sockaddr_in6 *sa)
{
	return parse_listen(text, sa, 0);
}

void mac_to_text(uint64_t mac, char *buf, size_t size)
{
	snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", (unsigned)(mac >> 40) & 0xff,
		 (unsigned)(mac >> 32) & 0xff, (unsigned)(mac >> 24) & 0xff,
		 (unsigned)(mac >> 16) & 0xff, (unsigned)(mac >> 8) & 0xff, (unsigned)mac & 0xff);
}
