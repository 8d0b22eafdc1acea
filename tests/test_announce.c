/*
 * test_announce.c - the logging announcer, driven the way the core drives
 * every backend: plan_diff() between successive plans, then flush().
 *
 * The plans are built by hand (routes with owned strings) so this test does
 * not depend on the planner's rules, only on plan_diff and the announcer's
 * bookkeeping of active routes.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bgplb/announce.h"
#include "bgplb/log.h"

#define NELEM(x)	(sizeof(x) / sizeof((x)[0]))
#define MAXR	4

/* A route as text: "[vrf:]prefix peer" (bgp) or "prefix owner" (layer2). */
struct rspec {
	const char	*prefix;
	const char	*vrf;
	const char	*who;		/* the single peer, or the owner */
};

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	ck_assert_ptr_nonnull(d);
	return d;
}

static char **
one(const char *s)
{
	char **v = calloc(1, sizeof(*v));

	ck_assert_ptr_nonnull(v);
	v[0] = xstrdup(s);
	return v;
}

/* Specs must already be in plan order. */
static struct plan *
plan_of(enum cfg_proto backend, const struct rspec *specs)
{
	struct plan *p = calloc(1, sizeof(*p));

	ck_assert_ptr_nonnull(p);
	p->routes = calloc(MAXR, sizeof(*p->routes));
	ck_assert_ptr_nonnull(p->routes);
	for (size_t i = 0; i < MAXR && specs[i].prefix != NULL; i++) {
		struct plan_route *r = &p->routes[i];

		r->backend = backend;
		ck_assert_int_eq(prefix_parse(specs[i].prefix, &r->prefix, false), 0);
		r->pool = xstrdup("pool");
		r->vrf = specs[i].vrf ? xstrdup(specs[i].vrf) : NULL;
		r->services = one("ns/svc");
		r->nservices = 1;
		if (backend == CFG_PROTO_BGP) {
			r->peers = one(specs[i].who);
			r->npeers = 1;
		} else {
			r->owner = xstrdup(specs[i].who);
			r->local = strcmp(specs[i].who, "me") == 0;
		}
		if (i > 0)
			ck_assert_int_lt(plan_route_cmp(&p->routes[i - 1], r), 0);
		p->nroutes++;
	}
	return p;
}

static void
drive_announce(void *arg, const struct plan_route *r)
{
	struct announcer *a = arg;

	a->ops->announce(a->ctx, r);
}

static void
drive_withdraw(void *arg, const struct plan_route *r)
{
	struct announcer *a = arg;

	a->ops->withdraw(a->ctx, r);
}

static const struct plan_diff_ops drive_ops = { drive_announce, drive_withdraw };

/* One step: go from the previous plan to this one, then flush. */
struct step {
	struct rspec	 routes[MAXR];
	struct announce_log_counts want;	/* cumulative */
};

static const struct seq_case {
	const char	*name;
	enum cfg_proto	 backend;
	struct step	 steps[4];
	size_t		 nsteps;
} seq_cases[] = {
	{ "bgp: add, change, remove", CFG_PROTO_BGP, {
	    { { { "10.0.0.0/24", NULL, "tor-a" }, { "10.1.0.1/32", NULL, "tor-a" },
		{ "10.1.0.1/32", "red", "red-a" } },
	      { 3, 0, 1, 3 } },
	    /* attribute change on one (announce over an active route), one gone */
	    { { { "10.0.0.0/24", NULL, "tor-b" }, { "10.1.0.1/32", "red", "red-a" } },
	      { 4, 1, 2, 2 } },
	    /* nothing changes: no calls, one more flush */
	    { { { "10.0.0.0/24", NULL, "tor-b" }, { "10.1.0.1/32", "red", "red-a" } },
	      { 4, 1, 3, 2 } },
	    /* replace both with the same prefix in another VRF: its own route */
	    { { { "10.1.0.1/32", "blue", "blue-a" } },
	      { 5, 3, 4, 1 } },
	  }, 4 },
	{ "layer2: owner moves", CFG_PROTO_LAYER2, {
	    { { { "10.9.0.1/32", NULL, "me" }, { "2001:db8::1/128", NULL, "other" } },
	      { 2, 0, 1, 2 } },
	    { { { "10.9.0.1/32", NULL, "other" }, { "2001:db8::1/128", NULL, "me" } },
	      { 4, 0, 2, 2 } },
	    { { { NULL } },
	      { 4, 2, 3, 0 } },
	  }, 3 },
};

static void
counts_eq(const struct announce_log_counts *got,
    const struct announce_log_counts *want, const char *name, size_t step)
{
	ck_assert_msg(got->announced == want->announced &&
	    got->withdrawn == want->withdrawn && got->flushes == want->flushes &&
	    got->active == want->active,
	    "%s step %zu: got a=%lu w=%lu f=%lu act=%lu, want a=%lu w=%lu f=%lu act=%lu",
	    name, step, got->announced, got->withdrawn, got->flushes, got->active,
	    want->announced, want->withdrawn, want->flushes, want->active);
}

START_TEST(test_sequence)
{
	const struct seq_case *tc = &seq_cases[_i];
	struct announcer *a = announce_log_new(tc->backend);
	struct plan *prev = NULL;
	struct announce_log_counts c;

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->ops->backend, tc->backend);
	ck_assert_str_eq(a->ops->name, "log");
	announce_log_counts(a, &c);
	ck_assert_uint_eq(c.announced + c.withdrawn + c.flushes + c.active, 0);

	for (size_t s = 0; s < tc->nsteps; s++) {
		struct plan *next = plan_of(tc->backend, tc->steps[s].routes);

		plan_diff(prev, next, &drive_ops, a);
		a->ops->flush(a->ctx);
		announce_log_counts(a, &c);
		counts_eq(&c, &tc->steps[s].want, tc->name, s);
		plan_free(prev);
		prev = next;
	}

	/* Shutdown withdraws whatever is still active. */
	{
		struct announce_log_counts before = c;

		a->ops->shutdown(a->ctx);
		announce_log_counts(a, &c);
		ck_assert_uint_eq(c.active, 0);
		ck_assert_uint_eq(c.withdrawn, before.withdrawn + before.active);
		ck_assert_uint_eq(c.announced, before.announced);
	}
	plan_free(prev);
	announcer_free(a);
}
END_TEST

/* Withdrawing a route that was never announced must not underflow active. */
START_TEST(test_withdraw_unknown)
{
	static const struct rspec r1[MAXR] = { { "10.0.0.1/32", NULL, "tor-a" } };
	static const struct rspec r2[MAXR] = { { "10.0.0.2/32", NULL, "tor-a" } };
	struct announcer *a = announce_log_new(CFG_PROTO_BGP);
	struct plan *p1 = plan_of(CFG_PROTO_BGP, r1);
	struct plan *p2 = plan_of(CFG_PROTO_BGP, r2);
	struct announce_log_counts c;

	ck_assert_ptr_nonnull(a);
	a->ops->announce(a->ctx, &p1->routes[0]);
	a->ops->announce(a->ctx, &p1->routes[0]);	/* again: still one active */
	a->ops->withdraw(a->ctx, &p2->routes[0]);	/* never announced */
	announce_log_counts(a, &c);
	ck_assert_uint_eq(c.announced, 2);
	ck_assert_uint_eq(c.withdrawn, 1);
	ck_assert_uint_eq(c.active, 1);
	a->ops->withdraw(a->ctx, &p1->routes[0]);
	announce_log_counts(a, &c);
	ck_assert_uint_eq(c.active, 0);
	plan_free(p1);
	plan_free(p2);
	announcer_free(a);
}
END_TEST

START_TEST(test_status_and_reconfigure)
{
	static const struct rspec r[MAXR] = {
		{ "10.9.0.1/32", NULL, "me" }, { "10.9.0.2/32", NULL, "other" },
	};
	struct announcer *a = announce_log_new(CFG_PROTO_LAYER2);
	struct plan *p = plan_of(CFG_PROTO_LAYER2, r);
	struct json_object *o = json_object_new_object(), *v;
	struct cfg c1 = { .npools = 1 }, c2 = { .npools = 2, .npeers = 1 };

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(o);
	plan_diff(NULL, p, &drive_ops, a);
	a->ops->reconfigure(a->ctx, &c1, &c2);
	a->ops->status(a->ctx, o);
	ck_assert(json_object_object_get_ex(o, "backend", &v));
	ck_assert_str_eq(json_object_get_string(v), "log");
	ck_assert(json_object_object_get_ex(o, "protocol", &v));
	ck_assert_str_eq(json_object_get_string(v), "layer2");
	ck_assert(json_object_object_get_ex(o, "active_routes", &v));
	ck_assert_int_eq(json_object_get_int64(v), 2);
	json_object_put(o);
	plan_free(p);
	announcer_free(a);
	ck_assert_ptr_null(announce_log_new((enum cfg_proto)7));
	announcer_free(NULL);
}
END_TEST

/* A free TCP port on loopback (bound once to port 0, then released). */
static uint16_t
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/* Does a TCP connect to 127.0.0.1:port succeed (the kernel accepts)? */
static bool
accepts(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

	ck_assert_int_ge(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	ck_assert(rc == 0 || errno == ECONNREFUSED);
	close(fd);
	return rc == 0;
}

/*
 * Issue 15: the BGP listener must not take connections while the caller of
 * reconfigure is still busy (a large config's plan): the router's
 * connection would wait in the backlog and collide with ours in one burst
 * (FRR 8.4 then resets the session).  It opens when the loop turns.
 */
START_TEST(test_bgp_listens_when_the_loop_runs)
{
	struct event_base *base = event_base_new();
	struct announcer *a;
	struct cfg c = { .bgp_listen_port = free_port() };

	ck_assert_ptr_nonnull(base);
	a = bgp_speaker_new(base, "n1");
	ck_assert_ptr_nonnull(a);
	a->ops->reconfigure(a->ctx, NULL, &c);
	ck_assert_msg(!accepts(c.bgp_listen_port),
	    "the listener took a connection before the event loop ran");
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert(accepts(c.bgp_listen_port));
	announcer_free(a);
	event_base_free(base);
}
END_TEST

static Suite *
announce_suite(void)
{
	Suite *s = suite_create("announce");
	TCase *tc = tcase_create("log");

	tcase_add_loop_test(tc, test_sequence, 0, NELEM(seq_cases));
	tcase_add_test(tc, test_withdraw_unknown);
	tcase_add_test(tc, test_status_and_reconfigure);
	tcase_add_test(tc, test_bgp_listens_when_the_loop_runs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	/* Keep the test output readable; the log lines are not under test. */
	log_init(LOG_LVL_WARN, LOG_FMT_TEXT);
	sr = srunner_create(announce_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
