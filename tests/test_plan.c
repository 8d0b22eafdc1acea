/*
 * test_plan.c - the planner, without sockets and without the YAML parser.
 *
 * The config is built by hand as static data (one fixture shared by every
 * table), services and nodes per case.  A plan is rendered to one canonical
 * line per route and compared with the expected text, so a failure shows
 * the whole plan that was produced.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/plan.h"

#define V4(a, b, c, d)	((addr_u128)(((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d)))
#define COMM(a, b)	(((uint32_t)(a) << 16) | (uint32_t)(b))
#define NELEM(x)	(sizeof(x) / sizeof((x)[0]))
#define RANGE4(a, b, c)	{ .range = { { ADDR_AF_INET, V4(a, b, c, 0) }, \
			    { ADDR_AF_INET, V4(a, b, c, 255) } } }

/* ---- the fixture config ------------------------------------------------ */

static struct cfg_kv kv_r1[] = { { "rack", "r1" } };
static struct cfg_kv kv_r2[] = { { "rack", "r2" } };
static struct cfg_kv kv_r3_gpu[] = { { "rack", "r3" }, { "gpu", "yes" } };
static struct cfg_sel_term term_r1[] = { { .labels = kv_r1, .nlabels = 1 } };
static struct cfg_sel_term term_r2[] = { { .labels = kv_r2, .nlabels = 1 } };
#define SEL_R1	{ .terms = term_r1, .nterms = 1 }
#define SEL_R2	{ .terms = term_r2, .nterms = 1 }

static char *vals_r1_r3[] = { "r1", "r3" };
static char *vals_r1[] = { "r1" };
static struct cfg_sel_expr ex_in[] = { { "rack", CFG_SEL_IN, vals_r1_r3, 2 } };
static struct cfg_sel_expr ex_notin[] = { { "rack", CFG_SEL_NOT_IN, vals_r1, 1 } };
static struct cfg_sel_expr ex_exists[] = { { "gpu", CFG_SEL_EXISTS, NULL, 0 } };
static struct cfg_sel_expr ex_dne[] = { { "gpu", CFG_SEL_DOES_NOT_EXIST, NULL, 0 } };
static struct cfg_sel_term term_in[] = { { .exprs = ex_in, .nexprs = 1 } };
static struct cfg_sel_term term_notin[] = { { .exprs = ex_notin, .nexprs = 1 } };
static struct cfg_sel_term term_exists[] = { { .exprs = ex_exists, .nexprs = 1 } };
static struct cfg_sel_term term_dne[] = { { .exprs = ex_dne, .nexprs = 1 } };
/* Two terms: rack r2 OR has a gpu label. */
static struct cfg_sel_term term_or[] = {
	{ .labels = kv_r2, .nlabels = 1 },
	{ .exprs = ex_exists, .nexprs = 1 },
};

static char *vpn_red[] = { "red" };

static struct cfg_peer peers[] = {
	{ .name = "tor-a" },
	{ .name = "tor-b", .node_selector = SEL_R2 },
	{ .name = "red-a", .vrf = "red" },
	{ .name = "vpn-a", .vpn = vpn_red, .nvpn = 1 },
	{ .name = "blue-a", .vrf = "blue" },
};

static uint32_t comm_p4[] = { COMM(64512, 200), COMM(64512, 100), COMM(64512, 200) };
static struct cfg_large_community large_p4[] = { { 64512, 1, 1 }, { 64512, 1, 1 } };
static uint32_t comm_11[] = { COMM(1, 1) };
static uint32_t comm_22[] = { COMM(2, 2), COMM(1, 1) };
static uint32_t comm_33[] = { COMM(3, 3) };
static char *peers_tor_a[] = { "tor-a" };
static char *peers_vpn_a[] = { "vpn-a" };
static char *ifs_eth1[] = { "eth1" };

static struct cfg_advert adv_p4[] = { {
	.aggregation_length = 24, .aggregation_length_v6 = 128,
	.has_local_pref = true, .local_pref = 100,
	.communities = comm_p4, .ncommunities = 3,
	.large_communities = large_p4, .nlarge_communities = 2,
} };
static struct cfg_advert adv_p6[] = { {
	.aggregation_length = 32, .aggregation_length_v6 = 64,
} };
static struct cfg_advert adv_host[] = { {
	.aggregation_length = 32, .aggregation_length_v6 = 128,
} };
static struct cfg_advert adv_restr[] = { {
	.aggregation_length = 32, .aggregation_length_v6 = 128,
	.peers = peers_tor_a, .npeers = 1,
} };
static struct cfg_advert adv_sel_r2[] = { {
	.aggregation_length = 32, .aggregation_length_v6 = 128,
	.node_selector = SEL_R2,
} };
/* Three adverts: two meet on the /24 and merge, one gives host routes. */
static struct cfg_advert adv_two[] = {
	{ .aggregation_length = 24, .aggregation_length_v6 = 128,
	  .communities = comm_11, .ncommunities = 1,
	  .peers = peers_tor_a, .npeers = 1 },
	{ .aggregation_length = 24, .aggregation_length_v6 = 128,
	  .has_local_pref = true, .local_pref = 200,
	  .communities = comm_22, .ncommunities = 2,
	  .peers = peers_vpn_a, .npeers = 1 },
	{ .aggregation_length = 32, .aggregation_length_v6 = 128,
	  .has_local_pref = true, .local_pref = 300,
	  .communities = comm_33, .ncommunities = 1 },
};

static struct cfg_range r_p4[] = { RANGE4(10, 0, 0) };
static struct cfg_range r_host[] = { RANGE4(10, 1, 0) };
static struct cfg_range r_l2[] = { RANGE4(10, 9, 0) };

static struct cfg_pool pools[] = {
	{ .name = "p4", .ranges = r_p4, .nranges = 1, .adverts = adv_p4, .nadverts = 1 },
	{ .name = "p6", .adverts = adv_p6, .nadverts = 1 },
	{ .name = "phost", .ranges = r_host, .nranges = 1, .adverts = adv_host, .nadverts = 1 },
	{ .name = "prestr", .adverts = adv_restr, .nadverts = 1 },
	{ .name = "pr1", .adverts = adv_host, .nadverts = 1, .node_selector = SEL_R1 },
	{ .name = "pr2", .adverts = adv_host, .nadverts = 1, .node_selector = SEL_R2 },
	{ .name = "padvsel", .adverts = adv_sel_r2, .nadverts = 1 },
	{ .name = "pred", .vrf = "red", .adverts = adv_host, .nadverts = 1 },
	{ .name = "pblue", .vrf = "blue", .adverts = adv_host, .nadverts = 1 },
	{ .name = "pgreen", .vrf = "green", .adverts = adv_host, .nadverts = 1 },
	{ .name = "ptwo", .adverts = adv_two, .nadverts = 3 },
	{ .name = "pl2", .protocol = CFG_PROTO_LAYER2, .ranges = r_l2, .nranges = 1,
	  .interfaces = ifs_eth1, .ninterfaces = 1 },
	{ .name = "pl2r1", .protocol = CFG_PROTO_LAYER2, .node_selector = SEL_R1 },
	{ .name = "psin", .adverts = adv_host, .nadverts = 1,
	  .node_selector = { term_in, 1 } },
	{ .name = "psnotin", .adverts = adv_host, .nadverts = 1,
	  .node_selector = { term_notin, 1 } },
	{ .name = "psexists", .adverts = adv_host, .nadverts = 1,
	  .node_selector = { term_exists, 1 } },
	{ .name = "psdne", .adverts = adv_host, .nadverts = 1,
	  .node_selector = { term_dne, 1 } },
	{ .name = "psor", .adverts = adv_host, .nadverts = 1,
	  .node_selector = { term_or, 2 } },
	{ .name = "pweighted", .adverts = adv_host, .nadverts = 1,
	  .weighted_ecmp = true },
	{ .name = "pweighted24", .adverts = adv_p4, .nadverts = 1,
	  .weighted_ecmp = true },
};

static struct cfg_node cfg_nodes[] = {
	{ .name = "n9", .labels = kv_r2, .nlabels = 1 },
};

static struct cfg fixture = {
	.pools = pools, .npools = NELEM(pools),
	.peers = peers, .npeers = NELEM(peers),
	.nodes = cfg_nodes, .nnodes = NELEM(cfg_nodes),
};

static const struct plan_node live_nodes[] = {
	{ "n1", kv_r1, 1 },
	{ "n2", kv_r2, 1 },
	{ "n3", kv_r1, 1 },
	{ "n4", kv_r3_gpu, 2 },
};

/* ---- building inputs --------------------------------------------------- */

#define MAXSVC	5
#define MAXADDR	3

struct svc_spec {
	const char	*name;
	const char	*pool;
	const char	*addrs[MAXADDR];
	enum cfg_traffic_policy policy;
	struct cfg_endpoint eps[3];
	bool		 none;		/* no_endpoints (Kubernetes) */
	const char	*down[5];	/* nodes where it is down (health) */
};

struct input_buf {
	struct plan_service svcs[MAXSVC];
	struct addr	 addrs[MAXSVC][MAXADDR];
	struct plan_input in;
};

static void
input_make(struct input_buf *b, const struct cfg *cfg, const char *node,
    const struct plan_node *nodes, size_t nnodes, const struct svc_spec *specs)
{
	size_t n = 0;

	memset(b, 0, sizeof(*b));
	for (size_t i = 0; i < MAXSVC && specs[i].name != NULL; i++, n++) {
		struct plan_service *s = &b->svcs[i];
		size_t na = 0, ne = 0;

		for (size_t j = 0; j < MAXADDR && specs[i].addrs[j]; j++) {
			ck_assert_msg(addr_parse(specs[i].addrs[j],
			    &b->addrs[i][j]) == 0, "bad test address %s",
			    specs[i].addrs[j]);
			na++;
		}
		while (ne < 3 && specs[i].eps[ne].node != NULL)
			ne++;
		s->name = specs[i].name;
		s->pool = specs[i].pool;
		s->addrs = b->addrs[i];
		s->naddrs = na;
		s->policy = specs[i].policy;
		s->endpoints = specs[i].eps;
		s->nendpoints = ne;
		s->no_endpoints = specs[i].none;
		s->down = specs[i].down;
		while (s->ndown < 5 && specs[i].down[s->ndown] != NULL)
			s->ndown++;
	}
	b->in.cfg = cfg;
	b->in.node = node;
	b->in.nodes = nodes;
	b->in.nnodes = nnodes;
	b->in.services = b->svcs;
	b->in.nservices = n;
}

/* ---- rendering --------------------------------------------------------- */

static void
put_list(FILE *f, const char *label, char *const *v, size_t n)
{
	fprintf(f, " %s=", label);
	if (n == 0)
		fputc('-', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? "," : "", v[i]);
}

static void
render_route(FILE *f, const struct plan_route *r)
{
	char buf[ADDR_STRLEN];

	fprintf(f, "%s %s%s%s pool=%s",
	    r->backend == CFG_PROTO_BGP ? "bgp" : "l2",
	    r->vrf ? r->vrf : "", r->vrf ? ":" : "",
	    prefix_ntop(&r->prefix, buf, sizeof(buf)), r->pool);
	put_list(f, "svcs", r->services, r->nservices);
	if (r->backend == CFG_PROTO_BGP) {
		if (r->has_local_pref)
			fprintf(f, " lp=%u", r->local_pref);
		if (r->ncommunities) {
			fputs(" comm=", f);
			for (size_t i = 0; i < r->ncommunities; i++)
				fprintf(f, "%s%u:%u", i ? "," : "",
				    r->communities[i] >> 16,
				    r->communities[i] & 0xffff);
		}
		if (r->nlarge_communities) {
			fputs(" large=", f);
			for (size_t i = 0; i < r->nlarge_communities; i++)
				fprintf(f, "%s%u:%u:%u", i ? "," : "",
				    r->large_communities[i].global,
				    r->large_communities[i].local1,
				    r->large_communities[i].local2);
		}
		put_list(f, "peers", r->peers, r->npeers);
		if (r->weighted)
			fprintf(f, " weight=%u", r->endpoints);
	} else {
		fprintf(f, " owner=%s local=%d", r->owner ? r->owner : "-",
		    r->local);
		if (r->ninterfaces)
			put_list(f, "ifs", r->interfaces, r->ninterfaces);
	}
}

/* Caller frees. */
static char *
render(const struct plan *p)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < p->nroutes; i++) {
		if (i)
			fputs(" | ", f);
		render_route(f, &p->routes[i]);
	}
	fclose(f);
	return s;
}

static char *
build_render(const struct plan_input *in)
{
	struct plan *p = plan_build(in);
	char *s;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 1; i < p->nroutes; i++)
		ck_assert_int_lt(plan_route_cmp(&p->routes[i - 1], &p->routes[i]), 0);
	s = render(p);
	plan_free(p);
	return s;
}

/* ---- table: what the plan contains ------------------------------------- */

#define EP(n, c)	{ .node = (n), .count = (c) }

static const struct build_case {
	const char	*name;
	const char	*node;
	struct svc_spec	 svcs[MAXSVC];
	const char	*want;
} build_cases[] = {
	{ "aggregate v4: two services, one /24, communities sorted+unique", "n1",
	  { { "a", "p4", { "10.0.0.5" } }, { "b", "p4", { "10.0.0.9" } } },
	  "bgp 10.0.0.0/24 pool=p4 svcs=a,b lp=100 comm=64512:100,64512:200"
	  " large=64512:1:1 peers=tor-a,vpn-a" },
	{ "aggregate v4: service order does not matter", "n1",
	  { { "b", "p4", { "10.0.0.9" } }, { "a", "p4", { "10.0.0.5" } } },
	  "bgp 10.0.0.0/24 pool=p4 svcs=a,b lp=100 comm=64512:100,64512:200"
	  " large=64512:1:1 peers=tor-a,vpn-a" },
	{ "aggregate v6 /64", "n1",
	  { { "a", "p6", { "2001:db8::5" } }, { "b", "p6", { "2001:db8::ff:1" } },
	    { "c", "p6", { "2001:db8:0:1::1" } } },
	  "bgp 2001:db8::/64 pool=p6 svcs=a,b peers=tor-a,vpn-a | "
	  "bgp 2001:db8:0:1::/64 pool=p6 svcs=c peers=tor-a,vpn-a" },
	{ "host routes, v4 before v6, sorted by address", "n1",
	  { { "b", "phost", { "10.1.0.2" } }, { "a", "phost", { "10.1.0.1" } },
	    { "d", "p6", { "2001:db8::1", "10.1.0.3" } } },
	  "bgp 10.1.0.1/32 pool=phost svcs=a peers=tor-a,vpn-a | "
	  "bgp 10.1.0.2/32 pool=phost svcs=b peers=tor-a,vpn-a | "
	  "bgp 10.1.0.3/32 pool=p6 svcs=d peers=tor-a,vpn-a | "
	  "bgp 2001:db8::/64 pool=p6 svcs=d peers=tor-a,vpn-a" },
	{ "shared address: one route, both services", "n1",
	  { { "b", "phost", { "10.1.0.7" } }, { "a", "phost", { "10.1.0.7" } } },
	  "bgp 10.1.0.7/32 pool=phost svcs=a,b peers=tor-a,vpn-a" },
	{ "advert peers restriction", "n1",
	  { { "a", "prestr", { "10.2.0.1" } } },
	  "bgp 10.2.0.1/32 pool=prestr svcs=a peers=tor-a" },
	{ "peer node-selector: n2 (rack r2) also peers with tor-b", "n2",
	  { { "a", "phost", { "10.1.0.1" } } },
	  "bgp 10.1.0.1/32 pool=phost svcs=a peers=tor-a,tor-b,vpn-a" },
	{ "pool node-selector excludes this node", "n1",
	  { { "a", "pr2", { "10.3.0.1" } }, { "b", "pr1", { "10.3.1.1" } } },
	  "bgp 10.3.1.1/32 pool=pr1 svcs=b peers=tor-a,vpn-a" },
	{ "pool node-selector, other node", "n2",
	  { { "a", "pr2", { "10.3.0.1" } }, { "b", "pr1", { "10.3.1.1" } } },
	  "bgp 10.3.0.1/32 pool=pr2 svcs=a peers=tor-a,tor-b,vpn-a" },
	{ "advert node-selector excludes this node", "n1",
	  { { "a", "padvsel", { "10.7.0.1" } } }, "" },
	{ "advert node-selector includes n2", "n2",
	  { { "a", "padvsel", { "10.7.0.1" } } },
	  "bgp 10.7.0.1/32 pool=padvsel svcs=a peers=tor-a,tor-b,vpn-a" },
	{ "labels from cfg nodes when not live", "n9",
	  { { "a", "pr2", { "10.3.0.1" } }, { "b", "pr1", { "10.3.1.1" } } },
	  "bgp 10.3.0.1/32 pool=pr2 svcs=a peers=tor-a,tor-b,vpn-a" },
	{ "unknown node: no labels", "nx",
	  { { "a", "pr2", { "10.3.0.1" } }, { "b", "pr1", { "10.3.1.1" } },
	    { "c", "phost", { "10.1.0.1" } } },
	  "bgp 10.1.0.1/32 pool=phost svcs=c peers=tor-a,vpn-a" },
	{ "VRF scoping: default, blue, red, green sorted; peers by vrf/vpn", "n1",
	  { { "r", "pred", { "10.4.0.1" } }, { "b", "pblue", { "10.5.0.1" } },
	    { "d", "phost", { "10.1.0.1" } }, { "g", "pgreen", { "10.6.0.1" } } },
	  "bgp 10.1.0.1/32 pool=phost svcs=d peers=tor-a,vpn-a | "
	  "bgp blue:10.5.0.1/32 pool=pblue svcs=b peers=blue-a | "
	  "bgp green:10.6.0.1/32 pool=pgreen svcs=g peers=- | "
	  "bgp red:10.4.0.1/32 pool=pred svcs=r peers=red-a,vpn-a" },
	{ "same address in two VRFs: two routes", "n1",
	  { { "r", "pred", { "10.4.0.1" } }, { "b", "pblue", { "10.4.0.1" } } },
	  "bgp blue:10.4.0.1/32 pool=pblue svcs=b peers=blue-a | "
	  "bgp red:10.4.0.1/32 pool=pred svcs=r peers=red-a,vpn-a" },
	{ "two adverts on one prefix merge; first local-pref; third gives /32", "n1",
	  { { "a", "ptwo", { "10.6.0.1" } } },
	  "bgp 10.6.0.0/24 pool=ptwo svcs=a lp=200 comm=1:1,2:2 peers=tor-a,vpn-a | "
	  "bgp 10.6.0.1/32 pool=ptwo svcs=a lp=300 comm=3:3 peers=tor-a,vpn-a" },
	{ "two pools meeting in one prefix merge (union, first pool by config)", "n1",
	  { { "z", "p4", { "10.6.0.9" } }, { "a", "ptwo", { "10.6.0.1" } } },
	  "bgp 10.6.0.0/24 pool=p4 svcs=a,z lp=100 comm=1:1,2:2,64512:100,64512:200"
	  " large=64512:1:1 peers=tor-a,vpn-a | "
	  "bgp 10.6.0.1/32 pool=ptwo svcs=a lp=300 comm=3:3 peers=tor-a,vpn-a" },
	{ "unknown pool skipped; no pool: found by address", "n1",
	  { { "a", "nope", { "10.0.0.1" } }, { "b", NULL, { "10.1.0.9" } },
	    { "c", NULL, { "192.0.2.1" } } },
	  "bgp 10.1.0.9/32 pool=phost svcs=b peers=tor-a,vpn-a" },
	{ "weighted ECMP: this node's endpoints are the weight", "n1",
	  { { "a", "pweighted", { "10.1.0.1" }, CFG_TRAFFIC_LOCAL, { EP("n2", 5), EP("n1", 3) } } },
	  "bgp 10.1.0.1/32 pool=pweighted svcs=a peers=tor-a,vpn-a weight=3" },
	{ "weighted ECMP: an aggregate sums its services' endpoints here", "n1",
	  { { "a", "pweighted24", { "10.0.0.1" }, CFG_TRAFFIC_LOCAL, { EP("n1", 1) } },
	    { "b", "pweighted24", { "10.0.0.2" }, CFG_TRAFFIC_LOCAL, { EP("n1", 4), EP("n3", 9) } } },
	  "bgp 10.0.0.0/24 pool=pweighted24 svcs=a,b lp=100 comm=64512:100,64512:200"
	  " large=64512:1:1 peers=tor-a,vpn-a weight=5" },
	{ "weighted ECMP: Cluster policy without endpoint counts has weight 0", "n1",
	  { { "a", "pweighted", { "10.1.0.1" } } },
	  "bgp 10.1.0.1/32 pool=pweighted svcs=a peers=tor-a,vpn-a weight=0" },
	{ "Local bgp: endpoint here", "n1",
	  { { "a", "phost", { "10.1.0.1" }, CFG_TRAFFIC_LOCAL, { EP("n1", 2) } } },
	  "bgp 10.1.0.1/32 pool=phost svcs=a peers=tor-a,vpn-a" },
	{ "Local bgp: endpoints elsewhere or count 0", "n1",
	  { { "a", "phost", { "10.1.0.1" }, CFG_TRAFFIC_LOCAL, { EP("n2", 2) } },
	    { "b", "phost", { "10.1.0.2" }, CFG_TRAFFIC_LOCAL, { EP("n1", 0), EP("n3", 1) } },
	    { "c", "phost", { "10.1.0.3" }, CFG_TRAFFIC_LOCAL } },
	  "" },
	{ "Local bgp: aggregate keeps only services with endpoints here", "n1",
	  { { "a", "p4", { "10.0.0.1" }, CFG_TRAFFIC_LOCAL, { EP("n2", 1) } },
	    { "b", "p4", { "10.0.0.2" }, CFG_TRAFFIC_CLUSTER } },
	  "bgp 10.0.0.0/24 pool=p4 svcs=b lp=100 comm=64512:100,64512:200"
	  " large=64512:1:1 peers=tor-a,vpn-a" },
	{ "layer2 Local: only n3 has endpoints", "n1",
	  { { "a", "pl2", { "10.9.0.1" }, CFG_TRAFFIC_LOCAL, { EP("n3", 1), EP("n1", 0) } } },
	  "l2 10.9.0.1/32 pool=pl2 svcs=a owner=n3 local=0 ifs=eth1" },
	{ "layer2 Local: only this node has endpoints", "n1",
	  { { "a", "pl2", { "10.9.0.1" }, CFG_TRAFFIC_LOCAL, { EP("n1", 3) } } },
	  "l2 10.9.0.1/32 pool=pl2 svcs=a owner=n1 local=1 ifs=eth1" },
	{ "layer2 Local: no endpoints anywhere", "n1",
	  { { "a", "pl2", { "10.9.0.1" }, CFG_TRAFFIC_LOCAL } },
	  "l2 10.9.0.1/32 pool=pl2 svcs=a owner=- local=0 ifs=eth1" },
	{ "layer2 pool selector: n2 has endpoints but is not rack r1", "n1",
	  { { "a", "pl2r1", { "10.10.0.1", "2001:db8:10::1" }, CFG_TRAFFIC_LOCAL,
	      { EP("n2", 1), EP("n3", 1) } } },
	  "l2 10.10.0.1/32 pool=pl2r1 svcs=a owner=n3 local=0 | "
	  "l2 2001:db8:10::1/128 pool=pl2r1 svcs=a owner=n3 local=0" },
	{ "layer2 pool selector excludes this node: nothing", "n2",
	  { { "a", "pl2r1", { "10.10.0.1" } } }, "" },
	{ "bgp before layer2", "n1",
	  { { "l", "pl2", { "10.9.0.1" }, CFG_TRAFFIC_LOCAL, { EP("n1", 1) } },
	    { "b", "phost", { "10.1.0.1" } } },
	  "bgp 10.1.0.1/32 pool=phost svcs=b peers=tor-a,vpn-a | "
	  "l2 10.9.0.1/32 pool=pl2 svcs=l owner=n1 local=1 ifs=eth1" },
	{ "no services", "n1", { { NULL } }, "" },
	/* Kubernetes: no endpoint anywhere can serve: announced nowhere. */
	{ "no endpoints anywhere: bgp Cluster withdrawn", "n1",
	  { { "a", "phost", { "10.1.0.1" }, CFG_TRAFFIC_CLUSTER, { { NULL } }, true },
	    { "b", "phost", { "10.1.0.2" } } },
	  "bgp 10.1.0.2/32 pool=phost svcs=b peers=tor-a,vpn-a" },
	{ "no endpoints anywhere: layer2 Cluster has no owner at all", "n1",
	  { { "a", "pl2", { "10.9.0.1" }, CFG_TRAFFIC_CLUSTER, { { NULL } }, true } },
	  "" },
	{ "no endpoints anywhere: Local with stale per-node counts too", "n1",
	  { { "a", "phost", { "10.1.0.1" }, CFG_TRAFFIC_LOCAL, { EP("n1", 2) }, true },
	    { "l", "pl2", { "10.9.0.1" }, CFG_TRAFFIC_LOCAL, { EP("n1", 1) }, true } },
	  "" },
	{ "no endpoints: a sharer that has some keeps the address (bgp)", "n1",
	  { { "a", "phost", { "10.1.0.1" }, CFG_TRAFFIC_CLUSTER, { { NULL } }, true },
	    { "b", "phost", { "10.1.0.1" } } },
	  "bgp 10.1.0.1/32 pool=phost svcs=b peers=tor-a,vpn-a" },
	{ "no endpoints: a sharer that has some keeps the address (layer2)", "n1",
	  { { "a", "pl2", { "10.9.0.1" }, CFG_TRAFFIC_CLUSTER, { { NULL } }, true },
	    { "b", "pl2", { "10.9.0.1" }, CFG_TRAFFIC_LOCAL, { EP("n1", 1) } } },
	  "l2 10.9.0.1/32 pool=pl2 svcs=b owner=n1 local=1 ifs=eth1" },
	/* Health: a service down on a node is not placed there. */
	{ "bgp: down on this node: no route, the others stay", "n1",
	  { { "a", "phost", { "10.1.0.1" }, .down = { "n1" } },
	    { "b", "phost", { "10.1.0.2" } } },
	  "bgp 10.1.0.2/32 pool=phost svcs=b peers=tor-a,vpn-a" },
	{ "bgp: down on other nodes only: announced here", "n1",
	  { { "a", "phost", { "10.1.0.1" }, .down = { "n2", "n3" } } },
	  "bgp 10.1.0.1/32 pool=phost svcs=a peers=tor-a,vpn-a" },
	{ "bgp: Local policy with endpoints but down: no route", "n1",
	  { { "a", "phost", { "10.1.0.1" }, CFG_TRAFFIC_LOCAL, { EP("n1", 2) },
	      .down = { "n1" } } },
	  "" },
	{ "layer2: down everywhere but n3: n3 owns it", "n1",
	  { { "a", "pl2", { "10.9.0.1" }, .down = { "n1", "n2", "n4" } } },
	  "l2 10.9.0.1/32 pool=pl2 svcs=a owner=n3 local=0 ifs=eth1" },
	{ "layer2: down everywhere but this node: owned here", "n1",
	  { { "a", "pl2", { "10.9.0.1" }, .down = { "n2", "n3", "n4" } } },
	  "l2 10.9.0.1/32 pool=pl2 svcs=a owner=n1 local=1 ifs=eth1" },
	{ "layer2: down everywhere: nobody answers", "n1",
	  { { "a", "pl2", { "10.9.0.1" }, .down = { "n1", "n2", "n3", "n4" } } },
	  "l2 10.9.0.1/32 pool=pl2 svcs=a owner=- local=0 ifs=eth1" },
};

START_TEST(test_build_table)
{
	const struct build_case *tc = &build_cases[_i];
	struct input_buf b;
	char *got;

	input_make(&b, &fixture, tc->node, live_nodes, NELEM(live_nodes), tc->svcs);
	got = build_render(&b.in);
	ck_assert_msg(strcmp(got, tc->want) == 0, "%s:\n got: %s\nwant: %s",
	    tc->name, got, tc->want);
	free(got);
}
END_TEST

/* ---- table: node selector expressions ---------------------------------- */

static const struct sel_case {
	const char	*node;
	const char	*want;	/* pools present, in address order */
} sel_cases[] = {
	/* n1 rack r1; n2 rack r2; n4 rack r3 + gpu; nx no labels */
	{ "n1", "psin psdne" },
	{ "n2", "psnotin psdne psor" },
	{ "n4", "psin psnotin psexists psor" },
	{ "nx", "psnotin psdne" },
};

START_TEST(test_selector_table)
{
	const struct sel_case *tc = &sel_cases[_i];
	static const struct svc_spec specs[MAXSVC] = {
		{ "in", "psin", { "10.20.0.1" } },
		{ "notin", "psnotin", { "10.20.0.2" } },
		{ "exists", "psexists", { "10.20.0.3" } },
		{ "dne", "psdne", { "10.20.0.4" } },
		{ "or", "psor", { "10.20.0.5" } },
	};
	struct input_buf b;
	struct plan *p;
	char got[256] = "";

	input_make(&b, &fixture, tc->node, live_nodes, NELEM(live_nodes), specs);
	p = plan_build(&b.in);
	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < p->nroutes; i++) {
		if (i)
			strcat(got, " ");
		strcat(got, p->routes[i].pool);
	}
	plan_free(p);
	ck_assert_msg(strcmp(got, tc->want) == 0, "node %s: got '%s' want '%s'",
	    tc->node, got, tc->want);
}
END_TEST

/* ---- layer 2 ownership -------------------------------------------------- */

static const char *const many_names[] = {
	"worker-1", "worker-2", "worker-3", "worker-4", "worker-5", "worker-6",
};

static void
nodes_of(struct plan_node *out, const size_t *order, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[i].name = many_names[order[i]];
		out[i].labels = NULL;
		out[i].nlabels = 0;
	}
}

static struct addr
nth_addr(size_t i, uint8_t af)
{
	struct addr a = { af, 0 };

	if (af == ADDR_AF_INET)
		a.v = V4(172, 16, 0, 0) + i;
	else
		a.v = ((addr_u128)0x20010db8u << 96) + i;
	return a;
}

static const size_t order_fwd[] = { 0, 1, 2, 3, 4 };
static const size_t order_rev[] = { 4, 3, 2, 1, 0 };
static const size_t order_mix[] = { 2, 4, 0, 3, 1 };

START_TEST(test_owner_order_independent)
{
	static const uint8_t afs[] = { ADDR_AF_INET, ADDR_AF_INET6 };
	struct plan_node a[5], b[5], c[5];
	size_t wins[5] = { 0 };

	nodes_of(a, order_fwd, 5);
	nodes_of(b, order_rev, 5);
	nodes_of(c, order_mix, 5);
	for (size_t k = 0; k < NELEM(afs); k++) {
		for (size_t i = 0; i < 200; i++) {
			struct addr ad = nth_addr(i, afs[k]);
			const char *oa = plan_l2_owner(&ad, a, 5);
			const char *ob = plan_l2_owner(&ad, b, 5);
			const char *oc = plan_l2_owner(&ad, c, 5);

			ck_assert_ptr_nonnull(oa);
			ck_assert_str_eq(oa, ob);
			ck_assert_str_eq(oa, oc);
			for (size_t n = 0; n < 5; n++)
				if (strcmp(oa, many_names[n]) == 0)
					wins[n]++;
		}
	}
	/* 400 draws over 5 nodes: each should get a fair share (~80). */
	for (size_t n = 0; n < 5; n++)
		ck_assert_msg(wins[n] > 40 && wins[n] < 130,
		    "%s owns %zu of 400", many_names[n], wins[n]);
	ck_assert_ptr_null(plan_l2_owner(&(struct addr){ ADDR_AF_INET, 1 }, a, 0));
}
END_TEST

/* A whole plan does not depend on the order of the live nodes either. */
START_TEST(test_owner_plan_order_independent)
{
	struct svc_spec specs[MAXSVC] = {
		{ "a", "pl2", { "10.9.0.1", "10.9.0.2", "10.9.0.3" } },
		{ "b", "pl2", { "10.9.0.4", "10.9.0.5", "10.9.0.6" } },
		{ "c", "pl2", { "10.9.0.7", "10.9.0.8", "10.9.0.9" } },
	};
	struct plan_node fwd[5], rev[5];
	struct input_buf b1, b2;
	char *s1, *s2;

	nodes_of(fwd, order_fwd, 5);
	nodes_of(rev, order_rev, 5);
	input_make(&b1, &fixture, "worker-1", fwd, 5, specs);
	input_make(&b2, &fixture, "worker-1", rev, 5, specs);
	s1 = build_render(&b1.in);
	s2 = build_render(&b2.in);
	ck_assert_str_eq(s1, s2);
	/* The owners really are spread: not all nine on one node. */
	{
		size_t distinct = 0;

		for (size_t i = 0; i < 5; i++) {
			char want[32];

			snprintf(want, sizeof(want), "owner=%s ", many_names[i]);
			if (strstr(s1, want) != NULL)
				distinct++;
		}
		ck_assert_msg(distinct >= 2, "%s", s1);
	}
	free(s1);
	free(s2);
}
END_TEST

START_TEST(test_owner_stable_on_add)
{
	struct plan_node before[5], after[6], pair[2];
	static const size_t order6[] = { 0, 1, 2, 3, 4, 5 };
	size_t moved = 0;

	nodes_of(before, order_fwd, 5);
	nodes_of(after, order6, 6);
	for (size_t i = 0; i < 200; i++) {
		struct addr ad = nth_addr(i, ADDR_AF_INET);
		const char *ob = plan_l2_owner(&ad, before, 5);
		const char *oa = plan_l2_owner(&ad, after, 6);
		bool new_first;

		/* Does the new node outrank the old owner (alone with it)? */
		pair[0] = before[0];
		pair[0].name = ob;
		pair[1] = after[5];
		new_first = strcmp(plan_l2_owner(&ad, pair, 2), "worker-6") == 0;
		if (strcmp(ob, oa) != 0) {
			moved++;
			ck_assert_msg(new_first && strcmp(oa, "worker-6") == 0,
			    "address %zu moved %s -> %s", i, ob, oa);
		} else {
			ck_assert_msg(!new_first, "address %zu: worker-6 ranks "
			    "first but did not take it", i);
		}
	}
	/* ~1/6 of 200 should move to the new node: some, not most. */
	ck_assert_msg(moved > 10 && moved < 70, "moved %zu of 200", moved);
}
END_TEST

START_TEST(test_owner_stable_on_remove)
{
	struct plan_node all[5], less[4];
	static const size_t order4[] = { 0, 1, 3, 4 };	/* worker-3 gone */
	size_t moved = 0;

	nodes_of(all, order_fwd, 5);
	nodes_of(less, order4, 4);
	for (size_t i = 0; i < 200; i++) {
		struct addr ad = nth_addr(i, ADDR_AF_INET6);
		const char *o5 = plan_l2_owner(&ad, all, 5);
		const char *o4 = plan_l2_owner(&ad, less, 4);

		if (strcmp(o5, o4) != 0) {
			moved++;
			ck_assert_str_eq(o5, "worker-3");
		}
		ck_assert_str_ne(o4, "worker-3");
	}
	ck_assert_uint_gt(moved, 0);
}
END_TEST

/*
 * Golden owners.  Every node computes the owner on its own, so the hash may
 * never change between releases (a rolling upgrade would otherwise have two
 * nodes answering ARP for one address).  Changing these values is a
 * compatibility break, not a test update.
 */
static const struct golden_case {
	const char	*addr;
	const char	*owner;
} golden_cases[] = {
	{ "10.0.0.1", "worker-4" },
	{ "10.0.0.2", "worker-4" },
	{ "10.0.0.3", "worker-4" },
	{ "192.168.1.10", "worker-3" },
	{ "172.16.13.254", "worker-3" },
	{ "2001:db8::1", "worker-5" },
	{ "2001:db8::2", "worker-1" },
	{ "fd00::abcd", "worker-3" },
};

START_TEST(test_owner_golden)
{
	const struct golden_case *tc = &golden_cases[_i];
	struct plan_node nodes[5];
	struct addr a;

	nodes_of(nodes, order_mix, 5);
	ck_assert_int_eq(addr_parse(tc->addr, &a), 0);
	ck_assert_str_eq(plan_l2_owner(&a, nodes, 5), tc->owner);
}
END_TEST

/* ---- plan_diff ---------------------------------------------------------- */

struct diff_log {
	char	buf[1024];
};

static void
diff_rec(struct diff_log *l, char op, const struct plan_route *r)
{
	char pb[ADDR_STRLEN];
	size_t len = strlen(l->buf);

	snprintf(l->buf + len, sizeof(l->buf) - len, "%s%c %s%s%s",
	    len ? ", " : "", op, r->vrf ? r->vrf : "", r->vrf ? ":" : "",
	    prefix_ntop(&r->prefix, pb, sizeof(pb)));
}

static void
diff_announce(void *arg, const struct plan_route *r)
{
	diff_rec(arg, 'A', r);
}

static void
diff_withdraw(void *arg, const struct plan_route *r)
{
	diff_rec(arg, 'W', r);
}

static const struct plan_diff_ops diff_ops = { diff_announce, diff_withdraw };

static const struct diff_case {
	const char	*name;
	bool		 old_null, new_null;
	struct svc_spec	 old[MAXSVC];
	struct svc_spec	 new[MAXSVC];
	const char	*want;
} diff_cases[] = {
	{ "unchanged: nothing", false, false,
	  { { "a", "phost", { "10.1.0.1" } }, { "r", "pred", { "10.4.0.1" } } },
	  { { "r", "pred", { "10.4.0.1" } }, { "a", "phost", { "10.1.0.1" } } },
	  "" },
	{ "new route announced", false, false,
	  { { "a", "phost", { "10.1.0.1" } } },
	  { { "a", "phost", { "10.1.0.1" } }, { "b", "phost", { "10.1.0.2" } } },
	  "A 10.1.0.2/32" },
	{ "removed route withdrawn", false, false,
	  { { "a", "phost", { "10.1.0.1" } }, { "b", "phost", { "10.1.0.2" } } },
	  { { "b", "phost", { "10.1.0.2" } } },
	  "W 10.1.0.1/32" },
	{ "attribute change (other pool's adverts): announce only", false, false,
	  { { "a", "phost", { "10.1.0.1" } } },
	  { { "a", "prestr", { "10.1.0.1" } } },
	  "A 10.1.0.1/32" },
	{ "service joins aggregate, same attributes: nothing", false, false,
	  { { "a", "p4", { "10.0.0.1" } } },
	  { { "a", "p4", { "10.0.0.1" } }, { "b", "p4", { "10.0.0.2" } } },
	  "" },
	{ "move to another VRF: withdraw old identity, announce new", false, false,
	  { { "a", "phost", { "10.4.0.1" } } },
	  { { "a", "pred", { "10.4.0.1" } } },
	  "W 10.4.0.1/32, A red:10.4.0.1/32" },
	{ "layer2 owner change: announce only", false, false,
	  { { "l", "pl2", { "10.9.0.1" }, CFG_TRAFFIC_LOCAL, { EP("n1", 1) } } },
	  { { "l", "pl2", { "10.9.0.1" }, CFG_TRAFFIC_LOCAL, { EP("n3", 1) } } },
	  "A 10.9.0.1/32" },
	{ "mixed", false, false,
	  { { "a", "phost", { "10.1.0.1", "10.1.0.3" } }, { "r", "pred", { "10.4.0.1" } } },
	  { { "a", "phost", { "10.1.0.2", "10.1.0.3" } }, { "g", "pgreen", { "10.4.0.1" } } },
	  "W 10.1.0.1/32, A 10.1.0.2/32, A green:10.4.0.1/32, W red:10.4.0.1/32" },
	{ "old NULL: announce all", true, false,
	  { { NULL } },
	  { { "a", "phost", { "10.1.0.1", "10.1.0.2" } } },
	  "A 10.1.0.1/32, A 10.1.0.2/32" },
	{ "new NULL: withdraw all", false, true,
	  { { "a", "phost", { "10.1.0.1", "10.1.0.2" } } },
	  { { NULL } },
	  "W 10.1.0.1/32, W 10.1.0.2/32" },
};

START_TEST(test_diff_table)
{
	const struct diff_case *tc = &diff_cases[_i];
	struct input_buf bo, bn;
	struct plan *po = NULL, *pn = NULL;
	struct diff_log log = { "" };

	input_make(&bo, &fixture, "n1", live_nodes, NELEM(live_nodes), tc->old);
	input_make(&bn, &fixture, "n1", live_nodes, NELEM(live_nodes), tc->new);
	if (!tc->old_null)
		ck_assert_ptr_nonnull(po = plan_build(&bo.in));
	if (!tc->new_null)
		ck_assert_ptr_nonnull(pn = plan_build(&bn.in));
	plan_diff(po, pn, &diff_ops, &log);
	ck_assert_msg(strcmp(log.buf, tc->want) == 0, "%s:\n got: %s\nwant: %s",
	    tc->name, log.buf, tc->want);
	/* Diffing a plan against itself is always silent. */
	log.buf[0] = '\0';
	plan_diff(pn, pn, &diff_ops, &log);
	ck_assert_str_eq(log.buf, "");
	plan_free(po);
	plan_free(pn);
}
END_TEST

/* ---- plan_route_equal: which fields count -------------------------------- */

static char *svc_a[] = { "a" };
static char *svc_ab[] = { "a", "b" };
static char *pr_a[] = { "tor-a" };
static char *pr_ab[] = { "tor-a", "tor-b" };
static uint32_t cm1[] = { 1 }, cm2[] = { 2 };
static struct cfg_large_community lg1[] = { { 1, 2, 3 } }, lg2[] = { { 1, 2, 4 } };

/* Fields a case leaves zero get defaults (see route_defaults). */
#define BASE_ROUTE	.backend = CFG_PROTO_BGP

static const struct eq_case {
	const char	*name;
	struct plan_route a, b;
	bool		 equal;
	int		 cmp;	/* sign of plan_route_cmp(a, b) */
} eq_cases[] = {
	{ "same", { BASE_ROUTE }, { BASE_ROUTE }, true, 0 },
	{ "services differ only", { BASE_ROUTE },
	  { .services = svc_ab, .nservices = 2 }, true, 0 },
	{ "pool differs only", { BASE_ROUTE }, { .pool = "q" }, true, 0 },
	{ "peers differ", { BASE_ROUTE }, { .peers = pr_ab, .npeers = 2 }, false, 0 },
	{ "local-pref set", { BASE_ROUTE },
	  { .has_local_pref = true, .local_pref = 0 }, false, 0 },
	{ "local-pref value", { .has_local_pref = true, .local_pref = 1 },
	  { .has_local_pref = true, .local_pref = 2 }, false, 0 },
	{ "communities", { .communities = cm1, .ncommunities = 1 },
	  { .communities = cm2, .ncommunities = 1 }, false, 0 },
	{ "large communities", { .large_communities = lg1, .nlarge_communities = 1 },
	  { .large_communities = lg2, .nlarge_communities = 1 }, false, 0 },
	{ "owner", { .owner = "n1" }, { .owner = "n2" }, false, 0 },
	{ "owner vs none", { BASE_ROUTE }, { .owner = "n2" }, false, 0 },
	{ "local flag", { .owner = "n1" },
	  { .owner = "n1", .local = true }, false, 0 },
	{ "interfaces", { BASE_ROUTE },
	  { .interfaces = pr_a, .ninterfaces = 1 }, false, 0 },
	{ "vrf NULL first", { BASE_ROUTE }, { .vrf = "a" }, false, -1 },
	{ "vrf names", { .vrf = "b" }, { .vrf = "a" }, false, 1 },
	{ "backend before vrf", { .backend = CFG_PROTO_LAYER2 },
	  { .vrf = "z" }, false, 1 },
	{ "family before address", { BASE_ROUTE },
	  { .prefix = { { ADDR_AF_INET6, 0 }, 1 } }, false, -1 },
	{ "address", { BASE_ROUTE },
	  { .prefix = { { ADDR_AF_INET, V4(9, 0, 0, 0) }, 24 } }, false, 1 },
	{ "length", { BASE_ROUTE },
	  { .prefix = { { ADDR_AF_INET, V4(10, 0, 0, 0) }, 25 } }, false, -1 },
};

static struct plan_route
route_defaults(const struct plan_route *in)
{
	struct plan_route r = *in;

	if (r.prefix.addr.af == 0)
		r.prefix = (struct prefix){ { ADDR_AF_INET, V4(10, 0, 0, 0) }, 24 };
	if (r.pool == NULL)
		r.pool = "p";
	if (r.services == NULL) {
		r.services = svc_a;
		r.nservices = 1;
	}
	if (r.peers == NULL) {
		r.peers = pr_a;
		r.npeers = 1;
	}
	return r;
}

START_TEST(test_equal_table)
{
	const struct eq_case *tc = &eq_cases[_i];
	struct plan_route a = route_defaults(&tc->a);
	struct plan_route b = route_defaults(&tc->b);
	int c = plan_route_cmp(&a, &b);
	int rc = plan_route_cmp(&b, &a);

	ck_assert_msg(plan_route_equal(&a, &b) == tc->equal, "%s", tc->name);
	ck_assert_msg(plan_route_equal(&b, &a) == tc->equal, "%s (sym)", tc->name);
	ck_assert_msg((c > 0) - (c < 0) == tc->cmp, "%s: cmp %d", tc->name, c);
	ck_assert_msg((rc > 0) - (rc < 0) == -tc->cmp, "%s: rcmp %d", tc->name, rc);
}
END_TEST

/* ---- ownership: the plan outlives the config ---------------------------- */

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	ck_assert_ptr_nonnull(d);
	return d;
}

static char **
xstrv(size_t n, const char *const *src)
{
	char **v = calloc(n, sizeof(*v));

	ck_assert_ptr_nonnull(v);
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(src[i]);
	return v;
}

static void
free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static struct cfg *
heap_cfg(void)
{
	static const char *const peer_names[] = { "tor-a", "tor-b" };
	static const char *const ifs[] = { "eth0", "eth1" };
	struct cfg *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	c->npeers = 2;
	c->peers = calloc(2, sizeof(*c->peers));
	ck_assert_ptr_nonnull(c->peers);
	c->peers[0].name = xstrdup("tor-a");
	c->peers[0].vrf = xstrdup("red");
	c->peers[1].name = xstrdup("tor-b");
	c->peers[1].vrf = xstrdup("red");

	c->npools = 2;
	c->pools = calloc(2, sizeof(*c->pools));
	ck_assert_ptr_nonnull(c->pools);
	c->pools[0].name = xstrdup("heap-bgp");
	c->pools[0].vrf = xstrdup("red");
	c->pools[0].nadverts = 1;
	c->pools[0].adverts = calloc(1, sizeof(struct cfg_advert));
	ck_assert_ptr_nonnull(c->pools[0].adverts);
	c->pools[0].adverts[0].aggregation_length = 32;
	c->pools[0].adverts[0].aggregation_length_v6 = 128;
	c->pools[0].adverts[0].npeers = 2;
	c->pools[0].adverts[0].peers = xstrv(2, peer_names);
	c->pools[0].adverts[0].ncommunities = 1;
	c->pools[0].adverts[0].communities = calloc(1, sizeof(uint32_t));
	ck_assert_ptr_nonnull(c->pools[0].adverts[0].communities);
	c->pools[0].adverts[0].communities[0] = COMM(7, 7);
	c->pools[1].name = xstrdup("heap-l2");
	c->pools[1].protocol = CFG_PROTO_LAYER2;
	c->pools[1].ninterfaces = 2;
	c->pools[1].interfaces = xstrv(2, ifs);
	return c;
}

static void
heap_cfg_free(struct cfg *c)
{
	for (size_t i = 0; i < c->npeers; i++) {
		free(c->peers[i].name);
		free(c->peers[i].vrf);
	}
	free(c->peers);
	for (size_t i = 0; i < c->npools; i++) {
		struct cfg_pool *p = &c->pools[i];

		for (size_t j = 0; j < p->nadverts; j++) {
			free_strv(p->adverts[j].peers, p->adverts[j].npeers);
			free(p->adverts[j].communities);
		}
		free(p->adverts);
		free_strv(p->interfaces, p->ninterfaces);
		free(p->name);
		free(p->vrf);
	}
	free(c->pools);
	free(c);
}

START_TEST(test_plan_owns_strings)
{
	struct cfg *c = heap_cfg();
	char *svc_name = xstrdup("ns/web"), *pool_bgp = xstrdup("heap-bgp");
	char *pool_l2 = xstrdup("heap-l2"), *me = xstrdup("me");
	struct cfg_endpoint *eps = calloc(1, sizeof(*eps));
	struct plan_node *nodes = calloc(1, sizeof(*nodes));
	struct plan_service svcs[2];
	struct addr addrs[2];
	struct plan_input in;
	struct plan *p;
	char *got;

	ck_assert_ptr_nonnull(eps);
	ck_assert_ptr_nonnull(nodes);
	eps[0].node = xstrdup("me");
	eps[0].count = 1;
	nodes[0].name = me;
	ck_assert_int_eq(addr_parse("10.50.0.1", &addrs[0]), 0);
	ck_assert_int_eq(addr_parse("10.60.0.1", &addrs[1]), 0);
	memset(svcs, 0, sizeof(svcs));
	svcs[0] = (struct plan_service){ svc_name, pool_bgp, &addrs[0], 1,
	    CFG_TRAFFIC_LOCAL, eps, 1 };
	svcs[1] = (struct plan_service){ svc_name, pool_l2, &addrs[1], 1,
	    CFG_TRAFFIC_CLUSTER, NULL, 0 };
	in = (struct plan_input){ c, me, nodes, 1, svcs, 2 };

	p = plan_build(&in);
	ck_assert_ptr_nonnull(p);
	/* Free everything the plan was built from, then read it. */
	heap_cfg_free(c);
	free(svc_name);
	free(pool_bgp);
	free(pool_l2);
	free(me);
	free(eps[0].node);
	free(eps);
	free(nodes);
	got = render(p);
	ck_assert_str_eq(got,
	    "bgp red:10.50.0.1/32 pool=heap-bgp svcs=ns/web comm=7:7 peers=tor-a,tor-b | "
	    "l2 10.60.0.1/32 pool=heap-l2 svcs=ns/web owner=me local=1 ifs=eth0,eth1");
	free(got);
	plan_free(p);
	plan_free(NULL);
}
END_TEST

static Suite *
plan_suite(void)
{
	Suite *s = suite_create("plan");
	TCase *tc = tcase_create("plan");

	tcase_add_loop_test(tc, test_build_table, 0, NELEM(build_cases));
	tcase_add_loop_test(tc, test_selector_table, 0, NELEM(sel_cases));
	tcase_add_test(tc, test_owner_order_independent);
	tcase_add_test(tc, test_owner_plan_order_independent);
	tcase_add_test(tc, test_owner_stable_on_add);
	tcase_add_test(tc, test_owner_stable_on_remove);
	tcase_add_loop_test(tc, test_owner_golden, 0, NELEM(golden_cases));
	tcase_add_loop_test(tc, test_diff_table, 0, NELEM(diff_cases));
	tcase_add_loop_test(tc, test_equal_table, 0, NELEM(eq_cases));
	tcase_add_test(tc, test_plan_owns_strings);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(plan_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
