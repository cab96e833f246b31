// SPDX-License-Identifier: AGPL-3.0-or-later
/* The .mmdb reader (libmaxminddb): walks a whole database's search tree and
 * adds every network to the networks + GeoIP merge. Layouts: MaxMind GeoLite2
 * Country/City (country.iso_code, subdivisions[0].iso_code, city.names.en) and
 * ASN (autonomous_system_number); IPinfo (database_type "ipinfo ...": country,
 * region, city, asn "AS123"), as Akvorado reads them. */
#include <errno.h>
#include <maxminddb.h>
#include <stdlib.h>
#include <string.h>

#include "netmap.h"

struct walk {
	MMDB_s *db;
	struct netmap_builder *b;
	struct strtab *strs;
	int asn;
	int ipinfo;
	uint32_t ipv4_start; /* node reached by ::/96, its aliases are skipped */
	/* Many networks share a data record: decoded once. */
	struct memo {
		uint32_t offset_plus1;
		struct net_value v;
	} * memo;
	uint32_t memo_mask, memo_count;
	int oom;
};

uint32_t geoip_ipinfo_asn(const char *text, size_t len)
{
	char buf[16], *end;

	if (len < 1 || len >= sizeof(buf))
		return 0;
	memcpy(buf, text, len);
	buf[len] = '\0';
	const char *digits = buf + (len > 2 && buf[0] == 'A' && buf[1] == 'S' ? 2 : 0);
	if (*digits < '0' || *digits > '9')
		return 0;
	unsigned long v = strtoul(digits, &end, 10);
	return *end || v > UINT32_MAX ? 0 : (uint32_t)v;
}

static uint32_t intern_entry(struct walk *w, const MMDB_entry_data_s *d)
{
	if (d->type != MMDB_DATA_TYPE_UTF8_STRING || !d->data_size)
		return 0;
	return strtab_intern(w->strs, d->utf8_string, d->data_size);
}

static int get(MMDB_entry_s *e, MMDB_entry_data_s *d, const char *const *path)
{
	return MMDB_aget_value(e, d, path) == MMDB_SUCCESS && d->has_data;
}

static void decode(struct walk *w, MMDB_entry_s *e, struct net_value *v)
{
	MMDB_entry_data_s d;

	memset(v, 0, sizeof(*v));
	if (w->asn) {
		if (w->ipinfo) {
			static const char *const p[] = {"asn", NULL};
			if (get(e, &d, p) && d.type == MMDB_DATA_TYPE_UTF8_STRING)
				v->asn = geoip_ipinfo_asn(d.utf8_string, d.data_size);
		} else {
			static const char *const p[] = {"autonomous_system_number", NULL};
			if (get(e, &d, p) && d.type == MMDB_DATA_TYPE_UINT32)
				v->asn = d.uint32;
			else if (get(e, &d, p) && d.type == MMDB_DATA_TYPE_UINT16)
				v->asn = d.uint16;
		}
		return;
	}
	static const char *const mm_country[] = {"country", "iso_code", NULL};
	static const char *const mm_state[] = {"subdivisions", "0", "iso_code", NULL};
	static const char *const mm_city[] = {"city", "names", "en", NULL};
	static const char *const ii_country[] = {"country", NULL};
	static const char *const ii_state[] = {"region", NULL};
	static const char *const ii_city[] = {"city", NULL};
	if (get(e, &d, w->ipinfo ? ii_country : mm_country) &&
	    d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size >= 1) {
		v->attrs.country[0] = d.utf8_string[0];
		v->attrs.country[1] = d.data_size > 1 ? d.utf8_string[1] : 0;
	}
	if (get(e, &d, w->ipinfo ? ii_state : mm_state))
		v->attrs.state = intern_entry(w, &d);
	if (get(e, &d, w->ipinfo ? ii_city : mm_city))
		v->attrs.city = intern_entry(w, &d);
}

static const struct net_value *memo_get(struct walk *w, MMDB_entry_s *e)
{
	if (w->memo_count * 2 >= w->memo_mask) {
		uint32_t mask = w->memo_mask ? w->memo_mask * 2 + 1 : 4095;
		struct memo *m = calloc((size_t)mask + 1, sizeof(*m));
		if (!m) {
			w->oom = 1;
			return NULL;
		}
		for (uint32_t i = 0; w->memo && i <= w->memo_mask; i++) {
			if (!w->memo[i].offset_plus1)
				continue;
			uint32_t j = (w->memo[i].offset_plus1 * 2654435761u) & mask;
			while (m[j].offset_plus1)
				j = (j + 1) & mask;
			m[j] = w->memo[i];
		}
		free(w->memo);
		w->memo = m;
		w->memo_mask = mask;
	}
	uint32_t key = e->offset + 1;
	uint32_t j = (key * 2654435761u) & w->memo_mask;
	for (; w->memo[j].offset_plus1; j = (j + 1) & w->memo_mask)
		if (w->memo[j].offset_plus1 == key)
			return &w->memo[j].v;
	w->memo[j].offset_plus1 = key;
	decode(w, e, &w->memo[j].v);
	w->memo_count++;
	return &w->memo[j].v;
}

static void key_to_addr(uint64_t hi, uint64_t lo, struct in6_addr *a)
{
	for (int i = 0; i < 8; i++) {
		a->s6_addr[i] = (uint8_t)(hi >> (56 - 8 * i));
		a->s6_addr[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
	}
}

static void set_bit(uint64_t *hi, uint64_t *lo, unsigned pos)
{
	if (pos < 64)
		*hi |= 1ULL << (63 - pos);
	else
		*lo |= 1ULL << (127 - pos);
}

static int walk_tree(struct walk *w, uint32_t root, unsigned root_depth, uint64_t root_hi,
		     uint64_t root_lo)
{
	struct item {
		uint32_t node;
		uint8_t depth;
		uint64_t hi, lo;
	} stack[260];
	size_t sp = 0;
	uint32_t node_count = w->db->metadata.node_count;

	stack[sp++] = (struct item){root, (uint8_t)root_depth, root_hi, root_lo};
	while (sp && !w->oom) {
		struct item it = stack[--sp];
		MMDB_search_node_s sn;

		if (it.node == w->ipv4_start && w->db->metadata.ip_version == 6) {
			if (it.depth == 96 && it.hi == 0 && it.lo == 0)
				it.lo =
				    0x0000ffff00000000ULL; /* ::/96 is stored for ::ffff:0:0/96 */
			else
				continue; /* an alias (::ffff:0:0/96, 2002::/16...) */
		}
		if (MMDB_read_node(w->db, it.node, &sn) != MMDB_SUCCESS)
			return -EIO;
		for (int side = 1; side >= 0; side--) {
			uint64_t hi = it.hi, lo = it.lo;
			uint32_t rec = side ? sn.right_record : sn.left_record;
			uint8_t type = side ? sn.right_record_type : sn.left_record_type;
			MMDB_entry_s entry = side ? sn.right_record_entry : sn.left_record_entry;
			if (side)
				set_bit(&hi, &lo, it.depth);
			if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
				if (it.depth + 1 >= 128 || sp >= sizeof(stack) / sizeof(stack[0]))
					return -EIO;
				stack[sp++] = (struct item){rec, (uint8_t)(it.depth + 1), hi, lo};
			} else if (type == MMDB_RECORD_TYPE_DATA) {
				const struct net_value *v = memo_get(w, &entry);
				if (!v)
					return -ENOMEM;
				if (!v->asn && !v->attrs.country[0] && !v->attrs.state &&
				    !v->attrs.city)
					continue;
				struct in6_addr a;
				key_to_addr(hi, lo, &a);
				if (netmap_builder_add(w->b, &a, it.depth + 1u, v) < 0)
					return -ENOMEM;
			}
			(void)node_count;
		}
	}
	return w->oom ? -ENOMEM : 0;
}

int netmap_add_mmdb(struct netmap_builder *b, struct strtab *strs, const char *path, int asn,
		    struct error *err)
{
	MMDB_s db;
	struct walk w = {.db = &db, .b = b, .strs = strs, .asn = asn, .ipv4_start = UINT32_MAX};
	int r, status = MMDB_open(path, MMDB_MODE_MMAP, &db);

	if (status != MMDB_SUCCESS)
		return error_set(err, status == MMDB_FILE_OPEN_ERROR ? -ENOENT : -EINVAL,
				 "geoip: %s: %s", path, MMDB_strerror(status));
	w.ipinfo = db.metadata.database_type && !strncmp(db.metadata.database_type, "ipinfo ", 7);
	if (db.metadata.ip_version == 6) {
		/* Follow ::/96: the IPv4 subtree, which aliases point to as well. */
		uint32_t n = 0;
		for (int d = 0; d < 96; d++) {
			MMDB_search_node_s sn;
			if (MMDB_read_node(&db, n, &sn) != MMDB_SUCCESS ||
			    sn.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE) {
				n = UINT32_MAX;
				break;
			}
			n = (uint32_t)sn.left_record;
		}
		w.ipv4_start = n;
		r = walk_tree(&w, 0, 0, 0, 0);
	} else {
		r = walk_tree(&w, 0, 96, 0, 0x0000ffff00000000ULL);
	}
	free(w.memo);
	MMDB_close(&db);
	if (r < 0)
		return error_set(err, r, "geoip: %s: %s", path,
				 r == -ENOMEM ? "out of memory" : "corrupt search tree");
	return 0;
}
