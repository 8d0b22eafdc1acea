/*
 * k8s_store.c - Kubernetes mode's object store: the Services,
 * EndpointSlices and Nodes of the cluster and the one config ConfigMap,
 * parsed, kept by list + watch (a list replaces the store: each page is
 * stored and marked as it arrives, and what a complete list did not mark
 * is swept; an event updates or removes one object) under their
 * namespace/name in a string map (bgplb/smap.h).
 *
 * It owns the entries (struct svc_ent, eps_ent, node_ent, own_ent of
 * k8s_source_priv.h) and the watches' callbacks; every change tells the
 * glue (k->changed: replan soon), and when a Service's request changes
 * the store stamps it (req_changed).  A Service's leader-side fields (pending
 * write, the refusal posted) are k8s_duties.c's; the store only settles them
 * when a newer version of the Service arrives.
 *
 * At the bottom of the four files, it also holds what every part reports
 * through: the last error (status, log) and the Event recorder.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "bgplb/log.h"
#include "bgplb/reconcile.h"
#include "k8s_events.h"
#include "k8s_source_priv.h"
#include "k8s_watch.h"

const char *const ks_watch_names[W__N] = { "services", "endpointslices",
    "nodes", "configmap" };

static void
svc_ent_free(struct svc_ent *e)
{
	if (e == NULL)
		return;
	/* A write of it finds the entry gone and ends (it is keyed by name). */
	e->w = NULL;
	k8s_service_free(&e->svc);
	free(e->err);
	free(e->fail_msg);
	free(e->refused_msg);
	free(e->s.key);
	free(e);
}

void
ks_svc_key(const char *ns, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", ns ? ns : "", name ? name : "");
}

/*
 * Is version `a` older than `b`?  resourceVersions are opaque to clients,
 * but every API server makes them from etcd's revision: when both are
 * numbers, a smaller one is older.  Otherwise nothing is known.
 */
static bool
rv_older(const char *a, const char *b)
{
	char *ea, *eb;
	unsigned long long x, y;

	if (a == NULL || b == NULL || *a == '\0' || *b == '\0')
		return false;
	errno = 0;
	x = strtoull(a, &ea, 10);
	y = strtoull(b, &eb, 10);
	if (errno != 0 || *ea != '\0' || *eb != '\0')
		return false;
	return x < y;
}

/*
 * Did the Service's request (what it asks the allocator for) change?  The
 * leader lets the Service that changed yield when that breaks a sharing
 * (bgplb/reconcile.h); a status write or a relist changes nothing.
 */
static bool
request_changed(const struct k8s_service *a, bool a_bad,
    const struct k8s_service *b, bool b_bad)
{
	struct alloc_request ra, rb;
	char ka[8], kb[8];	/* the name is not compared */

	if (a_bad || b_bad)
		return a_bad != b_bad;
	k8s_service_to_request(a, ka, sizeof(ka), &ra);
	k8s_service_to_request(b, kb, sizeof(kb), &rb);
	return !rc_same_request(&ra, &rb);
}

/*
 * A Service as listed or watched, or as a write or GET returned it;
 * replaces what was stored under its key.  Without `force` (watch events),
 * a version older than the stored one is ignored: the answer to our own
 * write may overtake the watch, and a stale event must not make the leader
 * think the status it just wrote is gone.
 */
struct svc_ent *
ks_svc_update(struct daemon_k8s *k, struct json_object *obj, bool force)
{
	struct k8s_service svc;
	struct svc_ent *e;
	char err[512], key[512];
	int rc;

	rc = k8s_service_from_json(obj, &svc, err, sizeof(err));
	if (svc.name == NULL) {
		ks_note_error(k, "a Service from the API server can't be "
		    "read: %s", err);
		k8s_service_free(&svc);
		return NULL;
	}
	ks_svc_key(svc.namespace, svc.name, key, sizeof(key));
	if ((e = ks_svc_get(k, key)) != NULL && !force &&
	    rv_older(svc.resource_version, e->svc.resource_version)) {
		k8s_service_free(&svc);
		return e;
	}
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->s.key = xstrdup(key);
		smap_add(&k->svcs, &e->s);
	} else {
		/* A status write we made comes back: it is no longer pending. */
		if (e->has_pending && svc.ingress_valid && rc_same_addrs(
		    svc.ingress, svc.ningress, e->pending, e->npending) &&
		    (e->w == NULL || !e->w->inflight))
			e->has_pending = false;
		if (request_changed(&e->svc, e->err != NULL, &svc, rc == -1))
			e->req_changed = ++k->req_seq;
		k8s_service_free(&e->svc);
		free(e->err);
		e->err = NULL;
	}
	e->svc = svc;
	if (rc == -1)
		e->err = xstrdup(err);
	e->mark = true;
	return e;
}

static void
svc_remove(struct daemon_k8s *k, struct svc_ent *e)
{
	smap_del(&k->svcs, &e->s);
	svc_ent_free(e);
}

static void
eps_update(struct daemon_k8s *k, struct json_object *obj, bool del)
{
	struct k8s_endpointslice es;
	struct eps_ent *e;
	char err[512], key[512];

	if (k8s_endpointslice_from_json(obj, &es, err, sizeof(err)) == -1 &&
	    es.name == NULL) {
		ks_note_error(k, "an EndpointSlice can't be read: %s", err);
		k8s_endpointslice_free(&es);
		return;
	}
	ks_svc_key(es.namespace, es.name, key, sizeof(key));
	e = (struct eps_ent *)smap_get(&k->eps, key);
	if (del) {
		if (e != NULL) {
			smap_del(&k->eps, &e->s);
			k8s_endpointslice_free(&e->es);
			free(e->s.key);
			free(e);
		}
		k8s_endpointslice_free(&es);
		return;
	}
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->s.key = xstrdup(key);
		smap_add(&k->eps, &e->s);
	} else
		k8s_endpointslice_free(&e->es);
	e->es = es;
	e->mark = true;
}

static void
node_update(struct daemon_k8s *k, struct json_object *obj, bool del)
{
	struct k8s_node node;
	struct node_ent *e;
	char err[512];

	if (k8s_node_from_json(obj, &node, err, sizeof(err)) == -1) {
		/* A Node we can't read can't be judged: leave what we had. */
		if (node.name != NULL)
			ks_note_error(k, "Node %s can't be read: %s", node.name,
			    err);
		else
			ks_note_error(k, "a Node can't be read: %s", err);
		k8s_node_free(&node);
		return;
	}
	e = (struct node_ent *)smap_get(&k->nodes, node.name);
	if (del) {
		if (e != NULL) {
			smap_del(&k->nodes, &e->s);
			k8s_node_free(&e->node);
			free(e->s.key);
			free(e);
		}
		k8s_node_free(&node);
		return;
	}
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->s.key = xstrdup(node.name);
		smap_add(&k->nodes, &e->s);
	} else
		k8s_node_free(&e->node);
	e->node = node;
	e->mark = true;
}

static void
cm_update(struct daemon_k8s *k, struct json_object *obj, bool del)
{
	struct k8s_configmap cm;
	char err[512];

	if (del || obj == NULL) {
		/* Absent from the first list too: the config may come from
		 * the file this node kept (k8s_compose.c). */
		if (k->cm_present || (k->cm_state == CM_WAITING &&
		    !k->lg_tried))
			k->cm_dirty = true;
		k->cm_present = false;
		ks_set_str(&k->cm_text, NULL);
		ks_set_str(&k->cm_rv, NULL);
		return;
	}
	if (k8s_configmap_from_json(obj, &cm, err, sizeof(err)) == -1) {
		ks_note_error(k, "ConfigMap %s/%s can't be read: %s", k->cm_ns,
		    k->cm_name, err);
		k8s_configmap_free(&cm);
		return;
	}
	if (cm.name == NULL || strcmp(cm.name, k->cm_name) != 0) {
		k8s_configmap_free(&cm);
		return;		/* not ours (the field selector should see to it) */
	}
	if (!k->cm_present || k->cm_rv == NULL || cm.resource_version == NULL ||
	    strcmp(k->cm_rv, cm.resource_version) != 0)
		k->cm_dirty = true;
	k->cm_present = true;
	ks_set_str(&k->cm_text, cm.config);
	ks_set_str(&k->cm_rv, cm.resource_version);
	ks_set_str(&k->cm_uid, k8s_meta_str(obj, "uid"));
	k8s_configmap_free(&cm);
}

/* ---- what every part reports: the last error, Events --------------------- */

void
ks_note_error(struct daemon_k8s *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k->last_error, sizeof(k->last_error), fmt, ap);
	va_end(ap);
	log_warn(MOD, "%s", k->last_error);
}

void
ks_record(struct daemon_k8s *k, const char *kind, const char *ns,
    const char *name, const char *uid, bool warning, const char *reason,
    const char *fmt, ...)
{
	struct k8s_object_ref ref = { .kind = kind, .namespace = ns,
	    .name = name, .uid = uid };
	char msg[1024];
	va_list ap;

	if (k->rec == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	k8s_record(k->rec, &ref, warning, reason, "%s", msg);
}

void
ks_svc_record(struct daemon_k8s *k, const struct svc_ent *e, bool warning,
    const char *reason, const char *msg)
{
	ks_record(k, "Service", e->svc.namespace, e->svc.name, e->svc.uid,
	    warning, reason, "%s", msg);
}

/* ---- watch callbacks ---------------------------------------------------- */

static void
check_synced(struct daemon_k8s *k)
{
	if (k->synced)
		return;
	for (int i = 0; i < W__N; i++)
		if (k->w[i] != NULL && !k8s_watch_synced(k->w[i]))
			return;
	k->synced = true;
	log_info(MOD, "every watch has listed: %zu Services, %zu "
	    "EndpointSlices, %zu Nodes, ConfigMap %s/%s %s",
	    smap_count(&k->svcs), smap_count(&k->eps), smap_count(&k->nodes),
	    k->cm_ns, k->cm_name, k->cm_present ? "present" : "absent");
}

static struct smap *
store_map(struct daemon_k8s *k, int which)
{
	return which == W_SVC ? &k->svcs : which == W_EPS ? &k->eps :
	    &k->nodes;
}

static bool *
ent_mark(int which, struct smap_ent *e)
{
	return which == W_SVC ? &((struct svc_ent *)e)->mark :
	    which == W_EPS ? &((struct eps_ent *)e)->mark :
	    &((struct node_ent *)e)->mark;
}

/*
 * A list starts: forget the marks of anything before it (a list that
 * failed midway, updates from status writes), so that the sweep at its end
 * keeps exactly what its pages brought.
 */
static void
unmark(struct daemon_k8s *k, int which)
{
	struct smap_ent **all;
	size_t n = smap_all(store_map(k, which), &all);

	for (size_t i = 0; i < n; i++)
		*ent_mark(which, all[i]) = false;
	free(all);
}

/* Mark-and-sweep over a store after a complete (re)list. */
static void
sweep(struct daemon_k8s *k, int which)
{
	struct smap *m = store_map(k, which);
	struct smap_ent **all;
	size_t n = smap_all(m, &all);

	for (size_t i = 0; i < n; i++) {
		bool *mark = ent_mark(which, all[i]);

		if (*mark) {
			*mark = false;
			continue;
		}
		smap_del(m, all[i]);
		if (which == W_SVC)
			svc_ent_free((struct svc_ent *)all[i]);
		else if (which == W_EPS) {
			k8s_endpointslice_free(&((struct eps_ent *)all[i])->es);
			free(all[i]->key);
			free(all[i]);
		} else {
			k8s_node_free(&((struct node_ent *)all[i])->node);
			free(all[i]->key);
			free(all[i]);
		}
	}
	free(all);
}

/*
 * One page of a (re)list, as it arrives: each object replaces what was
 * stored under its name and is marked.  The glue hears of it at the end of
 * the list (on_synced), not page by page.
 */
static void
on_page(void *arg, struct json_object **items, size_t n, bool first)
{
	struct ks_watch_arg *wa = arg;
	struct daemon_k8s *k = wa->k;

	if (first) {
		if (wa->which == W_CM)
			k->cm_listed = false;
		else
			unmark(k, wa->which);
	}
	switch (wa->which) {
	case W_SVC:
		for (size_t i = 0; i < n; i++)
			(void)ks_svc_update(k, items[i], true);
		break;
	case W_EPS:
		for (size_t i = 0; i < n; i++)
			eps_update(k, items[i], false);
		break;
	case W_NODE:
		for (size_t i = 0; i < n; i++)
			node_update(k, items[i], false);
		break;
	case W_CM:
		if (n > 0 && !k->cm_listed) {
			cm_update(k, items[0], false);
			k->cm_listed = true;
		}
		break;
	}
}

/* A (re)list is complete: what its pages did not bring is gone. */
static void
on_synced(void *arg, size_t n)
{
	struct ks_watch_arg *wa = arg;
	struct daemon_k8s *k = wa->k;

	if (wa->which == W_CM) {
		if (!k->cm_listed)
			cm_update(k, NULL, true);
	} else
		sweep(k, wa->which);
	check_synced(k);
	k->changed(k);
}

static void
on_event(void *arg, enum k8s_event_type t, struct json_object *obj)
{
	struct ks_watch_arg *wa = arg;
	struct daemon_k8s *k = wa->k;
	bool del = t == K8S_EV_DELETED;

	k->events[wa->which]++;
	switch (wa->which) {
	case W_SVC:
		if (del) {
			const char *ns = k8s_meta_str(obj, "namespace");
			const char *name = k8s_meta_str(obj, "name");
			char key[512];
			struct svc_ent *e;

			ks_svc_key(ns, name, key, sizeof(key));
			if ((e = ks_svc_get(k, key)) != NULL) {
				if (k->leading && e->svc.ningress > 0)
					log_info(MOD, "service %s deleted: its "
					    "addresses are free again", key);
				svc_remove(k, e);
			}
		} else
			(void)ks_svc_update(k, obj, false);
		break;
	case W_EPS:
		eps_update(k, obj, del);
		break;
	case W_NODE:
		node_update(k, obj, del);
		break;
	case W_CM:
		cm_update(k, obj, del);
		break;
	}
	k->changed(k);
}

static void
on_watch_error(void *arg, const char *text)
{
	struct ks_watch_arg *wa = arg;

	ks_note_error(wa->k, "%s: %s", ks_watch_names[wa->which], text);
}

static void
on_relist(void *arg, const char *reason)
{
	struct ks_watch_arg *wa = arg;

	wa->k->relists[wa->which]++;
	log_info(MOD, "%s: listing again (%s)", ks_watch_names[wa->which],
	    reason);
}

void
ks_watch_callbacks(struct daemon_k8s *k, int which, struct k8s_watch_opts *wo)
{
	k->wa[which].k = k;
	k->wa[which].which = which;
	wo->on_page = on_page;
	wo->on_synced = on_synced;
	wo->on_event = on_event;
	wo->on_error = on_watch_error;
	wo->on_relist = on_relist;
	wo->arg = &k->wa[which];
}

/* ---- the maps' life ----------------------------------------------------- */

void
ks_store_init(struct daemon_k8s *k)
{
	smap_init(&k->svcs);
	smap_init(&k->eps);
	smap_init(&k->nodes);
	smap_init(&k->owned);
}

static void
free_map(struct smap *m, int which)
{
	struct smap_ent **all;
	size_t n;

	if (m->h == NULL)
		return;
	n = smap_all(m, &all);
	for (size_t i = 0; i < n; i++) {
		if (which == W_SVC)
			svc_ent_free((struct svc_ent *)all[i]);
		else {
			if (which == W_EPS)
				k8s_endpointslice_free(
				    &((struct eps_ent *)all[i])->es);
			else if (which == W_NODE)
				k8s_node_free(&((struct node_ent *)all[i])->node);
			free(all[i]->key);
			free(all[i]);
		}
	}
	free(all);
	smap_fini(m);
}

void
ks_store_free(struct daemon_k8s *k)
{
	free_map(&k->svcs, W_SVC);
	free_map(&k->eps, W_EPS);
	free_map(&k->nodes, W_NODE);
	free_map(&k->owned, -1);
}
