// SPDX-License-Identifier: AGPL-3.0-or-later
/* The longest-prefix trie and the networks + GeoIP merge: most specific
 * prefix wins per attribute, covering prefixes fill the rest, networks beat
 * GeoIP at the same prefix; IPv4 and IPv6. */
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/config.h"
#include "enrich/lpm.h"
#include "enrich/netmap.h"
#include "test.h"

static struct in6_addr A(const char *text) {
	struct in6_addr a;
	if (addr_from_text(&a, text) < 0)
		test_fail_at(__FILE__, __LINE__, "bad address %s", text);
	return a;
}

static void
ins(struct lpm *t, const char *prefix, uint32_t v)
{
	struct in6_addr a;
	unsigned len;
	REQUIRE(addr_prefix_from_text(&a, &len, prefix) == 0);
	REQUIRE(lpm_insert(t, &a, len, v) == 0);
}

static uint32_t look(const struct lpm *t, const char *addr)
{
	struct in6_addr a = A(addr);
	return lpm_lookup(t, &a);
}

TEST(lpm_longest_match_ipv4_ipv6)
{
	struct lpm t;
	lpm_init(&t);
	CHECK_EQ(look(&t, "10.0.0.1"), LPM_NONE);
	ins(&t, "10.1.2.0/24", 3);
	ins(&t, "10.0.0.0/8", 1);
	ins(&t, "10.1.0.0/16", 2);
	ins(&t, "2001:db8::/32", 6);
	ins(&t, "2001:db8:1::/48", 7);
	ins(&t, "192.0.2.1", 9); /* a host */
	CHECK_EQ(look(&t, "10.1.2.3"), 3);
	CHECK_EQ(look(&t, "10.1.3.3"), 2);
	CHECK_EQ(look(&t, "10.2.0.0"), 1);
	CHECK_EQ(look(&t, "11.0.0.0"), LPM_NONE);
	CHECK_EQ(look(&t, "192.0.2.1"), 9);
	CHECK_EQ(look(&t, "192.0.2.2"), LPM_NONE);
	CHECK_EQ(look(&t, "2001:db8:1::5"), 7);
	CHECK_EQ(look(&t, "2001:db8:2::5"), 6);
	CHECK_EQ(look(&t, "2001:db9::"), LPM_NONE);
	ins(&t, "::/0", 0);
	CHECK_EQ(look(&t, "2001:db9::"), 0);
	CHECK_EQ(look(&t, "11.0.0.0"), 0);
	ins(&t, "10.1.0.0/16", 22); /* replaced */
	CHECK_EQ(look(&t, "10.1.3.3"), 22);
	CHECK_EQ(t.prefixes, 7);
	struct in6_addr p;
	unsigned len;
	addr_prefix_from_text(&p, &len, "10.1.0.0/16");
	CHECK_EQ(lpm_get(&t, &p, len), 22);
	addr_prefix_from_text(&p, &len, "10.1.0.0/17");
	CHECK_EQ(lpm_get(&t, &p, len), LPM_NONE);
	lpm_fini(&t);
}

/* Random prefixes against a linear scan. */
TEST(lpm_matches_brute_force)
{
	struct {
		struct in6_addr a;
		unsigned len;
	} pfx[600];
	struct lpm t;
	unsigned seed = 12345;
	lpm_init(&t);
	for (int i = 0; i < 600; i++) {
		uint8_t b[16] = {0};
		seed = seed * 1103515245 + 12345;
		int v4 = i % 2;
		for (int k = 0; k < 16; k++) {
			seed = seed * 1103515245 + 12345;
			b[k] = (uint8_t)((seed >> 16) & (k < 2 ? 0x3 : 0xff)); /* clustered */
		}
		if (v4) {
			memset(b, 0, 10);
			b[10] = b[11] = 0xff;
			b[12] &= 0x3;
		}
		memcpy(pfx[i].a.s6_addr, b, 16);
		pfx[i].len = v4 ? 96 + (seed >> 8) % 33 : (seed >> 8) % 129;
		REQUIRE(lpm_insert(&t, &pfx[i].a, pfx[i].len, (uint32_t)i) == 0);
	}
	for (int q = 0; q < 5000; q++) {
		struct in6_addr a = pfx[q % 600].a;
		seed = seed * 1103515245 + 12345;
		a.s6_addr[15 - (seed >> 8) % 6] ^= (uint8_t)(seed >> 20);
		int best = -1;
		unsigned best_len = 0;
		for (int i = 0; i < 600; i++) {
			unsigned len = pfx[i].len, k;
			for (k = 0; k < len; k++) {
				unsigned x =
				    (a.s6_addr[k / 8] ^ pfx[i].a.s6_addr[k / 8]) >> (7 - k % 8);
				if (x & 1)
					break;
			}
			/* a later insert of the same prefix replaces the value */
			if (k == len && (best < 0 || len >= best_len)) {
				best = i;
				best_len = len;
			}
		}
		uint32_t got = lpm_lookup(&t, &a);
		if ((best < 0 && got != LPM_NONE) || (best >= 0 && got != (uint32_t)best)) {
			CHECK_EQ(got, best < 0 ? LPM_NONE : (uint32_t)best);
			break;
		}
	}
	lpm_fini(&t);
}

static struct strtab *strs;

static uint32_t S(const char *s)
{
	return strtab_intern_cstr(strs, s);
}

static const char *T(uint32_t id)
{
	return strtab_get(strs, id, NULL);
}

static void add(struct netmap_builder *b, const char *prefix, struct net_value v)
{
	struct in6_addr a;
	unsigned len;
	REQUIRE(addr_prefix_from_text(&a, &len, prefix) == 0);
	REQUIRE(netmap_builder_add(b, &a, len, &v) == 0);
}

static const struct net_value *nl(const struct netmap *m, const char *addr)
{
	struct in6_addr a = A(addr);
	return netmap_lookup(m, &a);
}

TEST(netmap_most_specific_wins_per_attribute)
{
	struct netmap_builder b;
	struct netmap *m;
	REQUIRE(strtab_new(0, &strs, NULL) == 0);
	netmap_builder_init(&b);
	/* GeoIP first (ASN, then geo), networks last. */
	add(&b, "10.0.0.0/8", (struct net_value){.asn = 64500});
	add(&b, "10.0.0.0/8", (struct net_value){.attrs = {.country = "FR", .city = S("Paris")}});
	add(&b, "10.1.128.0/17",
	    (struct net_value){.attrs = {.country = "DE", .city = S("Berlin")}});
	add(&b, "10.0.0.0/8",
	    (struct net_value){.attrs = {.name = S("big"), .role = S("r8"), .country = "IT"}});
	add(&b, "10.1.0.0/16", (struct net_value){.attrs = {.name = S("mid"), .tenant = S("t16")}});
	add(&b, "2001:db8::/32",
	    (struct net_value){.attrs = {.name = S("v6"), .site = S("par1")}, .asn = 64501});
	add(&b, "2001:db8:1::/48", (struct net_value){.attrs = {.country = "NL"}});
	REQUIRE(netmap_build(&b, &m) == 0);

	const struct net_value *v = nl(m, "10.1.2.3");
	CHECK_STR(T(v->attrs.name), "mid"); /* most specific */
	CHECK_STR(T(v->attrs.role), "r8");  /* covering prefix fills */
	CHECK_STR(T(v->attrs.tenant), "t16");
	CHECK_MEM(v->attrs.country, "IT", 2); /* networks beat GeoIP at the same prefix */
	CHECK_STR(T(v->attrs.city), "Paris"); /* GeoIP fills what networks leave unset */
	CHECK_EQ(v->asn, 64500);

	v = nl(m, "10.1.200.1"); /* a more specific GeoIP prefix beats the networks */
	CHECK_MEM(v->attrs.country, "DE", 2);
	CHECK_STR(T(v->attrs.city), "Berlin");
	CHECK_STR(T(v->attrs.name), "mid");

	v = nl(m, "10.200.0.1");
	CHECK_STR(T(v->attrs.name), "big");
	CHECK_STR(T(v->attrs.tenant), "");

	v = nl(m, "2001:db8:1::1");
	CHECK_MEM(v->attrs.country, "NL", 2);
	CHECK_STR(T(v->attrs.name), "v6");
	CHECK_STR(T(v->attrs.site), "par1");
	CHECK_EQ(v->asn, 64501);

	v = nl(m, "192.0.2.1");
	CHECK_EQ(v->attrs.name, 0);
	CHECK_EQ(v->asn, 0);
	CHECK(m->nvalues <= 6); /* attribute sets are shared */
	netmap_free(m);
	netmap_builder_fini(&b);
	strtab_free(strs);
}

static int networks_from_yaml(struct netmap_builder *b, const char *yaml, struct error *err)
{
	struct config_error ce;
	struct config_doc *doc = config_doc_load_string("test.yaml", yaml, &ce);
	REQUIRE(doc);
	int r = netmap_add_networks(b, strs, config_node_get(doc->root, "networks"), "test.yaml",
				    "networks", err);
	config_doc_free(doc);
	return r;
}

TEST(networks_yaml)
{
	struct netmap_builder b;
	struct netmap *m;
	struct error err = {{0}};
	REQUIRE(strtab_new(0, &strs, NULL) == 0);
	netmap_builder_init(&b);
	REQUIRE(networks_from_yaml(&b,
				   "networks:\n"
				   "  192.0.2.0/24: ipv4-customers\n"
				   "  192.0.2.128/25:\n"
				   "    role: servers\n"
				   "    site: par1\n"
				   "    region: eu-west\n"
				   "    tenant: acme\n"
				   "    country: France\n"
				   "    state: IDF\n"
				   "    city: Paris\n"
				   "    asn: AS64500\n"
				   "  2a01:db8:cafe:1::/64:\n"
				   "    name: ipv6-customers\n"
				   "    asn: 64501\n",
				   &err) == 0);
	REQUIRE(netmap_build(&b, &m) == 0);
	const struct net_value *v = nl(m, "192.0.2.200");
	CHECK_STR(T(v->attrs.name), "ipv4-customers");
	CHECK_STR(T(v->attrs.role), "servers");
	CHECK_STR(T(v->attrs.site), "par1");
	CHECK_STR(T(v->attrs.region), "eu-west");
	CHECK_STR(T(v->attrs.tenant), "acme");
	CHECK_MEM(v->attrs.country, "Fr", 2);
	CHECK_STR(T(v->attrs.state), "IDF");
	CHECK_STR(T(v->attrs.city), "Paris");
	CHECK_EQ(v->asn, 64500);
	v = nl(m, "2a01:db8:cafe:1::9");
	CHECK_STR(T(v->attrs.name), "ipv6-customers");
	CHECK_EQ(v->asn, 64501);
	netmap_free(m);
	netmap_builder_fini(&b);

	netmap_builder_init(&b);
	CHECK(networks_from_yaml(&b, "networks:\n  192.0.2.0/33: x\n", &err) < 0);
	CHECK(strstr(err.text, "test.yaml:2: networks: expected a prefix") != NULL);
	CHECK(networks_from_yaml(&b, "networks:\n  192.0.2.0/24:\n    colour: red\n", &err) < 0);
	CHECK(strstr(err.text, "test.yaml:3: networks.192.0.2.0/24.colour: unknown key") != NULL);
	CHECK(networks_from_yaml(&b, "networks:\n  192.0.2.0/24:\n    asn: ASX\n", &err) < 0);
	CHECK(strstr(err.text, "expected an AS number") != NULL);
	netmap_builder_fini(&b);
	strtab_free(strs);
}

/* The IPv4 16-8-8 table gives what the trie gives, prefixes of every length
 * (and one shorter than /96 covering IPv4) included. */
TEST(netmap_ipv4_table_matches_trie)
{
	struct netmap_builder b;
	struct netmap *m;
	unsigned seed = 777;
	REQUIRE(strtab_new(0, &strs, NULL) == 0);
	netmap_builder_init(&b);
	add(&b, "::/8", (struct net_value){.asn = 1});
	for (int i = 0; i < 3000; i++) {
		struct in6_addr a;
		seed = seed * 1103515245 + 12345;
		unsigned len = (seed >> 8) % 33;
		seed = seed * 1103515245 + 12345;
		uint32_t v4 = (seed & 0x0fffffffu) | 0x0a000000u; /* clustered in 10/8 and near */
		v4 &= len ? ~0u << (32 - len) : 0;
		addr_from_ipv4(&a, v4);
		struct net_value v = {.asn = 100 + (uint32_t)i};
		REQUIRE(netmap_builder_add(&b, &a, 96 + len, &v) == 0);
	}
	REQUIRE(netmap_build(&b, &m) == 0);
	CHECK(m->nl3 > 0);
	for (int q = 0; q < 200000; q++) {
		struct in6_addr a;
		seed = seed * 1103515245 + 12345;
		addr_from_ipv4(&a, (seed & 0x1fffffffu) | (q % 7 == 0 ? 0xc0000000u : 0));
		uint32_t t = lpm_lookup(&m->lpm, &a);
		const struct net_value *want = t == LPM_NONE ? NULL : &m->values[t];
		const struct net_value *got = netmap_lookup(m, &a);
		if ((want ? want->asn : 0) != got->asn) {
			CHECK_EQ(got->asn, want ? want->asn : 0);
			break;
		}
	}
	netmap_free(m);
	netmap_builder_fini(&b);
	strtab_free(strs);
}
