/*
 * alloc_space.c - the allocator's address arithmetic: one family of one
 * pool as a "space".
 *
 * A space is a sorted list of disjoint spans (the pool's ranges, merged)
 * and an AVL tree of used runs.  A run [first, last] means "every usable
 * address between first and last is taken"; two runs are merged as soon as
 * nothing usable lies between them, so buggy .0/.255 addresses and the
 * gaps between ranges never split a run.  That invariant is what makes the
 * lowest free address one tree lookup away: it is either the space's first
 * usable address or the successor of the run that holds it.  Memory is
 * proportional to the number of runs, never to the size of a pool, so a
 * /64 costs what a /24 does, and every count is an exact 128-bit integer.
 *
 * This file owns the run tree and the spans; it knows nothing of services,
 * sharing keys or pools beyond their ranges (alloc.c, alloc_assign.c).
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/addr.h"
#include "bgplb/config.h"
#include "bgplb/log.h"
#include "bgplb/util.h"

#include "alloc_priv.h"

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

/* .0 and .255 are skipped in an IPv4 space with avoid-buggy-ips. */
bool
alloc_space_buggy(const struct space *sp, addr_u128 x)
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
		if (alloc_space_buggy(sp, y) && (y & 0xff) == 0xff)
			y++;
		if (alloc_space_buggy(sp, y) && (y & 0xff) == 0)
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

		if (alloc_space_buggy(sp, y) && (y & 0xff) == 0)
			y--;
		if (alloc_space_buggy(sp, y) && (y & 0xff) == 0xff)
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

bool
alloc_space_contains(const struct space *sp, addr_u128 x)
{
	size_t i = space_span_at(sp, x);

	return i < sp->nspans && sp->spans[i].first <= x;
}

bool
alloc_space_lowest_free(const struct space *sp, addr_u128 *out)
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
	struct run *r = xcalloc(1, sizeof(*r));

	r->first = first;
	r->last = last;
	return r;
}

/* x is usable and free. */
void
alloc_space_mark(struct space *sp, addr_u128 x)
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
void
alloc_space_unmark(struct space *sp, addr_u128 x)
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

void
alloc_space_init(struct space *sp, uint8_t af, bool avoid_buggy,
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
	sp->spans = xcalloc(n, sizeof(*sp->spans));
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

void
alloc_space_fini(struct space *sp)
{
	run_free_all(sp->runs);
	free(sp->spans);
}
