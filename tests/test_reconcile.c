/*
 * test_reconcile.c - Kubernetes mode's allocation decisions (pure).
 *
 * Each case is a set of Services (request, status, write in flight) under one
 * config, and for each Service the view (what every node announces) and the
 * leader's decision (what status should hold, whether to write it, whether
 * something is taken away, why a request can't be met).  The cases are the
 * situations of a real cluster: a first start, a restart of the leader, two
 * Services claiming one address, a typo'd pool, a pool removed, a pool
 * change, writes in flight, shared addresses, dual stack, a sharing broken
 * by one Service's change, sharing across backends, families, pools with
 * auto-assign off.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/reconcile.h"

static const char pools_yaml[] =
    "pools:\n"
    "  - {name: default, protocol: bgp, addresses: [172.16.3.1-172.16.3.3]}\n"
    "  - {name: poc, protocol: bgp, addresses: [172.16.13.1-172.16.13.254]}\n"
    "  - {name: manual, protocol: bgp, auto-assign: false, addresses: [10.9.0.0/30]}\n"
    "  - {name: ds, protocol: bgp, auto-assign: false,\n"
    "     addresses: [10.6.0.0/30, 'fd00:6::/126']}\n";

struct svc {
	const char	*key;
	int		 created;
	const char	*pool;		/* request */
	const char	*ip;		/* static request */
	const char	*share;
	const char	*backend;
	int		 changed;	/* request seen changing: later yields */
	unsigned	 families;
	bool		 dual_required;
	unsigned	 port;		/* one TCP port, for sharing */
	const char	*status;	/* "a,b" */
	const char	*pending;	/* NULL: none */
	bool		 frozen;
	/* expected */
	const char	*view;
	const char	*want;
	bool		 write, cleared, kept;
	enum alloc_err	 err;
	const char	*why;		/* substring of why (err) or clear_why */
};

#define V4 CFG_FAMILY_IPV4
#define V6 CFG_FAMILY_IPV6
#define MAXS 5

static const struct rc_case {
	const char *name;
	struct svc s[MAXS];
} cases[] = {
	{ "first service gets the lowest address of the first auto pool", {
		{ .key = "a/one", .created = 1, .view = "", .want = "172.16.3.1",
		  .write = true },
	} },
	{ "the seed's protopod: pool poc, loadBalancerIP 172.16.13.254", {
		{ .key = "protopod/protopod", .created = 1, .pool = "poc",
		  .ip = "172.16.13.254", .view = "", .want = "172.16.13.254",
		  .write = true },
	} },
	{ "leader restart: held addresses stay, the new one gets a free one", {
		{ .key = "a/x", .created = 1, .status = "172.16.3.2",
		  .view = "172.16.3.2", .want = "172.16.3.2" },
		{ .key = "a/y", .created = 2, .status = "172.16.3.1",
		  .view = "172.16.3.1", .want = "172.16.3.1" },
		{ .key = "a/z", .created = 3, .view = "", .want = "172.16.3.3",
		  .write = true },
	} },
	{ "two Services with one address: the older keeps it", {
		{ .key = "a/young", .created = 5, .status = "172.16.3.1",
		  .view = "", .want = "172.16.3.2", .write = true,
		  .cleared = true, .why = "already" },
		{ .key = "z/old", .created = 1, .status = "172.16.3.1",
		  .view = "172.16.3.1", .want = "172.16.3.1" },
	} },
	{ "same creation time: namespace/name decides", {
		{ .key = "b/b", .created = 1, .status = "172.16.3.1", .view = "",
		  .want = "172.16.3.2", .write = true, .cleared = true },
		{ .key = "a/a", .created = 1, .status = "172.16.3.1",
		  .view = "172.16.3.1", .want = "172.16.3.1" },
	} },
	{ "unknown pool and nothing held: fails, nothing written", {
		{ .key = "p/p", .created = 1, .pool = "pco", .view = "", .want = "",
		  .err = ALLOC_ERR_UNKNOWN_POOL, .why = "unknown pool \"pco\"" },
	} },
	{ "a typo'd pool never takes away what a Service holds", {
		{ .key = "p/p", .created = 1, .pool = "pco", .status = "172.16.13.5",
		  .view = "172.16.13.5", .want = "172.16.13.5", .kept = true,
		  .err = ALLOC_ERR_UNKNOWN_POOL, .why = "unknown pool \"pco\"" },
	} },
	{ "pool changed to one that has room: the address moves", {
		{ .key = "p/p", .created = 1, .pool = "default",
		  .status = "172.16.13.5", .view = "172.16.13.5",
		  .want = "172.16.3.1", .write = true, .cleared = true,
		  .why = "not in pool \"default\"" },
	} },
	{ "address no longer in any pool: not announced, replaced", {
		{ .key = "p/p", .created = 1, .status = "10.99.0.1", .view = "",
		  .want = "172.16.3.1", .write = true, .cleared = true,
		  .why = "10.99.0.1 is not in any pool" },
	} },
	{ "a write in flight is honoured: nobody else gets that address", {
		{ .key = "a/first", .created = 1, .pending = "172.16.3.2",
		  .view = "", .want = "172.16.3.2", .write = true },
		{ .key = "a/second", .created = 2, .view = "",
		  .want = "172.16.3.1", .write = true },
	} },
	{ "frozen Service: kept as its status says, nothing written", {
		{ .key = "f/f", .created = 2, .frozen = true,
		  .status = "172.16.13.7", .view = "172.16.13.7",
		  .want = "172.16.13.7" },
		{ .key = "f/g", .created = 3, .pool = "poc", .ip = "172.16.13.7",
		  .view = "", .want = "", .err = ALLOC_ERR_IN_USE,
		  .why = "already in use by \"f/f\"" },
	} },
	{ "frozen Service outside every pool: not announced, not touched", {
		{ .key = "f/f", .created = 1, .frozen = true, .status = "10.99.0.1",
		  .view = "", .want = "" },
	} },
	{ "shared address: same key, other ports; another key can't have it", {
		{ .key = "s/http", .created = 1, .share = "k", .port = 80,
		  .status = "172.16.3.1", .view = "172.16.3.1",
		  .want = "172.16.3.1" },
		{ .key = "s/https", .created = 2, .share = "k", .port = 443,
		  .status = "172.16.3.1", .view = "172.16.3.1",
		  .want = "172.16.3.1" },
		{ .key = "s/other", .created = 3, .share = "j", .port = 22,
		  .ip = "172.16.3.1", .view = "", .want = "",
		  .err = ALLOC_ERR_IN_USE },
	} },
	/* d/half holds an address, so it is completed in the first pass, before
	 * d/new (older, but new) is given its pair: fd00:6:: goes to d/half. */
	{ "dual stack required: both families; status with one is completed", {
		{ .key = "d/new", .created = 1, .pool = "ds", .families = V4 | V6,
		  .dual_required = true, .view = "", .want = "10.6.0.0,fd00:6::1",
		  .write = true },
		{ .key = "d/half", .created = 2, .pool = "ds", .families = V4 | V6,
		  .dual_required = true, .status = "10.6.0.2",
		  .view = "10.6.0.2", .want = "10.6.0.2,fd00:6::", .write = true },
	} },
	{ "auto pools fill in order; a named pool runs out", {
		{ .key = "e/1", .created = 1, .pool = "default", .view = "",
		  .want = "172.16.3.1", .write = true },
		{ .key = "e/2", .created = 2, .pool = "default", .view = "",
		  .want = "172.16.3.2", .write = true },
		{ .key = "e/3", .created = 3, .view = "", .want = "172.16.3.3",
		  .write = true },
		{ .key = "e/4", .created = 4, .view = "", .want = "172.16.13.1",
		  .write = true },
		{ .key = "e/5", .created = 5, .pool = "default", .view = "",
		  .want = "", .err = ALLOC_ERR_POOL_EXHAUSTED,
		  .why = "pool \"default\" has no free addresses" },
	} },
	{ "loadBalancerIP changed: moves to the new address", {
		{ .key = "p/p", .created = 1, .pool = "poc", .ip = "172.16.13.254",
		  .status = "172.16.13.5", .view = "172.16.13.5",
		  .want = "172.16.13.254", .write = true, .cleared = true },
	} },
	{ "loadBalancerIP held by an older Service: keeps what it has", {
		{ .key = "p/old", .created = 1, .ip = "172.16.13.254",
		  .status = "172.16.13.254", .view = "172.16.13.254",
		  .want = "172.16.13.254" },
		{ .key = "p/new", .created = 2, .ip = "172.16.13.254",
		  .status = "172.16.13.6", .view = "172.16.13.6",
		  .want = "172.16.13.6", .kept = true, .err = ALLOC_ERR_IN_USE },
	} },
	/* m/m: its pool was switched to auto-assign: false, or it dropped the
	 * pool annotation or loadBalancerIP that pointed into it.  auto-assign
	 * governs new assignments only: what is held stays (MetalLB). */
	{ "an address of a pool with auto-assign off is kept when held", {
		{ .key = "m/m", .created = 1, .status = "10.9.0.1",
		  .view = "10.9.0.1", .want = "10.9.0.1" },
		{ .key = "m/n", .created = 2, .pool = "manual",
		  .status = "10.9.0.2", .view = "10.9.0.2", .want = "10.9.0.2" },
		{ .key = "m/o", .created = 3, .view = "", .want = "172.16.3.1",
		  .write = true },
	} },
	{ "dual stack held in a manual pool, pool annotation dropped: kept", {
		{ .key = "m/d", .created = 1, .families = V4 | V6,
		  .status = "10.6.0.1,fd00:6::1", .view = "10.6.0.1,fd00:6::1",
		  .want = "10.6.0.1,fd00:6::1" },
	} },
	/* Sharing broken by a change: whoever changed yields. */
	{ "the older sharer drops its sharing key: it moves, the other stays", {
		{ .key = "s/old", .created = 1, .changed = 5, .port = 80,
		  .status = "172.16.3.1", .view = "", .want = "172.16.3.2",
		  .write = true, .cleared = true, .why = "already in use by "
		  "\"s/young\"" },
		{ .key = "s/young", .created = 2, .share = "k", .port = 443,
		  .status = "172.16.3.1", .view = "172.16.3.1",
		  .want = "172.16.3.1" },
	} },
	{ "the older sharer's ports now overlap: it moves, the other stays", {
		{ .key = "s/old", .created = 1, .changed = 9, .share = "k",
		  .port = 443, .status = "172.16.3.1", .view = "",
		  .want = "172.16.3.2", .write = true, .cleared = true,
		  .why = "ports overlap: 443/tcp" },
		{ .key = "s/young", .created = 2, .changed = 3, .share = "k",
		  .port = 443, .status = "172.16.3.1", .view = "172.16.3.1",
		  .want = "172.16.3.1" },
	} },
	{ "the younger sharer changed its key: it moves (as before)", {
		{ .key = "s/old", .created = 1, .share = "k", .port = 80,
		  .status = "172.16.3.1", .view = "172.16.3.1",
		  .want = "172.16.3.1" },
		{ .key = "s/young", .created = 2, .changed = 1, .share = "j",
		  .port = 443, .status = "172.16.3.1", .view = "",
		  .want = "172.16.3.2", .write = true, .cleared = true,
		  .why = "sharing key \"k\" differs" },
	} },
	{ "a sharer that can't move elsewhere fails, the other keeps it", {
		{ .key = "s/old", .created = 1, .changed = 2, .pool = "manual",
		  .ip = "10.9.0.1", .port = 80, .status = "10.9.0.1",
		  .view = "", .want = "", .write = true, .cleared = true,
		  .err = ALLOC_ERR_IN_USE, .why = "already in use" },
		{ .key = "s/young", .created = 2, .share = "k", .port = 443,
		  .status = "10.9.0.1", .view = "10.9.0.1", .want = "10.9.0.1" },
	} },
	/* Backends: the same selector under Local; Local and Cluster apart. */
	{ "Local Services with other selectors don't share an address", {
		{ .key = "l/a", .created = 1, .share = "k", .port = 80,
		  .backend = "Local app=a", .status = "172.16.3.1",
		  .view = "172.16.3.1", .want = "172.16.3.1" },
		{ .key = "l/b", .created = 2, .share = "k", .port = 81,
		  .backend = "Local app=b", .ip = "172.16.3.1", .view = "",
		  .want = "", .err = ALLOC_ERR_IN_USE, .why = "backends differ: "
		  "\"Local app=a\" there, \"Local app=b\" here" },
		{ .key = "l/c", .created = 3, .share = "k", .port = 82,
		  .backend = "Local app=b", .view = "", .want = "172.16.3.2",
		  .write = true },
		{ .key = "l/d", .created = 4, .share = "k", .port = 83,
		  .backend = "Local app=a", .view = "", .want = "172.16.3.1",
		  .write = true },
		{ .key = "l/e", .created = 5, .share = "k", .port = 84,
		  .ip = "172.16.3.1", .view = "", .want = "",
		  .err = ALLOC_ERR_IN_USE, .why = "\"Local app=a\" there, "
		  "\"Cluster\" here" },
	} },
	{ "a held address shared across backends: the younger moves", {
		{ .key = "l/a", .created = 1, .share = "k", .port = 80,
		  .backend = "Local app=a", .status = "172.16.3.1",
		  .view = "172.16.3.1", .want = "172.16.3.1" },
		{ .key = "l/b", .created = 2, .share = "k", .port = 81,
		  .backend = "Local app=b", .status = "172.16.3.1", .view = "",
		  .want = "172.16.3.2", .write = true, .cleared = true,
		  .why = "backends differ" },
	} },
	/* Families: nothing outside spec.ipFamilies. */
	{ "an IPv6 address asked for a single-stack IPv4 Service: refused", {
		{ .key = "f/new", .created = 1, .pool = "ds", .families = V4,
		  .ip = "fd00:6::1", .view = "", .want = "",
		  .err = ALLOC_ERR_FAMILY, .why = "fd00:6::1 is an IPv6 address, "
		  "but the service is single-stack IPv4" },
		{ .key = "f/held", .created = 2, .pool = "ds", .families = V4,
		  .ip = "fd00:6::2", .status = "fd00:6::2", .view = "fd00:6::2",
		  .want = "", .write = true, .cleared = true,
		  .err = ALLOC_ERR_FAMILY, .why = "single-stack IPv4" },
		{ .key = "f/dyn", .created = 3, .pool = "ds", .families = V4,
		  .status = "fd00:6::3", .view = "fd00:6::3", .want = "10.6.0.0",
		  .write = true, .cleared = true, .why = "IPv6" },
		{ .key = "f/v6", .created = 4, .pool = "ds", .families = V6,
		  .ip = "fd00:6::", .view = "", .want = "fd00:6::",
		  .write = true },
	} },
};

static size_t
parse_addrs(const char *s, struct addr *out, size_t max)
{
	char buf[256], *tok, *save = NULL;
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		ck_assert_uint_lt(n, max);
		ck_assert_msg(addr_parse(tok, &out[n]) == 0, "bad fixture %s", tok);
		n++;
	}
	return n;
}

static void
text(const struct alloc_assignment *a, char *out, size_t len)
{
	char b[ADDR_STRLEN];

	out[0] = '\0';
	for (size_t i = 0; i < a->naddrs; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s",
		    i ? "," : "", addr_ntop(&a->addrs[i], b, sizeof(b)));
}

START_TEST(test_case)
{
	const struct rc_case *c = &cases[_i];
	struct cfg_errors errs = { 0 };
	struct cfg *cfg = cfg_load_buf("p.yaml", pools_yaml, strlen(pools_yaml),
	    &errs);
	struct rc_service in[MAXS];
	struct rc_result out[MAXS];
	struct addr st[MAXS][2], pend[MAXS][2], ips[MAXS][2];
	struct cfg_port ports[MAXS];
	struct alloc *va = NULL;
	size_t n = 0;

	ck_assert_msg(cfg != NULL, "%s", errs.n ? errs.lines[0] : "?");
	memset(in, 0, sizeof(in));
	for (n = 0; n < MAXS && c->s[n].key != NULL; n++) {
		const struct svc *s = &c->s[n];
		struct rc_service *r = &in[n];

		r->key = s->key;
		r->created.tv_sec = s->created;
		r->changed = (uint64_t)s->changed;
		r->frozen = s->frozen;
		r->req.service = s->key;
		r->req.pool = s->pool;
		r->req.naddresses = parse_addrs(s->ip, ips[n], 2);
		r->req.addresses = ips[n];
		r->req.sharing_key = s->share;
		r->req.backend_key = s->backend;
		if (s->port) {
			ports[n].port = (uint16_t)s->port;
			ports[n].proto = CFG_L4_TCP;
			r->req.ports = &ports[n];
			r->req.nports = 1;
		}
		r->req.families = s->families;
		r->req.dual_stack_required = s->dual_required;
		r->nstatus = parse_addrs(s->status, st[n], 2);
		r->status = st[n];
		if (s->pending != NULL) {
			r->has_pending = true;
			r->npending = parse_addrs(s->pending, pend[n], 2);
			r->pending = pend[n];
		}
	}
	rc_run(cfg, in, n, true, out, &va);
	ck_assert_ptr_nonnull(va);
	for (size_t i = 0; i < n; i++) {
		const struct svc *s = &c->s[i];
		const struct rc_result *r = &out[i];
		char got[128];

		text(&r->view, got, sizeof(got));
		ck_assert_msg(strcmp(got, s->view) == 0, "%s: %s: view %s, want %s",
		    c->name, s->key, got, s->view);
		text(&r->want, got, sizeof(got));
		ck_assert_msg(strcmp(got, s->want) == 0, "%s: %s: want %s, expected %s",
		    c->name, s->key, got, s->want);
		ck_assert_msg(r->write == s->write, "%s: %s: write %d", c->name,
		    s->key, r->write);
		ck_assert_msg(r->cleared == s->cleared, "%s: %s: cleared %d (%s)",
		    c->name, s->key, r->cleared, r->clear_why);
		ck_assert_msg(r->kept == s->kept, "%s: %s: kept %d", c->name,
		    s->key, r->kept);
		ck_assert_msg(r->err == s->err, "%s: %s: err %s (%s), want %s",
		    c->name, s->key, alloc_err_name(r->err), r->why,
		    alloc_err_name(s->err));
		if (s->why != NULL)
			ck_assert_msg(strstr(s->err ? r->why : r->clear_why,
			    s->why) != NULL, "%s: %s: why \"%s\" lacks \"%s\"",
			    c->name, s->key, s->err ? r->why : r->clear_why,
			    s->why);
	}
	/* Followers compute the same view without the leader's part. */
	{
		struct rc_result f[MAXS];

		rc_run(cfg, in, n, false, f, NULL);
		for (size_t i = 0; i < n; i++) {
			char a[128], b[128];

			text(&out[i].view, a, sizeof(a));
			text(&f[i].view, b, sizeof(b));
			ck_assert_str_eq(a, b);
			ck_assert_uint_eq(f[i].want.naddrs, 0);
			ck_assert(!f[i].write);
		}
		rc_results_clear(f, n);
	}
	rc_results_clear(out, n);
	alloc_free(va);
	cfg_free(cfg);
	cfg_errors_free(&errs);
}
END_TEST

/* Input order does not matter: every node sees the same outcome. */
START_TEST(test_order_independent)
{
	const struct rc_case *c = &cases[3];	/* the conflict */
	struct cfg_errors errs = { 0 };
	struct cfg *cfg = cfg_load_buf("p.yaml", pools_yaml, strlen(pools_yaml),
	    &errs);
	struct rc_service in[2];
	struct rc_result out[2];
	struct addr st;

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(addr_parse("172.16.3.1", &st), 0);
	memset(in, 0, sizeof(in));
	/* Reversed with respect to the table. */
	for (int k = 0; k < 2; k++) {
		const struct svc *s = &c->s[1 - k];

		in[k].key = s->key;
		in[k].req.service = s->key;
		in[k].created.tv_sec = s->created;
		in[k].status = &st;
		in[k].nstatus = 1;
	}
	rc_run(cfg, in, 2, true, out, NULL);
	ck_assert_str_eq(in[0].key, "z/old");
	ck_assert_uint_eq(out[0].view.naddrs, 1);
	ck_assert_uint_eq(out[1].view.naddrs, 0);
	ck_assert(out[1].write && !out[0].write);
	rc_results_clear(out, 2);
	cfg_free(cfg);
}
END_TEST

START_TEST(test_same_addrs)
{
	struct addr a[2], b[2];

	ck_assert_int_eq(addr_parse("10.0.0.1", &a[0]), 0);
	ck_assert_int_eq(addr_parse("fd00::1", &a[1]), 0);
	b[0] = a[1];
	b[1] = a[0];
	ck_assert(rc_same_addrs(a, 2, b, 2));
	ck_assert(!rc_same_addrs(a, 2, b, 1));
	ck_assert(!rc_same_addrs(a, 1, b, 1));
	ck_assert(rc_same_addrs(a, 0, b, 0));
}
END_TEST

/* What counts as a change of request (the store stamps `changed`). */
START_TEST(test_same_request)
{
	struct addr ip[2];
	struct cfg_port p1[2] = { { 80, CFG_L4_TCP }, { 53, CFG_L4_UDP } };
	struct cfg_port p2[2] = { { 53, CFG_L4_UDP }, { 80, CFG_L4_TCP } };
	struct alloc_request a = { .service = "a/a", .pool = "poc",
	    .sharing_key = "k", .backend_key = "Local app=a", .ports = p1,
	    .nports = 2, .families = V4 };
	struct alloc_request b;

	ck_assert_int_eq(addr_parse("10.0.0.1", &ip[0]), 0);
	ck_assert_int_eq(addr_parse("10.0.0.2", &ip[1]), 0);
	b = a;
	b.service = "other/name";
	b.ports = p2;		/* same ports, another order */
	ck_assert(rc_same_request(&a, &b));
	b.sharing_key = NULL;
	ck_assert(!rc_same_request(&a, &b));
	b = a;
	b.nports = 1;
	ck_assert(!rc_same_request(&a, &b));
	b = a;
	b.backend_key = "Local app=b";
	ck_assert(!rc_same_request(&a, &b));
	b = a;
	b.pool = NULL;
	ck_assert(!rc_same_request(&a, &b));
	b = a;
	b.addresses = ip;
	b.naddresses = 1;
	ck_assert(!rc_same_request(&a, &b));
	a.addresses = &ip[1];
	a.naddresses = 1;
	ck_assert(!rc_same_request(&a, &b));
	b.families = V4 | V6;
	b.addresses = &ip[1];
	ck_assert(!rc_same_request(&a, &b));
	b.families = V4;
	ck_assert(rc_same_request(&a, &b));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("reconcile");
	TCase *tc = tcase_create("reconcile");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_case, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_order_independent);
	tcase_add_test(tc, test_same_addrs);
	tcase_add_test(tc, test_same_request);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
