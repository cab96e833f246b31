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
