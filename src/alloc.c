/*
 * alloc.c - the address allocator: pools -> service addresses.  This file
 * owns the allocator object and its state: creating and freeing it, the
 * hash tables of services, addresses in use and sharing keys, the one
 * place where the state changes (alloc_commit, alloc_release), and the
 * read-only queries (lookup, pool of an address, pool statistics).
 *
 * The address arithmetic of a pool (spans, the tree of used runs) is in
 * alloc_space.c; deciding which addresses a request gets (checks, sharing
 * rules, assign, claim, assign_all) is in alloc_assign.c; the embedded
 * mode's state file is alloc_state.c.  alloc_priv.h has the structures.
 *
 * Everything is deterministic: no randomness, no pointer-ordered walks, so
 * the same config and the same calls give the same addresses on every node.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/addr.h"
#include "bgplb/alloc.h"
#include "bgplb/config.h"
#include "bgplb/log.h"
#include "bgplb/util.h"

#include "alloc_priv.h"

/* ---- hash table (chained, intrusive) ---- */

static uint64_t
hash_mix(uint64_t x)
{
	/* splitmix64 finalizer: cheap and spreads consecutive addresses. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return hash_mix(h);
}

static uint64_t
hash_addr(const struct addr *a)
{
	return hash_mix((uint64_t)a->v ^ hash_mix((uint64_t)(a->v >> 64) + a->af));
}

static struct hnode *
htab_head(const struct htab *t, uint64_t h)
{
	if (t->nb == 0)
		return NULL;
	return t->b[h & (t->nb - 1)];
}

static void
htab_insert(struct htab *t, struct hnode *n)
{
	if (t->n >= t->nb) {
		size_t nb = t->nb ? t->nb * 2 : 64;
		struct hnode **b = xcalloc(nb, sizeof(*b));

		for (size_t i = 0; i < t->nb; i++) {
			struct hnode *p = t->b[i], *next;

			for (; p != NULL; p = next) {
				next = p->next;
				p->next = b[p->h & (nb - 1)];
				b[p->h & (nb - 1)] = p;
			}
		}
		free(t->b);
		t->b = b;
		t->nb = nb;
	}
	n->next = t->b[n->h & (t->nb - 1)];
	t->b[n->h & (t->nb - 1)] = n;
	t->n++;
}

static void
htab_remove(struct htab *t, struct hnode *n)
{
	struct hnode **pp = &t->b[n->h & (t->nb - 1)];

	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			t->n--;
			return;
		}
	}
	fatalx("alloc: hash node not found");
}

/* Room for `need` elements of `size` in p (capacity *cap), doubling. */
static void *
xgrow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t n;

	if (need <= *cap)
		return p;
	n = *cap ? *cap * 2 : 4;
	while (n < need)
		n *= 2;
	p = xreallocarray(p, n, size);
	*cap = n;
	return p;
}

struct alloc *
alloc_new(const struct cfg *cfg)
{
	struct alloc *a;

	a = xcalloc(1, sizeof(*a));
	if (cfg->npools > 0)
		a->pools = xcalloc(cfg->npools, sizeof(*a->pools));
	a->npools = cfg->npools;
	for (size_t i = 0; i < cfg->npools; i++) {
		const struct cfg_pool *cp = &cfg->pools[i];
		struct pool *p = &a->pools[i];

		p->name = xstrdup(cp->name ? cp->name : "");
		p->auto_assign = cp->auto_assign;
		p->avoid_buggy = cp->avoid_buggy_ips;
		alloc_space_init(&p->sp[0], ADDR_AF_INET, cp->avoid_buggy_ips, cp);
		alloc_space_init(&p->sp[1], ADDR_AF_INET6, cp->avoid_buggy_ips, cp);
	}
	return a;
}

static void
svc_free(struct svc *s)
{
	free(s->as.service);
	free(s->key);
	free(s->backend);
	free(s->ports);
	free(s);
}

void
alloc_free(struct alloc *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->svcs.nb; i++) {
		struct hnode *n, *next;

		for (n = a->svcs.b[i]; n != NULL; n = next) {
			next = n->next;
			svc_free((struct svc *)n);
		}
	}
	for (size_t i = 0; i < a->ents.nb; i++) {
		struct hnode *n, *next;

		for (n = a->ents.b[i]; n != NULL; n = next) {
			next = n->next;
			free(((struct ent *)n)->holders);
			free(n);
		}
	}
	for (size_t i = 0; i < a->kgrps.nb; i++) {
		struct hnode *n, *next;

		for (n = a->kgrps.b[i]; n != NULL; n = next) {
			next = n->next;
			free(((struct kgrp *)n)->key);
			free(((struct kgrp *)n)->ents);
			free(n);
		}
	}
	free(a->svcs.b);
	free(a->ents.b);
	free(a->kgrps.b);
	for (size_t i = 0; i < a->npools; i++) {
		for (int f = 0; f < 2; f++)
			alloc_space_fini(&a->pools[i].sp[f]);
		free(a->pools[i].name);
	}
	free(a->pools);
	free(a);
}

static struct svc *
svc_find(const struct alloc *a, const char *name)
{
	uint64_t h = hash_str(name);

	for (struct hnode *n = htab_head(&a->svcs, h); n != NULL; n = n->next) {
		struct svc *s = (struct svc *)n;

		if (n->h == h && strcmp(s->as.service, name) == 0)
			return s;
	}
	return NULL;
}

struct ent *
alloc_ent_find(const struct alloc *a, const struct addr *ad)
{
	uint64_t h = hash_addr(ad);

	for (struct hnode *n = htab_head(&a->ents, h); n != NULL; n = n->next) {
		struct ent *e = (struct ent *)n;

		if (n->h == h && e->a.af == ad->af && e->a.v == ad->v)
			return e;
	}
	return NULL;
}

struct kgrp *
alloc_kgrp_find(const struct alloc *a, const char *key)
{
	uint64_t h = hash_str(key);

	for (struct hnode *n = htab_head(&a->kgrps, h); n != NULL; n = n->next) {
		struct kgrp *g = (struct kgrp *)n;

		if (n->h == h && strcmp(g->key, key) == 0)
			return g;
	}
	return NULL;
}

static struct kgrp *
kgrp_get(struct alloc *a, const char *key)
{
	struct kgrp *g = alloc_kgrp_find(a, key);
	uint64_t h = hash_str(key);

	if (g != NULL)
		return g;
	g = xcalloc(1, sizeof(*g));
	g->key = xstrdup(key);
	g->hn.h = h;
	htab_insert(&a->kgrps, &g->hn);
	return g;
}

size_t
alloc_npools(const struct alloc *a)
{
	return a->npools;
}

ssize_t
alloc_pool_index(const struct alloc *a, const char *name)
{
	for (size_t i = 0; i < a->npools; i++)
		if (strcmp(a->pools[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/*
 * The pool whose ranges contain the address (config order), or -1.
 * *usable says whether the pool may hand it out (avoid-buggy-ips).
 */
ssize_t
alloc_pool_find_addr(const struct alloc *a, const struct addr *ad, bool *usable)
{
	if (ad->af != ADDR_AF_INET && ad->af != ADDR_AF_INET6)
		return -1;
	for (size_t i = 0; i < a->npools; i++) {
		const struct space *sp = &a->pools[i].sp[fam_idx(ad->af)];

		if (alloc_space_contains(sp, ad->v)) {
			if (usable != NULL)
				*usable = !alloc_space_buggy(sp, ad->v);
			return (ssize_t)i;
		}
	}
	return -1;
}

const char *
alloc_pool_of(const struct alloc *a, const struct addr *ad)
{
	ssize_t i = alloc_pool_find_addr(a, ad, NULL);

	return i < 0 ? NULL : a->pools[i].name;
}

void
alloc_pool_stats(const struct alloc *a, size_t i, struct alloc_pool_stats *st)
{
	const struct pool *p = &a->pools[i];
	addr_u128 t = p->sp[0].total, u = p->sp[1].total;

	memset(st, 0, sizeof(*st));
	st->name = p->name;
	st->total = t > U128_MAX - u ? U128_MAX : t + u;
	st->in_use = p->sp[0].used + p->sp[1].used;
	st->services = p->services;
}

const struct alloc_assignment *
alloc_lookup(const struct alloc *a, const char *service)
{
	const struct svc *s;

	if (service == NULL || (s = svc_find(a, service)) == NULL)
		return NULL;
	return &s->as;
}

void
alloc_assignment_clear(struct alloc_assignment *as)
{
	if (as == NULL)
		return;
	free(as->service);
	free(as->pool);
	memset(as, 0, sizeof(*as));
}

void
alloc_request_from_cfg(const struct cfg_service *cs, struct alloc_request *r)
{
	memset(r, 0, sizeof(*r));
	r->service = cs->name;
	r->pool = cs->pool;
	r->addresses = cs->addresses;
	r->naddresses = cs->naddresses;
	r->sharing_key = cs->sharing_key;
	/* No selector here: Local and Cluster services never share. */
	r->backend_key = cs->traffic_policy == CFG_TRAFFIC_LOCAL ? "Local" :
	    NULL;
	r->ports = cs->ports;
	r->nports = cs->nports;
	r->families = cs->families;
	r->dual_stack_required = cs->dual_stack_required;
}

const char *
alloc_err_name(enum alloc_err e)
{
	switch (e) {
	case ALLOC_OK:			return "ok";
	case ALLOC_ERR_UNKNOWN_POOL:	return "unknown-pool";
	case ALLOC_ERR_POOL_EXHAUSTED:	return "pool-exhausted";
	case ALLOC_ERR_NO_POOL:		return "no-pool";
	case ALLOC_ERR_OUTSIDE_POOLS:	return "outside-pools";
	case ALLOC_ERR_OUTSIDE_POOL:	return "outside-pool";
	case ALLOC_ERR_IN_USE:		return "in-use";
	case ALLOC_ERR_FAMILY:		return "family";
	case ALLOC_ERR_INVALID:		return "invalid";
	}
	return "unknown";
}

/* Take the addresses for the service: the allocator state changes here only. */
struct svc *
alloc_commit(struct alloc *a, const struct alloc_request *r, size_t pi,
    const struct addr *addrs, size_t naddrs)
{
	struct svc *s;

	s = xcalloc(1, sizeof(*s));
	s->as.service = xstrdup(r->service);
	s->as.pool = a->pools[pi].name;
	s->key = xstrdup(r->sharing_key);
	s->backend = xstrdup(r->backend_key);
	if (r->nports > 0) {
		s->ports = xcalloc(r->nports, sizeof(*s->ports));
		memcpy(s->ports, r->ports, r->nports * sizeof(*s->ports));
		s->nports = r->nports;
	}
	s->pool = pi;
	/* IPv4 first, as alloc_assignment promises. */
	for (size_t i = 0; i < naddrs; i++) {
		if (addrs[i].af == ADDR_AF_INET)
			s->as.addrs[s->as.naddrs++] = addrs[i];
	}
	for (size_t i = 0; i < naddrs; i++) {
		if (addrs[i].af == ADDR_AF_INET6)
			s->as.addrs[s->as.naddrs++] = addrs[i];
	}
	for (size_t i = 0; i < s->as.naddrs; i++) {
		const struct addr *ad = &s->as.addrs[i];
		struct ent *e = alloc_ent_find(a, ad);

		if (e == NULL) {
			e = xcalloc(1, sizeof(*e));
			e->a = *ad;
			e->pool = pi;
			e->hn.h = hash_addr(ad);
			htab_insert(&a->ents, &e->hn);
			alloc_space_mark(&a->pools[pi].sp[fam_idx(ad->af)], ad->v);
			if (s->key != NULL) {
				struct kgrp *g = kgrp_get(a, s->key);

				g->ents = xgrow(g->ents, &g->capents,
				    g->nents + 1, sizeof(*g->ents));
				e->grp = g;
				e->grp_idx = g->nents;
				g->ents[g->nents++] = e;
			}
		}
		e->holders = xgrow(e->holders, &e->capholders,
		    e->nholders + 1, sizeof(*e->holders));
		e->holders[e->nholders++] = s;
		s->ents[i] = e;
	}
	a->pools[pi].services++;
	s->hn.h = hash_str(s->as.service);
	htab_insert(&a->svcs, &s->hn);
	return s;
}

int
alloc_release(struct alloc *a, const char *service)
{
	struct svc *s;

	if (service == NULL || (s = svc_find(a, service)) == NULL)
		return -1;
	for (size_t i = 0; i < s->as.naddrs; i++) {
		struct ent *e = s->ents[i];
		size_t j;

		for (j = 0; j < e->nholders && e->holders[j] != s; j++)
			;
		if (j == e->nholders)
			fatalx("alloc: holder of %s missing", service);
		/* Keep holder order: the first holder is named in errors. */
		memmove(&e->holders[j], &e->holders[j + 1],
		    (e->nholders - j - 1) * sizeof(*e->holders));
		if (--e->nholders > 0)
			continue;
		if (e->grp != NULL) {
			struct kgrp *g = e->grp;

			g->ents[e->grp_idx] = g->ents[--g->nents];
			g->ents[e->grp_idx]->grp_idx = e->grp_idx;
		}
		alloc_space_unmark(&a->pools[e->pool].sp[fam_idx(e->a.af)], e->a.v);
		htab_remove(&a->ents, &e->hn);
		free(e->holders);
		free(e);
	}
	a->pools[s->pool].services--;
	htab_remove(&a->svcs, &s->hn);
	svc_free(s);
	return 0;
}
