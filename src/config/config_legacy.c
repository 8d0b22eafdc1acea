/*
 * config_legacy.c - MetalLB's legacy configuration format.
 *
 * A document is legacy when it has address-pools, or a peer with
 * peer-address.  It shares the walkers with our native schema: its key
 * tables, below, are indexed by the same enums as the native ones and
 * simply name the keys as MetalLB did (peer-address for address, localpref
 * for local-pref, bgp-advertisements for advertisements) or leave a slot
 * empty where MetalLB had no such key.  The bgp-communities section (named
 * communities, which both schemas accept) is walked here too.
 */
#include <string.h>

#include "config_priv.h"

const char *const cfg_peer_keys_legacy[PE__N] = {
	[PE_ADDRESS] = "peer-address", [PE_ASN] = "peer-asn",
	[PE_MY_ASN] = "my-asn", [PE_PORT] = "peer-port",
	[PE_HOLD] = "hold-time", [PE_KEEPALIVE] = "keepalive-time",
	[PE_PASSWORD] = "password", [PE_MULTIHOP] = "ebgp-multihop",
	[PE_SOURCE] = "source-address", [PE_ROUTER_ID] = "router-id",
	[PE_SELS] = "node-selectors",
};

const char *const cfg_pool_keys_legacy[PO__N] = {
	[PO_NAME] = "name", [PO_PROTOCOL] = "protocol",
	[PO_ADDRESSES] = "addresses", [PO_AUTO] = "auto-assign",
	[PO_AVOID] = "avoid-buggy-ips", [PO_ADVERTS] = "bgp-advertisements",
};

const char *const cfg_advert_keys_legacy[AD__N] = {
	[AD_AGG] = "aggregation-length", [AD_AGG6] = "aggregation-length-v6",
	[AD_LP] = "localpref", [AD_COMMS] = "communities",
	[AD_SELS] = "node-selectors",
};

const char *const cfg_top_keys_legacy[TOP__N] = {
	[TOP_COMMS] = "bgp-communities", [TOP_POOLS] = "address-pools",
	[TOP_PEERS] = "peers",
};

bool
cfg_is_legacy(const struct ynode *root)
{
	const struct ynode *peers;

	if (cfg_map_get(root, "address-pools") != NULL)
		return true;
	if ((peers = cfg_map_get(root, "peers")) == NULL ||
	    peers->type != YN_SEQ)
		return false;
	for (size_t i = 0; i < peers->n; i++)
		if (cfg_map_get(peers->kids[i], "peer-address") != NULL)
			return true;
	return false;
}

void
cfg_walk_aliases(struct lctx *c, const char *key, const struct ynode *n)
{
	struct cfg *cfg = c->cfg;
	size_t old;

	if (n == NULL)
		return;
	old = cfg_path_key(c, key);
	if (n->type != YN_MAP && !(n->type == YN_SCALAR && n->is_null)) {
		cfg_err(c, n, "expected a mapping of name to community, got %s",
		    cfg_kind_name(n));
		goto out;
	}
	for (size_t k = 0; k + 1 < n->n; k += 2) {
		const char *name, *v;
		uint32_t val;
		size_t old2;

		if ((name = cfg_scalar(c, n->kids[k])) == NULL)
			continue;
		old2 = cfg_path_key(c, name);
		for (size_t j = 0; j < cfg->ncommunity_aliases; j++)
			if (strcmp(cfg->community_aliases[j].name, name) == 0)
				cfg_err(c, n->kids[k], "duplicate key \"%s\"",
				    name);
		if ((v = cfg_scalar(c, n->kids[k + 1])) != NULL) {
			if (cfg_parse_community(v, &val) == -1)
				cfg_err(c, n->kids[k + 1], "invalid community "
				    "\"%s\" (expected ASN:VALUE with 16-bit "
				    "numbers, or a well-known name)", v);
			else {
				struct cfg_community_alias *a =
				    GROW(cfg->community_aliases,
				    cfg->ncommunity_aliases);

				a->name = xstrdup(name);
				a->value = val;
			}
		}
		cfg_path_pop(c, old2);
	}
out:
	cfg_path_pop(c, old);
}
