/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* What the store's files share: buffers, the schema of the tables written,
 * Native encoding, the transports to ClickHouse, sorting and consolidation.
 * Not for other stages. None of it is thread-safe: one object, one thread. */
#ifndef WEIR_STORE_INTERNAL_H
#define WEIR_STORE_INTERNAL_H

#include "../common/be.h"
#include "../common/buf.h"
#include "../common/error.h"
#include "../common/strtab.h"
#include "store.h"

/* ---- big-endian keys: common/be.h's be_uint_put/get, inline (keys that
 * memcmp() orders as ClickHouse orders the numbers; the consolidator writes
 * ~20 a flow, and a call each was ~12 % of its time); buffers are
 * common/buf.h ---- */

/* ---- the tables' schema (schema.c; the rest of it is in store.h) ---- */

/* How a column's values come from struct flow (native.c lays them out). */
enum store_enc {
	STORE_ENC_U8,
	STORE_ENC_U16,
	STORE_ENC_U32,
	STORE_ENC_U64,
	STORE_ENC_DATETIME,	   /* uint64_t unix seconds -> DateTime (UInt32) */
	STORE_ENC_FIXED16,	   /* struct in6_addr -> FixedString(16) */
	STORE_ENC_ARRAY_U32,	   /* uint32_t[count] -> Array(UInt32) */
	STORE_ENC_LARGE_COMMUNITY, /* one member of struct flow_large_community[count] */
	/* uint32_t id of store_column.strings -> String. The batch holds the ids
	 * (4 bytes a row: sorted and permuted as a UInt32, counted so against
	 * max-batch-bytes); the text is written when the block is built. */
	STORE_ENC_STRID,
	STORE_ENC_FIXED2, /* char[2] -> FixedString(2) */
};

/* One column of flows as the writer sends it. */
struct store_column {
	char name[64]; /* "SrcAddr", "DstLargeCommunities.ASN" */
	const char *type;
	enum store_enc enc;
	unsigned width;	     /* bytes per row (scalars) or per element (arrays) */
	size_t offset;	     /* in struct flow */
	size_t count_offset; /* arrays: their uint8_t count in struct flow */
	unsigned max_count;  /* arrays: the capacity a count is capped at */
	unsigned member;     /* STORE_ENC_LARGE_COMMUNITY: 0 ASN, 1 LocalData1, 2 LocalData2 */
	const struct strtab *strings; /* STORE_ENC_STRID: borrowed */
	/* STORE_ENC_STRID: sent as LowCardinality(String) (the table's type
	 * on modern servers): a dictionary of the block's strings and an
	 * index per row, which the server takes as it is, instead of text it
	 * would hash into a dictionary row by row. */
	int low_cardinality;
};

/* The columns of flows the writer sends, in the table's order: the stored
 * fields of flow_fields[], the large communities as the three arrays of
 * their Nested column. Returns 0 with *cols malloc'd (caller frees), or
 * -ENOMEM. */
int store_flows_columns(struct store_column **cols, size_t *n);
/* The enrichment columns of flows (ExporterName..., InIf*, OutIf*, Src/Dst
 * networks and countries) read from struct flow's `enriched`, their string
 * ids resolved with `strings` (borrowed). Writes up to STORE_ENRICH_COLUMNS
 * entries to out[] and returns how many. */
#define STORE_ENRICH_COLUMNS 40
size_t store_enrich_columns(const struct strtab *strings, struct store_column *out);
/* 1 for an Array column (values plus cumulative UInt64 offsets per row). */
int store_column_is_array(const struct store_column *c);
/* "names[0], names[1], ...", malloc'd, or NULL: an INSERT's column list. */
char *store_column_list(const char *const *names, size_t n);
/* The columns of the exporters table the writer fills, in its order:
 * without, then with the enrichment (store_consolidator_set_strings). */
extern const char store_exporters_columns[];
extern const char store_exporters_enriched_columns[];

/* ---- Native format (native.c) ---- */

/* LEB128 lengths and counts, and strings as a length then bytes. Return 0
 * or -ENOMEM. */
int store_native_put_varint(struct buf *b, uint64_t v);
int store_native_put_string(struct buf *b, const char *s);

/* One Native block (no block info) as the pieces it is made of, in order;
 * the pieces belong to whoever built the block. */
struct store_segment {
	const void *p;
	size_t len;
};
struct store_block {
	const struct store_segment *segs;
	size_t nsegs;
	size_t bytes; /* sum of segs[].len */
	size_t rows;
};

#define STORE_NATIVE_MAX_SORT	16
#define STORE_NATIVE_MIN_PACKED 4

struct store_native_column {
	struct store_column def;
	uint64_t elements;  /* arrays: elements so far (Native offsets are cumulative) */
	struct buf offsets; /* arrays: UInt64 per row */
	struct buf data;
	struct buf text; /* STORE_ENC_STRID: the strings, built with the block */
	size_t need;	 /* scratch: bytes the rows being appended need */
	/* a column of the packed record (store_native_batch's `packed`): its
	 * data holds the first `unpacked` rows only; pack_at is its offset in
	 * the record */
	int packed;
	size_t pack_at;
	/* a packed column that is its type's default ("", 0) in every row
	 * of the last block built: left out of that block and of `columns`
	 * (ClickHouse fills the default) */
	int omitted;
	/* by_tuple: the column's bytes of the last block were built from the
	 * distinct tuples (text for a string id, data else) */
	int from_tuples;
};

/* by_tuple: a run of consecutive rows of one tuple, `d` its index among
 * the block's distinct tuples. */
struct store_tuple_run {
	uint32_t d, len;
};

/* Numbers below `cap` -> a value, emptied at once by a new stamp: value[k]
 * holds where stamp[k] is `now` (native.c: stamp_map_begin()). */
struct store_stamp_map {
	uint32_t *value, *stamp, now;
	size_t cap;
};

/* A batch of rows encoded column by column. Caller-owned storage. */
struct store_native_batch {
	struct store_native_column *cols;
	size_t ncols;
	size_t rows;
	size_t bytes; /* encoded column bytes (without block and column headers) */
	/* the INSERT's column list (store_column_list): the columns of the
	 * last block built (packed columns that were the default in every
	 * row are left out: see store_native_column's `omitted`) */
	char *columns;
	/* the sorting key's columns that are sent, and whether the rows are in
	 * that order yet */
	size_t sort_cols[STORE_NATIVE_MAX_SORT], nsort;
	int sorted;
	/* set before the sort: a DateTime in the key counts by its minute
	 * (toStartOfMinute: flows created before session 11), else its second */
	int by_minute;
	struct buf scratch;
	/* The scalar columns read from struct flow's `enriched` that are not
	 * in the sorting key (the enrichment: ~30 of them), when there are
	 * STORE_NATIVE_MIN_PACKED or more, are appended as one record a row,
	 * pack_width bytes: struct flow's `enriched` whole: one copy a row,
	 * and the sort moves one record a row instead of a value per column
	 * (each a cache miss in a batch larger than the caches). They are
	 * split into their columns, in the rows' order, by the sort (through
	 * its permutation) or when the block is built; `unpacked`: the rows
	 * split so far. */
	struct buf packed;
	size_t pack_width, unpacked;
	size_t *pack_cols, npacked; /* the packed columns' indexes */
	/* Set by the caller before the first row: the rows are appended by
	 * store_native_batch_encode_tuples(), and `packed` holds a uint32_t a
	 * row instead of a record, the index of its record in `tuples`
	 * (interned elsewhere: the writer's consolidator), which the caller
	 * sets before each sort and block. */
	int by_tuple;
	const struct flow_enrichment *tuples;
	/* by_tuple, for the block: `packed` (the rows' tuple indexes, in the
	 * rows' order: the sort permutes it) as the distinct tuples in order
	 * of first sight (dist[ndist]) and runs of rows (runs[nruns]); each
	 * packed column's values are then looked up once per distinct tuple
	 * (dvals) and written a run at a time. tuple_map: tuple index -> its
	 * index in dist. */
	uint32_t *dist, *dvals, *dkeys;
	struct store_stamp_map tuple_map;
	size_t ndist, dist_cap;
	struct store_tuple_run *runs;
	size_t nruns;
	/* LowCardinality columns: strtab id -> dictionary index */
	struct store_stamp_map lc;
	/* the block: block header + per column (header, offsets, data) */
	struct buf head;
	size_t *head_end;
	struct store_segment *segs;
};

/* An empty batch of the columns cols[0..ncols) (copied), sorted by those of
 * `sort_key` (NULL-terminated names, may be NULL) that are scalar columns.
 * Returns 0 or -ENOMEM. */
int store_native_batch_init(struct store_native_batch *b, const struct store_column *cols,
			    size_t ncols, const char *const *sort_key, struct error *err);
void store_native_batch_fini(struct store_native_batch *b);
/* Appending flows[0..n) is three steps, so that a caller can refuse them, or
 * do what else must happen with them, before anything changes: _need()
 * returns the bytes they take (noting each column's share), _reserve() makes
 * room for them in every column (0 or -ENOMEM: nothing appended), then
 * _encode() (with the same flows) appends them and cannot fail. */
size_t store_native_batch_need(struct store_native_batch *b, const struct flow *flows, size_t n);
int store_native_batch_reserve(struct store_native_batch *b, size_t n);
void store_native_batch_encode(struct store_native_batch *b, const struct flow *flows, size_t n);
/* The same with tuples[i] the index of flows[i].enriched in the table the
 * batch's `tuples` will point to, for a batch whose by_tuple is set (see
 * there; else as store_native_batch_encode()). */
void store_native_batch_encode_tuples(struct store_native_batch *b, const struct flow *flows,
				      size_t n, const uint32_t *tuples);
/* Empties the batch (its memory is kept for the next rows). */
void store_native_batch_clear(struct store_native_batch *b);
/* Puts the rows in the sorting key's order, once (sort_rows.c). Returns 0 or
 * -ENOMEM (the rows are then as they were). */
int store_native_batch_sort(struct store_native_batch *b);
/* The rows as one Native block, pointing into the batch: valid until the
 * batch changes; `columns` then names the block's columns (the packed
 * columns that are the default in every row are left out). Returns 0 or
 * -ENOMEM. */
int store_native_batch_block(struct store_native_batch *b, struct store_block *block);
/* Marks the string-id columns whose name is a line of `names` ("a\nb\n")
 * as LowCardinality(String), the others String, for the next blocks. */
void store_native_batch_low_cardinality(struct store_native_batch *b, const char *names);

/* ---- transports (transport.c chooses, transport_<name>.c implements) ----
 * How requests reach ClickHouse: a server over HTTP, or the engine
 * embedded in the process. Every call makes one try: retrying, with
 * back-off, is the caller's (writer.c), the same for every transport. A
 * transport borrows its config, which must outlive it. One thread at a
 * time. */
struct store_transport;

struct store_transport_ops {
	/* Inserts one Native block into `table`; `columns` ("a, b, c") names
	 * the block's columns in its order. Returns 0 once ClickHouse holds the
	 * rows, or -errno with `err` set: -ECONNREFUSED (unreachable),
	 * -ETIMEDOUT, -EACCES (credentials refused), -EIO (ClickHouse
	 * refused: its message in `err`),
	 * -ENOMEM. */
	int (*insert)(struct store_transport *t, const char *table, const char *columns,
		      const struct store_block *block, struct error *err);
	/* Runs one statement or query in `database` (NULL: none, to create
	 * it). With `answer` not NULL, its contents are replaced by the answer
	 * (TabSeparated unless the SQL says otherwise, not NUL-terminated).
	 * Returns 0, or -errno and `err` as insert. */
	int (*query)(struct store_transport *t, const char *database, const char *sql,
		     struct buf *answer, struct error *err);
	void (*free)(struct store_transport *t); /* accepts NULL */
};

struct store_transport {
	const struct store_transport_ops *ops;
};

/* NULL is fine. */
static inline void store_transport_free(struct store_transport *t)
{
	if (t)
		t->ops->free(t);
}

/* 0 when `url` is one clickhouse.url may be: http://HOST[:PORT][/...] or
 * https://... (HOST a name, an IPv4 or [IPv6] address; PORT 1-65535; no
 * user@ in it), or embedded://DIR (DIR not empty). Else -EINVAL with what is
 * wrong in why[size] ("no host", "port 70000: expected 1 to 65535"). The
 * same check for `weir config check` (config.c) and every transport. */
int store_url_check(const char *url, char *why, size_t size);

/* The transport clickhouse.url names: embedded:// the engine in the
 * process, any other URL a server over HTTP. Returns 0 with *out
 * (free with store_transport_free()), or -errno with *out NULL and `err`
 * set. */
int store_transport_new(const struct store_config *cfg, struct store_transport **out,
			struct error *err);
/* transport_http.c: http://host:port (libcurl, one kept-alive connection). */
int store_transport_http_new(const struct store_config *cfg, struct store_transport **out,
			     struct error *err);
/* transport_embedded.c: embedded:///abs/dir or embedded://rel/dir (relative
 * to the working directory): the engine of chdb.h on that directory, one
 * per process, shared by every transport (the last one freed stops it),
 * and one connection (session) per transport. Fails as store_chdb_open(),
 * e.g. -ENOENT without libchdb.so, -EBUSY for a second directory. */
int store_transport_embedded_new(const struct store_config *cfg, struct store_transport **out,
				 struct error *err);

/* ---- rows in the table's order (sort_rows.c) ---- */

/* One column of a sorting key, as encoded: `rows` values of `width` bytes
 * (1, 2, 4, 8: unsigned little-endian; 16: FixedString), `minute`: a
 * DateTime the key takes as toStartOfMinute(). Value i is at data + i *
 * stride: a field of an array of structs; 0 for a column (stride = width). */
struct store_sort_key {
	const void *data;
	unsigned width;
	int minute;
	size_t stride;
};

/* The order of rows[0..rows) by the key columns: 0 when they are in order
 * already (*perm NULL), 1 with *perm (malloc'd) the row to put at each
 * place, or -ENOMEM. */
int store_rows_order(const struct store_sort_key *keys, size_t nkeys, size_t rows, uint32_t **perm);
/* Reorders one encoded column by perm (from store_rows_order); `offsets`
 * non-NULL for an Array column (cumulative UInt64 per row, rewritten).
 * Cannot fail: scratch->cap >= keep >= what the column needs there, data->len
 * (an Array: that rounded up to 8, then `rows` UInt64). The rows are gathered
 * into scratch; then, when the column's own buffer has `keep` bytes too, the
 * two buffers are traded (the column takes scratch's, scratch the column's:
 * no copy back, no memory more), else the rows are copied back. */
void store_rows_permute(struct buf *data, struct buf *offsets, unsigned width, const uint32_t *perm,
			size_t rows, struct buf *scratch, size_t keep);

/* ---- consolidation (consolidate.c) ----
 * Sums flows by minute and by the consolidated dimensions (flows_1m's
 * columns), up to max_rows distinct rows. Not thread-safe: one per writer. */
struct store_consolidator;

/* 0 with *out, or -errno (-ENOMEM) with *out = NULL and `err` filled.
 * store_consolidator_free() accepts NULL. */
int store_consolidator_new(size_t max_rows, struct store_consolidator **out, struct error *err);
void store_consolidator_free(struct store_consolidator *c);
/* Adds the enrichment dimensions of flows_1m (and the exporters' names),
 * ids resolved with `strings` (borrowed). Before the first add. Returns 0,
 * -EBUSY, -E2BIG or -ENOMEM. */
int store_consolidator_set_strings(struct store_consolidator *c, const struct strtab *strings);
/* 1 when n more flows fit whatever their keys (each may be a new row). */
int store_consolidator_room(const struct store_consolidator *c, size_t n);
/* Sums flows[0..n): 0, -ENOBUFS (no room: encode and clear first), -ENOMEM. */
int store_consolidator_add(struct store_consolidator *c, const struct flow *flows, size_t n);
/* The same, and with the enrichment (store_consolidator_set_strings) the
 * index of each flow's interned struct flow_enrichment in tuples[i]
 * (tuples may be NULL). */
int store_consolidator_add_tuples(struct store_consolidator *c, const struct flow *flows, size_t n,
				  uint32_t *tuples);
/* The interned enrichments those indexes refer to: valid until the next add
 * (which may move them) and their values until store_consolidator_clear(). */
const struct flow_enrichment *store_consolidator_tuples(const struct store_consolidator *c);
size_t store_consolidator_rows(const struct store_consolidator *c);
uint64_t store_consolidator_flows(const struct store_consolidator *c);
/* The quarters of an hour (unix seconds / 900) of the rows, sorted, once
 * each, in a malloc'd array. Returns 0 or -ENOMEM. */
int store_consolidator_quarters(const struct store_consolidator *c, uint32_t **out, size_t *n);
/* The column list of the blocks store_consolidator_encode() makes, the same
 * for every consolidated table (the dimensions in struct flow, Bytes,
 * Packets), malloc'd, or NULL. */
char *store_consolidator_columns(const struct store_consolidator *c);
/* Sorts the rows once for the encodes that follow. Returns 0 or -ENOMEM. */
int store_consolidator_sort(struct store_consolidator *c);
/* Rounds a minute (unix seconds) down to a table's resolution. */
typedef uint32_t (*store_round_fn)(void *ctx, uint32_t minute);
/* The rows with their time rounded by `round` and summed again, as one
 * Native block in the consolidated tables' sorting order, into `body`
 * (overwritten); *rows = its row count. After store_consolidator_sort().
 * Returns 0 or -ENOMEM. */
int store_consolidator_encode(struct store_consolidator *c, store_round_fn round, void *ctx,
			      struct buf *body, size_t *rows);
/* The (exporter, interface) pairs of the rows with the latest minute each,
 * as a Native block of exporters (store_exporters_columns). */
int store_consolidator_encode_exporters(struct store_consolidator *c, struct buf *body,
					size_t *rows);
void store_consolidator_clear(struct store_consolidator *c);

#endif
