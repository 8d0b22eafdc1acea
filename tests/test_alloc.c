/*
 * test_alloc.c - the allocator and its state file.
 *
 * Configs are built by hand (no YAML parser involved) from small tables.
 * Most rules are checked as scenarios: a set of pools and a sequence of
 * assign / claim / release steps, each with the exact result expected
 * (error, addresses, and the reason string users will read).  The run
 * bookkeeping is also checked against a brute-force model of the same pool.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bgplb/addr.h"
#include "bgplb/alloc.h"
#include "bgplb/config.h"

/* ---- hand-built configs ---- */

struct tpool {
	const char	*name;
	const char	*ranges[4];	/* "a-b", "p/len" or "a" */
	bool		 manual;	/* auto-assign: false */
	bool		 buggy;		/* avoid-buggy-ips: true */
};

static struct addr
A(const char *s)
{
	struct addr a;

	ck_assert_msg(addr_parse(s, &a) == 0, "bad test address %s", s);
	return a;
}

static void
parse_range(const char *s, struct cfg_range *out)
{
	char buf[128];
	char *dash;

	memset(out, 0, sizeof(*out));
	snprintf(buf, sizeof(buf), "%s", s);
	if (strchr(buf, '/') != NULL) {
		ck_assert_msg(prefix_parse(buf, &out->cidr, false) == 0,
		    "bad test prefix %s", s);
		out->is_cidr = true;
		out->range = prefix_range(&out->cidr);
	} else if ((dash = strchr(buf, '-')) != NULL) {
		*dash = '\0';
		out->range.first = A(buf);
		out->range.last = A(dash + 1);
	} else {
		out->range.first = A(buf);
		out->range.last = out->range.first;
	}
}

static void
tcfg_add_pools(struct cfg *cfg, const struct tpool *tp)
{
	size_t n = 0;

	while (n < 4 && tp[n].name != NULL)
		n++;
	cfg->pools = calloc(n ? n : 1, sizeof(*cfg->pools));
	cfg->npools = n;
	for (size_t i = 0; i < n; i++) {
		struct cfg_pool *p = &cfg->pools[i];
		size_t nr = 0;

		while (nr < 4 && tp[i].ranges[nr] != NULL)
			nr++;
		p->name = strdup(tp[i].name);
		p->auto_assign = !tp[i].manual;
		p->avoid_buggy_ips = tp[i].buggy;
		p->ranges = calloc(nr ? nr : 1, sizeof(*p->ranges));
		p->nranges = nr;
		for (size_t j = 0; j < nr; j++)
			parse_range(tp[i].ranges[j], &p->ranges[j]);
	}
}

static struct cfg *
tcfg_new(const struct tpool *tp)
{
	struct cfg *cfg = calloc(1, sizeof(*cfg));

	tcfg_add_pools(cfg, tp);
	return cfg;
}

static void
tcfg_free(struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->npools; i++) {
		free(cfg->pools[i].name);
		free(cfg->pools[i].ranges);
	}
	free(cfg->pools);
	for (size_t i = 0; i < cfg->nservices; i++) {
		struct cfg_service *s = &cfg->services[i];

		free(s->name);
		free(s->pool);
		free(s->addresses);
		free(s->sharing_key);
		free(s->ports);
	}
	free(cfg->services);
	free(cfg);
}

/* ---- requests ---- */

struct treq {
	const char	*svc;
	const char	*pool;
	const char	*addrs;		/* "a" or "a b" */
	const char	*key;
	const char	*ports;		/* "80/tcp 53/udp" */
	unsigned	 fam;
	bool		 require;
	const char	*backend;
	bool		 keep_manual;
};

/* Backing storage for one request. */
struct treq_buf {
	struct addr	 addrs[4];
	struct cfg_port	 ports[8];
};

static size_t
parse_addrs(const char *s, struct addr *out, size_t max)
{
	char buf[256], *tok, *save = NULL;
	size_t n = 0;

	if (s == NULL)
		return 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, " ", &save); tok != NULL && n < max;
	    tok = strtok_r(NULL, " ", &save))
		out[n++] = A(tok);
	return n;
}

static size_t
parse_ports(const char *s, struct cfg_port *out, size_t max)
{
	char buf[256], *tok, *save = NULL;
	size_t n = 0;

	if (s == NULL)
		return 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, " ", &save); tok != NULL && n < max;
	    tok = strtok_r(NULL, " ", &save)) {
		char *slash = strchr(tok, '/');

		ck_assert_ptr_nonnull(slash);
		out[n].port = (uint16_t)atoi(tok);
		out[n].proto = strcmp(slash + 1, "udp") == 0 ? CFG_L4_UDP :
		    strcmp(slash + 1, "sctp") == 0 ? CFG_L4_SCTP : CFG_L4_TCP;
		n++;
	}
	return n;
}

static void
treq_fill(const struct treq *t, struct treq_buf *b, struct alloc_request *r)
{
	memset(r, 0, sizeof(*r));
	r->service = t->svc;
	r->pool = t->pool;
	r->naddresses = parse_addrs(t->addrs, b->addrs, 4);
	r->addresses = r->naddresses ? b->addrs : NULL;
	r->sharing_key = t->key;
	r->nports = parse_ports(t->ports, b->ports, 8);
	r->ports = r->nports ? b->ports : NULL;
	r->families = t->fam;
	r->dual_stack_required = t->require;
	r->backend_key = t->backend;
	r->keep_manual = t->keep_manual;
}

static const char *
addrs_str(const struct addr *a, size_t n, char *buf, size_t len)
{
	char one[ADDR_STRLEN];

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strncat(buf, " ", len - strlen(buf) - 1);
		strncat(buf, addr_ntop(&a[i], one, sizeof(one)),
		    len - strlen(buf) - 1);
	}
	return buf;
}

/* ---- scenarios ---- */

enum op { OP_END = 0, OP_ASSIGN, OP_CLAIM, OP_RELEASE };

struct step {
	enum op		 op;
	struct treq	 r;
	const char	*prev;		/* claim: previous addresses */
	enum alloc_err	 err;
	const char	*want;		/* addresses on success ("" for release) */
	const char	*why;		/* exact reason on failure */
	const char	*pool;		/* pool expected on success, when set */
};

struct scenario {
	const char	*name;
	struct tpool	 pools[4];
	struct step	 steps[16];
};

#define V4	CFG_FAMILY_IPV4
#define V6	CFG_FAMILY_IPV6
#define DUAL	(CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6)

static const struct scenario scenarios[] = {
	{ "range pool, lowest first, exhaustion",
	  { { "poc", { "172.16.13.1-172.16.13.3" } } },
	  { { OP_ASSIGN, { "ns/a" }, NULL, ALLOC_OK, "172.16.13.1", NULL, "poc" },
	    { OP_ASSIGN, { "ns/b" }, NULL, ALLOC_OK, "172.16.13.2" },
	    { OP_ASSIGN, { "ns/c", "poc" }, NULL, ALLOC_OK, "172.16.13.3" },
	    { OP_ASSIGN, { "ns/d", "poc" }, NULL, ALLOC_ERR_POOL_EXHAUSTED, NULL,
	      "pool \"poc\" has no free addresses" },
	    { OP_ASSIGN, { "ns/d" }, NULL, ALLOC_ERR_NO_POOL, NULL,
	      "no auto-assign pool has a free address" },
	    { OP_ASSIGN, { "ns/d", NULL, NULL, NULL, NULL, V4 }, NULL,
	      ALLOC_ERR_NO_POOL, NULL,
	      "no auto-assign pool has a free IPv4 address" } } },
	{ "CIDR /30 filled, then exhausted",
	  { { "poc", { "10.0.0.0/30" } } },
	  { { OP_ASSIGN, { "a" }, NULL, ALLOC_OK, "10.0.0.0" },
	    { OP_ASSIGN, { "b" }, NULL, ALLOC_OK, "10.0.0.1" },
	    { OP_ASSIGN, { "c" }, NULL, ALLOC_OK, "10.0.0.2" },
	    { OP_ASSIGN, { "d" }, NULL, ALLOC_OK, "10.0.0.3" },
	    { OP_ASSIGN, { "e", "poc" }, NULL, ALLOC_ERR_POOL_EXHAUSTED, NULL,
	      "pool \"poc\" has no free addresses" },
	    { OP_ASSIGN, { "e", "poc", NULL, NULL, NULL, V4 }, NULL,
	      ALLOC_ERR_POOL_EXHAUSTED, NULL,
	      "pool \"poc\" has no free IPv4 addresses" } } },
	{ "several ranges and CIDRs in one pool, in address order",
	  { { "poc", { "10.0.0.9-10.0.0.10", "10.0.0.0/31", "10.0.0.5" } } },
	  { { OP_ASSIGN, { "a" }, NULL, ALLOC_OK, "10.0.0.0" },
	    { OP_ASSIGN, { "b" }, NULL, ALLOC_OK, "10.0.0.1" },
	    { OP_ASSIGN, { "c" }, NULL, ALLOC_OK, "10.0.0.5" },
	    { OP_ASSIGN, { "d" }, NULL, ALLOC_OK, "10.0.0.9" },
	    { OP_ASSIGN, { "e" }, NULL, ALLOC_OK, "10.0.0.10" },
	    { OP_ASSIGN, { "f" }, NULL, ALLOC_ERR_NO_POOL } } },
	{ "avoid-buggy-ips skips .255 and .0",
	  { { "poc", { "10.0.0.254-10.0.1.1", "10.0.2.255" }, false, true } },
	  { { OP_ASSIGN, { "a" }, NULL, ALLOC_OK, "10.0.0.254" },
	    { OP_ASSIGN, { "b" }, NULL, ALLOC_OK, "10.0.1.1" },
	    { OP_ASSIGN, { "c", "poc" }, NULL, ALLOC_ERR_POOL_EXHAUSTED, NULL,
	      "pool \"poc\" has no free addresses" },
	    { OP_ASSIGN, { "d", NULL, "10.0.0.255" }, NULL,
	      ALLOC_ERR_OUTSIDE_POOL, NULL, "10.0.0.255 is not usable in pool "
	      "\"poc\" (avoid-buggy-ips skips .0 and .255)" },
	    { OP_ASSIGN, { "d", NULL, "10.0.1.0" }, NULL, ALLOC_ERR_OUTSIDE_POOL },
	    { OP_RELEASE, { "a" }, NULL, ALLOC_OK, "" },
	    { OP_ASSIGN, { "e" }, NULL, ALLOC_OK, "10.0.0.254" } } },
	{ "without avoid-buggy-ips .0 and .255 are handed out",
	  { { "poc", { "10.0.0.255-10.0.1.0" } } },
	  { { OP_ASSIGN, { "a" }, NULL, ALLOC_OK, "10.0.0.255" },
	    { OP_ASSIGN, { "b" }, NULL, ALLOC_OK, "10.0.1.0" } } },
	{ "auto-assign false: only when named or static",
	  { { "manual", { "10.1.0.0/30" }, true }, { "auto", { "10.2.0.0/31" } } },
	  { { OP_ASSIGN, { "a" }, NULL, ALLOC_OK, "10.2.0.0", NULL, "auto" },
	    { OP_ASSIGN, { "b", "manual" }, NULL, ALLOC_OK, "10.1.0.0", NULL,
	      "manual" },
	    { OP_ASSIGN, { "c", NULL, "10.1.0.3" }, NULL, ALLOC_OK, "10.1.0.3",
	      NULL, "manual" },
	    { OP_ASSIGN, { "d" }, NULL, ALLOC_OK, "10.2.0.1" },
	    { OP_ASSIGN, { "e" }, NULL, ALLOC_ERR_NO_POOL, NULL,
	      "no auto-assign pool has a free address" },
	    { OP_ASSIGN, { "e", "manual" }, NULL, ALLOC_OK, "10.1.0.1" } } },
	{ "unknown pool",
	  { { "poc", { "10.0.0.0/24" } } },
	  { { OP_ASSIGN, { "a", "nope" }, NULL, ALLOC_ERR_UNKNOWN_POOL, NULL,
	      "unknown pool \"nope\"" },
	    { OP_ASSIGN, { "a", "nope", "10.0.0.1" }, NULL,
	      ALLOC_ERR_UNKNOWN_POOL, NULL, "unknown pool \"nope\"" } } },
	{ "static requests inside and outside pools",
	  { { "poc", { "172.16.13.0/24" } }, { "other", { "172.16.9.0/24" } } },
	  { { OP_ASSIGN, { "ns/a", NULL, "172.16.13.254" }, NULL, ALLOC_OK,
	      "172.16.13.254", NULL, "poc" },
	    { OP_ASSIGN, { "ns/b", "poc", "172.16.13.7" }, NULL, ALLOC_OK,
	      "172.16.13.7" },
	    { OP_ASSIGN, { "ns/c", NULL, "172.16.99.9" }, NULL,
	      ALLOC_ERR_OUTSIDE_POOLS, NULL, "172.16.99.9 is not in any pool" },
	    { OP_ASSIGN, { "ns/c", "poc", "172.16.9.9" }, NULL,
	      ALLOC_ERR_OUTSIDE_POOL, NULL, "172.16.9.9 is not in pool \"poc\"" },
	    { OP_ASSIGN, { "ns/c", NULL, "172.16.13.254" }, NULL,
	      ALLOC_ERR_IN_USE, NULL, "172.16.13.254 is already in use by "
	      "\"ns/a\" (no sharing key)" },
	    { OP_ASSIGN, { "ns/c", NULL, "172.16.13.1 172.16.13.2" }, NULL,
	      ALLOC_ERR_INVALID },
	    { OP_ASSIGN, { "ns/c", NULL, "172.16.13.1 172.16.9.1" }, NULL,
	      ALLOC_ERR_INVALID },
	    /* dynamic allocation skips the static ones */
	    { OP_ASSIGN, { "ns/d", "poc" }, NULL, ALLOC_OK, "172.16.13.0" },
	    { OP_ASSIGN, { "ns/e", NULL, "172.16.9.9" }, NULL, ALLOC_OK,
	      "172.16.9.9", NULL, "other" } } },
	{ "backend keys: sharers need the same one",
	  { { "poc", { "172.16.13.1-172.16.13.9" } } },
	  { { OP_ASSIGN, { "ns/a", NULL, NULL, "k", "80/tcp", 0, false,
	      "Local app=a" }, NULL, ALLOC_OK, "172.16.13.1" },
	    { OP_ASSIGN, { "ns/b", NULL, NULL, "k", "81/tcp", 0, false,
	      "Local app=a" }, NULL, ALLOC_OK, "172.16.13.1" },
	    /* another selector: the lowest free address instead */
	    { OP_ASSIGN, { "ns/c", NULL, NULL, "k", "82/tcp", 0, false,
	      "Local app=c" }, NULL, ALLOC_OK, "172.16.13.2" },
	    { OP_ASSIGN, { "ns/d", NULL, "172.16.13.1", "k", "83/tcp", 0,
	      false, "Local app=d" }, NULL, ALLOC_ERR_IN_USE, NULL,
	      "172.16.13.1 is already in use by \"ns/a\" (backends differ: "
	      "\"Local app=a\" there, \"Local app=d\" here)" },
	    /* Cluster (NULL or "") never joins Local */
	    { OP_ASSIGN, { "ns/e", NULL, "172.16.13.1", "k", "84/tcp" }, NULL,
	      ALLOC_ERR_IN_USE, NULL, "172.16.13.1 is already in use by "
	      "\"ns/a\" (backends differ: \"Local app=a\" there, "
	      "\"Cluster\" here)" },
	    { OP_ASSIGN, { "ns/f", NULL, NULL, "k", "85/tcp" }, NULL, ALLOC_OK,
	      "172.16.13.3" },
	    { OP_ASSIGN, { "ns/g", NULL, NULL, "k", "86/tcp", 0, false, "" },
	      NULL, ALLOC_OK, "172.16.13.3" },
	    /* a claim follows the same rule */
	    { OP_CLAIM, { "ns/h", NULL, NULL, "k", "87/tcp", 0, false,
	      "Local app=h" }, "172.16.13.2", ALLOC_ERR_IN_USE, NULL,
	      "172.16.13.2 is already in use by \"ns/c\" (backends differ: "
	      "\"Local app=c\" there, \"Local app=h\" here)" } } },
	{ "static addresses outside the requested family",
	  { { "ds", { "10.5.0.0/30", "2001:db8::/126" } } },
	  { { OP_ASSIGN, { "a", NULL, "2001:db8::1", NULL, NULL, V4 }, NULL,
	      ALLOC_ERR_FAMILY, NULL, "2001:db8::1 is an IPv6 address, but "
	      "the service is single-stack IPv4" },
	    { OP_ASSIGN, { "a", NULL, "10.5.0.1", NULL, NULL, V6 }, NULL,
	      ALLOC_ERR_FAMILY, NULL, "10.5.0.1 is an IPv4 address, but "
	      "the service is single-stack IPv6" },
	    { OP_CLAIM, { "a", NULL, "2001:db8::1", NULL, NULL, V4 },
	      "2001:db8::1", ALLOC_ERR_FAMILY },
	    { OP_ASSIGN, { "a", NULL, "10.5.0.1 2001:db8::1", NULL, NULL,
	      DUAL }, NULL, ALLOC_OK, "10.5.0.1 2001:db8::1" },
	    { OP_ASSIGN, { "b", NULL, "2001:db8::2", NULL, NULL, V6 }, NULL,
	      ALLOC_OK, "2001:db8::2" },
	    /* no family given: any static address */
	    { OP_ASSIGN, { "c", NULL, "2001:db8::3" }, NULL, ALLOC_OK,
	      "2001:db8::3" } } },
	{ "keep_manual: a claim keeps an address of an auto-assign off pool",
	  { { "manual", { "10.9.0.0/30", "2001:db8:9::/126" }, true },
	    { "auto", { "10.2.0.0/31" } } },
	  { { OP_CLAIM, { "a", NULL, NULL, NULL, NULL, 0, false, NULL, true },
	      "10.9.0.1", ALLOC_OK, "10.9.0.1", NULL, "manual" },
	    { OP_CLAIM, { "b", NULL, NULL, NULL, NULL, DUAL, false, NULL,
	      true }, "10.9.0.2 2001:db8:9::2", ALLOC_OK,
	      "10.9.0.2 2001:db8:9::2", NULL, "manual" },
	    /* a new assignment still never comes from it */
	    { OP_ASSIGN, { "c", NULL, NULL, NULL, NULL, 0, false, NULL, true },
	      NULL, ALLOC_OK, "10.2.0.0", NULL, "auto" },
	    /* nor does a claim keep another's address */
	    { OP_CLAIM, { "d", NULL, NULL, NULL, NULL, 0, false, NULL, true },
	      "10.9.0.1", ALLOC_ERR_IN_USE } } },
	{ "sharing keys and ports",
	  { { "poc", { "172.16.13.1-172.16.13.9" } }, { "p2", { "10.0.0.1-10.0.0.9" } } },
	  { { OP_ASSIGN, { "ns/a", NULL, NULL, "k", "80/tcp" }, NULL, ALLOC_OK,
	      "172.16.13.1" },
	    { OP_ASSIGN, { "ns/b", NULL, NULL, "k", "443/tcp" }, NULL, ALLOC_OK,
	      "172.16.13.1" },
	    { OP_ASSIGN, { "ns/c", NULL, NULL, "k", "80/tcp" }, NULL, ALLOC_OK,
	      "172.16.13.2" },
	    { OP_ASSIGN, { "ns/d", NULL, NULL, "k", "80/udp 53/udp" }, NULL,
	      ALLOC_OK, "172.16.13.1" },
	    { OP_ASSIGN, { "ns/e", NULL, NULL, "other", "22/tcp" }, NULL,
	      ALLOC_OK, "172.16.13.3" },
	    { OP_ASSIGN, { "ns/f", NULL, NULL, NULL, "8080/tcp" }, NULL,
	      ALLOC_OK, "172.16.13.4" },
	    /* same key, but another pool: never shares across pools */
	    { OP_ASSIGN, { "ns/g", "p2", NULL, "k", "8443/tcp" }, NULL,
	      ALLOC_OK, "10.0.0.1" },
	    { OP_ASSIGN, { "ns/h", NULL, "172.16.13.1", "k", "80/tcp" }, NULL,
	      ALLOC_ERR_IN_USE, NULL, "172.16.13.1 is already in use by "
	      "\"ns/a\" (ports overlap: 80/tcp)" },
	    { OP_ASSIGN, { "ns/h", NULL, "172.16.13.1", "z", "9/tcp" }, NULL,
	      ALLOC_ERR_IN_USE, NULL, "172.16.13.1 is already in use by "
	      "\"ns/a\" (sharing key \"k\" differs)" },
	    { OP_ASSIGN, { "ns/h", NULL, "172.16.13.1", NULL, "9/tcp" }, NULL,
	      ALLOC_ERR_IN_USE, NULL, "172.16.13.1 is already in use by "
	      "\"ns/a\" (this service has no sharing key)" },
	    { OP_ASSIGN, { "ns/h", NULL, "172.16.13.4", "k", "9/tcp" }, NULL,
	      ALLOC_ERR_IN_USE, NULL, "172.16.13.4 is already in use by "
	      "\"ns/f\" (no sharing key)" },
	    { OP_ASSIGN, { "ns/h", NULL, "172.16.13.2", "k", "9/tcp" }, NULL,
	      ALLOC_OK, "172.16.13.2" },
	    /* the address stays until its last holder leaves */
	    { OP_RELEASE, { "ns/a" }, NULL, ALLOC_OK, "" },
	    { OP_RELEASE, { "ns/b" }, NULL, ALLOC_OK, "" },
	    { OP_ASSIGN, { "ns/i" }, NULL, ALLOC_OK, "172.16.13.5" },
	    { OP_ASSIGN, { "ns/j", NULL, NULL, "k", "80/tcp" }, NULL, ALLOC_OK,
	      "172.16.13.1" } } },
	{ "dual stack",
	  { { "ds", { "10.0.0.1-10.0.0.2", "2001:db8::/126" } },
	    { "v4only", { "10.1.0.0/30" }, true },
	    { "v6only", { "2001:db8:6::/126" }, true } },
	  { { OP_ASSIGN, { "a", NULL, NULL, NULL, NULL, DUAL }, NULL, ALLOC_OK,
	      "10.0.0.1 2001:db8::", NULL, "ds" },
	    { OP_ASSIGN, { "b", NULL, NULL, NULL, NULL, DUAL, true }, NULL,
	      ALLOC_OK, "10.0.0.2 2001:db8::1" },
	    /* IPv4 of "ds" is used up: prefer gives the one family left */
	    { OP_ASSIGN, { "c", NULL, NULL, NULL, NULL, DUAL }, NULL, ALLOC_OK,
	      "2001:db8::2", NULL, "ds" },
	    { OP_ASSIGN, { "d", NULL, NULL, NULL, NULL, DUAL, true }, NULL,
	      ALLOC_ERR_FAMILY, NULL, "dual-stack required but no auto-assign "
	      "pool has both a free IPv4 and a free IPv6 address" },
	    { OP_ASSIGN, { "d", "v4only", NULL, NULL, NULL, DUAL }, NULL,
	      ALLOC_OK, "10.1.0.0" },
	    { OP_ASSIGN, { "e", "v4only", NULL, NULL, NULL, DUAL, true }, NULL,
	      ALLOC_ERR_FAMILY, NULL,
	      "pool \"v4only\" has no IPv6 addresses (dual-stack required)" },
	    { OP_ASSIGN, { "e", "v4only", NULL, NULL, NULL, V6 }, NULL,
	      ALLOC_ERR_FAMILY, NULL, "pool \"v4only\" has no IPv6 addresses" },
	    { OP_ASSIGN, { "e", "v6only" }, NULL, ALLOC_OK, "2001:db8:6::" },
	    { OP_ASSIGN, { "f", NULL, NULL, NULL, NULL, V6 }, NULL, ALLOC_OK,
	      "2001:db8::3" },
	    { OP_ASSIGN, { "g", NULL, NULL, NULL, NULL, V6 }, NULL,
	      ALLOC_ERR_NO_POOL, NULL,
	      "no auto-assign pool has a free IPv6 address" },
	    /* a static request's families come from its addresses */
	    { OP_ASSIGN, { "h", NULL, "2001:db8:6::3 10.1.0.3", NULL, NULL, 0,
	      true }, NULL, ALLOC_ERR_INVALID, NULL, "10.1.0.3 is in pool "
	      "\"v4only\" but the other address is in pool \"v6only\"" },
	    { OP_ASSIGN, { "i", NULL, "10.1.0.2", NULL, NULL, DUAL, true },
	      NULL, ALLOC_OK, "10.1.0.2" },
	    { OP_ASSIGN, { "j", NULL, "10.1.0.1 2001:db8::" }, NULL,
	      ALLOC_ERR_INVALID },
	    { OP_RELEASE, { "a" }, NULL, ALLOC_OK, "" },
	    { OP_ASSIGN, { "k", NULL, "2001:db8:: 10.0.0.1" }, NULL, ALLOC_OK,
	      "10.0.0.1 2001:db8::", NULL, "ds" } } },
	{ "family 0: IPv4 preferred, IPv6 otherwise",
	  { { "six", { "2001:db8::/127" } }, { "four", { "10.0.0.0/31" } } },
	  { { OP_ASSIGN, { "a" }, NULL, ALLOC_OK, "10.0.0.0", NULL, "four" },
	    { OP_ASSIGN, { "b" }, NULL, ALLOC_OK, "10.0.0.1" },
	    { OP_ASSIGN, { "c" }, NULL, ALLOC_OK, "2001:db8::", NULL, "six" },
	    { OP_ASSIGN, { "d", "four" }, NULL, ALLOC_ERR_POOL_EXHAUSTED } } },
	{ "release makes holes, filled lowest first",
	  { { "poc", { "10.0.0.1-10.0.0.5" } } },
	  { { OP_ASSIGN, { "a" }, NULL, ALLOC_OK, "10.0.0.1" },
	    { OP_ASSIGN, { "b" }, NULL, ALLOC_OK, "10.0.0.2" },
	    { OP_ASSIGN, { "c" }, NULL, ALLOC_OK, "10.0.0.3" },
	    { OP_ASSIGN, { "d" }, NULL, ALLOC_OK, "10.0.0.4" },
	    { OP_RELEASE, { "d" }, NULL, ALLOC_OK, "" },
	    { OP_RELEASE, { "b" }, NULL, ALLOC_OK, "" },
	    { OP_RELEASE, { "b" }, NULL, ALLOC_ERR_INVALID },
	    { OP_ASSIGN, { "e" }, NULL, ALLOC_OK, "10.0.0.2" },
	    { OP_ASSIGN, { "f" }, NULL, ALLOC_OK, "10.0.0.4" },
	    { OP_ASSIGN, { "g" }, NULL, ALLOC_OK, "10.0.0.5" },
	    /* assigning again replaces what the service held */
	    { OP_ASSIGN, { "a", NULL, "10.0.0.5" }, NULL, ALLOC_ERR_IN_USE },
	    { OP_ASSIGN, { "a" }, NULL, ALLOC_OK, "10.0.0.1" } } },
	{ "claims of previous assignments",
	  { { "poc", { "10.0.0.0/29" } }, { "manual", { "10.9.0.0/30" }, true },
	    { "ds", { "10.5.0.0/30", "2001:db8::/126" } } },
	  { { OP_CLAIM, { "a" }, "10.0.0.5", ALLOC_OK, "10.0.0.5", NULL, "poc" },
	    { OP_CLAIM, { "b" }, "10.0.0.5", ALLOC_ERR_IN_USE },
	    { OP_CLAIM, { "b" }, "192.0.2.1", ALLOC_ERR_OUTSIDE_POOLS, NULL,
	      "192.0.2.1 is not in any pool" },
	    { OP_CLAIM, { "b", "poc" }, "10.9.0.1", ALLOC_ERR_OUTSIDE_POOL, NULL,
	      "10.9.0.1 is not in pool \"poc\"" },
	    /* an unnamed request can't keep an address of a manual pool */
	    { OP_CLAIM, { "b" }, "10.9.0.1", ALLOC_ERR_OUTSIDE_POOL },
	    { OP_CLAIM, { "b", "manual" }, "10.9.0.1", ALLOC_OK, "10.9.0.1" },
	    /* static request: only the same address is kept */
	    { OP_CLAIM, { "c", NULL, "10.0.0.3" }, "10.0.0.2",
	      ALLOC_ERR_INVALID },
	    { OP_CLAIM, { "c", NULL, "10.0.0.3" }, "10.0.0.3", ALLOC_OK,
	      "10.0.0.3" },
	    /* families narrowed / completed */
	    { OP_CLAIM, { "d", NULL, NULL, NULL, NULL, V6 },
	      "10.5.0.1 2001:db8::2", ALLOC_OK, "2001:db8::2", NULL, "ds" },
	    { OP_CLAIM, { "e" }, "2001:db8::3 10.5.0.2", ALLOC_OK, "10.5.0.2" },
	    { OP_CLAIM, { "f", NULL, NULL, NULL, NULL, DUAL }, "10.5.0.3",
	      ALLOC_OK, "10.5.0.3 2001:db8::" },
	    { OP_CLAIM, { "g", NULL, NULL, NULL, NULL, V6 }, "10.5.0.0",
	      ALLOC_ERR_FAMILY },
	    /* the dynamic allocator skips claimed addresses */
	    { OP_ASSIGN, { "h", "poc" }, NULL, ALLOC_OK, "10.0.0.0" },
	    { OP_ASSIGN, { "i", "poc" }, NULL, ALLOC_OK, "10.0.0.1" },
	    { OP_ASSIGN, { "j", "poc" }, NULL, ALLOC_OK, "10.0.0.2" },
	    { OP_ASSIGN, { "k", "poc" }, NULL, ALLOC_OK, "10.0.0.4" } } },
};

static void
run_step(struct alloc *a, const struct step *st, size_t si, const char *name)
{
	struct treq_buf b;
	struct alloc_request r;
	struct alloc_assignment out;
	struct addr prev[4];
	size_t nprev;
	char why[256], got[256];
	enum alloc_err e;
	const struct alloc_assignment *lk;

	if (st->op == OP_RELEASE) {
		int rc = alloc_release(a, st->r.svc);

		ck_assert_msg(rc == (st->err == ALLOC_OK ? 0 : -1),
		    "%s step %zu: release %s: rc %d", name, si, st->r.svc, rc);
		ck_assert_ptr_null(alloc_lookup(a, st->r.svc));
		return;
	}
	treq_fill(&st->r, &b, &r);
	memset(why, 'X', sizeof(why));
	if (st->op == OP_CLAIM) {
		nprev = parse_addrs(st->prev, prev, 4);
		e = alloc_claim(a, &r, prev, nprev, &out, why, sizeof(why));
	} else
		e = alloc_assign(a, &r, &out, why, sizeof(why));
	ck_assert_msg(e == st->err, "%s step %zu (%s): got %s (%s), want %s",
	    name, si, st->r.svc, alloc_err_name(e), e ? why : "",
	    alloc_err_name(st->err));
	lk = alloc_lookup(a, st->r.svc);
	if (e != ALLOC_OK) {
		ck_assert_msg(out.naddrs == 0 && out.service == NULL &&
		    out.pool == NULL, "%s step %zu: output set on failure", name, si);
		ck_assert_msg(strlen(why) > 0 && strlen(why) < sizeof(why),
		    "%s step %zu: no reason", name, si);
		if (st->why != NULL)
			ck_assert_msg(strcmp(why, st->why) == 0,
			    "%s step %zu: why \"%s\", want \"%s\"", name, si,
			    why, st->why);
		ck_assert_msg(lk == NULL, "%s step %zu: failed service still "
		    "holds an address", name, si);
		return;
	}
	addrs_str(out.addrs, out.naddrs, got, sizeof(got));
	ck_assert_msg(strcmp(got, st->want) == 0, "%s step %zu (%s): got \"%s\","
	    " want \"%s\"", name, si, st->r.svc, got, st->want);
	ck_assert_str_eq(out.service, st->r.svc);
	ck_assert_ptr_nonnull(out.pool);
	if (st->pool != NULL)
		ck_assert_str_eq(out.pool, st->pool);
	for (size_t i = 0; i < out.naddrs; i++)
		ck_assert_str_eq(alloc_pool_of(a, &out.addrs[i]), out.pool);
	ck_assert_ptr_nonnull(lk);
	ck_assert_str_eq(lk->pool, out.pool);
	ck_assert_uint_eq(lk->naddrs, out.naddrs);
	addrs_str(lk->addrs, lk->naddrs, got, sizeof(got));
	ck_assert_str_eq(got, st->want);
	alloc_assignment_clear(&out);
	ck_assert_ptr_null(out.service);
}

START_TEST(test_scenario)
{
	const struct scenario *sc = &scenarios[_i];
	struct cfg *cfg = tcfg_new(sc->pools);
	struct alloc *a = alloc_new(cfg);

	ck_assert_ptr_nonnull(a);
	for (size_t i = 0; i < 16 && sc->steps[i].op != OP_END; i++)
		run_step(a, &sc->steps[i], i, sc->name);
	alloc_free(a);
	tcfg_free(cfg);
}
END_TEST

/* ---- pool sizes ---- */

static const struct {
	struct tpool	 pool;
	const char	*total;
} count_cases[] = {
	{ { "p", { "10.0.0.0/24" } }, "256" },
	{ { "p", { "10.0.0.0/24" }, false, true }, "254" },
	{ { "p", { "10.0.0.0/16" }, false, true }, "65024" },
	{ { "p", { "10.0.0.1-10.0.0.254" }, false, true }, "254" },
	{ { "p", { "10.0.0.255-10.0.1.0" }, false, true }, "0" },
	{ { "p", { "10.0.0.255-10.0.1.1" }, false, true }, "1" },
	{ { "p", { "10.0.0.200-10.0.3.10" }, false, true }, "573" },
	{ { "p", { "0.0.0.0/0" }, false, true }, "4261412864" },
	{ { "p", { "0.0.0.0/0" } }, "4294967296" },
	{ { "p", { "10.0.0.0/24", "10.0.0.128/25", "10.0.0.255-10.0.1.3" } },
	  "260" },
	{ { "p", { "10.0.0.0/24", "2001:db8::/120" }, false, true }, "510" },
	{ { "p", { "2001:db8::/64" } }, "18446744073709551616" },
	{ { "p", { "2001:db8::/64" }, false, true }, "18446744073709551616" },
	{ { "p", { "2000::/10" } }, "332306998946228968225951765070086144" },
	{ { "p", { "2001:db8::/64", "2001:db8:0:1::/64", "10.0.0.1" } },
	  "36893488147419103233" },
};

START_TEST(test_counts)
{
	struct tpool tp[2] = { count_cases[_i].pool };
	struct cfg *cfg = tcfg_new(tp);
	struct alloc *a = alloc_new(cfg);
	struct alloc_pool_stats st;
	char buf[ADDR_COUNT_STRLEN];

	ck_assert_uint_eq(alloc_npools(a), 1);
	alloc_pool_stats(a, 0, &st);
	ck_assert_str_eq(st.name, "p");
	ck_assert_msg(strcmp(u128_to_dec(st.total, buf, sizeof(buf)),
	    count_cases[_i].total) == 0, "case %d: total %s, want %s", _i, buf,
	    count_cases[_i].total);
	ck_assert_msg(st.in_use == 0 && st.services == 0, "fresh pool in use");
	alloc_free(a);
	tcfg_free(cfg);
}
END_TEST

START_TEST(test_stats_sharing)
{
	struct tpool tp[] = { { "a", { "10.0.0.0/24" } },
	    { "b", { "2001:db8::/64" } }, { NULL } };
	struct cfg *cfg = tcfg_new(tp);
	struct alloc *a = alloc_new(cfg);
	struct alloc_pool_stats st;
	static const struct treq reqs[] = {
		{ "s1", "a", NULL, "k", "80/tcp" },
		{ "s2", "a", NULL, "k", "443/tcp" },
		{ "s3", "a" },
		{ "s4", "b" },
	};

	for (size_t i = 0; i < 4; i++) {
		struct treq_buf b;
		struct alloc_request r;

		treq_fill(&reqs[i], &b, &r);
		ck_assert_int_eq(alloc_assign(a, &r, NULL, NULL, 0), ALLOC_OK);
	}
	alloc_pool_stats(a, 0, &st);
	ck_assert_str_eq(st.name, "a");
	ck_assert(st.in_use == 2);
	ck_assert_uint_eq(st.services, 3);
	alloc_pool_stats(a, 1, &st);
	ck_assert(st.in_use == 1);
	ck_assert_uint_eq(st.services, 1);
	ck_assert_int_eq(alloc_release(a, "s1"), 0);
	alloc_pool_stats(a, 0, &st);
	ck_assert(st.in_use == 2);
	ck_assert_uint_eq(st.services, 2);
	ck_assert_int_eq(alloc_release(a, "s2"), 0);
	alloc_pool_stats(a, 0, &st);
	ck_assert(st.in_use == 1);
	ck_assert_uint_eq(st.services, 1);
	{
		struct addr x = A("10.0.0.77"), y = A("10.0.1.1"),
		    z = A("2001:db8::ffff:1");

		ck_assert_str_eq(alloc_pool_of(a, &x), "a");
		ck_assert_ptr_null(alloc_pool_of(a, &y));
		ck_assert_str_eq(alloc_pool_of(a, &z), "b");
	}
	alloc_free(a);
	tcfg_free(cfg);
}
END_TEST

/* A /64: exact 2^64 and 10k allocations, all without per-address memory. */
START_TEST(test_ipv6_64)
{
	struct tpool tp[] = { { "big", { "2001:db8:1::/64" } }, { NULL } };
	struct cfg *cfg = tcfg_new(tp);
	struct alloc *a = alloc_new(cfg);
	struct alloc_pool_stats st;
	struct alloc_assignment out;
	char buf[ADDR_COUNT_STRLEN], name[32], ab[ADDR_STRLEN];

	alloc_pool_stats(a, 0, &st);
	ck_assert_str_eq(u128_to_dec(st.total, buf, sizeof(buf)),
	    "18446744073709551616");
	for (int i = 0; i < 10000; i++) {
		struct alloc_request r = { .service = name };

		snprintf(name, sizeof(name), "ns/s%d", i);
		ck_assert_int_eq(alloc_assign(a, &r, &out, NULL, 0), ALLOC_OK);
		ck_assert_uint_eq(out.naddrs, 1);
		ck_assert(out.addrs[0].v == A("2001:db8:1::").v + (addr_u128)i);
		alloc_assignment_clear(&out);
	}
	alloc_pool_stats(a, 0, &st);
	ck_assert_str_eq(u128_to_dec(st.in_use, buf, sizeof(buf)), "10000");
	ck_assert_str_eq(u128_to_dec(st.total, buf, sizeof(buf)),
	    "18446744073709551616");
	ck_assert_uint_eq(st.services, 10000);
	/* the top of the /64 is reachable too */
	{
		struct addr top = A("2001:db8:1::ffff:ffff:ffff:ffff");
		struct alloc_request r = { .service = "ns/top",
		    .addresses = &top, .naddresses = 1 };

		ck_assert_int_eq(alloc_assign(a, &r, &out, NULL, 0), ALLOC_OK);
		ck_assert_str_eq(addr_ntop(&out.addrs[0], ab, sizeof(ab)),
		    "2001:db8:1:0:ffff:ffff:ffff:ffff");
		alloc_assignment_clear(&out);
	}
	ck_assert_int_eq(alloc_release(a, "ns/s5000"), 0);
	{
		struct alloc_request r = { .service = "ns/again" };

		ck_assert_int_eq(alloc_assign(a, &r, &out, NULL, 0), ALLOC_OK);
		ck_assert_str_eq(addr_ntop(&out.addrs[0], ab, sizeof(ab)),
		    "2001:db8:1::1388");
		alloc_assignment_clear(&out);
	}
	alloc_free(a);
	tcfg_free(cfg);
}
END_TEST

/* ---- the runs against a brute-force model ---- */

static uint32_t
lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/*
 * Random assigns and releases on a pool of awkward ranges (avoid-buggy-ips,
 * gaps, single addresses); every address must be the lowest one the model
 * says is free, and stats must agree.
 */
START_TEST(test_model)
{
	struct tpool tp[] = { { "m", { "10.0.0.250-10.0.1.5",
	    "10.0.3.0/24", "10.0.2.255", "10.0.5.1-10.0.5.3" }, false,
	    (_i & 1) != 0 }, { NULL } };
	struct cfg *cfg = tcfg_new(tp);
	struct alloc *a = alloc_new(cfg);
	enum { BASE = 0x0a000000, SIZE = 6 * 256 };
	bool inpool[SIZE] = { 0 }, used[SIZE] = { 0 };
	int holder[SIZE];
	uint32_t seed = 1234u + (uint32_t)_i;
	size_t total = 0, nused = 0;
	char name[32];

	for (int v = 0; v < SIZE; v++) {
		bool in = (v >= 250 && v <= 256 + 5) || (v >= 3 * 256 && v < 4 * 256) ||
		    v == 2 * 256 + 255 || (v >= 5 * 256 + 1 && v <= 5 * 256 + 3);

		if (in && (_i & 1) && ((v & 0xff) == 0 || (v & 0xff) == 0xff))
			in = false;
		inpool[v] = in;
		total += in;
	}
	{
		struct alloc_pool_stats st;

		alloc_pool_stats(a, 0, &st);
		ck_assert_msg(st.total == total, "total %zu", (size_t)st.total);
	}
	for (int step = 0; step < 4000; step++) {
		int svc = (int)(lcg(&seed) % 400);
		const struct alloc_assignment *lk;

		snprintf(name, sizeof(name), "s%d", svc);
		lk = alloc_lookup(a, name);
		if (lk != NULL) {
			int v = (int)(lk->addrs[0].v - BASE);

			ck_assert_int_eq(holder[v], svc);
			ck_assert_int_eq(alloc_release(a, name), 0);
			used[v] = false;
			nused--;
		} else {
			struct alloc_request r = { .service = name, .pool = "m" };
			struct alloc_assignment out;
			enum alloc_err e = alloc_assign(a, &r, &out, NULL, 0);
			int want = -1;

			for (int v = 0; v < SIZE && want < 0; v++)
				if (inpool[v] && !used[v])
					want = v;
			if (want < 0) {
				ck_assert_int_eq(e, ALLOC_ERR_POOL_EXHAUSTED);
				continue;
			}
			ck_assert_int_eq(e, ALLOC_OK);
			ck_assert_msg(out.addrs[0].v == (addr_u128)(BASE + want),
			    "step %d: got offset %d, want %d", step,
			    (int)(out.addrs[0].v - BASE), want);
			used[want] = true;
			holder[want] = svc;
			nused++;
			alloc_assignment_clear(&out);
		}
		if (step % 97 == 0) {
			struct alloc_pool_stats st;

			alloc_pool_stats(a, 0, &st);
			ck_assert(st.in_use == nused);
			ck_assert_uint_eq(st.services, nused);
		}
	}
	alloc_free(a);
	tcfg_free(cfg);
}
END_TEST

/* ---- determinism ---- */

static void
replay(struct alloc *a, uint32_t seed, char (*log)[64], size_t n)
{
	static const char *keys[] = { NULL, "k1", "k2" };
	static const char *pools[] = { NULL, "v4", "v6", "mix" };
	static const char *ports[] = { "80/tcp", "443/tcp", "53/udp" };

	for (size_t i = 0; i < n; i++) {
		char name[32];
		uint32_t x = lcg(&seed);
		struct alloc_request r = { 0 };
		struct cfg_port port;
		struct alloc_assignment out;
		enum alloc_err e;

		snprintf(name, sizeof(name), "ns/s%u", x % 300);
		if (x % 5 == 0) {
			snprintf(log[i], 64, "rel %d", alloc_release(a, name));
			continue;
		}
		parse_ports(ports[(x >> 4) % 3], &port, 1);
		r.service = name;
		r.pool = pools[(x >> 6) % 4];
		r.sharing_key = keys[(x >> 8) % 3];
		r.ports = &port;
		r.nports = 1;
		r.families = (x >> 10) % 4;
		e = alloc_assign(a, &r, &out, NULL, 0);
		addrs_str(out.addrs, out.naddrs, log[i], 64);
		snprintf(log[i] + strlen(log[i]), 64 - strlen(log[i]), " %d", e);
		alloc_assignment_clear(&out);
	}
}

START_TEST(test_determinism)
{
	struct tpool tp[] = { { "v4", { "10.0.0.0/24" }, false, true },
	    { "v6", { "2001:db8::/64" } },
	    { "mix", { "10.1.0.0/28", "2001:db8:1::/124" } }, { NULL } };
	struct cfg *c1 = tcfg_new(tp), *c2 = tcfg_new(tp);
	struct alloc *a1 = alloc_new(c1), *a2 = alloc_new(c2);
	enum { N = 3000 };
	char (*l1)[64] = calloc(N, 64), (*l2)[64] = calloc(N, 64);
	size_t ok = 0;

	replay(a1, 99, l1, N);
	replay(a2, 99, l2, N);
	for (size_t i = 0; i < N; i++) {
		ck_assert_msg(strcmp(l1[i], l2[i]) == 0, "call %zu: \"%s\" vs "
		    "\"%s\"", i, l1[i], l2[i]);
		ok += strstr(l1[i], " 0") != NULL && l1[i][0] != 'r';
	}
	/* the replay must really allocate, or the comparison proves nothing */
	ck_assert_uint_gt(ok, N / 2);
	for (size_t i = 0; i < alloc_npools(a1); i++) {
		struct alloc_pool_stats s1, s2;

		alloc_pool_stats(a1, i, &s1);
		alloc_pool_stats(a2, i, &s2);
		ck_assert(s1.in_use == s2.in_use && s1.services == s2.services);
	}
	free(l1);
	free(l2);
	alloc_free(a1);
	alloc_free(a2);
	tcfg_free(c1);
	tcfg_free(c2);
}
END_TEST

/* ---- alloc_assign_all ---- */

struct tsvc {
	const char	*name;
	const char	*pool;
	const char	*addrs;
	const char	*key;
	const char	*ports;
	unsigned	 fam;
};

static void
tcfg_add_services(struct cfg *cfg, const struct tsvc *ts, size_t n)
{
	cfg->services = calloc(n, sizeof(*cfg->services));
	cfg->nservices = n;
	for (size_t i = 0; i < n; i++) {
		struct cfg_service *s = &cfg->services[i];

		s->name = strdup(ts[i].name);
		s->pool = ts[i].pool ? strdup(ts[i].pool) : NULL;
		s->sharing_key = ts[i].key ? strdup(ts[i].key) : NULL;
		s->addresses = calloc(2, sizeof(*s->addresses));
		s->naddresses = parse_addrs(ts[i].addrs, s->addresses, 2);
		s->ports = calloc(4, sizeof(*s->ports));
		s->nports = parse_ports(ts[i].ports, s->ports, 4);
		s->families = ts[i].fam;
	}
}

START_TEST(test_assign_all)
{
	struct tpool tp[] = { { "poc", { "10.0.0.1-10.0.0.6" } },
	    { "manual", { "10.9.0.0/30" }, true }, { NULL } };
	static const struct tsvc svcs[] = {
		{ "ns/a" },				/* no prev */
		{ "ns/b" },				/* prev valid: keeps .5 */
		{ "ns/c" },				/* prev outside: new */
		{ "ns/d", NULL, "10.0.0.1" },		/* static, prev differs */
		{ "ns/e", "manual" },
		{ "ns/f", "gone" },			/* unknown pool */
		{ "ns/g" },				/* prev taken by b */
		{ "ns/b" },				/* duplicate name */
		{ "ns/h", NULL, "10.0.0.2", "k", "80/tcp" },
		{ "ns/i", NULL, NULL, "k", "443/tcp" },	/* shares with h */
	};
	static const struct {
		enum alloc_err	 err;
		const char	*addrs;
		const char	*why;
	} want[] = {
		{ ALLOC_OK, "10.0.0.3", "" },
		{ ALLOC_OK, "10.0.0.5", "" },
		{ ALLOC_OK, "10.0.0.4",
		  "previous address 192.0.2.1 dropped: 192.0.2.1 is not in any pool" },
		{ ALLOC_OK, "10.0.0.1", "previous address 10.0.0.2 dropped: "
		  "static address 10.0.0.1 differs from the previous assignment" },
		{ ALLOC_OK, "10.9.0.0", "" },
		{ ALLOC_ERR_UNKNOWN_POOL, "", "unknown pool \"gone\"" },
		{ ALLOC_OK, "10.0.0.6", "previous address 10.0.0.5 dropped: "
		  "10.0.0.5 is already in use by \"ns/b\" (no sharing key)" },
		{ ALLOC_ERR_INVALID, "", "duplicate service name \"ns/b\"" },
		{ ALLOC_OK, "10.0.0.2", "" },
		{ ALLOC_OK, "10.0.0.2", "" },
	};
	enum { N = sizeof(svcs) / sizeof(svcs[0]) };
	struct alloc_prev prev[] = {
		{ "ns/b", { A("10.0.0.5") }, 1 },
		{ "ns/c", { A("192.0.2.1") }, 1 },
		{ "ns/d", { A("10.0.0.2") }, 1 },
		{ "ns/g", { A("10.0.0.5") }, 1 },
		{ "ns/zz", { A("10.0.0.6") }, 1 },	/* no longer configured */
	};
	struct cfg *cfg = tcfg_new(tp);
	struct alloc *a;
	struct alloc_assignment res[N];
	enum alloc_err errs[N];
	char whys[N][256], got[128];

	tcfg_add_services(cfg, svcs, N);
	a = alloc_new(cfg);
	ck_assert_uint_eq(alloc_assign_all(a, cfg, prev, 5, res, errs, whys), 2);
	for (size_t i = 0; i < N; i++) {
		addrs_str(res[i].addrs, res[i].naddrs, got, sizeof(got));
		ck_assert_msg(errs[i] == want[i].err, "svc %zu: err %s", i,
		    alloc_err_name(errs[i]));
		ck_assert_msg(strcmp(got, want[i].addrs) == 0,
		    "svc %zu: got \"%s\" want \"%s\"", i, got, want[i].addrs);
		ck_assert_msg(strcmp(whys[i], want[i].why) == 0,
		    "svc %zu: why \"%s\" want \"%s\"", i, whys[i], want[i].why);
		if (errs[i] == ALLOC_OK)
			ck_assert_str_eq(res[i].service, svcs[i].name);
		alloc_assignment_clear(&res[i]);
	}
	ck_assert_ptr_null(alloc_lookup(a, "ns/zz"));
	alloc_free(a);
	tcfg_free(cfg);
}
END_TEST

/* A previous assignment claimed first wins over a later dynamic service. */
START_TEST(test_assign_all_claims_first)
{
	struct tpool tp[] = { { "poc", { "10.0.0.1-10.0.0.3" } }, { NULL } };
	static const struct tsvc svcs[] = { { "new" }, { "old" } };
	struct alloc_prev prev[] = { { "old", { A("10.0.0.1") }, 1 } };
	struct cfg *cfg = tcfg_new(tp);
	struct alloc *a;
	struct alloc_assignment res[2];
	enum alloc_err errs[2];
	char whys[2][256], b[ADDR_STRLEN];

	tcfg_add_services(cfg, svcs, 2);
	a = alloc_new(cfg);
	ck_assert_uint_eq(alloc_assign_all(a, cfg, prev, 1, res, errs, whys), 0);
	ck_assert_str_eq(addr_ntop(&res[0].addrs[0], b, sizeof(b)), "10.0.0.2");
	ck_assert_str_eq(addr_ntop(&res[1].addrs[0], b, sizeof(b)), "10.0.0.1");
	alloc_assignment_clear(&res[0]);
	alloc_assignment_clear(&res[1]);
	alloc_free(a);
	tcfg_free(cfg);
}
END_TEST

/* ---- small helpers ---- */

static const struct {
	enum alloc_err	 e;
	const char	*name;
} err_names[] = {
	{ ALLOC_OK, "ok" },
	{ ALLOC_ERR_UNKNOWN_POOL, "unknown-pool" },
	{ ALLOC_ERR_POOL_EXHAUSTED, "pool-exhausted" },
	{ ALLOC_ERR_NO_POOL, "no-pool" },
	{ ALLOC_ERR_OUTSIDE_POOLS, "outside-pools" },
	{ ALLOC_ERR_OUTSIDE_POOL, "outside-pool" },
	{ ALLOC_ERR_IN_USE, "in-use" },
	{ ALLOC_ERR_FAMILY, "family" },
	{ ALLOC_ERR_INVALID, "invalid" },
};

START_TEST(test_err_name)
{
	ck_assert_str_eq(alloc_err_name(err_names[_i].e), err_names[_i].name);
}
END_TEST

START_TEST(test_request_from_cfg)
{
	struct addr ad[1] = { A("10.0.0.1") };
	struct cfg_port pt[1] = { { 80, CFG_L4_UDP } };
	struct cfg_service cs = { .name = (char *)(uintptr_t)"ns/x",
	    .pool = (char *)(uintptr_t)"poc", .addresses = ad, .naddresses = 1,
	    .sharing_key = (char *)(uintptr_t)"k", .ports = pt, .nports = 1,
	    .families = DUAL, .dual_stack_required = true };
	struct alloc_request r;

	memset(&r, 0xff, sizeof(r));
	alloc_request_from_cfg(&cs, &r);
	ck_assert_str_eq(r.service, "ns/x");
	ck_assert_str_eq(r.pool, "poc");
	ck_assert_ptr_eq(r.addresses, ad);
	ck_assert_uint_eq(r.naddresses, 1);
	ck_assert_str_eq(r.sharing_key, "k");
	ck_assert_ptr_eq(r.ports, pt);
	ck_assert_uint_eq(r.nports, 1);
	ck_assert_uint_eq(r.families, DUAL);
	ck_assert(r.dual_stack_required);
	ck_assert_ptr_null(r.backend_key);
	ck_assert(!r.keep_manual);
	/* Embedded mode has no selectors: Local and Cluster never share. */
	cs.traffic_policy = CFG_TRAFFIC_LOCAL;
	alloc_request_from_cfg(&cs, &r);
	ck_assert_str_eq(r.backend_key, "Local");
}
END_TEST

/* ---- state file ---- */

static char tmpdir[64];

static void
state_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_alloc.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
state_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)system(cmd);
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_state_roundtrip)
{
	char path[128], err[256], tmp[160], b[ADDR_STRLEN];
	struct alloc_assignment as[3] = {
		{ "ns/a", "poc", { A("172.16.13.1"), A("2001:db8::1") }, 2 },
		{ "ns/b", "poc", { A("172.16.13.2") }, 1 },
		{ "ns/\"quoted\"/é", "v6", { A("2001:db8:6::ffff") }, 1 },
	};
	struct alloc_prev *prev = NULL;
	size_t n = 99;
	struct stat st;

	snprintf(path, sizeof(path), "%s/state.json", tmpdir);
	ck_assert_int_eq(alloc_state_save(path, as, 3, err, sizeof(err)), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_ne(stat(tmp, &st), 0);
	ck_assert_int_eq(alloc_state_load(path, &prev, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_str_eq(prev[i].service, as[i].service);
		ck_assert_uint_eq(prev[i].naddrs, as[i].naddrs);
		for (size_t j = 0; j < as[i].naddrs; j++)
			ck_assert_msg(addr_eq(&prev[i].addrs[j], &as[i].addrs[j]),
			    "entry %zu addr %zu: %s", i, j,
			    addr_ntop(&prev[i].addrs[j], b, sizeof(b)));
	}
	alloc_prev_free(prev, n);
	/* an overwrite replaces the file */
	ck_assert_int_eq(alloc_state_save(path, as + 1, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(alloc_state_load(path, &prev, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(prev[0].service, "ns/b");
	alloc_prev_free(prev, n);
	/* an empty list is a valid file */
	ck_assert_int_eq(alloc_state_save(path, NULL, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(alloc_state_load(path, &prev, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);
	alloc_prev_free(prev, n);
}
END_TEST

START_TEST(test_state_missing)
{
	char path[128], err[256] = "";
	struct alloc_prev *prev = (struct alloc_prev *)(uintptr_t)1;
	size_t n = 7;

	snprintf(path, sizeof(path), "%s/nope.json", tmpdir);
	ck_assert_int_eq(alloc_state_load(path, &prev, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(prev);
	/* a directory that does not exist makes save fail with a message */
	snprintf(path, sizeof(path), "%s/no/such/dir/state.json", tmpdir);
	ck_assert_int_eq(alloc_state_save(path, NULL, 0, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no/such/dir"));
}
END_TEST

static const struct {
	const char	*text;
	const char	*err;		/* fragment of the message */
} corrupt_cases[] = {
	{ "", "unexpected end of file" },
	{ "not json", "invalid JSON" },
	{ "{\"version\":1,\"assignments\":[", "unexpected end of file" },
	{ "[]", "top level is not a JSON object" },
	{ "{}", "\"version\" missing" },
	{ "{\"version\":\"1\",\"assignments\":[]}", "\"version\" missing or not an integer" },
	{ "{\"version\":2,\"assignments\":[]}", "unsupported version 2" },
	{ "{\"version\":1}", "\"assignments\" missing" },
	{ "{\"version\":1,\"assignments\":{}}", "\"assignments\" missing or not an array" },
	{ "{\"version\":1,\"assignments\":[1]}", "assignments[0]: not an object" },
	{ "{\"version\":1,\"assignments\":[{\"addresses\":[\"10.0.0.1\"]}]}",
	  "assignments[0]: \"service\" missing" },
	{ "{\"version\":1,\"assignments\":[{\"service\":\"\",\"addresses\":[\"10.0.0.1\"]}]}",
	  "assignments[0]: \"service\" missing or not a non-empty string" },
	{ "{\"version\":1,\"assignments\":[{\"service\":\"a\"}]}",
	  "assignments[0]: \"addresses\" missing" },
	{ "{\"version\":1,\"assignments\":[{\"service\":\"a\",\"addresses\":[]}]}",
	  "holds 0 entries" },
	{ "{\"version\":1,\"assignments\":[{\"service\":\"a\",\"addresses\":[\"10.0.0.1\",\"10.0.0.2\"]}]}",
	  "two addresses of the same family" },
	{ "{\"version\":1,\"assignments\":[{\"service\":\"a\",\"addresses\":[\"10.0.0.300\"]}]}",
	  "assignments[0].addresses[0]: invalid address \"10.0.0.300\"" },
	{ "{\"version\":1,\"assignments\":[{\"service\":\"a\",\"addresses\":[7]}]}",
	  "assignments[0].addresses[0]: not a string" },
	{ "{\"version\":1,\"assignments\":[{\"service\":\"a\",\"addresses\":[\"10.0.0.1\"]},"
	  "{\"service\":\"a\",\"addresses\":[\"10.0.0.2\"]}]}", "service \"a\" appears twice" },
	{ "{\"version\":1,\"assignments\":[]} xyz", "trailing data" },
	{ "\x01\x02\xff", "invalid JSON" },
};

START_TEST(test_state_corrupt)
{
	char path[128], err[512] = "";
	struct alloc_prev *prev = NULL;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/bad%d.json", tmpdir, _i);
	write_text(path, corrupt_cases[_i].text);
	ck_assert_int_eq(alloc_state_load(path, &prev, &n, err, sizeof(err)), -1);
	ck_assert_ptr_null(prev);
	ck_assert_uint_eq(n, 0);
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0,
	    "case %d: error does not name the file: %s", _i, err);
	ck_assert_msg(strstr(err, corrupt_cases[_i].err) != NULL,
	    "case %d: \"%s\" lacks \"%s\"", _i, err, corrupt_cases[_i].err);
}
END_TEST

/* A trailing newline and spaces after the document are fine. */
START_TEST(test_state_whitespace)
{
	char path[128], err[256];
	struct alloc_prev *prev = NULL;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/ws.json", tmpdir);
	write_text(path, "{\"version\":1,\"assignments\":[{\"service\":\"x\","
	    "\"pool\":\"p\",\"addresses\":[\"2001:db8::1\"]}]}\n \n");
	ck_assert_int_eq(alloc_state_load(path, &prev, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(prev[0].service, "x");
	alloc_prev_free(prev, n);
}
END_TEST

#define NELEM(x) ((int)(sizeof(x) / sizeof((x)[0])))

static Suite *
alloc_suite(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc = tcase_create("alloc");
	TCase *ts = tcase_create("state");

	tcase_add_loop_test(tc, test_scenario, 0, NELEM(scenarios));
	tcase_add_loop_test(tc, test_counts, 0, NELEM(count_cases));
	tcase_add_test(tc, test_stats_sharing);
	tcase_add_test(tc, test_ipv6_64);
	tcase_add_loop_test(tc, test_model, 0, 4);
	tcase_add_test(tc, test_determinism);
	tcase_add_test(tc, test_assign_all);
	tcase_add_test(tc, test_assign_all_claims_first);
	tcase_add_loop_test(tc, test_err_name, 0, NELEM(err_names));
	tcase_add_test(tc, test_request_from_cfg);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(ts, state_setup, state_teardown);
	tcase_add_test(ts, test_state_roundtrip);
	tcase_add_test(ts, test_state_missing);
	tcase_add_loop_test(ts, test_state_corrupt, 0, NELEM(corrupt_cases));
	tcase_add_test(ts, test_state_whitespace);
	suite_add_tcase(s, ts);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(alloc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
