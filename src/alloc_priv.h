/*
 * alloc_priv.h - private to the allocator (alloc.c, alloc_space.c,
 * alloc_assign.c): its data structures and the functions the three files
 * share.  The public API is bgplb/alloc.h.
 *
 * A pool is two spaces, one per address family (alloc_space.c: spans and
 * a tree of used runs).  Who holds an address is kept apart from the runs,
 * in a hash table of entries (one per address in use, listing its
 * services); services with a sharing key are also indexed by key so that a
 * new one finds the addresses it may join without a walk over the pool.
 */
#ifndef BGPLB_ALLOC_PRIV_H
#define BGPLB_ALLOC_PRIV_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bgplb/addr.h"
#include "bgplb/alloc.h"
#include "bgplb/config.h"

#define U128_MAX	(~(addr_u128)0)

/* A chained, intrusive hash table (alloc.c). */
struct hnode {
	struct hnode	*next;
	uint64_t	 h;
};

struct htab {
	struct hnode	**b;
	size_t		 nb;
	size_t		 n;
};

/* ---- spaces: one family of one pool (alloc_space.c) ---- */

struct run;

struct span {
	addr_u128	 first;
	addr_u128	 last;
};

struct space {
	uint8_t		 af;
	bool		 skip_buggy;	/* IPv4 with avoid-buggy-ips */
	struct span	*spans;		/* sorted, disjoint, non-adjacent */
	size_t		 nspans;
	addr_u128	 total;		/* usable addresses */
	addr_u128	 used;		/* usable addresses taken */
	struct run	*runs;
};

void	alloc_space_init(struct space *, uint8_t af, bool avoid_buggy,
	    const struct cfg_pool *);
void	alloc_space_fini(struct space *);
bool	alloc_space_buggy(const struct space *, addr_u128);
bool	alloc_space_contains(const struct space *, addr_u128);
/* The lowest usable address not in a run. */
bool	alloc_space_lowest_free(const struct space *, addr_u128 *out);
/* x is usable and free: take it. */
void	alloc_space_mark(struct space *, addr_u128 x);
/* x is in a run: give it back. */
void	alloc_space_unmark(struct space *, addr_u128 x);

/* ---- the allocator (alloc.c) ---- */

struct pool {
	char		*name;
	bool		 auto_assign;
	bool		 avoid_buggy;
	struct space	 sp[2];		/* [0] IPv4, [1] IPv6 */
	size_t		 services;
};

struct svc;

/* One address in use and the services holding it (all with the same key). */
struct ent {
	struct hnode	 hn;
	struct addr	 a;
	size_t		 pool;
	struct kgrp	*grp;		/* NULL: holder has no sharing key */
	size_t		 grp_idx;
	struct svc	**holders;
	size_t		 nholders;
	size_t		 capholders;
};

/* The addresses held under one sharing key. */
struct kgrp {
	struct hnode	 hn;
	char		*key;
	struct ent	**ents;
	size_t		 nents;
	size_t		 capents;
};

struct svc {
	struct hnode	 hn;
	struct alloc_assignment as;	/* as.service owned, as.pool borrowed */
	char		*key;
	char		*backend;	/* NULL: any node */
	struct cfg_port	*ports;
	size_t		 nports;
	size_t		 pool;
	struct ent	*ents[2];
};

struct alloc {
	struct pool	*pools;
	size_t		 npools;
	struct htab	 svcs;
	struct htab	 ents;
	struct htab	 kgrps;
};

static inline int
fam_idx(uint8_t af)
{
	return af == ADDR_AF_INET6 ? 1 : 0;
}

/* Lookups and the one place the state changes (alloc_commit). */
struct ent *alloc_ent_find(const struct alloc *, const struct addr *);
struct kgrp *alloc_kgrp_find(const struct alloc *, const char *key);
ssize_t	alloc_pool_index(const struct alloc *, const char *name);
ssize_t	alloc_pool_find_addr(const struct alloc *, const struct addr *,
	    bool *usable);
struct svc *alloc_commit(struct alloc *, const struct alloc_request *,
	    size_t pi, const struct addr *, size_t naddrs);

#endif
