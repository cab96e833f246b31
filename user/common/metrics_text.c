// SPDX-License-Identifier: AGPL-3.0-or-later
/* The Prometheus text format (version 0.0.4) read back: one sample per line,
 * parsed in place in a copy of the text (names, keys and unescaped values
 * are NUL-terminated where they stand). */
#include "metrics_text.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int is_name_char(char c, int first)
{
	return isalpha((unsigned char)c) || c == '_' || c == ':' ||
	       (!first && isdigit((unsigned char)c));
}

/* Reads a name at *p; NUL-terminates it later (the caller), returns its end. */
static char *name_end(char *p)
{
	if (!is_name_char(*p, 1))
		return NULL;
	while (is_name_char(*p, 0))
		p++;
	return p;
}

/* Parses one line (NUL-terminated, no newline) into `s`. 0 or -EINVAL with
 * a reason in *why. */
static int parse_line(char *p, struct metrics_sample *s, const char **why)
{
	char *end = name_end(p), *v;

	memset(s, 0, sizeof(*s));
	if (!end)
		return *why = "no metric name", -EINVAL;
	s->name = p;
	p = end;
	if (*p == '{') {
		*p++ = 0;
		while (*p != '}') {
			char *key = p, *out;

			end = name_end(p);
			if (!end || end[0] != '=' || end[1] != '"')
				return *why = "bad label", -EINVAL;
			if (s->nlabels == METRICS_TEXT_MAX_LABELS)
				return *why = "too many labels", -EINVAL;
			*end = 0;
			p = out = v = end + 2;
			/* Undo the escapes (\\, \", \n) in place. */
			while (*p && *p != '"') {
				if (*p == '\\' && p[1]) {
					p++;
					*out++ = *p == 'n' ? '\n' : *p;
					p++;
				} else {
					*out++ = *p++;
				}
			}
			if (*p != '"')
				return *why = "unterminated label value", -EINVAL;
			p++;
			*out = 0;
			s->keys[s->nlabels] = key;
			s->values[s->nlabels++] = v;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return *why = "bad label list", -EINVAL;
		}
		p++;
	} else if (*p != ' ' && *p != '\t') {
		return *why = "bad metric name", -EINVAL;
	} else {
		*p++ = 0;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return *why = "no value", -EINVAL;
	s->value = strtod(p, &end);
	if (end == p || (*end && *end != ' ' && *end != '\t'))
		return *why = "bad value", -EINVAL;
	return 0; /* (a timestamp may follow: not used) */
}

int metrics_text_parse(struct metrics_text *m, const char *text, size_t len, struct error *err)
{
	size_t lines = 1, lineno = 0;
	char *p, *next;

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	m->buf = malloc(len + 1);
	m->samples = calloc(lines, sizeof(*m->samples));
	if (!m->buf || !m->samples) {
		metrics_text_fini(m);
		return error_set(err, -ENOMEM, "metrics: out of memory for %zu lines", lines);
	}
	memcpy(m->buf, text, len);
	m->buf[len] = 0;
	for (p = m->buf; p && *p; p = next) {
		const char *why = NULL;
		char *cr;

		lineno++;
		next = strchr(p, '\n');
		if (next)
			*next++ = 0;
		cr = strchr(p, '\r');
		if (cr)
			*cr = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		if (parse_line(p, &m->samples[m->count], &why) < 0) {
			metrics_text_fini(m);
			return error_set(err, -EINVAL, "metrics line %zu: %s", lineno, why);
		}
		m->count++;
	}
	return 0;
}

void metrics_text_fini(struct metrics_text *m)
{
	free(m->samples);
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

const char *metrics_sample_label(const struct metrics_sample *s, const char *key)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (strcmp(s->keys[i], key) == 0)
			return s->values[i];
	return NULL;
}
