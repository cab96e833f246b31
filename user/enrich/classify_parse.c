// SPDX-License-Identifier: AGPL-3.0-or-later
/* The classifier language's parser and type checker: tokens to a typed tree,
 * with regular expressions compiled once here. Precedences follow expr-lang
 * (or 10, and 15, comparisons 20, + - 30, unary 50, * / % 60). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify_tree.h"

#define K_EXPORTER  1
#define K_INTERFACE 2

static const struct {
	const char *name;
	enum cl_var var;
	enum cl_type type;
	int kinds;
} vars[] = {
    {"Exporter.IP", CL_VAR_EXPORTER_IP, CL_STR, K_EXPORTER | K_INTERFACE},
    {"Exporter.Name", CL_VAR_EXPORTER_NAME, CL_STR, K_EXPORTER | K_INTERFACE},
    {"Interface.Index", CL_VAR_IF_INDEX, CL_NUM, K_INTERFACE},
    {"Interface.Name", CL_VAR_IF_NAME, CL_STR, K_INTERFACE},
    {"Interface.Description", CL_VAR_IF_DESCRIPTION, CL_STR, K_INTERFACE},
    {"Interface.Speed", CL_VAR_IF_SPEED, CL_NUM, K_INTERFACE},
    {"Interface.VLAN", CL_VAR_IF_VLAN, CL_NUM, K_INTERFACE},
};

/* nargs -1: a format then any number of values. */
static const struct fn_def {
	const char *name;
	enum cl_fn fn;
	enum cl_target target;
	int kinds;
	int nargs;
	enum cl_type ret;
} fns[] = {
    {"Format", CL_FN_FORMAT, 0, K_EXPORTER | K_INTERFACE, -1, CL_STR},
    {"Reject", CL_FN_REJECT, 0, K_EXPORTER | K_INTERFACE, 0, CL_BOOL},
    {"lower", CL_FN_LOWER, 0, K_EXPORTER | K_INTERFACE, 1, CL_STR},
    {"upper", CL_FN_UPPER, 0, K_EXPORTER | K_INTERFACE, 1, CL_STR},
    {"Classify", CL_FN_CLASSIFY, CL_T_GROUP, K_EXPORTER, 1, CL_BOOL},
    {"ClassifyGroup", CL_FN_CLASSIFY, CL_T_GROUP, K_EXPORTER, 1, CL_BOOL},
    {"ClassifyRole", CL_FN_CLASSIFY, CL_T_ROLE, K_EXPORTER, 1, CL_BOOL},
    {"ClassifySite", CL_FN_CLASSIFY, CL_T_SITE, K_EXPORTER, 1, CL_BOOL},
    {"ClassifyRegion", CL_FN_CLASSIFY, CL_T_REGION, K_EXPORTER, 1, CL_BOOL},
    {"ClassifyTenant", CL_FN_CLASSIFY, CL_T_TENANT, K_EXPORTER, 1, CL_BOOL},
    {"ClassifyRegex", CL_FN_CLASSIFY_REGEX, CL_T_GROUP, K_EXPORTER, 3, CL_BOOL},
    {"ClassifyGroupRegex", CL_FN_CLASSIFY_REGEX, CL_T_GROUP, K_EXPORTER, 3, CL_BOOL},
    {"ClassifyRoleRegex", CL_FN_CLASSIFY_REGEX, CL_T_ROLE, K_EXPORTER, 3, CL_BOOL},
    {"ClassifySiteRegex", CL_FN_CLASSIFY_REGEX, CL_T_SITE, K_EXPORTER, 3, CL_BOOL},
    {"ClassifyRegionRegex", CL_FN_CLASSIFY_REGEX, CL_T_REGION, K_EXPORTER, 3, CL_BOOL},
    {"ClassifyTenantRegex", CL_FN_CLASSIFY_REGEX, CL_T_TENANT, K_EXPORTER, 3, CL_BOOL},
    {"ClassifyProvider", CL_FN_CLASSIFY, CL_T_PROVIDER, K_INTERFACE, 1, CL_BOOL},
    {"ClassifyConnectivity", CL_FN_CLASSIFY, CL_T_CONNECTIVITY, K_INTERFACE, 1, CL_BOOL},
    {"ClassifyProviderRegex", CL_FN_CLASSIFY_REGEX, CL_T_PROVIDER, K_INTERFACE, 3, CL_BOOL},
    {"ClassifyConnectivityRegex", CL_FN_CLASSIFY_REGEX, CL_T_CONNECTIVITY, K_INTERFACE, 3, CL_BOOL},
    {"ClassifyExternal", CL_FN_EXTERNAL, 0, K_INTERFACE, 0, CL_BOOL},
    {"ClassifyInternal", CL_FN_INTERNAL, 0, K_INTERFACE, 0, CL_BOOL},
    {"SetName", CL_FN_SET_NAME, 0, K_INTERFACE, 1, CL_BOOL},
    {"SetDescription", CL_FN_SET_DESCRIPTION, 0, K_INTERFACE, 1, CL_BOOL},
};

struct parser {
	enum classify_kind kind;
	struct classify_token *toks;
	size_t ntoks, pos;
	struct error *err;
	int uses_vlan;
};

static const char *type_name(enum cl_type t)
{
	switch (t) {
	case CL_BOOL:
		return "a boolean";
	case CL_NUM:
		return "a number";
	case CL_STR:
		return "a string";
	default:
		return "an array";
	}
}

static int kind_bit(enum classify_kind k)
{
	return k == CLASSIFY_EXPORTER ? K_EXPORTER : K_INTERFACE;
}

static const char *kind_rules(int kinds)
{
	return kinds == K_EXPORTER ? "exporter-classifiers" : "interface-classifiers";
}

static void node_free(struct cl_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	if (n->md)
		pcre2_match_data_free(n->md);
	if (n->re)
		pcre2_code_free(n->re);
	free(n);
}

static struct cl_node *node_new(struct parser *p, enum cl_op op, enum cl_type type, unsigned col)
{
	struct cl_node *n = calloc(1, sizeof(*n));

	if (!n) {
		error_set(p->err, -ENOMEM, "out of memory");
		return NULL;
	}
	n->op = op;
	n->type = type;
	n->col = col;
	return n;
}

static int add_kid(struct parser *p, struct cl_node *n, struct cl_node *kid)
{
	struct cl_node **k = realloc(n->kids, (n->nkids + 1) * sizeof(*k));

	if (!k) {
		node_free(kid);
		return error_set(p->err, -ENOMEM, "out of memory");
	}
	n->kids = k;
	n->kids[n->nkids++] = kid;
	return 0;
}

static const struct classify_token *peek(struct parser *p)
{
	return &p->toks[p->pos];
}

static const char *tok_desc(const struct classify_token *t, char *buf, size_t size)
{
	if (t->tok == CTOK_IDENT)
		snprintf(buf, size, "%s", t->text);
	else if (t->tok == CTOK_STRING)
		snprintf(buf, size, "a string");
	else if (t->tok == CTOK_NUMBER)
		snprintf(buf, size, "a number");
	else if (t->tok == CTOK_EOF)
		snprintf(buf, size, "the end of the rule");
	else
		snprintf(buf, size, "'%s'", classify_tok_name(t->tok));
	return buf;
}

static int expect(struct parser *p, enum classify_tok tok, const char *what)
{
	char buf[128];

	if (peek(p)->tok != tok)
		return error_set(p->err, -EINVAL, "column %u: expected %s, found %s", peek(p)->col,
				 what, tok_desc(peek(p), buf, sizeof(buf)));
	p->pos++;
	return 0;
}

static int compile_regex(struct parser *p, struct cl_node *n, const char *pattern, size_t len,
			 unsigned col)
{
	int code;
	PCRE2_SIZE off;

	/* Go's regexp (Akvorado) anchors $ at the very end only. */
	n->re = pcre2_compile((PCRE2_SPTR)pattern, len,
			      PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY, &code,
			      &off, NULL);
	if (!n->re) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(code, msg, sizeof(msg));
		return error_set(p->err, -EINVAL,
				 "column %u: invalid regular expression \"%s\": %s at offset %zu",
				 col, pattern, (const char *)msg, (size_t)off);
	}
	n->md = pcre2_match_data_create_from_pattern(n->re, NULL);
	if (!n->md)
		return error_set(p->err, -ENOMEM, "out of memory");
	return 0;
}

static struct cl_node *parse_expr(struct parser *p, int min_prec);

static struct cl_node *parse_call(struct parser *p, const struct classify_token *name)
{
	const struct fn_def *def = NULL;
	struct cl_node *n;

	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		if (!strcmp(fns[i].name, name->text))
			def = &fns[i];
	if (!def) {
		error_set(p->err, -EINVAL, "column %u: unknown function %s", name->col, name->text);
		return NULL;
	}
	if (!(def->kinds & kind_bit(p->kind))) {
		error_set(p->err, -EINVAL, "column %u: %s is only for %s", name->col, def->name,
			  kind_rules(def->kinds));
		return NULL;
	}
	n = node_new(p, CL_CALL, def->ret, name->col);
	if (!n)
		return NULL;
	n->fn = def->fn;
	n->target = def->target;
	p->pos++; /* ( */
	if (peek(p)->tok != CTOK_RPAREN) {
		for (;;) {
			struct cl_node *arg = parse_expr(p, 0);
			if (!arg || add_kid(p, n, arg) < 0)
				goto fail;
			if (peek(p)->tok != CTOK_COMMA)
				break;
			p->pos++;
		}
	}
	if (expect(p, CTOK_RPAREN, "',' or ')'") < 0)
		goto fail;
	if (def->nargs >= 0 && n->nkids != (size_t)def->nargs) {
		error_set(p->err, -EINVAL, "column %u: %s takes %d argument%s, found %zu",
			  name->col, def->name, def->nargs, def->nargs == 1 ? "" : "s", n->nkids);
		goto fail;
	}
	if (def->nargs < 0 && n->nkids < 1) {
		error_set(p->err, -EINVAL, "column %u: %s needs a format string", name->col,
			  def->name);
		goto fail;
	}
	for (size_t i = 0; i < n->nkids; i++) {
		struct cl_node *a = n->kids[i];
		if (def->nargs < 0 && i > 0) {
			if (a->type == CL_ARRAY) {
				error_set(p->err, -EINVAL, "column %u: %s cannot format an array",
					  a->col, def->name);
				goto fail;
			}
			continue;
		}
		if (a->type != CL_STR) {
			error_set(p->err, -EINVAL,
				  "column %u: argument %zu of %s: expected a string, found %s",
				  a->col, i + 1, def->name, type_name(a->type));
			goto fail;
		}
	}
	if (def->fn == CL_FN_CLASSIFY_REGEX) {
		struct cl_node *re = n->kids[1];
		if (re->op != CL_LIT_STR) {
			error_set(p->err, -EINVAL,
				  "column %u: argument 2 of %s: expected a string literal (the "
				  "regular expression)",
				  re->col, def->name);
			goto fail;
		}
		if (compile_regex(p, n, re->str, re->len, re->col) < 0)
			goto fail;
	}
	return n;
fail:
	node_free(n);
	return NULL;
}

static struct cl_node *parse_array(struct parser *p)
{
	struct cl_node *n = node_new(p, CL_LIT_ARRAY, CL_ARRAY, peek(p)->col);

	if (!n)
		return NULL;
	p->pos++; /* [ */
	if (peek(p)->tok != CTOK_RBRACKET) {
		for (;;) {
			struct cl_node *e = parse_expr(p, 0);
			if (!e || add_kid(p, n, e) < 0)
				goto fail;
			if (e->type != CL_STR && e->type != CL_NUM) {
				error_set(p->err, -EINVAL,
					  "column %u: expected a string or a number in an array, "
					  "found %s",
					  e->col, type_name(e->type));
				goto fail;
			}
			if (n->nkids > 1 && e->type != n->kids[0]->type) {
				error_set(p->err, -EINVAL,
					  "column %u: expected %s like the array's first element, "
					  "found %s",
					  e->col, type_name(n->kids[0]->type), type_name(e->type));
				goto fail;
			}
			if (peek(p)->tok != CTOK_COMMA)
				break;
			p->pos++;
			if (peek(p)->tok == CTOK_RBRACKET)
				break; /* trailing comma */
		}
	}
	if (expect(p, CTOK_RBRACKET, "',' or ']'") < 0)
		goto fail;
	n->elem = n->nkids ? n->kids[0]->type : CL_STR;
	return n;
fail:
	node_free(n);
	return NULL;
}

static struct cl_node *parse_primary(struct parser *p)
{
	const struct classify_token *t = peek(p);
	struct cl_node *n;
	char buf[128];

	switch (t->tok) {
	case CTOK_STRING:
		n = node_new(p, CL_LIT_STR, CL_STR, t->col);
		if (!n)
			return NULL;
		n->str = malloc(t->len + 1);
		if (!n->str) {
			node_free(n);
			error_set(p->err, -ENOMEM, "out of memory");
			return NULL;
		}
		memcpy(n->str, t->text, t->len + 1);
		n->len = t->len;
		p->pos++;
		return n;
	case CTOK_NUMBER:
		n = node_new(p, CL_LIT_NUM, CL_NUM, t->col);
		if (n)
			n->num = t->num;
		p->pos++;
		return n;
	case CTOK_TRUE:
	case CTOK_FALSE:
		n = node_new(p, CL_LIT_BOOL, CL_BOOL, t->col);
		if (n)
			n->num = t->tok == CTOK_TRUE;
		p->pos++;
		return n;
	case CTOK_LPAREN:
		p->pos++;
		n = parse_expr(p, 0);
		if (n && expect(p, CTOK_RPAREN, "')'") < 0) {
			node_free(n);
			return NULL;
		}
		return n;
	case CTOK_LBRACKET:
		return parse_array(p);
	case CTOK_NOT:
	case CTOK_MINUS: {
		int is_not = t->tok == CTOK_NOT;
		p->pos++;
		struct cl_node *operand = parse_expr(p, 50);
		if (!operand)
			return NULL;
		if (operand->type != (is_not ? CL_BOOL : CL_NUM)) {
			error_set(p->err, -EINVAL, "column %u: %s expects %s, found %s", t->col,
				  is_not ? "!" : "-", is_not ? "a boolean" : "a number",
				  type_name(operand->type));
			node_free(operand);
			return NULL;
		}
		n = node_new(p, is_not ? CL_NOT : CL_NEG, operand->type, t->col);
		if (!n || add_kid(p, n, operand) < 0) {
			if (!n)
				node_free(operand);
			node_free(n);
			return NULL;
		}
		return n;
	}
	case CTOK_IDENT:
		if (p->toks[p->pos + 1].tok == CTOK_LPAREN) {
			p->pos++;
			n = parse_call(p, t);
			return n;
		}
		for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
			if (strcmp(vars[i].name, t->text))
				continue;
			if (!(vars[i].kinds & kind_bit(p->kind))) {
				error_set(p->err, -EINVAL, "column %u: %s is only for %s", t->col,
					  t->text, kind_rules(vars[i].kinds));
				return NULL;
			}
			n = node_new(p, CL_VAR, vars[i].type, t->col);
			if (n)
				n->var = vars[i].var;
			if (vars[i].var == CL_VAR_IF_VLAN)
				p->uses_vlan = 1;
			p->pos++;
			return n;
		}
		error_set(p->err, -EINVAL, "column %u: unknown name %s (expected %s)", t->col,
			  t->text,
			  p->kind == CLASSIFY_EXPORTER
			      ? "Exporter.IP, Exporter.Name or a function call"
			      : "Exporter.IP, Exporter.Name, Interface.Index, Interface.Name, "
				"Interface.Description, Interface.Speed, Interface.VLAN or a "
				"function call");
		return NULL;
	default:
		error_set(p->err, -EINVAL, "column %u: expected a value, found %s", t->col,
			  tok_desc(t, buf, sizeof(buf)));
		return NULL;
	}
}

static int binary_prec(enum classify_tok tok)
{
	switch (tok) {
	case CTOK_OR:
		return 10;
	case CTOK_AND:
		return 15;
	case CTOK_EQ:
	case CTOK_NE:
	case CTOK_LT:
	case CTOK_LE:
	case CTOK_GT:
	case CTOK_GE:
	case CTOK_IN:
	case CTOK_STARTS_WITH:
	case CTOK_ENDS_WITH:
	case CTOK_CONTAINS:
	case CTOK_MATCHES:
		return 20;
	case CTOK_PLUS:
	case CTOK_MINUS:
		return 30;
	case CTOK_STAR:
	case CTOK_SLASH:
	case CTOK_PERCENT:
		return 60;
	default:
		return -1;
	}
}

/* Types `n` (a binary operator whose kids are set) or fails naming both. */
static int type_binary(struct parser *p, struct cl_node *n, const char *opname)
{
	struct cl_node *l = n->kids[0], *r = n->kids[1];
	const char *want = NULL;

	switch (n->op) {
	case CL_AND:
	case CL_OR:
		n->type = CL_BOOL;
		if (l->type != CL_BOOL || r->type != CL_BOOL)
			want = "booleans";
		break;
	case CL_EQ:
	case CL_NE:
		n->type = CL_BOOL;
		if (l->type != r->type || l->type == CL_ARRAY)
			want = "two values of the same type";
		break;
	case CL_LT:
	case CL_LE:
	case CL_GT:
	case CL_GE:
		n->type = CL_BOOL;
		if (l->type != r->type || (l->type != CL_NUM && l->type != CL_STR))
			want = "two numbers or two strings";
		break;
	case CL_IN:
		n->type = CL_BOOL;
		if (r->type != CL_ARRAY || (r->nkids && r->elem != l->type))
			want = "a value then an array of values of its type";
		break;
	case CL_STARTS_WITH:
	case CL_ENDS_WITH:
	case CL_CONTAINS:
	case CL_MATCHES:
		n->type = CL_BOOL;
		if (l->type != CL_STR || r->type != CL_STR)
			want = "strings";
		break;
	case CL_ADD:
		n->type = l->type;
		if (l->type != r->type || (l->type != CL_NUM && l->type != CL_STR))
			want = "two numbers or two strings";
		break;
	default:
		n->type = CL_NUM;
		if (l->type != CL_NUM || r->type != CL_NUM)
			want = "numbers";
		break;
	}
	if (want) {
		if (l->type == r->type)
			return error_set(p->err, -EINVAL,
					 "column %u: %s expects %s, found %s on both sides", n->col,
					 opname, want, type_name(l->type));
		return error_set(
		    p->err, -EINVAL,
		    "column %u: %s expects %s, found %s on the left and %s on the right", n->col,
		    opname, want, type_name(l->type), type_name(r->type));
	}
	if (n->op == CL_MATCHES) {
		if (r->op != CL_LIT_STR)
			return error_set(p->err, -EINVAL,
					 "column %u: matches expects a string literal (the regular "
					 "expression) on the right",
					 r->col);
		return compile_regex(p, n, r->str, r->len, r->col);
	}
	return 0;
}

static struct cl_node *parse_expr(struct parser *p, int min_prec)
{
	struct cl_node *left = parse_primary(p);

	while (left) {
		const struct classify_token *t = peek(p);
		int prec = binary_prec(t->tok);
		if (prec < 0 || prec <= min_prec)
			break;
		static const enum cl_op ops[] = {
		    [CTOK_OR] = CL_OR,
		    [CTOK_AND] = CL_AND,
		    [CTOK_EQ] = CL_EQ,
		    [CTOK_NE] = CL_NE,
		    [CTOK_LT] = CL_LT,
		    [CTOK_LE] = CL_LE,
		    [CTOK_GT] = CL_GT,
		    [CTOK_GE] = CL_GE,
		    [CTOK_IN] = CL_IN,
		    [CTOK_STARTS_WITH] = CL_STARTS_WITH,
		    [CTOK_ENDS_WITH] = CL_ENDS_WITH,
		    [CTOK_CONTAINS] = CL_CONTAINS,
		    [CTOK_MATCHES] = CL_MATCHES,
		    [CTOK_PLUS] = CL_ADD,
		    [CTOK_MINUS] = CL_SUB,
		    [CTOK_STAR] = CL_MUL,
		    [CTOK_SLASH] = CL_DIV,
		    [CTOK_PERCENT] = CL_MOD,
		};
		struct cl_node *n = node_new(p, ops[t->tok], CL_BOOL, t->col);
		const char *opname = classify_tok_name(t->tok);
		p->pos++;
		if (!n || add_kid(p, n, left) < 0) {
			if (!n)
				node_free(left);
			return NULL;
		}
		struct cl_node *right = parse_expr(p, prec);
		if (!right || add_kid(p, n, right) < 0 || type_binary(p, n, opname) < 0) {
			node_free(n);
			return NULL;
		}
		left = n;
	}
	return left;
}

int classify_rule_compile(enum classify_kind kind, const char *text, struct classify_rule **out,
			  struct error *err)
{
	struct parser p = {.kind = kind, .err = err};
	struct classify_rule *r = NULL;
	struct cl_node *root = NULL;
	char buf[128];
	int ret;

	*out = NULL;
	ret = classify_lex(text, &p.toks, &p.ntoks, err);
	if (ret < 0)
		return ret;
	root = parse_expr(&p, 0);
	if (!root) {
		ret = -EINVAL;
		goto out;
	}
	if (peek(&p)->tok != CTOK_EOF) {
		ret = error_set(err, -EINVAL, "column %u: expected an operator, found %s",
				peek(&p)->col, tok_desc(peek(&p), buf, sizeof(buf)));
		goto out;
	}
	if (root->type != CL_BOOL) {
		ret = error_set(err, -EINVAL,
				"column 1: expected a boolean expression (a rule returns true or "
				"false), found %s",
				type_name(root->type));
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (!r || !(r->text = strdup(text))) {
		free(r);
		r = NULL;
		ret = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	r->kind = kind;
	r->root = root;
	r->uses_vlan = p.uses_vlan;
	root = NULL;
	*out = r;
	ret = 0;
out:
	node_free(root);
	classify_tokens_free(p.toks, p.ntoks);
	return ret;
}

void classify_rule_free(struct classify_rule *r)
{
	if (!r)
		return;
	node_free(r->root);
	free(r->text);
	free(r);
}

int classify_rule_uses_vlan(const struct classify_rule *r)
{
	return r->uses_vlan;
}

const char *classify_rule_text(const struct classify_rule *r)
{
	return r->text;
}
