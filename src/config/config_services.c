/*
 * config_services.c - the services: section of the embedded mode (no
 * Kubernetes): each service's pool, static addresses (checked against the
 * pools and against other services unless they share a sharing-key),
 * ports, IP families and their policy, traffic policy and ready endpoints;
 * the health-check: block has its own walker (config_health.c).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_priv.h"

enum {
	SV_NAME, SV_POOL, SV_ADDRESSES, SV_SHARING, SV_PORTS, SV_FAMILIES,
	SV_POLICY, SV_TRAFFIC, SV_ENDPOINTS, SV_HEALTH, SV__N
};
static const char *const svc_keys[SV__N] = {
	"name", "pool", "addresses", "sharing-key", "ports", "ip-families",
	"ip-family-policy", "external-traffic-policy", "endpoints",
	"health-check",
};
enum { PT_PORT, PT_PROTOCOL, PT__N };
static const char *const port_keys[PT__N] = { "port", "protocol" };

static int
parse_l4(const char *s, enum cfg_proto_l4 *out)
{
	if (strcasecmp(s, "tcp") == 0)
		*out = CFG_L4_TCP;
	else if (strcasecmp(s, "udp") == 0)
		*out = CFG_L4_UDP;
	else if (strcasecmp(s, "sctp") == 0)
		*out = CFG_L4_SCTP;
	else
		return -1;
	return 0;
}

static void
parse_port(struct lctx *c, const struct ynode *n, struct cfg_port *pt)
{
	const struct ynode *v[PT__N];
	char *proto = NULL;

	pt->proto = CFG_L4_TCP;
	if (n->type == YN_SCALAR && !n->is_null) {
		char num[8];
		const char *slash = strchr(n->str, '/');
		size_t nl = slash != NULL ? (size_t)(slash - n->str) :
		    strlen(n->str);
		uint64_t p;

		if (nl >= sizeof(num))
			nl = sizeof(num) - 1;
		memcpy(num, n->str, nl);
		num[nl] = '\0';
		if (cfg_parse_u64(num, &p) == -1 || p < 1 || p > 65535 ||
		    (slash != NULL && parse_l4(slash + 1, &pt->proto) == -1))
			cfg_err(c, n, "invalid port \"%s\" (expected PORT/tcp, "
			    "PORT/udp or PORT/sctp with PORT 1..65535)",
			    n->str);
		else
			pt->port = (uint16_t)p;
		return;
	}
	if (cfg_map_keys(c, n, port_keys, PT__N, v) == -1)
		return;
	if (v[PT_PORT] == NULL)
		cfg_err(c, n, "missing required key \"port\"");
	cfg_get_port(c, "port", v[PT_PORT], &pt->port);
	if (cfg_get_str(c, "protocol", v[PT_PROTOCOL], &proto) == 0 &&
	    proto != NULL && parse_l4(proto, &pt->proto) == -1) {
		size_t o = cfg_path_key(c, "protocol");

		cfg_err(c, v[PT_PROTOCOL], "unknown protocol \"%s\" (expected "
		    "TCP, UDP or SCTP)", proto);
		cfg_path_pop(c, o);
	}
	free(proto);
}

static void
parse_families(struct lctx *c, const struct ynode *fam,
    const struct ynode *pol, struct cfg_service *s)
{
	char *policy = NULL;
	size_t o;
	int nfam = 0;

	if (fam != NULL) {
		o = cfg_path_key(c, "ip-families");
		if (cfg_want_seq(c, fam) == 0)
			for (size_t i = 0; i < fam->n; i++) {
				size_t o2 = cfg_path_idx(c, i);
				const char *f = cfg_scalar(c, fam->kids[i]);
				unsigned bit = 0;

				if (f != NULL && strcasecmp(f, "IPv4") == 0)
					bit = CFG_FAMILY_IPV4;
				else if (f != NULL && strcasecmp(f, "IPv6") == 0)
					bit = CFG_FAMILY_IPV6;
				else if (f != NULL)
					cfg_err(c, fam->kids[i], "unknown "
					    "family \"%s\" (expected IPv4 or "
					    "IPv6)", f);
				if (bit != 0 && (s->families & bit))
					cfg_err(c, fam->kids[i], "%s is listed "
					    "twice", f);
				else if (bit != 0) {
					s->families |= bit;
					nfam++;
				}
				cfg_path_pop(c, o2);
			}
		cfg_path_pop(c, o);
	}
	if (cfg_get_str(c, "ip-family-policy", pol, &policy) == -1 ||
	    policy == NULL) {
		free(policy);
		return;
	}
	o = cfg_path_key(c, "ip-family-policy");
	if (strcasecmp(policy, "SingleStack") == 0) {
		if (nfam > 1)
			cfg_err(c, pol, "SingleStack allows one of "
			    "ip-families, not both");
	} else if (strcasecmp(policy, "PreferDualStack") == 0)
		s->families = CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6;
	else if (strcasecmp(policy, "RequireDualStack") == 0) {
		s->families = CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6;
		s->dual_stack_required = true;
	} else
		cfg_err(c, pol, "unknown policy \"%s\" (expected SingleStack, "
		    "PreferDualStack or RequireDualStack)", policy);
	cfg_path_pop(c, o);
	free(policy);
}

static bool
pool_contains(const struct cfg_pool *p, const struct addr *a)
{
	for (size_t i = 0; i < p->nranges; i++)
		if (range_contains(&p->ranges[i].range, a))
			return true;
	return false;
}

static void
check_static(struct lctx *c, const struct ynode *n, size_t si, size_t ai)
{
	const struct cfg *cfg = c->cfg;
	const struct cfg_service *s = &cfg->services[si];
	const struct addr *a = &s->addresses[ai];
	char buf[ADDR_STRLEN];
	bool in = false;

	addr_ntop(a, buf, sizeof(buf));
	if (s->pool != NULL) {
		const struct cfg_pool *p = cfg_pool_find(cfg, s->pool);

		if (p != NULL && !pool_contains(p, a))
			cfg_err(c, n, "address %s is not in pool \"%s\"", buf,
			    s->pool);
	} else {
		for (size_t i = 0; i < cfg->npools; i++)
			if (pool_contains(&cfg->pools[i], a))
				in = true;
		if (!in)
			cfg_err(c, n, "address %s is not in any pool", buf);
	}
	for (size_t j = 0; j < ai; j++)
		if (addr_eq(&s->addresses[j], a)) {
			cfg_err(c, n, "address %s is listed twice", buf);
			return;
		}
	/* One report per address: the first service it clashes with. */
	for (size_t i = 0; i < si; i++) {
		const struct cfg_service *o = &cfg->services[i];

		for (size_t j = 0; j < o->naddresses; j++) {
			if (!addr_eq(&o->addresses[j], a))
				continue;
			if (s->sharing_key == NULL || o->sharing_key == NULL ||
			    strcmp(s->sharing_key, o->sharing_key) != 0) {
				cfg_err(c, n, "address %s is also requested by "
				    "service \"%s\" (give both the same "
				    "sharing-key to share it)", buf, o->name);
				return;
			}
			break;
		}
	}
}

static void
walk_service(struct lctx *c, const struct ynode *it, size_t idx)
{
	struct cfg *cfg = c->cfg;
	struct cfg_service *s = &cfg->services[idx];
	const struct ynode *v[SV__N];
	char *tp = NULL;
	size_t o;

	s->loc = cfg_loc_of(it);
	if (cfg_map_keys(c, it, svc_keys, SV__N, v) == -1)
		return;
	if (v[SV_NAME] == NULL)
		cfg_err(c, it, "missing required key \"name\"");
	else if (cfg_get_str(c, "name", v[SV_NAME], &s->name) == 0) {
		/* A cluster may have 100k services: find an earlier one with
		 * the same name by hash, not by comparing with all of them. */
		uint64_t h = hmap_hash(s->name, strlen(s->name));
		void *prev;

		o = cfg_path_key(c, "name");
		if (c->svc_names == NULL)
			c->svc_names = hmap_new(sizeof(h));
		if ((prev = hmap_get(c->svc_names, &h)) == NULL) {
			hmap_put(c->svc_names, &h, (void *)(uintptr_t)(idx + 1));
		} else if (cfg->services[(uintptr_t)prev - 1].name != NULL &&
		    strcmp(cfg->services[(uintptr_t)prev - 1].name, s->name) == 0) {
			size_t j = (uintptr_t)prev - 1;

			cfg_check_dup(c, v[SV_NAME], "service", s->name,
			    cfg->services[j].name, &cfg->services[j].loc);
		} else {
			/* A true 64-bit collision: compare them all. */
			for (size_t j = 0; j < idx; j++)
				cfg_check_dup(c, v[SV_NAME], "service",
				    s->name, cfg->services[j].name,
				    &cfg->services[j].loc);
		}
		cfg_path_pop(c, o);
	}
	cfg_get_str(c, "sharing-key", v[SV_SHARING], &s->sharing_key);
	if (cfg_get_str(c, "pool", v[SV_POOL], &s->pool) == 0 &&
	    s->pool != NULL && cfg_pool_find(cfg, s->pool) == NULL) {
		const char **names = xcalloc(cfg->npools + 1, sizeof(*names));
		const char *near;

		for (size_t i = 0; i < cfg->npools; i++)
			names[i] = cfg->pools[i].name;
		near = cfg_nearest(s->pool, names, cfg->npools);
		o = cfg_path_key(c, "pool");
		if (near != NULL)
			cfg_err(c, v[SV_POOL], "unknown pool \"%s\" (did you "
			    "mean \"%s\"?)", s->pool, near);
		else
			cfg_err(c, v[SV_POOL], "unknown pool \"%s\"", s->pool);
		cfg_path_pop(c, o);
		free(names);
	}
	if (v[SV_ADDRESSES] != NULL) {
		const struct ynode *an = v[SV_ADDRESSES];

		o = cfg_path_key(c, "addresses");
		if (cfg_want_seq(c, an) == 0)
			for (size_t i = 0; i < an->n; i++) {
				size_t o2 = cfg_path_idx(c, i);
				const char *str = cfg_scalar(c, an->kids[i]);
				struct addr a;

				if (str != NULL && addr_parse(str, &a) == -1)
					cfg_err(c, an->kids[i], "invalid IP "
					    "address \"%s\"", str);
				else if (str != NULL) {
					*GROW(s->addresses, s->naddresses) = a;
					check_static(c, an->kids[i], idx,
					    s->naddresses - 1);
				}
				cfg_path_pop(c, o2);
			}
		cfg_path_pop(c, o);
	}
	if (v[SV_PORTS] != NULL) {
		o = cfg_path_key(c, "ports");
		if (cfg_want_seq(c, v[SV_PORTS]) == 0)
			for (size_t i = 0; i < v[SV_PORTS]->n; i++) {
				size_t o2 = cfg_path_idx(c, i);

				parse_port(c, v[SV_PORTS]->kids[i],
				    GROW(s->ports, s->nports));
				cfg_path_pop(c, o2);
			}
		cfg_path_pop(c, o);
	}
	parse_families(c, v[SV_FAMILIES], v[SV_POLICY], s);
	if (cfg_get_str(c, "external-traffic-policy", v[SV_TRAFFIC], &tp)
	    == 0 && tp != NULL) {
		o = cfg_path_key(c, "external-traffic-policy");
		if (strcasecmp(tp, "Cluster") == 0)
			s->traffic_policy = CFG_TRAFFIC_CLUSTER;
		else if (strcasecmp(tp, "Local") == 0)
			s->traffic_policy = CFG_TRAFFIC_LOCAL;
		else
			cfg_err(c, v[SV_TRAFFIC], "unknown policy \"%s\" "
			    "(expected Cluster or Local)", tp);
		cfg_path_pop(c, o);
	}
	free(tp);
	if (v[SV_ENDPOINTS] != NULL) {
		struct cfg_kv *kv = NULL;
		size_t nkv = 0;

		cfg_get_kvmap(c, "endpoints", v[SV_ENDPOINTS], &kv, &nkv);
		o = cfg_path_key(c, "endpoints");
		for (size_t i = 0; i < nkv; i++) {
			uint64_t cnt;
			size_t o2 = cfg_path_key(c, kv[i].key);

			if (cfg_parse_u64(kv[i].value, &cnt) == -1 ||
			    cnt > UINT32_MAX)
				cfg_err(c, cfg_map_get(v[SV_ENDPOINTS],
				    kv[i].key), "expected a count of ready "
				    "endpoints, got \"%s\"", kv[i].value);
			else {
				struct cfg_endpoint *e = GROW(s->endpoints,
				    s->nendpoints);

				e->node = kv[i].key;
				kv[i].key = NULL;
				e->count = (uint32_t)cnt;
			}
			cfg_path_pop(c, o2);
			free(kv[i].key);
			free(kv[i].value);
		}
		free(kv);
		cfg_path_pop(c, o);
	}
	cfg_walk_health(c, v[SV_HEALTH], &s->health);
}

void
cfg_walk_services(struct lctx *c, const struct ynode *n)
{
	struct cfg *cfg = c->cfg;
	size_t old, old2;

	if (n == NULL)
		return;
	old = cfg_path_key(c, "services");
	if (cfg_want_seq(c, n) == -1)
		goto out;
	for (size_t i = 0; i < n->n; i++) {
		GROW(cfg->services, cfg->nservices);
		old2 = cfg_path_idx(c, i);
		walk_service(c, n->kids[i], i);
		if (cfg->services[i].name == NULL)
			cfg->services[i].name = xstrdup("");
		cfg_path_pop(c, old2);
	}
out:
	cfg_path_pop(c, old);
}
