// SPDX-License-Identifier: AGPL-3.0-or-later
/* AS names (number -> organisation) read out of an ASN .mmdb, for the
 * orchestrator's asns table: an operator who configured GeoLite2-ASN or
 * IPinfo's ASN database gets AS names in the console without a CSV. */
#include <errno.h>
#include <maxminddb.h>
#include <stdlib.h>
#include <string.h>

#include "enrich.h"
#include "netmap.h"

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The data records the search tree points to, each once: networks of one
 * AS share a record (the writer deduplicates the data section), so there
 * are far fewer records than networks. Walking the nodes in order rather
 * than the tree needs no address bookkeeping, and the IPv4 aliases of an
 * IPv6 tree (nodes reached twice) cost nothing more. */
static int data_offsets(MMDB_s *db, uint32_t **out, size_t *count)
{
	uint32_t nodes = db->metadata.node_count, *v = NULL;
	size_t n = 0, cap = 0;

	for (uint32_t i = 0; i < nodes; i++) {
		MMDB_search_node_s sn;

		if (MMDB_read_node(db, i, &sn) != MMDB_SUCCESS) {
			free(v);
			return -EIO;
		}
		for (int side = 0; side < 2; side++) {
			if ((side ? sn.right_record_type : sn.left_record_type) !=
			    MMDB_RECORD_TYPE_DATA)
				continue;
			if (n == cap) {
				size_t c = cap ? cap * 2 : 1024;
				uint32_t *w = realloc(v, c * sizeof(*w));
				if (!w) {
					free(v);
					return -ENOMEM;
				}
				v = w;
				cap = c;
			}
			v[n++] = side ? sn.right_record_entry.offset : sn.left_record_entry.offset;
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_u32);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (!u || v[u - 1] != v[i])
			v[u++] = v[i];
	*out = v;
	*count = u;
	return 0;
}

static int get(MMDB_entry_s *e, MMDB_entry_data_s *d, const char *const *path)
{
	return MMDB_aget_value(e, d, path) == MMDB_SUCCESS && d->has_data;
}

/* The AS number and name of one record, MaxMind's layout or IPinfo's
 * ("asn": "AS15169", "as_name" in IPinfo Lite, "name" in its ASN
 * database). 1 when both are there. */
static int record_as(MMDB_entry_s *e, int ipinfo, uint32_t *asn, const char **name, size_t *len)
{
	static const char *const mm_asn[] = {"autonomous_system_number", NULL};
	static const char *const mm_org[] = {"autonomous_system_organization", NULL};
	static const char *const ii_asn[] = {"asn", NULL};
	static const char *const ii_org[] = {"as_name", NULL};
	static const char *const ii_org2[] = {"name", NULL};
	MMDB_entry_data_s d;

	*asn = 0;
	if (!ipinfo) {
		if (!get(e, &d, mm_asn))
			return 0;
		if (d.type == MMDB_DATA_TYPE_UINT32)
			*asn = d.uint32;
		else if (d.type == MMDB_DATA_TYPE_UINT16)
			*asn = d.uint16;
	} else if (get(e, &d, ii_asn) && d.type == MMDB_DATA_TYPE_UTF8_STRING) {
		*asn = geoip_ipinfo_asn(d.utf8_string, d.data_size);
	}
	if (!*asn)
		return 0;
	if (!(get(e, &d, ipinfo ? ii_org : mm_org) || (ipinfo && get(e, &d, ii_org2))) ||
	    d.type != MMDB_DATA_TYPE_UTF8_STRING || !d.data_size)
		return 0;
	*name = d.utf8_string;
	*len = d.data_size;
	return 1;
}

int enrich_mmdb_asn_names(const char *path, enrich_asn_name_fn each, void *ctx, struct error *err)
{
	MMDB_s db;
	uint32_t *off = NULL;
	size_t n = 0;
	int r, status = MMDB_open(path, MMDB_MODE_MMAP, &db);

	if (status != MMDB_SUCCESS)
		return error_set(err, status == MMDB_FILE_OPEN_ERROR ? -ENOENT : -EINVAL,
				 "geoip: %s: %s", path, MMDB_strerror(status));
	int ipinfo = db.metadata.database_type && !strncmp(db.metadata.database_type, "ipinfo ", 7);
	r = data_offsets(&db, &off, &n);
	if (r < 0) {
		error_set(err, r, "geoip: %s: %s", path,
			  r == -ENOMEM ? "out of memory" : "corrupt search tree");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		MMDB_entry_s e = {.mmdb = &db, .offset = off[i]};
		const char *name;
		size_t len;
		uint32_t asn;

		if (!record_as(&e, ipinfo, &asn, &name, &len))
			continue;
		r = each(ctx, asn, name, len);
		if (r < 0) {
			error_set(err, r, "geoip: %s: AS names: %s", path, strerror(-r));
			goto out;
		}
	}
out:
	free(off);
	MMDB_close(&db);
	return r < 0 ? r : 0;
}
