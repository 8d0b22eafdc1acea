/*
 * config_load.c - the load entry points: read a file, parse its YAML
 * documents and decide what they are.  A single document is a
 * configuration; a stream of Kubernetes objects (kubectl apply -f style)
 * is searched for its ConfigMap, whose data.config is parsed as a
 * configuration of its own with positions mapped back into the file.  At
 * the end errors and warnings are sorted by position and handed over.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

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

	if (cfg_map_keys(c, root, cm_keys, CM__N, v) == -1)
		return;
	data = v[CM_DATA];
	o = cfg_path_key(c, "data");
	if (data == NULL || (conf = cfg_map_get(data, "config")) == NULL) {
		cfg_err(c, data != NULL ? data : root, "the ConfigMap has no "
		    "data.config");
		cfg_path_pop(c, o);
		return;
	}
	cfg_path_key(c, "config");
	if (conf->type != YN_SCALAR) {
		cfg_err(c, conf, "expected a string holding the configuration, "
		    "got %s", cfg_kind_name(conf));
		cfg_path_pop(c, o);
		return;
	}
	cfg_path_pop(c, o);
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
	if (cfg_yn_parse(c, conf->str, strlen(conf->str), map, &docs,
	    &ndocs) == 0) {
		if (ndocs > 1)
			cfg_err(c, docs[1], "data.config holds more than one "
			    "YAML document");
		else if (ndocs == 1) {
			bool legacy = cfg_is_legacy(docs[0]);

			c->cfg->source = legacy ? CFG_SOURCE_CONFIGMAP_METALLB :
			    CFG_SOURCE_CONFIGMAP_NATIVE;
			cfg_walk_config(c, docs[0]);
		} else
			c->cfg->source = CFG_SOURCE_CONFIGMAP_NATIVE;
	}
	for (size_t i = 0; i < ndocs; i++)
		cfg_yn_free(docs[i]);
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

	cfg = xcalloc(1, sizeof(*cfg));
	cfg->file = xstrdup(name);
	cfg->layer2.listen_port = CFG_DEF_MEMBER_PORT;
	cfg->layer2.interval_ms = CFG_DEF_INTERVAL_MS;
	cfg->layer2.dead_after_ms = CFG_DEF_DEAD_AFTER_MS;
	c.cfg = cfg;
	if (cfg_yn_parse(&c, buf, len, map, &docs, &ndocs) == -1)
		goto done;

	/*
	 * A file of Kubernetes objects (kubectl apply -f style) is searched
	 * for its ConfigMap; any other object is somebody else's business.
	 */
	for (size_t i = 0; i < ndocs && !cluster; i++) {
		const struct ynode *kind = cfg_map_get(docs[i], "kind");

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
		cfg_err(&c, NULL, "no ConfigMap found among the %zu Kubernetes "
		    "objects of this file", nkind);
		goto done;
	}
	for (size_t i = 0; i < ndocs; i++) {
		if (docs[i]->type == YN_SCALAR && docs[i]->is_null)
			continue;
		if (root != NULL) {
			cfg_err(&c, docs[i], "more than one configuration "
			    "document in this file");
			goto done;
		}
		root = docs[i];
	}
	if (root != NULL) {
		cfg_walk_config(&c, root);
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
		cfg_yn_free(docs[i]);
	free(docs);
	if (c.nerrs > 1)
		qsort(c.errs, c.nerrs, sizeof(*c.errs), lerr_cmp);
	if (c.nwarns > 1)
		qsort(c.warns, c.nwarns, sizeof(*c.warns), lerr_cmp);
	if (c.nwarns > 0)
		cfg->warnings = xreallocarray(NULL, c.nwarns, sizeof(char *));
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
		errs->lines = xreallocarray(errs->lines, errs->n + 1,
		    sizeof(char *));
		errs->lines[errs->n++] = xasprintf("%s:1:1: cannot read the "
		    "file: %s", path, strerror(saved));
	}
	return NULL;
}
