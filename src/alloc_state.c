/*
 * alloc_state.c - the embedded mode's state file: who holds which address.
 *
 * Without Kubernetes there is nowhere else to remember assignments, and a
 * restart must never move an IP, so the daemon writes them to a small JSON
 * file after every change and claims them back at start:
 *
 *   {"version":1,"assignments":[{"service":"ns/a","pool":"poc",
 *     "addresses":["172.16.13.1","2001:db8::1"]}]}
 *
 * Saving goes through PATH.tmp, fsync, rename and an fsync of the directory
 * (file_save_atomic, util.h), so a crash leaves either the old file or the
 * new one, never a torn one.
 * Loading trusts nothing: any surprise in the file is reported with the file
 * name and what was wrong, and the caller starts fresh rather than crash.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bgplb/addr.h"
#include "bgplb/alloc.h"
#include "bgplb/util.h"

#define STATE_VERSION	1
/* A state file is a few MB at most; refuse to slurp anything absurd. */
#define STATE_MAX_BYTES	(256u * 1024 * 1024)


/* A JSON string literal for s (escaped by json-c, one small object). */
static void
put_jstr(FILE *f, const char *s)
{
	struct json_object *o = json_object_new_string(s);

	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE), f);
	json_object_put(o);
}

/*
 * Stream the document: with 100k services a json-c tree of it would cost
 * more memory than everything else the daemon keeps (and the allocator
 * keeps the freed pages), so one assignment at a time.
 */
static void
state_write(FILE *f, const struct alloc_assignment *as, size_t n)
{
	char buf[ADDR_STRLEN];
	bool first = true;

	fprintf(f, "{\n  \"version\": %d,\n  \"assignments\": [", STATE_VERSION);
	for (size_t i = 0; i < n; i++) {
		if (as[i].service == NULL || as[i].naddrs == 0)
			continue;
		fputs(first ? "\n    { \"service\": " : ",\n    { \"service\": ", f);
		first = false;
		put_jstr(f, as[i].service);
		if (as[i].pool != NULL) {
			fputs(", \"pool\": ", f);
			put_jstr(f, as[i].pool);
		}
		fputs(", \"addresses\": [ ", f);
		for (size_t j = 0; j < as[i].naddrs && j < 2; j++) {
			if (j > 0)
				fputs(", ", f);
			put_jstr(f, addr_ntop(&as[i].addrs[j], buf, sizeof(buf)));
		}
		fputs(" ] }", f);
	}
	fputs(first ? "]\n}\n" : "\n  ]\n}\n", f);
}

struct state_doc {
	const struct alloc_assignment *as;
	size_t n;
};

static void
state_doc_write(FILE *f, void *arg)
{
	const struct state_doc *d = arg;

	state_write(f, d->as, d->n);
}

int
alloc_state_save(const char *path, const struct alloc_assignment *as, size_t n,
    char *err, size_t errlen)
{
	struct state_doc d = { as, n };

	return file_save_atomic(path, state_doc_write, &d, err, errlen);
}

void
alloc_prev_free(struct alloc_prev *p, size_t n)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(p[i].service);
	free(p);
}

static int
read_file(const char *path, char **out, size_t *outlen, bool *missing,
    char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd;

	*missing = false;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT) {
			*missing = true;
			return 0;
		}
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if ((uintmax_t)st.st_size > STATE_MAX_BYTES) {
		snprintf(err, errlen, "%s: too large (%jd bytes)", path,
		    (intmax_t)st.st_size);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: read: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	close(fd);
	*out = buf;
	*outlen = len;
	return 0;
fail:
	close(fd);
	free(buf);
	return -1;
}

static int
parse_entry(const char *path, size_t i, struct json_object *o,
    struct alloc_prev *p, char *err, size_t errlen)
{
	struct json_object *svc, *addrs;
	size_t n;

	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "%s: assignments[%zu]: not an object",
		    path, i);
		return -1;
	}
	if (!json_object_object_get_ex(o, "service", &svc) ||
	    !json_object_is_type(svc, json_type_string) ||
	    json_object_get_string_len(svc) == 0) {
		snprintf(err, errlen, "%s: assignments[%zu]: \"service\" "
		    "missing or not a non-empty string", path, i);
		return -1;
	}
	if (!json_object_object_get_ex(o, "addresses", &addrs) ||
	    !json_object_is_type(addrs, json_type_array)) {
		snprintf(err, errlen, "%s: assignments[%zu]: \"addresses\" "
		    "missing or not an array", path, i);
		return -1;
	}
	n = json_object_array_length(addrs);
	if (n == 0 || n > 2) {
		snprintf(err, errlen, "%s: assignments[%zu]: \"addresses\" "
		    "holds %zu entries (1 or 2 expected)", path, i, n);
		return -1;
	}
	for (size_t j = 0; j < n; j++) {
		struct json_object *s = json_object_array_get_idx(addrs, j);
		const char *text;

		if (!json_object_is_type(s, json_type_string)) {
			snprintf(err, errlen, "%s: assignments[%zu].addresses[%zu]: "
			    "not a string", path, i, j);
			return -1;
		}
		text = json_object_get_string(s);
		if (addr_parse(text, &p->addrs[j]) < 0) {
			snprintf(err, errlen, "%s: assignments[%zu].addresses[%zu]: "
			    "invalid address \"%.64s\"", path, i, j, text);
			return -1;
		}
	}
	if (n == 2 && p->addrs[0].af == p->addrs[1].af) {
		snprintf(err, errlen, "%s: assignments[%zu]: two addresses of "
		    "the same family", path, i);
		return -1;
	}
	p->naddrs = n;
	if ((p->service = strdup(json_object_get_string(svc))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	return 0;
}

static int
prev_ptr_cmp(const void *x, const void *y)
{
	const struct alloc_prev *a = *(const struct alloc_prev *const *)x;
	const struct alloc_prev *b = *(const struct alloc_prev *const *)y;

	return strcmp(a->service, b->service);
}

/* A service listed twice means the file was not written by us. */
static int
check_unique(const char *path, struct alloc_prev *prev, size_t n,
    char *err, size_t errlen)
{
	struct alloc_prev **v;
	int rc = 0;

	if (n < 2)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = &prev[i];
	qsort(v, n, sizeof(*v), prev_ptr_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i - 1]->service, v[i]->service) == 0) {
			snprintf(err, errlen, "%s: service \"%s\" appears twice "
			    "in assignments", path, v[i]->service);
			rc = -1;
			break;
		}
	}
	free(v);
	return rc;
}

int
alloc_state_load(const char *path, struct alloc_prev **out, size_t *nout,
    char *err, size_t errlen)
{
	struct json_tokener *tok = NULL;
	struct json_object *root = NULL, *ver, *list;
	struct alloc_prev *prev = NULL;
	char *buf = NULL;
	size_t len = 0, n = 0;
	bool missing;

	*out = NULL;
	*nout = 0;
	if (read_file(path, &buf, &len, &missing, err, errlen) < 0)
		return -1;
	if (missing)
		return 0;
	if ((tok = json_tokener_new()) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	if (len > INT_MAX) {
		snprintf(err, errlen, "%s: too large", path);
		goto fail;
	}
	root = json_tokener_parse_ex(tok, buf, (int)len);
	if (root == NULL || json_tokener_get_parse_end(tok) < len) {
		enum json_tokener_error je = json_tokener_get_error(tok);

		if (root == NULL && je == json_tokener_continue)
			snprintf(err, errlen, "%s: invalid JSON: unexpected end "
			    "of file", path);
		else if (root == NULL)
			snprintf(err, errlen, "%s: invalid JSON at byte %zu: %s",
			    path, json_tokener_get_parse_end(tok),
			    json_tokener_error_desc(je));
		else {
			/* Trailing garbage after a valid document. */
			size_t k = json_tokener_get_parse_end(tok);

			while (k < len && strchr(" \t\r\n", buf[k]) != NULL)
				k++;
			if (k < len) {
				snprintf(err, errlen, "%s: invalid JSON: trailing "
				    "data at byte %zu", path, k);
				goto fail;
			}
			goto parsed;
		}
		goto fail;
	}
parsed:
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(err, errlen, "%s: top level is not a JSON object", path);
		goto fail;
	}
	if (!json_object_object_get_ex(root, "version", &ver) ||
	    !json_object_is_type(ver, json_type_int)) {
		snprintf(err, errlen, "%s: \"version\" missing or not an integer",
		    path);
		goto fail;
	}
	if (json_object_get_int64(ver) != STATE_VERSION) {
		snprintf(err, errlen, "%s: unsupported version %lld (expected %d)",
		    path, (long long)json_object_get_int64(ver), STATE_VERSION);
		goto fail;
	}
	if (!json_object_object_get_ex(root, "assignments", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		snprintf(err, errlen, "%s: \"assignments\" missing or not an array",
		    path);
		goto fail;
	}
	n = json_object_array_length(list);
	if (n > 0 && (prev = calloc(n, sizeof(*prev))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if (parse_entry(path, i, json_object_array_get_idx(list, i),
		    &prev[i], err, errlen) < 0)
			goto fail;
	}
	if (check_unique(path, prev, n, err, errlen) < 0)
		goto fail;
	json_object_put(root);
	json_tokener_free(tok);
	free(buf);
	*out = prev;
	*nout = n;
	return 0;
fail:
	alloc_prev_free(prev, n);
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	free(buf);
	return -1;
}
