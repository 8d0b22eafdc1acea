/*
 * config.c - load and validate the configuration file.
 *
 * Two passes over the input.  First libyaml's event parser builds a small
 * node tree in which every node keeps the line and column it came from in
 * the OUTER file; when the config is the data.config string of a ConfigMap,
 * the inner parse maps its positions back through the block scalar's
 * indentation so that errors still point at the right character.  Then a
 * walker visits the tree with a table of known keys per mapping, fills a
 * struct cfg, and records every problem it meets (unknown keys, wrong types,
 * bad values, broken cross references) without stopping, so one run of
 * --check-config shows them all.
 *
 * Our native schema and MetalLB's legacy one share the walker: the key
 * tables are indexed by the same enums, and the legacy tables simply name
 * the keys differently (peer-address for address, localpref for local-pref)
 * or leave a slot empty where MetalLB had no such key.
 *
 * Top-level sections are walked in dependency order (aliases, nodes, vrfs,
 * peers, pools, services), not file order, so each cross reference can be
 * checked at the node that makes it; errors are sorted by position at the
 * end so the output still reads top to bottom.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "bgplb/config.h"
#include "bgplb/hmap.h"
#include "config_priv.h"

#define YN_MAX_DEPTH	64

enum yn_type {
	YN_SCALAR,
	YN_SEQ,
	YN_MAP,
};

struct ynode {
	enum yn_type	 type;
	char		*str;		/* scalar text */
	bool		 is_null;	/* plain "", "~" or "null" */
	yaml_scalar_style_t style;
	int		 line;		/* outer file, 1-based */
	int		 col;
	size_t		 raw_line;	/* 0-based line in the parsed buffer */
	struct ynode	**kids;		/* seq: items; map: key, value, key, ... */
	size_t		 n;		/* number of kids */
};

/*
 * How a mark of the buffer being parsed maps to the outer file: either
 * shifted (line0 + mark.line, col0 + mark.column) or, for scalar styles
 * whose content does not keep the file's layout, pinned to one place.
 */
struct locmap {
	int		 line0;
	int		 col0;
	bool		 fixed;
};

struct lerr {
	int		 line;
	int		 col;
	size_t		 seq;
	char		*text;
};

struct lctx {
	const char	*name;
	struct lerr	*errs;
	size_t		 nerrs;
	char		 path[512];
	size_t		 plen;
	struct cfg	*cfg;
	bool		 legacy;
	const char	*pools_key;
	struct hmap	*svc_names;	/* name hash -> index + 1: linear dup check */
	struct lerr	*warns;		/* moved to cfg->warnings, sorted, at the end */
	size_t		 nwarns;
	bool		 cluster;	/* data.config of the cluster's ConfigMap */
	bool		 k8s_local;	/* the daemon's own file in Kubernetes mode */
};

static void *
xrealloc(void *p, size_t sz)
{
	if ((p = realloc(p, sz == 0 ? 1 : sz)) == NULL)
		abort();
	return p;
}

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		abort();
	return d;
}

/* Append a zeroed element to an array + count pair; yields its address. */
#define GROW(arr, n) \
	((arr) = xrealloc((arr), ((n) + 1) * sizeof(*(arr))), \
	 memset(&(arr)[(n)], 0, sizeof(*(arr))), &(arr)[(n)++])

/* ---- errors and paths ------------------------------------------------ */

static void
err_at(struct lctx *c, int line, int col, const char *path, const char *fmt,
    va_list ap) __attribute__((format(printf, 5, 0)));

static void
err_at(struct lctx *c, int line, int col, const char *path, const char *fmt,
    va_list ap)
{
	char msg[1024];
	char *text;
	struct lerr *e;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (path != NULL && *path != '\0') {
		if (asprintf(&text, "%s:%d:%d: %s: %s", c->name, line, col,
		    path, msg) == -1)
			abort();
	} else if (asprintf(&text, "%s:%d:%d: %s", c->name, line, col,
	    msg) == -1)
		abort();
	e = GROW(c->errs, c->nerrs);
	e->line = line;
	e->col = col;
	e->seq = c->nerrs;
	e->text = text;
}

/* An error at node n, under the current path. */
static void
err(struct lctx *c, const struct ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
err(struct lctx *c, const struct ynode *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_at(c, n != NULL ? n->line : 1, n != NULL ? n->col : 1, c->path,
	    fmt, ap);
	va_end(ap);
}

/* An error with an explicit location and path (found after the walk). */
static void
err_loc(struct lctx *c, const struct cfg_loc *loc, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
err_loc(struct lctx *c, const struct cfg_loc *loc, const char *path,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_at(c, loc->line, loc->col, path, fmt, ap);
	va_end(ap);
}

/* A warning at node n, under the current path: kept in cfg->warnings. */
static void
warn(struct lctx *c, const struct ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
warn(struct lctx *c, const struct ynode *n, const char *fmt, ...)
{
	char msg[1024], *text;
	struct lerr *w;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (asprintf(&text, "%s:%d:%d: warning: %s%s%s", c->name,
	    n != NULL ? n->line : 1, n != NULL ? n->col : 1, c->path,
	    *c->path != '\0' ? ": " : "", msg) == -1)
		abort();
	w = GROW(c->warns, c->nwarns);
	w->line = n != NULL ? n->line : 1;
	w->col = n != NULL ? n->col : 1;
	w->seq = c->nwarns;
	w->text = text;
}

static size_t
path_key(struct lctx *c, const char *key)
{
	size_t old = c->plen;
	int n;

	n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "%s%s",
	    c->plen > 0 ? "." : "", key);
	if (n > 0)
		c->plen += (size_t)n;
	if (c->plen >= sizeof(c->path))
		c->plen = sizeof(c->path) - 1;
	return old;
}

static size_t
path_idx(struct lctx *c, size_t i)
{
	size_t old = c->plen;
	int n;

	n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "[%zu]", i);
	if (n > 0)
		c->plen += (size_t)n;
	if (c->plen >= sizeof(c->path))
		c->plen = sizeof(c->path) - 1;
	return old;
}

static void
path_pop(struct lctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

static struct cfg_loc
loc_of(const struct ynode *n)
{
	struct cfg_loc l = { n->line, n->col };

	return l;
}

/* ---- the node tree ---------------------------------------------------- */

static void
yn_free(struct ynode *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++)
		yn_free(n->kids[i]);
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
	err_loc(b->c, &loc, NULL, "syntax error: %s%s",
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
	struct ynode *n = xrealloc(NULL, sizeof(*n));

	memset(n, 0, sizeof(*n));
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
		err_loc(b->c, &loc, NULL, "nesting deeper than %d levels",
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
		err_loc(b->c, &loc, NULL,
		    "YAML aliases (*%s) are not supported: write the value out",
		    (const char *)ev->data.alias.anchor);
		b->failed = true;
		goto fail;
	default:
		yb_mark(b, &ev->start_mark, &loc.line, &loc.col);
		err_loc(b->c, &loc, NULL, "unexpected YAML event");
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
	yn_free(n);
	return NULL;
}

/*
 * Parse a whole stream into its documents.  Returns -1 after a syntax
 * error (already reported); docs holds what was built so far.
 */
static int
yb_parse(struct lctx *c, const char *buf, size_t len, struct locmap map,
    struct ynode ***docs, size_t *ndocs)
{
	struct ybuild b = { .map = map, .c = c };
	yaml_event_t ev;
	struct ynode *root;
	int ret = -1;

	*docs = NULL;
	*ndocs = 0;
	if (!yaml_parser_initialize(&b.parser))
		abort();
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

static const struct ynode *
map_get(const struct ynode *n, const char *key)
{
	if (n == NULL || n->type != YN_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < n->n; i += 2)
		if (n->kids[i]->type == YN_SCALAR &&
		    strcmp(n->kids[i]->str, key) == 0)
			return n->kids[i + 1];
	return NULL;
}

static const char *
kind_name(const struct ynode *n)
{
	if (n->type == YN_MAP)
		return "a mapping";
	if (n->type == YN_SEQ)
		return "a list";
	if (n->is_null)
		return "nothing";
	return "a scalar";
}

/* ---- key tables -------------------------------------------------------- */

static size_t
levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[65], cur[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? sub : del;
			if (ins < cur[j])
				cur[j] = ins;
		}
		memcpy(prev, cur, sizeof(cur));
	}
	return prev[lb];
}

/* The nearest candidate close enough to be a plausible typo, or NULL. */
static const char *
nearest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bestd = SIZE_MAX, limit = strlen(word) / 3;

	if (limit < 2)
		limit = 2;
	for (size_t i = 0; i < n; i++) {
		size_t d;

		if (cands[i] == NULL)
			continue;
		d = levenshtein(word, cands[i]);
		if (d < bestd) {
			bestd = d;
			best = cands[i];
		}
	}
	return bestd <= limit ? best : NULL;
}

/*
 * Check that n is a mapping whose keys are all in names[], and hand back
 * the value of each known key (NULL when absent).  A null node counts as an
 * empty mapping.  Returns -1 when n is not a mapping at all.
 */
static int
map_keys(struct lctx *c, const struct ynode *n, const char *const *names,
    size_t nnames, const struct ynode **vals)
{
	for (size_t i = 0; i < nnames; i++)
		vals[i] = NULL;
	if (n->type == YN_SCALAR && n->is_null)
		return 0;
	if (n->type != YN_MAP) {
		err(c, n, "expected a mapping, got %s", kind_name(n));
		return -1;
	}
	for (size_t k = 0; k + 1 < n->n; k += 2) {
		const struct ynode *key = n->kids[k];
		size_t i, old;

		if (key->type != YN_SCALAR) {
			err(c, key, "a key must be a plain string, got %s",
			    kind_name(key));
			continue;
		}
		for (i = 0; i < nnames; i++)
			if (names[i] != NULL && strcmp(names[i], key->str) == 0)
				break;
		old = path_key(c, key->str);
		if (i == nnames) {
			const char *near = nearest(key->str, names, nnames);

			if (near != NULL)
				err(c, key, "unknown key \"%s\" (did you mean "
				    "\"%s\"?)", key->str, near);
			else
				err(c, key, "unknown key \"%s\"", key->str);
		} else if (vals[i] != NULL)
			err(c, key, "duplicate key \"%s\"", key->str);
		else
			vals[i] = n->kids[k + 1];
		path_pop(c, old);
	}
	return 0;
}

/* ---- typed values ------------------------------------------------------ */

/* A non-empty scalar, or an error.  Lists and maps are wrong types. */
static const char *
scalar(struct lctx *c, const struct ynode *n)
{
	if (n->type != YN_SCALAR) {
		err(c, n, "expected a single value, got %s", kind_name(n));
		return NULL;
	}
	if (n->is_null) {
		err(c, n, "missing value");
		return NULL;
	}
	if (*n->str == '\0') {
		err(c, n, "must not be empty");
		return NULL;
	}
	return n->str;
}

/*
 * The get_* helpers each take the key name (for the error path) and the
 * value node, which may be NULL when the key was absent: then the output
 * is left at its default and 0 is returned.
 */
static int
get_str(struct lctx *c, const char *key, const struct ynode *n, char **out)
{
	size_t old;
	const char *s;

	if (n == NULL)
		return 0;
	old = path_key(c, key);
	s = scalar(c, n);
	path_pop(c, old);
	if (s == NULL)
		return -1;
	free(*out);
	*out = xstrdup(s);
	return 0;
}

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int
get_bool(struct lctx *c, const char *key, const struct ynode *n, bool *out)
{
	size_t old;
	const char *s;
	int ret = -1;

	if (n == NULL)
		return 0;
	old = path_key(c, key);
	if ((s = scalar(c, n)) == NULL)
		goto fail;
	if (parse_bool(s, out) == -1) {
		err(c, n, "expected true or false, got \"%s\"", s);
		goto fail;
	}
	ret = 0;
fail:
	path_pop(c, old);
	return ret;
}

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

/* An integer in [min, max]; `what` names it in the message. */
static int
get_uint(struct lctx *c, const char *key, const struct ynode *n,
    uint64_t min, uint64_t max, uint64_t *out)
{
	size_t old;
	const char *s;
	uint64_t v;
	int ret = -1;

	if (n == NULL)
		return 0;
	old = path_key(c, key);
	if ((s = scalar(c, n)) == NULL)
		goto fail;
	if (parse_u64(s, &v) == -1) {
		err(c, n, "expected a whole number, got \"%s\"", s);
		goto fail;
	}
	if (v < min || v > max) {
		err(c, n, "%s is out of range (%llu..%llu)", s,
		    (unsigned long long)min, (unsigned long long)max);
		goto fail;
	}
	*out = v;
	ret = 0;
fail:
	path_pop(c, old);
	return ret;
}

static int
get_asn(struct lctx *c, const char *key, const struct ynode *n, uint32_t *out)
{
	size_t old;
	const char *s;
	uint64_t v;
	int ret = -1;

	if (n == NULL)
		return 0;
	old = path_key(c, key);
	if ((s = scalar(c, n)) == NULL)
		goto fail;
	if (parse_u64(s, &v) == -1 || v > UINT32_MAX) {
		err(c, n, "invalid AS number \"%s\" (expected 1..4294967295)",
		    s);
		goto fail;
	}
	if (v == 0) {
		err(c, n, "AS number 0 is reserved (RFC 7607)");
		goto fail;
	}
	*out = (uint32_t)v;
	ret = 0;
fail:
	path_pop(c, old);
	return ret;
}

static int
get_port(struct lctx *c, const char *key, const struct ynode *n, uint16_t *out)
{
	uint64_t v;

	if (get_uint(c, key, n, 1, 65535, &v) == -1)
		return -1;
	if (n != NULL)
		*out = (uint16_t)v;
	return 0;
}

static int
get_dur(struct lctx *c, const char *key, const struct ynode *n, uint32_t *out)
{
	size_t old;
	const char *s;
	int ret = -1;

	if (n == NULL)
		return 0;
	old = path_key(c, key);
	if ((s = scalar(c, n)) == NULL)
		goto fail;
	if (cfg_parse_duration(s, out) == -1) {
		err(c, n, "invalid duration \"%s\" (expected e.g. 90s, 300ms, "
		    "2m, 1h, or a number of seconds)", s);
		goto fail;
	}
	ret = 0;
fail:
	path_pop(c, old);
	return ret;
}

/* af 0: any family. */
static int
get_addr(struct lctx *c, const char *key, const struct ynode *n, uint8_t af,
    struct addr *out)
{
	size_t old;
	const char *s;
	int ret = -1;

	if (n == NULL)
		return 0;
	old = path_key(c, key);
	if ((s = scalar(c, n)) == NULL)
		goto fail;
	if (addr_parse(s, out) == -1) {
		err(c, n, "invalid IP address \"%s\"", s);
		goto fail;
	}
	if (af != 0 && out->af != af) {
		err(c, n, "%s must be an IPv%d address", s, af);
		goto fail;
	}
	ret = 0;
fail:
	path_pop(c, old);
	return ret;
}

/* The items of a list node; a null node is an empty list. */
static int
want_seq(struct lctx *c, const struct ynode *n)
{
	if (n->type == YN_SEQ || (n->type == YN_SCALAR && n->is_null))
		return 0;
	err(c, n, "expected a list, got %s", kind_name(n));
	return -1;
}

static int
get_strlist(struct lctx *c, const char *key, const struct ynode *n,
    char ***out, size_t *nout)
{
	size_t old, old2;
	int ret = 0;

	if (n == NULL)
		return 0;
	old = path_key(c, key);
	if (want_seq(c, n) == -1) {
		path_pop(c, old);
		return -1;
	}
	for (size_t i = 0; i < n->n; i++) {
		const char *s;

		old2 = path_idx(c, i);
		if ((s = scalar(c, n->kids[i])) == NULL)
			ret = -1;
		else
			*GROW(*out, *nout) = xstrdup(s);
		path_pop(c, old2);
	}
	path_pop(c, old);
	return ret;
}

/* A mapping of string to string (labels).  Keys are unique. */
static int
get_kvmap(struct lctx *c, const char *key, const struct ynode *n,
    struct cfg_kv **out, size_t *nout)
{
	size_t old;
	int ret = 0;

	if (n == NULL)
		return 0;
	old = path_key(c, key);
	if (n->type != YN_MAP && !(n->type == YN_SCALAR && n->is_null)) {
		err(c, n, "expected a mapping, got %s", kind_name(n));
		path_pop(c, old);
		return -1;
	}
	for (size_t k = 0; k + 1 < n->n; k += 2) {
		const char *ks, *vs;
		size_t old2;
		struct cfg_kv *kv;

		if ((ks = scalar(c, n->kids[k])) == NULL) {
			ret = -1;
			continue;
		}
		old2 = path_key(c, ks);
		vs = n->kids[k + 1]->type == YN_SCALAR && !n->kids[k + 1]->is_null ?
		    n->kids[k + 1]->str : scalar(c, n->kids[k + 1]);
		for (size_t j = 0; j < *nout; j++)
			if (strcmp((*out)[j].key, ks) == 0) {
				err(c, n->kids[k], "duplicate key \"%s\"", ks);
				ret = -1;
			}
		if (vs == NULL)
			ret = -1;
		else {
			kv = GROW(*out, *nout);
			kv->key = xstrdup(ks);
			kv->value = xstrdup(vs);
		}
		path_pop(c, old2);
	}
	path_pop(c, old);
	return ret;
}

/* "ip:port", "[v6]:port", or a bare address (then port stays as is). */
static int
parse_hostport(const char *s, bool need_port, struct addr *a, uint16_t *port)
{
	char host[ADDR_STRLEN];
	const char *ps = NULL;
	size_t hl;
	uint64_t v;

	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL)
			return -1;
		hl = (size_t)(rb - s - 1);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		if (rb[1] == ':')
			ps = rb + 2;
		else if (rb[1] != '\0')
			return -1;
		if (addr_parse(host, a) == -1 || a->af != ADDR_AF_INET6)
			return -1;
	} else {
		const char *colon = strchr(s, ':');

		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			/* Bare IPv6: no port possible without brackets. */
			if (addr_parse(s, a) == -1)
				return -1;
		} else {
			hl = colon != NULL ? (size_t)(colon - s) : strlen(s);
			if (hl >= sizeof(host))
				return -1;
			memcpy(host, s, hl);
			host[hl] = '\0';
			if (addr_parse(host, a) == -1)
				return -1;
			if (colon != NULL)
				ps = colon + 1;
		}
	}
	if (ps == NULL)
		return need_port ? -1 : 0;
	if (parse_u64(ps, &v) == -1 || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int
get_hostport(struct lctx *c, const char *key, const struct ynode *n,
    struct addr *a, uint16_t *port)
{
	size_t old;
	const char *s;
	int ret = -1;

	if (n == NULL)
		return 0;
	old = path_key(c, key);
	if ((s = scalar(c, n)) == NULL)
		goto fail;
	if (parse_hostport(s, false, a, port) == -1) {
		err(c, n, "invalid address \"%s\" (expected IP:PORT, "
		    "[IPv6]:PORT or IP)", s);
		goto fail;
	}
	ret = 0;
fail:
	path_pop(c, old);
	return ret;
}

/* Has an earlier entry of a list the same name?  Report at n. */
static void
check_dup(struct lctx *c, const struct ynode *n, const char *what,
    const char *name, const char *prev_name, const struct cfg_loc *prev)
{
	if (prev_name != NULL && strcmp(prev_name, name) == 0)
		err(c, n, "duplicate %s name \"%s\" (first defined at line %d)",
		    what, name, prev->line);
}

/* ---- selectors --------------------------------------------------------- */

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

	if (map_keys(c, n, expr_keys, EX__N, v) == -1)
		return -1;
	if (v[EX_KEY] == NULL || v[EX_OP] == NULL) {
		err(c, n, "a match expression needs \"key\" and \"operator\"");
		ret = -1;
	}
	if (get_str(c, "key", v[EX_KEY], &e->key) == -1 ||
	    get_str(c, "operator", v[EX_OP], &op) == -1 ||
	    get_strlist(c, "values", v[EX_VALUES], &e->values, &e->nvalues) == -1)
		ret = -1;
	if (op == NULL)
		return -1;
	for (i = 0; i < 4; i++)
		if (strcasecmp(op, ops[i]) == 0)
			break;
	old = path_key(c, "operator");
	if (i == 4) {
		err(c, v[EX_OP], "unknown operator \"%s\" (expected In, NotIn, "
		    "Exists or DoesNotExist)", op);
		ret = -1;
	} else {
		e->op = (enum cfg_sel_op)i;
		if (i <= CFG_SEL_NOT_IN && e->nvalues == 0) {
			err(c, v[EX_OP], "%s needs a non-empty \"values\" list",
			    ops[i]);
			ret = -1;
		} else if (i > CFG_SEL_NOT_IN && e->nvalues > 0) {
			err(c, v[EX_OP], "%s takes no \"values\"", ops[i]);
			ret = -1;
		}
	}
	path_pop(c, old);
	free(op);
	return ret;
}

static int
parse_term(struct lctx *c, const struct ynode *n, struct cfg_sel_term *t)
{
	const struct ynode *v[SE__N];
	size_t old, old2;
	int ret = 0;

	if (map_keys(c, n, sel_keys, SE__N, v) == -1)
		return -1;
	if (get_kvmap(c, "match-labels", v[SE_LABELS], &t->labels,
	    &t->nlabels) == -1)
		ret = -1;
	if (v[SE_EXPRS] == NULL)
		return ret;
	old = path_key(c, "match-expressions");
	if (want_seq(c, v[SE_EXPRS]) == -1)
		ret = -1;
	else
		for (size_t i = 0; i < v[SE_EXPRS]->n; i++) {
			old2 = path_idx(c, i);
			if (parse_expr(c, v[SE_EXPRS]->kids[i],
			    GROW(t->exprs, t->nexprs)) == -1)
				ret = -1;
			path_pop(c, old2);
		}
	path_pop(c, old);
	return ret;
}

/* node-selector (one term of labels) and/or node-selectors (terms). */
static int
parse_selector(struct lctx *c, const char *mapkey, const struct ynode *map,
    const char *listkey, const struct ynode *list, struct cfg_selector *sel)
{
	size_t old, old2;
	int ret = 0;

	if (map != NULL && list != NULL) {
		old = path_key(c, listkey);
		err(c, list, "use either %s or %s, not both", mapkey, listkey);
		path_pop(c, old);
		ret = -1;
	} else if (map != NULL) {
		struct cfg_sel_term *t = GROW(sel->terms, sel->nterms);

		return get_kvmap(c, mapkey, map, &t->labels, &t->nlabels);
	}
	if (list == NULL)
		return 0;
	old = path_key(c, listkey);
	if (want_seq(c, list) == -1)
		ret = -1;
	else
		for (size_t i = 0; i < list->n; i++) {
			old2 = path_idx(c, i);
			if (parse_term(c, list->kids[i],
			    GROW(sel->terms, sel->nterms)) == -1)
				ret = -1;
			path_pop(c, old2);
		}
	path_pop(c, old);
	return ret;
}

/* ---- top level: aliases, nodes ----------------------------------------- */

static void
walk_aliases(struct lctx *c, const char *key, const struct ynode *n)
{
	struct cfg *cfg = c->cfg;
	size_t old;

	if (n == NULL)
		return;
	old = path_key(c, key);
	if (n->type != YN_MAP && !(n->type == YN_SCALAR && n->is_null)) {
		err(c, n, "expected a mapping of name to community, got %s",
		    kind_name(n));
		goto out;
	}
	for (size_t k = 0; k + 1 < n->n; k += 2) {
		const char *name, *v;
		uint32_t val;
		size_t old2;

		if ((name = scalar(c, n->kids[k])) == NULL)
			continue;
		old2 = path_key(c, name);
		for (size_t j = 0; j < cfg->ncommunity_aliases; j++)
			if (strcmp(cfg->community_aliases[j].name, name) == 0)
				err(c, n->kids[k], "duplicate key \"%s\"", name);
		if ((v = scalar(c, n->kids[k + 1])) != NULL) {
			if (cfg_parse_community(v, &val) == -1)
				err(c, n->kids[k + 1], "invalid community "
				    "\"%s\" (expected ASN:VALUE with 16-bit "
				    "numbers, or a well-known name)", v);
			else {
				struct cfg_community_alias *a =
				    GROW(cfg->community_aliases,
				    cfg->ncommunity_aliases);

				a->name = xstrdup(name);
				a->value = val;
			}
		}
		path_pop(c, old2);
	}
out:
	path_pop(c, old);
}

enum { ND_NAME, ND_LABELS, ND__N };
static const char *const node_keys[ND__N] = { "name", "labels" };

static void
walk_nodes(struct lctx *c, const struct ynode *n)
{
	struct cfg *cfg = c->cfg;
	size_t old, old2;

	if (n == NULL)
		return;
	old = path_key(c, "nodes");
	if (want_seq(c, n) == -1)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *v[ND__N], *it = n->kids[i];
		struct cfg_node *nd = GROW(cfg->nodes, cfg->nnodes);

		old2 = path_idx(c, i);
		nd->loc = loc_of(it);
		if (map_keys(c, it, node_keys, ND__N, v) == 0) {
			if (v[ND_NAME] == NULL)
				err(c, it, "missing required key \"name\"");
			else if (get_str(c, "name", v[ND_NAME], &nd->name) == 0) {
				size_t o = path_key(c, "name");

				for (size_t j = 0; j < i; j++)
					check_dup(c, v[ND_NAME], "node", nd->name,
					    cfg->nodes[j].name, &cfg->nodes[j].loc);
				path_pop(c, o);
			}
			get_kvmap(c, "labels", v[ND_LABELS], &nd->labels,
			    &nd->nlabels);
		}
		if (nd->name == NULL)
			nd->name = xstrdup("");
		path_pop(c, old2);
	}
out:
	path_pop(c, old);
}

/* ---- vrfs -------------------------------------------------------------- */

enum { VR_NAME, VR_RD, VR_RTS, VR_LABEL, VR__N };
static const char *const vrf_keys[VR__N] = { "name", "route-distinguisher",
    "route-targets", "label" };

static void
walk_vrfs(struct lctx *c, const struct ynode *n)
{
	struct cfg *cfg = c->cfg;
	size_t old, old2, o;
	char buf[64];

	if (n == NULL)
		return;
	old = path_key(c, "vrfs");
	if (want_seq(c, n) == -1)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *v[VR__N], *it = n->kids[i];
		struct cfg_vrf *vrf = GROW(cfg->vrfs, cfg->nvrfs);
		char *rd = NULL;
		uint64_t label;

		old2 = path_idx(c, i);
		vrf->loc = loc_of(it);
		if (map_keys(c, it, vrf_keys, VR__N, v) == -1)
			goto next;
		if (v[VR_NAME] == NULL)
			err(c, it, "missing required key \"name\"");
		else if (get_str(c, "name", v[VR_NAME], &vrf->name) == 0) {
			o = path_key(c, "name");
			for (size_t j = 0; j < i; j++)
				check_dup(c, v[VR_NAME], "vrf", vrf->name,
				    cfg->vrfs[j].name, &cfg->vrfs[j].loc);
			path_pop(c, o);
		}
		if (get_str(c, "route-distinguisher", v[VR_RD], &rd) == 0 &&
		    rd != NULL) {
			o = path_key(c, "route-distinguisher");
			if (cfg_parse_rd(rd, vrf->rd) == -1)
				err(c, v[VR_RD], "invalid route distinguisher "
				    "\"%s\" (expected ASN:NN or IPv4:NN)", rd);
			else
				vrf->route_distinguisher = xstrdup(
				    cfg_rdrt_fmt(vrf->rd[1], vrf->rd + 2, buf,
				    sizeof(buf)));
			path_pop(c, o);
		}
		free(rd);
		if (v[VR_RTS] != NULL) {
			char **rts = NULL;
			size_t nrts = 0;

			get_strlist(c, "route-targets", v[VR_RTS], &rts, &nrts);
			o = path_key(c, "route-targets");
			for (size_t j = 0; j < nrts; j++) {
				uint8_t rt[8];
				size_t o2 = path_idx(c, j);

				if (cfg_parse_rt(rts[j], rt) == -1)
					err(c, v[VR_RTS]->kids[j], "invalid "
					    "route target \"%s\" (expected "
					    "ASN:NN or IPv4:NN)", rts[j]);
				else {
					vrf->rt = xrealloc(vrf->rt,
					    (vrf->nroute_targets + 1) * 8);
					memcpy(vrf->rt[vrf->nroute_targets], rt,
					    8);
					vrf->route_targets = xrealloc(
					    vrf->route_targets,
					    (vrf->nroute_targets + 1) *
					    sizeof(char *));
					vrf->route_targets[vrf->nroute_targets++]
					    = xstrdup(cfg_rdrt_fmt(rt[0],
					    rt + 2, buf, sizeof(buf)));
				}
				path_pop(c, o2);
				free(rts[j]);
			}
			free(rts);
			path_pop(c, o);
		}
		if (get_uint(c, "label", v[VR_LABEL], 0, CFG_MAX_LABEL,
		    &label) == 0 && v[VR_LABEL] != NULL)
			vrf->label = (uint32_t)label;
next:
		if (vrf->name == NULL)
			vrf->name = xstrdup("");
		path_pop(c, old2);
	}
out:
	path_pop(c, old);
}

/* ---- peers ------------------------------------------------------------- */

enum {
	PE_NAME, PE_ADDRESS, PE_ASN, PE_MY_ASN, PE_PORT, PE_HOLD, PE_KEEPALIVE,
	PE_CONNECT, PE_PASSIVE, PE_PASSWORD, PE_MULTIHOP, PE_SOURCE,
	PE_ROUTER_ID, PE_VRF, PE_VPN, PE_GR, PE_BFD, PE_SEL, PE_SELS,
	PE_MAX_PREFIXES, PE__N
};
static const char *const peer_keys[PE__N] = {
	"name", "address", "asn", "my-asn", "port", "hold-time",
	"keepalive-time", "connect-time", "passive", "password",
	"ebgp-multihop", "source-address", "router-id", "vrf", "vpn",
	"graceful-restart", "bfd", "node-selector", "node-selectors",
	"max-prefixes",
};
static const char *const peer_keys_legacy[PE__N] = {
	[PE_ADDRESS] = "peer-address", [PE_ASN] = "peer-asn",
	[PE_MY_ASN] = "my-asn", [PE_PORT] = "peer-port",
	[PE_HOLD] = "hold-time", [PE_KEEPALIVE] = "keepalive-time",
	[PE_PASSWORD] = "password", [PE_MULTIHOP] = "ebgp-multihop",
	[PE_SOURCE] = "source-address", [PE_ROUTER_ID] = "router-id",
	[PE_SELS] = "node-selectors",
};

enum { BF_MIN_RX, BF_MIN_TX, BF_MULT, BF_PASSIVE, BF__N };
static const char *const bfd_keys[BF__N] = { "min-rx", "min-tx",
    "multiplier", "passive" };

static void
walk_bfd(struct lctx *c, const struct ynode *n, struct cfg_bfd *bfd)
{
	const struct ynode *v[BF__N];
	uint64_t mult;
	size_t old = path_key(c, "bfd");

	/* `bfd: true` turns it on with the defaults. */
	if (n->type == YN_SCALAR && !n->is_null) {
		path_pop(c, old);
		get_bool(c, "bfd", n, &bfd->enabled);
		return;
	}
	bfd->enabled = true;
	if (map_keys(c, n, bfd_keys, BF__N, v) == -1)
		goto out;
	get_dur(c, "min-rx", v[BF_MIN_RX], &bfd->min_rx_ms);
	get_dur(c, "min-tx", v[BF_MIN_TX], &bfd->min_tx_ms);
	if (get_uint(c, "multiplier", v[BF_MULT], 1, 255, &mult) == 0 &&
	    v[BF_MULT] != NULL)
		bfd->multiplier = (uint8_t)mult;
	get_bool(c, "passive", v[BF_PASSIVE], &bfd->passive);
	if (v[BF_MIN_RX] != NULL && bfd->min_rx_ms == 0) {
		size_t o = path_key(c, "min-rx");

		err(c, v[BF_MIN_RX], "must be more than 0");
		path_pop(c, o);
	}
	if (v[BF_MIN_TX] != NULL && bfd->min_tx_ms == 0) {
		size_t o = path_key(c, "min-tx");

		err(c, v[BF_MIN_TX], "must be more than 0");
		path_pop(c, o);
	}
out:
	path_pop(c, old);
}

static bool
vrf_known(const struct cfg *cfg, const char *name)
{
	if (cfg_vrf_find(cfg, name) != NULL)
		return true;
	for (size_t i = 0; i < cfg->npeers; i++)
		if (cfg->peers[i].vrf != NULL &&
		    strcmp(cfg->peers[i].vrf, name) == 0)
			return true;
	return false;
}

static void
walk_peer(struct lctx *c, const struct ynode *it, size_t idx,
    const char *const *keys)
{
	struct cfg *cfg = c->cfg;
	struct cfg_peer *p = &cfg->peers[idx];
	const struct ynode *v[PE__N];
	char buf[ADDR_STRLEN], d1[32], d2[32];
	size_t o;

	p->port = CFG_DEF_PORT;
	p->hold_time_ms = CFG_DEF_HOLD_MS;
	p->connect_time_ms = CFG_DEF_CONNECT_MS;
	p->graceful_restart = true;
	p->bfd.min_rx_ms = p->bfd.min_tx_ms = CFG_DEF_BFD_MS;
	p->bfd.multiplier = CFG_DEF_BFD_MULT;
	p->loc = loc_of(it);
	if (map_keys(c, it, keys, PE__N, v) == -1)
		return;

	for (size_t k = PE_ADDRESS; k <= PE_MY_ASN; k++)
		if (v[k] == NULL)
			err(c, it, "missing required key \"%s\"", keys[k]);
	get_addr(c, keys[PE_ADDRESS], v[PE_ADDRESS], 0, &p->address);
	get_asn(c, keys[PE_ASN], v[PE_ASN], &p->asn);
	get_asn(c, keys[PE_MY_ASN], v[PE_MY_ASN], &p->my_asn);
	get_port(c, keys[PE_PORT], v[PE_PORT], &p->port);

	if (get_dur(c, keys[PE_HOLD], v[PE_HOLD], &p->hold_time_ms) == 0 &&
	    p->hold_time_ms != 0 && p->hold_time_ms < 3000) {
		o = path_key(c, keys[PE_HOLD]);
		err(c, v[PE_HOLD], "hold-time %s must be 0 or at least 3s",
		    cfg_duration_fmt(p->hold_time_ms, d1, sizeof(d1)));
		path_pop(c, o);
	}
	/* RFC 4271 suggests a keepalive of a third of the hold time. */
	p->keepalive_ms = p->hold_time_ms / 3;
	if (get_dur(c, keys[PE_KEEPALIVE], v[PE_KEEPALIVE], &p->keepalive_ms)
	    == 0 && v[PE_KEEPALIVE] != NULL) {
		o = path_key(c, keys[PE_KEEPALIVE]);
		if (p->keepalive_ms > p->hold_time_ms)
			err(c, v[PE_KEEPALIVE], "keepalive-time %s is longer "
			    "than hold-time %s",
			    cfg_duration_fmt(p->keepalive_ms, d1, sizeof(d1)),
			    cfg_duration_fmt(p->hold_time_ms, d2, sizeof(d2)));
		else if (p->keepalive_ms == 0 && p->hold_time_ms != 0)
			err(c, v[PE_KEEPALIVE], "keepalive-time must be more "
			    "than 0 when hold-time is not 0");
		path_pop(c, o);
	}
	if (keys[PE_CONNECT] != NULL &&
	    get_dur(c, keys[PE_CONNECT], v[PE_CONNECT], &p->connect_time_ms)
	    == 0 && p->connect_time_ms == 0) {
		o = path_key(c, keys[PE_CONNECT]);
		err(c, v[PE_CONNECT], "connect-time must be more than 0");
		path_pop(c, o);
	}
	get_bool(c, "passive", v[PE_PASSIVE], &p->passive);
	if (get_str(c, "password", v[PE_PASSWORD], &p->password) == 0 &&
	    p->password != NULL && strlen(p->password) > CFG_MD5_KEY_MAX) {
		o = path_key(c, "password");
		/* The length only: the value is a secret. */
		err(c, v[PE_PASSWORD], "longer than %d bytes (%zu), the limit of "
		    "a TCP MD5 key", CFG_MD5_KEY_MAX, strlen(p->password));
		path_pop(c, o);
	}

	if (v[PE_MULTIHOP] != NULL) {
		const struct ynode *m = v[PE_MULTIHOP];
		bool b;
		uint64_t ttl;

		o = path_key(c, "ebgp-multihop");
		if (m->type == YN_SCALAR && !m->is_null &&
		    parse_bool(m->str, &b) == 0)
			p->ebgp_multihop = b ? 255 : 0;
		else if (m->type == YN_SCALAR && !m->is_null &&
		    parse_u64(m->str, &ttl) == 0 && ttl >= 1 && ttl <= 255)
			p->ebgp_multihop = (uint8_t)ttl;
		else if (scalar(c, m) != NULL)
			err(c, m, "expected true, false or a TTL 1..255, got "
			    "\"%s\"", m->str);
		path_pop(c, o);
	}
	if (get_addr(c, keys[PE_SOURCE], v[PE_SOURCE], 0,
	    &p->source_address) == 0 && v[PE_SOURCE] != NULL &&
	    p->address.af != 0 && p->source_address.af != p->address.af) {
		o = path_key(c, keys[PE_SOURCE]);
		err(c, v[PE_SOURCE], "source-address %s is not of the peer "
		    "address's family", addr_ntop(&p->source_address, buf,
		    sizeof(buf)));
		path_pop(c, o);
	}
	get_addr(c, "router-id", v[PE_ROUTER_ID], ADDR_AF_INET, &p->router_id);
	get_str(c, "vrf", v[PE_VRF], &p->vrf);
	if (get_strlist(c, "vpn", v[PE_VPN], &p->vpn, &p->nvpn) == 0) {
		o = path_key(c, "vpn");
		for (size_t j = 0; j < p->nvpn; j++) {
			const struct cfg_vrf *vrf = cfg_vrf_find(cfg, p->vpn[j]);
			size_t o2 = path_idx(c, j);

			if (vrf == NULL)
				err(c, v[PE_VPN]->kids[j], "unknown vrf \"%s\" "
				    "(VPN routes need a vrfs: entry with a "
				    "route-distinguisher)", p->vpn[j]);
			else if (vrf->route_distinguisher == NULL)
				err(c, v[PE_VPN]->kids[j], "vrf \"%s\" has no "
				    "route-distinguisher, which VPN routes "
				    "need", p->vpn[j]);
			path_pop(c, o2);
		}
		path_pop(c, o);
	}
	get_bool(c, "graceful-restart", v[PE_GR], &p->graceful_restart);
	{
		uint64_t mp;

		if (get_uint(c, "max-prefixes", v[PE_MAX_PREFIXES], 1,
		    UINT32_MAX, &mp) == 0 && v[PE_MAX_PREFIXES] != NULL)
			p->max_prefixes = (uint32_t)mp;
	}
	if (v[PE_BFD] != NULL)
		walk_bfd(c, v[PE_BFD], &p->bfd);
	parse_selector(c, "node-selector", v[PE_SEL], keys[PE_SELS],
	    v[PE_SELS], &p->node_selector);

	if (v[PE_NAME] != NULL)
		get_str(c, "name", v[PE_NAME], &p->name);
}

static void
walk_peers(struct lctx *c, const struct ynode *n)
{
	struct cfg *cfg = c->cfg;
	const char *const *keys = c->legacy ? peer_keys_legacy : peer_keys;
	char buf[ADDR_STRLEN + 16];
	size_t old, old2;

	if (n == NULL)
		return;
	old = path_key(c, "peers");
	if (want_seq(c, n) == -1)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *it = n->kids[i];
		struct cfg_peer *p;

		GROW(cfg->peers, cfg->npeers);
		p = &cfg->peers[i];
		old2 = path_idx(c, i);
		walk_peer(c, it, i, keys);
		if (p->name == NULL && p->address.af != 0) {
			/*
			 * A peer without a name is known by its address.
			 * MetalLB allowed the same router twice (e.g. with
			 * different node selectors), so a legacy repeat
			 * gets a suffix rather than an error.
			 */
			addr_ntop(&p->address, buf, sizeof(buf));
			for (unsigned k = 2; c->legacy &&
			    cfg_peer_find(cfg, buf) != NULL; k++) {
				char a[ADDR_STRLEN];

				snprintf(buf, sizeof(buf), "%s-%u",
				    addr_ntop(&p->address, a, sizeof(a)), k);
			}
			p->name = xstrdup(buf);
		}
		if (p->name == NULL)
			p->name = xstrdup("");
		else if (*p->name != '\0') {
			const struct ynode *nn = map_get(it, "name");
			size_t o = path_key(c, nn != NULL ? "name" :
			    (c->legacy ? "peer-address" : "address"));

			if (nn == NULL)
				nn = map_get(it, c->legacy ? "peer-address" :
				    "address");
			for (size_t j = 0; j < i; j++)
				check_dup(c, nn, "peer", p->name,
				    cfg->peers[j].name, &cfg->peers[j].loc);
			path_pop(c, o);
		}
		path_pop(c, old2);
	}
out:
	path_pop(c, old);
}

/* ---- pools -------------------------------------------------------------- */

enum {
	PO_NAME, PO_PROTOCOL, PO_ADDRESSES, PO_AUTO, PO_AVOID, PO_VRF,
	PO_COMMS, PO_LCOMMS, PO_LP, PO_AGG, PO_AGG6, PO_PEERS, PO_SEL, PO_SELS,
	PO_ADVERTS, PO_IFACES, PO_WECMP, PO__N
};
static const char *const pool_keys[PO__N] = {
	"name", "protocol", "addresses", "auto-assign", "avoid-buggy-ips",
	"vrf", "communities", "large-communities", "local-pref",
	"aggregation-length", "aggregation-length-v6", "peers",
	"node-selector", "node-selectors", "advertisements", "interfaces",
	"weighted-ecmp",
};
static const char *const pool_keys_legacy[PO__N] = {
	[PO_NAME] = "name", [PO_PROTOCOL] = "protocol",
	[PO_ADDRESSES] = "addresses", [PO_AUTO] = "auto-assign",
	[PO_AVOID] = "avoid-buggy-ips", [PO_ADVERTS] = "bgp-advertisements",
};

enum {
	AD_AGG, AD_AGG6, AD_LP, AD_COMMS, AD_LCOMMS, AD_PEERS, AD_SEL, AD_SELS,
	AD__N
};
static const char *const advert_keys[AD__N] = {
	"aggregation-length", "aggregation-length-v6", "local-pref",
	"communities", "large-communities", "peers", "node-selector",
	"node-selectors",
};
static const char *const advert_keys_legacy[AD__N] = {
	[AD_AGG] = "aggregation-length", [AD_AGG6] = "aggregation-length-v6",
	[AD_LP] = "localpref", [AD_COMMS] = "communities",
	[AD_SELS] = "node-selectors",
};

static void
parse_range(struct lctx *c, const struct ynode *n, struct cfg_range *r)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	const char *s, *dash;
	struct prefix p;
	struct addr lo, hi;

	r->loc = loc_of(n);
	if ((s = scalar(c, n)) == NULL)
		return;
	if (strchr(s, '/') != NULL) {
		if (prefix_parse(s, &p, true) == -1) {
			err(c, n, "invalid CIDR \"%s\"", s);
			return;
		}
		if (prefix_parse(s, &p, false) == -1) {
			struct prefix q = prefix_of(&p.addr, p.len);

			err(c, n, "CIDR %s has host bits set (did you mean %s?)",
			    s, prefix_ntop(&q, a, sizeof(a)));
			return;
		}
		r->is_cidr = true;
		r->cidr = p;
		r->range = prefix_range(&p);
		return;
	}
	if ((dash = strchr(s, '-')) == NULL) {
		err(c, n, "expected a CIDR (192.0.2.0/24) or a range "
		    "(192.0.2.1-192.0.2.9), got \"%s\"", s);
		return;
	}
	/* MetalLB allows spaces around the dash. */
	{
		size_t la = (size_t)(dash - s);
		const char *hs = dash + 1;

		while (la > 0 && s[la - 1] == ' ')
			la--;
		while (*hs == ' ')
			hs++;
		if (la >= sizeof(a) || strlen(hs) >= sizeof(b)) {
			err(c, n, "invalid range \"%s\"", s);
			return;
		}
		memcpy(a, s, la);
		a[la] = '\0';
		snprintf(b, sizeof(b), "%s", hs);
		while (*b != '\0' && b[strlen(b) - 1] == ' ')
			b[strlen(b) - 1] = '\0';
	}
	if (addr_parse(a, &lo) == -1) {
		err(c, n, "invalid range start \"%s\"", a);
		return;
	}
	if (addr_parse(b, &hi) == -1) {
		err(c, n, "invalid range end \"%s\"", b);
		return;
	}
	if (lo.af != hi.af) {
		err(c, n, "range %s mixes IPv4 and IPv6", s);
		return;
	}
	if (addr_cmp(&lo, &hi) > 0) {
		err(c, n, "range start %s is after its end %s", a, b);
		return;
	}
	r->range.first = lo;
	r->range.last = hi;
}

static const char *
range_text(const struct cfg_range *r, char *buf, size_t len)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	if (r->is_cidr)
		return prefix_ntop(&r->cidr, buf, len);
	snprintf(buf, len, "%s-%s", addr_ntop(&r->range.first, a, sizeof(a)),
	    addr_ntop(&r->range.last, b, sizeof(b)));
	return buf;
}

/* Overlap with any earlier range, in this pool or an earlier one. */
static void
check_overlap(struct lctx *c, const struct ynode *n, size_t pi, size_t ri)
{
	const struct cfg *cfg = c->cfg;
	const struct cfg_range *r = &cfg->pools[pi].ranges[ri];
	char t1[2 * ADDR_STRLEN], t2[2 * ADDR_STRLEN];

	if (r->range.first.af == 0)
		return;
	for (size_t i = 0; i <= pi; i++) {
		const struct cfg_pool *p = &cfg->pools[i];
		size_t nr = i == pi ? ri : p->nranges;

		for (size_t j = 0; j < nr; j++) {
			if (p->ranges[j].range.first.af == 0 ||
			    !range_overlaps(&r->range, &p->ranges[j].range))
				continue;
			err(c, n, "%s overlaps %s of pool \"%s\" (%s[%zu]."
			    "addresses[%zu])", range_text(r, t1, sizeof(t1)),
			    range_text(&p->ranges[j], t2, sizeof(t2)),
			    p->name != NULL ? p->name : "", c->pools_key, i, j);
			return;
		}
	}
}

static void
parse_communities(struct lctx *c, const char *key, const struct ynode *n,
    struct cfg_advert *a)
{
	const struct cfg *cfg = c->cfg;
	size_t old, old2;

	if (n == NULL)
		return;
	old = path_key(c, key);
	if (want_seq(c, n) == -1)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		const char *s;
		uint32_t v;
		bool found = false;

		old2 = path_idx(c, i);
		if ((s = scalar(c, n->kids[i])) != NULL) {
			for (size_t j = 0; j < cfg->ncommunity_aliases; j++)
				if (strcmp(cfg->community_aliases[j].name, s)
				    == 0) {
					v = cfg->community_aliases[j].value;
					found = true;
				}
			if (found || cfg_parse_community(s, &v) == 0)
				*GROW(a->communities, a->ncommunities) = v;
			else
				err(c, n->kids[i], "invalid community \"%s\" "
				    "(expected ASN:VALUE with 16-bit numbers, "
				    "a well-known name or a bgp-communities "
				    "alias)", s);
		}
		path_pop(c, old2);
	}
out:
	path_pop(c, old);
}

static void
parse_large_communities(struct lctx *c, const struct ynode *n,
    struct cfg_advert *a)
{
	size_t old, old2;

	if (n == NULL)
		return;
	old = path_key(c, "large-communities");
	if (want_seq(c, n) == -1)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		const char *s;
		struct cfg_large_community lc;

		old2 = path_idx(c, i);
		if ((s = scalar(c, n->kids[i])) != NULL) {
			if (cfg_parse_large_community(s, &lc) == 0)
				*GROW(a->large_communities,
				    a->nlarge_communities) = lc;
			else
				err(c, n->kids[i], "invalid large community "
				    "\"%s\" (expected GLOBAL:LOCAL1:LOCAL2 with "
				    "32-bit numbers)", s);
		}
		path_pop(c, old2);
	}
out:
	path_pop(c, old);
}

static void
check_agg(struct lctx *c, const char *key, const struct ynode *n,
    const struct cfg_pool *pool, uint8_t af, int len)
{
	char t[2 * ADDR_STRLEN];
	size_t old = path_key(c, key);

	for (size_t i = 0; i < pool->nranges; i++) {
		const struct cfg_range *r = &pool->ranges[i];
		unsigned longest;

		if (r->range.first.af != af)
			continue;
		longest = range_longest_cidr(&r->range);
		if ((unsigned)len < longest) {
			err(c, n, "%s %d is shorter than the /%u in the pool's "
			    "%s: the aggregate would cover addresses outside "
			    "the pool", key, len, longest,
			    range_text(r, t, sizeof(t)));
			break;
		}
	}
	path_pop(c, old);
}

/* v[] is indexed by AD_*; keys names them as the user wrote them. */
static void
parse_advert(struct lctx *c, const struct ynode *const *v,
    const char *const *keys, struct cfg_pool *pool, struct cfg_advert *a)
{
	const struct cfg *cfg = c->cfg;
	uint64_t u;

	a->aggregation_length = 32;
	a->aggregation_length_v6 = 128;
	if (get_uint(c, keys[AD_AGG], v[AD_AGG], 0, 32, &u) == 0 &&
	    v[AD_AGG] != NULL) {
		a->aggregation_length = (int)u;
		check_agg(c, keys[AD_AGG], v[AD_AGG], pool, ADDR_AF_INET,
		    a->aggregation_length);
	}
	if (get_uint(c, keys[AD_AGG6], v[AD_AGG6], 0, 128, &u) == 0 &&
	    v[AD_AGG6] != NULL) {
		a->aggregation_length_v6 = (int)u;
		check_agg(c, keys[AD_AGG6], v[AD_AGG6], pool, ADDR_AF_INET6,
		    a->aggregation_length_v6);
	}
	if (get_uint(c, keys[AD_LP], v[AD_LP], 0, UINT32_MAX, &u) == 0 &&
	    v[AD_LP] != NULL) {
		a->has_local_pref = true;
		a->local_pref = (uint32_t)u;
	}
	parse_communities(c, keys[AD_COMMS], v[AD_COMMS], a);
	parse_large_communities(c, v[AD_LCOMMS], a);
	if (get_strlist(c, "peers", v[AD_PEERS], &a->peers, &a->npeers) == 0 &&
	    a->npeers > 0) {
		size_t old = path_key(c, "peers");

		for (size_t j = 0; j < a->npeers; j++) {
			size_t o2 = path_idx(c, j);

			if (cfg_peer_find(cfg, a->peers[j]) == NULL)
				err(c, v[AD_PEERS]->kids[j],
				    "unknown peer \"%s\"", a->peers[j]);
			path_pop(c, o2);
		}
		path_pop(c, old);
	}
	parse_selector(c, "node-selector", v[AD_SEL], "node-selectors",
	    v[AD_SELS], &a->node_selector);
}

static void
walk_pool(struct lctx *c, const struct ynode *it, size_t idx,
    const char *const *keys)
{
	struct cfg *cfg = c->cfg;
	struct cfg_pool *pool = &cfg->pools[idx];
	const struct ynode *v[PO__N];
	char *proto = NULL;
	size_t o;
	static const int advert_of_pool[AD__N] = {
		[AD_AGG] = PO_AGG, [AD_AGG6] = PO_AGG6, [AD_LP] = PO_LP,
		[AD_COMMS] = PO_COMMS, [AD_LCOMMS] = PO_LCOMMS,
		[AD_PEERS] = PO_PEERS, [AD_SEL] = -1, [AD_SELS] = -1,
	};

	pool->auto_assign = true;
	pool->loc = loc_of(it);
	if (map_keys(c, it, keys, PO__N, v) == -1)
		return;
	if (v[PO_NAME] == NULL)
		err(c, it, "missing required key \"name\"");
	else if (get_str(c, "name", v[PO_NAME], &pool->name) == 0) {
		o = path_key(c, "name");
		for (size_t j = 0; j < idx; j++)
			check_dup(c, v[PO_NAME], "pool", pool->name,
			    cfg->pools[j].name, &cfg->pools[j].loc);
		path_pop(c, o);
	}
	if (c->legacy && v[PO_PROTOCOL] == NULL)
		err(c, it, "missing required key \"protocol\"");
	if (get_str(c, "protocol", v[PO_PROTOCOL], &proto) == 0 &&
	    proto != NULL) {
		o = path_key(c, "protocol");
		if (strcmp(proto, "bgp") == 0)
			pool->protocol = CFG_PROTO_BGP;
		else if (strcmp(proto, "layer2") == 0)
			pool->protocol = CFG_PROTO_LAYER2;
		else
			err(c, v[PO_PROTOCOL], "unknown protocol \"%s\" "
			    "(expected bgp or layer2)", proto);
		path_pop(c, o);
	}
	free(proto);

	if (v[PO_ADDRESSES] == NULL)
		err(c, it, "missing required key \"addresses\"");
	else {
		const struct ynode *an = v[PO_ADDRESSES];

		o = path_key(c, "addresses");
		if (want_seq(c, an) == 0) {
			if (an->n == 0)
				err(c, an, "a pool needs at least one address "
				    "range");
			for (size_t i = 0; i < an->n; i++) {
				size_t o2 = path_idx(c, i);

				parse_range(c, an->kids[i],
				    GROW(pool->ranges, pool->nranges));
				check_overlap(c, an->kids[i], idx, i);
				path_pop(c, o2);
			}
		}
		path_pop(c, o);
	}
	get_bool(c, "auto-assign", v[PO_AUTO], &pool->auto_assign);
	get_bool(c, "avoid-buggy-ips", v[PO_AVOID], &pool->avoid_buggy_ips);
	if (get_str(c, "vrf", v[PO_VRF], &pool->vrf) == 0 && pool->vrf != NULL &&
	    !vrf_known(cfg, pool->vrf)) {
		o = path_key(c, "vrf");
		err(c, v[PO_VRF], "unknown vrf \"%s\" (no peer has vrf: %s "
		    "and vrfs: has no entry for it)", pool->vrf, pool->vrf);
		path_pop(c, o);
	}
	parse_selector(c, "node-selector", v[PO_SEL], "node-selectors",
	    v[PO_SELS], &pool->node_selector);

	if (pool->protocol == CFG_PROTO_LAYER2) {
		for (size_t k = PO_COMMS; k <= PO_ADVERTS; k++) {
			if (v[k] == NULL || k == PO_SEL || k == PO_SELS)
				continue;
			o = path_key(c, keys[k]);
			err(c, v[k], "%s is only for bgp pools: a layer2 pool "
			    "is not announced by BGP", keys[k]);
			path_pop(c, o);
		}
		if (v[PO_WECMP] != NULL) {
			o = path_key(c, "weighted-ecmp");
			err(c, v[PO_WECMP], "weighted-ecmp is only for bgp pools");
			path_pop(c, o);
		}
		get_strlist(c, "interfaces", v[PO_IFACES], &pool->interfaces,
		    &pool->ninterfaces);
		return;
	}
	get_bool(c, "weighted-ecmp", v[PO_WECMP], &pool->weighted_ecmp);
	if (v[PO_IFACES] != NULL) {
		o = path_key(c, "interfaces");
		err(c, v[PO_IFACES], "interfaces is only for layer2 pools");
		path_pop(c, o);
	}
	if (v[PO_ADVERTS] != NULL && v[PO_ADVERTS]->n > 0) {
		const struct ynode *an = v[PO_ADVERTS];
		const char *const *akeys = c->legacy ? advert_keys_legacy :
		    advert_keys;

		for (size_t k = PO_COMMS; k <= PO_PEERS; k++) {
			if (v[k] == NULL)
				continue;
			o = path_key(c, keys[k]);
			err(c, v[k], "%s cannot be combined with "
			    "advertisements: set it in each advertisement",
			    keys[k]);
			path_pop(c, o);
		}
		o = path_key(c, keys[PO_ADVERTS]);
		if (want_seq(c, an) == 0)
			for (size_t i = 0; i < an->n; i++) {
				const struct ynode *av[AD__N];
				struct cfg_advert *a = GROW(pool->adverts,
				    pool->nadverts);
				size_t o2 = path_idx(c, i);

				a->loc = loc_of(an->kids[i]);
				a->aggregation_length = 32;
				a->aggregation_length_v6 = 128;
				if (map_keys(c, an->kids[i], akeys, AD__N, av)
				    == 0)
					parse_advert(c, av, akeys, pool, a);
				path_pop(c, o2);
			}
		path_pop(c, o);
	} else {
		/* The pool's own keys form its single advertisement. */
		const struct ynode *av[AD__N];
		const char *pk[AD__N];
		struct cfg_advert *a = GROW(pool->adverts, pool->nadverts);

		for (size_t k = 0; k < AD__N; k++) {
			int pi = advert_of_pool[k];

			av[k] = pi >= 0 ? v[pi] : NULL;
			pk[k] = pi >= 0 && keys[pi] != NULL ? keys[pi] :
			    advert_keys[k];
		}
		if (v[PO_ADVERTS] != NULL) {
			o = path_key(c, keys[PO_ADVERTS]);
			want_seq(c, v[PO_ADVERTS]);
			path_pop(c, o);
		}
		a->loc = pool->loc;
		parse_advert(c, av, pk, pool, a);
	}
}

static void
walk_pools(struct lctx *c, const struct ynode *n)
{
	struct cfg *cfg = c->cfg;
	size_t old, old2;

	if (n == NULL)
		return;
	old = path_key(c, c->pools_key);
	if (want_seq(c, n) == -1)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		GROW(cfg->pools, cfg->npools);
		old2 = path_idx(c, i);
		walk_pool(c, n->kids[i], i, c->legacy ? pool_keys_legacy :
		    pool_keys);
		if (cfg->pools[i].name == NULL)
			cfg->pools[i].name = xstrdup("");
		path_pop(c, old2);
	}
out:
	path_pop(c, old);
}

/* ---- services ----------------------------------------------------------- */

enum {
	SV_NAME, SV_POOL, SV_ADDRESSES, SV_SHARING, SV_PORTS, SV_FAMILIES,
	SV_POLICY, SV_TRAFFIC, SV_ENDPOINTS, SV__N
};
static const char *const svc_keys[SV__N] = {
	"name", "pool", "addresses", "sharing-key", "ports", "ip-families",
	"ip-family-policy", "external-traffic-policy", "endpoints",
};
enum { PT_PORT, PT_PROTOCOL, PT__N };
static const char *const port_keys[PT__N] = { "port", "protocol" };

static int
parse_l4(const char *s, enum cfg_proto_l4 *out)
{
	if (strcasecmp(s, "tcp") == 0)
		*out = CFG_L4_TCP;
	else if (strcasecmp(s, "udp") == 0)
		*out = CFG_L4_UDP;
	else if (strcasecmp(s, "sctp") == 0)
		*out = CFG_L4_SCTP;
	else
		return -1;
	return 0;
}

static void
parse_port(struct lctx *c, const struct ynode *n, struct cfg_port *pt)
{
	const struct ynode *v[PT__N];
	char *proto = NULL;

	pt->proto = CFG_L4_TCP;
	if (n->type == YN_SCALAR && !n->is_null) {
		char num[8];
		const char *slash = strchr(n->str, '/');
		size_t nl = slash != NULL ? (size_t)(slash - n->str) :
		    strlen(n->str);
		uint64_t p;

		if (nl >= sizeof(num))
			nl = sizeof(num) - 1;
		memcpy(num, n->str, nl);
		num[nl] = '\0';
		if (parse_u64(num, &p) == -1 || p < 1 || p > 65535 ||
		    (slash != NULL && parse_l4(slash + 1, &pt->proto) == -1))
			err(c, n, "invalid port \"%s\" (expected PORT/tcp, "
			    "PORT/udp or PORT/sctp with PORT 1..65535)",
			    n->str);
		else
			pt->port = (uint16_t)p;
		return;
	}
	if (map_keys(c, n, port_keys, PT__N, v) == -1)
		return;
	if (v[PT_PORT] == NULL)
		err(c, n, "missing required key \"port\"");
	get_port(c, "port", v[PT_PORT], &pt->port);
	if (get_str(c, "protocol", v[PT_PROTOCOL], &proto) == 0 &&
	    proto != NULL && parse_l4(proto, &pt->proto) == -1) {
		size_t o = path_key(c, "protocol");

		err(c, v[PT_PROTOCOL], "unknown protocol \"%s\" (expected TCP, "
		    "UDP or SCTP)", proto);
		path_pop(c, o);
	}
	free(proto);
}

static void
parse_families(struct lctx *c, const struct ynode *fam,
    const struct ynode *pol, struct cfg_service *s)
{
	char *policy = NULL;
	size_t o;
	int nfam = 0;

	if (fam != NULL) {
		o = path_key(c, "ip-families");
		if (want_seq(c, fam) == 0)
			for (size_t i = 0; i < fam->n; i++) {
				size_t o2 = path_idx(c, i);
				const char *f = scalar(c, fam->kids[i]);
				unsigned bit = 0;

				if (f != NULL && strcasecmp(f, "IPv4") == 0)
					bit = CFG_FAMILY_IPV4;
				else if (f != NULL && strcasecmp(f, "IPv6") == 0)
					bit = CFG_FAMILY_IPV6;
				else if (f != NULL)
					err(c, fam->kids[i], "unknown family "
					    "\"%s\" (expected IPv4 or IPv6)", f);
				if (bit != 0 && (s->families & bit))
					err(c, fam->kids[i], "%s is listed "
					    "twice", f);
				else if (bit != 0) {
					s->families |= bit;
					nfam++;
				}
				path_pop(c, o2);
			}
		path_pop(c, o);
	}
	if (get_str(c, "ip-family-policy", pol, &policy) == -1 ||
	    policy == NULL) {
		free(policy);
		return;
	}
	o = path_key(c, "ip-family-policy");
	if (strcasecmp(policy, "SingleStack") == 0) {
		if (nfam > 1)
			err(c, pol, "SingleStack allows one of ip-families, "
			    "not both");
	} else if (strcasecmp(policy, "PreferDualStack") == 0)
		s->families = CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6;
	else if (strcasecmp(policy, "RequireDualStack") == 0) {
		s->families = CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6;
		s->dual_stack_required = true;
	} else
		err(c, pol, "unknown policy \"%s\" (expected SingleStack, "
		    "PreferDualStack or RequireDualStack)", policy);
	path_pop(c, o);
	free(policy);
}

static bool
pool_contains(const struct cfg_pool *p, const struct addr *a)
{
	for (size_t i = 0; i < p->nranges; i++)
		if (range_contains(&p->ranges[i].range, a))
			return true;
	return false;
}

static void
check_static(struct lctx *c, const struct ynode *n, size_t si, size_t ai)
{
	const struct cfg *cfg = c->cfg;
	const struct cfg_service *s = &cfg->services[si];
	const struct addr *a = &s->addresses[ai];
	char buf[ADDR_STRLEN];
	bool in = false;

	addr_ntop(a, buf, sizeof(buf));
	if (s->pool != NULL) {
		const struct cfg_pool *p = cfg_pool_find(cfg, s->pool);

		if (p != NULL && !pool_contains(p, a))
			err(c, n, "address %s is not in pool \"%s\"", buf,
			    s->pool);
	} else {
		for (size_t i = 0; i < cfg->npools; i++)
			if (pool_contains(&cfg->pools[i], a))
				in = true;
		if (!in)
			err(c, n, "address %s is not in any pool", buf);
	}
	for (size_t j = 0; j < ai; j++)
		if (addr_eq(&s->addresses[j], a)) {
			err(c, n, "address %s is listed twice", buf);
			return;
		}
	/* One report per address: the first service it clashes with. */
	for (size_t i = 0; i < si; i++) {
		const struct cfg_service *o = &cfg->services[i];

		for (size_t j = 0; j < o->naddresses; j++) {
			if (!addr_eq(&o->addresses[j], a))
				continue;
			if (s->sharing_key == NULL || o->sharing_key == NULL ||
			    strcmp(s->sharing_key, o->sharing_key) != 0) {
				err(c, n, "address %s is also requested by "
				    "service \"%s\" (give both the same "
				    "sharing-key to share it)", buf, o->name);
				return;
			}
			break;
		}
	}
}

static void
walk_service(struct lctx *c, const struct ynode *it, size_t idx)
{
	struct cfg *cfg = c->cfg;
	struct cfg_service *s = &cfg->services[idx];
	const struct ynode *v[SV__N];
	char *tp = NULL;
	size_t o;

	s->loc = loc_of(it);
	if (map_keys(c, it, svc_keys, SV__N, v) == -1)
		return;
	if (v[SV_NAME] == NULL)
		err(c, it, "missing required key \"name\"");
	else if (get_str(c, "name", v[SV_NAME], &s->name) == 0) {
		/* A cluster may have 100k services: find an earlier one with
		 * the same name by hash, not by comparing with all of them. */
		uint64_t h = hmap_hash(s->name, strlen(s->name));
		void *prev;

		o = path_key(c, "name");
		if (c->svc_names == NULL)
			c->svc_names = hmap_new(sizeof(h));
		if ((prev = hmap_get(c->svc_names, &h)) == NULL) {
			hmap_put(c->svc_names, &h, (void *)(uintptr_t)(idx + 1));
		} else if (cfg->services[(uintptr_t)prev - 1].name != NULL &&
		    strcmp(cfg->services[(uintptr_t)prev - 1].name, s->name) == 0) {
			size_t j = (uintptr_t)prev - 1;

			check_dup(c, v[SV_NAME], "service", s->name,
			    cfg->services[j].name, &cfg->services[j].loc);
		} else {
			/* A true 64-bit collision: compare them all. */
			for (size_t j = 0; j < idx; j++)
				check_dup(c, v[SV_NAME], "service", s->name,
				    cfg->services[j].name, &cfg->services[j].loc);
		}
		path_pop(c, o);
	}
	get_str(c, "sharing-key", v[SV_SHARING], &s->sharing_key);
	if (get_str(c, "pool", v[SV_POOL], &s->pool) == 0 && s->pool != NULL &&
	    cfg_pool_find(cfg, s->pool) == NULL) {
		const char **names = xrealloc(NULL, (cfg->npools + 1) *
		    sizeof(*names));
		const char *near;

		for (size_t i = 0; i < cfg->npools; i++)
			names[i] = cfg->pools[i].name;
		near = nearest(s->pool, names, cfg->npools);
		o = path_key(c, "pool");
		if (near != NULL)
			err(c, v[SV_POOL], "unknown pool \"%s\" (did you mean "
			    "\"%s\"?)", s->pool, near);
		else
			err(c, v[SV_POOL], "unknown pool \"%s\"", s->pool);
		path_pop(c, o);
		free(names);
	}
	if (v[SV_ADDRESSES] != NULL) {
		const struct ynode *an = v[SV_ADDRESSES];

		o = path_key(c, "addresses");
		if (want_seq(c, an) == 0)
			for (size_t i = 0; i < an->n; i++) {
				size_t o2 = path_idx(c, i);
				const char *str = scalar(c, an->kids[i]);
				struct addr a;

				if (str != NULL && addr_parse(str, &a) == -1)
					err(c, an->kids[i], "invalid IP address "
					    "\"%s\"", str);
				else if (str != NULL) {
					*GROW(s->addresses, s->naddresses) = a;
					check_static(c, an->kids[i], idx,
					    s->naddresses - 1);
				}
				path_pop(c, o2);
			}
		path_pop(c, o);
	}
	if (v[SV_PORTS] != NULL) {
		o = path_key(c, "ports");
		if (want_seq(c, v[SV_PORTS]) == 0)
			for (size_t i = 0; i < v[SV_PORTS]->n; i++) {
				size_t o2 = path_idx(c, i);

				parse_port(c, v[SV_PORTS]->kids[i],
				    GROW(s->ports, s->nports));
				path_pop(c, o2);
			}
		path_pop(c, o);
	}
	parse_families(c, v[SV_FAMILIES], v[SV_POLICY], s);
	if (get_str(c, "external-traffic-policy", v[SV_TRAFFIC], &tp) == 0 &&
	    tp != NULL) {
		o = path_key(c, "external-traffic-policy");
		if (strcasecmp(tp, "Cluster") == 0)
			s->traffic_policy = CFG_TRAFFIC_CLUSTER;
		else if (strcasecmp(tp, "Local") == 0)
			s->traffic_policy = CFG_TRAFFIC_LOCAL;
		else
			err(c, v[SV_TRAFFIC], "unknown policy \"%s\" (expected "
			    "Cluster or Local)", tp);
		path_pop(c, o);
	}
	free(tp);
	if (v[SV_ENDPOINTS] != NULL) {
		struct cfg_kv *kv = NULL;
		size_t nkv = 0;

		get_kvmap(c, "endpoints", v[SV_ENDPOINTS], &kv, &nkv);
		o = path_key(c, "endpoints");
		for (size_t i = 0; i < nkv; i++) {
			uint64_t cnt;
			size_t o2 = path_key(c, kv[i].key);

			if (parse_u64(kv[i].value, &cnt) == -1 ||
			    cnt > UINT32_MAX)
				err(c, map_get(v[SV_ENDPOINTS], kv[i].key),
				    "expected a count of ready endpoints, got "
				    "\"%s\"", kv[i].value);
			else {
				struct cfg_endpoint *e = GROW(s->endpoints,
				    s->nendpoints);

				e->node = kv[i].key;
				kv[i].key = NULL;
				e->count = (uint32_t)cnt;
			}
			path_pop(c, o2);
			free(kv[i].key);
			free(kv[i].value);
		}
		free(kv);
		path_pop(c, o);
	}
}

static void
walk_services(struct lctx *c, const struct ynode *n)
{
	struct cfg *cfg = c->cfg;
	size_t old, old2;

	if (n == NULL)
		return;
	old = path_key(c, "services");
	if (want_seq(c, n) == -1)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		GROW(cfg->services, cfg->nservices);
		old2 = path_idx(c, i);
		walk_service(c, n->kids[i], i);
		if (cfg->services[i].name == NULL)
			cfg->services[i].name = xstrdup("");
		path_pop(c, old2);
	}
out:
	path_pop(c, old);
}

/* ---- layer2, kubernetes ------------------------------------------------- */

enum { L2_IFACES, L2_MEMBERSHIP, L2__N };
static const char *const l2_keys[L2__N] = { "interfaces", "membership" };
enum { MS_LISTEN, MS_KEY, MS_INTERVAL, MS_DEAD, MS_MEMBERS, MS__N };
static const char *const ms_keys[MS__N] = { "listen", "key-file", "interval",
    "dead-after", "members" };
enum { MB_NAME, MB_ADDRESS, MB__N };
static const char *const member_keys[MB__N] = { "name", "address" };

static void
walk_members(struct lctx *c, const struct ynode *n, struct cfg_layer2 *l2)
{
	size_t old = path_key(c, "members"), old2, o;

	if (want_seq(c, n) == -1)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *v[MB__N], *it = n->kids[i];
		struct cfg_member *m = GROW(l2->members, l2->nmembers);

		old2 = path_idx(c, i);
		m->loc = loc_of(it);
		m->port = CFG_DEF_MEMBER_PORT;
		if (map_keys(c, it, member_keys, MB__N, v) == 0) {
			for (size_t k = 0; k < MB__N; k++)
				if (v[k] == NULL)
					err(c, it, "missing required key "
					    "\"%s\"", member_keys[k]);
			if (get_str(c, "name", v[MB_NAME], &m->name) == 0 &&
			    m->name != NULL) {
				o = path_key(c, "name");
				for (size_t j = 0; j < i; j++)
					check_dup(c, v[MB_NAME], "member",
					    m->name, l2->members[j].name,
					    &l2->members[j].loc);
				path_pop(c, o);
			}
			get_hostport(c, "address", v[MB_ADDRESS], &m->address,
			    &m->port);
		}
		if (m->name == NULL)
			m->name = xstrdup("");
		path_pop(c, old2);
	}
out:
	path_pop(c, old);
}

static void
walk_layer2(struct lctx *c, const struct ynode *n)
{
	struct cfg_layer2 *l2 = &c->cfg->layer2;
	const struct ynode *v[L2__N], *mv[MS__N];
	char d1[32], d2[32];
	size_t old, o;

	if (n == NULL)
		return;
	old = path_key(c, "layer2");
	if (map_keys(c, n, l2_keys, L2__N, v) == -1)
		goto out;
	get_strlist(c, "interfaces", v[L2_IFACES], &l2->interfaces,
	    &l2->ninterfaces);
	if (v[L2_MEMBERSHIP] == NULL)
		goto out;
	l2->has_membership = true;
	o = path_key(c, "membership");
	if (map_keys(c, v[L2_MEMBERSHIP], ms_keys, MS__N, mv) == 0) {
		get_hostport(c, "listen", mv[MS_LISTEN], &l2->listen,
		    &l2->listen_port);
		get_str(c, "key-file", mv[MS_KEY], &l2->key_file);
		if (get_dur(c, "interval", mv[MS_INTERVAL], &l2->interval_ms)
		    == 0 && l2->interval_ms == 0) {
			size_t o2 = path_key(c, "interval");

			err(c, mv[MS_INTERVAL], "interval must be more than 0");
			path_pop(c, o2);
		}
		if (get_dur(c, "dead-after", mv[MS_DEAD], &l2->dead_after_ms)
		    == 0 && l2->dead_after_ms <= l2->interval_ms) {
			size_t o2 = path_key(c, "dead-after");

			err(c, mv[MS_DEAD] != NULL ? mv[MS_DEAD] :
			    v[L2_MEMBERSHIP], "dead-after %s must be longer "
			    "than interval %s",
			    cfg_duration_fmt(l2->dead_after_ms, d1, sizeof(d1)),
			    cfg_duration_fmt(l2->interval_ms, d2, sizeof(d2)));
			path_pop(c, o2);
		}
		if (mv[MS_MEMBERS] != NULL && c->k8s_local &&
		    !(mv[MS_MEMBERS]->type == YN_SEQ && mv[MS_MEMBERS]->n == 0)) {
			size_t o2 = path_key(c, "members");

			warn(c, mv[MS_MEMBERS], "not used in Kubernetes mode: "
			    "the members are the cluster's Nodes, at their "
			    "InternalIP");
			path_pop(c, o2);
		}
		if (mv[MS_MEMBERS] != NULL)
			walk_members(c, mv[MS_MEMBERS], l2);
	}
	path_pop(c, o);
out:
	path_pop(c, old);
}

enum { KU_KUBECONFIG, KU_CONFIG_MAP, KU_LEASE, KU_CLASS, KU__N };
static const char *const k8s_keys[KU__N] = { "kubeconfig", "config-map",
    "lease", "load-balancer-class" };

static void
check_nsname(struct lctx *c, const char *key, const struct ynode *n,
    const char *s)
{
	const char *slash = strchr(s, '/');
	size_t o;

	if (n == NULL || (slash != NULL && slash != s && slash[1] != '\0' &&
	    strchr(slash + 1, '/') == NULL))
		return;
	o = path_key(c, key);
	err(c, n, "expected NAMESPACE/NAME, got \"%s\"", s);
	path_pop(c, o);
}

static void
walk_kubernetes(struct lctx *c, const struct ynode *n)
{
	struct cfg_kubernetes *k = &c->cfg->kubernetes;
	const struct ynode *v[KU__N];
	size_t old;

	if (n == NULL)
		return;
	old = path_key(c, "kubernetes");
	k->enabled = true;
	k->config_map = xstrdup(CFG_DEF_CONFIG_MAP);
	k->lease = xstrdup(CFG_DEF_LEASE);
	k->load_balancer_class = xstrdup(CFG_DEF_LB_CLASS);
	if (map_keys(c, n, k8s_keys, KU__N, v) == 0) {
		get_str(c, "kubeconfig", v[KU_KUBECONFIG], &k->kubeconfig);
		if (get_str(c, "config-map", v[KU_CONFIG_MAP], &k->config_map)
		    == 0)
			check_nsname(c, "config-map", v[KU_CONFIG_MAP],
			    k->config_map);
		if (get_str(c, "lease", v[KU_LEASE], &k->lease) == 0)
			check_nsname(c, "lease", v[KU_LEASE], k->lease);
		get_str(c, "load-balancer-class", v[KU_CLASS],
		    &k->load_balancer_class);
	}
	path_pop(c, old);
}

/* ---- the document ------------------------------------------------------- */

enum {
	TOP_NODE, TOP_ROUTER_ID, TOP_STATUS, TOP_STATE, TOP_BGP_PORT, TOP_COMMS,
	TOP_NODES, TOP_POOLS, TOP_PEERS, TOP_VRFS, TOP_SERVICES, TOP_LAYER2,
	TOP_K8S, TOP_STATUS_TOKEN, TOP_STATUS_INSECURE, TOP__N
};
static const char *const top_keys[TOP__N] = {
	"node", "router-id", "status-listen", "state-file", "bgp-listen-port",
	"bgp-communities", "nodes", "pools", "peers", "vrfs", "services",
	"layer2", "kubernetes", "status-token-file", "status-insecure",
};
static const char *const top_keys_legacy[TOP__N] = {
	[TOP_COMMS] = "bgp-communities", [TOP_POOLS] = "address-pools",
	[TOP_PEERS] = "peers",
};

static bool
is_legacy(const struct ynode *root)
{
	const struct ynode *peers;

	if (map_get(root, "address-pools") != NULL)
		return true;
	if ((peers = map_get(root, "peers")) == NULL || peers->type != YN_SEQ)
		return false;
	for (size_t i = 0; i < peers->n; i++)
		if (map_get(peers->kids[i], "peer-address") != NULL)
			return true;
	return false;
}

/*
 * Kubernetes mode splits the configuration in two: what every node must
 * share (pools, peers, VRFs, community names) comes from the cluster's
 * ConfigMap, what belongs to one node from the daemon's own file.  A key in
 * the other place is not an error (one file may describe both, as the
 * reference example does) but it is not used, and a warning says so and
 * where it is taken from instead.  The daemon's file is still checked
 * whole.
 */
static void
check_k8s_split(struct lctx *c, const struct ynode **v, const char *cm)
{
	static const int cluster_keys[] = { TOP_POOLS, TOP_PEERS, TOP_VRFS,
	    TOP_COMMS };
	static const int local_keys[] = { TOP_NODE, TOP_ROUTER_ID, TOP_STATUS,
	    TOP_BGP_PORT, TOP_LAYER2, TOP_K8S, TOP_STATUS_TOKEN,
	    TOP_STATUS_INSECURE };
	static const int unused_keys[] = { TOP_SERVICES, TOP_NODES, TOP_STATE };
	static const char *const unused_why[] = {
		"the services are the cluster's Service objects",
		"node labels come from the cluster's Node objects",
		"the Services' status is the state",
	};
	const char *const *keys = c->legacy ? top_keys_legacy : top_keys;
	size_t o;

	for (size_t i = 0; i < sizeof(unused_keys) / sizeof(*unused_keys); i++) {
		int k = unused_keys[i];

		if (v[k] == NULL)
			continue;
		o = path_key(c, top_keys[k]);
		warn(c, v[k], "not used in Kubernetes mode: %s", unused_why[i]);
		path_pop(c, o);
		if (c->cluster)
			v[k] = NULL;
	}
	if (c->cluster) {
		for (size_t i = 0; i < sizeof(local_keys) / sizeof(*local_keys);
		    i++) {
			int k = local_keys[i];

			if (v[k] == NULL)
				continue;
			o = path_key(c, top_keys[k]);
			warn(c, v[k], "not used from the ConfigMap: a node's own "
			    "setting belongs in the daemon's file (--config)");
			path_pop(c, o);
			v[k] = NULL;
		}
		return;
	}
	for (size_t i = 0; i < sizeof(cluster_keys) / sizeof(*cluster_keys); i++) {
		int k = cluster_keys[i];

		if (v[k] == NULL)
			continue;
		o = path_key(c, keys[k] != NULL ? keys[k] : top_keys[k]);
		warn(c, v[k], "not used in Kubernetes mode: taken from the "
		    "ConfigMap %s (data.config)", cm);
		path_pop(c, o);
	}
}

/* kubernetes.config-map as written, for messages (the default if not). */
static const char *
k8s_config_map_name(const struct ynode *k8s)
{
	const struct ynode *cm = k8s != NULL ? map_get(k8s, "config-map") : NULL;

	if (cm != NULL && cm->type == YN_SCALAR && !cm->is_null)
		return cm->str;
	return CFG_DEF_CONFIG_MAP;
}

static void
walk_config(struct lctx *c, const struct ynode *root)
{
	struct cfg *cfg = c->cfg;
	const struct ynode *v[TOP__N];
	const char *const *keys;
	uint16_t port;
	struct addr a;

	c->legacy = is_legacy(root);
	c->pools_key = c->legacy ? "address-pools" : "pools";
	keys = c->legacy ? top_keys_legacy : top_keys;
	if (root->type == YN_SCALAR && !root->is_null) {
		err(c, root, "expected a mapping at the top level, got %s",
		    kind_name(root));
		return;
	}
	if (map_keys(c, root, keys, TOP__N, v) == -1)
		return;
	if (v[TOP_K8S] != NULL && !c->cluster)
		c->k8s_local = true;
	if (c->cluster || c->k8s_local)
		check_k8s_split(c, v, k8s_config_map_name(v[TOP_K8S]));
	get_str(c, "node", v[TOP_NODE], &cfg->node);
	get_addr(c, "router-id", v[TOP_ROUTER_ID], ADDR_AF_INET,
	    &cfg->router_id);
	get_str(c, "status-token-file", v[TOP_STATUS_TOKEN],
	    &cfg->status_token_file);
	get_bool(c, "status-insecure", v[TOP_STATUS_INSECURE],
	    &cfg->status_insecure);
	if (get_str(c, "status-listen", v[TOP_STATUS], &cfg->status_listen)
	    == 0 && cfg->status_listen != NULL) {
		size_t o = path_key(c, "status-listen");

		if (parse_hostport(cfg->status_listen, true, &a, &port) == -1)
			err(c, v[TOP_STATUS], "invalid address \"%s\" (expected "
			    "IP:PORT or [IPv6]:PORT)", cfg->status_listen);
		else if (!addr_is_loopback(&a) &&
		    cfg->status_token_file == NULL && !cfg->status_insecure)
			/* Status tells a lot about the network: exposing
			 * it is a decision, not a default. */
			err(c, v[TOP_STATUS], "%s is not a loopback address: "
			    "set status-token-file (bearer token) or "
			    "status-insecure: true", cfg->status_listen);
		path_pop(c, o);
	}
	if (cfg->status_listen == NULL)
		cfg->status_listen = xstrdup(CFG_DEF_STATUS_LISTEN);
	get_str(c, "state-file", v[TOP_STATE], &cfg->state_file);
	{
		uint64_t lport = 179;

		/* 0 is allowed here: it turns the listener off. */
		get_uint(c, "bgp-listen-port", v[TOP_BGP_PORT], 0, 65535, &lport);
		cfg->bgp_listen_port = (uint16_t)lport;
	}
	walk_aliases(c, "bgp-communities", v[TOP_COMMS]);
	walk_nodes(c, v[TOP_NODES]);
	walk_vrfs(c, v[TOP_VRFS]);
	walk_peers(c, v[TOP_PEERS]);
	walk_pools(c, v[TOP_POOLS]);
	walk_services(c, v[TOP_SERVICES]);
	walk_layer2(c, v[TOP_LAYER2]);
	walk_kubernetes(c, v[TOP_K8S]);
}

/*
 * The column where a literal block scalar's content starts.  With an
 * explicit indentation indicator ("|2") it is the parent's indentation
 * plus the digit; otherwise YAML takes the indentation of the first
 * non-blank content line.  The scalar's own node starts at the '|'.
 */
static int
block_indent(const char *buf, size_t len, const struct ynode *sc,
    int parent_indent)
{
	size_t i = 0, line = 0;

	while (i < len && line < sc->raw_line) {
		if (buf[i++] == '\n')
			line++;
	}
	i += (size_t)(sc->col - 1);
	if (i < len && buf[i] == '|') {
		for (i++; i < len && strchr("+-0123456789", buf[i]) != NULL; i++)
			if (buf[i] >= '1' && buf[i] <= '9')
				return parent_indent + (buf[i] - '0');
	}
	while (i < len && buf[i] != '\n')
		i++;
	i++;
	while (i < len) {
		size_t sp = 0;

		while (i + sp < len && buf[i + sp] == ' ')
			sp++;
		if (i + sp < len && buf[i + sp] != '\n' && buf[i + sp] != '\r')
			return (int)sp;
		while (i < len && buf[i] != '\n')
			i++;
		i++;
	}
	return 0;
}

enum { CM_API, CM_KIND, CM_META, CM_DATA, CM_BINARY, CM_IMMUTABLE, CM__N };
static const char *const cm_keys[CM__N] = { "apiVersion", "kind", "metadata",
    "data", "binaryData", "immutable" };

/* Walk a ConfigMap: parse data.config as a config of its own. */
static void
walk_configmap(struct lctx *c, const struct ynode *root, const char *buf,
    size_t len)
{
	const struct ynode *v[CM__N], *data, *conf;
	struct ynode **docs = NULL;
	size_t ndocs = 0, o;
	struct locmap map;

	if (map_keys(c, root, cm_keys, CM__N, v) == -1)
		return;
	data = v[CM_DATA];
	o = path_key(c, "data");
	if (data == NULL || (conf = map_get(data, "config")) == NULL) {
		err(c, data != NULL ? data : root, "the ConfigMap has no "
		    "data.config");
		path_pop(c, o);
		return;
	}
	path_key(c, "config");
	if (conf->type != YN_SCALAR) {
		err(c, conf, "expected a string holding the configuration, "
		    "got %s", kind_name(conf));
		path_pop(c, o);
		return;
	}
	path_pop(c, o);
	if (conf->style == YAML_LITERAL_SCALAR_STYLE) {
		map.fixed = false;
		map.line0 = conf->line + 1;
		/* The key "config" sits at its mapping's indentation. */
		const struct ynode *key = NULL;

		for (size_t k = 0; k + 1 < data->n; k += 2)
			if (data->kids[k + 1] == conf)
				key = data->kids[k];
		map.col0 = block_indent(buf, len, conf,
		    key != NULL ? key->col - 1 : 0) + 1;
	} else {
		/* Folded or quoted text has lost the file's layout. */
		map.fixed = true;
		map.line0 = conf->line;
		map.col0 = conf->col;
	}
	if (yb_parse(c, conf->str, strlen(conf->str), map, &docs, &ndocs) == 0) {
		if (ndocs > 1)
			err(c, docs[1], "data.config holds more than one "
			    "YAML document");
		else if (ndocs == 1) {
			bool legacy = is_legacy(docs[0]);

			c->cfg->source = legacy ? CFG_SOURCE_CONFIGMAP_METALLB :
			    CFG_SOURCE_CONFIGMAP_NATIVE;
			walk_config(c, docs[0]);
		} else
			c->cfg->source = CFG_SOURCE_CONFIGMAP_NATIVE;
	}
	for (size_t i = 0; i < ndocs; i++)
		yn_free(docs[i]);
	free(docs);
}

static int
lerr_cmp(const void *a, const void *b)
{
	const struct lerr *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static struct cfg *
load_buf(const char *name, const char *buf, size_t len, bool cluster,
    struct cfg_errors *errs)
{
	struct lctx c = { .name = name, .pools_key = "pools",
	    .cluster = cluster };
	struct ynode **docs = NULL, *root = NULL;
	size_t ndocs = 0, nkind = 0;
	struct locmap map = { 1, 1, false };
	struct cfg *cfg;

	cfg = xrealloc(NULL, sizeof(*cfg));
	memset(cfg, 0, sizeof(*cfg));
	cfg->file = xstrdup(name);
	cfg->layer2.listen_port = CFG_DEF_MEMBER_PORT;
	cfg->layer2.interval_ms = CFG_DEF_INTERVAL_MS;
	cfg->layer2.dead_after_ms = CFG_DEF_DEAD_AFTER_MS;
	c.cfg = cfg;
	if (yb_parse(&c, buf, len, map, &docs, &ndocs) == -1)
		goto done;

	/*
	 * A file of Kubernetes objects (kubectl apply -f style) is searched
	 * for its ConfigMap; any other object is somebody else's business.
	 */
	for (size_t i = 0; i < ndocs && !cluster; i++) {
		const struct ynode *kind = map_get(docs[i], "kind");

		if (kind == NULL)
			continue;
		nkind++;
		if (root == NULL && kind->type == YN_SCALAR &&
		    strcmp(kind->str, "ConfigMap") == 0)
			root = docs[i];
	}
	if (root != NULL) {
		walk_configmap(&c, root, buf, len);
		goto done;
	}
	if (nkind > 0) {
		err(&c, NULL, "no ConfigMap found among the %zu Kubernetes "
		    "objects of this file", nkind);
		goto done;
	}
	for (size_t i = 0; i < ndocs; i++) {
		if (docs[i]->type == YN_SCALAR && docs[i]->is_null)
			continue;
		if (root != NULL) {
			err(&c, docs[i], "more than one configuration "
			    "document in this file");
			goto done;
		}
		root = docs[i];
	}
	if (root != NULL) {
		walk_config(&c, root);
		if (cluster)
			cfg->source = c.legacy ? CFG_SOURCE_CONFIGMAP_METALLB :
			    CFG_SOURCE_CONFIGMAP_NATIVE;
		else
			cfg->source = c.legacy ? CFG_SOURCE_METALLB :
			    CFG_SOURCE_NATIVE;
	} else if (cluster)
		cfg->source = CFG_SOURCE_CONFIGMAP_NATIVE;
	else
		cfg->status_listen = xstrdup(CFG_DEF_STATUS_LISTEN);
done:
	hmap_free(c.svc_names);
	if (cfg->status_listen == NULL)
		cfg->status_listen = xstrdup(CFG_DEF_STATUS_LISTEN);
	for (size_t i = 0; i < ndocs; i++)
		yn_free(docs[i]);
	free(docs);
	if (c.nerrs > 1)
		qsort(c.errs, c.nerrs, sizeof(*c.errs), lerr_cmp);
	if (c.nwarns > 1)
		qsort(c.warns, c.nwarns, sizeof(*c.warns), lerr_cmp);
	if (c.nwarns > 0)
		cfg->warnings = xrealloc(NULL, c.nwarns * sizeof(char *));
	for (size_t i = 0; i < c.nwarns; i++)
		cfg->warnings[cfg->nwarnings++] = c.warns[i].text;
	free(c.warns);
	if (c.nerrs > 0 && errs != NULL) {
		errs->lines = xrealloc(errs->lines, (errs->n + c.nerrs) *
		    sizeof(char *));
		for (size_t i = 0; i < c.nerrs; i++)
			errs->lines[errs->n++] = c.errs[i].text;
	} else
		for (size_t i = 0; i < c.nerrs; i++)
			free(c.errs[i].text);
	free(c.errs);
	if (c.nerrs > 0) {
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

struct cfg *
cfg_load_buf(const char *name, const char *buf, size_t len,
    struct cfg_errors *errs)
{
	return load_buf(name, buf, len, false, errs);
}

struct cfg *
cfg_load_cluster(const char *name, const char *buf, size_t len,
    struct cfg_errors *errs)
{
	return load_buf(name, buf, len, true, errs);
}

#define MOVE_LIST(dst, src, field, count) do {				\
	(dst)->field = (src)->field;					\
	(dst)->count = (src)->count;					\
	(src)->field = NULL;						\
	(src)->count = 0;						\
} while (0)

struct cfg *
cfg_k8s_merge(struct cfg *local, struct cfg *cluster)
{
	cfg_k8s_local_only(local);
	MOVE_LIST(local, cluster, pools, npools);
	MOVE_LIST(local, cluster, peers, npeers);
	MOVE_LIST(local, cluster, vrfs, nvrfs);
	MOVE_LIST(local, cluster, community_aliases, ncommunity_aliases);
	local->source = cluster->source;
	if (cluster->nwarnings > 0) {
		local->warnings = xrealloc(local->warnings, (local->nwarnings +
		    cluster->nwarnings) * sizeof(*local->warnings));
		memcpy(local->warnings + local->nwarnings, cluster->warnings,
		    cluster->nwarnings * sizeof(*cluster->warnings));
		local->nwarnings += cluster->nwarnings;
		free(cluster->warnings);
		cluster->warnings = NULL;
		cluster->nwarnings = 0;
	}
	cfg_free(cluster);
	return local;
}

struct cfg *
cfg_load_file(const char *path, struct cfg_errors *errs)
{
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	struct cfg *cfg = NULL;
	int saved;

	if ((f = fopen(path, "r")) == NULL)
		goto fail;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap * 2 + 8192;
			buf = xrealloc(buf, cap);
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	f = NULL;
	cfg = cfg_load_buf(path, buf, len, errs);
	free(buf);
	return cfg;
fail:
	saved = errno;
	if (f != NULL)
		fclose(f);
	free(buf);
	if (errs != NULL) {
		char *line;

		if (asprintf(&line, "%s:1:1: cannot read the file: %s", path,
		    strerror(saved)) == -1)
			abort();
		errs->lines = xrealloc(errs->lines, (errs->n + 1) *
		    sizeof(char *));
		errs->lines[errs->n++] = line;
	}
	return NULL;
}
