/*
 * config_walk.c - what every section walker uses: errors and warnings at
 * FILE:LINE:COL under the dotted path of the key being walked, checking a
 * mapping against its table of known keys (with a "did you mean" for the
 * nearest one), and the typed getters (string, bool, integer, AS number,
 * port, duration, address, lists, label maps, host:port).
 *
 * Nothing here stops at an error: each problem is recorded in the context
 * (struct lctx) and the walk goes on, so that one run of --check-config
 * shows them all.  The getters take the key's name for the path and the
 * value node, which is NULL when the key is absent: then the output keeps
 * its default and nothing is reported.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_priv.h"

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
	if (path != NULL && *path != '\0')
		text = xasprintf("%s:%d:%d: %s: %s", c->name, line, col, path,
		    msg);
	else
		text = xasprintf("%s:%d:%d: %s", c->name, line, col, msg);
	e = GROW(c->errs, c->nerrs);
	e->line = line;
	e->col = col;
	e->seq = c->nerrs;
	e->text = text;
}

/* An error at node n, under the current path. */
void
cfg_err(struct lctx *c, const struct ynode *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_at(c, n != NULL ? n->line : 1, n != NULL ? n->col : 1, c->path,
	    fmt, ap);
	va_end(ap);
}

/* An error with an explicit location and path (found after the walk). */
void
cfg_err_loc(struct lctx *c, const struct cfg_loc *loc, const char *path,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_at(c, loc->line, loc->col, path, fmt, ap);
	va_end(ap);
}

/* A warning at node n, under the current path: kept in cfg->warnings. */
void
cfg_warn(struct lctx *c, const struct ynode *n, const char *fmt, ...)
{
	char msg[1024], *text;
	struct lerr *w;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	text = xasprintf("%s:%d:%d: warning: %s%s%s", c->name,
	    n != NULL ? n->line : 1, n != NULL ? n->col : 1, c->path,
	    *c->path != '\0' ? ": " : "", msg);
	w = GROW(c->warns, c->nwarns);
	w->line = n != NULL ? n->line : 1;
	w->col = n != NULL ? n->col : 1;
	w->seq = c->nwarns;
	w->text = text;
}

size_t
cfg_path_key(struct lctx *c, const char *key)
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

size_t
cfg_path_idx(struct lctx *c, size_t i)
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

void
cfg_path_pop(struct lctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

/* What a node is, for "expected X, got Y". */
const char *
cfg_kind_name(const struct ynode *n)
{
	if (n->type == YN_MAP)
		return "a mapping";
	if (n->type == YN_SEQ)
		return "a list";
	if (n->is_null)
		return "nothing";
	return "a scalar";
}

struct cfg_loc
cfg_loc_of(const struct ynode *n)
{
	struct cfg_loc l = { n->line, n->col };

	return l;
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
const char *
cfg_nearest(const char *word, const char *const *cands, size_t n)
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
int
cfg_map_keys(struct lctx *c, const struct ynode *n, const char *const *names,
    size_t nnames, const struct ynode **vals)
{
	for (size_t i = 0; i < nnames; i++)
		vals[i] = NULL;
	if (n->type == YN_SCALAR && n->is_null)
		return 0;
	if (n->type != YN_MAP) {
		cfg_err(c, n, "expected a mapping, got %s", cfg_kind_name(n));
		return -1;
	}
	for (size_t k = 0; k + 1 < n->n; k += 2) {
		const struct ynode *key = n->kids[k];
		size_t i, old;

		if (key->type != YN_SCALAR) {
			cfg_err(c, key, "a key must be a plain string, got %s",
			    cfg_kind_name(key));
			continue;
		}
		for (i = 0; i < nnames; i++)
			if (names[i] != NULL && strcmp(names[i], key->str) == 0)
				break;
		old = cfg_path_key(c, key->str);
		if (i == nnames) {
			const char *near = cfg_nearest(key->str, names, nnames);

			if (near != NULL)
				cfg_err(c, key, "unknown key \"%s\" (did you "
				    "mean \"%s\"?)", key->str, near);
			else
				cfg_err(c, key, "unknown key \"%s\"", key->str);
		} else if (vals[i] != NULL)
			cfg_err(c, key, "duplicate key \"%s\"", key->str);
		else
			vals[i] = n->kids[k + 1];
		cfg_path_pop(c, old);
	}
	return 0;
}

/* ---- typed values ------------------------------------------------------ */

/* A non-empty scalar, or an error.  Lists and maps are wrong types. */
const char *
cfg_scalar(struct lctx *c, const struct ynode *n)
{
	if (n->type != YN_SCALAR) {
		cfg_err(c, n, "expected a single value, got %s",
		    cfg_kind_name(n));
		return NULL;
	}
	if (n->is_null) {
		cfg_err(c, n, "missing value");
		return NULL;
	}
	if (*n->str == '\0') {
		cfg_err(c, n, "must not be empty");
		return NULL;
	}
	return n->str;
}

/*
 * The get_* helpers each take the key name (for the error path) and the
 * value node, which may be NULL when the key was absent: then the output
 * is left at its default and 0 is returned.
 */
int
cfg_get_str(struct lctx *c, const char *key, const struct ynode *n, char **out)
{
	size_t old;
	const char *s;

	if (n == NULL)
		return 0;
	old = cfg_path_key(c, key);
	s = cfg_scalar(c, n);
	cfg_path_pop(c, old);
	if (s == NULL)
		return -1;
	free(*out);
	*out = xstrdup(s);
	return 0;
}

int
cfg_parse_bool(const char *s, bool *out)
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

int
cfg_get_bool(struct lctx *c, const char *key, const struct ynode *n, bool *out)
{
	size_t old;
	const char *s;
	int ret = -1;

	if (n == NULL)
		return 0;
	old = cfg_path_key(c, key);
	if ((s = cfg_scalar(c, n)) == NULL)
		goto fail;
	if (cfg_parse_bool(s, out) == -1) {
		cfg_err(c, n, "expected true or false, got \"%s\"", s);
		goto fail;
	}
	ret = 0;
fail:
	cfg_path_pop(c, old);
	return ret;
}

int
cfg_parse_u64(const char *s, uint64_t *out)
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
int
cfg_get_uint(struct lctx *c, const char *key, const struct ynode *n,
    uint64_t min, uint64_t max, uint64_t *out)
{
	size_t old;
	const char *s;
	uint64_t v;
	int ret = -1;

	if (n == NULL)
		return 0;
	old = cfg_path_key(c, key);
	if ((s = cfg_scalar(c, n)) == NULL)
		goto fail;
	if (cfg_parse_u64(s, &v) == -1) {
		cfg_err(c, n, "expected a whole number, got \"%s\"", s);
		goto fail;
	}
	if (v < min || v > max) {
		cfg_err(c, n, "%s is out of range (%llu..%llu)", s,
		    (unsigned long long)min, (unsigned long long)max);
		goto fail;
	}
	*out = v;
	ret = 0;
fail:
	cfg_path_pop(c, old);
	return ret;
}

int
cfg_get_asn(struct lctx *c, const char *key, const struct ynode *n,
    uint32_t *out)
{
	size_t old;
	const char *s;
	uint64_t v;
	int ret = -1;

	if (n == NULL)
		return 0;
	old = cfg_path_key(c, key);
	if ((s = cfg_scalar(c, n)) == NULL)
		goto fail;
	if (cfg_parse_u64(s, &v) == -1 || v > UINT32_MAX) {
		cfg_err(c, n, "invalid AS number \"%s\" (expected "
		    "1..4294967295)", s);
		goto fail;
	}
	if (v == 0) {
		cfg_err(c, n, "AS number 0 is reserved (RFC 7607)");
		goto fail;
	}
	*out = (uint32_t)v;
	ret = 0;
fail:
	cfg_path_pop(c, old);
	return ret;
}

int
cfg_get_port(struct lctx *c, const char *key, const struct ynode *n,
    uint16_t *out)
{
	uint64_t v;

	if (cfg_get_uint(c, key, n, 1, 65535, &v) == -1)
		return -1;
	if (n != NULL)
		*out = (uint16_t)v;
	return 0;
}

int
cfg_get_dur(struct lctx *c, const char *key, const struct ynode *n,
    uint32_t *out)
{
	size_t old;
	const char *s;
	int ret = -1;

	if (n == NULL)
		return 0;
	old = cfg_path_key(c, key);
	if ((s = cfg_scalar(c, n)) == NULL)
		goto fail;
	if (cfg_parse_duration(s, out) == -1) {
		cfg_err(c, n, "invalid duration \"%s\" (expected e.g. 90s, "
		    "300ms, 2m, 1h, or a number of seconds)", s);
		goto fail;
	}
	ret = 0;
fail:
	cfg_path_pop(c, old);
	return ret;
}

/* af 0: any family. */
int
cfg_get_addr(struct lctx *c, const char *key, const struct ynode *n, uint8_t af,
    struct addr *out)
{
	size_t old;
	const char *s;
	int ret = -1;

	if (n == NULL)
		return 0;
	old = cfg_path_key(c, key);
	if ((s = cfg_scalar(c, n)) == NULL)
		goto fail;
	if (addr_parse(s, out) == -1) {
		cfg_err(c, n, "invalid IP address \"%s\"", s);
		goto fail;
	}
	if (af != 0 && out->af != af) {
		cfg_err(c, n, "%s must be an IPv%d address", s, af);
		goto fail;
	}
	ret = 0;
fail:
	cfg_path_pop(c, old);
	return ret;
}

/* The items of a list node; a null node is an empty list. */
int
cfg_want_seq(struct lctx *c, const struct ynode *n)
{
	if (n->type == YN_SEQ || (n->type == YN_SCALAR && n->is_null))
		return 0;
	cfg_err(c, n, "expected a list, got %s", cfg_kind_name(n));
	return -1;
}

int
cfg_get_strlist(struct lctx *c, const char *key, const struct ynode *n,
    char ***out, size_t *nout)
{
	size_t old, old2;
	int ret = 0;

	if (n == NULL)
		return 0;
	old = cfg_path_key(c, key);
	if (cfg_want_seq(c, n) == -1) {
		cfg_path_pop(c, old);
		return -1;
	}
	for (size_t i = 0; i < n->n; i++) {
		const char *s;

		old2 = cfg_path_idx(c, i);
		if ((s = cfg_scalar(c, n->kids[i])) == NULL)
			ret = -1;
		else
			*GROW(*out, *nout) = xstrdup(s);
		cfg_path_pop(c, old2);
	}
	cfg_path_pop(c, old);
	return ret;
}

/* A mapping of string to string (labels).  Keys are unique. */
int
cfg_get_kvmap(struct lctx *c, const char *key, const struct ynode *n,
    struct cfg_kv **out, size_t *nout)
{
	size_t old;
	int ret = 0;

	if (n == NULL)
		return 0;
	old = cfg_path_key(c, key);
	if (n->type != YN_MAP && !(n->type == YN_SCALAR && n->is_null)) {
		cfg_err(c, n, "expected a mapping, got %s", cfg_kind_name(n));
		cfg_path_pop(c, old);
		return -1;
	}
	for (size_t k = 0; k + 1 < n->n; k += 2) {
		const char *ks, *vs;
		size_t old2;
		struct cfg_kv *kv;

		if ((ks = cfg_scalar(c, n->kids[k])) == NULL) {
			ret = -1;
			continue;
		}
		old2 = cfg_path_key(c, ks);
		vs = n->kids[k + 1]->type == YN_SCALAR && !n->kids[k + 1]->is_null ?
		    n->kids[k + 1]->str : cfg_scalar(c, n->kids[k + 1]);
		for (size_t j = 0; j < *nout; j++)
			if (strcmp((*out)[j].key, ks) == 0) {
				cfg_err(c, n->kids[k], "duplicate key \"%s\"",
				    ks);
				ret = -1;
			}
		if (vs == NULL)
			ret = -1;
		else {
			kv = GROW(*out, *nout);
			kv->key = xstrdup(ks);
			kv->value = xstrdup(vs);
		}
		cfg_path_pop(c, old2);
	}
	cfg_path_pop(c, old);
	return ret;
}

/* "ip:port", "[v6]:port", or a bare address (then port stays as is). */
int
cfg_parse_hostport(const char *s, bool need_port, struct addr *a,
    uint16_t *port)
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
	if (cfg_parse_u64(ps, &v) == -1 || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
cfg_get_hostport(struct lctx *c, const char *key, const struct ynode *n,
    struct addr *a, uint16_t *port)
{
	size_t old;
	const char *s;
	int ret = -1;

	if (n == NULL)
		return 0;
	old = cfg_path_key(c, key);
	if ((s = cfg_scalar(c, n)) == NULL)
		goto fail;
	if (cfg_parse_hostport(s, false, a, port) == -1) {
		cfg_err(c, n, "invalid address \"%s\" (expected IP:PORT, "
		    "[IPv6]:PORT or IP)", s);
		goto fail;
	}
	ret = 0;
fail:
	cfg_path_pop(c, old);
	return ret;
}

/* Has an earlier entry of a list the same name?  Report at n. */
void
cfg_check_dup(struct lctx *c, const struct ynode *n, const char *what,
    const char *name, const char *prev_name, const struct cfg_loc *prev)
{
	if (prev_name != NULL && strcmp(prev_name, name) == 0)
		cfg_err(c, n, "duplicate %s name \"%s\" (first defined at "
		    "line %d)", what, name, prev->line);
}
