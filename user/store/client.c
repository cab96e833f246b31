// SPDX-License-Identifier: AGPL-3.0-or-later
/* Plain queries (the orchestrator's, the tests') through the transport
 * clickhouse.url names. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

struct store_client {
	const struct store_config *cfg;
	struct store_transport *t;
	struct buf answer;
	struct error error;
};

int store_client_new(const struct store_config *cfg, struct store_client **out, struct error *err)
{
	struct store_client *c = calloc(1, sizeof(*c));
	int r;

	*out = NULL;
	if (!c)
		return error_set(err, -ENOMEM, "store: out of memory for a client");
	c->cfg = cfg;
	r = store_transport_new(cfg, &c->t, err);
	if (r < 0) {
		free(c);
		return r;
	}
	*out = c;
	return 0;
}

void store_client_free(struct store_client *c)
{
	if (!c)
		return;
	store_transport_free(c->t);
	buf_free(&c->answer);
	free(c);
}

const char *store_client_error(const struct store_client *c)
{
	return c->error.text;
}

static int query(struct store_client *c, const char *database, const char *sql, char **out)
{
	int r;

	if (out)
		*out = NULL;
	c->error.text[0] = 0;
	r = c->t->ops->query(c->t, database, sql, &c->answer, &c->error);
	if (r < 0)
		return r;
	if (out) {
		*out = malloc(c->answer.len + 1);
		if (!*out)
			return -ENOMEM;
		if (c->answer.len)
			memcpy(*out, c->answer.data, c->answer.len);
		(*out)[c->answer.len] = 0;
	}
	return 0;
}

int store_client_query(struct store_client *c, const char *sql, char **out)
{
	return query(c, c->cfg->database, sql, out);
}

int store_client_query_nodb(struct store_client *c, const char *sql, char **out)
{
	return query(c, NULL, sql, out);
}

int store_client_query_u64(struct store_client *c, const char *sql, uint64_t *value)
{
	char *out, *end;
	int r = store_client_query(c, sql, &out);

	if (r < 0)
		return r;
	errno = 0;
	*value = strtoull(out, &end, 10);
	if (errno || end == out)
		r = error_set(&c->error, -EPROTO, "not a number: %.40s", out);
	free(out);
	return r;
}

int store_client_server_version(struct store_client *c, uint32_t *version)
{
	unsigned major = 0, minor = 0, patch = 0;
	char *out;
	int r = store_client_query_nodb(c, "SELECT version()", &out);

	*version = 0;
	if (r < 0)
		return r;
	if (sscanf(out, "%u.%u.%u", &major, &minor, &patch) >= 2)
		*version = major * 1000000u + minor * 1000u + patch;
	free(out);
	return 0;
}
