// SPDX-License-Identifier: AGPL-3.0-or-later
/* What the query endpoint lets through to the engine's read-only session:
 * one statement that reads (SELECT, WITH, SHOW, DESCRIBE, EXISTS, EXPLAIN),
 * and none of what readonly=1 does not stop (found on 26.7: the file()
 * function reads any file, INTO OUTFILE writes one, DESCRIBE file()/url()
 * reads or connects, KILL QUERY runs, a second statement after ';' runs). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "console_internal.h"

/* Functions (and table functions) that reach files, other hosts or
 * programs; a trailing '*' matches the names that start so. Refused
 * wherever the word is followed by '(' (in a string too: better refuse a
 * query than read /etc/shadow). readonly=1 stops most of them as table
 * functions already; this list also covers the function forms and
 * DESCRIBE, which it does not. */
static const char *const denied_functions[] = {
    "file",  "filecluster", "url",	"urlcluster",  "s3*",	      "gcs",	     "cosn",
    "oss",   "remote*",	    "cluster*", "mysql*",      "postgresql*", "hdfs*",	     "input",
    "jdbc",  "odbc",	    "sqlite",	"executable*", "azure*",      "iceberg*",    "deltalake*",
    "hudi*", "paimon*",	    "mongodb",	"redis",       "ytsaurus",    "arrowflight",
};

/* Words refused anywhere: INTO OUTFILE, and KILL (which readonly=1 runs). */
static const char *const denied_words[] = {"outfile", "kill"};

static const char *const read_statements[] = {"SELECT", "WITH",	  "SHOW",   "DESCRIBE",
					      "DESC",	"EXISTS", "EXPLAIN"};

static int ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static int word_match(const char *w, size_t n, const char *pattern)
{
	size_t pn = strlen(pattern);

	if (pn && pattern[pn - 1] == '*')
		return n >= pn - 1 && strncasecmp(w, pattern, pn - 1) == 0;
	return n == pn && strncasecmp(w, pattern, n) == 0;
}

/* The end of a comment starting at p (none: p). ClickHouse's: "--" and
 * "#" to the end of the line, nested slash-star comments. */
static const char *skip_comment(const char *p, const char *end)
{
	if ((p + 1 < end && p[0] == '-' && p[1] == '-') || p[0] == '#') {
		while (p < end && *p != '\n')
			p++;
		return p;
	}
	if (p + 1 < end && p[0] == '/' && p[1] == '*') {
		int depth = 0;

		while (p < end) {
			if (p + 1 < end && p[0] == '/' && p[1] == '*') {
				depth++;
				p += 2;
			} else if (p + 1 < end && p[0] == '*' && p[1] == '/') {
				p += 2;
				if (--depth == 0)
					return p;
			} else {
				p++;
			}
		}
		return end;
	}
	return p;
}

static const char *skip_space(const char *p, const char *end)
{
	for (;;) {
		const char *q;

		while (p < end && isspace((unsigned char)*p))
			p++;
		q = p < end ? skip_comment(p, end) : p;
		if (q == p)
			return p;
		p = q;
	}
}

/* The end of a quoted string or name starting at p (its quote char). */
static const char *skip_quoted(const char *p, const char *end)
{
	char q = *p++;

	while (p < end && *p != q) {
		if (*p == '\\' && p + 1 < end)
			p++;
		p++;
	}
	return p < end ? p + 1 : end;
}

/* A heredoc $tag$...$tag$ at p: its end, or NULL when p starts none. */
static const char *skip_heredoc(const char *p, const char *end)
{
	const char *t = p + 1;
	size_t n;

	while (t < end && ident_char(*t))
		t++;
	if (t >= end || *t != '$')
		return NULL;
	n = (size_t)(t + 1 - p);
	for (const char *q = t + 1; q + n <= end; q++)
		if (*q == '$' && memcmp(q, p, n) == 0)
			return q + n;
	return end;
}

static int refuse(int code, char *why, size_t size, const char *fmt, const char *arg, int len)
{
	snprintf(why, size, fmt, len, arg);
	return code;
}

int console_sql_check(const char *sql, size_t len, char *format, size_t fsize, char *why,
		      size_t wsize)
{
	const char *end = sql + len, *p, *first = NULL;
	size_t first_len = 0;
	int ok = 0, after_format = 0;

	if (fsize)
		format[0] = 0;
	/* Raw scans first, blind to quotes and comments on purpose: they
	 * cannot be fooled by a way of quoting this file lexes otherwise. */
	for (p = sql; p < end; p++) {
		const char *w = p;
		size_t n;

		if (*p == 0)
			return refuse(62, why, wsize, "Syntax error: a NUL byte in the query%.*s",
				      "", 0);
		if (*p == ';') {
			const char *q = p + 1;

			while (q < end && isspace((unsigned char)*q))
				q++;
			if (q < end)
				return refuse(62, why, wsize,
					      "Multi-statements are not allowed%.*s", "", 0);
			continue;
		}
		if (!ident_char(*p) || (p > sql && ident_char(p[-1])))
			continue;
		while (p < end && ident_char(*p))
			p++;
		n = (size_t)(p - w);
		for (size_t i = 0; i < sizeof(denied_words) / sizeof(denied_words[0]); i++)
			if (word_match(w, n, denied_words[i]))
				return refuse(164, why, wsize,
					      "%.*s is not allowed on the read-only query endpoint",
					      w, (int)n);
		for (size_t i = 0; i < sizeof(denied_functions) / sizeof(denied_functions[0]);
		     i++) {
			const char *q;

			if (!word_match(w, n, denied_functions[i]))
				continue;
			q = p;
			if (q < end && (*q == '`' || *q == '"'))
				q++;
			q = skip_space(q, end);
			if (q < end && *q == '(')
				return refuse(
				    497, why, wsize,
				    "%.*s() reaches files, hosts or programs: not allowed on the "
				    "read-only query endpoint",
				    w, (int)n);
		}
		p--;
	}
	/* Then the tokens: the first word, quoted names called as functions
	 * (their escapes could spell any name), the FORMAT clause. */
	for (p = sql; p < end;) {
		const char *q = skip_space(p, end);

		if (q != p) {
			p = q;
			continue;
		}
		if (*p == '\'' || *p == '`' || *p == '"') {
			char quote = *p;

			p = skip_quoted(p, end);
			if (quote != '\'' && (q = skip_space(p, end)) < end && *q == '(')
				return refuse(497, why, wsize,
					      "quoted function names are not allowed on the "
					      "read-only query endpoint%.*s",
					      "", 0);
			after_format = 0;
			continue;
		}
		if (*p == '$' && (q = skip_heredoc(p, end))) {
			p = q;
			after_format = 0;
			continue;
		}
		if (ident_char(*p)) {
			const char *w = p;

			while (p < end && ident_char(*p))
				p++;
			if (!first && !isdigit((unsigned char)*w)) {
				first = w;
				first_len = (size_t)(p - w);
			}
			if (after_format && fsize)
				snprintf(format, fsize, "%.*s", (int)(p - w), w);
			after_format = word_match(w, (size_t)(p - w), "format");
			continue;
		}
		if (!first && *p != '(')
			first = p, first_len = 1;
		after_format = 0;
		p++;
	}
	if (!first)
		return refuse(62, why, wsize, "Empty query%.*s", "", 0);
	for (size_t i = 0; i < sizeof(read_statements) / sizeof(read_statements[0]); i++)
		ok |= word_match(first, first_len, read_statements[i]);
	if (!ok)
		return refuse(164, why, wsize,
			      "Cannot execute query in readonly mode: %.*s (the query endpoint "
			      "runs SELECT, WITH, SHOW, DESCRIBE, EXISTS and EXPLAIN only)",
			      first, (int)(first_len > 32 ? 32 : first_len));
	return 0;
}
