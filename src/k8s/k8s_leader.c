/*
 * k8s_leader.c - leader election on a coordination.k8s.io/v1 Lease (see
 * k8s_leader.h for the protocol; it is client-go's tryAcquireOrRenew).
 *
 * At most one request is in flight, and while none is, the attempt timer is
 * pending: GET -> (POST | PUT)? -> timer -> ...  The leader's renewal takes
 * the fast path (PUT on its own last write) and falls back to GET + PUT at
 * once when that fails.  The renew deadline is a second timer, armed only
 * while we lead and moved by every successful write: it fires whatever the
 * request in flight is doing, so a hung API server cannot keep us "leading"
 * past the point where another node may take the Lease.
 *
 * Every answer of the API server is checked before it is believed; a
 * garbled one counts as a failed attempt.  Failures are reported through
 * on_error and retried at the next period, never fatal.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "bgplb/util.h"
#include "k8s_leader.h"

#define BODY_MAX	(1024u * 1024)	/* a Lease is a few hundred bytes */
#define REQ_TIMEOUT_MIN_MS	1000
#define REQ_TIMEOUT_MAX_MS	5000
#define RELEASE_TRIES	3	/* PUTs of the release record (409: re-read) */

#if defined(__OpenBSD__) || defined(__FreeBSD__) || defined(__NetBSD__) || \
    defined(__APPLE__) || (defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 36)))
#define HAVE_ARC4RANDOM	1
#endif

/* ---------------------------------------------------------------- pure */

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
ts_eq(bool ha, const struct timespec *a, bool hb, const struct timespec *b)
{
	if (ha != hb)
		return false;
	return !ha || (a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec);
}

/* "" and NULL both mean nobody (k8s_lease_from_json gives NULL). */
static const char *
holder_of(const struct k8s_lease *l)
{
	return l != NULL && l->holder != NULL && *l->holder != '\0' ?
	    l->holder : NULL;
}

bool
k8s_le_same_record(const struct k8s_lease *a, const struct k8s_lease *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return str_eq(holder_of(a), holder_of(b)) &&
	    a->duration_s == b->duration_s &&
	    a->transitions == b->transitions &&
	    ts_eq(a->has_acquire, &a->acquire, b->has_acquire, &b->acquire) &&
	    ts_eq(a->has_renew, &a->renew, b->has_renew, &b->renew);
}

static void
lease_copy(struct k8s_lease *dst, const struct k8s_lease *src)
{
	*dst = *src;
	dst->namespace = xstrdup(src->namespace);
	dst->name = xstrdup(src->name);
	dst->resource_version = xstrdup(src->resource_version);
	dst->holder = xstrdup(holder_of(src));
}

void
k8s_le_state_clear(struct k8s_le_state *st)
{
	if (st->have)
		k8s_lease_free(&st->observed);
	memset(st, 0, sizeof(*st));
}

bool
k8s_le_observe(struct k8s_le_state *st, const struct k8s_lease *cur,
    int64_t now_ms)
{
	bool changed;

	if (cur == NULL) {
		if (!st->have)
			return false;
		k8s_lease_free(&st->observed);
		st->have = false;
		st->observed_ms = now_ms;
		return true;
	}
	changed = !st->have || !k8s_le_same_record(&st->observed, cur);
	if (st->have)
		k8s_lease_free(&st->observed);
	/* The resourceVersion is kept up to date even when the record is
	 * the same: it is the next write's precondition. */
	lease_copy(&st->observed, cur);
	st->have = true;
	if (changed)
		st->observed_ms = now_ms;
	return changed;
}

int64_t
k8s_le_duration_ms(const struct k8s_lease *l, unsigned default_s)
{
	if (l != NULL && l->duration_s > 0)
		return (int64_t)l->duration_s * 1000;
	return (int64_t)default_s * 1000;
}

bool
k8s_le_valid(const struct k8s_le_state *st, unsigned default_s, int64_t now_ms)
{
	return st->have && st->observed_ms +
	    k8s_le_duration_ms(&st->observed, default_s) > now_ms;
}

enum k8s_le_action
k8s_le_decide(const struct k8s_le_state *st, const struct k8s_lease *cur,
    const char *identity, unsigned lease_s, int64_t now_ms)
{
	const char *holder;
	int64_t seen;

	if (cur == NULL)
		return K8S_LE_CREATE;
	if ((holder = holder_of(cur)) == NULL)
		return K8S_LE_TAKEOVER;
	if (identity != NULL && strcmp(holder, identity) == 0)
		return K8S_LE_RENEW;
	/* Another's: alive while it changed less than its duration ago. */
	if (st != NULL && st->have && k8s_le_same_record(&st->observed, cur))
		seen = st->observed_ms;
	else
		seen = now_ms;
	if (seen + k8s_le_duration_ms(cur, lease_s) > now_ms)
		return K8S_LE_WAIT;
	return K8S_LE_TAKEOVER;
}

void
k8s_le_spec(enum k8s_le_action a, const struct k8s_lease *cur,
    const char *ns, const char *name, const char *identity,
    unsigned lease_s, const struct timespec *now,
    struct k8s_lease_spec *out)
{
	memset(out, 0, sizeof(*out));
	if (a == K8S_LE_WAIT)
		return;		/* nothing to write: holder stays NULL */
	if (cur == NULL)
		a = K8S_LE_CREATE;
	out->namespace = ns;
	out->name = name;
	out->holder = identity;
	out->duration_s = (int)lease_s;
	out->acquire = out->renew = *now;
	switch (a) {
	case K8S_LE_CREATE:
		out->resource_version = NULL;
		out->transitions = 0;
		break;
	case K8S_LE_RENEW:
		out->resource_version = cur->resource_version;
		if (cur->has_acquire)
			out->acquire = cur->acquire;
		out->transitions = cur->transitions;
		break;
	case K8S_LE_TAKEOVER:
	default:
		out->resource_version = cur->resource_version;
		out->transitions = cur->transitions < INT32_MAX ?
		    cur->transitions + 1 : cur->transitions;
		break;
	}
}

void
k8s_le_release_spec(const struct k8s_lease *cur, const char *ns,
    const char *name, const struct timespec *now, struct k8s_lease_spec *out)
{
	memset(out, 0, sizeof(*out));
	out->namespace = ns;
	out->name = name;
	out->resource_version = cur != NULL ? cur->resource_version : NULL;
	out->holder = "";
	out->duration_s = 1;
	out->acquire = out->renew = *now;
	out->transitions = cur != NULL ? cur->transitions : 0;
}

int64_t
k8s_le_deadline_ms(int64_t renewed_ms, unsigned renew_deadline_ms)
{
	return renewed_ms + (int64_t)renew_deadline_ms;
}

uint32_t
k8s_le_jitter_ms(unsigned retry_ms, uint32_t rnd)
{
	double ms = (double)retry_ms *
	    (1.0 + K8S_LE_JITTER * ((double)rnd / 4294967296.0));

	return ms >= 4294967295.0 ? UINT32_MAX : (uint32_t)ms;
}

const char *
k8s_le_action_name(enum k8s_le_action a)
{
	switch (a) {
	case K8S_LE_WAIT:
		return "wait";
	case K8S_LE_CREATE:
		return "create";
	case K8S_LE_RENEW:
		return "renew";
	case K8S_LE_TAKEOVER:
		return "takeover";
	}
	return "?";
}

/* ---------------------------------------------------------------- elector */

enum le_op {
	OP_NONE = 0,
	OP_GET,
	OP_WRITE,	/* POST or PUT of an acquire/renew record */
	OP_RELEASE_GET,
	OP_RELEASE,
};

struct k8s_leader {
	struct event_base	*base;
	struct k8s_http		*http;
	struct k8s_leader_opts	 o;
	char			*ns, *name, *identity;
	char			*path;		/* .../leases/NAME */
	char			*coll;		/* .../leases */
	unsigned		 lease_s, renew_ms, retry_ms;
	long			 timeout_ms;	/* of every request */

	struct k8s_le_state	 st;
	struct json_object	*raw;		/* st.observed as read: the next PUT's base */
	bool			 leading;
	char			*holder;	/* last reported to on_new_leader */
	int64_t			 renewed_ms;	/* last successful write, when sent */

	struct event		*timer;		/* the next attempt */
	struct event		*deadline;	/* renew deadline, while leading */

	struct k8s_req		*req;
	enum le_op		 op;
	enum k8s_le_action	 action;	/* of the write in flight */
	bool			 fast;		/* it is the fast-path renewal */
	int64_t			 sent_ms;	/* when it was sent */
	char			*body;
	size_t			 body_len, body_cap;
	bool			 body_over;

	bool			 released;
	int			 release_tries;
	void			(*done)(void *);
	void			*done_arg;
};

static void attempt(struct k8s_leader *);
static void start_get(struct k8s_leader *);

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t
le_rand(void)
{
#ifdef HAVE_ARC4RANDOM
	return arc4random();
#else
	uint32_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	return (uint32_t)random() ^ ((uint32_t)random() << 16);
#endif
}

static void __attribute__((format(printf, 2, 3)))
report(struct k8s_leader *l, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (l->o.on_error == NULL)
		return;
	n = snprintf(buf, sizeof(buf), "lease %s/%s: ", l->ns, l->name);
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	l->o.on_error(l->o.arg, buf);
}

/* "HTTP 500", "timeout", "Connection refused, HTTP 0" */
static void
report_fail(struct k8s_leader *l, const char *what, long status,
    const char *error)
{
	if (error != NULL)
		report(l, "%s: %s", what, error);
	else if (status == 409)
		report(l, "%s: HTTP 409 Conflict (the Lease changed since it was read)", what);
	else
		report(l, "%s: HTTP %ld", what, status);
}

static void
timer_in(struct event *ev, int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	evtimer_add(ev, &tv);
}

/* The wait before the next attempt: the retry period while we lead
 * (renewals), jittered while we try to acquire. */
static void
schedule_next(struct k8s_leader *l)
{
	if (l->released)
		return;
	timer_in(l->timer, l->leading ? (int64_t)l->retry_ms :
	    (int64_t)k8s_le_jitter_ms(l->retry_ms, le_rand()));
}

static void
note_holder(struct k8s_leader *l)
{
	const char *h = l->st.have ? holder_of(&l->st.observed) : NULL;

	if (str_eq(h, l->holder))
		return;
	free(l->holder);
	l->holder = xstrdup(h);
	if (l->o.on_new_leader != NULL)
		l->o.on_new_leader(l->o.arg, l->holder);
}

static void
stop_leading(struct k8s_leader *l)
{
	if (!l->leading)
		return;
	l->leading = false;
	evtimer_del(l->deadline);
	l->o.on_stopped(l->o.arg);
}

static bool
observed_ours(const struct k8s_leader *l)
{
	return l->st.have && str_eq(holder_of(&l->st.observed), l->identity);
}

static void
cancel_req(struct k8s_leader *l)
{
	if (l->req != NULL)
		k8s_http_cancel(l->req);
	l->req = NULL;
	l->op = OP_NONE;
}

/* Response bodies, bounded. */
static int
body_data(void *arg, const char *data, size_t len)
{
	struct k8s_leader *l = arg;
	size_t ncap;
	char *nb;

	if (l->body_len + len + 1 > l->body_cap) {
		if (l->body_len + len + 1 > BODY_MAX) {
			l->body_over = true;
			return -1;
		}
		ncap = l->body_cap ? l->body_cap : 4096;
		while (ncap < l->body_len + len + 1)
			ncap *= 2;
		if ((nb = realloc(l->body, ncap)) == NULL) {
			l->body_over = true;
			return -1;
		}
		l->body = nb;
		l->body_cap = ncap;
	}
	memcpy(l->body + l->body_len, data, len);
	l->body_len += len;
	l->body[l->body_len] = '\0';
	return 0;
}

static void
set_raw(struct k8s_leader *l, struct json_object *o)
{
	json_object_put(l->raw);
	l->raw = o;
}

/* The Lease in the response body, which becomes l->raw; 0, or -1
 * (reported). */
static int
parse_body(struct k8s_leader *l, const char *what, struct k8s_lease *out)
{
	struct json_object *root;
	enum json_tokener_error jerr;
	char err[256];
	int r;

	memset(out, 0, sizeof(*out));
	if (l->body_over) {
		report(l, "%s: response too large", what);
		return -1;
	}
	root = json_tokener_parse_verbose(l->body ? l->body : "", &jerr);
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		report(l, "%s: not a JSON object (%s)", what,
		    root == NULL ? json_tokener_error_desc(jerr) : "wrong type");
		json_object_put(root);
		return -1;
	}
	r = k8s_lease_from_json(root, out, err, sizeof(err));
	if (r == -1) {
		report(l, "%s: %s", what, err);
		goto fail;
	}
	if (out->resource_version == NULL || *out->resource_version == '\0') {
		report(l, "%s: metadata.resourceVersion: missing", what);
		goto fail;
	}
	set_raw(l, root);
	return 0;
fail:
	json_object_put(root);
	k8s_lease_free(out);
	return -1;
}

/*
 * The body of a PUT: as client-go's LeaseLock does, the Lease as last read
 * with the record's fields set in its spec, so that what others keep in it
 * (labels, annotations, owner references, spec fields we do not know) is
 * not wiped by our writes.  A POST, or anything failing here: the record
 * alone.
 */
static char *
lease_body(struct k8s_leader *l, const struct k8s_lease_spec *spec)
{
	static const char *const keys[] = { "holderIdentity",
	    "leaseDurationSeconds", "acquireTime", "renewTime",
	    "leaseTransitions" };
	struct json_object *rec = NULL, *copy = NULL, *rspec, *cspec, *meta, *v;
	char *s, *out = NULL;
	size_t i;

	if ((s = k8s_lease_json(spec)) == NULL || spec->resource_version == NULL ||
	    l->raw == NULL)
		return s;
	if ((rec = json_tokener_parse(s)) == NULL ||
	    !json_object_object_get_ex(rec, "spec", &rspec) ||
	    json_object_deep_copy(l->raw, &copy, NULL) != 0 ||
	    !json_object_is_type(copy, json_type_object) ||
	    !json_object_object_get_ex(copy, "metadata", &meta) ||
	    !json_object_is_type(meta, json_type_object))
		goto done;
	if (!json_object_object_get_ex(copy, "spec", &cspec) ||
	    !json_object_is_type(cspec, json_type_object)) {
		json_object_object_add(copy, "spec", json_object_get(rspec));
	} else {
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (json_object_object_get_ex(rspec, keys[i], &v))
				json_object_object_add(cspec, keys[i],
				    json_object_get(v));
	}
	json_object_object_add(meta, "resourceVersion",
	    json_object_new_string(spec->resource_version));
	out = xstrdup(json_object_to_json_string_ext(copy,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
done:
	json_object_put(rec);
	json_object_put(copy);
	if (out == NULL)
		return s;
	free(s);
	return out;
}

static int
send_req(struct k8s_leader *l, enum le_op op, enum k8s_method m,
    const char *path, const char *body,
    void (*done)(void *, long, const char *, long))
{
	struct k8s_req_opts ro;

	memset(&ro, 0, sizeof(ro));
	ro.method = m;
	ro.path = path;
	ro.body = body;
	ro.content_type = body != NULL ? "application/json" : NULL;
	ro.timeout_ms = l->timeout_ms;
	ro.on_data = body_data;
	ro.on_done = done;
	ro.arg = l;
	l->body_len = 0;
	l->body_over = false;
	l->op = op;
	l->sent_ms = mono_ms();
	if ((l->req = k8s_http_request(l->http, &ro)) == NULL) {
		l->op = OP_NONE;
		return -1;
	}
	return 0;
}

/* Release. */

static void
release_finish(struct k8s_leader *l)
{
	void (*done)(void *) = l->done;
	void *arg = l->done_arg;

	l->done = NULL;
	l->op = OP_NONE;
	/* Last: done may free the elector. */
	if (done != NULL)
		done(arg);
}

static void release_put(struct k8s_leader *, const struct k8s_lease *);

static void
release_get_done(void *arg, long status, const char *error, long retry_after_s)
{
	struct k8s_leader *l = arg;
	struct k8s_lease cur;

	l->req = NULL;
	if (status != 200 || error != NULL) {
		report_fail(l, "release: GET", status, error);
		release_finish(l);
		return;
	}
	if (parse_body(l, "release: GET", &cur) == -1) {
		release_finish(l);
		return;
	}
	if (!str_eq(holder_of(&cur), l->identity)) {
		/* Someone else has it already: nothing of ours to release. */
		k8s_lease_free(&cur);
		release_finish(l);
		return;
	}
	release_put(l, &cur);
	k8s_lease_free(&cur);
}

static void
release_done(void *arg, long status, const char *error, long retry_after_s)
{
	struct k8s_leader *l = arg;

	l->req = NULL;
	if (error == NULL && status == 200) {
		release_finish(l);
		return;
	}
	report_fail(l, "release: PUT", status, error);
	/* A renewal we cancelled may have gone through: re-read, retry. */
	if (error == NULL && status == 409 && l->release_tries < RELEASE_TRIES &&
	    send_req(l, OP_RELEASE_GET, K8S_GET, l->path, NULL,
	    release_get_done) == 0)
		return;
	release_finish(l);
}

static void
release_put(struct k8s_leader *l, const struct k8s_lease *cur)
{
	struct k8s_lease_spec spec;
	struct timespec now;
	char *body;
	int r;

	l->release_tries++;
	clock_gettime(CLOCK_REALTIME, &now);
	k8s_le_release_spec(cur, l->ns, l->name, &now, &spec);
	if ((body = lease_body(l, &spec)) == NULL) {
		report(l, "release: out of memory");
		release_finish(l);
		return;
	}
	r = send_req(l, OP_RELEASE, K8S_PUT, l->path, body, release_done);
	free(body);
	if (r == -1) {
		report(l, "release: cannot start a request");
		release_finish(l);
	}
}

void
k8s_leader_release(struct k8s_leader *l, void (*done)(void *), void *arg)
{
	bool ours;

	if (l == NULL || l->released) {
		if (done != NULL)
			done(arg);
		return;
	}
	l->released = true;
	cancel_req(l);
	evtimer_del(l->timer);
	ours = observed_ours(l);
	stop_leading(l);
	if (!ours) {
		if (done != NULL)
			done(arg);
		return;
	}
	l->done = done;
	l->done_arg = arg;
	release_put(l, &l->st.observed);
}

/* Acquire and renew. */

static void
became_leader(struct k8s_leader *l, int64_t now)
{
	int64_t dl = k8s_le_deadline_ms(l->sent_ms, l->renew_ms);

	if (dl <= now) {
		/* The answer came too late to count as a renewal. */
		report(l, "write answered after the renew deadline");
		stop_leading(l);
		return;
	}
	l->renewed_ms = l->sent_ms;
	timer_in(l->deadline, dl - now);
	if (!l->leading) {
		l->leading = true;
		l->o.on_started(l->o.arg);
	}
}

static void
write_done(void *arg, long status, const char *error, long retry_after_s)
{
	struct k8s_leader *l = arg;
	const char *what = l->fast ? "renew" : k8s_le_action_name(l->action);
	struct k8s_lease cur;
	int64_t now;

	l->req = NULL;
	l->op = OP_NONE;
	if (error == NULL && (status == 200 || status == 201)) {
		if (parse_body(l, what, &cur) == 0) {
			now = mono_ms();
			k8s_le_observe(&l->st, &cur, now);
			k8s_lease_free(&cur);
			note_holder(l);
			if (observed_ours(l))
				became_leader(l, now);
			else
				stop_leading(l);	/* the server says otherwise */
		}
		schedule_next(l);
		return;
	}
	report_fail(l, what, status, error);
	if (l->fast) {
		/* client-go: "failed to update lock optimistically, falling
		 * back to slow path" -- at once. */
		start_get(l);
		return;
	}
	schedule_next(l);
}

static void
write_lease(struct k8s_leader *l, enum k8s_le_action a,
    const struct k8s_lease *cur, bool fast)
{
	struct k8s_lease_spec spec;
	struct timespec now;
	char *body;
	int r;

	clock_gettime(CLOCK_REALTIME, &now);
	k8s_le_spec(a, cur, l->ns, l->name, l->identity, l->lease_s, &now,
	    &spec);
	if ((body = lease_body(l, &spec)) == NULL) {
		report(l, "%s: out of memory", k8s_le_action_name(a));
		schedule_next(l);
		return;
	}
	l->action = a;
	l->fast = fast;
	if (a == K8S_LE_CREATE)
		r = send_req(l, OP_WRITE, K8S_POST, l->coll, body, write_done);
	else
		r = send_req(l, OP_WRITE, K8S_PUT, l->path, body, write_done);
	free(body);
	if (r == -1) {
		report(l, "%s: cannot start a request", k8s_le_action_name(a));
		schedule_next(l);
	}
}

static void
get_done(void *arg, long status, const char *error, long retry_after_s)
{
	struct k8s_leader *l = arg;
	struct k8s_lease cur, *curp = NULL;
	enum k8s_le_action a;
	int64_t now;

	l->req = NULL;
	l->op = OP_NONE;
	if (error != NULL || (status != 200 && status != 404)) {
		report_fail(l, "GET", status, error);
		schedule_next(l);
		return;
	}
	if (status == 200) {
		if (parse_body(l, "GET", &cur) == -1) {
			schedule_next(l);
			return;
		}
		curp = &cur;
	} else
		set_raw(l, NULL);
	now = mono_ms();
	a = k8s_le_decide(&l->st, curp, l->identity, l->lease_s, now);
	k8s_le_observe(&l->st, curp, now);
	/*
	 * Another holder seen, or the Lease is gone (deleted: anyone may
	 * create it now): we do not lead, whatever we write next.
	 */
	if (!observed_ours(l))
		stop_leading(l);
	note_holder(l);
	if (a == K8S_LE_WAIT)
		schedule_next(l);
	else
		write_lease(l, a, curp, false);
	if (curp != NULL)
		k8s_lease_free(curp);
}

static void
start_get(struct k8s_leader *l)
{
	if (send_req(l, OP_GET, K8S_GET, l->path, NULL, get_done) == -1) {
		report(l, "GET: cannot start a request");
		schedule_next(l);
	}
}

static void
attempt(struct k8s_leader *l)
{
	if (l->released)
		return;
	if (l->leading && observed_ours(l))
		write_lease(l, K8S_LE_RENEW, &l->st.observed, true);
	else
		start_get(l);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	attempt(arg);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct k8s_leader *l = arg;

	if (!l->leading)
		return;
	report(l, "no renewal within the renew deadline (%u ms): stepping down",
	    l->renew_ms);
	/* Whatever is in flight belongs to the old term. */
	cancel_req(l);
	evtimer_del(l->timer);
	stop_leading(l);
	schedule_next(l);
}

/* A DNS label/subdomain-ish name: safe to put in the URL as it is. */
static bool
name_ok(const char *s)
{
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++, n++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '-' || *s == '.'))
			return false;
	}
	return n <= 253;
}

struct k8s_leader *
k8s_leader_new(struct event_base *base, struct k8s_http *http,
    const struct k8s_leader_opts *o)
{
	struct k8s_leader *l;
	unsigned lease_s, renew_ms, retry_ms;
	long t;

	if (base == NULL || http == NULL || o == NULL ||
	    !name_ok(o->namespace) || !name_ok(o->name) ||
	    o->identity == NULL || *o->identity == '\0' ||
	    o->on_started == NULL || o->on_stopped == NULL)
		return NULL;
	lease_s = o->lease_s ? o->lease_s : K8S_LE_LEASE_S;
	renew_ms = o->renew_deadline_ms ? o->renew_deadline_ms :
	    K8S_LE_RENEW_DEADLINE_MS;
	retry_ms = o->retry_ms ? o->retry_ms : K8S_LE_RETRY_MS;
	/* client-go's rule; and leaseDurationSeconds is an int32. */
	if (lease_s > INT32_MAX ||
	    (uint64_t)lease_s * 1000 <= (uint64_t)renew_ms ||
	    (double)renew_ms <= K8S_LE_JITTER * (double)retry_ms)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->base = base;
	l->http = http;
	l->o = *o;
	l->lease_s = lease_s;
	l->renew_ms = renew_ms;
	l->retry_ms = retry_ms;
	/* Half the renew deadline leaves room for another try within it. */
	t = (long)renew_ms / 2;
	if (t > REQ_TIMEOUT_MAX_MS)
		t = REQ_TIMEOUT_MAX_MS;
	if (t < REQ_TIMEOUT_MIN_MS)
		t = REQ_TIMEOUT_MIN_MS;
	l->timeout_ms = t;
	l->ns = xstrdup(o->namespace);
	l->name = xstrdup(o->name);
	l->identity = xstrdup(o->identity);
	l->coll = xasprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases",
	    l->ns);
	l->path = xasprintf("%s/%s", l->coll, l->name);
	if ((l->timer = evtimer_new(base, timer_cb, l)) == NULL ||
	    (l->deadline = evtimer_new(base, deadline_cb, l)) == NULL)
		goto fail;
	l->o.namespace = l->ns;
	l->o.name = l->name;
	l->o.identity = l->identity;
	attempt(l);
	return l;
fail:
	k8s_leader_free(l);
	return NULL;
}

bool
k8s_leader_leading(const struct k8s_leader *l)
{
	return l != NULL && l->leading;
}

const char *
k8s_leader_holder(const struct k8s_leader *l)
{
	return l != NULL ? l->holder : NULL;
}

void
k8s_leader_free(struct k8s_leader *l)
{
	if (l == NULL)
		return;
	if (l->req != NULL)
		k8s_http_cancel(l->req);
	if (l->timer != NULL)
		event_free(l->timer);
	if (l->deadline != NULL)
		event_free(l->deadline);
	k8s_le_state_clear(&l->st);
	json_object_put(l->raw);
	free(l->holder);
	free(l->body);
	free(l->ns);
	free(l->name);
	free(l->identity);
	free(l->coll);
	free(l->path);
	free(l);
}
