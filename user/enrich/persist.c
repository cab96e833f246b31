// SPDX-License-Identifier: AGPL-3.0-or-later
/* The metadata cache file: what providers and flows said per (exporter,
 * ifIndex), so that a restart does not poll every exporter again. Text, one
 * entry per line, tab-separated, written to a temporary file then renamed:
 *   M exporter ifindex age_s exp.name group role site region tenant
 *     if.name description connectivity provider speed boundary
 *   L exporter ifindex name description speed     (learnt from flows) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/addr.h"
#include "refresher.h"

#define MAGIC "weir-enrich-cache 1"

static void put_str(FILE *f, const struct strtab *s, uint32_t id)
{
	const char *p = strtab_get(s, id, NULL);
	fputc('\t', f);
	for (; *p; p++) {
		if (*p == '\t')
			fputs("\\t", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\\')
			fputs("\\\\", f);
		else
			fputc(*p, f);
	}
}

int persist_save(struct refresher *r, const char *path, struct error *err)
{
	struct enrich *e = r->e;
	char tmp[4096], ip[ADDR_TEXT_MAX];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return error_set(err, -errno, "enrich: %s: %s", tmp, strerror(errno));
	fprintf(f, "%s\n", MAGIC);
	for (size_t i = 0; i < r->nbuckets; i++) {
		for (const struct md_entry *m = r->buckets[i]; m; m = m->next) {
			addr_to_text(&m->exporter, ip, sizeof(ip));
			if (m->resolved && !m->pending) {
				const struct md_info *in = &m->info;
				fprintf(f, "M\t%s\t%u\t%llu", ip, m->ifindex,
					(unsigned long long)((r->now_ms - m->fetched_ms) / 1000));
				put_str(f, e->strs, in->exp.name);
				put_str(f, e->strs, in->exp.group);
				put_str(f, e->strs, in->exp.role);
				put_str(f, e->strs, in->exp.site);
				put_str(f, e->strs, in->exp.region);
				put_str(f, e->strs, in->exp.tenant);
				put_str(f, e->strs, in->ifc.name);
				put_str(f, e->strs, in->ifc.description);
				put_str(f, e->strs, in->ifc.connectivity);
				put_str(f, e->strs, in->ifc.provider);
				fprintf(f, "\t%u\t%u\n", in->ifc.speed, in->ifc.boundary);
			}
			if (m->has_learned) {
				fprintf(f, "L\t%s\t%u", ip, m->ifindex);
				put_str(f, e->strs, m->learned.ifc.name);
				put_str(f, e->strs, m->learned.ifc.description);
				fprintf(f, "\t%u\n", m->learned.ifc.speed);
			}
		}
	}
	if (fflush(f) != 0 || ferror(f)) {
		int r2 = -errno;
		fclose(f);
		remove(tmp);
		return error_set(err, r2 ? r2 : -EIO, "enrich: cannot write %s", tmp);
	}
	fclose(f);
	if (rename(tmp, path) < 0) {
		int r2 = -errno;
		remove(tmp);
		return error_set(err, r2, "enrich: cannot rename %s to %s: %s", tmp, path,
				 strerror(-r2));
	}
	return 0;
}

/* Splits `line` in place at tabs, unescaping; returns the field count. */
static size_t split(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *o = line;

	fields[n++] = o;
	for (char *p = line; *p && n <= max; p++) {
		if (*p == '\t') {
			*o++ = '\0';
			if (n == max)
				return n + 1;
			fields[n++] = o;
		} else if (*p == '\\' && p[1]) {
			p++;
			*o++ = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p;
		} else if (*p != '\n') {
			*o++ = *p;
		}
	}
	*o = '\0';
	return n;
}

int persist_load(struct refresher *r, const char *path, struct error *err)
{
	struct enrich *e = r->e;
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 1;
	int ret = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		if (errno == ENOENT)
			return 0; /* first start */
		return error_set(err, -errno, "enrich: %s: %s", path, strerror(errno));
	}
	if (getline(&line, &cap, f) < 0 || strncmp(line, MAGIC, strlen(MAGIC))) {
		ret = error_set(err, -EINVAL, "enrich: %s: not a weir metadata cache", path);
		goto out;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *fl[20];
		struct in6_addr a;
		size_t n = split(line, fl, 20);
		lineno++;
		if (n < 3 || addr_from_text(&a, fl[1]) < 0)
			goto bad;
		uint32_t ifindex = (uint32_t)strtoul(fl[2], NULL, 10);
		struct md_entry *m = refresher_get(r, &a, ifindex);
		if (!m) {
			ret = error_set(err, -ENOMEM, "enrich: out of memory");
			goto out;
		}
		if (fl[0][0] == 'M' && n == 16) {
			struct md_info *in = &m->info;
			uint64_t age = strtoull(fl[3], NULL, 10) * 1000;
			in->exp.name = strtab_intern_cstr(e->strs, fl[4]);
			in->exp.group = strtab_intern_cstr(e->strs, fl[5]);
			in->exp.role = strtab_intern_cstr(e->strs, fl[6]);
			in->exp.site = strtab_intern_cstr(e->strs, fl[7]);
			in->exp.region = strtab_intern_cstr(e->strs, fl[8]);
			in->exp.tenant = strtab_intern_cstr(e->strs, fl[9]);
			in->ifc.name = strtab_intern_cstr(e->strs, fl[10]);
			in->ifc.description = strtab_intern_cstr(e->strs, fl[11]);
			in->ifc.connectivity = strtab_intern_cstr(e->strs, fl[12]);
			in->ifc.provider = strtab_intern_cstr(e->strs, fl[13]);
			in->ifc.speed = (uint32_t)strtoul(fl[14], NULL, 10);
			in->ifc.boundary = (uint8_t)strtoul(fl[15], NULL, 10);
			m->resolved = 1;
			m->fetched_ms = r->now_ms > age ? r->now_ms - age : 0;
			if (!m->fetched_ms)
				m->fetched_ms = 1;
			/* Stands for the SNMP answer until the entry is refreshed. */
			m->snmp = *in;
			m->snmp_state = SNMP_OK;
			m->snmp_at_ms = m->fetched_ms;
		} else if (fl[0][0] == 'L' && n == 6) {
			m->learned.ifc.name = strtab_intern_cstr(e->strs, fl[3]);
			m->learned.ifc.description = strtab_intern_cstr(e->strs, fl[4]);
			m->learned.ifc.speed = (uint32_t)strtoul(fl[5], NULL, 10);
			m->has_learned = 1;
		} else {
			goto bad;
		}
		continue;
	bad:
		ret = error_set(err, -EINVAL, "enrich: %s:%u: malformed entry", path, lineno);
		goto out;
	}
out:
	free(line);
	fclose(f);
	return ret;
}
