/*
 * plan.h - the planner: what THIS node announces, to whom, with what.
 *
 * plan_build() is a pure function of (config, services with their addresses,
 * this node, the live nodes).  Its output is a sorted list of routes, each
 * owning copies of everything it names, so a plan stays valid after the
 * config it was built from is freed.  plan_diff() compares two plans and
 * tells the backends only what changed: the core never re-sends a route that
 * did not change, and never withdraws one that is still wanted.
 */
#ifndef BGPLB_PLAN_H
#define BGPLB_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bgplb/addr.h"
#include "bgplb/config.h"

/* A node the planner may pick (layer 2 owner) or must check selectors for. */
struct plan_node {
	const char	*name;
	const struct cfg_kv *labels;
	size_t		 nlabels;
};

/* A service with the addresses the allocator (or Service status) gave it. */
struct plan_service {
	const char	*name;
	const char	*pool;
	const struct addr *addrs;
	size_t		 naddrs;
	enum cfg_traffic_policy policy;
	const struct cfg_endpoint *endpoints;	/* ready endpoints per node */
	size_t		 nendpoints;
	bool		 no_endpoints;		/* none can serve anywhere (Kubernetes):
						 * announced nowhere, BGP nor layer 2 */
	/* Nodes that may not serve it now (failing health check), this one
	 * included: no BGP route from them, never its layer 2 owner. */
	const char *const *down;
	size_t		 ndown;
};

struct plan_input {
	const struct cfg *cfg;
	const char	*node;			/* this node's name */
	const struct plan_node *nodes;		/* live nodes, this one included */
	size_t		 nnodes;
	const struct plan_service *services;
	size_t		 nservices;
};

/* One announcement.  Everything is owned by the plan. */
struct plan_route {
	enum cfg_proto	 backend;		/* bgp or layer2 */
	struct prefix	 prefix;		/* after aggregation (bgp); /32 or /128 (layer2) */
	char		*pool;
	char		*vrf;			/* NULL: default VRF */
	char		**services;		/* sorted, at least one */
	size_t		 nservices;
	/* bgp */
	bool		 has_local_pref;
	uint32_t	 local_pref;
	uint32_t	*communities;		/* sorted, unique */
	size_t		 ncommunities;
	struct cfg_large_community *large_communities;	/* sorted, unique */
	size_t		 nlarge_communities;
	char		**peers;		/* sorted names of the peers it goes to */
	size_t		 npeers;
	bool		 weighted;		/* pool has weighted-ecmp */
	uint32_t	 endpoints;		/* ready endpoints on this node, summed
						 * over the route's services */
	/* layer2 */
	char		*owner;			/* node that answers ARP/NDP; NULL if none eligible */
	bool		 local;			/* owner is this node */
	char		**interfaces;		/* empty: layer2 default */
	size_t		 ninterfaces;
};

struct plan {
	struct plan_route *routes;		/* sorted by plan_route_cmp */
	size_t		 nroutes;
};

struct plan *plan_build(const struct plan_input *);
void	plan_free(struct plan *);

/* Identity order: backend, vrf, prefix (family, address, length). */
int	plan_route_cmp(const struct plan_route *, const struct plan_route *);
/* Same identity and same attributes, peers, owner. */
bool	plan_route_equal(const struct plan_route *, const struct plan_route *);

/* Layer 2 ownership: among `nodes`, the first by hash(node name, address). */
const char *plan_l2_owner(const struct addr *, const struct plan_node *nodes,
	    size_t nnodes);

/*
 * Walk two plans: `withdraw` for each route of `old` that is gone or changed
 * identity, `announce` for each route of `new` that is new or whose
 * attributes changed (an attribute change is an implicit replace: announce
 * only).  Either plan may be NULL (empty).
 */
struct plan_diff_ops {
	void	(*announce)(void *arg, const struct plan_route *);
	void	(*withdraw)(void *arg, const struct plan_route *);
};
void	plan_diff(const struct plan *old, const struct plan *new,
	    const struct plan_diff_ops *, void *arg);

#endif
