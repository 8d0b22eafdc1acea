/*
 * source.h - the input side's descriptor, the counterpart of announce.h.
 *
 * A source is where services, the shared half of the config and the nodes
 * come from: the file source (embedded mode: services declared in the
 * daemon's file, assignments kept in a state file) or the Kubernetes source
 * (Services, EndpointSlices, Nodes and the ConfigMap from the API server; a
 * leader writes Service status).  In the manner of BIRD's struct protocol,
 * the core knows a source only by these ops; no file of the core names a
 * particular source.
 *
 *   core (src/daemon.c)                     source
 *   ───────────────────                     ──────
 *   reads + validates the daemon's file ──► config_loaded(cfg, bytes)
 *                                           ... decides services, allocates
 *   core_submit(cfg?, services, alloc)  ◄── (now, or later from its own events)
 *   plans with nodes() / may_announce() ──►
 *   announces through the backends, then ──► plan_applied(plan)
 *   /v1/status, /metrics, staleness     ──► status(), metrics(), stale()
 *   SIGTERM                             ──► shutdown() ... core_stopped()
 *
 * The second half of this header is the core's side: the one entry point
 * to submit a config and/or services, and what a source may read.
 */
#ifndef BGPLB_SOURCE_H
#define BGPLB_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "bgplb/alloc.h"
#include "bgplb/config.h"
#include "bgplb/plan.h"

struct event_base;
struct evbuffer;
struct json_object;
struct core;
struct core_service;

struct source_ops {
	const char *name;			/* "file", "kubernetes" */
	/* Does this source serve the roles of --role (allocator, speaker)?
	 * A source that does not runs only as both (the default). */
	bool	 roles;
	/* Does this source serve a process whose first config is cfg?  The
	 * core asks the registered sources in order at the first load; the
	 * first that says yes serves for the life of the process. */
	bool	(*claims)(const struct cfg *cfg);
	/* Create, once, after the first load (the node name is known).
	 * NULL with err: the daemon can't start. */
	void	*(*create)(struct core *, const struct cfg *first, char *err,
		    size_t errlen);
	/* Optional: the daemon is up (status endpoint, signals): say how it
	 * runs. */
	void	(*started)(void *ctx);
	/* The daemon's own file was (re)loaded and validated.  The source
	 * takes cfg and buf (the file's bytes, NUL-terminated, len without
	 * the NUL) and submits to the core with core_submit(), now or later.
	 * -1 with err: the source could not take it (it freed both); the
	 * running config stays. */
	int	(*config_loaded)(void *ctx, struct cfg *cfg, char *buf, size_t len,
		    char *err, size_t errlen);
	/* Optional: a reason why a reload from old to new is refused (what a
	 * reload can't change), or NULL. */
	const char *(*reload_refused)(void *ctx, const struct cfg *old,
		    const struct cfg *new);
	/* Optional: the nodes the planner may place routes on under cfg, this
	 * node included when it is eligible: *out is a new array (the caller
	 * frees it; names and labels stay the source's until its next call).
	 * Without it the core uses layer 2 membership and the config's
	 * nodes: list. */
	size_t	(*nodes)(void *ctx, const struct cfg *cfg, struct plan_node **out);
	/* Optional: may this node announce anything now?  false plans nothing
	 * for this node (it still plans: others' ownership is computed). */
	bool	(*may_announce)(void *ctx);
	/* Optional: may this node serve this service now (e.g. its health
	 * check passes here)?  false leaves this node out for the service:
	 * not announced over BGP, not eligible as its layer 2 owner; with
	 * layer 2 membership the other members leave it out too (the
	 * service goes with the heartbeats).  Without it: always.  After a
	 * change the source calls core_replan(). */
	bool	(*may_serve)(void *ctx, const struct core_service *);
	/* Optional: add this source's keys to a service's /v1/services
	 * object (e.g. "health"). */
	void	(*service_status)(void *ctx, const struct core_service *,
		    struct json_object *out);
	/* Optional: the plan took effect (after the backends were told). */
	void	(*plan_applied)(void *ctx, const struct plan *plan);
	/* Optional: the live nodes changed (layer 2 membership), after the
	 * replan that followed. */
	void	(*nodes_changed)(void *ctx);
	/* Optional: add this source's keys to /v1/status (e.g. "kubernetes"). */
	void	(*status)(void *ctx, struct json_object *out);
	/* Optional: append Prometheus text. */
	void	(*metrics)(void *ctx, struct evbuffer *out);
	/* Optional: is the configuration in force stale on this source's side
	 * (e.g. the cluster's half failed to load)? */
	bool	(*stale)(void *ctx);
	/* Orderly stop (SIGTERM), after the backends were shut down: call
	 * core_stopped() when done, at once or later (bounded in time). */
	void	(*shutdown)(void *ctx);
	void	(*destroy)(void *ctx);
};

/* The sources there are; main.c registers them in this order (the file
 * source claims every config, so it comes last). */
extern const struct source_ops k8s_source_ops;
extern const struct source_ops file_source_ops;

/* ---- the core, as a source sees it --------------------------------------- */

/*
 * What this process does (--role).  BOTH (the default): everything, in one
 * process.  ALLOCATOR: decides the services' addresses and publishes them,
 * announces nothing (the core creates no backends and no layer 2
 * membership).  SPEAKER: announces what the published decisions say and
 * decides nothing.  Only a source with `roles` serves the last two.
 */
enum core_role {
	CORE_ROLE_BOTH = 0,
	CORE_ROLE_ALLOCATOR,
	CORE_ROLE_SPEAKER,
};

/* One service as the core sees it: request + outcome. */
struct core_service {
	const struct cfg_service *cfg;		/* the source keeps it alive */
	struct alloc_assignment assign;		/* naddrs 0 when allocation failed */
	enum alloc_err	 err;
	char		*why;			/* why it has no address; NULL when it has */
};

/*
 * The one entry point: a validated config (NULL: keep the running one)
 * and/or the services with their allocation take effect.  The core takes
 * cfg, svcs (and each why) and alloc.  With a new cfg: layer 2 membership,
 * backends reconfigured, plan, announce the difference, swap.  Without:
 * plan, announce the difference, swap services and allocator.
 */
void	core_submit(struct core *, struct cfg *cfg, struct core_service *svcs,
	    size_t n, struct alloc *alloc);
/* Plan again with the same config and services (the nodes changed, or
 * what the source's may_serve says). */
void	core_replan(struct core *);
/* This process restarted with state: the backends are told (BGP R bit). */
void	core_restarted(struct core *);
/* The source's shutdown() is done: stop the loop. */
void	core_stopped(struct core *);
/* Services that got no address (for /metrics). */
void	core_count_alloc_failures(struct core *, unsigned long n);

struct event_base *core_base(const struct core *);
const char *core_node(const struct core *);
const char *core_config_path(const struct core *);
/* The running config; NULL before the first submit with one. */
const struct cfg *core_cfg(const struct core *);
const struct plan *core_plan(const struct core *);
const struct alloc *core_alloc(const struct core *);
size_t	core_services(const struct core *, const struct core_service **);
bool	core_stopping(const struct core *);
enum core_role core_role(const struct core *);
/* "both", "allocator", "speaker"; core_role_parse: -1 for anything else. */
const char *core_role_name(enum core_role);
int	core_role_parse(const char *, enum core_role *);
/*
 * What layer 2 membership says about the nodes: OFF (no membership: no
 * evidence either way), SETTLING (just started: nobody heard yet, which is
 * not everybody being dead: presume the members alive), or LIVE with the
 * nodes heard alive (this node included) in *alive / *n.
 */
enum core_members {
	CORE_MEMBERS_OFF,
	CORE_MEMBERS_SETTLING,
	CORE_MEMBERS_LIVE,
};
enum core_members core_members_alive(const struct core *,
	    const char *const **alive, size_t *n);

#endif
