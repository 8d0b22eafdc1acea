/*
 * k8s_duties.c - Kubernetes mode: the leader's duties.  Only the node that
 * holds the Lease assigns addresses; this file turns a replan's decisions
 * into Service status writes and Events.
 *
 *   decide:  lead() queues a write for every Service whose status should
 *            change and posts AllocationFailed Events (once per message);
 *            lead_without_config() explains why nothing is assigned;
 *            clear_unbalanced() takes our addresses back from Services
 *            that are no longer of type LoadBalancer
 *   write:   a queue of at most MAX_WRITES in flight: PATCH
 *            services/NAME/status (merge patch, with the object's
 *            resourceVersion as precondition), which also sets the
 *            ip-allocated-from-pool annotations (ours and MetalLB's) to
 *            the pool of the addresses; a Service whose annotations are
 *            stale (the config moved its addresses to another pool, or
 *            it was allocated before they existed) gets a write of them
 *            alone; 409 -> GET and decide again; 5xx, 429 and transport
 *            errors back off and retry; a refusal (another 4xx: 403 while
 *            RBAC propagates, a webhook's 400/422) is also retried with
 *            the same capped backoff, and a StatusWriteRefused Warning
 *            Event says what was refused (once per distinct message)
 *   drop:    on losing the lead, every queued or running write goes
 *
 * It owns struct svc_write and the leader-side fields of a Service entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "bgplb/alloc.h"
#include "bgplb/log.h"
#include "bgplb/reconcile.h"
#include "k8s_source_priv.h"

#define MAX_WRITES	16		/* status writes in flight */
#define WRITE_TIMEOUT_MS 15000
#define WRITE_BACKOFF_MS 1000
#define WRITE_BACKOFF_MAX_MS 30000
#define WRITE_BODY_MAX	(4u * 1024 * 1024)

static void	pump(struct daemon_k8s *);

static void
addrs_text(const struct addr *a, size_t n, char *out, size_t len)
{
	char b[ADDR_STRLEN];

	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s\"%s\"",
		    i ? "," : "", addr_ntop(&a[i], b, sizeof(b)));
}

static void
queue_write(struct daemon_k8s *k, struct svc_ent *e,
    const struct rc_result *r, const char *pool, bool ann_only)
{
	struct svc_write *w = e->w;

	if (w != NULL && w->inflight)
		return;		/* decided again once it is done */
	if (w == NULL) {
		w = xcalloc(1, sizeof(*w));
		w->k = k;
		w->key = xstrdup(e->s.key);
		LIST_INSERT_HEAD(&k->writes, w, all);
		e->w = w;
	}
	memcpy(w->addrs, r->want.addrs, sizeof(w->addrs));
	w->naddrs = r->want.naddrs;
	w->cleared = r->cleared;
	w->ann_only = ann_only;
	ks_set_str(&w->pool, w->naddrs > 0 ? pool : NULL);
	if (r->cleared) {
		char held[128], msg[512];

		addrs_text(e->svc.ingress, e->svc.ningress, held, sizeof(held));
		snprintf(msg, sizeof(msg), "current IP [%s] %s: %s", held,
		    e->svc.is_load_balancer ? "is no longer allowed" :
		    "released", r->clear_why);
		ks_set_str(&w->clear_why, msg);
	} else
		ks_set_str(&w->clear_why, NULL);
	e->has_pending = true;
	memcpy(e->pending, r->want.addrs, sizeof(e->pending));
	e->npending = r->want.naddrs;
	if (!w->queued && w->retry == NULL) {
		w->queued = true;
		TAILQ_INSERT_TAIL(&k->wq, w, q);
	}
}

/*
 * A Service that is no longer of type LoadBalancer but still carries one of
 * our addresses in its status: the leader takes it back (the address is
 * already free for others: only handled Services hold addresses).
 */
void
ks_clear_unbalanced(struct daemon_k8s *k, const struct alloc *alloc,
    struct svc_ent **ents, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct svc_ent *e = ents[i];
		struct rc_result r;
		bool ours = false;

		for (size_t j = 0; j < e->svc.ningress && !ours; j++)
			ours = alloc != NULL &&
			    alloc_pool_of(alloc, &e->svc.ingress[j]) != NULL;
		if (!ours || (e->w != NULL && e->w->naddrs == 0))
			continue;
		memset(&r, 0, sizeof(r));
		r.write = true;
		r.cleared = true;
		snprintf(r.clear_why, sizeof(r.clear_why), "the service is no "
		    "longer of type LoadBalancer");
		queue_write(k, e, &r, NULL, false);
	}
}

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL &&
	    strcmp(a, b) == 0);
}

/* The pool the leader's addresses for a Service come from, or NULL. */
static const char *
want_pool(const struct alloc *alloc, const struct rc_result *r)
{
	if (r->want.naddrs == 0)
		return NULL;
	if (r->want.pool != NULL)
		return r->want.pool;
	return alloc != NULL ? alloc_pool_of(alloc, &r->want.addrs[0]) : NULL;
}

/*
 * Status is right but the annotations are not what they would be (the
 * config moved the addresses to another pool; allocated before the
 * annotations were written; cleared by hand): write them alone.  Not
 * when the server dropped them last time (a loop otherwise).
 */
static bool
annotations_stale(const struct svc_ent *e, const char *pool)
{
	if (e->err != NULL || e->ann_lost || !e->svc.ingress_valid)
		return false;
	return !same_str(e->svc.allocated_from, pool) ||
	    !same_str(e->svc.allocated_from_metallb, pool);
}

/* The leader's part of a replan: writes and the Events of failures. */
void
ks_lead(struct daemon_k8s *k, const struct alloc *alloc,
    struct svc_ent **ents, const struct rc_result *res, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct svc_ent *e = ents[i];
		const struct rc_result *r = &res[i];
		char msg[1024], held[128];

		if (e->err != NULL) {
			snprintf(msg, sizeof(msg), "Failed to allocate IP for "
			    "\"%s\": %s", e->s.key, e->err);
		} else if (r->err != ALLOC_OK) {
			addrs_text(r->want.addrs, r->want.naddrs, held,
			    sizeof(held));
			snprintf(msg, sizeof(msg), "Failed to allocate IP for "
			    "\"%s\": %s%s%s", e->s.key, r->why,
			    r->kept ? "; keeping " : "", r->kept ? held : "");
		} else
			msg[0] = '\0';
		if (msg[0] != '\0' && (e->fail_msg == NULL ||
		    strcmp(e->fail_msg, msg) != 0)) {
			log_warn(MOD, "%s", msg);
			ks_svc_record(k, e, true, "AllocationFailed", msg);
			ks_set_str(&e->fail_msg, msg);
		} else if (msg[0] == '\0' && e->fail_msg != NULL)
			ks_set_str(&e->fail_msg, NULL);
		if (r->write)
			queue_write(k, e, r, want_pool(alloc, r), false);
		else if (e->w == NULL || !e->w->inflight) {
			const char *pool = want_pool(alloc, r);

			if (e->svc.ningress == r->want.naddrs &&
			    annotations_stale(e, pool))
				/* Keeps a waiting write (and its backoff). */
				queue_write(k, e, r, pool, true);
			else if (e->w != NULL) {
				/* Decided again: nothing to write after all. */
				ks_write_free(e->w);
				e->has_pending = false;
			}
		}
	}
	pump(k);
}

/* Without a config the leader can only say why nothing happens. */
void
ks_lead_without_config(struct daemon_k8s *k, struct svc_ent **ents, size_t n)
{
	char msg[1024];

	for (size_t i = 0; i < n; i++) {
		struct svc_ent *e = ents[i];

		if (e->svc.ningress > 0)
			continue;
		if (k->cm_state == CM_INVALID && k->ncm_errors > 0)
			snprintf(msg, sizeof(msg), "Failed to allocate IP for "
			    "\"%s\": no configuration: ConfigMap %s/%s is not "
			    "valid: %s", e->s.key, k->cm_ns, k->cm_name,
			    k->cm_errors[0]);
		else
			snprintf(msg, sizeof(msg), "Failed to allocate IP for "
			    "\"%s\": no configuration: ConfigMap %s/%s (data."
			    "config) does not exist", e->s.key, k->cm_ns,
			    k->cm_name);
		if (e->fail_msg == NULL || strcmp(e->fail_msg, msg) != 0) {
			ks_svc_record(k, e, true, "AllocationFailed", msg);
			ks_set_str(&e->fail_msg, msg);
		}
	}
}
/* ---- status writes ------------------------------------------------------ */

void
ks_write_free(struct svc_write *w)
{
	struct daemon_k8s *k = w->k;
	struct svc_ent *e = ks_svc_get(k, w->key);

	if (e != NULL && e->w == w)
		e->w = NULL;
	if (w->queued)
		TAILQ_REMOVE(&k->wq, w, q);
	LIST_REMOVE(w, all);
	if (w->req != NULL)
		k8s_http_cancel(w->req);
	if (w->inflight)
		k->inflight--;
	if (w->retry != NULL)
		event_free(w->retry);
	if (w->body != NULL)
		evbuffer_free(w->body);
	free(w->clear_why);
	free(w->pool);
	free(w->key);
	free(w);
}

static void
on_write_retry(evutil_socket_t fd, short what, void *arg)
{
	struct svc_write *w = arg;
	struct daemon_k8s *k = w->k;

	event_free(w->retry);
	w->retry = NULL;
	w->queued = true;
	TAILQ_INSERT_TAIL(&k->wq, w, q);
	pump(k);
}

/* Try again later (capped backoff, or Retry-After); returns the delay. */
static uint32_t
write_later(struct svc_write *w, long retry_after_s)
{
	uint32_t ms = WRITE_BACKOFF_MS << (w->attempts < 5 ? w->attempts : 5);
	struct timeval tv;

	if (ms > WRITE_BACKOFF_MAX_MS)
		ms = WRITE_BACKOFF_MAX_MS;
	if (retry_after_s > 0 && (uint32_t)retry_after_s * 1000 > ms)
		ms = (uint32_t)retry_after_s * 1000;
	w->attempts++;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if ((w->retry = evtimer_new(w->k->base, on_write_retry, w)) == NULL)
		fatalx("out of memory");
	evtimer_add(w->retry, &tv);
	return ms;
}

static int
on_write_data(void *arg, const char *data, size_t len)
{
	struct svc_write *w = arg;

	if (evbuffer_get_length(w->body) + len > WRITE_BODY_MAX)
		return -1;
	evbuffer_add(w->body, data, len);
	return 0;
}

static struct json_object *
body_json(struct svc_write *w)
{
	size_t len = evbuffer_get_length(w->body);
	struct json_tokener *t = json_tokener_new();
	struct json_object *o;

	if (t == NULL)
		fatalx("out of memory");
	o = json_tokener_parse_ex(t, (const char *)evbuffer_pullup(w->body, -1),
	    (int)len);
	json_tokener_free(t);
	return o;
}

/* A write succeeded: the refusal is over; did the annotations stick? */
static void
written(struct daemon_k8s *k, struct svc_ent *e, const struct svc_write *w)
{
	ks_set_str(&e->refused_msg, NULL);
	if (!same_str(e->svc.allocated_from, w->pool) ||
	    !same_str(e->svc.allocated_from_metallb, w->pool)) {
		if (!e->ann_lost)
			log_warn(MOD, "service %s: the API server did not keep "
			    "the %s annotation (an admission webhook?): not "
			    "written again on its own", w->key,
			    K8S_ANN_ALLOCATED_FROM_METALLB);
		e->ann_lost = true;
	} else
		e->ann_lost = false;
}

/* A 4xx other than 404 and 409: log, and a Warning Event on the Service. */
static void
refused(struct daemon_k8s *k, struct svc_ent *e, const struct svc_write *w,
    long status, const char *error, uint32_t ms)
{
	char held[128], msg[1024];

	addrs_text(w->addrs, w->naddrs, held, sizeof(held));
	snprintf(msg, sizeof(msg), "Failed to write the status of \"%s\" "
	    "(ingress [%s], pool %s): HTTP %ld%s%s%s; retrying (every %u s "
	    "at most)", w->key, held, w->pool ? w->pool : "-", status,
	    error && *error ? ": " : "", error ? error : "",
	    status == 403 ? "; the ServiceAccount needs patch on "
	    "services/status (see deploy/)" : "", WRITE_BACKOFF_MAX_MS / 1000);
	ks_note_error(k, "%s (next in %u ms)", msg, ms);
	/* Once per distinct message: the retries do not repeat it. */
	if (e->refused_msg == NULL || strcmp(e->refused_msg, msg) != 0) {
		ks_svc_record(k, e, true, "StatusWriteRefused", msg);
		ks_set_str(&e->refused_msg, msg);
	}
}

static void
on_write_done(void *arg, long status, const char *error, long retry_after_s)
{
	struct svc_write *w = arg;
	struct daemon_k8s *k = w->k;
	struct svc_ent *e = ks_svc_get(k, w->key);
	struct json_object *o = NULL;
	char text[128], reason[512] = "";

	w->req = NULL;
	w->inflight = false;
	k->inflight--;
	if (status >= 200 && status < 300 && (o = body_json(w)) == NULL) {
		/* Written, but the answer can't be read: the watch will
		 * bring the Service as it is now. */
		k->writes_ok += !w->get;
		if (e != NULL)
			e->has_pending = false;
		ks_write_free(w);
		k->changed(k);
		pump(k);
		return;
	}
	/* A refusal's reason: the Status object's message. */
	if (status >= 400 && !w->get && (o = body_json(w)) != NULL) {
		struct json_object *m;

		if (json_object_object_get_ex(o, "message", &m) &&
		    json_object_is_type(m, json_type_string))
			snprintf(reason, sizeof(reason), "%s",
			    json_object_get_string(m));
		json_object_put(o);
		o = NULL;
	}
	evbuffer_drain(w->body, evbuffer_get_length(w->body));
	if (w->get) {
		/* After a 409: what the Service is now; decide again. */
		w->get = false;
		if (o != NULL)
			e = ks_svc_update(k, o, false);
		if (e != NULL && e->w == w)
			e->has_pending = false;
		json_object_put(o);
		ks_write_free(w);
		k->changed(k);
		pump(k);
		return;
	}
	if (o != NULL) {
		k->writes_ok++;
		e = ks_svc_update(k, o, false);
		json_object_put(o);
		if (e != NULL) {
			written(k, e, w);
			addrs_text(w->addrs, w->naddrs, text, sizeof(text));
			if (w->ann_only) {
				/* The addresses did not change: no Event. */
			} else if (w->cleared && w->clear_why != NULL) {
				log_info(MOD, "service %s: %s", w->key,
				    w->clear_why);
				ks_svc_record(k, e, false, "ClearAssignment",
				    w->clear_why);
			}
			if (w->ann_only)
				log_info(MOD, "service %s: %s set to \"%s\"",
				    w->key, K8S_ANN_ALLOCATED_FROM_METALLB,
				    w->pool ? w->pool : "(removed)");
			else if (w->naddrs > 0) {
				char msg[256];

				snprintf(msg, sizeof(msg), "Assigned IP [%s]", text);
				log_info(MOD, "service %s: %s", w->key, msg);
				ks_svc_record(k, e, false, "IPAllocated", msg);
			} else
				log_info(MOD, "service %s: addresses cleared",
				    w->key);
			e->has_pending = false;
		}
		ks_write_free(w);
		k->changed(k);
		pump(k);
		return;
	}
	if (status == 409 && e != NULL) {
		char path[1024];
		struct k8s_req_opts ro = { .method = K8S_GET, .path = path,
		    .timeout_ms = WRITE_TIMEOUT_MS, .on_data = on_write_data,
		    .on_done = on_write_done, .arg = w };

		k->writes_conflict++;
		snprintf(path, sizeof(path), "/api/v1/namespaces/%s/services/%s",
		    e->svc.namespace, e->svc.name);
		w->get = true;
		w->inflight = true;
		k->inflight++;
		if ((w->req = k8s_http_request(k->http, &ro)) == NULL) {
			w->inflight = false;
			k->inflight--;
			w->get = false;
			write_later(w, -1);
		}
		return;
	}
	if (status == 404 || e == NULL) {
		if (e != NULL)
			e->has_pending = false;
		ks_write_free(w);
		return;
	}
	k->writes_failed++;
	if (status == 0 || status == 429 || status >= 500) {
		ks_note_error(k, "writing the status of service %s: %s%s%s", w->key,
		    status ? "HTTP " : "", status ? "" : error,
		    status ? (snprintf(text, sizeof(text), "%ld", status),
		    text) : "");
		write_later(w, retry_after_s);
		return;
	}
	/*
	 * 4xx: the server refuses it as it is.  Often for a while only (RBAC
	 * still propagating after an install, an admission webhook not up
	 * yet): retry with the capped backoff, the addresses still held
	 * (pending), and say so on the Service.
	 */
	refused(k, e, w, status, reason[0] != '\0' ? reason : error,
	    write_later(w, retry_after_s));
}

static void
write_start(struct svc_write *w)
{
	struct daemon_k8s *k = w->k;
	struct svc_ent *e = ks_svc_get(k, w->key);
	char path[1024], *body;
	struct k8s_req_opts ro = { .method = K8S_PATCH, .path = path,
	    .content_type = "application/merge-patch+json",
	    .timeout_ms = WRITE_TIMEOUT_MS, .on_data = on_write_data,
	    .on_done = on_write_done, .arg = w };

	if (e == NULL || !k->leading) {
		ks_write_free(w);
		return;
	}
	if (w->body == NULL && (w->body = evbuffer_new()) == NULL)
		fatalx("out of memory");
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/services/%s/status"
	    "?fieldManager=bgplb", e->svc.namespace, e->svc.name);
	if ((body = k8s_status_patch(e->svc.resource_version, w->addrs,
	    w->naddrs, w->pool)) == NULL)
		fatalx("out of memory");
	ro.body = body;
	w->inflight = true;
	k->inflight++;
	w->req = k8s_http_request(k->http, &ro);
	free(body);
	if (w->req == NULL) {
		w->inflight = false;
		k->inflight--;
		write_later(w, -1);
	}
}

static void
pump(struct daemon_k8s *k)
{
	struct svc_write *w;

	while (k->inflight < MAX_WRITES && (w = TAILQ_FIRST(&k->wq)) != NULL) {
		TAILQ_REMOVE(&k->wq, w, q);
		w->queued = false;
		write_start(w);
	}
}

/* Not the leader any more: nothing of ours may be written. */
void
ks_drop_writes(struct daemon_k8s *k)
{
	struct smap_ent **all;
	size_t n = smap_all(&k->svcs, &all);

	for (size_t i = 0; i < n; i++) {
		struct svc_ent *e = (struct svc_ent *)all[i];

		if (e->w != NULL)
			ks_write_free(e->w);
		e->has_pending = false;
		ks_set_str(&e->fail_msg, NULL);
		ks_set_str(&e->refused_msg, NULL);
	}
	free(all);
	/* Writes whose Service went away meanwhile. */
	while (!LIST_EMPTY(&k->writes))
		ks_write_free(LIST_FIRST(&k->writes));
}
