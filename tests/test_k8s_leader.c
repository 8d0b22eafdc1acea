/*
 * test_k8s_leader.c - leader election's pure parts: record comparison, the
 * local observation clock, validity, the acquire/renew/takeover decision,
 * the records written (checked as the JSON sent, read back), the renew
 * deadline and the acquisition jitter; and k8s_leader_new's checks, plus
 * an elector freed with a request in flight.  The elector itself runs
 * against the fake API server in tests/k8s/test_leader.py.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "k8s_leader.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

/* A Lease in a table: holder NULL = absent; times in whole seconds + ns,
 * 0/0 = absent. */
struct ldef {
	const char	*holder;
	int		 duration_s;
	long		 acq_s, acq_ns;
	long		 ren_s, ren_ns;
	int		 transitions;
	const char	*rv;
};

static void
mk(const struct ldef *d, struct k8s_lease *l)
{
	memset(l, 0, sizeof(*l));
	l->namespace = strdup("ns");
	l->name = strdup("lease");
	l->resource_version = d->rv ? strdup(d->rv) : NULL;
	l->holder = d->holder ? strdup(d->holder) : NULL;
	l->duration_s = d->duration_s;
	l->has_acquire = d->acq_s != 0 || d->acq_ns != 0;
	l->acquire.tv_sec = d->acq_s;
	l->acquire.tv_nsec = d->acq_ns;
	l->has_renew = d->ren_s != 0 || d->ren_ns != 0;
	l->renew.tv_sec = d->ren_s;
	l->renew.tv_nsec = d->ren_ns;
	l->transitions = d->transitions;
}

#define BASE	{ "a", 15, 100, 5, 200, 7, 3, "10" }

/* ---- k8s_le_same_record */

static const struct same_case {
	struct ldef	 a, b;
	bool		 same;
} same_cases[] = {
	{ BASE, BASE, true },
	/* Not part of the record: resourceVersion. */
	{ BASE, { "a", 15, 100, 5, 200, 7, 3, "11" }, true },
	{ BASE, { "a", 15, 100, 5, 200, 7, 3, NULL }, true },
	{ BASE, { "b", 15, 100, 5, 200, 7, 3, "10" }, false },
	{ BASE, { NULL, 15, 100, 5, 200, 7, 3, "10" }, false },
	{ BASE, { "a", 16, 100, 5, 200, 7, 3, "10" }, false },
	{ BASE, { "a", 0, 100, 5, 200, 7, 3, "10" }, false },
	{ BASE, { "a", 15, 101, 5, 200, 7, 3, "10" }, false },
	{ BASE, { "a", 15, 100, 6, 200, 7, 3, "10" }, false },
	{ BASE, { "a", 15, 0, 0, 200, 7, 3, "10" }, false },
	{ BASE, { "a", 15, 100, 5, 201, 7, 3, "10" }, false },
	{ BASE, { "a", 15, 100, 5, 200, 8, 3, "10" }, false },
	{ BASE, { "a", 15, 100, 5, 0, 0, 3, "10" }, false },
	{ BASE, { "a", 15, 100, 5, 200, 7, 4, "10" }, false },
	{ { NULL, 0, 0, 0, 0, 0, 0, "1" }, { NULL, 0, 0, 0, 0, 0, 0, "2" }, true },
};

START_TEST(test_same_record)
{
	const struct same_case *c = &same_cases[_i];
	struct k8s_lease a, b;

	mk(&c->a, &a);
	mk(&c->b, &b);
	ck_assert_msg(k8s_le_same_record(&a, &b) == c->same, "case %d", _i);
	ck_assert_msg(k8s_le_same_record(&b, &a) == c->same, "case %d swapped", _i);
	ck_assert(k8s_le_same_record(&a, &a));
	k8s_lease_free(&a);
	k8s_lease_free(&b);
}
END_TEST

/* An empty holder and an absent one are the same record (nobody). */
START_TEST(test_same_record_empty_holder)
{
	struct ldef d = BASE;
	struct k8s_lease a, b;

	d.holder = NULL;
	mk(&d, &a);
	mk(&d, &b);
	b.holder = strdup("");
	ck_assert(k8s_le_same_record(&a, &b));
	ck_assert(!k8s_le_same_record(&a, NULL));
	ck_assert(k8s_le_same_record(NULL, NULL));
	k8s_lease_free(&a);
	k8s_lease_free(&b);
}
END_TEST

/* ---- k8s_le_observe: a sequence of reads */

static const struct obs_step {
	bool		 absent;	/* 404 */
	struct ldef	 l;
	int64_t		 now;
	bool		 changed;
	int64_t		 want_ms;	/* observed_ms after */
	bool		 have;
} obs_steps[] = {
	{ true, { 0 }, 10, false, 0, false },		/* 404 first: nothing */
	{ false, BASE, 1000, true, 1000, true },	/* first sight */
	{ false, BASE, 3000, false, 1000, true },	/* unchanged */
	{ false, { "a", 15, 100, 5, 200, 7, 3, "12" }, 4000, false, 1000, true }, /* rv only */
	{ false, { "a", 15, 100, 5, 202, 0, 3, "13" }, 5000, true, 5000, true },  /* renewed */
	{ false, { "b", 15, 300, 0, 300, 0, 4, "14" }, 6000, true, 6000, true },  /* taken */
	{ false, { "b", 15, 300, 0, 300, 0, 4, "14" }, 90000, false, 6000, true },
	{ true, { 0 }, 91000, true, 91000, false },	/* deleted */
	{ true, { 0 }, 92000, false, 91000, false },
	{ false, { "b", 15, 300, 0, 300, 0, 4, "20" }, 93000, true, 93000, true }, /* back */
};

START_TEST(test_observe_sequence)
{
	struct k8s_le_state st;
	size_t i;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < N(obs_steps); i++) {
		const struct obs_step *s = &obs_steps[i];
		struct k8s_lease cur;
		bool ch;

		if (s->absent) {
			ch = k8s_le_observe(&st, NULL, s->now);
		} else {
			mk(&s->l, &cur);
			ch = k8s_le_observe(&st, &cur, s->now);
		}
		ck_assert_msg(ch == s->changed, "step %zu: changed %d", i, ch);
		ck_assert_msg(st.have == s->have, "step %zu: have", i);
		ck_assert_msg(st.observed_ms == s->want_ms, "step %zu: observed_ms %lld",
		    i, (long long)st.observed_ms);
		if (!s->absent) {
			/* An owned copy, with the latest resourceVersion. */
			ck_assert(k8s_le_same_record(&st.observed, &cur));
			ck_assert_str_eq(st.observed.resource_version, s->l.rv);
			ck_assert_ptr_ne(st.observed.resource_version,
			    cur.resource_version);
			k8s_lease_free(&cur);
			ck_assert_str_eq(st.observed.holder, s->l.holder);
		}
	}
	k8s_le_state_clear(&st);
	ck_assert(!st.have);
}
END_TEST

/* ---- k8s_le_duration_ms, k8s_le_valid */

static const struct valid_case {
	bool		 have;
	int		 duration_s;
	int64_t		 observed_ms;
	unsigned	 default_s;
	int64_t		 now;
	int64_t		 want_duration;
	bool		 valid;
} valid_cases[] = {
	{ true, 15, 1000, 10, 1000, 15000, true },
	{ true, 15, 1000, 10, 15999, 15000, true },
	{ true, 15, 1000, 10, 16000, 15000, false },	/* exactly expired */
	{ true, 15, 1000, 10, 50000, 15000, false },
	{ true, 0, 1000, 10, 10999, 10000, true },	/* absent: the default */
	{ true, 0, 1000, 10, 11000, 10000, false },
	{ true, 1, 5000, 15, 5999, 1000, true },	/* a released record */
	{ true, 1, 5000, 15, 6000, 1000, false },
	{ false, 15, 1000, 10, 1000, 15000, false },	/* nothing observed */
};

START_TEST(test_valid)
{
	const struct valid_case *c = &valid_cases[_i];
	struct ldef d = BASE;
	struct k8s_le_state st;

	memset(&st, 0, sizeof(st));
	d.duration_s = c->duration_s;
	mk(&d, &st.observed);
	ck_assert_int_eq(k8s_le_duration_ms(&st.observed, c->default_s),
	    c->want_duration);
	st.have = c->have;
	st.observed_ms = c->observed_ms;
	ck_assert_msg(k8s_le_valid(&st, c->default_s, c->now) == c->valid,
	    "case %d", _i);
	k8s_lease_free(&st.observed);
}
END_TEST

START_TEST(test_duration_null)
{
	ck_assert_int_eq(k8s_le_duration_ms(NULL, 15), 15000);
	ck_assert_int_eq(k8s_le_duration_ms(NULL, 0), 0);
}
END_TEST

/* ---- k8s_le_decide */

static const struct decide_case {
	const char	*what;
	bool		 have;		/* prior observation */
	struct ldef	 prior;
	int64_t		 prior_ms;
	bool		 absent;	/* the GET gave 404 */
	struct ldef	 cur;
	unsigned	 lease_s;
	int64_t		 now;
	enum k8s_le_action want;
} decide_cases[] = {
	{ "404, nothing before", false, { 0 }, 0, true, { 0 }, 15, 1000,
	    K8S_LE_CREATE },
	{ "404 after a record", true, BASE, 1000, true, { 0 }, 15, 2000,
	    K8S_LE_CREATE },
	{ "own record", true, { "me", 15, 1, 0, 2, 0, 3, "5" }, 1000, false,
	    { "me", 15, 1, 0, 2, 0, 3, "5" }, 15, 2000, K8S_LE_RENEW },
	{ "own record, long unchanged", true, { "me", 15, 1, 0, 2, 0, 3, "5" },
	    1000, false, { "me", 15, 1, 0, 2, 0, 3, "5" }, 15, 999999,
	    K8S_LE_RENEW },
	{ "own record, first sight (restart)", false, { 0 }, 0, false,
	    { "me", 15, 1, 0, 2, 0, 3, "5" }, 15, 5, K8S_LE_RENEW },
	{ "other's, valid", true, BASE, 1000, false, BASE, 15, 10000,
	    K8S_LE_WAIT },
	{ "other's, just valid", true, BASE, 1000, false, BASE, 15, 15999,
	    K8S_LE_WAIT },
	{ "other's, expired", true, BASE, 1000, false, BASE, 15, 16000,
	    K8S_LE_TAKEOVER },
	{ "other's, expired long ago", true, BASE, 1000, false, BASE, 15,
	    500000, K8S_LE_TAKEOVER },
	{ "other's, only the rv moved: still expired", true, BASE, 1000, false,
	    { "a", 15, 100, 5, 200, 7, 3, "99" }, 15, 16000, K8S_LE_TAKEOVER },
	{ "other's, renewed just now: valid again", true, BASE, 1000, false,
	    { "a", 15, 100, 5, 210, 0, 3, "11" }, 15, 500000, K8S_LE_WAIT },
	{ "other's, taken by a third just now", true, BASE, 1000, false,
	    { "c", 15, 300, 0, 300, 0, 4, "12" }, 15, 500000, K8S_LE_WAIT },
	{ "other's, first sight (its renewTime is old: clocks differ)",
	    false, { 0 }, 0, false, { "a", 15, 1, 0, 1, 0, 0, "3" }, 15,
	    900000, K8S_LE_WAIT },
	{ "empty holder", true, BASE, 1000, false,
	    { NULL, 1, 300, 0, 300, 0, 3, "12" }, 15, 1001, K8S_LE_TAKEOVER },
	{ "empty holder, first sight", false, { 0 }, 0, false,
	    { NULL, 1, 300, 0, 300, 0, 3, "12" }, 15, 1, K8S_LE_TAKEOVER },
	{ "absent duration: the default, valid", true,
	    { "a", 0, 1, 0, 1, 0, 0, "3" }, 1000, false,
	    { "a", 0, 1, 0, 1, 0, 0, "3" }, 15, 15999, K8S_LE_WAIT },
	{ "absent duration: the default, expired", true,
	    { "a", 0, 1, 0, 1, 0, 0, "3" }, 1000, false,
	    { "a", 0, 1, 0, 1, 0, 0, "3" }, 15, 16000, K8S_LE_TAKEOVER },
	{ "absent duration, short default", true,
	    { "a", 0, 1, 0, 1, 0, 0, "3" }, 1000, false,
	    { "a", 0, 1, 0, 1, 0, 0, "3" }, 5, 6000, K8S_LE_TAKEOVER },
	{ "the record's duration wins over ours", true,
	    { "a", 60, 1, 0, 1, 0, 0, "3" }, 1000, false,
	    { "a", 60, 1, 0, 1, 0, 0, "3" }, 15, 30000, K8S_LE_WAIT },
};

START_TEST(test_decide)
{
	const struct decide_case *c = &decide_cases[_i];
	struct k8s_le_state st;
	struct k8s_lease cur;
	enum k8s_le_action a;

	memset(&st, 0, sizeof(st));
	if (c->have) {
		mk(&c->prior, &st.observed);
		st.have = true;
		st.observed_ms = c->prior_ms;
	}
	if (!c->absent)
		mk(&c->cur, &cur);
	a = k8s_le_decide(&st, c->absent ? NULL : &cur, "me", c->lease_s, c->now);
	ck_assert_msg(a == c->want, "%s: got %s, want %s", c->what,
	    k8s_le_action_name(a), k8s_le_action_name(c->want));
	/* Pure: the state is not touched. */
	ck_assert(st.have == c->have);
	ck_assert_int_eq(st.observed_ms, c->have ? c->prior_ms : 0);
	if (!c->absent)
		k8s_lease_free(&cur);
	k8s_le_state_clear(&st);
}
END_TEST

/* ---- k8s_le_spec, k8s_le_release_spec: the record and the JSON sent */

/* Build the JSON for spec, parse it back. */
static void
roundtrip(const struct k8s_lease_spec *spec, struct k8s_lease *out,
    bool *has_rv)
{
	char *s = k8s_lease_json(spec), err[256];
	struct json_object *o, *md, *rv;

	ck_assert_ptr_nonnull(s);
	o = json_tokener_parse(s);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "metadata", &md));
	*has_rv = json_object_object_get_ex(md, "resourceVersion", &rv);
	ck_assert_msg(k8s_lease_from_json(o, out, err, sizeof(err)) == 0, "%s: %s",
	    s, err);
	json_object_put(o);
	free(s);
}

static const struct timespec NOW = { 1700000000, 123456000 };

static const struct spec_case {
	enum k8s_le_action a;
	bool		 absent;
	struct ldef	 cur;
	const char	*rv;		/* precondition wanted, NULL: none */
	long		 acq_s, acq_ns;	/* acquireTime wanted */
	int		 transitions;
} spec_cases[] = {
	{ K8S_LE_CREATE, true, { 0 }, NULL, 1700000000, 123456000, 0 },
	{ K8S_LE_RENEW, false, { "me", 10, 1600000000, 5000, 1600000100, 0, 7, "42" },
	    "42", 1600000000, 5000, 7 },
	/* Own record without acquireTime (written by something else): now. */
	{ K8S_LE_RENEW, false, { "me", 10, 0, 0, 1600000100, 0, 2, "43" },
	    "43", 1700000000, 123456000, 2 },
	{ K8S_LE_TAKEOVER, false, { "a", 15, 1600000000, 0, 1600000100, 0, 7, "44" },
	    "44", 1700000000, 123456000, 8 },
	{ K8S_LE_TAKEOVER, false, { NULL, 1, 1600000000, 0, 1600000000, 0, 0, "45" },
	    "45", 1700000000, 123456000, 1 },
	/* Never past int32 (leaseTransitions is an int32). */
	{ K8S_LE_TAKEOVER, false, { "a", 15, 1, 0, 1, 0, 2147483647, "46" },
	    "46", 1700000000, 123456000, 2147483647 },
};

START_TEST(test_spec)
{
	const struct spec_case *c = &spec_cases[_i];
	struct k8s_lease cur, back;
	struct k8s_lease_spec sp;
	bool has_rv;

	if (!c->absent)
		mk(&c->cur, &cur);
	k8s_le_spec(c->a, c->absent ? NULL : &cur, "kube-x", "the-lease", "me",
	    12, &NOW, &sp);
	ck_assert_str_eq(sp.namespace, "kube-x");
	ck_assert_str_eq(sp.name, "the-lease");
	ck_assert_str_eq(sp.holder, "me");
	ck_assert_int_eq(sp.duration_s, 12);
	ck_assert_int_eq(sp.renew.tv_sec, NOW.tv_sec);
	ck_assert_int_eq(sp.renew.tv_nsec, NOW.tv_nsec);
	ck_assert_int_eq(sp.acquire.tv_sec, c->acq_s);
	ck_assert_int_eq(sp.acquire.tv_nsec, c->acq_ns);
	ck_assert_int_eq(sp.transitions, c->transitions);
	if (c->rv == NULL) {
		ck_assert_ptr_null(sp.resource_version);
	} else {
		ck_assert_str_eq(sp.resource_version, c->rv);
		/* It points into cur, as documented. */
		ck_assert_ptr_eq(sp.resource_version, cur.resource_version);
	}
	roundtrip(&sp, &back, &has_rv);
	ck_assert(has_rv == (c->rv != NULL));
	ck_assert_str_eq(back.holder, "me");
	ck_assert_int_eq(back.duration_s, 12);
	ck_assert_int_eq(back.transitions, c->transitions);
	ck_assert(back.has_acquire && back.has_renew);
	ck_assert_int_eq(back.acquire.tv_sec, c->acq_s);
	ck_assert_int_eq(back.acquire.tv_nsec, c->acq_ns / 1000 * 1000);
	ck_assert_int_eq(back.renew.tv_sec, NOW.tv_sec);
	ck_assert_int_eq(back.renew.tv_nsec, NOW.tv_nsec);
	k8s_lease_free(&back);
	if (!c->absent)
		k8s_lease_free(&cur);
}
END_TEST

/* RENEW or TAKEOVER without a Lease read has nothing to keep: a create. */
START_TEST(test_spec_without_cur)
{
	struct k8s_lease_spec sp;

	k8s_le_spec(K8S_LE_RENEW, NULL, "n", "l", "me", 15, &NOW, &sp);
	ck_assert_ptr_null(sp.resource_version);
	ck_assert_int_eq(sp.transitions, 0);
	ck_assert_str_eq(sp.holder, "me");
	k8s_le_spec(K8S_LE_WAIT, NULL, "n", "l", "me", 15, &NOW, &sp);
	ck_assert_ptr_null(sp.holder);
}
END_TEST

START_TEST(test_release_spec)
{
	struct ldef d = { "me", 15, 1600000000, 0, 1600000100, 0, 6, "77" };
	struct k8s_lease cur, back;
	struct k8s_lease_spec sp;
	bool has_rv;

	mk(&d, &cur);
	k8s_le_release_spec(&cur, "ns", "lease", &NOW, &sp);
	ck_assert_str_eq(sp.holder, "");
	ck_assert_int_eq(sp.duration_s, 1);
	ck_assert_int_eq(sp.transitions, 6);
	ck_assert_str_eq(sp.resource_version, "77");
	ck_assert_int_eq(sp.acquire.tv_sec, NOW.tv_sec);
	ck_assert_int_eq(sp.renew.tv_sec, NOW.tv_sec);
	ck_assert_int_eq(sp.acquire.tv_nsec, NOW.tv_nsec);
	roundtrip(&sp, &back, &has_rv);
	ck_assert(has_rv);
	ck_assert_ptr_null(back.holder);	/* "" reads back as nobody */
	ck_assert_int_eq(back.duration_s, 1);
	ck_assert_int_eq(back.transitions, 6);
	/* Anyone who reads it takes it over at once. */
	ck_assert_int_eq(k8s_le_decide(NULL, &back, "other", 15, 0),
	    K8S_LE_TAKEOVER);
	k8s_lease_free(&back);
	k8s_lease_free(&cur);
}
END_TEST

/* ---- k8s_le_deadline_ms, k8s_le_jitter_ms */

static const struct deadline_case {
	int64_t renewed;
	unsigned deadline;
	int64_t want;
} deadline_cases[] = {
	{ 0, 10000, 10000 },
	{ 123456789, 10000, 123466789 },
	{ 5000, 2000, 7000 },
	{ 1, 4294967295u, 4294967296ll },
};

START_TEST(test_deadline)
{
	const struct deadline_case *c = &deadline_cases[_i];

	ck_assert_int_eq(k8s_le_deadline_ms(c->renewed, c->deadline), c->want);
}
END_TEST

static const struct jitter_case {
	unsigned retry;
	uint32_t rnd;
	uint32_t lo, hi;	/* inclusive */
} jitter_cases[] = {
	{ 2000, 0, 2000, 2000 },
	{ 2000, 0x80000000u, 3200, 3200 },		/* half: 1 + 0.6 */
	{ 2000, 0x40000000u, 2600, 2600 },		/* quarter: 1 + 0.3 */
	{ 2000, UINT32_MAX, 4399, 4399 },		/* just under 2.2x */
	{ 500, UINT32_MAX, 1099, 1099 },
	{ 0, UINT32_MAX, 0, 0 },
	{ 4000000000u, UINT32_MAX, UINT32_MAX, UINT32_MAX },	/* clamped */
};

START_TEST(test_jitter)
{
	const struct jitter_case *c = &jitter_cases[_i];
	uint32_t v = k8s_le_jitter_ms(c->retry, c->rnd);

	ck_assert_msg(v >= c->lo && v <= c->hi, "retry %u rnd %u: %u", c->retry,
	    c->rnd, v);
}
END_TEST

/* Over the whole range: within [retry, retry * 2.2), never decreasing. */
START_TEST(test_jitter_bounds)
{
	uint32_t prev = 0, v;
	uint64_t r;

	for (r = 0; r <= UINT32_MAX; r += 0x01000193u) {
		v = k8s_le_jitter_ms(K8S_LE_RETRY_MS, (uint32_t)r);
		ck_assert_uint_ge(v, K8S_LE_RETRY_MS);
		ck_assert_uint_lt(v, K8S_LE_RETRY_MS * 2200 / 1000);
		ck_assert_uint_ge(v, prev);
		prev = v;
	}
}
END_TEST

START_TEST(test_action_names)
{
	ck_assert_str_eq(k8s_le_action_name(K8S_LE_WAIT), "wait");
	ck_assert_str_eq(k8s_le_action_name(K8S_LE_CREATE), "create");
	ck_assert_str_eq(k8s_le_action_name(K8S_LE_RENEW), "renew");
	ck_assert_str_eq(k8s_le_action_name(K8S_LE_TAKEOVER), "takeover");
	ck_assert_str_eq(k8s_le_action_name((enum k8s_le_action)42), "?");
}
END_TEST

/* ---- k8s_leader_new, and an elector on a loop */

struct counts {
	int	 started, stopped, leaders, errors;
	char	 last_error[512];
};

static void
cb_started(void *arg)
{
	((struct counts *)arg)->started++;
}

static void
cb_stopped(void *arg)
{
	((struct counts *)arg)->stopped++;
}

static void
cb_leader(void *arg, const char *h)
{
	((struct counts *)arg)->leaders++;
}

static void
cb_error(void *arg, const char *text)
{
	struct counts *c = arg;

	c->errors++;
	snprintf(c->last_error, sizeof(c->last_error), "%s", text);
}

/* A loopback port: `listening` keeps a socket that never answers (the
 * kernel accepts the connection), else the port is closed (refused). */
static int
loopback_port(bool listening, int *fd_out)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	if (listening) {
		ck_assert_int_eq(listen(fd, 8), 0);
		*fd_out = fd;
	} else {
		close(fd);
		*fd_out = -1;
	}
	return ntohs(sin.sin_port);
}

struct env {
	struct event_base	*base;
	struct k8s_http		*http;
	int			 fd;
};

static void
env_setup(struct env *e, bool listening)
{
	struct k8s_conn conn;
	char err[256];
	int port = loopback_port(listening, &e->fd);

	memset(&conn, 0, sizeof(conn));
	ck_assert_int_gt(asprintf(&conn.server, "http://127.0.0.1:%d", port), 0);
	e->base = event_base_new();
	ck_assert_ptr_nonnull(e->base);
	e->http = k8s_http_new(e->base, &conn, err, sizeof(err));
	ck_assert_msg(e->http != NULL, "%s", err);
	k8s_conn_free(&conn);
}

static void
env_teardown(struct env *e)
{
	k8s_http_free(e->http);
	event_base_free(e->base);
	if (e->fd >= 0)
		close(e->fd);
}

static const struct new_case {
	const char	*what;
	const char	*ns, *name, *identity;
	unsigned	 lease_s, renew_ms, retry_ms;
	bool		 no_started, no_stopped;
	bool		 ok;
} new_cases[] = {
	{ "defaults", "ns", "l", "me", 0, 0, 0, false, false, true },
	{ "client-go defaults spelt out", "ns", "l", "me", 15, 10000, 2000,
	    false, false, true },
	{ "fast test timings", "bgplb-system", "bgplb-leader", "node-1", 3,
	    2000, 500, false, false, true },
	{ "renew just above retry * 1.2", "ns", "l", "me", 15, 2401, 2000,
	    false, false, true },
	{ "renew == retry * 1.2", "ns", "l", "me", 15, 2400, 2000, false, false,
	    false },
	{ "renew < retry", "ns", "l", "me", 15, 1000, 2000, false, false, false },
	{ "lease == renew", "ns", "l", "me", 10, 10000, 2000, false, false,
	    false },
	{ "lease < renew", "ns", "l", "me", 5, 10000, 2000, false, false, false },
	{ "lease < default renew", "ns", "l", "me", 9, 0, 0, false, false, false },
	{ "retry default too slow for renew", "ns", "l", "me", 15, 2000, 0,
	    false, false, false },
	{ "lease beyond int32", "ns", "l", "me", 3000000000u, 10000, 2000,
	    false, false, false },
	{ "no namespace", NULL, "l", "me", 0, 0, 0, false, false, false },
	{ "empty namespace", "", "l", "me", 0, 0, 0, false, false, false },
	{ "no name", "ns", NULL, "me", 0, 0, 0, false, false, false },
	{ "name with a slash", "ns", "a/b", "me", 0, 0, 0, false, false, false },
	{ "name with a query", "ns", "a?watch=1", "me", 0, 0, 0, false, false,
	    false },
	{ "namespace upper case", "NS", "l", "me", 0, 0, 0, false, false, false },
	{ "no identity", "ns", "l", NULL, 0, 0, 0, false, false, false },
	{ "empty identity", "ns", "l", "", 0, 0, 0, false, false, false },
	{ "no on_started", "ns", "l", "me", 0, 0, 0, true, false, false },
	{ "no on_stopped", "ns", "l", "me", 0, 0, 0, false, true, false },
};

START_TEST(test_new)
{
	const struct new_case *c = &new_cases[_i];
	struct counts n = { 0 };
	struct k8s_leader_opts o = {
		.namespace = c->ns, .name = c->name, .identity = c->identity,
		.lease_s = c->lease_s, .renew_deadline_ms = c->renew_ms,
		.retry_ms = c->retry_ms,
		.on_started = c->no_started ? NULL : cb_started,
		.on_stopped = c->no_stopped ? NULL : cb_stopped,
		.arg = &n,
	};
	struct k8s_leader *l;
	struct env e;

	env_setup(&e, false);
	l = k8s_leader_new(e.base, e.http, &o);
	ck_assert_msg((l != NULL) == c->ok, "%s: %s", c->what,
	    l ? "accepted" : "rejected");
	if (l != NULL) {
		ck_assert(!k8s_leader_leading(l));
		ck_assert_ptr_null(k8s_leader_holder(l));
	}
	k8s_leader_free(l);
	ck_assert_int_eq(n.started + n.stopped, 0);
	env_teardown(&e);
}
END_TEST

START_TEST(test_new_null)
{
	struct k8s_leader_opts o = { .namespace = "ns", .name = "l",
	    .identity = "me", .on_started = cb_started, .on_stopped = cb_stopped };
	struct env e;

	env_setup(&e, false);
	ck_assert_ptr_null(k8s_leader_new(e.base, e.http, NULL));
	ck_assert_ptr_null(k8s_leader_new(e.base, NULL, &o));
	ck_assert_ptr_null(k8s_leader_new(NULL, e.http, &o));
	k8s_leader_free(NULL);
	ck_assert(!k8s_leader_leading(NULL));
	ck_assert_ptr_null(k8s_leader_holder(NULL));
	env_teardown(&e);
}
END_TEST

static void
on_release_done(void *arg)
{
	(*(int *)arg)++;
}

struct run {
	struct k8s_leader	*l;
	struct event_base	*base;
	bool			 freed;
};

static void
free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	k8s_leader_free(r->l);
	r->l = NULL;
	r->freed = true;
	event_base_loopbreak(r->base);
}

static void
run_for(struct event_base *base, struct run *r, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event *ev = evtimer_new(base, free_cb, r);

	evtimer_add(ev, &tv);
	event_base_dispatch(base);
	event_free(ev);
}

/* No API server: errors name the Lease, nothing leads, retries continue. */
START_TEST(test_refused)
{
	struct counts n = { 0 };
	struct k8s_leader_opts o = { .namespace = "ns", .name = "l",
	    .identity = "me", .lease_s = 2, .renew_deadline_ms = 1000,
	    .retry_ms = 50, .on_started = cb_started, .on_stopped = cb_stopped,
	    .on_new_leader = cb_leader, .on_error = cb_error, .arg = &n };
	struct run r = { 0 };
	struct env e;

	env_setup(&e, false);
	r.base = e.base;
	r.l = k8s_leader_new(e.base, e.http, &o);
	ck_assert_ptr_nonnull(r.l);
	run_for(e.base, &r, 600);
	ck_assert(r.freed);
	/* At most one try per 50 ms, at least one per 110 ms (jitter). */
	ck_assert_int_ge(n.errors, 2);
	ck_assert_int_le(n.errors, 13);
	ck_assert_msg(strncmp(n.last_error, "lease ns/l: GET: ", 17) == 0, "%s",
	    n.last_error);
	ck_assert_int_eq(n.started + n.stopped + n.leaders, 0);
	env_teardown(&e);
}
END_TEST

/* A server that never answers: free with the GET in flight (valgrind
 * checks that nothing leaks or is touched after), and release with
 * nothing observed finishes before it returns, without on_stopped. */
START_TEST(test_free_in_flight)
{
	struct counts n = { 0 };
	struct k8s_leader_opts o = { .namespace = "ns", .name = "l",
	    .identity = "me", .on_started = cb_started, .on_stopped = cb_stopped,
	    .on_new_leader = cb_leader, .on_error = cb_error, .arg = &n };
	struct run r = { 0 };
	struct k8s_leader *l;
	struct env e;
	int done = 0;

	env_setup(&e, true);
	r.base = e.base;
	r.l = k8s_leader_new(e.base, e.http, &o);
	ck_assert_ptr_nonnull(r.l);
	run_for(e.base, &r, 300);
	ck_assert(r.freed);
	ck_assert_int_eq(n.errors + n.started + n.stopped + n.leaders, 0);

	l = k8s_leader_new(e.base, e.http, &o);
	ck_assert_ptr_nonnull(l);
	k8s_leader_release(l, on_release_done, &done);
	ck_assert_int_eq(done, 1);
	k8s_leader_release(l, on_release_done, &done);	/* again: at once */
	ck_assert_int_eq(done, 2);
	k8s_leader_release(NULL, on_release_done, &done);
	ck_assert_int_eq(done, 3);
	k8s_leader_free(l);
	ck_assert_int_eq(n.started + n.stopped + n.leaders, 0);
	env_teardown(&e);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("k8s_leader");
	TCase *tc = tcase_create("pure");
	TCase *te = tcase_create("elector");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_same_record, 0, N(same_cases));
	tcase_add_test(tc, test_same_record_empty_holder);
	tcase_add_test(tc, test_observe_sequence);
	tcase_add_loop_test(tc, test_valid, 0, N(valid_cases));
	tcase_add_test(tc, test_duration_null);
	tcase_add_loop_test(tc, test_decide, 0, N(decide_cases));
	tcase_add_loop_test(tc, test_spec, 0, N(spec_cases));
	tcase_add_test(tc, test_spec_without_cur);
	tcase_add_test(tc, test_release_spec);
	tcase_add_loop_test(tc, test_deadline, 0, N(deadline_cases));
	tcase_add_loop_test(tc, test_jitter, 0, N(jitter_cases));
	tcase_add_test(tc, test_jitter_bounds);
	tcase_add_test(tc, test_action_names);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(te, test_new, 0, N(new_cases));
	tcase_add_test(te, test_new_null);
	tcase_add_test(te, test_refused);
	tcase_add_test(te, test_free_in_flight);
	suite_add_tcase(s, te);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
