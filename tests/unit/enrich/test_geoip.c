// SPDX-License-Identifier: AGPL-3.0-or-later
/* The .mmdb reader: small MaxMind (City, Country, ASN) and IPinfo databases
 * written by the test with libmaxmind-db-writer-perl, walked into the
 * networks + GeoIP merge. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/addr.h"
#include "enrich/enrich.h"
#include "enrich/netmap.h"
#include "mmdb_gen.h"
#include "test.h"

static struct strtab *strs;

static const struct net_value *nl(const struct netmap *m, const char *addr)
{
	struct in6_addr a;
	REQUIRE(addr_from_text(&a, addr) == 0);
	return netmap_lookup(m, &a);
}

static const char *T(uint32_t id)
{
	return strtab_get(strs, id, NULL);
}

TEST(maxmind_city_and_asn)
{
	char dir[] = "/tmp/weir-geoip-XXXXXX", city[300], asn[300];
	struct netmap_builder b;
	struct netmap *m;
	struct error err = {{0}};

	REQUIRE(mkdtemp(dir));
	snprintf(city, sizeof(city), "%s/city.mmdb", dir);
	snprintf(asn, sizeof(asn), "%s/asn.mmdb", dir);
	if (mmdb_gen(
		city, "GeoLite2-City",
		"net('192.0.2.0/24', {country => {iso_code => 'US'}, city => {names => {en => "
		"'Mountain View', fr => 'MV'}}, subdivisions => [{iso_code => 'CA'}, {iso_code "
		"=> 'XX'}]});\n"
		"net('198.51.100.0/24', {country => {iso_code => 'FR'}});\n"
		"net('2001:db8::/32', {country => {iso_code => 'DE'}, city => {names => {en => "
		"'Berlin'}}});\n") < 0)
		SKIP("libmaxmind-db-writer-perl not usable");
	REQUIRE(mmdb_gen(asn, "GeoLite2-ASN",
			 "net('192.0.2.0/25', {autonomous_system_number => 15169, "
			 "autonomous_system_organization => 'Google'});\n"
			 "net('2001:db8:1::/48', {autonomous_system_number => 64500});\n") == 0);
	REQUIRE(strtab_new(0, &strs, NULL) == 0);
	netmap_builder_init(&b);
	REQUIRE(netmap_add_mmdb(&b, strs, asn, 1, &err) == 0);
	REQUIRE(netmap_add_mmdb(&b, strs, city, 0, &err) == 0);
	REQUIRE(netmap_build(&b, &m) == 0);

	const struct net_value *v = nl(m, "192.0.2.7");
	CHECK_MEM(v->attrs.country, "US", 2);
	CHECK_STR(T(v->attrs.city), "Mountain View");
	CHECK_STR(T(v->attrs.state), "CA"); /* the first (largest) subdivision */
	CHECK_EQ(v->asn, 15169);
	v = nl(m, "192.0.2.200");
	CHECK_MEM(v->attrs.country, "US", 2);
	CHECK_EQ(v->asn, 0);
	v = nl(m, "198.51.100.1");
	CHECK_MEM(v->attrs.country, "FR", 2);
	CHECK_EQ(v->attrs.city, 0);
	v = nl(m, "2001:db8:1::1");
	CHECK_MEM(v->attrs.country, "DE", 2);
	CHECK_STR(T(v->attrs.city), "Berlin");
	CHECK_EQ(v->asn, 64500);
	v = nl(m, "203.0.113.1");
	CHECK_EQ(v->attrs.country[0], 0);
	/* The IPv4 subtree is reached through aliases too: not walked twice. */
	CHECK(m->lpm.prefixes < 12);
	netmap_free(m);
	netmap_builder_fini(&b);
	strtab_free(strs);
	unlink(city);
	unlink(asn);
	rmdir(dir);
}

TEST(ipinfo_layout)
{
	char dir[] = "/tmp/weir-geoip-XXXXXX", path[300];
	struct netmap_builder b;
	struct netmap *m;
	struct error err = {{0}};

	REQUIRE(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ipinfo.mmdb", dir);
	if (mmdb_gen(path, "ipinfo standard_location.mmdb",
		     "net('192.0.2.0/24', {country => 'JP', region => 'Tokyo', city => 'Chiyoda', "
		     "asn => 'AS2497'});\n") < 0)
		SKIP("libmaxmind-db-writer-perl not usable");
	REQUIRE(strtab_new(0, &strs, NULL) == 0);
	netmap_builder_init(&b);
	REQUIRE(netmap_add_mmdb(&b, strs, path, 1, &err) == 0);
	REQUIRE(netmap_add_mmdb(&b, strs, path, 0, &err) == 0);
	REQUIRE(netmap_build(&b, &m) == 0);
	const struct net_value *v = nl(m, "192.0.2.1");
	CHECK_MEM(v->attrs.country, "JP", 2);
	CHECK_STR(T(v->attrs.state), "Tokyo");
	CHECK_STR(T(v->attrs.city), "Chiyoda");
	CHECK_EQ(v->asn, 2497);
	netmap_free(m);
	netmap_builder_fini(&b);
	strtab_free(strs);
	unlink(path);
	rmdir(dir);
}

TEST(missing_or_corrupt_file)
{
	struct netmap_builder b;
	struct error err = {{0}};
	char path[] = "/tmp/weir-geoip-bad-XXXXXX";
	int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, "not a database", 14) == 14);
	close(fd);
	REQUIRE(strtab_new(0, &strs, NULL) == 0);
	netmap_builder_init(&b);
	CHECK(netmap_add_mmdb(&b, strs, "/nonexistent/x.mmdb", 0, &err) == -ENOENT);
	CHECK(strstr(err.text, "geoip: /nonexistent/x.mmdb") != NULL);
	CHECK(netmap_add_mmdb(&b, strs, path, 0, &err) == -EINVAL);
	netmap_builder_fini(&b);
	strtab_free(strs);
	unlink(path);
}

/* AS names for the orchestrator's asns table. */
struct as_seen {
	uint32_t asn[8];
	char name[8][64];
	int n, calls_before_failure;
};

static int as_collect(void *ctx, uint32_t asn, const char *name, size_t len)
{
	struct as_seen *s = ctx;

	if (s->calls_before_failure && s->n + 1 >= s->calls_before_failure)
		return -ENOMEM;
	REQUIRE(s->n < 8 && len < 64);
	s->asn[s->n] = asn;
	memcpy(s->name[s->n], name, len);
	s->name[s->n][len] = '\0';
	s->n++;
	return 0;
}

static const char *as_name(const struct as_seen *s, uint32_t asn)
{
	for (int i = 0; i < s->n; i++)
		if (s->asn[i] == asn)
			return s->name[i];
	return NULL;
}

TEST(asn_names_maxmind_and_ipinfo)
{
	char dir[] = "/tmp/weir-geoip-XXXXXX", mm[300], ii[300], city[300];
	struct error err = {{0}};
	struct as_seen s = {0};

	REQUIRE(mkdtemp(dir));
	snprintf(mm, sizeof(mm), "%s/asn.mmdb", dir);
	snprintf(ii, sizeof(ii), "%s/ipinfo.mmdb", dir);
	snprintf(city, sizeof(city), "%s/city.mmdb", dir);
	/* Three networks of one AS (one record: reported once, IPv4 aliases
	 * in the IPv6 tree included), one AS without a name (left out). */
	if (mmdb_gen(mm, "GeoLite2-ASN",
		     "my $g = {autonomous_system_number => 15169, "
		     "autonomous_system_organization => 'Google LLC'};\n"
		     "net('192.0.2.0/25', $g); net('198.51.100.0/24', $g);\n"
		     "net('2001:db8:1::/48', $g);\n"
		     "net('203.0.113.0/24', {autonomous_system_number => 64500, "
		     "autonomous_system_organization => 'Ex\\'ample, Inc.'});\n"
		     "net('2001:db8:2::/48', {autonomous_system_number => 64501});\n") < 0)
		SKIP("libmaxmind-db-writer-perl not usable");
	CHECK_EQ(enrich_mmdb_asn_names(mm, as_collect, &s, &err), 0);
	CHECK_EQ(s.n, 2);
	CHECK_STR(as_name(&s, 15169), "Google LLC");
	CHECK_STR(as_name(&s, 64500), "Ex'ample, Inc.");
	CHECK(as_name(&s, 64501) == NULL);

	/* IPinfo: "AS" numbers; as_name (Lite) or name (ASN database). */
	REQUIRE(mmdb_gen(ii, "ipinfo lite.mmdb",
			 "net('192.0.2.0/24', {asn => 'AS2497', as_name => 'Internet Initiative "
			 "Japan'});\n"
			 "net('198.51.100.0/24', {asn => 'AS64510', name => 'Other'});\n"
			 "net('203.0.113.0/24', {asn => 'ASx', as_name => 'bad number'});\n") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(enrich_mmdb_asn_names(ii, as_collect, &s, &err), 0);
	CHECK_EQ(s.n, 2);
	CHECK_STR(as_name(&s, 2497), "Internet Initiative Japan");
	CHECK_STR(as_name(&s, 64510), "Other");

	/* A database without AS numbers gives none; the callback's error ends
	 * the walk and is returned; a missing file is an error. */
	REQUIRE(mmdb_gen(city, "GeoLite2-City",
			 "net('192.0.2.0/24', {country => {iso_code => 'US'}});\n") == 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(enrich_mmdb_asn_names(city, as_collect, &s, &err), 0);
	CHECK_EQ(s.n, 0);
	memset(&s, 0, sizeof(s));
	s.calls_before_failure = 1;
	CHECK_EQ(enrich_mmdb_asn_names(mm, as_collect, &s, &err), -ENOMEM);
	CHECK(strstr(err.text, "AS names") != NULL);
	CHECK_EQ(enrich_mmdb_asn_names("/nonexistent/a.mmdb", as_collect, &s, &err), -ENOENT);
	unlink(mm);
	unlink(ii);
	unlink(city);
	rmdir(dir);
}
