/*
 * config_yaml.c - the YAML node tree with positions.
 *
 * libyaml's event parser builds a small tree of scalars, lists and
 * mappings in which every node keeps the line and column it came from in
 * the OUTER file: when the text being parsed is the data.config string of
 * a ConfigMap, a struct locmap maps its positions back through the block
 * scalar's indentation, so errors still point at the right character.
 * Syntax errors, aliases and too deep nesting are reported here; what the
 * tree means is the walkers' business.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/log.h"
#include "config_priv.h"

#define YN_MAX_DEPTH	64

void
cfg_yn_free(struct ynode *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++)
		cfg_yn_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

struct ybuild {
	yaml_parser_t	 parser;
	struct locmap	 map;
	struct lctx	*c;
	bool		 failed;
};

static void
yb_mark(const struct ybuild *b, const yaml_mark_t *m, int *line, int *col)
{
	if (b->map.fixed) {
		*line = b->map.line0;
		*col = b->map.col0;
	} else {
		*line = b->map.line0 + (int)m->line;
		*col = b->map.col0 + (int)m->column;
	}
}

static void
yb_syntax_error(struct ybuild *b)
{
	const yaml_parser_t *p = &b->parser;
	struct cfg_loc loc;
	char ctxbuf[160] = "";

	b->failed = true;
	yb_mark(b, &p->problem_mark, &loc.line, &loc.col);
	if (p->context != NULL) {
		int l, cl;

		yb_mark(b, &p->context_mark, &l, &cl);
		snprintf(ctxbuf, sizeof(ctxbuf), " (%s at line %d)",
		    p->context, l);
	}
	cfg_err_loc(b->c, &loc, NULL, "syntax error: %s%s",
	    p->problem != NULL ? p->problem : "unknown problem", ctxbuf);
}

static int
yb_next(struct ybuild *b, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&b->parser, ev)) {
		yb_syntax_error(b);
		return -1;
	}
	return 0;
}

static struct ynode *
yb_new(struct ybuild *b, enum yn_type type, const yaml_mark_t *m)
{
	struct ynode *n = xcalloc(1, sizeof(*n));

	n->type = type;
	n->raw_line = m->line;
	yb_mark(b, m, &n->line, &n->col);
	return n;
}

/* Build the node that starts with event ev (which this consumes). */
static struct ynode *
yb_node(struct ybuild *b, yaml_event_t *ev, int depth)
{
	struct ynode *n = NULL, *kid;
	yaml_event_t e;
	yaml_event_type_t end;
	struct cfg_loc loc;

	if (depth > YN_MAX_DEPTH) {
		yb_mark(b, &ev->start_mark, &loc.line, &loc.col);
		cfg_err_loc(b->c, &loc, NULL, "nesting deeper than %d levels",
		    YN_MAX_DEPTH);
		goto fail;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		const char *v = (const char *)ev->data.scalar.value;

		n = yb_new(b, YN_SCALAR, &ev->start_mark);
		n->str = xstrdup(v);
		n->style = ev->data.scalar.style;
		n->is_null = ev->data.scalar.plain_implicit &&
		    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    (*v == '\0' || strcmp(v, "~") == 0 ||
		    strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
		    strcmp(v, "NULL") == 0);
		yaml_event_delete(ev);
		return n;
	}
	case YAML_SEQUENCE_START_EVENT:
		n = yb_new(b, YN_SEQ, &ev->start_mark);
		end = YAML_SEQUENCE_END_EVENT;
		break;
	case YAML_MAPPING_START_EVENT:
		n = yb_new(b, YN_MAP, &ev->start_mark);
		end = YAML_MAPPING_END_EVENT;
		break;
	case YAML_ALIAS_EVENT:
		yb_mark(b, &ev->start_mark, &loc.line, &loc.col);
		cfg_err_loc(b->c, &loc, NULL,
		    "YAML aliases (*%s) are not supported: write the value out",
		    (const char *)ev->data.alias.anchor);
		b->failed = true;
		goto fail;
	default:
		yb_mark(b, &ev->start_mark, &loc.line, &loc.col);
		cfg_err_loc(b->c, &loc, NULL, "unexpected YAML event");
		b->failed = true;
		goto fail;
	}
	yaml_event_delete(ev);
	for (;;) {
		if (yb_next(b, &e) == -1)
			goto fail;
		if (e.type == end) {
			yaml_event_delete(&e);
			break;
		}
		if ((kid = yb_node(b, &e, depth + 1)) == NULL)
			goto fail;
		*GROW(n->kids, n->n) = kid;
	}
	return n;
fail:
	yaml_event_delete(ev);
	cfg_yn_free(n);
	return NULL;
}

/*
 * Parse a whole stream into its documents.  Returns -1 after a syntax
 * error (already reported); docs holds what was built so far.
 */
int
cfg_yn_parse(struct lctx *c, const char *buf, size_t len, struct locmap map,
    struct ynode ***docs, size_t *ndocs)
{
	struct ybuild b = { .map = map, .c = c };
	yaml_event_t ev;
	struct ynode *root;
	int ret = -1;

	*docs = NULL;
	*ndocs = 0;
	if (!yaml_parser_initialize(&b.parser))
		fatalx("out of memory (YAML parser)");
	yaml_parser_set_input_string(&b.parser, (const unsigned char *)buf, len);
	for (;;) {
		if (yb_next(&b, &ev) == -1)
			goto fail;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type != YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		yaml_event_delete(&ev);
		if (yb_next(&b, &ev) == -1)
			goto fail;
		if ((root = yb_node(&b, &ev, 0)) == NULL)
			goto fail;
		*GROW(*docs, *ndocs) = root;
		if (yb_next(&b, &ev) == -1)
			goto fail;
		yaml_event_delete(&ev);		/* document end */
	}
	ret = 0;
fail:
	yaml_parser_delete(&b.parser);
	return ret;
}

const struct ynode *
cfg_map_get(const struct ynode *n, const char *key)
{
	if (n == NULL || n->type != YN_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < n->n; i += 2)
		if (n->kids[i]->type == YN_SCALAR &&
		    strcmp(n->kids[i]->str, key) == 0)
			return n->kids[i + 1];
	return NULL;
}
