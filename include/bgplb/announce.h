/*
 * announce.h - the announcer interface that every backend implements.
 *
 * The core (src/daemon.c) owns the plan; after each change it diffs the old
 * and new plans and calls, for each backend, announce() / withdraw() for the
 * routes of that backend that changed, then flush() once to end the batch
 * (the BGP speaker packs its UPDATEs there).  Backends never call each other
 * and never look at the allocator or the config beyond what reconfigure()
 * hands them.  Routes passed in are valid only during the call: a backend
 * copies what it keeps.
 */
#ifndef BGPLB_ANNOUNCE_H
#define BGPLB_ANNOUNCE_H

#include <json-c/json.h>

#include "bgplb/config.h"
#include "bgplb/plan.h"

struct event_base;
struct evbuffer;

struct announcer_ops {
	const char *name;			/* "bgp", "layer2", "log" */
	/* Which plan routes this backend takes. */
	enum cfg_proto backend;
	void	(*announce)(void *ctx, const struct plan_route *);
	void	(*withdraw)(void *ctx, const struct plan_route *);
	void	(*flush)(void *ctx);
	/* The config changed (validated); adjust sessions/sockets that it touches. */
	void	(*reconfigure)(void *ctx, const struct cfg *old, const struct cfg *new);
	/* Add this backend's state to /v1/status (optional). */
	void	(*status)(void *ctx, struct json_object *out);
	/* Optional: fill the /v1/peers array (one object per peer). */
	void	(*peers)(void *ctx, struct json_object *arr);
	/* Optional: append Prometheus text for this backend. */
	void	(*metrics)(void *ctx, struct evbuffer *out);
	/* Optional: does someone actually hold this route now (a BGP peer
	 * that is Established and was sent it)?  Without it: planned = yes. */
	bool	(*announced)(void *ctx, const struct plan_route *);
	/* Optional: this process restarted with state (previous assignments
	 * found, or the cluster holds them): the BGP speaker then sets the
	 * graceful restart R bit (RFC 4724).  Called before the first announce. */
	void	(*restarted)(void *ctx, bool restarted);
	/* Optional: the set of live nodes changed (layer 2 membership), after
	 * the new plan was applied: someone may have answered for this node's
	 * addresses while it was thought dead, so tell the clients again
	 * (gratuitous ARP / unsolicited NA). */
	void	(*nodes_changed)(void *ctx);
	/* Orderly stop (SIGTERM): withdraw everything, close; then free. */
	void	(*shutdown)(void *ctx);
	void	(*destroy)(void *ctx);
};

struct announcer {
	const struct announcer_ops *ops;
	void	*ctx;
};

/* The logging backend: every call becomes a log line.  Stands in for a
 * protocol until its real backend exists, and is handy for debugging. */
struct announcer *announce_log_new(enum cfg_proto backend);

/* The BGP speaker (src/bgp).  listen_port 0: no listener. */
struct announcer *bgp_speaker_new(struct event_base *, const char *node);
/* Counters the log backend keeps, for tests. */
struct announce_log_counts {
	unsigned long	announced;
	unsigned long	withdrawn;
	unsigned long	flushes;
	unsigned long	active;			/* routes currently announced */
};
void	announce_log_counts(const struct announcer *, struct announce_log_counts *);
void	announcer_free(struct announcer *);

#endif
