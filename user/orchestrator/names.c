// SPDX-License-Identifier: AGPL-3.0-or-later
/* Names in ClickHouse: the asns, protocols and ports tables (schema step 9)
 * filled from the CSV files shipped in config/names/ (built into weir), the
 * AS names of the ASN .mmdb files (geoip.asn-database) and the operator's
 * AS list (clickhouse.asns), at each migration run when their content
 * changed (names_state keeps its checksum). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/log.h"
#include "enrich/enrich.h"
#include "orchestrator.h"

/* The shipped files, in the binary: weir needs nothing installed beside it
 * (the Makefile rebuilds this object when one of them changes). */
__asm__(".section .rodata\n"
	"names_asns_csv:\n.incbin \"config/names/asns.csv\"\n.byte 0\n"
	"names_protocols_csv:\n.incbin \"config/names/protocols.csv\"\n.byte 0\n"
	"names_ports_csv:\n.incbin \"config/names/ports.csv\"\n.byte 0\n"
	".previous\n");
extern const char names_asns_csv[] __asm__("names_asns_csv");
extern const char names_protocols_csv[] __asm__("names_protocols_csv");
extern const char names_ports_csv[] __asm__("names_ports_csv");

/* Bad lines logged one by one up to this many per file, then counted. */
#define BAD_LINES_LOGGED 10
/* Rows per INSERT: a full AS list (~100k) goes in a few statements. */
#define ROWS_PER_INSERT 5000

struct name_row {
	uint32_t key; /* ASN; proto; proto << 16 | port */
	uint32_t seq; /* order read: the last one of a key wins */
	char *name;
	char *descr; /* protocols only */
};

struct rows {
	struct name_row *v;
	size_t n, cap;
};

static void rows_free(struct rows *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].descr);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static int rows_add_n(struct rows *r, uint32_t key, const char *name, size_t name_len,
		      const char *descr)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		struct name_row *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	struct name_row *x = &r->v[r->n];

	x->key = key;
	x->seq = (uint32_t)r->n;
	x->name = strndup(name, name_len);
	x->descr = descr ? strdup(descr) : NULL;
	if (!x->name || (descr && !x->descr)) {
		free(x->name);
		free(x->descr);
		return -ENOMEM;
	}
	r->n++;
	return 0;
}

static int rows_add(struct rows *r, uint32_t key, const char *name, const char *descr)
{
	return rows_add_n(r, key, name, strlen(name), descr);
}

static int cmp_rows(const void *pa, const void *pb)
{
	const struct name_row *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sorted by key, one row per key: the last one read (the operator's file
 * comes after the shipped one, so it overrides). */
static void rows_unique(struct rows *r)
{
	size_t out = 0;

	qsort(r->v, r->n, sizeof(*r->v), cmp_rows);
	for (size_t i = 0; i < r->n; i++) {
		if (i + 1 < r->n && r->v[i + 1].key == r->v[i].key) {
			free(r->v[i].name);
			free(r->v[i].descr);
			continue;
		}
		r->v[out++] = r->v[i];
	}
	r->n = out;
}

/* ---- CSV ---- */

/* Splits one line (NUL-terminated, modified in place) into at most `max`
 * fields: comma-separated, a field in double quotes may hold commas and ""
 * for a quote; spaces around fields are trimmed. Returns the number of
 * fields, or -1 on an unterminated quote. */
static int csv_split(char *s, char **f, int max)
{
	int n = 0;

	for (;;) {
		char *w;

		while (*s == ' ' || *s == '\t')
			s++;
		if (n == max)
			return max + 1;
		f[n++] = w = s;
		if (*s == '"') {
			for (s++;; s++) {
				if (!*s)
					return -1;
				if (*s == '"' && s[1] == '"')
					s++;
				else if (*s == '"')
					break;
				*w++ = *s;
			}
			s++;
			while (*s == ' ' || *s == '\t')
				s++;
			if (*s && *s != ',')
				return -1;
		} else {
			while (*s && *s != ',')
				*w++ = *s++;
			while (w > f[n - 1] && (w[-1] == ' ' || w[-1] == '\t'))
				w--;
		}
		if (!*s) {
			*w = '\0';
			return n;
		}
		s++;
		*w = '\0';
	}
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

enum names_kind { NAMES_ASNS, NAMES_PROTOCOLS, NAMES_PORTS };

/* One data line of `kind` into `r`. Returns 0, -ENOMEM, or 1 with `why`
 * set when the line is malformed. */
static int parse_line(enum names_kind kind, char *line, struct rows *r, const char **why)
{
	char *f[4];
	int n = csv_split(line, f, 3);
	uint32_t a, b;

	if (n < 0) {
		*why = "unterminated double quote";
		return 1;
	}
	switch (kind) {
	case NAMES_ASNS: {
		const char *num = f[0];

		if (n != 2) {
			*why = "expected 2 fields: asn,name";
			return 1;
		}
		if (!strncasecmp(num, "AS", 2))
			num += 2;
		if (parse_u32(num, UINT32_MAX, &a) < 0) {
			*why = "asn: not a number from 0 to 4294967295";
			return 1;
		}
		if (!f[1][0]) {
			*why = "name: empty";
			return 1;
		}
		/* AS 0 is no AS (RFC 7607; ip2asn's "Not routed"): the console
		 * shows no name for it. */
		return a ? rows_add(r, a, f[1], NULL) : 0;
	}
	case NAMES_PROTOCOLS:
		if (n != 3) {
			*why = "expected 3 fields: proto,name,description";
			return 1;
		}
		if (parse_u32(f[0], 255, &a) < 0 || !f[1][0]) {
			*why = "proto: not a number from 0 to 255, or an empty name";
			return 1;
		}
		return rows_add(r, a, f[1], f[2]);
	case NAMES_PORTS:
		if (n != 3) {
			*why = "expected 3 fields: proto,port,name";
			return 1;
		}
		if (!strcasecmp(f[0], "tcp"))
			a = 6;
		else if (!strcasecmp(f[0], "udp"))
			a = 17;
		else if (!strcasecmp(f[0], "sctp"))
			a = 132;
		else if (parse_u32(f[0], 255, &a) < 0) {
			*why = "proto: tcp, udp, sctp or a number from 0 to 255";
			return 1;
		}
		if (parse_u32(f[1], 65535, &b) < 0 || !f[2][0]) {
			*why = "port: not a number from 0 to 65535, or an empty name";
			return 1;
		}
		return rows_add(r, a << 16 | b, f[2], NULL);
	}
	return 1;
}

/* Reads `text` (a whole file, `origin` its name for the log) into `r`:
 * empty lines and lines starting with # are skipped, and a first data line
 * that does not start with a number is a header. Malformed lines are
 * logged (file:line: why) and counted in *bad; never fatal. Returns 0 or
 * -ENOMEM. */
static int parse_text(enum names_kind kind, const char *origin, const char *text, struct rows *r,
		      size_t *bad)
{
	const char *p = text;
	unsigned lineno = 0;
	size_t file_bad = 0;
	int first = 1;
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;

	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		const char *why = NULL;

		lineno++;
		if (len + 1 > cap) {
			char *l = realloc(line, len + 1);
			if (!l) {
				ret = -ENOMEM;
				goto out;
			}
			line = l;
			cap = len + 1;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (e ? 1 : 0);
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		size_t sp = strspn(line, " \t");
		if (!line[sp] || line[sp] == '#')
			continue;
		const char *d = line + sp + (strncasecmp(line + sp, "AS", 2) ? 0 : 2);
		if (first && !(*d >= '0' && *d <= '9')) {
			first = 0; /* a header */
			continue;
		}
		first = 0;
		ret = parse_line(kind, line, r, &why);
		if (ret < 0)
			goto out;
		if (ret > 0) {
			ret = 0;
			if (++file_bad <= BAD_LINES_LOGGED)
				log_warn("names: line skipped", "at=%s:%u reason=\"%s\"", origin,
					 lineno, why);
		}
	}
	if (file_bad > BAD_LINES_LOGGED)
		log_warn("names: more lines skipped", "file=%s skipped=%zu logged=%d", origin,
			 file_bad, BAD_LINES_LOGGED);
out:
	*bad += file_bad;
	free(line);
	return ret;
}

/* The operator's file, whole, NUL-terminated (caller frees), or NULL with
 * the reason logged. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (!f) {
		log_error("names: cannot open AS names file", "path=%s error=\"%s\"", path,
			  strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)size + 1)) != NULL) {
		if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
			free(buf);
			buf = NULL;
		} else {
			buf[size] = '\0';
		}
	}
	if (!buf)
		log_error("names: cannot read AS names file", "path=%s", path);
	fclose(f);
	return buf;
}

/* ---- SQL ---- */

/* Appends `s` as a quoted ClickHouse string literal. */
static int put_str(struct buf *b, const char *s)
{
	buf_append(b, "'", 1);
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			buf_append(b, "\\", 1);
		buf_append(b, s, 1);
	}
	return buf_append(b, "'", 1);
}

static int query(struct store_client *c, const char *sql)
{
	int r = store_client_query(c, sql, NULL);

	if (r < 0)
		log_error("names: statement failed", "error=\"%s\" sql=\"%.200s\"",
			  store_client_error(c), sql);
	return r;
}

/* The DDL of each table, for step 9 and for the copy the loader fills. */
int orch_names_create(struct store_client *c, const char *table, const char *suffix)
{
	char sql[512];

	if (!strcmp(table, "asns"))
		/* A Join table: joinGet('asns', 'Name', SrcAS) reads it like a
		 * dictionary on every server (18.16 has no CREATE DICTIONARY),
		 * from memory; the key is the column's type, UInt32. */
		snprintf(sql, sizeof(sql),
			 "CREATE TABLE IF NOT EXISTS asns%s (ASN UInt32, Name String) "
			 "ENGINE = Join(ANY, LEFT, ASN)",
			 suffix);
	else if (!strcmp(table, "protocols"))
		snprintf(sql, sizeof(sql),
			 "CREATE TABLE IF NOT EXISTS protocols%s (Proto UInt8, Name String, "
			 "Description String) ENGINE = MergeTree ORDER BY Proto",
			 suffix);
	else
		/* A Join table too: the console names a port with its flow's
		 * protocol by joinGet('ports', 'Name', Proto * 65536 + Port)
		 * (18.16's joinGet takes one key). */
		snprintf(sql, sizeof(sql),
			 "CREATE TABLE IF NOT EXISTS ports%s (Proto UInt8, Port UInt16, Name "
			 "String, Key UInt32) ENGINE = Join(ANY, LEFT, Key)",
			 suffix);
	return query(c, sql);
}

/* `table`_load, filled, takes the place of `table`: readers see the old
 * rows or the new ones, never half, and never no table. */
static int swap_in(struct store_client *c, const char *table)
{
	char sql[256], load[64], old[64];
	int ret;

	snprintf(load, sizeof(load), "%s_load", table);
	snprintf(old, sizeof(old), "%s_old", table);
	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", old);
	ret = query(c, sql);
	if (ret == 0)
		ret = orch_table_swap_in(c, table, load, old, NULL);
	if (ret == 0)
		ret = query(c, sql);
	return ret;
}

/* Fills `table` with `r` whole: into a fresh table_load, then swapped in. */
static int fill(struct store_client *c, const char *table, enum names_kind kind,
		const struct rows *r)
{
	struct buf b = {0};
	char sql[256];
	int ret;

	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s_load", table);
	ret = query(c, sql);
	if (ret == 0)
		ret = orch_names_create(c, table, "_load");
	for (size_t i = 0; ret == 0 && i < r->n;) {
		b.len = 0;
		buf_printf(&b, "INSERT INTO %s_load VALUES ", table);
		for (size_t k = 0; k < ROWS_PER_INSERT && i < r->n; k++, i++) {
			const struct name_row *x = &r->v[i];

			if (kind == NAMES_PORTS)
				buf_printf(&b, "%s(%u, %u, ", k ? "," : "", x->key >> 16,
					   x->key & 0xffff);
			else
				buf_printf(&b, "%s(%u, ", k ? "," : "", x->key);
			put_str(&b, x->name);
			if (kind == NAMES_PROTOCOLS) {
				buf_append(&b, ", ", 2);
				put_str(&b, x->descr);
			}
			if (kind == NAMES_PORTS)
				buf_printf(&b, ", %u", x->key);
			buf_append(&b, ")", 1);
		}
		ret = b.nomem ? -ENOMEM : query(c, b.data);
	}
	if (ret == 0)
		ret = orch_names_create(c, table, ""); /* absent when step 9 was not run */
	if (ret == 0)
		ret = swap_in(c, table);
	buf_free(&b);
	return ret;
}

/* ---- Unchanged names are not written again ----
 * The checksum of everything the tables are made of (their layout, the
 * shipped files, the operator's file) is kept in names_state; a load that
 * finds the same one and the three tables leaves them alone, so a start
 * does not rewrite some 100k AS names. */

/* Bump when the tables' layout or the way rows are derived changes: the
 * next start rebuilds them. */
#define NAMES_LAYOUT "names 2: ports Join(Key = Proto * 65536 + Port)"

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
	return h;
}

/* FNV-1a over the pieces, each followed by a NUL (so that moving bytes
 * from one piece to the next changes the sum). `op` may be NULL (no
 * operator's file, or an unreadable one). */
static uint64_t names_checksum(const char *op, int64_t mmdb)
{
	const char *parts[] = {NAMES_LAYOUT, names_asns_csv, op ? op : "", names_protocols_csv,
			       names_ports_csv};
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		h = fnv1a(h, parts[i], strlen(parts[i]) + 1);
	return fnv1a(h, (const char *)&mmdb, sizeof(mmdb));
}

/* A number that changes when the file at `path` is replaced or rewritten. */
static int file_stamp(const char *path, int64_t *stamp)
{
	struct stat sb;

	*stamp = 0;
	if (stat(path, &sb) < 0)
		return -errno;
	/* A file replaced by another of the same time but another size too. */
	*stamp = ((int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec) ^
		 ((int64_t)sb.st_size << 1);
	return 0;
}

static size_t mmdb_count(const struct store_config *cfg)
{
	return cfg->asn_databases ? cfg->asn_databases->count : 0;
}

static const char *mmdb_path(const struct store_config *cfg, size_t i)
{
	return ((char *const *)cfg->asn_databases->items)[i];
}

/* The ASN .mmdb files' stamps and paths folded into one number (0 with
 * none): the names are rebuilt when one of them is replaced; reading a
 * whole database to checksum it would cost as much as the rebuild. A file
 * missing counts as stamp 0. */
static int64_t mmdb_stamps(const struct store_config *cfg)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	if (!mmdb_count(cfg))
		return 0;
	for (size_t i = 0; i < mmdb_count(cfg); i++) {
		int64_t st;
		file_stamp(mmdb_path(cfg, i), &st);
		h = fnv1a(h, mmdb_path(cfg, i), strlen(mmdb_path(cfg, i)) + 1);
		h = fnv1a(h, (const char *)&st, sizeof(st));
	}
	return (int64_t)h;
}

static int add_mmdb_name(void *ctx, uint32_t asn, const char *name, size_t len)
{
	return rows_add_n(ctx, asn, name, len, NULL);
}

/* The AS names of each ASN .mmdb, in the configured order (later ones
 * win, as they do for the lookups). A file that cannot be read is logged
 * and counted, never fatal: the other sources still fill the table. */
static int add_mmdb_names(const struct store_config *cfg, struct rows *asns,
			  struct orch_names_stats *s)
{
	for (size_t i = 0; i < mmdb_count(cfg); i++) {
		struct error err = {""};
		size_t before = asns->n;
		int r = enrich_mmdb_asn_names(mmdb_path(cfg, i), add_mmdb_name, asns, &err);

		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			s->file_errors++;
			log_warn("AS names: ASN database unreadable, its names left out",
				 "path=%s error=\"%s\"", mmdb_path(cfg, i), err.text);
			continue;
		}
		s->mmdb_asns += asns->n - before;
	}
	return 0;
}

/* 1 when names_state holds `sum` and the three tables are there, else 0
 * (a missing names_state, a query that fails: rebuild). */
static int names_unchanged(struct store_client *c, uint64_t sum)
{
	uint64_t have = 0, tables = 0;

	if (store_client_query_u64(c, "SELECT Checksum FROM names_state LIMIT 1", &have) < 0 ||
	    have != sum)
		return 0;
	if (store_client_query_u64(c,
				   "SELECT count() FROM system.tables WHERE database = "
				   "currentDatabase() AND name IN ('asns', 'protocols', 'ports')",
				   &tables) < 0)
		return 0;
	return tables == 3;
}

/* Records `sum` after a rebuild. A crash between the tables and this
 * leaves the old sum: the next start rebuilds again, nothing worse. */
static int names_state_write(struct store_client *c, uint64_t sum)
{
	char sql[160];
	int r = query(c, "DROP TABLE IF EXISTS names_state");

	if (r == 0)
		r = query(c, "CREATE TABLE names_state (Checksum UInt64, Loaded DateTime) "
			     "ENGINE = TinyLog");
	if (r == 0) {
		snprintf(sql, sizeof(sql), "INSERT INTO names_state VALUES (%llu, now())",
			 (unsigned long long)sum);
		r = query(c, sql);
	}
	return r;
}

int orch_names_load(struct store_client *c, const struct store_config *cfg,
		    struct orch_names_stats *st)
{
	struct rows asns = {0}, protocols = {0}, ports = {0};
	struct orch_names_stats s = {0};
	char *op = NULL;
	uint64_t sum;
	int r = 0;

	if (cfg->asns && cfg->asns[0]) {
		op = read_file(cfg->asns);
		if (!op)
			s.file_errors++;
	}
	sum = names_checksum(op, mmdb_stamps(cfg));
	if (names_unchanged(c, sum)) {
		log_info("names unchanged, tables kept", "checksum=%016llx asns_file=%s",
			 (unsigned long long)sum, cfg->asns && cfg->asns[0] ? cfg->asns : "-");
		goto out;
	}

	r = parse_text(NAMES_ASNS, "config/names/asns.csv (built in)", names_asns_csv, &asns,
		       &s.bad_lines);
	if (r == 0)
		r = add_mmdb_names(cfg, &asns, &s);
	if (r == 0 && op)
		r = parse_text(NAMES_ASNS, cfg->asns, op, &asns, &s.bad_lines);
	if (r == 0)
		r = parse_text(NAMES_PROTOCOLS, "config/names/protocols.csv (built in)",
			       names_protocols_csv, &protocols, &s.bad_lines);
	if (r == 0)
		r = parse_text(NAMES_PORTS, "config/names/ports.csv (built in)", names_ports_csv,
			       &ports, &s.bad_lines);
	if (r < 0)
		goto out;
	rows_unique(&asns);
	rows_unique(&protocols);
	rows_unique(&ports);
	r = fill(c, "asns", NAMES_ASNS, &asns);
	if (r == 0)
		r = fill(c, "protocols", NAMES_PROTOCOLS, &protocols);
	if (r == 0)
		r = fill(c, "ports", NAMES_PORTS, &ports);
	if (r == 0)
		r = names_state_write(c, sum);
	if (r < 0)
		goto out;
	s.asns = asns.n;
	s.protocols = protocols.n;
	s.ports = ports.n;
	s.rebuilt = 1;
	log_info("names rebuilt",
		 "asns=%zu asns_from_mmdb=%zu protocols=%zu ports=%zu lines_skipped=%zu "
		 "asns_file=%s checksum=%016llx",
		 s.asns, s.mmdb_asns, s.protocols, s.ports, s.bad_lines,
		 cfg->asns && cfg->asns[0] ? cfg->asns : "-", (unsigned long long)sum);
out:
	if (st)
		*st = s;
	free(op);
	rows_free(&asns);
	rows_free(&protocols);
	rows_free(&ports);
	return r;
}

int orch_names_file_stamp(const struct store_config *cfg, int64_t *stamp)
{
	int r = 0;

	*stamp = 0;
	if (cfg->asns && cfg->asns[0])
		r = file_stamp(cfg->asns, stamp);
	if (r == 0)
		*stamp ^= mmdb_stamps(cfg);
	return r;
}
