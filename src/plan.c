/*
 * plan.c - the planner: from config + services + nodes to the sorted list of
 * routes THIS node announces.
 *
 * plan_build() is pure.  It works in two passes.  The first walks every
 * service address and emits a "contribution" for each (address, advert)
 * pair this node is entitled to announce: pool found, pool and advert node
 * selectors matching this node, Local traffic policy honoured, a service
 * that no endpoint anywhere can serve (no_endpoints) left out.  The second
 * sorts the contributions by route identity (backend, vrf, prefix) and folds
 * each run into one owned struct plan_route.  Because contributions are
 * sorted by (identity, pool position in the config, advert position, service
 * name) before folding, the result does not depend on the order in which the
 * caller lists services or nodes.
 *
 * Nothing in a plan points into the config or the input: plans outlive a
 * reload, and plan_diff() compares a plan of the old config with one of the
 * new.
 *
 * Node selectors are matched with cfg_selector_match() (config_values.c),
 * the same function the BGP speaker uses for peers, so a selector can never
 * mean two things.
 */
#include <stdlib.h>
#include <string.h>

#include "bgplb/plan.h"

/* One (service, address, advert) this node may announce; borrowed pointers. */
struct contrib {
	enum cfg_proto		 backend;
	struct prefix		 prefix;
	const char		*vrf;
	size_t			 pool_idx;
	size_t			 advert_idx;
	const struct cfg_pool	*pool;
	const struct cfg_advert	*advert;	/* bgp only */
	const struct plan_service *svc;
};

struct contribs {
	struct contrib	*v;
	size_t		 n;
	size_t		 cap;
};

/* ---- small helpers ---------------------------------------------------- */

static int
strcmp_null(const char *a, const char *b)
{
	/* NULL (the default VRF) sorts before every named VRF. */
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static bool
str_in(const char *s, char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] != NULL && strcmp(list[i], s) == 0)
			return true;
	return false;
}

static const struct cfg_pool *
pool_by_name(const struct cfg *cfg, const char *name, size_t *idx)
{
	for (size_t i = 0; i < cfg->npools; i++) {
		if (cfg->pools[i].name != NULL &&
		    strcmp(cfg->pools[i].name, name) == 0) {
			*idx = i;
			return &cfg->pools[i];
		}
	}
	return NULL;
}

/* Kubernetes mode may only know a Service's addresses, not its pool. */
static const struct cfg_pool *
pool_by_addr(const struct cfg *cfg, const struct addr *a, size_t *idx)
{
	for (size_t i = 0; i < cfg->npools; i++) {
		const struct cfg_pool *p = &cfg->pools[i];

		for (size_t j = 0; j < p->nranges; j++) {
			if (range_contains(&p->ranges[j].range, a)) {
				*idx = i;
				return p;
			}
		}
	}
	return NULL;
}

static bool
is_down(const struct plan_service *svc, const char *node)
{
	for (size_t i = 0; i < svc->ndown; i++)
		if (node != NULL && strcmp(svc->down[i], node) == 0)
			return true;
	return false;
}

static bool
has_endpoints(const struct plan_service *svc, const char *node)
{
	if (node == NULL)
		return false;
	for (size_t i = 0; i < svc->nendpoints; i++)
		if (svc->endpoints[i].node != NULL &&
		    strcmp(svc->endpoints[i].node, node) == 0 &&
		    svc->endpoints[i].count > 0)
			return true;
	return false;
}

/*
 * A route may reach a peer only inside its VRF: a default-VRF pool goes to
 * default-VRF peers; a pool of VRF X goes to peers whose session runs in X,
 * or which carry X as VPN routes.
 */
static bool
peer_carries_vrf(const struct cfg_peer *peer, const char *vrf)
{
	if (vrf == NULL)
		return peer->vrf == NULL;
	if (peer->vrf != NULL && strcmp(peer->vrf, vrf) == 0)
		return true;
	return str_in(vrf, peer->vpn, peer->nvpn);
}

/* ---- owner hash ------------------------------------------------------- */

/*
 * Rendezvous (highest random weight) hashing: every node gets a score for
 * the address and the highest score wins.  Adding a node therefore moves an
 * address only to the new node, and only when it outscores the old owner;
 * removing a node moves only the addresses it owned.  FNV-1a alone mixes its
 * last bytes poorly, so the murmur3 finalizer spreads it over all 64 bits.
 * The function is fixed forever in practice: every node must compute the
 * same owner, including nodes running an older bgplb during an upgrade.
 */
static uint64_t
fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
owner_score(const char *name, const struct addr *a)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint8_t bytes[16];

	/* The name's NUL is hashed too, as a separator from the address. */
	h = fnv1a(h, (const uint8_t *)name, strlen(name) + 1);
	h = fnv1a(h, &a->af, 1);
	addr_to_bytes(a, bytes);
	h = fnv1a(h, bytes, a->af == ADDR_AF_INET ? 4 : 16);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* Highest score wins; an (astronomically unlikely) tie goes to the lower name. */
const char *
plan_l2_owner(const struct addr *a, const struct plan_node *nodes,
    size_t nnodes)
{
	const char *best = NULL;
	uint64_t best_score = 0;

	for (size_t i = 0; i < nnodes; i++) {
		uint64_t s;

		if (nodes[i].name == NULL)
			continue;
		s = owner_score(nodes[i].name, a);
		if (best == NULL || s > best_score ||
		    (s == best_score && strcmp(nodes[i].name, best) < 0)) {
			best = nodes[i].name;
			best_score = s;
		}
	}
	return best;
}

/* ---- route order and equality ----------------------------------------- */

/* Route identity: backend, VRF (NULL first), prefix.  Contributions are
 * grouped into routes by the same order, so both use this one function. */
static int
ident_cmp(enum cfg_proto ba, const char *va, const struct prefix *pa,
    enum cfg_proto bb, const char *vb, const struct prefix *pb)
{
	int c;

	if (ba != bb)
		return ba < bb ? -1 : 1;
	if ((c = strcmp_null(va, vb)) != 0)
		return c < 0 ? -1 : 1;
	if ((c = addr_cmp(&pa->addr, &pb->addr)) != 0)
		return c;
	if (pa->len != pb->len)
		return pa->len < pb->len ? -1 : 1;
	return 0;
}

int
plan_route_cmp(const struct plan_route *a, const struct plan_route *b)
{
	return ident_cmp(a->backend, a->vrf, &a->prefix, b->backend, b->vrf,
	    &b->prefix);
}

static bool
strv_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

/*
 * What a backend puts on the wire: prefix, path attributes and the peers it
 * goes to (bgp), the owner and interfaces (layer2).  The pool name and the
 * services list are deliberately NOT compared: a second service joining an
 * aggregate that is already announced with the same attributes changes
 * nothing a router or a neighbour cache can see, so it must not cause an
 * UPDATE.  The status view reads services from the current plan instead.
 */
bool
plan_route_equal(const struct plan_route *a, const struct plan_route *b)
{
	if (plan_route_cmp(a, b) != 0)
		return false;
	if (a->weighted != b->weighted || a->endpoints != b->endpoints)
		return false;
	if (a->has_local_pref != b->has_local_pref ||
	    (a->has_local_pref && a->local_pref != b->local_pref))
		return false;
	if (a->ncommunities != b->ncommunities ||
	    (a->ncommunities > 0 && memcmp(a->communities, b->communities,
	    a->ncommunities * sizeof(*a->communities)) != 0))
		return false;
	if (a->nlarge_communities != b->nlarge_communities)
		return false;
	for (size_t i = 0; i < a->nlarge_communities; i++) {
		const struct cfg_large_community *x = &a->large_communities[i];
		const struct cfg_large_community *y = &b->large_communities[i];

		if (x->global != y->global || x->local1 != y->local1 ||
		    x->local2 != y->local2)
			return false;
	}
	if (!strv_equal(a->peers, a->npeers, b->peers, b->npeers))
		return false;
	if (strcmp_null(a->owner, b->owner) != 0 || a->local != b->local)
		return false;
	if (!strv_equal(a->interfaces, a->ninterfaces, b->interfaces,
	    b->ninterfaces))
		return false;
	return true;
}

/* ---- plan_free -------------------------------------------------------- */

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
route_clear(struct plan_route *r)
{
	free(r->pool);
	free(r->vrf);
	strv_free(r->services, r->nservices);
	free(r->communities);
	free(r->large_communities);
	strv_free(r->peers, r->npeers);
	free(r->owner);
	strv_free(r->interfaces, r->ninterfaces);
	memset(r, 0, sizeof(*r));
}

void
plan_free(struct plan *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nroutes; i++)
		route_clear(&p->routes[i]);
	free(p->routes);
	free(p);
}

/* ---- pass 1: contributions -------------------------------------------- */

static int
contrib_add(struct contribs *cs, const struct contrib *c)
{
	if (cs->n == cs->cap) {
		size_t ncap = cs->cap ? cs->cap * 2 : 16;
		struct contrib *v = reallocarray(cs->v, ncap, sizeof(*v));

		if (v == NULL)
			return -1;
		cs->v = v;
		cs->cap = ncap;
	}
	cs->v[cs->n++] = *c;
	return 0;
}

static int
contrib_ident_cmp(const struct contrib *a, const struct contrib *b)
{
	return ident_cmp(a->backend, a->vrf, &a->prefix, b->backend, b->vrf,
	    &b->prefix);
}

static int
contrib_qsort_cmp(const void *pa, const void *pb)
{
	const struct contrib *a = pa, *b = pb;
	int c;

	if ((c = contrib_ident_cmp(a, b)) != 0)
		return c;
	/* Within a route, config order decides which advert is "first". */
	if (a->pool_idx != b->pool_idx)
		return a->pool_idx < b->pool_idx ? -1 : 1;
	if (a->advert_idx != b->advert_idx)
		return a->advert_idx < b->advert_idx ? -1 : 1;
	return strcmp(a->svc->name, b->svc->name);
}

static unsigned
agg_len(const struct cfg_advert *adv, uint8_t af)
{
	int len = af == ADDR_AF_INET ? adv->aggregation_length :
	    adv->aggregation_length_v6;
	int bits = (int)addr_bits(af);

	/* The config validates this; an unset or absurd value means host route. */
	if (len <= 0 || len > bits)
		return (unsigned)bits;
	return (unsigned)len;
}

static int
collect(const struct plan_input *in, const struct cfg_kv *my_labels,
    size_t my_nlabels, struct contribs *cs)
{
	const struct cfg *cfg = in->cfg;

	for (size_t s = 0; s < in->nservices; s++) {
		const struct plan_service *svc = &in->services[s];

		/* No endpoint can serve it anywhere: traffic drawn to the
		 * address would be dropped on every node. */
		if (svc->name == NULL || svc->no_endpoints)
			continue;
		for (size_t a = 0; a < svc->naddrs; a++) {
			const struct addr *addr = &svc->addrs[a];
			const struct cfg_pool *pool;
			size_t pidx = 0;
			struct contrib c;

			if (addr->af != ADDR_AF_INET && addr->af != ADDR_AF_INET6)
				continue;
			pool = svc->pool != NULL ?
			    pool_by_name(cfg, svc->pool, &pidx) :
			    pool_by_addr(cfg, addr, &pidx);
			if (pool == NULL)
				continue;
			if (!cfg_selector_match(&pool->node_selector, my_labels,
			    my_nlabels))
				continue;
			/* A service this node can't serve (its health check
			 * fails here): no BGP route; in layer 2 the owner is
			 * chosen among the others (fold_l2). */
			if (pool->protocol != CFG_PROTO_LAYER2 &&
			    is_down(svc, in->node))
				continue;

			memset(&c, 0, sizeof(c));
			c.backend = pool->protocol;
			c.vrf = pool->vrf;
			c.pool_idx = pidx;
			c.pool = pool;
			c.svc = svc;

			if (pool->protocol == CFG_PROTO_LAYER2) {
				/* Local policy is applied when the owner is chosen. */
				c.prefix = prefix_of(addr, addr_bits(addr->af));
				if (contrib_add(cs, &c) == -1)
					return -1;
				continue;
			}

			/* bgp: with Local policy only nodes with a ready
			 * endpoint attract traffic, or it would be dropped. */
			if (svc->policy == CFG_TRAFFIC_LOCAL &&
			    !has_endpoints(svc, in->node))
				continue;
			for (size_t v = 0; v < pool->nadverts; v++) {
				const struct cfg_advert *adv = &pool->adverts[v];

				if (!cfg_selector_match(&adv->node_selector,
				    my_labels, my_nlabels))
					continue;
				c.advert = adv;
				c.advert_idx = v;
				c.prefix = prefix_of(addr, agg_len(adv, addr->af));
				if (contrib_add(cs, &c) == -1)
					return -1;
			}
		}
	}
	return 0;
}

/* ---- pass 2: fold contributions into routes ---------------------------- */

static int
cmp_str_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
cmp_u32(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	return (a > b) - (a < b);
}

static int
cmp_large(const void *pa, const void *pb)
{
	const struct cfg_large_community *a = pa, *b = pb;

	if (a->global != b->global)
		return a->global < b->global ? -1 : 1;
	if (a->local1 != b->local1)
		return a->local1 < b->local1 ? -1 : 1;
	if (a->local2 != b->local2)
		return a->local2 < b->local2 ? -1 : 1;
	return 0;
}

/* Sort and drop duplicates in place; returns the new count. */
static size_t
sort_unique(void *base, size_t n, size_t size,
    int (*cmp)(const void *, const void *))
{
	char *b = base;
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort(base, n, size, cmp);
	for (size_t i = 1; i < n; i++) {
		if (cmp(b + out * size, b + i * size) != 0) {
			out++;
			if (out != i)
				memcpy(b + out * size, b + i * size, size);
		}
	}
	return out + 1;
}

/* Duplicate n borrowed strings into an owned, sorted, unique vector. */
static int
strv_dup_sorted(const char **src, size_t n, char ***out, size_t *nout)
{
	char **v = NULL;
	size_t k;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	k = sort_unique(src, n, sizeof(*src), cmp_str_p);
	if ((v = calloc(k, sizeof(*v))) == NULL)
		return -1;
	for (size_t i = 0; i < k; i++) {
		if ((v[i] = strdup(src[i])) == NULL) {
			strv_free(v, i);
			return -1;
		}
	}
	*out = v;
	*nout = k;
	return 0;
}

static bool
peer_wanted(const struct cfg_peer *peer, const struct contrib *c,
    const struct cfg_kv *my_labels, size_t my_nlabels)
{
	if (peer->name == NULL)
		return false;
	if (!cfg_selector_match(&peer->node_selector, my_labels, my_nlabels))
		return false;
	if (c->advert->npeers > 0 &&
	    !str_in(peer->name, c->advert->peers, c->advert->npeers))
		return false;
	return peer_carries_vrf(peer, c->vrf);
}

/*
 * bgp attributes of a run of contributions sharing one identity.  A prefix
 * can carry only one set of path attributes, so when several adverts (of one
 * pool, or of pools whose addresses aggregate into the same prefix) meet:
 * communities, large communities and peers are the union, and local-pref is
 * the one of the first advert, in config order (pool, then advert), that
 * sets it.  Per-peer attribute sets are not expressible in a plan_route; the
 * union is the conservative choice (no advert loses a community it asked for).
 */
static int
fold_bgp(struct plan_route *r, const struct contrib *run, size_t n,
    const struct cfg *cfg, const char *node, const struct cfg_kv *my_labels,
    size_t my_nlabels)
{
	const char **names = NULL;
	size_t ncomm = 0, nlarge = 0, nnames = 0;

	for (size_t i = 0; i < n; i++) {
		const struct cfg_advert *adv = run[i].advert;

		if (!r->has_local_pref && adv->has_local_pref) {
			r->has_local_pref = true;
			r->local_pref = adv->local_pref;
		}
		ncomm += adv->ncommunities;
		nlarge += adv->nlarge_communities;
	}
	if (ncomm > 0) {
		if ((r->communities = calloc(ncomm, sizeof(uint32_t))) == NULL)
			goto fail;
		for (size_t i = 0; i < n; i++) {
			const struct cfg_advert *adv = run[i].advert;

			if (adv->ncommunities == 0)
				continue;
			memcpy(r->communities + r->ncommunities,
			    adv->communities,
			    adv->ncommunities * sizeof(uint32_t));
			r->ncommunities += adv->ncommunities;
		}
		r->ncommunities = sort_unique(r->communities, r->ncommunities,
		    sizeof(uint32_t), cmp_u32);
	}
	if (nlarge > 0) {
		r->large_communities = calloc(nlarge,
		    sizeof(struct cfg_large_community));
		if (r->large_communities == NULL)
			goto fail;
		for (size_t i = 0; i < n; i++) {
			const struct cfg_advert *adv = run[i].advert;

			if (adv->nlarge_communities == 0)
				continue;
			memcpy(r->large_communities + r->nlarge_communities,
			    adv->large_communities, adv->nlarge_communities *
			    sizeof(struct cfg_large_community));
			r->nlarge_communities += adv->nlarge_communities;
		}
		r->nlarge_communities = sort_unique(r->large_communities,
		    r->nlarge_communities, sizeof(struct cfg_large_community),
		    cmp_large);
	}

	/* Weighted ECMP: the weight is this node's ready endpoints, counted
	 * once per service however many adverts brought it here. */
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		if (!run[i].pool->weighted_ecmp)
			continue;
		r->weighted = true;
		for (size_t j = 0; j < i && !seen; j++)
			seen = run[j].svc == run[i].svc;
		if (seen)
			continue;
		for (size_t e = 0; e < run[i].svc->nendpoints; e++)
			if (run[i].svc->endpoints[e].node != NULL && node != NULL &&
			    strcmp(run[i].svc->endpoints[e].node, node) == 0)
				r->endpoints += run[i].svc->endpoints[e].count;
	}

	if (cfg->npeers > 0) {
		if ((names = calloc(cfg->npeers, sizeof(*names))) == NULL)
			goto fail;
		for (size_t p = 0; p < cfg->npeers; p++) {
			for (size_t i = 0; i < n; i++) {
				if (peer_wanted(&cfg->peers[p], &run[i],
				    my_labels, my_nlabels)) {
					names[nnames++] = cfg->peers[p].name;
					break;
				}
			}
		}
	}
	if (strv_dup_sorted(names, nnames, &r->peers, &r->npeers) == -1)
		goto fail;
	free(names);
	return 0;
fail:
	free(names);
	return -1;
}

/*
 * Layer 2 owner of a run.  Eligible: live nodes matching the pool's node
 * selector that can serve the traffic (and where it is not down).  Several services share an address
 * only with the allocator's consent (same sharing key); a node can serve the
 * address when it can serve at least one of them (Cluster policy, or a ready
 * endpoint under Local policy), so that one service without endpoints does
 * not black-hole the others.
 */
static int
fold_l2(struct plan_route *r, const struct contrib *run, size_t n,
    const struct plan_input *in)
{
	const struct cfg_pool *pool = run[0].pool;
	struct plan_node *elig = NULL;
	size_t nelig = 0;
	const char *owner;

	if (in->nnodes > 0) {
		if ((elig = calloc(in->nnodes, sizeof(*elig))) == NULL)
			goto fail;
	}
	for (size_t i = 0; i < in->nnodes; i++) {
		const struct plan_node *node = &in->nodes[i];
		bool serves = false;

		if (node->name == NULL ||
		    !cfg_selector_match(&pool->node_selector, node->labels,
		    node->nlabels))
			continue;
		for (size_t j = 0; j < n && !serves; j++)
			serves = (run[j].svc->policy != CFG_TRAFFIC_LOCAL ||
			    has_endpoints(run[j].svc, node->name)) &&
			    !is_down(run[j].svc, node->name);
		if (serves)
			elig[nelig++] = *node;
	}
	owner = plan_l2_owner(&r->prefix.addr, elig, nelig);
	if (owner != NULL) {
		if ((r->owner = strdup(owner)) == NULL)
			goto fail;
		r->local = in->node != NULL && strcmp(owner, in->node) == 0;
	}

	/* Interfaces keep the pool's order: it is the operator's list. */
	if (pool->ninterfaces > 0) {
		r->interfaces = calloc(pool->ninterfaces, sizeof(char *));
		if (r->interfaces == NULL)
			goto fail;
		for (size_t i = 0; i < pool->ninterfaces; i++) {
			if ((r->interfaces[i] = strdup(pool->interfaces[i])) == NULL)
				goto fail;
			r->ninterfaces++;
		}
	}
	free(elig);
	return 0;
fail:
	free(elig);
	return -1;
}

static int
fold(struct plan_route *r, const struct contrib *run, size_t n,
    const struct plan_input *in, const struct cfg_kv *my_labels,
    size_t my_nlabels)
{
	const char **svcs = NULL;

	memset(r, 0, sizeof(*r));
	r->backend = run[0].backend;
	r->prefix = run[0].prefix;
	if ((r->pool = strdup(run[0].pool->name)) == NULL)
		goto fail;
	if (run[0].vrf != NULL && (r->vrf = strdup(run[0].vrf)) == NULL)
		goto fail;

	if ((svcs = calloc(n, sizeof(*svcs))) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++)
		svcs[i] = run[i].svc->name;
	if (strv_dup_sorted(svcs, n, &r->services, &r->nservices) == -1)
		goto fail;

	if (r->backend == CFG_PROTO_BGP) {
		if (fold_bgp(r, run, n, in->cfg, in->node, my_labels,
		    my_nlabels) == -1)
			goto fail;
	} else {
		if (fold_l2(r, run, n, in) == -1)
			goto fail;
	}
	free(svcs);
	return 0;
fail:
	free(svcs);
	route_clear(r);
	return -1;
}

/* This node's labels: the live view first, then the config's node list. */
static void
my_labels_find(const struct plan_input *in, const struct cfg_kv **labels,
    size_t *nlabels)
{
	*labels = NULL;
	*nlabels = 0;
	if (in->node == NULL)
		return;
	for (size_t i = 0; i < in->nnodes; i++) {
		if (in->nodes[i].name != NULL &&
		    strcmp(in->nodes[i].name, in->node) == 0) {
			*labels = in->nodes[i].labels;
			*nlabels = in->nodes[i].nlabels;
			return;
		}
	}
	for (size_t i = 0; i < in->cfg->nnodes; i++) {
		if (in->cfg->nodes[i].name != NULL &&
		    strcmp(in->cfg->nodes[i].name, in->node) == 0) {
			*labels = in->cfg->nodes[i].labels;
			*nlabels = in->cfg->nodes[i].nlabels;
			return;
		}
	}
}

struct plan *
plan_build(const struct plan_input *in)
{
	struct contribs cs = { NULL, 0, 0 };
	struct plan *p = NULL;
	const struct cfg_kv *my_labels;
	size_t my_nlabels;

	if (in == NULL || in->cfg == NULL)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto fail;
	my_labels_find(in, &my_labels, &my_nlabels);
	if (collect(in, my_labels, my_nlabels, &cs) == -1)
		goto fail;
	if (cs.n == 0)
		goto done;

	qsort(cs.v, cs.n, sizeof(*cs.v), contrib_qsort_cmp);
	/* At most one route per contribution. */
	if ((p->routes = calloc(cs.n, sizeof(*p->routes))) == NULL)
		goto fail;
	for (size_t i = 0; i < cs.n; ) {
		size_t j = i + 1;

		while (j < cs.n && contrib_ident_cmp(&cs.v[i], &cs.v[j]) == 0)
			j++;
		if (fold(&p->routes[p->nroutes], &cs.v[i], j - i, in,
		    my_labels, my_nlabels) == -1)
			goto fail;
		p->nroutes++;
		i = j;
	}
done:
	free(cs.v);
	return p;
fail:
	free(cs.v);
	plan_free(p);
	return NULL;
}

/* ---- plan_diff -------------------------------------------------------- */

void
plan_diff(const struct plan *old, const struct plan *new,
    const struct plan_diff_ops *ops, void *arg)
{
	size_t no = old != NULL ? old->nroutes : 0;
	size_t nn = new != NULL ? new->nroutes : 0;
	size_t i = 0, j = 0;

	while (i < no || j < nn) {
		int c;

		if (i == no)
			c = 1;
		else if (j == nn)
			c = -1;
		else
			c = plan_route_cmp(&old->routes[i], &new->routes[j]);

		if (c < 0) {
			if (ops->withdraw != NULL)
				ops->withdraw(arg, &old->routes[i]);
			i++;
		} else if (c > 0) {
			if (ops->announce != NULL)
				ops->announce(arg, &new->routes[j]);
			j++;
		} else {
			/* Same identity: a changed route is replaced by
			 * announcing it again (BGP implicit withdraw; a new
			 * owner for layer 2), never withdraw + announce,
			 * which would flap it. */
			if (!plan_route_equal(&old->routes[i], &new->routes[j]) &&
			    ops->announce != NULL)
				ops->announce(arg, &new->routes[j]);
			i++;
			j++;
		}
	}
}
