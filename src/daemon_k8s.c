/*
 * daemon_k8s.c - Kubernetes mode: the cluster is the source of the
 * services, of the shared half of the config and of the nodes, and the
 * elected leader writes the Services' status.
 *
 *   watches:  Services, EndpointSlices, Nodes (all), the config ConfigMap
 *             (one, by field selector) -> a store of parsed objects
 *   replan:   a short timer after any change: compose the config (the
 *             daemon's file + data.config), run reconcile (view on every
 *             node, the wants on the leader), hand the view to the core
 *             (plan, announce), queue the leader's status writes
 *   leader:   k8s_leader on the Lease; only the leader writes status and
 *             the allocation Events
 *   writes:   PATCH services/NAME/status (merge patch, with the object's
 *             resourceVersion as precondition); 409 -> GET and decide again
 *
 * Nothing is decided before every watch has listed once: a node that has
 * not seen the whole picture neither announces (its BGP sessions start with
 * the full plan) nor, as leader, assigns (it would not know what is held).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "bgplb/hmap.h"
#include "bgplb/l2.h"
#include "bgplb/log.h"
#include "bgplb/reconcile.h"
#include "daemon.h"
#include "k8s_events.h"
#include "k8s_http.h"
#include "k8s_leader.h"
#include "k8s_objects.h"
#include "k8s_watch.h"

#define MOD		"kubernetes"
#define REPLAN_MS	10		/* coalesce changes this long */
/* While changes keep coming (a bulk create), a replan waits at least this
 * many times as long as the last one took, counted from its end, so that
 * replanning takes at most 1/(1+REPLAN_SPACING) of the time and the rest goes
 * to reading the watches and writing status; after a quiet spell it still
 * runs REPLAN_MS after the change. */
#define REPLAN_SPACING	3
#define REPLAN_MAX_WAIT_MS 2000
#define MAX_WRITES	16		/* status writes in flight */
#define WRITE_TIMEOUT_MS 15000
#define WRITE_BACKOFF_MS 1000
#define WRITE_BACKOFF_MAX_MS 30000
#define SHUTDOWN_MS	2000		/* at most this long to hand over the Lease */
#define WRITE_BODY_MAX	(4u * 1024 * 1024)

enum { W_SVC, W_EPS, W_NODE, W_CM, W__N };
static const char *const watch_names[W__N] = { "services", "endpointslices",
    "nodes", "configmap" };

/* ---- a string-keyed map on hmap (64-bit hash -> chain) ------------------ */

struct sent {
	struct sent	*next;
	char		*key;
};

static uint64_t
skey(const char *k)
{
	return hmap_hash(k, strlen(k));
}

static void *
smap_get(const struct hmap *m, const char *key)
{
	uint64_t h = skey(key);
	struct sent *e = hmap_get(m, &h);

	while (e != NULL && strcmp(e->key, key) != 0)
		e = e->next;
	return e;
}

/* e->key must be set; the key must not be in the map. */
static void
smap_add(struct hmap *m, struct sent *e)
{
	uint64_t h = skey(e->key);

	e->next = hmap_get(m, &h);
	hmap_put(m, &h, e);
}

static void
smap_del(struct hmap *m, struct sent *e)
{
	uint64_t h = skey(e->key);
	struct sent *p = hmap_get(m, &h), *prev = NULL;

	while (p != NULL && p != e) {
		prev = p;
		p = p->next;
	}
	if (p == NULL)
		return;
	if (prev != NULL)
		prev->next = e->next;
	else if (e->next != NULL)
		hmap_put(m, &h, e->next);
	else
		hmap_del(m, &h);
	e->next = NULL;
}

/* Every entry, chains included: collect first, the map may change after. */
static size_t
smap_all(const struct hmap *m, struct sent ***out)
{
	size_t it = 0, n = 0, cap = hmap_count(m) + 16;
	const void *k;
	void *v;

	if ((*out = calloc(cap, sizeof(**out))) == NULL)
		fatalx("out of memory");
	while (hmap_next(m, &it, &k, &v))
		for (struct sent *e = v; e != NULL; e = e->next) {
			if (n == cap) {
				struct sent **nn = realloc(*out, cap * 2 *
				    sizeof(**out));

				if (nn == NULL)
					fatalx("out of memory");
				*out = nn;
				cap *= 2;
			}
			(*out)[n++] = e;
		}
	return n;
}

/* ---- the store ---------------------------------------------------------- */

struct svc_write;

struct svc_ent {
	struct sent	 s;		/* key: namespace/name */
	struct k8s_service svc;
	char		*err;		/* parse error; NULL: parsed whole */
	bool		 mark;
	/* leader */
	struct svc_write *w;		/* queued or in flight */
	bool		 has_pending;	/* a status write decided, not yet seen */
	struct addr	 pending[2];
	size_t		 npending;
	char		*fail_msg;	/* the AllocationFailed message posted last */
	char		*blocked_rv;	/* status write refused at this version */
};

struct eps_ent {
	struct sent	 s;		/* key: namespace/name of the slice */
	struct k8s_endpointslice es;
	bool		 mark;
};

struct node_ent {
	struct sent	 s;		/* key: name */
	struct k8s_node	 node;
	bool		 mark;
};

struct own_ent {
	struct sent	 s;		/* key: service (layer 2, this node owns it) */
	bool		 mark;
};

struct svc_write {
	TAILQ_ENTRY(svc_write) q;	/* the queue, when queued */
	LIST_ENTRY(svc_write) all;	/* every write */
	struct daemon_k8s *k;
	char		*key;
	struct addr	 addrs[2];
	size_t		 naddrs;
	bool		 cleared;	/* takes addresses away: ClearAssignment */
	char		*clear_why;
	bool		 inflight, get;	/* PATCH, or the GET after a 409 */
	bool		 queued;
	struct k8s_req	*req;
	struct evbuffer	*body;
	unsigned	 attempts;
	struct event	*retry;
};
TAILQ_HEAD(write_q, svc_write);
LIST_HEAD(write_list, svc_write);

enum cm_state {
	CM_WAITING = 0,		/* no ConfigMap seen yet */
	CM_LOADED,		/* running the ConfigMap's config */
	CM_INVALID,		/* no good config yet: the ConfigMap is broken */
	CM_STALE,		/* running an older config: broken or deleted */
};
static const char *const cm_state_names[] = { "waiting", "loaded", "invalid",
    "stale" };

struct daemon_k8s {
	struct daemon	*d;
	struct k8s_conn	 conn;
	struct k8s_http	*http;
	struct k8s_watch *w[W__N];
	uint64_t	 events[W__N], relists[W__N];
	bool		 synced;	/* every watch has listed once */
	struct k8s_leader *leader;
	bool		 leading;
	char		*holder;
	struct k8s_recorder *rec;
	char		*cm_ns, *cm_name, *lease_ns, *lease_name, *lb_class;

	/* the daemon's own file, kept to compose again */
	char		*local_buf;
	size_t		 local_len;

	struct hmap	*svcs, *eps, *nodes, *owned;
	size_t		 nhandled;

	/* the ConfigMap as seen */
	bool		 cm_present;
	char		*cm_text;	/* data.config; NULL: none */
	char		*cm_rv, *cm_uid;
	bool		 cm_dirty;	/* changed since composed */
	/* what runs */
	enum cm_state	 cm_state;
	char		*good_text;	/* data.config of the running config */
	char		*good_rv;
	char		**cm_errors;	/* of the last failed data.config */
	size_t		 ncm_errors;
	char		*cm_event_key;	/* rv + outcome of the last config Event */
	char		*members_sig;	/* layer 2 members of the running config */

	/* self */
	bool		 self_found, self_eligible;
	char		 self_why[160];

	/* status writes */
	struct write_q	 wq;
	struct write_list writes;
	unsigned	 inflight;
	uint64_t	 writes_ok, writes_conflict, writes_failed;

	/* replan */
	struct event	*ev_replan;
	/* service config copies the running daemon_service array points to */
	struct cfg_service *svc_cfgs;
	size_t		 nsvc_cfgs;

	/* shutdown */
	struct event	*ev_stop;
	bool		 stopping;

	uint64_t	 replans, replan_us;	/* count; the last one's time */
	int64_t		 replan_end_us;		/* monotonic, when it ended */
	char		 last_error[512];
};

static void	schedule(struct daemon_k8s *);
static void	write_start(struct svc_write *);
static void	write_free(struct svc_write *);
static void	pump(struct daemon_k8s *);

static char *
xstrdup(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		fatalx("out of memory");
	return d;
}

static void
set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = xstrdup(s);
}

static void
split_nsname(const char *s, char **ns, char **name)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL) {
		*ns = xstrdup("default");
		*name = xstrdup(s);
		return;
	}
	if ((*ns = strndup(s, (size_t)(slash - s))) == NULL)
		fatalx("out of memory");
	*name = xstrdup(slash + 1);
}

static void
note_error(struct daemon_k8s *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
note_error(struct daemon_k8s *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k->last_error, sizeof(k->last_error), fmt, ap);
	va_end(ap);
	log_warn(MOD, "%s", k->last_error);
}

static void
record(struct daemon_k8s *k, const char *kind, const char *ns,
    const char *name, const char *uid, bool warning, const char *reason,
    const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static void
record(struct daemon_k8s *k, const char *kind, const char *ns,
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

static void
svc_record(struct daemon_k8s *k, const struct svc_ent *e, bool warning,
    const char *reason, const char *msg)
{
	record(k, "Service", e->svc.namespace, e->svc.name, e->svc.uid, warning,
	    reason, "%s", msg);
}

/* ---- store updates ------------------------------------------------------ */

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
	free(e->blocked_rv);
	free(e->s.key);
	free(e);
}

static void
svc_key(const char *ns, const char *name, char *buf, size_t len)
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
 * A Service as listed or watched, or as a write or GET returned it;
 * replaces what was stored under its key.  Without `force` (watch events),
 * a version older than the stored one is ignored: the answer to our own
 * write may overtake the watch, and a stale event must not make the leader
 * think the status it just wrote is gone.
 */
static struct svc_ent *
svc_update(struct daemon_k8s *k, struct json_object *obj, bool force)
{
	struct k8s_service svc;
	struct svc_ent *e;
	char err[512], key[512];
	int rc;

	rc = k8s_service_from_json(obj, &svc, err, sizeof(err));
	if (svc.name == NULL) {
		note_error(k, "a Service from the API server can't be read: %s",
		    err);
		k8s_service_free(&svc);
		return NULL;
	}
	svc_key(svc.namespace, svc.name, key, sizeof(key));
	if ((e = smap_get(k->svcs, key)) != NULL && !force &&
	    rv_older(svc.resource_version, e->svc.resource_version)) {
		k8s_service_free(&svc);
		return e;
	}
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			fatalx("out of memory");
		e->s.key = xstrdup(key);
		smap_add(k->svcs, &e->s);
	} else {
		/* A status write we made comes back: it is no longer pending. */
		if (e->has_pending && svc.ingress_valid && rc_same_addrs(
		    svc.ingress, svc.ningress, e->pending, e->npending) &&
		    (e->w == NULL || !e->w->inflight))
			e->has_pending = false;
		if (e->blocked_rv != NULL && (svc.resource_version == NULL ||
		    strcmp(svc.resource_version, e->blocked_rv) != 0)) {
			free(e->blocked_rv);
			e->blocked_rv = NULL;
		}
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
	smap_del(k->svcs, &e->s);
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
		note_error(k, "an EndpointSlice can't be read: %s", err);
		k8s_endpointslice_free(&es);
		return;
	}
	svc_key(es.namespace, es.name, key, sizeof(key));
	e = smap_get(k->eps, key);
	if (del) {
		if (e != NULL) {
			smap_del(k->eps, &e->s);
			k8s_endpointslice_free(&e->es);
			free(e->s.key);
			free(e);
		}
		k8s_endpointslice_free(&es);
		return;
	}
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			fatalx("out of memory");
		e->s.key = xstrdup(key);
		smap_add(k->eps, &e->s);
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
			note_error(k, "Node %s can't be read: %s", node.name, err);
		else
			note_error(k, "a Node can't be read: %s", err);
		k8s_node_free(&node);
		return;
	}
	e = smap_get(k->nodes, node.name);
	if (del) {
		if (e != NULL) {
			smap_del(k->nodes, &e->s);
			k8s_node_free(&e->node);
			free(e->s.key);
			free(e);
		}
		k8s_node_free(&node);
		return;
	}
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			fatalx("out of memory");
		e->s.key = xstrdup(node.name);
		smap_add(k->nodes, &e->s);
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
		if (k->cm_present)
			k->cm_dirty = true;
		k->cm_present = false;
		set_str(&k->cm_text, NULL);
		set_str(&k->cm_rv, NULL);
		return;
	}
	if (k8s_configmap_from_json(obj, &cm, err, sizeof(err)) == -1) {
		note_error(k, "ConfigMap %s/%s can't be read: %s", k->cm_ns,
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
	set_str(&k->cm_text, cm.config);
	set_str(&k->cm_rv, cm.resource_version);
	set_str(&k->cm_uid, k8s_meta_str(obj, "uid"));
	k8s_configmap_free(&cm);
}

/* ---- watch callbacks ---------------------------------------------------- */

struct watch_arg {
	struct daemon_k8s *k;
	int		 which;
};
static struct watch_arg watch_args[W__N];

static void
check_synced(struct daemon_k8s *k)
{
	if (k->synced)
		return;
	for (int i = 0; i < W__N; i++)
		if (!k8s_watch_synced(k->w[i]))
			return;
	k->synced = true;
	log_info(MOD, "every watch has listed: %zu Services, %zu "
	    "EndpointSlices, %zu Nodes, ConfigMap %s/%s %s", hmap_count(k->svcs),
	    hmap_count(k->eps), hmap_count(k->nodes), k->cm_ns, k->cm_name,
	    k->cm_present ? "present" : "absent");
}

/* Mark-and-sweep over a store after a (re)list. */
static void
sweep(struct daemon_k8s *k, int which)
{
	struct hmap *m = which == W_SVC ? k->svcs : which == W_EPS ? k->eps :
	    k->nodes;
	struct sent **all;
	size_t n = smap_all(m, &all);

	for (size_t i = 0; i < n; i++) {
		bool *mark = which == W_SVC ? &((struct svc_ent *)all[i])->mark :
		    which == W_EPS ? &((struct eps_ent *)all[i])->mark :
		    &((struct node_ent *)all[i])->mark;

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

static void
on_sync(void *arg, struct json_object **items, size_t n)
{
	struct watch_arg *wa = arg;
	struct daemon_k8s *k = wa->k;

	switch (wa->which) {
	case W_SVC:
		for (size_t i = 0; i < n; i++)
			(void)svc_update(k, items[i], true);
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
		cm_update(k, n > 0 ? items[0] : NULL, n == 0);
		break;
	}
	if (wa->which != W_CM)
		sweep(k, wa->which);
	check_synced(k);
	schedule(k);
}

static void
on_event(void *arg, enum k8s_event_type t, struct json_object *obj)
{
	struct watch_arg *wa = arg;
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

			svc_key(ns, name, key, sizeof(key));
			if ((e = smap_get(k->svcs, key)) != NULL) {
				if (k->leading && e->svc.ningress > 0)
					log_info(MOD, "service %s deleted: its "
					    "addresses are free again", key);
				svc_remove(k, e);
			}
		} else
			(void)svc_update(k, obj, false);
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
	schedule(k);
}

static void
on_watch_error(void *arg, const char *text)
{
	struct watch_arg *wa = arg;

	note_error(wa->k, "%s: %s", watch_names[wa->which], text);
}

static void
on_relist(void *arg, const char *reason)
{
	struct watch_arg *wa = arg;

	wa->k->relists[wa->which]++;
	log_info(MOD, "%s: listing again (%s)", watch_names[wa->which], reason);
}

/* ---- the config --------------------------------------------------------- */

static void
free_cm_errors(struct daemon_k8s *k)
{
	for (size_t i = 0; i < k->ncm_errors; i++)
		free(k->cm_errors[i]);
	free(k->cm_errors);
	k->cm_errors = NULL;
	k->ncm_errors = 0;
}

static bool
node_eligible(const struct k8s_node *n, char *why, size_t len)
{
	if (n->excluded) {
		snprintf(why, len, "node %s has the label %s", n->name,
		    K8S_LABEL_EXCLUDE_LB);
		return false;
	}
	if (n->network_unavailable) {
		snprintf(why, len, "node %s has the condition "
		    "NetworkUnavailable", n->name);
		return false;
	}
	return true;
}

static int
member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cfg_member *)a)->name,
	    ((const struct cfg_member *)b)->name);
}

/*
 * Layer 2 membership in a cluster: every eligible Node, at its first
 * InternalIP of the family membership listens on (IPv4 when it listens on
 * the wildcard and the node has one).
 */
static void
set_members(struct daemon_k8s *k, struct cfg *cfg)
{
	struct sent **all;
	size_t n, m = 0;
	char why[160];

	cfg_members_free(&cfg->layer2);
	if (!cfg->layer2.has_membership)
		return;
	n = smap_all(k->nodes, &all);
	if ((cfg->layer2.members = calloc(n ? n : 1,
	    sizeof(*cfg->layer2.members))) == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct k8s_node *nd = &((struct node_ent *)all[i])->node;
		const struct addr *pick = NULL;
		uint8_t want = cfg->layer2.listen.af;

		if (!node_eligible(nd, why, sizeof(why)))
			continue;
		for (size_t j = 0; j < nd->ninternal_ips && pick == NULL; j++)
			if (want == 0 ? nd->internal_ips[j].af == ADDR_AF_INET :
			    nd->internal_ips[j].af == want)
				pick = &nd->internal_ips[j];
		if (pick == NULL && want == 0 && nd->ninternal_ips > 0)
			pick = &nd->internal_ips[0];
		if (pick == NULL)
			continue;
		cfg->layer2.members[m].name = xstrdup(nd->name);
		cfg->layer2.members[m].address = *pick;
		cfg->layer2.members[m].port = cfg->layer2.listen_port;
		m++;
	}
	free(all);
	qsort(cfg->layer2.members, m, sizeof(*cfg->layer2.members), member_cmp);
	cfg->layer2.nmembers = m;
}

static char *
members_sig(const struct cfg *cfg)
{
	struct evbuffer *b = evbuffer_new();
	char a[ADDR_STRLEN], *out;
	size_t len;

	if (b == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < cfg->layer2.nmembers; i++)
		evbuffer_add_printf(b, "%s=%s:%u;", cfg->layer2.members[i].name,
		    addr_ntop(&cfg->layer2.members[i].address, a, sizeof(a)),
		    cfg->layer2.members[i].port);
	len = evbuffer_get_length(b);
	if ((out = malloc(len + 1)) == NULL)
		fatalx("out of memory");
	evbuffer_remove(b, out, len);
	out[len] = '\0';
	evbuffer_free(b);
	return out;
}

/*
 * The daemon's file with `text` (a data.config; NULL: none yet) as one
 * config, or NULL with the errors of text.
 */
static struct cfg *
compose(struct daemon_k8s *k, const char *text, struct cfg_errors *errs)
{
	struct cfg_errors lerrs = { 0 };
	struct cfg *local, *cluster;

	local = cfg_load_buf(k->d->opts.config_path, k->local_buf,
	    k->local_len, &lerrs);
	if (local == NULL)
		fatalx("%s no longer loads", k->d->opts.config_path);
	cfg_errors_free(&lerrs);
	if (text == NULL) {
		cfg_k8s_local_only(local);
		set_members(k, local);
		return local;
	}
	if ((cluster = cfg_load_cluster("data.config", text, strlen(text),
	    errs)) == NULL) {
		cfg_free(local);
		return NULL;
	}
	local = cfg_k8s_merge(local, cluster);
	set_members(k, local);
	return local;
}

/* The config Event (leader only): once per ConfigMap version and outcome. */
static void
config_event(struct daemon_k8s *k, bool ok, const char *msg)
{
	char key[256];

	if (!k->leading || !k->cm_present)
		return;
	snprintf(key, sizeof(key), "%s/%d", k->cm_rv ? k->cm_rv : "", ok);
	if (k->cm_event_key != NULL && strcmp(k->cm_event_key, key) == 0)
		return;
	set_str(&k->cm_event_key, key);
	record(k, "ConfigMap", k->cm_ns, k->cm_name, k->cm_uid, !ok,
	    ok ? "ConfigLoaded" : "ConfigStale", "%s", msg);
}

static void
config_outcome_event(struct daemon_k8s *k)
{
	const struct cfg *c = k->d->cfg;
	char msg[1024];
	size_t i, shown = 0;

	if (k->cm_state == CM_LOADED) {
		snprintf(msg, sizeof(msg), "configuration loaded: %zu pools, %zu "
		    "peers", c->npools, c->npeers);
		/* The ConfigMap's own warnings (keys it should not hold). */
		for (i = 0; i < c->nwarnings; i++)
			if (strncmp(c->warnings[i], "data.config:", 12) == 0)
				snprintf(msg + strlen(msg), sizeof(msg) -
				    strlen(msg), "; %s", c->warnings[i]);
		config_event(k, true, msg);
		return;
	}
	if ((k->cm_state != CM_STALE && k->cm_state != CM_INVALID) ||
	    !k->cm_present)
		return;		/* waiting, or deleted: nothing to put it on */
	msg[0] = '\0';
	for (i = 0; i < k->ncm_errors && shown < 5; i++, shown++)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "%s%s",
		    i ? "; " : "", k->cm_errors[i]);
	if (k->ncm_errors > shown)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
		    "; and %zu more", k->ncm_errors - shown);
	snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "%s",
	    k->cm_state == CM_STALE ? " (the previous configuration stays in "
	    "force)" : " (no configuration: Services stay pending)");
	config_event(k, false, msg);
}

/*
 * The ConfigMap changed (or the daemon's file, or the nodes layer 2 needs):
 * the config to run, or NULL to keep the running one.
 */
static struct cfg *
next_config(struct daemon_k8s *k, bool local_changed, bool *nodes_changed)
{
	struct cfg_errors errs = { 0 };
	struct cfg *ncfg = NULL;

	if (k->cm_dirty) {
		k->cm_dirty = false;
		if (!k->cm_present) {
			if (k->cm_state == CM_LOADED || k->cm_state == CM_STALE) {
				k->cm_state = CM_STALE;
				log_error(MOD, "ConfigMap %s/%s was deleted: "
				    "keeping the configuration it gave "
				    "(marked stale)", k->cm_ns, k->cm_name);
			} else
				log_warn(MOD, "waiting for ConfigMap %s/%s "
				    "(data.config): nothing is assigned or "
				    "announced until it exists", k->cm_ns,
				    k->cm_name);
		} else if (k->cm_text == NULL) {
			char *line;

			free_cm_errors(k);
			if (asprintf(&line, "data.config:1:1: ConfigMap %s/%s "
			    "has no data.config", k->cm_ns, k->cm_name) == -1 ||
			    (k->cm_errors = calloc(1, sizeof(char *))) == NULL)
				fatalx("out of memory");
			k->cm_errors[0] = line;
			k->ncm_errors = 1;
			k->cm_state = k->good_text ? CM_STALE : CM_INVALID;
			log_error(MOD, "%s", line);
		} else if ((ncfg = compose(k, k->cm_text, &errs)) == NULL) {
			free_cm_errors(k);
			k->cm_errors = errs.lines;
			k->ncm_errors = errs.n;
			errs.lines = NULL;
			errs.n = 0;
			for (size_t i = 0; i < k->ncm_errors; i++)
				log_error(MOD, "ConfigMap %s/%s: %s", k->cm_ns,
				    k->cm_name, k->cm_errors[i]);
			k->cm_state = k->good_text ? CM_STALE : CM_INVALID;
			if (k->cm_state == CM_STALE)
				log_error(MOD, "ConfigMap %s/%s is not valid: "
				    "keeping the previous configuration "
				    "(marked stale)", k->cm_ns, k->cm_name);
			else
				log_error(MOD, "ConfigMap %s/%s is not valid: "
				    "no configuration, nothing is assigned or "
				    "announced", k->cm_ns, k->cm_name);
		} else {
			free_cm_errors(k);
			set_str(&k->good_text, k->cm_text);
			set_str(&k->good_rv, k->cm_rv);
			k->cm_state = CM_LOADED;
			for (size_t i = 0; i < ncfg->nwarnings; i++)
				if (strncmp(ncfg->warnings[i], "data.config:",
				    12) == 0)
					log_warn(MOD, "ConfigMap %s/%s: %s",
					    k->cm_ns, k->cm_name,
					    ncfg->warnings[i]);
			log_info(MOD, "ConfigMap %s/%s (version %s) loaded: %zu "
			    "pools, %zu peers", k->cm_ns, k->cm_name,
			    k->cm_rv ? k->cm_rv : "?", ncfg->npools,
			    ncfg->npeers);
		}
		cfg_errors_free(&errs);
	}
	if (ncfg == NULL && (local_changed || *nodes_changed))
		ncfg = compose(k, k->good_text, &errs);
	cfg_errors_free(&errs);
	if (ncfg != NULL) {
		char *sig = members_sig(ncfg);

		free(k->members_sig);
		k->members_sig = sig;
		*nodes_changed = false;
	}
	return ncfg;
}

/* Have the Nodes changed what layer 2 membership should list? */
static bool
members_changed(struct daemon_k8s *k)
{
	struct cfg *tmp;
	char *sig;
	bool changed;

	if (k->d->cfg == NULL || !k->d->cfg->layer2.has_membership)
		return false;
	if ((tmp = calloc(1, sizeof(*tmp))) == NULL)
		fatalx("out of memory");
	tmp->layer2 = k->d->cfg->layer2;
	tmp->layer2.members = NULL;
	tmp->layer2.nmembers = 0;
	set_members(k, tmp);
	sig = members_sig(tmp);
	changed = k->members_sig == NULL || strcmp(sig, k->members_sig) != 0;
	cfg_members_free(&tmp->layer2);
	free(tmp);
	free(sig);
	return changed;
}

/* ---- replan ------------------------------------------------------------- */

struct svc_ep {
	struct sent	 s;		/* key: service namespace/name */
	struct cfg_endpoint *eps;
	size_t		 n, cap;
};

/* Per Service, per node: endpoints that are ready or serving. */
static struct hmap *
endpoint_index(struct daemon_k8s *k)
{
	struct hmap *idx = hmap_new(sizeof(uint64_t));
	struct sent **all;
	size_t n = smap_all(k->eps, &all);
	char key[512];

	if (idx == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct k8s_endpointslice *es =
		    &((struct eps_ent *)all[i])->es;
		struct svc_ep *se;

		if (es->service == NULL)
			continue;
		svc_key(es->namespace, es->service, key, sizeof(key));
		if ((se = smap_get(idx, key)) == NULL) {
			if ((se = calloc(1, sizeof(*se))) == NULL)
				fatalx("out of memory");
			se->s.key = xstrdup(key);
			smap_add(idx, &se->s);
		}
		for (size_t j = 0; j < es->nendpoints; j++) {
			const struct k8s_endpoint *ep = &es->endpoints[j];
			size_t m;

			if (ep->node == NULL || !(ep->ready || ep->serving))
				continue;
			for (m = 0; m < se->n; m++)
				if (strcmp(se->eps[m].node, ep->node) == 0)
					break;
			if (m == se->n) {
				if (se->n == se->cap) {
					se->cap = se->cap ? se->cap * 2 : 4;
					se->eps = realloc(se->eps, se->cap *
					    sizeof(*se->eps));
					if (se->eps == NULL)
						fatalx("out of memory");
				}
				se->eps[m].node = ep->node;	/* borrowed */
				se->eps[m].count = 0;
				se->n++;
			}
			se->eps[m].count++;
		}
	}
	free(all);
	return idx;
}

static void
endpoint_index_free(struct hmap *idx)
{
	struct sent **all;
	size_t n = smap_all(idx, &all);

	for (size_t i = 0; i < n; i++) {
		struct svc_ep *se = (struct svc_ep *)all[i];

		free(se->eps);
		free(se->s.key);
		free(se);
	}
	free(all);
	hmap_free(idx);
}

static void
cfg_service_from(const struct svc_ent *e, const struct svc_ep *se,
    struct cfg_service *c)
{
	const struct k8s_service *s = &e->svc;

	memset(c, 0, sizeof(*c));
	c->name = xstrdup(e->s.key);
	c->pool = xstrdup(s->pool);
	if (s->naddresses > 0) {
		if ((c->addresses = calloc(s->naddresses,
		    sizeof(*c->addresses))) == NULL)
			fatalx("out of memory");
		memcpy(c->addresses, s->addresses, s->naddresses *
		    sizeof(*c->addresses));
		c->naddresses = s->naddresses;
	}
	c->sharing_key = xstrdup(s->sharing_key);
	if (s->nports > 0) {
		if ((c->ports = calloc(s->nports, sizeof(*c->ports))) == NULL)
			fatalx("out of memory");
		memcpy(c->ports, s->ports, s->nports * sizeof(*c->ports));
		c->nports = s->nports;
	}
	c->families = s->families;
	c->traffic_policy = s->traffic_policy;
	if (se != NULL && se->n > 0) {
		if ((c->endpoints = calloc(se->n, sizeof(*c->endpoints))) == NULL)
			fatalx("out of memory");
		for (size_t i = 0; i < se->n; i++) {
			c->endpoints[i].node = xstrdup(se->eps[i].node);
			c->endpoints[i].count = se->eps[i].count;
		}
		c->nendpoints = se->n;
	}
}

static int
ent_cmp(const void *a, const void *b)
{
	return strcmp((*(struct svc_ent *const *)a)->s.key,
	    (*(struct svc_ent *const *)b)->s.key);
}

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
    const struct rc_result *r)
{
	struct svc_write *w = e->w;

	if (e->blocked_rv != NULL)
		return;		/* refused at this version: wait for a change */
	if (w != NULL && w->inflight)
		return;		/* decided again once it is done */
	if (w == NULL) {
		if ((w = calloc(1, sizeof(*w))) == NULL)
			fatalx("out of memory");
		w->k = k;
		w->key = xstrdup(e->s.key);
		LIST_INSERT_HEAD(&k->writes, w, all);
		e->w = w;
	}
	memcpy(w->addrs, r->want.addrs, sizeof(w->addrs));
	w->naddrs = r->want.naddrs;
	w->cleared = r->cleared;
	if (r->cleared) {
		char held[128], msg[512];

		addrs_text(e->svc.ingress, e->svc.ningress, held, sizeof(held));
		snprintf(msg, sizeof(msg), "current IP [%s] %s: %s", held,
		    e->svc.is_load_balancer ? "is no longer allowed" :
		    "released", r->clear_why);
		set_str(&w->clear_why, msg);
	} else
		set_str(&w->clear_why, NULL);
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
static void
clear_unbalanced(struct daemon_k8s *k, struct svc_ent **ents, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct svc_ent *e = ents[i];
		struct rc_result r;
		bool ours = false;

		for (size_t j = 0; j < e->svc.ningress && !ours; j++)
			ours = k->d->alloc != NULL &&
			    alloc_pool_of(k->d->alloc, &e->svc.ingress[j]) != NULL;
		if (!ours || (e->w != NULL && e->w->naddrs == 0))
			continue;
		memset(&r, 0, sizeof(r));
		r.write = true;
		r.cleared = true;
		snprintf(r.clear_why, sizeof(r.clear_why), "the service is no "
		    "longer of type LoadBalancer");
		queue_write(k, e, &r);
	}
}

/* The leader's part of a replan: writes and the Events of failures. */
static void
lead(struct daemon_k8s *k, struct svc_ent **ents, const struct rc_result *res,
    size_t n)
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
			svc_record(k, e, true, "AllocationFailed", msg);
			set_str(&e->fail_msg, msg);
		} else if (msg[0] == '\0' && e->fail_msg != NULL)
			set_str(&e->fail_msg, NULL);
		if (r->write)
			queue_write(k, e, r);
		else if (e->w != NULL && !e->w->inflight) {
			/* Decided again: nothing to write after all. */
			write_free(e->w);
			e->has_pending = false;
		}
	}
	pump(k);
}

/* Without a config the leader can only say why nothing happens. */
static void
lead_without_config(struct daemon_k8s *k, struct svc_ent **ents, size_t n)
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
			svc_record(k, e, true, "AllocationFailed", msg);
			set_str(&e->fail_msg, msg);
		}
	}
}

/* Layer 2: tell the Services this node starts answering for. */
static void
node_assigned_events(struct daemon_k8s *k)
{
	const struct plan *p = k->d->plan;
	struct sent **all;
	size_t n;

	for (size_t i = 0; p != NULL && i < p->nroutes; i++) {
		const struct plan_route *r = &p->routes[i];

		if (r->backend != CFG_PROTO_LAYER2 || !r->local)
			continue;
		for (size_t j = 0; j < r->nservices; j++) {
			struct own_ent *o = smap_get(k->owned, r->services[j]);
			struct svc_ent *e;
			char msg[512];

			if (o != NULL) {
				o->mark = true;
				continue;
			}
			if ((o = calloc(1, sizeof(*o))) == NULL)
				fatalx("out of memory");
			o->s.key = xstrdup(r->services[j]);
			o->mark = true;
			smap_add(k->owned, &o->s);
			if ((e = smap_get(k->svcs, r->services[j])) == NULL)
				continue;
			snprintf(msg, sizeof(msg), "announcing from node \"%s\" "
			    "with protocol \"layer2\"", k->d->node);
			svc_record(k, e, false, "nodeAssigned", msg);
		}
	}
	n = smap_all(k->owned, &all);
	for (size_t i = 0; i < n; i++) {
		struct own_ent *o = (struct own_ent *)all[i];

		if (o->mark) {
			o->mark = false;
			continue;
		}
		smap_del(k->owned, &o->s);
		free(o->s.key);
		free(o);
	}
	free(all);
}

static void
update_self(struct daemon_k8s *k)
{
	struct node_ent *ne = smap_get(k->nodes, k->d->node);
	bool was = k->self_eligible, found = k->self_found;
	char why[160] = "";

	k->self_found = ne != NULL;
	if (ne == NULL) {
		snprintf(why, sizeof(why), "node %s is not among the cluster's "
		    "Nodes (is --node right?): announcing nothing", k->d->node);
		k->self_eligible = false;
	} else
		k->self_eligible = node_eligible(&ne->node, why, sizeof(why));
	if (strcmp(why, k->self_why) != 0 || was != k->self_eligible ||
	    found != k->self_found) {
		if (why[0] != '\0')
			log_warn(MOD, "%s%s", why, ne != NULL ? ": this node "
			    "announces nothing" : "");
		else if (!was && k->synced)
			log_info(MOD, "node %s is eligible: announcing",
			    k->d->node);
	}
	snprintf(k->self_why, sizeof(k->self_why), "%s", why);
}

static void
replan(struct daemon_k8s *k, bool local_changed)
{
	struct daemon *d = k->d;
	struct sent **all;
	struct svc_ent **ents, **unlb;
	size_t nunlb = 0;
	struct rc_service *in;
	struct rc_result *res;
	struct daemon_service *ds;
	struct cfg_service *cs, *old_cs = k->svc_cfgs;
	size_t nall, n = 0, nold_cs = k->nsvc_cfgs;
	struct alloc *va = NULL;
	struct hmap *epi;
	struct cfg *ncfg;
	bool nodes_changed, have_cfg;
	struct timespec t0, t1;

	if (!k->synced || d->stopping)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	update_self(k);
	nodes_changed = members_changed(k);
	ncfg = next_config(k, local_changed, &nodes_changed);
	have_cfg = k->cm_state == CM_LOADED || k->cm_state == CM_STALE;

	nall = smap_all(k->svcs, &all);
	if ((ents = calloc(nall ? nall : 1, sizeof(*ents))) == NULL)
		fatalx("out of memory");
	if ((unlb = calloc(nall ? nall : 1, sizeof(*unlb))) == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < nall; i++) {
		struct svc_ent *e = (struct svc_ent *)all[i];

		if (!e->svc.kind_valid || !k8s_service_handled(&e->svc,
		    k->lb_class)) {
			if (e->w != NULL && !e->w->inflight && e->w->naddrs > 0)
				write_free(e->w);
			/* Was it ours?  No class, or ours, and an address in
			 * its status. */
			if (e->svc.kind_valid && !e->svc.is_load_balancer &&
			    (e->svc.lb_class == NULL || strcmp(e->svc.lb_class,
			    k->lb_class) == 0) && e->svc.ningress > 0)
				unlb[nunlb++] = e;
			continue;
		}
		ents[n++] = e;
	}
	free(all);
	/* A stable order for the core and the status endpoint. */
	qsort(ents, n, sizeof(*ents), ent_cmp);
	k->nhandled = n;

	if ((in = calloc(n ? n : 1, sizeof(*in))) == NULL ||
	    (res = calloc(n ? n : 1, sizeof(*res))) == NULL ||
	    (ds = calloc(n ? n : 1, sizeof(*ds))) == NULL ||
	    (cs = calloc(n ? n : 1, sizeof(*cs))) == NULL)
		fatalx("out of memory");
	epi = endpoint_index(k);
	{
		char (*keybuf)[512] = calloc(n ? n : 1, 512);

		if (keybuf == NULL)
			fatalx("out of memory");
		for (size_t i = 0; i < n; i++) {
			struct svc_ent *e = ents[i];

			in[i].key = e->s.key;
			in[i].created = e->svc.created;
			in[i].frozen = e->err != NULL;
			if (!in[i].frozen)
				k8s_service_to_request(&e->svc, keybuf[i],
				    sizeof(keybuf[i]), &in[i].req);
			in[i].req.service = e->s.key;
			in[i].status = e->svc.ingress;
			in[i].nstatus = e->svc.ingress_valid ? e->svc.ningress : 0;
			in[i].has_pending = e->has_pending;
			in[i].pending = e->pending;
			in[i].npending = e->npending;
		}
		rc_run(ncfg != NULL ? ncfg : d->cfg, in, n,
		    k->leading && have_cfg, res, &va);
		free(keybuf);
	}
	for (size_t i = 0; i < n; i++) {
		struct svc_ent *e = ents[i];

		cfg_service_from(e, smap_get(epi, e->s.key), &cs[i]);
		ds[i].cfg = &cs[i];
		ds[i].assign = res[i].view;
		memset(&res[i].view, 0, sizeof(res[i].view));
		ds[i].err = res[i].view_err;
		if (ds[i].assign.naddrs == 0) {
			const char *why = res[i].view_err != ALLOC_OK ?
			    res[i].view_why : !have_cfg ? "no configuration "
			    "from the cluster yet" : k->leading &&
			    res[i].err != ALLOC_OK ? res[i].why :
			    "no address in its status yet (the leader "
			    "assigns it)";

			if (ds[i].err == ALLOC_OK)
				ds[i].err = ALLOC_ERR_NO_POOL;
			ds[i].why = xstrdup(why);
		}
	}
	endpoint_index_free(epi);
	k->svc_cfgs = cs;
	k->nsvc_cfgs = n;
	if (ncfg != NULL) {
		d->cfg_loaded_at = time(NULL);
		daemon_activate(d, ncfg, ds, n, va);
		config_outcome_event(k);
	} else
		daemon_set_services(d, ds, n, va);
	for (size_t i = 0; i < nold_cs; i++)
		cfg_service_clear(&old_cs[i]);
	free(old_cs);
	if (k->leading) {
		if (!have_cfg)
			lead_without_config(k, ents, n);
		else {
			clear_unbalanced(k, unlb, nunlb);
			lead(k, ents, res, n);
		}
		if (ncfg == NULL)
			config_outcome_event(k);
	}
	node_assigned_events(k);
	rc_results_clear(res, n);
	free(res);
	free(in);
	free(ents);
	free(unlb);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	k->replans++;
	k->replan_us = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000);
	k->replan_end_us = (int64_t)t1.tv_sec * 1000000 + t1.tv_nsec / 1000;
	log_debug(MOD, "replan: %zu services, %zu routes in %" PRIu64 " us",
	    n, d->plan ? d->plan->nroutes : 0, k->replan_us);
}

static void
on_replan(evutil_socket_t fd, short what, void *arg)
{
	replan(arg, false);
}

static void
schedule(struct daemon_k8s *k)
{
	struct timeval tv;
	struct timespec now;
	int64_t wait_us = REPLAN_MS * 1000, earliest, now_us;

	if (evtimer_pending(k->ev_replan, NULL))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	now_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
	earliest = k->replan_end_us + REPLAN_SPACING * (int64_t)k->replan_us;
	if (k->replans > 0 && earliest - now_us > wait_us)
		wait_us = earliest - now_us;
	if (wait_us > REPLAN_MAX_WAIT_MS * 1000)
		wait_us = REPLAN_MAX_WAIT_MS * 1000;
	tv.tv_sec = wait_us / 1000000;
	tv.tv_usec = wait_us % 1000000;
	evtimer_add(k->ev_replan, &tv);
}

/* ---- status writes ------------------------------------------------------ */

static void
write_free(struct svc_write *w)
{
	struct daemon_k8s *k = w->k;
	struct svc_ent *e = smap_get(k->svcs, w->key);

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

static void
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
	if ((w->retry = evtimer_new(w->k->d->base, on_write_retry, w)) == NULL)
		fatalx("out of memory");
	evtimer_add(w->retry, &tv);
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

static void
on_write_done(void *arg, long status, const char *error, long retry_after_s)
{
	struct svc_write *w = arg;
	struct daemon_k8s *k = w->k;
	struct svc_ent *e = smap_get(k->svcs, w->key);
	struct json_object *o = NULL;
	char text[128];

	w->req = NULL;
	w->inflight = false;
	k->inflight--;
	if (status >= 200 && status < 300 && (o = body_json(w)) == NULL) {
		/* Written, but the answer can't be read: the watch will
		 * bring the Service as it is now. */
		k->writes_ok += !w->get;
		if (e != NULL)
			e->has_pending = false;
		write_free(w);
		schedule(k);
		pump(k);
		return;
	}
	evbuffer_drain(w->body, evbuffer_get_length(w->body));
	if (w->get) {
		/* After a 409: what the Service is now; decide again. */
		w->get = false;
		if (o != NULL)
			e = svc_update(k, o, false);
		if (e != NULL && e->w == w)
			e->has_pending = false;
		json_object_put(o);
		write_free(w);
		schedule(k);
		pump(k);
		return;
	}
	if (o != NULL) {
		k->writes_ok++;
		e = svc_update(k, o, false);
		json_object_put(o);
		if (e != NULL) {
			addrs_text(w->addrs, w->naddrs, text, sizeof(text));
			if (w->cleared && w->clear_why != NULL) {
				log_info(MOD, "service %s: %s", w->key,
				    w->clear_why);
				svc_record(k, e, false, "ClearAssignment",
				    w->clear_why);
			}
			if (w->naddrs > 0) {
				char msg[256];

				snprintf(msg, sizeof(msg), "Assigned IP [%s]", text);
				log_info(MOD, "service %s: %s", w->key, msg);
				svc_record(k, e, false, "IPAllocated", msg);
			} else
				log_info(MOD, "service %s: addresses cleared",
				    w->key);
			e->has_pending = false;
		}
		write_free(w);
		schedule(k);
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
		write_free(w);
		return;
	}
	k->writes_failed++;
	if (status == 0 || status == 429 || status >= 500) {
		note_error(k, "writing the status of service %s: %s%s%s", w->key,
		    status ? "HTTP " : "", status ? "" : error,
		    status ? (snprintf(text, sizeof(text), "%ld", status),
		    text) : "");
		write_later(w, retry_after_s);
		return;
	}
	/* 4xx: the server refuses it as it is; not again at this version. */
	note_error(k, "writing the status of service %s refused (HTTP %ld%s%s)%s",
	    w->key, status, error && *error ? ": " : "", error ? error : "",
	    status == 403 ? ": the ServiceAccount needs patch on "
	    "services/status (see deploy/)" : "");
	set_str(&e->blocked_rv, e->svc.resource_version);
	e->has_pending = false;
	write_free(w);
	schedule(k);
}

static void
write_start(struct svc_write *w)
{
	struct daemon_k8s *k = w->k;
	struct svc_ent *e = smap_get(k->svcs, w->key);
	char path[1024], *body;
	struct k8s_req_opts ro = { .method = K8S_PATCH, .path = path,
	    .content_type = "application/merge-patch+json",
	    .timeout_ms = WRITE_TIMEOUT_MS, .on_data = on_write_data,
	    .on_done = on_write_done, .arg = w };

	if (e == NULL || !k->leading) {
		write_free(w);
		return;
	}
	if (w->body == NULL && (w->body = evbuffer_new()) == NULL)
		fatalx("out of memory");
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/services/%s/status"
	    "?fieldManager=bgplb", e->svc.namespace, e->svc.name);
	if ((body = k8s_ingress_patch(e->svc.resource_version, w->addrs,
	    w->naddrs)) == NULL)
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
static void
drop_writes(struct daemon_k8s *k)
{
	struct sent **all;
	size_t n = smap_all(k->svcs, &all);

	for (size_t i = 0; i < n; i++) {
		struct svc_ent *e = (struct svc_ent *)all[i];

		if (e->w != NULL)
			write_free(e->w);
		e->has_pending = false;
		set_str(&e->fail_msg, NULL);
	}
	free(all);
	/* Writes whose Service went away meanwhile. */
	while (!LIST_EMPTY(&k->writes))
		write_free(LIST_FIRST(&k->writes));
}

/* ---- leader election ---------------------------------------------------- */

static void
on_lead_started(void *arg)
{
	struct daemon_k8s *k = arg;

	k->leading = true;
	log_info(MOD, "this node (%s) leads: assigning addresses and writing "
	    "Service status", k->d->node);
	/* Whatever was said about the config is said again by us. */
	set_str(&k->cm_event_key, NULL);
	schedule(k);
}

static void
on_lead_stopped(void *arg)
{
	struct daemon_k8s *k = arg;

	if (k->leading)
		log_warn(MOD, "this node (%s) no longer leads", k->d->node);
	k->leading = false;
	drop_writes(k);
	schedule(k);
}

static void
on_new_leader(void *arg, const char *holder)
{
	struct daemon_k8s *k = arg;

	if (holder != NULL && k->holder != NULL && strcmp(holder, k->holder) == 0)
		return;
	set_str(&k->holder, holder);
	log_info(MOD, "leader: %s", holder && *holder ? holder : "(none)");
}

static void
on_lead_error(void *arg, const char *text)
{
	note_error(arg, "lease: %s", text);
}

static void
on_rec_error(void *arg, const char *text)
{
	struct daemon_k8s *k = arg;

	log_warn(MOD, "events: %s", text);
	(void)k;
}

/* ---- life cycle --------------------------------------------------------- */

static int
start(struct daemon *d, const struct cfg *cfg, char *err, size_t errlen)
{
	struct daemon_k8s *k;
	const struct cfg_kubernetes *kc = &cfg->kubernetes;
	char fsel[600];
	int rc;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		fatalx("out of memory");
	k->d = d;
	TAILQ_INIT(&k->wq);
	LIST_INIT(&k->writes);
	split_nsname(kc->config_map, &k->cm_ns, &k->cm_name);
	split_nsname(kc->lease, &k->lease_ns, &k->lease_name);
	k->lb_class = xstrdup(kc->load_balancer_class);
	if (kc->kubeconfig != NULL)
		rc = k8s_conn_from_kubeconfig(kc->kubeconfig, NULL, &k->conn,
		    err, errlen);
	else
		rc = k8s_conn_in_cluster(NULL, &k->conn, err, errlen);
	if (rc == -1 || (k->http = k8s_http_new(d->base, &k->conn, err,
	    errlen)) == NULL) {
		k8s_conn_free(&k->conn);
		free(k->cm_ns);
		free(k->cm_name);
		free(k->lease_ns);
		free(k->lease_name);
		free(k->lb_class);
		free(k);
		return -1;
	}
	if ((k->svcs = hmap_new(sizeof(uint64_t))) == NULL ||
	    (k->eps = hmap_new(sizeof(uint64_t))) == NULL ||
	    (k->nodes = hmap_new(sizeof(uint64_t))) == NULL ||
	    (k->owned = hmap_new(sizeof(uint64_t))) == NULL ||
	    (k->ev_replan = evtimer_new(d->base, on_replan, k)) == NULL)
		fatalx("out of memory");
	d->k8s = k;
	log_info(MOD, "API server %s; config from ConfigMap %s/%s; lease %s/%s",
	    k->conn.server, k->cm_ns, k->cm_name, k->lease_ns, k->lease_name);

	{
		struct k8s_recorder_opts ro = { .host = d->node,
		    .on_error = on_rec_error, .arg = k };

		k->rec = k8s_recorder_new(d->base, k->http, &ro);
	}
	snprintf(fsel, sizeof(fsel), "metadata.name%%3D%s", k->cm_name);
	for (int i = 0; i < W__N; i++) {
		char path[512];
		struct k8s_watch_opts wo = {
			.path = path, .on_sync = on_sync, .on_event = on_event,
			.on_error = on_watch_error, .on_relist = on_relist,
			.arg = &watch_args[i],
		};

		watch_args[i].k = k;
		watch_args[i].which = i;
		switch (i) {
		case W_SVC:
			snprintf(path, sizeof(path), "/api/v1/services");
			break;
		case W_EPS:
			snprintf(path, sizeof(path),
			    "/apis/discovery.k8s.io/v1/endpointslices");
			wo.label_selector = K8S_LABEL_SERVICE_NAME;
			break;
		case W_NODE:
			snprintf(path, sizeof(path), "/api/v1/nodes");
			break;
		case W_CM:
			snprintf(path, sizeof(path),
			    "/api/v1/namespaces/%s/configmaps", k->cm_ns);
			wo.field_selector = fsel;
			break;
		}
		if ((k->w[i] = k8s_watch_new(d->base, k->http, &wo)) == NULL)
			fatalx("cannot start the %s watch", watch_names[i]);
	}
	{
		struct k8s_leader_opts lo = {
			.namespace = k->lease_ns, .name = k->lease_name,
			.identity = d->node, .on_started = on_lead_started,
			.on_stopped = on_lead_stopped,
			.on_new_leader = on_new_leader, .on_error = on_lead_error,
			.arg = k,
		};
		const char *e;

		if ((e = getenv("BGPLB_LEASE_MS")) != NULL) {
			/* Tests only: "lease,renew,retry" in ms (see
			 * tests/integration/k8slab.py). */
			unsigned a = 0, b = 0, c = 0;

			if (sscanf(e, "%u,%u,%u", &a, &b, &c) == 3) {
				lo.lease_s = (a + 999) / 1000;
				lo.renew_deadline_ms = b;
				lo.retry_ms = c;
			}
		}
		if ((k->leader = k8s_leader_new(d->base, k->http, &lo)) == NULL)
			fatalx("cannot start leader election (lease %s/%s)",
			    k->lease_ns, k->lease_name);
	}
	return 0;
}

int
daemon_k8s_local_loaded(struct daemon *d, struct cfg *ncfg, char *buf,
    size_t len, char *err, size_t errlen)
{
	struct daemon_k8s *k;

	if (d->k8s == NULL && start(d, ncfg, err, errlen) == -1) {
		cfg_free(ncfg);
		free(buf);
		return -1;
	}
	k = d->k8s;
	free(k->local_buf);
	k->local_buf = buf;
	k->local_len = len;
	if (d->cfg == NULL) {
		/* Until the cluster has been seen: this node's part only. */
		cfg_k8s_local_only(ncfg);
		daemon_activate(d, ncfg, NULL, 0, alloc_new(ncfg));
		return 0;
	}
	cfg_free(ncfg);
	if (k->synced)
		replan(k, true);
	else {
		/* Not composed yet: the first replan will.  Until then the
		 * new local part runs alone, as the old one did. */
		struct cfg *c = compose(k, NULL, NULL);

		daemon_activate(d, c, NULL, 0, alloc_new(c));
	}
	return 0;
}

struct plan *
daemon_k8s_build_plan(struct daemon *d, const struct cfg *cfg,
    const struct plan_service *ps, size_t n)
{
	struct daemon_k8s *k = d->k8s;
	const char *const *alive = NULL;
	struct plan_node *nodes;
	struct plan_input in;
	struct sent **all;
	struct plan *np;
	size_t nall, nn = 0, nalive = 0;
	bool membership = d->members != NULL && l2_membership_enabled(d->members);
	char why[160];

	nall = smap_all(k->nodes, &all);
	if ((nodes = calloc(nall + 1, sizeof(*nodes))) == NULL)
		fatalx("out of memory");
	if (membership && !d->l2_settling)
		nalive = l2_membership_alive(d->members, &alive);
	for (size_t i = 0; i < nall; i++) {
		const struct k8s_node *nd = &((struct node_ent *)all[i])->node;
		bool self = strcmp(nd->name, d->node) == 0;

		if (!node_eligible(nd, why, sizeof(why)))
			continue;
		if (!self && membership && !d->l2_settling) {
			/* Alive by heartbeats. */
			size_t j;

			for (j = 0; j < nalive; j++)
				if (strcmp(alive[j], nd->name) == 0)
					break;
			if (j == nalive)
				continue;
		} else if (!self && !membership && nd->has_ready && !nd->ready)
			continue;
		nodes[nn].name = nd->name;
		nodes[nn].labels = nd->labels;
		nodes[nn].nlabels = nd->nlabels;
		nn++;
	}
	free(all);
	memset(&in, 0, sizeof(in));
	in.cfg = cfg;
	in.node = d->node;
	in.nodes = nodes;
	in.nnodes = nn;
	in.services = ps;
	/* A node that may not announce plans nothing at all. */
	in.nservices = k->self_eligible ? n : 0;
	if ((np = plan_build(&in)) == NULL)
		fatalx("plan_build failed");
	free(nodes);
	return np;
}

static void
on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_k8s *k = arg;

	log_warn(MOD, "the Lease was not released in time");
	event_base_loopexit(k->d->base, NULL);
}

static void
on_released(void *arg)
{
	struct daemon_k8s *k = arg;

	log_info(MOD, "lease released");
	event_base_loopexit(k->d->base, NULL);
}

void
daemon_k8s_shutdown(struct daemon *d)
{
	struct daemon_k8s *k = d->k8s;
	struct timeval tv = { SHUTDOWN_MS / 1000, (SHUTDOWN_MS % 1000) * 1000 };

	if (k->stopping)
		return;
	k->stopping = true;
	drop_writes(k);
	evtimer_del(k->ev_replan);
	for (int i = 0; i < W__N; i++) {
		k8s_watch_free(k->w[i]);
		k->w[i] = NULL;
	}
	if ((k->ev_stop = evtimer_new(d->base, on_stop_timeout, k)) == NULL)
		fatalx("out of memory");
	evtimer_add(k->ev_stop, &tv);
	k8s_leader_release(k->leader, on_released, k);
}

static void
free_map(struct hmap *m, int which)
{
	struct sent **all;
	size_t n;

	if (m == NULL)
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
	hmap_free(m);
}

void
daemon_k8s_free(struct daemon *d)
{
	struct daemon_k8s *k = d->k8s;

	if (k == NULL)
		return;
	drop_writes(k);
	for (int i = 0; i < W__N; i++)
		k8s_watch_free(k->w[i]);
	k8s_leader_free(k->leader);
	k8s_recorder_free(k->rec);
	if (k->ev_replan != NULL)
		event_free(k->ev_replan);
	if (k->ev_stop != NULL)
		event_free(k->ev_stop);
	/* The core's services point into svc_cfgs: let go of them first. */
	for (size_t i = 0; i < d->nservices; i++) {
		alloc_assignment_clear(&d->services[i].assign);
		free(d->services[i].why);
	}
	free(d->services);
	d->services = NULL;
	d->nservices = 0;
	for (size_t i = 0; i < k->nsvc_cfgs; i++)
		cfg_service_clear(&k->svc_cfgs[i]);
	free(k->svc_cfgs);
	free_map(k->svcs, W_SVC);
	free_map(k->eps, W_EPS);
	free_map(k->nodes, W_NODE);
	free_map(k->owned, -1);
	k8s_http_free(k->http);
	k8s_conn_free(&k->conn);
	free_cm_errors(k);
	free(k->cm_ns);
	free(k->cm_name);
	free(k->lease_ns);
	free(k->lease_name);
	free(k->lb_class);
	free(k->local_buf);
	free(k->cm_text);
	free(k->cm_rv);
	free(k->cm_uid);
	free(k->good_text);
	free(k->good_rv);
	free(k->cm_event_key);
	free(k->members_sig);
	free(k->holder);
	free(k);
	d->k8s = NULL;
}

/* ---- status ------------------------------------------------------------- */

bool
daemon_k8s_stale(const struct daemon *d)
{
	return d->k8s != NULL && (d->k8s->cm_state == CM_STALE ||
	    d->k8s->cm_state == CM_INVALID);
}

static struct json_object *
jstr(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

struct json_object *
daemon_k8s_status(const struct daemon *d)
{
	const struct daemon_k8s *k = d->k8s;
	struct json_object *o, *sy, *cm, *errs, *w, *self;
	char buf[600];

	if (k == NULL)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "server", jstr(k->conn.server));
	snprintf(buf, sizeof(buf), "%s/%s", k->lease_ns, k->lease_name);
	json_object_object_add(o, "lease", jstr(buf));
	json_object_object_add(o, "leader", jstr(k->holder && *k->holder ?
	    k->holder : NULL));
	json_object_object_add(o, "leading", json_object_new_boolean(k->leading));
	json_object_object_add(o, "load_balancer_class", jstr(k->lb_class));
	cm = json_object_new_object();
	snprintf(buf, sizeof(buf), "%s/%s", k->cm_ns, k->cm_name);
	json_object_object_add(cm, "name", jstr(buf));
	json_object_object_add(cm, "present", json_object_new_boolean(
	    k->cm_present));
	json_object_object_add(cm, "resource_version", jstr(k->cm_rv));
	json_object_object_add(cm, "state", jstr(cm_state_names[k->cm_state]));
	json_object_object_add(cm, "running_resource_version", jstr(k->good_rv));
	errs = json_object_new_array();
	for (size_t i = 0; i < k->ncm_errors; i++)
		json_object_array_add(errs, jstr(k->cm_errors[i]));
	json_object_object_add(cm, "errors", errs);
	json_object_object_add(o, "config_map", cm);
	sy = json_object_new_object();
	for (int i = 0; i < W__N; i++)
		json_object_object_add(sy, watch_names[i], json_object_new_boolean(
		    k->w[i] != NULL && k8s_watch_synced(k->w[i])));
	json_object_object_add(o, "synced", sy);
	json_object_object_add(o, "services", json_object_new_int64(
	    (int64_t)k->nhandled));
	json_object_object_add(o, "nodes", json_object_new_int64(
	    (int64_t)hmap_count(k->nodes)));
	self = json_object_new_object();
	json_object_object_add(self, "found", json_object_new_boolean(
	    k->self_found));
	json_object_object_add(self, "eligible", json_object_new_boolean(
	    k->self_eligible));
	json_object_object_add(self, "why", jstr(k->self_why[0] ? k->self_why :
	    NULL));
	json_object_object_add(o, "node", self);
	w = json_object_new_object();
	json_object_object_add(w, "ok", json_object_new_int64(
	    (int64_t)k->writes_ok));
	json_object_object_add(w, "conflict", json_object_new_int64(
	    (int64_t)k->writes_conflict));
	json_object_object_add(w, "failed", json_object_new_int64(
	    (int64_t)k->writes_failed));
	json_object_object_add(w, "in_flight", json_object_new_int64(
	    (int64_t)k->inflight));
	json_object_object_add(o, "status_writes", w);
	if (k->rec != NULL) {
		struct k8s_recorder_stats st;
		struct json_object *ev = json_object_new_object();

		k8s_recorder_get_stats(k->rec, &st);
		json_object_object_add(ev, "posted", json_object_new_int64(
		    (int64_t)st.posted));
		json_object_object_add(ev, "aggregated", json_object_new_int64(
		    (int64_t)(st.patched + st.aggregated)));
		json_object_object_add(ev, "dropped", json_object_new_int64(
		    (int64_t)st.dropped));
		json_object_object_add(ev, "failed", json_object_new_int64(
		    (int64_t)st.failed));
		json_object_object_add(o, "events", ev);
	}
	json_object_object_add(o, "replans", json_object_new_int64(
	    (int64_t)k->replans));
	json_object_object_add(o, "last_replan_us", json_object_new_int64(
	    (int64_t)k->replan_us));
	json_object_object_add(o, "last_error", jstr(k->last_error[0] ?
	    k->last_error : NULL));
	return o;
}

void
daemon_k8s_metrics(const struct daemon *d, struct evbuffer *b)
{
	const struct daemon_k8s *k = d->k8s;

	if (k == NULL)
		return;
	evbuffer_add_printf(b, "# HELP bgplb_k8s_leader 1 when this node holds "
	    "the Lease and writes Service status.\n# TYPE bgplb_k8s_leader "
	    "gauge\nbgplb_k8s_leader %d\n", k->leading);
	evbuffer_add_printf(b, "# HELP bgplb_k8s_watch_events_total Watch "
	    "events received.\n# TYPE bgplb_k8s_watch_events_total counter\n");
	for (int i = 0; i < W__N; i++)
		evbuffer_add_printf(b, "bgplb_k8s_watch_events_total{resource="
		    "\"%s\"} %" PRIu64 "\n", watch_names[i], k->events[i]);
	evbuffer_add_printf(b, "# HELP bgplb_k8s_relists_total Lists after the "
	    "first (410 Gone, errors).\n# TYPE bgplb_k8s_relists_total "
	    "counter\n");
	for (int i = 0; i < W__N; i++)
		evbuffer_add_printf(b, "bgplb_k8s_relists_total{resource=\"%s\"} "
		    "%" PRIu64 "\n", watch_names[i], k->relists[i]);
	evbuffer_add_printf(b, "# HELP bgplb_k8s_status_writes_total Service "
	    "status writes by the leader.\n# TYPE bgplb_k8s_status_writes_total "
	    "counter\nbgplb_k8s_status_writes_total{result=\"ok\"} %" PRIu64
	    "\nbgplb_k8s_status_writes_total{result=\"conflict\"} %" PRIu64
	    "\nbgplb_k8s_status_writes_total{result=\"failed\"} %" PRIu64 "\n",
	    k->writes_ok, k->writes_conflict, k->writes_failed);
	if (k->rec != NULL) {
		struct k8s_recorder_stats st;

		k8s_recorder_get_stats(k->rec, &st);
		evbuffer_add_printf(b, "# HELP bgplb_k8s_events_total Events "
		    "written (posted, aggregated into an existing one) or "
		    "lost.\n# TYPE bgplb_k8s_events_total counter\n"
		    "bgplb_k8s_events_total{result=\"posted\"} %" PRIu64 "\n"
		    "bgplb_k8s_events_total{result=\"aggregated\"} %" PRIu64 "\n"
		    "bgplb_k8s_events_total{result=\"dropped\"} %" PRIu64 "\n"
		    "bgplb_k8s_events_total{result=\"failed\"} %" PRIu64 "\n",
		    st.posted, st.patched + st.aggregated, st.dropped, st.failed);
	}
	evbuffer_add_printf(b, "# HELP bgplb_k8s_config_state The cluster "
	    "ConfigMap: 0 waiting, 1 loaded, 2 invalid, 3 stale.\n# TYPE "
	    "bgplb_k8s_config_state gauge\nbgplb_k8s_config_state %d\n",
	    (int)k->cm_state);
}
