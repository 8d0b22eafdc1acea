/*
 * config_cluster.c - Kubernetes mode's two-part configuration: which
 * top-level keys belong to the cluster's ConfigMap and which to the
 * daemon's own file (a key in the other place gets a warning), and making
 * one config of the two (cfg_k8s_local_only, cfg_k8s_merge).  The
 * ConfigMap's part is read by config_load.c, as a document of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

/*
 * Kubernetes mode splits the configuration in two: what every node must
 * share (pools, peers, VRFs, community names) comes from the cluster's
 * ConfigMap, what belongs to one node from the daemon's own file.  A key in
 * the other place is not an error (one file may describe both, as the
 * reference example does) but it is not used, and a warning says so and
 * where it is taken from instead.  The daemon's file is still checked
 * whole.
 */
void
cfg_check_k8s_split(struct lctx *c, const struct ynode **v, const char *cm)
{
	static const int cluster_keys[] = { TOP_POOLS, TOP_PEERS, TOP_VRFS,
	    TOP_COMMS };
	static const int local_keys[] = { TOP_NODE, TOP_ROUTER_ID, TOP_STATUS,
	    TOP_BGP_PORT, TOP_LAYER2, TOP_K8S, TOP_STATUS_TOKEN,
	    TOP_STATUS_INSECURE };
	static const int unused_keys[] = { TOP_SERVICES, TOP_NODES, TOP_STATE };
	static const char *const unused_why[] = {
		"the services are the cluster's Service objects",
		"node labels come from the cluster's Node objects",
		"the Services' status is the state",
	};
	const char *const *keys = c->legacy ? cfg_top_keys_legacy :
	    cfg_top_keys;
	size_t o;

	for (size_t i = 0; i < sizeof(unused_keys) / sizeof(*unused_keys); i++) {
		int k = unused_keys[i];

		if (v[k] == NULL)
			continue;
		o = cfg_path_key(c, cfg_top_keys[k]);
		cfg_warn(c, v[k], "not used in Kubernetes mode: %s",
		    unused_why[i]);
		cfg_path_pop(c, o);
		if (c->cluster)
			v[k] = NULL;
	}
	if (c->cluster) {
		for (size_t i = 0; i < sizeof(local_keys) / sizeof(*local_keys);
		    i++) {
			int k = local_keys[i];

			if (v[k] == NULL)
				continue;
			o = cfg_path_key(c, cfg_top_keys[k]);
			cfg_warn(c, v[k], "not used from the ConfigMap: a "
			    "node's own setting belongs in the daemon's file "
			    "(--config)");
			cfg_path_pop(c, o);
			v[k] = NULL;
		}
		return;
	}
	for (size_t i = 0; i < sizeof(cluster_keys) / sizeof(*cluster_keys); i++) {
		int k = cluster_keys[i];

		if (v[k] == NULL)
			continue;
		o = cfg_path_key(c, keys[k] != NULL ? keys[k] :
		    cfg_top_keys[k]);
		cfg_warn(c, v[k], "not used in Kubernetes mode: taken from the "
		    "ConfigMap %s (data.config)", cm);
		cfg_path_pop(c, o);
	}
}

/* kubernetes.config-map as written, for messages (the default if not). */
const char *
cfg_k8s_config_map_name(const struct ynode *k8s)
{
	const struct ynode *cm = k8s != NULL ? cfg_map_get(k8s, "config-map") :
	    NULL;

	if (cm != NULL && cm->type == YN_SCALAR && !cm->is_null)
		return cm->str;
	return CFG_DEF_CONFIG_MAP;
}

void
cfg_k8s_local_only(struct cfg *c)
{
	cfg_free_pools(c);
	cfg_free_peers(c);
	cfg_free_vrfs(c);
	cfg_free_aliases(c);
	cfg_free_services(c);
	cfg_free_nodes(c);
	cfg_members_free(&c->layer2);
	free(c->state_file);
	c->state_file = NULL;
}

#define MOVE_LIST(dst, src, field, count) do {				\
	(dst)->field = (src)->field;					\
	(dst)->count = (src)->count;					\
	(src)->field = NULL;						\
	(src)->count = 0;						\
} while (0)

struct cfg *
cfg_k8s_merge(struct cfg *local, struct cfg *cluster)
{
	cfg_k8s_local_only(local);
	MOVE_LIST(local, cluster, pools, npools);
	MOVE_LIST(local, cluster, peers, npeers);
	MOVE_LIST(local, cluster, vrfs, nvrfs);
	MOVE_LIST(local, cluster, community_aliases, ncommunity_aliases);
	local->source = cluster->source;
	if (cluster->nwarnings > 0) {
		local->warnings = xrealloc(local->warnings, (local->nwarnings +
		    cluster->nwarnings) * sizeof(*local->warnings));
		memcpy(local->warnings + local->nwarnings, cluster->warnings,
		    cluster->nwarnings * sizeof(*cluster->warnings));
		local->nwarnings += cluster->nwarnings;
		free(cluster->warnings);
		cluster->warnings = NULL;
		cluster->nwarnings = 0;
	}
	cfg_free(cluster);
	return local;
}
