/*
 * k8s_events.c - the Event recorder (see k8s_events.h).
 *
 * One entry per distinct event (involved object, type, reason, message),
 * found through an hmap on a 128-bit hash of that key (the full key is
 * compared too) and kept on an LRU list.  An entry owns at most one write at
 * a time: a POST while it has no Event yet, else a PATCH of the count.
 * Records that arrive meanwhile only add to `pending`, and one PATCH after
 * the write carries them all.  Entries needing a write wait on a FIFO; at
 * most max_inflight writes run.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>

#include "bgplb/hmap.h"
#include "bgplb/util.h"
#include "k8s_events.h"
#include "k8s_objects.h"

#define REQ_TIMEOUT_MS	10000
#define CACHE_MAX	4096		/* distinct events remembered */
#define NAME_MAX_LEN	253

struct rec_entry {
	uint64_t		 hkey[2];
	char			*key;		/* the full identity, for collisions */
	char			*kind, *api_version, *namespace, *name, *uid, *rv;
	char			*reason, *message;
	bool			 warning;
	char			*event_name;	/* the Event written; NULL: none yet */
	int			 count;		/* the count the server has */
	int			 pending;	/* records not yet written */
	int			 sending;	/* in the write in flight */
	struct timespec		 first, last;
	int64_t			 first_ms;	/* monotonic: when the Event began */
	bool			 queued, retried, in_flight;
	struct k8s_req		*req;
	struct event		*retry_ev;
	struct k8s_recorder	*rec;
	TAILQ_ENTRY(rec_entry)	 lru;		/* oldest first */
	TAILQ_ENTRY(rec_entry)	 q;
};
TAILQ_HEAD(rec_list, rec_entry);

struct k8s_recorder {
	struct event_base	*base;
	struct k8s_http		*http;
	char			*host;
	unsigned		 max_inflight, max_queue, aggregate_s;
	void			(*on_error)(void *, const char *);
	void			*arg;
	struct hmap		*map;
	struct rec_list		 lru, queue;
	size_t			 nqueued, ninflight, nretrying, nentries;
	bool			 drop_reported;
	struct k8s_recorder_stats st;
};

static void	dispatch(struct k8s_recorder *);

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
report(struct k8s_recorder *r, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (r->on_error == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->on_error(r->arg, buf);
}

/* The identity of an event: the fields client-go's EventCorrelator keys on
 * (less source and component, which are ours and fixed). */
char *
k8s_event_key(const struct k8s_object_ref *ref, bool warning,
    const char *reason, const char *message)
{
	char *s;

	if (asprintf(&s, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s",
	    ref->kind ? ref->kind : "", ref->api_version ? ref->api_version :
	    "v1", ref->namespace ? ref->namespace : "", ref->name ? ref->name :
	    "", warning ? "Warning" : "Normal", reason ? reason : "",
	    message ? message : "") == -1)
		return NULL;
	return s;
}

/* The Event's metadata.name, as k8s_event_json() makes it. */
void
k8s_event_name(const char *object_name, const struct timespec *first,
    char *buf, size_t len)
{
	unsigned long long ns = (unsigned long long)first->tv_sec *
	    1000000000ull + (unsigned long long)first->tv_nsec;

	snprintf(buf, len, "%.250s.%llx", object_name ? object_name : "", ns);
}

bool
k8s_event_aggregates(int64_t first_ms, int64_t now_ms, unsigned aggregate_s,
    bool has_event)
{
	return has_event && now_ms - first_ms < (int64_t)aggregate_s * 1000;
}

static void
entry_free(struct rec_entry *e)
{
	if (e == NULL)
		return;
	if (e->req != NULL)
		k8s_http_cancel(e->req);
	if (e->retry_ev != NULL)
		event_free(e->retry_ev);
	free(e->key);
	free(e->kind);
	free(e->api_version);
	free(e->namespace);
	free(e->name);
	free(e->uid);
	free(e->rv);
	free(e->reason);
	free(e->message);
	free(e->event_name);
	free(e);
}

static bool
entry_busy(const struct rec_entry *e)
{
	return e->queued || e->in_flight || e->retry_ev != NULL;
}

static void
entry_remove(struct k8s_recorder *r, struct rec_entry *e)
{
	if (e->queued) {
		TAILQ_REMOVE(&r->queue, e, q);
		e->queued = false;
		r->nqueued--;
	}
	if (e->in_flight)
		r->ninflight--;
	if (e->retry_ev != NULL)
		r->nretrying--;
	if (hmap_get(r->map, e->hkey) == e)
		hmap_del(r->map, e->hkey);
	TAILQ_REMOVE(&r->lru, e, lru);
	r->nentries--;
	entry_free(e);
}

static void
enqueue(struct k8s_recorder *r, struct rec_entry *e)
{
	if (e->queued || e->in_flight || e->retry_ev != NULL)
		return;
	/* A full queue loses its oldest write. */
	while (r->nqueued >= r->max_queue && !TAILQ_EMPTY(&r->queue)) {
		struct rec_entry *old = TAILQ_FIRST(&r->queue);

		r->st.dropped += (uint64_t)old->pending;
		if (!r->drop_reported) {
			report(r, "events: queue full (%u): dropping the oldest "
			    "(%s %s/%s: %s)", r->max_queue, old->kind,
			    old->namespace, old->name, old->reason);
			r->drop_reported = true;
		}
		old->pending = 0;
		TAILQ_REMOVE(&r->queue, old, q);
		old->queued = false;
		r->nqueued--;
		if (old->event_name == NULL)
			entry_remove(r, old);
	}
	TAILQ_INSERT_TAIL(&r->queue, e, q);
	e->queued = true;
	r->nqueued++;
}

/* Forget the oldest idle entries beyond the cache size, and those whose
 * aggregation window has passed. */
static void
trim(struct k8s_recorder *r, int64_t now_ms)
{
	struct rec_entry *e, *next;

	for (e = TAILQ_FIRST(&r->lru); e != NULL; e = next) {
		next = TAILQ_NEXT(e, lru);
		if (entry_busy(e))
			continue;
		if (r->nentries > CACHE_MAX ||
		    now_ms - e->first_ms >= (int64_t)r->aggregate_s * 1000)
			entry_remove(r, e);
		else if (r->nentries <= CACHE_MAX)
			break;		/* LRU order: the rest are younger */
	}
}

static void	write_done(void *, long, const char *, long);

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rec_entry *e = arg;
	struct k8s_recorder *r = e->rec;

	(void)fd;
	(void)what;
	event_free(e->retry_ev);
	e->retry_ev = NULL;
	r->nretrying--;
	enqueue(r, e);
	dispatch(r);
}

static bool
start_write(struct k8s_recorder *r, struct rec_entry *e)
{
	struct k8s_req_opts ro;
	char path[700], *body = NULL;

	memset(&ro, 0, sizeof(ro));
	ro.timeout_ms = REQ_TIMEOUT_MS;
	ro.on_done = write_done;
	ro.arg = e;
	e->sending = e->pending;
	e->pending = 0;
	if (e->event_name == NULL) {
		struct k8s_event_spec sp;

		memset(&sp, 0, sizeof(sp));
		sp.kind = e->kind;
		sp.api_version = e->api_version;
		sp.namespace = e->namespace;
		sp.name = e->name;
		sp.uid = e->uid;
		sp.resource_version = e->rv;
		sp.reason = e->reason;
		sp.message = e->message;
		sp.warning = e->warning;
		sp.host = r->host;
		sp.count = e->sending;
		sp.first = e->first;
		sp.last = e->last;
		body = k8s_event_json(&sp);
		ro.method = K8S_POST;
		snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events",
		    e->namespace);
		ro.content_type = "application/json";
	} else {
		char t[32];

		k8s_format_time(e->last.tv_sec, t, sizeof(t));
		if (asprintf(&body, "{\"count\":%d,\"lastTimestamp\":\"%s\"}",
		    e->count + e->sending, t) == -1)
			body = NULL;
		ro.method = K8S_PATCH;
		snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events/%s",
		    e->namespace, e->event_name);
		ro.content_type = "application/merge-patch+json";
	}
	ro.path = path;
	ro.body = body;
	if (body == NULL || (e->req = k8s_http_request(r->http, &ro)) == NULL) {
		free(body);
		r->st.failed++;
		report(r, "events: cannot start a request for %s %s/%s",
		    e->kind, e->namespace, e->name);
		e->sending = 0;
		return false;
	}
	free(body);
	e->in_flight = true;
	r->ninflight++;
	return true;
}

static void
dispatch(struct k8s_recorder *r)
{
	struct rec_entry *e;

	while (r->ninflight < r->max_inflight &&
	    (e = TAILQ_FIRST(&r->queue)) != NULL) {
		TAILQ_REMOVE(&r->queue, e, q);
		e->queued = false;
		r->nqueued--;
		if (e->pending <= 0)
			continue;
		if (!start_write(r, e) && e->event_name == NULL)
			entry_remove(r, e);
	}
	/* A burst is over once the queue is back to half (empty, for a queue
	 * of one). */
	if (r->nqueued <= r->max_queue / 2)
		r->drop_reported = false;
}

static void
write_done(void *arg, long status, const char *error, long retry_after_s)
{
	struct rec_entry *e = arg;
	struct k8s_recorder *r = e->rec;
	bool was_post = e->event_name == NULL;
	bool transient = status == 0 || status == 429 || status >= 500;

	e->req = NULL;
	e->in_flight = false;
	r->ninflight--;
	if (status >= 200 && status < 300) {
		if (was_post) {
			char nm[NAME_MAX_LEN + 40];

			k8s_event_name(e->name, &e->first, nm, sizeof(nm));
			e->event_name = xstrdup(nm);
			e->count = e->sending;
			r->st.posted++;
		} else {
			e->count += e->sending;
			r->st.patched++;
		}
		e->sending = 0;
		e->retried = false;
	} else if (!was_post && status == 404) {
		/* The Event expired or was deleted: a new one, from now. */
		free(e->event_name);
		e->event_name = NULL;
		e->pending += e->sending;
		e->count = 0;
		e->sending = 0;
		clock_gettime(CLOCK_REALTIME, &e->first);
		e->last = e->first;	/* never before firstTimestamp */
		e->first_ms = mono_ms();
	} else if (was_post && status == 409) {
		/* It exists: a POST whose answer we lost.  Count on from it. */
		char nm[NAME_MAX_LEN + 40];

		k8s_event_name(e->name, &e->first, nm, sizeof(nm));
		e->event_name = xstrdup(nm);
		e->count = e->sending;
		e->sending = 0;
		r->st.posted++;
	} else if (transient && !e->retried &&
	    r->nqueued + r->nretrying < r->max_queue) {
		/* Waiting for a retry is being queued: it counts against
		 * max_queue, or a 429 storm with a long Retry-After would
		 * hold an unbounded number of entries. */
		struct timeval tv;

		e->retried = true;
		e->pending += e->sending;
		e->sending = 0;
		tv.tv_sec = retry_after_s > 0 ? (retry_after_s > 60 ? 60 :
		    retry_after_s) : 1;
		tv.tv_usec = 0;
		if ((e->retry_ev = evtimer_new(r->base, retry_cb, e)) != NULL) {
			r->nretrying++;
			evtimer_add(e->retry_ev, &tv);
		} else
			enqueue(r, e);
		dispatch(r);
		return;
	} else {
		r->st.failed++;
		report(r, "events: %s %s/%s %s: HTTP %ld%s%s%s", was_post ?
		    "POST" : "PATCH", e->namespace, e->name, e->reason, status,
		    error && *error ? ": " : "", error ? error : "",
		    transient && !e->retried ? " (not retried: queue full)" :
		    "");
		e->sending = 0;
		e->retried = false;
		if (was_post && e->pending == 0) {
			entry_remove(r, e);
			dispatch(r);
			return;
		}
	}
	if (e->pending > 0)
		enqueue(r, e);
	dispatch(r);
}

struct k8s_recorder *
k8s_recorder_new(struct event_base *base, struct k8s_http *http,
    const struct k8s_recorder_opts *o)
{
	struct k8s_recorder *r;

	if (base == NULL || http == NULL || o == NULL || o->host == NULL ||
	    *o->host == '\0')
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->base = base;
	r->http = http;
	r->max_inflight = o->max_inflight ? o->max_inflight : 4;
	r->max_queue = o->max_queue ? o->max_queue : 1000;
	r->aggregate_s = o->aggregate_s ? o->aggregate_s : 600;
	r->on_error = o->on_error;
	r->arg = o->arg;
	TAILQ_INIT(&r->lru);
	TAILQ_INIT(&r->queue);
	r->host = xstrdup(o->host);
	r->map = hmap_new(sizeof(uint64_t) * 2);
	return r;
}

void
k8s_recorder_free(struct k8s_recorder *r)
{
	struct rec_entry *e;

	if (r == NULL)
		return;
	while ((e = TAILQ_FIRST(&r->lru)) != NULL) {
		TAILQ_REMOVE(&r->lru, e, lru);
		entry_free(e);
	}
	hmap_free(r->map);
	free(r->host);
	free(r);
}

static struct rec_entry *
entry_new(struct k8s_recorder *r, const struct k8s_object_ref *ref,
    bool warning, const char *reason, const char *message, char *key,
    const uint64_t hk[2])
{
	struct rec_entry *e;

	e = xcalloc(1, sizeof(*e));
	e->rec = r;
	e->key = key;
	memcpy(e->hkey, hk, sizeof(e->hkey));
	e->kind = xstrdup(ref->kind);
	e->api_version = xstrdup(ref->api_version);
	e->namespace = xstrdup(ref->namespace);
	e->name = xstrdup(ref->name);
	e->uid = xstrdup(ref->uid);
	e->rv = xstrdup(ref->resource_version);
	e->reason = xstrdup(reason);
	e->message = xstrdup(message);
	e->warning = warning;
	if (e->kind == NULL || e->namespace == NULL || e->name == NULL ||
	    e->reason == NULL || e->message == NULL) {
		e->key = NULL;
		entry_free(e);
		return NULL;
	}
	return e;
}

void
k8s_record(struct k8s_recorder *r, const struct k8s_object_ref *ref,
    bool warning, const char *reason, const char *fmt, ...)
{
	struct rec_entry *e;
	struct timespec now;
	uint64_t hk[2];
	int64_t now_ms;
	char *msg = NULL, *key;
	va_list ap;
	size_t klen;

	if (r == NULL || ref == NULL || ref->kind == NULL ||
	    ref->namespace == NULL || ref->name == NULL || reason == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	/* The API server's limit on a message (1 KiB in practice), cut on a
	 * UTF-8 character boundary. */
	if (strlen(msg) > 1024) {
		size_t n = 1024;

		while (n > 0 && ((unsigned char)msg[n] & 0xc0) == 0x80)
			n--;
		msg[n] = '\0';
	}
	if ((key = k8s_event_key(ref, warning, reason, msg)) == NULL) {
		free(msg);
		return;
	}
	klen = strlen(key);
	hk[0] = hmap_hash(key, klen);
	hk[1] = hmap_hash(key, klen / 2) ^ (hk[0] * 0x9e3779b97f4a7c15ull);
	clock_gettime(CLOCK_REALTIME, &now);
	now_ms = mono_ms();
	trim(r, now_ms);
	e = hmap_get(r->map, hk);
	if (e != NULL && strcmp(e->key, key) != 0) {
		/* A hash collision: the newer event takes the slot. */
		hmap_del(r->map, hk);
		e = NULL;
	}
	if (e != NULL && (k8s_event_aggregates(e->first_ms, now_ms,
	    r->aggregate_s, e->event_name != NULL) || entry_busy(e))) {
		/* The same event again: one more on its count. */
		free(key);
		free(msg);
		e->pending++;
		e->last = now;
		r->st.aggregated++;
		TAILQ_REMOVE(&r->lru, e, lru);
		TAILQ_INSERT_TAIL(&r->lru, e, lru);
		enqueue(r, e);
		dispatch(r);
		return;
	}
	if (e != NULL)
		entry_remove(r, e);
	if ((e = entry_new(r, ref, warning, reason, msg, key, hk)) == NULL) {
		free(key);
		free(msg);
		r->st.failed++;
		return;
	}
	free(msg);
	e->first = e->last = now;
	e->first_ms = now_ms;
	e->pending = 1;
	hmap_put(r->map, e->hkey, e);
	TAILQ_INSERT_TAIL(&r->lru, e, lru);
	r->nentries++;
	enqueue(r, e);
	dispatch(r);
}

void
k8s_recorder_get_stats(const struct k8s_recorder *r,
    struct k8s_recorder_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (r == NULL)
		return;
	*st = r->st;
	st->queued = r->nqueued + r->ninflight + r->nretrying;
}
