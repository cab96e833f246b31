/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Internal: the classifier language (Akvorado's exporter-classifiers and
 * interface-classifiers, a subset of expr-lang): lexer, parser and type
 * checker producing a small tree, and its evaluator. Rules are compiled once
 * at configuration load; regular expressions (PCRE2) too. */
#ifndef WEIR_ENRICH_CLASSIFY_H
#define WEIR_ENRICH_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"

enum classify_kind {
	CLASSIFY_EXPORTER,
	CLASSIFY_INTERFACE,
};

#define CLASSIFY_VALUE_MAX 256 /* bytes kept of a classified value, NUL included */

/* ---- lexer (classify_lex.c) ---- */
enum classify_tok {
	CTOK_EOF,
	CTOK_IDENT, /* Exporter.Name, ClassifyRegion, startsWith... */
	CTOK_STRING,
	CTOK_NUMBER,
	CTOK_TRUE,
	CTOK_FALSE,
	CTOK_LPAREN,
	CTOK_RPAREN,
	CTOK_LBRACKET,
	CTOK_RBRACKET,
	CTOK_COMMA,
	CTOK_AND, /* && and */
	CTOK_OR,  /* || or */
	CTOK_NOT, /* ! not */
	CTOK_EQ,
	CTOK_NE,
	CTOK_LT,
	CTOK_LE,
	CTOK_GT,
	CTOK_GE,
	CTOK_IN,
	CTOK_STARTS_WITH,
	CTOK_ENDS_WITH,
	CTOK_CONTAINS,
	CTOK_MATCHES,
	CTOK_PLUS,
	CTOK_MINUS,
	CTOK_STAR,
	CTOK_SLASH,
	CTOK_PERCENT,
};

struct classify_token {
	enum classify_tok tok;
	unsigned col; /* 1-based column of its first character */
	char *text;   /* IDENT: the name; STRING: the unquoted value (malloc'd) */
	size_t len;   /* STRING: length (may hold NULs) */
	int64_t num;
};

/* Splits `text` into tokens (*out, *n; free with classify_tokens_free).
 * Returns 0 or -EINVAL with err = "column N: <what is wrong>". */
int classify_lex(const char *text, struct classify_token **out, size_t *n, struct error *err);
void classify_tokens_free(struct classify_token *t, size_t n);
const char *classify_tok_name(enum classify_tok tok);

/* ---- rules (classify_parse.c) ---- */
struct classify_rule;

/* Compiles one rule. On error returns -EINVAL with err = "column N: ..."
 * (expected what, found what); the caller adds which rule. */
int classify_rule_compile(enum classify_kind kind, const char *text, struct classify_rule **out,
			  struct error *err);
void classify_rule_free(struct classify_rule *r);
/* 1 when the rule reads Interface.VLAN (its results then depend on it). */
int classify_rule_uses_vlan(const struct classify_rule *r);
const char *classify_rule_text(const struct classify_rule *r);

/* ---- evaluation (classify_eval.c) ---- */
struct classify_exporter_in {
	const char *ip; /* text, IPv4 dotted */
	const char *name;
};

struct classify_interface_in {
	uint32_t index;
	const char *name;
	const char *description;
	uint32_t speed; /* Mbps */
	uint16_t vlan;
};

/* Values set by the rules; "" = unset. The first value set wins. */
struct classify_exporter_out {
	char group[CLASSIFY_VALUE_MAX];
	char role[CLASSIFY_VALUE_MAX];
	char site[CLASSIFY_VALUE_MAX];
	char region[CLASSIFY_VALUE_MAX];
	char tenant[CLASSIFY_VALUE_MAX];
	int reject;
};

struct classify_interface_out {
	char provider[CLASSIFY_VALUE_MAX];
	char connectivity[CLASSIFY_VALUE_MAX];
	char name[CLASSIFY_VALUE_MAX];	      /* SetName (not normalised) */
	char description[CLASSIFY_VALUE_MAX]; /* SetDescription */
	int boundary;			      /* enum flow_boundary */
	int reject;
};

/* Runs one rule. Returns 1 or 0 (its boolean value), or -EINVAL when it
 * failed at run time (err says why). Not thread-safe for one rule (it keeps
 * its regex match data): the refresher thread is the only caller. */
int classify_eval_exporter(const struct classify_rule *r, const struct classify_exporter_in *in,
			   struct classify_exporter_out *out, struct error *err);
int classify_eval_interface(const struct classify_rule *r, const struct classify_exporter_in *exp,
			    const struct classify_interface_in *in,
			    struct classify_interface_out *out, struct error *err);

/* Akvorado's order: rules run in turn until every attribute is set (group,
 * role, site, region, tenant; provider, connectivity, boundary) or a rule
 * fails (counted in *errors, the rest skipped). Results start from `out` as
 * given (values already known are kept). */
void classify_exporter_run(struct classify_rule *const *rules, size_t n,
			   const struct classify_exporter_in *in, struct classify_exporter_out *out,
			   uint64_t *errors);
void classify_interface_run(struct classify_rule *const *rules, size_t n,
			    const struct classify_exporter_in *exp,
			    const struct classify_interface_in *in,
			    struct classify_interface_out *out, uint64_t *errors);

/* Lower-cases `in` and keeps [a-z0-9.+-] into out (size bytes, NUL-ended). */
void classify_normalize(const char *in, size_t len, char *out, size_t size);

#endif
