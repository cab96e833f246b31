// SPDX-License-Identifier: AGPL-3.0-or-later
/* The demo's world: the ASes of config/demo/world.csv (taken in at build
 * time), the demo network's routers and their interfaces, and the traffic
 * between them: weighted ASes, a daily rhythm and a periodic attack. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/rng.h"
#include "demo_exporter.h"

/* The world table, NUL-terminated, as mk/demo-mmdb.pl reads it too. */
__asm__(".section .rodata\n"
	".global demo_world_csv_text\n"
	"demo_world_csv_text:\n.incbin \"config/demo/world.csv\"\n.byte 0\n"
	".previous\n");
extern const char demo_world_csv_text[] __asm__("demo_world_csv_text");

const char *demo_world_builtin_csv(void)
{
	return demo_world_csv_text;
}

/* ---- the routers ----
 * Two sites (par1, fra1), two edge routers each. Their interface
 * descriptions follow Akvorado's convention ("Transit: X", "PNI: X", "IX: X"),
 * which the demo configuration's interface classifiers read. */
#define G 1000 /* Mbps per Gbps */
static const struct demo_port par1_edge1[] = {
    {{1, 100 * G, "et-0/0/0", "Transit: Cogent"}, DEMO_PORT_TRANSIT, 0},
    {{2, 100 * G, "et-0/0/1", "Transit: Lumen"}, DEMO_PORT_TRANSIT, 0},
    {{3, 100 * G, "et-0/0/2", "PNI: Google"}, DEMO_PORT_PNI, 15169},
    {{4, 100 * G, "et-0/0/3", "PNI: Netflix"}, DEMO_PORT_PNI, 2906},
    {{5, 100 * G, "et-0/0/4", "IX: France-IX"}, DEMO_PORT_IX, 0},
    {{10, 400 * G, "ae10", "Core: par1-core1"}, DEMO_PORT_CORE, 0},
    {{11, 400 * G, "ae11", "Core: par1-core2"}, DEMO_PORT_CORE, 0},
};
static const struct demo_port par1_edge2[] = {
    {{1, 100 * G, "Ethernet1/1", "Transit: Cogent"}, DEMO_PORT_TRANSIT, 0},
    {{2, 100 * G, "Ethernet1/2", "Transit: Lumen"}, DEMO_PORT_TRANSIT, 0},
    {{3, 100 * G, "Ethernet1/3", "PNI: Facebook"}, DEMO_PORT_PNI, 32934},
    {{4, 100 * G, "Ethernet1/4", "PNI: Cloudflare"}, DEMO_PORT_PNI, 13335},
    {{5, 100 * G, "Ethernet1/5", "IX: France-IX"}, DEMO_PORT_IX, 0},
    {{10, 400 * G, "Port-Channel10", "Core: par1-core1"}, DEMO_PORT_CORE, 0},
};
static const struct demo_port fra1_edge1[] = {
    {{1, 100 * G, "HundredGigE0/0/0/0", "Transit: Arelion"}, DEMO_PORT_TRANSIT, 0},
    {{2, 100 * G, "HundredGigE0/0/0/1", "Transit: Cogent"}, DEMO_PORT_TRANSIT, 0},
    {{3, 100 * G, "HundredGigE0/0/0/2", "PNI: Amazon"}, DEMO_PORT_PNI, 16509},
    {{4, 100 * G, "HundredGigE0/0/0/3", "PNI: Google"}, DEMO_PORT_PNI, 15169},
    {{5, 100 * G, "HundredGigE0/0/0/4", "IX: DE-CIX"}, DEMO_PORT_IX, 0},
    {{10, 400 * G, "Bundle-Ether10", "Core: fra1-core1"}, DEMO_PORT_CORE, 0},
};
/* sFlow carries no names: the demo configuration's static metadata names
 * these (mk/demo.sh). */
static const struct demo_port fra1_edge2[] = {
    {{1, 100 * G, "et-0/0/0", "Transit: Arelion"}, DEMO_PORT_TRANSIT, 0},
    {{2, 100 * G, "et-0/0/1", "Transit: Lumen"}, DEMO_PORT_TRANSIT, 0},
    {{3, 100 * G, "et-0/0/2", "PNI: Netflix"}, DEMO_PORT_PNI, 2906},
    {{5, 100 * G, "et-0/0/4", "IX: DE-CIX"}, DEMO_PORT_IX, 0},
    {{10, 400 * G, "ae10", "Core: fra1-core1"}, DEMO_PORT_CORE, 0},
};
#undef G

#define R(n) n, sizeof(n) / sizeof(n[0])
static const struct demo_router routers[] = {
    {"par1-edge1", "127.0.0.11", DEMO_IPFIX, 101, R(par1_edge1)},
    {"par1-edge2", "127.0.0.12", DEMO_NETFLOW_V9, 102, R(par1_edge2)},
    {"fra1-edge1", "127.0.0.13", DEMO_IPFIX, 103, R(fra1_edge1)},
    {"fra1-edge2", "127.0.0.14", DEMO_SFLOW_V5, 104, R(fra1_edge2)},
};
#undef R

size_t demo_routers(const struct demo_router **out)
{
	*out = routers;
	return sizeof(routers) / sizeof(routers[0]);
}

/* ---- the world table ---- */

struct world_prefix {
	struct in6_addr addr;
	uint8_t len; /* in the 128-bit space */
};

struct world_as {
	struct demo_as as;
	uint32_t first4, n4, first6, n6; /* prefixes[] ranges */
};

struct demo_world {
	struct world_as *ases;
	size_t nases;
	struct world_prefix *prefixes;
	size_t nprefixes;
	uint64_t total_weight; /* of the external ASes */
	size_t local;	       /* index of the local AS */
	char *names;	       /* the ASes' names, one NUL-terminated string each */
};

/* Splits `line` at commas (no quoting: the table has none) into at most
 * `max` fields. Returns how many. */
static size_t split(char *line, char **fields, size_t max)
{
	size_t n = 0;

	while (n < max) {
		fields[n++] = line;
		line = strchr(line, ',');
		if (!line)
			break;
		*line++ = '\0';
	}
	return n;
}

static int parse_reach(const char *s, enum demo_reach *r)
{
	static const char *const words[] = {"local", "pni", "ix", "transit"};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i])) {
			*r = (enum demo_reach)i;
			return 0;
		}
	return -EINVAL;
}

/* Adds the space-separated prefixes of `list`, IPv4 first, to w->prefixes. */
static int add_prefixes(struct demo_world *w, struct world_as *a, char *list, size_t cap)
{
	for (int v6 = 0; v6 < 2; v6++) {
		char *copy = strdup(list), *save = NULL;
		uint32_t first = (uint32_t)w->nprefixes, n = 0;

		if (!copy)
			return -ENOMEM;
		for (char *tok = strtok_r(copy, " ", &save); tok;
		     tok = strtok_r(NULL, " ", &save)) {
			struct world_prefix p;
			unsigned len;

			if (addr_prefix_from_text(&p.addr, &len, tok) < 0 || w->nprefixes >= cap) {
				free(copy);
				return -EINVAL;
			}
			if (addr_is_ipv4(&p.addr) == v6)
				continue;
			p.len = (uint8_t)len;
			w->prefixes[w->nprefixes++] = p;
			n++;
		}
		free(copy);
		if (v6) {
			a->first6 = first;
			a->n6 = n;
		} else {
			a->first4 = first;
			a->n4 = n;
		}
	}
	return 0;
}

int demo_world_new(const char *csv, struct demo_world **out, struct error *err)
{
	struct demo_world *w = calloc(1, sizeof(*w));
	char *text = strdup(csv ? csv : demo_world_csv_text);
	size_t lines = 1, lineno = 0, names_used = 0, cap;
	int ret = -ENOMEM, header = 1, have_local = 0;

	*out = NULL;
	if (!w || !text)
		goto fail;
	for (const char *c = text; *c; c++)
		lines += *c == '\n';
	/* Each prefix takes at least 4 bytes of text ("::/0"); the names
	 * fit in the text's size. */
	cap = strlen(text) / 4 + 1;
	w->ases = calloc(lines, sizeof(*w->ases));
	w->prefixes = calloc(cap, sizeof(*w->prefixes));
	w->names = malloc(strlen(text) + 1);
	if (!w->ases || !w->prefixes || !w->names)
		goto fail;
	ret = -EINVAL;
	for (char *line = text, *next; line; line = next) {
		struct world_as *a = &w->ases[w->nases];
		char *f[6], *end;
		size_t nf;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (line[0] == '#' || !line[strspn(line, " \t\r")])
			continue;
		line[strcspn(line, "\r")] = '\0';
		if (header) { /* asn,name,country,weight,reach,prefixes */
			header = 0;
			continue;
		}
		nf = split(line, f, 6);
		if (nf != 6)
			goto bad;
		a->as.asn = (uint32_t)strtoul(f[0], &end, 10);
		if (*end || !a->as.asn || strlen(f[2]) != 2 || !isupper((unsigned char)f[2][0]))
			goto bad;
		a->as.weight = (uint32_t)strtoul(f[3], &end, 10);
		if (*end || parse_reach(f[4], &a->as.reach) < 0)
			goto bad;
		memcpy(a->as.country, f[2], 3);
		a->as.name = strcpy(w->names + names_used, f[1]);
		names_used += strlen(f[1]) + 1;
		ret = add_prefixes(w, a, f[5], cap);
		if (ret == -ENOMEM)
			goto fail;
		if (ret < 0 || a->n4 + a->n6 == 0) {
			ret = -EINVAL;
			goto bad;
		}
		if (a->as.reach == DEMO_REACH_LOCAL) {
			if (have_local++ || !a->n4 || !a->n6)
				goto bad;
			w->local = w->nases;
		} else {
			w->total_weight += a->as.weight;
		}
		w->nases++;
	}
	if (!have_local || !w->total_weight) {
		ret =
		    error_set(err, -EINVAL,
			      "demo: world table needs one local AS (with IPv4 and IPv6 prefixes) "
			      "and external ASes with a weight");
		goto out;
	}
	free(text);
	*out = w;
	return 0;
bad:
	ret = error_set(err, -EINVAL,
			"demo: world table line %zu: expected asn,name,country,weight,"
			"reach (local, pni, ix, transit),prefixes",
			lineno);
	goto out;
fail:
	ret = error_set(err, ret, "demo: %s", strerror(-ret));
out:
	free(text);
	demo_world_free(w);
	return ret;
}

void demo_world_free(struct demo_world *w)
{
	if (!w)
		return;
	free(w->ases);
	free(w->prefixes);
	free(w->names);
	free(w);
}

size_t demo_world_count(const struct demo_world *w)
{
	return w->nases;
}

const struct demo_as *demo_world_as(const struct demo_world *w, size_t i)
{
	return i < w->nases ? &w->ases[i].as : NULL;
}

static int prefix_contains(const struct world_prefix *p, const struct in6_addr *a)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	if (memcmp(p->addr.s6_addr, a->s6_addr, full))
		return 0;
	return !rest || ((p->addr.s6_addr[full] ^ a->s6_addr[full]) & (0xff00 >> rest)) == 0;
}

const struct demo_as *demo_world_lookup(const struct demo_world *w, const struct in6_addr *a)
{
	for (size_t i = 0; i < w->nases; i++) {
		const struct world_as *as = &w->ases[i];

		for (uint32_t k = 0; k < as->n4 + as->n6; k++) {
			uint32_t idx = k < as->n4 ? as->first4 + k : as->first6 + (k - as->n4);

			if (prefix_contains(&w->prefixes[idx], a))
				return &as->as;
		}
	}
	return NULL;
}

/* ---- time ---- */

/* Relative traffic at each hour of the day, as on an eyeball network: low
 * at 4-5 in the morning, rising through the day, peak at 21. */
static const uint8_t rhythm_pct[25] = {55, 42, 32, 25, 21, 20, 24, 32, 45,  56, 62, 66, 70,
				       70, 68, 70, 74, 80, 86, 92, 97, 100, 92, 74, 55};

double demo_rhythm(uint32_t seconds_of_day)
{
	uint32_t s = seconds_of_day % 86400, h = s / 3600;
	double frac = (double)(s % 3600) / 3600.0;

	return (rhythm_pct[h] + (rhythm_pct[h + 1] - rhythm_pct[h]) * frac) / 100.0;
}

int demo_attack_at(const struct demo_world *w, uint64_t now, struct demo_attack *out)
{
	uint64_t id = now / DEMO_ATTACK_PERIOD;
	const struct world_as *local = &w->ases[w->local];
	const struct world_prefix *p = &w->prefixes[local->first4];
	uint32_t base = (uint32_t)p->addr.s6_addr[12] << 24 | (uint32_t)p->addr.s6_addr[13] << 16 |
			(uint32_t)p->addr.s6_addr[14] << 8 | p->addr.s6_addr[15];
	unsigned bits = 128u - p->len;
	uint32_t hosts = bits <= 1 ? 1 : bits >= 31 ? 1u << 30 : (1u << bits) - 2;

	memset(out, 0, sizeof(*out));
	if (now % DEMO_ATTACK_PERIOD >= DEMO_ATTACK_LENGTH)
		return 0;
	/* Each burst has its own victim (a customer address) and kind. */
	out->id = id;
	out->src_port = id % 2 ? 53 : 123;
	out->packet_size = id % 2 ? 1400 : 468; /* DNS ANY answers, NTP monlist */
	addr_from_ipv4(&out->target, base + 1 + (uint32_t)(id * 37 % hosts));
	return 1;
}

/* ---- flows ---- */

static const struct demo_port *pick_port(const struct demo_router *r, enum demo_port_kind kind,
					 uint32_t peer, uint64_t x)
{
	const struct demo_port *found[8];
	size_t n = 0;

	for (size_t i = 0; i < r->nports && n < 8; i++)
		if (r->ports[i].kind == kind && (!peer || r->ports[i].peer_asn == peer))
			found[n++] = &r->ports[i];
	return n ? found[x % n] : NULL;
}

/* Where traffic of `as` enters router `r`: its PNI when the router has one
 * (mostly: some goes through the IX or a transit), else the IX for peers,
 * else a transit. */
static const struct demo_port *entry_port(const struct demo_router *r, const struct demo_as *as,
					  uint64_t x)
{
	const struct demo_port *p = NULL;
	unsigned dice = (unsigned)(x % 100);

	if (as->reach == DEMO_REACH_PNI && dice < 85)
		p = pick_port(r, DEMO_PORT_PNI, as->asn, x >> 8);
	if (!p && as->reach != DEMO_REACH_TRANSIT && dice < 90)
		p = pick_port(r, DEMO_PORT_IX, 0, x >> 8);
	if (!p)
		p = pick_port(r, DEMO_PORT_TRANSIT, 0, x >> 8);
	return p;
}

static void random_in(struct in6_addr *a, const struct world_prefix *p, uint64_t x)
{
	*a = p->addr;
	for (unsigned bit = p->len; bit < 128; bit++)
		if ((x >> (bit % 64)) & 1)
			a->s6_addr[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	/* Neither the network nor the broadcast address. */
	if (a->s6_addr[15] == 0 || a->s6_addr[15] == 0xff)
		a->s6_addr[15] = (uint8_t)(1 + x % 200);
}

static const struct world_prefix *pick_prefix(const struct demo_world *w, const struct world_as *a,
					      int v6, uint64_t x)
{
	if (v6 && a->n6)
		return &w->prefixes[a->first6 + x % a->n6];
	return &w->prefixes[a->first4 + x % a->n4];
}

static const struct world_as *pick_as(const struct demo_world *w, uint64_t x)
{
	uint64_t t = x % w->total_weight;

	for (size_t i = 0; i < w->nases; i++) {
		const struct world_as *a = &w->ases[i];

		if (a->as.reach == DEMO_REACH_LOCAL)
			continue;
		if (t < a->as.weight)
			return a;
		t -= a->as.weight;
	}
	return &w->ases[w->local == 0 ? 1 : 0];
}

static void fill_common(struct flow *f, uint64_t now, uint64_t x)
{
	flow_reset(f);
	f->time_received = now;
	f->time_flow_end_ms = now * 1000;
	f->time_flow_start_ms = now * 1000 - x % 30000;
	f->sampling_rate = DEMO_SAMPLING_RATE;
	f->flow_direction = FLOW_DIRECTION_INGRESS;
	f->ip_ttl = (uint8_t)(50 + x % 14);
}

/* Sets both ends: `ext` is the far side, `loc` the demo network's side. */
static void set_ends(struct flow *f, const struct demo_router *r, const struct demo_port *ext_port,
		     const struct world_as *ext, const struct world_prefix *ep,
		     const struct world_as *loc, const struct world_prefix *lp, int inbound,
		     uint64_t x)
{
	const struct demo_port *core = pick_port(r, DEMO_PORT_CORE, 0, x);
	struct in6_addr ea, la;

	random_in(&ea, ep, x);
	random_in(&la, lp, x >> 17 | x << 47);
	f->etype = addr_is_ipv4(&ea) ? 0x0800 : 0x86dd;
	f->src_addr = inbound ? ea : la;
	f->dst_addr = inbound ? la : ea;
	f->src_as = inbound ? ext->as.asn : loc->as.asn;
	f->dst_as = inbound ? loc->as.asn : ext->as.asn;
	f->src_net_mask = (uint8_t)((inbound ? ep : lp)->len - (f->etype == 0x0800 ? 96 : 0));
	f->dst_net_mask = (uint8_t)((inbound ? lp : ep)->len - (f->etype == 0x0800 ? 96 : 0));
	f->in_if = inbound ? ext_port->ifc.ifindex : core->ifc.ifindex;
	f->out_if = inbound ? core->ifc.ifindex : ext_port->ifc.ifindex;
	if (f->etype == 0x0800)
		addr_from_ipv4(&f->next_hop, 0xc0000200u + (inbound ? 1 : 2)); /* 192.0.2.x */
}

void demo_world_flow(const struct demo_world *w, size_t router, uint64_t *rng, uint64_t now,
		     struct flow *f)
{
	static const struct {
		uint8_t proto;
		uint16_t port;
		uint16_t size; /* typical packet size, server to client */
	} services[] = {
	    {6, 443, 1400},  {6, 443, 1400}, {6, 443, 1300}, {17, 443, 1250},
	    {17, 443, 1250}, {6, 80, 1200},  {17, 53, 140},  {6, 22, 300},
	    {6, 25, 700},    {17, 123, 90},  {6, 993, 500},  {6, 8080, 900},
	};
	const struct demo_router *r = &routers[router % (sizeof(routers) / sizeof(routers[0]))];
	uint64_t x = rng_next(rng), y = rng_next(rng);
	const struct world_as *ext = pick_as(w, x), *loc = &w->ases[w->local];
	unsigned svc = (unsigned)(y % (sizeof(services) / sizeof(services[0])));
	/* About a third of the traffic is IPv6, where the AS has any. */
	int v6 = ext->n6 && (x >> 20) % 3 == 0;
	/* Mostly downloads: 80% enters the demo network. */
	int inbound = (y >> 8) % 5 != 0;
	/* Few elephants, many mice; bounded, so that the shares follow the
	 * weights within a few minutes. */
	uint64_t packets = 1 + (y >> 16) % ((y >> 32) % 16 ? 12 : 200);
	uint16_t size = inbound ? services[svc].size : (uint16_t)(services[svc].size / 6 + 60);

	fill_common(f, now, y);
	set_ends(f, r, entry_port(r, &ext->as, x >> 32), ext, pick_prefix(w, ext, v6, x >> 24), loc,
		 pick_prefix(w, loc, v6, y >> 40), inbound, rng_next(rng));
	f->proto = services[svc].proto;
	f->packets = packets;
	f->bytes = packets * (uint64_t)(size - (y >> 48) % 40);
	f->ip_tos = (y >> 56) % 4 ? 0 : 0x28;
	if (inbound) { /* the far side serves */
		f->src_port = services[svc].port;
		f->dst_port = (uint16_t)(32768 + (x >> 40) % 28000);
	} else {
		f->src_port = (uint16_t)(32768 + (x >> 40) % 28000);
		f->dst_port = services[svc].port;
	}
	if (f->proto == 6)
		f->tcp_flags = 0x18;
}

void demo_world_attack_flow(const struct demo_world *w, size_t router,
			    const struct demo_attack *attack, uint64_t *rng, uint64_t now,
			    struct flow *f)
{
	const struct demo_router *r = &routers[router % (sizeof(routers) / sizeof(routers[0]))];
	uint64_t x = rng_next(rng), y = rng_next(rng);
	const struct world_as *ext = NULL;
	struct world_prefix target = {.addr = attack->target, .len = 128};

	/* Reflectors all over: every external AS alike, not by weight. */
	for (size_t tries = 0; !ext || ext->as.reach == DEMO_REACH_LOCAL; tries++)
		ext = &w->ases[(x + tries) % w->nases];
	fill_common(f, now, y);
	set_ends(f, r, entry_port(r, &ext->as, x >> 32), ext, pick_prefix(w, ext, 0, x >> 24),
		 &w->ases[w->local], &target, 1, rng_next(rng));
	f->dst_net_mask = 24;
	f->proto = 17;
	f->src_port = attack->src_port;
	f->dst_port = (uint16_t)(1024 + (y >> 8) % 64000);
	f->packets = 20 + (y >> 24) % 80;
	f->bytes = f->packets * attack->packet_size;
}
