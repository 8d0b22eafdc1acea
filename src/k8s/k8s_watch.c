/*
 * k8s_watch.c - list+watch engine (see k8s_watch.h for the protocol).
 *
 * One state machine per resource: LIST (paged) -> WATCH -> WATCH ... with a
 * single timer for every wait (backoff, Retry-After, the restart after a
 * stream ends).  At most one request is in flight, so the owner sees its
 * callbacks strictly in the server's order.
 *
 * A list is handed over page by page and never kept whole (16,000
 * EndpointSlices parsed at once took ~300 MB; see bench/k8s-list): the
 * owner updates what each page brings and sweeps only at on_synced,
 * because pages are a snapshot only together - sweeping after a half list
 * would delete objects that are merely on the next page.  A list that
 * fails midway starts again at its first page, flagged so that the owner
 * forgets what the failed one marked.
 *
 * Errors from the API server are expected (upgrades, compaction, overload):
 * they are reported through on_error and retried, never fatal.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "bgplb/util.h"
#include "k8s_json.h"
#include "k8s_watch.h"

#define LIST_MAX_BYTES	(512u * 1024 * 1024)	/* one page; absurd beyond */
#define QUICK_END_MS	1000	/* a stream shorter than this, and empty, counts as a failure */

/* Framing. */

void
k8s_lines_reset(struct k8s_lines *l)
{
	free(l->buf);
	l->buf = NULL;
	l->len = l->cap = 0;
}

static int
lines_emit(struct k8s_lines *l, const char *line, size_t n, size_t max,
    int (*cb)(void *, const char *, size_t), void *arg)
{
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n > max) {
		k8s_lines_reset(l);
		return -1;
	}
	if (n == 0)
		return 0;	/* keep-alive newlines */
	return cb(arg, line, n) == -1 ? -1 : 0;
}

static int
lines_append(struct k8s_lines *l, const char *data, size_t n, size_t max)
{
	size_t ncap;
	char *nb;

	if (l->len + n <= l->cap)
		goto copy;
	ncap = l->cap ? l->cap : 4096;
	while (ncap < l->len + n)
		ncap *= 2;
	if (ncap > max)
		ncap = max;
	nb = realloc(l->buf, ncap);
	if (nb == NULL)
		return -1;
	l->buf = nb;
	l->cap = ncap;
copy:
	memcpy(l->buf + l->len, data, n);
	l->len += n;
	return 0;
}

int
k8s_lines_feed(struct k8s_lines *l, const char *data, size_t len,
    int (*cb)(void *arg, const char *line, size_t len), void *arg)
{
	size_t max = l->max ? l->max : K8S_LINE_MAX;
	const char *nl;
	size_t take;

	while (len > 0) {
		nl = memchr(data, '\n', len);
		take = nl ? (size_t)(nl - data) : len;
		/* The \r of a \r\n may still be pending: allow it past max. */
		if (l->len + take > max + 1) {
			k8s_lines_reset(l);
			return -1;
		}
		if (nl != NULL && l->len == 0) {
			/* The common case: a whole line in this chunk, no copy. */
			if (lines_emit(l, data, take, max, cb, arg) == -1)
				return -1;
		} else {
			if (lines_append(l, data, take, max + 1) == -1) {
				k8s_lines_reset(l);
				return -1;
			}
			if (nl != NULL) {
				size_t n = l->len;

				l->len = 0;
				if (lines_emit(l, l->buf, n, max, cb, arg) == -1)
					return -1;
			}
		}
		if (nl == NULL)
			break;
		data += take + 1;
		len -= take + 1;
	}
	return 0;
}

/* Backoff. */

uint32_t
k8s_backoff_next(struct k8s_backoff *b, uint32_t rnd)
{
	uint64_t d = b->base_ms ? b->base_ms : 1;
	uint64_t cap = b->cap_ms ? b->cap_ms : d;
	unsigned i;

	for (i = 0; i < b->attempt && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	if (b->attempt < 64)
		b->attempt++;
	return (uint32_t)(d - d / 2 + rnd % (d / 2 + 1));
}

void
k8s_backoff_reset(struct k8s_backoff *b)
{
	b->attempt = 0;
}

unsigned
k8s_watch_timeout_s(uint32_t rnd)
{
	return 300 + rnd % 301;
}

/* Engine. */

enum watch_state {
	W_IDLE = 0,	/* waiting on the timer */
	W_LISTING,
	W_WATCHING,
};

struct k8s_watch {
	struct event_base	*base;
	struct k8s_http		*http;
	struct k8s_watch_opts	 o;
	char			*path;
	char			*label_selector, *field_selector;
	enum watch_state	 state;
	struct k8s_req		*req;
	struct event		*timer;
	bool			 next_is_list;	/* what the timer starts */
	bool			 synced;
	char			*rv;		/* last resourceVersion */
	struct k8s_backoff	 backoff;
	uint64_t		 rnd;
	/* LIST */
	char			*cont;		/* continue token */
	char			*body;		/* this page so far */
	size_t			 body_len, body_cap;
	bool			 body_over;
	bool			 page_first;	/* this page starts a list */
	size_t			 listed;	/* objects in this list so far */
	/* WATCH */
	struct k8s_lines	 lines;
	size_t			 nevents;	/* in this stream */
	size_t			 nlines;	/* valid events, bookmarks included */
	bool			 status_body;	/* the body is a Status: ignore it */
	struct timespec		 started;
	const char		*abort_reason;	/* set when we cut the stream */
	bool			 abort_relist;
};

static void start_list(struct k8s_watch *);
static void start_watch(struct k8s_watch *);

static uint32_t
watch_rand(struct k8s_watch *w)
{
	/* xorshift64*: jitter only, nothing secret. */
	w->rnd ^= w->rnd >> 12;
	w->rnd ^= w->rnd << 25;
	w->rnd ^= w->rnd >> 27;
	return (uint32_t)((w->rnd * 2685821657736338717ull) >> 32);
}

static void __attribute__((format(printf, 2, 3)))
report(struct k8s_watch *w, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (w->o.on_error == NULL)
		return;
	n = snprintf(buf, sizeof(buf), "%s: ", w->path);
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	w->o.on_error(w->o.arg, buf);
}

static uint64_t
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - since->tv_sec) * 1000 +
	    (uint64_t)((now.tv_nsec - since->tv_nsec) / 1000000);
}

static void
set_rv(struct k8s_watch *w, const char *rv)
{
	char *n;

	if (rv == NULL || *rv == '\0')
		return;
	n = xstrdup(rv);
	free(w->rv);
	w->rv = n;
}

static void
clear_list(struct k8s_watch *w)
{
	w->listed = 0;
	free(w->cont);
	w->cont = NULL;
	w->body_len = 0;
	w->body_over = false;
}

static void
schedule(struct k8s_watch *w, bool list, uint32_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	w->state = W_IDLE;
	w->req = NULL;
	w->next_is_list = list;
	evtimer_add(w->timer, &tv);
}

/* A failure: wait with backoff, then do `list` or resume the watch. */
static void
retry(struct k8s_watch *w, bool list, long retry_after_s)
{
	uint32_t ms;

	if (retry_after_s >= 0) {
		/* The server said when; still count it as a failure. */
		ms = retry_after_s > 600 ? 600000 : (uint32_t)retry_after_s * 1000;
		w->backoff.attempt++;
	} else {
		ms = k8s_backoff_next(&w->backoff, watch_rand(w));
	}
	if (list)
		clear_list(w);
	schedule(w, list, ms);
}

static void
relist(struct k8s_watch *w, const char *reason)
{
	if (w->o.on_relist != NULL)
		w->o.on_relist(w->o.arg, reason);
	clear_list(w);
	schedule(w, true, 0);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct k8s_watch *w = arg;

	if (w->next_is_list || w->rv == NULL)
		start_list(w);
	else
		start_watch(w);
}

/* Percent-encoding for a continue token (base64: '=', '+', '/'). */
static void
append_escaped(char *out, size_t outlen, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(out);

	for (; *s != '\0' && n + 4 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
		    c == '~') {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
}

static void
add_selectors(struct k8s_watch *w, char *url, size_t len)
{
	size_t n = strlen(url);

	if (w->label_selector != NULL)
		n += (size_t)snprintf(url + n, len - n, "&labelSelector=%s",
		    w->label_selector);
	if (w->field_selector != NULL && n < len)
		snprintf(url + n, len - n, "&fieldSelector=%s", w->field_selector);
}

/* LIST. */

static int
list_data(void *arg, const char *data, size_t len)
{
	struct k8s_watch *w = arg;
	size_t ncap;
	char *nb;

	if (w->body_len + len + 1 > w->body_cap) {
		if (w->body_len + len + 1 > LIST_MAX_BYTES) {
			w->body_over = true;
			return -1;
		}
		ncap = w->body_cap ? w->body_cap : 65536;
		while (ncap < w->body_len + len + 1)
			ncap *= 2;
		nb = realloc(w->body, ncap);
		if (nb == NULL) {
			w->body_over = true;
			return -1;
		}
		w->body = nb;
		w->body_cap = ncap;
	}
	memcpy(w->body + w->body_len, data, len);
	w->body_len += len;
	w->body[w->body_len] = '\0';
	return 0;
}

/*
 * One page: hand its items to the owner and free it; returns 1 when more
 * pages follow.
 */
static int
list_page(struct k8s_watch *w, char *why, size_t whylen)
{
	struct json_object *root, *meta, *items, *v, **page = NULL;
	enum json_tokener_error jerr;
	const char *s;
	size_t i, n, m = 0;
	int more = 0;

	root = json_tokener_parse_verbose(w->body ? w->body : "", &jerr);
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		snprintf(why, whylen, "list: not a JSON object (%s)",
		    root == NULL ? json_tokener_error_desc(jerr) : "wrong type");
		json_object_put(root);
		return -1;
	}
	if (!json_object_object_get_ex(root, "items", &items) ||
	    (items != NULL && !json_object_is_type(items, json_type_array))) {
		snprintf(why, whylen, "list: items: expected a list");
		json_object_put(root);
		return -1;
	}
	if (!json_object_object_get_ex(root, "metadata", &meta) ||
	    !json_object_is_type(meta, json_type_object)) {
		snprintf(why, whylen, "list: metadata: expected an object");
		json_object_put(root);
		return -1;
	}
	n = items ? json_object_array_length(items) : 0;
	page = xcalloc(n ? n : 1, sizeof(*page));
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(items, i);
		if (v == NULL || !json_object_is_type(v, json_type_object))
			continue;	/* the owner's parser would reject it anyway */
		page[m++] = v;
	}
	if ((s = k8s_json_str(meta, "resourceVersion")) != NULL)
		set_rv(w, s);
	free(w->cont);
	w->cont = NULL;
	if ((s = k8s_json_str(meta, "continue")) != NULL && *s != '\0') {
		w->cont = xstrdup(s);
		more = 1;
	}
	w->listed += m;
	if (w->o.on_page != NULL)
		w->o.on_page(w->o.arg, page, m, w->page_first);
	free(page);
	json_object_put(root);
	return more;
}

static void
list_done(void *arg, long status, const char *error, long retry_after_s)
{
	struct k8s_watch *w = arg;
	char why[256];
	int r;

	w->req = NULL;
	if (w->body_over) {
		report(w, "list: response too large");
		retry(w, true, -1);
		return;
	}
	if (status == 410) {
		/* The continue token's snapshot was compacted: start over. */
		report(w, "list: 410 Gone (continue token expired)");
		relist(w, "continue-expired");
		return;
	}
	if (status == 429 || status == 503) {
		report(w, "list: HTTP %ld, retry after %lds", status, retry_after_s);
		retry(w, true, retry_after_s);
		return;
	}
	if (status != 200) {
		report(w, "list: %s%s%ld", error ? error : "",
		    error ? ", HTTP " : "HTTP ", status);
		retry(w, true, -1);
		return;
	}
	r = list_page(w, why, sizeof(why));
	w->body_len = 0;
	if (r == -1) {
		report(w, "%s", why);
		retry(w, true, -1);
		return;
	}
	if (r == 1) {
		start_list(w);
		return;
	}
	k8s_backoff_reset(&w->backoff);
	w->synced = true;
	if (w->o.on_synced != NULL)
		w->o.on_synced(w->o.arg, w->listed);
	clear_list(w);
	/* The largest page's buffer is not needed until the next list. */
	free(w->body);
	w->body = NULL;
	w->body_cap = 0;
	start_watch(w);
}

static void
start_list(struct k8s_watch *w)
{
	struct k8s_req_opts ro;
	char url[8192];

	snprintf(url, sizeof(url), "%s?limit=%u", w->path,
	    w->o.page_limit ? w->o.page_limit : 500);
	if (w->cont != NULL) {
		strncat(url, "&continue=", sizeof(url) - strlen(url) - 1);
		append_escaped(url, sizeof(url), w->cont);
	}
	add_selectors(w, url, sizeof(url));
	w->body_len = 0;
	w->body_over = false;
	w->page_first = w->cont == NULL;
	if (w->page_first)
		w->listed = 0;
	memset(&ro, 0, sizeof(ro));
	ro.method = K8S_GET;
	ro.path = url;
	ro.timeout_ms = 60000;
	ro.on_data = list_data;
	ro.on_done = list_done;
	ro.arg = w;
	w->state = W_LISTING;
	w->req = k8s_http_request(w->http, &ro);
	if (w->req == NULL) {
		report(w, "list: cannot start a request");
		retry(w, true, -1);
	}
}

/* WATCH. */

/* Cut the stream from inside on_data; no on_done follows a cancel. */
static int
watch_abort(struct k8s_watch *w, bool relist_after, const char *reason)
{
	struct k8s_req *req = w->req;

	/* The line buffer may hold the line being handled: start_watch
	 * resets it. */
	w->req = NULL;
	if (req != NULL)
		k8s_http_cancel(req);
	if (relist_after)
		relist(w, reason);
	else
		retry(w, false, -1);
	return -1;
}

/* A metav1.Status object: {"kind":"Status",...} without an event type. */
static bool
is_status(const char *line, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	const char *kind;
	bool yes = false;

	if (tok == NULL)
		return false;
	o = json_tokener_parse_ex(tok, line, len > INT32_MAX ? INT32_MAX : (int)len);
	json_tokener_free(tok);
	if ((kind = k8s_json_str(o, "kind")) != NULL &&
	    strcmp(kind, "Status") == 0)
		yes = true;
	json_object_put(o);
	return yes;
}

static int
watch_line(void *arg, const char *line, size_t len)
{
	struct k8s_watch *w = arg;
	struct k8s_watch_event ev;
	char err[256];
	const char *rv;

	if (k8s_watch_event_parse(line, len, &ev, err, sizeof(err)) == -1) {
		if (w->nlines == 0 && is_status(line, len)) {
			/* An error response (410, 429, 5xx) has a Status body;
			 * on_done acts on its HTTP code. */
			w->status_body = true;
			return 0;
		}
		/* A garbled stream can't be trusted to resume: relist. */
		report(w, "watch: %s", err);
		return watch_abort(w, true, "bad-event");
	}
	w->nlines++;
	switch (ev.type) {
	case K8S_EV_ERROR:
		if (ev.expired) {
			report(w, "watch: %s", ev.message ? ev.message : "410 Gone");
			k8s_watch_event_free(&ev);
			return watch_abort(w, true, "expired");
		}
		report(w, "watch: ERROR %d %s: %s", ev.code,
		    ev.reason ? ev.reason : "", ev.message ? ev.message : "");
		k8s_watch_event_free(&ev);
		return watch_abort(w, false, NULL);
	case K8S_EV_BOOKMARK:
		set_rv(w, k8s_meta_str(ev.object, "resourceVersion"));
		break;
	default:
		rv = k8s_meta_str(ev.object, "resourceVersion");
		set_rv(w, rv);
		w->nevents++;
		if (w->o.on_event != NULL)
			w->o.on_event(w->o.arg, ev.type, ev.object);
		break;
	}
	k8s_watch_event_free(&ev);
	return 0;
}

static int
watch_data(void *arg, const char *data, size_t len)
{
	struct k8s_watch *w = arg;
	struct k8s_lines *l = &w->lines;
	size_t max = l->max ? l->max : K8S_LINE_MAX;

	if (w->status_body)
		return 0;	/* the rest of an error response */
	if (k8s_lines_feed(l, data, len, watch_line, w) == -1) {
		if (w->req == NULL)
			return -1;	/* watch_line already cut the stream */
		report(w, "watch: line longer than %zu bytes", max);
		return watch_abort(w, true, "line-too-long");
	}
	return 0;
}

static void
watch_done(void *arg, long status, const char *error, long retry_after_s)
{
	struct k8s_watch *w = arg;

	w->req = NULL;
	k8s_lines_reset(&w->lines);
	if (status == 410) {
		report(w, "watch: 410 Gone");
		relist(w, "gone");
		return;
	}
	if (status == 429 || status == 503) {
		report(w, "watch: HTTP %ld, retry after %lds", status,
		    retry_after_s);
		retry(w, false, retry_after_s);
		return;
	}
	if (status != 200) {
		report(w, "watch: %s%s%ld", error ? error : "",
		    error ? ", HTTP " : "HTTP ", status);
		retry(w, false, -1);
		return;
	}
	/*
	 * The stream ended (timeoutSeconds, or cut).  Resume at once, unless
	 * it ended quickly with nothing in it: then a server that closes
	 * every watch would have us spin.
	 */
	if (w->status_body) {
		report(w, "watch: a Status object on a 200 stream");
		relist(w, "bad-event");
		return;
	}
	if (error != NULL)
		report(w, "watch: stream ended: %s", error);
	if (w->nevents == 0 && elapsed_ms(&w->started) < QUICK_END_MS) {
		retry(w, false, -1);
		return;
	}
	k8s_backoff_reset(&w->backoff);
	start_watch(w);
}

static void
start_watch(struct k8s_watch *w)
{
	struct k8s_req_opts ro;
	char url[4096];
	unsigned t;

	t = w->o.timeout_s ? w->o.timeout_s : k8s_watch_timeout_s(watch_rand(w));
	snprintf(url, sizeof(url),
	    "%s?watch=1&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=%u",
	    w->path, w->rv ? w->rv : "", t);
	add_selectors(w, url, sizeof(url));
	k8s_lines_reset(&w->lines);
	w->lines.max = w->o.max_line;
	w->nevents = 0;
	w->nlines = 0;
	w->status_body = false;
	clock_gettime(CLOCK_MONOTONIC, &w->started);
	memset(&ro, 0, sizeof(ro));
	ro.method = K8S_GET;
	ro.path = url;
	ro.timeout_ms = 0;	/* the server ends it after timeoutSeconds */
	ro.on_data = watch_data;
	ro.on_done = watch_done;
	ro.arg = w;
	w->state = W_WATCHING;
	w->req = k8s_http_request(w->http, &ro);
	if (w->req == NULL) {
		report(w, "watch: cannot start a request");
		retry(w, false, -1);
	}
}

struct k8s_watch *
k8s_watch_new(struct event_base *base, struct k8s_http *http,
    const struct k8s_watch_opts *o)
{
	struct k8s_watch *w;
	struct timespec ts;

	if (o->path == NULL || o->path[0] != '/')
		return NULL;
	w = xcalloc(1, sizeof(*w));
	w->base = base;
	w->http = http;
	w->o = *o;
	w->path = xstrdup(o->path);
	w->label_selector = xstrdup(o->label_selector);
	w->field_selector = xstrdup(o->field_selector);
	w->o.path = w->path;
	w->o.label_selector = w->label_selector;
	w->o.field_selector = w->field_selector;
	w->backoff.base_ms = o->backoff_base_ms ? o->backoff_base_ms : 500;
	w->backoff.cap_ms = o->backoff_cap_ms ? o->backoff_cap_ms : 30000;
	clock_gettime(CLOCK_REALTIME, &ts);
	w->rnd = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
	    ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)w;
	if (w->rnd == 0)
		w->rnd = 88172645463325252ull;
	w->timer = evtimer_new(base, timer_cb, w);
	if (w->timer == NULL) {
		k8s_watch_free(w);
		return NULL;
	}
	start_list(w);
	return w;
}

void
k8s_watch_free(struct k8s_watch *w)
{
	if (w == NULL)
		return;
	if (w->req != NULL)
		k8s_http_cancel(w->req);
	if (w->timer != NULL)
		event_free(w->timer);
	clear_list(w);
	free(w->body);
	k8s_lines_reset(&w->lines);
	free(w->rv);
	free(w->path);
	free(w->label_selector);
	free(w->field_selector);
	free(w);
}

const char *
k8s_watch_resource_version(const struct k8s_watch *w)
{
	return w->rv ? w->rv : "";
}

bool
k8s_watch_synced(const struct k8s_watch *w)
{
	return w->synced;
}
