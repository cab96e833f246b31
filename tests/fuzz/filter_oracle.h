/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The filter's SQL oracle (fuzz_filter and the unit tests): the SQL printed
 * for any filter may hold only schema column names, a few keywords and
 * functions, operators, numbers and well-formed string literals, with
 * balanced parentheses. Returns 0 when it does, else -1 with *why set. */
#ifndef WEIR_FILTER_ORACLE_H
#define WEIR_FILTER_ORACLE_H

#include <ctype.h>
#include <string.h>

#include "console/filter.h"

static int oracle_word_ok(const char *w, size_t n, char next)
{
	static const char *const kw[] = {"AND", "OR", "NOT", "LIKE", "x", "y", "z", NULL};
	static const char *const fn[] = {"unhex", "has", "lower", "arrayExists", NULL};
	static const char *const sub[] = {".ASN", ".LocalData1", ".LocalData2", NULL};

	for (size_t i = 0; kw[i]; i++)
		if (strlen(kw[i]) == n && !memcmp(kw[i], w, n))
			return 1;
	for (size_t i = 0; fn[i]; i++)
		if (strlen(fn[i]) == n && !memcmp(fn[i], w, n))
			return next == '(';
	for (size_t i = 0; i < filter_columns_count; i++) {
		const struct filter_column *c = &filter_columns[i];
		size_t cl = strlen(c->name);

		if (cl == n && !memcmp(c->name, w, n))
			return 1;
		if (c->type == FILTER_T_LCOMMUNITY && n > cl && !memcmp(c->name, w, cl))
			for (size_t k = 0; sub[k]; k++)
				if (strlen(sub[k]) == n - cl && !memcmp(sub[k], w + cl, n - cl))
					return 1;
	}
	return 0;
}

static int filter_oracle_check(const char *sql, const char **why)
{
	long depth = 0;
	size_t i = 0, n = strlen(sql);

	while (i < n) {
		unsigned char c = (unsigned char)sql[i];

		if (c == ' ') {
			i++;
		} else if (c == '(') {
			depth++;
			i++;
		} else if (c == ')') {
			if (--depth < 0)
				return *why = "unbalanced )", -1;
			i++;
		} else if (c == ',' || c == '=' || c == '<' || c == '>') {
			i++;
		} else if (c == '!' && sql[i + 1] == '=') {
			i += 2;
		} else if (c == '-' && sql[i + 1] == '>') {
			i += 2;
		} else if (isdigit(c)) {
			while (i < n && isdigit((unsigned char)sql[i]))
				i++;
			if (i < n && (isalpha((unsigned char)sql[i]) || sql[i] == '_'))
				return *why = "number glued to a word", -1;
		} else if (c == '\'') {
			i++;
			for (;;) {
				if (i >= n)
					return *why = "unterminated string literal", -1;
				if (sql[i] == '\'')
					break;
				if ((unsigned char)sql[i] < 0x20)
					return *why = "raw control byte in a literal", -1;
				if (sql[i] == '\\') {
					if (sql[i + 1] == 'x') {
						if (!isxdigit((unsigned char)sql[i + 2]) ||
						    !isxdigit((unsigned char)sql[i + 3]))
							return *why = "bad \\x escape", -1;
						i += 4;
					} else if (sql[i + 1] == '\'' || sql[i + 1] == '\\') {
						i += 2;
					} else {
						return *why = "bad escape", -1;
					}
				} else {
					i++;
				}
			}
			i++;
		} else if (isalpha(c) || c == '_') {
			size_t s = i;

			while (i < n &&
			       (isalnum((unsigned char)sql[i]) || sql[i] == '_' || sql[i] == '.'))
				i++;
			if (!oracle_word_ok(sql + s, i - s, sql[i]))
				return *why = "a word that is no column, keyword or function", -1;
		} else {
			return *why = "unexpected character", -1;
		}
	}
	if (depth)
		return *why = "unbalanced (", -1;
	return 0;
}

#endif
