/*
 * config_kubernetes.c - the kubernetes: section of the daemon's file:
 * how to reach the API server, which ConfigMap holds the cluster's part of
 * the configuration, the Lease of the allocators' leader election and the
 * load balancer class this daemon serves.
 */
#include <string.h>

#include "config_priv.h"

enum { KU_KUBECONFIG, KU_CONFIG_MAP, KU_LEASE, KU_CLASS, KU__N };
static const char *const k8s_keys[KU__N] = { "kubeconfig", "config-map",
    "lease", "load-balancer-class" };

static void
check_nsname(struct lctx *c, const char *key, const struct ynode *n,
    const char *s)
{
	const char *slash = strchr(s, '/');
	size_t o;

	if (n == NULL || (slash != NULL && slash != s && slash[1] != '\0' &&
	    strchr(slash + 1, '/') == NULL))
		return;
	o = cfg_path_key(c, key);
	cfg_err(c, n, "expected NAMESPACE/NAME, got \"%s\"", s);
	cfg_path_pop(c, o);
}

void
cfg_walk_kubernetes(struct lctx *c, const struct ynode *n)
{
	struct cfg_kubernetes *k = &c->cfg->kubernetes;
	const struct ynode *v[KU__N];
	size_t old;

	if (n == NULL)
		return;
	old = cfg_path_key(c, "kubernetes");
	k->enabled = true;
	k->config_map = xstrdup(CFG_DEF_CONFIG_MAP);
	k->lease = xstrdup(CFG_DEF_LEASE);
	k->load_balancer_class = xstrdup(CFG_DEF_LB_CLASS);
	if (cfg_map_keys(c, n, k8s_keys, KU__N, v) == 0) {
		cfg_get_str(c, "kubeconfig", v[KU_KUBECONFIG], &k->kubeconfig);
		if (cfg_get_str(c, "config-map", v[KU_CONFIG_MAP], &k->config_map)
		    == 0)
			check_nsname(c, "config-map", v[KU_CONFIG_MAP],
			    k->config_map);
		if (cfg_get_str(c, "lease", v[KU_LEASE], &k->lease) == 0)
			check_nsname(c, "lease", v[KU_LEASE], k->lease);
		cfg_get_str(c, "load-balancer-class", v[KU_CLASS],
		    &k->load_balancer_class);
	}
	cfg_path_pop(c, old);
}
