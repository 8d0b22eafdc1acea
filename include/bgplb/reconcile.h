/*
 * reconcile.h - Kubernetes mode's allocation decisions, as a pure function.
 *
 * In a cluster the Services' status.loadBalancer.ingress is the only shared
 * state.  Every node turns it into what it announces (the view), and the
 * elected leader also decides what the status should become (the wants):
 *
 *   view   - for each Service, what its status holds, as long as the
 *            addresses are in a pool of the config and not held by an older
 *            Service it can't share with: Services are taken in a fixed
 *            order (the one whose request changed last comes last, then
 *            creation time, then namespace/name), so that every node
 *            resolves a conflict the same way (a node that did not see the
 *            change, having restarted since, falls back on creation time
 *            until the leader's write settles it).  Nothing is ever added to what
 *            status says, and whether the addresses suit the Service's
 *            request is left to the leader.
 *   wants  - the leader first re-claims every Service's current addresses
 *            (its own write in flight if there is one, else the status):
 *            as the Service asks if they suit its request, else as they are;
 *            then it gives every Service left without a suitable address
 *            the lowest free one of what it asks for, in the same order.
 *            An address never moves because of a restart or a change of
 *            leader, and a Service whose new request can't be met keeps
 *            what it has (`kept`, with the reason in err/why) rather than
 *            losing it: a route is withdrawn only when the config no longer
 *            has its address, or an older Service holds it (or a Service
 *            whose own change broke their sharing), or the address is of a
 *            family the Service does not have.  An address of a pool with
 *            auto-assign off is kept: auto-assign governs new assignments
 *            only.
 *
 * A Service whose spec or annotations could not be read is `frozen`: what
 * its status holds is kept, and the leader changes nothing, so a typo in an
 * annotation never withdraws a route.
 */
#ifndef BGPLB_RECONCILE_H
#define BGPLB_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bgplb/alloc.h"
#include "bgplb/config.h"

struct rc_service {
	const char	*key;			/* "namespace/name", unique */
	/*
	 * When this node saw the Service's request change last, as a count
	 * that only grows (0: not since it started).  Claim order: changed,
	 * then creation time, then key.  When a change breaks a sharing (a
	 * sharing key dropped, ports that now overlap), the Service that
	 * changed is the one that yields, not its unchanged partner.
	 */
	uint64_t	 changed;
	struct timespec	 created;		/* creation time: claim order */
	struct alloc_request req;		/* req.service == key; unused if frozen */
	bool		 frozen;
	const struct addr *status;		/* status.loadBalancer.ingress */
	size_t		 nstatus;
	bool		 has_pending;		/* leader: a status write in flight */
	const struct addr *pending;
	size_t		 npending;
};

struct rc_result {
	/* View: what this node announces (naddrs 0: nothing). */
	struct alloc_assignment view;
	enum alloc_err	 view_err;		/* why status is not announced */
	char		 view_why[256];
	/* Leader only (rc_run with leader true). */
	struct alloc_assignment want;		/* what status should hold */
	enum alloc_err	 err;			/* the request can't be met: why */
	char		 why[256];
	bool		 kept;			/* ... so want keeps what it had */
	bool		 write;			/* want differs from status */
	bool		 cleared;		/* status addresses are taken away */
	char		 clear_why[256];	/* ... because of this */
};

/*
 * out[i] belongs to svcs[i]; svcs may come in any order.  *view_alloc (may
 * be NULL) receives the view's allocator, for pool statistics: the caller
 * frees it.  Free the results with rc_results_clear().
 */
void	rc_run(const struct cfg *, const struct rc_service *svcs, size_t n,
	    bool leader, struct rc_result *out, struct alloc **view_alloc);
void	rc_results_clear(struct rc_result *, size_t n);
/* Same addresses, in any order. */
bool	rc_same_addrs(const struct addr *, size_t, const struct addr *, size_t);
/*
 * Do two requests ask for the same (pool, addresses, sharing key, backend
 * key, ports in any order, families)?  The service name is not compared.
 * The caller stamps rc_service.changed when not.
 */
bool	rc_same_request(const struct alloc_request *, const struct alloc_request *);

#endif
