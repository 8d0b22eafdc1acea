/*
 * k8s_leader.h - leader election on a coordination.k8s.io/v1 Lease, as
 * client-go's leaderelection package does it (tryAcquireOrRenew), on top of
 * k8s_http.h.
 *
 * Every retry period (jittered by client-go's JitterFactor 1.2 while we do
 * not lead: retry * (1 + rand * 1.2)):
 *   GET  .../namespaces/NS/leases/NAME
 *   404: POST a new Lease (holder = identity, transitions 0)
 *   held by another and still valid: wait
 *   ours: PUT with renewTime now, acquireTime and transitions kept
 *   free (no holder) or expired: PUT with holder = identity, acquireTime =
 *        renewTime = now, transitions + 1
 * Every PUT carries the observed metadata.resourceVersion, so of two nodes
 * racing for the Lease one gets 409 Conflict and simply tries again later.
 * The leader renews every retry period with client-go's fast path: a PUT on
 * the resourceVersion of its own last write, with no GET first (a GET, then
 * a PUT, only after that fails).
 *
 * Validity is never judged by comparing our clock with renewTime: the
 * nodes' clocks differ.  As in client-go, we note the local monotonic time
 * at which the record (holder, renewTime, acquireTime, duration,
 * transitions) last changed, and a holder is alive as long as it changed
 * less than leaseDurationSeconds ago.
 *
 * The leader stops (on_stopped) when no renewal succeeded within the renew
 * deadline, counted from when the last successful write was sent and checked
 * by a timer of its own, whatever the requests in flight do.  Because
 * renew deadline < lease duration, it stops before any other node can have
 * seen the lease expire.  Unlike client-go's LeaderElector, which returns at
 * that point, the elector then goes back to trying to acquire.
 *
 * Callbacks run from the event loop; they must not call k8s_leader_free()
 * or k8s_leader_release().
 */
#ifndef BGPLB_K8S_LEADER_H
#define BGPLB_K8S_LEADER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "k8s_http.h"
#include "k8s_objects.h"

struct event_base;

/* client-go's defaults (and kube-controller-manager's). */
#define K8S_LE_LEASE_S			15
#define K8S_LE_RENEW_DEADLINE_MS	10000
#define K8S_LE_RETRY_MS			2000
#define K8S_LE_JITTER			1.2	/* wait.JitterFactor of acquisition */

struct k8s_leader_opts {
	const char	*namespace, *name;	/* the Lease */
	const char	*identity;		/* holderIdentity: the node name */
	unsigned	 lease_s;		/* 0: K8S_LE_LEASE_S */
	unsigned	 renew_deadline_ms;	/* 0: K8S_LE_RENEW_DEADLINE_MS */
	unsigned	 retry_ms;		/* 0: K8S_LE_RETRY_MS */
	void	(*on_started)(void *arg);	/* we lead */
	/* We no longer lead: renew deadline passed, another holder seen,
	 * or released. */
	void	(*on_stopped)(void *arg);
	/* The observed holder changed (us included); optional; NULL: none. */
	void	(*on_new_leader)(void *arg, const char *holder);
	/* Optional, for logs: names the Lease and the HTTP status. */
	void	(*on_error)(void *arg, const char *text);
	void	*arg;
};

/*
 * Starts at once.  NULL if an option is missing or the timings are not
 * lease > renew deadline > retry * K8S_LE_JITTER (client-go's rule), or on
 * allocation failure.  The strings are copied.
 */
struct k8s_leader *k8s_leader_new(struct event_base *, struct k8s_http *,
	    const struct k8s_leader_opts *);
bool	k8s_leader_leading(const struct k8s_leader *);
/* The last observed holder, or NULL. */
const char *k8s_leader_holder(const struct k8s_leader *);
/*
 * Graceful stop (client-go's ReleaseOnCancel).  If the last observed
 * record is ours, on_stopped (when we led) and then a PUT of the Lease with
 * holderIdentity "", leaseDurationSeconds 1 and acquireTime = renewTime =
 * now, so that another node takes over at its next try.  `done` (may be
 * NULL) runs when that finished or failed, or before this returns if there
 * is nothing to release.  The elector does nothing more afterwards: free it.
 */
void	k8s_leader_release(struct k8s_leader *, void (*done)(void *), void *arg);
/* Cancels everything; no callbacks.  NULL is fine. */
void	k8s_leader_free(struct k8s_leader *);

/*
 * The pure decision, exported for tests.  Times are CLOCK_MONOTONIC
 * milliseconds.
 */
enum k8s_le_action {
	K8S_LE_WAIT = 0,	/* held by another and valid: do not write */
	K8S_LE_CREATE,		/* no Lease: POST one */
	K8S_LE_RENEW,		/* ours: PUT, acquireTime and transitions kept */
	K8S_LE_TAKEOVER,	/* free or expired: PUT, transitions + 1 */
};

/* client-go's observedRecord and observedTime. */
struct k8s_le_state {
	bool		 have;		/* a record was observed (else 404/none) */
	struct k8s_lease observed;	/* owned copy */
	int64_t		 observed_ms;	/* when it last changed, locally */
};

/* The fields that make up client-go's LeaderElectionRecord are equal. */
bool	k8s_le_same_record(const struct k8s_lease *, const struct k8s_lease *);
/*
 * Remember `cur` (NULL: there is no Lease).  observed_ms becomes now_ms if
 * the record differs from the one observed before; returns whether it did.
 */
bool	k8s_le_observe(struct k8s_le_state *, const struct k8s_lease *cur,
	    int64_t now_ms);
void	k8s_le_state_clear(struct k8s_le_state *);
/*
 * The observed record's duration in ms: its leaseDurationSeconds, or
 * default_s when it has none (client-go would read 0 and call an absent
 * duration expired; we stay on the safe side).
 */
int64_t	k8s_le_duration_ms(const struct k8s_lease *, unsigned default_s);
/* observed_ms + duration > now_ms (client-go's isLeaseValid). */
bool	k8s_le_valid(const struct k8s_le_state *, unsigned default_s,
	    int64_t now_ms);
/*
 * What to do having just read `cur` (NULL: 404), given what was observed
 * before (st, not yet updated with cur: a record that differs from
 * st->observed counts as seen changing now).  lease_s: the default duration
 * (see k8s_le_duration_ms).
 */
enum k8s_le_action k8s_le_decide(const struct k8s_le_state *st,
	    const struct k8s_lease *cur, const char *identity, unsigned lease_s,
	    int64_t now_ms);
/*
 * The Lease to write for `a` (not WAIT); `cur` is the Lease read (NULL for
 * CREATE).  now: wall-clock time for acquireTime/renewTime.  The spec's
 * strings point into ns, name, identity and cur.
 */
void	k8s_le_spec(enum k8s_le_action a, const struct k8s_lease *cur,
	    const char *ns, const char *name, const char *identity,
	    unsigned lease_s, const struct timespec *now,
	    struct k8s_lease_spec *out);
/* The release record: holder "", duration 1, acquire = renew = now,
 * transitions and the resourceVersion precondition of cur. */
void	k8s_le_release_spec(const struct k8s_lease *cur, const char *ns,
	    const char *name, const struct timespec *now,
	    struct k8s_lease_spec *out);
/* When a leader whose last successful write was sent at renewed_ms stops. */
int64_t	k8s_le_deadline_ms(int64_t renewed_ms, unsigned renew_deadline_ms);
/* retry_ms * (1 + K8S_LE_JITTER * rnd / 2^32): the wait between attempts
 * to acquire (wait.JitterUntil). */
uint32_t k8s_le_jitter_ms(unsigned retry_ms, uint32_t rnd);
const char *k8s_le_action_name(enum k8s_le_action);

#endif
