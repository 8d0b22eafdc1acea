/*
 * config_pools.c - the pools: section (address-pools: in MetalLB's
 * format): address ranges as CIDRs or first-last, checked for overlaps
 * across all pools, and for a bgp pool its advertisements (communities,
 * large communities, local-pref, aggregation lengths, peers, node
 * selectors), either from the pool's own keys or an advertisements list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

static const char *const pool_keys[PO__N] = {
	"name", "protocol", "addresses", "auto-assign", "avoid-buggy-ips",
	"vrf", "communities", "large-communities", "local-pref",
	"aggregation-length", "aggregation-length-v6", "peers",
	"node-selector", "node-selectors", "advertisements", "interfaces",
	"weighted-ecmp",
};

static const char *const advert_keys[AD__N] = {
	"aggregation-length", "aggregation-length-v6", "local-pref",
	"communities", "large-communities", "peers", "node-selector",
	"node-selectors",
};

static bool
vrf_known(const struct cfg *cfg, const char *name)
{
	if (cfg_vrf_find(cfg, name) != NULL)
		return true;
	for (size_t i = 0; i < cfg->npeers; i++)
		if (cfg->peers[i].vrf != NULL &&
		    strcmp(cfg->peers[i].vrf, name) == 0)
			return true;
	return false;
}

static void
parse_range(struct lctx *c, const struct ynode *n, struct cfg_range *r)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	const char *s, *dash;
	struct prefix p;
	struct addr lo, hi;

	r->loc = cfg_loc_of(n);
	if ((s = cfg_scalar(c, n)) == NULL)
		return;
	if (strchr(s, '/') != NULL) {
		if (prefix_parse(s, &p, true) == -1) {
			cfg_err(c, n, "invalid CIDR \"%s\"", s);
			return;
		}
		if (prefix_parse(s, &p, false) == -1) {
			struct prefix q = prefix_of(&p.addr, p.len);

			cfg_err(c, n, "CIDR %s has host bits set (did you mean "
			    "%s?)", s, prefix_ntop(&q, a, sizeof(a)));
			return;
		}
		r->is_cidr = true;
		r->cidr = p;
		r->range = prefix_range(&p);
		return;
	}
	if ((dash = strchr(s, '-')) == NULL) {
		cfg_err(c, n, "expected a CIDR (192.0.2.0/24) or a range "
		    "(192.0.2.1-192.0.2.9), got \"%s\"", s);
		return;
	}
	/* MetalLB allows spaces around the dash. */
	{
		size_t la = (size_t)(dash - s);
		const char *hs = dash + 1;

		while (la > 0 && s[la - 1] == ' ')
			la--;
		while (*hs == ' ')
			hs++;
		if (la >= sizeof(a) || strlen(hs) >= sizeof(b)) {
			cfg_err(c, n, "invalid range \"%s\"", s);
			return;
		}
		memcpy(a, s, la);
		a[la] = '\0';
		snprintf(b, sizeof(b), "%s", hs);
		while (*b != '\0' && b[strlen(b) - 1] == ' ')
			b[strlen(b) - 1] = '\0';
	}
	if (addr_parse(a, &lo) == -1) {
		cfg_err(c, n, "invalid range start \"%s\"", a);
		return;
	}
	if (addr_parse(b, &hi) == -1) {
		cfg_err(c, n, "invalid range end \"%s\"", b);
		return;
	}
	if (lo.af != hi.af) {
		cfg_err(c, n, "range %s mixes IPv4 and IPv6", s);
		return;
	}
	if (addr_cmp(&lo, &hi) > 0) {
		cfg_err(c, n, "range start %s is after its end %s", a, b);
		return;
	}
	r->range.first = lo;
	r->range.last = hi;
}

static const char *
range_text(const struct cfg_range *r, char *buf, size_t len)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	if (r->is_cidr)
		return prefix_ntop(&r->cidr, buf, len);
	snprintf(buf, len, "%s-%s", addr_ntop(&r->range.first, a, sizeof(a)),
	    addr_ntop(&r->range.last, b, sizeof(b)));
	return buf;
}

/* Overlap with any earlier range, in this pool or an earlier one. */
static void
check_overlap(struct lctx *c, const struct ynode *n, size_t pi, size_t ri)
{
	const struct cfg *cfg = c->cfg;
	const struct cfg_range *r = &cfg->pools[pi].ranges[ri];
	char t1[2 * ADDR_STRLEN], t2[2 * ADDR_STRLEN];

	if (r->range.first.af == 0)
		return;
	for (size_t i = 0; i <= pi; i++) {
		const struct cfg_pool *p = &cfg->pools[i];
		size_t nr = i == pi ? ri : p->nranges;

		for (size_t j = 0; j < nr; j++) {
			if (p->ranges[j].range.first.af == 0 ||
			    !range_overlaps(&r->range, &p->ranges[j].range))
				continue;
			cfg_err(c, n, "%s overlaps %s of pool \"%s\" (%s[%zu]."
			    "addresses[%zu])", range_text(r, t1, sizeof(t1)),
			    range_text(&p->ranges[j], t2, sizeof(t2)),
			    p->name != NULL ? p->name : "", c->pools_key, i, j);
			return;
		}
	}
}

static void
parse_communities(struct lctx *c, const char *key, const struct ynode *n,
    struct cfg_advert *a)
{
	const struct cfg *cfg = c->cfg;
	size_t old, old2;

	if (n == NULL)
		return;
	old = cfg_path_key(c, key);
	if (cfg_want_seq(c, n) == -1)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		const char *s;
		uint32_t v;
		bool found = false;

		old2 = cfg_path_idx(c, i);
		if ((s = cfg_scalar(c, n->kids[i])) != NULL) {
			for (size_t j = 0; j < cfg->ncommunity_aliases; j++)
				if (strcmp(cfg->community_aliases[j].name, s)
				    == 0) {
					v = cfg->community_aliases[j].value;
					found = true;
				}
			if (found || cfg_parse_community(s, &v) == 0)
				*GROW(a->communities, a->ncommunities) = v;
			else
				cfg_err(c, n->kids[i], "invalid community "
				    "\"%s\" (expected ASN:VALUE with 16-bit "
				    "numbers, a well-known name or a "
				    "bgp-communities alias)", s);
		}
		cfg_path_pop(c, old2);
	}
out:
	cfg_path_pop(c, old);
}

static void
parse_large_communities(struct lctx *c, const struct ynode *n,
    struct cfg_advert *a)
{
	size_t old, old2;

	if (n == NULL)
		return;
	old = cfg_path_key(c, "large-communities");
	if (cfg_want_seq(c, n) == -1)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		const char *s;
		struct cfg_large_community lc;

		old2 = cfg_path_idx(c, i);
		if ((s = cfg_scalar(c, n->kids[i])) != NULL) {
			if (cfg_parse_large_community(s, &lc) == 0)
				*GROW(a->large_communities,
				    a->nlarge_communities) = lc;
			else
				cfg_err(c, n->kids[i], "invalid large "
				    "community \"%s\" (expected "
				    "GLOBAL:LOCAL1:LOCAL2 with 32-bit numbers)",
				    s);
		}
		cfg_path_pop(c, old2);
	}
out:
	cfg_path_pop(c, old);
}

static void
check_agg(struct lctx *c, const char *key, const struct ynode *n,
    const struct cfg_pool *pool, uint8_t af, int len)
{
	char t[2 * ADDR_STRLEN];
	size_t old = cfg_path_key(c, key);

	for (size_t i = 0; i < pool->nranges; i++) {
		const struct cfg_range *r = &pool->ranges[i];
		unsigned longest;

		if (r->range.first.af != af)
			continue;
		longest = range_longest_cidr(&r->range);
		if ((unsigned)len < longest) {
			cfg_err(c, n, "%s %d is shorter than the /%u in the "
			    "pool's %s: the aggregate would cover addresses "
			    "outside the pool", key, len, longest,
			    range_text(r, t, sizeof(t)));
			break;
		}
	}
	cfg_path_pop(c, old);
}

/* v[] is indexed by AD_*; keys names them as the user wrote them. */
static void
parse_advert(struct lctx *c, const struct ynode *const *v,
    const char *const *keys, struct cfg_pool *pool, struct cfg_advert *a)
{
	const struct cfg *cfg = c->cfg;
	uint64_t u;

	a->aggregation_length = 32;
	a->aggregation_length_v6 = 128;
	if (cfg_get_uint(c, keys[AD_AGG], v[AD_AGG], 0, 32, &u) == 0 &&
	    v[AD_AGG] != NULL) {
		a->aggregation_length = (int)u;
		check_agg(c, keys[AD_AGG], v[AD_AGG], pool, ADDR_AF_INET,
		    a->aggregation_length);
	}
	if (cfg_get_uint(c, keys[AD_AGG6], v[AD_AGG6], 0, 128, &u) == 0 &&
	    v[AD_AGG6] != NULL) {
		a->aggregation_length_v6 = (int)u;
		check_agg(c, keys[AD_AGG6], v[AD_AGG6], pool, ADDR_AF_INET6,
		    a->aggregation_length_v6);
	}
	if (cfg_get_uint(c, keys[AD_LP], v[AD_LP], 0, UINT32_MAX, &u) == 0 &&
	    v[AD_LP] != NULL) {
		a->has_local_pref = true;
		a->local_pref = (uint32_t)u;
	}
	parse_communities(c, keys[AD_COMMS], v[AD_COMMS], a);
	parse_large_communities(c, v[AD_LCOMMS], a);
	if (cfg_get_strlist(c, "peers", v[AD_PEERS], &a->peers, &a->npeers)
	    == 0 && a->npeers > 0) {
		size_t old = cfg_path_key(c, "peers");

		for (size_t j = 0; j < a->npeers; j++) {
			size_t o2 = cfg_path_idx(c, j);

			if (cfg_peer_find(cfg, a->peers[j]) == NULL)
				cfg_err(c, v[AD_PEERS]->kids[j],
				    "unknown peer \"%s\"", a->peers[j]);
			cfg_path_pop(c, o2);
		}
		cfg_path_pop(c, old);
	}
	cfg_parse_selector(c, "node-selector", v[AD_SEL], "node-selectors",
	    v[AD_SELS], &a->node_selector);
}

static void
walk_pool(struct lctx *c, const struct ynode *it, size_t idx,
    const char *const *keys)
{
	struct cfg *cfg = c->cfg;
	struct cfg_pool *pool = &cfg->pools[idx];
	const struct ynode *v[PO__N];
	char *proto = NULL;
	size_t o;
	static const int advert_of_pool[AD__N] = {
		[AD_AGG] = PO_AGG, [AD_AGG6] = PO_AGG6, [AD_LP] = PO_LP,
		[AD_COMMS] = PO_COMMS, [AD_LCOMMS] = PO_LCOMMS,
		[AD_PEERS] = PO_PEERS, [AD_SEL] = -1, [AD_SELS] = -1,
	};

	pool->auto_assign = true;
	pool->loc = cfg_loc_of(it);
	if (cfg_map_keys(c, it, keys, PO__N, v) == -1)
		return;
	if (v[PO_NAME] == NULL)
		cfg_err(c, it, "missing required key \"name\"");
	else if (cfg_get_str(c, "name", v[PO_NAME], &pool->name) == 0) {
		o = cfg_path_key(c, "name");
		for (size_t j = 0; j < idx; j++)
			cfg_check_dup(c, v[PO_NAME], "pool", pool->name,
			    cfg->pools[j].name, &cfg->pools[j].loc);
		cfg_path_pop(c, o);
	}
	if (c->legacy && v[PO_PROTOCOL] == NULL)
		cfg_err(c, it, "missing required key \"protocol\"");
	if (cfg_get_str(c, "protocol", v[PO_PROTOCOL], &proto) == 0 &&
	    proto != NULL) {
		o = cfg_path_key(c, "protocol");
		if (strcmp(proto, "bgp") == 0)
			pool->protocol = CFG_PROTO_BGP;
		else if (strcmp(proto, "layer2") == 0)
			pool->protocol = CFG_PROTO_LAYER2;
		else
			cfg_err(c, v[PO_PROTOCOL], "unknown protocol \"%s\" "
			    "(expected bgp or layer2)", proto);
		cfg_path_pop(c, o);
	}
	free(proto);

	if (v[PO_ADDRESSES] == NULL)
		cfg_err(c, it, "missing required key \"addresses\"");
	else {
		const struct ynode *an = v[PO_ADDRESSES];

		o = cfg_path_key(c, "addresses");
		if (cfg_want_seq(c, an) == 0) {
			if (an->n == 0)
				cfg_err(c, an, "a pool needs at least one "
				    "address range");
			for (size_t i = 0; i < an->n; i++) {
				size_t o2 = cfg_path_idx(c, i);

				parse_range(c, an->kids[i],
				    GROW(pool->ranges, pool->nranges));
				check_overlap(c, an->kids[i], idx, i);
				cfg_path_pop(c, o2);
			}
		}
		cfg_path_pop(c, o);
	}
	cfg_get_bool(c, "auto-assign", v[PO_AUTO], &pool->auto_assign);
	cfg_get_bool(c, "avoid-buggy-ips", v[PO_AVOID],
	    &pool->avoid_buggy_ips);
	if (cfg_get_str(c, "vrf", v[PO_VRF], &pool->vrf) == 0 &&
	    pool->vrf != NULL && !vrf_known(cfg, pool->vrf)) {
		o = cfg_path_key(c, "vrf");
		cfg_err(c, v[PO_VRF], "unknown vrf \"%s\" (no peer has vrf: %s "
		    "and vrfs: has no entry for it)", pool->vrf, pool->vrf);
		cfg_path_pop(c, o);
	}
	cfg_parse_selector(c, "node-selector", v[PO_SEL], "node-selectors",
	    v[PO_SELS], &pool->node_selector);

	if (pool->protocol == CFG_PROTO_LAYER2) {
		for (size_t k = PO_COMMS; k <= PO_ADVERTS; k++) {
			if (v[k] == NULL || k == PO_SEL || k == PO_SELS)
				continue;
			o = cfg_path_key(c, keys[k]);
			cfg_err(c, v[k], "%s is only for bgp pools: a layer2 "
			    "pool is not announced by BGP", keys[k]);
			cfg_path_pop(c, o);
		}
		if (v[PO_WECMP] != NULL) {
			o = cfg_path_key(c, "weighted-ecmp");
			cfg_err(c, v[PO_WECMP], "weighted-ecmp is only for bgp "
			    "pools");
			cfg_path_pop(c, o);
		}
		cfg_get_strlist(c, "interfaces", v[PO_IFACES],
		    &pool->interfaces, &pool->ninterfaces);
		return;
	}
	cfg_get_bool(c, "weighted-ecmp", v[PO_WECMP], &pool->weighted_ecmp);
	if (v[PO_IFACES] != NULL) {
		o = cfg_path_key(c, "interfaces");
		cfg_err(c, v[PO_IFACES], "interfaces is only for layer2 pools");
		cfg_path_pop(c, o);
	}
	if (v[PO_ADVERTS] != NULL && v[PO_ADVERTS]->n > 0) {
		const struct ynode *an = v[PO_ADVERTS];
		const char *const *akeys = c->legacy ? cfg_advert_keys_legacy :
		    advert_keys;

		for (size_t k = PO_COMMS; k <= PO_PEERS; k++) {
			if (v[k] == NULL)
				continue;
			o = cfg_path_key(c, keys[k]);
			cfg_err(c, v[k], "%s cannot be combined with "
			    "advertisements: set it in each advertisement",
			    keys[k]);
			cfg_path_pop(c, o);
		}
		o = cfg_path_key(c, keys[PO_ADVERTS]);
		if (cfg_want_seq(c, an) == 0)
			for (size_t i = 0; i < an->n; i++) {
				const struct ynode *av[AD__N];
				struct cfg_advert *a = GROW(pool->adverts,
				    pool->nadverts);
				size_t o2 = cfg_path_idx(c, i);

				a->loc = cfg_loc_of(an->kids[i]);
				a->aggregation_length = 32;
				a->aggregation_length_v6 = 128;
				if (cfg_map_keys(c, an->kids[i], akeys, AD__N,
				    av) == 0)
					parse_advert(c, av, akeys, pool, a);
				cfg_path_pop(c, o2);
			}
		cfg_path_pop(c, o);
	} else {
		/* The pool's own keys form its single advertisement. */
		const struct ynode *av[AD__N];
		const char *pk[AD__N];
		struct cfg_advert *a = GROW(pool->adverts, pool->nadverts);

		for (size_t k = 0; k < AD__N; k++) {
			int pi = advert_of_pool[k];

			av[k] = pi >= 0 ? v[pi] : NULL;
			pk[k] = pi >= 0 && keys[pi] != NULL ? keys[pi] :
			    advert_keys[k];
		}
		if (v[PO_ADVERTS] != NULL) {
			o = cfg_path_key(c, keys[PO_ADVERTS]);
			cfg_want_seq(c, v[PO_ADVERTS]);
			cfg_path_pop(c, o);
		}
		a->loc = pool->loc;
		parse_advert(c, av, pk, pool, a);
	}
}

void
cfg_walk_pools(struct lctx *c, const struct ynode *n)
{
	struct cfg *cfg = c->cfg;
	size_t old, old2;

	if (n == NULL)
		return;
	old = cfg_path_key(c, c->pools_key);
	if (cfg_want_seq(c, n) == -1)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		GROW(cfg->pools, cfg->npools);
		old2 = cfg_path_idx(c, i);
		walk_pool(c, n->kids[i], i, c->legacy ? cfg_pool_keys_legacy :
		    pool_keys);
		if (cfg->pools[i].name == NULL)
			cfg->pools[i].name = xstrdup("");
		cfg_path_pop(c, old2);
	}
out:
	cfg_path_pop(c, old);
}
