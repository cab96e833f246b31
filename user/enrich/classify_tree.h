/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Internal to classify_parse.c and classify_eval.c: the typed tree a rule
 * compiles to. */
#ifndef WEIR_ENRICH_CLASSIFY_TREE_H
#define WEIR_ENRICH_CLASSIFY_TREE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "classify.h"

enum cl_type {
	CL_BOOL,
	CL_NUM,
	CL_STR,
	CL_ARRAY, /* array literal (of strings or numbers): only right of `in` */
};

enum cl_var {
	CL_VAR_EXPORTER_IP,
	CL_VAR_EXPORTER_NAME,
	CL_VAR_IF_INDEX,
	CL_VAR_IF_NAME,
	CL_VAR_IF_DESCRIPTION,
	CL_VAR_IF_SPEED,
	CL_VAR_IF_VLAN,
};

enum cl_fn {
	CL_FN_FORMAT,
	CL_FN_REJECT,
	CL_FN_LOWER,
	CL_FN_UPPER,
	/* setters: a target attribute, plain or Regex form */
	CL_FN_CLASSIFY,
	CL_FN_CLASSIFY_REGEX,
	CL_FN_EXTERNAL,
	CL_FN_INTERNAL,
	CL_FN_SET_NAME,
	CL_FN_SET_DESCRIPTION,
};

enum cl_target {
	CL_T_GROUP,
	CL_T_ROLE,
	CL_T_SITE,
	CL_T_REGION,
	CL_T_TENANT,
	CL_T_PROVIDER,
	CL_T_CONNECTIVITY,
};

enum cl_op {
	CL_LIT_STR,
	CL_LIT_NUM,
	CL_LIT_BOOL,
	CL_LIT_ARRAY,
	CL_VAR,
	CL_NOT,
	CL_NEG,
	CL_AND,
	CL_OR,
	CL_EQ,
	CL_NE,
	CL_LT,
	CL_LE,
	CL_GT,
	CL_GE,
	CL_IN,
	CL_STARTS_WITH,
	CL_ENDS_WITH,
	CL_CONTAINS,
	CL_MATCHES,
	CL_ADD,
	CL_SUB,
	CL_MUL,
	CL_DIV,
	CL_MOD,
	CL_CALL,
};

struct cl_node {
	enum cl_op op;
	enum cl_type type;
	enum cl_type elem; /* CL_ARRAY: type of the elements */
	unsigned col;
	char *str; /* CL_LIT_STR */
	size_t len;
	int64_t num; /* CL_LIT_NUM, CL_LIT_BOOL */
	enum cl_var var;
	enum cl_fn fn;
	enum cl_target target;
	pcre2_code *re; /* CL_MATCHES, CL_FN_CLASSIFY_REGEX: compiled once */
	pcre2_match_data *md;
	struct cl_node **kids;
	size_t nkids;
};

struct classify_rule {
	enum classify_kind kind;
	char *text;
	struct cl_node *root;
	int uses_vlan;
};

#endif
