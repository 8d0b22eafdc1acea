/*
 * alloc.h - the address allocator: pools -> service addresses.
 *
 * Pure and deterministic: the same config, the same sequence of calls and
 * the same previous assignments give the same addresses on every node.  No
 * memory is proportional to a pool's size: a pool is a list of ranges and the
 * addresses in use are kept as sorted runs, so a /64 costs the same as a /24,
 * and counts are exact 128-bit integers.
 *
 * Typical use (embedded mode, alloc_assign_all does exactly this):
 *   a = alloc_new(cfg);
 *   for each service with a previous assignment: alloc_claim()  (kept if valid)
 *   for each service still without one, in config order: alloc_assign()
 * Kubernetes mode (later) calls claim/assign/release as Services come and go.
 */
#ifndef BGPLB_ALLOC_H
#define BGPLB_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include "bgplb/addr.h"
#include "bgplb/config.h"

enum alloc_err {
	ALLOC_OK = 0,
	ALLOC_ERR_UNKNOWN_POOL,		/* unknown pool "poc" */
	ALLOC_ERR_POOL_EXHAUSTED,	/* pool "poc" has no free addresses */
	ALLOC_ERR_NO_POOL,		/* no auto-assign pool has a free IPv6 address */
	ALLOC_ERR_OUTSIDE_POOLS,	/* 10.9.9.9 is not in any pool */
	ALLOC_ERR_OUTSIDE_POOL,		/* 10.9.9.9 is not in pool "poc" */
	ALLOC_ERR_IN_USE,		/* 172.16.13.254 is already used by "a/b" (sharing key differs / backends differ / ports overlap) */
	ALLOC_ERR_FAMILY,		/* pool "poc" has no IPv6 addresses (dual-stack requested);
					   static fd00::1 is IPv6, the service is single-stack IPv4 */
	ALLOC_ERR_INVALID,		/* bad request (e.g. two static IPv4 addresses) */
};

/* What a service asks for. */
struct alloc_request {
	const char	*service;		/* unique key, "ns/name" */
	const char	*pool;			/* NULL: any auto-assign pool */
	const struct addr *addresses;		/* static requests (0, 1, or one per family) */
	size_t		 naddresses;
	const char	*sharing_key;		/* NULL: never shares */
	/*
	 * Where the traffic may arrive, for sharing: services that share an
	 * address need the same backend key too, or the address would be
	 * announced from nodes where one of them has no backend.  NULL: any
	 * node (externalTrafficPolicy Cluster); Kubernetes Local: "Local"
	 * and the selector.  Shown in the reason when sharing is refused.
	 */
	const char	*backend_key;
	const struct cfg_port *ports;
	size_t		 nports;
	unsigned	 families;		/* CFG_FAMILY_* mask; 0 = one address, IPv4 preferred */
	bool		 dual_stack_required;	/* fail unless both families are found */
	/*
	 * alloc_claim only: a previous address of a pool with auto-assign off
	 * is kept even though the request names neither that pool nor the
	 * address (Kubernetes: auto-assign governs new assignments only, as
	 * in MetalLB).  Embedded mode leaves it false.
	 */
	bool		 keep_manual;
};

/* What a service got. */
struct alloc_assignment {
	char		*service;
	char		*pool;
	struct addr	 addrs[2];		/* at most one per family, IPv4 first */
	size_t		 naddrs;
};

struct alloc_pool_stats {
	const char	*name;
	addr_u128	 total;			/* usable addresses (buggy ones excluded) */
	addr_u128	 in_use;		/* distinct addresses assigned */
	size_t		 services;		/* services holding an address of it */
};

struct alloc;

struct alloc *alloc_new(const struct cfg *);
void	alloc_free(struct alloc *);

/*
 * Re-take an address a service held before (state file, Service status).
 * Succeeds only if it is still valid under the current config and request
 * (inside the right pool, not used by a service it can't share with; an
 * address of a pool with auto-assign off only when named, or keep_manual).
 */
enum alloc_err alloc_claim(struct alloc *, const struct alloc_request *,
	    const struct addr *prev, size_t nprev,
	    struct alloc_assignment *out, char *why, size_t whylen);

/* New assignment: static request, or lowest free address of the pool(s). */
enum alloc_err alloc_assign(struct alloc *, const struct alloc_request *,
	    struct alloc_assignment *out, char *why, size_t whylen);

/* Give back whatever the service holds; 0 if it held something, -1 if not. */
int	alloc_release(struct alloc *, const char *service);

/* The service's current assignment, or NULL. */
const struct alloc_assignment *alloc_lookup(const struct alloc *, const char *service);

size_t	alloc_npools(const struct alloc *);
void	alloc_pool_stats(const struct alloc *, size_t i, struct alloc_pool_stats *);
/* Which pool holds the address, or NULL. */
const char *alloc_pool_of(const struct alloc *, const struct addr *);

void	alloc_assignment_clear(struct alloc_assignment *);

/* Build the request for a configured service (embedded mode). */
void	alloc_request_from_cfg(const struct cfg_service *, struct alloc_request *);

/*
 * Embedded mode in one call: claim each service's previous assignment (when
 * `prev` has one and it is still valid), then assign the rest in config
 * order.  results[i] / errs[i] / whys[i] correspond to cfg->services[i].
 * Returns the number of services that failed.
 */
struct alloc_prev {
	char		*service;		/* owned */
	struct addr	 addrs[2];
	size_t		 naddrs;
};
size_t	alloc_assign_all(struct alloc *, const struct cfg *,
	    const struct alloc_prev *prev, size_t nprev,
	    struct alloc_assignment *results, enum alloc_err *errs,
	    char (*whys)[256]);

const char *alloc_err_name(enum alloc_err);

/*
 * State file (embedded mode): JSON {"version":1,"assignments":[{"service":..,
 * "pool":..,"addresses":[..]}]}, written to a temp file, fsynced and renamed
 * so a crash never leaves a torn file.
 */
int	alloc_state_save(const char *path, const struct alloc_assignment *, size_t n,
	    char *err, size_t errlen);
/* Missing file: 0 with *n = 0.  Unreadable or corrupt: -1 with err set. */
int	alloc_state_load(const char *path, struct alloc_prev **out, size_t *n,
	    char *err, size_t errlen);
void	alloc_prev_free(struct alloc_prev *, size_t n);

#endif
