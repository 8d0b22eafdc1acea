/*
 * config_selector.c - the node selector grammar, as Kubernetes has it:
 * node-selector (one term of labels) or node-selectors (a list of terms,
 * each with match-labels and match-expressions of In, NotIn, Exists and
 * DoesNotExist).  A node matches when any term matches; matching itself
 * is cfg_selector_match() in config_values.c.
 */
#include <stdlib.h>
#include <strings.h>

#include "config_priv.h"

enum { SE_LABELS, SE_EXPRS, SE__N };
static const char *const sel_keys[SE__N] = { "match-labels",
    "match-expressions" };
enum { EX_KEY, EX_OP, EX_VALUES, EX__N };
static const char *const expr_keys[EX__N] = { "key", "operator", "values" };

static int
parse_expr(struct lctx *c, const struct ynode *n, struct cfg_sel_expr *e)
{
	static const char *const ops[] = { "In", "NotIn", "Exists",
	    "DoesNotExist" };
	const struct ynode *v[EX__N];
	char *op = NULL;
	size_t i, old;
	int ret = 0;

	if (cfg_map_keys(c, n, expr_keys, EX__N, v) == -1)
		return -1;
	if (v[EX_KEY] == NULL || v[EX_OP] == NULL) {
		cfg_err(c, n, "a match expression needs \"key\" and "
		    "\"operator\"");
		ret = -1;
	}
	if (cfg_get_str(c, "key", v[EX_KEY], &e->key) == -1 ||
	    cfg_get_str(c, "operator", v[EX_OP], &op) == -1 ||
	    cfg_get_strlist(c, "values", v[EX_VALUES], &e->values,
	    &e->nvalues) == -1)
		ret = -1;
	if (op == NULL)
		return -1;
	for (i = 0; i < 4; i++)
		if (strcasecmp(op, ops[i]) == 0)
			break;
	old = cfg_path_key(c, "operator");
	if (i == 4) {
		cfg_err(c, v[EX_OP], "unknown operator \"%s\" (expected In, "
		    "NotIn, Exists or DoesNotExist)", op);
		ret = -1;
	} else {
		e->op = (enum cfg_sel_op)i;
		if (i <= CFG_SEL_NOT_IN && e->nvalues == 0) {
			cfg_err(c, v[EX_OP], "%s needs a non-empty \"values\" "
			    "list", ops[i]);
			ret = -1;
		} else if (i > CFG_SEL_NOT_IN && e->nvalues > 0) {
			cfg_err(c, v[EX_OP], "%s takes no \"values\"", ops[i]);
			ret = -1;
		}
	}
	cfg_path_pop(c, old);
	free(op);
	return ret;
}

static int
parse_term(struct lctx *c, const struct ynode *n, struct cfg_sel_term *t)
{
	const struct ynode *v[SE__N];
	size_t old, old2;
	int ret = 0;

	if (cfg_map_keys(c, n, sel_keys, SE__N, v) == -1)
		return -1;
	if (cfg_get_kvmap(c, "match-labels", v[SE_LABELS], &t->labels,
	    &t->nlabels) == -1)
		ret = -1;
	if (v[SE_EXPRS] == NULL)
		return ret;
	old = cfg_path_key(c, "match-expressions");
	if (cfg_want_seq(c, v[SE_EXPRS]) == -1)
		ret = -1;
	else
		for (size_t i = 0; i < v[SE_EXPRS]->n; i++) {
			old2 = cfg_path_idx(c, i);
			if (parse_expr(c, v[SE_EXPRS]->kids[i],
			    GROW(t->exprs, t->nexprs)) == -1)
				ret = -1;
			cfg_path_pop(c, old2);
		}
	cfg_path_pop(c, old);
	return ret;
}

/* node-selector (one term of labels) and/or node-selectors (terms). */
int
cfg_parse_selector(struct lctx *c, const char *mapkey, const struct ynode *map,
    const char *listkey, const struct ynode *list, struct cfg_selector *sel)
{
	size_t old, old2;
	int ret = 0;

	if (map != NULL && list != NULL) {
		old = cfg_path_key(c, listkey);
		cfg_err(c, list, "use either %s or %s, not both", mapkey,
		    listkey);
		cfg_path_pop(c, old);
		ret = -1;
	} else if (map != NULL) {
		struct cfg_sel_term *t = GROW(sel->terms, sel->nterms);

		return cfg_get_kvmap(c, mapkey, map, &t->labels, &t->nlabels);
	}
	if (list == NULL)
		return 0;
	old = cfg_path_key(c, listkey);
	if (cfg_want_seq(c, list) == -1)
		ret = -1;
	else
		for (size_t i = 0; i < list->n; i++) {
			old2 = cfg_path_idx(c, i);
			if (parse_term(c, list->kids[i],
			    GROW(sel->terms, sel->nterms)) == -1)
				ret = -1;
			cfg_path_pop(c, old2);
		}
	cfg_path_pop(c, old);
	return ret;
}
