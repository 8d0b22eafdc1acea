/*
 * config_top.c - a configuration document: its top-level keys, the small
 * top-level settings (node, router-id, status endpoint, state file, BGP
 * listen port), and the section walkers in dependency order (community
 * names, nodes, vrfs, peers, pools, services, layer2, kubernetes) rather
 * than file order, so that each cross reference is checked at the node
 * that makes it.  Errors are sorted by position at the end of the load.
 */
#include "config_priv.h"

const char *const cfg_top_keys[TOP__N] = {
	"node", "router-id", "status-listen", "state-file", "bgp-listen-port",
	"bgp-communities", "nodes", "pools", "peers", "vrfs", "services",
	"layer2", "kubernetes", "status-token-file", "status-insecure",
};

void
cfg_walk_config(struct lctx *c, const struct ynode *root)
{
	struct cfg *cfg = c->cfg;
	const struct ynode *v[TOP__N];
	const char *const *keys;
	uint16_t port;
	struct addr a;

	c->legacy = cfg_is_legacy(root);
	c->pools_key = c->legacy ? "address-pools" : "pools";
	keys = c->legacy ? cfg_top_keys_legacy : cfg_top_keys;
	if (root->type == YN_SCALAR && !root->is_null) {
		cfg_err(c, root, "expected a mapping at the top level, got %s",
		    cfg_kind_name(root));
		return;
	}
	if (cfg_map_keys(c, root, keys, TOP__N, v) == -1)
		return;
	if (v[TOP_K8S] != NULL && !c->cluster)
		c->k8s_local = true;
	if (c->cluster || c->k8s_local)
		cfg_check_k8s_split(c, v, cfg_k8s_config_map_name(v[TOP_K8S]));
	cfg_get_str(c, "node", v[TOP_NODE], &cfg->node);
	cfg_get_addr(c, "router-id", v[TOP_ROUTER_ID], ADDR_AF_INET,
	    &cfg->router_id);
	cfg_get_str(c, "status-token-file", v[TOP_STATUS_TOKEN],
	    &cfg->status_token_file);
	cfg_get_bool(c, "status-insecure", v[TOP_STATUS_INSECURE],
	    &cfg->status_insecure);
	if (cfg_get_str(c, "status-listen", v[TOP_STATUS], &cfg->status_listen)
	    == 0 && cfg->status_listen != NULL) {
		size_t o = cfg_path_key(c, "status-listen");

		if (cfg_parse_hostport(cfg->status_listen, true, &a, &port)
		    == -1)
			cfg_err(c, v[TOP_STATUS], "invalid address \"%s\" "
			    "(expected IP:PORT or [IPv6]:PORT)",
			    cfg->status_listen);
		else if (!addr_is_loopback(&a) &&
		    cfg->status_token_file == NULL && !cfg->status_insecure)
			/* Status tells a lot about the network: exposing
			 * it is a decision, not a default. */
			cfg_err(c, v[TOP_STATUS], "%s is not a loopback "
			    "address: set status-token-file (bearer token) "
			    "or status-insecure: true", cfg->status_listen);
		cfg_path_pop(c, o);
	}
	if (cfg->status_listen == NULL)
		cfg->status_listen = xstrdup(CFG_DEF_STATUS_LISTEN);
	cfg_get_str(c, "state-file", v[TOP_STATE], &cfg->state_file);
	{
		uint64_t lport = 179;

		/* 0 is allowed here: it turns the listener off. */
		cfg_get_uint(c, "bgp-listen-port", v[TOP_BGP_PORT], 0, 65535,
		    &lport);
		cfg->bgp_listen_port = (uint16_t)lport;
	}
	cfg_walk_aliases(c, "bgp-communities", v[TOP_COMMS]);
	cfg_walk_nodes(c, v[TOP_NODES]);
	cfg_walk_vrfs(c, v[TOP_VRFS]);
	cfg_walk_peers(c, v[TOP_PEERS]);
	cfg_walk_pools(c, v[TOP_POOLS]);
	cfg_walk_services(c, v[TOP_SERVICES]);
	cfg_walk_layer2(c, v[TOP_LAYER2]);
	cfg_walk_kubernetes(c, v[TOP_K8S]);
}
