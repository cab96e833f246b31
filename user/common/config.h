/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* YAML configuration: the file is parsed (libyaml) into a tree that keeps
 * each node's line, then bound into C structs through tables of fields.
 * Every error names the file, the line and the key path ("flow.inputs[0].listen"),
 * and a key no table knows is an error. */
#ifndef WEIR_COMMON_CONFIG_H
#define WEIR_COMMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum config_node_type {
	CONFIG_NODE_SCALAR,
	CONFIG_NODE_MAP,
	CONFIG_NODE_SEQ,
};

struct config_node {
	enum config_node_type type;
	unsigned line; /* 1-based */
	char *key;     /* when a map entry */
	char *value;   /* scalars */
	int quoted;    /* scalar written in quotes: never a null */
	struct config_node **children;
	size_t nchildren;
};

struct config_doc {
	char *path;
	struct config_node *root; /* a map; empty when the file is empty */
};

struct config_error {
	char text[512];
};

/* Parses `path`. Returns NULL and fills `err` on failure. */
struct config_doc *config_doc_load_file(const char *path, struct config_error *err);
/* Parses YAML text; `name` stands for the file in errors. */
struct config_doc *config_doc_load_string(const char *name, const char *text,
					  struct config_error *err);
void config_doc_free(struct config_doc *doc);

/* Child of a map by key, or NULL. */
const struct config_node *config_node_get(const struct config_node *map, const char *key);

enum config_type {
	CONFIG_STRING,	 /* char *: strdup'd; the caller frees with config_free_bound() */
	CONFIG_INT,	 /* int64_t */
	CONFIG_UINT,	 /* uint64_t */
	CONFIG_BOOL,	 /* int: true/false/yes/no/on/off */
	CONFIG_DURATION, /* uint64_t milliseconds: "250ms", "5s", "2m", "1h", "15d" */
	CONFIG_SIZE,	 /* uint64_t bytes: "512", "64KiB", "16MiB", "1GiB", "1GB" */
	CONFIG_ENUM,	 /* int: index of the value in `choices` (NULL-terminated) */
	CONFIG_SECTION,	 /* a nested map bound with `fields` at `offset` */
	CONFIG_LIST,	 /* struct config_list at `offset`; items bound with `item` */
	CONFIG_CUSTOM,	 /* `parse` does the work */
};

struct config_field;

/* A list: items is a calloc'd array of `count` elements of item_size bytes.
 * A list present in the file replaces the one in `dst`, which must then be
 * empty or heap-allocated: give list defaults after binding, when count is 0. */
struct config_list {
	void *items;
	size_t count;
};

typedef int (*config_parse_fn)(const struct config_node *node, void *dst, const char *path,
			       const char *file, struct config_error *err);

struct config_field {
	const char *key; /* NULL ends a table; in `item` of a scalar list: unused */
	enum config_type type;
	size_t offset;
	int required;
	int64_t min, max;		   /* numeric bounds when min < max */
	const char *const *choices;	   /* CONFIG_ENUM */
	const struct config_field *fields; /* CONFIG_SECTION, and CONFIG_LIST of maps */
	const struct config_field *item;   /* CONFIG_LIST: how one item is bound */
	size_t item_size;		   /* CONFIG_LIST */
	config_parse_fn parse;		   /* CONFIG_CUSTOM */
	/* CONFIG_STRING (and string list items): optional, says whether the
	 * value is valid; on 0 the binder reports "file:line: path: `why`". */
	int (*check)(const char *value, const char **why);
};

/* Checks for `check`: a prefix ("192.0.2.0/24", "2001:db8::/32", a bare
 * address), an address, a listen string (HOST:PORT, [IPV6]:PORT or :PORT,
 * HOST an IP address, PORT 1-65535). Return 1 when valid. */
int config_check_prefix(const char *value, const char **why);
int config_check_address(const char *value, const char **why);
int config_check_listen(const char *value, const char **why);

/* Binds map `node` into `dst` with `fields` (NULL-key terminated). `path` is
 * the key path of `node` ("" at the top). Fields absent from the file keep
 * what `dst` held (its defaults). Returns 0 or -EINVAL with `err` filled. */
int config_bind(const struct config_node *node, const struct config_field *fields, void *dst,
		const char *path, const char *file, struct config_error *err);

/* Binds one scalar or list value with `field` into `dst` (the field's storage). */
int config_bind_value(const struct config_node *node, const struct config_field *field, void *dst,
		      const char *path, const char *file, struct config_error *err);

/* Frees the strings and lists config_bind() allocated in `dst`. */
void config_free_bound(const struct config_field *fields, void *dst);

/* Helpers for CONFIG_CUSTOM parsers and for errors found after binding. */
void config_error_set(struct config_error *err, const char *file, unsigned line, const char *path,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int config_parse_duration_ms(const char *text, uint64_t *ms);
int config_parse_size(const char *text, uint64_t *bytes);

#endif
