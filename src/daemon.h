/*
 * daemon.h - the daemon core: the running config, the allocation, the plan,
 * and the backends, all driven from one libevent base.
 *
 * Data flows one way: config (+ services) -> allocator -> planner ->
 * announcers.  The status endpoint only reads this struct.
 */
#ifndef BGPLB_DAEMON_H
#define BGPLB_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "bgplb/alloc.h"
#include "bgplb/announce.h"
#include "bgplb/config.h"
#include "bgplb/plan.h"

struct event_base;
struct event;
struct evbuffer;
struct json_object;
struct status_server;
struct l2_membership;
struct daemon_k8s;

#define DAEMON_MAX_ANNOUNCERS 4

struct daemon_opts {
	const char	*config_path;
	const char	*node;			/* --node; NULL: config, then hostname */
	const char	*status_listen;		/* --status-listen; NULL: config */
};

/* One service as the core sees it: request + outcome. */
struct daemon_service {
	const struct cfg_service *cfg;		/* points into d->cfg */
	struct alloc_assignment assign;		/* naddrs 0 when allocation failed */
	enum alloc_err	 err;
	char		*why;			/* why it has no address; NULL when it has */
};

struct daemon {
	struct event_base *base;
	struct daemon_opts opts;
	char		*node;			/* effective node name */
	char		*state_file;		/* effective state file */

	struct cfg	*cfg;			/* running config; NULL before the first load */
	time_t		 cfg_loaded_at;
	bool		 cfg_stale;		/* the last (re)load failed; cfg is older */
	time_t		 cfg_failed_at;
	char		**cfg_errors;		/* errors of the last failed load */
	size_t		 ncfg_errors;
	struct stat	 cfg_st;		/* what we loaded: for change detection */
	bool		 cfg_st_valid;
	unsigned long	 reloads_ok;
	unsigned long	 reloads_failed;

	struct alloc	*alloc;
	struct daemon_service *services;
	size_t		 nservices;
	unsigned long	 alloc_failures_total;

	struct plan	*plan;
	struct l2_membership *members;		/* layer 2: who is alive */
	bool		 l2_settling;		/* start-up grace: members presumed alive */
	struct event	*ev_l2_settle;
	struct announcer *announcers[DAEMON_MAX_ANNOUNCERS];
	size_t		 nannouncers;

	/* Kubernetes mode (daemon_k8s.c); NULL in embedded mode. */
	struct daemon_k8s *k8s;

	struct status_server *status;
	char		*status_listen;		/* where it listens (fixed at start) */
	struct event	*ev_hup, *ev_term, *ev_int, *ev_watch;
	time_t		 started_at;
	bool		 stopping;
};

/*
 * A validated config takes effect with these services and their allocator
 * (all three taken over); daemon_set_services() keeps the config.
 */
void	daemon_activate(struct daemon *, struct cfg *, struct daemon_service *,
	    size_t n, struct alloc *);
void	daemon_set_services(struct daemon *, struct daemon_service *, size_t n,
	    struct alloc *);
/* Plan again with the same config and services (nodes changed). */
void	daemon_replan(struct daemon *);

/*
 * daemon_k8s.c - Kubernetes mode.  daemon_k8s_local_loaded() takes the
 * daemon's own file (config and bytes, both taken over): the first time it
 * connects to the cluster and starts the watches, the leader election and
 * the status writer; afterwards it composes the file with the cluster's
 * ConfigMap again.  -1 with err when the cluster can't be reached at all
 * (the config then is freed).
 */
int	daemon_k8s_local_loaded(struct daemon *, struct cfg *, char *buf,
	    size_t len, char *err, size_t errlen);
/* The plan for these services with the cluster's nodes (build_plan). */
struct plan *daemon_k8s_build_plan(struct daemon *, const struct cfg *,
	    const struct plan_service *, size_t n);
/* Give up the Lease, then stop the loop (at most a couple of seconds). */
void	daemon_k8s_shutdown(struct daemon *);
void	daemon_k8s_free(struct daemon *);
/* /v1/status "kubernetes", /metrics, the config's staleness. */
struct json_object *daemon_k8s_status(const struct daemon *);
void	daemon_k8s_metrics(const struct daemon *, struct evbuffer *);
bool	daemon_k8s_stale(const struct daemon *);

/* Load the config and start everything; -1 when the first load fails. */
int	daemon_init(struct daemon *, struct event_base *, const struct daemon_opts *);
/* Re-read the config file; a broken file leaves everything as it was. */
int	daemon_reload(struct daemon *, const char *why);
/* Withdraw everything, save the state, stop the loop. */
void	daemon_shutdown(struct daemon *);
void	daemon_free(struct daemon *);

/* caps.c: keep CAP_NET_BIND_SERVICE and CAP_NET_RAW, drop every other
 * capability (effective, permitted, inheritable, ambient, bounding). */
int	caps_restrict(char *err, size_t errlen);
uint64_t caps_wanted(void);

/* status.c */
struct status_server *status_start(struct daemon *, const char *listen,
	    char *err, size_t errlen);
void	status_stop(struct status_server *);
/* Require "Authorization: Bearer <the file's content>"; path NULL: don't. */
int	status_set_token(struct status_server *, const char *path, char *err,
	    size_t errlen);
bool	status_listen_loopback(const char *listen);
/* The JSON documents the endpoint serves (also used by tests). */
struct json_object *status_json_status(const struct daemon *);
struct json_object *status_json_pools(const struct daemon *);
struct json_object *status_json_services(const struct daemon *);
struct json_object *status_json_peers(const struct daemon *);
/* Prometheus text; caller frees. */
char	*status_metrics(const struct daemon *);

#endif
