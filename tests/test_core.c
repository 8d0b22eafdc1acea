/*
 * test_core.c - the core driven through its two descriptors, without
 * sockets: a fake source (bgplb/source.h) that allocates the file's
 * services and can be told what to say about nodes, eligibility and
 * staleness, and recording backends (bgplb/announce.h) that write down
 * every call.  Covered: start, reload, a broken reload (stale, nothing
 * withdrawn), a refused reload, restart (the hook before the first
 * announce), the nodes changing (layer 2 owner moves), a node that may not
 * announce, source status/metrics/staleness, the orderly stop, and the
 * roles (--role: no backends for an allocator; refused by a source
 * without roles).
 */
#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bgplb/announce.h"
#include "bgplb/source.h"
#include "bgplb/util.h"
#include "daemon.h"
#include "status.h"

/* ---- recording backends --------------------------------------------------- */

#define MAXLOG 64

struct rec {
	enum cfg_proto	 proto;
	char		*log[MAXLOG];	/* "A 192.0.2.1/32", "W ...", "F", "R", "N", "C", "S" */
	size_t		 nlog;
	int		 active;	/* routes announced and not withdrawn */
	char		*activep[MAXLOG];	/* their prefixes */
	size_t		 nactive;
};

static struct rec *recs[2];

/* Log "what" followed by the route's prefix (if any). */
static void
rec_add(struct rec *r, const char *what, const struct plan_route *pr)
{
	char p[ADDR_STRLEN + 8];

	ck_assert_uint_lt(r->nlog, MAXLOG);
	r->log[r->nlog++] = pr != NULL ? xasprintf("%c %s", what[0],
	    prefix_ntop(&pr->prefix, p, sizeof(p))) : xstrdup(what);
}

/* Is the route's prefix in the backend's active set?  Set or clear it. */
static bool
rec_set(struct rec *rc, const struct plan_route *r, int on)
{
	char p[ADDR_STRLEN + 8], *k;

	prefix_ntop(&r->prefix, p, sizeof(p));
	for (size_t i = 0; i < rc->nactive; i++)
		if (strcmp(rc->activep[i], p) == 0) {
			if (on == 0) {
				free(rc->activep[i]);
				rc->activep[i] = rc->activep[--rc->nactive];
				rc->active--;
			}
			return true;
		}
	if (on == 1) {
		ck_assert_uint_lt(rc->nactive, MAXLOG);
		k = xstrdup(p);
		rc->activep[rc->nactive++] = k;
		rc->active++;
	}
	return false;
}

/* Layer 2 routes name their owner; only the owner answers, so a route
 * announced with another owner replaces (ends) ours. */
static void
rec_announce(void *ctx, const struct plan_route *r)
{
	struct rec *rc = ctx;
	bool mine = r->backend != CFG_PROTO_LAYER2 || r->local;

	rec_add(rc, mine ? "A %s" : "a %s", r);
	rec_set(rc, r, mine ? 1 : 0);
}

static void
rec_withdraw(void *ctx, const struct plan_route *r)
{
	rec_add(ctx, "W %s", r);
	rec_set(ctx, r, 0);
}

static void rec_flush(void *ctx) { rec_add(ctx, "F", NULL); }
static void rec_reconfigure(void *ctx, const struct cfg *o, const struct cfg *n)
{
	rec_add(ctx, "C", NULL);
}
static void rec_restarted(void *ctx, bool r) { rec_add(ctx, r ? "R" : "r", NULL); }
static void rec_nodes_changed(void *ctx) { rec_add(ctx, "N", NULL); }
static void rec_shutdown(void *ctx) { rec_add(ctx, "S", NULL); }
static void
rec_destroy(void *ctx)
{
	struct rec *r = ctx;

	for (size_t i = 0; i < r->nlog; i++)
		free(r->log[i]);
	for (size_t i = 0; i < r->nactive; i++)
		free(r->activep[i]);
	free(r);
}

static const struct announcer_ops rec_bgp_ops = {
	.name = "rec-bgp", .backend = CFG_PROTO_BGP,
	.announce = rec_announce, .withdraw = rec_withdraw, .flush = rec_flush,
	.reconfigure = rec_reconfigure, .restarted = rec_restarted,
	.nodes_changed = rec_nodes_changed, .shutdown = rec_shutdown,
	.destroy = rec_destroy,
};
static const struct announcer_ops rec_l2_ops = {
	.name = "rec-l2", .backend = CFG_PROTO_LAYER2,
	.announce = rec_announce, .withdraw = rec_withdraw, .flush = rec_flush,
	.reconfigure = rec_reconfigure, .nodes_changed = rec_nodes_changed,
	.shutdown = rec_shutdown, .destroy = rec_destroy,
};

static struct announcer *
rec_new(const struct announcer_ops *ops, int slot)
{
	struct announcer *a = xcalloc(1, sizeof(*a));
	struct rec *r = xcalloc(1, sizeof(*r));

	r->proto = ops->backend;
	a->ops = ops;
	a->ctx = r;
	recs[slot] = r;
	return a;
}

static struct announcer *
rec_bgp_new(struct event_base *b, const char *node)
{
	return rec_new(&rec_bgp_ops, 0);
}

static struct announcer *
rec_l2_new(struct event_base *b, const char *node)
{
	return rec_new(&rec_l2_ops, 1);
}

/* Is `line` in backend slot's log at or after index from? */
static bool
logged(int slot, size_t from, const char *line)
{
	for (size_t i = from; i < recs[slot]->nlog; i++)
		if (strcmp(recs[slot]->log[i], line) == 0)
			return true;
	return false;
}

static size_t
count_prefix(int slot, size_t from, char c)
{
	size_t n = 0;

	for (size_t i = from; i < recs[slot]->nlog; i++)
		n += recs[slot]->log[i][0] == c;
	return n;
}

/* ---- the fake source ------------------------------------------------------ */

struct fake {
	struct core	*core;
	int		 loaded;		/* config_loaded calls */
	int		 applied;		/* plan_applied calls */
	int		 nodes_changed;
	int		 shutdowns;
	bool		 restarted;		/* tell the core at the first load */
	bool		 refuse_pools;		/* reload_refused: pool count changed */
	bool		 stale;
	bool		 may;			/* may_announce */
	const char	*nodes[4];		/* NULL-terminated; [0] NULL: default */
	struct cfg	*last;			/* the config it last submitted */
};

static struct fake F;

static bool fake_claims(const struct cfg *c) { return true; }

static void *
fake_create(struct core *core, const struct cfg *first, char *err, size_t len)
{
	F.core = core;
	return &F;
}

static int
fake_config_loaded(void *ctx, struct cfg *cfg, char *buf, size_t len,
    char *err, size_t errlen)
{
	struct fake *f = ctx;
	size_t n = cfg->nservices;
	struct core_service *ns = xcalloc(n, sizeof(*ns));
	struct alloc_assignment *res = xcalloc(n, sizeof(*res));
	enum alloc_err *errs = xcalloc(n, sizeof(*errs));
	char (*whys)[256] = xcalloc(n, sizeof(*whys));
	struct alloc *a = alloc_new(cfg);

	free(buf);
	if (f->loaded++ == 0 && f->restarted)
		core_restarted(f->core);
	alloc_assign_all(a, cfg, NULL, 0, res, errs, whys);
	for (size_t i = 0; i < n; i++) {
		ns[i].cfg = &cfg->services[i];
		ns[i].assign = res[i];
		ns[i].err = errs[i];
	}
	f->last = cfg;
	core_submit(f->core, cfg, ns, n, a);
	free(res);
	free(errs);
	free(whys);
	return 0;
}

static const char *
fake_reload_refused(void *ctx, const struct cfg *old, const struct cfg *new)
{
	struct fake *f = ctx;

	return f->refuse_pools && old->npools != new->npools ?
	    "pools: a change takes a restart (fake)" : NULL;
}

static size_t
fake_nodes(void *ctx, const struct cfg *cfg, struct plan_node **out)
{
	struct fake *f = ctx;
	size_t n = 0;

	*out = xcalloc(4, sizeof(**out));
	if (f->nodes[0] == NULL) {
		(*out)[0].name = core_node(f->core);
		return 1;
	}
	for (; n < 4 && f->nodes[n] != NULL; n++)
		(*out)[n].name = f->nodes[n];
	return n;
}

static bool fake_may(void *ctx) { return ((struct fake *)ctx)->may; }
static void fake_applied(void *ctx, const struct plan *p) { ((struct fake *)ctx)->applied++; }
static void fake_nodes_changed(void *ctx) { ((struct fake *)ctx)->nodes_changed++; }
static bool fake_stale(void *ctx) { return ((struct fake *)ctx)->stale; }

static void
fake_status(void *ctx, struct json_object *out)
{
	json_object_object_add(out, "fake", json_object_new_int(
	    ((struct fake *)ctx)->loaded));
}

static void
fake_metrics(void *ctx, struct evbuffer *b)
{
	evbuffer_add_printf(b, "fake_loaded %d\n", ((struct fake *)ctx)->loaded);
}

static void
fake_shutdown(void *ctx)
{
	struct fake *f = ctx;

	f->shutdowns++;
	core_stopped(f->core);
}

static const struct source_ops fake_ops = {
	.name = "fake", .claims = fake_claims, .create = fake_create,
	.config_loaded = fake_config_loaded,
	.reload_refused = fake_reload_refused, .nodes = fake_nodes,
	.may_announce = fake_may, .plan_applied = fake_applied,
	.nodes_changed = fake_nodes_changed, .status = fake_status,
	.metrics = fake_metrics, .stale = fake_stale, .shutdown = fake_shutdown,
};

/* A second source that claims configs with a nodes: list, to show that a
 * reload which another source would serve is refused. */
static bool other_claims(const struct cfg *c) { return c->nnodes > 0; }
static const struct source_ops other_ops = { .name = "other", .claims = other_claims };

/* ---- harness --------------------------------------------------------------- */

/* Two pools, and default/a on layer 2 in both configs. */
#define CFG_HEAD \
    "node: self\n" \
    "pools:\n" \
    "  - name: l2\n" \
    "    protocol: layer2\n" \
    "    addresses: [192.0.2.0/28]\n" \
    "  - name: b\n" \
    "    protocol: bgp\n" \
    "    addresses: [198.51.100.0/28]\n" \
    "services:\n" \
    "  - name: default/a\n" \
    "    pool: l2\n" \
    "    addresses: [192.0.2.1]\n"

static const char *CFG_A = CFG_HEAD
    "  - name: default/b\n"
    "    pool: b\n"
    "    addresses: [198.51.100.1]\n";

/* CFG_A less default/b, plus default/c. */
static const char *CFG_B = CFG_HEAD
    "  - name: default/c\n"
    "    pool: b\n"
    "    addresses: [198.51.100.3]\n";

static char path[256];
static struct event_base *base;
static struct core D;

static void
write_cfg(const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static const struct source_ops *const fake_sources[] = { &other_ops, &fake_ops, NULL };
static const announcer_new_fn rec_backends[] = { rec_bgp_new, rec_l2_new, NULL };

static void
start_as(const char *text, bool restarted)
{
	struct daemon_opts o = {
		.config_path = path, .status_listen = "none",
		.sources = fake_sources, .backends = rec_backends,
		.no_membership = true,
	};

	memset(&F, 0, sizeof(F));
	F.may = true;
	F.restarted = restarted;
	snprintf(path, sizeof(path), "/tmp/bgplb-test-core.%d.yaml", (int)getpid());
	write_cfg(text);
	base = event_base_new();
	ck_assert_int_eq(daemon_init(&D, base, &o), 0);
}

static void
start(const char *text)
{
	start_as(text, false);
}

static void
stop(void)
{
	daemon_free(&D);
	event_base_free(base);
	unlink(path);
}

/* ---- tests ----------------------------------------------------------------- */

START_TEST(t_start_announces)
{
	start(CFG_A);
	ck_assert_int_eq(F.loaded, 1);
	ck_assert_ptr_eq(D.src, &fake_ops);
	ck_assert_ptr_eq(D.cfg, F.last);
	ck_assert(logged(0, 0, "A 198.51.100.1/32"));
	ck_assert(logged(1, 0, "A 192.0.2.1/32"));
	ck_assert_int_eq(recs[0]->active, 1);
	ck_assert_int_eq(recs[1]->active, 1);
	/* Reconfigured before the first announce, flushed after it. */
	ck_assert_str_eq(recs[0]->log[0], "C");
	ck_assert_str_eq(recs[0]->log[recs[0]->nlog - 1], "F");
	ck_assert_int_ge(F.applied, 1);
	ck_assert(!logged(0, 0, "R"));		/* not a restart */
	stop();
}
END_TEST

START_TEST(t_reload_diff)
{
	size_t m0, m1;

	start(CFG_A);
	m0 = recs[0]->nlog;
	m1 = recs[1]->nlog;
	write_cfg(CFG_B);
	ck_assert_int_eq(daemon_reload(&D, "test"), 0);
	ck_assert_int_eq(F.loaded, 2);
	ck_assert(logged(0, m0, "W 198.51.100.1/32"));
	ck_assert(logged(0, m0, "A 198.51.100.3/32"));
	/* default/a did not change: not re-sent, never withdrawn. */
	ck_assert_uint_eq(count_prefix(1, m1, 'A') + count_prefix(1, m1, 'W'), 0);
	ck_assert(!D.cfg_stale);
	stop();
}
END_TEST

START_TEST(t_broken_reload_keeps_everything)
{
	struct cfg *before;
	size_t m0, m1;
	json_object *st, *c, *v;

	start(CFG_A);
	before = D.cfg;
	m0 = recs[0]->nlog;
	m1 = recs[1]->nlog;
	write_cfg("pools:\n  - name: x\n    protocl: bgp\n");
	ck_assert_int_eq(daemon_reload(&D, "test"), -1);
	ck_assert_ptr_eq(D.cfg, before);
	ck_assert(D.cfg_stale);
	ck_assert_int_eq(F.loaded, 1);		/* the source never saw it */
	ck_assert_uint_eq(recs[0]->nlog, m0);	/* nothing withdrawn or sent */
	ck_assert_uint_eq(recs[1]->nlog, m1);
	ck_assert_uint_ge(D.ncfg_errors, 1);
	{
		bool found = false;

		/* Every error names its place. */
		for (size_t i = 0; i < D.ncfg_errors; i++)
			found |= strstr(D.cfg_errors[i], ":3:5: pools[0].protocl") != NULL;
		ck_assert(found);
	}
	st = status_json_status(&D);
	ck_assert(json_object_object_get_ex(st, "config", &c));
	ck_assert(json_object_object_get_ex(c, "stale", &v));
	ck_assert(json_object_get_boolean(v));
	json_object_put(st);
	/* Fixed: not stale any more. */
	write_cfg(CFG_A);
	ck_assert_int_eq(daemon_reload(&D, "test"), 0);
	ck_assert(!D.cfg_stale);
	stop();
}
END_TEST

START_TEST(t_refused_reload)
{
	size_t m0;

	start(CFG_A);
	F.refuse_pools = true;
	m0 = recs[0]->nlog;
	write_cfg("node: self\npools: []\n");
	ck_assert_int_eq(daemon_reload(&D, "test"), -1);
	ck_assert(D.cfg_stale);
	ck_assert_ptr_nonnull(strstr(D.cfg_errors[0], "a change takes a restart (fake)"));
	ck_assert_uint_eq(recs[0]->nlog, m0);
	/* A config another source would serve: a change of mode, refused. */
	F.refuse_pools = false;
	write_cfg("node: self\nnodes:\n  - name: self\n    labels: {a: b}\n");
	ck_assert_int_eq(daemon_reload(&D, "test"), -1);
	ck_assert_ptr_nonnull(strstr(D.cfg_errors[0], "for the other source"));
	ck_assert_uint_eq(recs[0]->nlog, m0);
	ck_assert_int_eq(recs[0]->active, 1);
	stop();
}
END_TEST

START_TEST(t_restart_hook_first)
{
	/* The source finds this is a restart (state, or the cluster): the
	 * backends hear it before anything is sent (BGP's R bit). */
	start_as(CFG_A, true);
	ck_assert_str_eq(recs[0]->log[0], "R");
	ck_assert(logged(0, 1, "A 198.51.100.1/32"));
	/* The layer 2 backend has no restarted hook: it is simply skipped. */
	ck_assert(!logged(1, 0, "R"));
	stop();
}
END_TEST

START_TEST(t_nodes_change_moves_owner)
{
	struct addr a;
	struct plan_node two[2] = { { .name = "self" }, { .name = "other" } };
	const char *owner;
	size_t m1;

	ck_assert_int_eq(addr_parse("192.0.2.1", &a), 0);
	owner = plan_l2_owner(&a, two, 2);
	start(CFG_A);
	ck_assert_int_eq(recs[1]->active, 1);	/* alone: this node owns it */
	m1 = recs[1]->nlog;
	F.nodes[0] = "self";
	F.nodes[1] = "other";
	core_replan(&D);
	if (strcmp(owner, "other") == 0) {
		/* Same route, another owner: an implicit replace. */
		ck_assert(logged(1, m1, "a 192.0.2.1/32"));
		ck_assert_int_eq(recs[1]->active, 0);
	} else {
		/* Still ours: nothing to tell. */
		ck_assert_uint_eq(count_prefix(1, m1, 'W'), 0);
		ck_assert_int_eq(recs[1]->active, 1);
	}
	/* BGP routes do not depend on the layer 2 owner. */
	ck_assert_int_eq(recs[0]->active, 1);
	/* The other node leaves: ours again. */
	F.nodes[1] = NULL;
	core_replan(&D);
	ck_assert_int_eq(recs[1]->active, 1);
	stop();
}
END_TEST

START_TEST(t_may_not_announce)
{
	int applied;

	start(CFG_A);
	applied = F.applied;
	F.may = false;
	core_replan(&D);
	ck_assert_int_eq(recs[0]->active, 0);
	ck_assert_int_eq(recs[1]->active, 0);
	ck_assert_int_eq(F.applied, applied + 1);
	/* The services keep their addresses: only the plan is empty. */
	ck_assert_uint_eq(D.nservices, 2);
	ck_assert_uint_eq(D.services[0].assign.naddrs, 1);
	F.may = true;
	core_replan(&D);
	ck_assert_int_eq(recs[0]->active, 1);
	ck_assert_int_eq(recs[1]->active, 1);
	stop();
}
END_TEST

START_TEST(t_status_metrics_stale)
{
	json_object *st, *c, *v;
	char *m;

	start(CFG_A);
	st = status_json_status(&D);
	ck_assert(json_object_object_get_ex(st, "fake", &v));
	ck_assert_int_eq(json_object_get_int(v), 1);
	ck_assert(json_object_object_get_ex(st, "state_file", &v));
	ck_assert_ptr_null(v);			/* only the file source has one */
	ck_assert(json_object_object_get_ex(st, "config", &c));
	ck_assert(json_object_object_get_ex(c, "stale", &v));
	ck_assert(!json_object_get_boolean(v));
	json_object_put(st);
	F.stale = true;
	st = status_json_status(&D);
	ck_assert(json_object_object_get_ex(st, "config", &c));
	ck_assert(json_object_object_get_ex(c, "stale", &v));
	ck_assert(json_object_get_boolean(v));
	json_object_put(st);
	m = status_metrics(&D);
	ck_assert_ptr_nonnull(strstr(m, "fake_loaded 1\n"));
	ck_assert_ptr_nonnull(strstr(m, "bgplb_config_stale 1\n"));
	free(m);
	stop();
}
END_TEST

/* The fake, serving roles. */
static const struct source_ops fake_roles_ops = {
	.name = "fake", .roles = true, .claims = fake_claims,
	.create = fake_create, .config_loaded = fake_config_loaded,
	.nodes = fake_nodes, .may_announce = fake_may,
	.plan_applied = fake_applied, .shutdown = fake_shutdown,
};

static int
start_role(const struct source_ops *src, enum core_role role)
{
	const struct source_ops *srcs[] = { src, NULL };
	struct daemon_opts o = {
		.config_path = path, .status_listen = "none",
		.sources = srcs, .backends = rec_backends,
		.no_membership = true, .role = role,
	};
	int rc;

	memset(&F, 0, sizeof(F));
	F.may = true;
	recs[0] = recs[1] = NULL;
	snprintf(path, sizeof(path), "/tmp/bgplb-test-core.%d.yaml", (int)getpid());
	write_cfg(CFG_A);
	base = event_base_new();
	rc = daemon_init(&D, base, &o);
	/* daemon_init copies the options: srcs is not used after it. */
	D.opts.sources = NULL;
	return rc;
}

START_TEST(t_roles)
{
	enum core_role r;

	ck_assert_int_eq(core_role_parse("allocator", &r), 0);
	ck_assert_int_eq(r, CORE_ROLE_ALLOCATOR);
	ck_assert_int_eq(core_role_parse("speaker", &r), 0);
	ck_assert_int_eq(r, CORE_ROLE_SPEAKER);
	ck_assert_int_eq(core_role_parse("both", &r), 0);
	ck_assert_int_eq(r, CORE_ROLE_BOTH);
	ck_assert_int_eq(core_role_parse("controller", &r), -1);
	ck_assert_str_eq(core_role_name(CORE_ROLE_ALLOCATOR), "allocator");

	/* A source without roles (embedded mode) refuses --role. */
	ck_assert_int_eq(start_role(&fake_ops, CORE_ROLE_SPEAKER), -1);
	ck_assert_int_eq(F.loaded, 0);
	stop();

	/* An allocator has no backends: its plan reaches nobody. */
	ck_assert_int_eq(start_role(&fake_roles_ops, CORE_ROLE_ALLOCATOR), 0);
	ck_assert_int_eq(core_role(&D), CORE_ROLE_ALLOCATOR);
	ck_assert_int_eq(F.loaded, 1);
	ck_assert_uint_eq(D.nannouncers, 0);
	ck_assert_ptr_null(recs[0]);
	ck_assert_ptr_null(recs[1]);
	ck_assert_ptr_null(D.members);
	ck_assert_int_ge(F.applied, 1);
	stop();

	/* A speaker has them, as both has. */
	ck_assert_int_eq(start_role(&fake_roles_ops, CORE_ROLE_SPEAKER), 0);
	ck_assert_int_eq(core_role(&D), CORE_ROLE_SPEAKER);
	ck_assert_uint_eq(D.nannouncers, 2);
	ck_assert(logged(0, 0, "A 198.51.100.1/32"));
	stop();
}
END_TEST

START_TEST(t_shutdown_order)
{
	start(CFG_A);
	daemon_shutdown(&D);
	ck_assert(D.stopping);
	ck_assert_int_eq(F.shutdowns, 1);
	ck_assert(logged(0, 0, "S"));
	ck_assert(logged(1, 0, "S"));
	daemon_shutdown(&D);			/* a second signal: nothing more */
	ck_assert_int_eq(F.shutdowns, 1);
	/* The source said it is done: the loop ends. */
	ck_assert_int_eq(event_base_dispatch(base), 0);
	ck_assert(event_base_got_exit(base));
	/* Replans after the stop change nothing. */
	{
		size_t m0 = recs[0]->nlog;

		F.may = false;
		core_replan(&D);
		ck_assert_uint_eq(recs[0]->nlog, m0);
	}
	stop();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, t_start_announces);
	tcase_add_test(tc, t_reload_diff);
	tcase_add_test(tc, t_broken_reload_keeps_everything);
	tcase_add_test(tc, t_refused_reload);
	tcase_add_test(tc, t_restart_hook_first);
	tcase_add_test(tc, t_nodes_change_moves_owner);
	tcase_add_test(tc, t_may_not_announce);
	tcase_add_test(tc, t_status_metrics_stale);
	tcase_add_test(tc, t_shutdown_order);
	tcase_add_test(tc, t_roles);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
