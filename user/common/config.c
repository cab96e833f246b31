// SPDX-License-Identifier: AGPL-3.0-or-later
/* YAML to a node tree with line numbers (libyaml events), and the binding of
 * that tree into structs through field tables. */
#include "config.h"

#include "addr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

void config_error_set(struct config_error *err, const char *file, unsigned line, const char *path,
		      const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err->text, sizeof(err->text), "%s:%u: %s%s", file, line,
		     path && *path ? path : "", path && *path ? ": " : "");
	if (n < 0 || (size_t)n >= sizeof(err->text))
		return;
	va_start(ap, fmt);
	vsnprintf(err->text + n, sizeof(err->text) - (size_t)n, fmt, ap);
	va_end(ap);
}

static void node_free(struct config_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nchildren; i++)
		node_free(n->children[i]);
	free(n->children);
	free(n->key);
	free(n->value);
	free(n);
}

void config_doc_free(struct config_doc *doc)
{
	if (!doc)
		return;
	node_free(doc->root);
	free(doc->path);
	free(doc);
}

static int node_add_child(struct config_node *parent, struct config_node *child)
{
	struct config_node **c =
	    realloc(parent->children, (parent->nchildren + 1) * sizeof(*parent->children));
	if (!c)
		return -ENOMEM;
	parent->children = c;
	c[parent->nchildren++] = child;
	return 0;
}

struct parser_ctx {
	yaml_parser_t parser;
	const char *file;
	struct config_error *err;
};

/* Builds the node for the event just read (and, for collections, all their
 * contents). Anchors and aliases are refused: a config should read plainly. */
static struct config_node *parse_node(struct parser_ctx *ctx, yaml_event_t *ev);

static int next_event(struct parser_ctx *ctx, yaml_event_t *ev)
{
	if (yaml_parser_parse(&ctx->parser, ev))
		return 0;
	config_error_set(ctx->err, ctx->file, (unsigned)ctx->parser.problem_mark.line + 1, "",
			 "YAML syntax: %s",
			 ctx->parser.problem ? ctx->parser.problem : "unknown error");
	return -EINVAL;
}

/* The keys of one map, as an open-addressed set of child indices + 1: a key
 * given twice is found in constant time, so a map of 100k networks loads in
 * linear time (a scan of the previous keys made it take a minute). */
struct keyset {
	uint32_t *slot;
	size_t cap; /* a power of two, or 0 */
};

static uint64_t key_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/* The child with `key` among n's first `count`, or NULL; the set is grown to
 * hold `count` + 1 keys. Returns -ENOMEM through *oom. */
static struct config_node *keyset_find(struct keyset *ks, const struct config_node *n, size_t count,
				       const char *key, int *oom)
{
	if ((count + 1) * 2 > ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 16;
		uint32_t *slot = calloc(cap, sizeof(*slot));
		if (!slot) {
			*oom = 1;
			return NULL;
		}
		free(ks->slot);
		ks->slot = slot;
		ks->cap = cap;
		for (size_t i = 0; i < count; i++) {
			size_t j = key_hash(n->children[i]->key) & (cap - 1);
			while (slot[j])
				j = (j + 1) & (cap - 1);
			slot[j] = (uint32_t)i + 1;
		}
	}
	size_t j = key_hash(key) & (ks->cap - 1);
	for (; ks->slot[j]; j = (j + 1) & (ks->cap - 1))
		if (strcmp(n->children[ks->slot[j] - 1]->key, key) == 0)
			return n->children[ks->slot[j] - 1];
	return NULL;
}

/* Records child `index` (its key) in the set keyset_find() grew. */
static void keyset_add(struct keyset *ks, const char *key, size_t index)
{
	size_t j = key_hash(key) & (ks->cap - 1);
	while (ks->slot[j])
		j = (j + 1) & (ks->cap - 1);
	ks->slot[j] = (uint32_t)index + 1;
}

static struct config_node *parse_collection(struct parser_ctx *ctx, struct config_node *n,
					    yaml_event_type_t end)
{
	yaml_event_t ev;
	struct keyset ks = {NULL, 0};

	for (;;) {
		struct config_node *child;
		char *key = NULL;

		if (next_event(ctx, &ev) < 0)
			goto fail;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			free(ks.slot);
			return n;
		}
		if (n->type == CONFIG_NODE_MAP) {
			if (ev.type != YAML_SCALAR_EVENT) {
				config_error_set(ctx->err, ctx->file,
						 (unsigned)ev.start_mark.line + 1, "",
						 "map keys must be plain words");
				yaml_event_delete(&ev);
				goto fail;
			}
			key = strdup((const char *)ev.data.scalar.value);
			unsigned line = (unsigned)ev.start_mark.line + 1;
			int oom = 0;
			const struct config_node *first =
			    key ? keyset_find(&ks, n, n->nchildren, key, &oom) : NULL;
			if (first) {
				config_error_set(ctx->err, ctx->file, line, key,
						 "key given twice (first on line %u)", first->line);
				free(key);
				yaml_event_delete(&ev);
				goto fail;
			}
			if (oom) {
				free(key);
				key = NULL;
			}
			yaml_event_delete(&ev);
			if (!key || next_event(ctx, &ev) < 0) {
				free(key);
				goto fail;
			}
		}
		child = parse_node(ctx, &ev);
		if (!child) {
			free(key);
			goto fail;
		}
		child->key = key;
		if (node_add_child(n, child) < 0) {
			node_free(child);
			goto fail;
		}
		if (key)
			keyset_add(&ks, key, n->nchildren - 1);
	}
fail:
	free(ks.slot);
	node_free(n);
	return NULL;
}

static struct config_node *parse_node(struct parser_ctx *ctx, yaml_event_t *ev)
{
	struct config_node *n = calloc(1, sizeof(*n));

	if (!n) {
		yaml_event_delete(ev);
		return NULL;
	}
	n->line = (unsigned)ev->start_mark.line + 1;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n->type = CONFIG_NODE_SCALAR;
		n->value = strdup((const char *)ev->data.scalar.value);
		n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
			    ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
		yaml_event_delete(ev);
		if (!n->value) {
			node_free(n);
			return NULL;
		}
		return n;
	case YAML_MAPPING_START_EVENT:
		n->type = CONFIG_NODE_MAP;
		yaml_event_delete(ev);
		return parse_collection(ctx, n, YAML_MAPPING_END_EVENT);
	case YAML_SEQUENCE_START_EVENT:
		n->type = CONFIG_NODE_SEQ;
		yaml_event_delete(ev);
		return parse_collection(ctx, n, YAML_SEQUENCE_END_EVENT);
	default:
		config_error_set(ctx->err, ctx->file, n->line, "",
				 "anchors, aliases and tags are not supported");
		yaml_event_delete(ev);
		free(n);
		return NULL;
	}
}

static struct config_doc *load(const char *name, FILE *fp, const char *text,
			       struct config_error *err)
{
	struct parser_ctx ctx = {.file = name, .err = err};
	struct config_doc *doc = calloc(1, sizeof(*doc));
	yaml_event_t ev;
	int done = 0;

	if (!doc || !(doc->path = strdup(name))) {
		config_error_set(err, name, 0, "", "out of memory");
		goto fail;
	}
	yaml_parser_initialize(&ctx.parser);
	if (fp)
		yaml_parser_set_input_file(&ctx.parser, fp);
	else
		yaml_parser_set_input_string(&ctx.parser, (const unsigned char *)text,
					     strlen(text));
	while (!done) {
		if (next_event(&ctx, &ev) < 0)
			goto fail_parser;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			yaml_event_delete(&ev);
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_SCALAR_EVENT:
			if (doc->root) {
				config_error_set(err, name, (unsigned)ev.start_mark.line + 1, "",
						 "only one YAML document is allowed");
				yaml_event_delete(&ev);
				goto fail_parser;
			}
			if (ev.type != YAML_MAPPING_START_EVENT) {
				config_error_set(err, name, (unsigned)ev.start_mark.line + 1, "",
						 "the top level must be a map of keys");
				yaml_event_delete(&ev);
				goto fail_parser;
			}
			doc->root = parse_node(&ctx, &ev);
			if (!doc->root)
				goto fail_parser;
			break;
		default:
			yaml_event_delete(&ev);
			break;
		}
	}
	yaml_parser_delete(&ctx.parser);
	if (!doc->root) {
		doc->root = calloc(1, sizeof(*doc->root));
		if (!doc->root)
			goto fail;
		doc->root->type = CONFIG_NODE_MAP;
		doc->root->line = 1;
	}
	return doc;
fail_parser:
	yaml_parser_delete(&ctx.parser);
fail:
	config_doc_free(doc);
	return NULL;
}

struct config_doc *config_doc_load_file(const char *path, struct config_error *err)
{
	struct config_doc *doc;
	FILE *fp = fopen(path, "rb");

	if (!fp) {
		snprintf(err->text, sizeof(err->text), "%s: %s", path, strerror(errno));
		return NULL;
	}
	doc = load(path, fp, NULL, err);
	fclose(fp);
	return doc;
}

struct config_doc *config_doc_load_string(const char *name, const char *text,
					  struct config_error *err)
{
	return load(name, NULL, text, err);
}

const struct config_node *config_node_get(const struct config_node *map, const char *key)
{
	if (!map || map->type != CONFIG_NODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->nchildren; i++)
		if (strcmp(map->children[i]->key, key) == 0)
			return map->children[i];
	return NULL;
}

static int parse_with_units(const char *text, const char *const *units, const uint64_t *mult,
			    uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*text || *text == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text)
		return -EINVAL;
	while (*end == ' ')
		end++;
	for (unsigned i = 0; units[i]; i++) {
		if (strcasecmp(end, units[i]) == 0) {
			if (mult[i] && v > UINT64_MAX / mult[i])
				return -ERANGE;
			*out = v * mult[i];
			return 0;
		}
	}
	return -EINVAL;
}

int config_parse_duration_ms(const char *text, uint64_t *ms)
{
	static const char *const units[] = {"ms", "s", "", "m", "h", "d", NULL};
	static const uint64_t mult[] = {1, 1000, 1000, 60000, 3600000, 86400000};
	return parse_with_units(text, units, mult, ms);
}

int config_parse_size(const char *text, uint64_t *bytes)
{
	static const char *const units[] = {"",	  "B",	"KiB", "MiB", "GiB", "KB",
					    "MB", "GB", "k",   "M",   "G",   NULL};
	static const uint64_t mult[] = {1,	    1,		1ull << 10, 1ull << 20,
					1ull << 30, 1000,	1000000,    1000000000,
					1ull << 10, 1ull << 20, 1ull << 30};
	return parse_with_units(text, units, mult, bytes);
}

static const char *type_name(enum config_node_type t)
{
	return t == CONFIG_NODE_MAP ? "a map" : t == CONFIG_NODE_SEQ ? "a list" : "a value";
}

static int expect(const struct config_node *node, enum config_node_type t, const char *path,
		  const char *file, struct config_error *err)
{
	if (node->type == t)
		return 0;
	config_error_set(err, file, node->line, path, "expected %s, found %s", type_name(t),
			 type_name(node->type));
	return -EINVAL;
}

static int bind_bool(const struct config_node *node, int *dst)
{
	static const char *const yes[] = {"true", "yes", "on", NULL};
	static const char *const no[] = {"false", "no", "off", NULL};

	for (unsigned i = 0; yes[i]; i++) {
		if (strcasecmp(node->value, yes[i]) == 0) {
			*dst = 1;
			return 0;
		}
		if (strcasecmp(node->value, no[i]) == 0) {
			*dst = 0;
			return 0;
		}
	}
	return -EINVAL;
}

static void free_value(const struct config_field *f, void *dst);

static int check_bounds(const struct config_field *f, long double v, const struct config_node *node,
			const char *path, const char *file, struct config_error *err)
{
	if (f->min < f->max && (v < f->min || v > f->max)) {
		config_error_set(err, file, node->line, path, "%s is out of range [%lld, %lld]",
				 node->value, (long long)f->min, (long long)f->max);
		return -EINVAL;
	}
	return 0;
}

static int bind_list(const struct config_node *node, const struct config_field *f,
		     struct config_list *list, const char *path, const char *file,
		     struct config_error *err)
{
	char item_path[256];
	char *items;

	if (expect(node, CONFIG_NODE_SEQ, path, file, err) < 0)
		return -EINVAL;
	items = calloc(node->nchildren ? node->nchildren : 1, f->item_size);
	if (!items)
		return -ENOMEM;
	/* Items start from zero: a list has no per-item defaults (a CONFIG_CUSTOM
	 * item parser may set its own before binding). */
	for (size_t i = 0; i < node->nchildren; i++) {
		snprintf(item_path, sizeof(item_path), "%s[%zu]", path, i);
		if (config_bind_value(node->children[i], f->item, items + i * f->item_size,
				      item_path, file, err) < 0) {
			struct config_list partial = {items, i + 1};
			free_value(f, &partial);
			return -EINVAL;
		}
	}
	free(list->items);
	list->items = items;
	list->count = node->nchildren;
	return 0;
}

int config_bind_value(const struct config_node *node, const struct config_field *f, void *dst,
		      const char *path, const char *file, struct config_error *err)
{
	char *end;
	uint64_t u;

	switch (f->type) {
	case CONFIG_SECTION:
		return config_bind(node, f->fields, dst, path, file, err);
	case CONFIG_LIST:
		return bind_list(node, f, dst, path, file, err);
	case CONFIG_CUSTOM:
		return f->parse(node, dst, path, file, err);
	default:
		break;
	}
	if (expect(node, CONFIG_NODE_SCALAR, path, file, err) < 0)
		return -EINVAL;
	switch (f->type) {
	case CONFIG_STRING: {
		const char *why = NULL;
		char *s;

		if (f->check && !f->check(node->value, &why)) {
			config_error_set(err, file, node->line, path, "\"%s\": %s", node->value,
					 why ? why : "invalid value");
			return -EINVAL;
		}
		s = strdup(node->value);
		if (!s)
			return -ENOMEM;
		free(*(char **)dst);
		*(char **)dst = s;
		return 0;
	}
	case CONFIG_INT: {
		long long v;
		errno = 0;
		v = strtoll(node->value, &end, 0);
		if (errno || end == node->value || *end)
			goto bad;
		if (check_bounds(f, v, node, path, file, err) < 0)
			return -EINVAL;
		*(int64_t *)dst = v;
		return 0;
	}
	case CONFIG_UINT: {
		unsigned long long v;
		errno = 0;
		if (node->value[0] == '-')
			goto bad;
		v = strtoull(node->value, &end, 0);
		if (errno || end == node->value || *end)
			goto bad;
		if (check_bounds(f, v, node, path, file, err) < 0)
			return -EINVAL;
		*(uint64_t *)dst = v;
		return 0;
	}
	case CONFIG_BOOL:
		if (bind_bool(node, dst) < 0)
			goto bad;
		return 0;
	case CONFIG_DURATION:
		if (config_parse_duration_ms(node->value, &u) < 0)
			goto bad;
		if (check_bounds(f, u, node, path, file, err) < 0)
			return -EINVAL;
		*(uint64_t *)dst = u;
		return 0;
	case CONFIG_SIZE:
		if (config_parse_size(node->value, &u) < 0)
			goto bad;
		if (check_bounds(f, u, node, path, file, err) < 0)
			return -EINVAL;
		*(uint64_t *)dst = u;
		return 0;
	case CONFIG_ENUM:
		for (int i = 0; f->choices[i]; i++) {
			if (strcmp(node->value, f->choices[i]) == 0) {
				*(int *)dst = i;
				return 0;
			}
		}
		goto bad;
	default:
		goto bad;
	}
bad : {
	static const char *const what[] = {
	    [CONFIG_STRING] = "text",
	    [CONFIG_INT] = "an integer",
	    [CONFIG_UINT] = "a non-negative integer",
	    [CONFIG_BOOL] = "true or false",
	    [CONFIG_DURATION] = "a duration like 500ms, 5s, 2m, 1h, 15d",
	    [CONFIG_SIZE] = "a size like 4096, 64KiB, 16MiB",
	    [CONFIG_ENUM] = "one of the listed words",
	};
	char choices[200] = "";
	if (f->type == CONFIG_ENUM) {
		size_t n = 0;
		for (int i = 0; f->choices[i] && n < sizeof(choices); i++)
			n += (size_t)snprintf(choices + n, sizeof(choices) - n, "%s%s",
					      i ? ", " : " (", f->choices[i]);
		if (n < sizeof(choices))
			snprintf(choices + n, sizeof(choices) - n, ")");
	}
	config_error_set(err, file, node->line, path, "invalid value \"%s\": expected %s%s",
			 node->value, f->type < CONFIG_SECTION ? what[f->type] : "a value",
			 choices);
	return -EINVAL;
}
}

int config_bind(const struct config_node *node, const struct config_field *fields, void *dst,
		const char *path, const char *file, struct config_error *err)
{
	char child_path[256];
	const struct config_field *f;
	int r;

	if (expect(node, CONFIG_NODE_MAP, path, file, err) < 0)
		return -EINVAL;
	for (size_t i = 0; i < node->nchildren; i++) {
		const struct config_node *c = node->children[i];

		snprintf(child_path, sizeof(child_path), "%s%s%s", path, *path ? "." : "", c->key);
		for (f = fields; f->key; f++)
			if (strcmp(f->key, c->key) == 0)
				break;
		if (!f->key) {
			config_error_set(err, file, c->line, child_path, "unknown key");
			return -EINVAL;
		}
		r = config_bind_value(c, f, (char *)dst + f->offset, child_path, file, err);
		if (r < 0)
			return r;
	}
	for (f = fields; f->key; f++) {
		if (f->required && !config_node_get(node, f->key)) {
			snprintf(child_path, sizeof(child_path), "%s%s%s", path, *path ? "." : "",
				 f->key);
			config_error_set(err, file, node->line, child_path,
					 "required key is missing");
			return -EINVAL;
		}
	}
	return 0;
}

static void free_value(const struct config_field *f, void *dst)
{
	switch (f->type) {
	case CONFIG_STRING:
		free(*(char **)dst);
		*(char **)dst = NULL;
		break;
	case CONFIG_SECTION:
		config_free_bound(f->fields, dst);
		break;
	case CONFIG_LIST: {
		struct config_list *list = dst;
		for (size_t i = 0; i < list->count; i++)
			free_value(f->item, (char *)list->items + i * f->item_size);
		free(list->items);
		list->items = NULL;
		list->count = 0;
		break;
	}
	default:
		break;
	}
}

void config_free_bound(const struct config_field *fields, void *dst)
{
	if (!fields)
		return;
	for (const struct config_field *f = fields; f->key; f++)
		free_value(f, (char *)dst + f->offset);
}

/* ---- value checks for CONFIG_STRING fields ---- */

int config_check_prefix(const char *value, const char **why)
{
	struct in6_addr a;
	unsigned len;

	if (addr_prefix_from_text(&a, &len, value) == 0)
		return 1;
	*why = "expected an IPv4 or IPv6 prefix (ADDRESS/LENGTH, length at most 32 or 128)";
	return 0;
}

int config_check_address(const char *value, const char **why)
{
	struct in6_addr a;

	if (addr_from_text(&a, value) == 0)
		return 1;
	*why = "expected an IPv4 or IPv6 address";
	return 0;
}

int config_check_listen(const char *value, const char **why)
{
	struct sockaddr_in6 sa;

	if (addr_parse_listen(value, &sa) == 0)
		return 1;
	*why = "expected HOST:PORT, [IPV6]:PORT or :PORT with HOST an IP address and PORT 1-65535";
	return 0;
}
