// SPDX-License-Identifier: AGPL-3.0-or-later
/* The filter language: a hand-written lexer and recursive-descent parser
 * (depth bounded, so hostile nesting is an error and not a stack overflow)
 * into a tree of typed conditions, and its SQL printer. Values never reach
 * the SQL as typed: numbers are re-printed from integers, addresses as hex
 * of their 16 bytes, strings re-escaped. AND and OR are n-ary nodes so a
 * long chain of terms does not make a deep tree. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter.h"
#include "json.h"

enum op {
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_INNET,
	OP_NOTINNET,
	OP_LIKE,
	OP_ILIKE,
	OP_UNLIKE,
	OP_IUNLIKE,
	OP_IN,
	OP_NOTIN,
};

struct value {
	uint64_t u[3];		/* numbers; communities use all three */
	uint8_t lo[16], hi[16]; /* addresses: the range (equal for one address) */
	char *s;		/* strings (and enum words), malloc'd */
	size_t slen;
};

enum node_kind { N_TRUE, N_AND, N_OR, N_NOT, N_COND };

struct node {
	enum node_kind kind;
	struct node **kids; /* AND, OR: nkids; NOT: one */
	size_t nkids;
	const struct filter_column *col, *col2; /* COND; col2 when compared to a column */
	enum op op;
	struct value *vals;
	size_t nvals;
};

struct filter {
	struct node *root;
	int consolidated;
};

struct parser {
	const char *s;
	size_t len, pos;
	int depth;
	int consolidated;
	struct filter_error *fe;
	int failed;
	int nomem;
};

/* ---- errors ---- */

static void fail_at(struct parser *p, size_t at, const char *fmt, ...)
{
	va_list ap;
	int line = 1, col = 1;

	if (p->failed)
		return;
	p->failed = 1;
	if (!p->fe)
		return;
	for (size_t i = 0; i < at && i < p->len; i++) {
		unsigned char c = (unsigned char)p->s[i];

		if (c == '\n') {
			line++;
			col = 1;
		} else if ((c & 0xc0) != 0x80) {
			col++;
		}
	}
	va_start(ap, fmt);
	vsnprintf(p->fe->message, sizeof(p->fe->message), fmt, ap);
	va_end(ap);
	p->fe->line = line;
	p->fe->column = col;
	p->fe->offset = (int)(at < p->len ? at : p->len);
}

static void *xcalloc(struct parser *p, size_t n, size_t size)
{
	void *v = calloc(n ? n : 1, size);

	if (!v && !p->failed) {
		p->nomem = 1;
		fail_at(p, p->pos, "out of memory");
	}
	return v;
}

/* ---- lexer ---- */

static void skip_blank(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			p->pos++;
		} else if (c == '-' && p->pos + 1 < p->len && p->s[p->pos + 1] == '-') {
			while (p->pos < p->len && p->s[p->pos] != '\n')
				p->pos++;
		} else if (c == '/' && p->pos + 1 < p->len && p->s[p->pos + 1] == '*') {
			size_t start = p->pos;

			p->pos += 2;
			while (p->pos + 1 < p->len &&
			       !(p->s[p->pos] == '*' && p->s[p->pos + 1] == '/'))
				p->pos++;
			if (p->pos + 1 >= p->len) {
				p->pos = p->len;
				fail_at(p, start, "unterminated comment");
				return;
			}
			p->pos += 2;
		} else {
			return;
		}
	}
}

static int is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* A keyword at the cursor (case-insensitive, whole word): consumed, 1. */
static int accept_word(struct parser *p, const char *kw)
{
	size_t n = strlen(kw);

	skip_blank(p);
	if (p->len - p->pos < n || strncasecmp(p->s + p->pos, kw, n) != 0)
		return 0;
	if (p->pos + n < p->len && is_word_char(p->s[p->pos + n]))
		return 0;
	p->pos += n;
	return 1;
}

static int accept_sym(struct parser *p, const char *sym)
{
	size_t n = strlen(sym);

	skip_blank(p);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, sym, n) != 0)
		return 0;
	p->pos += n;
	return 1;
}

static int at_end(struct parser *p)
{
	skip_blank(p);
	return p->pos >= p->len;
}

/* A bare value: letters, digits and . : / _ - (not "--"). Returns its length. */
static size_t bare_len(const struct parser *p)
{
	size_t i = p->pos;

	while (i < p->len) {
		char c = p->s[i];

		if (c == '-' && i + 1 < p->len && p->s[i + 1] == '-')
			break;
		if (!(is_word_char(c) || c == '.' || c == ':' || c == '/' || c == '-'))
			break;
		i++;
	}
	return i - p->pos;
}

/* A quoted string ("..." or '...', \ escapes the next byte): its value into
 * v->s. Returns 1 when there was one, 0 when the cursor is not on a quote. */
static int lex_string(struct parser *p, struct value *v)
{
	char q;
	size_t start = p->pos, n = 0;

	if (p->pos >= p->len || (p->s[p->pos] != '"' && p->s[p->pos] != '\''))
		return 0;
	q = p->s[p->pos++];
	v->s = xcalloc(p, p->len - p->pos + 1, 1);
	if (!v->s)
		return 1;
	while (p->pos < p->len && p->s[p->pos] != q) {
		if (p->s[p->pos] == '\\') {
			if (++p->pos >= p->len)
				break;
		}
		v->s[n++] = p->s[p->pos++];
	}
	if (p->pos >= p->len) {
		fail_at(p, start, "unterminated string");
		return 1;
	}
	p->pos++;
	v->slen = n;
	return 1;
}

/* ---- values ---- */

static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static const struct {
	const char *name;
	unsigned num;
} protos[] = {{"icmp", 1},   {"igmp", 2},	{"ipip", 4},	{"tcp", 6},   {"egp", 8},
	      {"udp", 17},   {"ipv6", 41},	{"rsvp", 46},	{"gre", 47},  {"esp", 50},
	      {"ah", 51},    {"ipv6-icmp", 58}, {"icmpv6", 58}, {"ospf", 89}, {"pim", 103},
	      {"vrrp", 112}, {"l2tp", 115},	{"sctp", 132}};

const char *filter_proto_name(unsigned num)
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].num == num)
			return protos[i].name;
	return NULL;
}

static int parse_addr(const char *s, size_t n, struct value *v)
{
	char buf[64];
	const char *slash;
	long plen = -1;
	struct in6_addr a;
	int v4 = 0;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	slash = strchr(buf, '/');
	if (slash) {
		char *end;

		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		plen = strtol(slash + 1, &end, 10);
		if (*end)
			return -1;
		*(char *)slash = '\0';
	}
	if (inet_pton(AF_INET, buf, &a.s6_addr[12]) == 1) {
		memset(a.s6_addr, 0, 10);
		a.s6_addr[10] = a.s6_addr[11] = 0xff;
		v4 = 1;
	} else if (inet_pton(AF_INET6, buf, &a) != 1) {
		return -1;
	}
	if (plen < 0)
		plen = 128;
	else if (v4 && plen > 32)
		return -1;
	else if (v4)
		plen += 96;
	else if (plen > 128)
		return -1;
	for (int i = 0; i < 16; i++) {
		int bits = (int)plen - i * 8;
		uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));

		v->lo[i] = a.s6_addr[i] & mask;
		v->hi[i] = a.s6_addr[i] | (uint8_t)~mask;
	}
	return 0;
}

static int parse_mac(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n != 17)
		return -1;
	for (size_t i = 0; i < 17; i++) {
		char c = s[i];

		if (i % 3 == 2) {
			if (c != ':')
				return -1;
			continue;
		}
		if (!isxdigit((unsigned char)c))
			return -1;
		v = v << 4 |
		    (uint64_t)(isdigit((unsigned char)c) ? c - '0' : (tolower(c) - 'a' + 10));
	}
	*out = v;
	return 0;
}

static const char *const boundaries[] = {"undefined", "external", "internal", NULL};
static const char *const directions[] = {"undefined", "ingress", "egress", NULL};

static int parse_word(const char *s, size_t n, const char *const *words, struct parser *p,
		      struct value *v)
{
	for (size_t i = 0; words[i]; i++)
		if (strlen(words[i]) == n && strncasecmp(words[i], s, n) == 0) {
			v->s = xcalloc(p, n + 1, 1);
			if (v->s) {
				memcpy(v->s, words[i], n);
				v->slen = n;
			}
			return 0;
		}
	return -1;
}

/* Splits "a:b[:c]" into numbers of at most max each. Returns the count or -1. */
static int parse_colon_nums(const char *s, size_t n, uint64_t max, uint64_t *out, int want)
{
	int k = 0;
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == ':') {
			if (k >= want || parse_u64(s + start, i - start, max, &out[k]) < 0)
				return -1;
			k++;
			start = i + 1;
		}
	}
	return k == want ? k : -1;
}

static const char *type_name(enum filter_type t)
{
	static const char *const names[] = {"an address",   "a quoted string", "a number",
					    "an AS number", "a MAC address",   "a boundary",
					    "a direction",  "an EType",	       "a protocol",
					    "an AS number", "a community",     "a large community"};
	return names[t];
}

/* One value for `col` at the cursor into v. */
static void parse_value(struct parser *p, const struct filter_column *col, struct value *v)
{
	size_t start, n;
	const char *s;
	int quoted;
	struct value tmp = {0};

	skip_blank(p);
	if (p->failed)
		return;
	start = p->pos;
	quoted = lex_string(p, &tmp);
	if (p->failed) {
		free(tmp.s);
		return;
	}
	if (col->type == FILTER_T_STRING) {
		if (!quoted) {
			fail_at(p, start, "%s expects a quoted string", col->name);
			return;
		}
		*v = tmp;
		return;
	}
	if (quoted) {
		s = tmp.s;
		n = tmp.slen;
	} else {
		s = p->s + p->pos;
		n = bare_len(p);
		p->pos += n;
		if (n == 0) {
			fail_at(p, start, "%s expects %s", col->name, type_name(col->type));
			return;
		}
	}
	int bad = 0;

	switch (col->type) {
	case FILTER_T_ADDR:
		bad = parse_addr(s, n, v);
		break;
	case FILTER_T_UINT:
		bad = parse_u64(s, n, col->bits == 64 ? UINT64_MAX : (1ull << col->bits) - 1,
				&v->u[0]);
		break;
	case FILTER_T_ASN:
	case FILTER_T_ASPATH:
		if (n > 2 && strncasecmp(s, "AS", 2) == 0) {
			s += 2;
			n -= 2;
		}
		bad = parse_u64(s, n, UINT32_MAX, &v->u[0]);
		break;
	case FILTER_T_MAC:
		bad = parse_mac(s, n, &v->u[0]);
		break;
	case FILTER_T_BOUNDARY:
		bad = parse_word(s, n, boundaries, p, v);
		break;
	case FILTER_T_DIRECTION:
		bad = parse_word(s, n, directions, p, v);
		break;
	case FILTER_T_ETYPE:
		if (n == 4 && strncasecmp(s, "IPv4", 4) == 0)
			v->u[0] = 0x0800;
		else if (n == 4 && strncasecmp(s, "IPv6", 4) == 0)
			v->u[0] = 0x86dd;
		else
			bad = -1;
		break;
	case FILTER_T_PROTO:
		bad = parse_u64(s, n, 255, &v->u[0]);
		for (size_t i = 0; bad && i < sizeof(protos) / sizeof(protos[0]); i++)
			if (strlen(protos[i].name) == n && strncasecmp(protos[i].name, s, n) == 0) {
				v->u[0] = protos[i].num;
				bad = 0;
			}
		break;
	case FILTER_T_COMMUNITY:
		bad = parse_colon_nums(s, n, 65535, v->u, 2) < 0;
		break;
	case FILTER_T_LCOMMUNITY:
		bad = parse_colon_nums(s, n, UINT32_MAX, v->u, 3) < 0;
		break;
	case FILTER_T_STRING:
		break;
	}
	if (bad && !p->failed)
		fail_at(p, start, "%s expects %s, not \"%.*s\"", col->name, type_name(col->type),
			(int)(n > 40 ? 40 : n), s);
	free(tmp.s);
}

/* ---- the tree ---- */

static void node_free(struct node *n);

static void node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	for (size_t i = 0; i < n->nvals; i++)
		free(n->vals[i].s);
	free(n->vals);
	free(n);
}

static int push_kid(struct parser *p, struct node *n, struct node *kid, size_t *cap)
{
	if (n->nkids == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		struct node **k = realloc(n->kids, nc * sizeof(*k));

		if (!k) {
			p->nomem = 1;
			fail_at(p, p->pos, "out of memory");
			node_free(kid);
			return -1;
		}
		n->kids = k;
		*cap = nc;
	}
	n->kids[n->nkids++] = kid;
	return 0;
}

static int op_allowed(enum filter_type t, enum op op)
{
	switch (t) {
	case FILTER_T_ADDR:
		return op == OP_EQ || op == OP_NE || op == OP_INNET || op == OP_NOTINNET ||
		       op == OP_IN || op == OP_NOTIN;
	case FILTER_T_STRING:
		return op == OP_EQ || op == OP_NE || (op >= OP_LIKE && op <= OP_NOTIN);
	case FILTER_T_UINT:
	case FILTER_T_ASN:
	case FILTER_T_PROTO:
		return op <= OP_GE || op == OP_IN || op == OP_NOTIN;
	case FILTER_T_MAC:
	case FILTER_T_BOUNDARY:
	case FILTER_T_DIRECTION:
	case FILTER_T_ETYPE:
		return op == OP_EQ || op == OP_NE || op == OP_IN || op == OP_NOTIN;
	case FILTER_T_ASPATH:
	case FILTER_T_COMMUNITY:
	case FILTER_T_LCOMMUNITY:
		return op == OP_EQ || op == OP_NE;
	}
	return 0;
}

static const struct {
	const char *text;
	enum op op;
	int word;
} ops[] = {{"!<<", OP_NOTINNET, 0},  {"<<", OP_INNET, 0},    {"!=", OP_NE, 0},
	   {"<=", OP_LE, 0},	     {">=", OP_GE, 0},	     {"=", OP_EQ, 0},
	   {"<", OP_LT, 0},	     {">", OP_GT, 0},	     {"IUNLIKE", OP_IUNLIKE, 1},
	   {"UNLIKE", OP_UNLIKE, 1}, {"ILIKE", OP_ILIKE, 1}, {"LIKE", OP_LIKE, 1},
	   {"NOTIN", OP_NOTIN, 1},   {"IN", OP_IN, 1}};

static struct node *parse_cond(struct parser *p)
{
	size_t start, n, cap = 0;
	const struct filter_column *col;
	struct node *node;
	int found = 0;

	skip_blank(p);
	start = p->pos;
	n = 0;
	while (p->pos + n < p->len && is_word_char(p->s[p->pos + n]))
		n++;
	if (n == 0) {
		if (p->pos >= p->len)
			fail_at(p, start, "expected a column name, got the end of the filter");
		else
			fail_at(p, start, "expected a column name");
		return NULL;
	}
	col = filter_column_find(p->s + start, n);
	if (!col) {
		fail_at(p, start, "unknown column \"%.*s\"", (int)(n > 40 ? 40 : n), p->s + start);
		return NULL;
	}
	p->pos += n;
	if (!(col->flags & FILTER_COL_CONSOLIDATED))
		p->consolidated = 0;
	node = xcalloc(p, 1, sizeof(*node));
	if (!node)
		return NULL;
	node->kind = N_COND;
	node->col = col;
	skip_blank(p);
	size_t opat = p->pos;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].word ? accept_word(p, ops[i].text) : accept_sym(p, ops[i].text)) {
			node->op = ops[i].op;
			found = 1;
			break;
		}
	if (!found) {
		fail_at(p, opat, "expected an operator after %s", col->name);
		goto fail;
	}
	if (!op_allowed(col->type, node->op)) {
		fail_at(p, opat, "operator not allowed on %s (%s)", col->name,
			type_name(col->type));
		goto fail;
	}
	/* Another column of the same type (SrcPort < DstPort). */
	if ((col->type == FILTER_T_UINT || col->type == FILTER_T_ASN) && node->op <= OP_GE) {
		size_t save = p->pos, m = 0;

		skip_blank(p);
		while (p->pos + m < p->len && is_word_char(p->s[p->pos + m]))
			m++;
		const struct filter_column *c2 = m && isalpha((unsigned char)p->s[p->pos])
						     ? filter_column_find(p->s + p->pos, m)
						     : NULL;
		if (c2 && c2->type == col->type && c2->bits == col->bits) {
			node->col2 = c2;
			p->pos += m;
			if (!(c2->flags & FILTER_COL_CONSOLIDATED))
				p->consolidated = 0;
			return node;
		}
		if (c2) {
			fail_at(p, p->pos, "%s and %s are not of the same type", col->name,
				c2->name);
			goto fail;
		}
		p->pos = save;
	}
	if (node->op == OP_IN || node->op == OP_NOTIN) {
		if (!accept_sym(p, "(")) {
			fail_at(p, p->pos, "expected ( after IN");
			goto fail;
		}
		do {
			if (node->nvals == cap) {
				size_t nc = cap ? cap * 2 : 4;
				struct value *v = realloc(node->vals, nc * sizeof(*v));

				if (!v) {
					p->nomem = 1;
					fail_at(p, p->pos, "out of memory");
					goto fail;
				}
				node->vals = v;
				cap = nc;
			}
			memset(&node->vals[node->nvals], 0, sizeof(node->vals[0]));
			parse_value(p, col, &node->vals[node->nvals++]);
			if (p->failed)
				goto fail;
		} while (accept_sym(p, ","));
		if (!accept_sym(p, ")")) {
			fail_at(p, p->pos, "expected , or ) in the list");
			goto fail;
		}
		return node;
	}
	node->vals = xcalloc(p, 1, sizeof(*node->vals));
	if (!node->vals)
		goto fail;
	node->nvals = 1;
	parse_value(p, col, &node->vals[0]);
	if (p->failed)
		goto fail;
	if ((node->op == OP_INNET || node->op == OP_NOTINNET) && col->type != FILTER_T_ADDR)
		goto fail;
	return node;
fail:
	node_free(node);
	return NULL;
}

static struct node *parse_or(struct parser *p);

static struct node *parse_unary(struct parser *p)
{
	struct node *n, *kid;
	size_t at;

	skip_blank(p);
	at = p->pos;
	if (p->failed)
		return NULL;
	if (accept_word(p, "NOT") ||
	    (p->pos < p->len && p->s[p->pos] == '!' &&
	     (p->pos + 1 >= p->len || p->s[p->pos + 1] != '=') && accept_sym(p, "!"))) {
		if (++p->depth > FILTER_MAX_DEPTH) {
			fail_at(p, at, "filter nested too deeply (more than %d levels)",
				FILTER_MAX_DEPTH);
			return NULL;
		}
		kid = parse_unary(p);
		p->depth--;
		if (!kid)
			return NULL;
		n = xcalloc(p, 1, sizeof(*n));
		if (!n) {
			node_free(kid);
			return NULL;
		}
		n->kind = N_NOT;
		n->kids = xcalloc(p, 1, sizeof(*n->kids));
		if (!n->kids) {
			free(n);
			node_free(kid);
			return NULL;
		}
		n->kids[0] = kid;
		n->nkids = 1;
		return n;
	}
	if (accept_sym(p, "(")) {
		if (++p->depth > FILTER_MAX_DEPTH) {
			fail_at(p, at, "filter nested too deeply (more than %d levels)",
				FILTER_MAX_DEPTH);
			return NULL;
		}
		n = parse_or(p);
		p->depth--;
		if (!n)
			return NULL;
		if (!accept_sym(p, ")")) {
			fail_at(p, p->pos, "expected ) to close the ( at offset %zu", at);
			node_free(n);
			return NULL;
		}
		return n;
	}
	return parse_cond(p);
}

/* kind: N_AND (terms joined by AND / &&) or N_OR. */
static struct node *parse_list(struct parser *p, enum node_kind kind)
{
	struct node *first, *n;
	size_t cap = 0;
	const char *word = kind == N_AND ? "AND" : "OR", *sym = kind == N_AND ? "&&" : "||";

	first = kind == N_AND ? parse_unary(p) : parse_list(p, N_AND);
	if (!first)
		return NULL;
	if (!accept_word(p, word) && !accept_sym(p, sym))
		return first;
	n = xcalloc(p, 1, sizeof(*n));
	if (!n) {
		node_free(first);
		return NULL;
	}
	n->kind = kind;
	if (push_kid(p, n, first, &cap) < 0)
		goto fail;
	do {
		struct node *k = kind == N_AND ? parse_unary(p) : parse_list(p, N_AND);

		if (!k || push_kid(p, n, k, &cap) < 0)
			goto fail;
	} while (accept_word(p, word) || accept_sym(p, sym));
	return n;
fail:
	node_free(n);
	return NULL;
}

static struct node *parse_or(struct parser *p)
{
	return parse_list(p, N_OR);
}

int filter_parse(const char *text, size_t len, struct filter **out, struct filter_error *fe)
{
	struct parser p = {
	    .s = text ? text : "", .len = text ? len : 0, .fe = fe, .consolidated = 1};
	struct filter *f;
	struct node *root;

	*out = NULL;
	if (fe)
		memset(fe, 0, sizeof(*fe));
	for (size_t i = 0; i < p.len; i++)
		if (p.s[i] == '\0') {
			fail_at(&p, i, "NUL byte in the filter");
			return -EINVAL;
		}
	if (at_end(&p)) {
		if (p.failed)
			return -EINVAL;
		root = calloc(1, sizeof(*root)); /* N_TRUE */
	} else {
		root = parse_or(&p);
		if (root && !at_end(&p)) {
			if (!p.failed)
				fail_at(&p, p.pos, "expected AND, OR or the end of the filter");
			node_free(root);
			root = NULL;
		}
		if (!root)
			return p.nomem ? -ENOMEM : -EINVAL;
	}
	f = calloc(1, sizeof(*f));
	if (!root || !f) {
		node_free(root);
		free(f);
		return -ENOMEM;
	}
	f->root = root;
	f->consolidated = p.consolidated;
	*out = f;
	return 0;
}

void filter_free(struct filter *f)
{
	if (!f)
		return;
	node_free(f->root);
	free(f);
}

int filter_consolidated(const struct filter *f)
{
	return f ? f->consolidated : 1;
}

/* ---- SQL ---- */

size_t filter_quote(const char *s, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	out[n++] = '\'';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\'' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		} else {
			out[n++] = (char)c;
		}
	}
	out[n++] = '\'';
	return n;
}

static void put_quoted(struct buf *b, const char *s, size_t len)
{
	char *at = jb_reserve(b, 4 * len + 3);

	if (at) {
		b->len += filter_quote(s, len, at);
		b->data[b->len] = '\0';
	}
}

static void put_hex16(struct buf *b, const uint8_t *a)
{
	buf_printf(b, "unhex('");
	for (int i = 0; i < 16; i++)
		buf_printf(b, "%02x", a[i]);
	buf_printf(b, "')");
}

/* One value compared with `name` for = (eq) or != (!eq): the SQL of "name
 * equals/contains v". */
static void put_match(struct buf *b, const char *name, const struct filter_column *col,
		      const struct value *v)
{
	switch (col->type) {
	case FILTER_T_ADDR:
		if (!memcmp(v->lo, v->hi, 16)) {
			buf_printf(b, "%s = ", name);
			put_hex16(b, v->lo);
		} else {
			buf_printf(b, "(%s >= ", name);
			put_hex16(b, v->lo);
			buf_printf(b, " AND %s <= ", name);
			put_hex16(b, v->hi);
			buf_printf(b, ")");
		}
		return;
	case FILTER_T_ASPATH:
		buf_printf(b, "has(%s, %llu)", name, (unsigned long long)v->u[0]);
		return;
	case FILTER_T_COMMUNITY:
		buf_printf(b, "has(%s, %llu)", name, (unsigned long long)(v->u[0] << 16 | v->u[1]));
		return;
	case FILTER_T_LCOMMUNITY:
		buf_printf(b,
			   "arrayExists((x, y, z) -> x = %llu AND y = %llu AND z = %llu, %s.ASN, "
			   "%s.LocalData1, %s.LocalData2)",
			   (unsigned long long)v->u[0], (unsigned long long)v->u[1],
			   (unsigned long long)v->u[2], name, name, name);
		return;
	case FILTER_T_STRING:
	case FILTER_T_BOUNDARY:
	case FILTER_T_DIRECTION:
		buf_printf(b, "%s = ", name);
		put_quoted(b, v->s, v->slen);
		return;
	default:
		buf_printf(b, "%s = %llu", name, (unsigned long long)v->u[0]);
		return;
	}
}

static void put_cond(struct buf *b, const struct node *n, int reverse)
{
	const struct filter_column *col = n->col;
	const char *name = reverse ? col->reverse : col->name;
	static const char *const cmp[] = {"=", "!=", "<", "<=", ">", ">="};

	if (n->col2) {
		buf_printf(b, "%s %s %s", name, cmp[n->op],
			   reverse ? n->col2->reverse : n->col2->name);
		return;
	}
	switch (n->op) {
	case OP_EQ:
	case OP_INNET:
		put_match(b, name, col, &n->vals[0]);
		return;
	case OP_NE:
	case OP_NOTINNET:
		buf_printf(b, "NOT (");
		put_match(b, name, col, &n->vals[0]);
		buf_printf(b, ")");
		return;
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		buf_printf(b, "%s %s %llu", name, cmp[n->op], (unsigned long long)n->vals[0].u[0]);
		return;
	case OP_LIKE:
	case OP_UNLIKE:
		buf_printf(b, "%s%s LIKE ", n->op == OP_UNLIKE ? "NOT " : "", name);
		put_quoted(b, n->vals[0].s, n->vals[0].slen);
		return;
	case OP_ILIKE:
	case OP_IUNLIKE:
		/* No ILIKE on ClickHouse 18.16. */
		buf_printf(b, "%slower(%s) LIKE lower(", n->op == OP_IUNLIKE ? "NOT " : "", name);
		put_quoted(b, n->vals[0].s, n->vals[0].slen);
		buf_printf(b, ")");
		return;
	case OP_IN:
	case OP_NOTIN:
		buf_printf(b, "%s(", n->op == OP_NOTIN ? "NOT " : "");
		for (size_t i = 0; i < n->nvals; i++) {
			if (i)
				buf_printf(b, " OR ");
			put_match(b, name, col, &n->vals[i]);
		}
		buf_printf(b, ")");
		return;
	}
}

/* Iterative over AND/OR lists; recursion only through nesting, which the
 * parser bounded. */
static void put_node(struct buf *b, const struct node *n, int reverse)
{
	switch (n->kind) {
	case N_TRUE:
		buf_printf(b, "1");
		return;
	case N_COND:
		put_cond(b, n, reverse);
		return;
	case N_NOT:
		buf_printf(b, "NOT (");
		put_node(b, n->kids[0], reverse);
		buf_printf(b, ")");
		return;
	case N_AND:
	case N_OR:
		buf_printf(b, "(");
		for (size_t i = 0; i < n->nkids; i++) {
			if (i)
				buf_printf(b, n->kind == N_AND ? " AND " : " OR ");
			put_node(b, n->kids[i], reverse);
		}
		buf_printf(b, ")");
		return;
	}
}

int filter_sql(const struct filter *f, int reverse, char **out)
{
	struct buf b = {0};
	size_t len;

	*out = NULL;
	if (!f)
		buf_printf(&b, "1");
	else
		put_node(&b, f->root, reverse);
	*out = jb_take(&b, &len);
	return *out ? 0 : -ENOMEM;
}
