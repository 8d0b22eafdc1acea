/*
 * daemon.c - the core that ties config, allocator, planner and backends.
 *
 * Every change goes through one path, daemon_apply(): allocate against the
 * new config keeping what is still valid, persist the assignments, build
 * the new plan, hand only the difference to the backends, then swap.  A
 * config that fails to load never reaches daemon_apply(): it is logged,
 * remembered for the status endpoint and the running state stays untouched,
 * so a typo can never withdraw a route.
 */
#include <errno.h>
#include <event2/event.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bgplb/l2.h"
#include "bgplb/log.h"
#include "daemon.h"

#define WATCH_INTERVAL_MS	1000

static void
free_errors(struct daemon *d)
{
	for (size_t i = 0; i < d->ncfg_errors; i++)
		free(d->cfg_errors[i]);
	free(d->cfg_errors);
	d->cfg_errors = NULL;
	d->ncfg_errors = 0;
}

static void
free_services(struct daemon_service *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		alloc_assignment_clear(&s[i].assign);
		free(s[i].why);
	}
	free(s);
}

static char *
default_node(const struct cfg *cfg, const struct daemon_opts *o)
{
	char host[HOST_NAME_MAX + 1];

	if (o->node != NULL)
		return strdup(o->node);
	if (cfg->node != NULL)
		return strdup(cfg->node);
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	return strdup(host);
}

static char *
default_state_file(const struct cfg *cfg, const char *config_path,
    const char *node)
{
	char *copy, *dir, *out = NULL;

	if (cfg->state_file != NULL)
		return strdup(cfg->state_file);
	if ((copy = strdup(config_path)) == NULL)
		return NULL;
	dir = dirname(copy);
	if (asprintf(&out, "%s/bgplb-state.%s.json", dir, node) == -1)
		out = NULL;
	free(copy);
	return out;
}

/*
 * The previous assignments to keep: the running ones when there are any,
 * else (first start) the state file.
 */
static struct alloc_prev *
previous_assignments(struct daemon *d, size_t *n)
{
	struct alloc_prev *prev = NULL;
	char err[512];

	*n = 0;
	if (d->cfg != NULL) {
		if (d->nservices == 0)
			return NULL;
		prev = calloc(d->nservices, sizeof(*prev));
		if (prev == NULL)
			fatalx("out of memory");
		for (size_t i = 0; i < d->nservices; i++) {
			const struct alloc_assignment *a = &d->services[i].assign;

			if (a->naddrs == 0)
				continue;
			prev[*n].service = strdup(a->service);
			memcpy(prev[*n].addrs, a->addrs, sizeof(a->addrs));
			prev[*n].naddrs = a->naddrs;
			(*n)++;
		}
		return prev;
	}
	if (alloc_state_load(d->state_file, &prev, n, err, sizeof(err)) == -1) {
		log_warn("state", "%s; starting without previous assignments", err);
		*n = 0;
		return NULL;
	}
	if (*n > 0) {
		log_info("state", "%zu previous assignments read from %s", *n,
		    d->state_file);
		/* A restart, not a first start: BGP peers are told (R bit). */
		for (size_t i = 0; i < d->nannouncers; i++)
			if (d->announcers[i]->ops->backend == CFG_PROTO_BGP &&
			    strcmp(d->announcers[i]->ops->name, "bgp") == 0)
				bgp_speaker_set_restarted(d->announcers[i], true);
	}
	return prev;
}

struct diff_ctx {
	struct daemon	*d;
};

static void
diff_announce(void *arg, const struct plan_route *r)
{
	struct daemon *d = arg;

	for (size_t i = 0; i < d->nannouncers; i++)
		if (d->announcers[i]->ops->backend == r->backend)
			d->announcers[i]->ops->announce(d->announcers[i]->ctx, r);
}

static void
diff_withdraw(void *arg, const struct plan_route *r)
{
	struct daemon *d = arg;

	for (size_t i = 0; i < d->nannouncers; i++)
		if (d->announcers[i]->ops->backend == r->backend)
			d->announcers[i]->ops->withdraw(d->announcers[i]->ctx, r);
}

static const struct plan_diff_ops diff_ops = {
	.announce = diff_announce,
	.withdraw = diff_withdraw,
};

/*
 * The plan for these services under cfg.  The live nodes are the members
 * that membership says are alive (this node included), or this node alone
 * without membership; their labels come from the config's nodes: list.
 */
static struct plan *
build_plan(struct daemon *d, const struct cfg *cfg,
    const struct daemon_service *svcs, size_t n)
{
	struct plan_service *ps = calloc(n ? n : 1, sizeof(*ps));
	const char *const *alive = NULL;
	const char *self = d->node;
	struct plan_node *nodes;
	struct plan_input in;
	struct plan *np;
	size_t k = 0, nalive = 0;

	if (ps == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < n; i++) {
		if (svcs[i].assign.naddrs == 0)
			continue;
		ps[k].name = svcs[i].cfg->name;
		ps[k].pool = svcs[i].assign.pool;
		ps[k].addrs = svcs[i].assign.addrs;
		ps[k].naddrs = svcs[i].assign.naddrs;
		ps[k].policy = svcs[i].cfg->traffic_policy;
		ps[k].endpoints = svcs[i].cfg->endpoints;
		ps[k].nendpoints = svcs[i].cfg->nendpoints;
		k++;
	}
	const char **presumed = NULL;

	if (d->k8s != NULL) {
		np = daemon_k8s_build_plan(d, cfg, ps, k);
		free(ps);
		return np;
	}
	if (d->members != NULL && l2_membership_enabled(d->members)) {
		nalive = l2_membership_alive(d->members, &alive);
		/*
		 * Just started: nobody has been heard yet, which is not the
		 * same as everybody being dead.  Until dead-after has passed,
		 * presume the configured members alive, so a restarting node
		 * never grabs (and gratuitously ARPs) addresses that another
		 * node owns.
		 */
		if (d->l2_settling) {
			size_t m = cfg->layer2.nmembers;

			if ((presumed = calloc(m + 1, sizeof(*presumed))) == NULL)
				fatalx("out of memory");
			presumed[0] = self;
			nalive = 1;
			for (size_t i = 0; i < m; i++)
				if (strcmp(cfg->layer2.members[i].name, self) != 0)
					presumed[nalive++] = cfg->layer2.members[i].name;
			alive = presumed;
		}
	}
	if (nalive == 0) {
		alive = &self;
		nalive = 1;
	}
	if ((nodes = calloc(nalive, sizeof(*nodes))) == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < nalive; i++) {
		const struct cfg_node *cn = cfg_node_find(cfg, alive[i]);

		nodes[i].name = alive[i];
		nodes[i].labels = cn ? cn->labels : NULL;
		nodes[i].nlabels = cn ? cn->nlabels : 0;
	}
	memset(&in, 0, sizeof(in));
	in.cfg = cfg;
	in.node = d->node;
	in.nodes = nodes;
	in.nnodes = nalive;
	in.services = ps;
	in.nservices = k;
	if ((np = plan_build(&in)) == NULL)
		fatalx("plan_build failed");
	free(nodes);
	free(presumed);
	free(ps);
	return np;
}

/* Hand the backends what changed, then make np the running plan. */
static void
apply_plan(struct daemon *d, struct plan *np)
{
	plan_diff(d->plan, np, &diff_ops, d);
	for (size_t i = 0; i < d->nannouncers; i++)
		d->announcers[i]->ops->flush(d->announcers[i]->ctx);
	plan_free(d->plan);
	d->plan = np;
}

/* The start-up grace of membership is over: plan with what we heard. */
static void
on_l2_settled(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	d->l2_settling = false;
	log_info("membership", "start-up grace over: layer 2 owners follow the "
	    "live members");
	if (d->cfg != NULL && !d->stopping)
		apply_plan(d, build_plan(d, d->cfg, d->services, d->nservices));
}

/* Membership changed: same config and addresses, new owners. */
static void
on_members_changed(void *arg)
{
	struct daemon *d = arg;
	const char *const *alive = NULL;
	size_t n = l2_membership_alive(d->members, &alive);
	char list[512] = "";

	for (size_t i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
		    i ? ", " : "", alive[i]);
	log_info("membership", "live nodes: %s", list);
	if (d->cfg == NULL || d->stopping)
		return;
	apply_plan(d, build_plan(d, d->cfg, d->services, d->nservices));
	/* Someone may have answered for our addresses while it thought us
	 * dead: tell the clients again who owns what. */
	for (size_t i = 0; i < d->nannouncers; i++)
		if (d->announcers[i]->ops->backend == CFG_PROTO_LAYER2)
			l2_responder_reannounce(d->announcers[i]);
}

/* Allocate, persist, plan and announce for a validated config; takes ncfg. */
static void
daemon_apply(struct daemon *d, struct cfg *ncfg)
{
	struct alloc *na;
	struct daemon_service *ns;
	struct alloc_assignment *res = NULL;
	enum alloc_err *errs = NULL;
	char (*whys)[256] = NULL;
	struct alloc_prev *prev;
	size_t nprev, n = ncfg->nservices, nfail, changed = 0;
	char err[512];

	if ((na = alloc_new(ncfg)) == NULL)
		fatalx("alloc_new failed");
	prev = previous_assignments(d, &nprev);
	ns = calloc(n ? n : 1, sizeof(*ns));
	res = calloc(n ? n : 1, sizeof(*res));
	errs = calloc(n ? n : 1, sizeof(*errs));
	whys = calloc(n ? n : 1, sizeof(*whys));
	if (ns == NULL || res == NULL || errs == NULL || whys == NULL)
		fatalx("out of memory");
	nfail = alloc_assign_all(na, ncfg, prev, nprev, res, errs, whys);
	alloc_prev_free(prev, nprev);

	for (size_t i = 0; i < n; i++) {
		char a0[ADDR_STRLEN], a1[ADDR_STRLEN];

		ns[i].cfg = &ncfg->services[i];
		ns[i].assign = res[i];
		ns[i].err = errs[i];
		/* Only failures keep their reason: 100k services would
		 * otherwise carry 25 MB of empty strings. */
		if (errs[i] != ALLOC_OK && (ns[i].why = strdup(whys[i])) == NULL)
			fatalx("out of memory");
		if (errs[i] != ALLOC_OK) {
			d->alloc_failures_total++;
			log_warn("alloc", "service %s: %s", ncfg->services[i].name,
			    whys[i]);
			continue;
		}
		{
			const struct daemon_service *old = NULL;

			for (size_t j = 0; j < d->nservices; j++)
				if (strcmp(d->services[j].cfg->name,
				    ncfg->services[i].name) == 0)
					old = &d->services[j];
			if (old == NULL || old->assign.naddrs != res[i].naddrs ||
			    memcmp(old->assign.addrs, res[i].addrs,
			    sizeof(struct addr) * res[i].naddrs) != 0)
				/* One line per service, unless thousands
				 * change at once (start-up of a big config):
				 * then a summary below, details at debug. */
				log_msg(++changed <= 50 ? LOG_LVL_INFO :
				    LOG_LVL_DEBUG, "alloc",
				    "service %s: %s%s%s from pool %s",
				    res[i].service,
				    addr_ntop(&res[i].addrs[0], a0, sizeof(a0)),
				    res[i].naddrs > 1 ? ", " : "",
				    res[i].naddrs > 1 ?
				    addr_ntop(&res[i].addrs[1], a1, sizeof(a1)) : "",
				    res[i].pool);
		}
	}
	if (changed > 50)
		log_info("alloc", "%zu services got new addresses (the first 50 "
		    "are logged; --log-level debug shows all)", changed);
	if (nfail > 0)
		log_warn("alloc", "%zu of %zu services have no address", nfail, n);

	/* Persist before announcing: a crash right after must not move an IP. */
	{
		struct alloc_assignment *ok = calloc(n ? n : 1, sizeof(*ok));
		size_t nok = 0;

		if (ok == NULL)
			fatalx("out of memory");
		for (size_t i = 0; i < n; i++)
			if (ns[i].assign.naddrs > 0)
				ok[nok++] = ns[i].assign;
		if (alloc_state_save(d->state_file, ok, nok, err, sizeof(err)) == -1)
			log_error("state", "%s", err);
		free(ok);
	}

	daemon_activate(d, ncfg, ns, n, na);
	free(res);
	free(errs);
	free(whys);
}

/*
 * The one place where a validated config takes effect, in both modes:
 * membership, then the plan for these services under it, the backends'
 * sessions, only the difference announced, then the swap.  Takes ncfg, ns
 * and na.
 */
void
daemon_activate(struct daemon *d, struct cfg *ncfg, struct daemon_service *ns,
    size_t n, struct alloc *na)
{
	struct plan *np;
	char err[512];

	/* Membership first: the plan needs the live nodes of the new config.
	 * A membership that can't take the config (unreadable key file) keeps
	 * its old settings: layer 2 failover must not stop over it. */
	{
		bool was = d->members != NULL && l2_membership_enabled(d->members);

		if (d->members != NULL && l2_membership_configure(d->members,
		    ncfg, err, sizeof(err)) == -1)
			log_error("membership", "%s; keeping the previous "
			    "membership settings", err);
		if (!was && d->members != NULL &&
		    l2_membership_enabled(d->members)) {
			struct timeval tv = {
				ncfg->layer2.dead_after_ms / 1000,
				(ncfg->layer2.dead_after_ms % 1000) * 1000 };

			d->l2_settling = true;
			if (d->ev_l2_settle == NULL)
				d->ev_l2_settle = evtimer_new(d->base,
				    on_l2_settled, d);
			evtimer_add(d->ev_l2_settle, &tv);
		}
	}
	np = build_plan(d, ncfg, ns, n);
	for (size_t i = 0; i < d->nannouncers; i++)
		if (d->announcers[i]->ops->reconfigure != NULL)
			d->announcers[i]->ops->reconfigure(d->announcers[i]->ctx,
			    d->cfg, ncfg);
	apply_plan(d, np);

	/* Swap: the old config is no longer referenced. */
	free_services(d->services, d->nservices);
	d->services = ns;
	d->nservices = n;
	alloc_free(d->alloc);
	d->alloc = na;
	cfg_free(d->cfg);
	d->cfg = ncfg;
	/* A reload of a large config frees as much as it allocates; give the
	 * pages back instead of keeping the peak for good. */
	malloc_trim(0);
}

/* Same config, new services (Kubernetes mode): plan, announce, swap. */
void
daemon_set_services(struct daemon *d, struct daemon_service *ns, size_t n,
    struct alloc *na)
{
	apply_plan(d, build_plan(d, d->cfg, ns, n));
	free_services(d->services, d->nservices);
	d->services = ns;
	d->nservices = n;
	alloc_free(d->alloc);
	d->alloc = na;
}

/* Re-plan with what is there (membership or the cluster's nodes changed). */
void
daemon_replan(struct daemon *d)
{
	if (d->cfg != NULL && !d->stopping)
		apply_plan(d, build_plan(d, d->cfg, d->services, d->nservices));
}

/*
 * Who may read the status endpoint.  Loopback: anyone on the host, as
 * always.  Elsewhere: the holders of the bearer token, or anyone when the
 * config says status-insecure.  A config that would open a non-loopback
 * endpoint without either (possible when --status-listen overrides the
 * file) is refused at start, and on reload the previous token stays: the
 * endpoint never opens up by accident.
 */
static int
status_security(struct daemon *d, bool starting)
{
	const struct cfg *cfg = d->cfg;
	char err[512];
	bool loopback;

	if (d->status == NULL)
		return 0;
	loopback = status_listen_loopback(d->status_listen);
	if (cfg->status_token_file != NULL) {
		if (status_set_token(d->status, cfg->status_token_file, err,
		    sizeof(err)) == -1) {
			log_error("status", "%s%s", err, starting ? "" :
			    "; keeping the previous token");
			return -1;
		}
		log_info("status", "status endpoint requires a bearer token "
		    "(from %s)", cfg->status_token_file);
		return 0;
	}
	if (loopback || cfg->status_insecure) {
		if (!loopback)
			log_warn("status", "status endpoint on %s is readable by "
			    "anyone who can reach it (status-insecure: true)",
			    d->status_listen);
		return status_set_token(d->status, NULL, err, sizeof(err));
	}
	log_error("status", "status endpoint on %s is not on loopback: set "
	    "status-token-file or status-insecure: true%s", d->status_listen,
	    starting ? "" : "; keeping the previous token");
	return -1;
}

static void
remember_stat(struct daemon *d)
{
	d->cfg_st_valid = stat(d->opts.config_path, &d->cfg_st) == 0;
}

/* The whole file, for cfg_load_buf (and, in Kubernetes mode, kept to be
 * parsed again with each new ConfigMap). */
static char *
read_file(const char *path, size_t *lenp, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		snprintf(err, errlen, "%s:1:1: cannot read the file: %s", path,
		    strerror(errno));
		return NULL;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap * 2 + 8192;
			if ((nb = realloc(buf, cap)) == NULL)
				fatalx("out of memory");
			buf = nb;
		}
		if ((n = fread(buf + len, 1, cap - len - 1, f)) == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s:1:1: cannot read the file: %s", path,
		    strerror(errno));
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	*lenp = len;
	return buf;
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
k8s_change(const struct cfg *old, const struct cfg *new)
{
	const struct cfg_kubernetes *a = &old->kubernetes, *b = &new->kubernetes;

	if (a->enabled != b->enabled)
		return a->enabled ? "kubernetes: removing it (leaving Kubernetes "
		    "mode) takes a restart" : "kubernetes: adding it (entering "
		    "Kubernetes mode) takes a restart";
	if (!a->enabled)
		return NULL;
	if (!same_str(a->kubeconfig, b->kubeconfig))
		return "kubernetes.kubeconfig: a change takes a restart";
	if (!same_str(a->config_map, b->config_map))
		return "kubernetes.config-map: a change takes a restart";
	if (!same_str(a->lease, b->lease))
		return "kubernetes.lease: a change takes a restart";
	if (!same_str(a->load_balancer_class, b->load_balancer_class))
		return "kubernetes.load-balancer-class: a change takes a restart";
	return NULL;
}

static void
load_failed(struct daemon *d, char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		log_error("config", "%s", lines[i]);
	free_errors(d);
	d->cfg_errors = lines;
	d->ncfg_errors = n;
	d->cfg_failed_at = time(NULL);
	d->reloads_failed++;
	if (d->cfg != NULL) {
		d->cfg_stale = true;
		log_error("config", "config (re)load failed, keeping the "
		    "config loaded at %ld: marked stale",
		    (long)d->cfg_loaded_at);
	}
}

int
daemon_reload(struct daemon *d, const char *why)
{
	struct cfg_errors errs = { 0 };
	struct cfg *ncfg;
	const char *change;
	char *buf, err[1024];
	size_t len = 0;

	log_info("config", "loading %s (%s)", d->opts.config_path, why);
	/* Remember what we tried, so a broken file isn't re-read every second. */
	remember_stat(d);
	if ((buf = read_file(d->opts.config_path, &len, err, sizeof(err))) ==
	    NULL) {
		char **lines = calloc(1, sizeof(*lines));

		if (lines == NULL || (lines[0] = strdup(err)) == NULL)
			fatalx("out of memory");
		load_failed(d, lines, 1);
		return -1;
	}
	ncfg = cfg_load_buf(d->opts.config_path, buf, len, &errs);
	if (ncfg != NULL && d->cfg != NULL &&
	    (change = k8s_change(d->cfg, ncfg)) != NULL) {
		char *line;

		cfg_free(ncfg);
		ncfg = NULL;
		if (asprintf(&line, "%s: %s", d->opts.config_path, change) == -1)
			fatalx("out of memory");
		errs.lines = realloc(errs.lines, (errs.n + 1) * sizeof(char *));
		if (errs.lines == NULL)
			fatalx("out of memory");
		errs.lines[errs.n++] = line;
	}
	if (ncfg == NULL) {
		free(buf);
		load_failed(d, errs.lines, errs.n);
		errs.lines = NULL;
		errs.n = 0;
		cfg_errors_free(&errs);
		return -1;
	}
	cfg_errors_free(&errs);
	for (size_t i = 0; i < ncfg->nwarnings; i++)
		log_warn("config", "%s", ncfg->warnings[i]);
	if (d->node == NULL) {
		bool k8s = ncfg->kubernetes.enabled;

		d->node = default_node(ncfg, &d->opts);
		if (d->node == NULL)
			fatalx("out of memory");
		if (!k8s && (d->state_file = default_state_file(ncfg,
		    d->opts.config_path, d->node)) == NULL)
			fatalx("out of memory");
		/* The backends need the node name, known from now on. */
		d->announcers[d->nannouncers++] = bgp_speaker_new(d->base, d->node);
		d->announcers[d->nannouncers++] = l2_responder_new(d->base, d->node);
		d->members = l2_membership_new(d->base, d->node,
		    on_members_changed, d);
		/* The cluster holds every assignment: a start is a restart
		 * with state, as far as BGP peers are concerned (R bit). */
		if (k8s)
			bgp_speaker_set_restarted(d->announcers[0], true);
	}
	if (ncfg->kubernetes.enabled) {
		/* The cluster's part comes with the ConfigMap: the Kubernetes
		 * side composes and applies the whole. */
		if (daemon_k8s_local_loaded(d, ncfg, buf, len, err,
		    sizeof(err)) == -1) {
			log_error("kubernetes", "%s", err);
			return -1;
		}
	} else {
		free(buf);
		daemon_apply(d, ncfg);
	}
	free_errors(d);
	d->cfg_stale = false;
	d->cfg_loaded_at = time(NULL);
	d->reloads_ok++;
	(void)status_security(d, false);
	log_info("config", "loaded %s: %zu pools, %zu peers, %zu services, "
	    "%zu routes planned", d->opts.config_path, d->cfg->npools,
	    d->cfg->npeers, d->nservices, d->plan ? d->plan->nroutes : 0);
	return 0;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	if (sig == SIGHUP) {
		daemon_reload(d, "SIGHUP");
		return;
	}
	log_info("main", "%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	daemon_shutdown(d);
}

/*
 * Poll the file: inotify would miss a ConfigMap volume's atomic symlink
 * swap unless we watched the directory, and a stat a second is cheap.
 */
static void
on_watch(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct stat st;

	if (stat(d->opts.config_path, &st) == -1)
		return;		/* being replaced; try again next tick */
	if (d->cfg_st_valid && st.st_ino == d->cfg_st.st_ino &&
	    st.st_size == d->cfg_st.st_size &&
	    st.st_mtim.tv_sec == d->cfg_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == d->cfg_st.st_mtim.tv_nsec &&
	    st.st_ctim.tv_sec == d->cfg_st.st_ctim.tv_sec &&
	    st.st_ctim.tv_nsec == d->cfg_st.st_ctim.tv_nsec)
		return;
	daemon_reload(d, "file changed");
}

int
daemon_init(struct daemon *d, struct event_base *base,
    const struct daemon_opts *opts)
{
	struct timeval tv = { WATCH_INTERVAL_MS / 1000, (WATCH_INTERVAL_MS % 1000) * 1000 };
	const char *listen;
	char err[256];

	memset(d, 0, sizeof(*d));
	d->base = base;
	d->opts = *opts;
	d->started_at = time(NULL);

	if (daemon_reload(d, "startup") == -1) {
		log_error("main", "cannot start without a valid config");
		return -1;
	}
	listen = opts->status_listen ? opts->status_listen : d->cfg->status_listen;
	if (listen != NULL && *listen != '\0' && strcmp(listen, "none") != 0) {
		if ((d->status_listen = strdup(listen)) == NULL)
			fatalx("out of memory");
		d->status = status_start(d, listen, err, sizeof(err));
		if (d->status == NULL) {
			log_error("status", "%s", err);
			return -1;
		}
		if (status_security(d, true) == -1)
			return -1;
		log_info("status", "status endpoint on http://%s/", listen);
	}
	d->ev_hup = evsignal_new(base, SIGHUP, on_signal, d);
	d->ev_term = evsignal_new(base, SIGTERM, on_signal, d);
	d->ev_int = evsignal_new(base, SIGINT, on_signal, d);
	d->ev_watch = event_new(base, -1, EV_PERSIST, on_watch, d);
	if (d->ev_hup == NULL || d->ev_term == NULL || d->ev_int == NULL ||
	    d->ev_watch == NULL)
		fatalx("cannot create events");
	evsignal_add(d->ev_hup, NULL);
	evsignal_add(d->ev_term, NULL);
	evsignal_add(d->ev_int, NULL);
	event_add(d->ev_watch, &tv);
	if (d->k8s != NULL)
		log_info("main", "bgplbd running as node %s in Kubernetes mode",
		    d->node);
	else
		log_info("main", "bgplbd running as node %s, state file %s",
		    d->node, d->state_file);
	return 0;
}

void
daemon_shutdown(struct daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	for (size_t i = 0; i < d->nannouncers; i++)
		if (d->announcers[i]->ops->shutdown != NULL)
			d->announcers[i]->ops->shutdown(d->announcers[i]->ctx);
	/* Kubernetes mode hands the Lease over first (bounded in time). */
	if (d->k8s != NULL)
		daemon_k8s_shutdown(d);
	else
		event_base_loopexit(d->base, NULL);
}

void
daemon_free(struct daemon *d)
{
	if (d->status != NULL)
		status_stop(d->status);
	if (d->ev_hup)
		event_free(d->ev_hup);
	if (d->ev_term)
		event_free(d->ev_term);
	if (d->ev_int)
		event_free(d->ev_int);
	if (d->ev_watch)
		event_free(d->ev_watch);
	daemon_k8s_free(d);
	for (size_t i = 0; i < d->nannouncers; i++)
		announcer_free(d->announcers[i]);
	l2_membership_free(d->members);
	if (d->ev_l2_settle)
		event_free(d->ev_l2_settle);
	plan_free(d->plan);
	free_services(d->services, d->nservices);
	alloc_free(d->alloc);
	cfg_free(d->cfg);
	free_errors(d);
	free(d->node);
	free(d->state_file);
	free(d->status_listen);
	memset(d, 0, sizeof(*d));
}
