/*
 * alloc_assign.c - which addresses a request gets.  This file owns the
 * allocator's decisions: checking a request, the sharing rules (a sharing
 * key, no overlapping ports, in MetalLB's terms), picking the address
 * from a pool (the lowest one it may share, else the lowest free one),
 * the same backend key (where traffic may arrive),
 * alloc_assign() for a new request, alloc_claim() to keep a previous
 * assignment, and alloc_assign_all() over a whole config.  Every error
 * says why in the caller's buffer.
 *
 * The state itself changes only through alloc_commit() and
 * alloc_release() (alloc.c).
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
#include "bgplb/util.h"

#include "alloc_priv.h"

static const char *
fam_name(uint8_t af)
{
	return af == ADDR_AF_INET6 ? "IPv6" : "IPv4";
}

static unsigned
fam_bit(uint8_t af)
{
	return af == ADDR_AF_INET6 ? CFG_FAMILY_IPV6 : CFG_FAMILY_IPV4;
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

/* Backend keys: NULL and "" alike mean any node (Cluster). */
static const char *
backend_name(const char *k)
{
	return k != NULL && *k != '\0' ? k : "Cluster";
}

static bool
same_backend(const char *a, const char *b)
{
	return strcmp(backend_name(a), backend_name(b)) == 0;
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
		if (!same_backend(h->backend, r->backend_key)) {
			fail_why(0, why, whylen, "%s is already in use by \"%s\" "
			    "(backends differ: \"%s\" there, \"%s\" here)",
			    addr_ntop(&e->a, buf, sizeof(buf)), h->as.service,
			    backend_name(h->backend),
			    backend_name(r->backend_key));
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
	const struct ent *e = alloc_ent_find(a, ad);

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
	    (g = alloc_kgrp_find(a, r->sharing_key)) != NULL) {
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
	return alloc_space_lowest_free(sp, &out->v);
}

static bool
pool_has_family(const struct alloc *a, size_t pi, uint8_t af)
{
	return a->pools[pi].sp[fam_idx(af)].total > 0;
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
	for (size_t i = 0; i < r->naddresses; i++) {
		unsigned fam = req_families(r);
		uint8_t af = r->addresses[i].af;

		if (fam != 0 && !(fam & fam_bit(af)))
			return fail_why(ALLOC_ERR_FAMILY, why, whylen,
			    "%s is an %s address, but the service is "
			    "single-stack %s", addr_ntop(&r->addresses[i], b1,
			    sizeof(b1)), fam_name(af), fam_name(af ==
			    ADDR_AF_INET ? ADDR_AF_INET6 : ADDR_AF_INET));
	}
	if (r->pool != NULL && (*pi = alloc_pool_index(a, r->pool)) < 0)
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
		ssize_t p = alloc_pool_find_addr(a, ad, &usable);

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
	s = alloc_commit(a, r, (size_t)pi, got, ngot);
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
	e = check_addrs(a, r, keep, nkeep, r->naddresses == 0 &&
	    r->pool == NULL && !r->keep_manual, &pi, why, whylen);
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
	s = alloc_commit(a, r, (size_t)pi, keep, nkeep);
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
	order = xcalloc(n, sizeof(*order));
	dup = xcalloc(n, sizeof(*dup));
	done = xcalloc(n, sizeof(*done));
	if (nprev > 0)
		sorted = xcalloc(nprev, sizeof(*sorted));
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
