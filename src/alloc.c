/*
 * alloc.c - the address allocator: pools -> service addresses.
 *
 * Each pool is split into two "spaces", one per address family.  A space is
 * a sorted list of disjoint spans (the pool's ranges, merged) and an AVL tree
 * of used runs.  A run [first, last] means "every usable address between
 * first and last is taken"; two runs are merged as soon as nothing usable
 * lies between them, so buggy .0/.255 addresses and the gaps between ranges
 * never split a run.  That invariant is what makes the lowest free address
 * one tree lookup away: it is either the space's first usable address or
 * the successor of the run that holds it.  Memory is proportional to the
 * number of runs, never to the size of a pool, so a /64 costs what a /24
 * does, and every count is an exact 128-bit integer.
 *
 * Who holds an address is kept apart from the runs, in a hash table of
 * entries (one per address in use, listing its services); services with a
 * sharing key are also indexed by key so that a new one finds the addresses
 * it may join without a walk over the pool.
 *
 * Everything is deterministic: no randomness, no pointer-ordered walks, so
 * the same config and the same calls give the same addresses on every node.
 */

#include <sys/types.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/addr.h"
#include "bgplb/alloc.h"
#include "bgplb/config.h"
#include "bgplb/log.h"

#define U128_MAX	(~(addr_u128)0)

/* ---- hash table (chained, intrusive) ---- */

struct hnode {
	struct hnode	*next;
	uint64_t	 h;
};

struct htab {
	struct hnode	**b;
	size_t		 nb;
	size_t		 n;
};

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
		struct hnode **b = calloc(nb, sizeof(*b));

		if (b == NULL)
			fatalx("alloc: out of memory");
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

/* ---- AVL tree of used runs ---- */

struct run {
	addr_u128	 first;
	addr_u128	 last;
	struct run	*l;
	struct run	*r;
	int		 h;
};

static int
run_h(const struct run *n)
{
	return n ? n->h : 0;
}

static void
run_fix(struct run *n)
{
	int hl = run_h(n->l), hr = run_h(n->r);

	n->h = (hl > hr ? hl : hr) + 1;
}

static struct run *
run_rotr(struct run *n)
{
	struct run *l = n->l;

	n->l = l->r;
	l->r = n;
	run_fix(n);
	run_fix(l);
	return l;
}

static struct run *
run_rotl(struct run *n)
{
	struct run *r = n->r;

	n->r = r->l;
	r->l = n;
	run_fix(n);
	run_fix(r);
	return r;
}

static struct run *
run_balance(struct run *n)
{
	int bf;

	run_fix(n);
	bf = run_h(n->l) - run_h(n->r);
	if (bf > 1) {
		if (run_h(n->l->l) < run_h(n->l->r))
			n->l = run_rotl(n->l);
		return run_rotr(n);
	}
	if (bf < -1) {
		if (run_h(n->r->r) < run_h(n->r->l))
			n->r = run_rotr(n->r);
		return run_rotl(n);
	}
	return n;
}

static struct run *
run_insert(struct run *root, struct run *n)
{
	if (root == NULL) {
		n->l = n->r = NULL;
		n->h = 1;
		return n;
	}
	if (n->first < root->first)
		root->l = run_insert(root->l, n);
	else
		root->r = run_insert(root->r, n);
	return run_balance(root);
}

/* Detach the minimum of a subtree; *min receives it. */
static struct run *
run_pop_min(struct run *root, struct run **min)
{
	if (root->l == NULL) {
		*min = root;
		return root->r;
	}
	root->l = run_pop_min(root->l, min);
	return run_balance(root);
}

/* Unlink the run starting at `first` (it must exist) and free it. */
static struct run *
run_delete(struct run *root, addr_u128 first)
{
	if (root == NULL)
		fatalx("alloc: run not found");
	if (first < root->first)
		root->l = run_delete(root->l, first);
	else if (first > root->first)
		root->r = run_delete(root->r, first);
	else {
		struct run *l = root->l, *r = root->r, *min;

		free(root);
		if (r == NULL)
			return l;
		r = run_pop_min(r, &min);
		min->l = l;
		min->r = r;
		return run_balance(min);
	}
	return run_balance(root);
}

/* The run with the greatest first <= x. */
static struct run *
run_floor(struct run *n, addr_u128 x)
{
	struct run *best = NULL;

	while (n != NULL) {
		if (n->first <= x) {
			best = n;
			n = n->r;
		} else
			n = n->l;
	}
	return best;
}

/* The run with the smallest first > x. */
static struct run *
run_above(struct run *n, addr_u128 x)
{
	struct run *best = NULL;

	while (n != NULL) {
		if (n->first > x) {
			best = n;
			n = n->l;
		} else
			n = n->r;
	}
	return best;
}

static void
run_free_all(struct run *n)
{
	if (n == NULL)
		return;
	run_free_all(n->l);
	run_free_all(n->r);
	free(n);
}

/* ---- spaces: one family of one pool ---- */

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

static bool
space_buggy(const struct space *sp, addr_u128 x)
{
	return sp->skip_buggy && ((x & 0xff) == 0 || (x & 0xff) == 0xff);
}

/* Index of the first span whose last >= x (nspans if none). */
static size_t
space_span_at(const struct space *sp, addr_u128 x)
{
	size_t lo = 0, hi = sp->nspans;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sp->spans[mid].last < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Lowest usable address >= x. */
static bool
space_usable_from(const struct space *sp, addr_u128 x, addr_u128 *out)
{
	size_t i = space_span_at(sp, x);

	for (; i < sp->nspans; i++) {
		addr_u128 y = x > sp->spans[i].first ? x : sp->spans[i].first;

		/* .255 then .0: at most two steps skip a buggy pair. */
		if (space_buggy(sp, y) && (y & 0xff) == 0xff)
			y++;
		if (space_buggy(sp, y) && (y & 0xff) == 0)
			y++;
		if (y <= sp->spans[i].last) {
			*out = y;
			return true;
		}
	}
	return false;
}

/* Highest usable address <= x. */
static bool
space_usable_to(const struct space *sp, addr_u128 x, addr_u128 *out)
{
	size_t i = space_span_at(sp, x);

	if (i == sp->nspans || sp->spans[i].first > x) {
		if (i == 0)
			return false;
		i--;
	}
	for (;; i--) {
		addr_u128 y = x < sp->spans[i].last ? x : sp->spans[i].last;

		if (space_buggy(sp, y) && (y & 0xff) == 0)
			y--;
		if (space_buggy(sp, y) && (y & 0xff) == 0xff)
			y--;
		if (y >= sp->spans[i].first && y <= sp->spans[i].last) {
			*out = y;
			return true;
		}
		if (i == 0)
			return false;
	}
}

static bool
space_succ(const struct space *sp, addr_u128 x, addr_u128 *out)
{
	if (x == U128_MAX)
		return false;
	return space_usable_from(sp, x + 1, out);
}

static bool
space_pred(const struct space *sp, addr_u128 x, addr_u128 *out)
{
	if (x == 0)
		return false;
	return space_usable_to(sp, x - 1, out);
}

static bool
space_contains(const struct space *sp, addr_u128 x)
{
	size_t i = space_span_at(sp, x);

	return i < sp->nspans && sp->spans[i].first <= x;
}

static bool
space_lowest_free(const struct space *sp, addr_u128 *out)
{
	addr_u128 c;
	const struct run *r;

	if (sp->nspans == 0 || !space_usable_from(sp, sp->spans[0].first, &c))
		return false;
	r = run_floor(sp->runs, c);
	if (r != NULL && r->last >= c)
		return space_succ(sp, r->last, out);
	*out = c;
	return true;
}

static struct run *
run_new(addr_u128 first, addr_u128 last)
{
	struct run *r = calloc(1, sizeof(*r));

	if (r == NULL)
		fatalx("alloc: out of memory");
	r->first = first;
	r->last = last;
	return r;
}

/* x is usable and free. */
static void
space_mark(struct space *sp, addr_u128 x)
{
	struct run *p = run_floor(sp->runs, x), *n = run_above(sp->runs, x);
	addr_u128 s;
	bool join_p, join_n;

	join_p = p != NULL && space_succ(sp, p->last, &s) && s == x;
	join_n = n != NULL && space_succ(sp, x, &s) && s == n->first;
	if (join_p && join_n) {
		p->last = n->last;
		sp->runs = run_delete(sp->runs, n->first);
	} else if (join_p)
		p->last = x;
	else if (join_n)
		n->first = x;	/* still above p->first: the order holds */
	else
		sp->runs = run_insert(sp->runs, run_new(x, x));
	sp->used++;
}

/* x is in a run. */
static void
space_unmark(struct space *sp, addr_u128 x)
{
	struct run *r = run_floor(sp->runs, x);
	addr_u128 s, p, last;

	if (r == NULL || r->last < x)
		fatalx("alloc: unmark of a free address");
	if (r->first == x && r->last == x)
		sp->runs = run_delete(sp->runs, x);
	else if (r->first == x) {
		if (!space_succ(sp, x, &s))
			fatalx("alloc: run without successor");
		r->first = s;
	} else if (r->last == x) {
		if (!space_pred(sp, x, &p))
			fatalx("alloc: run without predecessor");
		r->last = p;
	} else {
		if (!space_succ(sp, x, &s) || !space_pred(sp, x, &p))
			fatalx("alloc: broken run");
		last = r->last;
		r->last = p;
		sp->runs = run_insert(sp->runs, run_new(s, last));
	}
	sp->used--;
}

/* How many v in [0, n] have v % 256 == rem. */
static addr_u128
count_rem(addr_u128 n, unsigned rem)
{
	if (n < rem)
		return 0;
	return (n - rem) / 256 + 1;
}

static addr_u128
span_usable(const struct space *sp, const struct span *s)
{
	addr_u128 n;

	if (s->first == 0 && s->last == U128_MAX)
		return U128_MAX;	/* ::/0 saturates, as range_size does */
	n = s->last - s->first + 1;
	if (sp->skip_buggy) {
		for (unsigned rem = 0; rem <= 255; rem += 255) {
			n -= count_rem(s->last, rem);
			if (s->first > 0)
				n += count_rem(s->first - 1, rem);
		}
	}
	return n;
}

static int
span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return 0;
}

static void
space_init(struct space *sp, uint8_t af, bool avoid_buggy,
    const struct cfg_pool *p)
{
	size_t n = 0;

	memset(sp, 0, sizeof(*sp));
	sp->af = af;
	sp->skip_buggy = af == ADDR_AF_INET && avoid_buggy;
	for (size_t i = 0; i < p->nranges; i++)
		if (p->ranges[i].range.first.af == af)
			n++;
	if (n == 0)
		return;
	sp->spans = calloc(n, sizeof(*sp->spans));
	if (sp->spans == NULL)
		fatalx("alloc: out of memory");
	for (size_t i = 0; i < p->nranges; i++) {
		const struct addr_range *r = &p->ranges[i].range;

		if (r->first.af != af || r->last.af != af ||
		    r->first.v > r->last.v)
			continue;
		sp->spans[sp->nspans].first = r->first.v;
		sp->spans[sp->nspans].last = r->last.v;
		sp->nspans++;
	}
	qsort(sp->spans, sp->nspans, sizeof(*sp->spans), span_cmp);
	/* Merge overlapping and adjacent ranges so counts are exact. */
	n = 0;
	for (size_t i = 0; i < sp->nspans; i++) {
		struct span *cur = &sp->spans[i];

		if (n > 0 && (sp->spans[n - 1].last == U128_MAX ||
		    cur->first <= sp->spans[n - 1].last + 1)) {
			if (cur->last > sp->spans[n - 1].last)
				sp->spans[n - 1].last = cur->last;
		} else
			sp->spans[n++] = *cur;
	}
	sp->nspans = n;
	for (size_t i = 0; i < sp->nspans; i++) {
		addr_u128 c = span_usable(sp, &sp->spans[i]);

		sp->total = sp->total > U128_MAX - c ? U128_MAX : sp->total + c;
	}
}

/* ---- the allocator ---- */

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

static int
fam_idx(uint8_t af)
{
	return af == ADDR_AF_INET6 ? 1 : 0;
}

static const char *
fam_name(uint8_t af)
{
	return af == ADDR_AF_INET6 ? "IPv6" : "IPv4";
}

static char *
xstrdup(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		fatalx("alloc: out of memory");
	return d;
}

static void *
xgrow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t n;

	if (need <= *cap)
		return p;
	n = *cap ? *cap * 2 : 4;
	while (n < need)
		n *= 2;
	if ((p = reallocarray(p, n, size)) == NULL)
		fatalx("alloc: out of memory");
	*cap = n;
	return p;
}

struct alloc *
alloc_new(const struct cfg *cfg)
{
	struct alloc *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if (cfg->npools > 0 &&
	    (a->pools = calloc(cfg->npools, sizeof(*a->pools))) == NULL)
		goto fail;
	a->npools = cfg->npools;
	for (size_t i = 0; i < cfg->npools; i++) {
		const struct cfg_pool *cp = &cfg->pools[i];
		struct pool *p = &a->pools[i];

		p->name = xstrdup(cp->name ? cp->name : "");
		p->auto_assign = cp->auto_assign;
		p->avoid_buggy = cp->avoid_buggy_ips;
		space_init(&p->sp[0], ADDR_AF_INET, cp->avoid_buggy_ips, cp);
		space_init(&p->sp[1], ADDR_AF_INET6, cp->avoid_buggy_ips, cp);
	}
	return a;
fail:
	free(a);
	return NULL;
}

static void
svc_free(struct svc *s)
{
	free(s->as.service);
	free(s->key);
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
		for (int f = 0; f < 2; f++) {
			run_free_all(a->pools[i].sp[f].runs);
			free(a->pools[i].sp[f].spans);
		}
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

static struct ent *
ent_find(const struct alloc *a, const struct addr *ad)
{
	uint64_t h = hash_addr(ad);

	for (struct hnode *n = htab_head(&a->ents, h); n != NULL; n = n->next) {
		struct ent *e = (struct ent *)n;

		if (n->h == h && e->a.af == ad->af && e->a.v == ad->v)
			return e;
	}
	return NULL;
}

static struct kgrp *
kgrp_find(const struct alloc *a, const char *key)
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
	struct kgrp *g = kgrp_find(a, key);
	uint64_t h = hash_str(key);

	if (g != NULL)
		return g;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		fatalx("alloc: out of memory");
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

static ssize_t
pool_index(const struct alloc *a, const char *name)
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
static ssize_t
pool_find_addr(const struct alloc *a, const struct addr *ad, bool *usable)
{
	if (ad->af != ADDR_AF_INET && ad->af != ADDR_AF_INET6)
		return -1;
	for (size_t i = 0; i < a->npools; i++) {
		const struct space *sp = &a->pools[i].sp[fam_idx(ad->af)];

		if (space_contains(sp, ad->v)) {
			if (usable != NULL)
				*usable = !space_buggy(sp, ad->v);
			return (ssize_t)i;
		}
	}
	return -1;
}

const char *
alloc_pool_of(const struct alloc *a, const struct addr *ad)
{
	ssize_t i = pool_find_addr(a, ad, NULL);

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

static const char *
l4_name(enum cfg_proto_l4 p)
{
	switch (p) {
	case CFG_L4_TCP:	return "tcp";
	case CFG_L4_UDP:	return "udp";
	case CFG_L4_SCTP:	return "sctp";
	}
	return "?";
}

static enum alloc_err
fail_why(enum alloc_err e, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum alloc_err
fail_why(enum alloc_err e, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return e;
}

/* The first port of `s` that `r` also uses (same number and protocol). */
static const struct cfg_port *
ports_overlap(const struct svc *s, const struct alloc_request *r)
{
	for (size_t i = 0; i < s->nports; i++)
		for (size_t j = 0; j < r->nports; j++)
			if (s->ports[i].port == r->ports[j].port &&
			    s->ports[i].proto == r->ports[j].proto)
				return &s->ports[i];
	return NULL;
}

/*
 * May the request join the holders of e?  When not, why names the first
 * holder it clashes with and the reason, in MetalLB's terms.
 */
static bool
ent_compatible(const struct ent *e, const struct alloc_request *r,
    char *why, size_t whylen)
{
	char buf[ADDR_STRLEN];

	for (size_t i = 0; i < e->nholders; i++) {
		const struct svc *h = e->holders[i];
		const struct cfg_port *p;

		if (h->key == NULL) {
			fail_why(0, why, whylen, "%s is already in use by \"%s\" "
			    "(no sharing key)", addr_ntop(&e->a, buf, sizeof(buf)),
			    h->as.service);
			return false;
		}
		if (r->sharing_key == NULL) {
			fail_why(0, why, whylen, "%s is already in use by \"%s\" "
			    "(this service has no sharing key)",
			    addr_ntop(&e->a, buf, sizeof(buf)), h->as.service);
			return false;
		}
		if (strcmp(h->key, r->sharing_key) != 0) {
			fail_why(0, why, whylen, "%s is already in use by \"%s\" "
			    "(sharing key \"%s\" differs)",
			    addr_ntop(&e->a, buf, sizeof(buf)), h->as.service,
			    h->key);
			return false;
		}
		if ((p = ports_overlap(h, r)) != NULL) {
			fail_why(0, why, whylen, "%s is already in use by \"%s\" "
			    "(ports overlap: %u/%s)",
			    addr_ntop(&e->a, buf, sizeof(buf)), h->as.service,
			    (unsigned)p->port, l4_name(p->proto));
			return false;
		}
	}
	return true;
}

/* Is the address free, or shareable with the request? */
static bool
addr_available(const struct alloc *a, const struct addr *ad,
    const struct alloc_request *r, char *why, size_t whylen)
{
	const struct ent *e = ent_find(a, ad);

	return e == NULL || ent_compatible(e, r, why, whylen);
}

/*
 * The address the request would get from one family of a pool: the lowest
 * address already held under its sharing key that it may join, else the
 * lowest free one.
 */
static bool
pool_pick(const struct alloc *a, size_t pi, uint8_t af,
    const struct alloc_request *r, struct addr *out)
{
	const struct space *sp = &a->pools[pi].sp[fam_idx(af)];
	struct kgrp *g;
	bool found = false;

	if (r->sharing_key != NULL &&
	    (g = kgrp_find(a, r->sharing_key)) != NULL) {
		for (size_t i = 0; i < g->nents; i++) {
			const struct ent *e = g->ents[i];

			if (e->pool != pi || e->a.af != af)
				continue;
			if (found && e->a.v >= out->v)
				continue;
			if (ent_compatible(e, r, NULL, 0)) {
				*out = e->a;
				found = true;
			}
		}
		if (found)
			return true;
	}
	memset(out, 0, sizeof(*out));
	out->af = af;
	return space_lowest_free(sp, &out->v);
}

static bool
pool_has_family(const struct alloc *a, size_t pi, uint8_t af)
{
	return a->pools[pi].sp[fam_idx(af)].total > 0;
}

/* Take the addresses for the service: the allocator state changes here only. */
static struct svc *
commit(struct alloc *a, const struct alloc_request *r, size_t pi,
    const struct addr *addrs, size_t naddrs)
{
	struct svc *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatalx("alloc: out of memory");
	s->as.service = xstrdup(r->service);
	s->as.pool = a->pools[pi].name;
	s->key = xstrdup(r->sharing_key);
	if (r->nports > 0) {
		if ((s->ports = calloc(r->nports, sizeof(*s->ports))) == NULL)
			fatalx("alloc: out of memory");
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
		struct ent *e = ent_find(a, ad);

		if (e == NULL) {
			if ((e = calloc(1, sizeof(*e))) == NULL)
				fatalx("alloc: out of memory");
			e->a = *ad;
			e->pool = pi;
			e->hn.h = hash_addr(ad);
			htab_insert(&a->ents, &e->hn);
			space_mark(&a->pools[pi].sp[fam_idx(ad->af)], ad->v);
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
		space_unmark(&a->pools[e->pool].sp[fam_idx(e->a.af)], e->a.v);
		htab_remove(&a->ents, &e->hn);
		free(e->holders);
		free(e);
	}
	a->pools[s->pool].services--;
	htab_remove(&a->svcs, &s->hn);
	svc_free(s);
	return 0;
}

static void
copy_out(const struct svc *s, struct alloc_assignment *out)
{
	if (out == NULL)
		return;
	*out = s->as;
	out->service = xstrdup(s->as.service);
	out->pool = xstrdup(s->as.pool);
}

/* Families wanted by a dynamic request, as a CFG_FAMILY_* mask (0: one, v4 first). */
static unsigned
req_families(const struct alloc_request *r)
{
	return r->families & (CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6);
}

static enum alloc_err
check_request(const struct alloc *a, const struct alloc_request *r,
    ssize_t *pi, char *why, size_t whylen)
{
	char b1[ADDR_STRLEN], b2[ADDR_STRLEN];

	*pi = -1;
	if (r->service == NULL || r->service[0] == '\0')
		return fail_why(ALLOC_ERR_INVALID, why, whylen,
		    "request without a service name");
	if (r->naddresses > 2)
		return fail_why(ALLOC_ERR_INVALID, why, whylen,
		    "at most one static address per family may be requested");
	for (size_t i = 0; i < r->naddresses; i++) {
		uint8_t af = r->addresses[i].af;

		if (af != ADDR_AF_INET && af != ADDR_AF_INET6)
			return fail_why(ALLOC_ERR_INVALID, why, whylen,
			    "static address %zu has no family", i + 1);
	}
	if (r->naddresses == 2 &&
	    r->addresses[0].af == r->addresses[1].af)
		return fail_why(ALLOC_ERR_INVALID, why, whylen,
		    "two static %s addresses (%s, %s): at most one per family",
		    fam_name(r->addresses[0].af),
		    addr_ntop(&r->addresses[0], b1, sizeof(b1)),
		    addr_ntop(&r->addresses[1], b2, sizeof(b2)));
	if (r->pool != NULL && (*pi = pool_index(a, r->pool)) < 0)
		return fail_why(ALLOC_ERR_UNKNOWN_POOL, why, whylen,
		    "unknown pool \"%s\"", r->pool);
	return ALLOC_OK;
}

/*
 * Validate a set of concrete addresses for the request (static request or
 * previous assignment): all usable in one pool (the named one when named),
 * and free or shareable.  *pi is in/out: -1 means "any pool".
 */
static enum alloc_err
check_addrs(const struct alloc *a, const struct alloc_request *r,
    const struct addr *addrs, size_t n, bool need_auto, ssize_t *pi,
    char *why, size_t whylen)
{
	char buf[ADDR_STRLEN];
	ssize_t named = *pi;

	for (size_t i = 0; i < n; i++) {
		const struct addr *ad = &addrs[i];
		bool usable = true;
		ssize_t p = pool_find_addr(a, ad, &usable);

		addr_ntop(ad, buf, sizeof(buf));
		if (named >= 0) {
			if (p != named)
				return fail_why(ALLOC_ERR_OUTSIDE_POOL, why, whylen,
				    "%s is not in pool \"%s\"", buf,
				    a->pools[named].name);
		} else if (p < 0)
			return fail_why(ALLOC_ERR_OUTSIDE_POOLS, why, whylen,
			    "%s is not in any pool", buf);
		if (!usable)
			return fail_why(ALLOC_ERR_OUTSIDE_POOL, why, whylen,
			    "%s is not usable in pool \"%s\" (avoid-buggy-ips "
			    "skips .0 and .255)", buf, a->pools[p].name);
		if (need_auto && !a->pools[p].auto_assign)
			return fail_why(ALLOC_ERR_OUTSIDE_POOL, why, whylen,
			    "%s is in pool \"%s\", which has auto-assign off "
			    "and is not requested", buf, a->pools[p].name);
		if (*pi >= 0 && p != *pi)
			return fail_why(ALLOC_ERR_INVALID, why, whylen,
			    "%s is in pool \"%s\" but the other address is in "
			    "pool \"%s\"", buf, a->pools[p].name,
			    a->pools[*pi].name);
		*pi = p;
		if (!addr_available(a, ad, r, why, whylen))
			return ALLOC_ERR_IN_USE;
	}
	return ALLOC_OK;
}

/* A dynamic request against one named pool. */
static enum alloc_err
assign_named(const struct alloc *a, const struct alloc_request *r, size_t pi,
    struct addr *got, size_t *ngot, char *why, size_t whylen)
{
	const char *name = a->pools[pi].name;
	unsigned fam = req_families(r);
	static const uint8_t afs[2] = { ADDR_AF_INET, ADDR_AF_INET6 };

	*ngot = 0;
	if (fam == 0) {
		for (int f = 0; f < 2; f++)
			if (pool_pick(a, pi, afs[f], r, &got[0])) {
				*ngot = 1;
				return ALLOC_OK;
			}
		return fail_why(ALLOC_ERR_POOL_EXHAUSTED, why, whylen,
		    "pool \"%s\" has no free addresses", name);
	}
	for (int f = 0; f < 2; f++) {
		const char *fn = fam_name(afs[f]);
		bool dual = fam == (CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6);

		if (!(fam & (f == 0 ? CFG_FAMILY_IPV4 : CFG_FAMILY_IPV6)))
			continue;
		if (!pool_has_family(a, pi, afs[f])) {
			if (dual && !r->dual_stack_required)
				continue;
			return fail_why(ALLOC_ERR_FAMILY, why, whylen,
			    "pool \"%s\" has no %s addresses%s", name, fn,
			    dual ? " (dual-stack required)" : "");
		}
		if (pool_pick(a, pi, afs[f], r, &got[*ngot])) {
			(*ngot)++;
			continue;
		}
		if (dual && !r->dual_stack_required)
			continue;
		return fail_why(ALLOC_ERR_POOL_EXHAUSTED, why, whylen,
		    "pool \"%s\" has no free %s addresses%s", name, fn,
		    dual ? " (dual-stack required)" : "");
	}
	if (*ngot == 0)
		return fail_why(ALLOC_ERR_POOL_EXHAUSTED, why, whylen,
		    "pool \"%s\" has no free addresses", name);
	return ALLOC_OK;
}

/* A dynamic request without a pool: the first auto-assign pool that fits. */
static enum alloc_err
assign_auto(const struct alloc *a, const struct alloc_request *r,
    size_t *pi_out, struct addr *got, size_t *ngot, char *why, size_t whylen)
{
	unsigned fam = req_families(r);
	struct addr v4, v6;

	*ngot = 0;
	if (fam == 0 || fam == CFG_FAMILY_IPV4 || fam == CFG_FAMILY_IPV6) {
		/* Single stack; with no family given, any IPv4 pool beats IPv6. */
		for (int f = 0; f < 2; f++) {
			uint8_t af = f == 0 ? ADDR_AF_INET : ADDR_AF_INET6;

			if (fam == CFG_FAMILY_IPV4 && af != ADDR_AF_INET)
				continue;
			if (fam == CFG_FAMILY_IPV6 && af != ADDR_AF_INET6)
				continue;
			for (size_t i = 0; i < a->npools; i++) {
				if (!a->pools[i].auto_assign)
					continue;
				if (pool_pick(a, i, af, r, &got[0])) {
					*pi_out = i;
					*ngot = 1;
					return ALLOC_OK;
				}
			}
		}
		if (fam == 0)
			return fail_why(ALLOC_ERR_NO_POOL, why, whylen,
			    "no auto-assign pool has a free address");
		return fail_why(ALLOC_ERR_NO_POOL, why, whylen,
		    "no auto-assign pool has a free %s address",
		    fam == CFG_FAMILY_IPV4 ? "IPv4" : "IPv6");
	}
	/* Dual stack: both addresses come from one pool. */
	for (size_t i = 0; i < a->npools; i++) {
		if (!a->pools[i].auto_assign)
			continue;
		if (pool_pick(a, i, ADDR_AF_INET, r, &v4) &&
		    pool_pick(a, i, ADDR_AF_INET6, r, &v6)) {
			got[0] = v4;
			got[1] = v6;
			*ngot = 2;
			*pi_out = i;
			return ALLOC_OK;
		}
	}
	for (size_t i = 0; i < a->npools; i++) {
		if (!a->pools[i].auto_assign)
			continue;
		if (!pool_pick(a, i, ADDR_AF_INET, r, &v4) &&
		    !pool_pick(a, i, ADDR_AF_INET6, r, &v6))
			continue;
		if (r->dual_stack_required)
			return fail_why(ALLOC_ERR_FAMILY, why, whylen,
			    "dual-stack required but no auto-assign pool has "
			    "both a free IPv4 and a free IPv6 address");
		/* PreferDualStack: the first pool with either family. */
		*pi_out = i;
		return assign_named(a, r, i, got, ngot, why, whylen);
	}
	return fail_why(ALLOC_ERR_NO_POOL, why, whylen,
	    "no auto-assign pool has a free address");
}

enum alloc_err
alloc_assign(struct alloc *a, const struct alloc_request *r,
    struct alloc_assignment *out, char *why, size_t whylen)
{
	struct addr got[2];
	size_t ngot = 0;
	ssize_t pi;
	size_t autopi = 0;
	enum alloc_err e;
	struct svc *s;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if ((e = check_request(a, r, &pi, why, whylen)) != ALLOC_OK)
		return e;
	/* A service holds one assignment: asking again replaces it. */
	alloc_release(a, r->service);
	if (r->naddresses > 0) {
		e = check_addrs(a, r, r->addresses, r->naddresses, false, &pi,
		    why, whylen);
		if (e != ALLOC_OK)
			return e;
		memcpy(got, r->addresses, r->naddresses * sizeof(got[0]));
		ngot = r->naddresses;
	} else if (pi >= 0) {
		e = assign_named(a, r, (size_t)pi, got, &ngot, why, whylen);
		if (e != ALLOC_OK)
			return e;
	} else {
		e = assign_auto(a, r, &autopi, got, &ngot, why, whylen);
		if (e != ALLOC_OK)
			return e;
		pi = (ssize_t)autopi;
	}
	s = commit(a, r, (size_t)pi, got, ngot);
	copy_out(s, out);
	return ALLOC_OK;
}

enum alloc_err
alloc_claim(struct alloc *a, const struct alloc_request *r,
    const struct addr *prev, size_t nprev,
    struct alloc_assignment *out, char *why, size_t whylen)
{
	struct addr keep[2], extra;
	size_t nkeep = 0;
	unsigned fam = req_families(r);
	char b1[ADDR_STRLEN], b2[ADDR_STRLEN];
	ssize_t pi;
	enum alloc_err e;
	struct svc *s;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if ((e = check_request(a, r, &pi, why, whylen)) != ALLOC_OK)
		return e;
	if (nprev == 0 || nprev > 2 || (nprev == 2 && prev[0].af == prev[1].af))
		return fail_why(ALLOC_ERR_INVALID, why, whylen,
		    "previous assignment has %zu addresses", nprev);
	alloc_release(a, r->service);

	if (r->naddresses > 0) {
		/* A static request keeps exactly what it asks for. */
		for (size_t i = 0; i < r->naddresses; i++) {
			size_t j;

			for (j = 0; j < nprev; j++)
				if (addr_eq(&prev[j], &r->addresses[i]))
					break;
			if (j == nprev)
				return fail_why(ALLOC_ERR_INVALID, why, whylen,
				    "static address %s differs from the "
				    "previous assignment",
				    addr_ntop(&r->addresses[i], b1, sizeof(b1)));
			keep[nkeep++] = prev[j];
		}
	} else {
		/* Keep the previous addresses of the families still wanted. */
		for (size_t i = 0; i < nprev; i++) {
			uint8_t af = prev[i].af;

			if (fam == 0 && nkeep == 1)
				break;
			if (fam != 0 && !(fam & (af == ADDR_AF_INET ?
			    CFG_FAMILY_IPV4 : CFG_FAMILY_IPV6)))
				continue;
			keep[nkeep++] = prev[i];
		}
		if (fam == 0 && nprev == 2 && prev[1].af == ADDR_AF_INET)
			keep[0] = prev[1];	/* IPv4 preferred */
		if (nkeep == 0)
			return fail_why(ALLOC_ERR_FAMILY, why, whylen,
			    "previous address %s is not of the requested family",
			    addr_ntop(&prev[0], b1, sizeof(b1)));
	}
	e = check_addrs(a, r, keep, nkeep, r->naddresses == 0 && r->pool == NULL,
	    &pi, why, whylen);
	if (e != ALLOC_OK)
		return e;
	if (fam == (CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6) && nkeep == 1 &&
	    r->naddresses == 0) {
		/* Dual stack wanted, one family held: complete it in place. */
		uint8_t other = keep[0].af == ADDR_AF_INET ? ADDR_AF_INET6 :
		    ADDR_AF_INET;

		if (pool_pick(a, (size_t)pi, other, r, &extra))
			keep[nkeep++] = extra;
		else if (r->dual_stack_required)
			return fail_why(ALLOC_ERR_FAMILY, why, whylen,
			    "previous address %s has no %s companion in pool "
			    "\"%s\" (dual-stack required)",
			    addr_ntop(&keep[0], b2, sizeof(b2)), fam_name(other),
			    a->pools[pi].name);
	}
	s = commit(a, r, (size_t)pi, keep, nkeep);
	copy_out(s, out);
	return ALLOC_OK;
}

static int
name_idx_cmp(const void *x, const void *y, void *arg)
{
	const struct cfg *cfg = arg;
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	int c = strcmp(cfg->services[i].name, cfg->services[j].name);

	if (c != 0)
		return c;
	return i < j ? -1 : i > j;
}

static int
prev_ptr_cmp(const void *x, const void *y)
{
	const struct alloc_prev *a = *(const struct alloc_prev *const *)x;
	const struct alloc_prev *b = *(const struct alloc_prev *const *)y;
	int c = strcmp(a->service, b->service);

	/* Same array, so position breaks ties: the first listed sorts first. */
	if (c != 0)
		return c;
	return a < b ? -1 : a > b;
}

/* bsearch over prev sorted by name; the first listed wins on duplicates. */
static const struct alloc_prev *
prev_find(const struct alloc_prev *const *sorted, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(sorted[mid]->service, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && strcmp(sorted[lo]->service, name) == 0)
		return sorted[lo];
	return NULL;
}

size_t
alloc_assign_all(struct alloc *a, const struct cfg *cfg,
    const struct alloc_prev *prev, size_t nprev,
    struct alloc_assignment *results, enum alloc_err *errs,
    char (*whys)[256])
{
	size_t n = cfg->nservices, failed = 0;
	size_t *order = NULL, nsorted = 0;
	bool *dup = NULL, *done = NULL;
	const struct alloc_prev **sorted = NULL;
	char why[256], b[ADDR_STRLEN];

	for (size_t i = 0; i < n; i++) {
		memset(&results[i], 0, sizeof(results[i]));
		errs[i] = ALLOC_OK;
		whys[i][0] = '\0';
	}
	if (n == 0)
		return 0;
	order = calloc(n, sizeof(*order));
	dup = calloc(n, sizeof(*dup));
	done = calloc(n, sizeof(*done));
	if (nprev > 0 && (sorted = calloc(nprev, sizeof(*sorted))) == NULL)
		fatalx("alloc: out of memory");
	if (order == NULL || dup == NULL || done == NULL)
		fatalx("alloc: out of memory");
	for (size_t i = 0; i < nprev; i++)
		if (prev[i].service != NULL)
			sorted[nsorted++] = &prev[i];
	if (nsorted > 1)	/* qsort(NULL, 0, ...) is undefined */
		qsort(sorted, nsorted, sizeof(*sorted), prev_ptr_cmp);

	/* Duplicate names would steal each other's addresses: the later one fails. */
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), name_idx_cmp, (void *)(uintptr_t)cfg);
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];

		if (cfg->services[i].name == NULL) {
			dup[i] = true;
			errs[i] = ALLOC_ERR_INVALID;
			snprintf(whys[i], sizeof(whys[i]), "service without a name");
		} else if (k > 0 && cfg->services[order[k - 1]].name != NULL &&
		    strcmp(cfg->services[order[k - 1]].name,
		    cfg->services[i].name) == 0) {
			dup[i] = true;
			errs[i] = ALLOC_ERR_INVALID;
			snprintf(whys[i], sizeof(whys[i]),
			    "duplicate service name \"%s\"", cfg->services[i].name);
		}
	}

	/* 1: keep what each service held before, when it still may. */
	for (size_t i = 0; i < n; i++) {
		const struct alloc_prev *p;
		struct alloc_request r;

		if (dup[i] || (p = prev_find(sorted, nsorted, cfg->services[i].name)) == NULL)
			continue;
		alloc_request_from_cfg(&cfg->services[i], &r);
		if (alloc_claim(a, &r, p->addrs, p->naddrs, &results[i], why,
		    sizeof(why)) == ALLOC_OK)
			done[i] = true;
		else if (p->naddrs > 0)
			snprintf(whys[i], sizeof(whys[i]),
			    "previous address %s dropped: %.180s",
			    addr_ntop(&p->addrs[0], b, sizeof(b)), why);
		else
			snprintf(whys[i], sizeof(whys[i]),
			    "previous assignment dropped: %.200s", why);
	}
	/* 2: static requests, then 3: the rest, each in config order. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			struct alloc_request r;
			enum alloc_err e;

			if (dup[i] || done[i])
				continue;
			if ((cfg->services[i].naddresses > 0) != (pass == 0))
				continue;
			alloc_request_from_cfg(&cfg->services[i], &r);
			e = alloc_assign(a, &r, &results[i], why, sizeof(why));
			done[i] = true;
			errs[i] = e;
			if (e != ALLOC_OK)
				snprintf(whys[i], sizeof(whys[i]), "%s", why);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (errs[i] != ALLOC_OK)
			failed++;
	free(order);
	free(dup);
	free(done);
	free(sorted);
	return failed;
}
