// SPDX-License-Identifier: AGPL-3.0-or-later
/* The classifier evaluator: walks a compiled rule with short-circuit logic,
 * applies the setters Akvorado's rules call (first value wins, normalised),
 * and runs rule lists in Akvorado's order. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/flow.h"
#include "classify_tree.h"

struct cl_val {
	enum cl_type type;
	int64_t num; /* CL_NUM, CL_BOOL */
	const char *s;
	size_t len;
};

struct cl_ctx {
	const struct classify_exporter_in *exp;
	const struct classify_interface_in *iface;
	struct classify_exporter_out *eout;
	struct classify_interface_out *iout;
	struct error *err;
	size_t used;
	char scratch[8192]; /* strings made while evaluating one rule */
};

void classify_normalize(const char *in, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < size; i++) {
		char c = in[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '+' ||
		    c == '-')
			out[o++] = c;
	}
	out[o] = '\0';
}

static char *scratch(struct cl_ctx *c, size_t len)
{
	if (len > sizeof(c->scratch) - c->used) {
		error_set(c->err, -E2BIG, "strings made by the rule exceed %zu bytes",
			  sizeof(c->scratch));
		return NULL;
	}
	char *p = c->scratch + c->used;
	c->used += len;
	return p;
}

static int eval(struct cl_ctx *c, const struct cl_node *n, struct cl_val *v);

static int eval_str(struct cl_ctx *c, const struct cl_node *n, struct cl_val *v)
{
	int r = eval(c, n, v);
	return r;
}

static const char *nonnull(const char *s)
{
	return s ? s : "";
}

static int cmp_str(const struct cl_val *a, const struct cl_val *b)
{
	size_t m = a->len < b->len ? a->len : b->len;
	int r = memcmp(a->s, b->s, m);
	if (r)
		return r;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int values_equal(const struct cl_val *a, const struct cl_val *b)
{
	if (a->type == CL_STR)
		return a->len == b->len && !memcmp(a->s, b->s, a->len);
	return a->num == b->num;
}

/* Go's Regexp.Expand: $1, ${1}, $name, ${name}; $$ is a $; a name that is
 * not a group gives nothing; a $ not followed by a name stays. */
static int expand_template(struct cl_ctx *c, const struct cl_node *n, const char *subject,
			   const char *tpl, size_t tlen, char *out, size_t size)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(n->md);
	uint32_t groups = pcre2_get_ovector_count(n->md);
	size_t o = 0;

	for (size_t i = 0; i < tlen;) {
		if (tpl[i] != '$' || i + 1 >= tlen) {
			if (o + 1 < size)
				out[o++] = tpl[i];
			i++;
			continue;
		}
		size_t start, end, next;
		if (tpl[i + 1] == '$') {
			if (o + 1 < size)
				out[o++] = '$';
			i += 2;
			continue;
		}
		if (tpl[i + 1] == '{') {
			start = i + 2;
			end = start;
			while (end < tlen && tpl[end] != '}')
				end++;
			if (end >= tlen || end == start) {
				if (o + 1 < size)
					out[o++] = '$';
				i++;
				continue;
			}
			next = end + 1;
		} else {
			start = i + 1;
			end = start;
			while (end < tlen &&
			       ((tpl[end] >= 'a' && tpl[end] <= 'z') ||
				(tpl[end] >= 'A' && tpl[end] <= 'Z') ||
				(tpl[end] >= '0' && tpl[end] <= '9') || tpl[end] == '_'))
				end++;
			if (end == start) {
				if (o + 1 < size)
					out[o++] = '$';
				i++;
				continue;
			}
			next = end;
		}
		char name[64];
		size_t nl = end - start < sizeof(name) - 1 ? end - start : sizeof(name) - 1;
		memcpy(name, tpl + start, nl);
		name[nl] = '\0';
		int all_digits = 1;
		for (size_t k = 0; k < nl; k++)
			if (name[k] < '0' || name[k] > '9')
				all_digits = 0;
		int group = -1;
		if (all_digits) {
			group = nl <= 9 ? atoi(name) : -1;
		} else {
			group = pcre2_substring_number_from_name(n->re, (PCRE2_SPTR)name);
		}
		if (group >= 0 && (uint32_t)group < groups && ov[2 * group] != PCRE2_UNSET) {
			for (PCRE2_SIZE k = ov[2 * group]; k < ov[2 * group + 1] && o + 1 < size;
			     k++)
				out[o++] = subject[k];
		}
		i = next;
	}
	out[o] = '\0';
	(void)c;
	return 0;
}

static char *target_slot(struct cl_ctx *c, enum cl_target t)
{
	switch (t) {
	case CL_T_GROUP:
		return c->eout->group;
	case CL_T_ROLE:
		return c->eout->role;
	case CL_T_SITE:
		return c->eout->site;
	case CL_T_REGION:
		return c->eout->region;
	case CL_T_TENANT:
		return c->eout->tenant;
	case CL_T_PROVIDER:
		return c->iout->provider;
	default:
		return c->iout->connectivity;
	}
}

/* Go's fmt.Sprintf for the verbs rules use: %s %v %d %q %x %X %%. */
static int format(struct cl_ctx *c, const struct cl_node *n, struct cl_val *v)
{
	struct cl_val fmt, arg;
	char out[1024];
	size_t o = 0, argi = 1;
	int r;

#define PUT(str, l)                                                                                \
	do {                                                                                       \
		size_t l_ = (l);                                                                   \
		if (o + l_ >= sizeof(out))                                                         \
			l_ = sizeof(out) - 1 - o;                                                  \
		memcpy(out + o, (str), l_);                                                        \
		o += l_;                                                                           \
	} while (0)

	r = eval_str(c, n->kids[0], &fmt);
	if (r < 0)
		return r;
	for (size_t i = 0; i < fmt.len; i++) {
		char tmp[64];
		if (fmt.s[i] != '%' || i + 1 >= fmt.len) {
			PUT(&fmt.s[i], 1);
			continue;
		}
		char verb = fmt.s[++i];
		if (verb == '%') {
			PUT("%", 1);
			continue;
		}
		if (argi >= n->nkids) {
			int l = snprintf(tmp, sizeof(tmp), "%%!%c(MISSING)", verb);
			PUT(tmp, (size_t)l);
			continue;
		}
		r = eval(c, n->kids[argi++], &arg);
		if (r < 0)
			return r;
		if (arg.type == CL_STR && (verb == 's' || verb == 'v')) {
			PUT(arg.s, arg.len);
		} else if (arg.type == CL_STR && verb == 'q') {
			PUT("\"", 1);
			PUT(arg.s, arg.len);
			PUT("\"", 1);
		} else if (arg.type == CL_NUM && (verb == 'd' || verb == 'v')) {
			int l = snprintf(tmp, sizeof(tmp), "%" PRId64, arg.num);
			PUT(tmp, (size_t)l);
		} else if (arg.type == CL_NUM && (verb == 'x' || verb == 'X')) {
			int l = snprintf(tmp, sizeof(tmp), verb == 'x' ? "%" PRIx64 : "%" PRIX64,
					 (uint64_t)arg.num);
			PUT(tmp, (size_t)l);
		} else if (arg.type == CL_BOOL && (verb == 't' || verb == 'v')) {
			PUT(arg.num ? "true" : "false", arg.num ? 4 : 5);
		} else {
			const char *tn = arg.type == CL_STR   ? "string"
					 : arg.type == CL_NUM ? "int"
							      : "bool";
			int l = snprintf(tmp, sizeof(tmp), "%%!%c(%s=", verb, tn);
			PUT(tmp, (size_t)l);
			if (arg.type == CL_STR)
				PUT(arg.s, arg.len);
			else {
				l = arg.type == CL_NUM
					? snprintf(tmp, sizeof(tmp), "%" PRId64, arg.num)
					: snprintf(tmp, sizeof(tmp), "%s",
						   arg.num ? "true" : "false");
				PUT(tmp, (size_t)l);
			}
			PUT(")", 1);
		}
	}
	for (; argi < n->nkids; argi++) {
		r = eval(c, n->kids[argi], &arg);
		if (r < 0)
			return r;
		PUT("%!(EXTRA ", 9);
		if (arg.type == CL_STR) {
			PUT("string=", 7);
			PUT(arg.s, arg.len);
		} else {
			char tmp[32];
			int l = snprintf(tmp, sizeof(tmp), "int=%" PRId64, arg.num);
			PUT(tmp, (size_t)l);
		}
		PUT(")", 1);
	}
#undef PUT
	char *p = scratch(c, o + 1);
	if (!p)
		return -E2BIG;
	memcpy(p, out, o);
	p[o] = '\0';
	v->type = CL_STR;
	v->s = p;
	v->len = o;
	return 0;
}

static int call(struct cl_ctx *c, const struct cl_node *n, struct cl_val *v)
{
	struct cl_val a;
	int r;

	v->type = CL_BOOL;
	v->num = 1;
	switch (n->fn) {
	case CL_FN_FORMAT:
		return format(c, n, v);
	case CL_FN_LOWER:
	case CL_FN_UPPER: {
		r = eval_str(c, n->kids[0], &a);
		if (r < 0)
			return r;
		char *p = scratch(c, a.len + 1);
		if (!p)
			return -E2BIG;
		for (size_t i = 0; i < a.len; i++) {
			char ch = a.s[i];
			if (n->fn == CL_FN_LOWER && ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			if (n->fn == CL_FN_UPPER && ch >= 'a' && ch <= 'z')
				ch = (char)(ch - 'a' + 'A');
			p[i] = ch;
		}
		p[a.len] = '\0';
		v->type = CL_STR;
		v->s = p;
		v->len = a.len;
		return 0;
	}
	case CL_FN_REJECT:
		if (c->eout)
			c->eout->reject = 1;
		if (c->iout)
			c->iout->reject = 1;
		v->num = 0;
		return 0;
	case CL_FN_CLASSIFY: {
		char *slot = target_slot(c, n->target);
		r = eval_str(c, n->kids[0], &a);
		if (r < 0)
			return r;
		if (!slot[0])
			classify_normalize(a.s, a.len, slot, CLASSIFY_VALUE_MAX);
		return 0;
	}
	case CL_FN_CLASSIFY_REGEX: {
		char *slot = target_slot(c, n->target);
		struct cl_val tpl;
		char expanded[CLASSIFY_VALUE_MAX * 2];
		if (slot[0])
			return 0; /* already set: Akvorado does not look further */
		r = eval_str(c, n->kids[0], &a);
		if (r < 0)
			return r;
		r = eval_str(c, n->kids[2], &tpl);
		if (r < 0)
			return r;
		r = pcre2_match(n->re, (PCRE2_SPTR)a.s, a.len, 0, 0, n->md, NULL);
		if (r == PCRE2_ERROR_NOMATCH) {
			v->num = 0;
			return 0;
		}
		if (r < 0) {
			PCRE2_UCHAR msg[128];
			pcre2_get_error_message(r, msg, sizeof(msg));
			return error_set(c->err, -EINVAL, "column %u: regular expression: %s",
					 n->col, (const char *)msg);
		}
		expand_template(c, n, a.s, tpl.s, tpl.len, expanded, sizeof(expanded));
		classify_normalize(expanded, strlen(expanded), slot, CLASSIFY_VALUE_MAX);
		return 0;
	}
	case CL_FN_EXTERNAL:
	case CL_FN_INTERNAL:
		if (c->iout->boundary == FLOW_BOUNDARY_UNDEFINED)
			c->iout->boundary = n->fn == CL_FN_EXTERNAL ? FLOW_BOUNDARY_EXTERNAL
								    : FLOW_BOUNDARY_INTERNAL;
		return 0;
	case CL_FN_SET_NAME:
	case CL_FN_SET_DESCRIPTION: {
		char *slot = n->fn == CL_FN_SET_NAME ? c->iout->name : c->iout->description;
		r = eval_str(c, n->kids[0], &a);
		if (r < 0)
			return r;
		if (!slot[0]) {
			size_t l = a.len < CLASSIFY_VALUE_MAX - 1 ? a.len : CLASSIFY_VALUE_MAX - 1;
			memcpy(slot, a.s, l);
			slot[l] = '\0';
		}
		return 0;
	}
	}
	return error_set(c->err, -EINVAL, "column %u: unknown function", n->col);
}

static int eval_var(struct cl_ctx *c, const struct cl_node *n, struct cl_val *v)
{
	v->type = n->type;
	switch (n->var) {
	case CL_VAR_EXPORTER_IP:
		v->s = nonnull(c->exp->ip);
		break;
	case CL_VAR_EXPORTER_NAME:
		v->s = nonnull(c->exp->name);
		break;
	case CL_VAR_IF_NAME:
		v->s = nonnull(c->iface->name);
		break;
	case CL_VAR_IF_DESCRIPTION:
		v->s = nonnull(c->iface->description);
		break;
	case CL_VAR_IF_INDEX:
		v->num = c->iface->index;
		return 0;
	case CL_VAR_IF_SPEED:
		v->num = c->iface->speed;
		return 0;
	case CL_VAR_IF_VLAN:
		v->num = c->iface->vlan;
		return 0;
	}
	v->len = strlen(v->s);
	return 0;
}

static int eval(struct cl_ctx *c, const struct cl_node *n, struct cl_val *v)
{
	struct cl_val a, b;
	int r;

	switch (n->op) {
	case CL_LIT_STR:
		v->type = CL_STR;
		v->s = n->str;
		v->len = n->len;
		return 0;
	case CL_LIT_NUM:
	case CL_LIT_BOOL:
		v->type = n->type;
		v->num = n->num;
		return 0;
	case CL_LIT_ARRAY:
		return error_set(c->err, -EINVAL, "column %u: an array is not a value", n->col);
	case CL_VAR:
		return eval_var(c, n, v);
	case CL_CALL:
		return call(c, n, v);
	case CL_NOT:
	case CL_NEG:
		r = eval(c, n->kids[0], v);
		if (r < 0)
			return r;
		v->num = n->op == CL_NOT ? !v->num : -v->num;
		return 0;
	case CL_AND:
	case CL_OR:
		r = eval(c, n->kids[0], &a);
		if (r < 0)
			return r;
		v->type = CL_BOOL;
		if ((n->op == CL_AND) != (a.num != 0)) {
			v->num = a.num != 0; /* false && ..., true || ... */
			return 0;
		}
		r = eval(c, n->kids[1], &b);
		v->num = b.num != 0;
		return r;
	case CL_IN:
		r = eval(c, n->kids[0], &a);
		if (r < 0)
			return r;
		v->type = CL_BOOL;
		v->num = 0;
		for (size_t i = 0; i < n->kids[1]->nkids && !v->num; i++) {
			r = eval(c, n->kids[1]->kids[i], &b);
			if (r < 0)
				return r;
			v->num = values_equal(&a, &b);
		}
		return 0;
	default:
		break;
	}
	r = eval(c, n->kids[0], &a);
	if (r == 0)
		r = eval(c, n->kids[1], &b);
	if (r < 0)
		return r;
	v->type = n->type;
	switch (n->op) {
	case CL_EQ:
		v->num = values_equal(&a, &b);
		break;
	case CL_NE:
		v->num = !values_equal(&a, &b);
		break;
	case CL_LT:
	case CL_LE:
	case CL_GT:
	case CL_GE: {
		int cmp = a.type == CL_STR ? cmp_str(&a, &b) : (a.num > b.num) - (a.num < b.num);
		v->num = n->op == CL_LT	  ? cmp < 0
			 : n->op == CL_LE ? cmp <= 0
			 : n->op == CL_GT ? cmp > 0
					  : cmp >= 0;
		break;
	}
	case CL_STARTS_WITH:
		v->num = b.len <= a.len && !memcmp(a.s, b.s, b.len);
		break;
	case CL_ENDS_WITH:
		v->num = b.len <= a.len && !memcmp(a.s + a.len - b.len, b.s, b.len);
		break;
	case CL_CONTAINS:
		v->num = b.len == 0 || memmem(a.s, a.len, b.s, b.len) != NULL;
		break;
	case CL_MATCHES:
		r = pcre2_match(n->re, (PCRE2_SPTR)a.s, a.len, 0, 0, n->md, NULL);
		if (r < 0 && r != PCRE2_ERROR_NOMATCH) {
			PCRE2_UCHAR msg[128];
			pcre2_get_error_message(r, msg, sizeof(msg));
			return error_set(c->err, -EINVAL, "column %u: regular expression: %s",
					 n->col, (const char *)msg);
		}
		v->num = r >= 0;
		break;
	case CL_ADD:
		if (a.type == CL_STR) {
			char *p = scratch(c, a.len + b.len + 1);
			if (!p)
				return -E2BIG;
			memcpy(p, a.s, a.len);
			memcpy(p + a.len, b.s, b.len);
			p[a.len + b.len] = '\0';
			v->s = p;
			v->len = a.len + b.len;
		} else {
			v->num = (int64_t)((uint64_t)a.num + (uint64_t)b.num);
		}
		break;
	case CL_SUB:
		v->num = (int64_t)((uint64_t)a.num - (uint64_t)b.num);
		break;
	case CL_MUL:
		v->num = (int64_t)((uint64_t)a.num * (uint64_t)b.num);
		break;
	case CL_DIV:
	case CL_MOD:
		if (b.num == 0)
			return error_set(c->err, -EDOM, "column %u: division by zero", n->col);
		if (a.num == INT64_MIN && b.num == -1)
			v->num = n->op == CL_DIV ? INT64_MIN : 0;
		else
			v->num = n->op == CL_DIV ? a.num / b.num : a.num % b.num;
		break;
	default:
		return error_set(c->err, -EINVAL, "column %u: cannot evaluate", n->col);
	}
	return 0;
}

static int run(struct cl_ctx *c, const struct classify_rule *r)
{
	struct cl_val v;
	int ret = eval(c, r->root, &v);

	return ret < 0 ? ret : v.num != 0;
}

int classify_eval_exporter(const struct classify_rule *r, const struct classify_exporter_in *in,
			   struct classify_exporter_out *out, struct error *err)
{
	struct cl_ctx c = {.exp = in, .eout = out, .err = err};
	return run(&c, r);
}

int classify_eval_interface(const struct classify_rule *r, const struct classify_exporter_in *exp,
			    const struct classify_interface_in *in,
			    struct classify_interface_out *out, struct error *err)
{
	struct cl_ctx c = {.exp = exp, .iface = in, .iout = out, .err = err};
	return run(&c, r);
}

void classify_exporter_run(struct classify_rule *const *rules, size_t n,
			   const struct classify_exporter_in *in, struct classify_exporter_out *out,
			   uint64_t *errors)
{
	for (size_t i = 0; i < n; i++) {
		if (out->reject || (out->group[0] && out->role[0] && out->site[0] &&
				    out->region[0] && out->tenant[0]))
			break;
		if (classify_eval_exporter(rules[i], in, out, NULL) < 0) {
			if (errors)
				(*errors)++;
			break;
		}
	}
}

void classify_interface_run(struct classify_rule *const *rules, size_t n,
			    const struct classify_exporter_in *exp,
			    const struct classify_interface_in *in,
			    struct classify_interface_out *out, uint64_t *errors)
{
	for (size_t i = 0; i < n; i++) {
		if (out->reject || (out->provider[0] && out->connectivity[0] &&
				    out->boundary != FLOW_BOUNDARY_UNDEFINED))
			break;
		if (classify_eval_interface(rules[i], exp, in, out, NULL) < 0) {
			if (errors)
				(*errors)++;
			break;
		}
	}
}
