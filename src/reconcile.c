/*
 * reconcile.c - Kubernetes mode's allocation decisions (see reconcile.h).
 *
 * Two allocators over the same config: one fed only with what the
 * Services' status says (every node's view), one the leader uses to decide
 * what status should say.  Both take the Services in one order, so that
 * every node resolves a conflict (two Services with one address in their
 * status) the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgplb/log.h"
#include "bgplb/reconcile.h"

static int
order_cmp(const void *x, const void *y, void *arg)
{
	const struct rc_service *s = arg;
	const struct rc_service *a = &s[*(const size_t *)x];
	const struct rc_service *b = &s[*(const size_t *)y];

	/* Whoever changed its request last yields (0: not seen changing). */
	if (a->changed != b->changed)
		return a->changed < b->changed ? -1 : 1;
	if (a->created.tv_sec != b->created.tv_sec)
		return a->created.tv_sec < b->created.tv_sec ? -1 : 1;
	if (a->created.tv_nsec != b->created.tv_nsec)
		return a->created.tv_nsec < b->created.tv_nsec ? -1 : 1;
	return strcmp(a->key, b->key);
}

bool
rc_same_addrs(const struct addr *a, size_t na, const struct addr *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		size_t j;

		for (j = 0; j < nb; j++)
			if (addr_eq(&a[i], &b[j]))
				break;
		if (j == nb)
			return false;
	}
	return true;
}

static bool
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
same_ports(const struct cfg_port *a, size_t na, const struct cfg_port *b,
    size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		size_t j;

		for (j = 0; j < nb; j++)
			if (a[i].port == b[j].port && a[i].proto == b[j].proto)
				break;
		if (j == nb)
			return false;
	}
	return true;
}

bool
rc_same_request(const struct alloc_request *a, const struct alloc_request *b)
{
	return same_str(a->pool, b->pool) &&
	    rc_same_addrs(a->addresses, a->naddresses, b->addresses,
	    b->naddresses) && same_str(a->sharing_key, b->sharing_key) &&
	    same_str(a->backend_key, b->backend_key) &&
	    same_ports(a->ports, a->nports, b->ports, b->nports) &&
	    a->families == b->families &&
	    a->dual_stack_required == b->dual_stack_required;
}

static unsigned
families_of(const struct addr *a, size_t n)
{
	unsigned f = 0;

	for (size_t i = 0; i < n; i++)
		f |= a[i].af == ADDR_AF_INET ? CFG_FAMILY_IPV4 : CFG_FAMILY_IPV6;
	return f;
}

/*
 * The request that keeps exactly `addrs` and asks for nothing else: the pool
 * that holds the first address, the families present, and (unless the
 * Service is frozen) its sharing key and ports, so that Services sharing an
 * address legitimately still do.  The view claims with it, and the leader
 * falls back to it to keep what a Service holds when its request can't be
 * met.
 */
static void
holding(const struct alloc *a, const struct rc_service *s,
    const struct addr *addrs, size_t n, struct alloc_request *r)
{
	memset(r, 0, sizeof(*r));
	r->service = s->key;
	r->pool = n > 0 ? alloc_pool_of(a, &addrs[0]) : NULL;
	r->families = families_of(addrs, n);
	if (!s->frozen) {
		r->sharing_key = s->req.sharing_key;
		r->backend_key = s->req.backend_key;
		r->ports = s->req.ports;
		r->nports = s->req.nports;
	}
}

static enum alloc_err
claim_holding(struct alloc *a, const struct rc_service *s,
    const struct addr *addrs, size_t n, struct alloc_assignment *out,
    char *why, size_t whylen)
{
	struct alloc_request req;
	char b[ADDR_STRLEN];

	holding(a, s, addrs, n, &req);
	if (req.pool == NULL) {
		memset(out, 0, sizeof(*out));
		snprintf(why, whylen, "%s is not in any pool",
		    addr_ntop(&addrs[0], b, sizeof(b)));
		return ALLOC_ERR_OUTSIDE_POOLS;
	}
	return alloc_claim(a, &req, addrs, n, out, why, whylen);
}

/*
 * Every node announces what status says, as long as the addresses are in a
 * pool and not held by an older Service it can't share with.  Whether they
 * suit the Service's request is the leader's business: it rewrites the
 * status, and the nodes follow.
 */
static void
run_view(const struct rc_service *svcs, const size_t *order, size_t n,
    struct rc_result *out, struct alloc *va)
{
	for (size_t k = 0; k < n; k++) {
		const struct rc_service *s = &svcs[order[k]];
		struct rc_result *r = &out[order[k]];

		if (s->nstatus == 0)
			continue;
		r->view_err = claim_holding(va, s, s->status, s->nstatus,
		    &r->view, r->view_why, sizeof(r->view_why));
	}
}

/*
 * The held addresses of the families the Service has (all of them when it
 * names none): an address kube-proxy would ignore is not worth keeping.
 */
static size_t
of_families(const struct rc_service *s, const struct addr *prev, size_t n,
    struct addr *out, char *why, size_t whylen)
{
	unsigned fam = s->frozen ? 0 : s->req.families &
	    (CFG_FAMILY_IPV4 | CFG_FAMILY_IPV6);
	size_t nout = 0;
	char b[ADDR_STRLEN];

	for (size_t i = 0; i < n && i < 2; i++) {
		if (fam != 0 && !(fam & families_of(&prev[i], 1))) {
			snprintf(why, whylen, "%s is an %s address, but the "
			    "service is single-stack %s", addr_ntop(&prev[i], b,
			    sizeof(b)), prev[i].af == ADDR_AF_INET ? "IPv4" :
			    "IPv6", prev[i].af == ADDR_AF_INET ? "IPv6" : "IPv4");
			continue;
		}
		out[nout++] = prev[i];
	}
	return nout;
}

static bool
holds(const struct alloc_assignment *a, const struct addr *ad)
{
	for (size_t i = 0; i < a->naddrs; i++)
		if (addr_eq(&a->addrs[i], ad))
			return true;
	return false;
}

static void
run_leader(const struct cfg *cfg, const struct rc_service *svcs,
    const size_t *order, size_t n, struct rc_result *out)
{
	struct alloc *la = alloc_new(cfg);
	bool *fallback;
	char (*req_why)[256];

	if (la == NULL || (fallback = calloc(n ? n : 1, sizeof(*fallback))) ==
	    NULL || (req_why = calloc(n ? n : 1, sizeof(*req_why))) == NULL)
		fatalx("reconcile: out of memory");
	/*
	 * First everything that is held stays held: as the Service asks, or
	 * else as it is (fallback: pass 2 tries to give it what it asks).
	 */
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];
		const struct rc_service *s = &svcs[i];
		struct rc_result *r = &out[i];
		const struct addr *prev = s->has_pending ? s->pending : s->status;
		size_t nprev = s->has_pending ? s->npending : s->nstatus;
		struct alloc_request req = s->req;
		struct addr fit[2];
		size_t nfit;
		char why[256];

		if (nprev == 0)
			continue;
		req.service = s->key;
		/* auto-assign governs new assignments only (as MetalLB). */
		req.keep_manual = true;
		if (!s->frozen && alloc_claim(la, &req, prev, nprev, &r->want,
		    req_why[i], sizeof(req_why[i])) == ALLOC_OK)
			continue;
		if ((nfit = of_families(s, prev, nprev, fit, why,
		    sizeof(why))) > 0 && claim_holding(la, s, fit, nfit,
		    &r->want, why, sizeof(why)) == ALLOC_OK) {
			fallback[i] = !s->frozen;
			continue;
		}
		r->cleared = true;
		snprintf(r->clear_why, sizeof(r->clear_why), "%s", why);
	}
	/* Then the others get what they ask for, in the same order. */
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];
		const struct rc_service *s = &svcs[i];
		struct rc_result *r = &out[i];
		struct alloc_request req = s->req;
		struct alloc_assignment held = r->want;

		if (s->frozen || (r->want.naddrs > 0 && !fallback[i]))
			continue;
		req.service = s->key;
		memset(&r->want, 0, sizeof(r->want));
		r->err = alloc_assign(la, &req, &r->want, r->why, sizeof(r->why));
		if (r->err == ALLOC_OK) {
			if (fallback[i]) {
				r->cleared = true;
				snprintf(r->clear_why, sizeof(r->clear_why),
				    "%s", req_why[i]);
			}
			alloc_assignment_clear(&held);
			continue;
		}
		if (fallback[i]) {
			/* Nothing better: keep what it has (assign may have
			 * let go of it). */
			alloc_assignment_clear(&r->want);
			if (claim_holding(la, s, held.addrs, held.naddrs,
			    &r->want, r->clear_why, sizeof(r->clear_why)) ==
			    ALLOC_OK)
				r->kept = true;
			else
				r->cleared = true;
		}
		alloc_assignment_clear(&held);
	}
	for (size_t i = 0; i < n; i++) {
		const struct rc_service *s = &svcs[i];
		struct rc_result *r = &out[i];
		bool all_kept = true;

		r->write = !s->frozen && !rc_same_addrs(r->want.addrs,
		    r->want.naddrs, s->status, s->nstatus);
		for (size_t j = 0; j < s->nstatus && all_kept; j++)
			all_kept = holds(&r->want, &s->status[j]);
		/* Only what is really taken away counts as cleared. */
		r->cleared = r->cleared && !all_kept && !s->frozen;
	}
	free(fallback);
	free(req_why);
	alloc_free(la);
}

void
rc_run(const struct cfg *cfg, const struct rc_service *svcs, size_t n,
    bool leader, struct rc_result *out, struct alloc **view_alloc)
{
	struct alloc *va;
	size_t *order;

	memset(out, 0, n * sizeof(*out));
	if ((va = alloc_new(cfg)) == NULL ||
	    (order = calloc(n ? n : 1, sizeof(*order))) == NULL)
		fatalx("reconcile: out of memory");
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	{
		union { const struct rc_service *c; void *v; } u = { svcs };

		qsort_r(order, n, sizeof(*order), order_cmp, u.v);
	}
	run_view(svcs, order, n, out, va);
	if (leader)
		run_leader(cfg, svcs, order, n, out);
	free(order);
	if (view_alloc != NULL)
		*view_alloc = va;
	else
		alloc_free(va);
}

void
rc_results_clear(struct rc_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		alloc_assignment_clear(&r[i].view);
		alloc_assignment_clear(&r[i].want);
	}
}
