/*
 * source_file.c - the file source: embedded mode (plain hosts, and any
 * config without another source).
 *
 * The services are declared in the daemon's own file.  Each time the file
 * loads, this source allocates them against the new config keeping every
 * address that is still valid (the running assignments, or at the first
 * start the state file), persists the assignments before anything is
 * announced, and submits config and services to the core in one step.
 * The state file makes a restart a restart: the same addresses come back,
 * and the backends are told (BGP graceful restart's R bit).
 *
 * Services with a health-check: are checked here (src/health): a check
 * keeps its state across reloads while its target (URL, address, argv)
 * stays the same, and every transition makes the core plan again, where
 * may_serve() leaves this node out for a service whose check is not up
 * (doc/health.md).
 */
#include <event2/event.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/health.h"
#include "bgplb/log.h"
#include "bgplb/smap.h"
#include "bgplb/source.h"
#include "bgplb/util.h"

#define MOD	"file"

struct file_source {
	struct core	*core;
	char		*state_file;
	struct health_runner *health;
	struct smap	 checks;	/* service name -> struct fcheck */
	struct event	*replan;	/* transitions in one loop turn: one plan */
};

struct fcheck {
	struct smap_ent	 ent;		/* key: the service's name */
	struct health_check *hc;
	bool		 keep;
};

/* ---- health checks --------------------------------------------------------- */

static void
on_replan(evutil_socket_t fd, short what, void *arg)
{
	struct file_source *fs = arg;

	core_replan(fs->core);
}

static void
on_transition(void *arg, struct health_check *hc)
{
	struct file_source *fs = arg;

	if (!core_stopping(fs->core))
		event_active(fs->replan, EV_TIMEOUT, 0);
}

static void
fcheck_free(struct file_source *fs, struct fcheck *fc)
{
	smap_del(&fs->checks, &fc->ent);
	health_check_free(fc->hc);
	free(fc->ent.key);
	free(fc);
}

static void
free_checks(struct file_source *fs)
{
	struct smap_ent **all;
	size_t n = smap_all(&fs->checks, &all);

	for (size_t i = 0; i < n; i++)
		fcheck_free(fs, (struct fcheck *)all[i]);
	free(all);
}

/*
 * The checks of a new config: the same target keeps its check (and its
 * state: a reload does not withdraw a healthy service), with the new
 * interval, timeout, rise and fall; a new or changed target starts over
 * (pending: announced after its first rise successes).
 */
static void
sync_checks(struct file_source *fs, const struct cfg *ncfg)
{
	struct smap_ent **all;
	size_t n;

	n = smap_all(&fs->checks, &all);
	for (size_t i = 0; i < n; i++)
		((struct fcheck *)all[i])->keep = false;
	for (size_t i = 0; i < ncfg->nservices; i++) {
		const struct cfg_service *s = &ncfg->services[i];
		struct fcheck *fc;

		if (s->health.kind == CFG_CHECK_NONE)
			continue;
		fc = (struct fcheck *)smap_get(&fs->checks, s->name);
		if (fc != NULL && health_check_same_target(fc->hc, &s->health)) {
			health_check_retune(fc->hc, &s->health);
			fc->keep = true;
			continue;
		}
		if (fc != NULL) {
			log_info("health", "service %s: the check changed; it "
			    "starts again", s->name);
			/* Out of the map now, freed with the unkept below
			 * (it is in `all`). */
			smap_del(&fs->checks, &fc->ent);
			fc->keep = false;
		}
		if (fs->health == NULL)
			fs->health = health_runner_new(core_base(fs->core));
		fc = xcalloc(1, sizeof(*fc));
		fc->ent.key = xstrdup(s->name);
		fc->hc = health_check_new(fs->health, s->name, &s->health,
		    on_transition, fs);
		fc->keep = true;
		smap_add(&fs->checks, &fc->ent);
	}
	for (size_t i = 0; i < n; i++)
		if (!((struct fcheck *)all[i])->keep)
			fcheck_free(fs, (struct fcheck *)all[i]);
	free(all);
}

static struct health_check *
check_of(const struct file_source *fs, const char *service)
{
	struct fcheck *fc;

	if (smap_count(&fs->checks) == 0)
		return NULL;
	fc = (struct fcheck *)smap_get(&fs->checks, service);
	return fc != NULL ? fc->hc : NULL;
}

static bool
file_may_serve(void *ctx, const struct core_service *s)
{
	struct health_check *hc = check_of(ctx, s->cfg->name);

	return hc == NULL || health_check_up(hc);
}

static void
file_service_status(void *ctx, const struct core_service *s,
    struct json_object *out)
{
	struct health_check *hc = check_of(ctx, s->cfg->name);

	if (hc != NULL)
		json_object_object_add(out, "health", health_check_json(hc));
}

static void
file_metrics(void *ctx, struct evbuffer *out)
{
	struct file_source *fs = ctx;
	struct smap_ent **all;
	struct health_check **hcs;
	size_t n = smap_all(&fs->checks, &all);

	hcs = xcalloc(n + 1, sizeof(*hcs));
	for (size_t i = 0; i < n; i++)
		hcs[i] = ((struct fcheck *)all[i])->hc;
	health_metrics(hcs, n, out);
	free(hcs);
	free(all);
}

/* ---- allocation and submission ------------------------------------------- */

static char *
default_state_file(const struct cfg *cfg, const char *config_path,
    const char *node)
{
	char *copy, *out;

	if (cfg->state_file != NULL)
		return xstrdup(cfg->state_file);
	copy = xstrdup(config_path);
	out = xasprintf("%s/bgplb-state.%s.json", dirname(copy), node);
	free(copy);
	return out;
}

/*
 * The previous assignments to keep: the running ones when there are any,
 * else (first start) the state file.
 */
static struct alloc_prev *
previous_assignments(struct file_source *fs, size_t *n)
{
	const struct core_service *svcs;
	size_t nsvcs = core_services(fs->core, &svcs);
	struct alloc_prev *prev = NULL;
	char err[512];

	*n = 0;
	if (core_cfg(fs->core) != NULL) {
		if (nsvcs == 0)
			return NULL;
		prev = xcalloc(nsvcs, sizeof(*prev));
		for (size_t i = 0; i < nsvcs; i++) {
			const struct alloc_assignment *a = &svcs[i].assign;

			if (a->naddrs == 0)
				continue;
			prev[*n].service = xstrdup(a->service);
			memcpy(prev[*n].addrs, a->addrs, sizeof(a->addrs));
			prev[*n].naddrs = a->naddrs;
			(*n)++;
		}
		return prev;
	}
	if (alloc_state_load(fs->state_file, &prev, n, err, sizeof(err)) == -1) {
		log_warn("state", "%s; starting without previous assignments", err);
		*n = 0;
		return NULL;
	}
	if (*n > 0) {
		log_info("state", "%zu previous assignments read from %s", *n,
		    fs->state_file);
		/* A restart, not a first start: BGP peers are told (R bit). */
		core_restarted(fs->core);
	}
	return prev;
}

/* One line per service whose addresses changed, unless thousands change at
 * once (start-up of a big config): then a summary, details at debug. */
static void
log_change(const struct core_service *old, size_t nold,
    const struct alloc_assignment *a, size_t *changed)
{
	char a0[ADDR_STRLEN], a1[ADDR_STRLEN];
	const struct core_service *o = NULL;

	for (size_t j = 0; j < nold; j++)
		if (strcmp(old[j].cfg->name, a->service) == 0)
			o = &old[j];
	if (o != NULL && o->assign.naddrs == a->naddrs &&
	    memcmp(o->assign.addrs, a->addrs, sizeof(struct addr) *
	    a->naddrs) == 0)
		return;
	log_msg(++*changed <= 50 ? LOG_LVL_INFO : LOG_LVL_DEBUG, "alloc",
	    "service %s: %s%s%s from pool %s", a->service,
	    addr_ntop(&a->addrs[0], a0, sizeof(a0)), a->naddrs > 1 ? ", " : "",
	    a->naddrs > 1 ? addr_ntop(&a->addrs[1], a1, sizeof(a1)) : "",
	    a->pool);
}

/* Persist before announcing: a crash right after must not move an IP. */
static void
save_state(struct file_source *fs, const struct core_service *ns, size_t n)
{
	struct alloc_assignment *ok = xcalloc(n, sizeof(*ok));
	size_t nok = 0;
	char err[512];

	for (size_t i = 0; i < n; i++)
		if (ns[i].assign.naddrs > 0)
			ok[nok++] = ns[i].assign;
	if (alloc_state_save(fs->state_file, ok, nok, err, sizeof(err)) == -1)
		log_error("state", "%s", err);
	free(ok);
}

/* Allocate, persist and submit a validated config; takes ncfg and buf. */
static int
file_config_loaded(void *ctx, struct cfg *ncfg, char *buf, size_t len,
    char *err, size_t errlen)
{
	struct file_source *fs = ctx;
	const struct core_service *old;
	size_t nold = core_services(fs->core, &old);
	struct alloc *na;
	struct core_service *ns;
	struct alloc_assignment *res;
	enum alloc_err *errs;
	char (*whys)[256];
	struct alloc_prev *prev;
	size_t nprev, n = ncfg->nservices, nfail, changed = 0;

	free(buf);
	if ((na = alloc_new(ncfg)) == NULL)
		fatalx("alloc_new failed");
	prev = previous_assignments(fs, &nprev);
	ns = xcalloc(n, sizeof(*ns));
	res = xcalloc(n, sizeof(*res));
	errs = xcalloc(n, sizeof(*errs));
	whys = xcalloc(n, sizeof(*whys));
	nfail = alloc_assign_all(na, ncfg, prev, nprev, res, errs, whys);
	alloc_prev_free(prev, nprev);

	for (size_t i = 0; i < n; i++) {
		ns[i].cfg = &ncfg->services[i];
		ns[i].assign = res[i];
		ns[i].err = errs[i];
		if (errs[i] == ALLOC_OK) {
			log_change(old, nold, &res[i], &changed);
			continue;
		}
		/* Only failures keep their reason: 100k services would
		 * otherwise carry 25 MB of empty strings. */
		ns[i].why = xstrdup(whys[i]);
		log_warn("alloc", "service %s: %s", ncfg->services[i].name,
		    whys[i]);
	}
	core_count_alloc_failures(fs->core, nfail);
	if (changed > 50)
		log_info("alloc", "%zu services got new addresses (the first 50 "
		    "are logged; --log-level debug shows all)", changed);
	if (nfail > 0)
		log_warn("alloc", "%zu of %zu services have no address", nfail, n);
	save_state(fs, ns, n);
	sync_checks(fs, ncfg);
	core_submit(fs->core, ncfg, ns, n, na);
	free(res);
	free(errs);
	free(whys);
	return 0;
}

static bool
file_claims(const struct cfg *cfg)
{
	return true;
}

static void *
file_create(struct core *core, const struct cfg *first, char *err,
    size_t errlen)
{
	struct file_source *fs = xcalloc(1, sizeof(*fs));

	fs->core = core;
	fs->state_file = default_state_file(first, core_config_path(core),
	    core_node(core));
	smap_init(&fs->checks);
	fs->replan = event_new(core_base(core), -1, 0, on_replan, fs);
	return fs;
}

static void
file_started(void *ctx)
{
	struct file_source *fs = ctx;

	log_info("main", "bgplbd running as node %s, state file %s",
	    core_node(fs->core), fs->state_file);
}

static void
file_status(void *ctx, struct json_object *out)
{
	struct file_source *fs = ctx;

	json_object_object_add(out, "state_file",
	    json_object_new_string(fs->state_file));
	json_object_object_add(out, "health_checks",
	    json_object_new_int64((int64_t)smap_count(&fs->checks)));
}

static void
file_shutdown(void *ctx)
{
	struct file_source *fs = ctx;

	/* No program of a check outlives the daemon. */
	free_checks(fs);
	core_stopped(fs->core);
}

static void
file_destroy(void *ctx)
{
	struct file_source *fs = ctx;

	if (fs == NULL)
		return;
	free_checks(fs);
	smap_fini(&fs->checks);
	health_runner_free(fs->health);
	if (fs->replan != NULL)
		event_free(fs->replan);
	free(fs->state_file);
	free(fs);
}

const struct source_ops file_source_ops = {
	.name = MOD,
	.claims = file_claims,
	.create = file_create,
	.started = file_started,
	.config_loaded = file_config_loaded,
	.may_serve = file_may_serve,
	.service_status = file_service_status,
	.status = file_status,
	.metrics = file_metrics,
	.shutdown = file_shutdown,
	.destroy = file_destroy,
};
