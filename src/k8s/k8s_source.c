/*
 * k8s_source.c - Kubernetes mode's glue to the daemon core: the cluster is
 * the source of the services, of the shared half of the config and of the
 * nodes, and the elected leader writes the Services' status.
 *
 *   start:    connect (kubeconfig or in-cluster), start the watches
 *             (Services, EndpointSlices, Nodes, the config ConfigMap: one,
 *             by field selector) into the store (k8s_store.c), the Event
 *             recorder and the leader election on the Lease
 *   replan:   a short timer after any change: compose the config
 *             (k8s_compose.c), run reconcile (view on every node, the wants
 *             on the leader), hand the view to the core (plan, announce),
 *             let the leader do its duties (k8s_duties.c); the layer 2
 *             nodeAssigned Events of this node
 *   plan:     the cluster's eligible (and alive) Nodes for the planner
 *   stop:     drop the writes, stop the watches, release the Lease
 *   status:   /v1/status "kubernetes", /metrics, the config's staleness
 *
 * Roles (--role, core_role()): an allocator campaigns for the Lease and,
 * leading, writes status; it watches only Services and the ConfigMap and
 * announces nothing (the core gives it no backends).  A speaker never
 * campaigns, never writes status or allocation Events: it announces what
 * status says and posts only its own nodeAssigned Events.  By default one
 * process is both.
 *
 * It implements the source descriptor (k8s_source_ops, bgplb/source.h):
 * the only file of the four that sees the core, through core_*() alone;
 * the others get what they need through struct daemon_k8s or as arguments.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "bgplb/l2.h"
#include "bgplb/log.h"
#include "bgplb/reconcile.h"
#include "bgplb/source.h"
#include "k8s_events.h"
#include "k8s_json.h"
#include "k8s_leader.h"
#include "k8s_source_priv.h"
#include "k8s_watch.h"

#define REPLAN_MS	10		/* coalesce changes this long */
/* While changes keep coming (a bulk create), a replan waits at least this
 * many times as long as the last one took, counted from its end, so that
 * replanning takes at most 1/(1+REPLAN_SPACING) of the time and the rest goes
 * to reading the watches and writing status; after a quiet spell it still
 * runs REPLAN_MS after the change. */
#define REPLAN_SPACING	3
#define REPLAN_MAX_WAIT_MS 2000
#define SHUTDOWN_MS	2000		/* at most this long to hand over the Lease */

static void
split_nsname(const char *s, char **ns, char **name)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL) {
		*ns = xstrdup("default");
		*name = xstrdup(s);
		return;
	}
	*ns = xstrndup(s, (size_t)(slash - s));
	*name = xstrdup(slash + 1);
}

/* Does this role watch `which`?  Where the endpoints are and which Nodes
 * may announce matter only to a process that plans routes (a speaker). */
static bool
watched(const struct daemon_k8s *k, int which)
{
	return k->announces || (which != W_EPS && which != W_NODE);
}

/* ---- replan ------------------------------------------------------------- */

struct svc_ep {
	struct smap_ent	 s;		/* key: service namespace/name */
	struct cfg_endpoint *eps;
	size_t		 n, cap;
	bool		 any;		/* one can serve, with a node or without */
};

/*
 * Per Service, per node: endpoints that can serve.  MetalLB's rule
 * (EndpointCanServe): ready (absent counts as ready) or serving; a
 * terminating endpoint that still serves counts, one that doesn't, doesn't.
 * A Service with no such endpoint anywhere (no EndpointSlice at all, empty
 * slices, nothing ready or serving) is announced nowhere: see
 * cfg_service_from().
 */
static void
endpoint_index(struct daemon_k8s *k, struct smap *idx)
{
	struct smap_ent **all;
	size_t n = smap_all(&k->eps, &all);
	char key[512];

	smap_init(idx);
	for (size_t i = 0; i < n; i++) {
		const struct k8s_endpointslice *es =
		    &((struct eps_ent *)all[i])->es;
		struct svc_ep *se;

		if (es->service == NULL)
			continue;
		ks_svc_key(es->namespace, es->service, key, sizeof(key));
		if ((se = (struct svc_ep *)smap_get(idx, key)) == NULL) {
			se = xcalloc(1, sizeof(*se));
			se->s.key = xstrdup(key);
			smap_add(idx, &se->s);
		}
		for (size_t j = 0; j < es->nendpoints; j++) {
			const struct k8s_endpoint *ep = &es->endpoints[j];
			size_t m;

			if (!(ep->ready || ep->serving))
				continue;
			se->any = true;
			if (ep->node == NULL)
				continue;
			for (m = 0; m < se->n; m++)
				if (strcmp(se->eps[m].node, ep->node) == 0)
					break;
			if (m == se->n) {
				if (se->n == se->cap) {
					se->cap = se->cap ? se->cap * 2 : 4;
					se->eps = xreallocarray(se->eps,
					    se->cap, sizeof(*se->eps));
				}
				se->eps[m].node = ep->node;	/* borrowed */
				se->eps[m].count = 0;
				se->n++;
			}
			se->eps[m].count++;
		}
	}
	free(all);
}

static void
endpoint_index_free(struct smap *idx)
{
	struct smap_ent **all;
	size_t n = smap_all(idx, &all);

	for (size_t i = 0; i < n; i++) {
		struct svc_ep *se = (struct svc_ep *)all[i];

		free(se->eps);
		free(se->s.key);
		free(se);
	}
	free(all);
	smap_fini(idx);
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
		c->addresses = xcalloc(s->naddresses, sizeof(*c->addresses));
		memcpy(c->addresses, s->addresses, s->naddresses *
		    sizeof(*c->addresses));
		c->naddresses = s->naddresses;
	}
	c->sharing_key = xstrdup(s->sharing_key);
	if (s->nports > 0) {
		c->ports = xcalloc(s->nports, sizeof(*c->ports));
		memcpy(c->ports, s->ports, s->nports * sizeof(*c->ports));
		c->nports = s->nports;
	}
	c->families = s->families;
	c->traffic_policy = s->traffic_policy;
	if (se != NULL && se->n > 0) {
		c->endpoints = xcalloc(se->n, sizeof(*c->endpoints));
		for (size_t i = 0; i < se->n; i++) {
			c->endpoints[i].node = xstrdup(se->eps[i].node);
			c->endpoints[i].count = se->eps[i].count;
		}
		c->nendpoints = se->n;
	}
	/* Withdrawn (BGP and layer 2) until an endpoint can serve. */
	c->no_endpoints = se == NULL || !se->any;
}

static int
ent_cmp(const void *a, const void *b)
{
	return strcmp((*(struct svc_ent *const *)a)->s.key,
	    (*(struct svc_ent *const *)b)->s.key);
}

/* Layer 2: tell the Services this node starts answering for. */
static void
node_assigned_events(struct daemon_k8s *k)
{
	const struct plan *p = core_plan(k->core);
	struct smap_ent **all;
	size_t n;

	for (size_t i = 0; p != NULL && i < p->nroutes; i++) {
		const struct plan_route *r = &p->routes[i];

		if (r->backend != CFG_PROTO_LAYER2 || !r->local)
			continue;
		for (size_t j = 0; j < r->nservices; j++) {
			struct own_ent *o = (struct own_ent *)smap_get(
			    &k->owned, r->services[j]);
			struct svc_ent *e;
			char msg[512];

			if (o != NULL) {
				o->mark = true;
				continue;
			}
			o = xcalloc(1, sizeof(*o));
			o->s.key = xstrdup(r->services[j]);
			o->mark = true;
			smap_add(&k->owned, &o->s);
			if ((e = ks_svc_get(k, r->services[j])) == NULL)
				continue;
			snprintf(msg, sizeof(msg), "announcing from node \"%s\" "
			    "with protocol \"layer2\"", core_node(k->core));
			ks_svc_record(k, e, false, "nodeAssigned", msg);
		}
	}
	n = smap_all(&k->owned, &all);
	for (size_t i = 0; i < n; i++) {
		struct own_ent *o = (struct own_ent *)all[i];

		if (o->mark) {
			o->mark = false;
			continue;
		}
		smap_del(&k->owned, &o->s);
		free(o->s.key);
		free(o);
	}
	free(all);
}

static void
update_self(struct daemon_k8s *k)
{
	struct node_ent *ne = (struct node_ent *)smap_get(&k->nodes,
	    core_node(k->core));
	bool was = k->self_eligible, found = k->self_found;
	char why[160] = "";

	k->self_found = ne != NULL;
	if (ne == NULL) {
		snprintf(why, sizeof(why), "node %s is not among the cluster's "
		    "Nodes (is --node right?): announcing nothing", core_node(k->core));
		k->self_eligible = false;
	} else
		k->self_eligible = ks_node_eligible(&ne->node, why, sizeof(why));
	if (strcmp(why, k->self_why) != 0 || was != k->self_eligible ||
	    found != k->self_found) {
		if (why[0] != '\0')
			log_warn(MOD, "%s%s", why, ne != NULL ? ": this node "
			    "announces nothing" : "");
		else if (!was && k->synced)
			log_info(MOD, "node %s is eligible: announcing",
			    core_node(k->core));
	}
	snprintf(k->self_why, sizeof(k->self_why), "%s", why);
}

static void
replan(struct daemon_k8s *k, bool local_changed)
{
	const struct cfg *running = core_cfg(k->core);
	struct smap_ent **all;
	struct svc_ent **ents, **unlb;
	size_t nunlb = 0;
	struct rc_service *in;
	struct rc_result *res;
	struct core_service *ds;
	struct cfg_service *cs, *old_cs = k->svc_cfgs;
	size_t nall, n = 0, nold_cs = k->nsvc_cfgs;
	struct alloc *va = NULL;
	struct smap epi;
	struct cfg *ncfg;
	bool nodes_changed, have_cfg;
	struct timespec t0, t1;

	if (!k->synced || core_stopping(k->core))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (k->announces)
		update_self(k);
	nodes_changed = ks_members_changed(k, running);
	ncfg = ks_next_config(k, local_changed, &nodes_changed);
	have_cfg = k->cm_state == CM_LOADED || k->cm_state == CM_STALE;

	nall = smap_all(&k->svcs, &all);
	ents = xcalloc(nall ? nall : 1, sizeof(*ents));
	unlb = xcalloc(nall ? nall : 1, sizeof(*unlb));
	for (size_t i = 0; i < nall; i++) {
		struct svc_ent *e = (struct svc_ent *)all[i];

		if (!e->svc.kind_valid || !k8s_service_handled(&e->svc,
		    k->lb_class)) {
			if (e->w != NULL && !e->w->inflight && e->w->naddrs > 0)
				ks_write_free(e->w);
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

	in = xcalloc(n ? n : 1, sizeof(*in));
	res = xcalloc(n ? n : 1, sizeof(*res));
	ds = xcalloc(n ? n : 1, sizeof(*ds));
	cs = xcalloc(n ? n : 1, sizeof(*cs));
	endpoint_index(k, &epi);
	{
		char (*keybuf)[512] = xcalloc(n ? n : 1, 512);

		for (size_t i = 0; i < n; i++) {
			struct svc_ent *e = ents[i];

			in[i].key = e->s.key;
			in[i].created = e->svc.created;
			in[i].changed = e->req_changed;
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
		rc_run(ncfg != NULL ? ncfg : running, in, n,
		    k->leading && have_cfg, res, &va);
		free(keybuf);
	}
	for (size_t i = 0; i < n; i++) {
		struct svc_ent *e = ents[i];

		cfg_service_from(e, (struct svc_ep *)smap_get(&epi, e->s.key),
		    &cs[i]);
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
	endpoint_index_free(&epi);
	k->svc_cfgs = cs;
	k->nsvc_cfgs = n;
	/* The layer 2 Events wait for the leader's (below), as they did. */
	k->in_replan = true;
	core_submit(k->core, ncfg, ds, n, va);
	if (ncfg != NULL)
		ks_config_outcome_event(k, core_cfg(k->core));
	for (size_t i = 0; i < nold_cs; i++)
		cfg_service_clear(&old_cs[i]);
	free(old_cs);
	if (k->leading) {
		if (!have_cfg)
			ks_lead_without_config(k, ents, n);
		else {
			ks_clear_unbalanced(k, core_alloc(k->core), unlb, nunlb);
			ks_lead(k, core_alloc(k->core), ents, res, n);
		}
		if (ncfg == NULL)
			ks_config_outcome_event(k, core_cfg(k->core));
	}
	k->in_replan = false;
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
	    n, core_plan(k->core) ? core_plan(k->core)->nroutes : 0,
	    k->replan_us);
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
/* ---- leader election ---------------------------------------------------- */

static void
on_lead_started(void *arg)
{
	struct daemon_k8s *k = arg;

	k->leading = true;
	log_info(MOD, "this node (%s) leads: assigning addresses and writing "
	    "Service status", core_node(k->core));
	/* Whatever was said about the config is said again by us. */
	ks_set_str(&k->cm_event_key, NULL);
	schedule(k);
}

static void
on_lead_stopped(void *arg)
{
	struct daemon_k8s *k = arg;

	if (k->leading)
		log_warn(MOD, "this node (%s) no longer leads", core_node(k->core));
	k->leading = false;
	ks_drop_writes(k);
	schedule(k);
}

static void
on_new_leader(void *arg, const char *holder)
{
	struct daemon_k8s *k = arg;

	if (holder != NULL && k->holder != NULL && strcmp(holder, k->holder) == 0)
		return;
	ks_set_str(&k->holder, holder);
	log_info(MOD, "leader: %s", holder && *holder ? holder : "(none)");
}

static void
on_lead_error(void *arg, const char *text)
{
	ks_note_error(arg, "lease: %s", text);
}

static void
on_rec_error(void *arg, const char *text)
{
	struct daemon_k8s *k = arg;

	log_warn(MOD, "events: %s", text);
	(void)k;
}

/* ---- life cycle --------------------------------------------------------- */

/* The source's create(): connect, start the watches, the Event recorder
 * and the leader election.  NULL with err when the cluster can't be
 * reached at all (no kubeconfig, no service account). */
static void *
k8s_create(struct core *core, const struct cfg *cfg, char *err, size_t errlen)
{
	struct daemon_k8s *k;
	const struct cfg_kubernetes *kc = &cfg->kubernetes;
	char fsel[600];
	int rc;

	k = xcalloc(1, sizeof(*k));
	k->core = core;
	k->base = core_base(core);
	k->changed = schedule;
	k->config_path = core_config_path(core);
	k->allocates = core_role(core) != CORE_ROLE_SPEAKER;
	k->announces = core_role(core) != CORE_ROLE_ALLOCATOR;
	if (!k->announces)
		snprintf(k->self_why, sizeof(k->self_why), "this process is an "
		    "allocator: it announces nothing");
	ks_last_good_path(k, cfg, core_node(core));
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
	if (rc == -1 || (k->http = k8s_http_new(k->base, &k->conn, err,
	    errlen)) == NULL) {
		k8s_conn_free(&k->conn);
		free(k->cm_ns);
		free(k->cm_name);
		free(k->lease_ns);
		free(k->lease_name);
		free(k->lb_class);
		free(k->lg_path);
		free(k);
		return NULL;
	}
	ks_store_init(k);
	if ((k->ev_replan = evtimer_new(k->base, on_replan, k)) == NULL)
		fatalx("out of memory");
	log_info(MOD, "API server %s; config from ConfigMap %s/%s; lease %s/%s; "
	    "role %s", k->conn.server, k->cm_ns, k->cm_name, k->lease_ns,
	    k->lease_name, core_role_name(core_role(core)));

	{
		struct k8s_recorder_opts ro = { .host = core_node(core),
		    .on_error = on_rec_error, .arg = k };

		k->rec = k8s_recorder_new(k->base, k->http, &ro);
	}
	snprintf(fsel, sizeof(fsel), "metadata.name%%3D%s", k->cm_name);
	for (int i = 0; i < W__N; i++) {
		char path[512];
		struct k8s_watch_opts wo = { .path = path };

		if (!watched(k, i))
			continue;
		ks_watch_callbacks(k, i, &wo);
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
		if ((k->w[i] = k8s_watch_new(k->base, k->http, &wo)) == NULL)
			fatalx("cannot start the %s watch", ks_watch_names[i]);
	}
	if (k->allocates) {
		struct k8s_leader_opts lo = {
			.namespace = k->lease_ns, .name = k->lease_name,
			.identity = core_node(core), .on_started = on_lead_started,
			.on_stopped = on_lead_stopped,
			.on_new_leader = on_new_leader, .on_error = on_lead_error,
			.arg = k,
		};
		/* kubernetes.lease-duration, renew-deadline, retry-period;
		 * 0: client-go's defaults (k8s_leader.c). */
		lo.lease_s = kc->lease_duration_s;
		lo.renew_deadline_ms = kc->renew_deadline_ms;
		lo.retry_ms = kc->retry_period_ms;
		if ((k->leader = k8s_leader_new(k->base, k->http, &lo)) == NULL)
			fatalx("cannot start leader election (lease %s/%s)",
			    k->lease_ns, k->lease_name);
	}
	/* The cluster holds every assignment: a start is a restart with
	 * state, as far as BGP peers are concerned (R bit). */
	core_restarted(core);
	return k;
}

static bool
k8s_claims(const struct cfg *cfg)
{
	return cfg->kubernetes.enabled;
}

static void
k8s_started(void *ctx)
{
	struct daemon_k8s *k = ctx;

	log_info("main", "bgplbd running as node %s in Kubernetes mode (role %s)",
	    core_node(k->core), core_role_name(core_role(k->core)));
}

/*
 * The daemon's own file loaded: keep its bytes (composed again with every
 * new ConfigMap) and compose.  Before the cluster has been seen this
 * node's part runs alone (no services, no cluster config).
 */
static int
k8s_config_loaded(void *ctx, struct cfg *ncfg, char *buf, size_t len,
    char *err, size_t errlen)
{
	struct daemon_k8s *k = ctx;

	free(k->local_buf);
	k->local_buf = buf;
	k->local_len = len;
	ks_last_good_path(k, ncfg, core_node(k->core));
	if (core_cfg(k->core) == NULL) {
		/* Until the cluster has been seen: this node's part only. */
		cfg_k8s_local_only(ncfg);
		core_submit(k->core, ncfg, NULL, 0, alloc_new(ncfg));
		return 0;
	}
	cfg_free(ncfg);
	if (k->synced)
		replan(k, true);
	else {
		/* Not composed yet: the first replan will.  Until then the
		 * new local part runs alone, as the old one did. */
		struct cfg *c = ks_compose(k, NULL, NULL);

		core_submit(k->core, c, NULL, 0, alloc_new(c));
	}
	return 0;
}

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL &&
	    strcmp(a, b) == 0);
}

/*
 * What a reload can't change in Kubernetes mode: the mode itself and where
 * the cluster's state lives (the client and its watches are made once).
 */
static const char *
k8s_reload_refused(void *ctx, const struct cfg *old, const struct cfg *new)
{
	const struct cfg_kubernetes *a = &old->kubernetes, *b = &new->kubernetes;

	if (!b->enabled)
		return "kubernetes: removing it (leaving Kubernetes mode) takes "
		    "a restart";
	if (!same_str(a->kubeconfig, b->kubeconfig))
		return "kubernetes.kubeconfig: a change takes a restart";
	if (!same_str(a->config_map, b->config_map))
		return "kubernetes.config-map: a change takes a restart";
	if (!same_str(a->lease, b->lease))
		return "kubernetes.lease: a change takes a restart";
	if (!same_str(a->load_balancer_class, b->load_balancer_class))
		return "kubernetes.load-balancer-class: a change takes a restart";
	if (a->lease_duration_s != b->lease_duration_s ||
	    a->renew_deadline_ms != b->renew_deadline_ms ||
	    a->retry_period_ms != b->retry_period_ms)
		return "kubernetes.lease-duration, renew-deadline, retry-period: "
		    "a change takes a restart";
	return NULL;
}

/*
 * The nodes the planner may use: the cluster's eligible Nodes (not
 * excluded, network available), alive by layer 2 heartbeats when
 * membership runs (all of them while it settles), else Ready.
 */
static size_t
k8s_nodes(void *ctx, const struct cfg *cfg, struct plan_node **out)
{
	struct daemon_k8s *k = ctx;
	const char *const *alive = NULL;
	const char *me = core_node(k->core);
	struct plan_node *nodes;
	struct smap_ent **all;
	size_t nall, nn = 0, nalive = 0;
	enum core_members m = core_members_alive(k->core, &alive, &nalive);
	char why[160];

	nall = smap_all(&k->nodes, &all);
	nodes = xcalloc(nall + 1, sizeof(*nodes));
	for (size_t i = 0; i < nall; i++) {
		const struct k8s_node *nd = &((struct node_ent *)all[i])->node;
		bool self = strcmp(nd->name, me) == 0;

		if (!ks_node_eligible(nd, why, sizeof(why)))
			continue;
		if (!self && m == CORE_MEMBERS_LIVE) {
			/* Alive by heartbeats. */
			size_t j;

			for (j = 0; j < nalive; j++)
				if (strcmp(alive[j], nd->name) == 0)
					break;
			if (j == nalive)
				continue;
		} else if (!self && m == CORE_MEMBERS_OFF && nd->has_ready &&
		    !nd->ready)
			continue;
		nodes[nn].name = nd->name;
		nodes[nn].labels = nd->labels;
		nodes[nn].nlabels = nd->nlabels;
		nn++;
	}
	free(all);
	*out = nodes;
	return nn;
}

/* A node that may not announce (excluded, not among the Nodes) plans
 * nothing at all. */
static bool
k8s_may_announce(void *ctx)
{
	const struct daemon_k8s *k = ctx;

	return k->announces && k->self_eligible;
}

/*
 * Every plan that took effect: the layer 2 nodeAssigned Events of this
 * node, also when the owner changed without the cluster changing (a
 * failover decided by membership).  A replan posts them itself, after the
 * leader's Events.
 */
static void
k8s_plan_applied(void *ctx, const struct plan *p)
{
	struct daemon_k8s *k = ctx;

	if (!k->in_replan)
		node_assigned_events(k);
}

static void
on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_k8s *k = arg;

	log_warn(MOD, "the Lease was not released in time");
	core_stopped(k->core);
}

static void
on_released(void *arg)
{
	struct daemon_k8s *k = arg;

	log_info(MOD, "lease released");
	core_stopped(k->core);
}

/* Orderly stop: drop the writes, stop the watches, hand the Lease over
 * (bounded by SHUTDOWN_MS; a speaker has none), then tell the core. */
static void
k8s_shutdown(void *ctx)
{
	struct daemon_k8s *k = ctx;
	struct timeval tv = { SHUTDOWN_MS / 1000, (SHUTDOWN_MS % 1000) * 1000 };

	if (k->stopping)
		return;
	k->stopping = true;
	ks_drop_writes(k);
	evtimer_del(k->ev_replan);
	for (int i = 0; i < W__N; i++) {
		k8s_watch_free(k->w[i]);
		k->w[i] = NULL;
	}
	if (k->leader == NULL) {
		core_stopped(k->core);	/* a speaker holds no Lease */
		return;
	}
	if ((k->ev_stop = evtimer_new(k->base, on_stop_timeout, k)) == NULL)
		fatalx("out of memory");
	evtimer_add(k->ev_stop, &tv);
	k8s_leader_release(k->leader, on_released, k);
}

/* The core has let go of its services (they point into svc_cfgs). */
static void
k8s_destroy(void *ctx)
{
	struct daemon_k8s *k = ctx;

	if (k == NULL)
		return;
	ks_drop_writes(k);
	for (int i = 0; i < W__N; i++)
		k8s_watch_free(k->w[i]);
	k8s_leader_free(k->leader);
	k8s_recorder_free(k->rec);
	if (k->ev_replan != NULL)
		event_free(k->ev_replan);
	if (k->ev_stop != NULL)
		event_free(k->ev_stop);
	for (size_t i = 0; i < k->nsvc_cfgs; i++)
		cfg_service_clear(&k->svc_cfgs[i]);
	free(k->svc_cfgs);
	ks_store_free(k);
	k8s_http_free(k->http);
	k8s_conn_free(&k->conn);
	ks_free_cm_errors(k);
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
	free(k->lg_path);
	free(k->lg_saved);
	free(k->cm_event_key);
	free(k->members_sig);
	free(k->holder);
	free(k);
}

/* ---- status ------------------------------------------------------------- */

/* The cluster's half of the config failed: running an older one, or none. */
static bool
k8s_stale(void *ctx)
{
	const struct daemon_k8s *k = ctx;

	return k->cm_state == CM_STALE || k->cm_state == CM_INVALID;
}

static struct json_object *
status_object(const struct daemon_k8s *k)
{
	struct json_object *o, *sy, *cm, *errs, *w, *self;
	char buf[600];

	if (k == NULL)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "server", k8s_json_new_str(k->conn.server));
	json_object_object_add(o, "role", k8s_json_new_str(core_role_name(
	    core_role(k->core))));
	snprintf(buf, sizeof(buf), "%s/%s", k->lease_ns, k->lease_name);
	json_object_object_add(o, "lease", k8s_json_new_str(buf));
	json_object_object_add(o, "leader", k8s_json_new_str(k->holder && *k->holder ?
	    k->holder : NULL));
	json_object_object_add(o, "leading", json_object_new_boolean(k->leading));
	json_object_object_add(o, "load_balancer_class", k8s_json_new_str(k->lb_class));
	cm = json_object_new_object();
	snprintf(buf, sizeof(buf), "%s/%s", k->cm_ns, k->cm_name);
	json_object_object_add(cm, "name", k8s_json_new_str(buf));
	json_object_object_add(cm, "present", json_object_new_boolean(
	    k->cm_present));
	json_object_object_add(cm, "resource_version", k8s_json_new_str(k->cm_rv));
	json_object_object_add(cm, "state", k8s_json_new_str(ks_cm_state_names[k->cm_state]));
	json_object_object_add(cm, "running_resource_version", k8s_json_new_str(k->good_rv));
	json_object_object_add(cm, "last_good_file", k8s_json_new_str(k->lg_path));
	json_object_object_add(cm, "from_last_good_file", json_object_new_boolean(
	    k->lg_running));
	errs = json_object_new_array();
	for (size_t i = 0; i < k->ncm_errors; i++)
		json_object_array_add(errs, k8s_json_new_str(k->cm_errors[i]));
	json_object_object_add(cm, "errors", errs);
	json_object_object_add(o, "config_map", cm);
	sy = json_object_new_object();
	for (int i = 0; i < W__N; i++)
		if (watched(k, i))
			json_object_object_add(sy, ks_watch_names[i],
			    json_object_new_boolean(k->w[i] != NULL &&
			    k8s_watch_synced(k->w[i])));
	json_object_object_add(o, "synced", sy);
	json_object_object_add(o, "services", json_object_new_int64(
	    (int64_t)k->nhandled));
	json_object_object_add(o, "nodes", json_object_new_int64(
	    (int64_t)smap_count(&k->nodes)));
	self = json_object_new_object();
	json_object_object_add(self, "found", json_object_new_boolean(
	    k->self_found));
	json_object_object_add(self, "eligible", json_object_new_boolean(
	    k->self_eligible));
	json_object_object_add(self, "why", k8s_json_new_str(k->self_why[0] ? k->self_why :
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
	json_object_object_add(o, "last_error", k8s_json_new_str(k->last_error[0] ?
	    k->last_error : NULL));
	return o;
}

/* /v1/status "kubernetes". */
static void
k8s_status(void *ctx, struct json_object *out)
{
	json_object_object_add(out, "kubernetes", status_object(ctx));
}

static void
k8s_metrics(void *ctx, struct evbuffer *b)
{
	const struct daemon_k8s *k = ctx;

	if (k == NULL)
		return;
	evbuffer_add_printf(b, "# HELP bgplb_k8s_leader 1 when this node holds "
	    "the Lease and writes Service status.\n# TYPE bgplb_k8s_leader "
	    "gauge\nbgplb_k8s_leader %d\n", k->leading);
	evbuffer_add_printf(b, "# HELP bgplb_k8s_watch_events_total Watch "
	    "events received.\n# TYPE bgplb_k8s_watch_events_total counter\n");
	for (int i = 0; i < W__N; i++)
		evbuffer_add_printf(b, "bgplb_k8s_watch_events_total{resource="
		    "\"%s\"} %" PRIu64 "\n", ks_watch_names[i], k->events[i]);
	evbuffer_add_printf(b, "# HELP bgplb_k8s_relists_total Lists after the "
	    "first (410 Gone, errors).\n# TYPE bgplb_k8s_relists_total "
	    "counter\n");
	for (int i = 0; i < W__N; i++)
		evbuffer_add_printf(b, "bgplb_k8s_relists_total{resource=\"%s\"} "
		    "%" PRIu64 "\n", ks_watch_names[i], k->relists[i]);
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

const struct source_ops k8s_source_ops = {
	.name = MOD,
	.roles = true,
	.claims = k8s_claims,
	.create = k8s_create,
	.started = k8s_started,
	.config_loaded = k8s_config_loaded,
	.reload_refused = k8s_reload_refused,
	.nodes = k8s_nodes,
	.may_announce = k8s_may_announce,
	.plan_applied = k8s_plan_applied,
	.status = k8s_status,
	.metrics = k8s_metrics,
	.stale = k8s_stale,
	.shutdown = k8s_shutdown,
	.destroy = k8s_destroy,
};
