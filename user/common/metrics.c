// SPDX-License-Identifier: AGPL-3.0-or-later
/* The metrics registry: families in a list, series in a list per family.
 * Lookups are linear under a mutex; they happen once per series, never per
 * packet, so simplicity wins over a hash table here. */
#include "metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct series_node {
	struct metric_series series;
	struct series_node *next;
	char *values[METRICS_MAX_LABELS];
};

struct metric_family {
	struct metric_family *next;
	char *name;
	char *help;
	enum metric_type type;
	unsigned nlabels;
	char *labels[METRICS_MAX_LABELS];
	struct series_node *series;
	pthread_mutex_t *lock; /* the registry's */
};

struct collector {
	struct collector *next;
	metrics_collect_fn fn;
	void *ctx;
};

struct metrics_registry {
	pthread_mutex_t lock;
	/* Held while collectors run, so removing one waits for a scrape to end;
	 * separate from `lock` because collectors call metrics_series(). */
	pthread_mutex_t collect_lock;
	struct metric_family *families, **tail;
	struct collector *collectors;
};

int metrics_registry_new(struct metrics_registry **out, struct error *err)
{
	struct metrics_registry *reg = calloc(1, sizeof(*reg));

	*out = NULL;
	if (!reg)
		return error_set(err, -ENOMEM, "metrics: out of memory for a registry");
	pthread_mutex_init(&reg->lock, NULL);
	pthread_mutex_init(&reg->collect_lock, NULL);
	reg->tail = &reg->families;
	*out = reg;
	return 0;
}

static void family_free(struct metric_family *fam)
{
	struct series_node *s, *next;

	for (s = fam->series; s; s = next) {
		next = s->next;
		for (unsigned i = 0; i < fam->nlabels; i++)
			free(s->values[i]);
		free(s);
	}
	for (unsigned i = 0; i < fam->nlabels; i++)
		free(fam->labels[i]);
	free(fam->name);
	free(fam->help);
	free(fam);
}

void metrics_registry_free(struct metrics_registry *reg)
{
	struct metric_family *fam, *next;
	struct collector *c, *cnext;

	if (!reg)
		return;
	for (fam = reg->families; fam; fam = next) {
		next = fam->next;
		family_free(fam);
	}
	for (c = reg->collectors; c; c = cnext) {
		cnext = c->next;
		free(c);
	}
	pthread_mutex_destroy(&reg->lock);
	pthread_mutex_destroy(&reg->collect_lock);
	free(reg);
}

static int family_set_labels(struct metric_family *fam, const char *labels)
{
	const char *p = labels;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (fam->nlabels == METRICS_MAX_LABELS)
			return -E2BIG;
		fam->labels[fam->nlabels] = strndup(p, len);
		if (!fam->labels[fam->nlabels])
			return -ENOMEM;
		fam->nlabels++;
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

struct metric_family *metrics_family(struct metrics_registry *reg, const char *name,
				     const char *help, enum metric_type type, const char *labels)
{
	struct metric_family *fam;

	pthread_mutex_lock(&reg->lock);
	for (fam = reg->families; fam; fam = fam->next)
		if (strcmp(fam->name, name) == 0)
			goto out;
	fam = calloc(1, sizeof(*fam));
	if (!fam)
		goto out;
	fam->name = strdup(name);
	fam->help = strdup(help ? help : "");
	fam->type = type;
	fam->lock = &reg->lock;
	if (!fam->name || !fam->help || family_set_labels(fam, labels) < 0) {
		family_free(fam);
		fam = NULL;
		goto out;
	}
	*reg->tail = fam;
	reg->tail = &fam->next;
out:
	pthread_mutex_unlock(&reg->lock);
	return fam;
}

static int values_match(const struct metric_family *fam, const struct series_node *s,
			const char *const *values)
{
	for (unsigned i = 0; i < fam->nlabels; i++)
		if (strcmp(s->values[i], values[i] ? values[i] : "") != 0)
			return 0;
	return 1;
}

struct metric_series *metrics_series(struct metric_family *fam, const char *const *values)
{
	struct series_node *s, **tail;

	if (!fam)
		return NULL;
	pthread_mutex_lock(fam->lock);
	for (tail = &fam->series; (s = *tail); tail = &s->next)
		if (values_match(fam, s, values))
			goto out;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto out;
	for (unsigned i = 0; i < fam->nlabels; i++) {
		s->values[i] = strdup(values[i] ? values[i] : "");
		if (!s->values[i]) {
			for (unsigned j = 0; j < i; j++)
				free(s->values[j]);
			free(s);
			s = NULL;
			goto out;
		}
	}
	*tail = s;
out:
	pthread_mutex_unlock(fam->lock);
	return s ? &s->series : NULL;
}

struct metric_series *metrics_counter(struct metrics_registry *reg, const char *name,
				      const char *help, const char *labels,
				      const char *const *values)
{
	return metrics_series(metrics_family(reg, name, help, METRIC_COUNTER, labels), values);
}

struct metric_series *metrics_gauge(struct metrics_registry *reg, const char *name,
				    const char *help, const char *labels, const char *const *values)
{
	return metrics_series(metrics_family(reg, name, help, METRIC_GAUGE, labels), values);
}

double metric_get_value(const struct metric_series *s)
{
	union {
		double d;
		uint64_t u;
	} bits;

	if (!s)
		return 0;
	bits.u = atomic_load_explicit(&s->value_bits, memory_order_relaxed);
	return bits.d;
}

int metrics_add_collector(struct metrics_registry *reg, metrics_collect_fn fn, void *ctx)
{
	struct collector *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->ctx = ctx;
	pthread_mutex_lock(&reg->collect_lock);
	c->next = reg->collectors;
	reg->collectors = c;
	pthread_mutex_unlock(&reg->collect_lock);
	return 0;
}

void metrics_remove_collector(struct metrics_registry *reg, metrics_collect_fn fn, void *ctx)
{
	struct collector **p, *c;

	pthread_mutex_lock(&reg->collect_lock);
	for (p = &reg->collectors; (c = *p); p = &c->next) {
		if (c->fn == fn && c->ctx == ctx) {
			*p = c->next;
			free(c);
			break;
		}
	}
	pthread_mutex_unlock(&reg->collect_lock);
}

/* Label values are escaped as the text format requires: \\, \" and \n. */
static void write_label_value(FILE *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', out);
		if (*v == '\n') {
			fputs("\\n", out);
			continue;
		}
		fputc(*v, out);
	}
}

static void write_series(FILE *out, const struct metric_family *fam, const struct series_node *s)
{
	fputs(fam->name, out);
	if (fam->nlabels) {
		fputc('{', out);
		for (unsigned i = 0; i < fam->nlabels; i++) {
			fprintf(out, "%s%s=\"", i ? "," : "", fam->labels[i]);
			write_label_value(out, s->values[i]);
			fputc('"', out);
		}
		fputc('}', out);
	}
	if (fam->type == METRIC_COUNTER)
		fprintf(out, " %llu\n", (unsigned long long)metric_get_count(&s->series));
	else
		fprintf(out, " %.17g\n", metric_get_value(&s->series));
}

int metrics_write(struct metrics_registry *reg, FILE *out)
{
	struct collector *c;
	struct metric_family *fam;

	/* Collectors run outside `lock`: they call metrics_series(). */
	pthread_mutex_lock(&reg->collect_lock);
	for (c = reg->collectors; c; c = c->next)
		c->fn(c->ctx);
	pthread_mutex_unlock(&reg->collect_lock);

	pthread_mutex_lock(&reg->lock);
	for (fam = reg->families; fam; fam = fam->next) {
		if (!fam->series)
			continue;
		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name,
			fam->type == METRIC_COUNTER ? "counter" : "gauge");
		for (const struct series_node *s = fam->series; s; s = s->next)
			write_series(out, fam, s);
	}
	pthread_mutex_unlock(&reg->lock);
	return ferror(out) ? -EIO : 0;
}

int metrics_render(struct metrics_registry *reg, char **buf, size_t *len)
{
	FILE *out = open_memstream(buf, len);
	int r;

	if (!out)
		return -errno;
	r = metrics_write(reg, out);
	if (fclose(out) != 0 && r == 0)
		r = -errno;
	return r;
}
