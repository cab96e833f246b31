/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Test helper: writes a small .mmdb with libmaxmind-db-writer-perl.
 * `inserts` is Perl code calling net(PREFIX, {DATA}) once per network. The
 * file is written next to `path` then renamed over it (as a database update
 * would be). Returns 0, or -1 when Perl or the module failed. */
#ifndef WEIR_TEST_MMDB_GEN_H
#define WEIR_TEST_MMDB_GEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int mmdb_gen(const char *path, const char *database_type, const char *inserts)
{
	char script[512], tmp[512], cmd[1200];
	FILE *f;

	snprintf(script, sizeof(script), "%s.pl", path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(script, "w");
	if (!f)
		return -1;
	fprintf(
	    f,
	    "use strict; use warnings;\n"
	    "use MaxMind::DB::Writer::Tree;\n"
	    "my %%types = (country => 'map', iso_code => 'utf8_string', city => 'map',\n"
	    "  names => 'map', en => 'utf8_string', fr => 'utf8_string',\n"
	    "  subdivisions => ['array', 'map'], autonomous_system_number => 'uint32',\n"
	    "  autonomous_system_organization => 'utf8_string', region => 'utf8_string',\n"
	    "  asn => 'utf8_string', as_name => 'utf8_string', name => 'utf8_string');\n"
	    "my $ipinfo = '%s' =~ /^ipinfo /;\n"
	    "if ($ipinfo) { $types{country} = 'utf8_string'; $types{city} = 'utf8_string'; }\n"
	    "my $tree = MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 24,\n"
	    "  database_type => '%s', languages => ['en'], description => {en => 'weir test'},\n"
	    "  map_key_type_callback => sub { $types{$_[0]} }, alias_ipv6_to_ipv4 => 1,\n"
	    "  remove_reserved_networks => 0);\n"
	    "sub net { $tree->insert_network($_[0], $_[1]); }\n"
	    "%s\n"
	    "open my $fh, '>:raw', '%s' or die; $tree->write_tree($fh); close $fh or die;\n",
	    database_type, database_type, inserts, tmp);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "perl '%s' && mv '%s' '%s'", script, tmp, path);
	int r = system(cmd);
	remove(script);
	return r == 0 ? 0 : -1;
}

#endif
