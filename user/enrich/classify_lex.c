// SPDX-License-Identifier: AGPL-3.0-or-later
/* The classifier language's lexer: expr-lang's tokens as Akvorado's rules use
 * them (Go string escapes, word operators). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "common/text.h"

static const struct {
	const char *word;
	enum classify_tok tok;
} words[] = {
    {"and", CTOK_AND},
    {"or", CTOK_OR},
    {"not", CTOK_NOT},
    {"in", CTOK_IN},
    {"startsWith", CTOK_STARTS_WITH},
    {"endsWith", CTOK_ENDS_WITH},
    {"contains", CTOK_CONTAINS},
    {"matches", CTOK_MATCHES},
    {"true", CTOK_TRUE},
    {"false", CTOK_FALSE},
};

const char *classify_tok_name(enum classify_tok tok)
{
	static const char *const names[] = {
	    [CTOK_EOF] = "end of rule",
	    [CTOK_IDENT] = "a name",
	    [CTOK_STRING] = "a string",
	    [CTOK_NUMBER] = "a number",
	    [CTOK_TRUE] = "true",
	    [CTOK_FALSE] = "false",
	    [CTOK_LPAREN] = "(",
	    [CTOK_RPAREN] = ")",
	    [CTOK_LBRACKET] = "[",
	    [CTOK_RBRACKET] = "]",
	    [CTOK_COMMA] = ",",
	    [CTOK_AND] = "&&",
	    [CTOK_OR] = "||",
	    [CTOK_NOT] = "!",
	    [CTOK_EQ] = "==",
	    [CTOK_NE] = "!=",
	    [CTOK_LT] = "<",
	    [CTOK_LE] = "<=",
	    [CTOK_GT] = ">",
	    [CTOK_GE] = ">=",
	    [CTOK_IN] = "in",
	    [CTOK_STARTS_WITH] = "startsWith",
	    [CTOK_ENDS_WITH] = "endsWith",
	    [CTOK_CONTAINS] = "contains",
	    [CTOK_MATCHES] = "matches",
	    [CTOK_PLUS] = "+",
	    [CTOK_MINUS] = "-",
	    [CTOK_STAR] = "*",
	    [CTOK_SLASH] = "/",
	    [CTOK_PERCENT] = "%",
	};
	return (unsigned)tok < sizeof(names) / sizeof(names[0]) && names[tok] ? names[tok] : "?";
}

/* A quoted string at text[*pos] (the quote). Go's rules, as expr-lang:
 * "..." and '...' take escapes, `...` is raw. */
static int lex_string(const char *text, size_t *pos, struct classify_token *t, struct error *err)
{
	char quote = text[*pos];
	size_t i = *pos + 1, o = 0;
	char *buf = malloc(strlen(text) * 4 + 1);

	if (!buf)
		return error_set(err, -ENOMEM, "out of memory");
	for (;;) {
		char c = text[i];
		if (c == '\0') {
			free(buf);
			return error_set(err, -EINVAL, "column %u: string not terminated", t->col);
		}
		if (c == quote) {
			i++;
			break;
		}
		if (c != '\\' || quote == '`') {
			buf[o++] = c;
			i++;
			continue;
		}
		unsigned ecol = (unsigned)i + 1;
		c = text[++i];
		i++;
		switch (c) {
		case 'a':
			buf[o++] = '\a';
			break;
		case 'b':
			buf[o++] = '\b';
			break;
		case 'f':
			buf[o++] = '\f';
			break;
		case 'n':
			buf[o++] = '\n';
			break;
		case 'r':
			buf[o++] = '\r';
			break;
		case 't':
			buf[o++] = '\t';
			break;
		case 'v':
			buf[o++] = '\v';
			break;
		case '\\':
			buf[o++] = '\\';
			break;
		case '\'':
		case '"':
			buf[o++] = c;
			break;
		case 'x':
		case 'u':
		case 'U': {
			int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
			uint32_t v = 0;
			for (int k = 0; k < digits; k++, i++) {
				int h = text_hex_digit(text[i]);
				if (h < 0) {
					free(buf);
					return error_set(
					    err, -EINVAL,
					    "column %u: expected %d hex digits after \\%c", ecol,
					    digits, c);
				}
				v = v * 16 + (uint32_t)h;
			}
			if (c == 'x')
				buf[o++] = (char)v;
			else if (v > 0x10ffff) {
				free(buf);
				return error_set(err, -EINVAL, "column %u: invalid code point",
						 ecol);
			} else
				o += text_put_utf8(buf + o, v);
			break;
		}
		default:
			if (c >= '0' && c <= '7' && text[i] >= '0' && text[i] <= '7' &&
			    text[i + 1] >= '0' && text[i + 1] <= '7') {
				buf[o++] = (char)(((c - '0') << 6) | ((text[i] - '0') << 3) |
						  (text[i + 1] - '0'));
				i += 2;
				break;
			}
			free(buf);
			return error_set(
			    err, -EINVAL,
			    "column %u: invalid escape \\%c in a string (write \\\\ for a "
			    "backslash)",
			    ecol, c ? c : ' ');
		}
	}
	buf[o] = '\0';
	t->tok = CTOK_STRING;
	t->text = buf;
	t->len = o;
	*pos = i;
	return 0;
}

static int push(struct classify_token **v, size_t *n, size_t *cap, const struct classify_token *t)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct classify_token *nv = realloc(*v, c * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = *t;
	return 0;
}

int classify_lex(const char *text, struct classify_token **out, size_t *nout, struct error *err)
{
	struct classify_token *v = NULL;
	size_t n = 0, cap = 0, i = 0;
	int r = 0;

	for (;;) {
		struct classify_token t = {0};

		while (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')
			i++;
		t.col = (unsigned)i + 1;
		char c = text[i], d = c ? text[i + 1] : '\0';
		if (c == '\0') {
			t.tok = CTOK_EOF;
		} else if (isalpha((unsigned char)c) || c == '_') {
			size_t start = i;
			/* Dotted names (Exporter.Name) are one token. */
			while (isalnum((unsigned char)text[i]) || text[i] == '_' ||
			       (text[i] == '.' &&
				(isalpha((unsigned char)text[i + 1]) || text[i + 1] == '_')))
				i++;
			t.tok = CTOK_IDENT;
			for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++)
				if (strlen(words[k].word) == i - start &&
				    !memcmp(words[k].word, text + start, i - start))
					t.tok = words[k].tok;
			if (t.tok == CTOK_IDENT) {
				t.text = strndup(text + start, i - start);
				if (!t.text) {
					r = error_set(err, -ENOMEM, "out of memory");
					goto fail;
				}
				t.len = i - start;
			}
		} else if (isdigit((unsigned char)c)) {
			char *end;
			errno = 0;
			long long num = strtoll(text + i, &end, 0);
			if (errno || isalpha((unsigned char)*end) || *end == '.' || *end == '_') {
				r = error_set(err, -EINVAL, "column %u: expected an integer number",
					      t.col);
				goto fail;
			}
			t.tok = CTOK_NUMBER;
			t.num = num;
			i = (size_t)(end - text);
		} else if (c == '"' || c == '\'' || c == '`') {
			r = lex_string(text, &i, &t, err);
			if (r < 0)
				goto fail;
		} else {
			static const struct {
				const char *op;
				enum classify_tok tok;
			} ops[] = {
			    {"&&", CTOK_AND},	  {"||", CTOK_OR},    {"==", CTOK_EQ},
			    {"!=", CTOK_NE},	  {"<=", CTOK_LE},    {">=", CTOK_GE},
			    {"!", CTOK_NOT},	  {"<", CTOK_LT},     {">", CTOK_GT},
			    {"(", CTOK_LPAREN},	  {")", CTOK_RPAREN}, {"[", CTOK_LBRACKET},
			    {"]", CTOK_RBRACKET}, {",", CTOK_COMMA},  {"+", CTOK_PLUS},
			    {"-", CTOK_MINUS},	  {"*", CTOK_STAR},   {"/", CTOK_SLASH},
			    {"%", CTOK_PERCENT},
			};
			size_t k;
			for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
				size_t l = strlen(ops[k].op);
				if (c == ops[k].op[0] && (l == 1 || d == ops[k].op[1]))
					break;
			}
			if (k == sizeof(ops) / sizeof(ops[0])) {
				r = error_set(err, -EINVAL, "column %u: unexpected character '%c'",
					      t.col, c);
				goto fail;
			}
			t.tok = ops[k].tok;
			i += strlen(ops[k].op);
		}
		if (push(&v, &n, &cap, &t) < 0) {
			free(t.text);
			r = error_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		if (t.tok == CTOK_EOF)
			break;
	}
	*out = v;
	*nout = n;
	return 0;
fail:
	classify_tokens_free(v, n);
	*out = NULL;
	*nout = 0;
	return r;
}

void classify_tokens_free(struct classify_token *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].text);
	free(t);
}
