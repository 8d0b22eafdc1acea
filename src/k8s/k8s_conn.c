/*
 * k8s_conn.c - where the API server is and how to authenticate to it: a
 * struct k8s_conn made from a kubeconfig (libyaml) or from the in-cluster
 * service-account environment.
 *
 * A kubeconfig is read as a whole YAML document and looked up by name:
 * current-context (or the context asked for) names a cluster and a user.
 * The "-data" fields are base64 PEM; they are decoded here so that the HTTP
 * layer only ever sees PEM text or file names.  Relative file names are made
 * absolute against the kubeconfig's directory, as kubectl does, because the
 * daemon's working directory has nothing to do with where the file lives.
 * Every error names the file and the key, since a kubeconfig is written by
 * hand or by a tool the operator has to go and fix.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <yaml.h>

#include "bgplb/util.h"
#include "k8s_conn.h"

#define K8S_SA_DIR	"/var/run/secrets/kubernetes.io/serviceaccount"

void
k8s_conn_free(struct k8s_conn *c)
{
	if (c == NULL)
		return;
	free(c->server);
	free(c->ca_file);
	free(c->ca_data);
	free(c->token);
	free(c->token_file);
	free(c->client_cert_file);
	free(c->client_key_file);
	free(c->client_cert_data);
	free(c->client_key_data);
	free(c->namespace);
	memset(c, 0, sizeof(*c));
}

void
k8s_conn_copy(struct k8s_conn *dst, const struct k8s_conn *src)
{
	dst->server = xstrdup(src->server);
	dst->ca_file = xstrdup(src->ca_file);
	dst->ca_data = xstrdup(src->ca_data);
	dst->insecure = src->insecure;
	dst->token = xstrdup(src->token);
	dst->token_file = xstrdup(src->token_file);
	dst->client_cert_file = xstrdup(src->client_cert_file);
	dst->client_key_file = xstrdup(src->client_key_file);
	dst->client_cert_data = xstrdup(src->client_cert_data);
	dst->client_key_data = xstrdup(src->client_key_data);
	dst->namespace = xstrdup(src->namespace);
}

/* A whole small file (token, namespace) with surrounding white space cut:
 * token files written by `echo` end with a newline the server would reject. */
static char *
k8s_read_trimmed(const char *path, int *errnum)
{
	FILE *f;
	char *buf = NULL, *s, *e;
	size_t len = 0, cap = 0, n;

	if ((f = fopen(path, "re")) == NULL) {
		*errnum = errno;
		return NULL;
	}
	for (;;) {
		if (cap - len < 4096) {
			char *nb;

			cap = cap ? cap * 2 : 4096;
			if (cap > (1u << 20) || (nb = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				fclose(f);
				*errnum = EFBIG;
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		*errnum = errno ? errno : EIO;
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	for (s = buf; *s != '\0' && isspace((unsigned char)*s); s++)
		;
	for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
		;
	*e = '\0';
	memmove(buf, s, (size_t)(e - s) + 1);
	return buf;
}

char *
k8s_read_token_file(const char *path, int *errnum)
{
	return k8s_read_trimmed(path, errnum);
}

/*
 * Base64 to NUL-terminated text.  EVP_DecodeBlock wants no white space and
 * counts the padding as output bytes, so both are handled here.
 */
static char *
k8s_b64_decode(const char *in)
{
	size_t inlen = strlen(in), n = 0, pad = 0, i;
	char *clean, *out;
	int r;

	clean = xmalloc(inlen + 1);
	for (i = 0; i < inlen; i++)
		if (!isspace((unsigned char)in[i]))
			clean[n++] = in[i];
	clean[n] = '\0';
	if (n == 0 || n % 4 != 0) {
		free(clean);
		return NULL;
	}
	if (clean[n - 1] == '=')
		pad++;
	if (clean[n - 2] == '=')
		pad++;
	out = xmalloc(n / 4 * 3 + 1);
	r = EVP_DecodeBlock((unsigned char *)out, (unsigned char *)clean, (int)n);
	free(clean);
	if (r < 0 || (size_t)r < pad) {
		free(out);
		return NULL;
	}
	out[(size_t)r - pad] = '\0';
	return out;
}

/* ---------------------------------------------------------------- YAML */

struct k8s_kc {
	const char	*path;
	char		*dir;		/* the kubeconfig's directory */
	yaml_document_t	 doc;
	char		*err;
	size_t		 errlen;
};

static const char *
k8s_scalar(yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* The value under key in a mapping node, or NULL. */
static yaml_node_t *
k8s_map_get(struct k8s_kc *kc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = k8s_scalar(yaml_document_get_node(&kc->doc, p->key));

		if (k != NULL && strcmp(k, key) == 0)
			return yaml_document_get_node(&kc->doc, p->value);
	}
	return NULL;
}

/*
 * The entry named name in a list such as clusters: [{name:, cluster: {}}];
 * returns the inner mapping (under field).  -1 with err set when the list or
 * the entry is missing or malformed.
 */
static int
k8s_named(struct k8s_kc *kc, yaml_node_t *root, const char *list,
    const char *field, const char *name, yaml_node_t **out)
{
	yaml_node_t *seq = k8s_map_get(kc, root, list);
	yaml_node_item_t *it;

	if (seq == NULL || (seq->type == YAML_SCALAR_NODE &&
	    (strcmp(k8s_scalar(seq), "") == 0 || strcmp(k8s_scalar(seq), "null") == 0))) {
		errf(kc->err, kc->errlen, "%s: %s \"%s\" not found (no %s)",
		    kc->path, field, name, list);
		return -1;
	}
	if (seq->type != YAML_SEQUENCE_NODE) {
		errf(kc->err, kc->errlen, "%s: %s: not a list", kc->path, list);
		return -1;
	}
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(&kc->doc, *it);
		const char *n = k8s_scalar(k8s_map_get(kc, e, "name"));

		if (n == NULL || strcmp(n, name) != 0)
			continue;
		*out = k8s_map_get(kc, e, field);
		if (*out != NULL && (*out)->type == YAML_SCALAR_NODE &&
		    (strcmp(k8s_scalar(*out), "") == 0 ||
		    strcmp(k8s_scalar(*out), "null") == 0))
			*out = NULL;	/* "user:" with nothing: an empty user */
		if (*out != NULL && (*out)->type != YAML_MAPPING_NODE) {
			errf(kc->err, kc->errlen, "%s: %s \"%s\": %s: not a mapping",
			    kc->path, field, name, field);
			return -1;
		}
		return 0;
	}
	errf(kc->err, kc->errlen, "%s: %s \"%s\" not found in %s",
	    kc->path, field, name, list);
	return -1;
}

/* A string value: *out is NULL when the key is absent; -1 when it is not a
 * scalar. */
static int
k8s_get_str(struct k8s_kc *kc, yaml_node_t *map, const char *what,
    const char *name, const char *key, const char **out)
{
	yaml_node_t *n = k8s_map_get(kc, map, key);

	*out = NULL;
	if (n == NULL)
		return 0;
	if (n->type != YAML_SCALAR_NODE) {
		errf(kc->err, kc->errlen, "%s: %s \"%s\": %s: not a string",
		    kc->path, what, name, key);
		return -1;
	}
	if (k8s_scalar(n)[0] != '\0')
		*out = k8s_scalar(n);
	return 0;
}

/* A file name made absolute against the kubeconfig's directory. */
static char *
k8s_path(struct k8s_kc *kc, const char *p)
{
	if (p[0] == '/')
		return xstrdup(p);
	return xasprintf("%s/%s", kc->dir, p);
}

/* key (file name) or key-data (base64): at most one is kept; -data wins, as
 * in client-go. */
static int
k8s_file_or_data(struct k8s_kc *kc, yaml_node_t *map, const char *what,
    const char *name, const char *key, char **file, char **data)
{
	char dkey[64];
	const char *f, *d;

	snprintf(dkey, sizeof(dkey), "%s-data", key);
	if (k8s_get_str(kc, map, what, name, key, &f) == -1 ||
	    k8s_get_str(kc, map, what, name, dkey, &d) == -1)
		return -1;
	if (d != NULL) {
		if ((*data = k8s_b64_decode(d)) == NULL) {
			errf(kc->err, kc->errlen, "%s: %s \"%s\": %s: bad base64",
			    kc->path, what, name, dkey);
			return -1;
		}
	} else if (f != NULL)
		*file = k8s_path(kc, f);
	return 0;
}

static int
k8s_kc_load(struct k8s_kc *kc)
{
	yaml_parser_t parser;
	FILE *f;
	int ok;

	if ((f = fopen(kc->path, "re")) == NULL) {
		errf(kc->err, kc->errlen, "%s: %s", kc->path, strerror(errno));
		return -1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	ok = yaml_parser_load(&parser, &kc->doc);
	if (!ok) {
		errf(kc->err, kc->errlen, "%s: line %zu: %s", kc->path,
		    parser.problem_mark.line + 1,
		    parser.problem ? parser.problem : "YAML error");
	}
	yaml_parser_delete(&parser);
	fclose(f);
	if (!ok)
		return -1;
	if (yaml_document_get_root_node(&kc->doc) == NULL ||
	    yaml_document_get_root_node(&kc->doc)->type != YAML_MAPPING_NODE) {
		errf(kc->err, kc->errlen, "%s: not a kubeconfig (no top-level mapping)",
		    kc->path);
		yaml_document_delete(&kc->doc);
		return -1;
	}
	return 0;
}

int
k8s_conn_from_kubeconfig(const char *path, const char *context,
    struct k8s_conn *out, char *err, size_t errlen)
{
	struct k8s_kc kc = { .path = path, .err = err, .errlen = errlen };
	struct k8s_conn c = { 0 };
	yaml_node_t *root, *ctx, *cluster, *user = NULL;
	const char *cname, *uname = NULL, *ns, *server, *insecure, *tok, *tokf;
	char *slash;
	size_t len;

	memset(out, 0, sizeof(*out));
	kc.dir = xstrdup(path);
	if ((slash = strrchr(kc.dir, '/')) == NULL)
		strcpy(kc.dir, ".");
	else if (slash == kc.dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (k8s_kc_load(&kc) == -1) {
		free(kc.dir);
		return -1;
	}
	root = yaml_document_get_root_node(&kc.doc);

	if (context == NULL || context[0] == '\0') {
		if (k8s_get_str(&kc, root, "file", path, "current-context", &context) == -1)
			goto fail;
		if (context == NULL) {
			errf(err, errlen, "%s: no current-context and no context given",
			    path);
			goto fail;
		}
	}
	if (k8s_named(&kc, root, "contexts", "context", context, &ctx) == -1)
		goto fail;
	if (k8s_get_str(&kc, ctx, "context", context, "cluster", &cname) == -1 ||
	    k8s_get_str(&kc, ctx, "context", context, "user", &uname) == -1 ||
	    k8s_get_str(&kc, ctx, "context", context, "namespace", &ns) == -1)
		goto fail;
	if (cname == NULL) {
		errf(err, errlen, "%s: context \"%s\": missing key \"cluster\"",
		    path, context);
		goto fail;
	}

	if (k8s_named(&kc, root, "clusters", "cluster", cname, &cluster) == -1)
		goto fail;
	if (k8s_get_str(&kc, cluster, "cluster", cname, "server", &server) == -1 ||
	    k8s_get_str(&kc, cluster, "cluster", cname, "insecure-skip-tls-verify",
	    &insecure) == -1)
		goto fail;
	if (server == NULL) {
		errf(err, errlen, "%s: cluster \"%s\": missing key \"server\"",
		    path, cname);
		goto fail;
	}
	if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0) {
		errf(err, errlen, "%s: cluster \"%s\": server: not an http(s) URL: \"%s\"",
		    path, cname, server);
		goto fail;
	}
	c.server = xstrdup(server);
	/* Paths are appended as "/api/...". */
	for (len = strlen(c.server); len > 0 && c.server[len - 1] == '/'; len--)
		c.server[len - 1] = '\0';
	if (insecure != NULL) {
		if (strcmp(insecure, "true") == 0)
			c.insecure = true;
		else if (strcmp(insecure, "false") != 0) {
			errf(err, errlen, "%s: cluster \"%s\": insecure-skip-tls-verify: "
			    "not a boolean: \"%s\"", path, cname, insecure);
			goto fail;
		}
	}
	if (k8s_file_or_data(&kc, cluster, "cluster", cname, "certificate-authority",
	    &c.ca_file, &c.ca_data) == -1)
		goto fail;

	if (uname != NULL) {
		if (k8s_named(&kc, root, "users", "user", uname, &user) == -1)
			goto fail;
		if (k8s_get_str(&kc, user, "user", uname, "token", &tok) == -1 ||
		    k8s_get_str(&kc, user, "user", uname, "tokenFile", &tokf) == -1)
			goto fail;
		c.token = xstrdup(tok);
		if (tokf != NULL)
			c.token_file = k8s_path(&kc, tokf);
		if (k8s_file_or_data(&kc, user, "user", uname, "client-certificate",
		    &c.client_cert_file, &c.client_cert_data) == -1 ||
		    k8s_file_or_data(&kc, user, "user", uname, "client-key",
		    &c.client_key_file, &c.client_key_data) == -1)
			goto fail;
		if ((c.client_cert_file || c.client_cert_data) !=
		    (c.client_key_file || c.client_key_data)) {
			errf(err, errlen, "%s: user \"%s\": %s without %s", path, uname,
			    c.client_key_file || c.client_key_data ? "client-key" :
			    "client-certificate",
			    c.client_key_file || c.client_key_data ? "client-certificate" :
			    "client-key");
			goto fail;
		}
	}
	c.namespace = xstrdup(ns);

	yaml_document_delete(&kc.doc);
	free(kc.dir);
	*out = c;
	return 0;
fail:
	yaml_document_delete(&kc.doc);
	free(kc.dir);
	k8s_conn_free(&c);
	return -1;
}

int
k8s_conn_in_cluster(const char *dir, struct k8s_conn *out, char *err,
    size_t errlen)
{
	struct k8s_conn c = { 0 };
	const char *host, *port;
	char *p = NULL;
	int e;

	memset(out, 0, sizeof(*out));
	if (dir == NULL)
		dir = K8S_SA_DIR;
	host = getenv("KUBERNETES_SERVICE_HOST");
	port = getenv("KUBERNETES_SERVICE_PORT");
	if (host == NULL || host[0] == '\0') {
		errf(err, errlen, "in-cluster: KUBERNETES_SERVICE_HOST is not set");
		return -1;
	}
	if (port == NULL || port[0] == '\0') {
		errf(err, errlen, "in-cluster: KUBERNETES_SERVICE_PORT is not set");
		return -1;
	}
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5) {
		errf(err, errlen, "in-cluster: KUBERNETES_SERVICE_PORT: bad port \"%s\"",
		    port);
		return -1;
	}
	/* An IPv6 literal needs brackets in a URL. */
	c.server = xasprintf(strchr(host, ':') ? "https://[%s]:%s" :
	    "https://%s:%s", host, port);
	c.token_file = xasprintf("%s/token", dir);
	if ((c.token = k8s_read_trimmed(c.token_file, &e)) == NULL) {
		errf(err, errlen, "in-cluster: %s: %s", c.token_file, strerror(e));
		goto fail;
	}
	c.ca_file = xasprintf("%s/ca.crt", dir);
	if (access(c.ca_file, R_OK) == -1) {
		errf(err, errlen, "in-cluster: %s: %s", c.ca_file, strerror(errno));
		goto fail;
	}
	/* The namespace file is optional: absent on some distributions. */
	p = xasprintf("%s/namespace", dir);
	c.namespace = k8s_read_trimmed(p, &e);
	if (c.namespace != NULL && c.namespace[0] == '\0') {
		free(c.namespace);
		c.namespace = NULL;
	}
	free(p);
	*out = c;
	return 0;
fail:
	free(p);
	k8s_conn_free(&c);
	return -1;
}
