/*
 * config_kubernetes.c - the kubernetes: section of the daemon's file:
 * how to reach the API server, which ConfigMap holds the cluster's part of
 * the configuration, the Lease of the allocators' leader election and its
 * timing, the load balancer class this daemon serves, and where this node
 * keeps the last valid cluster config.
 */
#include <stdio.h>
#include <string.h>

#include "config_priv.h"

enum {
	KU_KUBECONFIG, KU_CONFIG_MAP, KU_LEASE, KU_CLASS, KU_LEASE_DURATION,
	KU_RENEW_DEADLINE, KU_RETRY_PERIOD, KU_LAST_GOOD, KU__N
};
static const char *const k8s_keys[KU__N] = { "kubeconfig", "config-map",
    "lease", "load-balancer-class", "lease-duration", "renew-deadline",
    "retry-period", "last-good-config" };

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

/*
 * One leader election duration, more than 0.  *ms keeps the default when
 * the key is absent; returns -1 when the value is unusable (reported).
 */
static int
get_election_dur(struct lctx *c, const char *key, const struct ynode *n,
    uint32_t *ms)
{
	uint32_t v;
	size_t o;

	if (n == NULL)
		return 0;
	if (cfg_get_dur(c, key, n, &v) == -1)
		return -1;
	if (v == 0) {
		o = cfg_path_key(c, key);
		cfg_err(c, n, "%s must be more than 0", key);
		cfg_path_pop(c, o);
		return -1;
	}
	*ms = v;
	return 0;
}

/*
 * a must be longer than b times factor/10, as client-go requires of
 * leaseDuration over renewDeadline (factor 10) and of renewDeadline over
 * retryPeriod times its JitterFactor (1.2: factor 12), and as the leader
 * elector in src/k8s checks again.  A key not set stands for its default;
 * the error goes to the longer key when it is set, else to the shorter.
 */
static void
check_longer(struct lctx *c, const char *akey, const struct ynode *an,
    uint32_t a_ms, const char *bkey, const struct ynode *bn, uint32_t b_ms,
    unsigned factor)
{
	char d1[32], d2[32], d3[32], jitter[80] = "";
	uint64_t bound10 = (uint64_t)b_ms * factor;	/* tenths of a ms */
	size_t o;

	if ((uint64_t)a_ms * 10 > bound10)
		return;
	if (factor != 10) {
		if (bound10 % 10 == 0 && bound10 / 10 <= UINT32_MAX)
			cfg_duration_fmt((uint32_t)(bound10 / 10), d3,
			    sizeof(d3));
		else if (bound10 % 10 == 0)
			snprintf(d3, sizeof(d3), "%llums",
			    (unsigned long long)(bound10 / 10));
		else
			snprintf(d3, sizeof(d3), "%llu.%llums",
			    (unsigned long long)(bound10 / 10),
			    (unsigned long long)(bound10 % 10));
		snprintf(jitter, sizeof(jitter), " times client-go's jitter "
		    "factor %u.%u (%s)", factor / 10, factor % 10, d3);
	}
	o = cfg_path_key(c, an != NULL ? akey : bkey);
	cfg_err(c, an != NULL ? an : bn, "%s %s%s must be longer than %s "
	    "%s%s%s", akey, cfg_duration_fmt(a_ms, d1, sizeof(d1)),
	    an == NULL ? " (the default)" : "", bkey,
	    cfg_duration_fmt(b_ms, d2, sizeof(d2)),
	    bn == NULL ? " (the default)" : "", jitter);
	cfg_path_pop(c, o);
}

/*
 * Leader election timing on the Lease, checked as client-go's
 * NewLeaderElector checks it.  The Lease object holds
 * leaseDurationSeconds, so lease-duration is a whole number of seconds.
 * Unset fields stay 0 (the default).
 */
static void
walk_election(struct lctx *c, const struct ynode *const *v,
    struct cfg_kubernetes *k)
{
	uint32_t lease_ms = CFG_DEF_LEASE_DURATION_MS;
	uint32_t renew_ms = CFG_DEF_RENEW_DEADLINE_MS;
	uint32_t retry_ms = CFG_DEF_RETRY_PERIOD_MS;
	const struct ynode *ln = v[KU_LEASE_DURATION];
	bool lease_ok, renew_ok, retry_ok;
	char d[32];
	size_t o;

	lease_ok = get_election_dur(c, "lease-duration", ln, &lease_ms) == 0;
	if (lease_ok && ln != NULL) {
		o = cfg_path_key(c, "lease-duration");
		cfg_duration_fmt(lease_ms, d, sizeof(d));
		if (lease_ms < 1000) {
			cfg_err(c, ln, "lease-duration %s must be at least 1s",
			    d);
			lease_ok = false;
		} else if (lease_ms % 1000 != 0) {
			cfg_err(c, ln, "lease-duration %s is not a whole number "
			    "of seconds (a Lease holds leaseDurationSeconds)",
			    d);
			lease_ok = false;
		} else
			k->lease_duration_s = lease_ms / 1000;
		cfg_path_pop(c, o);
	}
	renew_ok = get_election_dur(c, "renew-deadline", v[KU_RENEW_DEADLINE],
	    &renew_ms) == 0;
	if (renew_ok && v[KU_RENEW_DEADLINE] != NULL)
		k->renew_deadline_ms = renew_ms;
	retry_ok = get_election_dur(c, "retry-period", v[KU_RETRY_PERIOD],
	    &retry_ms) == 0;
	if (retry_ok && v[KU_RETRY_PERIOD] != NULL)
		k->retry_period_ms = retry_ms;

	if (lease_ok && renew_ok)
		check_longer(c, "lease-duration", ln, lease_ms,
		    "renew-deadline", v[KU_RENEW_DEADLINE], renew_ms, 10);
	if (renew_ok && retry_ok)
		check_longer(c, "renew-deadline", v[KU_RENEW_DEADLINE],
		    renew_ms, "retry-period", v[KU_RETRY_PERIOD], retry_ms, 12);
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
		if (cfg_get_str(c, "config-map", v[KU_CONFIG_MAP],
		    &k->config_map) == 0)
			check_nsname(c, "config-map", v[KU_CONFIG_MAP],
			    k->config_map);
		if (cfg_get_str(c, "lease", v[KU_LEASE], &k->lease) == 0)
			check_nsname(c, "lease", v[KU_LEASE], k->lease);
		cfg_get_str(c, "load-balancer-class", v[KU_CLASS],
		    &k->load_balancer_class);
		cfg_get_str(c, "last-good-config", v[KU_LAST_GOOD],
		    &k->last_good_config);
		walk_election(c, v, k);
	}
	cfg_path_pop(c, old);
}
