/*
 * daemon.c - the core: the running config, the services with their
 * allocation, the plan, the backends, and the source that feeds them.
 *
 * Every change goes through one path, core_submit(): a source (the file
 * source in embedded mode, the Kubernetes source in a cluster) hands over a
 * validated config and/or its services with their allocation; the core
 * builds the new plan, hands only the difference to the backends, then
 * swaps.  A config that fails to load never reaches a source: it is logged,
 * remembered for the status endpoint and the running state stays untouched,
 * so a typo can never withdraw a route.
 *
 * The core knows sources and backends only by their descriptors
 * (bgplb/source.h, bgplb/announce.h): it creates the backends once, when the
 * first config names the node, and routes plan changes to them by protocol;
 * everything else it tells them through optional hooks.
 */
#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bgplb/hmap.h"
#include "bgplb/l2.h"
#include "bgplb/log.h"
#include "bgplb/util.h"
#include "daemon.h"
#include "notify.h"
#include "status.h"

#define WATCH_INTERVAL_MS	1000

static void
free_errors(struct core *d)
{
	for (size_t i = 0; i < d->ncfg_errors; i++)
		free(d->cfg_errors[i]);
	free(d->cfg_errors);
	d->cfg_errors = NULL;
	d->ncfg_errors = 0;
}

static void
free_services(struct core_service *s, size_t n)
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

static void
diff_announce(void *arg, const struct plan_route *r)
{
	struct core *d = arg;

	for (size_t i = 0; i < d->nannouncers; i++)
		if (d->announcers[i]->ops->backend == r->backend)
			d->announcers[i]->ops->announce(d->announcers[i]->ctx, r);
}

static void
diff_withdraw(void *arg, const struct plan_route *r)
{
	struct core *d = arg;

	for (size_t i = 0; i < d->nannouncers; i++)
		if (d->announcers[i]->ops->backend == r->backend)
			d->announcers[i]->ops->withdraw(d->announcers[i]->ctx, r);
}

static const struct plan_diff_ops diff_ops = {
	.announce = diff_announce,
	.withdraw = diff_withdraw,
};

/*
 * The nodes the plan may use when the source has no say: the members that
 * membership says are alive (this node included), or this node alone
 * without membership; their labels come from the config's nodes: list.
 */
static size_t
membership_nodes(struct core *d, const struct cfg *cfg, struct plan_node **out)
{
	const char *const *alive = NULL;
	const char *self = d->node;
	const char **presumed = NULL;
	struct plan_node *nodes;
	size_t nalive = 0;

	switch (core_members_alive(d, &alive, &nalive)) {
	case CORE_MEMBERS_OFF:
		nalive = 0;
		break;
	case CORE_MEMBERS_LIVE:
		break;
	case CORE_MEMBERS_SETTLING: {
		/*
		 * Just started: nobody has been heard yet, which is not the
		 * same as everybody being dead.  Until dead-after has passed,
		 * presume the configured members alive, so a restarting node
		 * never grabs (and gratuitously ARPs) addresses that another
		 * node owns.
		 */
		size_t m = cfg->layer2.nmembers;

		presumed = xcalloc(m + 1, sizeof(*presumed));
		presumed[0] = self;
		nalive = 1;
		for (size_t i = 0; i < m; i++)
			if (strcmp(cfg->layer2.members[i].name, self) != 0)
				presumed[nalive++] = cfg->layer2.members[i].name;
		alive = presumed;
		break;
	}
	}
	if (nalive == 0) {
		alive = &self;
		nalive = 1;
	}
	nodes = xcalloc(nalive, sizeof(*nodes));
	for (size_t i = 0; i < nalive; i++) {
		const struct cfg_node *cn = cfg_node_find(cfg, alive[i]);

		/* The names stay valid: d->node, the config's, membership's. */
		nodes[i].name = alive[i];
		nodes[i].labels = cn ? cn->labels : NULL;
		nodes[i].nlabels = cn ? cn->nlabels : 0;
	}
	free(presumed);
	*out = nodes;
	return nalive;
}

/*
 * This node's services that it may not serve now (the source's may_serve),
 * as hashes of their names, to membership: they go with every heartbeat.
 * Also called before membership is (re)configured, whose first heartbeat
 * must not call a starting node fit for services it has not checked yet.
 */
static void
local_down(struct core *d, const struct core_service *svcs, size_t n)
{
	uint64_t *mine = NULL;
	size_t nmine = 0;

	if (d->members == NULL)
		return;
	for (size_t i = 0; d->src != NULL && d->src->may_serve != NULL &&
	    i < n; i++) {
		const char *name = svcs[i].cfg->name;

		if (svcs[i].assign.naddrs == 0 ||
		    d->src->may_serve(d->src_ctx, &svcs[i]))
			continue;
		mine = xreallocarray(mine, nmine + 1, sizeof(*mine));
		mine[nmine++] = hmap_hash(name, strlen(name));
	}
	l2_membership_set_down(d->members, mine, nmine);
	free(mine);
}

/*
 * Which nodes may not serve each service now (struct plan_service.down):
 * this node when the source's may_serve says no, and every live member
 * whose heartbeats say so.  This node's list goes to membership (hashes of
 * the names), so the other members leave it out too.  The names in *flat
 * stay valid during plan_build: this node's, membership's, the config's.
 */
static void
fill_down(struct core *d, const struct core_service *svcs, size_t n,
    struct plan_service *ps, const size_t *idx, size_t k,
    const struct plan_node *nodes, size_t nn, const char ***flat)
{
	bool ask = d->src != NULL && d->src->may_serve != NULL;
	bool members = d->members != NULL &&
	    l2_membership_reported_down(d->members) > 0;
	size_t *off, nflat = 0, cap = 0;

	*flat = NULL;
	local_down(d, svcs, n);
	if (!ask && !members)
		return;
	off = xcalloc(k + 1, sizeof(*off));
	for (size_t j = 0; j < k; j++) {
		const struct core_service *s = &svcs[idx[j]];
		const char *name = s->cfg->name;
		uint64_t h = hmap_hash(name, strlen(name));

		off[j] = nflat;
		if (nflat + nn + 1 > cap) {
			cap = (cap + nn + 1) * 2;
			*flat = xreallocarray(*flat, cap, sizeof(**flat));
		}
		if (ask && !d->src->may_serve(d->src_ctx, s))
			(*flat)[nflat++] = d->node;
		for (size_t m = 0; members && m < nn; m++)
			if (strcmp(nodes[m].name, d->node) != 0 &&
			    l2_membership_member_down(d->members, nodes[m].name,
			    h))
				(*flat)[nflat++] = nodes[m].name;
	}
	off[k] = nflat;
	for (size_t j = 0; j < k; j++) {
		ps[j].down = *flat + off[j];
		ps[j].ndown = off[j + 1] - off[j];
	}
	free(off);
}

/*
 * The plan for these services under cfg, on the nodes the source names
 * (or membership, where the source has no say).  A node that may not
 * announce plans no service at all.
 */
static struct plan *
build_plan(struct core *d, const struct cfg *cfg,
    const struct core_service *svcs, size_t n)
{
	struct plan_service *ps = xcalloc(n, sizeof(*ps));
	size_t *idx = xcalloc(n, sizeof(*idx));
	struct plan_node *nodes = NULL;
	const char **flat = NULL;
	struct plan_input in;
	struct plan *np;
	size_t k = 0, nn;
	bool may = true;

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
		ps[k].no_endpoints = svcs[i].cfg->no_endpoints;
		idx[k] = i;
		k++;
	}
	if (d->src != NULL && d->src->nodes != NULL)
		nn = d->src->nodes(d->src_ctx, cfg, &nodes);
	else
		nn = membership_nodes(d, cfg, &nodes);
	if (d->src != NULL && d->src->may_announce != NULL)
		may = d->src->may_announce(d->src_ctx);
	fill_down(d, svcs, n, ps, idx, k, nodes, nn, &flat);
	memset(&in, 0, sizeof(in));
	in.cfg = cfg;
	in.node = d->node;
	in.nodes = nodes;
	in.nnodes = nn;
	in.services = ps;
	in.nservices = may ? k : 0;
	if ((np = plan_build(&in)) == NULL)
		fatalx("plan_build failed");
	free(flat);
	free(nodes);
	free(idx);
	free(ps);
	return np;
}

/* Hand the backends what changed, then make np the running plan. */
static void
apply_plan(struct core *d, struct plan *np)
{
	plan_diff(d->plan, np, &diff_ops, d);
	for (size_t i = 0; i < d->nannouncers; i++)
		d->announcers[i]->ops->flush(d->announcers[i]->ctx);
	plan_free(d->plan);
	d->plan = np;
}

/* The source hears of every plan that took effect (after the swap). */
static void
tell_plan_applied(struct core *d)
{
	if (d->src != NULL && d->src->plan_applied != NULL)
		d->src->plan_applied(d->src_ctx, d->plan);
}

/* The start-up grace of membership is over: plan with what we heard. */
static void
on_l2_settled(evutil_socket_t fd, short what, void *arg)
{
	struct core *d = arg;

	d->l2_settling = false;
	log_info("membership", "start-up grace over: layer 2 owners follow the "
	    "live members");
	if (d->cfg != NULL && !d->stopping) {
		apply_plan(d, build_plan(d, d->cfg, d->services, d->nservices));
		tell_plan_applied(d);
	}
}

/* Membership changed: same config and addresses, new owners. */
static void
on_members_changed(void *arg)
{
	struct core *d = arg;
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
	tell_plan_applied(d);
	/* Someone may have answered for our addresses while it thought us
	 * dead: the backends tell the clients again who owns what. */
	for (size_t i = 0; i < d->nannouncers; i++)
		if (d->announcers[i]->ops->nodes_changed != NULL)
			d->announcers[i]->ops->nodes_changed(d->announcers[i]->ctx);
	if (d->src != NULL && d->src->nodes_changed != NULL)
		d->src->nodes_changed(d->src_ctx);
}

/* Members of cfg other than this node. */
static size_t
other_members(const struct core *d, const struct cfg *cfg)
{
	size_t n = 0;

	for (size_t i = 0; cfg != NULL && i < cfg->layer2.nmembers; i++)
		n += strcmp(cfg->layer2.members[i].name, d->node) != 0;
	return n;
}

/*
 * Membership first: the plan needs the live nodes of the new config.  A
 * membership that can't take the config (unreadable key file) keeps its
 * old settings: layer 2 failover must not stop over it.
 *
 * The start-up grace (members presumed alive for dead-after) starts when
 * membership starts, and again when the first other members become known:
 * in a cluster they come with the Node list, which may arrive long after
 * membership started; until they have had a chance to be heard, having
 * heard nobody is no evidence of being alone.
 */
static void
configure_membership(struct core *d, const struct cfg *ncfg)
{
	bool was = d->members != NULL && l2_membership_enabled(d->members);
	size_t had = other_members(d, d->cfg);
	char err[512];

	if (d->members != NULL && l2_membership_configure(d->members, ncfg, err,
	    sizeof(err)) == -1) {
		log_error("membership", "%s; keeping the previous membership "
		    "settings", err);
		return;
	}
	if (d->members == NULL || !l2_membership_enabled(d->members))
		return;
	if (!was || (had == 0 && other_members(d, ncfg) > 0)) {
		struct timeval tv = { ncfg->layer2.dead_after_ms / 1000,
			(ncfg->layer2.dead_after_ms % 1000) * 1000 };

		if (was)
			log_info("membership", "the other members are known now: "
			    "presumed alive until they have had %u ms to be "
			    "heard", ncfg->layer2.dead_after_ms);
		d->l2_settling = true;
		if (d->ev_l2_settle == NULL)
			d->ev_l2_settle = evtimer_new(d->base, on_l2_settled, d);
		evtimer_add(d->ev_l2_settle, &tv);
	}
}

/*
 * The one place where a source's decision takes effect.  With a new
 * config: membership, then the plan for these services under it, the
 * backends' sessions, only the difference announced, then the swap.
 * Without: the plan for the new services, the difference, the swap.
 * Takes ncfg, ns and na.
 */
void
core_submit(struct core *d, struct cfg *ncfg, struct core_service *ns,
    size_t n, struct alloc *na)
{
	struct plan *np;

	if (ncfg != NULL) {
		local_down(d, ns, n);
		configure_membership(d, ncfg);
		np = build_plan(d, ncfg, ns, n);
		for (size_t i = 0; i < d->nannouncers; i++)
			if (d->announcers[i]->ops->reconfigure != NULL)
				d->announcers[i]->ops->reconfigure(
				    d->announcers[i]->ctx, d->cfg, ncfg);
	} else
		np = build_plan(d, d->cfg, ns, n);
	apply_plan(d, np);

	/* Swap: the old config and services are no longer referenced. */
	free_services(d->services, d->nservices);
	d->services = ns;
	d->nservices = n;
	alloc_free(d->alloc);
	d->alloc = na;
	if (ncfg != NULL) {
		cfg_free(d->cfg);
		d->cfg = ncfg;
		d->cfg_loaded_at = time(NULL);
		/* A reload of a large config frees as much as it allocates;
		 * give the pages back instead of keeping the peak for good. */
		malloc_trim(0);
	}
	tell_plan_applied(d);
}

/* Re-plan with what is there (the nodes changed). */
void
core_replan(struct core *d)
{
	if (d->cfg != NULL && !d->stopping) {
		apply_plan(d, build_plan(d, d->cfg, d->services, d->nservices));
		tell_plan_applied(d);
	}
}

void
core_restarted(struct core *d)
{
	for (size_t i = 0; i < d->nannouncers; i++)
		if (d->announcers[i]->ops->restarted != NULL)
			d->announcers[i]->ops->restarted(d->announcers[i]->ctx,
			    true);
}

void
core_stopped(struct core *d)
{
	event_base_loopexit(d->base, NULL);
}

void
core_count_alloc_failures(struct core *d, unsigned long n)
{
	d->alloc_failures_total += n;
}

struct event_base *
core_base(const struct core *d)
{
	return d->base;
}

const char *
core_node(const struct core *d)
{
	return d->node;
}

const char *
core_config_path(const struct core *d)
{
	return d->opts.config_path;
}

const struct cfg *
core_cfg(const struct core *d)
{
	return d->cfg;
}

const struct plan *
core_plan(const struct core *d)
{
	return d->plan;
}

const struct alloc *
core_alloc(const struct core *d)
{
	return d->alloc;
}

size_t
core_services(const struct core *d, const struct core_service **out)
{
	*out = d->services;
	return d->nservices;
}

bool
core_stopping(const struct core *d)
{
	return d->stopping;
}

enum core_role
core_role(const struct core *d)
{
	return d->opts.role;
}

static const char *const role_names[] = {
	[CORE_ROLE_BOTH] = "both",
	[CORE_ROLE_ALLOCATOR] = "allocator",
	[CORE_ROLE_SPEAKER] = "speaker",
};

const char *
core_role_name(enum core_role r)
{
	return (unsigned)r < sizeof(role_names) / sizeof(role_names[0]) ?
	    role_names[r] : "?";
}

int
core_role_parse(const char *s, enum core_role *out)
{
	for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (strcmp(s, role_names[i]) == 0) {
			*out = (enum core_role)i;
			return 0;
		}
	return -1;
}

enum core_members
core_members_alive(const struct core *d, const char *const **alive,
    size_t *n)
{
	*alive = NULL;
	*n = 0;
	if (d->members == NULL || !l2_membership_enabled(d->members))
		return CORE_MEMBERS_OFF;
	if (d->l2_settling)
		return CORE_MEMBERS_SETTLING;
	*n = l2_membership_alive(d->members, alive);
	return CORE_MEMBERS_LIVE;
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
status_security(struct core *d, bool starting)
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
remember_stat(struct core *d)
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

static void
load_failed(struct core *d, char **lines, size_t n)
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

/*
 * The backends, membership and the source, once: the first config that
 * loads names the node.  The source is the first of the registered ones
 * that claims this config.
 */
static int
start_source(struct core *d, const struct cfg *cfg)
{
	const struct source_ops *const *sp;
	char err[1024];

	if ((d->node = default_node(cfg, &d->opts)) == NULL)
		fatalx("out of memory");
	for (sp = d->opts.sources; sp != NULL && *sp != NULL; sp++)
		if ((*sp)->claims(cfg))
			break;
	if (sp == NULL || *sp == NULL) {
		log_error("config", "%s: no source serves this configuration",
		    d->opts.config_path);
		return -1;
	}
	if (d->opts.role != CORE_ROLE_BOTH && !(*sp)->roles) {
		log_error("main", "--role %s: the %s source has no roles (in "
		    "embedded mode one process does everything; --role is for "
		    "Kubernetes mode, a config with a kubernetes: section)",
		    core_role_name(d->opts.role), (*sp)->name);
		return -1;
	}
	/* An allocator announces nothing: no backends (no BGP sessions, no
	 * packet sockets), no layer 2 membership. */
	for (const announcer_new_fn *b = d->opts.backends; b != NULL && *b != NULL &&
	    d->opts.role != CORE_ROLE_ALLOCATOR; b++) {
		if (d->nannouncers == CORE_MAX_ANNOUNCERS)
			fatalx("more than %d backends", CORE_MAX_ANNOUNCERS);
		d->announcers[d->nannouncers++] = (*b)(d->base, d->node);
	}
	if (!d->opts.no_membership && d->opts.role != CORE_ROLE_ALLOCATOR)
		d->members = l2_membership_new(d->base, d->node,
		    on_members_changed, d);
	if ((*sp)->create != NULL &&
	    (d->src_ctx = (*sp)->create(d, cfg, err, sizeof(err))) == NULL) {
		log_error((*sp)->name, "%s", err);
		return -1;
	}
	d->src = *sp;
	return 0;
}

/*
 * Why a reload to ncfg is refused, or NULL: what the running source says
 * a reload can't change, or a config that another source would serve (a
 * change of mode takes a restart).
 */
static const char *
reload_refused(struct core *d, const struct cfg *ncfg, char *buf, size_t len)
{
	const struct source_ops *const *sp;
	const char *why;

	if (d->src->reload_refused != NULL && d->cfg != NULL &&
	    (why = d->src->reload_refused(d->src_ctx, d->cfg, ncfg)) != NULL)
		return why;
	for (sp = d->opts.sources; *sp != NULL; sp++)
		if ((*sp)->claims(ncfg))
			break;
	if (*sp != NULL && *sp != d->src) {
		snprintf(buf, len, "this configuration is for the %s source, "
		    "the daemon runs the %s source: a change of mode takes a "
		    "restart", (*sp)->name, d->src->name);
		return buf;
	}
	return NULL;
}

static int
load_config(struct core *d, const char *why)
{
	struct cfg_errors errs = { 0 };
	struct cfg *ncfg;
	const char *change;
	char *buf, err[1024], whybuf[256];
	size_t len = 0;

	log_info("config", "loading %s (%s)", d->opts.config_path, why);
	/* Remember what we tried, so a broken file isn't re-read every second. */
	remember_stat(d);
	if ((buf = read_file(d->opts.config_path, &len, err, sizeof(err))) ==
	    NULL) {
		char **lines = xcalloc(1, sizeof(*lines));

		lines[0] = xstrdup(err);
		load_failed(d, lines, 1);
		return -1;
	}
	ncfg = cfg_load_buf(d->opts.config_path, buf, len, &errs);
	if (ncfg != NULL && d->src != NULL &&
	    (change = reload_refused(d, ncfg, whybuf, sizeof(whybuf))) != NULL) {
		cfg_free(ncfg);
		ncfg = NULL;
		errs.lines = xreallocarray(errs.lines, errs.n + 1,
		    sizeof(char *));
		errs.lines[errs.n++] = xasprintf("%s: %s", d->opts.config_path,
		    change);
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
	if (d->src == NULL && start_source(d, ncfg) == -1) {
		cfg_free(ncfg);
		free(buf);
		return -1;
	}
	/* The source takes the config and the file's bytes: it allocates and
	 * submits now (file), or composes with what it holds (cluster). */
	if (d->src->config_loaded(d->src_ctx, ncfg, buf, len, err,
	    sizeof(err)) == -1) {
		log_error(d->src->name, "%s", err);
		return -1;
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

/* A reload, as the service manager sees it (notify.c): RELOADING, then
 * READY again whatever the outcome (a failed one keeps the running config). */
int
daemon_reload(struct core *d, const char *why)
{
	int rc;

	notify_reloading();
	rc = load_config(d, why);
	notify_ready(rc == 0 ? "running" :
	    "the last reload failed: running the previous config (stale)");
	return rc;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct core *d = arg;

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
	struct core *d = arg;
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
daemon_init(struct core *d, struct event_base *base,
    const struct daemon_opts *opts)
{
	struct timeval tv = { WATCH_INTERVAL_MS / 1000, (WATCH_INTERVAL_MS % 1000) * 1000 };
	const char *listen;
	char err[256];

	memset(d, 0, sizeof(*d));
	d->base = base;
	d->opts = *opts;
	d->started_at = time(NULL);

	if (load_config(d, "startup") == -1) {
		log_error("main", "cannot start without a valid config");
		return -1;
	}
	listen = opts->status_listen ? opts->status_listen : d->cfg->status_listen;
	if (listen != NULL && *listen != '\0' && strcmp(listen, "none") != 0) {
		d->status_listen = xstrdup(listen);
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
	if (d->src->started != NULL)
		d->src->started(d->src_ctx);
	return 0;
}

/* Withdraw everything (the backends), then the source's orderly stop,
 * which ends the loop when it is done (the cluster's Lease handed over). */
void
daemon_shutdown(struct core *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	notify_stopping();
	for (size_t i = 0; i < d->nannouncers; i++)
		if (d->announcers[i]->ops->shutdown != NULL)
			d->announcers[i]->ops->shutdown(d->announcers[i]->ctx);
	if (d->src != NULL && d->src->shutdown != NULL)
		d->src->shutdown(d->src_ctx);
	else
		core_stopped(d);
}

void
daemon_free(struct core *d)
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
	/* The services point into the source's configs: they go first. */
	free_services(d->services, d->nservices);
	d->services = NULL;
	d->nservices = 0;
	if (d->src != NULL && d->src->destroy != NULL)
		d->src->destroy(d->src_ctx);
	for (size_t i = 0; i < d->nannouncers; i++)
		announcer_free(d->announcers[i]);
	l2_membership_free(d->members);
	if (d->ev_l2_settle)
		event_free(d->ev_l2_settle);
	plan_free(d->plan);
	alloc_free(d->alloc);
	cfg_free(d->cfg);
	free_errors(d);
	free(d->node);
	free(d->status_listen);
	memset(d, 0, sizeof(*d));
}
